"""Grounded-SAM segmenter: end to end on tiny random-initialised models saved to a local folder (never downloaded).

The tokenizers are real transformers tokenizer classes built offline from a tiny vocabulary (no files fetched), so the
segmenter loads everything through the same ``from_pretrained(..., local_files_only=True)`` path as real weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from forensics.errors import UnavailableError
from forensics.segmentation import REGIONS, segment
from forensics.segmentation.grounded_sam import SAM_FILE, GroundedSamSegmenter

WORDS = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    ".",
    "hair",
    "ear",
    "eye",
    "eyebrow",
    "glasses",
    "nose",
    "mouth",
    "neck",
    "face",
]

TINY_SAM = {
    "encoder_embed_dim": 16,
    "encoder_depth": 2,
    "encoder_num_heads": 2,
    "encoder_global_attn_indexes": [1],
    "image_size": 64,
    "patch_size": 16,
    "window_size": 2,
    "prompt_embed_dim": 16,
    "mask_in_chans": 4,
    "decoder_depth": 1,
    "decoder_mlp_dim": 32,
    "decoder_num_heads": 2,
    "iou_head_depth": 2,
    "iou_head_hidden_dim": 16,
}


def build_tiny_folder(root: Path) -> Path:
    """Write tiny Grounding DINO, SAM and CLIP models (random weights) in the layout the segmenter reads."""
    import torch
    from transformers import (
        BertConfig,
        BertTokenizer,
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
        SwinConfig,
    )

    from forensics.segmentation.grounded_sam import build_sam

    torch.manual_seed(0)
    dino_cfg = GroundingDinoConfig(
        backbone_config=SwinConfig(
            image_size=64,
            embed_dim=8,
            depths=[1, 1, 1, 1],
            num_heads=[1, 1, 1, 1],
            window_size=4,
            out_features=["stage2", "stage3", "stage4"],
        ),
        text_config=BertConfig(
            vocab_size=len(WORDS),
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=64,
        ),
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        num_queries=6,
        num_feature_levels=3,
        encoder_n_points=1,
        decoder_n_points=1,
        max_text_len=32,
    )
    dino_dir = root / "grounding_dino"
    GroundingDinoForObjectDetection(dino_cfg).save_pretrained(dino_dir)
    GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessor(size={"shortest_edge": 64, "longest_edge": 64}),
        tokenizer=BertTokenizer(vocab={w: i for i, w in enumerate(WORDS)}),
    ).save_pretrained(dino_dir)

    sam_dir = root / "sam"
    sam_dir.mkdir(parents=True)
    (sam_dir / "sam_config.json").write_text(json.dumps(TINY_SAM))
    torch.save(build_sam(TINY_SAM).state_dict(), sam_dir / SAM_FILE)

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in sorted(set("".join(WORDS[5:]))):
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    clip_cfg = CLIPConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 32,
            "bos_token_id": 0,
            "eos_token_id": 1,
            "pad_token_id": 1,
        },
        vision_config={
            "image_size": 32,
            "patch_size": 8,
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        projection_dim=8,
    )
    clip_dir = root / "clip"
    CLIPModel(clip_cfg).save_pretrained(clip_dir)
    CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=CLIPTokenizer(vocab=vocab, merges=[]),
    ).save_pretrained(clip_dir)
    return root


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return build_tiny_folder(tmp_path_factory.mktemp("gsam"))


def test_unavailable_names_files(tmp_path, monkeypatch):
    import forensics.segmentation.grounded_sam as gs

    # repo ids that cannot be in any Hugging Face cache, so only the (empty) local folder counts
    monkeypatch.setattr(gs, "HF_DINO", "forensics-test/absent-dino")
    monkeypatch.setattr(gs, "HF_CLIP", "forensics-test/absent-clip")
    seg = GroundedSamSegmenter(root=tmp_path / "nothing")
    ok, reason = seg.available()
    assert not ok
    assert reason.startswith("needs files:")
    for part in ("grounding_dino/config.json", f"sam/{SAM_FILE}", "clip/config.json"):
        assert part in reason
    with pytest.raises(UnavailableError, match="needs files"):
        segment(np.zeros((64, 64, 3), np.uint8), seg)


def test_tiny_end_to_end(tiny_root):
    # thresholds 0 and clip_min 0: random weights must still exercise every stage (boxes, SAM masks, CLIP scores)
    seg = GroundedSamSegmenter(root=tiny_root, box_threshold=0.0, text_threshold=0.0, clip_min=0.0, max_boxes=2)
    assert seg.available() == (True, "")
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 256, size=(72, 80, 3), dtype=np.uint8)
    rm = segment(crop, seg)
    assert rm.segmenter == "grounded-sam" and rm.shape == (72, 80)
    assert set(rm.masks) - {"background"}, f"no region found: {rm.absent}"
    for name, m in rm.masks.items():
        assert m.shape == (72, 80) and m.dtype == bool and name in REGIONS
    # disjoint and complete: background is whatever no region claims
    total = sum(m.astype(int) for m in rm.masks.values())
    assert total.max() == 1 and not rm.unassigned().any()
    # every prompt either produced a region (with a CLIP score in [0, 1]) or is reported absent with a reason
    for region in seg.prompts:
        assert (
            (region in rm.masks and 0.0 <= rm.scores[region] <= 1.0)
            or region in rm.absent
            or rm.absent.get(region, "").startswith("covered")
        )
    assert rm.approximate.get("background", True) is True


def test_tiny_clip_rejection_reports_absent(tiny_root):
    seg = GroundedSamSegmenter(root=tiny_root, box_threshold=0.0, text_threshold=0.0, clip_min=1.01, max_boxes=1)
    rm = segment(np.full((48, 48, 3), 90, np.uint8), seg)
    assert set(rm.masks) == {"background"} and rm.masks["background"].all()
    assert all("CLIP rejected" in rm.absent[r] or "SAM returned empty" in rm.absent[r] for r in seg.prompts)
