"""`workbook demo-data` and `workbook import`, driven in process."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from workbook.cli import main
from workbook.crm.demo import demo_without_data
from workbook.store import open_workspace

ROOT = Path(__file__).resolve().parent.parent


def test_demo_data_then_import(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "exports"
    res = runner.invoke(
        main,
        [
            "demo-data",
            "--contacts",
            "200",
            "--seed",
            "4",
            "--format",
            "hubspot",
            "--format",
            "generic",
            "-w",
            str(ROOT / "data" / "demo"),
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["events.csv", "hubspot-contacts.csv"]
    ws = tmp_path / "client"
    ws.mkdir()
    demo_without_data(ws, ROOT / "data" / "demo")
    res = runner.invoke(main, ["import", str(ws), str(out / "events.csv"), "--currency", "GBP"])
    assert res.exit_code == 0, res.output
    assert "imported as 'generic-events'" in res.output
    assert "rows read" in res.output
    res = runner.invoke(main, ["import", str(ws), str(out / "events.csv")])
    assert res.exit_code == 0 and "already imported" in res.output
    assert [d.id for d in open_workspace(ws).data.data_sources] == ["generic-events"]


def test_import_errors_are_one_line_each(tmp_path: Path) -> None:
    ws = tmp_path / "client"
    ws.mkdir()
    demo_without_data(ws, ROOT / "data" / "demo")
    bad = tmp_path / "hubspot.csv"
    bad.write_text("Record ID,Became a Lead Date\n1,2025-01-01\n2,later\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["import", str(ws), str(bad)])
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    assert "error: hubspot.csv: not imported" in res.output
    assert "hubspot.csv, row 2, column 'Became a Lead Date': cannot read the date" in res.output
    assert not (ws / "data").exists()


def test_demo_data_works_outside_the_repo(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(
        main, ["demo-data", "--contacts", "50", "--format", "pipedrive", "-o", "x"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "x" / "pipedrive-deals.csv").exists()


def test_demo_data_ends_on_the_day_the_export_is_taken(tmp_path: Path) -> None:
    import pandas as pd

    runner = CliRunner()

    def span(*args: str) -> tuple[str, str]:
        out = tmp_path / "x"
        result = runner.invoke(main, ["demo-data", "--contacts", "200", "--format", "generic",
                                      "-o", str(out), *args])  # fmt: skip
        assert result.exit_code == 0, result.output
        stamps = pd.read_csv(out / "events.csv").timestamp
        return stamps.min(), stamps.max()

    # by default the demo client's export: its evening of 31 October 2026, fourteen months
    first, last = span()
    assert last == "2026-10-31T18:00:00Z" and "2025-09-01" <= first[:10] < "2025-09-10"
    first, last = span("--end", "2026-03-31", "--days", "30")
    assert last == "2026-03-31T18:00:00Z" and first >= "2026-03-01"
    bad = runner.invoke(main, ["demo-data", "--end", "31/03/2026", "-o", str(tmp_path)])
    assert bad.exit_code == 2 and "--end" in bad.output and "Traceback" not in bad.output


def test_public_names_of_workbook_crm() -> None:
    import workbook.crm as crm

    for name in crm.__all__:
        assert callable(getattr(crm, name)), name


def test_several_files_are_imported_in_turn_and_a_bad_one_stops_the_run(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "exports"
    res = runner.invoke(
        main,
        ["demo-data", "--contacts", "150", "--format", "hubspot", "--format", "generic"]
        + ["-w", str(ROOT / "data" / "demo"), "-o", str(out)],
    )
    assert res.exit_code == 0, res.output
    bad = tmp_path / "hubspot-late.csv"
    bad.write_text("Record ID,Became a Lead Date\n1,2025-01-01\n2,later\n", encoding="utf-8")
    ws = tmp_path / "client"
    ws.mkdir()
    demo_without_data(ws, ROOT / "data" / "demo")

    hub, events = str(out / "hubspot-contacts.csv"), str(out / "events.csv")
    res = runner.invoke(main, ["import", str(ws), hub, str(bad), events])
    assert res.exit_code == 1
    assert "imported as 'hubspot-contacts'" in res.output  # the first file, before the bad one
    assert "error: hubspot-late.csv: not imported" in res.output
    assert "imported before it: hubspot-contacts.csv; not tried: events.csv" in res.output
    assert [d.id for d in open_workspace(ws).data.data_sources] == ["hubspot-contacts"]

    res = runner.invoke(main, ["import", str(ws), hub, events])
    assert res.exit_code == 0, res.output
    assert "already imported" in res.output and "imported as 'generic-events'" in res.output
    assert [d.id for d in open_workspace(ws).data.data_sources] == [
        "hubspot-contacts",
        "generic-events",
    ]

    res = runner.invoke(main, ["import", str(ws), hub, events, "--as", "crm"])
    assert res.exit_code == 2 and "--as names one source" in res.output
