"""``python -m forensics analyze PATH``: per-face scores for one image."""

from __future__ import annotations

import json
import sys

from forensics.commands._options import add_face_method

NAME = "analyze"
HELP = "find every face in an image and score it with the chosen detectors"


def add_arguments(p) -> None:
    p.add_argument("path", help="image file (never modified)")
    p.add_argument(
        "--detector", action="append", default=None, help="detector name (repeatable); default: the shipped default"
    )
    p.add_argument(
        "--weights-dir",
        action="append",
        default=None,
        help="extra folder searched for weight files (e.g. ../shared/peers/mesonet/weights)",
    )
    add_face_method(p)
    p.add_argument("--min-face", type=int, default=40, help="faces smaller than this (pixels) are skipped")
    p.add_argument("--allow-untrained", action="store_true", help="score with untrained detectors (not a verdict)")
    p.add_argument(
        "--no-stability",
        action="store_true",
        help="do not re-score each face after re-compression and re-scaling (faster; no stability)",
    )
    p.add_argument("--json", action="store_true", help="print the full Analysis as JSON")
    p.add_argument("--case", default=None, help="case id recorded with the analysis in the audit log")
    p.add_argument("--case-db", default=None, help="audit log (default: FORENSICS_CASE_DB or cache/cases.sqlite)")
    p.add_argument("--no-log", action="store_true", help="do not append this analysis to the audit log")


def run(args) -> int:
    from forensics.evidence import load_evidence
    from forensics.pipeline import AnalyzeOptions, analyze

    evidence = load_evidence(args.path)
    opts = AnalyzeOptions(
        face_method=args.face_method,
        min_face_size=args.min_face,
        allow_untrained=args.allow_untrained,
        stability=not args.no_stability,
    )
    analysis = analyze(evidence, detectors=args.detector, options=opts, weights_dirs=args.weights_dir)
    if not args.no_log:
        from forensics.cases.audit import log_analysis

        log_analysis(analysis, db=args.case_db, case_id=args.case, source="cli analyze")
    if args.json:
        json.dump(analysis.to_dict(), sys.stdout, indent=2)
        print()
        return 0
    from forensics.calibration.domain import face_caveats
    from forensics.calibration.novelty import NOT_MEASURED

    ev = analysis.evidence
    print(f"{ev['name']}  {ev['width']}x{ev['height']}  sha256 {ev['sha256']}")
    if not analysis.faces:
        print(f"no face analysed: {analysis.no_face_reason}")
    for face in analysis.faces:
        print(f"face {face.index}: box {[round(v) for v in face.box]} confidence {face.confidence:.3f}")
        if face.checks is not None and not face.checks.passed:
            for why in face.checks.failures:
                print(f"  not a whole face: {why}")
        for name, s in face.scores.items():
            verdict = (
                s.verdict
                if s.assessment or s.withheld
                else ("untrained: no verdict" if not s.ready else "uncalibrated: no verdict")
            )
            print(f"  {name:<18} p_fake {s.p_fake:.3f}  {verdict}")
            for why in s.withheld.reasons if s.withheld else ():
                if face.checks is None or why not in face.checks.failures:  # those are printed above, once
                    print(f"  {'':<18} why: {why}")
            if s.stability is not None:  # "unstable" speaks of a verdict: only where one is given
                print(
                    f"  {'':<18} "
                    + (
                        s.stability.summary()
                        if s.assessment
                        else f"score under re-compression: {s.stability.score_summary()}"
                    )
                )
            if s.ready:
                print(f"  {'':<18} {NOT_MEASURED['summary'] if s.novelty is None else s.novelty.summary()}")
            for caveat in face_caveats(analysis, face, name) if s.assessment else []:
                print(f"  {'':<18} caveat: {caveat}")
    for sk in analysis.skipped_faces:
        print(f"skipped face {sk.get('box')}: {sk.get('reason')}")
    for sentence in analysis.coverage.sentences() if analysis.coverage is not None else ():
        print(f"not looked at: {sentence}")
    print("timings ms: " + ", ".join(f"{k} {v:.0f}" for k, v in analysis.timings_ms.items()))
    return 0
