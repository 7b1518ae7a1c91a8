"""tinygrad_edu.functional: the softmax family and the losses, checked against hand-computed
numbers and against central differences."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import Value, check_grad, numerical_grad
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
    with pytest.raises(TypeError, match="target index is an int, not float"):
        cross_entropy(values(1, 2, 3), 1.0)  # type: ignore[arg-type]


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
        (Value(1.0), Value(1.0), TypeError, r"plain number, not Value \(use value.data\)"),
        (Value(1.0), "1", TypeError, "plain number, not str"),
        ([1.0, 2.0], [1.0, 2.0], TypeError, "predictions are Values, not float"),
    ],
)
def test_mismatched_predictions_and_targets_are_clear_errors(
    pred: object, target: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        mse_loss(pred, target)  # type: ignore[arg-type]
