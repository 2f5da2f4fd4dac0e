"""Drawing helpers of the court-report PDF (fpdf2): page header and footer, headings, paragraphs, bullets,
label/value rows, tables, figures side by side and region-share bars. What is drawn is decided in pdf.py."""

from __future__ import annotations

import datetime as _dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from forensics.report import fonts
from forensics.verdicts import Direction, Verdict

GREY = (90, 90, 90)
NAVY = (20, 40, 90)
VERDICT_COLOURS = {Verdict.FAKE: (170, 30, 30), Verdict.REAL: (20, 110, 50), Verdict.INCONCLUSIVE: (150, 110, 0)}
DIRECTION_COLOURS = {
    Direction.SUPPORTS_MANIPULATION: (170, 30, 30),
    Direction.SUPPORTS_ORIGINAL: (20, 110, 50),
    Direction.NEUTRAL: (90, 90, 90),
}


class ReportLayout:
    """Owns the FPDF object and the drawing helpers: headings, paragraphs, label/value rows, tables, figures."""

    def __init__(self, bundle: Mapping[str, Any], text_sample: str = "", font_dir: Path | None = None) -> None:
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
                self.cell(
                    0,
                    4,
                    outer._t(f"Case {case['case_id']} - forensic examination of {b['evidence']['name']}"),
                    new_x="LMARGIN",
                    new_y="NEXT",
                )
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
        self.fonts = fonts.register(self.pdf, text_sample, font_dir)
        self.unicode = self.fonts.unicode
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
        return self.fonts.text(s)

    def _font(self, style: str = "", size: float = 9.5, mono: bool = False) -> None:
        self.pdf.set_font(self.fonts.mono if mono else self.fonts.family, "" if mono and self.unicode else style, size)

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

    def kv(
        self,
        label: str,
        value: Any,
        *,
        mono: bool = False,
        label_w: float = 46,
        size: float = 9.0,
        colour: tuple[int, int, int] | None = None,
        x0: float | None = None,
        w: float | None = None,
    ) -> None:
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
        return len(self.pdf.multi_cell(w, lh, text, dry_run=True, output="LINES"))  # type: ignore[arg-type]  # a list

    def _caption_lines(self, w: float, caption: str) -> int:
        return len(self.pdf.multi_cell(w, 3.4, self._t(caption), dry_run=True, output="LINES"))  # type: ignore[arg-type]

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
        cap_lines = max(self._caption_lines(w, c) for _p, c in figs)
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

    def bars(
        self, title: str, shares: Mapping[str, Any], note: str = "", extra: Mapping[str, str] | None = None
    ) -> None:
        """Horizontal bars of region shares (0..1), drawn as PDF rectangles."""
        items = [(k, v) for k, v in shares.items() if isinstance(v, (int, float))]
        items.sort(key=lambda kv: -kv[1])
        row = 4.2
        self.ensure(8 + row * len(items) + 6)
        self.pdf.ln(1.5)
        self._font("B", 8.5)
        self.pdf.multi_cell(0, 4, self._t(title), new_x="LMARGIN", new_y="NEXT")
        label_w, bar_w = 24, 56
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
                self._font("", 7)
                self.pdf.cell(0, row, self._t("   " + extra[name]))
                self.pdf.set_text_color(0, 0, 0)
            self.pdf.set_xy(x0, y + row)
        if note:
            self._font("", 7.5)
            self.pdf.set_text_color(*GREY)
            self.pdf.multi_cell(0, 3.4, self._t(note), new_x="LMARGIN", new_y="NEXT")
            self.pdf.set_text_color(0, 0, 0)
        self.pdf.ln(2)

    def rows(
        self, rows: Sequence[Any], *, x0: float | None = None, w: float | None = None, label_w: float = 46
    ) -> None:
        """``sections.Row`` items as label/value rows, styled by their kind."""
        for r in rows:
            colour = {"caveat": VERDICT_COLOURS[Verdict.INCONCLUSIVE], "muted": GREY}.get(r.kind)
            if r.kind == "verdict":
                colour = VERDICT_COLOURS.get(r.text.split(" (")[0])
            self.kv(r.label, r.text, mono=r.kind == "mono", colour=colour, x0=x0, w=w, label_w=label_w)

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float], size: float = 8.0
    ) -> None:
        """A ruled table with a bold header row; cells wrap and the table breaks across pages."""
        self._font("", size)
        self.ensure(16)
        self.pdf.set_fill_color(255, 255, 255)  # the region bars leave their blue as the fill colour
        with self.pdf.table(
            col_widths=tuple(widths),
            width=self.width,
            line_height=size * 0.47,
            text_align="LEFT",
            first_row_as_headings=True,
            borders_layout="HORIZONTAL_LINES",
            padding=0.8,
            headings_style=_heading_style(self),
        ) as t:
            for cells in [header, *rows]:
                row = t.row()
                for c in cells:
                    row.cell(self._t(c))
        self.pdf.ln(2)


def _heading_style(layout: ReportLayout) -> Any:
    from fpdf.fonts import FontFace

    return FontFace(family=layout.fonts.family, emphasis="BOLD", color=NAVY)
