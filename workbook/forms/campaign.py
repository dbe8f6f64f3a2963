"""Design and build form: the campaign control sheet besides the planned content (which the
content form keeps, with its date, owner and status): the SEO targets, the social calendar
and the channel mix per persona. ``workbook campaign`` exports all four parts for the
marketing team."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbook.forms._binding import FieldSpec, Form
from workbook.forms._header import keep_header_current
from workbook.forms._parts import SafeListEditor, heading
from workbook.model import CHANNELS, ChannelMix, SeoTarget, SocialPost, slugify

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["MIX_FIELDS", "SEO_FIELDS", "SOCIAL_FIELDS", "STATUS_OPTIONS", "form"]

STATUS_OPTIONS = [
    (s.replace("-", " ").capitalize(), s)
    for s in ("idea", "planned", "in-progress", "ready", "published", "dropped")
]
_CHANNEL_OPTIONS = [("(none)", None)] + [(label, key) for key, label in CHANNELS.items()]


def _stage_options(data: Any) -> list[tuple[str, Any]]:
    return [("(any stage)", None)] + [(s.name, s.id) for s in data.stages]


def _persona_options(data: Any) -> list[tuple[str, Any]]:
    return [("(every persona)", None)] + [(p.name, p.id) for p in data.personas]


def _one_persona(data: Any) -> list[tuple[str, Any]]:
    return [(p.name, p.id) for p in data.personas]


SEO_FIELDS = [
    FieldSpec("keyword", "Keyword", placeholder="quiet rowing machine for a flat"),
    FieldSpec("page", "Page", placeholder="/rower/noise-test"),
    FieldSpec("stage", "Stage", "choice", options=_stage_options),
    FieldSpec("persona", "Persona", "choice", options=_persona_options),
]
SOCIAL_FIELDS = [
    FieldSpec("post", "Post", placeholder="Reel: the 60-second noise test"),
    FieldSpec("date", "Date", "date"),
    FieldSpec("channel", "Channel", "choice", options=_CHANNEL_OPTIONS),
    FieldSpec("persona", "Persona", "choice", options=_persona_options),
    FieldSpec("owner", "Owner", placeholder="Community Manager"),
    FieldSpec("status", "Status", "choice", options=STATUS_OPTIONS),
]
MIX_FIELDS = [
    FieldSpec("persona", "Persona", "choice", options=_one_persona),
    FieldSpec("channel", "Channel", "choice", options=[(v, k) for k, v in CHANNELS.items()]),
    FieldSpec("share", "Share of the effort (0-1)", "number", placeholder="0.4"),
    FieldSpec(
        "priority",
        "Priority",
        "choice",
        options=[("(none)", None), ("High", "high"), ("Medium", "medium"), ("Low", "low")],
    ),
    FieldSpec("note", "Note", placeholder="answers after 9 pm too"),
]


def _channel(name: str) -> str:
    """The channel a typed name means: a known channel by its label or id, else its slug."""
    key = name.strip().casefold()
    for cid, label in CHANNELS.items():
        if key in (cid, label.casefold()):
            return cid
    return slugify(name, fallback="channel")


def _mix(f: Form, item_id: str, name: str) -> ChannelMix:
    # a new channel choice goes to the first persona that does not have this channel yet
    channel = _channel(name)
    taken = {(m.persona, m.channel) for m in f.ws.data.campaign.channel_mix}
    personas = [p.id for p in f.ws.data.personas]
    persona = next(
        (p for p in personas if (p, channel) not in taken), personas[0] if personas else ""
    )
    return ChannelMix.model_validate({"id": item_id, "persona": persona, "channel": channel})


def _persona_name(f: Form, pid: str | None) -> str:
    for p in f.ws.data.personas:
        if p.id == pid:
            return str(p.name).split(",")[0]
    return pid or ""


def form(ws: OpenWorkspace) -> Form:
    """The campaign form: SEO targets, the social calendar and the channel mix per persona."""
    f = Form(ws, title="Campaign control sheet", css="wb-form-campaign")
    seo = SafeListEditor(
        f,
        path=("campaign", "seo"),
        noun="search term",
        fields=SEO_FIELDS,
        new_item=lambda item_id, name: SeoTarget(id=item_id, keyword=name),
        label=lambda t: str(t.keyword),
    )
    seo.new_name.placeholder = "a search term to rank for"
    social = SafeListEditor(
        f,
        path=("campaign", "social"),
        noun="post",
        fields=SOCIAL_FIELDS,
        new_item=lambda item_id, name: SocialPost(id=item_id, post=name),
        label=lambda p: f"{p.date or 'not dated'}: {p.post}",
    )
    social.new_name.placeholder = "a post, in a few words"
    mix = SafeListEditor(
        f,
        path=("campaign", "channel_mix"),
        noun="channel choice",
        fields=MIX_FIELDS,
        new_item=lambda item_id, name: _mix(f, item_id, name),
        label=lambda m: f"{_persona_name(f, m.persona)}: {CHANNELS.get(m.channel, m.channel)}",
    )
    mix.new_name.placeholder = "a channel, like WhatsApp or Email"
    f.add(heading("SEO targets"), seo=seo)
    f.add(heading("Social calendar"), social=social)
    f.add(heading("Channel mix per persona"), mix=mix)
    return keep_header_current(f)
