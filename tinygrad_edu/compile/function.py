"""The front door: ``compile(fn)``, and the compiled function that traces, keeps and replays.

A :class:`Compiled` keeps a program per key (the structure of the arguments and the training
flags of the modules ``fn`` reaches), traces ``fn`` for a new key (stage 1, :mod:`.trace`),
reads the graph (stage 2, :mod:`.graph`), schedules it (stage 3, :mod:`.schedule`) into a
:class:`~.program.Program` (stage 4), and replays it at every call.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from ..collector import paused
from ..engine import Value
from ..nn import Module
from ..recording import is_grad_enabled
from .graph import read_graph
from .program import Departed, Program
from .trace import (
    Run,
    bound,
    describe,
    drawn_numbers,
    flat_floats,
    modules_reached,
    rebuild,
    roots,
    run,
    scope_name,
    structure_of,
    traced,
)

CACHE_SIZE = 8
"""How many programs (argument structures) one compiled function keeps, the most recent first."""


# --- the compiled function ---------------------------------------------------------------------


class CompiledValue(Value):
    """A result of a compiled function: a Value holding the result's ``data`` whose
    ``backward()`` runs the compiled chain rule, adding d(result)/d(parameter) into every
    parameter's ``.grad`` as ``backward()`` on the interpreted graph would.

    It is a leaf as far as other Values go: build the whole loss inside the compiled function,
    since a graph built on top of a result stops there.
    """

    __slots__ = ("_program", "_output", "_values")

    _program: Program
    _output: int
    _values: np.ndarray  # the forward values of the call that gave it: its own, per call

    def backward(self) -> None:
        """The compiled backward pass from this result (see the class docstring)."""
        self._program.backward(self._output, self._values)
        self.grad += 1.0

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled, a result is a plain leaf Value with its data and grad (the program stays)."""
        return (_leaf, (self.data, self.grad, self.label))

    def __copy__(self) -> Value:
        """Copied, a result is a plain leaf Value with its data and grad."""
        return _leaf(self.data, self.grad, self.label)

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        return _leaf(self.data, self.grad, self.label)


def _leaf(data: float, grad: float, label: str) -> Value:
    leaf = Value(data, label)
    leaf.grad = grad
    return leaf


class Compiled:
    """``fn`` compiled (see :func:`compile`): call it as you would call ``fn``, with positional
    arguments.

    ``traces`` counts the times ``fn`` was traced (once per structure of the arguments);
    ``program(*args)`` is the :class:`Program` a call with ``args`` runs. Past
    :data:`CACHE_SIZE` structures a RuntimeWarning says so, once: a compiled function that
    traces at every call (labels passed as integers, say) is slower than the interpreter.
    """

    def __init__(self, fn: Callable[..., Any], check: bool) -> None:
        self.fn = fn
        self.check = check
        self._name = scope_name(fn)
        self._programs: OrderedDict[Hashable, Program] = OrderedDict()
        self.traces = 0
        self._warned = False
        self._lock = threading.RLock()
        self._modules: list[Module] = []  # the nn Modules fn reaches, found at every trace
        self._bound: tuple[Any, ...] = ()  # the Modules and Values fn names, at the last trace

    def __repr__(self) -> str:
        return f"compile({self._name}{', check=True' if self.check else ''})"

    def __str__(self) -> str:
        """``print(fast)``: the program of the latest call, as a listing (see ``Program``)."""
        if not self._programs:
            return f"{self!r}, not traced yet: call it, or print(fast.program(*args))"
        program = next(reversed(self._programs.values()))
        listing = program.listing()
        return f"{self!r}, traced {self.traces} time(s); the program of its latest call:\n{listing}"

    def __call__(self, *args: Any) -> Any:
        """fn(*args), replayed: the same structure of Values, holding the results' data.

        Safe to call from several threads at once: each call computes in arrays of its own (a
        lock guards only the cache of programs and the tracing)."""
        floats: list[Any] = []
        structure = tuple(structure_of(arg, floats, f"args[{i}]") for i, arg in enumerate(args))
        inputs = flat_floats(floats)
        with self._lock:
            self._forget_if_rebound()
            key = (structure, self._modes())
            program = self._programs.get(key)
            if program is not None and not program.current():  # an operation was redefined
                del self._programs[key]
                program = None
            run = None
            if program is None:
                # The first call computes from what the trace drew: the random stream moves once.
                program, run, drawn = self._trace(args)
                self._remember((structure, self._modes()), program)
            else:
                self._programs.move_to_end(key)
                drawn = None  # drawn afresh by the program
        if run is None and self.check:
            run = self._run(args)
            drawn = program.drawn_by(run)  # the replay uses the interpreter's draws
        try:
            values = program.forward(inputs, drawn)
        except Departed:  # a decision taken from the data goes otherwise: the interpreter's call
            return self._interpreted(args)
        if run is not None and self.check:  # the interpreter's run, compared, then freed
            try:
                program.verify(run, values)
            except RuntimeError as error:
                raise RuntimeError(f"{error}{self._modes_said()}") from None
            del run
        return self._made(program, values)

    def _interpreted(self, args: tuple[Any, ...]) -> Any:
        """fn(*args) run by the interpreter, on Values made from the arguments' floats: its
        results, whose backward() is the interpreter's (a call whose data a program's guard
        decides otherwise than the trace did; dropout draws again for it)."""
        return self.fn(*(traced(arg, []) for arg in args))

    def _forget_if_rebound(self) -> None:
        """Drop every program if fn now names another model or parameter than when it was last
        traced (``model = nn.MLP(...)`` run again): the programs read the old one's numbers."""
        now = bound(self.fn)
        if len(now) != len(self._bound) or any(a is not b for a, b in zip(now, self._bound)):
            self._programs.clear()

    def _modes(self) -> tuple[bool, ...]:
        """The ``training`` flag of every nn Module fn reaches: part of a program's key, so a
        switch between ``train()`` and ``eval()`` traces again (Dropout and BatchNorm1d build
        other graphs in each mode)."""
        return tuple(module.training for module in self._modules)

    def _modes_said(self) -> str:
        """What a check=True message says of the modules' modes, if fn reaches any."""
        if not self._modules:
            return ""
        training = sum(self._modes())
        n = len(self._modules)
        mode = (
            "training mode"
            if training == n
            else "evaluation mode"
            if training == 0
            else f"training mode ({training}) and evaluation mode ({n - training})"
        )
        return (
            f" (the {n} nn modules fn reaches are in {mode}, as when this program was traced:"
            " train() and eval() trace again)"
        )

    def program(self, *args: Any) -> Program:
        """The compiled program that a call with these arguments runs (tracing fn if needed)."""
        structure = tuple(structure_of(arg, [], f"args[{i}]") for i, arg in enumerate(args))
        with self._lock:
            self._forget_if_rebound()
            program = self._programs.get((structure, self._modes()))
            if program is None or not program.current():
                program = self._trace(args)[0]
                self._remember((structure, self._modes()), program)
            return program

    def _remember(self, key: Hashable, program: Program) -> None:
        self._programs[key] = program
        self.traces += 1
        while len(self._programs) > CACHE_SIZE:
            self._programs.popitem(last=False)
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"compile({self._name}) has traced fn for {self.traces} structures of its"
                    f" arguments and keeps the last {CACHE_SIZE}: integers and integer arrays are"
                    " static, so every new value traces again (pass labels as one-hot floats so"
                    " that one program serves every batch)",
                    RuntimeWarning,
                    stacklevel=3,
                )

    def _run(self, args: tuple[Any, ...]) -> Run:
        return run(self.fn, args, self._name)

    def _trace(self, args: tuple[Any, ...]) -> tuple[Program, Run | None, np.ndarray]:
        """Trace fn and compile its graph. Returns the program, the run (kept only for
        check=True) and the numbers the trace drew."""
        with paused():  # the collector would scan the growing graph again and again
            started = time.perf_counter()
            self._modules = modules_reached(self.fn)
            self._bound = bound(self.fn)
            run = self._run(args)
            stop = time.perf_counter()
            program = Program(read_graph(roots(run), run.made_here), run, keep=self.check)
            program.seconds_to_trace = stop - started
            program.seconds_to_compile = time.perf_counter() - stop
        return program, run if self.check else None, drawn_numbers(run.trace)

    def _made(self, program: Program, values: np.ndarray) -> Any:
        data = program.results(values).tolist()
        if not is_grad_enabled():
            made = [Value(x) for x in data]  # under no_grad: leaves, as the interpreter gives
        else:
            made = []
            for k, x in enumerate(data):
                result = CompiledValue(x)
                result._program, result._output, result._values = program, k, values
                made.append(result)
        return rebuild(program.shape, iter(made))


def compile(fn: Callable[..., Any], *, check: bool = False) -> Compiled:
    """``fn`` compiled to a numpy program: ``fast = compile(fn)``, then ``fast(*args)``.

    ``fn(*args)`` builds and returns a Value (a loss), or a tuple, list or numpy array of
    Values. ``fast(*args)`` returns the same structure, each a Value holding the result's
    ``data`` whose ``backward()`` adds d(result)/d(parameter) into every parameter's ``.grad``,
    as ``backward()`` on the interpreted graph would (to about 1e-15 relative; ``+ - * /`` and
    the piecewise-linear operations give bit-identical values, except the sums of a dense
    multiply-add grid, which a matrix product adds in BLAS's order). Under ``no_grad`` the
    results are plain leaves: forward only. ``print(fast)`` lists the program of its latest
    call, step by step.

    ``args`` are numbers, lists or tuples of them, and numpy arrays of numbers. Every float is
    an input: ``fn`` receives it as a Value, in the same container (a float array becomes an
    object array of Values). Integers and integer arrays are static: ``fn`` receives them as
    they are, and a call with other static values, or another structure, traces ``fn`` again
    (each structure keeps its program; the last :data:`CACHE_SIZE` are kept).

    A leaf Value that existed before the call and that ``fn`` reaches is a parameter: its
    ``data`` is read at every call. Constants made inside ``fn`` and Python control flow are
    frozen at trace time; leaves made by ``tinygrad_edu.draw`` (a dropout mask) are drawn again
    before every call, and updates given to ``tinygrad_edu.observe`` (a BatchNorm's running
    statistics) run after every call's forward pass, with the replayed data. ``check=True``
    runs ``fn`` in the interpreter too, on every call (the replay then uses the numbers that
    run drew), and raises RuntimeError naming the first node where the graphs part if the
    results differ (by more than :data:`RTOL` relative, :data:`ATOL` absolute).
    """
    if not callable(fn):
        raise TypeError(f"compile(fn): fn is a function that returns a Value, not {describe(fn)}")
    if not isinstance(check, bool):
        raise TypeError(f"check is True or False, not {check!r}")
    return Compiled(fn, check)
