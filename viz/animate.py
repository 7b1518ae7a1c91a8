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

Unlabelled nodes get names made from their operation (``mul1``, ``add2``, ``tanh1``; constants
``c1``, ``c2``), shown both in the captions and in the diagram.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import graphviz

from tinygrad_edu import OPS, Value, local_derivatives, topological_order

from .dot import (
    MISSING_GRAPHVIZ,
    GraphvizNotFoundError,
    Look,
    Styling,
    format_number,
    to_digraph,
)
from .graph import Edge, Graph, build_graph, kind_of
from .options import DrawOptions

__all__ = [
    "animate",
    "backward_frames",
    "node_names",
    "Frame",
    "Step",
    "ANIMATION_FORMATS",
    "CURRENT",
]

ANIMATION_FORMATS = (".html", ".gif")
"""What ``animate`` can write, chosen by the file's suffix."""

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
    """One picture of the animation.

    ``node`` is the Value processed in this frame (None for the forward-pass frame); ``grads``
    holds the gradient of every Value reached so far; ``steps`` are the chain-rule steps of this
    frame and ``caption`` their lines of text (a title, then one line per step).
    """

    node: Value | None
    grads: Mapping[Value, float]
    steps: tuple[Step, ...]
    caption: tuple[str, ...]


def node_names(root: Value) -> dict[Value, str]:
    """A readable name for every Value reachable from ``root``: its label, else one made from its
    operation (``mul1``, ``tanh1``; ``c1`` for a constant), numbered in topological order and
    never equal to a label in the graph."""
    order = topological_order(root)
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


def backward_frames(root: Value, precision: int = 4) -> list[Frame]:
    """The forward-pass frame, then one frame per node in the order ``backward()`` visits them.

    The gradients are those of one ``root.backward()`` from zero, computed with the engine's own
    ``local_derivatives`` in the engine's own order, so the last frame's ``grads`` equal what
    ``backward()`` leaves in every ``.grad``, bit for bit. ``precision`` is the number of digits
    after the point in the captions (trailing zeros dropped). Nothing in the graph is written.
    """
    names = node_names(root)
    order = topological_order(root)
    frames = [Frame(None, {}, (), _forward_caption(root, names, precision))]
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
        frames.append(Frame(node, dict(grads), tuple(steps), caption))
    return frames


# --- captions --------------------------------------------------------------------------------


def short_number(x: float, precision: int) -> str:
    """``x`` rounded to ``precision`` digits after the point, trailing zeros dropped but one kept:
    ``0.5``, ``-1.5``, ``1.0``, ``0.7071``; scientific where rounding would hide it."""
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    if x == 0:
        return "0.0"
    if abs(x) >= 1e9 or abs(x) < 10.0**-precision:
        mantissa, exponent = f"{x:.{precision}e}".split("e")
        return f"{_trim(mantissa)}e{exponent}"
    return _trim(f"{x:.{precision}f}")


def _trim(text: str) -> str:
    if "." not in text:
        return text
    text = text.rstrip("0")
    return text + "0" if text.endswith(".") else text


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
    in for its variables: ``1 - tanh² n`` for tanh(n), ``w1`` for d(x1 * w1)/d x1."""
    parts = [part.strip() for part in OPS[node.op].formula.split(", d/d")]
    variables = [part.split("=", 1)[0].strip().removeprefix("d/d") for part in parts]
    rule = parts[index].split("=", 1)[1].strip()
    rename = dict(zip(variables, (names[i] for i in node.inputs)))
    # A variable is a whole word: the y of "y²" and "x^y" but not of "sign" or "slope".
    pattern = r"(?<![\w.])(" + "|".join(re.escape(v) for v in rename) + r")(?![A-Za-z0-9_])"
    return re.sub(pattern, lambda m: rename[m[1]], rule)


def _signed(x: float, precision: int) -> str:
    """A number as the second factor of a product: ``0.5``, ``(-1.5)``."""
    text = short_number(x, precision)
    return f"({text})" if text.startswith("-") else text


def _factor(text: str) -> str:
    """A formula as a factor of a product: in parentheses unless it is one name or number."""
    return text if re.fullmatch(r"[\w.]+", text) else f"({text})"


def _forward_caption(root: Value, names: Mapping[Value, str], precision: int) -> tuple[str, ...]:
    return (
        f"Forward pass: every value computed from its inputs, up to "
        f"{names[root]} = {short_number(root.data, precision)}.",
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
        number = short_number(grad, precision)
        return (f"{name} is {what}: {name}.grad = {number} is complete; nothing to pass on",)
    if node is root:
        title = f"{name} = {expression(node, names)}, the output: seed {name}.grad = 1.0"
    else:
        number = short_number(grad, precision)
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
            f"{short_number(step.local, precision)} · {_signed(step.upstream, precision)} = "
            f"{short_number(step.contribution, precision)}"
        )
        if step.before is not None:  # a Value used more than once
            line += f"  (so far {source}.grad = {short_number(step.total, precision)})"
        lines.append(line)
    return lines


# --- pictures --------------------------------------------------------------------------------


def _named_graph(root: Value, options: DrawOptions, names: Mapping[Value, str]) -> Graph:
    """The diagram's graph with every node named, so the captions' names can be found in it."""
    graph = build_graph(root, options)
    graph.values = [
        node if node.name else replace(node, name=names[node.value]) for node in graph.values
    ]
    return graph


def _styling(frame: Frame, graph: Graph, widths: Mapping[Value, int]) -> Styling:
    """Emphasis for one frame: the current node outlined, its gradient's edges emphasised, the
    nodes not reached yet faded (none in the forward frame). Every gradient is padded to
    ``widths``, its widest text in any frame, so that all frames share one layout."""
    current = frame.node
    inside = {box.output: box.members for box in graph.boxes}  # collapse=True: a box per Neuron

    def node(value: Value) -> Look:
        if current is not None and (value is current or current in inside.get(value, ())):
            return Look(outline=CURRENT)
        return Look(faded=current is not None and value not in frame.grads)

    def edge(edge: Edge) -> Look:
        if current is not None and edge.node is current:
            return Look(outline=CURRENT)
        return Look(faded=current is not None and edge.node not in frame.grads)

    return Styling(
        node=node,
        edge=edge,
        grad=lambda value: frame.grads.get(value, 0.0),
        grad_width=lambda value: widths.get(value, 0),
    )


def _digraphs(root: Value, options: DrawOptions) -> tuple[list[Frame], list[graphviz.Digraph]]:
    names = node_names(root)
    graph = _named_graph(root, options, names)  # raises TooManyNodesError, as draw does
    frames = backward_frames(root, options.precision)
    nodes = topological_order(root)
    widths = {
        value: max(len(format_number(f.grads.get(value, 0.0), options.precision)) for f in frames)
        for value in nodes
    }
    digraphs = [to_digraph(graph, options, _styling(frame, graph, widths)) for frame in frames]
    return frames, digraphs


def _pipe(digraph: graphviz.Digraph, fmt: str) -> bytes:
    try:
        return bytes(digraph.pipe(format=fmt))
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError(MISSING_GRAPHVIZ.format(suffix=f".{fmt}")) from None


def animate(root: Value, path: str | Path, **options: Any) -> Path:
    """Step through ``root``'s backward pass, one node per frame, into the file ``path``.

    ``.html``: one self-contained page (no network) with every frame as inline SVG, play/pause,
    previous/next, a slider, the arrow keys and the caption. ``.gif``: the same frames rendered
    by Graphviz and put together by Pillow, each with its caption. Options: those of
    :func:`viz.draw`. The graph is only read: ``.grad`` fields stay as they were. Raises
    ValueError for another suffix, TooManyNodesError past ``max_nodes``. Returns the path.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ANIMATION_FORMATS:
        raise ValueError(
            f"cannot tell the animation format of {str(path)!r}: "
            f"use one of {', '.join(ANIMATION_FORMATS)}"
        )
    settings = DrawOptions.from_keywords(options)
    frames, digraphs = _digraphs(root, settings)
    if suffix == ".html":
        names = node_names(root)
        path.write_text(_page(frames, digraphs, names), encoding="utf-8")
    else:
        path.write_bytes(_gif(frames, digraphs))
    return path


# --- the page --------------------------------------------------------------------------------


def _inline_svg(svg: str, prefix: str) -> str:
    """Graphviz's SVG as an element of an HTML page: no XML prolog, DOCTYPE or namespace URLs
    (HTML needs none), ids made unique per frame."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg)
    return re.sub(r'\bid="', f'id="{prefix}', svg)


def _page(
    frames: Sequence[Frame], digraphs: Sequence[graphviz.Digraph], names: Mapping[Value, str]
) -> str:
    figures = []
    for k, (frame, digraph) in enumerate(zip(frames, digraphs)):
        svg = _inline_svg(_pipe(digraph, "svg").decode("utf-8"), f"f{k}_")
        node = html.escape(names[frame.node]) if frame.node is not None else ""
        title, *steps = frame.caption
        caption = f'<p class="title">{html.escape(title)}</p>' + "".join(
            f'<p class="step">{html.escape(step)}</p>' for step in steps
        )
        figures.append(
            f'<figure class="frame" data-node="{node}"{"" if k == 0 else " hidden"}>'
            f'<figcaption class="caption">{caption}</figcaption>'
            f'<div class="diagram">{svg}</div></figure>'
        )
    return _PAGE.replace("{frames}", "\n".join(figures)).replace("{last}", str(len(frames) - 1))


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Backpropagation, one node at a time</title>
<style>
  :root { --ink: #2f3e4e; --soft: #6b7785; --accent: #e8590c; --line: #dde3ea; }
  * { box-sizing: border-box; }
  body { margin: 0; background: #f5f7fa; color: var(--ink);
         font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
  main { max-width: 1400px; margin: 0 auto; padding: 20px 24px 32px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .lead { margin: 0 0 16px; color: var(--soft); }
  .controls { display: flex; align-items: center; gap: 8px; flex-wrap: wrap;
              background: #fff; border: 1px solid var(--line); border-radius: 10px;
              padding: 10px 12px; }
  button { font: inherit; border: 1px solid var(--line); background: #fff; color: var(--ink);
           border-radius: 8px; padding: 6px 12px; cursor: pointer; min-width: 44px; }
  button:hover { border-color: var(--accent); }
  button#play { background: var(--ink); color: #fff; border-color: var(--ink); min-width: 84px; }
  input[type=range] { flex: 1; min-width: 160px; accent-color: var(--accent); }
  #position { color: var(--soft); font-variant-numeric: tabular-nums; min-width: 96px;
              text-align: right; }
  .frame { margin: 0; }
  .caption { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--accent);
             border-radius: 10px; margin: 12px 0; padding: 10px 14px; min-height: 72px; }
  .caption p { margin: 2px 0; }
  .caption .title { font-weight: 600; }
  .caption .step { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
                   font-size: 14px; }
  .diagram { background: #fff; border: 1px solid var(--line); border-radius: 10px;
             padding: 12px; overflow-x: auto; text-align: center; }
  .diagram svg { max-width: 100%; height: auto; }
  .keys { color: var(--soft); font-size: 13px; margin-top: 10px; }
  kbd { border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; background: #fff; }
</style>
</head>
<body>
<main>
<h1>Backpropagation, one node at a time</h1>
<p class="lead">First the forward pass; then <code>backward()</code> visits each node after every
node that uses it, and passes its gradient on to its inputs by the chain rule.</p>
<div class="controls">
  <button id="previous" type="button" title="previous (left arrow)">&#9664;</button>
  <button id="play" type="button" title="play / pause (space)">Play</button>
  <button id="next" type="button" title="next (right arrow)">&#9654;</button>
  <input id="slider" type="range" min="0" max="{last}" value="0" aria-label="frame">
  <span id="position"></span>
</div>
{frames}
<p class="keys"><kbd>&larr;</kbd> <kbd>&rarr;</kbd> step, <kbd>space</kbd> play / pause</p>
</main>
<script>
(function () {
  var frames = document.querySelectorAll(".frame");
  var slider = document.getElementById("slider");
  var play = document.getElementById("play");
  var position = document.getElementById("position");
  var shown = 0, timer = null;
  function show(k) {
    k = Math.max(0, Math.min(frames.length - 1, k));
    frames[shown].hidden = true;
    frames[k].hidden = false;
    shown = k;
    slider.value = k;
    position.textContent = k === 0 ? "forward pass" : "step " + k + " of " + (frames.length - 1);
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = "Play"; }
  function toggle() {
    if (timer) { stop(); return; }
    if (shown === frames.length - 1) { show(0); }
    play.textContent = "Pause";
    timer = setInterval(function () {
      if (shown === frames.length - 1) { stop(); } else { show(shown + 1); }
    }, 1500);
  }
  document.getElementById("previous").onclick = function () { stop(); show(shown - 1); };
  document.getElementById("next").onclick = function () { stop(); show(shown + 1); };
  play.onclick = toggle;
  slider.oninput = function () { stop(); show(Number(slider.value)); };
  document.addEventListener("keydown", function (event) {
    if (event.target === slider) { return; }
    if (event.key === "ArrowRight") { stop(); show(shown + 1); event.preventDefault(); }
    else if (event.key === "ArrowLeft") { stop(); show(shown - 1); event.preventDefault(); }
    else if (event.key === " ") { toggle(); event.preventDefault(); }
  });
  show(0);
})();
</script>
</body>
</html>
"""


# --- the GIF ---------------------------------------------------------------------------------


GIF_DPI = 96
"""Resolution of the GIF's diagrams: readable text, a file of a few hundred kB for a neuron."""

GIF_MAX_SIZE = (1600, 1000)
"""The largest diagram in a GIF, in pixels: a wider graph (an MLP drawn left to right) is scaled
down by ``dot`` itself, so its text stays sharp and the file stays small enough to share."""

GIF_MILLISECONDS = (2500, 1800, 4000)
"""How long the GIF shows the forward frame, each backward step, and the last frame."""

_FONT_SIZE = 17
_MARGIN = 16
_LINE = 24


def _font(size: int, *files: str) -> Any:
    """The first of ``files`` (TrueType, looked up in the system's font folders) that Pillow can
    load, else Pillow's own scalable font (Pillow >= 10.1)."""
    from PIL import ImageFont

    for name in files:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _gif(frames: Sequence[Frame], digraphs: Sequence[graphviz.Digraph]) -> bytes:
    """The frames as one looping GIF: each diagram rendered by ``dot`` to PNG, its caption drawn
    above it by Pillow, all on one canvas size."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise ImportError(
            "writing a .gif needs Pillow: pip install 'tinygrad-edu[gif]' "
            "(or write a self-contained .html page, which needs nothing more)"
        ) from None
    title_font = _font(_FONT_SIZE, "DejaVuSans-Bold.ttf", "DejaVuSans.ttf")
    step_font = _font(_FONT_SIZE - 1, "DejaVuSansMono.ttf", "DejaVuSans.ttf")
    inches = ",".join(f"{pixels / GIF_DPI:.3f}" for pixels in GIF_MAX_SIZE)
    diagrams = []
    for digraph in digraphs:
        digraph = digraph.copy()
        digraph.attr(dpi=str(GIF_DPI), size=inches)  # scaled down to fit, never up
        diagrams.append(Image.open(io.BytesIO(_pipe(digraph, "png"))).convert("RGB"))
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    caption_width = max(
        measure.textlength(line, font=title_font if i == 0 else step_font)
        for frame in frames
        for i, line in enumerate(frame.caption)
    )
    caption_height = _MARGIN + _LINE * max(len(frame.caption) for frame in frames) + _MARGIN
    width = max(max(d.width for d in diagrams), int(caption_width) + 2 * _MARGIN + 110)
    height = caption_height + max(d.height for d in diagrams)
    pictures = []
    for k, (frame, diagram) in enumerate(zip(frames, diagrams)):
        canvas = Image.new("RGB", (width, height), "#ffffff")
        draw = ImageDraw.Draw(canvas)
        draw.rectangle((0, 0, width, caption_height - 1), fill="#f5f7fa")
        draw.rectangle((0, 0, 5, caption_height - 1), fill=CURRENT)
        progress = "forward pass" if k == 0 else f"step {k} of {len(frames) - 1}"
        draw.text((width - _MARGIN, _MARGIN), progress, font=step_font, fill="#6b7785", anchor="ra")
        for i, line in enumerate(frame.caption):
            font, ink = (title_font, "#2f3e4e") if i == 0 else (step_font, "#333333")
            draw.text((_MARGIN + 6, _MARGIN + i * _LINE), line, font=font, fill=ink)
        draw.line((0, caption_height - 1, width, caption_height - 1), fill="#dde3ea")
        canvas.paste(diagram, ((width - diagram.width) // 2, caption_height))
        pictures.append(canvas.quantize(colors=128, dither=Image.Dither.NONE))
    first, then, last = GIF_MILLISECONDS
    durations = [first] + [then] * (len(pictures) - 2) + [last]
    out = io.BytesIO()
    pictures[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=durations[: len(pictures)],
        loop=0,
        optimize=True,
    )
    return out.getvalue()
