"""Report speed: ours against the bare papermill + nbconvert CLIs, and batch against serial.

Run from the repository root: ``.venv/bin/python benchmarks/reports.py [--clients 20]``.

1. ``workbook report`` on the demo client vs ``papermill`` then
   ``jupyter nbconvert --to html --no-input`` on the same notebook (target: at most 0.7x);
2. ``workbook batch`` of N copies of the demo with ``--jobs 2`` vs the same N rendered one by
   one with ``workbook report`` (target: at least 1.7x faster);
3. the same batch again with nothing changed (target: under 5% of the first batch).

Work files go to ``benchmarks/_work/`` (ignored by git). Every figure and ratio is printed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORK = ROOT / "benchmarks" / "_work"


def _run(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _copy_demo(dest: Path, slug: str) -> Path:
    shutil.copytree(
        ROOT / "data" / "demo", dest, ignore=shutil.ignore_patterns("reports", "*.lock")
    )
    data = yaml.safe_load((dest / "workspace.yaml").read_text(encoding="utf-8"))
    data["client"]["slug"] = slug
    (dest / "workspace.yaml").write_text(
        yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2, help="single-report runs (best is kept)")
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    demo = _copy_demo(WORK / "demo", "tideway-rowing")
    notebook = ROOT / "notebooks" / "report.ipynb"

    # 1. one report
    ours, bare = [], []
    for i in range(args.repeat):
        ours.append(
            _run([str(BIN / "workbook"), "report", str(demo), "-o", str(WORK / f"ours-{i}")])
        )
        executed = WORK / f"bare-{i}.ipynb"
        t_pm = _run(
            [
                str(BIN / "papermill"),
                str(notebook),
                str(executed),
                "-p",
                "workspace",
                str(demo),
                "-k",
                "python3",
            ]
        )
        t_nb = _run(
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)]
        )
        bare.append(t_pm + t_nb)
        print(
            f"run {i + 1}: workbook report {ours[-1]:.2f} s; "
            f"papermill {t_pm:.2f} s + nbconvert {t_nb:.2f} s = {bare[-1]:.2f} s"
        )
    best_ours, best_bare = min(ours), min(bare)
    print(
        f"single report: ours {best_ours:.2f} s, bare baseline {best_bare:.2f} s, "
        f"ratio {best_ours / best_bare:.2f}x (target <= 0.70x)"
    )

    # 2. batch of N vs the same N one by one
    clients = [
        _copy_demo(WORK / "clients" / f"c{i:02d}", f"client-{i:02d}") for i in range(args.clients)
    ]
    serial_start = time.perf_counter()
    for c in clients:
        _run([str(BIN / "workbook"), "report", str(c), "-o", str(WORK / "serial" / c.name)])
    serial = time.perf_counter() - serial_start
    batch_cmd = [str(BIN / "workbook"), "batch", *map(str, clients), "--jobs", "2"]
    batch_cmd += ["-o", str(WORK / "batch")]
    batch = _run(batch_cmd)
    print(
        f"{args.clients} clients: one by one {serial:.1f} s, batch --jobs 2 {batch:.1f} s, "
        f"speed-up {serial / batch:.2f}x (target >= 1.7x)"
    )

    # 3. unchanged re-run
    rerun = _run(batch_cmd)  # the same command: every client is unchanged now
    print(
        f"unchanged re-run: {rerun:.2f} s, "
        f"{100 * rerun / batch:.1f}% of the first batch (target < 5%)"
    )


if __name__ == "__main__":
    main()
