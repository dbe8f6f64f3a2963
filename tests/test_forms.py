"""The shared form binding: autosave to disk, validation next to the field, conflicts, errors.

Forms are driven the way ipywidgets' own tests do it: set ``.value`` and ``click()`` buttons,
no kernel and no browser. Every effect is checked ON DISK by reopening the workspace, which is
what "survives a kernel restart" means.
"""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import pytest

from workbook.forms import FieldSpec, Form, ListEditor, by_id, path_text, resolve
from workbook.forms import objectives as objectives_form
from workbook.model import Journey, MapCell, Objective, Persona, Touchpoint
from workbook.store import OpenWorkspace, new_workspace, open_workspace


@pytest.fixture
def ws(tmp_path: Path) -> OpenWorkspace:
    """A fresh workspace with one persona, one touchpoint and a map cell."""
    ws = new_workspace("Acme Test", directory=tmp_path)
    ws.data.personas.append(Persona(id="priya", name="Priya"))
    ws.data.touchpoints.append(
        Touchpoint(id="site", name="Website", channel="web", stages=["awareness"])
    )
    ws.data.journeys.append(Journey(persona="priya", stages={"awareness": MapCell()}))
    ws.save()
    return ws


def on_disk(ws: OpenWorkspace) -> object:
    """The workspace as a new kernel would see it."""
    return open_workspace(ws.path).data


def test_resolve_and_path_text_follow_ids(ws: OpenWorkspace) -> None:
    path = ("journeys", {"persona": "priya"}, "stages", "awareness")
    assert isinstance(resolve(ws.data, path), MapCell)
    assert resolve(ws.data, ("personas", by_id("priya"))).name == "Priya"
    assert path_text(("personas", by_id("priya")), "name") == "personas[priya].name"
    with pytest.raises(KeyError, match="no item"):
        resolve(ws.data, ("personas", by_id("nobody")))


def test_text_field_saves_to_disk_at_once(ws: OpenWorkspace) -> None:
    form = Form(ws, title="t", css="wb-form-test")
    field = form.bind(FieldSpec("name", "Name"), ("personas", by_id("priya")), noun="persona")
    form.add(field)
    assert field.widget.value == "Priya"
    assert "wb-persona-name" in field.widget._dom_classes
    before = ws.revision
    field.widget.value = "Priya the planner"
    assert on_disk(ws).persona("priya").name == "Priya the planner"
    assert form.revision == before + 1
    assert "revision" in form.status_label.value
    assert field.error_text == ""
    assert form.callback_errors == []


def test_invalid_emotion_is_shown_and_not_saved(ws: OpenWorkspace) -> None:
    form = Form(ws, title="t", css="wb-form-test")
    path = ("journeys", {"persona": "priya"}, "stages", "awareness")
    field = form.bind(FieldSpec("emotion", "Emotion", "number"), path, noun="map")
    field.widget.value = "3"
    assert field.error_text == "must be at most 2"
    assert "must be at most 2" in field.error_label.value
    saved_cell = on_disk(ws).journeys[0].stages.get("awareness")  # empty cells are not written
    assert saved_cell is None or saved_cell.emotion is None
    assert ws.data.journeys[0].stages["awareness"].emotion is None  # memory unchanged too
    field.widget.value = "-1.5"
    assert field.error_text == ""
    assert on_disk(ws).journeys[0].stages["awareness"].emotion == -1.5
    assert form.callback_errors == []


def test_slider_emotion_saves(ws: OpenWorkspace) -> None:
    form = Form(ws, title="t", css="wb-form-test")
    path = ("journeys", {"persona": "priya"}, "stages", "awareness")
    field = form.bind(FieldSpec("emotion", "Emotion", "slider"), path, noun="map")
    assert isinstance(field.widget, widgets.FloatSlider)
    assert (field.widget.min, field.widget.max) == (-2, 2)
    field.widget.value = 1.5
    assert on_disk(ws).journeys[0].stages["awareness"].emotion == 1.5


def test_bad_colour_is_shown_and_not_saved(ws: OpenWorkspace) -> None:
    form = objectives_form.form(ws)
    colour = form.one("wb-client-branding-primary-color")
    field = next(f for f in form.parts["client"] if f.widget is colour)
    colour.value = "dark blue"
    assert "must be a colour like #1F4E79" in field.error_text
    assert on_disk(ws).client.branding.primary_color == "#1F4E79"
    colour.value = "#336699"
    assert field.error_text == ""
    assert on_disk(ws).client.branding.primary_color == "#336699"
    assert form.callback_errors == []


def test_non_number_text_is_refused(ws: OpenWorkspace) -> None:
    ws.data.objectives.append(Objective(id="faster", title="Faster deals"))
    ws.save()
    form = objectives_form.form(ws)
    target = form.one("wb-objective-target")
    target.value = "a lot"
    errors = [f.error_text for f in form.parts["objectives"].bound if f.widget is target]
    assert errors == ["must be a number, like 12 or 3.5 (leave empty if unknown)"]
    assert on_disk(ws).objectives[0].target is None
    target.value = "25%"
    assert on_disk(ws).objectives[0].target == 25.0


def test_reference_to_nothing_is_refused_and_reverted(ws: OpenWorkspace) -> None:
    form = Form(ws, title="t", css="wb-form-test")
    path = ("touchpoints", by_id("site"))
    field = form.bind(
        FieldSpec("stages", "Stages", "multi", options=[("A", "awareness")]), path, noun="tp"
    )
    # A stage id that no longer exists (deleted in another tab) must not reach the file.
    field._on_change({"new": ("gone",)})
    assert "refers to stage 'gone'" in field.error_text
    assert ws.data.touchpoint("site").stages == ["awareness"]
    assert on_disk(ws).touchpoint("site").stages == ["awareness"]


def test_conflict_shows_reload_and_reload_shows_the_other_edit(ws: OpenWorkspace) -> None:
    form = Form(ws, title="t", css="wb-form-test")
    field = form.bind(FieldSpec("name", "Name"), ("personas", by_id("priya")), noun="persona")
    form.add(field)
    other = open_workspace(ws.path)  # a second kernel
    other.data.persona("priya").summary = "Edited elsewhere"
    other.data.client.industry = "Retail"
    assert other.save()
    field.widget.value = "Mine"
    assert form.conflict_box.layout.display == "flex"
    assert "changed since you loaded it" in form.conflict
    assert on_disk(ws).persona("priya").name == "Priya"  # nothing overwritten
    form.one("wb-reload").click()
    assert form.conflict == "" and form.conflict_box.layout.display == "none"
    assert field.widget.value == "Priya"  # the form shows the file again
    assert ws.data.client.industry == "Retail"
    field.widget.value = "Mine again"
    assert on_disk(ws).persona("priya").name == "Mine again"
    assert on_disk(ws).persona("priya").summary == "Edited elsewhere"
    assert form.callback_errors == []


def test_unexpected_callback_error_is_shown_in_the_form(ws: OpenWorkspace) -> None:
    form = Form(ws, title="t", css="wb-form-test")

    def broken() -> None:
        raise ZeroDivisionError("boom")

    button = form.button("Go", "wb-go", on_click=broken)
    button.click()  # must not raise, must not only log
    assert form.callback_errors == ["Unexpected error (ZeroDivisionError): boom"]
    assert "ZeroDivisionError" in form.error_label.value


def test_list_editor_add_edit_remove(ws: OpenWorkspace) -> None:
    form = Form(ws, title="t", css="wb-form-test")
    editor = ListEditor(
        form,
        path=("personas",),
        noun="persona",
        fields=[FieldSpec("name", "Name"), FieldSpec("goals", "Goals", "lines")],
        new_item=lambda i, n: Persona(id=i, name=n),
    )
    form.add(personas=editor)
    editor.add_button.click()
    assert "Type a name" in editor.message.value
    editor.new_name.value = "Olu <the> Owner"
    editor.add_button.click()
    assert editor.selected == "olu-the-owner"
    assert on_disk(ws).persona("olu-the-owner").name == "Olu <the> Owner"
    assert "&lt;the&gt;" in editor.message.value  # user text escaped in HTML
    form.one("wb-persona-goals").value = "Win budget\n\n  Hire two people  \n"
    assert on_disk(ws).persona("olu-the-owner").goals == ["Win budget", "Hire two people"]
    # the same name again gets its own id
    editor.new_name.value = "Olu <the> Owner"
    editor.add_button.click()
    assert [p.id for p in on_disk(ws).personas] == ["priya", "olu-the-owner", "olu-the-owner-2"]
    # a persona with a map cannot be removed while the map refers to it
    editor.select("priya")
    editor.remove_button.click()
    assert "still used" in editor.message.value and "journeys[0].persona" in editor.message.value
    assert "priya" in [p.id for p in on_disk(ws).personas]
    editor.select("olu-the-owner-2")
    editor.remove_button.click()
    assert [p.id for p in on_disk(ws).personas] == ["priya", "olu-the-owner"]
    assert form.callback_errors == []


def test_picker_label_follows_a_rename(ws: OpenWorkspace) -> None:
    form = Form(ws, title="t", css="wb-form-test")
    editor = ListEditor(
        form,
        path=("personas",),
        noun="persona",
        fields=[FieldSpec("name", "Name")],
        new_item=lambda i, n: Persona(id=i, name=n),
    )
    editor.bound[0].widget.value = "Priya P."
    assert editor.picker.options == (("Priya P.", "priya"),)
    assert editor.selected == "priya"


def test_save_button_saves_pending_changes(ws: OpenWorkspace) -> None:
    form = Form(ws, title="t", css="wb-form-test")
    ws.data.client.engagement = "Spring review"  # changed outside a bound field
    form.one("wb-save").click()
    assert on_disk(ws).client.engagement == "Spring review"
    assert form.status == f"Saved (revision {ws.revision})"
    form.one("wb-save").click()
    assert form.status == "No change to save"
    assert form.callback_errors == []


def test_public_api_is_listed_and_import_stays_light() -> None:
    import subprocess
    import sys

    import workbook.course
    import workbook.forms

    for module in (workbook.forms, workbook.course):
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert missing == [], f"{module.__name__}.__all__ names what it does not define"
    code = "import sys, workbook; print(sorted({'ipywidgets', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
