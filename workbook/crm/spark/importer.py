"""The CRM import on Spark: the DuckDB import's checks, pseudonyms and tables, on a cluster.

:func:`import_events` does what :func:`workbook.crm.importer.import_file` does, for every
source it takes (long event files, HubSpot, Salesforce opportunity history and contact roles,
Pipedrive; CSV, Parquet or Excel), with the same code wherever it can be the same:

- the header is detected and the columns found by the source itself, whose DuckDB SQL runs
  on Spark through a small connection adapter (:class:`_SparkCon`) and
  :func:`workbook.crm.spark.sql.to_spark`; so every check and every message (an empty
  contact, an unreadable or future date, an unknown kind or stage, a value that is not a
  number, a repeated id, a ragged CSV row) is the same text at the same row;
- people are linked and pseudonymised by :func:`workbook.crm.identity.link_contacts`, with
  the HMAC computed by Spark (``hmac``, SHA-256, the workspace's salt): a contact's
  pseudonym is the same on either engine, non-ASCII ids included; when the import's people
  merge contacts of sources already imported (a contact role names an opportunity's
  person), those sources are rewritten in the same staging folder by a join with the
  merges (:func:`_relink_source`, the rows :func:`workbook.crm.identity.relink_source`
  writes), so the commit stays one step;
- the canonical tables are written with the same columns and types, the events numbered
  ``seq`` in the same content order (:data:`workbook.crm.importer._TIE_ORDER`) by a window
  partitioned by contact; the derived tables by :func:`workbook.crm.spark.derive.build_derived`;
- the checks of the options, the "already imported" lookup, the refusal listing the
  problems, the manifest entry and the rejects file's rows are the DuckDB import's own
  functions (:func:`~workbook.crm.importer.check_options`,
  :func:`~workbook.crm.importer.already_imported`,
  :func:`~workbook.crm.importer.raise_problems`,
  :func:`~workbook.crm.importer.manifest_entry`,
  :func:`~workbook.crm.importer.rejects_query`); the staging folder, the journaled commit
  and ``workspace.yaml``'s ``data_sources`` are :mod:`workbook.crm.storage`'s, unchanged.

What reaches the driver: the header, the distinct names of stages, touchpoints and
personas (a few dozen), counts, the problems' summary (one row per kind of problem), and
the rows set aside for the rejects file (streamed, never all at once). Never the events,
with one exception: an Excel workbook is read on the driver by the DuckDB import's reader
and handed to Spark as a DataFrame (a sheet holds at most 1,048,576 rows). Nothing is
refused for its source or format. One difference remains: a long event file larger than one
of Spark's splits is read in parallel parts, where a line break inside a quoted value shows
as ragged rows (:func:`_whole`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbook.crm import schema
from workbook.crm.spark.sql import to_spark
from workbook.exceptions import CrmImportError, Problem

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from workbook.crm.importer import ImportResult

__all__ = ["import_events", "spark_pseudonym_table"]


class _Result:
    def __init__(self, df: DataFrame | None) -> None:
        self.df = df

    def fetchall(self) -> list[tuple[Any, ...]]:
        # only ever a count or a handful of rows (see the callers)
        return [] if self.df is None else [tuple(r) for r in self.df.collect()]


class _SparkCon:
    """The DuckDB connection calls that a source's ``read`` and the people linking make,
    carried out on Spark: ``CREATE [OR REPLACE] TEMP TABLE|VIEW name AS query`` (a table is
    a persisted view), an empty ``CREATE TEMP TABLE name (columns)``, ``DROP ... IF EXISTS``,
    ``SELECT`` and ``register`` (a small Arrow table: the distinct names a lookup maps).
    Anything else is a bug here, and says so."""

    _CREATE = re.compile(
        r"\s*CREATE\s+(?:OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+(TABLE|VIEW)\s+(\w+)\s+AS\s+(.*)\Z",
        re.IGNORECASE | re.DOTALL,
    )
    _EMPTY = re.compile(
        r"\s*CREATE\s+(?:OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+TABLE\s+(\w+)\s*\((.*)\)\s*\Z",
        re.IGNORECASE | re.DOTALL,
    )
    _DROP = re.compile(r"\s*DROP\s+(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?(\w+)\s*\Z", re.IGNORECASE)

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self.persisted: list[DataFrame] = []
        #: empty tables to make from a view when it exists: link_contacts' known keys of the
        #: other sources are read by Spark (_keys_views), so it is given no folders to read
        self.instead: dict[str, str] = {"_lk_known": "_spark_known_keys"}

    def sql(self, text: str) -> DataFrame:
        return self.spark.sql(to_spark(text))

    def execute(self, text: str, params: Any = None) -> _Result:
        if params:
            raise NotImplementedError("parameters are not passed to Spark SQL here")
        if m := self._CREATE.match(text):
            kind, name, body = m.groups()
            df = self.sql(body)
            if kind.upper() == "TABLE":
                # computed now, its plan cut short (see workbook.crm.spark.derive)
                df = df.localCheckpoint()
            df.createOrReplaceTempView(name)
            return _Result(None)
        if m := self._EMPTY.match(text):
            name, cols = m.groups()
            other = self.instead.get(name)
            if other and self.spark.catalog.tableExists(other):
                self.spark.table(other).createOrReplaceTempView(name)
                return _Result(None)
            self.sql(f"SELECT * FROM (SELECT {_nulls(cols)}) WHERE false").createOrReplaceTempView(
                name
            )
            return _Result(None)
        if m := self._DROP.match(text):
            self.spark.catalog.dropTempView(m.group(1))
            return _Result(None)
        if re.match(r"\s*(SELECT|WITH)\b", text, re.IGNORECASE):
            return _Result(self.sql(text))
        raise NotImplementedError(f"not carried out on Spark: {text.strip()[:60]}")

    def register(self, name: str, table: Any) -> None:
        """A small Arrow table (a lookup of a column's distinct names) as the view ``name``."""
        from pyspark.sql.pandas.types import from_arrow_schema

        schema_ = from_arrow_schema(table.schema)
        rows = table if table.num_rows else []
        self.spark.createDataFrame(rows, schema=schema_).createOrReplaceTempView(name)

    def close(self) -> None:
        for df in self.persisted:
            df.unpersist()
        self.persisted.clear()


def _nulls(columns: str) -> str:
    """``key VARCHAR, n BIGINT`` as ``CAST(NULL AS VARCHAR) AS key, ...``."""
    out = []
    for col in columns.split(","):
        name, kind = col.split(None, 1)
        out.append(f"CAST(NULL AS {kind.strip()}) AS {name.strip()}")
    return ", ".join(out)


def _ql(value: str) -> str:
    from workbook.crm.sources import ql

    return ql(value)


def _read_context(base: type) -> type:
    """A :class:`workbook.crm.sources.ReadContext` whose rows and checks live on Spark."""

    @dataclass
    class SparkReadContext(base):  # type: ignore[misc]
        spark_con: Any = None
        bad: list[Any] = field(default_factory=list)

        def __post_init__(self) -> None:
            pass  # no _bad table: each flag is a DataFrame, unioned by _problems

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
            msg = message_sql or _ql(message)
            col = _ql(column) if column else "CAST(NULL AS VARCHAR)"
            self.bad.append(
                self.spark_con.sql(
                    f"SELECT __row, {col} AS col, {msg} AS msg, {_ql(hint)} AS hint, "
                    f"{_ql(severity)} AS severity, {_ql(message)} AS plain "
                    f"FROM {relation} WHERE {condition}"
                )
            )
            return -1  # counted once, with every other problem (see _problems)

        def moment(self, ts: str, stage: str, close: str, rest: Sequence[str]) -> str:
            # DuckDB packs these into one HUGEINT with a hash of the rest; Spark orders the
            # struct itself (rows alike in time, stage and close: by their content)
            rank = f"least(coalesce({self.stage_rank(stage)}, 255), 255)"
            shut = f"CASE {close} WHEN 'lost' THEN 1 WHEN 'won' THEN 2 ELSE 0 END"
            parts = ", ".join(
                [f"{ts} AS _t", f"{rank} AS _r", f"{shut} AS _c"]
                + [f"{r} AS _x{i}" for i, r in enumerate(rest)]
            )
            return f"CASE WHEN {ts} IS NOT NULL THEN struct({parts}) END"

    return SparkReadContext


def spark_pseudonym_table(con: _SparkCon, ids: str, salt: bytes, name: str) -> None:
    """:func:`workbook.crm.privacy.pseudonym_table` on Spark: the view ``name`` (``ext``,
    ``cid``) with ``'c'`` + 16 hex digits of HMAC-SHA256(salt, normalised id).

    Ids that are all ASCII are normalised in SQL (trimmed of ASCII white space, lower case
    when they hold an ``@``); the others by :func:`workbook.crm.privacy._normal` in Python on
    the executors (Unicode case folding and white space exactly as Python has them).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    from workbook.crm.privacy import _ASCII_SPACE

    distinct = con.sql(
        f"SELECT DISTINCT ext FROM ({ids}) WHERE ext IS NOT NULL AND ext <> ''"
    ).withColumn("_ascii", F.expr("octet_length(ext) = char_length(ext)"))
    space = "".join(f"\\u{ord(c):04x}" for c in _ASCII_SPACE)
    trimmed = F.regexp_replace(F.col("ext"), f"^[{space}]+|[{space}]+$", "")
    ascii_ids = distinct.where("_ascii").select(
        "ext",
        F.when(trimmed.contains("@"), F.lower(trimmed)).otherwise(trimmed).alias("norm"),
    )

    def norm(raw: str) -> str:  # privacy._normal written out: executors need no workbook
        raw = raw.strip()
        return raw.casefold() if "@" in raw else raw

    # no type hints on the function Spark sees: it reads hints as a request for a pandas UDF
    normal = F.udf(lambda v: norm(v), StringType())
    others = distinct.where("NOT _ascii").select("ext", normal("ext").alias("norm"))
    key = F.lit(salt)
    out = ascii_ids.unionByName(others).select(
        "ext",
        F.concat(
            F.lit("c"),
            F.substring(F.hex(F.hmac(key, F.encode("norm", "UTF-8"), F.lit("SHA256"))), 1, 16),
        ).alias("cid"),
    )
    out = out.select("ext", F.lower("cid").alias("cid")).localCheckpoint()
    out.createOrReplaceTempView(name)


def _fingerprint(spark: SparkSession, uri: str) -> tuple[str, int, str]:
    """(sha256, size, name) of the export: the file's own hash for a local file; for one in
    distributed storage, a hash of its path, size and modification time (reading a
    data lake's file on the driver to hash it would defeat the point)."""
    jvm: Any = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(path):
        name = uri.rstrip("/").rsplit("/", 1)[-1]
        raise CrmImportError(f"{name}: file not found", hint="check the path to the export")
    status = fs.getFileStatus(path)
    name = str(path.getName())
    size = int(fs.getContentSummary(path).getLength())
    local = Path(uri[7:] if uri.startswith("file:") else uri)
    if "://" not in uri and local.is_file():
        digest = hashlib.sha256()
        with local.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest(), size, name
    mark = f"{uri}\n{size}\n{int(status.getModificationTime())}".encode()
    return hashlib.sha256(mark).hexdigest(), size, name


def _head(spark: SparkSession, uri: str, n: int | None = 1 << 16) -> bytes:
    """The first ``n`` bytes of a file (None: all), through whatever file system Spark
    reaches it by."""
    local = Path(uri[5:] if uri.startswith("file:") else uri)
    if "://" not in uri and local.is_file():
        with local.open("rb") as fh:
            return fh.read() if n is None else fh.read(n)
    jvm: Any = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if fs.getFileStatus(path).isDirectory():
        return b"PAR1"  # a folder of parts: Parquet, as Spark writes it
    stream = fs.open(path)
    try:
        if n is None:
            return bytes(jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
        bounded = jvm.org.apache.commons.io.input.BoundedInputStream(stream, n)
        return bytes(jvm.org.apache.commons.io.IOUtils.toByteArray(bounded))
    finally:
        stream.close()


def _number_rows(df: DataFrame) -> DataFrame:
    """``df`` with ``__row``, 1-based, in the order Spark read it (the file's order: parts are
    splits of the file in order, rows in order within each). Counted per part; one number per
    part reaches the driver."""
    from pyspark.sql import functions as F

    ided = df.withColumn("_part", F.spark_partition_id()).withColumn(
        "_id", F.monotonically_increasing_id()
    )
    ided = ided.persist()
    sizes = sorted(
        (int(r["_part"]), int(r["count"])) for r in ided.groupBy("_part").count().collect()
    )
    spark = df.sparkSession
    before, total = [], 0
    for part, count in sizes:
        before.append((part, total))
        total += count
    offsets = spark.createDataFrame(before or [(0, 0)], "_part INT, _before BIGINT")
    # within a part, monotonically_increasing_id counts up from part << 33
    return (
        ided.join(F.broadcast(offsets), "_part")
        .withColumn(
            "__row",
            F.col("_before") + F.col("_id") - F.shiftleft(F.col("_part").cast("bigint"), 33) + 1,
        )
        .drop("_part", "_id", "_before")
    )


def _raw(spark: SparkSession, uri: str, sniffed: Any, *, whole: bool = False) -> DataFrame:
    """The export as text columns with ``__row`` (each record's 1-based data row, ragged
    ones counted) and ``__ragged`` (true for a CSV row whose number of fields differs from
    the header's), null markers as the DuckDB import reads them (Arrow's: empty, ``NULL``,
    ``N/A``...).

    A CSV file is read in PERMISSIVE mode with the header's columns, all text, and a
    corrupt-record column, which Spark fills for a row of too many or too few fields; the
    session parses every field of a row (no CSV column pruning), or a ragged row whose
    missing fields are not read would pass. ``whole`` reads the file in one task (Spark's
    ``multiLine``), which reads a line break inside a quoted value as the DuckDB import does;
    split into parts, the file's two halves of such a row are two ragged rows. An Excel
    workbook is read on the driver by the DuckDB import's own reader
    (:func:`workbook.crm.importer._read_raw`, pandas and openpyxl) and handed to Spark as a
    DataFrame: a sheet holds at most 1,048,576 rows, which one machine holds."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    if sniffed.kind in ("xlsx", "xls"):
        from workbook.crm.importer import _number_rows as number_table
        from workbook.crm.importer import _read_raw

        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / Path(uri).name
            local.write_bytes(_head(spark, uri, n=None))
            table, _ = _read_raw(local, sniffed)
        table = number_table(table, [])
        table = table.append_column("__ragged", pa.repeat(pa.scalar(False), table.num_rows))
        return spark.createDataFrame(table)
    if sniffed.kind == "parquet":
        df = spark.read.parquet(uri)
        df = df.select(*[F.col(f"`{c}`").cast("string").alias(c) for c in df.columns])
        return _number_rows(df).withColumn("__ragged", F.lit(False))
    # every field parsed, so that Spark sees a row's count of fields (see above)
    spark.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    header = list(sniffed.header)
    schema_ = StructType(
        [StructField(c, StringType()) for c in header] + [StructField(_CORRUPT, StringType())]
    )
    df = (
        spark.read.schema(schema_)
        .option("header", "true")
        .option("enforceSchema", "true")
        .option("sep", sniffed.delimiter)
        .option("encoding", "UTF-8" if sniffed.encoding.startswith("utf-8") else sniffed.encoding)
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", _CORRUPT)
        .option("multiLine", "true" if whole else "false")
        .option("nullValue", "")
        .csv(uri)
    )
    nulls = list(pcsv.ConvertOptions().null_values)
    df = df.select(
        *[
            F.when(F.col(f"`{c}`").isin(nulls), F.lit(None)).otherwise(F.col(f"`{c}`")).alias(c)
            for c in header
        ],
        F.col(_CORRUPT).isNotNull().alias("__ragged"),
    )
    return _number_rows(df)


#: Spark's corrupt-record column of a CSV read (a name no export uses)
_CORRUPT = "__workbook_corrupt_record"


def _whole(spark: SparkSession, sniffed: Any, size: int, source: str | None) -> bool:
    """Whether to read a CSV file in one task: when Spark would read it in one split anyway
    (nothing is lost), or when it is not a long event file (a CRM's contacts or deals, which
    fit one machine, and may hold notes with line breaks). A long event file larger than a
    split is read in parallel parts: a line break inside a quoted value is then reported as
    ragged rows."""
    from workbook.crm import sources

    if sniffed.kind != "csv":
        return False
    # the size of a split as Spark cuts a file: at most maxPartitionBytes, else the file
    # shared among the cores, but no less than the cost of opening a file
    conf: Any = spark._jsparkSession.sessionState().conf()
    cores = max(1, spark.sparkContext.defaultParallelism)
    split = min(
        int(conf.filesMaxPartitionBytes()), max(int(conf.filesOpenCostInBytes()), size // cores)
    )
    if size <= split:
        return True
    try:
        src = sources.get(source) if source else sources.detect(list(sniffed.header), "")
    except CrmImportError:
        return False
    return src.name != "generic"


def _tie_order(stages: Sequence[str]) -> str:
    """ORDER BY of one contact's events at one moment: the workspace's stage order, then the
    stage's text, then :data:`workbook.crm.importer._TIE_ORDER`, nulls last (as the DuckDB
    import's Arrow sort)."""
    from workbook.crm.importer import _TIE_ORDER

    rank = (
        "CASE stage " + " ".join(f"WHEN {_ql(s)} THEN {i}" for i, s in enumerate(stages)) + " END"
        if stages
        else "CAST(NULL AS INT)"
    )
    return ", ".join([f"{rank} ASC NULLS LAST"] + [f"{c} ASC NULLS LAST" for c in _TIE_ORDER])


def import_events(  # noqa: PLR0913, PLR0915 - import_file's options, one pipeline
    workspace: str | Path,
    file: str,
    *,
    spark: SparkSession | None = None,
    master: str | None = None,
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
    """Import one CRM export into a workspace on Spark.

    The arguments are :func:`workbook.crm.importer.import_file`'s, plus ``spark`` (a session
    to use, such as the one ``spark-submit`` or a cluster notebook made) or ``master`` (a
    Spark master URL for a new one). ``file`` may be any path or URI Spark reads (a local
    path, ``hdfs://``, ``s3a://``, ``abfss://``...): a CSV file, a Parquet file or folder,
    or an Excel workbook (read on the driver), of any source.

    Returns
    -------
    ImportResult
        The same summary as the DuckDB import's.

    Raises
    ------
    CrmImportError
        With every problem found (the same messages as the DuckDB import); the workspace is
        unchanged.
    EngineError
        PySpark or Java is missing, or the master cannot be reached.
    """
    from workbook import store
    from workbook.crm import sources
    from workbook.crm.identity import KEYS_FILE, link_contacts, link_warnings
    from workbook.crm.importer import (
        _RAGGED,
        _RAGGED_HINT,
        ImportResult,
        _no_rows,
        already_imported,
        check_options,
        check_usable,
        manifest_entry,
        raise_problems,
        source_id_for,
    )
    from workbook.crm.privacy import ensure_salt
    from workbook.crm.sniff import sniff
    from workbook.crm.spark.derive import build_derived, canonical, write_table
    from workbook.crm.spark.session import own_session, spark_session
    from workbook.crm.stagemap import StageMap, load_map_file
    from workbook.crm.storage import (
        Staging,
        _sources_of,
        read_manifest,
        recover,
    )

    step = progress or (lambda _s: None)
    spark = spark or spark_session(master)
    uri = str(file)
    check_options(Path(uri).name, source_id, match)
    ws = store.open_workspace(workspace)
    ws_path = Path(ws.path)
    recover(ws_path)

    step("checking the file")
    digest, size, name = _fingerprint(spark, uri)
    manifest = read_manifest(ws_path)
    if done := already_imported(ws_path, manifest, name, digest, source_id, match):
        return done
    with tempfile.TemporaryDirectory() as tmp:
        # sniffed as the DuckDB import sniffs (encoding, delimiter, header checks)
        head = Path(tmp) / name
        head.write_bytes(_head(spark, uri))
        sniffed = sniff(head)
    if isinstance(column_map, str | Path):
        column_map = load_map_file(column_map) | {"__file__": Path(column_map).name}
    stage_file = Path(stage_map).name if isinstance(stage_map, str | Path) else None
    if isinstance(stage_map, str | Path):
        stage_map = load_map_file(stage_map)

    step("reading")
    session = own_session(spark)  # its own temporary views
    con = _SparkCon(session)
    try:
        every = _raw(session, uri, sniffed, whole=_whole(session, sniffed, size, source)).persist()
        con.persisted.append(every)
        rows_read = every.count()
        # a ragged row is read by no source: it is set aside (or refused) as the DuckDB
        # import does, under its own row number
        ragged = every.where("__ragged").select("__row")
        raw = every.where("NOT __ragged").drop("__ragged")
        n_raw = raw.count()
        if rows_read == 0:
            raise _no_rows(name)
        header = [c for c in raw.columns if c != "__row"]
        src = sources.get(source) if source else sources.detect(header, name)
        raw.createOrReplaceTempView("raw")
        sid = source_id or source_id_for(src.name, name)
        stages = StageMap.for_workspace(ws.data, src.name, stage_map, stage_file)
        ctx = _read_context(sources.ReadContext)(
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
            numbered=True,
            spark_con=con,
        )
        if rows_read > n_raw:
            ctx.bad.append(
                ragged.selectExpr(
                    "__row",
                    "CAST(NULL AS STRING) AS col",
                    f"{_ql(_RAGGED)} AS msg",
                    f"{_ql(_RAGGED_HINT)} AS hint",
                    "'error' AS severity",
                    f"{_ql(_RAGGED)} AS plain",
                )
            )
        step("checking rows")
        queries = src.read(ctx)
        problems, bad = _problems(session, ctx.bad, name)
        warnings, row_errors = raise_problems(name, ctx.problems, problems, set_aside_bad_rows)
        rej = bad.where("severity = 'error'").select("__row").distinct().persist()
        con.persisted.append(rej)
        rej.createOrReplaceTempView("_rej")
        rejected = rej.count()
        check_usable(name, rejected, rows_read, row_errors)

        step("pseudonymising")
        keep = " LEFT ANTI JOIN _rej USING (__row)" if rejected else ""
        for t, q in (("_c", queries.contacts), ("_e", queries.events), ("_d", queries.deals)):
            df = session.sql(f"SELECT q.* FROM ({to_spark(q)}) q{keep}")
            if t == "_c":
                df = df.persist()
                con.persisted.append(df)
            df.createOrReplaceTempView(t)
        salt = ensure_salt(ws_path)
        others = [schema.source_dir(ws_path, s) for s in manifest["sources"] if s != sid]
        _keys_views(session, others)
        people = link_contacts(
            con,
            contacts="_c",
            emails=queries.emails,
            salt=salt,
            source_id=sid,
            mode=ctx.options.get("match") or "auto",
            others=[],  # the known keys are read by Spark (_keys_views), not by DuckDB
            aliases=queries.aliases,
            hasher=spark_pseudonym_table,
        )
        warnings += link_warnings(people, name, len(others), queries.emails is not None)

        step("writing tables")
        replaced = sid in manifest["sources"]
        with Staging(ws_path, sid) as st:
            out = st.source_path
            out.mkdir(parents=True)
            base = out.as_posix()
            write_keys = session.sql("SELECT key, contact_id FROM _keys")
            write_keys.coalesce(1).sortWithinPartitions("key").write.mode("overwrite").parquet(
                f"{base}/{KEYS_FILE}"
            )
            order = ", ".join(
                f"q.{f.name} ASC NULLS LAST"
                for f in sorted(schema.CONTACTS, key=lambda f: f.name != "created_at")
                if f.name not in ("contact_id", "source_id")
                and f.name in session.table("_c").columns
            )
            # several ids with one pseudonym (an e-mail in other case): the row kept is the
            # first by content (earliest created, then each attribute), as in DuckDB
            contacts = session.sql(
                f"""SELECT * EXCEPT (_first) FROM (
                    SELECT i.cid AS contact_id, q.* EXCEPT (contact_id),
                           {_ql(sid)} AS source_id,
                           row_number() OVER (PARTITION BY i.cid ORDER BY {order},
                                              q.contact_id ASC NULLS LAST) AS _first
                    FROM _c q JOIN _ids i ON i.ext = q.contact_id
                ) WHERE _first = 1"""
            )
            events = session.sql(
                f"""SELECT i.cid AS contact_id, q.* EXCEPT (contact_id), {_ql(sid)} AS source_id
                FROM _e q JOIN _ids i ON i.ext = q.contact_id WHERE q.ts IS NOT NULL"""
            )
            events = canonical(events.drop("seq"), "events").drop("seq")
            events.createOrReplaceTempView("_e_pseudo")
            events = session.sql(
                "SELECT *, CAST(row_number() OVER (PARTITION BY contact_id, ts "
                f"ORDER BY {_tie_order(ws.data.stage_ids())}) - 1 AS INT) AS seq FROM _e_pseudo"
            )
            deals = session.sql(
                f"""SELECT i.cid AS contact_id, q.* EXCEPT (contact_id), {_ql(sid)} AS source_id
                FROM _d q JOIN _ids i ON i.ext = q.contact_id"""
            )
            counts = {
                "contacts": write_table(contacts, "contacts", f"{base}/contacts.parquet"),
                "events": write_table(events, "events", f"{base}/events.parquet"),
                "deals": write_table(deals, "deals", f"{base}/deals.parquet"),
            }
            span = session.read.parquet(f"{base}/events.parquet").selectExpr(
                "unix_micros(min(ts))", "unix_micros(max(ts))"
            )
            first_event, last_event = (
                None
                if v is None
                else dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=v)
                for v in span.collect()[0]
            )

            # contacts of other sources this one names as its people (a contact role's
            # opportunity) are merged into them: those sources are rewritten alongside
            for other in others if people.relinked else ():
                rewritten = _relink_source(session, other, st.path / "sources" / other.name)
                if rewritten is not None:
                    st.relinked[other.name] = rewritten

            step("building derived tables")
            stage_ids = ws.data.stage_ids()

            def derive() -> dict[str, int]:
                now_sources = _sources_of(read_manifest(ws_path), sid)
                dirs = [
                    (
                        st.path / "sources" / s
                        if s in st.relinked
                        else schema.source_dir(ws_path, s)
                    ).as_posix()
                    for s in sorted(now_sources)
                ]
                dirs.append(base)
                derived_dir = st.path / "derived"
                counts = build_derived(spark, dirs, stage_ids, derived_dir.as_posix())
                st._base, st._stages = now_sources, list(stage_ids)
                return counts

            derived = derive()

            rejects_rel = None
            if rejected:
                rejects_rel = f"data/rejects/{sid}.csv"
                _write_rejects(con, bad, st.path / "rejects.csv")
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
            entry = manifest_entry(result, size) | {"engine": "spark"}
            step("saving")
            result.derived = st.commit(ws, entry, rejects=bool(rejected), rebuild=derive) or derived
    finally:
        con.close()
    return result


def _relink_source(spark: SparkSession, source: Path, out: Path) -> dict[str, int] | None:
    """:func:`workbook.crm.identity.relink_source` on Spark: a copy of another source in
    ``out`` with its contacts merged as the view ``_merge`` (``old``, ``new``) says, the same
    rows. Returns its tables' new row counts, or None when none of its contacts is merged
    (nothing written). Contacts that become one keep the earliest created row (then the
    source id, then the row's content); events and deals keep every row, under the
    person's id. A join with ``_merge``; only counts reach the driver."""
    from workbook.crm.identity import KEYS_FILE
    from workbook.crm.spark.derive import write_table

    files = {t: source / f"{t}.parquet" for t in ("contacts", "events", "deals")}
    files["keys"] = source / KEYS_FILE
    merge = spark.table("_merge")
    contacts = spark.read.parquet(files["contacts"].as_posix())
    if contacts.join(merge, contacts["contact_id"] == merge["old"], "left_semi").isEmpty():
        return None
    out.mkdir(parents=True)
    counts: dict[str, int] = {}
    for table, file in files.items():
        if not file.exists():
            continue
        spark.read.parquet(file.as_posix()).createOrReplaceTempView("_relink_in")
        body = (
            "SELECT t.* EXCEPT (contact_id), coalesce(m.new, t.contact_id) AS contact_id "
            "FROM _relink_in t LEFT JOIN _merge m ON m.old = t.contact_id"
        )
        if table == "contacts":
            rest = ", ".join(
                f"{f.name} ASC NULLS LAST"
                for f in schema.CONTACTS
                if f.name not in ("contact_id", "created_at", "source_id")
            )
            body = (
                f"SELECT * EXCEPT (_first) FROM (SELECT *, row_number() OVER (PARTITION BY "
                f"contact_id ORDER BY created_at ASC NULLS LAST, source_id, {rest}) AS _first "
                f"FROM ({body})) WHERE _first = 1"
            )
        elif table == "keys":
            body = f"SELECT DISTINCT key, contact_id FROM ({body})"
        df = spark.sql(body)
        target = (out / file.name).as_posix()
        if table == "keys":
            df.coalesce(1).sortWithinPartitions("key").write.mode("overwrite").parquet(target)
        else:
            counts[table] = write_table(df, table, target)
    spark.catalog.dropTempView("_relink_in")
    return counts


def _keys_views(spark: SparkSession, others: Sequence[Path]) -> None:
    """``_lk_known`` as :func:`workbook.crm.identity.link_contacts` makes it, read by Spark:
    each key of the workspace's other sources and the contact it stands for."""
    from workbook.crm.identity import KEYS_FILE

    parts = []
    for other in others:
        keys, ids = other / KEYS_FILE, other / "contacts.parquet"
        if keys.exists():
            parts.append(spark.read.parquet(keys.as_posix()).selectExpr("key", "contact_id"))
        elif ids.exists():  # a source from before keys were kept: its pseudonyms are its keys
            parts.append(
                spark.read.parquet(ids.as_posix()).selectExpr("contact_id AS key", "contact_id")
            )
    if parts:
        known = parts[0]
        for p in parts[1:]:
            known = known.unionByName(p)
        known.createOrReplaceTempView("_spark_known")
        spark.sql(
            "SELECT key, min(contact_id) AS contact_id FROM _spark_known GROUP BY key"
        ).createOrReplaceTempView("_spark_known_keys")


def _problems(
    spark: SparkSession, parts: Sequence[DataFrame], file: str
) -> tuple[list[Problem], DataFrame]:
    """Every flagged row as one DataFrame, and the problems as the DuckDB import words them:
    one per kind, with how many rows and the first five (one row per kind reaches the
    driver)."""
    if parts:
        bad = parts[0]
        for p in parts[1:]:
            bad = bad.unionByName(p)
    else:
        bad = spark.sql(
            "SELECT CAST(NULL AS BIGINT) AS __row, CAST(NULL AS STRING) AS col, "
            "CAST(NULL AS STRING) AS msg, CAST(NULL AS STRING) AS hint, "
            "CAST(NULL AS STRING) AS severity, CAST(NULL AS STRING) AS plain WHERE false"
        )
    bad = bad.persist()
    bad.createOrReplaceTempView("_bad")
    rows = spark.sql(
        """
        SELECT col, msg, hint, severity, count(*) AS n, min(__row) AS first_row,
               slice(array_sort(collect_list(CASE WHEN r <= 5 THEN __row END)), 1, 5) AS first
        FROM (SELECT *, row_number() OVER (PARTITION BY col, msg, hint, severity
                                           ORDER BY __row) AS r FROM _bad)
        GROUP BY col, msg, hint, severity
        ORDER BY severity, min(__row)
        """
    ).collect()
    out = []
    for r in rows:
        n, first = int(r["n"]), [int(x) for x in r["first"]]
        text = (
            r["msg"]
            if n == 1
            else f"{r['msg']} ({n:,} rows, first at rows {', '.join(str(x) for x in first)})"
        )
        out.append(
            Problem(
                text,
                file=file,
                row=first[0],
                column=r["col"],
                hint=r["hint"],
                severity=r["severity"],
            )
        )
    return out, bad


def _write_rejects(con: _SparkCon, bad: DataFrame, path: Path) -> None:
    """``rejects.csv`` as the DuckDB import writes it (the same query,
    :func:`workbook.crm.importer.rejects_query`, and DuckDB's quoting: an empty text and one
    holding a comma, a quote or a line break are quoted), its rows streamed to the driver a
    part at a time."""
    from workbook.crm.importer import rejects_query

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        if text == "" or any(c in text for c in ',"\n\r'):
            return '"' + text.replace('"', '""') + '"'
        return text

    bad.createOrReplaceTempView("_bad_rows")
    names = ("row", "column", "problem", "what_to_do")
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(names) + "\n")
        for r in con.sql(rejects_query("_bad_rows")).toLocalIterator():
            fh.write(",".join(cell(r[n]) for n in names) + "\n")
