"""Report sections for Design and build: the desired journey and the recommendation chain.

- ``to-be`` (The desired journey): per persona, the emotion by stage today (as-is) and in
  the desired journey (to-be), the **gap** being to-be minus as-is at each stage (positive
  where the desired journey feels better; a stage either map leaves unscored has none),
  drawn as two curves with the band between them shaded; then what changes at each stage
  and the recommendations the to-be map links there (:func:`workbook.journeymap.
  compare_journeys`).
- ``chain`` (From opportunity to metric): each agreed recommendation's opportunity,
  solution, owner and metric, with the metric's value when agreed, now, and expected; the
  **share of the expected effect achieved** is (now - value when agreed) / expected effect
  (:func:`workbook.analytics.chain.recommendation_chain`), the current value being the one
  the objectives section shows.

Both keep their numbers with ``ctx.table`` (the report's spreadsheet) and show a polite note
when there is nothing to show.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from workbook.sections import (
    ReportContext,
    _Col,
    _Missing,
    _section,
    _sheet,
    _value,
    data_frame,
    html_from,
    name_of,
    svg_chart,
)

__all__: list[str] = []


def _score(value: float | None) -> str:
    if value is None:
        return "not scored"
    return "0" if value == 0 else f"{value:+g}".replace("-", "\u2212")


def _gap_spec(stages: list[str], as_is: list[Any], to_be: list[Any], ctx: ReportContext) -> Any:
    """Two emotion curves over the stages and the band between them (Vega-Lite)."""
    theme = ctx.theme
    rows = [
        {"stage": s, "order": i, "as_is": a, "to_be": b}
        for i, (s, a, b) in enumerate(zip(stages, as_is, to_be, strict=True))
    ]
    long = [
        {"stage": r["stage"], "order": r["order"], "map": label, "emotion": r[key]}
        for r in rows
        for key, label in (("as_is", "As-is"), ("to_be", "To-be"))
        if r[key] is not None
    ]
    x = {
        "field": "stage",
        "type": "ordinal",
        "sort": stages,
        "title": None,
        "axis": {"labelAngle": 0, "labelLimit": 140},
    }
    y = {
        "type": "quantitative",
        "scale": {"domain": [-2, 2]},
        "axis": {"values": [-2, -1, 0, 1, 2], "title": "Emotion (-2 to +2)"},
    }
    both = [r for r in rows if r["as_is"] is not None and r["to_be"] is not None]
    colours = {"domain": ["As-is", "To-be"], "range": ["#8C959F", theme.primary_mark]}
    return {
        "width": 620,
        "height": 220,
        "layer": [
            {
                "data": {"values": both},
                "mark": {"type": "area", "color": theme.accent_mark, "opacity": 0.22},
                "encoding": {
                    "x": x,
                    "y": {**y, "field": "as_is"},
                    "y2": {"field": "to_be"},
                },
            },
            {
                "data": {"values": long},
                "mark": {"type": "line", "point": {"filled": True, "size": 60}, "strokeWidth": 3},
                "encoding": {
                    "x": x,
                    "y": {**y, "field": "emotion"},
                    "color": {
                        "field": "map",
                        "type": "nominal",
                        "scale": colours,
                        "legend": {"title": None, "orient": "top"},
                    },
                    "strokeDash": {
                        "field": "map",
                        "type": "nominal",
                        "scale": {"domain": ["As-is", "To-be"], "range": [[6, 4], [1, 0]]},
                        "legend": None,
                    },
                },
            },
        ],
    }


def _lead(name: str, comp: Any) -> str:
    """One sentence: how many stages the desired journey changes, where it closes the widest
    gap, and which changed stages have no recommendation behind them yet."""
    changed = [s for s in comp.stages if comp.changes_at(s.id)]
    first = name.split(",")[0]
    if not changed:
        return f"{first}'s desired journey is still a copy of the journey today."
    text = f"{first}'s desired journey changes {len(changed)} of the {len(comp.stages)} stages"
    gaps = [(g, i) for i, g in enumerate(comp.gaps) if g]
    if gaps:
        g, i = max(gaps, key=lambda t: (abs(t[0]), -t[1]))
        text += (
            f"; the widest gap is at {comp.stages[i].name}, from {_score(comp.as_is[i])} "
            f"today to {_score(comp.to_be[i])}"
        )
    text += "."
    unlinked = [s.name for s in changed if not comp.recommendations.get(s.id)]
    if unlinked:
        text += (
            f" No recommendation is linked yet to the change at {' and '.join(unlinked)}."
            if len(unlinked) <= 2
            else f" {len(unlinked)} changed stages have no recommendation linked yet."
        )
    else:
        text += " Every change has a recommendation behind it."
    return text


@_section("to-be", "The desired journey")
def to_be(ws: Any, ctx: ReportContext) -> str:
    """Per persona, the as-is and to-be emotion curves with the gap shaded, the changes and
    the recommendations that make them happen."""
    from workbook.journeymap import compare_journeys

    data = ctx.data
    journeys = [j for j in data.journeys if j.to_be is not None]
    if not journeys:
        raise _Missing(
            "No desired journey has been drafted yet: draft each persona's to-be map from its "
            "as-is map (step 6) and link each change to the recommendation behind it."
        )
    maps = []
    curve_rows: list[dict[str, Any]] = []
    change_rows: list[dict[str, Any]] = []
    for j in journeys:
        comp = compare_journeys(ctx.ws, j.persona, icp=j.icp)
        name = name_of(data.personas, j.persona)
        if j.icp:
            name += " (" + name_of(data.icps, j.icp) + ")"
        stages = [s.name for s in comp.stages]
        chart = svg_chart(
            _gap_spec(stages, list(comp.as_is), list(comp.to_be), ctx),
            ctx,
            alt=f"Emotion by stage for {name}, as-is and to-be",
        )
        rows = []
        for i, s in enumerate(comp.stages):
            recs = comp.recommendations.get(s.id, ())
            rows.append(
                {
                    "stage": s.name,
                    "as_is": _score(comp.as_is[i]),
                    "to_be": _score(comp.to_be[i]),
                    "gap": "" if comp.gaps[i] in (None, 0) else _score(comp.gaps[i]),
                    "groups": comp.changes_by_lane(s.id),
                    "feeling_only": bool(comp.changes_at(s.id)) and not comp.changes_by_lane(s.id),
                    "recs": [
                        {"text": r.text, "owner": r.owner, "status": r.status.replace("-", " ")}
                        for r in recs
                    ],
                }
            )
            curve_rows.append(
                {
                    "persona": name,
                    "stage": s.name,
                    "as_is": comp.as_is[i],
                    "to_be": comp.to_be[i],
                    "gap": comp.gaps[i],
                }
            )
            for c in comp.changes_at(s.id):
                change_rows.append(
                    {
                        "persona": name,
                        "stage": s.name,
                        "lane": c.lane_title,
                        "kind": c.kind,
                        "text": c.text,
                        "recs": "; ".join(r.text for r in recs),
                    }
                )
        maps.append({"name": name, "lead": _lead(name, comp), "chart": Markup(chart), "rows": rows})
    ctx.table(
        _sheet("to-be", "emotion"),
        data_frame(
            curve_rows,
            [
                _Col("persona", "Persona"),
                _Col("stage", "Stage"),
                _Col("as_is", "As-is emotion", "float", "-2 to +2"),
                _Col("to_be", "To-be emotion", "float", "-2 to +2"),
                _Col("gap", "Gap, to-be minus as-is", "float", "points"),
            ],
        ),
    )
    ctx.table(
        _sheet("to-be", "changes"),
        data_frame(
            change_rows,
            [
                _Col("persona", "Persona"),
                _Col("stage", "Stage"),
                _Col("lane", "Lane"),
                _Col("kind", "Change"),
                _Col("text", "What"),
                _Col("recs", "Made to happen by"),
            ],
        ),
    )
    return html_from("design_tobe.html.j2", maps=maps)


def _delta(ctx: ReportContext, value: float | None, unit: str) -> str:
    """A signed difference in the KPI's unit: ``+0.8 pts`` for a percentage, ``-2 days``."""
    if value is None or value != value:
        return "n/a"
    sign = "+" if value > 0 else ("\u2212" if value < 0 else "")
    digits = 0 if float(value).is_integer() else 1
    number = sign + ctx.number(abs(value), digits)
    return number + (" pts" if unit.strip() == "%" else (f" {unit}" if unit else ""))


_STATUS_CLASS = {
    "expected effect reached": "ok",
    "moving the right way": "ok",
    "not moved": "warn",
    "moved the wrong way": "warn",
}


def _nan(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


@_section("chain", "From opportunity to metric")
def chain(ws: Any, ctx: ReportContext) -> str:
    """Each agreed recommendation: opportunity, solution, owner, metric, and how far the
    metric moved since it was agreed."""
    from workbook.analytics.chain import recommendation_chain

    data = ctx.data
    target = ctx.engine() if ctx.has_crm_data() else ctx.data
    frame = ctx.cached("chain", lambda: recommendation_chain(target))
    records = frame.to_dict(orient="records")
    agreed = [r for r in records if r["status"] in ("agreed", "in-progress", "done")]
    proposed = len(records) - len(agreed)
    if not agreed:
        raise _Missing(
            "No recommendation has been agreed yet. Once the client agrees one, name the KPI it "
            "should move and the effect expected, and this section follows it."
        )
    rows = []
    for r in agreed:
        unit = str(r["unit"])
        share = _nan(r["share_achieved"])
        waiting = r["verdict"] == "no data since agreed"  # a movement would mean nothing
        rows.append(
            {
                "persona": name_of(data.personas, str(r["persona"])),
                "stage": name_of(data.stages, str(r["stage"])),
                "opportunity": r["opportunity"],
                "solution": r["solution"],
                "owner": r["owner"] or "to be agreed",
                "metric": r["kpi_name"] or "no KPI named",
                "agreed_on": ctx.date(r["agreed_on"], "medium") if r["agreed_on"] else "n/a",
                "then": _value(ctx, _nan(r["agreed_value"]), unit),
                "now": _value(ctx, _nan(r["current"]), unit),
                "expected": _value(ctx, _nan(r["expected_value"]), unit),
                "effect": ""
                if _nan(r["expected_effect"]) is None
                else _delta(ctx, _nan(r["expected_effect"]), unit),
                "moved": ""
                if waiting or _nan(r["moved"]) is None
                else _delta(ctx, _nan(r["moved"]), unit),
                "share": "" if share is None or waiting else ctx.percent(share, 0),
                "verdict": r["verdict"],
                "verdict_class": _STATUS_CLASS.get(str(r["verdict"]), "info"),
            }
        )
    ctx.table(
        _sheet("chain"),
        data_frame(
            [
                {
                    **r,
                    "persona_name": name_of(data.personas, str(r["persona"])),
                    "agreed_on": r["agreed_on"].isoformat() if r["agreed_on"] else None,
                }
                for r in agreed
            ],
            [
                _Col("persona_name", "Persona"),
                _Col("opportunity", "Opportunity"),
                _Col("solution", "Solution"),
                _Col("owner", "Owner"),
                _Col("kpi_name", "Metric"),
                _Col("unit", "Unit"),
                _Col("agreed_on", "Agreed on"),
                _Col("agreed_value", "Value when agreed", "float", "in the unit"),
                _Col("current", "Now", "float", "in the unit"),
                _Col("expected_effect", "Expected effect", "float", "in the unit"),
                _Col("moved", "Moved since agreed", "float", "in the unit"),
                _Col("share_achieved", "Share of expected effect achieved", "pct"),
                _Col("verdict", "Verdict"),
            ],
        ),
    )
    return html_from(
        "design_chain.html.j2",
        rows=rows,
        lead=_chain_lead(ctx, agreed, proposed),
    )


def _chain_lead(ctx: ReportContext, agreed: list[dict[str, Any]], proposed: int) -> str:
    """What the table means, in one or two sentences."""
    n = len(agreed)
    named = [r for r in agreed if r["kpi"]]
    verdicts = [str(r["verdict"]) for r in named]
    text = f"{n} recommendation{'s are' if n != 1 else ' is'} agreed"
    if named and len(named) == n:
        text += ", each with the metric it should move." if n > 1 else ", with its metric."
    elif named:
        it = "it" if len(named) == 1 else "they"
        text += f"; {len(named)} name{'s' if len(named) == 1 else ''} the metric {it} should move."
    else:
        text += ", none yet names the metric it should move."
    waiting = verdicts.count("no data since agreed")
    if named and waiting == len(named):
        lasts = [s.last_event for s in ctx.data.data_sources if s.last_event]
        last = ctx.date(max(lasts), "long") if lasts else "the last import"
        text += (
            f" The CRM data ends on {last}, before they were agreed, so no metric can have "
            "moved yet: import the next export and this table shows how far each has come."
        )
    else:
        good = verdicts.count("moving the right way") + verdicts.count("expected effect reached")
        bad = verdicts.count("moved the wrong way")
        if named:
            text += (
                f" {good} {'has' if good == 1 else 'have'} moved {'its' if good == 1 else 'their'} "
                "metric the right way"
                + (f", {bad} the wrong way (revisit them in the next Analyse round)" if bad else "")
                + "."
            )
    if proposed:
        text += f" {proposed} more {'is' if proposed == 1 else 'are'} proposed and not agreed yet."
    return text
