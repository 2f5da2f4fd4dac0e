"""Torch modules written for this project: EfficientNet-Lite0, SimpleNet, Meso-4, MesoInception-4, a DeiT wrapper.

Imported only when a detector of these families is built (it imports torch at module level).
Every activation is a separate, non-inplace module and residual additions live in one method of their block, so
the zennit canonizers in :mod:`forensics.detectors.canonizers` can make them explicit.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# --- EfficientNet-Lite0 -----------------------------------------------------------------------------------------
# (kernel, stride, expand ratio, in channels, out channels, repeats): the Lite0 stage table (no squeeze-excitation,
# ReLU6, fixed stem and head). Parameter names follow the published PyTorch port so its ImageNet file loads as is.
LITE0_STAGES = (
    (3, 1, 1, 32, 16, 1),
    (3, 2, 6, 16, 24, 2),
    (5, 2, 6, 24, 40, 2),
    (3, 2, 6, 40, 80, 3),
    (5, 1, 6, 80, 112, 3),
    (5, 2, 6, 112, 192, 4),
    (3, 1, 6, 192, 320, 1),
)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding (asymmetric for stride 2 on even sizes), as TF-trained weights expect."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.kernel_size
        sh, sw = self.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + (kh - 1) * self.dilation[0] + 1 - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + (kw - 1) * self.dilation[1] + 1 - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _conv(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, *, same: bool) -> nn.Conv2d:
    if same:
        return SameConv2d(cin, cout, k, stride=stride, groups=groups, bias=False)
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False)


class MBConvBlock(nn.Module):
    """Inverted residual block of EfficientNet-Lite: expand 1x1, depthwise kxk, project 1x1, identity skip."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, expand: int, *, same: bool) -> None:
        super().__init__()
        hidden = cin * expand
        bn: dict[str, Any] = dict(eps=1e-3, momentum=0.01)
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = _conv(cin, hidden, 1, same=same)
            self._bn0 = nn.BatchNorm2d(hidden, **bn)
            self._act0 = nn.ReLU6()
        self._depthwise_conv = _conv(hidden, hidden, k, stride, groups=hidden, same=same)
        self._bn1 = nn.BatchNorm2d(hidden, **bn)
        self._act1 = nn.ReLU6()
        self._project_conv = _conv(hidden, cout, 1, same=same)
        self._bn2 = nn.BatchNorm2d(cout, **bn)
        self.use_residual = stride == 1 and cin == cout

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        if self.has_expand:
            x = self._act0(self._bn0(self._expand_conv(x)))
        x = self._act1(self._bn1(self._depthwise_conv(x)))
        return self._bn2(self._project_conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        return x + out if self.use_residual else out


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 (Tan & Le 2019, the mobile 'Lite' variant): 4.7 M parameters at 1000 classes."""

    def __init__(self, num_classes: int = 1000, *, same_padding: bool = False, dropout: float = 0.2) -> None:
        super().__init__()
        bn: dict[str, Any] = dict(eps=1e-3, momentum=0.01)
        self._conv_stem = _conv(3, 32, 3, 2, same=same_padding)
        self._bn0 = nn.BatchNorm2d(32, **bn)
        self._stem_act = nn.ReLU6()
        blocks = []
        for k, s, e, cin, cout, reps in LITE0_STAGES:
            for i in range(reps):
                blocks.append(MBConvBlock(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e, same=same_padding))
        self._blocks = nn.Sequential(*blocks)
        self._conv_head = _conv(320, 1280, 1, same=same_padding)
        self._bn1 = nn.BatchNorm2d(1280, **bn)
        self._head_act = nn.ReLU6()
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._flatten = nn.Flatten(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._stem_act(self._bn0(self._conv_stem(x)))
        x = self._blocks(x)
        x = self._head_act(self._bn1(self._conv_head(x)))
        return self._fc(self._dropout(self._flatten(self._avg_pooling(x))))


# --- MobileNetV2 with a neighbouring-pixel residual view ---------------------------------------------------------
def npr_residual(x: torch.Tensor) -> torch.Tensor:
    """Neighbouring-pixel residual (Tan et al., CVPR 2024): the image minus its 2x nearest down- and up-sampling,
    i.e. each pixel minus the top-left pixel of its 2x2 cell; it keeps the local correlations that up-sampling
    layers of generators leave and removes the image content. Odd sizes keep their last row/column as is."""
    h, w = x.shape[-2:]
    h2, w2 = h - h % 2, w - w % 2
    core = x[..., :h2, :w2]
    up = core[..., ::2, ::2].repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)
    out = torch.zeros_like(x)
    out[..., :h2, :w2] = core - up
    return out


class MobileNetV2Residual(nn.Module):
    """torchvision MobileNetV2 whose first convolution sees six channels: the normalised image and its
    neighbouring-pixel residual (``npr_residual``), late fusion being left to the network. Parameter names are
    MobileNetV2's, so a three-channel MobileNetV2 file loads with the residual filters at zero (``load_widened``)."""

    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        from torchvision.models import mobilenet_v2

        net = mobilenet_v2(weights=None, num_classes=num_classes)
        stem = net.features[0][0]
        net.features[0][0] = nn.Conv2d(6, stem.out_channels, 3, 2, 1, bias=False)
        self.features = net.features
        self.classifier = net.classifier
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.features(torch.cat([x, npr_residual(x)], dim=1))
        return self.classifier(self.flatten(self.pool(z)))


def load_widened(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a state dict into ``model``; a stem weight with fewer input channels than the model's is padded with
    zero filters (so a three-channel network's behaviour is kept exactly at the start of training)."""
    own = model.state_dict()
    fixed = dict(state)
    for k, v in state.items():
        want = own.get(k)
        if (
            want is not None
            and v.ndim == 4
            and want.ndim == 4
            and v.shape[1] < want.shape[1]
            and v.shape[0] == want.shape[0]
        ):
            pad = torch.zeros(want.shape, dtype=v.dtype)
            pad[:, : v.shape[1]] = v
            fixed[k] = pad
    model.load_state_dict(fixed, strict=True)


# --- SimpleNet ---------------------------------------------------------------------------------------------------
class SimpleNet(nn.Module):
    """A small plain CNN: four conv3x3-BN-ReLU-maxpool stages (32, 64, 128, 256), global average pool, linear."""

    def __init__(self, num_classes: int = 2, widths: tuple[int, ...] = (32, 64, 128, 256), dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for w in widths:
            layers += [nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
            cin = w
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.flatten(self.pool(self.features(x)))))


# --- DeiT-tiny ---------------------------------------------------------------------------------------------------
class DeiTClassifier(nn.Module):
    """transformers' DeiTForImageClassification (tiny configuration, random init) returning plain logits."""

    def __init__(
        self,
        num_classes: int = 2,
        *,
        image_size: int = 224,
        patch_size: int = 16,
        hidden_size: int = 192,
        num_layers: int = 12,
        num_heads: int = 3,
    ) -> None:
        super().__init__()
        from transformers import DeiTConfig, DeiTForImageClassification

        # num_labels reaches PretrainedConfig through **kwargs, which DeiTConfig's stub does not declare
        config = DeiTConfig(
            image_size=image_size,
            patch_size=patch_size,
            hidden_size=hidden_size,  # type: ignore[call-arg]
            num_hidden_layers=num_layers,
            num_attention_heads=num_heads,
            intermediate_size=4 * hidden_size,
            num_labels=num_classes,
        )
        config._attn_implementation = "eager"  # plain matmuls: gradients and hooks behave as written
        self.net = DeiTForImageClassification(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(pixel_values=x).logits


# --- Meso-4 / MesoInception-4 (Afchar et al., WIFS 2018) ------------------------------------------------------------
# Keras layout of the published weights: Conv(relu) -> BatchNorm -> MaxPool('same'), 'same' convolutions, BN eps 1e-3,
# Flatten over NHWC, Dropout, Dense(16), LeakyReLU(0.1), Dropout, Dense(1, sigmoid) giving P(real).


def _keras_bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class RealScoreToLogits(nn.Module):
    """Map the single 'real' logit z to two-class logits [z/2, -z/2]: softmax then gives sigmoid(z) for 'real'."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.cat([z / 2, -z / 2], dim=1)


class KerasFlatten(nn.Module):
    """Flatten like Keras does on channels-last tensors (N, C, H, W) -> NHWC order, so Dense kernels line up."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1)


class _MesoHead(nn.Module):
    def _init_head(self, num_classes: int, flat: int) -> None:
        self.flatten = KerasFlatten()
        self.drop1 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(flat, 16)
        self.act_fc = nn.LeakyReLU(0.1)
        self.drop2 = nn.Dropout(0.5)
        # Two classes: the published single sigmoid output (P(real)); otherwise one logit per class.
        self.fc2 = nn.Linear(16, 1 if num_classes == 2 else num_classes)
        self.to_logits = RealScoreToLogits() if num_classes == 2 else nn.Identity()

    def head(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act_fc(self.fc1(self.drop1(self.flatten(x))))
        return self.to_logits(self.fc2(self.drop2(x)))


class Meso4(_MesoHead):
    """Meso-4: four conv blocks (8, 8, 16, 16 channels; kernels 3, 5, 5, 5), 256 px input in [0, 1]."""

    def __init__(self, num_classes: int = 2, input_size: int = 256) -> None:
        super().__init__()
        self.conv1, self.act1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), _keras_bn(8)
        self.pool1 = nn.MaxPool2d(2, ceil_mode=True)
        self.conv2, self.act2, self.bn2 = nn.Conv2d(8, 8, 5, padding=2), nn.ReLU(), _keras_bn(8)
        self.pool2 = nn.MaxPool2d(2, ceil_mode=True)
        self.conv3, self.act3, self.bn3 = nn.Conv2d(8, 16, 5, padding=2), nn.ReLU(), _keras_bn(16)
        self.pool3 = nn.MaxPool2d(2, ceil_mode=True)
        self.conv4, self.act4, self.bn4 = nn.Conv2d(16, 16, 5, padding=2), nn.ReLU(), _keras_bn(16)
        self.pool4 = nn.MaxPool2d(4, ceil_mode=True)
        side = math.ceil(math.ceil(math.ceil(math.ceil(input_size / 2) / 2) / 2) / 4)
        self._init_head(num_classes, 16 * side * side)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.bn1(self.act1(self.conv1(x))))
        x = self.pool2(self.bn2(self.act2(self.conv2(x))))
        x = self.pool3(self.bn3(self.act3(self.conv3(x))))
        x = self.pool4(self.bn4(self.act4(self.conv4(x))))
        return self.head(x)


class InceptionLayer(nn.Module):
    """MesoInception block: 1x1 | 1x1->3x3 | 1x1->3x3 dilated 2 | 1x1->3x3 dilated 3, concatenated (ReLU each)."""

    def __init__(self, cin: int, a: int, b: int, c: int, d: int) -> None:
        super().__init__()
        # Creation order matches the Keras model, so the reader can pair layers in order.
        self.b1 = nn.Conv2d(cin, a, 1)
        self.b2a, self.b2b = nn.Conv2d(cin, b, 1), nn.Conv2d(b, b, 3, padding=1)
        self.b3a, self.b3b = nn.Conv2d(cin, c, 1), nn.Conv2d(c, c, 3, padding=2, dilation=2)
        self.b4a, self.b4b = nn.Conv2d(cin, d, 1), nn.Conv2d(d, d, 3, padding=3, dilation=3)
        self.relu = nn.ReLU()
        self.out_channels = a + b + c + d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.relu
        return torch.cat(
            [
                r(self.b1(x)),
                r(self.b2b(r(self.b2a(x)))),
                r(self.b3b(r(self.b3a(x)))),
                r(self.b4b(r(self.b4a(x)))),
            ],
            dim=1,
        )


class MesoInception4(_MesoHead):
    """MesoInception-4: two inception blocks (1,4,4,2) and (2,4,4,2), then two 5x5 conv blocks of 16 channels."""

    def __init__(self, num_classes: int = 2, input_size: int = 256) -> None:
        super().__init__()
        self.inc1 = InceptionLayer(3, 1, 4, 4, 2)
        self.bn1, self.pool1 = _keras_bn(11), nn.MaxPool2d(2, ceil_mode=True)
        self.inc2 = InceptionLayer(11, 2, 4, 4, 2)
        self.bn2, self.pool2 = _keras_bn(12), nn.MaxPool2d(2, ceil_mode=True)
        self.conv3, self.act3, self.bn3 = nn.Conv2d(12, 16, 5, padding=2), nn.ReLU(), _keras_bn(16)
        self.pool3 = nn.MaxPool2d(2, ceil_mode=True)
        self.conv4, self.act4, self.bn4 = nn.Conv2d(16, 16, 5, padding=2), nn.ReLU(), _keras_bn(16)
        self.pool4 = nn.MaxPool2d(4, ceil_mode=True)
        side = math.ceil(math.ceil(math.ceil(math.ceil(input_size / 2) / 2) / 2) / 4)
        self._init_head(num_classes, 16 * side * side)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.bn1(self.inc1(x)))
        x = self.pool2(self.bn2(self.inc2(x)))
        x = self.pool3(self.bn3(self.act3(self.conv3(x))))
        x = self.pool4(self.bn4(self.act4(self.conv4(x))))
        return self.head(x)
