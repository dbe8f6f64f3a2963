"""Report sections of Analyse, Design and build and Validate (issue 17): gaps, campaign,
launch and moved. Hand-made workspaces and rows; the demo for the gap analysis end to end."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from workbook.charts.gaps import chosen_label, deep_label, gap_rows, t_chart_spec
from workbook.model import (
    KPI,
    ChannelMix,
    ContentItem,
    GapFinding,
    LaunchCheck,
    Objective,
    Persona,
    Process,
    SocialPost,
    Touchpoint,
)
from workbook.monitor import HISTORY_FILE, untested
from workbook.sections import render_section, report_context
from workbook.store import OpenWorkspace, new_workspace

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def ws(tmp_path: Path) -> OpenWorkspace:
    w = new_workspace("Acme", directory=tmp_path)
    w.data.personas = [Persona(id="amara", name="Amara, the Londoner")]
    w.save()
    return w


def _render(ws: OpenWorkspace, section: str) -> tuple[str, list[str]]:
    ctx = report_context(ws.path, sections=[section], report_date="2026-12-06")
    html = str(render_section(section, ctx))
    return html, [name for name, _ in ctx.tables]


def _data_row(component: str, kind: str, stage: str | None, group: str, missed: float) -> dict:
    return {
        "component": component,
        "kind": kind,
        "stage": stage,
        "item": None,
        "group": group,
        "value": 0.1,
        "benchmark": 0.2,
        "benchmark_from": "other groups",
        "shortfall": 0.1,
        "contacts": 100,
        "missed": missed,
    }


def test_findings_join_the_wide_ranking_by_their_estimate() -> None:
    names = {"amara": "Amara, the Londoner", "consideration": "Consideration"}
    wide = [
        _data_row("conversion:consideration:amara", "conversion", "consideration", "amara", 50),
        _data_row("time:consideration:amara", "time", "consideration", "amara", 10),
    ]
    finding = GapFinding(
        id="late",
        name="Late replies",
        stage="consideration",
        persona="amara",
        contacts=30,
        note="after 9 pm",
    )
    rows = gap_rows(wide, [finding], names)
    assert [(r["rank"], r["component"]) for r in rows] == [
        (1, "conversion:consideration:amara"),
        (2, "finding:late"),
        (3, "time:consideration:amara"),
    ]
    assert rows[0]["label"] == "Amara: going on from Consideration"
    assert rows[1]["label"] == "Amara: Late replies (Consideration)"
    assert rows[1]["source"] == "finding" and rows[1]["missed"] == 30.0
    assert chosen_label("finding:late", rows) == "Amara: Late replies (Consideration)"
    assert chosen_label(None, rows) is None
    assert chosen_label("open:email:gone", rows) == "open:email:gone"

    deep = [
        {"label": "used Pricing (touchpoint)", "missed": 7.0},
        {"label": "Referrals (lead source)", "missed": 0.0},
    ]
    spec = t_chart_spec(rows, deep, "Amara: going on from Consideration")
    across, column = spec["vconcat"]
    assert [v["colour"] for v in across["data"]["values"]] == [
        "weakest",
        "finding (estimate)",
        "from the CRM data",
    ]
    assert [v["missed"] for v in across["data"]["values"]] == [50, 30, 10]
    assert across["encoding"]["x"]["sort"] is None  # the ranking's order, not alphabetical
    assert column["data"]["values"] == [{"label": "used Pricing (touchpoint)", "missed": 7.0}]
    names = {"video": "Video reviews", "london": "London, the capital"}
    assert deep_label("not video", "touchpoint", names) == "did not use Video reviews"
    assert deep_label("video", "touchpoint", names) == "used Video reviews"
    assert deep_label("Referrals", "lead_source", names) == "came from Referrals"
    assert deep_label("london", "segment", names) == "segment: London"


def test_gaps_without_data_lists_the_findings_escaped(ws: OpenWorkspace) -> None:
    html, _ = _render(ws, "gaps")
    assert "wb-note" in html and "No CRM data" in html
    ws.data.analysis.findings = [GapFinding(id="f", name=EVIL, persona="amara", contacts=40)]
    ws.data.analysis.chosen = "finding:f"
    ws.data.analysis.why = "Because " + EVIL
    ws.save()
    html, tables = _render(ws, "gaps")
    assert EVIL not in html and "&lt;script&gt;" in html
    assert "What we will act on" in html and "chosen" in html
    assert tables == ["Gaps: go wide, go deep (wide)"]


def test_gaps_on_the_demo_ranks_the_planted_component_first(demo_copy: Path) -> None:
    from workbook.store import open_workspace

    w = open_workspace(demo_copy)
    w.data.analysis.chosen = "conversion:consideration:amara-time-poor-londoner"
    w.data.analysis.why = "Answer WhatsApp until 11 pm."
    w.save()
    ctx = report_context(demo_copy, sections=["gaps"])
    html = str(render_section("gaps", ctx))
    tables = dict(ctx.tables)
    wide = tables["Gaps: go wide, go deep (wide)"]
    first = wide.iloc[0]
    assert first["Component id"] == "conversion:consideration:amara-time-poor-londoner"
    assert first["Chosen to act on"] == "yes"
    assert "Amara: going on from Consideration (chosen)" in html
    assert "data:image/svg+xml;base64," in html  # the T chart
    deep = tables["Gaps: go wide, go deep (deep)"]
    assert set(deep["Split by"]) >= {"touchpoint", "lead_source", "segment"}
    assert "Answer WhatsApp until 11 pm." in html


def test_campaign_section(ws: OpenWorkspace) -> None:
    html, _ = _render(ws, "campaign")
    assert "No campaign has been planned yet" in html
    d = ws.data
    d.content = [
        ContentItem(
            id="a",
            title=EVIL,
            stage="awareness",
            automated=True,
            date=dt.date(2026, 12, 9),
            personas=["amara"],
        ),
        ContentItem(
            id="b",
            title="Noise video",
            stage="consideration",
            date=dt.date(2026, 12, 2),
            status="ready",
        ),
    ]
    d.campaign.social = [SocialPost(id="p", post="Reel", date=dt.date(2026, 12, 3))]
    d.campaign.channel_mix = [ChannelMix(id="m", persona="amara", channel="whatsapp", share=0.4)]
    ws.save()
    ctx = report_context(ws.path, sections=["campaign"], report_date="2026-12-06")
    html = str(render_section("campaign", ctx))
    tables = [name for name, _ in ctx.tables]
    assert EVIL not in html and "&lt;script&gt;" in html
    # on the page a persona goes by its first name; the spreadsheet keeps the full one
    assert "<td>Amara</td>" in html and "Amara, the Londoner" not in html
    plan = dict(ctx.tables)["Campaign control sheet (plan)"]
    assert "Amara, the Londoner" in set(plan["Personas"])
    assert "2 pieces of content planned (1 sent automatically), 0 search terms" in html
    assert "1 social post in the calendar" in html
    # next due: the earliest dated item not yet published
    assert "Next due: <strong>Noise video</strong>, 2 Dec 2026" in html
    assert "<td>9\u00a0Dec\u00a02026</td>" in html  # a date keeps to one line
    assert "No content is planned yet for Purchase, Retention, Advocacy" in html
    assert "40.0%" in html and "data:image/svg+xml" in html  # the mix table and chart
    assert tables == [
        "Campaign control sheet (SEO)",
        "Campaign control sheet (plan)",
        "Campaign control sheet (posts)",
        "Campaign control sheet (mix)",
    ]


def test_launch_section_counts_and_names_what_is_untested(ws: OpenWorkspace) -> None:
    html, _ = _render(ws, "launch")
    assert "No launch test has been planned yet" in html
    d = ws.data
    d.touchpoints = [
        Touchpoint(id="wa", name="WhatsApp concierge", channel="whatsapp"),
        Touchpoint(id="mail", name="Nurture", channel="email"),
        Touchpoint(id="shop", name="Showroom", channel="store"),
    ]
    d.processes = [
        Process(id="reply", name="Answer questions", key=True, touchpoints=["wa"]),
        Process(id="deliver", name="Delivery", key=True),
        Process(id="misc", name="Not key"),
    ]
    d.validation.launch = [
        LaunchCheck(
            id="a",
            item="Reply after 9 pm",
            process="reply",
            who="Sales",
            when=dt.date(2026, 12, 1),
            result="pass",
            evidence="4 min",
        ),
        LaunchCheck(id="b", item=EVIL, touchpoint="mail", result="fail", evidence="bounced"),
        LaunchCheck(id="c", item="Checkout", result="not-run"),
    ]
    ws.save()
    # by hand: processes tested {reply}; channels tested {email (mail), whatsapp (via reply)}
    assert untested(ws.data) == (["Delivery"], ["Store"])
    html, tables = _render(ws, "launch")
    assert "1 of 3 tests passed, 1 failed, 1 not run yet." in html
    assert "Not ready to launch" in html
    assert EVIL not in html and "<li>&lt;script&gt;alert(1)&lt;/script&gt;: bounced</li>" in html
    assert "Key process: Delivery" in html and "Channel: Store" in html
    assert tables == ["Launch checklist"]


def test_moved_points_each_kpi_back_to_a_phase(ws: OpenWorkspace) -> None:
    html, _ = _render(ws, "moved")
    assert "No CRM data" in html
    d = ws.data
    d.objectives = [Objective(id="convert", title="Convert", baseline=8, target=12, unit="%")]
    d.measurement.kpis = [
        KPI(id="days", name="Days to buy", baseline=41, target=28, unit="days"),
        KPI(id="opens", name="Opens", unit="%"),
    ]
    d.validation.threshold = 0.05
    ws.save()
    data = ws.path / "data"
    data.mkdir(exist_ok=True)
    (data / "manifest.json").write_text(json.dumps({"sources": {}}), encoding="utf-8")
    html, _ = _render(ws, "moved")
    assert "have not been measured after an import yet" in html

    def values(conv: float, days: float, opens: float) -> dict:
        return {
            "objective:convert": {
                "kind": "objective",
                "name": "Convert",
                "metric": "m",
                "unit": "%",
                "value": conv,
            },
            "kpi:days": {
                "kind": "kpi",
                "name": "Days to buy",
                "metric": "m",
                "unit": "days",
                "value": days,
            },
            "kpi:opens": {
                "kind": "kpi",
                "name": "Opens",
                "metric": "m",
                "unit": "%",
                "value": opens,
            },
        }

    history = [{"at": "2026-11-03T09:00:00+00:00", "data": {}, "values": values(10, 40, 30)}]
    (data / HISTORY_FILE).write_text(json.dumps(history), encoding="utf-8")
    html, _ = _render(ws, "moved")
    assert "One measurement of the KPIs has been kept so far (3 Nov 2026)" in html
    # conversion 10 -> 9.6 (-4%, under the 5% threshold), days 40 -> 27 (-32.5%, at target),
    # opens 30 -> 36 (+20%, no target)
    history.append({"at": "2026-12-01T09:00:00+00:00", "data": {}, "values": values(9.6, 27, 36)})
    (data / HISTORY_FILE).write_text(json.dumps(history), encoding="utf-8")
    html, tables = _render(ws, "moved")
    assert "2 numbers moved by 5% or more since the measurement of 3 Nov 2026." in html
    assert "Convert" not in html.split("<table")[1]
    assert (
        "Days to buy</td><td>40.0 days</td><td>27.0 days</td><td>-32%</td><td>Design and build"
        in html
    )
    assert "Opens</td><td>30.0%</td><td>36.0%</td><td>+20%</td><td>Measure" in html
    # the one that stayed within the threshold is shown as held, with its own change
    held = html.split("Held within 5%")[1]
    assert "1 number measured both times stayed within 5% of its value" in held
    assert "Convert</td><td>10.0%</td><td>9.6%</td><td>-4.0%</td>" in held
    assert tables == ["What moved since last time"]
    ctx = report_context(ws.path, sections=["moved"], report_date="2026-12-06")
    render_section("moved", ctx)
    ((_, sheet),) = ctx.tables
    assert sheet["KPI"].tolist() == ["Days to buy", "Opens", "Convert"]  # moved, then held
    assert sheet["Better or worse"].tolist()[-1] == "held within 5%"
    assert sheet["Change (%)"].tolist()[-1] == pytest.approx(-4.0)  # 10% -> 9.6%
    # a move the wrong way goes back to Analyse
    history.append({"at": "2026-12-05T09:00:00+00:00", "data": {}, "values": values(8.0, 27, 36)})
    (data / HISTORY_FILE).write_text(json.dumps(history), encoding="utf-8")
    html, _ = _render(ws, "moved")
    assert "1 number moved by 5% or more" in html and "1 of them the wrong way" in html
    assert "Convert</td><td>9.6%</td><td>8.0%</td><td>-17%</td><td>Analyse" in html


def test_an_email_component_is_drilled_by_send_time_frequency_and_subject(
    demo_copy: Path,
) -> None:
    from workbook.store import open_workspace

    w = open_workspace(demo_copy)
    w.data.analysis.chosen = "open:email:graham-returning-athlete"
    w.save()
    ctx = report_context(demo_copy, sections=["gaps"])
    html = str(render_section("gaps", ctx))
    deep = dict(ctx.tables)["Gaps: go wide, go deep (deep)"]
    assert set(deep["Split by"]) == {"weekday", "hour", "frequency", "subject"}
    assert "Deep: Graham: opens of email" in html
    # a subject line is named by the test and the variant the workspace gives them
    assert "shown Nurture email 1 subject line: " in html
