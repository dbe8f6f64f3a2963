"""Analyse form: go wide, go deep on the objective that misses its target.

*Show the gap* draws the T chart and the ranking for the objective picked (the first that
misses its target when none is picked): every component the CRM data can see
(:func:`workbook.analytics.gaps`) with the consultant's own findings among them, and the
weakest (or the chosen) component split by what the data can split it by
(:func:`workbook.analytics.drill`). The consultant adds what the data cannot see (interview
findings: name, stage, persona, note and their own estimate of the contacts affected) and
marks the one component the team will act on, with why. Everything is kept in the
workspace's ``analysis`` block, which the report's gap section reads.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbook.charts.gaps import TOP, deep_label, display_names, gap_rows, t_chart_spec
from workbook.forms._binding import FieldSpec, Form
from workbook.forms._header import keep_header_current
from workbook.forms._parts import SafeListEditor, heading
from workbook.model import GapFinding

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["FINDING_FIELDS", "form", "gap_view"]

_RATES = ("conversion", "open", "click", "reply", "source")
#: The components the data can split (deep).
_DRILLABLE = ("conversion", "time", "open", "click", "reply")


def _stage_options(data: Any) -> list[tuple[str, Any]]:
    return [("(any stage)", None)] + [(s.name, s.id) for s in data.stages]


def _persona_options(data: Any) -> list[tuple[str, Any]]:
    return [("(every persona)", None)] + [(p.name, p.id) for p in data.personas]


def _objective_options(data: Any) -> list[tuple[str, Any]]:
    return [("(the first that misses its target)", None)] + [
        (o.title, o.id) for o in data.objectives
    ]


FINDING_FIELDS = [
    FieldSpec("name", "Finding", placeholder="WhatsApp questions after 9 pm wait until morning"),
    FieldSpec("stage", "Stage", "choice", options=_stage_options),
    FieldSpec("persona", "Persona", "choice", options=_persona_options),
    FieldSpec("contacts", "Contacts it costs (estimate)", "number", placeholder="60"),
    FieldSpec("note", "What we heard", "textarea", placeholder="7 of 12 interviewees..."),
]


def _value(kind: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    if kind in _RATES:
        return f"{float(value):.1%}"
    return f"{float(value):.1f} days"


#: The components whose benchmark a typed target can replace.
_TARGETED = ("conversion", "time", "open", "click", "reply", "source")


def _parse_target(component: str, text: str) -> float:
    """A typed target as the analytics compare it: a rate 0-1 ("32%", "32" or "0.32"),
    days as typed. Raises ValueError saying what to type."""
    kind = component.partition(":")[0]
    raw = text.strip().rstrip("%").strip().replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a number: type 32% for a rate, or a number of days"
        ) from None
    if value < 0 or value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text!r}: a target is a number from 0 up")
    if kind == "time":
        return value
    if text.strip().endswith("%") or value > 1:
        value /= 100
    if value > 1:
        raise ValueError(f"{text!r}: a rate is at most 100%")
    return value


def _target_text(component: str, value: float) -> str:
    return f"{value:g} days" if component.startswith("time:") else f"{value:.1%}"


def _unit(unit: str | None) -> str:
    return "%" if unit == "%" else (f" {html.escape(unit)}" if unit else "")


def _table(headers: list[str], rows: list[list[Any]], text: int = 1) -> str:
    """A small escaped table: the first ``text`` columns text, the others numbers
    (right-aligned)."""

    def cell(tag: str, value: Any, first: bool) -> str:
        align = "left" if first else "right"
        style = f"padding:3px 10px;text-align:{align};border-bottom:1px solid #E1E4E8"
        return f'<{tag} style="{style}">{html.escape(str(value))}</{tag}>'

    head = "".join(cell("th", h, i < text) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", c, i < text) for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return (
        '<table class="wb-gap-table" style="border-collapse:collapse;font-size:13px">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def gap_view(ws: OpenWorkspace) -> tuple[str, list[dict[str, Any]]]:
    """The gap for the workspace's objective as HTML (sentence, T chart, tables), and the
    ranked rows (data components and findings) it shows."""
    from workbook.analytics import Engine
    from workbook.exceptions import WorkbookError

    eng = None
    problem = ""
    if not (ws.path / "data" / "manifest.json").is_file():
        problem = "No CRM data is imported yet (step 5): only the findings are listed."
    else:
        try:
            eng = Engine.for_workspace(ws)
        except WorkbookError as exc:
            problem = f"The CRM data could not be read: {exc.message}"
    try:
        return _gap_view(ws, eng, problem)
    finally:
        if eng is not None:
            eng.close()


def _gap_view(ws: OpenWorkspace, eng: Any, problem: str) -> tuple[str, list[dict[str, Any]]]:
    from workbook.analytics import drill, gap_objective, gaps
    from workbook.charts import to_html_fragment
    from workbook.exceptions import WorkbookError
    from workbook.theme import Theme

    data = ws.data
    analysis = data.analysis
    names = display_names(data)
    objective = None
    wide: list[dict[str, Any]] = []
    if eng is not None:
        try:
            objective = gap_objective(eng, analysis.objective)
            stage = objective["stage"] if objective else None
            targets = dict(analysis.targets) or None
            wide = gaps(eng, stage=stage, targets=targets).to_dict("records")
        except WorkbookError as exc:
            problem = f"The gap could not be computed: {exc.message}"
    rows = gap_rows(wide, list(analysis.findings), names)
    parts = []
    if objective is not None:
        current = objective["current"]
        parts.append(
            f"<p><b>{html.escape(objective['title'])}</b>"
            + (f": now {current:.1f}{_unit(objective['unit'])}" if current is not None else "")
            + (f", target {objective['target']:g}" if objective["target"] is not None else "")
            + "</p>"
        )
    if problem:
        parts.append(f"<p><i>{html.escape(problem)}</i></p>")
    if not rows:
        parts.append("<p><i>No component falls short yet, and no finding is added.</i></p>")
        return "".join(parts), rows
    drillable = [r for r in rows if r["kind"] in _DRILLABLE and r["source"] == "data"]
    target = next((r for r in drillable if r["component"] == analysis.chosen), None)
    target = target or (drillable[0] if drillable else None)
    deep: list[dict[str, Any]] = []
    if target is not None:
        deep = drill(eng, target["component"]).to_dict("records")
        for d in deep:
            d["label"] = deep_label(str(d["part"]), str(d["dimension"]), names)
    spec = t_chart_spec(rows, deep, target["label"] if target else "")
    parts.append(to_html_fragment(spec, "svg", theme=Theme.from_workspace(ws)))
    parts.append("<h4>Wide: every component</h4>")
    parts.append(
        _table(
            ["#", "Component", "Value", "Benchmark", "Contacts", "Contacts missed"],
            [
                [
                    r["rank"],
                    r["label"] + (" (chosen)" if r["component"] == analysis.chosen else ""),
                    _value(r["kind"], r["value"]),
                    _value(r["kind"], r["benchmark"]),
                    "" if r["contacts"] is None else f"{int(r['contacts']):,}",
                    f"{float(r['missed']):,.0f}"
                    + (" (estimate)" if r["kind"] == "finding" else ""),
                ]
                for r in rows[:12]
            ],
            text=2,
        )
    )
    if target is not None and deep:
        parts.append(f"<h4>Deep: {html.escape(target['label'])}</h4>")
        parts.append(
            _table(
                ["Part", "Contacts", "Value", "Whole component", "Contacts missed"],
                [
                    [
                        d["label"],
                        f"{int(d['contacts']):,}",
                        _value(target["kind"], d["value"]),
                        _value(target["kind"], d["benchmark"]),
                        f"{float(d['missed']):,.0f}",
                    ]
                    for d in deep[:TOP]
                ],
            )
        )
    return "".join(parts), rows


def form(ws: OpenWorkspace, *, show: bool = True) -> Form:
    """The Analyse form: the objective, the gap (T chart and tables), the findings the data
    cannot see, and the component to act on. With ``show``, the gap is drawn at once."""
    f = Form(ws, title="Go wide, go deep: what explains the gap", css="wb-form-analysis")
    shown: list[dict[str, Any]] = []

    def chosen_options(data: Any) -> list[tuple[str, Any]]:
        components = [
            (f"{r['label']} ({float(r['missed']):,.0f} contacts)", r["component"])
            for r in shown
            if r["kind"] != "finding" and float(r["missed"] or 0) > 0
        ][:12]
        findings = [(f"Finding: {fd.name}", f"finding:{fd.id}") for fd in data.analysis.findings]
        return [("(not chosen yet)", None), *components, *findings]

    objective = f.bind(
        FieldSpec("objective", "Objective to explain", "choice", options=_objective_options),
        ("analysis",),
        noun="analysis",
    )
    view = widgets.HTML()
    view.add_class("wb-gap-view")
    chosen = f.bind(
        FieldSpec("chosen", "We will act on", "choice", options=chosen_options),
        ("analysis",),
        noun="analysis",
    )
    why = f.bind(
        FieldSpec(
            "why", "Why, and what we will do", "textarea", placeholder="Answer WhatsApp until 11 pm"
        ),
        ("analysis",),
        noun="analysis",
    )

    def draw() -> None:
        text, rows = gap_view(f.ws)
        shown[:] = rows
        view.value = text
        chosen.refresh_options()
        show_targets()

    button = f.button("Show the gap", "wb-gap-show", icon="bar-chart", on_click=draw)
    button.layout.width = "auto"

    # a benchmark the consultant sets replaces the other personas' for one component
    target_pick = widgets.Dropdown(description="Component", style={"description_width": "170px"})
    target_pick.add_class("wb-gap-target-component")
    target_value = widgets.Text(
        description="Target",
        placeholder="32% for a rate, 12 for days; empty: none",
        style={"description_width": "170px"},
    )
    target_value.add_class("wb-gap-target-value")
    targets_note = widgets.HTML()
    targets_note.add_class("wb-gap-targets")

    def show_targets() -> None:
        labels = {r["component"]: r["label"] for r in shown}
        options = [(r["label"], r["component"]) for r in shown if r["kind"] in _TARGETED]
        keep = target_pick.value
        target_pick.options = options
        values = [v for _, v in options]
        # a picked component stays picked; otherwise the first is shown (never a blank box)
        if values:
            target_pick.value = keep if keep in values else values[0]
        current = f.ws.data.analysis.targets
        targets_note.value = (
            "<i>Targets set: "
            + "; ".join(
                f"{html.escape(labels.get(c, c))} {html.escape(_target_text(c, v))}"
                for c, v in current.items()
            )
            + "</i>"
            if current
            else ""
        )

    def set_target() -> None:
        component = target_pick.value
        if component is None:
            return
        targets = dict(f.ws.data.analysis.targets)
        text = target_value.value.strip()
        if text:
            try:
                targets[component] = _parse_target(component, text)
            except ValueError as exc:
                targets_note.value = f'<span style="color:#B00020">{html.escape(str(exc))}</span>'
                return
        else:
            targets.pop(component, None)
        f.ws.data.analysis.targets = targets
        if f.save():
            target_value.value = ""
            draw()

    set_button = f.button(
        "Set the target", "wb-gap-target-set", icon="crosshairs", on_click=set_target
    )
    set_button.layout.width = "auto"
    findings = SafeListEditor(
        f,
        path=("analysis", "findings"),
        noun="finding",
        fields=FINDING_FIELDS,
        new_item=lambda item_id, name: GapFinding(id=item_id, name=name),
    )
    findings.new_name.placeholder = "a finding the data cannot see, in a few words"
    f.add(objective, button, view)
    f.add(
        heading("A target instead of the other personas"),
        target_pick,
        widgets.HBox([target_value, set_button]),
        targets_note,
    )
    f.add(heading("What the data cannot see: findings from interviews"), findings=findings)
    f.add(heading("The one we will act on"), chosen, why)
    f.parts["view"] = view
    f.parts["chosen"] = chosen
    if show:
        f.guard(draw)()
    return keep_header_current(f)
