"""The one object every analytics query goes through.

:class:`Engine` owns an embedded DuckDB connection with one view per canonical or derived
table of a workspace (``contacts``, ``events``, ``deals``, ``stage_spells``,
``stage_entries``, ``contact_paths``), plus three small tables from the workspace document:
``stages`` (id, name, index in the workspace's order), ``touchpoints`` (id, name, channel)
and ``people`` (one row per contact with its persona, segment, ICP and lead source). When
the workspace has ``contact_paths``, ``numbered_contact_paths`` is the same with ``n``, the
row's number in the file: the file is sorted by contact id, so ``n`` orders contacts by id.

The analytics modules only ever call :meth:`Engine.query` with SQL over those names, so
running the same questions on another backend means another engine with the same views and
the same ``query`` method; nothing else changes. :class:`workbook.analytics.spark_engine.
SparkEngine` is that for Apache Spark; :meth:`Engine.for_workspace` returns one when Spark is
the chosen engine (``--engine spark``, or the workspace's ``settings.engine``).

A table the workspace does not have yet (no import, no deals, no derived tables) is an
empty view with the right columns, so every question answers with an empty frame instead
of failing.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from workbook.exceptions import AnalyticsError, Problem

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

    from workbook.model import Workspace

__all__ = ["GROUPS", "Engine", "EngineLike", "group_sql", "memo", "people_join"]

#: The contact attributes a question can be split by.
GROUPS = ("persona", "segment", "icp")

#: Label of contacts whose persona, segment or ICP is not known.
UNASSIGNED = "unassigned"

#: Anything the analytics functions accept as their first argument: an Engine, an
#: ``OpenWorkspace`` (``workbook.store``), or the path of a workspace folder.
EngineLike = Any

_DUCK_TYPES = {
    "string": "VARCHAR",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "double": "DOUBLE",
    "timestamp[us, tz=UTC]": "TIMESTAMPTZ",
    "list<item: string>": "VARCHAR[]",
    "list<element: string>": "VARCHAR[]",
}


def _size(text: str) -> str:
    """Validate a DuckDB memory size ("1GB", "512MB") before it goes into SQL text."""
    import re

    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", text, re.IGNORECASE):
        raise AnalyticsError(
            f"memory limit {text!r} is not a size",
            [Problem("not a size", field="memory_limit", hint="write it like 1GB or 512MB")],
        )
    return text.strip()


def _empty_select(table: str, types: dict[str, str] = _DUCK_TYPES) -> str:
    """A query of no row with ``table``'s columns, typed by ``types`` (Arrow type to the
    SQL dialect's name: DuckDB's here, Spark's in the Spark engine)."""
    from workbook.crm import schema

    cols = []
    for field in schema.TABLES[table]:
        cols.append(f"CAST(NULL AS {types[str(field.type)]}) AS {field.name}")
    return f"SELECT {', '.join(cols)} WHERE FALSE"


def _people_sql(from_paths: bool) -> str:
    """The ``people`` view: one row per contact with its attributes (``unassigned`` when
    unknown). The derived contact_paths table already is that (built at import over every
    source, with the first value by id, as here), so reading it costs nothing up front;
    without it, aggregate the contacts table."""
    attrs = ", ".join(
        f"coalesce({a}, '{UNASSIGNED}') AS {a}"
        for a in ("persona", "segment", "icp", "lead_source")
    )
    if from_paths:
        return f"SELECT contact_id, {attrs} FROM contact_paths WHERE contact_id IS NOT NULL"
    return (
        f"SELECT contact_id, {attrs} FROM (SELECT contact_id, min(persona) AS persona, "
        "min(segment) AS segment, min(icp) AS icp, min(lead_source) AS lead_source "
        "FROM contacts WHERE contact_id IS NOT NULL GROUP BY contact_id)"
    )


def _tolerant_select(con: Any, table: str, files: Sequence[Path]) -> str:
    """SELECT of ``table``'s columns from ``files``, a column the files lack as a typed null."""
    from workbook.crm import schema

    listing = "[" + ", ".join(_sql_path(f) for f in files) + "]"
    source = f"read_parquet({listing}, union_by_name = true)"
    have = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    cols = [
        f.name if f.name in have else f"CAST(NULL AS {_DUCK_TYPES[str(f.type)]}) AS {f.name}"
        for f in schema.TABLES[table]
    ]
    return f"SELECT {', '.join(cols)} FROM {source}"


def several_sources(files: Sequence[Path]) -> bool:
    """Whether a table's files come from more than one source (a source's table may be one
    file, or a folder of part files when Spark wrote it)."""
    return (
        len({f.parent.parent if f.parent.name.endswith(".parquet") else f.parent for f in files})
        > 1
    )


def _sql_path(path: Path) -> str:
    # Paths go into SQL text (DuckDB cannot bind a parameter in CREATE VIEW), so quote them.
    return "'" + path.as_posix().replace("'", "''") + "'"


class Engine:
    """An embedded DuckDB connection with views over one workspace's Parquet files.

    Parameters
    ----------
    path
        The workspace folder (the one holding ``workspace.yaml`` and ``data/``), or ``None``
        for a workspace without data.
    workspace
        The workspace document; gives the stage order, the touchpoint names, the scoring
        rules, experiments and objectives. ``None`` uses the method's default stages.
    threads
        DuckDB worker threads (default: the machine's cores).
    memory_limit
        Cap on DuckDB's memory, like ``"1GB"`` (default: DuckDB's, 80 % of the machine);
        above it DuckDB spills intermediate results to a temporary folder.

    Examples
    --------
    >>> eng = Engine.for_workspace("data/demo")            # doctest: +SKIP
    >>> eng.query("SELECT count(*) AS n FROM events")     # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | Path | None,
        workspace: Workspace | None = None,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        import duckdb

        self._begin(path, workspace)
        self.con: duckdb.DuckDBPyConnection = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{_size(memory_limit)}'")
        # Insertion order costs memory and time and no query here depends on it.
        self.con.execute("SET preserve_insertion_order = false")
        # DuckDB's own progress bar would print into notebook outputs and the terminal.
        self.con.execute("SET enable_progress_bar = false")
        try:
            with self._reading():
                self._create_views()
        except BaseException:
            self.con.close()
            raise

    # ------------------------------------------------------------------ construction

    def _begin(self, path: str | Path | None, workspace: Workspace | None) -> None:
        """What every engine does before it opens the tables: the folder (an import cut
        short in its commit is finished first), the document (the method's default stages
        without one) and empty caches."""
        from workbook.model import Workspace, default_stages

        self.path = Path(path) if path is not None else None
        if self.path is not None:
            from workbook.crm.storage import recover

            recover(self.path)  # an import cut short in its commit is finished first
        if workspace is None:
            workspace = Workspace.model_validate(
                {"client": {"name": "Workspace", "slug": "workspace"}, "stages": []}
            )
            workspace.stages = default_stages()
        if len(workspace.stages) > 62:
            # The funnel keeps one bit per stage in a 64-bit integer.
            raise AnalyticsError(
                f"{len(workspace.stages)} stages: the analytics handle at most 62",
                [Problem("too many stages", field="stages", hint="merge stages into broader ones")],
            )
        self.workspace = workspace
        self.available: dict[str, bool] = {}
        self._cache: set[str] = set()
        self._memo: dict[Any, Any] = {}
        self._files: list[Path] = []

    @classmethod
    def for_workspace(cls, ws: EngineLike) -> Engine:
        """An engine for an Engine (returned as is), an ``OpenWorkspace`` or a folder path.

        Raises
        ------
        WorkspaceNotFoundError
            The path holds no ``workspace.yaml``.
        """
        if isinstance(ws, Engine):
            return ws
        if hasattr(ws, "data") and hasattr(ws, "path"):
            return cls._chosen(ws.path, ws.data)
        if isinstance(ws, str | os.PathLike):
            from workbook.store import read_workspace

            # Read only: the analytics never save, so skip what opening for editing costs.
            path = Path(ws)
            folder = path.parent if path.name.endswith((".yaml", ".yml")) else path
            return cls._chosen(folder, read_workspace(path))
        raise AnalyticsError(
            f"cannot analyse a {type(ws).__name__}",
            hint="pass a workspace folder, an open workspace (workbook.store.open_workspace) "
            "or an analytics Engine",
        )

    @classmethod
    def _chosen(cls, path: Any, workspace: Workspace) -> Engine:
        """An engine of the chosen kind (``--engine``, else the workspace's
        ``settings.engine``, else DuckDB; :func:`workbook.crm.spark.engine_choice`)."""
        from workbook.crm.spark.session import engine_choice

        if cls is Engine and engine_choice(workspace.settings.engine) == "spark":
            from workbook.analytics.spark_engine import SparkEngine

            return SparkEngine(path, workspace)
        return cls(path, workspace)

    def _parquet_files(self, table: str) -> list[Path]:
        from workbook.crm import schema

        if self.path is None:
            return []
        if table in ("contacts", "events", "deals"):
            found = sorted((schema.data_dir(self.path) / "sources").glob(f"*/{table}.parquet"))
        else:
            p = schema.derived_path(self.path, table)
            found = [p] if p.exists() else []
        # the Spark import writes each table as a folder of part files
        return [
            part for f in found for part in (sorted(f.glob("*.parquet")) if f.is_dir() else [f])
        ]

    def _tables(self) -> Iterator[tuple[str, list[Path], bool]]:
        """Each canonical and derived table with its Parquet files and whether what two
        sources report about one person must be merged (events and deals of several
        sources: it counts once, as at import); notes which tables the workspace holds."""
        from workbook.crm import schema

        for table in schema.TABLES:
            files = self._parquet_files(table)
            self._files += files
            self.available[table] = bool(files)
            yield table, files, table in ("events", "deals") and several_sources(files)

    def _document_views(self) -> None:
        """The small tables from the workspace document (stages, touchpoints) and the
        people view, made by the engine's own :meth:`_small` and :meth:`_view`."""
        ws = self.workspace
        self._small(
            "stages",
            {"stage": "string", "stage_name": "string", "stage_index": "int32"},
            [(st.id, st.name, i) for i, st in enumerate(ws.stages)],
        )
        self._small(
            "touchpoints",
            {"touchpoint": "string", "touchpoint_name": "string", "touchpoint_channel": "string"},
            [(t.id, t.name, t.channel) for t in ws.touchpoints],
        )
        self._view("people", _people_sql(self.available["contact_paths"]))

    def _view(self, name: str, sql: str) -> None:
        """Make ``sql`` (DuckDB's dialect) queryable as ``name``."""
        self.con.execute(f"CREATE VIEW {name} AS {sql}")

    def _small(self, name: str, types: dict[str, str], rows: list[tuple[Any, ...]]) -> None:
        """A small table of ``rows`` (columns named and Arrow-typed by ``types``); plain
        SQL, no pandas needed to build it."""
        cols = ", ".join(f"{col} {_DUCK_TYPES[t]}" for col, t in types.items())
        self.con.execute(f"CREATE TABLE {name} ({cols})")
        if rows:
            marks = ", ".join("?" for _ in types)
            self.con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)

    def _create_views(self) -> None:
        import duckdb

        from workbook.crm import schema

        for table, files, merge in self._tables():
            if files:
                names = [f.name for f in schema.TABLES[table]]
                file_list = "[" + ", ".join(_sql_path(f) for f in files) + "]"
                # union_by_name: sources written by different importer versions still line up.
                body = (
                    f"SELECT {', '.join(names)} "
                    f"FROM read_parquet({file_list}, union_by_name = true)"
                )
                raw = body
                if merge:
                    body = (
                        f"SELECT {', '.join(names)} FROM ({schema.merged_sql(table, f'({body})')})"
                    )
            else:
                body = raw = _empty_select(table)
            try:
                self._view(table, body)
                if table == "events":
                    # each source's own rows, before what two sources both report is merged
                    self._view("source_events", raw)
            except duckdb.BinderException:
                # Written before a column existed (stage_spells' ended_by, say): the column
                # reads as null until the next import rebuilds the file.
                tolerant = _tolerant_select(self.con, table, files)
                if merge:
                    tolerant = f"SELECT * FROM ({schema.merged_sql(table, f'({tolerant})')})"
                self.con.execute(f"CREATE OR REPLACE VIEW {table} AS {tolerant}")
                if table == "events":
                    self.con.execute(
                        f"CREATE OR REPLACE VIEW source_events AS "
                        f"{_tolerant_select(self.con, table, files)}"
                    )
            if table == "contact_paths" and len(files) == 1:
                self.available["numbered_contact_paths"] = True
                # The import writes contact_paths sorted by contact id, so its row number
                # orders contacts by id: a sort on an integer instead of on a string.
                self._view(
                    "numbered_contact_paths",
                    f"SELECT {', '.join(names)}, file_row_number AS n FROM read_parquet("
                    f"{_sql_path(files[0])}, file_row_number = true)",
                )
        self._document_views()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn DuckDB's complaint about one of the workspace's Parquet files into a problem.

        A file cut short or damaged on disk (a full disk, a bad copy, an edit by hand) fails
        when DuckDB reads its footer or a page of it, with a message naming the file. That
        is not a bug: it becomes an :class:`AnalyticsError` naming the file and saying how
        to get it back. Any other DuckDB error goes on as it is.
        """
        import duckdb

        try:
            yield
        except duckdb.Error as exc:
            text = str(exc)
            damaged = next((f for f in self._files if f.as_posix() in text), None)
            if damaged is None:
                raise
            name = damaged.as_posix()
            detail = text.splitlines()[0].split("Error: ", 1)[-1]
            for quoted in (f"'{name}'", f'"{name}"'):
                detail = detail.replace(quoted, "")
            detail = " ".join(detail.replace(" :", ":").split()).strip(" :")
            where = f" {self.path}" if self.path is not None else ""
            raise AnalyticsError(
                f"{damaged}: the data file is damaged and cannot be read ({detail})",
                hint=f"import the CRM export again to write it anew: workbook import{where} EXPORT",
            ) from None

    # ------------------------------------------------------------------------ queries

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run one SQL statement over the workspace's views and return a pandas frame."""
        # Through Arrow: strings arrive as pandas' Arrow-backed str columns, several times
        # faster than building a Python object per value.
        return self.arrow(sql, params).to_pandas()

    def _rel(self, sql: str, params: Sequence[Any] | dict[str, Any] | None) -> Any:
        """``sql`` with ``params`` bound (``$name`` or ``?``), as a relation not yet run."""
        return self.con.sql(sql, params=params) if params else self.con.sql(sql)

    def arrow(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pa.Table:
        """Run a query and return an Arrow table (to reorder rows before making a frame)."""
        with self._reading():
            return self._rel(sql, params).to_arrow_table()

    def arrays(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run a query and return its columns as numpy arrays (fast for numbers)."""
        with self._reading():
            return dict(self._rel(sql, params).fetchnumpy())

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """The single value of a one-row, one-column query (``None`` for no row)."""
        with self._reading():
            row = self._rel(sql, params).fetchall()
        row = row[0] if row else None
        return None if row is None else row[0]

    def has(self, table: str) -> bool:
        """Whether the workspace holds this table (otherwise its view is empty)."""
        return self.available.get(table, False)

    def cached(self, name: str, sql: str, params: dict[str, Any] | None = None) -> str:
        """Compute an intermediate result once per engine and return the name to query it by.

        Several questions share one costly step (each contact's journey of touches); the
        first asks for it, the others reuse it. Another backend can make this a temporary
        table, a CTE or a cached DataFrame.
        """
        if name not in self._cache:
            with self._reading():
                self.con.execute(f"CREATE TEMP TABLE {name} AS {sql}", params or {})
            self._cache.add(name)
        return name

    def running_totals(
        self, name: str, sql: str, keys: Sequence[str], order: str, columns: Sequence[str]
    ) -> str:
        """Each row of ``sql`` with, for every one of ``columns``, its sum over the rows
        before it (``<column>_before``, 0 for the first): the rows with the same ``keys`` and
        a lower ``order``. Computed once per engine as ``name``; returns the name.

        ``(keys, order)`` must be unique in ``sql`` (a table of counts per key and value),
        so that "before" means "strictly lower". A cumulative count over a sort is what a
        rank is made of (``c_before`` of a table of counts per score is the number of
        contacts scoring lower); DuckDB sorts for the window in parallel, a Spark engine
        does it in parallel its own way (:meth:`SparkEngine.running_totals`).
        """
        part = f"PARTITION BY {', '.join(keys)} " if keys else ""
        window = f"({part}ORDER BY {order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
        sums = ", ".join(
            f"coalesce(sum({c}) OVER {window}, 0)::BIGINT AS {c}_before" for c in columns
        )
        return self.cached(name, f"SELECT *, {sums} FROM ({sql})")

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Make a small pandas frame (rules, weights) queryable as ``name``."""
        self.con.register(name, frame)

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------ helpers

    def stage_ids(self) -> list[str]:
        return [s.id for s in self.workspace.stages]

    @staticmethod
    def check_by(by: str | None) -> str | None:
        """Validate a ``by`` argument: ``None`` or one of :data:`GROUPS`."""
        if by is None or by in GROUPS:
            return by
        raise AnalyticsError(
            f"cannot split by {by!r}",
            [
                Problem(
                    f"unknown grouping {by!r}", field="by", hint=f"use one of: {', '.join(GROUPS)}"
                )
            ],
        )


def group_sql(by: str | None, alias: str = "p") -> tuple[str, str]:
    """SQL fragments for an optional split: (select-column prefix, group-by prefix).

    With ``by=None`` both are empty strings; otherwise ``"coalesce(p.persona, 'unassigned')
    AS persona, "`` and ``"1, "``-style prefixes ready to put in front of the other columns.
    The people table is joined with ``LEFT JOIN people p``, so a contact missing from the
    contacts table lands in the ``unassigned`` group instead of disappearing.
    """
    if by is None:
        return "", ""
    expr = f"coalesce({alias}.{by}, '{UNASSIGNED}')"
    return f"{expr} AS {by}, ", f"{expr}, "


def people_join(by: str | None, alias: str) -> str:
    """``LEFT JOIN people p`` on ``alias.contact_id`` when splitting, else nothing.

    The join costs a pass over the contacts; a whole-population question skips it.
    """
    if by is None:
        return ""
    return f"LEFT JOIN people p ON p.contact_id = {alias}.contact_id"


def memo(func: Callable[..., Any]) -> Callable[..., Any]:
    """Answer a question once per engine: the summary, the KPIs and the won-deal summary
    reuse the funnel, the scores and the rest instead of querying again.

    An engine sees the files as they were when it was made, so a cached answer stays right
    for its whole life. Callers get a copy, so changing a returned frame changes nothing.
    """

    @functools.wraps(func)
    def wrapper(ws: EngineLike, *args: Any, **kwargs: Any) -> Any:
        eng = Engine.for_workspace(ws)
        key = (func.__module__, func.__qualname__, args, tuple(sorted(kwargs.items())))
        try:
            hash(key)
        except TypeError:  # a list of rules, say: not cacheable, just answer
            return func(eng, *args, **kwargs)
        if key not in eng._memo:
            eng._memo[key] = func(eng, *args, **kwargs)
        value = eng._memo[key]
        return value.copy() if hasattr(value, "copy") else value

    return wrapper
