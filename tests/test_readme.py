"""The README's examples run, and print exactly what their comments say they print; its quick
start holds what CI runs.

Every ```python block of README.md runs on its own, in a fresh namespace (as if pasted into a new
file, inside a temporary folder, as they write image files), so each must import what it uses.
A line ``print(a, b)  # text`` is checked: what it prints must be ``text``; where the README shows
a block's whole output after "It prints:", the output must be exactly that.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
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


# A python block, and the text block that follows it when the README says "It prints:".
BLOCK = re.compile(r"```python\n(.*?)```(?:\s*It prints:\s*```text\n(.*?)```)?", re.S)
TEXT = README.read_text(encoding="utf-8")
BLOCKS = [(m[1], m[2] or "") for m in BLOCK.finditer(TEXT)]
LINES = [f"README.md:{TEXT.count(chr(10), 0, m.start()) + 1}" for m in BLOCK.finditer(TEXT)]


def test_the_readme_has_examples_with_checked_output() -> None:
    assert len(BLOCKS) >= 5
    assert any(printed for _, printed in BLOCKS)
    assert sum(checked(block).count("_prints(") for block, _ in BLOCKS) >= 5


@pytest.mark.parametrize(("block", "printed"), BLOCKS, ids=LINES)
def test_each_example_runs_on_its_own_and_prints_what_it_says(
    block: str,
    printed: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"_prints": _prints, "__name__": "__main__"}
    exec(compile(checked(block), str(README), "exec"), namespace)
    if printed:
        assert capsys.readouterr().out == printed


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


def test_a_learners_install_is_shown_next_to_the_quick_start() -> None:
    section = TEXT.split("\n## Quick start\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    assert 'python -m pip install -e ".[demos]" && python -m demos' in section
