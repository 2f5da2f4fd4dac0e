"""``python -m forensics verify-report BUNDLE EVIDENCE``: re-run a report and compare every number and hash."""

from __future__ import annotations

NAME = "verify-report"
HELP = ("re-run the analysis recorded in a report bundle from the evidence file and compare every hash (exactly) "
        "and number (floats within 1e-6 relative; the library's rules, never the bundle's); exit 1 on any mismatch")


def add_arguments(p) -> None:
    p.add_argument("bundle", help="the .json bundle written by `report`")
    p.add_argument("evidence", help="the evidence file")
    p.add_argument("--weights-dir", action="append", default=None, help="extra folder searched for weight files")
    p.add_argument("--case-db", default=None, help="also log the verification in this case database")
    p.add_argument("--no-log", action="store_true", help="do not log the verification")


def run(args) -> int:
    from pathlib import Path

    from forensics.audit import CaseLog
    from forensics.report.bundle import load_bundle
    from forensics.report.rules import RULES
    from forensics.report.verify import verify_bundle

    if not Path(args.evidence).is_file():
        from forensics.errors import BadImageError

        raise BadImageError(f"evidence file {args.evidence} does not exist: pass the file the report was made from")
    bundle = load_bundle(args.bundle)
    res = verify_bundle(bundle, args.evidence, weights_dirs=args.weights_dir)
    for note in res.notes:
        print(f"note: {note}")
    for m in res.mismatches:
        print(f"MISMATCH {m}")
    if not args.no_log:
        with CaseLog(args.case_db) as cl:
            cl.append("verify-report", {"bundle_sha256": bundle.get("bundle_sha256"), "ok": res.ok,
                                        "mismatches": res.mismatches[:50], "compared": res.compared})
    if res.ok:
        print(f"OK: {res.compared} values compared, all match ({RULES.version}: floats within "
              f"{RULES.float_rel_tol:g} relative)")
        return 0
    print(f"FAILED: {len(res.mismatches)} mismatch(es) out of {res.compared} values compared")
    return 1
