"""Activation functions and their derivatives, every derivative computed by the engine.

For each x on [-5, 5]: ``y = f(Value(x)); y.backward()``; the input's ``.grad`` is f'(x). The
step function's derivative is 0 everywhere: no gradient flows through it, which is why networks
learn with sigmoid, tanh or ReLU instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tinygrad_edu import Value

from .common import Report, main

LEAKY_SLOPE = 0.1  # larger than the engine's default 0.01, so the leak shows in the picture

ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "step": Value.step,
    "sigmoid": Value.sigmoid,
    "ReLU": Value.relu,
    "tanh": Value.tanh,
    f"leaky ReLU (slope {LEAKY_SLOPE})": lambda x: x.leaky_relu(LEAKY_SLOPE),
}


def value_and_derivative(f: Callable[[Value], Value], x: float) -> tuple[float, float]:
    """f(x) and f'(x), the derivative by backpropagation."""
    v = Value(x)
    y = f(v)
    y.backward()
    return y.data, v.grad


def run(out: Path, quick: bool) -> Report:
    """Plot each activation with its derivative on [-5, 5]; report f'(0) and the step's zeros."""
    report = Report("activations", out)
    xs = np.linspace(-5, 5, 101 if quick else 401)
    fig, axes = plt.subplots(1, len(ACTIVATIONS), figsize=(17, 3.6), sharex=True)
    report.say(f"{'activation':<26} {'f(0)':>6} {'f′(-2)':>8} {'f′(0)':>7} {'f′(2)':>7}")
    for ax, (name, f) in zip(axes, ACTIVATIONS.items()):
        ys, slopes = np.array([value_and_derivative(f, float(x)) for x in xs]).T
        ax.plot(xs, ys, lw=2.2, label="f(x)")
        ax.plot(xs, slopes, lw=1.8, ls="--", label="f′(x) (engine)")
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_ylim(-1.25 if name == "tanh" else -0.6, 5.2 if "ReLU" in name else 1.25)
        at = {x0: value_and_derivative(f, x0) for x0 in (-2.0, 0.0, 2.0)}
        report.say(
            f"{name:<26} {at[0.0][0]:>6.3g} {at[-2.0][1]:>8.4g} {at[0.0][1]:>7.4g} "
            f"{at[2.0][1]:>7.4g}"
        )
        if name == "step":
            ax.annotate("f′ = 0 everywhere", (0.5, -0.35), ha="center", color="C1")
    axes[0].legend(loc="upper left")
    fig.suptitle("Activation functions and their derivatives, from backward()")
    fig.tight_layout()
    largest = max(abs(value_and_derivative(Value.step, float(x))[1]) for x in xs)
    report.say(
        f"step: largest |f′| over {len(xs)} points = {largest:g}: the derivative is 0 "
        "everywhere, so no gradient passes a step (why networks use sigmoid or ReLU)"
    )
    report.figure(fig, "activations.png")
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["activations"]))
