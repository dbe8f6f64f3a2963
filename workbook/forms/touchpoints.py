"""Step 3 form: the touchpoint inventory, each with its channel, stages and owner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbook.forms._binding import FieldSpec, Form, ListEditor
from workbook.forms._header import follow
from workbook.model import CHANNELS, Touchpoint

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["TOUCHPOINT_FIELDS", "form"]

#: Channels people meet in person; the rest default to digital.
_PHYSICAL = {"store", "event", "face-to-face", "phone", "post"}


def _stage_options(data: Any) -> list[tuple[str, Any]]:
    return [(s.name, s.id) for s in data.stages]


TOUCHPOINT_FIELDS = [
    FieldSpec("name", "Touchpoint", placeholder="Pricing page"),
    FieldSpec(
        "channel", "Channel", "choice", options=[(label, key) for key, label in CHANNELS.items()]
    ),
    FieldSpec("kind", "Kind", "choice", options=[("Digital", "digital"), ("Physical", "physical")]),
    FieldSpec("stages", "Stages it serves", "multi", options=_stage_options),
    FieldSpec("owner", "Owner", placeholder="Web team"),
    FieldSpec("service_level", "Service level", placeholder="Answer within 4 working hours"),
    FieldSpec("description", "Description", "textarea"),
]


def _new(item_id: str, name: str) -> Touchpoint:
    # Guess the channel from the name so a new touchpoint is valid at once; the consultant
    # corrects it in the dropdown.
    lowered = name.lower()
    channel = next((key for key in CHANNELS if key in lowered), "web")
    kind = "physical" if channel in _PHYSICAL else "digital"
    return Touchpoint.model_validate(
        {"id": item_id, "name": name, "channel": channel, "kind": kind}
    )


def form(ws: OpenWorkspace) -> Form:
    """The touchpoints form: every interaction, digital or physical, with its stages."""
    f = Form(ws, title="Step 3 - Touchpoints", css="wb-form-touchpoints")
    f.add(
        touchpoints=ListEditor(
            f, path=("touchpoints",), noun="touchpoint", fields=TOUCHPOINT_FIELDS, new_item=_new
        )
    )
    return follow(f)
