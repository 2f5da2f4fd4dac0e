"""``python -m forensics checks PATH``: the classic image-forensic checks registered in ``forensics.checks`` as lines
of evidence."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

NAME = "checks"
HELP = "run the classic image-forensic checks as lines of evidence (ELA, JPEG, noise, copy-move, spectrum, ...)"


def add_arguments(p) -> None:
    # the registry itself names every check (a hand-written list once missed copy-move); imported only when this
    # command runs or its help is asked for
    from forensics.checks import CHECK_ORDER

    p.description = f"{HELP}; the checks: {', '.join(CHECK_ORDER)}"
    p.add_argument("path", help="image file (never modified)")
    p.add_argument(
        "--check",
        action="append",
        default=None,
        metavar="NAME",
        help="check to run (repeatable); default: all. `--check list` prints the names",
    )
    p.add_argument("--ela-quality", type=int, default=90, help="JPEG quality of the ELA re-save (default 90)")
    p.add_argument("--ela-scale", default="20", help="ELA gain, a number or 'auto' (default 20)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument(
        "--out", default=None, metavar="DIR", help="write findings.json and every finding image as PNG into DIR"
    )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def run(args) -> int:
    from forensics.checks import list_checks, run_checks
    from forensics.cli import EXIT_USAGE
    from forensics.evidence import load_evidence

    if args.check and "list" in args.check:
        for info in list_checks():
            print(f"{info.name:<12} {info.description}")
        return 0
    try:
        scale: float | str = "auto" if args.ela_scale == "auto" else float(args.ela_scale)
    except ValueError:
        print(f"error: --ela-scale must be a number or 'auto', not {args.ela_scale!r}", file=sys.stderr)
        return EXIT_USAGE
    if not 1 <= args.ela_quality <= 100:
        print(f"error: --ela-quality must be within 1..100, not {args.ela_quality}", file=sys.stderr)
        return EXIT_USAGE
    evidence = load_evidence(args.path)
    names = args.check
    params = {}
    if names is None or "ela" in names:
        params["ela"] = {"quality": args.ela_quality, "scale": scale}
    findings = run_checks(evidence, names=names, params=params)
    doc = {
        "evidence": {
            "name": evidence.name,
            "sha256": evidence.sha256,
            "format": evidence.format,
            "width": evidence.width,
            "height": evidence.height,
        },
        "findings": [f.to_dict() for f in findings],
    }
    if args.out:
        _write_out(Path(args.out), doc, findings)
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        print()
        return 0
    print(f"{evidence.name}  {evidence.format} {evidence.width}x{evidence.height}  sha256 {evidence.sha256}")
    for f in findings:
        mark = {"supports manipulation": "!", "supports an original": "+", "neutral": " "}[f.direction]
        print(
            f"[{mark}] {f.title} ({f.direction}{'' if f.applicable else ', not applicable'}; "
            f"{f.elapsed_ms or 0:.0f} ms)"
        )
        print(f"    {f.summary}")
        print(f"    reliability: {f.reliability}")
    if args.out:
        print(f"wrote findings.json and images to {args.out}")
    return 0


def _write_out(out: Path, doc: dict, findings) -> None:
    from PIL import Image

    from forensics.viz.checks import finding_images_rgb

    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[str]] = {}
    for f in findings:
        for name, rgb in finding_images_rgb(f).items():
            fn = f"{_safe(f.check)}__{_safe(name)}.png"
            Image.fromarray(rgb).save(out / fn)
            written.setdefault(f.check, []).append(fn)
    doc = dict(doc, images=written)
    (out / "findings.json").write_text(json.dumps(doc, indent=2))
