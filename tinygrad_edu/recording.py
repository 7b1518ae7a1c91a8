"""Recording: what ``no_grad`` and ``scope`` switch, read once by every new node.

Every operation asks one question when it makes its node: am I recording, and in which scope? The
answer is one context variable, :data:`RECORDING`: the current scope entry, or None inside
:func:`no_grad`. A context variable (not a global flag) so that threads and asyncio tasks each
have their own. ``no_grad``, ``enable_grad`` and ``scope`` are three context managers over that
one variable (:class:`_Recording`); the engine itself (:mod:`tinygrad_edu.engine`) only reads it.

Scopes name the nodes recorded inside them (``nn`` opens one per module call), so a diagram can
group what each Neuron or Layer computed from the graph itself, never from label spellings.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, TypeVar, cast, overload

__all__ = [
    "Scope",
    "TOP",
    "Entry",
    "TOP_ENTRY",
    "RECORDING",
    "scope",
    "within_scope",
    "current_scope",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
]


class Scope(str):
    """Where a node was recorded: the names of the enclosing scopes joined by "/", as a str.

    ``Scope("layers.0/neurons.3")`` compares and prints like that string. Each entry into a
    :func:`scope` has its own Scope object, so the nodes recorded during one entry share the
    very same object (``a.scope is b.scope``) while another entry of the same name gets an equal
    but distinct one: that is how a diagram tells one call of a module from the next.
    ``parent`` is the entry it was opened in (None at the top), ``name`` its own name.
    """

    __slots__ = ("parent", "name")

    parent: Scope | None
    name: str

    def __new__(cls, name: str, parent: Scope | None = None) -> Scope:
        if parent:
            self = str.__new__(cls, parent + "/" + name)
            self.parent = parent
        else:
            self = str.__new__(cls, name)
            self.parent = None
        self.name = name
        return self

    def __reduce__(self) -> str | tuple[Any, ...]:
        """Pickled as its name and parent; the top level as the module's own ``TOP``."""
        return "TOP" if self is TOP else (Scope, (self.name, self.parent))


TOP = Scope("")
"""The scope of everything recorded outside every :func:`scope` (the empty path)."""


class Entry:
    """One entry into a scope, as the nodes recorded during it hold it: its name and the entry it
    was opened in. Its :class:`Scope` (the path, a str) is made when first asked for, then kept.

    nn opens an entry for every module call and every neuron, thousands per training step, and
    most are never drawn: this small object is cheaper to make than the Scope str, so scopes
    cost a step next to nothing (``benchmarks/scopes.py`` measures the step with and without).
    """

    __slots__ = ("name", "parent", "_scope")

    def __init__(self, name: str, parent: Entry | None) -> None:
        self.name = name
        self.parent = parent
        self._scope: Scope | None = None

    @property
    def scope(self) -> Scope:
        """The path of this entry, made once (its parents' first, without recursion); under a
        lock, so that two threads drawing one graph get the very same object."""
        if self._scope is None:
            with _NAMING:
                unnamed = []
                entry: Entry | None = self
                while entry is not None and entry._scope is None:
                    unnamed.append(entry)
                    entry = entry.parent
                above = TOP if entry is None else entry._scope
                for entry in reversed(unnamed):
                    above = entry._scope = Scope(entry.name, above)
        return self._scope  # type: ignore[return-value]

    def __reduce__(self) -> str | tuple[Any, ...]:
        """Pickled as its name and parent (pickle keeps one entry shared by its nodes); the top
        level as the module's own ``TOP_ENTRY``."""
        return "TOP_ENTRY" if self is TOP_ENTRY else (Entry, (self.name, self.parent))


TOP_ENTRY = Entry("", None)
TOP_ENTRY._scope = TOP
_NAMING = threading.Lock()

# The recording state, one context value so that recording a node costs one lookup: the current
# scope entry while recording, None inside no_grad().
RECORDING: ContextVar[Entry | None] = ContextVar("tinygrad_edu_state", default=TOP_ENTRY)


F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@overload
def no_grad() -> _NoGrad: ...
@overload
def no_grad(function: F) -> F: ...
def no_grad(function: F | None = None) -> _NoGrad | F:
    """Within the block, operations record nothing: every result is a leaf.

    Use it for evaluation and for updates that must not become part of a graph::

        with no_grad():
            accuracy = evaluate(model)

    Nests, and is safe across threads and asyncio tasks (it is a context variable). As in
    PyTorch it also decorates, with or without the parentheses (``@no_grad()`` or ``@no_grad``):
    a function, a generator (each step runs without recording; the caller records between
    steps), an ``async def`` function, or an async generator.
    """
    if function is None:
        return _NoGrad()
    if not callable(function):
        raise TypeError(
            "no_grad() takes no argument (with no_grad(): ...), or decorates a function, "
            f"not {type(function).__name__}"
        )
    return _without_recording(function)


class _Recording:
    """A context manager that sets the recording state on entry and restores it on exit: the
    one mechanism behind ``no_grad`` and ``scope``. A token per entry, so one object may be
    entered again inside itself."""

    __slots__ = ("_tokens",)

    def __init__(self) -> None:
        self._tokens: list[Token[Entry | None]] = []

    def _state(self) -> Entry | None:
        """The recording state inside the block: a scope entry, or None (record nothing)."""
        raise NotImplementedError

    def __enter__(self) -> Any:
        state = self._state()
        self._tokens.append(RECORDING.set(state))
        return None if state is None else state.scope

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        RECORDING.reset(self._tokens.pop())


class _NoGrad(_Recording):
    """What ``no_grad()`` returns: a context manager, and a decorator like ``no_grad`` itself."""

    __slots__ = ()

    def _state(self) -> None:
        return None

    def __call__(self, function: F) -> F:
        return no_grad(function)


def _without_recording(function: F) -> F:
    """``function`` made to run under no_grad: each call, or each step of a generator."""
    wrapper: Callable[..., Any]
    if inspect.isasyncgenfunction(function):

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Only while the generator runs: the caller records between its items.
            inner = function(*args, **kwargs)
            step, sent = inner.asend, None
            while True:
                token = RECORDING.set(None)
                try:
                    item = await step(sent)
                except StopAsyncIteration:
                    return
                finally:
                    RECORDING.reset(token)
                try:
                    sent, step = (yield item), inner.asend
                except GeneratorExit:
                    with _NoGrad():
                        await inner.aclose()
                    raise
                except BaseException as error:
                    sent, step = error, inner.athrow

    elif inspect.iscoroutinefunction(function):

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _NoGrad():
                return await function(*args, **kwargs)

    elif inspect.isgeneratorfunction(function):

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # As for the async generator above, step by step.
            inner = function(*args, **kwargs)
            step, sent = inner.send, None
            while True:
                token = RECORDING.set(None)
                try:
                    item = step(sent)
                except StopIteration as stop:
                    return stop.value
                finally:
                    RECORDING.reset(token)
                try:
                    sent, step = (yield item), inner.send
                except GeneratorExit:
                    with _NoGrad():
                        inner.close()
                    raise
                except BaseException as error:
                    sent, step = error, inner.throw

    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _NoGrad():
                return function(*args, **kwargs)

    return cast(F, functools.wraps(function)(wrapper))


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad`."""
    return RECORDING.get() is not None


class _EnableGrad(_Recording):
    """What ``enable_grad()`` returns: recording on, in the scope it was already in."""

    __slots__ = ()

    def _state(self) -> Entry:
        return RECORDING.get() or TOP_ENTRY


def enable_grad() -> _EnableGrad:
    """Within the block, operations record again, even inside :func:`no_grad` (PyTorch's name).

    For code that must build a graph whatever its caller chose: ``tinygrad_edu.compile`` traces
    a function's graph inside it, also when the compiled function is first called in ``no_grad``.
    """
    return _EnableGrad()


class scope(_Recording):
    """``with scope("attention"):`` names the nodes recorded inside: their ``scope`` attribute is
    the path of the enclosing scopes joined by "/" (``"block/attention"``).

    ``nn`` opens one for every module call, named by the module's path, so a diagram can group
    (``cluster=True``) or fold (``collapse=True``) what each Neuron, Layer or block computed;
    a user's own scopes work the same way. Nests; a context variable like ``no_grad`` (inside
    ``no_grad`` nothing is recorded, so nothing is named).
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if type(name) is not str or not name or "/" in name:
            raise ValueError(f"a scope's name is a non-empty str without '/', not {name!r}")
        super().__init__()
        self.name = name

    def _state(self) -> Entry | None:
        return _inside(self.name)


def _inside(name: str) -> Entry | None:
    """The recording state inside a new entry of the scope ``name`` (None inside no_grad)."""
    current = RECORDING.get()
    return None if current is None else Entry(name, current)


def within_scope(name: str, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` inside a new entry of the scope ``name``: what ``with scope(name):``
    does, as one call. nn opens a scope for every module call this way: one function call
    instead of a with-statement's two, and no Scope str that nobody asks for (the neurons of a
    Layer record theirs with :func:`tinygrad_edu.fast.neuron`; ``benchmarks/scopes.py``
    measures what scopes cost a training step). ``name`` is not checked: the caller's names are
    valid by construction."""
    token = RECORDING.set(_inside(name))
    try:
        return function(*args)
    finally:
        RECORDING.reset(token)


def current_scope() -> str:
    """The path of the scope being recorded in ("" outside every scope and inside no_grad)."""
    return (RECORDING.get() or TOP_ENTRY).scope
