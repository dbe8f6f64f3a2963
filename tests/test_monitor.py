"""Validate: workbook monitor measures the KPIs after each import and says what moved (issue 17)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from workbook.cli import main
from workbook.crm.generate import generate, write_export
from workbook.crm.importer import import_file, read_manifest
from workbook.store import open_workspace, read_workspace

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


def _conversion(ws: Path, a: str, b: str) -> float:
    """Share of the contacts who entered ``a`` that also entered ``b``, by hand from the
    derived stage entries (an independent count of the metric conversion:a:b)."""
    entries = pq.read_table(ws / "data" / "derived" / "stage_entries.parquet").to_pylist()
    at_a = {e["contact_id"] for e in entries if e["stage"] == a}
    at_b = {e["contact_id"] for e in entries if e["stage"] == b}
    return 100 * len(at_a & at_b) / len(at_a)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    dest = tmp_path / "client"
    # the demo keeps a measurement of its own and a 5% threshold: this test starts from none
    shutil.copytree(DEMO, dest, ignore=shutil.ignore_patterns("reports", "kpi-history.json"))
    demo = open_workspace(dest)
    demo.data.validation.threshold = None
    demo.save()
    return dest


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["monitor", *args])
    return result.exit_code, result.output


def test_monitor_says_what_moved_after_an_import_and_exits_1(ws: Path, tmp_path: Path) -> None:
    code, out = _run(str(ws))
    assert code == 0 and "first measurement" in out
    code, out = _run(str(ws))
    assert code == 0 and "no import since the first measurement" in out
    before = _conversion(ws, "consideration", "purchase")

    # a changed import of the same source: another history of the client, in which the weak
    # step planted in the demo's history has been fixed
    (sid,) = read_manifest(ws)["sources"]
    sample = generate(read_workspace(ws), contacts=4000, seed=99, currency="GBP")
    export = write_export(sample, "generic", tmp_path / "x", filename="tideway-crm-events.csv")
    assert import_file(ws, export).source_id == sid
    after = _conversion(ws, "consideration", "purchase")
    assert abs(after - before) >= 0.1 * before  # fixing the weak step moves it

    code, out = _run(str(ws))
    assert code == 1
    line = next(x for x in out.splitlines() if "Consideration to purchase conversion" in x)
    assert f"{before:.1f}% -> {after:.1f}%" in line
    assert out.splitlines()[0].startswith(f"{out.count(chr(10)) - 1} KPIs moved by 10% or more")
    # run again on the same data: the same comparison, nothing new recorded
    code, again = _run(str(ws))
    assert code == 1 and again == out
    history = json.loads((ws / "data" / "kpi-history.json").read_text(encoding="utf-8"))
    assert len(history) == 2
    assert not any(c in json.dumps(history) for c in ("@", "contact_id"))  # numbers only
    # a threshold nothing reaches: exit 0
    code, out = _run(str(ws), "--threshold", "5")
    assert code == 0 and "no KPI moved by 500% or more" in out


def test_monitor_of_a_folder_that_is_no_workspace_is_one_line(tmp_path: Path) -> None:
    code, out = _run(str(tmp_path))
    assert code != 0 and "Traceback" not in out and "workspace.yaml" in out
