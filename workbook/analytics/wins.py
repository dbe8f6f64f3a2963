"""What won deals have in common, per ICP or persona: interactions, content, sources, losses.

A contact's outcome is its best deal: won, else open, else lost (``none`` without a deal).
Interactions of a won contact are its touches up to its first win (as in attribution).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbook.analytics._common import group_cols, group_expr, ordered, rollup
from workbook.analytics.engine import Engine, EngineLike, group_sql, memo, people_join
from workbook.crm import actions

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CONTENT_ACTIONS",
    "INTERACTION_COLUMNS",
    "LEAD_SOURCE_COLUMNS",
    "LOST_REASON_COLUMNS",
    "WON_SUMMARY_COLUMNS",
    "lead_sources",
    "lost_reasons",
    "won_content",
    "won_interactions",
    "won_summary",
]

INTERACTION_COLUMNS = [
    "touchpoint",
    "touchpoint_name",
    "channel",
    "won_contacts",
    "won_share",
    "lost_contacts",
    "lost_share",
    "difference",
]
LEAD_SOURCE_COLUMNS = [
    "lead_source",
    "contacts",
    "won",
    "lost",
    "open",
    "no_deal",
    "win_rate",
    "share_of_won",
]
LOST_REASON_COLUMNS = ["lost_reason", "lost_deals", "share"]
#: Event actions that mean a piece of content was consumed (defined with the canonical
#: tables, as the import rolls them up).
CONTENT_ACTIONS = actions.CONTENT_ACTIONS

WON_SUMMARY_COLUMNS = [
    "contacts",
    "won_contacts",
    "lost_contacts",
    "win_rate",
    "won_deals",
    "won_amount",
    "median_days_to_close",
    "top_interaction",
    "top_content",
    "top_lead_source",
    "top_lost_reason",
]


#: Contacts by best outcome, summed over rows of the contact_groups rollup.
_OUTCOME_COUNTS = """
    sum(p.contacts)::BIGINT AS contacts,
    coalesce(sum(p.contacts) FILTER (p.outcome = 'won'), 0)::BIGINT AS won,
    coalesce(sum(p.contacts) FILTER (p.outcome = 'lost'), 0)::BIGINT AS lost,
    coalesce(sum(p.contacts) FILTER (p.outcome = 'open'), 0)::BIGINT AS open,
    coalesce(sum(p.contacts) FILTER (p.outcome = 'none'), 0)::BIGINT AS no_deal
"""


def _interactions(eng: Engine, by: str | None, content_only: bool) -> pd.DataFrame:
    j = rollup(eng, "journey_touchpoints")
    # Contacts whose journey used the touchpoint (content_contacts: with a content action),
    # summed over the rollup's groups: each contact is in one group and one outcome.
    used = "content_contacts" if content_only else "contacts"
    out = eng.query(
        f"""
        WITH pop AS (
            SELECT {group_expr(by, "o")} AS _g,
                   coalesce(sum(o.contacts) FILTER (o.outcome = 'won'), 0)::BIGINT AS won_n,
                   coalesce(sum(o.contacts) FILTER (o.outcome = 'lost'), 0)::BIGINT AS lost_n
            FROM {rollup(eng, "contact_groups")} o
            WHERE o.outcome IN ('won', 'lost')
            GROUP BY ALL
        ), counts AS (
            SELECT {group_expr(by, "j")} AS _g, j.touchpoint,
                   coalesce(sum(j.{used}) FILTER (j.outcome = 'won'), 0)::BIGINT AS won_contacts,
                   coalesce(sum(j.{used}) FILTER (j.outcome = 'lost'), 0)::BIGINT AS lost_contacts
            FROM {j} j
            WHERE j.outcome IN ('won', 'lost') AND j.{used} > 0
            GROUP BY ALL
        ), tc AS (
            -- the events' channel, only for touchpoints the workspace does not list
            SELECT touchpoint, min(channel) AS channel FROM {j}
            WHERE contacts > 0 AND touchpoint NOT IN (SELECT touchpoint FROM touchpoints)
            GROUP BY touchpoint
        )
        SELECT counts.*, pop.won_n, pop.lost_n,
               coalesce(t.touchpoint_name, counts.touchpoint) AS touchpoint_name,
               coalesce(t.touchpoint_channel, tc.channel) AS channel
        FROM counts JOIN pop USING (_g)
        LEFT JOIN touchpoints t ON t.touchpoint = counts.touchpoint
        LEFT JOIN tc ON tc.touchpoint = counts.touchpoint
        WHERE counts.won_contacts > 0
        """
    )
    for col in ("won_contacts", "lost_contacts"):
        out[col] = out[col].astype("int64")
    out["won_share"] = (out["won_contacts"] / out["won_n"]).astype("float64")
    out["lost_share"] = (out["lost_contacts"] / out["lost_n"].where(out["lost_n"] > 0)).astype(
        "float64"
    )
    out["difference"] = out["won_share"] - out["lost_share"]
    out = out.sort_values(["_g", "won_contacts", "touchpoint"], ascending=[True, False, True])
    if by:
        out = out.rename(columns={"_g": by})
    return ordered(out, [*group_cols(by), *INTERACTION_COLUMNS])


@memo
def won_interactions(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Touchpoints won contacts used before winning, against how often lost contacts used them.

    Returns
    -------
    DataFrame
        One row per (``[by,]`` touchpoint) used by at least one won contact, most won
        contacts first. Columns: ``[by,] touchpoint, touchpoint_name, channel,
        won_contacts`` (int), ``won_share`` (of the group's won contacts), ``lost_contacts``
        (int), ``lost_share`` (of the group's lost contacts; NaN without any),
        ``difference`` (won_share - lost_share).
    """
    eng = Engine.for_workspace(ws)
    return _interactions(eng, eng.check_by(by), content_only=False)


@memo
def won_content(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Content won contacts consumed before winning (touches whose action is a view,
    download, read or watch). Same columns as :func:`won_interactions`."""
    eng = Engine.for_workspace(ws)
    return _interactions(eng, eng.check_by(by), content_only=True)


@memo
def lead_sources(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Where contacts came from, and which sources bring the won deals.

    Returns
    -------
    DataFrame
        One row per (``[by,]`` lead source; ``unassigned`` when unknown), most won first.
        Columns: ``[by,] lead_source, contacts, won, lost, open, no_deal`` (int: contacts by
        best outcome), ``win_rate`` (won / (won + lost); NaN without a closed deal),
        ``share_of_won`` (of the group's won contacts; NaN without any).
    """
    import pandas as pd

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    gsel = f"{group_expr(by, 'p')} AS {by}, " if by else ""
    out = eng.query(
        f"""
        SELECT {gsel} {group_expr("lead_source", "p")} AS lead_source,
               {_OUTCOME_COUNTS}
        FROM {rollup(eng, "contact_groups")} p
        GROUP BY ALL
        """
    )
    gcols = group_cols(by)
    for col in ("contacts", "won", "lost", "open", "no_deal"):
        out[col] = out[col].astype("int64")
    closed = out["won"] + out["lost"]
    out["win_rate"] = (out["won"] / closed.where(closed > 0)).astype("float64")
    total = (
        out.groupby(gcols)["won"].transform("sum")
        if gcols
        else pd.Series(out["won"].sum(), index=out.index, dtype="int64")
    )
    out["share_of_won"] = (out["won"] / total.where(total > 0)).astype("float64")
    out = out.sort_values(
        [*gcols, "won", "contacts", "lead_source"],
        ascending=[*([True] * len(gcols)), False, False, True],
    )
    return ordered(out, [*gcols, *LEAD_SOURCE_COLUMNS])


@memo
def lost_reasons(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Why deals were lost (the objections met), counted per lost deal.

    Returns
    -------
    DataFrame
        One row per (``[by,]`` reason; ``not given`` when empty), most frequent first.
        Columns: ``[by,] lost_reason, lost_deals`` (int), ``share`` (of the group's lost
        deals).
    """
    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    gsel, ggrp = group_sql(by)
    out = eng.query(
        f"""
        SELECT {gsel} coalesce(nullif(trim(d.lost_reason), ''), 'not given') AS lost_reason,
               count(*) AS lost_deals
        FROM deals d {people_join(by, "d")}
        WHERE d.outcome = 'lost'
        GROUP BY ALL
        """
    )
    gcols = group_cols(by)
    out["lost_deals"] = out["lost_deals"].astype("int64")
    total = out.groupby(gcols)["lost_deals"].transform("sum") if gcols else out["lost_deals"].sum()
    out["share"] = (out["lost_deals"] / total).astype("float64")
    out = out.sort_values(
        [*gcols, "lost_deals", "lost_reason"], ascending=[*([True] * len(gcols)), False, True]
    )
    return ordered(out, [*gcols, *LOST_REASON_COLUMNS])


@memo
def won_summary(ws: EngineLike, by: str | None = "icp") -> pd.DataFrame:
    """One line per ICP (or persona, segment) on what its won deals look like.

    Returns
    -------
    DataFrame
        One row per group that has contacts (one row in all without ``by``). Columns:
        ``[by,] contacts, won_contacts, lost_contacts`` (int), ``win_rate`` (won / (won +
        lost)), ``won_deals`` (int), ``won_amount`` (float), ``median_days_to_close``
        (float; creation to close of won deals), ``top_interaction, top_content,
        top_lead_source, top_lost_reason`` (ids or text; empty when there is none).
    """
    from workbook.analytics.timing import time_to_close

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    gsel = f"{group_expr(by, 'p')} AS {by}, " if by else ""
    base = eng.query(
        f"""
        SELECT {gsel}
               coalesce(sum(p.contacts), 0)::BIGINT AS contacts,
               coalesce(sum(p.contacts) FILTER (p.outcome = 'won'), 0)::BIGINT AS won_contacts,
               coalesce(sum(p.contacts) FILTER (p.outcome = 'lost'), 0)::BIGINT AS lost_contacts
        FROM {rollup(eng, "contact_groups")} p
        {"GROUP BY ALL" if by else ""}
        """
    )
    gcols = group_cols(by)
    key = gcols if gcols else None
    closed = base["won_contacts"] + base["lost_contacts"]
    base["win_rate"] = (base["won_contacts"] / closed.where(closed > 0)).astype("float64")
    ttc = time_to_close(eng, by).rename(
        columns={
            "won_deals": "won_deals",
            "total_amount": "won_amount",
            "median_days": "median_days_to_close",
        }
    )[[*gcols, "won_deals", "won_amount", "median_days_to_close"]]
    out = base.merge(ttc, on=key, how="left") if key else base.join(ttc)
    out["won_deals"] = out["won_deals"].fillna(0).astype("int64")
    out["won_amount"] = out["won_amount"].fillna(0.0).astype("float64")

    def top(frame: pd.DataFrame, col: str, name: str, sort: str) -> None:
        nonlocal out
        if frame.empty:
            out[name] = ""
            return
        best = frame[frame[sort] > 0] if sort in frame else frame
        first = best.groupby(gcols, sort=False).head(1) if gcols else best.head(1)
        first = first[[*gcols, col]].rename(columns={col: name})
        out = (
            out.merge(first, on=gcols, how="left")
            if gcols
            else out.assign(**{name: first[name].iloc[0] if len(first) else ""})
        )
        out[name] = out[name].fillna("").astype(object)

    top(won_interactions(eng, by), "touchpoint", "top_interaction", "won_contacts")
    top(won_content(eng, by), "touchpoint", "top_content", "won_contacts")
    top(lead_sources(eng, by), "lead_source", "top_lead_source", "won")
    top(lost_reasons(eng, by), "lost_reason", "top_lost_reason", "lost_deals")
    for col in ("contacts", "won_contacts", "lost_contacts"):
        out[col] = out[col].astype("int64")
    out = out.sort_values(gcols) if gcols else out
    return ordered(out, [*gcols, *WON_SUMMARY_COLUMNS])
