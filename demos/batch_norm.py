"""Batch normalisation: the same deep network, with and without it, on the digits.

A network of five hidden layers (24 ReLU units each) learns the digits by plain SGD on
mini-batches of 32, compiled. With ``nn.BatchNorm1d`` after each hidden Linear layer, every
unit's input is normalised over the batch (mean 0, variance 1, then scaled and shifted by two
learnt parameters) before the ReLU; otherwise the layers are the same, and so are the initial
weights, the batches and the learning rate.

Two starts: PyTorch's default initialisation, U(±1/√fan-in), whose small weights shrink the
signal at every layer, so that without normalisation nothing reaches the output and the loss
stays at log 10; and He's, N(0, 2/fan-in), made for ReLU. Batch normalisation trains both.

The curves are the loss of each training batch (training mode: the batch's own statistics).
After training, each run is scored on digits it never saw, in evaluation mode: BatchNorm1d then
normalises with its running statistics, which the compiled training step moved at every step
(``tinygrad_edu.observe``) and which the compiled scoring reads at every call
(``tinygrad_edu.draw``), as the interpreter would.
"""

from __future__ import annotations

import random
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tinygrad_edu import nn, optim
from tinygrad_edu.data import load_digits, train_test_split

from .common import Classifier, Report, main, progress

SEED = 0
BATCH_SIZE = 32
LR = 0.05
FULL = {"width": 24, "depth": 5, "steps": 300, "window": 20}
QUICK = {"width": 8, "depth": 3, "steps": 40, "window": 5}
INITS = {"pytorch": "PyTorch's default init, U(±1/√n)", "he": "He init, N(0, 2/n)"}


def network(width: int, depth: int, batch_norm: bool, init: str) -> nn.Sequential:
    """depth × (Linear [→ BatchNorm1d] → ReLU), then Linear to the 10 scores."""
    rng = random.Random(SEED)
    modules: list[nn.Module] = []
    fan_in = 64
    for _ in range(depth):
        modules.append(nn.Linear(fan_in, width, init=init, rng=rng))
        if batch_norm:
            modules.append(nn.BatchNorm1d(width))
        modules.append(nn.ReLU())
        fan_in = width
    modules.append(nn.Linear(fan_in, 10, init=init, rng=rng))
    return nn.Sequential(*modules)


def smooth(values: list[float], window: int) -> np.ndarray:
    """The mean of each run of ``window`` consecutive values (shorter at the start)."""
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return np.asarray((sums[ends] - sums[starts]) / (ends - starts))


def run(out: Path, quick: bool) -> Report:
    """Train the four runs (two inits, with and without batch norm); plot their losses and
    report each one's test accuracy in evaluation mode."""
    report = Report("batch_norm", out)
    size = QUICK if quick else FULL
    X, y = load_digits()
    X, X_test, y, y_test = train_test_split(X / 16.0, y, test_size=0.2, seed=SEED)
    width, depth, steps = size["width"], size["depth"], size["steps"]
    report.say(
        f"{len(X)} training digits, {len(X_test)} test digits; {depth} hidden layers of {width}"
        f" ReLU units; SGD lr {LR}, batches of {BATCH_SIZE}, {steps} steps, compiled"
    )
    losses: dict[tuple[str, bool], list[float]] = {}
    accuracies: dict[tuple[str, bool], float] = {}
    for batch_norm in (False, True):
        # One model per architecture, compiled once; each init is loaded into it.
        model = network(width, depth, batch_norm, "pytorch")
        classifier = Classifier(model, 10, batch_size=BATCH_SIZE)
        for init in INITS:
            model.load_state_dict(network(width, depth, batch_norm, init).state_dict())
            optimizer = optim.SGD(model.parameters(), lr=LR)
            batches = np.random.default_rng(SEED)  # the same batches for every run
            name = f"{init}, {'with' if batch_norm else 'without'} batch norm"
            run_losses = []
            for _ in progress(range(steps), total=steps, desc=name, quick=quick):
                batch = batches.choice(len(X), BATCH_SIZE, replace=False)
                run_losses.append(classifier.step(optimizer, X[batch], y[batch]))
            losses[init, batch_norm] = run_losses
            # eval mode: the running statistics that the compiled steps kept moving
            accuracies[init, batch_norm] = classifier.score(X_test, y_test).accuracy
            window = size["window"]
            first, last = np.mean(run_losses[:window]), np.mean(run_losses[-window:])
            report.say(
                f"{name:<32} loss: first {window} steps {first:.4f}, last {window} steps {last:.4f}"
            )
            report.say(
                f"{name:<32} test accuracy {100 * accuracies[init, batch_norm]:.1f}% (eval mode)"
            )
    report.figure(figure(losses, accuracies, size["window"]), "batch_norm.png")
    return report


def figure(
    losses: dict[tuple[str, bool], list[float]],
    accuracies: dict[tuple[str, bool], float],
    window: int,
) -> plt.Figure:
    """One panel per init: the batch losses with and without batch norm, and each run's test
    accuracy in the legend."""
    fig, axes = plt.subplots(1, len(INITS), figsize=(12, 4.6), sharey=True)
    for ax, (init, title) in zip(axes, INITS.items()):
        for batch_norm, colour in ((False, "C0"), (True, "C3")):
            values = losses[init, batch_norm]
            steps = np.arange(1, len(values) + 1)
            label = "with batch norm" if batch_norm else "without"
            label += f" (test accuracy {100 * accuracies[init, batch_norm]:.1f}%)"
            ax.plot(steps, values, color=colour, alpha=0.2, linewidth=0.8)
            ax.plot(steps, smooth(values, window), color=colour, label=label, linewidth=2)
        ax.axhline(np.log(10), color="grey", linestyle=":", linewidth=1)
        ax.text(len(values), np.log(10), "log 10: a guess ", ha="right", va="bottom", color="grey")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend(loc="lower left")
    axes[0].set_ylabel(f"training loss (batch; mean of {window} in bold)")
    fig.suptitle("Batch normalisation trains the deep network whatever the initial scale")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    raise SystemExit(main(names=["batch_norm"]))
