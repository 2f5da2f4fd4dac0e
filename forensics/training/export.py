"""Export a finished run into ``weights/``: safetensors file, split CSV, manifest entry (sha256, classes,
calibration) and a model card (JSON in the manifest + a Markdown copy beside the weights).

Example:
    >>> from forensics.training.export import export_model          # doctest: +SKIP
    >>> export_model(cfg, Path("runs/ffd-mobilenetv2"))              # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from forensics.errors import ForensicsError
from forensics.training.config import TrainConfig, resolve_path

TRAINING_DATA = (
    "Face crops (forensics.faces, MTCNN -> Haar -> whole image) of ../shared/data/train, validated and calibrated "
    "on ../shared/data/val (fixed split; FaceForensics++ frames split by video). Real: UTKFace (in-the-wild crops), "
    "LFW, CIPLAB 'real and fake face detection' photos, FaceForensics++ originals. Face-manipulated: LFW 3D face "
    "swaps, FaceForensics++ Deepfakes/FaceSwap/Face2Face/NeuralTextures frames, CIPLAB expert Photoshop composites, "
    "plus self-blended images made on the fly from the real training faces. Generated: StyleGAN-type faces, "
    "Stable Diffusion 2.1 faces (SDFD)."
)
LICENCE = (
    "Weights derived from data with research-only / non-commercial terms: UTKFace (non-commercial research), "
    "LFW (research), FaceForensics++ (research only), CIPLAB dataset terms, StyleGAN scrape (repository GPL-3.0), "
    "SDFD (no terms stated); ImageNet initialisation from torchvision (BSD-3-Clause code, ImageNet terms). "
    "Use for research and triage only."
)
FAILURE_MODES = (
    "Trained on ~4k faces from few sources: generators, swap pipelines and cameras not in the training data may be "
    "missed or over-flagged; expect lower accuracy than the validation figures.",
    "FaceForensics++ swap/reenactment frames are few (tens per method): video face swaps are the weakest group.",
    "Local Photoshop edits (eyes/nose/mouth composites) are near chance.",
    "Heavy compression, tiny faces (< 64 px) and strong beauty filters shift scores; the re-compression "
    "augmentation reduces but does not remove this.",
    "Calibration, threshold and the inconclusive band were fitted on the same validation set that the reported "
    "figures come from: threshold-dependent rates are optimistic (see metrics.cross_fitted when present).",
    "Scores are per face crop; a face the detector cannot find is not analysed.",
)


def card_markdown(name: str, card: dict[str, Any], calibration: dict[str, Any] | None) -> str:
    lines = [f"# Model card: {name}", "", f"**Architecture**: {card.get('architecture', '')}", "",
             "## Intended use", card.get("intended_use", ""), "", "## Training data", card.get("training_data", ""),
             "", "## Licence terms", card.get("licence", ""), "", "## Reproduce", f"`{card.get('reproduce', '')}`", "",
             "## Known failure modes"]
    lines += [f"- {f}" for f in card.get("failure_modes", [])]
    if calibration:
        er = calibration.get("error_rates", {})
        lines += ["", "## Calibration (validation)",
                  f"- temperature {calibration['temperature']:.3f}; inconclusive band "
                  f"[{calibration['band'][0]:.3f}, {calibration['band'][1]:.3f}); target error "
                  f"{calibration['target_error']:.0%}",
                  f"- FPR at threshold {er.get('false_positives')}/{er.get('n_real')} camera originals; "
                  f"FNR below band {er.get('false_negatives')}/{er.get('n_fake')} manipulated/generated faces"]
    lines += ["", "## Metrics", "```json", json.dumps(card.get("metrics", {}), indent=2, default=str), "```", ""]
    return "\n".join(lines)


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
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line.strip()]
    start = next((r for r in log if r.get("event") == "start"), {})
    done = next((r for r in reversed(log) if r.get("event") == "done"), {})
    epochs = [r for r in log if r.get("event") == "epoch"]
    metrics: dict[str, Any] = {
        "validation_during_training": done.get("final"),
        "epochs_done": done.get("epochs_done"),
        "train_minutes": done.get("minutes"),
        "per_epoch": [{k: r.get(k) for k in ("epoch", "train_loss", "val_nll", "val_auc", "val_acc",
                                               "images_per_second")} for r in epochs],
        "data": start.get("data"),
    }
    if extra_metrics:
        metrics.update(extra_metrics)
    config_text = json.dumps(cfg.to_dict(), default=str)
    card = {
        "architecture": cfg.model.architecture,
        "training_data": TRAINING_DATA + f" Split file: {name}.split.csv (paths + sha256).",
        "licence": LICENCE,
        "metrics": metrics,
        "intended_use": ("Triage of face images for signs of face manipulation or full generation, with an analyst "
                         "in the loop; a score is evidence to weigh, not proof."),
        "failure_modes": list(FAILURE_MODES),
        "reproduce": f"python -m forensics train --config configs/{_config_name(cfg)}.toml",
        "augmentations": cfg.to_dict()["augment"],
        "sampling": {k: v for k, v in cfg.to_dict()["data"].items() if k in (
            "class_shares", "source_power", "sbi_share")},
        "stages": [dict(s) for s in cfg.to_dict()["stages"]],
        "config_sha": __import__("hashlib").sha256(config_text.encode()).hexdigest()[:16],
    }
    register_weights(name, dst, architecture=cfg.model.architecture, classes=tuple(cfg.data.classes),
                     fake_indices=tuple(range(1, len(cfg.data.classes))), card=card, calibration=calibration,
                     description="MobileNetV2 fine-tuned on face crops (three classes) with self-blended images",
                     manifest=wdir / "manifest.json")
    (wdir / f"{name}.card.md").write_text(card_markdown(name, card, calibration), encoding="utf-8")
    return dst


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
                "auc_per_kind": {k: {"auc": v["auc_vs_all_real"], "ci95": v["auc_ci95"],
                                     "detected_at_threshold": v["detected_at_threshold"]}
                                 for k, v in m.get("per_kind", {}).items()},
                "real_flagged_per_source": {k: {"flagged": v["flagged"], "n": v["n"], "rate": v["rate"],
                                                "ci95": v["ci95"]} for k, v in m["real_flagged_per_source"].items()},
                "fake_detected_per_source": {k: {"detected": v["flagged"], "n": v["n"], "rate": v["rate"]}
                                             for k, v in m["fake_detected_per_source"].items()},
            }
            if "cross_fitted" in m:
                cf = dict(m["cross_fitted"])
                cf["real_flagged_per_source"] = {k: {"flagged": v["flagged"], "n": v["n"], "rate": v["rate"]}
                                                 for k, v in cf["real_flagged_per_source"].items()}
                cf.pop("fake_detected_per_source", None)
                c["models"][name]["cross_fitted"] = cf
            if "verdicts" in m:
                c["models"][name]["verdicts"] = m["verdicts"]
        out["conditions"][cond] = c
    return out


def update_card_with_evaluation(name: str, results: dict[str, Any], *, command: str,
                                manifest: str | Path | None = None) -> None:
    """Merge evaluation results into the manifest card of ``name`` (weights and sha256 unchanged)."""
    import dataclasses

    from forensics.detectors.weights import DEFAULT_MANIFEST, load_manifest, write_manifest
    from forensics.errors import WeightsNotFoundError

    entries = load_manifest(manifest)
    if name not in entries:
        raise WeightsNotFoundError(f"no manifest entry {name!r} to update: export the trained model first")
    old = entries[name]
    card = dict(old.card)
    metrics = dict(card.get("metrics") or {})
    metrics["evaluation"] = _compact(results)
    metrics["evaluation_command"] = command
    card["metrics"] = metrics
    entries[name] = dataclasses.replace(old, card=card)
    path = write_manifest(entries, manifest)
    wdir = Path(manifest).parent if manifest else DEFAULT_MANIFEST.parent
    del path
    (wdir / f"{name}.card.md").write_text(card_markdown(name, card, old.calibration), encoding="utf-8")
