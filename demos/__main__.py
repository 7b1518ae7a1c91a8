"""``python -m demos``: what the project can show today.

The illustrated walk-throughs of the course (activation functions to Adam, each writing its
pictures) are built on the diagram library; until they exist this prints the engine at work,
with real numbers, and says so.
"""

from __future__ import annotations

from tinygrad_edu import Value, check_grad, grad


def main() -> int:
    print("tinygrad-edu demos")
    print("The illustrated walk-throughs are not written yet; this is the engine at work.\n")

    print("1. A neuron: o = tanh(x1*w1 + x2*w2 + b)")
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    print(f"   o = {o.data:.4f}")
    for leaf in (x1, w1, x2, w2, b):
        print(f"   d o / d {leaf.label:<2} = {leaf.grad:+.4f}")

    print("\n2. Checking the gradient against central differences")
    print(check_grad(lambda x, w, bias: (x * w + bias).tanh(), [2.0, -3.0, 6.8813735870195432]))

    print("\n3. Derivatives of derivatives: tanh at x = 0.5")
    x = Value(0.5)
    d = x.tanh()
    for order in range(1, 4):
        d = grad(d, x)
        print(f"   d^{order}/dx^{order} tanh(0.5) = {d.data:+.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
