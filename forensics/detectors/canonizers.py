"""zennit canonizers that make residual additions explicit, so LRP conserves relevance through skip connections.

zennit only attaches rules to modules. A bare ``x + f(x)`` in a forward passes the full gradient to both operands,
so the relevance reaching the block input is counted twice (it doubles at every skip). Like zennit's own
``ResNetCanonizer``, each canonizer here temporarily replaces the block's ``forward`` with one that stacks both
operands and sums them with :class:`zennit.layer.Sum`, which zennit's composites treat with a conserving rule.
Removing the canonizer restores the original ``forward``. Batch norms are merged by ``SequentialMergeBatchNorm``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from zennit.canonizers import AttributeCanonizer, CompositeCanonizer, SequentialMergeBatchNorm
from zennit.layer import Sum


class ResidualSumCanonizer(AttributeCanonizer):
    """Give every module of ``block_type`` whose ``use_residual(module)`` is true an explicit Sum for its skip add.

    ``branch(module, x) -> (skip, out)`` computes both operands of the addition for that block type.
    """

    def __init__(self, block_type: type, branch: Callable[[Any, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
                 use_residual: Callable[[Any], bool] = lambda m: True) -> None:
        self.block_type = block_type
        self.branch = branch
        self.use_residual = use_residual
        super().__init__(self._attribute_map)

    def _attribute_map(self, name: str, module: Any) -> dict[str, Any] | None:
        if not isinstance(module, self.block_type) or not self.use_residual(module):
            return None
        branch = self.branch

        def forward(x: torch.Tensor) -> torch.Tensor:
            skip, out = branch(module, x)
            return module.canonizer_sum(torch.stack([skip, out], dim=-1))

        return {"forward": forward, "canonizer_sum": Sum()}

    def copy(self) -> ResidualSumCanonizer:
        return ResidualSumCanonizer(self.block_type, self.branch, self.use_residual)


def mobilenetv2_canonizer() -> CompositeCanonizer:
    """torchvision MobileNetV2: merge BN into the preceding conv; explicit Sum in residual InvertedResidual blocks."""
    from torchvision.models.mobilenetv2 import InvertedResidual

    return CompositeCanonizer((
        SequentialMergeBatchNorm(),
        ResidualSumCanonizer(InvertedResidual, lambda m, x: (x, m.conv(x)), lambda m: bool(m.use_res_connect)),
    ))


def efficientnet_lite_canonizer() -> CompositeCanonizer:
    """The project's EfficientNet-Lite0: merge BN; explicit Sum in residual MBConv blocks."""
    from forensics.detectors.nets import MBConvBlock

    return CompositeCanonizer((
        SequentialMergeBatchNorm(),
        ResidualSumCanonizer(MBConvBlock, lambda m, x: (x, m.branch(x)), lambda m: bool(m.use_residual)),
    ))


def _xception_branch(m: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out = m.rep(x)
    skip = m.skipbn(m.skip(x)) if m.skip is not None else x
    return skip, out


def xception_canonizer() -> CompositeCanonizer:
    """timm legacy Xception: merge BN (also in the 1x1 skip path); explicit Sum for every block's skip add."""
    from timm.models.xception import Block

    return CompositeCanonizer((SequentialMergeBatchNorm(), ResidualSumCanonizer(Block, _xception_branch)))


def resnet_canonizer() -> Any:
    """torchvision ResNet: zennit's own canonizer."""
    from zennit.torchvision import ResNetCanonizer

    return ResNetCanonizer()


def plain_canonizer() -> SequentialMergeBatchNorm:
    """Plain conv nets (conv -> BN -> activation): merge each BN into its conv."""
    return SequentialMergeBatchNorm()
