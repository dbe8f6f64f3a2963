"""The shared form binding: autosave to disk, validation next to the field, conflicts, errors.

Forms are driven the way ipywidgets' own tests do it: set ``.value`` and ``click()`` buttons,
no kernel and no browser. Every effect is checked ON DISK by reopening the workspace, which is
what "survives a kernel restart" means.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    assert path_text(("personas", by_id("priya")), "name") == "persona priya, name"
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
    assert form.status == "Not saved: touchpoint Website, Stages (see the message under it)"
    field._on_change({"new": ("awareness",)})  # back to what is on disk: nothing is pending
    assert field.error_text == "" and not form.status.startswith("Not saved")


def test_stale_save_is_merged_with_the_other_views_save(ws: OpenWorkspace) -> None:
    form = Form(ws, title="t", css="wb-form-test", watch=False)  # stays on its old revision
    field = form.bind(FieldSpec("name", "Name"), ("personas", by_id("priya")), noun="persona")
    form.add(field)
    other = open_workspace(ws.path)  # a second kernel
    other.data.persona("priya").summary = "Edited elsewhere"
    other.data.client.industry = "Retail"
    assert other.save()
    field.widget.value = "Mine"
    saved = on_disk(ws)
    assert saved.persona("priya").name == "Mine"  # nothing refused, nothing overwritten
    assert saved.persona("priya").summary == "Edited elsewhere"
    assert saved.client.industry == "Retail"
    assert saved.revision == other.revision + 1
    assert form.conflict == "" and form.conflict_box.layout.display == "none"
    assert form.status == f"Saved with the changes of another view (revision {saved.revision})"
    assert ws.data.client.industry == "Retail"  # the form's copy is the merged one
    field.widget.value = "Mine again"  # and the next save is an ordinary one
    assert on_disk(ws).persona("priya").name == "Mine again"
    assert form.status == f"Saved (revision {saved.revision + 1})"
    assert form.callback_errors == []


def _name_form(ws: OpenWorkspace, *, watch: bool = True) -> tuple[Form, Any, Any]:
    form = Form(ws, title="t", css="wb-form-test", watch=watch)
    name = form.bind(FieldSpec("name", "Name"), ("personas", by_id("priya")), noun="persona")
    summary = form.bind(
        FieldSpec("summary", "Summary", "textarea"), ("personas", by_id("priya")), noun="persona"
    )
    form.add(name, summary)
    return form, name.widget, summary.widget


def _wait_for(condition: Callable[[], bool], seconds: float = 1.0) -> float:
    """Seconds until ``condition()`` held; fails after ``seconds``."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, "not seen within the time allowed"
        time.sleep(0.01)
    return time.monotonic() - start


def test_a_save_appears_in_another_view_within_a_second(ws: OpenWorkspace) -> None:
    view_a, name_a, summary_a = _name_form(open_workspace(ws.path))
    view_b, name_b, summary_b = _name_form(open_workspace(ws.path))
    assert view_b.watching
    name_a.value = "Priya from A"
    took = _wait_for(lambda: name_b.value == "Priya from A")
    assert took < 1.0
    assert view_b.revision == on_disk(ws).revision
    assert "another view" in view_b.status
    summary_b.value = "Summary from B"  # B is up to date: an ordinary save
    _wait_for(lambda: summary_a.value == "Summary from B")
    saved = on_disk(ws).persona("priya")
    assert (saved.name, saved.summary) == ("Priya from A", "Summary from B")
    assert view_a.callback_errors == view_b.callback_errors == []
    view_b.close()
    assert not view_b.watching
    name_a.value = "After B closed"
    time.sleep(0.6)
    assert name_b.value == "Priya from A"  # a closed view no longer follows


def test_two_forms_on_one_open_workspace_follow_each_other(ws: OpenWorkspace) -> None:
    view_a, name_a, _ = _name_form(ws)
    view_b, name_b, _ = _name_form(ws)
    name_a.value = "Priya P."
    _wait_for(lambda: name_b.value == "Priya P.")
    assert view_b.revision == view_a.revision == ws.revision


def test_same_field_changed_in_both_views_offers_both_values(ws: OpenWorkspace) -> None:
    view_a, name_a, summary_a = _name_form(open_workspace(ws.path), watch=False)
    view_b, name_b, _ = _name_form(open_workspace(ws.path), watch=False)
    summary_a.value = "A's summary"  # another field: merged into B's save, no question
    name_a.value = "Priya from A"
    name_b.value = "Priya from B"
    assert on_disk(ws).persona("priya").name == "Priya from A"  # theirs kept until chosen
    assert on_disk(ws).persona("priya").summary == "A's summary"
    [choice] = view_b.find("wb-conflict-choice")
    text = html.unescape(re.sub("<[^>]+>", "", choice.children[0].value))
    # Named as this view showed it; the value typed here is offered, not dropped.
    assert "persona Priya, name was changed in another view to" in text
    assert "Priya from A" in text and "Priya from B" in text  # both values, typed one kept
    assert view_b.conflict_box.layout.display == "flex"
    assert view_b.reload_button.layout.display == "none"  # it would drop the typed value
    assert view_b.status.startswith("Not saved yet: 1 change made here and in another view")
    assert "Saved" not in view_b.status
    view_b.one("wb-use-mine").click()
    assert on_disk(ws).persona("priya").name == "Priya from B"
    assert view_b.conflicts == [] and view_b.conflict == ""
    assert view_b.find("wb-conflict-choice") == []
    assert view_b.status == f"Saved (revision {on_disk(ws).revision})"
    assert name_b.value == "Priya from B"
    # The other way round: A is now stale, changes the name again and keeps B's.
    name_a.value = "Priya again from A"
    assert "Priya from B" in view_a.conflict and "Priya again from A" in view_a.conflict
    assert name_a.value == "Priya from B"  # the field shows what is on disk
    view_a.one("wb-keep-theirs").click()
    assert on_disk(ws).persona("priya").name == "Priya from B"
    assert view_a.conflicts == [] and view_a.status.startswith("Saved")
    assert view_a.callback_errors == view_b.callback_errors == []


def test_a_removed_item_edited_elsewhere_asks_before_it_is_lost(ws: OpenWorkspace) -> None:
    ws.data.personas.append(Persona(id="olu", name="Olu"))
    ws.save()
    view = Form(ws, title="t", css="wb-form-test", watch=False)
    field = view.bind(FieldSpec("name", "Name"), ("personas", by_id("olu")), noun="persona")
    other = open_workspace(ws.path)
    other.data.personas = [p for p in other.data.personas if p.id != "olu"]
    other.save()
    field.widget.value = "Olu the owner"
    assert "olu" not in [p.id for p in on_disk(ws).personas]
    assert "persona Olu" in view.conflict and "(removed)" in view.conflict
    assert "Olu the owner" in view.conflict
    view.one("wb-use-mine").click()
    assert on_disk(ws).persona("olu").name == "Olu the owner"


def test_a_conflict_on_a_list_of_ids_shows_names(ws: OpenWorkspace) -> None:
    ws.data.touchpoints.append(Touchpoint(id="insta", name="Instagram account", channel="social"))
    ws.save()
    form = Form(ws, title="t", css="wb-form-test", watch=False)
    cell = ("journeys", {"persona": "priya", "icp": None}, "stages", "awareness")
    field = form.bind(
        FieldSpec("touchpoints", "Touchpoints", "multi", options=[("W", "site"), ("I", "insta")]),
        cell,
        noun="map",
    )
    other = open_workspace(ws.path)
    other.data.journeys[0].stages["awareness"] = MapCell(touchpoints=["site"])
    other.save()
    field.widget.value = ("insta",)
    assert form.conflict == (
        "Priya's map, Awareness stage, touchpoints: Website or Instagram account"
    )
    form.one("wb-use-mine").click()
    assert on_disk(ws).journeys[0].stages["awareness"].touchpoints == ["insta"]


def _persona_editor(ws: OpenWorkspace) -> tuple[Form, ListEditor]:
    form = Form(ws, title="t", css="wb-form-test", watch=False)
    editor = ListEditor(
        form,
        path=("personas",),
        noun="persona",
        fields=[FieldSpec("name", "Name"), FieldSpec("summary", "Summary", "textarea")],
        new_item=lambda i, n: Persona(id=i, name=n),
    )
    form.add(personas=editor)
    return form, editor


def test_a_persona_added_in_one_view_and_another_edited_in_a_stale_view(
    ws: OpenWorkspace,
) -> None:
    view_a, editor_a = _persona_editor(open_workspace(ws.path))
    view_b, editor_b = _persona_editor(open_workspace(ws.path))
    editor_a.new_name.value = "Sofia"
    editor_a.add_button.click()
    view_b.one("wb-persona-summary").value = "Edited in B"
    saved = on_disk(ws)
    assert [p.id for p in saved.personas] == ["priya", "sofia"]
    assert saved.persona("priya").summary == "Edited in B"
    assert [v for _, v in editor_b.picker.options] == ["priya", "sofia"]  # B shows A's add
    editor_b.new_name.value = "Graham"  # and B's own add goes after it
    editor_b.add_button.click()
    view_a.one("wb-undo").click()  # A takes back its add; B's edits stay
    assert [p.id for p in on_disk(ws).personas] == ["priya", "graham"]
    assert on_disk(ws).persona("priya").summary == "Edited in B"
    assert view_a.callback_errors == view_b.callback_errors == []


def test_undo_and_redo_twenty_steps_each_a_save(ws: OpenWorkspace) -> None:
    view, name, _ = _name_form(ws, watch=False)
    assert view.one("wb-undo").disabled and view.one("wb-redo").disabled
    start = on_disk(ws).revision
    for n in range(1, 26):
        name.value = f"Priya {n}"
    assert on_disk(ws).revision == start + 25
    other = open_workspace(ws.path)  # someone else's later change must survive the undos
    other.data.client.industry = "Retail"
    other.save()
    for k in range(1, 21):
        view.one("wb-undo").click()
        saved = on_disk(ws)
        assert saved.persona("priya").name == f"Priya {25 - k}", k
        assert saved.revision == start + 26 + k  # each undo is a save of its own
        assert saved.client.industry == "Retail"
        assert name.value == f"Priya {25 - k}"
    assert view.status == f"Undone: persona Priya 5, name (revision {start + 46})"
    assert not view.one("wb-redo").disabled
    for k in range(1, 21):
        view.one("wb-redo").click()
        assert on_disk(ws).persona("priya").name == f"Priya {5 + k}", k
    assert on_disk(ws).revision == start + 26 + 40
    assert view.one("wb-redo").disabled
    view.one("wb-undo").click()
    name.value = "Something new"  # a new change forgets what could be redone
    assert view.one("wb-redo").disabled
    assert view.callback_errors == []


def test_undo_of_a_field_changed_since_in_another_view_asks(ws: OpenWorkspace) -> None:
    view, name, _ = _name_form(ws)
    name.value = "Priya mine"
    other = open_workspace(ws.path)
    other.data.persona("priya").name = "Priya theirs"
    other.save()
    _wait_for(lambda: name.value == "Priya theirs")
    view.one("wb-undo").click()
    assert on_disk(ws).persona("priya").name == "Priya theirs"  # not taken back silently
    assert view.conflict == "persona Priya theirs, name: Priya theirs or Priya"
    view.one("wb-use-mine").click()
    assert on_disk(ws).persona("priya").name == "Priya"
    assert view.callback_errors == []


def test_status_never_says_saved_while_the_change_is_not_on_disk(ws: OpenWorkspace) -> None:
    form = Form(ws, title="t", css="wb-form-test", watch=False)
    path = ("journeys", {"persona": "priya"}, "stages", "awareness")
    emotion = form.bind(FieldSpec("emotion", "Emotion", "number"), path, noun="map")
    name = form.bind(FieldSpec("name", "Name"), ("personas", by_id("priya")), noun="persona")
    form.add(emotion, name)
    emotion.widget.value = "3"
    assert form.status == (
        "Not saved: Priya's map, Awareness stage, Emotion (see the message under it)"
    )
    name.widget.value = "Priya P."  # saved, but the emotion typed is still not on disk
    assert on_disk(ws).persona("priya").name == "Priya P."
    assert form.status.startswith("Not saved: Priya P.'s map, Awareness stage, Emotion")
    emotion.widget.value = "1"
    assert on_disk(ws).journeys[0].stages["awareness"].emotion == 1
    assert form.status == f"Saved (revision {on_disk(ws).revision})"
    # A form-level error goes away once the next save succeeds.
    ws.data.touchpoints[0].stages = ["gone"]
    form.one("wb-save").click()
    assert "touchpoint Website, stages" in html.unescape(form.error_label.value)
    assert form.status.startswith("Not saved: touchpoint Website, stages")
    ws.data.touchpoints[0].stages = ["awareness"]
    ws.data.client.industry = "Retail"
    form.one("wb-save").click()
    assert form.error_label.value == ""
    assert form.status == f"Saved (revision {on_disk(ws).revision})"


def test_following_keeps_a_refused_value_as_typed(ws: OpenWorkspace) -> None:
    form = Form(ws, title="t", css="wb-form-test")
    path = ("journeys", {"persona": "priya"}, "stages", "awareness")
    emotion = form.bind(FieldSpec("emotion", "Emotion", "number"), path, noun="map")
    form.add(emotion)
    emotion.widget.value = "7"
    other = open_workspace(ws.path)
    other.data.client.industry = "Retail"
    other.save()
    _wait_for(lambda: form.revision == other.revision)
    assert emotion.widget.value == "7" and emotion.error_text == "must be at most 2"
    assert form.status.startswith("Not saved:")


def test_a_field_whose_item_is_removed_elsewhere_says_so(ws: OpenWorkspace) -> None:
    ws.data.personas.append(Persona(id="olu", name="Olu"))
    ws.save()
    form = Form(ws, title="t", css="wb-form-test")
    field = form.bind(FieldSpec("name", "Name"), ("personas", by_id("olu")), noun="persona")
    form.add(field)
    other = open_workspace(ws.path)
    other.data.personas = [p for p in other.data.personas if p.id != "olu"]
    other.save()
    _wait_for(lambda: field.widget.disabled)
    assert "removed in another view" in field.error_label.value
    assert form.status.startswith("Up to date with another view's save")


def test_unsaved_changes_in_the_copy_wait_and_the_status_says_so(ws: OpenWorkspace) -> None:
    view, name, _ = _name_form(ws)
    ws.data.client.industry = "Retail"  # changed in a notebook cell, not saved
    other = open_workspace(ws.path)
    other.data.persona("priya").summary = "From elsewhere"
    other.save()
    _wait_for(lambda: "press Save to merge" in view.status)
    assert view.status.startswith("Not saved: this view holds changes not saved yet")
    view.one("wb-save").click()
    saved = on_disk(ws)
    assert (saved.client.industry, saved.persona("priya").summary) == ("Retail", "From elsewhere")
    assert view.status.startswith("Saved with the changes of another view")


def test_an_unreadable_save_elsewhere_is_shown_and_goes_away_when_fixed(
    ws: OpenWorkspace,
) -> None:
    view, name, _ = _name_form(ws)
    good = ws.file.read_text()
    revision = ws.revision
    broken = good.replace(f"revision: {revision}", f"revision: {revision + 1}")
    ws.file.write_text(broken.replace("name: Priya", "name: [Priya"))  # a hand edit gone wrong
    _wait_for(lambda: "cannot be read" in view.status)
    assert name.value == "Priya"  # the last good version stays on screen
    assert "workspace.yaml" in view.error_label.value
    fixed = good.replace(f"revision: {revision}", f"revision: {revision + 2}")
    ws.file.write_text(fixed.replace("name: Priya", "name: Priya fixed"))
    _wait_for(lambda: name.value == "Priya fixed")
    assert view.error_label.value == "" and "cannot be read" not in view.status
    assert view.status == f"Up to date with another view's save (revision {revision + 2})"
    assert view.callback_errors == []


def test_paths_are_named_as_the_consultant_knows_them(ws: OpenWorkspace) -> None:
    ws.data.personas[0].name = "Amara, the time-poor Londoner"
    data = ws.data
    cell = ("journeys", {"persona": "priya", "icp": None}, "stages", "awareness")
    assert (
        path_text((*cell, "touchpoints"), data=data) == "Amara's map, Awareness stage, touchpoints"
    )
    assert path_text("journeys[0].stages.awareness.emotion", data=data) == (
        "Amara's map, Awareness stage, emotion"
    )
    assert path_text("journeys[priya].persona", data=data) == "Amara's map, persona"
    assert path_text(("touchpoints", by_id("site")), "stages", data=data) == (
        "touchpoint Website, stages"
    )
    assert path_text("client.branding.primary_color", data=data) == (
        "client, branding, primary colour"
    )
    assert path_text(("personas", by_id("priya")), "demographics.role", label="Role") == (
        "persona priya, Role"
    )


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
    # a name that makes the same id gets its own id
    editor.new_name.value = "Olu (the) Owner"
    editor.add_button.click()
    assert [p.id for p in on_disk(ws).personas] == ["priya", "olu-the-owner", "olu-the-owner-2"]
    # a persona with a map cannot be removed while the map refers to it
    editor.select("priya")
    editor.remove_button.click()
    message = html.unescape(editor.message.value)
    assert "persona Priya is still used by Priya's map" in message
    assert "journeys[" not in message  # named as the consultant knows it, not a YAML path
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
