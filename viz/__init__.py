"""viz: Graphviz diagrams of tinygrad_edu computation graphs (forward values and gradients).

>>> from tinygrad_edu import Value
>>> import viz
>>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
>>> y = (x * w).tanh()
>>> y.backward()
>>> digraph = viz.draw(y)               # a graphviz.Digraph: shows inline in Jupyter
>>> path = viz.render(y, "y.dot")        # .svg .png .pdf need Graphviz's `dot`; .dot/.gv do not
>>> page = viz.animate(y, "y.html")      # the backward pass step by step (or a .gif)
>>> player = viz.animate(y)              # an Animation: plays inline in Jupyter; .save(path)

Options (keywords of ``draw``, ``render`` and ``animate``, and flags of ``python -m viz``):
``rankdir="LR"`` or ``"TB"``, ``precision=4``, ``edge_grads=False``, ``color=True``,
``cluster=False``, ``collapse=False``, ``max_nodes=500``; :class:`viz.options.DrawOptions`
documents each one.

Reads the graph only through ``Value``'s public attributes (data, grad, label, op, inputs,
scope) and the ``Parameter`` class: what kind a leaf is and which module computed what are
recorded by the engine, never guessed from labels. The walk (which nodes, edges, clusters and
boxes) is :mod:`viz.graph`; the drawing is :mod:`viz.dot`. The backward pass: its frames and
captions are :mod:`viz.frames`, its page and player :mod:`viz.animate` (the pages' HTML, CSS and
JavaScript are files in ``viz/assets/``, put together by :mod:`viz.page`), its GIF :mod:`viz.gif`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import graphviz

from tinygrad_edu import Value

from .animate import Animation, animate
from .dot import GraphvizNotFoundError, to_digraph, write
from .explore import explore as explore
from .graph import TooManyNodesError, build_graph
from .options import DrawOptions

__all__ = [
    "draw",
    "render",
    "animate",
    "Animation",
    "DrawOptions",
    "GraphvizNotFoundError",
    "TooManyNodesError",
]


def draw(root: Value, **options: Any) -> graphviz.Digraph:
    """The computation graph of ``root`` as a ``graphviz.Digraph``.

    Every Value reachable from ``root`` is a box ``[label | data | grad]``; each operation is a
    small node between its inputs and its output. Call ``root.backward()`` first to see
    gradients. Options: see :class:`viz.options.DrawOptions`. Raises TooManyNodesError past
    ``max_nodes`` and TypeError for an unknown option.
    """
    settings = DrawOptions.from_keywords(options)
    return to_digraph(build_graph(root, settings), settings)


def render(root: Value, path: str | Path, **options: Any) -> Path:
    """Draw ``root`` (as :func:`draw` does, with the same options) into the file ``path``.

    The suffix picks the format: .svg .png .pdf (made by Graphviz's ``dot``; without it,
    GraphvizNotFoundError says how to install it) or .dot/.gv (DOT source, no Graphviz needed).
    Returns the path written.
    """
    return write(draw(root, **options), path)
