"""The forms for every part of the method a step asks for: type, click, then read the file again.

Each test drives a form headless on a copy of the demo workspace (set a widget's value, click
a button) and checks the workspace as :func:`workbook.store.read_workspace` reads it from disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from workbook.forms import (
    BoundField,
    Form,
    content,
    cycle,
    experiments,
    objectives,
    personas,
    processes,
)
from workbook.forms import data as data_form
from workbook.model import Workspace
from workbook.store import OpenWorkspace, open_workspace, read_workspace


@pytest.fixture
def ws(demo_copy: Path) -> OpenWorkspace:
    return open_workspace(demo_copy)


def on_disk(ws: OpenWorkspace) -> Workspace:
    return read_workspace(ws.path)


def assert_clean(form: Form) -> None:
    assert form.callback_errors == []
    assert form.error_label.value == ""
    assert form.conflict == ""


def add(form: Form, noun: str, name: str) -> None:
    """Type a name in a list editor's *new* box and click *Add*."""
    form.one(f"wb-{noun}-new").value = name
    form.one(f"wb-{noun}-add").click()


def error_under(form: Form, css: str, index: int | None = None) -> str:
    """The message shown under the field whose widget has class ``css`` (the ``index``-th
    of several)."""
    widget = form.one(css) if index is None else form.find(css)[index]
    field = next(w for w in form.walk() if isinstance(w, BoundField) and w.widget is widget)
    return str(field.error_text)


def by_id(items: Any, item_id: str) -> Any:
    return next(i for i in items if i.id == item_id)


# ----------------------------------------------------------------------- step 1: KPIs, OKRs


def test_kpi_for_an_objective(ws: OpenWorkspace) -> None:
    form = objectives.form(ws)
    objective = ws.data.objectives[0].id
    add(form, "kpi", "Demo bookings per week")
    form.one("wb-kpi-objective").value = objective
    form.one("wb-kpi-metric").value = "reach:consideration"
    form.one("wb-kpi-unit").value = "contacts"
    form.one("wb-kpi-baseline").value = "12"
    form.one("wb-kpi-target").value = "20"
    form.one("wb-kpi-stage").value = "consideration"
    form.one("wb-kpi-fix").value = "Book the demo from the pricing page"
    form.one("wb-kpi-evaluation").value = "Weekly count for eight weeks"
    kpi = by_id(on_disk(ws).measurement.kpis, "demo-bookings-per-week")
    assert (kpi.objective, kpi.metric, kpi.unit, kpi.baseline, kpi.target, kpi.stage) == (
        objective,
        "reach:consideration",
        "contacts",
        12.0,
        20.0,
        "consideration",
    )
    assert kpi.fix == "Book the demo from the pricing page"
    assert kpi.evaluation == "Weekly count for eight weeks"
    # a new objective is offered to the KPI at once
    add(form, "objective", "Win back lapsed members")
    assert "win-back-lapsed-members" in [v for _, v in form.one("wb-kpi-objective").options]
    form.one("wb-kpi-remove").click()
    assert "demo-bookings-per-week" not in [k.id for k in on_disk(ws).measurement.kpis]
    assert_clean(form)


def test_kpi_target_must_be_a_number(ws: OpenWorkspace) -> None:
    form = objectives.form(ws)
    add(form, "kpi", "Demo bookings")
    form.one("wb-kpi-target").value = "lots"
    assert "must be a number" in error_under(form, "wb-kpi-target")
    assert by_id(on_disk(ws).measurement.kpis, "demo-bookings").target is None
    assert_clean(form)


def test_okr_key_results_and_todos(ws: OpenWorkspace) -> None:
    form = objectives.form(ws)
    add(form, "okr", "Make the first week a delight")
    add(form, "key-result", "Nine in ten new members row twice in week one")
    form.one("wb-key-result-metric").value = "share rowing twice in week one"
    form.one("wb-key-result-baseline").value = "62"
    form.one("wb-key-result-target").value = "90"
    form.one("wb-key-result-current").value = "70,5"
    add(form, "todo", "Send a welcome video on delivery day")
    form.one("wb-todo-owner").value = "Content Lead"
    form.one("wb-todo-done").value = True
    add(form, "todo", "Call every member on day three")
    okr = by_id(on_disk(ws).measurement.okrs, "make-the-first-week-a-delight")
    assert okr.objective == "Make the first week a delight"
    [kr] = okr.key_results
    assert (kr.text, kr.metric, kr.baseline, kr.target, kr.current) == (
        "Nine in ten new members row twice in week one",
        "share rowing twice in week one",
        62.0,
        90.0,
        70.5,
    )
    assert [(t.text, t.owner, t.done) for t in kr.todos] == [
        ("Send a welcome video on delivery day", "Content Lead", True),
        ("Call every member on day three", "", False),
    ]
    form.find("wb-todo-remove")[0].click()
    kr = by_id(on_disk(ws).measurement.okrs, "make-the-first-week-a-delight").key_results[0]
    assert [t.text for t in kr.todos] == ["Call every member on day three"]
    # removing the OKR removes its key results with it, and nothing complains
    form.one("wb-okr-remove").click()
    assert "make-the-first-week-a-delight" not in [o.id for o in on_disk(ws).measurement.okrs]
    assert_clean(form)


# ------------------------------------------------------ step 2: value proposition, segments


def test_value_proposition(ws: OpenWorkspace) -> None:
    form = personas.form(ws)
    form.one("wb-value-proposition-jobs").value = "Row at home\n\nKeep a streak going"
    form.one("wb-value-proposition-pains").value = "Noisy machines"
    form.one("wb-value-proposition-gains").value = "A coach who knows my name"
    vp = on_disk(ws).value_proposition
    assert vp.jobs == ["Row at home", "Keep a streak going"]
    assert vp.pains == ["Noisy machines"]
    assert vp.gains == ["A coach who knows my name"]
    assert_clean(form)


def test_segment_of_each_kind_and_persona_in_it(ws: OpenWorkspace) -> None:
    form = personas.form(ws)
    add(form, "segment", "Night-shift workers")
    form.one("wb-segment-kind").value = "behavioural"
    form.one("wb-segment-description").value = "Train after midnight"
    segment = by_id(on_disk(ws).segments, "night-shift-workers")
    assert (segment.name, segment.kind, segment.description) == (
        "Night-shift workers",
        "behavioural",
        "Train after midnight",
    )
    # the new segment is offered to the persona at once, and the persona saves into it
    persona = form.parts["personas"].selected
    options = [v for _, v in form.one("wb-persona-segments").options]
    assert "night-shift-workers" in options
    form.one("wb-persona-segments").value = ("night-shift-workers",)
    assert on_disk(ws).persona(persona).segments == ["night-shift-workers"]
    # a segment a persona is in cannot be removed
    form.parts["segments"].select("night-shift-workers")
    form.one("wb-segment-remove").click()
    assert "still used" in form.one("wb-segment-message").value
    assert "night-shift-workers" in [s.id for s in on_disk(ws).segments]
    assert_clean(form)


def test_new_segment_takes_a_missing_kind(tmp_path: Path) -> None:
    from workbook.store import new_workspace

    ws = new_workspace("Acme", directory=tmp_path)
    form = personas.form(ws)
    kinds = []
    for name in ("North", "Young families", "Thrifty", "Weekend shoppers"):
        add(form, "segment", name)
        kinds.append(on_disk(ws).segments[-1].kind)
    assert kinds == ["geographic", "demographic", "psychographic", "behavioural"]
    assert_clean(form)


# ------------------------------------------------ step 7: experiments, processes, content, cycle


def test_experiment_with_variants(ws: OpenWorkspace) -> None:
    form = experiments.form(ws)
    touchpoint = ws.data.touchpoints[0].id
    add(form, "experiment", "Pricing page headline")
    form.one("wb-experiment-kind").value = "landing-page"
    form.one("wb-experiment-hypothesis").value = "Naming the monthly price lifts demo requests"
    form.one("wb-experiment-metric").value = "demo requests"
    form.one("wb-experiment-touchpoint").value = touchpoint
    form.one("wb-experiment-sample-size").value = "300"
    form.one("wb-experiment-min-effect").value = "0.05"
    form.one("wb-experiment-status").value = "completed"
    form.one("wb-experiment-decision").value = "Roll out B"
    add(form, "variant", "A: today's headline")
    form.one("wb-variant-exposed").value = "150"
    form.one("wb-variant-converted").value = "12"
    add(form, "variant", "B: price in the headline")
    form.one("wb-variant-exposed").value = "150"
    form.one("wb-variant-converted").value = "21"
    saved = by_id(on_disk(ws).measurement.experiments, "pricing-page-headline")
    assert (saved.kind, saved.metric, saved.touchpoint, saved.sample_size, saved.status) == (
        "landing-page",
        "demo requests",
        touchpoint,
        300,
        "completed",
    )
    assert (saved.min_effect, saved.decision) == (0.05, "Roll out B")
    assert saved.hypothesis == "Naming the monthly price lifts demo requests"
    assert [(v.name, v.exposed, v.converted) for v in saved.variants] == [
        ("A: today's headline", 150, 12),
        ("B: price in the headline", 150, 21),
    ]
    # a sample of no one is refused under the field, and the saved value stays
    form.one("wb-experiment-sample-size").value = "0"
    assert "greater than 0" in error_under(form, "wb-experiment-sample-size")
    assert by_id(on_disk(ws).measurement.experiments, "pricing-page-headline").sample_size == 300
    form.one("wb-variant-remove").click()
    saved = by_id(on_disk(ws).measurement.experiments, "pricing-page-headline")
    assert [v.name for v in saved.variants] == ["A: today's headline"]
    form.one("wb-experiment-remove").click()
    assert "pricing-page-headline" not in [e.id for e in on_disk(ws).measurement.experiments]
    assert_clean(form)


def test_key_process(ws: OpenWorkspace) -> None:
    form = processes.form(ws)
    touchpoints = [t.id for t in ws.data.touchpoints[:2]]
    add(form, "process", "Booking a home trial")
    form.one("wb-process-key").value = True
    form.one("wb-process-crm-goal").value = "acquisition"
    form.one("wb-process-owner").value = "Trials Coordinator"
    form.one("wb-process-service-level").value = "Trial delivered within 5 days"
    form.one("wb-process-touchpoints").value = tuple(touchpoints)
    saved = by_id(on_disk(ws).processes, "booking-a-home-trial")
    assert (saved.key, saved.crm_goal, saved.owner, saved.service_level, saved.touchpoints) == (
        True,
        "acquisition",
        "Trials Coordinator",
        "Trial delivered within 5 days",
        touchpoints,
    )
    assert (
        "(key)"
        in dict((v, k) for k, v in form.one("wb-process-select").options)["booking-a-home-trial"]
    )
    form.one("wb-process-remove").click()
    assert "booking-a-home-trial" not in [p.id for p in on_disk(ws).processes]
    assert_clean(form)


def test_content_item(ws: OpenWorkspace) -> None:
    form = content.form(ws)
    persona = ws.data.personas[0].id
    add(form, "content", "Rowing technique guide")
    form.one("wb-content-stage").value = "retention"
    form.one("wb-content-personas").value = (persona,)
    form.one("wb-content-channel").value = "email"
    form.one("wb-content-automated").value = True
    saved = by_id(on_disk(ws).content, "rowing-technique-guide")
    assert (saved.stage, saved.personas, saved.channel, saved.automated) == (
        "retention",
        [persona],
        "email",
        True,
    )
    assert_clean(form)


def test_cycle_phase_and_log(ws: OpenWorkspace) -> None:
    import datetime as dt

    form = cycle.form(ws, today=dt.date(2026, 5, 4))
    form.one("wb-cycle-phase").value = "validate"
    form.one("wb-cycle-iteration").value = "3"
    n = len(ws.data.cycle.log)
    add(form, "cycle-entry", "Split test of the pricing headline launched")
    saved = on_disk(ws).cycle
    assert (saved.phase, saved.iteration) == ("validate", 3)
    assert len(saved.log) == n + 1
    entry = saved.log[-1]
    assert (entry.date, entry.phase, entry.iteration, entry.note) == (
        dt.date(2026, 5, 4),
        "validate",
        3,
        "Split test of the pricing headline launched",
    )
    form.find("wb-cycle-entry-date")[-1].value = "2026-05-31"
    assert on_disk(ws).cycle.log[-1].date == dt.date(2026, 5, 31)
    form.find("wb-cycle-entry-date")[-1].value = "31/05/2026"
    assert "year-month-day" in error_under(form, "wb-cycle-entry-date", -1)
    assert on_disk(ws).cycle.log[-1].date == dt.date(2026, 5, 31)
    form.one("wb-cycle-iteration").value = "2.5"
    assert "valid integer" in error_under(form, "wb-cycle-iteration")
    assert on_disk(ws).cycle.iteration == 3
    form.find("wb-cycle-entry-remove")[-1].click()
    assert len(on_disk(ws).cycle.log) == n
    assert_clean(form)


# ------------------------------------------------------ step 5: scoring rules, the stage map


def test_lead_scoring_rule(ws: OpenWorkspace) -> None:
    form = data_form.form(ws)
    touchpoint = ws.data.touchpoints[0].id
    add(form, "scoring-rule", "Asked for a home trial")
    form.one("wb-scoring-rule-points").value = "25"
    form.one("wb-scoring-rule-touchpoint").value = touchpoint
    form.one("wb-scoring-rule-channel").value = "web"
    form.one("wb-scoring-rule-action").value = "visit"
    form.one("wb-scoring-rule-stage").value = "consideration"
    form.one("wb-scoring-rule-decay-days").value = "30"
    rule = by_id(on_disk(ws).measurement.scoring_rules, "asked-for-a-home-trial")
    assert (rule.description, rule.points, rule.touchpoint, rule.channel) == (
        "Asked for a home trial",
        25.0,
        touchpoint,
        "web",
    )
    assert (rule.action, rule.stage, rule.decay_days) == ("visit", "consideration", 30.0)
    form.one("wb-scoring-rule-points").value = ""
    assert error_under(form, "wb-scoring-rule-points")
    assert by_id(on_disk(ws).measurement.scoring_rules, "asked-for-a-home-trial").points == 25
    assert_clean(form)


def test_stage_map_names_and_ignored(ws: OpenWorkspace) -> None:
    form = data_form.form(ws)
    stages = ws.data.stage_ids()
    boxes = form.find("wb-stagemap-aliases")
    assert len(boxes) == len(stages)
    first = boxes[0]
    first.value = first.value + "\nNewsletter reader"
    assert "Newsletter reader" in on_disk(ws).stage(stages[0]).aliases
    # the same name for a second stage is refused under its field, and not saved
    boxes[1].value = boxes[1].value + "\nnewsletter-reader"
    assert "already an alias" in error_under(form, "wb-stagemap-aliases", 1)
    assert "newsletter-reader" not in on_disk(ws).stage(stages[1]).aliases
    add(form, "ignored-name", "Unsubscribed")
    form.find("wb-ignored-name-reason")[-1].value = "left the list"
    ignored = on_disk(ws).ignored_stage_names[-1]
    assert (ignored.name, ignored.reason) == ("Unsubscribed", "left the list")
    # a name given to a stage by the editor of an import's unknown names shows at once
    form.parts["imports"].stage_map.show(["Trialist"])
    form.one("wb-stagemap-choice").value = stages[1]
    assert "Trialist" in form.find("wb-stagemap-aliases")[1].value
    assert "Trialist" in on_disk(ws).stage(stages[1]).aliases
    assert_clean(form)


# ------------------------------------------------ every to-do of a step has a form in its notebook

#: The parts of the workspace the forms of each step's notebook edit (field path prefixes).
EDITED_BY_STEP = {
    "objectives": ("objectives", "client", "measurement.kpis", "measurement.okrs"),
    "personas": ("value_proposition", "segments", "icps", "personas"),
    "touchpoints": ("touchpoints",),
    "stages": ("stages",),
    "data": ("data_sources", "stages", "ignored_stage_names", "measurement.scoring_rules"),
    # the map form picks a persona and a stage and fills that cell of the persona's map
    "visualise": ("journeys", "personas"),
    "refine": ("journeys", "measurement.experiments", "processes", "content", "cycle"),
}


def _half_done(ws: OpenWorkspace) -> Workspace:
    data = ws.data.model_copy(deep=True)
    data.objectives[0].crm_goal = None
    data.objectives[0].owner = ""
    data.personas[0].segments = []
    data.measurement.kpis[0].target = None
    data.measurement.okrs[0].key_results[0].todos = []
    data.processes[0].owner = ""
    data.processes[0].service_level = ""
    data.measurement.scoring_rules = []
    data.content = []
    data.cycle.log = []
    data.journeys[0].stages[data.stages[0].id].emotion = None
    return data


@pytest.mark.parametrize("which", ["new", "half-done"])
def test_every_todo_in_a_step_header_is_editable_in_its_forms(
    ws: OpenWorkspace, tmp_path: Path, which: str
) -> None:
    from workbook import method
    from workbook.store import new_workspace

    data = new_workspace("Acme", directory=tmp_path).data if which == "new" else _half_done(ws)
    for status in method.completeness(data):
        roots = EDITED_BY_STEP[status.step.id]
        for finding in status.missing:
            assert finding.field and finding.field.startswith(roots), (status.step.id, finding)


def test_experiment_verdict_on_request(ws: OpenWorkspace) -> None:
    form = experiments.form(ws)
    add(form, "experiment", "Trial button colour")
    form.one("wb-experiment-check").click()
    assert "No verdict yet" in form.one("wb-experiment-verdict").value
    add(form, "variant", "A: grey")
    form.one("wb-variant-exposed").value = "400"
    form.one("wb-variant-converted").value = "40"
    add(form, "variant", "B: orange")
    form.one("wb-variant-exposed").value = "400"
    form.one("wb-variant-converted").value = "80"
    form.one("wb-experiment-status").value = "completed"
    form.one("wb-experiment-check").click()
    verdict = form.one("wb-experiment-verdict").value
    assert "Roll out" in verdict and "B: orange" in verdict
    assert "Each variant needs about" in verdict
    assert_clean(form)


# ------------------------------------------------------------- two views of one workspace


def _wait_for(condition: Callable[[], bool], seconds: float = 2.0) -> None:
    """Wait until ``condition()`` holds (a view follows another's save on its own thread)."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, "not seen within the time allowed"
        time.sleep(0.01)


def test_nested_lists_follow_another_view(demo_copy: Path) -> None:
    mine = objectives.form(open_workspace(demo_copy))
    theirs = objectives.form(open_workspace(demo_copy))
    texts = [w.value for w in theirs.find("wb-todo-text")]
    add(mine, "todo", "Ring every trialist")
    # the other view shows the new to-do and key result without a click (its watcher may
    # have shown them already, so follow() may find nothing left to do)
    theirs.follow()
    _wait_for(
        lambda: [w.value for w in theirs.find("wb-todo-text")] == [*texts, "Ring every trialist"]
    )
    add(mine, "key-result", "Half of trialists book a coach call")
    theirs.follow()
    _wait_for(
        lambda: (
            "Half of trialists book a coach call"
            in [label for label, _ in theirs.one("wb-key-result-select").options]
        )
    )
    assert_clean(mine)
    assert_clean(theirs)


def test_stage_map_follows_another_view(demo_copy: Path) -> None:
    mine = data_form.form(open_workspace(demo_copy))
    theirs = data_form.form(open_workspace(demo_copy))
    mine.find("wb-stagemap-aliases")[3].value = "Customer\nMember"
    add(mine, "ignored-name", "Churned")
    theirs.follow()  # its watcher may have followed already
    _wait_for(lambda: theirs.find("wb-stagemap-aliases")[3].value == "Customer\nMember")
    _wait_for(lambda: [w.value for w in theirs.find("wb-ignored-name-name")] == ["Churned"])
    assert_clean(mine)
    assert_clean(theirs)


# ------------------------------------------------------- a whole workshop through the forms


def _fill(form: Form, values: dict[str, Any]) -> None:
    for css, value in values.items():
        form.one(css).value = value


def test_a_whole_workshop_through_the_forms_leaves_nothing_to_do(tmp_path: Path) -> None:
    """A new workspace, every step done in its notebook's forms only: no step has a to-do."""
    import datetime as dt

    from workbook import method
    from workbook.forms import journeymap, refine, stages, touchpoints
    from workbook.store import new_workspace

    ws = new_workspace("Harbour Bikes", directory=tmp_path)
    forms: list[Form] = []

    # step 1: an objective with its KPI, target, owner, date and CRM goal; a KPI; an OKR
    f = objectives.form(ws)
    forms.append(f)
    add(f, "objective", "Sell more e-bikes to commuters")
    _fill(
        f,
        {
            "wb-objective-kpi": "Test ride to purchase conversion",
            "wb-objective-baseline": "20",
            "wb-objective-target": "30",
            "wb-objective-owner": "Head of sales",
            "wb-objective-due": "2027-06-30",
            "wb-objective-crm-goal": "acquisition",
        },
    )
    add(f, "kpi", "Test rides booked per week")
    f.one("wb-kpi-target").value = "40"
    add(f, "okr", "Make the test ride the best hour of the week")
    add(f, "key-result", "Nine in ten riders rate the ride 9 or 10")
    add(f, "todo", "Train the shop team on fitting")

    # step 2: value proposition, one segment of each kind, an ICP, three personas
    f = personas.form(ws)
    forms.append(f)
    _fill(
        f,
        {
            "wb-value-proposition-jobs": "Get to work without sweating",
            "wb-value-proposition-pains": "Hills",
            "wb-value-proposition-gains": "Arrive fresh",
        },
    )
    segments = []
    for name in ("Hilly towns", "Commuters 25-45", "Green-minded", "Drives daily"):
        add(f, "segment", name)
        segments.append(f.parts["segments"].selected)
    add(f, "icp", "City commuters")
    for key in ("industry", "specialisation", "firmographics", "poor-fit", "job-titles"):
        f.one(f"wb-icp-{key}").value = "answered in the workshop"
    for key in ("decision-makers", "stakeholders", "end-users"):
        f.one(f"wb-icp-{key}").value = "answered in the workshop"
    people = []
    for name in ("Cara the commuter", "Dev the dad", "Liz the leisure rider"):
        add(f, "persona", name)
        people.append(f.parts["personas"].selected)
        _fill(
            f,
            {
                "wb-persona-icp": "city-commuters",
                "wb-persona-segments": tuple(segments[:2]),
                "wb-persona-demographics-age-range": "30-40",
                "wb-persona-demographics-location": "Bristol",
                "wb-persona-goals": "Ride to work",
                "wb-persona-jobs": "Commute",
                "wb-persona-pains": "Hills",
                "wb-persona-gains": "Fitness",
                "wb-persona-preferred-channels": ("email", "store"),
                "wb-persona-objections": "Price",
                "wb-persona-storyline": "Sees a colleague arrive fresh, books a ride.",
            },
        )

    # step 4: every stage described, with entry and exit criteria
    f = stages.form(ws)
    forms.append(f)
    for stage in ws.data.stage_ids():
        f.parts["stages"].select(stage)
        _fill(
            f,
            {
                "wb-stage-description": f"What the customer does at {stage}",
                "wb-stage-entry-criteria": "enters",
                "wb-stage-exit-criteria": "leaves",
            },
        )

    # step 3: a digital and a physical touchpoint covering every stage
    f = touchpoints.form(ws)
    forms.append(f)
    for name in ("Website", "Shop test ride"):
        add(f, "touchpoint", name)
        _fill(
            f,
            {
                "wb-touchpoint-stages": tuple(ws.data.stage_ids()),
                "wb-touchpoint-owner": "Marketing",
                "wb-touchpoint-service-level": "Same day",
            },
        )
    tps = [t.id for t in ws.data.touchpoints]

    # step 5: an import, and a lead-scoring rule
    f = data_form.form(ws)
    forms.append(f)
    from workbook.crm.generate import generate, write_export

    export = write_export(generate(ws.data, contacts=200, seed=3), "hubspot", tmp_path / "x")
    f.one("wb-data-file").value = str(export)
    f.one("wb-import").click()
    add(f, "scoring-rule", "Booked a test ride")
    f.one("wb-scoring-rule-points").value = "30"

    # step 6: every persona's map, every stage, every lane and an emotion
    f = journeymap.form(ws, preview=False)
    forms.append(f)
    for person in people:
        f.one("wb-map-persona").value = person
        for score, stage in enumerate(ws.data.stage_ids()):
            f.one("wb-map-stage").value = stage
            _fill(
                f,
                {
                    "wb-map-actions": "does something",
                    "wb-map-thoughts": "thinks something",
                    "wb-map-pain-points": "a pain",
                    "wb-map-opportunities": "an idea",
                    "wb-map-emotion": str(score - 2),
                },
            )

    # step 7: marks, recommendations, experiments, processes, content, the cycle log
    f = refine.form(ws)
    forms.append(f)
    for person in people:
        f.one("wb-refine-persona").value = person
        for kind in ("best-moment", "worst-struggle"):
            f.one("wb-annotation-kind").value = kind
            f.one("wb-annotation-note").value = "noted"
            f.one("wb-annotation-add").click()
        f.one("wb-recommendation-new-stage").value = ws.data.stages[0].id
        add(f, "recommendation", "Offer rides on Saturdays")
        _fill(f, {"wb-recommendation-owner": "Shop", "wb-recommendation-touchpoint": tps[1]})
    f = experiments.form(ws)
    forms.append(f)
    add(f, "experiment", "Ride invitation subject line")
    f = processes.form(ws)
    forms.append(f)
    add(f, "process", "Booking a test ride")
    _fill(
        f,
        {
            "wb-process-key": True,
            "wb-process-crm-goal": "acquisition",
            "wb-process-owner": "Shop manager",
            "wb-process-service-level": "Confirmed within 2 hours",
            "wb-process-touchpoints": tuple(tps),
        },
    )
    f = content.form(ws)
    forms.append(f)
    for stage in ws.data.stage_ids():
        add(f, "content", f"Guide for {stage}")
    f = cycle.form(ws, today=dt.date(2027, 1, 15))
    forms.append(f)
    add(f, "cycle-entry", "Workshop one done")

    for form in forms:
        assert_clean(form)
    left = {
        s.step.id: [str(m) for m in s.missing]
        for s in method.completeness(on_disk(ws))
        if s.missing
    }
    assert left == {}
