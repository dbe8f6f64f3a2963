"""Time: how long contacts stay in each stage, and how long won deals take to close.

A stay ends when the contact enters another stage or when one of its deals closes, won or
lost (``stage_spells.ended_by``; the rule is :func:`workbook.crm.sequences.stage_spells`'s).
"""

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
    "closed_spells",
    "open_spells",
    "median_days",
    "p90_days",
    "mean_days",
]
TIME_TO_CLOSE_COLUMNS = [
    "won_deals",
    "untimed_deals",
    "median_days",
    "p90_days",
    "mean_days",
    "total_amount",
]


@memo
def time_in_stage(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Median and 90th percentile of the days contacts spent in each stage.

    Only finished stays count (``stage_spells`` with an ``exited_at``): a stay finishes when
    the contact enters another stage or when one of its deals closes (won or lost), and its
    duration runs from the entry to that moment. A contact still in a stage, with no close
    since it entered, has no duration yet and is counted in ``open_spells``. Percentiles
    interpolate linearly between stays (DuckDB ``quantile_cont``, pandas' default
    ``quantile``).

    Returns
    -------
    DataFrame
        One row per workspace stage (per group when ``by``), in stage order. Columns:
        ``[by,] stage, stage_name, stage_index, spells`` (int: finished stays),
        ``closed_spells`` (int: of those, the stays a deal's close ended), ``open_spells``
        (int), ``median_days, p90_days, mean_days`` (float days over the finished stays; NaN
        without one).
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
               count(*) FILTER (sp.ended_by IN ('won', 'lost')) AS closed_spells,
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
    for col in ("spells", "closed_spells", "open_spells"):
        out[col] = out[col].fillna(0).astype("int64")
    for col in ("median_days", "p90_days", "mean_days"):
        out[col] = out[col].astype("float64")
    out["stage_index"] = out["stage_index"].astype("int64")
    out = out.sort_values([*gcols, "stage_index"], kind="stable")
    return ordered(out, [*gcols, *TIME_IN_STAGE_COLUMNS])


@memo
def time_to_close(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Days from a won deal's creation to its close (as a CRM's "days to close").

    A deal's creation is its first record (``deals.created_at``: the earliest of its rows).
    A won deal whose first record is its close (created and closed in one row, or only a
    "Closed Won" row) has no recorded start: its time to close is unknown, not 0 days, so it
    is left out of the days and counted in ``untimed_deals``; so is a won deal without a close
    date, or one whose creation is dated after its close.

    Returns
    -------
    DataFrame
        Without ``by``: one row, even with no won deal (``won_deals`` 0, NaN days). With
        ``by``: one row per group that has won deals. Columns: ``[by,] won_deals`` (int:
        every won deal), ``untimed_deals`` (int: of those, the ones whose time to close is
        unknown), ``median_days, p90_days, mean_days`` (float, over the other won deals; NaN
        without one), ``total_amount`` (float: sum of the won amounts, 0 when none are known).
    """
    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    gsel, ggrp = group_sql(by)
    timed = "d.created_at < d.closed_at"
    days = f"CASE WHEN {timed} THEN {days_between('d.created_at', 'd.closed_at')} END"
    group_by = f"GROUP BY {ggrp.rstrip(', ')}" if by else ""
    out = eng.query(
        f"""
        SELECT {gsel}
               count(*) AS won_deals,
               count(*) FILTER (NOT coalesce({timed}, false)) AS untimed_deals,
               median({days}) AS median_days,
               quantile_cont({days}, 0.9) AS p90_days,
               avg({days}) AS mean_days,
               coalesce(sum(d.amount), 0) AS total_amount
        FROM deals d
        {people_join(by, "d")}
        WHERE d.outcome = 'won'
        {group_by}
        """
    )
    gcols = group_cols(by)
    for col in ("won_deals", "untimed_deals"):
        out[col] = out[col].astype("int64")
    for col in ("median_days", "p90_days", "mean_days", "total_amount"):
        out[col] = out[col].astype("float64")
    out = out.sort_values(gcols, kind="stable") if gcols else out
    return ordered(out, [*gcols, *TIME_TO_CLOSE_COLUMNS])
