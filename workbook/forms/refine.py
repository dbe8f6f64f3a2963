"""Step 7 form: annotate the map, write recommendations, take snapshots and compare versions."""

from __future__ import annotations

import datetime as dt
import functools
import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbook.forms._binding import (
    NO_CHOICE,
    FieldSpec,
    Form,
    ListEditor,
    choice_options,
    chosen,
    path_text,
)
from workbook.forms._header import keep_header_current
from workbook.model import Annotation, Journey, Recommendation

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = [
    "AnnotationList",
    "RECOMMENDATION_FIELDS",
    "SnapshotPanel",
    "form",
    "record_agreement",
]

_KIND_LABELS = {"best-moment": "Best moment", "worst-struggle": "Worst struggle"}
_PICK_STAGE = "(pick its stage)"


def _stage_options(data: Any) -> list[tuple[str, Any]]:
    return [(s.name, s.id) for s in data.stages]


def _touchpoint_options(data: Any) -> list[tuple[str, Any]]:
    return [("(none)", None)] + [(t.name, t.id) for t in data.touchpoints]


def _kpi_options(data: Any) -> list[tuple[str, Any]]:
    """The KPIs a recommendation can name: step 1's KPIs, then its objectives."""
    return (
        [("(none)", None)]
        + [(k.name, k.id) for k in data.measurement.kpis]
        + [(f"Objective: {o.title}", o.id) for o in data.objectives]
    )


RECOMMENDATION_FIELDS = [
    FieldSpec(
        "text", "Recommendation", "textarea", placeholder="Answer demo requests within one day"
    ),
    FieldSpec("stage", "Stage", "choice", options=_stage_options),
    FieldSpec("touchpoint", "Next to touchpoint", "choice", options=_touchpoint_options),
    FieldSpec(
        "priority",
        "Priority",
        "choice",
        options=[("High", "high"), ("Medium", "medium"), ("Low", "low")],
    ),
    FieldSpec("owner", "Owner"),
    FieldSpec("kpi", "KPI it should move", "choice", options=_kpi_options),
    FieldSpec(
        "status",
        "Status",
        "choice",
        options=[
            (s.capitalize(), s) for s in ("proposed", "agreed", "in-progress", "done", "dropped")
        ],
    ),
    # opportunity -> solution (the text above) -> owner -> metric
    FieldSpec(
        "opportunity",
        "Opportunity it answers",
        "textarea",
        placeholder="Demo requests wait three days for an answer",
    ),
    FieldSpec(
        "expected_effect",
        "Expected effect (KPI's unit, + or -)",
        "number",
        placeholder="+2 (points up) or -5 (days fewer)",
    ),
    FieldSpec("agreed_on", "Agreed on", "date", placeholder="set when the status becomes Agreed"),
    FieldSpec(
        "agreed_value",
        "KPI value when agreed",
        "number",
        placeholder="measured when the status becomes Agreed",
    ),
]


def record_agreement(data: Any, ws: Any, recommendation: Recommendation) -> bool:
    """Fill in the day a recommendation was agreed (today) and its KPI's value that day,
    measured by the analytics (:func:`workbook.analytics.chain.kpi_now`), where not typed.

    Returns whether anything was filled in.
    """
    from workbook.analytics.chain import kpi_now

    changed = False
    if recommendation.agreed_on is None:
        recommendation.agreed_on = dt.date.today()
        changed = True
    if recommendation.agreed_value is None and recommendation.kpi:
        value, _note = kpi_now(ws, recommendation.kpi)
        if value is not None:
            recommendation.agreed_value = value
            changed = True
    return changed


def _journey(form: Form, persona_id: str) -> Journey:
    """The persona's map, created (in memory, unsaved) if it has none yet."""
    data = form.ws.data
    journey = data.journey(persona_id)
    if journey is None:
        journey = Journey(persona=persona_id)
        data.journeys.append(journey)
    return journey


class AnnotationList(widgets.VBox):  # type: ignore[misc]
    """The best and worst moments marked on one persona's map: a list, and a row to add one."""

    def __init__(self, form: Form, persona_id: str) -> None:
        self.form = form
        self.persona_id = persona_id
        data = form.ws.data
        self.kind = widgets.Dropdown(
            options=[(v, k) for k, v in _KIND_LABELS.items()], description="Mark"
        )
        self.kind.add_class("wb-annotation-kind")
        self.stage = widgets.Dropdown(options=_stage_options(data), description="at stage")
        self.stage.add_class("wb-annotation-stage")
        self.touchpoint = widgets.Dropdown(
            options=choice_options(_touchpoint_options(data)), description="Touchpoint"
        )
        self.touchpoint.add_class("wb-annotation-touchpoint")
        self.note = widgets.Text(placeholder="what happens there", description="Note")
        self.note.add_class("wb-annotation-note")
        self.add_button = form.button(
            "Add", "wb-add", "wb-annotation-add", icon="plus", on_click=self.add
        )
        self.items = widgets.VBox()
        self.items.add_class("wb-annotations")
        super().__init__(
            [
                widgets.HTML("<b>Best moments and worst struggles</b>"),
                self.items,
                widgets.HBox([self.kind, self.stage]),
                widgets.HBox([self.touchpoint, self.note, self.add_button]),
            ]
        )
        self.refresh()

    def refresh(self) -> None:
        data = self.form.ws.data
        journey = data.journey(self.persona_id)
        # the stage and the touchpoint as the consultant named them, not their ids
        stages = {s.id: s.name for s in data.stages}
        touchpoints = {t.id: t.name for t in data.touchpoints}
        rows = []
        for i, a in enumerate(journey.annotations if journey else []):
            text = f"{_KIND_LABELS[a.kind]} at {stages.get(a.stage, a.stage)}" + (
                f" ({touchpoints.get(a.touchpoint, a.touchpoint)})" if a.touchpoint else ""
            )
            label = widgets.HTML(f"{html.escape(text)}: {html.escape(a.note)}")
            remove = self.form.button(
                "Remove",
                "wb-remove",
                "wb-annotation-remove",
                icon="trash",
                on_click=functools.partial(self.remove, i),
            )
            rows.append(widgets.HBox([remove, label]))
        self.items.children = rows or [widgets.HTML("<i>Nothing marked yet.</i>")]

    def add(self) -> None:
        """Add the annotation described by the row and save."""
        journey = _journey(self.form, self.persona_id)
        annotation = Annotation(
            kind=self.kind.value,
            stage=self.stage.value,
            touchpoint=chosen(self.touchpoint.value),
            note=self.note.value,
        )
        journey.annotations.append(annotation)
        self._save_or_undo(lambda: journey.annotations.remove(annotation))
        self.note.value = ""

    def remove(self, index: int) -> None:
        """Remove the annotation at ``index`` and save."""
        journey = _journey(self.form, self.persona_id)
        annotation = journey.annotations.pop(index)
        self._save_or_undo(lambda: journey.annotations.insert(index, annotation))

    def _save_or_undo(self, undo: Any) -> None:
        from workbook.exceptions import WorkspaceValidationError

        try:
            self.form.save()
        except WorkspaceValidationError:
            undo()
            raise
        finally:
            self.refresh()


def _short(value: Any, limit: int = 80) -> str:
    if isinstance(value, dict):
        value = value.get("name") or value.get("title") or value.get("text") or value.get("id")
    text = " ".join(str(value).split()) if value is not None else ""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _diff_html(diff: Any, data: Any = None) -> str:
    """A :class:`workbook.store.Diff` as an HTML list (every value escaped: it is user text).

    Each change names its place as the consultant knows it ("Amara's map, Awareness stage,
    emotion"), read against ``data`` (the workspace now), never as an internal path.
    """
    if not diff.changes:
        return f"<i>{html.escape(str(diff))}</i>"
    marks = {"added": ("+", "#2E7D32"), "removed": ("-", "#B00020"), "changed": ("~", "#8A4B00")}
    items = []
    for change in diff.changes:
        mark, colour = marks[change.kind]
        where = path_text(change.path, data=data)
        if change.kind in ("added", "removed"):
            value = change.after if change.kind == "added" else change.before
            # a whole item is named by its place already ("Amara's map, note ...")
            text = f"{mark} {where}" + ("" if isinstance(value, dict) else f": {_short(value)}")
        else:
            text = f"{mark} {where}: {_short(change.before)} \u2192 {_short(change.after)}"
        items.append(f'<li style="color:{colour}">{html.escape(text)}</li>')

    def named(items: Any, item_id: str) -> str:
        return next((str(i.name) for i in items if i.id == item_id), item_id)

    def score(v: float | None) -> str:
        return "not scored" if v is None else f"{v:+g}"

    moves = "".join(
        "<li>"
        + html.escape(
            f"{named(data.personas if data else [], m.persona).split(',')[0]}'s map, "
            f"{named(data.stages if data else [], m.stage)}: "
            f"{score(m.before)} \u2192 {score(m.after)}"
        )
        + "</li>"
        for m in diff.emotion_moves
    )
    n = len(diff.changes)
    sides = f"{html.escape(diff.a)} &rarr; {html.escape(diff.b)}"
    head = f"<b>{sides}: {n} change{'s' if n != 1 else ''}</b>"
    return (
        f'<div class="wb-diff">{head}<ul style="font-family:monospace">{"".join(items)}</ul>'
        + (f"<b>Emotion moves</b><ul>{moves}</ul>" if moves else "")
        + "</div>"
    )


class SnapshotPanel(widgets.VBox):  # type: ignore[misc]
    """Take a snapshot of the workspace, then compare any two versions (before / after)."""

    def __init__(self, form: Form) -> None:
        self.form = form
        self.note = widgets.Text(placeholder="what is about to change", description="Note")
        self.note.add_class("wb-snapshot-note")
        self.take = form.button(
            "Take snapshot", "wb-snapshot", icon="camera", on_click=self.take_snapshot
        )
        self.before = widgets.Dropdown(description="Before")
        self.before.add_class("wb-diff-before")
        self.after = widgets.Dropdown(description="After")
        self.after.add_class("wb-diff-after")
        self.compare = form.button("Compare", "wb-diff", icon="exchange", on_click=self.show_diff)
        self.output = widgets.HTML()
        self.output.add_class("wb-diff-output")
        super().__init__(
            [
                widgets.HTML("<b>Versions</b>"),
                widgets.HBox([self.note, self.take]),
                widgets.HBox([self.before, self.after, self.compare]),
                self.output,
            ]
        )
        self.refresh()

    def refresh(self) -> None:
        snaps = list(self.form.ws.snapshots())
        options = [(str(s), s.id) for s in snaps]
        self.before.options = options
        self.after.options = [*options, ("now (saved workspace)", NO_CHOICE)]
        self.before.value = options[-1][1] if options else None
        self.after.value = NO_CHOICE

    def take_snapshot(self) -> None:
        """Snapshot the workspace as it is now (saved first, so the snapshot is what is on disk)."""
        note = self.note.value.strip()
        if not note:
            self.output.value = (
                "<i>Write a note first: what is this version (before workshop 2...)?</i>"
            )
            return
        self.form.save()
        snap = self.form.ws.snapshot(note)
        self.note.value = ""
        self.refresh()
        self.output.value = f"Snapshot {html.escape(str(snap))} taken."

    def show_diff(self) -> None:
        """Show what changed between the two versions picked."""
        if self.before.value is None:
            self.output.value = "<i>Take a snapshot first, make changes, then compare.</i>"
            return
        diff = self.form.ws.diff(self.before.value, chosen(self.after.value))
        self.output.value = _diff_html(diff, self.form.ws.data)


class _RefineEditor(widgets.VBox):  # type: ignore[misc]
    """Pick a persona; edit its annotations and recommendations."""

    def __init__(self, form: Form) -> None:
        self.form = form
        # as wide as the longest persona's name ("Amara, the time-poor Londoner"), not cut
        self.persona = widgets.Dropdown(
            description="Persona", layout=widgets.Layout(width="max-content", min_width="300px")
        )
        self.persona.add_class("wb-refine-persona")
        self.area = widgets.VBox()
        self.annotations: AnnotationList | None = None
        self.recommendations: ListEditor | None = None
        # A new recommendation's stage is picked, never assumed: it starts unpicked and keeps
        # the stage last picked (the one the consultant is working on) for the next one.
        self.new_stage = widgets.Dropdown(description="for stage")
        self.new_stage.add_class("wb-recommendation-new-stage")
        super().__init__([self.persona, self.area])
        self._quiet = False
        self.persona.observe(form.guard(lambda _c: None if self._quiet else self._show()), "value")
        self.refresh()

    def refresh(self) -> None:
        personas = self.form.ws.data.personas
        self._quiet = True
        try:
            keep = self.persona.value if self.persona.value in {p.id for p in personas} else None
            self.persona.options = [(p.name, p.id) for p in personas]
            self.persona.value = keep or (personas[0].id if personas else None)
        finally:
            self._quiet = False
        self._show()

    def _show(self) -> None:
        pid = self.persona.value
        if pid is None:
            self.area.children = [widgets.HTML("<i>Add a persona and build its map first.</i>")]
            return
        if self.recommendations is not None:
            self.recommendations.detach()
        _journey(self.form, pid)
        stages = _stage_options(self.form.ws.data)
        keep = self.new_stage.value if self.new_stage.value in {v for _, v in stages} else ""
        self.new_stage.options = [(_PICK_STAGE, ""), *stages]
        self.new_stage.value = keep
        self.annotations = AnnotationList(self.form, pid)
        self.recommendations = ListEditor(
            self.form,
            path=("journeys", {"persona": pid, "icp": None}, "recommendations"),
            noun="recommendation",
            fields=RECOMMENDATION_FIELDS,
            new_item=self._new_recommendation,
            label=lambda r: r.text if len(r.text) <= 60 else r.text[:57] + "...",
            extra=self._follow_status,
        )
        self.recommendations.new_name.placeholder = "a new recommendation, in one sentence"
        add_row = self.recommendations.children[1]  # the name box and Add: the stage between
        add_row.children = (add_row.children[0], self.new_stage, *add_row.children[1:])
        self.area.children = [
            self.annotations,
            widgets.HTML("<b>Recommendations</b>"),
            self.recommendations,
        ]

    def _new_recommendation(self, item_id: str, text: str) -> Recommendation:
        """A recommendation at the stage picked next to *Add*; refused while none is."""
        if not self.new_stage.value:
            raise ValueError(
                "pick the stage it is for first ('for stage', next to Add); it is not "
                "assumed, so that no recommendation lands on a stage nobody chose"
            )
        return Recommendation(id=item_id, text=text, stage=self.new_stage.value)

    def _follow_status(self, editor: ListEditor, item_id: str) -> list[widgets.Widget]:
        """When a recommendation's status becomes *agreed*, record the day and the KPI's
        value (see :func:`record_agreement`) and show them in their fields."""
        status = next((b for b in editor.bound if b.spec and b.spec.attr == "status"), None)
        if status is None:
            return []

        def agreed(change: Any) -> None:
            if change["new"] != "agreed" or status.closed:
                return
            rec = next(
                (
                    r
                    for r in _journey(self.form, self.persona.value).recommendations
                    if r.id == item_id
                ),
                None,
            )
            if rec is None or not record_agreement(self.form.ws.data, self.form.ws, rec):
                return
            self.form.save()
            for b in editor.bound:
                if b.spec and b.spec.attr in ("agreed_on", "agreed_value"):
                    b.refresh()

        # registered after the field's own observer: the status is saved first
        status.widget.observe(self.form.guard(agreed), "value")
        return []


def form(ws: OpenWorkspace) -> Form:
    """The refine form: annotations and recommendations per persona, snapshots and their diff."""
    f = Form(ws, title="Step 7 - Iterate and refine", css="wb-form-refine")
    f.add(map=_RefineEditor(f), versions=SnapshotPanel(f))
    return keep_header_current(f)
