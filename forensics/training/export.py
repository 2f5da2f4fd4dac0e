"""Export a finished run into ``weights/``: safetensors file, split CSV, manifest entry (sha256, classes,
calibration) and a model card (JSON in the manifest + a Markdown copy beside the weights).

Example:
    >>> from forensics.training.export import export_model          # doctest: +SKIP
    >>> export_model(cfg, Path("runs/ffd-mobilenetv2"))              # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from forensics.errors import ForensicsError
from forensics.training.config import TrainConfig, resolve_path

TRAINING_DATA = (
    "Face crops (forensics.faces: MTCNN, then Haar, then the whole image) of ../shared/data/train, calibrated on "
    "../shared/data/val (fixed split: FaceForensics++ frames split by video, DeepFaceLive pairs by swapped-in model). "
    "Real: UTKFace (in-the-wild crops), LFW, CIPLAB photos, FaceForensics++ originals and, since 2026-12-03, stock "
    "portraits (Pixabay), celebrity and CelebA-HQ photos, the real input photos of face-reconstruction, "
    "makeup-transfer, face-recognition and face-swap projects, and the original frames of DeepFaceLive pairs. "
    "Face-manipulated: LFW 3D face swaps, FaceForensics++ Deepfakes / FaceSwap / Face2Face / NeuralTextures frames, "
    "CIPLAB expert Photoshop composites, DeepFaceLive live swaps, single-image outputs of six face-swap tools, plus "
    "blends made on the fly from the real training faces (forensics.training.blending): self-blended images, another "
    "real face pasted in (aligned on the landmarks, colour-matched) and single-part composites (an eye, both eyes, "
    "the nose or the mouth). Generated: StyleGAN-type faces and Stable Diffusion 2.1 faces (SDFD). Every source with "
    "its number of files, licence terms and origin is in the table below."
)
LICENCE = (
    "Weights derived from data with research-only or non-commercial terms (UTKFace, LFW, FaceForensics++, CelebA-HQ, "
    "DECA, the CIPLAB dataset) and from images in GPL-3.0, AGPL-3.0, MIT, Apache-2.0 and CC BY-NC 4.0 repositories, "
    "some with unclear image rights (per source below; per file in ../shared/data/index.csv and provenance.csv); "
    "ImageNet initialisation from torchvision (BSD-3-Clause code, ImageNet terms). Use for research and triage only."
)
FAILURE_MODES = (
    "Camera photos, generators and swap tools from sources it never saw are the main risk. In-sample validation (the "
    "sources it was trained on) does not predict them; the leave-source-out table at the top of this card does: "
    "read it before relying on a verdict about evidence from a new source.",
    "Only two generators are in training (StyleGAN-type faces and Stable Diffusion 2.1). With all diffusion faces "
    "left out, generated faces of a kind it has not seen are often called inconclusive or camera original (table).",
    "Live face swaps (DeepFaceLive) and single-image swap tools differ from the few swap pipelines in training; with "
    "the DeepFaceLive pairs left out, the paired AUC is in the table.",
    "Local Photoshop edits (eyes, nose or mouth) and video reenactment frames are mostly inconclusive at the "
    "threshold: read the likelihood ratio.",
    "Studio-style portraits (even light, plain background, retouched skin) lean towards 'generated'; large, sharp "
    "camera photos from sources unlike the training ones are where a false accusation is most likely.",
    "Heavy compression, small faces and strong beauty filters shift scores; the re-compression and re-scaling "
    "augmentations reduce but do not remove this (the calibration's miss rates under re-sampling are below).",
    "Calibration, threshold and inconclusive band were fitted on the same validation faces as the in-sample "
    "figures: those threshold-dependent rates are optimistic; the cross-fitted and leave-source-out rates are not.",
    "Scores are per face crop; a face the finder does not find is not analysed, and a face cut by the image border "
    "or not confirmed as a face gets no verdict.",
    "Explanations point at edited parts mostly where the detector has seen such edits in training: on unseen edits "
    "the default explainer (Grad-CAM) is near chance, and some methods fail the randomisation sanity check on these "
    "weights. The figures per method are in docs/explainers.md and forensics/explainers/measured.json; the Explain "
    "page states them under each map.",
)


def card_markdown(name: str, card: dict[str, Any], calibration: dict[str, Any] | None) -> str:
    members = (card.get("metrics") or {}).get("soup_members") or []
    soup = (
        (
            f"; the weights are the average of {len(members)} training runs of one recipe (seeds "
            f"{', '.join(str(m['seed']) for m in members)}: a uniform weight soup)"
        )
        if members
        else ""
    )
    start = f"; initialisation: {card['initialisation']}" if card.get("initialisation") else ""
    lines = [f"# Model card: {name}", "", f"**Architecture**: {card.get('architecture', '')}{soup}{start}", ""]
    lso = card.get("leave_source_out")
    if lso:
        from forensics.training.leave_out import table_markdown

        lines += [
            "## Sources it never saw (leave-source-out)",
            "",
            lso.get("protocol", ""),
            "",
            *table_markdown(lso["rows"]),
            "",
        ]
    lines += [
        "## Intended use",
        card.get("intended_use", ""),
        "",
        "## Training data",
        card.get("training_data", ""),
        "",
        "## Licence terms",
        card.get("licence", ""),
        "",
        *([*sources_table(card["training_sources"]), ""] if card.get("training_sources") else []),
        "## Reproduce",
        f"`{card.get('reproduce', '')}`",
        "",
        "## Known failure modes",
    ]
    lines += [f"- {f}" for f in card.get("failure_modes", [])]
    sides = card.get("training_image_sides")
    if sides:
        lines += [
            "",
            f"## Training images by size ({sides['measure']}; {sides.get('source', '')})",
            "",
            *side_table(sides),
        ]
    if calibration:
        er = calibration.get("error_rates", {})
        lines += [
            "",
            "## Calibration (validation)",
            f"- temperature {calibration['temperature']:.3f}"
            + (
                f", class biases ({', '.join(f'{b:+.3f}' for b in calibration['class_bias'])})"
                if calibration.get("class_bias")
                else ""
            )
            + "; inconclusive band "
            f"[{calibration['band'][0]:.3f}, {calibration['band'][1]:.3f}); target error "
            f"{calibration['target_error']:.0%}",
            f"- FPR at threshold {er.get('false_positives')}/{er.get('n_real')} camera originals; "
            f"FNR below band {er.get('false_negatives')}/{er.get('n_fake')} manipulated/generated faces",
        ]
        lines += [
            f"- after re-sampling to {name} (the threshold is fitted to hold here too): FPR "
            f"{r.get('false_positives')}/{r.get('n_real')}, FNR {r.get('false_negatives')}/{r.get('n_fake')}"
            for name, r in (er.get("conditions") or {}).items()
        ]
    roc = card.get("roc")
    if roc:
        lines += [
            "",
            "## ROC curve",
            f"AUC {roc['auc']:.3f} on {roc['n_real']} camera originals and {roc['n_fake']} manipulated or generated "
            f"faces of {roc['data_dir']} ({roc['condition']}), weights sha256 {roc['weights_sha256']}, measured "
            f"{roc['measured']}; {len(roc['fpr'])} points of the curve are in the manifest card (`roc`).",
        ]
    evaluation = (card.get("metrics") or {}).get("evaluation")
    if evaluation:
        lines += ["", *evaluation_tables(evaluation, (card.get("metrics") or {}).get("evaluation_command", ""))]
    lines += ["", "## Metrics", "```json", json.dumps(card.get("metrics", {}), indent=2, default=str), "```", ""]
    return "\n".join(lines)


def side_table(sides: dict[str, Any]) -> list[str]:
    """Markdown table of a ``training_image_sides`` histogram: one row per kind, one column per size bin."""
    edges = sides["edges"]
    heads = [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:], strict=False)] + [f">= {edges[-1]}"]
    return ["| kind | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)] + [
        f"| {k} | " + " | ".join(str(c) for c in row) + " |" for k, row in sides["counts"].items()
    ]


def _ci(v: dict[str, Any] | None) -> str:
    if not v or v.get("value", v.get("auc")) is None:
        return "n/a"
    value = v.get("value", v.get("auc"))
    lo, hi = v.get("ci95") or (float("nan"), float("nan"))
    return f"{value:.3f} [{lo:.3f}, {hi:.3f}]"


def evaluation_tables(ev: dict[str, Any], command: str) -> list[str]:
    """Markdown tables of a compact evaluation: overall, AUC per kind (all reals / same-family reals), false
    accusations per real source."""
    lines = [f"## Evaluation on {ev.get('data_dir', '')}", "", f"`{command}`" if command else "", ""]
    for cond, block in ev.get("conditions", {}).items():
        models = block.get("models", {})
        lines += [
            f"### {cond} ({block.get('n_faces')} faces)",
            "",
            "| model | AUC | EER | TPR@5%FPR | ECE | threshold |",
            "|---|---|---|---|---|---|",
        ]
        for name, m in models.items():
            lines.append(
                f"| {name} | {_ci(m.get('auc'))} | {_ci(m.get('eer'))} | {_ci(m.get('tpr_at_fpr_5pct'))} "
                f"| {_ci(m.get('ece'))} | {m.get('threshold', 0.5):.3f} |"
            )
        kinds = sorted({k for m in models.values() for k in m.get("auc_per_kind", {})})
        lines += [
            "",
            "AUC per kind, against all real faces / against the real faces of the same dataset family:",
            "",
            "| kind | " + " | ".join(models) + " |",
            "|---|" + "---|" * len(models),
        ]
        for k in kinds:
            cells = []
            for m in models.values():
                e = m.get("auc_per_kind", {}).get(k, {})
                cells.append(f"{_ci(e)} / {_ci(e.get('paired'))}" if e else "n/a")
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
        for name, m in models.items():
            diffs = m.get("auc_difference_per_kind") or {}
            if not diffs:
                continue
            lines += [
                "",
                f"{name}: AUC per kind minus each other model's on the same faces (against all real faces; "
                "paired bootstrap 95% interval; above 0 = better beyond resampling noise):",
                "",
                "| kind | " + " | ".join(diffs) + " |",
                "|---|" + "---|" * len(diffs),
            ]
            for k in kinds:
                cells = [
                    (
                        f"{v['difference']:+.3f} [{v['ci95'][0]:+.3f}, {v['ci95'][1]:+.3f}]"
                        if (v := per.get(k))
                        else "n/a"
                    )
                    for per in diffs.values()
                ]
                lines.append(f"| {k} | " + " | ".join(cells) + " |")
        srcs = sorted({k for m in models.values() for k in m.get("real_flagged_per_source", {})})
        lines += [
            "",
            "Camera originals called manipulated or generated at each model's threshold:",
            "",
            "| real source | " + " | ".join(models) + " |",
            "|---|" + "---|" * len(models),
        ]
        for src in srcs:
            cells = []
            for m in models.values():
                r = m.get("real_flagged_per_source", {}).get(src)
                cells.append(f"{r['flagged']}/{r['n']} ({r['rate']:.1%})" if r else "n/a")
            lines.append(f"| {src} | " + " | ".join(cells) + " |")
        for name, m in models.items():
            cf = m.get("cross_fitted")
            if not cf:
                continue
            per = ", ".join(f"{k} {v['flagged']}/{v['n']}" for k, v in cf.get("real_flagged_per_source", {}).items())
            method = cf.get("method") or "2-fold by group: calibration fitted on one half, rates counted on the other"
            lines += [
                "",
                f"{name}, cross-fitted ({method}; by video/file, so no threshold saw the face it judges): "
                f"FPR {cf['false_positive_rate']:.3f}, FNR {cf['false_negative_rate']:.3f}, "
                f"inconclusive {cf['inconclusive_real']:.1%} of real and {cf['inconclusive_fake']:.1%} "
                f"of fake faces; camera originals flagged: {per}.",
            ]
        lines.append("")
    return lines


def export_model(cfg: TrainConfig, run_dir: Path, *, extra_metrics: dict[str, Any] | None = None) -> Path:
    """Copy the run's weights into the weights folder and register them (replacing an older entry)."""
    from forensics.detectors.weights import register_weights

    name = cfg.export.name or cfg.name
    wdir = resolve_path(cfg.export.weights_dir)
    assert wdir is not None
    src = run_dir / "model.safetensors"
    if not src.is_file():
        raise ForensicsError(f"{src} missing: the run has not finished; resume it with --resume")
    wdir.mkdir(parents=True, exist_ok=True)
    dst = wdir / f"{name}.safetensors"
    shutil.copyfile(src, dst)
    if (run_dir / "split.csv").is_file():
        shutil.copyfile(run_dir / "split.csv", wdir / f"{name}.split.csv")
    cal_path = run_dir / "calibration.json"
    calibration = json.loads(cal_path.read_text()) if cal_path.is_file() else None
    from forensics.training.run_log import read_log

    log = read_log(run_dir)
    start = next((r for r in log if r.get("event") == "start"), {})
    done: dict[str, Any] = next((r for r in reversed(log) if r.get("event") == "done"), {})
    epochs = [r for r in log if r.get("event") == "epoch"]
    metrics: dict[str, Any] = {
        "validation_during_training": done.get("final"),
        "epochs_done": done.get("epochs_done"),
        "train_minutes": done.get("minutes"),
        "per_epoch": [
            {
                k: r.get(k)
                for k in ("member", "epoch", "train_loss", "val_nll", "val_auc", "val_acc", "images_per_second")
                if k != "member" or "member" in r
            }
            for r in epochs
        ],
        "data": start.get("data"),
    }
    members = [r for r in log if r.get("event") == "member"]
    if members:
        metrics["soup_members"] = [
            {
                "seed": r["seed"],
                "minutes": r.get("minutes"),
                "epochs_done": r.get("epochs_done"),
                "val_auc": (r.get("final") or {}).get("val_auc"),
            }
            for r in members
        ]
    if extra_metrics:
        metrics.update(extra_metrics)
    config_text = json.dumps(cfg.to_dict(), default=str)
    card = {
        "architecture": cfg.model.architecture,
        "training_data": TRAINING_DATA + f" Split file: {name}.split.csv (paths + sha256).",
        "licence": LICENCE,
        "metrics": metrics,
        "intended_use": (
            "Triage of face images for signs of face manipulation or full generation, with an analyst "
            "in the loop; a score is evidence to weigh, not proof."
        ),
        "failure_modes": list(FAILURE_MODES),
        "reproduce": f"python -m forensics train --config configs/{_config_name(cfg)}.toml",
        "augmentations": cfg.to_dict()["augment"],
        "sampling": {
            k: v
            for k, v in cfg.to_dict()["data"].items()
            if k in ("class_shares", "source_power", "sbi_share", "sbi_part_p", "sbi_donor_p", "pair_domains")
        },
        "stages": [dict(s) for s in cfg.to_dict()["stages"]],
        "config_sha": __import__("hashlib").sha256(config_text.encode()).hexdigest()[:16],
        "initialisation": _initialisation(cfg),
    }
    if (run_dir / "split.csv").is_file():
        train_dir = resolve_path(cfg.data.train_dir)
        card["training_sources"] = training_sources(run_dir / "split.csv", train_dir.parent if train_dir else None)
        card["training_image_sides"] = training_side_histogram(
            run_dir / "split.csv", resolve_path(cfg.data.train_dir), label=f"{name}.split.csv"
        )
    register_weights(
        name,
        dst,
        architecture=cfg.model.architecture,
        classes=tuple(cfg.data.classes),
        fake_indices=tuple(range(1, len(cfg.data.classes))),
        card=card,
        calibration=calibration,
        description=f"{cfg.model.architecture} fine-tuned on face crops ({len(cfg.data.classes)} "
        "classes)"
        + (" with self-blended images" if cfg.data.sbi_share > 0 else "")
        + (f"; uniform weight soup of {len(members)} seeds" if members else ""),
        manifest=wdir / "manifest.json",
    )
    (wdir / f"{name}.card.md").write_text(card_markdown(name, card, calibration), encoding="utf-8")
    return dst


def _initialisation(cfg: TrainConfig) -> str:
    """Where training started: ImageNet, random, or a weights file named with its SHA-256 (a warm start)."""
    init = cfg.model.init
    if init in ("imagenet", "none"):
        return {"imagenet": "ImageNet weights", "none": "random weights"}[init]
    from forensics.detectors.weights import sha256_file

    path = resolve_path(init)
    digest = sha256_file(path) if path is not None and path.is_file() else "file missing"
    return f"warm start from {init} (sha256 {digest})"


def training_side_histogram(split_csv: Path, train_dir: Path | None, *, label: str = "") -> dict[str, Any]:
    """Histogram of the shorter image side of the files a run trained on (the split's train rows), per kind: what
    ``forensics.calibration.domain.size_caveat`` compares evidence with."""
    from forensics.calibration.domain import shorter_side, side_histogram

    sides: dict[str, list[float]] = defaultdict(list)
    with open(split_csv, newline="") as fh:
        for row in csv.DictReader(fh):
            if row["split"] == "train" and train_dir is not None:
                sides[row["kind"]].append(shorter_side(train_dir / row["path"]))
    return side_histogram(dict(sorted(sides.items())), source=f"train rows of {label or split_csv.name}")


def training_sources(split_csv: Path, data_root: Path | None) -> list[dict[str, Any]]:
    """One row per training source of a run (the split's train rows): kind, number of files, and the licence terms
    and origin repositories that ``index.csv`` / ``provenance.csv`` of the data folder give for its files."""
    counts: dict[tuple[str, str], list[str]] = defaultdict(list)
    with open(split_csv, newline="") as fh:
        for row in csv.DictReader(fh):
            if row["split"] == "train":
                counts[(row["source"], row["kind"])].append(row["path"])
    terms: dict[str, set[str]] = defaultdict(set)
    repos: dict[str, set[str]] = defaultdict(set)
    if data_root is not None:
        for name, target, key in (("index.csv", terms, "licence"), ("provenance.csv", repos, "repo")):
            path = data_root / name
            if path.is_file():
                with open(path, newline="", encoding="utf-8") as fh:
                    for row in csv.DictReader(fh):
                        rel = row["path"].split("/", 1)[-1]  # without the train/ or val/ prefix
                        target[rel].add(row.get(key) or "")
    out = []
    for (source, kind), paths in sorted(counts.items()):
        lic = sorted({t for p in paths for t in terms.get(p, ()) if t})
        origin = sorted({r for p in paths for r in repos.get(p, ()) if r})
        out.append(
            {"source": source, "kind": kind, "n_train": len(paths), "licence": lic or ["not stated"], "origin": origin}
        )
    return out


def sources_table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown table of ``training_sources``."""
    lines = ["| source | kind | training files | licence terms | origin |", "|---|---|---|---|---|"]
    lines += [
        f"| {r['source']} | {r['kind']} | {r['n_train']} | {'; '.join(r['licence'])} | "
        f"{', '.join(r['origin'][:4]) + (' ...' if len(r['origin']) > 4 else '') or 'see MANIFEST.md'} |"
        for r in rows
    ]
    return lines


def _config_name(cfg: TrainConfig) -> str:
    return "default" if cfg.name == "ffd-mobilenetv2" else cfg.name


def _compact(results: dict[str, Any]) -> dict[str, Any]:
    """The evaluation results trimmed for a model card: overall metrics, per kind, per source, cross-fitted."""
    out: dict[str, Any] = {"data_dir": Path(results.get("data_dir", "")).name, "conditions": {}}
    for cond, block in results.get("conditions", {}).items():
        c: dict[str, Any] = {"n_faces": block.get("n_faces"), "models": {}}
        for name, m in block.get("models", {}).items():
            o = m["overall"]
            c["models"][name] = {
                "threshold": o.get("threshold"),
                **{k: o[k] for k in ("auc", "eer", "tpr_at_fpr_1pct", "tpr_at_fpr_5pct", "ece", "accuracy")},
                "auc_per_kind": {
                    k: {
                        "auc": v["auc_vs_all_real"],
                        "ci95": v["auc_ci95"],
                        "paired": v.get("paired"),
                        "detected_at_threshold": v["detected_at_threshold"],
                    }
                    for k, v in m.get("per_kind", {}).items()
                },
                "real_flagged_per_source": {
                    k: {"flagged": v["flagged"], "n": v["n"], "rate": v["rate"], "ci95": v["ci95"]}
                    for k, v in m["real_flagged_per_source"].items()
                },
                "fake_detected_per_source": {
                    k: {"detected": v["flagged"], "n": v["n"], "rate": v["rate"]}
                    for k, v in m["fake_detected_per_source"].items()
                },
            }
            if "cross_fitted" in m:
                cf = dict(m["cross_fitted"])
                cf["real_flagged_per_source"] = {
                    k: {"flagged": v["flagged"], "n": v["n"], "rate": v["rate"]}
                    for k, v in cf["real_flagged_per_source"].items()
                }
                cf.pop("fake_detected_per_source", None)
                c["models"][name]["cross_fitted"] = cf
            if "verdicts" in m:
                c["models"][name]["verdicts"] = m["verdicts"]
            if "auc_difference_per_kind" in m:
                c["models"][name]["auc_difference_per_kind"] = m["auc_difference_per_kind"]
        out["conditions"][cond] = c
    return out


def _update_card(name: str, change: Any, manifest: str | Path | None = None) -> None:
    """Apply ``change(card) -> card`` to the manifest card of ``name`` (weights and sha256 unchanged) and rewrite
    its Markdown copy."""
    import dataclasses

    from forensics.detectors.weights import DEFAULT_MANIFEST, load_manifest, write_manifest
    from forensics.errors import WeightsNotFoundError

    entries = load_manifest(manifest)
    if name not in entries:
        raise WeightsNotFoundError(f"no manifest entry {name!r} to update: export the trained model first")
    old = entries[name]
    card = change(dict(old.card))
    entries[name] = dataclasses.replace(old, card=card)
    write_manifest(entries, manifest)
    wdir = Path(manifest).parent if manifest else DEFAULT_MANIFEST.parent
    (wdir / f"{name}.card.md").write_text(card_markdown(name, card, old.calibration), encoding="utf-8")


def update_card_with_evaluation(
    name: str, results: dict[str, Any], *, command: str, manifest: str | Path | None = None
) -> None:
    """Merge evaluation results into the manifest card of ``name`` (weights and sha256 unchanged)."""

    def change(card: dict[str, Any]) -> dict[str, Any]:
        card["metrics"] = {
            **(card.get("metrics") or {}),
            "evaluation": _compact(results),
            "evaluation_command": command,
        }
        roc = evaluation_roc(results, name, command=command)
        if roc is not None:
            card["roc"] = roc
        return card

    _update_card(name, change, manifest)


def evaluation_roc(results: dict[str, Any], name: str, *, command: str) -> dict[str, Any] | None:
    """The card's ROC curve: ``name``'s compact curve on the as-is files (``forensics.evaluation.compact_roc``)
    with where it was measured: data folder, weights SHA-256, date and command. None if ``name`` was not scored."""
    import datetime

    model = results.get("models", {}).get(name)
    curve = results.get("conditions", {}).get("as-is", {}).get("models", {}).get(name, {}).get("roc")
    if model is None or curve is None:
        return None
    return {
        **curve,
        "condition": "as-is",
        "data_dir": results.get("data_dir", ""),
        "weights_sha256": model.get("weights_sha256"),
        "measured": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "command": command,
    }


def set_card_roc(name: str, roc: dict[str, Any], manifest: str | Path | None = None) -> None:
    """Write only the card's ROC curve (``evaluation_roc``), leaving every other figure of the card as it is."""

    def change(card: dict[str, Any]) -> dict[str, Any]:
        card["roc"] = roc
        return card

    _update_card(name, change, manifest)


LEAVE_OUT_PROTOCOL = (
    "Each fold trains a recipe once without the groups it leaves out (their files in train and validation), "
    "calibrates on the remaining validation faces, then judges every file of each left-out group at that threshold: "
    "false accusations = camera originals called manipulated or generated, missed = fakes called camera original, "
    "with Wilson 95% intervals; AUC with a bootstrap 95% interval by video or file, within the group when it holds "
    "both originals and fakes, else against the other class of the fold's validation faces. Conditions: as the "
    "files are, and re-sampled to 320 px / JPEG 90. Folds of 2026-12-03 (scripts/leave_out_folds.sh; budgets cut by "
    "a contended 2-core CPU): lsoW is the shipped procedure itself (configs/default.toml: the warm start never saw "
    "these sources), 35 min; lsoA-r0 and lsoB-r0 train from ImageNet (configs/from-imagenet.toml) because the warm "
    "start saw diffusion faces and ciplab, 4 and 3 epochs (40 and 32 min; validation AUC 0.85 and 0.89 against 0.94 "
    "for the shipped model, so their rows are pessimistic)."
)


def update_card_with_leave_out(name: str, rows: list[dict[str, Any]], manifest: str | Path | None = None) -> None:
    """Write the leave-source-out rows (``forensics.training.leave_out.collect``) as the card's headline table."""

    def change(card: dict[str, Any]) -> dict[str, Any]:
        card["leave_source_out"] = {"protocol": LEAVE_OUT_PROTOCOL, "rows": rows}
        return card

    _update_card(name, change, manifest)
