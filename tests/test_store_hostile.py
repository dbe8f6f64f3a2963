"""workspace.yaml from a hostile or clumsy hand: every bad file is a list of problems with a
line or a field path and a hint, answered quickly; never a traceback, never an hour of CPU."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbook import store
from workbook.cli import main
from workbook.exceptions import SchemaVersionError, WorkspaceValidationError
from workbook.store import loads, read_workspace

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo" / "workspace.yaml"
HEAD = "client:\n  name: A\n  slug: a\n"


def problems_of(text: str) -> list[str]:
    """Every problem ``loads`` finds, as the one-line text a person reads."""
    with pytest.raises(WorkspaceValidationError) as info:
        loads(text, file="ws.yaml")
    return [str(p) for p in info.value.problems]


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """Billion laughs: each level lists the one before ``width`` times (width**levels leaves)."""
    lines = [HEAD, "value_proposition:\n"]
    lines.append("  jobs: &l0 [" + ", ".join(["lol"] * width) + "]\n")
    for i in range(1, levels + 1):
        refs = ", ".join([f"*l{i - 1}"] * width)
        lines.append(f"  level{i}: &l{i} [{refs}]\n")
    return "".join(lines)


# ------------------------------------------------------------------------- item 3: aliases


def test_alias_bomb_is_refused_in_under_a_second(tmp_path: Path) -> None:
    # Run in a child with a time limit: before the fix this took hours, not a failure.
    folder = tmp_path / "bomb"
    folder.mkdir()
    (folder / "workspace.yaml").write_text(alias_bomb(), encoding="utf-8")
    child = textwrap.dedent(
        """
        import json, sys, time
        from click.testing import CliRunner
        from workbook.cli import main
        start = time.perf_counter()
        result = CliRunner().invoke(main, ["validate", sys.argv[1]])
        print(json.dumps({"seconds": time.perf_counter() - start,
                          "exit": result.exit_code, "output": result.output}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["exit"] == 1, report
    assert report["seconds"] < 1.0, report
    assert "Traceback" not in report["output"]
    # The first anchor is on line 5 (after the client and the section's key).
    assert "workspace.yaml:5: an anchor (&l0)" in report["output"], report["output"]
    assert "write the value out in full" in report["output"]


def test_an_alias_alone_is_refused_at_its_line() -> None:
    text = HEAD + "personas:\n  - id: p\n    name: P\n    goals: &g [grow]\n    pains: *g\n"
    # The anchor comes first (line 7): that is where the reuse starts.
    assert problems_of(text)[0].startswith("ws.yaml:7: an anchor (&g)")
    # A merge key needs an alias too: refused the same way.
    text = HEAD + "base: &b {a: 1}\nother:\n  <<: *b\n"
    assert problems_of(text)[0].startswith("ws.yaml:4: an anchor (&b)")


def test_an_alias_is_refused_even_where_the_anchor_is_missing() -> None:
    # An alias with no anchor before it: libyaml's own error, with its line.
    text = HEAD + "personas:\n  - *nothing\n"
    found = problems_of(text)
    assert len(found) == 1 and found[0].startswith("ws.yaml:5: "), found


def test_nesting_depth_is_bounded_with_line_and_hint() -> None:
    text = HEAD + "personas:\n  - goals: " + "[" * 40 + "]" * 40 + "\n"
    (found,) = problems_of(text)
    assert found.startswith(f"ws.yaml:5: values nested more than {store.MAX_DEPTH} levels deep")
    assert "a workspace needs at most 8" in found


def test_file_larger_than_the_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    file = folder / "workspace.yaml"
    file.write_text(HEAD + "# " + "x" * 3_000 + "\n", encoding="utf-8")
    monkeypatch.setattr(store, "MAX_FILE_BYTES", 2_000)

    def no_reading(*args: object) -> None:
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(WorkspaceValidationError) as info:
        read_workspace(folder)
    (problem,) = info.value.problems
    size = file.stat().st_size
    assert problem.message == (
        f"the file is {size:,} bytes; the largest workspace file supported is 2,000 bytes"
    )
    assert problem.hint and "split" in problem.hint
    # The same limit holds for text given directly.
    with pytest.raises(WorkspaceValidationError, match="largest workspace file supported"):
        loads(HEAD + "# " + "é" * 1_500 + "\n")  # 1,500 characters, 3,000 bytes
    with pytest.raises(WorkspaceValidationError, match="is at least 3,031 bytes"):
        loads(HEAD + "# " + "x" * 3_000 + "\n")


def test_too_many_values_are_refused_with_the_line_where_the_limit_is_crossed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "MAX_VALUES", 50)
    text = HEAD + "personas:\n  - id: p\n    name: P\n    goals:\n" + "      - g\n" * 60
    (found,) = problems_of(text)
    assert found.startswith("ws.yaml:"), found
    assert "more than 50 values" in found


def test_cli_validate_on_the_bomb_prints_one_problem(tmp_path: Path) -> None:
    folder = tmp_path / "bomb"
    folder.mkdir()
    (folder / "workspace.yaml").write_text(alias_bomb(levels=3), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("1 problem in "), result.output
    assert lines[1].endswith(
        "workspace.yaml:5: an anchor (&l0) marks this value for reuse ("
        + ("write the value out in full: a workspace file uses no YAML anchors (&) or aliases (*))")
    ), result.output


# ------------------------------------------------------------ item 5: control characters


def test_escaped_control_character_is_a_problem_with_line_and_field() -> None:
    text = HEAD + 'stages:\n  - id: s\n    name: "Sta\\x01ge"\n'
    text += 'personas:\n  - id: p\n    name: "\\0"\n'
    found = problems_of(text)
    assert found == [
        "ws.yaml:6, stages[0].name: contains U+0001 (a control character) at character 4: "
        "remove it (a one-line field takes no tabs or line breaks)",
        "ws.yaml:9, personas[0].name: contains U+0000 (a control character) at character 1: "
        "remove it (a one-line field takes no tabs or line breaks)",
    ]


def test_raw_control_character_in_the_file_is_a_problem_with_its_line() -> None:
    text = HEAD + "personas:\n  - id: p\n    name: P\x01\n"
    (found,) = problems_of(text)
    assert found.startswith("ws.yaml:6: the character U+0001 is not allowed in a YAML file"), found


# ------------------------------------------------------------ item 6: no more tracebacks

DEPTH_HINT = "a workspace needs at most 8 levels: check the brackets and the indentation here"
MISTAKES = {
    "impossible date": (
        HEAD + "objectives:\n  - id: o\n    title: T\n    due: 2027-02-31\n",
        "7: '2027-02-31' is not a real date or time (day is out of range for month) "
        "(write a date that exists, as YYYY-MM-DD)",
    ),
    "list given as a number": (
        HEAD + "segments: 42\n",
        "4, segments: input should be a valid list "
        "(write a list: one item per line, each starting with '- ')",
    ),
    "5,000-digit revision": (
        "revision: " + "9" * 5000 + "\n" + HEAD,
        "1: a number 5,000 characters long cannot be read (write an ordinary number here)",
    ),
    "nesting 990 deep in brackets": (
        HEAD + "segments: " + "[" * 990 + "]" * 990 + "\n",
        f"4: values nested more than {store.MAX_DEPTH} levels deep ({DEPTH_HINT})",
    ),
    "nesting 990 deep in a list section": (
        HEAD + "personas:\n" + "".join("  " * i + "-\n" for i in range(990)),
        f"{4 + store.MAX_DEPTH}: values nested more than {store.MAX_DEPTH} levels deep "
        f"({DEPTH_HINT})",
    ),
    "nesting 990 deep in mappings": (
        HEAD + "extra: " + "{a: " * 990 + "1" + "}" * 990 + "\n",
        f"4: values nested more than {store.MAX_DEPTH} levels deep ({DEPTH_HINT})",
    ),
    "a value YAML cannot build": (
        HEAD + "cycle:\n  iteration: !!int twelve\n",
        "5: 'twelve' cannot be read as int "
        "(write the value as plain text or an ordinary number, without a YAML tag (!!...))",
    ),
    "a number in a list of texts": (
        HEAD + "personas:\n  - id: p\n    name: P\n    goals: [[grow]]\n",
        "7, personas[0].goals[0]: input should be a valid string "
        "(write text; put it in quotes if it looks like a number or a date)",
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_mistake_is_one_problem_with_line_and_hint_everywhere(mistake: str, tmp_path: Path) -> None:
    text, expected = MISTAKES[mistake]
    folder = tmp_path / "ws"
    folder.mkdir()
    file = folder / "workspace.yaml"
    file.write_text(text, encoding="utf-8")
    for read in (read_workspace, store.open_workspace):
        with pytest.raises(WorkspaceValidationError) as info:
            read(folder)
        assert [str(p) for p in info.value.problems] == [f"{file}:{expected}"]
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    where, _, rest = expected.partition(": ")
    line, _, field = where.partition(", ")
    printed = f"{file}:{line}: " + (f"{field}: " if field else "") + rest
    assert result.output.splitlines()[1:] == [printed], result.output


def test_snapshot_index_nested_too_deep_is_a_problem(tmp_path: Path) -> None:
    ws = store.new_workspace("Acme", directory=tmp_path)
    ws.snapshot("first")
    (ws.history_dir / "index.yaml").write_text("- " + "[" * 990 + "]" * 990 + "\n", "utf-8")
    with pytest.raises(WorkspaceValidationError, match="nested more than"):
        ws.snapshots()


def test_many_problems_are_listed_up_to_the_limit_and_counted() -> None:
    text = HEAD + "personas:\n" + "".join(f"  - id: p{i}\n    mood: {i}\n" for i in range(3_000))
    found = problems_of(text)
    assert len(found) == store.MAX_PROBLEMS + 1
    # 3,000 personas without a name and with an unknown field: 6,000 problems.
    assert found[-1] == (
        f"ws.yaml: {6_000 - store.MAX_PROBLEMS:,} more problems are not listed "
        "(fix the ones above, then run `workbook validate` again)"
    )
    assert found[0].startswith("ws.yaml:5, personas[0].name: is required")


def test_a_reference_hint_names_twenty_ids_and_counts_the_rest() -> None:
    segments = "".join(f"  - id: s{i:03d}\n    name: S\n    kind: demographic\n" for i in range(50))
    text = (
        HEAD + "segments:\n" + segments + "personas:\n  - id: p\n    name: P\n    segments: [x]\n"
    )
    (found,) = problems_of(text)
    assert found.endswith(
        "refers to segment 'x', which does not exist (use one of: "
        + ", ".join(f"s{i:03d}" for i in range(20))
        + " and 30 more)"
    )


# ------------------------------------------------- item 9: temporaries left in history/


def test_a_dead_snapshots_temporaries_are_removed_by_the_next(tmp_path: Path) -> None:
    ws = store.new_workspace("Acme", directory=tmp_path)
    ws.snapshot("first")
    # What a snapshot killed between writing and renaming leaves (write_atomic's names).
    orphans = [
        ws.history_dir / ".0002-second.yaml.k2j3h4.tmp",
        ws.history_dir / ".index.yaml.abcd1234.tmp",
    ]
    for orphan in orphans:
        orphan.write_text("half a file", "utf-8")
    kept = ws.history_dir / "notes.txt"
    kept.write_text("mine", "utf-8")
    ws.snapshot("second")
    assert not [o for o in orphans if o.exists()]
    assert kept.read_text("utf-8") == "mine"
    assert sorted(p.name for p in ws.history_dir.iterdir()) == [
        "0001-first.yaml",
        "0002-second.yaml",
        "index.yaml",
        "notes.txt",
    ]


def test_a_new_workspace_ignores_temporaries_in_git(tmp_path: Path) -> None:
    ws = store.new_workspace("Acme", directory=tmp_path)
    assert "*.tmp" in ws.path.joinpath(".gitignore").read_text("utf-8").splitlines()
    subprocess.run(["git", "init", "-q", str(ws.path)], check=True)
    names = [".workspace.yaml.x1.tmp", "history/.index.yaml.x2.tmp", "workspace.yaml"]
    for name in names[:2]:
        (ws.path / name).write_text("x", "utf-8")
    done = subprocess.run(
        ["git", "-C", str(ws.path), "check-ignore", *names], capture_output=True, text=True
    )
    assert done.stdout.splitlines() == names[:2]


def test_a_save_also_removes_a_dead_snapshots_temporary(tmp_path: Path) -> None:
    ws = store.new_workspace("Acme", directory=tmp_path)
    orphan = ws.history_dir / ".index.yaml.abcd1234.tmp"
    orphan.write_text("half a file", "utf-8")
    ws.data.client.industry = "Rowing"
    assert ws.save()
    assert not orphan.exists()


# ------------------------------------------------------------------ item 10: big inputs


def test_opening_and_snapshotting_an_unchanged_workspace_dump_nothing(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Dumping is what made a 50 MB snapshot take minutes: an unchanged workspace is copied.
    calls: list[str] = []
    real_dumps = store.dumps

    def counting_dumps(*args: object, **kwargs: object) -> str:
        calls.append("dumps")
        return real_dumps(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "dumps", counting_dumps)
    ws = store.open_workspace(demo_copy)
    opened_at = ws.revision
    assert not ws.dirty
    snap = ws.snapshot("as it is")
    assert calls == []
    assert (ws.history_dir / snap.file).read_bytes() == (demo_copy / "workspace.yaml").read_bytes()
    assert snap.revision == ws.revision == opened_at
    # A change is still saved, and then an unchanged copy is clean again.
    ws.data.client.industry = "Rowing machines"
    assert ws.dirty
    assert ws.save() and not ws.dirty
    assert not ws.save()
    assert store.open_workspace(demo_copy).data.client.industry == "Rowing machines"


def test_a_change_that_writes_the_same_file_is_not_saved(demo_copy: Path) -> None:
    ws = store.open_workspace(demo_copy)
    opened_at = ws.revision
    before = (demo_copy / "workspace.yaml").read_bytes()
    assert ws.data.personas[0].image is None
    ws.data.personas[0].image = ""  # written as nothing, like None
    assert not ws.dirty
    assert not ws.save()
    assert ws.revision == opened_at and (demo_copy / "workspace.yaml").read_bytes() == before


def test_a_save_beyond_the_size_limit_is_refused_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = store.new_workspace("Acme", directory=tmp_path)
    before = ws.file.read_bytes()
    monkeypatch.setattr(store, "MAX_FILE_BYTES", 5_000)
    ws.data.personas.append(store.model.Persona(id="p", name="P", summary="x" * 6_000))
    with pytest.raises(WorkspaceValidationError) as info:
        ws.save()
    (problem,) = info.value.problems
    assert problem.message.startswith("not saved: the file would be ")
    assert problem.message.endswith("the largest workspace file supported is 5,000 bytes")
    assert ws.file.read_bytes() == before and ws.revision == 0


def test_a_file_replaced_by_junk_is_a_conflict_not_a_crash(tmp_path: Path) -> None:
    ws = store.new_workspace("Acme", directory=tmp_path)
    ws.file.write_bytes(b"\xff\xfe not text at all")
    ws.data.client.industry = "Rowing"
    with pytest.raises(store.ConflictError, match="changed since you loaded it"):
        ws.save()


def test_infinite_and_undefined_numbers_are_refused() -> None:
    text = HEAD + "objectives:\n  - id: o\n    title: T\n    baseline: .inf\n    target: .nan\n"
    assert problems_of(text) == [
        "ws.yaml:7, objectives[0].baseline: input should be a finite number",
        "ws.yaml:8, objectives[0].target: input should be a finite number",
    ]


def test_a_snapshot_note_with_a_control_character_is_refused(tmp_path: Path) -> None:
    ws = store.new_workspace("Acme", directory=tmp_path)
    with pytest.raises(WorkspaceValidationError, match="U\\+001B"):
        ws.snapshot("after \x1b[31mworkshop")
    assert ws.snapshots() == []


# ------------------------------------------------- item 11: a conflict at the command line


def test_a_conflict_at_the_command_line_says_to_run_the_command_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = store.new_workspace("Acme", directory=tmp_path).path
    real_open = store.open_workspace

    def open_then_someone_saves(path: str) -> store.OpenWorkspace:
        ws = real_open(path)
        other = real_open(path)  # a notebook saves between the command's open and its write
        other.data.client.industry = "Rowing"
        assert other.save()
        return ws

    monkeypatch.setattr(store, "open_workspace", open_then_someone_saves)
    result = CliRunner().invoke(main, ["snapshot", str(folder), "-m", "after workshop"])
    assert result.exit_code == 1
    assert "ws.reload()" not in result.output and "form cell" not in result.output
    assert result.output.splitlines() == [
        f"error: {folder / 'workspace.yaml'}: not saved, the workspace changed since you loaded "
        "it (you have revision 0, the file is at revision 1) (another command or notebook "
        "saved it meanwhile; run the command again, it starts from the saved version)"
    ]
    monkeypatch.undo()
    # Run again, as told: it works.
    result = CliRunner().invoke(main, ["snapshot", str(folder), "-m", "after workshop"])
    assert result.exit_code == 0, result.output


def test_a_conflict_in_python_keeps_its_reload_hint_and_survives_pickling(tmp_path: Path) -> None:
    import pickle

    ws = store.new_workspace("Acme", directory=tmp_path)
    other = store.open_workspace(ws.path)
    other.data.client.industry = "Rowing"
    other.save()
    ws.data.client.industry = "Gyms"
    with pytest.raises(store.ConflictError) as info:
        ws.save()
    assert info.value.hint is not None and "ws.reload()" in info.value.hint
    again = pickle.loads(pickle.dumps(info.value))
    assert again.command_hint == info.value.command_hint
    assert again.command_hint is not None and "run the command again" in again.command_hint


# ----------------------------------------------------------------------------- the fuzz

FUZZ_BASES = {
    "demo": DEMO.read_text(encoding="utf-8"),
    "preset": (ROOT / "templates" / "workspaces" / "b2b-saas.yaml").read_text(encoding="utf-8"),
}
_PARSED = {name: yaml.safe_load(text) for name, text in FUZZ_BASES.items()}
_any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


ODD_VALUES = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([10**4000, -1, 0, 2**63, True, False, None, "", " ", "\x00", "\x01ab"]),
    st.floats(),
    st.dates(),
    st.datetimes(),
    _any_text,
    st.lists(st.one_of(st.integers(), _any_text, st.none()), max_size=3),
    st.dictionaries(_any_text, st.one_of(st.integers(), _any_text), max_size=3),
    st.integers(min_value=1, max_value=60).map(_nested),
)
TOKENS = [
    "2027-02-31",
    "2027-13-45 99:99:99",
    "9" * 5000,
    "*a",
    "&a x",
    "&a [x, *a]",
    "!!python/object/apply:os.system ['true']",
    "!!binary AAAA",
    "!!int twelve",
    "!!float x",
    "!!bool maybe",
    "!!timestamp 2027-02-30",
    "!!set {a, b}",
    "!!omap [a]",
    "[" * 50,
    "[" * 40 + "]" * 40,
    "{a: ",
    "'unterminated",
    '"\\x01\\x00\\ud800"',
    ".nan",
    "-.inf",
    "? [a]\n  : b",
    "<<: {a: 1}",
    "|\n  block\n text",
    "%YAML 1.1",
    "---\nsecond: document",
    "\t- tab",
]


@st.composite
def edited_workspace(draw: st.DrawFn) -> str:
    """A workspace.yaml edited the way a careless or hostile hand would edit it."""
    name = draw(st.sampled_from(sorted(FUZZ_BASES)))
    data = copy.deepcopy(_PARSED[name])
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        # Walk down to a random place, then replace, delete or nest what is there.
        parent: Any = data
        key: Any = None
        while isinstance(parent, (dict, list)) and parent:
            keys = list(parent) if isinstance(parent, dict) else list(range(len(parent)))
            key = keys[draw(st.integers(min_value=0, max_value=len(keys) - 1))]
            if not isinstance(parent[key], (dict, list)) or not parent[key] or draw(st.booleans()):
                break
            parent = parent[key]
        if key is None or not isinstance(parent, (dict, list)):
            continue
        action = draw(st.sampled_from(["replace", "delete", "nest"]))
        if action == "delete":
            del parent[key]
        elif action == "nest":
            parent[key] = [parent[key]] if draw(st.booleans()) else {"x": parent[key]}
        else:
            parent[key] = draw(ODD_VALUES)
    text = yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)
    lines = text.splitlines(keepends=True) or ["\n"]
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        action = draw(st.sampled_from(["insert", "duplicate", "token", "drop"]))
        if action == "insert":
            lines.insert(
                at, draw(st.text(alphabet=" :-&*[]{}#!|>'\"%@?,ab1\t", max_size=30)) + "\n"
            )
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "drop" and len(lines) > 1:
            del lines[at]
        else:
            head, colon, _rest = lines[at].partition(": ")
            token = draw(st.sampled_from(TOKENS))
            lines[at] = (head + colon if colon else head.rstrip("\n") + " ") + token + "\n"
    return "".join(lines)


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=edited_workspace())
def test_fuzz_edits_give_problems_never_a_traceback(text: str) -> None:
    try:
        ws = loads(text, file="ws.yaml")
    except (WorkspaceValidationError, SchemaVersionError) as exc:
        assert exc.problems or isinstance(exc, SchemaVersionError)
        assert all(len(str(p)) < 2_000 for p in exc.problems)
    else:
        # What validates can be saved and read back unchanged.
        assert loads(store.dumps(ws)) == ws
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "workspace.yaml").write_text(text, encoding="utf-8")
        result = CliRunner().invoke(main, ["validate", folder])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output


def test_schema_version_and_revision_are_whole_numbers() -> None:
    # Found by the fuzz: a lax 0.0 passed as schema version 0, saved, then could not be read.
    for field in ("schema_version", "revision"):
        found = problems_of(f"{field}: 0.0\n" + HEAD)
        assert found == [
            f"ws.yaml:1, {field}: input should be a valid integer (write a whole number)"
        ], found
