"""Scan statistics on a store with known contents, and a real scan with explanation + regions."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.evaluation import auc
from forensics.scan import ScanOptions, scan_folder
from forensics.scan.stats import (
    detection_metrics,
    embedding_map,
    mean_heatmaps,
    problem_faces,
    region_stats,
)
from forensics.scan.store import ImageRecord, ScanStore


@pytest.fixture()
def store(tmp_path):
    rng = np.random.default_rng(0)
    st = ScanStore(tmp_path / "s.sqlite")
    for i in range(40):
        fake = i % 2 == 1
        kind, source = ("gan", "sg") if fake else ("real", "camA" if i % 4 == 0 else "camB")
        p = float(np.clip(rng.normal(0.7 if fake else 0.3, 0.2), 0, 1))
        hm = np.zeros((8, 8), np.float32)
        hm[: 4 if fake else 8, :] = 1.0
        st.write(
            ImageRecord(
                sha256=f"{i:064x}",
                path=f"/d/{'fake/gan/sg' if fake else 'real/' + source}/{i}.png",
                label="fake" if fake else "real",
                kind=kind,
                source=source,
                status="done",
                faces=({"index": 0, "box": [0, 0, 8, 8], "confidence": 1.0, "thumb": b"png"},),
                scores=({"face_index": 0, "detector": "d", "p_fake": p, "probabilities": {"real": 1 - p, "fake": p}},),
                regions=(
                    {
                        "face_index": 0,
                        "detector": "d",
                        "explainer": "e",
                        "region": "hair",
                        "share": 0.8 if fake else 0.2,
                    },
                    {
                        "face_index": 0,
                        "detector": "d",
                        "explainer": "e",
                        "region": "skin",
                        "share": 0.2 if fake else 0.8,
                    },
                ),
                heatmaps=((0, "d", "e", hm),),
                embeddings=((0, "d", rng.normal(3.0 if fake else 0.0, 1.0, 16)),),
            )
        )
    yield st
    st.close()


def test_detection_metrics_match_direct_computation(store):
    m = detection_metrics(store, "d", n_boot=200)
    rows = store.rows("SELECT s.p_fake, i.label FROM scores s JOIN images i USING (sha256)")
    y = np.array([r["label"] == "fake" for r in rows])
    s = np.array([r["p_fake"] for r in rows])
    assert m["overall"]["auc"]["value"] == pytest.approx(auc(y, s))
    lo, hi = m["overall"]["auc"]["ci95"]
    assert lo <= m["overall"]["auc"]["value"] <= hi
    c = m["confusion"]
    assert c["real_called_fake"] == int(((~y) & (s >= 0.5)).sum())
    assert c["fake_called_fake"] == int((y & (s >= 0.5)).sum())
    assert sum(c.values()) == 40
    assert set(m["per_source"]) == {"real/camA", "real/camB", "gan/sg"}
    assert m["per_source"]["real/camA"]["n"] == 10


def test_region_stats_and_mean_heatmaps(store):
    rows = {(r["group"], r["region"]): r for r in region_stats(store, "d", "e")}
    assert rows[("fake", "hair")]["mean_share"] == pytest.approx(0.8)
    assert rows[("real", "skin")]["mean_share"] == pytest.approx(0.8)
    assert rows[("real", "hair")]["n"] == 20
    maps = mean_heatmaps(store, "d", "e")
    assert maps["fake"][1] == 20
    assert maps["fake"][0][:4].mean() == pytest.approx(1.0) and maps["fake"][0][4:].mean() == pytest.approx(0.0)
    assert maps["real"][0].mean() == pytest.approx(1.0)


def test_embedding_map_separates_classes_and_problem_list(store):
    emb = embedding_map(store, "d")
    xy = np.asarray(emb["xy"])
    lab = np.array(emb["label"])
    assert xy.shape == (40, 2)
    # clusters: mean distance to own class centroid below distance between centroids
    ca, cb = xy[lab == "real"].mean(0), xy[lab == "fake"].mean(0)
    spread = np.linalg.norm(xy[lab == "real"] - ca, axis=1).mean()
    assert np.linalg.norm(ca - cb) > spread
    probs = problem_faces(store, "d")
    for r in probs:
        assert (r["label"] == "real") == (r["problem"] == "false alarm")
        assert (r["p_fake"] >= 0.5) == (r["label"] == "real")


def test_real_scan_with_explainer_and_regions(tmp_path, shared_data):
    """Two real faces through classify + saliency + landmark regions: shares stored and summing to one."""
    import shutil

    root = tmp_path / "d" / "real" / "lfw"
    root.mkdir(parents=True)
    for p in sorted((shared_data / "val" / "real" / "lfw").glob("*.jpg"))[:2]:
        shutil.copy(p, root / p.name)
    opts = ScanOptions(detectors=("simplenet",), explainer="saliency", segmenter="landmarks", allow_untrained=True)
    s = scan_folder(tmp_path / "d", tmp_path / "r.sqlite", options=opts)
    assert s.done == 2 and s.faces >= 2
    with ScanStore(tmp_path / "r.sqlite") as st:
        per_face = st.rows(
            "SELECT sha256, face_index, SUM(share) AS total, COUNT(*) AS n FROM regions GROUP BY sha256, face_index"
        )
        assert per_face, "no region rows stored"
        for r in per_face:
            assert r["total"] == pytest.approx(1.0, abs=1e-6)
        assert len(st.heatmaps("simplenet", "saliency")) == s.faces


def test_bootstrap_interval_of_a_mean_agrees_with_the_normal_approximation():
    """The region tables' interval (scipy's bootstrap, in batches): for 400 normal values it brackets the mean and
    has the width 2 x 1.96 s / sqrt(n) of the normal approximation, within 15 %."""
    from forensics.scan.stats import _bootstrap_mean_ci

    v = np.random.default_rng(1).normal(0.3, 2.0, 400)
    lo, hi = _bootstrap_mean_ci(v, n_boot=2000)
    assert lo < v.mean() < hi
    assert (hi - lo) == pytest.approx(2 * 1.959964 * v.std(ddof=1) / np.sqrt(len(v)), rel=0.15)
    assert _bootstrap_mean_ci(np.full(5, 0.25)) == (0.25, 0.25) and _bootstrap_mean_ci(np.array([0.7])) == (0.7, 0.7)
