"""The map and the charts in headless Chromium with the network blocked.

Each test opens a page we produce, checks that every chart and the map were drawn, that no
request left the machine and no error was logged, and saves a screenshot to
``tests/_artifacts/`` for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _journey_sample import demo_charts, demo_with_crm

from workbook import charts
from workbook.journeymap import export_map, render_map_html, stage_kpis
from workbook.theme import Theme

pytestmark = [
    pytest.mark.browser,
    # The analytics' grouped funnel trips a pandas deprecation warning (its code, not ours).
    pytest.mark.filterwarnings("ignore:In a future version, the keys of `groups`"),
]


@pytest.fixture(scope="module")
def demo_crm(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return demo_with_crm(tmp_path_factory.mktemp("crm") / "demo")


def test_standalone_map_page_draws_offline(
    demo_crm: Any, offline_page: tuple[Any, Any], artifacts: Path, tmp_path: Path
) -> None:
    page, log = offline_page
    stages = demo_crm.data.stage_ids()
    for persona in demo_crm.data.personas:
        path = export_map(
            demo_crm,
            persona.id,
            tmp_path / f"{persona.id}.html",
            kpis=stage_kpis(demo_crm, persona.id),
        )
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        headers = page.locator(".wb-map__stage")
        assert headers.evaluate_all("els => els.map(e => e.dataset.stage)") == stages
        # Every emotion point is centred over its stage's column.
        points = page.locator(".wb-pt")
        assert points.count() == len(stages)
        for i in range(len(stages)):
            head, point = headers.nth(i).bounding_box(), points.nth(i).bounding_box()
            assert abs((head["x"] + head["width"] / 2) - (point["x"] + point["width"] / 2)) < 2
        assert page.locator(".wb-map__lane[data-lane=kpis]").count() == 1
        assert page.locator(".wb-mark--best-moment").count() >= 2  # in its cell and on the curve
        assert page.locator(".wb-mark--worst-struggle").count() >= 2
        logo = page.locator(".wb-map__head img")
        assert logo.evaluate("img => img.complete && img.naturalWidth > 0")
        page.screenshot(path=str(artifacts / f"map-{persona.id}.png"), full_page=True)
        # The PNG for slides goes through vl-convert, not the browser: keep one to look at.
        export_map(demo_crm, persona.id, artifacts / f"map-{persona.id}-export.png")
    log.assert_clean()


def test_interactive_page_with_every_chart_and_the_map_draws_offline(
    demo_crm: Any, offline_page: tuple[Any, Any], artifacts: Path, tmp_path: Path
) -> None:
    page, log = offline_page
    built = demo_charts(demo_crm)
    theme = Theme.from_workspace(demo_crm)
    persona = demo_crm.data.personas[0].id
    html = charts.page(
        built,
        theme,
        "html-inline",
        title="Journey analysis",
        extra_html=[render_map_html(demo_crm, persona)],
    )
    path = tmp_path / "charts.html"
    path.write_text(html, encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_function(
        f"document.querySelectorAll('figure.wb-chart svg.marks').length === {len(built)}",
        timeout=30_000,
    )
    figures = page.locator("figure.wb-chart")
    assert figures.count() == len(built)
    for i in range(len(built)):
        fig = figures.nth(i)
        # A drawn chart has marks inside its SVG, not just an empty frame.
        assert fig.locator("svg.marks g[class*='mark-']").count() > 0, i
        assert fig.get_attribute("aria-label")
    assert page.locator(".wb-map__stage").count() == len(demo_crm.data.stages)
    page.screenshot(path=str(artifacts / "charts-interactive.png"), full_page=True)
    log.assert_clean()


def test_static_page_with_every_chart_draws_offline(
    demo_crm: Any, offline_page: tuple[Any, Any], artifacts: Path, tmp_path: Path
) -> None:
    page, log = offline_page
    built = demo_charts(demo_crm)
    path = tmp_path / "charts-static.html"
    path.write_text(
        charts.page(built, Theme.from_workspace(demo_crm), "svg", title="Journey analysis"), "utf-8"
    )
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    svgs = page.locator("figure.wb-chart > svg[role=img]")
    assert svgs.count() == len(built)
    for i in range(len(built)):
        box = svgs.nth(i).bounding_box()
        assert box["width"] > 200 and box["height"] > 80
        assert svgs.nth(i).get_attribute("aria-label")
    for i in range(len(built)):
        page.locator("figure.wb-chart").nth(i).screenshot(
            path=str(artifacts / f"chart-{i:02d}.png")
        )
    page.screenshot(path=str(artifacts / "charts-static.png"), full_page=True)
    log.assert_clean()


def test_empty_workspace_map_and_charts_show_placeholders(
    offline_page: tuple[Any, Any], artifacts: Path, tmp_path: Path
) -> None:
    import pandas as pd

    from workbook.model import Client, Workspace

    page, log = offline_page
    ws = Workspace(client=Client(name="New client", slug="new-client"))
    empty = [charts.get(name)(pd.DataFrame()) for name in charts.names()]
    html = charts.page(empty, Theme.from_workspace(ws), "svg", extra_html=[render_map_html(ws)])
    path = tmp_path / "empty.html"
    path.write_text(html, encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    assert page.locator(".wb-map__empty").inner_text().startswith("No personas yet")
    assert page.locator("figure.wb-chart > svg[role=img]").count() == len(empty)
    page.screenshot(path=str(artifacts / "empty-workspace.png"), full_page=True)
    log.assert_clean()
