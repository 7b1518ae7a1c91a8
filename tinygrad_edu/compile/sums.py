"""Between graph arrays and the schedule: running sums, found in the arithmetic.

``sum(xs)``, a loss averaged over a batch, the denominator of a softmax: chains of additions
``t0 + t1 + t2 + ...`` in which each partial sum is read by nothing but the next addition.
Scheduled level by level, a chain of L terms is L - 1 steps (a numpy call each way for each),
or a run of nodes replayed one by one when it is narrow. Here the S chains of L terms that end
at one depth are one step: forward, the S x L terms gathered and added left to right along
each row (``np.add.accumulate``, which adds in that order: the interpreter's floats, bit for
bit); backward, every term receives its chain's gradient (d sum / d term = 1 for each).

Found from the operations and inputs alone, like the grids (:mod:`.grids`), after them: the
sums inside a grid are the grid's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .graph import Graph, uses_of, walk_back


class Sums(NamedTuple):
    """S running sums of L terms each, ending at one depth, as node positions of the graph.

    ``ends[s]`` is the sum of ``terms[s, 0] + terms[s, 1] + ...``, added left to right;
    ``inner`` are its partial sums, which nothing else reads."""

    ends: np.ndarray
    terms: np.ndarray
    inner: np.ndarray
    depth: int


def find_sums(graph: Graph, depth: np.ndarray, taken: np.ndarray) -> list[Sums]:
    """Every running sum of three terms or more (a + b alone stays one addition) among the
    additions that ``taken`` (a mask of nodes: the grids') leaves, grouped by the depth of its
    end and its length (see :class:`Sums`)."""
    if "+" not in graph.names:
        return []
    a, b = graph.a, graph.b
    link = (graph.op == graph.names.index("+")) & ~taken
    uses = uses_of(graph)
    before = np.maximum(a, 0)
    # a link continues the chain of its first input when that is a link read by it alone
    has_prev = link & link[before] & (uses[before] == 1) & (a >= 0)
    continued = np.zeros(link.size, bool)
    continued[a[has_prev]] = True
    ends = np.flatnonzero(has_prev & ~continued)  # chains of two links or more
    if ends.size == 0:
        return []
    links = walk_back(ends, a, has_prev)
    length = (links >= 0).sum(axis=1)
    found = []
    key = depth[ends].astype(np.int64) * (links.shape[1] + 1) + length
    for k in np.unique(key).tolist():
        rows = np.flatnonzero(key == k)
        m = int(length[rows[0]])
        chain = links[rows][:, -m:]  # [chain, link], head first
        terms = np.concatenate([a[chain[:, :1]], b[chain]], axis=1)
        inner = chain[:, :-1].ravel()
        found.append(Sums(chain[:, -1], terms, inner, int(depth[chain[0, -1]])))
    return found
