"""tinygrad-edu: a scalar automatic-differentiation engine whose computation graphs you can see.

>>> from tinygrad_edu import Value
>>> x = Value(2.0, label="x")
>>> y = x * x + 3 * x
>>> y.backward()
>>> x.grad          # dy/dx = 2x + 3
7.0
"""

from . import data, functional, nn, optim
from .compile import compile
from .define import define_op
from .engine import (
    BackwardStep,
    Parameter,
    Value,
    backward_steps,
    grad,
    local_derivatives,
    topological_order,
)
from .explain import Explanation, explain
from .gradcheck import GradCheck, check_grad, numerical_grad
from .hooks import draw, guard, observe
from .ops import OPS
from .recording import Scope, current_scope, is_grad_enabled, no_grad, scope

__all__ = [
    "Value",
    "Parameter",
    "scope",
    "Scope",
    "current_scope",
    "define_op",
    "draw",
    "observe",
    "guard",
    "grad",
    "backward_steps",
    "BackwardStep",
    "explain",
    "Explanation",
    "no_grad",
    "is_grad_enabled",
    "topological_order",
    "local_derivatives",
    "compile",
    "numerical_grad",
    "check_grad",
    "GradCheck",
    "OPS",
    "nn",
    "functional",
    "optim",
    "data",
]

__version__ = "0.1.0"
