"""Grounded-SAM segmenter (Ren et al. 2024: Grounding DINO boxes from a text prompt, SAM masks inside them), one text
prompt at a time.

For each region prompt: Grounding DINO proposes boxes for that prompt alone, SAM turns each box into a mask, and
CLIP re-scores every mask crop against all region prompts; a mask is kept when its own prompt wins the softmax
(``clip_min`` or more). The kept masks of a prompt form the region. "skin" is the face mask minus the other parts;
background is what no region claims (derived, so flagged approximate).

Weights are never downloaded. They come from a local folder (``FORENSICS_GSAM_DIR`` or ``weights/grounded_sam/``):
    grounding_dino/   a Hugging Face ``save_pretrained`` folder: config.json, model.safetensors, processor +
                      tokenizer files (e.g. IDEA-Research/grounding-dino-tiny)
    sam/              sam_vit_b_01ec64.pth (segment_anything checkpoint; any ``*.pth``), optional sam_config.json
                      with non-default dimensions
    clip/             a Hugging Face ``save_pretrained`` folder (e.g. openai/clip-vit-base-patch32)
or, for Grounding DINO and CLIP, from the Hugging Face cache with ``local_files_only=True``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from forensics.errors import UnavailableError
from forensics.paths import WEIGHTS_DIR
from forensics.segmentation import REGIONS, RegionMasks, Segmenter, register_segmenter, resolve_overlaps

# Region -> Grounding DINO / CLIP prompt (lower case, ending with a dot, as Grounding DINO expects).
DEFAULT_PROMPTS: dict[str, str] = {
    "hair": "hair.",
    "ears": "ear.",
    "eyes": "eye.",
    "eyebrows": "eyebrow.",
    "glasses": "glasses.",
    "nose": "nose.",
    "mouth": "mouth.",
    "neck": "neck.",
    "skin": "face.",
}
HF_DINO = "IDEA-Research/grounding-dino-tiny"
HF_CLIP = "openai/clip-vit-base-patch32"
SAM_FILE = "sam_vit_b_01ec64.pth"

# segment_anything's ViT-B build (build_sam.py), overridable by sam/sam_config.json.
SAM_DEFAULTS: dict[str, Any] = {
    "encoder_embed_dim": 768,
    "encoder_depth": 12,
    "encoder_num_heads": 12,
    "encoder_global_attn_indexes": [2, 5, 8, 11],
    "image_size": 1024,
    "patch_size": 16,
    "window_size": 14,
    "prompt_embed_dim": 256,
    "mask_in_chans": 16,
    "decoder_depth": 2,
    "decoder_mlp_dim": 2048,
    "decoder_num_heads": 8,
    "iou_head_depth": 3,
    "iou_head_hidden_dim": 256,
}


def default_root() -> Path:
    """``FORENSICS_GSAM_DIR`` or ``weights/grounded_sam``."""
    env = os.environ.get("FORENSICS_GSAM_DIR")
    return Path(env) if env else WEIGHTS_DIR / "grounded_sam"


def _hf_folder(local: Path, repo_id: str) -> tuple[str | None, str]:
    """A from_pretrained source: the local folder if complete, else the repo id if it is in the HF cache."""
    if (local / "config.json").is_file() and any(
        (local / f).is_file() for f in ("model.safetensors", "pytorch_model.bin")
    ):
        return str(local), ""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None, f"{local}/config.json + model.safetensors"
    hit = try_to_load_from_cache(repo_id, "config.json")
    if isinstance(hit, str) and Path(hit).is_file():
        return repo_id, ""
    return None, f"{local}/config.json + model.safetensors (or {repo_id} in the Hugging Face cache)"


def build_sam(cfg: dict[str, Any]):
    """A segment_anything ``Sam`` with the given dimensions (defaults: ViT-B), built from its modeling classes."""
    from functools import partial

    import torch
    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    c = {**SAM_DEFAULTS, **cfg}
    emb = c["image_size"] // c["patch_size"]
    return Sam(
        image_encoder=ImageEncoderViT(
            depth=c["encoder_depth"],
            embed_dim=c["encoder_embed_dim"],
            img_size=c["image_size"],
            mlp_ratio=4,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=c["encoder_num_heads"],
            patch_size=c["patch_size"],
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=tuple(c["encoder_global_attn_indexes"]),
            window_size=c["window_size"],
            out_chans=c["prompt_embed_dim"],
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=c["prompt_embed_dim"],
            image_embedding_size=(emb, emb),
            input_image_size=(c["image_size"], c["image_size"]),
            mask_in_chans=c["mask_in_chans"],
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=c["decoder_depth"],
                embedding_dim=c["prompt_embed_dim"],
                mlp_dim=c["decoder_mlp_dim"],
                num_heads=c["decoder_num_heads"],
            ),
            transformer_dim=c["prompt_embed_dim"],
            iou_head_depth=c["iou_head_depth"],
            iou_head_hidden_dim=c["iou_head_hidden_dim"],
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    ).eval()


@dataclass
class _Models:
    dino: Any
    dino_processor: Any
    sam_predictor: Any
    clip: Any
    clip_processor: Any
    sources: dict[str, str] = field(default_factory=dict)


@register_segmenter(
    "grounded-sam",
    title="Grounding DINO boxes with SAM masks",
    description="Grounding DINO boxes + SAM masks + CLIP re-scoring, one prompt at a "
    "time (HSE report); needs local weights",
)
class GroundedSamSegmenter(Segmenter):
    """Zero-shot region segmenter. ``available()`` names the missing files; ``segment`` raises UnavailableError."""

    name = "grounded-sam"

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        prompts: dict[str, str] | None = None,
        box_threshold: float = 0.3,
        text_threshold: float = 0.25,
        clip_min: float | None = None,
        max_boxes: int = 3,
    ) -> None:
        self.root = Path(root) if root is not None else None
        self.prompts = dict(prompts or DEFAULT_PROMPTS)
        self.box_threshold = box_threshold
        self.text_threshold = text_threshold
        self.clip_min = clip_min if clip_min is not None else 1.0 / max(1, len(self.prompts))
        self.max_boxes = max_boxes
        self._models: _Models | None = None
        self._lock = threading.Lock()

    @property
    def folder(self) -> Path:
        return self.root if self.root is not None else default_root()

    def _sources(self) -> tuple[dict[str, str], list[str]]:
        missing: list[str] = []
        src: dict[str, str] = {}
        dino, need = _hf_folder(self.folder / "grounding_dino", HF_DINO)
        if dino:
            src["dino"] = dino
        else:
            missing.append(need)
        sam_dir = self.folder / "sam"
        sams = sorted(sam_dir.glob("*.pth")) if sam_dir.is_dir() else []
        if sams:
            src["sam"] = str(sams[0])
        else:
            missing.append(f"{sam_dir}/{SAM_FILE}")
        clip, need = _hf_folder(self.folder / "clip", HF_CLIP)
        if clip:
            src["clip"] = clip
        else:
            missing.append(need)
        return src, missing

    def available(self) -> tuple[bool, str]:
        from importlib.util import find_spec

        missing_pkgs = [p for p in ("transformers", "segment_anything") if find_spec(p) is None]
        if missing_pkgs:
            return False, f"needs the packages {', '.join(missing_pkgs)} (pip install transformers segment-anything)"
        _src, missing = self._sources()
        if missing:
            return False, "needs files: " + "; ".join(missing) + " (set FORENSICS_GSAM_DIR; nothing is downloaded)"
        return True, ""

    def _load(self) -> _Models:
        if self._models is not None:
            return self._models
        ok, reason = self.available()
        if not ok:
            raise UnavailableError(f"grounded-sam cannot run: {reason}")
        import torch
        from segment_anything import SamPredictor
        from transformers import (
            AutoProcessor,
            CLIPModel,
            GroundingDinoForObjectDetection,
        )

        from forensics.device import get_device

        src, _ = self._sources()
        device = get_device()
        dino = GroundingDinoForObjectDetection.from_pretrained(src["dino"], local_files_only=True).to(device).eval()
        dino_proc = AutoProcessor.from_pretrained(src["dino"], local_files_only=True)
        sam_path = Path(src["sam"])
        cfg_file = sam_path.parent / "sam_config.json"
        cfg = json.loads(cfg_file.read_text()) if cfg_file.is_file() else {}
        sam = build_sam(cfg)
        state = torch.load(sam_path, map_location="cpu", weights_only=True)
        sam.load_state_dict(state)
        sam = sam.to(device).eval()
        clip = CLIPModel.from_pretrained(src["clip"], local_files_only=True).to(device).eval()
        clip_proc = AutoProcessor.from_pretrained(src["clip"], local_files_only=True)
        self._models = _Models(dino, dino_proc, SamPredictor(sam), clip, clip_proc, sources=src)
        return self._models

    def _boxes(self, m: _Models, image, prompt: str, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        import torch

        inputs = m.dino_processor(images=image, text=prompt, return_tensors="pt").to(m.dino.device)
        with torch.no_grad():
            out = m.dino(**inputs)
        res = m.dino_processor.post_process_grounded_object_detection(
            out,
            inputs["input_ids"],
            threshold=self.box_threshold,
            text_threshold=self.text_threshold,
            target_sizes=[size],
        )[0]
        boxes = res["boxes"].detach().cpu().numpy().reshape(-1, 4)
        scores = res["scores"].detach().cpu().numpy().reshape(-1)
        order = np.argsort(-scores)[: self.max_boxes]
        return boxes[order], scores[order]

    def _clip_scores(self, m: _Models, crop: np.ndarray, masks: list[np.ndarray], region: str) -> np.ndarray:
        """Softmax over all region prompts of each mask crop; returns the probability of ``region``'s prompt."""
        import torch

        names = list(self.prompts)
        images = []
        for mk in masks:
            ys, xs = np.nonzero(mk)
            patch = crop[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].copy()
            patch[~mk[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]] = 127
            images.append(patch)
        texts = [self.prompts[n].rstrip(".") for n in names]
        inputs = m.clip_processor(text=texts, images=images, return_tensors="pt", padding=True).to(m.clip.device)
        with torch.no_grad():
            logits = m.clip(**inputs).logits_per_image  # (M, P)
        prob = logits.double().softmax(dim=1).cpu().numpy()
        return prob[:, names.index(region)]

    def segment(self, crop: np.ndarray) -> RegionMasks:
        t0 = time.perf_counter()
        h, w = crop.shape[:2]
        with self._lock:
            m = self._load()
            m.sam_predictor.set_image(crop, image_format="RGB")
            found: dict[str, np.ndarray] = {}
            absent: dict[str, str] = {}
            scores: dict[str, float] = {}
            for region, prompt in self.prompts.items():
                boxes, box_scores = self._boxes(m, crop, prompt, (h, w))
                if len(boxes) == 0:
                    absent[region] = f"Grounding DINO found no box for {prompt!r} above {self.box_threshold}"
                    continue
                region_masks: list[np.ndarray] = []
                for box in boxes:
                    mk, _q, _low = m.sam_predictor.predict(
                        box=np.asarray(box, dtype=np.float64), multimask_output=False
                    )
                    if mk[0].any():
                        region_masks.append(mk[0].astype(bool))
                if not region_masks:
                    absent[region] = f"SAM returned empty masks for all {len(boxes)} boxes of {prompt!r}"
                    continue
                clip_p = self._clip_scores(m, crop, region_masks, region)
                kept = [mk for mk, p in zip(region_masks, clip_p, strict=True) if p >= self.clip_min]
                if not kept:
                    absent[region] = (
                        f"CLIP rejected all {len(region_masks)} masks for {prompt!r} (best prompt share "
                        f"{clip_p.max():.2f} < {self.clip_min:.2f})"
                    )
                    continue
                found[region] = np.logical_or.reduce(kept)
                scores[region] = float(clip_p.max())
            m.sam_predictor.reset_image()
        union = np.logical_or.reduce(list(found.values())) if found else np.zeros((h, w), dtype=bool)
        found["background"] = ~union
        masks = resolve_overlaps(found, REGIONS)
        for r in list(masks):
            if not masks[r].any():
                masks.pop(r)
                absent.setdefault(r, "covered entirely by higher-priority regions")
        approximate = {r: r == "background" for r in masks}
        return RegionMasks(
            masks=masks,
            approximate=approximate,
            absent=absent,
            segmenter=self.name,
            shape=(h, w),
            notes=(
                "one prompt at a time; CLIP keeps a mask when its prompt wins the softmax; "
                "background = no region found (derived)",
            ),
            elapsed_ms=(time.perf_counter() - t0) * 1e3,
            scores=scores,
        )
