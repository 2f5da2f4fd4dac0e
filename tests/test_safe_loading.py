"""Files the workbench loads cannot run code or hide tampering (issue 19, attack 10): training checkpoints load
with weights_only=True, and a tampered default weights file is reported as a SHA-256 mismatch."""

from __future__ import annotations

import json
import os

import pytest

from forensics.errors import ForensicsError, WeightsHashMismatchError


class _Payload:
    """A pickled object whose loading would create a marker file (what a hostile checkpoint does)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_resume_checkpoint_loads_plain_state_and_refuses_pickled_code(tmp_path):
    import torch

    from forensics.detectors import create_detector
    from forensics.training.trainer import load_checkpoint

    model = create_detector("simplenet", weights="none").model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.zeros(2, 3, 64, 64)).sum().backward()
    opt.step()
    history = [
        json.loads(json.dumps({"epoch": 0, "train_loss": 0.5, "val_nll": None, "val_acc": 0.75, "val_auc": 0.8}))
    ]
    good = tmp_path / "checkpoint.pt"
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "epoch": 0,
            "stage": 0,
            "history": history,
            "config_digest": "abc",
        },
        good,
    )
    state = load_checkpoint(good)
    assert state["history"] == history and state["epoch"] == 0
    opt.load_state_dict(state["optimizer"])  # the optimizer state survives the safe load
    marker = tmp_path / "code-ran"
    bad = tmp_path / "hostile.pt"
    torch.save({"model": model.state_dict(), "history": [_Payload(str(marker))]}, bad)
    with pytest.raises(ForensicsError, match="refused"):
        load_checkpoint(bad)
    assert not marker.exists()


def test_trainer_resumes_through_the_safe_loader():
    import inspect

    from forensics.training import trainer

    src = inspect.getsource(trainer)
    assert "weights_only=False" not in src and "state = load_checkpoint(ckpt_path)" in src


def test_tampered_default_weights_are_a_hash_mismatch_not_missing_weights(tmp_path, capsys):
    from forensics.detectors import DEFAULT_DETECTOR, default_detector_names

    wdir = tmp_path / "weights"
    wdir.mkdir()
    (wdir / "default.safetensors").write_bytes(b"tampered bytes")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "schema": 1,
                "entries": [
                    {
                        "name": DEFAULT_DETECTOR,
                        "file": "default.safetensors",
                        "sha256": "ab" * 32,
                        "architecture": "simplenet",
                    }
                ],
            }
        )
    )
    with pytest.raises(WeightsHashMismatchError, match="refused"):
        default_detector_names([wdir], manifest=manifest)
    (wdir / "default.safetensors").unlink()  # absent: no error, just no default
    assert DEFAULT_DETECTOR not in default_detector_names([wdir], manifest=manifest)
