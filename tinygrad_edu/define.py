"""Your own operations: ``define_op`` adds a row to the rule table.

An operation is a row of :data:`tinygrad_edu.ops.OPS`: a forward on floats and a local
derivative rule. The engine knows nothing else about an operation, so a row added here is
treated exactly like a built-in one by ``backward``, ``grad``, ``compile``, ``check_grad`` and
the diagrams. This is how a learner writes the course's own operations and layers and checks them.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .engine import Operand, Value, record
from .ops import BUILTINS, OPS, Op
from .recording import is_grad_enabled
from .scalars import is_number

__all__ = ["define_op"]


def define_op(
    name: str,
    forward: Callable[..., float],
    derivative: Callable[..., Any],
    *,
    formula: str = "",
) -> Callable[..., Value]:
    """Add an operation to the table and return the function that applies it to Values.

    ``forward`` computes out = f(x) (or f(x, y)) on floats; its number of parameters, one or two,
    is the operation's number of inputs. ``derivative`` follows the built-in rules' shape:
    ``(x, out) -> d out/dx``, or ``(x, y, out) -> (d out/dx, d out/dy)``. Write it with
    arithmetic and functions that work on floats and on Values alike (``+ - * / **``,
    ``tinygrad_edu.ops.where``), and ``grad()`` can differentiate it again::

        cube = define_op("cube", lambda x: x**3, lambda x, out: 3 * x**2, formula="d/dx = 3x²")
        y = cube(Value(2.0))            # 8.0; y.backward() gives 12.0

    ``backward``, ``grad``, ``compile``, ``check_grad`` and the diagrams treat it as a built-in
    (``formula`` is shown in the animation's captions). Defining a name again replaces the
    earlier definition (re-running a notebook cell); a built-in's name is a ValueError.

    Two mistakes in a rule are caught where it runs, each a TypeError that says the fix:

    * the wrong shape: a one-input rule returns one derivative, a two-input rule a pair;
    * a rule that ``grad()`` cannot differentiate again. ``math.cos(x)`` on a Value goes through
      ``float(x)`` and returns a plain float, so the derivative would be a constant and every
      higher derivative a silent 0. A rule may return a plain number for Values only where the
      derivative is piecewise constant (relu's ``where(x > 0, 1.0, 0.0)``). So when ``grad()``
      gets a plain number, the rule is evaluated on floats at two points on each side of each
      input (a step of 1e-3·max(1, |x|)); if it is constant on neither side, it depends on that
      input and the rule is refused: write it with what works on floats and Values alike,
      ``np.cos(x)`` (numpy's functions call the Value's methods), arithmetic, ``abs``, ``where``.
      ``backward()``, which evaluates rules on floats only, accepts such a rule as it is.
    """
    if name in BUILTINS:
        raise ValueError(f"{name!r} is a built-in operation and cannot be redefined")
    if type(name) is not str or not name.isidentifier():
        raise ValueError(f"an operation's name is an identifier such as 'cube', not {name!r}")
    if not callable(forward) or not callable(derivative):
        raise TypeError(
            "define_op(name, forward, derivative): forward and derivative are functions"
        )
    if type(formula) is not str:
        raise TypeError(f"formula is a str, not {type(formula).__name__}")
    arity = _positional_count(forward, f"{name}'s forward", (1, 2), "(x) or (x, y)")
    shape = "(x, out)" if arity == 1 else "(x, y, out)"
    _positional_count(derivative, f"{name}'s derivative", (arity + 1,), shape)

    def on_floats(*xs: float) -> float:
        out = forward(*xs)
        if isinstance(out, (bool, np.bool_)) or not is_number(out):
            raise TypeError(f"{name}'s forward must return a real number, not {type(out).__name__}")
        return float(out)

    def rule(*args: Any) -> Any:
        local = derivative(*args)
        _check_shape(name, arity, local)
        if isinstance(args[-1], Value) and is_grad_enabled():  # grad(), which records it
            _check_differentiable(name, on_floats, derivative, args, local)
        return local

    OPS[name] = Op(on_floats, rule, arity, None, formula)

    def apply(*args: Operand) -> Value:
        # The table's current row, not this definition's: after a name is defined again, every
        # function that applies it computes and differentiates the same operation.
        current = OPS[name]
        if len(args) != current.arity:
            raise TypeError(f"{name} takes {current.arity} argument(s), got {len(args)}")
        inputs = [a if isinstance(a, Value) else Value(a) for a in args]
        return record(current.forward(*(v.data for v in inputs)), name, *inputs)

    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = f"{name}, an operation defined with define_op. {formula}".strip()
    return apply


def _positional_count(
    function: Callable[..., Any], what: str, allowed: tuple[int, ...], expected: str
) -> int:
    """How many positional arguments ``function`` takes, which must be one of ``allowed``.

    Where that cannot be read (a builtin without a signature, or ``*args``) and there is a
    choice to make, a ValueError asks for a function that says it; with one choice, it is taken.
    """
    unknown = ValueError(
        f"cannot tell how many arguments {what} takes; expected {expected}: wrap it, e.g."
        " lambda x, y: math.hypot(x, y)"
    )
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature
        if len(allowed) > 1:
            raise unknown from None
        return allowed[0]
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if any(p.kind == p.VAR_POSITIONAL for p in parameters) and len(positional) not in allowed:
        if len(allowed) > 1:
            raise unknown
        return allowed[0]
    if len(positional) not in allowed:
        raise ValueError(f"{what} takes {len(positional)} argument(s); expected {expected}")
    return len(positional)


def _check_shape(name: str, arity: int, local: Any) -> None:
    """A TypeError unless ``local`` has a rule's shape: one derivative for one input, a pair
    (d out/dx, d out/dy) for two."""
    pair = isinstance(local, (tuple, list))
    if arity == 2 and not (pair and len(local) == 2):
        got = f"{len(local)} values" if pair else f"one value, {type(local).__name__}"
        raise TypeError(
            f"{name}'s derivative returned {got}; a rule of two inputs returns the pair "
            "(d out/dx, d out/dy), e.g. lambda x, y, out: (y, x)"
        )
    if arity == 1 and pair:
        raise TypeError(
            f"{name}'s derivative returned {len(local)} values; a rule of one input returns "
            "d out/dx alone, e.g. lambda x, out: 2 * x"
        )


def _check_differentiable(
    name: str,
    forward: Callable[..., float],
    derivative: Callable[..., Any],
    args: tuple[Value, ...],
    local: Any,
) -> None:
    """A TypeError if the rule, given Values, returned a plain number that changes with an input.

    A plain number is a constant to ``grad()``. That is right where the derivative is piecewise
    constant, which shows on floats: at x + h and x + 2h (or at x - h and x - 2h) it is the
    same. A derivative that is constant on neither side of x depends on x, and a plain number
    for it means the rule computed it outside the graph (``math.cos(x)``).
    """
    xs = [a.data for a in args[:-1]]
    locals_ = local if len(xs) == 2 else (local,)
    for i, d in enumerate(locals_):
        if isinstance(d, Value) or not all(map(math.isfinite, xs)):
            continue
        for j in range(len(xs)):
            if not _locally_constant(forward, derivative, xs, i, j):
                wrt = "dx" if i == 0 else "dy"
                raise TypeError(
                    f"{name}'s derivative d out/{wrt} returned a plain number ({d!r}) when grad() "
                    "gave it Values, yet it changes with the inputs: the rule turned a Value into "
                    "a float (math.cos(x), float(x), ...), so grad() cannot differentiate it "
                    "again and higher derivatives would come out 0. Write the rule with what "
                    "works on floats and Values alike: arithmetic, abs, numpy's functions "
                    "(np.cos(x) calls x.cos()), tinygrad_edu.ops.where; e.g. "
                    "lambda x, out: np.cos(x)"
                )


def _locally_constant(
    forward: Callable[..., float], derivative: Callable[..., Any], xs: list[float], i: int, j: int
) -> bool:
    """Whether derivative i, on floats, is constant on at least one side of xs along input j:
    the same at 1 and 2 steps to the right, or at 1 and 2 steps to the left. A side where it
    cannot be evaluated (outside the forward's domain) tells nothing; with neither side, True."""
    h = 1e-3 * max(1.0, abs(xs[j]))
    varies = False
    for side in (h, -h):
        try:
            near, far = (_at(forward, derivative, xs, i, j, k * side) for k in (1, 2))
        except Exception:  # outside the domain: this side tells nothing
            continue
        if near == far:
            return True
        varies = True
    return not varies


def _at(
    forward: Callable[..., float],
    derivative: Callable[..., Any],
    xs: list[float],
    i: int,
    j: int,
    step: float,
) -> float:
    """Derivative i of the rule on floats, with input j moved by ``step``."""
    moved = [x + step if k == j else x for k, x in enumerate(xs)]
    local = derivative(*moved, forward(*moved))
    return float(local if len(xs) == 1 else local[i])
