"""KPI and OKR progress: where each measure stands between its baseline and its target."""

from __future__ import annotations

from typing import Any

from workbook.charts._base import BASE, HIGHLIGHT, finish, frame, is_empty, placeholder

__all__ = ["kpi_progress"]


def _num(value: float, unit: str) -> str:
    text = f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    unit = unit.strip()
    return text + (unit if unit in ("%", "") else f" {unit}")


def kpi_progress(
    data: Any,
    *,
    kinds: tuple[str, ...] = ("kpi", "key_result"),
    title: str = "Progress against target",
) -> Any:
    """Bullet chart: for each KPI (or key result), progress from baseline to target.

    Parameters
    ----------
    data
        :func:`workbook.analytics.kpis` output, or any table with one row per measure:
        ``name``, ``baseline``, ``current``, ``target`` (also ``value`` for ``current``);
        optionally ``unit``, and ``kind`` (``objective``, ``kpi``, ``key_result``).
    kinds
        Which kinds of row to draw when the table has a ``kind`` column: by default the KPIs
        and key results (objectives usually repeat their KPI).

    Progress is ``(current - baseline) / (target - baseline)``, so measures in different
    units (days, %, counts) share one axis, and a target below the baseline (fewer days)
    works the same way. Measures without a target or a current value are listed, not drawn.
    """
    import altair as alt

    if is_empty(data):
        return placeholder(title, "No KPI has a target and a current value yet.")
    df = frame(
        data,
        "KPI progress",
        {
            "name": ("kpi", "text", "key_result"),
            "baseline": (),
            "current": ("value", "actual"),
            "target": (),
        },
    )
    if "kind" in df.columns:
        df = df[df["kind"].isin(kinds)]
    df = df.dropna(subset=["baseline", "current", "target"])
    df = df[df["target"] != df["baseline"]].copy()
    if df.empty:
        return placeholder(title, "No KPI has a baseline, a target and a current value yet.")
    df["name"] = df["name"].astype(str)
    df["progress"] = (df["current"] - df["baseline"]) / (df["target"] - df["baseline"])
    df["shown"] = df["progress"].clip(-0.25, 1.25)
    df["status"] = [
        "On target" if p >= 1 else ("Behind" if p < 0.5 else "On the way") for p in df["progress"]
    ]
    unit = df["unit"].fillna("").astype(str) if "unit" in df.columns else ""
    df["label"] = [
        f"{_num(c, u)} now, target {_num(t, u)}"
        for c, t, u in zip(
            df["current"], df["target"], unit if len(unit) else [""] * len(df), strict=True
        )
    ]
    base = alt.Chart(df).encode(
        y=alt.Y("name:N", sort=None, title=None, axis=alt.Axis(labelLimit=260))
    )
    track = base.mark_bar(color="#E5E7EB", height={"band": 0.6}).encode(
        x=alt.datum(0), x2=alt.datum(1)
    )
    bar = base.mark_bar(height={"band": 0.36}, cornerRadiusEnd=2).encode(
        x=alt.X(
            "shown:Q",
            title="Progress from baseline (0%) to target (100%)",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[-0.25, 1.25]),
        ),
        color=alt.Color(
            "status:N",
            scale=alt.Scale(
                domain=["On target", "On the way", "Behind"], range=[BASE, "#56B4E9", HIGHLIGHT]
            ),
            title=None,
        ),
        tooltip=[
            alt.Tooltip("name:N", title="Measure"),
            alt.Tooltip("baseline:Q", title="Baseline"),
            alt.Tooltip("current:Q", title="Now"),
            alt.Tooltip("target:Q", title="Target"),
            alt.Tooltip("progress:Q", title="Progress", format=".0%"),
        ],
    )
    target = base.mark_tick(color="#1F2328", thickness=2, size=26).encode(x=alt.datum(1))
    text = base.mark_text(align="left", x=530, fontSize=11, color="#1F2328").encode(text="label:N")
    chart = alt.layer(track, bar, target, text).properties(width=520, height=max(100, 38 * len(df)))
    done = int((df["progress"] >= 1).sum())
    description = (
        f"{done} of {len(df)} measures at or past target. "
        + "; ".join(
            f"{n} {p:.0%} of the way" for n, p in zip(df["name"], df["progress"], strict=True)
        )
        + "."
    )
    return finish(
        chart, title, description, f"{done} of {len(df)} at target; black tick: the target"
    )
