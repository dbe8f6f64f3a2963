"""Step 7 form: the customer-facing processes, each tied to a CRM goal, an owner and a
service level, and the handful that matter most marked as key (the refine step's audit)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbook.forms._binding import FieldSpec, Form
from workbook.forms._header import keep_header_current
from workbook.forms._parts import SafeListEditor
from workbook.model import CRM_GOALS, Process

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["PROCESS_FIELDS", "form"]


def _touchpoint_options(data: Any) -> list[tuple[str, Any]]:
    return [(t.name, t.id) for t in data.touchpoints]


PROCESS_FIELDS = [
    FieldSpec("name", "Process", placeholder="Answering a pre-sales question"),
    FieldSpec("key", "Key: one of the handful that matter most to customers", "bool"),
    FieldSpec(
        "crm_goal",
        "CRM goal",
        "choice",
        options=[("(none)", None)] + [(g.capitalize(), g) for g in CRM_GOALS],
    ),
    FieldSpec("owner", "Owner", placeholder="Customer Sales Lead"),
    FieldSpec("service_level", "Service level", placeholder="Reply within 30 minutes, 8 am-8 pm"),
    FieldSpec("touchpoints", "Runs through", "multi", options=_touchpoint_options),
]


def form(ws: OpenWorkspace) -> Form:
    """The key processes form: each process with its CRM goal, owner, service level and
    touchpoints, and whether it is one of the key few."""
    f = Form(ws, title="Key processes", css="wb-form-processes")
    editor = SafeListEditor(
        f,
        path=("processes",),
        noun="process",
        fields=PROCESS_FIELDS,
        new_item=lambda item_id, name: Process(id=item_id, name=name),
        label=lambda p: p.name + (" (key)" if p.key else ""),
    )
    f.add(processes=editor)
    return keep_header_current(f)
