"""Channels: engagement rate per channel against the reach threshold."""

from __future__ import annotations

from typing import Any

from workbook.charts._base import BASE, HIGHLIGHT, finish, frame, is_empty, placeholder

__all__ = ["channel_reach"]


def channel_reach(
    data: Any,
    *,
    threshold: float = 0.5,
    metric: str = "Open rate",
    title: str = "Channel engagement against the reach threshold",
) -> Any:
    """One bar per channel (its engagement rate), a rule at ``threshold``, weak channels flagged.

    Parameters
    ----------
    data
        :func:`workbook.analytics.channels` output: one row per ``channel`` with
        ``open_rate`` (0-1; also ``rate``), optionally ``contacts_sent`` and ``suggestion``
        (the other channel to use for a flagged one).
    threshold
        Keep it equal to the ``min_reach`` the analytics used (default 0.5). Below this
        rate, a channel reaches too few people: an open rate of 25% means three
        in four never saw the message, so suggest another channel for them.
    """
    import altair as alt
    import pandas as pd

    if is_empty(data):
        return placeholder(title, "No channel activity recorded yet.")
    df = frame(
        data,
        "channel reach",
        {
            "channel": (),
            "rate": ("open_rate", "engagement_rate", "reach_rate"),
            "contacts": ("contacts_sent", "sent", "n", "exposed"),
        },
        optional=("contacts",),
    )
    df["channel"] = df["channel"].astype(str)
    df["status"] = ["Below threshold" if r < threshold else "Reaches enough" for r in df["rate"]]
    df = df.sort_values("rate", ascending=False)
    order = list(df["channel"])
    base = alt.Chart(df).encode(y=alt.Y("channel:N", sort=order, title=None))
    bars = base.mark_bar(height={"band": 0.65}, cornerRadiusEnd=3).encode(
        x=alt.X("rate:Q", title=metric, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color(
            "status:N",
            scale=alt.Scale(domain=["Reaches enough", "Below threshold"], range=[BASE, HIGHLIGHT]),
            title=None,
        ),
        tooltip=[
            alt.Tooltip("channel:N", title="Channel"),
            alt.Tooltip("rate:Q", title=metric, format=".0%"),
        ],
    )
    text = base.mark_text(align="left", dx=5, fontSize=11, color="#1F2328").encode(
        x="rate:Q", text=alt.Text("rate:Q", format=".0%")
    )
    rule_df = pd.DataFrame({"threshold": [threshold], "label": [f"Threshold {threshold:.0%}"]})
    rule = (
        alt.Chart(rule_df)
        .mark_rule(color="#1F2328", strokeDash=[5, 4], strokeWidth=1.5)
        .encode(x="threshold:Q")
    )
    rule_text = (
        alt.Chart(rule_df)
        .mark_text(align="left", dx=4, dy=-6, fontSize=11, color="#1F2328", baseline="bottom")
        .encode(x="threshold:Q", text="label:N", y=alt.value(0))
    )
    chart = alt.layer(bars, text, rule, rule_text).properties(
        width=520, height=max(120, 36 * len(df))
    )
    weak = list(df.loc[df["status"] == "Below threshold", "channel"])
    advice = []
    if "suggestion" in df.columns:
        advice = [
            str(x) for x in df.loc[df["status"] == "Below threshold", "suggestion"] if x and x == x
        ]
    subtitle = (
        f"Below {threshold:.0%}: {', '.join(weak)}; reach those contacts another way"
        if weak
        else f"Every channel reaches at least {threshold:.0%} of its contacts"
    )
    description = (
        f"{metric} per channel: "
        + "; ".join(f"{c} {r:.0%}" for c, r in zip(df["channel"], df["rate"], strict=True))
        + f". {subtitle}."
        + "".join(f" {a}" for a in advice)
    )
    return finish(chart, title, description, [subtitle, *advice[:2]])
