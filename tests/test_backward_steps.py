"""backward_steps(root): backward() one step at a time, and the oracle the fast backward() is
pinned to. Consuming it leaves every .grad bit for bit as backward() does, on random graphs of
every operation, with shared nodes, kinks hit exactly, infinities, nan and gradients left by an
earlier pass."""

from __future__ import annotations

import math
import struct

import pytest
from examples import CALL
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import BackwardStep, Value, backward_steps, topological_order
from tinygrad_edu.ops import BUILTINS, OPS


def bits(x: float) -> bytes:
    """The float's 8 bytes: equal bits, so -0.0 differs from 0.0 and nan equals itself."""
    return struct.pack("<d", x)


# A random DAG: leaves from `starts`, then each instruction (op, i, j) applies op to two earlier
# nodes (or one), so nodes are shared freely. An instruction whose forward raises is skipped.
special = st.sampled_from(
    [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-300, 1e300, math.inf, -math.inf]
)
# Mostly numbers where rules misbehave: 0 and -0 (kinks, sqrt'(0) = inf), infinities, huge and
# tiny ones; the zero rule only shows where an infinite or nan gradient meets a flat input.
numbers = st.one_of(special, special, special, st.floats(-4, 4), st.floats(allow_nan=True))
instructions = st.lists(
    st.tuples(st.sampled_from(sorted(BUILTINS)), st.integers(0, 99), st.integers(0, 99)),
    min_size=1,
    max_size=30,
)


def build_dag(starts: list[float], program: list[tuple[str, int, int]]) -> list[Value]:
    nodes = [Value(x) for x in starts]
    for op, i, j in program:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        args = (a,) if OPS[op].arity == 1 else (a, b)
        try:
            nodes.append(CALL[op](*args))
        except (ArithmeticError, ValueError):
            continue
    return nodes


@settings(max_examples=1000)
@given(
    starts=st.lists(numbers, min_size=1, max_size=4),
    program=instructions,
    earlier=st.lists(st.one_of(special, st.floats(-1, 1)), max_size=8),
)
def test_consuming_the_steps_leaves_every_grad_bit_for_bit_as_backward(
    starts: list[float], program: list[tuple[str, int, int]], earlier: list[float]
) -> None:
    """The property the fast backward() is pinned to: same walk, same zero rule, same
    accumulation onto the gradients an earlier pass left."""
    root = build_dag(starts, program)[-1]
    order = topological_order(root)
    before = [earlier[k] if k < len(earlier) else 0.0 for k in range(len(order))]
    for node, g in zip(order, before):
        node.grad = g
    root.backward()
    fast = [bits(node.grad) for node in order]
    for node, g in zip(order, before):
        node.grad = g
    for _ in backward_steps(root):
        pass
    assert [bits(node.grad) for node in order] == fast


@given(starts=st.lists(numbers, min_size=1, max_size=3), program=instructions)
def test_each_step_is_one_use_of_the_chain_rule_applied_as_it_is_yielded(
    starts: list[float], program: list[tuple[str, int, int]]
) -> None:
    root = build_dag(starts, program)[-1]
    order = topological_order(root)
    for node in order:
        node.grad = 0.0
    expected = [(node, k) for node in reversed(order) for k in range(len(node.inputs))]
    seen = []
    for step in backward_steps(root):
        seen.append((step.node, step.position))
        assert step.input is step.node.inputs[step.position]
        assert bits(step.upstream) == bits(step.node.grad)  # complete when it is passed on
        if step.local:
            assert bits(step.contribution) == bits(step.local * step.upstream)
        else:  # the zero rule: exactly 0, even when the upstream gradient is inf or nan
            assert bits(step.contribution) == bits(0.0)
    assert seen == expected


def test_relu_below_zero_under_sqrt_passes_nothing_on() -> None:
    """sqrt'(0) is +inf, relu'(-1) is 0: the step shows local 0 and contribution 0, not nan."""
    x = Value(-1.0, label="x")
    y = x.relu().sqrt()
    steps = list(backward_steps(y))
    assert [(s.node.op, s.local, s.upstream, s.contribution) for s in steps] == [
        ("sqrt", math.inf, 1.0, math.inf),
        ("relu", 0.0, math.inf, 0.0),
    ]
    assert x.grad == 0.0


def test_the_steps_of_a_neuron_in_numbers() -> None:
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    n = x * w + 1.0
    steps = list(backward_steps(n))
    assert steps == [
        BackwardStep(n, n.inputs[0], 0, 1.0, 1.0, 1.0),
        BackwardStep(n, n.inputs[1], 1, 1.0, 1.0, 1.0),
        BackwardStep(n.inputs[0], x, 0, -3.0, 1.0, -3.0),
        BackwardStep(n.inputs[0], w, 1, 2.0, 1.0, 2.0),
    ]
    assert (x.grad, w.grad) == (-3.0, 2.0)


def test_a_value_used_twice_gets_both_contributions_in_turn() -> None:
    x = Value(3.0)
    y = x * x
    totals = [x.grad for _ in backward_steps(y)]  # each read just after its step was applied
    assert totals == [3.0, 6.0]


def test_gradients_of_an_earlier_pass_are_set_aside_then_added_back() -> None:
    x = Value(2.0)
    y = x * 5.0
    y.backward()
    walk = backward_steps(y)
    step = next(walk)
    assert step.upstream == 1.0 and x.grad == 5.0  # this pass's own gradient, seeded afresh
    for _ in walk:
        pass
    assert x.grad == 10.0 and y.grad == 2.0


def test_closing_the_walk_early_still_adds_back_the_earlier_gradients() -> None:
    x, w = Value(2.0), Value(4.0)
    y = (x * w).tanh() + w
    y.backward()
    earlier = {node: node.grad for node in topological_order(y)}
    walk = backward_steps(y)
    next(walk)  # y's first step: add1.grad... only part of the pass has run
    walk.close()
    assert w.grad == earlier[w]  # nothing of this pass reached w yet; the earlier grad is back
    assert y.grad == earlier[y] + 1.0


def test_a_leaf_has_no_steps_and_keeps_its_seed() -> None:
    x = Value(7.0)
    assert list(backward_steps(x)) == []
    assert x.grad == 1.0


def test_backward_steps_of_a_non_value_is_a_type_error_at_once() -> None:
    with pytest.raises(TypeError, match="root is a Value, not float"):
        backward_steps(2.0)  # type: ignore[arg-type]


SPECIAL_POINTS = [0.0, -0.0, 1.0, -1.0, 2.0, math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_operation_at_its_special_points_under_every_kind_of_upstream(name: str) -> None:
    """Each operation at zeros, signed zeros, kinks, infinities and nan, with an upstream
    gradient of 1, -0, inf or nan and an earlier gradient of 0, -0 or 1 on its inputs: what the
    random graphs rarely meet, all of it. backward() and the steps agree bit for bit."""
    arity = OPS[name].arity
    pairs = [(x, y) for x in SPECIAL_POINTS for y in (SPECIAL_POINTS if arity == 2 else [0.0])]
    for x, y in pairs:
        for upstream in (1.0, -0.0, math.inf, math.nan):
            for earlier in (0.0, -0.0, 1.0):
                results = []
                for walk in ("backward", "steps"):
                    a, b = Value(x), Value(y)
                    try:
                        node = CALL[name](a, b) if arity == 2 else CALL[name](a)
                    except (ArithmeticError, ValueError):
                        break
                    root = node * Value(upstream)  # node.grad = upstream, when it is not 0
                    a.grad = b.grad = earlier
                    if walk == "backward":
                        root.backward()
                    else:
                        for _ in backward_steps(root):
                            pass
                    results.append([bits(v.grad) for v in (a, b, node, root)])
                if results:
                    assert results[0] == results[1], (name, x, y, upstream, earlier)
