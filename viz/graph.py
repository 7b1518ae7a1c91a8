"""The graph walk: which nodes a diagram shows, which edges join them, which clusters group them.

Nothing here draws (that is :mod:`viz.dot`); this module turns a root ``Value`` into a plain
description, a :class:`Graph`, that any drawing can read. It sees the engine only through
``Value``'s public attributes (``data``, ``grad``, ``label``, ``op``, ``inputs``) and the public
helpers ``topological_order`` and ``local_derivatives``.

The picture of ``y = x * w`` is three value nodes and one operation node::

    x ──> (×) ──> y
    w ───┘

Every computed Value gets its own small operation node; an edge runs from each input into that
operation (carrying the local derivative d out / d input, the chain-rule factor) and one edge
from the operation to its output.

What kind of leaf a Value is, read from its label alone (the engine records no more):

* a **parameter**: its label names a weight or a bias, optionally with an index and a dotted
  module path in front, as ``nn`` names its parameters: ``w``, ``w1``, ``w.0``, ``b``, ``b2``,
  ``layers.0.neurons.3.w.1``, ``neurons.2.b``;
* an **input**: any other labelled leaf (``x``, ``x1``, ``蘋果``);
* a **constant**: an unlabelled leaf, such as the ``3`` the engine wraps in ``3 * x``.

Clusters follow ``nn``'s naming convention: a parameter ``P.w.k`` or ``P.b`` belongs to the
Neuron at dotted path ``P`` (``layers.0.neurons.3``), and that Neuron's output node carries the
label ``P``. The Neuron's cluster is every node that depends on one of its parameters and that
its output depends on (both ends included). A Layer's cluster (``layers.0``: each path prefix that
ends in an index) holds its Neurons' clusters. A Neuron called several times (a batch) gives a
cluster per call; parameters shared by those calls sit in the Layer around them. Nothing is
recorded while computing: all of it is read off the finished graph, so the engine pays nothing
when no diagram is drawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from tinygrad_edu import Value, local_derivatives, topological_order

from .options import DrawOptions

__all__ = [
    "Kind",
    "kind_of",
    "PARAMETER_LABEL",
    "ValueNode",
    "OpNode",
    "NeuronBox",
    "Edge",
    "Cluster",
    "Graph",
    "TooManyNodesError",
    "build_graph",
]

Kind = Literal["computed", "parameter", "input", "constant"]

PARAMETER_LABEL = re.compile(r"^(?:(?P<module>.+)\.)?(?:w\.?\d*|b\d*)$")
"""A weight or bias name: ``w``, ``w1``, ``w.0``, ``b``, ``b2``, with an optional dotted module
path in front (the ``module`` group: ``layers.0.neurons.3`` in ``layers.0.neurons.3.w.1``)."""


def kind_of(value: Value) -> Kind:
    """How a Value is drawn: computed (it has an op), parameter, input or constant (see above)."""
    if value.op:
        return "computed"
    if not value.label:
        return "constant"
    if PARAMETER_LABEL.match(value.label):
        return "parameter"
    return "input"


@dataclass(frozen=True, eq=False)
class ValueNode:
    """A Value drawn as a box with its name, data and grad.

    ``name`` is the Value's label, shortened inside a cluster to the part after the cluster's
    path (``w.0`` in the cluster of ``layers.0.neurons.3``).
    """

    id: str
    value: Value
    kind: Kind
    name: str


@dataclass(frozen=True, eq=False)
class OpNode:
    """The small node of the operation that computed ``output`` (its op is ``output.op``)."""

    id: str
    output: Value


@dataclass(frozen=True, eq=False)
class NeuronBox:
    """One call of an nn Neuron drawn as a single box (``collapse=True``).

    ``inputs`` are the Values from outside the Neuron that it reads, ``parameters`` its weights
    then its bias, ``output`` the Value it returns, ``members`` every Value it hides.
    """

    id: str
    path: str
    output: Value
    inputs: tuple[Value, ...]
    parameters: tuple[Value, ...]
    members: frozenset[Value]


@dataclass(frozen=True, eq=False)
class Edge:
    """An arrow from node ``tail`` to node ``head`` (ids of the nodes above).

    ``node`` is the computed Value the edge belongs to. An edge into an operation carries one of
    ``node``'s inputs: ``source`` is that input and ``local`` the chain-rule factor
    d node / d source. The edge from the operation to ``node``, and the edges into a collapsed
    Neuron, have ``source`` and ``local`` set to None.
    """

    tail: str
    head: str
    node: Value
    source: Value | None = None
    local: float | None = None


@dataclass(eq=False)
class Cluster:
    """A labelled group of nodes: an nn Layer or one call of a Neuron; ``children`` nest."""

    id: str
    path: str
    label: str
    node_ids: list[str] = field(default_factory=list)
    children: list[Cluster] = field(default_factory=list)


@dataclass(eq=False)
class Graph:
    """What a diagram shows, in drawing order (inputs before the nodes computed from them)."""

    root: Value
    root_id: str
    values: list[ValueNode]
    ops: list[OpNode]
    boxes: list[NeuronBox]
    edges: list[Edge]
    clusters: list[Cluster]

    @property
    def node_count(self) -> int:
        """The value nodes and Neuron boxes (operation nodes are not counted: each belongs to
        the value it computes)."""
        return len(self.values) + len(self.boxes)


class TooManyNodesError(ValueError):
    """The graph has more nodes than ``max_nodes`` allows."""


def _too_many(count: int, options: DrawOptions) -> TooManyNodesError:
    hint = "" if options.collapse else "draw each nn Neuron as one box with collapse=True, or "
    return TooManyNodesError(
        f"the graph has {count} value nodes, more than max_nodes={options.max_nodes}: "
        f"Graphviz would draw an unreadable picture. To draw it anyway, {hint}"
        f"pass a larger max_nodes (max_nodes={count} is enough)"
    )


# --- nn modules, read off the labels ---------------------------------------------------------


@dataclass(eq=False)
class _NeuronCall:
    path: str
    output: Value
    members: set[Value]
    parameters: list[Value]


def _module_path(value: Value) -> str | None:
    """The dotted path of the Neuron that owns a parameter leaf, or None."""
    if value.op or not value.label:
        return None
    match = PARAMETER_LABEL.match(value.label)
    return match["module"] if match and match["module"] else None


def _ancestors(node: Value) -> set[Value]:
    """``node`` and everything it was computed from."""
    seen = {node}
    stack = [node]
    while stack:
        for child in stack.pop().inputs:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def _neuron_calls(order: list[Value]) -> list[_NeuronCall]:
    """Each call of an nn Neuron: its labelled output and the nodes it computed."""
    parameters: dict[str, list[Value]] = {}
    for value in order:
        path = _module_path(value)
        if path is not None:
            parameters.setdefault(path, []).append(value)
    calls = []
    for output in order:
        if not output.op or output.label not in parameters:
            continue
        own = set(parameters[output.label])
        upstream = _ancestors(output)
        members: set[Value] = set()
        for value in order:  # topological: a node's inputs are decided before the node
            if value in upstream and (value in own or any(i in members for i in value.inputs)):
                members.add(value)
        calls.append(_NeuronCall(output.label, output, members, parameters[output.label]))
    return calls


def _enclosing_modules(path: str) -> list[str]:
    """The module paths around a Neuron, outermost first: every proper prefix of ``path`` that
    ends in an index (``layers.0`` for ``layers.0.neurons.3``)."""
    parts = path.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts) - 1) if parts[i].isdigit()]


def _relative(path: str, parent: str) -> str:
    return path[len(parent) + 1 :] if parent else path


# --- the walk ----------------------------------------------------------------------------------


class _Builder:
    """Assembles a Graph: ids, nodes, edges and cluster membership."""

    def __init__(self, root: Value, order: list[Value], calls: list[_NeuronCall]) -> None:
        self.root = root
        self.order = order
        self.index = {value: i for i, value in enumerate(order)}
        self.calls = calls
        self.box_of_call = {id(call): f"neuron{k}" for k, call in enumerate(calls)}

    def value_id(self, value: Value) -> str:
        return f"v{self.index[value]}"

    def op_id(self, value: Value) -> str:
        return f"op{self.index[value]}"

    def drawn_value_graph(self, hidden: dict[Value, str]) -> Graph:
        """Value and operation nodes for every Value not in ``hidden`` (a map from a hidden
        Value to the id of the node that stands for it)."""

        def shown_as(value: Value) -> str:
            return hidden.get(value) or self.value_id(value)

        values: list[ValueNode] = []
        ops: list[OpNode] = []
        edges: list[Edge] = []
        for value in self.order:
            if value in hidden:
                continue
            values.append(ValueNode(self.value_id(value), value, kind_of(value), value.label))
            if not value.op:
                continue
            op = OpNode(self.op_id(value), value)
            ops.append(op)
            for source, local in zip(value.inputs, local_derivatives(value)):
                edges.append(Edge(shown_as(source), op.id, value, source, local))
            edges.append(Edge(op.id, self.value_id(value), value))
        return Graph(self.root, shown_as(self.root), values, ops, [], edges, [])


def _boxes(builder: _Builder) -> tuple[list[NeuronBox], list[Edge], dict[Value, str]]:
    """A box per Neuron call, the edges into it, and which box stands for each hidden Value."""
    hidden: dict[Value, str] = {}
    for call in builder.calls:
        box_id = builder.box_of_call[id(call)]
        for value in call.members:
            hidden.setdefault(value, box_id)
    for call in builder.calls:  # a Neuron's output is always shown as its own box
        hidden[call.output] = builder.box_of_call[id(call)]
    boxes: list[NeuronBox] = []
    edges: list[Edge] = []
    for call in builder.calls:
        box_id = builder.box_of_call[id(call)]
        outside = [i for m in call.members for i in m.inputs if i not in call.members]
        inputs = sorted(set(outside), key=builder.index.__getitem__)
        parameters = tuple(sorted(call.parameters, key=_parameter_order))
        boxes.append(
            NeuronBox(
                box_id, call.path, call.output, tuple(inputs), parameters, frozenset(call.members)
            )
        )
        tails = dict.fromkeys(hidden.get(i) or builder.value_id(i) for i in inputs)
        edges.extend(Edge(tail, box_id, call.output) for tail in tails)
    return boxes, edges, hidden


def _parameter_order(value: Value) -> tuple[int, int]:
    """Weights by index, then the bias."""
    last = value.label.rsplit(".", 1)[-1]
    return (0, int(last)) if last.isdigit() else (1, 0)


def _clusters(builder: _Builder, graph: Graph, collapsed: bool) -> list[Cluster]:
    """The Layer and Neuron clusters, each node placed in the innermost one that holds it (a
    collapsed Neuron's box goes straight into its Layer). Renames the nodes placed in a cluster
    to their names relative to it."""
    modules: dict[str, Cluster] = {}
    top: list[Cluster] = []

    def new_cluster(path: str, cluster_id: str) -> Cluster:
        enclosing = _enclosing_modules(path)
        parent = module(enclosing[-1]) if enclosing else None
        cluster = Cluster(cluster_id, path, _relative(path, parent.path if parent else ""))
        (parent.children if parent else top).append(cluster)
        return cluster

    def module(path: str) -> Cluster:
        if path not in modules:
            modules[path] = new_cluster(path, f"cluster_{len(modules)}_{_slug(path)}")
        return modules[path]

    homes: dict[Value, list[tuple[str, Cluster]]] = {}
    for call in builder.calls:
        box_id = builder.box_of_call[id(call)]
        enclosing = _enclosing_modules(call.path)
        if collapsed:
            if enclosing:
                module(enclosing[-1]).node_ids.append(box_id)
            continue
        cluster = new_cluster(call.path, f"cluster_{box_id}")
        for value in call.members:
            homes.setdefault(value, []).append((call.path, cluster))

    renamed = []
    for node in graph.values:
        home = _innermost(homes.get(node.value, []), modules)
        if home is not None:
            home.node_ids.append(node.id)
            if node.value.op:
                home.node_ids.append(builder.op_id(node.value))
            node = replace(node, name=_name_inside(node.name, home))
        renamed.append(node)
    graph.values = renamed
    return [c for c in top if _nonempty(c)]


def _name_inside(label: str, cluster: Cluster) -> str:
    """A label as read inside ``cluster``: without the cluster's path in front; the Neuron's
    own output keeps the name the cluster shows."""
    if label == cluster.path:
        return cluster.label
    if label.startswith(cluster.path + "."):
        return label[len(cluster.path) + 1 :]
    return label


def _innermost(places: list[tuple[str, Cluster]], modules: dict[str, Cluster]) -> Cluster | None:
    """The one cluster of a node in one Neuron call, else the innermost module around all."""
    if not places:
        return None
    if len(places) == 1:
        return places[0][1]
    common = set(_enclosing_modules(places[0][0]))
    for path, _ in places[1:]:
        common &= set(_enclosing_modules(path))
    if not common:
        return None
    return modules[max(common, key=len)]


def _nonempty(cluster: Cluster) -> bool:
    cluster.children = [c for c in cluster.children if _nonempty(c)]
    return bool(cluster.node_ids or cluster.children)


def _slug(path: str) -> str:
    return re.sub(r"\W", "_", path)


def build_graph(root: Value, options: DrawOptions) -> Graph:
    """Everything the diagram of ``root`` shows, under ``options`` (cluster, collapse and
    max_nodes shape the graph; the other options only change how it is drawn).

    Raises :class:`TooManyNodesError` when more than ``options.max_nodes`` value nodes (Neuron
    boxes included) would be drawn.
    """
    if not isinstance(root, Value):
        raise TypeError(f"viz draws a Value, not {type(root).__name__}")
    order = topological_order(root)
    if not options.collapse and len(order) > options.max_nodes:
        raise _too_many(len(order), options)
    wants_modules = options.cluster or options.collapse
    builder = _Builder(root, order, _neuron_calls(order) if wants_modules else [])
    if options.collapse:
        boxes, box_edges, hidden = _boxes(builder)
    else:
        boxes, box_edges, hidden = [], [], {}
    graph = builder.drawn_value_graph(hidden)
    graph.boxes = boxes
    graph.edges = box_edges + graph.edges
    if graph.node_count > options.max_nodes:
        raise _too_many(graph.node_count, options)
    if options.cluster:
        graph.clusters = _clusters(builder, graph, options.collapse)
    return graph
