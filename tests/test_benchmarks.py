"""Smoke tests: every benchmark runs end to end on tiny sizes, so none of them can rot.

They assert what a run must show (both engines, matching losses, sensible numbers), never how
fast anything is: timing belongs to the benchmarks themselves, run by hand.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from examples import need

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.syspath_prepend(str(BENCHMARKS))

    def load_module(name: str) -> ModuleType:
        sys.modules.pop(name, None)
        return importlib.import_module(name)

    return load_module


def table_rows(report: str) -> dict[str, list[str]]:
    """The rows of the report's table, by their first cell."""
    rows = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and not set(line) <= set("|-: "):
            rows[cells[0]] = cells[1:]
    return rows


def test_moons_step_runs_both_engines_with_the_same_losses(load: object) -> None:
    need("micrograd")
    report = load("moons_step").main(
        ["--steps", "3", "--block", "2", "--samples", "10", "--warmup", "1"]
    )  # type: ignore[operator]
    rows = table_rows(report)
    assert {"tinygrad_edu", "micrograd"} <= set(rows)
    assert rows["micrograd"][1] == "1.0x"
    assert float(rows["tinygrad_edu"][3]) < 1e-12  # max |loss - micrograd's|
    assert rows["tinygrad_edu"][2].endswith("%")


def test_digits_step_compares_two_trees_each_in_its_own_process(load: object) -> None:
    tree = str(BENCHMARKS.parent)  # this tree against itself: the same losses
    report = load("digits_step").main(  # type: ignore[operator]
        ["--against", tree, "--steps", "1", "--warmup", "0", "--rounds", "1", "--batch", "2"]
    )
    rows = table_rows(report)
    trees = ["this tree", f"against: {BENCHMARKS.parent.name}"]
    assert set(trees) <= set(rows)
    for ms, speed_up, in_gc, difference in (rows[tree] for tree in trees):
        assert float(ms) > 0 and speed_up.endswith("x") and in_gc.endswith("%")
        assert float(difference) == 0.0


def test_memory_reports_bytes_per_node_for_both_engines(load: object) -> None:
    need("micrograd")
    report = load("memory").main(["--nodes", "2000"])  # type: ignore[operator]
    rows = table_rows(report)
    ours, theirs = float(rows["tinygrad_edu"][0]), float(rows["micrograd"][0])
    assert 50 < ours < theirs


def test_scaling_reports_every_size_and_shape(load: object) -> None:
    report = load("scaling").main(["--sizes", "100", "1000", "--repeats", "1", "--nodes", "1000"])  # type: ignore[operator]
    rows = table_rows(report)
    assert set(rows) >= {"chain", "wide_sum", "chain (gc paused)", "wide_sum (gc paused)"}
    for shape in ("chain", "wide_sum"):
        assert len(rows[shape]) == 3  # two sizes and the ratio
        assert all(float(cell) > 0 for cell in rows[shape])


def test_compiled_reports_every_step_with_the_interpreters_losses(load: object) -> None:
    need("micrograd")
    report = load("compiled").main(  # type: ignore[operator]
        ["--quick", "--steps", "3", "--batch-steps", "2", "--compiled-steps", "3"]
    )
    rows = table_rows(report)
    assert rows["micrograd"][1] == "1x"
    for engine in ("interpreter", "compiled"):
        assert float(rows[engine][2]) < 1e-9  # max relative loss difference from micrograd's
    for step in ("micrograd's demo", "digits-shaped", "MNIST-shaped"):
        nodes, groups, bytes_per_node, *_, difference = rows[step]
        assert int(groups.replace(",", "")) < int(nodes.replace(",", ""))
        assert float(bytes_per_node) <= 64
        assert float(difference) < 1e-9  # compiled against the interpreter


def test_compiled_reports_the_deep_narrow_graph_against_the_interpreter(load: object) -> None:
    need("micrograd")
    report = load("compiled").main(  # type: ignore[operator]
        ["--quick", "--steps", "2", "--batch-steps", "1", "--compiled-steps", "2"]
    )
    *_, ratio, difference = table_rows(report)["30 levels of tanh(w·x) + 0.001"]
    assert float(ratio) > 0 and float(difference) < 1e-12


def test_optimizers_reports_every_optimiser_at_both_sizes(load: object) -> None:
    report = load("optimizers").main(["--repeat", "2"])  # type: ignore[operator]
    lines = [line for line in report.splitlines() if line.startswith("|") and "ms" not in line]
    steps = [line.split("|")[2].strip() for line in lines if "-" not in line.split("|")[1][:3]]
    for name in ("hand-written SGD loop", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW"):
        assert steps.count(name) == 2, name  # micrograd's demo model and the MNIST-shaped one
    assert all(float(line.split("|")[3].replace(",", "")) > 0 for line in lines[1:])


def test_mnist_training_trains_with_one_trace_and_times_the_first_call(load: object) -> None:
    report = load("mnist_training").main(  # type: ignore[operator]
        ["--steps", "12", "--pixels", "16", "--train", "300", "--hidden", "8"]
    )
    row = table_rows(report)["16-8-10, batch 100"]
    steps, first_call, per_step, total, traces, first, last, accuracy = row
    assert steps == "12" and traces == "1"
    assert float(total) >= float(first_call) > 0 and float(per_step) > 0
    assert float(last) < float(first)  # it learns the batches it sees (random labels)
    assert 0 <= float(accuracy) <= 1


def test_viz_scaling_reports_the_training_step_diagrams_and_the_animations(load: object) -> None:
    report = load("viz_scaling").main(["--samples", "4", "--animate", "30", "60"])  # type: ignore[operator]
    rows = table_rows(report)
    nodes, drawn = rows["collapse=True"][0], rows["collapse=True"][1]
    assert int(nodes.replace(",", "")) > 2000 and int(drawn) < 60  # a box per Neuron path
    assert rows["cluster=True"][0] == nodes and float(rows["cluster=True"][2]) > 0
    animated = {name: row for name, row in rows.items() if name[0].isdigit()}  # by node count
    assert len(animated) == 2
    for seconds, megabytes in animated.values():
        assert float(seconds) > 0 and float(megabytes) > 0


def test_scopes_reports_the_step_with_and_without_scopes_and_the_same_losses(load: object) -> None:
    report = load("scopes").main(["--steps", "2", "--samples", "8"])  # type: ignore[operator]
    rows = table_rows(report)
    assert rows["do nothing"][1] == "1.000x"
    assert float(rows["open a scope"][0]) > 0 and rows["open a scope"][1].endswith("x")
    assert float(rows["open a scope"][2]) == 0.0  # the same losses, step for step
    stores = re.search(r"each node: ([\d,]+) nodes x \d+ ns per slot store = [\d.]+ ms", report)
    assert stores and int(stores[1].replace(",", "")) > 1000  # the 8-sample step's graph


def test_engine_paths_compares_each_speed_path_with_the_code_it_stands_in_for(load: object) -> None:
    report = load("engine_paths").main(["--samples", "4", "--repeats", "1", "--chain", "200"])  # type: ignore[operator]
    rows = {cells[0]: cells for cells in table_rows(report).values() if cells[0] != "speed path"}
    assert set(rows) == {"fast.propagate", "fast.neuron", "inline"}
    assert rows["fast.propagate"][1] == "backward_steps"
    assert rows["fast.propagate"][-1] == "bit for bit"  # the same gradients
    assert rows["fast.neuron"][-1] == rows["inline"][-1] == "equal"  # the same numbers
    for cells in rows.values():
        fast, slow, ratio = float(cells[2]), float(cells[3]), cells[4]
        assert fast > 0 and slow > 0 and ratio.endswith("x")
