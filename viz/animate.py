"""The backward pass, one node at a time: a page of frames or a GIF.

``animate(root, path)`` writes it; ``animate(root)`` is an :class:`Animation`, which Jupyter
shows as a player. The frames and their captions come from :mod:`viz.frames` (the replay of
``backward()``: numbers and text). This module draws them. Frame 0 is the forward pass (values,
no gradients yet); in frame k, node k of backward's walk is outlined, the edges that carry its
gradient to its inputs are emphasised, every gradient computed so far is shown and the nodes the
gradient has not reached yet are faded.

The diagram is laid out and drawn once. A frame is only what changes: which node is current,
which gradients it fills in, its caption. The page applies those changes to its one SVG with a
small script, so it grows linearly with the graph (its HTML, CSS and JavaScript are files in
``viz/assets/``: :mod:`viz.page`); the GIF paints them onto one picture (:mod:`viz.gif`).

The names of the frames and of the GIF are imported here too, so that ``from viz.animate import
backward_frames, caption_fonts, Frame, Step, ...`` keeps working.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Iterable
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any, overload

from tinygrad_edu import Value, topological_order
from tinygrad_edu.formatting import format_number

from .dot import INK, Styling, cell_colors, fewer_colors, number_range, pipe, requested, to_digraph
from .frames import Frame, Step, backward_frames, final_grads, node_names, shown
from .frames import expression as expression
from .frames import local_formula as local_formula
from .gif import CJK_FONTS as CJK_FONTS
from .gif import CURRENT, caption_fonts, paint_gif, shorten
from .gif import GIF_DPI as GIF_DPI
from .gif import GIF_MAX_SIZE as GIF_MAX_SIZE
from .gif import GIF_MILLISECONDS as GIF_MILLISECONDS
from .graph import build_graph, grad_cells, op_id
from .options import DrawOptions
from .page import asset, fill, template, writable
from .svg import VIEWBOX, tag_cells

__all__ = [
    "animate",
    "Animation",
    "backward_frames",
    "final_grads",
    "caption_fonts",
    "shown",
    "shorten",
    "node_names",
    "Frame",
    "Step",
    "ANIMATION_FORMATS",
    "CURRENT",
]

ANIMATION_FORMATS = (".html", ".gif")
"""What ``animate`` can write, chosen by the file's suffix."""

PLAYER_AS = ("text/html", "image/png")
"""What Jupyter stores for an inline player: the player, and its first frame as PNG beside it."""

FIRST_FRAME_ALT = (
    "The computation graph before the backward pass: the first frame of the player, which plays"
    " once the notebook is trusted or run."
)

NOTEBOOK_WIDTH = 900
"""The width, in pixels, a player in a notebook is sized for (its height follows from it)."""


# --- one drawing, and what each frame changes in it ------------------------------------------


class _Movie:
    """The animation of one graph: its diagram, laid out once, and each frame's changes to it.

    A change sets one grad cell (an id of :func:`viz.graph.grad_cells`): its text, fill and ink.
    ``reach`` says from which frame on each node, operation node and edge is reached by the
    gradient (before that it is faded); ``current`` lists per frame the ids drawn as current.
    The page is built here; the GIF is painted from the same movie (:class:`viz.gif.Movie` says
    what it reads).
    """

    def __init__(self, root: Value, options: DrawOptions) -> None:
        order = topological_order(root)
        self.options = options
        self.graph = build_graph(root, options, order=order)  # TooManyNodesError, as draw
        self.names = node_names(root, order=order)
        self.graph.values = [
            node if node.name or node.count > 1 else replace(node, name=self.names[node.value])
            for node in self.graph.values
        ]
        self.frames = backward_frames(root, options.precision, order=order)
        self.changes, widths = self._changes()
        self.current, self.reach = self._emphasis()
        styling = Styling(grad=lambda _: 0.0, grad_width=lambda cell: widths.get(cell, 0))
        self.digraph = to_digraph(self.graph, options, styling)

    def height(self) -> int:
        """About how many pixels tall the page without heading is, in a notebook's width: the
        controls, the tallest caption, the diagram scaled to fit, the key line."""
        found = VIEWBOX.search(self.svg)
        width, height = (float(found[3]), float(found[4])) if found else (600.0, 300.0)
        scale = min(1.0, NOTEBOOK_WIDTH / (width * 4 / 3))  # points to pixels, then to fit
        lines = max(sum(shown(text).count("\n") + 1 for text in f.caption) for f in self.frames)
        caption = max(72, 24 + 22 * lines)
        return round(40 + 58 + 12 + caption + 12 + height * 4 / 3 * scale + 26 + 40 + 32)

    def _changes(self) -> tuple[list[list[list[str]]], dict[str, int]]:
        cells = grad_cells(self.graph)
        cell_of = {value: cell for cell, values in cells.items() for value in values}
        precision = self.options.precision
        final = final_grads(self.frames)
        largest = max((abs(g) for g in final.values() if not math.isnan(g)), default=0.0)
        widths = dict.fromkeys(cells, len(format_number(0.0, precision)))
        grads: dict[Value, float] = {}
        changes = []
        for frame in self.frames:
            touched: dict[str, None] = {}
            for value, grad in frame.updates:
                grads[value] = grad
                if value in cell_of:
                    touched[cell_of[value]] = None
            frame_changes = []
            for cell in touched:
                # A folded cell's range is found again from its Values: the work per frame is
                # the size of the cells that frame touches.
                now = [grads.get(value, 0.0) for value in cells[cell]]
                text = number_range(now, precision)
                widths[cell] = max(widths[cell], len(text))
                fill, ink = cell_colors(now, largest) if self.options.color else ("#ffffff", INK)
                frame_changes.append([cell, f"grad {text}", fill, ink])
            changes.append(frame_changes)
        return changes, widths

    def _emphasis(self) -> tuple[list[list[str]], dict[str, int]]:
        graph = self.graph
        ops = {op.id for op in graph.ops}
        into: dict[str, list[str]] = {}
        for k, edge in enumerate(graph.edges):
            into.setdefault(edge.head, []).append(f"e{k}")
        reach: dict[str, int] = {}
        current: list[list[str]] = [[]]
        for k, frame in enumerate(self.frames[1:], start=1):
            if frame.node is None:
                continue
            unit = graph.drawn_as[frame.node]
            operation = op_id(unit)
            ids = [unit, operation] if operation in ops else [unit]
            current.append([*ids, *into.get(unit, ()), *into.get(operation, ())])
            for value, _ in frame.updates:
                reached = graph.drawn_as[value]
                if reached not in reach:
                    reach[reached] = k
                    if op_id(reached) in ops:
                        reach[op_id(reached)] = k
        for k, edge in enumerate(graph.edges):
            head = edge.head if edge.head not in ops else "v" + edge.head[2:]
            reach[f"e{k}"] = reach.get(head, len(self.frames))
        return current, reach

    @cached_property
    def svg(self) -> str:
        """The diagram as SVG, every grad cell's text and fill given the cell's id."""
        return tag_cells(pipe(self.digraph, "svg").decode("utf-8"), self.graph)

    def png(self, dpi: float) -> bytes:
        """The diagram as a PNG picture at ``dpi`` dots per inch (the GIF's, before painting)."""
        digraph = self.digraph.copy()
        digraph.attr(dpi=f"{dpi:.4f}")
        return pipe(digraph, "png")

    def page(self, heading: bool = True) -> str:
        """The self-contained HTML page (with its title and a line on what it shows, unless
        ``heading`` is False: a player inside a notebook has its own context); its captions as
        :func:`viz.frames.shown` gives them, and nothing in it that UTF-8 cannot write."""
        frames = [
            {"c": changes, "n": current, "t": [shown(text) for text in frame.caption]}
            for frame, changes, current in zip(self.frames, self.changes, self.current)
        ]
        data = json.dumps({"frames": frames, "reach": self.reach}, ensure_ascii=False)
        data = data.replace("<", "\\u003c")  # no "</script>" can end the block early
        page = fill(
            template("animation.html"),
            {
                "heading": asset("animation_heading.html") if heading else "",
                "svg": _inline_svg(self.svg),
                "last": str(len(self.frames) - 1),
                "data": data,
            },
        )
        return writable(page)


def _inline_svg(svg: str) -> str:
    """The SVG as an element of an HTML page: no XML prolog, DOCTYPE or namespace addresses
    (HTML needs none), no comments, and no <title> elements (their tooltips would only show
    internal ids)."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg)
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
    return re.sub(r"<title>.*?</title>\n?", "", svg, flags=re.S)


class Animation:
    """The backward pass of one graph, ready to play: inline in Jupyter (this object is shown as
    a player), or saved with :meth:`save` as a page or a GIF.

    The player is its own document, an ``<iframe>`` whose ``srcdoc`` is the self-contained
    page: its styles and script cannot touch the notebook, several players on one page work
    independently, and its keys (arrows, space) act only while it has the focus.
    """

    def __init__(self, root: Value, options: DrawOptions) -> None:
        self._movie = _Movie(root, options)

    @property
    def frames(self) -> list[Frame]:
        """The frames: the forward pass, then one per node in the order backward() visits."""
        return self._movie.frames

    def html(self) -> str:
        """The self-contained page, as :meth:`save` writes it to a .html file."""
        return self._movie.page()

    def gif(self) -> bytes:
        """The GIF, as :meth:`save` writes it to a .gif file (needs Pillow)."""
        return paint_gif(self._movie)

    def save(self, path: str | Path) -> Path:
        """Write the animation to ``path``: ``.html`` (a self-contained page) or ``.gif``, by
        its suffix; any other suffix is a ValueError. Returns the path."""
        path = _animation_path(path)
        if path.suffix.lower() == ".html":
            path.write_text(self.html(), encoding="utf-8")
        else:
            path.write_bytes(self.gif())
        return path

    def _repr_html_(self) -> str:
        """The player, for Jupyter: an iframe holding the page (without its heading)."""
        page = self._movie.page(heading=False)
        return (
            f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
            f'title="backpropagation, one node at a time" loading="lazy" '
            f'style="width: 100%; height: {self._movie.height()}px; border: 0; '
            f'resize: vertical; overflow: auto"></iframe>'
        )

    def _repr_mimebundle_(
        self,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        **_: Any,
    ) -> dict[str, str | bytes]:
        """The player (text/html) and its first frame, the forward pass, as a picture (image/png,
        at 96 dots per inch), for where the player cannot run.

        A notebook opened before it runs is untrusted, and JupyterLab then still shows the HTML,
        but sanitized: the iframe is removed. So the HTML also holds the picture, as an
        ``<img hidden>`` before the player: hidden where the player runs; the sanitizer drops the
        ``hidden`` attribute with the iframe, and the picture is what is left. A viewer that
        shows no HTML at all shows the image/png.
        """
        wanted = requested(PLAYER_AS, include, exclude)
        picture = fewer_colors(self._movie.png(96))
        bundle: dict[str, str | bytes] = {}
        if "text/html" in wanted:
            data = base64.b64encode(picture).decode("ascii")
            bundle["text/html"] = (
                f'<img hidden src="data:image/png;base64,{data}" alt="{FIRST_FRAME_ALT}">'
                + self._repr_html_()
            )
        if "image/png" in wanted:
            bundle["image/png"] = picture
        return bundle

    def __repr__(self) -> str:
        return (
            f"<Animation of {len(self.frames)} frames: shown as a player in Jupyter; "
            f".save('backprop.html') or .save('backprop.gif')>"
        )


def _animation_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in ANIMATION_FORMATS:
        raise ValueError(
            f"cannot tell the animation format of {str(path)!r}: "
            f"use one of {', '.join(ANIMATION_FORMATS)}"
        )
    return path


@overload
def animate(root: Value, path: None = None, **options: Any) -> Animation: ...
@overload
def animate(root: Value, path: str | Path, **options: Any) -> Path: ...
def animate(root: Value, path: str | Path | None = None, **options: Any) -> Animation | Path:
    """Step through ``root``'s backward pass, one node per frame.

    Without ``path``: an :class:`Animation`, which Jupyter shows as a player (and which
    ``.save(path)`` writes). With ``path``: the animation written there, and the path returned:
    ``.html``, one self-contained page (no network): the diagram once, as inline SVG, and per
    frame its changes, with play/pause, previous/next, a slider, the arrow keys and the caption;
    ``.gif``, the same frames on the same layout, each with its caption. Options: those of
    :func:`viz.draw`. The graph is only read: ``.grad`` fields stay as they were. Raises
    ValueError for another suffix, TooManyNodesError past ``max_nodes``.
    """
    settings = DrawOptions.from_keywords(options)
    if path is None:
        return Animation(root, settings)
    target = _animation_path(path)  # checked before any work
    return Animation(root, settings).save(target)
