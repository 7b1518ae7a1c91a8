"""scope(): every node says where it was recorded, so a diagram reads structure off the graph."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tinygrad_edu import Parameter, Scope, Value, current_scope, no_grad, recording, scope
from tinygrad_edu.engine import TOP, neuron, topological_order, weighted_sum, within_scope
from tinygrad_edu.nn import ACTIVATIONS


def test_nodes_carry_the_enclosing_scopes_joined_by_a_slash() -> None:
    x = Value(2.0, "x")
    outside = x * 3
    with scope("block"):
        with scope("attention"):
            inner = x * x
        after = inner + 1
    assert (outside.scope, inner.scope, after.scope) == ("", "block/attention", "block")
    assert isinstance(inner.scope, Scope) and isinstance(inner.scope, str)
    assert inner.scope.name == "attention" and inner.scope.parent is after.scope
    assert after.scope.parent is None and outside.scope is TOP


def test_each_entry_is_its_own_object_so_calls_can_be_told_apart() -> None:
    x = Value(1.0)
    entries = []
    for _ in range(3):
        with scope("step") as entered:
            a = x + 1
            b = a * 2
        assert a.scope is b.scope is entered  # one entry: the very same object
        entries.append(a.scope)
    assert entries[0] == entries[1] == entries[2] == "step"  # equal as text...
    assert len({id(entry) for entry in entries}) == 3  # ...but three entries


def test_leaves_made_inside_a_scope_carry_it_and_parameters_are_values() -> None:
    with scope("layer"):
        constant = Value(1.0)
        weight = Parameter(0.5, "w")
    assert constant.scope == weight.scope == "layer"
    assert isinstance(weight, Value) and (weight * 2).data == 1.0


def test_nothing_is_recorded_or_named_inside_no_grad() -> None:
    x = Value(1.0)
    with scope("outer"), no_grad():
        with scope("inner") as entered:
            y = x * 2
        assert current_scope() == ""
    assert entered is None and y.op == "" and y.scope == ""


def test_within_scope_is_the_with_statement_as_one_call() -> None:
    x = Value(3.0)
    with scope("model"):
        y = within_scope("neuron", lambda v: v * v, x)
        assert current_scope() == "model"
    assert y.scope == "model/neuron" and y.scope.parent == "model"


def test_a_scope_object_may_be_entered_inside_itself_and_unwinds_on_errors() -> None:
    again = scope("repeat")
    with again, again:
        assert current_scope() == "repeat/repeat"
    with pytest.raises(RuntimeError), scope("failing"):
        raise RuntimeError("inside")
    assert current_scope() == ""


@pytest.mark.parametrize("name", ["", "a/b", 3, None])
def test_a_bad_name_is_a_clear_error(name: object) -> None:
    with pytest.raises(ValueError, match="non-empty str without '/'"):
        scope(name)  # type: ignore[arg-type]


def test_threads_and_tasks_each_have_their_own_scope() -> None:
    seen: dict[str, str] = {}

    def in_thread() -> None:
        seen["thread"] = current_scope()

    async def task(name: str) -> str:
        with scope(name):
            await asyncio.sleep(0)
            return (Value(1.0) * 2).scope

    async def both() -> list[str]:
        return list(await asyncio.gather(task("a"), task("b")))

    with scope("main"):
        thread = threading.Thread(target=in_thread)
        thread.start()
        thread.join()
    assert seen["thread"] == ""
    assert asyncio.run(both()) == ["a", "b"]


def test_a_scope_asked_for_inner_first_still_names_its_parents_once() -> None:
    def block() -> tuple[Value, Value]:
        return within_scope("neuron", lambda: Value(1.0) * 2), Value(1.0) * 3

    def model() -> tuple[Value, Value, Value]:
        return (*within_scope("block", block), Value(1.0) * 4)

    # within_scope, not `with` (whose `as` value is the Scope, made on entry): no path is made
    # yet. The innermost node is asked first: its parents' paths are made on the way, once each.
    inner, beside, outer = within_scope("model", model)
    assert inner.scope == "model/block/neuron" and inner.scope is inner.scope
    assert inner.scope.parent is beside.scope and beside.scope.parent is outer.scope
    assert outer.scope.parent is None and outer.scope.name == "model"


def _recorded(root: Value) -> list[tuple[float, str, str, str]]:
    """Each node of root's graph as (data, op, label, scope), in topological order."""
    return [(v.data, v.op, v.label, str(v.scope)) for v in topological_order(root)]


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_neuron_records_what_opening_its_scope_records(activation: str) -> None:
    """neuron(w, x, b, f, name) is within_scope(name, f(weighted_sum(w, x, b))): the same
    nodes, numbers, labels and scopes (leaky_relu's slope constant included), without a context
    switch; the nodes of one call share one scope entry, and the next call is another entry."""
    f = ACTIVATIONS[activation]
    w = [Parameter(0.5, "w.0"), Parameter(-2.0, "w.1")]
    b = Parameter(0.25, "b")
    with scope("layer"):
        x = [Value(1.5, "x.0"), Value(0.75, "x.1")]
        fast = neuron(w, x, b, f, "neurons.0")
        again = neuron(w, x, b, f, "neurons.0")
        written = within_scope("neurons.0", lambda: f(weighted_sum(w, x, b)))
    assert _recorded(fast) == _recorded(written)
    made = [v for v in topological_order(fast) if v.scope == "layer/neurons.0"]
    assert made[-1] is fast and all(v.scope is fast.scope for v in made)
    assert fast.scope.parent == "layer" and again.scope == fast.scope
    assert again.scope is not fast.scope  # two calls, two entries


def test_neuron_makes_a_number_among_its_inputs_a_constant_of_its_scope() -> None:
    w = [Parameter(3.0)]
    with scope("layer"):
        out = neuron(w, [2.0], Parameter(1.0), Value.relu, "neurons.0")
    product = out.inputs[0].inputs[1]
    assert out.data == 7.0 and product.inputs[1].data == 2.0
    assert product.inputs[1].scope is out.scope == "layer/neurons.0"


def test_neuron_inside_no_grad_records_nothing() -> None:
    with scope("layer"), no_grad():
        out = neuron([Parameter(3.0)], [Value(2.0)], Parameter(1.0), Value.tanh, "neurons.0")
    assert out.op == "" and out.inputs == () and out.scope == ""


def test_neuron_refuses_an_activation_of_more_than_one_operation() -> None:
    with pytest.raises(ValueError, match="one operation applied to the sum"):
        neuron([Parameter(1.0)], [Value(2.0)], Parameter(0.0), lambda v: v * v.sigmoid(), "n")


def test_neuron_refuses_an_activation_that_returns_no_value() -> None:
    with pytest.raises(TypeError, match="returns a Value, not float"):
        neuron([Parameter(1.0)], [Value(2.0)], Parameter(0.0), lambda v: v.data, "n")


def test_threads_reading_one_graphs_scopes_get_the_very_same_objects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scope's path is made when first asked for; two threads asking at once share it, even
    when one of them is paused while making it."""

    class SlowScope(Scope):
        __slots__ = ()

        def __new__(cls, name: str, parent: Scope | None = None) -> SlowScope:
            time.sleep(0.002)  # lets the other thread run in the middle of making it
            return super().__new__(cls, name, parent)  # type: ignore[return-value]

    x = Value(1.0)
    nodes = []
    for _ in range(10):  # within_scope, which does not make the Scope as `with` does
        nodes.append(within_scope("step", within_scope, "inner", lambda: x * 2))
    monkeypatch.setattr(recording, "Scope", SlowScope)
    seen: list[list[Scope | None]] = []  # the objects, not ids: a freed object's id is reused
    start = threading.Barrier(2)

    def read() -> None:
        start.wait()
        seen.append([n.scope for n in nodes] + [n.scope.parent for n in nodes])

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 2 and all(a is b for a, b in zip(*seen))
