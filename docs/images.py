"""Make the README's pictures: python docs/images.py (writes the PNGs and the GIF next to this
file)."""

from __future__ import annotations

import random
from pathlib import Path

import viz
from tinygrad_edu import Parameter, Value, grad, nn
from tinygrad_edu.data import make_moons

HERE = Path(__file__).parent


def neuron() -> Value:
    """The classic neuron: o = tanh(x1*w1 + x2*w2 + b), after backward(); w1, w2 and b are
    Parameters."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Parameter(-3.0, label="w1"), Parameter(1.0, label="w2")
    b = Parameter(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def mlp_loss() -> Value:
    """A 2-2-1 MLP (tanh hidden layer) on one sample, squared error to 1, after backward()."""
    model = nn.MLP(2, [2, 1], activation="tanh", rng=random.Random(1337))
    out = model([Value(2.0, label="x.0"), Value(-1.0, label="x.1")])
    assert isinstance(out, Value)
    loss = (out - 1.0) * (out - 1.0)
    loss.label = "loss"
    loss.backward()
    return loss


def training_step() -> Value:
    """micrograd's moons step (max-margin loss, L2) on 100 samples through an MLP 2-4-4-1:
    about 5,000 nodes, after backward()."""
    X, y = make_moons(100, noise=0.1, seed=0)
    model = nn.MLP(2, [4, 4, 1], rng=random.Random(1337))
    scores = [model([Value(x) for x in row]) for row in X.tolist()]
    labels = [2 * int(label) - 1 for label in y]
    losses = [(1 + -label * score).relu() for label, score in zip(labels, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    total = data_loss + 1e-4 * sum(p * p for p in model.parameters())
    assert isinstance(total, Value)
    total.label = "loss"
    total.backward()
    return total


def second_derivative() -> Value:
    """d²/dx² tanh(x) at x = 0.5, built by grad(grad(y, x), x); backward() gives d³/dx³."""
    x = Value(0.5, label="x")
    y = x.tanh()
    d2 = grad(grad(y, x), x)
    d2.label = "d2y/dx2"
    d2.backward()
    return d2


def main() -> None:
    viz.render(neuron(), HERE / "neuron.png")
    viz.render(neuron(), HERE / "neuron_edge_grads.png", edge_grads=True)
    viz.render(mlp_loss(), HERE / "mlp_clusters.png", cluster=True)
    viz.render(mlp_loss(), HERE / "mlp_collapsed.png", cluster=True, collapse=True)
    viz.render(training_step(), HERE / "training_step_collapsed.png", cluster=True, collapse=True)
    viz.render(second_derivative(), HERE / "second_derivative.png", rankdir="TB")
    backward_animation()


def backward_animation() -> None:
    """The neuron's backward pass, one node per frame (the frames replay backward() themselves,
    so the gradients already in the graph do not matter)."""
    viz.animate(neuron(), HERE / "neuron_backward.gif")


if __name__ == "__main__":
    main()
