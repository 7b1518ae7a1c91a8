"""Newton's method against gradient descent on f(x) = x⁴ - 2x², from x = 2.

Newton steps to the minimum of the local parabola: x ← x - f′(x)/f″(x), with f′ = grad(f, x)
and f″ = grad(grad(f, x), x) (the engine differentiates its own derivative). Gradient descent
steps x ← x - lr·f′(x). Both stop when |f′(x)| < 1e-10; Newton needs a handful of iterations
(its error squares each time near the minimum), gradient descent dozens.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import matplotlib.pyplot as plt
import numpy as np

from tinygrad_edu import Value, grad

from .common import Report, main

START = 2.0
LR = 0.05
TOLERANCE = 1e-10
MAX_ITERATIONS = 1000
MINIMUM = 1.0

T = TypeVar("T", Value, np.ndarray, float)


def f(x: T) -> T:
    """f(x) = x⁴ - 2x², minima at x = ±1 (f = -1)."""
    return x**4 - 2 * x**2  # type: ignore[return-value]


def newton_step(x: float) -> tuple[float, float]:
    """(the next x, f′(x)) for x ← x - f′(x)/f″(x)."""
    v = Value(x)
    d1 = grad(f(v), v)
    d2 = grad(d1, v)
    return x - d1.data / d2.data, d1.data


def descent_step(x: float) -> tuple[float, float]:
    """(the next x, f′(x)) for x ← x - lr·f′(x)."""
    v = Value(x)
    f(v).backward()
    return x - LR * v.grad, v.grad


def minimise(step: Callable[[float], tuple[float, float]]) -> list[float]:
    """The iterates from START until |f′(x)| < TOLERANCE (at most MAX_ITERATIONS steps)."""
    path = [START]
    for _ in range(MAX_ITERATIONS):
        following, slope = step(path[-1])
        if abs(slope) < TOLERANCE:
            break
        path.append(following)
    return path


def run(out: Path, quick: bool) -> Report:
    """Minimise both ways; plot the iterates on f and the error per iteration."""
    report = Report("newton", out)
    paths = {"Newton": minimise(newton_step), f"gradient descent (lr {LR})": minimise(descent_step)}
    for name, path in paths.items():
        report.say(
            f"{name:<26} {len(path) - 1:>3} iterations to |f′| < {TOLERANCE:g}: x = {path[-1]:.12f}"
        )
    newton, descent = (len(p) - 1 for p in paths.values())
    report.say(f"Newton needs {newton} iterations, gradient descent {descent}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    xs = np.linspace(-1.6, 2.1, 300)
    left.plot(xs, f(xs), color="black", lw=1.5, label="f(x) = x⁴ - 2x²")
    for k, (name, path) in enumerate(paths.items()):
        points = np.array(path)
        left.plot(points, f(points), "o-", color=f"C{k}", ms=4, lw=1, alpha=0.8, label=name)
        errors = np.abs(points - MINIMUM)
        right.semilogy(range(len(path)), np.maximum(errors, 1e-17), "o-", ms=3, label=name)
    left.set_xlabel("x")
    left.set_ylabel("f(x)")
    left.set_title("The iterates from x = 2")
    left.legend()
    right.set_xlabel("iteration")
    right.set_ylabel("|x - 1| (log scale)")
    right.set_title(f"Newton: {newton} iterations; gradient descent: {descent}")
    right.legend()
    fig.tight_layout()
    report.figure(fig, "newton.png")
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["newton"]))
