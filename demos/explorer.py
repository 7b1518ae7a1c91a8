"""The training explorer: a real training run, replayed step by step in one page.

The yin-yang data set (three classes that no straight line separates: yin, yang and the two
dots), split into training, validation and test points; an MLP 2-8-8-3 (ReLU) trained by AdamW
on mini-batches, compiled. Every few steps the parameters are saved (``model.state_dict()``),
and ``viz.explore`` replays each snapshot: the decision regions, the loss on each set, and the
graph of any training point's loss with the value and gradient of every node at that step.
Open ``explorer.html`` in a browser: play, step, drag the slider, click a point.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import viz
from tinygrad_edu import nn, no_grad, optim
from tinygrad_edu.data import make_yinyang, train_test_split

from .common import Classifier, Report, main, progress

SEED = 2
BATCH_SIZE = 24
FULL = {"samples": 400, "steps": 900, "every": 20, "grid": 60}
QUICK = {"samples": 90, "steps": 20, "every": 5, "grid": 16}


@dataclass
class Run:
    """A training run ready to explore: the model, its snapshots and the three sets."""

    model: nn.MLP
    snapshots: list[dict[str, float]]
    steps: list[int]
    sets: dict[str, tuple[np.ndarray, np.ndarray]]  # train, validation, test: (X, y)
    accuracy: dict[str, float]  # each set's, after the last step
    description: str


def default_run(quick: bool) -> Run:
    """Train the explorer's default model, saving its parameters every few steps."""
    size = QUICK if quick else FULL
    X, y = make_yinyang(size["samples"], seed=SEED)
    X = 2 * X - 1  # centred on the origin, where a ReLU layer's first boundaries start
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=0.4, seed=SEED)
    X_val, X_test, y_val, y_test = train_test_split(X_rest, y_rest, test_size=0.5, seed=SEED)
    model = nn.MLP(2, [8, 8, 3], init="he", rng=random.Random(SEED))
    # Parameter groups: the weights decay, the biases do not (as is usual).
    weights = [p for name, p in model.named_parameters() if not name.endswith(".b")]
    biases = [p for name, p in model.named_parameters() if name.endswith(".b")]
    lr, decay = 0.02, 1e-3
    optimizer = optim.AdamW(
        [{"params": weights}, {"params": biases, "weight_decay": 0.0}], lr=lr, weight_decay=decay
    )
    classifier = Classifier(model, 3, batch_size=BATCH_SIZE)
    snapshots, steps = [], []
    rng = np.random.default_rng(SEED)
    order: list[int] = []
    for step in progress(
        range(size["steps"] + 1), total=size["steps"] + 1, desc="steps", quick=quick
    ):
        if step % size["every"] == 0:
            snapshots.append(model.state_dict())
            steps.append(step)
        if step == size["steps"]:
            break
        if len(order) < BATCH_SIZE:  # a new epoch: the training points in a new order
            order = list(rng.permutation(len(X_train)))
        batch, order = order[:BATCH_SIZE], order[BATCH_SIZE:]
        classifier.step(optimizer, X_train[batch], y_train[batch])
    description = (
        f"Yin-yang (scaled to [-1, 1]²): {len(X_train)} training, {len(X_val)} validation and "
        f"{len(X_test)} test points. MLP 2-8-8-3 (ReLU, {len(model.parameters())} parameters), "
        f"AdamW (lr {lr}, weight decay {decay} on the weights), mini-batches of {BATCH_SIZE}, "
        f"compiled; parameters saved every {size['every']} steps."
    )
    sets = {"train": (X_train, y_train), "validation": (X_val, y_val), "test": (X_test, y_test)}
    accuracy = {name: classifier.score(*pair).accuracy for name, pair in sets.items()}
    return Run(model, snapshots, steps, sets, accuracy, description)


def telling_point(run: Run) -> int:
    """A training point worth showing first: wrong at the first snapshot, right at the last,
    and the most wrong of those at the start (the dots' points are the hardest)."""
    X, y = run.sets["train"]
    scores = []
    with no_grad():
        for state in (run.snapshots[0], run.snapshots[-1]):
            run.model.load_state_dict(state)
            scores.append(np.array([[v.data for v in run.model(x)] for x in X.tolist()]))
    first, last = scores
    turned = (first.argmax(1) != y) & (last.argmax(1) == y)
    margin = first.max(1) - first[np.arange(len(y)), y]  # how far the true class trails
    candidates = np.flatnonzero(turned)
    return int(candidates[np.argmax(margin[candidates])]) if len(candidates) else 0


def run(out: Path, quick: bool) -> Report:
    """Train the default run and write its explorer page."""
    report = Report("explorer", out)
    size = QUICK if quick else FULL
    trained = default_run(quick)
    report.say(trained.description)
    first = telling_point(trained)
    bar = progress(range(len(trained.snapshots)), total=len(trained.snapshots),
                   desc="snapshots", quick=quick)  # fmt: skip
    ticks = iter(bar)
    page = viz.explore(
        trained.model,
        trained.snapshots,
        *trained.sets["train"],
        report.path("explorer.html"),
        steps=trained.steps,
        validation=trained.sets["validation"],
        test=trained.sets["test"],
        title="Training an MLP on the yin-yang, step by step",
        subtitle=trained.description,
        grid=size["grid"],
        point=first,
        progress=lambda _: next(ticks, None),
    )
    report.wrote(page)
    accuracy = ", ".join(f"{name} {100 * a:.1f}%" for name, a in trained.accuracy.items())
    report.say(f"accuracy after {trained.steps[-1]} steps: {accuracy}")
    report.say(
        f"explorer.html: {len(trained.snapshots)} snapshots (steps 0 to {trained.steps[-1]}); "
        f"the graph of each of the {len(trained.sets['train'][0])} training points at every "
        "snapshot"
    )
    report.say(f"page size: {page.stat().st_size / 1e6:.1f} MB, self-contained (no network)")
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["explorer"]))
