"""End to end in JupyterLab: open the personas notebook, type in the form, restart, see it kept.

A real ``jupyter lab`` on a free localhost port (random token, temporary config, runtime and
IPython folders, so nothing lands in the home folder), driven by headless Chromium. Requests
to anything but that server are blocked and recorded: the forms must not call out.
"""

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

NAME = "Amara E2E <check>"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A running JupyterLab serving a folder with notebooks/ and data/demo; yields (url, root)."""
    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "02-personas.ipynb", root / "notebooks")
    ignore = shutil.ignore_patterns("reports", "*.lock")
    shutil.copytree(DEMO, root / "data" / "demo", ignore=ignore)
    with jupyter_lab(tmp_path, root) as (base, token):
        yield f"{base}/lab/tree/notebooks/02-personas.ipynb?token={token}", root


@pytest.fixture
def lab_page(lab: tuple[str, Path]) -> Iterator[tuple[Any, PageLog, str, Path]]:
    exe = require_chromium()
    from playwright.sync_api import sync_playwright

    url, root = lab
    origin = url.split("/lab/")[0]
    log = PageLog()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        block_network(context, log, (origin, "data:", "blob:", "about:"))
        page = context.new_page()
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
        try:
            yield page, log, url, root
        finally:
            context.close()
            browser.close()


def _run_all(page: Any) -> None:
    """Clear outputs, run every cell, and wait until the last cell's feedback is shown."""
    kernel_ready(page, poll=0.5)
    # Not awaited: the command's promise settles only when every cell has run.
    page.evaluate(
        """() => {
            const app = window.jupyterapp;
            app.commands.execute('notebook:clear-all-cell-outputs')
                .then(() => app.commands.execute('notebook:run-all-cells'));
        }"""
    )
    page.wait_for_selector(".wb-form-personas .wb-persona-name input", timeout=90_000)
    page.locator(".jp-OutputArea-output .wb-feedback").nth(1).wait_for(timeout=60_000)
    kernel_ready(page, poll=0.5)


def test_personas_form_saves_and_survives_a_kernel_restart(
    lab_page: tuple[Any, PageLog, str, Path], artifacts: Path
) -> None:
    from workbook.store import open_workspace

    page, log, url, root = lab_page
    workspace = root / "data" / "demo"
    persona_id = open_workspace(workspace).data.personas[0].id
    before = (workspace / "workspace.yaml").read_bytes()

    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    _run_all(page)

    name_input = page.locator(".wb-form-personas .wb-persona-name input")
    assert name_input.input_value() == open_workspace(workspace).data.personas[0].name
    name_input.fill(NAME)
    page.locator(".wb-form-personas button.wb-save").click()

    deadline = time.monotonic() + 30
    while open_workspace(workspace).data.persona(persona_id).name != NAME:
        assert time.monotonic() < deadline, "the name typed in the form never reached the file"
        time.sleep(0.3)
    assert (workspace / "workspace.yaml").read_bytes() != before
    assert page.locator(".wb-form-personas .wb-callback-error").inner_text() == ""

    # A new kernel reads the file again: the form must show what was saved.
    page.evaluate(
        """async () => {
            const panel = window.jupyterapp.shell.currentWidget;
            await panel.sessionContext.session.kernel.restart();
        }"""
    )
    _run_all(page)
    page.wait_for_function(
        """name => [...document.querySelectorAll('.wb-form-personas .wb-persona-name input')]
                   .some(e => e.value === name)""",
        arg=NAME,
        timeout=60_000,
    )
    page.locator(".wb-form-personas .wb-persona-name input").first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "lab-personas-form.png"))
    assert log.blocked_requests == [], f"requests left the machine: {log.blocked_requests}"
    assert log.page_errors == [], f"script errors: {log.page_errors}"
