"""viz clusters and collapse: structure read from the scopes the engine recorded.

``nn`` opens a scope per module call (``MLP``, then ``layers.0``, then ``neurons.3``), a user
opens their own with ``tinygrad_edu.scope``; ``cluster=True`` draws each entry of a scope as a
cluster, ``collapse=True`` draws each scope path as one box, its repeated entries folded.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable

import numpy as np
import pytest

import viz
import viz.graph
from tinygrad_edu import Parameter, Value, nn, scope, topological_order
from viz.graph import Cluster, Graph, build_graph
from viz.options import DrawOptions


def mlp_loss(seed: int = 1337) -> Value:
    """A 2-2-1 tanh MLP on one sample, squared error to 1, after backward."""
    model = nn.MLP(2, [2, 1], activation="tanh", rng=random.Random(seed))
    out = model([Value(2.0, label="x.0"), Value(-1.0, label="x.1")])
    assert isinstance(out, Value)
    loss = (out - 1.0) * (out - 1.0)
    loss.label = "loss"
    loss.backward()
    return loss


def batch_loss(samples: int, hidden: int = 3) -> Value:
    """The summed squared error of an MLP 2-hidden-1 (relu) over ``samples`` unlabelled inputs:
    the model is called once per sample, as in micrograd's demo."""
    model = nn.MLP(2, [hidden, 1], rng=random.Random(0))
    outs = [model([Value(float(k)), Value(-0.5 * k)]) for k in range(samples)]
    total = sum((out - 1.0) ** 2 for out in outs)
    assert isinstance(total, Value)
    total.backward()
    return total


def tree(clusters: list[Cluster]) -> list[object]:
    """The clusters' labels, nested as the clusters are: ["MLP", ["layers.0", [...]], ...]."""
    shape: list[object] = []
    for cluster in clusters:
        shape.append(cluster.label)
        if cluster.children:
            shape.append(tree(cluster.children))
    return shape


def labels(graph: Graph, cluster: Cluster) -> set[str]:
    """The full labels of the Values drawn directly inside ``cluster``."""
    ids = set(cluster.node_ids)
    return {node.value.label for node in graph.values if node.id in ids}


def outside(graph: Graph) -> set[str]:
    """The labels of the Values drawn in no cluster."""
    inside: set[str] = set()
    stack = list(graph.clusters)
    while stack:
        cluster = stack.pop()
        inside.update(cluster.node_ids)
        stack.extend(cluster.children)
    return {node.value.label for node in graph.values if node.id not in inside}


# --- cluster=True: one cluster per scope entry ------------------------------------------------


def test_each_module_call_is_a_cluster_nested_as_the_calls_were() -> None:
    graph = build_graph(mlp_loss(), DrawOptions(cluster=True))
    # a cluster that holds nothing but one other is merged into it: "layers.1 / neurons.0"
    assert tree(graph.clusters) == [
        "MLP", ["layers.0", ["neurons.0", "neurons.1"], "layers.1 / neurons.0"]
    ]  # fmt: skip
    (mlp,) = graph.clusters
    layer, _ = mlp.children
    neuron = layer.children[1]
    # its parameters (used by this call only) and the products and sums it computed
    assert labels(graph, neuron) == {
        "layers.0.neurons.1.w.0",
        "layers.0.neurons.1.w.1",
        "layers.0.neurons.1.b",
        "",
    }
    assert len(neuron.node_ids) == 3 + 5 + 5  # 3 parameters, 5 computed values, their 5 ops
    assert labels(graph, layer) == {"x.0", "x.1"}  # the inputs both neurons of the layer read
    assert outside(graph) == {"", "loss"}  # the constants 1.0, out - 1.0 twice, the loss


def test_inside_a_cluster_a_label_is_shortened_to_its_own_part() -> None:
    source = viz.draw(mlp_loss(), cluster=True).source
    assert "<B>w.0</B>" in source and "<B>b</B>" in source  # not layers.0.neurons.1.w.0
    assert "layers.0.neurons.1.w.0" not in source
    assert "subgraph cluster_" in source and "label=<<B>layers.0</B>>" in source
    assert "label=<<B>layers.1 / neurons.0</B>>" in source


def test_clusters_are_off_by_default() -> None:
    source = viz.draw(mlp_loss()).source
    assert "subgraph" not in source and "<B>layers.0.neurons.1.w.0</B>" in source


def test_a_user_scope_is_drawn_as_a_cluster_and_nested_scopes_nest() -> None:
    x = Value(2.0, label="x")
    w = Parameter(-1.5, label="w")
    with scope("model"):
        with scope("linear"):
            z = w * x + 1.0
        y = z.tanh()
    y.label = "y"
    y.backward()
    graph = build_graph(y, DrawOptions(cluster=True))
    assert tree(graph.clusters) == ["model", ["linear"]]
    (model,) = graph.clusters
    (linear,) = model.children
    assert labels(graph, linear) == {"w", "x", ""}  # leaves go where all their uses are
    assert labels(graph, model) == {"y"}
    assert "label=<<B>linear</B>>" in viz.draw(y, cluster=True).source


def test_a_scope_entered_twice_is_two_clusters_and_shared_leaves_sit_around_both() -> None:
    w = Parameter(0.5, label="w")
    outs = []
    for k in range(2):
        with scope("step"):
            outs.append((w * k).exp())
    with scope("total"):
        y = outs[0] + outs[1]
    graph = build_graph(y, DrawOptions(cluster=True))
    assert tree(graph.clusters) == ["step", "step", "total"]
    assert "w" in outside(graph)  # used in both entries: in neither


def test_a_neuron_called_twice_gets_a_cluster_per_call_and_shares_its_parameters() -> None:
    layer = nn.Layer(1, 1, activation="tanh", rng=random.Random(0))
    a, b = layer([Value(1.0, label="a")]), layer([Value(2.0, label="b")])
    assert isinstance(a, Value) and isinstance(b, Value)
    graph = build_graph(a + b, DrawOptions(cluster=True))
    # a top-level module's scope is named by its class
    assert tree(graph.clusters) == ["Layer / neurons.0", "Layer / neurons.0"]
    assert {"neurons.0.w.0", "neurons.0.b"} <= outside(graph)
    assert labels(graph, graph.clusters[0]) >= {"a"}


def test_a_network_written_without_nn_clusters_by_its_own_scopes() -> None:
    """The course's 3-layer network on numpy arrays of Values, in the user's own scopes."""
    W1 = np.array([[Parameter(0.1 * (i + j), label=f"W1[{i},{j}]") for j in range(3)]
                   for i in range(2)])  # fmt: skip
    x = np.array([Value(1.0, label="x0"), Value(0.5, label="x1")])
    with scope("layer1"):
        A1 = np.dot(x, W1)
        Z1 = np.vectorize(Value.sigmoid, otypes=[object])(A1)
    with scope("output"):
        y = Z1.sum()
    graph = build_graph(y, DrawOptions(cluster=True))
    assert tree(graph.clusters) == ["layer1", "output"]
    assert {f"W1[{i},{j}]" for i in range(2) for j in range(3)} <= labels(graph, graph.clusters[0])
    kinds = {node.name: node.kind for node in graph.values}
    assert kinds["W1[0,0]"] == "parameter" and kinds["x0"] == "input"


# --- collapse=True: a box per scope path, repeats folded ---------------------------------------


def test_collapse_draws_each_innermost_scope_as_one_box_summarising_it() -> None:
    loss = mlp_loss()
    graph = build_graph(loss, DrawOptions(collapse=True))
    assert [box.title for box in graph.boxes] == [
        "MLP / layers.0 / neurons.0",
        "MLP / layers.0 / neurons.1",
        "MLP / layers.1 / neurons.0",
    ]
    first = graph.boxes[0]
    assert first.calls == 1 and first.inputs == 2 and first.size == 3 + 5
    assert first.ops == (("*", 2), ("+", 2), ("tanh", 1))
    assert first.parameter_names == ("b", "w.0", "w.1")  # in the order the neuron uses them
    assert [p.label for p in first.parameters] == [
        "layers.0.neurons.0.b",
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
    ]
    assert len(first.outputs) == 1 and first.outputs[0].op == "tanh"
    assert {node.value.label for node in graph.values} == {"x.0", "x.1", "", "loss"}
    source = viz.draw(loss, collapse=True).source
    assert "<B>MLP / layers.0 / neurons.0</B></FONT>" in source  # called once: no count
    assert "2 inputs · 2 ×, 2 +, tanh" in source
    assert "2 inputs · 2 ×, 2 +<" in source  # the last layer is linear
    weight = first.parameters[1]
    assert f"data {weight.data:.4f}" in source and f"grad {weight.grad:.4f}" in source
    edges = {(e.tail, e.head) for e in graph.edges}
    inputs = {n.value.label: n.id for n in graph.values}
    assert (inputs["x.0"], "box0") in edges and ("box0", "box2") in edges


def test_collapse_folds_the_calls_of_a_module_per_sample_into_one_box_with_their_count() -> None:
    total = batch_loss(samples=5)
    graph = build_graph(total, DrawOptions(collapse=True))
    assert [(box.title, box.calls) for box in graph.boxes] == [
        ("MLP / layers.0 / neurons.0", 5),
        ("MLP / layers.0 / neurons.1", 5),
        ("MLP / layers.0 / neurons.2", 5),
        ("MLP / layers.1 / neurons.0", 5),
    ]
    assert [len(box.outputs) for box in graph.boxes] == [5, 5, 5, 5]  # one per call
    # What repeats with them folds too: the 10 inputs, each sample's (out - 1.0) ** 2 with
    # its two constants, and the sum of the five, sum()'s 0 apart.
    folded = sorted((node.value.op or node.kind, node.count) for node in graph.values)
    assert folded == [
        ("**", 5), ("+", 1), ("+", 4), ("-", 5),
        ("constant", 1), ("constant", 5), ("constant", 5), ("constant", 10),
    ]  # fmt: skip
    source = viz.draw(total, collapse=True).source
    assert "<B>MLP / layers.0 / neurons.1</B> ×5" in source
    assert ">×10<" in source and "data -2.0000 … 4.0000" in source  # the inputs' range


def test_a_user_scope_entered_in_a_loop_folds_into_one_box() -> None:
    w = Parameter(0.5, label="w")
    terms = []
    for k in range(7):
        with scope("term"):
            terms.append((w * k).exp())
    y = terms[0]
    for term in terms[1:]:
        y = y + term
    graph = build_graph(y, DrawOptions(collapse=True))
    (box,) = graph.boxes
    assert (box.title, box.calls, box.parameter_names) == ("term", 7, ("w",))
    assert box.ops == (("*", 1), ("exp", 1)) and len(box.outputs) == 7
    assert sorted(node.count for node in graph.values) == [1, 5]  # the run of +, and y itself
    assert "<B>term</B> ×7" in viz.draw(y, collapse=True).source


def test_collapse_with_cluster_puts_the_boxes_in_their_layers_with_the_call_counts() -> None:
    graph = build_graph(batch_loss(samples=5), DrawOptions(collapse=True, cluster=True))
    assert tree(graph.clusters) == ["MLP ×5", ["layers.0 ×5", "layers.1 ×5"]]
    (mlp,) = graph.clusters
    assert [c.node_ids for c in mlp.children] == [["box0", "box1", "box2"], ["box3"]]
    assert [box.title for box in graph.boxes] == [
        "neurons.0",
        "neurons.1",
        "neurons.2",
        "neurons.0",
    ]


def test_collapse_lets_a_large_network_fit_under_max_nodes() -> None:
    model = nn.MLP(8, [16, 16, 1], rng=random.Random(0))
    out = model([Value(float(i), label=f"x.{i}") for i in range(8)])
    assert isinstance(out, Value)
    with pytest.raises(viz.TooManyNodesError, match="collapse=True"):
        viz.draw(out)
    graph = build_graph(out, DrawOptions(collapse=True))
    assert graph.node_count == 8 + 16 + 16 + 1  # the inputs and one box per neuron
    assert "16 inputs · 16 ×, 16 +<" in viz.draw(out, collapse=True).source


def test_a_long_box_lists_a_few_parameters_and_counts_the_rest() -> None:
    neuron = nn.MLP(9, [1], rng=random.Random(0))
    out = neuron([Value(1.0, label=f"x.{i}") for i in range(9)])
    assert isinstance(out, Value)
    source = viz.draw(out, collapse=True).source
    assert ">w.2<" in source and ">w.3<" not in source and ">w.8<" in source  # b, w.0-2, w.8
    assert "… 5 more parameters" in source


def test_a_parameter_used_by_two_modules_is_drawn_on_its_own() -> None:
    shared = Parameter(2.0, label="shared")
    with scope("a"):
        u = shared * 3
    with scope("b"):
        v = shared + 1
    graph = build_graph(u * v, DrawOptions(collapse=True))
    assert [box.parameters for box in graph.boxes] == [(), ()]
    assert "shared" in {node.name for node in graph.values}


# --- linear in the graph's size -----------------------------------------------------------------


def lines_run(work: Callable[[], object]) -> int:
    """How many lines of Python ``work`` executes: a measure of work that does not depend on
    the machine or its load."""
    count = 0

    def tracer(frame: object, event: str, arg: object) -> object:
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)  # type: ignore[arg-type]
    try:
        work()
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize(
    "options",
    [{"collapse": True}, {"cluster": True}, {"collapse": True, "cluster": True}, {}],
)
def test_drawing_a_training_step_grows_linearly_with_the_batch(options: dict[str, bool]) -> None:
    """Four times the samples: a graph about 3.8 times as large, and as much more work."""
    small, large = batch_loss(samples=6, hidden=4), batch_loss(samples=24, hidden=4)
    growth = len(topological_order(large)) / len(topological_order(small))
    work = lines_run(lambda: viz.draw(large, max_nodes=10**6, **options)) / lines_run(
        lambda: viz.draw(small, max_nodes=10**6, **options)
    )
    assert 0.7 * growth < work < 1.3 * growth  # a quadratic step would make it about 14


def test_too_many_nodes_is_refused_before_any_drawing_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(node: Value) -> tuple[float, ...]:
        raise AssertionError("local derivatives computed for a graph that is refused")

    monkeypatch.setattr(viz.graph, "local_derivatives", fail)
    with pytest.raises(viz.TooManyNodesError):
        viz.draw(batch_loss(samples=10), max_nodes=100)
    with pytest.raises(viz.TooManyNodesError):
        viz.draw(batch_loss(samples=10), max_nodes=10, collapse=True)
