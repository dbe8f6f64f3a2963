"""The numbers behind a report's charts and tables: ``workbook report --data`` and the link
in the appendix (an XLSX workbook embedded as a ``data:`` URI)."""

from __future__ import annotations

import base64
import csv
import io
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook

from workbook import sections
from workbook.cli import main
from workbook.exports import sheet_names, write_data, xlsx_bytes

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
HOSTILE = '=HYPERLINK("http://x","y")'
OWNER = "@SUM(1+1)"


def _cells(book: Any) -> list[Any]:
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


# ------------------------------------------------------------------------------ the writer


def test_sheet_names_follow_excels_rules() -> None:
    names = sheet_names(
        [
            "Appendix: the data",
            "What/why [draft]*?",
            "A heading far longer than thirty-one characters",
            "A heading far longer than thirty-one characters, again",
            "funnel",
            "Funnel",
            "history",
            "''",
        ]
    )
    assert names[0] == "Appendix - the data"
    assert not any(set(n) & set("[]:*?/\\") for n in names)
    assert all(0 < len(n) <= 31 for n in names)
    assert len({n.lower() for n in names}) == len(names)
    assert names[3].endswith("(2)") and names[5] == "Funnel (2)"
    assert names[6] != "history" and names[7] == "Table"


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "Touchpoint": [HOSTILE, "+1", "-x", "@y", "\tz", "\rw", "plain"],
            "Contacts": [1, 2, -3, 4, 5, 6, 7],
        }
    )
    data = xlsx_bytes([("Touchpoints", frame)])
    book = load_workbook(io.BytesIO(data))
    assert not [c.coordinate for c in _cells(book) if c.data_type == "f"]
    values = [row[0] for row in book["Touchpoints"].iter_rows(min_row=2, values_only=True)]
    assert values == ["'" + HOSTILE, "+1", "'-x", "'@y", "'\tz", "'\rw", "plain"]
    numbers = [row[1] for row in book["Touchpoints"].iter_rows(min_row=2, values_only=True)]
    assert numbers == [1, 2, -3, 4, 5, 6, 7]  # a negative number stays a number

    written = write_data(data, tmp_path / "n.xlsx", tmp_path / "n")
    assert written == [tmp_path / "n.xlsx", tmp_path / "n" / "01-touchpoints.csv"]
    with written[1].open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Touchpoint", "Contacts"] and rows[1] == ["'" + HOSTILE, "1"]


def test_a_second_write_removes_csv_files_of_tables_gone(tmp_path: Path) -> None:
    one = pd.DataFrame({"Contacts": [1]})
    write_data(xlsx_bytes([("A", one), ("B", one)]), tmp_path / "d.xlsx", tmp_path / "d")
    write_data(xlsx_bytes([("A", one)]), tmp_path / "d.xlsx", tmp_path / "d")
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["01-a.csv"]


def _workspace(**extra: Any) -> Any:
    from workbook.model import Client, Objective, Workspace

    return Workspace(
        client=Client(name="Northwind", slug="northwind", engagement="Journey review"),
        **extra,
        objectives=[
            Objective(
                id="conv", title=HOSTILE, kpi="Demo to trial", unit="%", baseline=18, target=25
            )
        ],
    )


def test_a_workspace_without_crm_data_still_links_its_tables() -> None:
    """No CRM import: the appendix keeps its polite note and links the workshop's tables."""
    ctx = sections.report_context(_workspace(), report_date="2026-03-01")
    sections.render_section("objectives", ctx)
    html = str(sections.render_section("appendix", ctx))
    assert "No CRM export has been imported" in html
    link = _Link()
    link.feed(html)
    assert link.attrs is not None and link.attrs["download"] == "northwind-report-data.xlsx"
    book = load_workbook(io.BytesIO(base64.b64decode(str(link.attrs["href"]).split(",", 1)[1])))
    assert book.sheetnames == ["Objectives and KPIs"]
    row = next(book["Objectives and KPIs"].iter_rows(min_row=2, values_only=True))
    assert row[:5] == ("'" + HOSTILE, None, "%", 18, 25)
    assert not [c for c in _cells(book) if c.data_type == "f"]


def test_an_empty_workspace_gets_the_note_and_no_link() -> None:
    from workbook.model import Client, Workspace

    ws = Workspace(client=Client(name="Empty", slug="empty", engagement="Journey review"))
    ctx = sections.report_context(ws, report_date="2026-03-01")
    for sid in sections.names():
        sections.render_section(sid, ctx)
    html = str(sections.render_section("appendix", ctx))
    assert "No CRM export has been imported" in html and "wb-report-data" not in html
    assert ctx.tables == []


def test_a_killed_runs_data_temporaries_are_cleaned(tmp_path: Path) -> None:
    from workbook.report import clean_leftovers, report_outputs

    outputs = report_outputs(tmp_path, "acme")
    outputs.data_folder.mkdir(parents=True)
    stale = [
        outputs.data_folder / ".01-funnel-and-flow.csv.k2j3.tmp",
        outputs.data.with_name(f".{outputs.data.name}.x1y2.tmp"),
    ]
    kept = outputs.data_folder / "01-funnel-and-flow.csv"
    for path in [*stale, kept]:
        path.write_text("x", encoding="utf-8")
    assert sorted(clean_leftovers(outputs)) == sorted(stale)
    assert kept.is_file() and not any(p.exists() for p in stale)


# --------------------------------------------------------------------------- the pipeline


class _Link(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a" and dict(attrs).get("id") == "wb-report-data":
            self.attrs = dict(attrs)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The demo with a hostile touchpoint name and objective owner, rendered with --data."""
    ws = tmp_path_factory.mktemp("data") / "demo"
    shutil.copytree(DEMO, ws, ignore=shutil.ignore_patterns("reports", "*.lock"))
    doc = yaml.safe_load((ws / "workspace.yaml").read_text(encoding="utf-8"))
    doc["touchpoints"][0]["name"] = HOSTILE
    doc["objectives"][0]["owner"] = OWNER
    (ws / "workspace.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    res = CliRunner().invoke(main, ["report", str(ws), "--data", "--date", "2026-12-01"])
    assert res.exit_code == 0, res.output
    return ws, res


@pytest.mark.kernel
@pytest.mark.slow
def test_report_data_writes_xlsx_and_csv(rendered: tuple[Path, Any]) -> None:
    ws, res = rendered
    reports = ws / "reports"
    xlsx = reports / "tideway-rowing-report-data.xlsx"
    folder = reports / "tideway-rowing-report-data"
    assert str(xlsx) in res.output and xlsx.is_file()
    book = load_workbook(xlsx)
    names = book.sheetnames
    # one sheet per chart or table, named as the report's headings
    assert names == [
        "Executive summary",
        "Objectives and KPIs",
        "OKRs and to-dos",
        "OKRs and to-dos (to-dos)",
        "Segments and ICPs (segments)",
        "Segments and ICPs (ICP answers)",
        "Value proposition",
        "Journey maps",
        "Funnel and flow",
        "Funnel and flow (moves)",
        "Time in stage",
        "Touchpoint performance (use)",
        "Touchpoint performance (lift)",
        "Channels and reach",
        "Channels and reach (personas)",
        "Attribution of won deals",
        "Won deals by ICP (profiles)",
        "Won deals by ICP",
        "Won deals by ICP (touchpoints)",
        "Won deals by ICP (content)",
        "Won deals by ICP (lead sources)",
        "Won deals by ICP (lost reasons)",
        "Lead scoring (rules)",
        "Lead scoring (separation)",
        "Lead scoring (deciles)",
        "Experiments and decisions",
        "Key processes",
        "Gaps - go wide, go deep (wide)",
        "Gaps - go wide, go deep (deep)",
        "The desired journey (emotion)",
        "The desired journey (changes)",
        "From opportunity to metric",
        "Campaign control sheet (SEO)",
        "Campaign control sheet (plan)",
        "Campaign control sheet (posts)",
        "Campaign control sheet (mix)",
        "Launch checklist",
        "What moved since last time",
        "Appendix - the data",
    ]
    html = (reports / "tideway-rowing-report.html").read_text(encoding="utf-8")
    for name in names:
        heading = sections.get(
            {
                "Executive": "summary",
                "Objectives": "objectives",
                "Journey": "journeys",
                "Funnel": "funnel",
                "Time": "timing",
                "Touchpoint": "touchpoints",
                "Attribution": "attribution",
                "Experiments": "experiments",
                "Appendix": "appendix",
                "OKRs": "okrs",
                "Segments": "segments",
                "Value": "value",
                "Channels": "channels",
                "Won": "wins",
                "Lead": "scoring",
                "Key": "processes",
                "The": "to-be",
                "From": "chain",
                "Gaps": "gaps",
                "Campaign": "campaign",
                "Launch": "launch",
                "What": "moved",
            }[name.split()[0]]
        ).title
        assert f"{heading}</h2>" in html
        assert name.startswith(heading.replace(":", " -"))
    # units in the headers
    header = {name: [c.value for c in book[name][1]] for name in names}
    assert header["Funnel and flow"][:3] == [
        "Stage",
        "Ever reached (contacts)",
        "Of first stage (%)",
    ]
    assert "Median days" in header["Time in stage"]
    assert "Lift (percentage points)" in header["Touchpoint performance (lift)"]
    # the same sheets as CSV files, in order
    csvs = sorted(folder.glob("*.csv"))
    assert len(csvs) == len(names)
    for path, name in zip(csvs, names, strict=True):
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        sheet = [
            ["" if v is None else str(v) for v in row]
            for row in book[name].iter_rows(values_only=True)
        ]
        assert rows == sheet, name
    # no formula anywhere; hostile names come out as text
    assert not [c.coordinate for c in _cells(book) if c.data_type == "f"]
    texts = {c.value for c in _cells(book) if isinstance(c.value, str)}
    assert "'" + HOSTILE in texts and HOSTILE not in texts
    assert "'" + OWNER in texts
    # pseudonymised: no e-mail address in any cell
    assert not [t for t in texts if "@" in t and t != "'" + OWNER]


@pytest.mark.kernel
@pytest.mark.slow
def test_funnel_sheet_equals_the_analytics(rendered: tuple[Path, Any]) -> None:
    from workbook.analytics import Engine, funnel
    from workbook.store import open_workspace

    ws, _ = rendered
    expected = funnel(Engine.for_workspace(open_workspace(ws)))
    book = load_workbook(ws / "reports" / "tideway-rowing-report-data.xlsx")
    rows = list(book["Funnel and flow"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(expected)
    for row, (_, want) in zip(rows, expected.iterrows(), strict=True):
        assert str(row[0]).startswith(str(want["stage_name"]))
        if want["has_data"]:
            assert row[1] == int(want["contacts"])
            assert row[2] == pytest.approx(float(want["share_of_first"]) * 100)
        else:
            assert row[1] is None
    # the maps' measured row: each mapped persona's own funnel
    by_persona = funnel(Engine.for_workspace(open_workspace(ws)), by="persona")
    names = {
        p["id"]: p["name"] for p in yaml.safe_load((ws / "workspace.yaml").read_text())["personas"]
    }
    want = {
        (names[r.persona], r.stage_name): int(r.contacts)
        for r in by_persona.itertuples()
        if r.has_data
    }
    got = {
        (row[0], row[1]): row[2]
        for row in book["Journey maps"].iter_rows(min_row=2, values_only=True)
    }
    assert got and all(got[key] == want[key] for key in got)


@pytest.mark.kernel
@pytest.mark.slow
def test_appendix_link_carries_the_same_workbook(rendered: tuple[Path, Any]) -> None:
    ws, _ = rendered
    html = (ws / "reports" / "tideway-rowing-report.html").read_text(encoding="utf-8")
    link = _Link()
    link.feed(html)
    assert link.attrs is not None, "no data link in the appendix"
    assert link.attrs["download"] == "tideway-rowing-report-data.xlsx"
    href = str(link.attrs["href"])
    prefix = "data:application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;base64,"
    assert href.startswith(prefix)
    embedded = base64.b64decode(href[len(prefix) :])
    assert embedded == (ws / "reports" / "tideway-rowing-report-data.xlsx").read_bytes()
    book = load_workbook(io.BytesIO(embedded))
    assert "Funnel and flow" in book.sheetnames
    assert html.index('id="wb-report-data"') > html.index('id="appendix"')


@pytest.mark.kernel
@pytest.mark.slow
def test_data_without_the_appendix_and_removed_without_the_flag(demo_copy: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        main, ["report", str(demo_copy), "--section", "funnel", "--section", "timing", "--data"]
    )
    assert res.exit_code == 0, res.output
    reports = demo_copy / "reports"
    html = (reports / "tideway-rowing-report.html").read_text(encoding="utf-8")
    assert 'id="wb-report-data"' not in html  # no appendix, no link
    book = load_workbook(reports / "tideway-rowing-report-data.xlsx")
    assert book.sheetnames == ["Funnel and flow", "Funnel and flow (moves)", "Time in stage"]
    # a render without --data leaves no numbers of another run beside the report
    res = runner.invoke(main, ["report", str(demo_copy), "--section", "funnel"])
    assert res.exit_code == 0, res.output
    assert not (reports / "tideway-rowing-report-data.xlsx").exists()
    assert not (reports / "tideway-rowing-report-data").exists()


@pytest.mark.kernel
@pytest.mark.slow
def test_batch_writes_each_clients_numbers_and_skips_them_when_current(tmp_path: Path) -> None:
    ws = tmp_path / "client"
    shutil.copytree(DEMO, ws, ignore=shutil.ignore_patterns("reports", "*.lock"))
    doc = yaml.safe_load((ws / "workspace.yaml").read_text(encoding="utf-8"))
    doc["report"] = {"sections": ["funnel"]}  # the workspace's own choice keeps the run short
    (ws / "workspace.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    reports = ws / "reports"
    runner = CliRunner()
    first = runner.invoke(main, ["batch", str(ws), "--jobs", "1", "--data"])
    assert first.exit_code == 0 and "1 rendered" in first.output, first.output
    book = load_workbook(reports / "tideway-rowing-report-data.xlsx")
    assert book.sheetnames == ["Funnel and flow", "Funnel and flow (moves)"]
    csvs = sorted(p.name for p in (reports / "tideway-rowing-report-data").iterdir())
    assert csvs == ["01-funnel-and-flow.csv", "02-funnel-and-flow-moves.csv"]
    again = runner.invoke(main, ["batch", str(ws), "--jobs", "1", "--data"])
    assert "1 unchanged (skipped)" in again.output, again.output
    # a current report whose numbers are gone is not current for a run that asks for them
    (reports / "tideway-rowing-report-data.xlsx").unlink()
    third = runner.invoke(main, ["batch", str(ws), "--jobs", "1", "--data"])
    assert "1 rendered" in third.output, third.output
    assert (reports / "tideway-rowing-report-data.xlsx").is_file()
