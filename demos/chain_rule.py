"""The chain rule: z = t², t = x + y, so dz/dx = dz/dt · dt/dx.

Each factor is a local derivative that the engine reads off one node (``local_derivatives``):
dz/dt = 2t at the ``**`` node and dt/dx = 1 at the ``+`` node. Their product is exactly what
backward() leaves in ``x.grad``. The diagram writes each factor on its edge.
"""

from __future__ import annotations

from pathlib import Path

from tinygrad_edu import Value, local_derivatives

from .common import Report, main

X, Y = 2.0, 1.0


def run(out: Path, quick: bool) -> Report:
    """Multiply the local derivatives along the path from z to x; compare with backward()."""
    report = Report("chain_rule", out)
    x, y = Value(X, "x"), Value(Y, "y")
    t = x + y
    t.label = "t"
    z = t**2
    z.label = "z"
    z.backward()
    dz_dt = local_derivatives(z)[0]  # d(t**2)/dt: the first input of the ** node is t
    dt_dx = local_derivatives(t)[0]  # d(x + y)/dx
    report.say(f"x = {X:g}, y = {Y:g}: t = x + y = {t.data:g}, z = t² = {z.data:g}")
    report.say(f"dz/dt = 2t = {dz_dt:g}   dt/dx = {dt_dx:g}")
    report.say(f"dz/dt · dt/dx = {dz_dt:g} · {dt_dx:g} = {dz_dt * dt_dx:g}")
    report.say(f"engine: x.grad = {x.grad:g}, y.grad = {y.grad:g}")
    exponent = z.inputs[1]
    report.say(
        f"(the constant exponent 2 gets a gradient too, t²·ln t = {exponent.grad:.4g}: "
        "** is differentiable in both arguments)"
    )
    report.graph(z, "chain_rule.svg", edge_grads=True, precision=2)
    report.graph(z, "chain_rule.png", edge_grads=True, precision=2)
    return report


if __name__ == "__main__":
    raise SystemExit(main(names=["chain_rule"]))
