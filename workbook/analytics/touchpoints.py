"""Touchpoints: how often each is used, at which stage, and what using it is worth."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbook.analytics._common import group_cols, ordered, stage_masks
from workbook.analytics.engine import Engine, EngineLike, group_sql, memo, people_join

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
#: Per (contact, workspace stage, touchpoint): the touches made while in that stage (messages
#: ``sent`` left out) and their lowest channel. Usage and lift both read it, so the touch
#: events are scanned and grouped once per engine.
STAGE_TOUCHES_SQL = """
SELECT e.contact_id, s.stage, s.stage_name, s.stage_index, e.touchpoint,
       count(*) AS touches, min(e.channel) AS channel
FROM events e JOIN stages s ON s.stage = e.stage
WHERE e.kind = 'touch' AND e.touchpoint IS NOT NULL AND coalesce(e.action, '') <> 'sent'
GROUP BY e.contact_id, s.stage, s.stage_name, s.stage_index, e.touchpoint
"""


def _stage_touches(eng: Engine) -> str:
    return eng.cached("_stage_touches", STAGE_TOUCHES_SQL)


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
    gsel, ggrp = group_sql(by)
    st = _stage_touches(eng)
    out = eng.query(
        f"""
        SELECT {gsel} e.stage, e.stage_name, e.stage_index, e.touchpoint,
               coalesce(any_value(t.touchpoint_name), e.touchpoint) AS touchpoint_name,
               coalesce(any_value(t.touchpoint_channel), min(e.channel)) AS channel,
               sum(e.touches) AS touches, count(*) AS contacts
        FROM {st} e
        LEFT JOIN touchpoints t ON t.touchpoint = e.touchpoint
        {people_join(by, "e")}
        GROUP BY {ggrp} e.stage, e.stage_name, e.stage_index, e.touchpoint
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
    out = eng.query(_lift_sql(by, _stage_touches(eng), stage_masks(eng)))
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


def _lift_sql(by: str | None, stage_touches: str, masks_table: str) -> str:
    # Without a split every contact is in one group, "_all", dropped from the output.
    g = f"coalesce(p.{by}, 'unassigned')" if by else "'all'"
    col = by or "_all"
    last = "(SELECT max(stage_index) FROM stages)"
    return f"""
        WITH m AS (SELECT * FROM {masks_table}),
        -- Reach and next-stage conversion per stage, from the (few) distinct stage masks.
        masks AS (
            SELECT {g} AS {col}, m.mask, count(*) AS c
            FROM m {people_join(by, "m")}
            GROUP BY ALL
        ),
        pop AS (
            SELECT k.{col}, s.stage, sum(k.c) AS n,
                   sum(k.c) FILTER ((k.mask >> (s.stage_index + 1)) & 1 = 1) AS n_conv
            FROM masks k JOIN stages s ON (k.mask >> s.stage_index) & 1 = 1
            GROUP BY ALL
        ),
        used AS (
            SELECT contact_id, stage, stage_name, stage_index, touchpoint
            FROM {stage_touches} WHERE stage_index < {last}
        ),
        u AS (
            SELECT {g} AS {col}, used.stage, used.stage_name, used.stage_index, used.touchpoint,
                   count(*) AS users,
                   count(*) FILTER ((m.mask >> (used.stage_index + 1)) & 1 = 1) AS users_converted
            FROM used JOIN m ON m.contact_id = used.contact_id
            {people_join(by, "used")}
            WHERE (m.mask >> used.stage_index) & 1 = 1
            GROUP BY ALL
        )
        SELECT u.*, coalesce(t.touchpoint_name, u.touchpoint) AS touchpoint_name,
               pop.n - u.users AS non_users,
               coalesce(pop.n_conv, 0) - u.users_converted AS non_users_converted
        FROM u
        JOIN pop USING ({col}, stage)
        LEFT JOIN touchpoints t ON t.touchpoint = u.touchpoint
        """
