"""End to end in JupyterLab: step 5's notebook shows the gap (T chart and ranking) in the
Analyse form, and a finding typed there reaches the workspace (issue 17)."""

from __future__ import annotations

import shutil
import time
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
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.kernel]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "05-data.ipynb", root / "notebooks")
    shutil.copytree(
        DEMO, root / "data" / "demo", ignore=shutil.ignore_patterns("reports", "*.lock")
    )
    with jupyter_lab(tmp_path, root) as (base, token):
        yield f"{base}/lab/tree/notebooks/05-data.ipynb?token={token}", root


def test_the_analyse_form_draws_the_gap_and_keeps_a_finding(
    lab: tuple[str, Path], artifacts: Path
) -> None:
    from playwright.sync_api import sync_playwright

    from workbook.store import read_workspace

    exe = require_chromium()
    url, root = lab
    workspace = root / "data" / "demo"
    log = PageLog()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        block_network(context, log, (url.split("/lab/")[0], "data:", "blob:", "about:"))
        page: Any = context.new_page()
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
        try:
            page.goto(url)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            kernel_ready(page, poll=0.5)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            view = page.locator(".wb-form-analysis .wb-gap-view")
            view.locator("svg").first.wait_for(timeout=120_000)
            text = view.inner_text()
            assert "Convert more considering buyers into owners" in text
            assert "Amara: going on from Consideration" in text
            form = page.locator(".wb-form-analysis")
            view.scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / "analyse-form.png"), full_page=False)
            form.locator(".wb-finding-new input").fill("Delivery slots <only weekdays>")
            form.locator("button.wb-finding-add").click()
            deadline = time.monotonic() + 30
            while not any(
                f.name == "Delivery slots <only weekdays>"
                for f in read_workspace(workspace).analysis.findings
            ):
                assert time.monotonic() < deadline, "the finding never reached the file"
                time.sleep(0.3)
            assert form.locator(".wb-callback-error").inner_text() == ""
        finally:
            context.close()
            browser.close()
    assert log.page_errors == []
    assert log.blocked_requests == []
