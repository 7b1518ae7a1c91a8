"""The digits-shaped training step in the interpreter, this tree against another, each in a
process of its own.

    python benchmarks/digits_step.py [--against DIR] [--steps 5] [--warmup 1] [--rounds 2]

The step is the interpreter's digits-shaped step of ``benchmarks/compiled.py``: an MLP 64-50-10
(ReLU, He initialisation from ``random.Random(0)``), a batch of 100 random samples (the same at
every step), each sample a row of Values through the model, ``functional.cross_entropy`` with
the class indices, ``backward()``, and ``optim.SGD`` with lr 0.1. About 760,000 nodes, so it
measures what a node costs the interpreter, where micrograd's demo step measures a small graph.

``--against DIR`` measures the same step with the ``tinygrad_edu`` of another checkout of the
repository too, such as the previous release::

    git worktree add /tmp/previous <commit>
    python benchmarks/digits_step.py --against /tmp/previous
    git worktree remove /tmp/previous

Each tree is measured by a process of its own (this script with ``--tree DIR --json``), which
imports that tree's package and nothing else of it; the processes take turns, ``--rounds``
times, so that a noisy, shared machine slows both alike. The table gives the median step time,
the speed-up over the other tree, the share of the step spent in the cyclic garbage collector,
and the largest difference between the two trees' losses (the same arithmetic gives 0).
``--clock cpu`` times the process's CPU seconds instead of the wall clock's.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

# Nothing of tinygrad_edu (nor common.py, which imports it) is imported at the top: a process
# measuring another tree must import that tree's package first.
HERE = Path(__file__).resolve().parent
THIS_TREE = HERE.parent

Measurements = dict[str, list[float]]
"""Per tree: "seconds" and "gc" per timed step, "losses" per step (warm-up included)."""


def measure_tree(tree: Path, steps: int, warmup: int, batch: int, clock_name: str) -> Measurements:
    """The step, timed with the ``tinygrad_edu`` found in ``tree`` (this process's only one)."""
    sys.path.insert(0, str(tree))
    import tinygrad_edu

    if not Path(tinygrad_edu.__file__).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"tinygrad_edu came from {tinygrad_edu.__file__}, not from {tree}")
    sys.path.insert(1, str(HERE))
    import numpy as np
    from common import CLOCKS, gc_timer

    from tinygrad_edu import Value, nn, optim
    from tinygrad_edu.functional import cross_entropy

    rng = np.random.default_rng(0)
    X, labels = rng.random((batch, 64)).tolist(), rng.integers(0, 10, batch).tolist()
    model = nn.MLP(64, [50, 10], init="he", rng=random.Random(0))
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    def step() -> float:
        loss = cross_entropy([model([Value(v) for v in row]) for row in X], labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.data)

    clock = CLOCKS[clock_name]
    found: Measurements = {"seconds": [], "gc": [], "losses": []}
    for k in range(warmup + steps):
        gc.collect()  # what the previous step left: off the clock
        with gc_timer(clock) as collections:
            start = clock()
            found["losses"].append(step())
            elapsed = clock() - start
        if k >= warmup:
            found["seconds"].append(elapsed)
            found["gc"].append(sum(collections))
    return found


def in_own_process(tree: Path, argv: list[str]) -> Measurements:
    """``measure_tree`` run by a process of its own (this script with ``--tree DIR --json``)."""
    done = subprocess.run(
        [sys.executable, __file__, *argv, "--tree", str(tree), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    measured: Measurements = json.loads(done.stdout)
    return measured


def report(found: dict[str, Measurements], title: str) -> str:
    """The table: median step time, speed-up over the other tree, collector's share, largest
    loss difference from the other tree's."""
    from common import machine, table

    base = next(reversed(found.values()))  # the tree compared against; alone, this tree
    reference = statistics.median(base["seconds"])
    rows = []
    for name, measured in found.items():
        median = statistics.median(measured["seconds"])
        difference = max(abs(a - b) for a, b in zip(measured["losses"], base["losses"]))
        rows.append(
            [
                name,
                f"{median * 1e3:.0f}",
                f"{reference / median:.2f}x",
                f"{sum(measured['gc']) / sum(measured['seconds']):.0%}",
                f"{difference:.1e}",
            ]
        )
    header = ["tree", "ms per step (median)", "speed-up", "in gc", "max loss difference"]
    losses = next(iter(found.values()))["losses"]
    return (
        f"{title} ({machine()})\n\n"
        + table(header, rows)
        + f"\n\nlosses, first and last step: {losses[0]:.12f} ... {losses[-1]:.12f}"
    )


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="another checkout of the repository")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per process")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per process first")
    parser.add_argument("--rounds", type=int, default=2, help="processes per tree, in turns")
    parser.add_argument("--batch", type=int, default=100, help="samples per step")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--tree", type=Path, help="measure this tree, in this process")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args(argv)

    sizes = ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    sizes += ["--batch", str(args.batch), "--clock", args.clock]
    if args.tree is not None:
        found = measure_tree(args.tree, args.steps, args.warmup, args.batch, args.clock)
        if args.json:
            print(json.dumps(found))
        return json.dumps(found)

    trees = {"this tree": THIS_TREE}
    if args.against is not None:
        trees[f"against: {args.against.name}"] = args.against
    pooled: dict[str, Measurements] = {name: {} for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            measured = in_own_process(tree, sizes)
            for key, values in measured.items():
                if key == "losses":
                    pooled[name][key] = values  # the same in every round
                else:
                    pooled[name].setdefault(key, []).extend(values)
    title = (
        f"The digits-shaped interpreter step, MLP 64-50-10, batch {args.batch}, "
        f"{args.rounds} x {args.steps} steps per tree after {args.warmup} untimed, "
        f"each tree in its own process, {args.clock} time"
    )
    text = report(pooled, title)
    print(text)
    return text


if __name__ == "__main__":
    main()
