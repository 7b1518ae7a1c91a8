"""tinygrad_edu.testing: check_op property-tests a define_op operation's first and second
derivatives against central differences, and the strategies draw Values, formulas and points in
an operation's domain for a learner's own tests."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import OPS, Value, define_op, numerical_grad
from tinygrad_edu.testing import (
    Expression,
    OpCheck,
    OpCheckError,
    check_op,
    expressions,
    points,
    values,
)


def soft_sign_forward(x: float) -> float:
    return x / (1 + abs(x))


# softsign(x) = x / (1 + |x|); d/dx = 1 / (1 + |x|)², smooth except for a kink of d/dx at 0.
soft_sign = define_op("soft_sign", soft_sign_forward, lambda x, out: 1 / (1 + abs(x)) ** 2)
# hypot(x, y) = √(x² + y²); d/dx = x/out, d/dy = y/out.
hypotenuse = define_op(
    "hypotenuse", lambda x, y: math.hypot(x, y), lambda x, y, out: (x / out, y / out)
)
# log(x), defined for x > 0 only; d/dx = 1/x.
natural_log = define_op("natural_log", lambda x: math.log(x), lambda x, out: 1 / x)

NOT_SMOOTH = "is not smooth within eps (a kink, a jump or a pole)"


# --- a correct rule passes ---------------------------------------------------------------------


def test_a_correct_rule_passes_at_a_hundred_points_and_says_what_it_skipped() -> None:
    report = check_op(soft_sign)
    assert isinstance(report, OpCheck)
    assert (report.name, report.points) == ("soft_sign", 100)
    # The only points left out are those within eps of 0, where d/dx has its kink.
    assert set(report.skipped) <= {f"d out/dx {NOT_SMOOTH}", f"the forward {NOT_SMOOTH}"}
    assert str(report).startswith(
        "soft_sign: first and second derivatives agree with central differences at 100 points"
    )


def test_a_two_input_operation_is_checked_in_both_inputs() -> None:
    report = check_op(hypotenuse, max_examples=30)
    assert report.points == 30


def test_the_points_are_the_same_on_every_run() -> None:
    assert check_op(soft_sign, max_examples=20) == check_op(soft_sign, max_examples=20)


# --- a wrong rule fails, naming the simplest point ---------------------------------------------


def test_a_wrong_first_derivative_fails_with_the_shrunk_counter_example() -> None:
    square = define_op("wrong_square", lambda x: x * x, lambda x, out: x)  # should be 2x
    with pytest.raises(OpCheckError) as failure:
        check_op(square)
    # At x = 0 the wrong rule happens to be right (0 = 2·0); hypothesis shrinks to x = 1.
    assert failure.value.point == (1.0,)
    message = str(failure.value)
    assert message.startswith(
        "check_op(wrong_square): the first derivative d out/dx is wrong at x = 1.0"
    )
    assert "backward() gives          1.0" in message
    assert "central differences give  2.0000000000" in message


def test_a_rule_that_grad_cannot_differentiate_fails_at_second_order() -> None:
    # cube(x) = x³: 3·x·float(x) is right as a number, but float(x) is a constant to grad(),
    # so d²/dx² comes out 3x instead of 6x.
    cube = define_op("half_detached_cube", lambda x: x**3, lambda x, out: 3 * x * float(x))
    with pytest.raises(OpCheckError) as failure:
        check_op(cube)
    message = str(failure.value)
    assert failure.value.point == (1.0,)
    assert "the second derivative d²out/dxdx is wrong at x = 1.0" in message
    assert "grad(grad(...)) gives 3.0," in message
    assert "central differences of backward()'s d out/dx give 6.0000000" in message


def test_a_rule_written_with_math_cos_fails() -> None:
    sine = define_op("math_sine", lambda x: math.sin(x), lambda x, out: math.cos(x))
    with pytest.raises(OpCheckError, match=r"check_op\(math_sine\): .* at x = "):
        check_op(sine)


def test_a_rule_that_raises_fails_with_its_error() -> None:
    broken = define_op("broken_rule", lambda x: 2 * x, lambda x, out: x.no_such_method())
    with pytest.raises(OpCheckError) as failure:
        check_op(broken)
    assert "the derivative rule raised AttributeError at x = 0.0" in str(failure.value)


# --- a limited domain --------------------------------------------------------------------------


def test_where_the_forward_raises_the_points_are_skipped_and_counted_by_reason() -> None:
    report = check_op(natural_log)
    assert report.points == 100
    raises = "the forward raises ValueError: math domain error"
    assert report.skipped[raises] > 50  # half of [-3, 3]
    assert report.skipped[f"within eps of where {raises}"] > 0  # 0 < x < eps
    assert f"{report.skipped[raises]:4d} × {raises}" in str(report)


def test_a_given_domain_is_where_the_points_are_drawn() -> None:
    report = check_op(natural_log, domain=(0.5, 4.0), max_examples=30)
    assert (report.points, report.skipped) == (30, {})
    per_input = check_op(hypotenuse, domain=[(1.0, 2.0), (-2.0, -1.0)], max_examples=10)
    assert (per_input.points, per_input.skipped) == (10, {})
    drawn = check_op(natural_log, domain=st.floats(1, 2), max_examples=10)
    assert (drawn.points, drawn.skipped) == (10, {})


def test_a_domain_where_the_forward_always_raises_is_a_value_error_with_the_reasons() -> None:
    with pytest.raises(ValueError) as error:
        check_op(natural_log, domain=(-3.0, -1.0))
    message = str(error.value)
    assert message.startswith("check_op(natural_log): no point of the domain could be checked (")
    assert "× the forward raises ValueError: math domain error" in message
    assert "pass domain=(low, high)" in message


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("thing", "named"),
    [
        ("tanh", "not the built-in's name 'tanh'"),
        (3, "not int 3"),
        (math.sin, "not the function 'sin', which define_op did not make"),
        (soft_sign_forward, "not the function 'soft_sign_forward', which define_op did not make"),
        (None, "not NoneType None"),
    ],
)
def test_something_that_is_not_a_defined_operation_is_a_type_error_naming_it(
    thing: object, named: str
) -> None:
    for use in (check_op, points):
        with pytest.raises(TypeError, match="takes an operation made with define_op") as error:
            use(thing)  # type: ignore[operator]
        assert named in str(error.value)


def test_a_function_named_like_a_defined_operation_is_still_refused() -> None:
    # The learner's forward has the operation's name, but it is not what define_op returned.
    def soft_sign(x: float) -> float:
        return x / (1 + abs(x))

    assert "soft_sign" in OPS
    with pytest.raises(TypeError, match="not the function 'soft_sign'"):
        check_op(soft_sign)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"domain": (1.0, 0.0)}, "domain is"),
        ({"domain": [(0.0, 1.0)] * 3}, r"one \(low, high\) per input \(1 here\)"),
        ({"domain": (0.0, math.inf)}, "domain is"),
        ({"max_examples": 0}, "max_examples"),
        ({"eps": -1e-4}, "eps must be a positive"),
        ({"rtol": math.nan}, "rtol must be a positive"),
    ],
)
def test_bad_options_are_value_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_op(natural_log, **options)  # type: ignore[arg-type]


def test_a_strategy_drawing_the_wrong_shape_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"drew \(1.0, 2.0\), not 1 number"):
        check_op(natural_log, domain=st.just((1.0, 2.0)))


def test_without_hypothesis_the_import_error_says_what_to_install() -> None:
    program = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import tinygrad_edu\n"  # the library itself does not need hypothesis
        "try:\n"
        "    import tinygrad_edu.testing\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "pip install tinygrad-edu[testing]" in run.stdout


# --- the strategies ----------------------------------------------------------------------------


@given(x=values(-2.0, 2.0))
def test_values_are_leaf_values_in_the_interval(x: Value) -> None:
    assert isinstance(x, Value) and x.op == "" and -2.0 <= x.data <= 2.0


@given(point=points(natural_log))
def test_points_are_where_the_forward_is_defined(point: tuple[float, ...]) -> None:
    (x,) = point
    assert 0 < x <= 3


@given(
    e=expressions(ops=["+", "*", "log", soft_sign], inputs=2),
    xs=st.lists(st.floats(-2, 2), min_size=2, max_size=2),
)
def test_expressions_use_the_given_operations_and_backward_matches_central_differences(
    e: Expression, xs: list[float]
) -> None:
    leaves = [Value(x) for x in xs]
    out = e(*leaves)
    assert set(str(e).replace("(", " ").split()) & {"tanh", "exp", "/", "**"} == set()
    if any(abs(x) < 1e-3 for x in xs):  # soft_sign's second derivative has a kink at 0
        return
    out.backward()
    numeric = numerical_grad(e, xs)
    assert [leaf.grad for leaf in leaves] == pytest.approx(numeric, rel=1e-5, abs=1e-5)


def test_an_expression_prints_as_it_computes() -> None:
    # A denominator, like log's argument, is kept positive as e*e + 0.5, and says so.
    quotient = Expression(("/", ("x", 0), ("x", 1)), inputs=2)
    assert str(quotient) == "x0 / (x1*x1 + 0.5)"
    assert repr(quotient) == "<expression x0 / (x1*x1 + 0.5)>"
    assert quotient(3.0, -1.0).data == 3.0 / 1.5
    logarithm = Expression(("log", ("neg", ("const", 1.5))), inputs=1)
    assert str(logarithm) == "log((-1.5)*(-1.5) + 0.5)"
    assert logarithm(0.0).data == math.log(2.75)
    with pytest.raises(TypeError, match=r"takes 1 input\(s\), got 2"):
        logarithm(1.0, 2.0)


def test_expressions_refuse_what_is_not_an_operation() -> None:
    with pytest.raises(ValueError, match="'cosh' is not a built-in operation"):
        expressions(ops=["cosh"])
    with pytest.raises(TypeError, match="takes an operation made with define_op"):
        expressions(ops=[math.cosh])
    with pytest.raises(ValueError, match="at least one operation"):
        expressions(ops=[])


def test_an_expression_applies_the_two_input_methods_of_value_with_their_second_input() -> None:
    x = Value(-1.0)
    assert Expression(("maximum", ("x", 0), ("const", 2.0)), 1)(x).data == 2.0
    assert Expression(("minimum", ("x", 0), ("const", 2.0)), 1)(x).data == -1.0
    assert Expression(("leaky_relu", ("x", 0), ("const", 0.0)), 1)(x).data == -0.5  # σ(0)


def test_a_wrong_derivative_in_the_second_input_is_caught() -> None:
    """Both inputs are compared: a hypotenuse whose d/dy is x / out instead of y / out fails."""
    wrong_dy = define_op(
        "hypotenuse_wrong_dy",
        lambda x, y: math.hypot(x, y),
        lambda x, y, out: (x / out, x / out),
    )
    with pytest.raises(OpCheckError, match=r"d out/dy is wrong"):
        check_op(wrong_dy, domain=(0.5, 3.0), max_examples=30)
