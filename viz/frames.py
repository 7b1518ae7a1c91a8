"""The backward pass as frames, each with its caption: numbers and text, no drawing.

The frames are the steps of ``tinygrad_edu.backward_steps``, the engine's own walk, grouped by
node (through ``tinygrad_edu.explain.visits``, which runs one pass from zero and then puts every
``.grad`` back as it was). So they cannot drift from what ``y.backward()`` does: same order, same
zero rule, same numbers, bit for bit::

    for node in reversed(topological_order(y)):   # each node after everything it feeds
        for input, local in zip(node.inputs, local_derivatives(node)):
            input.grad += local * node.grad       # the chain rule (nothing, if local is 0)

Frame 0 is the forward pass (values, no gradients yet); frame k is node k of that walk, with the
chain-rule steps it takes and the gradients it sets. Its caption is the text ``explain()``
prints for that node, e.g. ``n.grad += (1 - tanh² n) · o.grad = 0.5 · 1.0 = 0.5``: one source.

The walk and the captions are kept apart from the pictures so that both pictures, the page
(:mod:`viz.animate`) and the GIF (:mod:`viz.gif`), show the very same frames, each caption's text
as :func:`shown` gives it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tinygrad_edu import Value, topological_order
from tinygrad_edu.explain import (
    caption,
    expression,
    forward_caption,
    local_formula,
    names_in,
    visits,
)

from .page import writable

__all__ = [
    "Step",
    "Frame",
    "node_names",
    "backward_frames",
    "final_grads",
    "shown",
    "expression",
    "local_formula",
]

_LINE_BREAK = re.compile("\r\n|[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
"""Every line break but ``\\n`` that ``str.splitlines`` knows (a label may hold any)."""


# --- the replay: numbers only --------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Step:
    """One use of the chain rule: ``source.grad += local · upstream``.

    ``upstream`` is ``node.grad`` (complete when the step runs), ``local`` is d node / d source
    from ``local_derivatives``, ``contribution = local * upstream`` (exactly 0 where ``local``
    is 0, whatever the upstream: the zero rule), ``before`` the source's gradient from an
    earlier step (None if this is the first to reach it) and ``total`` its gradient after the
    step (more than the contribution when a Value is used twice).
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


def node_names(root: Value, *, order: Sequence[Value] | None = None) -> dict[Value, str]:
    """A readable name for every Value reachable from ``root``: its label, else one made from its
    operation (``mul1``, ``tanh1``; ``c1`` for a constant), numbered in topological order and
    never equal to a label in the graph (``tinygrad_edu.explain.names_in``). ``order`` is
    ``topological_order(root)``, when the caller has it already (the animation walks the graph
    once, for the drawing and the frames).
    """
    return names_in(topological_order(root) if order is None else order)


def backward_frames(
    root: Value, precision: int = 4, *, order: Sequence[Value] | None = None
) -> list[Frame]:
    """The forward-pass frame, then one frame per node in the order ``backward()`` visits them.

    The gradients are those of one ``root.backward()`` from zero, taken step by step from
    ``backward_steps``, so :func:`final_grads` of the frames equals what ``backward()`` leaves
    in every ``.grad``, bit for bit. ``precision`` is the number of digits after the point in
    the captions (trailing zeros dropped); ``order``, as for :func:`node_names`. Every ``.grad``
    of the graph is left as it was.
    """
    names = names_in(topological_order(root) if order is None else order)
    frames = [Frame(None, 0.0, (), forward_caption(root, names, precision))]
    last: dict[Value, float] = {}  # each source's gradient after the latest step that reached it
    for visit in visits(root):
        steps = []
        for step, total in zip(visit.steps, visit.totals):
            before = last.get(step.input)
            last[step.input] = total
            steps.append(
                Step(
                    visit.node,
                    step.input,
                    step.local,
                    step.upstream,
                    step.contribution,
                    before,
                    total,
                )
            )
        text = caption(visit, root, names, precision)
        frames.append(Frame(visit.node, visit.upstream, tuple(steps), text))
    return frames


def final_grads(frames: Sequence[Frame]) -> dict[Value, float]:
    """Every gradient after the last frame: the frames' updates replayed in order."""
    return {value: grad for frame in frames for value, grad in frame.updates}


def shown(text: str) -> str:
    """A caption's text as both pictures show it: every line break a label may hold (``\\r``,
    ``\\r\\n``, and the others ``str.splitlines`` knows) a newline, as the diagram draws
    ``\\r`` (:func:`viz.dot.escape`), and every lone surrogate U+FFFD
    (:func:`viz.page.writable`)."""
    return writable(_LINE_BREAK.sub("\n", text))
