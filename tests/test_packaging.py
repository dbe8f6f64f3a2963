"""Packaging: one dependency list in two files, a small public API, and a wheel that ships the
report template and the workspace presets where nbconvert and the store look for them."""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

import workbook

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))

#: The public API of ``import workbook`` (httpx's test_exported_members): adding a name is a
#: decision, so it is made here too.
EXPORTED = {
    "AnalyticsError",
    "ConflictError",
    "CrmImportError",
    "OpenWorkspace",
    "Problem",
    "ReportError",
    "SchemaVersionError",
    "WorkbookError",
    "WorkspaceExistsError",
    "WorkspaceNotFoundError",
    "WorkspaceValidationError",
    "__version__",
    "new_workspace",
    "open_workspace",
}


def _normalised(reqs: list[str]) -> dict[str, str]:
    """Requirement strings by canonical project name (``python_slugify`` == ``python-slugify``)."""
    out: dict[str, str] = {}
    for text in reqs:
        req = Requirement(text)
        out[req.name.lower().replace("_", "-")] = str(req.specifier) + (
            f";{req.marker}" if req.marker else ""
        )
    return out


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    project = PYPROJECT["project"]
    wanted = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        wanted += extra
    env = yaml.safe_load((ROOT / "environment.yml").read_text("utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = [r for r in pip if not r.startswith("-e")]
    assert "-e ." in pip, "environment.yml must install the package itself"
    assert len(listed) == len(set(listed)), "a requirement is listed twice in environment.yml"
    assert _normalised(listed) == _normalised(wanted)
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.split("=")[-1] == project["requires-python"].removeprefix(">=")


def test_exported_members() -> None:
    assert set(workbook.__all__) == EXPORTED
    for name in workbook.__all__:
        assert hasattr(workbook, name), name
    # `annotations` is the `from __future__ import annotations` feature, not an export
    public = {n for n in dir(workbook) if not n.startswith("_")} - {"annotations"}
    # submodules are reachable as attributes once imported; everything else must be in __all__
    modules = {n for n in public if type(getattr(workbook, n)).__name__ == "module"}
    assert public - modules <= EXPORTED


def test_wheel_config_ships_template_and_presets() -> None:
    shared = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert shared["templates/report"] == "share/jupyter/nbconvert/templates/workbook-report"
    assert shared["templates/workspaces"] == "share/journey-workbook/workspaces"
    assert (ROOT / "templates/report/conf.json").is_file()
    assert PYPROJECT["project"]["scripts"]["workbook"] == "workbook.cli:main"


@pytest.mark.slow
def test_built_wheel_contains_template_presets_and_types(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder

    (wheel,) = list(WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))
    names = set(zipfile.ZipFile(wheel).namelist())
    data = f"journey_workbook-{workbook.__version__}.data/data/share"
    assert f"{data}/jupyter/nbconvert/templates/workbook-report/conf.json" in names
    assert f"{data}/jupyter/nbconvert/templates/workbook-report/index.html.j2" in names
    for preset in sorted((ROOT / "templates/workspaces").glob("*.yaml")):
        assert f"{data}/journey-workbook/workspaces/{preset.name}" in names
    assert "workbook/py.typed" in names
    assert "workbook/store.py" in names
    # nothing from the repository that is not the package: no data, tests or notebooks
    assert not [n for n in names if n.startswith(("tests/", "data/", "notebooks/"))]


def test_import_workbook_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, workbook; "
        "heavy = ('pydantic', 'pandas', 'altair', 'duckdb', 'nbconvert', 'workbook.store'); "
        "print(','.join(m for m in heavy if m in sys.modules)); "
        "workbook.open_workspace; print('workbook.store' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["", "True"]
