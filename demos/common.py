"""What every demo shares: its report, saving pictures, progress bars and the command line.

A demo is a module with ``run(out: Path, quick: bool) -> Report``. It writes its files through
the report (``report.figure``, ``report.graph``, ``report.animation``), which records them, and
says its key numbers with ``report.say`` (printed at once, kept for the summary).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from tqdm import tqdm

import tinygrad_edu
import viz
from tinygrad_edu import Value, nn, no_grad, optim
from tinygrad_edu.data import one_hot
from tinygrad_edu.functional import cross_entropy

from . import DEMOS

__all__ = [
    "Report",
    "progress",
    "contours",
    "decision_regions",
    "Classifier",
    "Score",
    "Curves",
    "run_demo",
    "summary_table",
    "main",
    "DEFAULT_OUT",
]

DEFAULT_OUT = Path("demos_out")
FIGURE_DPI = 110  # sharp enough to read, small enough to commit
PACKAGE = Path(__file__).resolve().parent

plt.rcParams.update(
    {
        "figure.facecolor": "white",
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 11,
        "figure.titlesize": 13,
        "legend.fontsize": 9,
        "legend.framealpha": 0.9,
    }
)

T = TypeVar("T")


@dataclass
class Report:
    """What one demo did: the lines it printed, the files it wrote, and its running time."""

    name: str
    out: Path
    lines: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    failed: bool = False

    def say(self, text: str = "") -> None:
        """Print a line of the report (indented under the demo's heading) and keep it."""
        self.lines.append(text)
        print(f"  {text}" if text else "", flush=True)

    def path(self, filename: str) -> Path:
        """Where a file of this demo goes: one flat folder; by convention each demo's file names
        start with the demo's name."""
        return self.out / filename

    def figure(self, fig: Figure, filename: str) -> Path:
        """Save a matplotlib figure (the suffix picks the format), close it, record it."""
        path = self.path(filename)
        fig.savefig(path, dpi=FIGURE_DPI, bbox_inches="tight")
        plt.close(fig)
        return self._wrote(path)

    def graph(self, root: Value, filename: str, **options: Any) -> Path:
        """Render ``root``'s computation graph with ``viz.render`` (options as there)."""
        return self._wrote(viz.render(root, self.path(filename), **options))

    def animation(self, root: Value, filename: str, **options: Any) -> Path:
        """The backward pass of ``root`` step by step with ``viz.animate`` (.html or .gif)."""
        return self._wrote(viz.animate(root, self.path(filename), **options))

    def wrote(self, path: Path) -> Path:
        """Record a file the demo wrote itself (a page made by ``viz.explore``, say)."""
        return self._wrote(path)

    def _wrote(self, path: Path) -> Path:
        self.files.append(path)
        return path


class Run(Protocol):
    """A demo's entry point."""

    def __call__(self, out: Path, quick: bool) -> Report: ...


def progress(items: Iterable[T], *, total: int, desc: str, quick: bool) -> Iterator[T]:
    """``items`` with a tqdm progress bar on stderr, shown only in a terminal and not in --quick
    (tests and logs stay clean)."""
    hidden = quick or not sys.stderr.isatty()
    yield from tqdm(items, total=total, desc=f"  {desc}", leave=False, disable=hidden)


def contours(
    ax: Axes,
    f: Any,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    levels: int | Sequence[float] = 15,
) -> None:
    """Contour lines of f(x, y) on the box ``xlim`` × ``ylim``, with the minimum at (0, 0)
    marked. ``f`` is written once for Values and works as well on numpy arrays of floats."""
    xs, ys = np.meshgrid(np.linspace(*xlim, 200), np.linspace(*ylim, 200))
    ax.contour(xs, ys, f(xs, ys), levels=levels, cmap="Greys_r", linewidths=0.8, alpha=0.7)
    ax.plot(0, 0, "+", color="black", ms=10, mew=1.5)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid(False)


def decision_regions(
    ax: Axes,
    classify: Callable[[list[float]], int],
    X: np.ndarray,
    y: np.ndarray,
    resolution: int,
) -> None:
    """The class ``classify`` gives each point of a grid over the data, as coloured regions
    (evaluated under ``no_grad``: nothing recorded), with the samples on top."""
    pad = 0.25
    xs = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, resolution)
    ys = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, resolution)
    with no_grad():
        classes = np.array([[classify([a, b]) for a in xs] for b in ys])
    colours = ListedColormap(["#4575b4", "#d73027", "#1a9850"][: int(y.max()) + 1])
    levels = np.arange(int(y.max()) + 2) - 0.5
    ax.contourf(xs, ys, classes, levels=levels, cmap=colours, alpha=0.25)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=colours, s=18, edgecolors="black", linewidths=0.4)
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.set_aspect("equal")
    ax.grid(False)


# --- training a classifier on real data, compiled -----------------------------------------------


@dataclass(frozen=True)
class Score:
    """How a model does on a data set: its mean cross-entropy, its accuracy (a fraction) and
    the class it predicts for each sample."""

    loss: float
    accuracy: float
    predicted: np.ndarray


@dataclass
class Curves:
    """Each data set's mean loss and accuracy, recorded at every evaluation (once an epoch)."""

    loss: dict[str, list[float]] = field(default_factory=dict)
    accuracy: dict[str, list[float]] = field(default_factory=dict)

    def record(self, name: str, score: Score) -> None:
        """Append ``score`` to the curves of the set ``name``."""
        self.loss.setdefault(name, []).append(score.loss)
        self.accuracy.setdefault(name, []).append(score.accuracy)


class Classifier:
    """A model trained on mini-batches with softmax cross-entropy, the course's way, compiled.

    The training step (in ``train()`` mode) and the scoring of a batch (in ``eval()`` mode) are
    each traced once by ``tinygrad_edu.compile`` and replayed for every batch after that:
    every node stays a scalar of the same graph, only the bookkeeping leaves Python. Targets
    go in one-hot (floats: the same program serves every set of labels) and every batch has
    ``batch_size`` samples (an epoch drops the remainder; scoring pads the last batch), so each
    function is traced exactly once. A Dropout's masks are drawn anew at every replayed step
    and a BatchNorm1d's running statistics move with every step, as in the interpreter.
    """

    def __init__(self, model: nn.Module, classes: int, *, batch_size: int) -> None:
        self.model = model
        self.classes = classes
        self.batch_size = batch_size
        self._step = tinygrad_edu.compile(self._batch_loss)
        self._scores = tinygrad_edu.compile(self._batch_scores)

    def _batch_loss(self, X: Any, targets: Any) -> Value:
        return cross_entropy(self.model(X), targets)

    def _batch_scores(self, X: Any, targets: Any) -> list[Value]:
        logits = self.model(X)
        losses = cross_entropy(logits, targets, reduction="none")
        return [*losses, *(v for row in logits for v in row)]

    def step(self, optimizer: optim.Optimizer, X: np.ndarray, y: np.ndarray) -> float:
        """One step of gradient descent on the batch (X, y); returns the batch's mean loss."""
        self.model.train()
        loss = self._step(X, one_hot(y, self.classes))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.data)

    def epoch(
        self,
        optimizer: optim.Optimizer,
        X: np.ndarray,
        y: np.ndarray,
        *,
        seed: int,
    ) -> float:
        """One pass over (X, y) in shuffled batches of ``batch_size`` (the remainder is left
        for another epoch). Returns the mean of the batches' losses."""
        order = np.random.default_rng(seed).permutation(len(X))
        losses = []
        for start in range(0, len(X) - self.batch_size + 1, self.batch_size):
            batch = order[start : start + self.batch_size]
            losses.append(self.step(optimizer, X[batch], y[batch]))
        return float(np.mean(losses))

    def score(self, X: np.ndarray, y: np.ndarray) -> Score:
        """The model's mean loss and accuracy on (X, y), in ``eval()`` mode, forward only."""
        self.model.eval()
        size = self.batch_size
        losses, logits = [], []
        with no_grad():
            for start in range(0, len(X), size):
                X_batch, y_batch = X[start : start + size], y[start : start + size]
                real = len(X_batch)
                if real < size:  # pad with copies of the first sample, dropped below
                    X_batch = np.concatenate([X_batch, np.repeat(X_batch[:1], size - real, 0)])
                    y_batch = np.concatenate([y_batch, np.repeat(y_batch[:1], size - real)])
                out = [v.data for v in self._scores(X_batch, one_hot(y_batch, self.classes))]
                losses += out[:real]
                logits.append(np.reshape(out[size:], (size, self.classes))[:real])
        predicted = np.argmax(np.concatenate(logits), axis=1)
        return Score(float(np.mean(losses)), float(np.mean(predicted == y)), predicted)


def run_demo(name: str, out: Path, quick: bool) -> Report:
    """Run the demo ``name`` into ``out``, timed. A demo that raises is reported as failed (with
    its traceback on stderr), so the others still run."""
    print(f"\n== {name}: {DEMOS[name]} ==", flush=True)
    start = time.perf_counter()
    run: Run = importlib.import_module(f"demos.{name}").run
    try:
        report = run(out, quick)
    except Exception:
        traceback.print_exc()
        report = Report(name, out, failed=True)
    report.seconds = time.perf_counter() - start
    return report


def summary_table(reports: Sequence[Report], out: Path) -> str:
    """One row per demo: its name, seconds and the files it wrote; then the totals."""
    width = max(len(r.name) for r in reports)
    lines = [f"{'demo':<{width}}  {'seconds':>7}  files", f"{'-' * width}  {'-' * 7}  -----"]
    for r in reports:
        files = "FAILED" if r.failed else ", ".join(p.name for p in r.files)
        lines.append(f"{r.name:<{width}}  {r.seconds:>7.1f}  {files}")
    count = sum(len(r.files) for r in reports)
    total = sum(r.seconds for r in reports)
    files = "file" if count == 1 else "files"
    lines.append(f"{'total':<{width}}  {total:>7.1f}  {count} {files} in {out}")
    return "\n".join(lines)


def _arguments(argv: Sequence[str] | None, names: Sequence[str]) -> argparse.Namespace:
    alone = len(names) == 1
    parser = argparse.ArgumentParser(
        prog=f"python -m demos.{names[0]}" if alone else "python -m demos",
        description=DEMOS[names[0]] if alone else "Run the course's walk-throughs, in order.",
    )
    if not alone:
        parser.add_argument(
            "only", nargs="*", metavar="NAME",
            help=f"run only these demos, in the order given (default: all, in course order: "
            f"{', '.join(DEMOS)})",
        )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT,
        help=f"folder for the pictures (default: {DEFAULT_OUT}/ in the current directory)",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true", help="small sizes and few steps: seconds, not minutes"
    )
    args = parser.parse_args(argv)
    unknown = [n for n in getattr(args, "only", []) if n not in DEMOS]
    if unknown:
        parser.error(f"no demo called {', '.join(unknown)}; choose from {', '.join(DEMOS)}")
    if args.out.resolve().is_relative_to(PACKAGE):
        parser.error(f"--out must not be inside the demos package ({PACKAGE})")
    return args


def main(argv: Sequence[str] | None = None, names: Sequence[str] = tuple(DEMOS)) -> int:
    """The command line of ``python -m demos`` (all ``names``) and ``python -m demos.NAME``
    (one name). Returns the exit status: 1 if any demo failed."""
    args = _arguments(argv, names)
    # The demos named on the command line run in the order given (each once); none named: all
    # of them, in the course's order.
    chosen = list(dict.fromkeys(getattr(args, "only", None) or names))
    args.out.mkdir(parents=True, exist_ok=True)
    reports = [run_demo(name, args.out, args.quick) for name in chosen]
    print(f"\n== summary{' (--quick)' if args.quick else ''} ==")
    print(summary_table(reports, args.out))
    return 1 if any(r.failed for r in reports) else 0
