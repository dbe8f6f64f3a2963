"""Step 6 form: the journey map, one cell per persona and stage, with an emotion score.

The emotion score is typed in a box, not dragged on a slider: a slider quietly turns a typed
5 into 2 and cannot tell "not scored" from a neutral 0. The box takes -2 to +2 (a comma or a
plus sign is fine), refuses anything else with a message under it, and is empty while the
stage is not scored; two buttons set it to *Not scored* or to a *Neutral 0*.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbook.forms._binding import BoundField, FieldSpec, Form, Path
from workbook.forms._header import keep_header_current
from workbook.model import LANES, Journey, MapCell

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = [
    "CELL_FIELDS",
    "MapEditor",
    "PersonaStagePicker",
    "emotion_from_text",
    "emotion_line",
    "form",
]


def _touchpoint_options(data: Any) -> list[tuple[str, Any]]:
    return [(f"{t.name} ({t.channel})", t.id) for t in data.touchpoints]


CELL_FIELDS = [
    FieldSpec("actions", "Customer actions", "lines", placeholder="Reads two comparison articles"),
    FieldSpec("touchpoints", "Touchpoints", "multi", options=_touchpoint_options),
    FieldSpec(
        "thoughts", "Thoughts and feelings", "lines", placeholder="Will this work with our tools?"
    ),
    FieldSpec("pain_points", "Pain points", "lines"),
    FieldSpec("opportunities", "Opportunities", "lines"),
]

#: The emotion box comes after this field of :data:`CELL_FIELDS`.
_EMOTION_AFTER = "thoughts"


def emotion_from_text(text: str | None) -> float | None:
    """A typed emotion score: ``""`` -> None (not scored), ``"-1,5"`` -> -1.5.

    Raises
    ------
    ValueError
        With the message shown under the box, for text that is no number or a number outside
        -2 to +2 (never clamped: a typo must not become a score).
    """
    cleaned = (text or "").strip().replace("\u2212", "-").replace(",", ".")
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(
            "must be a number from -2 (worst) to +2 (best), like -1.5; "
            "leave it empty if the stage is not scored"
        ) from None
    if not -2 <= value <= 2:  # also refuses nan and inf
        raise ValueError(
            f"{cleaned} is outside -2 to +2: score from -2 (worst) to +2 (best), "
            "or leave it empty if the stage is not scored"
        )
    return value


def _emotion_text(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:+g}" if value else "0"


def _emotion_field(form: Form, path: Path) -> tuple[BoundField, widgets.HBox]:
    """The emotion box of a cell, and the row that shows it with its *Not scored* and
    *Neutral 0* buttons."""
    box = widgets.Text(
        description="Emotion (-2 to +2)",
        placeholder="not scored yet: -2 worst, 0 neutral, +2 best",
        continuous_update=False,
        style={"description_width": "170px"},
        layout=widgets.Layout(width="98%"),
    )
    box.add_class("wb-map-emotion")
    field = BoundField(
        form, box, path, "emotion", to_model=emotion_from_text, from_model=_emotion_text
    )

    def set_to(text: str) -> None:
        box.value = text

    none = form.button("Not scored", "wb-map-emotion-none", on_click=lambda: set_to(""))
    zero = form.button("Neutral 0", "wb-map-emotion-zero", on_click=lambda: set_to("0"))
    field.layout.width = "60%"
    return field, widgets.HBox([field, none, zero])


LANE_FIELD = FieldSpec("lanes", "Lanes shown", "multi", options=[(v, k) for k, v in LANES.items()])


def emotion_line(data: Any, persona_id: str) -> str:
    """The emotion score of a persona at each stage, as one line of HTML."""
    journey = data.journey(persona_id)
    parts = []
    for stage in data.stages:
        cell = journey.stages.get(stage.id) if journey else None
        score = (
            "not scored" if cell is None or cell.emotion is None else _emotion_text(cell.emotion)
        )
        parts.append(f"{html.escape(stage.name)} {score}")
    return "<b>Emotion by stage:</b> " + " &rarr; ".join(parts)


def ensure_cell(data: Any, persona_id: str, stage_id: str) -> Path:
    """The path of a map cell, creating the (empty) journey and cell in memory if missing.

    Nothing is saved here: the empty cell reaches the file with the first value typed in it.
    """
    journey = data.journey(persona_id)
    if journey is None:
        journey = Journey(persona=persona_id)
        data.journeys.append(journey)
    if stage_id not in journey.stages:
        journey.stages[stage_id] = MapCell.model_validate({})
    return ("journeys", {"persona": persona_id, "icp": None}, "stages", stage_id)


class PersonaStagePicker:
    """What the editors of one persona's cell at one stage share: the two pickers.

    A subclass (also a widget) sets ``form``, ``persona`` and ``stage`` and draws the picked
    cell in ``_show``; :meth:`refresh` keeps the picks when the lists change.
    """

    form: Form
    persona: widgets.Dropdown
    stage: widgets.Dropdown
    _quiet: bool = False

    def refresh(self) -> None:
        data = self.form.ws.data
        self._quiet = True
        try:
            for picker, items in ((self.persona, data.personas), (self.stage, data.stages)):
                keep = picker.value if picker.value in {i.id for i in items} else None
                picker.options = [(i.name, i.id) for i in items]
                picker.value = keep or (items[0].id if items else None)
        finally:
            self._quiet = False
        self._show()

    def _picked(self, _change: Any) -> None:
        if not self._quiet:
            self._show()

    def _show(self) -> None:
        raise NotImplementedError


class MapEditor(PersonaStagePicker, widgets.VBox):  # type: ignore[misc]
    """Pick a persona and a stage; edit that cell of the map."""

    def __init__(self, form: Form, *, preview: bool = True) -> None:
        self.form = form
        self.show_preview = preview
        self.persona = widgets.Dropdown(description="Persona")
        self.persona.add_class("wb-map-persona")
        self.stage = widgets.Dropdown(description="Stage")
        self.stage.add_class("wb-map-stage")
        self.emotions = widgets.HTML()
        self.emotions.add_class("wb-map-emotions")
        self.cell = widgets.VBox()
        self.cell.add_class("wb-map-cell")
        self.preview = widgets.HTML()
        self.preview.add_class("wb-map-preview")
        self.bound: list[Any] = []
        super().__init__(
            [widgets.HBox([self.persona, self.stage]), self.cell, self.emotions, self.preview]
        )
        self._quiet = False
        self.persona.observe(form.guard(self._picked), "value")
        self.stage.observe(form.guard(self._picked), "value")
        form.observe(form.guard(lambda _c: self._redraw_emotions()), "revision")
        self.refresh()

    def _redraw_emotions(self) -> None:
        if not self.persona.value:
            return
        data = self.form.ws.data
        self.emotions.value = emotion_line(data, self.persona.value)
        if self.show_preview:
            from workbook.journeymap import render_map_html

            # The whole map, redrawn after each save: the consultant sees the grid fill up.
            self.preview.value = render_map_html(data, self.persona.value)

    def _show(self) -> None:
        for b in self.bound:
            b.widget.close()
        self.bound = []
        pid, sid = self.persona.value, self.stage.value
        if not pid or not sid:
            self.cell.children = [
                widgets.HTML("<i>Add a persona (step 2) and stages (step 4) first.</i>")
            ]
            self.emotions.value = ""
            return
        data = self.form.ws.data
        path = ensure_cell(data, pid, sid)
        lanes = self.form.bind(LANE_FIELD, path[:2], noun="map")
        self.bound = [lanes]
        shown: list[widgets.Widget] = [lanes]
        for spec in CELL_FIELDS:
            field = self.form.bind(spec, path, noun="map")
            self.bound.append(field)
            shown.append(field)
            if spec.attr == _EMOTION_AFTER:
                emotion, row = _emotion_field(self.form, path)
                self.bound.append(emotion)
                shown.append(row)
        self.cell.children = shown
        self._redraw_emotions()


def form(ws: OpenWorkspace, *, preview: bool = True) -> Form:
    """The journey map form: one cell per persona x stage, lanes, and the map drawn below.

    Parameters
    ----------
    preview
        Draw the whole map under the form, redrawn after every save.
    """
    f = Form(ws, title="Step 6 - Journey map", css="wb-form-journeymap")
    f.add(map=MapEditor(f, preview=preview))
    return keep_header_current(f)
