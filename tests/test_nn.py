"""tinygrad_edu.nn: micrograd's neurons, layers and MLPs, PyTorch's Linear, Sequential, activation
modules, Dropout and BatchNorm1d, their parameter names and scopes, and saving them as JSON."""

from __future__ import annotations

import copy
import gc
import itertools
import json
import math
import os
import pickle
import random
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from examples import need, record_syncs
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu
from tinygrad_edu import Value, check_grad, nn, optim
from tinygrad_edu.data import make_moons
from tinygrad_edu.nn import ACTIVATIONS, INITS, MLP, Layer, Module, Neuron, Parameter

# --- micrograd's demo, run unchanged on both libraries --------------------------------------------

DEMO_STEPS = 100
MICROGRAD_STEPS = 8  # micrograd is several times slower per step: compare the first steps


def demo_data() -> tuple[list[list[float]], list[int]]:
    """micrograd's demo trains on sklearn's make_moons(100, noise=0.1); ours stands in for it."""
    X, y = make_moons(100, noise=0.1, seed=1337)
    return X.tolist(), (2 * y - 1).tolist()  # labels -1, +1 for the max-margin loss


def demo_loss(model: Any, X: list[list[float]], y: list[int]) -> tuple[Any, float]:
    """The loss cell of micrograd's demo.ipynb (the inputs as plain floats)."""
    scores = list(map(model, X))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    reg_loss = alpha * sum(p * p for p in model.parameters())
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
    return total_loss, sum(accuracy) / len(accuracy)


def run_demo(mlp: Callable[[int, list[int]], Any], steps: int) -> list[tuple[float, float]]:
    """micrograd's training loop: (loss, accuracy) before each of ``steps`` SGD steps."""
    X, y = demo_data()
    random.seed(1337)
    model = mlp(2, [16, 16, 1])
    history = []
    gc.disable()  # see below
    try:
        for k in range(steps):
            history.append(demo_step(model, X, y, k))
            # micrograd's closures make every graph a reference cycle: one collection per step
            # is far faster than letting the collector trip over the growing heap.
            gc.collect()
    finally:
        gc.enable()
    return history


def demo_step(model: Any, X: list[list[float]], y: list[int], k: int) -> tuple[float, float]:
    """One step of micrograd's training loop; returns (loss, accuracy) before the update."""
    total_loss, accuracy = demo_loss(model, X, y)
    model.zero_grad()
    total_loss.backward()
    learning_rate = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    return total_loss.data, accuracy


@pytest.fixture(scope="module")
def our_demo() -> list[tuple[float, float]]:
    """The demo's 100 steps, once for the file (about 15 s): each test that reads it is slow."""
    return run_demo(MLP, DEMO_STEPS)


@pytest.mark.slow
def test_micrograd_demo_gives_the_same_losses_step_by_step(
    our_demo: list[tuple[float, float]],
) -> None:
    theirs = run_demo(need("micrograd.nn").MLP, MICROGRAD_STEPS)
    ours = our_demo[:MICROGRAD_STEPS]
    assert ours[0][0] == theirs[0][0]  # the first forward pass is bit for bit the same
    assert ours[0][0] == pytest.approx(0.8895876111099145, rel=1e-15)
    # Later steps may differ in the last bits: the two backward passes add a node's gradient
    # contributions in different orders (micrograd's inputs are a set).
    for (our_loss, our_acc), (their_loss, their_acc) in zip(ours, theirs):
        assert our_loss == pytest.approx(their_loss, rel=1e-12)
        assert our_acc == their_acc


@pytest.mark.slow
def test_micrograd_demo_reaches_full_training_accuracy(
    our_demo: list[tuple[float, float]],
) -> None:
    losses = [loss for loss, _ in our_demo]
    assert our_demo[0][1] == 0.5
    assert our_demo[-1][1] == 1.0
    assert losses[-1] < 0.02 < 0.8 < losses[0]


def test_same_seed_builds_the_same_weights_as_micrograd() -> None:
    random.seed(1337)
    theirs = [p.data for p in need("micrograd.nn").MLP(3, [4, 2]).parameters()]
    random.seed(1337)
    ours = [p.data for p in MLP(3, [4, 2]).parameters()]
    assert ours == theirs


def test_mlp_has_micrograd_parameter_count_and_order() -> None:
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1 == 337
    neuron = model.layers[1].neurons[2]
    assert model.parameters()[48 + 2 * 17 : 48 + 3 * 17] == [*neuron.w, neuron.b]


# --- what a neuron computes -----------------------------------------------------------------------


def fixed_neuron(activation: str, nonlin: bool = True) -> Neuron:
    """w = (0.5, -1), b = 0.25, so at x = (2, 1.5) the weighted sum is 0.25 + 1 - 1.5 = -0.25."""
    neuron = Neuron(2, nonlin=nonlin, activation=activation)
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 0.5, -1.0, 0.25
    return neuron


@pytest.mark.parametrize(
    ("activation", "expected"),
    [
        ("relu", 0.0),
        ("tanh", math.tanh(-0.25)),
        ("sigmoid", 1 / (1 + math.exp(0.25))),
        ("leaky_relu", -0.0025),
        ("linear", -0.25),
    ],
)
def test_neuron_applies_its_activation_to_the_weighted_sum(
    activation: str, expected: float
) -> None:
    assert fixed_neuron(activation)([2.0, 1.5]).data == pytest.approx(expected, rel=1e-15)


def test_the_activation_table_lists_the_five_activations() -> None:
    assert list(ACTIVATIONS) == ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]
    assert list(INITS) == ["uniform", "xavier", "he", "pytorch"]


def test_nonlin_false_makes_a_neuron_linear_whatever_the_activation() -> None:
    neuron = fixed_neuron("tanh", nonlin=False)
    assert neuron.activation == "linear"
    assert neuron([2.0, 1.5]).data == -0.25


def test_neuron_gradients_are_the_inputs_and_the_activation_slope() -> None:
    neuron = fixed_neuron("tanh")
    neuron([2.0, 1.5]).backward()
    slope = 1 - math.tanh(-0.25) ** 2  # tanh' at the weighted sum
    assert [w.grad for w in neuron.w] == pytest.approx([2.0 * slope, 1.5 * slope], rel=1e-15)
    assert neuron.b.grad == pytest.approx(slope, rel=1e-15)


@given(
    weights=st.lists(st.floats(-10, 10), min_size=1, max_size=6),
    xs=st.lists(st.floats(-10, 10), min_size=6, max_size=6),
)
def test_weighted_sum_is_bit_for_bit_micrograds_order(
    weights: list[float], xs: list[float]
) -> None:
    """Property: the sum is b + w0*x0 + w1*x1 + ... in that order, as micrograd adds it."""
    neuron = Neuron(len(weights), activation="linear")
    for w, value in zip(neuron.w, weights):
        w.data = value
    neuron.b.data = 0.125
    x = xs[: len(weights)]
    expected = sum((w * xi for w, xi in zip(weights, x)), 0.125)
    assert neuron(x).data == expected


def test_layer_returns_a_list_or_one_value_for_one_neuron() -> None:
    assert len(Layer(3, 4)([1.0, 2.0, 3.0])) == 4  # type: ignore[arg-type]
    assert isinstance(Layer(3, 1)([1.0, 2.0, 3.0]), Value)


def test_mlp_hidden_layers_use_the_activation_and_the_last_is_linear() -> None:
    model = MLP(2, [3, 3, 2], activation="tanh")
    assert [n.activation for layer in model.layers for n in layer.neurons] == ["tanh"] * 6 + [
        "linear"
    ] * 2
    out = model([0.5, -0.5])
    assert isinstance(out, list) and len(out) == 2


def test_mlp_accepts_values_numbers_and_a_one_neuron_hidden_layer() -> None:
    random.seed(0)
    model = MLP(2, [1, 1])
    from_numbers = model([0.5, -2.0])
    from_values = model([Value(0.5), Value(-2.0)])
    assert isinstance(from_numbers, Value) and isinstance(from_values, Value)
    assert from_numbers.data == from_values.data


def test_wrong_number_of_inputs_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        Neuron(2)([1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Neuron(2, activation="swish"), "unknown activation 'swish'; choose one of relu"),
        (lambda: Neuron(2, init="zeros"), "unknown init 'zeros'; choose one of uniform"),
        (lambda: Neuron(0), "at least one input"),
        (lambda: Layer(2, 0), "at least one neuron"),
        (lambda: MLP(2, []), "at least one layer"),
    ],
)
def test_nonsense_construction_is_a_clear_error(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


# --- initialisation -------------------------------------------------------------------------------


def test_default_init_is_uniform_in_minus_one_one_and_zero_bias() -> None:
    neuron = Neuron(2000, rng=random.Random(0))
    weights = [w.data for w in neuron.w]
    assert -1 <= min(weights) < -0.99 and 0.99 < max(weights) <= 1
    assert neuron.b.data == 0.0


@pytest.mark.parametrize(("init", "variance"), [("xavier", 1 / 2000), ("he", 2 / 2000)])
def test_xavier_and_he_draw_with_variance_one_or_two_over_fan_in(
    init: str, variance: float
) -> None:
    weights = [w.data for w in Neuron(2000, init=init, rng=random.Random(0)).w]
    mean = sum(weights) / len(weights)
    sample_variance = sum((w - mean) ** 2 for w in weights) / (len(weights) - 1)
    assert abs(mean) < 4 * math.sqrt(variance / 2000)
    assert sample_variance == pytest.approx(variance, rel=0.1)


def test_an_own_random_generator_makes_models_reproducible_and_spares_the_global_one() -> None:
    random.seed(7)
    expected_next = random.random()
    random.seed(7)
    first = MLP(3, [4, 1], init="he", rng=random.Random(42)).state_dict()
    second = MLP(3, [4, 1], init="he", rng=random.Random(42)).state_dict()
    assert first == second
    assert random.random() == expected_next


# --- names and labels -----------------------------------------------------------------------------


def test_mlp_parameters_are_named_by_dotted_path_and_labelled_so() -> None:
    model = MLP(2, [3, 1])
    named = model.named_parameters()
    assert [name for name, _ in named[:4]] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
        "layers.0.neurons.1.w.0",
    ]
    assert named[-1][0] == "layers.1.neurons.0.b"
    assert model.layers[1].neurons[0].w[2].label == "layers.1.neurons.0.w.2"
    assert all(p.label == name for name, p in named)
    assert [p for _, p in named] == model.parameters()


def test_standalone_layer_and_neuron_are_named_from_themselves() -> None:
    assert [name for name, _ in Layer(1, 2).named_parameters()] == [
        "neurons.0.w.0",
        "neurons.0.b",
        "neurons.1.w.0",
        "neurons.1.b",
    ]
    neuron = Neuron(2)
    assert [p.label for p in neuron.parameters()] == ["w.0", "w.1", "b"]


def test_every_module_call_records_its_scope_and_parameters_are_parameters() -> None:
    model = MLP(2, [3, 1])
    assert all(isinstance(p, Parameter) for p in model.parameters())
    score = model([1.0, 2.0])
    assert isinstance(score, Value) and score.label == ""  # labels are the user's
    assert score.scope == "MLP/layers.1/neurons.0"
    hidden = score.inputs[1].inputs[1]  # score = (b + w0*h0 + w1*h1) + w2*h2: h2, a relu
    assert hidden.op == "relu" and hidden.scope == "MLP/layers.0/neurons.2"
    assert Neuron(2)([1.0, 2.0]).scope == "Neuron"


@given(
    nin=st.integers(1, 4),
    nouts=st.lists(st.integers(1, 4), min_size=1, max_size=3),
)
def test_parameter_names_are_unique_and_match_labels(nin: int, nouts: list[int]) -> None:
    """Property: for any architecture, names are unique, equal the labels, and there are as many
    as the layer sizes imply."""
    named = MLP(nin, nouts).named_parameters()
    sizes = [nin, *nouts]
    assert len(named) == sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    assert len({name for name, _ in named}) == len(named)
    assert all(p.label == name for name, p in named)


def test_zero_grad_clears_every_gradient() -> None:
    model = MLP(2, [3, 1])
    score = model([1.0, -1.0])
    assert isinstance(score, Value)
    score.backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_a_micrograd_style_subclass_that_only_overrides_parameters_works() -> None:
    class Pair(Module):
        def __init__(self) -> None:
            self.a, self.b = Value(1.0), Value(2.0)

        def parameters(self) -> list[Value]:
            return [self.a, self.b]

    pair = Pair()
    pair.a.grad = 3.0
    pair.zero_grad()
    assert pair.a.grad == 0.0


# --- state dicts and files ------------------------------------------------------------------------


def snapshot(model: Module) -> list[tuple[str, float]]:
    return [(name, p.data) for name, p in model.named_parameters()]


def test_state_dict_holds_every_parameter_by_name() -> None:
    neuron = fixed_neuron("relu")
    assert neuron.state_dict() == {"w.0": 0.5, "w.1": -1.0, "b": 0.25}


def test_load_state_dict_copies_values_into_the_same_parameters() -> None:
    neuron = fixed_neuron("relu")
    w0 = neuron.w[0]
    neuron.load_state_dict({"w.0": 1, "w.1": 2.5, "b": -3.0})
    assert neuron.w[0] is w0  # optimisers holding the parameters keep working
    assert neuron.state_dict() == {"w.0": 1.0, "w.1": 2.5, "b": -3.0}


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"w.0": 1.0, "w.1": 2.0}, r"missing 1 parameter\(s\): b"),
        ({"w.0": 1.0, "w.1": 2.0, "b": 0.0, "w.2": 5.0}, r"1 unexpected name\(s\): w.2"),
        ({"w.0": "1.0", "w.1": 2.0, "b": 0.0}, "not finite real numbers: w.0 = '1.0'"),
        ({"w.0": None, "w.1": 2.0, "b": 0.0}, "w.0 = None"),
        ({"w.0": True, "w.1": 2.0, "b": 0.0}, "w.0 = True"),
        ({"w.0": math.nan, "w.1": 2.0, "b": 0.0}, "w.0 = nan"),
        ({"w.0": 1.0, "w.1": [2.0], "b": math.inf}, r"w.1 = \[2.0\], b = inf"),
    ],
)
def test_a_state_dict_that_does_not_fit_is_rejected_and_the_model_untouched(
    state: dict[str, object], message: str
) -> None:
    neuron = fixed_neuron("relu")
    before = snapshot(neuron)
    with pytest.raises(ValueError, match=message):
        neuron.load_state_dict(state)
    assert snapshot(neuron) == before


def test_load_state_dict_needs_a_mapping() -> None:
    with pytest.raises(TypeError, match="mapping of names to numbers, not list"):
        Neuron(2).load_state_dict([1.0, 2.0, 3.0])  # type: ignore[arg-type]


def test_save_then_load_restores_the_exact_parameters(tmp_path: Path) -> None:
    trained = MLP(2, [4, 1], rng=random.Random(1))
    path = tmp_path / "model.json"
    trained.save(path)
    fresh = MLP(2, [4, 1], rng=random.Random(2))
    fresh.load(str(path))
    assert snapshot(fresh) == snapshot(trained)  # floats survive JSON bit for bit
    document = json.loads(path.read_text())
    assert document["format"] == "tinygrad-edu/state_dict"
    assert document["parameters"]["layers.1.neurons.0.b"] == 0.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format": "tinygrad-edu/state_dict", "version": 1, "paramet', "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2, 3]", "not a tinygrad-edu model file"),
        ('{"w.0": 1.0, "w.1": 2.0, "b": 0.0}', "not a tinygrad-edu model file"),
        ('{"format": "tinygrad-edu/state_dict", "parameters": [1]}', 'no "parameters" object'),
        (
            '{"format": "tinygrad-edu/state_dict", "parameters": {"w.0": 1, "b": 2}}',
            r"missing 1 parameter\(s\): w.1",
        ),
    ],
)
def test_loading_a_bad_file_is_a_clear_error_and_leaves_the_model_untouched(
    tmp_path: Path, text: str, message: str
) -> None:
    assert_load_refused(tmp_path, text, message)


def assert_load_refused(tmp_path: Path, text: str, message: str) -> None:
    """Loading a file holding ``text`` is a ValueError matching ``message``, model untouched."""
    path = tmp_path / "model.json"
    path.write_text(text)
    neuron = fixed_neuron("relu")
    before = snapshot(neuron)
    with pytest.raises(ValueError, match=message):
        neuron.load(path)
    assert snapshot(neuron) == before


def test_loading_a_file_of_another_architecture_names_the_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "wide.json"
    MLP(2, [5, 1]).save(path)
    narrow = MLP(2, [4, 1])
    before = snapshot(narrow)
    with pytest.raises(ValueError, match=r"unexpected name\(s\): layers.0.neurons.4.w.0"):
        narrow.load(path)
    assert snapshot(narrow) == before


def test_loading_binary_garbage_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not valid JSON"):
        Neuron(2).load(path)


def test_a_diverged_model_is_not_saved_and_the_old_file_survives(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    neuron = fixed_neuron("relu")
    neuron.save(path)
    saved = path.read_text()
    neuron.b.data = math.nan
    with pytest.raises(ValueError, match="non-finite parameters: b"):
        neuron.save(path)
    assert path.read_text() == saved
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_repr_names_the_architecture() -> None:
    assert repr(MLP(2, [3, 1])) == (
        "MLP(Layer(2, 3, activation='relu'), Layer(3, 1, activation='linear'))"
    )
    assert repr(Neuron(4, activation="tanh")) == "Neuron(4, activation='tanh')"


# --- modules take one sample or a batch -----------------------------------------------------------


def test_a_batch_through_micrograds_modules_is_each_sample_in_turn() -> None:
    model = MLP(2, [3, 2], rng=random.Random(0))
    X = np.array([[0.5, -1.0], [2.0, 0.25], [0.0, 1.0]])
    batch = model(X)
    assert len(batch) == 3
    for out, x in zip(batch, X.tolist()):
        assert [v.data for v in out] == [v.data for v in model(x)]
    assert [v.data for v in Neuron(2, rng=random.Random(1))(X)] == [
        Neuron(2, rng=random.Random(1))(x).data for x in X.tolist()
    ]
    assert isinstance(MLP(2, [1])(X)[0], Value)  # one output per sample: a Value, as micrograd


def test_mlp_nouts_must_be_a_list_of_sizes() -> None:
    with pytest.raises(
        TypeError, match=r"nouts is the list of layer sizes, e.g. MLP\(2, \[16, 1\]\)"
    ):
        MLP(2, 16)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        ([1.0, 2.0, 3.0], ValueError, r"Linear\(2, 3\) takes 2 inputs, got 3"),
        (np.ones((4, 3)), ValueError, "takes 2 inputs per sample, got a batch of 4 samples of 3"),
        (np.ones((2, 5)), ValueError, r"of 5 \(transposed\? one sample per row\)"),
        (np.ones((2, 2, 2)), ValueError, r"one sample \(1-D\) or a batch \(2-D.*shape \(2, 2, 2\)"),
        ([[1.0, 2.0], [3.0]], ValueError, r"ragged batch: its samples have \[1, 2\] inputs"),
        ([1.0, [2.0]], TypeError, "entry 1 of the sample is a list .a batch is 2-D"),
        ([[1.0, 2.0], 3.0], TypeError, "sample 1 is the float 3.0, not a list of numbers"),
        (["a", 2.0], TypeError, "entry 0 of the sample is a str"),
        (Value(1.0), TypeError, r"takes one sample .* or a batch .*, not a Value"),
        ([], ValueError, "empty list"),
    ],
)
def test_input_of_the_wrong_shape_is_a_clear_error(x: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        nn.Linear(2, 3)(x)


# --- Linear ---------------------------------------------------------------------------------------


def fixed_linear(bias: bool = True) -> nn.Linear:
    """W = [[1, 2], [-0.5, 0.25], [0, 3]], b = [0.5, -1, 2]."""
    layer = nn.Linear(2, 3, bias=bias)
    for row, values in zip(layer.weight, [[1.0, 2.0], [-0.5, 0.25], [0.0, 3.0]]):
        for w, value in zip(row, values):
            w.data = value
    if layer.bias is not None:
        for b, value in zip(layer.bias, [0.5, -1.0, 2.0]):
            b.data = value
    return layer


def test_linear_computes_w_x_plus_b_for_a_sample_and_a_batch() -> None:
    layer = fixed_linear()
    # at x = (2, -1): W·x = (0, -1.25, -3), + b = (0.5, -2.25, -1)
    assert [v.data for v in layer([2.0, -1.0])] == [0.5, -2.25, -1.0]
    batch = layer(np.array([[2.0, -1.0], [0.0, 1.0]]))
    assert [[v.data for v in row] for row in batch] == [[0.5, -2.25, -1.0], [2.5, -0.75, 5.0]]
    assert [v.data for v in fixed_linear(bias=False)([2.0, -1.0])] == [0.0, -1.25, -3.0]
    assert len(nn.Linear(3, 1)([1.0, 2.0, 3.0])) == 1  # always a list, as PyTorch's shapes


def test_linear_gradients_are_the_inputs() -> None:
    layer = fixed_linear()
    out = layer([2.0, -1.0])
    (out[0] + 3 * out[2]).backward()
    assert [[w.grad for w in row] for row in layer.weight] == [[2.0, -1.0], [0.0, 0.0], [6.0, -3.0]]
    assert [b.grad for b in layer.bias or []] == [1.0, 0.0, 3.0]


def test_linear_parameters_are_named_weight_o_i_and_bias_o() -> None:
    layer = nn.Linear(2, 3)
    names = [name for name, _ in layer.named_parameters()]
    assert names[:3] == ["weight.0.0", "weight.0.1", "weight.1.0"]
    assert names[6:] == ["bias.0", "bias.1", "bias.2"]
    assert [p.label for p in layer.parameters()] == names
    assert [name for name, _ in nn.Linear(2, 1, bias=False).named_parameters()] == [
        "weight.0.0",
        "weight.0.1",
    ]
    assert repr(nn.Linear(2, 1, bias=False)) == "Linear(2, 1, bias=False)"


def test_linear_default_init_is_pytorchs_uniform_within_one_over_root_nin() -> None:
    layer = nn.Linear(4, 3, rng=random.Random(5))
    replay = random.Random(5)  # every weight row by row, then every bias, from U(-1/2, 1/2)
    expected = [replay.uniform(-0.5, 0.5) for _ in range(4 * 3 + 3)]
    assert [p.data for p in layer.parameters()] == expected
    wide = [p.data for p in nn.Linear(400, 10, rng=random.Random(0)).parameters()]
    assert -0.05 <= min(wide) < -0.0499 and 0.0499 < max(wide) <= 0.05
    he = nn.Linear(400, 10, init="he", rng=random.Random(0))
    assert [b.data for b in he.bias or []] == [0.0] * 10  # other inits start the biases at 0


# --- Sequential and the activation modules --------------------------------------------------------


def test_sequential_chains_modules_and_names_them_by_position() -> None:
    first, second = fixed_linear(), nn.Linear(3, 2)
    model = nn.Sequential(first, nn.ReLU(), second)
    names = [name for name, _ in model.named_parameters()]
    assert names[0] == "0.weight.0.0" and names[-1] == "2.bias.1"
    assert "2.weight.1.2" in names and first.weight[2][1].label == "0.weight.2.1"
    hidden = [max(v, 0.0) for v in [0.5, -2.25, -1.0]]
    expected = [
        sum(w.data * h for w, h in zip(row, hidden)) + b.data
        for row, b in zip(second.weight, second.bias or [])
    ]
    assert [v.data for v in model([2.0, -1.0])] == expected
    assert (model[0], len(model), list(model)[1].scope_name) == (first, 3, "1")


def test_a_layers_outputs_are_always_a_list_recorded_in_each_neurons_scope() -> None:
    layer = Layer(2, 1)
    (out,) = layer.outputs([1.0, 2.0])  # a list even for one neuron, unlike calling the layer
    assert out.scope == "Layer/neurons.0" and out.scope.parent == "Layer"
    assert out.data == layer([1.0, 2.0]).data
    batch = layer.outputs([[1.0, 2.0], [3.0, 4.0]])
    assert [len(row) for row in batch] == [1, 1] and batch[0][0].data == out.data


def test_every_module_records_its_scope() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    [score] = model([1.0, 2.0])
    assert score.scope == "Sequential/2"
    assert score.inputs[1].inputs[1].op == "tanh"
    assert score.inputs[1].inputs[1].scope == "Sequential/1"
    assert score.inputs[1].inputs[1].inputs[0].scope == "Sequential/0"
    assert nn.ReLU()([1.0])[0].scope == "ReLU"
    assert nn.Linear(1, 1)([1.0])[0].scope == "Linear"


def test_parameters_and_buffers_are_listed_parents_first_and_shared_ones_once() -> None:
    class Tied(Module):
        def __init__(self) -> None:
            self.scale = Parameter(2.0)
            self.encoder = nn.Sequential(nn.Linear(1, 1), nn.BatchNorm1d(1))
            self.decoder = nn.Linear(1, 1)
            self.decoder.weight[0][0] = self.encoder[0].weight[0][0]  # tied weights

        def forward(self, x: Any) -> Any:
            return self.decoder(self.encoder(x))

    model = Tied()
    assert [name for name, _ in model.named_parameters()] == [
        "scale",
        "encoder.0.weight.0.0",
        "encoder.0.bias.0",
        "encoder.1.weight.0",
        "encoder.1.bias.0",
        "decoder.bias.0",  # decoder.weight.0.0 is encoder.0.weight.0.0, listed under that name
    ]
    assert model.parameters() == [p for _, p in model.named_parameters()]
    buffers = [name for name in model.state_dict() if "running" in name]
    assert buffers == ["encoder.1.running_mean.0", "encoder.1.running_var.0"]


def test_a_users_subclass_finds_its_children_and_parameters_and_opens_its_scope() -> None:
    class Net(Module):
        def __init__(self) -> None:
            self.fc1 = nn.Linear(2, 3)
            self.blocks = [nn.Linear(3, 3), nn.Tanh()]
            self.scale = Parameter(2.0)

        def forward(self, x: Any) -> Any:
            h = self.fc1(x)
            for block in self.blocks:
                h = block(h)
            return [v * self.scale for v in h]

    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names[:2] == ["scale", "fc1.weight.0.0"] and names[-1] == "blocks.0.bias.2"
    assert len(names) == 1 + (2 * 3 + 3) + (3 * 3 + 3)
    out = net([1.0, -1.0])
    assert out[0].scope == "Net"
    tanh = out[0].inputs[0]
    assert (tanh.op, tanh.scope) == ("tanh", "Net/blocks.1")
    assert tanh.inputs[0].scope == "Net/blocks.0"
    wrapped = nn.Sequential(net)
    assert net.fc1.weight[0][0].label == "0.fc1.weight.0.0"
    assert wrapped([1.0, -1.0])[0].inputs[0].inputs[0].scope == "Sequential/0/blocks.0"


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (nn.ReLU(), [0.0, 0.0, 2.0]),
        (nn.Sigmoid(), [1 / (1 + math.exp(1.5)), 0.5, 1 / (1 + math.exp(-2.0))]),
        (nn.Tanh(), [math.tanh(-1.5), 0.0, math.tanh(2.0)]),
        (nn.LeakyReLU(0.1), [-0.15000000000000002, 0.0, 2.0]),
    ],
)
def test_activation_modules_act_entry_by_entry(module: Module, expected: list[float]) -> None:
    assert [v.data for v in module([-1.5, 0.0, 2.0])] == pytest.approx(expected, rel=1e-15)
    batch = module([[-1.5, 0.0, 2.0], [-1.5, 0.0, 2.0]])
    assert [v.data for row in batch for v in row] == pytest.approx(expected * 2, rel=1e-15)


def test_sequential_misuse_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match=r"Sequential\(a, b, c\) or Sequential\(\*modules\)"):
        nn.Sequential([nn.ReLU()])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"entry 1 is a function, not a Module .*nn\.ReLU"):
        nn.Sequential(nn.ReLU(), lambda x: x)  # type: ignore[arg-type]


# --- train() and eval() ---------------------------------------------------------------------------


def test_train_and_eval_switch_every_module_inside() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(2)))
    assert model.training and model[1].training
    assert model.eval() is model
    assert [m.training for m in (model, model[1], model[2], model[2][0])] == [False] * 4
    model.train()
    assert model[2][0].training
    model.train(False)
    assert not model[2][0].training


# --- Dropout --------------------------------------------------------------------------------------


def test_dropout_zeroes_entries_drawn_below_p_and_scales_the_rest() -> None:
    x = [Value(v) for v in [1.0, -2.0, 3.0, 4.0, -5.0, 6.0]]
    out = nn.Dropout(0.25, rng=random.Random(3))(x)
    replay = random.Random(3)
    dropped = [replay.random() < 0.25 for _ in x]
    assert 0 < sum(dropped) < len(x)  # this seed drops some and keeps some
    assert [v.data for v in out] == [0.0 if d else v.data * (1 / 0.75) for v, d in zip(x, dropped)]
    sum(out[1:], out[0]).backward()
    assert [v.grad for v in x] == [0.0 if d else 1 / 0.75 for d in dropped]


def test_dropout_is_the_identity_in_eval_and_at_p_zero() -> None:
    x = [Value(1.0), Value(-2.0)]
    assert nn.Dropout(0.5).eval()(x) == x
    assert nn.Dropout(0.0)(x) == x
    assert [v.data for v in nn.Dropout(1.0)(x)] == [0.0, 0.0]


def test_dropout_gradient_agrees_with_central_differences_for_a_fixed_mask() -> None:
    drop = nn.Dropout(0.5, rng=random.Random(0))
    xs = [Value(v, f"x{i}") for i, v in enumerate([0.5, -1.0, 2.0, 1.5])]

    def loss() -> Value:
        drop.rng.seed(0)  # the same mask at every call
        out = drop(xs)
        return sum((v * v for v in out[1:]), out[0] * out[0])

    result = check_grad(loss, xs)
    assert result.ok and not result.all_zero


def test_dropout_p_must_be_a_probability() -> None:
    with pytest.raises(ValueError, match=r"p is a probability in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)


# --- BatchNorm1d ----------------------------------------------------------------------------------

BATCH = [[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]]
# feature 0: mean 3, biased var 8/3 (unbiased 4); feature 1: mean 6, biased var 32/3 (unbiased 16)


def fixed_batchnorm() -> nn.BatchNorm1d:
    bn = nn.BatchNorm1d(2)
    bn.weight[0].data, bn.bias[0].data = 2.0, 0.5
    return bn


def test_batchnorm_in_training_normalises_by_the_batch_statistics() -> None:
    out = fixed_batchnorm()(BATCH)
    eps = 1e-5
    expected_0 = [2.0 * (x - 3) / math.sqrt(8 / 3 + eps) + 0.5 for x in (1.0, 3.0, 5.0)]
    expected_1 = [(x - 6) / math.sqrt(32 / 3 + eps) for x in (2.0, 6.0, 10.0)]
    assert [row[0].data for row in out] == pytest.approx(expected_0, rel=1e-14)
    assert [row[1].data for row in out] == pytest.approx(expected_1, rel=1e-14)
    assert expected_0 == pytest.approx([-1.9494851500028276, 0.5, 2.9494851500028276], rel=1e-15)


def test_batchnorm_running_statistics_follow_pytorchs_update() -> None:
    bn = fixed_batchnorm()
    bn(BATCH)
    # running = 0.9·running + 0.1·batch, with the unbiased variance: mean (0.3, 0.6),
    # var 0.9·1 + 0.1·(4, 16) = (1.3, 2.5)
    assert bn.running_mean == pytest.approx([0.3, 0.6], rel=1e-15)
    assert bn.running_var == pytest.approx([1.3, 2.5], rel=1e-15)
    bn(BATCH)
    assert bn.running_mean == pytest.approx([0.9 * 0.3 + 0.3, 0.9 * 0.6 + 0.6], rel=1e-15)
    assert bn.running_var == pytest.approx([0.9 * 1.3 + 0.4, 0.9 * 2.5 + 1.6], rel=1e-15)
    state = bn.state_dict()
    assert list(state)[-4:] == [
        "running_mean.0",
        "running_mean.1",
        "running_var.0",
        "running_var.1",
    ]
    assert state["running_var.1"] == bn.running_var[1]


def test_batchnorm_in_eval_uses_the_running_statistics_for_a_sample_or_a_batch() -> None:
    bn = fixed_batchnorm()
    bn(BATCH)  # running mean (0.3, 0.6), var (1.3, 2.5)
    bn.eval()
    out = bn([1.0, 2.0])
    expected = [
        2.0 * (1.0 - 0.3) / math.sqrt(1.3 + 1e-5) + 0.5,
        (2.0 - 0.6) / math.sqrt(2.5 + 1e-5),
    ]
    assert [v.data for v in out] == pytest.approx(expected, rel=1e-14)
    assert [v.data for v in bn([[1.0, 2.0]])[0]] == [v.data for v in out]
    x = Value(1.0)
    bn([x, 2.0])[0].backward()
    assert x.grad == pytest.approx(2.0 / math.sqrt(1.3 + 1e-5), rel=1e-14)
    assert bn.running_mean == pytest.approx([0.3, 0.6], rel=1e-15)  # eval does not move them


def test_batchnorm_training_gradient_agrees_with_central_differences() -> None:
    bn = fixed_batchnorm()
    inputs = [[Value(v, f"x{b}{j}") for j, v in enumerate(row)] for b, row in enumerate(BATCH)]
    coefficients = [[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]]

    def loss() -> Value:  # a weighted sum of the outputs, so every input matters
        out = bn(inputs)
        terms = [c * v for row, cs in zip(out, coefficients) for c, v in zip(cs, row)]
        return sum(terms[1:], terms[0])

    values = [v for row in inputs for v in row] + bn.parameters()
    result = check_grad(loss, values)
    assert result.ok and not result.all_zero
    assert result.max_abs_error < 1e-8
    # the batch's mean is subtracted, so moving every sample of a feature alike changes nothing
    gradient = dict(zip(result.names, result.analytic))
    assert gradient["x00"] + gradient["x10"] + gradient["x20"] == pytest.approx(0.0, abs=1e-12)


def test_batchnorm_eval_gradient_agrees_with_central_differences() -> None:
    bn = fixed_batchnorm()
    bn(BATCH)
    bn.eval()
    x = [Value(0.5, "a"), Value(-1.0, "b")]
    result = check_grad(lambda: bn(x)[0] * bn(x)[1], [*x, *bn.parameters()])
    assert result.ok and not result.all_zero


def test_batchnorm_in_training_needs_a_batch_of_two_or_more() -> None:
    bn = nn.BatchNorm1d(2)
    with pytest.raises(
        ValueError, match=r"a batch of 2 samples or more .*got one sample.*\.eval\(\)"
    ):
        bn([1.0, 2.0])
    with pytest.raises(ValueError, match="got a batch of 1"):
        bn([[1.0, 2.0]])
    assert bn.running_mean == [0.0, 0.0]


def test_batchnorm_parameters_and_repr() -> None:
    bn = nn.BatchNorm1d(2, eps=1e-3, momentum=np.float32(0.5))
    assert [name for name, _ in bn.named_parameters()] == [
        "weight.0",
        "weight.1",
        "bias.0",
        "bias.1",
    ]
    assert [p.data for p in bn.parameters()] == [1.0, 1.0, 0.0, 0.0]
    assert repr(bn) == "BatchNorm1d(2, eps=0.001, momentum=0.5)"
    with pytest.raises(ValueError, match="momentum is in"):
        nn.BatchNorm1d(2, momentum=2)


# --- Dropout and BatchNorm1d compiled: the interpreter's numbers at every step -------------------


def close(a: float, b: float) -> bool:
    """Equal to 1e-12, relative (absolute near zero): what compile promises."""
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def with_dropout_and_batchnorm(rng: random.Random, *, dropout: bool) -> nn.Sequential:
    """3 → 5 (BatchNorm1d, ReLU[, Dropout 0.3 from rng]) → 2, the same weights for every rng."""
    weights = random.Random(4)
    return nn.Sequential(
        nn.Linear(3, 5, init="he", rng=weights), nn.BatchNorm1d(5), nn.ReLU(),
        *([nn.Dropout(0.3, rng=rng)] if dropout else []),
        nn.Linear(5, 2, init="he", rng=weights),
    )  # fmt: skip


def loss_of(model: nn.Module) -> Callable[[Any, Any], Value]:
    """Mean squared error of the model on a batch (X, targets): what both runs train on."""

    def loss(X: Any, T: Any) -> Value:
        terms = [(z - t) ** 2 for row, ts in zip(model(X), T) for z, t in zip(row, ts)]
        return sum(terms[1:], terms[0]) / len(terms)

    return loss


def batch(step: int) -> tuple[np.ndarray, np.ndarray]:
    data = np.random.default_rng(step)
    return data.normal(size=(6, 3)), data.normal(size=(6, 2))


def train_both(compiled_model: nn.Module, twin: nn.Module, steps: int) -> None:
    """``steps`` of SGD on the same batches, one model compiled and its twin interpreted; at
    every step the losses and the gradients agree to 1e-12."""
    fast = tinygrad_edu.compile(loss_of(compiled_model))
    opt = optim.SGD(compiled_model.parameters(), lr=0.1)
    twin_opt = optim.SGD(twin.parameters(), lr=0.1)
    for step in range(steps):
        X, T = batch(step)
        loss = fast(X, T)
        opt.zero_grad()
        loss.backward()
        twin_loss = loss_of(twin)([[Value(x) for x in row] for row in X.tolist()], T.tolist())
        twin_opt.zero_grad()
        twin_loss.backward()
        assert close(loss.data, twin_loss.data), step
        for p, q in zip(compiled_model.parameters(), twin.parameters()):
            assert close(p.grad, q.grad), (step, p.label)
        opt.step()
        twin_opt.step()
    assert fast.traces == 1


def test_a_compiled_dropout_draws_a_new_mask_at_every_call_at_the_keep_rate() -> None:
    drop = nn.Dropout(0.25, rng=random.Random(5))
    fast = tinygrad_edu.compile(lambda X: drop(X))
    X = np.ones((20, 10))
    masks = [[v.data for row in fast(X) for v in row] for _ in range(4)]
    # entry by entry, call after call, from the one stream, as the interpreter draws them
    replay = random.Random(5)
    for mask in masks:
        assert mask == [0.0 if replay.random() < 0.25 else 1 / 0.75 for _ in range(200)]
    assert len({tuple(mask) for mask in masks}) == 4  # a new mask at every call
    kept = sum(x > 0 for mask in masks for x in mask) / 800
    assert kept == pytest.approx(0.75, abs=0.03)  # 0.7575 for this seed; 1 - p expected
    assert fast.program(X).drawn == 200


def test_a_compiled_dropout_gives_the_interpreters_gradients_for_the_same_masks() -> None:
    """Two twins whose Dropouts draw from two generators seeded alike: the compiled one and the
    interpreted one drop the same units at every step, so they train alike."""
    model = with_dropout_and_batchnorm(random.Random(9), dropout=True)
    twin = with_dropout_and_batchnorm(random.Random(9), dropout=True)
    train_both(model, twin, steps=5)
    assert all(close(p.data, q.data) for p, q in zip(model.parameters(), twin.parameters()))
    assert model[3].rng.random() == twin[3].rng.random()  # both streams moved alike


def test_batchnorm_running_statistics_after_compiled_training_equal_the_interpreters() -> None:
    model = with_dropout_and_batchnorm(random.Random(0), dropout=False)
    twin = with_dropout_and_batchnorm(random.Random(0), dropout=False)
    train_both(model, twin, steps=6)
    bn, twin_bn = model[1], twin[1]
    assert isinstance(bn, nn.BatchNorm1d) and isinstance(twin_bn, nn.BatchNorm1d)
    assert 0.0 not in bn.running_mean and 1.0 not in bn.running_var  # they moved from the start
    for got, want in zip(
        bn.running_mean + bn.running_var, twin_bn.running_mean + twin_bn.running_var
    ):
        assert close(got, want)


def test_eval_after_compiled_training_gives_the_interpreters_numbers() -> None:
    """An evaluation compiled before training reads the running statistics at every call: after
    compiled training it gives what the interpreter gives from the twin trained interpreted."""
    model = with_dropout_and_batchnorm(random.Random(1), dropout=True)
    twin = with_dropout_and_batchnorm(random.Random(1), dropout=True)
    evaluate = tinygrad_edu.compile(lambda X: model(X))
    X, _ = batch(100)
    model.eval()
    before = [v.data for row in evaluate(X) for v in row]
    model.train()
    train_both(model, twin, steps=4)
    model.eval()
    twin.eval()
    after = [v.data for row in evaluate(X) for v in row]
    expected = [v.data for row in twin(X) for v in row]
    assert all(close(got, want) for got, want in zip(after, expected))
    assert not all(close(a, b) for a, b in zip(after, before))  # the statistics were not frozen
    assert evaluate.traces == 1


# --- saving: running statistics, and the files that must not load ---------------------------------


def test_save_and_load_round_trip_running_statistics(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(2, 2, rng=random.Random(0)), nn.BatchNorm1d(2))
    model(BATCH)
    model.save(tmp_path / "bn.json")
    fresh = nn.Sequential(nn.Linear(2, 2, rng=random.Random(1)), nn.BatchNorm1d(2))
    fresh.load(tmp_path / "bn.json")
    assert fresh.state_dict() == model.state_dict()
    assert fresh[1].running_var == model[1].running_var  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"format": "tinygrad-edu/state_dict", "parameters": {"w.0": 1'
            + "1" * 400
            + ', "w.1": 2, "b": 0}}',
            "w.0 = an integer of about 401 digits",
        ),
        (
            '{"format": "tinygrad-edu/state_dict", "parameters": {"w.0": 1' + "1" * 5000 + "}}",
            "not a valid model file",
        ),
        ("[" * 100000, "nested too deeply"),
        (
            '{"format": "tinygrad-edu/state_dict", '
            '"parameters": {"w.0": 1, "w.1": 2, "b": 0, "w.0": 5}}',
            "the key 'w.0' appears twice",
        ),
        ('{"format": "tinygrad-edu/state_dict", "format": "x", "parameters": {}}', "appears twice"),
        ('{"format": "tinygrad-edu/state_dict", "version": 2, "parameters": {}}', "version 2"),
    ],
)
def test_a_hostile_file_is_a_value_error_and_leaves_the_model_untouched(
    tmp_path: Path, text: str, message: str
) -> None:
    assert_load_refused(tmp_path, text, message)


def test_load_state_dict_takes_numpy_scalars_but_not_truth_values() -> None:
    neuron = fixed_neuron("relu")
    neuron.load_state_dict({"w.0": np.float32(0.5), "w.1": np.int64(-3), "b": np.float64(0.125)})
    assert neuron.state_dict() == {"w.0": 0.5, "w.1": -3.0, "b": 0.125}
    assert all(type(x) is float for x in neuron.state_dict().values())
    with pytest.raises(ValueError, match=r"w\.0 = (np\.)?True"):
        neuron.load_state_dict({"w.0": np.bool_(True), "w.1": 0.0, "b": 0.0})


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_save_gives_a_new_file_the_permissions_the_umask_allows(
    tmp_path: Path, umask: int, mode: int
) -> None:
    previous = os.umask(umask)
    try:
        fixed_neuron("relu").save(tmp_path / "model.json")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "model.json").stat().st_mode) == mode


def test_save_over_an_existing_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("old")
    path.chmod(0o640)
    fixed_neuron("relu").save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert json.loads(path.read_text())["parameters"]["b"] == 0.25


def test_save_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "models" / "model.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    fixed_neuron("relu").save(link)
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert json.loads(target.read_text())["parameters"] == {"w.0": 0.5, "w.1": -1.0, "b": 0.25}
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.json"]
    fresh = Neuron(2)
    fresh.load(link)
    assert fresh.state_dict() == {"w.0": 0.5, "w.1": -1.0, "b": 0.25}


# --- hostile paths, durable saves, copies ---------------------------------------------------------


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null"])
def test_loading_a_device_is_refused_without_reading_it(path: str) -> None:
    neuron = fixed_neuron("relu")
    before = snapshot(neuron)
    with pytest.raises(ValueError, match=rf"'{path}' is not a regular file \(a device"):
        neuron.load(path)
    assert snapshot(neuron) == before


def test_loading_a_named_pipe_or_a_folder_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)  # nobody writes to it: reading would wait for ever
    neuron = fixed_neuron("relu")
    before = snapshot(neuron)
    errors: list[BaseException] = []

    def load() -> None:
        try:
            neuron.load(fifo)
        except BaseException as error:  # handed to the test's thread
            errors.append(error)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    loader.join(timeout=20)
    assert not loader.is_alive(), "load() is waiting for a writer on the pipe"
    assert isinstance(errors[0], ValueError)
    assert "is not a regular file (a device, a pipe or a socket)" in str(errors[0])
    with pytest.raises(ValueError, match=r"is not a regular file \(a folder\)"):
        neuron.load(tmp_path)
    assert snapshot(neuron) == before


def test_a_file_larger_than_the_documented_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert nn.MAX_MODEL_FILE_BYTES == 256 * 1024 * 1024
    path = tmp_path / "model.json"
    fixed_neuron("relu").save(path)
    size = path.stat().st_size
    monkeypatch.setattr(nn, "MAX_MODEL_FILE_BYTES", size)  # exactly at the limit: read
    fresh = Neuron(2)
    fresh.load(path)
    assert fresh.state_dict() == {"w.0": 0.5, "w.1": -1.0, "b": 0.25}
    monkeypatch.setattr(nn, "MAX_MODEL_FILE_BYTES", size - 1)  # one byte over: refused
    fresh.w[0].data = 3.0
    before = snapshot(fresh)
    with pytest.raises(ValueError, match=rf"larger than {size - 1:,} bytes"):
        fresh.load(path)
    assert snapshot(fresh) == before


def test_save_syncs_the_file_before_the_rename_and_the_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = record_syncs(monkeypatch)
    path = tmp_path / "model.json"
    fixed_neuron("relu").save(path)
    folder = str(tmp_path.resolve())
    assert [kind for kind, _ in events] == ["fsync", "replace", "fsync"]
    assert events[0][1].startswith(f"{folder}/.model.json.")  # the temporary file, whole
    assert events[1:] == [("replace", str(path.resolve())), ("fsync", folder)]


def test_a_model_with_dropout_deep_copies_and_pickles() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.5), nn.Linear(3, 1))
    seeded = nn.Dropout(0.5, rng=random.Random(4))
    for original in (model, seeded):
        for twin in (copy.deepcopy(original), pickle.loads(pickle.dumps(original))):
            assert twin.state_dict() == original.state_dict()
    # the default still draws from the random module, in the copy too
    twin = copy.deepcopy(model)
    assert model[2].rng is random and twin[2].rng is random
    random.seed(7)
    first = [v.data for v in model[2]([1.0] * 8)]
    random.seed(7)
    assert [v.data for v in twin[2]([1.0] * 8)] == first
    # a copied generator is its own, in the same state
    copied = pickle.loads(pickle.dumps(seeded))
    assert copied.rng is not seeded.rng
    assert [v.data for v in copied([1.0] * 8)] == [v.data for v in seeded([1.0] * 8)]
