"""Benchmark: importing generated CRM exports of 100k, 1M and 10M events.

For each size this generates a generic event export for the demo client (cached under
``benchmarks/_data/``), then, each in its own process so peak memory is its own:

- ``workbook import`` into a fresh workspace (validation, pseudonymisation, sorted Parquet,
  manifest, the derived tables and the rollups included);
- the plain pandas round trip on the same file: ``pandas.read_csv`` + ``DataFrame.to_parquet``;
- the floor: the least an import of this file must do, in one DuckDB statement with nothing
  checked and no derived table: read the file, hash the contact, parse the time, sort by
  contact and time, write one Parquet file, within the import's memory limit for DuckDB.
  It shows how far the target "no slower than pandas" is from what the work itself costs.

With ``--matching`` it also imports the same export into a workspace that already holds the
HubSpot contacts export of the same history (its people's e-mail addresses and ids), twice:
with ``--match none`` (the same work, no one linked) and with the default matching, which
links every person of the events file to a HubSpot contact. Their ratio is what matching
costs; the time of the linking step itself is shown too.

Run from the repository root::

    .venv/bin/python benchmarks/import.py            # 100k, 1M, 10M events
    .venv/bin/python benchmarks/import.py --sizes 100000 1000000
    .venv/bin/python benchmarks/import.py --sizes 10000000 --repeat 3
    .venv/bin/python benchmarks/import.py --sizes 10000000 --matching

With ``--repeat N`` the import, the pandas round trip and the floor run in turn, N times
each: the machine's speed drifts by a quarter within minutes, so medians (and the ratio of
each round, the runs side by side) say more than one run. The peak is the highest of the N.

Targets on a 2-core machine: 10M events in under 60 s and 2 GB peak, and not slower than
the pandas round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _measure import generate_events, measure_in_child, peak_mb

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / "_data"


def _export(events: int) -> tuple[Path, int]:
    """The cached export of ``events`` events (give or take one contact's), generated in a
    child process, and the number of events it holds.

    A child, so the parent stays small (the measurements read each child's own ``VmHWM``,
    but a small parent also keeps the fork cheap).
    """
    path = CACHE / f"events-{events}.csv"
    info = path.with_suffix(".json")
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / ".gitignore").write_text("# generated exports, not for git\n*\n", encoding="utf-8")
    if not (path.exists() and info.exists()):
        out = subprocess.run(
            [sys.executable, __file__, "--child", "generate", str(events)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        print(out.stdout.strip(), flush=True)
    return path, int(json.loads(info.read_text(encoding="utf-8"))["events"])


def _child_generate(events: int) -> None:
    from workbook.crm.generate import write_export
    from workbook.store import open_workspace

    path = CACHE / f"events-{events}.csv"
    CACHE.mkdir(parents=True, exist_ok=True)
    ws = open_workspace(ROOT / "data" / "demo").data
    t = time.perf_counter()
    sample = generate_events(events, ws, seed=7)
    contacts = sample.contacts.num_rows
    write_export(sample, "generic", CACHE, filename=path.name)
    # the same history's people as HubSpot exports them, for --matching
    write_export(sample, "hubspot", CACHE, filename=_hubspot_name(path))
    path.with_suffix(".json").write_text(
        json.dumps({"events": sample.events.num_rows, "contacts": contacts}), encoding="utf-8"
    )
    print(
        f"  generated {sample.events.num_rows:,} events for {contacts:,} contacts "
        f"in {time.perf_counter() - t:.1f} s",
        flush=True,
    )


def _child_import(file: str) -> dict[str, float]:
    from workbook.crm.demo import demo_without_data
    from workbook.crm.importer import import_file

    with tempfile.TemporaryDirectory() as tmp:
        ws = demo_without_data(Path(tmp) / "client", ROOT / "data" / "demo")
        t = time.perf_counter()
        result = import_file(ws, file)
        wall = time.perf_counter() - t
    return {"wall_s": wall, "peak_mb": peak_mb(), "events": result.tables["events"]}


def _hubspot_name(events_file: Path) -> str:
    return events_file.name.replace("events-", "hubspot-")


def _child_next(file: str, match: str) -> dict[str, float]:
    """Import ``file`` into a workspace holding the same history's HubSpot export."""
    import workbook.crm.importer as importer
    from workbook.crm.demo import demo_without_data

    linking: list[float] = []
    link = importer.link_contacts

    def timed(*args: object, **kwargs: object) -> object:
        t = time.perf_counter()
        try:
            return link(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            linking.append(time.perf_counter() - t)

    importer.link_contacts = timed  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        ws = demo_without_data(Path(tmp) / "client", ROOT / "data" / "demo")
        importer.import_file(ws, Path(file).with_name(_hubspot_name(Path(file))))
        t = time.perf_counter()
        result = importer.import_file(ws, file, match=match)
        wall = time.perf_counter() - t
    assert result.people is not None
    return {
        "wall_s": wall,
        "peak_mb": peak_mb(),
        "events": result.tables["events"],
        "link_s": linking[-1],
        "matched": result.people.matched,
    }


def _child_pandas(file: str) -> dict[str, float]:
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        frame = pd.read_csv(file)
        frame.to_parquet(Path(tmp) / "events.parquet")
        wall = time.perf_counter() - t
    return {"wall_s": wall, "peak_mb": peak_mb(), "events": len(frame)}


def _q(path: str) -> str:
    return path.replace("'", "''")


def _child_floor(file: str) -> dict[str, float]:
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect()
        con.execute("SET memory_limit='1400MB'")  # the import's, while it writes the events
        con.execute(f"SET temp_directory='{_q(tmp)}/spill'")
        con.execute("SET preserve_insertion_order=false")
        t = time.perf_counter()
        con.execute(
            "COPY (SELECT md5(email) AS contact_id, CAST(timestamp AS TIMESTAMPTZ) AS ts, "
            "* EXCLUDE (email, timestamp, first_name, last_name, phone) "
            f"FROM read_csv('{_q(file)}', all_varchar=true) ORDER BY contact_id, ts) "
            f"TO '{_q(tmp)}/events.parquet' (FORMAT parquet, COMPRESSION zstd)"
        )
        wall = time.perf_counter() - t
        rows = con.execute(f"SELECT count(*) FROM '{_q(tmp)}/events.parquet'").fetchall()[0][0]
    return {"wall_s": wall, "peak_mb": peak_mb(), "events": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each, in turn (medians are shown)"
    )
    parser.add_argument(
        "--matching",
        action="store_true",
        help="also import next to the HubSpot export of the same history (see above)",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, arg = args.child
        if kind == "generate":
            _child_generate(int(arg))
        else:
            child = {
                "import": _child_import,
                "pandas": _child_pandas,
                "floor": _child_floor,
                "next-none": lambda f: _child_next(f, "none"),
                "next-auto": lambda f: _child_next(f, "auto"),
            }
            print(json.dumps(child[kind](arg)))
        return
    print(f"cores: {os.cpu_count()}")
    rows = []
    matching: list[tuple[int, float, float, float, float]] = []
    for size in args.sizes:
        file, n_events = _export(size)
        print(f"{n_events:,} events", flush=True)
        mb = file.stat().st_size / 1e6
        imports, pandas_runs, floors = [], [], []
        apart, linked = [], []
        for _ in range(args.repeat):
            if args.matching:
                none = measure_in_child(__file__, "next-none", file)
                auto = measure_in_child(__file__, "next-auto", file)
                apart.append(none)
                linked.append(auto)
                print(
                    f"  next to HubSpot, --match none {none['wall_s']:7.1f} s  "
                    f"{none['peak_mb']:7.0f} MB peak",
                )
                print(
                    f"  next to HubSpot, matched      {auto['wall_s']:7.1f} s  "
                    f"{auto['peak_mb']:7.0f} MB peak  ({auto['matched']:,.0f} people linked; "
                    f"linking {auto['link_s']:.2f} s; ratio to none "
                    f"{auto['wall_s'] / none['wall_s']:.2f}x)",
                    flush=True,
                )
            imp = measure_in_child(__file__, "import", file)
            pdr = measure_in_child(__file__, "pandas", file)
            flo = measure_in_child(__file__, "floor", file)
            imports.append(imp)
            pandas_runs.append(pdr)
            floors.append(flo)
            print(
                f"  workbook import  {imp['wall_s']:7.1f} s  {imp['peak_mb']:7.0f} MB peak  "
                f"({imp['events']:,.0f} events)"
            )
            print(
                f"  pandas round trip {pdr['wall_s']:6.1f} s  {pdr['peak_mb']:7.0f} MB peak  "
                f"(ratio {imp['wall_s'] / pdr['wall_s']:.1f}x)",
            )
            print(
                f"  floor (DuckDB)    {flo['wall_s']:6.1f} s  {flo['peak_mb']:7.0f} MB peak  "
                f"(ratio to pandas {flo['wall_s'] / pdr['wall_s']:.1f}x)",
                flush=True,
            )
        rows.append((n_events, mb, imports, pandas_runs, floors))
        if linked:
            alone = statistics.median(r["wall_s"] for r in imports)
            none_s = statistics.median(r["wall_s"] for r in apart)
            auto_s = statistics.median(r["wall_s"] for r in linked)
            link_s = statistics.median(r["link_s"] for r in linked)
            matching.append((n_events, alone, none_s, auto_s, link_s))
    print()
    print(
        "| events | file MB | import s | import peak MB | pandas s | pandas peak MB "
        "| import / pandas time | floor s | floor / pandas time |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for events, mb, imports, pandas_runs, floors in rows:
        imp_s = statistics.median(r["wall_s"] for r in imports)
        pd_s = statistics.median(r["wall_s"] for r in pandas_runs)
        fl_s = statistics.median(r["wall_s"] for r in floors)
        ratios = sorted(
            i["wall_s"] / p["wall_s"] for i, p in zip(imports, pandas_runs, strict=True)
        )
        spread = f" ({ratios[0]:.1f}-{ratios[-1]:.1f}x by round)" if len(ratios) > 1 else ""
        print(
            f"| {events:,} | {mb:,.0f} | {imp_s:.1f} | {max(r['peak_mb'] for r in imports):,.0f} | "
            f"{pd_s:.1f} | {max(r['peak_mb'] for r in pandas_runs):,.0f} | "
            f"{imp_s / pd_s:.1f}x{spread} | {fl_s:.1f} | {fl_s / pd_s:.1f}x |"
        )
    print()
    if args.repeat > 1:
        print(f"medians of {args.repeat} runs each; peaks are the highest")
    if matching:
        print()
        print(
            "| events | alone s | next to HubSpot, none s | matched s | matched / none "
            "| linking s | linking / alone |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for events, alone, none_s, auto_s, link_s in matching:
            print(
                f"| {events:,} | {alone:.1f} | {none_s:.1f} | {auto_s:.1f} | "
                f"{auto_s / none_s:.2f}x | {link_s:.2f} | {link_s / alone:.1%} |"
            )
        print("target: matching costs no more than 15% over an import of one source")
    print("targets at 10M events: under 60 s, under 2,048 MB, and no slower than pandas (1.0x)")
    print(
        "floor: read, hash the contact, parse the time, sort, write one Parquet file, in one "
        "DuckDB statement (nothing checked, no contacts, deals or derived tables)"
    )


if __name__ == "__main__":
    main()
