"""Mapping a client's stage names onto the workspace's stages.

A name matches when it equals a stage's id or display name, ignoring case, spaces, hyphens
and underscores. Each CRM's standard lifecycle stages have a default target (used when that
stage exists in the workspace). A stage-map file (YAML: ``client name: stage-id``, or
``client name: null`` to ignore a name) overrides both. Names that still match nothing are
reported, so the consultant can add them to the map.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from workbook.exceptions import CrmImportError, Problem

__all__ = ["DEFAULTS", "IGNORE", "StageMap", "load_map_file", "normal"]

#: Marks a name that is deliberately not a stage.
IGNORE = None

#: Standard lifecycle stages of each CRM and the method stage each maps to by default.
DEFAULTS: dict[str, dict[str, str | None]] = {
    "hubspot": {
        "subscriber": "awareness",
        "lead": "awareness",
        "marketing qualified lead": "consideration",
        "sales qualified lead": "consideration",
        "opportunity": "purchase",
        "customer": "retention",
        "evangelist": "advocacy",
        "other": IGNORE,
        "other lifecycle stage": IGNORE,
    },
    "salesforce": {
        "prospecting": "awareness",
        "qualification": "consideration",
        "needs analysis": "consideration",
        "value proposition": "consideration",
        "id. decision makers": "consideration",
        "perception analysis": "consideration",
        "proposal/price quote": "purchase",
        "negotiation/review": "purchase",
    },
    "pipedrive": {
        "lead in": "awareness",
        "contact made": "consideration",
        "demo scheduled": "consideration",
        "needs defined": "consideration",
        "proposal made": "purchase",
        "negotiations started": "purchase",
    },
}

_NORMAL_RE = re.compile(r"[\s_\-]+")


def normal(name: str) -> str:
    """``"Marketing Qualified-Lead "`` -> ``"marketingqualifiedlead"``."""
    return _NORMAL_RE.sub("", name).casefold()


def load_map_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping file; a readable error if it is not a mapping of names."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise CrmImportError(
            f"{path.name}: cannot read the map",
            [
                Problem(
                    str(getattr(exc, "problem", None) or exc),
                    file=path.name,
                    line=line + 1 if line is not None else None,
                    hint="fix the YAML and run again",
                )
            ],
        ) from None
    if not isinstance(data, dict):
        raise CrmImportError(
            f"{path.name}: cannot read the map",
            [Problem("must be a mapping like `Client name: stage-id`", file=path.name)],
        )
    return data


class StageMap:
    """Client stage names -> workspace stage ids (or ``None`` for names that are no stage).

    Parameters
    ----------
    stages
        ``(id, display name)`` of each workspace stage, in order.
    system
        The CRM whose default lifecycle mapping applies (``hubspot``...), if any.
    overrides
        The user's stage map: client name -> stage id or ``None``.
    file
        Name of the stage-map file, for error messages.
    """

    def __init__(
        self,
        stages: Sequence[tuple[str, str]],
        system: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        file: str | None = None,
    ) -> None:
        self.stage_ids = [s for s, _ in stages]
        known = set(self.stage_ids)
        table: dict[str, str | None] = {}
        for name, target in DEFAULTS.get(system or "", {}).items():
            if target is None or target in known:
                table[normal(name)] = target
        for sid, display in stages:
            table[normal(sid)] = sid
            table[normal(display)] = sid
        problems = []
        for name, target in (overrides or {}).items():
            if target is not None and target not in known:
                problems.append(
                    Problem(
                        f"maps {str(name)!r} to {target!r}, which is not a stage of this workspace",
                        file=file,
                        field=str(name),
                        hint=f"use one of: {', '.join(self.stage_ids)} "
                        "(or null to ignore the name)",
                    )
                )
            table[normal(str(name))] = target
        if problems:
            raise CrmImportError(f"{file or 'stage map'}: the stage map has problems", problems)
        self.table = table

    def get(self, name: str) -> str | None:
        """The stage id for a client name; ``KeyError`` when the name is not mapped."""
        return self.table[normal(name)]

    def knows(self, name: str) -> bool:
        return normal(name) in self.table

    def unmapped(self, names: Iterable[str]) -> list[str]:
        return sorted({n for n in names if n and not self.knows(n)})

    def pairs(self) -> list[tuple[str, str | None]]:
        """``(normalised name, stage id or None)`` for a lookup table in SQL."""
        return sorted(self.table.items())
