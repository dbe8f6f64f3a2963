"""Step 2 form: the value proposition, the market segments, the ideal customer profiles (ICP
checklist) and the buyer personas."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbook.forms._binding import FieldSpec, Form, ListEditor
from workbook.forms._header import keep_header_current
from workbook.forms._parts import SafeListEditor, heading
from workbook.model import CHANNELS, ICP, ICP_QUESTIONS, Persona, Segment

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = [
    "ICP_FIELDS",
    "PERSONA_FIELDS",
    "SEGMENT_FIELDS",
    "VALUE_PROPOSITION_FIELDS",
    "form",
    "icp_checklist_html",
]


def _icp_options(data: Any) -> list[tuple[str, Any]]:
    return [("(none)", None)] + [(i.name, i.id) for i in data.icps]


def _segment_options(data: Any) -> list[tuple[str, Any]]:
    return [(f"{s.name} ({s.kind})", s.id) for s in data.segments]


_CHANNEL_OPTIONS = [(label, key) for key, label in CHANNELS.items()]

PERSONA_FIELDS = [
    FieldSpec("name", "Name", placeholder="Priya, the busy planner"),
    FieldSpec("summary", "Summary", "textarea", placeholder="Who she is in two sentences"),
    FieldSpec("icp", "ICP", "choice", options=_icp_options),
    FieldSpec("segments", "Segments", "multi", options=_segment_options),
    FieldSpec("demographics.role", "Role", placeholder="Operations manager"),
    FieldSpec("demographics.age_range", "Age range", placeholder="30-40"),
    FieldSpec("demographics.location", "Location", placeholder="Large cities, UK"),
    FieldSpec("goals", "Goals", "lines", placeholder="Close the books in three days\n..."),
    FieldSpec("jobs", "Jobs to be done", "lines"),
    FieldSpec("pains", "Pains", "lines", placeholder="Chasing approvals by email"),
    FieldSpec("gains", "Gains", "lines"),
    FieldSpec("preferred_channels", "Preferred channels", "multi", options=_CHANNEL_OPTIONS),
    FieldSpec("objections", "Objections", "lines", placeholder="Too expensive for a team of five"),
    FieldSpec("quote", "In their words", "textarea"),
    FieldSpec("storyline", "Storyline", "textarea"),
]

_SEGMENT_KINDS = ("geographic", "demographic", "psychographic", "behavioural")

SEGMENT_FIELDS = [
    FieldSpec("name", "Segment", placeholder="Flat dwellers in large cities"),
    FieldSpec("kind", "Kind", "choice", options=[(k.capitalize(), k) for k in _SEGMENT_KINDS]),
    FieldSpec("description", "Who is in it", "textarea"),
]

VALUE_PROPOSITION_FIELDS = [
    FieldSpec("jobs", "Jobs customers want done", "lines", placeholder="Stay fit without a gym"),
    FieldSpec("pains", "Pains in the way", "lines", placeholder="No time to travel to classes"),
    FieldSpec("gains", "Gains they hope for", "lines", placeholder="Visible progress each week"),
]


def _new_segment(form: Form, item_id: str, name: str) -> Segment:
    # A segment needs a kind: offer the first kind the workspace has none of yet, since the
    # method asks for one of each; the consultant corrects it in the dropdown.
    have = {s.kind for s in form.ws.data.segments}
    kind = next((k for k in _SEGMENT_KINDS if k not in have), "behavioural")
    return Segment.model_validate({"id": item_id, "name": name, "kind": kind})


ICP_FIELDS = [FieldSpec("name", "ICP name")] + [
    FieldSpec(key, question, "textarea") for key, question in ICP_QUESTIONS.items()
]


def icp_checklist_html(icp: ICP) -> str:
    """The eight ICP questions with a tick for each one answered (user text escaped)."""
    rows = []
    for key, question in ICP_QUESTIONS.items():
        answered = bool(getattr(icp, key).strip())
        mark = "&#10003;" if answered else "&#9675;"
        colour = "#2E7D32" if answered else "#9E9E9E"
        rows.append(
            f'<li class="wb-icp-{key.replace("_", "-")}" style="list-style:none">'
            f'<span style="color:{colour}">{mark}</span> {html.escape(question)}</li>'
        )
    done = sum(bool(getattr(icp, k).strip()) for k in ICP_QUESTIONS)
    return (
        f"<b>ICP checklist for {html.escape(icp.name)}: {done} of {len(ICP_QUESTIONS)} answered</b>"
        f"<ul style='padding-left:0'>{''.join(rows)}</ul>"
    )


class _Checklist(widgets.HTML):  # type: ignore[misc]
    """The checklist of the ICP being edited; redrawn after every save."""

    def __init__(self, form: Form, icp_id: str) -> None:
        super().__init__()
        self.add_class("wb-icp-checklist")
        self._form = form
        self._icp_id = icp_id
        self.refresh()
        form.observe(lambda _c: self.refresh(), "revision")

    def refresh(self) -> None:
        icp = next((i for i in self._form.ws.data.icps if i.id == self._icp_id), None)
        self.value = icp_checklist_html(icp) if icp else ""


def form(ws: OpenWorkspace) -> Form:
    """The personas form: the value proposition, segments, ICPs with their checklist, then
    personas with goals, pains, channels and the segments they belong to."""
    f = Form(ws, title="Step 2 - Buyer personas and ideal customer profile", css="wb-form-personas")
    proposition = [
        f.bind(spec, ("value_proposition",), noun="value-proposition")
        for spec in VALUE_PROPOSITION_FIELDS
    ]
    f.add(heading("Value proposition"), *proposition)
    f.parts["value_proposition"] = proposition
    segments = SafeListEditor(
        f,
        path=("segments",),
        noun="segment",
        fields=SEGMENT_FIELDS,
        new_item=lambda item_id, name: _new_segment(f, item_id, name),
        label=lambda s: f"{s.name} ({s.kind})",
    )
    f.add(heading("Market segments"), segments=segments)
    icps = ListEditor(
        f,
        path=("icps",),
        noun="ICP",
        fields=ICP_FIELDS,
        new_item=lambda item_id, name: ICP(id=item_id, name=name),
        extra=lambda editor, icp_id: [_Checklist(f, icp_id)],
    )
    personas = ListEditor(
        f,
        path=("personas",),
        noun="persona",
        fields=PERSONA_FIELDS,
        new_item=lambda item_id, name: Persona.model_validate({"id": item_id, "name": name}),
    )
    f.add(
        widgets.HTML("<h4>Ideal customer profiles</h4>"),
        icps=icps,
    )
    f.add(widgets.HTML("<h4>Personas</h4>"), personas=personas)
    return keep_header_current(f)
