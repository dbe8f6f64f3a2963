"""Writing canonical tables into a workspace: staged, then swapped into place.

Every write goes to a staging folder inside the workspace first (source tables, the derived
tables rebuilt over all sources, the new manifest, the salt on first use). Only when all of
it is written does :func:`commit` move each piece into ``data/`` with ``os.replace`` /
``os.rename``. A failure before that leaves the workspace exactly as it was; the staging
folder is removed.

The manifest (``data/manifest.json``) holds one entry per source id: the file name (never a
full path), its SHA-256, the source system, rows read and rejected, the date range, and when.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbook.crm import schema
from workbook.crm.canonical import CanonicalTables
from workbook.crm.derive import build_derived, connect, copy_parquet, duck_type, workspace_stages

__all__ = ["Staging", "read_manifest", "write_canonical"]

MANIFEST_VERSION = 1


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


@dataclass
class Staging:
    """A staging folder for one change to a workspace's data.

    Use as a context manager: on leaving, the staging folder is always removed; call
    :meth:`commit` inside the block to move the staged files into place.
    """

    workspace: Path
    source_id: str | None = None
    con: Any = None
    path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.workspace = Path(self.workspace)
        self.path = Path(tempfile.mkdtemp(prefix=".import-", dir=self.workspace))
        self._own_con = self.con is None
        if self.con is None:
            self.con = connect()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._own_con:
            self.con.close()
        shutil.rmtree(self.path, ignore_errors=True)

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

    def build_derived(self, stages: Sequence[str], *, drop_source: bool = False) -> dict[str, int]:
        """Stage the derived tables over all sources, the staged one replacing its namesake."""
        root = schema.data_dir(self.workspace) / "sources"
        dirs = (
            [p for p in sorted(root.iterdir()) if p.is_dir() and p.name != self.source_id]
            if root.exists()
            else []
        )
        if self.source_id and not drop_source:
            dirs.append(self.source_path)
        return build_derived(dirs, stages, self.path / "derived", con=self.con)

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        (self.path / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )

    def commit(self, *, salt: bytes | None = None, drop_source: bool = False) -> None:
        """Move every staged file into ``data/``; restore the old source folder on failure."""
        data = schema.data_dir(self.workspace)
        data.mkdir(exist_ok=True)
        if salt is not None and not (data / ".salt").exists():
            tmp = self.path / ".salt"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(salt)
            os.replace(tmp, data / ".salt")
        backup: Path | None = None
        target: Path | None = None
        if self.source_id:
            target = schema.source_dir(self.workspace, self.source_id)
            target.parent.mkdir(exist_ok=True)
            if target.exists():
                backup = self.path / "replaced-source"
                os.rename(target, backup)
            try:
                if not drop_source:
                    os.rename(self.source_path, target)
            except BaseException:
                if backup is not None:
                    os.rename(backup, target)
                raise
        derived = data / "derived"
        derived.mkdir(exist_ok=True)
        for f in sorted((self.path / "derived").glob("*.parquet")):
            os.replace(f, derived / f.name)
        if (self.path / "manifest.json").exists():
            os.replace(self.path / "manifest.json", data / "manifest.json")


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
    manifest = read_manifest(ws)
    events_tbl = tables.events
    manifest["sources"][source_id] = {
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
    with Staging(ws, source_id) as st:
        st.write_source(tables)
        counts = st.build_derived(stage_ids)
        st.write_manifest(manifest)
        st.commit()
    return {**{name: t.num_rows for name, t in tables.items()}, **counts}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
