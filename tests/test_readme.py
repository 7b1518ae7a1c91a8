"""The README's and the manual's examples run, and print exactly what their comments say they
print; the README's quick start holds what CI runs.

Every ```python block of README.md and of each page of the manual (docs/*.md) runs on its own, in a
fresh namespace (as if pasted into a new file, inside a temporary folder, as they write image
files), so each must import what it uses. A line ``print(a, b)  # text`` is checked: what it prints
must be ``text``; where a page shows a block's whole output after "It prints:", the output must be
exactly that. A test's id is the page and the line of the block's opening fence
(``docs/engine.md:42``), and a traceback's line numbers are the page's own.

The Traditional Chinese pages are not run again: tests/test_readme_zh_tw.py holds their code to
the English pages' code, token for token.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
PRINT_WITH_OUTPUT = re.compile(r"^(\s*)print\((.*)\)\s+#\s?(.*)$")


def checked(block: str) -> str:
    """The block with each commented print turned into a check of what it prints."""
    lines = []
    for line in block.splitlines():
        match = PRINT_WITH_OUTPUT.match(line)
        if match:
            indent, args, expected = match.groups()
            line = f"{indent}_prints({expected!r}, {args})"
        lines.append(line)
    return "\n".join(lines)


def _prints(expected: str, *args: object) -> None:
    """print(*args), after checking that it prints ``expected``."""
    assert " ".join(str(a) for a in args) == expected.rstrip()
    print(*args)


# A python block, and the text block that follows it when the page says "It prints:".
BLOCK = re.compile(r"```python\n(.*?)```(?:\s*It prints:\s*```text\n(.*?)```)?", re.S)


class Example(NamedTuple):
    """A python block of a page: its code, the output shown after it ("" if none), where it is."""

    code: str
    printed: str
    page: Path
    line: int  # the line of the opening fence; the code starts on the next one

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT).as_posix()}:{self.line}"


def examples(page: Path) -> list[Example]:
    text = page.read_text(encoding="utf-8")
    return [
        Example(m[1], m[2] or "", page, text.count("\n", 0, m.start()) + 1)
        for m in BLOCK.finditer(text)
    ]


TEXT = README.read_text(encoding="utf-8")
EXAMPLES = [example for page in PAGES for example in examples(page)]


def test_the_manual_has_a_page_per_subject_each_with_examples_that_check_their_output() -> None:
    names = {page.name for page in PAGES}
    for subject in ("engine", "training", "compiled", "drawing", "performance", "contributing"):
        assert f"{subject}.md" in names
    for page in ("README.md", "engine.md", "training.md", "compiled.md", "drawing.md"):
        assert any(e.page.name == page for e in EXAMPLES), page
    assert len(EXAMPLES) >= 15
    assert sum(bool(e.printed) for e in EXAMPLES) >= 5
    assert sum(checked(e.code).count("_prints(") for e in EXAMPLES) >= 20
    readme = [e for e in EXAMPLES if e.page == README]
    assert any(e.printed for e in readme)  # the first example shows what it prints


def test_the_readme_is_an_entry_that_links_every_page_of_the_manual() -> None:
    assert README.stat().st_size <= 16 * 1024
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in TEXT, page.name
    assert "\n## The course map\n" in TEXT


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_python_block_of_a_page_is_found(page: Path) -> None:
    """A fence spelt ```python is an example; none is skipped by a near miss of the pattern."""
    text = page.read_text(encoding="utf-8")
    assert len(examples(page)) == text.count("```python\n")
    assert not re.search(r"^```\s*(py|python3|pycon)\s*$", text, re.M)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_each_example_runs_on_its_own_and_prints_what_it_says(
    example: Example,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"_prints": _prints, "__name__": "__main__"}
    code = "\n" * example.line + checked(example.code)  # tracebacks give the page's line numbers
    exec(compile(code, str(example.page), "exec"), namespace)
    if example.printed:
        assert capsys.readouterr().out == example.printed


# --- the quick start ----------------------------------------------------------------------------


def quick_start() -> list[str]:
    """The commands of the fenced block under "## Quick start" (comment lines left out), read as
    .ci/run reads them."""
    section = TEXT.split("\n## Quick start\n", 1)[1]
    block = section.split("```", 2)[1]
    return [
        line
        for line in block.splitlines()[1:]
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_quick_start_is_two_commands_install_and_demos_then_the_whole_suite() -> None:
    install, test = quick_start()
    steps = install.split(" && ")
    assert 'python -m pip install -e ".[dev]"' in steps  # every extra, the tests' needs too
    assert steps[-1] == "python -m demos"
    debian = (
        "graphviz",
        "fontconfig",
        "fonts-noto-cjk",
        "chromium",
        "chromium-driver",
        "python3-venv",
    )
    for package in debian:
        assert f" {package}" in install
    assert test == "python -m pytest"


def test_ci_runs_the_quick_start_as_it_is_after_installing_what_the_tests_need() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "## Quick start" in ci  # it reads the commands from the README, not a copy
    assert 'eval "${quickstart[0]}"' in ci and 'eval "${quickstart[1]}"' in ci
    assert "sudo()" not in ci  # no shim: the README's own line must work as root
    lines = ci.replace("\\\n", " ")  # continued lines joined
    installed = re.search(r"^apt-get install -y (.*)$", lines, re.M)
    assert installed is not None
    packages = set(installed[1].split())
    readme = re.search(r"apt-get install -y (.*?) &&", quick_start()[0])
    assert readme is not None
    assert set(readme[1].split()) <= packages  # at least what the README installs


@pytest.mark.skipif(shutil.which("bash") is None, reason="the quick start is a bash command")
@pytest.mark.parametrize("with_sudo", [True, False], ids=["a user with sudo", "root without"])
def test_the_install_line_works_with_sudo_and_without(tmp_path: Path, with_sudo: bool) -> None:
    """The apt-get part of the first command, with stand-ins for apt-get (and sudo) on PATH."""
    install = quick_start()[0]
    apt = " && ".join(step for step in install.split(" && ") if "apt-get" in step)
    log = tmp_path / "log"
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    programs = {"apt-get": f'echo "apt-get $1" >> {log}'}
    if with_sudo:
        programs["sudo"] = f'echo "sudo $1" >> {log}; "$@"'
    for name, body in programs.items():
        (stand_ins / name).write_text(f"#!/bin/sh\n{body}\n")
        (stand_ins / name).chmod(0o755)
    bash = shutil.which("bash")
    assert bash is not None
    env = {"PATH": f"{stand_ins}{os.pathsep}/usr/bin:/bin", "LC_ALL": "C"}
    if not with_sudo:  # a machine without sudo: only the stand-in directory and the shell's own
        env["PATH"] = str(stand_ins)
    done = subprocess.run([bash, "-c", apt], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    expected = ["apt-get update", "apt-get install"]
    if with_sudo:
        expected = ["sudo apt-get", "apt-get update", "sudo apt-get", "apt-get install"]
    assert calls == expected


def test_a_learners_install_comes_first_before_the_quick_start() -> None:
    before = TEXT.split("\n## Quick start\n", 1)[0]
    learners = 'python -m pip install -e ".[demos]" && python -m demos'
    assert learners in before
    assert before.index("\n## ") == before.index("\n## Install\n")  # the first section
