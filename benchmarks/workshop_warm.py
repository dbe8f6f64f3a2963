"""Benchmark: the data step (5) opened as the very first step of the workshop app.

Step 5's form computes the funnel, which imports pandas, Arrow and DuckDB (about a second).
The app (:mod:`workbook.forms.workshop`) imports them on the kernel's event loop once it is
drawn (``WARM_MODULES``), so in Voilà's preheated kernel they are there before anyone clicks.
This measures, each in a fresh Python process (as a fresh kernel), the time to build step 5
when it is the first step opened after step 1:

- **cold** (the baseline): right after ``app()``, before the event loop has run;
- **warm** (what ships): after the app has waited on a running event loop, as a preheated
  kernel waits for its page.

Run from the repository root::

    .venv/bin/python benchmarks/workshop_warm.py [--runs 5]

Target: warm at most half the cold time on the demo. In Chromium on the served app (3 pages
each, load about 6 on 2 cores) the click on Data to its form on screen went from a median of
1.39 s to 1.09 s; the rest is drawing the form's widgets in the page.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"

_CHILD = r"""
import asyncio, json, sys, time
import workbook.forms.workshop as w

async def main(warm):
    app = w.app(sys.argv[1])
    if warm:
        loaded = lambda: all(m in sys.modules for m in w.WARM_MODULES)
        deadline = time.monotonic() + 60
        while not loaded() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    start = time.perf_counter()
    app.show("data")
    took = time.perf_counter() - start
    app.close()
    return took

print(json.dumps(asyncio.run(main(sys.argv[2] == "warm"))))
"""


def _once(workspace: Path, mode: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(workspace), mode],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return float(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "demo"
        shutil.copytree(DEMO, workspace, ignore=shutil.ignore_patterns("reports", "*.lock"))
        times: dict[str, list[float]] = {"cold": [], "warm": []}
        for _ in range(args.runs):  # alternate, so a change of load hits both alike
            for mode in times:
                times[mode].append(_once(workspace, mode))
    cold, warm = (statistics.median(times[m]) for m in ("cold", "warm"))
    print(f"step 5 built as the first step opened, median of {args.runs} fresh processes:")
    print(f"  cold (imports on the click): {cold:.2f} s  {[round(t, 2) for t in times['cold']]}")
    print(f"  warm (imported while idle):  {warm:.2f} s  {[round(t, 2) for t in times['warm']]}")
    print(f"  warm / cold: {warm / cold:.2f} (target at most 0.50)")


if __name__ == "__main__":
    main()
