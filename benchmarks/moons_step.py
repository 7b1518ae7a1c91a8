"""micrograd's demo training step, on tinygrad_edu and on micrograd, side by side.

    python benchmarks/moons_step.py [--steps 20] [--block 5] [--warmup 3] [--samples 100]

The step of micrograd's demo notebook: the moons (100 samples), an MLP 2-16-16-1 built after
``random.seed(1337)``, the SVM max-margin loss plus 1e-4 L2, full batch, backward, and SGD with
``lr = 1.0 - 0.9 k / 100``. Both engines train their own model in the same process, in
alternating blocks of consecutive steps: within a block an engine runs as a training loop does,
collecting its own garbage on its own clock; between blocks a full collection, untimed, so that
neither pays for the other's garbage. The first steps (heap growth) are not timed. The table
gives the median step time, the ratio, the share of the steps spent in the cyclic garbage
collector, and the largest difference between the two engines' losses. If PyTorch is
importable, the same scalar graph built from 0-d float64 tensors is a third row.

    python benchmarks/moons_step.py --separate [--clock cpu] [--steps 20] ...

runs each engine alone in a process of its own instead, one after the other, and prints the same
table: no engine's objects are in the other's heap, so each collector scans only its own engine's
objects, as in a program that uses one engine. (``--engine NAME`` is one such process; ``--json``
prints its measurements for the parent.) ``--clock cpu`` times this process's CPU seconds
instead of the wall clock's, which depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from common import CLOCKS, gc_timer, machine, micrograd_engine, table

from tinygrad_edu import nn
from tinygrad_edu.data import make_moons

Step = Callable[[int], float]


def svm_step(Value: Any, model: Any, X: list[list[float]], y: list[int], k: int) -> float:
    """One step of micrograd's demo, written once for any engine with micrograd's API."""
    inputs = [list(map(Value, row)) for row in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    total = data_loss + reg_loss
    model.zero_grad()
    total.backward()
    lr = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= lr * p.grad
    return float(total.data)


def engine_steps(X: list[list[float]], y: list[int]) -> dict[str, Step]:
    """A step function per engine, each with its own model built after random.seed(1337)."""
    from micrograd.nn import MLP as MicroMLP

    Micro = micrograd_engine().Value
    random.seed(1337)
    ours = nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    theirs = MicroMLP(2, [16, 16, 1])
    steps: dict[str, Step] = {
        "tinygrad_edu": lambda k: svm_step(nn.Value, ours, X, y, k),
        "micrograd": lambda k: svm_step(Micro, theirs, X, y, k),
    }
    torch_step = pytorch_step(ours, X, y)
    if torch_step is not None:
        steps["pytorch (0-d tensors)"] = torch_step
    return steps


def pytorch_step(model: nn.MLP, X: list[list[float]], y: list[int]) -> Step | None:
    """The same scalar graph from 0-d float64 tensors, if PyTorch is importable (never a
    dependency). Starts from a copy of ``model``'s initial parameters."""
    try:
        import torch
    except ImportError:
        return None
    layers = [
        [
            (
                [torch.tensor(w.data, dtype=torch.float64, requires_grad=True) for w in neuron.w],
                torch.tensor(neuron.b.data, dtype=torch.float64, requires_grad=True),
            )
            for neuron in layer.neurons
        ]
        for layer in model.layers
    ]
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]

    def forward(x: list[Any]) -> Any:
        for i, layer in enumerate(layers):
            outs = []
            for ws, b in layer:
                act = b
                for w, xi in zip(ws, x):
                    act = act + w * xi
                outs.append(act.relu() if i < len(layers) - 1 else act)
            x = outs
        return x[0]

    def step(k: int) -> float:
        scores = [forward([torch.tensor(v, dtype=torch.float64) for v in row]) for row in X]
        losses = [(1 + -yi * s).relu() for yi, s in zip(y, scores)]
        total = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in params)
        for p in params:
            p.grad = None
        total.backward()
        with torch.no_grad():
            for p in params:
                p -= (1.0 - 0.9 * k / 100) * p.grad
        return float(total)

    return step


Measurements = dict[str, dict[str, list[float]]]
"""Per engine: "seconds" and "gc" per timed step, "losses" per step (warm-up included)."""


def measure(
    steps: dict[str, Step], warmup: int, block: int, count: int, clock: Callable[[], float]
) -> Measurements:
    """Run the engines' steps in alternating blocks (the warm-up block untimed), timed with
    ``clock``."""
    found: Measurements = {name: {"seconds": [], "gc": [], "losses": []} for name in steps}
    blocks = [warmup] + [block] * (count // block)
    if count % block:
        blocks.append(count % block)
    for index, size in enumerate(blocks):
        for name, step in steps.items():
            gc.collect()  # what earlier blocks left, the other engine's included: off every clock
            losses = found[name]["losses"]
            for _ in range(size):
                with gc_timer(clock) as collections:
                    start = clock()
                    losses.append(step(len(losses)))
                    elapsed = clock() - start
                if index > 0:  # block 0 is the warm-up: the heap grows, nothing is timed
                    found[name]["seconds"].append(elapsed)
                    found[name]["gc"].append(sum(collections))
    return found


def separately(names: list[str], argv: list[str]) -> Measurements:
    """Each engine measured by a process of its own (this script with ``--engine NAME --json``),
    one after the other."""
    found: Measurements = {}
    for name in names:
        done = subprocess.run(
            [sys.executable, __file__, *argv, "--engine", name, "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        found.update(json.loads(done.stdout))
    return found


def report(found: Measurements, title: str) -> str:
    """The table: median step time, ratio to micrograd, share in the collector, loss difference.
    (Without micrograd, the first engine is the reference.)"""
    base = found.get("micrograd") or next(iter(found.values()))
    reference = statistics.median(base["seconds"])
    rows = []
    for name, measured in found.items():
        median = statistics.median(measured["seconds"])
        gc_share = sum(measured["gc"]) / sum(measured["seconds"])
        pairs = zip(measured["losses"], base["losses"])
        difference = max(abs(a - b) for a, b in pairs)
        rows.append(
            [
                name,
                f"{median * 1e3:.1f}",
                f"{reference / median:.1f}x",
                f"{gc_share:.0%}",
                f"{difference:.1e}",
            ]
        )
    header = ["engine", "ms per step (median)", "speed-up", "in gc", "max loss difference"]
    losses = next(iter(found.values()))["losses"]
    return (
        f"{title} ({machine()})\n\n"
        + table(header, rows)
        + f"\n\nlosses, first and last step: {losses[0]:.12f} ... {losses[-1]:.12f}"
    )


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per engine")
    parser.add_argument("--block", type=int, default=5, help="consecutive steps per turn")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per engine first")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument(
        "--separate", action="store_true", help="each engine alone in a process of its own"
    )
    parser.add_argument(
        "--clock", choices=CLOCKS, default="wall", help="wall-clock or this process's CPU time"
    )
    parser.add_argument("--engine", help="measure only this engine, in this process")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args(argv)

    X_np, y_np = make_moons(args.samples, noise=0.1, seed=0)
    X = X_np.tolist()
    y = [int(2 * label - 1) for label in y_np]
    steps = engine_steps(X, y)
    sizes = ["--steps", str(args.steps), "--block", str(args.block)]
    sizes += ["--warmup", str(args.warmup), "--samples", str(args.samples), "--clock", args.clock]
    if args.separate:
        found = separately(list(steps), sizes)
        how = "each engine alone in its own process"
    else:
        if args.engine is not None:
            steps = {args.engine: steps[args.engine]}
        found = measure(steps, args.warmup, args.block, args.steps, CLOCKS[args.clock])
        if args.json:
            print(json.dumps(found))
            return json.dumps(found)
        how = f"in alternating blocks of {args.block}"
    title = (
        f"micrograd's moons step, {args.samples} samples, MLP 2-16-16-1, {args.steps} steps "
        f"each after {args.warmup} untimed, {how}, {args.clock} time"
    )
    text = report(found, title)
    print(text)
    return text


if __name__ == "__main__":
    main()
