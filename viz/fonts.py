"""Chinese text in matplotlib plots, on any machine: ``use_cjk_font()``.

matplotlib knows the fonts listed in its cache (``fontlist-v*.json``), written the first time it
ran. On a machine where that happened before the CJK fonts were installed (the demos ran, then
``fonts-noto-cjk`` arrived), the cache lacks them and every Chinese character is drawn as a box,
with a "Glyph ... missing from font(s)" warning. So the font is not looked up in that cache:
fontconfig (the system's own font list) names the file, and matplotlib is given the file itself.

matplotlib is imported only when the function is called: ``viz`` does not need it.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from matplotlib.font_manager import FontManager

__all__ = [
    "use_cjk_font",
    "find_cjk_font",
    "match_font",
    "FontFile",
    "FontMatch",
    "CJK_PATTERNS",
    "CJK_FAMILIES",
]

LATIN_FAMILY = "DejaVu Sans"
"""matplotlib's own font, first in ``font.family``: Latin letters, digits and math look as in
every other plot; characters it lacks fall back to the CJK font."""

CJK_PATTERNS = ("Noto Sans CJK TC:lang=zh-tw", "sans-serif:lang=zh-tw", "sans-serif:lang=zh-cn")
"""What fontconfig is asked for, in order: Noto Sans CJK in its Traditional Chinese face (Debian's
and Ubuntu's fonts-noto-cjk), else any sans-serif font for Traditional, then Simplified Chinese."""

CJK_FAMILIES = (
    "Noto Sans CJK TC",
    "Noto Sans TC",
    "Microsoft JhengHei",
    "PingFang TC",
    "Heiti TC",
    "Noto Sans CJK JP",
    "Microsoft YaHei",
    "PingFang SC",
)
"""Without fontconfig (Windows, some macOS set-ups), the first of these in matplotlib's own list."""


class FontFile(NamedTuple):
    """A font as fontconfig names it: its family, its file and the face in that file (a .ttc
    collection holds several: Noto Sans CJK's TC face is number 3)."""

    family: str
    file: str
    face: int


def find_cjk_font() -> FontFile | None:
    """The installed font fontconfig picks for Chinese text (see :data:`CJK_PATTERNS`), or None
    when fontconfig is absent or no installed font covers Chinese.

    fontconfig always answers with some font; it counts only if its languages include Chinese
    (``zh-tw``, ``zh-cn``, ...), so DejaVu Sans, the usual answer when no CJK font is installed,
    is not taken for one.
    """
    for pattern in CJK_PATTERNS:
        found = match_font(pattern)
        if found is not None and any(lang.startswith("zh") for lang in found.languages):
            return FontFile(found.family, found.file, found.face)
    return None


class FontMatch(NamedTuple):
    """fontconfig's answer for a pattern: the font (family, file, face) and its languages."""

    family: str
    file: str
    face: int
    languages: tuple[str, ...]


def match_font(pattern: str) -> FontMatch | None:
    """The installed font fontconfig picks for ``pattern`` (``fc-match``), or None when
    fontconfig is absent or answers nothing usable. fontconfig always picks some font: check its
    family or languages before taking it for the one asked for."""
    if shutil.which("fc-match") is None:
        return None
    done = subprocess.run(
        ["fc-match", "-f", "%{family}|%{file}|%{index}|%{lang}", pattern],
        capture_output=True,
        text=True,
        check=False,
    )
    parts = done.stdout.split("|", 3)
    if done.returncode != 0 or len(parts) != 4 or not parts[1]:
        return None
    family, file, index, languages = parts
    face = int(index) if index.isdigit() else 0
    return FontMatch(family.split(",")[0], file, face, tuple(languages.strip().split("|")))


def use_cjk_font() -> str | None:
    """Let matplotlib draw Chinese text whatever its font cache holds; return the CJK font's
    family name, or None when no CJK font is installed (then nothing changes).

    The font fontconfig finds (:func:`find_cjk_font`) is registered with matplotlib directly
    (``fontManager.addfont(file)``, not read from the cache), and ``rcParams["font.family"]``
    becomes ``["DejaVu Sans", <that font>]``: Latin text in DejaVu Sans, each character it
    lacks in the CJK font. Call it once, before plotting (a notebook's setup cell); calling it
    again changes nothing more.
    """
    from matplotlib import font_manager, rcParams

    manager = font_manager.fontManager
    found = find_cjk_font()
    if found is None:
        installed = {entry.name for entry in manager.ttflist}
        family = next((name for name in CJK_FAMILIES if name in installed), None)
    else:
        family = _registered(manager, found)
    if family is not None:
        rcParams["font.family"] = [LATIN_FAMILY, family]
    return family


def _registered(manager: FontManager, font: FontFile) -> str | None:
    """The family name under which matplotlib knows ``font``'s file, adding the file first if
    matplotlib does not list it (None if it cannot read it). fontconfig's family where
    matplotlib reads that face (every face of a .ttc since matplotlib 3.10), else the name
    matplotlib gave the file's first face."""
    names = [entry.name for entry in manager.ttflist if entry.fname == font.file]
    if not names:
        try:
            manager.addfont(font.file)
        except (OSError, RuntimeError, ValueError):  # unreadable, or not a font after all
            return None
        names = [entry.name for entry in manager.ttflist if entry.fname == font.file]
    if not names:
        return None
    return font.family if font.family in names else names[0]
