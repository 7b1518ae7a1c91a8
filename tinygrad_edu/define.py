"""Your own operations: ``define_op`` adds a row to the rule table.

An operation is a row of :data:`tinygrad_edu.ops.OPS`: a forward on floats and a local
derivative rule. The engine knows nothing else about an operation, so a row added here is
treated exactly like a built-in one by ``backward``, ``grad``, ``compile``, ``check_grad`` and
the diagrams. This is how a learner writes the course's own operations and layers and checks them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .engine import Operand, Value, record
from .ops import BUILTINS, OPS, Op

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
        if isinstance(out, bool) or not isinstance(out, (int, float, np.floating, np.integer)):
            raise TypeError(f"{name}'s forward must return a real number, not {type(out).__name__}")
        return float(out)

    OPS[name] = Op(on_floats, derivative, arity, None, formula)

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
