"""The demo report as the client sees it: headless Chromium, network blocked.

Every chart and map drew, no console error, no request left the machine, the PDF print has
every section; a workspace full of markup renders it as text and runs no script.
Screenshots and the PDF are kept in ``tests/_artifacts/`` for a person to look at.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import require_chromium

from workbook import sections
from workbook.report import print_pdf, render_report

pytestmark = [pytest.mark.browser, pytest.mark.kernel, pytest.mark.slow]

EVIL_SCRIPT = "<script>window.__xss = 1; alert('xss')</script>"
EVIL_IMG = "<img src=x onerror=\"window.__xss = 2; alert('xss')\">"
EVIL_JINJA = "{{ 7*7 }} {% if true %}jinja{% endif %}"


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = Path(__file__).resolve().parent.parent
    ws = tmp_path_factory.mktemp("browser") / "demo"
    shutil.copytree(root / "data" / "demo", ws, ignore=shutil.ignore_patterns("reports", "*.lock"))
    return render_report(ws, report_date="2026-11-20").html


def _open(page: Any, html: Path) -> None:
    page.goto(html.resolve().as_uri(), wait_until="load")


def test_demo_report_draws_everything_offline(
    demo_report: Path, offline_page: tuple[Any, Any], artifacts: Path
) -> None:
    page, log = offline_page
    _open(page, demo_report)
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => ({ok: e.complete && e.naturalWidth > 0, alt: e.alt}))"
    )
    # every section that draws a chart on the demo shows it (a data: SVG that loaded)
    drawn = {
        sid
        for sid in sections.names()
        if page.locator(f"#{sid} .wb-chart img, #{sid} img.wb-chart").count() > 0
    }
    assert {"funnel", "timing", "touchpoints", "channels", "scoring", "gaps", "to-be"} <= drawn
    assert all(i["ok"] for i in images), [i for i in images if not i["ok"]]
    maps = page.locator(".wb-journey .wb-map").count()
    assert maps == 3, "one journey map per persona of the demo"
    assert page.locator(".wb-journey svg").count() >= 1, "the emotion curve is drawn"
    for sid in sections.names():
        assert page.locator(f"#{sid}").count() == 1, sid
    assert page.locator("pre, .jp-InputArea, .jp-InputPrompt").count() == 0, "code or prompts shown"
    assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    page.screenshot(path=str(artifacts / "report-demo.png"), full_page=True)
    log.assert_clean()


def test_demo_report_prints_every_section(demo_report: Path, artifacts: Path) -> None:
    # The module's browser fixture runs Playwright's sync API in this thread; print_pdf
    # starts its own, so it runs in another thread (as it does from the command line).
    from concurrent.futures import ThreadPoolExecutor

    require_chromium()  # skip on a developer's machine without it, fail in CI
    with ThreadPoolExecutor(1) as pool:
        pdf = pool.submit(print_pdf, demo_report, artifacts / "report-demo.pdf").result()
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is needed to read the PDF back")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    squashed = " ".join(text.split())
    for sid in sections.names():
        title = sections.get(sid).title
        if sid == "cover":
            assert "Tideway Rowing Co." in squashed
        else:
            assert title in squashed, f"section {title!r} missing from the PDF"
    pages = text.count("\f")
    assert pages >= 12, f"every section starts a new page, got only {pages} pages"
    # Each five-stage journey map prints on at most two landscape pages: its title on the
    # first, its measured KPIs (the last lane) on the first or the second, and its
    # recommendations on the second, with no straggler page after.
    leaves = text.split("\f")
    for persona in ("Amara", "Graham", "Sofia"):
        start = next(i for i, leaf in enumerate(leaves) if f"Journey map: {persona}" in leaf)
        two = leaves[start] + leaves[start + 1]
        assert "Measured KPIs" in two, f"{persona}'s map runs past two pages"
        assert "RECOMMENDATIONS ON THIS MAP" in leaves[start + 1].upper()
        after = leaves[start + 2]  # the next map, or the next section
        assert "Journey map:" in after or (
            "Measured KPIs" not in after and "ON THIS MAP" not in after.upper()
        ), f"{persona}'s map runs past two pages"


def test_markup_in_workspace_texts_is_shown_as_text(
    demo_copy: Path, offline_page: tuple[Any, Any], artifacts: Path
) -> None:
    path = demo_copy / "workspace.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["client"]["name"] = f"Acme {EVIL_SCRIPT}"
    data["client"]["engagement"] = EVIL_IMG
    data["personas"][0]["name"] = f"Persona {EVIL_IMG}"
    data["personas"][0]["summary"] = EVIL_JINJA
    data["objectives"][0]["title"] = EVIL_SCRIPT + EVIL_JINJA
    first_map = data["journeys"][0]
    first_map["recommendations"][0]["text"] = EVIL_IMG + EVIL_JINJA
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")

    html = render_report(demo_copy, sections=["summary", "objectives", "personas", "journeys"]).html
    page, log = offline_page
    _open(page, html)
    text = page.inner_text("body")
    assert EVIL_SCRIPT in text and EVIL_IMG in text and EVIL_JINJA in text
    assert page.evaluate("window.__xss === undefined"), "a script from the workspace ran"
    assert page.locator("img[src='x']").count() == 0
    assert page.title().startswith("Acme <script>")
    page.screenshot(path=str(artifacts / "report-markup.png"), full_page=False)
    log.assert_clean()
