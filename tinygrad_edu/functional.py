"""Losses and the softmax family, written with ``Value`` operations so they backpropagate.

``softmax``, ``log_softmax`` and ``logsumexp`` act on the scores of one sample (a list or 1-D
array of Values or numbers) or on a batch of them (a list of such lists, or a 2-D array), row by
row. Every loss takes one prediction or many (a Value, a list, a numpy array, Values or plain
numbers; numbers become constant leaves) with targets as plain numbers (or as Values: a compiled
function's float targets arrive as traced Values, and the loss keeps them in the graph), and
reduces by
``reduction="mean"`` (the default, as PyTorch), ``"sum"`` or ``"none"`` (the losses themselves,
as a list).

Precision. Exponentials are only ever taken of differences that are at most 0, so nothing
overflows. Beyond that, a loss near 0 keeps its relative precision: with k the largest score,

    log Σ_j e^(z_j) = z_k + log(1 + Σ_{j≠k} e^(z_j - z_k)) = z_k + softplus(L),
    L = log Σ_{j≠k} e^(z_j - z_k)   (an ordinary shifted log-sum-exp of the gaps),

so ``cross_entropy([22.34, -12.64], 0)`` is softplus(-34.98) = 6.4e-16, not 1 - 1 = 0, and
``cross_entropy([1e15, 1e15], 0)`` is exactly log 2: the huge z_k never enters the sum. The
logistic loss is t·softplus(-z) + (1 - t)·softplus(z), a sum of terms >= 0, never a difference.
All of it is made of the engine's operations (``-``, ``exp``, ``log``, ``softplus``), so the
gradients come from the derivative table like everything else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple, overload

import numpy as np

from .engine import Value
from .hooks import guard
from .recording import within_scope
from .scalars import Number

__all__ = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "mse_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "LOSSES",
    "REDUCTIONS",
]

Score = Value | Number
"""One score or prediction: a Value, or a plain number (taken as a constant)."""

Scores = Sequence[Score] | np.ndarray
"""The scores of one sample."""

Prediction = Score | Sequence[Any] | np.ndarray
"""One prediction, or many (a list, a nested list or a numpy array of them)."""

Target = Number | Value | Sequence[Any] | np.ndarray
"""Plain numbers (or traced Values), in the shape of the predictions."""

Reduction = Literal["mean", "sum", "none"]

REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")
"""What a loss can do with the per-sample losses: average them, add them, or return them."""


# --- reading the arguments ---------------------------------------------------------------------


def _is_number(x: object) -> bool:
    """A plain real number: int, float, bool or a numpy real scalar."""
    return isinstance(x, (int, float, np.integer, np.floating, np.bool_))


def _is_many(x: object) -> bool:
    """A list, tuple or array of things (a string is not one)."""
    return isinstance(x, np.ndarray) or (isinstance(x, Sequence) and not isinstance(x, str))


def _as_list(x: Any) -> Any:
    """A numpy array as (nested) lists, anything else as it is."""
    return x.tolist() if isinstance(x, np.ndarray) else x


def _as_value(x: object, what: str) -> Value:
    """A Value as it is, a plain number as a constant leaf; anything else is a TypeError."""
    if isinstance(x, Value):
        return x
    if _is_number(x):
        return Value(x)  # type: ignore[arg-type]
    raise TypeError(f"{what} is a Value or a plain number, not {type(x).__name__}")


def _number(t: object, what: str = "a target") -> float | Value:
    """A target as a float, or as the Value it is: a target is a finite number. A Value target
    is what ``tinygrad_edu.compile`` passes for a float target array (a traced input), so the
    loss must read it as a node of the graph, not as a frozen number."""
    if isinstance(t, Value):
        guard([t], _finite)
        if not math.isfinite(t.data):
            raise ValueError(f"{what} is a finite number, got {t.data}")
        return t
    if not _is_number(t):
        raise TypeError(f"{what} is a plain number, not {type(t).__name__}")
    number = float(t)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ValueError(f"{what} is a finite number, got {number}")
    return number


# What the losses decide from the data, as guards tell a compiled replay (hooks.guard): each
# takes rows of numbers and gives a decision per row or per number.


def _finite(rows: np.ndarray) -> np.ndarray:
    """Whether each number is finite (a target must be)."""
    finite: np.ndarray = np.isfinite(rows)
    return finite


def _probability(rows: np.ndarray) -> np.ndarray:
    """Whether each number is in [0, 1] (a binary target, a probability)."""
    inside: np.ndarray = np.logical_and(rows >= 0.0, rows <= 1.0)
    return inside


def _sign(rows: np.ndarray) -> np.ndarray:
    """Whether each number is -1 or +1 (a hinge target)."""
    signs: np.ndarray = np.equal(np.abs(rows), 1.0)
    return signs


def _distribution(rows: np.ndarray) -> np.ndarray:
    """Whether each row is a probability vector: in [0, 1], adding up to 1 (math.fsum, as the
    check of :func:`_probabilities` adds)."""
    sums = np.array([math.fsum(row) for row in rows.tolist()])
    with np.errstate(invalid="ignore"):
        return _probability(rows).all(axis=1) & (np.abs(sums - 1.0) <= 1e-6)


def _kinds(rows: np.ndarray) -> np.ndarray:
    """What the log-sum-exp's branches look at: each score finite (0), +inf (1), -inf (-1) or
    nan (2)."""
    infinite = np.where(np.isinf(rows), np.sign(rows), 0.0)
    return np.where(np.isnan(rows), 2.0, infinite).astype(np.int8)


def _check_reduction(reduction: object) -> None:
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"reduction is 'mean', 'sum' or 'none', not {reduction!r}")


def _sum(terms: Sequence[Value]) -> Value:
    """t0 + t1 + ... without a leading constant 0 node."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _reduce(terms: list[Value], reduction: str) -> Value | list[Value]:
    """mean: (t0 + ... + t[n-1]) / n; sum: t0 + ... + t[n-1]; none: the list itself."""
    if reduction == "none":
        return terms
    total = _sum(terms)
    if reduction == "sum" or len(terms) == 1:
        return total
    return total / len(terms)


# --- the softmax family -------------------------------------------------------------------------


def _scores(xs: Any) -> list[Value]:
    """The scores of one sample as a non-empty list of Values."""
    xs = _as_list(xs)
    if not _is_many(xs):
        raise TypeError(
            f"the scores of one sample are a list of Values or numbers, not {type(xs).__name__}"
        )
    if len(xs) == 0:
        raise ValueError("an empty list of scores has no softmax")
    return [_as_value(x, "a score") for x in xs]


def _rows(xs: Any) -> list[list[Value]] | None:
    """A batch of scores as a list of rows; None if ``xs`` is the scores of one sample."""
    xs = _as_list(xs)
    if not _is_many(xs) or len(xs) == 0 or not _is_many(xs[0]):
        return None
    if not all(_is_many(row) for row in xs):
        raise TypeError(
            "scores are one sample (a list of Values or numbers) or a batch (a list of such"
            " lists), not a mix of both"
        )
    return [_scores(row) for row in xs]


class _Normalizer(NamedTuple):
    """The shared part of log_softmax, logsumexp and cross_entropy for scores z.

    ``top`` is k, the index of the largest score (the first, on a tie), and ``log_norm`` is
    log Σ_j e^(z_j - z_k) = softplus(L) with L = log Σ_{j≠k} e^(z_j - z_k): at least 0, and
    exact to its last digits even when it is tiny, as the 1 of the sum (j = k) is never added
    to a tiny term.
    """

    z: list[Value]
    top: int
    log_norm: Value

    def nll(self, j: int) -> Value:
        """-log softmax(z)_j = log_norm - (z_j - z_k): two terms >= 0, so no cancellation."""
        if j == self.top:
            return self.log_norm
        return self.log_norm - (self.z[j] - self.z[self.top])

    def log_softmax(self, j: int) -> Value:
        """log softmax(z)_j = (z_j - z_k) - log_norm."""
        if j == self.top:
            return -self.log_norm
        return (self.z[j] - self.z[self.top]) - self.log_norm


def _largest(xs: Sequence[Value]) -> Value:
    """max(x_0, x_1, ...) as nodes of ``maximum``: a shift that a compiled replay recomputes
    from the new scores at every call, where a number read off the data would stay frozen.

    Taken in pairs, then pairs of those (a tree of depth log2 n rather than a chain of n - 1):
    the same n - 1 nodes and the same largest score, and a replay, which runs a depth at a time,
    takes 4 steps for ten classes instead of 9 (about 5% of the digits-shaped step,
    ``benchmarks/compiled.py``)."""
    level = list(xs)
    while len(level) > 1:
        pairs = [a.maximum(b) for a, b in zip(level[::2], level[1::2])]
        level = pairs + level[2 * len(pairs) :]
    return level[0]


def _normalizer(z: list[Value]) -> _Normalizer:
    """L = log Σ_{j≠k} e^(z_j - z_k) is computed as (c - z_k) + log Σ_{j≠k} e^(z_j - c) with c
    the largest of the other scores (a ``maximum`` node): every exponent is at most 0 and the
    sum at least 1 (the usual shifted log-sum-exp, one subtraction per score).

    Which score is k is chosen from the data, so a compiled replay keeps the k of its trace; the
    result is right for any k (L then need not be negative, and softplus takes any L), it is
    only exact to the last digits of a tiny loss when k is the largest. All scores -inf: nan
    everywhere (softmax is 0/0 there), as PyTorch gives.
    """
    guard(z, _kinds)  # a compiled replay takes the branches below again (hooks.guard)
    k = max(range(len(z)), key=lambda j: z[j].data)
    if z[k].data == -math.inf:  # every score -inf: -inf - -inf is nan, for every entry
        return _Normalizer(z, k, z[k] - z[k])
    rest = [x for j, x in enumerate(z) if j != k]
    if not rest or max(x.data for x in rest) == -math.inf:
        return _Normalizer(z, k, Value(0.0))  # one score, or the others -inf: log(e^0) = 0
    c = _largest(rest)
    log_rest = (c - z[k]) + _sum([(x - c).exp() for x in rest]).log()  # L
    return _Normalizer(z, k, log_rest.softplus())


@overload
def logsumexp(xs: Sequence[Score]) -> Value: ...
@overload
def logsumexp(xs: Sequence[Sequence[Score]]) -> list[Value]: ...
@overload
def logsumexp(xs: np.ndarray) -> Any: ...
def logsumexp(xs: Any) -> Any:
    """log(Σ_i e^x_i), computed as x_k + softplus(log Σ_{i≠k} e^(x_i - x_k)), x_k = max(x).

    d/dx_i = e^x_i / Σ_j e^x_j = softmax(x)_i. One sample gives a Value, a batch a list of them
    (one per row). An infinite score gives ±inf: +inf if any score is +inf, -inf if all are -inf.
    """
    rows = _rows(xs)
    if rows is not None:
        return [logsumexp(row) for row in rows]
    z = _scores(xs)
    guard(z, _kinds)
    k = max(range(len(z)), key=lambda j: z[j].data)
    if math.isinf(z[k].data):  # +inf somewhere, or -inf everywhere: the log-sum-exp is that
        return z[k] + 0.0
    return z[k] + _normalizer(z).log_norm


@overload
def softmax(xs: Sequence[Score]) -> list[Value]: ...
@overload
def softmax(xs: Sequence[Sequence[Score]]) -> list[list[Value]]: ...
@overload
def softmax(xs: np.ndarray) -> list[Any]: ...
def softmax(xs: Any) -> list[Any]:
    """softmax(x)_i = e^x_i / Σ_j e^x_j, computed as e^(x_i - m) / Σ_j e^(x_j - m), m = max(x).

    d softmax_i / dx_j = softmax_i·(δ_ij - softmax_j). One sample gives a list of Values, a
    batch a list of such lists (softmax of each row).
    """
    rows = _rows(xs)
    if rows is not None:
        return [softmax(row) for row in rows]
    z = _scores(xs)
    top = _largest(z)  # a shift (softmax is unchanged by it), recomputed at every replay
    exps = [(x - top).exp() for x in z]
    total = _sum(exps)
    return [e / total for e in exps]


@overload
def log_softmax(xs: Sequence[Score]) -> list[Value]: ...
@overload
def log_softmax(xs: Sequence[Sequence[Score]]) -> list[list[Value]]: ...
@overload
def log_softmax(xs: np.ndarray) -> list[Any]: ...
def log_softmax(xs: Any) -> list[Any]:
    """log softmax(x)_i = x_i - logsumexp(x), computed as (x_i - x_k) - log Σ_j e^(x_j - x_k)
    with x_k = max(x).

    d/dx_j = δ_ij - softmax_j. Finite even where softmax itself rounds to 0, and close to 0
    with full relative precision for a dominant score. A batch gives one list per row.
    """
    rows = _rows(xs)
    if rows is not None:
        return [log_softmax(row) for row in rows]
    z = _scores(xs)
    normalizer = _normalizer(z)
    return [normalizer.log_softmax(j) for j in range(len(z))]


# --- elementwise losses -----------------------------------------------------------------------


def _pairs(
    pred: Prediction, target: Target
) -> tuple[list[tuple[Value, float | Value]], tuple[int, ...]]:
    """Predictions and targets of the same shape as (Value, target) pairs, and that shape."""
    predictions = np.asarray(pred, dtype=object)
    targets = np.asarray(target, dtype=object)
    if predictions.shape != targets.shape:
        raise ValueError(_shape_mismatch(predictions.shape, targets.shape))
    if predictions.size == 0:
        raise ValueError("a loss needs at least one prediction")
    pairs = [
        (_as_value(p, "a prediction"), _number(t))
        for p, t in zip(predictions.ravel().tolist(), targets.ravel().tolist())
    ]
    return pairs, predictions.shape


def _shape_mismatch(pred: tuple[int, ...], target: tuple[int, ...]) -> str:
    if pred == ():
        return f"one prediction needs one target, got targets of shape {target}"
    if target == ():
        return f"{pred[0]} predictions need a list of {pred[0]} targets, got one number"
    if len(pred) == len(target) == 1:
        return f"{pred[0]} predictions but {target[0]} targets"
    return f"predictions of shape {pred} but targets of shape {target}: the shapes must match"


Loss = Callable[[Value, float | Value], Value]


def _elementwise(name: str, pred: Prediction, target: Target, reduction: str, loss: Loss) -> Any:
    """loss(p, t) for each prediction and its target, reduced; "none" keeps the shape. Recorded
    in a scope of the loss's ``name``, so a diagram can draw the whole loss as one box."""
    _check_reduction(reduction)
    pairs, shape = _pairs(pred, target)
    return within_scope(name, _losses, pairs, shape, reduction, loss)


def _losses(
    pairs: list[tuple[Value, float | Value]], shape: tuple[int, ...], reduction: str, loss: Loss
) -> Any:
    terms = [loss(p, t) for p, t in pairs]
    if reduction != "none" or len(shape) <= 1:
        return _reduce(terms, reduction)
    nested: list[Any] = np.array(terms, dtype=object).reshape(shape).tolist()
    return nested


@overload
def mse_loss(
    pred: Prediction, target: Target, *, reduction: Literal["mean", "sum"] = "mean"
) -> Value: ...
@overload
def mse_loss(pred: Prediction, target: Target, *, reduction: Literal["none"]) -> list[Any]: ...
def mse_loss(pred: Prediction, target: Target, *, reduction: Reduction = "mean") -> Any:
    """Mean squared error: mean_i (p_i - t_i)²; d/dp_i = 2(p_i - t_i)/n.

    Predictions and targets have the same shape (one number, a list, a 2-D array: every entry
    counts once, as PyTorch does).
    """
    return _elementwise("mse_loss", pred, target, reduction, lambda p, t: (p - t) ** 2)


_LOG_FLOOR = -100.0
"""PyTorch clamps the logarithms in binary cross-entropy at -100, so p = 0 or 1 stays finite."""


_LOG_FLOOR_ARGUMENT = math.exp(_LOG_FLOOR)
"""e^-100, whose log is exactly -100.0: log(max(x, e^-100)) is max(log x, -100)."""


def _clamped_log(x: Value) -> Value:
    """max(log x, -100), as log(max(x, e^-100)): log x where that is above -100, else -100 with
    slope 0. The clamp is an operation of the graph, not a branch on the numbers, so a compiled
    replay clamps (or not) at every call as the interpreter does."""
    return x.maximum(_LOG_FLOOR_ARGUMENT).log()


def _check_probability(t: float | Value) -> None:
    if isinstance(t, Value):
        guard([t], _probability)
    if not 0.0 <= float(t) <= 1.0:
        raise ValueError(f"a binary target is a probability in [0, 1], got {float(t)}")


def _weighted(terms: list[tuple[float | Value, Value]]) -> Value:
    """Σ w·v over the terms whose weight w is not the number 0 (a weight of 1 multiplies
    nothing), so a 0-weighted infinity never makes 0·inf = nan. Zero if every weight is 0.

    A weight that is a Value (a traced target) keeps its term whatever its data: the graph must
    not depend on the numbers a later call may change."""
    kept = [
        w * v if isinstance(w, Value) else (v if w == 1 else w * v)
        for w, v in terms
        if isinstance(w, Value) or w != 0
    ]
    return _sum(kept) if kept else Value(0.0)


def _clamped_log_one_minus(p: Value) -> Value:
    """max(log(1 - p), -100), to the last digits however small p is: log1p(-p).

    1 - p rounds (p = 1e-17 gives exactly 1, whose log is 0), so its log alone loses p's digits.
    With u = 1 - p as rounded, e = (1 - u) - p is that rounding's error exactly (both
    subtractions are exact), and log(1 - p) = log(u + e) = log u + e/u to within (e/u)², far
    below the last digit. d/dp is -1/u, as e is flat in p (its derivative is 1 - 1 = 0).

    The clamp is log(max(u, e^-100)), as in :func:`_clamped_log`. Below it u < 1/2, where
    1 - p is exact (Sterbenz), so e is exactly 0 there and the result exactly -100.
    """
    u = 1 - p
    clamped = u.maximum(_LOG_FLOOR_ARGUMENT)
    return clamped.log() + ((1 - u) - p) / clamped


def _bce(p: Value, t: float | Value) -> Value:
    guard([p], _probability)
    if not 0.0 <= p.data <= 1.0:
        raise ValueError(f"binary_cross_entropy takes probabilities in [0, 1], got {p.data}")
    _check_probability(t)
    return -_weighted([(t, _clamped_log(p)), (1 - t, _clamped_log_one_minus(p))])


@overload
def binary_cross_entropy(
    p: Prediction, target: Target, *, reduction: Literal["mean", "sum"] = "mean"
) -> Value: ...
@overload
def binary_cross_entropy(
    p: Prediction, target: Target, *, reduction: Literal["none"]
) -> list[Any]: ...
def binary_cross_entropy(p: Prediction, target: Target, *, reduction: Reduction = "mean") -> Any:
    """Binary cross-entropy on probabilities p in [0, 1], targets t in [0, 1]:
    mean_i -(t_i·log p_i + (1 - t_i)·log(1 - p_i)); d/dp = (p - t) / (p(1 - p)) / n.

    Each log is clamped at -100, as PyTorch does, so p = 0 or 1 gives a finite loss. Prefer
    ``binary_cross_entropy_with_logits`` on raw scores: it is stable without any clamp.
    """
    return _elementwise("binary_cross_entropy", p, target, reduction, _bce)


def _bce_with_logits(z: Value, t: float | Value) -> Value:
    _check_probability(t)
    return _weighted([(t, (-z).softplus()), (1 - t, z.softplus())])


@overload
def binary_cross_entropy_with_logits(
    z: Prediction, target: Target, *, reduction: Literal["mean", "sum"] = "mean"
) -> Value: ...
@overload
def binary_cross_entropy_with_logits(
    z: Prediction, target: Target, *, reduction: Literal["none"]
) -> list[Any]: ...
def binary_cross_entropy_with_logits(
    z: Prediction, target: Target, *, reduction: Reduction = "mean"
) -> Any:
    """Binary cross-entropy on logits z (p = σ(z)), targets t in [0, 1]:
    mean_i t_i·softplus(-z_i) + (1 - t_i)·softplus(z_i), which equals
    -(t·log σ(z) + (1 - t)·log(1 - σ(z))) (as log σ(z) = -softplus(-z)); d/dz = (σ(z) - t)/n.

    Stable and precise for any z: softplus never overflows, and both terms are >= 0, so a loss
    near 0 keeps its digits (z = 40, t = 1: softplus(-40) = 4.25e-18).
    """
    return _elementwise("binary_cross_entropy_with_logits", z, target, reduction, _bce_with_logits)


def _hinge(s: Value, t: float | Value) -> Value:
    if isinstance(t, Value):
        guard([t], _sign)
    if float(t) not in (-1.0, 1.0):
        raise ValueError(f"hinge_loss targets are -1 or +1, got {float(t):g}")
    return (1 - t * s).relu()


@overload
def hinge_loss(
    score: Prediction, target: Target, *, reduction: Literal["mean", "sum"] = "mean"
) -> Value: ...
@overload
def hinge_loss(score: Prediction, target: Target, *, reduction: Literal["none"]) -> list[Any]: ...
def hinge_loss(score: Prediction, target: Target, *, reduction: Reduction = "mean") -> Any:
    """The SVM (max-margin) loss, targets t in {-1, +1}: mean_i max(0, 1 - t_i·s_i);
    d/ds = -t/n where the margin t·s is below 1, else 0 (0 exactly at the hinge).

    micrograd's demo loss: ``(1 + -y*score).relu()``, the same numbers.
    """
    return _elementwise("hinge_loss", score, target, reduction, _hinge)


# --- cross-entropy ----------------------------------------------------------------------------


def _logit_rows(logits: object) -> tuple[list[list[Value]], bool]:
    """The logits as rows of Values, and whether they were one sample (not a batch)."""
    if isinstance(logits, Value) or _is_number(logits):
        raise TypeError(
            "cross_entropy takes the logits of one sample (a list of scores, one per class)"
            " or of a batch (a list of such lists), not a single number"
        )
    rows = _rows(logits)
    return ([_scores(logits)], True) if rows is None else (rows, False)


def _class_index(t: object, n_classes: int) -> int | None:
    """A class index as an int (None if ``t`` is not an integer)."""
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)):
        return None
    index = int(t)
    if not 0 <= index < n_classes:
        raise IndexError(f"target index {index} is out of range for {n_classes} classes")
    return index


def _probabilities(t: Any, n_classes: int, single: bool) -> list[float | Value]:
    """A one-hot or probability vector: n_classes numbers in [0, 1] that add up to 1."""
    probabilities = [_number(p, "a target probability") for p in _as_list(t)]
    if len(probabilities) != n_classes:
        hint = " (a batch of logits is a list of lists, one per sample)" if single else ""
        raise ValueError(
            f"a sample with {n_classes} logits needs a class index or {n_classes} target"
            f" probabilities, got {len(probabilities)}{hint}"
        )
    traced = [p for p in probabilities if isinstance(p, Value)]
    if len(traced) == len(probabilities):
        guard(traced, _distribution)
    numbers = [float(p) for p in probabilities]
    total = math.fsum(numbers)
    if not all(0.0 <= p <= 1.0 for p in numbers) or abs(total - 1.0) > 1e-6:
        hint = " (for a batch of class indices, the logits are a list of lists)" if single else ""
        raise ValueError(
            f"target probabilities are in [0, 1] and add up to 1, got {numbers}"
            f" (sum {total:g}){hint}"
        )
    return probabilities


def _cross_entropy(z: list[Value], target: object, single: bool) -> Value:
    """-Σ_j t_j·log softmax(z)_j, with t the one-hot vector of an index or the given vector."""
    index = _class_index(target, len(z))
    normalizer = _normalizer(z)
    if index is not None:
        return normalizer.nll(index)
    if not _is_many(target):
        raise TypeError(
            f"a cross_entropy target is a class index (an int) or a vector of {len(z)}"
            f" probabilities, not {type(target).__name__}"
        )
    probabilities = _probabilities(target, len(z), single)
    return _weighted([(p, normalizer.nll(j)) for j, p in enumerate(probabilities)])


def _batch_targets(target: Any, n_samples: int) -> list[Any]:
    target = _as_list(target)
    if not _is_many(target):
        raise TypeError(
            f"a batch of {n_samples} samples needs {n_samples} targets (a list of class indices"
            f" or of probability vectors), not {type(target).__name__}"
        )
    if len(target) != n_samples:
        raise ValueError(f"{n_samples} samples of logits but {len(target)} targets")
    return list(target)


@overload
def cross_entropy(
    logits: Any, target: Any, *, reduction: Literal["mean", "sum"] = "mean"
) -> Value: ...
@overload
def cross_entropy(logits: Any, target: Any, *, reduction: Literal["none"]) -> list[Value]: ...
def cross_entropy(logits: Any, target: Any, *, reduction: Reduction = "mean") -> Any:
    """Cross-entropy of softmax(logits) against the truth: -Σ_j t_j·log softmax(z)_j, which is
    logsumexp(z) - z_y for a class index y; d/dz_j = softmax(z)_j - t_j.

    ``logits``: one sample (a list or 1-D array of Values or numbers, one per class) or a batch
    (a list of such lists, or a 2-D array). The shape of the logits decides which, so for one
    sample the ``target`` is a class index (an int) or a vector of probabilities (one-hot, or
    soft labels that add up to 1); for a batch it is a list with one such target per sample.
    The loss is reduced over the samples of the batch.

    Computed as softplus(L) - (z_y - z_k), z_k the largest logit and L = log Σ_{j≠k} e^(z_j -
    z_k): a sum of two terms >= 0, so it is log 2 for logits [1e15, 1e15] and 6.4e-16 (not 0)
    for [22.34, -12.64] with target 0.
    """
    _check_reduction(reduction)
    rows, single = _logit_rows(logits)
    targets = [target] if single else _batch_targets(target, len(rows))
    return within_scope("cross_entropy", _cross_entropies, rows, targets, single, reduction)


def _cross_entropies(
    rows: list[list[Value]], targets: list[Any], single: bool, reduction: str
) -> Value | list[Value]:
    return _reduce([_cross_entropy(z, t, single) for z, t in zip(rows, targets)], reduction)


LOSSES = {
    "mse": mse_loss,
    "binary_cross_entropy": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
    "hinge": hinge_loss,
}
"""Name -> loss function, for demos and tests that go through all of them."""
