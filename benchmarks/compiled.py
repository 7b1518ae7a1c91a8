"""The compiled replay against the interpreter and micrograd, side by side in one process.

    python benchmarks/compiled.py [--steps 100] [--batch-steps 3] [--compiled-steps 20] [--quick]

Three training steps, each a forward, a backward and a plain SGD update:

* **micrograd's demo step** (the moons, 100 samples, MLP 2-16-16-1, max-margin loss + 1e-4 L2,
  full batch, ``lr = 1.0 - 0.9 k / 100``): micrograd, our interpreter and our compiled replay
  each train their own copy of the model for ``--steps`` steps (100, as the demo does), in
  alternating blocks of 10 consecutive steps, and must give the same losses (to 1e-9 relative).
* a **digits-shaped step**: MLP 64-50-10 (ReLU, He initialisation), a batch of 100 random
  samples, softmax cross-entropy (``functional.cross_entropy`` with class indices, which are
  static: the same batch at every step), SGD with lr 0.1; interpreter against compiled.
* the **MNIST-shaped step** of the course: the same with 784 inputs (about eight million nodes).

For each, the compiled program's size (nodes, vectorised steps, bytes per node) and the time of
its first call (trace + compile), which is not counted in the step times. Times are medians of
the steps after the first. The compiled loops keep their parameter list, as an optimiser does.

Each workload also runs the **floor**: the same training step written by hand in numpy on
arrays (forward, backward and update as matrix products), from the same initial parameters, in
the same process, taking turns with the others; its losses are compared too. The SPEC's targets
are ratios to it (compiled within 8x / 10x / 12x of the floor on the three workloads). numpy's
BLAS runs on one thread (threadpoolctl, where installed), as the targets say.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from common import machine, micrograd_engine, table
from moons_step import svm_step

import tinygrad_edu
from tinygrad_edu import Value, nn
from tinygrad_edu.compile import Program
from tinygrad_edu.data import make_moons
from tinygrad_edu.functional import cross_entropy

Step = Callable[[int], float]


def limit_blas_threads() -> str:
    """One BLAS thread for the whole process (threadpoolctl); says what was set."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return "BLAS threads: the library's default (threadpoolctl is not installed)"
    threadpool_limits(limits=1)
    kernels = sorted(
        {f"{i['internal_api']} {i.get('architecture', '')}" for i in threadpool_info()}
    )
    return f"BLAS: {', '.join(kernels)}, 1 thread"


def layers(model: nn.MLP) -> list[tuple[np.ndarray, np.ndarray]]:
    """The model's parameters as (W, b) per layer, W of shape (nout, nin)."""
    found = []
    for layer in model.layers:
        rows = [[p.data for p in neuron.w] + [neuron.b.data] for neuron in layer.neurons]
        array = np.array(rows)
        found.append((array[:, :-1].copy(), array[:, -1].copy()))
    return found


def numpy_demo_step(model: nn.MLP, X: Any, y: Sequence[int]) -> Step:
    """micrograd's demo step written by hand in numpy: relu layers, max-margin loss + 1e-4 L2,
    SGD with lr 1.0 - 0.9 k / 100; the floor the compiled replay is measured against."""
    params = layers(model)
    X_, y_ = np.array(X, dtype=np.float64), np.array(y, dtype=np.float64)[:, None]

    def step(k: int) -> float:
        (W1, b1), (W2, b2), (W3, b3) = params
        z1 = X_ @ W1.T + b1
        h1 = np.maximum(z1, 0.0)
        z2 = h1 @ W2.T + b2
        h2 = np.maximum(z2, 0.0)
        score = h2 @ W3.T + b3
        margin = 1.0 - y_ * score
        n = len(X_)
        reg = sum(float(np.sum(W * W) + np.sum(b * b)) for W, b in params)
        loss = float(np.sum(np.maximum(margin, 0.0))) / n + 1e-4 * reg
        g3 = -(y_ * (margin > 0)) / n
        g2 = (g3 @ W3) * (z2 > 0)
        g1 = (g2 @ W2) * (z1 > 0)
        lr = 1.0 - 0.9 * k / 100
        for W, b, g, h in ((W3, b3, g3, h2), (W2, b2, g2, h1), (W1, b1, g1, X_)):
            W -= lr * (g.T @ h + 2e-4 * W)
            b -= lr * (g.sum(axis=0) + 2e-4 * b)
        return loss

    return step


def numpy_batch_step(model: nn.MLP, X: np.ndarray, labels: np.ndarray) -> Step:
    """The digits- or MNIST-shaped step written by hand in numpy: a relu layer, softmax
    cross-entropy (mean), SGD with lr 0.1; the floor of the compiled replay."""
    (W1, b1), (W2, b2) = layers(model)
    n = len(X)
    rows = np.arange(n)

    def step(k: int) -> float:
        z1 = X @ W1.T + b1
        h1 = np.maximum(z1, 0.0)
        z2 = h1 @ W2.T + b2
        shifted = z2 - z2.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=1))
        loss = float(np.mean(log_norm - shifted[rows, labels]))
        g2 = np.exp(shifted - log_norm[:, None])
        g2[rows, labels] -= 1.0
        g2 /= n
        g1 = (g2 @ W2) * (z1 > 0)
        for W, b, g, h in ((W2, b2, g2, h1), (W1, b1, g1, X)):
            W -= 0.1 * (g.T @ h)
            b -= 0.1 * g.sum(axis=0)
        return loss

    return step


def svm_loss(model: nn.MLP, X: Any, y: Sequence[int]) -> Value:
    """The loss of ``moons_step.svm_step``, the same graph: max-margin loss + 1e-4 L2."""
    scores = [model(row) for row in X]
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss  # type: ignore[no-any-return]


def sgd(params: list[Value], lr: float) -> None:
    """p -= lr * p.grad, as ``svm_step`` updates."""
    for p in params:
        p.data -= lr * p.grad


def compiled_step(
    fast: Callable[..., Value],
    params: list[Value],
    args: tuple[Any, ...],
    lr: Callable[[int], float],
) -> Step:
    """One training step through the compiled function: forward, backward, SGD."""

    def step(k: int) -> float:
        loss = fast(*args)
        for p in params:
            p.grad = 0.0
        loss.backward()
        sgd(params, lr(k))
        return loss.data

    return step


def demo_steps(samples: int) -> tuple[dict[str, Step], Program]:
    """micrograd's demo step for each engine, each with its own model after random.seed(1337)."""
    from micrograd.nn import MLP as MicroMLP

    X_np, y_np = make_moons(samples, noise=0.1, seed=0)
    X, y = X_np.tolist(), [int(2 * label - 1) for label in y_np]
    Micro = micrograd_engine().Value
    random.seed(1337)
    theirs = MicroMLP(2, [16, 16, 1])
    random.seed(1337)
    interpreted = nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    model = nn.MLP(2, [16, 16, 1])
    fast = tinygrad_edu.compile(lambda X, y: svm_loss(model, X, y))
    steps: dict[str, Step] = {
        "micrograd": lambda k: svm_step(Micro, theirs, X, y, k),
        "interpreter": lambda k: svm_step(Value, interpreted, X, y, k),
        "compiled": compiled_step(fast, model.parameters(), (X, y), lambda k: 1.0 - 0.9 * k / 100),
        "numpy (floor)": numpy_demo_step(model, X, y),
    }
    return steps, fast.program(X, y)


def batch_steps(nin: int, batch: int, classes: int) -> tuple[dict[str, Step], Program]:
    """The digits- or MNIST-shaped step: MLP nin-50-classes, softmax cross-entropy, SGD 0.1."""
    rng = np.random.default_rng(0)
    X, labels = rng.random((batch, nin)), rng.integers(0, classes, batch)
    interpreted = nn.MLP(nin, [50, classes], init="he", rng=random.Random(0))
    model = nn.MLP(nin, [50, classes], init="he", rng=random.Random(0))

    def loss_of(m: nn.MLP) -> Callable[[Any, Any], Value]:
        def loss(X: Any, labels: Any) -> Value:
            return cross_entropy([m(row) for row in X], labels)

        return loss

    fast = tinygrad_edu.compile(loss_of(model))
    interpreter_params = interpreted.parameters()

    def interpreter_step(k: int) -> float:
        loss = loss_of(interpreted)([[Value(v) for v in row] for row in X.tolist()], labels)
        for p in interpreter_params:
            p.grad = 0.0
        loss.backward()
        sgd(interpreter_params, 0.1)
        return loss.data

    steps = {
        "interpreter": interpreter_step,
        "compiled": compiled_step(fast, model.parameters(), (X, labels), lambda k: 0.1),
        "numpy (floor)": numpy_batch_step(model, X, labels),
    }
    return steps, fast.program(X, labels)


def narrow_steps(depth: int) -> dict[str, Step]:
    """A graph deeper than it is wide: x = tanh(w·x) + 0.001, ``depth`` times, forward and
    backward, interpreted and compiled (which replays it node by node with the float rules)."""
    w = Value(0.999)

    def fn(x: Any) -> Value:
        for _ in range(depth):
            x = (x * w).tanh() + 0.001
        return x  # type: ignore[no-any-return]

    fast = tinygrad_edu.compile(fn)
    fast(0.5)

    def interpreted(k: int) -> float:
        out = fn(Value(0.5))
        out.backward()
        return out.data

    def compiled(k: int) -> float:
        out = fast(0.5)
        out.backward()
        return out.data

    return {"interpreter": interpreted, "compiled": compiled}


Runs = dict[str, list[float]]


def run(steps: dict[str, Step], counts: dict[str, int], block: int) -> tuple[Runs, Runs]:
    """Each engine's step times (all but its first step) and losses, in alternating blocks of
    consecutive steps, with a full collection between blocks, untimed."""
    seconds: dict[str, list[float]] = {name: [] for name in steps}
    losses: dict[str, list[float]] = {name: [] for name in steps}
    while any(len(losses[name]) < counts[name] for name in steps):
        for name, step in steps.items():
            gc.collect()
            for _ in range(min(block, counts[name] - len(losses[name]))):
                start = time.perf_counter()
                losses[name].append(step(len(losses[name])))
                seconds[name].append(time.perf_counter() - start)
    return {name: times[1:] or times for name, times in seconds.items()}, losses


def difference(losses: list[float], reference: list[float]) -> float:
    """The largest relative difference between two runs' losses, step by step."""
    return max(abs(a - b) / max(abs(b), 1e-300) for a, b in zip(losses, reference))


def floor_row(name: str, compiled: float, floor: float, target: int) -> list[str]:
    """A row of the table of ratios to the floor: compiled and numpy times, their ratio."""
    return [
        name,
        f"{compiled * 1e3:,.2f}",
        f"{floor * 1e3:,.3f}",
        f"{compiled / floor:,.1f}x",
        f"<= {target}x",
    ]


def program_row(
    name: str, program: Program, interpreter: float, compiled: float, diff: float
) -> list[str]:
    return [
        name,
        f"{program.nodes:,}",
        f"{len(program.schedule):,}",
        f"{program.nbytes / program.nodes:.1f}",
        f"{program.seconds_to_trace + program.seconds_to_compile:.2f}",
        f"{interpreter * 1e3:,.1f}",
        f"{compiled * 1e3:,.2f}",
        f"{interpreter / compiled:,.0f}x",
        f"{diff:.1e}",
    ]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="micrograd demo steps per engine")
    parser.add_argument(
        "--batch-steps", type=int, default=3, help="interpreter steps, digits and MNIST shapes"
    )
    parser.add_argument(
        "--compiled-steps", type=int, default=20, help="compiled steps, digits and MNIST shapes"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    args = parser.parse_args(argv)
    blas = limit_blas_threads()
    samples, digits, mnist, batch = (100, 64, 784, 100) if not args.quick else (10, 8, 20, 5)

    steps, demo = demo_steps(samples)
    n = args.steps
    seconds, losses = run(steps, {name: n for name in steps}, block=10)
    medians = {name: statistics.median(times) for name, times in seconds.items()}
    rows = [
        [
            name,
            f"{medians[name] * 1e3:,.2f}",
            f"{medians['micrograd'] / medians[name]:,.0f}x",
            f"{difference(losses[name], losses['micrograd']):.1e}",
        ]
        for name in steps
    ]
    demo_table = table(
        ["engine", "ms per step (median)", "speed-up", "max loss difference (relative)"], rows
    )
    floors = [floor_row("A: micrograd's demo", medians["compiled"], medians["numpy (floor)"], 8)]
    programs = [
        program_row(
            "micrograd's demo",
            demo,
            medians["interpreter"],
            medians["compiled"],
            difference(losses["compiled"], losses["interpreter"]),
        )
    ]
    losses_floor_demo, losses_interpreter_demo = losses["numpy (floor)"], losses["interpreter"]
    del steps, seconds, losses
    for name, nin in (("digits-shaped", digits), ("MNIST-shaped", mnist)):
        gc.collect()
        steps, program = batch_steps(nin, batch, 10 if not args.quick else 3)
        compiled_count = max(args.compiled_steps, args.batch_steps)
        counts = {
            "interpreter": args.batch_steps,
            "compiled": compiled_count,
            "numpy (floor)": compiled_count,
        }
        seconds, losses = run(steps, counts, block=counts["compiled"])
        compiled = statistics.median(seconds["compiled"])
        programs.append(
            program_row(
                name,
                program,
                statistics.median(seconds["interpreter"]),
                compiled,
                difference(losses["compiled"], losses["interpreter"]),
            )
        )
        floor = statistics.median(seconds["numpy (floor)"])
        target = 10 if nin == digits else 12
        label = f"{'B' if nin == digits else 'C'}: {name}"
        floors.append(floor_row(label, compiled, floor, target))
        floor_diff = difference(
            losses["numpy (floor)"][: len(losses["interpreter"])], losses["interpreter"]
        )
        floors[-1].append(f"{floor_diff:.1e}")
        del steps, seconds, losses, program
    deep = 3000 if not args.quick else 30
    seconds, losses = run(narrow_steps(deep), {"interpreter": 20, "compiled": 20}, block=5)
    narrow = {name: statistics.median(times) for name, times in seconds.items()}
    narrow_row = [
        f"{deep:,} levels of tanh(w·x) + 0.001",
        f"{narrow['interpreter'] * 1e3:,.2f}",
        f"{narrow['compiled'] * 1e3:,.2f}",
        f"{narrow['compiled'] / narrow['interpreter']:.2f}",
        f"{difference(losses['compiled'], losses['interpreter']):.1e}",
    ]
    header = [
        "step",
        "nodes",
        "vectorised steps",
        "bytes per node",
        "trace + compile (s)",
        "interpreter (ms per step)",
        "compiled (ms per step)",
        "speed-up",
        "max loss difference (relative)",
    ]
    floors[0].append(f"{difference(losses_floor_demo, losses_interpreter_demo):.1e}")
    report = (
        f"Compiled replay ({machine()}; {blas})\n\n"
        f"micrograd's demo step: moons, {samples} samples, MLP 2-16-16-1, max-margin loss + L2,"
        f" SGD; {n} steps per engine in alternating blocks of 10\n\n"
        + demo_table
        + f"\n\nThe compiled programs (digits- and MNIST-shaped: batch {batch}, softmax"
        f" cross-entropy; {args.batch_steps} interpreter steps, {counts['compiled']} compiled)\n\n"
        + table(header, programs)
        + "\n\nThe whole training step against the same step written by hand in numpy"
        " (the floor)\n\n"
        + table(
            [
                "workload",
                "compiled (ms per step)",
                "numpy floor (ms per step)",
                "compiled / floor",
                "target",
                "floor's max loss difference to the interpreter",
            ],
            floors,
        )
        + "\n\nA graph deeper than it is wide (one node per level, forward and backward), which"
        " the replay runs node by node with the float rules: no slower than the interpreter\n\n"
        + table(
            [
                "graph",
                "interpreter (ms)",
                "compiled (ms)",
                "compiled / interpreter",
                "max difference (relative)",
            ],
            [narrow_row],
        )
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
