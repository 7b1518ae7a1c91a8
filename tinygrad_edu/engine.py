"""The engine: a scalar ``Value`` that records every operation, and the chain rule run backwards.

Build an expression from Values and plain numbers; each operation makes a new node that
remembers its operation (``op``) and its inputs (``inputs``). The nodes form a DAG.
``y.backward()`` walks that DAG from ``y`` in reverse topological order, so that every node's
gradient is complete before it is passed on, and applies the chain rule at each node::

    for node in reversed(topological_order(y)):
        for input, local in zip(node.inputs, local_derivatives(node)):
            input.grad += local * node.grad

That loop is :func:`backward_steps`, below ``class Value``; each local derivative is one row of
the table in :mod:`tinygrad_edu.ops` (tanh's: ``1 - out * out``). ``grad(y, x)`` runs the same
rules on Values instead of floats, so its result is a graph that can be differentiated again.

The rest of the engine lives beside this file, each part with its reasons: what ``no_grad`` and
``scope`` switch (:mod:`~tinygrad_edu.recording`), the speed paths that ``backward()`` and the
layers run (:mod:`~tinygrad_edu.fast`), your own operations (:mod:`~tinygrad_edu.define`), what
a compiled replay must redo at every call (:mod:`~tinygrad_edu.hooks`). Why it frees memory
promptly: a node points at its inputs and nothing else (no closure that captures its own
output), so a graph has no reference cycles and reference counting frees it the moment it is
dropped; and the order is found with an explicit stack, so a chain of a million nodes is fine.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any, NamedTuple, overload

from .collector import pausing
from .formatting import format_number
from .ops import OPS, ieee_arithmetic
from .recording import (
    RECORDING,
    TOP,
    TOP_ENTRY,
    Entry,
    Scope,
    current_scope,
    enable_grad,
    is_grad_enabled,
    no_grad,
    scope,
    within_scope,
)
from .scalars import Number, is_number, to_float

__all__ = [
    "Value",
    "Parameter",
    "backward_steps",
    "BackwardStep",
    "backward_from",
    "topological_order",
    "local_derivatives",
    "local_derivatives_at",
    "grad",
    "record",
    "Number",
    "Operand",
    "is_number",
    "to_float",
    # defined in the modules beside this one, and found here too:
    "Scope",
    "TOP",
    "scope",
    "within_scope",
    "current_scope",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "draw",
    "observe",
    "sample",
    "tracing",
    "Trace",
    "Sampler",
    "Update",
    "define_op",
    "weighted_sum",
    "neuron",
]


class Value:
    """One scalar node of a computation graph.

    Attributes (public, documented; ``viz`` reads only these):

    * ``data``: the forward value, a float. Assignable (optimisers write it); assign a float.
    * ``grad``: d(root)/d(this node), accumulated by ``backward()``; 0.0 until then.
    * ``label``: an optional name, shown in diagrams.
    * ``op``: the operation that produced the node (a key of ``ops.OPS``), "" for a leaf.
    * ``inputs``: the Values it was computed from, a tuple (empty for a leaf).
    * ``scope``: where it was recorded, the enclosing :func:`scope` names joined by "/"
      ("" outside every scope); a :class:`Scope`, which is a str.

    ``==`` and ``hash`` are by identity, so Values can key dicts and sets; ``< <= > >=``
    compare ``data`` and return a bool. ``float(v)``, ``bool(v)`` and ``round(v, 2)`` act on the
    data as they do on a float, and return plain numbers (nothing recorded).
    """

    # Slots: a node is small (120 bytes, benchmarks/memory.py) and its fields are fast to read.
    # The inputs sit in two slots rather than a tuple per node; a __weakref__ slot lets Values
    # take weak references (weakref.ref, WeakKeyDictionary) as micrograd's and PyTorch's do.
    __slots__ = ("data", "grad", "label", "op", "_entry", "_a", "_b", "__weakref__")

    data: float
    grad: float
    label: str
    op: str
    _entry: Entry
    _a: Value | None
    _b: Value | None

    def __init__(self, data: Number, label: str = "") -> None:
        """A leaf holding ``data`` (a real number, stored as a float), optionally named."""
        self.data = data if type(data) is float else _leaf_number(data)
        self.grad = 0.0
        if type(label) is not str:
            raise TypeError(f"a Value's label is a str, not {type(label).__name__}")
        self.label = label
        self.op = ""
        self._entry = RECORDING.get() or TOP_ENTRY
        self._a = None
        self._b = None

    # --- the graph -----------------------------------------------------------------------

    @property
    def scope(self) -> Scope:
        """Where this node was recorded: the enclosing :func:`scope` names joined by "/" ("" outside
        every scope). The nodes of one entry share one Scope object."""
        return self._entry.scope

    @property
    def inputs(self) -> tuple[Value, ...]:
        """The Values this node was computed from, in argument order; () for a leaf."""
        if self._a is None:
            return ()
        if self._b is None:
            return (self._a,)
        return (self._a, self._b)

    def _unary(self, op: str) -> Value:
        return record(OPS[op].forward(self.data), op, self)

    def _binary(self, op: str, other: Operand) -> Value:
        if not isinstance(other, Value):
            other = Value(other)
        return record(OPS[op].forward(self.data, other.data), op, self, other)

    def _reflected(self, op: str, other: Number) -> Value:
        """``other <op> self`` for a plain number ``other`` on the left."""
        return Value(other)._binary(op, self)

    # --- arithmetic: + - * / ** and unary - ----------------------------------------------

    def __add__(self, other: Operand) -> Value:
        """x + y; d/dx = 1, d/dy = 1."""
        if not isinstance(other, Value):
            other = Value(other)
        # + and * make most nodes of a network: their float arithmetic is written here instead
        # of looked up in the table (benchmarks/engine_paths.py measures what that saves).
        return record(self.data + other.data, "+", self, other)

    def __mul__(self, other: Operand) -> Value:
        """x * y; d/dx = y, d/dy = x."""
        if not isinstance(other, Value):
            other = Value(other)
        return record(self.data * other.data, "*", self, other)

    def __sub__(self, other: Operand) -> Value:
        """x - y; d/dx = 1, d/dy = -1."""
        return self._binary("-", other)

    def __truediv__(self, other: Operand) -> Value:
        """x / y; d/dx = 1/y, d/dy = -x/y². Division by zero raises ZeroDivisionError."""
        return self._binary("/", other)

    def __pow__(self, other: Operand) -> Value:
        """x ** y; d/dx = y·x^(y-1), d/dy = x^y·log x. Differentiable in both arguments."""
        return self._binary("**", other)

    def __radd__(self, other: Number) -> Value:
        """other + self"""
        return self._reflected("+", other)

    def __rsub__(self, other: Number) -> Value:
        """other - self"""
        return self._reflected("-", other)

    def __rmul__(self, other: Number) -> Value:
        """other * self"""
        return self._reflected("*", other)

    def __rtruediv__(self, other: Number) -> Value:
        """other / self"""
        return self._reflected("/", other)

    def __rpow__(self, other: Number) -> Value:
        """other ** self, e.g. 2 ** x; d/dx = 2^x·log 2."""
        return self._reflected("**", other)

    def __neg__(self) -> Value:
        """-x; d/dx = -1."""
        return self._unary("neg")

    def __abs__(self) -> Value:
        """|x|; d/dx = sign(x), 0 at 0."""
        return self._unary("abs")

    # --- functions (names match numpy's ufuncs: np.exp(array_of_values) works) -------------

    def exp(self) -> Value:
        """e^x; d/dx = e^x. Overflows to inf."""
        return self._unary("exp")

    def log(self) -> Value:
        """Natural log; d/dx = 1/x. ValueError for x <= 0."""
        return self._unary("log")

    def sqrt(self) -> Value:
        """√x; d/dx = 1/(2√x) (+inf at 0). ValueError for x < 0."""
        return self._unary("sqrt")

    def tanh(self) -> Value:
        """tanh(x); d/dx = 1 - tanh(x)²."""
        return self._unary("tanh")

    def sigmoid(self) -> Value:
        """σ(x) = 1/(1 + e^-x), stable for any x; d/dx = σ(x)(1 - σ(x))."""
        return self._unary("sigmoid")

    def relu(self) -> Value:
        """max(x, 0); d/dx = 1 for x > 0, else 0 (relu'(0) = 0)."""
        return self._unary("relu")

    def leaky_relu(self, slope: Operand = 0.01) -> Value:
        """x for x > 0, else slope·x; d/dx = 1 or slope (slope at 0), d/dslope = 0 or x."""
        return self._binary("leaky_relu", slope)

    def softplus(self) -> Value:
        """log(1 + e^x), stable for any x; d/dx = σ(x)."""
        return self._unary("softplus")

    def step(self) -> Value:
        """Heaviside step: 1 for x > 0, else 0; d/dx = 0 everywhere, so nothing learns through
        it (the reason networks use sigmoid or relu instead)."""
        return self._unary("step")

    def sin(self) -> Value:
        """sin(x); d/dx = cos(x)."""
        return self._unary("sin")

    def cos(self) -> Value:
        """cos(x); d/dx = -sin(x)."""
        return self._unary("cos")

    def abs(self) -> Value:
        """|x|; d/dx = sign(x), 0 at 0."""
        return self._unary("abs")

    def maximum(self, other: Operand) -> Value:
        """The larger of x and y (np.maximum's name); d/dx = 1 if x >= y else 0, d/dy = the
        other: on a tie the whole gradient goes to x (self)."""
        return self._binary("maximum", other)

    def minimum(self, other: Operand) -> Value:
        """The smaller of x and y (np.minimum's name); d/dx = 1 if x <= y else 0, d/dy = the
        other: on a tie the whole gradient goes to x (self)."""
        return self._binary("minimum", other)

    # --- conversions and comparisons ------------------------------------------------------

    def __float__(self) -> float:
        """The forward value."""
        return self.data

    def __bool__(self) -> bool:
        """bool(v) is bool(v.data), as for a float (and PyTorch's one-element tensor): False
        only for 0.0. So ``if loss:`` tests the number; comparisons (``v > 0``) give a bool."""
        return bool(self.data)

    @overload
    def __round__(self, ndigits: None = None) -> int: ...
    @overload
    def __round__(self, ndigits: int) -> float: ...
    def __round__(self, ndigits: int | None = None) -> int | float:
        """round(v, 2) rounds the data to a float, round(v) to an int, as for a float. A plain
        number, not a node: nothing is recorded (rounding has derivative 0 almost everywhere)."""
        return round(self.data, ndigits)

    def __lt__(self, other: Operand) -> bool:
        return self.data < _data(other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= _data(other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > _data(other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _data(other)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        data, grad = format_number(self.data, trim=True), format_number(self.grad, trim=True)
        return f"Value(data={data}, grad={grad}{label})"

    def __format__(self, spec: str) -> str:
        """f"{v:.3f}" formats the data; f"{v}" gives the repr."""
        return format(self.data, spec) if spec else repr(self)

    def detach(self) -> Value:
        """A new leaf with the same data and label: gradients stop here."""
        return Value(self.data, self.label)

    # --- copying and pickling, without recursion ---------------------------------------------

    def __copy__(self) -> Value:
        """copy.copy(v): a new node with v's data, grad, label, op and scope, computed from the
        very same input nodes (only the node is new)."""
        twin = _twin(self)
        twin._a, twin._b = self._a, self._b
        return twin

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        """copy.deepcopy(v): a copy of v's whole graph, made node by node in topological order
        (inputs first), never by recursion, so a chain of a million nodes copies.

        Nodes already copied by the same deepcopy (a model's parameters, then a loss computed
        from them) are reused, so a graph shared between the copied objects stays shared.
        Scopes are shared, not copied: they are names.
        """
        for node in topological_order(self):
            if id(node) in memo:
                continue
            twin = _twin(node)
            a, b = node._a, node._b
            twin._a = None if a is None else memo[id(a)]
            twin._b = None if b is None else memo[id(b)]
            memo[id(node)] = twin
        copied: Value = memo[id(self)]
        return copied

    def __reduce__(self) -> tuple[Any, ...]:
        """pickle: each node is written after its inputs, so pickle never recurses down a chain.

        pickle writes an object's inputs before finishing the object itself, which recurses once
        per level of a deep graph. So the first node of a graph that pickle meets lists the
        nodes below it in topological order (inputs first) with its own state; pickle writes
        that list one node after the other, each of them finding its inputs already written.
        Those listed nodes are marked (by id, per thread) so that they do not list their own
        subgraphs again; a stale mark can only make a node be written the plain way, which is
        as correct. A chain of a million nodes pickles and unpickles.
        """
        listed = _PICKLING.listed
        below: Sequence[Value] = ()
        if id(self) in listed:
            listed.discard(id(self))
        else:
            below = topological_order(self)[:-1]
            # Replaces the set: what is left in it was written earlier (or the pickle stopped).
            _PICKLING.listed = {id(node) for node in below}
        fields = (type(self), self.data, self.grad, self.label, self.op, self._entry)
        return (_bare, fields, (below, self._a, self._b))

    def __setstate__(self, state: tuple[Sequence[Value], Value | None, Value | None]) -> None:
        """Restore a pickled node's inputs (the listed nodes below it are already restored)."""
        _, self._a, self._b = state

    # --- backpropagation -------------------------------------------------------------------

    @pausing  # no garbage-collector runs during the walk: tinygrad_edu/collector.py says why
    def backward(self) -> None:
        """Chain rule from this node: for every node n reachable from it, n.grad += d self / d n.

        Seeds d self/d self = 1, then visits nodes in reverse topological order so that each
        gradient is complete before it is passed to the node's inputs. Gradients accumulate:
        call ``zero_grad`` (or set ``.grad = 0``) between steps, as in PyTorch.

        A local derivative of exactly 0 passes nothing on, whatever arrives from above (0·inf
        counts as 0): ``x = Value(-1.0); x.relu().sqrt().backward()`` leaves ``x.grad == 0.0``,
        the true derivative, although sqrt'(0) is +inf.

        This is :func:`backward_steps` (below: read it to see the walk) run to the end, by a
        faster loop (:func:`tinygrad_edu.fast.propagate`) that a test pins to it bit for bit.
        """
        order = topological_order(self)
        earlier = _begin_pass(order, ((self, 1.0),))
        try:
            propagate(order)
        finally:
            _end_pass(earlier)


def _leaf_number(x: object) -> float:
    """What ``Value(x)`` holds: x as a float; a Value is refused with what to write instead."""
    if isinstance(x, Value):
        raise TypeError(
            f"Value(x) takes a number, and x is already a Value ({x!r}): use x as it is (inside"
            " a compiled function the inputs arrive as Values, so the Value(...) around them"
            " goes), or Value(x.data) for a new leaf holding its number"
        )
    return to_float(x)


class Parameter(Value):
    """A trainable leaf: a Value that an optimiser updates. Every nn Module's weights and biases
    are Parameters, and a diagram draws a Parameter as a parameter whatever its label.

    It is a Value in every other way (``Parameter(0.5, "w") * x`` records as usual).
    """

    __slots__ = ()


Operand = Value | Number
"""What an operator takes: a Value or a plain number (which becomes a constant leaf)."""


# --- the walk: backward(), one step at a time ---------------------------------------------------


class BackwardStep(NamedTuple):
    """One use of the chain rule during ``backward()``: ``input.grad += local * upstream``.

    ``node`` passes its gradient on to ``input``, which is ``node.inputs[position]``; ``local``
    is d node / d input, ``upstream`` is ``node.grad`` (d root / d node, complete by now), and
    ``contribution`` is what the step added to ``input.grad``: ``local * upstream``, or exactly
    0 when ``local`` is 0 (the zero rule: nothing is added then, even if upstream is inf).
    """

    node: Value
    input: Value
    position: int
    local: float
    upstream: float
    contribution: float


def backward_steps(root: Value) -> Generator[BackwardStep, None, None]:
    """``root.backward()``, one step at a time: a generator of the chain rule's steps, each
    applied to ``.grad`` as it is yielded.

    The walk is backward()'s: the gradients an earlier pass left are set aside, the root is
    seeded with d root/d root = 1, then for each node in reverse topological order, for each of
    its inputs in argument order, one :class:`BackwardStep`, whose contribution is already in
    the input's ``.grad`` when you see it. At the end (or when the generator is closed) the
    set-aside gradients are added back. Consumed to the end, it leaves every ``.grad`` bit for
    bit as ``root.backward()`` would; ``backward()`` runs the same walk with a faster loop.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps(root): root is a Value, not {type(root).__name__}")
    return _steps(root)


def _steps(root: Value) -> Generator[BackwardStep, None, None]:
    order = topological_order(root)
    earlier = _begin_pass(order, ((root, 1.0),))
    try:
        for node in reversed(order):
            upstream = node.grad  # complete: every node that uses this one came earlier
            for position, (child, local) in enumerate(zip(node.inputs, local_derivatives(node))):
                if local:
                    contribution = local * upstream
                    child.grad += contribution
                else:  # the zero rule: flat stays flat, even under an infinite upstream
                    contribution = 0.0
                yield BackwardStep(node, child, position, local, upstream, contribution)
    finally:
        _end_pass(earlier)


def _begin_pass(
    order: list[Value], seeds: Iterable[tuple[Value, float]]
) -> list[tuple[Value, float]]:
    """Set aside the gradients an earlier pass left in ``order``'s nodes, and seed the pass
    (the root with 1, for backward()). The pass then propagates only its own contributions, and
    :func:`_end_pass` adds each set-aside gradient back once: every ``.grad`` accumulates
    exactly (the earlier total plus this pass's), as if each pass had its own."""
    earlier = [(node, node.grad) for node in order if node.grad]
    for node, _ in earlier:
        node.grad = 0.0
    for node, g in seeds:
        node.grad += g
    return earlier


def _end_pass(earlier: list[tuple[Value, float]]) -> None:
    """Add back what :func:`_begin_pass` set aside."""
    for node, g in earlier:
        node.grad += g


@pausing
def backward_from(order: list[Value], seeds: Mapping[Value, float]) -> None:
    """``backward()`` from several nodes at once: each node of ``seeds`` starts with the
    gradient given, and the walk goes over ``order`` (a topological order holding every seed and
    all below them), with backward()'s order, zero rule and accumulation. The compiled replay
    goes on with it below the Values computed before its call."""
    earlier = _begin_pass(order, seeds.items())
    try:
        propagate(order)
    finally:
        _end_pass(earlier)


def topological_order(root: Value) -> list[Value]:
    """Every node reachable from ``root``, each after all of its inputs (``root`` last).

    Depth-first with an explicit stack, never recursion. Opening a node pushes the node, a
    marker, then its second input, and opens its first input next: the marker surfaces once
    everything above it (the inputs and all they depend on) is placed, and says "place the node
    under me". Inputs are visited in argument order, so the order is the same on every run
    (``x * w`` places ``x`` before ``w``).
    """
    order: list[Value] = []
    opened: set[Value] = set()
    stack: list[Value | None] = [root]
    push, pop, place, open_ = stack.append, stack.pop, order.append, opened.add
    # The marker is None, not a (node, flag) tuple per entry: no allocation per node, so no work
    # for the garbage collector.
    while stack:
        node = pop()
        if node is None:
            place(pop())  # type: ignore[arg-type]
            continue
        if node in opened:
            continue
        while True:
            open_(node)
            push(node)
            push(None)
            b, a = node._b, node._a
            if b is not None and b not in opened:
                push(b)
            if a is None or a in opened:
                break
            # The first input is opened at once, as pushing it would pop it straight back: a
            # round trip per node saved, the walk's most frequent step (a sum's chain of first
            # inputs; benchmarks/moons_step.py and digits_step.py measure the step).
            node = a
    return order


def local_derivatives(node: Value) -> tuple[float, ...]:
    """The chain-rule factors at ``node``: d node / d input for each of ``node.inputs``, as floats.

    These are the numbers ``backward()`` multiplies by ``node.grad`` (``()`` for a leaf): the
    rule of ``node.op`` in the table, evaluated at the inputs' and the node's data.
    """
    a, b = node._a, node._b
    if a is None:
        return ()
    data = (a.data, node.data) if b is None else (a.data, b.data, node.data)
    try:
        rule = OPS[node.op].derivative
    except KeyError:
        raise _undefined(node.op) from None
    return _evaluate(rule, data)


def local_derivatives_at(op: str, *data: float) -> tuple[float, ...]:
    """The chain-rule factors of the operation ``op`` at given numbers: ``data`` is the inputs'
    data then the output's (``x, out`` or ``x, y, out``, as a rule takes them), and the result is
    d out / d input for each input, as floats: what :func:`local_derivatives` reads off a node.

    The compiled replay evaluates a rule that cannot run on arrays through this, one node at a time.
    """
    return _evaluate(OPS[op].derivative, data)


def _undefined(op: str) -> LookupError:
    """The error for a node whose operation is not in the table: one defined with ``define_op``
    in another process (a pickled graph keeps the operation's name, not its rule)."""
    return LookupError(
        f"the graph uses the operation {op!r}, which is not defined in this process (a pickled "
        f"graph keeps an operation's name, not its code): run its define_op({op!r}, ...) first"
    )


def _evaluate(rule: Callable[..., Any], data: tuple[float, ...]) -> tuple[float, ...]:
    """A derivative rule at ``data``, as floats. Where Python floats raise but IEEE 754 has an
    answer (sqrt'(0) = 0.5 / 0 = inf), the rule is evaluated again on constant Values in IEEE
    mode: a forward that succeeded never makes the backward pass crash."""
    try:
        local = rule(*data)
    except (ArithmeticError, ValueError):
        with ieee_arithmetic(), no_grad():
            local = rule(*(Value(x) for x in data))
    return (float(local),) if len(data) == 2 else (float(local[0]), float(local[1]))


# Reading a whole graph at once (the compiled replay reads millions of nodes): each field read by
# ``map`` in C, with no Python call and no tuple per node.
_first_input, _second_input, _entry_of = attrgetter("_a"), attrgetter("_b"), attrgetter("_entry")


def inputs_of(nodes: Sequence[Value]) -> tuple[Iterable[Value | None], Iterable[Value | None]]:
    """Every node's first input, and every node's second input (None where it has fewer): what
    ``node.inputs`` gives, as two columns."""
    return map(_first_input, nodes), map(_second_input, nodes)


def scopes_of(nodes: Iterable[Value]) -> list[Scope]:
    """The scopes that ``nodes`` were recorded in, one per scope entry (by identity: two entries
    of one name are two scopes, as ``node.scope`` gives them)."""
    return [entry.scope for entry in set(map(_entry_of, nodes))]


# --- recording a node ----------------------------------------------------------------------------

_new = object.__new__


def record(data: float, op: str, a: Value, b: Value | None = None) -> Value:
    """The result of ``op`` applied to a (and b), whose forward value is ``data``: a node that
    remembers them, in the current scope; or, inside ``no_grad``, a leaf.

    Every operation ends here. It fills the slots itself instead of calling ``Value(...)``:
    the data is already a float and needs no check, and this is the hottest function of the
    engine (one statement per slot: a tuple assignment would build a tuple per node).
    """
    out: Value = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    recording = RECORDING.get()
    if recording is not None:
        out.op = op
        out._entry = recording
        out._a = a
        out._b = b
    else:
        out.op = ""
        out._entry = TOP_ENTRY
        out._a = None
        out._b = None
    return out


def _data(x: Operand) -> float:
    return x.data if isinstance(x, Value) else to_float(x)


# --- derivatives as Values, to any order -------------------------------------------------


@overload
def grad(y: Value, x: Value) -> Value: ...
@overload
def grad(y: Value, x: Sequence[Value]) -> list[Value]: ...
@pausing  # no garbage-collector runs while the derivative's graph is built: see collector.py
def grad(y: Value, x: Value | Sequence[Value]) -> Value | list[Value]:
    """dy/dx as a Value that is itself differentiable: grad(grad(y, x), x) is d²y/dx².

    ``x`` is one Value (returns one Value) or a sequence of them (returns a list). The chain rule
    runs as in ``backward()``, on Values instead of floats, and only along paths from ``y``
    to ``x``. Leaves no trace in any ``.grad``. A target that ``y`` does not depend on gets 0.

    The result is recorded even when called inside ``no_grad()`` (as
    ``torch.autograd.grad(..., create_graph=True)``), so it can always be differentiated again;
    ``y`` itself must have been recorded. A local derivative of exactly 0 passes nothing on, as
    in ``backward()``, at every order.
    """
    if not isinstance(y, Value):
        raise TypeError(f"grad(y, x): y is the Value to differentiate, not {type(y).__name__}")
    if isinstance(x, Value):
        targets = [x]
    elif isinstance(x, Iterable):
        targets = list(x)
    else:
        raise TypeError(
            "grad(y, x): x is the Value (or a list of the Values) to differentiate with respect "
            f"to, not {type(x).__name__}; to take the derivative at a point, make the point a "
            "Value and compute y from it: x = Value(2.0); grad(x**3, x)"
        )
    for i, t in enumerate(targets):
        if not isinstance(t, Value):
            raise TypeError(f"grad(y, x): x[{i}] must be a Value, not {type(t).__name__}")
    order = topological_order(y)
    # Nodes on a path from y down to a target: only their derivatives are needed.
    needed = set(targets)
    for node in order:
        if node._a in needed or node._b in needed:
            needed.add(node)
    derivative: dict[Value, Value] = {y: Value(1.0)}
    # The derivative is always recorded, even inside no_grad(), so that it can be differentiated
    # again (as torch.autograd.grad(..., create_graph=True) does); its nodes carry the scope
    # grad() was called in.
    with enable_grad():
        _differentiate(order, needed, derivative)
    results = [derivative[t] if t in derivative else Value(0.0) for t in targets]
    return results[0] if isinstance(x, Value) else results


def _differentiate(order: list[Value], needed: set[Value], derivative: dict[Value, Value]) -> None:
    """The chain rule on Values, outputs first, along the ``needed`` nodes; fills ``derivative``."""
    with ieee_arithmetic():
        for node in reversed(order):
            g = derivative.get(node)
            if g is None or node._a is None:
                continue
            inputs = node.inputs
            if node.op not in OPS:
                raise _undefined(node.op)
            local = OPS[node.op].derivative(*inputs, node)
            for child, d in zip(inputs, local if len(inputs) == 2 else (local,)):
                if child in needed:
                    term = _times(g, d)
                    earlier = derivative.get(child)
                    if term is not None:
                        derivative[child] = term if earlier is None else earlier + term


def _times(g: Value, d: Value | float) -> Value | None:
    """g * d, without a node for the common factor 1; None where a local derivative of exactly 0
    passes nothing on, as in ``backward()``.

    A rule's constant 0 (relu below zero, step) is dropped outright. A local derivative that is
    a Value worth 0 (exp that underflowed) is kept while g is finite, because its own derivative
    may not be 0 (d(x·x)/dx = 2x at x = 0 is 0, but its derivative is 2); only when g is
    infinite or nan, where g·0 would be nan, does it pass nothing on.
    """
    if isinstance(d, float):
        if d == 1.0:
            return g
        if d == 0.0:
            return None
    elif d.data == 0.0 and not math.isfinite(g.data):
        return None
    return g * d


# --- copying and pickling: node by node, never by recursion ------------------------------------


def _bare(kind: type[Value], data: float, grad: float, label: str, op: str, entry: Entry) -> Value:
    """A node of class ``kind`` with these fields and no inputs yet: what copies and unpickling
    start from (they set ``_a`` and ``_b`` once the inputs exist)."""
    node: Value = _new(kind)
    node.data, node.grad, node.label, node.op = data, grad, label, op
    node._entry, node._a, node._b = entry, None, None
    return node


def _twin(node: Value) -> Value:
    """A new node with node's class and fields, and no inputs yet."""
    return _bare(type(node), node.data, node.grad, node.label, node.op, node._entry)


class _Pickling(threading.local):
    """Per thread: the ids of the nodes that a graph being pickled has listed and that pickle has
    yet to write. Ids, not the nodes, so that nothing is kept alive after the pickle."""

    def __init__(self) -> None:
        self.listed: set[int] = set()


_PICKLING = _Pickling()


# Graphs pickled before the recording state had a module of its own name these.
_Entry, _TOP = Entry, TOP_ENTRY

# The rest of the engine, in the modules beside this one; imported last because they build on
# Value, and named here so that every name this module has offered is still found here.
from .define import define_op  # noqa: E402
from .fast import neuron, propagate, weighted_sum  # noqa: E402
from .hooks import Sampler, Trace, Update, draw, observe, sample, tracing  # noqa: E402
