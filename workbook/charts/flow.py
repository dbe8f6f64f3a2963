"""Stage-to-stage movement ("pool to pool"): a heatmap and a flow diagram, moves back visible,
and the stays a deal's close ended drawn as moves into the end states Won and Lost."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbook.analytics.movement import LOST, WON
from workbook.charts._base import BASE, HIGHLIGHT, finish, frame, is_empty, ordered, placeholder

__all__ = ["flow_diagram", "transition_heatmap"]

#: The end states, after the stages (Okabe-Ito bluish green for a win; a dark grey for a loss,
#: 6:1 on white).
_ENDS = {"Won": "#009E73", "Lost": "#57606A"}

_COLUMNS = {
    "from_stage": ("from", "source", "stage"),
    "to_stage": ("to", "target", "next_stage"),
    "count": ("moves", "n", "transitions"),
}


def _prepare(
    data: Any, stages: Sequence[str] | None, chart: str
) -> tuple[Any, list[str], list[str]]:
    """The moves with names, positions and a direction; the stages in order; the end states
    present (``Won``, ``Lost``: rows whose ``to_stage`` is :data:`~workbook.analytics.WON`
    or :data:`~workbook.analytics.LOST`, placed after every stage)."""
    df = frame(data, chart, _COLUMNS, optional=("share",))
    df = df[df["count"] > 0].copy()
    to = df["to_stage"].astype(str)
    end = to.map({WON: "Won", LOST: "Lost"})
    # Names (not ids) on the chart; the workspace's stage index (not the alphabet) for order.
    for side in ("from", "to"):
        name = f"{side}_stage_name"
        if name in df.columns:
            df[f"{side}_stage"] = df[name].where(df[name].notna(), df[f"{side}_stage"])
        df[f"{side}_stage"] = df[f"{side}_stage"].astype(str)
    df["end"] = end.where(end.notna(), "")
    df.loc[df["end"] != "", "to_stage"] = df["end"]
    moves = df[df["end"] == ""]
    if "from_index" in df.columns and "to_index" in df.columns and not stages:
        pairs = sorted(
            set(zip(df["from_index"], df["from_stage"], strict=True))
            | set(zip(moves["to_index"], moves["to_stage"], strict=True))
        )
        stages = [name for _, name in pairs]
    order = ordered(list(df["from_stage"]) + list(moves["to_stage"]), stages)
    ends = [e for e in _ENDS if e in set(df["end"])]
    pos = {s: i for i, s in enumerate([*order, *ends])}
    df["from_index"] = df["from_stage"].map(pos)
    df["to_index"] = df["to_stage"].map(pos)
    df["direction"] = [
        e or ("Back" if b < a else ("Stay" if a == b else "Forward"))
        for a, b, e in zip(df["from_index"], df["to_index"], df["end"], strict=True)
    ]
    if "share" not in df.columns:
        totals = df.groupby("from_stage")["count"].transform("sum")
        df["share"] = df["count"] / totals
    return df.drop(columns="end"), order, ends


def _closes(df: Any) -> str:
    """ "N stays ended in a won deal, M in a lost one", or "" without a close."""
    won = int(df.loc[df["direction"] == "Won", "count"].sum())
    lost = int(df.loc[df["direction"] == "Lost", "count"].sum())
    if not won and not lost:
        return ""
    return f"{won:,} stays ended in a won deal, {lost:,} in a lost one"


def transition_heatmap(
    data: Any, *, stages: Sequence[str] | None = None, title: str = "Stage-to-stage movement"
) -> Any:
    """Heatmap of moves from each stage (rows) to the next stage entered (columns), and of
    the stays a deal's close ended (the columns Won and Lost, after the stages).

    Parameters
    ----------
    data
        :func:`workbook.analytics.transitions` output: one row per (``from_stage``,
        ``to_stage``) with ``moves`` (or ``count``); optionally ``share`` (of moves out of
        ``from_stage``; computed when absent), the ``*_stage_name`` and ``*_index`` columns.
        A ``to_stage`` of :data:`~workbook.analytics.WON` or :data:`~workbook.analytics.LOST`
        is a close.
    stages
        Stage order; default the order of appearance.

    Cells below the diagonal are moves back to an earlier stage: they get a highlight
    outline, and the subtitle counts them.
    """
    import altair as alt

    if is_empty(data):
        return placeholder(title, "No stage changes recorded yet.")
    df, order, ends = _prepare(data, stages, "transition heatmap")
    if df.empty:
        return placeholder(title, "No stage changes recorded yet.")
    df["label"] = [f"{c:,}" for c in df["count"]]
    base = alt.Chart(df).encode(
        x=alt.X(
            "to_stage:N",
            sort=[*order, *ends],
            title="To stage, or the deal's close",
            axis=alt.Axis(labelAngle=0, orient="top"),
        ),
        y=alt.Y("from_stage:N", sort=order, title="From stage"),
    )
    cells = base.mark_rect(strokeWidth=2.5).encode(
        color=alt.Color(
            "share:Q",
            title="Share of moves out",
            scale=alt.Scale(scheme="blues"),
            legend=alt.Legend(format=".0%"),
        ),
        stroke=alt.Stroke(
            "direction:N",
            scale=alt.Scale(
                domain=["Forward", "Stay", "Back", *_ENDS],
                range=["#FFFFFF", "#FFFFFF", HIGHLIGHT, "#FFFFFF", "#FFFFFF"],
            ),
            legend=alt.Legend(title="Move"),
        ),
        tooltip=[
            alt.Tooltip("from_stage:N", title="From"),
            alt.Tooltip("to_stage:N", title="To"),
            alt.Tooltip("count:Q", title="Moves", format=","),
            alt.Tooltip("share:Q", title="Share of moves out", format=".0%"),
        ],
    )
    text = base.mark_text(fontSize=11.5).encode(
        text="label:N",
        color=alt.condition("datum.share > 0.5", alt.value("#FFFFFF"), alt.value("#1F2328")),
    )
    side = max(64 * len(order), 200)
    back = int(df.loc[df["direction"] == "Back", "count"].sum())
    subtitle = (
        f"{back:,} moves back to an earlier stage (outlined)"
        if back
        else "No moves back to an earlier stage"
    )
    closes = _closes(df)
    if closes:
        subtitle += f"; {closes}"
    n_moves = int(df.loc[~df["direction"].isin(list(_ENDS)), "count"].sum())
    description = (
        f"Heatmap of {n_moves:,} stage-to-stage moves across {len(order)} stages. {subtitle}."
    )
    width = max(64 * (len(order) + len(ends)), 200)
    return finish((cells + text).properties(width=width, height=side), title, description, subtitle)


def flow_diagram(
    data: Any,
    *,
    stages: Sequence[str] | None = None,
    title: str = "How contacts move between stages",
) -> Any:
    """Arcs between stages laid out left to right: forward moves above, moves back below.

    Same input as :func:`transition_heatmap`. Arc width is the number of moves; moves back
    use the highlight colour so they cannot be missed. Staying in a stage is not drawn. The
    stays a deal's close ended go to the end states Won (above) and Lost (below), drawn
    after the last stage.
    """
    import altair as alt
    import pandas as pd

    if is_empty(data):
        return placeholder(title, "No stage changes recorded yet.")
    df, order, ends = _prepare(data, stages, "flow diagram")
    df = df[df["direction"] != "Stay"]
    if df.empty:
        return placeholder(title, "No stage changes recorded yet.")
    # Each arc is three points (start, raised middle, end) drawn with basis interpolation:
    # a smooth curve, higher for longer jumps, above the axis forward and below it back.
    rows = []
    for i, r in enumerate(df.itertuples(index=False)):
        span = abs(r.to_index - r.from_index)
        lift = (0.6 + 0.45 * span) * (1 if r.direction in ("Forward", "Won") else -1)
        mid = (r.from_index + r.to_index) / 2
        label = f"{r.from_stage} → {r.to_stage}"
        for k, (x, y) in enumerate(((r.from_index, 0.0), (mid, lift), (r.to_index, 0.0))):
            rows.append(
                {
                    "arc": i,
                    "k": k,
                    "x": x,
                    "y": y,
                    "count": int(r.count),
                    "share": r.share,
                    "direction": r.direction,
                    "move": label,
                }
            )
    arcs = pd.DataFrame(rows)
    points = [*order, *ends]
    nodes = pd.DataFrame({"stage": points, "x": range(len(points)), "y": 0.0})
    xscale = alt.Scale(domain=[-0.5, len(points) - 0.5])
    ymax = max(1.2, float(arcs["y"].abs().max()) + 0.3)
    yscale = alt.Scale(domain=[-ymax, ymax])
    lines = (
        alt.Chart(arcs)
        .mark_line(interpolate="basis", strokeCap="round", opacity=0.75)
        .encode(
            x=alt.X("x:Q", scale=xscale, axis=None),
            y=alt.Y("y:Q", scale=yscale, axis=None),
            detail="arc:N",
            order="k:Q",
            strokeWidth=alt.StrokeWidth(
                "count:Q", scale=alt.Scale(range=[1.5, 16]), legend=alt.Legend(title="Moves")
            ),
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(
                    domain=["Forward", "Back", *ends],
                    range=[BASE, HIGHLIGHT, *(_ENDS[e] for e in ends)],
                ),
                legend=alt.Legend(title="Move"),
            ),
            tooltip=[
                alt.Tooltip("move:N", title="Move"),
                alt.Tooltip("count:Q", title="Moves", format=","),
            ],
        )
    )
    dots = (
        alt.Chart(nodes)
        .mark_circle(size=260, color="#1F2328", opacity=1)
        .encode(x=alt.X("x:Q", scale=xscale), y=alt.Y("y:Q", scale=yscale))
    )
    names = (
        alt.Chart(nodes)
        .mark_text(dy=22, fontSize=12, fontWeight=600, color="#1F2328")
        .encode(x=alt.X("x:Q", scale=xscale), y=alt.Y("y:Q", scale=yscale), text="stage:N")
    )
    chart = (lines + dots + names).properties(width=max(520, 120 * len(points)), height=320)
    fwd = int(df.loc[df["direction"] == "Forward", "count"].sum())
    back = int(df.loc[df["direction"] == "Back", "count"].sum())
    subtitle = f"{fwd:,} moves forward (above), {back:,} moves back (below)"
    closes = _closes(df)
    if closes:
        subtitle += f"; {closes}"
    top = df.sort_values("count", ascending=False).head(3)
    description = (
        f"Flow diagram of moves between {len(order)} stages and into a deal's close: "
        f"{subtitle}. Largest: "
        + "; ".join(
            f"{a} to {b} {c:,}"
            for a, b, c in zip(top["from_stage"], top["to_stage"], top["count"], strict=True)
        )
        + "."
    )
    return finish(chart, title, description, subtitle)
