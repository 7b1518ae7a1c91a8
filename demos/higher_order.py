"""Higher-order derivatives: tanh and its derivatives to the fourth, all from ``grad``.

``grad(y, x)`` returns dy/dx as a Value built from recorded operations, a graph of its own, so
``grad`` applies to it again: d²y/dx² = grad(grad(y, x), x), and so on to any order. The picture
of the second derivative's graph shows the rule of each operation spelled out in nodes; and
``backward()`` on the third derivative leaves the fourth in ``x.grad``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tinygrad_edu import Value, grad, numerical_grad

from .common import Report, main

ORDERS = 4
AT = 0.5


def derivatives(x: Value, orders: int = ORDERS) -> list[Value]:
    """[tanh(x), d/dx tanh(x), ..., d^orders/dx^orders tanh(x)], each by grad of the last."""
    chain = [x.tanh()]
    for _ in range(orders):
        chain.append(grad(chain[-1], x))
    return chain


def run(out: Path, quick: bool) -> Report:
    """Plot tanh and its derivatives; render the second derivative's graph."""
    report = Report("higher_order", out)
    x = Value(AT, "x")
    chain = derivatives(x)
    for order, d in enumerate(chain):
        report.say(f"d^{order}/dx^{order} tanh(x) at x = {AT}: {d.data:+.10f}")
    for order in range(1, ORDERS + 1):
        # The slope of the previous derivative, measured: the ground truth for this one.
        numeric = numerical_grad(lambda v, k=order - 1: derivatives(v, k)[k], [AT])[0]
        report.say(f"d^{order} by central differences of d^{order - 1}: {numeric:+.10f}")
    chain[3].backward()
    report.say(
        f"backward() on the third derivative: x.grad = {x.grad:+.10f} (the fourth, as from grad)"
    )
    xs = np.linspace(-4, 4, 41 if quick else 161)
    curves = np.array([[d.data for d in derivatives(Value(float(v)))] for v in xs]).T
    fig, ax = plt.subplots(figsize=(8, 4.8))
    names = ["tanh(x)", "1st derivative", "2nd derivative", "3rd derivative", "4th derivative"]
    for order, (curve, name) in enumerate(zip(curves, names)):
        ax.plot(xs, curve, lw=2.4 if order == 0 else 1.6, label=name)
    ax.set_xlabel("x")
    ax.set_ylabel("value")
    ax.set_title("tanh and its first four derivatives, each by grad() of the one before")
    ax.legend(loc="lower left")
    fig.tight_layout()
    report.figure(fig, "higher_order.png")
    second = derivatives(Value(AT, "x"), orders=2)[2]
    second.label = "d2y/dx2"
    second.backward()
    report.graph(second, "higher_order_second_derivative.svg", rankdir="TB")
    report.graph(second, "higher_order_second_derivative.png", rankdir="TB")
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["higher_order"]))
