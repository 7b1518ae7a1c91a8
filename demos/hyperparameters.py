"""Hyper-parameters: a random search of learning rate and weight decay on a validation set.

The course's recipe: set some training data aside as a *validation* set, draw each
hyper-parameter at random on a log scale, train briefly with each draw, and keep the one that
does best on the validation set; the test set is used once, at the very end. Here: 400 training
and 100 validation digits, a 64-24-10 network trained by SGD with momentum for a few epochs,
learning rate 10^U(-3, 0) and weight decay 10^U(-6, -1). Every trial starts from the same
weights in the same model, so one compiled step serves them all.
"""

from __future__ import annotations

import random
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Normalize

from tinygrad_edu import nn, optim
from tinygrad_edu.data import load_digits, train_test_split

from .common import Classifier, Report, main, progress

SEED = 0
LR_RANGE = (-3.0, 0.0)  # log10 of the learning rate
DECAY_RANGE = (-6.0, -1.0)  # log10 of the weight decay
FULL = {"train": 400, "validation": 100, "hidden": 24, "trials": 30, "epochs": 8, "batch": 50}
QUICK = {"train": 100, "validation": 50, "hidden": 8, "trials": 6, "epochs": 5, "batch": 20}


def run(out: Path, quick: bool) -> Report:
    """Search; plot every trial's validation accuracy; retrain the best pair and test it."""
    report = Report("hyperparameters", out)
    size = QUICK if quick else FULL
    X, y = load_digits()
    X_rest, X_test, y_rest, y_test = train_test_split(X / 16.0, y, test_size=0.2, seed=SEED)
    n_train, n_val = size["train"], size["validation"]
    X_train, y_train = X_rest[:n_train], y_rest[:n_train]
    X_val, y_val = X_rest[n_train : n_train + n_val], y_rest[n_train : n_train + n_val]
    hidden = size["hidden"]
    rng = random.Random(SEED)
    model = nn.Sequential(nn.Linear(64, hidden, rng=rng), nn.ReLU(), nn.Linear(hidden, 10, rng=rng))
    start = model.state_dict()
    classifier = Classifier(model, 10, batch_size=size["batch"])
    report.say(
        f"{len(X_train)} training, {len(X_val)} validation digits; network 64-{hidden}-10; SGD "
        f"(momentum 0.9), {size['epochs']} epochs per trial, batches of {size['batch']}, compiled"
    )
    report.say(
        f"{size['trials']} trials: lr = 10^U({LR_RANGE[0]:g}, {LR_RANGE[1]:g}), "
        f"weight decay = 10^U({DECAY_RANGE[0]:g}, {DECAY_RANGE[1]:g})"
    )

    def train(lr: float, decay: float, X: np.ndarray, y: np.ndarray) -> None:
        model.load_state_dict(start)  # every trial from the same weights
        optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=decay)
        for epoch in range(size["epochs"]):
            classifier.epoch(optimizer, X, y, seed=epoch)

    draws = np.random.default_rng(SEED)
    trials = []
    for _ in progress(range(size["trials"]), total=size["trials"], desc="trials", quick=quick):
        lr = 10 ** draws.uniform(*LR_RANGE)
        decay = 10 ** draws.uniform(*DECAY_RANGE)
        train(lr, decay, X_train, y_train)
        trials.append((lr, decay, classifier.score(X_val, y_val).accuracy))
    ranked = sorted(trials, key=lambda t: -t[2])
    for place, (lr, decay, accuracy) in enumerate(ranked[:5], start=1):
        report.say(
            f"#{place}  lr {lr:.2e}  weight decay {decay:.2e}  "
            f"validation accuracy {100 * accuracy:.1f}%"
        )
    worst = ranked[-1]
    report.say(f"worst: lr {worst[0]:.2e}, validation accuracy {100 * worst[2]:.1f}%")
    best_lr, best_decay, best_accuracy = ranked[0]
    report.figure(figure(trials, (best_lr, best_decay, best_accuracy)), "hyperparameters.png")
    train(best_lr, best_decay, X_train, y_train)
    test = classifier.score(X_test, y_test).accuracy
    report.say(
        f"best pair: lr {best_lr:.2e}, weight decay {best_decay:.2e} "
        f"(validation accuracy {100 * best_accuracy:.1f}%); on the {len(X_test)} test digits, "
        f"used only now: {100 * test:.1f}%"
    )
    return report


def figure(
    trials: list[tuple[float, float, float]], best: tuple[float, float, float]
) -> plt.Figure:
    """Every trial in the (learning rate, weight decay) plane, coloured by validation accuracy;
    beside it, validation accuracy against the learning rate alone."""
    lrs, decays, accuracies = (np.array(column) for column in zip(*trials))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.5, 4.8))
    colours = Normalize(vmin=0, vmax=100)
    dots = left.scatter(lrs, decays, c=100 * accuracies, cmap="viridis", norm=colours, s=60,
                        edgecolors="black", linewidths=0.4)  # fmt: skip
    left.scatter([best[0]], [best[1]], marker="*", s=380, facecolors="none", edgecolors="#d73027",
                 linewidths=1.8)  # fmt: skip
    left.annotate(f"best: {100 * best[2]:.1f}%", (best[0], best[1]), xytext=(12, 10),
                  textcoords="offset points", color="#d73027", fontweight="bold")  # fmt: skip
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("learning rate")
    left.set_ylabel("weight decay")
    left.set_title("Each trial, coloured by validation accuracy")
    fig.colorbar(dots, ax=left, label="validation accuracy (%)")
    right.scatter(lrs, 100 * accuracies, c=100 * accuracies, cmap="viridis", norm=colours, s=40,
                  edgecolors="black", linewidths=0.4)  # fmt: skip
    right.axhline(10, color="grey", linestyle=":", linewidth=1)
    right.text(lrs.min(), 11, "chance: 10%", color="grey", va="bottom")
    right.set_xscale("log")
    right.set_xlabel("learning rate")
    right.set_ylabel("validation accuracy (%)")
    right.set_ylim(0, 100)
    right.set_title("Too small learns too slowly, too large fails; a band between works")
    fig.suptitle(
        "Random search on a validation set: the learning rate matters far more than weight decay"
    )
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    raise SystemExit(main(names=["hyperparameters"]))
