"""Paths the store builds from what a file says stay inside the workspace (issue 14, item 1)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from workbook.cli import main
from workbook.store import open_workspace

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


def test_a_snapshot_index_cannot_point_outside_history(tmp_path: Path) -> None:
    """history/index.yaml is hand-editable: its file: must stay a name inside history/."""
    import shutil

    ws = tmp_path / "client"
    shutil.copytree(DEMO, ws, ignore=shutil.ignore_patterns("reports", "data", "history"))
    secret = tmp_path / "outside.yaml"
    secret.write_text("client:\n  name: Not yours\n  slug: not-yours\n", encoding="utf-8")
    opened = open_workspace(ws)
    snap = opened.snapshot("before")
    index = ws / "history" / "index.yaml"
    index.write_text(
        index.read_text(encoding="utf-8").replace(snap.file, "../../outside.yaml"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["diff", str(ws)])
    assert result.exit_code != 0 and "Not yours" not in result.output
    assert "history/" in result.output and "Traceback" not in result.output
    # a link inside history/ to a file outside is refused too
    index.write_text(
        index.read_text(encoding="utf-8").replace("../../outside.yaml", "0001-link.yaml"),
        encoding="utf-8",
    )
    (ws / "history" / "0001-link.yaml").symlink_to(secret)
    result = CliRunner().invoke(main, ["diff", str(ws)])
    assert result.exit_code != 0 and "outside history/" in result.output


def test_a_new_workspace_keeps_an_imports_working_folders_out_of_git(tmp_path: Path) -> None:
    import shutil
    import subprocess

    from workbook.store import new_workspace

    if shutil.which("git") is None:
        import pytest

        pytest.skip("git is not installed")
    ws = new_workspace("Acme", directory=tmp_path).path
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    (ws / ".import-ab12cd").mkdir()
    (ws / ".import-ab12cd" / "events.parquet").write_bytes(b"x")
    (ws / "data" / "sources").mkdir(parents=True)
    (ws / "data" / "sources" / "keep.txt").write_text("x", encoding="utf-8")
    ignored = subprocess.run(
        ["git", "-C", str(ws), "check-ignore", ".import-ab12cd/events.parquet"],
        capture_output=True,
    )
    assert ignored.returncode == 0
    kept = subprocess.run(
        ["git", "-C", str(ws), "check-ignore", "data/sources/keep.txt"], capture_output=True
    )
    assert kept.returncode == 1
