"""Writing canonical tables into a workspace: staged aside, then committed as one step.

Every write goes to a staging folder inside the workspace first (``.import-XXXX``: source
tables, the derived tables rebuilt over all sources, the new manifest). Nothing under
``data/`` changes until the commit, which holds the workspace lock throughout and works like a
database's redo log:

1. Check that the sources the derived tables were built over are still the workspace's
   sources (another import may have committed meanwhile: then the derived tables are built
   again and the commit retried, so neither import's data is lost).
2. Write ``data/.commit.json``, the journal naming the staging folder. Writing it (atomically)
   is the commit point: before it the workspace is exactly as it was; after it the import
   happens, even if the process dies now.
3. Move each staged piece into ``data/`` (the source folder, each derived table, the rejects
   file, the manifest), then write ``workspace.yaml``'s ``data_sources`` from the manifest.
   Every move is idempotent: a piece already moved is skipped.
4. Remove the journal, then the staging folder.

A process killed after step 2 leaves the journal: the next import, analysis, report or
``workbook validate`` finds it, waits for the lock, and completes the same steps
(:func:`recover`). A process killed before it leaves only a staging folder, removed by the
next run (:func:`sweep`; a live run holds a lock inside its folder, so only dead ones go).
:func:`data_problems` checks that ``workspace.yaml``, the manifest and the files agree.

The manifest (``data/manifest.json``) holds one entry per source id: the file name (never a
full path), its SHA-256, the source system, rows read and rejected, the date range, and when;
``derived_from`` names the sources (and their hashes) the derived tables were built over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbook.crm import schema
from workbook.crm.canonical import CanonicalTables
from workbook.crm.derive import build_derived, connect, copy_parquet, duck_type, workspace_stages
from workbook.exceptions import ConflictError, Problem
from workbook.files import fsync_dir, write_atomic

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = [
    "JOURNAL",
    "Staging",
    "data_problems",
    "read_manifest",
    "recover",
    "scratch",
    "sweep",
    "write_canonical",
]

MANIFEST_VERSION = 1
#: The commit journal, in ``data/``: present only while a commit is under way (or was cut).
JOURNAL = ".commit.json"
#: Staging and scratch folders of an import, in the workspace folder.
SCRATCH_PREFIX = ".import-"
#: The lock a live import holds inside its folder; a folder whose lock is free is litter.
_ALIVE = ".alive.lock"
#: A folder without that lock file (being made this instant, or left by an older version)
#: is litter once it is this old.
_UNLOCKED_GRACE_S = 600.0
#: How many times a commit builds the derived tables again when other imports keep
#: committing while it builds them.
_COMMIT_ATTEMPTS = 4
#: The commit takes renames only, but it may wait for another one's lock.
_COMMIT_LOCK_TIMEOUT = 120.0


def _after_step(step: str) -> None:
    """Called after each step of a commit; a no-op (tests kill the process here)."""


def parquet_rows(path: Path) -> int:
    """Rows of a Parquet table from its footers: one file, or the folder of part files the
    Spark import writes (FileNotFoundError when there is neither)."""
    import pyarrow.parquet as pq

    if path.is_dir():
        return sum(pq.read_metadata(p).num_rows for p in sorted(path.glob("*.parquet")))
    return int(pq.read_metadata(path).num_rows)


def read_manifest(workspace_path: str | Path) -> dict[str, Any]:
    """The workspace's import manifest (an empty one when nothing was imported yet)."""
    path = schema.data_dir(workspace_path) / "manifest.json"
    if not path.exists():
        return {"version": MANIFEST_VERSION, "sources": {}}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data.setdefault("sources", {})
    return data


def _q(path: Path | str) -> str:
    return str(path).replace("'", "''")


def write_table(con: Any, table: Any, name: str, path: Path, order_by: str | None = None) -> None:
    """Write an Arrow table in its canonical schema to Parquet through DuckDB."""
    target = schema.TABLES[name]
    con.register("_w", table)
    cols = ", ".join(f'CAST("{f.name}" AS {duck_type(f.type)}) AS "{f.name}"' for f in target)
    order = f" ORDER BY {order_by}" if order_by else ""
    try:
        copy_parquet(con, f"SELECT {cols} FROM _w{order}", name, path)
    finally:
        con.unregister("_w")


# ---------------------------------------------------------------------- scratch folders


def _make_scratch(workspace: Path) -> tuple[Path, Any]:
    """A new ``.import-XXXX`` folder in the workspace and the held lock that says it is live."""
    from filelock import FileLock

    path = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=workspace))
    lock = FileLock(str(path / _ALIVE))
    lock.acquire()
    return path, lock


def _release(path: Path, lock: Any) -> None:
    lock.release()
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def scratch(workspace: str | Path) -> Iterator[Path]:
    """A private working folder inside the workspace for one run, removed on leaving.

    A run killed before leaving leaves it behind; the next run removes it (:func:`sweep`).
    """
    path, lock = _make_scratch(Path(workspace))
    try:
        yield path
    finally:
        _release(path, lock)


def _journal_staging(workspace: Path) -> str | None:
    journal = schema.data_dir(workspace) / JOURNAL
    try:
        return str(json.loads(journal.read_text(encoding="utf-8")).get("staging"))
    except (FileNotFoundError, ValueError, AttributeError):
        return None


def sweep(workspace: str | Path) -> list[str]:
    """Remove the staging and scratch folders dead runs left in the workspace; their names.

    A folder is dead when nobody holds the lock inside it (the lock goes with its process),
    unless the commit journal still needs it (then :func:`recover` finishes and removes it).
    """
    from filelock import FileLock, Timeout

    ws = Path(workspace)
    keep = _journal_staging(ws)
    removed = []
    for folder in sorted(ws.glob(SCRATCH_PREFIX + "*")):
        if not folder.is_dir() or folder.name == keep:
            continue
        alive = folder / _ALIVE
        if not alive.exists():
            try:
                age = time.time() - folder.stat().st_mtime
            except FileNotFoundError:
                continue
            if age < _UNLOCKED_GRACE_S:
                continue
        else:
            lock = FileLock(str(alive))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue  # a live run
            except OSError:
                continue
            lock.release()
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return removed


# --------------------------------------------------------------------------- staging


@dataclass
class Staging:
    """A staging folder for one change to a workspace's data.

    Use as a context manager: on leaving, the staging folder is removed (unless a commit that
    started could not finish: then the journal needs it, and the next run completes it). Call
    :meth:`commit` inside the block.
    """

    workspace: Path
    source_id: str | None = None
    con: Any = None
    drop_source: bool = False
    path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.workspace = Path(self.workspace)
        self.path, self._alive = _make_scratch(self.workspace)
        self._own_con = self.con is None
        if self.con is None:
            self.con = connect()
        self._stages: list[str] = []
        self._base: dict[str, Any] | None = None  # {source id: sha256} derived were built over
        self._keep = False
        #: Other sources rewritten in this staging folder (their contacts linked to people
        #: this import found to be the same), with their new table counts
        self.relinked: dict[str, dict[str, int]] = {}

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._own_con:
            self.con.close()
        if self._keep:
            self._alive.release()  # the journal names it: recover() finishes the commit
        else:
            _release(self.path, self._alive)

    @property
    def source_path(self) -> Path:
        assert self.source_id
        return self.path / "sources" / self.source_id

    def write_source(self, tables: CanonicalTables) -> None:
        """Stage the source's three tables (events sorted by contact, time, seq)."""
        out = self.source_path
        out.mkdir(parents=True)
        write_table(self.con, tables.contacts, "contacts", out / "contacts.parquet", "contact_id")
        write_table(
            self.con, tables.events, "events", out / "events.parquet", "contact_id, ts, seq"
        )
        write_table(
            self.con,
            tables.deals,
            "deals",
            out / "deals.parquet",
            "contact_id, created_at, deal_id",
        )

    def build_derived(self, stages: Sequence[str]) -> dict[str, int]:
        """Stage the derived tables over the workspace's sources, the staged one included.

        The sources are the manifest's (as committed now); :meth:`commit` checks they are
        still the same before it moves anything.
        """
        self._stages = list(stages)
        base = _sources_of(read_manifest(self.workspace), self.source_id)
        dirs = [
            self.path / "sources" / s
            if s in self.relinked
            else schema.source_dir(self.workspace, s)
            for s in sorted(base)
        ]
        if self.source_id and not self.drop_source:
            dirs.append(self.source_path)
        out = self.path / "derived"
        shutil.rmtree(out, ignore_errors=True)
        counts = build_derived(dirs, stages, out, con=self.con)
        self._base = base
        return counts

    def commit(
        self,
        ws: OpenWorkspace | None,
        entry: dict[str, Any] | None,
        *,
        rejects: bool = False,
        rebuild: Callable[[], dict[str, int]] | None = None,
    ) -> dict[str, int] | None:
        """Commit the staged change as one step (see the module's description).

        Parameters
        ----------
        ws
            The workspace, open: its lock is held for the whole commit and its
            ``data_sources`` are written from the new manifest. None for a bare data folder
            (tests and tools with no ``workspace.yaml``): the same lock, no YAML.
        entry
            The manifest entry of the staged source (None when the source is dropped).
        rejects
            Whether the staging folder holds ``rejects.csv`` for the source.
        rebuild
            Builds the derived tables again when another import committed since they were
            built (default: :meth:`build_derived` with the same stages); returns its counts.

        Returns
        -------
        dict or None
            The derived tables' row counts when they had to be built again, else None.

        Raises
        ------
        ConflictError
            When other imports kept committing while this one built its tables.
        """
        again = rebuild or (lambda: self.build_derived(self._stages))
        if self._base is None:
            again()
        rebuilt: dict[str, int] | None = None
        for _attempt in range(_COMMIT_ATTEMPTS):
            with _locked(ws, self.workspace):
                _recover_locked(ws, self.workspace)
                manifest = read_manifest(self.workspace)
                if _sources_of(manifest, self.source_id) == self._base:
                    for other, tables in self.relinked.items():
                        manifest["sources"][other]["tables"] = tables
                    if self.source_id:
                        if entry is None:
                            manifest["sources"].pop(self.source_id, None)
                        else:
                            manifest["sources"][self.source_id] = entry
                    manifest["derived_from"] = _sources_of(manifest, None)
                    self._write_manifest(manifest)
                    journal = {
                        "staging": self.path.name,
                        "source_id": self.source_id,
                        "drop_source": self.drop_source,
                        "relinked": sorted(self.relinked),
                        "rejects": rejects,
                        "started": now_utc(),
                    }
                    data = schema.data_dir(self.workspace)
                    data.mkdir(exist_ok=True)
                    self._keep = True
                    write_atomic(data / JOURNAL, json.dumps(journal, indent=2) + "\n")
                    _after_step("journal")
                    _roll_forward(ws, self.workspace, journal)
                    self._keep = False
                    return rebuilt
            if self.relinked:
                # the sources this import rewrote may have changed: link again from the start
                break
            # another import committed meanwhile: build over the sources as they are now
            rebuilt = again()
        raise ConflictError(
            f"{self.workspace}: not imported, other imports kept changing the data while "
            "this one was being written",
            hint="run the imports one after the other",
        )

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        (self.path / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )


def _sources_of(manifest: dict[str, Any], leave_out: str | None) -> dict[str, Any]:
    """{source id: sha256} of a manifest's sources (a source imported by hand has None)."""
    return {
        sid: entry.get("sha256") if isinstance(entry, dict) else None
        for sid, entry in manifest.get("sources", {}).items()
        if sid != leave_out
    }


# ---------------------------------------------------------------------------- the commit


@contextlib.contextmanager
def _locked(ws: OpenWorkspace | None, root: Path) -> Iterator[None]:
    """The workspace lock (``workspace.yaml``'s, which every save takes)."""
    if ws is not None:
        with ws.locked(timeout=_COMMIT_LOCK_TIMEOUT):
            yield
        return
    from filelock import FileLock

    from workbook.store import LOCKNAME

    with FileLock(str(root / LOCKNAME), timeout=_COMMIT_LOCK_TIMEOUT):
        yield


def _roll_forward(ws: OpenWorkspace | None, root: Path, journal: dict[str, Any]) -> None:
    """Carry out a journaled commit; each step is skipped when already done. Lock held."""
    data = schema.data_dir(root)
    staging = root / str(journal["staging"])
    sid = journal.get("source_id")
    if sid:
        target = schema.source_dir(root, sid)
        staged = staging / "sources" / sid
        backup = staging / "replaced" / sid
        backup.parent.mkdir(exist_ok=True)
        target.parent.mkdir(exist_ok=True)
        if journal.get("drop_source"):
            if target.exists():
                os.rename(target, backup)
                _after_step("source-out")
        elif staged.exists():
            if target.exists():
                os.rename(target, backup)
                _after_step("source-out")
            os.rename(staged, target)
            _after_step("source-in")
        fsync_dir(target.parent)
    for other in journal.get("relinked", []):
        target = schema.source_dir(root, other)
        staged = staging / "sources" / other
        if staged.exists():
            if target.exists():
                (staging / "replaced").mkdir(exist_ok=True)
                os.rename(target, staging / "replaced" / other)
                _after_step(f"relinked-out/{other}")
            os.rename(staged, target)
            _after_step(f"relinked-in/{other}")
            fsync_dir(target.parent)
    derived = data / "derived"
    derived.mkdir(exist_ok=True)
    for f in sorted((staging / "derived").glob("*.parquet")):
        target = derived / f.name
        if target.is_dir() or (f.is_dir() and target.exists()):
            # Spark writes a table as a folder of parts, DuckDB as one file: the one there
            # goes aside first, as a replaced source does
            aside = staging / "replaced" / "derived"
            aside.mkdir(parents=True, exist_ok=True)
            os.replace(target, aside / f.name)
        os.replace(f, target)
        _after_step(f"derived/{f.name}")
    fsync_dir(derived)
    if sid:
        rejects = data / "rejects" / f"{sid}.csv"
        staged_rejects = staging / "rejects.csv"
        if staged_rejects.exists():
            rejects.parent.mkdir(exist_ok=True)
            os.replace(staged_rejects, rejects)
            _after_step("rejects")
        elif not journal.get("rejects") and rejects.exists():
            rejects.unlink()  # the earlier export's rejects no longer apply
            _after_step("rejects")
    if (staging / "manifest.json").exists():
        os.replace(staging / "manifest.json", data / "manifest.json")
        fsync_dir(data)
        _after_step("manifest")
    if ws is not None:
        _sync_data_sources(ws)
        _after_step("workspace.yaml")
    (data / JOURNAL).unlink()
    fsync_dir(data)
    _after_step("done")
    shutil.rmtree(staging, ignore_errors=True)


def _yaml_sources(manifest: dict[str, Any]) -> list[Any]:
    """``workspace.yaml``'s ``data_sources`` as the manifest says (imported files only)."""
    from workbook.model import DataSource

    out = []
    for sid, e in manifest.get("sources", {}).items():
        if not isinstance(e, dict) or not e.get("sha256") or not e.get("file"):
            continue  # tables written by a tool (write_canonical), not an imported export
        out.append(
            DataSource(
                id=sid,
                system=e.get("system", "generic"),
                file=e["file"],
                sha256=e["sha256"],
                imported_at=_when(e.get("imported_at")),
                rows=e.get("rows_read", 0),
                rejected=e.get("rows_rejected", 0),
                first_event=_when(e.get("first_event")),
                last_event=_when(e.get("last_event")),
            )
        )
    return out


def _when(value: Any) -> dt.datetime | None:
    if not value:
        return None
    when = dt.datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _sync_data_sources(ws: OpenWorkspace) -> None:
    """Write ``data_sources`` from the manifest: the files' order kept, new ones at the end."""
    ws.reload()  # the latest file: a form's edit since the import began is kept
    wanted = {d.id: d for d in _yaml_sources(read_manifest(ws.path))}
    kept = [wanted.pop(d.id) for d in ws.data.data_sources if d.id in wanted]
    merged = kept + sorted(wanted.values(), key=lambda d: (d.imported_at or _EPOCH, d.id))
    if merged != ws.data.data_sources:
        ws.data.data_sources = merged
        ws.save()


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _recover_locked(ws: OpenWorkspace | None, root: Path) -> str | None:
    """Finish a commit a dead process left (the lock is held); the source id it was for."""
    path = schema.data_dir(root) / JOURNAL
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    _roll_forward(ws, root, journal)
    return str(journal.get("source_id") or "")


def recover(workspace: str | Path | OpenWorkspace) -> str | None:
    """Complete an import whose commit was cut short; the source id it was for, or None.

    Cheap when there is nothing to do (one file check). Also removes the folders dead runs
    left behind (:func:`sweep`).
    """
    from workbook import store

    if isinstance(workspace, store.OpenWorkspace):
        root: Path = workspace.path
    else:
        root = Path(workspace)
        if root.name.endswith((".yaml", ".yml")) and not root.is_dir():
            root = root.parent
    done = None
    if (schema.data_dir(root) / JOURNAL).exists():
        # a copy of its own: reloading the caller's would drop the caller's unsaved edits
        ws = store.open_workspace(root) if (root / store.FILENAME).is_file() else None
        with _locked(ws, root):  # a live commit finishes first
            done = _recover_locked(ws, root)
    if any(root.glob(SCRATCH_PREFIX + "*")):
        sweep(root)
    return done


# ------------------------------------------------------------------------- consistency


def data_problems(workspace: str | Path, data_sources: Sequence[Any]) -> list[Problem]:
    """Where ``workspace.yaml``'s ``data_sources``, the manifest and the files disagree.

    Checks: every source in the manifest has its folder and tables, with the row counts the
    manifest records; no source folder is missing from the manifest; the YAML lists exactly
    the imported sources of the manifest, with the same files and hashes; the derived tables
    exist and were built over the sources there are now; no commit is left half done.
    """

    root = Path(workspace)
    data = schema.data_dir(root)
    yaml_file = str(root / "workspace.yaml")
    mfile = str(data / "manifest.json")
    out: list[Problem] = []
    redo = "import the export again (workbook import), or restore the folder from a backup"
    if (data / JOURNAL).exists():
        out.append(
            Problem(
                "an import's commit was cut short and is not finished",
                file=str(data / JOURNAL),
                hint="run workbook validate again (it finishes the commit), or import again",
            )
        )
    try:
        manifest = read_manifest(root)
    except (ValueError, OSError) as exc:
        return [Problem(f"the manifest cannot be read ({exc})", file=mfile, hint=redo)]
    sources = manifest.get("sources", {})
    for sid, entry in sources.items():
        folder = schema.source_dir(root, sid)
        if not folder.is_dir():
            out.append(
                Problem(f"source {sid!r} has no folder {folder.name}", file=mfile, hint=redo)
            )
            continue
        for table, rows in (entry.get("tables") or {}).items():
            f = folder / f"{table}.parquet"
            try:
                n = parquet_rows(f)
            except FileNotFoundError:
                out.append(Problem(f"source {sid!r} has no {table} table", file=str(f), hint=redo))
                continue
            except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for a broken file
                out.append(Problem(f"not a readable Parquet file ({exc})", file=str(f), hint=redo))
                continue
            if n != rows:
                out.append(
                    Problem(
                        f"source {sid!r}: {table} has {n:,} rows, the manifest says {rows:,}",
                        file=str(f),
                        hint=redo,
                    )
                )
    folders = data / "sources"
    if folders.is_dir():
        for folder in sorted(folders.iterdir()):
            if folder.is_dir() and folder.name not in sources:
                out.append(
                    Problem(
                        f"source folder {folder.name!r} is not in the manifest",
                        file=str(folder),
                        hint="import its export again, or remove the folder",
                    )
                )
    wanted = {d.id: d for d in _yaml_sources(manifest)}
    listed = {d.id: d for d in data_sources}
    for sid in sorted(set(wanted) - set(listed)):
        out.append(
            Problem(
                f"data source {sid!r} is imported (manifest) but not listed",
                file=yaml_file,
                field="data_sources",
                hint="run workbook validate again to repair, or import the export again",
            )
        )
    for sid in sorted(set(listed) - set(wanted)):
        out.append(
            Problem(
                f"data source {sid!r} is listed but its data is not in the workspace",
                file=yaml_file,
                field="data_sources",
                hint=f"import {listed[sid].file} again, or remove the entry",
            )
        )
    for sid in sorted(set(wanted) & set(listed)):
        if wanted[sid].sha256 != listed[sid].sha256:
            out.append(
                Problem(
                    f"data source {sid!r}: the listed file is not the one imported "
                    "(SHA-256 differs from the manifest)",
                    file=yaml_file,
                    field="data_sources",
                    hint=f"import {listed[sid].file} again",
                )
            )
    built = manifest.get("derived_from")
    if sources:
        missing = [
            t
            for t in ("stage_spells", "stage_entries", "contact_paths")
            if not schema.derived_path(root, t).exists()
        ]
        if missing:
            out.append(
                Problem(
                    f"derived tables missing: {', '.join(missing)}",
                    file=str(data / "derived"),
                    hint="import any export again to rebuild them",
                )
            )
    if built is not None and built != _sources_of(manifest, None):
        out.append(
            Problem(
                "the derived tables were built over other sources than the manifest lists",
                file=mfile,
                hint="import any export again to rebuild them",
            )
        )
    return out


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def write_canonical(
    workspace_path: str | Path,
    source_id: str,
    contacts: Any = None,
    events: Any = None,
    deals: Any = None,
    *,
    stages: Sequence[str] | None = None,
    system: str = "manual",
) -> dict[str, int]:
    """Write canonical tables for one source of a workspace and rebuild the derived tables.

    Meant for fixtures and tools that already hold clean canonical data (no validation, no
    pseudonymisation: ``contact_id`` must already be a pseudonym). Frames may omit columns
    (filled with nulls); ``source_id`` is filled in; a missing ``seq`` follows row order.

    Parameters
    ----------
    workspace_path
        The workspace folder.
    source_id
        A slug naming the source; an existing source of that id is replaced.
    contacts, events, deals
        pandas frames or Arrow tables with (a subset of) the canonical columns.
    stages
        Stage ids in order; read from ``workspace.yaml`` when not given.

    Returns
    -------
    dict
        Rows written per table, derived ones included.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    tables = CanonicalTables.of(contacts, events, deals)
    filled = []
    for name, table in tables.items():
        table = table.set_column(
            table.schema.get_field_index("source_id"),
            "source_id",
            pa.array([source_id] * table.num_rows, pa.string()),
        )
        if name == "events" and table.column("seq").null_count == table.num_rows:
            table = table.set_column(
                table.schema.get_field_index("seq"),
                "seq",
                pa.array(np.arange(table.num_rows, dtype=np.int32)),
            )
        filled.append(table)
    tables = CanonicalTables(*filled)
    ws = Path(workspace_path)
    stage_ids = list(stages) if stages is not None else workspace_stages(ws)
    events_tbl = tables.events
    entry = {
        "file": None,
        "sha256": None,
        "system": system,
        "rows_read": events_tbl.num_rows,
        "rows_rejected": 0,
        "first_event": _iso(pc.min(events_tbl.column("ts")).as_py())
        if events_tbl.num_rows
        else None,
        "last_event": _iso(pc.max(events_tbl.column("ts")).as_py())
        if events_tbl.num_rows
        else None,
        "imported_at": now_utc(),
        "tables": {name: t.num_rows for name, t in tables.items()},
    }
    from workbook import store

    opened = store.open_workspace(ws) if (ws / store.FILENAME).is_file() else None
    with Staging(ws, source_id) as st:
        st.write_source(tables)
        counts = st.build_derived(stage_ids)
        counts = st.commit(opened, entry) or counts
    return {**{name: t.num_rows for name, t in tables.items()}, **counts}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
