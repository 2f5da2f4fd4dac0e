"""Cost per face of the stability check (forensics.calibration.stability): re-cropping one face from the evidence
re-saved as JPEG 90 / 75 / 50 and scaled to 0.75 / 0.5 and scoring the five crops (median of N runs); also the
whole-face checks (Face Mesh on the crop) and the second face finder of forensics.faces.coverage.

Run: python bench/bench_stability.py [IMAGE] [--threads 2] [--runs 7] [--detector ffd-mobilenetv2]
Defaults to the shipped example ui/examples/astronaut.jpg (512 px, one face).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))  # run as a script from any folder

import statistics  # noqa: E402
import time  # noqa: E402


def median_wall_cpu_ms(fn, repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (all threads) in ms, after one warm-up call. On a busy
    machine the CPU time is what the work itself costs; the wall time adds the waiting for a core."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - w0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "image", nargs="?", default=str(_Path(__file__).resolve().parent.parent / "ui" / "examples" / "astronaut.jpg")
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--detector", default="ffd-mobilenetv2")
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(args.threads)
    from forensics.calibration.stability import variant_crops
    from forensics.evidence import load_evidence
    from forensics.faces import detect_faces
    from forensics.faces.coverage import mediapipe_boxes
    from forensics.faces.crop import DEFAULT_CROP_SIZE, DEFAULT_MARGIN
    from forensics.faces.whole_face import check_face
    from forensics.pipeline import get_detector, score_crops

    ev = load_evidence(args.image)
    face = detect_faces(ev.image).faces[0]
    det = get_detector(args.detector)

    def crops():
        return variant_crops(ev.image, face.box, face.landmarks, margin=DEFAULT_MARGIN, crop_size=DEFAULT_CROP_SIZE)

    variants = crops()
    crop = median_wall_cpu_ms(crops, args.runs)
    plain = median_wall_cpu_ms(lambda: score_crops(det, [face.crop]), args.runs)
    full = median_wall_cpu_ms(lambda: score_crops(det, [face.crop], [variants]), args.runs)
    checks = median_wall_cpu_ms(lambda: check_face(face, (ev.width, ev.height), min_size=40), args.runs)
    second = median_wall_cpu_ms(lambda: mediapipe_boxes(ev.image), args.runs)
    print(
        f"{_Path(args.image).name} {ev.width}x{ev.height}, detector {args.detector}, {args.threads} thread(s), "
        f"median of {args.runs} runs, wall / CPU ms"
    )
    print(f"variant crops (5 re-encodings / re-scalings): {crop[0]:.0f} / {crop[1]:.0f}")
    print(
        f"score without stability: {plain[0]:.0f} / {plain[1]:.0f}; with the 5 variants: {full[0]:.0f} / {full[1]:.0f}"
    )
    print(
        f"whole-face checks per face (Face Mesh on the crop): {checks[0]:.0f} / {checks[1]:.0f}; second face "
        f"finder per image (mediapipe face detection): {second[0]:.0f} / {second[1]:.0f}"
    )
    print(f"stability cost per face: {crop[0] + full[0] - plain[0]:.0f} wall / {crop[1] + full[1] - plain[1]:.0f} CPU")


if __name__ == "__main__":
    main()
