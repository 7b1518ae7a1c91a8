"""Bytes per operation node: a long expression built in each engine, measured with tracemalloc.

    python benchmarks/memory.py [--nodes 100000]

Each step of the expression ``y = y * w + c`` creates two operation nodes in both engines (``w``
and ``c`` are Values made once). The figure is the memory the graph holds after the forward pass,
and after ``backward()`` in our engine (micrograd's recursive backward cannot walk a graph this
deep), divided by the number of operation nodes.
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc
from typing import Any

from common import engines, machine, table


def graph_bytes_per_node(Value: Any, nodes: int, backward: bool) -> float:
    """Traced bytes held by a graph of ``nodes`` operation nodes, per node."""
    w, c = Value(0.999), Value(0.001)
    gc.collect()
    tracemalloc.start()
    y = Value(1.0)
    for _ in range(nodes // 2):
        y = y * w + c
    if backward:
        y.backward()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del y
    return held / nodes


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000, help="operation nodes per graph")
    args = parser.parse_args(argv)

    values = engines()
    ours = graph_bytes_per_node(values["tinygrad_edu"], args.nodes, backward=False)
    ours_after = graph_bytes_per_node(values["tinygrad_edu"], args.nodes, backward=True)
    theirs = graph_bytes_per_node(values["micrograd"], args.nodes, backward=False)
    rows = [
        ["micrograd", f"{theirs:.0f}", "(recursion limit)", "1.00"],
        ["tinygrad_edu", f"{ours:.0f}", f"{ours_after:.0f}", f"{ours / theirs:.2f}"],
    ]
    report = f"Bytes per operation node, {args.nodes:,} nodes ({machine()})\n\n" + table(
        ["engine", "forward", "after backward", "ratio (forward)"], rows
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
