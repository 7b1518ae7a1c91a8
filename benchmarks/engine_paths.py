"""What each speed path of the engine (tinygrad_edu/fast.py, and + and * in Value) saves,
measured side by side against the readable code it stands in for.

    python benchmarks/engine_paths.py [--samples 100] [--repeats 7] [--chain 20000]

Three comparisons, each pair taking turns in one process (the median of ``--repeats`` runs each;
a full garbage collection, untimed, before every run):

* backward(): ``Value.backward()`` (``fast.propagate``: no step objects, + and * inline) against
  consuming ``backward_steps`` (the walk written for reading), on the loss graph of micrograd's
  demo step. The gradients must be equal bit for bit.
* a Layer's forward: ``nn`` as it is (``fast.neuron``: the weighted sum built node by node, the
  neuron's scope recorded without a context switch) against each neuron written out as
  ``within_scope(name, activation(b + w0*x0 + ...))`` with the operators, on the same step's
  forward pass. The losses must be equal.
* building + and *: ``y = y * a + b`` with the operators (their float arithmetic inline in
  ``Value.__add__``/``__mul__``) against the same through the table's row, as every other
  operation goes.

The ratios are the figures to read: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from common import machine, table
from viz_scaling import moons_step_graph

import tinygrad_edu.nn as nn
from tinygrad_edu import Value, backward_steps, topological_order
from tinygrad_edu.data import make_moons
from tinygrad_edu.recording import within_scope


def side_by_side(
    first: Callable[[], Any], second: Callable[[], Any], repeats: int
) -> tuple[float, float]:
    """The median seconds of each function, run in turns (which one goes first alternates)."""
    times: tuple[list[float], list[float]] = ([], [])
    for k in range(repeats + 1):  # the first round warms up and is not timed
        for which in (0, 1) if k % 2 else (1, 0):
            gc.collect()
            start = time.perf_counter()
            (first, second)[which]()
            if k:
                times[which].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def compare_backward(samples: int, repeats: int) -> list[object]:
    loss = moons_step_graph(samples)
    order = topological_order(loss)

    def fast() -> None:
        for node in order:
            node.grad = 0.0
        loss.backward()

    def steps() -> None:
        for node in order:
            node.grad = 0.0
        for _ in backward_steps(loss):
            pass

    fast()
    fast_grads = [struct.pack("<d", node.grad) for node in order]
    steps()
    same = fast_grads == [struct.pack("<d", node.grad) for node in order]
    label = f"backward() of {len(order):,} nodes"
    paths = ("fast.propagate", "backward_steps")
    return row(label, paths, fast, steps, repeats, "bit for bit" if same else "DIFFER")


def _written_out(weights: Any, inputs: Any, bias: Value, activation: Any, name: str) -> Value:
    """A neuron as a reader writes it: the weighted sum with the operators, in its own scope."""

    def compute() -> Value:
        total = bias
        for w, x in zip(weights, inputs):
            total = total + w * x
        return activation(total)

    return within_scope(name, compute)


@contextmanager
def written_out_neurons() -> Iterator[None]:
    """Within the block, nn's Layers compute each neuron written out instead of fast.neuron."""
    kept = nn.neuron
    nn.neuron = _written_out
    try:
        yield
    finally:
        nn.neuron = kept


def compare_layers(samples: int, repeats: int) -> list[object]:
    X, _ = make_moons(samples, noise=0.1, seed=0)
    rows = X.tolist()
    random.seed(1337)
    model = nn.MLP(2, [16, 16, 1])

    def forward() -> float:
        scores = [model([Value(a) for a in row]) for row in rows]
        return float(sum(s.data for s in scores))  # type: ignore[union-attr]

    def written() -> float:
        with written_out_neurons():
            return forward()

    same = "equal" if forward() == written() else "DIFFER"
    label = f"forward of {samples} samples, 2-16-16-1"
    return row(label, ("fast.neuron", "written out"), forward, written, repeats, same)


@contextmanager
def operators_through_the_table() -> Iterator[None]:
    """Within the block, Value's + and * go through ``_binary`` (the table's row) as - and /
    do, instead of their inline float arithmetic."""
    kept = Value.__add__, Value.__mul__
    Value.__add__ = lambda self, other: self._binary("+", other)  # type: ignore[method-assign]
    Value.__mul__ = lambda self, other: self._binary("*", other)  # type: ignore[method-assign]
    try:
        yield
    finally:
        Value.__add__, Value.__mul__ = kept  # type: ignore[method-assign]


def compare_operators(chain: int, repeats: int) -> list[object]:
    a, b = Value(0.999), Value(0.001)

    def inline() -> float:
        y = Value(1.0)
        for _ in range(chain):
            y = y * a + b
        return y.data

    def through_the_table() -> float:
        with operators_through_the_table():
            return inline()

    same = "equal" if inline() == through_the_table() else "DIFFER"
    label = f"y = y * a + b, {chain:,} times"
    return row(label, ("inline", "table row"), inline, through_the_table, repeats, same)


def row(
    label: str,
    paths: tuple[str, str],
    fast: Callable[[], Any],
    slow: Callable[[], Any],
    repeats: int,
    same: str,
) -> list[object]:
    """A row of the report: the two paths timed side by side, and whether they agree."""
    a, b = side_by_side(fast, slow, repeats)
    return [label, *paths, f"{a * 1e3:.2f}", f"{b * 1e3:.2f}", f"{a / b:.2f}x", same]


def main(argv: list[str] | None = None) -> str:
    """Run the three comparisons and return the report (also printed)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=100, help="moons in the batch")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each")
    parser.add_argument("--chain", type=int, default=20000, help="links of the + and * chain")
    args = parser.parse_args(argv)
    rows = [
        compare_backward(args.samples, args.repeats),
        compare_layers(args.samples, args.repeats),
        compare_operators(args.chain, args.repeats),
    ]
    header = ["what", "speed path", "stands in for", "ms", "ms", "ratio", "results"]
    report = "\n".join(
        [
            f"The engine's speed paths against the code they stand in for ({machine()})",
            "",
            table(header, rows),
        ]
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
