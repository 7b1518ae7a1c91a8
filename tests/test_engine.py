"""The engine's behaviour, spelled out with numbers: known graphs, backward, errors, memory."""

from __future__ import annotations

import asyncio
import copy
import gc
import math
import pickle
import random
import threading
import weakref
from typing import Any

import numpy as np
import pytest

from tinygrad_edu import (
    Parameter,
    Value,
    backward_steps,
    define_op,
    engine,
    grad,
    is_grad_enabled,
    local_derivatives,
    nn,
    no_grad,
    optim,
    scope,
    topological_order,
)
from tinygrad_edu.engine import is_number, to_float, weighted_sum

# --- known graphs ------------------------------------------------------------------------------


def test_neuron_tanh_forward_and_gradients() -> None:
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    assert o.data == pytest.approx(math.sqrt(0.5), abs=1e-12)
    assert x1.grad == pytest.approx(-1.5, abs=1e-12)
    assert w1.grad == pytest.approx(1.0, abs=1e-12)
    assert x2.grad == pytest.approx(0.5, abs=1e-12)
    assert w2.grad == 0.0


def test_shopping_graph_price_and_gradients() -> None:
    apple, n_apple = Value(100.0), Value(2.0)
    orange, n_orange = Value(150.0), Value(3.0)
    tax = Value(1.1)
    price = (apple * n_apple + orange * n_orange) * tax
    price.backward()
    assert price.data == pytest.approx(715.0, rel=1e-15)
    assert apple.grad == pytest.approx(2.2, rel=1e-15)
    assert n_apple.grad == pytest.approx(110.0, rel=1e-15)
    assert orange.grad == pytest.approx(3.3, rel=1e-15)
    assert n_orange.grad == pytest.approx(165.0, rel=1e-15)
    assert tax.grad == pytest.approx(650.0, rel=1e-15)


def test_first_layer_of_the_seed_network_with_numpy_object_arrays() -> None:
    W1 = np.array([[Value(0.1), Value(0.3), Value(0.5)], [Value(0.2), Value(0.4), Value(0.6)]])
    B1 = np.array([Value(0.1), Value(0.2), Value(0.3)])
    A1 = np.dot([1.0, 0.5], W1) + B1
    Z1 = [a.sigmoid() for a in A1]
    assert [a.data for a in A1] == pytest.approx([0.3, 0.7, 1.1], abs=1e-15)
    assert [z.data for z in Z1] == pytest.approx([0.57444252, 0.66818777, 0.75026011], abs=1e-8)


def test_numpy_ufuncs_call_the_value_methods() -> None:
    arr = np.array([Value(0.5), Value(1.5)])
    for ufunc, method in [(np.exp, math.exp), (np.tanh, math.tanh), (np.log, math.log)]:
        out = ufunc(arr)
        assert all(isinstance(v, Value) for v in out)
        assert [v.data for v in out] == [method(0.5), method(1.5)]
    assert np.sqrt(arr)[1].data == math.sqrt(1.5)
    assert np.abs(np.array([Value(-2.0)]))[0].data == 2.0


def test_numpy_scalars_on_either_side_give_a_value_holding_a_python_float() -> None:
    x = Value(np.float32(0.5))
    assert type(x.data) is float
    for y in (np.float64(2.0) * x, x * np.int64(3), np.float64(1.0) - x, x + np.bool_(True)):
        assert isinstance(y, Value)
        assert type(y.data) is float
    assert (np.float64(2.0) * x).data == 1.0


# --- operators -------------------------------------------------------------------------------


def test_reflected_operators_with_plain_numbers() -> None:
    x = Value(2.0)
    assert (3 + x).data == 5.0
    assert (3 - x).data == 1.0
    assert (3 * x).data == 6.0
    assert (3 / x).data == 1.5
    assert (3**x).data == 9.0
    assert (x**3).data == 8.0
    assert (-x).data == -2.0
    assert abs(Value(-2.5)).data == 2.5


def test_power_differentiates_in_both_arguments() -> None:
    x, y = Value(2.0), Value(3.0)
    z = x**y
    z.backward()
    assert z.data == 8.0
    assert x.grad == pytest.approx(12.0)  # y x^(y-1)
    assert y.grad == pytest.approx(8.0 * math.log(2.0))  # x^y log x


def test_two_to_the_x() -> None:
    x = Value(3.0)
    y = 2**x
    y.backward()
    assert y.data == 8.0
    assert x.grad == pytest.approx(8.0 * math.log(2.0))


def test_leaky_relu_uses_its_slope_below_zero() -> None:
    x = Value(-2.0)
    y = x.leaky_relu(0.1)
    y.backward()
    assert y.data == pytest.approx(-0.2)
    assert x.grad == pytest.approx(0.1)
    assert Value(-2.0).leaky_relu().data == pytest.approx(-0.02)  # default slope 0.01


def test_step_has_zero_derivative_everywhere() -> None:
    for point in (-1.0, 0.0, 1.0):
        x = Value(point)
        y = x.step()
        y.backward()
        assert y.data == (1.0 if point > 0 else 0.0)
        assert x.grad == 0.0


@pytest.mark.parametrize(
    ("method", "expected_grad"), [("relu", 0.0), ("abs", 0.0), ("leaky_relu", 0.01)]
)
def test_conventions_at_the_kink(method: str, expected_grad: float) -> None:
    x = Value(0.0)
    getattr(x, method)().backward()
    assert x.grad == expected_grad


# --- conversions, comparisons, identity --------------------------------------------------------


def test_numbers_in_are_stored_as_python_floats() -> None:
    for number, expected in [(3, 3.0), (2.5, 2.5), (True, 1.0), (np.int32(4), 4.0)]:
        v = Value(number)
        assert type(v.data) is float
        assert v.data == expected
    assert float(Value(1.25)) == 1.25


@pytest.mark.parametrize("bad", ["3", None, [1.0], 1 + 2j, np.complex128(1), np.array([1.0])])
def test_non_numbers_raise_type_error_naming_the_type(bad: object) -> None:
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(1.0) + bad  # type: ignore[operator]


PLAIN_NUMBERS = [3, 2.5, True, np.int32(4), np.float32(0.5), np.float64(-1.5), np.bool_(True),
                 np.uint8(200), np.float16(0.25), math.inf, math.nan]  # fmt: skip
NOT_NUMBERS = ["3", None, [1.0], 1 + 2j, np.complex128(1), np.array([1.0]), np.array(1.0),
               np.timedelta64(5, "s"), Value(1.0)]  # fmt: skip


@pytest.mark.parametrize("number", PLAIN_NUMBERS)
def test_one_definition_of_a_plain_number_accepts_numpy_scalars_and_bools(number: object) -> None:
    assert is_number(number)
    converted = to_float(number)
    assert type(converted) is float
    assert converted == float(number) or math.isnan(converted)  # type: ignore[arg-type]
    assert Value(number).data == converted or math.isnan(converted)  # type: ignore[arg-type]


@pytest.mark.parametrize("thing", NOT_NUMBERS)
def test_anything_else_is_not_a_plain_number(thing: object) -> None:
    assert not is_number(thing)
    with pytest.raises(TypeError, match=type(thing).__name__):
        to_float(thing)


def test_an_integer_too_large_for_a_float_is_an_error_that_does_not_print_its_digits() -> None:
    for make in (Value, to_float, lambda n: Value(1.0) + n):
        with pytest.raises(OverflowError) as info:
            make(10**400)
        message = str(info.value)
        assert message == (
            "an integer of about 10**400 is too large for a float (the largest is about 1.8e308)"
        )
    with pytest.raises(OverflowError, match=r"10\*\*5000"):  # past str()'s 4300-digit limit
        Value(-(10**5000))
    assert Value(2**1023).data == 2.0**1023  # the largest power of 2 that fits


def test_bool_of_a_value_is_bool_of_its_data_as_for_a_float() -> None:
    assert bool(Value(0.0)) is False
    assert bool(Value(-0.0)) is False
    assert bool(Value(0.1)) is True
    assert bool(Value(math.nan)) is True  # as bool(float("nan"))
    x = Value(2.0)
    assert bool(x - 2) is False  # computed nodes too
    assert (x > 1) is True  # a comparison is already a bool


def test_round_of_a_value_rounds_its_data_to_a_plain_number() -> None:
    x = Value(2.71828)
    assert round(x, 2) == 2.72 and type(round(x, 2)) is float
    assert round(x) == 3 and type(round(x)) is int  # as round(2.71828)
    assert round(Value(2.5)) == 2  # banker's rounding, as for a float
    assert round(x * 10, -1) == 30.0


def test_label_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="label"):
        Value(1.0, 5)  # type: ignore[arg-type]


def test_comparisons_compare_data_and_return_bool() -> None:
    a, b = Value(1.0), Value(2.0)
    assert (a < b) is True
    assert (a <= 1) is True
    assert (b > 1.5) is True
    assert (b >= a) is True
    assert (3 > a) is True  # noqa: SIM300 (the reflected comparison is the point)
    assert max(a, b) is b


def test_equality_and_hash_are_by_identity() -> None:
    a, b = Value(1.0), Value(1.0)
    assert a != b
    assert a == a
    table = {a: "a", b: "b"}
    assert table[a] == "a"
    assert len({a, b}) == 2


def test_repr_and_format() -> None:
    x = Value(0.7071067811865476)
    x.grad = 0.5
    assert repr(x) == "Value(data=0.7071, grad=0.5)"
    assert repr(Value(715, "price")) == "Value(data=715.0, grad=0.0, label='price')"
    assert f"{x:.2f}" == "0.71"
    assert f"{x}" == repr(x)


def test_public_graph_attributes() -> None:
    x, w = Value(2.0, "x"), Value(3.0, "w")
    y = x * w
    z = y.tanh()
    assert (x.op, x.inputs, x.label) == ("", (), "x")
    assert y.op == "*"
    assert y.inputs == (x, w)
    assert z.op == "tanh"
    assert z.inputs == (y,)
    x.data = 4.0  # optimisers assign data
    assert x.data == 4.0


# --- backward --------------------------------------------------------------------------------


def test_a_node_used_twice_gets_both_contributions() -> None:
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0
    b = Value(3.0)
    (b * b).backward()
    assert b.grad == 6.0


def test_diamond_graph_sums_the_paths() -> None:
    x = Value(2.0)
    u, v = x * 3, x.exp()
    y = u * v  # 3x e^x: dy/dx = 3 e^x (1 + x)
    y.backward()
    assert x.grad == pytest.approx(3 * math.exp(2.0) * 3)


def test_backward_accumulates_into_every_node() -> None:
    x = Value(2.0)
    h = x * x
    y = h * 3
    y.backward()
    assert (x.grad, h.grad, y.grad) == (12.0, 3.0, 1.0)
    y.backward()
    assert (x.grad, h.grad, y.grad) == (24.0, 6.0, 2.0)


def test_topological_order_puts_inputs_first() -> None:
    x = Value(1.0)
    a = x * 2
    b = a + x
    c = b * a
    order = topological_order(c)
    assert order[-1] is c
    assert len(order) == len(set(order)) == 5  # x, the constant 2, a, b, c: each once
    assert order[:2] == [x, a.inputs[1]]  # inputs in argument order: x, then the constant 2
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        assert all(position[i] < position[node] for i in node.inputs)


def test_topological_order_is_the_recursive_depth_first_order_in_argument_order() -> None:
    """The explicit stack places the nodes exactly where the recursive walk of the textbook
    would (inputs first, the first input's subgraph before the second's), on random graphs
    with shared nodes, x * x, constants and unary operations."""

    def recursive(root: Value) -> list[Value]:
        order: list[Value] = []
        seen: set[Value] = set()

        def visit(node: Value) -> None:
            if node not in seen:
                seen.add(node)
                for child in node.inputs:
                    visit(child)
                order.append(node)

        visit(root)
        return order

    rng = random.Random(0)
    for _ in range(500):
        nodes = [Value(rng.random()) for _ in range(rng.randint(1, 4))]
        for _ in range(rng.randint(1, 30)):
            x, y = rng.choice(nodes[-5:]), rng.choice(nodes)
            nodes.append(rng.choice([x + y, x * y, x * x, x.relu(), x + 2.0]))
        for root in (nodes[-1], rng.choice(nodes)):
            assert topological_order(root) == recursive(root)


def test_local_derivatives_are_the_chain_rule_factors() -> None:
    x, y = Value(3.0), Value(4.0)
    assert local_derivatives(x * y) == (4.0, 3.0)
    assert local_derivatives(x / y) == (0.25, -3.0 / 16)
    t = Value(0.5).tanh()
    assert local_derivatives(t) == (1 - t.data**2,)
    assert local_derivatives(x) == ()
    assert local_derivatives(Value(0.0).sqrt()) == (math.inf,)


def test_million_node_chain_backpropagates_without_recursion() -> None:
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = -y
    y.backward()
    assert y.data == 0.5
    assert x.grad == 1.0  # (-1) ** 1_000_000
    del y  # freeing a million-deep chain must not overflow the C stack either


# --- copying and pickling ------------------------------------------------------------------------


def _diamond() -> tuple[Value, Value, Value]:
    """x, w and y = tanh(x·w) + x·w, recorded inside a scope: a node used twice, a Parameter."""
    x, w = Value(0.5, "x"), Parameter(-2.0, "w")
    with scope("block"):
        h = x * w
        y = h.tanh() + h
    y.label = "y"
    return x, w, y


def _fields(node: Value) -> tuple[object, ...]:
    return (type(node), node.data, node.grad, node.label, node.op, node.scope)


def _same_graph(original: Value, copied: Value) -> None:
    """The two graphs match node for node (fields and shape) and share no node."""
    first, second = topological_order(original), topological_order(copied)
    assert [_fields(n) for n in first] == [_fields(n) for n in second]
    position = {n: i for i, n in enumerate(second)}
    assert [[position[i] for i in n.inputs] for n in second] == [
        [first.index(i) for i in n.inputs] for n in first
    ]
    assert not set(first) & set(second)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_restores_the_whole_graph_with_every_field(protocol: int) -> None:
    x, _, y = _diamond()
    y.backward()
    restored = pickle.loads(pickle.dumps(y, protocol))
    _same_graph(y, restored)
    h = restored.inputs[1]
    assert restored.inputs[0].inputs[0] is h  # the node used twice is one node again
    assert type(h.inputs[1]) is Parameter and h.inputs[1].label == "w"
    assert h.scope == "block" and h.scope.name == "block" and h.scope.parent is None
    assert h.scope is restored.inputs[0].scope  # one scope entry, one object
    assert h.inputs[0].scope is engine.TOP
    # The restored graph differentiates like the original: dy/dx = (1 - tanh²(xw) + 1)·w.
    for node in topological_order(restored):
        node.grad = 0.0
    restored.backward()
    assert h.inputs[0].grad == x.grad == (2 - math.tanh(-1.0) ** 2) * -2.0


def test_pickle_keeps_nodes_shared_between_the_objects_pickled_together() -> None:
    x, w, y = _diamond()
    rx, ry, rw = pickle.loads(pickle.dumps([x, y, w]))  # leaves before the graph that uses them
    assert ry.inputs[1].inputs == (rx, rw)
    ry, rx, rw = pickle.loads(pickle.dumps([y, x, w]))  # and after it
    assert ry.inputs[1].inputs == (rx, rw)
    assert engine._PICKLING.listed <= {id(n) for n in topological_order(y)}  # ids only


def test_deepcopy_copies_the_graph_and_keeps_what_the_objects_share() -> None:
    x, _, y = _diamond()
    y.backward()
    _same_graph(y, copy.deepcopy(y))
    cx, cy = copy.deepcopy((x, y))  # a parameter and a loss computed from it, copied together
    assert cy.inputs[1].inputs[0] is cx and cx is not x
    assert cy.inputs[1].scope is y.inputs[1].scope  # scopes are names: shared, not copied


def test_copy_makes_a_new_node_computed_from_the_same_inputs() -> None:
    y = _diamond()[2]
    twin = copy.copy(y)
    assert twin is not y and _fields(twin) == _fields(y)
    assert twin.inputs[0] is y.inputs[0] and twin.inputs[1] is y.inputs[1]


@pytest.mark.slow  # a million nodes pickled, unpickled and deep-copied: 15-20 s
def test_a_million_node_chain_pickles_and_deep_copies_without_recursion() -> None:
    x = Value(0.5, "x")
    y = x
    for _ in range(1_000_000):
        y = -y
    round_trip = [lambda v: pickle.loads(pickle.dumps(v, pickle.HIGHEST_PROTOCOL)), copy.deepcopy]
    for make in round_trip:
        copied = make(y)
        copied.backward()
        leaf, depth = copied, 0
        while leaf.inputs:
            leaf, depth = leaf.inputs[0], depth + 1
        assert (depth, leaf.label, leaf.data, leaf.grad, copied.data) == (10**6, "x", 0.5, 1.0, 0.5)
        assert leaf is not x and x.grad == 0.0
        del copied, leaf  # freeing it must not overflow the C stack either


# --- no_grad and detach ------------------------------------------------------------------------


def test_no_grad_records_nothing() -> None:
    x = Value(2.0)
    with no_grad():
        assert is_grad_enabled() is False
        y = (x * 3).tanh()
    assert is_grad_enabled() is True
    assert (y.op, y.inputs) == ("", ())
    assert y.data == math.tanh(6.0)


def test_no_grad_nests_restores_after_errors_and_decorates() -> None:
    with pytest.raises(ZeroDivisionError), no_grad():
        with no_grad():
            pass
        assert not is_grad_enabled()
        _ = Value(1.0) / 0
    assert is_grad_enabled()

    @no_grad()
    def evaluate(v: Value) -> Value:
        return v * v

    assert evaluate(Value(3.0)).inputs == ()


def test_bare_no_grad_decorates_a_function_and_keeps_its_name() -> None:
    @no_grad
    def evaluate(v: Value) -> Value:
        """Square it."""
        return v * v

    result = evaluate(Value(3.0))
    assert (result.data, result.inputs) == (9.0, ())
    assert (evaluate.__name__, evaluate.__doc__) == ("evaluate", "Square it.")
    assert is_grad_enabled()
    with pytest.raises(TypeError, match=r"no_grad\(\) takes no argument.*not int"):
        no_grad(3)  # type: ignore[call-overload]


@pytest.mark.parametrize("decorate", [no_grad, no_grad()], ids=["@no_grad", "@no_grad()"])
def test_no_grad_decorates_a_generator_step_by_step(decorate: Any) -> None:
    seen: list[object] = []

    @decorate
    def squares(x: Value) -> Any:
        try:
            while True:
                received = yield x * x  # recorded nothing
                seen.append((received, is_grad_enabled()))
        finally:
            seen.append(("closed", is_grad_enabled()))

    x = Value(2.0)
    steps = squares(x)
    first = next(steps)
    assert (first.data, first.inputs) == (4.0, ())
    assert is_grad_enabled()  # the caller records between the steps
    assert (x * x).inputs == (x, x)
    assert steps.send("hello").inputs == ()
    steps.close()
    assert seen == [("hello", False), ("closed", False)]
    assert is_grad_enabled()


def test_a_decorated_generator_returns_its_value_and_takes_exceptions() -> None:
    @no_grad
    def countdown() -> Any:
        try:
            yield 1
        except KeyError:
            yield "caught"
        return "done"

    steps = countdown()
    assert next(steps) == 1
    assert steps.throw(KeyError("k")) == "caught"
    with pytest.raises(StopIteration) as stop:
        next(steps)
    assert stop.value.value == "done"


@pytest.mark.parametrize("decorate", [no_grad, no_grad()], ids=["@no_grad", "@no_grad()"])
def test_no_grad_decorates_an_async_function_and_leaves_other_tasks_recording(
    decorate: Any,
) -> None:
    async def main() -> tuple[Value, list[bool]]:
        gate = asyncio.Event()
        seen: list[bool] = []

        @decorate
        async def quiet(x: Value) -> Value:
            await gate.wait()  # the other task runs meanwhile
            seen.append(is_grad_enabled())
            return x * x

        async def recording() -> None:
            await asyncio.sleep(0)
            seen.append(is_grad_enabled())
            gate.set()

        result, _ = await asyncio.gather(quiet(Value(3.0)), recording())
        return result, seen

    result, seen = asyncio.run(main())
    assert (result.data, result.inputs) == (9.0, ())
    assert seen == [True, False]


def test_no_grad_decorates_an_async_generator_step_by_step() -> None:
    @no_grad
    async def squares(x: Value) -> Any:
        for _ in range(2):
            yield x * x

    async def main() -> list[tuple[tuple[Value, ...], bool]]:
        x = Value(3.0)
        return [(item.inputs, is_grad_enabled()) async for item in squares(x)]

    assert asyncio.run(main()) == [((), True), ((), True)]


def test_no_grad_decorates_methods() -> None:
    class Model:
        def __init__(self) -> None:
            self.w = Value(2.0)

        @no_grad
        def predict(self, x: float) -> Value:
            return self.w * x

    assert Model().predict(3.0).inputs == ()


def test_no_grad_is_per_thread() -> None:
    seen: list[bool] = []
    inside, done = threading.Event(), threading.Event()

    def other_thread() -> None:
        inside.wait()
        seen.append(is_grad_enabled())
        done.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    with no_grad():
        inside.set()
        done.wait()
    worker.join()
    assert seen == [True]


def test_no_grad_is_per_asyncio_task() -> None:
    async def main() -> list[bool]:
        gate = asyncio.Event()
        seen: list[bool] = []

        async def quiet() -> None:
            with no_grad():
                await gate.wait()

        async def recording() -> None:
            await asyncio.sleep(0)
            seen.append(is_grad_enabled())
            gate.set()

        await asyncio.gather(quiet(), recording())
        return seen

    assert asyncio.run(main()) == [True]


def test_detach_returns_a_leaf_that_stops_gradients() -> None:
    x = Value(3.0, "x")
    d = (x * 2).detach()
    assert (d.data, d.op, d.inputs) == (6.0, "", ())
    y = d * x
    y.backward()
    assert x.grad == 6.0  # only the direct path


# --- grad(): derivatives as Values, to any order ------------------------------------------------


def test_second_and_third_derivatives_of_a_cubic() -> None:
    x = Value(2.0)
    y = x**3
    d1 = grad(y, x)
    d2 = grad(d1, x)
    d3 = grad(d2, x)
    assert (d1.data, d2.data, d3.data) == (12.0, 12.0, 6.0)
    assert grad(d3, x).data == 0.0


def test_higher_derivatives_of_tanh() -> None:
    x = Value(0.3)
    t = math.tanh(0.3)
    d = grad(x.tanh(), x)
    d2 = grad(d, x)
    d3 = grad(d2, x)
    assert d.data == pytest.approx(1 - t**2)
    assert d2.data == pytest.approx(-2 * t * (1 - t**2))
    assert d3.data == pytest.approx(-2 * (1 - t**2) * (1 - 3 * t**2))


def test_grad_of_several_targets_and_of_an_unused_one() -> None:
    x, y, unused = Value(2.0), Value(5.0), Value(1.0)
    f = x * y + x
    dx, dy, du = grad(f, [x, y, unused])
    assert (dx.data, dy.data, du.data) == (6.0, 2.0, 0.0)
    assert grad(f, f).data == 1.0


def test_grad_leaves_grad_fields_untouched() -> None:
    x = Value(2.0)
    y = x * x
    grad(y, x)
    assert (x.grad, y.grad) == (0.0, 0.0)


def test_grad_rejects_non_values() -> None:
    with pytest.raises(TypeError, match="float"):
        grad(Value(1.0), [1.0])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="y is the Value to differentiate, not float"):
        grad(1.0, Value(1.0))  # type: ignore[call-overload]


def test_grad_at_a_number_says_what_x_must_be() -> None:
    x = Value(2.0)
    with pytest.raises(TypeError) as info:
        grad(x**3, 2.0)  # type: ignore[call-overload]
    message = str(info.value)
    assert "x is the Value (or a list of the Values) to differentiate with respect to" in message
    assert "not float" in message and "x = Value(2.0); grad(x**3, x)" in message


def test_grad_takes_any_iterable_of_values() -> None:
    x, y = Value(2.0), Value(5.0)
    f = x * y
    assert [d.data for d in grad(f, (x, y))] == [5.0, 2.0]
    assert [d.data for d in grad(f, np.array([y, x]))] == [2.0, 5.0]
    assert [d.data for d in grad(f, (v for v in [x]))] == [5.0]  # type: ignore[call-overload]


def test_mixed_partial_derivatives_agree() -> None:
    x, y = Value(0.7), Value(-1.2)
    f = (x * y).sin() + x**3 * y
    dxy = grad(grad(f, x), y)
    dyx = grad(grad(f, y), x)
    assert dxy.data == pytest.approx(dyx.data, rel=1e-12)


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("compute", "error", "words"),
    [
        (lambda: Value(-1.0).log(), ValueError, ["log", "negative", "-1.0"]),
        (lambda: Value(0.0).log(), ValueError, ["log", "zero"]),
        (lambda: Value(-4.0).sqrt(), ValueError, ["sqrt", "negative", "-4.0"]),
        (lambda: Value(-8.0) ** 0.5, ValueError, ["negative base", "-8.0", "0.5"]),
        (lambda: Value(-8.0) ** Value(1 / 3), ValueError, ["negative base"]),
        (lambda: Value(1.0) / 0, ZeroDivisionError, ["division by zero", "1.0 / 0.0"]),
        (lambda: 2 / Value(0.0), ZeroDivisionError, ["division by zero", "2.0 / 0.0"]),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, ["0 to a negative power", "-1.0"]),
        (lambda: 0 ** Value(-2.0), ZeroDivisionError, ["0 to a negative power"]),
        (lambda: Value(math.inf).sin(), ValueError, ["sin", "inf"]),
        (lambda: Value(-math.inf).cos(), ValueError, ["cos", "inf"]),
    ],
)
def test_domain_errors_name_the_operation_and_operand(
    compute: object, error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as info:
        compute()  # type: ignore[operator]
    for word in words:
        assert word in str(info.value)


def test_negative_base_to_an_integer_power_is_fine() -> None:
    x = Value(-2.0)
    y = x**3
    y.backward()
    assert y.data == -8.0
    assert x.grad == 12.0


def test_overflow_gives_inf_not_an_error() -> None:
    assert Value(1000.0).exp().data == math.inf
    assert (Value(10.0) ** 400).data == math.inf
    assert (Value(-10.0) ** 401).data == -math.inf


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda x: x.sqrt(), math.inf),  # 1 / (2 sqrt 0)
        (lambda x: x**0.5, math.inf),
        (lambda x: x ** (1 / 3), math.inf),
        (lambda x: x**2, 0.0),
        (lambda x: x**0, 0.0),
    ],
)
def test_an_infinite_local_derivative_gives_inf_instead_of_crashing(
    build: object, expected: float
) -> None:
    x = Value(0.0)
    build(x).backward()  # type: ignore[operator]
    assert x.grad == expected
    y = Value(0.0)
    assert grad(build(y), y).data == expected  # type: ignore[operator]


def test_backward_after_overflow_does_not_crash() -> None:
    x = Value(800.0)
    y = x.exp() * 0.5
    y.backward()
    assert x.grad == math.inf


def test_derivative_in_the_exponent_of_a_negative_base_follows_the_real_continuation() -> None:
    x, n = Value(-2.0), Value(2.0)
    (x**n).backward()
    assert x.grad == -4.0
    # (-2)**y = 2**y cos(pi y) at integer y; its slope in y there is (-2)**2 * log 2.
    assert n.grad == pytest.approx(4.0 * math.log(2.0), rel=1e-15)
    y = Value(3.0)
    assert grad(Value(-2.0) ** y, y).data == pytest.approx(-8.0 * math.log(2.0), rel=1e-15)
    h = 1e-6
    continuation = [2.0 ** (3 + s) * math.cos(math.pi * (3 + s)) for s in (h, -h)]
    assert (continuation[0] - continuation[1]) / (2 * h) == pytest.approx(
        -8 * math.log(2), rel=1e-8
    )


# --- a local derivative of exactly 0 passes nothing on -----------------------------------------
#
# sqrt'(0) is +inf. Below a flat piece (relu or step off their active side, an exp that
# underflowed to 0) the chain rule would multiply that inf by 0; the convention is that a local
# derivative of exactly 0 contributes nothing, whatever arrives from above: the true derivative
# (and PyTorch's answer at relu) is 0, not nan.


FLAT_UNDER_SQRT = [
    pytest.param(-1.0, lambda x: x.relu().sqrt(), id="relu().sqrt()"),
    pytest.param(-1.0, lambda x: x.relu() ** 0.5, id="relu()**0.5"),
    pytest.param(-1.0, lambda x: x.step().sqrt(), id="step().sqrt()"),
    pytest.param(0.0, lambda x: x.relu().sqrt(), id="relu().sqrt() at the kink"),
    # exp(-800) underflows to 0; the true derivative 0.5·e^-400 ≈ 1e-174 rounds to 0 as well.
    pytest.param(-800.0, lambda x: x.exp().sqrt(), id="exp(-800).sqrt()"),
]


@pytest.mark.parametrize(("point", "build"), FLAT_UNDER_SQRT)
def test_a_zero_local_derivative_passes_nothing_on_in_backward(point: float, build: Any) -> None:
    x = Value(point)
    y = build(x)
    y.backward()
    assert y.data == 0.0
    assert x.grad == 0.0


@pytest.mark.parametrize(("point", "build"), FLAT_UNDER_SQRT)
def test_a_zero_local_derivative_passes_nothing_on_in_grad_at_every_order(
    point: float, build: Any
) -> None:
    x = Value(point)
    d = build(x)
    for _ in range(3):  # first, second and third derivatives
        d = grad(d, x)
        assert d.data == 0.0


def test_a_flat_path_adds_nothing_while_the_other_paths_still_count() -> None:
    # y = sqrt(relu(x)) + x³ at x = -1: the relu path is flat, x³ gives 3x², 6x, 6.
    x = Value(-1.0)
    y = x.relu().sqrt() + x**3
    y.backward()
    assert x.grad == 3.0
    d1 = grad(y, x)
    d2 = grad(d1, x)
    d3 = grad(d2, x)
    assert (d1.data, d2.data, d3.data) == (3.0, -6.0, 6.0)


def test_a_local_derivative_worth_zero_still_has_its_own_derivative() -> None:
    # d(x·x)/dx = x + x is 0 at x = 0, but d²/dx² = 2: the zero factor is not dropped from the
    # graph of grad() when what flows into it is finite.
    x = Value(0.0)
    first = grad(x * x, x)
    assert first.data == 0.0
    assert grad(first, x).data == 2.0


def test_grad_inside_no_grad_records_so_it_can_be_differentiated_again() -> None:
    # grad() always records its result (as torch.autograd.grad(..., create_graph=True)); only
    # the expression being differentiated must have been recorded.
    x = Value(0.5)
    y = x.tanh() * x.sin()
    with no_grad():
        d1 = grad(y, x)
        inner = is_grad_enabled()
    assert inner is False  # grad() restored no_grad's state
    t, s, c = math.tanh(0.5), math.sin(0.5), math.cos(0.5)
    # y = t·s: y' = (1 - t²)s + t c; y'' = -2t(1 - t²)s + 2(1 - t²)c - t s
    assert d1.data == pytest.approx((1 - t * t) * s + t * c, rel=1e-14)
    second = -2 * t * (1 - t * t) * s + 2 * (1 - t * t) * c - t * s
    assert grad(d1, x).data == pytest.approx(second, rel=1e-14)
    assert d1.op != ""  # a recorded node, not a leaf


# --- numerical stability -------------------------------------------------------------------------


@pytest.mark.parametrize("big", [1e3, 1e10, 1e299])
def test_sigmoid_softplus_tanh_never_overflow(big: float) -> None:
    assert Value(big).sigmoid().data == 1.0
    assert Value(-big).sigmoid().data == 0.0
    assert Value(big).softplus().data == big
    assert Value(-big).softplus().data == 0.0
    assert Value(big).tanh().data == 1.0
    assert Value(-big).tanh().data == -1.0
    for method in ("sigmoid", "softplus", "tanh"):
        x = Value(-big)
        getattr(x, method)().backward()
        assert math.isfinite(x.grad)


def test_softplus_is_accurate_near_zero_and_far_out() -> None:
    assert Value(0.0).softplus().data == pytest.approx(math.log(2.0), rel=1e-15)
    assert Value(-40.0).softplus().data == pytest.approx(math.exp(-40.0), rel=1e-12)
    assert Value(40.0).softplus().data == pytest.approx(40.0, rel=1e-15)


# --- memory: no reference cycles ----------------------------------------------------------------


def test_a_dropped_graph_is_freed_without_the_garbage_collector() -> None:
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        x = Value(0.5)
        y = x
        for i in range(1000):
            y = (y * 1.01 + i).tanh() ** 2
        y.backward()
        d2 = grad(grad(y, x), x)
        assert math.isfinite(d2.data)
        del x, y, d2
        assert len(gc.get_objects()) - before < 20
        assert gc.collect() == 0  # nothing was left in a cycle
    finally:
        gc.enable()


def test_values_take_weak_references_that_die_with_them() -> None:
    x = Value(1.0)
    y = x * 2
    ref = weakref.ref(y)
    assert ref() is y
    cache: weakref.WeakKeyDictionary[Value, str] = weakref.WeakKeyDictionary({y: "y"})
    assert cache[y] == "y"
    del y  # freed by reference counting alone: the weak references see it at once
    assert ref() is None and len(cache) == 0
    w = Parameter(0.5)
    assert weakref.ref(w)() is w


def test_backward_applies_exactly_the_table_rules() -> None:
    """backward() has an inline fast path for + and *; it must agree bit for bit with the
    table's rules, replayed here by backward_steps (the walk written for reading, which takes
    every rule from the table through local_derivatives)."""
    x, w, c = Value(0.3), Value(-1.7), Value(2.2)
    y = (x * w + c) * (x + w) * x + (w * c).tanh() - x / c + x**3 + w.relu()
    y.backward()
    order = topological_order(y)
    fast = {node: node.grad for node in order}
    for node in order:
        node.grad = 0.0
    for _ in backward_steps(y):
        pass
    replayed = {node: node.grad for node in order}
    for node in order:
        node.grad = fast[node]
    assert [node.grad for node in order] == [replayed[node] for node in order]


def test_weighted_sum_builds_the_written_out_graph() -> None:
    """weighted_sum(w, x, b) is b + w0*x0 + w1*x1 + ...: the same nodes, numbers and grads."""
    w = [Value(0.5), Value(-1.25), Value(2.0)]
    x = [Value(3.0), 4.0, Value(-0.75)]  # a plain number becomes a constant, as in w * 4.0
    b = Value(0.1)
    fast = weighted_sum(w, x, b)
    written = b + w[0] * x[0] + w[1] * 4.0 + w[2] * x[2]
    assert fast.data == written.data
    fast_order, written_order = topological_order(fast), topological_order(written)
    assert [n.op for n in fast_order] == [n.op for n in written_order]
    assert [n.data for n in fast_order] == [n.data for n in written_order]
    first = fast.inputs[0].inputs[0]  # b + w0*x0
    assert first.inputs[0] is b
    assert first.inputs[1].inputs == (w[0], x[0])
    fast.backward()
    grads = [v.grad for v in w + [b]]
    for v in w + [b]:
        v.grad = 0.0
    written.backward()
    assert grads == [v.grad for v in w + [b]]
    with no_grad():
        assert weighted_sum(w, x, b).inputs == ()


# --- the garbage collector: paused inside the library's calls, as the program set it outside -----


class Spy(nn.Module):
    """A module that notes whether the cyclic collector is on while its forward runs, and can
    call an inner module, wait for a signal, or raise."""

    def __init__(self, inner: nn.Module | None = None) -> None:
        self.inner = inner
        self.seen: list[bool] = []
        self.wait: threading.Event | None = None
        self.entered = threading.Event()
        self.fail = False

    def forward(self, x: Any) -> Any:
        self.seen.append(gc.isenabled())
        self.entered.set()
        if self.wait is not None:
            assert self.wait.wait(timeout=20)
        if self.fail:
            raise RuntimeError("forward failed")
        out = self.inner(x) if self.inner is not None else x
        self.seen.append(gc.isenabled())
        return out


@pytest.fixture
def collector_on() -> Any:
    """The collector on during the test, and as it was afterwards."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def library_calls() -> list[tuple[str, Any]]:
    """One call of each kind that builds or walks a graph, each on its own small graph."""
    model = nn.MLP(2, [3, 1])
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    x = Value(0.5)
    return [
        ("a module's call", lambda: model([1.0, 2.0])),
        ("backward()", lambda: (x * x).tanh().backward()),
        ("grad()", lambda: grad(grad(x.sin(), x), x)),
        ("an optimiser's step", optimizer.step),
    ]


def test_every_library_call_leaves_the_collector_as_it_found_it(collector_on: None) -> None:
    for name, call in library_calls():
        call()
        assert gc.isenabled(), name
        gc.disable()
        call()
        assert not gc.isenabled(), name
        gc.enable()


def test_the_collector_is_paused_inside_nested_calls_and_back_after(collector_on: None) -> None:
    inner = Spy()
    outer = Spy(inner)
    assert outer([1.0]) == [1.0]
    assert outer.seen == [False, False] and inner.seen == [False, False]
    assert gc.isenabled()
    rule = define_op("gc_spy", lambda x: x, lambda x, out: (notes.append(gc.isenabled()), 1.0)[1])
    notes: list[bool] = []
    x = Value(1.0)
    rule(x).backward()
    grad(rule(x), x)
    assert len(notes) >= 2 and not any(notes)  # the rule ran inside backward() and grad()
    assert gc.isenabled()


def test_an_exception_inside_a_call_restores_the_collector(collector_on: None) -> None:
    failing = Spy(Spy())
    failing.inner.fail = True  # type: ignore[union-attr]
    with pytest.raises(RuntimeError, match="forward failed"):
        failing([1.0])
    assert gc.isenabled()
    gc.disable()
    with pytest.raises(RuntimeError, match="forward failed"):
        failing([1.0])
    assert not gc.isenabled()


def test_two_threads_hand_the_pause_on_and_the_last_one_out_resumes(collector_on: None) -> None:
    """Thread A is inside a call while thread B makes a whole call: B's return must not switch
    the collector back on under A; A's return does."""
    slow = Spy()
    slow.wait = threading.Event()
    a = threading.Thread(target=slow, args=([1.0],))
    a.start()
    assert slow.entered.wait(timeout=20)
    quick = Spy()
    b = threading.Thread(target=quick, args=([2.0],))
    b.start()
    b.join(timeout=20)
    assert quick.seen == [False, False]
    assert not gc.isenabled()  # A is still inside its call
    slow.wait.set()
    a.join(timeout=20)
    assert slow.seen == [False, False]
    assert gc.isenabled()


def test_asyncio_tasks_between_calls_see_the_collector_as_the_program_set_it(
    collector_on: None,
) -> None:
    model = nn.MLP(2, [2, 1])
    seen: list[bool] = []

    async def train(x: float) -> None:
        for _ in range(3):
            model([x, x]).backward()
            seen.append(gc.isenabled())
            await asyncio.sleep(0)

    async def both() -> None:
        await asyncio.gather(train(1.0), train(2.0))

    asyncio.run(both())
    assert seen == [True] * 6 and gc.isenabled()


def contains(objects: list[Any], x: object) -> bool:
    return any(o is x for o in objects)


def test_the_graph_a_call_made_waits_in_the_oldest_generation_unscanned(
    collector_on: None,
) -> None:
    """The next young collection (due at the program's next allocation) scans none of it."""
    out = nn.MLP(2, [3, 1])([1.0, 2.0])
    young = gc.get_objects(generation=0) + gc.get_objects(generation=1)
    assert not contains(young, out) and not contains(young, out.inputs[0])
    assert contains(gc.get_objects(generation=2), out)


def test_a_cycle_the_program_dropped_before_a_call_is_collected_at_the_call(
    collector_on: None,
) -> None:
    """Only what the call made skips the young generations: the program's own young garbage
    is collected as the collector would have, not moved to the oldest generation with it."""

    class Node:
        pass

    gc.collect()
    cycle = Node()
    cycle.me = cycle  # type: ignore[attr-defined]
    dead = weakref.ref(cycle)
    del cycle
    assert dead() is not None
    nn.MLP(2, [3, 1])([1.0, 2.0])
    assert dead() is None


def test_objects_the_program_froze_stay_frozen_across_calls(collector_on: None) -> None:
    kept = [Value(1.0)]
    calls = library_calls()
    gc.freeze()
    try:
        for name, call in calls:
            call()
            assert not contains(gc.get_objects(), kept), name  # frozen: in no generation
    finally:
        gc.unfreeze()


def test_a_value_of_a_value_says_the_wrapper_goes_or_to_take_its_data() -> None:
    x = Value(2.5, "x")
    with pytest.raises(
        TypeError,
        match=r"x is already a Value .*the Value\(\.\.\.\) around them goes.*Value\(x\.data\)",
    ):
        Value(x)  # type: ignore[arg-type]
    assert Value(x.data).data == 2.5
