"""Channels: open, click and reply rates, and the channels that reach too few people."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbook.analytics._common import group_cols, group_expr, ordered, rollup
from workbook.analytics.engine import Engine, EngineLike, memo

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CHANNEL_COLUMNS", "DEFAULT_MIN_REACH", "channels"]

#: Below this open rate a channel is flagged: most people it is sent to never see it.
DEFAULT_MIN_REACH = 0.5

CHANNEL_COLUMNS = [
    "channel",
    "messages_sent",
    "contacts_sent",
    "contacts_opened",
    "contacts_clicked",
    "contacts_replied",
    "open_rate",
    "click_rate",
    "reply_rate",
    "unreached_rate",
    "flagged",
    "suggestion",
]


@memo
def channels(
    ws: EngineLike, by: str | None = None, *, min_reach: float = DEFAULT_MIN_REACH
) -> pd.DataFrame:
    """Open, click and reply rates of every channel that sends messages.

    Rates are per contact, because events do not say which message an open belongs to: the
    open rate is the share of contacts sent at least one message on the channel who opened
    at least one (a click or a reply counts as an open: the message was seen). Only
    channels with at least one ``sent`` touch are listed; web visits and the like have no
    open rate.

    Parameters
    ----------
    min_reach
        A channel whose open rate is below this is flagged: on its own it leaves too many
        people unreached (at 25 %, three in four never see the message).

    Returns
    -------
    DataFrame
        One row per (``[by,]`` channel), lowest open rate first. Columns: ``[by,] channel,
        messages_sent, contacts_sent, contacts_opened, contacts_clicked, contacts_replied``
        (int), ``open_rate, click_rate, reply_rate, unreached_rate`` (float, 0-1),
        ``flagged`` (bool), ``suggestion`` (text for a flagged channel naming the
        best-reaching other channel of the group, else empty).
    """
    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    gsel = f"{group_expr(by, 'c')} AS {by}, " if by else ""
    # The channel_groups rollup counts per group (every contact is in one): add them up.
    out = eng.query(
        f"""
        SELECT {gsel} c.channel,
               sum(c.messages_sent)::BIGINT AS messages_sent,
               sum(c.contacts_sent)::BIGINT AS contacts_sent,
               sum(c.contacts_opened)::BIGINT AS contacts_opened,
               sum(c.contacts_clicked)::BIGINT AS contacts_clicked,
               sum(c.contacts_replied)::BIGINT AS contacts_replied
        FROM {rollup(eng, "channel_groups")} c
        GROUP BY ALL
        HAVING sum(c.messages_sent)::BIGINT > 0
        """
    )
    gcols = group_cols(by)
    for col in (
        "messages_sent",
        "contacts_sent",
        "contacts_opened",
        "contacts_clicked",
        "contacts_replied",
    ):
        out[col] = out[col].astype("int64")
    sent = out["contacts_sent"]
    out["open_rate"] = (out["contacts_opened"] / sent).astype("float64")
    out["click_rate"] = (out["contacts_clicked"] / sent).astype("float64")
    out["reply_rate"] = (out["contacts_replied"] / sent).astype("float64")
    out["unreached_rate"] = 1.0 - out["open_rate"]
    out["flagged"] = (out["open_rate"] < min_reach).astype(bool)
    out["suggestion"] = ""
    keys = out.groupby(gcols[0], sort=False).groups.values() if gcols else [out.index]
    for idx in keys:
        part = out.loc[idx].sort_values(["open_rate", "channel"], ascending=[False, True])
        for i, row in part.iterrows():
            if not row["flagged"]:
                continue
            others = part[(part["channel"] != row["channel"]) & ~part["flagged"]]
            unreached = row["unreached_rate"]
            text = (
                f"{unreached:.0%} of contacts sent a message on {row['channel']} never opened one; "
            )
            if len(others):
                best = others.iloc[0]
                text += f"add {best['channel']} (opened by {best['open_rate']:.0%}) for them"
            else:
                text += "add another channel (phone, face to face, a different messaging app)"
            out.loc[i, "suggestion"] = text
    out = out.sort_values([*gcols, "open_rate", "channel"], kind="stable")
    return ordered(out, [*gcols, *CHANNEL_COLUMNS])
