"""Time: how long contacts stay in each stage, and how long won deals take to close."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbook.analytics._common import days_between, group_cols, ordered
from workbook.analytics.engine import Engine, EngineLike, group_sql, memo, people_join

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TIME_IN_STAGE_COLUMNS", "TIME_TO_CLOSE_COLUMNS", "time_in_stage", "time_to_close"]

TIME_IN_STAGE_COLUMNS = [
    "stage",
    "stage_name",
    "stage_index",
    "spells",
    "open_spells",
    "median_days",
    "p90_days",
    "mean_days",
]
TIME_TO_CLOSE_COLUMNS = ["won_deals", "median_days", "p90_days", "mean_days", "total_amount"]


@memo
def time_in_stage(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Median and 90th percentile of the days contacts spent in each stage.

    Only finished stays count (``stage_spells`` with an ``exited_at``): a contact still in a
    stage has no duration yet and is counted in ``open_spells``. Percentiles interpolate
    linearly between stays (DuckDB ``quantile_cont``, pandas' default ``quantile``).

    Returns
    -------
    DataFrame
        One row per workspace stage (per group when ``by``), in stage order. Columns:
        ``[by,] stage, stage_name, stage_index, spells`` (int: finished stays),
        ``open_spells`` (int), ``median_days, p90_days, mean_days`` (float days; NaN without
        a finished stay).
    """
    import pandas as pd

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    gsel, ggrp = group_sql(by)
    days = days_between("sp.entered_at", "sp.exited_at")
    stats = eng.query(
        f"""
        SELECT {gsel} sp.stage,
               count(sp.exited_at) AS spells,
               count(*) - count(sp.exited_at) AS open_spells,
               median({days}) AS median_days,
               quantile_cont({days}, 0.9) AS p90_days,
               avg({days}) AS mean_days
        FROM stage_spells sp
        {people_join(by, "sp")}
        GROUP BY {ggrp} sp.stage
        """
    )
    stages = eng.query("SELECT stage, stage_name, stage_index FROM stages ORDER BY stage_index")
    gcols = group_cols(by)
    if by:
        groups = sorted(stats[by].dropna().unique().tolist())
        grid = pd.MultiIndex.from_product([groups, stages["stage"]], names=[by, "stage"]).to_frame(
            index=False
        )
        grid = grid.merge(stages, on="stage")
    else:
        grid = stages
    out = grid.merge(stats, on=[*gcols, "stage"], how="left")
    for col in ("spells", "open_spells"):
        out[col] = out[col].fillna(0).astype("int64")
    for col in ("median_days", "p90_days", "mean_days"):
        out[col] = out[col].astype("float64")
    out["stage_index"] = out["stage_index"].astype("int64")
    out = out.sort_values([*gcols, "stage_index"], kind="stable")
    return ordered(out, [*gcols, *TIME_IN_STAGE_COLUMNS])


@memo
def time_to_close(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Days from a won deal's creation to its close (as a CRM's "days to close").

    Returns
    -------
    DataFrame
        Without ``by``: one row, even with no won deal (``won_deals`` 0, NaN days). With
        ``by``: one row per group that has won deals. Columns: ``[by,] won_deals`` (int),
        ``median_days, p90_days, mean_days`` (float), ``total_amount`` (float: sum of the
        won amounts, 0 when none are known).
    """
    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    gsel, ggrp = group_sql(by)
    days = days_between("d.created_at", "d.closed_at")
    group_by = f"GROUP BY {ggrp.rstrip(', ')}" if by else ""
    out = eng.query(
        f"""
        SELECT {gsel}
               count(*) AS won_deals,
               median({days}) AS median_days,
               quantile_cont({days}, 0.9) AS p90_days,
               avg({days}) AS mean_days,
               coalesce(sum(d.amount), 0) AS total_amount
        FROM deals d
        {people_join(by, "d")}
        WHERE d.outcome = 'won' AND d.created_at IS NOT NULL AND d.closed_at IS NOT NULL
        {group_by}
        """
    )
    gcols = group_cols(by)
    out["won_deals"] = out["won_deals"].astype("int64")
    for col in ("median_days", "p90_days", "mean_days", "total_amount"):
        out[col] = out[col].astype("float64")
    out = out.sort_values(gcols, kind="stable") if gcols else out
    return ordered(out, [*gcols, *TIME_TO_CLOSE_COLUMNS])
