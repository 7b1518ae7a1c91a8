"""Mini-batches: Adam learns the three-arm spiral ten samples at a time.

Each step averages the cross-entropy loss over a mini-batch of 10 samples, backpropagates it
and updates the weights, so one pass over the data (an epoch) makes many small steps instead
of one big one. The loss per epoch falls, and the decision regions wind around the arms.
"""

from __future__ import annotations

import random
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tinygrad_edu import Value, nn, no_grad, optim
from tinygrad_edu.data import batches, make_spiral
from tinygrad_edu.functional import cross_entropy

from .common import Report, decision_regions, main, progress

BATCH_SIZE = 10
FULL = {"samples": 150, "hidden": 16, "lr": 0.02, "epochs": 50, "grid": 70}
QUICK = {"samples": 90, "hidden": 8, "lr": 0.05, "epochs": 12, "grid": 25}


def classify(model: nn.MLP, x: list[float]) -> int:
    """The class with the largest logit."""
    logits = model(x)
    assert isinstance(logits, list)
    return int(np.argmax([v.data for v in logits]))


def batch_loss(model: nn.MLP, X: np.ndarray, y: np.ndarray) -> Value:
    """The mean cross-entropy of the model's logits over a batch."""
    return cross_entropy([model(x) for x in X.tolist()], y)


def run(out: Path, quick: bool) -> Report:
    """Train with mini-batch Adam; plot the loss per epoch and the decision regions."""
    report = Report("mini_batch", out)
    size = QUICK if quick else FULL
    X, y = make_spiral(size["samples"], noise=0.2, seed=0)
    model = nn.MLP(2, [size["hidden"], size["hidden"], 3], init="he", rng=random.Random(0))
    optimizer = optim.Adam(model.parameters(), lr=size["lr"])
    report.say(
        f"{len(X)} spiral samples, 3 classes; MLP 2-{size['hidden']}-{size['hidden']}-3 "
        f"({len(model.parameters())} parameters); Adam lr {size['lr']}, batches of {BATCH_SIZE}"
    )
    losses = []
    for epoch in progress(range(size["epochs"]), total=size["epochs"], desc="epochs", quick=quick):
        total = 0.0
        for X_batch, y_batch in batches(X, y, BATCH_SIZE, seed=epoch):
            loss = batch_loss(model, X_batch, y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.data * len(X_batch)
        losses.append(total / len(X))
    with no_grad():
        accuracy = float(np.mean([classify(model, x) == t for x, t in zip(X.tolist(), y)]))
    report.say(f"steps per epoch: {-(-len(X) // BATCH_SIZE)}; epochs: {len(losses)}")
    report.say(f"loss: epoch 1 {losses[0]:.4f} -> epoch {len(losses)} {losses[-1]:.4f}")
    report.say(f"training accuracy: {accuracy:.1%}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    left.plot(range(1, len(losses) + 1), losses, "o-", ms=3)
    left.set_xlabel("epoch")
    left.set_ylabel("mean cross-entropy")
    left.set_title(f"Loss per epoch (mini-batches of {BATCH_SIZE}, Adam)")
    decision_regions(right, lambda x: classify(model, x), X, y, size["grid"])
    right.set_title(f"Decision regions: {accuracy:.0%} of the training set right")
    fig.tight_layout()
    report.figure(fig, "mini_batch.png")
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["mini_batch"]))
