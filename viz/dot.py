"""The drawing: a :class:`~viz.graph.Graph` as Graphviz DOT text, its colours, and rendering.

Each value node is an HTML-like table, ``[ label | data 0.7071 | grad 1.0000 ]``:

* the label cell is tinted by the kind of node: amber for a parameter, green for an input, grey
  for a value computed along the way; a constant has no label cell and grey text; the root has a
  thick dark border and a dark label cell;
* a node folded by ``collapse=True`` has a count cell (``×100``) and prints the range of its
  Values (``data -0.9700 … 0.9900``);
* with ``color=True`` the grad cell is filled by the gradient's sign (red below zero, blue above)
  and size (the deeper, the larger |grad| relative to the largest in the picture, on a square-root
  scale so that small gradients stay visible), and a legend sits under the diagram.

A box (``collapse=True``) is headed by its scope path and call count (``neurons.3 ×100``), then
what one call reads and computes (``2 inputs · 2 ×, 2 +, tanh``), its parameters, and its output.

User text (labels) goes through :func:`escape`, so quotes, ``< > { } | \\``, newlines and any
Unicode (``蘋果``) reach Graphviz as text, never as syntax, and backslash sequences (``\\N``)
are drawn as written. Every node and edge gets an ``id`` (kept in SVG output) and every grad
cell a fixed width when asked, which is how the animation changes a drawing in place.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz

from tinygrad_edu import Value
from tinygrad_edu.formatting import format_number

from .graph import Cluster, Graph, Kind, OpNode, ScopeBox, ValueNode, shown_parameters
from .options import DrawOptions

__all__ = [
    "Styling",
    "escape",
    "format_number",
    "number_range",
    "grad_colors",
    "cell_colors",
    "pipe",
    "INK",
    "to_digraph",
    "write",
    "GraphvizNotFoundError",
    "FORMATS",
    "OP_SYMBOL",
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
COUNT_TINT = "#dfe7f1"
LOCAL_DERIVATIVE_INK = "#b35806"
OP_SYMBOL = {"*": "×", "/": "÷", "-": "−", "**": "^", "neg": "−x"}
"""How an operation is written in its node (others by their name: ``tanh``, ``exp``)."""

LARGE_GRAPH = 500
"""Past this many value nodes and boxes, Graphviz is asked for a quicker, rougher layout."""

FORMATS = (".svg", ".png", ".pdf", ".dot", ".gv")
"""What ``write`` can produce, chosen by the file's suffix."""


def _stored_grad(value: Value) -> float:
    return value.grad


def _no_width(_: str) -> int:
    return 0


@dataclass(frozen=True)
class Styling:
    """Hooks the drawing calls: ``grad(value)`` gives the gradient to print (``value.grad`` by
    default; the animation's first frame prints 0 before backward() has run);
    ``grad_width(cell)`` the most characters the number in grad cell ``cell`` (an id of
    :func:`viz.graph.grad_cells`) will take (0: as many as it takes now): the cell is made that
    wide, so that a drawing keeps its layout while its numbers change."""

    grad: Callable[[Value], float] = field(default=_stored_grad)
    grad_width: Callable[[str], int] = field(default=_no_width)


# --- text -------------------------------------------------------------------------------------

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "\\": "\\\\"}


_MARKUP = re.compile(r"[&<>\"'\\]")


def escape(text: str) -> str:
    """User text as the text of an HTML-like label: markup characters as entities, a newline
    as a line break, a backslash doubled (Graphviz reads ``\\N`` in a label as the node's name;
    ``\\\\`` is one backslash), and control characters shown as ``\\uXXXX`` rather than sent
    to Graphviz. ``{ }`` and ``|`` need nothing inside an HTML-like label."""
    if text.isprintable() and not _MARKUP.search(text):
        return text  # most labels: nothing to change
    pieces = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        piece = []
        for ch in line:
            if ch in _ENTITIES:
                piece.append(_ENTITIES[ch])
            elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
                piece.append(f"\\\\u{ord(ch):04x}")
            else:
                piece.append(ch)
        pieces.append("".join(piece))
    return "<BR/>".join(pieces)


def number_range(numbers: Sequence[float], precision: int) -> str:
    """One number as :func:`format_number` writes it; several as their range, ``low … high``
    (a nan among them is said so: ``nan, -1.0000 … 2.0000``)."""
    if len(numbers) == 1:
        return format_number(numbers[0], precision)
    real = [x for x in numbers if not math.isnan(x)]
    nan = "nan" if len(real) < len(numbers) else ""
    if not real:
        return nan
    low, high = format_number(min(real), precision), format_number(max(real), precision)
    text = low if low == high else f"{low} … {high}"
    return f"{nan}, {text}" if nan else text


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


def cell_colors(grads: Sequence[float], largest: float) -> tuple[str, str]:
    """(fill, text colour) of a grad cell that shows ``grads`` (several for a folded node): by
    the largest of them in size, as :func:`grad_colors` colours one gradient."""
    real = [g for g in grads if not math.isnan(g)]
    return grad_colors(max(real, key=abs) if real else math.nan, largest)


# --- nodes ------------------------------------------------------------------------------------


POINTS_PER_CHARACTER = 7.5  # a generous width for a digit or letter of the 12 pt font
OUTLINE = 3  # the root's frame


def _framed(table: str, border: int) -> str:
    """An HTML-like label of ``table`` (a <TABLE> whose frame is ``border`` thick), with a
    margin that makes up the difference to the thickest frame: every node has the same margin
    around its content, the root's thick frame included."""
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
    span: int = 1,
) -> str:
    fill = f' BGCOLOR="{bgcolor}"' if bgcolor else ""
    if width:
        fill += f' WIDTH="{width}"'  # at least this many points
    if span > 1:
        fill += f' COLSPAN="{span}"'
    if not text:
        return f"<TD{fill}> </TD>"  # Graphviz rejects an empty <FONT></FONT>
    body = f"<B>{text}</B>" if bold else text
    return f'<TD{fill}><FONT COLOR="{color}">{body}</FONT></TD>'


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class _Painter:
    """Turns the Graph's nodes and edges into DOT statements, with options and styling."""

    def __init__(self, graph: Graph, options: DrawOptions, styling: Styling) -> None:
        self.graph = graph
        self.options = options
        self.styling = styling
        grads = [styling.grad(v) for node in graph.values for v in node.values]
        for box in graph.boxes:
            grads += [styling.grad(v) for v in (*box.parameters, *box.outputs)]
        self.largest = max((abs(g) for g in grads if not math.isnan(g)), default=0.0)
        self.unplaced: dict[str, ValueNode | OpNode | ScopeBox] = {}
        self.unplaced.update((node.id, node) for node in graph.values)
        self.unplaced.update((op.id, op) for op in graph.ops)
        self.unplaced.update((box.id, box) for box in graph.boxes)

    def numbers(self, values: Sequence[float]) -> str:
        return number_range(values, self.options.precision)

    def grad_cell(self, cell: str, values: Sequence[Value]) -> str:
        grads = [self.styling.grad(v) for v in values]
        text = f"grad {self.numbers(grads)}"
        # Room for the widest number this cell will show (and its padding), more than the text
        # ever needs, so that the cell keeps one width while its number changes.
        chars = self.styling.grad_width(cell)
        width = round((len("grad ") + chars) * POINTS_PER_CHARACTER) + 10 if chars else 0
        if not self.options.color:
            return _cell(text, bgcolor="#ffffff", width=width)
        fill, ink = cell_colors(grads, self.largest)
        return _cell(text, bgcolor=fill, color=ink, width=width)

    def value_label(self, node: ValueNode) -> str:
        is_root = node.id == self.graph.root_id
        ink = "#888888" if node.kind == "constant" else INK
        cells = []
        if is_root:
            name = escape(node.name) or "result"
            cells.append(_cell(name, bgcolor=ROOT_TINT, color="#ffffff", bold=True))
        elif node.name:
            cells.append(_cell(escape(node.name), bgcolor=TINT[node.kind], color=ink, bold=True))
        if node.count > 1:
            cells.append(_cell(f"×{node.count}", bgcolor=COUNT_TINT, color=ink, bold=True))
        cells.append(_cell(f"data {self.numbers([v.data for v in node.values])}", color=ink))
        cells.append(self.grad_cell(f"{node.id}-grad", node.values))
        border, frame = (3, ROOT_TINT) if is_root else (1, ink)
        if node.kind == "constant":
            frame = "#aaaaaa"
        style = ' STYLE="rounded"' if node.kind == "parameter" else ""
        table = (
            f'<TABLE BORDER="{border}" COLOR="{frame}" CELLBORDER="0" CELLSPACING="0" '
            f'CELLPADDING="5" BGCOLOR="#ffffff"{style}><TR>{"<VR/>".join(cells)}</TR></TABLE>'
        )
        return _framed(table, border)

    def box_label(self, box: ScopeBox) -> str:
        calls = f" ×{box.calls}" if box.calls > 1 else ""
        ops = ", ".join(
            OP_SYMBOL.get(op, op) if n == 1 else f"{n} {OP_SYMBOL.get(op, op)}" for op, n in box.ops
        )
        rows = [
            f'<TR><TD COLSPAN="3" BGCOLOR="{TINT["computed"]}"><FONT COLOR="{INK}">'
            f"<B>{escape(box.title)}</B>{calls}</FONT></TD></TR>",
            f'<TR><TD COLSPAN="3"><FONT COLOR="#555555" POINT-SIZE="10">'
            f"{_plural(box.inputs, 'input')} · {escape(ops)}</FONT></TD></TR>",
        ]
        shown = shown_parameters(box)
        for k, parameter in enumerate(shown):
            name = escape(box.parameter_names[box.parameters.index(parameter)])
            rows.append(
                f"<TR>{_cell(name, bgcolor=TINT['parameter'])}"
                f"{_cell(f'data {self.numbers([parameter.data])}')}"
                f"{self.grad_cell(f'{box.id}-p{k}', [parameter])}</TR>"
            )
            if len(shown) < len(box.parameters) and k == len(shown) - 2:
                hidden = len(box.parameters) - len(shown)
                rows.append(f'<TR><TD COLSPAN="3">… {hidden} more parameters</TD></TR>')
        if box.outputs:
            many = f" ×{len(box.outputs)}" if len(box.outputs) > 1 else ""
            data = self.numbers([v.data for v in box.outputs])
            rows.append(
                f"<TR>{_cell(f'out{many}', bgcolor=TINT['computed'], bold=True)}"
                f"{_cell(f'data {data}')}"
                f"{self.grad_cell(f'{box.id}-out', box.outputs)}</TR>"
            )
        is_root = box.id == self.graph.root_id
        border, frame = (3, ROOT_TINT) if is_root else (1, INK)
        table = (
            f'<TABLE BORDER="{border}" COLOR="{frame}" CELLBORDER="0" CELLSPACING="0" '
            f'CELLPADDING="4" BGCOLOR="#ffffff" STYLE="rounded">{"".join(rows)}</TABLE>'
        )
        return _framed(table, border)

    # The statements are written as DOT text directly: every id is one of ours (v12, op12,
    # box3, e5) and every label an HTML-like label already escaped, so graphviz's general
    # quoting, most of the time of a large drawing, has nothing to do.

    def add_value(self, digraph: graphviz.Digraph, node: ValueNode) -> None:
        digraph.body.append(
            f"\t{node.id} [label={self.value_label(node)} shape=plain id={node.id}]\n"
        )

    def add_box(self, digraph: graphviz.Digraph, box: ScopeBox) -> None:
        digraph.body.append(f"\t{box.id} [label={self.box_label(box)} shape=plain id={box.id}]\n")

    def add_op(self, digraph: graphviz.Digraph, op: OpNode) -> None:
        symbol = OP_SYMBOL.get(op.output.op, op.output.op)
        style = _ROUND_OP if len(symbol) == 1 else _BOX_OP
        digraph.body.append(f"\t{op.id} [label=<{escape(symbol)}> {style} id={op.id}]\n")

    def add_edges(self, digraph: graphviz.Digraph) -> None:
        numbers = self.options.edge_grads
        lines = digraph.body
        for k, edge in enumerate(self.graph.edges):
            attrs = f'color="{EDGE}" id=e{k}'
            if numbers and edge.local is not None:
                number = format_number(edge.local, self.options.precision)
                attrs += f' label=" {number} " fontcolor="{LOCAL_DERIVATIVE_INK}" fontsize=10'
            lines.append(f"\t{edge.tail} -> {edge.head} [{attrs}]\n")

    def add_clusters(self, digraph: graphviz.Digraph, clusters: list[Cluster], depth: int) -> None:
        for cluster in clusters:
            with digraph.subgraph(name=cluster.id) as sub:
                sub.attr(
                    label=f"<<B>{escape(cluster.label)}</B>>",
                    style="rounded,filled",
                    fillcolor="#f3f6fa" if depth % 2 == 0 else "#e6eef7",
                    color="#9fb3c8",
                    fontcolor="#4a6178",
                    fontsize="12",
                    labeljust="l",
                    labelloc="t",
                    margin="10",
                    id=cluster.id,
                )
                for node_id in cluster.node_ids:
                    self.add(sub, self.unplaced.pop(node_id))
                self.add_clusters(sub, cluster.children, depth + 1)

    def add(self, digraph: graphviz.Digraph, node: ValueNode | OpNode | ScopeBox) -> None:
        if isinstance(node, ValueNode):
            self.add_value(digraph, node)
        elif isinstance(node, OpNode):
            self.add_op(digraph, node)
        else:
            self.add_box(digraph, node)

    def add_the_rest(self, digraph: graphviz.Digraph) -> None:
        """Every node not placed in a cluster, in the graph's order."""
        for node in self.unplaced.values():
            self.add(digraph, node)
        self.unplaced.clear()

    def legend(self) -> str:
        """A key under the diagram: gradient colours, node kinds, edge numbers."""
        rows = []
        if self.options.color:
            swatches = [_swatch(*grad_colors(g, 1.0), t) for g, t in _GRAD_KEY]
            rows.append(_legend_row("grad", [*swatches, _note("deeper: larger |grad|")]))
        present = {node.kind for node in self.graph.values}  # the key lists only what is drawn
        present |= {"parameter" for box in self.graph.boxes if box.parameters}
        kinds = [_swatch(ROOT_TINT, "#ffffff", "output")]
        kinds += [
            _swatch(TINT[k], INK, k) for k in ("parameter", "input", "computed") if k in present
        ]
        if "constant" in present:
            kinds.append(_swatch("#ffffff", "#888888", "constant"))
        folded = any(node.count > 1 for node in self.graph.values)
        if folded or any(box.calls > 1 for box in self.graph.boxes):
            kinds.append(_swatch(COUNT_TINT, INK, "×n"))
            kinds.append(_note("stands for n values or calls"))
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


_OP_STYLE = (
    'style="filled,rounded" fillcolor="#f4f4f4" color="#9a9a9a" fontcolor="#333333" '
    'width=0.34 height=0.34 margin="0.05,0.02"'
)
_ROUND_OP = f"shape=circle fixedsize=true fontsize=13 {_OP_STYLE}"
_BOX_OP = f"shape=box fontsize=11 {_OP_STYLE}"


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


SHOWN_AS = ("image/svg+xml", "image/png")
"""What Jupyter stores for a diagram: the SVG, and the same picture as PNG beside it."""


PNG_COLORS = 64
"""Colours of a PNG stored in a notebook: a diagram's flat fills, its ink and their anti-aliased
edges look the same, in about a quarter of the bytes."""


def fewer_colors(png: bytes) -> bytes:
    """The PNG picture with a palette of :data:`PNG_COLORS` colours, made by Pillow (which
    matplotlib installs); without Pillow, the PNG as it is."""
    try:
        from PIL import Image
    except ImportError:
        return png
    with Image.open(io.BytesIO(png)) as picture:
        smaller = io.BytesIO()
        picture.convert("RGB").quantize(PNG_COLORS).save(smaller, "PNG", optimize=True)
    return smaller.getvalue()


def requested(
    offered: Iterable[str], include: Iterable[str] | None, exclude: Iterable[str] | None
) -> list[str]:
    """The mime types of ``offered`` that IPython asks a ``_repr_mimebundle_`` for: those in
    ``include`` (all when it is None) and not in ``exclude``."""
    chosen = set(offered if include is None else include) - set(exclude or ())
    return [mimetype for mimetype in offered if mimetype in chosen]


class Digraph(graphviz.Digraph):  # type: ignore[misc]
    """graphviz's Digraph, shown in Jupyter as SVG and, beside it, as PNG.

    A notebook opened before it runs is untrusted (every downloaded notebook is), and JupyterLab
    then shows no SVG but does show PNG: with both stored, the diagram is there from the start,
    and sharp (the SVG) once the notebook is trusted or run. Graphviz draws the PNG at 96 dots per
    inch. Without Graphviz's ``dot``, GraphvizNotFoundError says how to install it.
    """

    def _repr_mimebundle_(
        self,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        **_: Any,
    ) -> dict[str, str | bytes]:
        wanted = requested(SHOWN_AS, include, exclude)
        bundle: dict[str, str | bytes] = {}
        if "image/svg+xml" in wanted:
            bundle["image/svg+xml"] = pipe(self, "svg").decode("utf-8")
        if "image/png" in wanted:
            bundle["image/png"] = fewer_colors(pipe(self, "png"))
        return bundle


def to_digraph(
    graph: Graph, options: DrawOptions, styling: Styling | None = None
) -> graphviz.Digraph:
    """The Graphviz Digraph of ``graph``, drawn with ``options`` (rankdir, precision,
    edge_grads, color) and the hooks of ``styling``."""
    painter = _Painter(graph, options, styling or Styling())
    digraph = Digraph("computation_graph")
    digraph.attr(
        rankdir=options.rankdir,
        fontname=FONT,
        bgcolor="#ffffff",
        nodesep="0.25",
        ranksep="0.4",
        pad="0.25",
    )
    if graph.node_count > LARGE_GRAPH:
        # Graphviz's ordering within ranks (mclimit) and placement (nslimit) take much more
        # than linear time: an MLP's loss of 1,200 nodes took 27 s to lay out, 1.2 s with them
        # cut short, the picture a little less tidy (benchmarks/viz_scaling.py).
        digraph.attr(nslimit="1", mclimit="0.1")
    digraph.attr("node", fontname=FONT, fontsize="12")
    digraph.attr("edge", fontname=FONT, arrowsize="0.7", penwidth="1.2")
    if options.color or options.edge_grads:
        digraph.attr(label=painter.legend(), labelloc="b", labeljust="l", fontsize="10")
    painter.add_clusters(digraph, graph.clusters, 0)
    painter.add_the_rest(digraph)
    painter.add_edges(digraph)
    return digraph


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


def pipe(digraph: graphviz.Digraph, fmt: str) -> bytes:
    """``digraph`` laid out and drawn by Graphviz's ``dot`` in the format ``fmt`` (svg, png,
    pdf, plain, ...); GraphvizNotFoundError, saying how to install it, when it is missing."""
    try:
        return bytes(digraph.pipe(format=fmt))
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError(MISSING_GRAPHVIZ.format(suffix=f".{fmt}")) from None


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
    path.write_bytes(pipe(digraph, suffix[1:]))
    return path
