"""What the forms say: labels in the consultant's words (KPI, not Kpi), names not ids, numbers
aligned as numbers. Headless: the widgets are read and clicked in Python."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from workbook.forms import objectives as objectives_form
from workbook.forms._binding import Form, ListEditor, path_text, sentence_case, spoken
from workbook.forms._parts import RowList
from workbook.store import OpenWorkspace, new_workspace


@pytest.fixture
def ws(tmp_path: Path) -> OpenWorkspace:
    return new_workspace("Acme Test", directory=tmp_path)


@pytest.mark.parametrize(
    ("text", "said", "label"),
    [
        ("kpi", "KPI", "KPI"),
        ("okr", "OKR", "OKR"),
        ("crm_goal", "CRM goal", "CRM goal"),
        ("seo", "SEO", "SEO"),
        ("landing_url", "landing URL", "Landing URL"),
        ("icp", "ICP", "ICP"),
        ("scoring rule", "scoring rule", "Scoring rule"),
        ("recommendation", "recommendation", "Recommendation"),
        ("topic", "topic", "Topic"),  # an acronym inside a word stays as it is
    ],
)
def test_names_from_code_are_said_with_their_abbreviations_in_capitals(
    text: str, said: str, label: str
) -> None:
    assert spoken(text) == said
    assert sentence_case(text) == label


def test_the_kpi_and_okr_lists_say_kpi_and_okr(ws: OpenWorkspace) -> None:
    f = objectives_form.form(ws)
    kpis, okrs = f.parts["kpis"], f.parts["okrs"]
    assert isinstance(kpis, ListEditor) and isinstance(okrs, ListEditor)
    assert (kpis.picker.description, okrs.picker.description) == ("KPI", "OKR")
    assert "No KPI yet" in kpis.editor.children[0].value
    assert "No OKR yet" in okrs.editor.children[0].value
    kpis.add_button.click()
    assert kpis.message.value.endswith(">Type a name for the new KPI first.</span>")
    kpis.new_name.value = "Demo requests answered"
    kpis.add_button.click()
    assert "Added KPI &#x27;Demo requests answered&#x27;." in kpis.message.value
    # still classed by the noun, so browser tests and the app's CSS keep finding it
    assert f.one("wb-kpi-select") is kpis.picker
    okrs.new_name.value = "Answer faster"
    okrs.add_button.click()
    key_results = f.parts["key result"]
    key_results.new_name.value = "Every demo request answered within a day"
    key_results.add_button.click()
    (todos,) = [w for w in f.walk() if isinstance(w, RowList)]
    assert todos.rows.children[0].value == "<i>No to-do yet.</i>"
    assert f.one("wb-todo-new").placeholder == "a new to-do"
    assert f.callback_errors == []


def test_every_label_of_every_form_writes_abbreviations_in_capitals(ws: OpenWorkspace) -> None:
    """No 'Kpi', 'Okr', 'Crm' or 'Url' in a description, placeholder or option of any form."""
    import importlib
    import re

    import ipywidgets as widgets

    from workbook.forms._binding import ACRONYMS

    odd = re.compile(r"\b(" + "|".join(a.capitalize() for a in ACRONYMS) + r")\b")
    texts = []
    for name in ("objectives", "personas", "touchpoints", "stages", "data", "refine"):
        f: Form = importlib.import_module(f"workbook.forms.{name}").form(ws)
        for w in f.walk():
            texts += [getattr(w, a, "") for a in ("description", "placeholder")]
            if isinstance(w, widgets.Dropdown):
                texts += [label for label, _ in w.options]
    assert len(texts) > 50
    assert [t for t in texts if isinstance(t, str) and odd.search(t)] == []


def test_a_place_in_the_workspace_says_field_names_with_their_abbreviations() -> None:
    assert path_text("campaign.seo") == "campaign, SEO"


@pytest.fixture
def mapped(ws: OpenWorkspace) -> OpenWorkspace:
    """A persona with a map, a stage renamed by the consultant and a touchpoint on it."""
    from workbook.model import Journey, Persona, Touchpoint

    ws.data.personas.append(Persona(id="priya", name="Priya"))
    ws.data.stages[-1].name = "Renewal time"
    last = ws.data.stages[-1].id
    ws.data.touchpoints.append(
        Touchpoint(id="news", name="Monthly newsletter", channel="email", stages=[last])
    )
    ws.data.journeys.append(Journey(persona="priya"))
    ws.save()
    return ws


def test_step_7_annotations_name_the_stage_and_touchpoint_as_named(mapped: OpenWorkspace) -> None:
    from workbook.forms import refine

    f = refine.form(mapped)
    notes = f.parts["map"].annotations
    last = mapped.data.stages[-1].id
    notes.kind.value = "best-moment"
    notes.stage.value = last
    notes.touchpoint.value = next(v for label, v in notes.touchpoint.options if label != "(none)")
    notes.note.value = "They read it on the train"
    notes.add_button.click()
    assert f.callback_errors == []
    (row,) = notes.items.children
    assert row.children[1].value == (
        "Best moment at Renewal time (Monthly newsletter): They read it on the train"
    )
    assert mapped.data.journey("priya").annotations[0].stage == last  # stored by id


def test_a_new_recommendation_waits_for_its_stage_to_be_picked(mapped: OpenWorkspace) -> None:
    from workbook.forms import refine
    from workbook.store import open_workspace

    f = refine.form(mapped)
    editor = f.parts["map"].recommendations
    stage = f.one("wb-recommendation-new-stage")
    assert stage.value == "" and stage.options[0] == ("(pick its stage)", "")
    assert stage in editor.children[1].children  # next to the name and Add
    editor.new_name.value = "Send the renewal reminder a month ahead"
    editor.add_button.click()
    assert "Not added: pick the stage it is for first" in editor.message.value
    assert open_workspace(mapped.path).data.journey("priya").recommendations == []
    stage.value = mapped.data.stages[-1].id  # not the first stage: the one it is about
    editor.add_button.click()
    (rec,) = open_workspace(mapped.path).data.journey("priya").recommendations
    assert rec.stage == mapped.data.stages[-1].id != mapped.data.stages[0].id
    shown = next(b for b in editor.bound if b.spec and b.spec.attr == "stage")
    assert shown.widget.label == "Renewal time"
    assert stage.value == rec.stage  # kept for the next recommendation at that stage
    assert f.callback_errors == []


class _Cells(HTMLParser):
    """The cells of an HTML table: (tag, style, text) row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append((tag, dict(attrs).get("style") or "", ""))

    def handle_data(self, data: str) -> None:
        if self.rows and self.rows[-1]:
            tag, style, text = self.rows[-1][-1]
            self.rows[-1][-1] = (tag, style, text + data)


def _right(style: str) -> bool:
    return "text-align:right" in style.replace(" ", "")


def test_the_data_forms_counts_are_right_aligned(ws: OpenWorkspace, tmp_path: Path) -> None:
    from workbook.crm.generate import generate, write_export
    from workbook.forms import data as data_form

    export = write_export(generate(ws.data, contacts=120, seed=3), "hubspot", tmp_path / "x")
    f = data_form.form(ws)
    f.one("wb-data-file").value = str(export)
    f.one("wb-import").click()
    assert f.callback_errors == []
    reach = _Cells()
    reach.feed(f.one("wb-data-reach").value)
    assert len(reach.rows) == 1 + len(ws.data.stages)
    for row in reach.rows:  # heading and every stage: the name left, the count right
        (_, name_style, _), (_, count_style, count) = row
        assert not _right(name_style) and _right(count_style), row
    assert any(c[2].replace(",", "").isdigit() for _, c in reach.rows[1:])
    sources = _Cells()
    sources.feed(f.one("wb-data-sources").value)
    head, row = sources.rows
    right = [t for (_, s, t) in head if _right(s)]
    assert right == ["Rows", "Set aside"]
    assert all("text-align:left" in s for (_, s, t) in head if t not in right)  # not centred
    assert [t for (_, s, t) in row if _right(s)] == [f"{ws.data.data_sources[0].rows:,}", "0"]
