"""What a module does at every call that a compiled replay must do again: leaves drawn afresh
(a dropout mask), statistics observed (a BatchNorm's running mean), and decisions taken from the
data (which formula a loss uses at infinite scores, whether its targets are valid).

In the interpreter, :func:`draw` is just ``[Value(x) for x in sampler(n)]``, :func:`observe`
calls its update at once and :func:`guard` does nothing. ``tinygrad_edu.compile`` traces
a function once and replays the recorded graph; every other number made inside the function is
frozen at trace time. Inside :func:`tracing` these calls are recorded instead, so the replay can
draw again, observe again and decide again at every call, in the interpreter's order.
``nn.Dropout``, ``nn.BatchNorm1d`` and the losses of ``functional`` are written with them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from .engine import Value
from .scalars import to_float

__all__ = [
    "Sampler",
    "Update",
    "Classify",
    "Trace",
    "tracing",
    "draw",
    "sample",
    "observe",
    "guard",
    "name_of",
]

Sampler = Callable[[int], "Sequence[float] | np.ndarray"]
"""``sampler(n)`` gives n numbers, drawn one after the other (a dropout mask, a module's state)."""

Update = Callable[[list[float]], None]
"""``update(data)`` takes the data of the observed nodes, in order, as floats."""


Classify = Callable[[np.ndarray], np.ndarray]
"""``classify(rows)`` takes an (m, n) float64 array, the data of m guarded lists of n nodes each,
and gives the decisions taken from each row, an array whose first axis has m entries (the kind
of each score: finite, +inf, -inf, nan; whether a row of targets is valid). Vectorised, so that
a compiled replay decides for all the samples of a batch in one call."""


class Trace:
    """What :func:`draw`, :func:`observe` and :func:`guard` recorded inside :func:`tracing`, in
    call order: ``draws`` holds (sampler, the leaves it gave) per draw, ``observers`` (nodes,
    update) per observe, ``guards`` (nodes, classify, the decisions taken) per guard.
    ``tinygrad_edu.compile`` reads it to replay them at every call."""

    __slots__ = ("draws", "observers", "guards")

    def __init__(self) -> None:
        self.draws: list[tuple[Sampler, list[Value]]] = []
        self.observers: list[tuple[list[Value], Update]] = []
        self.guards: list[tuple[list[Value], Classify, np.ndarray]] = []


_TRACE: ContextVar[Trace | None] = ContextVar("tinygrad_edu_trace", default=None)


@contextmanager
def tracing() -> Iterator[Trace]:
    """Within the block, :func:`draw` and :func:`observe` are recorded in the :class:`Trace` it
    gives, and ``observe`` defers its update (the replay calls it): how ``compile`` traces.

    A context variable like :func:`no_grad`; nests (the innermost block records).
    """
    trace = Trace()
    token = _TRACE.set(trace)
    try:
        yield trace
    finally:
        _TRACE.reset(token)


def draw(n: int, sampler: Sampler) -> list[Value]:
    """n new leaves whose data are the numbers ``sampler(n)`` gives: values drawn afresh at
    every call of a compiled function, where any other number made inside it is frozen.

    In the interpreter it is ``[Value(x) for x in sampler(n)]``. Inside a function compiled with
    ``tinygrad_edu.compile``, the replay calls ``sampler(n)`` again before every call and gives
    these leaves the new numbers, so a dropout mask is new at every step, drawn from the same
    random stream in the same order as the interpreter would draw it. ``nn.Dropout`` draws its
    mask this way (``rng.random() < p`` per entry), and ``nn.BatchNorm1d`` in evaluation reads
    its running statistics this way (a sampler need not be random: it is read at every call).
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"draw(n, sampler): n is how many leaves to draw, an int >= 0, not {n!r}")
    leaves = [Value(x) for x in sample(sampler, int(n))]
    trace = _TRACE.get()
    if trace is not None:
        trace.draws.append((sampler, leaves))
    return leaves


def sample(sampler: Sampler, n: int) -> list[float]:
    """``sampler(n)`` checked: n real numbers (a sequence or a 1-D numpy array), as floats."""
    if not callable(sampler):
        raise TypeError(f"a sampler is a function of n that gives n numbers, not {sampler!r}")
    data = sampler(n)
    if isinstance(data, np.ndarray):
        if data.ndim != 1:
            raise ValueError(_gave(sampler, n, f"an array of shape {data.shape}"))
        data = data.tolist()
    if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
        raise ValueError(_gave(sampler, n, f"a {type(data).__name__}"))
    if len(data) != n:
        raise ValueError(_gave(sampler, n, f"{len(data)}"))
    if all(type(x) is float for x in data):
        return list(data)
    try:
        return [to_float(x) for x in data]
    except TypeError as error:
        raise TypeError(f"sampler {name_of(sampler)} gave a non-number: {error}") from None


def observe(nodes: Sequence[Value], update: Update) -> None:
    """``update([node.data for node in nodes])``: a side effect of the forward pass (a
    BatchNorm's running statistics moving towards the batch's) that a compiled function keeps.

    In the interpreter ``update`` is called at once. Inside a function compiled with
    ``tinygrad_edu.compile`` it is recorded instead, and every call of the compiled function
    (under ``no_grad`` too) calls it after its forward pass with the replayed data of the same
    nodes, so the statistics move at every step as the interpreter would move them.
    """
    if not isinstance(nodes, (list, tuple)):
        kind = type(nodes).__name__
        raise TypeError(f"observe(nodes, update): nodes is a list of Values, not a {kind}")
    observed = list(nodes)
    for i, node in enumerate(observed):
        if not isinstance(node, Value):
            raise TypeError(f"observe(nodes, update): nodes[{i}] is a {type(node).__name__}")
    if not callable(update):
        raise TypeError(f"observe(nodes, update): update is a function of a list, not {update!r}")
    trace = _TRACE.get()
    if trace is None:
        update([node.data for node in observed])
    else:
        trace.observers.append((observed, update))


def guard(nodes: Sequence[Value], classify: Classify) -> None:
    """Says that the code around it decides something from the data of ``nodes`` (which
    formula a loss uses at infinite scores, whether its targets are valid), and that
    ``classify`` computes that decision: a compiled function must decide it again at every call.

    In the interpreter it does nothing: the code's own ``if`` on the data decides. Inside a
    function compiled with ``tinygrad_edu.compile`` it records the nodes and ``classify``'s
    decisions on their data; every call of the compiled function classifies the replayed data
    of the same nodes again (all the guards of one ``classify`` and one length, such as one per
    sample of a batch, in one call), and where a decision differs, that call runs in the
    interpreter instead of the replay: it takes the branch, or raises the error, that the
    interpreter takes. The losses of ``functional`` guard their branches and their checks of
    float targets this way.
    """
    trace = _TRACE.get()
    if trace is None:
        return
    guarded = list(nodes)
    decisions = np.asarray(classify(np.array([[node.data for node in guarded]], np.float64)))
    trace.guards.append((guarded, classify, decisions))


def _gave(sampler: Sampler, n: int, what: str) -> str:
    return f"sampler {name_of(sampler)} was asked for {n} numbers and gave {what}"


def name_of(function: object) -> str:
    """How a message names a function: its qualified name, or its repr."""
    name = getattr(function, "__qualname__", None)
    return name if isinstance(name, str) else repr(function)
