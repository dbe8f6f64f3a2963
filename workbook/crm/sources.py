"""The registry of CRM sources and the small interface each one implements.

A source is an object with a ``name``, ``detect(header) -> bool`` (does this header look like
my export?) and ``read(ctx) -> SourceQueries``. The importer has already read the file into a
DuckDB table ``raw`` (every column as text, plus ``__row``, the 1-based data row). ``read``
checks the rows through the :class:`ReadContext` (every bad value becomes a problem with its
row and column) and returns SQL for the contacts, events and deals in the canonical columns,
with the source's own contact id still in ``contact_id`` (the importer pseudonymises it) and
``__row`` kept so bad rows can be set aside.

``__row`` only names a row in a problem. Nothing a source returns may depend on the order of
the file's rows: where two rows tie (the same time), the source breaks the tie by their
content (:meth:`ReadContext.stage_rank` for the workspace's stage order, then the values),
and the importer sorts each contact's events by time and then content.

Sources register with :func:`register`; the built-in ones are loaded on first use.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from workbook.crm.stagemap import StageMap, normal
from workbook.exceptions import CrmImportError, Problem

if TYPE_CHECKING:
    from workbook.model import Workspace

__all__ = ["ReadContext", "Source", "SourceQueries", "detect", "get", "known", "register"]

_SOURCES: dict[str, Source] = {}
#: detection order: generic last (a module's name is the source's, with _ for -)
_BUILTIN = ("hubspot", "salesforce", "salesforce-roles", "pipedrive", "generic")


class Source(Protocol):
    name: str

    def detect(self, header: Sequence[str]) -> bool: ...

    def read(self, ctx: ReadContext) -> SourceQueries: ...


@dataclass
class SourceQueries:
    """SQL (over the context's DuckDB connection) for the three canonical tables.

    ``events`` also carries ``__sub``, which of a row's events it is (a source may use it;
    it does not order them: the importer sorts by time and content). ``categories`` may
    name, for a column of ``events`` with few distinct values (kind, stage, touchpoint,
    channel...), a query listing every value it can take (more do no harm; should one be
    missing, the import sorts the text after all): the events are then sorted with the
    column as a small number, not its text (10M events: some 2 s less).

    ``emails``, when the source has an e-mail column, lists (``contact_id``, ``email``): the
    address each of its contacts carries, read only to link the contact with other sources
    (:mod:`workbook.crm.identity`; hashed like the ids, never stored). ``aliases`` lists
    (``contact_id``, ``alias``): ids by which other sources know the contact (the opportunity
    a Salesforce contact role links the person to).
    """

    contacts: str
    events: str
    deals: str
    categories: Mapping[str, str] = field(default_factory=dict)
    emails: str | None = None
    aliases: str | None = None


def register(source: Source) -> Source:
    """Add a source (or replace one of the same name)."""
    _SOURCES[source.name] = source
    return source


def _load_builtin() -> None:
    for name in _BUILTIN:
        if name not in _SOURCES:
            __import__(f"workbook.crm.{name.replace('-', '_')}")


def known() -> list[str]:
    _load_builtin()
    return list(_SOURCES)


def get(name: str) -> Source:
    """The source called ``name``; the error lists the known ones."""
    _load_builtin()
    try:
        return _SOURCES[name]
    except KeyError:
        raise CrmImportError(
            f"no CRM source called {name!r}", hint=f"use one of: {', '.join(_SOURCES)}"
        ) from None


def detect(header: Sequence[str], file: str) -> Source:
    """The first source whose ``detect`` accepts the header."""
    _load_builtin()
    order = [n for n in _BUILTIN + tuple(n for n in _SOURCES if n not in _BUILTIN) if n in _SOURCES]
    for name in order:
        if _SOURCES[name].detect(header):
            return _SOURCES[name]
    for name in order:
        # a near miss (a HubSpot file without its id column): let the source name what is missing
        resembles = getattr(_SOURCES[name], "resembles", None)
        if resembles is not None and resembles(header):
            return _SOURCES[name]
    shown = ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")
    raise CrmImportError(
        f"{file}: cannot tell which CRM wrote this file",
        [Problem(f"the header is: {shown}", file=file, row=0)],
        hint="name the source with --source ("
        + ", ".join(_SOURCES)
        + "), or give a column map with --map",
    )


def colnorm(name: str) -> str:
    """Column names match ignoring case and runs of spaces or underscores.

    "Deal - ID" stays apart from "deal_id".
    """
    return re.sub(r"[\s_]+", " ", name).strip().lower()


def header_has(header: Sequence[str], *names: str) -> bool:
    have = {colnorm(h) for h in header}
    return all(colnorm(n) in have for n in names)


def qi(name: str) -> str:
    """Quote an identifier for SQL."""
    return '"' + name.replace('"', '""') + '"'


def ql(value: str) -> str:
    """Quote a string literal for SQL."""
    return "'" + value.replace("'", "''") + "'"


def cell(column: str) -> str:
    """SQL for the text in the file's ``column``: trimmed of white space (DuckDB's ``trim``
    takes off every Unicode space separator: the no-break space pasting leaves, too), and
    null where it is blank, so a value typed with a stray space reads as the value.

    (Skipping ``trim`` on values that need none was measured: 3x cheaper alone, no faster in
    the import's staging of 10M rows, where parsing and file order set the pace.)"""
    return f"nullif(trim({qi(column)}), '')"


@dataclass
class ReadContext:
    """What a source's ``read`` works with, and where it reports problems.

    Attributes
    ----------
    con
        DuckDB connection holding the table ``raw``.
    file
        The file's name as the user sees it (no folders).
    header
        Column names as in the file.
    stages
        The stage map for this import.
    workspace
        The workspace model (touchpoints, personas).
    now
        Dates after this (plus a day of slack for time zones) are "in the future".
    options
        Source options: ``column_map`` (generic), ``date_format``, ``currency``.
    rows
        How many data rows ``raw`` has, when the source counted them anyway (a source whose
        staging table keeps every row sets it; otherwise the importer counts ``raw`` again,
        which for a large CSV file means reading it again).
    numbered
        Whether ``raw`` has ``__row`` already (the careful reader). When it does not (DuckDB's
        parallel CSV reader, which has no row numbers), :meth:`stage` numbers the rows.
    """

    con: Any
    file: str
    header: list[str]
    stages: StageMap
    workspace: Workspace
    now: dt.datetime
    options: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rows: int | None = None
    numbered: bool = True
    _lookups: int = 0

    def __post_init__(self) -> None:
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE _bad "
            "(__row BIGINT, col VARCHAR, msg VARCHAR, hint VARCHAR, severity VARCHAR, "
            # the problem as the rejects file says it: never a value from the export
            "plain VARCHAR)"
        )

    # -- staging

    def stage(self, select: str, where: str | None = None, name: str = "_stg") -> None:
        """Materialise the source's columns of ``raw`` as ``name``, with ``__row``.

        ``select`` is the SELECT list over ``raw`` (without ``__row``); ``where`` keeps only
        some rows (their ``__row`` stays their row in the file). Rows of the parallel CSV
        reader are numbered by the table's own row ids, kept in file order: a window
        (``row_number() OVER ()``) would do the same on one thread, at 2x the cost on 10M rows.
        """
        con = self.con
        if self.numbered:
            filt = f" WHERE {where}" if where else ""
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT __row, {select} FROM raw{filt}"
            )
            return
        keep = f", coalesce({where}, false) AS __keep" if where else ""
        con.execute("SET preserve_insertion_order=true")
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name}_rows AS SELECT {select}{keep} FROM raw"
            )
        finally:
            con.execute("SET preserve_insertion_order=false")
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT rowid + 1 AS __row, * "
            + (f"EXCLUDE (__keep) FROM {name}_rows WHERE __keep" if where else f"FROM {name}_rows")
        )

    # -- columns

    def find(self, *names: str) -> str | None:
        """The header's spelling of the first of ``names`` present (case and space blind)."""
        by_normal = {colnorm(h): h for h in self.header}
        for n in names:
            if colnorm(n) in by_normal:
                return by_normal[colnorm(n)]
        return None

    def require(self, wanted: dict[str, Sequence[str]], what: str) -> dict[str, str]:
        """Find required columns by their accepted names; one error listing every missing one."""
        found: dict[str, str] = {}
        problems = []
        for key, names in wanted.items():
            col = self.find(*names)
            if col is None:
                problems.append(
                    Problem(
                        f"missing column {names[0]!r}",
                        file=self.file,
                        row=0,
                        column=names[0],
                        hint=f"a {what} has this column; "
                        "check you exported the right object with all columns",
                    )
                )
            else:
                found[key] = col
        if problems:
            raise CrmImportError(
                f"{self.file}: cannot import, required columns are missing", problems
            )
        return found

    # -- problems

    def problem(
        self,
        message: str,
        *,
        column: str | None = None,
        hint: str | None = None,
        severity: str = "error",
    ) -> None:
        """A problem with the file as a whole (not one row)."""
        self.problems.append(
            Problem(message, file=self.file, column=column, hint=hint, severity=severity)
        )

    def flag(
        self,
        relation: str,
        condition: str,
        column: str | None,
        message: str,
        hint: str,
        *,
        severity: str = "error",
        message_sql: str | None = None,
    ) -> int:
        """Record a problem for every row of ``relation`` where ``condition`` holds.

        ``message_sql`` (an SQL expression) replaces ``message`` when the text depends on the row
        (it may quote the row's value, for the summary on screen); the rejects file then says
        ``message`` instead, which must not. Returns how many rows were flagged.
        """
        msg = message_sql or ql(message)
        col = ql(column) if column else "NULL"
        before = self.con.execute("SELECT count(*) FROM _bad").fetchall()[0][0]
        self.con.execute(
            f"INSERT INTO _bad SELECT __row, {col}, {msg}, {ql(hint)}, {ql(severity)}, "
            f"{ql(message)} FROM {relation} WHERE {condition}"
        )
        after = self.con.execute("SELECT count(*) FROM _bad").fetchall()[0][0]
        return int(after - before)

    # -- values

    def ts(self, expr: str) -> str:
        """SQL parsing a text column into a UTC timestamp (NULL when it cannot be parsed)."""
        fmt = self.options.get("date_format")
        if fmt:
            return f"try_strptime({expr}, {ql(fmt)})::TIMESTAMPTZ"
        return f"try_cast({expr} AS TIMESTAMPTZ)"

    def check_ts(
        self, relation: str, raw: str, parsed: str, column: str, *, required: bool = False
    ) -> None:
        """Flag unparseable dates, dates in the future and (if required) empty dates."""
        fmt = self.options.get("date_format")
        looks = f"like {fmt}" if fmt else "like 2024-03-05 or 2024-03-05 14:22:00"
        # messages never quote the value: a mis-mapped column could hold personal data
        self.flag(
            relation,
            f"{raw} IS NOT NULL AND {parsed} IS NULL",
            column,
            "cannot read the date",
            f"dates must look {looks}; give the export's format with --date-format",
        )
        self.flag(
            relation,
            f"{parsed} > TIMESTAMPTZ {ql(self.now.isoformat())} + INTERVAL 1 DAY",
            column,
            "the date is in the future",
            "check the date, the time zone, and whether day and month are swapped",
        )
        if required:
            self.flag(
                relation, f"{raw} IS NULL", column, "the date is empty", "every row needs this date"
            )

    def check_amount(self, relation: str, raw: str, parsed: str, column: str) -> None:
        self.flag(
            relation,
            f"{raw} IS NOT NULL AND {parsed} IS NULL",
            column,
            "the amount is not a number",
            "amounts must be plain numbers like 1250.50, without currency signs",
        )
        self.flag(
            relation,
            f"{parsed} < 0",
            column,
            "the amount is negative",
            "amounts cannot be negative; fix or remove the row",
        )

    def check_unique(self, relation: str, key: str, column: str, what: str) -> None:
        """Flag every row after the first that repeats ``key``."""
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE _dup AS SELECT __row FROM "
            f"(SELECT __row, row_number() OVER (PARTITION BY {key} ORDER BY __row) AS n "
            f"FROM {relation} "
            f"WHERE {key} IS NOT NULL) WHERE n > 1"
        )
        self.flag(
            "_dup",
            "true",
            column,
            f"duplicate {what}",
            "each row needs its own id; remove the repeated row",
        )

    def amount(self, expr: str) -> str:
        """SQL reading an amount; a decimal comma (1.250,50 or 1250,50) is understood.

        ``expr`` is already trimmed (every source stages its columns with :func:`cell`).
        """
        return (
            f"coalesce(try_cast({expr} AS DOUBLE), "
            f"try_cast(replace(replace({expr}, '.', ''), ',', '.') AS DOUBLE))"
        )

    def lookup(
        self, relation: str, expr: str, resolve: Callable[[str], tuple[str | None, bool]]
    ) -> str:
        """Map the distinct values of ``expr`` through ``resolve`` (value -> (result, known)).

        Registers a table with columns ``raw``, ``value``, ``known`` and returns its name; join
        it on ``raw`` to get the mapped value.
        """
        import pyarrow as pa

        values = [
            r[0]
            for r in self.con.execute(
                f"SELECT DISTINCT {expr} FROM {relation} WHERE {expr} IS NOT NULL"
            ).fetchall()
        ]
        mapped = [resolve(v) for v in values]
        self._lookups += 1
        name = f"_lookup{self._lookups}"
        self.con.register(
            name,
            pa.table(
                {
                    "raw": pa.array(values, pa.string()),
                    "value": pa.array([m[0] for m in mapped], pa.string()),
                    "known": pa.array([m[1] for m in mapped], pa.bool_()),
                }
            ),
        )
        return name

    def stage_rank(self, expr: str) -> str:
        """SQL for the position of the workspace stage id ``expr`` in the workspace's order
        (0 for the first stage); null for no stage. Ties in time are broken with it."""
        if not self.stages.stage_ids:
            return "NULL::INTEGER"
        whens = " ".join(f"WHEN {ql(s)} THEN {i}" for i, s in enumerate(self.stages.stage_ids))
        return f"CASE {expr} {whens} END"

    def moment(self, ts: str, stage: str, close: str, rest: Sequence[str]) -> str:
        """SQL for one HUGEINT that orders the rows of one record (a deal) by their content:
        time, then the workspace's stage order of ``stage`` (no stage last), then ``close``
        ('lost' before 'won', no close first), then a hash of the ``rest`` of the row.

        A STRUCT of those columns orders the same way but makes every ``arg_min`` and
        ``arg_max`` over it compare strings (10M events: the deals took 11 s instead of
        under 1 s). Rows alike in all but ``rest`` are ordered by a 54-bit hash of it: still
        their content, never their place in the file. Null when ``ts`` is null.
        """
        rank = f"least(coalesce({self.stage_rank(stage)}, 255), 255)"
        shut = f"CASE {close} WHEN 'lost' THEN 1 WHEN 'won' THEN 2 ELSE 0 END"
        return (
            f"((epoch_us({ts})::HUGEINT << 64) + ({rank}::HUGEINT << 56) "
            f"+ ({shut}::HUGEINT << 54) + (hash({', '.join(rest)}) >> 10)::HUGEINT)"
        )

    def stage_lookup(self, relation: str, expr: str) -> str:
        def resolve(v: str) -> tuple[str | None, bool]:
            return (self.stages.get(v), True) if self.stages.knows(v) else (None, False)

        return self.lookup(relation, expr, resolve)

    def flag_unknown_stages(self, relation: str, raw: str, lookup: str, column: str) -> None:
        ids = ", ".join(self.stages.stage_ids)
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW _unk AS SELECT s.__row, {raw} AS raw FROM {relation} s "
            f"JOIN {lookup} l ON l.raw = {raw} WHERE NOT l.known"
        )
        self.flag(
            "_unk",
            "true",
            column,
            "a stage name the workspace does not know (the import's summary names it)",
            f"give the stage it belongs to an alias (the data step's form, or the stage's "
            f"`aliases` in workspace.yaml), or map it in a stage map (--stage-map stages.yaml, "
            f"`Client name: stage-id` with one of: {ids}; or null to ignore it)",
            message_sql="'unknown stage ' || chr(39) || raw || chr(39)",
        )

    def touchpoint_lookup(self, relation: str, expr: str) -> str:
        from workbook.model import slugify

        table: dict[str, str] = {}
        for t in self.workspace.touchpoints:
            table[normal(t.id)] = t.id
            table[normal(t.name)] = t.id
        unknown: list[str] = []

        def resolve(v: str) -> tuple[str | None, bool]:
            if normal(v) in table:
                return table[normal(v)], True
            unknown.append(v)
            return slugify(v, fallback="touchpoint"), False

        name = self.lookup(relation, expr, resolve)
        if unknown and self.workspace.touchpoints:
            shown = ", ".join(repr(u) for u in sorted(unknown)[:6]) + (
                " ..." if len(unknown) > 6 else ""
            )
            self.problem(
                f"{len(unknown)} touchpoint names are not in the workspace: {shown}",
                hint="add them in step 3 or rename them in the file; "
                "they are kept as ids made from the name",
                severity="warning",
            )
        return name

    def persona_lookup(self, relation: str, expr: str) -> str:
        table: dict[str, str] = {}
        for p in self.workspace.personas:
            table[normal(p.id)] = p.id
            table[normal(p.name)] = p.id
        unknown: list[str] = []

        def resolve(v: str) -> tuple[str | None, bool]:
            if normal(v) in table:
                return table[normal(v)], True
            unknown.append(v)
            return None, False

        name = self.lookup(relation, expr, resolve)
        if unknown:
            self.problem(
                f"{len(unknown)} persona names match no persona of the workspace",
                hint="those contacts are kept without a persona; rename the personas to match",
                severity="warning",
            )
        return name
