"""Optimisers: how a parameter moves once ``backward()`` has filled its gradient.

Each ``step()`` applies PyTorch's update rule (same formulas, same defaults, same names) to every
parameter's ``data``; ``zero_grad()`` clears the gradients before the next ``backward()``. The
loop the course teaches::

    optimizer = Adam(model.parameters(), lr=0.01)
    for step in range(100):
        loss = ...                # forward
        optimizer.zero_grad()
        loss.backward()           # gradients
        optimizer.step()          # update

**Parameter groups**, as PyTorch: instead of one list of parameters, a list of dicts, each with
its ``"params"`` and any settings that differ from the optimiser's arguments (which are the
defaults for every group)::

    SGD([{"params": weights, "weight_decay": 1e-4}, {"params": biases, "weight_decay": 0}],
        lr=0.1, momentum=0.9)

``optimizer.param_groups`` is that list, every setting filled in; a step reads the settings from
it, so changing ``group["lr"]`` between steps works. ``optimizer.lr = 0.01`` sets it in every
group (a schedule), and reading ``optimizer.lr`` gives it when all groups agree.

Training that diverges (a nan or infinite parameter or gradient after a step) is said once per
optimiser, by a ``RuntimeWarning`` from ``step()``.

Below, p is a parameter's value, g its gradient, lr the learning rate and t the step count
(1 on the first step). Each rule is written on arrays, one entry per parameter of a group, as
PyTorch writes it on tensors: a step reads the group's data and gradients into two arrays,
applies the rule, and writes the new data back (``tinygrad_edu.bulk``), so a model of 40,000
parameters takes a few numpy calls a step, not a Python step per parameter and formula
(``benchmarks/optimizers.py``). Per-parameter state (momentum buffers, running averages) is
kept in arrays under PyTorch's names; ``optimizer.state[p]`` reads one parameter's, as floats.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from .bulk import read_data, read_grads, write_data
from .collector import pause, resume
from .engine import Value
from .scalars import is_number

__all__ = [
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "clip_grad_norm",
    "OPTIMIZERS",
]

Group = dict[str, Any]
"""One parameter group: ``"params"`` (a list of Values) and every setting of the optimiser."""

Buffers = dict[str, Any]
"""One group's state: an array per name (one entry per parameter), or None before it starts."""


def _check(name: str, x: object, low: float = 0.0, high: float | None = None) -> float:
    """x as a float, which must be a real number in [low, high) (or [low, inf) when ``high`` is
    None). Numpy scalars are numbers; bools are not."""
    if isinstance(x, (bool, np.bool_)) or not is_number(x) or math.isnan(x):
        raise ValueError(f"{name} must be a number, got {x!r}")
    if x < low or (high is not None and x >= high) or math.isinf(x):
        upper = "inf)" if high is None else f"{high})"
        raise ValueError(f"invalid {name}: {x!r} (must be in [{low}, {upper})")
    return float(x)


def _eps(x: object) -> float:
    """eps as a float, which must be > 0.

    eps keeps g / (√v + eps) finite when a gradient and its running average are 0. PyTorch
    accepts eps = 0 and then gives nan there (0/0) for the rest of training; here it is refused
    when the optimiser is made, which is the moment the mistake can be named.
    """
    eps = _check("eps", x)
    if eps == 0:
        raise ValueError(
            "invalid eps: 0.0 (must be > 0: it keeps g / (√v + eps) finite when a gradient is 0,"
            " where eps = 0 would divide 0 by 0; the default is a small number such as 1e-8)"
        )
    return eps


def _listed(params: object, who: str) -> list[object]:
    """``params`` as a list, or a TypeError that says what to pass instead of a model, one
    Value, or something that is not a list."""
    if callable(getattr(params, "parameters", None)):
        raise TypeError(
            f"{who} takes the model's parameters: pass model.parameters(), not the model"
        )
    if isinstance(params, Value):
        raise TypeError(f"{who} takes a list of Values ([x]), not one Value")
    if isinstance(params, (str, bytes, Mapping)) or not isinstance(params, Iterable):
        raise TypeError(f"{who} takes a list of Values (model.parameters()), not {_kind(params)}")
    return list(params)


def _parameter_list(params: object, who: str) -> list[Value]:
    """``params`` as a list of Values, or a TypeError that says what to pass."""
    values = _listed(params, who)
    for i, p in enumerate(values):
        if not isinstance(p, Value):
            hint = (
                ": pass model.parameters(), not named_parameters()" if isinstance(p, tuple) else ""
            )
            raise TypeError(f"{who}'s parameters are Values, not {_kind(p)} (entry {i}){hint}")
    return values  # type: ignore[return-value]


def _kind(x: object) -> str:
    return type(x).__name__


class Setting:
    """A hyper-parameter read and set as an attribute of the optimiser (``optimizer.lr``).

    Setting it sets it in every parameter group (checked as at construction); reading it gives
    the groups' common value, or a ValueError when the groups differ.
    """

    name: str

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, optimizer: Optimizer | None, owner: type | None = None) -> Any:
        if optimizer is None:
            return self
        values = [group[self.name] for group in optimizer.param_groups]
        if any(v != values[0] for v in values[1:]):
            raise ValueError(
                f"the parameter groups have different {self.name} values {values}: read "
                f"optimizer.param_groups[i][{self.name!r}]"
            )
        return values[0]

    def __set__(self, optimizer: Optimizer, value: object) -> None:
        checked = optimizer._checked({**optimizer.defaults, self.name: value})[self.name]
        optimizer.defaults[self.name] = checked
        for group in optimizer.param_groups:
            group[self.name] = checked


class Optimizer:
    """What every optimiser shares: parameter groups, ``zero_grad()``, the step count, and
    ``step()``, which applies the optimiser's rule to each group and then watches for
    divergence."""

    lr = Setting()
    settings: ClassVar[tuple[str, ...]] = ("lr",)
    """The names of the optimiser's settings, the keys a parameter group may override."""

    def __init__(self, params: Iterable[Value] | Iterable[Mapping[str, Any]], **defaults: Any):
        who = type(self).__name__
        self.defaults = self._checked(defaults)
        self.param_groups = [self._group(given, who) for given in _groups(params, who)]
        self.params = [p for group in self.param_groups for p in group["params"]]
        if not self.params:
            raise ValueError("the optimiser got an empty parameter list")
        if len(set(self.params)) != len(self.params):
            raise ValueError("a parameter appears more than once in the list (or in two groups)")
        self._buffers: list[Buffers] = [self._initial_buffers(group) for group in self.param_groups]
        self.state = State(self)
        self.steps = 0
        self._warned = False

    def _checked(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The settings of one group, checked and normalised (floats); each optimiser adds its
        own checks."""
        return {**settings, "lr": _check("learning rate", settings["lr"])}

    def _group(self, given: Mapping[str, Any], who: str) -> Group:
        unknown = sorted(set(given) - {"params", *self.settings})
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(map(repr, unknown))} in a parameter group; "
                f"{who} takes {', '.join(self.settings)}"
            )
        if "params" not in given:
            raise ValueError('a parameter group is a dict with "params": a list of Values')
        params = _parameter_list(given["params"], who)
        settings = self._checked(
            {**self.defaults, **{k: v for k, v in given.items() if k != "params"}}
        )
        return {"params": params, **settings}

    def _initial_state(self, group: Group) -> dict[str, Any]:
        """One parameter's state before its first step (a float, or None: set by the step)."""
        return {}

    def _initial_buffers(self, group: Group) -> Buffers:
        n = len(group["params"])
        return {
            name: None if x is None else np.full(n, x, np.float64)
            for name, x in self._initial_state(group).items()
        }

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter from its gradient (each optimiser's rule, group by group).

        If a parameter or its gradient is then nan or infinite, training has diverged: a
        RuntimeWarning says so, once per optimiser.
        """
        self.steps += 1
        pause()  # no garbage-collector runs during the update (collector.py says why)
        try:
            for group, state in zip(self.param_groups, self._buffers):
                params = group["params"]
                g = read_grads(params)
                with np.errstate(all="ignore"):  # overflow is inf, as with floats: no warning
                    p = self._update(group, state, read_data(params), g)
                write_data(params, p)
                if not self._warned:
                    self._watch(params, p, g)
        finally:
            resume()

    def _update(self, group: Group, state: Buffers, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        """This optimiser's rule on one group: the new p, from p and g (arrays, one entry per
        parameter); ``state`` holds the group's arrays of state, which the rule updates."""
        raise NotImplementedError

    def _watch(self, params: list[Value], p: np.ndarray, g: np.ndarray) -> None:
        finite = np.isfinite(p) & np.isfinite(g)
        if finite.all():
            return
        self._warned = True
        k = int(np.argmin(finite))
        name = params[k].label or f"params[{self.params.index(params[k])}]"
        warnings.warn(
            f"training diverged: after step {self.steps} of {type(self).__name__}, "
            f"parameter {name!r} is {float(p[k])} and its gradient {float(g[k])}. Lower the "
            "learning rate, clip the gradients (optim.clip_grad_norm) or look for an "
            "inf or nan in the loss. (Said once per optimiser.)",
            RuntimeWarning,
            stacklevel=3,
        )

    def __repr__(self) -> str:
        def shown(settings: Mapping[str, Any]) -> str:
            return ", ".join(f"{k}={settings[k]!r}" for k in self.settings)

        name = type(self).__name__
        if len(self.param_groups) == 1:
            return f"{name}({len(self.params)} parameters, {shown(self.param_groups[0])})"
        groups = "; ".join(f"{len(g['params'])}: {shown(g)}" for g in self.param_groups)
        return f"{name}({len(self.params)} parameters in {len(self.param_groups)} groups: {groups})"


class State(Mapping[Value, Mapping[str, Any]]):
    """``optimizer.state``: ``state[p]`` is parameter p's state under PyTorch's names
    (``"exp_avg"``, ``"momentum_buffer"``...), each a float (None before the first step where
    PyTorch has none), read from the arrays the optimiser keeps. Read-only: the optimiser's
    steps are what change it."""

    def __init__(self, optimizer: Optimizer) -> None:
        self._optimizer = optimizer
        self._where = {
            p: (k, i)
            for k, group in enumerate(optimizer.param_groups)
            for i, p in enumerate(group["params"])
        }

    def __getitem__(self, p: Value) -> Mapping[str, Any]:
        k, i = self._where[p]
        buffers = self._optimizer._buffers[k]
        return MappingProxyType(
            {name: None if x is None else float(x[i]) for name, x in buffers.items()}
        )

    def __iter__(self) -> Iterator[Value]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


def _groups(params: object, who: str) -> list[Mapping[str, Any]]:
    """A list of Values is one group; a list of dicts is the groups themselves."""
    if isinstance(params, Mapping):
        raise TypeError(
            f"{who} takes a list of parameter groups: put the dict in a list, [{{...}}]"
        )
    items: list[Any] = _listed(params, who)
    if items and all(isinstance(g, Mapping) for g in items):
        return items
    if any(isinstance(g, Mapping) for g in items):
        raise TypeError(f"{who} takes a list of Values or a list of parameter groups, not both")
    return [{"params": items}]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (PyTorch's ``torch.optim.SGD``).

    g = g + weight_decay·p
    with momentum: buf = g on the first step, then buf = momentum·buf + g;
                   g = g + momentum·buf (nesterov) or g = buf
    p = p - lr·g
    """

    momentum = Setting()
    nesterov = Setting()
    weight_decay = Setting()
    settings = ("lr", "momentum", "nesterov", "weight_decay")

    def __init__(
        self,
        params: Iterable[Value] | Iterable[Mapping[str, Any]],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
        )

    def _checked(self, settings: dict[str, Any]) -> dict[str, Any]:
        checked = super()._checked(settings)
        checked["momentum"] = _check("momentum", settings["momentum"])
        checked["weight_decay"] = _check("weight_decay", settings["weight_decay"])
        checked["nesterov"] = bool(settings["nesterov"])
        if checked["nesterov"] and checked["momentum"] == 0:
            raise ValueError("nesterov momentum needs momentum > 0")
        return checked

    def _initial_state(self, group: Group) -> dict[str, Any]:
        return {"momentum_buffer": None}

    def _update(self, group: Group, state: Buffers, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        """p -= lr·g, with weight decay and momentum as in the class docstring."""
        lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
        if decay:
            g = g + decay * p
        if momentum:
            previous = state["momentum_buffer"]
            buf = g if previous is None else momentum * previous + g
            state["momentum_buffer"] = buf
            g = g + momentum * buf if group["nesterov"] else buf
        new: np.ndarray = p - lr * g
        return new


class Adagrad(Optimizer):
    """Adagrad (PyTorch's ``torch.optim.Adagrad``): a step size per parameter that shrinks as
    that parameter's squared gradients add up.

    g = g + weight_decay·p
    clr = lr / (1 + (t - 1)·lr_decay)
    sum = sum + g²                                   (sum starts at initial_accumulator_value)
    p = p - clr·g / (√sum + eps)

    eps must be > 0: with eps = 0 a parameter whose gradients are all 0 so far would divide 0 by
    0 (PyTorch accepts 0 and gives nan there); a ValueError says so when the optimiser is made.
    """

    lr_decay = Setting()
    weight_decay = Setting()
    initial_accumulator_value = Setting()
    eps = Setting()
    settings = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def __init__(
        self,
        params: Iterable[Value] | Iterable[Mapping[str, Any]],
        lr: float = 0.01,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )

    def _checked(self, settings: dict[str, Any]) -> dict[str, Any]:
        checked = super()._checked(settings)
        for name in ("lr_decay", "weight_decay", "initial_accumulator_value"):
            checked[name] = _check(name, settings[name])
        checked["eps"] = _eps(settings["eps"])
        return checked

    def _initial_state(self, group: Group) -> dict[str, Any]:
        return {"sum": group["initial_accumulator_value"]}

    def _update(self, group: Group, state: Buffers, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        """sum += g²; p -= clr·g / (√sum + eps)."""
        clr = group["lr"] / (1 + (self.steps - 1) * group["lr_decay"])
        decay, eps = group["weight_decay"], group["eps"]
        if decay:
            g = g + decay * p
        state["sum"] = total = state["sum"] + g * g
        new: np.ndarray = p - clr * g / (np.sqrt(total) + eps)
        return new


class RMSprop(Optimizer):
    """RMSprop (PyTorch's ``torch.optim.RMSprop``): Adagrad with a leaky sum, so old gradients
    are forgotten.

    g = g + weight_decay·p
    sq = alpha·sq + (1 - alpha)·g²
    centered: avg_g = alpha·avg_g + (1 - alpha)·g; denom = √max(sq - avg_g², 0) + eps
    otherwise: denom = √sq + eps
    with momentum: buf = momentum·buf + g / denom; p = p - lr·buf
    otherwise:     p = p - lr·g / denom

    sq - avg_g² is a variance, never below 0 in exact arithmetic; when the gradient hardly
    changes it is 0 up to rounding, which can leave it a hair below 0 (a constant gradient with
    alpha = 0.1 does at step 16). It is then taken as 0, as exact arithmetic gives, so the step
    goes on (where PyTorch takes the square root of the negative number: nan, and the parameter
    becomes nan). eps must be > 0, as in Adagrad and Adam.
    """

    alpha = Setting()
    eps = Setting()
    weight_decay = Setting()
    momentum = Setting()
    centered = Setting()
    settings = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")

    def __init__(
        self,
        params: Iterable[Value] | Iterable[Mapping[str, Any]],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )

    def _checked(self, settings: dict[str, Any]) -> dict[str, Any]:
        checked = super()._checked(settings)
        for name in ("alpha", "weight_decay", "momentum"):
            checked[name] = _check(name, settings[name])
        checked["eps"] = _eps(settings["eps"])
        checked["centered"] = bool(settings["centered"])
        return checked

    def _initial_state(self, group: Group) -> dict[str, Any]:
        return {"square_avg": 0.0, "grad_avg": 0.0, "momentum_buffer": 0.0}

    def _update(self, group: Group, state: Buffers, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        """sq = alpha·sq + (1 - alpha)·g²; p -= lr·g / (√sq + eps) (and the variants above)."""
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        decay, momentum = group["weight_decay"], group["momentum"]
        if decay:
            g = g + decay * p
        state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * g * g
        if group["centered"]:
            state["grad_avg"] = alpha * state["grad_avg"] + (1 - alpha) * g
            # max(., 0): rounding can leave the variance a hair below 0 (docstring above).
            variance = state["square_avg"] - state["grad_avg"] ** 2
            denom = np.sqrt(np.maximum(variance, 0.0)) + eps
        else:
            denom = np.sqrt(state["square_avg"]) + eps
        if momentum:
            state["momentum_buffer"] = momentum * state["momentum_buffer"] + g / denom
            g = state["momentum_buffer"]
        else:
            g = g / denom
        new: np.ndarray = p - lr * g
        return new


class Adam(Optimizer):
    """Adam (PyTorch's ``torch.optim.Adam``): momentum and RMSprop together, with the running
    averages' start-up bias corrected.

    g = g + weight_decay·p           (L2 regularisation through the gradient)
    m = b1·m + (1 - b1)·g            v = b2·v + (1 - b2)·g²
    m_hat = m / (1 - b1^t)           v_hat = v / (1 - b2^t)
    p = p - lr·m_hat / (√v_hat + eps)

    eps must be > 0: with eps = 0 a gradient that has been 0 so far would divide 0 by 0
    (PyTorch accepts 0 and gives nan there); a ValueError says so when the optimiser is made.
    """

    betas = Setting()
    eps = Setting()
    weight_decay = Setting()
    settings = ("lr", "betas", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Value] | Iterable[Mapping[str, Any]],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _checked(self, settings: dict[str, Any]) -> dict[str, Any]:
        checked = super()._checked(settings)
        betas = settings["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        checked["betas"] = (
            _check("beta1", betas[0], 0.0, 1.0),
            _check("beta2", betas[1], 0.0, 1.0),
        )
        checked["eps"] = _eps(settings["eps"])
        checked["weight_decay"] = _check("weight_decay", settings["weight_decay"])
        return checked

    def _initial_state(self, group: Group) -> dict[str, Any]:
        return {"exp_avg": 0.0, "exp_avg_sq": 0.0}

    def _decayed(
        self, p: np.ndarray, g: np.ndarray, lr: float, decay: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Adam's weight decay is L2 through the gradient: g = g + weight_decay·p."""
        return p, g + decay * p if decay else g

    def _update(self, group: Group, state: Buffers, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        """m, v moving averages; p -= lr·m_hat / (√v_hat + eps)."""
        b1, b2 = group["betas"]
        correction1 = 1 - b1**self.steps
        correction2 = 1 - b2**self.steps
        lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
        p, g = self._decayed(p, g, lr, decay)
        state["exp_avg"] = m = b1 * state["exp_avg"] + (1 - b1) * g
        state["exp_avg_sq"] = v = b2 * state["exp_avg_sq"] + (1 - b2) * g * g
        new: np.ndarray = p - lr * (m / correction1) / (np.sqrt(v / correction2) + eps)
        return new


class AdamW(Adam):
    """AdamW (PyTorch's ``torch.optim.AdamW``): Adam with decoupled weight decay.

    p = p·(1 - lr·weight_decay)      (p -= lr·wd·p, before the Adam step; PyTorch's form)
    then Adam's step from the raw gradient g: m, v, m_hat, v_hat and p -= lr·m_hat / (√v_hat + eps)

    The decay shrinks every weight in proportion to itself, whatever its gradient's history;
    Adam's L2 term instead passes through √v_hat, so weights with large gradients are decayed
    less. The default weight_decay is 1e-2, as PyTorch's.
    """

    def __init__(
        self,
        params: Iterable[Value] | Iterable[Mapping[str, Any]],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _decayed(
        self, p: np.ndarray, g: np.ndarray, lr: float, decay: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decoupled weight decay: p = p·(1 - lr·weight_decay); the moments see the raw g."""
        return p * (1 - lr * decay) if decay else p, g


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}
"""Name -> optimiser class, for demos and tests that compare them side by side."""


def clip_grad_norm(
    params: Iterable[Value], max_norm: float, *, error_if_nonfinite: bool = False
) -> float:
    """Scale all gradients together so that their L2 norm is at most ``max_norm``.

    norm = √(Σ g²); every g = g·min(1, max_norm / (norm + 1e-6)), as PyTorch's
    ``clip_grad_norm_`` does (its small constant keeps the division finite). The direction of
    the gradient is kept. Returns the norm before clipping, to watch for exploding gradients.

    A nan gradient makes the norm nan, and, as in PyTorch, every gradient becomes nan (the
    scale max_norm / nan is nan): the next ``step()`` then warns that training diverged. An
    infinite one makes the norm inf and the scale 0. ``error_if_nonfinite=True`` raises a
    RuntimeError instead, naming the parameters, and leaves the gradients as they were.
    """
    max_norm = _check("max_norm", max_norm)
    params = _parameter_list(params, "clip_grad_norm")
    grads = [p.grad for p in params]
    # hypot sums the squares without overflow (gradients of 1e200 have a finite norm); a nan
    # anywhere makes the norm nan, as √(Σ g²) would, even next to an inf (IEEE's hypot says inf).
    norm = math.nan if any(math.isnan(g) for g in grads) else math.hypot(*grads)
    if not math.isfinite(norm) and error_if_nonfinite:
        bad = [p.label or f"params[{i}]" for i, p in enumerate(params) if not math.isfinite(p.grad)]
        raise RuntimeError(
            f"the gradients' norm is {norm}: non-finite gradient(s) in {', '.join(bad[:5])}"
            + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        )
    scale = max_norm / (norm + 1e-6)
    if scale < 1.0 or math.isnan(scale):
        for p in params:
            p.grad *= scale
    return norm
