"""Python's cyclic garbage collector, paused inside the library's calls that build or walk graphs.

Why: a graph here holds no reference cycles (a node points at its inputs and nothing else), so
reference counting frees it the moment it is dropped, and the cyclic collector has nothing to
find in it. The collector does not know that: it runs after every few hundred new objects and
scans the young objects that are still alive, and while a training step builds its graph every
one of its nodes is alive and young. Two things keep it off the graph:

* The pause. The calls that build or walk a graph (a module's ``__call__``, ``backward()``,
  ``grad()``, an optimiser's ``step()``) call :func:`pause` first and :func:`resume` last, or
  are wrapped by :func:`pausing`, which does both, so no collection starts halfway through.
* The graph goes straight to the oldest generation. A paused call still counts the objects it
  makes, so the first allocation after it (the program computing its loss) would set off a
  collection of the young generation, and that is every node the call just made: a scan of the
  whole graph, every step, that finds nothing. So the last call out moves the objects made
  during the call to the oldest generation without scanning them (``gc.freeze()`` then
  ``gc.unfreeze()``, which put every tracked object there), and the first call in collects the
  program's own young objects first (``gc.collect(1)``, cheap: at most what was made since the
  previous call), so that only the call's objects skip the young generations. The oldest
  generation is scanned only by a full collection, rarely, and a dropped graph leaves it by
  reference counting as it would leave any other. A program that froze objects itself
  (``gc.get_freeze_count()`` not 0) keeps them frozen: its calls are only paused.

``benchmarks/moons_step.py --separate --clock cpu`` measures micrograd's demo step with each
engine alone in its process, and the share of each step spent in the collector.

How: the first of the library's calls to start turns the collector off, if it was on, and the
last to return turns it back on: a count of the calls in progress, kept under a lock, so nested
calls (a model calling its layers) and calls from several threads at once hand the pause on.
Outside the library's calls, the collector is exactly as the program set it: ``gc.isenabled()``
is the same after every call as before it, an exception included. The collector is one per
process, so while any thread is inside such a call it is paused for all of them: cycles a
program makes meanwhile are collected after the call (or, if another thread made them while a
call ran, by the next full collection, as ``gc.collect()`` does at once). The calls paused are
synchronous (no ``await`` inside), so asyncio tasks cannot interleave within one.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

__all__ = ["pause", "resume", "pausing", "paused"]

P = ParamSpec("P")
R = TypeVar("R")


_lock = threading.Lock()
_depth = 0  # the library's calls in progress, in every thread
_resume = False  # whether the collector was on when the first of them started


def pause() -> None:
    """Enter a call that builds or walks a graph: the first one in collects the program's young
    objects, then turns the collector off.

    The collection is made before the lock is taken: a finaliser it runs may call the library.
    """
    global _depth, _resume
    if _depth == 0 and gc.isenabled():
        # Read without the lock: another thread starting a call at the same moment can only
        # make this collection one too many, or leave its objects to be moved with the graph.
        gc.collect(1)
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1


def resume() -> None:
    """Leave such a call: the last one out moves what was made during the calls to the oldest
    generation, unscanned, and turns the collector back on if it was on."""
    global _depth
    with _lock:
        _depth -= 1
        if _depth == 0 and _resume:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()  # puts every object freeze() took into the oldest generation
            gc.enable()


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


@contextmanager
def paused() -> Iterator[None]:
    """The block run with the collector paused, as :func:`pausing` runs a function (a compiled
    function's trace, which builds millions of nodes, is one)."""
    pause()
    try:
        yield
    finally:
        resume()
