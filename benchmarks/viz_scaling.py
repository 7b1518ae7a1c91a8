"""How long viz takes on large graphs: collapse and cluster on a training step, and animations.

    python benchmarks/viz_scaling.py [--samples 100] [--animate 100 500 2000]

The first table draws micrograd's moons training step (the graph of ``benchmarks/moons_step.py``:
100 samples through an MLP 2-16-16-1, the max-margin loss plus L2, after backward; about 65,000
nodes) with ``collapse=True`` (one box per Neuron path, its calls folded) and with
``cluster=True`` (every node, in a cluster per module call; ``max_nodes`` raised). It times
making the DOT source, which is the part viz does (laying out 65,000 nodes is Graphviz's work,
and not timed), and, for the collapsed diagram, Graphviz's layout too, which is small.

The second table times ``viz.animate`` to an HTML page, Graphviz's layout included, on the loss
of one sample through an MLP 4-h-1 (tanh) for a few sizes, with the page's size.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from common import machine, table

import viz
from tinygrad_edu import Value, nn, topological_order
from tinygrad_edu.data import make_moons


def moons_step_graph(samples: int = 100) -> Value:
    """The loss of micrograd's demo step, as benchmarks/moons_step.py builds it, after
    backward()."""
    X, y = make_moons(samples, noise=0.1, seed=0)
    random.seed(1337)
    model = nn.MLP(2, [16, 16, 1])
    inputs = [list(map(Value, row)) for row in X.tolist()]
    scores = list(map(model, inputs))
    labels = [int(2 * label - 1) for label in y]
    losses = [(1 + -yi * score).relu() for yi, score in zip(labels, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    total = data_loss + reg_loss
    assert isinstance(total, Value)
    total.backward()
    return total


def mlp_loss(hidden: int) -> Value:
    """The squared error of one sample through an MLP 4-hidden-1 (tanh), after backward()."""
    model = nn.MLP(4, [hidden, 1], activation="tanh", rng=random.Random(0))
    out = model([Value(0.1 * k, label=f"x.{k}") for k in range(4)])
    assert isinstance(out, Value)
    loss = (out - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    return loss


def hidden_for(nodes: int) -> int:
    """The hidden width whose mlp_loss graph has about ``nodes`` nodes."""
    return max(1, round((nodes - 8) / 17))


def seconds(work: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()  # type: ignore[operator]
    return time.perf_counter() - start, result


def moons_rows(samples: int) -> list[list[str]]:
    root = moons_step_graph(samples)
    nodes = len(topological_order(root))
    rows = []
    took, digraph = seconds(lambda: viz.draw(root, collapse=True))
    boxes = digraph.source.count("shape=plain")  # value nodes and boxes
    laid, _ = seconds(lambda: digraph.pipe(format="svg"))
    rows.append(["collapse=True", f"{nodes:,}", f"{boxes}", f"{took:.2f}", f"{laid:.2f}"])
    took, digraph = seconds(lambda: viz.draw(root, cluster=True, max_nodes=nodes))
    clusters = digraph.source.count("subgraph cluster_")
    rows.append(["cluster=True", f"{nodes:,}", f"{clusters:,} clusters", f"{took:.2f}", "-"])
    return rows


def animate_rows(sizes: list[int], folder: Path) -> list[list[str]]:
    rows = []
    for size in sizes:
        root = mlp_loss(hidden_for(size))
        nodes = len(topological_order(root))
        page = folder / f"animation_{size}.html"
        took, _ = seconds(lambda r=root, p=page, n=nodes: viz.animate(r, p, max_nodes=n))
        megabytes = page.stat().st_size / 1e6
        rows.append([f"{nodes:,}", f"{took:.2f}", f"{megabytes:.2f}"])
    return rows


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100, help="samples in the moons step")
    parser.add_argument("--animate", type=int, nargs="+", default=[100, 500, 2000],
                        help="graph sizes (nodes) to animate")  # fmt: skip
    args = parser.parse_args(argv)
    moons = moons_rows(args.samples)
    with tempfile.TemporaryDirectory() as folder:
        animations = animate_rows(args.animate, Path(folder))
    report = (
        f"viz on micrograd's moons step ({args.samples} samples, MLP 2-16-16-1) and viz.animate "
        f"on MLP losses ({machine()})\n\n"
        + table(["diagram", "nodes", "drawn", "viz seconds", "layout seconds"], moons)
        + "\n\n"
        + table(["animated nodes", "seconds (with layout)", "page MB"], animations)
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
