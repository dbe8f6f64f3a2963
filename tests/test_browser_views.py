"""Two notebooks of one workspace open in JupyterLab: each sees the other's saves, and asks.

A real ``jupyter lab`` on a free localhost port (random token; temporary config, runtime and
IPython folders) serves two copies of the personas notebook, each with its own kernel, on one
copy of the demo workspace. Two headless Chromium pages play two consultants: they edit
different fields and each finds the other's edit on screen without a click, and both on disk;
then they change the same field and the second one is offered both values.
"""

from __future__ import annotations

import re
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

FORM = ".wb-form-personas"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """JupyterLab serving notebooks/a.ipynb and b.ipynb on data/demo; yields (base, token, root)."""
    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    for name in ("a", "b"):
        shutil.copy(ROOT / "notebooks" / "02-personas.ipynb", root / "notebooks" / f"{name}.ipynb")
    shutil.copytree(
        DEMO, root / "data" / "demo", ignore=shutil.ignore_patterns("reports", "*.lock")
    )
    with jupyter_lab(tmp_path, root) as (base, token):
        yield base, token, root


def _run_all(page: Any) -> None:
    kernel_ready(page)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def _in_kernel(page: Any, code: str) -> None:
    """Run ``code`` in the page's kernel (test set-up, not something a consultant does)."""
    page.evaluate(
        """async code => {
            const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            await kernel.requestExecute({code}).done;
        }""",
        code,
    )


def _wait_value(page: Any, css: str, value: str, timeout: float = 20_000) -> float:
    """Seconds until the field ``css`` of the form shows ``value`` on the page."""
    start = time.monotonic()
    page.wait_for_function(
        """([css, value]) => [...document.querySelectorAll(css)].some(e => e.value === value)""",
        arg=[css, value],
        timeout=timeout,
    )
    return time.monotonic() - start


def _on_disk(root: Path) -> Any:
    from workbook.store import open_workspace

    return open_workspace(root / "data" / "demo").data


def _wait_disk(root: Path, check: Any, what: str, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        data = _on_disk(root)
        if check(data):
            return data
        assert time.monotonic() < deadline, f"never on disk: {what}"
        time.sleep(0.1)


def test_two_notebooks_see_each_others_saves_and_ask_on_the_same_field(
    lab: tuple[str, str, Path], artifacts: Path
) -> None:
    exe = require_chromium()
    from playwright.sync_api import sync_playwright

    base, token, root = lab
    persona = _on_disk(root).personas[0]
    name_css = f"{FORM} .wb-persona-name input"
    summary_css = f"{FORM} .wb-persona-summary textarea"
    logs = {"a": PageLog(), "b": PageLog()}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        pages: dict[str, Any] = {}
        try:
            for view in ("a", "b"):  # two people: two browser contexts, two kernels
                context = browser.new_context(viewport={"width": 1300, "height": 1000})
                block_network(context, logs[view], (base, "data:", "blob:", "about:"))
                page = context.new_page()
                page.on("pageerror", lambda e, v=view: logs[v].page_errors.append(str(e)))
                page.goto(f"{base}/lab/tree/notebooks/{view}.ipynb?token={token}")
                pages[view] = page
            for page in pages.values():
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
                _run_all(page)
            for page in pages.values():
                page.wait_for_selector(name_css, timeout=90_000)
                kernel_ready(page)
            a, b = pages["a"], pages["b"]
            assert a.locator(name_css).input_value() == persona.name

            # Different fields: each save appears in the other view, no click. B is still
            # typing its summary when A's save arrives, and keeps what it typed.
            b.locator(summary_css).fill("Summary typed in B")
            a.locator(name_css).fill("Amara from A")
            a.locator(name_css).press("Tab")
            b_saw = _wait_value(b, name_css, "Amara from A")
            assert b.locator(summary_css).input_value() == "Summary typed in B"
            b.locator(summary_css).press("Tab")
            a_saw = _wait_value(a, summary_css, "Summary typed in B")
            saved = _wait_disk(
                root,
                lambda d: (
                    (d.personas[0].name, d.personas[0].summary)
                    == ("Amara from A", "Summary typed in B")
                ),
                "both edits",
            )
            assert saved.personas[0].id == persona.id
            assert b.locator(summary_css).input_value() == "Summary typed in B"
            assert a.locator(name_css).input_value() == "Amara from A"
            for page in (a, b):
                assert page.locator(f"{FORM} .wb-callback-error").inner_text() == ""
            a.screenshot(path=str(artifacts / "lab-two-views-a.png"))

            # The same field in both, before either has seen the other's save (both views
            # stop following for a moment, as when two people press Tab at the same time).
            for page in (a, b):
                _in_kernel(page, "import workbook.forms._binding as _b; _b._WATCHER.interval = 30")
            time.sleep(0.4)  # let a poll already under way finish
            a.locator(name_css).fill("Amara, as A says")
            b.locator(name_css).fill("Amara, as B says")
            a.locator(name_css).press("Tab")
            _wait_disk(root, lambda d: d.personas[0].name == "Amara, as A says", "A's name")
            b.locator(name_css).press("Tab")
            choice = b.locator(f"{FORM} .wb-conflict-choice")
            choice.wait_for(timeout=15_000)
            text = choice.inner_text()
            assert "Amara, as A says" in text and "Amara, as B says" in text, text
            assert "persona Amara from A, name was changed in another view" in text, text
            status = b.locator(f"{FORM} .wb-status")
            status.filter(has_text="Not saved yet").wait_for(timeout=10_000)
            assert _on_disk(root).personas[0].name == "Amara, as A says"  # nothing overwritten
            choice.scroll_into_view_if_needed()
            b.screenshot(path=str(artifacts / "lab-two-views-conflict.png"))
            for page in (a, b):
                _in_kernel(page, "_b._WATCHER.interval = 0.25")
            b.locator(f"{FORM} button.wb-use-mine").click()
            _wait_disk(root, lambda d: d.personas[0].name == "Amara, as B says", "B's choice")
            _wait_value(a, name_css, "Amara, as B says")
            b.locator(f"{FORM} .wb-conflict-choice").wait_for(state="detached", timeout=10_000)
            status.filter(has_text=re.compile(r"^Saved \(revision")).wait_for(timeout=10_000)
            print(f"\nfollowed another view's save in {b_saw:.2f} s and {a_saw:.2f} s (page)")
        finally:
            browser.close()
    for log in logs.values():
        assert log.blocked_requests == [], f"requests left the machine: {log.blocked_requests}"
        assert log.page_errors == [], f"script errors: {log.page_errors}"
