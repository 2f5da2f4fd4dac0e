"""Time to build the JSON bundle and the PDF for one face (the analysis itself is not timed).

Content: one face, Grad-CAM + LRP figures, landmark region bars, every classic check with its images: a typical
report. Detector: SimpleNet with random weights (untrained; the report path is what is timed). Threads: 1.

    FORENSICS_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/bench_report.py [--repeat 10]
        [--sample-out DIR]   # also write the sample report there
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--image", default=None, help="face photo (default: first LFW image of ../shared/data)")
    ap.add_argument("--sample-out", default=None)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from forensics.paths import SHARED_DATA_DIR
    from forensics.pipeline import AnalyzeOptions
    from forensics.report import Case, build_bundle, render_pdf
    from forensics.report.build import prepare_report, write_report
    from forensics.report.bundle import NotRun

    image = args.image or next(iter(sorted((SHARED_DATA_DIR / "val" / "real" / "lfw").glob("*.jpg"))), None)
    if image is None:
        print("no image: pass --image (../shared/data is absent)")
        return 2
    t0 = time.perf_counter()
    data = prepare_report(
        image, Case("BENCH-1", "Bench"), detectors=["simplenet"], options=AnalyzeOptions(allow_untrained=True)
    )
    parts = ", ".join(f"{k} {v:.0f}" for k, v in data.timings_ms.items())
    print(
        f"prepare (analysis + explanations + regions + checks, first run incl. imports): "
        f"{(time.perf_counter() - t0) * 1000:.0f} ms; parts {parts}"
    )
    b = data.bundle
    analysis = dict(b["analysis"], evidence=b["evidence"])
    render_pdf(b, crops=data.crops, figures=data.figures)  # warm-up (font loading)
    tb, tp, tw = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            nb = build_bundle(
                Case(**b["case"]),
                analysis,
                crops=data.crops,
                explanations=b["explanations"],
                regions=b["regions"],
                findings=b["checks"],
                figures=data.figures,
                not_run=[NotRun.from_entry(k, v) for k, v in b["not_run"].items()],
                report_options=b["report_options"],
            )
            tb.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            pdf = render_pdf(nb, crops=data.crops, figures=data.figures)
            tp.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            data.bundle = nb
            write_report(data, tmp, log=False)
            tw.append((time.perf_counter() - t0) * 1000)
    print(
        f"faces {len(b['analysis']['faces'])}, figures {len(b['figures'])}, pdf {len(pdf) / 1024:.0f} KiB, "
        f"bundle {len(str(b)) / 1024:.0f} KiB (repr)"
    )
    print(f"build_bundle median {statistics.median(tb):.1f} ms (min {min(tb):.1f})")
    print(f"render_pdf   median {statistics.median(tp):.1f} ms (min {min(tp):.1f})")
    print(
        f"write_report (validate + render + write both files) median {statistics.median(tw):.1f} ms "
        f"(min {min(tw):.1f}); n={args.repeat}, torch threads 1"
    )
    if args.sample_out:
        files = write_report(data, args.sample_out, log=False)
        print(f"sample: {files.pdf}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
