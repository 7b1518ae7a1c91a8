"""viz.animate: the backward pass one node at a time, as frames, a page and a GIF.

The frames replay backward() with the engine's own local_derivatives in the engine's own order,
so their gradients are backward()'s to the last bit; the captions print exactly the numbers the
replay multiplied. The neuron is the classic one, o = tanh(x1*w1 + x2*w2 + b).
"""

from __future__ import annotations

import html
import importlib
import json
import random
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from examples import Tree, build, need, neuron, points, trees
from hypothesis import assume, given

import viz
from tinygrad_edu import Value, local_derivatives, nn, topological_order
from tinygrad_edu.formatting import format_number
from viz.animate import (
    GIF_MAX_SIZE,
    Frame,
    backward_frames,
    caption_fonts,
    final_grads,
    local_formula,
    node_names,
    shorten,
    shown,
)
from viz.dot import grad_colors
from viz.graph import TooManyNodesError, build_graph
from viz.options import DrawOptions

animation = importlib.import_module("viz.animate")  # the module (viz.animate is the function)
Image = need("PIL.Image")  # Pillow (the gif extra) reads the GIFs back
ImageDraw = need("PIL.ImageDraw")


def mlp_loss(hidden: int = 3) -> Value:
    """A 2-hidden-1 MLP on one input, squared error to 1; backward() not run."""
    model = nn.MLP(2, [hidden, 1], rng=random.Random(0))
    out = model([Value(0.5, label="x.0"), Value(-1.5, label="x.1")])
    assert isinstance(out, Value)
    loss = (out - 1.0) ** 2
    loss.label = "loss"
    return loss


def bits(x: float) -> bytes:
    """The IEEE 754 bytes of x: equal bits, not merely equal numbers (nan included)."""
    return struct.pack("<d", x)


def by_name(root: Value) -> dict[str, Value]:
    return {name: value for value, name in node_names(root).items()}


def short(x: float) -> str:
    return format_number(x, 4, trim=True)


def page_data(text: str) -> dict[str, object]:
    """The frames' changes and captions a page carries (its JSON block)."""
    found = re.search(r'<script type="application/json" id="frames">(.*?)</script>', text, re.S)
    assert found is not None
    data = json.loads(found[1])
    assert isinstance(data, dict)
    return data


# --- the frames -------------------------------------------------------------------------------


def test_one_forward_frame_then_one_frame_per_node_in_backward_order() -> None:
    o = neuron()
    frames = backward_frames(o)
    assert len(frames) == 1 + 10  # 5 leaves, 2 products, 2 sums, tanh
    assert frames[0].node is None and frames[0].updates == ()
    assert [f.node for f in frames[1:]] == list(reversed(topological_order(o)))
    names = node_names(o)
    assert [names[f.node] for f in frames[1:] if f.node is not None] == [
        "o", "n", "b", "add1", "mul2", "w2", "x2", "mul1", "w1", "x1",
    ]  # fmt: skip


def test_unlabelled_nodes_are_named_after_their_operation_and_constants_c1_c2() -> None:
    x = Value(3.0, label="x")
    y = (x * 2 + x.exp()) / (x - 1)
    names = node_names(y)
    assert sorted(names.values()) == sorted(["x", "c1", "mul1", "exp1", "add1", "c2", "sub1",
                                             "div1"])  # fmt: skip
    assert names[y] == "div1"


def test_generated_names_never_repeat_a_label() -> None:
    a = Value(1.0, label="mul1")
    y = a * a
    assert node_names(y)[y] == "mul2"


def test_the_neuron_captions_show_each_chain_rule_step_in_numbers() -> None:
    captions = [frame.caption for frame in backward_frames(neuron())]
    assert captions[0] == (
        "Forward pass: every value computed from its inputs, up to o = 0.7071.",
        "No gradients yet: backward() starts at the output.",
    )
    assert captions[1] == (
        "o = tanh(n), the output: seed o.grad = 1.0",
        "n.grad += (1 - tanh² n) · o.grad = 0.5 · 1.0 = 0.5",
    )
    assert captions[2] == (
        "n = add1 + b: n.grad = 0.5 is complete; pass it on",
        "add1.grad += 1 · n.grad = 1.0 · 0.5 = 0.5",
        "b.grad += 1 · n.grad = 1.0 · 0.5 = 0.5",
    )
    assert captions[3] == ("b is a leaf (parameter): b.grad = 0.5 is complete; nothing to pass on",)
    assert captions[8] == (
        "mul1 = x1 * w1: mul1.grad = 0.5 is complete; pass it on",
        "x1.grad += w1 · mul1.grad = -3.0 · 0.5 = -1.5",
        "w1.grad += x1 · mul1.grad = 2.0 · 0.5 = 1.0",
    )
    assert captions[10] == ("x1 is a leaf (input): x1.grad = -1.5 is complete; nothing to pass on",)


def test_a_value_used_twice_gets_both_contributions_and_the_caption_says_so() -> None:
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    frame = backward_frames(y)[1]
    assert frame.caption == (
        "y = x * x, the output: seed y.grad = 1.0",
        "x.grad += x · y.grad = 3.0 · 1.0 = 3.0",
        "x.grad += x · y.grad = 3.0 · 1.0 = 3.0  (so far x.grad = 6.0)",
    )
    assert frame.updates == ((y, 1.0), (x, 3.0), (x, 6.0))


def test_negative_upstream_gradients_are_parenthesised() -> None:
    x = Value(2.0, label="x")
    y = -(x.exp())
    assert (
        backward_frames(y)[2].caption[1]
        == "x.grad += (exp x) · exp1.grad = 7.3891 · (-1.0) = -7.3891"
    )


@pytest.mark.parametrize(
    ("make", "index", "formula"),
    [
        (lambda a, b: a.tanh(), 0, "1 - tanh² a"),
        (lambda a, b: a * b, 0, "b"),
        (lambda a, b: a * b, 1, "a"),
        (lambda a, b: a / b, 1, "-a/b²"),  # the y of "y²" is a variable
        (lambda a, b: a**b, 1, "a^b·log|a|"),
        (lambda a, b: a.leaky_relu(b), 0, "1 if a > 0 else b"),
        (lambda a, b: a.sigmoid(), 0, "σ(a)·(1 - σ(a))"),
        (lambda a, b: a.abs(), 0, "sign a (0 at 0)"),  # the x of "sign" is not
    ],
)
def test_the_local_derivative_formula_comes_from_the_ops_table_with_the_inputs_names(
    make: object, index: int, formula: str
) -> None:
    a, b = Value(0.5, label="a"), Value(2.0, label="b")
    node = make(a, b)  # type: ignore[operator]
    assert local_formula(node, index, node_names(node)) == formula


def test_a_newline_in_a_label_stays_in_the_caption_and_the_gif_draws_it_as_two_lines(
    tmp_path: Path,
) -> None:
    x = Value(2.0, label="first\nsecond")
    y = x * 3
    y.label = "y"
    assert backward_frames(y)[1].caption[1] == "first\nsecond.grad += c1 · y.grad = 3.0 · 1.0 = 3.0"
    with Image.open(viz.animate(y, tmp_path / "lines.gif")) as gif:
        assert gif.n_frames == 1 + 3


# --- exactly backward() -----------------------------------------------------------------------


def assert_last_frame_is_backward(root: Value) -> list[Frame]:
    frames = backward_frames(root)
    root.backward()
    last = final_grads(frames)
    order = topological_order(root)
    assert set(last) == set(order)
    for value in order:
        assert bits(last[value]) == bits(value.grad), (value, last[value], value.grad)
    return frames


def test_the_last_frame_is_backward_bit_for_bit_for_the_neuron_and_an_mlp() -> None:
    assert_last_frame_is_backward(neuron())
    assert_last_frame_is_backward(mlp_loss())


@given(tree=trees, point=points)
def test_the_last_frame_is_backward_bit_for_bit_on_random_compositions(
    tree: Tree, point: list[float]
) -> None:
    """Property: for any expression (inf and nan included), replay and backward() agree."""
    try:
        root = build(tree, tuple(Value(x, label=f"x{i}") for i, x in enumerate(point)))
    except (ValueError, ZeroDivisionError):
        assume(False)
    assume(root.op)
    assert_last_frame_is_backward(root)


def test_every_step_multiplies_the_engines_local_derivative_by_the_nodes_gradient() -> None:
    loss = mlp_loss()
    frames, names = backward_frames(loss), node_names(loss)
    seen: dict[Value, float] = {}
    for frame in frames[1:]:
        assert frame.node is not None
        assert len(frame.steps) == len(frame.node.inputs)
        locals_ = local_derivatives(frame.node)
        for i, (step, source, local) in enumerate(zip(frame.steps, frame.node.inputs, locals_)):
            assert step.source is source
            assert bits(step.local) == bits(local)
            assert bits(step.upstream) == bits(frame.upstream)
            # the zero rule: a local derivative of exactly 0 contributes exactly 0 (SPEC)
            zero_rule = step.local * step.upstream if step.local else 0.0
            assert bits(step.contribution) == bits(zero_rule)
            assert step.before == seen.get(source)
            before = 0.0 if step.before is None else step.before
            assert bits(step.total) == bits(before + step.contribution)
            seen[source] = step.total
            # the caption's line for this step prints these very numbers
            line = frame.caption[1 + i]
            upstream = short(step.upstream)
            if step.upstream < 0:
                upstream = f"({upstream})"
            numbers = f"= {short(step.local)} · {upstream} = {short(step.contribution)}"
            assert line.startswith(names[source] + ".grad += ") and numbers in line


def test_the_caption_precision_follows_the_precision_option() -> None:
    frames = backward_frames(neuron(), precision=2)
    assert frames[0].caption[0].endswith("o = 0.71.")


# --- the user's graph is only read ------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".html", ".gif"])
def test_animate_leaves_every_grad_and_data_as_it_was(tmp_path: Path, suffix: str) -> None:
    o = neuron()
    o.backward()
    o.backward()  # accumulated: twice the gradient
    order = topological_order(o)
    for k, value in enumerate(order):
        if k % 3 == 0:
            value.grad = -0.1 * k  # whatever the user left there
    before = [(bits(v.data), bits(v.grad), v.label) for v in order]
    viz.animate(o, tmp_path / f"neuron{suffix}")
    assert [(bits(v.data), bits(v.grad), v.label) for v in order] == before


def test_the_frames_show_one_backward_pass_from_zero_whatever_grads_the_graph_holds() -> None:
    o = neuron()
    o.backward()
    o.backward()
    x1 = by_name(o)["x1"]
    assert x1.grad == pytest.approx(-3.0)  # accumulated twice
    assert final_grads(backward_frames(o))[x1] == pytest.approx(-1.5)


# --- the page ---------------------------------------------------------------------------------


def test_the_page_draws_the_diagram_once_and_carries_each_frame_as_its_changes(
    tmp_path: Path,
) -> None:
    page = viz.animate(neuron(), tmp_path / "neuron.html")
    assert page == tmp_path / "neuron.html"
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("<svg") == 1  # one layout, drawn once
    for control in ('id="previous"', 'id="play"', 'id="next"', 'id="slider"', "ArrowRight",
                    "ArrowLeft"):  # fmt: skip
        assert control in text
    frames = page_data(text)["frames"]
    assert isinstance(frames, list) and len(frames) == 11
    first, seed = frames[0], frames[1]
    assert first["c"] == [] and first["n"] == []
    assert seed["t"] == [
        "o = tanh(n), the output: seed o.grad = 1.0",
        "n.grad += (1 - tanh² n) · o.grad = 0.5 · 1.0 = 0.5",
    ]
    names = {node.name: node.id for node in build_graph(neuron(), DrawOptions()).values}
    o, n = names["o"], names["n"]
    # o's cell gets its seed 1, n's its 0.5, coloured against x1's -1.5, the largest in size
    assert seed["c"] == [
        [f"{o}-grad", "grad 1.0000", *grad_colors(1.0, 1.5)],
        [f"{n}-grad", "grad 0.5000", *grad_colors(0.5, 1.5)],
    ]
    assert seed["n"][:2] == [o, f"op{o[1:]}"]  # o and its operation are current
    # every cell a frame changes is in the drawing, with its fill
    for frame in frames:
        for cell, *_ in frame["c"]:
            assert f'<text id="{cell}"' in text and f'<polygon id="{cell}-bg"' in text
    reach = page_data(text)["reach"]
    # faded until the gradient reaches them: o and n in frame 1, x1 when mul1 passes it on
    assert isinstance(reach, dict) and reach[o] == reach[n] == 1 and reach[names["x1"]] == 8


def test_relu_below_zero_under_sqrt_is_animated_as_zero_not_nan(tmp_path: Path) -> None:
    """sqrt'(0) sends +inf down to relu, whose slope at -1 is 0: backward() gives x.grad == 0,
    and so do the frames, the captions and the page (the zero rule, from backward_steps)."""
    x = Value(-1.0, label="x")
    y = x.relu().sqrt()
    y.label = "y"
    frames = backward_frames(y)
    assert final_grads(frames)[x] == 0.0
    assert frames[2].caption[1] == "x.grad += (1 if x > 0 else 0) · relu1.grad = 0.0 · inf = 0.0"
    text = viz.animate(y, tmp_path / "kink.html").read_text(encoding="utf-8")
    x_id = {node.name: node.id for node in build_graph(y, DrawOptions()).values}["x"]
    shown = [c for f in page_data(text)["frames"] for c in f["c"] if c[0] == f"{x_id}-grad"]  # type: ignore[attr-defined]
    assert shown and {cell[1] for cell in shown} == {"grad 0.0000"}  # never "grad nan"
    y.backward()
    assert x.grad == 0.0


def test_the_page_needs_no_network(tmp_path: Path) -> None:
    text = viz.animate(neuron(), tmp_path / "neuron.html").read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"<script[^>]*\bsrc=", text) and "<link" not in text
    assert not re.search(r"\b(src|href)=", text) and "@import" not in text and "url(" not in text


def test_user_labels_are_escaped_in_the_page(tmp_path: Path) -> None:
    x = Value(1.0, label='<b>&"x"</script>')
    y = x * 2
    text = viz.animate(y, tmp_path / "y.html").read_text(encoding="utf-8")
    assert "<b>&" not in text and "&lt;b&gt;&amp;" in text  # in the drawing
    assert text.count("</script>") == 2  # the page's own two: the label cannot end one
    assert '<b>&\\"x\\"</script>.grad' in json.dumps(page_data(text)["frames"])


@pytest.mark.parametrize("label", ["{data}", "{last}", "{svg}", "{heading}", "<{data}>"])
def test_a_label_spelled_like_a_place_of_the_page_is_drawn_as_written(
    tmp_path: Path, label: str
) -> None:
    """The page's places ({svg}, {last}, {data}, ...) are filled in one pass: a label spelled
    like one is drawn as itself, escaped, and never replaced by the frames or their count."""
    x = Value(1.0, label=label)
    y = x * 2
    y.label = "y"
    text = viz.animate(y, tmp_path / "y.html").read_text(encoding="utf-8")
    assert f">{html.escape(label, quote=False)}</text>" in text  # the diagram's text
    assert text.count('id="frames"') == 1 and text.count('"reach"') == 1  # the data, once
    assert 'max="3"' in text  # the slider: frames 0 to 3, the count in its one place
    frames = page_data(text)["frames"]
    assert isinstance(frames, list)
    lines = [line for frame in frames for line in frame["t"]]
    assert any(line.startswith(f"{label}.grad += ") for line in lines)  # the caption as written


def test_the_page_grows_linearly_with_the_graph(tmp_path: Path) -> None:
    sizes = []
    for hidden in (8, 32):
        root = mlp_loss(hidden)
        page = viz.animate(root, tmp_path / f"mlp{hidden}.html", max_nodes=10**4)
        sizes.append((len(topological_order(root)), page.stat().st_size))
    (small, small_bytes), (large, large_bytes) = sizes
    growth = large / small
    assert 0.7 * growth < large_bytes / small_bytes < 1.3 * growth  # a page per frame: ~growth²


def test_graphviz_lays_the_graph_out_once_for_a_page_and_twice_for_a_gif(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many frames: the page's SVG, or the GIF's SVG (for where things are) and PNG."""
    calls = []
    pipe = animation.pipe

    def counted(digraph: object, fmt: str) -> bytes:
        calls.append(fmt)
        return pipe(digraph, fmt)  # type: ignore[no-any-return]

    monkeypatch.setattr(animation, "pipe", counted)
    viz.animate(mlp_loss(), tmp_path / "mlp.html")
    assert calls == ["svg"]
    calls.clear()
    viz.animate(mlp_loss(), tmp_path / "mlp.gif")
    assert calls == ["svg", "png"]


# --- the GIF ----------------------------------------------------------------------------------


def test_the_gif_has_a_frame_per_caption_all_the_same_size(tmp_path: Path) -> None:
    path = viz.animate(neuron(), tmp_path / "neuron.gif")
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 11
        assert gif.info["loop"] == 0
        sizes = set()
        for k in range(gif.n_frames):
            gif.seek(k)
            sizes.add(gif.size)
        width, height = sizes.pop()
        assert not sizes and width > 800 and height > 300
        # the caption band is drawn over the top; the accent bar marks it
        gif.seek(1)
        assert gif.convert("RGB").getpixel((2, 20)) == (0xE8, 0x59, 0x0C)


def test_the_neuron_gif_is_small() -> None:
    path = Path(__file__).parent.parent / "docs" / "neuron_backward.gif"
    assert path.stat().st_size < 1_500_000


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.png", "out.svg", "out", "out.htm"])
def test_another_suffix_is_a_clear_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"use one of \.html, \.gif"):
        viz.animate(neuron(), tmp_path / name)
    assert not (tmp_path / name).exists()


def test_too_many_nodes_is_the_same_error_as_draw(tmp_path: Path) -> None:
    o = neuron()
    with pytest.raises(TooManyNodesError) as drawn:
        viz.draw(o, max_nodes=5)
    with pytest.raises(TooManyNodesError) as animated:
        viz.animate(o, tmp_path / "o.html", max_nodes=5)
    assert str(animated.value) == str(drawn.value)
    assert "collapse=True" in str(animated.value)


def test_an_unknown_option_is_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="did you mean 'color'"):
        viz.animate(neuron(), tmp_path / "o.html", colour=False)


def test_the_drawing_options_reach_the_frames(tmp_path: Path) -> None:
    text = viz.animate(neuron(), tmp_path / "o.html", edge_grads=True, rankdir="TB").read_text()
    assert "&#45;3.0000" in text and "d out / d in" in text  # d(x1*w1)/dx1 = w1 on its edge


def test_collapsed_neurons_animate_with_the_box_current(tmp_path: Path) -> None:
    loss = mlp_loss()
    text = viz.animate(loss, tmp_path / "mlp.html", collapse=True).read_text()
    assert text.count("<svg") == 1
    frames = page_data(text)["frames"]
    assert isinstance(frames, list) and len(frames) == len(topological_order(loss)) + 1
    current = {node for frame in frames for node in frame["n"]}
    assert {"box0", "box1", "box2", "box3"} <= current  # each Neuron's box, when inside it
    changed = {cell for frame in frames for cell, *_ in frame["c"]}
    assert {"box0-p0", "box0-out", "box3-out"} <= changed  # a parameter's and an output's grad


# --- the command line -------------------------------------------------------------------------


def test_the_command_line_writes_the_animation(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "viz", "tanh(x*w + b)", "--set", "x=1", "w=2", "b=-1.5",
         "--animate", "bp.html"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "wrote bp.html"
    assert "digraph" not in done.stdout  # no DOT source on stdout when a file is asked for
    text = (tmp_path / "bp.html").read_text(encoding="utf-8")
    assert len(page_data(text)["frames"]) == 1 + 6  # type: ignore[arg-type]  # x, w, x*w, ...


def test_the_command_line_writes_a_gif_and_a_picture_together(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "viz", "x*x", "--set", "x=3", "-o", "g.svg", "--animate", "g.gif"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2:] == ["wrote g.svg", "wrote g.gif"]
    with Image.open(tmp_path / "g.gif") as gif:
        assert gif.n_frames == 1 + 2


def test_the_command_line_refuses_another_animation_suffix(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "viz", "x*x", "--set", "x=3", "--animate", "g.mp4"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert ".html" in done.stderr and ".gif" in done.stderr


# --- inline in Jupyter --------------------------------------------------------------------------


def test_without_a_path_animate_returns_a_player_that_writes_nothing(tmp_path: Path) -> None:
    player = viz.animate(neuron())
    assert isinstance(player, viz.Animation) and len(player.frames) == 11
    assert list(tmp_path.iterdir()) == []
    assert "11 frames" in repr(player)


def test_the_player_is_its_own_document_an_iframe_whose_srcdoc_is_the_page() -> None:
    player = viz.animate(neuron())
    shown = player._repr_html_()
    found = re.fullmatch(r'<iframe srcdoc="([^"]*)" sandbox="allow-scripts" (.*)></iframe>', shown)
    assert found is not None  # one element; the page lives only inside it, quoted
    page = html.unescape(found[1])
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1
    assert "<h1>" not in page and "<h1>" in player.html()  # no page title inside a notebook
    assert page_data(page) == page_data(player.html())
    height = re.search(r"height: (\d+)px", found[2])
    assert height is not None and 300 < int(height[1]) < 900


@pytest.mark.parametrize("suffix", [".html", ".gif"])
def test_save_writes_the_page_or_the_gif_by_the_suffix(tmp_path: Path, suffix: str) -> None:
    player = viz.animate(neuron())
    path = player.save(tmp_path / f"o{suffix}")
    assert path == tmp_path / f"o{suffix}"
    if suffix == ".html":
        assert path.read_text(encoding="utf-8") == player.html()
    else:
        with Image.open(path) as gif:
            assert gif.n_frames == 11
    with pytest.raises(ValueError, match=r"use one of \.html, \.gif"):
        player.save(tmp_path / "o.mp4")


# --- captions in Chinese -------------------------------------------------------------------------


def glyph(font: object, text: str) -> bytes:
    """The pixels of ``text`` drawn alone in ``font``."""
    picture = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(picture).text((4, 4), text, font=font, fill=255)  # type: ignore[arg-type]
    return picture.tobytes()


MISSING = "\U0010fffd"  # a private-use character no font draws: its missing-glyph box


def test_gif_captions_with_chinese_labels_use_a_cjk_font_whose_glyphs_are_real() -> None:
    plain_title, _ = caption_fonts(["x.grad += 1"])
    # the captions' usual font has no 蘋: it draws the missing-glyph box (why this is needed)
    assert glyph(plain_title, "蘋") == glyph(plain_title, MISSING)
    for font in caption_fonts(["蘋果.grad += 2 · y.grad = 2.0 · 1.0 = 2.0"]):
        apple, fruit, box = glyph(font, "蘋"), glyph(font, "果"), glyph(font, MISSING)
        assert len({apple, fruit, box}) == 3  # two real glyphs, each unlike the box
        assert apple.count(0) < len(apple)  # and not blank


def test_a_chinese_label_is_drawn_in_the_gif_caption(tmp_path: Path) -> None:
    """The same caption with the label's two characters swapped looks different: glyphs, not
    two identical boxes."""
    bands = []
    for label in ("蘋果", "果蘋"):
        x = Value(2.0, label=label)
        y = x * 3
        y.label = "y"
        with Image.open(viz.animate(y, tmp_path / f"{label}.gif")) as gif:
            gif.seek(1)  # "y = 蘋果 * c1, the output: ..." and "蘋果.grad += ..."
            bands.append(gif.convert("RGB").crop((0, 0, gif.width, 70)).tobytes())
    assert bands[0] != bands[1]


# --- labels that are hard to draw ---------------------------------------------------------------


def squared_tanh(label: str) -> Value:
    """tanh(x * x) with x labelled ``label``: three nodes, so four frames."""
    x = Value(0.5, label=label)
    y = (x * x).tanh()
    y.label = "y"
    return y


def gif_frames(path: Path) -> list[bytes]:
    """Every frame of a GIF as RGB pixels."""
    frames = []
    with Image.open(path) as gif:
        for k in range(gif.n_frames):
            gif.seek(k)
            frames.append(gif.convert("RGB").tobytes())
    return frames


HARD_LABELS = {
    "carriage-return": "a\rb",
    "other-line-breaks": "a\r\nb\vc\fd\x1ce\x85f\u2028g",
    "3000-characters": "L" * 3000,
    "3000-wide-characters": "蘋" * 3000,
    "3000-lines": "a\n" * 3000,
    "lone-surrogate": "x\udcff",  # os.fsdecode(b"x\xff")
}


@pytest.mark.parametrize("suffix", [".html", ".gif"])
@pytest.mark.parametrize("label", HARD_LABELS.values(), ids=HARD_LABELS.keys())
def test_any_label_animates_to_a_page_and_a_gif(tmp_path: Path, label: str, suffix: str) -> None:
    path = viz.animate(squared_tanh(label), tmp_path / f"y{suffix}")
    if suffix == ".gif":
        with Image.open(path) as gif:
            assert gif.n_frames == 4
            assert gif.width <= GIF_MAX_SIZE[0] and gif.height <= 2 * GIF_MAX_SIZE[1]
        return
    frames = page_data(path.read_text(encoding="utf-8"))["frames"]  # written as UTF-8
    assert isinstance(frames, list) and len(frames) == 4
    assert any(line.startswith(f"{shown(label)}.grad += ") for f in frames for line in f["t"])


def test_a_caption_is_shown_with_every_line_break_a_newline_and_surrogates_replaced() -> None:
    assert shown("a\rb\r\nc\vd\fe\x1cf\x85g\u2028h\u2029i") == "a\nb\nc\nd\ne\nf\ng\nh\ni"
    assert shown("x\udcff and \ud800") == "x\ufffd and \ufffd"
    assert shown("tab\tand {braces}\n") == "tab\tand {braces}\n"  # nothing else changes


def test_a_carriage_return_in_a_label_is_a_line_break_in_the_page_and_the_gif(
    tmp_path: Path,
) -> None:
    """As in the diagram (viz.dot.escape): \\r and \\r\\n break the line, as \\n does."""
    pages, gifs = [], []
    for name, label in (("cr", "a\rb"), ("crlf", "a\r\nb"), ("lf", "a\nb")):
        pages.append(viz.animate(squared_tanh(label), tmp_path / f"{name}.html").read_bytes())
        gifs.append(gif_frames(viz.animate(squared_tanh(label), tmp_path / f"{name}.gif")))
    assert pages[0] == pages[1] == pages[2] and b"a\\nb.grad += " in pages[0]
    assert gifs[0] == gifs[1] == gifs[2]


def test_a_lone_surrogate_is_written_as_the_replacement_character(tmp_path: Path) -> None:
    """What os.fsdecode makes of a byte that is not UTF-8 cannot be written as UTF-8: the page
    shows U+FFFD in its place (the diagram shows its code, \\udcff; Pillow draws U+FFFD)."""
    page = viz.animate(squared_tanh("x\udcff"), tmp_path / "y.html").read_text(encoding="utf-8")
    frames = page_data(page)["frames"]
    assert isinstance(frames, list)
    assert any(line.startswith("x\ufffd.grad += ") for f in frames for line in f["t"])
    assert ">x\\udcff</text>" in page
    player = viz.animate(squared_tanh("x\udcff"))
    assert "\udcff" not in player.html() and "\udcff" not in player._repr_html_()


def test_a_caption_line_too_wide_for_the_gif_is_cut_with_an_ellipsis() -> None:
    _, font = caption_fonts(["x"])
    assert shorten("short enough", font, 400) == "short enough"
    cut = shorten("L" * 3000, font, 400)
    assert cut.endswith("…") and cut[:-1] == "L" * (len(cut) - 1)
    assert font.getlength(cut) <= 400 < font.getlength(cut[:-1] + "L…")
