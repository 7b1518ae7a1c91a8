"""The chain rule with the numbers filled in: the text of every step of a backward pass.

``explain(y)`` writes ``y``'s backward pass as a learner would on the board, one line per use of
the chain rule, grouped by node, in the order ``backward()`` visits them::

    n = add1 + b: n.grad = 0.5 is complete; pass it on
      add1.grad += 1 · n.grad = 1.0 · 0.5 = 0.5
      b.grad += 1 · n.grad = 1.0 · 0.5 = 0.5

``v.grad`` is d y / d v; each line is ``input.grad += (d node / d input) · node.grad`` with the
local derivative's formula from the rule table, then its numbers. The steps are
:func:`tinygrad_edu.backward_steps`'s, so the text cannot drift from what ``backward()`` does;
and the animation's captions (``viz.animate``) are these very lines: this module is the one
source of that text.

Unlabelled nodes get names made from their operation (``mul1``, ``add2``, ``tanh1``; constants
``c1``, ``c2``), numbered in topological order and never equal to a label in the graph.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .engine import BackwardStep, Parameter, Value, backward_steps, topological_order
from .formatting import format_number
from .ops import OPS

__all__ = [
    "explain",
    "Explanation",
    "Visit",
    "visits",
    "node_names",
    "names_in",
    "kind_of",
    "expression",
    "local_formula",
    "forward_caption",
    "caption",
    "MAX_LINES",
]

MAX_LINES = 200
"""How many lines ``explain`` writes before it asks for ``max_lines=`` (a screenful or three)."""

Kind = Literal["computed", "parameter", "input", "constant"]

_OP_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}
_INFIX = {"+", "-", "*", "/", "**"}


# --- the walk, node by node ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Visit:
    """One node of the backward walk: ``node``, its gradient ``upstream`` when it is passed on
    (complete by then; 1.0 at the root, the seed), and its :class:`BackwardStep` per input.
    ``totals[k]`` is the input's gradient just after step k, and ``repeated[k]`` says whether an
    earlier step had reached that input already (a Value used more than once)."""

    node: Value
    upstream: float
    steps: tuple[BackwardStep, ...]
    totals: tuple[float, ...]
    repeated: tuple[bool, ...]


def visits(root: Value) -> list[Visit]:
    """The backward pass of ``root`` as :func:`backward_steps` walks it, one :class:`Visit` per
    node in the order ``backward()`` visits them (leaves included), with the gradients of one
    pass from zero. Every ``.grad`` of the graph is left as it was, bit for bit."""
    order = topological_order(root)
    kept = [node.grad for node in order]
    steps = backward_steps(root)
    reached: set[Value] = set()
    walk = []
    try:
        for node in reversed(order):
            upstream = 1.0 if node is root else node.grad
            mine, totals, repeated = [], [], []
            for _ in node.inputs:
                step = next(steps)
                mine.append(step)
                totals.append(step.input.grad)
                repeated.append(step.input in reached)
                reached.add(step.input)
            walk.append(Visit(node, upstream, tuple(mine), tuple(totals), tuple(repeated)))
    finally:
        steps.close()
        for node, g in zip(order, kept):
            node.grad = g
    return walk


# --- names and formulas --------------------------------------------------------------------


def names_in(order: Sequence[Value]) -> dict[Value, str]:
    """A readable name for every Value of ``order`` (a topological order): its label, else one
    made from its operation (``mul1``, ``tanh1``; ``c1`` for a constant), never equal to a label."""
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
    """:func:`names_in` of every Value reachable from ``root``."""
    return names_in(topological_order(root))


def kind_of(value: Value) -> Kind:
    """What a Value is to a reader: computed (it has an op), parameter (a ``Parameter`` leaf),
    input (any other leaf with a label) or constant (a leaf without one)."""
    if value.op:
        return "computed"
    if isinstance(value, Parameter):
        return "parameter"
    return "input" if value.label else "constant"


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
    # A variable is a whole word: the y of "y²" and "x^y" and the x of "3x²", but not the x of
    # "exp" or the y of "slope".
    pattern = r"(?<![A-Za-z_.])(" + "|".join(re.escape(v) for v in rename) + r")(?![A-Za-z0-9_])"
    return re.sub(pattern, lambda m: rename[m[1]], rule)


# --- the lines -----------------------------------------------------------------------------


def _short(x: float, precision: int) -> str:
    return format_number(x, precision, trim=True)


def _signed(x: float, precision: int) -> str:
    """A number as the second factor of a product: ``0.5``, ``(-1.5)``."""
    text = _short(x, precision)
    return f"({text})" if text.startswith("-") else text


def _factor(text: str) -> str:
    """A formula as a factor of a product: in parentheses unless it is one name or number."""
    return text if re.fullmatch(r"[\w.]+", text) else f"({text})"


def forward_caption(root: Value, names: Mapping[Value, str], precision: int) -> tuple[str, ...]:
    """What stands before the backward pass: the forward values, up to the root's."""
    return (
        f"Forward pass: every value computed from its inputs, up to "
        f"{names[root]} = {_short(root.data, precision)}.",
        "No gradients yet: backward() starts at the output.",
    )


def caption(
    visit: Visit, root: Value, names: Mapping[Value, str], precision: int
) -> tuple[str, ...]:
    """A visit as text: the title line (which node, its gradient), then one line per step,
    ``input.grad += (local formula) · node.grad = local · upstream = contribution``."""
    node, name = visit.node, names[visit.node]
    if not node.op:
        what = "the output" if node is root else f"a leaf ({kind_of(node)})"
        number = _short(visit.upstream, precision)
        return (f"{name} is {what}: {name}.grad = {number} is complete; nothing to pass on",)
    if node is root:
        title = f"{name} = {expression(node, names)}, the output: seed {name}.grad = 1.0"
    else:
        number = _short(visit.upstream, precision)
        title = (
            f"{name} = {expression(node, names)}: {name}.grad = {number} is complete; pass it on"
        )
    lines = [title]
    for step, total, repeated in zip(visit.steps, visit.totals, visit.repeated):
        source = names[step.input]
        formula = _factor(local_formula(node, step.position, names))
        line = (
            f"{source}.grad += {formula} · {name}.grad = "
            f"{_short(step.local, precision)} · {_signed(step.upstream, precision)} = "
            f"{_short(step.contribution, precision)}"
        )
        if repeated:  # a Value used more than once
            line += f"  (so far {source}.grad = {_short(total, precision)})"
        lines.append(line)
    return tuple(lines)


# --- explain ---------------------------------------------------------------------------------


class Explanation:
    """The backward pass of one graph as text: ``str()`` for a terminal, Markdown (with the chain
    rule in LaTeX) in a notebook. ``paragraphs`` holds one tuple of lines per visited node."""

    def __init__(self, root: Value, paragraphs: list[tuple[str, ...]], name: str) -> None:
        self.root = root
        self.paragraphs = paragraphs
        self.name = name

    @property
    def lines(self) -> list[str]:
        """Every line: each node's title, then its steps indented by two spaces."""
        return [
            line if k == 0 else "  " + line
            for paragraph in self.paragraphs
            for k, line in enumerate(paragraph)
        ]

    def heading(self) -> str:
        """The first line: whose pass it is, and what ``v.grad`` means."""
        name = self.name
        return f"Backward pass of {name} (v.grad is d{name}/dv), one line per use of the chain rule"

    def __str__(self) -> str:
        return "\n".join([self.heading(), *self.lines])

    def __repr__(self) -> str:
        return f"<Explanation of {self.name}'s backward pass: {len(self.lines)} lines>"

    def _repr_markdown_(self) -> str:
        """Jupyter's rich display: the chain rule in LaTeX, then the lines in a text block."""
        fence = "`" * max(3, _longest_run(str(self), "`") + 1)
        name = _latex_text(self.name)
        rule = (
            rf"$\frac{{\partial {name}}}{{\partial x}} \mathrel{{+}}="
            rf" \frac{{\partial v}}{{\partial x}} \cdot \frac{{\partial {name}}}{{\partial v}}$"
        )
        return (
            f"**Backward pass**, one line per use of the chain rule {rule}"
            f" for each input $x$ of a node $v$ (`v.grad` is "
            rf"$\partial {name} / \partial v$):"
            f"\n\n{fence}text\n" + "\n".join(self.lines) + f"\n{fence}\n"
        )


def _longest_run(text: str, char: str) -> int:
    runs = re.findall(f"{re.escape(char)}+", text)
    return max((len(run) for run in runs), default=0)


def _latex_text(name: str) -> str:
    """A node's name inside LaTeX: a plain identifier as it is, anything else as \\text{...}
    without the characters that would end or break it."""
    if re.fullmatch(r"[A-Za-z]\w*", name) and "_" not in name:
        return name if len(name) == 1 else rf"\mathrm{{{name}}}"
    return r"\text{" + re.sub(r"[\\{}$&#^_%~\n\r]", "", name) + "}"


def explain(root: Value, *, precision: int = 4, max_lines: int = MAX_LINES) -> Explanation:
    """``root``'s backward pass as the chain rule with the numbers filled in: for each node in
    the order ``backward()`` visits them, a title line, then one line per input,
    ``input.grad += (d node / d input) · node.grad = local · upstream = contribution``.

    It explains what one ``root.backward()`` from zero computes, whether or not it was run, and
    leaves every ``.grad`` as it was. ``precision`` is the number of digits after the point
    (trailing zeros dropped). A graph whose explanation would pass ``max_lines`` lines is a
    ValueError that says how many it needs: explain a smaller part, or raise the limit.
    Works on any graph: your own operations (``define_op``, their ``formula`` shown) and the
    graphs ``grad()`` returns.
    """
    if not isinstance(root, Value):
        raise TypeError(f"explain(root): root is the Value to explain, not {type(root).__name__}")
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 0:
        raise ValueError(f"explain(root, precision=...): an int >= 0, not {precision!r}")
    if isinstance(max_lines, bool) or not isinstance(max_lines, int) or max_lines < 1:
        raise ValueError(f"explain(root, max_lines=...): an int >= 1, not {max_lines!r}")
    order = topological_order(root)
    needed = sum(1 + len(node.inputs) for node in order)
    if needed > max_lines:
        raise ValueError(
            f"explain(root): this backward pass takes {needed} lines ({len(order)} nodes), more "
            f"than max_lines={max_lines}; explain a smaller part of the graph (one neuron's "
            f"output, say), or pass max_lines={needed} to see them all"
        )
    names = names_in(order)
    paragraphs = [caption(visit, root, names, precision) for visit in visits(root)]
    return Explanation(root, paragraphs, names[root])
