"""Read Keras 2 HDF5 weight files (``model.save_weights`` or a full ``model.save``) into the PyTorch Meso ports.

Layout read: root attribute ``layer_names``; one group per layer with attribute ``weight_names``; datasets named
``<layer>/<weight>:0``. Conversion: conv kernels HWIO -> OIHW; Dense kernels (in, out) -> (out, in);
BatchNormalization gamma, beta, moving_mean, moving_variance -> weight, bias, running_mean, running_var.
A Dense(16) followed by no LeakyReLU layer in the file is read as linear (see ``load_meso_h5``).
Layers are paired by type in creation order (Keras numbers them ``conv2d_5``, ``conv2d_6``...), with the PyTorch
modules of the same type in definition order; every shape is checked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import ForensicsError

_KINDS = {"conv2d": "conv", "batch_normalization": "bn", "dense": "dense"}
_NO_WEIGHTS = ("input", "max_pooling2d", "flatten", "dropout", "leaky_re_lu", "concatenate", "activation", "reshape")


def _layer_kind(name: str) -> tuple[str, int] | None:
    m = re.fullmatch(r"(.+?)(?:_(\d+))?", name)
    base, num = (m.group(1), int(m.group(2) or 0)) if m else (name, 0)
    if base in _KINDS:
        return _KINDS[base], num
    if base.startswith(_NO_WEIGHTS):
        return None
    raise ForensicsError(f"Keras layer {name!r} is not supported by the Meso reader")


def read_keras_h5(path: str | Path) -> dict[str, list[tuple[str, dict[str, np.ndarray]]]]:
    """Weights by kind ('conv', 'bn', 'dense'), each a list of (layer name, {weight: array}) in creation order.

    The key ``"layers"`` lists every layer name of the file (with empty dicts), weightless ones included.
    """
    import h5py

    try:
        f = h5py.File(str(path), "r")
    except OSError as exc:
        raise ForensicsError(f"cannot open Keras weight file {path}: {exc}") from exc
    with f:
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in root.attrs:
            raise ForensicsError(f"{path} is not a Keras HDF5 weight file (no 'layer_names' attribute)")
        out: dict[str, list[tuple[int, str, dict[str, np.ndarray]]]] = {"conv": [], "bn": [], "dense": []}
        all_layers: list[tuple[int, str, dict[str, np.ndarray]]] = []
        for raw in root.attrs["layer_names"]:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            all_layers.append((len(all_layers), name, {}))
            kind = _layer_kind(name)
            group = root[name]
            names = [w.decode() if isinstance(w, bytes) else str(w) for w in group.attrs.get("weight_names", [])]
            if kind is None:
                if names:
                    raise ForensicsError(f"Keras layer {name!r} has weights the Meso reader does not expect")
                continue
            weights = {n.split("/")[-1].split(":")[0]: np.asarray(group[n], dtype=np.float32) for n in names}
            out[kind[0]].append((kind[1], name, weights))
    out["layers"] = all_layers
    return {k: [(n, w) for _, n, w in sorted(v, key=lambda t: t[0])] for k, v in out.items()}


def _copy(param: Any, array: np.ndarray, what: str) -> None:
    import torch

    if tuple(param.shape) != array.shape:
        raise ForensicsError(f"{what}: Keras shape {array.shape} does not fit PyTorch shape {tuple(param.shape)}")
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.ascontiguousarray(array)))


def load_meso_h5(model: Any, path: str | Path) -> None:
    """Load a Keras Meso-4 / MesoInception-4 weight file into the PyTorch port ``model`` (in place)."""
    from torch import nn

    layers = read_keras_h5(path)
    # The published Meso4_*.h5 files hold no LeakyReLU layer (MesoInception's do): the network that was saved had a
    # linear Dense(16). Follow the file, so its outputs are reproduced; a PyTorch-trained Meso-4 keeps LeakyReLU(0.1).
    has_leaky = any(n.startswith("leaky_re_lu") for n, _ in layers["layers"])
    if hasattr(model, "act_fc"):
        model.act_fc = nn.LeakyReLU(0.1) if has_leaky else nn.Identity()
    mods: dict[str, list[Any]] = {
        "conv": [m for m in model.modules() if isinstance(m, nn.Conv2d)],
        "bn": [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)],
        "dense": [m for m in model.modules() if isinstance(m, nn.Linear)],
    }
    for kind, targets in mods.items():
        if len(targets) != len(layers[kind]):
            raise ForensicsError(
                f"{Path(path).name}: {len(layers[kind])} Keras {kind} layers but the model has "
                f"{len(targets)}: wrong architecture for this file"
            )
    for mod, (name, w) in zip(mods["conv"], layers["conv"], strict=True):
        _copy(mod.weight, w["kernel"].transpose(3, 2, 0, 1), name)
        if mod.bias is not None:
            _copy(mod.bias, w["bias"], name)
    for mod, (name, w) in zip(mods["bn"], layers["bn"], strict=True):
        _copy(mod.weight, w["gamma"], name)
        _copy(mod.bias, w["beta"], name)
        _copy(mod.running_mean, w["moving_mean"], name)
        _copy(mod.running_var, w["moving_variance"], name)
    for mod, (name, w) in zip(mods["dense"], layers["dense"], strict=True):
        _copy(mod.weight, w["kernel"].T, name)
        _copy(mod.bias, w["bias"], name)
    model.eval()
