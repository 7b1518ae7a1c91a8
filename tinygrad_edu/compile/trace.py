"""Stage 1, the trace: ``fn`` run once by the interpreter, on Values made from the floats of
its arguments.

What the arguments are (floats are traced, integers are static: :func:`structure_of` is the
part of a program's key they give, :func:`flat_floats` the numbers a replay reads), how ``fn``
runs on them (:func:`run`: in a scope of its own, its draws and observers recorded), what it
returned (:func:`results_of`, and :func:`rebuild` for a replay's results), and which nn modules
it reaches (:func:`modules_reached`: their ``training`` flags are part of the key as well).
"""

from __future__ import annotations

import functools
import math
import types
from collections.abc import Callable, Hashable, Iterator
from typing import Any, NamedTuple

import numpy as np

from ..engine import Value
from ..hooks import Trace, tracing
from ..nn import Module
from ..recording import Scope, enable_grad, scope
from ..scalars import is_number

# --- the arguments: floats are traced, integers are static ---------------------------------------


def structure_of(x: object, floats: list[Any], where: str) -> Hashable:
    """The structure of one argument, as a hashable key; its floats are appended to ``floats``.

    A float (Python or numpy) is an input of the trace; an int, bool or numpy integer is static
    (its value is part of the key); lists and tuples keep their shape; a float array is an array
    of inputs, an integer or bool array is static.
    """
    if isinstance(x, (float, np.floating)):
        floats.append(x)
        return float
    if is_number(x):
        return (type(x), x)
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "f":
            floats.append(x)
            return ("floats", x.shape)
        if x.dtype.kind in "biu":
            return ("static", x.dtype.str, x.shape, x.tobytes())
        raise TypeError(f"{where} is a numpy array of {x.dtype}; {_ARGUMENTS}")
    if isinstance(x, (list, tuple)):
        # Fast paths for the usual rows of data (all floats) and of labels (all ints).
        if all(type(item) is float for item in x):
            floats.extend(x)
            return (type(x), float, len(x))
        if all(type(item) is int for item in x):
            return (type(x), int, tuple(x))
        return (
            type(x),
            tuple(structure_of(item, floats, f"{where}[{i}]") for i, item in enumerate(x)),
        )
    if isinstance(x, Value):
        raise TypeError(
            f"{where} is a Value; {_ARGUMENTS}. A Value that fn uses is a parameter: let fn"
            " reach it (a model's attribute, a variable it closes over) instead of passing it"
        )
    raise TypeError(f"{where} is a {type(x).__name__}; {_ARGUMENTS}")


_ARGUMENTS = (
    "a compiled function takes numbers (floats are traced, integers are static), lists and tuples"
    " of them, and numpy arrays of numbers"
)


def flat_floats(floats: list[Any]) -> np.ndarray:
    """The floats of the arguments, in order, as one float64 array (arrays in row-major order)."""
    parts: list[np.ndarray] = []
    run: list[float] = []
    for x in floats:
        if isinstance(x, np.ndarray):
            if run:
                parts.append(np.array(run, dtype=np.float64))
                run = []
            parts.append(np.ravel(x))
        else:
            run.append(x)
    if run:
        parts.append(np.array(run, dtype=np.float64))
    return np.concatenate(parts).astype(np.float64, copy=False) if parts else np.empty(0)


def traced(x: Any, inputs: list[Value]) -> Any:
    """``x`` with every float replaced by a new Value (appended to ``inputs``, in the order of
    :func:`flat_floats`): a float array becomes an object array of Values of the same shape."""
    if isinstance(x, (float, np.floating)):
        inputs.append(Value(x))
        return inputs[-1]
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        made = [Value(v) for v in np.ravel(x).tolist()]
        inputs.extend(made)
        array = np.empty(len(made), dtype=object)
        array[:] = made
        return array.reshape(x.shape)
    if isinstance(x, (list, tuple)):
        return type(x)(traced(item, inputs) for item in x)
    return x  # static: an int, a bool, an integer array


# --- the result: a Value, or lists, tuples and object arrays of them ------------------------------


def results_of(result: object, found: list[Value]) -> Hashable:
    """The shape of what ``fn`` returned, as a key; its Values are appended to ``found``."""
    if isinstance(result, Value):
        found.append(result)
        return Value
    if isinstance(result, (list, tuple)):
        return (type(result), tuple(results_of(item, found) for item in result))
    if isinstance(result, np.ndarray) and result.dtype == object:
        items = result.ravel().tolist()
        if all(isinstance(item, Value) for item in items):
            found.extend(items)
            return (np.ndarray, result.shape)
    raise TypeError(f"{_RETURN}; it returned {describe(result)}")


_RETURN = (
    "fn must return a Value (the loss, say), or a tuple or list of Values (or a numpy array of"
    " them), built from its arguments and parameters"
)


def describe(x: object) -> str:
    if isinstance(x, (list, tuple)):
        kinds = sorted({type(item).__name__ for item in x})
        return f"a {type(x).__name__} of {', '.join(kinds) or 'nothing'}"
    return f"a {type(x).__name__}"


def rebuild(shape: Hashable, values: Iterator[Value]) -> Any:
    """The structure ``shape`` (from :func:`results_of`) filled with ``values``, in order."""
    if shape is Value:
        return next(values)
    kind: Any
    inner: Any
    kind, inner = shape  # type: ignore[misc]
    if kind is np.ndarray:
        size = math.prod(inner)
        array = np.empty(size, dtype=object)
        array[:] = [next(values) for _ in range(size)]
        return array.reshape(inner)
    return kind(rebuild(item, values) for item in inner)


def drawn_leaves(trace: Trace) -> list[Value]:
    """Every leaf that ``draw`` made while tracing, in the order drawn."""
    return [leaf for _, leaves in trace.draws for leaf in leaves]


def drawn_numbers(trace: Trace) -> np.ndarray:
    """The numbers of the leaves that ``draw`` made while tracing, in the order drawn."""
    return np.array([leaf.data for leaf in drawn_leaves(trace)], np.float64)


def roots(run: Run) -> list[Value]:
    """What a program computes: fn's results, every node it observed, every node it guarded."""
    observed = [node for nodes, _ in run.trace.observers for node in nodes]
    return run.results + observed + [node for nodes, _, _ in run.trace.guards for node in nodes]


def recorded_in(node: Value, made_here: object) -> bool:
    """Whether ``node`` was recorded inside the scope ``made_here`` (by identity, any depth)."""
    return within(node.scope, made_here)


def within(entry: Scope | None, made_here: object) -> bool:
    """Whether the scope ``entry`` is ``made_here`` or opened inside it (by identity)."""
    while entry:
        if entry is made_here:
            return True
        entry = entry.parent
    return False


class Run(NamedTuple):
    """One run of fn by the interpreter: its results and their shape, the Values made for the
    floats of the arguments, the scope it was recorded in (the leaves recorded inside it are
    constants made by fn, unless drawn), and what it drew and observed."""

    results: list[Value]
    shape: Hashable
    inputs: list[Value]
    made_here: object
    trace: Trace


def modules_reached(fn: Callable[..., Any]) -> list[Module]:
    """Every nn Module that fn can reach, each once, with the modules inside them: through its
    closure, its defaults, the globals its code names (and those of the functions it reaches the
    same way), a bound method's object, a ``functools.partial``'s parts, a callable object's
    attributes, and the lists, tuples and dicts among them."""
    found: dict[int, Module] = {}
    seen: set[int] = set()
    todo: list[Any] = [fn]
    while todo and len(seen) < _LOOK_AT:
        x = todo.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, Module):
            tree = [x]
            while tree:
                module = tree.pop()
                found.setdefault(id(module), module)
                tree += [child for _, child in module.named_children()]
        elif isinstance(x, (list, tuple)):
            todo += [item for item in x[:_LOOK_INTO] if _may_reach(item)]
        elif isinstance(x, dict):
            todo += [item for item in list(x.values())[:_LOOK_INTO] if _may_reach(item)]
        elif isinstance(x, types.MethodType):
            owner = x.__self__
            todo += [x.__func__, owner, *_attributes(owner)]
        elif isinstance(x, types.FunctionType):
            todo += _named_by(x)
        elif isinstance(x, functools.partial):
            todo += [x.func, *x.args, *x.keywords.values()]
        elif callable(x) and not isinstance(x, type):
            todo += [*_attributes(x), getattr(type(x).__call__, "__func__", type(x).__call__)]
    return list(found.values())


_LOOK_INTO = 1000  # items of a list or dict looked at for modules (a data set is not a model)
_LOOK_AT = 100_000  # objects looked at in all: the search ends, whatever fn's globals hold


def _attributes(owner: object) -> list[Any]:
    """An object's attributes that may lead to a module (a trainer's ``self.model``)."""
    space = getattr(owner, "__dict__", None)
    return [x for x in space.values() if _may_reach(x)] if isinstance(space, dict) else []


def _may_reach(x: object) -> bool:
    return isinstance(x, (Module, list, tuple, dict, functools.partial)) or callable(x)


def bound(fn: Callable[..., Any]) -> tuple[Any, ...]:
    """The nn Modules and Values that fn names directly, as they are now: its closure's and
    the globals' its code names (a function), a bound method's object's attributes, a
    ``functools.partial``'s arguments, a callable object's attributes. A compiled function
    compares them at every call by identity, so that a model or a parameter replaced by a new
    object after the trace (a notebook cell that builds the model again) traces again."""
    function = fn.func if isinstance(fn, functools.partial) else fn
    items: list[Any] = (
        [*fn.args, *fn.keywords.values()] if isinstance(fn, functools.partial) else []
    )
    if isinstance(function, types.MethodType):
        items += _attributes(function.__self__) + _names_of(function.__func__)
    elif isinstance(function, types.FunctionType):
        items += _names_of(function)
    elif callable(function):
        items += _attributes(function)
    return tuple(x for x in items if isinstance(x, (Module, Value)))


def _names_of(function: Any) -> list[Any]:
    """The objects a function's closure cells hold and the globals its code names, now."""
    if not isinstance(function, types.FunctionType):
        return []
    reached: list[Any] = [cell.cell_contents for cell in function.__closure__ or () if _full(cell)]
    space = function.__globals__
    return reached + [space[name] for name in sorted(_code_names(function)) if name in space]


def _code_names(function: types.FunctionType) -> set[str]:
    """The global names a function's code (and the code nested in it) reads."""
    names: set[str] = set()
    codes = [function.__code__]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    return names


def _named_by(function: types.FunctionType) -> list[Any]:
    """What a function's code can reach: its closure, defaults and the globals it names."""
    reached: list[Any] = [cell.cell_contents for cell in function.__closure__ or () if _full(cell)]
    reached += list(function.__defaults__ or ()) + list((function.__kwdefaults__ or {}).values())
    space = function.__globals__
    reached += [space[name] for name in _code_names(function) if name in space]
    return [x for x in reached if _may_reach(x) and not isinstance(x, (type, types.ModuleType))]


def _full(cell: types.CellType) -> bool:
    try:
        return cell.cell_contents is not _full  # read it: an empty cell raises
    except ValueError:  # a variable not assigned yet
        return False


def scope_name(fn: Callable[..., Any]) -> str:
    """The name of the scope fn is traced in: its own name, if it makes one."""
    name = getattr(fn, "__name__", type(fn).__name__)
    return name if isinstance(name, str) and name and "/" not in name else "compiled"


def run(fn: Callable[..., Any], args: tuple[Any, ...], name: str) -> Run:
    """fn run by the interpreter on Values made from the floats of ``args``, recording (also
    inside no_grad) in a scope of its own named ``name``, its draws and observers recorded too
    (its observers' updates are left to the replay)."""
    inputs: list[Value] = []
    with enable_grad(), scope(name) as made_here, tracing() as trace:
        result = fn(*(traced(arg, inputs) for arg in args))
    found: list[Value] = []
    shape = results_of(result, found)
    if not found:
        raise TypeError(f"{_RETURN}; it returned {describe(result)}, which holds none")
    return Run(found, shape, inputs, made_here, trace)
