"""numerical_grad and check_grad: the numerical ground truth, and the comparison with it."""

from __future__ import annotations

import math

import pytest

from tinygrad_edu import Value, check_grad, engine, grad, numerical_grad


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
    monkeypatch.setitem(engine._DERIVATIVE, "sin", lambda x, out: 2 * math.cos(x))
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
    assert lines[1].split() == ["i", "analytic", "numeric", "abs", "error"]
    assert lines[2].split()[:2] == ["0", "6"]
    assert lines[3].split()[:2] == ["1", "8"]


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
