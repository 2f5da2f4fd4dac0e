"""zennit canonizers that make residual additions explicit, so LRP conserves relevance through skip connections.

zennit only attaches rules to modules. A bare ``x + f(x)`` in a forward passes the full gradient to both operands,
so the relevance reaching the block input is counted twice (it doubles at every skip). Like zennit's own
``ResNetCanonizer``, each canonizer here temporarily replaces the block's ``forward`` with one that stacks both
operands and sums them with :class:`zennit.layer.Sum`, which zennit's composites treat with a conserving rule.
Removing the canonizer restores the original ``forward``. Batch norms are merged by :class:`ExactMergeBatchNorm`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from zennit.canonizers import AttributeCanonizer, CompositeCanonizer, SequentialMergeBatchNorm
from zennit.layer import Sum


class ExactMergeBatchNorm(SequentialMergeBatchNorm):
    """SequentialMergeBatchNorm whose emptied batch norm is an exact identity.

    zennit resets the merged batch norm to mean 0, var 1 but keeps its ``eps``, so it still divides by
    ``sqrt(1 + eps)``: with Keras/TF's eps=1e-3 over ~50 layers the logits moved by ~2 %. Here ``eps`` is set to 0
    while merged and restored on removal.
    """

    def register(self, linears: Any, batch_norm: Any) -> None:
        self.saved_eps = batch_norm.eps
        super().register(linears, batch_norm)
        batch_norm.eps = 0.0

    def remove(self) -> None:
        super().remove()
        self.batch_norm.eps = self.saved_eps


class ResidualSumCanonizer(AttributeCanonizer):
    """Give every module of ``block_type`` whose ``use_residual(module)`` is true an explicit Sum for its skip add.

    ``branch(module, x) -> (skip, out)`` computes both operands of the addition for that block type.
    """

    def __init__(
        self,
        block_type: type,
        branch: Callable[[Any, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
        use_residual: Callable[[Any], bool] = lambda m: True,
    ) -> None:
        self.block_type = block_type
        self.branch = branch
        self.use_residual = use_residual
        super().__init__(self._attribute_map)

    def _attribute_map(self, name: str, module: Any) -> dict[str, Any] | None:
        if not isinstance(module, self.block_type) or not self.use_residual(module):
            return None
        branch = self.branch
        block: Any = module  # gets canonizer_sum from the attribute map returned below

        def forward(x: torch.Tensor) -> torch.Tensor:
            skip, out = branch(block, x)
            return block.canonizer_sum(torch.stack([skip, out], dim=-1))

        return {"forward": forward, "canonizer_sum": Sum()}

    def copy(self) -> ResidualSumCanonizer:
        return ResidualSumCanonizer(self.block_type, self.branch, self.use_residual)


def mobilenetv2_canonizer() -> CompositeCanonizer:
    """torchvision MobileNetV2: merge BN into the preceding conv; explicit Sum in residual InvertedResidual blocks."""
    from torchvision.models.mobilenetv2 import InvertedResidual

    return CompositeCanonizer(
        (
            ExactMergeBatchNorm(),
            ResidualSumCanonizer(InvertedResidual, lambda m, x: (x, m.conv(x)), lambda m: bool(m.use_res_connect)),
        )
    )


def efficientnet_lite_canonizer() -> CompositeCanonizer:
    """The project's EfficientNet-Lite0: merge BN; explicit Sum in residual MBConv blocks."""
    from forensics.detectors.nets import MBConvBlock

    return CompositeCanonizer(
        (
            ExactMergeBatchNorm(),
            ResidualSumCanonizer(MBConvBlock, lambda m, x: (x, m.branch(x)), lambda m: bool(m.use_residual)),
        )
    )


def _xception_branch(m: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out = m.rep(x)
    skip = m.skipbn(m.skip(x)) if m.skip is not None else x
    return skip, out


def xception_canonizer() -> CompositeCanonizer:
    """timm legacy Xception: merge BN (also in the 1x1 skip path); explicit Sum for every block's skip add."""
    from timm.models.xception import Block

    return CompositeCanonizer((ExactMergeBatchNorm(), ResidualSumCanonizer(Block, _xception_branch)))


def resnet_canonizer() -> CompositeCanonizer:
    """torchvision ResNet: zennit's block canonizers with the exact batch-norm merge."""
    from zennit.torchvision import ResNetBasicBlockCanonizer, ResNetBottleneckCanonizer

    return CompositeCanonizer((ExactMergeBatchNorm(), ResNetBottleneckCanonizer(), ResNetBasicBlockCanonizer()))


def plain_canonizer() -> SequentialMergeBatchNorm:
    """Plain conv nets (conv -> BN -> activation): merge each BN into its conv (BN after an activation is kept)."""
    return ExactMergeBatchNorm()
