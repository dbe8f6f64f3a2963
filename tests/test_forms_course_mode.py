"""Step notebooks in course mode: the header counts what the exercise check counts, and the
objective form says which fields the course requires. Headless."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbook import course, method
from workbook.forms import objectives as objectives_form
from workbook.forms import open_step, step_header
from workbook.model import Objective
from workbook.store import OpenWorkspace, new_workspace


@pytest.fixture
def ws(tmp_path: Path) -> OpenWorkspace:
    """One objective the course's check passes, while the engagement checklist still wants a
    due date, a CRM goal, KPIs and OKRs (the trainee's case: '1. Objectives: 4 to do')."""
    ws = new_workspace("Acme Test", directory=tmp_path)
    ws.data.objectives.append(
        Objective(
            id="faster",
            title="Shorten the path to purchase",
            kpi="Consideration-to-purchase rate",
            metric="conversion:consideration:purchase",
            unit="%",
            baseline=18,
            target=25,
            owner="Head of sales",
        )
    )
    ws.save()
    return ws


def test_the_course_header_shows_the_exercise_check_not_the_engagement_checklist(
    ws: OpenWorkspace,
) -> None:
    assert course.check_objectives(ws).ok
    assert len(method.completeness(ws.data)[0].missing) == 4
    workshop = step_header(ws, "objectives", "workshop")
    assert "1. Define objectives: 4 to do" in workshop
    header = step_header(ws, "objectives", "course")
    assert "to do" not in header  # no badge that contradicts the exercise
    assert "the exercise check at the bottom of this notebook is what counts" in header
    assert '<li class="wb-exercise wb-exercise-done" data-check="objectives">' in header
    assert "<b>&#10003; Done</b>: The objective is measurable" in header
    ws.data.objectives[0].owner = ""
    header = step_header(ws, "objectives", "course")
    assert '<li class="wb-exercise wb-exercise-todo" data-check="objectives">' in header
    assert "<b>Not yet</b>" in header and "say who owns it" in header


def test_the_personas_step_shows_both_of_its_exercises(ws: OpenWorkspace) -> None:
    header = step_header(ws, "personas", "course")
    assert 'data-check="personas"' in header and 'data-check="icp"' in header
    assert "wb-exercise-done" not in header  # nothing done yet on a new workspace


def test_trainee_text_in_the_course_header_is_escaped(ws: OpenWorkspace) -> None:
    ws.data.objectives[0].title = "<script>x</script>"
    ws.data.objectives[0].owner = ""
    header = step_header(ws, "objectives", "course")
    assert "<script>" not in header and "&lt;script&gt;" in header


def test_the_objective_form_says_what_the_course_requires(ws: OpenWorkspace) -> None:
    shown = open_step(ws.path, "objectives", "course")
    f = objectives_form.form(shown)  # the mode is the one its header was opened in
    required = {
        attr: f.one(f"wb-objective-{attr}").placeholder
        for attr in ("metric", "baseline", "target", "owner")
    }
    assert required == {
        "metric": "conversion:consideration:purchase (required for the course)",
        "baseline": "18 (required for the course)",
        "target": "25 (required for the course)",
        "owner": "Head of sales (required for the course)",
    }
    assert f.one("wb-objective-kpi").placeholder == "Demo-to-purchase conversion rate"
    assert f.callback_errors == []


def test_the_objective_form_in_a_workshop_keeps_the_metric_optional(ws: OpenWorkspace) -> None:
    f = objectives_form.form(open_step(ws.path, "objectives", "workshop"))
    assert f.one("wb-objective-metric").placeholder == (
        "conversion:consideration:purchase (optional)"
    )
    assert f.one("wb-objective-owner").placeholder == "Head of sales"
    assert (
        "required"
        not in objectives_form.form(ws, mode="workshop").one("wb-objective-baseline").placeholder
    )
