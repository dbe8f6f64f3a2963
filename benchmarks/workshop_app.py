"""Benchmark: how soon the workshop app shows, and what opening each step costs.

The app (:mod:`workbook.forms.workshop`) builds a step's forms the first time the step is
opened. This measures, in a fresh Python process per measurement (as a fresh Voilà kernel):

- **lazy** (what ships): ``app()`` on the workspace, which builds step 1 only, then each other
  step as it is opened (the time of each);
- **eager** (the baseline): every step's forms built before the app is shown.

on the demo client and on a workspace grown from it to 6 personas and 100 touchpoints (see
``benchmarks/forms.py``). Times include importing the forms' modules, as in a new kernel.

With ``--browser`` it also starts ``workbook workshop`` on a copy of the demo and times, in
headless Chromium, the first paint (from the address typed to step 1's form on screen: Voilà
starts a kernel, which imports the package and builds the app) and each step's first opening
(from the click to its form on screen). The steps are clicked one after the other at once;
after the first click the app builds the other steps in the background, so a step clicked
while another is being built waits for it (in a workshop, minutes pass between steps).

Run from the repository root::

    .venv/bin/python benchmarks/workshop_app.py             # in-process figures
    .venv/bin/python benchmarks/workshop_app.py --browser   # and the served app in Chromium

Target: the first paint in the kernel (lazy) at most half the eager one on both workspaces.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work" / "workshop_app"
DEMO = ROOT / "data" / "demo"
STEPS = ("objectives", "personas", "touchpoints", "stages", "data", "visualise", "refine")


def _child(kind: str, folder: str) -> None:
    """One measurement in this (fresh) process; prints its figures as JSON."""
    start = time.perf_counter()
    import workbook.forms.workshop as workshop

    app = workshop.app(folder)
    if kind == "lazy":
        first = time.perf_counter() - start
        for step in STEPS[1:]:
            app.show(step)
    else:  # eager: every step's forms built before anything is shown
        for step in STEPS[1:]:
            app.show(step)
        app.show(STEPS[0])
        first = time.perf_counter() - start
    steps = dict(app.build_seconds)
    errors = app.callback_errors
    app.close()
    print(json.dumps({"first": first, "steps": steps, "errors": errors}))


def _measure(kind: str, folder: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(folder)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["errors"]:
        raise SystemExit(f"the app reported errors: {result['errors']}")
    return result


def _workspaces() -> dict[str, Path]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from forms import _large_text

    folders = {}
    for name, text in (("demo", None), ("large", _large_text())):
        folder = WORK / name
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(DEMO, folder, ignore=shutil.ignore_patterns("reports", "*.lock"))
        if text is not None:
            (folder / "workspace.yaml").write_text(text, encoding="utf-8")
        folders[name] = folder
    return folders


def in_process(repeats: int) -> None:
    for name, folder in _workspaces().items():
        runs = {
            kind: [_measure(kind, folder) for _ in range(repeats)] for kind in ("lazy", "eager")
        }
        lazy = statistics.median(r["first"] for r in runs["lazy"])
        eager = statistics.median(r["first"] for r in runs["eager"])
        print(f"\n{name}: first paint in a fresh kernel (median of {repeats})")
        print(f"  lazy (ships)      {lazy * 1000:7.0f} ms")
        print(f"  eager (baseline)  {eager * 1000:7.0f} ms   lazy/eager = {lazy / eager:.2f}")
        print("  each step's forms, built when first opened (median ms):")
        for step in STEPS:
            ms = statistics.median(r["steps"][step] for r in runs["lazy"]) * 1000
            print(f"    {step:<12} {ms:6.0f}")


def _first_paint(browser: Any, url: str, steps: bool) -> float:
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    t = time.perf_counter()
    page.goto(url)
    page.locator(".wb-workshop-nav").wait_for(timeout=120_000)
    nav = time.perf_counter() - t
    page.locator(".wb-form-objectives").wait_for(timeout=120_000)
    first = time.perf_counter() - t
    print(f"  first paint: navigation {nav * 1000:.0f} ms, step 1's form {first * 1000:.0f} ms")
    if steps:
        for step in STEPS[1:]:
            t = time.perf_counter()
            page.locator(f"button.wb-nav-{step}").click()
            page.locator(f".wb-workshop-step-{step} .wb-form").first.wait_for(timeout=60_000)
            print(f"    {step:<12} {(time.perf_counter() - t) * 1000:6.0f} ms from click to form")
    page.close()
    return first


def in_browser(wait: float) -> None:
    """The served demo in Chromium: Voilà as ``workbook workshop`` starts it (a kernel
    preheated with the app), against Voilà starting the kernel when the page asks (the
    baseline). The page is opened ``wait`` seconds after the server listens, as when a
    consultant copies the address."""
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import CHROMIUM_FLAGS, chromium_path, jupyter_env
    from playwright.sync_api import sync_playwright

    import workbook.workshop as served

    exe = chromium_path()
    if exe is None:
        raise SystemExit("--browser needs Chromium (apt-get install chromium)")
    tmp = WORK / "browser"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    workspace = tmp / "demo"
    shutil.copytree(DEMO, workspace, ignore=shutil.ignore_patterns("reports", "*.lock"))
    env = {**served._environment(workspace), **jupyter_env(tmp)}
    env["JUPYTER_PATH"] = served._environment(workspace)["JUPYTER_PATH"]
    firsts: dict[bool, float] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        for label, preheat in (("as shipped (preheated kernel)", True), ("baseline", False)):
            port = served._free_port()
            cmd = served.voila_command(port, "benchmark")
            if not preheat:
                cmd = [c for c in cmd if not c.startswith(("--preheat_kernel", "--pool_size"))]
            proc = subprocess.Popen(
                cmd, env=env, cwd=served.NOTEBOOK.parent,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                while not served._listening(port):
                    time.sleep(0.2)
                time.sleep(wait)
                print(f"\nserved demo in Chromium, {label}")
                url = f"http://127.0.0.1:{port}/?token=benchmark"
                firsts[preheat] = _first_paint(browser, url, True)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        browser.close()
    print(f"\nfirst paint, shipped / baseline = {firsts[True] / firsts[False]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--browser", action="store_true", help="also time the served app")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds before the page opens")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    if args.repeats:
        in_process(args.repeats)
    if args.browser:
        in_browser(args.wait)


if __name__ == "__main__":
    main()
