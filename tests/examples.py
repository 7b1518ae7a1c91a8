"""What several test files share: optional tools and example graphs."""

from __future__ import annotations

import importlib
import operator
import os
from collections.abc import Callable
from types import ModuleType
from typing import NoReturn

import pytest

from tinygrad_edu import Parameter, Value
from tinygrad_edu.ops import BUILTINS

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


# --- example graphs -------------------------------------------------------------------------------

CALL: dict[str, Callable[..., Value]] = {
    **{name: operator.methodcaller(name) for name in BUILTINS if name.isalpha()},
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "neg": operator.neg,
    "leaky_relu": lambda x, slope: x.leaky_relu(slope),
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
