"""Report sections for the Validate phase: the launch checklist (``launch``) and what moved
since the last measurement (``moved``).

``launch``: every process and channel tested before launch, who tested it, when, the result
(pass, fail, not run) and the evidence; the key processes and the touchpoints' channels that
no check covers are named, since the method asks for every one to be tested.

``moved``: :func:`workbook.monitor.monitor` (compare only, nothing recorded) on the
workspace's ``data/kpi-history.json``: a KPI **moved** when it changed by the workspace's
threshold or more, relative to its value before (``|after - before| >= threshold x
|before|``). Each moved KPI points back to the phase of the cycle to revisit
(:func:`workbook.monitor.revisit`).
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup

from workbook.sections import (
    ReportContext,
    _Col,
    _Missing,
    _section,
    _sheet,
    data_frame,
    html_from,
    table,
)

__all__ = ["launch_section", "moved_section"]

_RESULTS = {"pass": ("passed", "ok"), "fail": ("failed", "warn"), "not-run": ("not run", "info")}


@_section("launch", "Launch checklist")
def launch_section(ws: Any, ctx: ReportContext) -> str:
    """Each process and channel tested before launch, and what is still untested."""
    from workbook.model import CHANNELS

    data = ctx.data
    checks = data.validation.launch
    if not checks:
        raise _Missing(
            "No launch test has been planned yet: list every process and channel to test "
            "before launch in the Validate notebook."
        )
    processes = {p.id: p.name for p in data.processes}
    touchpoints = {t.id: t for t in data.touchpoints}
    rows = []
    for c in checks:
        tp = touchpoints.get(c.touchpoint) if c.touchpoint else None
        covers = ", ".join(
            x
            for x in (
                processes.get(c.process, c.process) if c.process else "",
                f"{tp.name} ({CHANNELS.get(tp.channel, tp.channel)})" if tp else "",
            )
            if x
        )
        rows.append(
            {
                "item": c.item,
                "covers": covers,
                "who": c.who or "to be agreed",
                "when": ctx.date(c.when, "medium") if c.when else "not dated",
                "date": c.when,
                "result": _RESULTS[c.result][0],
                "result_class": _RESULTS[c.result][1],
                "evidence": c.evidence,
            }
        )
    ctx.table(
        _sheet("launch"),
        data_frame(
            rows,
            [
                _Col("item", "Test"),
                _Col("covers", "Process or touchpoint"),
                _Col("who", "Who"),
                _Col("date", "When"),
                _Col("result", "Result"),
                _Col("evidence", "Evidence"),
            ],
        ),
    )
    counts = {k: sum(1 for c in checks if c.result == k) for k in _RESULTS}
    from workbook.monitor import untested

    no_process, no_channel = untested(data)
    ready = counts["fail"] == 0 and counts["not-run"] == 0 and not no_process and not no_channel
    return html_from(
        "launch.html.j2",
        rows=rows,
        total=len(checks),
        passed=counts["pass"],
        failed=counts["fail"],
        not_run=counts["not-run"],
        ready=ready,
        no_process=no_process,
        no_channel=no_channel,
        failures=[r for r in rows if r["result"] == "failed"],
    )


@_section("moved", "What moved since last time")
def moved_section(ws: Any, ctx: ReportContext) -> str:
    """The KPIs that moved since the last measurement, and the cycle phase each sends us back
    to."""
    from workbook.model import PHASES
    from workbook.monitor import HISTORY_FILE, monitor, revisit

    path = ctx.path
    if path is None or not ctx.has_crm_data():
        raise _Missing("No CRM data has been imported for this client yet: nothing to compare.")
    if not (path / "data" / HISTORY_FILE).is_file():
        raise _Missing(
            "The KPIs have not been measured after an import yet: from the first "
            "measurement on, this part shows what moved from one import to the next."
        )
    result = ctx.cached("monitor", lambda: monitor(path, record=False))
    threshold = ctx.percent(result.threshold, 0)
    if result.first:
        raise _Missing(
            "One measurement of the KPIs has been kept so far "
            f"({ctx.date(_date(result.measured_at), 'medium')}): the next import will be "
            "compared with it."
        )
    rows = []
    for m in result.moves:
        step = revisit(m, ctx.data)
        rows.append(
            {
                "name": m.name,
                "before": m.before,
                "after": m.after,
                "before_t": _value(ctx, m.before, m.unit),
                "after_t": _value(ctx, m.after, m.unit),
                "change": None if math.isinf(m.change) else m.change,
                "change_t": "new from 0" if math.isinf(m.change) else f"{m.change:+.0%}",
                "direction": step.direction,
                "phase": PHASES[step.phase],
                "reason": step.reason,
                "unit": m.unit,
            }
        )
    # the spreadsheet has every KPI compared: those that moved, then those that held
    held = [
        {
            "name": m.name,
            "unit": m.unit,
            "before": m.before,
            "after": m.after,
            "change": m.change,
            "direction": f"held within {threshold}",
            "phase": "",
            "reason": "",
        }
        for m in result.steady
    ]
    ctx.table(
        _sheet("moved"),
        data_frame(
            rows + held,
            [
                _Col("name", "KPI"),
                _Col("unit", "Unit"),
                _Col("before", "Before", "float"),
                _Col("after", "Now", "float"),
                _Col("change", "Change", "pct"),
                _Col("direction", "Better or worse"),
                _Col("phase", "Phase to revisit"),
                _Col("reason", "Why"),
            ],
        ),
    )
    # an objective, its KPI and a key result often measure the same number: one line each
    shown: dict[tuple[str, float, float], dict[str, Any]] = {}
    for m, r in zip(result.moves, rows, strict=True):
        key = (m.metric, round(m.before, 9), round(m.after, 9))
        if key in shown and m.metric:
            shown[key]["also"].append(r["name"])
        else:
            shown[key] = {**r, "also": []}
    lines = list(shown.values())
    for line in lines:
        if line["also"]:
            line["name"] = f"{line['name']} (also: {'; '.join(line['also'])})"
    moved_table = table(
        ctx,
        lines,
        [
            _Col("name", "KPI"),
            _Col("before_t", "Before"),
            _Col("after_t", "Now"),
            _Col("change_t", "Change"),
            _Col("phase", "Go back to"),
            _Col("reason", "Why"),
        ],
    )
    steady = [
        {
            "name": m.name,
            "before_t": _value(ctx, m.before, m.unit),
            "after_t": _value(ctx, m.after, m.unit),
            "change_t": f"{m.change:+.1%}",
        }
        for m in _one_per_number(result.steady)
    ]
    steady_table = table(
        ctx,
        steady,
        [
            _Col("name", "KPI"),
            _Col("before_t", "Before"),
            _Col("after_t", "Now"),
            _Col("change_t", "Change"),
        ],
    )
    phases = []
    for title in PHASES.values():
        n = sum(1 for r in lines if r["phase"] == title)
        if n:
            phases.append({"title": title, "n": n})
    return html_from(
        "moved.html.j2",
        since=ctx.date(_date(result.compared_with), "medium"),
        threshold=threshold,
        table=Markup(moved_table) if rows else "",
        steady=Markup(steady_table) if steady else "",
        n_steady=len(steady),
        n=len(lines),
        worse=sum(1 for r in lines if r["direction"] == "worse"),
        phases=phases,
    )


def _one_per_number(moves: list[Any]) -> list[Any]:
    """An objective, its KPI and a key result measuring the same number: the first only."""
    seen: set[tuple[str, float, float]] = set()
    out = []
    for m in moves:
        key = (m.metric, round(m.before, 9), round(m.after, 9))
        if m.metric and key in seen:
            continue
        seen.add(key)
        out.append(m)
    return out


def _date(text: str) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(text)


def _value(ctx: ReportContext, value: float, unit: str) -> str:
    if unit == "%":
        return f"{ctx.number(value, 1)}%"
    return f"{ctx.number(value, 1)} {unit}".strip()
