"""scope(): every node says where it was recorded, so a diagram reads structure off the graph."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tinygrad_edu import Parameter, Scope, Value, current_scope, no_grad, scope
from tinygrad_edu.engine import TOP, within_scope


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
