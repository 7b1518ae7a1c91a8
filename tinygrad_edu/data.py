"""Toy two-dimensional data sets for classification, and mini-batches. numpy only, seeded.

Each generator is ``make_NAME(n_samples, *, noise=..., seed=None) -> (X, y)``: ``X`` is a float
array of shape (n_samples, 2), ``y`` an int array of class labels 0, 1, ... of shape
(n_samples,). The samples come in random order (a model that sees them in batches should not
get one class first). The same seed gives the same arrays; ``seed=None`` draws fresh ones.

To feed a network, turn a row into plain floats (``X.tolist()``): floats are faster than numpy
scalars in the engine. For micrograd's SVM loss, the labels become -1 and +1 as ``2*y - 1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["make_moons", "make_circles", "make_spiral", "make_blobs", "batches", "DATASETS"]

Arrays = tuple[np.ndarray, np.ndarray]


def _check(n_samples: int, noise: float, smallest: int = 1) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise TypeError(f"n_samples must be an int, not {type(n_samples).__name__}")
    if n_samples < smallest:
        raise ValueError(f"n_samples must be at least {smallest}, got {n_samples}")
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")


def _finish(X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator) -> Arrays:
    """Add Gaussian noise N(0, noise²) to every coordinate and shuffle the samples."""
    X = X + rng.normal(0.0, noise, size=X.shape)
    order = rng.permutation(len(X))
    return X[order].astype(np.float64), y[order].astype(np.int64)


def make_moons(n_samples: int = 100, *, noise: float = 0.1, seed: int | None = None) -> Arrays:
    """Two interleaving half circles, labels 0 (upper) and 1 (lower).

    Upper moon: (cos t, sin t); lower moon: (1 - cos t, 0.5 - sin t); t evenly spaced in
    [0, π], n_samples // 2 points on the upper one and the rest on the lower.
    """
    _check(n_samples, noise, smallest=2)
    rng = np.random.default_rng(seed)
    n_upper = n_samples // 2
    t_upper = np.linspace(0.0, math.pi, n_upper)
    t_lower = np.linspace(0.0, math.pi, n_samples - n_upper)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    y = np.repeat([0, 1], [n_upper, n_samples - n_upper])
    return _finish(np.vstack([upper, lower]), y, noise, rng)


def make_circles(
    n_samples: int = 100, *, noise: float = 0.05, factor: float = 0.5, seed: int | None = None
) -> Arrays:
    """A small circle inside a large one: label 0 on radius 1, label 1 on radius ``factor``.

    Angles evenly spaced in [0, 2π); n_samples // 2 points on the outer circle.
    """
    _check(n_samples, noise, smallest=2)
    if not (isinstance(factor, (int, float)) and 0 < factor < 1):
        raise ValueError(f"factor must be between 0 and 1 (exclusive), got {factor!r}")
    rng = np.random.default_rng(seed)
    n_outer = n_samples // 2
    t_outer = np.linspace(0.0, 2 * math.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2 * math.pi, n_samples - n_outer, endpoint=False)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = factor * np.column_stack([np.cos(t_inner), np.sin(t_inner)])
    y = np.repeat([0, 1], [n_outer, n_samples - n_outer])
    return _finish(np.vstack([outer, inner]), y, noise, rng)


def make_spiral(
    n_samples: int = 150, *, classes: int = 3, noise: float = 0.2, seed: int | None = None
) -> Arrays:
    """``classes`` interleaved spiral arms (the CS231n data set), labels 0 .. classes-1.

    Arm k: radius r from 0 to 1 and angle θ = 4k + 4r, plus N(0, noise²) on θ (the noise bends
    the angle, not the coordinates); the point is (r·sin θ, r·cos θ). The samples are shared
    out as evenly as possible (the first n_samples % classes arms get one more).
    """
    _check(n_samples, noise)
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes must be a positive int, got {classes!r}")
    rng = np.random.default_rng(seed)
    sizes = [n_samples // classes + (k < n_samples % classes) for k in range(classes)]
    points, labels = [], []
    for k, size in enumerate(sizes):
        r = np.linspace(0.0, 1.0, size)
        theta = 4.0 * k + 4.0 * r + rng.normal(0.0, noise, size=size)
        points.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        labels.append(np.full(size, k))
    return _finish(np.vstack(points), np.concatenate(labels), 0.0, rng)


def make_blobs(
    n_samples: int = 100,
    *,
    centers: int | Sequence[Sequence[float]] = 3,
    noise: float = 1.0,
    seed: int | None = None,
) -> Arrays:
    """Gaussian clusters: label k around center k, each coordinate with standard deviation
    ``noise``.

    ``centers`` is a list of (x, y) points, or a count k: then the centers sit evenly on a
    circle of radius 4, center k at angle 2πk/k_total. Samples are shared out as evenly as
    possible.
    """
    _check(n_samples, noise)
    if isinstance(centers, int) and not isinstance(centers, bool):
        if centers < 1:
            raise ValueError(f"centers must be at least 1, got {centers}")
        angles = 2 * math.pi * np.arange(centers) / centers
        middle = 4.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    else:
        middle = np.asarray(centers, dtype=np.float64)
        if middle.ndim != 2 or middle.shape[1] != 2 or len(middle) == 0:
            raise ValueError(f"centers must be a count or a list of (x, y) points, got {centers!r}")
    rng = np.random.default_rng(seed)
    k_total = len(middle)
    sizes = [n_samples // k_total + (k < n_samples % k_total) for k in range(k_total)]
    y = np.repeat(np.arange(k_total), sizes)
    return _finish(middle[y], y, noise, rng)


DATASETS = {
    "moons": make_moons,
    "circles": make_circles,
    "spiral": make_spiral,
    "blobs": make_blobs,
}
"""Name -> generator, for demos and command lines that let the reader choose."""


def batches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    seed: int | None = None,
) -> Iterator[Arrays]:
    """Mini-batches ``(X_batch, y_batch)`` that cover every sample exactly once.

    With ``shuffle`` the samples come in a random order (seeded by ``seed``), otherwise in
    order; the last batch holds the remainder when ``batch_size`` does not divide the count.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an int, not {type(batch_size).__name__}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    order = np.random.default_rng(seed).permutation(len(X)) if shuffle else np.arange(len(X))
    # The checks above run at the call; the batches come lazily from this generator.
    return (
        (X[order[i : i + batch_size]], y[order[i : i + batch_size]])
        for i in range(0, len(X), batch_size)
    )
