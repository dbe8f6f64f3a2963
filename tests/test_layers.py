"""The package's imports go one way, down the layers the README's architecture lists."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "workbook"

#: The README's layers, bottom first. A module may import its own layer's package
#: (crm from crm) and anything below, never above.
LAYERS: list[set[str]] = [
    {"exceptions", "files"},
    {"model"},
    {"store", "merge", "method", "theme", "exports"},
    {"crm", "syllabus"},
    {"analytics"},
    {"journeymap", "charts", "course", "monitor"},
    {"sections", "forms"},
    {"report", "deck", "course_site", "workshop"},
    {"batch"},
    {"cli"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _unit(path: Path) -> str:
    """The unit a file belongs to: ``crm`` for ``workbook/crm/importer.py``."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported_units(path: Path) -> set[str]:
    units = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "workbook":
                names = [f"workbook.{a.name}" for a in node.names]
            else:
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "workbook" and len(parts) > 1:
                units.add(parts[1])
    return units


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if _unit(p) != "__init__")


def test_every_module_has_a_layer() -> None:
    assert {_unit(p) for p in modules()} <= set(LAYER) | {"__main__", "_version"}


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path: Path) -> None:
    unit = _unit(path)
    if unit not in LAYER:
        return
    upward = {
        u for u in _imported_units(path) if u in LAYER and u != unit and LAYER[u] >= LAYER[unit]
    }
    assert not upward, (
        f"{path.relative_to(PACKAGE)} imports {sorted(upward)} from its layer or above"
    )
