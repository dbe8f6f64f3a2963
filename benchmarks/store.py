"""Benchmark: validating and snapshotting large ``workspace.yaml`` files, against plain PyYAML
and a file copy measured in the same run.

For each size a valid workspace is generated from the demo client: its personas and their
journey maps repeated under new ids until the file (written by the store itself) reaches the
size. Files are cached under ``benchmarks/_work/store/``. Then, each in its own process so
its time and peak memory are its own:

- **validate**: :func:`workbook.store.read_workspace` (size check, event scan for anchors and
  depth, compose, build, duplicate keys, schema, references); baseline: ``yaml.load`` of the
  same text with libyaml's ``CSafeLoader`` (parsing alone, nothing checked);
- **snapshot**: :meth:`OpenWorkspace.snapshot` of the opened, unchanged workspace (its
  imports counted apart); baseline: ``shutil.copyfile`` of the same file, then the same with
  the file and folder fsynced, as a snapshot does. ``workbook snapshot`` opens (validates)
  the workspace first: that time is printed too;
- **save**: one field changed, then saved (validation, and the YAML dump a person can read);
- **refused**: a 50 MB file, refused by ``read_workspace`` before it is read.

Run from the repository root::

    .venv/bin/python benchmarks/store.py                # 0.5, 1, 2 MB and the largest supported
    .venv/bin/python benchmarks/store.py --sizes 1 3.5  # sizes in MB (at most the limit)

Target: a snapshot of an unchanged workspace costs about what copying its file costs;
validation of the largest supported file stays within a few seconds.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from _measure import measure_in_child, peak_mb

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work" / "store"
DEMO = ROOT / "data" / "demo" / "workspace.yaml"


# ------------------------------------------------------------------------------ generation


def _workspace_text(copies: int) -> str:
    from workbook import model, store

    base = store.loads(DEMO.read_text(encoding="utf-8")).model_dump(mode="python")
    data = copy.deepcopy(base)
    for k in range(copies):
        for p in base["personas"]:
            data["personas"].append({**p, "id": f"{p['id']}-{k}", "name": f"{p['name']} {k}"})
        for j in base["journeys"]:
            data["journeys"].append({**j, "persona": f"{j['persona']}-{k}"})
    return store.dumps(model.Workspace.model_validate(data))


def build(megabytes: float) -> Path:
    """A workspace folder whose ``workspace.yaml`` is valid and at most ``megabytes`` MB."""
    target = int(megabytes * 1_000_000)
    folder = WORK / f"{megabytes:g}mb"
    if (folder / ".built").is_file():
        return folder
    empty, one = len(_workspace_text(0).encode()), len(_workspace_text(1).encode())
    copies = max(0, (target - empty) // (one - empty))
    text = _workspace_text(copies)
    while len(text.encode()) > target and copies:
        copies -= 1
        text = _workspace_text(copies)
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "history").mkdir(parents=True)
    (folder / "workspace.yaml").write_text(text, encoding="utf-8")
    (folder / ".built").write_text(json.dumps({"bytes": len(text.encode()), "copies": copies}))
    return folder


# --------------------------------------------------------------------------- child processes


def _child_validate(path: str) -> dict[str, Any]:
    from workbook.store import read_workspace

    t = time.perf_counter()
    ws = read_workspace(path)
    return {"seconds": time.perf_counter() - t, "peak_mb": peak_mb(), "personas": len(ws.personas)}


def _child_yaml(path: str) -> dict[str, Any]:
    import yaml

    text = Path(path, "workspace.yaml").read_text(encoding="utf-8")
    t = time.perf_counter()
    yaml.load(text, Loader=yaml.CSafeLoader)
    return {"seconds": time.perf_counter() - t, "peak_mb": peak_mb()}


def _child_snapshot(path: str) -> dict[str, Any]:
    t = time.perf_counter()
    import filelock  # noqa: F401  (imported by the first save or snapshot; counted apart)
    import slugify  # noqa: F401

    from workbook.store import open_workspace

    imports = time.perf_counter() - t
    t = time.perf_counter()
    ws = open_workspace(path)
    opened = time.perf_counter() - t
    t = time.perf_counter()
    snap = ws.snapshot("benchmark")
    seconds = time.perf_counter() - t
    (ws.history_dir / snap.file).unlink()
    (ws.history_dir / "index.yaml").unlink()
    return {"imports": imports, "open": opened, "seconds": seconds, "peak_mb": peak_mb()}


def _child_copy(path: str) -> dict[str, Any]:
    import os

    source = Path(path, "workspace.yaml")
    dest = Path(path, "history", "copy.yaml")
    t = time.perf_counter()
    shutil.copyfile(source, dest)
    seconds = time.perf_counter() - t
    # A durable copy, as a snapshot makes: the file and its folder flushed to disk.
    fd = os.open(dest, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    fd = os.open(dest.parent, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    durable = time.perf_counter() - t
    dest.unlink()
    return {"seconds": seconds, "durable": durable, "peak_mb": peak_mb()}


def _child_save(path: str) -> dict[str, Any]:
    from workbook.store import open_workspace

    scratch = Path(path).with_name(Path(path).name + "-save")
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(path, scratch)
    try:
        ws = open_workspace(scratch)
        ws.data.client.industry = "Rowing machines, changed"
        t = time.perf_counter()
        ws.save()
        return {"seconds": time.perf_counter() - t, "peak_mb": peak_mb()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _child_refused(path: str) -> dict[str, Any]:
    from workbook.exceptions import WorkspaceValidationError
    from workbook.store import read_workspace

    t = time.perf_counter()
    try:
        read_workspace(path)
    except WorkspaceValidationError as exc:
        return {"seconds": time.perf_counter() - t, "message": exc.problems[0].message}
    raise AssertionError("a file beyond the limit was read")


CHILDREN = {
    "validate": _child_validate,
    "yaml": _child_yaml,
    "snapshot": _child_snapshot,
    "copy": _child_copy,
    "save": _child_save,
    "refused": _child_refused,
}


def _best(kind: str, path: Path, repeat: int) -> dict[str, Any]:
    """The fastest of ``repeat`` runs, each in a fresh process (these machines' speed drifts)."""
    runs = [measure_in_child(__file__, kind, path) for _ in range(repeat)]
    return min(runs, key=lambda r: float(r["seconds"]))


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from workbook.store import MAX_FILE_BYTES

    largest = MAX_FILE_BYTES / 1_000_000
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.5, 1, 2, largest])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path = args.child
        print(json.dumps(CHILDREN[kind](path)))
        return
    print(f"largest workspace file supported: {MAX_FILE_BYTES:,} bytes", flush=True)
    for size in args.sizes:
        folder = build(size)
        meta = json.loads((folder / ".built").read_text())
        mb = meta["bytes"] / 1_000_000
        print(f"== {mb:.2f} MB ({meta['bytes']:,} bytes)", flush=True)
        ours = _best("validate", folder, args.repeat)
        base = _best("yaml", folder, args.repeat)
        print(
            f"  validate: {ours['seconds']:.2f} s, peak {ours['peak_mb']:.0f} MB "
            f"({ours['personas']:,} personas); yaml.load alone {base['seconds']:.2f} s, "
            f"peak {base['peak_mb']:.0f} MB: {ours['seconds'] / base['seconds']:.2f}x"
        )
        snap = _best("snapshot", folder, args.repeat)
        cp = _best("copy", folder, args.repeat)
        print(
            f"  snapshot: {snap['seconds'] * 1000:.1f} ms; shutil.copyfile "
            f"{cp['seconds'] * 1000:.1f} ms, with fsync {cp['durable'] * 1000:.1f} ms "
            f"({snap['seconds'] / cp['durable']:.1f}x the durable copy); "
            f"`workbook snapshot` opens (validates) first: {snap['open']:.2f} s"
        )
        save = _best("save", folder, 1)
        print(f"  save after one change: {save['seconds']:.2f} s", flush=True)
    big = WORK / "50mb"
    if not (big / "workspace.yaml").is_file():
        big.mkdir(parents=True, exist_ok=True)
        one = _workspace_text(0)
        with (big / "workspace.yaml").open("w", encoding="utf-8") as fh:
            fh.write(one)
            line = "# " + "x" * 98 + "\n"
            fh.write(line * ((50_000_000 - len(one)) // len(line) + 1))
    refused = measure_in_child(__file__, "refused", big)
    print(f"== 50 MB: refused in {refused['seconds'] * 1000:.1f} ms: {refused['message']}")


if __name__ == "__main__":
    main()
