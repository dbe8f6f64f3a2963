"""The course plan (workbook.syllabus) matches the notebooks on disk and the method."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from workbook import method, syllabus

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_every_course_notebook_is_a_lesson_in_order() -> None:
    on_disk = sorted(p.stem for p in NOTEBOOKS.glob("0*.ipynb"))
    assert [x.id for x in syllabus.LESSONS] == on_disk
    assert [x.step for x in syllabus.LESSONS[1:]] == [s.id for s in method.STEPS]
    for item, step in zip(syllabus.LESSONS[1:], method.STEPS, strict=True):
        assert f"notebooks/{item.notebook}" == step.notebook
        assert item.number == step.number
        assert item.phases == step.phases


def test_lessons_have_objectives_times_and_a_summary() -> None:
    for item in syllabus.LESSONS:
        assert len(item.objectives) >= 3 and len(item.did) >= 3, item.id
        assert 5 <= item.minutes <= 60 and item.minutes % 5 == 0, item.id
    assert syllabus.total_minutes() == 10 + 25 + 40 + 25 + 20 + 45 + 50 + 60
    assert list(syllabus.PHASE_SENTENCES) == [p.id for p in method.PHASES]
    for sentence in syllabus.PHASE_SENTENCES.values():
        assert sentence.count(". ") == 0 and sentence.endswith(".")  # one sentence each


def test_next_and_previous_walk_the_course() -> None:
    assert syllabus.next_lesson("00-start-here") is syllabus.lesson("01-objectives")
    assert syllabus.next_lesson("personas") is syllabus.lesson("03")
    assert syllabus.next_lesson("07-refine") is None
    assert syllabus.previous_lesson("00-start-here") is None
    assert syllabus.previous_lesson("01-objectives") is syllabus.LESSONS[0]
    with pytest.raises(KeyError, match="known: 00-start-here, 01-objectives"):
        syllabus.lesson("08-nothing")


def test_intro_and_outro_render_the_plan() -> None:
    box = syllabus.intro("02-personas")
    assert "about 40 minutes" in box._repr_html_() and "Discover" in box.html
    assert "answer the eight questions of the ideal customer profile" in str(box)
    out = syllabus.outro("02-personas")
    assert 'href="03-touchpoints.ipynb"' in out.html and "Step 3: List touchpoints" in out.html
    # the next notebook opens on the demo: the trainee is told to carry the parameters over
    assert "set <code>workspace</code> and <code>mode</code> in its first code cell" in out.html
    assert "set workspace and mode in its first code cell" in str(out)
    # ... which the course site, with no parameters to set, hides by its class
    assert '<span class="wb-carry-over">It opens on the demo' in out.html
    css = (NOTEBOOKS.parent / "templates" / "course" / "static" / "course.css").read_text()
    assert ".wb-carry-over { display: none; }" in css
    assert 'href="03-touchpoints.html"' in syllabus.outro("02-personas", suffix=".html").html
    last = syllabus.outro("07-refine")
    assert "After the course" in last.html and "href" not in last.html
    assert "<code>workbook report WORKSPACE</code>" in last.html
    assert "workbook monitor WORKSPACE" in str(last)
    # a trainee finishing the course is told how to hand the work in, first
    assert str(last).splitlines()[5].startswith("  1. Hand your work in")
    assert "<code>workbook course hand-in WORKSPACE</code>" in last.html
    assert "<code>workbook workshop WORKSPACE</code>" in last.html


def test_contents_lists_every_lesson_with_its_time() -> None:
    box = syllabus.contents(suffix=".html")
    for item in syllabus.LESSONS:
        assert f'href="{item.id}.html"' in box.html
    assert "4 h 35 min" in box.html  # 275 minutes in all
    assert box.html.count("<tr>") == len(syllabus.LESSONS) + 1
    text = str(syllabus.cycle())
    assert text.splitlines()[0].startswith("1. Discover")
    assert len(text.splitlines()) == 5


@pytest.mark.parametrize("item", syllabus.LESSONS, ids=lambda x: x.id)
def test_each_notebook_opens_with_its_objectives_and_closes_with_the_next(
    item: syllabus.Lesson,
) -> None:
    nb = nbformat.read(NOTEBOOKS / item.notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = next(c for c in code if "parameters" not in c.metadata.get("tags", []))
    assert f'workbook.syllabus.intro("{item.id}")' in first.source
    assert code[-1].source.strip().endswith(f'workbook.syllabus.outro("{item.id}")')
