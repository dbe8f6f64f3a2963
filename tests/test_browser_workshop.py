"""``workbook workshop`` in headless Chromium: the app a client sees in the room.

One server for the module (Voilà's start is paid once): ``workbook workshop`` on a copy of
the demo, as a subprocess, exactly as a consultant starts it. Every request the page makes
is recorded and must go to 127.0.0.1; no code cell may be visible; a form edit must reach
``workspace.yaml``; a wrong token is refused; Ctrl+C (SIGINT) ends the server, its kernels
with it, with status 0. Screenshots of four steps go to ``tests/_artifacts/``.
"""

from __future__ import annotations

import http.client
import shutil
import signal
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CHROMIUM_FLAGS,
    DEMO,
    ROOT,
    PageLog,
    block_network,
    jupyter_lab,
    kernel_ready,
    require_chromium,
    workshop_app,
)

pytestmark = pytest.mark.browser

#: Time for the page to show the app: Voilà starts a kernel that imports the package.
LOAD_MS = 120_000


class Served:
    def __init__(self, url: str, process: subprocess.Popen[str], workspace: Path) -> None:
        self.url = url
        self.process = process
        self.workspace = workspace
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.token = urllib.parse.parse_qs(parts.query)["token"][0]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("workshop")
    workspace = tmp / "demo"
    shutil.copytree(DEMO, workspace, ignore=shutil.ignore_patterns("reports", "*.lock"))
    with workshop_app(tmp, workspace) as (url, process):
        yield Served(url, process, workspace)


@pytest.fixture(scope="module")
def pw() -> Iterator[Any]:
    """Playwright for the module (its sync API runs one at a time)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def page(served: Served, pw: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    """One page on the app for the module; yields (page, every request URL, page errors)."""
    requests: list[str] = []
    errors: list[str] = []
    browser = pw.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_FLAGS)
    try:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        pg = context.new_page()
        pg.on("request", lambda r: requests.append(r.url))
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(served.url)
        pg.locator(".wb-workshop-nav").wait_for(timeout=LOAD_MS)
        pg.locator(".wb-workshop-step-objectives .wb-form-objectives").wait_for(timeout=LOAD_MS)
        yield pg, requests, errors
    finally:
        browser.close()


def _open_step(pg: Any, step: str) -> None:
    pg.locator(f"button.wb-nav-{step}").click()
    pg.locator(f".wb-workshop-step-{step} .wb-form").first.wait_for(timeout=60_000)
    pg.wait_for_timeout(500)  # let the forms settle before a screenshot


def _off_machine(requests: list[str]) -> list[str]:
    return [
        u
        for u in requests
        if not u.startswith(("data:", "blob:", "about:"))
        and urllib.parse.urlsplit(u).hostname != "127.0.0.1"
    ]


def test_app_shows_no_code_and_every_request_stays_local(
    page: tuple[Any, list[str], list[str]], artifacts: Path
) -> None:
    pg, requests, errors = page
    pg.screenshot(path=str(artifacts / "workshop-1-objectives.png"))
    assert requests, "no request recorded"
    assert _off_machine(requests) == []
    # Voilà strips the code: no input area, no editor, anywhere on the page
    for css in (".jp-InputArea", ".jp-InputArea-editor", ".cm-editor", ".CodeMirror"):
        assert pg.locator(css).count() == 0, css
    assert "import workbook" not in pg.inner_text("body")
    nav = pg.locator(".wb-workshop-nav button.wb-nav-step").all_inner_texts()
    assert [t.strip() for t in nav] == [
        "1. Objectives",
        "2. Personas",
        "3. Touchpoints",
        "4. Stages",
        "5. Data",
        "6. Visualise",
        "7. Refine",
    ]
    assert "Discover and define \u00b7 Measure" in pg.locator(".wb-nav-phase").first.inner_text()
    assert "Tideway Rowing Co." in pg.locator(".wb-workshop-bar").inner_text()
    # the browser tab (and the projector's window list) names the client
    assert pg.title() == "Tideway Rowing Co. \u00b7 Journey workshop"
    assert errors == []


#: Labels, buttons and picked choices whose text is wider than their box (cut with "...").
_CUT = """(step) => { const cut = [];
  const ctx = document.createElement('canvas').getContext('2d');
  for (const e of document.querySelectorAll(`.wb-workshop-step-${step} .widget-label,
      .wb-workshop-step-${step} select:not([multiple])`)) {
    if (!e.offsetParent || !e.textContent.trim()) continue;
    if (e.tagName === 'SELECT') {
      const o = e.options[e.selectedIndex]; if (!o) continue;
      ctx.font = getComputedStyle(e).font;
      // the text, the select's padding and its arrow (about 24 px) must fit
      if (ctx.measureText(o.text).width + 24 > e.clientWidth) cut.push(o.text);
    } else if (e.scrollWidth > e.clientWidth + 1) cut.push(e.textContent.trim());
  }
  return cut; }"""


def test_on_a_projector_nothing_is_cut_and_the_map_keeps_the_margins(
    page: tuple[Any, list[str], list[str]], artifacts: Path
) -> None:
    pg, _requests, errors = page
    pg.set_viewport_size({"width": 1366, "height": 768})
    try:
        # the ICP questions are long labels; the refine step's persona is a long name
        for step in ("personas", "refine"):
            _open_step(pg, step)
            assert pg.evaluate(_CUT, step) == [], step
            if step == "personas":  # the ICP list says ICP, not "Icp"
                assert pg.locator(".wb-icp-select label").inner_text() == "ICP"
        assert (
            "Amara, the time-poor Londoner"
            in pg.locator(".wb-refine-persona select option:checked")
            .inner_text()
            .replace("\xa0", " ")  # ipywidgets keeps an option's spaces as no-break ones
        )
        # the step header does not repeat the bar (client, revision) or the navigation
        header = pg.locator(".wb-workshop-step-refine .wb-step-header").inner_text()
        assert "Tideway" not in header and "revision" not in header
        assert "1. Define objectives" not in header
        # the editable map lines up with the header and the forms above it
        _open_step(pg, "visualise")
        pg.locator(".wb-workshop-step-visualise .wb-pt").first.wait_for(timeout=30_000)
        box = pg.evaluate(
            """() => ['.wb-workshop-step-visualise .wb-step-header', '.wb-mc', '.wb-map__grid',
                      '.wb-workshop-main'].map(s => {
                const r = document.querySelector(s).getBoundingClientRect();
                return [r.left, r.right]; })"""
        )
        header_box, canvas, grid, main = box
        assert abs(canvas[0] - header_box[0]) < 0.5 and abs(canvas[1] - header_box[1]) < 0.5
        assert grid[1] <= header_box[1] + 0.5 < main[1]
        pg.screenshot(path=str(artifacts / "workshop-6-visualise-1366x768.png"))
        # the top bar reaches the window's top and left edges
        bar = pg.locator(".wb-workshop-bar").bounding_box()
        assert bar is not None and bar["x"] == 0 and bar["y"] == 0
    finally:
        pg.set_viewport_size({"width": 1366, "height": 900})
    assert errors == []


#: The app's type size, the map's client name (its height against its line height) and the
#: labels cut with "..." on the data step (its check box included).
_TYPE = """() => { const c = document.querySelector('.wb-workshop-step-visualise .wb-map__client');
  const cut = [...document.querySelectorAll('.wb-workshop-step-data label')].filter(
    (e) => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent);
  return { font: getComputedStyle(document.querySelector('.wb-workshop')).fontSize,
           lines: c.getBoundingClientRect().height / parseFloat(getComputedStyle(c).lineHeight),
           cut }; }"""


def test_the_type_grows_with_the_window_and_the_map_header_keeps_to_one_line(
    page: tuple[Any, list[str], list[str]], artifacts: Path
) -> None:
    """15px type at 1366 wide, 5.1px + 0.72vw at 1920 (18.924px, under the 20px cap); the
    client's name in the map's header on one line at both; no label cut on the data step."""
    pg, _requests, errors = page
    try:
        for width, height, font in ((1366, 768, 15.0), (1920, 1080, 5.1 + 0.72 * 19.2)):
            pg.set_viewport_size({"width": width, "height": height})
            _open_step(pg, "data")
            _open_step(pg, "visualise")
            pg.locator(".wb-workshop-step-visualise .wb-map__client").wait_for(timeout=30_000)
            shown = pg.evaluate(_TYPE)
            assert float(shown["font"].removesuffix("px")) == pytest.approx(font, abs=0.01)
            assert shown["lines"] < 1.5, (width, shown)
            assert shown["cut"] == [], (width, shown)
            pg.screenshot(path=str(artifacts / f"workshop-6-visualise-{width}x{height}.png"))
            for step in ("personas", "refine"):  # the long labels and the long names
                _open_step(pg, step)
                assert pg.evaluate(_CUT, step) == [], (width, step)
    finally:
        pg.set_viewport_size({"width": 1366, "height": 900})
    assert errors == []


#: The text each "no choice" dropdown shows, as the page draws it (its checked option).
_SHOWN = """(sel) => [...document.querySelectorAll(sel)].map(e =>
  e.selectedIndex < 0 ? '' : e.options[e.selectedIndex].text.replace(/\\u00a0/g, ' '))"""


def test_dropdowns_with_no_choice_show_their_label_on_every_opening(
    served: Served, pw: Any, artifacts: Path
) -> None:
    """Step 5's System shows "Detect" and step 7's Touchpoint "(none)", never a blank box.

    Each page has its own kernel (its own hash seed, which decided whether ipywidgets showed
    a None-valued option or nothing), so four pages, each opening both steps twice.
    """
    browser = pw.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_FLAGS)
    shown: list[tuple[str, ...]] = []
    try:
        for _ in range(4):
            pg = browser.new_page(viewport={"width": 1366, "height": 768})
            try:
                pg.goto(served.url)
                pg.locator(".wb-workshop-step-objectives .wb-form-objectives").wait_for(
                    timeout=LOAD_MS
                )
                crm_goal = pg.evaluate(_SHOWN, ".wb-workshop-step-objectives select")
                for _twice in range(2):
                    _open_step(pg, "data")
                    system = pg.evaluate(_SHOWN, ".wb-data-system select")
                    _open_step(pg, "refine")
                    touchpoint = pg.evaluate(_SHOWN, ".wb-annotation-touchpoint select")
                    after = pg.evaluate(_SHOWN, ".wb-diff-after select")
                    shown.append((*system, *touchpoint, *after))
                assert "" not in crm_goal, crm_goal
            finally:
                pg.close()
    finally:
        browser.close()
    assert shown == [("Detect", "(none)", "now (saved workspace)")] * 8


def test_steps_open_and_a_typed_change_is_saved(
    page: tuple[Any, list[str], list[str]], served: Served, artifacts: Path
) -> None:
    pg, requests, errors = page
    from workbook.store import open_workspace

    after = open_workspace(served.workspace).revision + 1  # the revision the edit saves
    _open_step(pg, "personas")
    quote = pg.locator(".wb-form-personas .wb-persona-quote textarea")
    quote.fill("I row before the school run, if it is quiet enough")
    quote.press("Tab")  # a text field saves when it loses focus
    file = served.workspace / "workspace.yaml"
    deadline = time.monotonic() + 20
    while "I row before the school run" not in file.read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, "the typed quote never reached workspace.yaml"
        time.sleep(0.2)
    status = pg.locator(".wb-form-personas .wb-status")
    deadline = time.monotonic() + 20
    while f"Saved (revision {after})" not in status.inner_text():
        assert time.monotonic() < deadline, f"status: {status.inner_text()!r}"
        time.sleep(0.2)
    pg.locator(".wb-workshop-bar", has_text=f"(revision {after})").wait_for(timeout=20_000)
    pg.screenshot(path=str(artifacts / "workshop-2-personas.png"))
    _open_step(pg, "visualise")
    # the editable map (anywidget) is drawn: its emotion points are there to drag
    pg.locator(".wb-workshop-step-visualise .wb-pt").first.wait_for(timeout=30_000)
    pg.screenshot(path=str(artifacts / "workshop-6-visualise.png"))
    _open_step(pg, "refine")
    pg.screenshot(path=str(artifacts / "workshop-7-refine.png"))
    # going back shows the step as it was left, with the saved change
    _open_step(pg, "personas")
    assert "school run" in quote.input_value()
    assert _off_machine(requests) == []
    assert pg.locator(".wb-callback-error pre").count() == 0
    assert errors == []


def _get(served: Served, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", errors="replace")
    finally:
        conn.close()


def test_a_wrong_or_missing_token_is_refused(served: Served) -> None:
    for path in ("/?token=not-the-token", "/"):
        status, body = _get(served, path)
        assert status in (302, 401, 403), (path, status)
        assert "jupyter-config-data" not in body and "Tideway" not in body
    status, body = _get(served, f"/?token={served.token}")
    assert status == 200 and "jupyter-config-data" in body  # the right token is let in


def test_ctrl_c_stops_the_server_and_its_kernels(
    served: Served, page: tuple[Any, list[str], list[str]]
) -> None:
    import psutil

    proc = served.process
    children = psutil.Process(proc.pid).children(recursive=True)
    kernels = [c for c in children if "ipykernel" in " ".join(c.cmdline())]
    assert kernels, "no kernel runs for the open page"
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 0
    took = time.monotonic() - start
    assert took < 15
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert alive == [], f"left running: {[p.cmdline() for p in alive]}"
    time.sleep(0.3)
    output = "\n".join(proc.lines)  # type: ignore[attr-defined]
    assert "Workshop stopped. Nothing is lost" in output
    assert str(served.workspace / "workspace.yaml") in output
    assert "Traceback" not in output


@pytest.mark.slow
@pytest.mark.kernel
def test_the_same_notebook_runs_in_jupyterlab(tmp_path: Path, artifacts: Path, pw: Any) -> None:
    """notebooks/workshop.ipynb in JupyterLab, on its default workspace (../data/demo)."""
    exe = require_chromium()

    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "workshop.ipynb", root / "notebooks")
    shutil.copytree(
        DEMO, root / "data" / "demo", ignore=shutil.ignore_patterns("reports", "*.lock")
    )
    log = PageLog()
    with jupyter_lab(tmp_path, root) as (base, token):
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        block_network(context, log, (base, "data:", "blob:", "about:"))
        pg = context.new_page()
        pg.on("pageerror", lambda e: log.page_errors.append(str(e)))
        try:
            pg.goto(f"{base}/lab/tree/notebooks/workshop.ipynb?token={token}")
            pg.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            kernel_ready(pg, poll=0.5)
            pg.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            pg.locator(".wb-workshop .wb-form-objectives").wait_for(timeout=90_000)
            pg.locator("button.wb-nav-stages").click()
            pg.locator(".wb-workshop-step-stages .wb-form-stages").wait_for(timeout=60_000)
            assert "Tideway Rowing Co." in pg.locator(".wb-workshop-bar").inner_text()
            pg.screenshot(path=str(artifacts / "workshop-in-jupyterlab.png"))
            assert log.blocked_requests == []
            assert log.page_errors == []
        finally:
            context.close()
            browser.close()
