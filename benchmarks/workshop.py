"""Benchmark: from a mouse-up on an emotion point to the redrawn map, in the browser.

The editable journey map (:mod:`workbook.forms.mapcanvas`) sends each drag to Python, which
validates and saves it through the form binding and sends the whole map back; the page then
redraws it. This measures that round trip the way a person sees it, in headless Chromium
driven by Playwright, on the workshop app's server (Voilà with ``workbook workshop``'s own
template, on 127.0.0.1, every other request aborted):

- **round trip**: ``performance.now()`` at the mouse-up, in the page, to the first animation
  frame after the map was redrawn from the answer to that drag (the map's JavaScript records
  it in ``globalThis.wbMapCanvasTimings``); includes the save of ``workspace.yaml``;
- baselines measured in the same run, with no round trip: **local drag**, the point and the
  curve following the pointer (a pointer move to the next frame), and **local redraw**, the
  whole map drawn again from the data already in the page (to the next frame).

Each drag moves the purchase point of the first persona to another half point (a real
change every time, so every drag saves). Medians over ``--drags`` drags (default 20), on:

- **demo**: the shipped demo client (``data/demo``);
- **large**: the demo grown to 6 personas and 100 touchpoints, each map naming the
  touchpoints of every stage (as ``benchmarks/forms.py`` builds it).

Run from the repository root::

    .venv/bin/python benchmarks/workshop.py
    .venv/bin/python benchmarks/workshop.py --drags 40

Target: at most 100 ms from mouse-up to the redrawn map (median) on both workspaces.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work" / "workshop"
DEMO = ROOT / "data" / "demo"
TARGET_MS = 100.0
STAGE = "purchase"

_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": [
                "import os\n",
                "import workbook.forms.mapcanvas\n",
                "from workbook.store import open_workspace\n",
                "\n",
                'workbook.forms.mapcanvas.form(open_workspace(os.environ["BENCH_WORKSPACE"]))',
            ],
        }
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def _prepare(name: str, text: str | None) -> Path:
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    if text is None:
        shutil.copytree(DEMO, folder, ignore=shutil.ignore_patterns("reports", "*.lock"))
    else:
        folder.mkdir(parents=True)
        (folder / "history").mkdir()
        (folder / "workspace.yaml").write_text(text, encoding="utf-8")
    return folder


def _serve(workspace: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Voilà as ``workbook workshop`` runs it, on a notebook that shows only the map."""
    from workbook.workshop import TEMPLATE_ROOT, voila_command

    notebook = WORK / "map.ipynb"
    notebook.write_text(json.dumps(_NOTEBOOK), encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    token = secrets.token_hex(16)
    jupyter = WORK / "jupyter"
    env = {
        **os.environ,
        "BENCH_WORKSPACE": str(workspace),
        "JUPYTER_PATH": str(TEMPLATE_ROOT),
        "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
        "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
        "JUPYTER_DATA_DIR": str(jupyter / "data"),
        "IPYTHONDIR": str(jupyter / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    log = (WORK / "voila.log").open("wb")
    proc = subprocess.Popen(
        voila_command(port, token, notebook), env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/?token={token}", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("Voilà did not start; see " + str(WORK / "voila.log")) from None
            time.sleep(0.3)
    return proc, f"{base}/?token={token}"


def _drag(page: Any, score: float) -> None:
    """Drag the point to ``score``: 50 - 17.5 x score percent from the top of the band."""
    page.locator(".wb-mc .wb-map__curve").scroll_into_view_if_needed()  # the whole band
    point = page.locator(f'.wb-mc .wb-pt[data-stage="{STAGE}"]')
    box = point.bounding_box()
    band = page.locator(".wb-mc .wb-map__curve").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    target = band["y"] + band["height"] * (50 - 17.5 * score) / 100
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, 4):
        page.mouse.move(x, y + (target - y) * k / 3)
    page.mouse.up()


def run(name: str, text: str | None, drags: int, browser: Any) -> dict[str, Any]:
    workspace = _prepare(name, text)
    proc, url = _serve(workspace)
    try:
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        off_machine: list[str] = []

        def route(r: Any) -> None:
            if r.request.url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:")):
                r.continue_()
            else:
                off_machine.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.goto(url)
        page.locator(".wb-mc .wb-map__grid").wait_for(timeout=120_000)
        page.wait_for_timeout(500)
        scores = [-1.5, 1.5, -0.5, 2.0, -2.0, 0.5, 1.0, -1.0]
        for i in range(drags + 1):  # the first drag warms up: not counted
            before = page.evaluate("globalThis.wbMapCanvasTimings.length")
            _drag(page, scores[i % len(scores)])
            page.wait_for_function(
                """n => globalThis.wbMapCanvasTimings.slice(n)
                        .some(t => t.kind === 'roundtrip')""",
                arg=before,
                timeout=30_000,
            )
            page.wait_for_function(  # and saved, before the next drag
                "n => globalThis.wbMapCanvasTimings.slice(n).some(t => t.kind === 'saved')",
                arg=before,
                timeout=30_000,
            )
            if i == 0:
                page.evaluate("globalThis.wbMapCanvasTimings.length = 0")
            page.wait_for_timeout(150)  # let the watcher of the file settle between drags
        timings = page.evaluate("globalThis.wbMapCanvasTimings")
        redraws = [
            page.evaluate("document.querySelector('.wb-mc').wbRedraw()") for _ in range(drags)
        ]
        errors = page.locator(".wb-callback-error pre").count()
        context.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    roundtrip = [t["ms"] for t in timings if t["kind"] == "roundtrip"]
    local = [t["ms"] for t in timings if t["kind"] == "local"]
    saved = [t["ms"] for t in timings if t["kind"] == "saved"]
    assert len(roundtrip) == drags, f"{len(roundtrip)} round trips for {drags} drags"
    assert off_machine == [], f"requests left the machine: {off_machine}"
    assert errors == 0, "the form showed an error"
    from workbook.store import open_workspace

    ws = open_workspace(workspace)
    return {
        "workspace": name,
        "personas": len(ws.data.personas),
        "touchpoints": len(ws.data.touchpoints),
        "drags": drags,
        "roundtrip": statistics.median(roundtrip),
        "p90": sorted(roundtrip)[int(0.9 * (len(roundtrip) - 1))],
        "local": statistics.median(local),
        "saved": statistics.median(saved) if saved else float("nan"),
        "redraw": statistics.median(redraws),
        "revision": ws.revision,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drags", type=int, default=20, help="drags per workspace")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from forms import _large_text  # the same large workspace as the forms benchmark
    from playwright.sync_api import sync_playwright

    WORK.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            results = [
                run("demo", None, args.drags, browser),
                run("large", _large_text(), args.drags, browser),
            ]
        finally:
            browser.close()
    print(
        f"{'workspace':<10} {'personas':>8} {'touchpoints':>11} {'drags':>6} "
        f"{'mouse-up->map ms':>16} {'p90':>6} {'->saved ms':>10} {'local drag ms':>13} "
        f"{'local redraw ms':>15} {'ratio':>6}"
    )
    for r in results:
        print(
            f"{r['workspace']:<10} {r['personas']:>8} {r['touchpoints']:>11} {r['drags']:>6} "
            f"{r['roundtrip']:>16.1f} {r['p90']:>6.1f} {r['saved']:>10.1f} {r['local']:>13.1f} "
            f"{r['redraw']:>15.1f} {r['roundtrip'] / r['redraw']:>5.1f}x"
        )
    print("->saved: mouse-up to the status line saying the change is in workspace.yaml")
    print("ratio: the round trip's median against the full local redraw's (no Python, no save)")
    worst = max(r["roundtrip"] for r in results)
    verdict = "met" if worst <= TARGET_MS else "NOT met"
    print(
        f"target: at most {TARGET_MS:g} ms from mouse-up to the redrawn map (median): "
        f"{verdict} ({worst:.1f} ms)"
    )


if __name__ == "__main__":
    main()
