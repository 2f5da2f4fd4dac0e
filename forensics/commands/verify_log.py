"""``python -m forensics verify-log [DB]``: check the case database's hash chain."""

from __future__ import annotations

NAME = "verify-log"
HELP = "check the case database's hash chain: finds edited, removed or reordered entries (exit 1 if any)"


def add_arguments(p) -> None:
    p.add_argument("db", nargs="?", default=None,
                   help="case database (default: FORENSICS_CASE_DB or cache/cases.sqlite)")


def run(args) -> int:
    from forensics.audit import CaseLog, default_db_path

    path = args.db or default_db_path()
    with CaseLog(path, create=False) as log:
        v = log.verify()
    if v.ok:
        print(f"OK: {v.entries} entries in {path}, chain intact; head hash {v.head_hash}")
        return 0
    print(f"FAILED: {path}: first bad entry seq {v.first_bad_seq}: {v.problem}")
    return 1
