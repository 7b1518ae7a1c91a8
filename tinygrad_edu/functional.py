"""Losses and the softmax family, written with ``Value`` operations so they backpropagate.

``softmax``, ``log_softmax`` and ``logsumexp`` act on one list of Values (the scores of one
sample). Every loss takes one prediction (a Value) or a list of them, with targets as plain
numbers, and returns the mean over the samples, as PyTorch does (``reduction="mean"``).

Stability: exponentials are only ever taken of ``x - max(x)`` (at most 0), and the logistic
losses use the stable ``softplus``, so logits of ±1000 give finite losses and gradients.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .engine import Number, Value

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
]

Scores = Sequence[Value]
Prediction = Value | Sequence[Value]
Target = Number | Sequence[Number] | np.ndarray


# --- the softmax family ---------------------------------------------------------------------


def _shifted(xs: Scores) -> tuple[float, list[Value]]:
    """max(x) as a plain number, and x_i - max(x) for each i (all <= 0, so e^ never overflows).

    The shift is a constant: softmax and log-sum-exp are unchanged by it, so it needs no
    gradient of its own.
    """
    if len(xs) == 0:
        raise ValueError("an empty list of scores has no softmax")
    top = max(x.data for x in xs)
    return top, [x - top for x in xs]


def _sum(terms: Sequence[Value]) -> Value:
    """t0 + t1 + ... without a leading constant 0 node."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def logsumexp(xs: Scores) -> Value:
    """log(Σ_i e^x_i), computed as m + log(Σ_i e^(x_i - m)) with m = max(x).

    d/dx_i = e^x_i / Σ_j e^x_j = softmax(x)_i.
    """
    top, shifted = _shifted(xs)
    return _sum([s.exp() for s in shifted]).log() + top


def softmax(xs: Scores) -> list[Value]:
    """softmax(x)_i = e^x_i / Σ_j e^x_j, computed as e^(x_i - m) / Σ_j e^(x_j - m), m = max(x).

    d softmax_i / dx_j = softmax_i·(δ_ij - softmax_j).
    """
    _, shifted = _shifted(xs)
    exps = [s.exp() for s in shifted]
    total = _sum(exps)
    return [e / total for e in exps]


def log_softmax(xs: Scores) -> list[Value]:
    """log softmax(x)_i = x_i - logsumexp(x), computed as (x_i - m) - log(Σ_j e^(x_j - m)).

    d/dx_j = δ_ij - softmax_j. Finite even where softmax itself rounds to 0.
    """
    _, shifted = _shifted(xs)
    log_total = _sum([s.exp() for s in shifted]).log()
    return [s - log_total for s in shifted]


# --- losses: mean over samples -----------------------------------------------------------------


def _pairs(pred: Prediction, target: Target) -> list[tuple[Value, float]]:
    """Predictions and targets as (Value, float) pairs: one or many, with matching lengths."""
    if isinstance(target, np.ndarray):
        target = target.tolist()  # the labels of tinygrad_edu.data, say
    if isinstance(pred, Value):
        if _is_many(target):
            raise ValueError("one prediction needs one target, got a list of targets")
        return [(pred, _number(target))]
    if not isinstance(target, Sequence) or not _is_many(target):
        raise ValueError(f"{len(pred)} predictions need a list of {len(pred)} targets")
    if len(pred) != len(target):
        raise ValueError(f"{len(pred)} predictions but {len(target)} targets")
    if len(pred) == 0:
        raise ValueError("a loss needs at least one prediction")
    for p in pred:
        if not isinstance(p, Value):
            raise TypeError(f"predictions are Values, not {type(p).__name__}")
    return [(p, _number(t)) for p, t in zip(pred, target)]


def _is_many(target: object) -> bool:
    """A list of targets (a string is not one)."""
    return isinstance(target, Sequence) and not isinstance(target, str)


def _number(t: object) -> float:
    """A target as a float: targets are plain numbers (int, float, bool, numpy scalar)."""
    if isinstance(t, (int, float, np.integer, np.floating)):
        return float(t)
    hint = " (use value.data)" if isinstance(t, Value) else ""
    raise TypeError(f"a target is a plain number, not {type(t).__name__}{hint}")


def _mean(terms: Sequence[Value]) -> Value:
    """(t0 + t1 + ... + t[n-1]) / n"""
    total = _sum(terms)
    return total if len(terms) == 1 else total / len(terms)


def mse_loss(pred: Prediction, target: Target) -> Value:
    """Mean squared error: mean_i (p_i - t_i)²; d/dp_i = 2(p_i - t_i)/n."""
    return _mean([(p - t) ** 2 for p, t in _pairs(pred, target)])


_LOG_FLOOR = -100.0
"""PyTorch clamps the logarithms in binary cross-entropy at -100, so p = 0 or 1 stays finite."""


def _clamped_log(x: Value) -> Value:
    """max(log x, -100): log x where that is above -100, else the constant -100 (slope 0)."""
    if x.data > 0 and math.log(x.data) > _LOG_FLOOR:
        return x.log()
    return Value(_LOG_FLOOR)


def binary_cross_entropy(p: Prediction, target: Target) -> Value:
    """Binary cross-entropy on probabilities p in [0, 1], targets t in [0, 1]:
    mean_i -(t_i·log p_i + (1 - t_i)·log(1 - p_i)); d/dp = (p - t) / (p(1 - p)) / n.

    Each log is clamped at -100, as PyTorch does, so p = 0 or 1 gives a finite loss. Prefer
    ``binary_cross_entropy_with_logits`` on raw scores: it is stable without any clamp.
    """
    terms = []
    for p_i, t in _pairs(p, target):
        if not 0.0 <= p_i.data <= 1.0:
            raise ValueError(f"binary_cross_entropy takes probabilities in [0, 1], got {p_i.data}")
        _check_probability(t)
        terms.append(-(t * _clamped_log(p_i) + (1 - t) * _clamped_log(1 - p_i)))
    return _mean(terms)


def binary_cross_entropy_with_logits(z: Prediction, target: Target) -> Value:
    """Binary cross-entropy on logits z (p = σ(z)), targets t in [0, 1]:
    mean_i softplus(z_i) - t_i·z_i, which equals -(t·log σ(z) + (1 - t)·log(1 - σ(z)));
    d/dz = (σ(z) - t) / n. Stable for any z: softplus(z) = log(1 + e^z) never overflows.
    """
    terms = []
    for z_i, t in _pairs(z, target):
        _check_probability(t)
        terms.append(z_i.softplus() - t * z_i)
    return _mean(terms)


def _check_probability(t: float) -> None:
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"a binary target is a probability in [0, 1], got {t}")


def cross_entropy(
    logits: Scores | Sequence[Scores], target_index: int | Sequence[int] | np.ndarray
) -> Value:
    """Cross-entropy of softmax(logits) against the true class:
    -log softmax(z)_y = logsumexp(z) - z_y; d/dz_j = softmax(z)_j - [j = y].

    One sample: ``logits`` is a list of Values and ``target_index`` an int. A batch: a list of
    such lists and a list of ints; the loss is the mean over the batch.
    """
    if isinstance(target_index, np.ndarray):
        target_index = target_index.tolist()
    if isinstance(target_index, Sequence):
        if len(logits) != len(target_index):
            raise ValueError(f"{len(logits)} samples of logits but {len(target_index)} targets")
        if len(logits) == 0:
            raise ValueError("a loss needs at least one sample")
        samples = [_sample(z, y) for z, y in zip(logits, target_index)]
        return _mean([logsumexp(z) - z[y] for z, y in samples])
    z, y = _sample(logits, target_index)
    return logsumexp(z) - z[y]


def _sample(logits: object, index: object) -> tuple[Scores, int]:
    if not isinstance(logits, Sequence) or not all(isinstance(z, Value) for z in logits):
        raise TypeError("the logits of one sample are a list of Values")
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"a target index is an int, not {type(index).__name__}")
    index = int(index)
    if not 0 <= index < len(logits):
        raise IndexError(f"target index {index} is out of range for {len(logits)} classes")
    return logits, index


def hinge_loss(score: Prediction, target: Target) -> Value:
    """The SVM (max-margin) loss, targets t in {-1, +1}: mean_i max(0, 1 - t_i·s_i);
    d/ds = -t/n where the margin t·s is below 1, else 0 (0 exactly at the hinge).

    micrograd's demo loss: ``(1 + -y*score).relu()``, the same numbers.
    """
    terms = []
    for s, t in _pairs(score, target):
        if t not in (-1.0, 1.0):
            raise ValueError(f"hinge_loss targets are -1 or +1, got {t}")
        terms.append((1 - t * s).relu())
    return _mean(terms)


LOSSES = {
    "mse": mse_loss,
    "binary_cross_entropy": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
    "hinge": hinge_loss,
}
"""Name -> loss function, for demos and tests that go through all of them."""
