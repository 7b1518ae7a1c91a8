"""Neurons, layers and multi-layer perceptrons built from ``Value``: a thin drop-in for micrograd.

A neuron computes ``activation(b + w0*x0 + w1*x1 + ...)``; a layer is a list of neurons that all
read the same input; an MLP is a chain of layers whose hidden layers use the activation and whose
last layer is linear. Written for micrograd's ``nn``, code runs unchanged with the same numbers:
the weights are drawn with ``random.uniform(-1, 1)`` in the same order and the biases start at 0,
so ``random.seed(1337)`` gives the same model.

Every parameter is named by its dotted path from the top-level module, PyTorch style
(``layers.1.neurons.0.w.3``). The name is also the Value's ``label`` from the moment the model is
built, so a diagram shows it; a neuron's output node is labelled with the neuron's path
(``layers.1.neurons.0``), which lets a diagram draw each neuron as a cluster.

Saving is JSON (never pickle): ``model.save("model.json")``, ``model.load("model.json")``. A file
that does not fit the model raises a clear error and leaves the model exactly as it was.
"""

from __future__ import annotations

import json
import math
import os
import random
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from .engine import Number, Parameter, Value, scope, weighted_sum

__all__ = [
    "Parameter",
    "ACTIVATIONS",
    "INITS",
    "Module",
    "Neuron",
    "Layer",
    "MLP",
    "RandomSource",
]

Input = Sequence["Value | Number"]
"""What a neuron reads: one number or Value per weight."""


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
"""Activation name -> function of one Value. Neurons, layers, MLPs, docs and tests read this."""


# --- initialisation: the one table -----------------------------------------------------------


class RandomSource(Protocol):
    """What the initialisers draw from: the ``random`` module itself or a ``random.Random``."""

    def uniform(self, a: float, b: float) -> float: ...

    def gauss(self, mu: float, sigma: float) -> float: ...


INITS: dict[str, Callable[[RandomSource, int], float]] = {
    # micrograd's: w ~ U(-1, 1) whatever the fan-in
    "uniform": lambda rng, nin: rng.uniform(-1, 1),
    # Xavier (Glorot) in the course's fan-in form: w ~ N(0, 1/nin), keeps the variance of a
    # sum of nin terms near 1 for tanh and sigmoid
    "xavier": lambda rng, nin: rng.gauss(0.0, math.sqrt(1.0 / nin)),
    # He (Kaiming): w ~ N(0, 2/nin), twice Xavier's variance because relu zeroes half its inputs
    "he": lambda rng, nin: rng.gauss(0.0, math.sqrt(2.0 / nin)),
}
"""Initialiser name -> function (random source, fan-in) -> one weight. Biases always start at 0."""


def _check_choice(kind: str, name: object, table: Mapping[str, object]) -> None:
    if not isinstance(name, str) or name not in table:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(table)}")


# --- the bookkeeping every module shares ------------------------------------------------------


class Module:
    """The base of every model: its parameters, by name, and saving and loading them.

    A subclass lists its own parameters in ``_own_parameters()`` and its sub-modules in
    ``named_children()``; names, labels, ``parameters()``, ``zero_grad()``, ``state_dict()`` and
    JSON files all follow. (Code written for micrograd that only overrides ``parameters()`` keeps
    working with ``zero_grad()``.)
    """

    def _own_parameters(self) -> list[tuple[str, Value]]:
        """This module's own parameters (not its children's), with their local names."""
        return []

    def named_children(self) -> list[tuple[str, Module]]:
        """The direct sub-modules, each with its attribute path (``neurons.0``)."""
        return []

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Every parameter with its dotted name relative to this module, e.g.
        ``("layers.0.neurons.3.w.1", value)``, in a fixed order (the order of ``parameters()``).
        """
        named = self._own_parameters()
        for child_name, child in self.named_children():
            named += [(f"{child_name}.{name}", p) for name, p in child.named_parameters()]
        return named

    def parameters(self) -> list[Value]:
        """Every parameter Value, in micrograd's order (weights, then bias, neuron by neuron)."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0, before the next ``backward()``."""
        for p in self.parameters():
            p.grad = 0.0

    def _place(self, path: str, name: str = "") -> None:
        """Record this module's dotted path in the model (``layers.0.neurons.3``) and the name of
        the scope its calls open (``neurons.3``; a top-level module's class name), and label its
        parameters with their full names. Called at construction; a parent calls it again on each
        child."""
        self.path = path
        self.scope_name = name or type(self).__name__
        prefix = f"{path}." if path else ""
        for parameter_name, p in self._own_parameters():
            p.label = prefix + parameter_name
        for child_name, child in self.named_children():
            child._place(prefix + child_name, child_name)

    # --- state: plain numbers by name --------------------------------------------------------

    def state_dict(self) -> dict[str, float]:
        """Every parameter's value by name: ``{"layers.0.neurons.0.w.0": 0.23, ...}``."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Copy the values in ``state`` into the parameters of the same names.

        ``state`` must have exactly this model's names and a finite real number for each. Every
        entry is checked before anything is written: on any problem a ValueError lists what is
        wrong (missing names, unexpected names, non-numbers) and the model is left untouched.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"a state dict is a mapping of names to numbers, not {_kind(state)}")
        named = self.named_parameters()
        values = _validated(state, [name for name, _ in named])
        for (_, p), value in zip(named, values):
            p.data = value

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the parameters to ``path`` as JSON: ``{"format": ..., "parameters": {...}}``.

        The file is written whole or not at all (a temporary file renamed into place), so a
        crash never leaves a half-written model behind. Non-finite parameters (a diverged
        model) raise a ValueError: JSON has no NaN or infinity.
        """
        state = self.state_dict()
        bad = [name for name, x in state.items() if not math.isfinite(x)]
        if bad:
            raise ValueError(f"cannot save non-finite parameters: {_some(bad)}")
        text = json.dumps({"format": _FORMAT, "version": 1, "parameters": state}, indent=1)
        target = Path(path)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text + "\n")
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise

    def load(self, path: str | os.PathLike[str]) -> None:
        """Read parameters written by ``save`` into this model (same architecture).

        A file that is not valid JSON (truncated, say), not a tinygrad-edu model, or does not
        match this model raises a ValueError naming the problem; the model is then untouched.
        """
        try:
            document = json.loads(Path(path).read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(
                f"{os.fspath(path)!r} is not valid JSON (truncated?): {error}"
            ) from None
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise ValueError(
                f"{os.fspath(path)!r} is not a tinygrad-edu model file "
                f'(expected a JSON object with "format": "{_FORMAT}")'
            )
        parameters = document.get("parameters")
        if not isinstance(parameters, dict):
            raise ValueError(f'{os.fspath(path)!r} has no "parameters" object')
        self.load_state_dict(parameters)


_FORMAT = "tinygrad-edu/state_dict"


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
        f"{name} = {state[name]!r}"
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


def _is_finite_number(x: object) -> bool:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    return math.isfinite(x)


# --- the models ------------------------------------------------------------------------------


class Neuron(Module):
    """One neuron: out = activation(b + w0*x0 + w1*x1 + ... + w[nin-1]*x[nin-1]).

    ``nonlin=False`` makes it linear whatever ``activation`` says (micrograd's switch, used for
    an MLP's last layer). Weights come from ``INITS[init]`` drawn from ``rng`` (default: the
    ``random`` module, as micrograd does); the bias starts at 0.
    """

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        activation: str = "relu",
        *,
        init: str = "uniform",
        rng: random.Random | None = None,
    ) -> None:
        if isinstance(nin, bool) or not isinstance(nin, int) or nin < 1:
            raise ValueError(f"a neuron needs at least one input, got nin={nin!r}")
        _check_choice("activation", activation, ACTIVATIONS)
        _check_choice("init", init, INITS)
        source: RandomSource = random  # the module's shared generator, as micrograd uses
        if rng is not None:
            source = rng
        draw = INITS[init]
        self.w = [Parameter(draw(source, nin)) for _ in range(nin)]
        self.b = Parameter(0.0)
        self.nonlin = nonlin
        self.activation = activation if nonlin else "linear"
        self._activate = ACTIVATIONS[self.activation]
        self._place("")

    def __call__(self, x: Input) -> Value:
        """The neuron's output for the input ``x`` (numbers or Values, one per weight)."""
        if len(x) != len(self.w):
            raise ValueError(f"this neuron takes {len(self.w)} inputs, got {len(x)}")
        # The sum in micrograd's order, b + w0*x0 + w1*x1 + ..., for the same floating-point
        # result; starting from b (not from 0) adds no constant node.
        with scope(self.scope_name):
            return self._activate(weighted_sum(self.w, x, self.b))

    def _own_parameters(self) -> list[tuple[str, Value]]:
        named: list[tuple[str, Value]] = [(f"w.{k}", w) for k, w in enumerate(self.w)]
        return [*named, ("b", self.b)]

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons that read the same input: out_j = neuron_j(x).

    Returns a list of ``nout`` Values, or a single Value when ``nout == 1`` (as micrograd does).
    The keyword arguments go to every ``Neuron``.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        *,
        nonlin: bool = True,
        activation: str = "relu",
        init: str = "uniform",
        rng: random.Random | None = None,
    ) -> None:
        if isinstance(nout, bool) or not isinstance(nout, int) or nout < 1:
            raise ValueError(f"a layer needs at least one neuron, got nout={nout!r}")
        self.neurons = [Neuron(nin, nonlin, activation, init=init, rng=rng) for _ in range(nout)]
        self._place("")

    def __call__(self, x: Input) -> Value | list[Value]:
        """Every neuron's output for the input ``x``: a list, or one Value for one neuron."""
        out = self.outputs(x)
        return out[0] if len(out) == 1 else out

    def outputs(self, x: Input) -> list[Value]:
        """Every neuron's output for the input ``x``, always as a list."""
        # Plain numbers become Values once here, shared by all neurons, rather than once per
        # neuron inside each product: fewer nodes, and a diagram shows each input once.
        with scope(self.scope_name):
            x = [xi if isinstance(xi, Value) else Value(xi) for xi in x]
            return [n(x) for n in self.neurons]

    def named_children(self) -> list[tuple[str, Module]]:
        return [(f"neurons.{j}", n) for j, n in enumerate(self.neurons)]

    def __repr__(self) -> str:
        first = self.neurons[0]
        return f"Layer({len(first.w)}, {len(self.neurons)}, activation={first.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: layer sizes ``nin -> nouts[0] -> ... -> nouts[-1]``.

    Hidden layers use ``activation``; the last layer is linear (its output is a score, or
    logits), as in micrograd. ``MLP(2, [16, 16, 1])`` has 2*16+16 + 16*16+16 + 16+1 = 337
    parameters. Returns a Value when the last layer has one neuron, else a list.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        *,
        init: str = "uniform",
        rng: random.Random | None = None,
    ) -> None:
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
        self._place("")

    def __call__(self, x: Input) -> Value | list[Value]:
        """The output of the last layer for the input ``x``."""
        with scope(self.scope_name):
            out = self.layers[0].outputs(x)
            for layer in self.layers[1:]:
                out = layer.outputs(out)
        return out[0] if len(out) == 1 else out

    def named_children(self) -> list[tuple[str, Module]]:
        return [(f"layers.{i}", layer) for i, layer in enumerate(self.layers)]

    def __repr__(self) -> str:
        return f"MLP({', '.join(repr(layer) for layer in self.layers)})"
