"""Modules built from ``Value``: micrograd's neurons, layers and MLPs, and PyTorch-style layers.

micrograd's ``Neuron``, ``Layer`` and ``MLP`` are drop-ins: code written for micrograd's ``nn``
runs unchanged with the same numbers (weights drawn with ``random.uniform(-1, 1)`` in the same
order, biases at 0, so ``random.seed(1337)`` gives the same model). The layers the course builds
next are PyTorch's: ``Linear``, ``Sequential``, the activation modules ``ReLU``, ``Sigmoid``,
``Tanh`` and ``LeakyReLU``, ``Dropout`` and ``BatchNorm1d``, with ``train()`` and ``eval()``.

**One sample or a batch.** Every module takes one sample (a list of numbers or Values, or a 1-D
numpy array) or a batch (a list of such lists, or a 2-D array, one sample per row) and answers
in the same shape, as lists: ``Linear(2, 3)([1, 2])`` is a list of 3 Values, and on a batch of
5 samples a list of 5 such lists. (Wrap it in ``np.array(out, dtype=object)`` for numpy's
``np.dot``; a numpy object array of Values is accepted as input.) micrograd's modules keep
micrograd's shapes per sample: a ``Neuron`` gives one Value, a ``Layer`` or ``MLP`` with one
output gives one Value, not a list of one.

**Names and scopes.** Every parameter is an ``nn.Parameter`` named by its dotted path from the
top-level module, PyTorch style (``layers.1.neurons.0.w.3``, ``0.weight.2.1``); the name is also
the Value's ``label``, so a diagram shows it. A Module, a Parameter, or a list of them assigned
to a public attribute of a module is found automatically (as PyTorch registers them), so a
subclass needs only ``__init__`` and ``forward``. Every call of a module opens a ``scope`` named
by its attribute (the top-level one by its class name), so each node records which module
computed it: ``"Sequential/0"``, ``"MLP/layers.1/neurons.0"``.

**Compiled.** ``Dropout`` draws its mask with ``tinygrad_edu.draw`` and ``BatchNorm1d`` updates
its running statistics with ``tinygrad_edu.observe``, so both behave under
``tinygrad_edu.compile`` as in the interpreter: a new mask at every compiled step, running
statistics that move at every compiled step, and an evaluation that reads their current values.
(A module's train or eval mode is still fixed when its function is traced.)

Saving is JSON (never pickle): ``model.save("model.json")``, ``model.load("model.json")``. A file
that does not fit the model raises a clear error and leaves the model exactly as it was.
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import secrets
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from .collector import pause, resume
from .engine import Parameter, Value
from .fast import neuron, weighted_sum
from .files import sync_directory, sync_file
from .hooks import draw, observe
from .recording import within_scope
from .scalars import Number, is_number

__all__ = [
    "Parameter",
    "ACTIVATIONS",
    "INITS",
    "Module",
    "Neuron",
    "Layer",
    "MLP",
    "Linear",
    "Sequential",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "LeakyReLU",
    "Dropout",
    "BatchNorm1d",
    "RandomSource",
    "MAX_MODEL_FILE_BYTES",
]

Input = Sequence["Value | Number"] | Sequence[Sequence["Value | Number"]] | np.ndarray
"""What a module reads: one sample (numbers or Values) or a batch of them (one per row)."""

M = TypeVar("M", bound="Module")
T = TypeVar("T")


# --- activations: the one table --------------------------------------------------------------


def _linear(x: Value) -> Value:
    """The identity: linear(x) = x; d/dx = 1 (no node is added)."""
    return x


ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,  # max(x, 0)
    "tanh": Value.tanh,  # (e^x - e^-x) / (e^x + e^-x)
    "sigmoid": Value.sigmoid,  # 1 / (1 + e^-x)
    "leaky_relu": Value.leaky_relu,  # x if x > 0 else 0.01*x
    "linear": _linear,  # x
}
"""Activation name -> function of one Value. Neurons, layers, MLPs, the activation modules, docs
and tests read this."""


# --- initialisation: the one table -----------------------------------------------------------


class RandomSource(Protocol):
    """What initialisers and dropout draw from: the ``random`` module or a ``random.Random``."""

    def uniform(self, a: float, b: float) -> float: ...

    def gauss(self, mu: float, sigma: float) -> float: ...

    def random(self) -> float: ...


INITS: dict[str, Callable[[RandomSource, int], float]] = {
    # micrograd's: w ~ U(-1, 1) whatever the fan-in
    "uniform": lambda rng, nin: rng.uniform(-1, 1),
    # Xavier (Glorot) in the course's fan-in form: w ~ N(0, 1/nin), keeps the variance of a
    # sum of nin terms near 1 for tanh and sigmoid
    "xavier": lambda rng, nin: rng.gauss(0.0, math.sqrt(1.0 / nin)),
    # He (Kaiming): w ~ N(0, 2/nin), twice Xavier's variance because relu zeroes half its inputs
    "he": lambda rng, nin: rng.gauss(0.0, math.sqrt(2.0 / nin)),
    # torch.nn.Linear's default: w ~ U(-1/√nin, 1/√nin) (variance 1/(3·nin)); biases too
    "pytorch": lambda rng, nin: rng.uniform(-1 / math.sqrt(nin), 1 / math.sqrt(nin)),
}
"""Initialiser name -> function (random source, fan-in) -> one weight. Biases start at 0, except
under "pytorch", which draws them from the same U(-1/√nin, 1/√nin), as torch.nn.Linear does."""


def _bias(init: str, source: RandomSource, nin: int) -> Parameter:
    """A bias: 0, or drawn like a weight under "pytorch" (after all the weights, as PyTorch)."""
    return Parameter(INITS[init](source, nin) if init == "pytorch" else 0.0)


def _check_choice(kind: str, name: object, table: Mapping[str, object]) -> None:
    if not isinstance(name, str) or name not in table:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(table)}")


def _source(rng: RandomSource | None) -> RandomSource:
    """``rng``, or the ``random`` module's shared generator (as micrograd draws)."""
    source: RandomSource = random
    return source if rng is None else rng


# --- plain numbers -----------------------------------------------------------------------------


def _is_real(x: object) -> bool:
    """A plain number (``engine.is_number``: numpy scalars too) that is not a truth value: a
    bool where a weight or a rate belongs is a mistake."""
    return is_number(x) and not isinstance(x, (bool, np.bool_))


def _is_finite_number(x: object) -> bool:
    if not _is_real(x):
        return False
    try:
        return math.isfinite(x)  # type: ignore[arg-type]
    except OverflowError:  # an int too large for a float (a 400-digit literal in a file)
        return False


def _count(x: object, message: str) -> int:
    """A positive whole number (int or numpy integer), or a ValueError saying ``message``."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)) or x < 1:
        raise ValueError(f"{message}, got {x!r}")
    return int(x)


def _real(name: str, x: object) -> float:
    """A finite real number (int, float or numpy scalar; not bool) as a float, or a ValueError."""
    if not _is_finite_number(x):
        raise ValueError(f"{name} must be a finite real number, got {x!r}")
    return float(x)  # type: ignore[arg-type]


# --- one sample or a batch ---------------------------------------------------------------------


def _rows(module: Module, x: object, width: int | None) -> tuple[list[list[Value]], bool]:
    """The input as rows of Values (numbers become constant Values), and whether it was a batch.

    A sample is a sequence of numbers or Values (or a 1-D array); a batch is a sequence of
    samples (or a 2-D array). Every sample must have ``width`` entries (any, if None).
    """
    if isinstance(x, np.ndarray):
        if x.ndim not in (1, 2):
            raise ValueError(
                f"{module!r} takes one sample (1-D) or a batch (2-D, one sample per row), "
                f"got an array of shape {x.shape}"
            )
        x = x.tolist()
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        raise TypeError(
            f"{module!r} takes one sample (a list of numbers or Values) or a batch (a list of "
            f"samples, or a 2-D numpy array), not {_describe(x)}"
        )
    if len(x) == 0:
        raise ValueError(f"{module!r} got an empty list: a sample needs its inputs")
    batched = isinstance(x[0], (list, tuple, np.ndarray))
    samples = x if batched else [x]
    rows = [_values(module, sample, k if batched else None) for k, sample in enumerate(samples)]
    lengths = {len(row) for row in rows}
    if len(lengths) > 1:
        raise ValueError(
            f"{module!r} got a ragged batch: its samples have {sorted(lengths)} inputs; "
            "every sample of a batch has the same number"
        )
    if width is not None and len(rows[0]) != width:
        got = len(rows[0])
        if not batched:
            raise ValueError(f"{module!r} takes {width} inputs, got {got}")
        hint = " (transposed? one sample per row)" if len(rows) == width else ""
        raise ValueError(
            f"{module!r} takes {width} inputs per sample, got a batch of {len(rows)} samples "
            f"of {got}{hint}"
        )
    return rows, batched


def _values(module: Module, sample: object, k: int | None) -> list[Value]:
    """One sample as Values; a number becomes a constant Value (once, shared by every use)."""
    which = "the sample" if k is None else f"sample {k}"
    if isinstance(sample, np.ndarray):
        sample = sample.tolist()
    if isinstance(sample, (str, bytes)) or not isinstance(sample, Sequence):
        raise TypeError(f"{module!r}: {which} is {_describe(sample)}, not a list of numbers")
    try:
        return [v if isinstance(v, Value) else Value(v) for v in sample]
    except TypeError:
        for j, v in enumerate(sample):
            if not _is_value_or_number(v):
                nested = isinstance(v, (list, tuple, np.ndarray))
                raise TypeError(
                    f"{module!r} reads numbers or Values: entry {j} of {which} is "
                    f"{_describe(v)}"
                    + (
                        " (a batch is 2-D: a list of samples, each a list of numbers)"
                        if nested
                        else ""
                    )
                ) from None
        raise


def _is_value_or_number(v: object) -> bool:
    return isinstance(v, Value) or is_number(v)


def _describe(x: object) -> str:
    """'a list', 'the int 16', 'a Value'..."""
    if _is_real(x):
        return f"the {type(x).__name__} {x!r}"
    name = type(x).__name__
    return f"an {name}" if name[0].lower() in "aeiou" else f"a {name}"


def _each(
    module: Module, x: object, width: int | None, compute: Callable[[list[Value]], T]
) -> T | list[T]:
    """``compute`` on one sample, or on each sample of a batch (a list of the results)."""
    rows, batched = _rows(module, x, width)
    out = [compute(row) for row in rows]
    return out if batched else out[0]


# --- the bookkeeping every module shares ------------------------------------------------------


class Module:
    """The base of every model: its parameters by name, its scope, train/eval, saving, loading.

    A subclass defines ``forward(x)``; calling the module runs it inside a scope named after the
    module. Modules and Parameters (or lists of them) assigned to public attributes are its
    children and parameters, named by attribute (``fc1.weight.0.3``, ``blocks.2.bias.0``)::

        class Net(nn.Module):
            def __init__(self):
                self.fc1 = nn.Linear(64, 50)
                self.fc2 = nn.Linear(50, 10)

            def forward(self, x):
                return self.fc2(nn.ReLU()(self.fc1(x)))

    (Code written for micrograd that defines ``__call__`` and overrides ``parameters()`` keeps
    working with ``zero_grad()``.)
    """

    _path: str = ""
    _scope_name: str = ""
    training: bool = True
    """True in training mode (the default), False after ``eval()``: Dropout and BatchNorm1d
    behave differently."""

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if not name.startswith("_"):
            # Name what was just attached: a child module and its subtree, or a parameter.
            prefix = f"{self._path}." if self._path else ""
            for child_name, child in _nested(name, value, Module):
                child._place(prefix + child_name, child_name)
            for parameter_name, p in _nested(name, value, Parameter):
                p.label = prefix + parameter_name

    def __call__(self, x: Any) -> Any:
        """``forward(x)`` inside a scope named by this module, so every node it records says
        which module computed it (``"MLP/layers.0/neurons.3"``)."""
        # The garbage collector sleeps while the graph is built (collector.py says why); pause()
        # is called here, not through a wrapper, whose packing of the arguments into a tuple
        # could set off a collection just before.
        pause()
        try:
            return within_scope(self.scope_name, self.forward, x)
        finally:
            resume()

    def forward(self, x: Any) -> Any:
        """What the module computes from ``x``; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(x)")

    @property
    def path(self) -> str:
        """This module's dotted path in the model that holds it ("" at the top)."""
        return self._path

    @property
    def scope_name(self) -> str:
        """The name of the scope its calls open: its attribute path in its parent
        (``neurons.3``, ``0``), or its class name at the top."""
        return self._scope_name or type(self).__name__

    def _own_parameters(self) -> list[tuple[str, Parameter]]:
        """This module's own parameters (not its children's), with their local names."""
        return [item for name, value in _public(self) for item in _nested(name, value, Parameter)]

    def named_children(self) -> list[tuple[str, Module]]:
        """The direct sub-modules, each with its attribute path (``neurons.0``)."""
        return [item for name, value in _public(self) for item in _nested(name, value, Module)]

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """Every parameter with its dotted name relative to this module, e.g.
        ``("layers.0.neurons.3.w.1", value)``, in a fixed order (the order of ``parameters()``).
        A parameter shared by two children is listed once, under its first name.
        """
        seen: set[Value] = set()
        unique = []
        for prefix, module in self._tree():
            for name, p in module._own_parameters():
                if p not in seen:
                    seen.add(p)
                    unique.append((prefix + name, p))
        return unique

    def _tree(self) -> list[tuple[str, Module]]:
        """This module and every module inside it, each before its children and in the order of
        their attributes, with the prefix of their names ("" here, then "layers.0." ...)."""
        found = []
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:
            prefix, module = stack.pop()
            found.append((prefix, module))
            children = reversed(module.named_children())  # popped in attribute order
            stack += [(f"{prefix}{name}.", child) for name, child in children]
        return found

    def parameters(self) -> list[Value]:
        """Every parameter Value, in micrograd's order (weights, then bias, neuron by neuron)."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0, before the next ``backward()``."""
        for p in self.parameters():
            p.grad = 0.0

    def train(self: M, mode: bool = True) -> M:
        """Training mode for this module and every module inside it (``mode=False``:
        evaluation mode). Returns the module, so ``model = Net().train()`` works."""
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"train(mode): mode is True or False, not {mode!r}")
        self.training = bool(mode)
        for _, child in self.named_children():
            child.train(mode)
        return self

    def eval(self: M) -> M:
        """Evaluation mode, ``train(False)``: Dropout passes its input through, BatchNorm1d uses
        its running statistics."""
        return self.train(False)

    def _place(self, path: str, name: str = "") -> None:
        """Record this module's dotted path in the model (``layers.0.neurons.3``) and the name of
        the scope its calls open (``neurons.3``; a top-level module's class name), and label its
        parameters with their full names. A parent calls it on each child it is given."""
        self._path = path
        self._scope_name = name
        prefix = f"{path}." if path else ""
        for parameter_name, p in self._own_parameters():
            p.label = prefix + parameter_name
        for child_name, child in self.named_children():
            child._place(prefix + child_name, child_name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # --- state: plain numbers by name --------------------------------------------------------

    def _own_buffers(self) -> list[tuple[str, list[float]]]:
        """Numbers that are state but not parameters (BatchNorm1d's running statistics), each
        list with its name; entry j is saved as ``name.j``."""
        return []

    def _buffer_slots(self) -> list[tuple[str, list[float], int]]:
        """Every buffer entry of this module and its children: (dotted name, its list, index)."""
        return [
            (f"{prefix}{name}.{j}", values, j)
            for prefix, module in self._tree()
            for name, values in module._own_buffers()
            for j in range(len(values))
        ]

    def state_dict(self) -> dict[str, float]:
        """Every parameter's value by name, then every buffer's (BatchNorm1d's running
        statistics): ``{"layers.0.neurons.0.w.0": 0.23, ..., "1.running_mean.0": 0.1}``."""
        state = {name: p.data for name, p in self.named_parameters()}
        state.update((name, values[j]) for name, values, j in self._buffer_slots())
        return state

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Copy the values in ``state`` into the parameters and buffers of the same names.

        ``state`` must have exactly this model's names and a finite real number for each (int,
        float or numpy scalar; not bool). Every entry is checked before anything is written: on
        any problem a ValueError lists what is wrong (missing names, unexpected names,
        non-numbers) and the model is left untouched.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"a state dict is a mapping of names to numbers, not {_kind(state)}")
        named = self.named_parameters()
        slots = self._buffer_slots()
        values = _validated(state, [name for name, _ in named] + [name for name, _, _ in slots])
        for (_, p), value in zip(named, values):
            p.data = value
        for (_, buffer, j), value in zip(slots, values[len(named) :]):
            buffer[j] = value

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state dict to ``path`` as JSON: ``{"format": ..., "parameters": {...}}``
        ("parameters" holds the whole state dict, running statistics too).

        The file is written whole or not at all (a temporary file renamed into place), so a
        crash never leaves a half-written model behind. A new file gets the usual permissions
        (0666 less the umask), an existing one keeps its own; through a symbolic link, the file
        it points to is written and the link stays. Non-finite values (a diverged model) raise
        a ValueError: JSON has no NaN or infinity.
        """
        state = self.state_dict()
        bad = [name for name, x in state.items() if not math.isfinite(x)]
        if bad:
            raise ValueError(f"cannot save non-finite parameters: {_some(bad)}")
        text = json.dumps({"format": _FORMAT, "version": 1, "parameters": state}, indent=1)
        _write_whole(Path(os.path.realpath(path)), text + "\n")

    def load(self, path: str | os.PathLike[str]) -> None:
        """Read a state dict written by ``save`` into this model (same architecture).

        A file that is not valid JSON (truncated, say), nested absurdly deep, holds a key twice,
        is not a tinygrad-edu model, or does not match this model raises a ValueError naming the
        problem; the model is then untouched. So does a path that is not a regular file (a
        device such as /dev/zero, a named pipe, a folder), which is never read, and a file larger
        than :data:`MAX_MODEL_FILE_BYTES`, of which no more than that is read.
        """
        where = repr(os.fspath(path))
        document = _parse(_read_model_file(path, where), where)
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise ValueError(
                f"{where} is not a tinygrad-edu model file "
                f'(expected a JSON object with "format": "{_FORMAT}")'
            )
        if document.get("version", 1) != 1:
            raise ValueError(f"{where} is version {document['version']!r}; this library reads 1")
        parameters = document.get("parameters")
        if not isinstance(parameters, dict):
            raise ValueError(f'{where} has no "parameters" object')
        self.load_state_dict(parameters)


_FORMAT = "tinygrad-edu/state_dict"

MAX_MODEL_FILE_BYTES = 256 * 1024 * 1024
"""The largest model file ``Module.load`` reads: 256 MiB. A saved parameter takes about 50 bytes
(its dotted name and 17 digits), so this is room for some five million parameters; the course's
largest model, an MNIST MLP 784-100-10, has 79,510 (about 4 MB). A larger file is refused before
it is read, so a wrong path cannot make ``load`` read without end."""


def _read_model_file(path: str | os.PathLike[str], where: str) -> bytes:
    """The bytes of the model file at ``path``: a regular file of at most MAX_MODEL_FILE_BYTES.

    It is opened without waiting (a named pipe would block until a writer came) and checked
    through the opened file itself, so what is checked is what is read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a device, a pipe or a socket"
            raise ValueError(f"{where} is not a regular file ({kind}), so not a model file")
        limit = MAX_MODEL_FILE_BYTES
        with os.fdopen(fd, "rb", closefd=False) as file:
            raw = file.read(limit + 1)  # one byte more than allowed: a file that is too large
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise ValueError(
            f"{where} is larger than {limit:,} bytes (nn.MAX_MODEL_FILE_BYTES), too large to be "
            "a model file of this library"
        )
    return raw


def _public(module: Module) -> list[tuple[str, object]]:
    """The module's public attributes, in the order they were first assigned."""
    return [(name, value) for name, value in vars(module).items() if not name.startswith("_")]


K = TypeVar("K")


def _nested(name: str, value: object, kind: type[K]) -> list[tuple[str, K]]:
    """``value`` if it is a ``kind``, or the ``kind`` items of a (nested) list or tuple, each
    with its dotted name: ``("weight.2.0", p)``."""
    if isinstance(value, kind):
        return [(name, value)]
    if not isinstance(value, (list, tuple)):
        return []
    # A name is made only for what is or may hold a ``kind``: a neuron's weights are searched
    # for modules too, at every parameters() call.
    found: list[tuple[str, K]] = []
    for i, v in enumerate(value):
        if isinstance(v, kind):
            found.append((f"{name}.{i}", v))
        elif isinstance(v, (list, tuple)):
            found += _nested(f"{name}.{i}", v, kind)
    return found


def _kind(x: object) -> str:
    return type(x).__name__


def _some(names: Sequence[str], shown: int = 5) -> str:
    """'a, b, c' or 'a, b, c, d, e and 7 more'."""
    head = ", ".join(names[:shown])
    return head if len(names) <= shown else f"{head} and {len(names) - shown} more"


def _validated(state: Mapping[Any, object], names: list[str]) -> list[float]:
    """The values of ``state`` in the order of ``names``, or a ValueError listing every problem."""
    expected = set(names)
    missing = [name for name in names if name not in state]
    unexpected = [str(name) for name in state if name not in expected]
    not_numbers = [
        f"{name} = {_short_repr(state[name])}"
        for name in names
        if name in state and not _is_finite_number(state[name])
    ]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} parameter(s): {_some(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected name(s): {_some(unexpected)}")
    if not_numbers:
        problems.append(f"not finite real numbers: {_some(not_numbers)}")
    if problems:
        raise ValueError("state dict does not fit the model: " + "; ".join(problems))
    return [float(state[name]) for name in names]  # type: ignore[arg-type]


def _short_repr(x: object, limit: int = 40) -> str:
    """repr(x), cut in the middle when long; a huge integer by its number of digits."""
    if isinstance(x, int) and x.bit_length() > 1000:
        return f"an integer of about {int(x.bit_length() * math.log10(2)) + 1} digits"
    text = repr(x)
    return text if len(text) <= limit else f"{text[: limit // 2]}...{text[-limit // 2 :]}"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's members as a dict, refusing a key given twice (json would keep the last
    silently)."""
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"the key {key!r} appears twice")
        document[key] = value
    return document


def _parse(raw: bytes, where: str) -> object:
    """A model file's JSON; every way it can be broken is a ValueError naming the file."""
    try:
        return json.loads(raw, object_pairs_hook=_unique_keys)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{where} is not valid JSON (truncated?): {error}") from None
    except RecursionError:
        raise ValueError(f"{where} is nested too deeply to be a model file") from None
    except ValueError as error:  # a duplicate key, an integer past Python's digit limit
        raise ValueError(f"{where} is not a valid model file: {error}") from None


def _write_whole(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file renamed into place (atomic).

    The temporary file is created with mode 0666, which the operating system reduces by the
    umask, as for any new file; if ``target`` exists, its permission bits are kept. The file is
    synced to disk before the rename, and its folder after it.
    """
    while True:
        temporary = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:  # another writer picked the same name: draw again
            continue
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            sync_file(file)  # on disk before the rename (tinygrad_edu/files.py says why)
        if target.exists():
            os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_directory(target.parent)  # the rename itself is an entry of the folder


# --- micrograd's models ------------------------------------------------------------------------


class Neuron(Module):
    """One neuron: out = activation(b + w0*x0 + w1*x1 + ... + w[nin-1]*x[nin-1]).

    ``nonlin=False`` makes it linear whatever ``activation`` says (micrograd's switch, used for
    an MLP's last layer). Weights come from ``INITS[init]`` drawn from ``rng`` (default: the
    ``random`` module, as micrograd does); the bias starts at 0. One sample gives one Value, a
    batch a list of them.
    """

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        activation: str = "relu",
        *,
        init: str = "uniform",
        rng: RandomSource | None = None,
    ) -> None:
        nin = _count(nin, "a neuron needs at least one input: nin is a whole number >= 1")
        _check_choice("activation", activation, ACTIVATIONS)
        _check_choice("init", init, INITS)
        source = _source(rng)
        self.w = [Parameter(INITS[init](source, nin)) for _ in range(nin)]
        self.b = _bias(init, source, nin)
        self.nonlin = nonlin
        self.activation = activation if nonlin else "linear"
        self._activate = ACTIVATIONS[self.activation]

    def forward(self, x: Input) -> Value | list[Value]:
        """The neuron's output for one sample (a Value), or for each sample of a batch."""
        return _each(self, x, len(self.w), self._sample)

    def _sample(self, x: list[Value]) -> Value:
        # The sum in micrograd's order, b + w0*x0 + w1*x1 + ..., for the same floating-point
        # result; starting from b (not from 0) adds no constant node.
        return self._activate(weighted_sum(self.w, x, self.b))

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons that read the same input: out_j = neuron_j(x).

    Returns a list of ``nout`` Values, or a single Value when ``nout == 1`` (as micrograd does),
    per sample. The keyword arguments go to every ``Neuron``.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        *,
        nonlin: bool = True,
        activation: str = "relu",
        init: str = "uniform",
        rng: RandomSource | None = None,
    ) -> None:
        nout = _count(nout, "a layer needs at least one neuron: nout is a whole number >= 1")
        self.neurons = [Neuron(nin, nonlin, activation, init=init, rng=rng) for _ in range(nout)]

    def forward(self, x: Input) -> Any:
        """Every neuron's output for one sample (a list, or one Value for one neuron), or that
        for each sample of a batch."""
        return _each(self, x, len(self.neurons[0].w), lambda row: _unwrap(self._all(row)))

    def outputs(self, x: Input) -> Any:
        """Every neuron's output for one sample, always as a list (a list per sample of a
        batch)."""
        return within_scope(self.scope_name, _each, self, x, len(self.neurons[0].w), self._all)

    def _all(self, x: list[Value]) -> list[Value]:
        # The inputs are Values already, shared by all neurons: a diagram shows each input once.
        # Each neuron is computed here rather than by calling it, whose __call__ would check the
        # input again for every neuron (the layer checked it once) and switch the context to
        # open its scope (engine.neuron records the same scope without).
        return [neuron(n.w, x, n.b, n._activate, n.scope_name) for n in self.neurons]

    def __repr__(self) -> str:
        first = self.neurons[0]
        return f"Layer({len(first.w)}, {len(self.neurons)}, activation={first.activation!r})"


def _unwrap(out: list[Value]) -> Value | list[Value]:
    """micrograd's convention: a list of one output is that output."""
    return out[0] if len(out) == 1 else out


class MLP(Module):
    """A multi-layer perceptron: layer sizes ``nin -> nouts[0] -> ... -> nouts[-1]``.

    Hidden layers use ``activation``; the last layer is linear (its output is a score, or
    logits), as in micrograd. ``MLP(2, [16, 16, 1])`` has 2*16+16 + 16*16+16 + 16+1 = 337
    parameters. Per sample, returns a Value when the last layer has one neuron, else a list.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        *,
        init: str = "uniform",
        rng: RandomSource | None = None,
    ) -> None:
        if _is_real(nouts):
            raise TypeError(
                f"MLP(nin, nouts): nouts is the list of layer sizes, e.g. MLP({nin!r}, "
                f"[{nouts!r}, 1]) for a hidden layer of {nouts!r} and one output; got "
                f"{_describe(nouts)}"
            )
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence):
            raise TypeError(f"MLP(nin, nouts): nouts is a list of layer sizes, not {_kind(nouts)}")
        if len(nouts) == 0:
            raise ValueError("an MLP needs at least one layer: nouts is empty")
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [
            Layer(
                sizes[i], sizes[i + 1], nonlin=i != last, activation=activation, init=init, rng=rng
            )
            for i in range(len(nouts))
        ]

    def forward(self, x: Input) -> Any:
        """The output of the last layer for one sample, or for each sample of a batch."""
        return _each(self, x, len(self.layers[0].neurons[0].w), self._sample)

    def _sample(self, x: list[Value]) -> Value | list[Value]:
        out = x
        for layer in self.layers:
            out = within_scope(layer.scope_name, layer._all, out)
        return _unwrap(out)

    def __repr__(self) -> str:
        return f"MLP({', '.join(repr(layer) for layer in self.layers)})"


# --- PyTorch's layers --------------------------------------------------------------------------


class Linear(Module):
    """A fully connected (affine) layer: y_o = bias_o + Σ_i weight_o,i · x_i, for o < nout.

    Parameters ``weight.{o}.{i}`` (nout rows of nin) and ``bias.{o}``, as ``torch.nn.Linear``.
    The default ``init="pytorch"`` draws every weight, then every bias, from
    U(-1/√nin, 1/√nin), PyTorch's default; "xavier", "he" and "uniform" draw the weights from
    ``INITS`` and start the biases at 0. ``rng``: a ``random.Random`` (default: the ``random``
    module). Always returns a list of ``nout`` Values per sample (also for ``nout == 1``).
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        *,
        bias: bool = True,
        init: str = "pytorch",
        rng: RandomSource | None = None,
    ) -> None:
        nin = _count(nin, "Linear(nin, nout): nin is the number of inputs, a whole number >= 1")
        nout = _count(nout, "Linear(nin, nout): nout is the number of outputs, a whole number >= 1")
        _check_choice("init", init, INITS)
        source, draw = _source(rng), INITS[init]
        self.weight = [[Parameter(draw(source, nin)) for _ in range(nin)] for _ in range(nout)]
        self.bias = [_bias(init, source, nin) for _ in range(nout)] if bias else None

    @property
    def nin(self) -> int:
        return len(self.weight[0])

    @property
    def nout(self) -> int:
        return len(self.weight)

    def forward(self, x: Input) -> Any:
        """y = W·x + b for one sample (a list of nout Values), or for each sample of a batch."""
        return _each(self, x, self.nin, self._sample)

    def _sample(self, x: list[Value]) -> list[Value]:
        if self.bias is None:  # start from the first product: no constant 0 node
            return [weighted_sum(w[1:], x[1:], w[0] * x[0]) for w in self.weight]
        return [weighted_sum(w, x, b) for w, b in zip(self.weight, self.bias)]

    def __repr__(self) -> str:
        bias = "" if self.bias is not None else ", bias=False"
        return f"Linear({self.nin}, {self.nout}{bias})"


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x) = c(b(a(x)))``.

    The children are named by position, so parameters are ``0.weight.3.1`` and scopes
    ``Sequential/0``, as in PyTorch. ``model[0]``, ``len(model)`` and iteration work.
    """

    def __init__(self, *modules: Module) -> None:
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            raise TypeError(
                "Sequential takes the modules themselves, Sequential(a, b, c) or "
                "Sequential(*modules), not a list"
            )
        if not modules:
            raise ValueError("Sequential needs at least one module")
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential's entry {i} is {_describe(module)}, not a Module "
                    "(activations are modules too: nn.ReLU(), nn.Tanh(), ...)"
                )
        self._modules = tuple(modules)
        self._place(self._path, self._scope_name)

    def named_children(self) -> list[tuple[str, Module]]:
        return [(str(i), module) for i, module in enumerate(self._modules)]

    def forward(self, x: Any) -> Any:
        """Each module's output is the next one's input."""
        for module in self._modules:
            x = module(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return self._modules[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules)

    def __repr__(self) -> str:
        return f"Sequential({', '.join(repr(m) for m in self._modules)})"


class _Elementwise(Module):
    """A module that maps every input to one output of the same shape, entry by entry."""

    def forward(self, x: Input) -> Any:
        """f applied to every entry of one sample, or of every sample of a batch."""
        return _each(self, x, None, lambda row: [self._apply(v) for v in row])

    def _apply(self, x: Value) -> Value:
        raise NotImplementedError


class ReLU(_Elementwise):
    """relu(x) = max(x, 0) entry by entry; d/dx = 1 for x > 0, else 0."""

    def _apply(self, x: Value) -> Value:
        return ACTIVATIONS["relu"](x)


class Sigmoid(_Elementwise):
    """σ(x) = 1/(1 + e^-x) entry by entry; d/dx = σ(x)(1 - σ(x))."""

    def _apply(self, x: Value) -> Value:
        return ACTIVATIONS["sigmoid"](x)


class Tanh(_Elementwise):
    """tanh(x) entry by entry; d/dx = 1 - tanh(x)²."""

    def _apply(self, x: Value) -> Value:
        return ACTIVATIONS["tanh"](x)


class LeakyReLU(_Elementwise):
    """x for x > 0, else slope·x, entry by entry (PyTorch's ``negative_slope``, default 0.01)."""

    def __init__(self, slope: float = 0.01) -> None:
        self.slope = _real("LeakyReLU's slope", slope)

    def _apply(self, x: Value) -> Value:
        return x.leaky_relu(self.slope)

    def __repr__(self) -> str:
        return f"LeakyReLU(slope={self.slope!r})"


class Dropout(Module):
    """Inverted dropout, as ``torch.nn.Dropout``: in training, each entry is zeroed with
    probability p and the survivors are scaled by 1/(1 - p), so the expected output is the
    input; in evaluation (``eval()``) it is the identity.

    out = x · mask, mask = 0 with probability p, else 1/(1 - p), drawn per entry;
    d out/dx = mask.

    The mask is drawn entry by entry, sample by sample, from ``rng`` (a ``random.Random``;
    default the ``random`` module, found when the mask is drawn, so a model with a Dropout can
    be deep-copied and pickled): entry dropped when ``rng.random() < p``. It is a list of
    leaves made by ``tinygrad_edu.draw``, so a compiled training step draws a new mask at every
    call, from the same stream in the same order as the interpreter would (nothing about it is
    frozen at trace time). A dropped entry is ``x * 0`` (a node whose gradient passes nothing
    back), a kept one ``x * (1/(1-p))``.
    """

    def __init__(self, p: float = 0.5, *, rng: RandomSource | None = None) -> None:
        self.p = _real("Dropout's p", p)
        if not 0 <= self.p <= 1:
            raise ValueError(f"Dropout's p is a probability in [0, 1], got {p!r}")
        # None stands for the random module, looked up at each draw: a module object cannot be
        # deep-copied or pickled, so storing it would make the model impossible to copy.
        self._rng = rng

    @property
    def rng(self) -> RandomSource:
        """Where the mask is drawn from: the ``rng`` given, or the ``random`` module."""
        return _source(self._rng)

    @rng.setter
    def rng(self, rng: RandomSource | None) -> None:
        self._rng = rng

    def forward(self, x: Input) -> Any:
        """x · mask entry by entry in training (the identity in evaluation, or at p = 0)."""
        rows, batched = _rows(self, x, None)
        if self.training and self.p > 0:
            mask = iter(draw(sum(map(len, rows)), self._mask))
            rows = [[v * next(mask) for v in row] for row in rows]
        return rows if batched else rows[0]

    def _mask(self, n: int) -> list[float]:
        """n entries of a mask: 0.0 where ``rng.random() < p`` (dropped), else 1/(1 - p)."""
        p, random_ = self.p, self.rng.random
        scale = 1 / (1 - p) if p < 1 else 0.0
        return [0.0 if random_() < p else scale for _ in range(n)]

    def __repr__(self) -> str:
        return f"Dropout(p={self.p!r})"


class BatchNorm1d(Module):
    """Batch normalisation over a batch of samples of ``n`` features, as ``torch.nn.BatchNorm1d``.

    For each feature j, over the batch's B samples:

    * training: mean_j = Σ_b x_bj / B, var_j = Σ_b (x_bj - mean_j)² / B (biased), and
      y_bj = weight_j · (x_bj - mean_j) / √(var_j + eps) + bias_j, differentiated through the
      statistics. The running statistics move towards the batch's:
      running_mean_j = (1 - momentum)·running_mean_j + momentum·mean_j and
      running_var_j = (1 - momentum)·running_var_j + momentum·var_j·B/(B - 1) (the unbiased
      variance). A batch needs 2 samples or more.
    * evaluation (``eval()``): y_j = weight_j · (x_j - running_mean_j) / √(running_var_j + eps)
      + bias_j, the running statistics taken as constants (no gradient flows into them); one
      sample or a batch.

    Parameters ``weight.{j}`` (start at 1) and ``bias.{j}`` (start at 0); the state dict also
    holds ``running_mean.{j}`` (start at 0) and ``running_var.{j}`` (start at 1).

    Under ``tinygrad_edu.compile`` both work at every call: training updates the running
    statistics through ``tinygrad_edu.observe`` (from the replayed batch statistics, after
    every forward pass), and evaluation reads them through ``tinygrad_edu.draw`` (their current
    values at every call), so a compiled evaluation after compiled training gives the
    interpreter's numbers.
    """

    def __init__(self, n: int, *, eps: float = 1e-5, momentum: float = 0.1) -> None:
        self.num_features = _count(n, "BatchNorm1d(n): n is the number of features, >= 1")
        self.eps = _real("BatchNorm1d's eps", eps)
        self.momentum = _real("BatchNorm1d's momentum", momentum)
        if self.eps <= 0:
            raise ValueError(f"BatchNorm1d's eps must be positive, got {eps!r}")
        if not 0 <= self.momentum <= 1:
            raise ValueError(f"BatchNorm1d's momentum is in [0, 1], got {momentum!r}")
        self.weight = [Parameter(1.0) for _ in range(self.num_features)]
        self.bias = [Parameter(0.0) for _ in range(self.num_features)]
        self.running_mean = [0.0] * self.num_features
        self.running_var = [1.0] * self.num_features

    def _own_buffers(self) -> list[tuple[str, list[float]]]:
        return [("running_mean", self.running_mean), ("running_var", self.running_var)]

    def forward(self, x: Input) -> Any:
        """The normalised batch (training), or sample or batch (evaluation)."""
        rows, batched = _rows(self, x, self.num_features)
        if not self.training:
            statistics = draw(2 * self.num_features, self._running_statistics)
            out = [self._with_running_statistics(row, statistics) for row in rows]
            return out if batched else out[0]
        if not batched or len(rows) < 2:
            got = "one sample" if not batched else "a batch of 1"
            raise ValueError(
                f"{self!r} in training mode normalises over a batch of 2 samples or more "
                f"(a 2-D list or array), got {got}; call .eval() to use the running statistics"
            )
        means, variances, columns = [], [], []
        for j, column in enumerate(zip(*rows)):
            mean, var, normalised = self._normalised_column(j, list(column))
            means.append(mean)
            variances.append(var)
            columns.append(normalised)
        observe(means + variances, functools.partial(self._update_running, len(rows)))
        return [list(row) for row in zip(*columns)]

    def _normalised_column(self, j: int, column: list[Value]) -> tuple[Value, Value, list[Value]]:
        """Feature j over the batch: its mean, its biased variance, and the column normalised
        by them."""
        n = len(column)
        mean = _sum(column) / n
        centered = [x - mean for x in column]
        var = _sum([c * c for c in centered]) / n
        std = (var + self.eps).sqrt()
        return mean, var, [self.weight[j] * (c / std) + self.bias[j] for c in centered]

    def _update_running(self, batch: int, statistics: list[float]) -> None:
        """running = (1 - momentum)·running + momentum·batch statistic, from the batch's means
        then biased variances (the variance made unbiased: ·B/(B - 1))."""
        m, k = self.momentum, self.num_features
        for j, (mean, var) in enumerate(zip(statistics[:k], statistics[k:])):
            self.running_mean[j] = (1 - m) * self.running_mean[j] + m * mean
            self.running_var[j] = (1 - m) * self.running_var[j] + m * var * batch / (batch - 1)

    def _running_statistics(self, n: int) -> list[float]:
        """The running means, then √(running variance + eps): what evaluation divides by."""
        return [*self.running_mean, *(math.sqrt(var + self.eps) for var in self.running_var)]

    def _with_running_statistics(self, x: list[Value], statistics: list[Value]) -> list[Value]:
        means, stds = statistics[: self.num_features], statistics[self.num_features :]
        return [
            w * ((xj - mean) / std) + b
            for xj, w, b, mean, std in zip(x, self.weight, self.bias, means, stds)
        ]

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.num_features}, eps={self.eps!r}, momentum={self.momentum!r})"


def _sum(terms: Sequence[Value]) -> Value:
    """t0 + t1 + ... without a leading constant 0 node."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total
