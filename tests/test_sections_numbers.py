"""How the report's tables write their numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workbook.sections import _Col, report_context, table

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.0, "0.0"),
        (12.345, "12.3"),
        (1234.5, "1,234.5"),
        (0.06, "0.1"),  # one decimal above 0.05, as before
        (0.05, "0.05"),  # which one decimal would round (half to even) to 0.0
        (0.049, "0.05"),
        (0.0003, "0.0003"),  # a lead score faded by its half-life: not "0.0"
        (-0.002, "-0.002"),
        (0.00000012, "0.0"),  # below a millionth: zero for a reader
    ],
)
def test_a_small_number_is_not_shown_as_zero(value: float, shown: str) -> None:
    ctx = report_context(DEMO, sections=["summary"])
    html = table(ctx, [{"x": value}], [_Col("x", "X", "float")])
    cells = re.findall(r"<td[^>]*>\s*([^<]*?)\s*</td>", html)
    assert cells == [shown]
