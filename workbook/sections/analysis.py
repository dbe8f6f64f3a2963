"""Report section for the Analyse phase: go wide, go deep on the objective that misses its
target (``gaps``).

The numbers are :func:`workbook.analytics.gaps` and :func:`workbook.analytics.drill`, each
with its standard definition in their docstrings: a component's **value** (a rate of
contacts, or the median days of finished stays), its **benchmark** (the same component
among the workspace's other personas pooled, or a target the consultant typed), its
**shortfall** (how far it falls short, in rate points or days) and the **contacts missed**
(the contacts who would have gone on had the component met its benchmark). The consultant's
findings that the data cannot see (interviews, workshops) join the wide list with their own
estimate of the contacts affected, marked as an estimate.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from workbook.charts.gaps import (
    TOP,
    chosen_label,
    deep_label,
    display_names,
    gap_rows,
    t_chart_spec,
)
from workbook.sections import (
    ReportContext,
    _Col,
    _Missing,
    _records,
    _section,
    _sheet,
    data_frame,
    html_from,
    svg_chart,
    table,
)

__all__ = ["gaps_section"]

_RATE_KINDS = ("conversion", "open", "click", "reply", "source")


def _fmt(ctx: ReportContext, kind: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    if kind in _RATE_KINDS:
        return ctx.percent(float(value))
    if kind == "time":
        return f"{ctx.number(float(value), 1)} days"
    return str(value)


def _shortfall(ctx: ReportContext, kind: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    if kind in _RATE_KINDS:
        return f"{float(value) * 100:+.1f} pts"
    return f"{float(value):+.1f} days"


#: The components the data can split (deep).
_DRILLABLE = ("conversion", "time", "open", "click", "reply")
#: Where a benchmark comes from, as the report says it.
_FROM = {
    "other groups": "other personas",
    "other sources": "other lead sources",
    "target": "target",
    "interview estimate": "interview (estimate)",
}


def _deep_phrase(part: str, dim: str, names: dict[str, str]) -> str:
    """A deep part as the contacts it is: "those who did not use Independent video reviews"."""
    if dim in ("weekday", "hour", "frequency", "subject"):
        return "those who " + deep_label(part, dim, names)
    if part.startswith("not "):
        return "those who did not use " + names.get(part[4:], part[4:])
    if dim == "touchpoint":
        return "those who used " + names.get(part, part)
    if dim == "lead_source":
        return "those who came from " + names.get(part, part)
    return f"those in the {dim} {names.get(part, part)}"


@_section("gaps", "Gaps: go wide, go deep")
def gaps_section(ws: Any, ctx: ReportContext) -> str:
    """The objective that misses its target; every component that could explain it, ranked
    (wide); the weakest split by what the data can split it by (deep); the consultant's
    findings; and the component the team will act on."""
    data = ctx.data
    analysis = data.analysis
    names = display_names(data)
    try:
        objective = ctx.analytics("gap_objective", analysis.objective)
    except _Missing:
        objective = None
    stage = objective["stage"] if objective else None
    try:
        wide = _records(ctx.analytics("gaps", stage=stage, targets=dict(analysis.targets) or None))
    except _Missing as missing:
        if not analysis.findings:
            raise
        wide, why_no_data = [], str(missing)
    else:
        why_no_data = ""
    rows = gap_rows(wide, list(analysis.findings), names)
    if not rows:
        raise _Missing(
            "No component falls short of its benchmark, and no finding from interviews has "
            "been added yet."
        )
    weakest = rows[0]
    # deep: the chosen component when the data can split it, else the weakest that can be
    drillable = [r for r in rows if r["kind"] in _DRILLABLE and r["source"] == "data"]
    target = next((r for r in drillable if r["component"] == analysis.chosen), None)
    target = target or (drillable[0] if drillable else None)
    deep: list[dict[str, Any]] = []
    if target is not None:
        deep = _records(ctx.analytics("drill", target["component"]))
        for d in deep:
            d["label"] = deep_label(str(d["part"]), str(d["dimension"]), names)
    chosen = chosen_label(analysis.chosen, rows)

    # the tables: on the page the first rows, in the spreadsheet every one
    shown = [r for r in rows if float(r["missed"] or 0) > 0][:12] or rows[:12]
    page_rows = [
        {
            "rank": r["rank"],
            "label": r["label"] + (" (chosen)" if r["component"] == analysis.chosen else ""),
            "from": _FROM.get(str(r["benchmark_from"]), str(r["benchmark_from"])),
            "value": _fmt(ctx, r["kind"], r["value"]),
            "benchmark": _fmt(ctx, r["kind"], r["benchmark"]),
            "shortfall": _shortfall(ctx, r["kind"], r["shortfall"]),
            "contacts": r["contacts"],
            "missed": r["missed"],
        }
        for r in shown
    ]
    wide_table = table(
        ctx,
        page_rows,
        [
            _Col("rank", "#", "int"),
            _Col("label", "Component"),
            _Col("value", "Value"),
            _Col("benchmark", "Benchmark"),
            _Col("from", "Benchmark from"),
            _Col("shortfall", "Short by"),
            _Col("contacts", "Contacts", "int"),
            _Col("missed", "Contacts missed", "float"),
        ],
    )
    sheet_rows = [
        {
            **r,
            "unit": "days" if r["kind"] == "time" else ("%" if r["kind"] in _RATE_KINDS else ""),
            "value_n": _sheet_value(r["kind"], r["value"]),
            "benchmark_n": _sheet_value(r["kind"], r["benchmark"]),
            "shortfall_n": _sheet_value(r["kind"], r["shortfall"]),
            "chosen": "yes" if r["component"] == analysis.chosen else "",
        }
        for r in rows
    ]
    ctx.table(
        _sheet("gaps", "wide"),
        data_frame(
            sheet_rows,
            [
                _Col("rank", "Rank", "int"),
                _Col("label", "Component"),
                _Col("component", "Component id"),
                _Col("source", "From"),
                _Col("value_n", "Value", "float"),
                _Col("benchmark_n", "Benchmark", "float"),
                _Col("shortfall_n", "Short by", "float"),
                _Col("unit", "Unit (% or days)"),
                _Col("benchmark_from", "Benchmark from"),
                _Col("contacts", "Contacts", "int", "contacts"),
                _Col("missed", "Contacts missed", "float", "contacts"),
                _Col("chosen", "Chosen to act on"),
            ],
        ),
    )
    deep_table = ""
    if target is not None and deep:
        kind = target["kind"]
        deep_rows = [
            {
                **d,
                "value_t": _fmt(ctx, kind, d["value"]),
                "benchmark_t": _fmt(ctx, kind, d["benchmark"]),
            }
            for d in deep
        ]
        deep_table = table(
            ctx,
            [d for d in deep_rows if float(d["missed"] or 0) > 0][:10] or deep_rows[:10],
            [
                _Col("label", "Part"),
                _Col("contacts", "Contacts", "int"),
                _Col("value_t", "Value"),
                _Col("benchmark_t", "Whole component"),
                _Col("missed", "Contacts missed", "float"),
            ],
        )
        ctx.table(
            _sheet("gaps", "deep"),
            data_frame(
                [
                    {
                        **d,
                        "value_n": _sheet_value(kind, d["value"]),
                        "benchmark_n": _sheet_value(kind, d["benchmark"]),
                    }
                    for d in deep
                ],
                [
                    _Col("dimension", "Split by"),
                    _Col("label", "Part"),
                    _Col("contacts", "Contacts", "int", "contacts"),
                    _Col("value_n", "Value (% or days)", "float"),
                    _Col("benchmark_n", "Whole component (% or days)", "float"),
                    _Col("missed", "Contacts missed", "float", "contacts"),
                ],
            ),
        )
    chart = ""
    if any(float(r["missed"] or 0) > 0 for r in rows):
        spec = t_chart_spec(rows, deep, target["label"] if target else "")
        alt = "Components by contacts missed: " + "; ".join(
            f"{r['label']} {float(r['missed']):,.0f}" for r in rows[:TOP]
        )
        chart = svg_chart(spec, ctx, alt=alt)
    meaning = _meaning(ctx, weakest, target, deep, chosen, names)
    findings = [
        {
            "name": f.name,
            "where": ", ".join(
                x
                for x in (
                    names.get(f.persona, "") if f.persona else "",
                    names.get(f.stage, "") if f.stage else "",
                )
                if x
            ),
            "contacts": ctx.number(f.contacts) if f.contacts is not None else "not estimated",
            "note": f.note,
            "chosen": analysis.chosen == f"finding:{f.id}",
        }
        for f in analysis.findings
    ]
    return html_from(
        "gaps.html.j2",
        objective=objective,
        current=_objective_value(ctx, objective),
        chart=Markup(chart),
        wide=Markup(wide_table),
        deep=Markup(deep_table),
        deep_title=target["label"] if target else "",
        meaning=meaning,
        findings=findings,
        chosen=chosen,
        why=analysis.why,
        no_data=why_no_data,
    )


def _sheet_value(kind: str, value: Any) -> float | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return round(float(value) * 100, 6) if kind in _RATE_KINDS else float(value)


def _objective_value(ctx: ReportContext, objective: dict[str, Any] | None) -> str:
    """ "5.8% against a target of 12%" for the objective analysed ("" when unmeasured)."""
    if objective is None or objective["current"] is None:
        return ""
    unit = objective["unit"] or ""

    def show(v: float) -> str:
        number = ctx.number(v, 1)
        return f"{number}%" if unit == "%" else f"{number} {unit}".strip()

    target = objective["target"]
    return show(objective["current"]) + (
        f" against a target of {show(float(target))}" if target is not None else ""
    )


def _meaning(
    ctx: ReportContext,
    weakest: dict[str, Any],
    target: dict[str, Any] | None,
    deep: list[dict[str, Any]],
    chosen: str | None,
    names: dict[str, str],
) -> list[str]:
    """What the numbers mean, in a few sentences."""
    out = []
    if weakest["source"] == "finding":
        out.append(
            f"The largest component is a finding from the interviews, {weakest['label']}: "
            f"we estimate it costs about {ctx.number(weakest['missed'])} contacts who would "
            "otherwise have gone on."
        )
    else:
        out.append(
            f"The weakest component is {weakest['label']}: "
            f"{_fmt(ctx, weakest['kind'], weakest['value'])} against "
            f"{_fmt(ctx, weakest['kind'], weakest['benchmark'])} "
            + (
                "(the target set for it)"
                if weakest["benchmark_from"] == "target"
                else f"among the {_FROM.get(str(weakest['benchmark_from']), 'others')}"
            )
            + f", which costs about {ctx.number(weakest['missed'])} of its "
            f"{ctx.number(weakest['contacts'])} contacts."
        )
    worst = next((d for d in deep if float(d["missed"] or 0) > 0), None)
    if target is not None and worst is not None:
        out.append(
            f"Drilled deeper into {target['label']}, the part that costs most is "
            f"{_deep_phrase(str(worst['part']), str(worst['dimension']), names)} "
            f"({ctx.number(worst['contacts'])} contacts): "
            f"{_fmt(ctx, target['kind'], worst['value'])} against "
            f"{_fmt(ctx, target['kind'], worst['benchmark'])} for all of the component's "
            "contacts."
        )
    if chosen is None:
        out.append("No component has been chosen to act on yet: pick one in the Analyse notebook.")
    return out
