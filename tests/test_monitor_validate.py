"""Validate: the threshold the consultant keeps in the workspace, and the cycle phase each
moved KPI points back to (issue 17). Measurements are written by hand into the history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbook.cli import main
from workbook.model import KPI, Objective
from workbook.monitor import HISTORY_FILE, Move, monitor, revisit, threshold_of
from workbook.store import OpenWorkspace, new_workspace


def _values(conv: float, days: float) -> dict[str, dict[str, object]]:
    return {
        "objective:convert": {
            "kind": "objective",
            "name": "Convert",
            "metric": "conversion:a:b",
            "unit": "%",
            "value": conv,
        },
        "kpi:days": {
            "kind": "kpi",
            "name": "Days to buy",
            "metric": "time-to-close-days",
            "unit": "days",
            "value": days,
        },
    }


@pytest.fixture
def ws(tmp_path: Path) -> OpenWorkspace:
    w = new_workspace("Acme", directory=tmp_path)
    w.data.objectives = [Objective(id="convert", title="Convert", baseline=8, target=12)]
    w.data.measurement.kpis = [KPI(id="days", name="Days to buy", baseline=41, target=28)]
    w.save()
    # two measurements of the same (empty) data: conversion 10 -> 10.6 (+6%), days 40 -> 44
    # (+10%); the last one is of the data as it is now, so nothing is measured again
    history = [
        {"at": "2026-11-03T10:00:00+00:00", "data": {}, "values": _values(10.0, 40.0)},
        {"at": "2026-12-01T10:00:00+00:00", "data": {}, "values": _values(10.6, 44.0)},
    ]
    (w.path / "data").mkdir(exist_ok=True)
    (w.path / "data" / HISTORY_FILE).write_text(json.dumps(history), encoding="utf-8")
    return w


def test_the_workspace_threshold_is_used_and_the_option_overrides_it(ws: OpenWorkspace) -> None:
    assert threshold_of(ws.path) == 0.10  # nothing set: the default
    assert [m.id for m in monitor(ws.path, record=False).moves] == ["days"]
    ws.data.validation.threshold = 0.05
    ws.save()
    assert threshold_of(ws.path) == 0.05
    assert [m.id for m in monitor(ws.path, record=False).moves] == ["days", "convert"]
    assert [m.id for m in monitor(ws.path, threshold=0.5, record=False).moves] == []
    runner = CliRunner()
    result = runner.invoke(main, ["monitor", str(ws.path), "--no-record"])
    assert result.exit_code == 1 and "moved by 5% or more" in result.output
    result = runner.invoke(main, ["monitor", str(ws.path), "--no-record", "--threshold", "0.2"])
    assert result.exit_code == 0 and "no KPI moved by 20% or more" in result.output


def _move(kind: str, id_: str, before: float, after: float) -> Move:
    return Move(id_, kind, id_, "", "", before, after)


def test_each_move_points_back_to_a_phase(ws: OpenWorkspace) -> None:
    d = ws.data
    d.objectives.append(Objective(id="no-target", title="No target"))
    # conversion: up is better (8 -> 12)
    assert revisit(_move("objective", "convert", 10, 9), d).phase == "analyse"
    assert revisit(_move("objective", "convert", 10, 11), d).phase == "validate"
    assert revisit(_move("objective", "convert", 10, 12), d).phase == "design"
    # days to buy: down is better (41 -> 28)
    assert revisit(_move("kpi", "days", 40, 44), d).phase == "analyse"
    assert revisit(_move("kpi", "days", 40, 30), d).phase == "validate"
    assert revisit(_move("kpi", "days", 40, 27), d).phase == "design"
    unknown = revisit(_move("objective", "no-target", 1, 2), d)
    assert (unknown.phase, unknown.direction) == ("measure", "unknown")
    # an item since removed from the workspace: no target to tell
    assert revisit(_move("kpi", "gone", 1, 2), d).phase == "measure"
