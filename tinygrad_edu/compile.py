"""The compiled replay: a function's graph of scalars, traced once and replayed as a numpy program.

The interpreter spends about a microsecond of Python on every node it records and on every node
it walks back through, and almost none of it is arithmetic. ``compile(fn)`` keeps every node a
scalar of the same graph and moves only that bookkeeping out of Python::

    fast = tinygrad_edu.compile(loss_fn)
    for xb, yb in batches:
        loss = fast(xb, yb)          # the same Value-shaped result as loss_fn(xb, yb)
        model.zero_grad()
        loss.backward()              # adds into every parameter's .grad, as the interpreter does
        opt.step()

How a graph of scalars becomes a few hundred vector operations:

1. **Trace.** The first call runs ``fn`` once in the interpreter, on Values made from the floats
   of its arguments, and reads the graph it built through the public walk
   (``topological_order``, ``op``, ``inputs``, ``data``).
2. **Schedule.** A node's *depth* is the length of the longest path from a leaf to it; every
   input of a node is shallower than the node. So all nodes of one depth and one operation can be
   computed at once, by one numpy call on arrays: a network's products ``w * x`` are one call,
   the first ``+`` of every neuron's sum another. The nodes are numbered group after group, so
   each group's results fill one contiguous slice of a single float64 array of values.
3. **Gather.** A group's operands are read from that array with an index array per input
   (``values[a]``), or with a plain slice where the indices happen to be consecutive.
4. **Forward.** ``values[group] = op.on_arrays(values[a], values[b])``, group after group.
5. **Backward.** Groups in reverse: each evaluates its operation's derivative rule, the very
   rule of ``ops.OPS`` that ``backward()`` evaluates on floats, on the arrays, and multiplies by
   the group's gradients. Where one node feeds many nodes of a group (a weight, for every sample
   of the batch), the contributions are summed per node by ``np.add.reduceat`` over the group's
   input indices, sorted once at compile time; where every node appears once, a fancy-index
   ``+=`` does.

A group of fewer than :data:`NARROW` nodes (a long chain, a loss summed sample after sample)
is computed node by node with the interpreter's float rules instead, since a numpy call costs as
much as a few nodes of Python: a graph deeper than it is wide replays no slower than the
interpreter.

No Python object stands for a node in the program: a node is an entry of a few arrays (its
value, its gradient, its position in its group's index arrays), about 24 bytes
(``benchmarks/compiled.py``). Every call computes in arrays of its own, so calls from several
threads at once are safe, an earlier result still backpropagates after a later call, and a call
that fails (a domain error) leaves the earlier results and the model as they were.

What is frozen at trace time, as ``torch.jit.trace`` freezes it:

* **Constants made inside fn** (``2 * x``, ``Value(1.0)``, a number a model turns into a leaf)
  keep the value they had when traced, and so do numbers computed from data during the trace
  (``max(x.data for x in xs)``).
* **Python control flow** (``if x.data > 0:``, a loop over a count taken from the data):
  the replay repeats the branch taken when tracing.
* **Randomness and side effects** that fn's own Python code performs (``random.random()``
  turned into a constant, a list appended to) and a module's train or eval mode happen once,
  while tracing.

Everything else is read afresh at every call: the floats of the arguments, and the ``data`` of
every **parameter** (a leaf Value that existed before the call and that ``fn`` reaches, an
``nn.Parameter`` or any other Value), so an optimiser works unchanged. A Value that was
*computed* before the call (a weight tied as ``w2 = w * 2`` at setup) is read the same way, as
the interpreter reads it: its current ``data``; ``backward()`` still passes its gradient on to
what it was computed from, as the interpreter's does.

Never a wrong number without an error: the program is traced again when the key of the cache
changes, and the key holds, besides the structure of the arguments, the ``training`` flag of
every nn Module ``fn`` reaches (through its closure, globals, a bound method's object...), so
``model.eval()`` traces again; a program whose operations were redefined (``define_op`` run
again) is traced again; the largest score that log-sum-exp and softmax subtract is a
``maximum`` node, recomputed at every call; and an entry outside an operation's domain raises
the interpreter's error, with the same type and message. Integers (and integer
arrays) in the arguments are **static**: passed to ``fn`` as they are and part of the key of the
cache, so a class index may decide the graph's structure; a call with a new structure (another
batch size, other static values) traces again, and each structure keeps its own program.

Two engine mechanisms carry randomness and side effects through the replay (``nn.Dropout`` and
``nn.BatchNorm1d`` use them, and so can a module of one's own):

* **Drawn leaves**, ``tinygrad_edu.draw(n, sampler)``: leaves whose numbers come from
  ``sampler(n)``. The trace records each draw with its sampler; before every later call the
  program calls the samplers again, in the order fn drew, and gives the leaves the new numbers.
  A dropout mask is new at every step, and the random stream moves exactly as it would under
  the interpreter (the first call uses what the trace drew).
* **Observers**, ``tinygrad_edu.observe(nodes, update)``: the trace records them instead of
  calling them, and every call (under ``no_grad`` too) calls ``update`` with the replayed data
  of those nodes after its forward pass, in the order fn observed: a BatchNorm's running
  statistics move at every compiled step as they would in the interpreter.

``check=True`` runs ``fn`` in the interpreter as well on every call and, when the results
differ, names the node where the two graphs first part. That run draws the random numbers (the
replay then computes from the same ones, so both are compared on the same mask, and the stream
still moves once per call) and leaves its observers to the replay (they are called once).
"""

from __future__ import annotations

import functools
import gc
import math
import threading
import time
import types
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from operator import attrgetter
from typing import Any, NamedTuple

import numpy as np

from .engine import Value, local_derivatives, local_derivatives_at
from .hooks import Sampler, Trace, Update, sample, tracing
from .nn import Module
from .ops import OPS, PARTIAL, Op
from .recording import Scope, enable_grad, is_grad_enabled, scope
from .scalars import is_number

__all__ = ["compile", "Compiled", "CompiledValue", "Program", "Step"]

CACHE_SIZE = 8
"""How many programs (argument structures) one compiled function keeps, the most recent first."""

RTOL, ATOL = 1e-9, 1e-12
"""``check=True``: a replayed value agrees with the interpreter's when within these tolerances."""

_data = attrgetter("data")
_INDEX = np.int32  # node positions: 4 bytes each, so a program holds up to 2**31 - 1 nodes


# --- the arguments: floats are traced, integers are static ---------------------------------------


def _key(x: object, floats: list[Any], where: str) -> Hashable:
    """The structure of one argument, as a hashable key; its floats are appended to ``floats``.

    A float (Python or numpy) is an input of the trace; an int, bool or numpy integer is static
    (its value is part of the key); lists and tuples keep their shape; a float array is an array
    of inputs, an integer or bool array is static.
    """
    if isinstance(x, (float, np.floating)):
        floats.append(x)
        return float
    if is_number(x):
        return (type(x), x)
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "f":
            floats.append(x)
            return ("floats", x.shape)
        if x.dtype.kind in "biu":
            return ("static", x.dtype.str, x.shape, x.tobytes())
        raise TypeError(f"{where} is a numpy array of {x.dtype}; {_ARGUMENTS}")
    if isinstance(x, (list, tuple)):
        # Fast paths for the usual rows of data (all floats) and of labels (all ints).
        if all(type(item) is float for item in x):
            floats.extend(x)
            return (type(x), float, len(x))
        if all(type(item) is int for item in x):
            return (type(x), int, tuple(x))
        return (type(x), tuple(_key(item, floats, f"{where}[{i}]") for i, item in enumerate(x)))
    if isinstance(x, Value):
        raise TypeError(
            f"{where} is a Value; {_ARGUMENTS}. A Value that fn uses is a parameter: let fn"
            " reach it (a model's attribute, a variable it closes over) instead of passing it"
        )
    raise TypeError(f"{where} is a {type(x).__name__}; {_ARGUMENTS}")


_ARGUMENTS = (
    "a compiled function takes numbers (floats are traced, integers are static), lists and tuples"
    " of them, and numpy arrays of numbers"
)


def _flat(floats: list[Any]) -> np.ndarray:
    """The floats of the arguments, in order, as one float64 array (arrays in row-major order)."""
    parts: list[np.ndarray] = []
    run: list[float] = []
    for x in floats:
        if isinstance(x, np.ndarray):
            if run:
                parts.append(np.array(run, dtype=np.float64))
                run = []
            parts.append(np.ravel(x))
        else:
            run.append(x)
    if run:
        parts.append(np.array(run, dtype=np.float64))
    return np.concatenate(parts).astype(np.float64, copy=False) if parts else np.empty(0)


def _traced(x: Any, inputs: list[Value]) -> Any:
    """``x`` with every float replaced by a new Value (appended to ``inputs``, in the order of
    :func:`_flat`): a float array becomes an object array of Values of the same shape."""
    if isinstance(x, (float, np.floating)):
        inputs.append(Value(x))
        return inputs[-1]
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        made = [Value(v) for v in np.ravel(x).tolist()]
        inputs.extend(made)
        array = np.empty(len(made), dtype=object)
        array[:] = made
        return array.reshape(x.shape)
    if isinstance(x, (list, tuple)):
        return type(x)(_traced(item, inputs) for item in x)
    return x  # static: an int, a bool, an integer array


# --- the result: a Value, or lists, tuples and object arrays of them ------------------------------


def _results(result: object, found: list[Value]) -> Hashable:
    """The shape of what ``fn`` returned, as a key; its Values are appended to ``found``."""
    if isinstance(result, Value):
        found.append(result)
        return Value
    if isinstance(result, (list, tuple)):
        return (type(result), tuple(_results(item, found) for item in result))
    if isinstance(result, np.ndarray) and result.dtype == object:
        items = result.ravel().tolist()
        if all(isinstance(item, Value) for item in items):
            found.extend(items)
            return (np.ndarray, result.shape)
    raise TypeError(f"{_RETURN}; it returned {_describe(result)}")


_RETURN = (
    "fn must return a Value (the loss, say), or a tuple or list of Values (or a numpy array of"
    " them), built from its arguments and parameters"
)


def _describe(x: object) -> str:
    if isinstance(x, (list, tuple)):
        kinds = sorted({type(item).__name__ for item in x})
        return f"a {type(x).__name__} of {', '.join(kinds) or 'nothing'}"
    return f"a {type(x).__name__}"


def _rebuild(shape: Hashable, values: Iterator[Value]) -> Any:
    """The structure ``shape`` (from :func:`_results`) filled with ``values``, in order."""
    if shape is Value:
        return next(values)
    kind: Any
    inner: Any
    kind, inner = shape  # type: ignore[misc]
    if kind is np.ndarray:
        size = math.prod(inner)
        array = np.empty(size, dtype=object)
        array[:] = [next(values) for _ in range(size)]
        return array.reshape(inner)
    return kind(_rebuild(item, values) for item in inner)


# --- the graph, read through the public walk ---------------------------------------------------


class _Graph(NamedTuple):
    """A traced graph as arrays, in topological order (position i is ``nodes[i]``).

    ``op`` codes index ``names`` (code 0, "", is a leaf); ``a`` and ``b`` are the positions of
    a node's first and second inputs (-1 for none); ``outputs`` the positions of fn's results.
    """

    nodes: list[Value]
    names: list[str]
    op: np.ndarray
    a: np.ndarray
    b: np.ndarray
    data: np.ndarray
    outputs: np.ndarray


def _read_graph(results: list[Value], made_here: object) -> _Graph:
    """Every node that ``results`` depend on, as arrays in topological order; ``outputs`` holds
    the positions of ``results`` (fn's results, then the nodes it observed).

    A node that fn did not record (computed before the call, outside the scope ``made_here``)
    is read as a leaf, as the interpreter reads it: its current ``data``, not recomputed from
    what it was computed from (a weight tied as ``w2 = w * 2`` at setup keeps its number until
    it is computed again)."""
    nodes, outside = _reachable(results, _Inside(made_here))
    n = len(nodes)
    if n >= np.iinfo(_INDEX).max:
        raise ValueError(f"a graph of {n:,} nodes is too large to compile")
    codes: dict[str, int] = {"": 0}
    ops = ("" if node in outside else node.op for node in nodes)
    op = np.fromiter((codes.setdefault(name, len(codes)) for name in ops), np.int16, n)
    data = np.fromiter(map(_data, nodes), np.float64, n)
    # Positions by identity, found with a sorted array of ids rather than a dict: a dict of
    # millions of nodes would cost about a hundred bytes per node while tracing.
    ids = np.fromiter(map(id, nodes), np.uintp, n)
    by_id = np.argsort(ids)
    pairs = (_NO_INPUTS if node in outside else _input_ids(node) for node in nodes)
    inputs = np.fromiter(chain.from_iterable(pairs), np.uintp, 2 * n)
    found = by_id[np.searchsorted(ids, inputs, sorter=by_id).clip(0, n - 1)]
    positions = np.where(inputs == 0, -1, found).reshape(n, 2)
    outputs = by_id[np.searchsorted(ids, np.fromiter(map(id, results), np.uintp), sorter=by_id)]
    return _Graph(nodes, list(codes), op, positions[:, 0], positions[:, 1], data, outputs)


_NO_INPUTS = (0, 0)


def _input_ids(node: Value) -> tuple[int, int]:
    inputs = node.inputs
    return (id(inputs[0]) if inputs else 0, id(inputs[1]) if len(inputs) > 1 else 0)


def _reachable(
    results: list[Value], inside: Callable[[Value], bool]
) -> tuple[list[Value], set[Value]]:
    """The nodes the results depend on, each after its inputs (depth first with an explicit
    stack, as ``topological_order``), not walking below a node that is not ``inside`` (one fn
    did not record); and the set of those nodes (Values computed outside fn: read as leaves)."""
    order: list[Value] = []
    outside: set[Value] = set()
    opened: set[Value] = set()
    stack: list[Value | None] = list(reversed(results))
    while stack:
        node = stack.pop()
        if node is None:
            order.append(stack.pop())  # type: ignore[arg-type]
            continue
        if node in opened:
            continue
        opened.add(node)
        stack += (node, None)
        if not node.op:
            continue
        if not inside(node):
            outside.add(node)
            continue
        stack += [x for x in reversed(node.inputs) if x not in opened]
    return order, outside


class _Inside:
    """Whether a node was recorded inside the scope entry ``made_here`` (any depth below it),
    remembered per entry: the nodes of one module call share one."""

    def __init__(self, made_here: object) -> None:
        self.made_here = made_here
        self.known: dict[int, tuple[object, bool]] = {}

    def __call__(self, node: Value) -> bool:
        where = node.scope
        known = self.known.get(id(where))
        if known is None:
            known = self.known[id(where)] = (where, _within(where, self.made_here))
        return known[1]


def _depths(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each node's depth: 0 for a leaf, else 1 + the largest depth of its inputs.

    Level by level (Kahn's algorithm): the nodes of depth d + 1 are those consumers of depth-d
    nodes whose last input has just been placed. Vectorised per level, so a graph of millions
    of nodes and a thousand levels takes a few thousand numpy calls, not a Python step per node.
    """
    n = len(a)
    edges_from = np.concatenate([a, b])
    edges_to = np.concatenate([np.arange(n), np.arange(n)])
    keep = edges_from >= 0
    edges_from, edges_to = edges_from[keep], edges_to[keep]
    by_source = np.argsort(edges_from, kind="stable")
    consumers = edges_to[by_source]
    first = np.searchsorted(edges_from[by_source], np.arange(n + 1))  # consumers of i: first[i]:
    waiting = (a >= 0).astype(np.int8) + (b >= 0)
    depth = np.zeros(n, np.int32)
    level = np.flatnonzero(waiting == 0)
    d = 0
    while level.size:
        d += 1
        lo, counts = first[level], first[level + 1] - first[level]
        # the ranges lo[i] : lo[i] + counts[i], concatenated
        edges = np.repeat(lo - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
        reached, times = np.unique(consumers[edges], return_counts=True)
        waiting[reached] -= times.astype(np.int8)
        level = reached[waiting[reached] == 0]
        depth[level] = d
    return depth


# --- the program ---------------------------------------------------------------------------------


class Step(NamedTuple):
    """One vectorised operation of a program: ``size`` nodes of operation ``op`` at ``depth``."""

    depth: int
    op: str
    size: int


Index = slice | np.ndarray
"""Positions in the value array: a slice where they are consecutive, else an int32 array."""


class _Input(NamedTuple):
    """One input of a group: where its operand is read, and how its gradient is sent back.

    ``read`` gathers the operand (one position per node of the group). ``needed`` is False when
    no gradient has to reach these inputs (they are the function's arguments or constants, or
    depend only on them). To add the contributions: with ``starts`` None every input node
    appears once, and ``grads[targets] += c`` does; otherwise ``c`` is put in sorted order by
    ``order`` (None: already sorted) and summed over the segments beginning at ``starts``, one
    per distinct input node, ``targets`` in the same order.
    """

    read: Index
    needed: bool
    order: np.ndarray | None
    starts: np.ndarray | None
    targets: Index


class _Group(NamedTuple):
    """``stop - start`` nodes of one operation at one depth, computed by one call."""

    op: str
    depth: int
    start: int
    stop: int
    inputs: tuple[_Input, ...]
    forward: Callable[..., np.ndarray]
    derivative: Callable[..., tuple[Any, ...]]
    constant: tuple[float, ...] | None  # the local derivatives, where the rule is a constant
    needed: bool


def _index(positions: np.ndarray) -> Index:
    """A slice when ``positions`` are consecutive, else the positions as int32."""
    consecutive = positions.size and positions[-1] - positions[0] == positions.size - 1
    if consecutive and (positions.size == 1 or bool(np.all(np.diff(positions) == 1))):
        return slice(int(positions[0]), int(positions[-1]) + 1)
    return positions.astype(_INDEX)


def _positions(index: Index) -> np.ndarray:
    """The positions an index stands for, as an array."""
    if isinstance(index, slice):
        return np.arange(index.start, index.stop)
    return index


def _input(read: np.ndarray, needed: bool) -> _Input:
    """How a group reads its operand at ``read`` and sends gradients back there."""
    if not needed:
        return _Input(_index(read), False, None, None, read[:0])
    ascending = bool(np.all(read[1:] >= read[:-1]))
    order = None if ascending else np.argsort(read, kind="stable").astype(_INDEX)
    in_order = read if order is None else read[order]
    starts = np.flatnonzero(np.concatenate([[True], in_order[1:] != in_order[:-1]]))
    if starts.size == read.size:  # every input node once: a plain fancy-index +=
        return _Input(_index(read), True, None, None, _index(read))
    return _Input(_index(read), True, order, starts.astype(_INDEX), _index(in_order[starts]))


def _forward_on_arrays(name: str) -> Callable[..., np.ndarray]:
    """The forward of operation ``name`` on arrays: its numpy form, or, for an operation
    defined with ``define_op``, its float forward applied element by element.

    The numpy form runs with division by zero and invalid operations raising: where one
    happens the group is computed again element by element with the float forward, which
    raises exactly the error the interpreter raises (log of a negative number), or returns
    the IEEE result where the interpreter does too (inf - inf is nan). IEEE arithmetic gives
    some results without a flag where the interpreter raises (inf / 0 is inf, (-inf) ** 0.5
    is inf): so for the operations whose forward can raise (``ops.PARTIAL``), the entries that
    came out inf or nan are computed again by the float forward, which raises if it must.
    """
    operation = OPS[name]
    on_floats = operation.forward
    on_arrays = operation.on_arrays
    if on_arrays is None:
        return lambda *xs: _elementwise(on_floats, xs)
    partial = name in PARTIAL

    def forward(*xs: np.ndarray) -> np.ndarray:
        try:
            out = on_arrays(*xs)
        except FloatingPointError:
            return _elementwise(on_floats, xs)
        # One sum tells whether every entry is finite (a sum that overflows only makes the
        # check below look, and find nothing).
        if partial and not math.isfinite(np.add.reduce(out)):
            odd = np.flatnonzero(~np.isfinite(out))
            out[odd] = _elementwise(on_floats, [x[odd] for x in xs])
        return out

    return forward


def _elementwise(on_floats: Callable[..., float], xs: Sequence[np.ndarray]) -> np.ndarray:
    """on_floats applied node by node: out[i] = on_floats(xs[0][i], xs[1][i], ...)."""
    size = len(xs[0])
    return np.fromiter(map(on_floats, *(x.tolist() for x in xs)), np.float64, size)


def _derivative_on_arrays(name: str) -> Callable[..., tuple[Any, ...]]:
    """The local derivative rule of ``name`` evaluated on arrays: a tuple with one entry per
    input, each an array or a plain number (a constant rule such as +'s 1.0).

    Every rule of the table runs on arrays. A rule of one's own that was written for floats
    (``math.cos(x)``, ``1.0 if x > 0 else 0.0``) fails on them; it is then evaluated one node
    at a time by ``local_derivatives_at``, exactly as ``backward()`` evaluates it.
    """
    rule = OPS[name].derivative
    arity = OPS[name].arity

    def derivative(*xs: np.ndarray) -> tuple[Any, ...]:
        try:
            local = rule(*xs)
        except Exception:  # any failure means: not written for arrays
            rows = [local_derivatives_at(name, *row) for row in zip(*(x.tolist() for x in xs))]
            return tuple(np.array(rows, dtype=np.float64).reshape(len(rows), arity).T)
        return (local,) if arity == 1 else tuple(local)

    return derivative


def _constant(derivative: Callable[..., tuple[Any, ...]], arity: int) -> tuple[float, ...] | None:
    """The local derivatives of a rule that gives plain numbers on arrays (+ gives 1.0 and
    1.0, whatever x and y are): then backward needs no operands. None for any other rule."""
    try:
        with np.errstate(all="ignore"):
            # two different numbers per operand: a rule that branches in Python fails here
            local = derivative(*[np.array([0.5, 2.0])] * (arity + 1))
    except Exception:  # a rule that cannot run here is not a constant
        return None
    if any(isinstance(d, np.ndarray) or not is_number(d) for d in local):
        return None
    return tuple(float(d) for d in local)


def _contribution(d: Any, g: np.ndarray) -> np.ndarray | None:
    """d * g, what a group passes to one of its inputs; None when nothing is passed.

    A local derivative of exactly 0 passes nothing on, whatever g is (0 * inf would be nan):
    the convention of ``backward()``. Only an infinite or nan g can tell the difference.
    """
    if not isinstance(d, np.ndarray):
        d = float(d)
        if d == 0.0:
            return None
        return g if d == 1.0 else d * g
    c: np.ndarray = np.multiply(d, g)
    if not math.isfinite(float(np.add.reduce(g))):
        c = np.where(d == 0, 0.0, c)
    return c


def _scatter(grads: np.ndarray, into: _Input, c: np.ndarray) -> None:
    """grads[input] += c for every node of the group, summing where an input node repeats."""
    if into.starts is None:
        grads[into.targets] += c
    else:
        sorted_c = c if into.order is None else c[into.order]
        grads[into.targets] += np.add.reduceat(sorted_c, into.starts)


class _Layout(NamedTuple):
    """What ``check=True`` compares a new interpreter run against: the traced graph's shape."""

    names: list[str]
    op: np.ndarray
    a: np.ndarray
    b: np.ndarray
    position: np.ndarray  # the traced node i is values[position[i]]
    parameters: list[int]  # where the parameters are in topological order
    shape: Hashable


class _Leaves(NamedTuple):
    """The traced graph's leaves by kind, as positions in topological order: the parameters
    (leaves fn did not make), the arguments' floats and the drawn leaves, in the order of the
    trace (-1 for one the graph does not hold), and the constants (leaves recorded inside fn's
    scope)."""

    parameters: list[int]
    inputs: np.ndarray
    drawn: np.ndarray
    constants: list[int]


def _leaves(graph: _Graph, run: _Run) -> _Leaves:
    """The traced graph's leaves, by kind (see :class:`_Leaves`)."""
    drawn_leaves = _drawn_leaves(run.trace)
    index = {id(v): (0, k) for k, v in enumerate(run.inputs)}
    index.update((id(v), (1, k)) for k, v in enumerate(drawn_leaves))
    parameters, constants = [], []
    inputs = np.full(len(run.inputs), -1, np.int64)
    drawn = np.full(len(drawn_leaves), -1, np.int64)
    for i in np.flatnonzero(graph.op == 0).tolist():
        node = graph.nodes[i]
        kind, k = index.get(id(node), (-1, -1))
        if kind == 0:
            inputs[k] = i
        elif kind == 1:
            drawn[k] = i
        elif _recorded_in(node, run.made_here):
            constants.append(i)
        else:
            parameters.append(i)
    return _Leaves(parameters, inputs, drawn, constants)


def _drawn_leaves(trace: Trace) -> list[Value]:
    """Every leaf that ``draw`` made while tracing, in the order drawn."""
    return [leaf for _, leaves in trace.draws for leaf in leaves]


def _drawn_numbers(trace: Trace) -> np.ndarray:
    """The numbers of the leaves that ``draw`` made while tracing, in the order drawn."""
    return np.array([leaf.data for leaf in _drawn_leaves(trace)], np.float64)


def _roots(run: _Run) -> list[Value]:
    """What a program computes: fn's results, then every node it observed."""
    return run.results + [node for nodes, _ in run.trace.observers for node in nodes]


def _schedule(graph: _Graph, position: np.ndarray, start: int, n_parameters: int) -> list[_Group]:
    """The groups of nodes of one depth and one operation, in order of depth, numbered from
    ``start`` on in ``position`` (which already places the leaves), with their index arrays."""
    depth = _depths(graph.a, graph.b)
    operations = np.flatnonzero(graph.op != 0)
    if operations.size == 0:  # fn returned leaves
        return []
    key = depth[operations].astype(np.int64) * len(graph.names) + graph.op[operations]
    by_key = np.argsort(key, kind="stable")
    members_all, key = operations[by_key], key[by_key]
    bounds = np.concatenate([[0], np.flatnonzero(key[1:] != key[:-1]) + 1, [key.size]])
    derivatives = {name: _derivative_on_arrays(name) for name in set(graph.names[1:])}
    # requires[i]: some parameter is among node i's ancestors, so a gradient must reach it
    requires = np.zeros(graph.op.size, bool)
    requires[:n_parameters] = True
    groups = []
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        members = members_all[lo:hi]
        name = graph.names[int(graph.op[members[0]])]
        reads = [position[graph.a[members]]]
        if OPS[name].arity == 2:
            reads.append(position[graph.b[members]])
        # Within a group the order is free: sorted by the first input's position, so that a
        # weight read by every sample of a batch gets its contributions in one segment, and a
        # chain (a neuron's running sum) reads the group before it as one slice.
        by_input = np.lexsort(reads[::-1])
        reads = [r[by_input] for r in reads]
        stop = start + members.size
        position[members[by_input]] = np.arange(start, stop)
        needed = [bool(requires[r].any()) for r in reads]
        requires[start:stop] = np.logical_or.reduce([requires[r] for r in reads])
        groups.append(
            _Group(
                name,
                int(depth[members[0]]),
                start,
                stop,
                tuple(_input(r, need) for r, need in zip(reads, needed)),
                _forward_on_arrays(name),
                derivatives[name],
                _constant(derivatives[name], len(reads)),
                any(needed),
            )
        )
        start = stop
    return groups


NARROW = 8
"""A group of fewer nodes than this is computed node by node with the float rules: a numpy call
costs about as much as a few nodes of Python, so a graph deeper than it is wide (a long chain, a
loss summed one sample after the other) would replay slower than the interpreter otherwise."""


class _Scalars:
    """A run of consecutive narrow groups, computed node by node, in the same order, with the
    interpreter's float rules: the table's forward (which raises the interpreter's errors) and
    ``local_derivatives_at`` (the interpreter's local derivatives). The nodes are held in arrays
    (operation code, input positions, output position), not as a Python object each."""

    def __init__(self, groups: list[_Group]) -> None:
        self.names = sorted({group.op for group in groups})
        self.start, self.stop = groups[0].start, groups[-1].stop
        codes, a, b = [], [], []
        for group in groups:
            size = group.stop - group.start
            codes.append(np.full(size, self.names.index(group.op), np.int16))
            a.append(_positions(group.inputs[0].read))
            b.append(
                _positions(group.inputs[1].read) if len(group.inputs) > 1 else np.full(size, -1)
            )
        self.code = np.concatenate(codes)
        self.a = np.concatenate(a).astype(_INDEX)
        self.b = np.concatenate(b).astype(_INDEX)

    def forward(self, values: np.ndarray) -> None:
        """values[start:stop], node after node; the run's own values are kept in a list until
        the end (reading a list is cheaper than reading the array)."""
        forwards = [OPS[name].forward for name in self.names]
        start, item = self.start, values.item
        outs: list[float] = []
        put = outs.append
        for code, a, b in zip(self.code.tolist(), self.a.tolist(), self.b.tolist()):
            x = outs[a - start] if a >= start else item(a)
            if b < 0:
                put(forwards[code](x))
            else:
                put(forwards[code](x, outs[b - start] if b >= start else item(b)))
        values[start : self.stop] = outs

    def backward(self, values: np.ndarray, grads: np.ndarray, reach: np.ndarray | None) -> None:
        """The chain rule over the run, last node first: each node's local derivatives (its
        rule on floats, as ``backward()`` evaluates it) times its gradient, added to its inputs'
        (a local derivative of 0 passes nothing on)."""
        start, stop, item = self.start, self.stop, values.item
        names = self.names
        rules = [OPS[name].derivative for name in names]
        data = values[start:stop].tolist()
        gs = grads[start:stop].tolist()
        reached = None if reach is None else reach[start:stop].tolist()
        below: dict[int, float] = {}  # what goes to nodes before the run, added at the end
        codes, As, Bs = self.code.tolist(), self.a.tolist(), self.b.tolist()
        for i in range(stop - start - 1, -1, -1):
            if reached is not None and not reached[i]:
                continue
            g, code, a, b = gs[i], codes[i], As[i], Bs[i]
            x = data[a - start] if a >= start else item(a)
            if b < 0:
                try:
                    da = rules[code](x, data[i])
                except Exception:  # inf where floats raise, or the interpreter's error
                    (da,) = local_derivatives_at(names[code], x, data[i])
            else:
                y = data[b - start] if b >= start else item(b)
                try:
                    da, db = rules[code](x, y, data[i])
                except Exception:
                    da, db = local_derivatives_at(names[code], x, y, data[i])
                if db:
                    if b >= start:
                        gs[b - start] += db * g
                    else:
                        below[b] = below.get(b, 0.0) + db * g
            if da:
                if a >= start:
                    gs[a - start] += da * g
                else:
                    below[a] = below.get(a, 0.0) + da * g
        grads[start:stop] = gs
        if below:
            where = np.fromiter(below, np.int64, len(below))
            grads[where] += np.fromiter(below.values(), np.float64, len(below))


def _plan(groups: list[_Group]) -> list[_Group | _Scalars]:
    """The groups as they run: each run of consecutive narrow groups joined into one
    :class:`_Scalars`, the others vectorised as they are."""
    plan: list[_Group | _Scalars] = []
    run: list[_Group] = []
    for group in groups:
        if group.stop - group.start < NARROW:
            run.append(group)
            continue
        if run:
            plan.append(_Scalars(run))
            run = []
        plan.append(group)
    if run:
        plan.append(_Scalars(run))
    return plan


class Program:
    """One traced graph, compiled: a list of vectorised steps over a value and a gradient array.

    Read-only figures: ``nodes``, ``parameters`` (the parameter Values, in the order of the
    value array), ``inputs`` (how many floats the arguments hold), ``drawn`` (how many leaves
    ``draw`` makes afresh at every call), ``constants``, ``observers`` (how many ``observe``
    updates run after every forward pass), ``schedule`` (the :class:`Step` of every group, in
    order), ``nbytes`` (the memory of its arrays), ``seconds_to_trace`` and
    ``seconds_to_compile``.
    """

    def __init__(self, graph: _Graph, run: _Run, keep: bool) -> None:
        parameters, inputs, drawn, constants = _leaves(graph, run)
        self.parameters: list[Value] = [graph.nodes[i] for i in parameters]
        self.inputs = len(run.inputs)
        self.drawn = drawn.size
        self.constants = len(constants)
        self.observers = len(run.trace.observers)
        self.nodes = n = len(graph.nodes)
        self.shape = run.shape
        # The rows of the rule table it was compiled from: redefining one (define_op run again)
        # makes the program stale, and the compiled function traces again.
        self._rows: dict[str, Op] = {name: OPS[name] for name in graph.names[1:]}
        self.seconds_to_trace = 0.0
        self.seconds_to_compile = 0.0

        # The value array: the leaves first (parameters, inputs, drawn, constants), then the
        # groups. position[i] is where the traced node i lives in it.
        position = np.empty(n, np.int64)
        used = inputs >= 0  # an argument that fn never used is not in the graph
        drawn_used = drawn >= 0  # nor a drawn leaf that no result needs
        leaves = np.concatenate([parameters, inputs[used], drawn[drawn_used], constants])
        leaves = leaves.astype(np.int64)
        position[leaves] = np.arange(leaves.size)
        self._input_slots = np.flatnonzero(used)  # which floats of the arguments are read
        self._drawn_slots = np.flatnonzero(drawn_used)  # which drawn numbers are read
        # What to draw before every call, in the order of the trace: (sampler, how many).
        self._draws: list[tuple[Sampler, int]] = [(s, len(v)) for s, v in run.trace.draws]
        # Every call has its own arrays (calls from several threads do not share them); the
        # constants are copied in from here.
        self._constant_slots = slice(leaves.size - len(constants), leaves.size)
        self._constant_data = graph.data[constants]
        self._groups = _schedule(graph, position, leaves.size, len(parameters))
        self._plan = _plan(self._groups)
        results = len(run.results)
        self._outputs = position[graph.outputs[:results]]
        # What to update after every forward pass: (where the observed nodes are, update).
        observed = iter(position[graph.outputs[results:]].tolist())
        self._observe: list[tuple[np.ndarray, Update]] = [
            (np.array([next(observed) for _ in nodes], _INDEX), update)
            for nodes, update in run.trace.observers
        ]
        self._reach: dict[int, np.ndarray | None] = {}
        self._derived = [p for p in self.parameters if p.op]  # Values computed outside fn
        self._below: list[Value] | None = None
        self._layout = (
            _Layout(graph.names, graph.op, graph.a, graph.b, position, parameters, run.shape)
            if keep
            else None
        )

    # --- what it is --------------------------------------------------------------------------

    @property
    def schedule(self) -> list[Step]:
        """The program's vectorised operations in the order they run (forward)."""
        return [Step(g.depth, g.op, g.stop - g.start) for g in self._groups]

    @property
    def nbytes(self) -> int:
        """Bytes held by the program's arrays: values, gradients, index arrays and the rest."""
        # a call's values and its backward pass's gradients: 8 bytes per node each
        arrays: list[Any] = [np.empty(n, np.float64) for n in (self.nodes, self.nodes)]
        arrays += [self._constant_data, self._outputs, self._input_slots]
        arrays += [self._drawn_slots, *(where for where, _ in self._observe)]
        for group in self._groups:
            for each in group.inputs:
                arrays += [each.read, each.order, each.starts, each.targets]
        arrays += list(self._reach.values())
        if self._layout is not None:
            arrays += [self._layout.op, self._layout.a, self._layout.b, self._layout.position]
        return sum(x.nbytes for x in arrays if isinstance(x, np.ndarray))

    def __repr__(self) -> str:
        drawn = f" {self.drawn:,} drawn," if self.drawn else ""
        observers = f", {self.observers:,} observers" if self.observers else ""
        return (
            f"<Program: {self.nodes:,} nodes in {len(self._groups):,} vectorised steps;"
            f" {len(self.parameters):,} parameters, {self.inputs:,} inputs,{drawn}"
            f" {self.constants:,} constants{observers};"
            f" {self.nbytes / max(self.nodes, 1):.1f} bytes per node>"
        )

    # --- running it ----------------------------------------------------------------------------

    def current(self) -> bool:
        """Whether every operation it uses is still the table's row it was compiled from."""
        return all(OPS.get(name) is row for name, row in self._rows.items())

    def forward(self, inputs: np.ndarray, drawn: np.ndarray | None = None) -> np.ndarray:
        """Every node's value from the parameters' current data, the arguments' floats
        (``inputs``, in the order of the trace) and the drawn leaves' numbers (``drawn``, in
        the order of the trace; None: drawn now, by :meth:`draw`); then every observer's
        update with the new data of its nodes. Returns the values of this call, a new array
        (:meth:`results` reads the results off it; :meth:`backward` takes it).

        An error (the interpreter's, where a node is outside its operation's domain) leaves
        nothing changed: no observer has run, and no earlier call's values are touched."""
        if drawn is None:
            drawn = self.draw()
        values = np.empty(self.nodes, np.float64)
        values[self._constant_slots] = self._constant_data
        start, stop = 0, len(self.parameters)
        values[start:stop] = np.fromiter(map(_data, self.parameters), np.float64, stop)
        start, stop = stop, stop + self._input_slots.size
        values[start:stop] = inputs[self._input_slots]
        start, stop = stop, stop + self._drawn_slots.size
        values[start:stop] = drawn[self._drawn_slots]
        # Division by zero and invalid operations raise (the group is then redone element by
        # element, to raise what the interpreter raises); overflow is inf, as in the interpreter.
        with np.errstate(divide="raise", invalid="raise", over="ignore", under="ignore"):
            for group in self._plan:
                if isinstance(group, _Scalars):
                    group.forward(values)
                    continue
                operands = [values[each.read] for each in group.inputs]
                values[group.start : group.stop] = group.forward(*operands)
        for where, update in self._observe:  # after the whole forward pass, as in the trace
            update(values[where].tolist())
        return values

    def results(self, values: np.ndarray) -> np.ndarray:
        """The results' values among a call's ``values``."""
        results: np.ndarray = values[self._outputs]
        return results

    def draw(self) -> np.ndarray:
        """The numbers of every drawn leaf, drawn afresh: each sampler called in the order fn
        called ``draw`` when traced, so the random stream is consumed as the interpreter would
        consume it (one call per ``draw`` of the trace: a handful per step, not per node)."""
        if not self._draws:
            return _NOTHING
        return np.array([x for sampler, n in self._draws for x in sample(sampler, n)], np.float64)

    def drawn_by(self, run: _Run) -> np.ndarray:
        """The numbers that ``run`` (fn run again by the interpreter, for check=True) drew: the
        replay uses them, so that both compute from the same masks."""
        sizes = [len(leaves) for _, leaves in run.trace.draws]
        if sizes != [n for _, n in self._draws]:
            raise RuntimeError(
                f"{_FROZEN}: fn drew {_counts(sizes)} in the interpreter and"
                f" {_counts([n for _, n in self._draws])} when traced"
            )
        return _drawn_numbers(run.trace)

    def backward(self, output: int, values: np.ndarray) -> None:
        """Add d(result ``output``)/d(parameter) into every parameter's ``.grad``: the chain rule
        group by group in reverse, on the ``values`` of the call that gave the result."""
        grads = np.zeros(self.nodes, np.float64)
        seed = int(self._outputs[output])
        grads[seed] = 1.0
        reach = self._reached_from(seed)
        with np.errstate(all="ignore"):  # inf and nan as IEEE 754 says, as backward() gives
            for group in reversed(self._plan):
                if isinstance(group, _Scalars):
                    group.backward(values, grads, reach)
                    continue
                if not group.needed:
                    continue
                g = grads[group.start : group.stop]
                reached = None if reach is None else reach[group.start : group.stop]
                if reached is not None and not reached.any():
                    continue
                local = group.constant
                if local is None:
                    operands = [values[each.read] for each in group.inputs]
                    local = group.derivative(*operands, values[group.start : group.stop])
                for each, d in zip(group.inputs, local):
                    if not each.needed:
                        continue
                    c = _contribution(d, g)
                    if c is None:
                        continue
                    if reached is not None:  # nodes this result does not reach pass nothing
                        c = np.where(reached, c, 0.0)
                    _scatter(grads, each, c)
        found = grads[: len(self.parameters)].tolist()
        if not self._derived:
            for parameter, g in zip(self.parameters, found):
                parameter.grad += g
            return
        # Values computed outside fn were leaves of the replay: the interpreter's chain rule
        # goes on below them, into what they were computed from.
        pending: dict[Value, float] = {}
        for parameter, g in zip(self.parameters, found):
            if parameter.op:
                pending[parameter] = g
            else:
                parameter.grad += g
        _chain_rule(self._below_derived(), pending)

    def _below_derived(self) -> list[Value]:
        """The graph below the parameters that are Values computed outside fn, in topological
        order (walked once, on the first backward pass)."""
        if self._below is None:
            self._below = _reachable(self._derived, _everywhere)[0]
        return self._below

    def _reached_from(self, seed: int) -> np.ndarray | None:
        """Which nodes the result at ``seed`` depends on (None: all of them, as with one result
        and nothing observed, where every node of the program is one the result depends on)."""
        if len(set(self._outputs.tolist())) == 1 and not self._observe:
            return None
        if seed not in self._reach:
            reach = np.zeros(self.nodes, bool)
            reach[seed] = True
            for group in reversed(self._groups):
                reached = reach[group.start : group.stop]
                if reached.any():
                    for each in group.inputs:
                        reach[_positions(each.read)[reached]] = True
            # An observed statistic is usually on the way to the loss: then nothing is masked.
            operations = self._groups[0].start if self._groups else self.nodes
            self._reach[seed] = None if reach[operations:].all() else reach
        return self._reach[seed]

    # --- check=True ------------------------------------------------------------------------------

    def verify(self, run: _Run, values: np.ndarray) -> None:
        """Raise RuntimeError unless ``run`` (fn run again by the interpreter) gave the replay's
        ``results`` (to :data:`RTOL`, :data:`ATOL`) from the same parameters; the message names
        the first node, in topological order, where the interpreter's graph and the traced one
        part.

        The results are what is compared, not every node: a path taken by comparing numbers
        (``cross_entropy`` subtracts the largest score, chosen at trace time) may change while
        the results stay equal in exact arithmetic, and that is no error.
        """
        layout = self._layout
        assert layout is not None, "compiled without check=True"
        if run.shape != layout.shape:
            raise RuntimeError(
                f"{_FROZEN}: fn returned a result of another structure than when it was traced"
            )
        graph = _read_graph(_roots(run), run.made_here)
        same_size = graph.op.size == layout.op.size
        others = same_size and any(
            graph.nodes[i] is not p for i, p in zip(layout.parameters, self.parameters)
        )
        results = self.results(values)
        if not others and _close(results, graph.data[graph.outputs[: len(run.results)]]):
            return
        replayed = values[layout.position] if same_size else None
        difference = _first_difference(layout, graph, replayed, run, self.parameters)
        raise RuntimeError(f"{_FROZEN}: {difference}")


_FROZEN = (
    "check=True: the replay departs from the interpreter (constants made inside fn and Python"
    " control flow are frozen at trace time)"
)


_NOTHING = np.empty(0, np.float64)


def _everywhere(node: Value) -> bool:
    return True


def _chain_rule(order: list[Value], pending: dict[Value, float]) -> None:
    """``backward()``'s walk over ``order`` (a topological order) from the gradients in
    ``pending``: each node's gradient is added to its ``.grad`` and passed on to its inputs
    times the local derivatives (a local derivative of 0 passes nothing on)."""
    for node in reversed(order):
        g = pending.get(node)
        if g is None:
            continue
        node.grad += g
        if not g or not node.op:
            continue
        for child, local in zip(node.inputs, local_derivatives(node)):
            if local:
                pending[child] = pending.get(child, 0.0) + local * g


def _counts(sizes: list[int]) -> str:
    """How a message says what fn drew: "2 times (3 and 3 leaves)", "nothing"."""
    if not sizes:
        return "nothing"
    each = ", ".join(map(str, sizes[:-1])) + (" and " if len(sizes) > 1 else "") + str(sizes[-1])
    return f"{len(sizes)} time{'s' if len(sizes) > 1 else ''} ({each} leaves)"


def _recorded_in(node: Value, made_here: object) -> bool:
    """Whether ``node`` was recorded inside the scope ``made_here`` (by identity, any depth)."""
    return _within(node.scope, made_here)


def _within(entry: Scope | None, made_here: object) -> bool:
    """Whether the scope ``entry`` is ``made_here`` or opened inside it (by identity)."""
    while entry:
        if entry is made_here:
            return True
        entry = entry.parent
    return False


def _close(replayed: np.ndarray, interpreted: np.ndarray) -> bool:
    return bool(np.all(np.isclose(replayed, interpreted, rtol=RTOL, atol=ATOL, equal_nan=True)))


def _first_difference(
    layout: _Layout,
    graph: _Graph,
    replayed: np.ndarray | None,
    run: _Run,
    parameters: list[Value],
) -> str:
    """Where the interpreter's graph first differs from the traced one, in topological order:
    a node's operation or inputs, then a parameter, then a value."""
    n, traced_n = graph.op.size, layout.op.size
    common = min(n, traced_n)
    ops_now = np.array(graph.names, dtype=object)[graph.op[:common]]
    ops_then = np.array(layout.names, dtype=object)[layout.op[:common]]
    differs = (ops_now != ops_then) | (graph.a[:common] != layout.a[:common])
    differs |= graph.b[:common] != layout.b[:common]
    if differs.any():
        i = int(np.argmax(differs))
        then = _formula(ops_then[i], layout.a[i], layout.b[i])
        now = _formula(ops_now[i], graph.a[i], graph.b[i])
        return (
            f"the graph fn builds has changed since it was traced: {_name(graph.nodes[i], i, n)}"
            f" was {then} when traced and is now {now}"
        )
    if n != traced_n:
        return f"fn now builds {n:,} nodes; it built {traced_n:,} when traced"
    assert replayed is not None
    for i, parameter in zip(layout.parameters, parameters):
        if graph.nodes[i] is not parameter:
            return (
                f"{_name(graph.nodes[i], i, n)} is another Value than the parameter it was when"
                f" traced ({parameter!r})"
            )
    close = np.isclose(replayed, graph.data, rtol=RTOL, atol=ATOL, equal_nan=True)
    i = int(np.argmin(close))
    node = graph.nodes[i]
    constant = not node.op and _recorded_in(node, run.made_here)
    what = "a constant made inside fn, " if constant else ""
    return (
        f"{_name(node, i, n)}, {what}is {float(graph.data[i])!r} in the interpreter and"
        f" {float(replayed[i])!r} in the replay"
    )


def _formula(op: str, a: int, b: int) -> str:
    """A node as its operation of its inputs: "relu(node 2)", "*(node 2, node 3)", "a leaf"."""
    inputs = [f"node {int(x)}" for x in (a, b) if x >= 0]
    return f"{op}({', '.join(inputs)})" if op else "a leaf"


def _name(node: Value, i: int, n: int) -> str:
    """How a message names a node: its place in topological order, its scope and its label."""
    about = [f"scope '{node.scope}'"] if node.scope else []
    about += [f"label {node.label!r}"] if node.label else []
    return f"node {i} of {n:,}" + (f" ({', '.join(about)})" if about else "")


# --- the compiled function ---------------------------------------------------------------------


class CompiledValue(Value):
    """A result of a compiled function: a Value holding the result's ``data`` whose
    ``backward()`` runs the compiled chain rule, adding d(result)/d(parameter) into every
    parameter's ``.grad`` as ``backward()`` on the interpreted graph would.

    It is a leaf as far as other Values go: build the whole loss inside the compiled function,
    since a graph built on top of a result stops there.
    """

    __slots__ = ("_program", "_output", "_values")

    _program: Program
    _output: int
    _values: np.ndarray  # the forward values of the call that gave it: its own, per call

    def backward(self) -> None:
        """The compiled backward pass from this result (see the class docstring)."""
        self._program.backward(self._output, self._values)
        self.grad += 1.0

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled, a result is a plain leaf Value with its data and grad (the program stays)."""
        return (_leaf, (self.data, self.grad, self.label))

    def __copy__(self) -> Value:
        """Copied, a result is a plain leaf Value with its data and grad."""
        return _leaf(self.data, self.grad, self.label)

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        return _leaf(self.data, self.grad, self.label)


def _leaf(data: float, grad: float, label: str) -> Value:
    leaf = Value(data, label)
    leaf.grad = grad
    return leaf


class Compiled:
    """``fn`` compiled (see :func:`compile`): call it as you would call ``fn``, with positional
    arguments.

    ``traces`` counts the times ``fn`` was traced (once per structure of the arguments);
    ``program(*args)`` is the :class:`Program` a call with ``args`` runs. Past
    :data:`CACHE_SIZE` structures a RuntimeWarning says so, once: a compiled function that
    traces at every call (labels passed as integers, say) is slower than the interpreter.
    """

    def __init__(self, fn: Callable[..., Any], check: bool) -> None:
        self.fn = fn
        self.check = check
        self._name = _scope_name(fn)
        self._programs: OrderedDict[Hashable, Program] = OrderedDict()
        self.traces = 0
        self._warned = False
        self._lock = threading.RLock()
        self._modules: list[Module] = []  # the nn Modules fn reaches, found at every trace

    def __repr__(self) -> str:
        return f"compile({self._name}{', check=True' if self.check else ''})"

    def __call__(self, *args: Any) -> Any:
        """fn(*args), replayed: the same structure of Values, holding the results' data.

        Safe to call from several threads at once: each call computes in arrays of its own (a
        lock guards only the cache of programs and the tracing)."""
        floats: list[Any] = []
        structure = tuple(_key(arg, floats, f"args[{i}]") for i, arg in enumerate(args))
        inputs = _flat(floats)
        with self._lock:
            key = (structure, self._modes())
            program = self._programs.get(key)
            if program is not None and not program.current():  # an operation was redefined
                del self._programs[key]
                program = None
            run = None
            if program is None:
                # The first call computes from what the trace drew: the random stream moves once.
                program, run, drawn = self._trace(args)
                self._remember((structure, self._modes()), program)
            else:
                self._programs.move_to_end(key)
                drawn = None  # drawn afresh by the program
        if run is None and self.check:
            run = self._run(args)
            drawn = program.drawn_by(run)  # the replay uses the interpreter's draws
        values = program.forward(inputs, drawn)
        if run is not None and self.check:  # the interpreter's run, compared, then freed
            try:
                program.verify(run, values)
            except RuntimeError as error:
                raise RuntimeError(f"{error}{self._modes_said()}") from None
            del run
        return self._results(program, values)

    def _modes(self) -> tuple[bool, ...]:
        """The ``training`` flag of every nn Module fn reaches: part of a program's key, so a
        switch between ``train()`` and ``eval()`` traces again (Dropout and BatchNorm1d build
        other graphs in each mode)."""
        return tuple(module.training for module in self._modules)

    def _modes_said(self) -> str:
        """What a check=True message says of the modules' modes, if fn reaches any."""
        if not self._modules:
            return ""
        training = sum(self._modes())
        n = len(self._modules)
        mode = (
            "training mode"
            if training == n
            else "evaluation mode"
            if training == 0
            else f"training mode ({training}) and evaluation mode ({n - training})"
        )
        return (
            f" (the {n} nn modules fn reaches are in {mode}, as when this program was traced:"
            " train() and eval() trace again)"
        )

    def program(self, *args: Any) -> Program:
        """The compiled program that a call with these arguments runs (tracing fn if needed)."""
        structure = tuple(_key(arg, [], f"args[{i}]") for i, arg in enumerate(args))
        with self._lock:
            program = self._programs.get((structure, self._modes()))
            if program is None or not program.current():
                program = self._trace(args)[0]
                self._remember((structure, self._modes()), program)
            return program

    def _remember(self, key: Hashable, program: Program) -> None:
        self._programs[key] = program
        self.traces += 1
        while len(self._programs) > CACHE_SIZE:
            self._programs.popitem(last=False)
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"compile({self._name}) has traced fn for {self.traces} structures of its"
                    f" arguments and keeps the last {CACHE_SIZE}: integers and integer arrays are"
                    " static, so every new value traces again (pass labels as one-hot floats so"
                    " that one program serves every batch)",
                    RuntimeWarning,
                    stacklevel=3,
                )

    def _run(self, args: tuple[Any, ...]) -> _Run:
        """fn run by the interpreter on Values made from the floats of ``args``, recording
        (also inside no_grad) in a scope of its own, its draws and observers recorded too (its
        observers' updates are left to the replay)."""
        inputs: list[Value] = []
        with enable_grad(), scope(self._name) as made_here, tracing() as trace:
            result = self.fn(*(_traced(arg, inputs) for arg in args))
        found: list[Value] = []
        shape = _results(result, found)
        if not found:
            raise TypeError(f"{_RETURN}; it returned {_describe(result)}, which holds none")
        return _Run(found, shape, inputs, made_here, trace)

    def _trace(self, args: tuple[Any, ...]) -> tuple[Program, _Run | None, np.ndarray]:
        """Trace fn and compile its graph. Returns the program, the run (kept only for
        check=True) and the numbers the trace drew."""
        with _collector_paused():
            started = time.perf_counter()
            self._modules = _modules_reached(self.fn)
            run = self._run(args)
            traced = time.perf_counter()
            program = Program(_read_graph(_roots(run), run.made_here), run, keep=self.check)
            program.seconds_to_trace = traced - started
            program.seconds_to_compile = time.perf_counter() - traced
        return program, run if self.check else None, _drawn_numbers(run.trace)

    def _results(self, program: Program, values: np.ndarray) -> Any:
        data = program.results(values).tolist()
        if not is_grad_enabled():
            made = [Value(x) for x in data]  # under no_grad: leaves, as the interpreter gives
        else:
            made = []
            for k, x in enumerate(data):
                result = CompiledValue(x)
                result._program, result._output, result._values = program, k, values
                made.append(result)
        return _rebuild(program.shape, iter(made))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused: while a trace builds millions of nodes, it would
    scan the growing graph again and again (a graph has no reference cycles to collect)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Run(NamedTuple):
    """One run of fn by the interpreter: its results and their shape, the Values made for the
    floats of the arguments, the scope it was recorded in (the leaves recorded inside it are
    constants made by fn, unless drawn), and what it drew and observed."""

    results: list[Value]
    shape: Hashable
    inputs: list[Value]
    made_here: object
    trace: Trace


def _modules_reached(fn: Callable[..., Any]) -> list[Module]:
    """Every nn Module that fn can reach, each once, with the modules inside them: through its
    closure, its defaults, the globals its code names (and those of the functions it reaches the
    same way), a bound method's object, a ``functools.partial``'s parts, a callable object's
    attributes, and the lists, tuples and dicts among them."""
    found: dict[int, Module] = {}
    seen: set[int] = set()
    todo: list[Any] = [fn]
    while todo:
        x = todo.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, Module):
            tree = [x]
            while tree:
                module = tree.pop()
                found.setdefault(id(module), module)
                tree += [child for _, child in module.named_children()]
        elif isinstance(x, (list, tuple)):
            todo += [item for item in x[:_LOOK_INTO] if _may_reach(item)]
        elif isinstance(x, dict):
            todo += [item for item in list(x.values())[:_LOOK_INTO] if _may_reach(item)]
        elif isinstance(x, types.MethodType):
            owner = x.__self__
            todo += [x.__func__, owner, *_attributes(owner)]
        elif isinstance(x, types.FunctionType):
            todo += _named_by(x)
        elif isinstance(x, functools.partial):
            todo += [x.func, *x.args, *x.keywords.values()]
        elif callable(x) and not isinstance(x, type):
            todo += [*_attributes(x), getattr(type(x).__call__, "__func__", type(x).__call__)]
    return list(found.values())


_LOOK_INTO = 1000  # items of a list or dict looked at for modules (a data set is not a model)


def _attributes(owner: object) -> list[Any]:
    """An object's attributes that may lead to a module (a trainer's ``self.model``)."""
    space = getattr(owner, "__dict__", None)
    return [x for x in space.values() if _may_reach(x)] if isinstance(space, dict) else []


def _may_reach(x: object) -> bool:
    return isinstance(x, (Module, list, tuple, dict, functools.partial)) or callable(x)


def _named_by(function: types.FunctionType) -> list[Any]:
    """What a function's code can reach: its closure, defaults and the globals it names."""
    reached: list[Any] = [cell.cell_contents for cell in function.__closure__ or () if _full(cell)]
    reached += list(function.__defaults__ or ()) + list((function.__kwdefaults__ or {}).values())
    names: set[str] = set()
    codes = [function.__code__]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    space = function.__globals__
    reached += [space[name] for name in names if name in space]
    return [x for x in reached if _may_reach(x) and not isinstance(x, (type, types.ModuleType))]


def _full(cell: types.CellType) -> bool:
    try:
        return cell.cell_contents is not _full  # read it: an empty cell raises
    except ValueError:  # a variable not assigned yet
        return False


def _scope_name(fn: Callable[..., Any]) -> str:
    """The name of the scope fn is traced in: its own name, if it makes one."""
    name = getattr(fn, "__name__", type(fn).__name__)
    return name if isinstance(name, str) and name and "/" not in name else "compiled"


def compile(fn: Callable[..., Any], *, check: bool = False) -> Compiled:
    """``fn`` compiled to a numpy program: ``fast = compile(fn)``, then ``fast(*args)``.

    ``fn(*args)`` builds and returns a Value (a loss), or a tuple, list or numpy array of
    Values. ``fast(*args)`` returns the same structure, each a Value holding the result's
    ``data`` whose ``backward()`` adds d(result)/d(parameter) into every parameter's ``.grad``,
    as ``backward()`` on the interpreted graph would (to about 1e-15 relative; ``+ - * /`` and
    the piecewise-linear operations give bit-identical values). Under ``no_grad`` the results
    are plain leaves: forward only.

    ``args`` are numbers, lists or tuples of them, and numpy arrays of numbers. Every float is
    an input: ``fn`` receives it as a Value, in the same container (a float array becomes an
    object array of Values). Integers and integer arrays are static: ``fn`` receives them as
    they are, and a call with other static values, or another structure, traces ``fn`` again
    (each structure keeps its program; the last :data:`CACHE_SIZE` are kept).

    A leaf Value that existed before the call and that ``fn`` reaches is a parameter: its
    ``data`` is read at every call. Constants made inside ``fn`` and Python control flow are
    frozen at trace time; leaves made by ``tinygrad_edu.draw`` (a dropout mask) are drawn again
    before every call, and updates given to ``tinygrad_edu.observe`` (a BatchNorm's running
    statistics) run after every call's forward pass, with the replayed data. ``check=True``
    runs ``fn`` in the interpreter too, on every call (the replay then uses the numbers that
    run drew), and raises RuntimeError naming the first node where the graphs part if the
    results differ (by more than :data:`RTOL` relative, :data:`ATOL` absolute).
    """
    if not callable(fn):
        raise TypeError(f"compile(fn): fn is a function that returns a Value, not {_describe(fn)}")
    if not isinstance(check, bool):
        raise TypeError(f"check is True or False, not {check!r}")
    return Compiled(fn, check)
