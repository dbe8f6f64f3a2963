"""The desired journey (issue 17, Design and build): the to-be map, its links to the
recommendations that make each change happen, and the opportunity -> solution -> owner ->
metric chain with how far each metric moved since its recommendation was agreed."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest
from test_analytics_hand import build

from workbook.analytics.chain import kpi_now, recommendation_chain
from workbook.exceptions import WorkspaceValidationError
from workbook.model import (
    KPI,
    Journey,
    MapCell,
    Objective,
    Persona,
    Recommendation,
    validate_workspace,
)
from workbook.store import new_workspace, open_workspace


def _workspace_dict(**journey: Any) -> dict[str, Any]:
    return {
        "client": {"name": "Acme", "slug": "acme"},
        "personas": [{"id": "pat", "name": "Pat"}],
        "objectives": [{"id": "convert", "title": "Convert more", "unit": "%"}],
        "measurement": {"kpis": [{"id": "c2p", "name": "Consideration to purchase"}]},
        "journeys": [
            {
                "persona": "pat",
                "stages": {"awareness": {"actions": ["Reads a review"], "emotion": -1}},
                "recommendations": [{"id": "faster", "text": "Answer faster", "stage": "purchase"}],
                **journey,
            }
        ],
    }


# --------------------------------------------------------------------------------- the model


def test_draft_copies_the_as_is_cells_deeply_with_no_links() -> None:
    j = Journey(
        persona="pat",
        stages={"awareness": MapCell(actions=["Reads a review"], emotion=-1, touchpoints=["web"])},
    )
    draft = j.draft_to_be()
    assert draft["awareness"] == j.stages["awareness"]
    draft["awareness"].actions.append("Watches the demo video")
    assert j.stages["awareness"].actions == ["Reads a review"]  # a copy, not the same list


def test_a_to_be_link_to_an_unknown_recommendation_is_refused_by_name() -> None:
    data = _workspace_dict(to_be={"awareness": {"emotion": 1, "recommendations": ["fastr"]}})
    with pytest.raises(WorkspaceValidationError) as err:
        validate_workspace(data)
    text = str(err.value)
    assert "journeys[0].to_be.awareness.recommendations[0]" in text
    assert "'fastr'" in text and "faster" in text  # what is wrong, and what to use


def test_the_as_is_map_links_to_no_recommendation() -> None:
    data = _workspace_dict()
    data["journeys"][0]["stages"]["awareness"]["recommendations"] = ["faster"]
    with pytest.raises(WorkspaceValidationError, match="link recommendations in the to-be"):
        validate_workspace(data)


def test_a_to_be_stage_and_touchpoint_must_exist() -> None:
    data = _workspace_dict(to_be={"checkout": {"touchpoints": ["web"]}})
    with pytest.raises(WorkspaceValidationError) as err:
        validate_workspace(data)
    assert "journeys[0].to_be.checkout" in str(err.value)
    assert "touchpoint 'web'" in str(err.value)


def test_a_recommendation_names_a_kpi_or_an_objective() -> None:
    ok = _workspace_dict(to_be={"awareness": {"emotion": 1, "recommendations": ["faster"]}})
    for kpi in ("c2p", "convert"):
        ok["journeys"][0]["recommendations"][0]["kpi"] = kpi
        ws = validate_workspace(ok)
        assert ws.journeys[0].to_be is not None
    ok["journeys"][0]["recommendations"][0]["kpi"] = "open-rate"
    with pytest.raises(WorkspaceValidationError) as err:
        validate_workspace(ok)
    assert "journeys[0].recommendations[0].kpi" in str(err.value)
    assert "c2p, convert" in str(err.value)


# ------------------------------------------------------------------ the chain, worked by hand
#
# The hand-worked log of test_analytics_hand: c1, c2 and c3 all reach consideration, c1 and
# c3 reach purchase, so consideration -> purchase is 2 of 3 = 66.667%. The won contacts
# close 5 (c1: d0 -> d5) and 11 (c3: d0 -> d11) days after their first record: median 8.
#
# rec   KPI (unit)                  agreed  expected   now      moved     share
# a     c2p (%)                     60.0    +10        66.667   +6.667    0.6667
# b     objective close (days)      10.0    -4         8.0      -2.0      0.5
# c     c2p (%)                     70.0    +5         66.667   -3.333    -0.6667
# d     objective close (days)      12.0    -4         8.0      -4.0      1.0
# e     proposed, no values                                     n/a
#
# The log reaches the chain two ways (the ``hand`` fixture's parameters): written straight to
# the workspace's tables, and imported through the real import from a generic CSV export
# whose rows are shuffled and whose events are tied to the second (_tied_log). The numbers
# above hold for both.


def _tied_log() -> Any:
    """The hand-worked log with more events tied to the second, no number above changed.

    Already tied in the log: c3's web visit and its entry into consideration (day 1), c1's
    entry into purchase and its won close (day 5), c3's the same (day 11), c1's email sent,
    opened and clicked (day 2). Added here: c1's ads click moves to day 0, the second it
    enters awareness; c2's move back to awareness moves to day 7, the very second its deal
    is lost (a close at the second of a stage entry ends nothing: the move ends the stay in
    consideration). Neither changes who reached consideration or purchase (c2p: 2 of 3), nor
    the first record or the close of a won contact (median time to close: 8 days).
    """
    import pandas as pd
    from test_analytics_hand import COLUMNS, EVENTS, day

    log = pd.DataFrame(EVENTS, columns=COLUMNS)
    click = (log["contact_id"] == "c1") & (log["touchpoint"] == "ads")
    back = (log["contact_id"] == "c2") & (log["ts"] == day(6))
    assert click.sum() == 1 and back.sum() == 1
    log.loc[click, "ts"] = day(0)
    log.loc[back, "ts"] = day(7)
    return log


@pytest.fixture(scope="module", params=["written", "imported, shuffled and tied"])
def hand(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chain")
    if request.param == "written":
        path = build(folder)
    else:
        from test_analytics_hand import contacts_frame, deals_frame
        from test_ties_and_order import import_history

        path = import_history(folder, _tied_log(), contacts_frame(), deals_frame(), seed=11)
    ws = open_workspace(path)
    ws.data.personas = [Persona(id="pat", name="Pat")]
    ws.data.objectives = [Objective(id="close", title="Close faster", metric="time-to-close-days")]
    ws.data.objectives[0].unit = "days"
    ws.data.measurement.kpis = [
        KPI(id="c2p", name="C to P", metric="conversion:consideration:purchase", unit="%")
    ]

    def rec(rid: str, kpi: str | None, agreed: float | None, effect: float | None) -> Any:
        return Recommendation(
            id=rid,
            text=f"Do {rid}",
            stage="consideration",
            owner="Sam",
            status="agreed" if agreed is not None else "proposed",
            opportunity=f"Gap {rid}",
            kpi=kpi,
            agreed_value=agreed,
            expected_effect=effect,
            agreed_on=dt.date(2025, 12, 1) if agreed is not None else None,
        )

    ws.data.journeys = [
        Journey(
            persona="pat",
            recommendations=[
                rec("a", "c2p", 60.0, 10.0),
                rec("b", "close", 10.0, -4.0),
                rec("c", "c2p", 70.0, 5.0),
                rec("d", "close", 12.0, -4.0),
                rec("e", None, None, None),
            ],
        )
    ]
    ws.save()
    return path


def test_the_chain_moves_worked_by_hand(hand: Path) -> None:
    chain = recommendation_chain(hand).set_index("recommendation")
    assert list(chain.index) == ["a", "b", "c", "d", "e"]
    assert chain.loc["a", "current"] == pytest.approx(200 / 3)
    assert chain.loc["a", "moved"] == pytest.approx(200 / 3 - 60)
    assert chain.loc["a", "share_achieved"] == pytest.approx((200 / 3 - 60) / 10)
    assert chain.loc["a", "expected_value"] == pytest.approx(70.0)
    assert chain.loc["a", "verdict"] == "moving the right way"
    assert chain.loc["b", "current"] == pytest.approx(8.0)
    assert chain.loc["b", "moved"] == pytest.approx(-2.0)
    assert chain.loc["b", "share_achieved"] == pytest.approx(0.5)
    assert chain.loc["b", "kpi_kind"] == "objective" and chain.loc["b", "unit"] == "days"
    assert chain.loc["c", "share_achieved"] == pytest.approx(-10 / 3 / 5)
    assert chain.loc["c", "verdict"] == "moved the wrong way"
    assert chain.loc["d", "share_achieved"] == pytest.approx(1.0)
    assert chain.loc["d", "verdict"] == "expected effect reached"
    assert math.isnan(chain.loc["e", "moved"]) and chain.loc["e", "verdict"] == "not agreed yet"
    a = chain.loc["a"]
    assert (a["opportunity"], a["solution"], a["owner"], a["kpi_name"]) == (
        "Gap a",
        "Do a",
        "Sam",
        "C to P",
    )


def test_the_value_recorded_at_agreement_is_the_reports_number(hand: Path) -> None:
    assert kpi_now(hand, "c2p")[0] == pytest.approx(200 / 3)
    assert kpi_now(hand, "close")[0] == pytest.approx(8.0)
    assert kpi_now(hand, "nope")[0] is None


def test_no_data_after_the_agreement_says_so(hand: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "later"
    shutil.copytree(hand, copy)
    ws = open_workspace(copy)
    for r in ws.data.journeys[0].recommendations:
        if r.agreed_on:
            r.agreed_on = dt.date(2026, 6, 1)  # after the log's last event (11 January 2026)
    from workbook.model import DataSource

    ws.data.data_sources = [
        DataSource(
            id="hand",
            system="generic",
            file="hand.csv",
            sha256="0" * 64,
            imported_at=dt.datetime(2026, 1, 12, tzinfo=dt.UTC),
            rows=24,
            last_event=dt.datetime(2026, 1, 12, tzinfo=dt.UTC),
        )
    ]
    ws.save()
    verdicts = recommendation_chain(copy)["verdict"].tolist()
    assert verdicts[:4] == ["no data since agreed"] * 4


def test_data_ending_on_the_day_of_the_agreement_is_no_data_since(
    hand: Path, tmp_path: Path
) -> None:
    """A tie of dates: the last event on the very day a recommendation was agreed."""
    import shutil

    from workbook.model import DataSource

    copy = tmp_path / "same-day"
    shutil.copytree(hand, copy)
    ws = open_workspace(copy)
    last = dt.datetime(2026, 1, 12, 23, 59, 59, tzinfo=dt.UTC)
    ws.data.data_sources = [
        DataSource(
            id="hand",
            system="generic",
            file="hand.csv",
            sha256="0" * 64,
            imported_at=last,
            rows=24,
            last_event=last,
        )
    ]
    recs = ws.data.journeys[0].recommendations
    recs[0].agreed_on = dt.date(2026, 1, 12)  # a: agreed the day the data ends
    recs[1].agreed_on = dt.date(2026, 1, 11)  # b: agreed the day before
    ws.save()
    verdicts = recommendation_chain(copy).set_index("recommendation")["verdict"]
    assert verdicts["a"] == "no data since agreed"
    assert verdicts["b"] == "moving the right way"  # measured: 8 days against 10, -2 of -4


def test_a_workspace_without_recommendations_gives_an_empty_chain(tmp_path: Path) -> None:
    ws = new_workspace("Empty", directory=tmp_path / "e")
    chain = recommendation_chain(ws)
    assert chain.empty and "share_achieved" in chain.columns


# ------------------------------------------------------------------------ the map, as-is/to-be


def _mapped(folder: Path) -> Any:
    """Pat's map: awareness -1 -> +1 (an action added, a pain point removed, linked to
    'faster'), consideration 0 -> 0 (a touchpoint swapped), purchase not scored -> +2."""
    from workbook.model import Touchpoint

    ws = new_workspace("Acme <Ltd>", directory=folder)
    ws.data.personas = [Persona(id="pat", name="Pat")]
    ws.data.touchpoints = [
        Touchpoint(id="web", name="Website", channel="web", stages=["awareness"]),
        Touchpoint(id="chat", name="Live chat", channel="chat"),
    ]
    j = Journey(
        persona="pat",
        stages={
            "awareness": MapCell(actions=["Reads a review"], pain_points=["No price"], emotion=-1),
            "consideration": MapCell(touchpoints=["web"], emotion=0),
        },
        recommendations=[
            Recommendation(id="faster", text="Show the <price>", stage="awareness", owner="Sam"),
            Recommendation(id="chat-it", text="Open a chat", stage="consideration"),
        ],
    )
    j.to_be = j.draft_to_be()
    j.to_be["awareness"].actions.append("Sees the price in the ad")
    j.to_be["awareness"].pain_points = []
    j.to_be["awareness"].emotion = 1
    j.to_be["awareness"].recommendations = ["faster"]
    j.to_be["consideration"].touchpoints = ["chat"]
    j.to_be["purchase"] = MapCell(emotion=2)
    ws.data.journeys = [j]
    ws.save()
    return ws


def test_the_to_be_layout_draws_the_desired_cells_and_their_linked_recommendations(
    tmp_path: Path,
) -> None:
    from workbook.journeymap import build_layout

    ws = _mapped(tmp_path / "w")
    layout = build_layout(ws, "pat", version="to-be")
    assert layout.title == "Desired journey: Pat" and layout.version == "to-be"
    assert layout.emotions == (1, 0, 2, None, None)
    actions = layout.lane("actions").cells[0].texts
    assert actions == ("Reads a review", "Sees the price in the ad")
    recs = layout.lane("opportunities").cells[0].recommendations
    assert [r.id for r in recs] == ["faster"]
    # not linked in the to-be map: not shown there (it is in the as-is map)
    assert not any(c.recommendations for c in layout.lane("opportunities").cells[1:])
    assert build_layout(ws, "pat").emotions == (-1, 0, None, None, None)
    ws.data.journeys[0].to_be = None
    assert "No desired journey yet" in (build_layout(ws, "pat", version="to-be").placeholder or "")


def test_the_comparison_lists_every_change_and_the_gap(tmp_path: Path) -> None:
    from workbook.journeymap import compare_journeys

    comp = compare_journeys(_mapped(tmp_path / "w"), "pat")
    # gaps by hand: +1 - -1 = 2; 0 - 0 = 0; purchase not scored as-is; then nothing
    assert comp.gaps == (2, 0, None, None, None)
    got = [(c.stage, c.lane, c.kind, c.text) for c in comp.changes]
    assert got == [
        ("awareness", "actions", "added", "Sees the price in the ad"),
        ("awareness", "emotion", "emotion", "-1 -> +1"),
        ("awareness", "pain_points", "removed", "No price"),
        ("consideration", "touchpoints", "removed", "Website"),
        ("consideration", "touchpoints", "added", "Live chat"),
        ("purchase", "emotion", "emotion", "not scored -> +2"),
    ]
    assert [r.id for r in comp.recommendations["awareness"]] == ["faster"]
    assert comp.recommendations["consideration"] == ()


def test_the_gap_is_shaded_where_both_curves_are_scored(tmp_path: Path) -> None:
    from workbook.journeymap import emotion_gap_svg
    from workbook.theme import Theme

    svg = emotion_gap_svg(["A", "B", "C <&>"], [-1, 0, None], [1, 0, 2], Theme())
    assert svg.count("<polygon") == 1  # A-B only: C has no as-is score
    assert "C &lt;&amp;&gt;" in svg and "C <&>" not in svg


def test_the_comparison_page_escapes_what_was_typed(tmp_path: Path) -> None:
    from workbook.journeymap import render_compare_html

    page = render_compare_html(_mapped(tmp_path / "w"), "pat", standalone=True)
    assert "Show the &lt;price&gt;" in page and "<price>" not in page
    assert "Sees the price in the ad" in page and "http" not in page.replace(
        "http://www.w3.org", ""
    )


def test_the_grid_has_the_to_be_rows_under_the_as_is_ones(tmp_path: Path) -> None:
    import openpyxl
    from click.testing import CliRunner

    from workbook.cli import main

    ws = _mapped(tmp_path / "w")
    out = tmp_path / "pat.xlsx"
    result = CliRunner().invoke(main, ["map", str(ws.path), "-p", "pat", "-o", str(out)])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out)["As-is and to-be map"]
    rows = {r[0].value: [c.value for c in r[1:]] for r in sheet.iter_rows(min_row=4)}
    assert rows["Customer actions"][0] == "Reads a review"
    assert rows["To-be: Customer actions"][0] == "Reads a review\nSees the price in the ad"
    assert rows["To-be: Emotion (-2 to +2)"][:3] == [1, 0, 2]
    assert rows["Emotion gap (to-be minus as-is)"][:3] == [2, 0, None]
    assert "Show the <price>" in rows["To-be: Opportunities and solutions"][0]


def test_the_cli_writes_the_to_be_map_and_the_comparison(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from workbook.cli import main

    ws = _mapped(tmp_path / "w")
    run = CliRunner()
    result = run.invoke(main, ["map", str(ws.path), "--to-be", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Desired journey: Pat" in (tmp_path / "journey-map-pat-to-be.html").read_text()
    result = run.invoke(main, ["map", str(ws.path), "--compare", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "gap +2" in (tmp_path / "journey-map-pat-compare.html").read_text()
    result = run.invoke(main, ["map", str(ws.path), "--compare", "--format", "png"])
    assert result.exit_code != 0 and "--compare writes HTML" in result.output


# ------------------------------------------------------------------------- the report sections

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


def _sections(ws: Any, *ids: str) -> tuple[str, Any]:
    from workbook.sections import render_section, report_context

    ctx = report_context(ws, sections=list(ids), report_date="2026-12-06")
    return "".join(str(render_section(i, ctx)) for i in ids), ctx


def test_the_chain_section_shows_the_hand_worked_numbers(hand: Path) -> None:
    html, ctx = _sections(str(hand), "chain")
    assert "66.7%" in html  # c2p now: 2 of 3
    assert "+6.7 pts, 67% of the effect expected" in html  # rec a, by hand above
    assert "\u22122 days, 50% of the effect expected" in html  # rec b
    assert "moved the wrong way" in html and "expected effect reached" in html
    assert "1 more is proposed and not agreed yet" in html  # rec e
    frame = dict(ctx.tables)["From opportunity to metric"]
    share = frame["Share of expected effect achieved (%)"].tolist()
    assert share == pytest.approx([(200 / 3 - 60) * 10, 50.0, -200 / 3, 100.0])


def test_the_sections_say_politely_when_there_is_nothing(tmp_path: Path) -> None:
    ws = new_workspace("Empty", directory=tmp_path / "e")
    html, ctx = _sections(ws, "to-be", "chain")
    assert "No desired journey has been drafted yet" in html
    assert "No recommendation has been agreed yet" in html
    assert ctx.tables == []


def test_the_to_be_section_on_a_hand_made_map_escapes_and_keeps_its_numbers(
    tmp_path: Path,
) -> None:
    ws = _mapped(tmp_path / "w")
    ws.data.journeys[0].recommendations[0].status = "agreed"
    ws.save()
    html, ctx = _sections(ws, "to-be", "chain")
    assert "Show the &lt;price&gt;" in html and "<price>" not in html
    assert "changes 3 of the 5 stages" in html  # awareness, consideration, purchase
    assert "widest gap is at Awareness, from \u22121 today to +1" in html
    assert "No recommendation is linked yet to the change at Consideration and Purchase" in html
    curve = dict(ctx.tables)["The desired journey (emotion)"]
    assert curve["Gap, to-be minus as-is (points)"].tolist()[:2] == [2.0, 0.0]
    changes = dict(ctx.tables)["The desired journey (changes)"]
    assert len(changes) == 6  # the six changes of test_the_comparison_lists_every_change
    assert 'src="data:image/svg+xml;base64,' in html  # the chart, as a static image


def test_the_demo_shows_its_desired_journeys_and_chain() -> None:
    html, ctx = _sections(str(DEMO), "to-be", "chain")
    ws = open_workspace(DEMO)
    assert all(j.to_be is not None for j in ws.data.journeys)
    amara = ws.data.journeys[0]
    assert amara.stages["consideration"].emotion == -1.5
    assert amara.to_be is not None and amara.to_be["consideration"].emotion == 1.0
    assert "gap +2.5" in html
    recs = [r for j in ws.data.journeys for r in j.recommendations]
    agreed = [r for r in recs if r.status in ("agreed", "in-progress")]
    assert agreed and all(r.kpi and r.agreed_on and r.agreed_value is not None for r in agreed)
    frame = dict(ctx.tables)["From opportunity to metric"]
    assert len(frame) == len(agreed)
