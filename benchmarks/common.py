"""What the benchmarks share: the two engines, timing the garbage collector, a plain-text table.

Run a benchmark from the repository root: ``python benchmarks/NAME.py`` (``--help`` for sizes).
Engines are compared in one process, taking turns, so that a noisy, shared machine slows both
alike; the figures to trust are the ratios.
"""

from __future__ import annotations

import gc
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tinygrad_edu


def micrograd_engine() -> ModuleType:
    """micrograd's engine module (the PyPI package ``micrograd``, in the ``bench`` extra)."""
    try:
        import micrograd.engine
    except ImportError:
        sys.exit("this benchmark compares with micrograd: pip install -e '.[bench]'")
    return micrograd.engine


def engines() -> dict[str, Any]:
    """The Value class of each engine, by name."""
    return {"tinygrad_edu": tinygrad_edu.Value, "micrograd": micrograd_engine().Value}


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
"""What a benchmark can time with: wall-clock seconds, or the CPU seconds of this process (on a
machine that others share, those depend less on what else runs)."""


@contextmanager
def gc_timer(clock: Callable[[], float] = time.perf_counter) -> Iterator[list[float]]:
    """Collects the seconds spent in each run of the cyclic garbage collector in the block,
    timed with ``clock``."""
    spent: list[float] = []
    started: list[float] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(clock())
        elif started:
            spent.append(clock() - started.pop())

    gc.callbacks.append(callback)
    try:
        yield spent
    finally:
        gc.callbacks.remove(callback)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, columns right-aligned, also valid Markdown."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.rjust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    return "\n".join(lines)


def machine() -> str:
    """One line on where the figures come from."""
    return (
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}"
    )
