"""Batch rendering: failures isolated, summary and exit status, unchanged clients skipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from workbook import batch
from workbook.cli import main
from workbook.exceptions import ReportError


def _client(demo: Path, dest: Path, slug: str) -> Path:
    shutil.copytree(demo, dest)
    data = yaml.safe_load((dest / "workspace.yaml").read_text(encoding="utf-8"))
    data["client"]["slug"] = slug
    (dest / "workspace.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return dest


def test_manifest_paths_are_relative_to_it(tmp_path: Path) -> None:
    m = tmp_path / "clients.yaml"
    m.write_text("clients:\n  - a\n  - path: sub/b\n", encoding="utf-8")
    assert batch.load_manifest(m) == [tmp_path / "a", tmp_path / "sub" / "b"]
    m.write_text("- a\n- 3\n", encoding="utf-8")
    with pytest.raises(ReportError, match="not folders"):
        batch.load_manifest(m)
    m.write_text("clients: [a\n", encoding="utf-8")
    with pytest.raises(ReportError, match="not valid YAML"):
        batch.load_manifest(m)


def test_batch_needs_something_to_render() -> None:
    res = CliRunner().invoke(main, ["batch"])
    assert res.exit_code == 2 and "--manifest" in res.output


def test_duplicate_slugs_into_one_folder_fail_clearly(demo_copy: Path, tmp_path: Path) -> None:
    # An unknown field fails validation before any kernel starts, so this stays quick.
    with (demo_copy / "workspace.yaml").open("a", encoding="utf-8") as f:
        f.write("\nnot_a_field: 1\n")
    result = batch.run_batch([demo_copy, demo_copy], output=tmp_path / "out", jobs=1)
    assert [c.status for c in result.clients] == ["failed", "failed"]
    assert "not_a_field" in (result.clients[0].error or "")
    assert "same client slug 'tideway-rowing'" in (result.clients[1].error or "")


@pytest.mark.kernel
@pytest.mark.slow
def test_batch_isolates_a_broken_client_and_skips_unchanged(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fingerprint covers the package source; in a shared checkout others edit it while
    # this test runs, so here it covers the notebook and template only (the batch computes
    # the fingerprint in this process and hands it to the workers).
    from workbook import report

    code = [report.NOTEBOOK, *sorted(p for p in report.TEMPLATE_DIR.rglob("*") if p.is_file())]
    monkeypatch.setattr(report, "_code_files", lambda: code)
    good_a = _client(demo_copy, tmp_path / "a", "client-a")
    good_b = _client(demo_copy, tmp_path / "b", "client-b")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "workspace.yaml").write_text(
        "client:\n  name: Broken\n  slug: Not A Slug\n", encoding="utf-8"
    )
    manifest = tmp_path / "clients.yaml"
    manifest.write_text("- a\n- broken\n- b\n", encoding="utf-8")
    out = tmp_path / "out"

    res = CliRunner().invoke(
        main, ["batch", "--manifest", str(manifest), "-o", str(out), "--jobs", "2"]
    )
    assert res.exit_code == 1, res.output
    assert "2 rendered, 0 unchanged (skipped), 1 failed" in res.output
    assert "client.slug" in res.output  # the broken client's problem, with its field
    for slug in ("client-a", "client-b"):
        folder = out / slug
        assert (folder / f"{slug}-report.html").is_file()
        assert (folder / f"{slug}-report.ipynb").is_file()  # executed notebook kept for audit
        assert (folder / f"{slug}-report.fingerprint.json").is_file()
        # no temporary files; the lock one run at a time writes the report under stays
        hidden = [p.name for p in folder.iterdir() if p.name.startswith(".")]
        assert hidden == [f".{slug}-report.html.lock"]

    # unchanged inputs: nothing renders again
    again = batch.run_batch([good_a, good_b], output=out, jobs=2)
    assert [c.status for c in again.clients] == ["skipped", "skipped"]
    assert again.seconds < 2

    # a changed workspace renders again; --force renders the unchanged one too
    text = (good_b / "workspace.yaml").read_text(encoding="utf-8")
    (good_b / "workspace.yaml").write_text(text + "\n# edited\n", encoding="utf-8")
    changed = batch.run_batch([good_a, good_b], output=out, jobs=1)
    assert [c.status for c in changed.clients] == ["skipped", "rendered"]
    forced = batch.run_batch([good_a], output=out, jobs=1, force=True)
    assert [c.status for c in forced.clients] == ["rendered"]
