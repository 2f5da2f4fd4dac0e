"""The court-report PDF, drawn with fpdf2 from a bundle (and the pictures whose hashes it records).

Everything printed comes from the bundle, so the PDF and the JSON cannot disagree. The sections follow the ENFSI
guideline for evaluative reporting (docs/report.md), one writer each in ``SECTIONS`` (numbered when the PDF is drawn):
question and propositions, items received, examinations and methods with their validation, results per face, classic
checks, limitations, the examiner's conclusion, declaration and signature, integrity, glossary and an appendix of
settings; the results are drawn in results_pages.py. Sentences are plain language: what each section says is built in
sections.py (rows of label and text), its wording in wording.py, its numbers by forensics.wording.numbers (as the
dashboard prints them), and the drawing in layout.py. Fonts: fonts.py (DejaVu, and Noto Sans CJK when needed).

Example:
    >>> pdf_bytes = render_pdf(bundle, crops=analysis.crops, figures=figures)   # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import ForensicsError
from forensics.pipeline.results import Analysis
from forensics.report import sections as S
from forensics.report.bundle import Figure, array_sha256, sha256_hex, to_png
from forensics.report.layout import GREY, ReportLayout
from forensics.report.results_pages import classic_checks, results_per_face
from forensics.report.wording import GLOSSARY, court_text, declaration, settings_rows
from forensics.viz.overlay import colorize

REPORT_CMAP = "inferno"  # every [0, 1] map of the report: dark at 0 on white paper, bright at 1, as on screen
FONT_DIR: Path | None = None  # None: forensics.report.fonts.FONT_DIR (tests point it elsewhere)


def _size_text(size: int) -> str:
    """``1.2 MiB (1 234 567 bytes)``."""
    n = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{n:.1f} {unit} ({size:,} bytes)".replace(",", " ")
        n /= 1024
    return f"{size} bytes"


def metadata_summary(evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Short (label, value) lines from the evidence metadata: camera, software, dates, ICC, XMP, C2PA, JPEG."""
    md = evidence.get("metadata") or {}
    exif = md.get("exif") or {}
    flat: dict[str, Any] = {}
    for k, v in exif.items():
        if isinstance(v, Mapping):
            for k2, v2 in v.items():
                flat.setdefault(str(k2), v2)
        else:
            flat.setdefault(str(k), v)
    out: list[tuple[str, str]] = []
    cam = " ".join(str(flat[k]) for k in ("Make", "Model") if flat.get(k))
    out.append(("Camera (EXIF)", cam or "none recorded"))
    for label, key in (
        ("Software (EXIF)", "Software"),
        ("Date taken (EXIF)", "DateTimeOriginal"),
        ("Date modified (EXIF)", "DateTime"),
    ):
        if flat.get(key):
            out.append((label, str(flat[key])[:120]))
    if not exif:
        out.append(("EXIF", "none"))
    icc = md.get("icc_profile")
    out.append(
        (
            "ICC profile",
            (icc.get("description") or "present") if isinstance(icc, Mapping) else ("present" if icc else "none"),
        )
    )
    xmp = md.get("xmp") or {}
    if xmp:
        tool = xmp.get("CreatorTool") or xmp.get("creator_tool")
        out.append(("XMP", f"present{'; creator tool ' + str(tool) if tool else ''}"))
    c2pa = md.get("c2pa") or {}
    out.append(("C2PA / content credentials", "present" if c2pa and c2pa.get("present", True) else "none found"))
    jpeg = md.get("jpeg")
    if isinstance(jpeg, Mapping):
        q = jpeg.get("estimated_quality")
        out.append(
            (
                "JPEG",
                f"estimated quality {'n/a' if q is None else q}; "
                f"chroma subsampling {jpeg.get('subsampling') or 'n/a'}; "
                f"{'progressive' if jpeg.get('progressive') else 'baseline'}; "
                f"{jpeg.get('trailing_bytes', 0)} bytes after end of image",
            )
        )
    if md.get("png_text"):
        out.append(("PNG text chunks", ", ".join(sorted(md["png_text"]))[:150]))
    notes = evidence.get("notes") or []
    if notes:
        out.append(("Decoding notes", "; ".join(notes)[:300]))
    return out


def pdf_image(arr: np.ndarray) -> np.ndarray:
    """uint8 RGB for the PDF: uint8 images pass, float maps in [0,1] are coloured, others min-max scaled."""
    a = np.asarray(arr)
    if a.dtype == np.uint8:
        return a
    a = a.astype(np.float32)
    if a.ndim == 2:
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        if lo < 0 or hi > 1:
            a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        return colorize(a, REPORT_CMAP)
    return np.clip(a * (255 if a.max() <= 1 else 1), 0, 255).astype(np.uint8)


def _figure_pngs(figures: Sequence[Figure], bundle: Mapping[str, Any]) -> dict[str, bytes]:
    """PNG bytes by figure id, each checked against the hash the bundle recorded."""
    recorded = {f["id"]: f["sha256"] for f in bundle.get("figures", [])}
    out: dict[str, bytes] = {}
    for fig in figures:
        png = to_png(fig.image)
        if fig.id not in recorded:
            raise ForensicsError(f"figure {fig.id!r} is not in the bundle: build the bundle with the same figures")
        if sha256_hex(png) != recorded[fig.id]:
            raise ForensicsError(f"figure {fig.id!r} differs from the one recorded in the bundle")
        out[fig.id] = png
    missing = set(recorded) - set(out)
    if missing:
        raise ForensicsError(f"figures recorded in the bundle but not given to the renderer: {sorted(missing)}")
    return out


def render_pdf(bundle: Mapping[str, Any], *, crops: Sequence[np.ndarray] = (), figures: Sequence[Figure] = ()) -> bytes:
    """Draw the report PDF for a bundle made by ``build_bundle`` with the same crops and figures."""
    b = bundle
    if not b.get("bundle_sha256"):
        raise ForensicsError("bundle has no bundle_sha256: build it with forensics.report.build_bundle")
    pngs = _figure_pngs(figures, b)
    crop_rec = {c["face"]: c["sha256"] for c in b.get("crops", [])}
    crop_png: dict[int, bytes] = {}
    for i, c in enumerate(crops):
        if crop_rec.get(i) != array_sha256(np.asarray(c)):
            raise ForensicsError(f"face crop {i} differs from the one recorded in the bundle")
        crop_png[i] = to_png(np.asarray(c))

    # every character the bundle holds decides which fonts are loaded (CJK fallback, shaping)
    r = ReportLayout(b, json.dumps(b, ensure_ascii=False), FONT_DIR)
    numbers = {sec.key: n for n, sec in enumerate((s for s in SECTIONS if s.numbered), 1)}
    ctx = Context(b, S.analysis_of(b), pngs, crop_png, numbers)
    r.pdf.add_page()
    _title(r, ctx)
    for sec in SECTIONS:
        if sec.keep_mm:
            r.ensure(sec.keep_mm)  # the section's heading and its first block stay together on one page
        r.heading(f"{numbers[sec.key]}. {sec.title}" if sec.numbered else sec.title)
        sec.write(r, ctx)
    return bytes(r.pdf.output())


@dataclass(frozen=True)
class Context:
    """What the section writers draw from: the bundle, its typed analysis, the pictures, and the section numbers
    (given at render time from ``SECTIONS``; ``ref`` quotes one)."""

    bundle: Mapping[str, Any]
    analysis: Analysis
    pngs: Mapping[str, bytes]
    crop_png: Mapping[int, bytes]
    numbers: Mapping[str, int]

    def ref(self, key: str) -> str:
        return f"section {self.numbers[key]}"


@dataclass(frozen=True)
class Section:
    """One section of the report: its heading (numbered in ``SECTIONS`` order when ``numbered``) and the writer
    that draws its body; ``keep_mm`` keeps that much of it on the heading's page."""

    key: str
    title: str
    write: Callable[[ReportLayout, Context], None]
    numbered: bool = True
    keep_mm: float = 0.0


def _title(r: ReportLayout, ctx: Context) -> None:
    b, an = ctx.bundle, ctx.analysis
    pdf, case = r.pdf, b["case"]
    r._font("B", 16)
    pdf.set_text_color(20, 40, 90)
    pdf.multi_cell(0, 8, r._t("Forensic examination of a face image"), new_x="LMARGIN", new_y="NEXT")
    r._font("", 10)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(
        0,
        5,
        r._t("Expert report on image authenticity (face manipulation and generation)"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)
    r.kv("Case", case["case_id"])
    r.kv("Examiner", case["examiner"])
    r.kv("Case opened (UTC)", _when(case["created_utc"]))
    r.kv("Report generated (UTC)", _when(b["generated_utc"]))
    r.heading("Summary of the automated findings", level=2)
    for line in S.summary_lines(an):
        r.bullet(line)
    r.para(
        f"These are the software's findings, detailed in {ctx.ref('results')}. The examiner's own conclusion is "
        f"{ctx.ref('conclusion')}.",
        size=8.5,
        colour=GREY,
    )


def _when(iso: str) -> str:
    return str(iso).replace("T", " ").replace("Z", "")


def _question(r: ReportLayout, ctx: Context) -> None:
    b = ctx.bundle
    r.para(b["case"]["question"])
    r.pdf.ln(1)
    r.kv("Proposition Hp", b["propositions"]["Hp"])
    r.kv("Proposition Hd", b["propositions"]["Hd"])
    r.para(
        "For each face the findings are weighed under both propositions. The result is a likelihood ratio: how many "
        "times more probable the detector's score is under one proposition than under the other, with the words of "
        "the ENFSI verbal scale. It is not the probability that either proposition is true (see the glossary).",
        size=8.5,
        colour=GREY,
    )


def _items(r: ReportLayout, ctx: Context) -> None:
    b, pngs = ctx.bundle, ctx.pngs
    ev = b["evidence"]
    r.kv("File name", ev["name"])
    r.kv("Size", _size_text(int(ev["size"])))
    r.kv("SHA-256 at intake", ev["sha256"], mono=True)
    r.kv("MD5 at intake", ev["md5"], mono=True)
    r.kv(
        "Format, dimensions",
        f"{ev.get('format')}, {ev['width']} x {ev['height']} pixels"
        + (f", colour mode {ev['mode']}" if ev.get("mode") else ""),
    )
    for label, value in metadata_summary(ev):
        r.kv(label, value)
    if b["case"].get("notes"):
        r.kv("Examiner's notes", b["case"]["notes"])
    r.para(
        "The file was read and never modified; every result below refers to the file with these fingerprints.",
        size=8.5,
        colour=GREY,
    )
    over = [fm for fm in b.get("figures", []) if fm["section"] == "overview"]
    if over:
        max_h = 64.0  # fits under the items received on page 1 for a square photo
        h = min(min(r.width, 1.3 * max_h) * over[0]["height"] / max(over[0]["width"], 1), max_h)
        r.ensure(h + 14)  # the title and the picture stay together
        r.subhead("Overview of the evidence with the faces found")
        r.figure_row([(pngs[over[0]["id"]], court_text(over[0]["caption"]) or over[0]["caption"])], max_h=max_h)
    else:
        r.para("No overview image was recorded with this report.", size=8.5, colour=GREY)


def _methods(r: ReportLayout, ctx: Context) -> None:
    b, an = ctx.bundle, ctx.analysis
    ro = b.get("report_options") or {}
    steps = ["Faces were located in the image and each was cut out, aligned and resized (settings in the appendix)."]
    steps.append(
        "Each face was scored by the detector(s) below, trained to tell camera originals from manipulated "
        "(face swap, re-enactment, editing) and fully generated faces. A calibration measured on validation "
        "faces turns the score into a verdict, an inconclusive band and a likelihood ratio."
    )
    if ro.get("explainers"):
        steps.append(
            "Explanation maps show which pixels raised the score; their agreement and faithfulness were "
            "measured, and their relevance was shared out over face regions."
        )
    if b.get("checks") is not None:
        steps.append(
            "Classic image-forensic checks (metadata, compression, noise, copy-move, spectrum) ran on the whole file."
        )
    for s in steps:
        r.bullet(s)
    for name, m in an.models.items():
        card = m.get("card") or {}
        r.heading(f"Detector {name}", level=2)
        r.kv("Architecture", court_text(m.get("architecture")) or m.get("architecture"))
        if card.get("intended_use"):
            r.kv("Intended use", court_text(card["intended_use"]))
        if card.get("training_data"):
            r.kv("Training data", S.training_words(card))
        r.kv(
            "Trained weights",
            "yes, fingerprint below" if m.get("weights_sha256") else "none: random initialisation, no verdict possible",
        )
        if m.get("weights_sha256"):
            r.kv("Weights SHA-256", m["weights_sha256"], mono=True)
        if m.get("state_sha256"):
            r.kv("Model state SHA-256", m["state_sha256"], mono=True)
        r.subhead("Validation of the method")
        r.rows(S.validation_rows(m))
        lso = S.leave_source_out(card)
        if lso is None:
            r.para(
                "The model card of this detector holds no leave-source-out figures, so its behaviour on image "
                "sources absent from training is not measured here (see its known failure modes).",
                size=8.5,
                colour=GREY,
            )
        else:
            protocol, rows = lso
            r.subhead("Leave-source-out test: sources never seen in training")
            r.para(protocol, size=8.5)
            r.table(S.LSO_HEADER, rows, (34, 22, 22, 38, 38, 26))
        modes = S.failure_modes(card)
        if modes:
            r.subhead("Known failure modes (from the model card)")
            for text in modes:
                r.bullet(text, size=8.5)


def _conclusion(r: ReportLayout, ctx: Context) -> None:
    text = (ctx.bundle["case"].get("conclusion") or "").strip()
    if text:
        r.para("Written by the examiner, apart from the automated findings above:", size=8.5, colour=GREY)
        r.para(text)
    else:
        r.para(
            "The examiner has not written a conclusion for this report. The automated findings above are not a "
            "conclusion of the examiner.",
            colour=GREY,
        )


def _declaration(r: ReportLayout, ctx: Context) -> None:
    for text in declaration(ctx.ref):
        r.para(text, size=9)
    r.pdf.ln(3)
    for row in S.signature_rows(ctx.bundle):
        y = r.pdf.get_y()
        r.kv(row.label, row.text)
        if not row.text:  # a line to write on
            r.pdf.set_draw_color(*GREY)
            r.pdf.line(r.pdf.l_margin + 46, y + 4.5, r.pdf.l_margin + 130, y + 4.5)
            r.pdf.set_y(y + 7)


def _appendix(r: ReportLayout, ctx: Context) -> None:
    b = ctx.bundle
    r.para(
        "Every setting in words; the JSON bundle records them in machine-readable form. Faces are numbered from 1 "
        "here; the bundle counts them from 0.",
        size=8.5,
        colour=GREY,
    )
    r.table(("Setting", "Value"), settings_rows(b), (60, 120))
    notes = list(r.fonts.notes)
    missing = r.fonts.missing_note()
    if missing:
        notes.append(missing)
    for n in notes:
        r.para(n, size=8.5, colour=GREY)


def _results(r: ReportLayout, ctx: Context) -> None:
    results_per_face(r, ctx.bundle, ctx.analysis, ctx.crop_png, ctx.pngs)


def _checks(r: ReportLayout, ctx: Context) -> None:
    classic_checks(r, ctx.bundle, ctx.pngs)


def _limitations(r: ReportLayout, ctx: Context) -> None:
    for text in S.applicable_limitations(ctx.bundle, ctx.analysis):
        r.bullet(text)


def _integrity(r: ReportLayout, ctx: Context) -> None:
    r.para(
        "The JSON bundle written with this report holds every number shown here, with the settings, the model "
        "fingerprints and the software versions. Its SHA-256 fingerprint is computed over its canonical form "
        "(sorted keys, no spaces), leaving out only the fingerprint itself and the seal. The bundle and its seal "
        "(this PDF's own fingerprint and the signature) are attached to this PDF as report-bundle.json. The "
        "software can repeat the whole examination from the evidence file and this PDF (or the bundle) and "
        "compare every number and fingerprint.",
        size=9,
    )
    r.rows(S.integrity_rows(ctx.bundle))


def _glossary(r: ReportLayout, ctx: Context) -> None:
    for term, meaning in GLOSSARY:
        r.kv(term, meaning, label_w=42, size=8.5)


# The report, in the ENFSI order; numbers are given when it is drawn, so a section is added here and nowhere else.
SECTIONS: tuple[Section, ...] = (
    Section("question", "The question and the propositions", _question),
    Section("items", "Items received", _items),
    Section("methods", "Examinations and methods", _methods),
    Section("results", "Results per face", _results),
    Section("checks", "Classic image-forensic checks, summarised", _checks),
    Section("limitations", "Limitations that apply to this evidence", _limitations),
    Section("conclusion", "Examiner's conclusion", _conclusion),
    Section("declaration", "Declaration and signature", _declaration, keep_mm=80),
    Section("integrity", "Integrity and verification", _integrity, keep_mm=76),
    Section("glossary", "Glossary", _glossary),
    Section("appendix", "Appendix: settings of this examination", _appendix, numbered=False),
)
