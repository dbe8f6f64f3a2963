"""Every course notebook runs headless, top to bottom, on the three workspaces a trainee meets.

On the demo (the worked example), on a new empty workspace (``workbook new``) and on a fresh
course case (``workbook course start``), each notebook runs with papermill in course mode with
no error, no check that "could not run" (a check turns an exception into feedback, so an
error would otherwise hide there), its opening objectives and its closing summary. On the
empty workspace and on the fresh case, every step's exercise is still to do. Then nbval
(``--nbval-lax``) runs the notebooks as stored, with their own defaults, on a copy of the
repository's layout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from workbook import syllabus

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LESSONS = syllabus.LESSONS


def _outputs(nb: Any) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", (
                f"cell failed: {out.get('ename')}: {out.get('evalue')}"
            )
            parts.append(json.dumps(out.get("data", {})) + out.get("text", ""))
    return "\n".join(parts)


def _run(item: syllabus.Lesson, workspace: Path, tmp_path: Path) -> str:
    import papermill as pm

    nb = pm.execute_notebook(
        str(NOTEBOOKS / item.notebook),
        str(tmp_path / item.notebook),
        parameters={"workspace": str(workspace), "mode": "course"},
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=180,
    )
    text = _outputs(nb)
    assert "wb-lesson-intro" in text and "wb-lesson-outro" in text
    assert "could not run" not in text, "a check failed inside and said so"
    return text


@pytest.fixture
def empty_workspace(tmp_path: Path) -> Path:
    from workbook.store import new_workspace

    return Path(new_workspace("Trainee Practice", directory=tmp_path / "ws").path)


@pytest.fixture
def course_case(tmp_path: Path) -> Path:
    from workbook.course.case import start_case

    return Path(start_case(tmp_path / "practice-ann", "Ann Trainee"))


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("item", LESSONS, ids=lambda x: x.id)
def test_notebook_runs_on_the_demo(item: syllabus.Lesson, demo_copy: Path, tmp_path: Path) -> None:
    text = _run(item, demo_copy, tmp_path)
    if item.step:
        assert "wb-feedback" in text


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("item", LESSONS, ids=lambda x: x.id)
def test_notebook_runs_on_an_empty_workspace(
    item: syllabus.Lesson, empty_workspace: Path, tmp_path: Path
) -> None:
    text = _run(item, empty_workspace, tmp_path)
    if item.step:
        assert "wb-feedback-todo" in text, "an empty workspace cannot have done the exercise"
    else:
        assert "wb-progress" in text and "0 of " in text


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("item", LESSONS, ids=lambda x: x.id)
def test_notebook_runs_on_a_fresh_course_case(
    item: syllabus.Lesson, course_case: Path, tmp_path: Path
) -> None:
    before = (course_case / "workspace.yaml").read_bytes()
    text = _run(item, course_case, tmp_path)
    if item.step:
        assert "wb-feedback-todo" in text, "every exercise of a fresh case starts undone"
    else:
        assert "wb-progress" in text and "0 of " in text
    assert (course_case / "workspace.yaml").read_bytes() == before  # opening saves nothing


@pytest.mark.slow
@pytest.mark.kernel
def test_nbval_runs_the_notebooks_as_stored(tmp_path: Path) -> None:
    # The stored notebooks point at ../data/demo: give them that layout, with a copy of the
    # demo, so nbval's run (the notebooks' own defaults, not papermill's) changes nothing real.
    book = tmp_path / "notebooks"
    book.mkdir()
    for item in LESSONS:
        shutil.copy2(NOTEBOOKS / item.notebook, book / item.notebook)
    shutil.copytree(
        ROOT / "data" / "demo",
        tmp_path / "data" / "demo",
        ignore=shutil.ignore_patterns("reports", "*.lock"),
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-cell-timeout=180",
            "-c",
            str(tmp_path / "pytest.ini"),
            *(str(book / item.notebook) for item in LESSONS),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    code_cells = sum(
        1
        for item in LESSONS
        for cell in json.loads((NOTEBOOKS / item.notebook).read_text(encoding="utf-8"))["cells"]
        if cell["cell_type"] == "code"
    )
    assert f"{code_cells} passed" in proc.stdout, proc.stdout[-2000:]
