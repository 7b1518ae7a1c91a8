"""The Traditional Chinese pages are the English ones translated: the prose is, the code is not.

The pairs: README.md and README.zh-TW.md, and each page of the manual, docs/X.md and
docs/zh-TW/X.md. In each pair the fenced blocks come in the same order, and each Chinese block
holds its English twin's code: a ```python block the same code token for token, comments left out
(Python's own tokenizer finds them, so a ``#`` inside a string is code and must match), with the
same checked outputs (the comment of ``print(...)  # expected``, which tests/test_readme.py checks,
counts as code here); every other block (commands, printed output) byte for byte. So a Chinese
reader copies the very examples that tests/test_readme.py runs, with comments they can read.

The Chinese blocks are not run a second time: a block whose code and checked outputs are its
English twin's runs exactly as the twin does, and the twin runs in tests/test_readme.py. Running
them again would double the time of the slowest documentation tests and check nothing more.

The two pages of a pair link each other in their first lines and show the same images in the same
order, and the Chinese pages send readers to the Chinese notebooks. A page of the manual without a
Chinese version yet is linked, in English, from the Chinese README.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = ROOT / "README.md"
CHINESE = ROOT / "README.zh-TW.md"
DOCS = ROOT / "docs"
PAIRS = [(ENGLISH, CHINESE)] + [
    (page, DOCS / "zh-TW" / page.name)
    for page in sorted(DOCS.glob("*.md"))
    if (DOCS / "zh-TW" / page.name).is_file()
]
FIRST_LINES = 5  # where each page links its twin
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
NOTEBOOK = re.compile(r"\]\(([^)\s#]+\.ipynb)\)")
NOTEBOOKS = DOCS / "notebooks"
# A line whose printed output tests/test_readme.py checks: print(...)  # the output.
CHECKED_PRINT = re.compile(r"^\s*print\(.*\)\s+#")


def name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


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


def code(block: str) -> object:
    """What must be equal in two blocks: for Python, its tokens without comments and blank lines,
    except the comment of a checked ``print`` (an output, as tests/test_readme.py reads it); for
    any other block, its text."""
    fence, _, body = block.partition("\n")
    if fence.strip() != "```python":
        return block
    source = body.rsplit("```", 1)[0]
    tokens = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NL:
            continue
        if token.type == tokenize.COMMENT:
            if not CHECKED_PRINT.match(token.line):
                continue
            tokens.append((token.type, token.string[1:].removeprefix(" ").rstrip()))
        else:
            tokens.append((token.type, token.string))
    return tokens


def first_difference(
    english: list[Block],
    chinese: list[Block],
    names: tuple[str, str] = ("README.md", "README.zh-TW.md"),
) -> str | None:
    """None when both lists hold the same code in the same order; otherwise a sentence naming
    the first block that differs (or is missing) with its line numbers in each file."""
    en_name, zh_name = names
    for index, (en, zh) in enumerate(zip(english, chinese), start=1):
        if code(en.text) != code(zh.text):
            return (
                f"code block {index} differs: {en_name} lines {en.first}-{en.last}, "
                f"{zh_name} lines {zh.first}-{zh.last}; copy it from {en_name}"
            )
    if len(english) > len(chinese):
        missing = english[len(chinese)]
        return (
            f"{zh_name} has {len(chinese)} code blocks, {en_name} {len(english)}: "
            f"block {len(chinese) + 1} ({en_name} lines {missing.first}-{missing.last}) is missing"
        )
    if len(chinese) > len(english):
        extra = chinese[len(english)]
        return (
            f"{zh_name} has {len(chinese)} code blocks, {en_name} {len(english)}: "
            f"block {len(english) + 1} ({zh_name} lines {extra.first}-{extra.last}) "
            f"is not in {en_name}"
        )
    return None


def head(path: Path) -> str:
    return "\n".join(path.read_text(encoding="utf-8").split("\n")[:FIRST_LINES])


def targets(pattern: re.Pattern[str], page: Path) -> list[Path]:
    """The files that the links of ``page`` matching ``pattern`` lead to, in order."""
    text = page.read_text(encoding="utf-8")
    return [(page.parent / link).resolve() for link in pattern.findall(text)]


pairs = pytest.mark.parametrize(("english", "chinese"), PAIRS, ids=[name(zh) for _, zh in PAIRS])


def test_the_manual_is_translated_page_by_page() -> None:
    assert len(PAIRS) >= 7  # the README and the six pages of the manual at least
    blocks = sum(len(fenced_blocks(en.read_text(encoding="utf-8"))) for en, _ in PAIRS)
    assert blocks >= 25  # the examples, not an empty match
    assert CHINESE.stat().st_size <= 20 * 1024


def test_a_page_of_the_manual_without_a_translation_is_linked_in_english() -> None:
    chinese = CHINESE.read_text(encoding="utf-8")
    for page in sorted(DOCS.glob("*.md")):
        translated = DOCS / "zh-TW" / page.name
        link = f"(docs/zh-TW/{page.name})" if translated.is_file() else f"(docs/{page.name})"
        assert link in chinese, f"README.zh-TW.md does not link {link[1:-1]}"


@pairs
def test_every_code_block_is_the_english_pages_in_the_same_order(
    english: Path, chinese: Path
) -> None:
    en = fenced_blocks(english.read_text(encoding="utf-8"))
    zh = fenced_blocks(chinese.read_text(encoding="utf-8"))
    difference = first_difference(en, zh, (name(english), name(chinese)))
    assert difference is None, difference


def test_a_changed_missing_or_extra_block_is_named_with_its_lines() -> None:
    english = fenced_blocks("# A\n\n```python\nx = 1\n```\n\ntext\n\n```text\n1\n```\n")
    changed = fenced_blocks("# 甲\n\n```python\nx = 1\n```\n\n文字\n\n```text\n2\n```\n")
    assert [(b.first, b.last) for b in english] == [(3, 5), (9, 11)]
    assert first_difference(english, changed) == (
        "code block 2 differs: README.md lines 9-11, README.zh-TW.md lines 9-11; "
        "copy it from README.md"
    )
    assert first_difference(english, changed[:1], ("docs/a.md", "docs/zh-TW/a.md")) == (
        "docs/zh-TW/a.md has 1 code blocks, docs/a.md 2: block 2 (docs/a.md lines 9-11) is missing"
    )
    assert first_difference(english[:1], changed) == (
        "README.zh-TW.md has 2 code blocks, README.md 1: block 2 (README.zh-TW.md lines 9-11) "
        "is not in README.md"
    )
    assert first_difference(english, english) is None


def test_comments_may_be_translated_but_not_code_strings_or_checked_outputs() -> None:
    def same(en: str, zh: str, fence: str = "```python") -> bool:
        return code(f"{fence}\n{en}\n```") == code(f"{fence}\n{zh}\n```")

    assert same("x = 1  # one\ny = x", "# 一個註解\nx = 1  # 一\n\ny = x")
    assert not same("x = 1  # one", "x = 2  # one")
    assert not same("s = 'a # b'", "s = 'a # 乙'")  # inside a string: code, not a comment
    assert not same("print(x)  # 1.0", "print(x)  # 一")  # an output tests/test_readme.py checks
    assert same("print(x)  # 1.0", "print(x)    # 1.0")  # aligned differently
    assert not same("ls  # list", "ls  # 列出", fence="```bash")  # only Python is tokenized


@pairs
def test_each_page_links_its_twin_in_its_first_lines(english: Path, chinese: Path) -> None:
    assert f"({Path(chinese).relative_to(english.parent).as_posix()})" in head(english)
    back = Path("..", english.name) if english.parent != chinese.parent else Path(english.name)
    assert f"({back.as_posix()})" in head(chinese)


@pairs
def test_both_pages_show_the_same_images_in_the_same_order(english: Path, chinese: Path) -> None:
    assert targets(IMAGE, chinese) == targets(IMAGE, english)
    for image in targets(IMAGE, english):
        assert image.is_file(), image


def test_the_pages_show_their_pictures() -> None:
    assert len(targets(IMAGE, ENGLISH)) >= 2  # the animation and the first example's graph
    assert sum(len(targets(IMAGE, en)) for en, _ in PAIRS) >= 25


@pairs
def test_the_chinese_pages_link_each_notebook_in_its_chinese_version(
    english: Path, chinese: Path
) -> None:
    expected = [NOTEBOOKS / "zh-TW" / notebook.name for notebook in targets(NOTEBOOK, english)]
    assert targets(NOTEBOOK, chinese) == expected
    for notebook in expected:
        assert notebook.is_file(), notebook


def test_the_readmes_link_every_notebook_of_the_course() -> None:
    notebooks = set(NOTEBOOKS.glob("*.ipynb"))
    assert len(notebooks) >= 6
    assert set(targets(NOTEBOOK, ENGLISH)) == notebooks
    assert {path.name for path in targets(NOTEBOOK, CHINESE)} == {n.name for n in notebooks}
