"""README.zh-TW.md is README.md in Traditional Chinese: the prose is translated, the code is not.

Every fenced block (commands, Python, printed output) is the English README's, byte for byte and
in the same order, so the examples that tests/test_readme.py runs are the ones a Chinese reader
copies. The two READMEs link each other in their first lines, show the same images, and the
Chinese one sends readers to the Chinese notebooks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = ROOT / "README.md"
CHINESE = ROOT / "README.zh-TW.md"
FIRST_LINES = 5  # where each README links the other
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
NOTEBOOK = re.compile(r"\]\(([^)\s]+\.ipynb)\)")


class Block(NamedTuple):
    """A fenced block: its text from the opening fence to the closing one, and its lines."""

    text: str
    first: int
    last: int


def fenced_blocks(markdown: str) -> list[Block]:
    """The fenced blocks of a markdown text, in order (a fence is a line starting with ```)."""
    lines = markdown.split("\n")
    blocks = []
    opening = None
    for number, line in enumerate(lines, start=1):
        if not line.lstrip().startswith("```"):
            continue
        if opening is None:
            opening = number
        else:
            blocks.append(Block("\n".join(lines[opening - 1 : number]), opening, number))
            opening = None
    assert opening is None, f"a fence opened at line {opening} is never closed"
    return blocks


def first_difference(english: list[Block], chinese: list[Block]) -> str | None:
    """None when both lists hold the same texts in the same order; otherwise a sentence naming
    the first block that differs (or is missing) with its line numbers in each file."""
    for index, (en, zh) in enumerate(zip(english, chinese), start=1):
        if en.text != zh.text:
            return (
                f"code block {index} differs: README.md lines {en.first}-{en.last}, "
                f"README.zh-TW.md lines {zh.first}-{zh.last}; copy it from README.md"
            )
    if len(english) > len(chinese):
        missing = english[len(chinese)]
        return (
            f"README.zh-TW.md has {len(chinese)} code blocks, README.md {len(english)}: "
            f"block {len(chinese) + 1} (README.md lines {missing.first}-{missing.last}) is missing"
        )
    if len(chinese) > len(english):
        extra = chinese[len(english)]
        return (
            f"README.zh-TW.md has {len(chinese)} code blocks, README.md {len(english)}: "
            f"block {len(english) + 1} (README.zh-TW.md lines {extra.first}-{extra.last}) "
            "is not in README.md"
        )
    return None


def head(path: Path) -> str:
    return "\n".join(path.read_text(encoding="utf-8").split("\n")[:FIRST_LINES])


def test_every_code_block_is_the_english_readmes_in_the_same_order() -> None:
    english = fenced_blocks(ENGLISH.read_text(encoding="utf-8"))
    chinese = fenced_blocks(CHINESE.read_text(encoding="utf-8"))
    assert len(english) >= 20  # the README's examples, not an empty match
    assert first_difference(english, chinese) is None, first_difference(english, chinese)


def test_a_changed_missing_or_extra_block_is_named_with_its_lines() -> None:
    english = fenced_blocks("# A\n\n```python\nx = 1\n```\n\ntext\n\n```text\n1\n```\n")
    changed = fenced_blocks("# 甲\n\n```python\nx = 1\n```\n\n文字\n\n```text\n2\n```\n")
    assert [(b.first, b.last) for b in english] == [(3, 5), (9, 11)]
    assert first_difference(english, changed) == (
        "code block 2 differs: README.md lines 9-11, README.zh-TW.md lines 9-11; "
        "copy it from README.md"
    )
    assert first_difference(english, changed[:1]) == (
        "README.zh-TW.md has 1 code blocks, README.md 2: block 2 (README.md lines 9-11) is missing"
    )
    assert first_difference(english[:1], changed) == (
        "README.zh-TW.md has 2 code blocks, README.md 1: block 2 (README.zh-TW.md lines 9-11) "
        "is not in README.md"
    )
    assert first_difference(english, english) is None


def test_each_readme_links_the_other_in_its_first_lines() -> None:
    assert "(README.zh-TW.md)" in head(ENGLISH)
    assert "(README.md)" in head(CHINESE)


def test_both_readmes_show_the_same_images_in_the_same_order() -> None:
    english = IMAGE.findall(ENGLISH.read_text(encoding="utf-8"))
    chinese = IMAGE.findall(CHINESE.read_text(encoding="utf-8"))
    assert len(english) >= 10
    assert chinese == english


def test_the_chinese_readme_links_each_notebook_in_its_chinese_version() -> None:
    english = NOTEBOOK.findall(ENGLISH.read_text(encoding="utf-8"))
    chinese = NOTEBOOK.findall(CHINESE.read_text(encoding="utf-8"))
    assert len(english) == 6
    assert chinese == [
        link.replace("docs/notebooks/", "docs/notebooks/zh-TW/", 1) for link in english
    ]
    for link in chinese:
        assert (ROOT / link).is_file(), link
