"""The backward pass, one node at a time: a page of frames or a GIF.

The frames replay exactly what ``y.backward()`` does, on a copy of the numbers (the graph's own
``.grad`` fields are never written)::

    grad[y] = 1                                   # the seed: dy/dy = 1
    for node in reversed(topological_order(y)):   # each node after everything it feeds
        for input, local in zip(node.inputs, local_derivatives(node)):
            grad[input] += local * grad[node]     # the chain rule

Frame 0 is the forward pass (values, no gradients yet). Frame k is node k of that walk: the node
is outlined, the edges that carry its gradient to its inputs are emphasised, every gradient
computed so far is shown and the nodes the gradient has not reached yet are faded. Its caption is
the chain-rule step in numbers, e.g. ``n.grad += (1 - tanh² n) · o.grad = 0.5 · 1.0 = 0.5``,
with the local derivative's formula taken from ``tinygrad_edu.OPS``.

The diagram is laid out and drawn once. A frame is only what changes: which node is current,
which gradients it fills in, its caption. The page applies those changes to its one SVG with a
small script, so it grows linearly with the graph; the GIF draws them onto one picture.

Unlabelled nodes get names made from their operation (``mul1``, ``add2``, ``tanh1``; constants
``c1``, ``c2``), shown both in the captions and in the diagram.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, overload

from tinygrad_edu import OPS, Value, local_derivatives, topological_order
from tinygrad_edu.formatting import format_number

from .dot import INK, Styling, cell_colors, number_range, pipe, to_digraph
from .graph import Graph, build_graph, grad_cells, kind_of, op_id
from .options import DrawOptions
from .page import asset, template

__all__ = [
    "animate",
    "Animation",
    "backward_frames",
    "final_grads",
    "caption_fonts",
    "node_names",
    "Frame",
    "Step",
    "ANIMATION_FORMATS",
    "CURRENT",
]

ANIMATION_FORMATS = (".html", ".gif")
"""What ``animate`` can write, chosen by the file's suffix."""

NOTEBOOK_WIDTH = 900
"""The width, in pixels, a player in a notebook is sized for (its height follows from it)."""

CURRENT = "#e8590c"
"""The outline of the node being processed and of the edges that carry its gradient."""

_OP_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}
_INFIX = {"+", "-", "*", "/", "**"}


# --- the replay: numbers only --------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Step:
    """One use of the chain rule: ``source.grad += local · upstream``.

    ``upstream`` is ``node.grad`` (complete when the step runs), ``local`` is d node / d source
    from ``local_derivatives``, ``contribution = local * upstream`` and ``total`` is the
    source's gradient after the step (more than the contribution when a Value is used twice).
    """

    node: Value
    source: Value
    local: float
    upstream: float
    contribution: float
    before: float | None
    total: float


@dataclass(frozen=True, eq=False)
class Frame:
    """One picture of the animation, as what changes from the picture before.

    ``node`` is the Value processed in this frame (None for the forward-pass frame); ``upstream``
    its gradient, complete when it is processed; ``steps`` are the chain-rule steps of this frame
    and ``caption`` their lines of text (a title, then one line per step). ``updates`` are the
    gradients this frame sets, in order: the seed 1 at the root in the first backward frame,
    then each step's total.
    """

    node: Value | None
    upstream: float
    steps: tuple[Step, ...]
    caption: tuple[str, ...]

    @property
    def updates(self) -> tuple[tuple[Value, float], ...]:
        """(Value, its gradient after this frame) for every gradient the frame shows anew: the
        node's own (complete now; for the root, the seed 1) and each step's total."""
        if self.node is None:
            return ()
        return ((self.node, self.upstream), *((s.source, s.total) for s in self.steps))


def _names(order: Sequence[Value]) -> dict[Value, str]:
    taken = {value.label for value in order if value.label}
    counts: dict[str, int] = {}
    names: dict[Value, str] = {}
    for value in order:
        if value.label:
            names[value] = value.label
            continue
        stem = _OP_NAMES.get(value.op, value.op) if value.op else "c"
        while True:
            counts[stem] = counts.get(stem, 0) + 1
            name = f"{stem}{counts[stem]}"
            if name not in taken:
                break
        names[value] = name
    return names


def node_names(root: Value) -> dict[Value, str]:
    """A readable name for every Value reachable from ``root``: its label, else one made from its
    operation (``mul1``, ``tanh1``; ``c1`` for a constant), numbered in topological order and
    never equal to a label in the graph."""
    return _names(topological_order(root))


def backward_frames(root: Value, precision: int = 4) -> list[Frame]:
    """The forward-pass frame, then one frame per node in the order ``backward()`` visits them.

    The gradients are those of one ``root.backward()`` from zero, computed with the engine's own
    ``local_derivatives`` in the engine's own order, so :func:`final_grads` of the frames equals
    what ``backward()`` leaves in every ``.grad``, bit for bit. ``precision`` is the number of
    digits after the point in the captions (trailing zeros dropped). Nothing in the graph is
    written.
    """
    order = topological_order(root)
    return _frames(root, order, _names(order), precision)


def _frames(
    root: Value, order: Sequence[Value], names: Mapping[Value, str], precision: int
) -> list[Frame]:
    frames = [Frame(None, 0.0, (), _forward_caption(root, names, precision))]
    grads: dict[Value, float] = {root: 1.0}  # the seed: d root / d root = 1
    for node in reversed(order):
        upstream = grads[node]  # complete: every node that uses it came earlier
        steps = []
        for source, local in zip(node.inputs, local_derivatives(node)):
            contribution = local * upstream
            before = grads.get(source)
            grads[source] = (0.0 if before is None else before) + contribution
            steps.append(Step(node, source, local, upstream, contribution, before, grads[source]))
        caption = _caption(node, root, upstream, tuple(steps), names, precision)
        frames.append(Frame(node, upstream, tuple(steps), caption))
    return frames


def final_grads(frames: Sequence[Frame]) -> dict[Value, float]:
    """Every gradient after the last frame: the frames' updates replayed in order."""
    return {value: grad for frame in frames for value, grad in frame.updates}


# --- captions --------------------------------------------------------------------------------


def _short(x: float, precision: int) -> str:
    return format_number(x, precision, trim=True)


def expression(node: Value, names: Mapping[Value, str]) -> str:
    """How ``node`` was computed, in its inputs' names: ``mul1 + b``, ``tanh(n)``, ``-x``."""
    args = [names[i] for i in node.inputs]
    if node.op in _INFIX:
        return f"{args[0]} {node.op} {args[1]}"
    if node.op == "neg":
        return f"-{args[0]}"
    return f"{node.op}({', '.join(args)})"


def local_formula(node: Value, index: int, names: Mapping[Value, str]) -> str:
    """d node / d input ``index`` as text, from the formula in ``OPS`` with the inputs' names put
    in for its variables: ``1 - tanh² n`` for tanh(n), ``w1`` for d(x1 * w1)/d x1. An operation
    defined without a formula reads ``d node/d input``."""
    formula = OPS[node.op].formula
    if not formula:
        return f"d {names[node]}/d {names[node.inputs[index]]}"
    parts = [part.strip() for part in formula.split(", d/d")]
    variables = [part.split("=", 1)[0].strip().removeprefix("d/d") for part in parts]
    rule = parts[index].split("=", 1)[1].strip()
    rename = dict(zip(variables, (names[i] for i in node.inputs)))
    # A variable is a whole word: the y of "y²" and "x^y" but not of "sign" or "slope".
    pattern = r"(?<![\w.])(" + "|".join(re.escape(v) for v in rename) + r")(?![A-Za-z0-9_])"
    return re.sub(pattern, lambda m: rename[m[1]], rule)


def _signed(x: float, precision: int) -> str:
    """A number as the second factor of a product: ``0.5``, ``(-1.5)``."""
    text = _short(x, precision)
    return f"({text})" if text.startswith("-") else text


def _factor(text: str) -> str:
    """A formula as a factor of a product: in parentheses unless it is one name or number."""
    return text if re.fullmatch(r"[\w.]+", text) else f"({text})"


def _forward_caption(root: Value, names: Mapping[Value, str], precision: int) -> tuple[str, ...]:
    return (
        f"Forward pass: every value computed from its inputs, up to "
        f"{names[root]} = {_short(root.data, precision)}.",
        "No gradients yet: backward() starts at the output.",
    )


def _caption(
    node: Value,
    root: Value,
    grad: float,
    steps: tuple[Step, ...],
    names: Mapping[Value, str],
    precision: int,
) -> tuple[str, ...]:
    """The title line (which node, its gradient) and one line per chain-rule step."""
    name = names[node]
    if not node.op:
        what = "the output" if node is root else f"a leaf ({kind_of(node)})"
        number = _short(grad, precision)
        return (f"{name} is {what}: {name}.grad = {number} is complete; nothing to pass on",)
    if node is root:
        title = f"{name} = {expression(node, names)}, the output: seed {name}.grad = 1.0"
    else:
        number = _short(grad, precision)
        title = (
            f"{name} = {expression(node, names)}: {name}.grad = {number} is complete; pass it on"
        )
    return (title, *_step_lines(steps, names, precision))


def _step_lines(steps: tuple[Step, ...], names: Mapping[Value, str], precision: int) -> list[str]:
    lines = []
    for index, step in enumerate(steps):
        source, node = names[step.source], names[step.node]
        formula = _factor(local_formula(step.node, index, names))
        line = (
            f"{source}.grad += {formula} · {node}.grad = "
            f"{_short(step.local, precision)} · {_signed(step.upstream, precision)} = "
            f"{_short(step.contribution, precision)}"
        )
        if step.before is not None:  # a Value used more than once
            line += f"  (so far {source}.grad = {_short(step.total, precision)})"
        lines.append(line)
    return lines


# --- one drawing, and what each frame changes in it ------------------------------------------


class _Movie:
    """The animation of one graph: its diagram, laid out once, and each frame's changes to it.

    A change sets one grad cell (an id of :func:`viz.graph.grad_cells`): its text, fill and ink.
    ``reach`` says from which frame on each node, operation node and edge is reached by the
    gradient (before that it is faded); ``current`` lists per frame the ids drawn as current.
    """

    def __init__(self, root: Value, options: DrawOptions) -> None:
        order = topological_order(root)
        self.options = options
        self.graph = build_graph(root, options, order=order)  # TooManyNodesError, as draw
        self.names = _names(order)
        self.graph.values = [
            node if node.name or node.count > 1 else replace(node, name=self.names[node.value])
            for node in self.graph.values
        ]
        self.frames = _frames(root, order, self.names, options.precision)
        self.changes, widths = self._changes()
        self.current, self.reach = self._emphasis()
        styling = Styling(grad=lambda _: 0.0, grad_width=lambda cell: widths.get(cell, 0))
        self.digraph = to_digraph(self.graph, options, styling)

    def height(self) -> int:
        """About how many pixels tall the page without heading is, in a notebook's width: the
        controls, the tallest caption, the diagram scaled to fit, the key line."""
        found = _VIEWBOX.search(self.svg)
        width, height = (float(found[3]), float(found[4])) if found else (600.0, 300.0)
        scale = min(1.0, NOTEBOOK_WIDTH / (width * 4 / 3))  # points to pixels, then to fit
        lines = max(sum(text.count("\n") + 1 for text in f.caption) for f in self.frames)
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
                shown = [grads.get(value, 0.0) for value in cells[cell]]
                text = number_range(shown, precision)
                widths[cell] = max(widths[cell], len(text))
                fill, ink = cell_colors(shown, largest) if self.options.color else ("#ffffff", INK)
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
        return _tag_cells(pipe(self.digraph, "svg").decode("utf-8"), self.graph)

    def page(self, heading: bool = True) -> str:
        """The self-contained HTML page (with its title and a line on what it shows, unless
        ``heading`` is False: a player inside a notebook has its own context)."""
        frames = [
            {"c": changes, "n": current, "t": list(frame.caption)}
            for frame, changes, current in zip(self.frames, self.changes, self.current)
        ]
        data = json.dumps({"frames": frames, "reach": self.reach}, ensure_ascii=False)
        data = data.replace("<", "\\u003c")  # no "</script>" can end the block early
        return (
            template("animation.html")
            .replace("{heading}", asset("animation_heading.html") if heading else "")
            .replace("{svg}", _inline_svg(self.svg))
            .replace("{last}", str(len(self.frames) - 1))
            .replace("{data}", data)
        )


def _cell_ids(graph: Graph) -> dict[str, list[str]]:
    """The grad cells of each node, in the order the node's label draws them."""
    by_node: dict[str, list[str]] = {}
    for cell in grad_cells(graph):
        by_node.setdefault(cell.rsplit("-", 1)[0], []).append(cell)
    return by_node


_NODE = re.compile(r'<g id="([^"]+)" class="node">(.*?)</g>', re.S)
_GRAD_CELL = re.compile(
    r'<polygon fill="([^"]*)" stroke="transparent" points="([^"]*)"/>\s*'
    r'<text text-anchor="start" x="([^"]*)"([^>]*)>grad '
)


def _tag_cells(svg: str, graph: Graph) -> str:
    """Graphviz's SVG with an id on each grad cell's fill (``<cell>-bg``) and text (``<cell>``),
    the text centred in its cell so that it stays centred when it changes."""
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

    return _NODE.sub(node, svg)


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
        return _gif(self._movie)

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


# --- the GIF ---------------------------------------------------------------------------------


GIF_DPI = 96
"""Resolution of the GIF's diagram: readable text, a file of a few hundred kB for a neuron."""

GIF_MAX_SIZE = (1600, 1000)
"""The largest diagram in a GIF, in pixels: a wider graph (an MLP drawn left to right) is drawn
at a lower resolution by ``dot`` itself, so its text stays sharp and the file small enough to
share."""

GIF_MILLISECONDS = (2500, 1800, 4000)
"""How long the GIF shows the forward frame, each backward step, and the last frame."""

_FONT_SIZE = 17
_MARGIN = 16
_LINE = 24
_FADE = 0.72  # how far a node not reached yet is blended into the white background

_NUMBER = r"(-?[\d.]+)"
_TRANSLATE = re.compile(rf"translate\({_NUMBER} {_NUMBER}\)")
_VIEWBOX = re.compile(rf'viewBox="{_NUMBER} {_NUMBER} {_NUMBER} {_NUMBER}"')
_POINTS = re.compile(r'points="([^"]*)"')
_ELLIPSE = re.compile(rf'<ellipse[^>]* cx="{_NUMBER}" cy="{_NUMBER}" rx="{_NUMBER}" ry="{_NUMBER}"')
_CELL = re.compile(r'<polygon id="([^"]+)-bg" fill="[^"]*" stroke="transparent" points="([^"]*)"')
_CELL_TEXT = re.compile(rf'<text id="([^"]+)" text-anchor="middle" x="{_NUMBER}" y="{_NUMBER}"'
                        rf'[^>]*font-size="{_NUMBER}"')  # fmt: skip

Box = tuple[float, float, float, float]


def _bounds(xs: Sequence[float], ys: Sequence[float]) -> Box:
    return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class _Geometry:
    """Where Graphviz put things, in the SVG's points: each node's bounds (by id), each grad
    cell's bounds with the baseline and size of its text, and the picture's size."""

    width: float
    height: float
    origin: tuple[float, float]  # the translation of the SVG's drawing
    nodes: dict[str, Box]
    ellipses: set[str]
    cells: dict[str, Box]
    texts: dict[str, tuple[float, float, float]]  # x (centre), baseline, font size

    @classmethod
    def of(cls, svg: str) -> _Geometry:
        box = _VIEWBOX.search(svg)
        moved = _TRANSLATE.search(svg)
        if box is None or moved is None:
            raise ValueError("Graphviz's SVG has no viewBox or translation")
        nodes: dict[str, Box] = {}
        ellipses = set()
        for match in _NODE.finditer(svg):
            xs: list[float] = []
            ys: list[float] = []
            for points in _POINTS.findall(match[2]):
                for point in points.split():
                    x, y = point.split(",")
                    xs.append(float(x))
                    ys.append(float(y))
            for cx, cy, rx, ry in _ELLIPSE.findall(match[2]):
                ellipses.add(match[1])
                xs += [float(cx) - float(rx), float(cx) + float(rx)]
                ys += [float(cy) - float(ry), float(cy) + float(ry)]
            if xs:
                nodes[match[1]] = _bounds(xs, ys)
        cells = {}
        for name, points in _CELL.findall(svg):
            corners = [point.split(",") for point in points.split()]
            cells[name] = _bounds([float(x) for x, _ in corners], [float(y) for _, y in corners])
        texts = {
            name: (float(x), float(y), float(size)) for name, x, y, size in _CELL_TEXT.findall(svg)
        }
        origin = (float(moved[1]), float(moved[2]))
        return cls(float(box[3]), float(box[4]), origin, nodes, ellipses, cells, texts)


def _font(size: float, *files: str) -> Any:
    """The first of ``files`` (a path, or a TrueType name looked up in the system's font
    folders) that Pillow can load, else Pillow's own scalable font (Pillow >= 10.1)."""
    from PIL import ImageFont

    for name in files:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _font_file(pattern: str) -> tuple[str, str, int] | None:
    """(family, file, face index) of the font fontconfig picks for ``pattern`` (the font
    Graphviz draws with), if fontconfig is there."""
    if shutil.which("fc-match") is None:
        return None
    done = subprocess.run(
        ["fc-match", "-f", "%{family}|%{file}|%{index}", pattern],
        capture_output=True,
        text=True,
        check=False,
    )
    parts = done.stdout.strip().split("|")
    if len(parts) != 3 or not parts[1]:
        return None
    family, file, index = parts
    return family, file, int(index) if index.isdigit() else 0


CJK_FONTS = (
    ("Noto Sans CJK TC:bold", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 3),
    ("Noto Sans Mono CJK TC", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 8),
)
"""The fonts for captions with Chinese, Japanese or Korean text (titles, then steps): Noto CJK
(Debian's fonts-noto-cjk), found by fontconfig, else at Debian's path, in its Traditional
Chinese face."""


def _cjk_font(size: float, pattern: str, path: str, face: int) -> Any:
    """The Noto CJK font ``pattern`` names, or None when it is not installed."""
    from PIL import ImageFont

    found = _font_file(pattern)
    places = [(found[1], found[2])] if found and "CJK" in found[0] else []
    places.append((path, face))
    for file, index in places:
        try:
            return ImageFont.truetype(file, size, index=index)
        except OSError:
            continue
    return None


def _is_cjk(text: str) -> bool:
    """Whether ``text`` has a character from the CJK blocks (Chinese, Japanese, Korean and
    their punctuation), which the captions' usual fonts lack."""
    return any(
        0x2E80 <= ord(ch) <= 0x9FFF or 0xAC00 <= ord(ch) <= 0xD7AF or 0xF900 <= ord(ch) <= 0xFFEF
        or 0x20000 <= ord(ch) <= 0x3FFFF
        for ch in text
    )  # fmt: skip


def caption_fonts(texts: Sequence[str]) -> tuple[Any, Any]:
    """The Pillow fonts (titles, steps) for GIF captions with these texts: DejaVu Sans Bold and
    DejaVu Sans Mono, or, when a text has CJK characters (a label such as 蘋果), Noto Sans CJK
    Bold and Noto Sans Mono CJK if installed, so that they are drawn rather than boxes."""
    if any(_is_cjk(text) for text in texts):
        (title, title_file, title_face), (step, step_file, step_face) = CJK_FONTS
        fonts = (
            _cjk_font(_FONT_SIZE, title, title_file, title_face),
            _cjk_font(_FONT_SIZE - 1, step, step_file, step_face),
        )
        if fonts[0] is not None and fonts[1] is not None:
            return fonts
    return (
        _font(_FONT_SIZE, "DejaVuSans-Bold.ttf", "DejaVuSans.ttf"),
        _font(_FONT_SIZE - 1, "DejaVuSansMono.ttf", "DejaVuSans.ttf"),
    )


def _gif(movie: _Movie) -> bytes:
    """The frames as one looping GIF: the diagram drawn once by ``dot``, each frame's changes
    painted onto it by Pillow (cells refilled, nodes not reached faded, the current node
    outlined), its caption above it."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise ImportError(
            "writing a .gif needs Pillow: pip install 'tinygrad-edu[gif]' "
            "(or write a self-contained .html page, which needs nothing more)"
        ) from None
    where = _Geometry.of(movie.svg)
    dpi = min(GIF_DPI, GIF_MAX_SIZE[0] * 72 / where.width, GIF_MAX_SIZE[1] * 72 / where.height)
    digraph = movie.digraph.copy()
    digraph.attr(dpi=f"{dpi:.4f}")
    drawn = Image.open(io.BytesIO(pipe(digraph, "png"))).convert("RGB")
    scale = drawn.width / where.width  # pixels per point

    def pixels(box: Box, grow: float = 0.0) -> tuple[int, int, int, int]:
        """A box in the picture's pixels, grown by ``grow`` on every side (a negative ``grow``
        keeps inside it: a cell is refilled without touching its node's frame)."""
        x0, y0, x1, y1 = box
        dx, dy = where.origin
        return (
            round((x0 + dx) * scale - grow),
            round((y0 + dy) * scale - grow),
            round((x1 + dx) * scale + grow),
            round((y1 + dy) * scale + grow),
        )

    faded = Image.blend(drawn, Image.new("RGB", drawn.size, "#ffffff"), _FADE)
    helvetica = _font_file("Helvetica")
    number_font = _font(12 * scale, helvetica[1] if helvetica else "", "DejaVuSans.ttf")
    caption = _Captions(movie.frames)
    width = max(drawn.width, caption.width)
    canvas = drawn.copy()
    paint = ImageDraw.Draw(canvas)

    def restore(source: Any, node: str) -> None:
        if node in where.nodes:
            box = pixels(where.nodes[node], 2)
            canvas.paste(source.crop(box), box[:2])

    reached_at: dict[int, list[str]] = {}
    for node, k in movie.reach.items():
        if not node.startswith("e"):
            reached_at.setdefault(k, []).append(node)

    def pictures() -> Any:
        for k, frame in enumerate(movie.frames):
            if k == 1:
                for node, first in movie.reach.items():
                    if first > 1 and not node.startswith("e"):
                        restore(faded, node)
            for node in reached_at.get(k, ()) if k else ():
                restore(drawn, node)
            for cell, text, fill, ink in movie.changes[k]:
                if cell in where.cells and cell in where.texts:
                    paint.rectangle(pixels(where.cells[cell], -1), fill=fill)
                    x, baseline, _ = where.texts[cell]
                    dx, dy = where.origin
                    spot = ((x + dx) * scale, (baseline + dy) * scale)
                    paint.text(spot, text, font=number_font, fill=ink, anchor="ms")
            picture = Image.new("RGB", (width, caption.height + drawn.height), "#ffffff")
            picture.paste(canvas, ((width - drawn.width) // 2, caption.height))
            outline = ImageDraw.Draw(picture)
            for node in movie.current[k]:
                if node in where.nodes:
                    x0, y0, x1, y1 = pixels(where.nodes[node], 3)
                    left = (width - drawn.width) // 2
                    box = (x0 + left, y0 + caption.height, x1 + left, y1 + caption.height)
                    if node in where.ellipses:
                        outline.ellipse(box, outline=CURRENT, width=3)
                    else:
                        outline.rounded_rectangle(box, radius=4, outline=CURRENT, width=3)
            caption.draw(outline, k, frame, width)
            yield picture.quantize(colors=128, dither=Image.Dither.NONE)

    first, then, last = GIF_MILLISECONDS
    count = len(movie.frames)
    durations = ([first] + [then] * (count - 2) + [last])[:count]
    frames = pictures()
    out = io.BytesIO()
    next(frames).save(
        out,
        format="GIF",
        save_all=True,
        append_images=frames,
        duration=durations,
        loop=0,
        optimize=True,
    )
    return out.getvalue()


class _Captions:
    """The band above each GIF frame: the caption's lines (a newline in a label starts a new
    line) and how far the walk has come."""

    def __init__(self, frames: Sequence[Frame]) -> None:
        from PIL import Image, ImageDraw

        self.title_font, self.step_font = caption_fonts([t for f in frames for t in f.caption])
        self.count = len(frames)
        measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        widest = max(
            measure.textlength(line, font=font)
            for frame in frames
            for line, font in self.lines(frame)
        )
        self.width = int(widest) + 2 * _MARGIN + 110
        self.height = _MARGIN + _LINE * max(len(self.lines(f)) for f in frames) + _MARGIN

    def lines(self, frame: Frame) -> list[tuple[str, Any]]:
        """Each line to draw with its font: the title's, then the steps'."""
        return [
            (line, self.title_font if i == 0 else self.step_font)
            for i, text in enumerate(frame.caption)
            for line in text.split("\n")
        ]

    def draw(self, draw: Any, k: int, frame: Frame, width: int) -> None:
        draw.rectangle((0, 0, width, self.height - 1), fill="#f5f7fa")
        draw.rectangle((0, 0, 5, self.height - 1), fill=CURRENT)
        progress = "forward pass" if k == 0 else f"step {k} of {self.count - 1}"
        spot = (width - _MARGIN, _MARGIN)
        draw.text(spot, progress, font=self.step_font, fill="#6b7785", anchor="ra")
        for i, (line, font) in enumerate(self.lines(frame)):
            ink = "#2f3e4e" if font is self.title_font else "#333333"
            draw.text((_MARGIN + 6, _MARGIN + i * _LINE), line, font=font, fill=ink)
        draw.line((0, self.height - 1, width, self.height - 1), fill="#dde3ea")
