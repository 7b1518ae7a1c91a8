"""define_op: a learner's own operation is one more row of the table, and every part of the
library (backward, grad to any order, check_grad, compile, the diagrams) treats it as a built-in."""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu
import viz
from tinygrad_edu import OPS, Value, check_grad, define_op, grad
from tinygrad_edu.ops import BUILTINS, where

ROOT = Path(__file__).resolve().parent.parent

# softsign(x) = x / (1 + |x|); d/dx = 1 / (1 + |x|)², written with operations that work on floats
# and on Values alike, so grad() can differentiate it again.
softsign = define_op(
    "softsign",
    lambda x: x / (1 + abs(x)),
    lambda x, out: 1 / (1 + abs(x)) ** 2,
    formula="d/dx = 1/(1 + |x|)²",
)

# hypot(x, y) = √(x² + y²); d/dx = x/out, d/dy = y/out.
hypot = define_op(
    "hypot",
    lambda x, y: math.hypot(x, y),
    lambda x, y, out: (x / out, y / out),
    formula="d/dx = x/hypot, d/dy = y/hypot",
)


def test_the_new_operation_is_a_row_of_the_table_and_a_function_of_values_and_numbers() -> None:
    assert OPS["softsign"].arity == 1 and OPS["hypot"].arity == 2
    assert OPS["softsign"].formula == "d/dx = 1/(1 + |x|)²"
    x = Value(3.0, "x")
    y = softsign(x)
    assert (y.data, y.op, y.inputs) == (0.75, "softsign", (x,))
    assert softsign(-1).data == -0.5  # a plain number becomes a constant leaf
    assert hypot(3.0, Value(4.0)).data == 5.0


def test_backward_uses_the_given_derivative() -> None:
    x = Value(3.0)
    (softsign(x) * 2).backward()
    assert x.grad == 2 / 16  # 2 · 1/(1 + 3)²
    a, b = Value(3.0), Value(4.0)
    hypot(a, b).backward()
    assert (a.grad, b.grad) == (0.6, 0.8)


def test_grad_differentiates_the_derivative_again() -> None:
    x = Value(3.0)
    first = grad(softsign(x), x)
    second = grad(first, x)
    third = grad(second, x)
    # For x > 0: f' = (1 + x)^-2, f'' = -2 (1 + x)^-3, f''' = 6 (1 + x)^-4.
    assert first.data == pytest.approx(1 / 16, rel=1e-15)
    assert second.data == pytest.approx(-2 / 64, rel=1e-15)
    assert third.data == pytest.approx(6 / 256, rel=1e-15)


def test_check_grad_agrees_with_central_differences_and_catches_a_wrong_rule() -> None:
    assert check_grad(lambda x, y: hypot(softsign(x), y), [0.7, -1.3]).ok
    wrong = define_op("wrong_square", lambda x: x * x, lambda x, out: x)  # should be 2x
    report = check_grad(lambda x: wrong(x), [1.5])
    assert not report.ok
    assert report.analytic == [1.5] and report.numeric[0] == pytest.approx(3.0, rel=1e-8)


def test_compile_replays_it_with_the_interpreters_numbers() -> None:
    w = Value(0.5)
    fast = tinygrad_edu.compile(lambda x: hypot(softsign(w * x), x))
    out = fast(2.0)
    out.backward()
    compiled = (out.data, w.grad)
    w.grad = 0.0
    expected = hypot(softsign(w * 2.0), 2.0)
    expected.backward()
    assert compiled == pytest.approx((expected.data, w.grad), rel=1e-12)


def test_diagrams_name_the_node_and_the_animation_shows_the_formula() -> None:
    x = Value(3.0, "x")
    y = softsign(x)
    y.backward()
    assert "softsign" in viz.draw(y).source
    page = viz.animate(y).html()
    assert "1/(1 + |x|)²" in page


def test_defining_a_name_again_replaces_it_but_a_built_in_is_refused() -> None:
    first = define_op("twice", lambda x: 2 * x, lambda x, out: 2.0)
    again = define_op("twice", lambda x: 3 * x, lambda x, out: 3.0)  # a notebook cell re-run
    assert again(Value(1.0)).data == 3.0 and first(Value(1.0)).data == 3.0
    for name in sorted(BUILTINS):
        with pytest.raises(ValueError, match="built-in"):
            define_op(name, lambda x: x, lambda x, out: 1.0)


@pytest.mark.parametrize(
    ("name", "forward", "derivative", "error", "message"),
    [
        ("", lambda x: x, lambda x, out: 1.0, ValueError, "identifier"),
        ("two words", lambda x: x, lambda x, out: 1.0, ValueError, "identifier"),
        ("f", 3.0, lambda x, out: 1.0, TypeError, "functions"),
        ("f", lambda: 1.0, lambda out: 1.0, ValueError, r"takes 0 argument\(s\)"),
        ("f", lambda x, y, z: x, lambda x, out: 1.0, ValueError, r"takes 3 argument\(s\)"),
        ("f", lambda x: x, lambda x: 1.0, ValueError, r"expected \(x, out\)"),
        ("f", lambda x, y: x, lambda x, out: 1.0, ValueError, r"expected \(x, y, out\)"),
        ("f", math.hypot, lambda x, y, out: (1.0, 1.0), ValueError, "cannot tell how many"),
    ],
)
def test_misuse_is_a_clear_error(
    name: str, forward: object, derivative: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        define_op(name, forward, derivative)  # type: ignore[arg-type]


def test_a_forward_that_returns_no_number_or_the_wrong_number_of_inputs_is_an_error() -> None:
    bad = define_op("bad_forward", lambda x: "text", lambda x, out: 1.0)
    with pytest.raises(TypeError, match="bad_forward's forward must return a real number"):
        bad(Value(1.0))
    with pytest.raises(TypeError, match=r"softsign takes 1 argument\(s\), got 2"):
        softsign(Value(1.0), Value(2.0))


# --- rules that would go wrong later, caught where they run -----------------------------------


def test_a_rule_written_with_math_is_refused_by_grad_with_the_fix() -> None:
    """math.cos(Value) goes through float(): the derivative would be a constant of the graph
    and the second derivative a silent 0.0 instead of -sin(0.5) = -0.479425538604203."""
    mysin = define_op("mysin_math", math.sin, lambda x, out: math.cos(x))
    x = Value(0.5)
    mysin(x).backward()  # backward() evaluates rules on floats: right as it is
    assert x.grad == math.cos(0.5)
    with pytest.raises(TypeError, match=r"mysin_math's derivative d out/dx returned a plain"):
        grad(mysin(x), x)
    with pytest.raises(TypeError, match=r"math\.cos\(x\).*lambda x, out: np\.cos\(x\)"):
        grad(grad(mysin(x), x), x)
    fixed = define_op("mysin_numpy", math.sin, lambda x, out: np.cos(x))
    first = grad(fixed(x), x)
    assert first.data == math.cos(0.5)
    assert grad(first, x).data == pytest.approx(-0.479425538604203, rel=1e-15)


def test_a_binary_rule_that_forgets_an_input_in_math_is_refused_too() -> None:
    scaled = define_op(
        "scaled_sin",
        lambda x, k: k * math.sin(x),
        lambda x, k, out: (float(k) * math.cos(x), math.sin(x)),
    )
    x, k = Value(0.5), Value(2.0)
    with pytest.raises(TypeError, match=r"scaled_sin's derivative d out/dx returned a plain"):
        grad(scaled(x, k), [x, k])


@pytest.mark.parametrize("at", [-1.5, 0.0, 2.0])
def test_piecewise_constant_rules_may_return_plain_numbers_even_at_their_kinks(at: float) -> None:
    """A plain number is a constant to grad(), which is right where the derivative is piecewise
    constant: relu' is 1 or 0 (0 at 0), sign is ±1 (0 at 0); their derivatives are 0."""
    my_relu = define_op("my_relu", lambda x: max(x, 0.0), lambda x, out: where(x > 0, 1.0, 0.0))
    sign = define_op("my_abs", abs, lambda x, out: 1.0 if x > 0 else (-1.0 if x < 0 else 0.0))
    x = Value(at)
    assert grad(my_relu(x), x).data == (1.0 if at > 0 else 0.0)
    assert grad(sign(x), x).data == (1.0 if at > 0 else -1.0 if at < 0 else 0.0)
    assert grad(grad(my_relu(x) + sign(x), x), x).data == 0.0


def test_a_rule_of_the_wrong_shape_is_a_clear_error_where_it_runs() -> None:
    one_number = define_op("product_one", lambda x, y: x * y, lambda x, y, out: y)
    a, b = Value(2.0), Value(3.0)
    pair = r"product_one's derivative returned one value, float; a rule of two inputs returns"
    with pytest.raises(TypeError, match=pair):
        product = one_number(a, b)
        product.backward()
    with pytest.raises(TypeError, match="a rule of two inputs returns the pair"):
        grad(one_number(a, b), a)
    two_numbers = define_op("square_two", lambda x: x * x, lambda x, out: (2 * x, 0.0))
    with pytest.raises(TypeError, match=r"returned 2 values; a rule of one input returns"):
        two_numbers(a).backward()


CHILD = """
import pickle, sys
import tinygrad_edu
graph = pickle.load(open(sys.argv[1], "rb"))
try:
    graph.backward()
except LookupError as error:
    print("error:", error)
square = tinygrad_edu.define_op("mysquare", lambda x: x * x, lambda x, out: 2 * x)
graph = pickle.load(open(sys.argv[1], "rb"))
graph.backward()
print("grad:", graph.inputs[0].grad)
"""


def test_a_pickled_graph_of_a_user_operation_names_it_in_a_fresh_process(tmp_path: Path) -> None:
    """The graph keeps the operation's name, not its code: a process that has not run the
    define_op cannot differentiate it, and says which operation to define."""
    square = define_op("mysquare", lambda x: x * x, lambda x, out: 2 * x)
    path = tmp_path / "graph.pickle"
    path.write_bytes(pickle.dumps(square(Value(3.0))))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    error, result = done.stdout.splitlines()
    assert error == (
        "error: the graph uses the operation 'mysquare', which is not defined in this process "
        "(a pickled graph keeps an operation's name, not its code): run its "
        "define_op('mysquare', ...) first"
    )
    assert result == "grad: 6.0"


def test_backward_and_grad_name_an_operation_missing_from_the_table() -> None:
    cube = define_op("forgotten_cube", lambda x: x**3, lambda x, out: 3 * x**2)
    x = Value(2.0)
    y = cube(x) * 2
    row = OPS.pop("forgotten_cube")  # as in a process that never ran the define_op
    try:
        message = r"operation 'forgotten_cube', which is not defined in this process"
        with pytest.raises(LookupError, match=message):
            y.backward()
        with pytest.raises(LookupError, match=r"run its define_op\('forgotten_cube', \.\.\.\)"):
            grad(y, x)
    finally:
        OPS["forgotten_cube"] = row
    assert grad(y, x).data == 24.0
