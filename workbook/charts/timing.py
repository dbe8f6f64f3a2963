"""Time in stage: median days (bar) and the 90th percentile (tick) per stage."""

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
    placeholder,
    stage_display,
)

__all__ = ["time_in_stage"]


def time_in_stage(
    data: Any, *, stages: Sequence[str] | None = None, title: str = "Time in each stage"
) -> Any:
    """Median days in each stage as bars, the 90th percentile as a tick, in stage order.

    Parameters
    ----------
    data
        :func:`workbook.analytics.time_in_stage` output: one row per ``stage`` with
        ``median_days`` and optionally ``p90_days``, ``spells``, ``stage_name``,
        ``stage_index``. Stages with no finished stay (NaN) are left out.
    """
    import altair as alt

    if is_empty(data):
        return placeholder(title, "No stage changes recorded yet: time in stage needs CRM data.")
    df = frame(
        data,
        "time in stage",
        {
            "stage": (),
            "median_days": ("median", "days_median"),
            "p90_days": ("p90", "days_p90"),
            "contacts": ("n", "spells", "stays"),
        },
        optional=("p90_days", "contacts"),
    )
    df = stage_display(df).dropna(subset=["median_days"])
    if df.empty:
        return placeholder(title, "No finished stays in any stage yet.")
    order = ordered(df["stage"], stages)
    base = alt.Chart(df).encode(
        y=alt.Y(
            "stage:N", sort=order, title=None, axis=alt.Axis(labelFontSize=12, labelFontWeight=600)
        )
    )
    tooltip = [
        alt.Tooltip("stage:N", title="Stage"),
        alt.Tooltip("median_days:Q", title="Median days", format=".1f"),
    ]
    layers = [
        base.mark_bar(color=BASE, height={"band": 0.6}, cornerRadiusEnd=3).encode(
            x=alt.X("median_days:Q", title="Days in stage"), tooltip=tooltip
        ),
        base.mark_text(align="left", dx=5, fontSize=11, color="#1F2328").encode(
            x="median_days:Q", text=alt.Text("median_days:Q", format=".1f")
        ),
    ]
    subtitle = "Bars: median days"
    if "p90_days" in df.columns and df["p90_days"].notna().any():
        layers.append(
            base.mark_tick(color=HIGHLIGHT, thickness=3, size=26).encode(
                x="p90_days:Q",
                tooltip=[
                    *tooltip,
                    alt.Tooltip("p90_days:Q", title="90% leave within (days)", format=".1f"),
                ],
            )
        )
        subtitle += "; orange tick: 90% of contacts have moved on by then"
    slowest = df.sort_values("median_days", ascending=False).iloc[0]
    description = (
        "Median days in stage: "
        + "; ".join(f"{s} {d:.1f}" for s, d in zip(df["stage"], df["median_days"], strict=True))
        + f". Slowest: {slowest['stage']}."
    )
    chart = alt.layer(*layers).properties(width=520, height=max(140, 40 * len(df)))
    return finish(chart, title, description, subtitle)
