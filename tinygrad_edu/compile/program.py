"""Stage 4, the program: the schedule run over a value array, forward and backward.

A :class:`Program` places the leaves first in its value array (the parameters, read at every
call; the arguments' floats; the drawn leaves; the constants), then runs its plan step by step:
forward in order, backward in reverse, each call in arrays of its own. ``check=True`` compares
it with a new interpreter run and names the node where they part.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any, NamedTuple

import numpy as np

from ..bulk import read_data
from ..engine import Value, backward_from
from ..hooks import Classify, Sampler, Update, name_of, sample
from ..ops import OPS, Op
from .graph import INDEX, Graph, everywhere, reachable, read_graph
from .grids import Grid
from .schedule import (
    Group,
    MatMul,
    RunningSums,
    Scalars,
    Step,
    levels,
    make_groups,
    plan,
    positions_of,
)
from .trace import Run, drawn_leaves, drawn_numbers, recorded_in, roots

RTOL, ATOL = 1e-9, 1e-12
"""``check=True``: a replayed value agrees with the interpreter's when within these tolerances."""


class _Layout(NamedTuple):
    """What ``check=True`` compares a new interpreter run against: the traced graph's shape."""

    names: list[str]
    op: np.ndarray
    a: np.ndarray
    b: np.ndarray
    position: np.ndarray  # the traced node i is values[position[i]]
    parameters: list[int]  # where the parameters are in topological order
    shape: Hashable


class _Leaves(NamedTuple):
    """The traced graph's leaves by kind, as positions in topological order: the parameters
    (leaves fn did not make), the arguments' floats and the drawn leaves, in the order of the
    trace (-1 for one the graph does not hold), and the constants (leaves recorded inside fn's
    scope)."""

    parameters: list[int]
    inputs: np.ndarray
    drawn: np.ndarray
    constants: list[int]


def _leaves(graph: Graph, run: Run) -> _Leaves:
    """The traced graph's leaves, by kind (see :class:`_Leaves`)."""
    made_by_draw = drawn_leaves(run.trace)
    index = {id(v): (0, k) for k, v in enumerate(run.inputs)}
    index.update((id(v), (1, k)) for k, v in enumerate(made_by_draw))
    parameters, constants = [], []
    inputs = np.full(len(run.inputs), -1, np.int64)
    drawn = np.full(len(made_by_draw), -1, np.int64)
    for i in np.flatnonzero(graph.op == 0).tolist():
        node = graph.nodes[i]
        kind, k = index.get(id(node), (-1, -1))
        if kind == 0:
            inputs[k] = i
        elif kind == 1:
            drawn[k] = i
        elif recorded_in(node, run.made_here):
            constants.append(i)
        else:
            parameters.append(i)
    return _Leaves(parameters, inputs, drawn, constants)


def _grid_order(parameters: list[int], grids: list[Grid]) -> list[int]:
    """The parameters (positions in topological order) in the order that lays each grid's
    weights out row after row, then its biases, as one block of the value array: the matrix
    product reads the block as a matrix, where it would otherwise gather every weight."""
    rank: dict[int, int] = {}
    for grid in grids:
        for i in np.concatenate([grid.u.ravel(), grid.bias[0]]).tolist():
            rank.setdefault(i, len(rank))
    rest = len(rank)  # the others keep their order after them (the sort is stable)
    return sorted(parameters, key=lambda i: rank.get(i, rest))


class Program:
    """One traced graph, compiled: a list of vectorised steps over a value and a gradient array.

    Read-only figures: ``nodes``, ``parameters`` (the parameter Values, in the order of the
    value array), ``inputs`` (how many floats the arguments hold), ``drawn`` (how many leaves
    ``draw`` makes afresh at every call), ``constants``, ``observers`` (how many ``observe``
    updates run after every forward pass), ``schedule`` (the :class:`Step` of every group, in
    order), ``nbytes`` (the memory of its arrays), ``seconds_to_trace`` and
    ``seconds_to_compile``.
    """

    def __init__(self, graph: Graph, run: Run, keep: bool) -> None:
        parameters, inputs, drawn, constants = _leaves(graph, run)
        found = levels(graph)
        parameters = _grid_order(parameters, found.grids)
        self.parameters: list[Value] = [graph.nodes[i] for i in parameters]
        self.inputs = len(run.inputs)
        self.drawn = drawn.size
        self.constants = len(constants)
        self.observers = len(run.trace.observers)
        self.nodes = n = len(graph.nodes)
        self.shape = run.shape
        # The rows of the rule table it was compiled from: redefining one (define_op run again)
        # makes the program stale, and the compiled function traces again.
        self._rows: dict[str, Op] = {name: OPS[name] for name in graph.names[1:]}
        self.seconds_to_trace = 0.0
        self.seconds_to_compile = 0.0

        # The value array: the leaves first (parameters, inputs, drawn, constants), then the
        # groups. position[i] is where the traced node i lives in it.
        position = np.empty(n, np.int64)
        used = inputs >= 0  # an argument that fn never used is not in the graph
        drawn_used = drawn >= 0  # nor a drawn leaf that no result needs
        leaves = np.concatenate([parameters, inputs[used], drawn[drawn_used], constants])
        leaves = leaves.astype(np.int64)
        position[leaves] = np.arange(leaves.size)
        self._input_slots = np.flatnonzero(used)  # which floats of the arguments are read
        self._every_input = bool(used.all())  # then copied as they are, not gathered
        self._drawn_slots = np.flatnonzero(drawn_used)  # which drawn numbers are read
        # What to draw before every call, in the order of the trace: (sampler, how many).
        self._draws: list[tuple[Sampler, int]] = [(s, len(v)) for s, v in run.trace.draws]
        # Every call has its own arrays (calls from several threads do not share them); the
        # constants are copied in from here.
        self._constant_slots = slice(leaves.size - len(constants), leaves.size)
        self._constant_data = graph.data[constants]
        self._groups = make_groups(graph, position, leaves.size, len(parameters), found)
        self._plan = plan(self._groups)
        # The products and partial sums that matrix products stand for are numbered last, and
        # have no place in a call's arrays: nothing reads them.
        self._fused_from = self._groups[-1].stop if self._groups else n
        results = len(run.results)
        self._outputs = position[graph.outputs[:results]]
        # What to update after every forward pass: (where the observed nodes are, update).
        observed = iter(position[graph.outputs[results:]].tolist())
        self._observe: list[tuple[np.ndarray, Update]] = [
            (np.array([next(observed) for _ in nodes], INDEX), update)
            for nodes, update in run.trace.observers
        ]
        # What to decide again at every call: (classify, where the guarded nodes are, one row
        # per guard, the decisions of the trace), the guards of one classify and length together.
        self._guards = _guards(run.trace.guards, observed)
        self._reach: dict[int, np.ndarray | None] = {}
        self._derived = [p for p in self.parameters if p.op]  # Values computed outside fn
        self._below: list[Value] | None = None
        self._layout = (
            _Layout(graph.names, graph.op, graph.a, graph.b, position, parameters, run.shape)
            if keep
            else None
        )

    # --- what it is --------------------------------------------------------------------------

    @property
    def schedule(self) -> list[Step]:
        """The program's vectorised operations in the order they run (forward)."""
        return [Step(g.depth, g.op, g.size) for g in self._groups]

    @property
    def nbytes(self) -> int:
        """Bytes held by the program's arrays: values, gradients, index arrays and the rest."""
        # a call's values and its backward pass's gradients: 8 bytes per node each
        arrays: list[Any] = [np.empty(n, np.float64) for n in (self._fused_from,) * 2]
        arrays += [self._constant_data, self._outputs, self._input_slots]
        arrays += [array for _, where, decided in self._guards for array in (where, decided)]
        arrays += [self._drawn_slots, *(where for where, _ in self._observe)]
        for group in self._groups:
            if isinstance(group, MatMul):
                arrays += [group.u, group.v, group.bias]
                continue
            if isinstance(group, RunningSums):
                arrays += [group.terms, group.into.order, group.into.starts, group.into.targets]
                continue
            for each in group.inputs:
                arrays += [each.read, each.order, each.starts, each.targets]
        arrays += list(self._reach.values())
        if self._layout is not None:
            arrays += [self._layout.op, self._layout.a, self._layout.b, self._layout.position]
        return sum(x.nbytes for x in arrays if isinstance(x, np.ndarray))

    def __repr__(self) -> str:
        drawn = f" {self.drawn:,} drawn," if self.drawn else ""
        observers = f", {self.observers:,} observers" if self.observers else ""
        return (
            f"<Program: {self.nodes:,} nodes in {len(self._groups):,} vectorised steps;"
            f" {len(self.parameters):,} parameters, {self.inputs:,} inputs,{drawn}"
            f" {self.constants:,} constants{observers};"
            f" {self.nbytes / max(self.nodes, 1):.1f} bytes per node>"
        )

    def listing(self) -> str:
        """The program as a listing, like a jaxpr: what it reads, then one line per step (its
        operation, its shape, the operands it reads and the scalar nodes it stands for).
        ``print(fast)`` prints the listing of the latest call's program."""
        regions = self._regions()
        lines = [
            f"program of {self.nodes:,} nodes in {len(self._plan):,} steps",
            "  reads  "
            + "  ".join(f"{name}[{stop - start:,}]" for name, start, stop in regions[:4]),
        ]
        for k, step in enumerate(self._plan, 1):
            lines.append(_listed(k, step, regions))
        outputs = ", ".join(_where(regions, int(i)) for i in self._outputs[:8].tolist())
        more = ", ..." if len(self._outputs) > 8 else ""
        lines.append(f"  gives  {outputs}{more}")
        return "\n".join(lines)

    def _regions(self) -> list[tuple[str, int, int]]:
        """The value array's parts, in order: (name, start, stop) for the leaves of each kind,
        then for each step (s1, s2, ...)."""
        sizes = [len(self.parameters), self._input_slots.size, self._drawn_slots.size]
        sizes.append(self.constants)
        regions, start = [], 0
        for name, size in zip(("parameters", "inputs", "drawn", "constants"), sizes):
            regions.append((name, start, start + size))
            start += size
        regions += [(f"s{k}", step.start, step.stop) for k, step in enumerate(self._plan, 1)]
        return regions

    # --- running it ----------------------------------------------------------------------------

    def current(self) -> bool:
        """Whether every operation it uses is still the table's row it was compiled from."""
        return all(OPS.get(name) is row for name, row in self._rows.items())

    def forward(self, inputs: np.ndarray, drawn: np.ndarray | None = None) -> np.ndarray:
        """Every node's value from the parameters' current data, the arguments' floats
        (``inputs``, in the order of the trace) and the drawn leaves' numbers (``drawn``, in
        the order of the trace; None: drawn now, by :meth:`draw`); then every observer's
        update with the new data of its nodes. Returns the values of this call, a new array
        (:meth:`results` reads the results off it; :meth:`backward` takes it).

        An error (the interpreter's, where a node is outside its operation's domain) leaves
        nothing changed: no observer has run, and no earlier call's values are touched."""
        if drawn is None:
            drawn = self.draw()
        values = np.empty(self._fused_from, np.float64)
        values[self._constant_slots] = self._constant_data
        start, stop = 0, len(self.parameters)
        values[start:stop] = read_data(self.parameters)  # read at every call
        start, stop = stop, stop + self._input_slots.size
        values[start:stop] = inputs if self._every_input else inputs[self._input_slots]
        start, stop = stop, stop + self._drawn_slots.size
        values[start:stop] = drawn[self._drawn_slots]
        # Division by zero and invalid operations raise (the group is then redone element by
        # element, to raise what the interpreter raises); overflow is inf, as in the interpreter.
        with np.errstate(divide="raise", invalid="raise", over="ignore", under="ignore"):
            for step in self._plan:
                step.forward(values)
        for classify, where, decided in self._guards:
            if not np.array_equal(classify(values[where]), decided):
                raise Departed(
                    f"{name_of(classify)} decides otherwise from this call's data than when"
                    " fn was traced"
                )
        for where, update in self._observe:  # after the whole forward pass, as in the trace
            update(values[where].tolist())
        return values

    def results(self, values: np.ndarray) -> np.ndarray:
        """The results' values among a call's ``values``."""
        results: np.ndarray = values[self._outputs]
        return results

    def draw(self) -> np.ndarray:
        """The numbers of every drawn leaf, drawn afresh: each sampler called in the order fn
        called ``draw`` when traced, so the random stream is consumed as the interpreter would
        consume it (one call per ``draw`` of the trace: a handful per step, not per node)."""
        if not self._draws:
            return _NOTHING
        return np.array([x for sampler, n in self._draws for x in sample(sampler, n)], np.float64)

    def drawn_by(self, run: Run) -> np.ndarray:
        """The numbers that ``run`` (fn run again by the interpreter, for check=True) drew: the
        replay uses them, so that both compute from the same masks."""
        sizes = [len(leaves) for _, leaves in run.trace.draws]
        if sizes != [n for _, n in self._draws]:
            raise RuntimeError(
                f"{_FROZEN}: fn drew {_counts(sizes)} in the interpreter and"
                f" {_counts([n for _, n in self._draws])} when traced"
            )
        return drawn_numbers(run.trace)

    def backward(self, output: int, values: np.ndarray) -> None:
        """Add d(result ``output``)/d(parameter) into every parameter's ``.grad``: the chain rule
        group by group in reverse, on the ``values`` of the call that gave the result."""
        grads = np.zeros(self._fused_from, np.float64)
        seed = int(self._outputs[output])
        grads[seed] = 1.0
        reach = self._reached_from(seed)
        with np.errstate(all="ignore"):  # inf and nan as IEEE 754 says, as backward() gives
            for step in reversed(self._plan):
                step.backward(values, grads, reach)
        found = grads[: len(self.parameters)].tolist()
        if not self._derived:
            for parameter, g in zip(self.parameters, found):
                parameter.grad += g
            return
        # Values computed outside fn were leaves of the replay: the interpreter's chain rule
        # goes on below them, into what they were computed from.
        pending: dict[Value, float] = {}
        for parameter, g in zip(self.parameters, found):
            if parameter.op:
                pending[parameter] = g
            else:
                parameter.grad += g
        backward_from(self._below_derived(), pending)

    def _below_derived(self) -> list[Value]:
        """The graph below the parameters that are Values computed outside fn, in topological
        order (walked once, on the first backward pass)."""
        if self._below is None:
            self._below = reachable(self._derived, everywhere)[0]
        return self._below

    def _reached_from(self, seed: int) -> np.ndarray | None:
        """Which nodes the result at ``seed`` depends on (None: all of them, as with one result
        and nothing observed, where every node of the program is one the result depends on)."""
        if len(set(self._outputs.tolist())) == 1 and not self._observe and not self._guards:
            return None
        if seed not in self._reach:
            reach = np.zeros(self._fused_from, bool)
            reach[seed] = True
            for group in reversed(self._groups):
                reached = reach[group.start : group.stop]
                if isinstance(group, MatMul):
                    grid = reached.reshape(group.S, group.J)
                    reach[group.u[grid.any(axis=0)]] = True
                    reach[group.v[grid.any(axis=1)]] = True
                    reach[group.bias[grid]] = True
                elif isinstance(group, RunningSums):
                    reach[group.terms[reached]] = True
                elif reached.any():
                    for each in group.inputs:
                        reach[positions_of(each.read)[reached]] = True
            # An observed statistic is usually on the way to the loss: then nothing is masked.
            operations = self._groups[0].start if self._groups else self._fused_from
            self._reach[seed] = None if reach[operations:].all() else reach
        return self._reach[seed]

    # --- check=True ------------------------------------------------------------------------------

    def verify(self, run: Run, values: np.ndarray) -> None:
        """Raise RuntimeError unless ``run`` (fn run again by the interpreter) gave the replay's
        ``results`` (to :data:`RTOL`, :data:`ATOL`) from the same parameters; the message names
        the first node, in topological order, where the interpreter's graph and the traced one
        part.

        The results are what is compared, not every node: a path taken by comparing numbers
        (``cross_entropy`` subtracts the largest score, chosen at trace time) may change while
        the results stay equal in exact arithmetic, and that is no error.
        """
        layout = self._layout
        assert layout is not None, "compiled without check=True"
        if run.shape != layout.shape:
            raise RuntimeError(
                f"{_FROZEN}: fn returned a result of another structure than when it was traced"
            )
        graph = read_graph(roots(run), run.made_here)
        same_size = graph.op.size == layout.op.size
        others = same_size and any(
            graph.nodes[i] is not p for i, p in zip(layout.parameters, self.parameters)
        )
        results = self.results(values)
        if not others and _close(results, graph.data[graph.outputs[: len(run.results)]]):
            return
        replayed = None
        if same_size:  # what the grids stand for is not computed: taken as it should be
            fused = layout.position >= self._fused_from
            replayed = np.where(fused, graph.data, values[np.where(fused, 0, layout.position)])
        difference = _first_difference(layout, graph, replayed, run, self.parameters)
        raise RuntimeError(f"{_FROZEN}: {difference}")


class Departed(Exception):
    """A guard of the program (``hooks.guard``) decides otherwise from a call's data than when
    fn was traced: that call is for the interpreter (the compiled function runs fn there)."""


def _guards(
    guards: list[tuple[list[Value], Classify, np.ndarray]], found: Iterator[int]
) -> list[tuple[Classify, np.ndarray, np.ndarray]]:
    """The trace's guards, those of one ``classify`` and one length joined: (classify, the
    positions of their nodes, a row per guard, their decisions, a row per guard). ``found``
    gives the guarded nodes' positions, in the trace's order."""
    joined: dict[tuple[int, int], tuple[Classify, list[list[int]], list[np.ndarray]]] = {}
    for nodes, classify, decided in guards:
        where = [next(found) for _ in nodes]
        entry = joined.setdefault((id(classify), len(nodes)), (classify, [], []))
        entry[1].append(where)
        entry[2].append(decided)
    return [
        (classify, np.array(rows, INDEX), np.concatenate(decided))
        for classify, rows, decided in joined.values()
    ]


def _listed(
    k: int, step: Group | MatMul | RunningSums | Scalars, regions: list[tuple[str, int, int]]
) -> str:
    """One line of a program's listing: ``s3 = relu[1,000] s2[1,000]  # 1,000 relu nodes...``."""
    size = step.stop - step.start
    if isinstance(step, RunningSums):
        line = f"s{k} = sum[{step.S:,}x{step.L}] {_read(regions, step.terms)}"
        sums = f"{step.S:,} sum{'s' if step.S > 1 else ''} of {step.L} terms, left to right"
        scope = f" of {step.scope}" if step.scope else ""
        return f"  {line:<48} # {step.size:,} '+' nodes to depth {step.depth}{scope} ({sums})"
    if isinstance(step, MatMul):
        S, J, K = step.S, step.J, step.K
        what = f"{S * J * K:,} '*' and {S * J * K:,} '+' nodes at depth {step.depth}"
        reads = _read(regions, step.v)
        line = (
            f"s{k} = matmul[{S}x{J}] {_read(regions, step.bias)} + {reads}"
            f" @ {_read(regions, step.u)}ᵀ  ({S}x{K} @ {K}x{J})"
        )
        scope = f" of {step.scope}" if step.scope else ""
        return f"  {line:<48} # {what}{scope}"
    if isinstance(step, Scalars):
        ops = ", ".join(f"{name} ×{count:,}" for name, count in step.counts.items())
        low, high = step.depths
        depth = f"depth {low}" if low == high else f"depths {low}-{high}"
        what = f"{size:,} nodes ({ops}) at {depth}, node by node with the float rules"
        line = f"s{k} = scalars[{size:,}]"
    else:
        reads = " ".join(_read(regions, each.read) for each in step.inputs)
        what = f"{size:,} '{step.op}' nodes at depth {step.depth}"
        line = f"s{k} = {step.op}[{size:,}] {reads}"
    scope = f" of {step.scope}" if step.scope else ""
    return f"  {line:<48} # {what}{scope}"


def _read(regions: list[tuple[str, int, int]], index: slice | np.ndarray) -> str:
    """Which part of the value array an operand reads: "s2[1,000]", "parameters[50]" (how many
    entries), or "s2..s5[40]" when it gathers from several."""
    positions = positions_of(index)
    first = _where(regions, int(positions.min()), named=False)
    last = _where(regions, int(positions.max()), named=False)
    name = first if first == last else f"{first}..{last}"
    return f"{name}[{positions.size:,}]"


def _where(regions: list[tuple[str, int, int]], i: int, named: bool = True) -> str:
    """The part of the value array position i is in (with its place in it, if ``named``)."""
    for name, start, stop in regions:
        if start <= i < stop:
            return f"{name}[{i - start}]" if named else name
    return "?"


_FROZEN = (
    "check=True: the replay departs from the interpreter (constants made inside fn and Python"
    " control flow are frozen at trace time)"
)


_NOTHING = np.empty(0, np.float64)


def _counts(sizes: list[int]) -> str:
    """How a message says what fn drew: "2 times (3 and 3 leaves)", "nothing"."""
    if not sizes:
        return "nothing"
    each = ", ".join(map(str, sizes[:-1])) + (" and " if len(sizes) > 1 else "") + str(sizes[-1])
    return f"{len(sizes)} time{'s' if len(sizes) > 1 else ''} ({each} leaves)"


def _close(replayed: np.ndarray, interpreted: np.ndarray) -> bool:
    return bool(np.all(np.isclose(replayed, interpreted, rtol=RTOL, atol=ATOL, equal_nan=True)))


def _first_difference(
    layout: _Layout,
    graph: Graph,
    replayed: np.ndarray | None,
    run: Run,
    parameters: list[Value],
) -> str:
    """Where the interpreter's graph first differs from the traced one, in topological order:
    a node's operation or inputs, then a parameter, then a value."""
    n, traced_n = graph.op.size, layout.op.size
    common = min(n, traced_n)
    ops_now = np.array(graph.names, dtype=object)[graph.op[:common]]
    ops_then = np.array(layout.names, dtype=object)[layout.op[:common]]
    differs = (ops_now != ops_then) | (graph.a[:common] != layout.a[:common])
    differs |= graph.b[:common] != layout.b[:common]
    if differs.any():
        i = int(np.argmax(differs))
        then = _formula(ops_then[i], layout.a[i], layout.b[i])
        now = _formula(ops_now[i], graph.a[i], graph.b[i])
        return (
            f"the graph fn builds has changed since it was traced: {_name(graph.nodes[i], i, n)}"
            f" was {then} when traced and is now {now}"
        )
    if n != traced_n:
        return f"fn now builds {n:,} nodes; it built {traced_n:,} when traced"
    assert replayed is not None
    for i, parameter in zip(layout.parameters, parameters):
        if graph.nodes[i] is not parameter:
            return (
                f"{_name(graph.nodes[i], i, n)} is another Value than the parameter it was when"
                f" traced ({parameter!r})"
            )
    close = np.isclose(replayed, graph.data, rtol=RTOL, atol=ATOL, equal_nan=True)
    i = int(np.argmin(close))
    node = graph.nodes[i]
    constant = not node.op and recorded_in(node, run.made_here)
    what = "a constant made inside fn, " if constant else ""
    return (
        f"{_name(node, i, n)}, {what}is {float(graph.data[i])!r} in the interpreter and"
        f" {float(replayed[i])!r} in the replay"
    )


def _formula(op: str, a: int, b: int) -> str:
    """A node as its operation of its inputs: "relu(node 2)", "*(node 2, node 3)", "a leaf"."""
    inputs = [f"node {int(x)}" for x in (a, b) if x >= 0]
    return f"{op}({', '.join(inputs)})" if op else "a leaf"


def _name(node: Value, i: int, n: int) -> str:
    """How a message names a node: its place in topological order, its scope and its label."""
    about = [f"scope '{node.scope}'"] if node.scope else []
    about += [f"label {node.label!r}"] if node.label else []
    return f"node {i} of {n:,}" + (f" ({', '.join(about)})" if about else "")
