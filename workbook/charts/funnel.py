"""Funnel: contacts reaching each stage, the drop-off after each, the bottleneck highlighted.

The title says which funnel it is: contacts who *ever reached* each stage, or who reached
each stage *in order* (see :func:`workbook.analytics.funnel.funnel`). The bottleneck is the
stage after which most contacts are lost; a stage without data is labelled so, not drawn
as an empty bar that reads as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbook.charts._base import (
    BASE,
    HIGHLIGHT,
    finish,
    frame,
    is_empty,
    ordered,
    pct,
    placeholder,
    stage_display,
)

__all__ = ["funnel"]

TITLE = "Funnel: contacts reaching each stage"
TITLES = {
    "ever reached": "Funnel: contacts who ever reached each stage",
    "in order": "Funnel: contacts who reached each stage in order",
}


def funnel(
    data: Any,
    *,
    stages: Sequence[str] | None = None,
    title: str | None = None,
    kind: str | None = None,
) -> Any:
    """Horizontal bars of contacts per stage, in stage order, with the drop-off to the next.

    Parameters
    ----------
    data
        :func:`workbook.analytics.funnel` output (one group): ``stage``, ``contacts``,
        optionally ``stage_name``, ``stage_index``, ``conversion_to_next``,
        ``is_bottleneck``, ``has_data``. Hand-made tables may say ``reach``,
        ``conversion`` and ``bottleneck``; conversion is computed from the counts when
        absent.
    stages
        Stage order to enforce (ids or names as they appear in ``stage``).
    title
        The chart's title; by default it names the funnel's kind.
    kind
        ``"ever reached"`` or ``"in order"``; by default the analytics' label of the table
        (``data.attrs["funnel"]``), else a plain "reaching each stage".

    The bottleneck is the stage after which most contacts are lost (the largest drop-off in
    contacts, with the rate beside it), drawn in the highlight colour and named in the
    subtitle. Without a ``bottleneck`` column it is worked out here the same way.
    """
    import altair as alt

    if kind is None:
        kind = getattr(data, "attrs", {}).get("funnel")
    if title is None:
        title = TITLES.get(str(kind), TITLE)
    if is_empty(data):
        return placeholder(title, "No contacts yet: import CRM data to see the funnel.")
    df = frame(
        data,
        "funnel",
        {
            "stage": (),
            "reach": ("contacts", "entered", "reached"),
            "conversion": ("conversion_to_next", "rate_to_next"),
            "bottleneck": ("is_bottleneck",),
            "has_data": (),
        },
        optional=("conversion", "bottleneck", "has_data"),
    )
    df = stage_display(df)
    if not (df["reach"] > 0).any():
        return placeholder(title, "No contacts yet: import CRM data to see the funnel.")
    order = ordered(df["stage"], stages)
    df = df.set_index("stage").loc[order].reset_index()
    if "has_data" not in df.columns:
        df["has_data"] = True
    df["has_data"] = df["has_data"].fillna(True).astype(bool)
    if "conversion" not in df.columns:
        nxt = df["reach"].shift(-1)
        df["conversion"] = (nxt / df["reach"]).where(df["reach"] > 0)
    df["conversion"] = df["conversion"].astype("float64")
    df["drop_off"] = 1 - df["conversion"]
    # contacts who stop after the stage: its reach times the share who do not go on
    df["lost"] = (df["reach"] * df["drop_off"]).round()
    if "bottleneck" not in df.columns:
        lost = df["lost"].iloc[:-1] if len(df) > 1 else df["lost"].iloc[:0]
        worst = lost.idxmax() if (lost > 0).any() else None
        df["bottleneck"] = [i == worst for i in range(len(df))]
    df["bottleneck"] = df["bottleneck"].fillna(False).astype(bool)
    df["role"] = df["bottleneck"].map({True: "Bottleneck", False: "Stage"})
    df["label"] = [
        (f"{int(r):,}" if has else "no data")
        + (f"  ·  {pct(c)} go on" if c == c and c is not None and i < len(df) - 1 else "")
        for i, (r, c, has) in enumerate(
            zip(df["reach"], df["conversion"], df["has_data"], strict=True)
        )
    ]
    base = alt.Chart(df).encode(
        y=alt.Y(
            "stage:N", sort=None, title=None, axis=alt.Axis(labelFontSize=12, labelFontWeight=600)
        ),
    )
    bars = base.mark_bar(cornerRadiusEnd=3, height={"band": 0.7}).encode(
        x=alt.X("reach:Q", title="Contacts"),
        color=alt.Color(
            "role:N",
            scale=alt.Scale(domain=["Stage", "Bottleneck"], range=[BASE, HIGHLIGHT]),
            legend=alt.Legend(title=None),
        ),
        tooltip=[
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("reach:Q", title="Contacts", format=","),
            alt.Tooltip("conversion:Q", title="Go on to next stage", format=".0%"),
            alt.Tooltip("drop_off:Q", title="Drop off", format=".0%"),
        ],
    )
    labels = base.mark_text(align="left", dx=6, fontSize=11.5, color="#1F2328").encode(
        x=alt.X("reach:Q"), text="label:N"
    )
    chart = (bars + labels).properties(width=520, height=max(140, 42 * len(df)))
    bn = df[df["bottleneck"]]
    subtitle = None
    description = ("Funnel" + (f" ({kind})" if kind in TITLES else "") + ": ") + "; ".join(
        f"{s} {int(r):,} contacts" if has else f"{s} no data"
        for s, r, has in zip(df["stage"], df["reach"], df["has_data"], strict=True)
    )
    if len(bn):
        b = bn.iloc[0]
        pos = df.index[df["stage"] == b["stage"]][0]
        after = df["stage"].iloc[pos + 1] if pos + 1 < len(df) else "the next stage"
        subtitle = f"Biggest drop-off: {b['stage']} to {after}"
        if b["lost"] == b["lost"]:
            subtitle += f", {int(b['lost']):,} contacts stop"
        if b["conversion"] == b["conversion"]:
            subtitle += f" ({pct(b['conversion'])} go on)"
        description += f". {subtitle}."
    return finish(chart, title, description, subtitle)
