"""The Spark engine end to end (issue 20): a session leaves nothing in the current folder,
and ``workbook report`` and ``workbook batch`` with ``--engine spark`` write the report and
the numbers ``--engine duckdb`` writes."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


#: Each command here starts a Spark session for a few seconds of small queries: the JVM's
#: first-tier compiler only halves that start on a 2-core machine (32 s to 18 s measured),
#: where the optimising compiler's work never pays back. For the tests only.
FAST_JVM = {"JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1"}


# ------------------------------------------------------------------------ the session


def test_a_session_leaves_nothing_in_the_current_folder(tmp_path: Path) -> None:
    """The SQL warehouse (made at the first catalog call) and Derby's files go to a
    temporary folder, removed when the process ends."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    script = textwrap.dedent(
        """
        import os
        from workbook.crm.spark.session import spark_session
        spark = spark_session("local[1]")
        spark.range(3).createOrReplaceTempView("t")
        assert [t.name for t in spark.catalog.listTables()] == ["t"]
        spark.sql("CREATE DATABASE IF NOT EXISTS scratch")
        spark.catalog.listDatabases()
        where = spark.conf.get("spark.sql.warehouse.dir")
        print(where)
        assert os.listdir(where.removeprefix("file:")) == ["scratch.db"]
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **FAST_JVM, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert os.listdir(cwd) == []
    # and its console stays quiet: no log level notice, no pandas warning from PySpark (the
    # JVM's own lines, on incubator modules and this test's JAVA_TOOL_OPTIONS, are not Spark's)
    said = [
        line
        for line in run.stderr.splitlines()
        if "incubator modules" not in line and not line.startswith("Picked up JAVA_TOOL_OPTIONS")
    ]
    assert said == [], said
    warehouse = Path(run.stdout.strip().splitlines()[-1].removeprefix("file:"))
    assert warehouse.name == "spark-warehouse" and not warehouse.parent.exists()


def test_the_users_spark_settings_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warehouse or Derby home set in ``spark-defaults.conf`` or ``PYSPARK_SUBMIT_ARGS`` is
    kept; only what the user left unset goes to the temporary folder."""
    from pyspark import SparkContext

    from workbook.crm.spark import session

    # as before any session starts: a gateway this test run already opened (the other Spark
    # tests' session) would be read as spark-submit's, with its settings
    monkeypatch.setattr(SparkContext, "_jvm", None)
    (tmp_path / "spark-defaults.conf").write_text(
        "# ours\nspark.sql.warehouse.dir   s3a://lake/warehouse\nspark.executor.memory 4g\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS", raising=False)
    conf = session._scratch_conf(local=False)
    assert "spark.sql.warehouse.dir" not in conf
    assert conf["spark.driver.extraJavaOptions"].startswith("-Dderby.system.home=")

    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path / "none"))
    monkeypatch.setenv(
        "PYSPARK_SUBMIT_ARGS",
        "--conf 'spark.driver.extraJavaOptions=-Dderby.system.home=/srv/derby -Xss4m' "
        "pyspark-shell",
    )
    conf = session._scratch_conf(local=False)
    assert conf["spark.sql.warehouse.dir"].endswith("spark-warehouse")
    assert "spark.driver.extraJavaOptions" not in conf

    conf = session._scratch_conf(local=True)  # a local session adds its log settings
    java = conf["spark.driver.extraJavaOptions"]
    assert java.startswith("-Dderby.system.home=/srv/derby -Xss4m -Dlog4j2.configurationFile=")


# ------------------------------------------------------------------- report and batch

#: One secret salt for both copies: a person has the same pseudonym on either engine.
SALT = bytes(range(7, 39))
XLSX = "tideway-rowing-report-data.xlsx"
HTML = "tideway-rowing-report.html"


def _demo_copy(dest: Path) -> Path:
    from workbook.crm.demo import demo_without_data
    from workbook.crm.privacy import SALT_FILE

    ws = demo_without_data(dest, ROOT / "data" / "demo")
    (ws / "data").mkdir(exist_ok=True)
    (ws / "data" / SALT_FILE).write_bytes(SALT)
    return ws


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo client's export (300 contacts, its weak step planted) imported by DuckDB
    into one copy of the demo and by Spark (``import_events``, local[2]) into another."""
    from workbook.crm.demo import DEMO_CURRENCY, DEMO_END, DEMO_SPAN_DAYS
    from workbook.crm.generate import generate, write_export
    from workbook.crm.importer import import_file
    from workbook.crm.spark.importer import import_events
    from workbook.crm.spark.session import spark_session
    from workbook.store import read_workspace

    base = tmp_path_factory.mktemp("report-engines")
    sample = generate(
        read_workspace(ROOT / "data" / "demo"),
        contacts=300,
        seed=20,
        currency=DEMO_CURRENCY,
        end=DEMO_END,
        span_days=DEMO_SPAN_DAYS,
        plant=True,
    )
    export = Path(write_export(sample, "generic", base, filename="tideway-crm-events.csv"))
    duck, spk = _demo_copy(base / "duckdb"), _demo_copy(base / "spark")
    import_file(duck, export, currency="GBP")
    import_events(spk, str(export), spark=spark_session("local[2]"), currency="GBP")
    return duck, spk


def _sheets(path: Path) -> dict[str, list[list[Any]]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    return {n: [list(r) for r in book[n].iter_rows(values_only=True)] for n in book.sheetnames}


def _differences(want: dict[str, list[list[Any]]], got: dict[str, list[list[Any]]]) -> list[str]:
    """Cells that differ (numbers within 1e-9), but the appendix's import time."""
    if list(want) != list(got):
        return [f"sheets {list(want)} != {list(got)}"]
    found = []
    for name, rows in want.items():
        if len(rows) != len(got[name]):
            found.append(f"{name}: {len(rows)} rows != {len(got[name])}")
            continue
        skip = {rows[0].index("Imported")} if name.startswith("Appendix") else set()
        for r, (a, b) in enumerate(zip(rows, got[name], strict=True)):
            for c, (x, y) in enumerate(zip(a, b, strict=True)):
                same = x == y or (
                    isinstance(x, float | int)
                    and isinstance(y, float | int)
                    and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
                )
                if not same and not (r > 0 and c in skip):
                    found.append(f"{name} row {r + 1} column {c + 1}: {x!r} != {y!r}")
    return found


def _rendered_well(html: str) -> list[str]:
    """What is wrong with a report's HTML: a section that failed, an error output."""
    signs = ("could not be prepared", "could not be run", "could not be read", "Traceback")
    return [
        sign
        for sign in (*signs, "jp-OutputArea-error", "application/vnd.jupyter.stderr")
        if sign in html
    ]


def _run(args: list[str], env: dict[str, str], cwd: Path) -> None:
    """A ``workbook`` command as a user runs it, in a process of its own."""
    run = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", "from workbook.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]


@pytest.fixture(scope="module")
def clean_env() -> dict[str, str]:
    """The environment of the commands run here: no engine chosen by an earlier test."""
    from workbook.crm.spark.session import ENGINE_ENV, MASTER_ENV

    env = {k: v for k, v in os.environ.items() if k not in (ENGINE_ENV, MASTER_ENV)}
    return {**env, **FAST_JVM}


@pytest.fixture(scope="module")
def duckdb_report(imported: tuple[Path, Path], clean_env: dict[str, str]) -> Path:
    """``workbook report --data`` of the DuckDB copy: the numbers to match."""
    duck, _ = imported
    _run(["report", str(duck), "--data", "--date", "2026-12-01"], clean_env, ROOT)
    return duck / "reports"


@pytest.mark.kernel
def test_report_on_spark_has_the_duckdb_reports_numbers(
    imported: tuple[Path, Path], duckdb_report: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    """``workbook report --engine spark`` renders every section as on DuckDB, and the numbers
    behind them (``--data``) are the same; the Spark session in its kernel leaves nothing
    in the folder the command ran in."""
    from workbook import sections

    _, spk = imported
    args = ["report", str(spk), "--data", "--date", "2026-12-01", "--engine", "spark"]
    _run([*args, "--master", "local[2]"], clean_env, tmp_path)
    assert os.listdir(tmp_path) == []
    want, got = _sheets(duckdb_report / XLSX), _sheets(spk / "reports" / XLSX)
    assert len(want) > 30 and "Lead scoring (deciles)" in want
    assert _differences(want, got) == []
    html = (spk / "reports" / HTML).read_text(encoding="utf-8")
    assert _rendered_well(html) == []
    for sid in sections.names():
        assert f'id="{sid}"' in html, sid
    notes = re.findall(r'class="wb-note">([^<]*)<', html)
    assert notes == re.findall(
        r'class="wb-note">([^<]*)<', (duckdb_report / HTML).read_text(encoding="utf-8")
    )


@pytest.mark.kernel
def test_batch_on_spark_renders_two_clients(
    imported: tuple[Path, Path], duckdb_report: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    """``workbook batch --engine spark --jobs 1`` on two clients showing lead scoring and the
    appendix: one imported by Spark (DuckDB's numbers), one with no CRM data yet (its
    polite notes, and no Spark session needed)."""
    from workbook.crm.demo import demo_without_data
    from workbook.store import open_workspace

    _, spk = imported
    one, two = tmp_path / "one", tmp_path / "two"
    shutil.copytree(spk, one, ignore=shutil.ignore_patterns("reports"))
    demo_without_data(two, ROOT / "data" / "demo")
    for ws in (one, two):
        doc = open_workspace(ws)
        doc.data.report.sections = ["scoring", "appendix"]
        doc.save()
    args = ["batch", str(one), str(two), "--jobs", "1", "--data", "--engine", "spark"]
    _run([*args, "--master", "local[2]"], clean_env, ROOT)
    want = _sheets(duckdb_report / XLSX)
    html = (one / "reports" / HTML).read_text(encoding="utf-8")
    assert _rendered_well(html) == []
    assert 'id="scoring"' in html and 'id="funnel"' not in html
    got = _sheets(one / "reports" / XLSX)
    assert "Lead scoring (deciles)" in got and "Funnel and flow" not in got
    assert _differences({n: want[n] for n in got}, got) == []
    html = (two / "reports" / HTML).read_text(encoding="utf-8")
    assert _rendered_well(html) == [] and 'id="scoring"' in html
    assert "Once CRM data is imported, this section shows how well the score works." in html


def test_a_column_older_files_lack_reads_as_null(
    imported: tuple[Path, Path], tmp_path: Path
) -> None:
    """The Spark engine reads tables with their canonical schema: a derived table written
    before a column existed (``stage_spells`` without ``ended_by``) still answers, the
    column null, as on DuckDB."""
    import pyarrow.parquet as pq

    from workbook.analytics import Engine, time_in_stage
    from workbook.analytics.spark_engine import SparkEngine
    from workbook.crm.spark.session import spark_session
    from workbook.store import read_workspace

    duck, _ = imported
    ws = tmp_path / "old"
    shutil.copytree(duck, ws, ignore=shutil.ignore_patterns("reports"))
    spells = ws / "data" / "derived" / "stage_spells.parquet"
    pq.write_table(pq.read_table(spells).drop_columns(["ended_by"]), spells)
    spark = SparkEngine(ws, read_workspace(ws), spark=spark_session("local[2]"))
    with Engine(ws, read_workspace(ws)) as duckdb:
        sql = "SELECT count(*) AS n, count(ended_by) AS ended FROM stage_spells"
        assert spark.query(sql).to_dict("records") == duckdb.query(sql).to_dict("records")
        assert spark.scalar("SELECT count(ended_by) FROM stage_spells") == 0
        pd_want, pd_got = time_in_stage(duckdb), time_in_stage(spark)
        assert pd_got.equals(pd_want) or pd_got.round(9).equals(pd_want.round(9))
    spark.close()
