"""Step 3 form: the touchpoint inventory, each with its channel, stages and owner."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from workbook.forms._binding import FieldSpec, Form, ListEditor
from workbook.forms._header import keep_header_current
from workbook.model import CHANNELS, Touchpoint

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["TOUCHPOINT_FIELDS", "form", "guess_channel"]

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


#: Words people use in a touchpoint's name for each channel, besides the channel's own key
#: and label ("Instagram account" is social media, "Showroom visit" a store).
_CHANNEL_WORDS: dict[str, tuple[str, ...]] = {
    "ads": ("ad", "advert", "advertising", "banner", "billboard", "poster", "sponsored"),
    "web": ("website", "site", "page", "web", "landing", "blog", "checkout", "portal", "online"),
    "email": ("e-mail", "mail", "newsletter", "mailing"),
    "social": (
        "instagram",
        "facebook",
        "linkedin",
        "twitter",
        "tiktok",
        "youtube",
        "pinterest",
        "forum",
        "community",
    ),
    "app": ("application", "ios", "android"),
    "chat": ("chatbot", "bot", "messenger", "live chat"),
    "whatsapp": ("whats app",),
    "sms": ("text", "text message", "texts"),
    "phone": ("call", "calls", "hotline", "telephone", "call centre", "call center"),
    "store": ("shop", "showroom", "branch", "studio", "counter", "boutique"),
    "event": ("fair", "expo", "open day", "conference", "webinar", "meetup", "workshop"),
    "face-to-face": ("meeting", "visit", "in person", "home visit", "demo visit"),
    "post": ("letter", "brochure", "catalogue", "catalog", "leaflet", "flyer", "mailer"),
    "referral": ("recommendation", "word of mouth", "refer", "referrals", "affiliate"),
    "search": ("seo", "search engine", "search results"),
    "review-site": ("review", "reviews", "trustpilot", "tripadvisor", "yelp"),
    "video": ("zoom", "teams", "video call", "video"),
}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.casefold())


def guess_channel(name: str) -> str:
    """The channel a touchpoint's name suggests, matched on whole words: "WhatsApp concierge"
    is WhatsApp (not "Mobile app"), "Instagram account" social media; "web" when nothing
    matches. The earliest words of the name win, and a longer phrase before a shorter one."""
    words = _words(name)
    phrases: list[tuple[tuple[str, ...], str]] = []
    for key, label in CHANNELS.items():
        for text in (key, label, *_CHANNEL_WORDS.get(key, ())):
            phrase = tuple(_words(text))
            if phrase:
                phrases.append((phrase, key))
    phrases.sort(key=lambda p: -len(p[0]))
    for start in range(len(words)):
        for phrase, key in phrases:
            if tuple(words[start : start + len(phrase)]) == phrase:
                return key
    return "web"


def _new(item_id: str, name: str) -> Touchpoint:
    # Guess the channel from the name so a new touchpoint is valid at once; the consultant
    # corrects it in the dropdown.
    channel = guess_channel(name)
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
    return keep_header_current(f)
