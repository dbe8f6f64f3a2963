"""The workspace store: YAML round trip, validation with lines, atomic and locked saves,
snapshots and diff, new workspaces from hostile names and presets."""

from __future__ import annotations

import difflib
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workbook import model, store
from workbook.exceptions import (
    ConflictError,
    SchemaVersionError,
    WorkbookError,
    WorkspaceExistsError,
    WorkspaceNotFoundError,
    WorkspaceValidationError,
)
from workbook.store import dumps, loads, new_workspace, open_workspace

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ("b2b-saas", "d2c-retail", "professional-services")


def rich_workspace() -> model.Workspace:
    """A small workspace touching the awkward corners of YAML."""
    return model.Workspace(
        client=model.Client(
            name='Acme "Fitness" & <Co> 🏋️',
            slug="acme-fitness",
            industry="yes",  # a YAML 1.1 boolean word, must stay a string
            engagement="2027-01-01",  # looks like a date, must stay a string
        ),
        objectives=[
            model.Objective(
                id="grow",
                title="Grow: by 10% # not a comment",
                kpi="null",
                due="2027-03-31",
                baseline=1.5,
            )
        ],
        personas=[
            model.Persona(
                id="priya",
                name="Priya",
                summary="Line one\nLine two\n\n  indented line",
                goals=["007", "on", "- dash", "'quoted'"],
            )
        ],
        touchpoints=[model.Touchpoint(id="site", name="Site", channel="web", stages=["awareness"])],
        journeys=[
            model.Journey(
                persona="priya",
                stages={
                    "awareness": model.MapCell(emotion=1, actions=["looks"], touchpoints=["site"])
                },
            )
        ],
    )


def write_ws(folder: Path, ws: model.Workspace) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "workspace.yaml").write_text(dumps(ws), encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------ round trip


def test_round_trip_is_byte_stable_and_keeps_types() -> None:
    ws = rich_workspace()
    text = dumps(ws)
    again = loads(text)
    assert again == ws
    assert dumps(again) == text
    assert again.client.industry == "yes"
    assert again.client.engagement == "2027-01-01"
    assert again.personas[0].goals == ["007", "on", "- dash", "'quoted'"]
    # human-readable choices: header comment, block text, unquoted date, emoji as is
    assert text.startswith("# Journey Workbook workspace")
    assert "summary: |-\n" in text
    assert "due: 2027-03-31\n" in text
    assert "🏋️" in text


def test_file_keeps_model_key_order_and_drops_empty_values() -> None:
    text = dumps(model.Workspace(client=model.Client(name="A", slug="a")))
    data = yaml.safe_load(text)
    assert list(data) == ["schema_version", "revision", "client", "stages", "cycle"]
    assert "personas" not in data and "industry" not in data["client"]


def test_demo_round_trip_after_first_save(demo_copy: Path) -> None:
    ws = open_workspace(demo_copy)
    first = store.dumps(ws.data, header=store.leading_comments(ws.file.read_text("utf-8")))
    assert dumps(loads(first), header=store.leading_comments(first)) == first
    # the demo's own comment block survives a save
    ws.data.client.consultant = "Someone Else"
    assert ws.save()
    saved = ws.file.read_text("utf-8")
    assert saved.startswith(
        store.leading_comments((ROOT / "data/demo/workspace.yaml").read_text("utf-8"))
    )
    assert open_workspace(demo_copy).data == ws.data


SHIPPED = [
    ROOT / "data" / "demo" / "workspace.yaml",
    *(ROOT / "templates" / "workspaces" / f"{p}.yaml" for p in PRESETS),
]


@pytest.mark.parametrize("file", SHIPPED, ids=lambda p: p.stem)
def test_shipped_files_are_stored_exactly_as_the_store_writes_them(file: Path) -> None:
    text = file.read_text(encoding="utf-8")
    assert dumps(loads(text), header=store.leading_comments(text)) == text


def _changed_lines(before: str, after: str) -> list[str]:
    """The lines a ``git diff`` of the two texts shows as removed or added."""
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
        if line[:1] in "-+" and not line.startswith(("---", "+++"))
    ]


def _edits(ws: model.Workspace) -> list[tuple[str, Callable[[], None]]]:
    def set_(obj: Any, name: str, value: Any) -> Callable[[], None]:
        return lambda: setattr(obj, name, value)

    return [
        ("client engagement", set_(ws.client, "engagement", "Second engagement")),
        ("stage name", set_(ws.stages[1], "name", "Thinking it over")),
        ("objective target", set_(ws.objectives[0], "target", 42.0)),
        ("touchpoint owner", set_(ws.touchpoints[2], "owner", "Someone new")),
    ]


@pytest.mark.parametrize("file", SHIPPED, ids=lambda p: p.stem)
def test_a_one_field_edit_changes_only_that_fields_line(tmp_path: Path, file: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    shutil.copyfile(file, folder / "workspace.yaml")
    ws = open_workspace(folder)
    # the first save of an untouched workspace changes nothing
    untouched = ws.file.read_bytes()
    assert ws.save() is False and ws.file.read_bytes() == untouched
    assert ws._dump(ws.revision).encode() == untouched
    for what, edit in _edits(ws.data):
        before = ws.file.read_text(encoding="utf-8")
        edit()
        assert ws.save(), what
        changed = _changed_lines(before, ws.file.read_text(encoding="utf-8"))
        # the revision line and the field's line, nothing else
        assert changed[0].startswith("-revision: "), (what, changed)
        rest = [line for line in changed if not line[1:].startswith("revision: ")]
        assert len(changed) - len(rest) == 2, (what, changed)
        # one line for the field (a field filled in for the first time adds one, no removal)
        key = what.split()[-1]
        assert 1 <= len(rest) <= 2 and all(f" {key}: " in line for line in rest), (what, rest)
        assert len({line[0] for line in rest}) == len(rest)


# Any text the model takes: no control characters (refused, see test_model), except tab and
# line ends in long text.
_line = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\t\n\r"),
    max_size=60,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=_line.filter(lambda s: s.strip()), summary=_text, goals=st.lists(_text, max_size=4))
@example(name="0", summary="0\r0", goals=["a\r\nb", "x\u2028y", "tab\there", "trail \n space "])
def test_any_text_round_trips(name: str, summary: str, goals: list[str]) -> None:
    ws = model.Workspace(
        client=model.Client(name=name, slug="x"),
        personas=[model.Persona(id="p", name=name, summary=summary, goals=goals)],
    )
    text = dumps(ws)
    again = loads(text)
    assert again == ws
    assert dumps(again) == text


# ------------------------------------------------------------------------------ validation


HEAD = "client:\n  name: A\n  slug: a\n"

BROKEN = """\
schema_version: 1
client:
  name: Acme
  slug: Not A Slug
personas:
  - id: priya
    name: Priya
  - id: sam
    name: Sam
    favourite_colour: blue
  - id: lee
    name: Lee
    demographics:
      age_range: 30-40
journeys:
  - persona: priya
    stages:
      awareness:
        emotion: 5
      consideration:
        emotion: -3
  - persona: ghost
client_branding: nope
"""


def test_broken_file_lists_every_problem_with_path_and_line(tmp_path: Path) -> None:
    write = tmp_path / "ws"
    write.mkdir()
    (write / "workspace.yaml").write_text(BROKEN, encoding="utf-8")
    with pytest.raises(WorkspaceValidationError) as info:
        open_workspace(write)
    got = {(p.field, p.line): p.message for p in info.value.problems}
    assert got == {
        ("client.slug", 4): (
            "must be an id: lower-case letters, digits and single hyphens (like 'priya-planner')"
        ),
        ("personas[1].favourite_colour", 10): (
            "is not a known field (check the spelling; `workbook schema` lists the fields)"
        ),
        ("journeys[0].stages.awareness.emotion", 19): "must be between -2 and 2",
        ("journeys[0].stages.consideration.emotion", 21): "must be between -2 and 2",
        # reference problems come in the same run as the schema problems
        ("journeys[1].persona", 22): "refers to persona 'ghost', which does not exist",
        ("client_branding", 23): (
            "is not a known field (check the spelling; `workbook schema` lists the fields)"
        ),
    }
    assert all(p.file == str(write / "workspace.yaml") for p in info.value.problems)
    assert str(info.value).startswith(f"{write / 'workspace.yaml'}: 6 problems found")
    lines = [p.line for p in info.value.problems]
    assert lines == sorted(lines)


@pytest.mark.parametrize(
    ("text", "field", "line", "message"),
    [
        ("client:\n  name: A\n", "client.slug", 1, "is required"),
        ("client:\n  name: A\n  slug: a\nrevision: -1\n", "revision", 4, "greater than or equal"),
        (
            "client:\n  name: A\n  slug: a\n  branding:\n    primary_color: blue\n",
            "client.branding.primary_color",
            5,
            "must be a colour like #1F4E79",
        ),
        (
            "client:\n  name: A\n  slug: a\n  branding:\n    logo: ../secret.png\n",
            "client.branding.logo",
            5,
            "must be a path inside the workspace folder",
        ),
        (
            "client:\n  name: A\n  slug: a\nsegments:\n  - id: s\n    name: S\n    kind: cosmic\n",
            "segments[0].kind",
            7,
            "must be one of",
        ),
        (
            HEAD + "personas:\n  - id: p\n    name: P\n    segments: [ghost]\n",
            "personas[0].segments[0]",
            7,
            "refers to segment 'ghost', which does not exist",
        ),
        (
            HEAD + "personas:\n  - id: p\n    name: P\n  - id: p\n    name: Q\n",
            "personas[1].id",
            7,
            "duplicate id 'p'",
        ),
        (
            "client:\n  name: A\n  slug: a\njourneys:\n  - persona: nobody\n",
            "journeys[0].persona",
            5,
            "refers to persona 'nobody'",
        ),
        (
            "client:\n  name: A\n  slug: a\n  name: B\n",
            "client.name",
            4,
            "the key 'name' appears twice",
        ),
        ("", None, 1, "must be a mapping of fields"),
        ("- a\n- b\n", None, 1, "must be a mapping of fields"),
        ("client:\n  name: [A\n  slug: a\n", None, 3, "YAML syntax error"),
        ("client:\n\tname: A\n", None, 2, "YAML syntax error"),
    ],
)
def test_each_problem_has_field_and_line(
    text: str, field: str | None, line: int, message: str
) -> None:
    with pytest.raises(WorkspaceValidationError) as info:
        loads(text, file="ws.yaml")
    problems = info.value.problems
    match = [p for p in problems if p.field == field and message in p.message]
    assert match, [str(p) for p in problems]
    assert match[0].line == line
    assert match[0].file == "ws.yaml"


def test_reference_problem_hint_lists_known_ids() -> None:
    text = (
        HEAD + "segments:\n  - id: young\n    name: Y\n    kind: demographic\n"
        "personas:\n  - id: p\n    name: P\n    segments: [old]\n"
    )
    with pytest.raises(WorkspaceValidationError) as info:
        loads(text)
    (problem,) = info.value.problems
    assert problem.hint == "use one of: young"
    assert problem.line == 11


def test_references_are_checked_even_when_the_schema_fails() -> None:
    text = (
        HEAD + "segments:\n  - name: no id\n    kind: demographic\n"  # line 5: id missing
        "  - id: young\n    name: Y\n    kind: demographic\n"
        "personas:\n"
        "  - id: p\n    name: P\n    segments: [young, old]\n"  # line 13: 'old' unknown
        "  - id: q\n    name: Q\n    segments: Not A List\n"  # line 16: schema only
        "touchpoints:\n  - id: t\n    name: T\n    channel: web\n    stages: [awareness, nope]\n"
    )
    with pytest.raises(WorkspaceValidationError) as info:
        loads(text)
    got = [(p.line, p.field, p.message) for p in info.value.problems]
    assert got == [
        (5, "segments[0].id", "is required"),
        (13, "personas[0].segments[1]", "refers to segment 'old', which does not exist"),
        (16, "personas[1].segments", "input should be a valid list"),
        (21, "touchpoints[0].stages[1]", "refers to stage 'nope', which does not exist"),
    ]
    assert info.value.problems[1].hint == "use one of: young"


def test_a_formulas_unknown_stage_is_reported_with_its_line_also_beside_schema_problems() -> None:
    text = HEAD + (
        "objectives:\n"
        "  - id: grow\n    title: Grow\n    metric: conversion:awareness:loyalty\n"  # line 7
        "  - title: no id\n"  # line 8: schema problem
    )
    with pytest.raises(WorkspaceValidationError) as info:
        loads(text)
    got = [(p.line, p.field, p.message) for p in info.value.problems]
    assert got == [
        (
            7,
            "objectives[0].metric",
            "the formula names stage 'loyalty', which the workspace does not have",
        ),
        (8, "objectives[1].id", "is required"),
    ]


def test_a_shape_too_broken_to_walk_still_reports_the_schema() -> None:
    with pytest.raises(WorkspaceValidationError) as info:
        loads(HEAD + "personas:\n  - just text\njourneys: 3\n")
    assert [p.field for p in info.value.problems] == ["personas[0]", "journeys"]


def test_not_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFoundError, match="workspace.yaml not found"):
        open_workspace(tmp_path / "nowhere")
    with pytest.raises(WorkspaceNotFoundError):
        store.read_workspace(tmp_path)


def test_errors_survive_pickling(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceValidationError) as info:
        loads(BROKEN, file="w.yaml")
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is WorkspaceValidationError
    assert again.problems == info.value.problems


# ------------------------------------------------------------------------------ migrations


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    text = f"schema_version: {model.SCHEMA_VERSION + 1}\nclient:\n  name: A\n  slug: a\n"
    with pytest.raises(SchemaVersionError, match="upgrade journey-workbook"):
        loads(text)


def test_migration_hook_upgrades_old_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MIGRATIONS", {})
    old = model.SCHEMA_VERSION - 1

    @store.register_migration(old)
    def rename_customer(data: dict) -> dict:
        data["client"] = data.pop("customer")
        return data

    assert {old: rename_customer} == store.MIGRATIONS
    folder = tmp_path / "ws"
    folder.mkdir()
    file = folder / "workspace.yaml"
    file.write_text(f"schema_version: {old}\ncustomer:\n  name: A\n  slug: a\n", encoding="utf-8")
    ws = open_workspace(folder)
    assert ws.data.client.name == "A"
    assert ws.data.schema_version == model.SCHEMA_VERSION
    # the upgraded document is written at the next save, even with no other change
    assert ws.save()
    assert yaml.safe_load(file.read_text("utf-8"))["schema_version"] == model.SCHEMA_VERSION


def test_old_version_without_migration_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MIGRATIONS", {})
    with pytest.raises(SchemaVersionError, match="cannot be upgraded"):
        loads(f"schema_version: {model.SCHEMA_VERSION - 1}\nclient:\n  name: A\n  slug: a\n")


# ------------------------------------------------------------------------------------ save


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    return write_ws(tmp_path / "acme", rich_workspace())


def test_save_raises_revision_and_writes_only_changes(ws_dir: Path) -> None:
    ws = open_workspace(ws_dir)
    assert ws.revision == 0 and not ws.dirty
    before = ws.file.stat().st_mtime_ns
    assert ws.save() is False
    assert ws.file.stat().st_mtime_ns == before
    ws.data.client.industry = "Fitness"
    assert ws.dirty
    assert ws.save() is True
    assert ws.revision == 1 and ws.data.revision == 1 and not ws.dirty
    assert open_workspace(ws_dir).data.client.industry == "Fitness"
    assert yaml.safe_load(ws.file.read_text("utf-8"))["revision"] == 1
    # no temporary files left behind; the file is readable by the group like any other file
    assert sorted(p.name for p in ws_dir.iterdir()) == [".workspace.yaml.lock", "workspace.yaml"]
    assert ws.file.stat().st_mode & 0o044


def test_invalid_change_is_refused_and_nothing_written(ws_dir: Path) -> None:
    ws = open_workspace(ws_dir)
    original = ws.file.read_bytes()
    # in-place list edits bypass validate_assignment: save must still catch them
    ws.data.journeys[0].stages["awareness"].touchpoints.append("ghost")
    with pytest.raises(WorkspaceValidationError) as info:
        ws.save()
    assert [p.field for p in info.value.problems] == ["journeys[0].stages.awareness.touchpoints[1]"]
    assert ws.file.read_bytes() == original


def test_stale_copy_gets_conflict_error(ws_dir: Path) -> None:
    a, b = open_workspace(ws_dir), open_workspace(ws_dir)
    a.data.client.industry = "from a"
    assert a.save()
    b.data.client.consultant = "from b"
    with pytest.raises(ConflictError) as info:
        b.save()
    assert "you have revision 0, the file is at revision 1" in info.value.message
    assert open_workspace(ws_dir).data.client.industry == "from a"
    b.reload()
    b.data.client.consultant = "from b"
    assert b.save()
    final = open_workspace(ws_dir).data.client
    assert (final.industry, final.consultant) == ("from a", "from b")


def test_hand_edit_without_revision_bump_is_not_overwritten(ws_dir: Path) -> None:
    ws = open_workspace(ws_dir)
    file = ws_dir / "workspace.yaml"
    file.write_text(file.read_text("utf-8").replace("industry: 'yes'", "industry: Gyms"), "utf-8")
    ws.data.client.consultant = "Me"
    with pytest.raises(ConflictError, match="edited since you loaded it"):
        ws.save()
    assert open_workspace(ws_dir).data.client.industry == "Gyms"


def test_lock_held_too_long_is_a_conflict(ws_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filelock import FileLock

    monkeypatch.setattr(store, "LOCK_TIMEOUT", 0.2)
    ws = open_workspace(ws_dir)
    ws.data.client.industry = "x"
    with FileLock(str(ws_dir / store.LOCKNAME)):
        # filelock is re-entrant within a thread, so hold it from another process
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time; from filelock import FileLock; "
                f"l = FileLock({str(ws_dir / store.LOCKNAME)!r}); l.acquire(); "
                "print('held', flush=True); time.sleep(30)",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ConflictError, match="busy"):
            ws.save()
    finally:
        holder.kill()
        holder.communicate()
    assert ws.save()


def test_stale_temp_files_are_cleaned_on_save(ws_dir: Path) -> None:
    orphan = ws_dir / ".workspace.yaml.999.deadbeef.tmp"
    orphan.write_text("half a file", "utf-8")
    ws = open_workspace(ws_dir)
    ws.data.client.industry = "x"
    ws.save()
    assert not orphan.exists()


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_crash_inside_save_leaves_the_old_file(
    ws_dir: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    # Deterministic companion of the kill test: fail at the two steps between "temporary file
    # written" and "renamed into place"; the old file must be intact and no temp left over.
    original = (ws_dir / "workspace.yaml").read_bytes()
    ws = open_workspace(ws_dir)
    ws.data.client.industry = "new"

    def boom(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.os, failing, boom)
    with pytest.raises(OSError, match="No space left"):
        ws.save()
    monkeypatch.undo()
    assert (ws_dir / "workspace.yaml").read_bytes() == original
    assert not list(ws_dir.glob("*.tmp"))
    assert ws.revision == 0 and ws.dirty
    assert ws.save() and open_workspace(ws_dir).data.client.industry == "new"


def test_update_retries_on_conflict(ws_dir: Path) -> None:
    ws, other = open_workspace(ws_dir), open_workspace(ws_dir)
    calls = []

    def change(data: model.Workspace) -> None:
        calls.append(1)
        if len(calls) == 1:  # someone else saves between our reload and our save
            other.data.client.consultant = "other"
            other.save()
        data.client.industry = "mine"

    assert ws.update(change)
    assert len(calls) == 2
    final = open_workspace(ws_dir).data.client
    assert (final.industry, final.consultant) == ("mine", "other")


# --------------------------------------------------------------- kill and concurrency tests

WRITER = textwrap.dedent(
    """
    import sys
    from workbook.store import open_workspace
    ws = open_workspace(sys.argv[1])
    texts = ["A" * 4000, "B" * 4000]
    print("ready", flush=True)
    i = 0
    while True:
        ws.data.personas[0].summary = texts[i % 2]
        ws.save()
        i += 1
    """
)


def big_workspace() -> model.Workspace:
    ws = rich_workspace()
    # a few hundred kilobytes, so a write takes long enough for kills to land inside it
    ws.personas += [
        model.Persona(id=f"p{i}", name=f"Persona {i}", summary="lorem ipsum " * 200)
        for i in range(40)
    ]
    return ws


@pytest.mark.slow
def test_kill_during_save_never_leaves_a_torn_file(tmp_path: Path) -> None:
    folder = write_ws(tmp_path / "ws", big_workspace())
    script = tmp_path / "writer.py"
    script.write_text(WRITER, "utf-8")
    rng = random.Random(7)
    revisions = set()
    for _ in range(30):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(folder)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        ws = open_workspace(folder)  # must load: never a torn or empty file
        assert ws.data.personas[0].summary in (
            "A" * 4000,
            "B" * 4000,
            rich_workspace().personas[0].summary,
        )
        assert len(ws.data.personas) == 41
        revisions.add(ws.revision)
    # the writer really was saving while it was killed
    assert len(revisions) > 10


PEER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from workbook.store import open_workspace
    from workbook.exceptions import ConflictError
    folder, who, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    ws = open_workspace(folder)
    ws.data.client.industry = who
    print("loaded", flush=True)
    while not go.exists():
        time.sleep(0.001)
    try:
        ws.save()
        print("saved")
    except ConflictError as exc:
        print("conflict", exc.message)
    """
)

COUNTER = textwrap.dedent(
    """
    import sys
    from workbook import model
    from workbook.store import open_workspace
    ws = open_workspace(sys.argv[1])
    who, n = sys.argv[2], int(sys.argv[3])
    for i in range(n):
        def add(data, i=i):
            data.objectives.append(model.Objective(id=f"{who}-{i}", title=f"{who} {i}"))
        ws.update(add, retries=1000)
    """
)


@pytest.mark.slow
def test_two_processes_saving_at_once_one_wins_one_conflicts(tmp_path: Path) -> None:
    folder = write_ws(tmp_path / "ws", rich_workspace())
    script = tmp_path / "peer.py"
    script.write_text(PEER, "utf-8")
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(folder), who, str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for who in ("first", "second")
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "loaded"
    go.touch()
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(o.split()[0] for o in outputs) == ["conflict", "saved"]
    (conflict,) = [o for o in outputs if o.startswith("conflict")]
    assert "you have revision 0, the file is at revision 1" in conflict
    winner = "first" if outputs[0] == "saved" else "second"
    ws = open_workspace(folder)
    assert ws.data.client.industry == winner and ws.revision == 1


@pytest.mark.slow
def test_two_processes_with_retry_lose_no_update(tmp_path: Path) -> None:
    folder = write_ws(tmp_path / "ws", rich_workspace())
    script = tmp_path / "counter.py"
    script.write_text(COUNTER, "utf-8")
    n = 25
    procs = [
        subprocess.Popen([sys.executable, str(script), str(folder), who, str(n)])
        for who in ("left", "right")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    ws = open_workspace(folder)
    ids = {o.id for o in ws.data.objectives}
    assert ids == {"grow"} | {f"{w}-{i}" for w in ("left", "right") for i in range(n)}
    assert ws.revision == 2 * n


# ------------------------------------------------------------------------ snapshots, diff


def test_snapshots_and_diff(ws_dir: Path) -> None:
    ws = open_workspace(ws_dir)
    first = ws.snapshot("after workshop 1")
    assert (first.id, first.name, first.revision) == ("0001", "0001-after-workshop-1", 0)
    assert (ws.history_dir / "0001-after-workshop-1.yaml").read_text("utf-8") == ws.file.read_text(
        "utf-8"
    )

    ws.data.personas.append(model.Persona(id="sam", name="Sam"))
    ws.data.personas[0].name = "Priya P."
    ws.data.personas[0].goals.remove("on")
    ws.data.personas[0].goals.append("sleep")
    ws.data.touchpoints = []
    ws.data.journeys[0].stages["awareness"].touchpoints = []
    ws.data.journeys[0].stages["awareness"].emotion = -1
    ws.data.journeys[0].stages["purchase"] = model.MapCell(emotion=2)
    second = ws.snapshot("after workshop 2")  # saves pending changes first
    assert second.id == "0002" and second.revision == 1
    assert [s.id for s in ws.snapshots()] == ["0001", "0002"]

    diff = ws.diff("1", "0002-after-workshop-2")
    got = {(c.kind, c.path) for c in diff.changes}
    assert got == {
        ("added", "personas[sam]"),
        ("changed", "personas[priya].name"),
        ("removed", "personas[priya].goals"),
        ("added", "personas[priya].goals"),
        ("removed", "touchpoints[site]"),
        ("removed", "journeys[priya].stages.awareness.touchpoints"),
        ("changed", "journeys[priya].stages.awareness.emotion"),
        ("added", "journeys[priya].stages.purchase"),
    }
    assert [(m.persona, m.stage, m.before, m.after, m.delta) for m in diff.emotion_moves] == [
        ("priya", "awareness", 1.0, -1.0, -2.0),
        ("priya", "purchase", None, 2.0, None),
    ]
    added = next(c for c in diff.changes if c.path == "personas[sam]")
    assert added.after == {"id": "sam", "name": "Sam"}
    text = str(diff).splitlines()
    assert text[0] == "0001-after-workshop-1 -> 0002-after-workshop-2: 8 changes"
    assert "+ personas[sam]: Sam" in text
    assert "~ personas[priya].name: Priya -> Priya P." in text
    assert "- personas[priya].goals: on" in text
    assert "  emotion priya @ awareness: +1 -> -1" in text

    frame = diff.to_frame()
    assert list(frame.columns) == ["kind", "path", "before", "after"] and len(frame) == 8
    emotions = diff.emotion_frame()
    assert emotions["delta"].tolist()[0] == -2.0

    # no arguments: latest snapshot against the saved file
    assert not ws.diff()
    ws.data.client.industry = "Gyms"
    ws.save()
    assert [(c.kind, c.path) for c in ws.diff().changes] == [("changed", "client.industry")]
    assert [(c.kind, c.path) for c in ws.diff("0002", None).changes] == [
        ("changed", "client.industry")
    ]
    ws.data.client.consultant = "Hannah"
    ws.data.journeys[0].stages["awareness"].emotion = None
    ws.save()
    assert {(c.kind, c.path, c.before, c.after) for c in ws.diff().changes} == {
        ("changed", "client.industry", "yes", "Gyms"),
        ("added", "client.consultant", None, "Hannah"),
        ("removed", "journeys[priya].stages.awareness.emotion", -1.0, None),
    }


def test_reordering_an_id_list_is_not_a_change(ws_dir: Path) -> None:
    ws = open_workspace(ws_dir)
    ws.data.personas.append(model.Persona(id="sam", name="Sam"))
    ws.save()
    ws.snapshot("two personas")
    ws.data.personas.reverse()
    ws.save()
    assert ws.diff().changes == []


def test_unknown_snapshot_lists_known(ws_dir: Path) -> None:
    ws = open_workspace(ws_dir)
    with pytest.raises(WorkbookError, match="take one first"):
        ws.diff()
    ws.snapshot("first")
    with pytest.raises(WorkbookError) as info:
        ws.diff("7")
    assert info.value.hint == "known snapshots: 0001-first"
    with pytest.raises(WorkspaceValidationError):
        ws.snapshot("   ")


# -------------------------------------------------------------------------- new workspace


@pytest.mark.parametrize(
    "name",
    [
        'Acme "Fitness"',
        "Acme/../../etc",
        "..",
        "../../outside",
        "/abs/path",
        "C:\\Windows",
        "🏋️💪",
        "<script>alert('x')</script>",
        "name: value\n- item # comment",
        "Ünïcödé Çafé",
        "a" * 400,
    ],
)
def test_hostile_names_stay_inside_and_round_trip(tmp_path: Path, name: str) -> None:
    base = tmp_path / "clients"
    ws = new_workspace(name, directory=base)
    assert ws.path.resolve().parent == base.resolve()
    assert list(base.iterdir()) == [ws.path]
    assert ws.path.name == model.slugify(name, fallback="workspace")
    assert open_workspace(ws.path).data.client.name == " ".join(name.split())
    text = ws.file.read_text("utf-8")
    assert dumps(loads(text)) == text


def test_new_workspace_layout(tmp_path: Path) -> None:
    ws = new_workspace("Acme Fitness", directory=tmp_path)
    assert ws.path == tmp_path / "acme-fitness"
    assert {p.name for p in ws.path.iterdir()} == {
        ".gitignore",
        ".workspace.yaml.lock",
        "workspace.yaml",
        "data",
        "history",
        "reports",
    } - {".workspace.yaml.lock"}
    ignored = ws.path.joinpath(".gitignore").read_text("utf-8").splitlines()
    assert {"data/.salt", "*.lock", "reports/"} <= set(ignored)
    assert ws.data.stage_ids() == [s[0] for s in model.DEFAULT_STAGES]
    assert ws.data.personas == [] and ws.data.touchpoints == [] and ws.revision == 0
    assert (ws.data_dir, ws.reports_dir, ws.history_dir) == (
        ws.path / "data",
        ws.path / "reports",
        ws.path / "history",
    )


def test_new_workspace_refuses_existing_folder(tmp_path: Path) -> None:
    new_workspace("Acme", directory=tmp_path)
    with pytest.raises(WorkspaceExistsError, match="already exists"):
        new_workspace("ACME", directory=tmp_path)
    (tmp_path / "empty").mkdir()
    assert new_workspace("Empty", directory=tmp_path).path == tmp_path / "empty"


def test_new_workspace_rejects_empty_name_and_unknown_preset(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceValidationError, match="1 problem"):
        new_workspace("   ", directory=tmp_path)
    with pytest.raises(WorkspaceValidationError) as info:
        new_workspace("Acme", preset="no-such-preset", directory=tmp_path)
    (problem,) = info.value.problems
    assert problem.field == "preset"
    for preset in store.presets():
        assert preset in (problem.hint or "")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_make_valid_workspaces(tmp_path: Path, preset: str) -> None:
    assert preset in store.presets()
    ws = new_workspace("Acme Fitness", preset=preset, directory=tmp_path)
    assert ws.data.client.name == "Acme Fitness" and ws.data.client.slug == "acme-fitness"
    assert ws.data.data_sources == [] and ws.revision == 0
    assert open_workspace(ws.path).data == ws.data


def test_broken_preset_is_reported_with_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "broken.yaml").write_text("client:\n  name: X\n  slug: x\nstages: 3\n", "utf-8")
    monkeypatch.setattr(store, "preset_dirs", lambda: [presets])
    with pytest.raises(WorkspaceValidationError) as info:
        new_workspace("Acme", preset="broken", directory=tmp_path / "out")
    assert info.value.problems[0].field == "stages"
    assert not (tmp_path / "out" / "acme").exists()


def test_public_api_mirrors_the_cli(tmp_path: Path) -> None:
    import workbook

    ws = workbook.new_workspace("Acme Fitness", directory=tmp_path)
    assert isinstance(ws, workbook.OpenWorkspace)
    again = workbook.open_workspace(tmp_path / "acme-fitness" / "workspace.yaml")
    assert again.path == ws.path
    assert os.path.samefile(again.file, ws.file)


def test_new_workspace_race_for_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another `workbook new` fills the folder between our check and our rename.
    real_rename = os.rename

    def late_rename(src: str | Path, dst: str | Path) -> None:
        Path(dst).mkdir(exist_ok=True)
        (Path(dst) / "workspace.yaml").write_text("client: {name: B, slug: b}\n", "utf-8")
        real_rename(src, dst)

    monkeypatch.setattr(store.os, "rename", late_rename)
    with pytest.raises(WorkspaceExistsError):
        new_workspace("Acme", directory=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["acme"]  # our temporary folder is gone


def test_file_in_another_encoding_is_a_problem_with_its_line(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "workspace.yaml").write_bytes(b"client:\n  name: Caf\xe9\n  slug: cafe\n")
    with pytest.raises(WorkspaceValidationError) as info:
        open_workspace(folder)
    (problem,) = info.value.problems
    assert (problem.line, problem.message) == (2, "not UTF-8 text (byte 0xe9)")
    assert problem.hint == "save the file as UTF-8 in your editor"


def test_broken_snapshot_index_is_reported(ws_dir: Path) -> None:
    ws = open_workspace(ws_dir)
    ws.snapshot("first")
    (ws.history_dir / "index.yaml").write_text("- id: 1\n  note: no file\n", "utf-8")
    with pytest.raises(WorkspaceValidationError) as info:
        ws.snapshots()
    assert info.value.problems[0].field == "[0]"
    assert info.value.problems[0].file == str(ws.history_dir / "index.yaml")
