"""A/B tests: the rate of each variant with its confidence interval, and the decision."""

from __future__ import annotations

from typing import Any

from workbook.charts._base import BASE, HIGHLIGHT, finish, frame, is_empty, placeholder

__all__ = ["ab_test"]


def ab_test(
    data: Any,
    decisions: Any = None,
    *,
    experiment: str | None = None,
    decision: str | None = None,
    winner: str | None = None,
    title: str | None = None,
) -> Any:
    """Each variant's rate as a point with its confidence interval as a bar.

    Parameters
    ----------
    data
        :func:`workbook.analytics.experiment_variants` output: one row per ``variant``
        with ``rate`` (0-1), ``ci_low`` and ``ci_high``; optionally ``experiment``,
        ``experiment_name``, ``variant_name``, ``exposed``, ``converted``, ``is_control``.
        A hand-made table may carry ``winner`` (bool) and ``decision`` (text).
    decisions
        :func:`workbook.analytics.experiment_decisions` output; the row of this experiment
        gives the decision, its reason, and the variant to roll out.
    experiment
        Which experiment to draw when the table holds several (default: the first).
    decision
        The roll-out recommendation; shown as the subtitle (default: the table's).
    winner
        The variant to highlight (default: the table's ``winner`` column, if any).
    """
    import altair as alt
    import pandas as pd

    title = title or "A/B test: conversion by variant"
    if is_empty(data):
        return placeholder(title, "No variant has results yet.")
    df = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    if "experiment" in df.columns:
        experiment = experiment or str(df["experiment"].iloc[0])
        df = df[df["experiment"] == experiment]
        if df.empty:
            return placeholder(title, f"No results for experiment {experiment!r}.")
        if "experiment_name" in df.columns and title == "A/B test: conversion by variant":
            title = f"A/B test: {df['experiment_name'].iloc[0]}"
    if decisions is not None and not is_empty(decisions) and experiment is not None:
        row = decisions[decisions["experiment"] == experiment]
        if len(row):
            r = row.iloc[0]
            decision = decision or (f"Decision: {r['decision']}. {r['reason']}".strip())
            if winner is None and r["decision"] == "roll out":
                winner = str(r["best_variant"])
    if "variant_name" in df.columns:
        # Keep the ids to find the winner, show the names.
        names = dict(zip(df["variant"].astype(str), df["variant_name"].astype(str), strict=True))
        winner = names.get(winner, winner) if winner else winner
        df = df.drop(columns=["variant"])
    df = frame(
        df,
        "A/B test",
        {
            "variant": ("variant_name", "name"),
            "rate": ("conversion", "conversion_rate"),
            "ci_low": ("lower", "low"),
            "ci_high": ("upper", "high"),
        },
    )
    df["variant"] = df["variant"].astype(str)
    if winner is None and "winner" in df.columns and df["winner"].fillna(False).astype(bool).any():
        winner = str(df.loc[df["winner"].fillna(False).astype(bool), "variant"].iloc[0])
    if decision is None and "decision" in df.columns and df["decision"].notna().any():
        decision = str(df["decision"].dropna().iloc[0])
    df["role"] = ["Recommended" if v == winner else "Variant" for v in df["variant"]]
    tips = [
        alt.Tooltip("variant:N", title="Variant"),
        alt.Tooltip("rate:Q", title="Rate", format=".1%"),
        alt.Tooltip("ci_low:Q", title="95% CI from", format=".1%"),
        alt.Tooltip("ci_high:Q", title="95% CI to", format=".1%"),
    ]
    for col, name in (("exposed", "Exposed"), ("converted", "Converted")):
        if col in df.columns:
            tips.append(alt.Tooltip(f"{col}:Q", title=name, format=","))
    colour = alt.Color(
        "role:N",
        scale=alt.Scale(domain=["Variant", "Recommended"], range=[BASE, HIGHLIGHT]),
        title=None,
    )
    base = alt.Chart(df).encode(y=alt.Y("variant:N", sort=None, title=None))
    ci = base.mark_rule(strokeWidth=4, opacity=0.55).encode(
        x=alt.X("ci_low:Q", title="Rate, with 95% confidence interval", axis=alt.Axis(format="%")),
        x2="ci_high:Q",
        color=colour,
    )
    point = base.mark_point(filled=True, size=140, opacity=1).encode(
        x="rate:Q", color=colour, tooltip=tips
    )
    text = base.mark_text(dy=-14, fontSize=11, color="#1F2328").encode(
        x="rate:Q", text=alt.Text("rate:Q", format=".1%")
    )
    chart = (ci + point + text).properties(width=520, height=max(110, 56 * len(df)))
    description = "A/B test results: " + "; ".join(
        f"{v} {r:.1%} (95% CI {lo:.1%} to {hi:.1%})"
        for v, r, lo, hi in zip(df["variant"], df["rate"], df["ci_low"], df["ci_high"], strict=True)
    )
    if decision:
        description += f". {decision}"
    return finish(chart, title, description + ".", decision or "No decision recorded yet")
