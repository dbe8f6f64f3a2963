"""The analytics :class:`Engine` on Apache Spark: the same views, the same SQL, the same frames.

:class:`SparkEngine` registers one Spark view per canonical or derived table of a workspace
(the same names and columns as :class:`Engine`'s DuckDB views) and answers
:meth:`~Engine.query` by translating the questions' DuckDB SQL into Spark SQL with sqlglot
(:func:`to_spark`), so no question is written twice. Results are small (counts per stage,
per touchpoint, per group) and come back as the same pandas frames through Arrow.

What differs between the dialects, and how the translation bridges it:

- sqlglot handles the syntax: ``GROUP BY ALL``, ``x::T`` casts, ``FILTER (cond)`` without
  ``WHERE``, ``unnest`` in ``FROM`` (``explode``), ``list``/``array_agg`` (``collect_list``),
  ``arg_min``/``arg_max`` (``min_by``/``max_by``), ``epoch_us`` (``unix_micros``),
  ``bool_or``, ``any_value``, list indexing (1-based in DuckDB, 0-based ``[]`` in Spark).
- Written here (:data:`_REWRITES`): DuckDB's ``HUGEINT`` is ``DECIMAL(38, 0)``; aggregates
  in Spark may not order by a list, so nothing here relies on that.
- Types: Spark has no unsigned or 128-bit integer; a sum of counts is ``BIGINT`` in Spark and
  ``HUGEINT`` in DuckDB, so :meth:`SparkEngine.query` returns integers as DuckDB would
  convert them to pandas (``int64``) and floats as ``float64``.

Every intermediate a question caches (:meth:`Engine.cached`) is a persisted Spark
DataFrame; the tables of the workspace document are small DataFrames. Each engine has its
own Spark session (``newSession``: shared cluster, its own views), so two workspaces in one
process never see each other's tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbook.analytics.engine import Engine, _empty_select
from workbook.crm.spark.sql import to_spark

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from workbook.model import Workspace

__all__ = ["SparkEngine", "to_spark"]

_SPARK_TYPES = {
    "string": "STRING",
    "int16": "SMALLINT",
    "int32": "INT",
    "int64": "BIGINT",
    "double": "DOUBLE",
    "timestamp[us, tz=UTC]": "TIMESTAMP",
    "list<item: string>": "ARRAY<STRING>",
    "list<element: string>": "ARRAY<STRING>",
}


def _paths(files: Sequence[Path]) -> list[str]:
    return [str(f) for f in files]


class SparkEngine(Engine):
    """An analytics engine whose queries run on Spark.

    Parameters
    ----------
    path
        The workspace folder, or ``None`` for a workspace without data. Its tables may have
        been written by either engine's import (single Parquet files, or folders of parts).
    workspace
        The workspace document (stages, touchpoints, rules), as for :class:`Engine`.
    spark
        A Spark session to use (one is made or found with
        :func:`workbook.crm.spark.spark_session` otherwise).
    master
        Spark master URL when no session is given.
    """

    def __init__(  # noqa: PLR0913 - the same arguments as Engine, plus Spark's
        self,
        path: str | Path | None,
        workspace: Workspace | None = None,
        *,
        spark: SparkSession | None = None,
        master: str | None = None,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        from workbook.crm.spark.session import own_session, spark_session

        self._begin(path, workspace)
        # its own temporary views on the shared cluster
        self.spark: SparkSession = own_session(spark or spark_session(master))
        self._persisted: list[DataFrame] = []
        self._create_views()

    # ------------------------------------------------------------------ construction

    def _read(self, table: str, files: Sequence[Path]) -> DataFrame:
        """The table's columns from its files, a column the files lack as a typed null.

        Read with the canonical schema given, not inferred: inferring (and merging the
        schemas of a folder of parts) is one Spark job per table, seconds before the first
        question; a column a file lacks reads as null, as DuckDB's ``union_by_name`` does.
        """
        from workbook.crm import schema

        ddl = ", ".join(f"{f.name} {_SPARK_TYPES[str(f.type)]}" for f in schema.TABLES[table])
        return self.spark.read.schema(ddl).parquet(*_paths(files))

    def _create_views(self) -> None:
        from workbook.crm import schema

        for table, files, merge in self._tables():
            if files:
                df = self._read(table, files)
            else:
                df = self.spark.sql(_empty_select(table, _SPARK_TYPES))
            if merge:
                df.createOrReplaceTempView(f"_raw_{table}")
                self._view(table, schema.merged_sql(table, f"_raw_{table}"))
            else:
                df.createOrReplaceTempView(table)
            if table == "events":
                df.createOrReplaceTempView("source_events")
        self.available["numbered_contact_paths"] = False  # numbered by a sort when asked
        self._document_views()

    def _view(self, name: str, sql: str) -> None:
        self.spark.sql(to_spark(sql)).createOrReplaceTempView(name)

    def _small(self, name: str, types: dict[str, str], rows: list[tuple[Any, ...]]) -> None:
        import pyarrow as pa

        cols = list(types)
        table = pa.table({c: pa.array([r[i] for r in rows], types[c]) for i, c in enumerate(cols)})
        self.spark.createDataFrame(table).createOrReplaceTempView(name)

    # ------------------------------------------------------------------------ queries

    def _rel(self, sql: str, params: Sequence[Any] | dict[str, Any] | None) -> DataFrame:
        text = to_spark(sql)
        if params:
            return self.spark.sql(text, args=params)  # type: ignore[arg-type]
        return self.spark.sql(text)

    def arrow(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pa.Table:
        return _as_duckdb(self._rel(sql, params).toArrow())

    def arrays(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> dict[str, Any]:
        table = self.arrow(sql, params)
        return {
            name: col.to_numpy(zero_copy_only=False)
            for name, col in zip(table.column_names, table.columns, strict=True)
        }

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        table = self.arrow(sql, params)
        if table.num_rows == 0:
            return None
        return table.column(0)[0].as_py()

    def cached(self, name: str, sql: str, params: dict[str, Any] | None = None) -> str:
        if name not in self._cache:
            df = self._rel(sql, params).persist()
            self._persisted.append(df)
            df.createOrReplaceTempView(name)
            self._cache.add(name)
        return name

    def running_totals(
        self, name: str, sql: str, keys: Sequence[str], order: str, columns: Sequence[str]
    ) -> str:
        """:meth:`Engine.running_totals` without a window over the whole table (Spark moves
        such a window to one partition): the rows are range-partitioned by ``(keys,
        order)`` (a sort's first step: each partition holds one stretch of the order), each
        partition sums its own stretch with a window partitioned by partition and keys, and
        what the earlier partitions hold of the same keys is added from their totals, a
        small table (partitions x keys). Nothing but ``name``'s view reaches the driver."""
        if name in self._cache:
            return name
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        df = self._rel(sql, None)
        names = df.columns
        parts = int(self.spark.conf.get("spark.sql.shuffle.partitions") or "200")
        # persisted: both uses below see the same partition of every row
        ranged = (
            df.repartitionByRange(parts, *keys, order)
            .withColumn("_part", F.spark_partition_id())
            .persist()
        )
        self._persisted.append(ranged)
        before = (
            Window.partitionBy("_part", *keys)
            .orderBy(order)
            .rowsBetween(Window.unboundedPreceding, -1)
        )
        local = ranged.select(
            "*", *[F.coalesce(F.sum(c).over(before), F.lit(0)).alias(f"_in_{c}") for c in columns]
        )
        totals = ranged.groupBy("_part", *keys).agg(*[F.sum(c).alias(f"_all_{c}") for c in columns])
        a, b = totals.alias("a"), totals.alias("b")
        on = F.col("b._part") < F.col("a._part")
        for k in keys:
            on = on & F.col(f"a.{k}").eqNullSafe(F.col(f"b.{k}"))
        earlier = (
            a.join(b, on, "left")
            .groupBy(F.col("a._part").alias("_part"), *[F.col(f"a.{k}").alias(k) for k in keys])
            .agg(*[F.coalesce(F.sum(f"b._all_{c}"), F.lit(0)).alias(f"_off_{c}") for c in columns])
        )
        joined = local.join(F.broadcast(earlier), ["_part", *keys], "left")
        out = joined.select(
            *names,
            *[
                (F.col(f"_in_{c}") + F.col(f"_off_{c}")).cast("bigint").alias(f"{c}_before")
                for c in columns
            ],
        ).persist()
        self._persisted.append(out)
        out.createOrReplaceTempView(name)
        self._cache.add(name)
        return name

    def register(self, name: str, frame: pd.DataFrame) -> None:
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        self.spark.createDataFrame(table).createOrReplaceTempView(name)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def close(self) -> None:
        for df in self._persisted:
            df.unpersist()
        self._persisted.clear()
        for view in self.spark.catalog.listTables():
            if view.isTemporary:
                self.spark.catalog.dropTempView(view.name)


def _as_duckdb(table: pa.Table) -> pa.Table:
    """Columns typed as DuckDB hands them to Arrow: decimals of whole numbers (Spark's sums
    of counts) as int64, other decimals as float64, timestamps in UTC."""
    import pyarrow as pa

    fields = []
    for field in table.schema:
        t = field.type
        if pa.types.is_decimal(t):
            t = pa.int64() if t.scale == 0 else pa.float64()
        elif pa.types.is_timestamp(t):
            t = pa.timestamp("us", tz="UTC")
        fields.append(pa.field(field.name, t))
    schema = pa.schema(fields)
    return table if schema == table.schema else table.cast(schema)
