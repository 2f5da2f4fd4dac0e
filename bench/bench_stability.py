"""Cost per face of the stability check (forensics.stability): re-cropping one face from the evidence re-saved as
JPEG 90 / 75 / 50 and scaled to 0.75 / 0.5 and scoring the five crops (median of N runs); also the whole-face checks
(Face Mesh on the crop) and the second face finder of forensics.coverage.

Run: python bench/bench_stability.py [IMAGE] [--threads 2] [--runs 7] [--detector ffd-mobilenetv2]
Defaults to the shipped example ui/examples/astronaut.jpg (512 px, one face).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path as _Path

sys.path.insert(0, str(_Path(__file__).resolve().parent.parent))  # run as a script from any folder

from bench._timing import median_min_ms  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("image", nargs="?", default=str(_Path(__file__).resolve().parent.parent / "ui" / "examples"
                                                    / "astronaut.jpg"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--detector", default="ffd-mobilenetv2")
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(args.threads)
    from forensics.coverage import mediapipe_boxes
    from forensics.evidence import load_evidence
    from forensics.face_checks import check_face
    from forensics.faces import DEFAULT_CROP_SIZE, DEFAULT_MARGIN, detect_faces
    from forensics.pipeline import _score, get_detector
    from forensics.stability import variant_crops

    ev = load_evidence(args.image)
    face = detect_faces(ev.image).faces[0]
    det = get_detector(args.detector)

    def crops():
        return variant_crops(ev.image, face.box, face.landmarks, margin=DEFAULT_MARGIN, crop_size=DEFAULT_CROP_SIZE)

    variants = crops()
    crop_ms, crop_min = median_min_ms(crops, args.runs)
    plain_ms, plain_min = median_min_ms(lambda: _score(det, [face.crop]), args.runs)
    full_ms, full_min = median_min_ms(lambda: _score(det, [face.crop], [variants]), args.runs)
    print(f"{_Path(args.image).name} {ev.width}x{ev.height}, detector {args.detector}, {args.threads} thread(s), "
          f"median (min) of {args.runs} runs")
    print(f"variant crops (5 re-encodings / re-scalings): {crop_ms:.0f} ms ({crop_min:.0f})")
    print(f"score without stability: {plain_ms:.0f} ms ({plain_min:.0f}); with the 5 variants: {full_ms:.0f} ms "
          f"({full_min:.0f})")
    checks_ms, checks_min = median_min_ms(lambda: check_face(face, (ev.width, ev.height), min_size=40), args.runs)
    second_ms, second_min = median_min_ms(lambda: mediapipe_boxes(ev.image), args.runs)
    print(f"whole-face checks per face (Face Mesh on the crop): {checks_ms:.0f} ms ({checks_min:.0f}); second face "
          f"finder per image (mediapipe face detection): {second_ms:.0f} ms ({second_min:.0f})")
    print(f"stability cost per face: {crop_ms + full_ms - plain_ms:.0f} ms (median), "
          f"{crop_min + full_min - plain_min:.0f} ms (min)")


if __name__ == "__main__":
    main()
