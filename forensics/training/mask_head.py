"""A blend-mask head trained beside the classifier (the Face X-ray / LAA-Net idea): the blended training fakes know
which pixels were pasted, so a 1x1 convolution on the detector's last feature map is taught to predict that mask
(binary cross-entropy against the mask averaged over each feature cell). Camera originals teach "no blend anywhere";
gathered fakes, whose blend region is unknown, add nothing to this loss.

The head only shapes what the backbone learns: the classifier and the shipped weights are unchanged in form; the
head's own weights are saved beside the run (``mask_head.safetensors``) and its map can serve as an explanation.

Example:
    >>> import torch
    >>> from torchvision.models import mobilenet_v2
    >>> net = mobilenet_v2(num_classes=3)
    >>> head = MaskHead(net, net.features[-1], input_size=64)
    >>> logits = net(torch.zeros(2, 3, 64, 64))
    >>> loss = head.loss(torch.ones(2, 64, 64), torch.tensor([True, False]))
    >>> round(float(loss), 3) > 0
    True
"""

from __future__ import annotations

from typing import Any


class MaskHead:
    """A 1x1 conv on ``layer``'s output, kept by a forward hook; ``loss(mask, has_mask)`` after each forward."""

    def __init__(self, model: Any, layer: Any, *, input_size: int = 224) -> None:
        import torch

        self._feats: Any = None
        self._handle = layer.register_forward_hook(self._keep)
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, input_size, input_size))
        model.train(was_training)
        feats: Any = self._feats
        conv = torch.nn.Conv2d(int(feats.shape[1]), 1, 1)
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.constant_(conv.bias, -3.0)  # type: ignore[arg-type]  # starts at "almost surely no blend"
        self.conv = conv

    def _keep(self, _module: Any, _inputs: Any, output: Any) -> None:
        self._feats = output

    def parameters(self) -> Any:
        return self.conv.parameters()

    def map_logits(self) -> Any:
        """The head's logits on the last forward pass: (N, 1, h, w) at the feature map's resolution."""
        if self._feats is None:
            raise RuntimeError("MaskHead: no forward pass yet")
        return self.conv(self._feats)

    def loss(self, mask: Any, has_mask: Any) -> Any:
        """Mean binary cross-entropy over the items whose blend region is known (0 when none is)."""
        import torch.nn.functional as F

        logits = self.map_logits()
        if not bool(has_mask.any()):
            return logits.sum() * 0.0
        target = F.adaptive_avg_pool2d(mask[:, None].float(), logits.shape[-2:]).clamp(0, 1)
        sel = has_mask.bool()
        return F.binary_cross_entropy_with_logits(logits[sel], target[sel], reduction="mean")

    def save(self, path: Any) -> None:
        """The head's weights as a safetensors file."""
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in self.conv.state_dict().items()}, str(path))

    def remove(self) -> None:
        self._handle.remove()
