"""Gradient descent: x ← x - lr·∇f(x), the gradient from backward() at every step.

On f(x0, x1) = x0² + x1² from (-3, 4): lr 0.1 walks to the minimum (each step multiplies the
point by 1 - 2·lr = 0.8); lr 10 jumps across the valley further every time (the factor is -19:
divergence); lr 1e-10 barely moves at all (stalling).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tinygrad_edu import Value

from .common import Report, contours, main
from .numerical_gradient import f

START = (-3.0, 4.0)
STEPS = 100
LEARNING_RATES = {0.1: "converges", 10.0: "diverges", 1e-10: "stalls"}


def descend(start: tuple[float, float], lr: float, steps: int) -> np.ndarray:
    """The points visited by ``steps`` steps of gradient descent on f, the start included."""
    x0, x1 = (Value(v) for v in start)
    path = [start]
    for _ in range(steps):
        x0.grad = x1.grad = 0.0
        f(x0, x1).backward()
        x0.data -= lr * x0.grad
        x1.data -= lr * x1.grad
        path.append((x0.data, x1.data))
    return np.array(path)


def run(out: Path, quick: bool) -> Report:
    """Descend with each learning rate; draw the paths and the distance to the minimum."""
    report = Report("gradient_descent", out)
    paths = {lr: descend(START, lr, STEPS) for lr in LEARNING_RATES}
    for lr, path in paths.items():
        x0, x1 = path[-1]
        report.say(
            f"lr {lr:<6g} after {STEPS} steps: x = ({x0:.4g}, {x1:.4g}), "
            f"f = {f(x0, x1):.4g}: {LEARNING_RATES[lr]}"
        )
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.4))
    box = (-4.5, 4.5)
    for ax, (lr, path) in zip(axes, paths.items()):
        contours(ax, f, box, box, levels=[1, 4, 9, 16, 25])
        shown = path[:4] if lr > 1 else path  # a diverging path leaves the picture at step 2
        ax.plot(shown[:, 0], shown[:, 1], "o-", color="C3", ms=3.5, lw=1.2)
        ax.plot(*START, "s", color="C0", ms=8, label="start (-3, 4)")
        ax.set_aspect("equal")
        ax.set_title(f"lr = {lr:g}: {LEARNING_RATES[lr]}")
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
        ax.legend(loc="lower right")
    far = float(np.hypot(*paths[10.0][-1]))
    axes[1].annotate(f"→ |x| = {far:.1e}\nafter {STEPS} steps", (-4.2, -3.9), color="C3")
    axes[2].annotate("the path is one point:\nsteps of 1e-9", (-4.2, -3.9), color="C3")
    for lr, path in paths.items():
        axes[3].semilogy(np.hypot(path[:, 0], path[:, 1]), label=f"lr = {lr:g}")
    axes[3].set_xlabel("step")
    axes[3].set_ylabel("distance to the minimum")
    axes[3].set_title("Distance to the minimum (log scale)")
    axes[3].legend()
    fig.suptitle("Gradient descent on f(x0, x1) = x0² + x1² from (-3, 4), 100 steps")
    fig.tight_layout()
    report.figure(fig, "gradient_descent.png")
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["gradient_descent"]))
