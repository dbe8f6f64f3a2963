"""The campaign control sheet (Design and build): its tables, the XLSX and CSV export through
``workbook campaign``, formulas neutralised, and the XLSX as LibreOffice reads it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbook.cli import main
from workbook.exports import CAMPAIGN_SHEETS, campaign_tables
from workbook.model import ChannelMix, ContentItem, Persona, SeoTarget, SocialPost
from workbook.store import OpenWorkspace, new_workspace

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+2", "-cmd", "@SUM(A1)"]


@pytest.fixture
def ws(tmp_path: Path) -> OpenWorkspace:
    w = new_workspace("Acme Rowing", directory=tmp_path)
    d = w.data
    d.personas = [Persona(id="amara", name="Amara"), Persona(id="graham", name="Graham")]
    d.content = [
        ContentItem(
            id="late",
            title="Late piece",
            stage="purchase",
            date=dt.date(2026, 12, 9),
            owner="Content Lead",
            status="ready",
            channel="email",
            automated=True,
            personas=["amara", "graham"],
        ),
        ContentItem(id="undated", title=HOSTILE[0], stage="awareness", channel="web"),
        ContentItem(
            id="early",
            title="Early piece",
            stage="consideration",
            date=dt.date(2026, 12, 1),
            personas=["graham"],
        ),
    ]
    d.campaign.seo = [
        SeoTarget(
            id="quiet",
            keyword="quiet rowing machine",
            page="/rower/noise",
            stage="awareness",
            persona="amara",
        ),
        SeoTarget(id="evil", keyword=HOSTILE[1], page=HOSTILE[2]),
    ]
    d.campaign.social = [
        SocialPost(
            id="b",
            post="Second",
            date=dt.date(2026, 12, 5),
            channel="social",
            persona="amara",
            owner="Community",
            status="published",
        ),
        SocialPost(id="a", post=HOSTILE[3], date=dt.date(2026, 12, 2), channel="whatsapp"),
    ]
    d.campaign.channel_mix = [
        ChannelMix(id="g-email", persona="graham", channel="email", share=0.5, priority="high"),
        ChannelMix(id="a-social", persona="amara", channel="social", share=0.25),
        ChannelMix(
            id="a-whatsapp",
            persona="amara",
            channel="whatsapp",
            share=0.4,
            priority="high",
            note="after 9 pm too",
        ),
    ]
    w.save()
    return w


def test_the_tables_name_things_and_keep_their_order(ws: OpenWorkspace) -> None:
    tables = dict(campaign_tables(ws.data))
    assert list(tables) == list(CAMPAIGN_SHEETS)
    seo = tables["SEO targets"].values.tolist()
    assert seo[0] == ["quiet rowing machine", "/rower/noise", "Awareness", "Amara"]
    assert seo[1] == [HOSTILE[1], HOSTILE[2], "", ""]
    content = tables["Planned content"]
    # dated first, by date; undated last
    assert list(content["Content"]) == ["Early piece", "Late piece", HOSTILE[0]]
    late = content.iloc[1].tolist()
    assert late == [
        "Late piece",
        "Purchase",
        "Amara; Graham",
        "Email",
        dt.date(2026, 12, 9),
        "Content Lead",
        "ready",
        "yes",
    ]
    assert content.iloc[2]["Status"] == "planned" and content.iloc[2]["Automated"] == "no"
    social = tables["Social calendar"]
    assert list(social["Post"]) == [HOSTILE[3], "Second"]
    assert social.iloc[0]["Channel"] == "WhatsApp"
    mix = tables["Channel mix"].values.tolist()
    # personas in workspace order, largest share first
    assert [r[:3] for r in mix] == [
        ["Amara", "WhatsApp", 40.0],
        ["Amara", "Social media", 25.0],
        ["Graham", "Email", 50.0],
    ]
    assert mix[0][3:] == ["high", "after 9 pm too"]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["campaign", *args])
    return result.exit_code, result.output


def test_xlsx_has_a_sheet_per_part_and_no_formula(ws: OpenWorkspace, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "sheet.xlsx"
    code, text = _run(str(ws.path), "-o", str(out))
    assert code == 0, text
    assert "2 SEO targets, 3 pieces of content, 2 social posts, 3 channel choices" in text
    book = load_workbook(out)
    assert book.sheetnames == list(CAMPAIGN_SHEETS)
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    for hostile in HOSTILE:
        (cell,) = [c for c in cells if isinstance(c.value, str) and hostile in c.value]
        # text, shown with the apostrophe every spreadsheet reads as "this is text" (OWASP)
        assert cell.data_type == "s" and cell.value == "'" + hostile
    seo = book["SEO targets"]
    assert [c.value for c in seo[1]] == ["Keyword", "Page", "Stage", "Persona"]
    assert [c.value for c in seo[2]] == [
        "quiet rowing machine",
        "/rower/noise",
        "Awareness",
        "Amara",
    ]
    mix = book["Channel mix"]
    assert mix["C2"].value == 40 and mix["C2"].data_type == "n"
    # printed or turned into a PDF, each part is one landscape page wide, headers repeated
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape"
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert str(sheet.print_title_rows).replace("$", "") == "1:1"


def test_csv_files_one_per_part(ws: OpenWorkspace, tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    code, text = _run(str(ws.path), "-o", str(folder), "--format", "csv")
    assert code == 0, text
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "01-seo-targets.csv",
        "02-planned-content.csv",
        "03-social-calendar.csv",
        "04-channel-mix.csv",
    ]
    rows = list(csv.reader(io.StringIO((folder / "01-seo-targets.csv").read_text("utf-8-sig"))))
    assert rows[2] == ["'" + HOSTILE[1], "'" + HOSTILE[2], "", ""]


def test_default_place_and_a_bad_output(ws: OpenWorkspace, tmp_path: Path) -> None:
    code, text = _run(str(ws.path))
    assert code == 0 and (ws.path / "reports" / "campaign.xlsx").is_file()
    code, text = _run(str(ws.path), "-o", str(tmp_path / "nowhere" / "x.xlsx"))
    assert code == 1 and "does not exist" in text and "Traceback" not in text


def test_an_empty_sheet_still_opens(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    w = new_workspace("Empty", directory=tmp_path)
    code, _ = _run(str(w.path), "-o", str(tmp_path / "e.xlsx"))
    assert code == 0
    book = load_workbook(tmp_path / "e.xlsx")
    assert book.sheetnames == list(CAMPAIGN_SHEETS)
    assert [c.value for c in book["Social calendar"][1]] == [
        "Date",
        "Channel",
        "Persona",
        "Post",
        "Owner",
        "Status",
    ]


@pytest.mark.skipif(shutil.which("libreoffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_converts_it(ws: OpenWorkspace, tmp_path: Path) -> None:
    out = tmp_path / "sheet.xlsx"
    assert _run(str(ws.path), "-o", str(out))[0] == 0
    env = {**os.environ, "HOME": str(tmp_path)}  # its profile goes in the test's folder
    subprocess.run(
        [
            "libreoffice",
            "--headless",
            "--convert-to",
            "csv",
            "--outdir",
            str(tmp_path / "lo"),
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=120,
        env=env,
    )
    # LibreOffice writes the first sheet; its cells are what the workbook holds, as text
    first = (tmp_path / "lo" / "sheet.csv").read_text("utf-8")
    assert "quiet rowing machine" in first and "'+1+2" in first
