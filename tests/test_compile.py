"""The compiled replay: ``tinygrad_edu.compile(fn)`` gives what the interpreter gives.

Every test runs the same function twice, compiled and in the interpreter, and compares the
results' values and the gradients that ``backward()`` adds into the parameters: they agree to
1e-12 (relative; absolute near zero), and bit for bit where the operations are + - * / and the
piecewise-linear ones. What the compiler freezes at trace time (constants, control flow) is
shown on purpose, and ``check=True`` is shown catching it.
"""

from __future__ import annotations

import math
import random
import re
import struct
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from examples import CALL
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_edu
from tinygrad_edu import OPS, Value, define_op, nn, no_grad, optim, topological_order
from tinygrad_edu import functional as F
from tinygrad_edu.compile import CACHE_SIZE, CompiledValue, Program
from tinygrad_edu.compile.schedule import MatMul
from tinygrad_edu.data import batches, make_moons

REL = ABS = 1e-12


def agree(compiled: float, interpreted: float) -> bool:
    """Equal to 1e-12 relative, 1e-12 absolute near zero; nan matches nan, inf the same inf."""
    if math.isnan(interpreted):
        return math.isnan(compiled)
    return math.isclose(compiled, interpreted, rel_tol=REL, abs_tol=ABS)


def grads(params: Sequence[Value]) -> list[float]:
    return [p.grad for p in params]


def zero(params: Sequence[Value]) -> None:
    for p in params:
        p.grad = 0.0


def bits(x: float) -> bytes:
    """The float's 8 bytes: -0.0 differs from 0.0 and nan equals nan."""
    return struct.pack("<d", x)


def as_values(x: Any) -> Any:
    """What fn receives from compile: floats as Values, in the same containers."""
    if isinstance(x, float):
        return Value(x)
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        out = np.empty(x.shape, dtype=object)
        out.ravel()[:] = [Value(v) for v in x.ravel().tolist()]
        return out
    if isinstance(x, (list, tuple)):
        return type(x)(as_values(item) for item in x)
    return x


def interpreted(fn: Callable[..., Value]) -> Callable[..., Value]:
    """fn run by the interpreter on what compile would give it."""
    return lambda *args: fn(*(as_values(a) for a in args))


def value_and_grads(
    f: Callable[..., Value], params: Sequence[Value], *args: Any
) -> tuple[float, list[float]]:
    """f(*args)'s value and what its backward() adds into the parameters' grads (which are
    restored afterwards)."""
    saved = grads(params)
    zero(params)
    out = f(*args)
    out.backward()
    result = (out.data, grads(params))
    for p, g in zip(params, saved):
        p.grad = g
    return result


def assert_same(fn: Callable[..., Value], params: Sequence[Value], *args: Any) -> None:
    """compile(fn) and the interpreter agree on fn(*args) and its gradients."""
    value, derivatives = value_and_grads(tinygrad_edu.compile(fn), params, *args)
    expected_value, expected = value_and_grads(interpreted(fn), params, *args)
    assert agree(value, expected_value), (value, expected_value)
    for i, (got, want) in enumerate(zip(derivatives, expected)):
        assert agree(got, want), (i, got, want)


def train_side_by_side(
    loss_of: Callable[[Any], Callable[..., Value]],
    model: Any,
    twin: Any,
    make: Callable[[list[Value]], optim.Optimizer],
    steps: int,
    *args: Any,
) -> None:
    """Train ``model`` compiled and ``twin`` interpreted, step by step from the same start: after
    every step their losses and parameters agree (1e-12)."""
    fast = tinygrad_edu.compile(loss_of(model))
    opt, twin_opt = make(model.parameters()), make(twin.parameters())
    for step in range(steps):
        loss = fast(*args)
        opt.zero_grad()
        loss.backward()
        opt.step()
        twin_loss = loss_of(twin)(*(as_values(a) for a in args))
        twin_opt.zero_grad()
        twin_loss.backward()
        twin_opt.step()
        assert agree(loss.data, twin_loss.data), step
        assert all(agree(p.data, q.data) for p, q in zip(model.parameters(), twin.parameters()))


# --- the idea, on numbers worked by hand ---------------------------------------------------------


def test_a_compiled_function_gives_the_value_and_the_gradients_worked_by_hand() -> None:
    w, b = Value(2.0), Value(-1.0)

    def f(x: Value) -> Value:
        return (w * x + b).tanh() + w * w  # tanh(2x - 1) + w²

    fast = tinygrad_edu.compile(f)
    out = fast(0.75)
    assert out.data == math.tanh(0.5) + 4.0
    out.backward()
    sech2 = 1 - math.tanh(0.5) ** 2
    assert w.grad == pytest.approx(0.75 * sech2 + 2 * 2.0, rel=1e-15)  # x·sech² + 2w
    assert b.grad == pytest.approx(sech2, rel=1e-15)
    assert out.grad == 1.0  # as backward() seeds its root


def test_the_training_loop_is_the_interpreters_loop() -> None:
    random.seed(3)
    model = nn.MLP(2, [8, 1])
    twin = nn.MLP(2, [8, 1])
    twin.load_state_dict(model.state_dict())
    X, y = make_moons(30, noise=0.1, seed=0)
    targets = 2 * y - 1  # ints: static, part of the program (the batch is always the same)

    def loss_of(m: nn.MLP) -> Callable[..., Value]:
        def loss(X: Any, t: Any) -> Value:
            return F.hinge_loss([m(row) for row in X], t)

        return loss

    train_side_by_side(loss_of, model, twin, lambda ps: optim.SGD(ps, lr=0.1), 5, X, targets)


# --- every operation, and random graphs of them -------------------------------------------------

BUILT_IN = sorted(name for name in OPS if name in tinygrad_edu.ops.BUILTINS)


def test_every_operation_of_the_table_has_a_way_to_call_it() -> None:
    assert set(BUILT_IN) <= set(CALL)


Step = tuple[str, int, int]


def build(steps: Sequence[Step], leaves: Sequence[Value], outputs: int) -> list[Value]:
    """A graph: each step applies an operation to two earlier nodes (chosen by index). The
    results are the last nodes and the sum of all the operations' nodes, so that every node
    is one a result depends on (a node no result depends on is not part of a program)."""
    nodes = list(leaves)
    for name, i, j in steps:
        x, y = nodes[i % len(nodes)], nodes[j % len(nodes)]
        nodes.append(CALL[name](x, y) if OPS[name].arity == 2 else CALL[name](x))
    made = nodes[len(leaves) :]
    return [*nodes[-outputs:], sum(made[1:], made[0])]


numbers = st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 3))


@settings(max_examples=300)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(BUILT_IN), st.integers(0, 99), st.integers(0, 99)),
        min_size=1,
        max_size=10,
    ),
    traced=st.lists(numbers, min_size=4, max_size=4),
    replayed=st.lists(numbers, min_size=4, max_size=4),
    outputs=st.integers(1, 3),
)
def test_random_graphs_of_every_operation_agree_with_the_interpreter(
    steps: list[Step], traced: list[float], replayed: list[float], outputs: int
) -> None:
    """Property: traced at one point, replayed at another (new parameters, new inputs), the
    compiled graph gives the interpreter's values and gradients, or raises the same error."""
    params = [Value(v) for v in traced[:2]]

    def fn(x: Value, y: Value) -> tuple[Value, ...]:
        return tuple(build(steps, [*params, x, y], outputs))

    try:
        fast = tinygrad_edu.compile(fn)
        fast(*traced[2:])
    except (ValueError, ZeroDivisionError):
        assume(False)  # the trace itself is a domain error: nothing to compile
    for p, v in zip(params, replayed[:2]):
        p.data = v
    try:
        expected = fn(*(Value(v) for v in replayed[2:]))
    except (ValueError, ZeroDivisionError):
        # The replay raises the interpreter's error for a node that fails; where several fail,
        # not necessarily for the one the interpreter meets first (it runs in another order).
        with pytest.raises((ValueError, ZeroDivisionError)):
            fast(*replayed[2:])
        return
    results = fast(*replayed[2:])
    for k, (got, want) in enumerate(zip(results, expected)):
        assert agree(got.data, want.data), (k, got.data, want.data)
        zero(params)
        want.backward()
        want_grads = grads(params)
        zero(params)
        got.backward()
        for a, b in zip(grads(params), want_grads):
            assert agree(a, b), (k, a, b)


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_operation_compiled_over_a_batch_gives_the_interpreters_numbers(name: str) -> None:
    rng = np.random.default_rng(1)
    w = Value(0.7)
    xs = rng.uniform(0.1, 2.0, 50)  # inside every operation's domain

    def fn(x: np.ndarray) -> Value:
        terms = [CALL[name](w * xi, xi) if OPS[name].arity == 2 else CALL[name](w * xi) for xi in x]
        return sum(terms[1:], terms[0])

    assert_same(fn, [w], xs)


def test_plus_minus_times_divide_and_the_piecewise_linear_operations_are_bit_identical() -> None:
    rng = np.random.default_rng(2)
    params = [Value(v) for v in rng.normal(size=6)]

    def fn(x: np.ndarray) -> list[Value]:
        a, b, c, d, e, f = params
        out = []
        for xi in x:
            h = (a * xi + b) / (c - xi * d)
            out += [h.relu(), abs(h), h.leaky_relu(0.1), -h, h.step() + h, (e * h - f).relu()]
        return out

    X = rng.normal(size=40)
    fast = tinygrad_edu.compile(fn)
    for v, p in zip(rng.normal(size=6), params):  # replayed with new parameters
        p.data = v
    got = [r.data for r in fast(X)]
    want = [r.data for r in fn(as_values(X))]
    assert got == want


def test_maximum_and_minimum_replay_bit_for_bit_at_signed_zeros_infinities_and_nan() -> None:
    """The tie goes to x, -0.0 included, and nan wins, as the float forward says (np.maximum
    alone would give 0.0 for maximum(-0.0, 0.0)). Enough pairs for one vectorised group each."""
    special = [-0.0, 0.0, 1.0, -1.0, math.inf, -math.inf, math.nan]
    pairs = [(x, y) for x in special for y in special]
    w = Value(1.0)

    def fn(z: np.ndarray) -> list[Value]:
        return [f(w * x, w * y) for x, y in z for f in (Value.maximum, Value.minimum)]

    got = [bits(r.data) for r in tinygrad_edu.compile(fn)(np.array(pairs))]
    want = [bits(r.data) for r in fn(as_values(np.array(pairs)))]
    assert got == want


# --- networks, losses, batches, optimisers -------------------------------------------------------

LOSSES: dict[str, Callable[[Any, Any], Value]] = {
    "mse": lambda out, t: F.mse_loss(out, t),
    "bce_with_logits": lambda out, t: F.binary_cross_entropy_with_logits(out, t),
    "hinge": lambda out, t: F.hinge_loss(out, [2 * v - 1 for v in t]),
}


@settings(max_examples=25)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    activation=st.sampled_from(sorted(nn.ACTIVATIONS)),
    loss=st.sampled_from(sorted(LOSSES)),
    seed=st.integers(0, 1000),
)
def test_random_mlps_with_every_loss_agree_with_the_interpreter(
    sizes: list[int], activation: str, loss: str, seed: int
) -> None:
    model = nn.MLP(3, [*sizes, 1], activation=activation, init="xavier", rng=random.Random(seed))
    rng = np.random.default_rng(seed)
    X, t = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)

    def fn(X: Any, t: Any) -> Value:
        return LOSSES[loss]([model(row) for row in X], t.tolist())

    assert_same(fn, model.parameters(), X, t)


def test_softmax_cross_entropy_with_class_indices_and_with_one_hot_targets() -> None:
    model = nn.MLP(4, [5, 3], init="he", rng=random.Random(0))
    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)

    def with_indices(X: Any, labels: Any) -> Value:
        return F.cross_entropy([model(row) for row in X], labels)

    def with_one_hot(X: Any, one_hot: Any) -> Value:
        # Float one-hot targets are inputs of the trace: the loss reads them as Values.
        return F.cross_entropy([model(row) for row in X], one_hot)

    assert_same(with_indices, model.parameters(), X, labels)
    assert_same(with_one_hot, model.parameters(), X, np.eye(3)[labels])
    fast = tinygrad_edu.compile(with_one_hot)
    assert fast.program(X, np.eye(3)[labels]) is fast.program(X, np.eye(3)[labels[::-1]])
    # One program, other labels: still the interpreter's numbers.
    assert_same(with_one_hot, model.parameters(), X, np.eye(3)[labels[::-1]])
    replayed = fast(X, np.eye(3)[labels[::-1]])
    assert agree(replayed.data, with_indices(X, labels[::-1]).data)


def test_mini_batches_of_every_size_each_get_their_program() -> None:
    model = nn.MLP(2, [4, 1], rng=random.Random(1), init="xavier")
    X, y = make_moons(50, noise=0.1, seed=1)
    traces = []

    def fn(X: Any, y: Any) -> Value:
        # the logistic loss softplus(z) - t·z, written out: the float labels are inputs
        terms = [model(row).softplus() - t * model(row) for row, t in zip(X, y)]
        return sum(terms[1:], terms[0]) / len(terms)

    def traced(X: Any, y: Any) -> Value:
        traces.append(len(X))
        return fn(X, y)

    fast = tinygrad_edu.compile(traced)
    for _ in range(2):  # two passes over the data, in batches of 16, 16, 16 and 2
        for xb, yb in batches(X, y.astype(float), 16, seed=0):
            got = value_and_grads(fast, model.parameters(), xb, yb)
            want = value_and_grads(interpreted(fn), model.parameters(), xb, yb)
            assert agree(got[0], want[0])
            assert all(agree(a, b) for a, b in zip(got[1], want[1]))
    assert traces == [16, 2]  # traced once per batch size


@pytest.mark.parametrize(
    "make", [lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9), lambda ps: optim.Adam(ps, lr=0.01)]
)
def test_repeated_calls_read_the_parameters_that_an_optimiser_changed(make: Any) -> None:
    model = nn.MLP(3, [6, 6, 2], activation="tanh", init="xavier", rng=random.Random(2))
    twin = nn.MLP(3, [6, 6, 2], activation="tanh", init="xavier", rng=random.Random(2))
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 2, 10)

    def loss_of(m: nn.MLP) -> Callable[..., Value]:
        return lambda X, one_hot: F.cross_entropy([m(row) for row in X], one_hot)

    train_side_by_side(loss_of, model, twin, make, 8, X, np.eye(2)[y])


def test_numpy_arrays_arrive_as_object_arrays_of_values_and_numpy_code_runs_on_them() -> None:
    W = np.array([[Value(0.5), Value(-1.0)], [Value(2.0), Value(0.25)]], dtype=object)
    seen = []

    def fn(X: np.ndarray) -> Value:
        seen.append((X.shape, X.dtype, type(X[0, 0])))
        return np.tanh(X @ W).sum()

    fast = tinygrad_edu.compile(fn)
    X = np.array([[1.0, 2.0], [-0.5, 0.5], [0.0, 3.0]])
    out = fast(X)
    assert seen == [((3, 2), np.dtype(object), Value)]
    assert out.data == pytest.approx(np.tanh(X @ np.vectorize(float)(W)).sum(), rel=1e-15)
    assert_same(fn, list(W.ravel()), X)


# --- inputs and parameters: what is traced, what is static, what is frozen ---------------------


def test_floats_are_traced_and_ints_are_static_part_of_the_cache_key() -> None:
    w = Value(3.0)
    traces = []

    def fn(x: Value, k: int) -> Value:
        traces.append((type(x).__name__, k))
        return w * x * k

    fast = tinygrad_edu.compile(fn)
    assert fast(2.0, 1).data == 6.0
    assert fast(5.0, 1).data == 15.0  # a new float: replayed
    assert fast(2.0, 4).data == 24.0  # a new int: traced again
    assert traces == [("Value", 1), ("Value", 4)]
    assert fast(np.float32(0.5), np.int64(4)).data == 6.0  # numpy scalars follow the same rule
    assert fast.program(1.0, 1) is fast.program(7.0, 1)


def test_integer_arrays_are_static_and_float_arrays_are_traced() -> None:
    w = Value(2.0)
    traces = []

    def fn(x: np.ndarray, picks: np.ndarray) -> Value:
        traces.append(picks.tolist())
        return sum(w * x[k] for k in picks)

    fast = tinygrad_edu.compile(fn)
    assert fast(np.array([1.0, 2.0, 3.0]), np.array([0, 2])).data == 8.0
    assert fast(np.array([5.0, 0.0, 1.0]), np.array([0, 2])).data == 12.0
    assert fast(np.array([5.0, 0.0, 1.0]), np.array([1, 1])).data == 0.0
    assert traces == [[0, 2], [1, 1]]
    assert isinstance(fast.program(np.zeros(3), np.array([0, 2])), Program)


def test_parameters_are_read_at_every_call_and_constants_made_inside_fn_are_frozen() -> None:
    w = Value(2.0)
    setting = {"scale": 10.0}

    def fn(x: Value) -> Value:
        return w * x + setting["scale"]  # the number becomes a constant leaf inside fn

    fast = tinygrad_edu.compile(fn)
    assert fast(1.0).data == 12.0
    w.data = 5.0
    assert fast(1.0).data == 15.0  # the parameter is read afresh
    setting["scale"] = 0.0
    assert fast(1.0).data == 15.0  # the constant stays what it was when traced ...
    assert fn(Value(1.0)).data == 5.0  # ... while the interpreter sees the new number
    assert fast.program(1.0).parameters == [w]


def test_python_control_flow_is_frozen_at_trace_time() -> None:
    w = Value(1.0)

    def fn(x: Value) -> Value:
        h = w * x
        return h.relu() if h.data > 0 else h * 0.5  # a branch taken on the data

    fast = tinygrad_edu.compile(fn)
    assert fast(2.0).data == 2.0
    assert fast(-2.0).data == 0.0  # the relu branch, traced at x = 2, is replayed
    assert fn(Value(-2.0)).data == -1.0  # the interpreter takes the other branch


def test_check_names_the_first_node_where_the_replay_parts_from_the_interpreter() -> None:
    w = Value(1.0, label="w")

    def fn(x: Value) -> Value:
        h = w * x
        return h.relu() if h.data > 0 else h * 0.5

    fast = tinygrad_edu.compile(fn, check=True)
    assert fast(2.0).data == 2.0
    assert fast(3.0).data == 3.0  # the same branch: checked, and fine
    with pytest.raises(
        RuntimeError,
        match=r"node 3 of 5 \(scope 'fn'\) was relu\(node 2\) when traced and is now a leaf",
    ) as info:
        fast(-2.0)
    assert "frozen at trace time" in str(info.value)


def test_check_names_a_constant_that_was_frozen() -> None:
    w = Value(2.0)
    setting = {"shift": 1.0}

    def fn(x: Value) -> Value:
        with tinygrad_edu.scope("shift"):
            return w * x + setting["shift"]

    fast = tinygrad_edu.compile(fn, check=True)
    assert fast(1.0).data == 3.0
    setting["shift"] = 4.0
    with pytest.raises(
        RuntimeError,
        match=r"node 3 of 5 \(scope 'fn/shift'\), a constant made inside fn, is 4.0 in the"
        r" interpreter and 1.0 in the replay",
    ):
        fast(1.0)


def test_check_names_a_parameter_that_fn_no_longer_reads_and_changes_nothing() -> None:
    model = {"w": Value(2.0, label="w")}
    fast = tinygrad_edu.compile(lambda x: model["w"] * x, check=True)
    fast(1.0).backward()
    model["w"] = Value(2.0, label="new w")  # the same number, another Value: its grads differ
    with pytest.raises(RuntimeError, match=r"node 0 of 3 \(label 'new w'\) is another Value"):
        fast(1.0)
    assert model["w"].grad == 0.0


def test_check_says_when_fn_returns_another_structure() -> None:
    w = Value(1.0)
    fast = tinygrad_edu.compile(lambda x: w * x if x.data > 0 else [w * x, w], check=True)
    fast(1.0)
    with pytest.raises(RuntimeError, match="a result of another structure than when it was traced"):
        fast(-1.0)


def test_check_accepts_what_gives_the_same_results_by_another_path() -> None:
    """cross_entropy subtracts the largest logit, chosen by a comparison at trace time: when
    another logit becomes the largest, the replay takes a path that is equal in exact arithmetic,
    and check=True compares the results, not the path."""
    logits = [Value(2.0), Value(1.0), Value(0.0)]

    def fn(shift: Value) -> Value:
        return F.cross_entropy([logits[0] + shift, logits[1], logits[2]], 1)

    fast = tinygrad_edu.compile(fn, check=True)
    fast(0.0)
    out = fast(-5.0)  # logit 1 is now the largest
    assert agree(out.data, fn(Value(-5.0)).data)


# --- what is not frozen: drawn leaves and observers ----------------------------------------------


class Counter:
    """A sampler that gives 1.0, 2.0, 3.0, ... one number after the other, across calls."""

    def __init__(self) -> None:
        self.last = 0.0
        self.asked: list[int] = []

    def __call__(self, n: int) -> list[float]:
        self.asked.append(n)
        numbers = [self.last + 1 + k for k in range(n)]
        self.last += n
        return numbers


def test_drawn_leaves_are_drawn_again_before_every_call_in_the_order_fn_drew_them() -> None:
    w = Value(10.0)
    first, second = Counter(), Counter()

    def fn(x: Value) -> Value:
        a, b = tinygrad_edu.draw(2, first)  # two leaves from one sampler ...
        (c,) = tinygrad_edu.draw(1, second)  # ... and one from another
        return w * x + a * 100 + b * 10 + c

    fast = tinygrad_edu.compile(fn)
    assert fast(1.0).data == 10 + 100 + 20 + 1  # the first call uses what the trace drew
    assert fast(1.0).data == 10 + 300 + 40 + 2  # then every call draws anew
    out = fast(2.0)
    assert out.data == 20 + 500 + 60 + 3
    out.backward()
    assert w.grad == 2.0  # a drawn leaf is no parameter: nothing else gets a gradient
    assert (first.asked, second.asked) == ([2, 2, 2], [1, 1, 1])  # one draw per draw() a call
    program = fast.program(1.0)
    assert (program.drawn, program.constants, program.parameters) == (3, 2, [w])
    assert ", 3 drawn, 2 constants;" in repr(program)


def test_a_drawn_leaf_that_no_result_needs_is_still_drawn_so_the_stream_moves_alike() -> None:
    unused, used = Counter(), Counter()

    def fn(x: Value) -> Value:
        tinygrad_edu.draw(3, unused)
        return x * tinygrad_edu.draw(1, used)[0]

    fast = tinygrad_edu.compile(fn)
    assert [fast(1.0).data for _ in range(3)] == [1.0, 2.0, 3.0]
    assert unused.last == 9.0  # three numbers a call, as the interpreter would draw them


def test_observers_run_after_every_forward_pass_with_the_replayed_data() -> None:
    w = Value(2.0)
    seen: list[list[float]] = []

    def fn(x: Value) -> Value:
        h = w * x
        tinygrad_edu.observe([h, x + 1], seen.append)  # x + 1 is on no result's path
        return h.relu()

    fast = tinygrad_edu.compile(fn)
    assert seen == []  # tracing records the observer; the call runs it, once
    fast(3.0)
    assert seen == [[6.0, 4.0]]
    w.data = -1.0
    out = fast(5.0)
    assert seen[-1] == [-5.0, 6.0]
    out.backward()
    assert w.grad == 0.0  # relu'(-5) = 0: the observed node passes nothing on
    with no_grad():
        fast(1.0)
    assert seen[-1] == [-1.0, 2.0]  # forward only, and the observer still runs
    assert "1 observers;" in repr(fast.program(1.0))
    fn(Value(7.0))  # in the interpreter, observe calls the update at once
    assert seen[-1] == [-7.0, 8.0] and len(seen) == 4


def test_check_compares_with_the_interpreter_on_the_numbers_the_interpreter_drew() -> None:
    """With check=True the interpreter's run draws, and the replay uses its numbers: one draw
    per call (the stream moves as without check), one update per call, and both runs agree."""
    w = Value(1.5)
    sampler = Counter()
    seen: list[list[float]] = []

    def fn(x: Value) -> Value:
        (m,) = tinygrad_edu.draw(1, sampler)
        y = w * x * m
        tinygrad_edu.observe([y], seen.append)
        return y

    fast = tinygrad_edu.compile(fn, check=True)
    assert [fast(2.0).data for _ in range(3)] == [3.0, 6.0, 9.0]
    assert sampler.asked == [1, 1, 1] and seen == [[3.0], [6.0], [9.0]]


def test_check_says_when_fn_draws_other_numbers_of_leaves_than_when_traced() -> None:
    sizes = iter([2, 3])  # a count decided in Python, frozen by the trace
    fast = tinygrad_edu.compile(
        lambda x: sum(tinygrad_edu.draw(next(sizes), Counter()), x), check=True
    )
    fast(1.0)
    with pytest.raises(
        RuntimeError,
        match=r"fn drew 1 time \(3 leaves\) in the interpreter and 1 time \(2 leaves\) when traced",
    ):
        fast(1.0)


@pytest.mark.parametrize(
    "sampler, error, message",
    [
        (lambda n: [0.5] * (n + 1), ValueError, r"was asked for 2 numbers and gave 3$"),
        (lambda n: np.zeros((n, 1)), ValueError, r"gave an array of shape \(2, 1\)"),
        (lambda n: "ab", ValueError, "gave a str"),
        (lambda n: [0.5, None], TypeError, "gave a non-number: .*NoneType"),
        ("not a function", TypeError, "a sampler is a function of n"),
    ],
)
def test_a_sampler_that_does_not_give_n_numbers_is_a_clear_error(
    sampler: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        tinygrad_edu.draw(2, sampler)


def test_draw_and_observe_check_their_arguments() -> None:
    with pytest.raises(ValueError, match="n is how many leaves to draw, an int >= 0, not -1"):
        tinygrad_edu.draw(-1, Counter())
    with pytest.raises(TypeError, match=r"nodes\[1\] is a float"):
        tinygrad_edu.observe([Value(1.0), 2.0], print)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="update is a function of a list"):
        tinygrad_edu.observe([Value(1.0)], None)  # type: ignore[arg-type]
    assert [v.data for v in tinygrad_edu.draw(3, lambda n: np.arange(n) / 2)] == [0.0, 0.5, 1.0]


# --- your own operations -------------------------------------------------------------------------


def test_an_operation_defined_with_define_op_is_compiled() -> None:
    cube = define_op("cube", lambda x: x**3, lambda x, out: 3 * x**2, formula="d/dx = 3x²")
    w = Value(1.5)
    assert_same(lambda xs: sum(cube(w * x) for x in xs), [w], np.array([0.5, -1.0, 2.0]))


def test_a_rule_written_for_floats_only_is_evaluated_node_by_node() -> None:
    wave = define_op(
        "wave", math.sin, lambda x, out: math.cos(x) if x > 0 else 0.0, formula="cos x, 0 below 0"
    )
    w = Value(0.8)
    assert_same(lambda xs: sum(wave(w * x) for x in xs), [w], np.array([0.5, -1.0, 2.0, 3.0]))


def test_a_rule_that_branches_in_python_is_not_taken_for_a_constant() -> None:
    ramp = define_op("ramp", lambda x: max(x, 0.0) * 2, lambda x, out: 2.0 if x > 0 else 0.0)
    w = Value(1.0)
    assert_same(lambda xs: sum(ramp(w * x) for x in xs), [w], np.array([1.0, -1.0, 2.0]))


def test_a_domain_error_in_the_replay_is_the_interpreters_error_and_changes_nothing() -> None:
    w = Value(2.0)
    w.grad = 0.25

    def fn(x: Value) -> Value:
        return (w - x).log()

    fast = tinygrad_edu.compile(fn)
    assert fast(1.0).data == 0.0
    with pytest.raises(ValueError, match=r"log of a negative number: log\(-1\.0\)"):
        fast(3.0)
    with pytest.raises(ValueError, match=r"log of a negative number: log\(-1\.0\)"):
        fn(Value(3.0))
    assert (w.data, w.grad) == (2.0, 0.25)


def test_an_infinite_gradient_meets_a_zero_local_derivative_as_in_backward() -> None:
    w = Value(0.0)

    def fn(x: Value) -> Value:
        return (w * x - 1.0).relu().sqrt()  # relu'(-1) = 0 stops sqrt'(0) = inf

    assert_same(fn, [w], 1.0)
    out = tinygrad_edu.compile(fn)(1.0)
    out.backward()
    assert w.grad == 0.0


# --- several results, no_grad, and errors ---------------------------------------------------------


def test_each_result_backpropagates_its_own_gradients() -> None:
    a, b = Value(0.0), Value(3.0)

    def fn(x: Value) -> tuple[Value, list[Value]]:
        # the first result does not depend on b, whose sqrt'(0)... is never reached from it
        return a * x, [(b - 3.0).sqrt() * x, a + b]

    fast = tinygrad_edu.compile(fn)
    first, (second, third) = fast(2.0)
    first.backward()
    assert (a.grad, b.grad) == (2.0, 0.0)
    second.backward()
    assert a.grad == 2.0 and b.grad == math.inf
    third.backward()
    assert (a.grad, b.grad) == (3.0, math.inf)


def test_results_that_are_leaves_need_no_operation() -> None:
    w = Value(3.0)
    parameter, argument, constant = tinygrad_edu.compile(lambda x: (w, x, Value(5.0)))(2.0)
    assert (parameter.data, argument.data, constant.data) == (3.0, 2.0, 5.0)
    parameter.backward()
    assert w.grad == 1.0


def test_under_no_grad_a_compiled_function_computes_forward_only() -> None:
    w = Value(2.0)
    fast = tinygrad_edu.compile(lambda x: w * x)
    with no_grad():
        out = fast(3.0)  # the first call traces, even inside no_grad
        assert type(out) is Value and out.data == 6.0
        out.backward()  # as for the interpreter's result in no_grad: a leaf, nothing to pass on
    assert w.grad == 0.0
    assert isinstance(fast(3.0), CompiledValue)


def test_each_call_keeps_its_own_values_so_an_earlier_result_still_backpropagates() -> None:
    w = Value(2.0)
    fast = tinygrad_edu.compile(lambda x: w * x * x)
    first = fast(1.0)
    second = fast(3.0)
    first.backward()
    assert w.grad == 1.0  # d(w x²)/dw at x = 1, not at x = 3
    second.backward()
    assert w.grad == 1.0 + 9.0


@pytest.mark.parametrize(
    "bad, where",
    [
        ("a string", "args\\[0\\] is a str"),
        ([1.0, None], "args\\[0\\]\\[1\\] is a NoneType"),
        (np.array([1j]), "args\\[0\\] is a numpy array of complex128"),
        (Value(1.0), "args\\[0\\] is a Value.*let fn reach it"),
    ],
)
def test_arguments_of_the_wrong_type_are_a_type_error(bad: Any, where: str) -> None:
    fast = tinygrad_edu.compile(lambda x: Value(1.0))
    with pytest.raises(TypeError, match=where):
        fast(bad)


@pytest.mark.parametrize("returned", [1.0, [Value(1.0), 2.0], None, {"loss": Value(1.0)}])
def test_fn_must_return_values(returned: Any) -> None:
    fast = tinygrad_edu.compile(lambda x: returned)
    with pytest.raises(TypeError, match="fn must return a Value"):
        fast(1.0)


def test_compile_takes_a_function() -> None:
    with pytest.raises(TypeError, match="fn is a function that returns a Value"):
        tinygrad_edu.compile(Value(1.0))  # type: ignore[arg-type]


def test_a_program_holds_at_most_64_bytes_per_node_and_few_vectorised_steps() -> None:
    model = nn.MLP(16, [20, 4], init="he", rng=random.Random(0))
    X, y = np.random.default_rng(0).normal(size=(32, 16)), np.eye(4)[np.arange(32) % 4]
    fast = tinygrad_edu.compile(lambda X, y: F.cross_entropy([model(row) for row in X], y))
    program = fast.program(X, y)
    assert program.nbytes <= 64 * program.nodes
    assert len(program.schedule) < program.nodes / 100
    assert {id(p) for p in program.parameters} == {id(p) for p in model.parameters()}
    rows, targets = ([[Value(v) for v in row] for row in a.tolist()] for a in (X, y))
    interpreted_loss = F.cross_entropy([model(row) for row in rows], targets)
    assert (program.inputs, program.nodes) == (X.size + y.size, 28_201)
    assert program.nodes == len(topological_order(interpreted_loss))  # one per scalar node
    assert repr(program).startswith(f"<Program: {program.nodes:,} nodes in ")


def test_the_cache_keeps_the_most_recent_programs_and_says_when_fn_traces_too_often() -> None:
    fast = tinygrad_edu.compile(lambda xs, label: sum(xs, Value(float(label))))
    first = fast.program([1.0], 0)
    for label in range(1, CACHE_SIZE):
        fast([1.0], label)
    assert fast.traces == CACHE_SIZE
    with pytest.warns(RuntimeWarning, match=r"traced fn for 9 structures .* one-hot floats"):
        fast([1.0], CACHE_SIZE)
    assert fast.program([2.0], 1) is not None
    assert fast.program([1.0], 0) is not first  # the oldest was dropped: traced again
    assert fast.traces == CACHE_SIZE + 2


# --- correct or refused: each case where a replay once gave a wrong number silently ---------------


def test_calls_from_several_threads_at_once_each_get_their_own_result() -> None:
    w = Value(0.5)
    fast = tinygrad_edu.compile(lambda xs: sum((w * x).tanh() * x for x in xs))
    fast([0.0] * 200)  # traced once, then replayed by every thread
    wrong: list[tuple[float, float]] = []

    def work(k: int) -> None:
        for i in range(30):
            xs = [float(k * 100 + i)] * 200
            want = sum(math.tanh(0.5 * x) * x for x in xs)
            got = fast(xs)
            if not agree(got.data, want):
                wrong.append((got.data, want))

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert wrong == []


def test_a_program_is_traced_again_when_an_operation_it_uses_is_redefined() -> None:
    triple = define_op("scaled_redefined", lambda x: 3 * x, lambda x, out: 3.0)
    fast = tinygrad_edu.compile(lambda x: triple(x))
    assert fast(1.0).data == 3.0
    # the notebook cell re-run with a fixed rule: the old function applies the new row too
    define_op("scaled_redefined", lambda x: 4.5 * x, lambda x, out: 4.5)
    w = Value(1.0)
    out = fast(1.0)
    assert out.data == 4.5 and fast.traces == 2
    assert_same(lambda x: triple(w * x), [w], 2.0)


def test_logits_that_move_past_the_traced_shift_give_the_interpreters_loss() -> None:
    w = Value(1.0)

    def fn(z: list[Value]) -> Value:
        return F.cross_entropy([w * z[0], w * z[1]], 0)

    fast = tinygrad_edu.compile(fn)
    fast([0.0, 0.0])
    assert fast([0.0, 1000.0]).data == 1000.0  # the shift is a node, recomputed: not inf
    assert fast([1e15, 1e15]).data == math.log(2)
    for z in ([0.0, 1000.0], [1e15, 1e15], [-30.0, 40.0], [5.0, -5.0]):
        assert_same(fn, [w], z)
    assert fast.traces == 1


@pytest.mark.parametrize(("traced", "called"), [(0.0, -240.0), (-240.0, 0.5), (240.0, 0.5)])
@pytest.mark.parametrize("target", [0.0, 1.0])
def test_binary_cross_entropys_clamp_at_minus_100_is_replayed_not_frozen(
    traced: float, called: float, target: float
) -> None:
    """The clamp of log at -100 (PyTorch's) is a node of the graph: traced on one side of it and
    called on the other, the replay gives the interpreter's loss and gradient (it froze the
    side it was traced on: 240.0 instead of 100.0, or 100.0 with gradient 0 instead of 0.474)."""
    w = Value(1.0)

    def fn(z: float) -> Value:
        return F.binary_cross_entropy((w * z).sigmoid(), target)

    fast = tinygrad_edu.compile(fn)
    fast(traced)
    w.grad = 0.0
    got = fast(called)
    got.backward()
    replayed = (got.data, w.grad)
    w.grad = 0.0
    want = fn(Value(called))
    want.backward()
    assert agree(replayed[0], want.data) and agree(replayed[1], w.grad), (replayed, want, w.grad)
    assert fast.traces == 1


def test_a_rule_of_your_own_is_evaluated_at_every_call_even_when_it_gives_a_plain_number() -> None:
    """A rule that reads a setting gives a number that may change between calls: the replay
    evaluates it every time, as backward() does (it froze k = 2: 2/5 of the gradient). A batch
    of 20, so that the operation is one vectorised group, not a narrow run."""
    setting = {"k": 2.0}
    scaled = define_op("scaled_by_setting", lambda x: setting["k"] * x, lambda x, out: setting["k"])
    zs = [float(z) for z in range(1, 21)]

    def loss(w: Value, batch: Sequence[Value | float]) -> Value:
        return sum((scaled(w * z) for z in batch), Value(0.0))

    w = Value(3.0)
    fast = tinygrad_edu.compile(lambda batch: loss(w, batch))
    fast(zs)
    setting["k"] = 5.0
    w.grad = 0.0
    fast(zs).backward()
    assert w.grad == 5.0 * sum(zs)  # d/dw Σ k·w·z = k·Σz = 1050
    twin = Value(3.0)
    loss(twin, zs).backward()
    assert twin.grad == w.grad


def test_below_a_value_computed_before_the_call_the_chain_rule_is_backwards_own() -> None:
    """The replay goes on below a Value computed before the call with backward()'s own walk: a
    gradient of 0 meeting sqrt'(0) = inf gives nan there, as in the interpreter (a copy of the
    walk that skipped zero gradients gave 0.0)."""
    base = Value(0.0)
    tied = base.sqrt()  # computed at setup, before the call

    def fn(x: Value) -> Value:
        return tied * x

    fast = tinygrad_edu.compile(fn)
    fast(0.0).backward()
    replayed = base.grad
    base.grad = 0.0
    fn(Value(0.0)).backward()
    assert math.isnan(base.grad) and math.isnan(replayed)


def test_softmax_and_logsumexp_replay_a_shift_recomputed_from_the_new_scores() -> None:
    w = Value(2.0)
    for fn in (
        lambda z: F.logsumexp([w * x for x in z]),
        lambda z: F.softmax([w * x for x in z])[1],
        lambda z: F.log_softmax([w * x for x in z])[2],
    ):
        fast = tinygrad_edu.compile(fn)
        fast([0.0, 0.0, 0.0])
        for z in ([0.0, 800.0, -3.0], [400.0, -1.0, 399.0], [-800.0, -801.0, -799.0]):
            assert agree(fast(z).data, interpreted(fn)(z).data)
            assert_same(fn, [w], z)


def test_a_value_computed_outside_fn_is_read_like_a_leaf_as_the_interpreter_reads_it() -> None:
    w = Value(1.0)
    tied = w * 2.0  # computed once, at setup

    def fn(x: Value) -> Value:
        return tied * x

    fast = tinygrad_edu.compile(fn)
    assert fast(1.0).data == 2.0
    w.data = 5.0  # the interpreter still reads tied.data == 2.0: so does the replay
    assert fast(1.0).data == interpreted(fn)(1.0).data == 2.0
    # and backward goes on below it, as the interpreter's does: into tied and into w
    assert_same(fn, [tied, w], 3.0)
    out = fast(3.0)
    out.backward()
    assert (tied.grad, w.grad) == (3.0, 6.0)


@pytest.mark.parametrize(
    "fn, traced_at, failing",
    [
        (lambda a, b: a / b, (1.0, 2.0), (math.inf, 0.0)),
        (lambda a, b: a / b, (1.0, 2.0), (0.0, 0.0)),
        (lambda x: x**0.5, (4.0,), (-math.inf,)),
        (lambda x: x**0.5, (4.0,), (-4.0,)),
        (lambda x: (x - 1.0).log(), (4.0,), (-math.inf,)),
        (lambda x: x.sqrt(), (4.0,), (-math.inf,)),
        (lambda x: x.sin(), (4.0,), (math.inf,)),
    ],
)
def test_a_domain_error_is_the_interpreters_error_with_the_same_type_and_message(
    fn: Callable[..., Value], traced_at: tuple[float, ...], failing: tuple[float, ...]
) -> None:
    with pytest.raises((ValueError, ZeroDivisionError)) as interpreter:
        interpreted(fn)(*failing)
    fast = tinygrad_edu.compile(fn)
    fast(*traced_at)
    with pytest.raises(type(interpreter.value)) as replay:
        fast(*failing)
    assert str(replay.value) == str(interpreter.value)


@pytest.mark.parametrize("returned", [[], (), np.array([], dtype=object), [[], ()]])
def test_a_return_that_holds_no_value_is_a_type_error(returned: Any) -> None:
    fast = tinygrad_edu.compile(lambda x: returned)
    with pytest.raises(TypeError, match=r"fn must return a Value .* which holds none"):
        fast(1.0)


def test_a_failed_call_leaves_the_previous_result_and_the_model_untouched() -> None:
    w = Value(2.0)
    fast = tinygrad_edu.compile(lambda x: (w - x).log() * w)
    result = fast(1.0)
    with pytest.raises(ValueError, match="log of a negative number"):
        fast(3.0)
    assert w.data == 2.0 and w.grad == 0.0
    result.backward()  # the result of the call before the failed one, on its own numbers
    assert w.grad == pytest.approx(1.0 * 2.0 + math.log(1.0), rel=1e-15)  # w/(w-x) + log(w-x)


def test_train_and_eval_are_part_of_the_key_and_trace_again() -> None:
    model = nn.Sequential(
        nn.Linear(3, 8, rng=random.Random(0)),
        nn.BatchNorm1d(8),
        nn.Dropout(0.5, rng=random.Random(1)),
        nn.Linear(8, 2, rng=random.Random(2)),
    )
    X = np.random.default_rng(0).normal(size=(6, 3))
    fast = tinygrad_edu.compile(lambda X: F.cross_entropy(model(X), [0, 1, 0, 1, 1, 0]))
    fast(X)
    model.eval()
    evaluated = fast(X)
    assert fast.traces == 2
    with no_grad():  # the interpreter in evaluation mode: no dropout, running statistics
        want = F.cross_entropy(model(as_values(X)), [0, 1, 0, 1, 1, 0])
    assert agree(evaluated.data, want.data)
    model.train()
    fast(X)
    assert fast.traces == 2  # the program of training mode, kept


def test_modules_are_found_through_helpers_methods_and_callable_objects() -> None:
    model = nn.Sequential(nn.Linear(2, 2, rng=random.Random(0)), nn.Dropout(0.5))

    class Trainer:
        def __init__(self) -> None:
            self.model = model

        def loss(self, x: list[Value]) -> Value:
            return sum(self.model(x))

        def __call__(self, x: list[Value]) -> Value:
            return self.loss(x)

    def helper(x: list[Value]) -> Value:
        return sum(model(x))

    for fn in (Trainer().loss, lambda x: helper(x), Trainer()):
        fast = tinygrad_edu.compile(fn)
        model.train()
        fast([1.0, 2.0])
        model.eval()
        out = fast([1.0, 2.0])  # no dropout now: what the interpreter gives in eval mode
        assert fast.traces == 2
        assert agree(out.data, fn(as_values([1.0, 2.0])).data)


def test_check_says_in_which_mode_the_modules_were_traced() -> None:
    model = nn.Linear(2, 1, rng=random.Random(0))
    frozen = [1.0]

    def fn(x: list[Value]) -> Value:
        return model(x)[0] + Value(frozen[0])

    fast = tinygrad_edu.compile(fn, check=True)
    fast([1.0, 2.0])
    frozen[0] = 2.0
    model.eval()
    fast([1.0, 2.0])  # traced again in evaluation mode, with the new constant
    frozen[0] = 3.0
    with pytest.raises(RuntimeError, match="1 nn modules fn reaches are in evaluation mode"):
        fast([1.0, 2.0])


def test_a_method_of_a_trainer_object_finds_the_model_it_holds() -> None:
    class Classifier:  # the demos' shape: not callable, its methods compiled
        def __init__(self) -> None:
            self.model = nn.Sequential(nn.Linear(2, 2, rng=random.Random(0)), nn.Dropout(0.5))
            self.step = tinygrad_edu.compile(self.loss)

        def loss(self, x: list[Value]) -> Value:
            return sum(self.model(x))

    classifier = Classifier()
    classifier.step([1.0, 2.0])
    classifier.model.eval()
    out = classifier.step([1.0, 2.0])
    assert classifier.step.traces == 2 and agree(
        out.data, 0.0 + sum(classifier.model([1.0, 2.0])).data
    )


def test_a_deep_narrow_graph_replays_node_by_node_with_the_float_rules() -> None:
    w = Value(0.999)

    def fn(x: Value) -> Value:
        for _ in range(3000):
            x = (x * w).tanh() + 0.001
        return x

    program = tinygrad_edu.compile(fn).program(0.5)
    # one node per depth: no numpy call per level, one run of the interpreter's float rules
    # (how fast that is against the interpreter: benchmarks/compiled.py, "deep and narrow")
    assert [type(step).__name__ for step in program._plan] == ["Scalars"]
    assert_same(fn, [w], 0.7)


def test_a_model_built_again_under_the_same_name_is_traced_again() -> None:
    model = nn.MLP(3, [4, 1], rng=random.Random(0))
    fast = tinygrad_edu.compile(lambda x: model(x))  # closes over the variable model
    fast([1.0, 2.0, 3.0])
    model = nn.MLP(3, [4, 1], rng=random.Random(7))  # the notebook cell run again
    out = fast([1.0, 2.0, 3.0])
    assert fast.traces == 2
    assert agree(out.data, model([1.0, 2.0, 3.0]).data)
    zero(model.parameters())
    out.backward()
    assert any(p.grad != 0.0 for p in model.parameters())  # the new model's gradients
    fast([1.0, 2.0, 3.0])
    assert fast.traces == 2  # the same model: replayed


class _Trainer:
    def __init__(self) -> None:
        self.model = nn.MLP(2, [3, 1], rng=random.Random(0))
        self.w = Value(2.0)

    def loss(self, x: list[Value]) -> Value:
        return self.model(x) * self.w  # type: ignore[no-any-return]


def test_a_replaced_attribute_of_a_methods_object_is_traced_again() -> None:
    trainer = _Trainer()
    fast = tinygrad_edu.compile(trainer.loss)
    fast([1.0, -1.0])
    trainer.model = nn.MLP(2, [3, 1], rng=random.Random(5))
    assert agree(fast([1.0, -1.0]).data, trainer.loss([1.0, -1.0]).data) and fast.traces == 2


def test_a_global_parameter_rebound_is_traced_again() -> None:
    global _REBOUND
    _REBOUND = Value(3.0)
    fast = tinygrad_edu.compile(_times_rebound)
    assert fast(2.0).data == 6.0
    _REBOUND = Value(5.0)
    assert fast(2.0).data == 10.0 and fast.traces == 2


_REBOUND = Value(1.0)


def _times_rebound(x: Value) -> Value:
    return x * _REBOUND


# --- decisions taken from the data: guarded, so a replay whose data decide otherwise is the
# interpreter's call ------------------------------------------------------------------------------

INF = math.inf


@pytest.mark.parametrize(
    ("traced_on", "replayed_on"),
    [
        ([1.0, 2.0, 3.0], [0.0, -INF, -INF]),  # the others -inf: log-sum-exp is the one score
        ([1.0, 2.0, 3.0], [-INF, -INF, -INF]),  # every score -inf: nan, as PyTorch
        ([1.0, 2.0, 3.0], [1.0, INF, 3.0]),  # +inf where the trace's largest was not
        ([0.0, -INF, -INF], [1.0, 2.0, 3.0]),  # traced on the -inf branch, replayed finite
    ],
)
def test_losses_at_infinite_scores_replay_the_interpreters_branch(
    traced_on: list[float], replayed_on: list[float]
) -> None:
    w = Value(1.5)

    def fn(z: Any) -> Value:
        scores = [w * x for x in z]
        return F.cross_entropy(scores, 0) + F.logsumexp(scores) * 0.5

    fast = tinygrad_edu.compile(fn)
    fast(traced_on)
    value, derivative = value_and_grads(fast, [w], replayed_on)
    expected_value, expected = value_and_grads(interpreted(fn), [w], replayed_on)
    assert agree(value, expected_value) and agree(derivative[0], expected[0])
    assert fast.traces == 1  # the same program; that call went to the interpreter
    again, _ = value_and_grads(fast, [w], traced_on)  # and the program replays as before
    assert agree(again, value_and_grads(interpreted(fn), [w], traced_on)[0])


def test_a_batch_guards_its_samples_in_one_decision_per_kind() -> None:
    model = nn.MLP(4, [5, 3], rng=random.Random(0))
    X, T = np.random.default_rng(0).normal(size=(20, 4)), np.eye(3)[np.arange(20) % 3]
    fast = tinygrad_edu.compile(lambda X, T: F.cross_entropy([model(x) for x in X], T))
    program = fast.program(X, T)
    # the scores' kinds (20 rows of 3), each target's being finite (60 of them, in one list of
    # one), and each row of targets' being a distribution (20 rows of 3): three calls at most
    assert len(program._guards) == 3
    assert_same(lambda X, T: F.cross_entropy([model(x) for x in X], T), model.parameters(), X, T)


@pytest.mark.parametrize(
    ("loss", "good", "bad", "message"),
    [
        (F.cross_entropy, [0.0, 1.0, 0.0], [0.5, 0.7, 0.0], "add up to 1"),
        (F.binary_cross_entropy_with_logits, [1.0, 0.0, 1.0], [1.0, 2.0, 0.0], r"in \[0, 1\]"),
        (F.hinge_loss, [1.0, -1.0, 1.0], [1.0, 0.5, 1.0], "-1 or \\+1"),
        (F.mse_loss, [1.0, 2.0, 3.0], [1.0, INF, 3.0], "finite"),
    ],
)
def test_float_targets_checked_at_every_call_raise_the_interpreters_error(
    loss: Callable[..., Value], good: list[float], bad: list[float], message: str
) -> None:
    w = Value(0.5)
    fn = lambda t: loss([w * 1.0, w * 2.0, w * 3.0], t)  # noqa: E731
    fast = tinygrad_edu.compile(fn)
    fast(good).backward()
    before = (w.data, w.grad)
    with pytest.raises(ValueError, match=message) as caught:
        fast(bad)
    with pytest.raises(ValueError) as interpreter:
        interpreted(fn)(bad)
    assert str(caught.value) == str(interpreter.value)  # the same error, the same message
    assert (w.data, w.grad) == before  # nothing changed
    assert agree(fast(good).data, interpreted(fn)(good).data)


def test_binary_cross_entropy_checks_its_probabilities_at_every_call() -> None:
    w = Value(0.25)
    fn = lambda x: F.binary_cross_entropy([w * x[0], w * x[1]], [1.0, 0.0])  # noqa: E731
    fast = tinygrad_edu.compile(fn)
    fast([1.0, 2.0])
    with pytest.raises(ValueError, match=r"takes probabilities in \[0, 1\], got 1\.25"):
        fast([1.0, 5.0])


# --- a program you can read -----------------------------------------------------------------------


def test_print_shows_the_program_one_line_per_step_like_a_jaxpr() -> None:
    model = nn.MLP(4, [6, 3], rng=random.Random(0))
    X, y = np.random.default_rng(0).normal(size=(10, 4)), np.eye(3)[np.arange(10) % 3]
    fast = tinygrad_edu.compile(lambda X, y: F.cross_entropy([model(row) for row in X], y))
    assert "not traced yet" in str(fast)
    fast(X, y)
    listing = str(fast)
    program = fast.program(X, y)
    lines = listing.splitlines()
    assert lines[0].startswith("compile(<lambda>), traced 1 time(s)")
    assert (
        lines[2]
        == f"  reads  parameters[{len(program.parameters)}]  inputs[70]  drawn[0]  constants[1]"
    )
    # the first step: the first layer's weighted sums, 10 samples x 6 neurons, one matmul
    assert re.match(
        r"  s1 = matmul\[10x6\] parameters\[60\] \+ inputs\[40\] @ parameters\[24\]ᵀ"
        r" +\(10x4 @ 4x6\) +# 240 '\*' and 240 '\+' nodes at depth 5 of <lambda>/MLP/layers\.0$",
        lines[3],
    )
    # the loss summed sample after sample (the first sample's own sum of three terms with it):
    # one running sum, added left to right
    assert re.search(
        r"sum\[1x12\] s\d+\.\.s\d+\[12\] +# 11 '\+' nodes to depth \d+ of <lambda>/cross_entropy"
        r" \(1 sum of 12 terms, left to right\)",
        listing,
    )
    # what is left after it, the division by 10, is narrow: node by node
    assert re.search(r"scalars\[1\] +# 1 nodes \(/ ×1\) at depth \d+, node by node", listing)
    # every node that is not a leaf is in exactly one step
    counts = [int(n.replace(",", "")) for n in re.findall(r"# ([\d,]+) ", listing)]
    counts += [int(n.replace(",", "")) for n in re.findall(r"and ([\d,]+) '\+' nodes", listing)]
    leaves = len(program.parameters) + program.inputs + program.drawn + program.constants
    assert sum(counts) == program.nodes - leaves
    assert lines[-1].startswith("  gives  s")


# --- layers as matrix products --------------------------------------------------------------------


def _hand_written_layer(W: list[list[Value]], b: list[Value]) -> Callable[..., list[Value]]:
    """A layer written by hand, as a learner writes it: no nn, no scope."""

    def fn(X: Any) -> list[Value]:
        return [
            sum((w * x for w, x in zip(row, sample)), bias).tanh()  # type: ignore[misc]
            for sample in X
            for row, bias in zip(W, b)
        ]

    return fn


def test_a_dense_multiply_add_grid_written_by_hand_is_one_matrix_product() -> None:
    rng = np.random.default_rng(0)
    W = [[Value(v) for v in row] for row in rng.normal(size=(5, 7))]
    b = [Value(v) for v in rng.normal(size=5)]
    fn = _hand_written_layer(W, b)
    fast = tinygrad_edu.compile(lambda X: sum(fn(X)))
    X = rng.normal(size=(9, 7))
    ops = [step.op for step in fast.program(X).schedule]
    assert ops.count("matmul") == 1 and "*" not in ops  # 9 x 5 sums of 7 products
    params = [w for row in W for w in row] + b
    assert_same(lambda X: sum(fn(X)), params, X)


def test_a_layers_weights_inputs_and_biases_are_read_as_blocks_not_gathered() -> None:
    model = nn.MLP(7, [5, 3], rng=random.Random(0))
    X = np.random.default_rng(0).normal(size=(9, 7))
    loss = lambda X: sum(sum(model(row)) for row in X)  # noqa: E731
    program = tinygrad_edu.compile(loss).program(X)
    products = [step for step in program._plan if isinstance(step, MatMul)]
    assert len(products) == 2
    # the parameters are laid out layer by layer, weights row after row, then the biases
    assert all(block is not None for step in products for block in step.blocks)
    assert_same(loss, model.parameters(), X)


def test_a_grid_whose_weights_are_read_in_another_order_gathers_them_and_agrees() -> None:
    rng = np.random.default_rng(4)
    W = [[Value(v) for v in row] for row in rng.normal(size=(5, 7))]
    b = [Value(v) for v in rng.normal(size=5)]
    shared = W[0][0]
    W[2][3] = shared  # a weight used twice: the grid's weights cannot be one block

    fn = _hand_written_layer(W, b)
    X = rng.normal(size=(9, 7))
    program = tinygrad_edu.compile(lambda X: sum(fn(X))).program(X)
    (step,) = [step for step in program._plan if isinstance(step, MatMul)]
    assert step.blocks[0] is None
    params = list({id(w): w for row in W for w in row}.values()) + b
    assert_same(lambda X: sum(fn(X)), params, X)


# --- running sums ------------------------------------------------------------------------------


def _steps(fn: Callable[..., Any], *args: Any) -> list[str]:
    return [step.op for step in tinygrad_edu.compile(fn).program(*args).schedule]


@pytest.mark.parametrize("odd", [1.5, math.inf, -math.inf, math.nan, -0.0])
def test_running_sums_with_repeated_and_shared_terms_agree_with_the_interpreter(
    odd: float,
) -> None:
    w, v = Value(0.7), Value(-1.3)

    def fn(xs: Any) -> Value:
        products = [w * x for x in xs]
        per_row = [p + p + v + p.tanh() for p in products]  # a term twice, one shared
        return sum(per_row) * w  # type: ignore[no-any-return]

    xs = [0.5, -2.0, odd, 3.0, 0.25, 1.0, -1.0, 2.0, 4.0, 0.1]
    assert "sum" in _steps(fn, xs)
    assert_same(fn, [w, v], xs)


def test_each_result_of_running_sums_backpropagates_its_own_gradients() -> None:
    ws = [Value(0.1 * k - 0.4) for k in range(9)]

    def fn(X: Any) -> list[Value]:
        return [sum((w * x).relu() for w, x in zip(ws, row)) for row in X]  # type: ignore[misc]

    X = np.random.default_rng(5).normal(size=(12, 9))
    fast = tinygrad_edu.compile(fn)
    assert "sum" in _steps(fn, X)
    for k in (0, 7):
        zero(ws)
        fast(X)[k].backward()
        got = grads(ws)
        zero(ws)
        interpreted(fn)(X)[k].backward()
        assert all(agree(g, want) for g, want in zip(got, grads(ws))), k


def test_running_sums_give_the_interpreters_sum_bit_for_bit() -> None:
    X = np.random.default_rng(6).normal(size=(30, 17)) * 10.0 ** np.arange(-8, 9)
    fn = lambda X: [sum(row[1:], row[0]) for row in X]  # noqa: E731
    assert _steps(fn, X) == ["sum"]
    with no_grad():
        assert [v.data for v in tinygrad_edu.compile(fn)(X)] == [v.data for v in fn(as_values(X))]


def test_an_incomplete_grid_stays_node_by_node_and_agrees() -> None:
    rng = np.random.default_rng(1)
    W = [[Value(v) for v in row] for row in rng.normal(size=(5, 7))]
    b = [Value(v) for v in rng.normal(size=5)]
    full = _hand_written_layer(W, b)

    def fn(X: Any) -> Value:
        return sum(full(X)[:-1])  # type: ignore[return-value]  # one sum less: not a grid

    X = rng.normal(size=(9, 7))
    assert "matmul" not in [step.op for step in tinygrad_edu.compile(fn).program(X).schedule]
    assert_same(fn, [w for row in W for w in row] + b, X)


@pytest.mark.parametrize("odd", [math.inf, -math.inf, math.nan, 0.0])
def test_a_grid_backward_with_infinities_follows_backwards_zero_rule(odd: float) -> None:
    rng = np.random.default_rng(2)
    W = [[Value(v) for v in row] for row in rng.normal(size=(4, 6))]
    b = [Value(v) for v in rng.normal(size=4)]
    W[1][2].data = 0.0  # a zero weight meets an infinite input: passes nothing on
    fn = _hand_written_layer(W, b)
    X = rng.normal(size=(8, 6))
    X[3, 2] = odd
    params = [w for row in W for w in row] + b
    loss = lambda X: sum(v.relu() for v in fn(X))  # noqa: E731
    assert "matmul" in [step.op for step in tinygrad_edu.compile(loss).program(X).schedule]
    assert_same(loss, params, X)


def test_each_result_of_a_grid_backpropagates_its_own_gradients() -> None:
    rng = np.random.default_rng(3)
    W = [[Value(v) for v in row] for row in rng.normal(size=(4, 6))]
    b = [Value(v) for v in rng.normal(size=4)]
    fn = _hand_written_layer(W, b)
    X = rng.normal(size=(8, 6))
    X[0, 0] = math.inf  # only the first sample's results see it
    params = [w for row in W for w in row] + b
    fast = tinygrad_edu.compile(fn)
    assert "matmul" in [step.op for step in fast.program(X).schedule]
    for k in (5, 31):  # a result of a finite sample, of another neuron
        zero(params)
        fast(X)[k].backward()
        got = grads(params)
        zero(params)
        interpreted(fn)(X)[k].backward()
        assert all(agree(g, w) for g, w in zip(got, grads(params))), k


def test_check_compares_a_program_with_grids_and_names_a_frozen_constant() -> None:
    model = nn.MLP(6, [8, 2], rng=random.Random(0))
    X = np.random.default_rng(0).normal(size=(12, 6))
    shift = [0.0]

    def fn(X: Any) -> Value:
        return sum(v for row in X for v in model(row)) + Value(shift[0])  # type: ignore[no-any-return]

    fast = tinygrad_edu.compile(fn, check=True)
    assert "matmul" in [step.op for step in fast.program(X).schedule]
    fast(X)
    shift[0] = 1.0
    with pytest.raises(
        RuntimeError, match=r"a constant made inside fn, is 1\.0 in the interpreter"
    ):
        fast(X)
