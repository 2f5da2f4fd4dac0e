"""The court-report PDF, drawn with fpdf2 from a bundle (and the pictures whose hashes it records).

Everything printed comes from the bundle, so the PDF and the JSON cannot disagree. Fonts: DejaVu (Debian's
fonts-dejavu-core) when present, else the PDF core fonts with text reduced to Latin-1.

Example:
    >>> pdf_bytes = render_pdf(bundle, crops=analysis.crops, figures=figures)   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from forensics.domain import face_caveats
from forensics.errors import ForensicsError
from forensics.report.bundle import Figure, array_sha256, sha256_hex, to_png
from forensics.viz.overlay import colorize

REPORT_CMAP = "ember"  # colour map of every [0, 1] map drawn in the report (forensics.viz.overlay)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_FONTS = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}  # no italic: each TTF costs ~0.1 s to parse
_MONO = "DejaVuSansMono.ttf"
GREY = (90, 90, 90)
VERDICT_COLOURS = {"manipulated or generated": (170, 30, 30), "camera original": (20, 110, 50),
                   "inconclusive": (150, 110, 0)}
DIRECTION_COLOURS = {"supports manipulation": (170, 30, 30), "supports an original": (20, 110, 50),
                     "neutral": (90, 90, 90)}


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "n/a"
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}g}"
    return str(v)


def _size_text(size: int) -> str:
    """``1.2 MiB (1 234 567 bytes)``."""
    n = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{n:.1f} {unit} ({size:,} bytes)".replace(",", " ")
        n /= 1024
    return f"{size} bytes"


def _error_rates_text(model: Mapping[str, Any]) -> str:
    cal = model.get("calibration") or {}
    er = cal.get("error_rates") or {}
    if not er:
        return "not measured (no calibration on validation data)"
    parts = []
    if "false_positive_rate" in er:
        parts.append(f"false positives {_fmt(er.get('false_positive_rate'), 3)} "
                     f"({er.get('false_positives', '?')} of {er.get('n_real', '?')} real faces)")
    if "false_negative_rate" in er:
        parts.append(f"false negatives {_fmt(er.get('false_negative_rate'), 3)} "
                     f"({er.get('false_negatives', '?')} of {er.get('n_fake', '?')} fake faces)")
    if "inconclusive_real" in er:
        parts.append(f"inconclusive {_fmt(er.get('inconclusive_real'), 3)} of reals, "
                     f"{_fmt(er.get('inconclusive_fake'), 3)} of fakes")
    for name, r in (er.get("conditions") or {}).items():
        parts.append(f"after re-sampling the validation files to {name}: false positives {r.get('false_positives')} "
                     f"of {r.get('n_real')}, false negatives {r.get('false_negatives')} of {r.get('n_fake')}")
    where = cal.get("fitted_on")
    return "; ".join(parts) + (f"; measured on {where}" if where else "")


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
    for label, key in (("Software (EXIF)", "Software"), ("Date taken (EXIF)", "DateTimeOriginal"),
                       ("Date modified (EXIF)", "DateTime")):
        if flat.get(key):
            out.append((label, str(flat[key])[:120]))
    if not exif:
        out.append(("EXIF", "none"))
    icc = md.get("icc_profile")
    out.append(("ICC profile", (icc.get("description") or "present") if isinstance(icc, Mapping) else
                ("present" if icc else "none")))
    xmp = md.get("xmp") or {}
    if xmp:
        tool = xmp.get("CreatorTool") or xmp.get("creator_tool")
        out.append(("XMP", f"present{'; creator tool ' + str(tool) if tool else ''}"))
    c2pa = md.get("c2pa") or {}
    out.append(("C2PA / content credentials", "present" if c2pa and c2pa.get("present", True) else "none found"))
    jpeg = md.get("jpeg")
    if isinstance(jpeg, Mapping):
        q = jpeg.get("estimated_quality")
        out.append(("JPEG", f"estimated quality {_fmt(q)}; subsampling {jpeg.get('subsampling') or 'n/a'}; "
                            f"{'progressive' if jpeg.get('progressive') else 'baseline'}; "
                            f"{jpeg.get('trailing_bytes', 0)} bytes after end of image"))
    if md.get("png_text"):
        out.append(("PNG text chunks", ", ".join(sorted(md["png_text"]))[:150]))
    notes = evidence.get("notes") or []
    if notes:
        out.append(("Decoding notes", "; ".join(notes)[:300]))
    return out


def display_image(arr: np.ndarray) -> np.ndarray:
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


class _ReportPDF:
    """Thin wrapper that owns the FPDF object and the layout helpers."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        from fpdf import FPDF

        b = bundle
        case = b["case"]
        outer = self

        class PDF(FPDF):
            def header(self) -> None:  # noqa: D401 - fpdf hook
                if self.page_no() == 1:
                    return
                outer._font("", 7.5)
                self.set_text_color(*GREY)
                self.cell(0, 4, outer._t(f"Case {case['case_id']} - forensic examination of {b['evidence']['name']}"),
                          new_x="LMARGIN", new_y="NEXT")
                self.set_text_color(0, 0, 0)
                self.ln(2)

            def footer(self) -> None:  # noqa: D401 - fpdf hook
                self.set_y(-12)
                outer._font("", 7.5)
                self.set_text_color(*GREY)
                self.cell(0, 5, outer._t(f"Case {case['case_id']}  |  examiner {case['examiner']}"), align="L")
                self.set_x(self.l_margin)
                self.cell(0, 5, f"page {self.page_no()} of {{nb}}", align="R")
                self.set_text_color(0, 0, 0)

        self.pdf = PDF(orientation="P", unit="mm", format="A4")
        self.pdf.set_margins(15, 14, 15)
        self.pdf.set_auto_page_break(True, margin=16)
        self.unicode = all((FONT_DIR / f).is_file() for f in (*_FONTS.values(), _MONO))
        if self.unicode:
            for style, f in _FONTS.items():
                self.pdf.add_font("DejaVu", style, str(FONT_DIR / f))
            self.pdf.add_font("DejaVuMono", "", str(FONT_DIR / _MONO))
        self.pdf.set_title(f"Forensic image examination - case {case['case_id']}")
        self.pdf.set_author(case["examiner"])
        self.pdf.set_creator("forensics (face-forensics workbench)")
        self.pdf.set_subject(f"bundle sha256 {b['bundle_sha256']}")
        try:
            created = _dt.datetime.fromisoformat(b["generated_utc"].replace("Z", "+00:00"))
            self.pdf.set_creation_date(created)
        except ValueError:
            pass

    # --- text helpers ---------------------------------------------------------------------------------------------
    def _t(self, s: Any) -> str:
        s = str(s)
        if self.unicode:
            return s
        s = s.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'").replace("\u201c", '"')
        return s.replace("\u201d", '"').encode("latin-1", "replace").decode("latin-1")

    def _font(self, style: str = "", size: float = 9.5, mono: bool = False) -> None:
        if self.unicode:
            self.pdf.set_font("DejaVuMono" if mono else "DejaVu", "" if mono else style, size)
        else:
            self.pdf.set_font("Courier" if mono else "Helvetica", style, size)

    @property
    def width(self) -> float:
        return self.pdf.w - self.pdf.l_margin - self.pdf.r_margin

    def ensure(self, h: float) -> None:
        """Start a new page unless ``h`` mm still fit."""
        if self.pdf.get_y() + h > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def heading(self, text: str, level: int = 1) -> None:
        self.ensure(22 if level == 1 else 14)
        self.pdf.ln(3 if level == 1 else 1.5)
        self._font("B", 12.5 if level == 1 else 10.5)
        self.pdf.set_text_color(20, 40, 90)
        self.pdf.multi_cell(0, 6.5 if level == 1 else 5.5, self._t(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_text_color(0, 0, 0)
        if level == 1:
            y = self.pdf.get_y()
            self.pdf.set_draw_color(20, 40, 90)
            self.pdf.line(self.pdf.l_margin, y, self.pdf.w - self.pdf.r_margin, y)
            self.pdf.ln(1.5)

    def para(self, text: str, size: float = 9.5, style: str = "", colour: tuple[int, int, int] | None = None) -> None:
        self._font(style, size)
        if colour:
            self.pdf.set_text_color(*colour)
        self.pdf.multi_cell(0, size * 0.48, self._t(text), new_x="LMARGIN", new_y="NEXT", align="L")
        self.pdf.set_text_color(0, 0, 0)

    def bullet(self, text: str, size: float = 9.0) -> None:
        self._font("", size)
        x = self.pdf.l_margin
        self.pdf.set_x(x)
        self.pdf.cell(5, size * 0.48, "-" if not self.unicode else "\u2022")
        self.pdf.multi_cell(self.width - 5, size * 0.48, self._t(text), new_x="LMARGIN", new_y="NEXT", align="L")

    def kv(self, label: str, value: Any, *, mono: bool = False, label_w: float = 46, size: float = 9.0,
           colour: tuple[int, int, int] | None = None, x0: float | None = None, w: float | None = None) -> None:
        """A label/value row; both columns wrap and the row is as tall as the taller one."""
        x = self.pdf.l_margin if x0 is None else x0
        total = self.width if w is None else w
        lh = size * 0.47
        self._font("", size, mono=mono)
        n_val = self._n_lines(self._t(value), total - label_w, lh)
        self._font("B", size)
        n_lab = self._n_lines(self._t(label), label_w - 1, lh)
        self.ensure(max(n_val, n_lab) * lh + 0.8)
        y = self.pdf.get_y()
        self.pdf.set_xy(x, y)
        self.pdf.set_text_color(*GREY)
        self.pdf.multi_cell(label_w - 1, lh, self._t(label), new_x="RIGHT", new_y="TOP", align="L")
        self.pdf.set_text_color(*(colour or (0, 0, 0)))
        self._font("", size, mono=mono)
        self.pdf.set_xy(x + label_w, y)
        self.pdf.multi_cell(total - label_w, lh, self._t(value), new_x="LMARGIN", new_y="NEXT", align="L")
        self.pdf.set_text_color(0, 0, 0)
        self.pdf.set_y(y + max(n_val, n_lab, 1) * lh + 0.6)

    def _n_lines(self, text: str, w: float, lh: float) -> int:
        """Lines ``text`` takes in a multi_cell of width ``w`` with the current font (short text: no dry run)."""
        if "\n" not in text and self.pdf.get_string_width(text) < w - 2 * self.pdf.c_margin - 0.5:
            return 1
        return len(self.pdf.multi_cell(w, lh, text, dry_run=True, output="LINES"))

    def subhead(self, text: str, x0: float | None = None, size: float = 9.5) -> None:
        self._font("B", size)
        self.ensure(size * 0.5 + 1)
        self.pdf.set_x(self.pdf.l_margin if x0 is None else x0)
        self.pdf.set_text_color(20, 40, 90)
        self.pdf.cell(0, size * 0.5, self._t(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_text_color(0, 0, 0)
        self.pdf.ln(0.6)

    def image(self, png: bytes, x: float, y: float, w: float, h: float | None = None) -> float:
        """Place a PNG with width ``w`` (mm); returns the drawn height."""
        pw, ph = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        hh = h if h is not None else w * ph / max(pw, 1)
        if h is not None and pw / max(ph, 1) > w / h:  # wider than the box: fit the width
            hh = w * ph / max(pw, 1)
        ww = hh * pw / max(ph, 1)
        self.pdf.image(io.BytesIO(png), x=x, y=y, w=ww, h=hh)
        return hh

    def figure_row(self, figs: Sequence[tuple[bytes, str]], *, max_h: float = 62) -> None:
        """Up to three pictures side by side, captions underneath."""
        n = max(1, len(figs))
        gap = 4
        w = min((self.width - gap * (n - 1)) / n, max_h * 1.3)
        heights = []
        for png, _c in figs:
            pw, ph = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
            heights.append(min(w * ph / max(pw, 1), max_h))
        self._font("", 7.5)
        cap_lines = max(len(self.pdf.multi_cell(w, 3.4, self._t(c), dry_run=True, output="LINES")) for _p, c in figs)
        self.ensure(max(heights) + cap_lines * 3.4 + 4)
        y = self.pdf.get_y()
        for i, (png, cap) in enumerate(figs):
            x = self.pdf.l_margin + i * (w + gap)
            self.image(png, x, y, w, heights[i])
            self.pdf.set_xy(x, y + max(heights) + 1)
            self._font("", 7.5)
            self.pdf.set_text_color(*GREY)
            self.pdf.multi_cell(w, 3.4, self._t(cap), new_x="RIGHT", new_y="TOP", align="L")
            self.pdf.set_text_color(0, 0, 0)
        self.pdf.set_xy(self.pdf.l_margin, y + max(heights) + cap_lines * 3.4 + 3)

    def bars(self, title: str, shares: Mapping[str, Any], note: str = "",
             extra: Mapping[str, str] | None = None) -> None:
        """Horizontal bars of region shares (0..1), drawn as PDF rectangles."""
        items = [(k, v) for k, v in shares.items() if isinstance(v, (int, float))]
        items.sort(key=lambda kv: -kv[1])
        row = 4.2
        self.ensure(8 + row * len(items) + 6)
        self.pdf.ln(1.5)
        self._font("B", 8.5)
        self.pdf.multi_cell(0, 4, self._t(title), new_x="LMARGIN", new_y="NEXT")
        label_w, bar_w = 24, 80
        x0 = self.pdf.l_margin
        for name, v in items:
            y = self.pdf.get_y()
            self._font("", 8)
            self.pdf.set_xy(x0, y)
            self.pdf.cell(label_w, row, self._t(name))
            self.pdf.set_fill_color(225, 225, 232)
            self.pdf.rect(x0 + label_w, y + 0.7, bar_w, row - 1.4, style="F")
            frac = min(max(float(v), 0.0), 1.0)
            if frac > 0:
                self.pdf.set_fill_color(40, 70, 150)
                self.pdf.rect(x0 + label_w, y + 0.7, bar_w * frac, row - 1.4, style="F")
            self.pdf.set_xy(x0 + label_w + bar_w + 2, y)
            self.pdf.cell(16, row, f"{100 * float(v):.1f} %", align="R")
            if extra and extra.get(name):
                self.pdf.set_text_color(*GREY)
                self.pdf.cell(0, row, self._t("   " + extra[name]))
                self.pdf.set_text_color(0, 0, 0)
            self.pdf.set_xy(x0, y + row)
        if note:
            self._font("", 7.5)
            self.pdf.set_text_color(*GREY)
            self.pdf.multi_cell(0, 3.4, self._t(note), new_x="LMARGIN", new_y="NEXT")
            self.pdf.set_text_color(0, 0, 0)
        self.pdf.ln(2)


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

    r = _ReportPDF(b)
    pdf = r.pdf
    case, ev, an = b["case"], b["evidence"], b["analysis"]
    models = an.get("models", {})
    faces = an.get("faces", [])
    not_run = b.get("not_run", {})
    pdf.add_page()

    # --- title -------------------------------------------------------------------------------------------------
    r._font("B", 16)
    pdf.set_text_color(20, 40, 90)
    pdf.multi_cell(0, 8, r._t("Forensic examination of a face image"), new_x="LMARGIN", new_y="NEXT")
    r._font("", 10)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(0, 5, r._t("Expert report on image authenticity (face manipulation and generation)"),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)
    r.kv("Case", case["case_id"])
    r.kv("Examiner", case["examiner"])
    r.kv("Case opened (UTC)", case["created_utc"].replace("T", " "))
    r.kv("Report generated (UTC)", b["generated_utc"].replace("T", " "))

    # --- question and propositions -------------------------------------------------------------------------------
    r.heading("1. Question examined and propositions")
    r.para(case["question"])
    pdf.ln(1)
    r.kv("Hp (prosecution-type)", b["propositions"]["Hp"])
    r.kv("Hd (defence-type)", b["propositions"]["Hd"])
    r.para("Results are stated as likelihood ratios, LR = P(detector score | Hp) / P(detector score | Hd), with the "
           "ENFSI verbal scale. They are not probabilities that a proposition is true.", size=8.5, colour=GREY)

    # --- evidence -------------------------------------------------------------------------------------------------
    r.heading("2. Evidence received")
    r.kv("File name", ev["name"])
    r.kv("Size", _size_text(int(ev["size"])))
    r.kv("SHA-256 at intake", ev["sha256"], mono=True)
    r.kv("MD5 at intake", ev["md5"], mono=True)
    r.kv("Format, dimensions", f"{ev.get('format')}, {ev['width']} x {ev['height']} pixels"
         + (f", mode {ev['mode']}" if ev.get("mode") else ""))
    for label, value in metadata_summary(ev):
        r.kv(label, value)
    r.para("The file was read, never modified; all results below refer to the file with these hashes.", size=8.5,
           colour=GREY)

    # --- summary of results ---------------------------------------------------------------------------------------
    r.heading("3. Summary of results")
    if not faces:
        r.para(f"No face was analysed: {an.get('no_face_reason') or 'no face found'}.", style="B")
    for f in faces:
        for det, s in f["scores"].items():
            a = s.get("assessment")
            if a:
                band = " (inconclusive band)" if a.get("inconclusive") else ""
                text = (f"Face {f['index']}, {det}: {a['verdict']}{band}; LR {_fmt(a['likelihood_ratio'], 3)}"
                        f" - {a['verbal']}" + (f" for: {a['supports']}" if a.get("supports") else "") + "."
                        + (" Unstable: the verdict changes when the file is re-compressed or re-scaled."
                           if (s.get("stability") or {}).get("unstable") else ""))
                r.bullet(text)
            elif s.get("withheld"):
                w = s["withheld"]
                r.bullet(f"Face {f['index']}, {det}: {w['verdict']}, because " + "; ".join(w["reasons"])
                         + f" (calibrated score p_fake {_fmt(s.get('p_fake'))}, shown for completeness only).")
            else:
                why = "the detector has no trained weights" if not s.get("ready") else "the detector is not calibrated"
                r.bullet(f"Face {f['index']}, {det}: no verdict, because {why} "
                         f"(uncalibrated score p_fake {_fmt(s.get('p_fake'))}, shown for completeness only).")
    for sk in an.get("skipped_faces", []):
        r.bullet(f"Face region {[round(v) for v in sk.get('box', [])]} not analysed: {sk.get('reason')}.")
    for sentence in (an.get("coverage") or {}).get("sentences") or ():
        r.bullet(sentence)

    # --- methods -------------------------------------------------------------------------------------------------
    r.heading("4. Methods, software and models")
    opts = an.get("options", {})
    r.kv("Face finding", f"{an.get('face_method') or opts.get('face_method')} (requested {opts.get('face_method')}); "
         f"minimum face {opts.get('min_face_size')} px; margin {_fmt(opts.get('margin'))}; "
         f"crop size {_fmt(opts.get('crop_size'))}; at most {opts.get('max_faces')} faces")
    r.kv("Analysis options", ", ".join(f"{k}={v}" for k, v in sorted(opts.items())))
    ro = b.get("report_options") or {}
    if ro:
        r.kv("Report options", ", ".join(f"{k}={v}" for k, v in sorted(ro.items())))
    for name, m in models.items():
        r.heading(f"Detector {name}", level=2)
        r.kv("Architecture", m.get("architecture"))
        r.kv("Weights file", m.get("weights_file") or "none (random initialisation)")
        if m.get("weights_sha256"):
            r.kv("Weights SHA-256", m["weights_sha256"], mono=True)
        if m.get("state_sha256"):
            r.kv("Model state SHA-256", m["state_sha256"], mono=True)
        r.kv("Trained / calibrated", f"{_fmt(m.get('ready'))} / {_fmt(bool(m.get('calibration')))}")
        cal = m.get("calibration") or {}
        if cal:
            bias = ", ".join(f"{b:+.3f}" for b in cal.get("class_bias") or [])
            r.kv("Calibration", f"temperature {_fmt(cal.get('temperature'))}"
                 + (f", class biases ({bias})" if bias else "") + "; decision band "
                 f"[{_fmt((cal.get('band') or [None, None])[0])}, {_fmt((cal.get('band') or [None, None])[1])}) "
                 f"is inconclusive; target error {_fmt(cal.get('target_error'))}")
        r.kv("Known error rates", _error_rates_text(m))
        card = m.get("card") or {}
        if card.get("training_data"):
            r.kv("Training data", card["training_data"])
        if card.get("failure_modes"):
            r.kv("Known failure modes", "; ".join(card["failure_modes"]))
    env = b.get("environment", {})
    r.kv("Software", "; ".join(f"{k} {v}" for k, v in env.items()
                               if k not in ("platform", "forensics_source_sha256") and v != "not installed"))
    if env.get("forensics_source_sha256"):
        r.kv("Library source SHA-256", env["forensics_source_sha256"], mono=True)
    r.kv("Platform", f"{env.get('platform')}; device {an.get('device')}")

    # --- per face ------------------------------------------------------------------------------------------------
    r.heading("5. Results per face")
    if not faces:
        r.para("No face: nothing to report per face.")
    fig_meta = b.get("figures", [])
    for f in faces:
        i = f["index"]
        r.heading(f"Face {i}", level=2)
        r.ensure(60)
        y0 = pdf.get_y()
        x_text = pdf.l_margin
        if i in crop_png:
            h = r.image(crop_png[i], pdf.l_margin, y0, 42)
            x_text = pdf.l_margin + 46
            pdf.set_xy(x_text, y0)
        else:
            h = 0
        pdf.set_xy(x_text, y0)
        tw = pdf.w - pdf.r_margin - x_text
        r.kv("Box (x0, y0, x1, y1)", ", ".join(f"{v:.0f}" for v in f["box"]), x0=x_text, w=tw, label_w=38)
        r.kv("Face confidence", _fmt(f.get("confidence")), x0=x_text, w=tw, label_w=38)
        if f.get("checks"):
            c = f["checks"]
            r.kv("Whole-face checks", ("passed" if c["passed"] else "failed: " + "; ".join(c["failures"]))
                 + f" (outside the image {_fmt(c['outside_fraction'], 3)}, padded {_fmt(c['padded_fraction'], 3)}, "
                 f"landmarks confirmed {_fmt(c['landmarks_confirmed'])})", x0=x_text, w=tw, label_w=38)
        for det, s in f["scores"].items():
            a = s.get("assessment")
            r.subhead(f"Detector {det}", x0=x_text)
            if a:
                r.kv("Result", a["verdict"], x0=x_text, w=tw, label_w=38,
                     colour=VERDICT_COLOURS.get(a["verdict"]))
                r.kv("Inconclusive", _fmt(a.get("inconclusive")), x0=x_text, w=tw, label_w=38)
                r.kv("Likelihood ratio", f"{_fmt(a['likelihood_ratio'], 4)} (log10 {_fmt(a.get('log10_lr'), 3)})",
                     x0=x_text, w=tw, label_w=38)
                r.kv("Verbal scale", a["verbal"] + (f" for: {a['supports']}" if a.get("supports") else ""),
                     x0=x_text, w=tw, label_w=38)
                r.kv("Calibrated p_fake", _fmt(s.get("p_fake"), 6), x0=x_text, w=tw, label_w=38)
                r.kv("Error rates (validation)", f"false positive {_fmt(a.get('false_positive_rate'), 3)}, false "
                     f"negative {_fmt(a.get('false_negative_rate'), 3)}", x0=x_text, w=tw, label_w=38)
                if a.get("statement"):
                    r.kv("Statement", a["statement"], x0=x_text, w=tw, label_w=38)
                if s.get("stability"):
                    r.kv("Stability", s["stability"]["summary"], x0=x_text, w=tw, label_w=38,
                         colour=VERDICT_COLOURS.get("inconclusive") if s["stability"]["unstable"] else None)
                if s.get("novelty"):
                    r.kv("Novelty", s["novelty"]["summary"], x0=x_text, w=tw, label_w=38)
                for caveat in face_caveats({**an, "evidence": ev}, f, det):  # the bundle keeps evidence apart
                    r.kv("Caveat", caveat, x0=x_text, w=tw, label_w=38, colour=VERDICT_COLOURS.get("inconclusive"))
            elif s.get("withheld"):
                r.kv("Result", s["withheld"]["verdict"], x0=x_text, w=tw, label_w=38, colour=GREY)
                for why in s["withheld"]["reasons"]:
                    r.kv("Why", why, x0=x_text, w=tw, label_w=38)
                r.kv("Calibrated p_fake", _fmt(s.get("p_fake"), 6), x0=x_text, w=tw, label_w=38)
                if s.get("stability"):
                    r.kv("Stability", s["stability"]["score_summary"], x0=x_text, w=tw, label_w=38)
                if s.get("novelty"):
                    r.kv("Novelty", s["novelty"]["summary"], x0=x_text, w=tw, label_w=38)
            else:
                r.kv("Result", "no verdict (" + ("untrained detector" if not s.get("ready") else "not calibrated")
                     + ")", x0=x_text, w=tw, label_w=38, colour=GREY)
                r.kv("Uncalibrated p_fake", _fmt(s.get("p_fake"), 6), x0=x_text, w=tw, label_w=38)
                r.kv("Class probabilities", ", ".join(f"{k} {_fmt(v, 4)}" for k, v in s["probabilities"].items()),
                     x0=x_text, w=tw, label_w=38)
        pdf.set_y(max(pdf.get_y(), y0 + h) + 2)

        # explanation figures, side by side by group
        exps = [e for e in (b.get("explanations") or []) if e["face"] == i]
        ex_figs = [fm for fm in fig_meta if fm["section"] == "explanations" and fm.get("face") == i]
        if ex_figs:
            r._font("B", 9)
            pdf.multi_cell(0, 5, r._t("What influenced the detector (explanations)"), new_x="LMARGIN", new_y="NEXT")
            groups: dict[str, list[dict[str, Any]]] = {}
            for fm in ex_figs:
                groups.setdefault(fm.get("group") or fm["id"], []).append(fm)
            for members in groups.values():
                for k in range(0, len(members), 3):
                    r.figure_row([(pngs[fm["id"]], fm["caption"]) for fm in members[k:k + 3]], max_h=58)
        elif b.get("explanations") is None:
            r.para(f"Explanations: not run ({not_run.get('explanations', 'not requested')}).", size=8.5, colour=GREY)
        for e in exps:
            st = e["raw_stats"]
            r.para(f"{e['method']} on {e['detector']} (target {e.get('target_name')}, p {_fmt(e.get('probability'))}): "
                   f"raw map min {_fmt(st['min'])}, max {_fmt(st['max'])}, sum {_fmt(st['sum'])}, positive share "
                   f"{_fmt(st['positive_share'], 3)}; parameters {e.get('params') or {}}; map SHA-256 "
                   f"{e['raw_sha256'][:16]}...", size=7.5, colour=GREY)
        regions = [rg for rg in (b.get("regions") or []) if rg["face"] == i]
        for rg in regions:
            approx = [k for k, v in (rg.get("approximate") or {}).items() if v]
            absent = rg.get("absent") or {}
            note = ""
            if approx:
                note += f"Approximate regions: {', '.join(approx)}. "
            if absent:
                note += "Absent: " + "; ".join(f"{k} ({v})" for k, v in absent.items()) + "."
            extra = {}
            for reg in rg["shares"]:
                bits = []
                dens = (rg.get("density") or {}).get(reg)
                if dens is not None:
                    bits.append(f"density {dens:.2f}")
                occ = (rg.get("occlusion_delta") or {}).get(reg)
                if occ is not None:
                    bits.append(f"blurred: p {occ:+.3f}")
                extra[reg] = ", ".join(bits)
            r.bars(f"Share of positive {rg['method']} relevance per face region ({rg.get('segmenter', 'n/a')}); "
                   "density = share / area; 'blurred' = change of the explained probability with the region blurred",
                   rg["shares"], note, extra)
        if b.get("regions") is None:
            r.para(f"Region relevance: not run ({not_run.get('regions', 'not requested')}).", size=8.5, colour=GREY)
        for key, why in not_run.items():
            if key.startswith(f"regions (face {i},"):
                method = key[len(f"regions (face {i}, "):-1]
                r.para(f"Region relevance for {method}: not computed ({why}).", size=8.5, colour=GREY)

    # --- classic checks -------------------------------------------------------------------------------------------
    r.heading("6. Classic image-forensic checks")
    checks = b.get("checks")
    if checks is None:
        r.para(f"Not run ({not_run.get('checks', 'not requested')}).")
    for c in checks or []:
        r.heading(c.get("title") or c["check"], level=2)
        r.kv("Direction", c["direction"], colour=DIRECTION_COLOURS.get(c["direction"]))
        r.kv("Reliability", c["reliability"])
        if c.get("summary"):
            r.kv("Finding", c["summary"])
        measured = c.get("measured") or {}
        scalars = {k: v for k, v in measured.items() if isinstance(v, (int, float, str, bool)) or v is None}
        if scalars:
            r.kv("Measured", "; ".join(f"{k} {_fmt(v)}" for k, v in list(scalars.items())[:14]))
        if c.get("caveats"):
            r.kv("Caveats", " ".join(cv if cv.rstrip().endswith((".", "!", "?")) else cv + "."
                                     for cv in c["caveats"]))
        cfigs = [fm for fm in fig_meta if fm["section"] == "checks" and fm.get("group") == c["check"]]
        for k in range(0, len(cfigs), 3):
            r.figure_row([(pngs[fm["id"]], fm["caption"]) for fm in cfigs[k:k + 3]], max_h=42)
    other = [fm for fm in fig_meta if fm["section"] not in ("explanations", "checks")]
    if other:
        r.heading("Other figures", level=2)
        for k in range(0, len(other), 3):
            r.figure_row([(pngs[fm["id"]], fm["caption"]) for fm in other[k:k + 3]])

    # --- limitations, notes, integrity ------------------------------------------------------------------------------
    r.heading("7. Limitations: what these results do not mean")
    for text in b.get("limitations", []):
        r.bullet(text)
    r.heading("8. Examiner notes")
    r.para(case.get("notes") or "(none)")
    r.ensure(62)  # the integrity block (with the bundle hash) stays together on the last page
    r.heading("9. Integrity and verification")
    r.para("The JSON bundle written with this report holds every number shown here, the options, the model hashes "
           "and the software versions. Its SHA-256 (canonical JSON with sorted keys and no whitespace, computed "
           "without the bundle_sha256 field itself) is:", size=9)
    pdf.ln(1)
    r.kv("Bundle SHA-256", b["bundle_sha256"], mono=True)
    r.kv("Evidence SHA-256", ev["sha256"], mono=True)
    r.para("To check: `python -m forensics verify-report BUNDLE.json EVIDENCE` re-runs the analysis from the evidence "
           f"file with the recorded options and compares every hash exactly and every number within a relative "
           f"tolerance of {b['verification']['float_rel_tol']:g} (CPU kernels differ slightly between builds).",
           size=8.5, colour=GREY)
    return bytes(pdf.output())
