"""tinygrad_edu.functional: the softmax family and the losses, checked against hand-computed
numbers and against central differences."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import Value, check_grad, nn, numerical_grad, scope, topological_order
from tinygrad_edu.functional import (
    LOSSES,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    log_softmax,
    logsumexp,
    mse_loss,
    softmax,
)

E1, E2, E3 = math.exp(1), math.exp(2), math.exp(3)
SOFTMAX_123 = [E1 / (E1 + E2 + E3), E2 / (E1 + E2 + E3), E3 / (E1 + E2 + E3)]


def values(*xs: float) -> list[Value]:
    return [Value(x) for x in xs]


def grads_of(loss: Value, leaves: list[Value]) -> list[float]:
    loss.backward()
    return [leaf.grad for leaf in leaves]


# --- softmax, log_softmax, logsumexp ----------------------------------------------------------


def test_logsumexp_of_1_2_3_is_log_of_the_sum_of_exponentials() -> None:
    xs = values(1, 2, 3)
    out = logsumexp(xs)
    assert out.data == pytest.approx(math.log(E1 + E2 + E3), rel=1e-15)  # 3.4076059644443806
    assert grads_of(out, xs) == pytest.approx(SOFTMAX_123, rel=1e-14)


def test_softmax_of_1_2_3() -> None:
    probabilities = softmax(values(1, 2, 3))
    assert [p.data for p in probabilities] == pytest.approx(SOFTMAX_123, rel=1e-15)
    assert [p.data for p in probabilities] == pytest.approx([0.09003057, 0.24472847, 0.66524096])


def test_softmax_jacobian_is_s_i_times_delta_ij_minus_s_j() -> None:
    xs = values(1, 2, 3)
    softmax(xs)[2].backward()
    s = SOFTMAX_123
    assert [x.grad for x in xs] == pytest.approx([-s[2] * s[0], -s[2] * s[1], s[2] * (1 - s[2])])


def test_log_softmax_of_1_2_3_is_x_minus_logsumexp() -> None:
    lse = math.log(E1 + E2 + E3)
    out = log_softmax(values(1, 2, 3))
    assert [v.data for v in out] == pytest.approx([1 - lse, 2 - lse, 3 - lse], rel=1e-15)


@pytest.mark.parametrize("big", [1000.0, -1000.0, 1e15])
def test_softmax_family_is_finite_for_huge_scores(big: float) -> None:
    xs = values(big, big, big - 1.0)
    assert logsumexp(xs).data == pytest.approx(big + math.log(2 + math.exp(-1)), rel=1e-15)
    assert [p.data for p in softmax(xs)] == pytest.approx(
        [1 / (2 + math.exp(-1)), 1 / (2 + math.exp(-1)), math.exp(-1) / (2 + math.exp(-1))]
    )
    out = log_softmax(xs)
    assert out[0].data == pytest.approx(-math.log(2 + math.exp(-1)))
    out[0].backward()
    assert all(math.isfinite(x.grad) for x in xs)


def test_log_softmax_stays_finite_where_softmax_rounds_to_zero() -> None:
    xs = values(1000, -1000)
    assert [p.data for p in softmax(xs)] == [1.0, 0.0]
    assert [v.data for v in log_softmax(xs)] == [0.0, -2000.0]


def test_empty_scores_have_no_softmax() -> None:
    for f in (softmax, log_softmax, logsumexp):
        with pytest.raises(ValueError, match="empty list of scores"):
            f([])


# --- losses: hand-computed values and gradients -----------------------------------------------


def test_mse_loss_is_the_mean_squared_error() -> None:
    pred = values(1.0, 2.0)
    loss = mse_loss(pred, [0.0, 4.0])
    assert loss.data == (1.0 + 4.0) / 2  # 2.5
    assert grads_of(loss, pred) == [2 * (1 - 0) / 2, 2 * (2 - 4) / 2]  # [1.0, -2.0]


def test_mse_loss_of_one_prediction_is_its_squared_error() -> None:
    p = Value(3.0)
    loss = mse_loss(p, 1)
    assert loss.data == 4.0
    assert grads_of(loss, [p]) == [4.0]


def test_binary_cross_entropy_is_minus_log_of_the_probability_of_the_truth() -> None:
    p = values(0.8, 0.25)
    loss = binary_cross_entropy(p, [1, 0])
    assert loss.data == pytest.approx((-math.log(0.8) - math.log(0.75)) / 2, rel=1e-15)
    # d/dp = (p - t) / (p(1 - p)) / n
    assert grads_of(loss, p) == pytest.approx([-1 / 0.8 / 2, 1 / 0.75 / 2], rel=1e-15)


def test_binary_cross_entropy_clamps_its_logs_at_minus_100_as_pytorch_does() -> None:
    assert binary_cross_entropy(Value(0.0), 1).data == 100.0
    assert binary_cross_entropy(Value(1.0), 0).data == 100.0
    assert binary_cross_entropy(Value(1.0), 1).data == 0.0
    assert binary_cross_entropy(Value(math.exp(-200)), 0.5).data == pytest.approx(50.0)


def test_binary_cross_entropy_rejects_values_that_are_not_probabilities() -> None:
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\], got 1.5"):
        binary_cross_entropy(Value(1.5), 1)
    with pytest.raises(ValueError, match=r"binary target is a probability in \[0, 1\], got 2"):
        binary_cross_entropy(Value(0.5), 2)


def test_bce_with_logits_at_zero_is_log_2_with_slope_sigmoid_minus_target() -> None:
    z = Value(0.0)
    loss = binary_cross_entropy_with_logits(z, 1)
    assert loss.data == pytest.approx(math.log(2), rel=1e-15)
    assert grads_of(loss, [z]) == [-0.5]  # σ(0) - 1


@pytest.mark.parametrize(
    ("logit", "target", "loss", "slope"),
    [
        (1000.0, 0, 1000.0, 1.0),  # confidently wrong: loss = z, slope σ(z) - t = 1
        (-1000.0, 1, 1000.0, -1.0),
        (1000.0, 1, 0.0, 0.0),  # confidently right: nothing to learn
        (-1000.0, 0, 0.0, 0.0),
    ],
)
def test_bce_with_logits_is_finite_at_extreme_logits(
    logit: float, target: int, loss: float, slope: float
) -> None:
    z = Value(logit)
    out = binary_cross_entropy_with_logits(z, target)
    assert out.data == loss
    assert grads_of(out, [z]) == [slope]


@given(z=st.floats(-15, 15), t=st.floats(0, 1))
def test_bce_with_logits_equals_bce_of_the_sigmoid(z: float, t: float) -> None:
    """Property: softplus(z) - t·z = -(t·log σ(z) + (1 - t)·log(1 - σ(z))).

    (Past |z| = 15 the right side loses digits: 1 - σ(z) cancels. The left side does not.)"""
    with_logits = binary_cross_entropy_with_logits(Value(z), t).data
    on_probability = binary_cross_entropy(Value(z).sigmoid(), t).data
    assert with_logits == pytest.approx(on_probability, rel=1e-9, abs=1e-9)


def test_cross_entropy_is_minus_log_softmax_of_the_true_class() -> None:
    logits = values(1, 2, 3)
    loss = cross_entropy(logits, 0)
    assert loss.data == pytest.approx(math.log(E1 + E2 + E3) - 1, rel=1e-15)  # 2.4076
    s = SOFTMAX_123
    assert grads_of(loss, logits) == pytest.approx([s[0] - 1, s[1], s[2]], rel=1e-14)


def test_cross_entropy_of_a_batch_is_the_mean() -> None:
    a, b = values(1, 2, 3), values(0, 0)
    loss = cross_entropy([a, b], [2, 1])
    assert loss.data == pytest.approx((math.log(E1 + E2 + E3) - 3 + math.log(2)) / 2)
    assert grads_of(loss, b) == pytest.approx([0.25, -0.25])


def test_cross_entropy_takes_numpy_labels() -> None:
    loss = cross_entropy([values(1, 2, 3), values(0, 0)], np.array([2, 1]))
    assert loss.data == pytest.approx((math.log(E1 + E2 + E3) - 3 + math.log(2)) / 2)


def test_cross_entropy_is_finite_at_extreme_logits() -> None:
    logits = values(1000, -1000)
    loss = cross_entropy(logits, 1)
    assert loss.data == 2000.0
    assert grads_of(loss, logits) == [1.0, -1.0]


def test_cross_entropy_rejects_a_class_out_of_range() -> None:
    with pytest.raises(IndexError, match="target index 3 is out of range for 3 classes"):
        cross_entropy(values(1, 2, 3), 3)
    with pytest.raises(
        TypeError, match="class index \\(an int\\) or a vector of 3 probabilities, not float"
    ):
        cross_entropy(values(1, 2, 3), 1.0)
    with pytest.raises(TypeError, match="not bool"):
        cross_entropy(values(1, 2, 3), True)


def test_hinge_loss_is_the_mean_margin_violation() -> None:
    scores = values(0.5, 2.0, -0.5, 0.25)
    loss = hinge_loss(scores, [1, 1, -1, -1])
    assert loss.data == (0.5 + 0.0 + 0.5 + 1.25) / 4
    assert grads_of(loss, scores) == [-0.25, 0.0, 0.25, 0.25]


@given(score=st.floats(-10, 10), target=st.sampled_from([-1, 1]))
def test_hinge_loss_is_micrograds_demo_expression(score: float, target: int) -> None:
    """Property: hinge_loss(s, y) is bit for bit micrograd's (1 + -y*s).relu()."""
    assert hinge_loss(Value(score), target).data == (1 + -target * Value(score)).relu().data


def test_hinge_loss_targets_are_minus_one_or_plus_one() -> None:
    with pytest.raises(ValueError, match="targets are -1 or \\+1, got 0"):
        hinge_loss(Value(0.5), 0)


# --- every loss against central differences ---------------------------------------------------

LossCase = tuple[Callable[..., Value], list[float], list[float]]

CASES: dict[str, LossCase] = {
    "mse": (mse_loss, [0.3, -1.2, 2.0], [1.0, 0.0, 2.5]),
    "binary_cross_entropy": (binary_cross_entropy, [0.2, 0.7, 0.9], [0.0, 1.0, 0.3]),
    "binary_cross_entropy_with_logits": (
        binary_cross_entropy_with_logits,
        [-2.0, 0.5, 3.0],
        [0.0, 1.0, 0.3],
    ),
    "hinge": (hinge_loss, [0.3, -1.2, 2.0], [1.0, 1.0, -1.0]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_loss_gradient_matches_central_differences(name: str) -> None:
    loss, point, target = CASES[name]
    result = check_grad(lambda *pred: loss(list(pred), target), point)
    assert result.ok, result
    assert result.max_rel_error < 1e-6


def test_cross_entropy_gradient_matches_central_differences() -> None:
    result = check_grad(lambda *z: cross_entropy([list(z[:3]), list(z[3:])], [1, 0]), [1.0] * 5)
    assert result.ok, result


def test_every_loss_in_the_table_is_checked() -> None:
    assert set(LOSSES) == {*CASES, "cross_entropy"}


@given(
    logits=st.lists(st.floats(-50, 50), min_size=2, max_size=5),
    data=st.data(),
)
def test_cross_entropy_gradient_is_softmax_minus_one_hot(
    logits: list[float], data: st.DataObject
) -> None:
    """Property: d CE / dz = softmax(z) - onehot(y), and it agrees with central differences."""
    y = data.draw(st.integers(0, len(logits) - 1))
    zs = values(*logits)
    analytic = grads_of(cross_entropy(zs, y), zs)
    expected = [p.data - (j == y) for j, p in enumerate(softmax(values(*logits)))]
    assert analytic == pytest.approx(expected, abs=1e-12)
    numeric = numerical_grad(lambda *z: cross_entropy(list(z), y), logits)
    assert analytic == pytest.approx(numeric, abs=1e-6)


@given(
    xs=st.lists(st.floats(-20, 20), min_size=1, max_size=5),
    shift=st.floats(-500, 500),
)
def test_softmax_is_unchanged_by_adding_a_constant(xs: list[float], shift: float) -> None:
    """Property: softmax(x + c) = softmax(x), and it sums to 1."""
    plain = [p.data for p in softmax(values(*xs))]
    shifted = [p.data for p in softmax(values(*(x + shift for x in xs)))]
    assert shifted == pytest.approx(plain, abs=1e-12)
    assert sum(plain) == pytest.approx(1.0)


# --- what a loss accepts ----------------------------------------------------------------------


def test_losses_take_numpy_targets() -> None:
    assert mse_loss(values(1.0, 2.0), np.array([0.0, 4.0])).data == 2.5


@pytest.mark.parametrize(
    ("pred", "target", "error", "message"),
    [
        (values(1, 2), [1.0], ValueError, "2 predictions but 1 targets"),
        (values(1, 2), 1.0, ValueError, "2 predictions need a list of 2 targets"),
        (Value(1.0), [1.0], ValueError, "one prediction needs one target"),
        ([], [], ValueError, "at least one prediction"),
        (Value(1.0), "1", TypeError, "plain number, not str"),
        (
            [Value(1.0), "2"],
            [1.0, 2.0],
            TypeError,
            "a prediction is a Value or a plain number, not str",
        ),
        (
            [[Value(1.0)], [Value(2.0)]],
            [1.0, 2.0],
            ValueError,
            r"shape \(2, 1\) but targets of shape \(2,\)",
        ),
        (Value(1.0), math.nan, ValueError, "a target is a finite number, got nan"),
    ],
)
def test_mismatched_predictions_and_targets_are_clear_errors(
    pred: object, target: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        mse_loss(pred, target)  # type: ignore[arg-type]


def test_plain_numbers_are_constant_predictions() -> None:
    """A number where a prediction goes is a constant: the loss is right, nothing to learn."""
    assert mse_loss([1.0, 2.0], [0.0, 4.0]).data == 2.5
    assert mse_loss(np.array([1.0, 2.0]), np.array([0.0, 4.0])).data == 2.5


# --- precision at extreme logits (hand-worked numbers) ------------------------------------------


@pytest.mark.parametrize(
    ("logits", "expected"),
    [
        ([1e15, 1e15], math.log(2)),  # logsumexp - z_y would give 1e15 + 0.69 - 1e15 = 0.75
        ([1e17, 1e17], math.log(2)),  # ... and 0.0 here: 1e17 + 0.69 rounds to 1e17
        ([1e300] * 3, math.log(3)),
        ([-1e300] * 3, math.log(3)),
    ],
)
def test_cross_entropy_of_equal_huge_logits_is_log_of_the_class_count(
    logits: list[float], expected: float
) -> None:
    zs = values(*logits)
    loss = cross_entropy(zs, 0)
    assert loss.data == pytest.approx(expected, rel=1e-15)
    n = len(logits)
    assert grads_of(loss, zs) == pytest.approx([1 / n - 1] + [1 / n] * (n - 1), rel=1e-15)


def test_a_tiny_cross_entropy_keeps_its_relative_precision() -> None:
    # log(1 + e^(-12.64 - 22.34)) with the floats' exact values, to 20 digits (decimal module):
    # 6.4324885677271108641e-16. 1 - softmax would round to 0.
    zs = values(22.34, -12.64)
    loss = cross_entropy(zs, 0)
    assert loss.data == pytest.approx(6.4324885677271108641e-16, rel=1e-14)
    # d/dz = softmax - onehot = ±e^d / (1 + e^d) = ±6.4324885677271087952e-16
    assert grads_of(loss, zs) == pytest.approx(
        [-6.4324885677271087952e-16, 6.4324885677271087952e-16], rel=1e-14
    )
    assert cross_entropy(values(22.34, -12.64), 1).data == pytest.approx(34.98, rel=1e-15)


def test_a_tiny_logistic_loss_keeps_its_relative_precision() -> None:
    # softplus(-40) = log(1 + e^-40) = 4.2483542552915889863e-18 (softplus(40) - 40 gives 0.0)
    z = Value(40.0)
    loss = binary_cross_entropy_with_logits(z, 1)
    assert loss.data == pytest.approx(4.2483542552915889863e-18, rel=1e-15)
    assert grads_of(loss, [z]) == pytest.approx([-4.2483542552915889863e-18], rel=1e-15)
    assert binary_cross_entropy_with_logits(Value(-40.0), 0).data == pytest.approx(
        4.2483542552915889863e-18, rel=1e-15
    )
    # t = 0.3 at z = 1000: 0.3·softplus(-1000) + 0.7·softplus(1000) = 0 + 700
    assert binary_cross_entropy_with_logits(Value(1000.0), 0.3).data == pytest.approx(700.0)


@pytest.mark.parametrize(
    ("loss", "point", "target"),
    [
        (lambda z: cross_entropy(z, 0), [22.34, -12.64], None),
        (lambda z: cross_entropy(z, 2), [30.0, 25.0, 45.0], None),
        (lambda z: cross_entropy(z, [0.25, 0.75, 0.0]), [30.0, -5.0, 1e3], None),
        (lambda z: binary_cross_entropy_with_logits(z, [1, 0]), [40.0, -35.0], None),
    ],
)
def test_gradients_at_extreme_logits_match_central_differences_relatively(
    loss: Callable[[list[Value]], Value], point: list[float], target: None
) -> None:
    """With the loss exact to its last digits, central differences resolve even slopes of
    1e-16: so the check holds relatively (atol = 0), not just to within 1e-6."""
    result = check_grad(lambda *z: loss(list(z)), point, atol=0.0)
    assert result.ok, result
    assert result.max_rel_error < 1e-6


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([math.inf, 1.0], math.inf),
        ([1.0, math.inf, -math.inf], math.inf),
        ([math.inf, math.inf], math.inf),
        ([-math.inf, -math.inf], -math.inf),
        ([-math.inf, 0.0], 0.0),
        ([-math.inf, 1.0, 1.0], 1.0 + math.log(2)),
    ],
)
def test_logsumexp_with_infinite_scores_is_infinite_not_nan(
    scores: list[float], expected: float
) -> None:
    assert logsumexp(values(*scores)).data == expected


def test_cross_entropy_with_an_infinite_logit_is_its_limit() -> None:
    # softmax([inf, 1]) -> [1, 0]: the truth at the infinite logit costs 0, elsewhere inf
    assert cross_entropy(values(math.inf, 1.0), 0).data == 0.0
    assert cross_entropy(values(math.inf, 1.0), 1).data == math.inf
    assert [v.data for v in log_softmax(values(0.0, -math.inf))] == [0.0, -math.inf]


def test_log_softmax_of_a_dominant_score_keeps_its_relative_precision() -> None:
    out = log_softmax(values(22.34, -12.64))
    assert out[0].data == pytest.approx(-6.4324885677271108641e-16, rel=1e-14)
    assert out[1].data == pytest.approx(-34.98, rel=1e-15)


# --- reduction ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_loss_reduces_by_mean_sum_or_none(name: str) -> None:
    loss, point, target = CASES[name]
    each = loss(values(*point), target, reduction="none")
    assert isinstance(each, list) and len(each) == 3
    total = sum(term.data for term in each)
    assert loss(values(*point), target, reduction="sum").data == pytest.approx(total, rel=1e-15)
    assert loss(values(*point), target).data == pytest.approx(total / 3, rel=1e-15)
    assert loss(values(*point), target, reduction="mean").data == pytest.approx(total / 3)


def test_reduction_none_gives_the_loss_of_each_sample() -> None:
    assert [v.data for v in mse_loss(values(1.0, 2.0), [0.0, 4.0], reduction="none")] == [1, 4]
    assert [v.data for v in hinge_loss(Value(0.5), 1, reduction="none")] == [0.5]
    each = cross_entropy([values(0, 0), values(1000, -1000)], [1, 1], reduction="none")
    assert [v.data for v in each] == [pytest.approx(math.log(2)), 2000.0]
    # the mean of a batch's gradients is 1/n of the sum's
    a = values(1, 2, 3)
    cross_entropy([a, values(0, 0)], [2, 1], reduction="sum").backward()
    s = SOFTMAX_123
    assert [x.grad for x in a] == pytest.approx([s[0], s[1], s[2] - 1])


def test_reduction_none_keeps_the_shape_of_2d_predictions() -> None:
    pred = [values(1.0, 2.0), values(3.0, 4.0)]
    each = mse_loss(pred, [[1.0, 0.0], [0.0, 0.0]], reduction="none")
    assert [[v.data for v in row] for row in each] == [[0.0, 4.0], [9.0, 16.0]]
    assert mse_loss(pred, np.array([[1.0, 0.0], [0.0, 0.0]])).data == (4 + 9 + 16) / 4


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_an_unknown_reduction_is_a_clear_error(name: str) -> None:
    target = 0 if name == "cross_entropy" else 1
    pred = values(1.0, 0.5) if name == "cross_entropy" else Value(0.5)
    with pytest.raises(ValueError, match="reduction is 'mean', 'sum' or 'none', not 'avg'"):
        LOSSES[name](pred, target, reduction="avg")  # type: ignore[operator]


# --- what cross_entropy accepts -----------------------------------------------------------------


def test_a_one_hot_target_for_one_sample_is_that_class() -> None:
    one_hot = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    logits = [0.1 * j for j in range(10)]
    by_vector = cross_entropy(values(*logits), one_hot)
    by_index = cross_entropy(values(*logits), 2)
    assert by_vector.data == by_index.data
    assert by_vector.data == pytest.approx(math.log(sum(math.exp(z) for z in logits)) - 0.2)


def test_a_probability_target_gives_the_mean_of_minus_log_softmax() -> None:
    # soft labels t: loss = -Σ t_j·log softmax(z)_j; d/dz = softmax(z) - t
    zs = values(1, 2, 3)
    lse = math.log(E1 + E2 + E3)
    loss = cross_entropy(zs, [0.2, 0.3, 0.5])
    assert loss.data == pytest.approx(0.2 * (lse - 1) + 0.3 * (lse - 2) + 0.5 * (lse - 3))
    s = SOFTMAX_123
    assert grads_of(loss, zs) == pytest.approx([s[0] - 0.2, s[1] - 0.3, s[2] - 0.5], rel=1e-14)


def test_a_batch_takes_indices_or_one_hot_rows_as_lists_or_arrays() -> None:
    expected = (math.log(E1 + E2 + E3) - 3 + math.log(2)) / 2
    a, b = [1.0, 2.0, 3.0], [0.0, 0.0, -math.inf]
    assert cross_entropy([values(*a), values(*b)], [2, 1]).data == pytest.approx(expected)
    one_hot = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    assert cross_entropy([values(*a), values(*b)], one_hot).data == pytest.approx(expected)
    as_object_array = np.array([values(*a), values(*b)], dtype=object)
    assert as_object_array.shape == (2, 3)
    assert cross_entropy(as_object_array, np.array([2, 1])).data == pytest.approx(expected)
    assert cross_entropy(np.array([a, b]), (2, 1)).data == pytest.approx(expected)


def test_cross_entropy_of_a_numpy_row_of_values() -> None:
    row = np.array(values(1, 2, 3), dtype=object)
    assert cross_entropy(row, np.int64(0)).data == pytest.approx(math.log(E1 + E2 + E3) - 1)


@pytest.mark.parametrize(
    ("logits", "target", "error", "message"),
    [
        (
            values(1, 2, 3),
            [0, 2, 1],
            ValueError,
            r"add up to 1, got \[0.0, 2.0, 1.0\] \(sum 3\) \(for a batch of class indices, the"
            r" logits are a list of lists\)",
        ),
        (
            values(1, 2, 3),
            [0, 0, 1, 0],
            ValueError,
            r"a sample with 3 logits needs a class index or 3 target probabilities, got 4"
            r" \(a batch of logits is a list of lists",
        ),
        (values(1, 2), [1.5, -0.5], ValueError, r"probabilities are in \[0, 1\] and add up to 1"),
        ([values(1, 2), values(3, 4)], 1, TypeError, "a batch of 2 samples needs 2 targets"),
        ([values(1, 2), values(3, 4)], [1], ValueError, "2 samples of logits but 1 targets"),
        ([values(1, 2), values(3, 4)], [1, 1.0], TypeError, "class index .an int. or a vector"),
        ([values(1, 2), Value(3.0)], [0, 0], TypeError, "not a mix of both"),
        (Value(1.0), 0, TypeError, "not a single number"),
        ([], 0, ValueError, "empty list of scores"),
        (["1", "2"], 0, TypeError, "a score is a Value or a plain number, not str"),
    ],
)
def test_cross_entropy_misuse_says_what_was_expected(
    logits: object, target: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        cross_entropy(logits, target)


# --- the softmax family on a batch --------------------------------------------------------------


def test_the_softmax_family_acts_row_by_row_on_a_batch() -> None:
    batch = [values(1, 2, 3), values(0, 0, 0)]
    rows = softmax(batch)
    assert [p.data for p in rows[0]] == pytest.approx(SOFTMAX_123, rel=1e-15)
    assert [p.data for p in rows[1]] == pytest.approx([1 / 3] * 3, rel=1e-15)
    (row,) = log_softmax(np.array([[1.0, 2.0, 3.0]]))
    lse = math.log(E1 + E2 + E3)
    assert [v.data for v in row] == pytest.approx([1 - lse, 2 - lse, 3 - lse], rel=1e-15)
    assert [v.data for v in logsumexp(batch)] == pytest.approx(
        [math.log(E1 + E2 + E3), math.log(3)], rel=1e-15
    )


def test_softmax_takes_numpy_arrays_and_plain_numbers() -> None:
    from_floats = softmax(np.array([1.0, 2.0, 3.0]))
    from_objects = softmax(np.array(values(1, 2, 3), dtype=object))
    assert [p.data for p in from_floats] == [p.data for p in from_objects]
    assert [p.data for p in softmax([1, 2, 3])] == pytest.approx(SOFTMAX_123, rel=1e-15)


def test_softmax_of_something_that_is_not_scores_says_what_it_takes() -> None:
    with pytest.raises(TypeError, match="one sample are a list of Values or numbers, not Value"):
        softmax(Value(1.0))  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="a list of such lists"):
        softmax([[1.0, 2.0], 3.0])  # type: ignore[list-item]


# --- precision everywhere: against 50-digit decimal arithmetic -----------------------------------


def exact_log1p(s: Decimal) -> Decimal:
    """log(1 + s) for s >= 0 to about 30 significant digits (50-digit decimals; for tiny s the
    series s - s²/2, since 1 + s would drop s's digits)."""
    return s - s * s / 2 if s < Decimal("1e-20") else (1 + s).ln()


@given(
    logits=st.lists(st.floats(-700, 700), min_size=2, max_size=5),
    data=st.data(),
)
def test_cross_entropy_has_full_relative_precision_for_any_logits(
    logits: list[float], data: st.DataObject
) -> None:
    """Property: cross_entropy(z, y) = log Σ_j e^(z_j - z_y) to 1e-12 relative, large or tiny.

    (1e-12, not 1e-16: the gaps z_j - z_k are rounded to the last bit of numbers up to 1400.)"""
    y = data.draw(st.integers(0, len(logits) - 1))
    with localcontext() as context:
        context.prec = 50
        gaps = sorted(Decimal(z) - Decimal(logits[y]) for z in logits)
        top = gaps.pop()  # log Σ e^g = top + log(1 + Σ_rest e^(g - top))
        exact = top + exact_log1p(sum((g - top).exp() for g in gaps))
    assert cross_entropy(values(*logits), y).data == pytest.approx(float(exact), rel=1e-12)


@given(z=st.floats(-700, 700), t=st.sampled_from([0.0, 0.3, 1.0]))
def test_bce_with_logits_has_full_relative_precision(z: float, t: float) -> None:
    """Property: t·log(1 + e^-z) + (1 - t)·log(1 + e^z) to 1e-13 relative, even where it is
    far below 1e-16."""
    with localcontext() as context:
        context.prec = 50
        x = Decimal(z)
        exact = Decimal(t) * exact_log1p((-x).exp()) + Decimal(1 - t) * exact_log1p(x.exp())
    assert binary_cross_entropy_with_logits(Value(z), t).data == pytest.approx(
        float(exact), rel=1e-13
    )


def test_targets_may_be_values_and_are_then_part_of_the_graph() -> None:
    """What compile() passes for float targets: the loss differentiates through them too."""
    p, t = Value(3.0), Value(1.0)
    mse_loss(p, t).backward()
    assert (p.grad, t.grad) == (4.0, -4.0)  # d(p - t)²: 2(p - t) and -2(p - t)
    z = values(1.0, 2.0)
    targets = [Value(0.0), Value(1.0)]  # one-hot, as Values: every term stays in the graph
    loss = cross_entropy(z, targets)
    loss.backward()
    log_probabilities = [lp.data for lp in log_softmax(z)]
    assert loss.data == pytest.approx(-log_probabilities[1], rel=1e-15)
    assert [t.grad for t in targets] == pytest.approx([-lp for lp in log_probabilities], rel=1e-15)
    with pytest.raises(ValueError, match="add up to 1"):
        cross_entropy(z, [Value(0.5), Value(0.7)])


# --- the edges: all -inf, log1p, the shift as a node, the loss's own scope ----------------------


def test_log_softmax_of_all_minus_infinity_is_nan_everywhere_as_in_pytorch() -> None:
    inf = math.inf
    assert all(math.isnan(v.data) for v in log_softmax(values(-inf, -inf, -inf)))
    # cross_entropy is symmetric there: nan whatever the target
    assert [math.isnan(cross_entropy(values(-inf, -inf), t).data) for t in (0, 1)] == [True] * 2
    assert logsumexp(values(-inf, -inf)).data == -inf  # the log of 0, still


@pytest.mark.parametrize("p", [1e-10, 1e-17, 1e-5, 0.3, 0.75])
def test_binary_cross_entropy_of_target_0_is_minus_log1p_of_minus_p(p: float) -> None:
    x = Value(p)
    loss = binary_cross_entropy(x, 0.0)
    want = -math.log1p(-p)  # 1e-17 at p = 1e-17, where log(1 - p) is log(1.0) = 0
    assert abs(loss.data - want) <= 2e-16 * want
    loss.backward()
    assert x.grad == pytest.approx(1 / (1 - p), rel=1e-15)


def test_the_softmax_shift_is_a_maximum_node_of_the_graph() -> None:
    """The largest score is an operation of the graph, not a number read off the data, so a
    compiled replay recomputes it from new scores."""
    z = values(1.0, 2.0, 3.0)
    for result in (softmax(z)[0], log_softmax(z)[0], cross_entropy(z, 0)):
        ops = {node.op for node in topological_order(result)}
        assert "maximum" in ops
    # the gradients are the interpreter's of the textbook formula
    loss = cross_entropy(z, 0)
    assert grads_of(loss, z) == pytest.approx([s - (j == 0) for j, s in enumerate(SOFTMAX_123)])


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_each_loss_is_recorded_in_a_scope_of_its_own_name(name: str) -> None:
    pred = [[Value(0.2), Value(0.7)], [Value(0.9), Value(0.1)]]
    target: Any = {"cross_entropy": [1, 0], "hinge": [[1, -1], [-1, 1]]}.get(
        name, [[1.0, 0.0], [0.0, 1.0]]
    )
    loss = LOSSES[name](pred, target)
    assert loss.scope == LOSSES[name].__name__
    assert all(not leaf.scope for row in pred for leaf in row)


def test_a_batch_cross_entropy_collapses_to_as_few_boxes_as_in_a_users_scope() -> None:
    from viz.graph import DrawOptions, build_graph

    model = nn.MLP(4, [8, 10], rng=random.Random(0))
    X = np.random.default_rng(0).normal(size=(100, 4))
    y = [i % 10 for i in range(100)]

    def drawn(loss: Value) -> int:
        graph = build_graph(loss, DrawOptions(collapse=True))
        return len(graph.values) + len(graph.ops) + len(graph.boxes)

    alone = drawn(cross_entropy([model(row) for row in X], y))
    with scope("loss"):
        in_a_scope = drawn(cross_entropy([model(row) for row in X], y))
    assert alone == in_a_scope <= 25  # not ~100 boxes, one per sample, side by side
