"""The deck (issue 18): a branded, editable PPTX with the numbers in the speaker notes."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from pptx import Presentation
from pptx.util import Emu, Inches

from workbook.analytics import summary
from workbook.cli import main
from workbook.store import read_workspace

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


@pytest.fixture(scope="module")
def deck_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("deck") / "client"
    shutil.copytree(DEMO, ws, ignore=shutil.ignore_patterns("reports"))
    result = CliRunner().invoke(main, ["deck", str(ws), "--date", "2026-12-06"])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path == ws / "reports" / "tideway-rowing-deck.pptx"
    return path


def _texts(slide: object) -> list[str]:
    shapes = slide.shapes  # type: ignore[attr-defined]
    return [s.text_frame.text for s in shapes if s.has_text_frame and s.text_frame.text]


def test_the_deck_has_every_slide_in_order_as_editable_text(deck_file: Path) -> None:
    prs = Presentation(str(deck_file))
    model = read_workspace(DEMO)
    titles = [(_texts(s) or [""])[0] for s in prs.slides]
    maps = [f"{p.name.split(',')[0]}'s journey" for p in model.personas]
    expected = ["Customer journey report", "Agenda", "Where we stand", *maps]
    expected += ["The funnel and the flow", "The biggest loss", "What we recommend"]
    expected += ["Experiments", "Next steps"]
    assert titles == expected
    cover = " ".join(_texts(prs.slides[0]))
    assert model.client.name in cover and "6 December 2026" in cover
    # 16:9, the brand's colour in the band, the logo as a picture on every slide but the cover
    assert (prs.slide_width, prs.slide_height) == (Emu(12192000), Emu(6858000))
    band = prs.slides[1].shapes[0]
    assert str(band.fill.fore_color.rgb) == model.client.branding.primary_color.lstrip("#").upper()
    pictures = [[s for s in slide.shapes if s.shape_type == 13] for slide in prs.slides]
    assert all(pictures[i] for i in range(1, len(prs.slides)))
    # each persona's map is an image filling its slide, its title editable text
    for i in range(3, 3 + len(maps)):
        big = max(pictures[i], key=lambda p: p.width * p.height)
        assert big.height >= Inches(5.5) or big.width >= Inches(12.2)  # as large as fits


def test_the_numbers_are_the_analytics_and_sit_in_the_notes(deck_file: Path) -> None:
    prs = Presentation(str(deck_file))
    nums = summary(DEMO)
    b = nums["bottleneck"]
    loss = next(s for s in prs.slides if _texts(s)[0] == "The biggest loss")
    assert f"{b['drop_off']:,}" in _texts(loss)
    assert b["stage_name"] in " ".join(_texts(loss))
    stand = next(s for s in prs.slides if _texts(s)[0] == "Where we stand")
    assert f"{nums['contacts']:,} contacts analysed" in " ".join(_texts(stand))
    notes = stand.notes_slide.notes_text_frame.text
    assert str(nums["contacts"]) in notes
    funnel = next(s for s in prs.slides if _texts(s)[0] == "The funnel and the flow")
    assert "contacts" in funnel.notes_slide.notes_text_frame.text
    recs = next(s for s in prs.slides if _texts(s)[0] == "What we recommend")
    tables = [s for s in recs.shapes if s.has_table]
    assert tables and tables[0].table.cell(0, 4).text == "Owner"


def test_a_workspace_without_data_still_gets_a_deck(tmp_path: Path) -> None:
    from workbook.deck import write_deck
    from workbook.store import new_workspace

    ws = new_workspace("Acme", preset="b2b-saas", directory=tmp_path)
    path = write_deck(ws, tmp_path / "acme.pptx", today=dt.date(2026, 12, 6))
    prs = Presentation(str(path))
    texts = " ".join(t for s in prs.slides for t in _texts(s))
    assert "No CRM export imported yet" in texts


def test_batch_writes_each_clients_deck_and_skips_it_when_current(tmp_path: Path) -> None:
    ws = tmp_path / "client"
    shutil.copytree(DEMO, ws, ignore=shutil.ignore_patterns("reports"))
    runner = CliRunner()
    first = runner.invoke(main, ["batch", str(ws), "--jobs", "1"])
    assert first.exit_code == 0, first.output
    deck = ws / "reports" / "tideway-rowing-deck.pptx"
    assert not deck.exists()  # only when asked
    # a current report without its deck is rendered again when the deck is asked for
    second = runner.invoke(main, ["batch", str(ws), "--jobs", "1", "--deck"])
    assert second.exit_code == 0 and "1 rendered" in second.output, second.output
    assert len(Presentation(str(deck)).slides) >= 10
    third = runner.invoke(main, ["batch", str(ws), "--jobs", "1", "--deck"])
    assert "1 unchanged (skipped)" in third.output, third.output
