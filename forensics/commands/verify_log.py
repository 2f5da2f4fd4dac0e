"""``python -m forensics verify-log [DB] [--against REPORT|ANCHOR]...``: check the case database's hash chain."""

from __future__ import annotations

NAME = "verify-log"
HELP = (
    "check the case database's hash chain (opened read-only): finds edited, removed, reordered or back-dated "
    "entries, and with --against a shortened or rewritten log (exit 1 if any)"
)


def add_arguments(p) -> None:
    p.add_argument(
        "db", nargs="?", default=None, help="case database (default: FORENSICS_CASE_DB or cache/cases.sqlite)"
    )
    p.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="FILE",
        help="an anchor from `log-anchor`, or a report (.json or .pdf) that carries the log's head at its "
        "export: the log must still hold that entry with that hash (repeatable)",
    )


def run(args) -> int:
    from forensics.cases.audit import CaseLog, default_db_path

    path = args.db or default_db_path()
    anchors = [(a, *_anchor_of(a)) for a in args.against]
    with CaseLog(path, create=False, readonly=True) as log:
        v = log.verify()
        problems = [
            f"against {src}: {why}" for src, count, h in anchors if (why := log.check_anchor(count, h)) is not None
        ]
    if not v.ok:
        problems.insert(0, f"first bad entry seq {v.first_bad_seq}: {v.problem}")
    if not problems:
        print(
            f"OK: {v.entries} entries in {path}, chain intact"
            + (f", holds the head of {len(anchors)} anchor(s)" if anchors else "")
            + f"; head hash {v.head_hash}"
        )
        if not anchors:
            print(
                "note: without --against, a log whose newest entries were removed together with its head cannot "
                "be told from a shorter one: check it against an anchor or a report"
            )
        return 0
    for p in problems:
        print(f"FAILED: {path}: {p}")
    return 1


def _anchor_of(path: str) -> tuple[int, str]:
    """(count, head hash) from an anchor file, a report bundle (.json) or a report PDF."""
    import json
    from pathlib import Path

    from forensics.cases.audit import ANCHOR_SCHEMA
    from forensics.errors import ForensicsError

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ForensicsError(f"cannot read {path}: {exc}") from exc
    if data.startswith(b"%PDF"):
        from forensics.report.seal import extract_bundle

        data = extract_bundle(data) or b"null"
    try:
        doc = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise ForensicsError(f"{path} is neither a log anchor nor a report ({exc})") from exc
    head = (
        doc
        if isinstance(doc, dict) and doc.get("schema") == ANCHOR_SCHEMA
        else (doc.get("log_head") if isinstance(doc, dict) else None)
    )
    if not isinstance(head, dict) or not isinstance(head.get("count"), int) or not head.get("head_hash"):
        raise ForensicsError(
            f"{path} carries no log head: pass an anchor from `log-anchor` or a report written with a case log"
        )
    return head["count"], str(head["head_hash"])
