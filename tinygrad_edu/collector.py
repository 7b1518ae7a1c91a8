"""Python's cyclic garbage collector, paused inside the library's calls that build or walk graphs.

Why: a graph here holds no reference cycles (a node points at its inputs and nothing else), so
reference counting frees it the moment it is dropped, and the cyclic collector has nothing to
find in it. The collector does not know that: it runs after every few hundred new objects and
scans the objects that are still alive, and while a training step builds its graph every one of
its nodes is alive. On micrograd's demo step it took about a third of our time.
``benchmarks/moons_step.py --alone`` measures the step, each engine in a process of its own,
with the share of time spent in the collector.

How: :func:`pausing` wraps the calls that build or walk a graph (a module's ``__call__``,
``backward()``, ``grad()``, an optimiser's ``step()``). The first of them to start turns the
collector off, if it was on, and the last to return turns it back on: a count of the calls in
progress, kept under a lock, so nested calls (a model calling its layers) and calls from several
threads at once hand the pause on. Outside the library's calls, the collector is exactly as the
program set it: ``gc.isenabled()`` is the same after every call as before it, an exception
included. The collector is one per process, so while any thread is inside such a call it is
paused for all of them: cycles a program makes meanwhile are collected after the call, as any
garbage is collected later than it is made. The calls wrapped are synchronous (no ``await``
inside), so asyncio tasks cannot interleave within one.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

__all__ = ["pausing", "paused"]

P = ParamSpec("P")
R = TypeVar("R")


class _Pause:
    """The calls in progress, and whether the collector was on when the first one started."""

    lock = threading.Lock()
    depth = 0
    resume = False


def _enter() -> None:
    with _Pause.lock:
        if _Pause.depth == 0:
            _Pause.resume = gc.isenabled()
            gc.disable()
        _Pause.depth += 1


def _leave() -> None:
    with _Pause.lock:
        _Pause.depth -= 1
        if _Pause.depth == 0 and _Pause.resume:
            gc.enable()


def pausing(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` with the cyclic garbage collector paused while it runs (module docstring).

    Only for functions that return before anything else runs: not for generators, whose pause
    would last as long as they are suspended.
    """

    @functools.wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        _enter()
        try:
            return function(*args, **kwargs)
        finally:
            _leave()

    return paused


@contextmanager
def paused() -> Iterator[None]:
    """The same pause for a block of a function: ``with paused(): ...`` (its warnings then point
    at the function's caller as they would without the pause)."""
    _enter()
    try:
        yield
    finally:
        _leave()
