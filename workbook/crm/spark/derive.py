"""The derived tables on Spark: the same rows as :func:`workbook.crm.derive.build_derived`.

Every per-contact step is a window or a grouping partitioned by ``contact_id``, so Spark
shuffles the event log once by contact and each executor works through its own contacts;
only small results (row counts) reach the driver.

- ``stage_spells``: the rule of :func:`workbook.crm.sequences.stage_spells`, written with
  ``lag``/``lead`` over each contact's stage entries and closes in time order (contact, ts,
  seq, source, stage): a stay starts at an entry unless the row before is an entry into the
  same stage; a close at a moment with no stage entry ends the stay it follows (one per
  moment, a win over a loss); each stay ends at the next stay's start or close.
- ``stage_entries``: each contact's first spell in each stage.
- ``contact_paths``: the contact scalars of :data:`workbook.crm.derive._CONTACT_SCALARS_SQL`
  with the stage path and the touch lists, collected per contact and sorted there.
- the rollups: :data:`workbook.crm.derive.ROLLUP_SQL`, the very SQL the DuckDB engine runs
  over its views, translated to Spark SQL (:func:`workbook.crm.spark.sql.to_spark`).

Tables are written as Parquet folders under ``out``: the per-contact tables hash- or
range-partitioned by ``contact_id`` (one contact's rows in one part file), the rollups (a
few thousand rows) as one part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workbook.crm import schema
from workbook.crm.spark.sql import to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SPARK_TYPES", "build_derived", "canonical", "read_table", "write_table"]

#: The canonical Arrow types as Spark SQL types.
SPARK_TYPES = {
    "string": "STRING",
    "int16": "SMALLINT",
    "int32": "INT",
    "int64": "BIGINT",
    "double": "DOUBLE",
    "timestamp[us, tz=UTC]": "TIMESTAMP",
    "list<item: string>": "ARRAY<STRING>",
    "list<element: string>": "ARRAY<STRING>",
}

#: Tables written whole per contact: partitioned by contact id.
_PER_CONTACT = ("contacts", "events", "deals", "stage_spells", "stage_entries", "contact_paths")


def canonical(df: DataFrame, table: str) -> DataFrame:
    """``df`` with exactly the canonical columns of ``table``, each cast to its type; a
    column ``df`` lacks is a typed null."""
    from pyspark.sql import functions as F

    have = set(df.columns)
    return df.select(
        *[
            (F.col(f.name) if f.name in have else F.lit(None))
            .cast(SPARK_TYPES[str(f.type)])
            .alias(f.name)
            for f in schema.TABLES[table]
        ]
    )


def read_table(spark: SparkSession, paths: Sequence[str], table: str) -> DataFrame:
    """One canonical table from its files (a Parquet file or a folder of parts each), or an
    empty one of the right columns when there is none."""
    if not paths:
        cols = ", ".join(
            f"CAST(NULL AS {SPARK_TYPES[str(f.type)]}) AS {f.name}" for f in schema.TABLES[table]
        )
        return spark.sql(f"SELECT {cols} WHERE FALSE")
    return canonical(spark.read.option("mergeSchema", "true").parquet(*paths), table)


def write_table(df: DataFrame, table: str, path: str) -> int:
    """Write ``df`` (cast to ``table``'s columns) as a Parquet folder; returns its rows.

    Per-contact tables are partitioned by contact (sorted within each part by the table's
    keys); the small rollups go into one part. The count is read back from the files'
    footers, not by collecting rows.
    """
    out = canonical(df, table)
    if table == "contact_paths":
        out = out.orderBy("contact_id")  # range-partitioned: the parts in contact order
    elif table in _PER_CONTACT:
        keys = {
            "events": ["contact_id", "ts", "seq"],
            "deals": ["contact_id", "created_at", "deal_id"],
            "stage_spells": ["contact_id", "seq"],
            "stage_entries": ["contact_id", "first_entered_at", "stage"],
        }.get(table, ["contact_id"])
        out = out.repartition("contact_id").sortWithinPartitions(*keys)
    else:
        out = out.coalesce(1).sortWithinPartitions(*[f.name for f in schema.TABLES[table]])
    out.write.mode("overwrite").option("compression", "zstd").parquet(path)
    return int(out.sparkSession.read.parquet(path).count())


def _stage_index(stages: Sequence[str], column: str) -> str:
    """SQL: the position of the stage in ``column`` among the workspace's stages, or null."""
    if not stages:
        return "CAST(NULL AS SMALLINT)"
    whens = " ".join(f"WHEN {_lit(s)} THEN {i}" for i, s in enumerate(stages))
    return f"CAST(CASE {column} {whens} END AS SMALLINT)"


def _lit(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


#: Stage entries and the closes that count (see the module doc), one row each: ``k`` 0 for
#: an entry, 1 a win, 2 a loss. A close at a moment where the contact also enters a stage is
#: part of that move; closes at one moment are one, a win over a loss.
_LINE_SQL = """
WITH e AS (
    SELECT contact_id, ts, seq, source_id, stage,
           CASE WHEN kind = 'deal' AND action = 'won' THEN 1
                WHEN kind = 'deal' AND action = 'lost' THEN 2 ELSE 0 END AS k
    FROM ev
    WHERE contact_id IS NOT NULL AND ((kind = 'stage' AND stage IS NOT NULL)
          OR (kind = 'deal' AND action IN ('won', 'lost')))
), entry_moments AS (
    SELECT DISTINCT contact_id, ts FROM e WHERE k = 0
)
SELECT contact_id, ts, seq, source_id, stage, k FROM e WHERE k = 0
UNION ALL
SELECT c.contact_id, c.ts, min(c.seq) AS seq, min(c.source_id) AS source_id,
       CAST(NULL AS STRING) AS stage, CASE WHEN max(c.k = 1) THEN 1 ELSE 2 END AS k
FROM e c LEFT ANTI JOIN entry_moments m ON m.contact_id = c.contact_id AND m.ts = c.ts
WHERE c.k > 0
GROUP BY c.contact_id, c.ts
"""

#: The order of a contact's rows in the line (as workbook.crm.sequences.in_order sorts them).
_LINE_ORDER = "ORDER BY ts, seq, source_id, stage, k"

_SPELLS_SQL = f"""
WITH marked AS (
    SELECT *,
           k = 0 AND NOT coalesce(lag(k) OVER w = 0 AND lag(stage) OVER w = stage, false)
               AS starts_stay,
           k > 0 AND coalesce(lag(k) OVER w = 0, false) AS ends_stay
    FROM _line
    WINDOW w AS (PARTITION BY contact_id {_LINE_ORDER})
), marks AS (
    SELECT *,
           lead(starts_stay) OVER w AS next_starts,
           lead(ts) OVER w AS next_ts,
           lead(stage) OVER w AS next_stage_id,
           lead(k) OVER w AS next_k
    FROM marked WHERE starts_stay OR ends_stay
    WINDOW w AS (PARTITION BY contact_id {_LINE_ORDER})
)
SELECT contact_id,
       CAST(row_number() OVER (PARTITION BY contact_id {_LINE_ORDER}) - 1 AS INT) AS seq,
       stage, {{index}} AS stage_index,
       ts AS entered_at,
       CASE WHEN next_k IS NOT NULL THEN next_ts END AS exited_at,
       CASE WHEN next_starts THEN next_stage_id END AS next_stage,
       CASE WHEN next_starts THEN {{next_index}} END AS next_stage_index,
       CASE WHEN next_k IS NULL THEN 'open' WHEN next_starts THEN 'stage'
            WHEN next_k = 1 THEN 'won' ELSE 'lost' END AS ended_by
FROM marks WHERE starts_stay
"""

_ENTRIES_SQL = """
SELECT contact_id, stage, stage_index, entered_at AS first_entered_at
FROM (
    SELECT *, row_number() OVER (PARTITION BY contact_id, stage ORDER BY seq) AS r
    FROM _spells
) WHERE r = 1
"""

_STAGE_PATHS_SQL = """
SELECT contact_id,
       transform(array_sort(collect_list(struct(seq, stage))), x -> x.stage) AS stage_path,
       max(stage_index) AS furthest_stage_index
FROM _spells GROUP BY contact_id
"""

#: Per contact, its touches (workbook.crm.sequences.TOUCH) in journey order: all of them
#: listed, and the last before the first won deal closed (else the last of all).
_TOUCH_LISTS_SQL = """
WITH t AS (
    SELECT e.contact_id, e.touchpoint,
           struct(e.ts, e.seq, e.source_id, e.touchpoint, e.channel, e.action, e.stage) AS o,
           (w.won_at IS NULL OR e.ts <= w.won_at) AS kept
    FROM ev e LEFT JOIN _deals_by_contact w ON w.contact_id = e.contact_id
    WHERE e.kind = 'touch' AND e.touchpoint IS NOT NULL AND coalesce(e.action, '') <> 'sent'
      AND e.contact_id IS NOT NULL
)
SELECT contact_id,
       transform(array_sort(collect_list(o)), x -> x.touchpoint) AS touchpoints,
       min_by(touchpoint, o) AS first_touch,
       coalesce(max_by(CASE WHEN kept THEN touchpoint END, CASE WHEN kept THEN o END),
                max_by(touchpoint, o)) AS last_touch,
       CAST(count(*) AS INT) AS n_touches
FROM t GROUP BY contact_id
"""

_DEALS_BY_CONTACT_SQL = """
SELECT contact_id,
       CASE WHEN bool_or(outcome = 'won') THEN 'won'
            WHEN bool_or(outcome = 'open') THEN 'open'
            WHEN bool_or(outcome = 'lost') THEN 'lost' END AS outcome,
       sum(amount) FILTER (WHERE outcome = 'won') AS deal_amount,
       min(closed_at) FILTER (WHERE outcome = 'won') AS won_at,
       min(created_at) AS first_deal
FROM de GROUP BY contact_id
"""


def _number_by_contact(spark: SparkSession, view: str, out: str) -> None:
    """``out``: ``view`` with ``n``, each row's place (0-based) in contact id order.

    Without a window over the whole table (which would move every row to one task): sort,
    count each part's rows (one number per part reaches the driver), and add the parts
    before each row's own place in its part.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ordered = spark.table(view).orderBy("contact_id")
    ordered = ordered.withColumn("_part", F.spark_partition_id()).withColumn(
        "_in", F.row_number().over(Window.partitionBy("_part").orderBy("contact_id")) - 1
    )
    ordered = ordered.persist()
    sizes = sorted(
        (int(r["_part"]), int(r["count"])) for r in ordered.groupBy("_part").count().collect()
    )
    before: dict[int, int] = {}
    total = 0
    for part, count in sizes:
        before[part] = total
        total += count
    offsets = spark.createDataFrame(
        [(p, b) for p, b in before.items()] or [(0, 0)], "_part INT, _before BIGINT"
    )
    numbered = (
        ordered.join(F.broadcast(offsets), "_part")
        .withColumn("n", (F.col("_before") + F.col("_in")).cast("bigint"))
        .drop("_part", "_in", "_before")
    )
    numbered.createOrReplaceTempView(out)


def build_derived(
    spark: SparkSession,
    source_dirs: Sequence[str],
    stages: Sequence[str],
    out_dir: str,
) -> dict[str, int]:
    """Compute the derived tables and rollups from canonical source folders on Spark.

    Parameters
    ----------
    spark
        The session (its own temporary views are made and dropped here).
    source_dirs
        Folders (paths or URIs) each holding ``contacts.parquet``, ``events.parquet`` and
        ``deals.parquet``, as files or folders of parts.
    stages
        The workspace's stage ids in order (``stage_index``).
    out_dir
        Where each ``<table>.parquet`` folder is written.

    Returns
    -------
    dict
        Rows written per derived table.
    """
    from workbook.crm.derive import _CONTACT_SCALARS_SQL, JOURNEY_SQL, ROLLUP_SQL, TOUCHES_SQL
    from workbook.crm.spark.session import own_session

    spark = own_session(spark)  # its own views
    views: list[str] = []

    def view(name: str, df: DataFrame) -> None:
        df.createOrReplaceTempView(name)
        views.append(name)

    def sql(name: str, text: str, *, persist: bool = False) -> DataFrame:
        df = spark.sql(text)
        if persist:
            # computed now and kept on the executors, with its plan cut short: a step that
            # reads it plans over the stored rows, not over every step before (the rollups
            # otherwise spend minutes in Spark's optimizer)
            df = df.localCheckpoint()
        view(name, df)
        return df

    for table, name in (("events", "ev"), ("contacts", "co"), ("deals", "de")):
        paths = [f"{d.rstrip('/')}/{table}.parquet" for d in source_dirs]
        paths = [p for p in paths if _exists(spark, p)]
        df = read_table(spark, paths, table)
        if len(paths) > 1 and table in ("events", "deals"):
            view(f"_raw_{name}", df)
            df = canonical(spark.sql(to_spark(schema.merged_sql(table, f"_raw_{name}"))), table)
        view(name, df)

    counts: dict[str, int] = {}
    out = out_dir.rstrip("/")
    sql("_deals_by_contact", to_spark(_DEALS_BY_CONTACT_SQL), persist=True)
    sql("_line", _LINE_SQL)
    spells = sql(
        "_spells_new",
        _SPELLS_SQL.format(
            index=_stage_index(stages, "stage"), next_index=_stage_index(stages, "next_stage_id")
        ),
        persist=True,
    )
    counts["stage_spells"] = write_table(spells, "stage_spells", f"{out}/stage_spells.parquet")
    view("_spells", spark.read.parquet(f"{out}/stage_spells.parquet"))
    counts["stage_entries"] = write_table(
        spark.sql(_ENTRIES_SQL), "stage_entries", f"{out}/stage_entries.parquet"
    )
    furthest = (
        "CASE furthest_stage_index "
        + " ".join(f"WHEN {i} THEN {_lit(s)}" for i, s in enumerate(stages))
        + " END"
        if stages
        else "CAST(NULL AS STRING)"
    )
    sql(
        "_stage_paths",
        f"SELECT contact_id, stage_path, {furthest} AS furthest_stage, "
        f"CAST(furthest_stage_index AS SMALLINT) AS furthest_stage_index "
        f"FROM ({_STAGE_PATHS_SQL})",
    )
    sql("_touch_lists", _TOUCH_LISTS_SQL)
    scalars = to_spark(_CONTACT_SCALARS_SQL.rsplit("ORDER BY", 1)[0])
    paths_df = sql(
        "_paths_new",
        f"""SELECT s.*, p.stage_path, p.furthest_stage, p.furthest_stage_index,
                   t.touchpoints, t.first_touch, t.last_touch,
                   coalesce(t.n_touches, 0) AS n_touches
            FROM ({scalars}) s
            LEFT JOIN _stage_paths p ON p.contact_id = s.contact_id
            LEFT JOIN _touch_lists t ON t.contact_id = s.contact_id""",
    )
    counts["contact_paths"] = write_table(paths_df, "contact_paths", f"{out}/contact_paths.parquet")
    view("_paths_all", spark.read.parquet(f"{out}/contact_paths.parquet"))

    # the rollups: the DuckDB import's SQL over the same relations
    _number_by_contact(spark, "_paths_all", "_cp_n")
    views.append("_cp_n")
    sql(
        "_cp",
        "SELECT *, array_sort(array_distinct(stage_path)) AS reached FROM _cp_n",
        persist=True,
    )
    sql("_reached", "SELECT contact_id, reached FROM _cp WHERE reached IS NOT NULL")
    sql("_journey", to_spark(JOURNEY_SQL.format(events="ev", paths="_cp")), persist=True)
    sql("_touches", to_spark(TOUCHES_SQL.format(events="ev")), persist=True)
    combos = sql("_combos", to_spark(ROLLUP_SQL["score_combos"].format(events="ev")), persist=True)
    names = {
        "events": "ev",
        "spells": "_spells",
        "paths": "_cp",
        "reached": "_reached",
        "journey": "_journey",
        "touches": "_touches",
        "combos": "_combos",
        "numbered": "_cp",
    }
    for table, text in ROLLUP_SQL.items():
        df = combos if table == "score_combos" else spark.sql(to_spark(text.format(**names)))
        counts[table] = write_table(df, table, f"{out}/{table}.parquet")
    for name in views:
        spark.catalog.dropTempView(name)
    return counts


def _exists(spark: SparkSession, path: str) -> bool:
    """Whether a file or folder exists, on whatever file system Spark reaches it by."""
    jvm: Any = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return bool(fs.exists(hpath))
