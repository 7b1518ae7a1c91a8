"""Five optimisers on the same valley: f(x, y) = x²/20 + y², from (-7, 2), 30 steps each.

The valley is 20 times steeper across (y) than along (x). Plain SGD zig-zags across it and
crawls along it; Momentum gathers speed along it; AdaGrad and RMSprop give each coordinate its
own step size; Adam combines momentum with per-coordinate steps. The gradients come from
backward(); the updates are ``tinygrad_edu.optim``'s (PyTorch's formulas).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import matplotlib.pyplot as plt
import numpy as np

from tinygrad_edu import Value, optim

from .common import Report, contours, main

START = (-7.0, 2.0)
STEPS = 30

OPTIMIZERS: dict[str, Callable[[Sequence[Value]], optim.Optimizer]] = {
    "SGD (lr 0.95)": lambda p: optim.SGD(p, lr=0.95),
    "Momentum (lr 0.1, 0.9)": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "AdaGrad (lr 1.5)": lambda p: optim.Adagrad(p, lr=1.5),
    "RMSprop (lr 0.1)": lambda p: optim.RMSprop(p, lr=0.1),
    "Adam (lr 0.3)": lambda p: optim.Adam(p, lr=0.3),
}
"""Name -> a function that makes the optimiser for the parameters, with the course's lrs."""

T = TypeVar("T", Value, np.ndarray, float)


def f(x: T, y: T) -> T:
    """f(x, y) = x²/20 + y²: Values (to differentiate) or numpy arrays (to draw)."""
    return x**2 / 20 + y**2  # type: ignore[return-value]


def optimize(make: Callable[[Sequence[Value]], optim.Optimizer]) -> np.ndarray:
    """The points visited by STEPS steps of an optimiser from START, the start included."""
    x, y = Value(START[0]), Value(START[1])
    optimizer = make([x, y])
    path = [START]
    for _ in range(STEPS):
        optimizer.zero_grad()
        f(x, y).backward()
        optimizer.step()
        path.append((x.data, y.data))
    return np.array(path)


def run(out: Path, quick: bool) -> Report:
    """Run each optimiser; one contour plot per optimiser with its path, and f per step."""
    report = Report("optimizers", out)
    paths = {name: optimize(make) for name, make in OPTIMIZERS.items()}
    for name, path in paths.items():
        x, y = path[-1]
        report.say(f"{name:<23} after {STEPS} steps: ({x:+.4f}, {y:+.4f})  f = {f(x, y):.3g}")
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.2))
    for k, (ax, (name, path)) in enumerate(zip(axes.flat, paths.items())):
        contours(ax, f, (-10, 10), (-5, 5), levels=[0.1, 0.5, 1, 2, 3.5, 5.5, 8, 11])
        ax.plot(path[:, 0], path[:, 1], "o-", color=f"C{k}", ms=3, lw=1.2)
        ax.plot(*START, "s", color="black", ms=6)
        ax.set_title(name)
    last = axes.flat[-1]
    for name, path in paths.items():
        last.semilogy(f(path[:, 0], path[:, 1]), label=name.split(" (")[0])
    last.set_xlabel("step")
    last.set_ylabel("f(x, y) (log scale)")
    last.set_title("The loss at each step")
    last.legend()
    fig.suptitle(f"f(x, y) = x²/20 + y² from (-7, 2), {STEPS} steps of each optimiser")
    fig.tight_layout()
    report.figure(fig, "optimizers.png")
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["optimizers"]))
