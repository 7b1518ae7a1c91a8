"""The compiled replay against the interpreter and micrograd, side by side in one process.

    python benchmarks/compiled.py [--steps 100] [--batch-steps 3] [--compiled-steps 20] [--quick]

Three training steps, each a forward, a backward and a plain SGD update:

* **micrograd's demo step** (the moons, 100 samples, MLP 2-16-16-1, max-margin loss + 1e-4 L2,
  full batch, ``lr = 1.0 - 0.9 k / 100``): micrograd, our interpreter and our compiled replay
  each train their own copy of the model for ``--steps`` steps (100, as the demo does), in
  alternating blocks of 10 consecutive steps, and must give the same losses (to 1e-9 relative).
* a **digits-shaped step**: MLP 64-50-10 (ReLU, He initialisation), a batch of 100 random
  samples, softmax cross-entropy (``functional.cross_entropy`` with class indices, which are
  static: the same batch at every step), SGD with lr 0.1; interpreter against compiled.
* the **MNIST-shaped step** of the course: the same with 784 inputs (about eight million nodes).

For each, the compiled program's size (nodes, vectorised steps, bytes per node) and the time of
its first call (trace + compile), which is not counted in the step times. Times are medians of
the steps after the first. The compiled loops keep their parameter list, as an optimiser does.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from common import machine, micrograd_engine, table
from moons_step import svm_step

import tinygrad_edu
from tinygrad_edu import Value, nn
from tinygrad_edu.compile import Program
from tinygrad_edu.data import make_moons
from tinygrad_edu.functional import cross_entropy

Step = Callable[[int], float]


def svm_loss(model: nn.MLP, X: Any, y: Sequence[int]) -> Value:
    """The loss of ``moons_step.svm_step``, the same graph: max-margin loss + 1e-4 L2."""
    scores = [model(row) for row in X]
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss  # type: ignore[no-any-return]


def sgd(params: list[Value], lr: float) -> None:
    """p -= lr * p.grad, as ``svm_step`` updates."""
    for p in params:
        p.data -= lr * p.grad


def compiled_step(
    fast: Callable[..., Value],
    params: list[Value],
    args: tuple[Any, ...],
    lr: Callable[[int], float],
) -> Step:
    """One training step through the compiled function: forward, backward, SGD."""

    def step(k: int) -> float:
        loss = fast(*args)
        for p in params:
            p.grad = 0.0
        loss.backward()
        sgd(params, lr(k))
        return loss.data

    return step


def demo_steps(samples: int) -> tuple[dict[str, Step], Program]:
    """micrograd's demo step for each engine, each with its own model after random.seed(1337)."""
    from micrograd.nn import MLP as MicroMLP

    X_np, y_np = make_moons(samples, noise=0.1, seed=0)
    X, y = X_np.tolist(), [int(2 * label - 1) for label in y_np]
    Micro = micrograd_engine().Value
    random.seed(1337)
    theirs = MicroMLP(2, [16, 16, 1])
    random.seed(1337)
    interpreted = nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    model = nn.MLP(2, [16, 16, 1])
    fast = tinygrad_edu.compile(lambda X, y: svm_loss(model, X, y))
    steps: dict[str, Step] = {
        "micrograd": lambda k: svm_step(Micro, theirs, X, y, k),
        "interpreter": lambda k: svm_step(Value, interpreted, X, y, k),
        "compiled": compiled_step(fast, model.parameters(), (X, y), lambda k: 1.0 - 0.9 * k / 100),
    }
    return steps, fast.program(X, y)


def batch_steps(nin: int, batch: int, classes: int) -> tuple[dict[str, Step], Program]:
    """The digits- or MNIST-shaped step: MLP nin-50-classes, softmax cross-entropy, SGD 0.1."""
    rng = np.random.default_rng(0)
    X, labels = rng.random((batch, nin)), rng.integers(0, classes, batch)
    interpreted = nn.MLP(nin, [50, classes], init="he", rng=random.Random(0))
    model = nn.MLP(nin, [50, classes], init="he", rng=random.Random(0))

    def loss_of(m: nn.MLP) -> Callable[[Any, Any], Value]:
        def loss(X: Any, labels: Any) -> Value:
            return cross_entropy([m(row) for row in X], labels)

        return loss

    fast = tinygrad_edu.compile(loss_of(model))
    interpreter_params = interpreted.parameters()

    def interpreter_step(k: int) -> float:
        loss = loss_of(interpreted)([[Value(v) for v in row] for row in X.tolist()], labels)
        for p in interpreter_params:
            p.grad = 0.0
        loss.backward()
        sgd(interpreter_params, 0.1)
        return loss.data

    steps = {
        "interpreter": interpreter_step,
        "compiled": compiled_step(fast, model.parameters(), (X, labels), lambda k: 0.1),
    }
    return steps, fast.program(X, labels)


Runs = dict[str, list[float]]


def run(steps: dict[str, Step], counts: dict[str, int], block: int) -> tuple[Runs, Runs]:
    """Each engine's step times (all but its first step) and losses, in alternating blocks of
    consecutive steps, with a full collection between blocks, untimed."""
    seconds: dict[str, list[float]] = {name: [] for name in steps}
    losses: dict[str, list[float]] = {name: [] for name in steps}
    while any(len(losses[name]) < counts[name] for name in steps):
        for name, step in steps.items():
            gc.collect()
            for _ in range(min(block, counts[name] - len(losses[name]))):
                start = time.perf_counter()
                losses[name].append(step(len(losses[name])))
                seconds[name].append(time.perf_counter() - start)
    return {name: times[1:] or times for name, times in seconds.items()}, losses


def difference(losses: list[float], reference: list[float]) -> float:
    """The largest relative difference between two runs' losses, step by step."""
    return max(abs(a - b) / max(abs(b), 1e-300) for a, b in zip(losses, reference))


def program_row(
    name: str, program: Program, interpreter: float, compiled: float, diff: float
) -> list[str]:
    return [
        name,
        f"{program.nodes:,}",
        f"{len(program.schedule):,}",
        f"{program.nbytes / program.nodes:.1f}",
        f"{program.seconds_to_trace + program.seconds_to_compile:.2f}",
        f"{interpreter * 1e3:,.1f}",
        f"{compiled * 1e3:,.2f}",
        f"{interpreter / compiled:,.0f}x",
        f"{diff:.1e}",
    ]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="micrograd demo steps per engine")
    parser.add_argument(
        "--batch-steps", type=int, default=3, help="interpreter steps, digits and MNIST shapes"
    )
    parser.add_argument(
        "--compiled-steps", type=int, default=20, help="compiled steps, digits and MNIST shapes"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    args = parser.parse_args(argv)
    samples, digits, mnist, batch = (100, 64, 784, 100) if not args.quick else (10, 8, 20, 5)

    steps, demo = demo_steps(samples)
    n = args.steps
    seconds, losses = run(steps, {name: n for name in steps}, block=10)
    medians = {name: statistics.median(times) for name, times in seconds.items()}
    rows = [
        [
            name,
            f"{medians[name] * 1e3:,.2f}",
            f"{medians['micrograd'] / medians[name]:,.0f}x",
            f"{difference(losses[name], losses['micrograd']):.1e}",
        ]
        for name in steps
    ]
    demo_table = table(
        ["engine", "ms per step (median)", "speed-up", "max loss difference (relative)"], rows
    )
    programs = [
        program_row(
            "micrograd's demo",
            demo,
            medians["interpreter"],
            medians["compiled"],
            difference(losses["compiled"], losses["interpreter"]),
        )
    ]
    del steps, seconds, losses
    for name, nin in (("digits-shaped", digits), ("MNIST-shaped", mnist)):
        gc.collect()
        steps, program = batch_steps(nin, batch, 10 if not args.quick else 3)
        counts = {
            "interpreter": args.batch_steps,
            "compiled": max(args.compiled_steps, args.batch_steps),
        }
        seconds, losses = run(steps, counts, block=counts["compiled"])
        programs.append(
            program_row(
                name,
                program,
                statistics.median(seconds["interpreter"]),
                statistics.median(seconds["compiled"]),
                difference(losses["compiled"], losses["interpreter"]),
            )
        )
        del steps, seconds, losses, program
    header = [
        "step",
        "nodes",
        "vectorised steps",
        "bytes per node",
        "trace + compile (s)",
        "interpreter (ms per step)",
        "compiled (ms per step)",
        "speed-up",
        "max loss difference (relative)",
    ]
    report = (
        f"Compiled replay ({machine()})\n\n"
        f"micrograd's demo step: moons, {samples} samples, MLP 2-16-16-1, max-margin loss + L2,"
        f" SGD; {n} steps per engine in alternating blocks of 10\n\n"
        + demo_table
        + f"\n\nThe compiled programs (digits- and MNIST-shaped: batch {batch}, softmax"
        f" cross-entropy; {args.batch_steps} interpreter steps, {counts['compiled']} compiled)\n\n"
        + table(header, programs)
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
