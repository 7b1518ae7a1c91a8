"""tinygrad_edu.data: the toy data sets lie where their formulas say, are seeded, and batches
cover every sample once per pass."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu.data import (
    DATASETS,
    batches,
    make_blobs,
    make_circles,
    make_moons,
    make_spiral,
)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_data_set_has_shape_n_by_2_and_int_labels(name: str) -> None:
    X, y = DATASETS[name](101, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(name: str) -> None:
    make = DATASETS[name]
    X1, y1 = make(50, seed=3)
    X2, y2 = make(50, seed=3)
    X3, _ = make(50, seed=4)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_noiseless_moons_lie_on_their_two_half_circles() -> None:
    X, y = make_moons(100, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    assert (len(upper), len(lower)) == (50, 50)
    # upper: (cos t, sin t), t in [0, π]; lower: (1 - cos t, 0.5 - sin t)
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, rtol=1e-15)
    assert upper[:, 1].min() >= -1e-15
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, rtol=1e-15)
    assert lower[:, 1].max() <= 0.5 + 1e-15
    assert sorted(map(tuple, upper.round(12)))[0] == (-1.0, 0.0)  # t = π
    assert sorted(map(tuple, lower.round(12)))[-1] == (2.0, 0.5)  # t = π


def test_moon_noise_is_gaussian_with_the_given_standard_deviation() -> None:
    X, y = make_moons(4000, noise=0.1, seed=1)
    upper = X[y == 0]
    radial_error = np.hypot(upper[:, 0], upper[:, 1]) - 1
    assert abs(radial_error.mean()) < 0.01
    assert radial_error.std() == pytest.approx(0.1, rel=0.1)


def test_noiseless_circles_have_radius_1_and_factor() -> None:
    X, y = make_circles(60, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, rtol=1e-15)
    np.testing.assert_allclose(radius[y == 1], 0.3, rtol=1e-15)


def test_noiseless_spiral_arms_have_angle_4k_plus_4r() -> None:
    X, y = make_spiral(90, classes=3, noise=0.0, seed=0)
    assert np.bincount(y).tolist() == [30, 30, 30]
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() == pytest.approx(1.0)
    # (r sin θ, r cos θ) with θ = 4k + 4r: rebuild each point from its radius and class
    theta = 4.0 * y + 4.0 * r
    np.testing.assert_allclose(
        X, np.column_stack([r * np.sin(theta), r * np.cos(theta)]), atol=1e-12
    )


def test_blobs_gather_around_their_centers() -> None:
    X, y = make_blobs(3000, centers=[(0.0, 0.0), (10.0, -5.0)], noise=0.5, seed=0)
    assert np.bincount(y).tolist() == [1500, 1500]
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [10.0, -5.0], atol=0.05)
    np.testing.assert_allclose(X[y == 1].std(axis=0), [0.5, 0.5], rtol=0.1)


def test_counted_blob_centers_sit_on_a_circle_of_radius_4() -> None:
    X, y = make_blobs(4, centers=4, noise=0.0, seed=0)
    centers = {label: tuple(point.round(12)) for point, label in zip(X, y)}
    assert centers == {0: (4.0, 0.0), 1: (0.0, 4.0), 2: (-4.0, 0.0), 3: (-0.0, -4.0)}


def test_samples_come_shuffled_not_class_by_class() -> None:
    _, y = make_moons(100, seed=0)
    assert 0 < y[:50].sum() < 50


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: make_moons(1), ValueError, "n_samples must be at least 2"),
        (lambda: make_moons(10, noise=-0.1), ValueError, "noise must be a finite number >= 0"),
        (lambda: make_moons(10.5), TypeError, "n_samples must be an int, not float"),  # type: ignore[arg-type]
        (lambda: make_circles(10, factor=1.5), ValueError, "factor must be between 0 and 1"),
        (lambda: make_spiral(10, classes=0), ValueError, "classes must be a positive int"),
        (lambda: make_blobs(10, centers=0), ValueError, "centers must be at least 1"),
        (lambda: make_blobs(10, centers=[1, 2]), ValueError, "list of \\(x, y\\) points"),  # type: ignore[list-item]
    ],
)
def test_nonsense_arguments_are_clear_errors(
    make: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make()


# --- batches --------------------------------------------------------------------------------------


def test_batches_in_order_when_not_shuffled() -> None:
    X = np.arange(14, dtype=float).reshape(7, 2)
    y = np.arange(7)
    got = list(batches(X, y, batch_size=3, shuffle=False))
    assert [b_y.tolist() for _, b_y in got] == [[0, 1, 2], [3, 4, 5], [6]]
    assert got[2][0].tolist() == [[12.0, 13.0]]


def test_seeded_shuffled_batches_repeat() -> None:
    X, y = make_moons(20, seed=0)
    first = [b_y.tolist() for _, b_y in batches(X, np.arange(20), 6, seed=5)]
    again = [b_y.tolist() for _, b_y in batches(X, np.arange(20), 6, seed=5)]
    assert first == again
    assert first != [list(range(i, min(i + 6, 20))) for i in range(0, 20, 6)]
    assert len(y) == 20


@given(
    n=st.integers(1, 60),
    batch_size=st.integers(1, 70),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_batches_cover_every_sample_exactly_once(
    n: int, batch_size: int, shuffle: bool, seed: int
) -> None:
    """Property: one pass yields ceil(n / batch_size) batches, all full but the last, and
    together they hold every sample once, each row still beside its own label."""
    X = np.column_stack([np.arange(n), -np.arange(n)]).astype(float)
    y = np.arange(n)
    got = list(batches(X, y, batch_size, shuffle=shuffle, seed=seed))
    assert len(got) == math.ceil(n / batch_size)
    assert all(len(b_y) == batch_size for _, b_y in got[:-1])
    labels = np.concatenate([b_y for _, b_y in got])
    assert sorted(labels.tolist()) == list(range(n))
    for b_X, b_y in got:
        assert np.array_equal(b_X[:, 0], b_y)


def test_batches_check_their_arguments_at_the_call() -> None:
    X, y = make_moons(10, seed=0)
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        batches(X, y, 0)
    with pytest.raises(ValueError, match="same length, got 10 and 9"):
        batches(X, y[:9], 2)
    with pytest.raises(TypeError, match="batch_size must be an int, not float"):
        batches(X, y, 2.0)  # type: ignore[arg-type]
