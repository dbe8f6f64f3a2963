"""The import pipeline: sniff, read, validate, pseudonymise, stage, swap into place.

:func:`import_file` takes one export into a workspace. It succeeds whole or changes nothing:
every check runs before anything is written, the tables are written to a staging folder, and
only then moved into ``data/``. Problems name the file, row and column and say what to do.
Errors stop the import unless ``set_aside_bad_rows`` is given, which imports the good rows and
lists the bad ones, with the reason, in ``data/rejects/<source-id>.csv`` (row numbers and
reasons only: the rejects file holds no values from the export). Warnings never stop it.

Re-importing a file already imported (same SHA-256) is a no-op. A newer export of the same
source (same source id, by default the system plus the file name without dates) replaces
the older one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbook.crm import schema
from workbook.crm.identity import (
    KEYS_FILE,
    MATCH_MODES,
    Matched,
    link_contacts,
    link_warnings,
    relink_source,
)
from workbook.crm.storage import (
    Staging,
    now_utc,
    parquet_rows,
    read_manifest,
    recover,
    scratch,
    write_canonical,
)
from workbook.exceptions import CrmImportError, Problem

__all__ = [
    "MAX_FIELD_BYTES",
    "ImportResult",
    "import_file",
    "read_manifest",
    "source_id_for",
    "write_canonical",
]

#: A single value longer than this is not CRM data (a pasted document, a broken quote).
MAX_FIELD_BYTES = 64 * 1024
_BLOCK = 16 << 20  # Arrow block size: also the largest row it can read at all
#: DuckDB spills sorts, joins and aggregates to a temporary folder beyond this. Kept well
#: under the 2 GB the whole process may use for 10M events: DuckDB also allocates outside its
#: buffer pool, and Python, Arrow and the Parquet writer need their share. (A larger limit is
#: not faster either: 3 GB made the 10M import slower than 1.4 GB on a 2-core machine.)
#: Measured at 10M events, two rounds each: 1200 MB/900 MB took 76.5 s and 74.2 s at a peak of
#: 1.53 GB; 1500 MB/1300 MB took 71.5 s and 67.7 s at 1.87 GB. These keep ~250 MB of margin.
_MEMORY_LIMIT = "1400MB"
#: The same while the derived tables are built: each contact's touches, in order, are then
#: also held in Arrow (some 300 MB for 10M events) next to DuckDB's own memory. 10M events of
#: 1.46M contacts peaked at 1.79-1.80 GB with 1000 MB, 1.89-1.91 GB with 1200 MB, in the same
#: time.
_DERIVED_MEMORY_LIMIT = "1000MB"
#: The same when the workspace holds other sources too: some steps cannot spill, and over
#: several sources they need more (12M events over four sources ran out of memory with 1000 MB).
_DERIVED_MEMORY_SOURCES = "1200MB"
#: Should even that be too little, the derived tables are built again with this.
_DERIVED_MEMORY_RETRY = "1600MB"
#: Files up to this size are counted before their source reads them (an empty one is refused
#: first); larger ones are counted by the source's own pass over the rows.
_SMALL_FILE = 16 << 20


_RAGGED = "the row has a different number of columns than the header"
_RAGGED_HINT = "check for a separator inside an unquoted value, or a cut-off line"


class _NotFast(Exception):
    """The file is not a CSV file the streaming reader takes."""


def _no_rows(name: str) -> CrmImportError:
    return CrmImportError(
        f"{name}: cannot import",
        [
            Problem(
                "the file has a header but no data rows",
                file=name,
                row=0,
                hint="export again; check the export's filters",
            )
        ],
    )


def _csv_relation(path: Path, sniffed: Any, work: Path) -> str:
    """DuckDB's ``read_csv`` over the file, every column text, as strict as the Arrow reader.

    Null markers are Arrow's (so both readers give the same values); a line longer than
    :data:`MAX_FIELD_BYTES`, a ragged row or a stray quote is an error, and the caller falls
    back to the careful reader, which names the row. DuckDB reads UTF-8 only: a Windows-1252
    file is transcoded into ``work`` first (raising :class:`UnicodeDecodeError` on a byte
    Windows-1252 does not define).
    """
    import codecs

    import pyarrow.csv as pcsv

    from workbook.crm.sources import ql

    file = path
    if not sniffed.encoding.startswith("utf-8"):
        file = work / "export-utf8.csv"
        decoder = codecs.getincrementaldecoder(sniffed.encoding)()
        with path.open("rb") as fin, file.open("wb") as fout:
            while chunk := fin.read(16 << 20):
                fout.write(decoder.decode(chunk).encode("utf-8"))
            fout.write(decoder.decode(b"", final=True).encode("utf-8"))
    nulls = ", ".join(ql(v) for v in pcsv.ConvertOptions().null_values)
    cols = ", ".join(f"{ql(h)}: 'VARCHAR'" for h in sniffed.header)
    return (
        f"read_csv({ql(str(file))}, columns={{{cols}}}, header=true, auto_detect=false, "
        f"delim={ql(sniffed.delimiter)}, quote='\"', escape='\"', nullstr=[{nulls}], "
        "allow_quoted_nulls=true, strict_mode=true, null_padding=false, ignore_errors=false, "
        f"max_line_size={MAX_FIELD_BYTES})"
    )


@dataclass
class ImportResult:
    """What an import did, for the one-screen summary."""

    source_id: str
    system: str
    file: str
    sha256: str
    unchanged: bool = False
    replaced: bool = False
    rows_read: int = 0
    rows_rejected: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    derived: dict[str, int] = field(default_factory=dict)
    first_event: dt.datetime | None = None
    last_event: dt.datetime | None = None
    warnings: list[Problem] = field(default_factory=list)
    rejects_file: str | None = None
    people: Matched | None = None

    def lines(self) -> list[str]:
        """A short summary a person can read."""
        if self.unchanged:
            return [f"{self.file}: already imported as {self.source_id!r}; nothing to do"]
        out = [
            f"{self.file}: imported as {self.source_id!r} ({self.system})"
            + (", replacing the earlier export" if self.replaced else ""),
            f"  rows read {self.rows_read:,}, set aside {self.rows_rejected:,}",
            "  " + ", ".join(f"{k} {v:,}" for k, v in self.tables.items()),
        ]
        if self.first_event and self.last_event:
            out.append(f"  events from {self.first_event:%Y-%m-%d} to {self.last_event:%Y-%m-%d}")
        if self.people is not None:
            out.append(self.people.line())
        if self.rejects_file:
            out.append(f"  bad rows listed in {self.rejects_file}")
        out += [f"  warning: {w}" for w in self.warnings]
        return out


def source_id_for(system: str, file: str | Path) -> str:
    """The source id of an export file: its name without dates, numbers or copy markers.

    ``("hubspot", "hubspot-crm-exports-all-contacts-2024-05-01.csv")``
    -> ``"hubspot-crm-exports-all-contacts"``.

    Dates, numbers and copy markers are dropped so that a newer export of the same thing gets
    the same id and replaces the older one.
    """
    from workbook.model import slugify

    stem = slugify(Path(file).stem, fallback="export")
    parts = [p for p in stem.split("-") if not re.fullmatch(r"\d+|copy|v\d+|final", p)]
    stem = "-".join(parts) or "export"
    sid = stem if stem.startswith(system) else f"{system}-{stem}"
    return sid[:64].strip("-")


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _read_raw(path: Path, sniffed: Any) -> tuple[Any, list[int]]:
    """The file as an Arrow table of text columns, and the data rows with a wrong column count."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    name = path.name
    if sniffed.kind in ("xlsx", "xls"):
        import pandas as pd

        try:
            frame = pd.read_excel(path, dtype=str, sheet_name=0)
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            raise CrmImportError(
                f"{name}: cannot read the workbook",
                [Problem(type(exc).__name__, file=name, hint="open it in Excel and save it again")],
            ) from None
        frame.columns = [str(c).strip() for c in frame.columns]
        table = pa.Table.from_pandas(
            frame.astype(object).where(frame.notna(), None), preserve_index=False
        )
        return table.cast(pa.schema([(c, pa.string()) for c in table.column_names])), []
    if sniffed.kind == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return pa.table({c: table.column(c).cast(pa.string()) for c in table.column_names}), []

    header = sniffed.header
    ragged: list[int] = []

    def on_bad_row(row: Any) -> str:
        ragged.append(row.number if row.number is not None else -1)
        return "skip"

    def read(threads: bool, newlines: bool = True, block: int = _BLOCK) -> Any:
        return pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(
                encoding="utf8" if sniffed.encoding.startswith("utf-8") else sniffed.encoding,
                column_names=header,
                skip_rows=1,
                block_size=block,
                use_threads=threads,
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=sniffed.delimiter,
                newlines_in_values=newlines,
                invalid_row_handler=on_bad_row,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=True
            ),
        )

    try:
        try:
            # fast path: small blocks, no line breaks inside quoted values
            table = read(True, newlines=False, block=1 << 20)
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) and "block" not in str(exc):
                raise
            ragged.append(0)  # a row longer than a block: read again with room for it
        if ragged:
            # a quoted line break or a bad row: read again, allowing line breaks in values and
            # on one thread, where Arrow gives line numbers for bad rows
            ragged.clear()
            table = read(False)
    except pa.ArrowInvalid as exc:
        text = str(exc)
        # never echo Arrow's message whole: it quotes the row, which may hold personal data
        if "straddling" in text or "block" in text:
            problem = Problem(
                f"a row is longer than {_BLOCK >> 20} MB",
                file=name,
                hint="CRM exports do not hold values this long; check this is the right file",
            )
        elif "UTF8" in text or "UTF-8" in text:
            problem = Problem(
                "the file mixes text encodings",
                file=name,
                hint="open it and save it again as CSV UTF-8",
            )
        else:
            problem = Problem(
                "the file is not a well-formed CSV file",
                file=name,
                hint="check for an unclosed quote; export the data again",
            )
        raise CrmImportError(f"{name}: cannot import", [problem]) from None
    rows = [n - 1 for n in ragged]  # physical line -> data row (the header is line 1)
    return table, rows


def _number_rows(table: Any, ragged: list[int]) -> Any:
    """Add ``__row``: each row's 1-based data row in the file, skipping the ragged ones."""
    import numpy as np
    import pyarrow as pa

    n = table.num_rows
    if ragged:
        total = n + len(ragged)
        keep = np.setdiff1d(np.arange(1, total + 1), np.array(ragged))[:n]
        numbers = keep if keep.size == n else np.arange(1, n + 1)
    else:
        numbers = np.arange(1, n + 1)
    return table.append_column("__row", pa.array(numbers.astype(np.int64)))


def _summarise(con: Any, file: str) -> list[Problem]:
    rows = con.execute(
        """
        SELECT col, msg, hint, severity, count(*) AS n, list(__row ORDER BY __row)[1:5] AS first
        FROM _bad GROUP BY col, msg, hint, severity
        ORDER BY severity, min(__row)
        """
    ).fetchall()
    out = []
    for col, msg, hint, severity, n, first in rows:
        text = (
            msg
            if n == 1
            else f"{msg} ({n:,} rows, first at rows {', '.join(str(r) for r in first)})"
        )
        out.append(Problem(text, file=file, row=first[0], column=col, hint=hint, severity=severity))
    return out


def _final_sql(
    con: Any,
    query: str,
    table: str,
    source_id: str,
    *,
    numbered: bool = False,
    enums: Mapping[str, str] | None = None,
) -> tuple[str, list[str]]:
    """SELECT list turning a source query (already filtered) into the canonical columns.

    ``numbered``: the contact is its number ``i.n`` (see :func:`_numbered_contacts`) and the
    source id is left out; :func:`_restore_contacts` puts both back after the sort.
    ``enums``: columns cast to an ENUM type (see :func:`_enum_types`) instead of text; they
    reach Arrow as dictionaries, turned into text as the batch is written.
    """
    from workbook.crm.derive import duck_type
    from workbook.crm.sources import ql

    present = {d[0] for d in con.execute(f"SELECT * FROM ({query}) LIMIT 0").description}
    cols = []
    for f in schema.TABLES[table]:
        if numbered and f.name == "contact_id":
            cols.append('i.n AS "contact_id"')
            continue
        if numbered and f.name == "source_id":
            continue
        if f.name == "contact_id":
            expr = "i.cid"
        elif f.name == "source_id":
            expr = ql(source_id)
        elif f.name == "seq":
            # numbered after the sort, by :func:`_restore_contacts`: the file's row order
            # must not decide it
            expr = "0"
        elif f.name in present:
            expr = f'q."{f.name}"'
        else:
            expr = "NULL"
        kind = (enums or {}).get(f.name) if f.name in present else None
        cols.append(f'CAST({expr} AS {kind or duck_type(f.type)}) AS "{f.name}"')
    return ", ".join(cols), sorted(present)


def _enum_types(con: Any, categories: Mapping[str, str]) -> dict[str, str]:
    """An ENUM type per column of ``categories`` (column -> query of its values), named
    ``_enum_<column>``; a column with no value, or with very many, gets none. Sorted as an
    ENUM, a column costs a byte or two a row, not its text (10M events: written in ~11.8 s
    instead of ~13.7 s).
    """
    from workbook.crm.sources import ql

    types = {}
    for column, query in categories.items():
        rows = con.execute(f"SELECT * FROM ({query})").fetchall()
        values = sorted({str(r[0]) for r in rows if r[0] is not None})
        if not values or len(values) > _MAX_ENUM:
            continue
        name = f"_enum_{column}"
        con.execute(f"DROP TYPE IF EXISTS {name}")
        con.execute(f"CREATE TYPE {name} AS ENUM ({', '.join(ql(str(v)) for v in values)})")
        types[column] = name
    return types


#: The most values a column may have to be sorted as an ENUM.
_MAX_ENUM = 4096


def _numbered_contacts(con: Any, ids: str, name: str) -> Any:
    """Number the pseudonyms of ``ids`` (``ext``, ``cid``) in their sort order.

    Creates ``name`` (``ext``, ``n``) and returns the pseudonyms as an Arrow array, the
    pseudonym numbered ``n`` at position ``n``: sorting on ``n`` sorts on the pseudonym.
    Several ids may share a pseudonym (the same e-mail in other case), and so a number.
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_cid AS "
        "SELECT cid, (row_number() OVER (ORDER BY cid) - 1)::INTEGER AS n "
        f"FROM (SELECT DISTINCT cid FROM {ids})"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS "
        f"SELECT i.ext, c.n FROM {ids} i JOIN {name}_cid c USING (cid)"
    )
    from workbook.crm.sequences import arrow_table

    cids = arrow_table(con.sql(f"SELECT cid FROM {name}_cid ORDER BY n").arrow())
    con.execute(f"DROP TABLE {name}_cid")
    return cids.column(0).combine_chunks()


#: The columns that order one contact's events at one moment, in this order (then nothing:
#: two events alike in all of them are the same row).
_TIE_ORDER = (
    "stage",
    "kind",
    "touchpoint",
    "action",
    "channel",
    "experiment",
    "variant",
    "deal_id",
    "value",
)


def _content_ties(stages: Sequence[str]) -> Callable[[Iterable[Any]], Iterator[Any]]:
    """Put the events of one contact at one moment in the order of their content.

    The events are sorted by contact and time only, which is as fast as DuckDB sorts them
    (10M events: ~11.5 s to write, ~13.5-15.5 s with every content column in the ORDER BY);
    this puts each run of equal contact and time in the workspace's stage order (then any
    other stage's text), then by :data:`_TIE_ORDER`, nulls last, with Arrow, touching only
    the rows that tie. A run cut between two batches is held back and finished first.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    stage_set = pa.array(list(stages), pa.string())

    def keys(batch: Any) -> tuple[Any, Any]:
        contact = batch.column("contact_id").to_numpy(zero_copy_only=False)
        ts = batch.column("ts").cast(pa.int64()).to_numpy(zero_copy_only=False)
        return contact, ts

    def fix(batch: Any) -> Any:
        n = batch.num_rows
        if n < 2:
            return batch
        contact, ts = keys(batch)
        new = np.empty(n, bool)
        new[0] = True
        new[1:] = (contact[1:] != contact[:-1]) | (ts[1:] != ts[:-1])
        run = np.cumsum(new) - 1
        size = np.bincount(run)
        tied = np.flatnonzero(size[run] > 1)
        if tied.size == 0:
            return batch
        sub = batch.take(pa.array(tied))
        cols: dict[str, Any] = {"_run": pa.array(run[tied])}
        sort = [("_run", "ascending", "at_end")]
        for name in _TIE_ORDER:
            col = sub.column(name)
            if pa.types.is_dictionary(col.type):
                col = col.dictionary_decode()
            if name == "stage":
                cols["_rank"] = pc.index_in(col, value_set=stage_set)
                sort.append(("_rank", "ascending", "at_end"))
            cols[name] = col
            sort.append((name, "ascending", "at_end"))
        order = pc.sort_indices(pa.table(cols), sort_keys=sort)
        moved = order.to_numpy()
        if (moved[1:] > moved[:-1]).all():  # the ties were in order already
            return batch
        perm = np.arange(n)
        perm[tied] = tied[moved]
        return batch.take(pa.array(perm))

    def stream(batches: Iterable[Any]) -> Iterator[Any]:
        pending = None  # the last run of the batch before: it may go on in this one
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if pending is not None:
                (pc_, pt), (bc, bt) = keys(pending.slice(0, 1)), keys(batch.slice(0, 1))
                if pc_[0] == bc[0] and pt[0] == bt[0]:
                    table = pa.Table.from_batches([pending, batch]).unify_dictionaries()
                    batch = table.combine_chunks().to_batches()[0]
                else:
                    yield fix(pending)
            contact, ts = keys(batch)
            cut = np.flatnonzero((contact[1:] != contact[:-1]) | (ts[1:] != ts[:-1]))
            last = int(cut[-1]) + 1 if cut.size else 0
            if last:
                yield fix(batch.slice(0, last))
            pending = batch.slice(last)
        if pending is not None:
            yield fix(pending)

    return stream


def _restore_contacts(pseudonyms: Any, source_id: str) -> Callable[[Any], Any]:
    """A batch of :func:`_final_sql`'s numbered rows with its pseudonyms and source id back,
    and ``seq`` numbered: 0, 1, 2... over the events of a contact at one moment, in the order
    of :func:`_content_ties`, so it follows the events' content. The batches come
    in that order; a run of one contact and moment may go on from one batch to the next.
    """
    import numpy as np
    import pyarrow as pa

    names = [f.name for f in schema.TABLES["events"]]
    source = pa.scalar(source_id, pa.string())
    last: dict[str, Any] = {"key": None, "seq": -1}

    def numbered(batch: Any) -> Any:
        n = batch.num_rows
        if n == 0:
            return pa.array(np.zeros(0, np.int32))
        contact = batch.column("contact_id").to_numpy(zero_copy_only=False)
        ts = batch.column("ts").cast(pa.int64()).to_numpy(zero_copy_only=False)
        new = np.empty(n, bool)
        new[0] = last["key"] != (contact[0], ts[0])
        new[1:] = (contact[1:] != contact[:-1]) | (ts[1:] != ts[:-1])
        index = np.arange(n)
        start = np.maximum.accumulate(np.where(new, index, 0))
        seq = index - start
        if not new[0]:
            seq[start == 0] += last["seq"] + 1  # the run the batch before left open
        last["key"], last["seq"] = (contact[-1], ts[-1]), int(seq[-1])
        return pa.array(seq.astype(np.int32))

    def restore(batch: Any) -> Any:
        columns = {
            "contact_id": pseudonyms.take(batch.column("contact_id")),
            "source_id": pa.repeat(source, batch.num_rows),
            "seq": numbered(batch),
        }
        arrays = [columns[n] if n in columns else batch.column(n) for n in names]
        return pa.RecordBatch.from_arrays(arrays, names=names)

    return restore


def import_file(
    workspace: str | Path,
    file: str | Path,
    *,
    source: str | None = None,
    column_map: str | Path | dict[str, Any] | None = None,
    stage_map: str | Path | dict[str, Any] | None = None,
    set_aside_bad_rows: bool = False,
    source_id: str | None = None,
    date_format: str | None = None,
    currency: str | None = None,
    progress: Callable[[str], None] | None = None,
    now: dt.datetime | None = None,
    match: str | None = None,
) -> ImportResult:
    """Import one CRM export into a workspace.

    Parameters
    ----------
    workspace
        The workspace folder.
    file
        The export: CSV (any of the usual encodings and separators), Excel or Parquet.
    source
        ``hubspot``, ``salesforce``, ``pipedrive`` or ``generic``; detected from the header
        when not given.
    column_map
        For ``generic``: a YAML file (or dict) saying which column holds which field.
    stage_map
        A YAML file (or dict) mapping the client's stage names to workspace stage ids. It
        comes before the stages' aliases, which come before their ids and names (see
        :mod:`workbook.crm.stagemap`).
    set_aside_bad_rows
        Import the good rows and list the bad ones in ``data/rejects/<source-id>.csv``
        instead of stopping at the first bad row.
    source_id
        Name this source (default: from the system and the file name).
    date_format
        strptime format of the file's dates when they are not ISO (``%d/%m/%Y %H:%M``).
    currency
        ISO code for amounts when the file has no currency column.
    progress
        Called with a short description as each step starts.
    now
        Dates after this are "in the future" (default: the current time).
    match
        How the export's people are linked with those already in the workspace
        (:mod:`workbook.crm.identity`): ``auto`` (the default: e-mail, else id), ``email``,
        ``id`` or ``none``. A generic column map may set it with ``match:``.

    Returns
    -------
    ImportResult

    Raises
    ------
    CrmImportError
        With every problem found; the workspace is unchanged.
    """
    import duckdb

    from workbook import store
    from workbook.crm import sources
    from workbook.crm.derive import connect, copy_parquet
    from workbook.crm.privacy import ensure_salt
    from workbook.crm.sniff import sniff
    from workbook.crm.stagemap import StageMap, load_map_file

    step = progress or (lambda _s: None)
    path = Path(file)
    name = path.name
    check_options(name, source_id, match)
    ws = store.open_workspace(workspace)
    ws_path = Path(ws.path)
    # an import a killed process left half committed is finished first; dead runs' folders go
    recover(ws_path)
    if not path.is_file():
        raise CrmImportError(f"{name}: file not found", hint="check the path to the export")

    step("checking the file")
    size = path.stat().st_size
    sniffed = sniff(path)
    manifest = read_manifest(ws_path)
    # The file's hash tells whether it was imported already. Only an entry of the same size
    # (or one from before sizes were recorded) can match: then hash now; otherwise hash on
    # a second thread while the file is read (2 GB take ~1.5 s).
    hashing: Future[str] | None = None
    if any(e.get("bytes", size) == size for e in manifest["sources"].values()):
        digest = _sha256(path)
        if done := already_imported(ws_path, manifest, name, digest, source_id, match):
            return done
    else:
        pool = ThreadPoolExecutor(1, thread_name_prefix="workbook-sha256")
        hashing = pool.submit(_sha256, path)
        pool.shutdown(wait=False)  # the thread ends when the hash is done

    step("reading")
    if isinstance(column_map, (str, Path)):
        column_map = load_map_file(column_map) | {"__file__": Path(column_map).name}
    stage_file = Path(stage_map).name if isinstance(stage_map, (str, Path)) else None
    if isinstance(stage_map, (str, Path)):
        stage_map = load_map_file(stage_map)
    # working files (a re-encoded copy, DuckDB's spill) live in the workspace, in a folder
    # the next run removes should this one be killed
    scratch_dir = scratch(ws_path)
    work = scratch_dir.__enter__()
    con: Any = None
    try:

        def check(fast: bool) -> tuple[Any, Any, Any, Any, str, int, list[int]]:
            """Read the file, run the source's checks; (con, src, ctx, queries, sid, rows, ragged).

            ``fast`` streams a CSV file through DuckDB's parallel reader; the other way reads
            it whole with Arrow, which also copes with ragged rows and oversized values.
            """
            con = connect(memory_limit=_MEMORY_LIMIT, spill_dir=work / "spill")
            try:
                if fast:
                    header = list(sniffed.header)
                    con.execute(
                        # no __row: the source's staging table numbers the rows (ctx.stage)
                        "CREATE OR REPLACE TEMP VIEW raw AS "
                        f"SELECT * FROM {_csv_relation(path, sniffed, work)}"
                    )
                    ragged: list[int] = []
                    # a small file is counted now, so an empty one is refused before anything
                    # else; a large one is counted by its source's first pass
                    n_raw = (
                        int(con.execute("SELECT count(*) FROM raw").fetchall()[0][0])
                        if path.stat().st_size <= _SMALL_FILE
                        else -1
                    )
                else:
                    table, ragged = _read_raw(path, sniffed)
                    header = list(table.column_names)
                    n_raw = table.num_rows
                if n_raw == 0 and not ragged:
                    raise _no_rows(name)
                src = sources.get(source) if source else sources.detect(header, name)
                sid = source_id or source_id_for(src.name, name)
                stages = StageMap.for_workspace(ws.data, src.name, stage_map, stage_file)
                if not fast:
                    table = _number_rows(table, ragged)
                    con.register("_raw_arrow", table)
                    con.execute("CREATE OR REPLACE TEMP VIEW raw AS SELECT * FROM _raw_arrow")
                ctx = sources.ReadContext(
                    con,
                    name,
                    header,
                    stages,
                    ws.data,
                    now or dt.datetime.now(dt.UTC),
                    options={
                        "column_map": column_map,
                        "date_format": date_format,
                        "currency": currency,
                        "match": match,
                    },
                    numbered=not fast,
                )
                for r in ragged:
                    con.execute(
                        "INSERT INTO _bad VALUES (?, NULL, ?, ?, 'error', ?)",
                        [r, _RAGGED, _RAGGED_HINT, _RAGGED],
                    )
                if not fast:
                    # the fast reader refuses any line longer than MAX_FIELD_BYTES instead
                    _check_field_sizes(table, ctx)

                step("checking rows")
                queries = src.read(ctx)
                if n_raw < 0:
                    n_raw = (
                        ctx.rows
                        if ctx.rows is not None
                        else int(con.execute("SELECT count(*) FROM raw").fetchall()[0][0])
                    )
                    if n_raw == 0:
                        raise _no_rows(name)
                # every source has copied what it needs out of `raw`: free the text of the
                # file before the sorts and joins that follow
                con.execute("DROP VIEW raw")
                if not fast:
                    con.unregister("_raw_arrow")
                    del table
                return con, src, ctx, queries, sid, n_raw, ragged
            except BaseException:
                con.close()
                raise

        try:
            if sniffed.kind != "csv":
                raise _NotFast
            con, src, ctx, queries, sid, n_raw, ragged = check(fast=True)
        except (_NotFast, duckdb.Error, UnicodeDecodeError):
            # anything unusual (a ragged row, a quoted line break the fast reader refused, a
            # long line, a broken encoding): the careful reader finds and names it
            con, src, ctx, queries, sid, n_raw, ragged = check(fast=False)
        warnings, row_errors = raise_problems(
            name, ctx.problems, _summarise(con, name), set_aside_bad_rows
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _rej AS "
            "SELECT DISTINCT __row FROM _bad WHERE severity = 'error'"
        )
        rejected = int(con.execute("SELECT count(*) FROM _rej").fetchall()[0][0])
        rows_read = n_raw + len(ragged)
        check_usable(name, rejected, rows_read, row_errors)

        if hashing is not None:
            digest = hashing.result()
        step("pseudonymising")
        # contacts are materialised (small); events and deals stay views, read once when written
        # with no row set aside (the usual case) the 10M-row events need no anti join
        keep = " ANTI JOIN _rej USING (__row)" if rejected else ""
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _c AS SELECT q.* FROM ({queries.contacts}) q{keep}"
        )
        for t, q in (("_e", queries.events), ("_d", queries.deals)):
            con.execute(f"CREATE OR REPLACE TEMP VIEW {t} AS SELECT q.* FROM ({q}) q{keep}")
        # every contact of an event or a deal is in the contacts query of its source
        salt = ensure_salt(ws_path)
        # one person, one contact: each id gets the contact its e-mail or id already has in
        # the workspace, else a new pseudonym (creates _ids and _keys)
        others = [schema.source_dir(ws_path, s) for s in manifest["sources"] if s != sid]
        people = link_contacts(
            con,
            contacts="_c",
            emails=queries.emails,
            salt=salt,
            source_id=sid,
            mode=ctx.options.get("match") or "auto",
            others=others,
            aliases=queries.aliases,
        )
        warnings += link_warnings(people, name, len(others), queries.emails is not None)

        step("writing tables")
        replaced = sid in manifest["sources"]
        with Staging(ws_path, sid, con=con) as st:
            out = st.source_path
            out.mkdir(parents=True)
            con.execute(
                "COPY (SELECT key, contact_id FROM _keys ORDER BY key) "
                f"TO '{_q(out / KEYS_FILE)}' (FORMAT parquet, COMPRESSION zstd)"
            )
            # several ids with one pseudonym (an e-mail in other case): the contact row kept
            # is the first by content (earliest created, then each attribute), not by row
            have = {d[0] for d in con.execute("SELECT * FROM _c LIMIT 0").description}
            first = [
                f'q."{f.name}"'
                for f in sorted(schema.CONTACTS, key=lambda f: f.name != "created_at")
                if f.name in have and f.name not in ("contact_id", "source_id")
            ] + ["q.contact_id"]
            stage_ids = [s.id for s in ws.data.stages]
            enums = _enum_types(con, queries.categories)
            plans = (
                (
                    "contacts",
                    "_c",
                    "contact_id",
                    "QUALIFY row_number() OVER (PARTITION BY i.cid "
                    f"ORDER BY {', '.join(first)}) = 1",
                ),
                ("events", "_e", None, "WHERE q.ts IS NOT NULL"),
                ("deals", "_d", "contact_id, created_at, deal_id", ""),
            )
            counts = {}
            # The events, nine rows in ten, sort on each contact's number, not its
            # pseudonym, and without the source id, the same on every row; both are put back
            # batch by batch (10M events: written in ~10.2 s instead of ~11.4 s).
            pseudonyms = _numbered_contacts(con, "_ids", "_ids_n")

            def write(
                table: str, tmp: str, order: str | None, extra: str, enums: dict[str, str]
            ) -> int:
                numbered = table == "events"
                # the events sort on contact and time; ties are put in order of content in
                # Arrow as they are written (_content_ties)
                order = order or "contact_id, ts"
                select, _ = _final_sql(
                    con,
                    f"SELECT * FROM {tmp}",
                    table,
                    sid,
                    numbered=numbered,
                    enums=enums if numbered else None,
                )
                return copy_parquet(
                    con,
                    f"SELECT * FROM (SELECT {select} FROM {tmp} q "
                    f"JOIN {'_ids_n' if numbered else '_ids'} i ON i.ext = q.contact_id "
                    f"{extra}) ORDER BY {order}",
                    table,
                    out / f"{table}.parquet",
                    restore=_restore_contacts(pseudonyms, sid) if numbered else None,
                    stream=_content_ties(stage_ids) if numbered else None,
                )

            for table, tmp, order, extra in plans:
                try:
                    counts[table] = write(table, tmp, order, extra, enums)
                except duckdb.ConversionException:
                    if table != "events" or not enums:
                        raise
                    # a value the source's categories did not list: sort the text instead
                    counts[table] = write(table, tmp, order, extra, {})
            span = con.sql(
                f"SELECT min(ts), max(ts) FROM read_parquet('{_q(out / 'events.parquet')}')"
            ).to_arrow_table()
            first_event, last_event = span.column(0)[0].as_py(), span.column(1)[0].as_py()

            # the staging tables hold every row of the file: free them (and the memory DuckDB
            # may use) before the derived tables sort and group the events again
            _drop_temp(con, keep={"_bad", "_merge"})
            # the derived tables also hold each contact's touches in Arrow, outside DuckDB
            limit = _DERIVED_MEMORY_SOURCES if others else _DERIVED_MEMORY_LIMIT
            con.execute(f"SET memory_limit='{limit}'")

            # contacts of other sources this one names as its people (a contact role's
            # opportunity) are merged into them: those sources are rewritten alongside
            for other in others if people.relinked else ():
                rewritten = relink_source(con, other, st.path / "sources" / other.name)
                if rewritten is not None:
                    st.relinked[other.name] = rewritten

            step("building derived tables")
            stage_ids = [s.id for s in ws.data.stages]

            def derive() -> dict[str, int]:
                con.execute(f"SET memory_limit='{limit}'")
                try:
                    return st.build_derived(stage_ids)
                except duckdb.OutOfMemoryException:
                    con.execute(f"SET memory_limit='{_DERIVED_MEMORY_RETRY}'")
                    return st.build_derived(stage_ids)

            derived = derive()

            rejects_rel = None
            if rejected:
                rejects_rel = f"data/rejects/{sid}.csv"
                con.execute(
                    f"COPY ({rejects_query('_bad')}) "
                    f"TO '{_q(st.path / 'rejects.csv')}' (HEADER, DELIMITER ',')"
                )
            result = ImportResult(
                sid,
                src.name,
                name,
                digest,
                replaced=replaced,
                rows_read=rows_read,
                rows_rejected=rejected,
                tables=counts,
                first_event=first_event,
                last_event=last_event,
                warnings=warnings,
                rejects_file=rejects_rel,
                people=people,
            )
            entry = manifest_entry(result, size)
            step("saving")
            # one atomic step under the workspace lock: the data, the manifest and
            # workspace.yaml's data_sources change together or not at all (see storage)
            result.derived = st.commit(ws, entry, rejects=bool(rejected), rebuild=derive) or derived
    except duckdb.OutOfMemoryException:
        # DuckDB spills what it can to disk; some steps cannot, and then it gives up
        raise CrmImportError(
            f"{name}: not imported, the computer ran out of memory; nothing was changed",
            hint="close other programs and import again, or import on a computer with more "
            "memory (10M events need about 2 GB, and more for every source already imported)",
        ) from None
    finally:
        if con is not None:
            con.close()
        scratch_dir.__exit__(None, None, None)
    return result


def check_options(name: str, source_id: str | None, match: str | None) -> None:
    """Refuse a source id or a way to match people that cannot be, before any file is
    touched (both engines)."""
    if source_id is not None:
        _check_source_id(source_id, name)
    if match is not None and match not in MATCH_MODES:
        raise CrmImportError(
            f"{name}: not imported, --match {match!r} is not a way to match people",
            hint=f"use one of: {', '.join(MATCH_MODES)}",
        )


def already_imported(
    ws_path: Path,
    manifest: Mapping[str, Any],
    name: str,
    digest: str,
    source_id: str | None,
    match: str | None,
) -> ImportResult | None:
    """The result of an import that has nothing to do: a source of the manifest holds this
    very file (same SHA-256; the same source id and way of matching people when given), its
    tables intact. None when the file is to be imported (both engines)."""
    for sid, entry in manifest["sources"].items():
        if (
            entry.get("sha256") == digest
            and (source_id is None or source_id == sid)
            # a damaged or missing table is written again from the export
            and _source_intact(ws_path, sid, entry)
            # another way to match people is another import
            and (match is None or (entry.get("people") or {}).get("mode", "auto") == match)
        ):
            return ImportResult(
                sid,
                entry.get("system", "?"),
                name,
                digest,
                unchanged=True,
                rows_read=entry.get("rows_read", 0),
            )
    return None


def raise_problems(
    name: str,
    file_problems: Sequence[Problem],
    row_problems: Sequence[Problem],
    set_aside: bool,
) -> tuple[list[Problem], list[Problem]]:
    """Stop the import on an error with the file, or on a bad row unless ``set_aside``:
    one :class:`CrmImportError` listing every problem (errors first). Otherwise returns
    the warnings and the row errors (both engines)."""
    file_errors = [p for p in file_problems if p.severity == "error"]
    warnings = [p for p in file_problems if p.severity == "warning"] + [
        p for p in row_problems if p.severity == "warning"
    ]
    row_errors = [p for p in row_problems if p.severity == "error"]
    if file_errors or (row_errors and not set_aside):
        n = len(file_errors) + len(row_errors)
        hint = None
        if row_errors and not file_errors:
            hint = (
                "fix the rows, or add --set-aside-bad-rows to import the rest and list the bad rows"
            )
        raise CrmImportError(
            f"{name}: not imported, {n} problem{'s' if n != 1 else ''} found; nothing was changed",
            file_errors + row_errors + warnings,
            hint=hint,
        )
    return warnings, row_errors


def check_usable(name: str, rejected: int, rows_read: int, row_errors: list[Problem]) -> None:
    """Refuse a file whose every row is set aside (both engines)."""
    if rejected >= rows_read:
        raise CrmImportError(
            f"{name}: not imported, no row is usable; nothing was changed",
            row_errors,
            hint="fix the file and import it again",
        )


def manifest_entry(result: ImportResult, size: int) -> dict[str, Any]:
    """A source's entry in the manifest, from what its import did and the file's size in
    bytes (both engines; the Spark import adds ``engine``)."""
    people = result.people
    return {
        "file": result.file,
        "sha256": result.sha256,
        "bytes": size,
        "system": result.system,
        "rows_read": result.rows_read,
        "rows_rejected": result.rows_rejected,
        "first_event": result.first_event.isoformat() if result.first_event else None,
        "last_event": result.last_event.isoformat() if result.last_event else None,
        "imported_at": now_utc(),
        "tables": result.tables,
        "people": people.as_dict() if people is not None else None,
    }


def _check_source_id(source_id: str, name: str) -> None:
    """Refuse a source id that is not a slug, before any file is touched (it names a folder)."""
    from workbook.model import is_slug, slugify

    if is_slug(source_id):
        return

    why = (
        f"is {len(source_id)} characters long, at most 64"
        if len(source_id) > 64
        else "may hold only lower-case letters, digits and single hyphens"
    )
    suggestion = slugify(source_id, fallback="export")[:64].strip("-")
    raise CrmImportError(
        f"{name}: not imported, the source id {source_id!r} {why}; nothing was changed",
        hint=f"name the source with a short slug, like --as {suggestion}",
    )


def _source_intact(ws_path: Path, sid: str, entry: Mapping[str, Any]) -> bool:
    """Whether a source's tables are on disk, readable, with the rows the manifest records."""
    folder = schema.source_dir(ws_path, sid)
    for table, rows in (entry.get("tables") or {}).items():
        try:
            if parquet_rows(folder / f"{table}.parquet") != rows:
                return False
        except Exception:  # missing (OSError) or damaged (ArrowInvalid): import it again
            return False
    return bool(entry.get("tables"))


def rejects_query(bad: str) -> str:
    """SQL (DuckDB's dialect) of the rejects file's rows from the problems table ``bad``
    (``__row``, ``col``, ``plain``, ``hint``, ``severity``): row, column, problem, what to
    do, for each error, in row order. Enough to find and fix the row, and no value from the
    export (the summary on screen names unknown stages); a cell a spreadsheet would read as
    a formula is made plain text. Both engines write it (as DuckDB's CSV writer quotes)."""
    cells = ", ".join(
        f"{_plain_cell(expr)} AS {alias}"
        for expr, alias in (
            ("coalesce(col, '')", '"column"'),
            ("plain", "problem"),
            ("hint", "what_to_do"),
        )
    )
    return f"SELECT __row AS row, {cells} FROM {bad} WHERE severity = 'error' ORDER BY __row, col"


def _plain_cell(expr: str) -> str:
    """SQL making a text cell safe in a spreadsheet (OWASP's advice on CSV injection).

    A cell starting with =, +, -, @, a tab or a carriage return gets a leading quote, so a
    spreadsheet shows it as text instead of running it as a formula.
    """
    return (
        f"CASE WHEN regexp_matches({expr}, '^[=+\\-@\\t\\r]') "
        f"THEN chr(39) || {expr} ELSE {expr} END"
    )


def _drop_temp(con: Any, keep: set[str]) -> None:
    """Drop every temporary view and table of the connection but ``keep``."""
    for (name,) in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
    ).fetchall():
        if name not in keep:
            con.execute(f'DROP VIEW "{name}"')
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall():
        if name not in keep:
            con.execute(f'DROP TABLE "{name}"')


def _q(path: Path | str) -> str:
    return str(path).replace("'", "''")


def _check_field_sizes(raw: Any, ctx: Any) -> None:
    import pyarrow.compute as pc

    from workbook.crm.sources import qi

    for name in raw.column_names:
        if name == "__row":
            continue
        longest = pc.max(pc.binary_length(raw.column(name))).as_py()
        if longest and longest > MAX_FIELD_BYTES:
            ctx.flag(
                "raw",
                f"octet_length(encode({qi(name)})) > {MAX_FIELD_BYTES}",
                name,
                f"a value longer than {MAX_FIELD_BYTES // 1024} KB",
                "CRM exports do not hold values this long; check this is the right file and column",
            )
