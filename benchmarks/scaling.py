"""Time per node from a thousand to a million nodes: forward + backward must stay linear.

    python benchmarks/scaling.py [--sizes 1000 10000 100000 1000000] [--repeats 3] [--nodes 1000000]

Two shapes: a chain (``y = y * w``, each node feeding the next: the depth a recursive engine
cannot handle) and a wide sum (n leaves added one after another into a single root). The
per-node time of the largest size over the smallest tells whether anything grows faster than
linearly; the target is at most 1.5. The same shapes are timed again with the cyclic garbage
collector paused during the measurement: the difference is the collector tracing the live graph
while it grows (it runs more often, over more objects, as the heap grows).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable

from common import machine, table

from tinygrad_edu import Value


def chain(n: int) -> Value:
    """y = x * w * w * ... : n nodes in all (x, w and n - 2 products)."""
    w = Value(0.9999)
    y = Value(1.0)
    for _ in range(n - 2):
        y = y * w
    return y


def wide_sum(n: int) -> Value:
    """x0 + x1 + ... : n nodes in all (n/2 leaves and n/2 sums)."""
    leaves = [Value(float(i)) for i in range(n // 2)]
    total = leaves[0]
    for leaf in leaves[1:]:
        total = total + leaf
    return total


def seconds_per_node(
    build: Callable[[int], Value], n: int, repeats: int, collector: bool = True
) -> float:
    """Median over ``repeats`` of (forward + backward seconds) / n, with the cyclic garbage
    collector running as usual, or paused for the measurement (and restored after it)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        if not collector:
            gc.disable()
        try:
            start = time.perf_counter()
            build(n).backward()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times) / n


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**3, 10**4, 10**5, 10**6])
    parser.add_argument("--repeats", type=int, default=3, help="at least; small sizes run more")
    parser.add_argument(
        "--nodes", type=int, default=10**6, help="nodes timed per size in all (small sizes repeat)"
    )
    args = parser.parse_args(argv)

    rows = []
    for collector in (True, False):
        for shape in (chain, wide_sum):
            # Small graphs are timed many more times, so every median rests on as many nodes.
            per_node = [
                seconds_per_node(shape, n, max(args.repeats, args.nodes // n), collector)
                for n in args.sizes
            ]
            cells = [f"{t * 1e9:.0f}" for t in per_node]
            name = shape.__name__ + ("" if collector else " (gc paused)")
            rows.append([name, *cells, f"{per_node[-1] / per_node[0]:.2f}"])
    header = ["shape", *(f"{n:,} nodes" for n in args.sizes), "largest / smallest"]
    report = f"Forward + backward, nanoseconds per node ({machine()})\n\n" + table(header, rows)
    print(report)
    return report


if __name__ == "__main__":
    main()
