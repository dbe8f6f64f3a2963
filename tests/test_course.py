"""Course checks: feedback for trainees, never an exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbook import course
from workbook.course import Feedback
from workbook.model import (
    ICP,
    ICP_QUESTIONS,
    Annotation,
    Journey,
    MapCell,
    Objective,
    Persona,
    Process,
    Recommendation,
    Stage,
    Touchpoint,
    Workspace,
)
from workbook.store import OpenWorkspace, new_workspace, open_workspace


def bare() -> Workspace:
    return Workspace(client={"name": "Acme", "slug": "acme"})


def test_feedback_renders_escaped_html_and_text() -> None:
    fb = Feedback(False, "Persona <b>", ["fix <script>"])
    html = fb._repr_html_()
    assert "wb-feedback-todo" in html
    assert "&lt;b&gt;" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert str(fb).startswith("Not yet: Persona <b>")
    assert not fb
    assert Feedback(True, "ok")


def test_objectives_need_kpi_and_target() -> None:
    ws = bare()
    assert course.check_objectives(ws).message == "No objective yet."
    ws.objectives.append(Objective(id="grow", title="Grow"))
    fb = course.check_objectives(ws)
    assert not fb.ok
    assert any("name the KPI" in h for h in fb.hints)
    assert any("numeric target" in h for h in fb.hints)
    ws.objectives[0].kpi = "Trial to paid conversion"
    ws.objectives[0].target = 25
    fb = course.check_objectives(ws)
    assert fb.ok
    assert any("baseline" in h for h in fb.hints)  # a suggestion, not a blocker


def test_personas_need_goals_pains_channels() -> None:
    ws = bare()
    ws.personas.append(Persona(id="p", name="Pat", goals=["save time"]))
    fb = course.check_personas(ws)
    assert not fb.ok
    assert "'Pat' has no pains, no preferred channels." in fb.hints
    assert any("two to four" in h for h in fb.hints)
    ws.personas[0].pains = ["slow quotes"]
    ws.personas[0].preferred_channels = ["email"]
    assert course.check_personas(ws).ok


def test_icp_lists_open_questions() -> None:
    ws = bare()
    assert not course.check_icp(ws).ok
    ws.icps.append(ICP(id="clubs", name="Clubs", industry="Sport"))
    fb = course.check_icp(ws)
    assert not fb.ok and len(fb.hints) == len(ICP_QUESTIONS) - 1
    for key in ICP_QUESTIONS:
        setattr(ws.icps[0], key, "answered")
    assert course.check_icp(ws).ok


def test_stages_in_customer_terms_with_criteria() -> None:
    ws = bare()
    ws.stages = [
        Stage(
            id="aware", name="Hears of us", entry_criteria="first visit", exit_criteria="signs up"
        ),
        Stage(
            id="mql",
            name="Marketing qualified lead",
            entry_criteria="score 50",
            exit_criteria="call",
        ),
        Stage(id="buy", name="Buys"),
    ]
    fb = course.check_stages(ws)
    assert not fb.ok
    assert any(h.startswith("'Marketing qualified lead' uses the seller's word") for h in fb.hints)
    assert any("'Buys': say what makes" in h for h in fb.hints)
    ws.stages[1] = Stage(
        id="compare", name="Compares", entry_criteria="asks price", exit_criteria="orders"
    )
    ws.stages[2].entry_criteria, ws.stages[2].exit_criteria = "orders", "pays"
    assert course.check_stages(ws).ok
    ws.stages = ws.stages[:2]
    assert course.check_stages(ws).message == "A journey needs at least three stages."


def test_touchpoints_cover_every_stage() -> None:
    ws = bare()
    ws.touchpoints.append(Touchpoint(id="site", name="Site", channel="web", stages=["awareness"]))
    fb = course.check_touchpoints(ws)
    assert not fb.ok
    assert any("Stage 'Purchase' has no touchpoint" in h for h in fb.hints)
    assert any("are there no physical" in h for h in fb.hints)


def test_journey_and_refine() -> None:
    ws = bare()
    ws.personas.append(Persona(id="p", name="Pat"))
    assert not course.check_journey(ws).ok
    ws.journeys.append(
        Journey(
            persona="p", stages={s: MapCell(emotion=0, pain_points=["x"]) for s in ws.stage_ids()}
        )
    )
    assert course.check_journey(ws).ok
    fb = course.check_refine(ws)
    assert not fb.ok and "'Pat': mark the most positive moment." in fb.hints
    j = ws.journeys[0]
    j.annotations = [
        Annotation(kind="best-moment", stage="purchase"),
        Annotation(kind="worst-struggle", stage="awareness"),
    ]
    j.recommendations = [Recommendation(id="r", text="Call back", stage="purchase")]
    ws.processes.append(Process(id="quotes", name="Quotes", key=True))
    fb = course.check_refine(ws)
    assert fb.ok
    assert "Recommendation 'r': place it next to the touchpoint it fixes." in fb.hints
    assert "Key process 'Quotes' needs an owner." in fb.hints


def test_a_broken_input_gives_feedback_not_a_traceback() -> None:
    fb = course.check_personas(object())
    assert isinstance(fb, Feedback) and not fb.ok
    assert fb.message == "This check could not run on your workspace."
    assert "AttributeError" in fb.hints[0]
    assert course.check("nope", bare()).message == "There is no check called 'nope'."


@pytest.fixture
def with_data(tmp_path: Path) -> OpenWorkspace:
    """10 contacts reach awareness, 6 consideration, 3 purchase."""
    import pandas as pd

    from workbook.crm.storage import write_canonical

    ws = new_workspace("Data Course", directory=tmp_path)
    rows = []
    for i in range(10):
        reached = (
            ["awareness"] + (["consideration"] if i < 6 else []) + (["purchase"] if i < 3 else [])
        )
        for day, stage in enumerate(reached):
            ts = pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=day)
            rows.append({"contact_id": f"c{i:016x}", "ts": ts, "kind": "stage", "stage": stage})
    events = pd.DataFrame(rows)
    contacts = pd.DataFrame({"contact_id": sorted(events.contact_id.unique())})
    write_canonical(ws.path, "test", contacts=contacts, events=events)
    return open_workspace(ws.path)


def test_conversion_rate_right_and_wrong(with_data: OpenWorkspace) -> None:
    ws = with_data
    assert course.check_conversion_rate(ws, "awareness", "consideration", 0.6).ok
    assert course.check_conversion_rate(ws, "awareness", "consideration", 60).ok
    assert course.check_conversion_rate(ws, "consideration", "purchase", 50).ok
    wrong = course.check_conversion_rate(ws, "consideration", "purchase", 0.3)
    assert not wrong.ok
    assert wrong.hints[0].startswith("You divided by the contacts of the first stage")
    assert course.check_conversion_rate(ws, "awareness", "purchase", 0.3).message.startswith(
        "'purchase' is not"
    )
    assert (
        course.check_conversion_rate(ws, "awareness", "consideration", None).message
        == "Type your answer first."
    )
    assert "no stage 'nope'" in course.check_conversion_rate(ws, "nope", "purchase", 1).message
    assert not course.check_conversion_rate(ws.data, "awareness", "consideration", 0.6).ok


def test_conversion_rate_without_data_is_feedback(tmp_path: Path) -> None:
    ws = new_workspace("No Data", directory=tmp_path)
    fb = course.check_conversion_rate(ws, "awareness", "consideration", 0.5)
    assert isinstance(fb, Feedback) and not fb.ok


def test_progress_runs_every_check(demo_copy: Path) -> None:
    ws = open_workspace(demo_copy)
    prog = course.progress(ws)
    assert set(prog.results) == set(course.CHECKS)
    assert prog.results["personas"].ok
    assert prog.results["data"].ok == bool(ws.data.data_sources)
    assert f"{prog.done} of {len(course.CHECKS)} checks done" in prog._repr_html_()
