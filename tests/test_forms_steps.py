"""Each step's form on a copy of the demo workspace: type, click, then reopen and check the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbook.forms import Form, journeymap, objectives, personas, refine, stages, touchpoints
from workbook.forms import data as data_form
from workbook.model import ICP_QUESTIONS
from workbook.store import OpenWorkspace, open_workspace

STEP_FORMS = [objectives, personas, touchpoints, stages, data_form, journeymap, refine]


@pytest.fixture
def ws(demo_copy: Path) -> OpenWorkspace:
    return open_workspace(demo_copy)


def reopened(ws: OpenWorkspace) -> Any:
    return open_workspace(ws.path).data


def assert_clean(form: Form) -> None:
    assert form.callback_errors == []
    assert form.error_label.value == ""
    assert form.conflict == ""


@pytest.mark.parametrize("module", STEP_FORMS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_opening_a_form_changes_nothing(ws: OpenWorkspace, module: Any) -> None:
    before = (ws.path / "workspace.yaml").read_bytes()
    form = module.form(ws)
    assert "wb-form" in form._dom_classes
    assert (
        not ws.dirty or module is journeymap or module is refine
    )  # empty cells live in memory only
    assert (ws.path / "workspace.yaml").read_bytes() == before
    assert_clean(form)


def test_objective_kpi_and_target(ws: OpenWorkspace) -> None:
    form = objectives.form(ws)
    editor = form.parts["objectives"]
    editor.new_name.value = "Cut onboarding time"
    form.one("wb-objective-add").click()
    form.one("wb-objective-kpi").value = "Median days from purchase to first use"
    form.one("wb-objective-baseline").value = "21"
    form.one("wb-objective-target").value = "10"
    form.one("wb-objective-crm-goal").value = "satisfaction"
    saved = next(o for o in reopened(ws).objectives if o.id == "cut-onboarding-time")
    assert (saved.kpi, saved.baseline, saved.target, saved.crm_goal) == (
        "Median days from purchase to first use",
        21.0,
        10.0,
        "satisfaction",
    )
    assert_clean(form)


def test_persona_fields_and_icp_checklist(ws: OpenWorkspace) -> None:
    form = personas.form(ws)
    form.parts["personas"].new_name.value = "Sam the switcher"
    form.one("wb-persona-add").click()
    form.one("wb-persona-goals").value = "Find a cheaper plan\nKeep the same features"
    form.one("wb-persona-pains").value = "Hidden fees"
    form.one("wb-persona-preferred-channels").value = ("email", "chat")
    form.one("wb-persona-demographics-role").value = "Office manager"
    saved = reopened(ws).persona("sam-the-switcher")
    assert saved.goals == ["Find a cheaper plan", "Keep the same features"]
    assert saved.pains == ["Hidden fees"]
    assert saved.preferred_channels == ["email", "chat"]
    assert saved.demographics.role == "Office manager"

    form.parts["icps"].new_name.value = "Rowing clubs"
    form.one("wb-icp-add").click()
    checklist = form.one("wb-icp-checklist")
    assert f"0 of {len(ICP_QUESTIONS)} answered" in checklist.value
    form.one("wb-icp-industry").value = "Sport clubs"
    assert f"1 of {len(ICP_QUESTIONS)} answered" in checklist.value
    # the new ICP is offered to the persona at once
    assert "rowing-clubs" in [v for _, v in form.one("wb-persona-icp").options]
    form.one("wb-persona-icp").value = "rowing-clubs"
    assert reopened(ws).persona("sam-the-switcher").icp == "rowing-clubs"
    assert_clean(form)


def test_touchpoint_stages_and_owner(ws: OpenWorkspace) -> None:
    form = touchpoints.form(ws)
    form.parts["touchpoints"].new_name.value = "Open day at the club"
    form.one("wb-touchpoint-add").click()
    tid = form.parts["touchpoints"].selected
    form.one("wb-touchpoint-stages").value = ("awareness", "consideration")
    form.one("wb-touchpoint-owner").value = "Events team"
    form.one("wb-touchpoint-channel").value = "event"
    form.one("wb-touchpoint-kind").value = "physical"
    saved = reopened(ws).touchpoint(tid)
    assert (saved.stages, saved.owner, saved.channel, saved.kind) == (
        ["awareness", "consideration"],
        "Events team",
        "event",
        "physical",
    )
    assert_clean(form)


def test_stage_criteria_and_order(ws: OpenWorkspace) -> None:
    form = stages.form(ws)
    first, second = ws.data.stage_ids()[:2]
    form.parts["stages"].select(first)
    form.one("wb-stage-exit-criteria").value = "Asks for a price"
    assert reopened(ws).stage(first).exit_criteria == "Asks for a price"
    form.one("wb-stage-down").click()
    assert reopened(ws).stage_ids()[:2] == [second, first]
    assert_clean(form)


def test_map_cell_and_emotion(ws: OpenWorkspace) -> None:
    form = journeymap.form(ws)
    persona = form.one("wb-map-persona").value
    stage = ws.data.stage_ids()[-1]
    form.one("wb-map-stage").value = stage
    form.one("wb-map-emotion").value = "-1.5"
    form.one("wb-map-pain-points").value = "Nobody calls back"
    cell = reopened(ws).journey(persona).stages[stage]
    assert cell.emotion == -1.5
    assert cell.pain_points == ["Nobody calls back"]
    assert "-1.5" in form.one("wb-map-emotions").value
    assert "Nobody calls back" in form.one("wb-map-preview").value
    assert_clean(form)


def _error_under(form: Form, css: str) -> str:
    from workbook.forms import BoundField

    widget = form.one(css)
    return str(
        next(w for w in form.walk() if isinstance(w, BoundField) and w.widget is widget).error_text
    )


def test_emotion_out_of_range_is_refused_not_clamped(ws: OpenWorkspace) -> None:
    form = journeymap.form(ws)
    persona = form.one("wb-map-persona").value
    stage = form.one("wb-map-stage").value
    before = reopened(ws).journey(persona).stages[stage].emotion
    for typed in ("5", "-2.5", "nan", "very happy"):
        form.one("wb-map-emotion").value = typed
        message = _error_under(form, "wb-map-emotion")
        assert "-2" in message and "+2" in message, typed
        assert reopened(ws).journey(persona).stages[stage].emotion == before, typed
    form.one("wb-map-emotion").value = "+1,5"
    assert _error_under(form, "wb-map-emotion") == ""
    assert reopened(ws).journey(persona).stages[stage].emotion == 1.5
    assert_clean(form)


def test_emotion_not_scored_and_neutral(ws: OpenWorkspace) -> None:
    form = journeymap.form(ws)
    persona = form.one("wb-map-persona").value
    stage = form.one("wb-map-stage").value
    form.one("wb-map-emotion-none").click()
    assert reopened(ws).journey(persona).stages[stage].emotion is None
    assert form.one("wb-map-emotion").value == ""
    assert "not scored" in form.one("wb-map-emotions").value
    form.one("wb-map-emotion-zero").click()
    assert reopened(ws).journey(persona).stages[stage].emotion == 0
    assert form.one("wb-map-emotion").value == "0"
    form.one("wb-map-emotion").value = ""
    assert reopened(ws).journey(persona).stages[stage].emotion is None
    assert_clean(form)


def test_refine_annotation_recommendation_snapshot_and_diff(ws: OpenWorkspace) -> None:
    form = refine.form(ws)
    persona = form.one("wb-refine-persona").value
    n_before = len(ws.data.journey(persona).annotations)
    form.one("wb-snapshot").click()
    assert "Write a note first" in form.one("wb-diff-output").value
    form.one("wb-snapshot-note").value = "before workshop 2"
    form.one("wb-snapshot").click()
    assert [s.note for s in ws.snapshots()][-1] == "before workshop 2"

    form.one("wb-annotation-kind").value = "worst-struggle"
    form.one("wb-annotation-note").value = "Waits a week for a <quote>"
    form.one("wb-annotation-add").click()
    annotations = reopened(ws).journey(persona).annotations
    assert len(annotations) == n_before + 1
    assert annotations[-1].note == "Waits a week for a <quote>"

    form.parts["map"].recommendations.new_name.value = "Send the quote within a day <b>now</b>"
    form.one("wb-recommendation-new-stage").value = ws.data.stages[-1].id
    form.one("wb-recommendation-add").click()
    tp = ws.data.touchpoints[0].id
    form.one("wb-recommendation-touchpoint").value = tp
    recs = reopened(ws).journey(persona).recommendations
    assert any(
        r.text == "Send the quote within a day <b>now</b>" and r.touchpoint == tp for r in recs
    )

    form.one("wb-diff").click()
    out = form.one("wb-diff-output").value
    assert "Send the quote within a day &lt;b&gt;now&lt;/b&gt;" in out  # user text escaped
    assert "<b>now</b>" not in out
    # named as the consultant knows it, never as an internal path
    name = next(p.name for p in ws.data.personas if p.id == persona).split(",")[0]
    assert f"{name}&#x27;s map, note Waits a week for a &lt;quote&gt;" in out, out
    assert "journeys[" not in out
    assert_clean(form)


def test_data_form_reports_missing_file(ws: OpenWorkspace) -> None:
    form = data_form.form(ws)
    for source in ws.data.data_sources:
        assert source.file in form.one("wb-data-sources").value
    form.one("wb-data-file").value = "no/such/export.csv"
    form.one("wb-import").click()
    assert "No file at no/such/export.csv" in form.one("wb-data-result").value
    assert_clean(form)


def _export(ws: OpenWorkspace, folder: Path, contacts: int = 200) -> Path:
    from workbook.crm.generate import generate, write_export

    return write_export(generate(ws.data, contacts=contacts, seed=3), "hubspot", folder)


def test_data_form_imports_a_crm_export(ws: OpenWorkspace, tmp_path: Path) -> None:
    export = _export(ws, tmp_path / "exports")
    before = len(ws.data.data_sources)
    form = data_form.form(ws)
    form.one("wb-data-file").value = str(export)
    form.one("wb-import").click()
    assert_clean(form)
    assert "imported as" in form.one("wb-data-result").value
    sources = reopened(ws).data_sources
    assert len(sources) == before + 1 and sources[-1].file == export.name
    assert export.name in form.one("wb-data-sources").value
    assert "Contacts who reached each stage" in form.one("wb-data-reach").value
    assert form.revision == reopened(ws).revision  # the form follows the importer's save


def test_data_form_shows_import_problems(ws: OpenWorkspace, tmp_path: Path) -> None:
    bad = tmp_path / "broken.csv"
    bad.write_text("just,some\nrandom,columns\n", encoding="utf-8")
    before = reopened(ws).data_sources
    form = data_form.form(ws)
    form.one("wb-data-file").value = str(bad)
    form.one("wb-import").click()
    assert "Not imported" in form.one("wb-data-result").value
    assert reopened(ws).data_sources == before
    assert_clean(form)


def test_data_form_import_redraws_the_step_header(tmp_path: Path) -> None:
    from workbook.forms import open_step
    from workbook.forms._header import shown_headers
    from workbook.store import new_workspace

    folder = new_workspace("Acme", preset="d2c-retail", directory=tmp_path).path
    ws = open_step(folder, "data")
    assert not ws.data.data_sources
    [header] = shown_headers(ws)
    assert "no CRM data imported yet" in header
    form = data_form.form(ws)
    form.one("wb-data-file").value = str(_export(ws, tmp_path / "exports"))
    form.one("wb-import").click()
    assert_clean(form)
    [header] = shown_headers(ws)
    assert "no CRM data imported yet" not in header
    assert f"(revision {reopened(ws).revision})" in header


def test_data_form_refresh_shows_an_import_made_elsewhere(tmp_path: Path) -> None:
    from workbook.crm.importer import import_file
    from workbook.forms import open_step
    from workbook.forms._header import shown_headers
    from workbook.store import new_workspace

    folder = new_workspace("Acme", preset="d2c-retail", directory=tmp_path).path
    ws = open_step(folder, "data")
    assert "no CRM data imported yet" in shown_headers(ws)[0]
    form = data_form.form(ws)
    export = _export(ws, tmp_path / "exports")
    import_file(ws.path, export)  # at the command line, or in another notebook
    form.one("wb-data-refresh").click()
    assert export.name in form.one("wb-data-sources").value
    assert "Contacts who reached each stage" in form.one("wb-data-reach").value
    assert "no CRM data imported yet" not in shown_headers(ws)[0]
    assert_clean(form)


def test_every_step_form_keeps_its_header_up_to_date(demo_copy: Path) -> None:
    from workbook.forms import open_step
    from workbook.forms._header import shown_headers

    ws = open_step(demo_copy, "objectives")
    form = objectives.form(ws)
    form.parts["objectives"].new_name.value = "Halve the returns"
    form.one("wb-objective-add").click()
    header = shown_headers(ws)[0]
    assert "objective &#x27;halve-the-returns&#x27; has no KPI" in header
    assert f"(revision {reopened(ws).revision})" in header
    assert_clean(form)


@pytest.mark.parametrize(
    ("name", "channel", "kind"),
    [
        ("WhatsApp reorder line", "whatsapp", "digital"),
        ("Mobile app onboarding", "app", "digital"),
        ("Instagram stories", "social", "digital"),
        ("Showroom visit", "store", "physical"),
        ("Happy-path checkout page", "web", "digital"),
        ("Text message reminder", "sms", "digital"),
        ("Face-to-face fitting", "face-to-face", "physical"),
        ("Appointment letter", "post", "physical"),
    ],
)
def test_new_touchpoint_channel_from_whole_words(
    ws: OpenWorkspace, name: str, channel: str, kind: str
) -> None:
    form = touchpoints.form(ws)
    form.parts["touchpoints"].new_name.value = name
    form.one("wb-touchpoint-add").click()
    saved = reopened(ws).touchpoint(form.parts["touchpoints"].selected)
    assert (saved.name, saved.channel, saved.kind) == (name, channel, kind)
    assert form.one("wb-touchpoint-channel").value == channel
    assert_clean(form)
