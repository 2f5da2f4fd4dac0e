"""Classic checks on generated images with a known history (no shared data needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synthetic_images import (
    bilinear_upsample,
    camera_like_image,
    decode,
    exif_bytes,
    jpeg_bytes,
    png_bytes,
    splice_jpeg,
    zero_insertion_upsample,
)

from forensics.checks import (
    NEUTRAL,
    SUPPORTS_MANIPULATION,
    Finding,
    ela,
    estimate_double_jpeg,
    list_checks,
    noise_residual,
    power_spectrum,
    run_check,
    run_checks,
)
from forensics.checks.base import orient
from forensics.errors import UnknownComponentError
from forensics.evidence import load_evidence

BOX = (128, 192, 288, 352)  # y0, x0, y1, x1: 160x160 px, on the 8x8 grid


@pytest.fixture(scope="module")
def textured() -> np.ndarray:
    return camera_like_image(512, 512, seed=0)


@pytest.fixture(scope="module")
def spliced(textured) -> bytes:
    """q95 photo whose BOX comes from a q60 copy, all re-saved at q95 (the issue's scenario)."""
    return splice_jpeg(textured, BOX, base_quality=95, region_quality=60, final_quality=95)


def _mask(shape, box=BOX):
    m = np.zeros(shape, bool)
    m[box[0] : box[2], box[1] : box[3]] = True
    return m


# ----------------------------------------------------------------------------------------------------------- ELA
def test_ela_region_from_lower_quality_copy_has_lower_error(spliced):
    # Derived, then measured: the q60 region's coefficients already sit on a coarse grid that the q90 re-save
    # nearly preserves, and its high frequencies were zeroed, so its error is LOWER than the q95 surroundings
    # (the issue expected "higher"; that holds for fresh content pasted into a compressed photo, next test).
    r = ela(spliced, quality=90)
    m = _mask(r.max_channel.shape)
    inside, outside = r.max_channel[m].mean(), r.max_channel[~m].mean()
    assert inside < 0.5 * outside, (inside, outside)
    # the per-block energy map shows the same contrast
    e = r.block_energy
    em = _mask(e.shape, tuple(v // r.block for v in BOX))
    assert e[em].mean() < 0.3 * e[~em].mean()


def test_ela_fresh_content_in_compressed_photo_has_higher_error(textured):
    base = decode(jpeg_bytes(decode(jpeg_bytes(textured, 60)), 60))
    comp = base.copy()
    comp[BOX[0] : BOX[2], BOX[1] : BOX[3]] = textured[BOX[0] : BOX[2], BOX[1] : BOX[3]]
    r = ela(jpeg_bytes(comp, 95), quality=90)
    m = _mask(r.max_channel.shape)
    assert r.max_channel[m].mean() > 2.5 * r.max_channel[~m].mean()
    assert r.stats["top5_vs_median"] > 5


def test_ela_arrays_scale_and_known_values():
    flat = np.full((64, 64, 3), 128, np.uint8)  # a flat grey is reproduced exactly by JPEG (DC only)
    r = ela(flat, quality=75, scale="auto")
    assert r.diff.max() == 0 and r.scale == 1.0 and r.scaled.max() == 0
    img = camera_like_image(64, 96, seed=2)
    r = ela(img, quality=80, scale=10)
    assert r.diff.shape == (64, 96, 3) and r.diff.dtype == np.float32
    np.testing.assert_array_equal(r.max_channel, r.diff.max(axis=2))
    np.testing.assert_array_equal(r.scaled, np.clip(r.diff * 10, 0, 255).round().astype(np.uint8))
    auto = ela(img, quality=80, scale="auto")
    assert auto.scaled.max() == 255
    with pytest.raises(ValueError):
        ela(img, quality=0)


def test_ela_finding_on_png_warns_and_stays_neutral(textured):
    ev = load_evidence(png_bytes(textured), name="x.png")
    f = run_check("ela", ev)
    assert f.direction == NEUTRAL and f.applicable
    assert "not JPEG" in f.caveats[0]
    assert f.images["ela"].shape == textured.shape and f.images["ela"].dtype == np.uint8
    assert f.measured["is_jpeg"] is False


def test_ela_finding_warns_about_double_compression(textured):
    ev = load_evidence(jpeg_bytes(decode(jpeg_bytes(textured, 60)), 90), name="d.jpg")
    f = run_check("ela", ev)
    assert f.measured["double_compressed"] is True
    assert any("at least twice" in c for c in f.caveats)
    single = run_check("ela", load_evidence(jpeg_bytes(textured, 90), name="s.jpg"))
    assert not any("at least twice" in c for c in single.caveats)


def test_ela_maps_follow_exif_orientation():
    img = camera_like_image(96, 160, seed=4)  # stored 160 wide; orientation 6 displays it 96 wide
    ev = load_evidence(jpeg_bytes(img, 90, exif=exif_bytes(orientation=6)), name="rot.jpg")
    assert ev.image.shape == (160, 96, 3)
    f = run_check("ela", ev)
    for arr in f.images.values():
        assert arr.shape[:2] == (160, 96)
    # the map equals the stored-orientation ELA rotated like the image
    stored = ela(decode(ev.data), quality=90, subsampling=2)
    np.testing.assert_array_equal(f.images["ela"], orient(stored.scaled, 6))


def test_stored_pixels_come_from_the_evidence_for_every_orientation():
    """A rotated JPEG's stored pixels are the evidence's image turned back (no second decode): equal to a decode of
    the file as stored, for each EXIF orientation."""
    from forensics.checks.base import stored_rgb

    img = camera_like_image(40, 64, seed=5)
    for o in range(1, 9):
        ev = load_evidence(jpeg_bytes(img, 95, exif=exif_bytes(orientation=o)), name=f"o{o}.jpg")
        stored, got = stored_rgb(ev)
        assert got == o and ev.orientation == o
        np.testing.assert_array_equal(stored, decode(ev.data))
        np.testing.assert_array_equal(orient(stored, o), ev.image)


def test_the_checks_read_the_evidence_file_at_most_twice(monkeypatch):
    """Issue 32.4: after intake, every check together opens the evidence's bytes for the JPEG header once and for
    the luma plane once (the double-JPEG statistics), however many checks need them."""
    import PIL.Image

    from forensics.checks import run_checks
    from forensics.checks.jpeg_tools import decode_luma, jpeg_info

    img = camera_like_image(128, 192, seed=6)
    ev = load_evidence(jpeg_bytes(img, 85, exif=exif_bytes(orientation=6, software="x")), name="rot.jpg")
    jpeg_info.cache_clear()
    decode_luma.cache_clear()
    opened: list[int] = []
    real = PIL.Image.open

    def counting(fp, *args, **kwargs):
        if getattr(fp, "getvalue", lambda: None)() == ev.data:
            opened.append(1)
        return real(fp, *args, **kwargs)

    monkeypatch.setattr(PIL.Image, "open", counting)
    findings = run_checks(ev)
    assert {f.check for f in findings} >= {"ela", "jpeg-ghost", "double-jpeg", "metadata"}
    assert len(opened) <= 2


# ---------------------------------------------------------------------------------------------------- JPEG ghosts
def test_jpeg_ghost_finds_the_low_quality_region(spliced):
    f = run_check("jpeg-ghost", load_evidence(spliced, name="splice.jpg"))
    assert f.direction == SUPPORTS_MANIPULATION
    assert f.measured["ghost_quality"] in (55, 60, 65)
    area = (BOX[2] - BOX[0]) * (BOX[3] - BOX[1]) / 512**2
    assert abs(f.measured["ghost_area_fraction"] - area) < 0.03
    g = f.images["ghost_map"]
    m = _mask(g.shape)
    assert g[m].mean() > 0.8 and g[~m].mean() < 0.5
    # the same pixels saved as PNG: the ghost is still there, with no file quality to compare against
    p = run_check("jpeg-ghost", load_evidence(png_bytes(decode(spliced)), name="splice.png"))
    assert p.direction == SUPPORTS_MANIPULATION and p.measured["ghost_quality"] in (55, 60, 65)
    assert "None" not in p.summary and "not JPEG" not in p.summary


def test_jpeg_ghost_silent_on_single_and_whole_image_double(textured):
    single = run_check("jpeg-ghost", load_evidence(jpeg_bytes(textured, 95), name="s.jpg"))
    assert single.direction == NEUTRAL and single.measured["ghost_quality"] is None
    whole = run_check("jpeg-ghost", load_evidence(jpeg_bytes(decode(jpeg_bytes(textured, 60)), 95), name="w.jpg"))
    assert whole.direction == NEUTRAL  # not localised: that is the double-JPEG check's business
    assert whole.measured["curve_dip_quality"] == 60
    q, d = whole.series["ghost_curve"]
    assert q[int(np.argmin(d[:-1]))] == 60


# ----------------------------------------------------------------------------------------------------- double JPEG
@pytest.mark.parametrize("seed", [0, 1])
def test_double_jpeg_flags_double_not_single(seed):
    img = camera_like_image(256, 256, seed=seed)
    single = estimate_double_jpeg(jpeg_bytes(img, 90))
    double = estimate_double_jpeg(jpeg_bytes(decode(jpeg_bytes(img, 60)), 90))
    assert not single["double_compressed"] and single["median_ratio"] > 0.7
    assert double["double_compressed"] and double["median_ratio"] < 0.1
    assert double["votes"] >= 5
    assert abs(double["primary_quality_estimate"] - 60) <= 3
    assert double["file_quality_estimate"] == 90
    # decoded Y on the file's own grid divided by its table lands close to integers
    assert single["rounding_error"] < 0.15


def test_double_jpeg_finding_directions(textured):
    d = run_check("double-jpeg", load_evidence(jpeg_bytes(decode(jpeg_bytes(textured, 60)), 90), name="d.jpg"))
    assert d.direction == SUPPORTS_MANIPULATION and d.applicable
    assert any(k.startswith("dct_hist_") for k in d.series)
    s = run_check("double-jpeg", load_evidence(jpeg_bytes(textured, 90), name="s.jpg"))
    assert s.direction == NEUTRAL and s.applicable and s.measured["double_compressed"] is False


def test_double_jpeg_not_applicable_on_png(textured):
    f = run_check("double-jpeg", load_evidence(png_bytes(textured), name="x.png"))
    assert f.direction == NEUTRAL and f.applicable is False
    assert "Not applicable" in f.summary


# -------------------------------------------------------------------------------------------------------- spectrum
def test_spectrum_zero_insertion_peaks_vs_bilinear_control():
    img = camera_like_image(256, 256, seed=1)
    up = power_spectrum(zero_insertion_upsample(img, 2))
    ctrl = power_spectrum(bilinear_upsample(img, 2))
    assert up["peak_score_db"] > 25 and ctrl["peak_score_db"] < 10
    assert up["peak_score_db"] - ctrl["peak_score_db"] > 15
    strongest = {(round(p["fx"], 3), round(p["fy"], 3)) for p in up["peaks"][:3]}
    assert strongest == {(0.5, 0.0), (0.0, 0.5), (0.5, 0.5)}  # the replicas of zero frequency
    x4 = power_spectrum(zero_insertion_upsample(img, 4, blur_sigma=1.2))
    assert {(0.25, 0.0), (0.0, 0.25)} <= {(round(p["fx"], 3), round(p["fy"], 3)) for p in x4["peaks"]}


@pytest.mark.parametrize("fx,fy", [(0.3125, 0.0), (0.1875, 0.3125), (-0.1875, 0.3125), (0.0, 0.25)])
def test_spectrum_peak_of_a_pure_cosine_is_at_its_frequency(fx, fy):
    yy, xx = np.mgrid[0:512, 0:512]
    rng = np.random.default_rng(0)
    img = 128 + 40 * np.cos(2 * np.pi * (fx * xx + fy * yy)) + rng.normal(0, 3, (512, 512))
    s = power_spectrum(np.clip(img, 0, 255).round().astype(np.uint8))
    top = s["peaks"][0]
    assert (top["fx"], top["fy"]) == (fx, fy)  # bins are exact: the frequencies are multiples of 1/256
    assert top["excess_db"] > 20
    assert top["jpeg_grid"] == ((fx * 8) % 1 == 0 and (fy * 8) % 1 == 0)  # only (0, 1/4) lies on the k/8 lattice


def test_spectrum_finding_direction():
    img = camera_like_image(256, 256, seed=2)
    up = run_check("spectrum", load_evidence(png_bytes(zero_insertion_upsample(img)), name="gan.png"))
    assert up.direction == SUPPORTS_MANIPULATION and up.measured["score_used_db"] > 20
    ctrl = run_check("spectrum", load_evidence(png_bytes(bilinear_upsample(img)), name="bil.png"))
    assert ctrl.direction == NEUTRAL
    r, p = ctrl.series["azimuthal_spectrum"]
    assert r[0] == 0 and np.isfinite(p).all() and p[1] > p[len(p) // 2]  # power falls with frequency
    tiny = run_check("spectrum", load_evidence(png_bytes(img[:40, :40]), name="tiny.png"))
    assert tiny.applicable is False and tiny.direction == NEUTRAL


# ----------------------------------------------------------------------------------------------------------- noise
def test_noise_level_scales_with_sigma_and_finds_the_noisy_patch():
    rng = np.random.default_rng(0)
    base = np.full((256, 256), 120.0)
    noisy = base + rng.normal(0, 2.0, base.shape)
    noisy[64:128, 64:128] = 120 + rng.normal(0, 8.0, (64, 64))
    img = np.repeat(np.clip(noisy, 0, 255).round().astype(np.uint8)[..., None], 3, axis=2)
    r = noise_residual(img, block=32)
    lv = r["block_level"]
    ratio = lv[2:4, 2:4].mean() / np.median(lv)
    assert 3.7 < ratio < 4.3  # the residual level is linear in sigma (8 / 2)
    assert r["outliers"][2:4, 2:4].all() and r["outliers"].sum() <= 5
    assert r["stats"]["outlier_fraction"] == pytest.approx(r["outliers"].sum() / 64)


def test_median3x3_matches_scipy_reference():
    from scipy.ndimage import median_filter

    from forensics.checks.noise import median3x3

    rng = np.random.default_rng(3)
    for shape in [(3, 3), (5, 7), (40, 31), (480, 640)]:
        a = rng.normal(size=shape).astype(np.float32)  # the noise check's luma plane is float32
        np.testing.assert_array_equal(median3x3(a), median_filter(a, size=3, mode="reflect"))
    ints = rng.integers(0, 4, (17, 9)).astype(np.float32)  # many ties
    np.testing.assert_array_equal(median3x3(ints), median_filter(ints, size=3, mode="reflect"))
    u8 = rng.integers(0, 256, (33, 20), dtype=np.uint8)
    np.testing.assert_array_equal(median3x3(u8), median_filter(u8, size=3, mode="reflect"))


def test_noise_finding_is_neutral_with_maps(textured):
    f = run_check("noise", load_evidence(png_bytes(textured), name="x.png"))
    assert f.direction == NEUTRAL
    assert {"noise_residual", "noise_level", "noise_outliers"} <= set(f.images)
    for arr in f.images.values():
        assert arr.shape == textured.shape[:2] and arr.dtype == np.float32 and 0 <= arr.min() <= arr.max() <= 1


# --------------------------------------------------------------------------------------------- Finding and registry
def test_finding_rules_and_json():
    with pytest.raises(ValueError):
        Finding(
            check="x",
            title="x",
            measured={},
            direction="probably fake",
            reliability="",
            caveats=(),
            images={},
            summary="",
        )
    with pytest.raises(ValueError):
        Finding(
            check="x",
            title="x",
            measured={},
            direction=SUPPORTS_MANIPULATION,
            reliability="",
            caveats=(),
            images={},
            summary="",
            applicable=False,
        )
    f = Finding(
        check="x",
        title="x",
        measured={"a": np.float32(1.5), "b": float("nan"), "c": (1, 2)},
        direction=NEUTRAL,
        reliability="low",
        caveats=["c"],
        images={"m": np.zeros((3, 4), np.float32)},
        summary="s",
        series={"s": np.arange(3.0)},
    )
    d = f.to_dict()
    assert d["measured"] == {"a": 1.5, "b": None, "c": [1, 2]}
    assert d["images"] == {"m": {"shape": [3, 4], "dtype": "float32"}}
    assert d["series"] == {"s": [0.0, 1.0, 2.0]} and d["caveats"] == ["c"]
    json.dumps(d)


def test_run_checks_all_on_jpeg_is_json_ready(spliced):
    ev = load_evidence(spliced, name="splice.jpg")
    names = [c.name for c in list_checks()]
    assert names == ["metadata", "thumbnail", "double-jpeg", "ela", "jpeg-ghost", "noise", "copy-move", "spectrum"]
    findings = run_checks(ev, params={"ela": {"quality": 85}})
    assert [f.check for f in findings] == names
    assert all(f.elapsed_ms is not None and f.elapsed_ms >= 0 for f in findings)
    by = {f.check: f for f in findings}
    assert by["ela"].params["quality"] == 85
    assert by["jpeg-ghost"].direction == SUPPORTS_MANIPULATION
    # the q95 file whose region came from a q60 copy is not globally double compressed at a coarser step
    text = json.dumps([f.to_dict() for f in findings])
    assert "NaN" not in text
    with pytest.raises(UnknownComponentError, match="unknown check"):
        run_checks(ev, names=["ela", "nope"])
    with pytest.raises(UnknownComponentError, match="not run"):
        run_checks(ev, names=["ela"], params={"noise": {}})
    with pytest.raises(UnknownComponentError, match="no parameter 'qualty'; it takes: quality, scale, block"):
        run_check("ela", ev, qualty=80)
    assert next(c for c in list_checks() if c.name == "jpeg-ghost").params == ("qualities", "block")


def test_large_images_are_reduced_for_display_only():
    from forensics.checks.base import reduce_for_display

    big = np.zeros((4100, 2100), np.float32)
    big[:3, :3] = 1.0
    small = reduce_for_display(big)
    assert small.shape == (2050, 1050) and small.dtype == np.float32  # factor ceil(sqrt(8.61 MP / 4.19 MP)) = 2
    assert small[0, 0] == 1.0 and small[0, 1] == 0.5 and small[1, 1] == 0.25
    rgb = np.full((3000, 3000, 3), 7, np.uint8)
    assert reduce_for_display(rgb).shape == (1500, 1500, 3) and reduce_for_display(rgb).dtype == np.uint8
    tiny = np.ones((10, 10), np.float32)
    assert reduce_for_display(tiny) is tiny


def _encode(img: np.ndarray, mode: str, fmt: str, **kw) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).convert(mode).save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["grey-jpeg", "cmyk-jpeg", "progressive-double", "tiny-jpeg", "rgba-png", "webp"])
def test_every_check_handles_odd_files(kind):
    img = camera_like_image(200, 300, seed=1)
    data = {
        "grey-jpeg": lambda: _encode(img, "L", "JPEG", quality=85),
        "cmyk-jpeg": lambda: _encode(img, "CMYK", "JPEG", quality=85),
        "progressive-double": lambda: _encode(decode(jpeg_bytes(img, 60)), "RGB", "JPEG", quality=90, progressive=True),
        "tiny-jpeg": lambda: jpeg_bytes(img[:40, :40], 90),
        "rgba-png": lambda: _encode(img, "RGBA", "PNG"),
        "webp": lambda: _encode(img, "RGB", "WEBP", quality=80),
    }[kind]()
    findings = run_checks(load_evidence(data, name=kind))
    assert [f.check for f in findings] == [c.name for c in list_checks()]  # every registered check, in order
    assert all(f.direction != "supports an original" for f in findings)  # no check here can support an original
    by = {f.check: f for f in findings}
    if kind == "cmyk-jpeg":
        assert by["double-jpeg"].applicable is False and "CMYK" in by["double-jpeg"].summary
    if kind == "progressive-double":
        assert by["double-jpeg"].direction == SUPPORTS_MANIPULATION
    if kind in ("rgba-png", "webp"):
        assert by["double-jpeg"].applicable is False
    json.dumps([f.to_dict() for f in findings])


def test_double_jpeg_localises_content_inserted_after_the_first_compression(textured):
    base = decode(jpeg_bytes(textured, 60))
    comp = base.copy()
    comp[BOX[0] : BOX[2], BOX[1] : BOX[3]] = textured[BOX[0] : BOX[2], BOX[1] : BOX[3]]  # fresh, never compressed
    f = run_check("double-jpeg", load_evidence(jpeg_bytes(comp, 90), name="paste.jpg"))
    assert f.direction == SUPPORTS_MANIPULATION and f.measured["inconsistent_region"] is True
    assert abs(f.measured["inconsistent_area_fraction"] - 160 * 160 / 512**2) < 0.02
    m = f.images["double_jpeg_map"]
    assert m.shape == textured.shape[:2]
    inside = _mask(m.shape)
    assert m[inside].mean() > 0.8 and m[~inside].mean() < 0.1
    whole = run_check("double-jpeg", load_evidence(jpeg_bytes(base, 90), name="whole.jpg"))
    assert whole.direction == SUPPORTS_MANIPULATION and whole.measured["inconsistent_region"] is False


def test_double_jpeg_on_shared_lfw_face_swaps(shared_data):
    import csv

    rows = list(csv.DictReader((shared_data / "index.csv").open()))
    swaps = [r["path"] for r in rows if r["source"] == "lfw_faceswap" and r["path"].startswith("val/")][:5]
    reals = [r["path"] for r in rows if r["source"] == "lfw" and r["path"].startswith("val/")][:5]
    if len(swaps) < 5 or len(reals) < 5:
        pytest.skip("lfw / lfw_faceswap validation images are missing from ../shared/data")
    for p in swaps:  # LFW photo (q90) with a swapped face, saved again at q95: the face lacks the q90 trace
        f = run_check("double-jpeg", load_evidence(shared_data / p))
        assert f.measured["double_compressed"] and f.measured["inconsistent_region"], p
        m = f.images["double_jpeg_map"]
        h, w = m.shape
        assert m[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3].mean() > m.mean(), p  # the region is the face, centred
    for p in reals:
        assert run_check("double-jpeg", load_evidence(shared_data / p)).measured["double_compressed"] is False, p
