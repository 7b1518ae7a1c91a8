"""Graphs that several test files draw and animate."""

from __future__ import annotations

import operator
from collections.abc import Callable

from tinygrad_edu import Parameter, Value
from tinygrad_edu.ops import BUILTINS

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
