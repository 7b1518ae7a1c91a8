"""Numerical derivatives: the ground truth that every analytic gradient is checked against."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .engine import Number, Value, to_float

__all__ = ["numerical_grad", "check_grad", "GradCheck"]

Function = Callable[..., Value]


def _points(xs: Sequence[Number | Value]) -> list[float]:
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence):
        raise TypeError(f"xs must be a sequence of numbers, not {type(xs).__name__}")
    return [x.data if isinstance(x, Value) else to_float(x) for x in xs]


def _evaluate(f: Function, point: list[float]) -> float:
    out = f(*(Value(x) for x in point))
    if not isinstance(out, Value):
        raise TypeError(f"f must return a Value, not {type(out).__name__}")
    return out.data


def numerical_grad(f: Function, xs: Sequence[Number | Value], eps: float = 1e-6) -> list[float]:
    """Central differences: df/dx_i ≈ (f(.., x_i + eps, ..) - f(.., x_i - eps, ..)) / (2·eps).

    ``f`` takes one Value per entry of ``xs`` and returns a Value (2 calls per entry). It runs
    with recording on, so an ``f`` that itself differentiates (``grad(y, x)`` inside) is
    measured correctly. The error is O(eps²) from truncation plus about 1e-16·|f|/eps from
    rounding, so eps = 1e-6 gives roughly ten correct digits.
    """
    point = _points(xs)
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, not {eps!r}")
    slopes = []
    for i, x in enumerate(point):
        up = point[:i] + [x + eps] + point[i + 1 :]
        down = point[:i] + [x - eps] + point[i + 1 :]
        slopes.append((_evaluate(f, up) - _evaluate(f, down)) / (2 * eps))
    return slopes


@dataclass(frozen=True)
class GradCheck:
    """The analytic gradient next to the numerical one, entry by entry.

    ``ok`` holds when every entry satisfies |analytic - numeric| <= atol + rtol·|numeric|.
    ``max_rel_error`` is the largest |analytic - numeric| / max(|analytic|, |numeric|).
    """

    analytic: list[float]
    numeric: list[float]
    max_abs_error: float
    max_rel_error: float
    ok: bool

    def __repr__(self) -> str:
        verdict = "ok" if self.ok else "MISMATCH"
        lines = [
            f"check_grad: {verdict} (max abs error {self.max_abs_error:.3g}, "
            f"max rel error {self.max_rel_error:.3g})",
            f"{'i':>3}  {'analytic':>20}  {'numeric':>20}  {'abs error':>10}",
        ]
        for i, (a, n) in enumerate(zip(self.analytic, self.numeric)):
            lines.append(f"{i:>3}  {a:>20.12g}  {n:>20.12g}  {abs(a - n):>10.3g}")
        return "\n".join(lines)


def check_grad(
    f: Function,
    xs: Sequence[Number | Value],
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> GradCheck:
    """Compare ``backward()``'s gradient of ``f`` at ``xs`` with central differences.

    ``f`` takes one Value per entry of ``xs`` and returns a Value. The result's repr is a
    table; its ``ok`` says whether every entry agrees within atol + rtol·|numeric|.
    """
    point = _points(xs)
    leaves = [Value(x, f"x{i}") for i, x in enumerate(point)]
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"f must return a Value, not {type(out).__name__}")
    out.backward()
    analytic = [leaf.grad for leaf in leaves]
    numeric = numerical_grad(f, point, eps)
    abs_errors = [abs(a - n) for a, n in zip(analytic, numeric)]
    rel_errors = [
        e / max(abs(a), abs(n)) if e else 0.0 for e, a, n in zip(abs_errors, analytic, numeric)
    ]
    ok = all(e <= atol + rtol * abs(n) for e, n in zip(abs_errors, numeric))
    return GradCheck(
        analytic=analytic,
        numeric=numeric,
        max_abs_error=max(abs_errors, default=0.0),
        max_rel_error=max(rel_errors, default=0.0),
        ok=ok,
    )
