"""Step 7 form: where the engagement is in the DDMADV cycle, and the log of what each round
produced."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from workbook.forms._binding import FieldSpec, Form
from workbook.forms._header import keep_header_current
from workbook.forms._parts import RowList, heading
from workbook.model import PHASES, CycleEntry

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["CYCLE_FIELDS", "LOG_FIELDS", "form"]

_PHASE_OPTIONS = [(title, key) for key, title in PHASES.items()]

CYCLE_FIELDS = [
    FieldSpec("phase", "Current phase", "choice", options=_PHASE_OPTIONS),
    FieldSpec("iteration", "Round", "number", placeholder="1"),
]

LOG_FIELDS = [
    FieldSpec("date", "Date", "date"),
    FieldSpec("phase", "Phase", "choice", options=_PHASE_OPTIONS),
    FieldSpec("iteration", "Round", "number"),
    FieldSpec("note", "What it produced", "textarea"),
]


def form(ws: OpenWorkspace, *, today: dt.date | None = None) -> Form:
    """The cycle form: the current phase and round, and the cycle log.

    A new log entry is dated ``today`` (the computer's date unless given) and takes the
    current phase and round; all three can be changed in its row.
    """
    f = Form(ws, title="The DDMADV cycle", css="wb-form-cycle")
    current = [f.bind(spec, ("cycle",), noun="cycle") for spec in CYCLE_FIELDS]
    f.add(*current)
    f.parts["cycle"] = current

    def new_entry(note: str) -> CycleEntry:
        cycle = f.ws.data.cycle
        return CycleEntry.model_validate(
            {
                "date": today or dt.date.today(),
                "phase": cycle.phase,
                "iteration": cycle.iteration,
                "note": note,
            }
        )

    log = RowList(
        f,
        path=("cycle", "log"),
        noun="cycle entry",
        fields=LOG_FIELDS,
        new_row=new_entry,
        placeholder="what this phase produced, in one sentence",
    )
    f.add(heading("Cycle log"), log=log)
    return keep_header_current(f)
