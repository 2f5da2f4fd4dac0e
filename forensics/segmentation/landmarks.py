"""Landmark segmenter: mediapipe Face Mesh (478 points with iris) + selfie segmentation, both shipped in the wheel.

Exact regions (polygons of Face Mesh landmarks): left eye and right eye (each with its iris), left eyebrow and right
eyebrow, nose (convex hull of the nose points), mouth (outer lip contour, opening included), skin (face oval minus
the others). Left and right are the image's (viewer's) sides, decided by where each polygon lies in the crop, not by
Face Mesh's own labels, so a mirrored photo swaps them (the ciplab edit masks use this convention). The selfie
model gives the person mask; background = not person (a trained model, so not flagged approximate). Approximate
regions, heuristics on the person mask and a skin-colour model sampled from the cheeks:
  ears  = skin-coloured person pixels just outside the face oval, between brow and nose-base height;
  neck  = person pixels below the jaw within a band about 0.7 face widths wide, centred under the chin;
  hair  = non-skin-coloured person pixels outside the oval above the chin (below the mouth only close beside the
          face), in pieces that touch the oval and reach above the eyes, plus non-skin pixels inside the oval above
          the brows that touch them (a fringe);
  glasses = strong horizontal edges forming a straight bar over the nose bridge at eye height and a smooth rim curve
          below at least one eye; the mask is the frame (long edge structures, dilated), not the lenses.
Pixels in no region (clothes, a bald scalp, hair below the chin) stay unassigned.

The mediapipe graphs are created once per process and guarded by a lock (they are not thread safe).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from forensics.errors import UnavailableError
from forensics.faces.mediapipe_runtime import QuietMesh, load_mediapipe, warmed
from forensics.segmentation import REGIONS, RegionMasks, Segmenter, register_segmenter, resolve_overlaps
from forensics.segmentation.glasses import find_glasses
from forensics.segmentation.masks import (
    SkinModel,
    components_touching,
    dilate,
    erode,
    fill_polygon,
    polygon_area,
    row_extent,
)

_LOCK = threading.Lock()
_GRAPHS: dict[str, Any] = {}

APPROXIMATE = {"ears", "neck", "hair", "glasses"}
# What this segmenter can report: the eyes and brows as two sides each, never as the pair (see REGIONS).
LANDMARK_REGIONS: tuple[str, ...] = tuple(r for r in REGIONS if r not in ("eyes", "eyebrows"))


def _mediapipe():
    return load_mediapipe()


def _graph(kind: str):
    """Process-wide Face Mesh / selfie-segmentation graph (call with _LOCK held)."""
    if kind not in _GRAPHS:
        mp = _mediapipe()
        if kind == "mesh":
            _GRAPHS[kind] = QuietMesh(
                warmed(
                    lambda: mp.solutions.face_mesh.FaceMesh(
                        static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.3
                    )
                )
            )
        else:
            _GRAPHS[kind] = warmed(lambda: mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0))
    return _GRAPHS[kind]


def _chains(edges) -> list[list[int]]:
    """Order an undirected edge set into polylines (closed loops repeat no vertex)."""
    adj: dict[int, list[int]] = {}
    for a, b in edges:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    unused = {frozenset(e) for e in edges}
    chains: list[list[int]] = []
    while unused:
        nodes = {n for e in unused for n in e}
        ends = [n for n in nodes if sum(frozenset((n, m)) in unused for m in adj[n]) == 1]
        start = min(ends) if ends else min(nodes)
        chain = [start]
        cur = start
        while True:
            nxt = [m for m in adj[cur] if frozenset((cur, m)) in unused]
            if not nxt:
                break
            m = min(nxt)
            unused.discard(frozenset((cur, m)))
            if m == start:
                break
            chain.append(m)
            cur = m
        chains.append(chain)
    return chains


class _Topology:
    """Index lists of the Face Mesh regions, derived once from mediapipe's own connection sets."""

    def __init__(self) -> None:
        fm = _mediapipe().solutions.face_mesh
        self.oval = _chains(fm.FACEMESH_FACE_OVAL)[0]
        self.eyes = [_chains(fm.FACEMESH_LEFT_EYE)[0], _chains(fm.FACEMESH_RIGHT_EYE)[0]]
        self.irises = [
            sorted({i for e in fm.FACEMESH_LEFT_IRIS for i in e}),
            sorted({i for e in fm.FACEMESH_RIGHT_IRIS for i in e}),
        ]
        self.brows = [self._brow(fm.FACEMESH_LEFT_EYEBROW), self._brow(fm.FACEMESH_RIGHT_EYEBROW)]
        self.lips = _chains(fm.FACEMESH_LIPS)
        self.nose = sorted({i for e in fm.FACEMESH_NOSE for i in e} | {129, 358, 2, 168})

    @staticmethod
    def _brow(edges) -> list[int]:
        parts = _chains(edges)
        if len(parts) == 1:
            return parts[0]
        a, b = parts[0], parts[1]
        return a + (b[::-1] if abs(a[-1] - b[-1]) < abs(a[-1] - b[0]) else b)


_TOPO: _Topology | None = None


def _topology() -> _Topology:
    global _TOPO
    if _TOPO is None:
        _TOPO = _Topology()
    return _TOPO


def _run_mesh(crop: np.ndarray) -> np.ndarray | None:
    """(478, 2) landmark pixel coordinates, or None. Retries on a padded copy (tight crops defeat the detector)."""
    h, w = crop.shape[:2]
    for pad_frac in (0.0, 0.35):
        pad = int(round(pad_frac * max(h, w)))
        img = crop if pad == 0 else np.pad(crop, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        with _LOCK:
            res = _graph("mesh").process(img)
        if res.multi_face_landmarks:
            lm = res.multi_face_landmarks[0].landmark
            ih, iw = img.shape[:2]
            pts = np.array([(p.x * iw - pad, p.y * ih - pad) for p in lm], dtype=np.float64)
            return pts
    return None


def _run_person(crop: np.ndarray) -> np.ndarray:
    with _LOCK:
        res = _graph("selfie").process(crop)
    if res.segmentation_mask is None:  # pragma: no cover - the selfie model always returns a map
        return np.ones(crop.shape[:2], dtype=bool)
    return np.asarray(res.segmentation_mask) > 0.5


def _sided(name: str, masks: list[np.ndarray], centres: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Name a pair of masks by the image side their landmark centre lies on: {"left NAME", "right NAME"}."""
    left, right = (0, 1) if centres[0][0] <= centres[1][0] else (1, 0)
    return {f"left {name}": masks[left], f"right {name}": masks[right]}


def part_masks(shape: tuple[int, int], pts: np.ndarray, topo: _Topology | None = None) -> dict[str, np.ndarray]:
    """Candidate masks (overlapping, before ``resolve_overlaps``) of the landmark-exact parts: left / right eye
    (contour plus the iris disk where it meets the eye), left / right eyebrow, mouth and nose, from (478, 2) Face
    Mesh pixel coordinates. Sides are the image's: the part whose landmarks lie further left is the left one."""
    import cv2

    topo = topo or _topology()
    eyes, eye_centres = [], []
    for contour, iris in zip(topo.eyes, topo.irises, strict=True):
        eye = fill_polygon(shape, pts[contour])
        c = pts[iris].mean(0)
        r = float(np.linalg.norm(pts[iris] - c, axis=1).mean())
        disk = np.zeros(shape, dtype=np.uint8)
        cv2.circle(disk, (int(round(c[0] * 16)), int(round(c[1] * 16))), int(round(r * 16)), 1, -1, shift=4)
        eyes.append(eye | (disk.astype(bool) & dilate(eye, 1)))
        eye_centres.append(pts[contour].mean(0))
    brows = [fill_polygon(shape, pts[b]) for b in topo.brows]
    lips = max((pts[c] for c in topo.lips), key=polygon_area)
    nose = fill_polygon(shape, cv2.convexHull(pts[topo.nose].astype(np.float32)).reshape(-1, 2).astype(np.float64))
    return {
        **_sided("eye", eyes, eye_centres),
        **_sided("eyebrow", brows, [pts[b].mean(0) for b in topo.brows]),
        "mouth": fill_polygon(shape, lips),
        "nose": nose,
    }


@register_segmenter("landmarks", description="mediapipe Face Mesh (478 landmarks) + selfie segmentation + heuristics")
class LandmarkSegmenter(Segmenter):
    """Default segmenter; see the module docstring for how each region is found."""

    name = "landmarks"

    def available(self) -> tuple[bool, str]:
        try:
            mp = _mediapipe()
        except UnavailableError as exc:
            return False, str(exc)
        if not hasattr(mp, "solutions"):
            return False, "this mediapipe build has no solutions API (>= 0.10.30 ships no models): use 0.10.21"
        return True, ""

    def segment(self, crop: np.ndarray) -> RegionMasks:
        import cv2

        t0 = time.perf_counter()
        h, w = crop.shape[:2]
        person = _run_person(crop)
        pts = _run_mesh(crop)
        notes: list[str] = []
        if pts is None:
            reason = "Face Mesh found no face in the crop (profile, occlusion, too small or not a face)"
            bg = ~person
            masks = {"background": bg} if bg.any() else {}
            only_bg = {r: reason for r in LANDMARK_REGIONS if r != "background"}
            if not bg.any():
                only_bg["background"] = "the person mask covers the whole crop"
            return RegionMasks(
                masks=masks,
                approximate={r: False for r in masks},
                absent=only_bg,
                segmenter=self.name,
                shape=(h, w),
                notes=(reason,),
                elapsed_ms=(time.perf_counter() - t0) * 1e3,
            )

        topo = _topology()
        shape = (h, w)
        oval = fill_polygon(shape, pts[topo.oval])
        lips = max((pts[c] for c in topo.lips), key=polygon_area)
        face_parts = resolve_overlaps({**part_masks(shape, pts, topo), "skin": oval})
        eyes_mask = face_parts["left eye"] | face_parts["right eye"]
        brows_mask = face_parts["left eyebrow"] | face_parts["right eyebrow"]
        person = person | oval

        lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB).astype(np.float32)
        gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)

        fw = float(pts[topo.oval][:, 0].max() - pts[topo.oval][:, 0].min())
        fh = float(pts[topo.oval][:, 1].max() - pts[topo.oval][:, 1].min())
        chin = pts[152]
        brow_top = float(min(pts[b][:, 1].min() for b in topo.brows))
        nose_base = float(pts[2][1])
        yy, xx = np.mgrid[0:h, 0:w]
        min_area = max(12, int(0.0015 * h * w))
        candidates: dict[str, np.ndarray] = dict(face_parts)
        absent: dict[str, str] = {}
        scores: dict[str, float] = {}

        # skin-colour model from the cheeks/forehead (skin minus a margin around the parts)
        eye_y = float(np.mean([pts[e][:, 1].mean() for e in topo.eyes]))
        mouth_top = float(lips[:, 1].min())
        cheeks = (yy > eye_y + 0.08 * fh) & (yy < mouth_top)
        sample = erode(face_parts["skin"], max(1, int(0.02 * fw))) & cheeks
        skin_model = None
        try:
            skin_model = SkinModel(lab, sample if sample.sum() >= 30 else face_parts["skin"])
        except (ValueError, np.linalg.LinAlgError):
            notes.append("too little visible skin for a colour model: ears and hair not estimated")
        outside = person & ~oval

        glasses, gscores = find_glasses(gray, pts, topo.eyes, face_parts["skin"], eyes_mask, brows_mask, oval)
        scores.update({f"glasses_{k}": v for k, v in gscores.items()})
        if glasses is not None and glasses.sum() >= min_area // 2:
            candidates["glasses"] = glasses
        else:
            absent["glasses"] = (
                f"no spectacle frame found (bridge bar score {gscores.get('bridge', 0):.2f} of 0.80 "
                f"needed, lower-rim score {gscores.get('lower_rim', 0):.2f} of 0.70): heuristic, "
                "rimless or thin frames can be missed"
            )

        if skin_model is not None:
            skin_like = skin_model.like(lab)
            left, right = row_extent(oval)
            lx = np.where(np.isnan(left), -1e9, left)[:, None]
            rx = np.where(np.isnan(right), 1e9, right)[:, None]
            band_rows = (yy >= brow_top - 0.05 * fh) & (yy <= nose_base + 0.08 * fh)
            beside = ((xx < lx) & (xx >= lx - 0.15 * fw)) | ((xx > rx) & (xx <= rx + 0.15 * fw))
            ear_cand = outside & skin_like & band_rows & beside
            ears = components_touching(ear_cand, dilate(oval, 2) & ~oval, min_area)
            if ears.any():
                candidates["ears"] = ears
            else:
                absent["ears"] = (
                    "no skin-coloured bulge beside the face oval at brow-to-nose height "
                    "(ears covered by hair, turned away or outside the crop)"
                )
        else:
            skin_like = np.zeros(shape, dtype=bool)
            absent["ears"] = "no skin colour model (too little visible skin)"

        neck_band = (np.abs(xx - chin[0]) <= 0.35 * fw) & (yy > pts[topo.oval][:, 1].min() + 0.6 * fh)
        neck = outside & neck_band & (yy <= chin[1] + 0.5 * fh)
        neck = components_touching(neck, dilate(oval, 3), min_area)
        if neck.any():
            candidates["neck"] = neck
        else:
            absent["neck"] = "no person pixels below the jaw (neck outside the crop or covered)"

        if skin_model is not None:
            hair_out = (
                outside
                & ~skin_like
                & (yy < chin[1])
                & ~candidates.get("ears", np.zeros(shape, bool))
                & ~candidates.get("neck", np.zeros(shape, bool))
            )
            # below the mouth, only strands close beside the face count (shoulders and clothes reach up there)
            near_face = ((xx >= lx - 0.2 * fw) & (xx <= rx + 0.2 * fw)) | (yy < float(lips[:, 1].mean()))
            hair_out &= near_face
            hair_out = components_touching(hair_out, dilate(oval, max(2, int(0.03 * fw))), min_area)
            hair_out = components_touching(hair_out, yy < eye_y, min_area)  # hair reaches above the eyes
            fringe = oval & ~skin_like & (yy < brow_top) & ~brows_mask
            fringe = components_touching(fringe, dilate(hair_out, 1), min_area) if hair_out.any() else fringe & False
            hair = hair_out | fringe
            if hair.sum() >= min_area:
                candidates["hair"] = hair
            else:
                absent["hair"] = (
                    "no non-skin-coloured person pixels around the face above the chin (bald, covered or cropped out)"
                )
        else:
            absent["hair"] = "no skin colour model (too little visible skin)"

        candidates["background"] = ~person
        masks = resolve_overlaps(candidates)
        for r in list(masks):
            if not masks[r].any():
                masks.pop(r)
                absent.setdefault(
                    r,
                    "covered entirely by higher-priority regions"
                    if r != "background"
                    else "the person mask covers the whole crop",
                )
        approximate = {r: (r in APPROXIMATE) for r in masks}
        notes.append("ears, neck, hair, glasses are heuristics on the person mask and a skin-colour model")
        return RegionMasks(
            masks=masks,
            approximate=approximate,
            absent=absent,
            segmenter=self.name,
            shape=shape,
            notes=tuple(notes),
            landmarks=pts,
            elapsed_ms=(time.perf_counter() - t0) * 1e3,
            scores=scores,
        )
