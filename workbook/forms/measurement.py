"""Measure: KPIs, OKRs (key results and their to-dos) and lead-scoring rules.

Each part is a section that a step's form adds to itself (:func:`add_kpis` ...), so that its
choices (objectives, stages, touchpoints) follow the other parts of the same form. The
objectives form (step 1) carries the KPIs and the OKRs, the data form (step 5) the
lead-scoring rules; the experiments have a form of their own for the refine step
(:mod:`workbook.forms.experiments`).
"""

from __future__ import annotations

from typing import Any

from workbook.forms._binding import FieldSpec, Form
from workbook.forms._parts import RowList, SafeListEditor, heading, sub_list
from workbook.model import CHANNELS, KPI, OKR, KeyResult, ScoringRule, Todo

__all__ = [
    "KEY_RESULT_FIELDS",
    "KPI_FIELDS",
    "OKR_FIELDS",
    "SCORING_RULE_FIELDS",
    "TODO_FIELDS",
    "add_kpis",
    "add_okrs",
    "add_scoring_rules",
]


def _objective_options(data: Any) -> list[tuple[str, Any]]:
    return [("(none)", None)] + [(o.title, o.id) for o in data.objectives]


def _stage_options(data: Any) -> list[tuple[str, Any]]:
    return [("(any stage)", None)] + [(s.name, s.id) for s in data.stages]


def _touchpoint_options(data: Any) -> list[tuple[str, Any]]:
    return [("(none)", None)] + [(t.name, t.id) for t in data.touchpoints]


_CHANNEL_OPTIONS: list[tuple[str, Any]] = [("(any channel)", None)] + [
    (label, key) for key, label in CHANNELS.items()
]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


KPI_FIELDS = [
    FieldSpec("name", "KPI", placeholder="Consideration to purchase conversion"),
    FieldSpec("objective", "For objective", "choice", options=_objective_options),
    FieldSpec(
        "metric",
        "Computed from data as",
        placeholder="conversion:consideration:purchase (optional)",
    ),
    FieldSpec("unit", "Unit", placeholder="%"),
    FieldSpec("baseline", "Baseline", "number", placeholder="8"),
    FieldSpec("target", "Target", "number", placeholder="12"),
    FieldSpec("stage", "Stage it measures", "choice", options=_stage_options),
    FieldSpec("fix", "Fix", "textarea", placeholder="What we change to move it"),
    FieldSpec("evaluation", "Evaluate by", "textarea", placeholder="How we judge the change"),
]

OKR_FIELDS = [
    FieldSpec(
        "objective",
        "Objective",
        "textarea",
        placeholder="Answer every buying question while the customer is still interested",
    ),
]

KEY_RESULT_FIELDS = [
    FieldSpec("text", "Key result", "textarea", placeholder="Median first reply under 15 minutes"),
    FieldSpec("metric", "Metric", placeholder="median minutes to first reply"),
    FieldSpec("baseline", "Baseline", "number"),
    FieldSpec("target", "Target", "number"),
    FieldSpec("current", "Current", "number"),
]

TODO_FIELDS = [
    FieldSpec("text", "To-do", placeholder="Add an evening shift to the rota"),
    FieldSpec("owner", "Owner"),
    FieldSpec("done", "Done", "bool"),
]

SCORING_RULE_FIELDS = [
    FieldSpec("description", "Behaviour", placeholder="Viewed the pricing page"),
    FieldSpec("points", "Points", "number", placeholder="20 (negative to take points off)"),
    FieldSpec("touchpoint", "Touchpoint used", "choice", options=_touchpoint_options),
    FieldSpec("channel", "Channel", "choice", options=_CHANNEL_OPTIONS),
    FieldSpec("action", "Event action", placeholder="open, click, visit, reply"),
    FieldSpec("stage", "Stage reached", "choice", options=_stage_options),
    FieldSpec("decay_days", "Half-life in days", "number", placeholder="30 (empty: never fades)"),
]


def add_kpis(f: Form) -> SafeListEditor:
    """Add the KPI list (objective -> metric -> fix -> evaluation) to a form."""
    editor = SafeListEditor(
        f,
        path=("measurement", "kpis"),
        noun="kpi",
        fields=KPI_FIELDS,
        new_item=lambda item_id, name: KPI(id=item_id, name=name),
    )
    editor.new_name.placeholder = "name of a new KPI"
    f.add(heading("KPIs"), kpis=editor)
    return editor


def _todos(f: Form, key_results: Any, kr_id: str) -> list[Any]:
    path = (*key_results.path, {"id": kr_id}, "todos")
    return [
        heading("To-dos"),
        RowList(
            f,
            path=path,
            noun="todo",
            said="to-do",
            fields=TODO_FIELDS,
            new_row=lambda text: Todo(text=text),
            placeholder="a new to-do",
        ),
    ]


def add_okrs(f: Form) -> SafeListEditor:
    """Add the OKRs to a form: each objective with its key results, each with its to-dos."""
    key_results = sub_list(
        f,
        attr="key_results",
        noun="key result",
        fields=KEY_RESULT_FIELDS,
        new_item=lambda item_id, text: KeyResult(id=item_id, text=text),
        title="Key results",
        label=lambda kr: _short(kr.text),
        placeholder="a new key result, in one sentence",
        extra=lambda editor, kr_id: _todos(f, editor, kr_id),
    )
    editor = SafeListEditor(
        f,
        path=("measurement", "okrs"),
        noun="okr",
        fields=OKR_FIELDS,
        new_item=lambda item_id, text: OKR(id=item_id, objective=text),
        label=lambda o: _short(o.objective),
        extra=key_results,
    )
    editor.new_name.placeholder = "a new OKR objective, in one sentence"
    f.add(heading("OKRs"), okrs=editor)
    return editor


def add_scoring_rules(f: Form) -> SafeListEditor:
    """Add the lead-scoring rules to a form: points for a behaviour, fading with age."""
    editor = SafeListEditor(
        f,
        path=("measurement", "scoring_rules"),
        noun="scoring rule",
        fields=SCORING_RULE_FIELDS,
        new_item=lambda item_id, text: ScoringRule(id=item_id, description=text, points=0),
        label=lambda r: f"{r.description or r.id} ({r.points:+g})",
    )
    editor.new_name.placeholder = "a behaviour to score, like 'Viewed the pricing page'"
    f.add(heading("Lead-scoring rules"), scoring_rules=editor)
    return editor
