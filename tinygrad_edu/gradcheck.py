"""Numerical derivatives: the ground truth that every analytic gradient is checked against.

Central differences, df/dx ≈ (f(x + h) - f(x - h)) / (2h), in three forms, chosen by what is
passed:

* ``numerical_grad(f, xs)``, ``check_grad(f, xs)``: ``f`` takes one Value per entry of ``xs``
  (numbers or Values) and returns a Value. The form for formulas: ``check_grad(lambda x, y:
  x * y, [2.0, 3.0])``.
* ``numerical_grad(fn, params)``, ``check_grad(fn, params)``: ``fn`` takes no argument and
  reads the Values ``params`` (``model.parameters()``); each one's ``data`` is moved in place
  and put back bit for bit, also when ``fn`` raises. The course's gradient check of a whole
  network: ``check_grad(lambda: loss(model(X), y), model.parameters())``.
* ``numerical_grad(f, x)`` with ``x`` a numpy float array: the course's
  ``numerical_gradient(f, x)``; ``f`` takes the array and returns a number, ``x`` is moved in
  place entry by entry and put back, and the result is an array of ``x``'s shape.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

from .engine import Value, topological_order
from .recording import enable_grad
from .scalars import Number, is_number, to_float

__all__ = ["numerical_grad", "check_grad", "GradCheck"]

Function = Callable[..., Any]


# --- the one central-difference loop -----------------------------------------------------------


def _central_differences(
    evaluate: Callable[[], float],
    get: Callable[[int], float],
    put: Callable[[int, float], None],
    n: int,
    eps: float,
) -> list[float]:
    """(f(x_i + eps) - f(x_i - eps)) / (step actually taken), for i < n, moving x_i in place.

    ``get(i)`` reads x_i and ``put(i, v)`` writes it; each x_i is written back exactly as it was
    read, whatever happens. The denominator is the difference of the two points as stored
    (x + eps rounds to the nearest float), not 2·eps: the slope of the points actually used.
    """
    slopes = []
    for i in range(n):
        x = get(i)
        try:
            put(i, x + eps)
            up, above = evaluate(), get(i)
            put(i, x - eps)
            down, below = evaluate(), get(i)
        finally:
            put(i, x)
        if above == below:
            raise ValueError(
                f"eps={eps!r} is below the spacing of floats at x = {x!r}: x + eps and x - eps "
                "are the same number; pass a larger eps"
            )
        slopes.append((up - down) / (above - below))
    return slopes


def _checked_eps(eps: object) -> float:
    if not (is_number(eps) and not isinstance(eps, (bool, np.bool_))) or not (
        math.isfinite(eps) and eps > 0
    ):
        raise ValueError(f"eps must be a positive finite number, not {eps!r}")
    return float(eps)


def _required_positional(f: Function) -> int | None:
    """How many positional arguments ``f`` needs; None when it takes ``*args`` or has no
    signature to read."""
    try:
        parameters = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return None
    return sum(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        for p in parameters
    )


def _value(out: object, who: str) -> Value:
    """What f returned, which must be one Value (a formula's result or a loss)."""
    if not isinstance(out, Value):
        raise TypeError(f"{who} must return one Value (a loss), not {type(out).__name__}")
    return out


def _data(out: object, who: str) -> float:
    return _value(out, who).data


def _number(out: object) -> float:
    """What the course's f(x) returned: a number, a Value, or an array of one element."""
    if isinstance(out, Value):
        return out.data
    if is_number(out) or (isinstance(out, np.ndarray) and out.size == 1):
        return float(out)
    raise TypeError(f"f(x) must return one number (a loss), not {type(out).__name__}")


# --- the three forms -----------------------------------------------------------------------------


def _points(xs: object) -> list[float]:
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence):
        raise TypeError(f"xs must be a sequence of numbers, not {type(xs).__name__}")
    return [x.data if isinstance(x, Value) else to_float(x) for x in xs]


def _check_arity(f: Function, n: int) -> None:
    """f(x0, ..., x[n-1]) must be callable with one Value per entry; say what to pass if not."""
    needed = _required_positional(f)
    if needed is None or needed == n:
        return
    hint = (
        "; for a function of one numpy array (the course's numerical_gradient(f, x)), pass the "
        "array itself: numerical_grad(f, np.array(xs, dtype=float))"
        if needed == 1
        else ""
    )
    raise TypeError(
        f"f takes {needed} argument(s) but xs has {n} entries: f gets one Value per entry of "
        f"xs{hint}"
    )


def _per_entry(f: Function, xs: object, eps: float) -> list[float]:
    """f(x0, x1, ...) with one Value per entry of xs, each moved in turn."""
    point = _points(xs)
    _check_arity(f, len(point))
    return _central_differences(
        lambda: _data(f(*(Value(x) for x in point)), "f"),
        point.__getitem__,
        point.__setitem__,
        len(point),
        eps,
    )


def _values(params: object) -> list[Value]:
    """``params`` as a list of distinct Values, or a clear error."""
    if isinstance(params, Value) or not isinstance(params, Sequence):
        raise TypeError(
            "fn() takes no argument, so params are the Values it reads, as a list "
            f"(model.parameters()), not {type(params).__name__}"
        )
    values = list(params)
    for i, p in enumerate(values):
        if not isinstance(p, Value):
            raise TypeError(
                f"fn() takes no argument, so params are the Values it reads (model.parameters())"
                f"; params[{i}] is {type(p).__name__}. To differentiate a formula at numbers, "
                "write f with one argument per number: check_grad(lambda x, y: ..., [1.0, 2.0])"
            )
    if len(set(values)) != len(values):
        raise ValueError("a Value appears more than once in params")
    return values


def _in_place(fn: Function, params: Sequence[Value], eps: float) -> list[float]:
    """fn() with each Value of params moved in place in turn and put back."""

    def put(i: int, x: float) -> None:
        params[i].data = x

    return _central_differences(
        lambda: _data(fn(), "fn"), lambda i: params[i].data, put, len(params), eps
    )


def _on_array(f: Function, x: np.ndarray, eps: float) -> np.ndarray:
    """The course's numerical_gradient: f(x) with each entry of the array x moved in place."""
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"numerical_grad(f, x) moves the entries of x in place, so x is a float array, not "
            f"{x.dtype}; pass x.astype(float)"
        )
    if not x.flags.writeable:
        raise ValueError("numerical_grad(f, x) moves the entries of x in place: x is read-only")
    if _required_positional(f) not in (None, 1):
        raise TypeError(
            "numerical_grad(f, x) with an array x calls f(x) (the course's form); for f(x0, x1, "
            "...) with one Value per entry, pass a list: numerical_grad(f, x.tolist())"
        )
    indices = list(np.ndindex(x.shape))  # row by row, as the course's loop over x

    def put(i: int, v: float) -> None:
        x[indices[i]] = v

    slopes = _central_differences(
        lambda: _number(f(x)), lambda i: float(x[indices[i]]), put, len(indices), eps
    )
    return np.array(slopes, dtype=float).reshape(x.shape)


@overload
def numerical_grad(f: Function, xs: np.ndarray, eps: float = 1e-6) -> np.ndarray: ...
@overload
def numerical_grad(f: Function, xs: Sequence[Number | Value], eps: float = 1e-6) -> list[float]: ...
def numerical_grad(
    f: Function, xs: Sequence[Number | Value] | np.ndarray, eps: float = 1e-6
) -> list[float] | np.ndarray:
    """Central differences: df/dx_i ≈ (f(.., x_i + eps, ..) - f(.., x_i - eps, ..)) / (2·eps).

    Three forms (see the module's docstring): ``f`` takes one Value per entry of ``xs``;
    ``f`` takes no argument and ``xs`` are the Values it reads (moved in place, restored); or
    ``xs`` is a numpy float array and ``f`` takes that array (the course's form; returns an
    array of its shape). 2 calls per entry. ``f`` runs with recording on, so an ``f`` that
    itself differentiates (``grad(y, x)`` inside) is measured correctly. The error is O(eps²)
    from truncation plus about 1e-16·|f|/eps from rounding, so eps = 1e-6 gives roughly ten
    correct digits.
    """
    step = _checked_eps(eps)
    with enable_grad():
        if isinstance(xs, np.ndarray):
            return _on_array(f, xs, step)
        if _required_positional(f) == 0:
            return _in_place(f, _values(xs), step)
        return _per_entry(f, xs, step)


# --- the comparison ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradCheck:
    """The analytic gradient next to the numerical one, entry by entry.

    ``ok`` holds when every entry satisfies |analytic - numeric| <= atol + rtol·|numeric|.
    ``max_rel_error`` is the largest |analytic - numeric| / max(|analytic|, |numeric|).
    ``names`` label the rows (each Value's label). ``all_zero``: every derivative, analytic and
    numeric, is exactly 0, so the agreement says nothing (the first line of the repr says so).
    """

    analytic: list[float]
    numeric: list[float]
    max_abs_error: float
    max_rel_error: float
    ok: bool
    names: list[str] = field(default_factory=list)

    @property
    def all_zero(self) -> bool:
        return all(a == 0 for a in self.analytic) and all(n == 0 for n in self.numeric)

    def __repr__(self) -> str:
        errors = f"(max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g})"
        if self.all_zero:
            headline = (
                f"check_grad: nothing checked: all {len(self.analytic)} derivatives are exactly 0, "
                "analytic and numeric (does the function depend on these values?)"
            )
        else:
            headline = f"check_grad: {'ok' if self.ok else 'MISMATCH'} {errors}"
        names = self.names or [str(i) for i in range(len(self.analytic))]
        width = max([4, *(len(name) for name in names)])
        lines = [
            headline,
            f"{'name':<{width}}  {'analytic':>20}  {'numeric':>20}  {'abs error':>10}",
        ]
        for name, a, n in zip(names, self.analytic, self.numeric):
            lines.append(f"{name:<{width}}  {a:>20.12g}  {n:>20.12g}  {abs(a - n):>10.3g}")
        return "\n".join(lines)


def _backward_gradient(out: Value, params: Sequence[Value]) -> list[float]:
    """d out/d p for each p, by ``out.backward()``, leaving every ``.grad`` as it was."""
    nodes = topological_order(out)
    in_graph = set(nodes)
    nodes += [p for p in params if p not in in_graph]
    saved = [node.grad for node in nodes]
    try:
        for node in nodes:
            node.grad = 0.0
        out.backward()
        return [p.grad for p in params]
    finally:
        for node, g in zip(nodes, saved):
            node.grad = g


def _report(
    analytic: list[float], numeric: list[float], names: list[str], rtol: float, atol: float
) -> GradCheck:
    abs_errors = [abs(a - n) for a, n in zip(analytic, numeric)]
    rel_errors = [
        e / max(abs(a), abs(n)) if e else 0.0 for e, a, n in zip(abs_errors, analytic, numeric)
    ]
    return GradCheck(
        analytic=analytic,
        numeric=numeric,
        max_abs_error=max(abs_errors, default=0.0),
        max_rel_error=max(rel_errors, default=0.0),
        ok=all(e <= atol + rtol * abs(n) for e, n in zip(abs_errors, numeric)),
        names=names,
    )


def check_grad(
    f: Function,
    xs: Sequence[Number | Value],
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> GradCheck:
    """Compare ``backward()``'s gradient with central differences, entry by entry.

    ``check_grad(f, xs)``: ``f`` takes one Value per entry of ``xs`` and returns a Value; rows
    are named x0, x1, ... ``check_grad(fn, params)``: ``fn`` takes no argument and returns a
    Value computed from the Values ``params`` (a model's parameters, inputs); each param's data
    is moved in place and restored bit for bit (also on error), and every ``.grad`` is left as
    it was; rows are named by the Values' labels. ``fn`` runs 2·len(params) + 1 times: keep it
    deterministic (a Dropout's ``rng`` re-seeded inside it, or ``model.eval()``); BatchNorm1d
    in training mode moves its running statistics at each call.

    The result's repr is a table; ``ok`` says whether every entry agrees within
    atol + rtol·|numeric|; a check whose derivatives are all exactly 0 says so on its first
    line.
    """
    step = _checked_eps(eps)
    received: object = xs  # typed as a list; an array is the common slip
    if isinstance(received, np.ndarray):
        raise TypeError(
            "check_grad(f, xs) takes a list: f gets one Value per entry (xs.tolist()), or f "
            "takes no argument and xs are the Values it reads; for a function of one array, "
            "numerical_grad(f, x) gives its central differences"
        )
    with enable_grad():  # a check inside no_grad() still records the graph it differentiates
        if _required_positional(f) == 0:
            return _check_in_place(f, _values(xs), step, rtol, atol)
        return _check_per_entry(f, xs, step, rtol, atol)


def _check_in_place(
    fn: Function, params: list[Value], eps: float, rtol: float, atol: float
) -> GradCheck:
    analytic = _backward_gradient(_value(fn(), "fn"), params)
    numeric = _in_place(fn, params, eps)
    names = [p.label or f"params[{i}]" for i, p in enumerate(params)]
    return _report(analytic, numeric, names, rtol, atol)


def _check_per_entry(
    f: Function, xs: Sequence[Number | Value], eps: float, rtol: float, atol: float
) -> GradCheck:
    point = _points(xs)
    _check_arity(f, len(point))
    leaves = [Value(x, f"x{i}") for i, x in enumerate(point)]
    _value(f(*leaves), "f").backward()
    analytic = [leaf.grad for leaf in leaves]
    numeric = _per_entry(f, point, eps)
    return _report(analytic, numeric, [leaf.label for leaf in leaves], rtol, atol)
