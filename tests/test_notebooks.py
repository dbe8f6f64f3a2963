"""The step notebooks: stored without outputs, and each runs top to bottom on a fresh kernel.

Each notebook is executed with papermill on a copy of the demo workspace (parameter
``workspace``), one kernel per notebook, and the test asserts what it produced: the step header,
the course feedback, no error, and an untouched workspace file (opening a form saves nothing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STEP_NOTEBOOKS = sorted(NOTEBOOKS.glob("0[1-7]-*.ipynb"))
ALL_NOTEBOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))

#: What each step notebook must show: its header's class and the feedback it ends with.
EXPECTED = {
    "01-objectives": ("wb-step-objectives", "objectives are measurable"),
    "02-personas": ("wb-step-personas", "personas have goals, pains and channels"),
    "03-touchpoints": ("wb-step-touchpoints", "touchpoints cover every stage"),
    "04-stages": ("wb-step-stages", "with entry and exit criteria"),
    "05-data": ("wb-step-data", "Type your answer first"),
    "06-journey-map": ("wb-step-visualise", "complete map with an emotion curve"),
    "07-refine": ("wb-step-refine", "annotated and has recommendations"),
}


def test_every_step_has_a_notebook() -> None:
    assert [p.stem for p in STEP_NOTEBOOKS] == list(EXPECTED)
    assert (NOTEBOOKS / "00-start-here.ipynb").is_file()


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert dirty == [], f"{path.name}: cells {dirty} keep outputs; clear them before committing"
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state; clear it"


@pytest.mark.parametrize(
    "path", [*STEP_NOTEBOOKS, NOTEBOOKS / "00-start-here.ipynb"], ids=lambda p: p.name
)
def test_notebook_shape(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    assert 'workspace = "../data/demo"' in params[0].source
    assert 'mode = "workshop"' in params[0].source
    assert "DDMADV" in nb.cells[0].source or "DDMADV" in "".join(c.source for c in nb.cells[:3])


def test_no_code_cell_is_copied_between_notebooks() -> None:
    seen: dict[str, str] = {}
    for path in STEP_NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
                continue
            key = cell.source.strip()
            assert key not in seen, f"{path.name} repeats a cell of {seen[key]}: make it a function"
            seen[key] = path.name


def _outputs(nb: Any) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", (
                f"cell failed: {out.get('ename')}: {out.get('evalue')}"
            )
            parts.append(json.dumps(out.get("data", {})) + out.get("text", ""))
    return "\n".join(parts)


def _run(path: Path, workspace: Path, tmp_path: Path, **extra: Any) -> Any:
    import papermill as pm

    return pm.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters={"workspace": str(workspace), "mode": "course", **extra},
        cwd=str(NOTEBOOKS),
        kernel_name="python3",
        progress_bar=False,
        execution_timeout=120,
    )


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("path", STEP_NOTEBOOKS, ids=lambda p: p.stem)
def test_step_notebook_runs_on_the_demo(path: Path, demo_copy: Path, tmp_path: Path) -> None:
    before = (demo_copy / "workspace.yaml").read_bytes()
    nb = _run(path, demo_copy, tmp_path)
    text = _outputs(nb)
    header, feedback = EXPECTED[path.stem]
    assert header in text
    assert "wb-feedback" in text and feedback in text
    assert "application/vnd.jupyter.widget-view+json" in text  # the form was displayed
    assert (demo_copy / "workspace.yaml").read_bytes() == before


@pytest.mark.slow
@pytest.mark.kernel
def test_start_here_lists_workspaces_and_progress(demo_copy: Path, tmp_path: Path) -> None:
    nb = _run(NOTEBOOKS / "00-start-here.ipynb", demo_copy, tmp_path)
    text = _outputs(nb)
    assert "wb-workspaces" in text and "Tideway Rowing Co." in text
    assert "wb-progress" in text and "checks done" in text


@pytest.mark.slow
@pytest.mark.kernel
def test_course_notebook_reports_an_incomplete_workspace(tmp_path: Path) -> None:
    from workbook.store import new_workspace

    ws = new_workspace("Trainee Practice", directory=tmp_path)
    nb = _run(NOTEBOOKS / "01-objectives.ipynb", ws.path, tmp_path)
    text = _outputs(nb)
    assert "wb-feedback-todo" in text and "No objective yet" in text


@pytest.mark.slow
@pytest.mark.kernel
def test_data_notebook_checks_a_trainee_answer(demo_copy: Path, tmp_path: Path) -> None:
    from workbook.analytics.funnel import funnel
    from workbook.store import open_workspace

    row = funnel(open_workspace(demo_copy)).set_index("stage").loc["consideration"]
    right = float(row.reached_next / row.contacts)
    path = NOTEBOOKS / "05-data.ipynb"
    text = _outputs(_run(path, demo_copy, tmp_path, my_answer=round(right * 100, 1)))
    assert "wb-feedback-ok" in text and "Right:" in text
    text = _outputs(_run(path, demo_copy, tmp_path, my_answer=0.01))
    assert "Not quite: 1.0% is not what the data says." in text


@pytest.mark.slow
@pytest.mark.kernel
def test_cli_numbers_agree_with_the_data_notebook(demo_copy: Path, tmp_path: Path) -> None:
    # A trainee who copies the conversion rate from `workbook analyse --json` into the
    # data notebook is told it is right: the command and the notebook read the same numbers.
    from click.testing import CliRunner

    from workbook.cli import main

    out = CliRunner().invoke(main, ["analyse", str(demo_copy), "--json"])
    assert out.exit_code == 0, out.output
    funnel = {row["stage"]: row for row in json.loads(out.stdout)["funnel"]}
    rate = round(funnel["consideration"]["conversion_to_next"] * 100, 1)
    text = _outputs(_run(NOTEBOOKS / "05-data.ipynb", demo_copy, tmp_path, my_answer=rate))
    assert "wb-feedback-ok" in text and "Right:" in text
