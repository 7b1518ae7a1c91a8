"""Stage 3, the schedule: the graph's nodes in groups of one depth and one operation, each
group one vectorised step.

A node's inputs are shallower than the node, so the nodes of one depth and one operation can be
computed at once, by one numpy call: :func:`make_groups` numbers the nodes group after group (so
each group's results fill one slice of the value array) and gives each :class:`Group` its index
arrays, and both its forward (the table's forward on arrays) and its backward (the table's
derivative rule on arrays). :func:`plan` then joins runs of narrow groups into :class:`Scalars`,
computed node by node with the float rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..engine import local_derivatives_at
from ..ops import BUILTINS, OPS, PARTIAL
from ..scalars import is_number
from .graph import INDEX, Graph, depths
from .grids import Grid, find_grids
from .sums import Sums, find_sums


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


class Group(NamedTuple):
    """``stop - start`` nodes of one operation at one depth, computed by one call."""

    op: str
    depth: int
    start: int
    stop: int
    inputs: tuple[_Input, ...]
    compute: Callable[..., np.ndarray]  # the operation's forward on arrays
    derivative: Callable[..., tuple[Any, ...]]
    constant: tuple[float, ...] | None  # the local derivatives, where the rule is a constant
    needed: bool
    scope: str  # where its nodes were recorded: the scope path they share ("" for none)

    @property
    def size(self) -> int:
        """How many nodes it computes."""
        return self.stop - self.start

    def forward(self, values: np.ndarray) -> None:
        """values[start:stop] = op(values[a], values[b]): the group's nodes at once."""
        operands = [values[each.read] for each in self.inputs]
        values[self.start : self.stop] = self.compute(*operands)

    def backward(self, values: np.ndarray, grads: np.ndarray, reach: np.ndarray | None) -> None:
        """The chain rule at the group's nodes at once: the rule of the table evaluated on the
        arrays, times the nodes' gradients, summed into the inputs' (nodes that ``reach`` says
        the result does not depend on pass nothing)."""
        if not self.needed:
            return
        g = grads[self.start : self.stop]
        reached = None if reach is None else reach[self.start : self.stop]
        if reached is not None and not reached.any():
            return
        local = self.constant
        if local is None:
            operands = [values[each.read] for each in self.inputs]
            local = self.derivative(*operands, values[self.start : self.stop])
        for each, d in zip(self.inputs, local):
            if not each.needed:
                continue
            c = _contribution(d, g)
            if c is None:
                continue
            if reached is not None:  # nodes this result does not reach pass nothing
                c = np.where(reached, c, 0.0)
            _scatter(grads, each, c)


def _index(positions: np.ndarray) -> Index:
    """A slice when ``positions`` are consecutive, else the positions as int32."""
    consecutive = positions.size and positions[-1] - positions[0] == positions.size - 1
    if consecutive and (positions.size == 1 or bool(np.all(np.diff(positions) == 1))):
        return slice(int(positions[0]), int(positions[-1]) + 1)
    return positions.astype(INDEX)


def positions_of(index: Index) -> np.ndarray:
    """The positions an index stands for, as an array."""
    if isinstance(index, slice):
        return np.arange(index.start, index.stop)
    return index


def _input(read: np.ndarray, needed: bool) -> _Input:
    """How a group reads its operand at ``read`` and sends gradients back there."""
    if not needed:
        return _Input(_index(read), False, None, None, read[:0])
    ascending = bool(np.all(read[1:] >= read[:-1]))
    order = None if ascending else np.argsort(read, kind="stable").astype(INDEX)
    in_order = read if order is None else read[order]
    starts = np.flatnonzero(np.concatenate([[True], in_order[1:] != in_order[:-1]]))
    if starts.size == read.size:  # every input node once: a plain fancy-index +=
        return _Input(_index(read), True, None, None, _index(read))
    return _Input(_index(read), True, order, starts.astype(INDEX), _index(in_order[starts]))


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
    1.0, whatever x and y are): then backward needs no operands. None for any other rule.

    Asked of built-in rules only: a rule of your own may read something that changes between
    calls (a setting in a dict), and is evaluated at every call as the interpreter does."""
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


class Levels(NamedTuple):
    """What the schedule is built from besides the graph: every node's depth, the dense
    multiply-add grids (:mod:`.grids`) and the running sums (:mod:`.sums`)."""

    depth: np.ndarray
    grids: list[Grid]
    sums: list[Sums]


def levels(graph: Graph) -> Levels:
    """Every node's depth, the grids among the nodes, then the running sums among the rest."""
    depth = depths(graph.a, graph.b)
    grids = find_grids(graph, depth)
    taken = np.zeros(graph.op.size, bool)
    for grid in grids:
        taken[grid.inner] = taken[grid.ends.ravel()] = True
    return Levels(depth, grids, find_sums(graph, depth, taken))


def make_groups(
    graph: Graph,
    position: np.ndarray,
    start: int,
    n_parameters: int,
    found: Levels | None = None,
) -> list[Group | MatMul | RunningSums]:
    """The steps of the program in order of depth: each dense multiply-add grid as a
    :class:`MatMul` (see :mod:`.grids`), each set of running sums as :class:`RunningSums`, then
    groups of the other nodes of one depth and one operation, numbered from ``start`` on in
    ``position`` (which already places the leaves), with their index arrays. The products and
    partial sums that grids and running sums stand for are numbered last: nothing reads them.
    ``found``: what :func:`levels` gives, if it was asked already."""
    depth, grids, sums = levels(graph) if found is None else found
    fused: list[Grid | Sums] = sorted([*grids, *sums], key=_depth_of)
    operations = graph.op != 0
    for each in fused:
        operations[each.inner] = False
        operations[each.ends.ravel()] = False
    operations = np.flatnonzero(operations)
    key = depth[operations].astype(np.int64) * len(graph.names) + graph.op[operations]
    by_key = np.argsort(key, kind="stable")
    members_all, key = operations[by_key], key[by_key]
    bounds = np.concatenate([[0], np.flatnonzero(key[1:] != key[:-1]) + 1, [key.size]])
    derivatives = {name: _derivative_on_arrays(name) for name in set(graph.names[1:])}
    # requires[i]: some parameter is among node i's ancestors, so a gradient must reach it
    requires = np.zeros(graph.op.size, bool)
    requires[:n_parameters] = True
    steps: list[Group | MatMul | RunningSums] = []
    pending = iter(fused)
    next_fused: Grid | Sums | None = next(pending, None)

    def fused_step(each: Grid | Sums, start: int) -> MatMul | RunningSums:
        if isinstance(each, Grid):
            return MatMul(graph, each, position, start, requires)
        return RunningSums(graph, each, position, start, requires)

    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        members = members_all[lo:hi]
        while next_fused is not None and (
            members.size == 0 or next_fused.depth <= depth[members[0]]
        ):
            steps.append(fused_step(next_fused, start))
            start, next_fused = steps[-1].stop, next(pending, None)
        if members.size == 0:
            continue
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
        steps.append(
            Group(
                name,
                int(depth[members[0]]),
                start,
                stop,
                tuple(_input(r, need) for r, need in zip(reads, needed)),
                _forward_on_arrays(name),
                derivatives[name],
                _constant(derivatives[name], len(reads)) if name in BUILTINS else None,
                any(needed),
                _shared(graph.nodes[members[0]].scope, graph.nodes[members[-1]].scope),
            )
        )
        start = stop
    while next_fused is not None:
        steps.append(fused_step(next_fused, start))
        start, next_fused = steps[-1].stop, next(pending, None)
    if fused:
        inner = np.concatenate([each.inner for each in fused])
        position[inner] = np.arange(start, start + inner.size)
    return steps


def _depth_of(each: Grid | Sums) -> int:
    return each.depth


class MatMul:
    """A dense grid of running sums, replayed as matrix products (see :mod:`.grids`):
    forward ``out = B + V @ Uᵀ``; backward ``dU += Gᵀ @ V``, ``dV += G @ U``, ``dB += G``.

    Its S·J results fill values[start:stop] (sample by sample); U, V and B are read where
    their nodes are. When a gradient or an operand is inf or nan (or only some results are
    wanted), the backward pass takes the exact path instead, product by product, so that a
    local derivative of 0 passes nothing on, as in ``backward()``."""

    op = "matmul"

    def __init__(
        self, graph: Graph, grid: Grid, position: np.ndarray, start: int, requires: np.ndarray
    ) -> None:
        self.S, self.J, self.K = (
            int(grid.ends.shape[0]),
            int(grid.ends.shape[1]),
            int(grid.u.shape[1]),
        )
        self.depth = grid.depth
        self.start, self.stop = start, start + self.S * self.J
        self.u, self.v, self.bias = position[grid.u], position[grid.v], position[grid.bias]
        position[grid.ends.ravel()] = np.arange(self.start, self.stop)
        self.needs = (bool(requires[self.u].any()), bool(requires[self.v].any()))
        self.needs_bias = bool(requires[self.bias].any())
        requires[self.start : self.stop] = any(self.needs) or self.needs_bias
        self.unique = (_distinct(self.u), _distinct(self.v))
        # Where U, V or a row of B lie in one block of the value array (a layer's weights, a
        # batch of inputs, the group before), they are read as views, not gathered.
        self.blocks = (_block(self.u), _block(self.v), _block(self.bias[0]))
        # a bias per neuron, the same for every sample: its gradient is a column sum
        self.bias_by_column = bool((self.bias == self.bias[:1]).all()) and _distinct(self.bias[0])
        first, last = graph.nodes[int(grid.ends[0, 0])], graph.nodes[int(grid.ends[-1, -1])]
        self.scope = _shared(first.scope, last.scope)

    def _operands(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """U and V, read from ``values`` (views where they lie in one block)."""
        u_block, v_block, _ = self.blocks
        U = values[self.u] if u_block is None else values[u_block].reshape(self.u.shape)
        V = values[self.v] if v_block is None else values[v_block].reshape(self.v.shape)
        return U, V

    def forward(self, values: np.ndarray) -> None:
        U, V = self._operands(values)
        bias_block = self.blocks[2]
        same_row = self.bias_by_column and bias_block is not None
        B = values[bias_block] if same_row else values[self.bias]  # one row, broadcast
        with np.errstate(all="ignore"):  # + and * never raise: inf * 0 is nan, as for floats
            out = B + V @ U.T
        values[self.start : self.stop] = out.ravel()

    def backward(self, values: np.ndarray, grads: np.ndarray, reach: np.ndarray | None) -> None:
        G = grads[self.start : self.stop].reshape(self.S, self.J)
        U, V = self._operands(values)
        # A sum is finite when every entry is (or, rarely, overflows: then the exact path, too).
        if not all(math.isfinite(np.add.reduce(x, None)) for x in (G, U, V)):
            reached = None if reach is None else reach[self.start : self.stop]
            self._exactly(grads, G, U, V, reached)
            return
        u_block, v_block, bias_block = self.blocks
        if self.needs[0]:
            _add(grads, self.u, G.T @ V, self.unique[0], u_block)
        if self.needs[1]:
            _add(grads, self.v, G @ U, self.unique[1], v_block)
        if self.needs_bias:
            if self.bias_by_column:
                grads[self.bias[0] if bias_block is None else bias_block] += G.sum(axis=0)
            else:
                np.add.at(grads, self.bias, G)

    def _exactly(
        self,
        grads: np.ndarray,
        G: np.ndarray,
        U: np.ndarray,
        V: np.ndarray,
        reached: np.ndarray | None,
    ) -> None:
        """The backward pass product by product, with ``backward()``'s conventions: every
        product and partial sum of result (s, j) has gradient G[s, j] (the rule of + is 1),
        a product passes v·g to u and u·g to v, or nothing where v (or u) is 0; a result that
        ``reached`` leaves out passes nothing."""
        with np.errstate(all="ignore"):
            g = (
                G[:, :, None]
                if reached is None
                else np.where(reached.reshape(G.shape), G, 0.0)[:, :, None]
            )
            passes = np.ones(G.shape, bool) if reached is None else reached.reshape(G.shape)
            if self.needs[0]:
                c = np.where(V[:, None, :] == 0, 0.0, V[:, None, :] * g)
                _add(
                    grads, self.u, np.where(passes[:, :, None], c, 0.0).sum(axis=0), self.unique[0]
                )
            if self.needs[1]:
                c = np.where(U[None, :, :] == 0, 0.0, U[None, :, :] * g)
                _add(
                    grads, self.v, np.where(passes[:, :, None], c, 0.0).sum(axis=1), self.unique[1]
                )
            if self.needs_bias:
                np.add.at(grads, self.bias, np.where(passes, G, 0.0))

    @property
    def size(self) -> int:
        """How many scalar nodes it stands for: S·J·K products and as many additions."""
        return 2 * self.S * self.J * self.K


class RunningSums:
    """S running sums of L terms each (see :mod:`.sums`), replayed as one step: forward the
    terms added left to right along each row, as the interpreter adds them; backward each term
    receives its sum's gradient (the rule of + is 1 for both inputs, never 0)."""

    op = "sum"

    def __init__(
        self, graph: Graph, sums: Sums, position: np.ndarray, start: int, requires: np.ndarray
    ) -> None:
        self.S, self.L = (int(n) for n in sums.terms.shape)
        self.depth = sums.depth
        self.start, self.stop = start, start + self.S
        self.terms = position[sums.terms]  # [sum, term]
        position[sums.ends] = np.arange(self.start, self.stop)
        self.block = _block(self.terms)
        self.needed = bool(requires[self.terms].any())
        requires[self.start : self.stop] = requires[self.terms].any(axis=1)
        self.into = _input(self.terms.ravel(), self.needed)
        first, last = graph.nodes[int(sums.ends[0])], graph.nodes[int(sums.ends[-1])]
        self.scope = _shared(first.scope, last.scope)

    @property
    def size(self) -> int:
        """How many scalar nodes it stands for: L - 1 additions per sum."""
        return self.S * (self.L - 1)

    def forward(self, values: np.ndarray) -> None:
        """values[start:stop] = ((t0 + t1) + t2) + ..., row by row."""
        T = values[self.terms] if self.block is None else values[self.block].reshape(self.S, -1)
        with np.errstate(all="ignore"):  # + never raises: inf + -inf is nan, as for floats
            values[self.start : self.stop] = np.add.accumulate(T, axis=1)[:, -1]

    def backward(self, values: np.ndarray, grads: np.ndarray, reach: np.ndarray | None) -> None:
        """grads[term] += grads[its sum], for every term (a sum that ``reach`` leaves out
        passes nothing)."""
        if not self.needed:
            return
        g = grads[self.start : self.stop]
        if reach is not None:
            g = np.where(reach[self.start : self.stop], g, 0.0)
        _scatter(grads, self.into, np.repeat(g, self.L))


def _distinct(positions: np.ndarray) -> bool:
    return bool(np.unique(positions).size == positions.size)


def _block(positions: np.ndarray) -> slice | None:
    """The slice of the value array that ``positions`` are, in order, if they are consecutive."""
    index = _index(positions.ravel())
    return index if isinstance(index, slice) else None


def _add(
    grads: np.ndarray,
    where: np.ndarray,
    amounts: np.ndarray,
    distinct: bool,
    block: slice | None = None,
) -> None:
    """grads[where] += amounts, adding up where a position repeats (``block``: where is that
    slice)."""
    if block is not None:
        grads[block] += amounts.ravel()
    elif distinct:
        grads[where] += amounts
    else:
        np.add.at(grads, where, amounts)


def _shared(first: str, last: str) -> str:
    """The scope path two nodes share: "MLP/layers.0" for two neurons of that layer."""
    same = []
    for a, b in zip(first.split("/"), last.split("/")):
        if a != b:
            break
        same.append(a)
    return "/".join(same)


NARROW = 8
"""A group of fewer nodes than this is computed node by node with the float rules: a numpy call
costs about as much as a few nodes of Python, so a graph deeper than it is wide (a long chain, a
loss summed one sample after the other) would replay slower than the interpreter otherwise."""


class Scalars:
    """A run of consecutive narrow groups, computed node by node, in the same order, with the
    interpreter's float rules: the table's forward (which raises the interpreter's errors) and
    ``local_derivatives_at`` (the interpreter's local derivatives). The nodes are held in arrays
    (operation code, input positions, output position), not as a Python object each."""

    def __init__(self, groups: list[Group]) -> None:
        self.names = sorted({group.op for group in groups})
        self.start, self.stop = groups[0].start, groups[-1].stop
        self.depths = (groups[0].depth, groups[-1].depth)
        self.counts = {
            name: sum(g.stop - g.start for g in groups if g.op == name) for name in self.names
        }
        self.scope = _shared(groups[0].scope, groups[-1].scope)
        codes, a, b = [], [], []
        for group in groups:
            size = group.stop - group.start
            codes.append(np.full(size, self.names.index(group.op), np.int16))
            a.append(positions_of(group.inputs[0].read))
            b.append(
                positions_of(group.inputs[1].read) if len(group.inputs) > 1 else np.full(size, -1)
            )
        self.code = np.concatenate(codes)
        self.a = np.concatenate(a).astype(INDEX)
        self.b = np.concatenate(b).astype(INDEX)

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


def plan(
    groups: list[Group | MatMul | RunningSums],
) -> list[Group | MatMul | RunningSums | Scalars]:
    """The steps as they run: each run of consecutive narrow groups joined into one
    :class:`Scalars`, the others vectorised as they are."""
    plan: list[Group | MatMul | RunningSums | Scalars] = []
    run: list[Group] = []
    for group in groups:
        if isinstance(group, Group) and group.stop - group.start < NARROW:
            run.append(group)
            continue
        if run:
            plan.append(Scalars(run))
            run = []
        plan.append(group)
    if run:
        plan.append(Scalars(run))
    return plan
