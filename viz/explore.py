"""A training run replayed in one page: decision regions, loss curves and one point's graph.

``viz.explore(model, snapshots, X, y, "run.html")`` takes a model, the ``state_dict()`` it had at
some steps of its training (the *snapshots*) and its training data, and writes one self-contained
HTML page (no server, no network) that replays the run snapshot by snapshot:

* the decision regions over the plane, shaded by the model's confidence, with the training
  points (hollow where the model gets them wrong at that step);
* the mean loss on the training set (and validation and test sets, when given) at every snapshot,
  a marker at the current one, and each set's accuracy;
* the computation graph of one training point, ``loss(model(x), y)``, with the value and gradient
  of every node *at that step*: the numbers ``backward()`` leaves on that point's own graph.
  Clicking another point shows its graph.

Everything is computed here, in Python, by the engine; the page only shows it. Each point's graph
at each snapshot is built and backpropagated by the interpreter, node by node, exactly as a
learner's own ``loss.backward()`` would.

How the page stays small. A drawing of a graph is mostly layout; the numbers are a small part of
it. All the (point, snapshot) graphs of one shape share one drawing (with cross-entropy, a shape
is a class and a largest logit: its stable form starts from the largest), laid out once by
Graphviz with every number at its widest, so that no number ever overflows its cell. Each number
of the drawing is tagged; the page keeps, for every point and snapshot, the numbers of its
drawing as integers (the digits exactly as ``format_number`` prints them, and a power of ten) and
writes them into the drawing's text when a point or a step is chosen. A parameter's value is the
same for every point at a step, so it is kept once per step. The integers are delta-coded along
the steps and deflated; the browser inflates them with its built-in ``DecompressionStream``
(every current browser has it). The default run of ``python -m demos.explorer`` makes a page of
3.8 MB: 240 points' graphs at 46 snapshots.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import math
import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any, Protocol

import numpy as np

import tinygrad_edu
from tinygrad_edu import Value, no_grad, topological_order
from tinygrad_edu.functional import binary_cross_entropy_with_logits, cross_entropy

from .dot import (
    Styling,
    format_number,
    grad_colors,
    pipe,
    to_digraph,
)
from .graph import Graph, build_graph, grad_cells
from .options import DrawOptions
from .page import fill, template, writable

__all__ = ["explore", "Explorable", "decimal_parts", "decimal_text", "CLASS_COLORS"]

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"

CLASS_COLORS = ("#4575b4", "#d73027", "#1a9850", "#984ea3", "#ff7f00", "#a65628", "#f781bf")
"""The colour of each class, in the regions and the points (the demos' colours first)."""

NONFINITE = 999
"""The power of ten that marks nan (digits 0), inf (1) and -inf (-1) in :func:`decimal_parts`."""

_SENTINEL = 1000
"""Node k of a graph shows ``_SENTINEL + k`` while its drawing's numbers are being located."""

_COLOR_LEVELS = 256
"""Gradient colours are looked up in a table of this many shades per sign."""


class Explorable(Protocol):
    """What ``explore`` needs of a model: called on one sample (two numbers) it returns the
    logits (a list of Values) or one score (a Value); its parameters can be saved and loaded
    by name. Every ``nn.Module`` model is one."""

    def __call__(self, x: list[Value]) -> Any: ...

    def named_parameters(self) -> Sequence[tuple[str, Value]]: ...

    def state_dict(self) -> dict[str, float]: ...

    def load_state_dict(self, state: Mapping[str, object]) -> None: ...


Loss = Callable[[Any, int], Value]


# --- numbers exactly as printed ----------------------------------------------------------------


def decimal_parts(values: Any, precision: int) -> tuple[np.ndarray, np.ndarray]:
    """Each number as ``format_number(x, precision)`` prints it, as two integers: its digits and
    a power of ten, with ``x ≈ digits · 10**power`` exactly as printed.

    Fixed notation (``0.7071``) has ``power == -precision``; scientific notation (``1.2340e-05``)
    has the mantissa's digits and ``power = exponent - precision``; nan, inf and -inf have
    ``power == NONFINITE`` and digits 0, 1 and -1. ``decimal_text`` turns the pair back into the
    text. Rounding is Python's own (the exact binary value, ties to even), not a product's.
    """
    x = np.asarray(values, dtype=np.float64)
    digits = np.zeros(x.shape, dtype=np.int64)
    power = np.full(x.shape, -precision, dtype=np.int64)
    finite = np.isfinite(x)
    size = np.abs(np.where(finite, x, 0.0))
    scientific = finite & (x != 0) & ((size >= 1e9) | (size < 10.0**-precision))
    fixed = finite & ~scientific
    scaled = x[fixed] * 10.0**precision
    rounded = np.rint(scaled)
    # x·10^p is off the exact decimal by at most half an ulp: only a number that close to a
    # rounding boundary (a half) could round differently, and Python decides those.
    fraction = np.abs(scaled - np.trunc(scaled))
    doubtful = (np.abs(fraction - 0.5) <= 1e-15 * np.maximum(np.abs(scaled), 1.0)) | (
        np.abs(scaled) >= 2.0**52
    )
    fixed_digits = rounded.astype(np.int64)
    fixed_values = x[fixed]
    for k in np.flatnonzero(doubtful):
        fixed_digits[k] = int(f"{float(fixed_values[k]):.{precision}f}".replace(".", ""))
    digits[fixed] = fixed_digits
    for index in zip(*np.nonzero(scientific)):
        mantissa, exponent = f"{float(x[index]):.{precision}e}".split("e")
        digits[index] = int(mantissa.replace(".", ""))
        power[index] = int(exponent) - precision
    nonfinite = ~finite
    power[nonfinite] = NONFINITE
    digits[nonfinite] = np.where(np.isnan(x[nonfinite]), 0, np.sign(x[nonfinite])).astype(np.int64)
    return digits, power


def decimal_text(digits: int, power: int, precision: int) -> str:
    """The text of a number from :func:`decimal_parts`: ``format_number``'s text, rebuilt from
    integers alone (the page's script does exactly this)."""
    if power == NONFINITE:
        return "nan" if digits == 0 else ("inf" if digits > 0 else "-inf")
    sign = "-" if digits < 0 else ""
    text = str(abs(digits))
    if power == -precision:  # fixed notation
        if precision == 0:
            return sign + text
        text = text.rjust(precision + 1, "0")
        return f"{sign}{text[:-precision]}.{text[-precision:]}"
    exponent = power + precision
    mantissa = text if precision == 0 else f"{text[0]}.{text[1:]}"
    return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _text_lengths(digits: np.ndarray, power: np.ndarray, precision: int) -> np.ndarray:
    """How many characters :func:`decimal_text` gives for each pair (to find the widest)."""
    size = np.abs(digits).astype(np.float64)
    count = np.where(size > 0, np.floor(np.log10(np.maximum(size, 1.0))) + 1, 1).astype(np.int64)
    point = 1 if precision > 0 else 0
    fixed = (digits < 0) + np.maximum(count, precision + 1) + point
    exponent = np.abs(power + precision)
    exponent_digits = np.where(exponent >= 100, 3, 2)  # a float's exponent is at most 324
    scientific = (digits < 0) + precision + 1 + point + 2 + exponent_digits
    lengths = np.where(power == -precision, fixed, scientific)
    return np.asarray(np.where(power == NONFINITE, 4, lengths))


# --- checking what we are given ---------------------------------------------------------------


def _features(name: str, X: object) -> np.ndarray:
    array = np.asarray(X, dtype=np.float64) if isinstance(X, (np.ndarray, list, tuple)) else None
    if array is None:
        raise TypeError(f"{name} must be an array of shape (n, 2), not {type(X).__name__}")
    if array.ndim != 2 or array.shape[1] != 2 or len(array) == 0:
        raise ValueError(
            f"{name} must have shape (n, 2) with n >= 1 (explore draws the plane of two "
            f"features), got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains nan or infinite values")
    return array


def _labels(name: str, y: object, n: int) -> np.ndarray:
    array = np.asarray(y)
    if array.ndim != 1 or len(array) != n:
        raise ValueError(
            f"{name} must hold one class label per sample ({n}), got shape {array.shape}"
        )
    if array.dtype.kind not in "iub" and not (
        array.dtype.kind == "f" and np.all(array == np.round(array))
    ):
        raise TypeError(f"{name} must hold integer class labels, not {array.dtype}")
    labels = array.astype(np.int64)
    if labels.min() < 0:
        raise ValueError(f"{name} has a negative class label ({labels.min()})")
    return labels


def _steps(steps: Sequence[int] | None, count: int) -> list[int]:
    if steps is None:
        return list(range(count))
    numbers = list(steps)
    if len(numbers) != count:
        raise ValueError(f"{len(numbers)} steps for {count} snapshots: give one step per snapshot")
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in numbers):
        raise TypeError("steps must be ints (the training step of each snapshot)")
    if any(b < a for a, b in itertools.pairwise(numbers)):
        raise ValueError("steps must not decrease: snapshots come in training order")
    return [int(s) for s in numbers]


def _options(options: dict[str, Any]) -> DrawOptions:
    settings = DrawOptions.from_keywords({"collapse": True, "rankdir": "TB", **options})
    if settings.edge_grads:
        raise ValueError(
            "explore does not draw edge_grads: a point's local derivatives change at every "
            "step; the values and gradients on the nodes are shown"
        )
    return settings


# --- the model's outputs ----------------------------------------------------------------------


def _logit_list(out: object) -> list[Value]:
    if isinstance(out, Value):
        return [out]
    if isinstance(out, Sequence) and out and all(isinstance(v, Value) for v in out):
        return list(out)
    raise TypeError(
        "the model must return a list of Values (one logit per class) or one Value (a score "
        f"for two classes), not {type(out).__name__}"
    )


def _predicted(logits: np.ndarray) -> np.ndarray:
    """The class of each row of logits: the largest, or score > 0 for a single score."""
    if logits.shape[1] == 1:
        return (logits[:, 0] > 0).astype(np.int64)
    return np.asarray(np.argmax(logits, axis=1))


def _confidence(logits: np.ndarray) -> np.ndarray:
    """How sure the model is of each row's class, from 0 (a guess among the classes) to 1: the
    softmax probability of the predicted class (the logistic of a single score), rescaled."""
    if logits.shape[1] == 1:
        p = 1.0 / (1.0 + np.exp(-np.abs(logits[:, 0])))
        classes = 2
    else:
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        p = (shifted / shifted.sum(axis=1, keepdims=True)).max(axis=1)
        classes = logits.shape[1]
    return np.asarray(np.clip((p - 1 / classes) / (1 - 1 / classes), 0.0, 1.0))


def _default_loss(classes: int) -> Loss:
    if classes == 1:
        return lambda out, target: binary_cross_entropy_with_logits(out, float(target))
    return lambda out, target: cross_entropy(out, target)


class _Evaluator:
    """Forward passes over many points at once (the validation and test sets, the grid of the
    decision regions): the logits of each row and, given labels, each row's loss.

    With ``compiled`` the function is traced once per set by ``tinygrad_edu.compile`` and
    replayed at every snapshot (it reads the parameters afresh at each call); the interpreter
    otherwise. Labels are passed as Python ints, which compile treats as static.
    """

    def __init__(self, model: Explorable, loss: Loss, classes: int, compiled: bool) -> None:
        self.model, self.loss, self.classes = model, loss, classes
        self.run = tinygrad_edu.compile(self._outputs) if compiled else self._outputs

    def _outputs(self, X: Any, labels: tuple[int, ...]) -> list[Value]:
        outs = [self.model(list(row)) for row in X]
        logits = [v for out in outs for v in _logit_list(out)]
        return logits + [self.loss(out, t) for out, t in zip(outs, labels)]

    def __call__(self, X: np.ndarray, y: np.ndarray | None) -> tuple[np.ndarray, float]:
        labels = tuple(y.tolist()) if y is not None else ()
        with no_grad():
            results = [v.data for v in self.run(X, labels)]
        logits = np.array(results[: len(X) * self.classes]).reshape(len(X), self.classes)
        losses = results[len(X) * self.classes :]
        return logits, float(np.mean(losses)) if losses else math.nan


# --- one drawing per shape of graph -------------------------------------------------------------


@dataclass(eq=False)
class _Layout:
    """The drawing shared by every (point, snapshot) whose graph has this ``shape``.

    ``texts`` holds, for each number text of the drawing in document order, the nodes it shows
    (indices in the topological order; several for a folded node, whose text is a range) and
    whether it shows their grad or their data. ``keys`` are the numbers kept per point and
    snapshot (key 2k + 1 is node k's grad, 2k its data), ``sources`` where each text's numbers
    come from: ``(0, key)`` the point's own, ``(1, k)`` parameter k's value at that snapshot (the
    same for every point). ``weighed`` are the nodes whose |grad| sets the colour scale.
    """

    index: int
    root: Value
    order: list[Value]
    graph: Graph
    texts: list[tuple[tuple[int, ...], bool]] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)
    sources: list[list[tuple[int, int]]] = field(default_factory=list)
    weighed: list[int] = field(default_factory=list)
    svg: str = ""


_OP, _SCOPE, _LABEL, _INPUTS = (
    attrgetter("op"), attrgetter("scope"), attrgetter("label"), attrgetter("inputs")
)  # fmt: skip


def _shape(order: list[Value], parameters: Mapping[Value, int]) -> tuple[Any, ...]:
    """Everything a drawing of the graph depends on but its numbers: each node's operation,
    scope and label, which parameter a leaf is, and where each node's inputs are in the order.
    (Two graphs alike in their operations and wiring can still differ: which of three neurons
    cross-entropy reaches first depends on the largest logit.)"""
    position = dict(zip(order, range(len(order))))
    inputs = list(map(_INPUTS, order))
    return (
        tuple(map(_OP, order)),
        tuple(map(_SCOPE, order)),
        tuple(map(_LABEL, order)),
        tuple(map(parameters.get, order)),
        tuple(map(len, inputs)),
        tuple(map(position.__getitem__, itertools.chain.from_iterable(inputs))),
    )


def _draw(
    graph: Graph, order: list[Value], options: DrawOptions, data: list[float], grads: list[float]
) -> ET.Element:
    """The SVG of ``graph`` drawn with node k of ``order`` showing ``data[k]`` and
    ``grads[k]``. The drawing reads data from the nodes themselves, so it is written into them
    for the drawing and put back afterwards: the graph and the model are left as they were."""
    saved = [v.data for v in order]
    by_node = dict(zip(order, grads))
    try:
        for v, d in zip(order, data):
            v.data = d
        digraph = to_digraph(graph, options, Styling(grad=lambda v: by_node[v]))
        svg = pipe(digraph, "svg").decode("utf-8")
    finally:
        for v, d in zip(order, saved):
            v.data = d
    return ET.fromstring(svg)


_NUMBER_TEXT = re.compile(r"^(data|grad) (.+)$")


def _number_texts(svg: ET.Element) -> list[tuple[ET.Element, ET.Element | None, str, str]]:
    """Every ``data N`` / ``grad N`` text of a drawing in document order, with the cell's
    background shape drawn just before it (None if there is none), its kind and its numbers."""
    shapes = (f"{{{SVG}}}polygon", f"{{{SVG}}}path")
    found = []
    for parent in svg.iter():
        previous: ET.Element | None = None
        for child in parent:
            if child.tag == f"{{{SVG}}}text" and child.text and child.get("font-weight") != "bold":
                match = _NUMBER_TEXT.match(child.text)  # (a label cell is bold)
                if match:
                    background = (
                        previous if previous is not None and previous.tag in shapes else None
                    )
                    found.append((child, background, match[1], match[2]))
            previous = child
    return found


def _new_layout(
    index: int, root: Value, order: list[Value], options: DrawOptions,
    parameters: Mapping[Value, int],
) -> _Layout:  # fmt: skip
    """The layout of ``root``'s graph: which node's numbers each text of its drawing shows,
    found by drawing it once with node k showing ``_SENTINEL + k`` as its data and its grad."""
    graph = build_graph(root, options, order=order)
    layout = _Layout(index, root, order, graph)
    position = dict(zip(order, range(len(order))))
    groups = {}  # a folded cell's nodes, by the first and last of them
    for values in grad_cells(graph).values():
        members = tuple(sorted(position[v] for v in values))
        groups[members[0], members[-1]] = members
    layout.weighed = sorted(
        {position[v] for node in graph.values for v in node.values}
        | {position[v] for box in graph.boxes for v in (*box.parameters, *box.outputs)}
    )
    sentinels = [float(_SENTINEL + k) for k in range(len(order))]
    for _, _, kind, numbers in _number_texts(_draw(graph, order, options, sentinels, sentinels)):
        ends = [round(float(n)) - _SENTINEL for n in numbers.split(" … ")]
        found = (ends[0],) if len(ends) == 1 else groups.get((ends[0], ends[-1]))
        if found is None or not all(0 <= k < len(order) for k in found):
            raise RuntimeError(f"cannot tell which nodes the drawing's {kind} {numbers} shows")
        layout.texts.append((found, kind == "grad"))
    own: dict[int, None] = {}
    for members, grad in layout.texts:
        sources = []
        for k in members:
            value = order[k]
            if not grad and value in parameters and not value.op:
                sources.append((1, parameters[value]))
            else:
                own[2 * k + grad] = None
                sources.append((0, 2 * k + grad))
        layout.sources.append(sources)
    layout.keys = list(own)
    return layout


# --- the run, replayed -------------------------------------------------------------------------


@dataclass
class _Replay:
    """What the page shows, computed snapshot by snapshot."""

    layouts: list[_Layout]
    layout_at: np.ndarray  # (snapshots, points): the layout of each point's graph
    numbers: list[list[list[float]]]  # [point][snapshot]: the values of the layout's keys
    largest: np.ndarray  # (snapshots, points): the largest |grad| of each drawing
    parameters: np.ndarray  # (snapshots, parameters): their values at each snapshot
    predicted: np.ndarray  # (snapshots, points): the class each training point gets
    losses: dict[str, list[float]]
    accuracies: dict[str, list[float]]
    regions: np.ndarray  # (snapshots, grid, grid, 2): class and confidence, top row first


def _replay(
    model: Explorable,
    snapshots: Sequence[Mapping[str, object]],
    data: dict[str, tuple[np.ndarray, np.ndarray]],
    loss: Loss,
    evaluate: _Evaluator,
    options: DrawOptions,
    grid: np.ndarray,
    features: tuple[str, str],
    progress: Callable[[int], None],
) -> _Replay:
    X, y = data["train"]
    targets = y.tolist()
    # Each point's coordinates as labelled leaves: its graph shows them as the inputs they are.
    inputs = [[Value(a, label=features[0]), Value(b, label=features[1])] for a, b in X.tolist()]
    parameters = [p for _, p in model.named_parameters()]
    parameter_index = {p: k for k, p in enumerate(parameters)}
    layouts: list[_Layout] = []
    by_shape: dict[tuple[Any, ...], _Layout] = {}
    shape = (len(snapshots), len(inputs))
    layout_at = np.empty(shape, dtype=np.int64)
    largest = np.empty(shape)
    predicted = np.empty(shape, dtype=np.int64)
    numbers: list[list[list[float]]] = [[] for _ in inputs]
    table = np.empty((len(snapshots), len(parameters)))
    losses: dict[str, list[float]] = {name: [] for name in data}
    accuracies: dict[str, list[float]] = {name: [] for name in data}
    regions = np.empty((len(snapshots), *grid.shape[:2], 2), dtype=np.uint8)
    for s, state in enumerate(snapshots):
        model.load_state_dict(state)
        table[s] = [p.data for p in parameters]
        point_losses = []
        for i, (x, target) in enumerate(zip(inputs, targets)):
            for v in (*parameters, *x):
                v.grad = 0.0
            out = model(x)
            root = loss(out, target)
            root.backward()  # the point's own graph: every node's grad is d loss / d node
            order = topological_order(root)
            key = _shape(order, parameter_index)
            layout = by_shape.get(key)
            if layout is None:
                layout = _new_layout(len(layouts), root, order, options, parameter_index)
                by_shape[key] = layout
                layouts.append(layout)
            layout_at[s, i] = layout.index
            numbers[i].append(
                [order[k >> 1].grad if k & 1 else order[k >> 1].data for k in layout.keys]
            )
            grads = [abs(order[k].grad) for k in layout.weighed]
            largest[s, i] = max((g for g in grads if not math.isnan(g)), default=0.0)
            point_losses.append(root.data)
            predicted[s, i] = _predicted(np.array([[v.data for v in _logit_list(out)]]))[0]
        losses["train"].append(float(np.mean(point_losses)))
        accuracies["train"].append(float(np.mean(predicted[s] == y)))
        for name, (X_set, y_set) in data.items():
            if name != "train":
                logits, mean_loss = evaluate(X_set, y_set)
                losses[name].append(mean_loss)
                accuracies[name].append(float(np.mean(_predicted(logits) == y_set)))
        grid_logits, _ = evaluate(grid.reshape(-1, 2), None)
        regions[s, ..., 0] = _predicted(grid_logits).reshape(grid.shape[:2])
        regions[s, ..., 1] = np.round(255 * _confidence(grid_logits)).reshape(grid.shape[:2])
        progress(s)
    return _Replay(
        layouts, layout_at, numbers, largest, table, predicted, losses, accuracies, regions
    )


# --- the drawings, final -----------------------------------------------------------------------


def _widest(values: np.ndarray, precision: int) -> np.ndarray:
    """For each column, the value whose printed text is longest."""
    if values.size == 0:
        return np.zeros(values.shape[1:])
    lengths = _text_lengths(*decimal_parts(values, precision), precision)
    rows = np.argmax(lengths, axis=0)
    return np.asarray(np.take_along_axis(values, rows[None, :], axis=0)[0])


def _finish_layout(layout: _Layout, replay: _Replay, options: DrawOptions) -> None:
    """Draw the layout once with every number at its widest, and tag its number texts."""
    where = np.argwhere(replay.layout_at == layout.index)
    own = np.array([replay.numbers[i][s] for s, i in where], dtype=np.float64)
    widest_own = dict(zip(layout.keys, _widest(own.reshape(len(own), -1), options.precision)))
    widest_parameter = _widest(replay.parameters, options.precision)
    order = layout.order
    data, grads = [v.data for v in order], [v.grad for v in order]
    for (members, grad), sources in zip(layout.texts, layout.sources):
        widest = [
            float(widest_own[k] if source == 0 else widest_parameter[k]) for source, k in sources
        ]
        if len(members) > 1:  # a range, "low … high": its widest is "-b … b"
            longest: float = max(widest, key=lambda v: len(format_number(v, options.precision)))
            big = abs(longest)
            widest = [-big] + [big] * (len(members) - 1)
        for k, value in zip(members, widest):
            (grads if grad else data)[k] = value
    svg = _draw(layout.graph, order, options, data, grads)
    texts = _number_texts(svg)
    if len(texts) != len(layout.texts):
        raise RuntimeError("the drawing changed between two renderings of the same graph")
    for slot, (text, background, kind, _) in enumerate(texts):
        text.set("data-slot", str(slot))
        if kind == "grad" and background is not None and options.color:
            background.set("data-fill", str(slot))
    prefix = f"L{layout.index}_"
    for element in svg.iter():
        if "id" in element.attrib:
            element.set("id", prefix + element.attrib["id"])
    for name in ("width", "height"):
        svg.attrib.pop(name, None)  # the page scales the drawing to its panel
    ET.register_namespace("", SVG)
    ET.register_namespace("xlink", XLINK)
    layout.svg = ET.tostring(svg, encoding="unicode")


# --- packing numbers for the page -------------------------------------------------------------


def _packed(array: Any, dtype: str) -> str:
    """An array as base64 of its deflated little-endian bytes."""
    raw = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def _packed_series(values: np.ndarray, precision: int) -> dict[str, str]:
    """Rows of numbers along the snapshots, as the digits they print with (delta-coded along
    each row: neighbouring snapshots differ little) and their powers of ten."""
    digits, power = decimal_parts(values, precision)
    deltas = np.diff(digits, axis=-1, prepend=0) if digits.size else digits
    small = deltas.size == 0 or int(np.abs(deltas).max()) < 2**31
    if not small and int(np.abs(digits).max()) >= 2**53:
        raise ValueError("numbers too long to show exactly: use a smaller precision")
    return {
        "digits": _packed(deltas, "i4" if small else "f8"),
        "type": "int32" if small else "float64",
        "powers": _packed(power, "i2"),
    }


def _point_rows(replay: _Replay, i: int) -> tuple[list[int], np.ndarray]:
    """Point i's numbers as one row per key it uses at some snapshot, one column per snapshot.
    Where that snapshot's drawing does not use the key, the row repeats its nearest used
    neighbour: it is never shown, and a repeat costs nothing once delta-coded and deflated."""
    layouts, S = replay.layouts, len(replay.layout_at)
    keys = sorted({k for s in range(S) for k in layouts[replay.layout_at[s, i]].keys})
    row_of = {k: r for r, k in enumerate(keys)}
    rows = np.zeros((len(keys), S))
    used = np.zeros((len(keys), S), dtype=bool)
    for s, values in enumerate(replay.numbers[i]):
        where = [row_of[k] for k in layouts[replay.layout_at[s, i]].keys]
        rows[where, s] = values
        used[where, s] = True
    for r in np.flatnonzero(~used.all(axis=1)):
        known = np.flatnonzero(used[r])
        nearest = known[np.clip(np.searchsorted(known, np.arange(S)), 0, len(known) - 1)]
        rows[r] = rows[r, nearest]
    return keys, rows


# --- the static pictures: axes for the regions, the loss chart -----------------------------------


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round numbers between low and high, about ``count`` of them."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + k * step, 12) for k in range(int((high - first) / step + 1e-9) + 1)]


def _tick_text(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class _Frame:
    """A plotting area of ``size`` pixels square (plus margins) over the box ``low``..``high``."""

    low: tuple[float, float]
    high: tuple[float, float]
    size: int = 420
    left: int = 46
    top: int = 10

    def x(self, value: float) -> float:
        return self.left + (value - self.low[0]) / (self.high[0] - self.low[0]) * self.size

    def y(self, value: float) -> float:
        return self.top + (self.high[1] - value) / (self.high[1] - self.low[1]) * self.size


def _plane_svg(frame: _Frame, X: np.ndarray, y: np.ndarray, names: Sequence[str]) -> str:
    """The regions' axes and the training points (circles a click chooses)."""
    width, height = frame.left + frame.size + 12, frame.top + frame.size + 42
    parts = [
        f'<svg id="plane" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="decision regions and training points">',
        f'<image id="regions" x="{frame.left}" y="{frame.top}" width="{frame.size}" '
        f'height="{frame.size}" preserveAspectRatio="none"/>',
        f'<rect x="{frame.left}" y="{frame.top}" width="{frame.size}" height="{frame.size}" '
        'fill="none" stroke="#9aa5b1"/>',
    ]
    for axis in (0, 1):
        for tick in _ticks(frame.low[axis], frame.high[axis]):
            if axis == 0:
                px = frame.x(tick)
                bottom = frame.top + frame.size
                parts.append(
                    f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{bottom}" y2="{bottom + 4}" '
                    f'stroke="#9aa5b1"/><text x="{px:.1f}" y="{bottom + 16}" class="tick" '
                    f'text-anchor="middle">{_tick_text(tick)}</text>'
                )
            else:
                py = frame.y(tick)
                parts.append(
                    f'<line x1="{frame.left - 4}" x2="{frame.left}" y1="{py:.1f}" y2="{py:.1f}" '
                    f'stroke="#9aa5b1"/><text x="{frame.left - 7}" y="{py + 4:.1f}" '
                    f'class="tick" text-anchor="end">{_tick_text(tick)}</text>'
                )
    middle = frame.left + frame.size / 2
    parts.append(
        f'<text x="{middle}" y="{frame.top + frame.size + 34}" class="axis" '
        f'text-anchor="middle">{html.escape(names[0])}</text>'
        f'<text x="12" y="{frame.top + frame.size / 2}" class="axis" text-anchor="middle" '
        f'transform="rotate(-90 12 {frame.top + frame.size / 2})">{html.escape(names[1])}</text>'
    )
    parts.append('<g id="points">')
    for i, ((a, b), label) in enumerate(zip(X.tolist(), y.tolist())):
        colour = CLASS_COLORS[label % len(CLASS_COLORS)]
        parts.append(
            f'<circle class="point" data-point="{i}" cx="{frame.x(a):.1f}" cy="{frame.y(b):.1f}" '
            f'r="4.2" fill="{colour}" stroke="{colour}"><title>training point {i}, class '
            f"{label}</title></circle>"
        )
    parts.append('</g><circle id="chosen" r="9" fill="none" stroke="#111" stroke-width="2.2"/>')
    parts.append("</svg>")
    return "".join(parts)


_CURVE_STYLE = {
    "train": ("#2f3e4e", ""),
    "validation": ("#e8590c", "6 3"),
    "test": ("#1a9850", "2 3"),
}


def _chart_svg(steps: list[int], losses: Mapping[str, list[float]]) -> tuple[str, list[float]]:
    """The loss of each set at every snapshot against the training step, and the x position of
    each snapshot (for the page's marker)."""
    width, height, left, right, top, bottom = 478, 230, 52, 12, 12, 40
    finite = [v for curve in losses.values() for v in curve if math.isfinite(v)]
    high = max(finite, default=1.0) * 1.05 or 1.0
    first, last = steps[0], max(steps[-1], steps[0] + 1)

    def px(step: float) -> float:
        return left + (step - first) / (last - first) * (width - left - right)

    def py(value: float) -> float:
        return top + (1 - value / high) * (height - top - bottom)

    parts = [
        f'<svg id="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="loss curves">'
    ]
    for tick in _ticks(0, high):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" '
            f'stroke="#e6eaef"/><text x="{left - 6}" y="{py(tick) + 4:.1f}" class="tick" '
            f'text-anchor="end">{_tick_text(tick)}</text>'
        )
    for tick in _ticks(first, last):
        parts.append(
            f'<text x="{px(tick):.1f}" y="{height - bottom + 16}" class="tick" '
            f'text-anchor="middle">{int(tick) if tick == int(tick) else tick}</text>'
        )
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{height - bottom}" y2="{height - bottom}" '
        f'stroke="#9aa5b1"/><text x="{(left + width - right) / 2}" y="{height - 6}" '
        'class="axis" text-anchor="middle">training step</text>'
        f'<text x="13" y="{(top + height - bottom) / 2}" class="axis" text-anchor="middle" '
        f'transform="rotate(-90 13 {(top + height - bottom) / 2})">mean loss</text>'
    )
    for name, curve in losses.items():
        colour, dash = _CURVE_STYLE[name]
        points = " ".join(
            f"{px(s):.1f},{py(v):.1f}" for s, v in zip(steps, curve) if math.isfinite(v)
        )
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline class="curve" data-set="{name}" points="{points}" fill="none" '
            f'stroke="{colour}" stroke-width="2"{dashes}/>'
        )
    parts.append(
        f'<line id="marker" x1="{left}" x2="{left}" y1="{top}" y2="{height - bottom}" '
        'stroke="#111" stroke-width="1" stroke-dasharray="3 3"/>'
    )
    legend_x = width - right - 118
    for k, name in enumerate(losses):
        colour, dash = _CURVE_STYLE[name]
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        ly = top + 10 + 16 * k
        parts.append(
            f'<line x1="{legend_x}" x2="{legend_x + 22}" y1="{ly}" y2="{ly}" stroke="{colour}" '
            f'stroke-width="2"{dashes}/><text x="{legend_x + 28}" y="{ly + 4}" class="tick">'
            f"{name}</text>"
        )
    parts.append("</svg>")
    return "".join(parts), [round(px(s), 1) for s in steps]


def _color_table() -> dict[str, list[list[str]]]:
    """``viz.dot``'s gradient colours (fill, text) for shares of the largest |grad| at the
    levels (k / 256)², k = 0 .. 256, for each sign (the page picks the nearest level in √share,
    the scale the colours themselves use), and nan's."""
    shares = [(k / _COLOR_LEVELS) ** 2 for k in range(_COLOR_LEVELS + 1)]
    return {
        "negative": [list(grad_colors(-share, 1.0)) for share in shares],
        "positive": [list(grad_colors(share, 1.0)) for share in shares],
        "zero": [list(grad_colors(0.0, 1.0))],
        "nan": [list(grad_colors(math.nan, 1.0))],
    }


# --- explore -----------------------------------------------------------------------------------


def explore(
    model: Explorable,
    snapshots: Sequence[Mapping[str, object]],
    X: Any,
    y: Any,
    path: str | Path,
    *,
    steps: Sequence[int] | None = None,
    validation: tuple[Any, Any] | None = None,
    test: tuple[Any, Any] | None = None,
    loss: Loss | None = None,
    title: str = "A training run, step by step",
    subtitle: str = "",
    features: tuple[str, str] = ("x0", "x1"),
    grid: int = 60,
    point: int = 0,
    progress: Callable[[int], None] | None = None,
    compiled: bool = True,
    **options: Any,
) -> Path:
    """Replay a training run in one self-contained HTML page, written to ``path``.

    ``snapshots`` are the model's ``state_dict()`` at the recorded steps, in training order
    (``steps``: the training step of each; default 0, 1, 2, ...). ``X`` (shape (n, 2)) and ``y``
    (class labels 0, 1, ...) are the training points; ``validation`` and ``test`` are optional
    ``(X, y)`` pairs whose mean loss and accuracy are shown too. ``loss(output, label)`` is one
    point's loss (default: ``cross_entropy`` for a list of logits,
    ``binary_cross_entropy_with_logits`` for one score).

    For every snapshot the page shows the decision regions on a ``grid`` × ``grid`` grid, each
    set's mean loss and accuracy, and, for each training point, the graph of its loss with
    every node's value and gradient after ``backward()`` at that step (training point ``point``
    first). Drawing options are those of :func:`viz.draw` (default ``collapse=True``: a box per
    neuron; ``edge_grads`` is not offered). ``progress(k)`` is called after snapshot k.

    The model is only read: it ends with the parameters, gradients and mode it started with
    (the snapshots are evaluated in ``eval()`` mode). Raises TypeError or ValueError for input
    of the wrong kind, naming what was expected. Returns the path written.
    """
    settings = _options(options)
    if isinstance(snapshots, Mapping) or not isinstance(snapshots, Sequence) or not snapshots:
        raise ValueError(
            "snapshots is a list of the model's state_dict() at the recorded steps (at least one)"
        )
    X_train = _features("X", X)
    data = {"train": (X_train, _labels("y", y, len(X_train)))}
    for name, pair in (("validation", validation), ("test", test)):
        if pair is not None:
            features_array = _features(f"{name} X", pair[0])
            data[name] = (features_array, _labels(f"{name} y", pair[1], len(features_array)))
    snapshot_steps = _steps(steps, len(snapshots))
    if isinstance(grid, bool) or not isinstance(grid, int) or not 8 <= grid <= 400:
        raise ValueError(f"grid must be an int from 8 to 400, not {grid!r}")
    if isinstance(point, bool) or not isinstance(point, int) or not 0 <= point < len(X_train):
        raise ValueError(f"point must be the index of a training point, 0 to {len(X_train) - 1}")
    for k, state in enumerate(snapshots):
        _check_snapshot(model, state, k)
    parameters = [p for _, p in model.named_parameters()]
    saved_state = model.state_dict()
    saved_grads = [p.grad for p in parameters]
    training = getattr(model, "training", None)
    try:
        if training is not None:
            model.eval()  # type: ignore[attr-defined]
        model.load_state_dict(snapshots[0])
        with no_grad():
            classes = len(_logit_list(model(X_train[0].tolist())))
        for name, (_, labels) in data.items():
            if labels.max() >= max(classes, 2):
                gives = "one score (two classes)" if classes == 1 else f"{classes} logits"
                raise ValueError(f"{name} has class {labels.max()} but the model gives {gives}")
        low, high = _bounds(np.vstack([features for features, _ in data.values()]))
        point_loss = loss or _default_loss(classes)
        replay = _replay(
            model,
            snapshots,
            data,
            point_loss,
            _Evaluator(model, point_loss, classes, compiled),
            settings,
            _grid(low, high, grid),
            features,
            progress or (lambda _: None),
        )
        for layout in replay.layouts:
            _finish_layout(layout, replay, settings)
    finally:
        model.load_state_dict(saved_state)
        for p, g in zip(parameters, saved_grads):
            p.grad = g
        if training is not None:
            model.train(training)  # type: ignore[attr-defined]
    page = _page(
        replay,
        data,
        snapshot_steps,
        settings,
        _Frame(low, high),
        title=title,
        subtitle=subtitle,
        features=features,
        point=point,
        classes=max(classes, 2),
    )
    target = Path(path)
    target.write_text(writable(page), encoding="utf-8")  # a title may hold a lone surrogate
    return target


def _check_snapshot(model: Explorable, state: object, k: int) -> None:
    if not isinstance(state, Mapping):
        raise TypeError(f"snapshot {k} is a {type(state).__name__}, not a state_dict (a mapping)")
    names = set(model.state_dict())
    if set(state) != names:
        missing = sorted(names - set(state))[:3]
        extra = sorted(str(n) for n in set(state) - names)[:3]
        raise ValueError(
            f"snapshot {k} does not fit the model: missing {missing}, unexpected {extra}"
        )


def _bounds(X: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """A square box around the points, with a margin."""
    low, high = X.min(axis=0), X.max(axis=0)
    centre, half = (low + high) / 2, max(float((high - low).max()) / 2, 1e-9) * 1.08
    return (
        (float(centre[0] - half), float(centre[1] - half)),
        (float(centre[0] + half), float(centre[1] + half)),
    )


def _grid(low: tuple[float, float], high: tuple[float, float], n: int) -> np.ndarray:
    """The centres of an n × n grid of cells over the box, top row first (as in an image)."""
    xs = low[0] + (high[0] - low[0]) / n * (np.arange(n) + 0.5)
    ys = high[1] - (high[1] - low[1]) / n * (np.arange(n) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx, gy], axis=-1)


def _root_text(layout: _Layout) -> int:
    """The text that shows the loss (the root's data), or -1 if the drawing does not show it."""
    root = len(layout.order) - 1
    for t, (members, grad) in enumerate(layout.texts):
        if members == (root,) and not grad:
            return t
    return -1


def _page(
    replay: _Replay,
    data: Mapping[str, tuple[np.ndarray, np.ndarray]],
    steps: list[int],
    options: DrawOptions,
    frame: _Frame,
    *,
    title: str,
    subtitle: str,
    features: tuple[str, str],
    point: int,
    classes: int,
) -> str:
    X, y = data["train"]
    keys, rows = zip(*(_point_rows(replay, i) for i in range(len(X))))
    chart, marker_x = _chart_svg(steps, replay.losses)
    payload = {
        "precision": options.precision,
        "steps": steps,
        "classes": [CLASS_COLORS[k % len(CLASS_COLORS)] for k in range(classes)],
        "points": len(X),
        "point": point,
        "features": [[float(f"{a:.6g}"), float(f"{b:.6g}")] for a, b in X.tolist()],
        "labels": y.tolist(),
        "layouts": [
            {
                "texts": [[k for pair in sources for k in pair] for sources in layout.sources],
                "root": _root_text(layout),
            }
            for layout in replay.layouts
        ],
        "layoutAt": _packed(replay.layout_at, "u2"),
        "keyCounts": [len(k) for k in keys],
        "keys": _packed(np.concatenate([np.asarray(k) for k in keys]), "i4"),
        "numbers": _packed_series(np.vstack(rows), options.precision),
        "parameters": _packed_series(replay.parameters.T, options.precision),
        "largest": _packed(replay.largest, "f8"),
        "predicted": _packed(replay.predicted, "u1"),
        "regions": _packed(replay.regions, "u1"),
        "grid": replay.regions.shape[1],
        "losses": {
            k: [v if math.isfinite(v) else None for v in vs] for k, vs in replay.losses.items()
        },
        "accuracies": replay.accuracies,
        "markerX": marker_x,
        "colors": _color_table() if options.color else None,
        "colorLevels": _COLOR_LEVELS,
    }
    drawings = "\n".join(
        f'<div class="drawing" data-layout="{layout.index}" hidden>{layout.svg}</div>'
        for layout in replay.layouts
    )
    legend = "".join(
        f'<span class="swatch" style="background:{colour}"></span>class {k}&nbsp;&nbsp;'
        for k, colour in enumerate(CLASS_COLORS[k % len(CLASS_COLORS)] for k in range(classes))
    )
    return fill(
        template("explorer.html"),
        {
            "title": html.escape(title),
            "subtitle": html.escape(subtitle),
            "plane": _plane_svg(frame, X, y, features),
            "chart": chart,
            "legend": legend,
            "drawings": drawings,
            "last": str(len(steps) - 1),
            "data": json.dumps(payload, separators=(",", ":")).replace("</", "<\\/"),
        },
    )
