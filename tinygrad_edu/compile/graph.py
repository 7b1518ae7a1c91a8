"""Stage 2, graph arrays: the traced graph read into arrays, in topological order.

:func:`read_graph` walks the graph once, through the public walk of a Value (``op``,
``inputs``, ``data``), and gives a :class:`Graph`: an operation code, two input positions and
the data of every node, with no Python object per node left over. A Value that ``fn`` did not
record (computed before the call) is read as a leaf, as the interpreter reads it.
:func:`depths` gives each node's depth, which the schedule groups by.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import NamedTuple

import numpy as np

from ..engine import Value, inputs_of, scopes_of, topological_order
from ..recording import enable_grad
from .trace import within

_data = attrgetter("data")
INDEX = np.int32  # node positions: 4 bytes each, so a program holds up to 2**31 - 1 nodes


# --- the graph, read through the public walk ---------------------------------------------------


class Graph(NamedTuple):
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


def read_graph(results: list[Value], made_here: object) -> Graph:
    """Every node that ``results`` depend on, as arrays in topological order; ``outputs`` holds
    the positions of ``results`` (fn's results, then the nodes it observed).

    A node that fn did not record (computed before the call, outside the scope ``made_here``)
    is read as a leaf, as the interpreter reads it: its current ``data``, not recomputed from
    what it was computed from (a weight tied as ``w2 = w * 2`` at setup keeps its number until
    it is computed again)."""
    nodes = _walk(results)
    outside: set[Value] = set()
    if not all(within(where, made_here) for where in scopes_of(filter(_op, nodes))):
        nodes, outside = reachable(results, _Inside(made_here))  # rare: stop at what fn did not
    n = len(nodes)
    if n >= np.iinfo(INDEX).max:
        raise ValueError(f"a graph of {n:,} nodes is too large to compile")
    # Each column is read by one ``map`` in C (no Python call per node): the MNIST-shaped graph
    # of 8 million nodes is read in 6.2 s instead of 10.1 s (2 s of it the walk).
    ops = list(map(_op, nodes))
    firsts, seconds = (np.fromiter(map(id, column), np.uintp, n) for column in inputs_of(nodes))
    if outside:
        for i in [i for i, node in enumerate(nodes) if node in outside]:
            ops[i], firsts[i], seconds[i] = "", _NONE, _NONE
    codes = {"": 0}  # numbered in order of first use, which orders a depth's groups
    for name in dict.fromkeys(ops):
        codes.setdefault(name, len(codes))
    op = np.fromiter(map(codes.__getitem__, ops), np.int16, n)
    data = np.fromiter(map(_data, nodes), np.float64, n)
    # Positions by identity, found in a sorted array of ids rather than a dict: a dict of
    # millions of nodes would cost about a hundred bytes per node while tracing.
    ids = np.fromiter(map(id, nodes), np.uintp, n)
    by_id = np.argsort(ids)
    sorted_ids = ids[by_id]

    def position(of: np.ndarray) -> np.ndarray:
        found: np.ndarray = by_id[np.searchsorted(sorted_ids, of).clip(0, n - 1)]
        return found

    a = np.where(firsts == _NONE, -1, position(firsts))
    b = np.where(seconds == _NONE, -1, position(seconds))
    outputs = position(np.fromiter(map(id, results), np.uintp))
    return Graph(nodes, list(codes), op, a, b, data, outputs)


_NONE = id(None)  # the id of a missing input: None is never a node
_op = attrgetter("op")


def _walk(results: list[Value]) -> list[Value]:
    """The nodes the results depend on, each after its inputs: the engine's walk, from a node
    that joins the results (made here and left out), so that shared subgraphs are walked once."""
    if len(results) == 1:
        return topological_order(results[0])
    with enable_grad():
        joins = [results[0]]
        for result in results[1:]:
            joins.append(joins[-1] + result)
    made = {id(join) for join in joins[1:]}
    return [node for node in topological_order(joins[-1]) if id(node) not in made]


def reachable(
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
            known = self.known[id(where)] = (where, within(where, self.made_here))
        return known[1]


def depths(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each node's depth: 0 for a leaf, else 1 + the largest depth of its inputs.

    Level by level (Kahn's algorithm): the nodes of depth d + 1 are those readers of depth-d
    nodes whose last input has just been placed. Vectorised per level, so a graph of millions
    of nodes and a thousand levels takes a few thousand numpy calls, not a Python step per node.
    The first inputs and the second are followed apart: a node is the first input of each reader
    at most once, so plain fancy-index updates count right without sorting (np.unique) at each
    level (the MNIST-shaped graph's depths: 2.3 s -> 1.1 s).
    """
    n = len(a)
    by_a, by_b = _readers(a), _readers(b)
    waiting = (a >= 0).astype(np.int8) + (b >= 0)
    depth = np.zeros(n, np.int32)
    level = np.flatnonzero(waiting == 0)
    d = 0
    while level.size:
        d += 1
        firsts = _read_by(level, *by_a)
        waiting[firsts] -= 1
        ready = firsts[waiting[firsts] == 0]  # its second input (if any) placed before
        seconds = _read_by(level, *by_b)  # a node with both inputs in this level is found here
        waiting[seconds] -= 1
        level = np.concatenate([ready, seconds[waiting[seconds] == 0]])
        depth[level] = d
    return depth


def _readers(inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nodes that read each node through ``inputs`` (one input position): node i's readers
    are ``readers[first[i] : first[i + 1]]``."""
    readers = np.argsort(inputs, kind="stable")  # the nodes without this input (-1) first
    first = np.cumsum(np.bincount(inputs + 1, minlength=inputs.size + 1))
    return readers, first


def _read_by(level: np.ndarray, readers: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The readers of every node of ``level``, concatenated (each node's range in turn)."""
    lo = first[level]
    counts = first[level + 1] - lo
    shift = np.repeat(lo - (np.cumsum(counts) - counts), counts)  # from 0, 1, 2... to the ranges
    found: np.ndarray = readers[shift + np.arange(counts.sum())]
    return found


def everywhere(node: Value) -> bool:
    return True


# --- what the finders of grids and running sums share ------------------------------------------


def uses_of(graph: Graph) -> np.ndarray:
    """How many times each node is read: as an input, or as a result (read by fn's caller)."""
    n, a, b = graph.op.size, graph.a, graph.b
    uses = np.bincount(a[a >= 0], minlength=n) + np.bincount(b[b >= 0], minlength=n)
    uses[graph.outputs] += 1
    return uses


def walk_back(ends: np.ndarray, a: np.ndarray, has_prev: np.ndarray) -> np.ndarray:
    """Every chain walked back from its end at once, one link per step, through the first
    input ``a`` while ``has_prev`` says the link continues a chain: [chain, link], head first,
    -1 padding before the heads of chains shorter than the longest."""
    chains = [ends]
    current, alive = ends, np.ones(ends.size, bool)
    while True:
        alive = alive & has_prev[np.maximum(current, 0)]
        if not alive.any():
            break
        current = np.where(alive, a[current], -1)
        chains.append(current)
    return np.stack(chains[::-1], axis=1)
