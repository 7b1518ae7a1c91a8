"""The shopping example: a computational graph, and every gradient on it from one backward().

2 apples at 100 each and 3 oranges at 150 each, with 10% tax:
price = (apple·apple_num + orange·orange_num)·tax = 715. Backpropagation answers "how much does
the price change per unit change of each input?": d price/d apple = apple_num·tax = 2.2, and
110, 3.3, 165 and 650 for apple_num, orange, orange_num and tax. The diagram writes the local
derivative on each edge; the animation replays the backward pass one node at a time.
"""

from __future__ import annotations

from pathlib import Path

from tinygrad_edu import Value

from .common import Report, main

PRICES = {"apple": 100.0, "apple_num": 2.0, "orange": 150.0, "orange_num": 3.0, "tax": 1.1}


def shopping() -> tuple[Value, dict[str, Value]]:
    """The total price after backward(), and the inputs by name."""
    v = {name: Value(x, name) for name, x in PRICES.items()}
    apples = v["apple"] * v["apple_num"]
    apples.label = "apples"
    oranges = v["orange"] * v["orange_num"]
    oranges.label = "oranges"
    subtotal = apples + oranges
    subtotal.label = "subtotal"
    price = subtotal * v["tax"]
    price.label = "price"
    price.backward()
    return price, v


def run(out: Path, quick: bool) -> Report:
    """Print the price and the gradients; render the graph and animate its backward pass."""
    report = Report("computational_graph", out)
    price, inputs = shopping()
    report.say(f"price = {price.data:.10g}")
    for name, v in inputs.items():
        report.say(f"d price / d {name:<10} = {v.grad:.10g}")
    report.graph(price, "computational_graph.svg", edge_grads=True, precision=2)
    report.graph(price, "computational_graph.png", edge_grads=True, precision=2)
    report.animation(price, "computational_graph_backward.html", precision=2)
    report.animation(price, "computational_graph_backward.gif", precision=2)
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["computational_graph"]))
