"""What recording scopes costs a training step: micrograd's demo step with and without them.

    python benchmarks/scopes.py [--steps 12] [--samples 100]

Every nn module call opens a ``scope`` and every neuron of a Layer records its own (so a diagram
can say which Neuron computed what): a new scope entry each, 37 per sample of this model. Two
copies of micrograd's demo model (2-16-16-1, ``random.seed(1337)``) train side by side in one
process, in turns: one as nn is, one whose modules open a do-nothing context instead of a scope
and whose neurons record none. Same losses, step for step; the table gives the median step time
of each and the ratio.

Not switched off: each node's store of the scope it was recorded in (one slot, filled with what
the recording flag's lookup already returned). The report estimates it as the step's nodes times
the time of one slot store (timeit, less the loop's own time).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from common import machine, table
from moons_step import svm_step
from viz_scaling import moons_step_graph

import tinygrad_edu.nn as nn
from tinygrad_edu import Value, topological_order
from tinygrad_edu.data import make_moons
from tinygrad_edu.engine import weighted_sum


def _no_scope(name: str, function: Callable[..., Any], *args: Any) -> Any:
    """``within_scope`` without the scope: the call alone."""
    return function(*args)


def _neuron_without_scope(
    weights: list[Value],
    inputs: list[Value],
    bias: Value,
    activation: Callable[[Value], Value],
    name: str,
) -> Value:
    """``neuron`` without its scope: the activation of the weighted sum."""
    return activation(weighted_sum(weights, inputs, bias))


@contextmanager
def scopes(on: bool) -> Iterator[None]:
    """Within the block, nn's module calls open their scopes (on) or do nothing (off)."""
    recorded = nn.within_scope, nn.neuron
    if not on:
        nn.within_scope, nn.neuron = _no_scope, _neuron_without_scope
    try:
        yield
    finally:
        nn.within_scope, nn.neuron = recorded


def main(argv: list[str] | None = None) -> str:
    """Run the comparison and return its report (also printed)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=12, help="timed steps per variant")
    parser.add_argument("--samples", type=int, default=100, help="moons in the batch")
    args = parser.parse_args(argv)
    X, labels = make_moons(args.samples, noise=0.1, seed=1)
    y = [2 * int(label) - 1 for label in labels]
    rows = X.tolist()
    models = []
    for _ in range(2):
        random.seed(1337)
        models.append(nn.MLP(2, [16, 16, 1]))
    times: dict[bool, list[float]] = {True: [], False: []}
    losses: list[list[float]] = [[], []]
    for k in range(args.steps + 1):  # the first step of each is a warm-up, not timed
        # The two models follow the same numbers whether scopes are on or off, so each step
        # swaps which model runs with scopes, and which variant goes first: neither a model's
        # place in memory nor the order within a step favours one variant.
        for m, on in enumerate((k % 2 == 0, k % 2 == 1)):
            gc.collect()
            with scopes(on):
                start = time.perf_counter()
                losses[m].append(svm_step(Value, models[m], rows, y, k))
                if k:
                    times[on].append(time.perf_counter() - start)
    with_scopes, without = statistics.median(times[True]), statistics.median(times[False])
    difference = max(abs(a - b) for a, b in zip(*losses))
    rows = [
        ["open a scope", f"{with_scopes * 1e3:.1f}", f"{with_scopes / without:.3f}x"],
        ["do nothing", f"{without * 1e3:.1f}", "1.000x"],
    ]
    header = ["module calls", "ms per step", "vs no scopes", "max |loss difference|"]
    title = f"micrograd's demo step, {args.samples} samples, median of {args.steps} steps"
    report = "\n".join(
        [
            f"{title} ({machine()})",
            "",
            table(header, [rows[0] + [f"{difference:.1e}"], rows[1] + [""]]),
        ]
    )
    nodes = len(topological_order(moons_step_graph(args.samples)))
    store = _slot_store_seconds()
    stores = nodes * store
    report += (
        f"\n\nNot switched off, the scope stored in each node: {nodes:,} nodes x "
        f"{store * 1e9:.0f} ns per slot store = {stores * 1e3:.2f} ms, "
        f"{stores / without:.1%} of the step"
    )
    print(report)
    return report


def _slot_store_seconds() -> float:
    """The time of one store into a Value's slot (``v.label = s``), without timeit's loop."""
    names = {"v": Value(0.0), "s": ""}
    n = 1_000_000
    store = min(timeit.repeat("v.label = s", globals=names, number=n, repeat=5))
    loop = min(timeit.repeat("pass", number=n, repeat=5))
    return max(store - loop, 0.0) / n


if __name__ == "__main__":
    main()
