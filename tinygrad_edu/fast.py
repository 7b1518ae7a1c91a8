"""The speed paths: the engine's teaching code with less Python per node, the same numbers.

Each function here does what a few readable lines elsewhere do, and a test pins it to them:

* :func:`propagate` is the loop of :func:`tinygrad_edu.engine.backward_steps` without a step
  object per use of the chain rule, and with the rules of ``+`` and ``*`` applied inline (they
  are most nodes of a network). ``Value.backward()`` runs it; a property test over random
  graphs of every operation checks that it leaves every ``.grad`` bit for bit as consuming
  ``backward_steps`` does.
* :func:`weighted_sum` builds ``start + w0*x0 + w1*x1 + ...`` node by node without a method
  call per operator; :func:`neuron` adds the activation and records the neuron's scope without
  a context switch. A Layer computes every neuron of every sample through them; tests check
  that they build the very nodes of the written-out expression.

Why they exist is measured, not remembered: ``benchmarks/engine_paths.py`` times each against
the code it replaces, side by side, on micrograd's demo step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .engine import Operand, Value, local_derivatives
from .recording import RECORDING, TOP_ENTRY, Entry

__all__ = ["propagate", "weighted_sum", "neuron"]

_new = object.__new__


def propagate(order: list[Value]) -> None:
    """The chain rule on floats, outputs first: input.grad += local derivative * node.grad.

    ``order`` is a topological order with the seed already in its last node's ``.grad``. The
    walk, the order and the zero rule are :func:`~tinygrad_edu.engine.backward_steps`'s.
    """
    for node in reversed(order):
        a = node._a
        if a is None:
            continue  # a leaf: nothing to pass on
        g = node.grad
        op = node.op
        b = node._b
        # The rules of + and * from the table, (1, 1) and (y, x), applied inline.
        if op == "+":
            a.grad += g
            b.grad += g  # type: ignore[union-attr]
            continue
        if op == "*":
            # The zero rule: a factor of exactly 0 passes nothing on.
            if b.data:  # type: ignore[union-attr]
                a.grad += b.data * g  # type: ignore[union-attr]
            if a.data:
                b.grad += a.data * g  # type: ignore[union-attr]
            continue
        local = local_derivatives(node)
        if local[0]:
            a.grad += local[0] * g
        if b is not None and local[1]:
            b.grad += local[1] * g


def weighted_sum(weights: Sequence[Value], inputs: Sequence[Operand], start: Value) -> Value:
    """start + w0*x0 + w1*x1 + ... : a neuron's pre-activation, the same graph and the same
    numbers as writing the expression out (a * node, then a + node, per term, left to right).

    A plain number among the inputs becomes a constant, as it would in ``w * 2.0``.
    """
    return _weighted_sum(weights, inputs, start, RECORDING.get())


def _weighted_sum(
    weights: Sequence[Value], inputs: Sequence[Operand], start: Value, recording: Entry | None
) -> Value:
    """weighted_sum's nodes, recorded in the entry ``recording`` (None: nothing recorded).

    The nodes' slots are filled here, one statement per slot (a tuple assignment would build a
    tuple per node), instead of going through ``Value.__mul__`` and ``Value.__add__``."""
    total = start
    for w, x in zip(weights, inputs):
        if not isinstance(x, Value):
            x = Value(x)
            x._entry = recording or TOP_ENTRY
        product = _new(Value)
        product.data = w.data * x.data
        product.grad = 0.0
        product.label = ""
        added = _new(Value)
        added.data = total.data + product.data
        added.grad = 0.0
        added.label = ""
        if recording is not None:
            product.op = "*"
            product._entry = recording
            product._a = w
            product._b = x
            added.op = "+"
            added._entry = recording
            added._a = total
            added._b = product
        else:
            product.op = added.op = ""
            product._entry = added._entry = TOP_ENTRY
            product._a = product._b = added._a = added._b = None
        total = added
    return total


def neuron(
    weights: Sequence[Value],
    inputs: Sequence[Operand],
    bias: Value,
    activation: Callable[[Value], Value],
    name: str,
) -> Value:
    """activation(bias + w0*x0 + w1*x1 + ...), recorded in a new entry of the scope ``name``:
    the very nodes, numbers and scopes of
    ``within_scope(name, lambda: activation(weighted_sum(weights, inputs, bias)))``.

    What a Layer computes for each of its neurons and each sample, without switching the
    context for each: the sum's nodes are made in the new entry, then the activation's node
    (and its constant operand, such as leaky_relu's slope) is moved into it.
    ``activation`` is one operation applied to the sum whose other operands are numbers
    (``Value.relu``, ``Value.tanh``, ``lambda v: v.leaky_relu(0.1)``), or the identity.
    """
    outer = RECORDING.get()
    if outer is None:
        return activation(weighted_sum(weights, inputs, bias))
    entry = Entry(name, outer)
    total = _weighted_sum(weights, inputs, bias, entry)
    out = activation(total)
    if out is total:
        return out
    if not isinstance(out, Value):
        raise TypeError(f"neuron(): the activation returns a Value, not {type(out).__name__}")
    constant = out._b
    if out._a is not total or (constant is not None and constant.op):
        raise ValueError(
            "neuron(): the activation must be one operation applied to the sum, its other "
            "operands numbers (as Value.relu and lambda v: v.leaky_relu(0.1) are); this one "
            f"returned {out.op or 'a leaf'!r} computed from other nodes"
        )
    out._entry = entry
    if constant is not None and constant._entry is outer:
        constant._entry = entry
    return out
