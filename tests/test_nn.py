"""tinygrad_edu.nn: neurons, layers, MLPs, their parameter names, and saving them as JSON."""

from __future__ import annotations

import gc
import itertools
import json
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import micrograd.nn  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu import Value
from tinygrad_edu.data import make_moons
from tinygrad_edu.nn import ACTIVATIONS, INITS, MLP, Layer, Module, Neuron, Parameter

# --- micrograd's demo, run unchanged on both libraries ----------------------------------------

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
    return run_demo(MLP, DEMO_STEPS)


def test_micrograd_demo_gives_the_same_losses_step_by_step(
    our_demo: list[tuple[float, float]],
) -> None:
    theirs = run_demo(micrograd.nn.MLP, MICROGRAD_STEPS)
    ours = our_demo[:MICROGRAD_STEPS]
    assert ours[0][0] == theirs[0][0]  # the first forward pass is bit for bit the same
    assert ours[0][0] == pytest.approx(0.8895876111099145, rel=1e-15)
    # Later steps may differ in the last bits: the two backward passes add a node's gradient
    # contributions in different orders (micrograd's inputs are a set).
    for (our_loss, our_acc), (their_loss, their_acc) in zip(ours, theirs):
        assert our_loss == pytest.approx(their_loss, rel=1e-12)
        assert our_acc == their_acc


def test_micrograd_demo_reaches_full_training_accuracy(
    our_demo: list[tuple[float, float]],
) -> None:
    losses = [loss for loss, _ in our_demo]
    assert our_demo[0][1] == 0.5
    assert our_demo[-1][1] == 1.0
    assert losses[-1] < 0.02 < 0.8 < losses[0]


def test_same_seed_builds_the_same_weights_as_micrograd() -> None:
    random.seed(1337)
    theirs = [p.data for p in micrograd.nn.MLP(3, [4, 2]).parameters()]
    random.seed(1337)
    ours = [p.data for p in MLP(3, [4, 2]).parameters()]
    assert ours == theirs


def test_mlp_has_micrograd_parameter_count_and_order() -> None:
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1 == 337
    neuron = model.layers[1].neurons[2]
    assert model.parameters()[48 + 2 * 17 : 48 + 3 * 17] == [*neuron.w, neuron.b]


# --- what a neuron computes --------------------------------------------------------------------


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


# --- initialisation ----------------------------------------------------------------------------


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


# --- names and labels ---------------------------------------------------------------------------


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


# --- state dicts and files -----------------------------------------------------------------------


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
