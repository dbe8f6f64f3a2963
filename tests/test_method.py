"""The method as data, completeness per step, and the refine step's best-practice checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from workbook import method, model

ROOT = Path(__file__).resolve().parent.parent
DEMO_FILE = ROOT / "data" / "demo" / "workspace.yaml"


@pytest.fixture(scope="module")
def demo_data() -> dict[str, object]:
    data = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture
def demo(demo_data: dict[str, object]) -> model.Workspace:
    """A fresh demo model per test, so tests may change it."""
    return model.validate_workspace(demo_data)


@pytest.fixture
def empty() -> model.Workspace:
    return model.Workspace(client=model.Client(name="Empty & Co", slug="empty-co"))


def _status(ws: model.Workspace, step_id: str) -> method.StepStatus:
    return next(s for s in method.completeness(ws) if s.step.id == step_id)


def _messages(ws: model.Workspace, step_id: str) -> list[str]:
    return [f.message for f in _status(ws, step_id).missing]


# ------------------------------------------------------------------------- method as data


def test_seven_steps_in_order_each_with_its_notebook() -> None:
    assert [s.number for s in method.STEPS] == list(range(1, 8))
    assert len({s.id for s in method.STEPS}) == 7
    assert method.STEPS[0].notebook == "notebooks/01-objectives.ipynb"
    assert method.STEPS[-1].notebook == "notebooks/07-refine.ipynb"
    for s in method.STEPS:
        assert s.notebook.startswith(f"notebooks/{s.number:02d}-") and s.notebook.endswith(".ipynb")
        assert s.purpose and s.captures and s.fields and s.phases
        assert set(s.phases) <= set(model.PHASES)


def test_step_fields_name_real_workspace_fields() -> None:
    for s in method.STEPS:
        for path in s.fields:
            cls: type[BaseModel] = model.Workspace
            for part in path.split("."):
                assert part in cls.model_fields, f"{s.id}: {path}"
                annotation = cls.model_fields[part].annotation
                inner = getattr(annotation, "__args__", (annotation,))[0]
                cls = inner if isinstance(inner, type) else cls


def test_phases_follow_the_cycle_and_cover_every_step() -> None:
    assert [p.id for p in method.PHASES] == list(model.PHASES)
    assert [p.title for p in method.PHASES] == list(model.PHASES.values())
    covered = {s.id for p in method.PHASES for s in p.steps}
    assert covered == {s.id for s in method.STEPS}
    assert [s.id for s in method.phase("discover").steps] == [
        "objectives",
        "personas",
        "touchpoints",
        "stages",
    ]


def test_lookup_by_id_or_number_and_helpful_key_errors() -> None:
    assert method.step("personas") is method.step("2") is method.STEPS[1]
    assert method.phase("measure").title == "Measure"
    with pytest.raises(KeyError, match="known: objectives, personas"):
        method.step("persona")
    with pytest.raises(KeyError, match="discover"):
        method.phase("define")


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("conversion:consideration:purchase", None),
        ("reach:advocacy", None),
        ("win-rate", None),
        ("time-to-close-days", None),
        ("median-days:retention", None),
        ("channel-rate:email:open", None),
        ("conversion:consideration:checkout", "'checkout' in 'conversion:consideration:che"),
        ("conversion:purchase:consideration", "must go from an earlier stage to a later one"),
        ("reach", "'reach' needs 1 part(s) after 'reach': write it as 'reach:<stage>'"),
        ("open-rate", "'open-rate' is not a metric the workbook computes (use one of:"),
        ("win-rate:all", "needs 0 part(s) after 'win-rate'"),
        # the course's rule too: a channel by its id, not the name the forms show
        ("channel-rate:Email:open", "'Email' in 'channel-rate:Email:open' is not a channel id"),
        ("channel-rate:email:read", "the action in 'channel-rate:email:read' must be open,"),
    ],
)
def test_metric_problem(metric: str, expected: str | None) -> None:
    problem = method.metric_problem(metric, [s[0] for s in model.DEFAULT_STAGES])
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem


# ---------------------------------------------------------------------------- completeness


def test_demo_is_complete_except_for_the_crm_import(demo: model.Workspace) -> None:
    statuses = method.completeness(demo)
    assert [s.step.id for s in statuses] == [s.id for s in method.STEPS]
    incomplete = {s.step.id: [f.check for f in s.missing] for s in statuses if not s.complete}
    # The demo's CRM data is generated and imported separately; until then that is the gap.
    expected = {} if demo.data_sources else {"data": ["data-sources"]}
    assert incomplete == expected
    assert all(s.progress == 1.0 for s in statuses if s.complete)
    assert method.next_step(demo) == (None if demo.data_sources else method.step("data"))


def test_empty_workspace_has_every_step_incomplete(empty: model.Workspace) -> None:
    statuses = method.completeness(empty)
    assert [s.complete for s in statuses] == [False] * 7
    assert all(s.progress < 1 for s in statuses)
    msgs = {s.step.id: [f.message for f in s.missing] for s in statuses}
    assert "no objectives yet" in msgs["objectives"]
    assert "no personas yet" in msgs["personas"]
    assert "no psychographic segment yet" in msgs["personas"]
    assert "no touchpoints yet" in msgs["touchpoints"]
    assert "stage 'retention' has no exit criteria" in msgs["stages"]
    assert "no CRM data imported yet" in msgs["data"]
    assert "no journey map yet" in msgs["visualise"]
    assert "no customer-facing processes listed" in msgs["refine"]
    assert method.next_step(empty) == method.step("objectives")
    assert str(statuses[0]) == "1. Define objectives: 1 to do"


def test_missing_exit_criteria_named_with_field(demo: model.Workspace) -> None:
    demo.stages[3].exit_criteria = ""
    (finding,) = _status(demo, "stages").missing
    assert finding.message == "stage 'retention' has no exit criteria"
    assert finding.field == "stages[3].exit_criteria"


def test_personas_without_channels_are_counted_and_named(demo: model.Workspace) -> None:
    demo.personas[0].preferred_channels = []
    demo.personas[2].preferred_channels = []
    assert _messages(demo, "personas") == [
        "2 of 3 personas have no preferred channels (amara-time-poor-londoner, sofia-studio-owner)"
    ]
    demo.personas[2].preferred_channels = ["phone"]
    assert _messages(demo, "personas") == [
        "persona 'amara-time-poor-londoner' has no preferred channels"
    ]


def test_fewer_than_three_personas_and_open_icp_questions(demo: model.Workspace) -> None:
    demo.journeys = [j for j in demo.journeys if j.persona != "sofia-studio-owner"]
    demo.content = [c for c in demo.content if c.personas != ["sofia-studio-owner"]]
    for c in demo.content:
        c.personas = [p for p in c.personas if p != "sofia-studio-owner"]
    demo.personas = demo.personas[:2]
    demo.icps[1].decision_makers = ""
    demo.icps[1].end_users = " "
    messages = _messages(demo, "personas")
    assert "only 2 personas; the method suggests about three" in messages
    assert (
        "ICP 'boutique-studio' leaves 2 of 8 questions open, "
        "starting with: Who decides the purchase?" in messages
    )


def test_stage_without_touchpoint(demo: model.Workspace) -> None:
    for t in demo.touchpoints:
        t.stages = [s for s in t.stages if s != "advocacy"] or ["retention"]
    assert _messages(demo, "touchpoints") == ["no touchpoint for stage 'advocacy'"]


def test_persona_without_map_and_map_with_gaps(demo: model.Workspace) -> None:
    demo.journeys = [j for j in demo.journeys if j.persona != "graham-returning-athlete"]
    amara = demo.journey("amara-time-poor-londoner")
    assert amara is not None
    amara.stages["purchase"].pain_points = []
    amara.stages["retention"].pain_points = []
    amara.stages["advocacy"].emotion = None
    del amara.stages["awareness"]
    messages = _messages(demo, "visualise")
    assert "persona 'graham-returning-athlete' has no map" in messages
    assert "map of 'amara-time-poor-londoner' has no column for stage 'awareness'" in messages
    assert (
        "map of 'amara-time-poor-londoner': pain points empty at 'purchase', 'retention'"
        in messages
    )
    assert "map of 'amara-time-poor-londoner': no emotion score at 'advocacy'" in messages


def test_empty_touchpoints_lane_falls_back_to_the_stage(demo: model.Workspace) -> None:
    amara = demo.journey("amara-time-poor-londoner")
    assert amara is not None
    amara.stages["purchase"].touchpoints = []
    assert _status(demo, "visualise").complete


def test_bad_metric_is_a_gap_of_step_one(demo: model.Workspace) -> None:
    demo.objectives[0].metric = "conversion:consideration:checkout"
    (finding,) = _status(demo, "objectives").missing
    assert finding.field == "objectives[0].metric"
    assert "checkout" in finding.message


def test_a_channel_named_not_by_its_id_is_the_same_gap_here_as_in_the_course(
    demo: model.Workspace,
) -> None:
    """Step 1's completeness and the course's check apply one rule to a metric."""
    from workbook import course

    demo.objectives[0].metric = "channel-rate:Email:open"
    (finding,) = _status(demo, "objectives").missing
    assert finding.field == "objectives[0].metric"
    assert "'Email' in 'channel-rate:Email:open' is not a channel id" in finding.message
    assert course.metric_problem(demo, "channel-rate:Email:open") in finding.message
    demo.objectives[0].metric = "channel-rate:email:open"
    assert _status(demo, "objectives").missing == ()


def test_completeness_does_not_change_the_workspace(demo: model.Workspace) -> None:
    before = demo.model_dump()
    method.completeness(demo)
    method.best_practice_checks(demo)
    assert demo.model_dump() == before


# --------------------------------------------------------------------------- best practice


def test_demo_meets_the_best_practices(demo: model.Workspace) -> None:
    assert method.best_practice_checks(demo) == []


def test_missing_process_owner_is_found(demo: model.Workspace) -> None:
    index = next(i for i, p in enumerate(demo.processes) if p.id == "repairs-and-service")
    demo.processes[index].owner = ""
    (finding,) = method.best_practice_checks(demo)
    assert finding.check == "process-owner"
    assert finding.message == "process 'repairs-and-service' has no owner"
    assert finding.field == f"processes[{index}].owner"
    # The refine step is no longer complete because of it.
    assert finding in _status(demo, "refine").missing


def test_process_goal_service_level_and_key_checks(demo: model.Workspace) -> None:
    demo.processes[0].crm_goal = None
    demo.processes[1].service_level = ""
    demo.processes[2].touchpoints = []
    checks = [f.check for f in method.best_practice_checks(demo)]
    assert checks == ["process-crm-goal", "process-service-level", "process-touchpoints"]
    for p in demo.processes:
        p.key = False
    assert "key-processes" in [f.check for f in method.best_practice_checks(demo)]


def test_too_many_key_processes(demo: model.Workspace) -> None:
    template = demo.processes[0]
    demo.processes = [template.model_copy(update={"id": f"process-{i}"}) for i in range(9)]
    (finding,) = method.best_practice_checks(demo)
    assert finding.message == "9 of 9 processes are marked as key"


def test_recommendation_and_segment_checks(demo: model.Workspace) -> None:
    demo.journeys[1].recommendations[0].owner = ""
    demo.journeys[1].recommendations[1].touchpoint = None
    demo.personas[0].segments = []
    demo.objectives[2].crm_goal = None
    findings = {f.check: f for f in method.best_practice_checks(demo)}
    assert set(findings) == {
        "recommendation-owner",
        "recommendation-touchpoint",
        "persona-segment",
        "objective-crm-goal",
    }
    assert findings["recommendation-owner"].field == "journeys[1].recommendations[0].owner"
    assert "graham-returning-athlete" in findings["recommendation-owner"].message


def test_no_processes_and_no_segments(empty: model.Workspace) -> None:
    checks = [f.check for f in method.best_practice_checks(empty)]
    assert checks == ["processes", "segments"]
    assert "(" in str(method.best_practice_checks(empty)[0])  # the hint is shown
