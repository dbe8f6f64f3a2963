"""Lead scoring: how well the score separates won from lost, decile by decile."""

from __future__ import annotations

from typing import Any

from workbook.charts._base import BASE, finish, frame, is_empty, placeholder

__all__ = ["score_deciles"]


def score_deciles(data: Any, *, title: str = "Win rate by lead-score decile") -> Any:
    """Bars of the win rate in each score decile (1 = lowest scores, 10 = highest).

    Parameters
    ----------
    data
        :func:`workbook.analytics.score_deciles` output: one row per ``decile`` with
        ``win_rate`` (0-1, NaN without a closed deal), optionally ``contacts``.

    A useful score gives a staircase: higher deciles win more often.
    """
    import altair as alt

    if is_empty(data):
        return placeholder(title, "No scored contacts with a closed deal yet.")
    df = frame(
        data,
        "lead-score deciles",
        {"decile": (), "win_rate": ("won_rate", "rate", "conversion"), "contacts": ("n", "count")},
        optional=("contacts",),
    )
    # Deciles without a closed deal have no win rate (NaN): nothing to draw for them.
    df = df.dropna(subset=["win_rate"]).sort_values("decile")
    if df.empty:
        return placeholder(title, "No scored contacts with a closed deal yet.")
    df["decile"] = df["decile"].astype(int)
    tips = [
        alt.Tooltip("decile:O", title="Decile"),
        alt.Tooltip("win_rate:Q", title="Win rate", format=".0%"),
    ]
    if "contacts" in df.columns:
        tips.append(alt.Tooltip("contacts:Q", title="Contacts", format=","))
    base = alt.Chart(df).encode(
        x=alt.X("decile:O", title="Score decile (10 = highest scores)", axis=alt.Axis(labelAngle=0))
    )
    bars = base.mark_bar(color=BASE, cornerRadiusEnd=3).encode(
        y=alt.Y("win_rate:Q", title="Won", axis=alt.Axis(format="%")), tooltip=tips
    )
    text = base.mark_text(dy=-7, fontSize=11, color="#1F2328").encode(
        y="win_rate:Q", text=alt.Text("win_rate:Q", format=".0%")
    )
    top, bottom = float(df["win_rate"].iloc[-1]), float(df["win_rate"].iloc[0])
    ratio = f"{top / bottom:.1f} times" if bottom > 0 else "far more often than"
    subtitle = f"Top decile wins {top:.0%}, bottom decile {bottom:.0%}"
    description = (
        f"Win rate by lead-score decile, from {bottom:.0%} in decile {df['decile'].iloc[0]} "
        f"to {top:.0%} in decile {df['decile'].iloc[-1]} ({ratio} the lowest)."
    )
    return finish((bars + text).properties(width=520, height=260), title, description, subtitle)
