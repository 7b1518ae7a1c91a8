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

Conventions at the kinks: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope, step' = 0 everywhere;
on a tie (x == y) ``maximum`` and ``minimum`` pass the whole gradient to their first input x and
none to y (their derivative is the indicator of the input they chose: 1 for it, 0 for the other).

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
    "BUILTINS",
    "PARTIAL",
    "Op",
    "ieee_arithmetic",
    "where",
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


def maximum(x: float, y: float) -> float:
    """The larger of x and y (x on a tie); nan if either is nan, as ``np.maximum``."""
    return x if x >= y or x != x else y


def minimum(x: float, y: float) -> float:
    """The smaller of x and y (x on a tie); nan if either is nan, as ``np.minimum``."""
    return x if x <= y or x != x else y


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
#
# A rule is evaluated on three kinds of operand: floats (``backward``), Values (``grad``) and
# numpy arrays (the compiled replay, :mod:`tinygrad_edu.compile`, one array per group of nodes).
# Arithmetic (+ - * / **) works on all three as it is; the few other things a rule needs are
# these helpers, each of which picks the right form for its operand.


def _lift(on_floats: Callable[[float], float], method: str, ufunc: Any) -> Callable[[Any], Any]:
    """Let a rule call ``on_floats`` on a float, the Value method of the same name on a Value (so
    the call is recorded in the graph) and numpy's ``ufunc`` on an array."""

    def either(x: Any) -> Any:
        if isinstance(x, float):
            return on_floats(x)
        if isinstance(x, np.ndarray):
            return ufunc(x)
        return getattr(x, method)()

    return either


def _sigmoid_array(x: np.ndarray) -> np.ndarray:
    """sigmoid on an array, with the same two stable branches as :func:`sigmoid`."""
    e = np.exp(-np.abs(x))
    out: np.ndarray = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


_sin, _cos, _log, _sigmoid = (
    _lift(sin, "sin", np.sin),
    _lift(cos, "cos", np.cos),
    _lift(log, "log", np.log),
    _lift(sigmoid, "sigmoid", _sigmoid_array),
)


def where(condition: Any, if_true: Any, if_false: Any) -> Any:
    """``if_true if condition else if_false``, elementwise when ``condition`` is an array.

    The one way a rule chooses between two branches (relu's 1 or 0), so that the same rule
    runs on floats, on Values (a comparison of Values compares their data) and on arrays.
    """
    if isinstance(condition, np.ndarray):
        return np.where(condition, if_true, if_false)
    return if_true if condition else if_false


def _data(x: Any) -> Any:
    """The numbers of an operand: a float or an array as it is, a Value's ``data``."""
    return x if isinstance(x, (float, np.ndarray)) else x.data


def _power_derivatives(x: Any, y: Any, out: Any) -> tuple[Any, Any]:
    """d(x**y)/dx = y * x**(y-1) and d(x**y)/dy = x**y * log|x|.

    For x > 0 the second is the familiar x**y * log(x). For x < 0, x**y is real only at integer
    y (any other y raised in the forward); there it is the real continuation |x|**y * cos(pi*y),
    whose derivative in y is x**y * log|x|. So (x - 1)**2 at x < 1 gives its constant 2 a
    finite gradient rather than nan.
    """
    x_is_zero = _data(x) == 0
    # At x = y = 0, y * x**(y-1) would be 0 * inf; but x**0 is 1 for every x: flat in x.
    dx = where(x_is_zero & (_data(y) == 0), 0.0, y * x ** (y - 1))
    # 0**y is 0 for every y > 0: flat in y.
    dy = where(x_is_zero, 0.0, out * _log(abs(x)))
    return dx, dy


# --- the table -------------------------------------------------------------------------------


class Op(NamedTuple):
    """One operation: its forward on floats, its local derivative rule, and its forward on arrays.

    A unary rule is ``(x, out) -> d out/dx``; a binary one is ``(x, y, out) -> (d out/dx,
    d out/dy)``. ``arity`` is the number of inputs. ``on_arrays`` is the same forward on numpy
    arrays, elementwise (the compiled replay's); ``None`` for an operation defined with
    :func:`tinygrad_edu.define_op`, whose float forward is then applied element by element.
    ``formula`` is the rule as the animation's captions and ``explain`` print it.
    """

    forward: Callable[..., float]
    derivative: Callable[..., Any]
    arity: int
    on_arrays: Callable[..., np.ndarray] | None
    formula: str


def _softplus_array(x: np.ndarray) -> np.ndarray:
    """softplus on an array, in the stable form of :func:`softplus`."""
    out: np.ndarray = np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))
    return out


def _relu_array(x: np.ndarray) -> np.ndarray:
    """relu on an array: max(x, 0), with relu(0) = 0 as :func:`relu`."""
    out: np.ndarray = np.where(x <= 0, 0.0, x)
    return out


def _leaky_relu_array(x: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """leaky_relu on arrays, as :func:`leaky_relu`."""
    out: np.ndarray = np.where(x > 0, x, slope * x)
    return out


def _leaky_relu_derivatives(x: Any, slope: Any, out: Any) -> tuple[Any, Any]:
    """d/dx = 1 for x > 0, else slope (slope at 0); d/dslope = 0 for x > 0, else x."""
    return where(x > 0, 1.0, slope), where(x > 0, 0.0, x)


def _chosen(x_chosen: Any) -> tuple[Any, Any]:
    """The derivatives of maximum and minimum: 1 for the input chosen, 0 for the other (x on a
    tie, so ``x_chosen`` is x >= y for maximum, x <= y for minimum)."""
    return where(x_chosen, 1.0, 0.0), where(x_chosen, 0.0, 1.0)


def _step_array(x: np.ndarray) -> np.ndarray:
    """The Heaviside step on an array, as :func:`step`."""
    out: np.ndarray = np.where(x > 0, 1.0, 0.0)
    return out


def _maximum_array(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """maximum on arrays, bit for bit as :func:`maximum` (np.maximum differs on ±0: it may
    give 0.0 where x = -0.0 is chosen on the tie)."""
    out: np.ndarray = np.where((x >= y) | (x != x), x, y)
    return out


def _minimum_array(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """minimum on arrays, bit for bit as :func:`minimum`."""
    out: np.ndarray = np.where((x <= y) | (x != x), x, y)
    return out


# One row per operation, as on the blackboard: its forward and its local derivative(s); then its
# arity, its forward on arrays (the compiled replay's) and the formula the captions print.
# fmt: off
OPS: dict[str, Op] = {
    # name           forward     local derivative(s)                                        arity on arrays       formula, as captions print it
    "+":          Op(add,        lambda x, y, out: (1.0, 1.0),                              2, np.add,            "d/dx = 1, d/dy = 1"),
    "-":          Op(sub,        lambda x, y, out: (1.0, -1.0),                             2, np.subtract,       "d/dx = 1, d/dy = -1"),
    "*":          Op(mul,        lambda x, y, out: (y, x),                                  2, np.multiply,       "d/dx = y, d/dy = x"),
    "/":          Op(div,        lambda x, y, out: (1 / y, -out / y),                       2, np.divide,         "d/dx = 1/y, d/dy = -x/y²"),
    "**":         Op(power,      _power_derivatives,                                        2, np.power,          "d/dx = y·x^(y-1), d/dy = x^y·log|x|"),
    "maximum":    Op(maximum,    lambda x, y, out: _chosen(x >= y),                         2, _maximum_array,    "d/dx = 1 if x >= y else 0, d/dy = 1 - d/dx"),
    "minimum":    Op(minimum,    lambda x, y, out: _chosen(x <= y),                         2, _minimum_array,    "d/dx = 1 if x <= y else 0, d/dy = 1 - d/dx"),
    "neg":        Op(neg,        lambda x, out: -1.0,                                       1, np.negative,       "d/dx = -1"),
    "exp":        Op(exp,        lambda x, out: out,                                        1, np.exp,            "d/dx = exp x"),
    "log":        Op(log,        lambda x, out: 1 / x,                                      1, np.log,            "d/dx = 1/x"),
    "sqrt":       Op(sqrt,       lambda x, out: 0.5 / out,                                  1, np.sqrt,           "d/dx = 1/(2·sqrt x)"),
    "tanh":       Op(tanh,       lambda x, out: 1 - out * out,                              1, np.tanh,           "d/dx = 1 - tanh² x"),
    "sigmoid":    Op(sigmoid,    lambda x, out: out * (1 - out),                            1, _sigmoid_array,    "d/dx = σ(x)·(1 - σ(x))"),
    "softplus":   Op(softplus,   lambda x, out: _sigmoid(x),                                1, _softplus_array,   "d/dx = σ(x)"),
    "relu":       Op(relu,       lambda x, out: where(x > 0, 1.0, 0.0),                     1, _relu_array,       "d/dx = 1 if x > 0 else 0"),
    "leaky_relu": Op(leaky_relu, _leaky_relu_derivatives,                                   2, _leaky_relu_array, "d/dx = 1 if x > 0 else slope, d/dslope = 0 if x > 0 else x"),
    "step":       Op(step,       lambda x, out: 0.0,                                        1, _step_array,       "d/dx = 0"),
    "sin":        Op(sin,        lambda x, out: _cos(x),                                    1, np.sin,            "d/dx = cos x"),
    "cos":        Op(cos,        lambda x, out: -_sin(x),                                   1, np.cos,            "d/dx = -sin x"),
    "abs":        Op(absolute,   lambda x, out: where(x > 0, 1.0, where(x < 0, -1.0, 0.0)), 1, np.abs,            "d/dx = sign x (0 at 0)"),
}
# fmt: on

BUILTINS: frozenset[str] = frozenset(OPS)
"""The names of the built-in operations, which :func:`tinygrad_edu.define_op` may not redefine."""

UNARY: tuple[str, ...] = tuple(name for name, op in OPS.items() if op.arity == 1)
"""Names of the one-input operations, each also a method of ``Value`` (``x.tanh()``)."""

BINARY: tuple[str, ...] = tuple(name for name, op in OPS.items() if op.arity == 2)
"""Names of the two-input operations (the operators, maximum and minimum, and leaky_relu with
its slope)."""

PARTIAL: frozenset[str] = frozenset({"/", "**", "log", "sqrt", "sin", "cos"})
"""The built-in operations whose forward raises outside its domain (ValueError,
ZeroDivisionError); every other built-in gives the IEEE 754 result for any input. The compiled
replay, which computes with numpy's IEEE arithmetic, re-checks these against the float forward."""
