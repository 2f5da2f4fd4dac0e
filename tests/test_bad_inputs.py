"""Every command that reads an evidence image, over the whole bad-input list: unreadable input exits 3 with a clear
message; odd but valid images (no face, many faces, CMYK, 16-bit, alpha, EXIF orientation) give a result or a
specific error, never a traceback. Images under 16 px are refused with exit 3 (attack 9: they crashed `checks` and
`report` with exit 1). All inputs are generated here or come from ui/examples."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "ui" / "examples"


def _png_header_only(w: int, h: int) -> bytes:
    """A 1-bit PNG whose header claims w x h pixels, with a few bytes of data (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _photo() -> Image.Image:
    return Image.open(EXAMPLES / "astronaut.jpg").convert("RGB")


def _many_faces() -> bytes:
    face = _photo().resize((256, 256))
    sheet = Image.new("RGB", (768, 512), "white")
    for i in range(6):
        sheet.paste(face, ((i % 3) * 256, (i // 3) * 256))
    return _save(sheet, "JPEG", quality=90)


def _oriented(value: int) -> bytes:
    exif = Image.Exif()
    exif[274] = value
    return _save(_photo().crop((100, 0, 400, 400)), "JPEG", quality=90, exif=exif)


def _sixteen_bit() -> bytes:
    grey = np.asarray(_photo().convert("L"), dtype=np.uint16) * 257
    return _save(Image.fromarray(grey, mode="I;16"), "PNG")


def _alpha() -> bytes:
    rgba = _photo().convert("RGBA")
    a = np.asarray(rgba).copy()
    a[:, :128, 3] = 0
    return _save(Image.fromarray(a), "PNG")


BAD = {  # exit 3, and the message names the problem
    "not an image": (lambda: b"just some text, not a picture\n" * 20, "not an image format"),
    "truncated": (lambda: (EXAMPLES / "astronaut.jpg").read_bytes()[:5000], "truncated"),
    "decompression bomb": (lambda: _png_header_only(40_000, 40_000), "too large to decode safely"),
    "huge": (lambda: _png_header_only(8_000, 7_000), "above the limit"),
    "empty": (lambda: b"", "empty"),
    "1 px": (lambda: _save(Image.new("RGB", (1, 1)), "PNG"), "minimum side"),
    "10x12 px": (lambda: _save(_photo().resize((12, 10)), "JPEG"), "minimum side"),
    "15 px": (lambda: _save(_photo().resize((15, 15)), "PNG"), "minimum side"),
    "15x400 px": (lambda: _save(_photo().resize((400, 15)), "PNG"), "minimum side"),
}
ODD = {  # valid images: a result (0) or a specific error such as "no face to explain" (4), never a traceback
    "no face": lambda: (EXAMPLES / "coffee_no_face.jpg").read_bytes(),
    "many faces": _many_faces,
    "CMYK": lambda: _save(_photo().convert("CMYK"), "JPEG", quality=90),
    "16-bit": _sixteen_bit,
    "alpha": _alpha,
    "EXIF orientation 7": lambda: _oriented(7),
    "EXIF orientation out of range": lambda: _oriented(42),
    "16 px": lambda: _save(_photo().resize((16, 16)), "PNG"),
}


def _commands(path: Path, out: Path) -> dict[str, list[str]]:
    det = ["--detector", "simplenet", "--allow-untrained"]
    return {
        "analyze": ["analyze", str(path), *det[:2], "--allow-untrained", "--no-log"],
        "checks": ["checks", str(path)],
        "explain": [
            "explain",
            str(path),
            "--methods",
            "gradcam",
            "--out",
            str(out / "ex"),
            "--detector",
            "simplenet",
            "--allow-untrained",
            "--steps",
            "4",
            "--road-percentiles",
            "",
        ],
        "regions": ["regions", str(path), "--explainer", "gradcam", "--detector", "simplenet"],
        "report": [
            "report",
            str(path),
            "--out",
            str(out / "rep"),
            *det,
            "--no-explain",
            "--no-checks",
            "--case-db",
            str(out / "cases.sqlite"),
        ],
    }


COMMANDS = ("analyze", "checks", "explain", "regions", "report")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", list(BAD))
def test_bad_input_exits_3_with_a_clear_message(kind, command, tmp_path, capsys):
    make, expected = BAD[kind]
    path = tmp_path / "evidence.jpg"
    path.write_bytes(make())
    rc = main(_commands(path, tmp_path)[command])
    err = capsys.readouterr().err
    assert rc == 3, err
    assert err.startswith("error: unreadable input:") and expected in err and "Traceback" not in err
    assert not (tmp_path / "rep").exists() or not list((tmp_path / "rep").iterdir())


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", list(ODD))
def test_odd_but_valid_input_never_reaches_a_traceback(kind, command, tmp_path, capsys):
    path = tmp_path / "evidence.img"
    data = ODD[kind]()
    path.write_bytes(data)
    rc = main(_commands(path, tmp_path)[command])
    err = capsys.readouterr().err
    assert rc in (0, 4), err
    if rc == 4:
        assert err.startswith("error: ") and len(err) > 20
    assert path.read_bytes() == data  # the evidence is never modified


def test_scan_records_every_bad_input_and_goes_on(tmp_path, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, (make, _) in enumerate(BAD.values()):
        (folder / f"bad{i}.png").write_bytes(make())
    rc = main(
        [
            "scan",
            str(folder),
            "--out",
            str(tmp_path / "s.sqlite"),
            "--detector",
            "simplenet",
            "--allow-untrained",
            "--face-method",
            "whole",
            "--workers",
            "0",
        ]
    )
    assert rc == 0
    from forensics.scan.store import ScanStore

    with ScanStore(tmp_path / "s.sqlite") as st:
        rows = st.rows("SELECT status, error FROM images")
    assert len(rows) == len(BAD) and all(r["status"] == "error" and "BadImageError" in r["error"] for r in rows)
