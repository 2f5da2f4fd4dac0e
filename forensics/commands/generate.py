"""``python -m forensics generate train|sample``: face generators trained on the lab's own faces
(:mod:`forensics.generation`).

``generate train --arch dcgan|wgan-gp --data FOLDER --size 64 --out RUN [--against DETECTOR] [--faces N]`` trains
on the face crops of FOLDER (made as for detector training) into the run folder RUN (resumable with ``--resume``);
``generate sample --run RUN --n N --out DIR [--seed S] [--labelled]`` writes N PNG faces and ``provenance.json``.
"""

from __future__ import annotations

import json

NAME = "generate"
HELP = "train a face generator (DCGAN, WGAN-GP; optionally against a detector) and sample it with provenance"


def add_arguments(p) -> None:
    from forensics.generation import ARCHITECTURES, SIZES

    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = sub.add_parser("train", help="train a generator on the faces of a folder", description="train a generator")
    t.add_argument("--arch", required=True, choices=ARCHITECTURES)
    t.add_argument("--data", required=True, help="folder of face images (all images under it, recursively)")
    t.add_argument("--size", type=int, default=64, choices=SIZES, help="side of the generated faces (default 64)")
    t.add_argument("--out", required=True, help="run folder (checkpoint, log, gan.json)")
    t.add_argument("--faces", type=int, default=200_000, metavar="N", help="budget: real faces seen (default 200000)")
    t.add_argument("--max-minutes", type=float, default=0.0, help="also stop after this many minutes (0: no limit)")
    t.add_argument("--against", metavar="DETECTOR", help="also push this frozen detector's p_fake down")
    t.add_argument(
        "--against-weights",
        metavar="FILE",
        help="with --against ARCHITECTURE: its weights file (three classes), e.g. a leave-out fold's model",
    )
    t.add_argument("--against-weight", type=float, default=1.0, help="weight of the detector term (default 1)")
    t.add_argument("--against-batch", type=int, default=16, help="generated faces per step shown to the detector")
    t.add_argument(
        "--init",
        metavar="RUN",
        help="start from another run's networks (same --arch, --size, --width), e.g. a plain run before --against",
    )
    t.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="FOLDER_NAME",
        help="leave out files under sub-folders of this name (repeatable), e.g. the sources a leave-out fold holds",
    )
    t.add_argument("--limit", type=int, default=None, metavar="FILES", help="use this many files of --data (seeded)")
    t.add_argument("--width", type=int, default=32, help="network width (default 32; DCGAN's 64 is ~4x slower)")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=0.0, help="Adam learning rate (default: 2e-4 dcgan, 1e-4 wgan-gp)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--checkpoint-every", type=int, default=20_000, metavar="FACES")
    t.add_argument("--resume", action="store_true", help="continue the run folder's checkpoint")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    s = sub.add_parser("sample", help="write generated faces and their provenance", description="sample a generator")
    s.add_argument("--run", required=True, help="generator run folder (generate train --out)")
    s.add_argument("--n", type=int, required=True, help="how many faces")
    s.add_argument("--out", required=True, help="folder to write the PNGs and provenance.json into")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--labelled",
        action="store_true",
        help="write into OUT/fake/gan/generated-<run>/ (the layout scans and training read labels from)",
    )


def run(args) -> int:
    return _train(args) if args.action == "train" else _sample(args)


def _train(args) -> int:
    from forensics.errors import ForensicsError
    from forensics.generation.data import load_faces
    from forensics.generation.trainer import Budget, GanConfig, train_gan
    from forensics.training.crops import CropSettings

    if args.against_weights and not args.against:
        raise ForensicsError("--against-weights needs --against ARCHITECTURE (the network the file fits)")
    cfg = GanConfig(
        arch=args.arch,
        size=args.size,
        width=args.width,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        against=args.against,
        against_weights=args.against_weights,
        against_weight=args.against_weight,
        against_batch=args.against_batch,
        init=args.init,
    )
    faces = load_faces(
        args.data,
        args.size,
        settings=CropSettings(),
        limit=args.limit,
        seed=args.seed,
        exclude=args.exclude,
        progress=not args.quiet,
    )
    budget = Budget(faces=args.faces, max_minutes=args.max_minutes, checkpoint_every=args.checkpoint_every)
    res = train_gan(cfg, faces, args.out, budget=budget, resume=args.resume, progress=not args.quiet)
    summary = {
        "run": str(res.run),
        "stopped_by": res.stopped_by,
        "steps": res.steps,
        "faces_seen": res.faces_seen,
        "minutes": round(res.seconds / 60, 2),
        "faces_per_second": round(res.faces_per_second, 1),
        "last": res.last,
        "checkpoint_sha256": res.checkpoint_sha256,
        "training_faces": len(faces.files),
    }
    print(json.dumps(summary, indent=2))
    return 0


def _sample(args) -> int:
    from forensics.generation.sampling import write_samples

    res = write_samples(args.run, args.n, args.out, seed=args.seed, labelled=args.labelled)
    print(f"wrote {len(res.files)} faces into {res.folder}")
    print(f"provenance: {res.folder / 'provenance.json'} (checkpoint sha256 {res.provenance['checkpoint_sha256']})")
    return 0
