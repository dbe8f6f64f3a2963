"""``--engine`` and ``--master``: the options every computing command shares.

The choice is handed on through the environment (``WORKBOOK_ENGINE``,
``WORKBOOK_SPARK_MASTER``), so a report's kernel and a batch's worker processes, which
run the analytics in processes of their own, make the same choice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["engine_options", "use_engine"]

F = TypeVar("F", bound=Callable[..., Any])


def engine_options(func: F) -> F:
    """Add ``--engine duckdb|spark`` and ``--master URL`` to a command."""
    func = click.option(
        "--master",
        metavar="URL",
        help="Spark master for --engine spark (local[4], spark://host:7077, yarn, k8s://...); "
        "default: Spark's own configuration (spark-defaults.conf), else local[*].",
    )(func)
    return click.option(
        "--engine",
        type=click.Choice(["duckdb", "spark"]),
        help="Engine that computes: duckdb on this computer, or spark for histories too large "
        "for one machine (pip install 'journey-workbook[spark]'). Default: the workspace's "
        "settings.engine, else duckdb.",
    )(func)


def use_engine(engine: str | None, master: str | None) -> None:
    """Make ``--engine`` / ``--master`` the choice of this process and of those it starts."""
    from workbook.crm.spark.session import ENGINE_ENV, MASTER_ENV

    if engine:
        os.environ[ENGINE_ENV] = engine
    if master:
        os.environ[MASTER_ENV] = master
        os.environ.setdefault(ENGINE_ENV, "spark")
