"""The workbook on Apache Spark: the same import and the same tables, computed on a cluster.

DuckDB on one machine stays the default engine. For a client whose CRM history does not
fit one machine, ``--engine spark`` runs the import here (:func:`import_events`) and the
analytics through :class:`workbook.analytics.spark_engine.SparkEngine`; both write and read
the same canonical and derived tables (:mod:`workbook.crm.schema`), so everything above the
analytics (charts, maps, the report) is unchanged.

PySpark is the optional extra ``journey-workbook[spark]``; nothing here imports it until a
function needs it.
"""

from __future__ import annotations

from workbook.crm.spark.session import ENGINES, engine_choice, spark_session

__all__ = ["ENGINES", "engine_choice", "import_events", "spark_session"]


def __getattr__(name: str) -> object:
    # the import module pulls in the whole Spark pipeline: only when it is asked for
    if name == "import_events":
        from workbook.crm.spark.importer import import_events

        return import_events
    raise AttributeError(name)
