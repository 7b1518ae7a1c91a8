"""Numerical gradients: central differences next to the engine's backpropagated gradient.

f(x0, x1) = x0² + x1², so ∇f = (2·x0, 2·x1). The numerical side nudges each input by ±eps:
df/dx_i ≈ (f(.., x_i + eps, ..) - f(.., x_i - eps, ..)) / (2·eps). The two agree to about ten
digits; backpropagation costs one backward pass instead of two evaluations per input. The arrows
of -∇f all point to the minimum, steeper further out: the direction gradient descent walks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import matplotlib.pyplot as plt
import numpy as np

from tinygrad_edu import Value, check_grad, numerical_grad

from .common import Report, contours, main

POINTS = [(3.0, 4.0), (0.0, 2.0), (3.0, 0.0)]

T = TypeVar("T", Value, np.ndarray, float)


def f(x0: T, x1: T) -> T:
    """f(x0, x1) = x0² + x1²: Values (to differentiate) or numpy arrays (to draw)."""
    return x0**2 + x1**2  # type: ignore[return-value]


def engine_gradient(x0: float, x1: float) -> tuple[float, float]:
    """∇f at (x0, x1) by backpropagation."""
    a, b = Value(x0), Value(x1)
    f(a, b).backward()
    return a.grad, b.grad


def run(out: Path, quick: bool) -> Report:
    """Print both gradients at the course's three points; draw -∇f over the plane."""
    report = Report("numerical_gradient", out)
    report.say(f"{'point':<10} {'numerical (central difference)':<40} engine (backward)")
    for point in POINTS:
        numeric = numerical_grad(f, point)
        check = check_grad(f, point)
        report.say(
            f"{point!s:<10} ({numeric[0]:.10f}, {numeric[1]:.10f})"
            f"{'':<8}({check.analytic[0]:g}, {check.analytic[1]:g})"
            f"   max abs error {check.max_abs_error:.1e}"
        )
    side = np.linspace(-2, 2.5, 10 if quick else 18)
    grid = [(x0, x1) for x1 in side for x0 in side]
    gradients = np.array([engine_gradient(x0, x1) for x0, x1 in grid])
    points = np.array(grid)
    fig, ax = plt.subplots(figsize=(6.4, 5.8))
    contours(ax, f, (-2.2, 2.7), (-2.2, 2.7), levels=[0.25, 1, 2, 3, 4.5, 6.25, 9])
    ax.quiver(
        points[:, 0], points[:, 1], -gradients[:, 0], -gradients[:, 1],
        np.hypot(gradients[:, 0], gradients[:, 1]), cmap="viridis", angles="xy", pivot="mid",
    )  # fmt: skip
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.set_aspect("equal")
    ax.set_title("-∇f for f(x0, x1) = x0² + x1² (arrow colour: |∇f|)")
    report.say(f"drew -∇f at {len(grid)} points, each gradient from one backward()")
    report.figure(fig, "numerical_gradient.png")
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["numerical_gradient"]))
