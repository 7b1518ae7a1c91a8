"""python -m demos: every walk-through runs (in --quick mode), writes real pictures and prints the
course's numbers.

The whole quick run happens once, as a subprocess the way a reader starts it, and the tests read
its printed report and its files. A few demos also run alone (python -m demos.NAME).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # demos is run from the repository, not installed
    sys.path.insert(0, str(ROOT))

from demos import DEMOS  # noqa: E402

COURSE_ORDER = [
    "activations",
    "forward_pass",
    "numerical_gradient",
    "gradient_descent",
    "computational_graph",
    "chain_rule",
    "optimizers",
    "mini_batch",
    "moons",
    "weight_init",
    "newton",
    "higher_order",
    "digits",
    "overfitting",
    "batch_norm",
    "hyperparameters",
    "explorer",
]

FILES = {
    "activations": ["activations.png"],
    "forward_pass": ["forward_pass_graph.svg", "forward_pass_graph.png"],
    "numerical_gradient": ["numerical_gradient.png"],
    "gradient_descent": ["gradient_descent.png"],
    "computational_graph": [
        "computational_graph.svg",
        "computational_graph.png",
        "computational_graph_backward.html",
        "computational_graph_backward.gif",
    ],
    "chain_rule": ["chain_rule.svg", "chain_rule.png"],
    "optimizers": ["optimizers.png"],
    "mini_batch": ["mini_batch.png"],
    "moons": ["moons.png"],
    "weight_init": ["weight_init.png"],
    "newton": ["newton.png"],
    "higher_order": [
        "higher_order.png",
        "higher_order_second_derivative.svg",
        "higher_order_second_derivative.png",
    ],
    "digits": ["digits.png", "digits_misclassified.png"],
    "overfitting": ["overfitting.png"],
    "batch_norm": ["batch_norm.png"],
    "hyperparameters": ["hyperparameters.png"],
    "explorer": ["explorer.html"],
}

NUMBER = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def demos(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m demos ARGS`` (or ``-m demos.NAME`` when the first arg is ``.NAME``)."""
    module = f"demos{args[0]}" if args and args[0].startswith(".") else "demos"
    rest = args[1:] if args and args[0].startswith(".") else args
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", module, *rest],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@dataclass
class QuickRun:
    out: Path
    stdout: str
    stderr: str
    returncode: int

    def section(self, name: str) -> str:
        """The report printed by one demo: from its heading to the next."""
        match = re.search(rf"^== {name}: .*?$(.*?)(?=^== )", self.stdout, re.M | re.S)
        assert match, f"no report for {name} in:\n{self.stdout}"
        return match[1]

    def numbers(self, name: str, pattern: str) -> list[float]:
        """The numbers of the first line of ``name``'s report that matches ``pattern`` (a regex
        whose groups are the numbers)."""
        match = re.search(pattern, self.section(name), re.M)
        assert match, f"{pattern!r} not in the report of {name}:\n{self.section(name)}"
        return [float(g) for g in match.groups()]


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    """The whole quick run, once for the file (about 40 s): each test that reads it is slow."""
    out = tmp_path_factory.mktemp("demos_out")
    done = demos("--quick", "--out", str(out))
    return QuickRun(out, done.stdout, done.stderr, done.returncode)


# --- the table and the command line -----------------------------------------------------------


def test_one_table_lists_the_demos_in_course_order_each_a_module_with_run() -> None:
    assert list(DEMOS) == COURSE_ORDER
    for name in DEMOS:
        assert (ROOT / "demos" / f"{name}.py").is_file()
        assert DEMOS[name]  # what it teaches, one line


@pytest.mark.slow
def test_quick_run_succeeds_and_ends_with_the_summary_table(quick: QuickRun) -> None:
    assert quick.returncode == 0, quick.stderr
    summary = quick.stdout.split("== summary (--quick) ==\n", 1)[1].splitlines()
    assert re.match(r"demo\s+seconds\s+files$", summary[0])
    rows = summary[2:-1]
    assert [row.split()[0] for row in rows] == COURSE_ORDER
    for row, name in zip(rows, COURSE_ORDER):
        seconds, files = re.match(rf"{name}\s+(\d+\.\d)\s+(.*)$", row).groups()  # type: ignore[union-attr]
        assert float(seconds) >= 0
        assert files.split(", ") == FILES[name]
    total = sum(len(f) for f in FILES.values())
    assert re.match(
        rf"total\s+\d+\.\d\s+{total} files in {re.escape(str(quick.out))}$", summary[-1]
    )


@pytest.mark.slow
def test_quick_run_writes_exactly_the_listed_files(quick: QuickRun) -> None:
    written = sorted(p.name for p in quick.out.iterdir())
    assert written == sorted(f for files in FILES.values() for f in files)


@pytest.mark.slow
@pytest.mark.parametrize("name", [f for files in FILES.values() for f in files])
def test_every_file_is_a_real_image_or_page(quick: QuickRun, name: str) -> None:
    path = quick.out / name
    data = path.read_bytes()
    assert len(data) > 1000
    if name.endswith(".png"):
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    elif name.endswith(".gif"):
        assert data[:6] in (b"GIF87a", b"GIF89a")
    elif name.endswith(".svg"):
        assert ET.fromstring(data).tag == "{http://www.w3.org/2000/svg}svg"
    else:
        page = data.decode("utf-8")
        assert page.lower().startswith("<!doctype html>")
        if name != "explorer.html":  # (the explorer's page is tested below)
            assert page.count("<svg") == 1  # the diagram, laid out once
            assert len(animation_frames(page)) >= 10  # its changes at each step of backward
        assert "http://" not in page.replace("http://www.w3.org", "")  # self-contained


@pytest.mark.slow
def test_progress_bars_stay_out_of_a_quick_run(quick: QuickRun) -> None:
    assert "it/s" not in quick.stderr and "%|" not in quick.stderr


# --- the numbers of each walk-through ---------------------------------------------------------


def row(label: str, count: int) -> str:
    """A pattern for a table row: ``label`` then ``count`` numbers, captured."""
    return rf"^\s*{re.escape(label)}\s+" + r"\s+".join([f"({NUMBER})"] * count)


@pytest.mark.slow
def test_activations_step_derivative_is_zero_and_the_others_match_the_course(
    quick: QuickRun,
) -> None:
    # columns: f(0), f'(-2), f'(0), f'(2)
    assert quick.numbers("activations", row("step", 4)) == [0.0, 0.0, 0.0, 0.0]
    assert quick.numbers("activations", row("sigmoid", 4))[2] == 0.25
    tanh = quick.numbers("activations", row("tanh", 4))
    assert tanh[2] == 1.0
    assert tanh[3] == pytest.approx(1 - math.tanh(2) ** 2, rel=1e-3)
    assert quick.numbers("activations", row("ReLU", 4)) == [0.0, 0.0, 0.0, 1.0]
    assert quick.numbers("activations", row("leaky ReLU (slope 0.1)", 4))[1] == 0.1
    assert "largest |f′| over 101 points = 0: the derivative is 0 everywhere" in quick.section(
        "activations"
    )


def array(run: QuickRun, name: str) -> list[float]:
    section = run.section("forward_pass")
    match = re.search(rf"^\s*{name}\s*= \[(.*)\]$", section, re.M)
    assert match, section
    return [float(x) for x in match[1].split()]


@pytest.mark.slow
def test_forward_pass_prints_the_course_numbers(quick: QuickRun) -> None:
    assert array(quick, "A1") == pytest.approx([0.3, 0.7, 1.1])
    assert array(quick, "Z1") == pytest.approx([0.57444252, 0.66818777, 0.75026011], abs=1e-8)
    assert array(quick, "Y") == pytest.approx([0.31682708, 0.69627909], abs=1e-8)


@pytest.mark.slow
def test_forward_pass_graph_is_clustered_by_layer_scope(quick: QuickRun) -> None:
    svg = (quick.out / "forward_pass_graph.svg").read_text(encoding="utf-8")
    assert svg.count('class="cluster"') == 3  # one cluster per layer scope, nothing else
    for layer in ("layer.1", "layer.2", "layer.3"):
        assert f">{layer}</text>" in svg


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "gradient"), [((3, 4), (6, 8)), ((0, 2), (0, 4)), ((3, 0), (6, 0))]
)
def test_numerical_gradient_and_engine_agree_at_the_course_points(
    quick: QuickRun, point: tuple[int, int], gradient: tuple[int, int]
) -> None:
    pattern = (
        rf"^\s*\({point[0]}\.0, {point[1]}\.0\) \(({NUMBER}), ({NUMBER})\)\s+"
        rf"\(({NUMBER}), ({NUMBER})\)"
    )
    n0, n1, e0, e1 = quick.numbers("numerical_gradient", pattern)
    assert (n0, n1) == pytest.approx(gradient, abs=1e-8)  # central differences
    assert (e0, e1) == gradient  # backpropagation: exact


@pytest.mark.slow
def test_gradient_descent_converges_diverges_and_stalls(quick: QuickRun) -> None:
    def final(lr: str) -> list[float]:
        pattern = rf"^\s*lr {re.escape(lr)}\s+after 100 steps: x = \(({NUMBER}), ({NUMBER})\)"
        return quick.numbers("gradient_descent", pattern)

    assert final("0.1") == pytest.approx([-3 * 0.8**100, 4 * 0.8**100], rel=1e-3)
    assert all(abs(x) > 1e100 for x in final("10"))  # x is multiplied by -19 each step
    assert final("1e-10") == pytest.approx([-3, 4], abs=1e-6)


@pytest.mark.slow
def test_computational_graph_prints_the_price_and_the_gradients(quick: QuickRun) -> None:
    assert quick.numbers("computational_graph", rf"^\s*price = ({NUMBER})$") == [715]
    expected = {"apple": 2.2, "apple_num": 110, "orange": 3.3, "orange_num": 165, "tax": 650}
    for name, gradient in expected.items():
        pattern = rf"^\s*d price / d {name}\s+= ({NUMBER})$"
        assert quick.numbers("computational_graph", pattern) == [gradient]


def animation_frames(page: str) -> list[object]:
    """The frames an animation page carries (its JSON block of changes and captions)."""
    found = re.search(r'<script type="application/json" id="frames">(.*?)</script>', page, re.S)
    assert found, "no frames in the page"
    return list(json.loads(found[1])["frames"])


@pytest.mark.slow
def test_computational_graph_animation_has_a_frame_per_node(quick: QuickRun) -> None:
    page = (quick.out / "computational_graph_backward.html").read_text(encoding="utf-8")
    # the forward pass, then one frame per node: 5 inputs, apples, oranges, subtotal, price
    assert len(animation_frames(page)) == 10
    assert "tax.grad += subtotal · price.grad = 650.0 · 1.0 = 650.0" in page
    assert "apple.grad += apple_num · apples.grad = 2.0 · 1.1 = 2.2" in page


@pytest.mark.slow
def test_chain_rule_product_of_local_derivatives_is_the_engines_gradient(
    quick: QuickRun,
) -> None:
    product = quick.numbers("chain_rule", rf"dz/dt · dt/dx = ({NUMBER}) · ({NUMBER}) = ({NUMBER})$")
    assert product == [6, 1, 6]
    assert quick.numbers("chain_rule", rf"engine: x.grad = ({NUMBER}), y.grad = ({NUMBER})") == [
        6,
        6,
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "loss"),
    [
        ("SGD (lr 0.95)", 0.0133),
        ("Momentum (lr 0.1, 0.9)", 0.0479),
        ("AdaGrad (lr 1.5)", 0.000722),
        ("RMSprop (lr 0.1)", 0.0243),
        ("Adam (lr 0.3)", 0.102),
    ],
)
def test_optimizers_reach_the_valley_floor_from_minus_7_2(
    quick: QuickRun, name: str, loss: float
) -> None:
    pattern = rf"^\s*{re.escape(name)}\s+after 30 steps: .*f = ({NUMBER})$"
    (f,) = quick.numbers("optimizers", pattern)
    assert f == pytest.approx(loss, rel=5e-3)
    assert f < (-7) ** 2 / 20 + 2**2 / 100  # far below where they started (6.45)


@pytest.mark.slow
def test_mini_batch_quick_training_learns_the_spiral(quick: QuickRun) -> None:
    first, last = quick.numbers("mini_batch", rf"loss: epoch 1 ({NUMBER}) -> epoch 12 ({NUMBER})")
    assert first > 0.9  # about log 3 = 1.10: guessing among three classes
    assert last < 0.7 * first
    (accuracy,) = quick.numbers("mini_batch", rf"training accuracy: ({NUMBER})%")
    assert accuracy > 70  # chance is 33%
    assert "steps per epoch: 9" in quick.section("mini_batch")  # 90 samples, batches of 10


@pytest.mark.slow
def test_moons_quick_training_separates_most_of_the_moons(quick: QuickRun) -> None:
    (start,) = quick.numbers("moons", rf"step\s+0\s+loss ({NUMBER})\s+accuracy")
    loss, accuracy = quick.numbers("moons", rf"step\s+19\s+loss ({NUMBER})\s+accuracy ({NUMBER})%")
    assert loss < start / 3
    assert accuracy >= 90  # the full run (100 steps) reaches 100%


@pytest.mark.slow
def test_weight_init_shows_saturation_collapse_and_the_good_inits(quick: QuickRun) -> None:
    def stds(activation: str, init: str) -> list[float]:
        return quick.numbers("weight_init", row(f"{activation:<8} {init}", 5))

    assert min(stds("sigmoid", "N(0, 0.01)")) < 0.05 < min(stds("sigmoid", "N(0, 1)"))
    assert stds("relu", "N(0, 0.01)")[-1] < 1e-3  # the signal dies out
    assert stds("relu", "He N(0, 2/n)")[-1] > stds("relu", "Xavier N(0, 1/n)")[-1]


@pytest.mark.slow
def test_newton_converges_in_fewer_iterations_than_gradient_descent(quick: QuickRun) -> None:
    newton, x_newton = quick.numbers("newton", rf"^\s*Newton\s+(\d+) iterations .*x = ({NUMBER})$")
    descent, x_descent = quick.numbers(
        "newton", rf"^\s*gradient descent \(lr 0.05\)\s+(\d+) iterations .*x = ({NUMBER})$"
    )
    assert newton < descent
    assert newton <= 8
    assert x_newton == pytest.approx(1.0, abs=1e-9)
    assert x_descent == pytest.approx(1.0, abs=1e-9)


@pytest.mark.slow
def test_higher_order_derivatives_of_tanh(quick: QuickRun) -> None:
    t = math.tanh(0.5)
    expected = [t, 1 - t**2, -2 * t * (1 - t**2), -2 * (1 - t**2) * (1 - 3 * t**2)]
    for order, value in enumerate(expected):
        pattern = rf"d\^{order}/dx\^{order} tanh\(x\) at x = 0.5: ({NUMBER})"
        assert quick.numbers("higher_order", pattern) == pytest.approx([value], abs=1e-9)
    for order, value in enumerate(expected[1:] + [3.9522195637], start=1):
        pattern = rf"d\^{order} by central differences of d\^{order - 1}: ({NUMBER})"
        assert quick.numbers("higher_order", pattern) == pytest.approx([value], abs=1e-6)
    (fourth,) = quick.numbers("higher_order", rf"d\^4/dx\^4 tanh\(x\) at x = 0.5: ({NUMBER})")
    (by_backward,) = quick.numbers("higher_order", rf"x.grad = ({NUMBER})")
    assert fourth == by_backward == pytest.approx(3.9522195637, abs=1e-9)


# --- each demo alone ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["computational_graph", "newton"])
def test_a_demo_runs_alone(tmp_path: Path, name: str) -> None:
    done = demos(f".{name}", "--quick", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert f"== {name}: " in done.stdout
    rows = done.stdout.split("== summary (--quick) ==\n", 1)[1].splitlines()[2:]
    assert [r.split()[0] for r in rows] == [name, "total"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES[name])


def test_named_demos_run_in_the_order_given_each_once(tmp_path: Path) -> None:
    # newton comes after chain_rule in the course; named the other way round, newton runs first.
    assert COURSE_ORDER.index("chain_rule") < COURSE_ORDER.index("newton")
    done = demos("newton", "chain_rule", "newton", "--quick", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    headings = re.findall(r"^== (\w+): ", done.stdout, flags=re.MULTILINE)
    assert headings == ["newton", "chain_rule"]
    rows = done.stdout.split("== summary (--quick) ==\n", 1)[1].splitlines()[2:]
    assert [r.split()[0] for r in rows] == ["newton", "chain_rule", "total"]


def test_default_output_folder_is_demos_out_in_the_current_directory(tmp_path: Path) -> None:
    done = demos("chain_rule", "--quick", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "demos_out").iterdir())
    assert written == sorted(FILES["chain_rule"])


def test_output_inside_the_package_and_unknown_names_are_refused() -> None:
    inside = demos("chain_rule", "--out", str(ROOT / "demos" / "pictures"))
    assert inside.returncode == 2
    assert "must not be inside the demos package" in inside.stderr
    assert not (ROOT / "demos" / "pictures").exists()
    unknown = demos("moon")
    assert unknown.returncode == 2
    assert "no demo called moon" in unknown.stderr


@pytest.mark.slow
def test_digits_report_ends_with_the_test_accuracy_of_the_quick_run(quick: QuickRun) -> None:
    section = quick.section("digits")
    lines = [line.strip() for line in section.strip().splitlines()]
    assert re.fullmatch(r"test accuracy \d+\.\d%", lines[-1])  # the report's last line
    (accuracy,) = quick.numbers("digits", rf"^\s*test accuracy ({NUMBER})%$")
    assert accuracy > 70  # 4 quick epochs; the full run reaches 97.8% (chance: 10%)
    wrong, total = quick.numbers("digits", r"misclassified: (\d+) of (\d+) test digits")
    assert total == 100  # a fifth of the quick run's 500 images
    assert accuracy == pytest.approx(100 * (1 - wrong / total), abs=0.05)
    (first,) = quick.numbers("digits", rf"epoch\s+1\s+loss train ({NUMBER})")
    (last,) = quick.numbers("digits", rf"epoch\s+4\s+loss train ({NUMBER})")
    assert first > 1.5 and last < 0.9  # down from about log 10 = 2.3, a guess among ten


@pytest.mark.slow
def test_overfitting_memorises_and_regularisation_holds_the_test_loss_down(
    quick: QuickRun,
) -> None:
    assert "30 training images, 100 test images" in quick.section("overfitting")

    def result(name: str) -> list[float]:
        pattern = (
            rf"^\s*{re.escape(name)}\s+accuracy train\s+({NUMBER})% test\s+({NUMBER})% "
            rf"\(gap\s+({NUMBER}) points\); loss train ({NUMBER}) test ({NUMBER}) "
            rf"\(lowest ({NUMBER})\)"
        )
        return quick.numbers("overfitting", pattern)

    plain, decay, dropout = (
        result(n) for n in ("no regularisation", "weight decay λ = 1", "dropout p = 0.5")
    )
    for train, test, gap, *_ in (plain, decay, dropout):
        assert gap == pytest.approx(train - test, abs=0.11)
    train, test, gap, train_loss, test_loss, lowest = plain
    assert train == 100 and train_loss < 0.01  # every training image learnt by heart
    assert gap > 20 and test_loss > 1.2 * lowest  # and the test loss climbs again
    assert decay[4] < 0.8 * test_loss  # weight decay holds the test loss down
    assert dropout[2] < gap  # dropout narrows the gap


@pytest.mark.slow
def test_batch_norm_trains_the_deep_net_that_does_not_learn_without_it(quick: QuickRun) -> None:
    def losses(init: str, with_or_without: str) -> list[float]:
        pattern = (
            rf"^\s*{init}, {with_or_without} batch norm\s+loss: first 5 steps ({NUMBER}), "
            rf"last 5 steps ({NUMBER})$"
        )
        return quick.numbers("batch_norm", pattern)

    first, last = losses("pytorch", "without")
    assert last == pytest.approx(math.log(10), abs=0.05)  # stuck at a guess among ten
    assert last > first - 0.05  # no progress at all
    first, last = losses("pytorch", "with")
    assert last < first - 0.3  # the same net, the same start, normalised: it learns
    first, last = losses("he", "with")
    assert last < first - 0.3

    def accuracy(init: str, with_or_without: str) -> float:
        pattern = (
            rf"^\s*{init}, {with_or_without} batch norm\s+test accuracy ({NUMBER})% "
            r"\(eval mode\)$"
        )
        return quick.numbers("batch_norm", pattern)[0]

    assert "1437 training digits, 360 test digits" in quick.section("batch_norm")
    without = accuracy("pytorch", "without")
    assert without < 15  # a guess among ten
    # In eval mode BatchNorm1d normalises by the running statistics that the compiled steps
    # moved (never moved, they would give 11% and 22% here): 33.6% and 30.8% after 40 steps.
    assert accuracy("pytorch", "with") > max(25, without + 15)
    assert accuracy("he", "with") > 25


@pytest.mark.slow
def test_hyperparameters_ranks_the_trials_and_tests_the_best_pair_once(quick: QuickRun) -> None:
    section = quick.section("hyperparameters")
    trials = [
        [float(g) for g in m.groups()]
        for m in re.finditer(
            rf"#(\d)  lr ({NUMBER})  weight decay ({NUMBER})  validation accuracy ({NUMBER})%",
            section,
        )
    ]
    assert [t[0] for t in trials] == [1, 2, 3, 4, 5]
    accuracies = [t[3] for t in trials]
    assert accuracies == sorted(accuracies, reverse=True)
    for _, lr, decay, _ in trials:  # drawn on a log scale within the ranges
        assert 1e-3 <= lr <= 1 and 1e-6 <= decay <= 1e-1
    best_lr, best_decay, best, test = quick.numbers(
        "hyperparameters",
        rf"best pair: lr ({NUMBER}), weight decay ({NUMBER}) \(validation accuracy ({NUMBER})%\); "
        rf"on the 360 test digits, used only now: ({NUMBER})%",
    )
    assert [best_lr, best_decay, best] == trials[0][1:]
    assert best > 30 and test > 30  # chance is 10%


@pytest.mark.slow
def test_explorer_writes_a_page_replaying_the_quick_run(quick: QuickRun) -> None:
    section = quick.section("explorer")
    train, validation, test = (int(n) for n in quick.numbers(
        "explorer", r"(\d+) training, (\d+) validation and (\d+) test points"
    ))  # fmt: skip
    assert (train, validation, test) == (54, 18, 18)  # 90 yin-yang points split 60/20/20
    snapshots, last = quick.numbers(
        "explorer", r"explorer.html: (\d+) snapshots \(steps 0 to (\d+)\)"
    )
    assert (snapshots, last) == (5, 20)  # every 5 steps, 0 to 20
    (megabytes,) = quick.numbers("explorer", rf"page size: ({NUMBER}) MB")
    page = quick.out / "explorer.html"
    assert megabytes == pytest.approx(page.stat().st_size / 1e6, abs=0.05)
    text = page.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="explorer-data">(.*?)</script>', text, re.S)[1])  # type: ignore[index]
    assert data["steps"] == [0, 5, 10, 15, 20] and data["points"] == 54
    assert set(data["losses"]) == {"train", "validation", "test"}
    assert data["losses"]["train"][-1] < data["losses"]["train"][0]  # it learns
    assert text.count('class="point"') == 54  # every training point can be clicked
    assert "self-contained (no network)" in section
