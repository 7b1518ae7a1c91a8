"""The README's examples run, and print exactly what their comments say they print.

Every ```python block of README.md runs in order in one namespace (inside a temporary folder, as
they write image files). A line ``print(a, b)  # text`` is checked: what it prints must be
``text``; where the README shows a block's whole output after "It prints:", the output must be
exactly that.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
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


def test_readme_examples_run_and_print_what_they_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    assert any(printed for _, printed in blocks)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"_prints": _prints}
    checks = 0
    for block, printed in blocks:
        code = checked(block)
        checks += code.count("_prints(")
        capsys.readouterr()
        exec(compile(code, str(README), "exec"), namespace)
        if printed:
            assert capsys.readouterr().out == printed
    assert checks >= 5
