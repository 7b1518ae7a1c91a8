"""micrograd's demo: an MLP learns to separate two moons, to 100% training accuracy.

Full batch, as micrograd does it: every step scores all 100 samples with an MLP 2-16-16-1,
takes the max-margin (SVM) loss mean(relu(1 - y·score)) plus 1e-4·Σ p² (L2), backpropagates
and moves each parameter by -lr·grad with the learning rate decaying from 1.0 to 0.1.
"""

from __future__ import annotations

import random
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tinygrad_edu import nn, no_grad, optim
from tinygrad_edu.data import make_moons
from tinygrad_edu.functional import hinge_loss

from .common import Report, decision_regions, main, progress

SAMPLES = 100
L2 = 1e-4
FULL = {"steps": 100, "grid": 60}
QUICK = {"steps": 20, "grid": 20}


def learning_rate(step: int) -> float:
    """micrograd's schedule: 1.0 at step 0, down by 0.009 a step."""
    return 1.0 - 0.9 * step / 100


def run(out: Path, quick: bool) -> Report:
    """Train; plot the loss and accuracy per step and the decision boundary."""
    report = Report("moons", out)
    size = QUICK if quick else FULL
    X, labels = make_moons(SAMPLES, noise=0.1, seed=1337)
    inputs, targets = X.tolist(), (2 * labels - 1).tolist()  # labels -1 and +1
    model = nn.MLP(2, [16, 16, 1], rng=random.Random(1337))
    optimizer = optim.SGD(model.parameters(), lr=learning_rate(0))
    report.say(f"{SAMPLES} samples; MLP 2-16-16-1 ({len(model.parameters())} parameters)")
    losses, accuracies = [], []
    for step in progress(range(size["steps"]), total=size["steps"], desc="steps", quick=quick):
        scores = [model(x) for x in inputs]
        loss = hinge_loss(scores, targets) + L2 * sum(p * p for p in model.parameters())
        optimizer.zero_grad()
        loss.backward()
        optimizer.lr = learning_rate(step)
        optimizer.step()
        losses.append(loss.data)
        accuracies.append(
            float(np.mean([(s.data > 0) == (t > 0) for s, t in zip(scores, targets)]))
        )
        if step % 10 == 0 or step == size["steps"] - 1:
            report.say(f"step {step:>3}  loss {loss.data:.4f}  accuracy {accuracies[-1]:.0%}")
    with no_grad():
        final = np.mean([(model(x).data > 0) == (t > 0) for x, t in zip(inputs, targets)])
    first = next((k for k, a in enumerate(accuracies) if a == 1.0), None)
    report.say(f"first step at 100%: {first}")
    report.say(f"final training accuracy: {final:.0%}")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    steps = range(len(losses))
    left.plot(steps, losses, color="C0", label="loss")
    left.set_xlabel("step")
    left.set_ylabel("loss (max-margin + L2)", color="C0")
    twin = left.twinx()
    twin.plot(steps, [100 * a for a in accuracies], color="C2", label="accuracy")
    twin.set_ylabel("training accuracy (%)", color="C2")
    twin.set_ylim(40, 102)
    twin.grid(False)
    left.set_title("Loss and accuracy at each step (full batch, SGD)")
    decision_regions(right, lambda x: int(model(x).data > 0), X, labels, size["grid"])
    right.set_title(f"Decision boundary after {len(losses)} steps: {final:.0%} right")
    fig.tight_layout()
    report.figure(fig, "moons.png")
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["moons"]))
