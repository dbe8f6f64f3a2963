"""Touchpoints: usage and lift by stage (heatmap), and attribution of won deals by model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbook.charts._base import finish, frame, is_empty, ordered, placeholder, stage_display

__all__ = ["attribution", "touchpoint_heatmap"]

_MODEL_NAMES = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "position_based": "Position based",
    "markov": "Markov removal effect",
}


def touchpoint_heatmap(
    data: Any,
    *,
    value: str = "uses",
    stages: Sequence[str] | None = None,
    title: str | None = None,
) -> Any:
    """Touchpoint (rows) by stage (columns), coloured by how often it is used or by its lift.

    Parameters
    ----------
    data
        :func:`workbook.analytics.touchpoint_usage` output for ``value="uses"`` (``stage``,
        ``touchpoint``, ``touches``) or :func:`workbook.analytics.touchpoint_lift` output for
        ``value="lift"`` (``lift`` = users' next-stage rate minus non-users', in rate
        points); ``touchpoint_name``, ``stage_name``, ``stage_index`` are used when present.
    value
        ``"uses"`` (sequential blues) or ``"lift"`` (diverging around 0: orange below, blue above).
    """
    import altair as alt

    if value not in ("uses", "lift"):
        raise ValueError("value must be 'uses' or 'lift'")
    title = title or ("Touchpoint use by stage" if value == "uses" else "Touchpoint lift by stage")
    if is_empty(data):
        return placeholder(title, "No touches recorded yet: import CRM events first.")
    df = frame(
        data,
        "touchpoint heatmap",
        {
            "touchpoint": (),
            "stage": (),
            "uses": ("touches", "count", "n"),
            "lift": ("lift_next",),
        },
        optional=("lift",) if value == "uses" else ("uses",),
    )
    df = stage_display(df)
    if "touchpoint_name" in df.columns:
        df["touchpoint"] = df["touchpoint_name"].where(
            df["touchpoint_name"].notna(), df["touchpoint"]
        )
    df["touchpoint"] = df["touchpoint"].astype(str)
    if value == "lift":
        df = df.dropna(subset=["lift"])
        if df.empty:
            return placeholder(title, "No stage has both users and non-users of a touchpoint yet.")
    order = ordered(df["stage"], stages)
    if value == "uses":
        color = alt.Color("uses:Q", title="Touches", scale=alt.Scale(scheme="blues"))
        df["label"] = [f"{int(u):,}" for u in df["uses"]]
        dark = "datum.uses > " + str(float(df["uses"].max()) * 0.55)
    else:
        # Lift is users' rate minus non-users' rate: 0 means no difference.
        span = max(abs(float(df["lift"].max())), abs(float(df["lift"].min())), 0.05)
        color = alt.Color(
            "lift:Q",
            title="Lift (rate points)",
            scale=alt.Scale(
                range=["#B35806", "#F7F7F7", "#08519C"], domainMid=0, domain=[-span, span]
            ),
            legend=alt.Legend(format="+.0%"),
        )
        # Whole rate points; a lift that rounds to nothing reads "0", never "-0".
        df["label"] = [
            "0 pts" if round(x * 100) == 0 else f"{round(x * 100):+d} pts" for x in df["lift"]
        ]
        dark = f"abs(datum.lift) > {span * 0.6}"
    tips = [alt.Tooltip("touchpoint:N", title="Touchpoint"), alt.Tooltip("stage:N", title="Stage")]
    if "uses" in df.columns:
        tips.append(alt.Tooltip("uses:Q", title="Touches", format=","))
    if "lift" in df.columns:
        tips.append(alt.Tooltip("lift:Q", title="Lift (rate points)", format="+.1%"))
    base = alt.Chart(df).encode(
        x=alt.X("stage:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("touchpoint:N", sort=None, title=None),
    )
    chart = base.mark_rect(stroke="#FFFFFF", strokeWidth=1.5).encode(
        color=color, tooltip=tips
    ) + base.mark_text(fontSize=11).encode(
        text="label:N", color=alt.condition(dark, alt.value("#FFFFFF"), alt.value("#1F2328"))
    )
    n_tp = df["touchpoint"].nunique()
    chart = chart.properties(width=max(100 * len(order), 300), height=max(26 * n_tp, 120))
    if value == "uses":
        top = df.sort_values("uses", ascending=False).head(3)
        description = "Most used touchpoints: " + "; ".join(
            f"{t} at {s}, {int(u):,} touches"
            for t, s, u in zip(top["touchpoint"], top["stage"], top["uses"], strict=True)
        )
        subtitle = "Darker: used more often"
    else:
        top = df.sort_values("lift", ascending=False).head(3)
        description = "Highest lift: " + "; ".join(
            f"{t} at {s}, {x * 100:+.0f} points"
            for t, s, x in zip(top["touchpoint"], top["stage"], top["lift"], strict=True)
        )
        subtitle = "Blue: users of the touchpoint went on more often; orange: less often"
    return finish(chart, title, description + ".", subtitle)


def attribution(
    data: Any,
    *,
    top: int | None = 10,
    title: str = "Won deals credited to each touchpoint, by model",
) -> Any:
    """Credit for won deals per touchpoint, one bar per attribution model, side by side.

    Parameters
    ----------
    data
        :func:`workbook.analytics.attribution` output (``touchpoint``, ``touchpoint_name``,
        ``model``, ``share``), or any long table with ``credit`` (share 0-1, or deals).
        Wide is accepted too: ``touchpoint`` plus one column per model (``first_touch``,
        ``last_touch``, ``linear``, ``markov``).
    top
        Show only the touchpoints with the most credit (averaged over the models).
    """
    import altair as alt
    import pandas as pd

    if is_empty(data):
        return placeholder(title, "No won deals yet: attribution needs at least one won deal.")
    df = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    wide = [c for c in df.columns if c in _MODEL_NAMES]
    if "model" not in df.columns and wide:
        df = df.melt(id_vars=["touchpoint"], value_vars=wide, var_name="model", value_name="credit")
    df = frame(
        df, "attribution", {"touchpoint": (), "model": (), "credit": ("share", "value", "weight")}
    )
    if "touchpoint_name" in df.columns:
        df["touchpoint"] = df["touchpoint_name"].where(
            df["touchpoint_name"].notna(), df["touchpoint"]
        )
    df["touchpoint"] = df["touchpoint"].astype(str)
    df["model"] = df["model"].map(lambda m: _MODEL_NAMES.get(str(m), str(m)))
    models = ordered(df["model"], list(_MODEL_NAMES.values()))
    # Touchpoints sorted by their mean credit over the models: the most credited on top.
    # Only the ``top`` most credited touchpoints: a slide with 26 groups of bars is unreadable.
    tp_order = list(
        df.groupby("touchpoint")["credit"].mean().sort_values(ascending=False).index.astype(str)
    )
    hidden = len(tp_order) - top if top and len(tp_order) > top else 0
    if hidden:
        tp_order = tp_order[:top]
        df = df[df["touchpoint"].isin(tp_order)]
    share = float(df["credit"].max()) <= 1.0
    fmt = ".0%" if share else ",.1f"
    chart = (
        alt.Chart(df)
        .mark_bar(cornerRadiusEnd=2)
        .encode(
            y=alt.Y("touchpoint:N", sort=tp_order, title=None),
            yOffset=alt.YOffset("model:N", sort=models),
            x=alt.X(
                "credit:Q",
                title="Share of won deals" if share else "Won deals credited",
                axis=alt.Axis(format=fmt),
            ),
            color=alt.Color("model:N", sort=models, title="Model"),
            tooltip=[
                alt.Tooltip("touchpoint:N", title="Touchpoint"),
                alt.Tooltip("model:N", title="Model"),
                alt.Tooltip("credit:Q", title="Credit", format=fmt),
            ],
        )
        .properties(width=520, height=max(160, 14 * len(models) * len(tp_order)))
    )
    lead = df.groupby("model")["credit"].idxmax()
    description = (
        "Attribution of won deals. Top touchpoint per model: "
        + "; ".join(f"{df.loc[i, 'model']}: {df.loc[i, 'touchpoint']}" for i in lead)
        + "."
    )
    subtitle = "Where models disagree, the touchpoint matters at one moment of the journey only"
    if hidden:
        subtitle += f"; the {len(tp_order)} most credited of {len(tp_order) + hidden} touchpoints"
    return finish(chart, title, description, subtitle)
