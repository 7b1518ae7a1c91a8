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
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from common import gc_timer, machine, micrograd_engine, table

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


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per engine")
    parser.add_argument("--block", type=int, default=5, help="consecutive steps per turn")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per engine first")
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args(argv)

    X_np, y_np = make_moons(args.samples, noise=0.1, seed=0)
    X = X_np.tolist()
    y = [int(2 * label - 1) for label in y_np]
    steps = engine_steps(X, y)
    seconds: dict[str, list[float]] = {name: [] for name in steps}
    gc_seconds: dict[str, list[float]] = {name: [] for name in steps}
    losses: dict[str, list[float]] = {name: [] for name in steps}
    blocks = [args.warmup] + [args.block] * (args.steps // args.block)
    if args.steps % args.block:
        blocks.append(args.steps % args.block)
    for index, size in enumerate(blocks):
        for name, step in steps.items():
            gc.collect()  # what earlier blocks left, the other engine's included: off every clock
            for _ in range(size):
                with gc_timer() as collections:
                    start = time.perf_counter()
                    losses[name].append(step(len(losses[name])))
                    elapsed = time.perf_counter() - start
                if index > 0:  # block 0 is the warm-up: the heap grows, nothing is timed
                    seconds[name].append(elapsed)
                    gc_seconds[name].append(sum(collections))

    reference = statistics.median(seconds["micrograd"])
    rows = []
    for name in steps:
        median = statistics.median(seconds[name])
        gc_share = sum(gc_seconds[name]) / sum(seconds[name])
        difference = max(abs(a - b) for a, b in zip(losses[name], losses["micrograd"]))
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
    report = (
        f"micrograd's moons step, {args.samples} samples, MLP 2-16-16-1, {args.steps} steps "
        f"each after {args.warmup} untimed, in alternating blocks of {args.block} ({machine()})"
        "\n\n"
        + table(header, rows)
        + f"\n\nlosses, first and last step: {losses['tinygrad_edu'][0]:.12f} "
        f"... {losses['tinygrad_edu'][-1]:.12f}"
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
