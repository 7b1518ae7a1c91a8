"""viz clusters and collapse: nn Neurons and Layers found from parameter and output labels.

The convention (set by nn): a parameter is labelled ``P.w.k`` or ``P.b`` for the Neuron at
dotted path ``P``, and that Neuron's output is labelled ``P``.
"""

from __future__ import annotations

import random

import pytest

import viz
from tinygrad_edu import Value, nn
from viz.graph import Cluster, Graph, build_graph
from viz.options import DrawOptions


def mlp_loss(seed: int = 1337) -> tuple[nn.MLP, Value]:
    """A 2-2-1 tanh MLP on one sample, squared error to 1, after backward."""
    model = nn.MLP(2, [2, 1], activation="tanh", rng=random.Random(seed))
    out = model([Value(2.0, label="x.0"), Value(-1.0, label="x.1")])
    assert isinstance(out, Value)
    loss = (out - 1.0) * (out - 1.0)
    loss.label = "loss"
    loss.backward()
    return model, loss


def labels(graph: Graph, cluster: Cluster) -> set[str]:
    """The full labels of the Values drawn directly inside ``cluster``."""
    ids = set(cluster.node_ids)
    return {node.value.label for node in graph.values if node.id in ids}


def test_each_layer_holds_a_labelled_cluster_per_neuron() -> None:
    _, loss = mlp_loss()
    graph = build_graph(loss, DrawOptions(cluster=True))
    assert [c.label for c in graph.clusters] == ["layers.0", "layers.1"]
    assert [c.label for c in graph.clusters[0].children] == ["neurons.0", "neurons.1"]
    assert [c.label for c in graph.clusters[1].children] == ["neurons.0"]
    neuron = graph.clusters[0].children[1]
    assert neuron.path == "layers.0.neurons.1"
    # its parameters, its output, and the unlabelled products and sums in between
    assert {
        "layers.0.neurons.1.w.0",
        "layers.0.neurons.1.w.1",
        "layers.0.neurons.1.b",
        "layers.0.neurons.1",
    } <= labels(graph, neuron)
    assert len(neuron.node_ids) == 3 + 4 + 1 + 5  # 3 params, 4 inner values, output, 5 ops
    outside = {
        n.value.label
        for n in graph.values
        if not any(n.id in c.node_ids for layer in graph.clusters for c in [layer, *layer.children])
    }
    assert outside == {"x.0", "x.1", "", "loss"}  # inputs, the constants 1.0, the loss


def test_inside_a_cluster_a_label_is_shortened_to_its_own_part() -> None:
    _, loss = mlp_loss()
    source = viz.draw(loss, cluster=True).source
    assert "<B>w.0</B>" in source and "<B>b</B>" in source  # not layers.0.neurons.1.w.0
    assert "<B>neurons.1</B>" in source  # the neuron's output, named as its cluster
    assert "subgraph cluster_" in source and "label=<<B>layers.0</B>>" in source
    assert "layers.0.neurons.1.w.0" not in source


def test_clusters_are_off_by_default() -> None:
    _, loss = mlp_loss()
    source = viz.draw(loss).source
    assert "subgraph" not in source and "<B>layers.0.neurons.1.w.0</B>" in source


def test_a_neuron_called_twice_gets_a_cluster_per_call_and_shares_its_parameters() -> None:
    layer = nn.Layer(1, 1, activation="tanh", rng=random.Random(0))
    a, b = layer([Value(1.0, label="a")]), layer([Value(2.0, label="b_in")])
    assert isinstance(a, Value) and isinstance(b, Value)
    graph = build_graph(a + b, DrawOptions(cluster=True))
    # a standalone Layer has no path of its own: the two calls are the top-level clusters
    assert [c.label for c in graph.clusters] == ["neurons.0", "neurons.0"]
    shared = {"neurons.0.w.0", "neurons.0.b"}
    assert not shared & (labels(graph, graph.clusters[0]) | labels(graph, graph.clusters[1]))


def test_collapse_draws_each_neuron_as_one_box_summarising_it() -> None:
    model, loss = mlp_loss()
    graph = build_graph(loss, DrawOptions(collapse=True))
    assert [box.path for box in graph.boxes] == [
        "layers.0.neurons.0",
        "layers.0.neurons.1",
        "layers.1.neurons.0",
    ]
    first = graph.boxes[0]
    assert [p.label for p in first.parameters] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
    ]
    assert [i.label for i in first.inputs] == ["x.0", "x.1"]
    assert first.output.label == "layers.0.neurons.0"
    shown = {node.value.label for node in graph.values}
    assert shown == {"x.0", "x.1", "", "loss"}  # no parameter, no inner node
    source = viz.draw(loss, collapse=True).source
    assert "<B>layers.0.neurons.0</B> · tanh · 2 inputs" in source
    assert "<B>layers.1.neurons.0</B> · linear · 2 inputs" in source
    weight = model.layers[0].neurons[0].w[0]
    assert f"data {weight.data:.4f}" in source and f"grad {weight.grad:.4f}" in source
    edges = {(e.tail, e.head) for e in graph.edges}
    inputs = {n.value.label: n.id for n in graph.values}
    assert (inputs["x.0"], "neuron0") in edges and ("neuron0", "neuron2") in edges


def test_collapse_with_cluster_puts_the_boxes_in_their_layers() -> None:
    _, loss = mlp_loss()
    graph = build_graph(loss, DrawOptions(collapse=True, cluster=True))
    assert [(c.label, c.node_ids) for c in graph.clusters] == [
        ("layers.0", ["neuron0", "neuron1"]),
        ("layers.1", ["neuron2"]),
    ]


def test_collapse_lets_a_large_network_fit_under_max_nodes() -> None:
    model = nn.MLP(8, [16, 16, 1], rng=random.Random(0))
    out = model([Value(float(i), label=f"x.{i}") for i in range(8)])
    assert isinstance(out, Value)
    with pytest.raises(viz.TooManyNodesError, match="collapse=True"):
        viz.draw(out)
    graph = build_graph(out, DrawOptions(collapse=True))
    assert graph.node_count == 8 + 16 + 16 + 1  # the inputs and one box per neuron
    assert "<B>layers.2.neurons.0</B> · linear · 16 inputs" in viz.draw(out, collapse=True).source


def test_a_long_neuron_box_lists_a_few_weights_and_counts_the_rest() -> None:
    neuron = nn.MLP(9, [1], rng=random.Random(0))
    out = neuron([Value(1.0, label=f"x.{i}") for i in range(9)])
    assert isinstance(out, Value)
    source = viz.draw(out, collapse=True).source
    assert "<B>w.0</B>" not in source  # parameter names are plain cells in a box
    assert ">w.3<" in source and ">w.4<" not in source and "… 5 more weights" in source


def test_clustering_reads_only_labels_of_a_hand_built_graph_too() -> None:
    w = Value(0.5, label="layers.0.neurons.0.w.0")
    bias = Value(0.1, label="layers.0.neurons.0.b")
    x = Value(2.0, label="x")
    out = (w * x + bias).relu()
    out.label = "layers.0.neurons.0"
    graph = build_graph(out * 3, DrawOptions(cluster=True))
    (layer,) = graph.clusters
    (neuron,) = layer.children
    assert labels(graph, neuron) == {w.label, bias.label, out.label, ""}
