"""The backward pass replayed as frames, each with its caption: numbers and text, no drawing.

The frames replay exactly what ``y.backward()`` does, on a copy of the numbers (the graph's own
``.grad`` fields are never written)::

    grad[y] = 1                                   # the seed: dy/dy = 1
    for node in reversed(topological_order(y)):   # each node after everything it feeds
        for input, local in zip(node.inputs, local_derivatives(node)):
            grad[input] += local * grad[node]     # the chain rule

Frame 0 is the forward pass (values, no gradients yet); frame k is node k of that walk, with the
chain-rule steps it takes and the gradients it sets. Its caption is the steps in numbers, e.g.
``n.grad += (1 - tanh² n) · o.grad = 0.5 · 1.0 = 0.5``, with the local derivative's formula
taken from ``tinygrad_edu.OPS``.

Unlabelled nodes get names made from their operation (``mul1``, ``add2``, ``tanh1``; constants
``c1``, ``c2``), shown both in the captions and in the diagram.

The walk and the captions are kept apart from the pictures so that both pictures, the page
(:mod:`viz.animate`) and the GIF (:mod:`viz.gif`), show the very same frames.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tinygrad_edu import OPS, Value, local_derivatives, topological_order
from tinygrad_edu.formatting import format_number

from .graph import kind_of

__all__ = [
    "Step",
    "Frame",
    "node_names",
    "backward_frames",
    "final_grads",
    "expression",
    "local_formula",
]

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


def node_names(root: Value, *, order: Sequence[Value] | None = None) -> dict[Value, str]:
    """A readable name for every Value reachable from ``root``: its label, else one made from its
    operation (``mul1``, ``tanh1``; ``c1`` for a constant), numbered in topological order and
    never equal to a label in the graph. ``order`` is ``topological_order(root)``, when the
    caller has it already (the animation walks the graph once, for the drawing and the frames).
    """
    return _names(topological_order(root) if order is None else order)


def backward_frames(
    root: Value, precision: int = 4, *, order: Sequence[Value] | None = None
) -> list[Frame]:
    """The forward-pass frame, then one frame per node in the order ``backward()`` visits them.

    The gradients are those of one ``root.backward()`` from zero, computed with the engine's own
    ``local_derivatives`` in the engine's own order, so :func:`final_grads` of the frames equals
    what ``backward()`` leaves in every ``.grad``, bit for bit. ``precision`` is the number of
    digits after the point in the captions (trailing zeros dropped); ``order``, as for
    :func:`node_names`. Nothing in the graph is written.
    """
    order = topological_order(root) if order is None else order
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
