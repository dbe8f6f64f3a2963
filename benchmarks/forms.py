"""Benchmark: what one form edit costs in the kernel, from the change to the file on disk.

A form saves after every field it changes: :meth:`OpenWorkspace.save` validates the whole
document (schema and references), writes it as YAML, and replaces ``workspace.yaml``
atomically under the lock. This times that save after a single-field edit, many times, on:

- **demo**: the shipped demo client (``data/demo``);
- **large**: a workspace generated from the demo with 6 personas and 100 touchpoints, each
  persona's map naming the touchpoints of every stage.

Each edit is made to two copies of the same workspace, one saved the new way (the store's
own writer) and one the previous way (PyYAML's emitter for the whole document, as every
version before this one did), one after the other, so both are measured in the same run on
the same machine. The median of the edits is printed for each, and their ratio. The texts
the two ways write are compared at every edit (they must be the same to the byte).

Run from the repository root::

    .venv/bin/python benchmarks/forms.py              # 60 edits per workspace
    .venv/bin/python benchmarks/forms.py --edits 200

Target: at most 30 ms per change (median) on both workspaces.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work" / "forms"
DEMO = ROOT / "data" / "demo"
TARGET_MS = 30.0


def _large_text(personas: int = 6, touchpoints: int = 100) -> str:
    """The demo client grown to ``personas`` personas and ``touchpoints`` touchpoints."""
    from workbook import model, store

    base = store.read_workspace(DEMO).model_dump(mode="python")
    data = copy.deepcopy(base)
    k = 0
    while len(data["touchpoints"]) < touchpoints:
        t = base["touchpoints"][k % len(base["touchpoints"])]
        n = k // len(base["touchpoints"]) + 2
        data["touchpoints"].append({**t, "id": f"{t['id']}-{n}", "name": f"{t['name']} {n}"})
        k += 1
    k = 0
    while len(data["personas"]) < personas:
        p = base["personas"][k % len(base["personas"])]
        j = next(j for j in base["journeys"] if j["persona"] == p["id"])
        n = k // len(base["personas"]) + 2
        data["personas"].append({**p, "id": f"{p['id']}-{n}", "name": f"{p['name']} {n}"})
        data["journeys"].append({**copy.deepcopy(j), "persona": f"{p['id']}-{n}"})
        k += 1
    for journey in data["journeys"]:
        for stage, cell in journey["stages"].items():
            cell["touchpoints"] = [t["id"] for t in data["touchpoints"] if stage in t["stages"]]
    return store.dumps(model.Workspace.model_validate(data))


def _prepare(name: str, text: str | None) -> list[Path]:
    """Two fresh copies of a workspace folder: one per way of saving."""
    folders = []
    for way in ("new", "previous"):
        folder = WORK / f"{name}-{way}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        (folder / "history").mkdir()
        source = (DEMO / "workspace.yaml").read_text(encoding="utf-8") if text is None else text
        (folder / "workspace.yaml").write_text(source, encoding="utf-8")
        folders.append(folder)
    return folders


def _edits(count: int) -> list[Callable[[Any], None]]:
    """``count`` single-field edits, each setting a value not set before, the way forms do."""

    def persona_summary(i: int) -> Callable[[Any], None]:
        def edit(ws: Any) -> None:
            p = ws.personas[i % len(ws.personas)]
            p.summary = f"{p.summary.split(' (edit')[0]} (edit {i})"

        return edit

    def touchpoint_name(i: int) -> Callable[[Any], None]:
        def edit(ws: Any) -> None:
            ws.touchpoints[(7 * i) % len(ws.touchpoints)].name = f"Touchpoint edited {i}"

        return edit

    def emotion(i: int) -> Callable[[Any], None]:
        def edit(ws: Any) -> None:
            journey = ws.journeys[i % len(ws.journeys)]
            cells = list(journey.stages.values())
            cell = cells[i % len(cells)]
            scores = [(i + k) % 9 / 2 - 2 for k in range(9)]  # -2, -1.5, ... 2, from i on
            cell.emotion = next(s for s in scores if s != cell.emotion)

        return edit

    def objective_target(i: int) -> Callable[[Any], None]:
        def edit(ws: Any) -> None:
            ws.objectives[i % len(ws.objectives)].target = 10.0 + i

        return edit

    kinds = [persona_summary, touchpoint_name, emotion, objective_target]
    return [kinds[i % len(kinds)](i) for i in range(count)]


def run(name: str, text: str | None, edits: int) -> dict[str, Any]:
    from workbook import store

    new_dir, old_dir = _prepare(name, text)
    new, old = store.open_workspace(new_dir), store.open_workspace(old_dir)
    old._pyyaml = True  # the previous way: PyYAML's emitter for the whole document
    times: dict[str, list[float]] = {"new": [], "previous": []}
    for edit in _edits(edits + 1):
        for way, ws in (("new", new), ("previous", old)):
            edit(ws.data)
            start = time.perf_counter()
            changed = ws.save()
            times[way].append((time.perf_counter() - start) * 1000)
            assert changed, "the edit changed nothing"
        same = (new_dir / "workspace.yaml").read_bytes() == (
            old_dir / "workspace.yaml"
        ).read_bytes()
        assert same, "the two ways wrote different files"
    # The first save after opening also writes the loaded document's text once (to tell
    # whether anything changed): reported apart, not in the median.
    first = {way: t[0] for way, t in times.items()}
    median = {way: statistics.median(t[1:]) for way, t in times.items()}
    return {
        "workspace": name,
        "bytes": (new_dir / "workspace.yaml").stat().st_size,
        "edits": edits,
        "first": first,
        "median": median,
        "ratio": median["previous"] / median["new"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=60, help="edits per workspace")
    args = parser.parse_args()
    results = [
        run("demo", None, args.edits),
        run("large", _large_text(), args.edits),
    ]
    print(
        f"{'workspace':<10} {'size':>8} {'edits':>6} {'new ms':>8} {'previous ms':>12} "
        f"{'ratio':>6} {'first save new/prev ms':>23}"
    )
    for r in results:
        print(
            f"{r['workspace']:<10} {r['bytes'] / 1000:>6.0f}kB {r['edits']:>6} "
            f"{r['median']['new']:>8.1f} {r['median']['previous']:>12.1f} "
            f"{r['ratio']:>5.1f}x {r['first']['new']:>11.1f} / {r['first']['previous']:.1f}"
        )
    worst = max(r["median"]["new"] for r in results)
    verdict = "met" if worst <= TARGET_MS else "NOT met"
    print(f"target: at most {TARGET_MS:g} ms per change (median): {verdict} ({worst:.1f} ms)")


if __name__ == "__main__":
    main()
