"""Step 4 form: the stages of the journey, in the customer's words, with entry and exit criteria."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbook.forms._binding import FieldSpec, Form, ListEditor
from workbook.forms._header import keep_header_current
from workbook.model import Stage

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["STAGE_FIELDS", "form", "move"]

STAGE_FIELDS = [
    FieldSpec("name", "Stage", placeholder="Comparing options"),
    FieldSpec("description", "What the customer does", "textarea"),
    FieldSpec("entry_criteria", "Enters when", "textarea", placeholder="Asks for a quote"),
    FieldSpec("exit_criteria", "Leaves when", "textarea", placeholder="Signs the order form"),
    FieldSpec(
        "selling_action",
        "Our selling action",
        "choice",
        options=[
            (a.capitalize(), a) for a in ("attract", "convert", "reassure", "retain", "delight")
        ]
        + [("(none)", "")],
    ),
]


def move(form: Form, stage_id: str, offset: int) -> None:
    """Move a stage earlier (-1) or later (+1) in the journey, and save."""
    stages = form.ws.data.stages
    i = next(n for n, s in enumerate(stages) if s.id == stage_id)
    j = i + offset
    if not 0 <= j < len(stages):
        return
    stages[i], stages[j] = stages[j], stages[i]
    form.save()
    form.parts["stages"].refresh()


def form(ws: OpenWorkspace) -> Form:
    """The stages form: the spine of the map, in order, each with entry and exit criteria."""
    f = Form(ws, title="Step 4 - Stages", css="wb-form-stages")
    editor = ListEditor(
        f,
        path=("stages",),
        noun="stage",
        fields=STAGE_FIELDS,
        new_item=lambda item_id, name: Stage.model_validate({"id": item_id, "name": name}),
        extra=lambda ed, stage_id: [
            f.button(
                "Earlier", "wb-stage-up", icon="arrow-up", on_click=lambda: move(f, stage_id, -1)
            ),
            f.button(
                "Later", "wb-stage-down", icon="arrow-down", on_click=lambda: move(f, stage_id, 1)
            ),
        ],
    )
    f.add(stages=editor)
    return keep_header_current(f)
