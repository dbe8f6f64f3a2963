"""An import commits as one step: killed at any point, raced by another, or given a hostile id.

Each test here failed before the import's commit became a journaled step under the workspace
lock (issue 14): a kill between the commit's renames left ``workspace.yaml``, the manifest and
the tables disagreeing; two imports racing dropped one from the manifest; ``--as ../x`` wrote
outside the workspace.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from workbook.cli import main
from workbook.crm import storage
from workbook.crm.demo import demo_without_data
from workbook.crm.generate import SampleCrm, generate, write_export
from workbook.crm.importer import import_file, read_manifest
from workbook.exceptions import CrmImportError
from workbook.store import open_workspace, read_workspace

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def sample() -> SampleCrm:
    return generate(open_workspace(DEMO).data, contacts=60, seed=3, currency="GBP")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    dest = tmp_path / "client"
    dest.mkdir()
    demo_without_data(dest, DEMO)
    return dest


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _write(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _exports(sample: SampleCrm, folder: Path) -> tuple[Path, Path, Path]:
    """Three generic exports: a first one, a newer one of the same source (fewer rows, one
    bad date, so it replaces the first and sets a row aside), and one of another source."""
    first = write_export(sample, "generic", folder / "a")
    rows = _rows(first)
    header, body = rows[0], rows[1:]
    ts = header.index("timestamp")
    bad = list(body[-1])
    bad[ts] = "not a date"
    newer = _write(folder / "b" / first.name, [header, *body[: len(body) // 2], bad])
    other = _write(folder / "c" / "crm-other.csv", [header, *body[len(body) // 3 :]])
    return first, newer, other


def _check_agrees(ws: Path) -> None:
    """What `workbook validate` checks, and that nothing was left half-way."""
    result = CliRunner().invoke(main, ["validate", str(ws)])
    assert result.exit_code == 0, result.output
    data = ws / "data"
    assert not (data / storage.JOURNAL).exists()
    manifest = read_manifest(ws)
    listed = {d.id: d.sha256 for d in read_workspace(ws).data_sources}
    assert listed == {sid: e["sha256"] for sid, e in manifest["sources"].items()}
    for sid, entry in manifest["sources"].items():
        for table, rows in entry["tables"].items():
            assert pq.read_metadata(data / "sources" / sid / f"{table}.parquet").num_rows == rows
    assert manifest["derived_from"] == {sid: e["sha256"] for sid, e in manifest["sources"].items()}
    assert storage.data_problems(ws, read_workspace(ws).data_sources) == []
    # the derived tables hold exactly the contacts of the sources there are
    contacts = {
        c
        for sid in manifest["sources"]
        for c in pq.read_table(data / "sources" / sid / "contacts.parquet")
        .column("contact_id")
        .to_pylist()
    }
    paths = pq.read_table(data / "derived" / "contact_paths.parquet").column("contact_id")
    assert set(paths.to_pylist()) == contacts


_DRIVER = """
import os, sys
from workbook.crm import storage
target = sys.argv[3]
def hook(step):
    if step == target:
        os._exit(9)
storage._after_step = hook
if target == "building":
    def die(*a, **k):
        os._exit(9)
    storage.build_derived = die
from workbook.crm.importer import import_file
import_file(sys.argv[1], sys.argv[2], set_aside_bad_rows=True)
"""


def _kill_at(ws: Path, export: Path, step: str, tmp: Path) -> int:
    driver = tmp / "driver.py"
    driver.write_text(_DRIVER, encoding="utf-8")
    env = {**os.environ, "TMPDIR": str(tmp / "tmpdir")}
    (tmp / "tmpdir").mkdir(exist_ok=True)
    run = subprocess.run(
        [sys.executable, str(driver), str(ws), str(export), step],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return run.returncode


def test_a_kill_at_every_commit_point_leaves_a_workspace_that_agrees(
    ws: Path, sample: SampleCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, newer, _ = _exports(sample, tmp_path)
    import_file(ws, first)
    before = read_manifest(ws)
    (sid,) = before["sources"]

    # the steps of a commit that replaces a source and sets a row aside, as they happen
    seen: list[str] = []
    probe = tmp_path / "probe"
    import shutil

    shutil.copytree(ws, probe)
    monkeypatch.setattr(storage, "_after_step", seen.append)
    import_file(probe, newer, set_aside_bad_rows=True)
    monkeypatch.undo()
    assert seen[0] == "journal" and seen[-1] == "done"
    assert {"source-out", "source-in", "rejects", "manifest", "workspace.yaml"} <= set(seen)
    assert sum(s.startswith("derived/") for s in seen) >= 3

    for step in ["building", *seen]:
        trial = tmp_path / f"kill-{step.replace('/', '-')}"
        shutil.copytree(ws, trial)
        assert _kill_at(trial, newer, step, tmp_path) == 9, step
        # nothing of ours in the temporary folder: every working file is in the workspace
        assert not list((tmp_path / "tmpdir").iterdir()), step
        _check_agrees(trial)  # validate finishes a cut commit, then everything agrees
        after = read_manifest(trial)["sources"][sid]
        if step == "building":  # before the commit point: as it was
            assert after["sha256"] == before["sources"][sid]["sha256"], step
            assert not (trial / "data" / "rejects").exists()
        else:  # past it: the newer export is in, whole
            assert after["rows_rejected"] == 1, step
            assert (trial / "data" / "rejects" / f"{sid}.csv").exists(), step
        # the dead run's folders are gone once the next run looked (validate sweeps)
        assert not list(trial.glob(".import-*")), step


def test_two_imports_racing_through_the_commit_lose_nothing(
    ws: Path, sample: SampleCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _, other = _exports(sample, tmp_path)
    built = threading.Event()
    other_done = threading.Event()
    real = storage.Staging.build_derived
    calls: list[str] = []

    def build(self: storage.Staging, stages: Any) -> dict[str, int]:
        counts = real(self, stages)
        calls.append(str(self.source_id))
        if threading.current_thread().name == "slow" and not built.is_set():
            built.set()  # the derived tables are built over no sources; now the other
            assert other_done.wait(120)  # import commits before this one does
        return counts

    monkeypatch.setattr(storage.Staging, "build_derived", build)
    errors: list[BaseException] = []

    def slow() -> None:
        try:
            import_file(ws, first)
        except BaseException as exc:  # reported below
            errors.append(exc)

    t = threading.Thread(target=slow, name="slow")
    t.start()
    assert built.wait(120)
    quick = import_file(ws, other)
    other_done.set()
    t.join(300)
    assert not errors, errors
    manifest = read_manifest(ws)
    assert set(manifest["sources"]) == {quick.source_id, "generic-events"}
    # the slow import built its derived tables again, over both sources
    assert calls.count("generic-events") == 2
    _check_agrees(ws)


@pytest.mark.parametrize(
    "bad",
    ["../../../outside", "/tmp/absolute", "Upper Case", "a/b", "x" * 70, "", "a--b", "-a"],
)
def test_a_source_id_that_is_not_a_slug_is_refused_before_any_file_is_touched(
    ws: Path, sample: SampleCrm, tmp_path: Path, bad: str
) -> None:
    first, _, _ = _exports(sample, tmp_path)
    outside = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(CrmImportError) as err:
        import_file(ws, first, source_id=bad)
    assert "source id" in str(err.value) and err.value.hint and "--as" in err.value.hint
    assert sorted(p for p in tmp_path.rglob("*")) == outside  # nothing written anywhere
    # and the CLI says it in one line, no traceback
    result = CliRunner().invoke(main, ["import", str(ws), str(first), "--as", bad])
    assert result.exit_code != 0
    assert "Traceback" not in result.output and "source id" in result.output
    assert sorted(p for p in tmp_path.rglob("*")) == outside


def test_validate_says_when_yaml_manifest_and_files_disagree(
    ws: Path, sample: SampleCrm, tmp_path: Path
) -> None:
    first, _, other = _exports(sample, tmp_path)
    a = import_file(ws, first)
    b = import_file(ws, other)
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(ws)]).exit_code == 0

    # a source's folder gone (someone tidied up by hand)
    import shutil

    folder = ws / "data" / "sources" / b.source_id
    moved = tmp_path / "moved"
    shutil.move(folder, moved)
    result = runner.invoke(main, ["validate", str(ws)])
    assert result.exit_code == 1 and f"source {b.source_id!r} has no folder" in result.output
    shutil.move(moved, folder)

    # the YAML edited to list a file that was never imported
    text = (ws / "workspace.yaml").read_text(encoding="utf-8")
    digest = read_manifest(ws)["sources"][a.source_id]["sha256"]
    (ws / "workspace.yaml").write_text(text.replace(digest, "f" * 64), encoding="utf-8")
    result = runner.invoke(main, ["validate", str(ws)])
    assert result.exit_code == 1 and "SHA-256 differs" in result.output
    (ws / "workspace.yaml").write_text(text, encoding="utf-8")

    # a table swapped for another source's
    events = ws / "data" / "sources" / a.source_id / "events.parquet"
    saved = events.read_bytes()
    shutil.copy(ws / "data" / "sources" / b.source_id / "events.parquet", events)
    result = runner.invoke(main, ["validate", str(ws)])
    assert result.exit_code == 1 and "the manifest says" in result.output
    events.write_bytes(saved)
    assert runner.invoke(main, ["validate", str(ws)]).exit_code == 0


def test_the_rejects_file_holds_no_export_value_and_no_formula(
    ws: Path, sample: SampleCrm, tmp_path: Path
) -> None:
    first = write_export(sample, "generic", tmp_path / "a")
    rows = _rows(first)
    header, body = rows[0], rows[1:]
    stage, ts = header.index("stage"), header.index("timestamp")
    hostile = list(body[0])
    hostile[stage] = '=HYPERLINK("http://example.invalid","x")'
    late = list(body[1])
    late[ts] = "@SUM(1)"
    header = [*header[:-1], "=cmd|' /C calc'!A0"]  # a formula as a column name, too
    path = _write(tmp_path / "hostile.csv", [header, *body, hostile, late])
    result = import_file(ws, path, set_aside_bad_rows=True)
    assert result.rows_rejected == 2
    text = (ws / result.rejects_file).read_text(encoding="utf-8")  # type: ignore[operator]
    assert "HYPERLINK" not in text and "SUM(1)" not in text  # no value from the export
    cells = [c for row in _rows(ws / result.rejects_file) for c in row]  # type: ignore[operator]
    assert cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    problems = [row[2] for row in _rows(ws / result.rejects_file)[1:]]  # type: ignore[operator]
    assert "a stage name the workspace does not know (the import's summary names it)" in problems


def test_a_dead_runs_folders_are_removed_by_the_next_run_and_a_live_ones_are_not(
    ws: Path, sample: SampleCrm, tmp_path: Path
) -> None:
    first, _, other = _exports(sample, tmp_path)
    assert _kill_at(ws, first, "building", tmp_path) == 9
    left = list(ws.glob(".import-*"))
    assert left  # the killed import's staging and scratch folders
    with storage.scratch(ws) as live:  # another run, still working
        import_file(ws, other)
        assert live.exists()
        assert [p for p in ws.glob(".import-*")] == [live]
    assert not list(ws.glob(".import-*"))
    _check_agrees(ws)


def test_importing_the_same_export_again_repairs_a_damaged_table(
    ws: Path, sample: SampleCrm, tmp_path: Path
) -> None:
    """The hint for a damaged Parquet file says to import the export again: that must work,
    not be skipped as "already imported"."""
    first, _, _ = _exports(sample, tmp_path)
    a = import_file(ws, first)
    assert import_file(ws, first).unchanged  # intact: nothing to do
    events = ws / "data" / "sources" / a.source_id / "events.parquet"
    events.write_bytes(events.read_bytes()[: events.stat().st_size // 2])  # cut short
    again = import_file(ws, first)
    assert not again.unchanged and again.tables == a.tables
    _check_agrees(ws)
