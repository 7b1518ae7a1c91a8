"""viz.explore: the page replays a training run, and every number it can show is the engine's.

The page keeps each number as the digits it prints with; ``shown_numbers`` below reads them back
the way the page's script does, so the tests compare the page's text with what ``viz.draw``
prints for the same point's graph at the same step, rebuilt here from the snapshot. The browser
test (test_explorer_browser.py) checks that the script shows exactly these texts.
"""

from __future__ import annotations

import html
import math
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from examples import drawn_numbers, inflate, payload
from hypothesis import given
from hypothesis import strategies as st

import viz
from tinygrad_edu import Value, nn, optim
from tinygrad_edu.data import make_blobs
from tinygrad_edu.formatting import format_number
from tinygrad_edu.functional import cross_entropy
from viz.explore import NONFINITE, decimal_parts, decimal_text

# --- a small run, and reading a page back ---------------------------------------------------------


class SmallRun:
    """An MLP 2-4-3 trained for a few steps of Adam on 15 blobs; a snapshot every 3 steps."""

    def __init__(self) -> None:
        X, y = make_blobs(24, seed=3)
        self.X, self.y = X[:15], y[:15]
        self.validation, self.test = (X[15:20], y[15:20]), (X[20:], y[20:])
        self.model = nn.MLP(2, [4, 3], rng=random.Random(0))
        optimizer = optim.Adam(self.model.parameters(), lr=0.1)
        self.snapshots, self.steps = [], []
        for step in range(7):
            if step % 3 == 0:
                self.snapshots.append(self.model.state_dict())
                self.steps.append(step)
            loss = cross_entropy(self.model(self.X), self.y)
            self.model.zero_grad()
            loss.backward()
            optimizer.step()

    def graph(self, point: int, snapshot: int) -> Value:
        """The loss of one training point at one snapshot, after backward(), as explore
        builds it (its inputs labelled with the feature names)."""
        self.model.load_state_dict(self.snapshots[snapshot])
        a, b = self.X[point].tolist()
        loss = cross_entropy(
            self.model([Value(a, label="x0"), Value(b, label="x1")]), self.y[point]
        )
        self.model.zero_grad()
        loss.backward()
        return loss


@pytest.fixture(scope="module")
def small() -> SmallRun:
    return SmallRun()


@pytest.fixture(scope="module")
def page(small: SmallRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("explore") / "run.html"
    return viz.explore(
        small.model,
        small.snapshots,
        small.X,
        small.y,
        path,
        steps=small.steps,
        validation=small.validation,
        test=small.test,
        grid=12,
    )


def series(packed: dict[str, str], steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of numbers along the snapshots: (digits, powers), undoing the delta coding."""
    deltas = inflate(packed["digits"], "<i4" if packed["type"] == "int32" else "<f8")
    digits = np.cumsum(deltas.reshape(-1, steps).astype(np.int64), axis=1)
    return digits, inflate(packed["powers"], "<i2").reshape(-1, steps).astype(np.int64)


def range_text(numbers: list[tuple[int, int]], precision: int) -> str:
    """viz's number_range of numbers given as (digits, power)."""

    def value(n: tuple[int, int]) -> float:
        if n[1] == NONFINITE:
            return math.nan if n[0] == 0 else n[0] * math.inf
        return n[0] * 10.0 ** n[1]

    if len(numbers) == 1:
        return decimal_text(*numbers[0], precision)
    real = [n for n in numbers if not math.isnan(value(n))]
    if not real:
        return "nan"
    low = decimal_text(*min(real, key=value), precision)
    high = decimal_text(*max(real, key=value), precision)
    shown = low if low == high else f"{low} … {high}"
    return shown if len(real) == len(numbers) else f"nan, {shown}"


def shown_numbers(data: dict[str, Any], point: int, snapshot: int) -> list[str]:
    """The numbers of point's graph at snapshot, as the page's script writes them."""
    S, N, P = len(data["steps"]), data["points"], data["precision"]
    own_digits, own_powers = series(data["numbers"], S)
    parameter_digits, parameter_powers = series(data["parameters"], S)
    counts = data["keyCounts"]
    keys = inflate(data["keys"], "<i4")
    first = sum(counts[:point])
    row_of = {int(k): first + r for r, k in enumerate(keys[first : first + counts[point]])}
    layout = data["layouts"][inflate(data["layoutAt"], "<u2")[snapshot * N + point]]
    texts = []
    for sources in layout["texts"]:
        numbers = []
        for source, index in zip(sources[::2], sources[1::2]):
            if source == 1:
                numbers.append(
                    (parameter_digits[index, snapshot], parameter_powers[index, snapshot])
                )
            else:
                row = row_of[index]
                numbers.append((own_digits[row, snapshot], own_powers[row, snapshot]))
        texts.append(range_text([(int(d), int(e)) for d, e in numbers], P))
    return texts


def drawings(page: Path) -> list[tuple[int, str]]:
    """The page's drawings: (layout index, its SVG), in page order."""
    found = re.findall(
        r'<div class="drawing" data-layout="(\d+)" hidden>(.*?)</div>', page.read_text(), re.S
    )
    return [(int(k), svg) for k, svg in found]


# --- numbers exactly as printed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "precision", "text"),
    [
        (0.70710678, 4, "0.7071"),
        (-0.0, 4, "0.0000"),
        (1.5e-9, 4, "1.5000e-09"),
        (-3e12, 4, "-3.0000e+12"),
        (1e-4, 4, "0.0001"),  # the smallest fixed number
        (9.99995e-5, 4, "9.9999e-05"),
        (999999999.0, 2, "999999999.00"),
        (0.03125, 4, "0.0312"),  # an exact tie: Python rounds it to even
        (2.5, 0, "2"),
        (123.456, 0, "123"),
        (math.nan, 4, "nan"),
        (-math.inf, 4, "-inf"),
    ],
)
def test_a_number_kept_as_digits_and_a_power_prints_as_format_number(
    x: float, precision: int, text: str
) -> None:
    assert format_number(x, precision) == text
    digits, power = decimal_parts([x], precision)
    assert decimal_text(int(digits[0]), int(power[0]), precision) == text


@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=30),
    st.integers(0, 8),
)
def test_decimal_parts_round_trip_to_format_number_for_any_float(
    values: list[float], precision: int
) -> None:
    digits, power = decimal_parts(values, precision)
    for x, d, e in zip(values, digits.tolist(), power.tolist()):
        assert decimal_text(d, e, precision) == format_number(x, precision)


def test_decimal_parts_keep_the_shape_of_the_array() -> None:
    digits, power = decimal_parts(np.array([[0.5, -2.0], [1e-7, 3.25]]), 2)
    assert digits.tolist() == [[50, -200], [100, 325]]
    assert power.tolist() == [[-2, -2], [-9, -2]]  # 1.00e-07 is 100·10^-9


# --- the page ------------------------------------------------------------------------------------


def test_the_page_is_one_self_contained_file(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "http://" not in text.replace("http://www.w3.org", "")
    assert "https://" not in text
    assert "<script src" not in text and "<link" not in text


@pytest.mark.parametrize("title", ["{data}", "{last}", "<{title}> & {drawings}"])
def test_a_title_spelled_like_a_place_of_the_page_is_shown_as_written(
    small: SmallRun, tmp_path: Path, title: str
) -> None:
    """The page is filled in one pass: a title or subtitle spelled like one of its places is
    shown as itself, escaped, and the data and the step count stay in their own places."""
    path = viz.explore(
        small.model, small.snapshots, small.X, small.y, tmp_path / "run.html",
        steps=small.steps, title=title, subtitle=title, grid=8,
    )  # fmt: skip
    text = path.read_text(encoding="utf-8")
    shown = html.escape(title, quote=False)
    assert f"<title>{shown}</title>" in text and f"<h1>{shown}</h1>" in text
    assert f'<p class="lead">{shown}</p>' in text
    assert text.count('id="explorer-data"') == 1 and 'max="2"' in text
    assert payload(path)["steps"] == small.steps


def test_a_title_with_a_lone_surrogate_is_written_with_the_replacement_character(
    small: SmallRun, tmp_path: Path
) -> None:
    """A title made from a file name (os.fsdecode gives U+DCFF for the byte 0xff)."""
    path = viz.explore(
        small.model, small.snapshots, small.X, small.y, tmp_path / "run.html",
        steps=small.steps, title="run \udcff", features=("x\udcff", "y"), grid=8,
    )  # fmt: skip
    text = path.read_text(encoding="utf-8")
    assert "<h1>run \ufffd</h1>" in text and "\udcff" not in text


def test_every_point_shows_its_own_graph_at_every_snapshot(small: SmallRun, page: Path) -> None:
    data = payload(page)
    layout_at = inflate(data["layoutAt"], "<u2")
    svgs = drawings(page)
    for snapshot in range(len(small.snapshots)):
        for point in range(len(small.X)):
            expected = drawn_numbers(
                viz.draw(small.graph(point, snapshot), collapse=True, rankdir="TB").pipe(
                    format="svg", encoding="utf-8"
                )
            )
            assert shown_numbers(data, point, snapshot) == expected, (point, snapshot)
            layout = int(layout_at[snapshot * len(small.X) + point])
            assert len(drawn_numbers(svgs[layout][1])) == len(expected)  # its drawing's cells


def test_each_drawing_tags_every_number_with_its_slot(page: Path) -> None:
    data = payload(page)
    found = drawings(page)
    assert [k for k, _ in found] == list(range(len(data["layouts"])))
    for (_, svg), layout in zip(found, data["layouts"]):
        slots = [int(s) for s in re.findall(r'data-slot="(\d+)"', svg)]
        assert slots == list(range(len(layout["texts"])))
        assert len(re.findall(r'data-fill="\d+"', svg)) == sum(
            1 for t in re.findall(r">(data|grad) [^<]*<", svg) if t == "grad"
        )


def test_losses_and_accuracies_are_the_engines_at_each_snapshot(
    small: SmallRun, page: Path
) -> None:
    data = payload(page)
    for snapshot, state in enumerate(small.snapshots):
        small.model.load_state_dict(state)
        for name, (X, y) in (
            ("train", (small.X, small.y)),
            ("validation", small.validation),
            ("test", small.test),
        ):
            logits = [small.model(x) for x in X.tolist()]
            loss = float(np.mean([cross_entropy(z, t).data for z, t in zip(logits, y)]))
            right = np.mean([np.argmax([v.data for v in z]) == t for z, t in zip(logits, y)])
            assert data["losses"][name][snapshot] == pytest.approx(loss, rel=1e-12)
            assert data["accuracies"][name][snapshot] == right


def test_the_predicted_classes_and_the_regions_come_from_the_model(
    small: SmallRun, page: Path
) -> None:
    data = payload(page)
    S, N, grid = len(small.snapshots), len(small.X), data["grid"]
    predicted = inflate(data["predicted"], "u1").reshape(S, N)
    regions = inflate(data["regions"], "u1").reshape(S, grid, grid, 2)
    for snapshot, state in enumerate(small.snapshots):
        small.model.load_state_dict(state)
        classes = [np.argmax([v.data for v in small.model(x)]) for x in small.X.tolist()]
        assert predicted[snapshot].tolist() == classes
        assert set(np.unique(regions[snapshot, ..., 0])) <= {0, 1, 2}
    assert regions[..., 1].max() > 0  # some confidence somewhere


def test_the_model_is_left_as_it_was(small: SmallRun, tmp_path: Path) -> None:
    model = small.model
    model.load_state_dict(small.snapshots[1])
    for k, p in enumerate(model.parameters()):
        p.grad = 0.25 * k
    model.train()
    before = model.state_dict()
    viz.explore(model, small.snapshots, small.X, small.y, tmp_path / "p.html", grid=8)
    assert model.state_dict() == before
    assert [p.grad for p in model.parameters()] == [0.25 * k for k in range(len(before))]
    assert model.training


def test_the_interpreter_gives_the_same_page_as_the_compiled_forward(
    small: SmallRun, page: Path, tmp_path: Path
) -> None:
    interpreted = viz.explore(
        small.model, small.snapshots, small.X, small.y, tmp_path / "slow.html",
        steps=small.steps, validation=small.validation, test=small.test, grid=12, compiled=False,
    )  # fmt: skip
    a, b = payload(page), payload(interpreted)
    assert a["regions"] == b["regions"] and a["predicted"] == b["predicted"]
    for name in a["losses"]:
        assert a["losses"][name] == pytest.approx(b["losses"][name], rel=1e-12)


# --- misuse -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"X": np.zeros((15, 3))}, ValueError, r"shape \(n, 2\)"),
        ({"y": np.zeros(14, dtype=int)}, ValueError, "one class label per sample"),
        ({"y": np.full(15, 0.5)}, TypeError, "integer class labels"),
        ({"y": np.full(15, 3)}, ValueError, "class 3 but the model gives 3 logits"),
        ({"snapshots": []}, ValueError, "at least one"),
        (
            {"snapshots": [{"layers.0.neurons.0.w.0": 1.0}], "steps": None},
            ValueError,
            "does not fit the model",
        ),
        ({"steps": [0, 5]}, ValueError, "2 steps for 3 snapshots"),
        ({"steps": [0, 5, 2]}, ValueError, "must not decrease"),
        ({"grid": 4}, ValueError, "grid must be an int from 8"),
        ({"point": 15}, ValueError, "index of a training point"),
        ({"edge_grads": True}, ValueError, "edge_grads"),
        ({"colour": True}, TypeError, "did you mean 'color'"),
    ],
)
def test_bad_input_is_refused_with_what_was_expected_and_the_model_untouched(
    small: SmallRun, tmp_path: Path, change: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments: dict[str, Any] = {
        "snapshots": small.snapshots,
        "X": small.X,
        "y": small.y,
        "steps": [0, 3, 6],
    }
    arguments.update(change)
    small.model.load_state_dict(small.snapshots[2])
    before = small.model.state_dict()
    options = {k: v for k, v in arguments.items() if k not in ("snapshots", "X", "y")}
    with pytest.raises(error, match=message):
        viz.explore(
            small.model, arguments["snapshots"], arguments["X"], arguments["y"],
            tmp_path / "bad.html", **options,
        )  # fmt: skip
    assert small.model.state_dict() == before
    assert not (tmp_path / "bad.html").exists()
