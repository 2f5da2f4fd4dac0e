"""The metadata of one evidence file, JSON-ready: EXIF (chosen tags and all tags), PNG text, XMP fields, whether a
C2PA manifest store is present, the ICC profile and, for JPEG, its quantisation tables, estimated quality, chroma
subsampling and bytes after the end-of-image marker. Read by ``forensics.evidence.load_evidence``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from forensics.evidence.jpeg_tables import estimate_quality, iter_jpeg_segments, iter_png_chunks, iter_riff_chunks

_EXIF_BASE = {
    271: "make",
    272: "model",
    305: "software",
    306: "datetime",
    274: "orientation",
    315: "artist",
    33432: "copyright",
    316: "host_computer",
    270: "image_description",
}
_EXIF_SUB = {
    36867: "datetime_original",
    36868: "datetime_digitized",
    36881: "offset_time_original",
    42035: "lens_make",
    42036: "lens_model",
    42033: "body_serial_number",
    37386: "focal_length",
    33434: "exposure_time",
    33437: "f_number",
    34855: "iso",
    40962: "pixel_x_dimension",
    40963: "pixel_y_dimension",
}
_SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}


def _jsonable(v: Any, limit: int = 500) -> Any:
    """Turn Pillow metadata values (bytes, IFDRational, tuples) into JSON-ready values."""
    if isinstance(v, bool) or v is None or isinstance(v, int | str):
        if isinstance(v, str):
            v = v.replace("\x00", "").strip()
            return v[:limit]
        return v
    if isinstance(v, float):
        return v if np.isfinite(v) else None
    if isinstance(v, bytes):
        text = v.rstrip(b"\x00")
        if text and all(32 <= b < 127 or b in (9, 10, 13) for b in text[:limit]):
            return text[:limit].decode("ascii")
        return f"<{len(v)} bytes>"
    if isinstance(v, (tuple, list)):
        return [_jsonable(x, limit) for x in v[:64]]
    if isinstance(v, dict):
        return {str(k): _jsonable(x, limit) for k, x in list(v.items())[:256]}
    try:
        f = float(v)  # IFDRational, numpy scalars
    except (TypeError, ValueError, ZeroDivisionError):
        return str(v)[:limit]
    return round(f, 6) if np.isfinite(f) else None


def read_metadata(img, data: bytes, fmt: str) -> dict[str, Any]:
    """The JSON-ready metadata of an opened image (Pillow) and its file bytes: EXIF, PNG text, XMP, C2PA presence,
    ICC profile and, for JPEG, its quantisation tables, estimated quality, subsampling and trailing bytes."""
    md: dict[str, Any] = {
        "format": fmt,
        "stored_mode": img.mode,
        "stored_size": list(img.size),
        "frames": int(getattr(img, "n_frames", 1) or 1),
        "dpi": _jsonable(img.info.get("dpi")),
        "exif": _exif(img, data),
        "png_text": {},
        "xmp": {},
        "c2pa": {},
        "icc_profile": _icc(img.info.get("icc_profile")),
        "jpeg": None,
    }
    if fmt == "PNG":
        if data[12:16] == b"IHDR" and len(data) >= 29:
            md["png"] = {"bit_depth": data[24], "colour_type": data[25], "interlaced": bool(data[28])}
        text = getattr(img, "text", None) or {}
        md["png_text"] = {str(k): _jsonable(v, limit=20000) for k, v in text.items() if k != "XML:com.adobe.xmp"}
    elif fmt in ("WEBP", "TIFF", "GIF"):
        comment = img.info.get("comment")
        if comment:
            md["comment"] = _jsonable(comment, limit=2000)
    md["xmp"] = _xmp(img, data)
    md["c2pa"] = _c2pa(data, fmt)
    if fmt in ("JPEG", "MPO"):
        md["jpeg"] = _jpeg(img, data)
    return md


def _exif(img, data: bytes) -> dict[str, Any]:
    from PIL import ExifTags

    try:
        exif = img.getexif()
    except (OSError, SyntaxError, ValueError, KeyError, TypeError) as exc:
        return {"present": False, "error": f"EXIF unreadable: {exc}"}
    out: dict[str, Any] = {"present": len(exif) > 0}
    for tag, key in _EXIF_BASE.items():
        if tag in exif:
            out[key] = _jsonable(exif[tag])
    all_tags: dict[str, Any] = {}
    for tag, val in exif.items():
        all_tags[ExifTags.TAGS.get(tag, str(tag))] = _jsonable(val, limit=200)
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
    except (OSError, SyntaxError, ValueError, KeyError, TypeError) as exc:
        out["error"] = f"EXIF sub-IFD unreadable: {exc}"
        sub, gps, ifd1 = {}, {}, {}
    for tag, key in _EXIF_SUB.items():
        if tag in sub:
            out[key] = _jsonable(sub[tag])
    for tag, val in sub.items():
        if tag == 37500:  # MakerNote: vendor blob
            all_tags["MakerNote"] = f"<{len(val) if hasattr(val, '__len__') else '?'} bytes>"
            continue
        all_tags[ExifTags.TAGS.get(tag, str(tag))] = _jsonable(val, limit=200)
    if sub:
        out["present"] = True
    out["gps_present"] = bool(gps)
    out["gps_tags"] = len(gps)
    thumb_len = ifd1.get(514) if ifd1 else None
    out["thumbnail_present"] = bool(ifd1) and (thumb_len is not None or 273 in ifd1)
    out["thumbnail_bytes"] = int(thumb_len) if thumb_len is not None else None
    out["tags"] = all_tags
    return out


_XMP_RE_CACHE: dict[str, re.Pattern[str]] = {}


def _xmp_values(xmp: str, qname: str) -> list[str]:
    """Values of ``qname`` written as an attribute (``a:b="v"``) or as a simple element (``<a:b>v</a:b>``)."""
    pat = _XMP_RE_CACHE.get(qname)
    if pat is None:
        q = re.escape(qname)
        pat = re.compile(rf'{q}\s*=\s*"([^"]*)"|{q}\s*=\s*\'([^\']*)\'|<{q}>([^<]*)</{q}>')
        _XMP_RE_CACHE[qname] = pat
    vals = []
    for m in pat.finditer(xmp):
        v = next((g for g in m.groups() if g is not None), "").strip()
        if v and v not in vals:
            vals.append(v[:300])
    return vals


def _xmp(img, data: bytes) -> dict[str, Any]:
    raw = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    if raw is None and fmt_has_png_xmp(img):
        raw = img.text.get("XML:com.adobe.xmp")
    text: str | None = None
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", errors="replace")
    elif isinstance(raw, str):
        text = raw
    if text is None:
        start = data.find(b"<x:xmpmeta")
        if start >= 0:
            end = data.find(b"</x:xmpmeta>", start)
            text = data[start : end + 12 if end > 0 else start + 65536].decode("utf-8", errors="replace")
    if not text:
        return {"present": False}
    agents = _xmp_values(text, "stEvt:softwareAgent")
    return {
        "present": True,
        "bytes": len(text.encode("utf-8")),
        "creator_tool": next(iter(_xmp_values(text, "xmp:CreatorTool")), None),
        "history_software": agents,
        "history_actions": _xmp_values(text, "stEvt:action"),
        "digital_source_type": next(iter(_xmp_values(text, "Iptc4xmpExt:DigitalSourceType")), None),
        "photoshop": bool(re.search(r"xmlns:photoshop=|photoshop:", text)),
    }


def fmt_has_png_xmp(img) -> bool:
    """True when ``img`` is a PNG whose text chunks hold an XMP packet."""
    return (img.format == "PNG") and "XML:com.adobe.xmp" in (getattr(img, "text", None) or {})


_C2PA_LABEL = re.compile(rb"c2pa\.[a-z0-9_.\-]{2,60}")


def _c2pa(data: bytes, fmt: str) -> dict[str, Any]:
    """Look for a C2PA manifest store (JUMBF boxes). Presence only: signatures are not validated here."""
    blobs: list[bytes] = []
    container = None
    if fmt in ("JPEG", "MPO"):
        for marker, _off, payload in iter_jpeg_segments(data):
            if marker == 0xEB and b"jumb" in payload[:64]:  # APP11 carrying JUMBF (ISO 19566-5)
                blobs.append(payload)
        container = "JPEG APP11 JUMBF"
    elif fmt == "PNG":
        blobs = [p for t, _o, p in iter_png_chunks(data) if t == b"caBX"]
        container = "PNG caBX chunk"
    elif fmt == "WEBP":
        blobs = [p for t, _o, p in iter_riff_chunks(data) if t == b"C2PA"]
        container = "WebP C2PA chunk"
    joined = b"".join(blobs)
    present = bool(blobs) and (b"c2pa" in joined or b"jumb" in joined)
    out: dict[str, Any] = {"present": present, "verified": False}
    if present:
        out["container"] = container
        out["bytes"] = len(joined)
        labels = sorted({m.decode("ascii") for m in _C2PA_LABEL.findall(joined)})
        out["labels"] = labels[:50]
        out["note"] = "manifest found; its signature and bindings were NOT validated (use a C2PA validator)"
    elif b"jumb" in data and b"c2pa" in data:
        out["present"] = True
        out["container"] = "unrecognised location (byte search)"
        out["note"] = "JUMBF/C2PA byte patterns found outside the usual container; inspect with a C2PA validator"
    return out


def _icc(icc: bytes | None) -> dict[str, Any] | None:
    if not icc:
        return None
    out: dict[str, Any] = {"bytes": len(icc), "description": None}
    if len(icc) >= 40:
        out["colour_space"] = icc[16:20].decode("ascii", errors="replace").strip()
        out["version"] = f"{icc[8]}.{icc[9] >> 4}"
    out["description"] = _icc_description(icc)
    return out


def _icc_description(icc: bytes) -> str | None:
    """Parse the ICC 'desc' tag (v2 textDescriptionType or v4 multiLocalizedUnicodeType) without a CMS."""
    if len(icc) < 132:
        return None
    count = int.from_bytes(icc[128:132], "big")
    for k in range(min(count, 200)):
        base = 132 + 12 * k
        if base + 12 > len(icc):
            return None
        sig = icc[base : base + 4]
        off = int.from_bytes(icc[base + 4 : base + 8], "big")
        size = int.from_bytes(icc[base + 8 : base + 12], "big")
        if sig != b"desc" or off + size > len(icc):
            continue
        tag = icc[off : off + size]
        if tag[:4] == b"desc" and len(tag) >= 12:
            n = int.from_bytes(tag[8:12], "big")
            return tag[12 : 12 + n].rstrip(b"\x00").decode("latin-1", errors="replace") or None
        if tag[:4] == b"mluc" and len(tag) >= 28:
            rec_len = int.from_bytes(tag[20:24], "big")
            rec_off = int.from_bytes(tag[24:28], "big")
            return tag[rec_off : rec_off + rec_len].decode("utf-16-be", errors="replace").rstrip("\x00") or None
    return None


def _jpeg(img, data: bytes) -> dict[str, Any]:
    from PIL import JpegImagePlugin

    q = getattr(img, "quantization", None) or {}
    tables = {int(k): [int(v) for v in t] for k, t in q.items()}
    est = estimate_quality(tables)
    try:
        sampling = JpegImagePlugin.get_sampling(img)
    except (AttributeError, TypeError, ValueError):
        sampling = -1
    layers = getattr(img, "layer", None) or []
    comments = [_jsonable(p, limit=1000) for m, _o, p in iter_jpeg_segments(data) if m == 0xFE]
    app = sorted({f"APP{m - 0xE0}" for m, _o, _p in iter_jpeg_segments(data) if 0xE0 <= m <= 0xEF})
    return {
        "quant_tables": {str(k): v for k, v in sorted(tables.items())},
        "estimated_quality": est["quality"],
        "quality_fit": est,
        "progressive": bool(img.info.get("progressive") or img.info.get("progression")),
        "subsampling": _SUBSAMPLING.get(sampling, "other" if layers else None),
        "components": [{"id": c[0], "h": c[1], "v": c[2], "table": c[3]} for c in layers],
        "app_segments": app,
        "adobe": "adobe" in img.info,
        "jfif": "jfif" in img.info,
        "comments": comments,
        "trailing_bytes": _trailing_after_eoi(data),
    }


def _trailing_after_eoi(data: bytes) -> int:
    """Bytes after the last end-of-image marker (appended data, MPF secondary images, ...)."""
    end = data.rfind(b"\xff\xd9")
    return 0 if end < 0 else len(data) - (end + 2)
