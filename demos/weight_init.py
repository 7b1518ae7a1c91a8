"""Weight initialisation: the activations of a 5-layer net under four ways to draw the weights.

With N(0, 1) weights the sigmoid saturates (activations pile up at 0 and 1, where its slope is
~0: vanishing gradients); with N(0, 0.01) every neuron outputs nearly the same value (the
layer is as good as one neuron). Xavier, N(0, 1/n), keeps sigmoid activations spread out; He,
N(0, 2/n), does the same for ReLU, which zeroes half of its inputs. Forward passes only, so
everything runs under ``no_grad``: nothing is recorded.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tinygrad_edu import Value, no_grad

from .common import Report, main, progress

LAYERS = 5
FULL = {"samples": 100, "width": 25}
QUICK = {"samples": 30, "width": 10}

STDS = {
    "N(0, 1)": lambda n: 1.0,
    "N(0, 0.01)": lambda n: 0.01,
    "Xavier N(0, 1/n)": lambda n: math.sqrt(1.0 / n),
    "He N(0, 2/n)": lambda n: math.sqrt(2.0 / n),
}
"""Initialisation -> the weights' standard deviation for a fan-in of n."""

EXPERIMENTS = [
    ("sigmoid", "N(0, 1)"),
    ("sigmoid", "N(0, 0.01)"),
    ("sigmoid", "Xavier N(0, 1/n)"),
    ("relu", "N(0, 0.01)"),
    ("relu", "Xavier N(0, 1/n)"),
    ("relu", "He N(0, 2/n)"),
]
"""(activation, initialisation) pairs, one row of histograms each."""


def activations(activation: str, init: str, samples: int, width: int) -> list[np.ndarray]:
    """Each layer's activations (samples × width floats) for random N(0, 1) inputs."""
    rng = np.random.default_rng(0)
    apply = np.vectorize(getattr(Value, activation), otypes=[object])
    layers = []
    with no_grad():
        a = np.vectorize(Value, otypes=[object])(rng.normal(size=(samples, width)))
        for _ in range(LAYERS):
            W = rng.normal(0.0, STDS[init](width), size=(width, width))
            a = apply(np.dot(a, W))
            layers.append(np.vectorize(float)(a))
    return layers


def run(out: Path, quick: bool) -> Report:
    """Histograms of each layer's activations, one row per experiment."""
    report = Report("weight_init", out)
    size = QUICK if quick else FULL
    report.say(
        f"{size['samples']} samples through {LAYERS} layers of {size['width']} neurons; "
        "std of the activations per layer:"
    )
    fig, axes = plt.subplots(len(EXPERIMENTS), LAYERS, figsize=(14, 13), sharey="row")
    rows = zip(axes, EXPERIMENTS)
    for row, (activation, init) in progress(rows, total=len(EXPERIMENTS), desc="nets", quick=quick):
        layers = activations(activation, init, size["samples"], size["width"])
        stds = "  ".join(f"{a.std():.3f}" for a in layers)
        report.say(f"  {activation:<8} {init:<18} {stds}")
        top = 1.0 if activation == "sigmoid" else max(float(layers[0].max()), 1e-3)
        for k, (ax, a) in enumerate(zip(row, layers)):
            ax.hist(a.ravel(), bins=30, range=(0.0, top), color="C0")
            ax.set_title(f"layer {k + 1}", fontsize=9)
            ax.tick_params(labelsize=7)
        row[0].set_ylabel(f"{activation}\n{init}", fontsize=10)
    fig.suptitle("Activations per layer: a 5-layer net under four weight initialisations")
    fig.tight_layout()
    report.figure(fig, "weight_init.png")
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["weight_init"]))
