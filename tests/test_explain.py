"""explain(root): the backward pass as the chain rule with the numbers filled in, one line per
use of the chain rule, in backward()'s order; the same lines as the animation's captions."""

from __future__ import annotations

import math
import struct

import pytest
from examples import need, neuron

from tinygrad_edu import Explanation, Value, define_op, explain, grad, topological_order
from viz.animate import backward_frames


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_the_neuron_explained_line_by_line() -> None:
    text = str(explain(neuron()))
    assert text.splitlines()[:9] == [
        "Backward pass of o (v.grad is do/dv), one line per use of the chain rule",
        "o = tanh(n), the output: seed o.grad = 1.0",
        "  n.grad += (1 - tanh² n) · o.grad = 0.5 · 1.0 = 0.5",
        "n = add1 + b: n.grad = 0.5 is complete; pass it on",
        "  add1.grad += 1 · n.grad = 1.0 · 0.5 = 0.5",
        "  b.grad += 1 · n.grad = 1.0 · 0.5 = 0.5",
        "b is a leaf (parameter): b.grad = 0.5 is complete; nothing to pass on",
        "add1 = mul1 + mul2: add1.grad = 0.5 is complete; pass it on",
        "  mul1.grad += 1 · add1.grad = 1.0 · 0.5 = 0.5",
    ]
    assert "  x1.grad += w1 · mul1.grad = -3.0 · 0.5 = -1.5" in text.splitlines()
    assert text.splitlines()[-1] == (
        "x1 is a leaf (input): x1.grad = -1.5 is complete; nothing to pass on"
    )


def test_the_lines_are_the_animations_captions() -> None:
    """One source of the text: the captions of the animation's backward frames, in order."""
    o = neuron()
    captions = [frame.caption for frame in backward_frames(o)[1:]]
    assert explain(o).paragraphs == captions


def test_a_value_used_twice_says_how_far_its_gradient_has_come() -> None:
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    assert explain(y).lines[1:3] == [
        "  x.grad += x · y.grad = 3.0 · 1.0 = 3.0",
        "  x.grad += x · y.grad = 3.0 · 1.0 = 3.0  (so far x.grad = 6.0)",
    ]


def test_a_flat_kink_under_an_infinite_gradient_passes_on_zero_not_nan() -> None:
    x = Value(-1.0, label="x")
    y = x.relu().sqrt()
    lines = explain(y).lines
    assert "  x.grad += (1 if x > 0 else 0) · relu1.grad = 0.0 · inf = 0.0" in lines
    assert lines[-1] == "x is a leaf (input): x.grad = 0.0 is complete; nothing to pass on"


def test_it_explains_one_pass_from_zero_and_leaves_every_grad_as_it_was() -> None:
    o = neuron()
    order = topological_order(o)
    unrun = str(explain(o))  # backward() not run: what it would do
    assert all(node.grad == 0.0 for node in order)
    o.backward()
    o.backward()  # accumulated twice
    order[0].grad = math.nan  # whatever the user left there
    before = [bits(node.grad) for node in order]
    assert str(explain(o)) == unrun
    assert [bits(node.grad) for node in order] == before


def test_your_own_operation_shows_its_formula_with_the_inputs_name() -> None:
    cube = define_op(
        "explained_cube", lambda x: x**3, lambda x, out: 3 * x**2, formula="d/dx = 3x²"
    )
    a = Value(2.0, label="a")
    assert explain(cube(a)).lines[1] == "  a.grad += 3a² · explained_cube1.grad = 12.0 · 1.0 = 12.0"
    bare = define_op("explained_bare", lambda x: 2 * x, lambda x, out: 2.0)
    assert "d explained_bare1/d a" in explain(bare(a)).lines[1]


def test_a_graph_that_grad_built_is_explained_like_any_other() -> None:
    x = Value(2.0, label="x")
    dy = grad(x * x * x, x)  # 3x², as a graph
    explanation = explain(dy)
    assert len(explanation.lines) == sum(1 + len(n.inputs) for n in topological_order(dy))
    assert explanation.lines[-2:] == [
        "x is a leaf (input): x.grad = 12.0 is complete; nothing to pass on",
        "c1 is a leaf (constant): c1.grad = 12.0 is complete; nothing to pass on",
    ]


def test_precision_sets_the_digits_after_the_point() -> None:
    assert (
        explain(neuron(), precision=2).lines[1]
        == "  n.grad += (1 - tanh² n) · o.grad = 0.5 · 1.0 = 0.5"
    )
    x = Value(1.0 / 3.0, label="x")
    assert explain(x * 1.0, precision=2).lines[1] == "  x.grad += c1 · mul1.grad = 1.0 · 1.0 = 1.0"
    assert "0.333" in explain(x * x, precision=3).lines[1]


def test_a_big_graph_is_refused_with_how_many_lines_it_needs() -> None:
    x = Value(1.0)
    y = x
    for _ in range(100):
        y = y * 1.01
    with pytest.raises(ValueError, match=r"takes 401 lines \(201 nodes\), more than max_lines=200"):
        explain(y)
    assert len(explain(y, max_lines=401).lines) == 401


def test_bad_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="root is the Value to explain, not list"):
        explain([Value(1.0)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_lines"):
        explain(Value(1.0), max_lines=0)
    with pytest.raises(ValueError, match="precision"):
        explain(Value(1.0), precision=-1)


def test_a_notebook_shows_markdown_with_the_chain_rule_in_latex() -> None:
    formatters = need("IPython.core.formatters")
    shown, _ = formatters.DisplayFormatter().format(explain(neuron()))
    markdown = shown["text/markdown"]
    assert r"\frac{\partial o}{\partial x} \mathrel{+}=" in markdown
    assert "```text\no = tanh(n), the output: seed o.grad = 1.0\n" in markdown
    assert markdown.rstrip().endswith("```")
    assert shown["text/plain"] == "<Explanation of o's backward pass: 19 lines>"


def test_a_label_with_backticks_cannot_end_the_markdown_block() -> None:
    x = Value(2.0, label="```x")
    markdown = explain(x * 3.0)._repr_markdown_()
    assert "````text\n" in markdown and markdown.rstrip().endswith("````")


def test_an_explanation_is_an_explanation() -> None:
    explanation = explain(Value(5.0, label="k"))
    assert isinstance(explanation, Explanation)
    assert explanation.lines == ["k is the output: k.grad = 1.0 is complete; nothing to pass on"]
