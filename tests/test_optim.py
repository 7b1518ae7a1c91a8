"""tinygrad_edu.optim: each optimiser's first steps, computed by hand from its formula, on the
course's test function f(x, y) = x²/20 + y² from (-7, 2)."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import Value
from tinygrad_edu.data import batches, make_blobs
from tinygrad_edu.functional import cross_entropy
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import (
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    Optimizer,
    RMSprop,
    clip_grad_norm,
)

# At (-7, 2) the gradient of f(x, y) = x²/20 + y² is (x/10, 2y) = (-0.7, 4).
GX, GY = -0.7, 4.0


def start() -> tuple[Value, Value]:
    return Value(-7.0, label="x"), Value(2.0, label="y")


def f(x: Value, y: Value) -> Value:
    return x**2 / 20 + y**2


def descend(optimizer: Optimizer, x: Value, y: Value, steps: int) -> list[tuple[float, float]]:
    """The training loop: zero_grad, backward, step; the point after each step."""
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        f(x, y).backward()
        optimizer.step()
        path.append((x.data, y.data))
    return path


def test_gradient_at_the_start_is_minus_0_7_and_4() -> None:
    x, y = start()
    f(x, y).backward()
    assert (x.grad, y.grad) == pytest.approx((GX, GY), rel=1e-15)


# --- first steps by hand ---------------------------------------------------------------------


def test_sgd_first_step_is_p_minus_lr_times_g() -> None:
    x, y = start()
    [point] = descend(SGD([x, y], lr=0.95), x, y, 1)
    assert point == pytest.approx((-7 - 0.95 * GX, 2 - 0.95 * GY), rel=1e-15)  # (-6.335, -1.8)


def test_sgd_weight_decay_adds_wd_times_p_to_the_gradient() -> None:
    x, y = start()
    [point] = descend(SGD([x, y], lr=0.1, weight_decay=0.5), x, y, 1)
    # g = (-0.7 + 0.5*(-7), 4 + 0.5*2) = (-4.2, 5)
    assert point == pytest.approx((-7 + 0.42, 2 - 0.5), rel=1e-15)


def test_sgd_momentum_starts_its_buffer_at_g_then_buf_is_momentum_buf_plus_g() -> None:
    x, y = start()
    first, second = descend(SGD([x, y], lr=0.1, momentum=0.9), x, y, 2)
    assert first == pytest.approx((-7 + 0.07, 2 - 0.4), rel=1e-15)  # buf = g: (-6.93, 1.6)
    # at (-6.93, 1.6): g = (-0.693, 3.2); buf = 0.9*(-0.7, 4) + g = (-1.323, 6.8)
    assert second == pytest.approx((-6.93 + 0.1323, 1.6 - 0.68), rel=1e-14)  # (-6.7977, 0.92)


def test_nesterov_steps_along_g_plus_momentum_times_buf() -> None:
    x, y = start()
    first, second = descend(SGD([x, y], lr=0.1, momentum=0.9, nesterov=True), x, y, 2)
    # buf = g, step = g + 0.9*buf = 1.9*g
    assert first == pytest.approx((-7 + 0.1 * 1.9 * 0.7, 2 - 0.1 * 1.9 * 4), rel=1e-15)
    # at (-6.867, 1.24): g = (-0.6867, 2.48); buf = 0.9*(-0.7, 4) + g = (-1.3167, 6.08)
    bx, by = 0.9 * -0.7 - 0.6867, 0.9 * 4 + 2.48
    assert second == pytest.approx(
        (-6.867 - 0.1 * (-0.6867 + 0.9 * bx), 1.24 - 0.1 * (2.48 + 0.9 * by)), rel=1e-14
    )


def test_adagrad_first_step_is_lr_times_g_over_abs_g_plus_eps() -> None:
    x, y = start()
    [point] = descend(Adagrad([x, y], lr=1.5), x, y, 1)
    # sum = g²; p -= lr*g/(√sum + 1e-10): a step of almost exactly lr in every coordinate
    assert point == pytest.approx(
        (-7 + 1.5 * 0.7 / (0.7 + 1e-10), 2 - 1.5 * 4 / (4 + 1e-10)), rel=1e-15
    )
    assert point == pytest.approx((-5.5, 0.5), rel=1e-9)


def test_adagrad_second_step_divides_by_the_root_of_the_summed_squares() -> None:
    x, y = start()
    _, second = descend(Adagrad([x, y], lr=1.5, lr_decay=0.5), x, y, 2)
    # at (-5.5, 0.5): g = (-0.55, 1); clr = 1.5/(1 + 1*0.5) = 1
    gx, gy = -5.5 / 10, 2 * 0.5
    expected = (-5.5 - gx / math.sqrt(0.7**2 + gx**2), 0.5 - gy / math.sqrt(4**2 + gy**2))
    assert second == pytest.approx(expected, rel=1e-9)


def test_rmsprop_first_step_with_defaults() -> None:
    x, y = start()
    [point] = descend(RMSprop([x, y]), x, y, 1)
    # sq = 0.01*g², √sq = 0.1*|g|; p -= 0.01*g/(0.1|g| + 1e-8): a step of about 0.1
    assert point == pytest.approx(
        (-7 + 0.01 * 0.7 / (0.07 + 1e-8), 2 - 0.01 * 4 / (0.4 + 1e-8)), rel=1e-15
    )
    assert point == pytest.approx((-6.9, 1.9), rel=1e-6)


def test_rmsprop_centered_with_momentum_first_step() -> None:
    x, y = start()
    [point] = descend(RMSprop([x, y], lr=0.01, momentum=0.5, centered=True), x, y, 1)
    # sq = 0.01*g², avg = 0.01*g, denom = √(0.01g² - 0.0001g²) + eps = √0.0099·|g| + eps;
    # buf = g/denom
    denom_x, denom_y = math.sqrt(0.0099) * 0.7 + 1e-8, math.sqrt(0.0099) * 4 + 1e-8
    assert point == pytest.approx((-7 + 0.01 * 0.7 / denom_x, 2 - 0.01 * 4 / denom_y), rel=1e-12)


def test_adam_first_step_is_lr_times_the_sign_of_g() -> None:
    x, y = start()
    [point] = descend(Adam([x, y], lr=0.3), x, y, 1)
    # m = 0.1g, v = 0.001g²; m_hat = g, v_hat = g²; p -= 0.3*g/(|g| + 1e-8)
    assert point == pytest.approx(
        (-7 + 0.3 * 0.7 / (0.7 + 1e-8), 2 - 0.3 * 4 / (4 + 1e-8)), rel=1e-15
    )


def test_adam_second_step_uses_bias_corrected_moving_averages() -> None:
    x, y = start()
    first, second = descend(Adam([x, y], lr=0.3), x, y, 2)
    gx = first[0] / 10  # gradient at the first step's point
    m = 0.9 * 0.1 * GX + 0.1 * gx
    v = 0.999 * 0.001 * GX**2 + 0.001 * gx**2
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    assert second[0] == pytest.approx(first[0] - 0.3 * m_hat / (math.sqrt(v_hat) + 1e-8), rel=1e-14)


def test_defaults_are_pytorchs() -> None:
    x = Value(0.0)
    assert (Adagrad([x]).lr, Adagrad([x]).eps) == (0.01, 1e-10)
    rms = RMSprop([x])
    assert (rms.lr, rms.alpha, rms.eps, rms.momentum, rms.centered) == (0.01, 0.99, 1e-8, 0, False)
    adam = Adam([x])
    assert (adam.lr, adam.betas, adam.eps, adam.weight_decay) == (0.001, (0.9, 0.999), 1e-8, 0)
    sgd = SGD([x], lr=0.1)
    assert (sgd.momentum, sgd.nesterov, sgd.weight_decay) == (0, False, 0)


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("sgd", {"lr": 0.95}),
        ("adagrad", {"lr": 1.5}),
        ("rmsprop", {"lr": 0.1}),
        ("adam", {"lr": 0.3}),
    ],
)
def test_every_optimiser_finds_the_minimum_at_the_origin(
    name: str, settings: dict[str, float]
) -> None:
    x, y = start()
    descend(OPTIMIZERS[name]([x, y], **settings), x, y, 300)
    assert f(x, y).data < 1e-2


# --- zero_grad and clipping --------------------------------------------------------------------


def test_zero_grad_clears_every_parameter() -> None:
    x, y = start()
    f(x, y).backward()
    SGD([x, y], lr=0.1).zero_grad()
    assert (x.grad, y.grad) == (0.0, 0.0)


def test_clip_grad_norm_returns_the_norm_and_scales_to_max_norm() -> None:
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 3.0, 4.0
    assert clip_grad_norm([a, b], max_norm=1.0) == 5.0
    assert (a.grad, b.grad) == pytest.approx((0.6, 0.8), rel=1e-6)
    assert (a.grad, b.grad) == (3.0 / (5.0 + 1e-6), 4.0 / (5.0 + 1e-6))


def test_clip_grad_norm_leaves_small_gradients_alone() -> None:
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 3.0, 4.0
    assert clip_grad_norm([a, b], max_norm=10.0) == 5.0
    assert (a.grad, b.grad) == (3.0, 4.0)


@given(
    grads=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=8),
    max_norm=st.floats(0.01, 100),
)
def test_clipped_gradients_have_at_most_max_norm_and_keep_direction(
    grads: list[float], max_norm: float
) -> None:
    """Property: after clipping, the norm is <= max_norm and every ratio g_i/g_j is unchanged."""
    params = [Value(0.0) for _ in grads]
    for p, g in zip(params, grads):
        p.grad = g
    norm = clip_grad_norm(params, max_norm)
    assert norm == pytest.approx(math.sqrt(sum(g * g for g in grads)))
    clipped = [p.grad for p in params]
    assert math.sqrt(sum(g * g for g in clipped)) <= max_norm * (1 + 1e-12)
    scale = min(1.0, max_norm / (norm + 1e-6))
    assert clipped == pytest.approx([g * scale for g in grads], rel=1e-12, abs=1e-300)


# --- nonsense in, clear errors out ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: SGD(p, lr=-0.1), r"invalid learning rate: -0.1 \(must be in \[0.0, inf\)\)"),
        (lambda p: SGD(p, lr=math.nan), "learning rate must be a number, got nan"),
        (lambda p: SGD(p, lr=math.inf), "invalid learning rate: inf"),
        (lambda p: SGD(p, lr=0.1, momentum=-0.5), "invalid momentum: -0.5"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), "nesterov momentum needs momentum > 0"),
        (lambda p: SGD(p, lr=0.1, weight_decay=-1), "invalid weight_decay: -1"),
        (lambda p: Adam(p, betas=(1.0, 0.999)), r"invalid beta1: 1.0 \(must be in \[0.0, 1.0\)\)"),
        (lambda p: Adam(p, betas=(0.9, -0.1)), "invalid beta2: -0.1"),
        (lambda p: Adam(p, betas=(0.9,)), "betas must be a pair"),  # type: ignore[arg-type]
        (lambda p: Adam(p, eps=-1e-8), "invalid eps"),
        (lambda p: Adagrad(p, lr_decay=-1), "invalid lr_decay"),
        (lambda p: RMSprop(p, alpha=-0.9), "invalid alpha"),
        (lambda p: SGD(p, lr="0.1"), "learning rate must be a number, got '0.1'"),  # type: ignore[arg-type]
    ],
)
def test_nonsense_hyper_parameters_are_rejected(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])  # type: ignore[operator]


def test_an_optimiser_needs_parameters_each_once() -> None:
    x = Value(1.0)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        SGD([x, x], lr=0.1)
    with pytest.raises(TypeError, match="parameters are Values, not float"):
        SGD([1.0], lr=0.1)  # type: ignore[list-item]


def test_clip_grad_norm_rejects_a_negative_max_norm() -> None:
    with pytest.raises(ValueError, match="invalid max_norm: -1"):
        clip_grad_norm([Value(1.0)], -1)


def test_optimisers_table_names_the_four() -> None:
    assert list(OPTIMIZERS.items()) == [
        ("sgd", SGD),
        ("adagrad", Adagrad),
        ("rmsprop", RMSprop),
        ("adam", Adam),
    ]


def test_repr_shows_the_hyper_parameters() -> None:
    assert repr(SGD([Value(1.0)], lr=0.1, momentum=0.9)) == (
        "SGD(1 parameters, lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)"
    )


def test_mini_batch_adam_with_cross_entropy_learns_three_blobs() -> None:
    """The pieces together: data, batches, an MLP, a loss and an optimiser."""
    X, y = make_blobs(30, centers=3, noise=0.5, seed=0)
    model = MLP(2, [8, 3], rng=random.Random(0))
    optimizer = Adam(model.parameters(), lr=0.05)
    for epoch in range(15):
        for X_batch, y_batch in batches(X, y, batch_size=10, seed=epoch):
            loss = cross_entropy([model(x) for x in X_batch.tolist()], y_batch)  # type: ignore[arg-type]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    logits = [model(x) for x in X.tolist()]
    predicted = [max(range(3), key=lambda j: z[j].data) for z in logits]  # type: ignore[index]
    assert predicted == y.tolist()
    assert cross_entropy(logits, y).data < 1e-3  # type: ignore[arg-type]
