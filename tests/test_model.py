"""The workspace model: ids, field rules, and every validation message with its path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from workbook import model
from workbook.exceptions import Problem, WorkspaceValidationError

UNKNOWN_FIELD = "is not a known field (check the spelling; `workbook schema` lists the fields)"


def base(**extra: Any) -> dict[str, Any]:
    return {"client": {"name": "Acme", "slug": "acme"}, **extra}


def problems_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(WorkspaceValidationError) as info:
        model.validate_workspace(data, file="w.yaml")
    assert all(p.file == "w.yaml" for p in info.value.problems)
    return {p.field or "": p.message for p in info.value.problems}


# ------------------------------------------------------------------------------------ ids


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Priya (the Planner)", "priya-the-planner"),
        ("Zoë's Café", "zoe-s-cafe"),
        ("  B2B -- SaaS!! ", "b2b-saas"),
        ("../../etc/passwd", "etc-passwd"),
        ('<b>"Acme"</b>', "b-acme-b"),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert model.slugify(text) == slug


def test_slugify_without_letters_is_stable_and_distinct() -> None:
    a, b = model.slugify("🏋️"), model.slugify("💪")
    assert a.startswith("item-") and b.startswith("item-") and a != b
    assert model.slugify("🏋️") == a
    assert model.slugify("🏋️", fallback="workspace").startswith("workspace-")


def test_slugify_is_short_and_a_valid_id() -> None:
    slug = model.slugify("word " * 100)
    assert len(slug) <= 64
    model.Stage(id=slug, name="x")  # accepted as an id


@pytest.mark.parametrize(
    "bad", ["Has Space", "UPPER", "trailing-", "-leading", "dou--ble", "", "a" * 65]
)
def test_bad_ids_are_rejected(bad: str) -> None:
    with pytest.raises(ValidationError):
        model.Stage(id=bad, name="x")


# ---------------------------------------------------------------------------- field rules


def test_colours_are_normalised_and_checked() -> None:
    assert model.Branding(primary_color="#1f4e79").primary_color == "#1F4E79"
    found = problems_of(
        base(client={"name": "A", "slug": "a", "branding": {"accent_color": "red"}})
    )
    assert found == {
        "client.branding.accent_color": "must be a colour like #1F4E79 (a # and six hex digits)"
    }


@pytest.mark.parametrize(
    "logo", ["/etc/logo.png", "../logo.png", "assets/../../x.png", "C:\\logo.png"]
)
def test_logo_must_stay_inside_the_workspace(logo: str) -> None:
    found = problems_of(base(client={"name": "A", "slug": "a", "branding": {"logo": logo}}))
    assert found == {
        "client.branding.logo": "must be a path inside the workspace folder, like assets/logo.png"
    }


def test_logo_inside_is_fine_and_empty_means_none() -> None:
    assert model.Branding(logo="assets/logo.svg").logo == "assets/logo.svg"
    assert model.Branding(logo="").logo is None


def test_text_is_stripped() -> None:
    assert model.Persona(id="p", name="  Priya  ").name == "Priya"


def test_assignment_is_validated() -> None:
    cell = model.MapCell(emotion=1)
    with pytest.raises(ValidationError):
        cell.emotion = 3
    assert cell.emotion == 1


def test_defaults() -> None:
    ws = model.Workspace(client=model.Client(name="A", slug="a"))
    assert ws.schema_version == model.SCHEMA_VERSION and ws.revision == 0
    assert ws.stage_ids() == ["awareness", "consideration", "purchase", "retention", "advocacy"]
    assert [s.selling_action for s in ws.stages] == [
        "attract",
        "convert",
        "reassure",
        "retain",
        "delight",
    ]
    assert model.Journey(persona="p").lanes == list(model.DEFAULT_LANES)
    assert list(model.ICP(id="i", name="I").answers()) == list(model.ICP_QUESTIONS)


def test_lookups_name_the_known_ids() -> None:
    ws = model.Workspace(
        client=model.Client(name="A", slug="a"),
        personas=[model.Persona(id="priya", name="Priya")],
        journeys=[model.Journey(persona="priya"), model.Journey(persona="priya", icp="smb")],
        icps=[model.ICP(id="smb", name="SMB")],
    )
    assert ws.persona("priya").name == "Priya"
    assert ws.stage("purchase").name == "Purchase"
    assert ws.journey("priya") is ws.journeys[0]
    assert ws.journey("priya", "smb") is ws.journeys[1]
    assert ws.journey("sam") is None
    with pytest.raises(KeyError, match="no persona with id 'sam' \\(known: priya\\)"):
        ws.persona("sam")
    with pytest.raises(KeyError, match="known: none yet"):
        ws.touchpoint("web")


# ------------------------------------------------------------------- validation messages


def test_schema_messages_and_paths() -> None:
    found = problems_of(
        base(
            revision=-1,
            personas=[{"id": "p", "name": "P", "hair": "red"}, {"name": "No id"}],
            segments=[{"id": "s", "name": "S", "kind": "astrological"}],
            journeys=[
                {
                    "persona": "p",
                    "stages": {"awareness": {"emotion": 2.5}, "purchase": {"emotion": -9}},
                }
            ],
            measurement={"experiments": [{"id": "e", "name": "E", "sample_size": 0}]},
            cycle={"log": [{"date": "not a date", "phase": "discover", "note": "n"}]},
        )
    )
    assert found == {
        "revision": "input should be greater than or equal to 0",
        "personas[0].hair": UNKNOWN_FIELD,
        "personas[1].id": "is required",
        "segments[0].kind": (
            "must be one of 'geographic', 'demographic', 'psychographic' or 'behavioural'"
        ),
        "journeys[0].stages.awareness.emotion": "must be between -2 and 2",
        "journeys[0].stages.purchase.emotion": "must be between -2 and 2",
        "measurement.experiments[0].sample_size": "input should be greater than 0",
        "cycle.log[0].date": found["cycle.log[0].date"],
    }
    assert "date" in found["cycle.log[0].date"]


def test_top_level_must_be_a_mapping() -> None:
    assert problems_of(["not", "a", "mapping"]) == {  # type: ignore[arg-type]
        "(top level)": "input should be a valid dictionary or instance of Workspace"
    }


REFERENCES: list[tuple[dict[str, Any], str, str]] = [
    (
        {"personas": [{"id": "p", "name": "P", "segments": ["x"]}]},
        "personas[0].segments[0]",
        "segment",
    ),
    ({"personas": [{"id": "p", "name": "P", "icp": "x"}]}, "personas[0].icp", "icp"),
    (
        {"touchpoints": [{"id": "t", "name": "T", "channel": "web", "stages": ["x"]}]},
        "touchpoints[0].stages[0]",
        "stage",
    ),
    ({"journeys": [{"persona": "x"}]}, "journeys[0].persona", "persona"),
    (
        {
            "personas": [{"id": "p", "name": "P"}],
            "journeys": [{"persona": "p", "stages": {"x": {}}}],
        },
        "journeys[0].stages.x",
        "stage",
    ),
    (
        {
            "personas": [{"id": "p", "name": "P"}],
            "journeys": [{"persona": "p", "stages": {"awareness": {"touchpoints": ["x"]}}}],
        },
        "journeys[0].stages.awareness.touchpoints[0]",
        "touchpoint",
    ),
    (
        {
            "personas": [{"id": "p", "name": "P"}],
            "journeys": [{"persona": "p", "annotations": [{"kind": "best-moment", "stage": "x"}]}],
        },
        "journeys[0].annotations[0].stage",
        "stage",
    ),
    (
        {
            "personas": [{"id": "p", "name": "P"}],
            "journeys": [
                {
                    "persona": "p",
                    "recommendations": [
                        {"id": "r", "text": "T", "stage": "awareness", "touchpoint": "x"}
                    ],
                }
            ],
        },
        "journeys[0].recommendations[0].touchpoint",
        "touchpoint",
    ),
    (
        {"measurement": {"kpis": [{"id": "k", "name": "K", "objective": "x"}]}},
        "measurement.kpis[0].objective",
        "objective",
    ),
    (
        {"measurement": {"kpis": [{"id": "k", "name": "K", "stage": "x"}]}},
        "measurement.kpis[0].stage",
        "stage",
    ),
    (
        {"measurement": {"scoring_rules": [{"id": "r", "points": 5, "touchpoint": "x"}]}},
        "measurement.scoring_rules[0].touchpoint",
        "touchpoint",
    ),
    (
        {"measurement": {"experiments": [{"id": "e", "name": "E", "touchpoint": "x"}]}},
        "measurement.experiments[0].touchpoint",
        "touchpoint",
    ),
    (
        {"processes": [{"id": "p", "name": "P", "touchpoints": ["x"]}]},
        "processes[0].touchpoints[0]",
        "touchpoint",
    ),
    ({"content": [{"id": "c", "title": "C", "stage": "x"}]}, "content[0].stage", "stage"),
    (
        {"content": [{"id": "c", "title": "C", "stage": "awareness", "personas": ["x"]}]},
        "content[0].personas[0]",
        "persona",
    ),
]


@pytest.mark.parametrize(("extra", "path", "what"), REFERENCES, ids=[r[1] for r in REFERENCES])
def test_every_reference_is_checked(extra: dict[str, Any], path: str, what: str) -> None:
    assert problems_of(base(**extra)) == {path: f"refers to {what} 'x', which does not exist"}


def test_duplicates_and_second_maps() -> None:
    with pytest.raises(WorkspaceValidationError) as info:
        model.validate_workspace(
            base(
                personas=[{"id": "p", "name": "P"}, {"id": "p", "name": "Q"}],
                stages=[{"id": "s", "name": "S"}, {"id": "s", "name": "T"}],
                journeys=[{"persona": "p"}, {"persona": "p"}],
            )
        )
    got = {(p.field, p.message, p.hint) for p in info.value.problems}
    assert got == {
        ("personas[1].id", "duplicate id 'p'", "every persona needs its own id"),
        ("stages[1].id", "duplicate id 's'", "every stage needs its own id"),
        ("journeys[1].persona", "a second map for persona 'p'", "merge the two maps into one"),
    }
    assert str(info.value).startswith("workspace: 3 problems found")


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        (
            {"personas": [{"id": "priya", "name": "Priya"}, {"id": "priya-2", "name": " PRIYA "}]},
            "personas[1].name",
            "persona 'PRIYA' (priya-2) has the same name as persona 'Priya' (priya)",
        ),
        (
            {
                "touchpoints": [
                    {"id": "ig", "name": "Instagram  account", "channel": "social"},
                    {"id": "insta", "name": "instagram account", "channel": "social"},
                ]
            },
            "touchpoints[1].name",
            "touchpoint 'instagram account' (insta) has the same name as touchpoint "
            "'Instagram  account' (ig)",
        ),
        (
            {"stages": [{"id": "a", "name": "Buy now"}, {"id": "b", "name": "buy-now"}]},
            "stages[1].name",
            "stage 'buy-now' (b) has the same name as stage 'Buy now' (a)",
        ),
        (
            {"objectives": [{"id": "a", "title": "Grow"}, {"id": "b", "title": "grow"}]},
            "objectives[1].title",
            "objective 'grow' (b) has the same name as objective 'Grow' (a)",
        ),
    ],
    ids=["personas", "touchpoints", "stages", "objectives"],
)
def test_two_items_with_one_name_are_refused(
    extra: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(WorkspaceValidationError) as info:
        model.validate_workspace(base(**extra))
    (problem,) = info.value.problems
    assert (problem.field, problem.message) == (field, message)
    assert problem.hint and "own name" in problem.hint


def test_names_that_only_look_alike_are_fine() -> None:
    model.validate_workspace(
        base(
            personas=[{"id": "a", "name": "Priya"}, {"id": "b", "name": "Priya 2"}],
            touchpoints=[
                {"id": "t1", "name": "Web-site", "channel": "web"},
                {"id": "t2", "name": "Website", "channel": "web"},
            ],
        )
    )


@pytest.mark.parametrize(
    ("extra", "field", "stage"),
    [
        (
            {"objectives": [{"id": "o", "title": "O", "metric": "conversion:awareness:buy"}]},
            "objectives[0].metric",
            "buy",
        ),
        (
            {"measurement": {"kpis": [{"id": "k", "name": "K", "metric": " reach : nowhere "}]}},
            "measurement.kpis[0].metric",
            "nowhere",
        ),
        (
            {
                "measurement": {
                    "okrs": [
                        {
                            "id": "o",
                            "objective": "O",
                            "key_results": [
                                {"id": "kr", "text": "KR", "metric": "median-days:Awareness"}
                            ],
                        }
                    ]
                }
            },
            "measurement.okrs[0].key_results[0].metric",
            "Awareness",
        ),
    ],
    ids=["objective", "kpi", "key-result"],
)
def test_a_formula_naming_a_missing_stage_is_refused(
    extra: dict[str, Any], field: str, stage: str
) -> None:
    with pytest.raises(WorkspaceValidationError) as info:
        model.validate_workspace(base(**extra))
    (problem,) = info.value.problems
    assert problem.field == field
    assert problem.message == (
        f"the formula names stage {stage!r}, which the workspace does not have"
    )
    assert problem.hint == ("use one of: advocacy, awareness, consideration, purchase, retention")


def test_formulas_with_known_stages_or_free_text_pass() -> None:
    model.validate_workspace(
        base(
            objectives=[{"id": "o", "title": "O", "metric": "conversion:awareness:purchase"}],
            measurement={
                "kpis": [
                    {"id": "a", "name": "A", "metric": "reach:retention"},
                    {"id": "b", "name": "B", "metric": "median-days:consideration"},
                    {"id": "c", "name": "C", "metric": "open rate: newsletter"},
                    {"id": "d", "name": "D", "metric": "win-rate"},
                    {"id": "e", "name": "E", "metric": "channel-rate:email:open"},
                ]
            },
        )
    )
    assert model.metric_stages("conversion: a : b") == ["a", "b"]
    assert model.metric_stages("conversion:a") == []
    assert model.metric_stages(None) == []


def test_reference_hint_lists_known_ids() -> None:
    ws = model.Workspace.model_validate(
        base(
            journeys=[{"persona": "ghost"}],
            personas=[{"id": "b", "name": "B"}, {"id": "a", "name": "A"}],
        )
    )
    (problem,) = model.reference_problems(ws)
    assert problem.hint == "use one of: a, b"


def test_valid_workspace_passes() -> None:
    ws = model.validate_workspace(
        base(
            personas=[{"id": "p", "name": "P"}],
            touchpoints=[{"id": "web", "name": "Site", "channel": "web", "stages": ["awareness"]}],
            journeys=[
                {"persona": "p", "stages": {"awareness": {"emotion": -2, "touchpoints": ["web"]}}}
            ],
        )
    )
    assert ws.journeys[0].stages["awareness"].emotion == -2


def test_loc_to_path_and_problem_text() -> None:
    assert (
        model.loc_to_path(("personas", 2, "emotion", "consideration"))
        == "personas[2].emotion.consideration"
    )
    p = Problem("must be between -2 and 2", file="w.yaml", line=7, field="x.y", hint="use -2..2")
    assert str(p) == "w.yaml:7, x.y: must be between -2 and 2 (use -2..2)"
    assert str(Problem("bad", row=3, column="email")) == "row 3, column 'email': bad"


# ------------------------------------------------------------------- control characters


@pytest.mark.parametrize(
    ("where", "value", "code"),
    [
        ({"stages": [{"id": "s", "name": "Sta\x01ge"}]}, "stages[0].name", "U+0001"),
        ({"personas": [{"id": "p", "name": "\x00Priya"}]}, "personas[0].name", "U+0000"),
        (
            {"personas": [{"id": "p", "name": "P", "goals": ["ok", "be\x07ll"]}]},
            "personas[0].goals[1]",
            "U+0007",
        ),
        (
            {"personas": [{"id": "p", "name": "P", "summary": "a\x1bb"}]},
            "personas[0].summary",
            "U+001B",
        ),
        (
            {"personas": [{"id": "p", "name": "P", "summary": "next\x85line"}]},
            "personas[0].summary",
            "U+0085",
        ),
        (
            {"personas": [{"id": "p", "name": "P", "image": "a\x7f.png"}]},
            "personas[0].image",
            "U+007F",
        ),
        ({"objectives": [{"id": "o", "title": "Tab\there"}]}, "objectives[0].title", "U+0009"),
        ({"objectives": [{"id": "o", "title": "Two\nlines"}]}, "objectives[0].title", "U+000A"),
    ],
)
def test_control_characters_are_refused_with_field_and_code(
    where: dict[str, Any], value: str, code: str
) -> None:
    found = problems_of(base(**where))
    assert value in found, found
    assert found[value].startswith(f"contains {code} ("), found[value]
    assert "remove it" in found[value]


def test_long_text_keeps_tabs_and_line_ends() -> None:
    summary = "Line one\n\tindented\r\nWindows line"
    ws = model.validate_workspace(base(personas=[{"id": "p", "name": "P", "summary": summary}]))
    assert ws.personas[0].summary == summary


def test_control_characters_are_refused_on_assignment() -> None:
    # The forms assign fields one by one: the same rule holds there.
    stage = model.Stage(id="s", name="Stage")
    with pytest.raises(ValidationError, match="U\\+0001"):
        stage.name = "Sta\x01ge"
    assert stage.name == "Stage"
