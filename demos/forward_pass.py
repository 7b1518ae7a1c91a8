"""The course's three-layer network, its forward pass written with numpy arrays of Values.

    A1 = X·W1 + B1,  Z1 = σ(A1)
    A2 = Z1·W2 + B2, Z2 = σ(A2)
    Y  = Z2·W3 + B3  (identity output)

``np.dot`` works on object arrays because a Value has ``*`` and ``+``: every product and sum is
recorded, so the whole network is one graph. The weights and biases are ``Parameter``s, named
the way ``nn`` names its own (``layer.1.neuron.0.w.1``), and each layer is computed inside a
``scope``, so the diagram draws the parameters as parameters and groups each layer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinygrad_edu import Parameter, Value, scope, topological_order

from .common import Report, main

X = [1.0, 0.5]
WEIGHTS = {
    1: ([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]], [0.1, 0.2, 0.3]),
    2: ([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]], [0.1, 0.2]),
    3: ([[0.1, 0.3], [0.2, 0.4]], [0.1, 0.2]),
}
"""Layer -> (W, B) of the course; W[i][j] joins input i to neuron j."""

sigmoid = np.vectorize(Value.sigmoid, otypes=[object])


def layer_parameters(layer: int) -> tuple[np.ndarray, np.ndarray]:
    """W and B of a layer as object arrays of labelled Parameters (neuron j's weights are
    W[:, j])."""
    w, b = WEIGHTS[layer]
    W = np.empty((len(w), len(b)), dtype=object)
    for (i, j), x in np.ndenumerate(np.array(w)):
        W[i, j] = Parameter(x, f"layer.{layer}.neuron.{j}.w.{i}")
    B = np.array([Parameter(x, f"layer.{layer}.neuron.{j}.b") for j, x in enumerate(b)])
    return W, B


def forward() -> dict[str, np.ndarray]:
    """The forward pass; every intermediate array by its course name (A1, Z1, ..., Y)."""
    x = np.array([Value(v, f"x.{i}") for i, v in enumerate(X)])
    (W1, B1), (W2, B2), (W3, B3) = (layer_parameters(k) for k in (1, 2, 3))
    with scope("layer.1"):
        A1 = np.dot(x, W1) + B1
        Z1 = sigmoid(A1)
    with scope("layer.2"):
        A2 = np.dot(Z1, W2) + B2
        Z2 = sigmoid(A2)
    with scope("layer.3"):
        Y = np.dot(Z2, W3) + B3  # identity output: Y = A3
    return {"A1": A1, "Z1": Z1, "A2": A2, "Z2": Z2, "Y": Y}


def numbers(values: np.ndarray) -> str:
    """An array of Values as the course prints it: [0.3 0.7 1.1]."""
    return np.array2string(np.array([v.data for v in values]), precision=8, separator=" ")


def run(out: Path, quick: bool) -> Report:
    """Print A1, Z1, ..., Y and render the graph, clustered by layer."""
    report = Report("forward_pass", out)
    arrays = forward()
    for name, values in arrays.items():
        report.say(f"{name:<2} = {numbers(values)}")
    y0, y1 = arrays["Y"]
    total = y0 + y1
    total.label = "y0 + y1"
    total.backward()
    report.say(f"graph: {len(topological_order(total))} values; gradients shown are of y0 + y1")
    report.graph(total, "forward_pass_graph.svg", cluster=True, precision=3)
    report.graph(total, "forward_pass_graph.png", cluster=True, precision=3)
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["forward_pass"]))
