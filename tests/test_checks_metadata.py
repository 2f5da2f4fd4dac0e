"""Metadata red flags and the EXIF thumbnail comparison, on generated files."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from synthetic_images import camera_like_image, exif_bytes, jpeg_bytes, png_bytes

from forensics.checks import NEUTRAL, SUPPORTS_MANIPULATION, run_check
from forensics.checks.metadata import exif_thumbnail, find_generator_names
from forensics.evidence import load_evidence

SD_PARAMETERS = (
    "portrait photo of a woman, 85mm\nNegative prompt: blurry, lowres\n"
    "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567, Size: 512x512, "
    "Model hash: 6ce0161689"
)


@pytest.fixture(scope="module")
def img() -> np.ndarray:
    return camera_like_image(120, 160, seed=5)


def _meta(data: bytes, name: str):
    return run_check("metadata", load_evidence(data, name=name))


def test_png_with_stable_diffusion_parameters_is_flagged(img):
    f = _meta(png_bytes(img, text={"parameters": SD_PARAMETERS}), "sd.png")
    assert f.direction == SUPPORTS_MANIPULATION
    assert any(
        "generation parameters" in g["name"] and g["where"] == "PNG text parameters" for g in f.measured["generators"]
    )
    assert "image generator" in f.summary


def test_png_parameters_chunk_without_sampler_words_is_not_a_generator(img):
    f = _meta(png_bytes(img, text={"parameters": "exposure=1.0; gamma=2.2"}), "p.png")
    assert f.direction == NEUTRAL and f.measured["generators"] == []


def test_camera_jpeg_with_exif_is_not_flagged(img):
    f = _meta(jpeg_bytes(img, 92, exif=exif_bytes(make="Canon", model="Canon EOS 80D")), "cam.jpg")
    assert f.direction == NEUTRAL
    assert f.measured["camera_exif"] is True and f.measured["camera_make"] == "Canon"
    assert f.measured["generators"] == [] and f.measured["editors"] == []
    assert any("not evidence of an original" in c for c in f.caveats)


def test_missing_camera_exif_is_neutral_and_says_weak(img):
    f = _meta(jpeg_bytes(img, 92), "bare.jpg")
    assert f.direction == NEUTRAL and f.measured["camera_exif"] is False
    assert any("never counts as support for manipulation" in c for c in f.caveats)


def test_editor_and_generator_software_names(img):
    ps = _meta(jpeg_bytes(img, 92, exif=exif_bytes(make="Nikon", software="Adobe Photoshop 25.0 (Windows)")), "p.jpg")
    assert ps.direction == SUPPORTS_MANIPULATION and ps.measured["editors"][0]["name"] == "Adobe Photoshop"
    assert ps.measured["generators"] == []
    lr = _meta(jpeg_bytes(img, 92, exif=exif_bytes(software="Adobe Lightroom Classic 13.0")), "lr.jpg")
    assert lr.direction == NEUTRAL and lr.measured["raw_developers"][0]["name"] == "Adobe Lightroom"
    nai = _meta(png_bytes(img, text={"Software": "NovelAI", "Source": "Stable Diffusion XL C1E1DE52"}), "n.png")
    assert {"NovelAI", "Stable Diffusion"} <= {g["name"] for g in nai.measured["generators"]}
    assert find_generator_names("features from an ImageNet backbone") == []
    assert find_generator_names("Made with DALL·E 3") == ["DALL-E"]
    assert find_generator_names("Adobe Firefly Image 3") == ["Adobe Firefly"]


def test_xmp_digital_source_type_trained_algorithmic_media(img):
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    f = _meta(jpeg_bytes(img, 90, xmp=xmp), "ai.jpg")
    assert f.direction == SUPPORTS_MANIPULATION
    assert any("trainedAlgorithmicMedia" in g["name"] for g in f.measured["generators"])


# An XMP packet as some writers make it: CreatorTool under the older xap: prefix, the digital source type as an
# rdf:resource element and the history as a sequence (one item nested in its own rdf:Description)
XMP_OTHER_FORMS = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:xap="http://ns.adobe.com/xap/1.0/" '
    b'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    b'xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">'
    b"<xap:CreatorTool>Adobe Firefly</xap:CreatorTool>"
    b'<Iptc4xmpExt:DigitalSourceType rdf:resource="http://cv.iptc.org/newscodes/digitalsourcetype/'
    b'trainedAlgorithmicMedia"/>'
    b'<xmpMM:History><rdf:Seq><rdf:li stEvt:action="created" stEvt:softwareAgent="Adobe Photoshop 25.0"/>'
    b'<rdf:li><rdf:Description stEvt:action="saved" stEvt:softwareAgent="GIMP 2.10"/></rdf:li></rdf:Seq>'
    b"</xmpMM:History></rdf:Description></rdf:RDF></x:xmpmeta>"
)
XMP_READ = {
    "creator_tool": "Adobe Firefly",
    "digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
    "history_software": ["Adobe Photoshop 25.0", "GIMP 2.10"],
    "history_actions": ["created", "saved"],
}


@pytest.mark.parametrize("reader", ["pillow", "pattern"])
def test_xmp_other_forms_are_read_by_pillow_and_by_the_fallback(img, reader, monkeypatch):
    """Issue 32.9: a regular expression that knew only xmp:CreatorTool and attribute-form source types missed both
    forms here, so a declared AI origin went unread. Pillow's getxmp() reads them; the pattern reader, used only
    when Pillow cannot parse a packet, reads them too."""
    from forensics.evidence import metadata

    if reader == "pattern":
        monkeypatch.setattr(metadata, "_pillow_xmp", lambda im: {})
    for data, name in ((jpeg_bytes(img, 90, xmp=XMP_OTHER_FORMS), "ai.jpg"), (_png_with_xmp(img), "ai.png")):
        xmp = load_evidence(data, name=name).metadata["xmp"]
        assert xmp["reader"] == reader and {k: xmp[k] for k in XMP_READ} == XMP_READ, name
        f = _meta(data, name)
        assert f.direction == SUPPORTS_MANIPULATION
        assert any("trainedAlgorithmicMedia" in g["name"] for g in f.measured["generators"])
        assert "Adobe Firefly" in str(f.measured) and "GIMP" in str(f.measured)


def _png_with_xmp(img) -> bytes:
    import io

    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP_OTHER_FORMS.decode())
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def _png_with_chunk(data: bytes, ctype: bytes, payload: bytes) -> bytes:
    chunk = struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + chunk + data[iend:]


def test_c2pa_presence_is_reported_not_verified(img):
    fake = b"\x00\x00\x00\x20jumb\x00\x00\x00\x18jumdc2pa\x00\x11\x00\x10c2pa.actions"
    f = _meta(_png_with_chunk(png_bytes(img), b"caBX", fake), "c2pa.png")
    assert f.measured["c2pa_present"] is True
    assert f.direction == NEUTRAL  # presence alone says nothing about AI; a C2PA reader must read the claims
    assert any("C2PA reader" in c for c in f.caveats)


# ------------------------------------------------------------------------------------------------------ thumbnail
def _with_thumb(image: np.ndarray, thumb_src: np.ndarray) -> bytes:
    small = np.asarray(Image.fromarray(thumb_src).resize((160, 120), Image.Resampling.BILINEAR))
    return jpeg_bytes(image, 92, exif=exif_bytes(make="Canon", model="EOS", thumbnail=jpeg_bytes(small, 75)))


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return camera_like_image(480, 640, seed=3)


def test_thumbnail_matching_is_neutral(photo):
    data = _with_thumb(photo, photo)
    assert exif_thumbnail(data)[:2] == b"\xff\xd8"
    f = run_check("thumbnail", load_evidence(data, name="t.jpg"))
    assert f.direction == NEUTRAL and f.applicable
    assert f.measured["correlation"] > 0.95 and not f.measured["content_differs"]
    assert f.images["thumbnail"].shape == (120, 160, 3)


def test_thumbnail_of_the_unedited_picture_flags_an_edit(photo):
    edited = photo.copy()
    edited[200:260, 300:360] = 255 - edited[200:260, 300:360]  # about 1.2% of the picture
    f = run_check("thumbnail", load_evidence(_with_thumb(edited, photo), name="e.jpg"))
    assert f.direction == SUPPORTS_MANIPULATION and f.measured["content_differs"]
    d = f.images["thumbnail_difference"]
    ys, xs = np.unravel_index(np.argmax(d), d.shape)
    assert 45 <= ys <= 70 and 70 <= xs <= 95  # the edit at 1/4 scale


def test_thumbnail_flags_a_crop(photo):
    f = run_check("thumbnail", load_evidence(_with_thumb(photo[:, 80:560], photo), name="c.jpg"))
    assert f.direction == SUPPORTS_MANIPULATION and f.measured["aspect_differs"]


def test_no_thumbnail_is_not_applicable(photo):
    f = run_check("thumbnail", load_evidence(jpeg_bytes(photo, 90), name="n.jpg"))
    assert f.applicable is False and f.direction == NEUTRAL
