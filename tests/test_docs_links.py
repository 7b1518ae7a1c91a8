"""Every relative link of the READMEs and of the manual leads somewhere.

A link or an image ``[text](target)`` in README*.md or docs/**/*.md whose target is not a web
address must name a file or folder that exists, relative to the page. A link to a heading
(``engine.md#backpropagation``, or ``#quick-start`` on the same page) must name a heading of that
page, spelt as GitHub spells its anchors. Code (fenced blocks and `inline code`) is not looked at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([*ROOT.glob("README*.md"), *(ROOT / "docs").glob("**/*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCED = re.compile(r"^```.*?^```[^\n]*$", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, ...


def prose(markdown: str) -> str:
    """The text of a page without its code, where a link is never a link."""
    return INLINE_CODE.sub("", FENCED.sub("", markdown))


def links(markdown: str) -> list[str]:
    """The targets of the links and images of a page's prose, in order."""
    return LINK.findall(prose(markdown))


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped (letters of any
    script, digits, "_" and "-" kept), each space a hyphen."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The anchors of a page's headings; a repeated one gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCED.sub("", markdown)):
        anchor = slug(heading)
        if anchor in seen:
            seen[anchor] += 1
            anchor = f"{anchor}-{seen[anchor]}"
        else:
            seen[anchor] = 0
        found.add(anchor)
    return found


def broken(page: Path) -> list[str]:
    """The relative links of ``page`` that lead nowhere, each with the reason."""
    problems = []
    for target in links(page.read_text(encoding="utf-8")):
        if EXTERNAL.match(target):
            continue
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            problems.append(f"{target}: no such file")
        elif (
            anchor
            and destination.suffix == ".md"
            and anchor not in anchors(destination.read_text(encoding="utf-8"))
        ):
            problems.append(f"{target}: no heading with that anchor")
    return problems


def test_the_pages_are_found() -> None:
    names = {page.relative_to(ROOT).as_posix() for page in PAGES}
    assert {"README.md", "README.zh-TW.md", "docs/engine.md", "docs/zh-TW/engine.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page: Path) -> None:
    assert links(page.read_text(encoding="utf-8")), "a page of the manual links somewhere"
    assert broken(page) == []


def test_a_link_to_nowhere_is_reported_and_code_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## Step 2: the `grad` of it\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md#step-2-the-grad-of-it) [missing](gone.md) "
        "![image](gone.png) [bad anchor](other.md#nothing) [here](#page) [there](#nowhere)\n"
        "[web](https://example.org/x) `[not a link](code.md)`\n\n"
        "```python\nprint([1](2))\n```\n"
    )
    assert broken(page) == [
        "gone.md: no such file",
        "gone.png: no such file",
        "other.md#nothing: no heading with that anchor",
        "#nowhere: no heading with that anchor",
    ]


def test_anchors_are_spelt_as_github_spells_them() -> None:
    assert slug("From the shell: python -m viz and tinygrad-edu-viz") == (
        "from-the-shell-python--m-viz-and-tinygrad-edu-viz"
    )
    assert slug("Checking gradients: numerical_grad and check_grad") == (
        "checking-gradients-numerical_grad-and-check_grad"
    )
    assert slug("Layers, as PyTorch's") == "layers-as-pytorchs"
    assert slug("自己的運算：define_op") == "自己的運算define_op"
    assert anchors("# A\n\n## Notes\n\n## Notes\n") == {"a", "notes", "notes-1"}
