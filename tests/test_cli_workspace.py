"""The workspace commands, driven in process with click's runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result

from workbook import __version__, model
from workbook.cli import main
from workbook.store import open_workspace, presets

ROOT = Path(__file__).resolve().parent.parent
Invoke = Callable[..., Result]
COMMANDS = ("new", "validate", "snapshot", "snapshots", "diff", "schema")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_version_and_help_on_every_command(run: Invoke) -> None:
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.output
    for command in COMMANDS:
        result = run(command, "--help")
        assert result.exit_code == 0, command
        assert result.output.startswith(f"Usage: main {command}"), command


def test_new_then_validate(run: Invoke, tmp_path: Path) -> None:
    result = run("new", "Acme Fitness")
    assert result.exit_code == 0, result.output
    assert "created acme-fitness" in result.output
    assert (tmp_path / "acme-fitness" / "workspace.yaml").is_file()
    result = run("validate", "acme-fitness")
    assert result.exit_code == 0
    assert result.output == "ok: acme-fitness (0 personas, 5 stages, 0 touchpoints)\n"


def test_new_with_preset_and_dir(run: Invoke, tmp_path: Path) -> None:
    result = run("new", "Acme Fitness", "--preset", "d2c-retail", "--dir", "clients")
    assert result.exit_code == 0, result.output
    assert open_workspace(tmp_path / "clients" / "acme-fitness").data.client.name == "Acme Fitness"
    assert run("validate", "clients/acme-fitness").exit_code == 0


def test_user_mistakes_are_one_line_and_exit_1(run: Invoke) -> None:
    assert run("new", "Acme").exit_code == 0
    result = run("new", "Acme")
    assert result.exit_code == 1
    assert result.output.startswith("error: acme already exists and is not empty")
    assert "Traceback" not in result.output

    result = run("new", "Other", "--preset", "nope")
    assert result.exit_code == 1
    assert "unknown preset 'nope'" in result.output

    result = run("validate", "missing")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: no workspace at missing: workspace.yaml not found "
        "(check the path, or create one with `workbook new NAME`)"
    ]

    result = run("diff", "acme", "3")
    assert result.exit_code == 1 and "no snapshot '3'" in result.output

    result = run("snapshot", "acme")  # -m is required: a usage error
    assert result.exit_code == 2 and "Missing option '--message'" in result.output


def test_validate_lists_every_problem(run: Invoke, tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(
        "client:\n  name: A\n  slug: Bad Slug\npersonas:\n  - id: p\n    name: P\n    mood: 3\n"
        "journeys:\n  - persona: p\n    stages:\n      awareness:\n        emotion: 9\n",
        "utf-8",
    )
    result = run("validate", "broken.yaml")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "3 problems in broken.yaml:"
    assert lines[1] == (
        "broken.yaml:3: client.slug: must be an id: lower-case letters, digits and single "
        "hyphens (like 'priya-planner')"
    )
    assert lines[2].startswith("broken.yaml:7: personas[0].mood: is not a known field")
    assert (
        lines[3] == "broken.yaml:12: journeys[0].stages.awareness.emotion: must be between -2 and 2"
    )
    assert "Traceback" not in result.output


def test_validate_accepts_the_demo(run: Invoke) -> None:
    result = run("validate", str(ROOT / "data" / "demo"))
    assert result.exit_code == 0, result.output
    ws = open_workspace(ROOT / "data" / "demo").data
    assert result.output.endswith(
        f"({len(ws.personas)} personas, {len(ws.stages)} stages, "
        f"{len(ws.touchpoints)} touchpoints)\n"
    )


@pytest.mark.parametrize("preset", ["b2b-saas", "d2c-retail", "professional-services"])
def test_validate_accepts_every_preset(run: Invoke, preset: str) -> None:
    file = presets()[preset]
    result = run("validate", str(file))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")


def test_snapshot_snapshots_and_diff(run: Invoke, tmp_path: Path) -> None:
    run("new", "Acme")
    assert run("snapshots", "acme").output.startswith("no snapshots yet")
    result = run("snapshot", "acme", "-m", "before workshop")
    assert result.exit_code == 0 and result.output == "snapshot 0001-before-workshop (revision 0)\n"

    ws = open_workspace(tmp_path / "acme")
    ws.data.personas.append(model.Persona(id="priya", name="Priya"))
    ws.data.journeys.append(
        model.Journey(persona="priya", stages={"awareness": model.MapCell(emotion=-1)})
    )
    ws.save()
    assert run("snapshot", "acme", "-m", "after workshop").exit_code == 0

    listing = run("snapshots", "acme").output.splitlines()
    assert [line.split()[0] for line in listing] == ["0001", "0002"]
    assert listing[1].endswith("revision 1  after workshop")

    result = run("diff", "acme", "1", "2")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "0001-before-workshop -> 0002-after-workshop: 2 changes",
        "+ personas[priya]: Priya",
        "+ journeys[priya]: priya",
        "emotion moves:",
        "  emotion priya @ awareness: none -> -1",
    ]
    assert run("diff", "acme").output == "no changes between 0002-after-workshop and saved\n"


def test_schema_is_valid_json_schema_and_accepts_the_demo(run: Invoke, tmp_path: Path) -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    demo = yaml.safe_load((ROOT / "data" / "demo" / "workspace.yaml").read_text("utf-8"))
    # YAML dates are date objects; the JSON schema expects their text
    jsonschema.validate(json.loads(json.dumps(demo, default=str)), schema)

    result = run("schema", "-o", "schema.json")
    assert result.exit_code == 0
    assert json.loads((tmp_path / "schema.json").read_text("utf-8")) == schema


def test_validate_counts_every_problem_also_those_not_listed(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from workbook.cli import main

    personas = "".join(f"  - id: P{i}\n    name: n\n" for i in range(150))  # ids not slugs
    (tmp_path / "workspace.yaml").write_text(
        "client:\n  name: X\n  slug: x\npersonas:\n" + personas, encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("150 problems in ")
    assert "50 more problems are not listed" in result.output
