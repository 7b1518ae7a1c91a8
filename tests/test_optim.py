"""tinygrad_edu.optim: each optimiser's first steps, computed by hand from its formula, on the
course's test function f(x, y) = x²/20 + y² from (-7, 2); parameter groups; divergence said once;
clipping."""

from __future__ import annotations

import math
import random
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import Value
from tinygrad_edu.data import batches, make_blobs
from tinygrad_edu.functional import cross_entropy
from tinygrad_edu.nn import MLP, Linear
from tinygrad_edu.optim import (
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    AdamW,
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


# --- first steps by hand --------------------------------------------------------------------------


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


def test_centered_rmsprop_goes_on_where_rounding_leaves_the_variance_below_zero() -> None:
    """A constant gradient: sq - avg² = g²·alpha^t·(1 - alpha^t), 1e-16·g² at step 16 with
    alpha = 0.1, below rounding; the computed difference is then a hair below 0. It counts as 0
    (a variance is never negative), so denom = √0 + eps and the step is lr·g/eps."""
    p = Value(1.0)
    optimizer = RMSprop([p], lr=0.01, alpha=0.1, centered=True)
    below_zero = []
    for t in range(1, 31):
        p.grad, before = 0.1, p.data
        optimizer.step()
        state = optimizer.state[p]
        if state["square_avg"] - state["grad_avg"] ** 2 < 0:
            below_zero.append(t)
            assert p.data == before - 0.01 * 0.1 / 1e-8  # lr·g/(0 + eps): 1e5
    assert below_zero[0] == 16
    assert math.isfinite(p.data)


@pytest.mark.parametrize("make", [Adagrad, RMSprop, Adam, AdamW])
def test_eps_zero_is_refused_because_a_zero_gradient_would_divide_zero_by_zero(
    make: type[Optimizer],
) -> None:
    with pytest.raises(ValueError, match=r"invalid eps: 0\.0 \(must be > 0: .* divide 0 by 0"):
        make([Value(1.0)], eps=0.0)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match=r"invalid eps: 0\.0"):
        make([{"params": [Value(1.0)], "eps": 0}])  # type: ignore[call-arg]
    optimizer = make([Value(1.0)], eps=1e-300, weight_decay=0.0)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match=r"invalid eps: 0\.0"):
        optimizer.eps = 0.0  # type: ignore[attr-defined]
    # the smallest eps is enough: a zero gradient moves nothing, 0/(0 + eps) = 0
    p = optimizer.params[0]
    p.grad = 0.0
    optimizer.step()
    assert p.data == 1.0


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
        ("adamw", {"lr": 0.3}),
    ],
)
def test_every_optimiser_finds_the_minimum_at_the_origin(
    name: str, settings: dict[str, float]
) -> None:
    x, y = start()
    descend(OPTIMIZERS[name]([x, y], **settings), x, y, 300)
    assert f(x, y).data < 1e-2


# --- zero_grad and clipping -----------------------------------------------------------------------


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


# --- nonsense in, clear errors out ----------------------------------------------------------------


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


def test_optimisers_table_names_the_five() -> None:
    assert list(OPTIMIZERS.items()) == [
        ("sgd", SGD),
        ("adagrad", Adagrad),
        ("rmsprop", RMSprop),
        ("adam", Adam),
        ("adamw", AdamW),
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


# --- AdamW ----------------------------------------------------------------------------------------


def test_adamw_first_step_decays_p_then_takes_adams_step_from_the_raw_gradient() -> None:
    x, y = start()
    [point] = descend(AdamW([x, y], lr=0.3, weight_decay=0.1), x, y, 1)
    # p = p·(1 - 0.3·0.1), then m_hat = g, v_hat = g²: p -= 0.3·g/(|g| + 1e-8), g at (-7, 2)
    assert point == pytest.approx(
        (-7 * (1 - 0.03) + 0.3 * 0.7 / (0.7 + 1e-8), 2 * (1 - 0.03) - 0.3 * 4 / (4 + 1e-8)),
        rel=1e-15,
    )


def test_adamw_second_step_uses_the_raw_gradients_moments() -> None:
    x, y = start()
    first, second = descend(AdamW([x, y], lr=0.3, weight_decay=0.1), x, y, 2)
    gx = first[0] / 10  # the gradient at the first point, without any decay term
    m = 0.9 * 0.1 * GX + 0.1 * gx
    v = 0.999 * 0.001 * GX**2 + 0.001 * gx**2
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    expected = first[0] * (1 - 0.03) - 0.3 * m_hat / (math.sqrt(v_hat) + 1e-8)
    assert second[0] == pytest.approx(expected, rel=1e-14)


def test_adamw_decay_is_decoupled_from_the_gradient_unlike_adams_l2() -> None:
    """With a zero gradient, AdamW shrinks p by exactly lr·wd·p; Adam's L2 term goes through
    the normalisation, so its first step is about lr whatever wd is."""
    p, q = Value(2.0), Value(2.0)
    AdamW([p], lr=0.1, weight_decay=0.05).step()
    Adam([q], lr=0.1, weight_decay=0.05).step()
    assert p.data == 2.0 * (1 - 0.1 * 0.05) == 1.99
    assert q.data == pytest.approx(2.0 - 0.1 * 0.1 / (0.1 + 1e-8), rel=1e-15)  # g = 0.05·2


def test_adamw_defaults_are_pytorchs() -> None:
    adamw = AdamW([Value(0.0)])
    assert (adamw.lr, adamw.betas, adamw.eps, adamw.weight_decay) == (
        0.001,
        (0.9, 0.999),
        1e-8,
        0.01,
    )


# --- parameter groups -----------------------------------------------------------------------------


def test_sgd_groups_decay_the_weights_only_as_worked_by_hand() -> None:
    w, b = Value(2.0, "w"), Value(-1.0, "b")
    optimizer = SGD(
        [{"params": [w], "weight_decay": 0.5}, {"params": [b], "weight_decay": 0, "lr": 0.2}],
        lr=0.1,
    )
    w.grad, b.grad = 1.0, 3.0
    optimizer.step()
    assert w.data == 2.0 - 0.1 * (1.0 + 0.5 * 2.0)  # 1.8
    assert b.data == -1.0 - 0.2 * 3.0  # -1.6
    assert optimizer.param_groups == [
        {"params": [w], "lr": 0.1, "momentum": 0.0, "nesterov": False, "weight_decay": 0.5},
        {"params": [b], "lr": 0.2, "momentum": 0.0, "nesterov": False, "weight_decay": 0.0},
    ]


def test_weight_decay_on_weights_only_for_a_linear_layer_with_adamw() -> None:
    layer = Linear(2, 1, rng=random.Random(0))
    weights = [p for name, p in layer.named_parameters() if name.startswith("weight")]
    biases = [p for name, p in layer.named_parameters() if name.startswith("bias")]
    optimizer = AdamW(
        [{"params": weights, "weight_decay": 0.5}, {"params": biases, "weight_decay": 0}], lr=0.1
    )
    before = [p.data for p in layer.parameters()]
    optimizer.step()  # zero gradients: only the decay moves anything
    assert [p.data for p in layer.parameters()] == [
        before[0] * (1 - 0.05),
        before[1] * (1 - 0.05),
        before[2],
    ]


GROUP_SETTINGS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # optimiser: (defaults, the first group's own settings)
    "sgd": ({"lr": 0.1, "momentum": 0.9}, {"lr": 0.05, "nesterov": True, "weight_decay": 0.1}),
    "adagrad": ({"lr": 0.5}, {"lr_decay": 0.1, "initial_accumulator_value": 0.2, "eps": 1e-3}),
    "rmsprop": ({"lr": 0.05}, {"alpha": 0.9, "momentum": 0.5, "centered": True}),
    "adam": ({"lr": 0.1}, {"betas": (0.8, 0.99), "weight_decay": 0.2}),
    "adamw": ({"lr": 0.1}, {"lr": 0.2, "eps": 1e-4, "weight_decay": 0.3}),
}


@pytest.mark.parametrize("name", list(GROUP_SETTINGS))
def test_a_group_steps_as_an_optimiser_of_its_own_settings_would(name: str) -> None:
    """Every optimiser: the group with its own settings moves x exactly as a separate optimiser
    built with those settings, and the other group follows the defaults."""
    defaults, own = GROUP_SETTINGS[name]
    make = OPTIMIZERS[name]
    x, y = start()
    grouped = make([{"params": [x], **own}, {"params": [y]}], **defaults)
    path = descend(grouped, x, y, 3)
    x_alone, y_alone = start()
    separate = [make([x_alone], **{**defaults, **own}), make([y_alone], **defaults)]
    for _ in range(3):
        f(x_alone, y_alone).backward()
        for optimizer in separate:
            optimizer.step()
            optimizer.zero_grad()
    assert path[-1] == (x_alone.data, y_alone.data)


def test_setting_lr_on_the_optimiser_sets_every_group() -> None:
    x, y = start()
    optimizer = SGD([{"params": [x], "lr": 0.1}, {"params": [y], "lr": 0.2}], lr=0.3)
    with pytest.raises(ValueError, match=r"different lr values \[0.1, 0.2\]"):
        optimizer.lr  # noqa: B018
    optimizer.lr = np.float32(0.5)
    assert [group["lr"] for group in optimizer.param_groups] == [0.5, 0.5]
    assert optimizer.lr == 0.5 and type(optimizer.lr) is float
    with pytest.raises(ValueError, match="invalid learning rate: -1"):
        optimizer.lr = -1
    assert optimizer.lr == 0.5


def test_a_learning_rate_schedule_through_param_groups_takes_effect() -> None:
    x = Value(1.0)
    optimizer = SGD([x], lr=0.1)
    x.grad = 1.0
    optimizer.param_groups[0]["lr"] = 0.5
    optimizer.step()
    assert x.data == 0.5


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"params": []}, TypeError, r"put the dict in a list"),
        ([{"params": [Value(1.0)], "lr_typo": 1}], ValueError, "unknown setting.*'lr_typo'"),
        ([{"weight_decay": 0}], ValueError, 'a dict with "params"'),
        ([{"params": [Value(1.0)]}, Value(2.0)], TypeError, "not both"),
        ([{"params": 1.0}], TypeError, "not float"),
        ([{"params": [Value(1.0)], "momentum": -1}], ValueError, "invalid momentum: -1"),
        ([{"params": []}], ValueError, "empty parameter list"),
    ],
)
def test_malformed_groups_are_clear_errors(params: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        SGD(params, lr=0.1)


def test_a_parameter_in_two_groups_is_refused() -> None:
    x = Value(1.0)
    with pytest.raises(ValueError, match="more than once"):
        Adam([{"params": [x]}, {"params": [x], "lr": 0.1}])


def test_repr_of_several_groups_shows_each() -> None:
    assert repr(SGD([{"params": [Value(1.0)]}, {"params": [Value(2.0)], "lr": 0.2}], lr=0.1)) == (
        "SGD(2 parameters in 2 groups: "
        "1: lr=0.1, momentum=0.0, nesterov=False, weight_decay=0.0; "
        "1: lr=0.2, momentum=0.0, nesterov=False, weight_decay=0.0)"
    )


# --- what a newcomer passes -----------------------------------------------------------------------


def test_passing_the_model_instead_of_its_parameters_says_so() -> None:
    model = MLP(2, [3, 1])
    with pytest.raises(TypeError, match=r"pass model.parameters\(\), not the model"):
        SGD(model, lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"not named_parameters\(\)"):
        Adam(model.named_parameters())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"a list of Values \(\[x\]\), not one Value"):
        Adam(Value(1.0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"pass model.parameters\(\), not the model"):
        clip_grad_norm(model, 1.0)  # type: ignore[arg-type]


def test_numpy_scalars_are_numbers_for_every_setting() -> None:
    x = Value(1.0)
    x.grad = 2.0
    optimizer = SGD([x], lr=np.float32(0.25), momentum=np.float64(0.5))
    optimizer.step()
    assert x.data == 0.5 and type(optimizer.lr) is float
    adam = Adam([Value(0.0)], betas=(np.float32(0.5), np.float32(0.75)))
    assert adam.betas == (0.5, 0.75)
    with pytest.raises(ValueError, match=r"learning rate must be a number, got (np\.)?True"):
        SGD([x], lr=np.bool_(True))


# --- divergence is said, once ---------------------------------------------------------------------


def test_a_diverging_run_warns_once_naming_the_parameter_and_the_step() -> None:
    x = Value(1.0, "x")
    optimizer = SGD([x], lr=1e154)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(4):  # x² at 1 has gradient 2: x jumps to -2e154, then -2e154 + 4e308
            optimizer.zero_grad()
            (x * x).backward()
            optimizer.step()
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1
    assert messages[0].startswith(
        "training diverged: after step 2 of SGD, parameter 'x' is inf and its gradient -4e+154"
    )
    assert "clip the gradients" in messages[0]
    assert caught[0].filename == __file__  # it points at the caller's step()


def test_a_nan_gradient_is_said_at_the_first_step() -> None:
    w = Value(0.5)
    w.grad = math.nan
    with pytest.warns(RuntimeWarning, match=r"after step 1 of Adam, parameter 'params\[0\]'"):
        Adam([w]).step()


def test_a_healthy_run_says_nothing() -> None:
    x, y = start()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        descend(Adam([x, y], lr=0.3), x, y, 20)


# --- clipping non-finite gradients ----------------------------------------------------------------


def test_clip_grad_norm_with_a_nan_gradient_gives_nan_everywhere_as_pytorch() -> None:
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 3.0, math.nan
    assert math.isnan(clip_grad_norm([a, b], max_norm=1.0))
    assert math.isnan(a.grad) and math.isnan(b.grad)


def test_clip_grad_norm_with_an_infinite_gradient_scales_by_zero_as_pytorch() -> None:
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = math.inf, 4.0
    assert clip_grad_norm([a, b], max_norm=1.0) == math.inf
    assert math.isnan(a.grad) and b.grad == 0.0  # inf·0 is nan


def test_clip_grad_norm_can_refuse_non_finite_gradients_and_leave_them() -> None:
    a, b = Value(0.0, "a"), Value(0.0, "b")
    a.grad, b.grad = 3.0, math.nan
    with pytest.raises(RuntimeError, match=r"norm is nan: non-finite gradient\(s\) in b"):
        clip_grad_norm([a, b], 1.0, error_if_nonfinite=True)
    assert a.grad == 3.0 and math.isnan(b.grad)


def test_clip_grad_norm_of_huge_finite_gradients_does_not_overflow() -> None:
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 3e200, 4e200  # the squares overflow; the norm does not
    assert clip_grad_norm([a, b], max_norm=np.float32(5.0)) == pytest.approx(5e200, rel=1e-15)
    assert (a.grad, b.grad) == pytest.approx((3.0, 4.0), rel=1e-15)


# --- rules on arrays: each parameter moves as its formula, written per parameter, says -----------


def _by_hand(name: str, settings: dict[str, Any]) -> Any:
    """One step of each optimiser's formula for one parameter, in Python floats (the class
    docstrings' formulas, written out as PyTorch's per-parameter loops write them)."""
    lr = settings["lr"]

    def sgd(p: float, g: float, s: dict[str, Any], t: int) -> float:
        g = g + settings["weight_decay"] * p
        buf = g if s.get("buf") is None else settings["momentum"] * s["buf"] + g
        s["buf"] = buf
        return p - lr * (g + settings["momentum"] * buf if settings["nesterov"] else buf)

    def adagrad(p: float, g: float, s: dict[str, Any], t: int) -> float:
        clr = lr / (1 + (t - 1) * settings["lr_decay"])
        s["sum"] = s.get("sum", settings["initial_accumulator_value"]) + g * g
        return p - clr * g / (math.sqrt(s["sum"]) + settings["eps"])

    def rmsprop(p: float, g: float, s: dict[str, Any], t: int) -> float:
        alpha, eps, momentum = settings["alpha"], settings["eps"], settings["momentum"]
        s["sq"] = alpha * s.get("sq", 0.0) + (1 - alpha) * g * g
        s["avg"] = alpha * s.get("avg", 0.0) + (1 - alpha) * g
        variance = s["sq"] - s["avg"] ** 2 if settings["centered"] else s["sq"]
        denom = math.sqrt(max(variance, 0.0)) + eps
        s["buf"] = momentum * s.get("buf", 0.0) + g / denom
        return p - lr * (s["buf"] if momentum else g / denom)

    def adam(p: float, g: float, s: dict[str, Any], t: int, decoupled: bool = False) -> float:
        b1, b2 = settings["betas"]
        if decoupled:
            p = p * (1 - lr * settings["weight_decay"])
        else:
            g = g + settings["weight_decay"] * p
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        return p - lr * (s["m"] / (1 - b1**t)) / (math.sqrt(s["v"] / (1 - b2**t)) + settings["eps"])

    rules = {"sgd": sgd, "adagrad": adagrad, "rmsprop": rmsprop, "adam": adam}
    if name == "adamw":
        return lambda p, g, s, t: adam(p, g, s, t, decoupled=True)
    return rules[name]


HARD_SETTINGS = {
    "sgd": [dict(lr=0.1), dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True)],
    "adagrad": [dict(lr=0.1, lr_decay=0.01, weight_decay=0.0, initial_accumulator_value=0.1)],
    "rmsprop": [dict(lr=0.01), dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True)],
    "adam": [dict(lr=0.01, weight_decay=0.1)],
    "adamw": [dict(lr=0.01, betas=(0.8, 0.9))],
}


@pytest.mark.parametrize(
    ("name", "given"), [(n, s) for n, each in HARD_SETTINGS.items() for s in each]
)
def test_each_parameter_moves_bit_for_bit_as_its_per_parameter_formula(
    name: str, given: dict[str, Any]
) -> None:
    rng = np.random.default_rng(0)
    params = [Value(x) for x in rng.normal(size=300)]
    optimizer = OPTIMIZERS[name](params, **given)  # type: ignore[arg-type]
    settings = optimizer.param_groups[0]
    rule = _by_hand(name, settings)
    expected = [p.data for p in params]
    states: list[dict[str, Any]] = [{} for _ in params]
    for t in range(1, 6):
        grads = rng.normal(size=300) * 10.0 ** rng.integers(-8, 3, size=300)
        grads[:5] = 0.0  # a gradient of exactly 0 (the reason eps exists)
        for p, g in zip(params, grads.tolist()):
            p.grad = g
        optimizer.step()
        expected = [rule(p, g, s, t) for p, g, s in zip(expected, grads.tolist(), states)]
        assert [p.data for p in params] == expected, t  # bit for bit
        assert all(type(p.data) is float for p in params)


def test_state_reads_one_parameters_state_as_floats_and_cannot_be_written() -> None:
    x, y = start()
    optimizer = SGD([x, y], lr=0.1, momentum=0.9)
    assert optimizer.state[x] == {"momentum_buffer": None}  # PyTorch's: none before a step
    x.grad, y.grad = GX, GY
    optimizer.step()
    assert optimizer.state[y] == {"momentum_buffer": GY} and len(optimizer.state) == 2
    assert list(optimizer.state) == [x, y]
    with pytest.raises(TypeError):
        optimizer.state[x]["momentum_buffer"] = 0.0  # type: ignore[index]
    with pytest.raises(KeyError):
        optimizer.state[Value(1.0)]
    adam = Adam([x], lr=0.1)
    adam.step()
    assert set(adam.state[x]) == {"exp_avg", "exp_avg_sq"}
    assert adam.state[x]["exp_avg"] == pytest.approx(0.1 * GX, rel=1e-15)


def test_a_diverging_step_warns_the_optimisers_warning_and_no_numpy_one() -> None:
    params = [Value(1e300), Value(1.0)]
    optimizer = Adam(params, lr=1.0)
    params[0].grad, params[1].grad = 1e300, math.inf  # g² overflows; g is inf
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optimizer.step()
    assert [str(w.message)[:39] for w in caught] == ["training diverged: after step 1 of Adam"]
