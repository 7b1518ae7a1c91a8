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

Below, p is a parameter's value, g its gradient, lr the learning rate and t the step count
(1 on the first step). Each optimiser keeps its per-parameter state in lists aligned with
``params`` (momentum buffers, running averages), as floats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .engine import Value

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "clip_grad_norm", "OPTIMIZERS"]


def _check(name: str, x: float, low: float = 0.0, high: float | None = None) -> None:
    """x must be a real number in [low, high) (or [low, inf) when ``high`` is None)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(x):
        raise ValueError(f"{name} must be a number, got {x!r}")
    if x < low or (high is not None and x >= high) or math.isinf(x):
        upper = "inf)" if high is None else f"{high})"
        raise ValueError(f"invalid {name}: {x!r} (must be in [{low}, {upper})")


class Optimizer:
    """What every optimiser shares: the parameter list, ``zero_grad()`` and the step count."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimiser got an empty parameter list")
        for p in self.params:
            if not isinstance(p, Value):
                raise TypeError(f"the optimiser's parameters are Values, not {type(p).__name__}")
        if len(set(self.params)) != len(self.params):
            raise ValueError("a parameter appears more than once in the list")
        _check("learning rate", lr)
        self.lr = float(lr)
        self.steps = 0

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter from its gradient (each optimiser's own rule)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if _is_setting(k, v))
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"


def _is_setting(name: str, value: object) -> bool:
    return name not in ("params", "steps") and not isinstance(value, list)


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (PyTorch's ``torch.optim.SGD``).

    g = g + weight_decay·p
    with momentum: buf = g on the first step, then buf = momentum·buf + g;
                   g = g + momentum·buf (nesterov) or g = buf
    p = p - lr·g
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        _check("momentum", momentum)
        _check("weight_decay", weight_decay)
        if nesterov and momentum == 0:
            raise ValueError("nesterov momentum needs momentum > 0")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)
        self.buffers: list[float | None] = [None] * len(self.params)

    def step(self) -> None:
        """p -= lr·g, with weight decay and momentum as in the class docstring."""
        self.steps += 1
        lr, momentum, decay = self.lr, self.momentum, self.weight_decay
        for i, p in enumerate(self.params):
            g = p.grad
            if decay:
                g = g + decay * p.data
            if momentum:
                previous = self.buffers[i]
                buf = g if previous is None else momentum * previous + g
                self.buffers[i] = buf
                g = g + momentum * buf if self.nesterov else buf
            p.data -= lr * g


class Adagrad(Optimizer):
    """Adagrad (PyTorch's ``torch.optim.Adagrad``): a step size per parameter that shrinks as
    that parameter's squared gradients add up.

    g = g + weight_decay·p
    clr = lr / (1 + (t - 1)·lr_decay)
    sum = sum + g²                                   (sum starts at initial_accumulator_value)
    p = p - clr·g / (√sum + eps)
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.01,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(params, lr)
        _check("lr_decay", lr_decay)
        _check("weight_decay", weight_decay)
        _check("initial_accumulator_value", initial_accumulator_value)
        _check("eps", eps)
        self.lr_decay = float(lr_decay)
        self.weight_decay = float(weight_decay)
        self.eps = float(eps)
        self.sums = [float(initial_accumulator_value)] * len(self.params)

    def step(self) -> None:
        """sum += g²; p -= clr·g / (√sum + eps)."""
        self.steps += 1
        clr = self.lr / (1 + (self.steps - 1) * self.lr_decay)
        decay, eps = self.weight_decay, self.eps
        for i, p in enumerate(self.params):
            g = p.grad
            if decay:
                g = g + decay * p.data
            self.sums[i] += g * g
            p.data -= clr * g / (math.sqrt(self.sums[i]) + eps)


class RMSprop(Optimizer):
    """RMSprop (PyTorch's ``torch.optim.RMSprop``): Adagrad with a leaky sum, so old gradients
    are forgotten.

    g = g + weight_decay·p
    sq = alpha·sq + (1 - alpha)·g²
    centered: avg_g = alpha·avg_g + (1 - alpha)·g; denom = √(sq - avg_g²) + eps
    otherwise: denom = √sq + eps
    with momentum: buf = momentum·buf + g / denom; p = p - lr·buf
    otherwise:     p = p - lr·g / denom
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(params, lr)
        _check("alpha", alpha)
        _check("eps", eps)
        _check("weight_decay", weight_decay)
        _check("momentum", momentum)
        self.alpha = float(alpha)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.momentum = float(momentum)
        self.centered = bool(centered)
        self.squares = [0.0] * len(self.params)
        self.averages = [0.0] * len(self.params)
        self.buffers = [0.0] * len(self.params)

    def step(self) -> None:
        """sq = alpha·sq + (1 - alpha)·g²; p -= lr·g / (√sq + eps) (and the variants above)."""
        self.steps += 1
        lr, alpha, eps, decay = self.lr, self.alpha, self.eps, self.weight_decay
        for i, p in enumerate(self.params):
            g = p.grad
            if decay:
                g = g + decay * p.data
            self.squares[i] = alpha * self.squares[i] + (1 - alpha) * g * g
            if self.centered:
                self.averages[i] = alpha * self.averages[i] + (1 - alpha) * g
                denom = math.sqrt(self.squares[i] - self.averages[i] ** 2) + eps
            else:
                denom = math.sqrt(self.squares[i]) + eps
            if self.momentum:
                self.buffers[i] = self.momentum * self.buffers[i] + g / denom
                p.data -= lr * self.buffers[i]
            else:
                p.data -= lr * g / denom


class Adam(Optimizer):
    """Adam (PyTorch's ``torch.optim.Adam``): momentum and RMSprop together, with the running
    averages' start-up bias corrected.

    g = g + weight_decay·p
    m = b1·m + (1 - b1)·g            v = b2·v + (1 - b2)·g²
    m_hat = m / (1 - b1^t)           v_hat = v / (1 - b2^t)
    p = p - lr·m_hat / (√v_hat + eps)
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        _check("beta1", betas[0], 0.0, 1.0)
        _check("beta2", betas[1], 0.0, 1.0)
        _check("eps", eps)
        _check("weight_decay", weight_decay)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def step(self) -> None:
        """m, v moving averages; p -= lr·m_hat / (√v_hat + eps)."""
        self.steps += 1
        b1, b2 = self.betas
        correction1 = 1 - b1**self.steps
        correction2 = 1 - b2**self.steps
        lr, eps, decay = self.lr, self.eps, self.weight_decay
        for i, p in enumerate(self.params):
            g = p.grad
            if decay:
                g = g + decay * p.data
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            m_hat = self.m[i] / correction1
            v_hat = self.v[i] / correction2
            p.data -= lr * m_hat / (math.sqrt(v_hat) + eps)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}
"""Name -> optimiser class, for demos and tests that compare them side by side."""


def clip_grad_norm(params: Iterable[Value], max_norm: float) -> float:
    """Scale all gradients together so that their L2 norm is at most ``max_norm``.

    norm = √(Σ g²); every g = g·min(1, max_norm / (norm + 1e-6)), as PyTorch's
    ``clip_grad_norm_`` does (its small constant keeps the division finite). The direction of
    the gradient is kept. Returns the norm before clipping, to watch for exploding gradients.
    """
    _check("max_norm", max_norm)
    params = list(params)
    norm = math.sqrt(sum(p.grad * p.grad for p in params))
    scale = max_norm / (norm + 1e-6)
    if scale < 1.0:
        for p in params:
            p.grad *= scale
    return norm
