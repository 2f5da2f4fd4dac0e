"""Metadata red flags and the EXIF thumbnail comparison.

``metadata``: generator tags (Stable Diffusion's PNG "parameters" text, ComfyUI/InvokeAI/NovelAI chunks, software
names such as Midjourney, DALL-E, Firefly in EXIF/XMP/PNG text/JPEG comments, the IPTC digital source type
"trainedAlgorithmicMedia"), C2PA manifest presence, editing or face-retouching software, and whether camera EXIF is
present. Metadata is easy to strip and to forge: a generator or editor tag is a positive sign worth reporting, its
absence means nothing, and camera EXIF is never taken as proof of an original.

``thumbnail``: many cameras store a small JPEG preview in EXIF IFD1. Editors that keep the EXIF block but do not
regenerate the preview leave a thumbnail that shows the picture as it was before the edit. The thumbnail is decoded
and compared with the image down-scaled to the same size (black letterbox bars removed, brightness/contrast matched).

Example:
    >>> find_generator_names("Made with Adobe Firefly")
    ['Adobe Firefly']
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from forensics.checks.base import (
    NEUTRAL,
    SUPPORTS_MANIPULATION,
    Finding,
    block_view,
    decode_rgb,
    is_jpeg,
    register_check,
    stored_rgb,
    to_luma,
)
from forensics.evidence import exif_thumbnail

# name shown -> pattern (case-insensitive). Word boundaries keep "imagenet" from matching "Imagen".
GENERATORS: dict[str, str] = {
    "Stable Diffusion": r"stable[\s_-]?diffusion|\bsdxl\b|\bsd[\s_-]?(?:1\.[45]|2\.[01]|3(?:\.5)?)\b",
    "Stability AI": r"stability[\s.]?ai|dreamstudio",
    "Midjourney": r"mid[\s-]?journey",
    "DALL-E": r"dall[\s·\-·.]?e\b",
    "OpenAI": r"\bopenai\b|gpt-4o|chatgpt",
    "Adobe Firefly": r"firefly",
    "NovelAI": r"novel[\s-]?ai",
    "ComfyUI": r"comfy[\s-]?ui",
    "AUTOMATIC1111": r"automatic1111|\ba1111\b|stable-diffusion-webui",
    "InvokeAI": r"invoke[\s-]?ai",
    "Fooocus": r"\bfooocus\b",
    "Google Imagen/Gemini": r"\bimagen\b|\bgemini\b|synthid",
    "Ideogram": r"ideogram",
    "Leonardo.Ai": r"leonardo\.?ai",
    "FLUX (Black Forest Labs)": r"\bflux\.1\b|black[\s-]?forest[\s-]?labs",
    "Bing Image Creator": r"bing image creator|designer\.microsoft",
    "Craiyon": r"craiyon",
    "NightCafe": r"nightcafe",
    "Runway": r"runwayml|\brunway gen",
    "DiffusionBee": r"diffusionbee",
    "Draw Things": r"draw things",
    "StyleGAN": r"stylegan",
}
# Face retouching apps change faces by design; general editors may only crop or adjust colour.
FACE_EDITORS: dict[str, str] = {
    "Facetune": r"facetune",
    "FaceApp": r"faceapp",
    "Meitu": r"meitu",
    "AirBrush": r"\bairbrush\b",
    "BeautyPlus": r"beautyplus",
    "YouCam": r"youcam",
    "Remini": r"remini",
    "Reface": r"\breface\b",
}
EDITORS: dict[str, str] = {
    "Adobe Photoshop": r"photoshop",
    "GIMP": r"\bgimp\b",
    "Affinity Photo": r"affinity photo",
    "Pixelmator": r"pixelmator",
    "Paint.NET": r"paint\.net",
    "Photopea": r"photopea",
    "Canva": r"\bcanva\b",
    "PicsArt": r"picsart",
    "Snapseed": r"snapseed",
    "Luminar": r"luminar",
    "PhotoDirector": r"photodirector",
    "Fotor": r"\bfotor\b",
    "Krita": r"\bkrita\b",
}
# RAW developers touch every professional photo: reported, not counted as a red flag.
RAW_DEVELOPERS: dict[str, str] = {
    "Adobe Lightroom": r"lightroom",
    "Capture One": r"capture one",
    "darktable": r"darktable",
    "RawTherapee": r"rawtherapee",
    "DxO": r"\bdxo\b",
    "Camera Raw": r"camera raw",
}
# Keys of PNG text chunks written by generator front-ends.
GENERATOR_PNG_KEYS: dict[str, str] = {
    "parameters": "AUTOMATIC1111/Forge-style generation parameters",
    "prompt": "ComfyUI prompt graph",
    "workflow": "ComfyUI workflow",
    "Dream": "InvokeAI (legacy) dream command",
    "sd-metadata": "InvokeAI metadata",
    "invokeai_metadata": "InvokeAI metadata",
    "invokeai_graph": "InvokeAI graph",
    "generation_data": "generation data",
    "fooocus_scheme": "Fooocus scheme",
}
SD_PARAMETER_WORDS = ("steps:", "sampler:", "cfg scale:", "seed:", "negative prompt:", "model hash:")
# IPTC digital source type codes (case-sensitive in XMP and C2PA) that declare generated content.
AI_SOURCE_TYPES = (
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "compositeSynthetic",
)


def _find(table: dict[str, str], text: str) -> list[str]:
    return [name for name, pat in table.items() if re.search(pat, text, flags=re.IGNORECASE)]


def find_generator_names(text: str) -> list[str]:
    """Names of known image generators mentioned in ``text``."""
    return _find(GENERATORS, text)


def _strings(md: dict[str, Any]) -> dict[str, str]:
    """Metadata fields that may name software, as {where: text}."""
    exif = md.get("exif") or {}
    xmp = md.get("xmp") or {}
    out: dict[str, str] = {}
    for key in ("software", "host_computer", "image_description", "artist", "make", "model"):
        if exif.get(key):
            out[f"EXIF {key}"] = str(exif[key])
    if xmp.get("creator_tool"):
        out["XMP CreatorTool"] = str(xmp["creator_tool"])
    for i, agent in enumerate(xmp.get("history_software") or []):
        out[f"XMP history {i}"] = str(agent)
    for k, v in (md.get("png_text") or {}).items():
        out[f"PNG text {k}"] = str(v)[:5000]
    for i, c in enumerate((md.get("jpeg") or {}).get("comments") or []):
        out[f"JPEG comment {i}"] = str(c)
    if md.get("comment"):
        out["comment"] = str(md["comment"])
    return out


def metadata_flags(metadata: dict[str, Any], data: bytes = b"") -> dict[str, Any]:
    """Red flags found in an Evidence's ``metadata`` dict (and a byte search of ``data`` for IPTC source types)."""
    strings = _strings(metadata)
    generators: list[dict[str, str]] = []
    editors: list[dict[str, str]] = []
    face_editors: list[dict[str, str]] = []
    developers: list[dict[str, str]] = []
    for where, text in strings.items():
        for n in _find(GENERATORS, text):
            generators.append({"name": n, "where": where})
        for n in _find(FACE_EDITORS, text):
            face_editors.append({"name": n, "where": where})
        for n in _find(EDITORS, text):
            editors.append({"name": n, "where": where})
        for n in _find(RAW_DEVELOPERS, text):
            developers.append({"name": n, "where": where})
    png_text = metadata.get("png_text") or {}
    for key, label in GENERATOR_PNG_KEYS.items():
        if key in png_text:
            value = str(png_text[key]).lower()
            if key == "parameters" and sum(w in value for w in SD_PARAMETER_WORDS) < 2:
                continue  # a "parameters" chunk without sampler/steps wording is not a generator's
            generators.append({"name": label, "where": f"PNG text {key}"})
    xmp = metadata.get("xmp") or {}
    dst = str(xmp.get("digital_source_type") or "")
    source_types = [t for t in AI_SOURCE_TYPES if t in dst]
    if not source_types and data:  # also inside C2PA manifests and XMP packets the loader did not parse
        source_types = [t for t in AI_SOURCE_TYPES if t.encode() in data]
    if source_types:
        generators.append({"name": f"IPTC digital source type {source_types[0]}", "where": "XMP/C2PA bytes"})
    if xmp.get("photoshop") and not any(e["name"] == "Adobe Photoshop" for e in editors):
        editors.append({"name": "Adobe Photoshop", "where": "XMP photoshop namespace"})
    exif = metadata.get("exif") or {}
    c2pa = metadata.get("c2pa") or {}
    return {
        "generators": _dedupe(generators),
        "face_editors": _dedupe(face_editors),
        "editors": _dedupe(editors),
        "raw_developers": _dedupe(developers),
        "c2pa_present": bool(c2pa.get("present")),
        "c2pa_labels": list(c2pa.get("labels") or []),
        "camera_make": exif.get("make"),
        "camera_model": exif.get("model"),
        "camera_exif": bool(exif.get("make") or exif.get("model")),
        "exif_present": bool(exif.get("present")),
        "software": exif.get("software"),
        "datetime_original": exif.get("datetime_original"),
        "datetime_modified": exif.get("datetime"),
        "digital_source_type": dst or None,
    }


def _dedupe(items: list[dict[str, str]]) -> list[dict[str, str]]:
    seen, out = set(), []
    for it in items:
        if it["name"] not in seen:
            seen.add(it["name"])
            out.append(it)
    return out


@register_check(
    "metadata",
    title="Metadata red flags",
    description="generator/editor tags, C2PA presence, camera EXIF (presence only, never proof)",
    order=10,
)
def run(evidence: Any) -> Finding:
    """Metadata red flags as a Finding."""
    md = getattr(evidence, "metadata", None) or {}
    f = metadata_flags(md, getattr(evidence, "data", b"") or b"")
    caveats = [
        "Metadata is trivial to strip, edit or copy from another file: tags found are hints about the "
        "file's history, their absence means nothing."
    ]
    lines = []
    if f["generators"]:
        lines.append("image-generator tags: " + "; ".join(f"{g['name']} ({g['where']})" for g in f["generators"]))
    if f["face_editors"]:
        lines.append("face-retouching software: " + ", ".join(e["name"] for e in f["face_editors"]))
    if f["editors"]:
        lines.append("editing software: " + ", ".join(e["name"] for e in f["editors"]))
        caveats.append("Editors are used for harmless crops and colour corrections too.")
    if f["c2pa_present"]:
        lines.append("a C2PA manifest is present")
        caveats.append(
            "A C2PA manifest can declare AI generation or edits, but its claims and signature need a C2PA "
            "reader/validator to verify: this check only detects its presence."
        )
    if f["raw_developers"]:
        lines.append("RAW developer: " + ", ".join(e["name"] for e in f["raw_developers"]) + " (normal for photos)")
    if f["camera_exif"]:
        lines.append(f"camera EXIF: {f['camera_make'] or '?'} {f['camera_model'] or ''}".rstrip())
        caveats.append("Camera make/model can be copied into any file: it is not evidence of an original.")
    else:
        caveats.append(
            "No camera make/model in EXIF: weak at most (platforms and messengers strip EXIF); it never "
            "counts as support for manipulation by itself."
        )
    direction = SUPPORTS_MANIPULATION if (f["generators"] or f["face_editors"] or f["editors"]) else NEUTRAL
    if f["generators"]:
        summary = "Metadata names an image generator: " + "; ".join(g["name"] for g in f["generators"]) + "."
    elif f["face_editors"] or f["editors"]:
        names = [e["name"] for e in f["face_editors"] + f["editors"]]
        summary = "Metadata shows the file passed through editing software: " + ", ".join(names) + "."
    else:
        summary = "No generator or editor tags in the metadata" + (
            " (a C2PA manifest is present)." if f["c2pa_present"] else "."
        )
    measured = dict(f)
    measured["findings"] = lines
    return Finding(
        check="metadata",
        title="Metadata red flags",
        measured=measured,
        direction=direction,
        reliability="a generator tag is a strong hint when present (rarely faked) but trivially removed; editor "
        "tags are weak; camera EXIF proves nothing",
        caveats=tuple(caveats),
        images={},
        summary=summary,
    )


# ------------------------------------------------------------------------------------------------------ thumbnail
def _content_box(thumb: np.ndarray) -> tuple[int, int, int, int]:
    """Crop box (y0, y1, x0, x1) of a thumbnail without uniform dark letterbox/pillarbox bars."""
    g = to_luma(thumb)
    h, w = g.shape

    def bar(line: np.ndarray) -> bool:
        return float(line.mean()) < 24 and float(line.std()) < 4

    y0, y1, x0, x1 = 0, h, 0, w
    while y0 < h // 3 and bar(g[y0]):
        y0 += 1
    while y1 > 2 * h // 3 and bar(g[y1 - 1]):
        y1 -= 1
    while x0 < w // 3 and bar(g[:, x0]):
        x0 += 1
    while x1 > 2 * w // 3 and bar(g[:, x1 - 1]):
        x1 -= 1
    return y0, y1, x0, x1


def compare_thumbnail(image: np.ndarray, thumb: np.ndarray, *, block: int = 8) -> dict[str, Any]:
    """Compare a stored-orientation RGB image with its decoded thumbnail (luma, brightness/contrast matched).

    Returns ``correlation``, ``mean_abs_diff`` and ``max_block_diff`` (0..255 luma units, per ``block`` px of the
    thumbnail), aspect ratios, and ``diff_map`` (thumbnail-sized |difference|).
    """
    from PIL import Image

    y0, y1, x0, x1 = _content_box(thumb)
    t = thumb[y0:y1, x0:x1]
    th, tw = t.shape[:2]
    small = np.asarray(Image.fromarray(image).resize((tw, th), Image.Resampling.BOX))
    a, b = to_luma(small), to_luma(t)
    a = (a - a.mean()) / (a.std() + 1e-6)
    b = (b - b.mean()) / (b.std() + 1e-6)
    corr = float((a * b).mean())
    scale = to_luma(t).std()
    diff = np.abs(a - b) * scale  # back to the thumbnail's luma units
    bb = max(1, min(block, th, tw))
    blocks = block_view(diff, bb).mean(axis=(2, 3))
    return {
        "correlation": corr,
        "mean_abs_diff": float(diff.mean()),
        "max_block_diff": float(blocks.max()) if blocks.size else 0.0,
        "image_aspect": image.shape[1] / image.shape[0],
        "thumbnail_aspect": tw / th,
        "thumbnail_size": [int(thumb.shape[1]), int(thumb.shape[0])],
        "content_box": [int(x0), int(y0), int(x1), int(y1)],
        "diff_map": diff.astype(np.float32),
    }


THUMB_MIN_CORRELATION = 0.9
THUMB_MAX_BLOCK_DIFF = 30.0
THUMB_ASPECT_TOLERANCE = 0.03


@register_check(
    "thumbnail",
    title="EXIF thumbnail vs image",
    description="a stored preview that differs from the picture suggests an edit after capture",
    order=20,
)
def run_thumbnail(evidence: Any) -> Finding:
    """EXIF thumbnail comparison as a Finding."""
    title = "EXIF thumbnail vs image"
    data = getattr(evidence, "data", b"") or b""
    exif_md = (getattr(evidence, "metadata", None) or {}).get("exif") or {}
    # the loader already parsed IFD1: skip re-reading files it found without a thumbnail (PNG EXIF needs a decode)
    known_absent = exif_md.get("thumbnail_present") is False
    thumb_bytes = exif_thumbnail(data) if data and not known_absent else None
    if thumb_bytes is None:
        return Finding(
            check="thumbnail",
            title=title,
            measured={"thumbnail_present": False},
            direction=NEUTRAL,
            reliability="not applicable",
            caveats=(),
            images={},
            applicable=False,
            summary="Not applicable: the file carries no EXIF thumbnail (common; not evidence either way).",
        )
    from forensics.errors import BadImageError

    try:
        thumb = decode_rgb(thumb_bytes)
    except BadImageError:
        return Finding(
            check="thumbnail",
            title=title,
            measured={"thumbnail_present": True, "decodable": False},
            direction=NEUTRAL,
            reliability="not applicable",
            caveats=(),
            images={},
            applicable=False,
            summary="The EXIF thumbnail is present but cannot be decoded.",
        )
    stored = stored_rgb(evidence)[0] if is_jpeg(evidence) else decode_rgb(data)  # stored orientation, as the thumbnail
    c = compare_thumbnail(stored, thumb)
    aspect_off = abs(c["image_aspect"] / c["thumbnail_aspect"] - 1.0) > THUMB_ASPECT_TOLERANCE
    differs = c["correlation"] < THUMB_MIN_CORRELATION or c["max_block_diff"] > THUMB_MAX_BLOCK_DIFF
    measured = {k: v for k, v in c.items() if k != "diff_map"}
    measured.update({"thumbnail_present": True, "aspect_differs": aspect_off, "content_differs": differs})
    diff_map = np.clip(c["diff_map"] / 64.0, 0, 1).astype(np.float32)
    images = {"thumbnail": thumb, "thumbnail_difference": diff_map}
    caveats = [
        "Thumbnails are small (about 160x120): edits smaller than a few percent of the picture do not show.",
        "Some software rewrites the thumbnail on every save, so a matching thumbnail proves nothing.",
    ]
    if differs or aspect_off:
        what = []
        if differs:
            what.append(
                f"content differs (correlation {c['correlation']:.2f}, worst block {c['max_block_diff']:.0f} "
                "luma levels)"
            )
        if aspect_off:
            what.append(f"aspect ratio {c['image_aspect']:.3f} vs thumbnail {c['thumbnail_aspect']:.3f} (cropped)")
        summary = (
            "The EXIF thumbnail does not match the image: "
            + "; ".join(what)
            + ". The picture was changed after the thumbnail was written."
        )
        direction = SUPPORTS_MANIPULATION
    else:
        summary = (
            f"The EXIF thumbnail matches the image (correlation {c['correlation']:.3f}); weak, since "
            "software can regenerate thumbnails."
        )
        direction = NEUTRAL
    return Finding(
        check="thumbnail",
        title=title,
        measured=measured,
        direction=direction,
        reliability="moderate when the thumbnail differs (an edit after capture, or a crop); a match is weak",
        caveats=tuple(caveats),
        images=images,
        summary=summary,
        params={
            "min_correlation": THUMB_MIN_CORRELATION,
            "max_block_diff": THUMB_MAX_BLOCK_DIFF,
            "aspect_tolerance": THUMB_ASPECT_TOLERANCE,
        },
    )
