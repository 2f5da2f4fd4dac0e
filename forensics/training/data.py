"""Training data: labelled file lists from folder layout, leak-free splits, class mapping and source balancing.

Folders are labelled by path: ``real/<source>/...`` and ``fake/<kind>/<source>/...``. Frames of one video never
straddle a split: FaceForensics++-style names ``image_<video>_<frame>`` are grouped by video (across real and fake
sources, since a fake video is derived from the original one); every other file is its own group.

Example:
    >>> from forensics.training.data import video_group
    >>> video_group("ffpp_df", "image_131_13.png")
    'video:131'
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import ForensicsError
from forensics.evaluation import family
from forensics.evidence import IMAGE_SUFFIXES
from forensics.training.generators import generator_of

_VIDEO_RE = re.compile(r"^image_(\d+)_(\d+)$")
# DeepFaceLive pairs: <swapped-in model>_<video>_f<frame>_<L original | R swapped>
_DFL_PAIR_RE = re.compile(r"^(.+_\d+)_f(\d+)_[LR]$")
HOLD_FIELDS = ("source", "kind", "family", "generator", "name")

# The default three-class scheme: kind -> class name.
THREE_CLASS: dict[str, str] = {
    "real": "real",
    "faceswap": "face-manipulated",
    "reenactment": "face-manipulated",
    "edit": "face-manipulated",
    "sbi": "face-manipulated",
    "gan": "generated",
    "diffusion": "generated",
}
BINARY: dict[str, str] = {k: ("real" if v == "real" else "fake") for k, v in THREE_CLASS.items()}


@dataclass(frozen=True)
class Sample:
    """One labelled image file."""

    path: str  # absolute or relative to the data root, as found
    rel: str  # path relative to the data root (what is written into split files)
    label: str  # "real" | "fake"
    kind: str  # real, faceswap, reenactment, edit, gan, diffusion (or "sbi" for synthetic samples)
    source: str
    group: str  # leak unit: video id or the file itself

    @property
    def stratum(self) -> str:
        return f"{self.kind}/{self.source}"


def video_group(source: str, name: str) -> str:
    """Leak unit of a file: ``video:<id>`` for ``image_<video>_<frame>`` names, else ``file:<source>/<name>``."""
    m = _VIDEO_RE.match(Path(name).stem)
    if m:
        return f"video:{int(m.group(1))}"
    m = _DFL_PAIR_RE.match(Path(name).stem)
    if m and source.startswith("dfl_video"):
        return f"video:dfl:{m.group(1)}"
    return f"file:{source}/{name}"


def parse_hold(spec: str) -> tuple[str, str]:
    """``"source:ciplab"`` -> ("source", "ciplab"); fields are source, kind, family (``evaluation.family``) or
    generator (``training.generators.generator_of``: every source a generator family made, e.g. ``generator:flux``)
    or name (file-name patterns separated by ``|``, e.g. ``name:Keanu_Reeves_*|Tina_Shift_*``: the live swaps of
    those swapped-in models and their original frames).

    >>> parse_hold("kind:diffusion")
    ('kind', 'diffusion')
    """
    field_, sep, value = str(spec).partition(":")
    if not sep or field_ not in HOLD_FIELDS or not value:
        raise ForensicsError(
            f"hold-out {spec!r}: write source:NAME, kind:NAME, family:NAME, generator:NAME or name:PATTERN"
        )
    return field_, value


def is_held(sample: Sample, specs: Sequence[str]) -> bool:
    """Whether a sample falls under any hold-out spec (``parse_hold``)."""
    for spec in specs:
        field_, value = parse_hold(spec)
        if field_ == "family":
            have = family(sample.source)
        elif field_ == "generator":
            have = generator_of(sample.source)
        elif field_ == "name":  # a file-name pattern: the DeepFaceLive swaps of one swapped-in model, say
            if any(fnmatch.fnmatchcase(Path(sample.rel).name, v) for v in value.split("|")):
                return True
            continue
        else:
            have = getattr(sample, field_)
        if have == value:
            return True
    return False


def list_samples(root: str | Path) -> list[Sample]:
    """Every image under ``root`` whose path carries a label; others are ignored. Sorted by relative path."""
    root = Path(root)
    if not root.is_dir():
        raise ForensicsError(
            f"{root} is not a folder: give a folder laid out as real/<source>/ and fake/<kind>/<source>/"
        )
    out = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        parts = p.relative_to(root).parts[:-1]
        label = kind = source = None
        for i, part in enumerate(parts):
            if part == "real" and i + 1 < len(parts):
                label, kind, source = "real", "real", parts[i + 1]
                break
            if part == "fake" and i + 2 < len(parts):
                label, kind, source = "fake", parts[i + 1], parts[i + 2]
                break
        if label is None or kind is None or source is None:  # set together
            continue
        rel = p.relative_to(root).as_posix()
        out.append(
            Sample(path=str(p), rel=rel, label=label, kind=kind, source=source, group=video_group(source, p.name))
        )
    if not out:
        raise ForensicsError(
            f"no labelled images under {root}: expected real/<source>/... and fake/<kind>/<source>/..."
        )
    return out


def split_by_group(samples: Sequence[Sample], val_fraction: float, seed: int = 0) -> tuple[list[Sample], list[Sample]]:
    """Random split where all files of one group (video) land on the same side; stratified by kind/source."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.group, []).append(s)
    by_stratum: dict[str, list[str]] = {}
    for g, members in sorted(groups.items()):
        by_stratum.setdefault(members[0].stratum, []).append(g)
    val_groups: set[str] = set()
    for _stratum, gs in sorted(by_stratum.items()):
        gs = list(gs)
        rng.shuffle(gs)
        k = int(round(val_fraction * len(gs)))
        val_groups.update(gs[:k])
    train = [s for s in samples if s.group not in val_groups]
    val = [s for s in samples if s.group in val_groups]
    return train, val


def check_no_leak(train: Iterable[Sample], val: Iterable[Sample]) -> None:
    """Raise when a video group or a file appears on both sides."""
    tg = {s.group for s in train if s.group.startswith("video:")}
    vg = {s.group for s in val if s.group.startswith("video:")}
    both = tg & vg
    if both:
        raise ForensicsError(
            f"split leaks {len(both)} video(s) between train and validation, e.g. {sorted(both)[:3]}: split by video"
        )


def class_index(kind: str, classes: Sequence[str], scheme: dict[str, str]) -> int:
    name = scheme.get(kind)
    if name is None or name not in classes:
        raise ForensicsError(f"kind {kind!r} maps to no class of {list(classes)}: fix the class scheme")
    return list(classes).index(name)


def balanced_weights(
    strata: Sequence[tuple[int, str]], class_shares: Sequence[float], power: float = 0.5
) -> np.ndarray:
    """Sampling weight per item so that class c gets ``class_shares[c]`` of the draws and, within a class, each
    source gets a share proportional to ``n_source ** power`` (0 = all sources equal, 1 = natural frequencies).

    >>> w = balanced_weights([(0, "a")] * 8 + [(0, "b")] * 2 + [(1, "c")] * 2, [0.5, 0.5], power=0.0)
    >>> round(float(w[:8].sum()), 3), round(float(w[8:10].sum()), 3), round(float(w[10:].sum()), 3)
    (0.25, 0.25, 0.5)
    """
    counts = Counter(strata)
    per_class: dict[int, float] = {}
    for (c, _src), n in counts.items():
        per_class[c] = per_class.get(c, 0.0) + n**power
    w = np.empty(len(strata), dtype=np.float64)
    shares = np.asarray(class_shares, dtype=np.float64)
    present = sorted(per_class)
    norm = shares[present].sum()
    for i, (c, src) in enumerate(strata):
        n = counts[(c, src)]
        w[i] = shares[c] / norm * (n**power / per_class[c]) / n
    return w


def sampling_weights(
    strata: Sequence[tuple[int, str]],
    sbi_strata: Sequence[tuple[int, str]],
    class_shares: Sequence[float],
    power: float = 0.5,
    sbi_share: float = 0.5,
    *,
    fake_groups: Callable[[str], str] | None = None,
    fake_power: float | None = None,
) -> np.ndarray:
    """Weights for items followed by self-blended twins: each present class gets its share of the draws; inside
    the SBI class, SBI twins get ``sbi_share`` (all of it if the class has no real examples); inside each of those
    parts, sources are balanced as in :func:`balanced_weights`. The weights sum to 1.

    ``fake_groups`` balances the gathered fakes (classes other than 0, not the SBI twins) by group instead of by
    source: ``generator_of`` gives every generator family a share ~ ``n_files ** fake_power`` whatever the number of
    its source folders (FLUX in three folders weighs as one generator). ``fake_power`` None = ``power``.

    >>> w = sampling_weights([(0, "a")] * 4 + [(1, "b")] * 2, [(1, "a")] * 4, [0.5, 0.5], 0.0, 0.25)
    >>> [round(float(w[:4].sum()), 3), round(float(w[4:6].sum()), 3), round(float(w[6:].sum()), 3)]
    [0.5, 0.375, 0.125]
    """
    shares = np.asarray(class_shares, dtype=np.float64)
    present = sorted({c for c, _ in strata} | {c for c, _ in sbi_strata})
    total = shares[present].sum()
    w_items = np.zeros(len(strata))
    w_sbi = np.zeros(len(sbi_strata))
    for c in present:
        share = shares[c] / total
        it = np.array([k for k, (cc, _) in enumerate(strata) if cc == c], dtype=int)
        sb = np.array([k for k, (cc, _) in enumerate(sbi_strata) if cc == c], dtype=int)
        part_sbi = (sbi_share if len(it) else 1.0) if len(sb) else 0.0
        if len(it):
            if c != 0 and fake_groups is not None:
                grouped = [(cc, fake_groups(src)) for cc, src in strata]
                p = power if fake_power is None else fake_power
                w_items[it] = _within(grouped, it, p) * share * (1 - part_sbi)
            else:
                p = power if (c == 0 or fake_power is None) else fake_power
                w_items[it] = _within(strata, it, p) * share * (1 - part_sbi)
        if len(sb):
            w_sbi[sb] = _within(sbi_strata, sb, power) * share * part_sbi
    return np.concatenate([w_items, w_sbi])


def pair_domains(
    weights: np.ndarray, strata: Sequence[tuple[int, str]], sbi_strata: Sequence[tuple[int, str]], floor: float = 0.2
) -> np.ndarray:
    """Re-spread the real class's mass over real sources in proportion to the fake mass drawn from the same
    dataset family (``lfw`` real vs ``lfw_faceswap`` and self-blends of lfw faces...), plus ``floor`` x each source's
    original mass. Without this a family that appears more often as fake than as real teaches "this look = fake"
    (measured here: 100% of LFW reals flagged). The real class total is unchanged.

    >>> w = np.array([0.25, 0.25, 0.5])                  # real lfw, real utk, fake lfw_faceswap
    >>> pair_domains(w, [(0, "lfw"), (0, "utk"), (1, "lfw_faceswap")], [], floor=0.0).round(3).tolist()
    [0.5, 0.0, 0.5]
    """
    all_strata = list(strata) + list(sbi_strata)
    w = np.asarray(weights, dtype=np.float64).copy()
    fake_mass: dict[str, float] = {}
    for (c, src), wi in zip(all_strata, w, strict=True):
        if c != 0:
            fake_mass[family(src)] = fake_mass.get(family(src), 0.0) + wi
    real_idx = [i for i, (c, _) in enumerate(strata) if c == 0]
    if not real_idx:
        return w
    total = w[real_idx].sum()
    by_source: dict[str, list[int]] = {}
    for i in real_idx:
        by_source.setdefault(strata[i][1], []).append(i)
    target = {src: fake_mass.get(family(src), 0.0) + floor * w[idx].sum() for src, idx in by_source.items()}
    norm = sum(target.values())
    if norm <= 0:
        return w
    for src, idx in by_source.items():
        w[idx] = total * target[src] / norm / len(idx)
    return w


def _within(strata: Sequence[tuple[int, str]], idx: np.ndarray, power: float) -> np.ndarray:
    """Weights over ``idx`` summing to 1, source share ~ n_source ** power."""
    counts = Counter(strata[k][1] for k in idx)
    denom = sum(n**power for n in counts.values())
    return np.array([(counts[strata[k][1]] ** power / denom) / counts[strata[k][1]] for k in idx])


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_split(path: str | Path, splits: dict[str, Sequence[Sample]], hashes: dict[str, str]) -> None:
    """CSV of every file used: split, relative path, label, kind, source, group, sha256."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["split", "path", "label", "kind", "source", "group", "sha256"])
        for name, samples in splits.items():
            for s in samples:
                w.writerow([name, s.rel, s.label, s.kind, s.source, s.group, hashes.get(s.path, "")])


def summarise_samples(samples: Sequence[Sample]) -> dict[str, Any]:
    c = Counter(s.stratum for s in samples)
    return {"n": len(samples), "per_source": dict(sorted(c.items()))}


def sample_to_dict(s: Sample) -> dict[str, Any]:
    return asdict(s)


def generated_samples(folders: Sequence[Path | None]) -> list[Sample]:
    """Every image in each folder of generated faces (``python -m forensics generate sample`` output; config
    ``[data] generated``), labelled fake, kind ``gan``, source ``generated:<folder name>``; each file is its own
    group."""
    out = []
    for folder in folders:
        if folder is None or not folder.is_dir():
            raise ForensicsError(f"[data] generated: {folder} is not a folder: write one with `generate sample --out`")
        source = f"generated:{folder.name}"
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ForensicsError(f"[data] generated: no images in {folder}")
        for p in files:
            rel = f"{source}/{p.relative_to(folder).as_posix()}"
            out.append(Sample(path=str(p), rel=rel, label="fake", kind="gan", source=source, group=f"file:{rel}"))
    return out
