"""numerical_grad and check_grad: the numerical ground truth, and the comparison with it, in
their three forms (a function of one Value per number, a function of nothing that reads Values
moved in place, and the course's function of one numpy array)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from tinygrad_edu import OPS, Value, check_grad, grad, nn, no_grad, numerical_grad
from tinygrad_edu.functional import cross_entropy


def sum_of_squares(x0: Value, x1: Value) -> Value:
    return x0**2 + x1**2


@pytest.mark.parametrize(
    ("point", "expected"),
    [((3.0, 4.0), [6.0, 8.0]), ((0.0, 2.0), [0.0, 4.0]), ((3.0, 0.0), [6.0, 0.0])],
)
def test_numerical_grad_of_the_sum_of_squares(
    point: tuple[float, float], expected: list[float]
) -> None:
    assert numerical_grad(sum_of_squares, point) == pytest.approx(expected, abs=1e-6)


def test_numerical_grad_is_a_list_of_floats_and_accepts_values() -> None:
    slopes = numerical_grad(lambda x: x.sin(), [Value(0.0)])
    assert isinstance(slopes, list)
    assert type(slopes[0]) is float
    assert slopes[0] == pytest.approx(1.0, abs=1e-9)


def test_numerical_grad_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="eps"):
        numerical_grad(sum_of_squares, [1.0, 2.0], eps=0.0)
    with pytest.raises(ValueError, match="eps"):
        numerical_grad(sum_of_squares, [1.0, 2.0], eps=math.nan)
    with pytest.raises(TypeError, match="str"):
        numerical_grad(sum_of_squares, "12")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="float"):
        numerical_grad(lambda x: 1.0, [1.0])  # type: ignore[arg-type, return-value]


def test_check_grad_agrees_on_a_correct_gradient() -> None:
    result = check_grad(lambda a, b: (a * b).tanh() + a.exp() / b, [0.3, 1.7])
    assert result.ok
    assert result.max_abs_error < 1e-8
    assert result.max_rel_error < 1e-8
    assert result.analytic == pytest.approx(result.numeric, abs=1e-8)
    assert len(result.analytic) == len(result.numeric) == 2


def test_check_grad_catches_a_wrong_derivative(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sabotage one rule of the table: sin' = cos is replaced by sin' = 2 cos.
    monkeypatch.setitem(OPS, "sin", OPS["sin"]._replace(derivative=lambda x, out: 2 * math.cos(x)))
    result = check_grad(lambda x: x.sin(), [0.5])
    assert not result.ok
    assert result.analytic[0] == pytest.approx(2 * math.cos(0.5))
    assert result.numeric[0] == pytest.approx(math.cos(0.5), abs=1e-8)
    assert result.max_rel_error == pytest.approx(0.5, abs=1e-6)
    assert "MISMATCH" in repr(result)


def test_check_grad_repr_is_a_readable_table() -> None:
    text = repr(check_grad(sum_of_squares, [3.0, 4.0]))
    lines = text.splitlines()
    assert lines[0].startswith("check_grad: ok (max abs error")
    assert lines[1].split() == ["name", "analytic", "numeric", "abs", "error"]
    assert lines[2].split()[:2] == ["x0", "6"]
    assert lines[3].split()[:2] == ["x1", "8"]


def test_numerical_grad_of_a_function_that_differentiates() -> None:
    """f(x) = d/dx tanh(x) through grad(): its slope is the second derivative of tanh."""

    def slope_of_tanh(x: Value) -> Value:
        return grad(x.tanh(), x)

    t = math.tanh(0.5)
    second = -2 * t * (1 - t**2)
    assert numerical_grad(slope_of_tanh, [0.5]) == pytest.approx([second], abs=1e-8)
    result = check_grad(slope_of_tanh, [0.5])
    assert result.ok
    assert result.analytic[0] == pytest.approx(second, rel=1e-12)


# --- check_grad(fn, params): Values moved in place, the course's check of a whole network ---


def odd_values() -> list[Value]:
    """Values whose data have every bit of the mantissa in play (0.1 + 0.2 is not 0.3)."""
    return [Value(0.1 + 0.2, "a"), Value(-1 / 3, "b"), Value(math.pi * 1e-7, "c")]


def bits(values: list[Value]) -> list[str]:
    return [v.data.hex() for v in values]


def test_check_grad_over_values_compares_with_central_differences_and_names_rows() -> None:
    a, b, c = odd_values()
    result = check_grad(lambda: a * b + (a * c).sin(), [a, b, c])
    # d/da = b + c·cos(ac), d/db = a, d/dc = a·cos(ac)
    expected = [
        b.data + c.data * math.cos(a.data * c.data),
        a.data,
        a.data * math.cos(a.data * c.data),
    ]
    assert result.ok
    assert result.analytic == pytest.approx(expected, rel=1e-15)
    assert result.numeric == pytest.approx(expected, rel=1e-8)
    assert result.names == ["a", "b", "c"]
    assert [line.split()[0] for line in repr(result).splitlines()[2:]] == ["a", "b", "c"]


def test_check_grad_puts_every_value_back_bit_for_bit_and_leaves_grads_alone() -> None:
    values = odd_values()
    a, b, c = values
    before = bits(values)
    for v, g in zip(values, [1.5, -2.0, 0.0]):
        v.grad = g
    check_grad(lambda: (a / b).exp() * c, values)
    assert bits(values) == before
    assert [v.grad for v in values] == [1.5, -2.0, 0.0]


def test_check_grad_puts_values_back_when_fn_raises_midway() -> None:
    values = odd_values()
    before = bits(values)
    calls = 0

    def fn() -> Value:
        nonlocal calls
        calls += 1
        if calls == 4:  # the first call, then a's two points, then b moved up: fail there
            raise RuntimeError("boom")
        return values[0] * values[1] * values[2]

    with pytest.raises(RuntimeError, match="boom"):
        check_grad(fn, values)
    assert bits(values) == before
    with pytest.raises(RuntimeError, match="boom"):
        calls = 2
        numerical_grad(fn, values)
    assert bits(values) == before


def test_unlabelled_values_are_named_by_position() -> None:
    x = Value(2.0)
    assert check_grad(lambda: x * x, [x]).names == ["params[0]"]


def test_a_check_whose_derivatives_are_all_zero_says_so_on_its_first_line() -> None:
    w, unused = Value(-1.0, "w"), Value(3.0, "unused")
    result = check_grad(lambda: w.relu() * 5, [w, unused])  # relu is flat at -1
    assert result.all_zero and result.ok
    first = repr(result).splitlines()[0]
    assert first.startswith("check_grad: nothing checked: all 2 derivatives are exactly 0")
    assert " ok " not in first
    assert not check_grad(lambda: w * 5, [w]).all_zero


def test_the_gradient_check_of_a_whole_sequential_network() -> None:
    """The course's gradient check: every parameter of a two-layer network, with a batch and
    cross-entropy, backpropagation against central differences."""
    model = nn.Sequential(
        nn.Linear(3, 4, rng=random.Random(0)), nn.Tanh(), nn.Linear(4, 2, rng=random.Random(1))
    )
    X, y = [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5], [-2.0, 0.25, 1.0]], [0, 1, 1]
    parameters = model.parameters()
    before = bits(parameters)
    result = check_grad(lambda: cross_entropy(model(X), y), parameters)
    assert len(result.analytic) == 3 * 4 + 4 + 4 * 2 + 2 == 26
    assert result.ok
    assert result.max_abs_error < 1e-9
    assert result.names[:2] == ["0.weight.0.0", "0.weight.0.1"]
    assert result.names[-1] == "2.bias.1"
    assert bits(parameters) == before
    assert all(p.grad == 0.0 for p in parameters)


def test_the_gradient_check_of_a_network_catches_a_wrong_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Sabotage tanh' = 1 - out² into 1 - out: only backpropagation uses the table's rule.
    monkeypatch.setitem(OPS, "tanh", OPS["tanh"]._replace(derivative=lambda x, out: 1 - out))
    model = nn.Sequential(nn.Linear(2, 3, rng=random.Random(0)), nn.Tanh(), nn.Linear(3, 1))
    result = check_grad(lambda: model([0.5, -1.5])[0], model.parameters())
    assert not result.ok
    assert repr(result).startswith("check_grad: MISMATCH")


def test_check_grad_records_even_inside_no_grad() -> None:
    x = Value(0.5, "x")
    with no_grad():
        result = check_grad(lambda: x.tanh(), [x])
    assert result.ok
    assert result.analytic == pytest.approx([1 - math.tanh(0.5) ** 2], rel=1e-15)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda x: check_grad(lambda: x, [1.0]), TypeError, r"params\[0\] is float"),
        (lambda x: check_grad(lambda: x, x), TypeError, r"as a list \(model.parameters\(\)\)"),
        (lambda x: check_grad(lambda: [x], [x]), TypeError, "fn must return one Value"),
        (lambda x: check_grad(lambda: x, [x, x]), ValueError, "more than once"),
        (lambda x: check_grad(lambda a: a, np.ones(1)), TypeError, "takes a list"),
    ],
)
def test_check_grad_misuse_says_what_to_pass(call: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call(Value(1.0))  # type: ignore[operator]


# --- the course's form: a function of one numpy array ----------------------------------------


def test_numerical_grad_of_a_function_of_one_array_is_an_array_of_its_shape() -> None:
    x = np.array([[3.0, 4.0], [0.0, -1.5]])
    slopes = numerical_grad(lambda a: np.sum(a**2), x)
    assert isinstance(slopes, np.ndarray) and slopes.shape == (2, 2)
    assert slopes == pytest.approx(2 * x, abs=1e-8)


def test_numerical_grad_moves_the_array_in_place_as_the_course_relies_on() -> None:
    """The course's pattern: f ignores its argument and reads the network's weights, which are
    the very array being differentiated; the array is put back bit for bit."""
    W = np.array([[0.1 + 0.2, -1 / 3], [2.0, 0.25]])
    x = np.array([1.0, 2.0])
    before = W.copy()

    def loss(_: np.ndarray) -> float:
        return float(np.sum(np.tanh(W @ x)))

    slopes = numerical_grad(loss, W)
    expected = np.outer(1 - np.tanh(W @ x) ** 2, x)  # d/dW_ij = (1 - tanh²(Wx)_i)·x_j
    assert slopes == pytest.approx(expected, abs=1e-9)
    assert W.tobytes() == before.tobytes()


def test_numerical_grad_of_an_array_accepts_values_and_float32() -> None:
    x = np.array([0.5, -0.25], dtype=np.float32)
    slopes = numerical_grad(lambda a: Value(float(a[0])) * float(a[1]), x, eps=1e-3)
    # float32 rounds x ± eps: the slope divides by the step actually taken, so it stays exact
    assert slopes == pytest.approx([-0.25, 0.5], rel=1e-6)
    assert x.dtype == np.float32 and x.tolist() == [0.5, -0.25]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: numerical_grad(lambda a: np.sum(a), [1.0, 2.0]), r"pass the array itself"),
        (lambda: numerical_grad(lambda a: np.sum(a), np.array([1, 2])), r"x.astype\(float\)"),
        (lambda: numerical_grad(lambda a, b: a * b, np.ones(2)), r"pass a list"),
        (lambda: numerical_grad(lambda a: "loss", np.ones(2)), "one number"),
    ],
)
def test_numerical_grad_misuse_says_what_to_pass(call: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call()  # type: ignore[operator]


def test_numerical_grad_refuses_a_read_only_array() -> None:
    x = np.ones(2)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        numerical_grad(lambda a: float(np.sum(a)), x)


def test_numerical_grad_over_values_in_place_is_a_list() -> None:
    a, b = Value(3.0), Value(4.0)
    assert numerical_grad(lambda: a * a + b * b, [a, b]) == pytest.approx([6.0, 8.0], abs=1e-8)
    assert (a.data, b.data) == (3.0, 4.0)


def test_eps_may_be_a_numpy_scalar() -> None:
    assert numerical_grad(sum_of_squares, [3.0, 4.0], eps=np.float32(1e-3)) == pytest.approx(
        [6.0, 8.0], rel=1e-6
    )


def test_an_eps_too_small_to_move_x_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"eps=1e-06 is below the spacing of floats at x = 1e\+20"):
        numerical_grad(lambda x: x * 2, [1e20])
