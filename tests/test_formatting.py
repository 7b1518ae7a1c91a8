"""The one number formatter: reprs, diagrams, captions and the command line all print with it."""

from __future__ import annotations

import math

import pytest

from tinygrad_edu import Value
from tinygrad_edu.formatting import format_number


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.70710678, "0.7071"),
        (-3.0, "-3.0000"),
        (0.0, "0.0000"),
        (-0.0, "0.0000"),  # never "-0.0000"
        (1.5e-9, "1.5000e-09"),  # fixed digits would print 0.0000 and hide it
        (3e12, "3.0000e+12"),  # and print 3000000000000.0000
        (999999999.0, "999999999.0000"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        (math.nan, "nan"),
    ],
)
def test_precision_digits_after_the_point_scientific_where_they_would_hide_it(
    x: float, text: str
) -> None:
    assert format_number(x) == text


def test_the_precision_is_the_digits_after_the_point() -> None:
    assert [format_number(5 / 3, p) for p in (0, 2, 6)] == ["2", "1.67", "1.666667"]
    assert format_number(0.004, 2) == "4.00e-03"  # below 10^-2: scientific


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.5, "0.5"),
        (-1.5, "-1.5"),
        (1.0, "1.0"),  # one zero kept: recognisably a float
        (0.70710678, "0.7071"),
        (715.0, "715.0"),
        (0.0, "0.0"),
        (-0.0, "0.0"),
        (1.5e-9, "1.5e-09"),
        (3e12, "3.0e+12"),
        (math.inf, "inf"),
    ],
)
def test_trim_drops_trailing_zeros_but_keeps_one(x: float, text: str) -> None:
    assert format_number(x, trim=True) == text


def test_a_values_repr_prints_its_numbers_with_it() -> None:
    assert repr(Value(0.70710678)) == "Value(data=0.7071, grad=0.0)"
    assert repr(Value(1e-8, label="tiny")) == "Value(data=1.0e-08, grad=0.0, label='tiny')"
    assert repr(Value(6.8813735870195432)) == "Value(data=6.8814, grad=0.0)"
