"""Design and build form: the desired journey (to-be map) of each persona.

The to-be map has the as-is map's lanes. It starts as a copy of the as-is map (*Draft from
the as-is map*), then each stage is edited with the same fields as in step 6, and each
stage's changes are linked to the recommendations that make them happen. Under the form,
the as-is and the to-be are drawn overlaid (both emotion curves, the gap shaded, each change
and its recommendations), redrawn after every save.

:func:`chain_html` shows, for the refine step, each recommendation's opportunity, solution,
owner and metric, and how far the metric moved since the recommendation was agreed.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbook.forms._binding import BoundField, FieldSpec, Form, Path
from workbook.forms._header import keep_header_current
from workbook.forms.journeymap import CELL_FIELDS, PersonaStagePicker, _emotion_field
from workbook.model import Journey, MapCell

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["ToBeEditor", "chain_html", "draft_to_be", "form"]


def draft_to_be(data: Any, persona_id: str) -> Journey:
    """Give the persona's map a to-be map copied from its as-is one (in memory, unsaved).

    A to-be map that exists already keeps every stage it has; only stages it lacks are
    copied, so drafting twice never overwrites an edit.
    """
    journey: Journey | None = data.journey(persona_id)
    if journey is None:
        journey = Journey(persona=persona_id)
        data.journeys.append(journey)
    draft = journey.draft_to_be()
    if journey.to_be is None:
        journey.to_be = draft
    else:
        for sid, cell in draft.items():
            journey.to_be.setdefault(sid, cell)
    return journey


def _link_field(persona_id: str) -> FieldSpec:
    def options(data: Any) -> list[tuple[str, Any]]:
        journey = data.journey(persona_id)
        recs = journey.recommendations if journey else []
        return [
            (r.text if len(r.text) <= 70 else r.text[:67] + "...", r.id)
            for r in recs
            if r.status != "dropped"
        ]

    return FieldSpec("recommendations", "Made to happen by", "multi", options=options)


class ToBeEditor(PersonaStagePicker, widgets.VBox):  # type: ignore[misc]
    """Pick a persona and a stage; draft the to-be map from the as-is one and edit its cell."""

    def __init__(self, form: Form, *, preview: bool = True) -> None:
        self.form = form
        self.show_preview = preview
        self.persona = widgets.Dropdown(description="Persona")
        self.persona.add_class("wb-tobe-persona")
        self.stage = widgets.Dropdown(description="Stage")
        self.stage.add_class("wb-tobe-stage")
        self.draft = form.button(
            "Draft from the as-is map", "wb-tobe-draft", icon="copy", on_click=self.draft_now
        )
        self.draft.layout = widgets.Layout(width="auto")  # its whole label shows
        self.message = widgets.HTML()
        self.message.add_class("wb-tobe-message")
        self.cell = widgets.VBox()
        self.cell.add_class("wb-tobe-cell")
        self.preview = widgets.HTML()
        self.preview.add_class("wb-tobe-preview")
        self.bound: list[BoundField] = []
        super().__init__(
            [
                widgets.HBox([self.persona, self.stage, self.draft]),
                self.message,
                self.cell,
                self.preview,
            ]
        )
        self._quiet = False
        self.persona.observe(form.guard(self._picked), "value")
        self.stage.observe(form.guard(self._picked), "value")
        form.observe(form.guard(lambda _c: self._redraw()), "revision")
        self.refresh()

    def draft_now(self) -> None:
        """Copy the as-is map into the to-be map (stages it has already are kept) and save."""
        pid = self.persona.value
        if not pid:
            return
        journey = self.form.ws.data.journey(pid)
        before = None if journey is None else journey.to_be
        kept = dict(before) if before is not None else None
        draft_to_be(self.form.ws.data, pid)
        try:
            self.form.save()
        except Exception:
            journey = self.form.ws.data.journey(pid)
            if journey is not None:
                journey.to_be = kept
            raise
        self._show()
        self.message.value = (
            "Drafted from the as-is map: now change what the recommendations will change, "
            "and link each stage to them."
        )

    def _redraw(self) -> None:
        pid = self.persona.value
        if not pid or not self.show_preview:
            return
        from workbook.journeymap import render_compare_html

        self.preview.value = render_compare_html(self.form.ws.data, pid)

    def _close_fields(self) -> None:
        for b in self.bound:
            b.close()
            b.closed = True
        self.bound = []

    def _show(self) -> None:
        self._close_fields()
        pid, sid = self.persona.value, self.stage.value
        self.message.value = ""
        if not pid or not sid:
            self.cell.children = [
                widgets.HTML("<i>Add a persona (step 2) and stages (step 4) first.</i>")
            ]
            self.preview.value = ""
            return
        data = self.form.ws.data
        journey = data.journey(pid)
        if journey is None or journey.to_be is None:
            self.cell.children = [
                widgets.HTML(
                    "<i>No desired journey yet for this persona: press <b>Draft from the as-is "
                    "map</b> to start from the journey as it is today.</i>"
                )
            ]
            self._redraw()
            return
        if sid not in journey.to_be:
            journey.to_be[sid] = MapCell.model_validate({})  # reaches the file when typed in
        path: Path = ("journeys", {"persona": pid, "icp": None}, "to_be", sid)
        shown: list[widgets.Widget] = []
        for spec in [*CELL_FIELDS, _link_field(pid)]:
            field = self.form.bind(spec, path, noun="tobe")
            self.bound.append(field)
            shown.append(field)
            if spec.attr == "thoughts":
                emotion, row = _emotion_field(self.form, path)
                self.bound.append(emotion)
                shown.append(row)
        self.cell.children = shown
        self._redraw()


def form(ws: OpenWorkspace, *, preview: bool = True) -> Form:
    """The desired-journey form: draft each persona's to-be map from the as-is one, edit it
    stage by stage, and link each change to the recommendation that makes it happen.

    Parameters
    ----------
    preview
        Draw the as-is and the to-be overlaid under the form, redrawn after every save.
    """
    f = Form(ws, title="Design and build - the desired journey", css="wb-form-design")
    f.add(to_be=ToBeEditor(f, preview=preview))
    return keep_header_current(f)


def chain_html(ws: Any) -> str:
    """Opportunity -> solution -> owner -> metric for every recommendation, with how far its
    metric moved since it was agreed (:func:`workbook.analytics.chain.recommendation_chain`),
    as an HTML table for the refine step. Every value is escaped."""
    from workbook.analytics.chain import recommendation_chain

    data = getattr(ws, "data", ws)
    path = getattr(ws, "path", None)
    has_data = path is not None and (path / "data" / "manifest.json").is_file()
    frame = recommendation_chain(ws if has_data else data)
    if frame.empty:
        return "<i>No recommendation yet: write them in the refine form above.</i>"
    names = {p.id: p.name for p in data.personas}

    def num(value: Any, unit: str, signed: bool = False) -> str:
        if value is None or value != value:
            return "n/a"
        text = f"{value:+.1f}" if signed else f"{value:.1f}"
        return text + (" pts" if signed and unit == "%" else (unit if unit == "%" else f" {unit}"))

    rows = []
    for r in frame.to_dict(orient="records"):
        unit = str(r["unit"])
        share = r["share_achieved"]
        cells = [
            str(r["owner"] or "to be agreed"),
            str(r["kpi_name"] or "no KPI named"),
            num(r["agreed_value"], unit),
            num(r["current"], unit),
            num(r["expected_effect"], unit, signed=True),
            num(r["moved"], unit, signed=True),
            "n/a" if share != share else f"{share:.0%}",
            f"{r['verdict']} ({names.get(r['persona'], r['persona'])}, {r['status']})",
        ]
        first = (
            html.escape(str(r["opportunity"] or "(opportunity not written)"))
            + " &rarr; "
            + html.escape(str(r["solution"]))
        )
        rows.append(
            f"<tr><td>{first}</td>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "Opportunity &rarr; solution",
            "Owner",
            "Metric",
            "When agreed",
            "Now",
            "Expected effect",
            "Moved",
            "Of expected",
            "Verdict",
        )
    )
    return (
        '<table class="wb-chain" style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
