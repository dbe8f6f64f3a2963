"""Course checks: feedback for trainees, never an exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbook import course
from workbook.course import Feedback
from workbook.model import (
    ICP,
    ICP_QUESTIONS,
    KPI,
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


def test_objectives_need_a_computable_kpi_and_a_better_target() -> None:
    ws = bare()
    assert course.check_objectives(ws).message == "No objective yet."
    ws.objectives.append(Objective(id="grow", title="Grow"))
    fb = course.check_objectives(ws)
    assert not fb.ok and fb.right == []
    assert "'Grow': name its KPI in words" in fb.hints[0]
    assert any("the KPI cannot be computed yet: there is no metric" in h for h in fb.hints)
    assert any("give a baseline" in h for h in fb.hints)
    assert any("say who owns it" in h for h in fb.hints)
    # trivial: any KPI text and a target of 12
    o = ws.objectives[0]
    o.kpi, o.target, o.owner = "More sales", 12, "Sales"
    assert not course.check_objectives(ws).ok
    o.metric = "sales:up"
    assert any("'sales:up' is not a metric the workbook computes" in h for h in fb_hints(ws))
    o.metric = "conversion:consideration:sale"
    assert (
        "'Grow': the KPI cannot be computed yet: 'sale' in 'conversion:consideration:sale' is "
        "not a stage id of this workspace (its stages: awareness, consideration, purchase, "
        "retention, advocacy)."
    ) in fb_hints(ws)[0]
    o.metric, o.baseline = "conversion:consideration:purchase", 8
    fb = course.check_objectives(ws)
    assert not fb.ok  # 8 and 12 are no shares without the unit %
    assert "'Grow': the baseline 8 is no share" in fb.hints[0]
    assert "'Grow': the KPI can be computed from the data" in fb.right[0]
    o.unit = "%"
    fb = course.check_objectives(ws)
    assert fb.ok, str(fb)
    assert any("right direction" in r for r in fb.right)
    assert any("due date" in h for h in fb.hints)  # a suggestion, not a blocker
    o.target = 8
    assert any("not an improvement on the baseline" in h for h in fb_hints(ws))
    o.metric, o.unit, o.baseline, o.target = "conversion:purchase:consideration", "", 0.2, 0.3
    assert any("from an earlier stage to a later one" in h for h in fb_hints(ws))


def fb_hints(ws: Workspace) -> list[str]:
    return course.check_objectives(ws).hints


@pytest.mark.parametrize(
    ("metric", "unit", "baseline", "target", "ok"),
    [
        ("time-to-close-days", "days", 41, 28, True),  # days: lower is better
        ("time-to-close-days", "days", 28, 41, False),
        ("median-days:consideration", "days", 19, 12, True),
        ("median-days:consideration", "days", 19, 0, False),  # no stay lasts 0 days
        ("win-rate", "", 0.2, 0.3, True),
        ("win-rate", "%", 20, 30, True),
        ("win-rate", "", 20, 30, False),
        ("channel-rate:email:open", "%", 24, 32, True),
        ("channel-rate:email:read", "%", 24, 32, False),
        ("reach:awareness", "contacts", 1000, 1500, True),
        ("reach:awareness", "contacts", 1000, 1500.5, False),
        ("reach:nowhere", "contacts", 1000, 1500, False),
        ("conversion:awareness:purchase", "%", 10, 10, False),
    ],
)
def test_each_metric_has_its_range_and_direction(
    metric: str, unit: str, baseline: float, target: float, ok: bool
) -> None:
    ws = bare()
    ws.objectives.append(
        Objective(
            id="o",
            title="O",
            kpi="A KPI",
            metric=metric,
            unit=unit,
            baseline=baseline,
            target=target,
            owner="Head of growth",
        )
    )
    assert course.check_objectives(ws).ok is ok


def test_personas_need_goals_pains_and_channels_the_touchpoints_serve() -> None:
    ws = bare()
    ws.personas.append(Persona(id="p", name="Pat", goals=["save time"]))
    fb = course.check_personas(ws)
    assert not fb.ok
    assert "'Pat' has no pains, no preferred channels." in fb.hints
    assert any("two to four" in h for h in fb.hints)
    ws.personas[0].pains = ["price"]
    ws.personas[0].preferred_channels = ["email", "phone"]
    ws.personas[0].objections = ["Too dear"]
    fb = course.check_personas(ws)
    assert not fb.ok
    assert "'Pat': the pain 'price' is a label, not a pain" in fb.hints[0]
    ws.personas[0].pains = ["slow quotes"]
    fb = course.check_personas(ws)
    assert not fb.ok and "once step 3 lists them" in fb.hints[0]
    assert fb.right == ["'Pat' has goals and pains in the buyer's words."]
    ws.touchpoints.append(Touchpoint(id="mail", name="Mail", channel="email"))
    fb = course.check_personas(ws)
    assert not fb.ok
    assert "'Pat' prefers Phone, but no touchpoint works on that channel" in fb.hints[0]
    ws.touchpoints.append(Touchpoint(id="desk", name="Desk", channel="phone", kind="physical"))
    fb = course.check_personas(ws)
    assert fb.ok, str(fb)
    assert "'Pat': every preferred channel has a touchpoint." in fb.right


def test_icp_lists_open_questions() -> None:
    ws = bare()
    assert not course.check_icp(ws).ok
    ws.icps.append(ICP(id="clubs", name="Clubs", industry="Sport"))
    fb = course.check_icp(ws)
    assert not fb.ok and len(fb.hints) == len(ICP_QUESTIONS) - 1
    for key in ICP_QUESTIONS:
        setattr(ws.icps[0], key, "answered")
    fb = course.check_icp(ws)
    assert not fb.ok and fb.hints == [
        "'Clubs': 8 questions have the same answer; each asks something different."
    ]
    for i, key in enumerate(ICP_QUESTIONS):
        setattr(ws.icps[0], key, f"answer number {i}")
    fb = course.check_icp(ws)
    assert fb.ok and fb.right == ["'Clubs' answers all eight questions."]


def test_stages_in_customer_terms_with_observable_criteria() -> None:
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
    buys = "'Buys': write its entry and exit criteria in 'Enters when' and 'Leaves when'"
    assert any(buys in h for h in fb.hints)
    assert fb.right == ["'Hears of us' has observable entry and exit criteria."]
    ws.stages[1] = Stage(
        id="compare", name="Compares", entry_criteria="is interested", exit_criteria="feels ready"
    )
    ws.stages[2].entry_criteria, ws.stages[2].exit_criteria = "enters", "leaves"
    fb = course.check_stages(ws)
    assert not fb.ok
    assert (
        "'Compares': the entry criterion 'is interested' cannot be seen in any system. Name in "
        "'Enters when' something recorded: an action (orders, books, replies), a stage change, "
        "or a number."
    ) in fb.hints
    assert sum("cannot be seen in any system" in h for h in fb.hints) == 4
    ws.stages[1].entry_criteria = "Asked for a price"  # an action word
    ws.stages[1].exit_criteria = "Moves to Buys"  # a stage of the workspace
    ws.stages[2].entry_criteria = "Within 30 days of the quote"  # a number
    ws.stages[2].exit_criteria = "Within 30 days of the quote"
    fb = course.check_stages(ws)
    assert fb.hints == ["'Buys': entering and leaving cannot be the same event."]
    ws.stages[2].exit_criteria = "Paid the invoice"
    assert course.check_stages(ws).ok
    ws.stages = ws.stages[:2]
    assert course.check_stages(ws).message == "A journey needs at least three stages."


@pytest.mark.parametrize(
    ("text", "seen"),
    [
        ("Books a design visit", True),
        ("ordered", True),
        ("Replies to the quote email", True),
        ("Score of 50 or more", True),
        ("Moves to Deposit paid", True),  # a CRM name the stage takes
        ("enters", False),
        ("Is interested and feels ready", False),
        ("Knows us", False),
        ("", False),
    ],
)
def test_observable_criteria(text: str, seen: bool) -> None:
    assert course.observable(text, ["deposit paid", "purchase"]) is seen


def test_touchpoints_cover_every_stage() -> None:
    ws = bare()
    ws.touchpoints.append(Touchpoint(id="site", name="Site", channel="web", stages=["awareness"]))
    fb = course.check_touchpoints(ws)
    assert not fb.ok
    assert any("Stage 'Purchase' has no touchpoint" in h for h in fb.hints)
    assert "'Site': who owns it at the client? (Owner)" in fb.hints
    ws.touchpoints.append(Touchpoint(id="desk", name="Desk", channel="phone", owner="Sales"))
    assert "'Desk': which stage does it serve? (Stages it serves)" in (
        course.check_touchpoints(ws).hints
    )
    ws.touchpoints.pop()
    assert any("are there no physical" in h for h in fb.hints)
    assert fb.right == ["Stages with a touchpoint: Awareness."]
    ws.touchpoints[0].stages = ws.stage_ids()
    ws.touchpoints[0].owner = "Web team"
    fb = course.check_touchpoints(ws)
    assert fb.ok and any("are there no physical" in h for h in fb.hints)  # a suggestion


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
    assert not fb.ok and "'Pat': mark its best moment (Mark: Best moment)." in fb.hints
    j = ws.journeys[0]
    j.annotations = [
        Annotation(kind="best-moment", stage="purchase"),
        Annotation(kind="worst-struggle", stage="awareness"),
    ]
    j.recommendations = [Recommendation(id="r", text="Call back", stage="purchase")]
    ws.processes.append(Process(id="quotes", name="Quotes", key=True))
    fb = course.check_refine(ws)
    assert not fb.ok  # a recommendation alone is not enough
    assert (
        "Recommendation 'Call back': place it next to the touchpoint it fixes ('Next to "
        "touchpoint'); give it an owner who will make it happen ('Owner'); pick in 'KPI it "
        "should move' the KPI (or objective) that will show whether it worked."
    ) in fb.hints
    assert "Key process 'Quotes' needs an owner." in fb.hints
    ws.touchpoints.append(Touchpoint(id="desk", name="Desk", channel="phone"))
    ws.measurement.kpis.append(KPI(id="calls", name="Calls answered", metric="calls answered"))
    r = j.recommendations[0]
    r.touchpoint, r.owner, r.kpi = "desk", "Sales lead", "calls"
    fb = course.check_refine(ws)
    assert not fb.ok
    assert (
        "Recommendation 'Call back': its KPI cannot be computed: 'calls answered' is not a "
        "metric the workbook computes (use one of: conversion:<from-stage>:<to-stage>, "
        "reach:<stage>, win-rate, time-to-close-days, median-days:<stage>, "
        "channel-rate:<channel>:<open|click|reply>) (fill its 'Computed from data as' in step "
        "1's form)."
    ) in fb.hints
    ws.measurement.kpis[0].metric = "conversion:consideration:purchase"
    fb = course.check_refine(ws)
    assert fb.ok, str(fb)
    assert fb.right == ["Recommendation 'Call back' has a touchpoint, an owner and a KPI."]
    ws.objectives.append(Objective(id="sell", title="Sell", metric="win-rate"))
    r.kpi = "sell"  # an objective serves as the KPI too
    assert course.check_refine(ws).ok


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
    # the counts under the data form show stage names; the feedback gives name and id
    names = {st.id: st.name for st in ws.data.stages}
    assert wrong.hints[1] == (
        f"Start from the contacts who reached '{names['consideration']}' (consideration): "
        "they are the denominator."
    )
    right = course.check_conversion_rate(ws, "consideration", "purchase", 0.5)
    assert right.message == (
        f"Right: 50.0% of contacts who reached '{names['consideration']}' (consideration) "
        f"went on to '{names['purchase']}' (purchase)."
    )
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


def test_progress_names_the_notebook_of_each_check() -> None:
    """Each row of the progress table links the notebook where that exercise is done."""
    prog = course.progress(bare())
    page = prog._repr_html_()
    rows = page.split("<tr>")[1:]
    assert len(rows) == len(course.CHECKS)
    expected = {
        "objectives": "01-objectives",
        "personas": "02-personas",
        "icp": "02-personas",
        "touchpoints": "03-touchpoints",
        "stages": "04-stages",
        "data": "05-data",
        "visualise": "06-journey-map",
        "refine": "07-refine",
    }
    for step, row in zip(prog.results, rows, strict=True):
        assert f'href="{expected[step]}.ipynb"' in row, (step, row)
        assert "text-align:left" in row


def test_a_missing_metric_hint_names_the_stage_ids_to_use() -> None:
    """The form shows stage names; the metric needs ids, so the hint lists them."""
    ws = bare()
    ws.objectives.append(Objective(id="o", title="Sell more", kpi="Deposits", owner="Sales"))
    (hint,) = [h for h in course.check_objectives(ws).hints if "cannot be computed" in h]
    assert hint.endswith(
        ", with this workspace's stage ids (awareness, consideration, purchase, retention, "
        "advocacy)."
    )
    ws.objectives[0].metric = "conversion:enquiry:purchase"  # a wrong id: listed once
    (hint,) = [h for h in course.check_objectives(ws).hints if "cannot be computed" in h]
    assert hint.count("awareness") == 1 and hint.endswith(
        "median-days:<stage> or channel-rate:<channel>:<open|click|reply>."
    )


def test_one_objective_done_is_said_in_the_singular() -> None:
    ws = bare()
    ws.objectives.append(
        Objective(
            id="o", title="Sell more", kpi="Deposits", owner="Sales", metric="win-rate",
            baseline=0.2, target=0.3,
        )
    )  # fmt: skip
    fb = course.check_objectives(ws)
    assert fb.ok and fb.message == "The objective is measurable, with a target that improves."
    ws.objectives.append(ws.objectives[0].model_copy(update={"id": "p"}))
    assert course.check_objectives(ws).message.startswith("All 2 objectives are measurable")


def test_goals_and_pains_in_words_are_praised_while_channels_are_missing() -> None:
    ws = bare()
    ws.personas.append(
        Persona(id="h", name="Hannah", goals=["a quiet office"], pains=["slow quotes"])
    )
    fb = course.check_personas(ws)
    assert not fb.ok and "'Hannah' has no preferred channels." in fb.hints
    assert fb.right == ["'Hannah' has goals and pains in the buyer's words."]
    ws.personas[0].pains = ["price"]
    assert course.check_personas(ws).right == []


def test_a_channel_rate_names_a_channel_by_its_id() -> None:
    """The forms list channels by name (Email); a metric needs the id (email)."""
    ws = bare()
    assert course.metric_problem(ws, "channel-rate:email:open") is None
    problem = course.metric_problem(ws, "channel-rate:Email:open")
    assert problem is not None
    assert problem.startswith("'Email' in 'channel-rate:Email:open' is not a channel id")
    assert "ads, web, email, social" in problem
