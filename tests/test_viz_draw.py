"""viz.draw and viz.render: what the diagram shows, every option, escaping, files and errors.

Most tests read the DOT source (what Graphviz is given) or the SVG that the real ``dot``
program makes from it; the neuron is the classic one, tanh(x1*w1 + x2*w2 + b).
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import examples
import pytest

import viz
from tinygrad_edu import Parameter, Value, grad, scope
from viz.dot import Styling, to_digraph
from viz.graph import build_graph, kind_of
from viz.options import DrawOptions


def neuron() -> Value:
    """The course's neuron (see examples.neuron), after backward()."""
    o = examples.neuron()
    o.backward()
    return o


def node_line(source: str, text: str) -> str:
    """The one DOT statement of the value node whose label cell reads ``text``."""
    lines = [line for line in source.splitlines() if f"<B>{text}</B>" in line]
    assert len(lines) == 1, lines
    return lines[0]


def svg_texts(svg: str) -> list[str]:
    """The text of every <text> element of an SVG, entities decoded."""
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)]


def dot_warnings(source: str, fmt: str = "svg") -> str:
    """What Graphviz's ``dot`` prints on stderr for this source (nothing, for a clean graph)."""
    done = subprocess.run(
        ["dot", f"-T{fmt}"], input=source.encode(), capture_output=True, check=True
    )
    return done.stderr.decode()


# --- what a diagram shows ----------------------------------------------------------------------


def test_the_svg_shows_every_label_forward_value_and_gradient(tmp_path: Path) -> None:
    svg = viz.render(neuron(), tmp_path / "neuron.svg").read_text(encoding="utf-8")
    texts = svg_texts(svg)
    for label in ("x1", "x2", "w1", "w2", "b", "o"):
        assert label in texts
    # x1 = 2 with dO/dx1 = w1 * (1 - o²) = -3 * 0.5; o = tanh(0.8814) = 0.7071 with grad 1
    for text in ("data 2.0000", "grad -1.5000", "data 0.7071", "grad 1.0000", "data 6.8814"):
        assert text in texts
    assert texts.count("grad 0.5000") == 6  # x2, b, and the four sums on the way to o


def test_each_operation_is_its_own_small_node_between_inputs_and_output() -> None:
    source = viz.draw(neuron()).source
    ops = re.findall(r"^\s*(op\d+) \[label=(\S+) ", source, flags=re.M)
    assert sorted(label for _, label in ops) == ["<+>", "<+>", "<tanh>", "<×>", "<×>"]
    tanh_op = next(name for name, label in ops if label == "<tanh>")
    assert re.search(rf"^\s*v\d+ -> {tanh_op} ", source, flags=re.M)  # n feeds tanh
    assert re.search(rf"^\s*{tanh_op} -> v\d+ ", source, flags=re.M)  # tanh makes o


def test_parameters_inputs_constants_and_the_root_look_different() -> None:
    x = Value(1.5, label="x")
    w = Parameter(2.0, label="w")
    y = 3 * x * w
    y.label = "y"
    y.backward()
    source = viz.draw(y).source
    assert 'BGCOLOR="#d5efcf"' in node_line(source, "x")  # input: green label cell
    parameter = node_line(source, "w")
    assert 'BGCOLOR="#fde3a7"' in parameter and 'STYLE="rounded"' in parameter  # amber, rounded
    root = node_line(source, "y")
    assert 'BORDER="3"' in root and 'BGCOLOR="#2f3e4e"' in root  # thick border, dark cell
    constant = next(line for line in source.splitlines() if "data 3.0000" in line)
    assert "<B>" not in constant and 'COLOR="#888888"' in constant  # no label cell, grey


@pytest.mark.parametrize(
    ("leaf", "kind"),
    [
        (Value(1.0), "constant"),
        (Value(1.0, label="x"), "input"),
        (Value(1.0, label="蘋果"), "input"),
        (Value(1.0, label="b"), "input"),  # a bias's usual name, but not a Parameter
        (Value(1.0, label="layers.0.neurons.1.w.0"), "input"),
        (Parameter(1.0, label="x"), "parameter"),  # an input's usual name, but a Parameter
        (Parameter(1.0, label="w"), "parameter"),
        (Parameter(1.0), "parameter"),
    ],
)
def test_a_leaf_kind_is_what_was_recorded_never_how_its_label_is_spelled(
    leaf: Value, kind: str
) -> None:
    assert kind_of(leaf) == kind


def test_an_input_labelled_b_is_drawn_as_an_input_and_a_parameter_labelled_x_as_a_parameter() -> (
    None
):
    b = Value(2.0, label="b")
    x = Parameter(-1.0, label="x")
    y = b * x
    y.label = "y"
    source = viz.draw(y).source
    assert 'BGCOLOR="#d5efcf"' in node_line(source, "b")  # input: green
    assert 'BGCOLOR="#fde3a7"' in node_line(source, "x")  # parameter: amber
    assert 'STYLE="rounded"' in node_line(source, "x")
    assert 'STYLE="rounded"' not in node_line(source, "b")


def test_a_computed_node_is_computed_whatever_its_label() -> None:
    x = Value(1.0)
    y = x * 2
    y.label = "w.0"
    assert kind_of(y) == "computed"
    assert kind_of(Parameter(1.0) * 2) == "computed"


# --- options -------------------------------------------------------------------------------


def test_precision_sets_the_digits_after_the_point() -> None:
    source = viz.draw(neuron(), precision=2).source
    assert "data 0.71" in source and "grad -1.50" in source
    assert "0.7071" not in source


def test_rankdir_sets_the_direction_of_the_flow() -> None:
    assert "rankdir=LR" in viz.draw(neuron()).source
    assert "rankdir=TB" in viz.draw(neuron(), rankdir="TB").source
    with pytest.raises(ValueError, match="rankdir must be 'LR' or 'TB'"):
        viz.draw(neuron(), rankdir="RL")


def test_edge_grads_label_each_edge_into_an_operation_with_its_local_derivative() -> None:
    o = neuron()
    graph = build_graph(o, DrawOptions())
    local = {(e.source.label, e.node.op): e.local for e in graph.edges if e.source is not None}
    # d(x1*w1)/dx1 = w1 = -3, d(x1*w1)/dw1 = x1 = 2, d tanh(n)/dn = 1 - o² = 0.5
    assert local[("x1", "*")] == -3.0
    assert local[("w1", "*")] == 2.0
    assert local[("b", "+")] == 1.0
    assert local[("n", "tanh")] == pytest.approx(0.5)
    source = viz.draw(o, edge_grads=True).source
    assert 'label=" -3.0000 "' in source and 'label=" 2.0000 "' in source
    assert "the chain-rule factor" in source  # the legend explains the numbers
    assert 'label=" ' not in viz.draw(o).source  # off by default


def test_color_fills_each_grad_by_sign_and_size_with_a_legend() -> None:
    source = viz.draw(neuron()).source
    x1 = node_line(source, "x1")  # grad -1.5, the largest |grad|: the full red
    assert '<TD BGCOLOR="#d73027"><FONT COLOR="#ffffff">grad -1.5000' in x1
    w2 = node_line(source, "w2")  # grad 0: white
    assert '<TD BGCOLOR="#ffffff"><FONT COLOR="#333333">grad 0.0000' in w2
    b = node_line(source, "b")  # grad +0.5: a lighter blue
    fill = re.search(r'<TD BGCOLOR="(#[0-9a-f]{6})"><FONT COLOR="[^"]+">grad 0.5000', b)
    assert fill is not None
    red, green, blue = (int(fill[1][i : i + 2], 16) for i in (1, 3, 5))
    assert blue > red and blue > green
    assert "deeper: larger |grad|" in source


def test_without_color_no_grad_is_filled_and_there_is_no_legend() -> None:
    source = viz.draw(neuron(), color=False).source
    assert "deeper: larger |grad|" not in source
    assert '<TD BGCOLOR="#d73027">' not in source
    assert '<TD BGCOLOR="#ffffff"><FONT COLOR="#333333">grad -1.5000</FONT></TD>' in source


def test_an_unknown_option_is_a_type_error_that_suggests_the_right_name() -> None:
    with pytest.raises(TypeError, match="unknown drawing option 'colour'; did you mean 'color'"):
        viz.draw(neuron(), colour=False)
    with pytest.raises(TypeError, match="precision must be an int"):
        viz.draw(neuron(), precision=2.5)


def test_max_nodes_refuses_a_larger_graph_with_the_count_and_what_to_do() -> None:
    y = Value(0.0, label="x")
    for _ in range(300):
        y = y + 1.0  # each step adds a constant and a sum: 601 value nodes in all
    with pytest.raises(viz.TooManyNodesError) as refused:
        viz.draw(y)
    message = str(refused.value)
    assert "601 value nodes, more than max_nodes=500" in message
    assert "collapse=True" in message and "max_nodes=601" in message
    assert "v600" in viz.draw(y, max_nodes=601).source


# --- higher-order derivatives ------------------------------------------------------------------


def test_the_graph_of_a_second_derivative_renders_like_any_other(tmp_path: Path) -> None:
    x = Value(2.0, label="x")
    y = x**3
    d2 = grad(grad(y, x), x)  # d²(x³)/dx² = 6x = 12
    d2.label = "d2y/dx2"
    d2.backward()  # d/dx (6x) = 6
    texts = svg_texts(viz.render(d2, tmp_path / "d2.svg").read_text(encoding="utf-8"))
    assert "d2y/dx2" in texts and "data 12.0000" in texts
    assert "grad 6.0000" in texts  # x's gradient: the third derivative


# --- escaping ----------------------------------------------------------------------------------

AWKWARD = "say \"hi\" <b>{x}</b> | back\\slash\nsecond line & 'quote'"


def test_labels_with_quotes_brackets_braces_bars_backslashes_and_newlines_stay_text(
    tmp_path: Path,
) -> None:
    x = Value(1.0, label=AWKWARD)
    y = x * 2
    y.label = "}{|><\\"
    source = viz.draw(y).source
    assert dot_warnings(source) == ""
    texts = svg_texts(viz.render(y, tmp_path / "awkward.svg").read_text(encoding="utf-8"))
    assert 'say "hi" <b>{x}</b> | back\\slash' in texts  # the label's first line
    assert "second line & 'quote'" in texts  # the newline is a line break
    assert "}{|><\\" in texts


@pytest.mark.parametrize("sequence", ["\\N", "\\G", "\\E", "\\L", "\\\\", "\\l", "end\\"])
def test_backslash_sequences_in_labels_are_drawn_as_written(tmp_path: Path, sequence: str) -> None:
    """Graphviz reads \\N in a label as the node's name, \\G as the graph's, \\E as nothing."""
    label = f"a{sequence}b"
    x = Value(1.0, label=label)
    with scope(label):
        y = x * 2
    y.label = label
    texts = svg_texts(viz.render(y, tmp_path / "slash.svg", cluster=True).read_text("utf-8"))
    assert texts.count(label) == 3  # the input, the output, and the cluster around the output


def test_a_newline_in_a_label_is_a_line_break_in_nodes_clusters_and_boxes(tmp_path: Path) -> None:
    x = Value(1.0, label="first\nsecond")
    with scope("outer\nscope"):
        y = x * 2
    texts = svg_texts(viz.render(y, tmp_path / "lines.svg", cluster=True).read_text("utf-8"))
    assert [t for t in texts if t in ("first", "second")] == ["first", "second"]
    assert "outer" in texts and "scope" in texts
    boxed = svg_texts(viz.render(y, tmp_path / "box.svg", collapse=True).read_text("utf-8"))
    assert "outer" in boxed and "scope" in boxed


def test_non_ascii_labels_render_in_svg_and_png_without_warnings(tmp_path: Path) -> None:
    apple = Value(2.0, label="蘋果")
    y = apple * apple
    y.label = "平方"
    y.backward()
    source = viz.draw(y).source
    assert dot_warnings(source, "svg") == "" and dot_warnings(source, "png") == ""
    texts = svg_texts(viz.render(y, tmp_path / "apple.svg").read_text(encoding="utf-8"))
    assert "蘋果" in texts and "平方" in texts and "grad 4.0000" in texts
    assert viz.render(y, tmp_path / "apple.png").read_bytes().startswith(b"\x89PNG")


def test_control_characters_are_shown_escaped_not_sent_to_graphviz() -> None:
    source = viz.draw(Value(1.0, label="tab\there\x00")).source
    assert "tab\\\\u0009here\\\\u0000" in source  # a doubled backslash: drawn as one
    assert dot_warnings(source) == ""


# --- files -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "start"),
    [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF"), (".dot", b"digraph")],
)
def test_render_picks_the_format_from_the_suffix(tmp_path: Path, suffix: str, start: bytes) -> None:
    path = viz.render(neuron(), tmp_path / f"neuron{suffix}")
    assert path == tmp_path / f"neuron{suffix}"
    assert path.read_bytes().startswith(start)


def test_dot_and_gv_files_are_the_dot_source_in_utf8(tmp_path: Path) -> None:
    o = neuron()
    o.label = "輸出"
    text = viz.render(o, tmp_path / "neuron.gv").read_text(encoding="utf-8")
    assert text == viz.draw(o).source and "輸出" in text


def test_an_unknown_suffix_is_refused_with_the_formats_listed(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"use one of \.svg, \.png, \.pdf, \.dot, \.gv"):
        viz.render(neuron(), tmp_path / "neuron.jpeg")


def test_draw_returns_a_digraph_that_jupyter_displays_inline() -> None:
    digraph = viz.draw(neuron())
    assert type(digraph).__name__ == "Digraph"
    assert hasattr(digraph, "_repr_mimebundle_") or hasattr(digraph, "_repr_svg_")


MISSING_DOT_SCRIPT = """
import sys, viz
from tinygrad_edu import Value
x = Value(1.0, label="x")
y = x * 2
print(viz.render(y, sys.argv[1] + "/y.dot"))
try:
    viz.render(y, sys.argv[1] + "/y.svg")
except viz.GraphvizNotFoundError as error:
    print(error)
"""


def test_without_the_dot_program_svg_explains_how_to_install_and_dot_still_works(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", MISSING_DOT_SCRIPT, str(tmp_path)],
        env={"PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert (tmp_path / "y.dot").read_text(encoding="utf-8").startswith("digraph")
    assert not (tmp_path / "y.svg").exists()
    message = done.stdout
    assert "Graphviz program `dot`, which was not found" in message
    assert "sudo apt-get install graphviz" in message
    assert "brew install graphviz" in message
    assert "conda install -c conda-forge graphviz" in message
    assert ".dot output works" in message


# --- hooks (the animation's first frame) -------------------------------------------------------


def test_styling_hooks_override_the_gradient_shown_and_widen_the_cells() -> None:
    o = neuron()
    graph = build_graph(o, DrawOptions())
    x1 = graph.values[0]
    assert x1.name == "x1"
    styling = Styling(grad=lambda v: 0.0, grad_width=lambda cell: 12 if cell == "v0-grad" else 0)
    source = to_digraph(graph, DrawOptions(), styling).source
    assert "grad -1.5000" not in source and "grad 0.0000" in node_line(source, "x1")
    # (5 characters of "grad " + 12) * 7.5 points + 10 of padding
    assert 'WIDTH="138"' in node_line(source, "x1") and "WIDTH" not in node_line(source, "w1")
