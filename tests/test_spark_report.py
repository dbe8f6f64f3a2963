"""The Spark engine end to end (issue 20): a session leaves nothing in the current folder,
and ``workbook report`` and ``workbook batch`` with ``--engine spark`` write the report and
the numbers ``--engine duckdb`` writes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


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
        [sys.executable, "-W", "ignore", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert os.listdir(cwd) == []
    warehouse = Path(run.stdout.strip().splitlines()[-1].removeprefix("file:"))
    assert warehouse.name == "spark-warehouse" and not warehouse.parent.exists()


def test_the_users_spark_settings_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warehouse or Derby home set in ``spark-defaults.conf`` or ``PYSPARK_SUBMIT_ARGS`` is
    kept; only what the user left unset goes to the temporary folder."""
    from workbook.crm.spark import session

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
