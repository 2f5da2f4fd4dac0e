"""Court-expertise report: a PDF for people and a hashed JSON bundle for machines, plus their verification.

``build_bundle`` assembles every number (case, evidence hashes, options, models and their hashes, per-face results,
explanations, region shares, classic checks, environment) and hashes it; ``render_pdf`` draws the PDF from the
bundle; ``prepare_report``/``write_report`` do both from an evidence file and log the export in the case database;
``verify_bundle`` re-runs everything from the evidence and compares under the library's fixed ``rules``. ``seal``
signs a report (``keys``: Ed25519 examiner or lab keys) and attaches the bundle to its PDF. See docs/report.md.

Example:
    >>> from forensics.report import Case, prepare_report, write_report, verify_bundle, load_bundle
    >>> files = write_report(prepare_report("photo.jpg", Case("C-1", "A. Analyst")), "out")   # doctest: +SKIP
    >>> verify_bundle(load_bundle(files.bundle), "photo.jpg").ok                             # doctest: +SKIP
    True
"""

from __future__ import annotations

from forensics.report.bundle import (  # noqa: F401  (re-exported)
    DEFAULT_QUESTION,
    LIMITATIONS,
    PROPOSITIONS,
    SCHEMA,
    Case,
    Figure,
    NotRun,
    build_bundle,
    bundle_hash,
    dumps_bundle,
    explanation_record,
    load_bundle,
    validate_bundle,
)

__all__ = [
    "Case",
    "Figure",
    "NotRun",
    "build_bundle",
    "bundle_hash",
    "dumps_bundle",
    "explanation_record",
    "load_bundle",
    "validate_bundle",
    "render_pdf",
    "prepare_report",
    "write_report",
    "verify_bundle",
    "ReportData",
    "ReportFiles",
    "VerifyResult",
    "DEFAULT_QUESTION",
    "LIMITATIONS",
    "PROPOSITIONS",
    "SCHEMA",
]


def __getattr__(name: str):
    # the PDF (fpdf2) and the pipeline parts are imported only when used
    if name == "render_pdf":
        from forensics.report.pdf import render_pdf

        return render_pdf
    if name in ("prepare_report", "write_report", "ReportData", "ReportFiles"):
        from forensics.report import build

        return getattr(build, name)
    if name in ("verify_bundle", "VerifyResult"):
        from forensics.report import verify

        return getattr(verify, name)
    raise AttributeError(f"module 'forensics.report' has no attribute {name!r}")
