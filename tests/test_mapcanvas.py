"""The editable journey map (workbook.forms.mapcanvas), headless.

Each test sends the messages the map's JavaScript sends, through ipywidgets' own comm path
(``Widget._handle_msg``, the way anywidget delivers a ``model.send`` from the page), then
reads ``workspace.yaml`` back from disk and compares it with the change worked out by hand
from the demo (Amara's map: awareness scored +1, consideration -1.5, purchase +0.5; the
purchase cell lists home-trial, whatsapp-concierge, checkout, delivery-install).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from workbook.forms import mapcanvas
from workbook.forms._binding import Form
from workbook.store import open_workspace

AMARA = "amara-time-poor-londoner"
GRAHAM = "graham-returning-athlete"


@pytest.fixture
def canvas(demo_copy: Path) -> Iterator[tuple[Form, mapcanvas.MapCanvas, Path]]:
    ws = open_workspace(demo_copy)
    form = mapcanvas.form(ws)
    yield form, form.parts["map"], demo_copy
    assert form.callback_errors == []
    form.close()


def send(canvas: mapcanvas.MapCanvas, **content: Any) -> None:
    """Deliver one message from the page, as the kernel's comm hands it to the widget."""
    msg = {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    canvas._handle_msg(msg)


def on_disk(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / "workspace.yaml").read_text(encoding="utf-8"))


def journey(doc: dict[str, Any], persona: str = AMARA) -> dict[str, Any]:
    return next(j for j in doc["journeys"] if j["persona"] == persona and not j.get("icp"))


def cell(doc: dict[str, Any], stage: str, persona: str = AMARA) -> dict[str, Any]:
    return journey(doc, persona)["stages"][stage]


def test_snap_emotion_by_hand() -> None:
    # halves away from zero, the nearest half point otherwise
    assert mapcanvas.snap_emotion(0.8) == 1.0
    assert mapcanvas.snap_emotion(0.74) == 0.5
    assert mapcanvas.snap_emotion(0.25) == 0.5
    assert mapcanvas.snap_emotion(-0.25) == -0.5
    assert mapcanvas.snap_emotion(-1.3) == -1.5
    assert mapcanvas.snap_emotion(0.1) == 0.0
    assert mapcanvas.snap_emotion(2.2) == 2.0


def test_the_first_map_is_the_reports_layout(canvas: Any) -> None:
    form, c, _ = canvas
    layout = c.map_data
    assert c.persona == AMARA
    assert [s["id"] for s in layout["stages"]] == [
        "awareness",
        "consideration",
        "purchase",
        "retention",
        "advocacy",
    ]
    assert layout["emotions"] == [1.0, -1.5, 0.5, 1.5, 1.0]
    # the curve's geometry is the report's: 50 - 17.5 x score percent from the band's top
    assert [p["top"] for p in layout["curve"]["points"]] == ["32.5", "76.2", "41.2", "23.8", "32.5"]
    assert {s["score"]: s["top"] for s in layout["scale"]}[-2.0] == 85.0
    assert [p["name"] for p in c.personas][0] == "Amara, the time-poor Londoner"
    assert layout["short_name"] == "Amara"
    assert ".wb-map {" in c.theme_css
    assert c.logo.startswith("data:image/")


def _declarations(css: str) -> list[tuple[str, str, str]]:
    """(selector, property, value) of every declaration, in order, at-rules' rules included."""
    out = []
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        for decl in body.split(";"):
            prop, colon, value = decl.partition(":")
            if colon:
                out.append((" ".join(selector.split()), prop.strip(), " ".join(value.split())))
    return out


def test_the_maps_lengths_are_in_the_maps_own_unit(canvas: Any) -> None:
    """The canvas gets the report's map.css with each length (type, padding, the lane column,
    the curve band, the points) a multiple of --wb-mc-u, so one unit scales the whole map in
    proportion; border widths and shadows stay hairlines; with the unit unset (1px) every
    value is the report's. Worked by hand on a few: 13px type, the 150px lane column and
    curve band, the 30px point with its 2px border, the 34px offset of a point's mark."""
    from workbook.journeymap import render_map_html

    _, c, folder = canvas
    report = (Path(mapcanvas.__file__).parents[1] / "templates" / "map" / "map.css").read_text()
    scaled = mapcanvas.map_css()
    assert c.theme_css.endswith(scaled) and "--wb-primary:" in c.theme_css
    decl: dict[tuple[str, str], str] = {}
    for sel, prop, value in _declarations(scaled):
        decl.setdefault((sel, prop), value)  # the screen's, not the print rule's
    unit = "var(--wb-mc-u, 1px)"
    assert decl[(".wb-mc .wb-map", "font-size")] == f"calc(13 * {unit})"
    assert decl[(".wb-mc .wb-map__grid", "grid-template-columns")] == (
        f"calc(150 * {unit}) repeat(var(--wb-stages), minmax(0, 1fr))"
    )
    assert decl[(".wb-mc .wb-map__curve", "height")] == f"calc(150 * {unit})"
    pt = ".wb-mc .wb-pt"
    assert decl[(pt, "width")] == decl[(pt, "height")] == f"calc(30 * {unit})"
    assert decl[(pt, "border")] == "2px solid #FFFFFF"
    assert decl[(pt, "box-shadow")] == "0 0 0 1px #57606A"
    assert decl[(".wb-mc .wb-pt__mark--above", "bottom")] == f"calc(34 * {unit})"
    assert decl[(".wb-mc .wb-map__cell", "padding")] == f"calc(8 * {unit}) calc(10 * {unit})"
    # Scoped to the canvas: a static map on the same page keeps its own rules (notebook 06
    # shows both), and the canvas's win inside the canvas (one class more).
    assert decl[(".wb-mc .wb-map__cell, .wb-mc .wb-map__lane", "break-inside")] == "avoid"
    # Pixels left as pixels: only border widths and shadows.
    fixed = {prop for _, prop, value in _declarations(scaled) if "px" in value.replace(unit, "")}
    assert fixed == {
        "border", "border-top", "border-left", "border-bottom", "border-left-width", "box-shadow"
    }  # fmt: skip
    # The same declarations as the report's, each equal to it once the unit is 1px.
    ones = [
        (
            sel.replace(".wb-mc ", ""),
            prop,
            re.sub(r"calc\((\d*\.?\d+) \* var\(--wb-mc-u, 1px\)\)", r"\1px", value),
        )
        for sel, prop, value in _declarations(scaled)
    ]
    assert ones == _declarations(report)
    assert all(
        part.strip().startswith(".wb-mc .wb-")
        for sel, _, _ in _declarations(scaled)
        for part in sel.split(",")
    )
    # The report's own map is not touched: its CSS has no unit, its type is 13px.
    html = render_map_html(open_workspace(folder), AMARA)
    assert "--wb-mc-u" not in html and "font-size: 13px" in html


def test_dragged_emotion_is_snapped_saved_and_cleared(canvas: Any) -> None:
    form, c, folder = canvas
    send(c, op="emotion", stage="purchase", score=-1.3, seq=1)
    assert cell(on_disk(folder), "purchase")["emotion"] == -1.5
    assert c.error == {}
    assert c.map_data["ack"] == 1
    assert c.map_data["emotions"][2] == -1.5
    send(c, op="emotion", stage="purchase", score=None, seq=2)
    assert cell(on_disk(folder), "purchase").get("emotion") is None
    assert c.map_data["emotions"][2] is None


def test_cell_text_is_one_item_per_line(canvas: Any) -> None:
    _, c, folder = canvas
    send(
        c,
        op="text",
        stage="advocacy",
        lane="pain_points",
        text="  Forgets her referral code \n\n Colleagues ask about noise  ",
        seq=1,
    )
    assert cell(on_disk(folder), "advocacy")["pain_points"] == [
        "Forgets her referral code",
        "Colleagues ask about noise",
    ]


def test_touchpoints_add_reorder_remove(canvas: Any) -> None:
    _, c, folder = canvas
    send(c, op="tp-add", stage="purchase", touchpoint="finance-application", seq=1)
    assert cell(on_disk(folder), "purchase")["touchpoints"] == [
        "home-trial",
        "whatsapp-concierge",
        "checkout",
        "delivery-install",
        "finance-application",
    ]
    send(c, op="tp-move", stage="purchase", touchpoint="finance-application", by=-1, seq=2)
    send(c, op="tp-remove", stage="purchase", touchpoint="home-trial", seq=3)
    assert cell(on_disk(folder), "purchase")["touchpoints"] == [
        "whatsapp-concierge",
        "checkout",
        "finance-application",
        "delivery-install",
    ]
    shown = next(x for x in c.map_data["lanes"] if x["id"] == "touchpoints")["cells"][2]
    assert [t["id"] for t in shown["touchpoints"]][:4] == [
        "whatsapp-concierge",
        "checkout",
        "finance-application",
        "delivery-install",
    ]


def test_best_moment_moves_and_keeps_the_other_mark(canvas: Any) -> None:
    _, c, folder = canvas
    send(c, op="mark", kind="best-moment", stage="awareness", touchpoint="instagram", seq=1)
    marks = journey(on_disk(folder))["annotations"]
    assert {(a["kind"], a["stage"], a.get("touchpoint"), a.get("note", "")) for a in marks} == {
        (
            "worst-struggle",
            "consideration",
            "whatsapp-concierge",
            "An unanswered late-evening WhatsApp message nearly loses the sale.",
        ),
        ("best-moment", "awareness", "instagram", ""),  # the old note stayed with the old place
    }
    send(c, op="mark", kind="best-moment", stage="advocacy", note="Shares her streak", seq=3)
    best = next(a for a in journey(on_disk(folder))["annotations"] if a["kind"] == "best-moment")
    assert (best["stage"], best.get("touchpoint"), best["note"]) == (
        "advocacy",
        None,
        "Shares her streak",
    )
    send(c, op="unmark", kind="worst-struggle", seq=2)
    marks = journey(on_disk(folder))["annotations"]
    assert [(a["kind"], a["stage"]) for a in marks] == [("best-moment", "advocacy")]


def test_recommendation_with_priority_and_owner(canvas: Any) -> None:
    _, c, folder = canvas
    send(
        c,
        op="rec-add",
        stage="purchase",
        touchpoint="checkout",
        text="Offer Apple Pay at checkout",
        priority="high",
        owner="E-commerce Lead",
        seq=1,
    )
    recs = journey(on_disk(folder))["recommendations"]
    new = recs[-1]
    assert new["id"] == "amara-offer-apple-pay-at-checkout"
    assert (new["stage"], new["touchpoint"], new["priority"], new["owner"]) == (
        "purchase",
        "checkout",
        "high",
        "E-commerce Lead",
    )
    assert new["text"] == "Offer Apple Pay at checkout"
    assert len(recs) == 5
    send(c, op="rec-remove", id="amara-offer-apple-pay-at-checkout", seq=2)
    assert len(journey(on_disk(folder))["recommendations"]) == 4


@pytest.mark.parametrize(
    ("message", "lane", "reason"),
    [
        ({"op": "emotion", "stage": "purchase", "score": 3}, "emotion", "must be at most 2"),
        (
            {"op": "tp-add", "stage": "purchase", "touchpoint": "no-such-thing"},
            "touchpoints",
            "Amara's map, Purchase stage, touchpoints: refers to touchpoint 'no-such-thing'",
        ),
        (
            {"op": "rec-add", "stage": "purchase", "text": "  ", "priority": "high"},
            "touchpoints",
            "type what to do first",
        ),
        (
            {"op": "tp-move", "stage": "purchase", "touchpoint": "home-trial", "by": -1},
            "touchpoints",
            "already first",
        ),
    ],
)
def test_refused_edit_says_why_next_to_the_cell(
    canvas: Any, message: dict[str, Any], lane: str, reason: str
) -> None:
    form, c, folder = canvas
    before = (folder / "workspace.yaml").read_bytes()
    send(c, **message, seq=7)
    assert (folder / "workspace.yaml").read_bytes() == before
    assert c.error["stage"] == "purchase"
    assert c.error["lane"] == lane
    assert reason in c.error["message"]
    assert c.error["seq"] == 7
    # the map shows what the workspace holds: the refused value springs back
    assert c.map_data["emotions"][2] == 0.5
    # and the next good edit clears the message
    send(c, op="emotion", stage="purchase", score=1, seq=8)
    assert c.error == {}


def test_undo_and_redo_through_the_form(canvas: Any) -> None:
    form, c, folder = canvas
    send(c, op="text", stage="awareness", lane="actions", text="Sees an ad", seq=1)
    assert cell(on_disk(folder), "awareness")["actions"] == ["Sees an ad"]
    assert c.can_undo
    send(c, op="undo", seq=2)
    assert cell(on_disk(folder), "awareness")["actions"] == [
        "Sees a friend's rowing streak on Instagram",
        "Clicks an ad showing the rower standing upright in a hallway",
    ]
    assert c.can_redo
    send(c, op="redo", seq=3)
    assert cell(on_disk(folder), "awareness")["actions"] == ["Sees an ad"]
    assert "Redone" in c.status


def test_persona_switch_and_a_map_not_begun(canvas: Any) -> None:
    _, c, folder = canvas
    send(c, op="emotion", stage="purchase", score=3, seq=1)
    assert c.error["stage"] == "purchase"
    c.persona = GRAHAM
    assert c.error == {}  # the reason belonged to Amara's map
    assert c.map_data["persona_id"] == GRAHAM
    send(c, op="emotion", stage="awareness", score=-2, seq=2)
    assert cell(on_disk(folder), "awareness", GRAHAM)["emotion"] == -2
    assert cell(on_disk(folder), "awareness", AMARA)["emotion"] == 1


def test_another_views_save_redraws_the_map(canvas: Any) -> None:
    form, c, folder = canvas
    other = open_workspace(folder)
    other.data.journey(AMARA).stages["retention"].emotion = -1.0
    other.save()
    form.follow()  # what the watcher does within a second
    assert c.map_data["emotions"][3] == -1.0
    # an edit here is merged with theirs, not written over it
    send(c, op="emotion", stage="advocacy", score=2, seq=1)
    doc = on_disk(folder)
    assert (cell(doc, "retention")["emotion"], cell(doc, "advocacy")["emotion"]) == (-1.0, 2.0)


def test_unknown_persona_is_refused_at_construction(demo_copy: Path) -> None:
    from workbook.exceptions import WorkbookError

    form = Form(open_workspace(demo_copy), title="t", css="wb-test", watch=False)
    with pytest.raises(WorkbookError, match="no persona 'nobody'"):
        mapcanvas.MapCanvas(form, "nobody")
    c = mapcanvas.MapCanvas(form, GRAHAM)
    assert c.map_data["persona_id"] == GRAHAM


def test_a_save_that_fails_after_the_map_was_sent_puts_the_value_back(
    canvas: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An emotion is drawn as soon as the model accepts it, then saved; if the file cannot be
    written (another process holds it), the value goes back and the reason is shown."""
    form, c, folder = canvas
    before = (folder / "workspace.yaml").read_bytes()
    sent: list[list[float | None]] = []
    c.observe(lambda ch: sent.append(list(ch["new"]["emotions"])), "map_data")

    def busy(*, record: bool = True) -> bool:
        form._problem = "the workspace file is busy (another program holds it)"
        return False

    monkeypatch.setattr(form, "save", busy)
    send(c, op="emotion", stage="purchase", score=-2, seq=4)
    assert sent[0][2] == -2.0  # drawn before the save was tried
    assert c.map_data["emotions"][2] == 0.5  # and put back after it failed
    assert form.ws.data.journey(AMARA).stages["purchase"].emotion == 0.5
    assert c.error["message"] == "the workspace file is busy (another program holds it)"
    assert (c.error["stage"], c.error["lane"]) == ("purchase", "emotion")
    assert (folder / "workspace.yaml").read_bytes() == before


def test_a_workspace_without_personas_shows_what_to_do(tmp_path: Path) -> None:
    from workbook.store import new_workspace

    ws = new_workspace("Acme Rowing", directory=tmp_path)
    form = mapcanvas.form(ws)
    c = form.parts["map"]
    assert c.persona is None
    assert "No personas yet" in c.map_data["placeholder"]
    send(c, op="emotion", stage="awareness", score=1, seq=1)
    assert c.error["message"] == (
        "describe a persona first (step 2): each map belongs to a persona"
    )
    assert form.callback_errors == []
    form.close()


def test_one_undo_and_redo_the_maps_and_the_status_line_stays(canvas: Any) -> None:
    """The form's Save/Undo/Redo row under the map is hidden (the map's toolbar has Undo and
    Redo); the form's status line reaches the toolbar, and its conflict box and error line
    stay in the form."""
    form, c, _folder = canvas
    rows = [r for r in form.children if form.save_button in getattr(r, "children", ())]
    assert len(rows) == 1 and rows[0].layout.display == "none"
    assert form.conflict_box in form.children and form.error_label in form.children
    send(c, op="text", stage="awareness", lane="actions", text="Sees an ad", seq=1)
    assert form.status.startswith("Saved") and c.status == form.status
    assert c.can_undo


HOME = "home-fitness-household"
AMARA_AWARENESS = [
    "Sees a friend's rowing streak on Instagram",
    "Clicks an ad showing the rower standing upright in a hallway",
]


def icp_map(doc: dict[str, Any], icp: str, persona: str = AMARA) -> dict[str, Any] | None:
    return next(
        (j for j in doc["journeys"] if j["persona"] == persona and j.get("icp") == icp), None
    )


def test_an_icp_map_is_started_from_the_general_map_and_edited_alone(canvas: Any) -> None:
    form, c, folder = canvas
    # the demo has no ICP maps: one map per persona, general
    assert [(m["persona"], m["icp"]) for m in c.maps] == [
        (AMARA, None),
        (GRAHAM, None),
        ("sofia-studio-owner", None),
    ]
    assert c.icps == [
        {"id": HOME, "name": "Home fitness household"},
        {"id": "boutique-studio", "name": "Boutique studio partner"},
    ]
    general = journey(on_disk(folder))
    # an edit on a map not started yet is refused, and says how to start it
    send(c, op="text", stage="awareness", lane="actions", text="x", icp=HOME, seq=1)
    assert "no map for ICP 'home-fitness-household' yet" in c.error["message"]
    assert "Start ICP map" in c.error["message"]
    assert icp_map(on_disk(folder), HOME) is None

    send(c, op="map-start", icp=HOME, seq=2)
    assert c.error == {}
    doc = on_disk(folder)
    started = icp_map(doc, HOME)
    assert started is not None
    # by hand: the general map's cells, lanes and marks; no recommendations (their ids are
    # the general map's), the same actions at awareness
    assert started["stages"]["awareness"]["actions"] == AMARA_AWARENESS
    assert started["stages"]["awareness"]["emotion"] == 1
    assert started["stages"] == general["stages"]
    assert started.get("annotations") == general.get("annotations")
    assert not started.get("recommendations")
    assert journey(doc) == general
    # the new map is shown, and listed after Amara's general map
    assert (c.persona, c.icp) == (AMARA, HOME)
    assert c.map_data["title"].endswith("(Home fitness household)")
    assert [(m["icp"], m["label"]) for m in c.maps[:2]] == [
        (None, "Amara"),
        (HOME, "Amara (Home fitness household)"),
    ]

    # an edit with the ICP chosen goes to that map only
    send(c, op="text", stage="awareness", lane="actions", text="Hears of it at work", seq=3)
    send(c, op="emotion", stage="purchase", score=-1.2, seq=4)
    doc = on_disk(folder)
    assert icp_map(doc, HOME)["stages"]["awareness"]["actions"] == ["Hears of it at work"]
    assert icp_map(doc, HOME)["stages"]["purchase"]["emotion"] == -1.0
    assert journey(doc) == general
    assert c.map_data["emotions"][2] == -1.0
    # a message naming the general map (icp None) goes there, whatever is shown
    send(c, op="emotion", stage="purchase", score=2, icp=None, seq=5)
    assert journey(on_disk(folder))["stages"]["purchase"]["emotion"] == 2
    assert icp_map(on_disk(folder), HOME)["stages"]["purchase"]["emotion"] == -1.0
    send(c, op="undo", seq=6)
    assert journey(on_disk(folder)) == general

    # marks and recommendations go to the ICP map too
    send(c, op="rec-add", stage="purchase", text="Trial at home", priority="high", seq=7)
    recs = icp_map(on_disk(folder), HOME)["recommendations"]
    assert [(r["text"], r["stage"], r["priority"]) for r in recs] == [
        ("Trial at home", "purchase", "high")
    ]
    assert journey(on_disk(folder)) == general

    # undo takes back the edits one by one, the ICP map back as it started
    send(c, op="undo", seq=8)
    send(c, op="undo", seq=9)
    send(c, op="undo", seq=10)
    doc = on_disk(folder)
    assert icp_map(doc, HOME)["stages"] == general["stages"]
    assert journey(doc) == general
    # and one more undo takes back the map itself: the general map is shown again
    send(c, op="undo", seq=11)
    assert icp_map(on_disk(folder), HOME) is None
    assert (c.persona, c.icp) == (AMARA, None)
    assert [m["icp"] for m in c.maps] == [None, None, None]
    assert form.callback_errors == []


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            {"op": "text", "stage": "awareness", "lane": "actions", "text": "x", "icp": "nope"},
            "no ICP 'nope' in this workspace (ICPs: home-fitness-household, boutique-studio)",
        ),
        ({"op": "map-start", "icp": "nope"}, "no ICP 'nope' in this workspace"),
        ({"op": "map-start", "icp": None}, "pick the ICP the new map is for"),
    ],
)
def test_an_unknown_icp_is_refused(canvas: Any, message: dict[str, Any], reason: str) -> None:
    _, c, folder = canvas
    before = (folder / "workspace.yaml").read_bytes()
    send(c, **message, seq=1)
    assert (folder / "workspace.yaml").read_bytes() == before
    assert reason in c.error["message"]
    assert c.icp is None


def test_a_second_start_of_the_same_icp_map_is_refused(canvas: Any) -> None:
    _, c, folder = canvas
    send(c, op="map-start", icp=HOME, seq=1)
    before = (folder / "workspace.yaml").read_bytes()
    send(c, op="map-start", icp=HOME, seq=2)
    assert "has a map for this ICP already" in c.error["message"]
    assert (folder / "workspace.yaml").read_bytes() == before
    # switching persona shows that persona's general map
    c.persona = GRAHAM
    assert (c.icp, c.map_data["persona_id"]) == (None, GRAHAM)
