"""How the project prints a number: one formatter for reprs, diagrams, captions and the CLI.

>>> format_number(0.70710678)
'0.7071'
>>> format_number(0.5), format_number(0.5, trim=True)
('0.5000', '0.5')
>>> format_number(1.5e-9, trim=True), format_number(-0.0)
('1.5e-09', '0.0000')
"""

from __future__ import annotations

import math

__all__ = ["format_number"]


def format_number(x: float, precision: int = 4, *, trim: bool = False) -> str:
    """``x`` rounded to ``precision`` digits after the point: ``0.7071``, ``-3.0000``.

    Scientific notation where fixed digits would hide the number (|x| < 10^-precision, shown as
    ``1.5000e-09`` rather than ``0.0000``) or make it long (|x| >= 10^9: ``3.0000e+12``).
    ``-0.0`` prints as ``0``; ``inf``, ``-inf`` and ``nan`` as themselves. ``trim=True`` drops
    trailing zeros but keeps one digit after the point, so the text stays recognisably a float:
    ``0.5``, ``1.0``, ``715.0``, ``1.5e-09``.
    """
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == 0:
        x = 0.0  # no "-0.0000"
    scientific = x != 0 and (abs(x) >= 1e9 or abs(x) < 10.0**-precision)
    text = f"{x:.{precision}e}" if scientific else f"{x:.{precision}f}"
    if not trim:
        return text
    mantissa, _, exponent = text.partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0")
        mantissa += "0" if mantissa.endswith(".") else ""
    else:
        mantissa += ".0"  # precision=0
    return f"{mantissa}e{exponent}" if exponent else mantissa
