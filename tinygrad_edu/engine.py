"""The engine: a scalar ``Value`` that records every operation, and the chain rule run backwards.

Build an expression from Values and plain numbers; each operation creates a new node that
remembers its operation (``op``) and its inputs (``inputs``). The nodes form a DAG.
``y.backward()`` walks that DAG from ``y`` in reverse topological order, so every node's
gradient is complete before it is passed on, and applies the chain rule at each node::

    input.grad += (d node / d input) * node.grad

The local derivatives come from the table in :mod:`tinygrad_edu.ops`. ``grad(y, x)`` runs the
same loop on Values instead of floats, so its result is itself a graph that can be
differentiated again.

Design notes (why it is fast and frees memory promptly):

* ``__slots__`` and the data as a Python float: small nodes, no numpy scalars in the hot loop.
* A node points at its inputs and nothing else: no closure that captures its own output, so a
  graph has no reference cycles and is freed by reference counting as soon as it is dropped;
  the cyclic garbage collector has nothing to clean up.
* The inputs sit in two slots (``_a``, ``_b``) rather than a tuple per node: one object per node.
* A ``__weakref__`` slot, so Values take weak references (``weakref.ref``, WeakKeyDictionary)
  as micrograd's and PyTorch's do: 8 bytes a node, 120 instead of 112 (``benchmarks/memory.py``).
* Topological order by an explicit stack, never recursion: a chain of a million nodes is fine.
"""

from __future__ import annotations

import functools
import inspect
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, TypeGuard, TypeVar, Union, cast, overload

import numpy as np

from .formatting import format_number
from .ops import BUILTINS, OPS, Op, ieee_arithmetic

__all__ = [
    "Value",
    "Parameter",
    "Scope",
    "scope",
    "within_scope",
    "current_scope",
    "draw",
    "observe",
    "sample",
    "tracing",
    "Trace",
    "Sampler",
    "Update",
    "define_op",
    "grad",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "topological_order",
    "local_derivatives",
    "local_derivatives_at",
    "weighted_sum",
    "neuron",
    "is_number",
    "to_float",
    "Number",
    "Operand",
]

Number = float | int | bool | np.integer[Any] | np.floating[Any] | np.bool_
"""What counts as a plain number: int, float, bool and numpy's real scalar types."""

Operand = Union["Value", Number]


class Scope(str):
    """Where a node was recorded: the names of the enclosing scopes joined by "/", as a str.

    ``Scope("layers.0/neurons.3")`` compares and prints like that string. Each entry into a
    :func:`scope` has its own Scope object, so the nodes recorded during one entry share the
    very same object (``a.scope is b.scope``) while another entry of the same name gets an equal
    but distinct one: that is how a diagram tells one call of a module from the next.
    ``parent`` is the entry it was opened in (None at the top), ``name`` its own name.
    """

    __slots__ = ("parent", "name")

    parent: Scope | None
    name: str

    def __new__(cls, name: str, parent: Scope | None = None) -> Scope:
        if parent:
            self = str.__new__(cls, parent + "/" + name)
            self.parent = parent
        else:
            self = str.__new__(cls, name)
            self.parent = None
        self.name = name
        return self

    def __reduce__(self) -> str | tuple[Any, ...]:
        """Pickled as its name and parent; the top level as the module's own ``TOP``."""
        return "TOP" if self is TOP else (Scope, (self.name, self.parent))


TOP = Scope("")
"""The scope of everything recorded outside every :func:`scope` (the empty path)."""


class _Entry:
    """One entry into a scope, as the nodes recorded during it hold it: its name and the entry it
    was opened in. Its :class:`Scope` (the path, a str) is made when first asked for, then kept.

    nn opens an entry for every module call and every neuron, 3,700 per step of micrograd's demo,
    and most are never drawn: making this small object instead of the Scope str (121 ns against
    309 ns, timeit) saves about 2% of that step (the two ways side by side).
    """

    __slots__ = ("name", "parent", "_scope")

    def __init__(self, name: str, parent: _Entry | None) -> None:
        self.name = name
        self.parent = parent
        self._scope: Scope | None = None

    @property
    def scope(self) -> Scope:
        """The path of this entry, made once (its parents' first, without recursion); under a
        lock, so that two threads drawing one graph get the very same object."""
        if self._scope is None:
            with _NAMING:
                unnamed = []
                entry: _Entry | None = self
                while entry is not None and entry._scope is None:
                    unnamed.append(entry)
                    entry = entry.parent
                above = TOP if entry is None else entry._scope
                for entry in reversed(unnamed):
                    above = entry._scope = Scope(entry.name, above)
        return self._scope  # type: ignore[return-value]

    def __reduce__(self) -> str | tuple[Any, ...]:
        """Pickled as its name and parent (pickle keeps one entry shared by its nodes); the top
        level as the module's own ``_TOP``."""
        return "_TOP" if self is _TOP else (_Entry, (self.name, self.parent))


_TOP = _Entry("", None)
_TOP._scope = TOP
_NAMING = threading.Lock()

# The recording state, one context value so that recording a node costs one lookup: the current
# scope entry while recording, None inside no_grad().
_STATE: ContextVar[_Entry | None] = ContextVar("tinygrad_edu_state", default=_TOP)

# OPS's two columns the hot paths read, one dict lookup each (not a lookup and a tuple field);
# define_op keeps them in step with OPS.
_FORWARD = {name: op.forward for name, op in OPS.items()}
_DERIVATIVE = {name: op.derivative for name, op in OPS.items()}


F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@overload
def no_grad() -> _NoGrad: ...
@overload
def no_grad(function: F) -> F: ...
def no_grad(function: F | None = None) -> _NoGrad | F:
    """Within the block, operations record nothing: every result is a leaf.

    Use it for evaluation and for updates that must not become part of a graph::

        with no_grad():
            accuracy = evaluate(model)

    Nests, and is safe across threads and asyncio tasks (it is a context variable). As in
    PyTorch it also decorates, with or without the parentheses (``@no_grad()`` or ``@no_grad``):
    a function, a generator (each step runs without recording; the caller records between
    steps), an ``async def`` function, or an async generator.
    """
    if function is None:
        return _NoGrad()
    if not callable(function):
        raise TypeError(
            "no_grad() takes no argument (with no_grad(): ...), or decorates a function, "
            f"not {type(function).__name__}"
        )
    return _without_recording(function)


class _Recording:
    """A context manager that sets the recording state on entry and restores it on exit: the
    one mechanism behind ``no_grad`` and ``scope``. A token per entry, so one object may be
    entered again inside itself."""

    __slots__ = ("_tokens",)

    def __init__(self) -> None:
        self._tokens: list[Token[_Entry | None]] = []

    def _state(self) -> _Entry | None:
        """The recording state inside the block: a scope entry, or None (record nothing)."""
        raise NotImplementedError

    def __enter__(self) -> Any:
        state = self._state()
        self._tokens.append(_STATE.set(state))
        return None if state is None else state.scope

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _STATE.reset(self._tokens.pop())


class _NoGrad(_Recording):
    """What ``no_grad()`` returns: a context manager, and a decorator like ``no_grad`` itself."""

    __slots__ = ()

    def _state(self) -> None:
        return None

    def __call__(self, function: F) -> F:
        return no_grad(function)


def _without_recording(function: F) -> F:
    """``function`` made to run under no_grad: each call, or each step of a generator."""
    wrapper: Callable[..., Any]
    if inspect.isasyncgenfunction(function):

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Only while the generator runs: the caller records between its items.
            inner = function(*args, **kwargs)
            step, sent = inner.asend, None
            while True:
                token = _STATE.set(None)
                try:
                    item = await step(sent)
                except StopAsyncIteration:
                    return
                finally:
                    _STATE.reset(token)
                try:
                    sent, step = (yield item), inner.asend
                except GeneratorExit:
                    with _NoGrad():
                        await inner.aclose()
                    raise
                except BaseException as error:
                    sent, step = error, inner.athrow

    elif inspect.iscoroutinefunction(function):

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _NoGrad():
                return await function(*args, **kwargs)

    elif inspect.isgeneratorfunction(function):

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # As for the async generator above, step by step.
            inner = function(*args, **kwargs)
            step, sent = inner.send, None
            while True:
                token = _STATE.set(None)
                try:
                    item = step(sent)
                except StopIteration as stop:
                    return stop.value
                finally:
                    _STATE.reset(token)
                try:
                    sent, step = (yield item), inner.send
                except GeneratorExit:
                    with _NoGrad():
                        inner.close()
                    raise
                except BaseException as error:
                    sent, step = error, inner.throw

    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _NoGrad():
                return function(*args, **kwargs)

    return cast(F, functools.wraps(function)(wrapper))


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad`."""
    return _STATE.get() is not None


class _EnableGrad(_Recording):
    """What ``enable_grad()`` returns: recording on, in the scope it was already in."""

    __slots__ = ()

    def _state(self) -> _Entry:
        return _STATE.get() or _TOP


def enable_grad() -> _EnableGrad:
    """Within the block, operations record again, even inside :func:`no_grad` (PyTorch's name).

    For code that must build a graph whatever its caller chose: ``tinygrad_edu.compile`` traces
    a function's graph inside it, also when the compiled function is first called in ``no_grad``.
    """
    return _EnableGrad()


class scope(_Recording):
    """``with scope("attention"):`` names the nodes recorded inside: their ``scope`` attribute is
    the path of the enclosing scopes joined by "/" (``"block/attention"``).

    ``nn`` opens one for every module call, named by the module's path, so a diagram can group
    (``cluster=True``) or fold (``collapse=True``) what each Neuron, Layer or block computed;
    a user's own scopes work the same way. Nests; a context variable like ``no_grad`` (inside
    ``no_grad`` nothing is recorded, so nothing is named).
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if type(name) is not str or not name or "/" in name:
            raise ValueError(f"a scope's name is a non-empty str without '/', not {name!r}")
        super().__init__()
        self.name = name

    def _state(self) -> _Entry | None:
        return _inside(self.name)


def _inside(name: str) -> _Entry | None:
    """The recording state inside a new entry of the scope ``name`` (None inside no_grad)."""
    current = _STATE.get()
    return None if current is None else _Entry(name, current)


def within_scope(name: str, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` inside a new entry of the scope ``name``: what ``with scope(name):``
    does, as one call. nn opens a scope for every module call this way: it costs a quarter of
    the with-statement (0.35 µs against 1.5 µs, timeit; the with-statement also makes the Scope
    str it returns). micrograd's demo model opens 4 per sample this way, and its 33 neurons
    record theirs with :func:`neuron` (benchmarks/scopes.py measures what they cost a step).
    ``name`` is not checked: the caller's names are valid by construction."""
    token = _STATE.set(_inside(name))
    try:
        return function(*args)
    finally:
        _STATE.reset(token)


def current_scope() -> str:
    """The path of the scope being recorded in ("" outside every scope and inside no_grad)."""
    return (_STATE.get() or _TOP).scope


# --- what a module does at every call: leaves drawn afresh, statistics observed -----------------

Sampler = Callable[[int], "Sequence[float] | np.ndarray"]
"""``sampler(n)`` gives n numbers, drawn one after the other (a dropout mask, a module's state)."""

Update = Callable[[list[float]], None]
"""``update(data)`` takes the data of the observed nodes, in order, as floats."""


class Trace:
    """What :func:`draw` and :func:`observe` recorded inside :func:`tracing`, in call order:
    ``draws`` holds (sampler, the leaves it gave) per draw, ``observers`` (nodes, update) per
    observe. ``tinygrad_edu.compile`` reads it to replay both at every call."""

    __slots__ = ("draws", "observers")

    def __init__(self) -> None:
        self.draws: list[tuple[Sampler, list[Value]]] = []
        self.observers: list[tuple[list[Value], Update]] = []


_TRACE: ContextVar[Trace | None] = ContextVar("tinygrad_edu_trace", default=None)


@contextmanager
def tracing() -> Iterator[Trace]:
    """Within the block, :func:`draw` and :func:`observe` are recorded in the :class:`Trace` it
    gives, and ``observe`` defers its update (the replay calls it): how ``compile`` traces.

    A context variable like :func:`no_grad`; nests (the innermost block records).
    """
    trace = Trace()
    token = _TRACE.set(trace)
    try:
        yield trace
    finally:
        _TRACE.reset(token)


def draw(n: int, sampler: Sampler) -> list[Value]:
    """n new leaves whose data are the numbers ``sampler(n)`` gives: values drawn afresh at
    every call of a compiled function, where any other number made inside it is frozen.

    In the interpreter it is ``[Value(x) for x in sampler(n)]``. Inside a function compiled with
    ``tinygrad_edu.compile``, the replay calls ``sampler(n)`` again before every call and gives
    these leaves the new numbers, so a dropout mask is new at every step, drawn from the same
    random stream in the same order as the interpreter would draw it. ``nn.Dropout`` draws its
    mask this way (``rng.random() < p`` per entry), and ``nn.BatchNorm1d`` in evaluation reads
    its running statistics this way (a sampler need not be random: it is read at every call).
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"draw(n, sampler): n is how many leaves to draw, an int >= 0, not {n!r}")
    leaves = [Value(x) for x in sample(sampler, int(n))]
    trace = _TRACE.get()
    if trace is not None:
        trace.draws.append((sampler, leaves))
    return leaves


def sample(sampler: Sampler, n: int) -> list[float]:
    """``sampler(n)`` checked: n real numbers (a sequence or a 1-D numpy array), as floats."""
    if not callable(sampler):
        raise TypeError(f"a sampler is a function of n that gives n numbers, not {sampler!r}")
    data = sampler(n)
    if isinstance(data, np.ndarray):
        if data.ndim != 1:
            raise ValueError(_gave(sampler, n, f"an array of shape {data.shape}"))
        data = data.tolist()
    if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
        raise ValueError(_gave(sampler, n, f"a {type(data).__name__}"))
    if len(data) != n:
        raise ValueError(_gave(sampler, n, f"{len(data)}"))
    if all(type(x) is float for x in data):
        return list(data)
    try:
        return [to_float(x) for x in data]
    except TypeError as error:
        raise TypeError(f"sampler {_name_of(sampler)} gave a non-number: {error}") from None


def observe(nodes: Sequence[Value], update: Update) -> None:
    """``update([node.data for node in nodes])``: a side effect of the forward pass (a
    BatchNorm's running statistics moving towards the batch's) that a compiled function keeps.

    In the interpreter ``update`` is called at once. Inside a function compiled with
    ``tinygrad_edu.compile`` it is recorded instead, and every call of the compiled function
    (under ``no_grad`` too) calls it after its forward pass with the replayed data of the same
    nodes, so the statistics move at every step as the interpreter would move them.
    """
    if not isinstance(nodes, (list, tuple)):
        kind = type(nodes).__name__
        raise TypeError(f"observe(nodes, update): nodes is a list of Values, not a {kind}")
    observed = list(nodes)
    for i, node in enumerate(observed):
        if not isinstance(node, Value):
            raise TypeError(f"observe(nodes, update): nodes[{i}] is a {type(node).__name__}")
    if not callable(update):
        raise TypeError(f"observe(nodes, update): update is a function of a list, not {update!r}")
    trace = _TRACE.get()
    if trace is None:
        update([node.data for node in observed])
    else:
        trace.observers.append((observed, update))


def _gave(sampler: Sampler, n: int, what: str) -> str:
    return f"sampler {_name_of(sampler)} was asked for {n} numbers and gave {what}"


def _name_of(function: object) -> str:
    name = getattr(function, "__qualname__", None)
    return name if isinstance(name, str) else repr(function)


# --- plain numbers: the one definition the whole library uses -----------------------------------

_REAL = (int, float, np.integer, np.floating, np.bool_)


def is_number(x: object) -> TypeGuard[Number]:
    """True for a plain real number: int, float, bool, or a numpy integer, floating or bool
    scalar (``np.float32(0.5)``, ``np.int64(3)``, ``np.bool_(True)``).

    Not a Value, a complex number, a string, an array (even of one element), None, or a numpy
    timedelta (an integer subclass that is a duration, not a number). Infinity and nan are
    numbers; check ``math.isfinite`` where only finite ones make sense.
    """
    return isinstance(x, _REAL) and not isinstance(x, np.timedelta64)


def to_float(x: object) -> float:
    """A plain number (see :func:`is_number`) as a Python float.

    Anything else is a TypeError naming its type. An integer beyond the largest float
    (about 1.8e308) is an OverflowError that gives its size, not all of its digits.
    """
    if not is_number(x):
        raise TypeError(
            f"expected a real number (int, float, bool or numpy scalar), not {type(x).__name__}"
        )
    try:
        return float(x)
    except OverflowError:
        size = math.log10(abs(int(x)))  # math.log10 takes integers of any size
        raise OverflowError(
            f"an integer of about 10**{size:.0f} is too large for a float "
            "(the largest is about 1.8e308)"
        ) from None


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

    __slots__ = ("data", "grad", "label", "op", "_entry", "_a", "_b", "__weakref__")

    data: float
    grad: float
    label: str
    op: str
    _entry: _Entry
    _a: Value | None
    _b: Value | None

    def __init__(self, data: Number, label: str = "") -> None:
        """A leaf holding ``data`` (a real number, stored as a float), optionally named."""
        self.data = data if type(data) is float else to_float(data)
        self.grad = 0.0
        if type(label) is not str:
            raise TypeError(f"a Value's label is a str, not {type(label).__name__}")
        self.label = label
        self.op = ""
        self._entry = _STATE.get() or _TOP
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
        return _node(_FORWARD[op](self.data), op, self)

    def _binary(self, op: str, other: Operand) -> Value:
        if not isinstance(other, Value):
            other = Value(other)
        return _node(_FORWARD[op](self.data, other.data), op, self, other)

    def _reflected(self, op: str, other: Number) -> Value:
        """``other <op> self`` for a plain number ``other`` on the left."""
        return Value(other)._binary(op, self)

    # --- arithmetic: + - * / ** and unary - ----------------------------------------------

    def __add__(self, other: Operand) -> Value:
        """x + y; d/dx = 1, d/dy = 1."""
        if not isinstance(other, Value):
            other = Value(other)
        # + and * are most of the nodes of the arithmetic a learner writes: their float
        # arithmetic is inline (no table lookup, no call), so a chain y = y * a + b builds in
        # 0.85x the time (timeit).
        return _node(self.data + other.data, "+", self, other)

    def __mul__(self, other: Operand) -> Value:
        """x * y; d/dx = y, d/dy = x."""
        if not isinstance(other, Value):
            other = Value(other)
        return _node(self.data * other.data, "*", self, other)

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

    def backward(self) -> None:
        """Chain rule from this node: for every node n reachable from it, n.grad += d self / d n.

        Seeds d self/d self = 1, then visits nodes in reverse topological order so that each
        gradient is complete before it is passed to the node's inputs. Gradients accumulate:
        call ``zero_grad`` (or set ``.grad = 0``) between steps, as in PyTorch.

        A local derivative of exactly 0 passes nothing on, whatever arrives from above (0·inf
        counts as 0): ``x = Value(-1.0); x.relu().sqrt().backward()`` leaves ``x.grad == 0.0``,
        the true derivative, although sqrt'(0) is +inf.
        """
        order = topological_order(self)
        # Gradients left by an earlier backward() are set aside, so that this pass propagates
        # only its own contributions, then added back: every .grad accumulates exactly.
        earlier = [(node, node.grad) for node in order if node.grad]
        for node, _ in earlier:
            node.grad = 0.0
        self.grad = 1.0
        _propagate(order)
        for node, g in earlier:
            node.grad += g


class Parameter(Value):
    """A trainable leaf: a Value that an optimiser updates. Every nn Module's weights and biases
    are Parameters, and a diagram draws a Parameter as a parameter whatever its label.

    It is a Value in every other way (``Parameter(0.5, "w") * x`` records as usual).
    """

    __slots__ = ()


_new = object.__new__


def _bare(kind: type[Value], data: float, grad: float, label: str, op: str, entry: _Entry) -> Value:
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


def _node(data: float, op: str, a: Value, b: Value | None = None) -> Value:
    """The result of ``op`` applied to a (and b): a node that remembers them, or, under
    ``no_grad``, a leaf.

    This is the hottest function of the engine, so it fills the slots itself instead of calling
    ``Value(...)``: the data is already a float and needs no checking, and skipping the class
    call and ``__init__`` records an operation in about 235 ns instead of 270 ns (timeit).
    """
    out: Value = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    recording = _STATE.get()
    # One statement per slot: a four-name tuple assignment builds and unpacks a tuple, which made
    # micrograd's demo step 15% slower here and in weighted_sum (timeit, and the step A/B).
    if recording is not None:
        out.op = op
        out._entry = recording
        out._a = a
        out._b = b
    else:
        out.op = ""
        out._entry = _TOP
        out._a = None
        out._b = None
    return out


def weighted_sum(weights: Sequence[Value], inputs: Sequence[Operand], start: Value) -> Value:
    """start + w0*x0 + w1*x1 + ... : a neuron's pre-activation, the same graph and the same
    numbers as writing the expression out (a * node, then a + node, per term, left to right).

    Every neuron of a network spends most of its time here, so the loop builds its nodes
    directly, without going through ``__mul__`` and ``__add__`` for each term (a Python method
    call per operator is what costs most): micrograd's demo step gets 7-10% faster
    (benchmarks/moons_step.py's step, with and without it, side by side). A plain
    number among the inputs becomes a constant, as it would in ``w * 2.0``.
    """
    return _weighted_sum(weights, inputs, start, _STATE.get())


def _weighted_sum(
    weights: Sequence[Value], inputs: Sequence[Operand], start: Value, recording: _Entry | None
) -> Value:
    """weighted_sum's nodes, recorded in the entry ``recording`` (None: nothing recorded)."""
    total = start
    for w, x in zip(weights, inputs):
        if not isinstance(x, Value):
            x = Value(x)
            x._entry = recording or _TOP
        product = _new(Value)
        product.data = w.data * x.data
        product.grad = 0.0
        product.label = ""
        added = _new(Value)
        added.data = total.data + product.data
        added.grad = 0.0
        added.label = ""
        if recording is not None:  # one statement per slot, as in _node
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
            product._entry = added._entry = _TOP
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
    (and its constant operand, such as leaky_relu's slope) is moved into it. micrograd's demo
    step computes 3,300 neurons: opening a scope for each with ``within_scope`` made the step
    3-4% slower than this way (the two side by side; benchmarks/scopes.py measures what scopes
    cost in all). ``activation`` is one operation applied to the sum whose other operands are
    numbers (``Value.relu``, ``Value.tanh``, ``lambda v: v.leaky_relu(0.1)``), or the identity.
    """
    outer = _STATE.get()
    if outer is None:
        return activation(weighted_sum(weights, inputs, bias))
    entry = _Entry(name, outer)
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


def _data(x: Operand) -> float:
    return x.data if isinstance(x, Value) else to_float(x)


def topological_order(root: Value) -> list[Value]:
    """Every node reachable from ``root``, each after all of its inputs (``root`` last).

    Depth-first with an explicit stack, never recursion. Opening a node pushes the node, a
    marker, then its inputs: the marker surfaces once everything above it (the inputs and all
    they depend on) is placed, and says "place the node under me". Inputs are visited in
    argument order, so the order is the same on every run (``x * w`` places ``x`` before ``w``).
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
        open_(node)
        push(node)
        push(None)
        b, a = node._b, node._a
        if b is not None and b not in opened:
            push(b)
        if a is not None and a not in opened:
            push(a)  # pushed last, popped first: a's subgraph before b's
    return order


def _propagate(order: list[Value]) -> None:
    """The chain rule on floats, outputs first: input.grad += local derivative * node.grad."""
    for node in reversed(order):
        a = node._a
        if a is None:
            continue  # a leaf: nothing to pass on
        g = node.grad
        op = node.op
        b = node._b
        # Fast path: + and * are most nodes of a network, so their rules from the table,
        # (1, 1) and (y, x), are applied inline here instead of through local_derivatives:
        # without it micrograd's demo step takes 1.6-1.7x as long (measured side by side). A
        # test checks that it agrees with the table bit for bit.
        if op == "+":
            a.grad += g
            b.grad += g  # type: ignore[union-attr]
            continue
        if op == "*":
            # A factor of exactly 0 passes nothing on (see below); `if` also skips the work.
            if b.data:  # type: ignore[union-attr]
                a.grad += b.data * g  # type: ignore[union-attr]
            if a.data:
                b.grad += a.data * g  # type: ignore[union-attr]
            continue
        local = local_derivatives(node)
        # A local derivative of exactly 0 passes nothing on, whatever arrives from above: relu
        # below zero stays flat even when sqrt(0) above it sends +inf (0 · inf would be nan).
        if local[0]:
            a.grad += local[0] * g
        if b is not None and local[1]:
            b.grad += local[1] * g


def local_derivatives(node: Value) -> tuple[float, ...]:
    """The chain-rule factors at ``node``: d node / d input for each of ``node.inputs``, as floats.

    These are the numbers ``backward()`` multiplies by ``node.grad`` (``()`` for a leaf). Where
    Python floats raise but IEEE 754 has an answer (sqrt'(0) = 0.5 / 0 = inf), the rule is
    evaluated again on constant Values in IEEE mode.
    """
    a, b = node._a, node._b
    if a is None:
        return ()
    if b is None:
        return local_derivatives_at(node.op, a.data, node.data)
    return local_derivatives_at(node.op, a.data, b.data, node.data)


def local_derivatives_at(op: str, *data: float) -> tuple[float, ...]:
    """The chain-rule factors of the operation ``op`` at given numbers: ``data`` is the inputs'
    data then the output's (``x, out`` or ``x, y, out``, as a rule takes them), and the result is
    d out / d input for each input, as floats: what :func:`local_derivatives` reads off a node.

    The compiled replay evaluates a rule that cannot run on arrays through this, one node at a time.
    """
    rule = _DERIVATIVE[op]
    try:
        local = rule(*data)
    except (ArithmeticError, ValueError):
        with ieee_arithmetic(), no_grad():
            local = rule(*(Value(x) for x in data))
    return (float(local),) if len(data) == 2 else (float(local[0]), float(local[1]))


# --- your own operations ----------------------------------------------------------------------


def define_op(
    name: str,
    forward: Callable[..., float],
    derivative: Callable[..., Any],
    *,
    formula: str = "",
) -> Callable[..., Value]:
    """Add an operation to the table and return the function that applies it to Values.

    ``forward`` computes out = f(x) (or f(x, y)) on floats; its number of parameters, one or two,
    is the operation's number of inputs. ``derivative`` follows the built-in rules' shape:
    ``(x, out) -> d out/dx``, or ``(x, y, out) -> (d out/dx, d out/dy)``. Write it with
    arithmetic and functions that work on floats and on Values alike (``+ - * / **``,
    ``tinygrad_edu.ops.where``), and ``grad()`` can differentiate it again::

        cube = define_op("cube", lambda x: x**3, lambda x, out: 3 * x**2, formula="d/dx = 3x²")
        y = cube(Value(2.0))            # 8.0; y.backward() gives 12.0

    ``backward``, ``grad``, ``compile``, ``check_grad`` and the diagrams treat it as a built-in
    (``formula`` is shown in the animation's captions). Defining a name again replaces the
    earlier definition (re-running a notebook cell); a built-in's name is a ValueError.
    """
    if name in BUILTINS:
        raise ValueError(f"{name!r} is a built-in operation and cannot be redefined")
    if type(name) is not str or not name.isidentifier():
        raise ValueError(f"an operation's name is an identifier such as 'cube', not {name!r}")
    if not callable(forward) or not callable(derivative):
        raise TypeError(
            "define_op(name, forward, derivative): forward and derivative are functions"
        )
    if type(formula) is not str:
        raise TypeError(f"formula is a str, not {type(formula).__name__}")
    arity = _positional_count(forward, f"{name}'s forward", (1, 2), "(x) or (x, y)")
    shape = "(x, out)" if arity == 1 else "(x, y, out)"
    _positional_count(derivative, f"{name}'s derivative", (arity + 1,), shape)

    def on_floats(*xs: float) -> float:
        out = forward(*xs)
        if isinstance(out, bool) or not isinstance(out, (int, float, np.floating, np.integer)):
            raise TypeError(f"{name}'s forward must return a real number, not {type(out).__name__}")
        return float(out)

    OPS[name] = Op(on_floats, derivative, arity, formula)
    _FORWARD[name] = on_floats
    _DERIVATIVE[name] = derivative

    def apply(*args: Operand) -> Value:
        # The table's current row, not this definition's: after a name is defined again, every
        # function that applies it computes and differentiates the same operation.
        current = OPS[name]
        if len(args) != current.arity:
            raise TypeError(f"{name} takes {current.arity} argument(s), got {len(args)}")
        inputs = [a if isinstance(a, Value) else Value(a) for a in args]
        return _node(current.forward(*(v.data for v in inputs)), name, *inputs)

    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = f"{name}, an operation defined with define_op. {formula}".strip()
    return apply


def _positional_count(
    function: Callable[..., Any], what: str, allowed: tuple[int, ...], expected: str
) -> int:
    """How many positional arguments ``function`` takes, which must be one of ``allowed``.

    Where that cannot be read (a builtin without a signature, or ``*args``) and there is a
    choice to make, a ValueError asks for a function that says it; with one choice, it is taken.
    """
    unknown = ValueError(
        f"cannot tell how many arguments {what} takes; expected {expected}: wrap it, e.g."
        " lambda x, y: math.hypot(x, y)"
    )
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature
        if len(allowed) > 1:
            raise unknown from None
        return allowed[0]
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if any(p.kind == p.VAR_POSITIONAL for p in parameters) and len(positional) not in allowed:
        if len(allowed) > 1:
            raise unknown
        return allowed[0]
    if len(positional) not in allowed:
        raise ValueError(f"{what} takes {len(positional)} argument(s); expected {expected}")
    return len(positional)


# --- derivatives as Values, to any order -------------------------------------------------


@overload
def grad(y: Value, x: Value) -> Value: ...
@overload
def grad(y: Value, x: Sequence[Value]) -> list[Value]: ...
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
            local = _DERIVATIVE[node.op](*inputs, node)
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
