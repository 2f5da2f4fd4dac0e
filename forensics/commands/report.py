"""``python -m forensics report PATH --out DIR``: court report (PDF) and its hashed JSON bundle."""

from __future__ import annotations

from forensics.commands._options import add_face_method

NAME = "report"
HELP = "write a court-style PDF report and its machine-readable JSON bundle for one image; log it in the case database"


def add_arguments(p) -> None:
    p.add_argument("path", help="evidence image (never modified)")
    p.add_argument("--out", required=True, help="output folder for the .pdf and .json")
    p.add_argument("--examiner", default="unnamed examiner", help="examiner's name, printed on every page")
    p.add_argument("--case", dest="case_id", default=None, help="case id (default: CASE-<first 12 hex of sha256>)")
    p.add_argument("--notes", default="", help="examiner notes, printed in the report")
    p.add_argument("--question", default=None, help="the question examined (default: the standard question)")
    p.add_argument("--conclusion", default="", help="the examiner's own conclusion, printed as a section of its own")
    p.add_argument(
        "--conclusion-file",
        default=None,
        help="read the examiner's conclusion from this UTF-8 text file (instead of --conclusion)",
    )
    p.add_argument("--detector", action="append", default=None, help="detector name (repeatable; first is explained)")
    p.add_argument("--weights-dir", action="append", default=None, help="extra folder searched for weight files")
    add_face_method(p)
    p.add_argument("--min-face", type=int, default=40, help="faces smaller than this (pixels) are skipped")
    p.add_argument(
        "--explainer",
        action="append",
        default=None,
        help="explanation method (repeatable; default: the registry's default map and default LRP, "
        "forensics.explainers.default_methods())",
    )
    p.add_argument("--no-explain", action="store_true", help="skip explanations (and region shares)")
    p.add_argument(
        "--segmenter",
        default=None,
        help="segmenter for region shares (default: the registry's default; 'none' to skip)",
    )
    p.add_argument("--no-checks", action="store_true", help="skip the classic checks (ELA, JPEG, metadata, ...)")
    p.add_argument("--allow-untrained", action="store_true", help="report with untrained detectors (no verdict)")
    p.add_argument("--case-db", default=None, help="case database (default: FORENSICS_CASE_DB or cache/cases.sqlite)")
    p.add_argument(
        "--sign",
        default=None,
        metavar="KEY_ID",
        help="sign the report with this key of the key store (see `keys create`); default: unsigned",
    )
    p.add_argument(
        "--keys-dir", default=None, help="key store (default: FORENSICS_KEYS_DIR or ~/.config/forensics/keys)"
    )


def run(args) -> int:
    from pathlib import Path

    from forensics.errors import BadImageError
    from forensics.evidence import load_evidence
    from forensics.pipeline import AnalyzeOptions
    from forensics.report.build import DEFAULT, prepare_report, write_report
    from forensics.report.bundle import DEFAULT_QUESTION, Case

    conclusion = args.conclusion
    if args.conclusion_file:
        try:
            conclusion = Path(args.conclusion_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadImageError(
                f"cannot read the conclusion file {args.conclusion_file}: {exc}; pass a UTF-8 text file"
            ) from exc
    ev = load_evidence(args.path)
    case = Case(
        case_id=args.case_id or f"CASE-{ev.sha256[:12]}",
        examiner=args.examiner,
        question=args.question or DEFAULT_QUESTION,
        notes=args.notes,
        conclusion=conclusion,
    )
    opts = AnalyzeOptions(
        face_method=args.face_method, min_face_size=args.min_face, allow_untrained=args.allow_untrained
    )
    data = prepare_report(
        ev,
        case,
        detectors=args.detector,
        options=opts,
        weights_dirs=args.weights_dir,
        explainers=None if args.no_explain else tuple(args.explainer or ()) or DEFAULT,
        segmenter=None if args.segmenter == "none" else args.segmenter or DEFAULT,
        checks=not args.no_checks,
    )
    files = write_report(data, args.out, case_db=args.case_db, sign_with=args.sign, keys_dir=args.keys_dir)
    print(
        f"report: {files.pdf}\nbundle: {files.bundle}\nbundle sha256: {files.bundle_sha256}\n"
        f"pdf sha256: {files.pdf_sha256}\n"
        + (f"signed by: {files.signer['name']} (key {files.signer['key_id']})" if files.signer else "unsigned")
    )
    for part, why in data.bundle["not_run"].items():
        print(f"not run: {part}: {why}")
    return 0
