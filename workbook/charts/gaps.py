"""Go wide, go deep: the T-shaped chart of a gap analysis.

The bar across the top is *wide*: the components that could explain the gap, most contacts
missed first, so the weakest stands at the left. The column under it is *deep*: the weakest
component split by what the data can split it by, most contacts missed first.
"""

from __future__ import annotations

from typing import Any

from workbook.charts._base import BASE, HIGHLIGHT, NEUTRAL, finish, frame, is_empty, placeholder

__all__ = [
    "TOP",
    "chosen_label",
    "component_label",
    "deep_label",
    "display_names",
    "gap_rows",
    "gap_t",
    "t_chart_spec",
]

#: How many components the T chart shows across, and parts down.
TOP = 8
#: Colours of the T chart as a plain spec: the weakest component, the other components from
#: the data, the consultant's findings (estimates), the deep parts.
_FINDING, _DEEP = NEUTRAL, "#56B4E9"

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


# ------------------------------------------- the consultant's findings and a plain spec


def gap_rows(
    wide: list[dict[str, Any]], findings: list[Any], names: dict[str, str]
) -> list[dict[str, Any]]:
    """The wide list: the data's components and the consultant's findings in one ranking by
    contacts missed (a finding's contacts are the consultant's estimate), rank 1 first.

    Each row keeps the analytics' fields and adds ``label`` (as a consultant reads it),
    ``source`` (``"data"`` or ``"finding"``) and ``rank``.
    """
    rows = [{**r, "label": component_label(r, names), "source": "data"} for r in wide]
    for f in findings:
        where = " ".join(
            part
            for part in (
                names.get(f.persona, f.persona).split(",")[0] + ":" if f.persona else "",
                f.name,
                f"({names.get(f.stage, f.stage)})" if f.stage else "",
            )
            if part
        )
        rows.append(
            {
                "component": f"finding:{f.id}",
                "kind": "finding",
                "stage": f.stage,
                "item": None,
                "group": f.persona or "all",
                "value": None,
                "benchmark": None,
                "benchmark_from": "interview estimate",
                "shortfall": None,
                "contacts": f.contacts,
                "missed": float(f.contacts or 0),
                "label": where,
                "source": "finding",
                "note": f.note,
            }
        )
    rows.sort(key=lambda r: -float(r.get("missed") or 0))
    for i, r in enumerate(rows, start=1):
        r["rank"] = i
    return rows


def display_names(data: Any) -> dict[str, str]:
    """Display names by id for a gap's labels: stages, touchpoints, personas, segments, and
    each A/B variant as ``"<experiment>:<variant>"`` -> ``"<test name>: <variant name>"``."""
    names = {s.id: s.name for s in data.stages}
    names.update({t.id: t.name for t in data.touchpoints})
    names.update({p.id: p.name for p in data.personas})
    names.update({s.id: s.name for s in data.segments})
    for e in data.measurement.experiments:
        names.update({f"{e.id}:{v.id}": f"{e.name}: {v.name}" for v in e.variants})
    return names


def deep_label(part: str, dimension: str, names: dict[str, str] | None = None) -> str:
    """A part of :func:`workbook.analytics.drill` as a consultant reads it: "did not use
    Independent video reviews", "used Pricing page", "came from Referrals", "segment: Over 50",
    "sent on Monday", "sent 06:00-08:59 UTC", "were sent 2 messages", "shown <variant>"."""
    names = names or {}
    if part.startswith("not "):
        return "did not use " + names.get(part[4:], part[4:])
    if dimension == "touchpoint":
        return "used " + names.get(part, part)
    if dimension == "lead_source":
        return "came from " + names.get(part, part)
    if dimension in ("weekday", "hour"):
        return "sent on " + part if dimension == "weekday" else "sent " + part
    if dimension == "frequency":
        return "were sent " + part
    if dimension == "subject":
        return "shown " + names.get(part, part)
    return f"{dimension.replace('_', ' ')}: {names.get(part, part).split(',')[0]}"


def chosen_label(chosen: str | None, rows: list[dict[str, Any]]) -> str | None:
    """The chosen component as a consultant reads it (``None`` when none is chosen)."""
    if not chosen:
        return None
    for r in rows:
        if r["component"] == chosen:
            return str(r["label"])
    return chosen  # a component the data no longer shows: its id says what it was


def t_chart_spec(
    rows: list[dict[str, Any]], deep: list[dict[str, Any]], deep_title: str
) -> dict[str, Any]:
    """The T-shaped chart as a Vega-Lite spec: the components across (most contacts missed
    first, so the weakest stands at the left), the weakest's split as a column under it."""
    across = [
        {
            "label": r["label"] + (" *" if r["source"] == "finding" else ""),
            "missed": round(float(r["missed"]), 1),
            "colour": "weakest"
            if i == 0
            else ("finding (estimate)" if r["source"] == "finding" else "from the CRM data"),
        }
        for i, r in enumerate([r for r in rows if float(r["missed"] or 0) > 0][:TOP])
    ]
    parts: list[dict[str, Any]] = [
        {
            "title": {"text": "Wide: every component, by contacts missed", "anchor": "start"},
            "width": max(360, 80 * len(across)),
            "height": 200,
            "data": {"values": across},
            "mark": {"type": "bar", "cornerRadiusEnd": 3},
            "encoding": {
                "x": {
                    "field": "label",
                    "type": "nominal",
                    "sort": None,
                    "title": None,
                    "axis": {"labelAngle": -30, "labelLimit": 220, "labelFontSize": 11},
                },
                "y": {"field": "missed", "type": "quantitative", "title": "Contacts missed"},
                "color": {
                    "field": "colour",
                    "type": "nominal",
                    "scale": {
                        "domain": ["weakest", "from the CRM data", "finding (estimate)"],
                        "range": [HIGHLIGHT, BASE, _FINDING],
                    },
                    "legend": {"title": None, "orient": "top"},
                },
            },
        }
    ]
    column = [
        {"label": d["label"], "missed": round(float(d["missed"]), 1)}
        for d in deep
        if float(d["missed"] or 0) > 0
    ][:TOP]
    if column:
        parts.append(
            {
                "title": {"text": f"Deep: {deep_title}", "anchor": "start"},
                "width": 320,
                "height": max(80, 26 * len(column)),
                "data": {"values": column},
                "layer": [
                    {"mark": {"type": "bar", "color": _DEEP, "cornerRadiusEnd": 3}},
                    {
                        "mark": {"type": "text", "align": "left", "dx": 4},
                        "encoding": {
                            "text": {"field": "missed", "type": "quantitative", "format": ",.0f"}
                        },
                    },
                ],
                "encoding": {
                    "y": {
                        "field": "label",
                        "type": "nominal",
                        "sort": None,
                        "title": None,
                        "axis": {"labelLimit": 320},
                    },
                    "x": {"field": "missed", "type": "quantitative", "title": "Contacts missed"},
                },
            }
        )
    return {"vconcat": parts, "spacing": 24, "resolve": {"scale": {"color": "independent"}}}
