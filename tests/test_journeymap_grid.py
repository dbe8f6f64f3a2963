"""The journey map as a spreadsheet: a row per lane, a column per stage (issue 17)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from workbook.cli import main
from workbook.journeymap import build_layout, map_table
from workbook.store import open_workspace

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
AMARA = "amara-time-poor-londoner"


def test_the_grid_holds_every_lane_and_stage_as_the_map_shows_them() -> None:
    ws = open_workspace(DEMO)
    layout = build_layout(ws, AMARA)
    grid = map_table(layout)
    assert list(grid.columns) == [s.name for s in ws.data.stages]
    assert list(grid.index)[: len(layout.lanes)] == [lane.title for lane in layout.lanes]
    journey = next(j for j in ws.data.journeys if j.persona == AMARA and not j.icp)
    first = ws.data.stages[0]
    typed = journey.stages[first.id].actions
    assert typed and all(t in grid.loc["Customer actions", first.name] for t in typed)
    emotion = journey.stages[first.id].emotion
    assert grid.loc["Emotion (-2 to +2)", first.name] == emotion  # a number, to chart


def test_xlsx_and_csv_open_with_their_readers_and_carry_no_formula(tmp_path: Path) -> None:
    ws_dir = tmp_path / "client"
    shutil.copytree(DEMO, ws_dir, ignore=shutil.ignore_patterns("reports"))
    ws = open_workspace(ws_dir)
    journey = next(j for j in ws.data.journeys if j.persona == AMARA and not j.icp)
    stage = ws.data.stages[0].id
    journey.stages[stage].actions = ['=HYPERLINK("http://example.invalid","x")', "+SUM(1)"]
    assert journey.to_be is not None  # the demo's desired journey: its rows follow
    journey.to_be[stage].actions = ["@SUM(1)"]
    ws.save()
    result = CliRunner().invoke(
        main, ["map", str(ws_dir), "-p", AMARA, "-o", str(tmp_path / "amara.xlsx")]
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "amara.xlsx")
    sheet = book["As-is and to-be map"]
    assert "Amara" in str(sheet["A1"].value)
    header = [c.value for c in sheet[3]]
    assert header == ["Lane", *[s.name for s in ws.data.stages]]
    actions = next(r for r in sheet.iter_rows(min_row=4) if r[0].value == "Customer actions")
    cell = actions[1]
    assert cell.data_type == "s" and cell.value.startswith("'=HYPERLINK")
    to_be = next(r for r in sheet.iter_rows(min_row=4) if r[0].value == "To-be: Customer actions")
    assert to_be[1].data_type == "s" and to_be[1].value == "'@SUM(1)"
    assert not any(
        c.data_type == "f" for row in sheet.iter_rows() for c in row
    )  # no formula anywhere
    result = CliRunner().invoke(
        main, ["map", str(ws_dir), "-p", AMARA, "-o", str(tmp_path / "amara.csv")]
    )
    assert result.exit_code == 0, result.output
    with (tmp_path / "amara.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][0] == "Lane" and rows[1][0] == "Customer actions"

    def number(text: str) -> bool:
        try:
            float(text)
        except ValueError:
            return False
        return True

    cells = [c for row in rows for c in row if not number(c)]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert any(c.startswith("'=HYPERLINK") for c in cells)
