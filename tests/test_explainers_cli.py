"""``python -m forensics explain``: overlays + JSON per face, folder summary with intervals, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("forensics.faces")
pytest.importorskip("forensics.evidence")

from forensics.cli import main  # noqa: E402
from forensics.evaluation import mean_ci  # noqa: E402


def _write_image(path, seed):
    from PIL import Image

    rng = np.random.default_rng(seed)
    img = (rng.random((96, 96, 3)) * 255).astype(np.uint8)
    Image.fromarray(img).save(path, format="PNG")


def test_mean_ci_matches_t_interval():
    res = mean_ci([1.0, 2.0, 3.0, 4.0])
    # t(0.975, 3) = 3.182446; sd = 1.290994; half-width = 3.182446 * 1.290994 / 2
    assert res["mean"] == pytest.approx(2.5) and res["n"] == 4
    assert res["ci_high"] - 2.5 == pytest.approx(3.182446 * 1.290994 / 2, rel=1e-5)
    assert mean_ci([None, 1.0])["ci_low"] is None


def test_cli_folder_untrained(tmp_path, capsys):
    src = tmp_path / "imgs"
    src.mkdir()
    for k in range(2):
        _write_image(src / f"img{k}.png", k)
    (src / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    rc = main(
        [
            "explain",
            str(src),
            "--methods",
            "gradcam,lrp-epsilon-plus-flat,lrp-captum",
            "--out",
            str(out),
            "--detector",
            "meso4",
            "--face-method",
            "whole",
            "--allow-untrained",
            "--steps",
            "4",
            "--road-percentiles",
            "",
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "UNTRAINED" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["faces"] == 2 and summary["untrained"] is True and "broken.png" in summary["errors"]
    diff = summary["methods"]["gradcam"]["difference"]
    assert diff["n"] == 2 and diff["ci_low"] <= diff["mean"] <= diff["ci_high"]
    assert set(summary["agreement"]) == {
        "gradcam|lrp-epsilon-plus-flat",
        "gradcam|lrp-captum",
        "lrp-epsilon-plus-flat|lrp-captum",
    }
    pngs = sorted(out.glob("*.png"))
    jsons = sorted(p for p in out.glob("*.json") if p.name != "summary.json")
    assert len(pngs) == len(jsons) == 2
    rec = json.loads(jsons[0].read_text())
    assert set(rec["maps"]) == {"gradcam", "lrp-epsilon-plus-flat", "lrp-captum"}
    f = rec["maps"]["gradcam"]["faithfulness"]
    assert len(f["deletion"]) == 5 and "road" not in f
    note = rec["maps"]["gradcam"]["measured"]  # an untrained meso4 has no measured figures of its own
    assert note["method"] == "gradcam" and note["detector"] == "meso4" and note["same_weights"] in (None, False)
    assert note["text"].startswith("Grad-CAM: ")  # the method as people read it (its registry title)
    from PIL import Image

    im = Image.open(pngs[0])
    assert im.mode == "RGB" and im.size[0] > 3 * 256  # crop + 3 overlays + 3 signed maps side by side


def test_cli_refuses_untrained_without_flag_and_bad_inputs(tmp_path):
    img = tmp_path / "a.png"
    _write_image(img, 3)
    out = tmp_path / "o"
    assert main(["explain", str(img), "--out", str(out), "--detector", "meso4"]) == 4
    assert (
        main(["explain", str(img), "--out", str(out), "--detector", "meso4", "--allow-untrained", "--methods", "nope"])
        == 4
    )
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8garbage")
    assert main(["explain", str(bad), "--out", str(out), "--detector", "meso4", "--allow-untrained"]) == 3


def test_cli_real_face_with_peer_weights(real_face_path, peer_weights, tmp_path):
    out = tmp_path / "o"
    rc = main(
        [
            "explain",
            str(real_face_path),
            "--out",
            str(out),
            "--detector",
            "meso4-df",
            "--methods",
            "gradcam,lrp-epsilon-plus-flat",
            "--face-method",
            "whole",
            "--steps",
            "4",
            "--road-percentiles",
            "50",
        ]
    )
    assert rc == 0
    rec = json.loads(next(p for p in out.glob("*.json")).read_text())
    assert rec["untrained"] is False and rec["detector"]["name"] == "meso4-df"
    assert rec["maps"]["gradcam"]["faithfulness"]["road"]["percentiles"] == [50]
    assert -1.0 <= rec["agreement"]["gradcam|lrp-epsilon-plus-flat"]["spearman"] <= 1.0
