"""The graph walk: which nodes a diagram shows, which edges join them, which clusters group them.

Nothing here draws (that is :mod:`viz.dot`); this module turns a root ``Value`` into a plain
description, a :class:`Graph`, that any drawing can read. It sees the engine only through
``Value``'s public attributes (``data``, ``grad``, ``label``, ``op``, ``inputs``, ``scope``),
the :class:`~tinygrad_edu.Parameter` class and the public walk ``topological_order`` (the one
walk of the graph; nothing here re-walks it) with ``local_derivatives``.

The picture of ``y = x * w`` is three value nodes and one operation node::

    x ──> (×) ──> y
    w ───┘

Every computed Value gets its own small operation node; an edge runs from each input into that
operation (carrying the local derivative d out / d input, the chain-rule factor) and one edge
from the operation to its output.

**Kinds**, from what the engine recorded, never from how a label is spelled: a
:class:`~tinygrad_edu.Parameter` is a *parameter*; any other leaf with a label is an *input*; a
leaf without one is a *constant* (the ``3`` the engine wraps in ``3 * x``).

**Clusters** (``cluster=True``) follow the scopes the nodes were recorded in
(``tinygrad_edu.scope``; ``nn`` opens one per module call): each entry of a scope is a cluster,
nested as the scopes nest, whether ``nn`` or the user opened it. A leaf made outside every
scope (a parameter, an input) sits in the innermost entry that holds all its uses.

**Collapse** (``collapse=True``) draws structure instead of every node:

* every scope path that records operations is one box (``MLP / layers.0 / neurons.3``); the
  repeated entries of a path (the module called once per sample, a user scope entered in a
  loop) fold into that one box, which says how many calls it stands for (``×100``). A
  parameter used in one box only is listed inside it;
* outside every scope, what repeats alongside such a box folds too: nodes computed from
  something repeated fold with the nodes of the same operation on the same inputs (the loss of
  each sample), a run of one operation (the sum ``sum()`` builds) folds into one node, and the
  leaves feeding something repeated fold with the leaves of their kind that feed the same
  things. A folded node says how many Values it stands for.

Everything is linear in the graph's size: one topological order, then a few passes over it with
dictionaries; the ``max_nodes`` check comes before any drawing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tinygrad_edu import Parameter, Scope, Value, local_derivatives, topological_order
from tinygrad_edu.explain import Kind, kind_of

from .options import DrawOptions

__all__ = [
    "Kind",
    "kind_of",
    "ValueNode",
    "OpNode",
    "ScopeBox",
    "Edge",
    "Cluster",
    "Graph",
    "TooManyNodesError",
    "build_graph",
    "name_inside",
    "op_id",
    "shown_parameters",
    "grad_cells",
]


@dataclass(frozen=True, eq=False)
class ValueNode:
    """A Value drawn as a box with its name, data and grad.

    ``values`` holds the Value drawn, or, for a node folded by ``collapse=True``, every Value it
    stands for (the first one is ``value``). ``name`` is the label, shortened inside a cluster to
    the part after the cluster's path (``w.0`` in the cluster of ``layers.0 / neurons.3``).
    """

    id: str
    values: tuple[Value, ...]
    kind: Kind
    name: str

    @property
    def value(self) -> Value:
        """The Value drawn (the first of those a folded node stands for)."""
        return self.values[0]

    @property
    def count(self) -> int:
        """How many Values the node stands for (1 unless folded)."""
        return len(self.values)


@dataclass(frozen=True, eq=False)
class OpNode:
    """The small node of the operation that computed ``output`` (its op is ``output.op``);
    ``count`` is how many such operations a folded node stands for."""

    id: str
    output: Value
    count: int = 1


@dataclass(frozen=True, eq=False)
class ScopeBox:
    """Every entry of one scope path drawn as a single box (``collapse=True``).

    ``path`` is the scope path (``MLP/layers.0/neurons.3``), ``title`` what the box is headed
    with, ``calls`` how many entries it stands for. ``inputs`` counts the Values from outside
    that one entry reads and ``ops`` the operations one entry records, in order of first use
    (``(("*", 2), ("+", 2), ("tanh", 1))``). ``parameters`` are the Parameters used in this box
    only (with ``parameter_names``, their labels as read inside the box); ``outputs`` are the
    Values computed inside and used outside (one per call for a Neuron); ``size`` is how many
    Values the box hides.
    """

    id: str
    path: str
    title: str
    calls: int
    inputs: int
    ops: tuple[tuple[str, int], ...]
    parameters: tuple[Value, ...]
    parameter_names: tuple[str, ...]
    outputs: tuple[Value, ...]
    size: int


@dataclass(frozen=True, eq=False)
class Edge:
    """An arrow from node ``tail`` to node ``head`` (ids of the nodes above).

    ``node`` is a computed Value the edge belongs to. An edge into an operation carries one of
    ``node``'s inputs: ``source`` is that input and ``local`` the chain-rule factor
    d node / d source. The edge from an operation to its output, edges into a box, and edges
    that stand for several Values (folded) have ``local`` None.
    """

    tail: str
    head: str
    node: Value
    source: Value | None = None
    local: float | None = None


@dataclass(eq=False)
class Cluster:
    """A labelled group of nodes (the ids in ``node_ids``): a scope entry, or with collapse a
    scope path; ``children`` nest as the scopes do."""

    id: str
    label: str
    node_ids: list[str] = field(default_factory=list)
    children: list[Cluster] = field(default_factory=list)


@dataclass(eq=False)
class Graph:
    """What a diagram shows, in drawing order (inputs before the nodes computed from them).

    ``drawn_as`` maps every Value of the graph to the id of the node that shows it: its own
    value node, the folded node it is part of, or the box that hides it.
    """

    root: Value
    root_id: str
    values: list[ValueNode]
    ops: list[OpNode]
    boxes: list[ScopeBox]
    edges: list[Edge]
    clusters: list[Cluster]
    drawn_as: dict[Value, str]

    @property
    def node_count(self) -> int:
        """The value nodes and boxes (operation nodes are not counted: each belongs to the value
        it computes)."""
        return len(self.values) + len(self.boxes)


class TooManyNodesError(ValueError):
    """The graph has more nodes than ``max_nodes`` allows."""


def _too_many(count: int, options: DrawOptions) -> TooManyNodesError:
    hint = (
        ""
        if options.collapse
        else "draw each scope (each nn module call) as one box with collapse=True, or "
    )
    return TooManyNodesError(
        f"the graph has {count} value nodes, more than max_nodes={options.max_nodes}: "
        f"Graphviz would draw an unreadable picture. To draw it anyway, {hint}"
        f"pass a larger max_nodes (max_nodes={count} is enough)"
    )


def op_id(value_id: str) -> str:
    """The id of the operation node drawn in front of the value node ``value_id``."""
    return "op" + value_id[1:]


# --- names inside clusters and boxes ---------------------------------------------------------


def name_inside(label: str, path: str) -> str:
    """``label`` as read inside the scope ``path``: without the part of the path it repeats.

    ``nn`` labels a parameter with its dotted path (``layers.0.neurons.3.w.1``) while the scope
    of the call is ``MLP/layers.0/neurons.3``: inside it, the parameter reads ``w.1``; inside
    ``MLP/layers.0`` it reads ``neurons.3.w.1``. Any other label is kept as it is.
    """
    if not path or not label:
        return label
    parts = path.split("/")
    for start in range(len(parts)):
        prefix = ".".join(parts[start:]) + "."
        if label.startswith(prefix) and len(label) > len(prefix):
            return label[len(prefix) :]
    return label


def _title(path: str) -> str:
    """A scope path as a heading: ``MLP / layers.0 / neurons.3``."""
    return " / ".join(path.split("/"))


# --- scopes: entries, their nesting, and where a leaf belongs --------------------------------


def _depth(entry: Scope) -> int:
    depth = 0
    parent = entry.parent
    while parent is not None:
        depth += 1
        parent = parent.parent
    return depth


def _common(a: Scope | None, b: Scope | None) -> Scope | None:
    """The innermost scope entry that encloses both entries (None: only the top level)."""
    if a is b:
        return a
    if a is None or b is None:
        return None
    depth_a, depth_b = _depth(a), _depth(b)
    here: Scope | None = a
    there: Scope | None = b
    for _ in range(depth_a - depth_b):
        here = here.parent if here is not None else None
    for _ in range(depth_b - depth_a):
        there = there.parent if there is not None else None
    while here is not there and here is not None and there is not None:
        here, there = here.parent, there.parent
    return here if here is there else None


def _entry_homes(order: list[Value]) -> dict[Value, Scope]:
    """The scope entry each Value is drawn in: where it was recorded; for a leaf made outside
    every scope, the innermost entry that holds all its uses (Values at the top level are left
    out)."""
    homes: dict[Value, Scope] = {}
    uses: dict[Value, Scope | None] = {}
    for value in order:
        entry = value.scope or None
        if entry is not None:
            homes[value] = entry
        if not value.op:
            continue
        for source in value.inputs:
            if source.op or source.scope:
                continue
            uses[source] = _common(uses[source], entry) if source in uses else entry
    for leaf, entry in uses.items():
        if entry is not None:
            homes[leaf] = entry
    return homes


def _merged(clusters: list[Cluster]) -> list[Cluster]:
    """Clusters with a cluster that holds nothing but one other merged into it, its label in
    front (``model / MLP``), and empty clusters dropped."""
    kept = []
    for cluster in clusters:
        cluster.children = _merged(cluster.children)
        while not cluster.node_ids and len(cluster.children) == 1:
            child = cluster.children[0]
            child.label = f"{cluster.label} / {child.label}"
            cluster = child
        if cluster.node_ids or cluster.children:
            kept.append(cluster)
    return kept


def _entry_clusters(graph: Graph, homes: dict[Value, Scope]) -> list[Cluster]:
    """A cluster per scope entry, nested as the entries are; each node in its home's cluster."""
    clusters: dict[int, Cluster] = {}  # by id(): equal paths of two entries are two clusters
    top: list[Cluster] = []

    def cluster_of(entry: Scope) -> Cluster:
        found = clusters.get(id(entry))
        if found is not None:
            return found
        made = Cluster(f"cluster_{len(clusters)}", entry.name)
        clusters[id(entry)] = made
        parent = entry.parent
        (cluster_of(parent).children if parent is not None else top).append(made)
        return made

    # Computed nodes first: a cluster is made when its first operation is met, so clusters come
    # in the order the program ran them (a leaf, such as a Parameter, is met earlier).
    for computed in (True, False):
        for node in graph.values:
            entry = homes.get(node.value)
            if entry is None or bool(node.value.op) is not computed:
                continue
            ids = cluster_of(entry).node_ids
            ids.append(node.id)
            if computed:
                ids.append(op_id(node.id))
    return _merged(top)


# --- every node drawn ------------------------------------------------------------------------


def _full_graph(root: Value, order: list[Value], homes: dict[Value, Scope] | None) -> Graph:
    """A value node per Value and an operation node per computed Value."""
    ids = {value: f"v{k}" for k, value in enumerate(order)}
    values: list[ValueNode] = []
    ops: list[OpNode] = []
    edges: list[Edge] = []
    for value in order:
        value_id = ids[value]
        name = value.label
        if homes is not None and value in homes:
            name = name_inside(name, homes[value])
        values.append(ValueNode(value_id, (value,), kind_of(value), name))
        if not value.op:
            continue
        operation = op_id(value_id)
        ops.append(OpNode(operation, value))
        for source, local in zip(value.inputs, local_derivatives(value)):
            edges.append(Edge(ids[source], operation, value, source, local))
        edges.append(Edge(operation, value_id, value))
    return Graph(root, ids[root], values, ops, [], edges, [], ids)


# --- collapse: boxes and folds ---------------------------------------------------------------


@dataclass(eq=False)
class _Box:
    id: str
    path: Scope  # the first entry of the path
    entries: set[int] = field(default_factory=set)  # id() of each entry of the path
    members: int = 0
    first_entry: list[Value] = field(default_factory=list)  # computed in the first entry
    parameters: list[Value] = field(default_factory=list)
    outputs: dict[Value, None] = field(default_factory=dict)


class _Fold:
    """Values drawn as one node: a single Value, or several folded together."""

    __slots__ = ("id", "members", "repeats")

    def __init__(self, first: Value, position: int, repeats: bool) -> None:
        self.id = f"v{position}"
        self.members = [first]
        self.repeats = repeats  # it stands for something repeated: what it feeds may fold


_Unit = _Box | _Fold
_MANY = Scope("")  # a Parameter used in more than one box path


def _repeats(unit: _Unit | None) -> bool:
    if isinstance(unit, _Box):
        return len(unit.entries) > 1
    return unit is not None and unit.repeats


class _Collapser:
    """Assigns every Value of the graph to the node that shows it under ``collapse=True``."""

    def __init__(self, root: Value, order: list[Value]) -> None:
        self.root = root
        self.order = order
        self.position = {value: k for k, value in enumerate(order)}
        self.unit: dict[Value, _Unit] = {}
        self.boxes: dict[str, _Box] = {}  # by path (a Scope compares as its path)
        self.uses: Counter[Value] = Counter()
        self.parameter_box: dict[Value, Scope] = {}
        self.folds: dict[object, _Fold] = {}

    # pass 1: how often each Value is used, a box for each path with its entries, the box of
    # each Parameter
    def survey(self) -> None:
        parameter_box, uses = self.parameter_box, self.uses
        depth: dict[Value, int] = {}  # the longest chain of operations that leads to a Value
        first: dict[str, int] = {}  # the depth of each path's earliest operation
        for value in self.order:
            if not value.op:
                continue
            level = 1 + max(depth.get(source, 0) for source in value.inputs)
            depth[value] = level
            entry = value.scope
            if entry:
                self.box(entry).entries.add(id(entry))
                first[entry] = min(first.get(entry, level), level)
            for source in value.inputs:
                uses[source] += 1
                if isinstance(source, Parameter) and entry:
                    seen = parameter_box.setdefault(source, entry)
                    if seen is not _MANY and seen != entry:
                        parameter_box[source] = _MANY
        # Boxes in the order data flows through them (layer 0's neurons, then layer 1's), not
        # in the order of the walk, which goes deep first.
        ordered = sorted(self.boxes.items(), key=lambda item: first[item[0]])
        self.boxes = dict(ordered)
        for k, box in enumerate(self.boxes.values()):
            box.id = f"box{k}"

    def box(self, path: Scope) -> _Box:
        found = self.boxes.get(path)
        if found is None:
            found = self.boxes[path] = _Box(f"box{len(self.boxes)}", path)
        return found

    def new_fold(self, value: Value, repeats: bool) -> _Fold:
        return _Fold(value, self.position[value], repeats)

    def leaf_box(self, leaf: Value) -> _Box | None:
        """The box a leaf is drawn inside, if any: a Parameter used in one box path only, or a
        leaf recorded inside a box's scope."""
        if isinstance(leaf, Parameter):
            path = self.parameter_box.get(leaf)
            if path is not None and path is not _MANY:
                return self.box(path)
        if leaf.scope and leaf.scope in self.boxes:
            return self.box(leaf.scope)
        return None

    def cls(self, value: Value) -> object:
        """What an input counts as when deciding whether two operations are the same: a leaf
        by its kind (an input also by its label), a computed Value by the node showing it."""
        if value.op:
            return self.unit[value]
        kind = kind_of(value)
        return (kind, value.label) if kind == "input" else kind

    # pass 2: computed Values and the leaves that boxes hide
    def place(self) -> list[Value]:
        """Give a node to every computed Value and every leaf a box hides; return the other
        leaves (placed once everything they feed is placed)."""
        unit, uses, root = self.unit, self.uses, self.root
        deferred = []
        for value in self.order:
            if not value.op:
                box = self.leaf_box(value)
                if box is None:
                    deferred.append(value)
                    continue
                unit[value] = box
                box.members += 1
                if isinstance(value, Parameter):
                    box.parameters.append(value)
                continue
            if value.scope:
                box = self.box(value.scope)
                unit[value] = box
                box.members += 1
                if value.scope is box.path:
                    box.first_entry.append(value)
                continue
            inputs = value.inputs
            if value is root or not any(_repeats(unit.get(i)) for i in inputs):
                unit[value] = self.new_fold(value, repeats=False)
                continue
            # A run of one operation (a + b + c + ..., as sum() builds it) is one node.
            run = next(
                (
                    unit[i]
                    for i in inputs
                    if i.op == value.op and not i.scope and uses[i] == 1 and i is not root
                ),
                None,
            )
            if isinstance(run, _Fold):
                run.members.append(value)
                run.repeats = True
                unit[value] = run
                continue
            key = (value.op, value.label, tuple(self.cls(i) for i in inputs))
            fold = self.folds.get(key)
            if fold is None:
                fold = self.folds[key] = self.new_fold(value, repeats=True)
            else:
                fold.members.append(value)
            unit[value] = fold
        return deferred

    # pass 3: the other leaves, folded when they feed something repeated
    def place_leaves(self, leaves: list[Value]) -> None:
        unit = self.unit
        if not leaves:
            return
        pending = set(leaves)
        feeds: dict[Value, dict[_Unit, None]] = {leaf: {} for leaf in leaves}
        for value in self.order:
            if value.op:
                for source in value.inputs:
                    if source in pending:
                        feeds[source][unit[value]] = None
        folds: dict[object, _Fold] = {}
        for leaf in leaves:
            targets = feeds[leaf]
            if not any(_repeats(target) for target in targets):
                unit[leaf] = self.new_fold(leaf, repeats=False)
                continue
            key = (kind_of(leaf), leaf.label, frozenset(map(id, targets)))
            fold = folds.get(key)
            if fold is None:
                fold = folds[key] = self.new_fold(leaf, repeats=True)
            else:
                fold.members.append(leaf)
            unit[leaf] = fold

    def drawn_units(self) -> tuple[list[_Fold], list[_Box]]:
        folds: dict[_Fold, None] = {}
        for value in self.order:
            found = self.unit[value]
            if isinstance(found, _Fold):
                folds[found] = None
        return list(folds), list(self.boxes.values())

    # pass 4: edges between the drawn nodes, each pair joined once
    def edges(self) -> list[Edge]:
        unit = self.unit
        joined: dict[tuple[str, str], tuple[Value, Value | None, int | None, int]] = {}

        def join(tail: str, head: str, node: Value, source: Value | None, k: int | None) -> None:
            seen = joined.get((tail, head))
            if seen is None:
                joined[(tail, head)] = (node, source, k, 1)
            else:
                joined[(tail, head)] = (*seen[:3], seen[3] + 1)

        for value in self.order:
            if not value.op:
                continue
            target = unit[value]
            head = target.id if isinstance(target, _Box) else op_id(target.id)
            for k, source in enumerate(value.inputs):
                feeder = unit[source]
                if feeder is target:
                    continue  # inside a box, or the next link of a folded run
                if isinstance(feeder, _Box) and source.op:
                    feeder.outputs[source] = None
                join(feeder.id, head, value, source, k if isinstance(target, _Fold) else None)
            if isinstance(target, _Fold):
                join(head, target.id, value, None, None)
        root_unit = unit[self.root]
        if isinstance(root_unit, _Box):
            root_unit.outputs[self.root] = None
        edges = []
        for (tail, head), (node, carried, index, count) in joined.items():
            local = local_derivatives(node)[index] if count == 1 and index is not None else None
            edges.append(Edge(tail, head, node, carried if count == 1 else None, local))
        return edges

    def scope_box(self, box: _Box, title: str) -> ScopeBox:
        reads: dict[Value, None] = {}
        for value in box.first_entry:
            for source in value.inputs:
                if self.unit[source] is not box:
                    reads[source] = None
        ops = Counter(value.op for value in box.first_entry)
        names = tuple(name_inside(p.label, box.path) for p in box.parameters)
        return ScopeBox(
            box.id,
            str(box.path),
            title,
            len(box.entries),
            len(reads),
            tuple(ops.items()),
            tuple(box.parameters),
            names,
            tuple(box.outputs),
            box.members,
        )


def _fold_name(fold: _Fold, path: str) -> str:
    labels = {value.label for value in fold.members}
    return name_inside(fold.members[0].label, path) if len(labels) == 1 else ""


def _collapsed_graph(root: Value, order: list[Value], options: DrawOptions) -> Graph:
    """The graph with each scope path as one box and what repeats alongside folded."""
    collapser = _Collapser(root, order)
    collapser.survey()
    collapser.place_leaves(collapser.place())
    folds, boxes = collapser.drawn_units()
    if len(folds) + len(boxes) > options.max_nodes:
        raise _too_many(len(folds) + len(boxes), options)
    edges = collapser.edges()  # also finds each box's outputs
    homes = _path_homes(folds) if options.cluster else {}
    values, ops = [], []
    for fold in folds:
        first = fold.members[0]
        name = _fold_name(fold, homes.get(fold.id, ""))
        values.append(ValueNode(fold.id, tuple(fold.members), kind_of(first), name))
        if first.op:
            ops.append(OpNode(op_id(fold.id), first, len(fold.members)))
    scope_boxes = [
        collapser.scope_box(box, box.path.name if options.cluster else _title(box.path))
        for box in boxes
    ]
    drawn_as = {value: found.id for value, found in collapser.unit.items()}
    graph = Graph(root, drawn_as[root], values, ops, scope_boxes, edges, [], drawn_as)
    if options.cluster:
        graph.clusters = _path_clusters(collapser.order, boxes, folds)
    return graph


def _path_homes(folds: list[_Fold]) -> dict[str, str]:
    """The scope path of each folded leaf recorded in a scope that has no box."""
    return {
        fold.id: str(fold.members[0].scope)
        for fold in folds
        if not fold.members[0].op and fold.members[0].scope
    }


def _path_clusters(order: list[Value], boxes: list[_Box], folds: list[_Fold]) -> list[Cluster]:
    """A cluster per scope path around the boxes (``layers.0 ×100``: the path's entries),
    nested as the paths are. A box whose path is at the top level needs none."""
    entries: dict[str, set[int]] = {}  # path -> ids of its entries
    first: dict[str, Scope] = {}  # path -> its first entry, which knows its parent and name
    for value in order:
        entry: Scope | None = value.scope or None
        while entry is not None and id(entry) not in entries.setdefault(entry, set()):
            entries[entry].add(id(entry))
            first.setdefault(entry, entry)
            entry = entry.parent
    clusters: dict[str, Cluster] = {}
    top: list[Cluster] = []

    def cluster_of(path: str) -> Cluster:
        found = clusters.get(path)
        if found is not None:
            return found
        entry, calls = first[path], len(entries[path])
        made = Cluster(f"cluster_{len(clusters)}", entry.name + (f" ×{calls}" if calls > 1 else ""))
        clusters[path] = made
        parent = entry.parent
        (cluster_of(parent).children if parent is not None else top).append(made)
        return made

    for box in boxes:
        if box.path.parent is not None:
            cluster_of(box.path.parent).node_ids.append(box.id)
    for fold in folds:
        leaf = fold.members[0]
        if not leaf.op and leaf.scope:
            cluster_of(leaf.scope).node_ids.append(fold.id)
    return _merged(top)


MOST_PARAMETERS_SHOWN = 6
"""A box lists at most this many parameters: past it, the first four, the last, and a count."""


def shown_parameters(box: ScopeBox) -> tuple[Value, ...]:
    """The parameters a box lists (all of them, or the first four and the last)."""
    if len(box.parameters) <= MOST_PARAMETERS_SHOWN:
        return box.parameters
    return (*box.parameters[:4], box.parameters[-1])


def grad_cells(graph: Graph) -> dict[str, tuple[Value, ...]]:
    """Every gradient a diagram prints, by the id of its cell: the Values whose gradients the
    cell shows (one, or several for a folded node or a box's outputs)."""
    cells = {f"{node.id}-grad": node.values for node in graph.values}
    for box in graph.boxes:
        for k, parameter in enumerate(shown_parameters(box)):
            cells[f"{box.id}-p{k}"] = (parameter,)
        if box.outputs:
            cells[f"{box.id}-out"] = box.outputs
    return cells


def build_graph(root: Value, options: DrawOptions, *, order: list[Value] | None = None) -> Graph:
    """Everything the diagram of ``root`` shows, under ``options`` (cluster, collapse and
    max_nodes shape the graph; the other options only change how it is drawn).

    Raises :class:`TooManyNodesError` when more than ``options.max_nodes`` value nodes (boxes
    and folded nodes counted once) would be drawn; without collapse that is checked right after
    the walk, before anything else is built. ``order`` is ``topological_order(root)``, if the
    caller has walked the graph already (the walk is not repeated).
    """
    if not isinstance(root, Value):
        raise TypeError(f"viz draws a Value, not {type(root).__name__}")
    if order is None:
        order = topological_order(root)
    if options.collapse:
        return _collapsed_graph(root, order, options)
    if len(order) > options.max_nodes:
        raise _too_many(len(order), options)
    homes = _entry_homes(order) if options.cluster else None
    graph = _full_graph(root, order, homes)
    if homes is not None:
        graph.clusters = _entry_clusters(graph, homes)
    return graph
