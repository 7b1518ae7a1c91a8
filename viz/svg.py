"""Graphviz's SVG as the animation reads it: its grad cells tagged, its nodes and size found.

:mod:`viz.dot` gives every node an ``id``, which Graphviz keeps in its SVG (``<g id="v3"
class="node">``). The animation changes a drawing only in its grad cells, so :func:`tag_cells`
gives each cell's fill and text an id of their own (``<cell>-bg`` and ``<cell>``). The page
(:mod:`viz.animate`) changes those elements in the browser; the GIF (:mod:`viz.gif`) finds where
they and the nodes are drawn and paints over them. What both need to read the SVG is here once.
"""

from __future__ import annotations

import re

from .graph import Graph, grad_cells

__all__ = ["NUMBER", "NODE", "VIEWBOX", "tag_cells"]

NUMBER = r"(-?[\d.]+)"
"""A number as Graphviz writes it in SVG (a coordinate, a size), as a regular-expression group."""

NODE = re.compile(r'<g id="([^"]+)" class="node">(.*?)</g>', re.S)
"""A node's group in the SVG: its id (group 1) and everything it draws (group 2)."""

VIEWBOX = re.compile(rf'viewBox="{NUMBER} {NUMBER} {NUMBER} {NUMBER}"')
"""The picture's box, in points: groups 3 and 4 are its width and height."""

_GRAD_CELL = re.compile(
    r'<polygon fill="([^"]*)" stroke="transparent" points="([^"]*)"/>\s*'
    r'<text text-anchor="start" x="([^"]*)"([^>]*)>grad '
)


def _cell_ids(graph: Graph) -> dict[str, list[str]]:
    """The grad cells of each node, in the order the node's label draws them."""
    by_node: dict[str, list[str]] = {}
    for cell in grad_cells(graph):
        by_node.setdefault(cell.rsplit("-", 1)[0], []).append(cell)
    return by_node


def tag_cells(svg: str, graph: Graph) -> str:
    """Graphviz's SVG of ``graph`` with an id on each grad cell's fill (``<cell>-bg``) and text
    (``<cell>``), the ids of :func:`viz.graph.grad_cells`; the text centred in its cell so that
    it stays centred when it changes."""
    cells = _cell_ids(graph)

    def node(match: re.Match[str]) -> str:
        ids = iter(cells.get(match[1], ()))

        def cell(found: re.Match[str]) -> str:
            name = next(ids, None)
            if name is None:
                return found[0]
            xs = [float(point.split(",")[0]) for point in found[2].split()]
            middle = (min(xs) + max(xs)) / 2
            return (
                f'<polygon id="{name}-bg" fill="{found[1]}" stroke="transparent" '
                f'points="{found[2]}"/>\n'
                f'<text id="{name}" text-anchor="middle" x="{middle:.2f}"{found[4]}>grad '
            )

        return f'<g id="{match[1]}" class="node">{_GRAD_CELL.sub(cell, match[2])}</g>'

    return NODE.sub(node, svg)
