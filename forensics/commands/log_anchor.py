"""``python -m forensics log-anchor [DB] --out FILE``: the case log's head, to be filed outside the log."""

from __future__ import annotations

NAME = "log-anchor"
HELP = (
    "write the case log's head (entry count, hash of the newest entry) to a small JSON file to keep elsewhere "
    "(another machine, the case file, an e-mail to the lab); `verify-log --against FILE` checks the log against it"
)


def add_arguments(p) -> None:
    p.add_argument(
        "db", nargs="?", default=None, help="case database (default: FORENSICS_CASE_DB or cache/cases.sqlite)"
    )
    p.add_argument("--out", default=None, help="anchor file to write (default: print it)")


def run(args) -> int:
    import json
    from pathlib import Path

    from forensics.cases.audit import CaseLog, default_db_path

    path = args.db or default_db_path()
    with CaseLog(path, create=False, readonly=True) as log:
        v = log.verify()
        if not v.ok:
            print(
                f"FAILED: {path}: first bad entry seq {v.first_bad_seq}: {v.problem}: an anchor of a broken log "
                "would anchor the damage"
            )
            return 1
        anchor = log.anchor()
    text = json.dumps(anchor, indent=2) + "\n"
    if args.out:
        out = Path(args.out)
        if out.exists():
            print(f"error: {out} exists: anchors are never overwritten; choose a new name")
            return 2
        out.write_text(text, encoding="utf-8")
        print(
            f"anchor of {anchor['count']} entries (head {anchor['head_hash']}) written to {out}: file it "
            "outside this machine"
        )
    else:
        print(text, end="")
    return 0
