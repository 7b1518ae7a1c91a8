"""Plain numbers: the one definition of "a number" the whole library uses.

A Value stores its data as a Python float (never a numpy scalar: those are slower in the hot
loops and would leak into results). What may come in is wider: ints, bools and numpy's real
scalars too. ``is_number`` says what counts, ``to_float`` converts it, with a TypeError naming
anything else.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

import numpy as np

__all__ = ["Number", "is_number", "to_float"]

Number = float | int | bool | np.integer[Any] | np.floating[Any] | np.bool_
"""What counts as a plain number: int, float, bool and numpy's real scalar types."""

_REAL = (int, float, np.integer, np.floating, np.bool_)


def is_number(x: object) -> TypeGuard[Number]:
    """True for a plain real number: int, float, bool, or a numpy integer, floating or bool
    scalar (``np.float32(0.5)``, ``np.int64(3)``, ``np.bool_(True)``).

    Not a Value, a complex number, a string, an array (even of one element), None, or a numpy
    timedelta (an integer subclass that is a duration, not a number). Infinity and nan are
    numbers; check ``math.isfinite`` where only finite ones make sense.
    """
    return isinstance(x, _REAL) and not isinstance(x, np.timedelta64)


def to_float(x: object) -> float:
    """A plain number (see :func:`is_number`) as a Python float.

    Anything else is a TypeError naming its type. An integer beyond the largest float
    (about 1.8e308) is an OverflowError that gives its size, not all of its digits.
    """
    if not is_number(x):
        raise TypeError(
            f"expected a real number (int, float, bool or numpy scalar), not {type(x).__name__}"
        )
    try:
        return float(x)
    except OverflowError:
        size = math.log10(abs(int(x)))  # math.log10 takes integers of any size
        raise OverflowError(
            f"an integer of about 10**{size:.0f} is too large for a float "
            "(the largest is about 1.8e308)"
        ) from None
