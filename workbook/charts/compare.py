"""Before and after: what moved between two snapshots (emotion scores, KPIs)."""

from __future__ import annotations

from typing import Any

from workbook.charts._base import BETTER, NEUTRAL, WORSE, finish, frame, is_empty, placeholder

__all__ = ["before_after"]


def _as_rows(moves: Any) -> Any:
    """A DataFrame from the store's ``Diff.emotion_moves`` (objects) or a table."""
    import pandas as pd

    if isinstance(moves, pd.DataFrame):
        return moves.copy()
    rows = []
    for m in moves or []:
        if isinstance(m, dict):
            rows.append(dict(m))
        else:
            rows.append(
                {
                    k: getattr(m, k, None)
                    for k in ("persona", "stage", "before", "after", "name", "kind")
                }
            )
    return pd.DataFrame(rows)


def before_after(moves: Any, *, title: str = "What moved between the two versions") -> Any:
    """Dumbbell chart: each moved item from its value before to its value after.

    Parameters
    ----------
    moves
        ``Diff.emotion_moves`` from the store (objects with ``persona``, ``stage``,
        ``before``, ``after``) or a DataFrame with those columns. KPI moves fit too: give a
        ``name`` column instead of ``persona``/``stage``. ``before``/``after`` may be
        missing (a score added or removed); those rows are listed in the description.
    """
    import altair as alt

    df = _as_rows(moves)
    if is_empty(df):
        return placeholder(title, "Nothing moved between the two versions.")
    emotion = "name" not in df.columns or df["name"].isna().all()
    if emotion:
        df = frame(df, "before/after", {"persona": (), "stage": (), "before": (), "after": ()})
        df["name"] = df["persona"].astype(str) + " · " + df["stage"].astype(str)
    df = frame(df, "before/after", {"name": (), "before": (), "after": ()})
    added = df[df["before"].isna() | df["after"].isna()]
    df = df.dropna(subset=["before", "after"]).copy()
    if df.empty:
        return placeholder(title, "Scores were added or removed, none changed.")
    df["before"] = df["before"].astype(float)
    df["after"] = df["after"].astype(float)
    df["change"] = df["after"] - df["before"]
    df["direction"] = ["Better" if c > 0 else ("Worse" if c < 0 else "Same") for c in df["change"]]
    df["name"] = df["name"].astype(str)
    colour = alt.Color(
        "direction:N",
        scale=alt.Scale(domain=["Better", "Worse", "Same"], range=[BETTER, WORSE, NEUTRAL]),
        title=None,
    )
    base = alt.Chart(df).encode(
        y=alt.Y("name:N", sort=None, title=None, axis=alt.Axis(labelLimit=280))
    )
    tips = [
        alt.Tooltip("name:N", title="Item"),
        alt.Tooltip("before:Q", title="Before"),
        alt.Tooltip("after:Q", title="After"),
        alt.Tooltip("change:Q", title="Change", format="+.2f"),
    ]
    # Emotion scores live on a fixed -2..+2 scale: keep it, so small moves do not look big.
    scale = alt.Scale(domain=[-2, 2]) if emotion else alt.Scale(zero=False)
    rule = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("before:Q", title="Before (hollow) and after (filled)", scale=scale),
        x2="after:Q",
        color=colour,
    )
    before = base.mark_point(size=110, filled=False, strokeWidth=2, color="#57606A").encode(
        x="before:Q", tooltip=tips
    )
    after = base.mark_point(size=130, filled=True, opacity=1).encode(
        x="after:Q", color=colour, tooltip=tips
    )
    chart = (rule + before + after).properties(width=520, height=max(100, 32 * len(df)))
    better, worse = int((df["change"] > 0).sum()), int((df["change"] < 0).sum())
    description = f"{better} items improved and {worse} got worse. " + "; ".join(
        f"{n} from {b:g} to {a:g}"
        for n, b, a in zip(df["name"], df["before"], df["after"], strict=True)
    )
    if len(added):
        description += f". {len(added)} added or removed"
    return finish(chart, title, description + ".", f"{better} better, {worse} worse")
