"""Cached calls into the library. The only place ``st.cache_resource`` / ``st.cache_data`` are used.

Models are shared resources (one per process, every browser session uses the same object; explaining takes the
detector's lock). Results are data cached by the evidence sha256 plus every option that changes the numbers; the
bytes and arrays they are computed from are passed as ``_``-prefixed arguments, which Streamlit leaves out of the
cache key (the sha256 and the face key stand for them). Library modules are imported inside the functions so the
dashboard starts fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import streamlit as st


def _as_dict(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if is_dataclass(obj):
        return asdict(obj)
    return dict(obj)


@st.cache_resource(show_spinner=False)
def configure() -> int:
    """Cap torch threads once per server process (``FORENSICS_THREADS``); returns the thread count."""
    from forensics.device import configure_threads

    return configure_threads()


# --------------------------------------------------------------------------------------------------- detectors
@st.cache_data(ttl=120, show_spinner=False)
def detector_statuses() -> list[dict[str, Any]]:
    """``list_detectors()`` as dicts (name, architecture, ready, reason, weights_file, weights_sha256, ...)."""
    from forensics.detectors import list_detectors

    return [_as_dict(s) for s in list_detectors()]


@st.cache_data(ttl=120, show_spinner=False)
def default_detectors() -> list[str]:
    from forensics.detectors import default_detector_names

    return list(default_detector_names())


def ready_names() -> set[str]:
    return {s["name"] for s in detector_statuses() if s["ready"]}


@st.cache_resource(show_spinner=False)
def detector(name: str):
    """The process-wide Detector for ``name`` (loaded once, shared by every session)."""
    from forensics.pipeline import get_detector

    configure()
    return get_detector(name)


@st.cache_data(ttl=300, show_spinner=False)
def model_info(name: str) -> dict[str, Any]:
    """``Detector.info()`` plus the calibration: architecture, weights hash, readiness, model card."""
    det = detector(name)
    info = det.info()
    info["calibration"] = det.calibration.to_dict() if det.calibration is not None else None
    return info


# --------------------------------------------------------------------------------------------------- evidence
@st.cache_data(max_entries=16, show_spinner=False)
def evidence(sha256: str, _data: bytes, name: str):
    """The decoded Evidence (raises BadImageError for anything that is not a readable image)."""
    from forensics.evidence import load_evidence

    return load_evidence(_data, name=name)


@st.cache_data(max_entries=16, show_spinner=False)
def analysis(sha256: str, detectors: tuple[str, ...], face_method: str, allow_untrained: bool, _data: bytes, name: str):
    """``forensics.pipeline.analyze`` for this evidence and these options (faces, scores, verdicts, provenance)."""
    from forensics.pipeline import AnalyzeOptions, analyze

    configure()
    ev = evidence(sha256, _data, name)
    opts = AnalyzeOptions(detectors=tuple(detectors), face_method=face_method, allow_untrained=allow_untrained)
    return analyze(ev, detectors=list(detectors), options=opts)


@st.cache_data(max_entries=16, show_spinner=False)
def faces(sha256: str, face_method: str, _data: bytes, name: str):
    """Faces only (no detector): used when no detector is chosen."""
    from forensics.faces import FaceOptions, detect_faces

    ev = evidence(sha256, _data, name)
    return detect_faces(ev.image, FaceOptions(method=face_method))


# --------------------------------------------------------------------------------------------------- explanations
@st.cache_data(ttl=300, show_spinner=False)
def explainer_names() -> list[dict[str, str]]:
    """Every explanation method with its family ("cam", "gradient", "lrp", ...) and description."""
    from forensics.explainers import EXPLAINERS, list_explainers

    out = []
    for n in list_explainers():
        meta = EXPLAINERS.meta(n)
        out.append({"name": n, "family": str(meta.get("family", "")), "description": str(meta.get("description", ""))})
    return out


def default_method(role: str = "map") -> str:
    """The registry's default method for ``role`` ("map": measured best on localisation and faithfulness together;
    "lrp": the LRP shown beside it)."""
    from forensics.explainers import default_method as _default

    return _default(role)


def default_methods() -> tuple[str, ...]:
    """The methods a report explains by default."""
    from forensics.explainers import default_methods as _defaults

    return _defaults()


def method_title(method: str) -> str:
    from forensics.explainers import method_title as _title

    return _title(method)


def default_segmenter() -> str:
    from forensics.segmentation import default_segmenter as _default

    return _default()


def applicable(detector_name: str, method: str) -> tuple[bool, str]:
    from forensics.explainers import applicable as _applicable

    return _applicable(detector(detector_name), method)


@st.cache_data(max_entries=32, show_spinner=False)
def explanation(
    face_key: str,
    detector_name: str,
    methods: tuple[str, ...],
    target: str | None,
    segmenter: str | None,
    occlusion: bool,
    faithfulness: bool,
    road: bool,
    _crop,
):
    """``forensics.pipeline.explain_face`` for one face crop (``face_key`` names it: evidence sha, options, face):
    maps, agreement, with ``faithfulness`` the deletion / insertion curves (ROAD too with ``road``), with
    ``segmenter`` the masks and region tables (blur-one-region changes with ``occlusion``)."""
    from forensics.pipeline import explain_face
    from forensics.pipeline.explaining import ROAD_PERCENTILES

    return explain_face(
        detector(detector_name),
        _crop,
        list(methods),
        target=target,
        segmenter=segmenter,
        occlusion=occlusion,
        faithfulness=faithfulness or road,
        road_percentiles=ROAD_PERCENTILES if road else (),
    )


@st.cache_data(ttl=300, show_spinner=False)
def method_note(detector_name: str, method: str) -> dict[str, Any]:
    """What was measured about ``method`` on this detector (localisation on known edits, sanity check), and whether
    on the loaded weights (``forensics.explainers.measured``)."""
    from forensics.explainers.measured import method_note as _note

    return _note(detector_name, model_info(detector_name).get("weights_sha256"), method)


def overlay(crop, heat, **kwargs: Any):
    """The heatmap drawn over the crop (uint8 RGB)."""
    from forensics.viz.overlay import overlay as _overlay

    return _overlay(crop, heat, **kwargs)


# --------------------------------------------------------------------------------------------------- regions
@st.cache_data(ttl=300, show_spinner=False)
def segmenter_names() -> list[dict[str, Any]]:
    from forensics.segmentation import list_segmenters

    return [dict(s) for s in list_segmenters()]


# --------------------------------------------------------------------------------------------------- checks
@st.cache_data(ttl=300, show_spinner=False)
def check_names() -> list[dict[str, str]]:
    from forensics.checks import list_checks

    return [_as_dict(c) for c in list_checks()]


@st.cache_data(max_entries=64, show_spinner=False)
def finding(sha256: str, check: str, params: tuple[tuple[str, Any], ...], _data: bytes, name: str):
    """One classic check (ELA, noise, ghosts, ...) on the evidence, with its parameters."""
    from forensics.checks import run_check

    return run_check(check, evidence(sha256, _data, name), **dict(params))


# --------------------------------------------------------------------------------------------------- report
@st.cache_data(max_entries=8, show_spinner=False)
def report(
    sha256: str,
    detectors: tuple[str, ...],
    face_method: str,
    allow_untrained: bool,
    case: tuple[tuple[str, str], ...],
    explainers: tuple[str, ...],
    segmenter: str | None,
    checks: bool,
    _data: bytes,
    name: str,
):
    """The prepared court report of the evidence (``ReportData``: bundle, crops, figures), not yet exported; built
    from the analysis the Detect page shows (the same cached ``analysis``), not a second one."""
    from forensics.report.build import Case, prepare_report

    configure()
    an = analysis(sha256, detectors, face_method, allow_untrained, _data, name)  # Detect's analysis, from the cache
    return prepare_report(
        evidence(sha256, _data, name),
        Case(**dict(case)),
        detectors=[detector(n) for n in detectors],
        explainers=list(explainers),
        segmenter=segmenter,
        checks=checks,
        analysis=an,
    )


def export_report(data, sign_with: str | None) -> dict[str, Any]:
    """Export (not cached: every export is logged) into ``FORENSICS_REPORT_DIR`` or ``cache/reports``, through
    ``write_report`` as the CLI does: the analysis and export go to the case log, the files are kept only once
    logged. Returns {"pdf": bytes, "json": bytes, "bundle": dict, "files": ReportFiles}."""
    import json
    import os

    from forensics.paths import CACHE_DIR
    from forensics.report.build import write_report

    out = Path(os.environ.get("FORENSICS_REPORT_DIR") or CACHE_DIR / "reports")
    files = write_report(data, out, sign_with=sign_with)
    js = files.bundle.read_bytes()
    return {"pdf": files.pdf.read_bytes(), "json": js, "bundle": json.loads(js), "files": files}


def verify_command(pdf_name: str, evidence_name: str, *, signed: bool) -> str:
    """The command line that re-verifies an exported report (``python -m forensics verify-report REPORT EVIDENCE``),
    file names quoted for a POSIX shell."""
    import shlex

    cmd = ["python", "-m", "forensics", "verify-report", pdf_name, evidence_name]
    if signed:
        cmd += ["--public-key", "SIGNER_PUBLIC_KEY.pem"]
    return " ".join(shlex.quote(c) for c in cmd)


def signing_keys() -> list[dict[str, str]]:
    """Keys of the key store whose private half is here (``FORENSICS_KEYS_DIR``): the ones a report can be signed
    with on this machine."""
    from forensics.report.keys import list_keys

    return [{"key_id": k.key_id, "name": k.name} for k, private in list_keys() if private]


@st.cache_data(max_entries=8, show_spinner=False)
def pdf_pages(pdf: bytes) -> list[str]:
    """The text of each PDF page (a preview without a PDF viewer component)."""
    import io

    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]


@st.cache_data(max_entries=8, show_spinner=False)
def pdf_page_images(pdf: bytes, pages: int = 3, dpi: int = 60) -> list[bytes]:
    """PNG renderings of the first PDF pages via poppler's ``pdftoppm`` when it is installed, else []."""
    import shutil
    import subprocess
    import tempfile

    exe = shutil.which("pdftoppm")
    if exe is None:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "report.pdf"
        src.write_bytes(pdf)
        done = subprocess.run(
            [exe, "-png", "-r", str(dpi), "-f", "1", "-l", str(pages), str(src), str(Path(tmp) / "page")],
            capture_output=True,
            timeout=60,
        )
        if done.returncode != 0:
            return []
        return [p.read_bytes() for p in sorted(Path(tmp).glob("page*.png"))]


# --------------------------------------------------------------------------------------------------- dataset scan
def scan(
    folder: str,
    store: str,
    detectors: Sequence[str],
    *,
    face_method: str,
    explainer: str | None,
    segmenter: str | None,
    limit: int | None,
    allow_untrained: bool,
    progress: Callable[[int, int], None],
    dask: str | None = None,
) -> Any:
    """Scan ``folder`` into the resumable store (not cached: the store is the cache; finished images are skipped).

    ``dask``: a scheduler address; the batches then run on that cluster's workers (``forensics.scan.dask_cluster``)."""
    from forensics.scan import ScanOptions, scan_folder
    from forensics.scan.dask_cluster import DaskSetup

    configure()
    opts = ScanOptions(
        detectors=tuple(detectors),
        face_method=face_method,
        explainer=explainer,
        segmenter=segmenter,
        allow_untrained=allow_untrained,
    )
    # batches of 4, not the library's 16: progress is reported per batch, and 16 images took 80 s on this CPU with
    # the bar standing at 0 the whole time
    return scan_folder(
        folder,
        store,
        options=opts,
        limit=limit,
        progress=progress,
        batch_size=SCAN_BATCH,
        dask=DaskSetup(address=dask) if dask else None,
    )


SCAN_BATCH = 4


def default_store(folder: str) -> Path:
    """Where the dashboard keeps the results store of a folder scan (under the cache folder)."""
    import hashlib

    from forensics.paths import CACHE_DIR

    slug = Path(folder).name or "root"
    digest = hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:10]
    return CACHE_DIR / "scans" / f"{slug}-{digest}.sqlite"


def store_version(store: str | Path) -> float:
    """Changes whenever the store is written (sqlite main file and its write-ahead log): part of cache keys."""
    p = Path(store)
    return sum(q.stat().st_mtime_ns for q in (p, Path(f"{p}-wal")) if q.exists()) / 1e9


def known_stores() -> list[Path]:
    """Results stores the dashboard has written (newest first)."""
    from forensics.paths import CACHE_DIR

    d = CACHE_DIR / "scans"
    return sorted(d.glob("*.sqlite"), key=lambda p: -p.stat().st_mtime) if d.is_dir() else []


@st.cache_data(max_entries=8, show_spinner=False)
def scan_statistics(store: str, version: float) -> dict[str, Any]:
    """Counts, per-detector metrics (ROC inputs, confusion, per-kind/source rates) and region statistics."""
    from forensics.scan.stats import store_statistics
    from forensics.scan.store import ScanStore

    with ScanStore(store) as s:
        return store_statistics(s, n_boot=200)


@st.cache_data(max_entries=8, show_spinner=False)
def scan_embedding(store: str, version: float, detector_name: str) -> dict[str, Any]:
    """t-SNE map of the stored penultimate features of one detector (a few seconds for 2000 faces)."""
    from forensics.scan import stats as ss
    from forensics.scan.store import ScanStore

    with ScanStore(store) as s:
        return ss.embedding_map(s, detector_name)


@st.cache_data(max_entries=8, show_spinner=False)
def scan_problems(store: str, version: float, detector_name: str) -> list[dict[str, Any]]:
    """False alarms, misses and inconclusive faces with their thumbnails (PNG bytes)."""
    from forensics.scan import stats as ss
    from forensics.scan.store import ScanStore

    with ScanStore(store) as s:
        return ss.problem_faces(s, detector_name)


@st.cache_data(max_entries=8, show_spinner=False)
def linked_figure(sha256: str, quality: int, scale: float, _original, _ela):
    """Original and ELA side by side with linked zoom (key: evidence + ELA settings)."""
    from forensics.viz.checks import linked_images_figure

    return linked_images_figure({"original": _original, f"ELA q{quality} ×{scale:g}": _ela})


# --------------------------------------------------------------------------------------------------- generators
def generator_roots() -> list[str]:
    from forensics.generation.runs import run_roots

    return [str(p) for p in run_roots()]


def generator_runs() -> list[str]:
    """Generator run folders (``FORENSICS_GENERATOR_RUNS`` or runs/), by name."""
    from forensics.generation.runs import find_runs

    return [str(p) for p in find_runs()]


def run_version(run: str) -> float:
    """Changes whenever the run's checkpoint is rewritten: part of the cache key of its view."""
    from forensics.generation.trainer import CHECKPOINT

    p = Path(run) / CHECKPOINT
    return p.stat().st_mtime_ns / 1e9 if p.exists() else 0.0


@st.cache_data(max_entries=4, show_spinner=False)
def generator_view(run: str, version: float, n: int = 32, seed: int = 0) -> dict[str, Any]:
    """A fixed-seed sample grid of the run's checkpoint with its provenance rows and loss records."""
    from forensics.generation import runs, sampling

    configure()
    gen = sampling.load_generator(run)
    images = sampling.generate(gen, n, seed)
    rows = runs.provenance_rows(runs.run_summary(run), sampling.provenance(gen, seed, n))
    return {"grid": sampling.grid(images), "rows": rows, "losses": runs.loss_records(run), "n": n, "seed": seed}
