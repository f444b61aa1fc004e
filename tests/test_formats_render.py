"""Rows: the text of values, digits and keys laid out without a loop over rows, checked against
Python's own formatting and against hand-written text at the edges (signs of values that round to
zero, the largest value with one integer digit, the digit range)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from abaw.errors import AbawError
from abaw.formats import render


def lines(rows: render.Rows) -> list[str]:
    return rows.const(b"\n").render().decode().splitlines()


def test_float_text_matches_python_formatting():
    x = np.random.default_rng(1).uniform(-1, 1, 20000)
    x[:4] = [0.0, -0.0, -4e-7, 1.0]
    rows = lines(render.Rows(len(x)).floats(x, 6))
    for value, text in zip(x, rows, strict=True):
        py = f"{value:.6f}"
        if py == "-0.000000":
            py = "0.000000"                 # no sign on a zero
        assert text == py or abs(float(text) - float(py)) <= 1.01e-6


def test_float_text_at_the_edges():
    cases = [(0.0, "0.000000"), (-0.0, "0.000000"), (-4e-7, "0.000000"), (4e-7, "0.000000"),
             (-6e-7, "-0.000001"), (-1e-6, "-0.000001"), (1e-6, "0.000001"),
             (-1.0, "-1.000000"), (1.0, "1.000000"), (-0.5, "-0.500000"),
             (9.9999994, "9.999999"), (-9.9999994, "-9.999999")]
    x = np.array([v for v, _ in cases])
    assert lines(render.Rows(len(x)).floats(x, 6)) == [t for _, t in cases]


@pytest.mark.parametrize("value", [9.9999996, -10.0, 12.5])
def test_values_needing_two_integer_digits_are_refused(value):
    """9.9999996 rounds to 10.000000 at six decimals: one integer digit no longer holds it."""
    with pytest.raises(AbawError, match=re.escape(f"found {abs(value)}, expected |value| < 10")):
        render.Rows(2).floats(np.array([0.5, value]), 6)


@pytest.mark.parametrize("decimals,text", [(3, ["0.377", "-0.001"]),
                                           (9, ["0.376953125", "-0.000976562"])])
def test_fewest_and_most_decimals(decimals, text):
    x = np.array([0.376953125, -0.0009765625])     # exact in binary: no doubt about rounding
    assert lines(render.Rows(2).floats(x, render.decimals_ok(decimals))) == text


@pytest.mark.parametrize("decimals", [2, 10, 6.0, "6"])
def test_other_decimals_are_refused(decimals):
    with pytest.raises(AbawError, match="expected an integer in 3..9"):
        render.decimals_ok(decimals)


def test_digits_one_or_several_per_row():
    assert lines(render.Rows(3).digits(np.array([0, 9, 5]))) == ["0", "9", "5"]
    pairs = np.array([[1, 0], [0, 0], [9, 1]])
    assert lines(render.Rows(3).digits(pairs)) == ["1,0", "0,0", "9,1"]
    aus = np.array([[1, 0, 1], [0, 1, 1]])
    assert lines(render.Rows(2).digits(aus, sep=b";")) == ["1;0;1", "0;1;1"]


@pytest.mark.parametrize("values,found", [([3, 10], "3..10"), ([-1, 4], "-1..4"),
                                          ([-1, 12], "-1..12")])
def test_digits_outside_0_9_are_refused(values, found):
    """A class index or a 0/1 AU is written with one digit; the message gives the range."""
    with pytest.raises(AbawError, match=f"found {found}, expected digits 0-9"):
        render.Rows(2).digits(np.array(values))
