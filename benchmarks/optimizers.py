"""One step of each optimiser, on micrograd's demo model (337 parameters) and on the course's
MNIST-shaped model (39,760 parameters), beside the hand-written SGD loop.

    python benchmarks/optimizers.py [--repeat 30]

Each optimiser applies its rule on arrays (one entry per parameter of a group) between one
read of the parameters' data and gradients and one write of the new data
(``tinygrad_edu.bulk``). The hand-written loop ``for p in params: p.data -= lr * p.grad`` is
the least a step can do in Python: one pass over the parameters. CPU time of this process,
the first quartile of ``--repeat`` steps.
"""

from __future__ import annotations

import argparse
import functools
import random
import time
from collections.abc import Callable

from common import machine, table

from tinygrad_edu import Value, nn, optim

SIZES = {
    "micrograd's demo (2-16-16-1)": (2, [16, 16, 1]),
    "MNIST-shaped (784-50-10)": (784, [50, 10]),
}
MAKERS: dict[str, Callable[[list[Value]], optim.Optimizer]] = {
    "SGD": lambda ps: optim.SGD(ps, lr=0.1),
    "SGD, momentum 0.9": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    "Adagrad": lambda ps: optim.Adagrad(ps, lr=0.1),
    "RMSprop": lambda ps: optim.RMSprop(ps, lr=1e-3),
    "Adam": lambda ps: optim.Adam(ps, lr=1e-3),
    "AdamW": lambda ps: optim.AdamW(ps, lr=1e-3),
}


def by_hand(params: list[Value]) -> None:
    """micrograd's update: for p in params: p.data -= lr * p.grad (lr 0.1)."""
    for p in params:
        p.data -= 0.1 * p.grad


def seconds(step: Callable[[], None], repeat: int) -> float:
    """The first quartile of ``repeat`` timings of ``step``, in CPU seconds."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        step()
        times.append(time.process_time() - start)
    return sorted(times)[len(times) // 4]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="steps timed per optimiser")
    args = parser.parse_args(argv)
    rows = []
    for size, (nin, nouts) in SIZES.items():
        params = nn.MLP(nin, nouts, rng=random.Random(0)).parameters()
        for p in params:
            p.grad = 0.01

        timed = {"hand-written SGD loop": seconds(functools.partial(by_hand, params), args.repeat)}
        for name, make in MAKERS.items():
            optimizer = make(params)
            optimizer.step()  # the state's first step
            timed[name] = seconds(optimizer.step, args.repeat)
        for name, s in timed.items():
            rows.append([size, name, f"{s * 1e3:,.3f}", f"{s / len(params) * 1e9:,.0f}"])
    report = f"One optimiser step ({machine()})\n\n" + table(
        ["model", "step", "ms per step", "ns per parameter"], rows
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
