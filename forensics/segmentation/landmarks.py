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
from forensics.mediapipe_runtime import QuietMesh, load_mediapipe, warmed
from forensics.segmentation import REGIONS, RegionMasks, Segmenter, register_segmenter, resolve_overlaps

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


def _polygon_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


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


def _fill(shape: tuple[int, int], pts: np.ndarray) -> np.ndarray:
    import cv2

    canvas = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(canvas, [np.round(pts * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return canvas.astype(bool)


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    import cv2

    if r <= 0:
        return mask
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask.astype(np.uint8), k).astype(bool)


def _erode(mask: np.ndarray, r: int) -> np.ndarray:
    import cv2

    if r <= 0:
        return mask
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.erode(mask.astype(np.uint8), k).astype(bool)


def _components_touching(mask: np.ndarray, anchor: np.ndarray, min_area: int) -> np.ndarray:
    """Connected components of ``mask`` that overlap ``anchor`` and have at least ``min_area`` pixels."""
    import cv2

    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, dtype=bool)
    hit = np.unique(lab[anchor & mask])
    keep[hit] = True
    keep[0] = False
    keep &= stats[:, cv2.CC_STAT_AREA] >= min_area
    return keep[lab]


class _SkinModel:
    """Gaussian colour model in CIELAB fitted on sampled skin pixels; ``like(img)`` is True where skin-coloured."""

    def __init__(self, lab: np.ndarray, sample: np.ndarray) -> None:
        px = lab[sample].reshape(-1, 3).astype(np.float64)
        if len(px) < 30:
            raise ValueError("too few skin samples")
        self.mean = px.mean(0)
        cov = np.cov(px.T) + np.diag([4.0, 1.0, 1.0])  # floor: JPEG noise, flat lighting
        self.inv = np.linalg.inv(cov)
        d = self._dist(px)
        self.threshold = float(np.percentile(d, 95.0)) * 1.25

    def _dist(self, px: np.ndarray) -> np.ndarray:
        z = px - self.mean
        return np.sqrt(np.einsum("ni,ij,nj->n", z, self.inv, z))

    def like(self, lab: np.ndarray) -> np.ndarray:
        h, w = lab.shape[:2]
        return (self._dist(lab.reshape(-1, 3).astype(np.float64)) <= self.threshold).reshape(h, w)


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


def _row_extent(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leftmost/rightmost True column per row (nan where the row is empty)."""
    h, w = mask.shape
    any_row = mask.any(1)
    left = np.full(h, np.nan)
    right = np.full(h, np.nan)
    left[any_row] = mask[any_row].argmax(1)
    right[any_row] = w - 1 - mask[any_row][:, ::-1].argmax(1)
    return left, right


def _row_band_score(strong: np.ndarray, tol: int) -> float:
    """Best fraction of columns holding a strong pixel within one horizontal band of +-tol rows (a straight bar)."""
    if strong.shape[0] == 0 or strong.shape[1] < 2:
        return 0.0
    best = 0.0
    for y in range(strong.shape[0]):
        band = strong[max(0, y - tol) : y + tol + 1]
        best = max(best, float(band.any(0).mean()))
    return best


def _curve_score(strong: np.ndarray, max_step: float) -> float:
    """Fraction of columns whose first strong pixel continues a smooth curve (|step| <= max_step from the previous)."""
    if strong.shape[1] < 3:
        return 0.0
    has = strong.any(0)
    first = np.where(has, strong.argmax(0), -1).astype(float)
    ok = 0
    for i in range(1, len(first)):
        if first[i] >= 0 and first[i - 1] >= 0 and abs(first[i] - first[i - 1]) <= max_step:
            ok += 1
    return ok / (len(first) - 1)


def _glasses(
    gray: np.ndarray,
    pts: np.ndarray,
    topo: _Topology,
    skin: np.ndarray,
    eyes_mask: np.ndarray,
    brows_mask: np.ndarray,
    oval: np.ndarray,
) -> tuple[np.ndarray | None, dict[str, float]]:
    """Heuristic spectacle-frame detector: a straight bar over the nose bridge at eye height plus a smooth rim
    curve below at least one eye. Returns (frame mask or None, scores)."""
    import cv2

    h, w = gray.shape
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)
    inner = _erode(skin, 2)
    base = float(np.median(mag[inner])) if inner.any() else float(np.median(mag))
    thr = max(4.0 * base, 60.0)
    eye_pts = [pts[e] for e in topo.eyes]
    centres = [e.mean(0) for e in eye_pts]
    iod = float(np.linalg.norm(centres[0] - centres[1]))
    if iod < 8:
        return None, {"iod": iod}
    order = np.argsort([c[0] for c in centres])  # image-left eye first
    el, er = eye_pts[order[0]], eye_pts[order[1]]
    eye_top = min(el[:, 1].min(), er[:, 1].min())
    eye_cy = (centres[0][1] + centres[1][1]) / 2
    strong_y = np.abs(gy) > thr

    def roi(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
        xa, xb = int(max(0, np.floor(x0))), int(min(w, np.ceil(x1)))
        ya, yb = int(max(0, np.floor(y0))), int(min(h, np.ceil(y1)))
        return strong_y[ya : max(ya, yb), xa : max(xa, xb)]

    inner_l, inner_r = el[:, 0].max(), er[:, 0].min()
    span = inner_r - inner_l
    tol = max(2, int(round(0.04 * iod)))
    bridge = _row_band_score(
        roi(inner_l + 0.2 * span, inner_r - 0.2 * span, eye_top - 0.3 * iod, eye_cy + 0.1 * iod), tol
    )
    lows = [
        _curve_score(
            roi(e[:, 0].min(), e[:, 0].max(), e[:, 1].max() + 0.1 * iod, e[:, 1].max() + 0.5 * iod),
            max(1.5, 0.04 * iod),
        )
        for e in (el, er)
    ]
    scores = {"bridge": bridge, "lower_rim": max(lows), "edge_threshold": thr}
    if not (bridge >= 0.8 and max(lows) >= 0.7):
        return None, scores
    # Frame mask: long strong-edge structures inside the spectacle zone (lens boxes + bridge, within the face),
    # away from the eyes and brows, dilated to a rim width.
    zone = np.zeros((h, w), dtype=bool)
    y0 = int(max(0, eye_top - 0.35 * iod))
    y1 = int(min(h, max(el[:, 1].max(), er[:, 1].max()) + 0.6 * iod))
    x0 = int(max(0, el[:, 0].min() - 0.3 * iod))
    x1 = int(min(w, er[:, 0].max() + 0.3 * iod))
    zone[y0:y1, x0:x1] = True
    zone &= _dilate(oval, max(1, int(0.1 * iod)))
    edges = (mag > thr) & zone & ~_dilate(eyes_mask, max(1, int(0.04 * iod))) & ~_dilate(brows_mask, 1)
    # keep the edge structures that pass through the bridge or lower-rim windows where the frame was detected
    anchor = np.zeros((h, w), dtype=bool)
    for a, b, c, d in [(inner_l + 0.2 * span, inner_r - 0.2 * span, eye_top - 0.3 * iod, eye_cy + 0.1 * iod)] + [
        (e[:, 0].min(), e[:, 0].max(), e[:, 1].max() + 0.1 * iod, e[:, 1].max() + 0.5 * iod) for e in (el, er)
    ]:
        anchor[int(max(0, c)) : int(max(0, d)), int(max(0, a)) : int(max(0, b))] = True
    n, lab, stats, _ = cv2.connectedComponentsWithStats(edges.astype(np.uint8), connectivity=8)
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    keep = extent >= 0.25 * iod
    touching = np.zeros(n, dtype=bool)
    touching[np.unique(lab[anchor & edges])] = True
    keep &= touching
    keep[0] = False
    frame = _dilate(keep[lab], max(1, int(round(0.02 * iod))))
    return frame, scores


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
        eye = _fill(shape, pts[contour])
        c = pts[iris].mean(0)
        r = float(np.linalg.norm(pts[iris] - c, axis=1).mean())
        disk = np.zeros(shape, dtype=np.uint8)
        cv2.circle(disk, (int(round(c[0] * 16)), int(round(c[1] * 16))), int(round(r * 16)), 1, -1, shift=4)
        eyes.append(eye | (disk.astype(bool) & _dilate(eye, 1)))
        eye_centres.append(pts[contour].mean(0))
    brows = [_fill(shape, pts[b]) for b in topo.brows]
    lips = max((pts[c] for c in topo.lips), key=_polygon_area)
    nose = _fill(shape, cv2.convexHull(pts[topo.nose].astype(np.float32)).reshape(-1, 2).astype(np.float64))
    return {
        **_sided("eye", eyes, eye_centres),
        **_sided("eyebrow", brows, [pts[b].mean(0) for b in topo.brows]),
        "mouth": _fill(shape, lips),
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
        oval = _fill(shape, pts[topo.oval])
        lips = max((pts[c] for c in topo.lips), key=_polygon_area)
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
        sample = _erode(face_parts["skin"], max(1, int(0.02 * fw))) & cheeks
        skin_model = None
        try:
            skin_model = _SkinModel(lab, sample if sample.sum() >= 30 else face_parts["skin"])
        except (ValueError, np.linalg.LinAlgError):
            notes.append("too little visible skin for a colour model: ears and hair not estimated")
        outside = person & ~oval

        glasses, gscores = _glasses(gray, pts, topo, face_parts["skin"], eyes_mask, brows_mask, oval)
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
            left, right = _row_extent(oval)
            lx = np.where(np.isnan(left), -1e9, left)[:, None]
            rx = np.where(np.isnan(right), 1e9, right)[:, None]
            band_rows = (yy >= brow_top - 0.05 * fh) & (yy <= nose_base + 0.08 * fh)
            beside = ((xx < lx) & (xx >= lx - 0.15 * fw)) | ((xx > rx) & (xx <= rx + 0.15 * fw))
            ear_cand = outside & skin_like & band_rows & beside
            ears = _components_touching(ear_cand, _dilate(oval, 2) & ~oval, min_area)
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
        neck = _components_touching(neck, _dilate(oval, 3), min_area)
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
            hair_out = _components_touching(hair_out, _dilate(oval, max(2, int(0.03 * fw))), min_area)
            hair_out = _components_touching(hair_out, yy < eye_y, min_area)  # hair reaches above the eyes
            fringe = oval & ~skin_like & (yy < brow_top) & ~brows_mask
            fringe = _components_touching(fringe, _dilate(hair_out, 1), min_area) if hair_out.any() else fringe & False
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
