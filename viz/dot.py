"""The drawing: a :class:`~viz.graph.Graph` as Graphviz DOT text, its colours, and rendering.

Each value node is an HTML-like table, ``[ label | data 0.7071 | grad 1.0000 ]``:

* the label cell is tinted by the kind of node: amber for a parameter, green for an input, grey
  for a value computed along the way; a constant has no label cell and grey text; the root has a
  thick dark border and a dark label cell;
* with ``color=True`` the grad cell is filled by the gradient's sign (red below zero, blue above)
  and size (the deeper, the larger |grad| relative to the largest in the picture, on a square-root
  scale so that small gradients stay visible), and a legend sits under the diagram.

User text (labels) goes through :func:`escape`, so quotes, ``< > { } | \\``, newlines and any
Unicode (``蘋果``) reach Graphviz as text, never as syntax.

Per-node and per-edge emphasis (the animation highlights one node per frame) comes in through a
:class:`Styling`: hooks that return a :class:`Look` for each Value and each Edge, and the
gradient to print. The default styling changes nothing.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import graphviz

from tinygrad_edu import Value

from .graph import Cluster, Edge, Graph, Kind, NeuronBox, ValueNode
from .options import DrawOptions

__all__ = [
    "Look",
    "Styling",
    "escape",
    "format_number",
    "to_digraph",
    "write",
    "GraphvizNotFoundError",
    "FORMATS",
]

FONT = "Helvetica"
INK = "#333333"
EDGE = "#8a8a8a"
NEGATIVE = (0xD7, 0x30, 0x27)  # red: the loss goes down if this value goes up
POSITIVE = (0x45, 0x75, 0xB4)  # blue: the loss goes down if this value goes down
TINT: dict[Kind, str] = {
    "parameter": "#fde3a7",
    "input": "#d5efcf",
    "computed": "#ececec",
    "constant": "#ffffff",
}
ROOT_TINT = "#2f3e4e"
LOCAL_DERIVATIVE_INK = "#b35806"
OP_SYMBOL = {"*": "×", "/": "÷", "-": "−", "**": "^", "neg": "−x"}

FORMATS = (".svg", ".png", ".pdf", ".dot", ".gv")
"""What ``write`` can produce, chosen by the file's suffix."""


# --- hooks for emphasis ----------------------------------------------------------------------


@dataclass(frozen=True)
class Look:
    """Emphasis for one node or edge: a thick outline in a colour, or faded to light grey."""

    outline: str | None = None
    faded: bool = False


def _no_emphasis(_: object) -> Look:
    return Look()


def _stored_grad(value: Value) -> float:
    return value.grad


def _no_width(_: Value) -> int:
    return 0


@dataclass(frozen=True)
class Styling:
    """Hooks the drawing calls: ``node(value)`` and ``edge(edge)`` give a Look; ``grad(value)``
    gives the gradient to print (``value.grad`` by default; the animation shows the gradient
    accumulated so far); ``grad_width(value)`` the most characters its number will take (0:
    as many as it takes now): the cell is made that wide, so that a node keeps its size while
    the number changes (the animation keeps one layout in every frame this way)."""

    node: Callable[[Value], Look] = field(default=_no_emphasis)
    edge: Callable[[Edge], Look] = field(default=_no_emphasis)
    grad: Callable[[Value], float] = field(default=_stored_grad)
    grad_width: Callable[[Value], int] = field(default=_no_width)


FADED = "#c8c8c8"


# --- text -------------------------------------------------------------------------------------

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def escape(text: str) -> str:
    """User text as the text of an HTML-like label: markup characters as entities, a newline
    as a line break, and control characters shown as ``\\uXXXX`` rather than sent to Graphviz.
    ``{ } | \\`` need nothing: they are plain text inside an HTML-like label."""
    pieces = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        piece = []
        for ch in line:
            if ch in _ENTITIES:
                piece.append(_ENTITIES[ch])
            elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
                piece.append(f"\\u{ord(ch):04x}")
            else:
                piece.append(ch)
        pieces.append("".join(piece))
    return "<BR/>".join(pieces)


def format_number(x: float, precision: int) -> str:
    """``x`` with ``precision`` digits after the point (``0.7071``); scientific notation where
    that would hide it (``1.0000e-09``, ``3.0000e+12``); ``-0`` printed as ``0``."""
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == 0:
        x = 0.0  # no "-0.0000"
    if x != 0 and (abs(x) >= 1e9 or abs(x) < 10.0**-precision):
        return f"{x:.{precision}e}"
    return f"{x:.{precision}f}"


# --- colours ----------------------------------------------------------------------------------


def _hex(rgb: Iterable[float]) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def grad_colors(grad: float, largest: float) -> tuple[str, str]:
    """(fill, text colour) for a gradient, given the largest |grad| in the picture."""
    if math.isnan(grad):
        return "#dddddd", INK
    if grad == 0 or largest == 0:
        return "#ffffff", INK
    share = 1.0 if math.isinf(grad) or math.isinf(largest) else abs(grad) / largest
    depth = 0.18 + 0.82 * math.sqrt(min(share, 1.0))
    full = NEGATIVE if grad < 0 else POSITIVE
    fill = _hex(255 + (c - 255) * depth for c in full)
    return fill, ("#ffffff" if depth > 0.6 else INK)


# --- nodes ------------------------------------------------------------------------------------


POINTS_PER_CHARACTER = 7.5  # a generous width for a digit or letter of the 12 pt font
OUTLINE = 3  # the thickest frame a node is drawn with (the root's, and the animation's outline)


def _framed(table: str, border: int) -> str:
    """An HTML-like label of ``table`` (a <TABLE> whose frame is ``border`` thick), with a
    margin that makes up the difference to the thickest frame: a node keeps its size, and the
    layout its place, whether or not it is outlined."""
    margin = OUTLINE - border
    if margin <= 0:
        return f"<{table}>"
    return (
        f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="{margin}">'
        f"<TR><TD>{table}</TD></TR></TABLE>>"
    )


def _cell(
    text: str,
    *,
    bgcolor: str | None = None,
    color: str = INK,
    bold: bool = False,
    width: int = 0,
) -> str:
    fill = f' BGCOLOR="{bgcolor}"' if bgcolor else ""
    if width:
        fill += f' WIDTH="{width}"'  # at least this many points
    if not text:
        return f"<TD{fill}> </TD>"  # Graphviz rejects an empty <FONT></FONT>
    body = f"<B>{text}</B>" if bold else text
    return f'<TD{fill}><FONT COLOR="{color}">{body}</FONT></TD>'


class _Painter:
    """Turns the Graph's nodes and edges into DOT statements, with options and styling."""

    def __init__(self, graph: Graph, options: DrawOptions, styling: Styling) -> None:
        self.graph = graph
        self.options = options
        self.styling = styling
        grads = [styling.grad(n.value) for n in graph.values]
        grads += [styling.grad(b.output) for b in graph.boxes]
        self.largest = max((abs(g) for g in grads if not math.isnan(g)), default=0.0)

    def number(self, x: float) -> str:
        return format_number(x, self.options.precision)

    def grad_cell(self, value: Value, ink: str) -> str:
        grad = self.styling.grad(value)
        text = f"grad {self.number(grad)}"
        # Room for the widest number this cell will show (and its padding), more than the text
        # ever needs, so that the cell keeps one width while its number changes.
        chars = self.styling.grad_width(value)
        width = round((len("grad ") + chars) * POINTS_PER_CHARACTER) + 10 if chars else 0
        if not self.options.color or ink == FADED:
            return _cell(text, color=ink, width=width)
        fill, text_ink = grad_colors(grad, self.largest)
        return _cell(text, bgcolor=fill, color=text_ink, width=width)

    def value_label(self, node: ValueNode, look: Look) -> str:
        value = node.value
        is_root = node.id == self.graph.root_id
        ink = FADED if look.faded else ("#888888" if node.kind == "constant" else INK)
        cells = []
        if is_root:
            cells.append(
                _cell(escape(node.name) or "result", bgcolor=ROOT_TINT, color="#ffffff", bold=True)
            )
        elif node.name:
            cells.append(_cell(escape(node.name), bgcolor=TINT[node.kind], color=ink, bold=True))
        cells.append(_cell(f"data {self.number(value.data)}", color=ink))
        cells.append(self.grad_cell(value, ink))
        border, frame = (3, ROOT_TINT) if is_root else (1, ink)
        if node.kind == "constant":
            frame = "#aaaaaa"
        if look.outline:
            border, frame = 3, look.outline
        style = ' STYLE="rounded"' if node.kind == "parameter" else ""
        table = (
            f'<TABLE BORDER="{border}" COLOR="{frame}" CELLBORDER="0" CELLSPACING="0" '
            f'CELLPADDING="5" BGCOLOR="#ffffff"{style}><TR>{"<VR/>".join(cells)}</TR></TABLE>'
        )
        return _framed(table, border)

    def box_label(self, box: NeuronBox, look: Look) -> str:
        ink = FADED if look.faded else INK
        activation = box.output.op if box.output.op != "+" else "linear"
        rows = [
            f'<TR><TD COLSPAN="3" BGCOLOR="{TINT["computed"]}"><FONT COLOR="{ink}">'
            f"<B>{escape(box.path)}</B> · {escape(activation)} · "
            f"{len(box.inputs)} input{'s' if len(box.inputs) != 1 else ''}</FONT></TD></TR>"
        ]
        shown = list(box.parameters)
        if len(shown) > 6:
            shown = shown[:4] + shown[-1:]
        for p in shown:
            name = escape(p.label[len(box.path) + 1 :])
            rows.append(
                f"<TR>{_cell(name, bgcolor=TINT['parameter'], color=ink)}"
                f"{_cell(f'data {self.number(p.data)}', color=ink)}"
                f"{self.grad_cell(p, ink)}</TR>"
            )
            if len(box.parameters) > 6 and p is shown[3]:
                hidden = len(box.parameters) - 5
                rows.append(
                    f'<TR><TD COLSPAN="3"><FONT COLOR="{ink}">… {hidden} more weights'
                    "</FONT></TD></TR>"
                )
        rows.append(
            f"<TR>{_cell('out', bgcolor=TINT['computed'], color=ink, bold=True)}"
            f"{_cell(f'data {self.number(box.output.data)}', color=ink)}"
            f"{self.grad_cell(box.output, ink)}</TR>"
        )
        is_root = box.id == self.graph.root_id
        border, frame = (3, ROOT_TINT) if is_root else (1, ink)
        if look.outline:
            border, frame = 3, look.outline
        table = (
            f'<TABLE BORDER="{border}" COLOR="{frame}" CELLBORDER="0" CELLSPACING="0" '
            f'CELLPADDING="4" BGCOLOR="#ffffff" STYLE="rounded">{"".join(rows)}</TABLE>'
        )
        return _framed(table, border)

    def add_nodes(self, digraph: graphviz.Digraph, ids: set[str] | None) -> None:
        """Add the nodes whose ids are in ``ids`` (all when None)."""
        for node in self.graph.values:
            if ids is None or node.id in ids:
                look = self.styling.node(node.value)
                digraph.node(node.id, self.value_label(node, look), shape="plain")
        for op in self.graph.ops:
            if ids is None or op.id in ids:
                self.add_op(digraph, op.id, op.output)
        for box in self.graph.boxes:
            if ids is None or box.id in ids:
                look = self.styling.node(box.output)
                digraph.node(box.id, self.box_label(box, look), shape="plain")

    def add_op(self, digraph: graphviz.Digraph, node_id: str, output: Value) -> None:
        look = self.styling.node(output)
        symbol = OP_SYMBOL.get(output.op, output.op)
        ink = FADED if look.faded else INK
        attrs = {
            "label": escape(symbol),
            "shape": "circle" if len(symbol) == 1 else "box",
            "style": "filled,rounded",
            "fillcolor": "#f4f4f4",
            "color": look.outline or ("#dddddd" if look.faded else "#9a9a9a"),
            "fontcolor": ink,
            "penwidth": "2.5" if look.outline else "1",
            "fontsize": "13" if len(symbol) == 1 else "11",
            "width": "0.34",
            "height": "0.34",
            "margin": "0.05,0.02",
        }
        if len(symbol) == 1:
            attrs["fixedsize"] = "true"
        digraph.node(node_id, **attrs)

    def add_edges(self, digraph: graphviz.Digraph) -> None:
        for edge in self.graph.edges:
            look = self.styling.edge(edge)
            attrs = {"color": look.outline or (FADED if look.faded else EDGE)}
            if look.outline:
                attrs["penwidth"] = "2.5"
            if self.options.edge_grads and edge.local is not None:
                attrs["label"] = f" {self.number(edge.local)} "
                attrs["fontcolor"] = FADED if look.faded else LOCAL_DERIVATIVE_INK
                attrs["fontsize"] = "10"
            digraph.edge(edge.tail, edge.head, **attrs)

    def add_clusters(self, digraph: graphviz.Digraph, clusters: list[Cluster], depth: int) -> None:
        for cluster in clusters:
            with digraph.subgraph(name=cluster.id) as sub:
                sub.attr(
                    label=f"<<B>{escape(cluster.label)}</B>>",
                    style="rounded,filled",
                    fillcolor="#f3f6fa" if depth == 0 else "#e6eef7",
                    color="#9fb3c8",
                    fontcolor="#4a6178",
                    fontsize="12",
                    labeljust="l",
                    labelloc="t",
                    margin="10",
                )
                self.add_nodes(sub, set(cluster.node_ids))
                self.add_clusters(sub, cluster.children, depth + 1)

    def legend(self) -> str:
        """A key under the diagram: gradient colours, node kinds, edge numbers."""
        rows = []
        if self.options.color:
            swatches = [_swatch(*grad_colors(g, 1.0), t) for g, t in _GRAD_KEY]
            rows.append(_legend_row("grad", [*swatches, _note("deeper: larger |grad|")]))
        present = {node.kind for node in self.graph.values}  # the key lists only what is drawn
        kinds = [_swatch(ROOT_TINT, "#ffffff", "output")]
        kinds += [
            _swatch(TINT[k], INK, k) for k in ("parameter", "input", "computed") if k in present
        ]
        if "constant" in present:
            kinds.append(_swatch("#ffffff", "#888888", "constant"))
        rows.append(_legend_row("node", kinds))
        if self.options.edge_grads:
            factor = f'<FONT COLOR="{LOCAL_DERIVATIVE_INK}">number</FONT>'
            text = f"{factor} on an edge: d out / d in, the chain-rule factor"
            rows.append(_legend_row("edge", [_note(text)]))
        return (
            '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
            + "".join(rows)
            + "</TABLE>>"
        )


_GRAD_KEY = ((-1.0, "&lt; 0"), (-0.25, ""), (0.0, "0"), (0.25, ""), (1.0, "&gt; 0"))


def _swatch(fill: str, ink: str, text: str) -> str:
    body = f'<FONT COLOR="{ink}">{text}</FONT>' if text else " "
    return f'<TD BGCOLOR="{fill}" BORDER="1" COLOR="#bbbbbb" WIDTH="28">{body}</TD>'


def _note(text: str) -> str:
    return f'<TD ALIGN="LEFT"><FONT COLOR="#555555">{text}</FONT></TD>'


def _legend_row(title: str, cells: list[str]) -> str:
    """One row of the key: its own table, so that rows do not share column widths."""
    head = f'<TD ALIGN="RIGHT" WIDTH="36"><FONT COLOR="#555555"><B>{title}</B></FONT></TD>'
    inner = (
        f'<TABLE BORDER="0" CELLSPACING="3" CELLPADDING="2"><TR>{head}{"".join(cells)}</TR></TABLE>'
    )
    return f'<TR><TD ALIGN="LEFT">{inner}</TD></TR>'


def to_digraph(
    graph: Graph, options: DrawOptions, styling: Styling | None = None
) -> graphviz.Digraph:
    """The Graphviz Digraph of ``graph``, drawn with ``options`` (rankdir, precision,
    edge_grads, color) and the emphasis hooks of ``styling``."""
    painter = _Painter(graph, options, styling or Styling())
    digraph = graphviz.Digraph("computation_graph")
    digraph.attr(
        rankdir=options.rankdir,
        fontname=FONT,
        bgcolor="#ffffff",
        nodesep="0.25",
        ranksep="0.4",
        pad="0.25",
    )
    digraph.attr("node", fontname=FONT, fontsize="12")
    digraph.attr("edge", fontname=FONT, arrowsize="0.7", penwidth="1.2")
    if options.color or options.edge_grads:
        digraph.attr(label=painter.legend(), labelloc="b", labeljust="l", fontsize="10")
    in_clusters = _ids(graph.clusters)
    outside = {n.id for n in graph.values} | {o.id for o in graph.ops} | {b.id for b in graph.boxes}
    painter.add_clusters(digraph, graph.clusters, 0)
    painter.add_nodes(digraph, outside - in_clusters)
    painter.add_edges(digraph)
    return digraph


def _ids(clusters: list[Cluster]) -> set[str]:
    ids: set[str] = set()
    for cluster in clusters:
        ids.update(cluster.node_ids)
        ids |= _ids(cluster.children)
    return ids


# --- files ------------------------------------------------------------------------------------


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz ``dot`` program is not installed (or not on PATH)."""


MISSING_GRAPHVIZ = """\
drawing {suffix} files needs the Graphviz program `dot`, which was not found on PATH.
Install Graphviz (the program, not only the Python package):
    Debian/Ubuntu:  sudo apt-get install graphviz
    macOS:          brew install graphviz
    conda:          conda install -c conda-forge graphviz
Without it, .dot output works: render(root, "graph.dot") writes the DOT source, which any
Graphviz viewer (or `dot -Tsvg graph.dot -o graph.svg` on another machine) can draw."""


def write(digraph: graphviz.Digraph, path: str | Path) -> Path:
    """Write ``digraph`` to ``path`` in the format its suffix names: .svg .png .pdf by Graphviz's
    ``dot``; .dot or .gv as DOT source (UTF-8), which needs no Graphviz program."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"cannot tell the format of {str(path)!r}: use one of {', '.join(FORMATS)}"
        )
    if suffix in (".dot", ".gv"):
        path.write_text(digraph.source, encoding="utf-8")
        return path
    if suffix == ".png":
        digraph = digraph.copy()
        digraph.attr(dpi="144")  # crisp on high-density screens; the SVG scales by itself
    try:
        image = digraph.pipe(format=suffix[1:])
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError(MISSING_GRAPHVIZ.format(suffix=suffix)) from None
    path.write_bytes(image)
    return path
