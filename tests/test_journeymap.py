"""The journey map: layout (stages, lanes, cells, notes), HTML, SVG, PNG, export and CLI."""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from _journey_sample import EVIL, sample_workspace
from click.testing import CliRunner

from workbook.cli import main
from workbook.exceptions import WorkbookError
from workbook.journeymap import (
    build_layout,
    export_map,
    render_map_html,
    render_map_svg,
    stage_kpis,
)
from workbook.model import (
    Client,
    Journey,
    MapCell,
    Persona,
    Recommendation,
    Stage,
    Touchpoint,
    Workspace,
)

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
STAGES = ["awareness", "consideration", "purchase", "retention", "advocacy"]


class _Cells(HTMLParser):
    """Collects the map's headers, cells and emotion points with their data attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = {k: v or "" for k, v in attrs}
        d["tag"] = tag
        self.elements.append(d)

    def with_class(self, cls: str) -> list[dict[str, str]]:
        return [e for e in self.elements if cls in e.get("class", "").split()]


def _parse(html: str) -> _Cells:
    p = _Cells()
    p.feed(html)
    return p


# ------------------------------------------------------------------------------ layout


def test_layout_orders_stages_and_lanes_and_fills_every_cell() -> None:
    layout = build_layout(sample_workspace(), "priya-planner")
    assert [s.id for s in layout.stages] == STAGES
    assert [lane.id for lane in layout.lanes] == [
        "actions",
        "touchpoints",
        "thoughts",
        "pain_points",
        "opportunities",
    ]
    for lane in layout.lanes:
        assert [c.stage for c in lane.cells] == STAGES
    assert layout.emotions == (0.0, 1.5, -1.5, 0.5, None)
    actions = layout.lane("actions")
    assert actions.cells[1].texts == ("Joins a webinar", "Compares three vendors on price")


def test_touchpoints_default_to_the_stage_and_recommendations_sit_next_to_them() -> None:
    tps = build_layout(sample_workspace(), "priya-planner").lane("touchpoints")
    by_stage = {c.stage: c for c in tps.cells}
    # No list in the cell: the touchpoints that serve the stage.
    assert [t.id for t in by_stage["consideration"].touchpoints] == ["webinar", "pricing-page"]
    assert by_stage["consideration"].touchpoints[0].channel_label == "Event"
    # A recommendation on the sales call sits on the sales call.
    call = by_stage["purchase"].touchpoints[0]
    assert call.id == "sales-call" and [r.id for r in call.recommendations] == ["faster-quote"]
    # The cell lists only the onboarding emails; the chat is added for its recommendation.
    retention = by_stage["retention"].touchpoints
    assert [t.id for t in retention] == ["onboarding-email", "support-chat"]
    assert [r.id for r in retention[1].recommendations] == ["chat-in-app"]


def test_stage_wide_recommendations_go_to_the_opportunities_lane() -> None:
    opp = build_layout(sample_workspace(), "priya-planner").lane("opportunities")
    advocacy = opp.cells[STAGES.index("advocacy")]
    assert [r.id for r in advocacy.recommendations] == ["referral-ask"]
    assert all(not c.recommendations for c in opp.cells if c.stage != "advocacy")


def test_best_moment_is_derived_from_scores_when_not_written() -> None:
    layout = build_layout(sample_workspace(), "priya-planner")
    worst = layout.annotation("worst-struggle")
    best = layout.annotation("best-moment")
    assert worst is not None and (worst.stage, worst.derived) == ("purchase", False)
    assert best is not None and (best.stage, best.derived) == ("consideration", True)


def test_kpi_lane_is_added_and_formatted() -> None:
    kpis = {"awareness": {"reach": 1200, "conversion": 0.42, "median_days": 3.25}}
    layout = build_layout(sample_workspace(), "priya-planner", kpis=kpis)
    lane = layout.lanes[-1]
    assert lane.id == "kpis"
    assert lane.cells[0].values == (
        ("Reached", "1,200"),
        ("Converted to next", "42%"),
        ("Median days in stage", "3.2 d"),
    )
    assert lane.cells[1].values == ()


def test_kpi_lane_from_a_funnel_table_shows_only_known_measures() -> None:
    import pandas as pd

    funnel = pd.DataFrame(
        {
            "persona": ["priya-planner", "priya-planner", "sam-switcher"],
            "stage": ["awareness", "consideration", "awareness"],
            "stage_name": ["Awareness", "Consideration", "Awareness"],
            "stage_index": [0, 1, 0],
            "contacts": [500, 100, 7],
            "share_of_first": [1.0, 0.2, 1.0],
            "conversion_to_next": [0.2, float("nan"), 0.5],
            "is_bottleneck": [True, False, False],
        }
    )
    lane = build_layout(sample_workspace(), "priya-planner", kpis=funnel).lane("kpis")
    assert lane.cells[0].values == (
        ("Reached", "500"),
        ("Converted to next", "20%"),
        ("Bottleneck", "biggest drop-off"),
    )
    assert lane.cells[1].values == (("Reached", "100"),)  # NaN conversion is not shown
    assert lane.cells[2].values == ()


def test_chosen_lanes_and_unknown_lanes() -> None:
    layout = build_layout(sample_workspace(), "priya-planner", lanes=["pain_points", "owners"])
    assert [lane.id for lane in layout.lanes] == ["pain_points", "owners"]
    owners = layout.lane("owners").cells
    assert owners[STAGES.index("purchase")].texts == (
        "Discovery call: Sales · Call back within 1 working day",
        "Lead follow-up: Sales ops · Same day",
    )
    with pytest.raises(WorkbookError) as err:
        build_layout(sample_workspace(), "priya-planner", lanes=["feelings"])
    assert "actions" in str(err.value)


def test_unknown_persona_lists_the_known_ones() -> None:
    with pytest.raises(WorkbookError) as err:
        build_layout(sample_workspace(), "nobody")
    assert "priya-planner" in str(err.value) and "sam-switcher" in str(err.value)


def test_persona_without_a_map_gets_placeholders_for_every_lane() -> None:
    layout = build_layout(sample_workspace(), "sam-switcher")
    assert layout.placeholder is None
    non_tp = [lane for lane in layout.lanes if lane.id != "touchpoints"]
    assert all(lane.empty and lane.placeholder for lane in non_tp)
    html = render_map_html(sample_workspace(), "sam-switcher")
    cells = _parse(html)
    placeholders = cells.with_class("wb-map__placeholder")
    assert [p["data-lane"] for p in placeholders] == [
        "actions",
        "thoughts",
        "pain_points",
        "opportunities",
    ]
    assert "No pain points yet" in html


def test_empty_workspace_renders_a_helpful_placeholder(tmp_path: Path) -> None:
    ws = Workspace(client=Client(name="New client", slug="new-client"))
    html = render_map_html(ws)
    assert "No personas yet" in html and 'class="wb-map__grid"' not in html
    svg = render_map_svg(ws)
    ET.fromstring(svg)
    assert "No personas yet" in svg
    assert export_map(ws, None, tmp_path / "empty.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------ HTML


def test_html_columns_cells_and_curve_follow_stage_order() -> None:
    html = render_map_html(sample_workspace(), "priya-planner")
    p = _parse(html)
    assert [e["data-stage"] for e in p.with_class("wb-map__stage")] == STAGES
    cells = p.with_class("wb-map__cell")
    assert [c["data-stage"] for c in cells if c["data-lane"] == "actions"] == STAGES
    # Each emotion point sits over the centre of its stage's column.
    points = p.with_class("wb-pt")
    assert [pt["data-stage"] for pt in points] == STAGES
    for i, pt in enumerate(points):
        left = float(pt["style"].split("left:")[1].split("%")[0])
        assert left == pytest.approx((i + 0.5) / len(STAGES) * 100, abs=1e-3)
    assert "wb-pt--none" in points[-1]["class"]  # advocacy has no score
    assert [r["data-recommendation"] for r in p.with_class("wb-rec")] == [
        "faster-quote",
        "chat-in-app",
        "referral-ask",
    ]


def test_html_escapes_user_text_and_makes_no_request() -> None:
    html = render_map_html(sample_workspace(), "priya-planner", standalone=True)
    assert html.startswith("<!DOCTYPE html>")
    assert EVIL not in html and "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "http://" not in html and "https://" not in html
    assert "@media print" in html


def test_html_of_the_demo_inlines_the_logo_and_marks_best_and_worst() -> None:
    from workbook.store import open_workspace

    ws = open_workspace(DEMO)
    for persona in ws.data.personas:
        html = render_map_html(ws, persona.id, standalone=True)
        p = _parse(html)
        assert [e["data-stage"] for e in p.with_class("wb-map__stage")] == ws.data.stage_ids()
        logo = [e for e in p.elements if e["tag"] == "img"]
        assert logo and logo[0]["src"].startswith("data:image/svg+xml;base64,")
        marks = [e["class"] for e in p.with_class("wb-pt__mark")]
        assert any("best-moment" in m for m in marks) and any("worst-struggle" in m for m in marks)
        assert "https://" not in html and "http://" not in html


# ------------------------------------------------------------------------------ SVG / PNG


def _big_workspace() -> Workspace:
    stages = [Stage(id=f"stage-{i}", name=f"Stage {i} with a longer name") for i in range(8)]
    tps = [
        Touchpoint(
            id=f"tp-{i}",
            name=f"Touchpoint {i} " + "detail " * (i % 4),
            channel="email",
            stages=[f"stage-{i % 8}"],
        )
        for i in range(40)
    ]
    cells = {
        s.id: MapCell(
            actions=["A long action that has to wrap over several lines in a narrow column " * 2],
            emotion=(i % 5) - 2,
        )
        for i, s in enumerate(stages)
    }
    return Workspace(
        client=Client(name="Big", slug="big"),
        personas=[Persona(id="p", name="P")],
        stages=stages,
        touchpoints=tps,
        journeys=[
            Journey(
                persona="p",
                stages=cells,
                recommendations=[
                    Recommendation(id="r1", text="Fix it", stage="stage-3", touchpoint="tp-3")
                ],
            )
        ],
    )


def test_svg_with_8_stages_and_40_touchpoints_stays_readable() -> None:
    ws = _big_workspace()
    svg = render_map_svg(ws, "p")
    root = ET.fromstring(svg)
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for i in range(40):
        assert any(t.startswith(f"Touchpoint {i} ") or t == f"Touchpoint {i}" for t in texts), i
    # Columns at least 170 px wide; the long action wraps into lines that fit one column.
    assert float(root.get("width", "0")) >= 160 + 8 * 170
    action_lines = [
        t
        for t in texts
        if t and t in ("A long action that has to wrap over several lines in a narrow column " * 2)
    ]
    assert len(action_lines) >= 8 * 4
    assert max(len(t) for t in action_lines) <= 26
    html = render_map_html(ws, "p")
    assert len(_parse(html).with_class("wb-tp")) == 40


def test_svg_escapes_user_text() -> None:
    svg = render_map_svg(sample_workspace(), "priya-planner")
    root = ET.fromstring(svg)  # well-formed despite the markup in the pain point
    assert root.find("{http://www.w3.org/2000/svg}title").text == "Journey map: Priya the Planner"
    assert "<script" not in svg and "&lt;script&gt;" in svg


@pytest.mark.parametrize("fmt", ["html", "svg", "png"])
def test_export_writes_each_format_whole_and_shareable(tmp_path: Path, fmt: str) -> None:
    path = export_map(sample_workspace(), "priya-planner", tmp_path / "out" / f"map.{fmt}")
    data = path.read_bytes()
    magic = {"html": b"<!DOCTYPE html>", "svg": b"<svg ", "png": b"\x89PNG"}[fmt]
    assert data.startswith(magic)
    assert sorted(os.listdir(path.parent)) == [f"map.{fmt}"]  # no temp file left
    assert stat.S_IMODE(path.stat().st_mode) & 0o044  # readable by others: it is meant to be sent


def test_export_refuses_unknown_formats_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError) as err:
        export_map(sample_workspace(), "priya-planner", tmp_path / "map.pdf")
    assert ".png" in str(err.value)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ KPIs and CLI


# The analytics' grouped funnel trips a pandas deprecation warning (its code, not ours).
pytestmark_pandas4 = pytest.mark.filterwarnings("ignore:In a future version, the keys of `groups`")


@pytest.fixture(scope="module")
def demo_crm(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from _journey_sample import demo_with_crm

    return demo_with_crm(tmp_path_factory.mktemp("crm") / "demo")


@pytestmark_pandas4
def test_stage_kpis_from_the_analytics_fill_the_kpi_lane(demo_crm: Any) -> None:
    persona = demo_crm.data.personas[0].id
    kpis = stage_kpis(demo_crm, persona)
    assert list(kpis) == demo_crm.data.stage_ids()
    first = kpis["awareness"]
    assert first["reach"] > 0 and 0 <= first["conversion"] <= 1 and first["median_days"] > 0
    layout = build_layout(demo_crm, persona, kpis=kpis)
    labels = [label for label, _ in layout.lane("kpis").cells[0].values]
    assert labels == ["Reached", "Converted to next", "Median days in stage"]


def test_cli_exports_one_file_per_persona(demo_copy: Path, tmp_path: Path) -> None:
    from workbook.store import open_workspace

    personas = [p.id for p in open_workspace(demo_copy).data.personas]
    (tmp_path / "maps").mkdir()  # -o names a file: its folder must exist
    result = CliRunner().invoke(
        main, ["map", str(demo_copy), "-o", str(tmp_path / "maps" / "client.svg")]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == sorted(
        f"client-{p}.svg" for p in personas
    )
    result = CliRunner().invoke(main, ["map", str(demo_copy)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (demo_copy / "reports" / "maps").iterdir()) == sorted(
        f"journey-map-{p}.html" for p in personas
    )


def test_cli_exports_one_persona_as_png_and_reports_errors_in_one_line(
    demo_copy: Path, tmp_path: Path
) -> None:
    from workbook.store import open_workspace

    persona = open_workspace(demo_copy).data.personas[0].id
    out = tmp_path / "slide.png"
    result = CliRunner().invoke(main, ["map", str(demo_copy), "--persona", persona, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"
    result = CliRunner().invoke(
        main, ["map", str(demo_copy), "--persona", "nobody", "-o", str(out)]
    )
    assert result.exit_code == 1
    assert "no persona 'nobody'" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["map", str(demo_copy), "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 1 and ".png" in result.output


@pytestmark_pandas4
def test_cli_adds_the_kpi_lane_from_imported_data(demo_crm: Any, tmp_path: Path) -> None:
    persona = demo_crm.data.personas[1].id
    out = tmp_path / "map.html"
    args = ["map", str(demo_crm.path), "-p", persona, "--kpis", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lanes = [e["data-lane"] for e in _parse(out.read_text()).with_class("wb-map__lane")]
    assert lanes[-1] == "kpis"
    assert "Median days in stage" in out.read_text()
