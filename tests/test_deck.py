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
    assert all(j.to_be for j in model.journeys)  # the demo has each persona's desired journey
    desired = [t.replace("journey", "desired journey") for t in maps]
    persona_slides = [t for pair in zip(maps, desired, strict=True) for t in pair]
    expected = ["Customer journey report", "Agenda", "Where we stand", *persona_slides]
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
    for i in range(3, 3 + 2 * len(maps), 2):
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


# ------------------------------------------------------------------ the desired journey

#: Typed by a user: must reach the slide as these very characters, never as markup.
_HOSTILE = "<b>Pre-fill</b> the checkout & =SUM(A1)"


def _tobe_workspace(tmp_path: Path, *, tie: bool = False) -> Path:
    """Pat has an as-is and a to-be map, Kim only an as-is one; no CRM data.

    By hand (to-be minus as-is): Awareness -1 -> +1 is +2, Consideration 0 -> 0 is 0 (nothing
    changes there), Purchase -2 -> +1 is +3 (the largest change), Retention +1 -> +0.5 is -0.5
    and Advocacy has no as-is score, so no gap. With ``tie``, Retention goes -1 -> +2: +3 too.
    """
    from workbook.model import Journey, MapCell, Persona, Recommendation
    from workbook.store import new_workspace

    ws = new_workspace("Acme", directory=tmp_path)
    ws.data.personas = [Persona(id="pat", name="Pat, the planner"), Persona(id="kim", name="Kim")]
    recs = [
        Recommendation(
            id="price-in-ads",
            text="Show the monthly price in every ad",
            stage="awareness",
            owner="Marketing Lead",
            status="agreed",
        ),
        Recommendation(id="prefill", text=_HOSTILE, stage="purchase", owner="Head of E-commerce"),
        Recommendation(id="call-back", text="Call back within the hour", stage="purchase"),
    ]
    retention = (-1.0, 2.0) if tie else (1.0, 0.5)
    as_is = {
        "awareness": MapCell(actions=["Sees an ad"], emotion=-1),
        "consideration": MapCell(actions=["Reads reviews"], emotion=0),
        "purchase": MapCell(emotion=-2),
        "retention": MapCell(emotion=retention[0]),
        "advocacy": MapCell(),
    }
    to_be = {
        "awareness": MapCell(
            actions=["Sees the price in the ad"], emotion=1, recommendations=["price-in-ads"]
        ),
        "consideration": MapCell(actions=["Reads reviews"], emotion=0),
        "purchase": MapCell(emotion=1, recommendations=["prefill", "call-back"]),
        "retention": MapCell(emotion=retention[1]),
        "advocacy": MapCell(emotion=1),
    }
    ws.data.journeys = [
        Journey(persona="pat", stages=as_is, to_be=to_be, recommendations=recs),
        Journey(persona="kim", stages={"awareness": MapCell(emotion=1)}),
    ]
    ws.save()
    return Path(ws.path)


def _deck_of(folder: Path, out: Path) -> object:
    from workbook.deck import write_deck

    return Presentation(str(write_deck(folder, out, today=dt.date(2026, 12, 6))))


_BASE_AGENDA = [
    "Where we stand: the summary",
    "Pat's journey",
    "Kim's journey",
    "The funnel and the flow",
    "The biggest loss",
    "What we recommend",
    "Experiments",
    "Next steps",
]


def _agenda(prs: object) -> list[str]:
    slide = prs.slides[1]  # type: ignore[attr-defined]
    return [t.removeprefix("\u2022  ") for box in _body(slide) for t in box.split("\n")]


def _body(slide: object) -> list[str]:
    """The slide's texts but its title and footer."""
    return [t for t in _texts(slide)[1:] if not t.endswith("|  Confidential")]


def _grid(slide: object) -> list[list[str]]:
    tables = [s.table for s in slide.shapes if s.has_table]  # type: ignore[attr-defined]
    assert len(tables) == 1
    return [[c.text for c in row.cells] for row in tables[0].rows]


def test_the_desired_journey_follows_its_personas_map_with_the_gap_and_the_recommendations(
    tmp_path: Path,
) -> None:
    prs = _deck_of(_tobe_workspace(tmp_path), tmp_path / "acme.pptx")
    slides = list(prs.slides)  # type: ignore[attr-defined]
    titles = [(_texts(s) or [""])[0] for s in slides]
    assert titles[3:6] == ["Pat's journey", "Pat's desired journey", "Kim's journey"]
    assert sum("desired" in t for t in titles) == 1  # Kim has no to-be: no slide
    assert _agenda(prs) == [*_BASE_AGENDA[:2], "Pat's desired journey", *_BASE_AGENDA[2:]]

    slide = slides[4]
    grid = _grid(slide)
    stages = ["Awareness", "Consideration", "Purchase", "Retention", "Advocacy"]
    assert grid[0][1:] == stages
    m = "\u2212"  # the minus sign
    assert grid[1][1:] == [
        f"{m}1 \u2192 +1",
        "0 \u2192 0",
        f"{m}2 \u2192 +1",
        "+1 \u2192 +0.5",
        "not scored \u2192 +1",
    ]
    assert grid[2][1:] == ["+2", "0", "+3", f"{m}0.5", "\u2013"]
    # the recommendations that carry each change, with their owners; none behind Retention's
    # change nor Advocacy's, and nothing changes at Consideration
    recs = grid[3][1:]
    assert recs[0] == "Show the monthly price in every ad\nMarketing Lead, agreed"
    assert recs[1] == "No change"
    assert recs[2] == (
        f"{_HOSTILE}\nHead of E-commerce, proposed\n"
        "Call back within the hour\nowner to agree, proposed"
    )
    assert recs[3] == recs[4] == "No recommendation yet"
    lead = _body(slide)[0]
    assert lead == (
        f"The feeling changes most at Purchase: from {m}2 today to +1 (+3 points).\n"
        "4 of the 5 stages change; no recommendation is linked yet to the change at "
        "Retention and Advocacy."
    )
    # the largest change's column is marked: its header in the accent colour, its gap bold
    table = next(s.table for s in slide.shapes if s.has_table)
    fills = [str(table.cell(0, c).fill.fore_color.rgb) for c in range(1, 6)]
    assert fills[2] != fills[0] and fills.count(fills[0]) == 4
    assert table.cell(2, 3).text_frame.paragraphs[0].runs[0].font.bold
    assert not table.cell(2, 1).text_frame.paragraphs[0].runs[0].font.bold
    # the picture of both curves, as wide as the table under it
    pics = [s for s in slide.shapes if s.shape_type == 13]
    chart = max(pics, key=lambda p: p.width)
    assert chart.width >= Inches(12) and chart.top < table_top(slide)
    notes = slide.notes_slide.notes_text_frame.text
    assert "Purchase: as-is -2, to-be +1, gap +3" in notes
    assert "prefill" in notes and "call-back" in notes  # the ids, for the presenter


def table_top(slide: object) -> int:
    return int(next(s.top for s in slide.shapes if s.has_table))  # type: ignore[attr-defined]


def test_stages_that_tie_for_the_largest_change_are_all_named(tmp_path: Path) -> None:
    prs = _deck_of(_tobe_workspace(tmp_path, tie=True), tmp_path / "acme.pptx")
    slide = next(s for s in prs.slides if _texts(s)[0] == "Pat's desired journey")  # type: ignore[attr-defined]
    assert _grid(slide)[2][1:] == ["+2", "0", "+3", "+3", "\u2013"]
    assert _body(slide)[0].startswith(
        "The feeling changes most at Purchase and Retention: +3 points each.\n"
    )
    table = next(s.table for s in slide.shapes if s.has_table)
    assert [bool(table.cell(2, c).text_frame.paragraphs[0].runs[0].font.bold) for c in (3, 4)] == [
        True,
        True,
    ]


def test_a_workspace_without_a_desired_journey_has_no_such_slide(tmp_path: Path) -> None:
    from workbook.store import open_workspace

    folder = _tobe_workspace(tmp_path)
    ws = open_workspace(folder)
    ws.data.journeys[0].to_be = None
    ws.save()
    prs = _deck_of(folder, tmp_path / "acme.pptx")
    titles = [(_texts(s) or [""])[0] for s in prs.slides]  # type: ignore[attr-defined]
    assert not [t for t in titles if "desired" in t]
    assert _agenda(prs) == _BASE_AGENDA


def test_libreoffice_renders_the_desired_journey_slide(tmp_path: Path) -> None:
    """The file opens in another presentation program, and the slide's words are on its page."""
    import subprocess

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None or shutil.which("pdftotext") is None:
        pytest.skip("LibreOffice (soffice) and poppler's pdftotext are not installed")
    prs = _deck_of(_tobe_workspace(tmp_path), tmp_path / "acme.pptx")
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), "acme.pptx"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = tmp_path / "acme.pdf"
    pages = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout.split("\f")
    assert len([p for p in pages if p.strip()]) == len(prs.slides)  # type: ignore[attr-defined]
    page = " ".join(pages[4].split())  # the table's cells wrap their words
    assert "Pat's desired journey" in page
    assert "The feeling changes most at Purchase" in page
    assert "<b>Pre-fill</b> the checkout & =SUM(A1)" in page
    assert "Head of E-commerce, proposed" in page


def test_an_agenda_too_long_for_one_column_takes_two_in_order(tmp_path: Path) -> None:
    from workbook.model import Journey, MapCell, Persona
    from workbook.store import open_workspace

    folder = _tobe_workspace(tmp_path)
    ws = open_workspace(folder)
    more = [Persona(id=f"p{k}", name=f"Persona {k}") for k in range(3)]
    ws.data.personas += more
    ws.data.journeys += [
        Journey(
            persona=p.id,
            stages={"awareness": MapCell(emotion=-1)},
            to_be={"awareness": MapCell(emotion=1)},
        )
        for p in more
    ]
    ws.save()
    prs = _deck_of(folder, tmp_path / "acme.pptx")
    extra = [
        t for k in range(3) for t in (f"Persona {k}'s journey", f"Persona {k}'s desired journey")
    ]
    expected = [*_BASE_AGENDA[:2], "Pat's desired journey", *_BASE_AGENDA[2:3], *extra]
    expected += _BASE_AGENDA[3:]
    assert len(expected) == 15
    assert _agenda(prs) == expected
    columns = _body(prs.slides[1])  # type: ignore[attr-defined]
    assert [len(c.split("\n")) for c in columns] == [8, 7]


def test_a_stage_with_more_recommendations_than_fit_names_how_many_more(tmp_path: Path) -> None:
    """Eight long recommendations at Purchase cannot all sit above the footer: the cell keeps
    the first ones, says how many more there are, and the notes list every one by id."""
    from workbook.model import Recommendation
    from workbook.store import open_workspace

    folder = _tobe_workspace(tmp_path)
    ws = open_workspace(folder)
    journey = ws.data.journeys[0]
    text = "Call every new customer within a day of the order to agree a delivery slot, and "
    text += "confirm it by text message the evening before the van arrives"
    extra = [
        Recommendation(id=f"slot-{k}", text=f"{k}. {text}", stage="purchase", owner="Ops")
        for k in range(8)
    ]
    journey.recommendations += extra
    assert journey.to_be is not None
    journey.to_be["purchase"].recommendations += [r.id for r in extra]
    ws.save()
    prs = _deck_of(folder, tmp_path / "acme.pptx")
    slide = next(s for s in prs.slides if _texts(s)[0] == "Pat's desired journey")  # type: ignore[attr-defined]
    cell = _grid(slide)[3][3]
    kept = cell.count("Ops, proposed") + cell.count("Head of E-commerce") + cell.count("to agree")
    assert 1 <= kept < 10
    assert cell.endswith(f"and {10 - kept} more, in the notes")
    assert cell.startswith(_HOSTILE)  # in the to-be map's order
    notes = slide.notes_slide.notes_text_frame.text
    assert all(f"slot-{k} (Ops, proposed)" in notes for k in range(8))
    shape = next(s for s in slide.shapes if s.has_table)
    bottom = shape.top + sum(row.height for row in shape.table.rows)
    assert bottom <= Inches(7.5 - 0.55)  # above the footer


def test_each_profile_of_a_persona_gets_its_own_desired_journey(tmp_path: Path) -> None:
    """Pat's map for small firms is a journey of its own: its slide is named after the profile.
    By hand: Awareness -1 -> 0 is +1 (one point) for Pat, -2 -> +2 is +4 for small firms."""
    from workbook.model import ICP, Journey, MapCell, Persona
    from workbook.store import new_workspace

    ws = new_workspace("Acme", directory=tmp_path)
    ws.data.personas = [Persona(id="pat", name="Pat")]
    ws.data.icps = [ICP(id="smb", name="Small firms")]
    ws.data.journeys = [
        Journey(
            persona="pat",
            stages={"awareness": MapCell(emotion=-1)},
            to_be={"awareness": MapCell(emotion=0)},
        ),
        Journey(
            persona="pat",
            icp="smb",
            stages={"awareness": MapCell(emotion=-2)},
            to_be={"awareness": MapCell(emotion=2)},
        ),
    ]
    ws.save()
    prs = _deck_of(Path(ws.path), tmp_path / "acme.pptx")
    titles = ["Pat's desired journey", "Pat's desired journey (Small firms)"]
    assert [(_texts(s) or [""])[0] for s in prs.slides][4:6] == titles  # type: ignore[attr-defined]
    assert _agenda(prs)[1:4] == ["Pat's journey", *titles]
    leads = [_body(prs.slides[i])[0] for i in (4, 5)]  # type: ignore[attr-defined]
    assert leads == [
        "The feeling changes most at Awareness: from \u22121 today to 0 (+1 point).\n"
        "1 of the 5 stages changes; no recommendation is linked yet to the change at Awareness.",
        "The feeling changes most at Awareness: from \u22122 today to +2 (+4 points).\n"
        "1 of the 5 stages changes; no recommendation is linked yet to the change at Awareness.",
    ]
