"""Many Values' numbers as one array, and back.

The optimisers and the compiled replay work on arrays, one entry per parameter, while each
parameter stays a Value whose ``data`` and ``grad`` are the truth at every moment. These three
functions are the only crossing between the two: read every Value's number into an array, or
write an array's numbers into the Values. Each is one pass of Python over the Values (the part
numpy cannot do); the rest of a step is a few numpy calls however many parameters there are.

Why ``struct``: it turns a list of floats into bytes about twice as fast as numpy converts the
list (``benchmarks/optimizers.py`` measures a step of each optimiser on 40,000 parameters).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from .engine import Value

__all__ = ["read_data", "read_grads", "write_data"]


@lru_cache(maxsize=64)
def _packer(n: int) -> Callable[..., bytes]:
    """Packs n floats as native doubles, one after the other."""
    return struct.Struct(f"={n}d").pack


def read_data(values: Sequence[Value]) -> np.ndarray:
    """[v.data for v in values] as a float64 array (of its own: writable)."""
    return np.frombuffer(bytearray(_packer(len(values))(*[v.data for v in values])))


def read_grads(values: Sequence[Value]) -> np.ndarray:
    """[v.grad for v in values] as a float64 array (of its own: writable)."""
    return np.frombuffer(bytearray(_packer(len(values))(*[v.grad for v in values])))


def write_data(values: Sequence[Value], numbers: np.ndarray) -> None:
    """v.data = numbers[i] for the i-th Value, as a Python float."""
    for v, x in zip(values, numbers.tolist()):
        v.data = x
