"""Real data: a two-layer network learns the 8x8 handwritten digits, compiled.

The course's two-layer network on scikit-learn's 1,797 digits (each an 8x8 image, pixels 0 to
16, scaled to 0..1): 64 inputs, 50 ReLU units, 10 scores, softmax cross-entropy, Adam on
mini-batches of 100. Four fifths of the images train it; the last fifth, never seen in
training, tests it. Every node is still a scalar of the engine's graph; ``tinygrad_edu.compile``
traces the step once and replays it as a few hundred numpy calls, which is what makes real data
possible at all (the interpreter would take minutes).
"""

from __future__ import annotations

import random
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from tinygrad_edu import nn, optim
from tinygrad_edu.data import load_digits, train_test_split

from .common import Classifier, Curves, Report, main, progress

SEED = 0
FULL = {"samples": None, "hidden": 50, "epochs": 20, "batch": 100}
QUICK = {"samples": 500, "hidden": 16, "epochs": 4, "batch": 25}


def run(out: Path, quick: bool) -> Report:
    """Train, plot the curves of both sets and the test digits the network gets wrong."""
    report = Report("digits", out)
    size = QUICK if quick else FULL
    X, y = load_digits()
    X, y = X[: size["samples"]] / 16.0, y[: size["samples"]]  # pixels 0..16 -> 0..1
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=SEED)
    hidden = size["hidden"]
    rng = random.Random(SEED)
    model = nn.Sequential(nn.Linear(64, hidden, rng=rng), nn.ReLU(), nn.Linear(hidden, 10, rng=rng))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    classifier = Classifier(model, 10, batch_size=size["batch"])
    report.say(
        f"{len(X_train)} training and {len(X_test)} test images; network 64-{hidden}-10 "
        f"({len(model.parameters())} parameters), Adam lr 0.01, batches of {size['batch']}, "
        "compiled"
    )
    curves = Curves()
    epochs = size["epochs"]
    for epoch in progress(range(epochs), total=epochs, desc="epochs", quick=quick):
        classifier.epoch(optimizer, X_train, y_train, seed=epoch)
        curves.record("train", classifier.score(X_train, y_train))
        curves.record("test", classifier.score(X_test, y_test))
        if epoch % 5 == 0 or epoch == epochs - 1:
            loss, accuracy = curves.loss, curves.accuracy
            report.say(
                f"epoch {epoch + 1:>2}  loss train {loss['train'][-1]:.4f} "
                f"test {loss['test'][-1]:.4f}  accuracy train {100 * accuracy['train'][-1]:.1f}% "
                f"test {100 * accuracy['test'][-1]:.1f}%"
            )
    final = classifier.score(X_test, y_test)
    report.figure(curves_figure(curves), "digits.png")
    wrong = np.flatnonzero(final.predicted != y_test)
    report.figure(
        mistakes_figure(X_test, y_test, final.predicted, wrong), "digits_misclassified.png"
    )
    report.say(f"misclassified: {len(wrong)} of {len(y_test)} test digits")
    report.say(f"test accuracy {100 * final.accuracy:.1f}%")
    return report


def curves_figure(curves: Curves) -> plt.Figure:
    """Loss and accuracy per epoch, training and test side by side."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    epochs = range(1, len(curves.loss["train"]) + 1)
    for name, style in (("train", "-"), ("test", "--")):
        left.plot(epochs, curves.loss[name], style, label=name)
        right.plot(epochs, [100 * a for a in curves.accuracy[name]], style, label=name)
    left.set_xlabel("epoch")
    left.set_ylabel("mean cross-entropy")
    left.set_title("Loss falls on both sets, test close behind train")
    right.set_xlabel("epoch")
    right.set_ylabel("accuracy (%)")
    test = 100 * curves.accuracy["test"][-1]
    right.set_title(f"Accuracy: {test:.1f}% of digits it has never seen")
    for ax in (left, right):
        ax.legend()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle("A 64-50-10 network learns handwritten digits (compiled scalar graph)")
    fig.tight_layout()
    return fig


def mistakes_figure(
    X: np.ndarray, y: np.ndarray, predicted: np.ndarray, wrong: np.ndarray, most: int = 24
) -> plt.Figure:
    """The misclassified test digits (up to ``most``), each with what the network said."""
    shown = wrong[:most]
    columns = 8
    rows = max(1, -(-len(shown) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.4 * columns, 1.9 * rows + 0.6))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, k in zip(np.ravel(axes), shown):
        ax.imshow(X[k].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"predicted {predicted[k]}\ntrue {y[k]}", fontsize=10)
    total = f", the first {most} shown" if len(wrong) > most else ""
    fig.suptitle(f"The {len(wrong)} of {len(y)} test digits it gets wrong{total}")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    raise SystemExit(main(names=["digits"]))
