"""Sections 4 and 5 of the court-report PDF: the results per face (crop, face and detector rows, explanation maps
with what they show, region shares as bars) and the classic checks (table, then one block per check with its
figures and caveats). Drawn by ``forensics.report.pdf.render_pdf`` from the bundle and its typed analysis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forensics.explainers import method_title
from forensics.pipeline.results import Analysis
from forensics.report import sections as S
from forensics.report.layout import DIRECTION_COLOURS, GREY, ReportLayout
from forensics.report.wording import court_text


def results_per_face(
    r: ReportLayout, b: Mapping[str, Any], an: Analysis, crop_png: Mapping[int, bytes], pngs: Mapping[str, bytes]
) -> None:
    """Section 4: per face its crop, position and whole-face checks, one block per detector, the explanation maps
    (or why none were made) and the region shares."""
    pdf = r.pdf
    not_run = b.get("not_run", {})
    if not an.faces:
        r.para(f"No face was analysed: {court_text(an.no_face_reason) or 'no face was found'}.")
    fig_meta = b.get("figures", [])
    for f in an.faces:
        i = f.index
        r.heading(f"Face {S.face_number(f)}", level=2)
        r.ensure(60)
        y0 = pdf.get_y()
        x_text, h = pdf.l_margin, 0.0
        if i in crop_png:
            h = r.image(crop_png[i], pdf.l_margin, y0, 42)
            x_text = pdf.l_margin + 46
        pdf.set_xy(x_text, y0)
        tw = pdf.w - pdf.r_margin - x_text
        r.rows(S.face_rows(f), x0=x_text, w=tw, label_w=38)
        for det in f.scores:
            r.subhead(f"Detector {det}", x0=x_text)
            r.rows(S.detector_rows(an, f, det), x0=x_text, w=tw, label_w=38)
        pdf.set_y(max(pdf.get_y(), y0 + h) + 2)
        ex_figs = [fm for fm in fig_meta if fm["section"] == "explanations" and fm.get("face") == i]
        if ex_figs:
            r.subhead("What influenced the detector (explanations)")
            for k in range(0, len(ex_figs), 3):
                r.figure_row(
                    [(pngs[fm["id"]], court_text(fm["caption"]) or fm["caption"]) for fm in ex_figs[k : k + 3]],
                    max_h=58,
                )
            for line in S.explanation_lines(b, f):
                r.para(line, size=8.5)
        elif b.get("explanations") is None:
            r.para(
                f"Explanations: not made, because {S.reason_words(not_run.get('explanations', 'not requested'))}.",
                size=8.5,
                colour=GREY,
            )
        for rg in [rg for rg in (b.get("regions") or []) if rg["face"] == i]:
            _region_bars(r, rg)
        if b.get("regions") is None:
            why = S.reason_words(not_run.get("regions", "not requested"))
            r.para(f"Region relevance: not computed, because {why}.", size=8.5, colour=GREY)


def _region_bars(r: ReportLayout, rg: Mapping[str, Any]) -> None:
    approx = [k for k, v in (rg.get("approximate") or {}).items() if v]
    absent = rg.get("absent") or {}
    note = ""
    if approx:
        note += f"Regions drawn approximately: {', '.join(approx)}. "
    if absent:
        note += f"Not found in this face: {', '.join(absent)}."
    extra = {}
    for reg in rg["shares"]:
        bits = []
        dens = (rg.get("density") or {}).get(reg)
        if dens is not None:
            bits.append(f"{dens:.1f} x its area share")
        occ = (rg.get("occlusion_delta") or {}).get(reg)
        if occ is not None:
            bits.append(f"blurred: probability {100 * occ:+.1f} points")
        extra[reg] = "; ".join(bits)
    method = method_title(rg["method"])
    r.bars(
        f"Where the {method} relevance lies: share of the positive relevance in each face region (regions from "
        "facial landmarks); how dense it is against the region's share of the area; how the probability moves "
        "when the region is blurred",
        rg["shares"],
        note,
        extra,
    )


def classic_checks(r: ReportLayout, b: Mapping[str, Any], pngs: Mapping[str, bytes]) -> None:
    """Section 5: the classic checks as one table, then each with its figures and caveats."""
    checks = b.get("checks")
    if checks is None:
        r.para(f"Not run, because {S.reason_words((b.get('not_run') or {}).get('checks', 'not requested'))}.")
        return
    r.para(
        "Each check measures one kind of trace in the whole file. No check gives a likelihood ratio: each points "
        "towards manipulation, towards an original or neither, with the reliability stated.",
        size=8.5,
        colour=GREY,
    )
    r.table(S.CHECK_HEADER, S.check_table(b), (30, 22, 50, 78))
    fig_meta = b.get("figures", [])
    for c in checks:
        cfigs = [fm for fm in fig_meta if fm["section"] == "checks" and fm.get("group") == c["check"]]
        if not cfigs and not c.get("caveats"):
            continue
        r.heading(court_text(c.get("title") or c["check"]) or c["check"], level=2)
        r.kv(
            "Points towards",
            S.DIRECTION_WORDS.get(c["direction"], c["direction"]),
            colour=DIRECTION_COLOURS.get(c["direction"]),
        )
        cav = [t for t in (court_text(x) for x in c.get("caveats") or []) if t]
        if cav:
            r.kv("Caveats", " ".join(t if t.endswith((".", "!", "?")) else t + "." for t in cav))
        for k in range(0, len(cfigs), 3):
            r.figure_row(
                [(pngs[fm["id"]], court_text(fm["caption"]) or fm["caption"]) for fm in cfigs[k : k + 3]], max_h=42
            )
    other = [fm for fm in fig_meta if fm["section"] not in ("explanations", "checks", "overview")]
    if other:
        r.heading("Other figures", level=2)
        for k in range(0, len(other), 3):
            r.figure_row([(pngs[fm["id"]], court_text(fm["caption"]) or fm["caption"]) for fm in other[k : k + 3]])
