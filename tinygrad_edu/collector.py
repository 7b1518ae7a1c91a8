"""Python's cyclic garbage collector, paused inside the library's calls that build or walk graphs.

Why: a graph here holds no reference cycles (a node points at its inputs and nothing else), so
reference counting frees it the moment it is dropped, and the cyclic collector has nothing to
find in it. The collector does not know that: it runs after every few hundred new objects and
scans the objects that are still alive, and while a training step builds its graph every one of
its nodes is alive. ``benchmarks/moons_step.py --separate --clock cpu`` measures micrograd's demo
step, each engine alone in a process of its own, with the share of its time in the collector:
30% before this pause, 27% with it, and the step 69 ms before, 63 ms with it (medians of three
runs on a shared two-core machine). What is left is the collections that the program's own code sets
off between two library calls while the graph is alive (the demo computes its loss itself).

How: the calls that build or walk a graph (a module's ``__call__``, ``backward()``, ``grad()``,
an optimiser's ``step()``) call :func:`pause` first and :func:`resume` last, or are wrapped by
:func:`pausing`, which does both. The first of them to start turns the collector off, if it was
on, and the last to return turns it back on: a count of the calls in progress, kept under a
lock, so nested calls (a model calling its layers) and calls from several threads at once hand
the pause on. Outside the library's calls, the collector is exactly as the program set it:
``gc.isenabled()`` is the same after every call as before it, an exception included. The
collector is one per process, so while any thread is inside such a call it is paused for all of
them: cycles a program makes meanwhile are collected after the call, as any garbage is collected
later than it is made. The calls paused are synchronous (no ``await`` inside), so asyncio tasks
cannot interleave within one.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["pause", "resume", "pausing"]

P = ParamSpec("P")
R = TypeVar("R")


_lock = threading.Lock()
_depth = 0  # the library's calls in progress, in every thread
_resume = False  # whether the collector was on when the first of them started


def pause() -> None:
    """Enter a call that builds or walks a graph: the first one in turns the collector off.

    It allocates no object the collector tracks before the collector is off (the lock is taken
    with ``acquire()``, not ``with``, which would make a bound method): an allocation is what
    sets a collection off, and one here would scan the graph the previous call left alive.
    """
    global _depth, _resume
    _lock.acquire()
    try:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    finally:
        _lock.release()


def resume() -> None:
    """Leave such a call: the last one out turns the collector back on if it was on."""
    global _depth
    _lock.acquire()
    try:
        _depth -= 1
        if _depth == 0 and _resume:
            gc.enable()
    finally:
        _lock.release()


def pausing(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` with the cyclic garbage collector paused while it runs (module docstring).

    Only for functions that return before anything else runs: not for generators, whose pause
    would last as long as they are suspended.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        pause()
        try:
            return function(*args, **kwargs)
        finally:
            resume()

    return wrapper
