"""Property tests: every operation, and random compositions of them, against central differences.

The analytic derivatives under test come from the one table of rules in ``tinygrad_edu.ops``,
evaluated on floats by ``backward()`` and on Values by ``grad()``. The ground truth is the
numerical derivative: (f(x + eps) - f(x - eps)) / (2 eps).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from examples import CALL, Tree, build, points, trees
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_edu import Value, grad, numerical_grad, topological_order
from tinygrad_edu.ops import BUILTINS

Fn = Callable[..., Value]

# Where each operation of the table is smooth and defined (how to call it: examples.CALL).
# Every built-in operation must appear here (test_every_op_has_a_domain checks it), so a new
# operation cannot be added without being tested.

away_from_zero = st.one_of(st.floats(-3, -0.01), st.floats(0.01, 3))
anywhere = st.floats(-3, 3)
positive = st.floats(0.05, 5)

DOMAIN: dict[str, tuple[st.SearchStrategy[float], ...]] = {
    "+": (anywhere, anywhere),
    "-": (anywhere, anywhere),
    "*": (anywhere, anywhere),
    "/": (anywhere, away_from_zero),
    "**": (positive, anywhere),
    "neg": (anywhere,),
    "exp": (anywhere,),
    "log": (positive,),
    "sqrt": (positive,),
    "tanh": (anywhere,),
    "sigmoid": (anywhere,),
    "softplus": (anywhere,),
    "relu": (away_from_zero,),
    "leaky_relu": (away_from_zero, st.floats(0.0, 1.0)),
    "step": (away_from_zero,),
    "sin": (anywhere,),
    "cos": (anywhere,),
    "abs": (away_from_zero,),
    # never a tie: y is near 0 and x away from it, on either side
    "maximum": (away_from_zero, st.floats(-0.005, 0.005)),
    "minimum": (away_from_zero, st.floats(-0.005, 0.005)),
}

KINKS = {"relu", "abs", "step", "leaky_relu"}
TIES = {"maximum", "minimum"}  # kinks where the two inputs are equal


def close(analytic: float, numeric: float, tol: float = 1e-6) -> bool:
    return abs(analytic - numeric) <= tol * (1 + abs(numeric))


def backward_grads(f: Fn, point: list[float]) -> list[float]:
    leaves = [Value(x) for x in point]
    f(*leaves).backward()
    return [leaf.grad for leaf in leaves]


def value_grads(f: Fn, point: list[float]) -> list[float]:
    leaves = [Value(x) for x in point]
    return [d.data for d in grad(f(*leaves), leaves)]


def second_derivatives(f: Fn, point: list[float]) -> list[list[float]]:
    """H[i][j] = d/dx_j (d f / d x_i), both by grad()."""
    leaves = [Value(x) for x in point]
    first = grad(f(*leaves), leaves)
    return [[d.data for d in grad(g, leaves)] for g in first]


def numerical_second_derivatives(f: Fn, point: list[float], eps: float = 1e-5) -> list[list[float]]:
    """H[i][j] by central differences in x_j of the first derivative from backward() (which is
    itself checked against central differences of f)."""
    columns = []
    for j in range(len(point)):
        up = [x + eps if k == j else x for k, x in enumerate(point)]
        down = [x - eps if k == j else x for k, x in enumerate(point)]
        g_up, g_down = backward_grads(f, up), backward_grads(f, down)
        columns.append([(u - d) / (2 * eps) for u, d in zip(g_up, g_down)])
    return [[columns[j][i] for j in range(len(point))] for i in range(len(point))]


def test_every_op_has_a_domain() -> None:
    # The built-ins: operations a test adds with define_op stay in OPS but are not checked here.
    assert set(DOMAIN) == set(BUILTINS) == set(CALL)


@pytest.mark.parametrize("name", sorted(BUILTINS))
@given(data=st.data())
def test_each_op_matches_central_differences(name: str, data: st.DataObject) -> None:
    point = [data.draw(domain) for domain in DOMAIN[name]]
    f = CALL[name]
    numeric = numerical_grad(f, point)
    for analytic in (backward_grads(f, point), value_grads(f, point)):
        assert all(close(a, n) for a, n in zip(analytic, numeric)), (analytic, numeric)


@pytest.mark.parametrize("name", sorted(BUILTINS))
@given(data=st.data())
def test_each_op_second_derivative_matches_central_differences(
    name: str, data: st.DataObject
) -> None:
    point = [data.draw(domain) for domain in DOMAIN[name]]
    f = CALL[name]
    analytic, numeric = second_derivatives(f, point), numerical_second_derivatives(f, point)
    for row_a, row_n in zip(analytic, numeric):
        assert all(close(a, n, 1e-5) for a, n in zip(row_a, row_n)), (analytic, numeric)


# --- random compositions ------------------------------------------------------------------------

# An expression is a nested tuple (examples.Tree) drawn by examples.trees; examples.build makes
# it of Values, keeping the domain-limited operations defined.


def well_behaved(tree: Tree, point: list[float]) -> bool:
    """Defined, moderate in size, and not within reach of eps of a kink."""
    try:
        out = build(tree, tuple(Value(x) for x in point))
    except (ValueError, ZeroDivisionError):
        return False
    for node in topological_order(out):
        if not math.isfinite(node.data) or abs(node.data) > 100:
            return False
        if node.op in KINKS and abs(node.inputs[0].data) < 1e-3:
            return False
        if node.op in TIES and abs(node.inputs[0].data - node.inputs[1].data) < 1e-3:
            return False
    return True


def expression(tree: Tree, point: list[float]) -> Fn:
    """The tree as a function of three Values, if it is well behaved at ``point``."""
    assume(well_behaved(tree, point))
    return lambda *xs: build(tree, xs)


@given(tree=trees, point=points)
def test_random_compositions_first_order(tree: Tree, point: list[float]) -> None:
    f = expression(tree, point)
    numeric = numerical_grad(f, point)
    for analytic in (backward_grads(f, point), value_grads(f, point)):
        assert all(close(a, n, 1e-5) for a, n in zip(analytic, numeric)), (analytic, numeric)


@given(tree=trees, point=points)
def test_random_compositions_second_order(tree: Tree, point: list[float]) -> None:
    f = expression(tree, point)
    analytic, numeric = second_derivatives(f, point), numerical_second_derivatives(f, point)
    for row_a, row_n in zip(analytic, numeric):
        assert all(close(a, n, 1e-4) for a, n in zip(row_a, row_n)), (analytic, numeric)


@given(tree=trees, point=points)
def test_backward_and_grad_agree_to_the_last_bits(tree: Tree, point: list[float]) -> None:
    f = expression(tree, point)
    for a, b in zip(backward_grads(f, point), value_grads(f, point)):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12)
