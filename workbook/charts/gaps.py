"""Go wide, go deep: the T-shaped chart of a gap analysis.

The bar across the top is *wide*: the components that could explain the gap, most contacts
missed first, so the weakest stands at the left. The column under it is *deep*: the weakest
component split by what the data can split it by, most contacts missed first.
"""

from __future__ import annotations

from typing import Any

from workbook.charts._base import BASE, HIGHLIGHT, NEUTRAL, finish, frame, is_empty, placeholder

__all__ = ["gap_t", "component_label"]

_KINDS = {
    "conversion": "going on from",
    "time": "days in",
    "open": "opens of",
    "click": "clicks of",
    "reply": "replies to",
    "source": "win rate of",
}


def component_label(row: Any, names: dict[str, str] | None = None) -> str:
    """A component as a consultant reads it: "Amara: going on from Awareness"."""
    names = names or {}
    what = row["stage"] if isinstance(row["stage"], str) else row["item"]
    text = f"{_KINDS.get(row['kind'], row['kind'])} {names.get(what, what)}"
    group = row["group"]
    return text if group == "all" else f"{names.get(group, group).split(',')[0]}: {text}"


def _name(part: str, names: dict[str, str] | None) -> str:
    """A deep part's display name; "not <touchpoint>" keeps its "not"."""
    names = names or {}
    if part.startswith("not "):
        return "not " + names.get(part[4:], part[4:])
    return names.get(part, part)


def gap_t(
    wide: Any,
    deep: Any = None,
    *,
    top: int = 8,
    names: dict[str, str] | None = None,
    title: str = "Where the gap comes from",
) -> Any:
    """The wide components as bars across, the weakest's deep split as a column under it.

    Parameters
    ----------
    wide
        :func:`workbook.analytics.gaps` output (``component, kind, stage, item, group,
        missed``; ``value``, ``benchmark`` for the tooltips).
    deep
        :func:`workbook.analytics.drill` output for the first component (``dimension, part,
        missed``), or None.
    top
        How many components to show across.
    names
        Display names for stage, touchpoint and persona ids.
    """
    import altair as alt

    if is_empty(wide):
        return placeholder(title, "No component to compare yet: the gap analysis needs CRM data.")
    w = frame(
        wide,
        "gap",
        {"component": (), "kind": (), "stage": (), "item": (), "group": (), "missed": ()},
    )
    w = w[w["missed"] > 0].head(top).copy()
    if w.empty:
        return placeholder(
            title, "Every component is at or above its benchmark: no gap to explain."
        )
    w["label"] = [component_label(r, names) for _, r in w.iterrows()]
    w["weakest"] = [i == 0 for i in range(len(w))]
    order = list(w["label"])
    across = (
        alt.Chart(w)
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            x=alt.X(
                "label:N",
                sort=order,
                title=None,
                axis=alt.Axis(labelAngle=-30, labelLimit=260, labelFontSize=11),
            ),
            y=alt.Y("missed:Q", title="Contacts the gap costs"),
            color=alt.condition(alt.datum.weakest, alt.value(HIGHLIGHT), alt.value(BASE)),
            tooltip=[
                alt.Tooltip("label:N", title="Component"),
                alt.Tooltip("missed:Q", title="Contacts missed", format=",.0f"),
            ],
        )
        .properties(width=max(360, 70 * len(w)), height=200, title="Wide: every component")
    )
    description = "Components by contacts missed: " + "; ".join(
        f"{lab} {m:,.0f}" for lab, m in zip(w["label"], w["missed"], strict=True)
    )
    parts: list[Any] = [across]
    if not is_empty(deep):
        d = frame(deep, "gap", {"dimension": (), "part": (), "missed": ()})
        d = d[d["missed"] > 0].head(top).copy()
        if not d.empty:
            d["label"] = [
                f"{_name(p, names)} ({dim.replace('_', ' ')})"
                for p, dim in zip(d["part"], d["dimension"], strict=True)
            ]
            column = (
                alt.Chart(d)
                .mark_bar(color=NEUTRAL, cornerRadiusEnd=3)
                .encode(
                    y=alt.Y("label:N", sort=list(d["label"]), title=None),
                    x=alt.X("missed:Q", title="Contacts missed"),
                    tooltip=[
                        alt.Tooltip("label:N", title="Part"),
                        alt.Tooltip("missed:Q", title="Contacts missed", format=",.0f"),
                    ],
                )
                .properties(
                    width=320,
                    height=max(80, 26 * len(d)),
                    title=f"Deep: {order[0]}",
                )
            )
            parts.append(column)
            description += ". Deep into the weakest: " + "; ".join(
                f"{lab} {m:,.0f}" for lab, m in zip(d["label"], d["missed"], strict=True)
            )
    chart = alt.vconcat(*parts, spacing=18).resolve_scale(color="independent")
    return finish(
        chart, title, description, "Bars across: each component; column: the weakest, split"
    )
