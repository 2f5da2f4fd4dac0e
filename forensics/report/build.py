"""From an evidence file to a finished report: analysis, explanations, regions, checks, bundle, PDF, audit entries.

Optional parts (explanations, region relevance, classic checks) are skipped with a stated reason when their module
or weights are missing, or when they do not apply; required parts (evidence hashes, options, model hashes) are
never skipped: their absence raises.

Example:
    >>> from forensics.report import Case, prepare_report, write_report
    >>> data = prepare_report("photo.jpg", Case("C-1", "A. Analyst"), detectors=["ffd-mobilenetv2"])  # doctest: +SKIP
    >>> files = write_report(data, "out/")                                                           # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import ForensicsError, NotApplicableError, UnavailableError
from forensics.explainers import DEFAULT_EXPLAINER, DEFAULT_LRP
from forensics.formatting import pct
from forensics.report.bundle import (
    Case,
    Figure,
    NotRun,
    build_bundle,
    dumps_bundle,
    explanation_record,
    sha256_hex,
)

DEFAULT_EXPLAINERS: tuple[str, ...] = (DEFAULT_EXPLAINER, DEFAULT_LRP)  # why these two: forensics.explainers
DEFAULT_SEGMENTER = "landmarks"
METHOD_TITLES = {
    "gradcam": "Grad-CAM",
    "lrp-epsilon": "LRP (epsilon)",
    "lrp-epsilon-plus-flat": "LRP (epsilon-plus-flat)",
    "lrp-hse-mix": "LRP mix",
    "lrp-gamma-epsilon-zero": "LRP mix",
    "saliency": "Saliency",
}


@dataclass
class ReportData:
    """A built bundle plus the pictures the PDF draws (their hashes are in the bundle)."""

    bundle: dict[str, Any]
    crops: tuple[np.ndarray, ...] = ()
    figures: list[Figure] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportFiles:
    pdf: Path
    bundle: Path
    bundle_sha256: str
    pdf_sha256: str
    signer: dict[str, str] | None = None  # {"key_id", "name"} of the signing key
    log_head: dict[str, Any] | None = None  # the case log's head written into the bundle


def report_overlay(crop: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Heatmap in [0,1] blended over an RGB crop (uint8 RGB, the crop's size), in the report's colour map."""
    from forensics.report.pdf import REPORT_CMAP
    from forensics.viz.overlay import overlay as _overlay

    h = np.asarray(heat, dtype=np.float32)
    if h.shape != np.shape(crop)[:2]:
        raise ForensicsError(f"heatmap {h.shape} and crop {np.shape(crop)[:2]} differ in size: explain the same crop")
    return _overlay(np.asarray(crop), h, alpha=alpha, cmap=REPORT_CMAP)


def _region_record(face: int, method: str, table: Any) -> dict[str, Any]:
    """The region table (forensics.segmentation.regions) of one explanation (shares, pixel shares, density, blur
    occlusion) as a record."""
    present = table.present
    return {
        "face": face,
        "method": method,
        "segmenter": table.segmenter,
        "computed_by": "forensics.segmentation.regions.region_relevance",
        "shares": {r.region: r.share for r in present},
        "density": {r.region: r.density for r in present},
        "occlusion_delta": {r.region: r.occlusion_delta for r in present},
        "approximate": {r.region: r.approximate for r in present},
        "absent": table.absent,
        "table": table.to_dict(),
    }


def prepare_report(
    evidence: Any,
    case: Case,
    *,
    detectors: Sequence[Any] | None = None,
    options: Any = None,
    weights_dirs: Sequence[str | Path] | None = None,
    explainers: Sequence[str] | None = DEFAULT_EXPLAINERS,
    segmenter: str | None = DEFAULT_SEGMENTER,
    checks: Sequence[str] | bool = True,
) -> ReportData:
    """Run the analysis and the optional parts, and build the bundle.

    ``evidence``: path, bytes or Evidence. ``detectors``: names or Detector objects (the first one is explained).
    ``explainers``/``segmenter``/``checks``: None/False/() skip that part. Returns the bundle with crops and figures.
    """
    from forensics.evidence import Evidence, load_evidence
    from forensics.pipeline import AnalyzeOptions, analyze, resolve_detectors

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    ev = evidence if isinstance(evidence, Evidence) else load_evidence(evidence)
    opts = options or AnalyzeOptions()
    dets = resolve_detectors(
        list(detectors or opts.detectors), allow_untrained=opts.allow_untrained, weights_dirs=weights_dirs
    )
    analysis = analyze(ev, detectors=dets, options=opts, weights_dirs=weights_dirs)
    timings["analysis"] = (time.perf_counter() - t0) * 1000
    crops = tuple(analysis.crops)
    not_run: list[NotRun] = []
    figures: list[Figure] = [_overview_figure(ev, analysis)]
    explanations: list[dict[str, Any]] | None = None
    regions: list[dict[str, Any]] | None = None
    timings["explanations"] = timings["regions"] = 0.0

    if explainers and crops:
        explanations, regions, skipped = _explain_faces(dets[0], crops, explainers, segmenter, figures, timings)
        not_run += skipped
    elif explainers:
        not_run.append(NotRun("explanations", "no face was analysed"))
    if not segmenter:
        regions = None
    elif not explanations:
        regions = None
        not_run.append(NotRun("regions", "needs explanations, which were not run"))

    t0 = time.perf_counter()
    findings = None
    if checks:
        from forensics.checks import run_checks
        from forensics.report.pdf import pdf_image

        findings = run_checks(ev, None if checks is True else list(checks))
        for f in findings:
            for k, img in (getattr(f, "images", None) or {}).items():
                figures.append(
                    Figure(
                        f"check-{f.check}-{k}",
                        f"{f.title}: {k.replace('_', ' ')}",
                        _thumb(pdf_image(img)),
                        section="checks",
                        group=f.check,
                    )
                )
    timings["checks"] = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    bundle = build_bundle(
        case,
        analysis,
        detectors=dets,
        crops=crops,
        explanations=explanations,
        regions=regions,
        findings=findings,
        figures=figures,
        not_run=not_run,
        report_options={
            "explainers": list(explainers or []),
            "explained_detector": dets[0].name if dets else None,
            "segmenter": segmenter,
            "checks": checks if isinstance(checks, bool) else list(checks),
            "weights_dirs": [str(p) for p in weights_dirs or []],
        },
    )
    timings["bundle"] = (time.perf_counter() - t0) * 1000
    return ReportData(bundle=bundle, crops=crops, figures=figures, timings_ms=timings)


def _explain_faces(
    det: Any,
    crops: Sequence[np.ndarray],
    explainers: Sequence[str],
    segmenter: str | None,
    figures: list[Figure],
    timings: dict[str, float],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[NotRun]]:
    """Explanation records (with faithfulness, agreement and what was measured about the method), region records and
    what was not run, for every crop; their figures are appended to ``figures``, their times added to ``timings``."""
    from forensics.explainers.measured import method_note
    from forensics.pipeline import explain_face

    explanations: list[dict[str, Any]] = []
    regions: list[dict[str, Any]] = []
    skipped: list[str] = []
    region_notes: list[NotRun] = []  # why regions are missing
    segment_problems = ""
    for i, crop in enumerate(crops):
        fx = explain_face(det, crop, list(explainers), segmenter=segmenter, occlusion=True)
        t0 = time.perf_counter()
        skipped += [f"{m}: {why}" for m, why in fx.not_applicable.items()]
        for k, (m, hm) in enumerate(fx.maps.items()):
            fid = f"face{i}-{m}"
            record = _with_checks(
                explanation_record(i, hm, figure_id=fid), det, crop, hm, dict(itertools.islice(fx.maps.items(), k))
            )
            # localisation on known edits and the randomisation sanity check, as measured (and on which weights)
            record["measured"] = method_note(det.name, det.weights_sha256, m)
            explanations.append(record)
            figures.append(
                Figure(
                    fid,
                    f"{METHOD_TITLES.get(m, m)} map for '{hm.target_name}' "
                    f"(probability {pct(hm.probability)}), detector {det.name}",
                    report_overlay(crop, hm.heatmap),
                    section="explanations",
                    face=i,
                    group=f"face{i}-explanations",
                )
            )
        timings["explanations"] += fx.timings_ms["explanations"] + (time.perf_counter() - t0) * 1000
        timings["regions"] += fx.timings_ms["regions"]
        if fx.segment_problem:
            segment_problems += f"face {i}: {fx.segment_problem} "
        regions += [_region_record(i, m, table) for m, table in fx.tables.items()]
        region_notes += [NotRun("regions", why, i, m) for m, why in fx.table_problems.items()]
    not_run = [NotRun("explanations (some methods)", "; ".join(sorted(set(skipped))))] if skipped else []
    if segmenter and explanations:
        not_run += region_notes
        if segment_problems:
            not_run.append(NotRun("regions", segment_problems))
        elif not regions:
            not_run.append(NotRun("regions", "no region masks were produced"))
    return explanations, regions, not_run


def _overview_figure(ev: Any, analysis: Any) -> Figure:
    """The whole evidence with a numbered box per analysed face (numbered from 1, as in the PDF)."""
    from forensics.report.overview import overview_image

    boxes = [f.box for f in analysis.faces]
    skipped = [s["box"] for s in analysis.skipped_faces if s.get("box")]
    caption = (
        f"The evidence image with the {len(boxes)} face(s) analysed, numbered as in section 4"
        + (f"; {len(skipped)} face-like region(s) not analysed in grey" if skipped else "")
        + "."
    )
    return Figure("overview", caption, overview_image(ev.image, boxes, skipped), section="overview")


def _with_checks(
    record: dict[str, Any], detector: Any, crop: np.ndarray, heatmap: Any, earlier: Mapping[str, Any]
) -> dict[str, Any]:
    """An explanation record with its faithfulness (deletion and insertion curves, 8 steps: 16 forward passes, about
    0.5 s for MobileNetV2 on one CPU thread) and its agreement with the maps made before it for the same face."""
    from forensics.explainers import agreement, faithfulness

    try:
        f = faithfulness(detector, crop, heatmap, steps=8, road=False)
        record["faithfulness"] = {k: f[k] for k in ("deletion_auc", "insertion_auc", "difference", "steps")}
    except (NotApplicableError, UnavailableError, ForensicsError) as exc:
        record["faithfulness"] = {"not_computed": str(exc)}
    record["agreement"] = {m: agreement(heatmap, other) for m, other in earlier.items() if other is not heatmap}
    return record


def _thumb(img: np.ndarray, max_side: int = 320) -> np.ndarray:
    """Shrink large check images so the PDF stays small (area averaging via Pillow)."""
    h, w = img.shape[:2]
    if max(h, w) <= max_side:
        return img
    from PIL import Image

    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(img).resize(size, Image.Resampling.BILINEAR))


def write_report(
    data: ReportData,
    out_dir: str | Path,
    *,
    stem: str | None = None,
    case_db: str | Path | None = None,
    log: bool = True,
    sign_with: str | None = None,
    keys_dir: str | Path | None = None,
) -> ReportFiles:
    """Write ``<stem>.pdf`` and ``<stem>.json`` into ``out_dir``, logged and (with ``sign_with``, a key id) signed.

    Order: the case log is opened and the analysis logged first (an unusable log stops everything before a file is
    written); the log's head is put into the bundle, which is re-hashed; the PDF is drawn, sealed (and signed) and
    gets the bundle as an attachment; both files are written to temporary names, the export is logged, and only
    then are they linked to their final names. An existing report is never overwritten: the stem gets ``-2``,
    ``-3``, ... If anything fails, no report file is left.
    """
    from forensics.cases.audit import CaseLog, analysis_payload
    from forensics.report.bundle import bundle_hash, validate_bundle
    from forensics.report.keys import load_signing_key
    from forensics.report.pdf import render_pdf
    from forensics.report.rules import HASH_KEY, SEAL_KEY
    from forensics.report.seal import attach_bundle, make_seal

    validate_bundle(data.bundle)
    signing = load_signing_key(sign_with, directory=keys_dir) if sign_with else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    b = dict(data.bundle)
    base = stem or f"report_{_safe_stem(b['case']['case_id'])}_{b['evidence']['sha256'][:12]}"
    stem = next(
        s
        for s in (base if k == 1 else f"{base}-{k}" for k in range(1, 10_000))
        if not (out / f"{s}.json").exists() and not (out / f"{s}.pdf").exists()
    )
    json_path, pdf_path = out / f"{stem}.json", out / f"{stem}.pdf"
    cl = CaseLog(case_db) if log else None
    tmps: list[Path] = []
    try:
        if cl is not None:
            a = dict(b["analysis"], evidence=b["evidence"])
            head = cl.append(
                "analysis", dict(analysis_payload(a), case_id=b["case"]["case_id"], examiner=b["case"]["examiner"])
            )
            b["log_head"] = {"count": head.seq, "head_hash": head.entry_hash, "log": Path(str(cl.path)).name}
        else:
            b["log_head"] = None
        b["signer"] = {"key_id": signing[1].key_id, "name": signing[1].name} if signing else None
        b[HASH_KEY] = bundle_hash(b)
        validate_bundle(b)
        drawn = render_pdf(b, crops=data.crops, figures=data.figures)
        b[SEAL_KEY] = make_seal(b, drawn, signing=signing)
        json_bytes = dumps_bundle(b)
        pdf_bytes = attach_bundle(drawn, json_bytes)
        tmps = [_write_temp(out, json_bytes), _write_temp(out, pdf_bytes)]
        files = ReportFiles(
            pdf=pdf_path,
            bundle=json_path,
            bundle_sha256=b[HASH_KEY],
            pdf_sha256=sha256_hex(pdf_bytes),
            signer=b["signer"],
            log_head=b["log_head"],
        )
        if cl is not None:
            cl.append(
                "export",
                {
                    "case_id": b["case"]["case_id"],
                    "examiner": b["case"]["examiner"],
                    "evidence_sha256": b["evidence"]["sha256"],
                    "bundle_sha256": b[HASH_KEY],
                    "pdf_sha256": files.pdf_sha256,
                    "drawn_pdf_sha256": b[SEAL_KEY]["pdf_sha256"],
                    "pdf": pdf_path.name,
                    "bundle": json_path.name,
                    "log_head": b["log_head"],
                    "signer": b["signer"],
                },
            )
        for tmp, final in zip(tmps, (json_path, pdf_path), strict=True):
            try:
                os.link(tmp, final)  # fails instead of replacing a file another writer made meanwhile
            except FileExistsError:
                raise ForensicsError(
                    f"{final} appeared while this report was written (another writer?): the "
                    "export entry just logged names a file this run did not keep"
                ) from None
    except BaseException:
        for p in (json_path, pdf_path):
            if any(p.exists() and p.samefile(t) for t in tmps if t.exists()):
                p.unlink()
        raise
    finally:
        for t in tmps:
            t.unlink(missing_ok=True)
        if cl is not None:
            cl.close()
    return files


def _write_temp(folder: Path, data: bytes) -> Path:
    """``data`` in a hidden temporary file of ``folder`` (same file system, so it can be linked), synced to disk."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=".report-", suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(name)


def _safe_stem(s: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in s)[:60] or "case"
