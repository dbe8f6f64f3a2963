"""Touchpoints: how often each is used, at which stage, and what using it is worth."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbook.analytics._common import MASKS_SQL, group_cols, group_expr, ordered, rollup
from workbook.analytics.engine import Engine, EngineLike, memo

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LIFT_COLUMNS", "USAGE_COLUMNS", "touchpoint_lift", "touchpoint_usage"]

USAGE_COLUMNS = [
    "stage",
    "stage_name",
    "stage_index",
    "touchpoint",
    "touchpoint_name",
    "channel",
    "touches",
    "contacts",
]
LIFT_COLUMNS = [
    "stage",
    "stage_name",
    "stage_index",
    "touchpoint",
    "touchpoint_name",
    "users",
    "users_converted",
    "users_rate",
    "non_users",
    "non_users_converted",
    "non_users_rate",
    "lift",
]


@memo
def touchpoint_usage(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """How often each touchpoint was used, at each stage.

    Counts touch events (``kind = 'touch'``) that name a touchpoint, by the stage the contact
    was in at the time. Touches at a stage the workspace does not list are left out, and so
    are messages ``sent`` (sends are counted by :func:`~workbook.analytics.channels`).

    Returns
    -------
    DataFrame
        One row per (``[by,]`` stage, touchpoint) used, ordered by stage, then most touches
        first, then touchpoint id. Columns: ``[by,] stage, stage_name, stage_index,
        touchpoint, touchpoint_name`` (the workspace's name, or the id when the workspace
        does not list it), ``channel`` (the workspace's channel for it, else the events'),
        ``touches`` (int: events), ``contacts`` (int: distinct contacts).
    """
    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    gsel = f"{group_expr(by, 'e')} AS {by}, " if by else ""
    # The stage_touchpoints rollup counts (contact, stage, touchpoint) once per contact, and
    # every contact is in one group: its contacts add up across groups and sets reached.
    out = eng.query(
        f"""
        SELECT {gsel} s.stage, s.stage_name, s.stage_index, e.touchpoint,
               coalesce(any_value(t.touchpoint_name), e.touchpoint) AS touchpoint_name,
               coalesce(any_value(t.touchpoint_channel), min(e.channel)) AS channel,
               sum(e.touches)::BIGINT AS touches, sum(e.contacts)::BIGINT AS contacts
        FROM {rollup(eng, "stage_touchpoints")} e
        JOIN stages s ON s.stage = e.stage
        LEFT JOIN touchpoints t ON t.touchpoint = e.touchpoint
        GROUP BY {gsel.split(" AS ")[0] + "," if by else ""} s.stage, s.stage_name,
                 s.stage_index, e.touchpoint
        """
    )
    gcols = group_cols(by)
    for col in ("stage_index", "touches", "contacts"):
        out[col] = out[col].astype("int64")
    out = out.sort_values(
        [*gcols, "stage_index", "touches", "touchpoint"],
        ascending=[*([True] * len(gcols)), True, False, True],
        kind="stable",
    )
    return ordered(out, [*gcols, *USAGE_COLUMNS])


@memo
def touchpoint_lift(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Next-stage conversion of contacts who used a touchpoint against those who did not.

        The population of a stage is every contact who reached it (``stage_entries``); a user of
        touchpoint *t* at that stage is one with a touch of *t* while in that stage; converting
        means also reaching the next stage in the workspace's order. A message ``sent`` to the
    contact is not a use (the contact did nothing yet). The last stage has no next
        stage and is left out. Lift is a difference of rates, not proof of cause: contacts who
        use a touchpoint may be keener to begin with.

        Returns
        -------
        DataFrame
            One row per (``[by,]`` stage, touchpoint) with at least one user, ordered by stage and
            then largest lift. Columns: ``[by,] stage, stage_name, stage_index, touchpoint,
            touchpoint_name, users, users_converted`` (int), ``users_rate`` (float),
            ``non_users, non_users_converted`` (int), ``non_users_rate`` (float, NaN when every
            contact of the stage used it), ``lift`` (users_rate - non_users_rate, in rate points).
    """
    import numpy as np

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    out = eng.query(_lift_sql(by, rollup(eng, "stage_touchpoints"), rollup(eng, "contact_groups")))
    gcols = group_cols(by)
    for col in ("stage_index", "users", "users_converted", "non_users", "non_users_converted"):
        out[col] = out[col].astype("int64")
    out["users_rate"] = (out["users_converted"] / out["users"]).astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["non_users_rate"] = (
            out["non_users_converted"] / out["non_users"].where(out["non_users"] > 0)
        ).astype("float64")
    out["lift"] = out["users_rate"] - out["non_users_rate"]
    out = out.sort_values(
        [*gcols, "stage_index", "lift", "touchpoint"],
        ascending=[*([True] * len(gcols)), True, False, True],
        kind="stable",
        na_position="last",
    )
    return ordered(out, [*gcols, *LIFT_COLUMNS])


def _lift_sql(by: str | None, stage_touches: str, contact_groups: str) -> str:
    # Without a split every contact is in one group, "all", dropped from the output.
    g = group_expr(by, "e")
    col = by or "_all"
    masks = MASKS_SQL.format(g=group_expr(by), table=contact_groups)
    return f"""
        WITH masks AS ({masks}),
        -- Reach and next-stage conversion per stage, from the (few) distinct stage masks.
        pop AS (
            SELECT k._g, s.stage, sum(k.contacts)::BIGINT AS n,
                   CAST(sum(k.contacts) FILTER ((k.mask >> (s.stage_index + 1)) & 1 = 1)
                       AS BIGINT) AS n_conv
            FROM masks k JOIN stages s ON (k.mask >> s.stage_index) & 1 = 1
            GROUP BY ALL
        ),
        -- Users: contacts who touched it in the stage and reached the stage (every stage but
        -- the last, which has no next one); converted: who also reached the next stage.
        u AS (
            SELECT {g} AS _g, s.stage, s.stage_name, s.stage_index, e.touchpoint,
                   sum(e.contacts)::BIGINT AS users,
                   coalesce(sum(e.contacts) FILTER (list_contains(e.reached, nx.stage)), 0)::BIGINT
                       AS users_converted
            FROM {stage_touches} e
            JOIN stages s ON s.stage = e.stage
            JOIN stages nx ON nx.stage_index = s.stage_index + 1
            WHERE list_contains(e.reached, s.stage)
            GROUP BY ALL
        )
        SELECT u.* EXCLUDE (_g), u._g AS {col},
               coalesce(t.touchpoint_name, u.touchpoint) AS touchpoint_name,
               pop.n - u.users AS non_users,
               coalesce(pop.n_conv, 0) - u.users_converted AS non_users_converted
        FROM u
        JOIN pop USING (_g, stage)
        LEFT JOIN touchpoints t ON t.touchpoint = u.touchpoint
        """
