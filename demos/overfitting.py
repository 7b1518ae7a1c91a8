"""Overfitting: a network that memorises a small training set, and two ways to hold it back.

The course's experiment on the digits: only 60 training images (six of each digit, on average)
for a 64-40-40-10 network trained by Adam, full batch, compiled. It soon gets every training
image right and its training loss falls to almost 0, while on 500 images it has never seen it
stalls near 80% and its test loss *rises*: it is learning the sixty images, not the digits.
Then the same network, from the same start, twice more:

* weight decay (AdamW): every step shrinks each weight by lr·λ of itself, so only weights the
  data keeps asking for stay large;
* dropout: in training, each hidden unit is zeroed with probability p (the survivors scaled by
  1/(1-p), inverted dropout as ``nn.Dropout``), so no unit can rely on any other.

Both keep the test loss down and shrink the gap between the two sets.

The dropout run's training step is compiled like the others, ``nn.Dropout`` inside it: its mask
is made of leaves drawn with ``tinygrad_edu.draw``, which the compiled step draws afresh at every
call, so every step drops other units (a mask drawn as a plain number while tracing would be
frozen, the same units dropped at every step).
"""

from __future__ import annotations

import random
from pathlib import Path

import matplotlib.pyplot as plt

from tinygrad_edu import nn, optim
from tinygrad_edu.data import load_digits, train_test_split

from .common import Classifier, Curves, Report, main, progress

SEED = 0
FULL = {"train": 60, "test": 500, "hidden": 40, "epochs": 120, "every": 3}
QUICK = {"train": 30, "test": 100, "hidden": 16, "epochs": 60, "every": 6}
LR = 0.01
WEIGHT_DECAY = 1.0
DROPOUT = 0.5
RUNS = ("no regularisation", f"weight decay λ = {WEIGHT_DECAY:g}", f"dropout p = {DROPOUT:g}")


def network(hidden: int, p: float) -> nn.Sequential:
    """64-hidden-hidden-10 with ReLU, a Dropout(p) after each hidden layer (p = 0: the identity,
    so both networks have the same layers, names and initial weights)."""
    rng = random.Random(SEED)
    masks = random.Random(SEED)  # the dropout masks' own stream
    return nn.Sequential(
        nn.Linear(64, hidden, rng=rng), nn.ReLU(), nn.Dropout(p, rng=masks),
        nn.Linear(hidden, hidden, rng=rng), nn.ReLU(), nn.Dropout(p, rng=masks),
        nn.Linear(hidden, 10, rng=rng),
    )  # fmt: skip


def run(out: Path, quick: bool) -> Report:
    """Train the three runs; plot each one's training and test curves side by side."""
    report = Report("overfitting", out)
    size = QUICK if quick else FULL
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.5, seed=SEED)
    X_train, y_train = X_train[: size["train"]], y_train[: size["train"]]
    X_test, y_test = X_test[: size["test"]], y_test[: size["test"]]
    hidden, batch = size["hidden"], len(X_train)  # full batch
    model, with_dropout = network(hidden, 0.0), network(hidden, DROPOUT)
    start = model.state_dict()
    plain = Classifier(model, 10, batch_size=batch)  # one compiled step for the first two runs
    classifiers = [plain, plain, Classifier(with_dropout, 10, batch_size=batch)]
    decays = [0.0, WEIGHT_DECAY, 0.0]
    report.say(
        f"{len(X_train)} training images, {len(X_test)} test images; network 64-{hidden}-"
        f"{hidden}-10 ({len(model.parameters())} parameters), Adam lr {LR}, full batch, "
        f"{size['epochs']} epochs, compiled"
    )
    curves = []
    for name, classifier, decay in zip(RUNS, classifiers, decays):
        classifier.model.load_state_dict(start)  # every run from the same weights
        optimizer = optim.AdamW(classifier.model.parameters(), lr=LR, weight_decay=decay)
        run_curves, epochs = Curves(), []
        for epoch in progress(range(size["epochs"]), total=size["epochs"], desc=name, quick=quick):
            classifier.epoch(optimizer, X_train, y_train, seed=epoch)
            if (epoch + 1) % size["every"] == 0 or epoch == 0:
                epochs.append(epoch + 1)
                run_curves.record("train", classifier.score(X_train, y_train))
                run_curves.record("test", classifier.score(X_test, y_test))
        curves.append((epochs, run_curves))
        train, test = run_curves.accuracy["train"][-1], run_curves.accuracy["test"][-1]
        loss = run_curves.loss
        report.say(
            f"{name:<22} accuracy train {100 * train:5.1f}% test {100 * test:5.1f}% "
            f"(gap {100 * (train - test):4.1f} points); loss train {loss['train'][-1]:.4f} "
            f"test {loss['test'][-1]:.4f} (lowest {min(loss['test']):.4f})"
        )
    report.figure(figure(curves, len(X_train)), "overfitting.png")
    return report


def figure(curves: list[tuple[list[int], Curves]], train_size: int) -> plt.Figure:
    """For each run, loss (top) and accuracy (bottom) of both sets per epoch."""
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5), sharex=True, sharey="row")
    for column, (name, (epochs, run_curves)) in enumerate(zip(RUNS, curves)):
        top, bottom = axes[0, column], axes[1, column]
        for split, style in (("train", "-"), ("test", "--")):
            top.plot(epochs, run_curves.loss[split], style, label=split)
            bottom.plot(epochs, [100 * a for a in run_curves.accuracy[split]], style, label=split)
        train, test = run_curves.accuracy["train"][-1], run_curves.accuracy["test"][-1]
        loss = run_curves.loss["test"]
        top.set_title(f"{name}\ntest loss ends at {loss[-1]:.2f} (lowest {min(loss):.2f})")
        gap = 100 * (train - test)
        bottom.set_title(f"train {100 * train:.0f}%, test {100 * test:.1f}%: gap {gap:.1f} points")
        bottom.set_xlabel("epoch")
        top.legend()
        bottom.legend(loc="lower right")
    axes[0, 0].set_ylabel("mean cross-entropy")
    axes[1, 0].set_ylabel("accuracy (%)")
    fig.suptitle(
        f"{train_size} training digits are memorised and the test loss climbs; weight decay and "
        "dropout hold it down and win back some test accuracy"
    )
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    raise SystemExit(main(names=["overfitting"]))
