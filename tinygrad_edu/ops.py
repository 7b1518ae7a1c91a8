"""The operations: plain float math and the table of local derivatives.

Every operation the engine knows is one row of ``OPS``: its name, its forward on floats and its
local derivative(s). A derivative rule is written once, like on a blackboard::

    "tanh": Op(tanh, lambda x, out: 1 - out * out)      # out = tanh(x); d out/dx = 1 - out**2

and the engine evaluates that same rule twice over:

* on floats, by ``Value.backward()``: ``x`` and ``out`` are the nodes' ``data``;
* on Values, by ``tinygrad_edu.grad()``: ``x`` and ``out`` are the nodes themselves, so the
  derivative is built out of recorded operations and can be differentiated again.

A rule may return a plain float where the local derivative is piecewise constant (relu, step,
abs, the ``1.0`` of ``+``): a constant has derivative zero, which is exactly right there.

Conventions at the kinks: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope, step' = 0 everywhere.

Forward functions raise a clear error for a domain error (ValueError) or a division by zero
(ZeroDivisionError), naming the operation and the operand. Inside :func:`ieee_arithmetic` they
return the IEEE 754 result instead (inf, -inf or nan): the engine evaluates derivatives there,
because a forward that succeeded must never make the backward pass crash (sqrt'(0) = 0.5 / 0 is
+inf, not an exception). Overflow is never an error: exp(1000) is inf, as IEEE says.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "OPS",
    "UNARY",
    "BINARY",
    "Op",
    "ieee_arithmetic",
]

_IEEE: ContextVar[bool] = ContextVar("tinygrad_edu_ieee", default=False)


@contextmanager
def ieee_arithmetic() -> Iterator[None]:
    """Within the block, forward functions return IEEE 754 results (inf, nan) instead of raising."""
    token = _IEEE.set(True)
    try:
        yield
    finally:
        _IEEE.reset(token)


def _fail(error: ArithmeticError | ValueError, ieee: Callable[[], Any]) -> float:
    """Raise ``error``, or inside :func:`ieee_arithmetic` return what numpy's float64 gives."""
    if not _IEEE.get():
        raise error
    with np.errstate(all="ignore"):
        return float(ieee())


def _show(x: float) -> str:
    return repr(float(x))


# --- forward functions on floats -----------------------------------------------------------


def add(x: float, y: float) -> float:
    """x + y"""
    return x + y


def sub(x: float, y: float) -> float:
    """x - y"""
    return x - y


def mul(x: float, y: float) -> float:
    """x * y"""
    return x * y


def div(x: float, y: float) -> float:
    """x / y; y = 0 raises ZeroDivisionError."""
    if y == 0:
        message = f"division by zero in '/': {_show(x)} / {_show(y)}"
        return _fail(ZeroDivisionError(message), lambda: np.divide(x, y))
    return x / y


def power(x: float, y: float) -> float:
    """x ** y; 0 to a negative power raises ZeroDivisionError, a negative base to a non-integer
    power raises ValueError; an overflow gives ±inf."""
    if x == 0 and y < 0:
        message = f"0 to a negative power in '**': {_show(x)} ** {_show(y)}"
        return _fail(ZeroDivisionError(message), lambda: np.power(x, y))
    if x < 0 and math.isfinite(y) and not float(y).is_integer():
        message = (
            f"a negative base to a non-integer power in '**': {_show(x)} ** {_show(y)}"
            " (the result would be a complex number)"
        )
        return _fail(ValueError(message), lambda: np.power(x, y))
    try:
        return float(x**y)
    except OverflowError:
        with np.errstate(all="ignore"):
            return float(np.power(x, y))


def neg(x: float) -> float:
    """-x"""
    return -x


def exp(x: float) -> float:
    """e ** x; inf when it overflows."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def log(x: float) -> float:
    """The natural logarithm; x <= 0 raises ValueError."""
    if x <= 0:
        kind = "zero" if x == 0 else "a negative number"
        return _fail(ValueError(f"log of {kind}: log({_show(x)})"), lambda: np.log(x))
    return math.log(x)


def sqrt(x: float) -> float:
    """The square root; x < 0 raises ValueError."""
    if x < 0:
        message = f"sqrt of a negative number: sqrt({_show(x)})"
        return _fail(ValueError(message), lambda: np.sqrt(x))
    return math.sqrt(x)


def tanh(x: float) -> float:
    """(e^x - e^-x) / (e^x + e^-x), computed without overflow."""
    return math.tanh(x)


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x), computed without overflow: for x < 0 as e^x / (1 + e^x)."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def softplus(x: float) -> float:
    """log(1 + e^x), computed without overflow as max(x, 0) + log(1 + e^-|x|)."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def relu(x: float) -> float:
    """max(x, 0)"""
    return 0.0 if x <= 0 else x


def leaky_relu(x: float, slope: float) -> float:
    """x for x > 0, slope * x otherwise."""
    return x if x > 0 else slope * x


def step(x: float) -> float:
    """The Heaviside step: 1 for x > 0, 0 otherwise."""
    return 1.0 if x > 0 else 0.0


def sin(x: float) -> float:
    """sin(x); an infinite x raises ValueError."""
    if math.isinf(x):
        return _fail(ValueError(f"sin of an infinite number: sin({_show(x)})"), lambda: np.sin(x))
    return math.sin(x)


def cos(x: float) -> float:
    """cos(x); an infinite x raises ValueError."""
    if math.isinf(x):
        return _fail(ValueError(f"cos of an infinite number: cos({_show(x)})"), lambda: np.cos(x))
    return math.cos(x)


def absolute(x: float) -> float:
    """|x|"""
    return abs(x)


# --- functions that the derivative rules call ----------------------------------------------


def _lift(on_floats: Callable[[float], float], method: str) -> Callable[[Any], Any]:
    """Let a rule call ``on_floats`` on a float, and the Value method of the same name on a
    Value (so the call is recorded in the graph)."""

    def either(x: Any) -> Any:
        return on_floats(x) if isinstance(x, float) else getattr(x, method)()

    return either


_sin, _cos, _log, _sigmoid = (
    _lift(sin, "sin"),
    _lift(cos, "cos"),
    _lift(log, "log"),
    _lift(sigmoid, "sigmoid"),
)


def _power_derivatives(x: Any, y: Any, out: Any) -> tuple[Any, Any]:
    """d(x**y)/dx = y * x**(y-1) and d(x**y)/dy = x**y * log|x|.

    For x > 0 the second is the familiar x**y * log(x). For x < 0, x**y is real only at integer
    y (any other y raised in the forward); there it is the real continuation |x|**y * cos(pi*y),
    whose derivative in y is x**y * log|x|. So (x - 1)**2 at x < 1 gives its constant 2 a
    finite gradient rather than nan. float() reads the data of a float or a Value alike
    (== on a Value compares identity).
    """
    # At x = y = 0, y * x**(y-1) would be 0 * inf; but x**0 is 1 for every x: flat in x.
    dx = 0.0 if float(x) == 0 and float(y) == 0 else y * x ** (y - 1)
    # 0**y is 0 for every y > 0: flat in y.
    dy = 0.0 if float(x) == 0 else out * _log(abs(x))
    return dx, dy


# --- the table -------------------------------------------------------------------------------


class Op(NamedTuple):
    """One operation: its forward on floats and its local derivative rule.

    A unary rule is ``(x, out) -> d out/dx``; a binary one is ``(x, y, out) -> (d out/dx,
    d out/dy)``. ``arity`` is the number of inputs.
    """

    forward: Callable[..., float]
    derivative: Callable[..., Any]
    arity: int
    formula: str


OPS: dict[str, Op] = {
    # name        forward      local derivative(s)                          arity  on the board
    "+": Op(add, lambda x, y, out: (1.0, 1.0), 2, "d/dx = 1, d/dy = 1"),
    "-": Op(sub, lambda x, y, out: (1.0, -1.0), 2, "d/dx = 1, d/dy = -1"),
    "*": Op(mul, lambda x, y, out: (y, x), 2, "d/dx = y, d/dy = x"),
    "/": Op(div, lambda x, y, out: (1 / y, -out / y), 2, "d/dx = 1/y, d/dy = -x/y²"),
    "**": Op(power, _power_derivatives, 2, "d/dx = y·x^(y-1), d/dy = x^y·log|x|"),
    "neg": Op(neg, lambda x, out: -1.0, 1, "d/dx = -1"),
    "exp": Op(exp, lambda x, out: out, 1, "d/dx = exp x"),
    "log": Op(log, lambda x, out: 1 / x, 1, "d/dx = 1/x"),
    "sqrt": Op(sqrt, lambda x, out: 0.5 / out, 1, "d/dx = 1/(2·sqrt x)"),
    "tanh": Op(tanh, lambda x, out: 1 - out * out, 1, "d/dx = 1 - tanh² x"),
    "sigmoid": Op(sigmoid, lambda x, out: out * (1 - out), 1, "d/dx = σ(x)·(1 - σ(x))"),
    "softplus": Op(softplus, lambda x, out: _sigmoid(x), 1, "d/dx = σ(x)"),
    "relu": Op(relu, lambda x, out: 1.0 if x > 0 else 0.0, 1, "d/dx = 1 if x > 0 else 0"),
    "leaky_relu": Op(
        leaky_relu,
        lambda x, slope, out: (1.0, 0.0) if x > 0 else (slope, x),
        2,
        "d/dx = 1 if x > 0 else slope, d/dslope = 0 if x > 0 else x",
    ),
    "step": Op(step, lambda x, out: 0.0, 1, "d/dx = 0"),
    "sin": Op(sin, lambda x, out: _cos(x), 1, "d/dx = cos x"),
    "cos": Op(cos, lambda x, out: -_sin(x), 1, "d/dx = -sin x"),
    "abs": Op(
        absolute,
        lambda x, out: 1.0 if x > 0 else (-1.0 if x < 0 else 0.0),
        1,
        "d/dx = sign x (0 at 0)",
    ),
}

UNARY: tuple[str, ...] = tuple(name for name, op in OPS.items() if op.arity == 1)
"""Names of the one-input operations, each also a method of ``Value`` (``x.tanh()``)."""

BINARY: tuple[str, ...] = tuple(name for name, op in OPS.items() if op.arity == 2)
"""Names of the two-input operations (the operators, and leaky_relu with its slope)."""
