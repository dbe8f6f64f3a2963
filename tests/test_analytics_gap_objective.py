"""Which objective a gap analysis explains, and the stage its components come from."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from workbook.analytics import gap_objective
from workbook.model import Objective
from workbook.store import new_workspace


def _conversion(ws: Path, a: str, b: str) -> float:
    """conversion:a:b by hand from the stage entries, in per cent."""
    entries = pq.read_table(ws / "data" / "derived" / "stage_entries.parquet").to_pylist()
    at_a = {e["contact_id"] for e in entries if e["stage"] == a}
    at_b = {e["contact_id"] for e in entries if e["stage"] == b}
    return 100 * len(at_a & at_b) / len(at_a)


def test_the_first_objective_that_misses_its_target(demo_copy: Path) -> None:
    found = gap_objective(demo_copy)
    assert found is not None
    # the demo's first objective: consideration -> purchase, target 12%
    assert found["id"] == "lift-purchase-conversion" and found["stage"] == "consideration"
    assert found["current"] is not None
    assert abs(found["current"] - _conversion(demo_copy, "consideration", "purchase")) < 1e-9
    assert found["current"] < found["target"] == 12.0
    chosen = gap_objective(demo_copy, "grow-referrals")
    assert chosen is not None and chosen["stage"] == "retention"


def test_without_data_only_a_chosen_objective(tmp_path: Path) -> None:
    ws = new_workspace("Acme", directory=tmp_path)
    ws.data.objectives = [
        Objective(id="a", title="A", metric="median-days:consideration", target=10),
        Objective(id="b", title="B", metric="reach:awareness", target=100),
    ]
    ws.save()
    assert gap_objective(ws.path) is None  # nothing measured: nothing misses its target
    a = gap_objective(ws.path, "a")
    assert a is not None and (a["stage"], a["current"]) == ("consideration", None)
    b = gap_objective(ws.path, "b")
    assert b is not None and b["stage"] is None  # reach is no component of a stage
