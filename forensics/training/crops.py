"""Face crops for training and evaluation, made with the project's own face pipeline and cached on disk.

Training crops must match inference crops, so they come from :func:`forensics.faces.detect_faces` with the same
crop size and margin. Method ``"auto"`` tries MTCNN, then the Haar cascade, then falls back to the whole image
(for files that are already face crops); the method used is recorded with each crop. The cache lives in
``CACHE_DIR/crops`` and is keyed by the SHA-256 of the file bytes plus the crop settings, so a changed setting
never reuses a stale crop.

Example:
    >>> from forensics.training.crops import CropSettings, face_crop_for_file    # doctest: +SKIP
    >>> rec = face_crop_for_file("face.jpg", CropSettings())                    # doctest: +SKIP
    >>> rec.crop.shape, rec.method                                                # doctest: +SKIP
    ((256, 256, 3), 'mtcnn')
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from forensics.errors import ForensicsError
from forensics.paths import CACHE_DIR

CACHE_VERSION = 1


def _face_defaults() -> tuple[int, float, int]:
    from forensics.faces.crop import DEFAULT_CROP_SIZE, DEFAULT_MARGIN
    from forensics.faces.detect import DEFAULT_MIN_SIZE

    return int(DEFAULT_CROP_SIZE), float(DEFAULT_MARGIN), int(DEFAULT_MIN_SIZE)


@dataclass(frozen=True)
class CropSettings:
    """How crops are made. ``crop_size``/``margin`` None = the face pipeline's defaults (as at inference)."""

    method: str = "auto"  # auto | mtcnn | haar | whole
    crop_size: int | None = None
    margin: float | None = None
    min_size: int | None = None

    def resolved(self) -> CropSettings:
        size, margin, min_size = _face_defaults()
        return CropSettings(
            method=self.method,
            crop_size=self.crop_size if self.crop_size is not None else size,
            margin=self.margin if self.margin is not None else margin,
            min_size=self.min_size if self.min_size is not None else min_size,
        )

    def key(self) -> str:
        r = self.resolved()
        text = json.dumps({**asdict(r), "v": CACHE_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class CropRecord:
    """One face crop (the largest face found) with its aligned landmarks, or None landmarks."""

    crop: np.ndarray  # (S, S, 3) uint8
    landmarks: np.ndarray | None  # (5, 2) float32 in crop coordinates
    method: str  # which detector produced it: mtcnn | haar | whole
    confidence: float
    n_faces: int


def cache_dir() -> Path:
    return Path(os.environ.get("FORENSICS_CROP_CACHE", CACHE_DIR / "crops"))


def _cache_path(sha: str, settings: CropSettings) -> Path:
    return cache_dir() / settings.key() / sha[:2] / f"{sha}.npz"


def _pick_face(image: np.ndarray, settings: CropSettings) -> CropRecord | None:
    from forensics.faces import FaceOptions, detect_faces

    s = settings  # resolved by the caller (face_crop_for_file)
    assert s.min_size is not None and s.margin is not None and s.crop_size is not None
    fs = detect_faces(image, FaceOptions(method=s.method, min_size=s.min_size, margin=s.margin, crop_size=s.crop_size))
    if not fs.faces:
        return None
    face = max(fs.faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    lm = None if face.crop_landmarks is None else np.asarray(face.crop_landmarks, dtype=np.float32)
    return CropRecord(
        crop=np.ascontiguousarray(face.crop, dtype=np.uint8),
        landmarks=lm,
        method=fs.method,
        confidence=float(face.confidence),
        n_faces=len(fs.faces),
    )


def make_crop(image: np.ndarray, settings: CropSettings) -> CropRecord:
    """Crop the largest face; method "auto" chains MTCNN -> Haar (forensics.faces) -> whole image (recorded)."""
    s = settings.resolved()
    chain = ("auto", "whole") if s.method == "auto" else (s.method,)
    last_error: Exception | None = None
    for m in chain:
        try:
            rec = _pick_face(image, CropSettings(method=m, crop_size=s.crop_size, margin=s.margin, min_size=s.min_size))
        except ForensicsError as exc:  # a detector that cannot run here (e.g. missing package): try the next
            last_error = exc
            continue
        if rec is not None:
            return rec
    raise ForensicsError(f"no face crop could be made (methods tried: {', '.join(chain)}; last error: {last_error})")


def decode(data: bytes, name: str = "image") -> np.ndarray:
    """Decode bytes exactly as the analysis pipeline does (EXIF orientation applied, RGB uint8)."""
    from forensics.evidence import load_evidence

    return load_evidence(data, name=name).image


def face_crop_for_bytes(
    data: bytes, settings: CropSettings, *, name: str = "image", use_cache: bool = True
) -> CropRecord:
    """Crop for an encoded image, through the on-disk cache."""
    sha = hashlib.sha256(data).hexdigest()
    path = _cache_path(sha, settings)
    if use_cache and path.is_file():
        with np.load(path, allow_pickle=False) as z:
            lm = z["landmarks"]
            return CropRecord(
                crop=z["crop"],
                landmarks=None if np.isnan(lm).all() else lm.astype(np.float32),
                method=str(z["method"]),
                confidence=float(z["confidence"]),
                n_faces=int(z["n_faces"]),
            )
    rec = make_crop(decode(data, name), settings)
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        lm = rec.landmarks if rec.landmarks is not None else np.full((5, 2), np.nan, np.float32)
        np.savez(
            buf,
            crop=rec.crop,
            landmarks=lm,
            method=np.array(rec.method),
            confidence=np.array(rec.confidence),
            n_faces=np.array(rec.n_faces),
        )
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, path)
    return rec


def face_crop_for_file(
    path: str | Path, settings: CropSettings, *, use_cache: bool = True, normalise: tuple[int, int] | None = None
) -> CropRecord:
    """Crop for a file, through the cache; ``normalise=(side, quality)`` crops the file after ``normalise_bytes``."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ForensicsError(f"cannot read {p}: {exc}") from exc
    if normalise:
        data = normalise_bytes(data, normalise[0], normalise[1], name=p.name)
    return face_crop_for_bytes(data, settings, name=p.name, use_cache=use_cache)


def check_resampling(side: int, quality: int, what: str) -> tuple[int, int]:
    """(side, quality) as ints when ``normalise_bytes`` can use them (side 32..4096 px, JPEG quality 10..100);
    otherwise a ForensicsError that names ``what`` (the option or config key)."""
    side, quality = int(side), int(quality)
    if not (32 <= side <= 4096 and 10 <= quality <= 100):
        raise ForensicsError(f"{what} {side},{quality}: side must be 32..4096 and quality 10..100")
    return side, quality


def normalise_bytes(data: bytes, side: int, quality: int, name: str = "image") -> bytes:
    """Re-sample an image to one shorter side and re-encode it as JPEG at one quality (the honesty check)."""
    from PIL import Image

    img = decode(data, name)
    h, w = img.shape[:2]
    scale = side / min(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    pil = Image.fromarray(img).resize(size, Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    pil.save(buf, format="JPEG", quality=int(quality), subsampling=2)
    return buf.getvalue()


def precompute(paths: Sequence[str | Path], settings: CropSettings, *, progress: bool = True) -> dict[str, str]:
    """Fill the cache for many files (skips cached ones). Returns {path: method or "error: ..."}."""
    from tqdm import tqdm

    out: dict[str, str] = {}
    for p in tqdm(list(paths), desc="face crops", disable=not progress, mininterval=5):
        try:
            out[str(p)] = face_crop_for_file(p, settings).method
        except ForensicsError as exc:
            out[str(p)] = f"error: {exc}"
    return out


def _to_tensor(crops: np.ndarray, size: int):
    """Whole crops -> normalised tensor exactly as ``Detector.preprocess`` does (bilinear, antialiased)."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x - mean) / std


def predict_logits(model, crops: np.ndarray, size: int, batch_size: int = 64) -> np.ndarray:
    """Logits of an eval-mode model on whole crops (resized like the detector's preprocess)."""
    import torch

    model.eval()
    dev = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(crops), batch_size):
            out.append(model(_to_tensor(crops[i : i + batch_size], size).to(dev)).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))
