"""Which engine runs the work, and the Spark session when it is Spark.

The engine is chosen, first to last, by ``--engine`` on the command line (which sets
``WORKBOOK_ENGINE`` so that a report's kernel, another process, makes the same choice), by
the workspace's ``settings.engine``, else DuckDB. The Spark master comes from ``--master``
(``WORKBOOK_SPARK_MASTER``), else from Spark's own configuration (``spark-submit
--master``, ``spark-defaults.conf`` in ``SPARK_CONF_DIR``), else ``local[*]``. Everything
else a cluster needs (object-store credentials, executor sizes) is Spark's own
configuration too: the workspace file never holds any.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbook.exceptions import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "ENGINES",
    "ENGINE_ENV",
    "MASTER_ENV",
    "engine_choice",
    "own_session",
    "spark_session",
]

#: The engines the workbook runs on.
ENGINES = ("duckdb", "spark")

ENGINE_ENV = "WORKBOOK_ENGINE"
MASTER_ENV = "WORKBOOK_SPARK_MASTER"

_INSTALL = "install the extra: pip install 'journey-workbook[spark]' (or make install)"

#: Settings that keep a local session quiet and on the loopback (FIELD-NOTES: PySpark).
_LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}

#: Settings every session of the workbook needs, local or not: timestamps are UTC, as in
#: the canonical tables; Parquet timestamps are written as microseconds with a time zone,
#: as DuckDB and Arrow write them.
_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.ansi.enabled": "false",
}


def engine_choice(setting: str | None = None, explicit: str | None = None) -> str:
    """The engine to use: ``explicit`` (a ``--engine`` flag), else ``WORKBOOK_ENGINE``, else
    ``setting`` (the workspace's), else ``duckdb``.

    Raises
    ------
    EngineError
        The name is not one of :data:`ENGINES`.
    """
    name = explicit or os.environ.get(ENGINE_ENV) or setting or "duckdb"
    name = name.strip().lower()
    if name not in ENGINES:
        raise EngineError(
            f"no engine {name!r}", hint=f"use one of: {', '.join(ENGINES)} (--engine or settings)"
        )
    return name


def _log_config() -> str:
    """A log4j2 file that keeps Spark's logging to errors (written once per process)."""
    import tempfile

    text = (
        "rootLogger.level = fatal\nrootLogger.appenderRef.stderr.ref = console\n"
        "appender.console.type = Console\nappender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n\n"
        # PySpark's gateway counts as Spark's shell, whose level is its own logger's, else
        # WARN: the root's level keeps it from printing "Setting default log level"
        "logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer\n"
        "logger.gateway.level = fatal\n"
    )
    path = os.path.join(tempfile.gettempdir(), f"workbook-log4j2-{os.getuid()}.properties")
    # written again when this version's text differs from an older one's
    if not os.path.exists(path) or Path(path).read_text(encoding="utf-8") != text:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    return path


def _user_conf() -> dict[str, str]:
    """The Spark settings the user gave before this process starts a session: those of a
    running JVM gateway (``spark-submit``), else ``--conf`` in ``PYSPARK_SUBMIT_ARGS`` and
    ``spark-defaults.conf`` in ``SPARK_CONF_DIR`` (else ``SPARK_HOME/conf``), as
    ``spark-submit`` reads them."""
    import shlex

    from pyspark import SparkConf, SparkContext

    if SparkContext._jvm is not None:  # the gateway loaded the user's defaults already
        return dict(SparkConf().getAll())
    found: dict[str, str] = {}
    folder = os.environ.get("SPARK_CONF_DIR") or (
        os.path.join(os.environ["SPARK_HOME"], "conf") if os.environ.get("SPARK_HOME") else None
    )
    defaults = os.path.join(folder, "spark-defaults.conf") if folder else None
    if defaults and os.path.isfile(defaults):
        with open(defaults, encoding="utf-8") as fh:
            for line in fh:
                parts = line.strip().split(None, 1)
                if parts and not parts[0].startswith("#"):
                    found[parts[0].split("=", 1)[0]] = (parts[1:] or [""])[0].strip()
    words = shlex.split(os.environ.get("PYSPARK_SUBMIT_ARGS", ""))
    for flag, value in zip(words, words[1:], strict=False):
        if flag in ("--conf", "-c") and "=" in value:
            key, _, setting = value.partition("=")
            found[key] = setting
        elif flag == "--driver-java-options":
            found["spark.driver.extraJavaOptions"] = value
    return found


#: The folder a session started here writes its scratch files to, made once per process.
_SCRATCH: list[str] = []


def _scratch_folder() -> str:
    """A temporary folder of this process, removed when it exits."""
    if not _SCRATCH:
        import atexit
        import tempfile

        folder = tempfile.mkdtemp(prefix="workbook-spark-")
        atexit.register(shutil.rmtree, folder, True)
        _SCRATCH.append(folder)
    return _SCRATCH[0]


def _scratch_conf(local: bool) -> dict[str, str]:
    """Where a new session writes what it would otherwise leave in the current folder: the
    SQL warehouse (``spark-warehouse/``, made at the first catalog call) and, with a Hive
    catalog, Derby's ``metastore_db/`` and ``derby.log``. They go to a temporary folder
    removed at exit, unless the user's Spark configuration says where they go. A local
    session also gets the log4j2 file that keeps Spark's logging to errors."""
    user = _user_conf()
    conf: dict[str, str] = {}
    if "spark.sql.warehouse.dir" not in user:
        conf["spark.sql.warehouse.dir"] = os.path.join(_scratch_folder(), "spark-warehouse")
    java = user.get("spark.driver.extraJavaOptions", "")
    options = [] if "-Dderby.system.home=" in java else [f"-Dderby.system.home={_scratch_folder()}"]
    if local:
        options.append(f"-Dlog4j2.configurationFile=file:{_log_config()}")
    if options:
        # builder settings replace the user's: keep their Java options, add ours
        conf["spark.driver.extraJavaOptions"] = " ".join([java, *options]).strip()
    return conf


def spark_session(master: str | None = None, *, driver_memory: str | None = None) -> SparkSession:
    """The process's Spark session: the active one when there is one (``spark-submit``, a
    notebook on a cluster), else a new one for ``master``.

    Parameters
    ----------
    master
        A Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``, ``k8s://...``);
        ``None`` takes ``WORKBOOK_SPARK_MASTER``, then Spark's own configuration, then
        ``local[*]``.
    driver_memory
        For a session started here (``2g``); a running session keeps its own.

    Raises
    ------
    EngineError
        PySpark is not installed, Java is missing, or the master cannot be reached.
    """
    _quiet_pandas_warning()
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(
            "the Spark engine needs PySpark, which is not installed", hint=_INSTALL
        ) from None
    active = SparkSession.getActiveSession()
    master = master or os.environ.get(MASTER_ENV)
    if active is not None and (master is None or active.sparkContext.master == master):
        _configure(active)
        return active
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise EngineError(
            "the Spark engine needs Java, which is not installed",
            hint="install a Java 17 or 21 runtime (apt-get install openjdk-17-jre-headless) "
            "or set JAVA_HOME",
        )
    from pyspark import SparkContext

    running = SparkContext._active_spark_context
    if running is not None and master and running.master != master:
        raise EngineError(
            f"this process already runs Spark on {running.master!r}, not on {master!r}",
            hint="one Spark master per process: run the command again on its own",
        )
    builder: Any = SparkSession.builder.appName("journey-workbook")
    if master:
        builder = builder.master(master)
    elif not os.environ.get("SPARK_CONF_DIR") and "--master" not in os.environ.get(
        "PYSPARK_SUBMIT_ARGS", ""
    ):
        builder = builder.master("local[*]")
    local = (master or "local").startswith("local")
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # the workers of a local session run this Python (on a cluster: its own settings)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        for key, value in _LOCAL_CONF.items():
            builder = builder.config(key, value)
        # a few cores: Spark's 200 shuffle partitions are 200 small tasks per step, each
        # with its own overhead (the demo's derived tables: minutes instead of seconds)
        builder = builder.config("spark.sql.shuffle.partitions", str(_local_cores(master) * 2))
    for key, value in _scratch_conf(local).items():
        builder = builder.config(key, value)
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    try:
        spark: SparkSession = builder.getOrCreate() if local else _start(builder, master or "")
        if not local:
            _reach(spark, master or "")
    except EngineError:
        raise
    except Exception as exc:  # Py4J, Java and connection errors have no common base
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        if "JAVA_GATEWAY_EXITED" in str(exc) or "Java gateway" in str(exc):
            raise EngineError(
                f"Spark could not start its Java process ({first})",
                hint="check that Java 17 or 21 runs (java -version) and JAVA_HOME points at it",
            ) from None
        raise _unreachable(master or "", "it gave up connecting") from None
    _configure(spark)
    return spark


def _timeout() -> float:
    """How long to wait for a cluster (``WORKBOOK_SPARK_TIMEOUT`` seconds, default 60)."""
    return float(os.environ.get("WORKBOOK_SPARK_TIMEOUT", "60"))


def _unreachable(master: str, why: str) -> EngineError:
    return EngineError(
        f"Spark master {master!r} cannot be reached ({why})",
        hint="check the URL and that the cluster is up, or run with --master local[2]",
    )


def _start(builder: Any, master: str) -> SparkSession:
    """``getOrCreate`` for a cluster, given up after :func:`_timeout` seconds: Spark's own
    client retries an unreachable standalone master for a minute or more before failing."""
    import threading

    box: list[Any] = []

    def start() -> None:
        try:
            box.append(builder.getOrCreate())
        except BaseException as exc:  # handed to the caller below
            box.append(exc)

    thread = threading.Thread(target=start, daemon=True, name="workbook-spark-start")
    thread.start()
    thread.join(_timeout())
    if not box:
        raise _unreachable(master, f"no answer in {_timeout():g} s")
    if isinstance(box[0], BaseException):
        raise box[0]
    session: SparkSession = box[0]
    return session


def _local_cores(master: str | None) -> int:
    """The cores a ``local[n]`` master uses (``local[*]``: the machine's)."""
    import re

    m = re.fullmatch(r"local\[(\d+)(?:,\s*\d+)?\]", master or "")
    if m:
        return max(int(m.group(1)), 1)
    if master == "local":
        return 1
    return os.cpu_count() or 2


def _reach(spark: SparkSession, master: str) -> None:
    """Run one tiny job so that a master that accepted nothing fails now, not mid-import."""
    import threading

    done: list[BaseException | None] = []

    def probe() -> None:
        try:
            spark.range(1).count()
            done.append(None)
        except BaseException as exc:  # reported below
            done.append(exc)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(_timeout())
    if not done or done[0] is not None:
        spark.stop()
        raise _unreachable(master, "no executor answered")


def own_session(spark: SparkSession) -> SparkSession:
    """A session of its own on ``spark``'s cluster: its own temporary views, the workbook's
    settings (a new session starts from Spark's defaults, not from ``spark``'s)."""
    session: SparkSession = spark.newSession()
    _configure(session)
    return session


def _quiet_pandas_warning() -> None:
    """PySpark 4.3 warns, as a session starts and at every Arrow conversion, that pandas 3 is
    not fully supported; the workbook hands Spark Arrow tables, never pandas frames, so the
    warning is not the user's concern."""
    import warnings

    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )


def _configure(spark: SparkSession) -> None:
    import logging

    _quiet_pandas_warning()

    # PySpark logs every failed query as a JSON record before raising it; the error itself
    # reaches the caller, so the record is noise on a terminal or in a notebook
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    for key, value in _CONF.items():
        spark.conf.set(key, value)
