"""Mapping a client's stage names onto the workspace's stages.

A name is looked up, first match wins, in:

1. the stage-map file (YAML: ``client name: stage-id``, or ``client name: null`` to ignore
   a name), for this import only;
2. the workspace's own word on its stages: each stage's ``aliases`` (the CRM names it takes)
   and ``ignored_stage_names`` (names that are no stage), which every preset fills with the
   standard names of HubSpot, Salesforce and Pipedrive;
3. the stages' ids and display names;
4. the names a CRM uses for what is not a stage (:data:`NOT_STAGES`: HubSpot's "Other"
   lifecycle stage; Salesforce's "Closed Won" and "Closed Lost", which its reader takes as
   the deal's outcome).

Names are compared by :func:`normal` (case, spaces, hyphens and underscores ignored). Names
that still match nothing are reported, so the consultant can give them a stage.
:func:`unknown_names` collects them for the data step's stage-map editor.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbook.exceptions import CrmImportError, Problem
from workbook.model import stage_name_key

if TYPE_CHECKING:
    from workbook.model import Workspace

__all__ = [
    "IGNORE",
    "NOT_STAGES",
    "STANDARD_STAGES",
    "StageMap",
    "export_names",
    "load_map_file",
    "normal",
    "unknown_names",
]

#: Marks a name that is deliberately not a stage.
IGNORE = None

#: Each CRM's standard stage names, in pipeline order: HubSpot's default lifecycle stages
#: (its contacts export writes the labels; the API's internal names, ``salesqualifiedlead``,
#: compare equal), Salesforce's default opportunity stages before the close, Pipedrive's
#: default sales pipeline (accounts made before 2023 start it with "Lead In", later ones with
#: "Qualified"; "Needs Defined" is the older name of "Demo Scheduled").
STANDARD_STAGES: dict[str, tuple[str, ...]] = {
    "hubspot": (
        "Subscriber",
        "Lead",
        "Marketing Qualified Lead",
        "Sales Qualified Lead",
        "Opportunity",
        "Customer",
        "Evangelist",
    ),
    "salesforce": (
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Value Proposition",
        "Id. Decision Makers",
        "Perception Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
    ),
    "pipedrive": (
        "Qualified",
        "Lead In",
        "Contact Made",
        "Demo Scheduled",
        "Needs Defined",
        "Proposal Made",
        "Negotiations Started",
    ),
}

_OTHER = "HubSpot's lifecycle stage for contacts outside the funnel (partners, staff, suppliers)"
_CLOSE = "closes the opportunity: read as the deal's outcome, not as a stage"

#: Standard names of each CRM that are no stage of a journey, and why. A workspace may still
#: give one of them a stage (an alias), and a stage-map file may too.
NOT_STAGES: dict[str, dict[str, str]] = {
    "hubspot": {
        "Other": _OTHER,
        "Other Lifecycle": _OTHER,  # from the column "Became an Other Lifecycle Date"
        "Other Lifecycle Stage": _OTHER,
    },
    "salesforce": {"Closed Won": _CLOSE, "Closed Lost": _CLOSE},
}


def normal(name: str) -> str:
    """``"Marketing Qualified-Lead "`` -> ``"marketingqualifiedlead"``."""
    return stage_name_key(name)


_UNKNOWN: ContextVar[set[str] | None] = ContextVar("workbook_unknown_stage_names", default=None)


@contextmanager
def unknown_names() -> Iterator[set[str]]:
    """While open, collect every client stage name a stage map was asked about and did not
    know (in this thread). The data step's editor runs an import inside it to list the names
    that still need a stage."""
    found: set[str] = set()
    token = _UNKNOWN.set(found)
    try:
        yield found
    finally:
        _UNKNOWN.reset(token)


def export_names(ws: Workspace, system: str) -> dict[str, str]:
    """Stage id -> the name ``system``'s export calls it: the first of the CRM's standard
    names (in its pipeline order) that the stage takes as an alias, else the stage's own name
    (a custom stage in that CRM). Used by the sample-data generator."""
    standard = STANDARD_STAGES.get(system, ())
    out = {}
    for stage in ws.stages:
        keys = {normal(a) for a in stage.aliases}
        out[stage.id] = next((n for n in standard if normal(n) in keys), stage.name)
    return out


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
        The CRM the export comes from (``hubspot``...), for its :data:`NOT_STAGES`.
    overrides
        The user's stage map: client name -> stage id or ``None``.
    file
        Name of the stage-map file, for error messages.
    aliases
        Stage id -> the CRM names the stage takes (the workspace's ``aliases``).
    ignored
        Names the workspace says are no stage (its ``ignored_stage_names``).
    """

    def __init__(
        self,
        stages: Sequence[tuple[str, str]],
        system: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        file: str | None = None,
        *,
        aliases: Mapping[str, Sequence[str]] | None = None,
        ignored: Iterable[str] = (),
    ) -> None:
        self.stage_ids = [s for s, _ in stages]
        known = set(self.stage_ids)
        # lowest precedence first: each later layer overwrites the one before
        table: dict[str, str | None] = {}
        for name in NOT_STAGES.get(system or "", {}):
            table[normal(name)] = IGNORE
        for sid, display in stages:
            table[normal(sid)] = sid
            table[normal(display)] = sid
        for name in ignored:
            table[normal(name)] = IGNORE
        for sid, names in (aliases or {}).items():
            if sid in known:
                for name in names:
                    table[normal(name)] = sid
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

    @classmethod
    def for_workspace(
        cls,
        ws: Workspace,
        system: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        file: str | None = None,
    ) -> StageMap:
        """The map of a workspace: its stages, their aliases and its ignored names."""
        return cls(
            [(s.id, s.name) for s in ws.stages],
            system,
            overrides,
            file,
            aliases={s.id: s.aliases for s in ws.stages},
            ignored=[i.name for i in ws.ignored_stage_names],
        )

    def get(self, name: str) -> str | None:
        """The stage id for a client name; ``KeyError`` when the name is not mapped."""
        return self.table[normal(name)]

    def knows(self, name: str) -> bool:
        found = normal(name) in self.table
        if not found and (unknown := _UNKNOWN.get()) is not None:
            unknown.add(name)
        return found

    def unmapped(self, names: Iterable[str]) -> list[str]:
        return sorted({n for n in names if n and not self.knows(n)})

    def pairs(self) -> list[tuple[str, str | None]]:
        """``(normalised name, stage id or None)`` for a lookup table in SQL."""
        return sorted(self.table.items())
