"""Fonts of the court report: every script the evidence name, the metadata or the examiner's text can carry.

- DejaVu Sans / Sans Mono (Debian's fonts-dejavu-core, on every machine this project runs on) print Latin, Greek,
  Cyrillic, Arabic, Hebrew and most symbols.
- Noto Sans CJK (PyPI ``noto-cjk-sans-jp-regular``, installed by scripts/setup.sh from requirements.txt; every Noto
  Sans CJK face holds the full Chinese, Japanese and Korean glyph set) is added as a fallback only when the report
  has a character DejaVu lacks: parsing its 16 MB file costs about 0.3-0.5 s, measured on this machine.
- Arabic and Hebrew need shaping (joined letter forms, right-to-left order): fpdf2 does it with ``uharfbuzz``
  (PyPI), switched on only when such text is present.

Whatever cannot be printed is recorded (``FontSet.unprintable``) and stated in the report's appendix, with what to
install, instead of vanishing silently.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
DEJAVU = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}  # no italic: each TTF costs ~0.1 s to parse
DEJAVU_MONO = "DejaVuSansMono.ttf"
CJK_PACKAGE = "noto-cjk-sans-jp-regular"
_SHAPED_BIDI = ("R", "AL")  # right-to-left letters: their order and joining need harfbuzz


def cjk_font_path() -> Path | None:
    """The Noto Sans CJK file of the PyPI package, or None when the package is not installed."""
    try:
        import noto_cjk_sans_jp_regular as pkg
    except ImportError:
        return None
    p = Path(str(pkg.FONT_PATH))
    return p if p.is_file() else None


def shaping_available() -> bool:
    try:
        import uharfbuzz  # noqa: F401
    except ImportError:
        return False
    return True


def needs_shaping(chars: Iterable[str]) -> bool:
    return any(unicodedata.bidirectional(c) in _SHAPED_BIDI for c in chars)


@dataclass
class FontSet:
    """The fonts registered with one FPDF document and what they cannot print."""

    unicode: bool
    family: str = "Helvetica"
    mono: str = "Courier"
    fallbacks: list[str] = field(default_factory=list)
    shaped: bool = False
    notes: list[str] = field(default_factory=list)
    covered: set[int] = field(default_factory=set)
    unprintable: set[str] = field(default_factory=set)

    def text(self, s: Any) -> str:
        """``s`` as the PDF can print it: unchanged with Unicode fonts (characters no font has are recorded), else
        reduced to Latin-1 with '?' for the rest."""
        s = str(s)
        if self.unicode:
            self.unprintable.update(c for c in s if ord(c) not in self.covered and c.isprintable() and c != " ")
            return s
        for a, b in (
            ("\u2013", "-"),
            ("\u2014", "-"),
            ("\u2019", "'"),
            ("\u201c", '"'),
            ("\u201d", '"'),
            ("\u2022", "-"),
        ):
            s = s.replace(a, b)
        self.unprintable.update(c for c in s if ord(c) > 255)
        return s.encode("latin-1", "replace").decode("latin-1")

    def missing_note(self) -> str | None:
        """A sentence for the report when some characters could not be printed, naming them and the remedy."""
        if not self.unprintable:
            return None
        shown = ", ".join(f"U+{ord(c):04X}" for c in sorted(self.unprintable)[:12])
        more = f" and {len(self.unprintable) - 12} more" if len(self.unprintable) > 12 else ""
        why = (
            "the DejaVu fonts (Debian package fonts-dejavu-core) are not installed, so only Latin-1 could be printed"
            if not self.unicode
            else f"no installed font has them (Chinese, Japanese and Korean need the PyPI package {CJK_PACKAGE})"
        )
        return (
            f"{len(self.unprintable)} distinct character(s) of this report could not be printed ({shown}{more}): "
            f"{why}. The JSON bundle holds the exact text."
        )


def register(pdf: Any, text_sample: str, font_dir: Path | None = None) -> FontSet:
    """Add the fonts ``text_sample`` needs to ``pdf`` (an FPDF) and return what was registered."""
    d = FONT_DIR if font_dir is None else font_dir
    if not all((d / f).is_file() for f in (*DEJAVU.values(), DEJAVU_MONO)):
        return FontSet(unicode=False, notes=[f"DejaVu fonts not found in {d}: core PDF fonts (Latin-1 only) used"])
    for style, f in DEJAVU.items():
        pdf.add_font("DejaVu", style, str(d / f))
    pdf.add_font("DejaVuMono", "", str(d / DEJAVU_MONO))
    fs = FontSet(unicode=True, family="DejaVu", mono="DejaVuMono")
    fs.covered = set(pdf.fonts["dejavu"].cmap) & set(pdf.fonts["dejavuB"].cmap)
    chars = set(text_sample)
    if any(ord(c) not in fs.covered and c.isprintable() for c in chars):
        cjk = cjk_font_path()
        if cjk is not None:
            pdf.add_font("NotoCJK", "", str(cjk))
            fs.covered |= set(pdf.fonts["notocjk"].cmap)
            fs.fallbacks.append("NotoCJK")
            pdf.set_fallback_fonts(fs.fallbacks, exact_match=False)
    if needs_shaping(chars):
        if shaping_available():
            pdf.set_text_shaping(True)
            fs.shaped = True
        else:
            fs.notes.append("right-to-left text is printed without shaping: the PyPI package uharfbuzz is missing")
    return fs
