"""What several test files share: optional tools, example graphs, random expressions, and
reading the explorer's page back. Test files import from here, never from each other."""

from __future__ import annotations

import base64
import importlib
import json
import operator
import os
import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import numpy as np
import pytest
from hypothesis import strategies as st

from tinygrad_edu import Parameter, Value
from tinygrad_edu.ops import BUILTINS, UNARY
from tinygrad_edu.testing import Expression, expressions

# --- optional tools -------------------------------------------------------------------------------


def in_ci() -> bool:
    """CI sets the environment variable CI (to "true"); "", "0" and "false" mean a local run."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def missing(error: Exception) -> NoReturn:
    """A test's optional tool is absent: in CI that is a failure (``error`` is raised), so a
    broken environment can never pass by skipping; on a learner's machine the test is skipped,
    with the reason and what to install."""
    if in_ci():
        raise error
    pytest.skip(f"{error} (CI never skips this test)", allow_module_level=True)


def need(module: str) -> ModuleType:
    """The optional module, imported; if it is not installed, ``missing`` decides: skip the test
    (or the whole file, when called at module level) locally, fail with the ImportError in CI."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        missing(ImportError(f"{error}: pip install -e '.[dev]' installs it", name=error.name))


# --- files written to survive a power loss -------------------------------------------------------


def record_syncs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """From now on, every ``os.fsync`` (with the path of what it syncs) and every ``os.replace``
    (with its target) is appended to the returned list, in order, and still done."""
    events: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def recording_fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def recording_replace(source: Any, target: Any) -> None:
        events.append(("replace", str(target)))
        replace(source, target)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    return events


# --- example graphs -------------------------------------------------------------------------------

CALL: dict[str, Callable[..., Value]] = {
    **{name: operator.methodcaller(name) for name in UNARY if name.isalpha()},
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "neg": operator.neg,
    "leaky_relu": lambda x, slope: x.leaky_relu(slope),
    "maximum": lambda x, y: x.maximum(y),
    "minimum": lambda x, y: x.minimum(y),
}
"""How to apply each built-in operation of the table to Values (or numbers on the right)."""


def neuron() -> Value:
    """The course's neuron o = tanh(n), n = x1*w1 + x2*w2 + b, at the classic numbers (x1 = 2,
    x2 = 0, w1 = -3, w2 = 1, b = 6.88...: o = 0.7071): the weights and the bias are Parameters,
    x1 and x2 inputs; every leaf and n, o labelled; backward() not run."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Parameter(-3.0, label="w1"), Parameter(1.0, label="w2")
    b = Parameter(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


# --- random compositions ------------------------------------------------------------------------

# The library's own strategy (tinygrad_edu.testing.expressions, the one learners get), over the
# built-in operations: domain-limited operations get arguments that keep them defined (log and
# sqrt of e*e + 0.5, a positive base for **, a denominator e*e + 0.5, a slope in (0, 1)).

Tree = Expression

trees = expressions(ops=sorted(BUILTINS), inputs=3)


def build(tree: Tree, xs: tuple[Value, ...]) -> Value:
    """The expression computed from the Values ``xs``."""
    return tree(*xs)


points = st.lists(st.floats(-2, 2), min_size=3, max_size=3)


# --- reading the explorer's page back -------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def payload(page: Path) -> dict[str, Any]:
    """The data the page's script reads."""
    text = page.read_text(encoding="utf-8")
    match = re.search(
        r'<script type="application/json" id="explorer-data">(.*?)</script>', text, re.S
    )
    assert match
    return dict(json.loads(match[1]))


def inflate(packed: str, dtype: str) -> np.ndarray:
    return np.frombuffer(zlib.decompress(base64.b64decode(packed)), dtype=np.dtype(dtype))


def drawn_numbers(svg: str) -> list[str]:
    """The numbers of a drawing's data and grad cells, in document order."""
    numbers = []
    for text in ET.fromstring(svg).iter(f"{SVG}text"):
        if text.text and text.get("font-weight") != "bold":
            match = re.match(r"^(?:data|grad) (.+)$", text.text)
            if match:
                numbers.append(match[1])
    return numbers
