"""The compiled replay's stages, each on its own: trace, graph arrays, schedule, program.

``tinygrad_edu.compile`` is these four run one after the other; each test here runs one stage
on a graph small enough to check by hand.
"""

from __future__ import annotations

import functools
import gc
import random

import numpy as np

from tinygrad_edu import Value, nn, scope
from tinygrad_edu.collector import paused
from tinygrad_edu.compile import NARROW, Program
from tinygrad_edu.compile.graph import depths, read_graph
from tinygrad_edu.compile.grids import MINIMUM, find_grids, unique_rows
from tinygrad_edu.compile.schedule import Group, RunningSums, Scalars, make_groups, plan
from tinygrad_edu.compile.trace import (
    flat_floats,
    modules_reached,
    roots,
    run,
    structure_of,
)
from tinygrad_edu.engine import inputs_of, scopes_of, topological_order

# --- stage 1: the trace ------------------------------------------------------------------------


def test_floats_are_inputs_and_integers_are_part_of_the_structure() -> None:
    floats: list[object] = []
    key = structure_of([1.5, 2.5], floats, "args[0]")
    assert key == (list, float, 2) and floats == [1.5, 2.5]
    labels: list[object] = []
    assert structure_of([0, 3], labels, "args[1]") == (list, int, (0, 3)) and labels == []
    assert flat_floats([1.5, np.array([[2.0, 3.0]]), 4.0]).tolist() == [1.5, 2.0, 3.0, 4.0]


def test_the_trace_runs_fn_on_values_made_from_the_floats() -> None:
    w = Value(2.0)
    traced = run(lambda x, n: [w * x] * n, (3.0, 2), "fn")
    assert [v.data for v in traced.inputs] == [3.0]
    assert [r.data for r in traced.results] == [6.0, 6.0]
    assert traced.results[0].scope == "fn" == traced.made_here


def test_the_modules_fn_reaches_are_found_with_the_modules_inside_them() -> None:
    model = nn.MLP(2, [3, 1], rng=random.Random(0))
    found = modules_reached(lambda x: model(x))
    assert found[0] is model and len(found) == 1 + 2 + 4  # the MLP, 2 layers, 4 neurons


def test_what_a_trace_made_leaves_the_youngest_generation_so_no_collection_scans_it() -> None:
    with paused():
        graph = [[] for _ in range(100_000)]  # tracked objects, alive after the pause
    assert gc.get_count()[0] < 1000  # moved on: the next collection does not scan them
    assert len(graph) == 100_000


def test_the_collector_pause_leaves_a_programs_own_freeze_in_place() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with paused():
            made = [[] for _ in range(1000)]
        assert gc.get_freeze_count() == frozen and len(made) == 1000
    finally:
        gc.unfreeze()


# --- stage 2: graph arrays -------------------------------------------------------------------


def test_the_graph_is_read_into_arrays_in_topological_order() -> None:
    w = Value(2.0)
    tied = w * 3.0  # computed before the call: a leaf of the graph
    traced = run(lambda x: (x * tied + x).tanh(), (0.5,), "fn")
    graph = read_graph(roots(traced), traced.made_here)
    ops = [graph.names[code] for code in graph.op]
    assert ops == ["", "", "*", "+", "tanh"]  # x, tied (read as a leaf), x*tied, +, tanh
    assert graph.nodes[1] is tied
    assert graph.a.tolist() == [-1, -1, 0, 2, 3] and graph.b.tolist() == [-1, -1, 1, 0, -1]
    assert graph.outputs.tolist() == [4]
    assert depths(graph.a, graph.b).tolist() == [0, 0, 1, 2, 3]


def _random_graphs(rng: random.Random, before: list[Value], outputs: int, x: Value) -> list[Value]:
    """Random graphs over ``x`` and the Values ``before``: nodes reused, x * x, constants."""
    pool = [x, *before]
    for _ in range(rng.randrange(1, 80 * outputs)):
        u, v = rng.choice(pool), rng.choice(pool)
        kind = rng.randrange(4)
        if kind == 0:
            pool.append(u.tanh())
        else:
            pool.append(u * v if kind == 1 else u + 0.5 if kind == 2 else u - v)
    return [sum(pool[-5 - k :], pool[-1 - k]) for k in range(outputs)]


def test_read_graph_gives_the_engines_walk_and_each_inputs_position() -> None:
    """Property, on random graphs: the order is ``topological_order``'s (walked from a node that
    joins the results when there are several), and ``a``, ``b`` hold the positions of each
    node's ``inputs``; a node computed before the call is a leaf, and nothing below it is read."""
    for seed in range(40):
        rng = random.Random(seed)
        params = [Value(rng.uniform(-1, 1)) for _ in range(3)]
        before = params + [params[0] * params[1], (params[2] - 1.0).tanh()][: seed % 3]
        fn = functools.partial(_random_graphs, rng, before, 1 + seed % 2)
        traced = run(fn, (0.5,), "f")
        results = traced.results
        graph = read_graph(roots(traced), traced.made_here)
        computed_before = {node for node in before if node.op}
        if computed_before.isdisjoint(graph.nodes):
            if len(results) == 1:
                assert graph.nodes == topological_order(results[0])
            else:  # the joining node, last, is left out
                assert graph.nodes == topological_order(results[0] + results[1])[:-1]
        at = {node: i for i, node in enumerate(graph.nodes)}
        assert len(at) == len(graph.nodes)
        for i, node in enumerate(graph.nodes):
            cut = node in computed_before
            inputs = [] if cut else [at[x] for x in node.inputs]
            assert [graph.a[i], graph.b[i]] == (inputs + [-1, -1])[:2]
            assert graph.names[graph.op[i]] == ("" if cut else node.op)
            assert graph.data[i] == node.data
        assert [graph.nodes[i] for i in graph.outputs] == results
        assert set(graph.nodes) == _reached(results, computed_before)


def test_depths_are_one_more_than_the_deepest_input_on_random_graphs() -> None:
    """Property: depths() equals the definition run node by node in topological order, on
    random graphs with shared nodes, x * x and nodes with both inputs at one depth."""
    for seed in range(40):
        rng = random.Random(seed)
        params = [Value(rng.uniform(-1, 1)) for _ in range(3)]
        traced = run(functools.partial(_random_graphs, rng, params, 1 + seed % 2), (0.5,), "f")
        graph = read_graph(roots(traced), traced.made_here)
        expected = [0] * graph.op.size
        for i, (a, b) in enumerate(zip(graph.a.tolist(), graph.b.tolist())):
            if a >= 0:
                expected[i] = 1 + max(expected[a], expected[b] if b >= 0 else 0)
        assert depths(graph.a, graph.b).tolist() == expected


def _reached(results: list[Value], leaves: set[Value]) -> set[Value]:
    seen: set[Value] = set()
    todo = list(results)
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += [] if node in leaves else node.inputs
    return seen


def test_a_chain_of_a_million_nodes_is_read_without_recursion() -> None:
    w = Value(1.0)

    def chain(x: Value) -> Value:
        for _ in range(1_000_000):
            x = x * w
        return x

    traced = run(chain, (0.5,), "chain")
    graph = read_graph(roots(traced), traced.made_here)
    assert graph.op.size == 1_000_002 and graph.outputs.tolist() == [1_000_001]
    assert graph.a[2:].tolist() == [0, *range(2, 1_000_001)] and set(graph.b[2:].tolist()) == {1}


def test_the_engine_reads_inputs_and_scopes_as_columns() -> None:
    x, w = Value(1.0), Value(2.0)
    with scope("layer"):
        y = x * w
        z = y.tanh()
    with scope("layer"):  # another entry of the same name: another scope
        t = z + 1.0
    firsts, seconds = inputs_of([x, y, z])
    assert list(firsts) == [None, x, y] and list(seconds) == [None, w, None]
    assert y.scope == t.scope == "layer"
    assert {id(where) for where in scopes_of([y, z, t])} == {id(y.scope), id(t.scope)}


# --- stage 3: the schedule ---------------------------------------------------------------------


def _batch(n: int) -> tuple[Program, list[Group]]:
    """The program of sum(relu(w * x) for x in xs) over n samples, and its groups."""
    w = Value(0.5)
    traced = run(lambda xs: sum((w * x).relu() for x in xs), ([float(i) for i in range(n)],), "f")
    graph = read_graph(roots(traced), traced.made_here)
    position = np.empty(len(graph.nodes), np.int64)
    leaves = np.flatnonzero(graph.op == 0)
    position[leaves] = np.arange(leaves.size)
    return Program(graph, traced, keep=False), make_groups(graph, position, leaves.size, 1)


def test_nodes_of_one_depth_and_one_operation_make_one_group() -> None:
    program, groups = _batch(20)
    steps = [(step.depth, step.op, step.size) for step in program.schedule]
    assert steps[:2] == [(1, "*", 20), (2, "relu", 20)]  # every sample's product at once
    # the running sum 0 + t0 + t1 + ...: 20 additions, one step that adds left to right
    assert [(step.op, step.size) for step in program.schedule[2:]] == [("sum", 20)]
    (sums,) = groups[2:]
    assert isinstance(sums, RunningSums) and (sums.S, sums.L) == (1, 21)


def test_running_sums_add_left_to_right_as_the_interpreter_does() -> None:
    rng = np.random.default_rng(0)
    terms = (rng.normal(size=(40, 30)) * 10.0 ** rng.integers(-12, 12, size=(40, 30))).tolist()
    fn = lambda rows: [sum(row[1:], row[0]) for row in rows]  # noqa: E731
    traced = run(fn, (terms,), "f")
    graph = read_graph(roots(traced), traced.made_here)
    program = Program(graph, traced, keep=False)
    assert [step.op for step in program.schedule] == ["sum"]
    replayed = program.results(program.forward(np.array(terms).ravel())).tolist()
    assert replayed == [sum(row[1:], row[0]) for row in terms]  # bit for bit


def test_narrow_groups_are_joined_into_runs_computed_node_by_node() -> None:
    w = Value(0.5)

    def chain(xs: list[Value]) -> Value:
        wide = sum(x.relu() for x in xs)  # 20 relu at once, then a running sum
        for _ in range(10):
            wide = (wide * w).tanh()  # one node per depth: narrow
        return wide

    traced = run(chain, ([float(i) for i in range(20)],), "f")
    graph = read_graph(roots(traced), traced.made_here)
    position = np.empty(len(graph.nodes), np.int64)
    leaves = np.flatnonzero(graph.op == 0)
    position[leaves] = np.arange(leaves.size)
    steps = plan(make_groups(graph, position, leaves.size, 1))
    kinds = [Group, RunningSums, Scalars]
    assert len(steps) == 3 and all(isinstance(s, kind) for s, kind in zip(steps, kinds))
    assert steps[0].stop - steps[0].start == 20 and NARROW <= 20
    assert steps[2].stop - steps[2].start == 20  # the ten products and ten tanh, one run


def test_make_groups_numbers_the_nodes_group_after_group() -> None:
    w = Value(0.5)
    traced = run(lambda xs: [w * x for x in xs], ([1.0, 2.0, 3.0],), "f")
    graph = read_graph(roots(traced), traced.made_here)
    position = np.empty(len(graph.nodes), np.int64)
    leaves = np.flatnonzero(graph.op == 0)
    position[leaves] = np.arange(leaves.size)
    (group,) = make_groups(graph, position, leaves.size, 1)
    assert (group.op, group.start, group.stop) == ("*", 4, 7)
    values = np.zeros(7)
    values[position[leaves]] = graph.data[leaves]
    group.forward(values)
    assert values[4:].tolist() == [0.5, 1.0, 1.5]


# --- stage 4: the program ----------------------------------------------------------------------


def test_a_program_replays_forward_and_backward_on_arrays_of_its_own() -> None:
    program, _ = _batch(20)
    (w,) = program.parameters
    first = program.forward(np.arange(20.0))
    second = program.forward(np.arange(20.0) * 2)
    assert program.results(first).tolist() == [0.5 * sum(range(20))]
    assert program.results(second).tolist() == [1.0 * sum(range(20))]
    program.backward(0, first)  # the first call's own values
    assert w.grad == sum(range(20))


# --- between graph arrays and the schedule: grids ----------------------------------------------


def test_a_layers_weighted_sums_are_found_as_a_grid_of_samples_by_neurons() -> None:
    model = nn.MLP(8, [6, 1], rng=random.Random(0))
    X = np.random.default_rng(0).normal(size=(5, 8))
    traced = run(lambda X: [model(row) for row in X], (X,), "f")
    graph = read_graph(roots(traced), traced.made_here)
    (grid,) = find_grids(graph, depths(graph.a, graph.b))  # the last layer: 5 x 1 x 6 < MINIMUM
    assert grid.ends.shape == (5, 6) and grid.u.shape == (6, 8) and grid.v.shape == (5, 8)
    first = model.layers[0].neurons
    assert [graph.nodes[i] for i in grid.u[2]] == list(first[2].w)  # row j: neuron j's weights
    assert all(graph.nodes[i] is first[j].b for j, i in enumerate(grid.bias[3]))
    assert grid.inner.size == 5 * 6 * (8 + 7)  # the products and all but the last partial sum
    assert MINIMUM > 5 * 1 * 6


def test_unique_rows_are_numpys_whether_or_not_the_first_column_tells_them_apart() -> None:
    rng = np.random.default_rng(0)
    apart = np.column_stack([np.arange(-100, 100), rng.integers(-3, 3, size=(200, 3))])
    shared = rng.integers(-3, 3, size=(200, 4))  # rows that differ after the first column
    for distinct in (apart, shared):
        rows = distinct[rng.integers(0, 200, size=500)]  # each row many times, shuffled
        found, inverse = unique_rows(rows)
        expected, expected_inverse = np.unique(rows, axis=0, return_inverse=True)
        assert np.array_equal(found, expected)
        assert np.array_equal(inverse.ravel(), expected_inverse.ravel())
