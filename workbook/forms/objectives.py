"""Step 1 form: the client, its branding, the objectives with a KPI and a target each, and the
KPIs and OKRs that measure them (:mod:`workbook.forms.measurement`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from workbook.forms._binding import FieldSpec, Form, ListEditor
from workbook.forms._header import keep_header_current, mode_of
from workbook.forms.measurement import add_kpis, add_okrs
from workbook.model import CRM_GOALS, Objective

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["CLIENT_FIELDS", "COURSE_REQUIRED", "OBJECTIVE_FIELDS", "form", "objective_fields"]

_KINDS = [
    ("Improve the experience", "experience"),
    ("Find pain points", "pain-points"),
    ("Optimise conversion", "conversion"),
    ("Keep customers", "retention"),
    ("Other", "other"),
]

OBJECTIVE_FIELDS = [
    FieldSpec("title", "Objective", placeholder="Shorten the path from demo to signed contract"),
    FieldSpec("kind", "Kind", "choice", options=_KINDS),
    FieldSpec("kpi", "KPI", placeholder="Demo-to-purchase conversion rate"),
    FieldSpec(
        "metric",
        "Computed from data as",
        placeholder="conversion:consideration:purchase (optional)",
    ),
    FieldSpec("unit", "Unit", placeholder="%"),
    FieldSpec("baseline", "Baseline", "number", placeholder="18"),
    FieldSpec("target", "Target", "number", placeholder="25"),
    FieldSpec("owner", "Owner", placeholder="Head of sales"),
    FieldSpec("due", "Due", "date"),
    FieldSpec(
        "crm_goal",
        "CRM goal",
        "choice",
        options=[("(none)", None)] + [(g.capitalize(), g) for g in CRM_GOALS],
    ),
]

#: An objective's fields the course's check asks for (:func:`workbook.course.check_objectives`)
#: that a workshop may leave for later.
COURSE_REQUIRED = ("metric", "baseline", "target", "owner")


def objective_fields(mode: str = "workshop") -> list[FieldSpec]:
    """The objective's fields; in ``"course"`` mode those the course requires say so in their
    grey hint ("... (required for the course)") instead of "(optional)"."""
    if mode != "course":
        return OBJECTIVE_FIELDS
    return [
        replace(
            spec,
            placeholder=spec.placeholder.removesuffix(" (optional)") + " (required for the course)",
        )
        if spec.attr in COURSE_REQUIRED
        else spec
        for spec in OBJECTIVE_FIELDS
    ]


CLIENT_FIELDS = [
    FieldSpec("name", "Client"),
    FieldSpec("industry", "Industry"),
    FieldSpec("engagement", "Engagement", placeholder="Journey mapping, spring 2026"),
    FieldSpec("consultant", "Consultant"),
    FieldSpec("branding.primary_color", "Primary colour", placeholder="#1F4E79"),
    FieldSpec("branding.accent_color", "Accent colour", placeholder="#E07A1F"),
]


def form(ws: OpenWorkspace, mode: str | None = None) -> Form:
    """The objectives form: who the client is, why we map (each aim with KPI and target), the
    KPIs (objective, metric, fix, evaluation) and the OKRs (key results and their to-dos).

    ``mode`` (``"workshop"`` or ``"course"``) is by default the one the step's header was
    opened in (:func:`workbook.forms.open_step`); a course marks what its check requires.
    """
    f = Form(ws, title="Step 1 - Objectives", css="wb-form-objectives")
    client = [f.bind(spec, ("client",), noun="client") for spec in CLIENT_FIELDS]
    f.add(*client)
    f.parts["client"] = client
    f.add(
        objectives=ListEditor(
            f,
            path=("objectives",),
            noun="objective",
            fields=objective_fields(mode or mode_of(ws)),
            new_item=lambda item_id, name: Objective.model_validate({"id": item_id, "title": name}),
            label=lambda o: o.title,
        )
    )
    add_kpis(f)
    add_okrs(f)
    return keep_header_current(f)
