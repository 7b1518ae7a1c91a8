"""Between graph arrays and the schedule: dense multiply-add grids, found in the arithmetic.

A layer's weighted sums are, node by node, running sums ``b + w0*x0 + w1*x1 + ...`` (each
partial sum and each product used by nothing but the next addition), one per sample and
neuron. When such chains make a complete grid, S samples by J neurons with K products each,
chain (s, j) multiplying row j of one S-independent matrix U (the weights) by row s of one
J-independent matrix V (the inputs), the grid is the matrix product ``B + V @ Uᵀ`` forward and
``G @ U``, ``Gᵀ @ V``, ``G`` backward: a few BLAS calls instead of 2·S·J·K nodes in 2·K
groups. Found from the operations and inputs alone (never from labels or scopes), so a user's
hand-written loops over weights make grids too.

The sums come out in BLAS's order instead of left to right: equal to the interpreter's to
rounding (1e-12 relative, the project's tolerance), not bit for bit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .graph import Graph, uses_of, walk_back

MINIMUM = 64
"""Products in a grid below which it stays node by node in groups (not worth a BLAS call)."""


class Grid(NamedTuple):
    """S x J running sums of K products each, as node positions of the traced graph.

    ``ends[s, j]`` is the sum for sample s and neuron j (its value is ``bias[s, j]`` plus
    Σ_k ``v[s, k]`` · ``u[j, k]``); ``inner`` are the products and partial sums it stands for,
    which nothing else reads; ``depth`` the depth of every end."""

    ends: np.ndarray
    u: np.ndarray
    v: np.ndarray
    bias: np.ndarray
    inner: np.ndarray
    depth: int


def find_grids(graph: Graph, depth: np.ndarray) -> list[Grid]:
    """Every complete grid of running sums of products in ``graph`` (see :class:`Grid`)."""
    if "+" not in graph.names or "*" not in graph.names:
        return []
    plus, times = graph.names.index("+"), graph.names.index("*")
    n = graph.op.size
    a, b = graph.a, graph.b
    uses = uses_of(graph)
    single_product = (graph.op == times) & (uses == 1)
    # a link of a chain: an addition whose second term is a product used by it alone
    link = (graph.op == plus) & single_product[np.maximum(b, 0)] & (b >= 0)
    # ...whose first term is the chain so far when that is a link used by it alone
    has_prev = link & link[np.maximum(a, 0)] & (uses[np.maximum(a, 0)] == 1) & (a >= 0)
    continued = np.zeros(n, bool)
    continued[a[has_prev]] = True
    ends = np.flatnonzero(link & ~continued)
    if ends.size == 0:
        return []
    links = walk_back(ends, a, has_prev)  # [chain, position], head first, -1 padding first
    length = (links >= 0).sum(axis=1)
    grids = []
    for k in np.unique(length).tolist():
        if k < 2:
            continue
        rows = np.flatnonzero(length == k)
        found = _grids_of(graph, depth, links[rows][:, -k:])
        grids += found
    return grids


def _grids_of(graph: Graph, depth: np.ndarray, links: np.ndarray) -> list[Grid]:
    """The complete grids among chains of the same length (``links``: [chain, k], head first)."""
    products = graph.b[links]
    u_rows, u_id = unique_rows(graph.a[products])
    v_rows, v_id = unique_rows(graph.b[products])
    u_id, v_id = u_id.ravel(), v_id.ravel()
    # Connected parts of the bipartite graph (u row, v row), one chain an edge.
    parent = list(range(len(u_rows) + len(v_rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for u, v in zip(u_id.tolist(), (v_id + len(u_rows)).tolist()):
        parent[root(u)] = root(v)
    part = np.array([root(u) for u in u_id.tolist()])
    grids = []
    for p in np.unique(part).tolist():
        chains = np.flatnonzero(part == p)
        us, u_index = np.unique(u_id[chains], return_inverse=True)
        vs, v_index = np.unique(v_id[chains], return_inverse=True)
        S, J, K = vs.size, us.size, links.shape[1]
        if chains.size != S * J or S * J * K < MINIMUM:
            continue  # not complete (or too small to be worth it)
        cell = np.full((S, J), -1, np.int64)
        cell[v_index.ravel(), u_index.ravel()] = chains
        if (cell < 0).any():
            continue  # a pair twice: not a grid
        ends = links[cell, -1]
        if np.unique(depth[ends]).size != 1:
            continue  # ends at several depths: left to the groups
        # the partial sums (every link but the last) and the products
        inner = np.concatenate([links[chains, :-1].ravel(), products[chains].ravel()])
        grids.append(
            Grid(
                ends,
                u_rows[us],
                v_rows[vs],
                graph.a[links[cell, 0]],
                inner,
                int(depth[ends[0, 0]]),
            )
        )
    return grids


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)``, found from the first column when it
    tells the rows apart (a layer's weight rows, its samples' input rows): sorting whole rows
    took 0.6 s of the MNIST-shaped graph's 1.3 s here. Rows that share a first column and
    differ after it are sorted whole."""
    _, index, inverse = np.unique(rows[:, 0], return_index=True, return_inverse=True)
    unique = rows[index]
    if not (unique[inverse] == rows).all():
        return np.unique(rows, axis=0, return_inverse=True)
    return unique, inverse
