"""``python -m forensics verify-report REPORT EVIDENCE``: check a report's seal and signature, re-run it, compare."""

from __future__ import annotations

NAME = "verify-report"
HELP = (
    "check a report (its .json bundle or its .pdf alone): the seal and Ed25519 signature against trusted keys, the "
    "PDF's bytes, then re-run the analysis from the evidence and compare every hash exactly and every number "
    "(floats within 1e-6 relative; the library's rules, never the bundle's); exit 1 on any mismatch"
)


def add_arguments(p) -> None:
    p.add_argument("report", help="the .json bundle or the .pdf written by `report` (the PDF carries the bundle)")
    p.add_argument("evidence", help="the evidence file")
    p.add_argument("--pdf", default=None, help="with a .json: also check this PDF (same bundle, sealed bytes)")
    p.add_argument(
        "--public-key",
        action="append",
        default=[],
        metavar="FILE",
        help="trusted public key (.pub.json from `keys export`; repeatable): the report must be signed by one of them",
    )
    p.add_argument(
        "--trusted-keys",
        action="append",
        default=[],
        metavar="DIR",
        help="folder of trusted public keys (*.pub.json; repeatable)",
    )
    p.add_argument("--weights-dir", action="append", default=None, help="extra folder searched for weight files")
    p.add_argument(
        "--case-db",
        default=None,
        help="case database: the report's export entry must be in it; the verification is logged there",
    )
    p.add_argument("--no-log", action="store_true", help="do not log the verification")


def run(args) -> int:
    from pathlib import Path

    from forensics.cases.audit import CaseLog, sha256_hex
    from forensics.errors import BadImageError, ForensicsError
    from forensics.report.bundle import bundle_hash, load_bundle
    from forensics.report.keys import trusted_keys
    from forensics.report.rules import RULES
    from forensics.report.seal import check_pdf, check_seal
    from forensics.report.verify import verify_bundle

    if not Path(args.evidence).is_file():
        raise BadImageError(f"evidence file {args.evidence} does not exist: pass the file the report was made from")
    problems: list[str] = []
    pdf_path = args.pdf
    try:
        head = Path(args.report).read_bytes()[:5]
    except OSError as exc:
        raise ForensicsError(f"cannot read {args.report}: {exc}") from exc
    if head.startswith(b"%PDF"):
        pdf_path = args.report
        doc, problems = check_pdf(Path(args.report).read_bytes())
        if doc is None:
            for m in problems:
                print(f"MISMATCH {m}")
            print("FAILED: the PDF carries no readable report bundle")
            return 1
    else:
        doc = load_bundle(args.report)
        if pdf_path:
            problems += check_pdf(Path(pdf_path).read_bytes(), doc)[1]
    trusted = trusted_keys(args.public_key + args.trusted_keys) if (args.public_key or args.trusted_keys) else None
    seal = check_seal(doc, trusted=trusted)
    problems += seal.problems
    notes = list(seal.notes)
    if args.case_db:
        problems += _check_log(
            args.case_db, bundle_hash(doc), sha256_hex(Path(pdf_path).read_bytes()) if pdf_path else None
        )
    res = verify_bundle(doc, args.evidence, weights_dirs=args.weights_dir)
    for note in notes + res.notes:
        print(f"note: {note}")
    for m in problems + res.mismatches:
        print(f"MISMATCH {m}")
    signer = (
        f"signed by {seal.signer} (Ed25519 key {seal.key_id}, trusted)"
        if seal.signer
        else f"{seal.status}" + (f" (key {seal.key_id})" if seal.key_id else "")
    )
    print(f"signature: {signer}")
    ok = res.ok and not problems
    if not args.no_log:
        with CaseLog(args.case_db) as cl:
            cl.append(
                "verify-report",
                {
                    "bundle_sha256": doc.get("bundle_sha256"),
                    "ok": ok,
                    "signature": signer,
                    "mismatches": (problems + res.mismatches)[:50],
                    "compared": res.compared,
                    "rules": RULES.version,
                },
            )
    if ok:
        print(
            f"OK: {res.compared} values compared, all match ({RULES.version}: floats within "
            f"{RULES.float_rel_tol:g} relative)"
        )
        return 0
    print(f"FAILED: {len(problems) + len(res.mismatches)} mismatch(es); {res.compared} values compared")
    return 1


def _check_log(db, bundle_sha256: str, pdf_sha256: str | None) -> list[str]:
    """The export entry of this bundle in the case log (and the PDF hash it recorded)."""
    from forensics.cases.audit import CaseLog

    with CaseLog(db, create=False, readonly=True) as cl:
        exports = [
            e.payload for e in cl.entries() if e.kind == "export" and e.payload.get("bundle_sha256") == bundle_sha256
        ]
    if not exports:
        return [f"case log {db}: no export entry for bundle {bundle_sha256}: this bundle was not exported there"]
    if pdf_sha256 and all(x.get("pdf_sha256") != pdf_sha256 for x in exports):
        return [
            f"case log {db}: the export of this bundle recorded PDF {exports[-1].get('pdf_sha256')}, the PDF "
            f"given hashes to {pdf_sha256}"
        ]
    return []
