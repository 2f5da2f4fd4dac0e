"""The weights manifest (``weights/manifest.json``) and verified loading of weight files.

A weight file is read only after its SHA-256 matches the manifest: a missing file raises
:class:`~forensics.errors.WeightsNotFoundError`, a different one :class:`~forensics.errors.WeightsHashMismatchError`.
Files are looked up by bare name in :func:`forensics.paths.weights_search_path` (explicit folders first, then
``FORENSICS_WEIGHTS_PATH``, ``weights/``, ``../shared/peers/mesonet/weights``). Tensors are read with safetensors or
``torch.load(weights_only=True)``; Keras ``.h5`` files go through the Meso-4 reader. The format is documented in
``weights/README.md``.

Example (what the trainer does after training):
    >>> from forensics.detectors.weights import save_weights, register_weights     # doctest: +SKIP
    >>> path = save_weights(model, "weights/ffd-mobilenetv2.safetensors")          # doctest: +SKIP
    >>> register_weights("ffd-mobilenetv2", path, architecture="mobilenetv2",     # doctest: +SKIP
    ...                  classes=("real", "face-manipulated", "generated"), fake_indices=(1, 2), card={...})
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forensics.errors import ForensicsError, WeightsHashMismatchError, WeightsNotFoundError
from forensics.paths import WEIGHTS_DIR, weights_search_path

MANIFEST_SCHEMA = 1
DEFAULT_MANIFEST = WEIGHTS_DIR / "manifest.json"
TRAIN_HINT = "train one with `python -m forensics train --config configs/default.toml`"


@dataclass(frozen=True)
class ManifestEntry:
    """One trained (or published peer) weight file and how to build the detector that uses it."""

    name: str
    file: str
    sha256: str
    architecture: str
    classes: tuple[str, ...] = ("real", "fake")
    fake_indices: tuple[int, ...] = (1,)
    card: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None
    description: str = ""
    novelty: dict[str, Any] | None = None  # {file, sha256, threshold, fitted}: forensics.calibration.novelty

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ManifestEntry:
        missing = [k for k in ("name", "file", "sha256", "architecture") if not d.get(k)]
        if missing:
            raise ForensicsError(f"manifest entry {d.get('name', '?')!r} lacks {missing}: fix weights/manifest.json")
        kwargs = dict(d.get("kwargs") or {})
        classes = tuple(kwargs.get("classes") or ("real", "fake"))
        fake = tuple(int(i) for i in (kwargs.get("fake_indices") or range(1, len(classes))))
        file = str(d["file"])
        if Path(file).is_absolute() or ".." in Path(file).parts:
            raise ForensicsError(f"manifest entry {d['name']!r}: 'file' must be a bare name, got {file!r}")
        return cls(
            name=str(d["name"]),
            file=file,
            sha256=str(d["sha256"]).lower(),
            architecture=str(d["architecture"]),
            classes=classes,
            fake_indices=fake,
            card=dict(d.get("card") or {}),
            calibration=d.get("calibration"),
            description=str(d.get("description", "")),
            novelty=d.get("novelty"),
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "file": self.file,
            "sha256": self.sha256,
            "architecture": self.architecture,
            "kwargs": {"classes": list(self.classes), "fake_indices": list(self.fake_indices)},
            "card": self.card,
        }
        if self.description:
            d["description"] = self.description
        if self.calibration is not None:
            d["calibration"] = self.calibration
        if self.novelty is not None:
            d["novelty"] = self.novelty
        return d


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_manifest(path: str | Path | None = None) -> dict[str, ManifestEntry]:
    """Entries of the manifest by name (empty when the file does not exist)."""
    p = Path(path) if path is not None else DEFAULT_MANIFEST
    if not p.is_file():
        return {}
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ForensicsError(f"cannot read weights manifest {p}: {exc}; restore it from git") from exc
    if raw.get("schema") != MANIFEST_SCHEMA:
        raise ForensicsError(f"weights manifest {p} has schema {raw.get('schema')!r}, expected {MANIFEST_SCHEMA}")
    entries = [ManifestEntry.from_dict(e) for e in raw.get("entries", [])]
    return {e.name: e for e in entries}


def write_manifest(
    entries: Mapping[str, ManifestEntry] | Sequence[ManifestEntry], path: str | Path | None = None
) -> Path:
    """Write the manifest atomically (entries sorted by name)."""
    p = Path(path) if path is not None else DEFAULT_MANIFEST
    items = list(entries.values()) if isinstance(entries, Mapping) else list(entries)
    doc = {
        "schema": MANIFEST_SCHEMA,
        "about": "Trained and peer weight files: see weights/README.md. Files are loaded only if sha256 matches.",
        "entries": [e.to_dict() for e in sorted(items, key=lambda e: e.name)],
    }
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".manifest-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2, sort_keys=False)
        fh.write("\n")
    os.replace(tmp, p)
    return p


@contextlib.contextmanager
def _manifest_lock(manifest: str | Path | None) -> Iterator[None]:
    """Serialise read-modify-write of the manifest between processes (advisory lock beside it)."""
    import fcntl

    p = (Path(manifest) if manifest is not None else DEFAULT_MANIFEST).resolve()
    key = hashlib.sha256(str(p).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"forensics-manifest-{key}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def register_weights(
    name: str,
    file: str | Path,
    *,
    architecture: str,
    classes: Sequence[str] = ("real", "fake"),
    fake_indices: Sequence[int] | None = None,
    card: Mapping[str, Any] | None = None,
    calibration: Mapping[str, Any] | Any | None = None,
    description: str = "",
    manifest: str | Path | None = None,
) -> ManifestEntry:
    """Add or replace the manifest entry ``name`` for ``file`` (its SHA-256 is computed now).

    ``file`` should sit in a folder of the weights search path (normally ``weights/``); only its bare name is
    stored. ``calibration`` is a dict or an object with ``to_dict()`` (forensics.calibration.Calibration).
    """
    from forensics.detectors import architecture_names

    path = Path(file)
    if not path.is_file():
        raise WeightsNotFoundError(f"cannot register {name!r}: {path} does not exist; save the weights first")
    if architecture not in architecture_names():
        raise ForensicsError(f"unknown architecture {architecture!r}; known: {', '.join(architecture_names())}")
    if calibration is not None and not isinstance(calibration, Mapping):
        calibration = calibration.to_dict()
    classes = tuple(classes)
    fake = tuple(fake_indices) if fake_indices is not None else tuple(range(1, len(classes)))
    entry = ManifestEntry(
        name=name,
        file=path.name,
        sha256=sha256_file(path),
        architecture=architecture,
        classes=classes,
        fake_indices=fake,
        card=dict(card or {}),
        calibration=dict(calibration) if calibration is not None else None,
        description=description,
    )
    ManifestEntry.from_dict(entry.to_dict())  # validates
    with _manifest_lock(manifest):
        entries = load_manifest(manifest)
        entries[name] = entry
        write_manifest(entries, manifest)
    return entry


def set_calibration(
    name: str, calibration: Mapping[str, Any] | Any | None, *, manifest: str | Path | None = None
) -> ManifestEntry:
    """Attach (or with None remove) the calibration dict of an existing manifest entry."""
    if calibration is not None and not isinstance(calibration, Mapping):
        calibration = calibration.to_dict()
    with _manifest_lock(manifest):
        entries = load_manifest(manifest)
        if name not in entries:
            raise WeightsNotFoundError(f"no manifest entry {name!r}; register its weights first")
        new = dataclasses.replace(entries[name], calibration=dict(calibration) if calibration is not None else None)
        entries[name] = new
        write_manifest(entries, manifest)
    return new


def set_novelty(name: str, novelty: Mapping[str, Any] | None, *, manifest: str | Path | None = None) -> ManifestEntry:
    """Attach (or with None remove) the ``novelty`` record (file, sha256, threshold, fitted) of a manifest entry."""
    with _manifest_lock(manifest):
        entries = load_manifest(manifest)
        if name not in entries:
            raise WeightsNotFoundError(f"no manifest entry {name!r}; register its weights first")
        new = dataclasses.replace(entries[name], novelty=dict(novelty) if novelty is not None else None)
        entries[name] = new
        write_manifest(entries, manifest)
    return new


def find_weights_file(file: str, weights_dirs: Sequence[str | Path] | None = None) -> Path:
    """First existing ``file`` in the weights search path, else WeightsNotFoundError naming where it looked."""
    dirs = weights_search_path(list(weights_dirs) if weights_dirs else None)
    for d in dirs:
        candidate = Path(d) / file
        if candidate.is_file():
            return candidate
    raise WeightsNotFoundError(
        f"weight file {file!r} not found in {', '.join(str(d) for d in dirs)}: put it in weights/, "
        "pass its folder with --weights-dir / weights_dirs, or set FORENSICS_WEIGHTS_PATH"
    )


_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def _cached_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASH_CACHE:
        _HASH_CACHE[key] = sha256_file(path)
    return _HASH_CACHE[key]


def verify_file(path: str | Path, sha256: str, *, what: str = "") -> str:
    """Check a file's SHA-256; return it, or raise WeightsHashMismatchError (the message names the file)."""
    p = Path(path)
    if not p.is_file():
        raise WeightsNotFoundError(f"weight file {p} does not exist{': ' + what if what else ''}")
    actual = _cached_sha256(p)
    if actual != sha256.lower():
        raise WeightsHashMismatchError(
            f"weight file {p} has sha256 {actual} but the manifest{' entry ' + what if what else ''} expects "
            f"{sha256.lower()}: it was changed or corrupted and is refused; restore the original file or "
            "re-register it with forensics.detectors.weights.register_weights"
        )
    return actual


def locate_verified(entry: ManifestEntry, weights_dirs: Sequence[str | Path] | None = None) -> Path:
    """Find the entry's file on the search path and verify its hash."""
    path = find_weights_file(entry.file, weights_dirs)
    verify_file(path, entry.sha256, what=repr(entry.name))
    return path


def load_novelty_model(record: Mapping[str, Any], weights_dirs: Sequence[str | Path] | None = None) -> Any:
    """The novelty model (``forensics.calibration.novelty.NoveltyModel``) of a manifest entry's ``novelty`` record,
    after its SHA-256 is checked; the manifest's threshold is the one in force (it may have been chosen after the
    fit)."""
    from forensics.calibration.novelty import NoveltyModel

    file = str(record.get("file") or "")
    if not file or Path(file).is_absolute() or ".." in Path(file).parts:
        raise ForensicsError(f"novelty record names no bare file: {record!r}")
    path = find_weights_file(file, weights_dirs)
    sha = verify_file(path, str(record.get("sha256") or ""), what=f"novelty model {file}")
    m = NoveltyModel.load(path)
    return NoveltyModel(
        m.means,
        m.precision,
        m.reference,
        float(record.get("threshold", m.threshold)),
        m.classes,
        {**m.info, "file": file, "sha256": sha},
    )


def read_state_dict(path: str | Path) -> dict[str, Any]:
    """Tensors from a .safetensors or torch file (``weights_only=True``; nested 'state_dict'/'model' unwrapped)."""
    import torch

    p = Path(path)
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(p), device="cpu"))
    try:
        obj = torch.load(str(p), map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError, OSError) as exc:
        raise ForensicsError(f"cannot read weights {p}: {exc}; expected a safetensors or torch state dict") from exc
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ForensicsError(f"{p} is not a state dict of tensors")
    return dict(obj)


def save_weights(model_or_state: Any, path: str | Path) -> Path:
    """Save a model's state dict (or a dict of tensors) as safetensors; returns the path."""
    from safetensors.torch import save_file

    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else dict(model_or_state)
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(p))
    return p
