"""The desired-journey form as a consultant sees it in JupyterLab: draft, edit, the overlay.

A real ``jupyter lab`` (conftest's helper) and headless Chromium; requests leaving the
server are blocked and recorded. The form is edited in the browser and the change is read
back from the file and from the overlaid curves under the form.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest
from conftest import (
    CHROMIUM_FLAGS,
    DEMO,
    PageLog,
    block_network,
    jupyter_lab,
    kernel_ready,
    require_chromium,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.kernel]

SOFIA = "sofia-studio-owner"


def test_the_to_be_editor_in_jupyterlab(tmp_path: Path, artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    from workbook.store import open_workspace

    exe = require_chromium()
    root = tmp_path / "root"
    shutil.copytree(DEMO, root / "demo", ignore=shutil.ignore_patterns("reports", "*.lock"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import workbook.forms.design\nfrom workbook.store import open_workspace\n\n"
            'ws = open_workspace("demo")\nform = workbook.forms.design.form(ws)\n'
            f'form.one("wb-tobe-persona").value = "{SOFIA}"\n'
            'form.one("wb-tobe-stage").value = "purchase"\nform'
        )
    ]
    nbformat.write(nb, root / "tobe.ipynb")
    log = PageLog()
    with jupyter_lab(tmp_path, root) as (base, token), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1800})
        block_network(context, log, (base, "data:", "blob:", "about:"))
        page = context.new_page()
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
        try:
            page.goto(f"{base}/lab/tree/tobe.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            kernel_ready(page, poll=0.5)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            preview = page.locator(".wb-form-design .wb-tobe-preview")
            preview.locator("svg polygon").first.wait_for(timeout=90_000)
            # Sofia's purchase stage is -1 today and +0.5 in the demo's desired journey
            assert "gap +1.5" in preview.inner_text()
            box = page.locator(".wb-form-design .wb-map-emotion input")
            box.fill("2")
            box.press("Tab")
            deadline = time.monotonic() + 30
            while True:
                to_be = open_workspace(root / "demo").data.journey(SOFIA).to_be
                if to_be is not None and to_be["purchase"].emotion == 2:
                    break
                assert time.monotonic() < deadline, "the emotion typed never reached the file"
                time.sleep(0.3)
            page.wait_for_function(
                "() => document.querySelector('.wb-form-design .wb-tobe-preview')"
                ".innerText.includes('gap +3')",
                timeout=30_000,
            )
            assert page.locator(".wb-form-design .wb-callback-error").inner_text() == ""
            page.locator(".wb-form-design").screenshot(path=str(artifacts / "lab-tobe-form.png"))
        finally:
            context.close()
            browser.close()
    assert log.blocked_requests == [], f"requests left the machine: {log.blocked_requests}"
    assert log.page_errors == [], f"script errors: {log.page_errors}"
