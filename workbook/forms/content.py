"""Step 7 form: the content planned for each stage, who it is for, its channel, whether it is
sent automatically, when it is due, its owner and status (design and build: the planned
content of the campaign control sheet)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbook.forms._binding import FieldSpec, Form
from workbook.forms._header import keep_header_current
from workbook.forms._parts import SafeListEditor
from workbook.model import CHANNELS, ContentItem

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["CONTENT_FIELDS", "form"]


def _stage_options(data: Any) -> list[tuple[str, Any]]:
    return [(s.name, s.id) for s in data.stages]


def _persona_options(data: Any) -> list[tuple[str, Any]]:
    return [(p.name, p.id) for p in data.personas]


CONTENT_FIELDS = [
    FieldSpec("title", "Content", placeholder="Noise test video"),
    FieldSpec("stage", "Stage", "choice", options=_stage_options),
    FieldSpec("personas", "For personas", "multi", options=_persona_options),
    FieldSpec(
        "channel",
        "Channel",
        "choice",
        options=[("(none)", None)] + [(label, key) for key, label in CHANNELS.items()],
    ),
    FieldSpec("automated", "Sent automatically", "bool"),
    FieldSpec("date", "Due", "date"),
    FieldSpec("owner", "Owner", placeholder="Content Lead"),
    FieldSpec(
        "status",
        "Status",
        "choice",
        options=[
            (s.replace("-", " ").capitalize(), s)
            for s in ("idea", "planned", "in-progress", "ready", "published", "dropped")
        ],
    ),
]


def _new(form: Form, item_id: str, title: str) -> ContentItem:
    # Content needs a stage: start at the first stage with no content yet (the refine step
    # asks for content at every stage), else the first stage.
    stages = form.ws.data.stage_ids()
    covered = {c.stage for c in form.ws.data.content}
    stage = next((s for s in stages if s not in covered), stages[0] if stages else "")
    return ContentItem.model_validate({"id": item_id, "title": title, "stage": stage})


def form(ws: OpenWorkspace) -> Form:
    """The content form: each piece of content mapped to a stage and to personas."""
    f = Form(ws, title="Content per stage", css="wb-form-content")
    editor = SafeListEditor(
        f,
        path=("content",),
        noun="content",
        fields=CONTENT_FIELDS,
        new_item=lambda item_id, title: _new(f, item_id, title),
        label=lambda c: f"{c.title} ({c.stage})",
    )
    editor.new_name.placeholder = "title of a new piece of content"
    f.add(content=editor)
    return keep_header_current(f)
