"""Step 6 on the map itself: the journey map drawn by the report's layout, editable in place.

:class:`MapCanvas` is one `anywidget <https://anywidget.dev>`_ widget. Python sends the map
as JSON (:func:`workbook.journeymap.build_layout`, the same structure the report's HTML and
SVG maps draw, with the theme's CSS and colours), and the JavaScript in ``mapcanvas.js`` (no
build step, shipped in the package) draws it as the same grid and emotion curve. The
JavaScript only draws and reports gestures: every edit reaches Python as a message (see
:meth:`MapCanvas.handle`), which changes ``ws.data`` and saves through the shared
:class:`~workbook.forms._binding.Form` (validated, merged with other views' saves, undoable).
A refused edit is put back and its reason shown next to the cell. Saves made by other views
redraw the canvas (it follows the form's ``revision``).

Every persona has a general map and may have one per ideal customer profile (ICP): the
toolbar picks the persona, then the map ("General" or an ICP that persona has a map for), and
starts an ICP map from the persona's general map. Presentation mode's arrows go through every
map in order.

Messages (``{"op": ..., "seq": n, ...}``; ``persona`` defaults to the one shown, ``icp`` to
the ICP of the map shown when the persona is the one shown, else the general map; an ICP map
is edited only once started):

==============  ==================================================================
``text``        ``stage``, ``lane`` (actions, thoughts, pain_points, opportunities), ``text``
                (one item per line)
``emotion``     ``stage``, ``score`` (snapped to 0.5; ``None`` clears it to "not scored")
``tp-add``      ``stage``, ``touchpoint`` (from the workspace's inventory)
``tp-remove``   ``stage``, ``touchpoint``
``tp-move``     ``stage``, ``touchpoint``, ``by`` (-1 earlier, +1 later)
``mark``        ``kind`` (best-moment, worst-struggle), ``stage``, ``touchpoint``, ``note``;
                one of each kind per map, so marking moves it (with the new note only)
``unmark``      ``kind``
``rec-add``     ``stage``, ``touchpoint`` (or None for the whole stage), ``text``,
                ``priority`` (high, medium, low), ``owner``
``rec-remove``  ``id``
``map-start``   ``icp``: the persona's map for that ICP, started as a copy of its general
                map (cells, lanes and marks; no recommendations, whose ids are the general
                map's), then shown
``undo``/``redo``
==============  ==================================================================
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as widgets
import traitlets
from pydantic import ValidationError

from workbook.exceptions import WorkbookError, WorkspaceValidationError
from workbook.forms._binding import Form, _short_name, _validation_message, problems_text
from workbook.forms.journeymap import ensure_cell
from workbook.journeymap import MapLayout, _css, _curve, _emotion_y, _score_text
from workbook.model import Annotation, Journey, MapCell, Recommendation, slugify
from workbook.theme import Theme, readable_on

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["MAP_UNIT", "TEXT_LANES", "MapCanvas", "form", "map_css", "snap_emotion"]

_STATIC = pathlib.Path(__file__).parent

#: The lanes whose cells are typed as lines of text.
TEXT_LANES = ("actions", "thoughts", "pain_points", "opportunities")
_KINDS = ("best-moment", "worst-struggle")
_PRIORITIES = ("high", "medium", "low")


def snap_emotion(score: float) -> float:
    """A dragged emotion score on the map's scale: the nearest half point.

    Halves are rounded away from zero (a drag to 0.75 reads +1, to -0.25 reads -0.5), the way
    a person reads the point's position. Scores outside -2 to +2 are not clamped here: the
    model refuses them with its message.
    """
    doubled = score * 2
    whole = int(abs(doubled) + 0.5)
    return (whole if doubled >= 0 else -whole) / 2


class _Refused(Exception):
    """An edit that cannot be made, with the reason shown next to the cell."""


class MapCanvas(anywidget.AnyWidget):
    """The journey map of one persona (its general map, or its map for one ICP: ``icp``),
    drawn by the report's layout and edited in place.

    Parameters
    ----------
    form
        The shared binding that validates, saves, merges and undoes the edits.
    persona
        The persona shown first; ``None`` takes the first persona of the workspace.
    """

    _esm = _STATIC / "mapcanvas.js"
    _css = _STATIC / "mapcanvas.css"

    persona = traitlets.Unicode(None, allow_none=True, help="Id of the persona shown.").tag(
        sync=True
    )
    icp = traitlets.Unicode(
        None, allow_none=True, help="ICP of the map shown; None: the persona's general map."
    ).tag(sync=True)
    maps: traitlets.List[dict[str, Any]] = traitlets.List(
        help="Every map, in order (each persona's general map, then its ICP maps in the "
        "order of the workspace's ICPs): [{persona, icp, label}]."
    ).tag(sync=True)
    icps: traitlets.List[dict[str, str]] = traitlets.List(
        help="The workspace's ICPs: [{id, name}]."
    ).tag(sync=True)
    personas: traitlets.List[dict[str, str]] = traitlets.List(
        help="The workspace's personas: [{id, name, short}]."
    ).tag(sync=True)
    map_data = traitlets.Dict(help="The map as the JavaScript draws it (see _layout_json).").tag(
        sync=True
    )
    theme_css = traitlets.Unicode(
        "",
        help="The report map's CSS with the client's theme, in the map's own unit (sent when "
        "it changes; see map_css).",
    ).tag(sync=True)
    logo = traitlets.Unicode("", help="The client's logo as a data URI, or empty.").tag(sync=True)
    error = traitlets.Dict(
        help="The last refused edit: {stage, lane, message, seq}; empty when none."
    ).tag(sync=True)
    status = traitlets.Unicode("", help="The form's status line.").tag(sync=True)
    can_undo = traitlets.Bool(False).tag(sync=True)
    can_redo = traitlets.Bool(False).tag(sync=True)

    def __init__(self, form: Form, persona: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.form = form
        self._acked = 0
        self._handling = False
        data = form.ws.data
        if persona is not None and persona not in {p.id for p in data.personas}:
            known = ", ".join(p.id for p in data.personas) or "none yet"
            raise WorkbookError(
                f"no persona {persona!r} in this workspace", hint=f"use one of: {known}"
            )
        self.persona = persona or (data.personas[0].id if data.personas else None)
        self.on_msg(form.guard(self._on_msg))
        # another persona's map: a reason shown on the last one's cell goes with it
        self.observe(form.guard(lambda _c: self._show({})), ["persona", "icp"])
        form.observe(form.guard(self._on_revision), "revision")
        form.observe(form.guard(lambda _c: self._set_status()), "status")
        self.refresh()

    # -- drawing

    def refresh(self) -> None:
        """Send the map as the workspace holds it now (called after every save and reload)."""
        data = self.form.ws.data
        self.personas = [
            {"id": p.id, "name": p.name, "short": _short_name(p.name)} for p in data.personas
        ]
        icp_names = {i.id: i.name for i in data.icps}
        self.icps = [{"id": i.id, "name": i.name} for i in data.icps]
        maps: list[dict[str, Any]] = []
        for p in data.personas:
            short = _short_name(p.name)
            maps.append({"persona": p.id, "icp": None, "label": short})
            have = {j.icp for j in data.journeys if j.persona == p.id and j.icp}
            maps += [
                {"persona": p.id, "icp": i, "label": f"{short} ({icp_names[i]})"}
                for i in icp_names
                if i in have
            ]
        self.maps = maps
        if self.persona not in {p.id for p in data.personas}:
            first = data.personas[0].id if data.personas else None
            if first != self.persona:
                self.persona = first
                return  # the persona observer draws again
        if self.icp is not None and data.journey(self.persona or "", self.icp) is None:
            self.icp = None  # that map is gone (undone): the persona's general map
            return  # the icp observer draws again
        # The theme and logo go apart from the map: a logo can weigh megabytes, and traitlets
        # sends a value again only when it changed.
        theme = Theme.from_workspace(self.form.ws)
        self.theme_css = theme.css_variables(".wb-map") + map_css()
        self.logo = theme.logo or ""
        self.map_data = _layout_json(
            self.form.ws, self.persona, ack=self._acked, theme=theme, icp=self.icp
        )
        self._set_status()

    def _on_revision(self, _change: Any) -> None:
        if not self._handling:
            self.refresh()

    def _set_status(self) -> None:
        self.status = self.form.status
        self.can_undo = bool(self.form._undo)
        self.can_redo = bool(self.form._redo)

    # -- edits

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any = None) -> None:
        if isinstance(content, Mapping):
            self.handle(content)

    def handle(self, msg: Mapping[str, Any]) -> bool:
        """Apply one message from the map (see the module docstring); True when saved.

        The map is sent again afterwards in any case, so what the person sees is what the
        workspace holds (a refused drag springs back). A new emotion score or cell text,
        once the model has accepted it, is sent before the file is written (such a value
        refers to nothing, so the save's reference checks cannot refuse it); the status line
        says "Saved" when it is on disk, and a save that fails puts the value back, redrawn,
        with the reason next to the cell.
        """
        op = str(msg.get("op", ""))
        stage = msg.get("stage")
        lane = str(msg.get("lane") or _LANE_OF.get(op, ""))
        self._acked = int(msg.get("seq") or 0)
        self._handling = True
        try:
            if op in ("undo", "redo"):
                getattr(self.form, op)()
                ok = not self.form._problem
                message = self.form._problem
            else:
                handler = _HANDLERS.get(op)
                if handler is None:
                    raise _Refused(f"unknown map edit {op!r}")
                ok, message = self._commit(lambda: handler(self, msg), early=op in _EARLY)
        except _Refused as exc:
            ok, message = False, str(exc)
        finally:
            self._handling = False
        if ok and op == "map-start":
            self.persona, self.icp = self._persona_of(msg), str(msg["icp"])  # the new map shown
        self._show(
            {} if ok else {"stage": stage, "lane": lane, "message": message, "seq": self._acked}
        )
        return ok

    def _show(self, error: dict[str, Any]) -> None:
        with self.hold_sync():  # the reason and the redrawn map reach the page as one update
            self.error = error
            self.refresh()

    def _commit(
        self, change: Callable[[], Callable[[], None]], *, early: bool = False
    ) -> tuple[bool, str]:
        """Make a change in memory, save it; put it back if the model or the save refuses it.

        ``change`` mutates ``ws.data`` and returns the function that undoes the mutation.
        ``early``: send the map as soon as the model accepted the change, then save.
        """
        try:
            restore = change()
        except ValidationError as exc:
            return False, _validation_message(exc)
        except ValueError as exc:
            return False, str(exc)
        if early:
            self._show({})
        try:
            saved = self.form.save()
        except WorkspaceValidationError as exc:
            restore()
            message = problems_text(exc, self.form.ws.data)
            self.form._problem = ""  # said next to the cell, and the file holds no change
            self.form._compose_status()
            return False, message
        if not saved and self.form._problem:  # the file was busy: nothing written
            restore()
            return False, self.form._problem
        return True, ""

    # -- the handlers; each returns how to put its change back

    def _persona_of(self, msg: Mapping[str, Any]) -> str:
        pid = msg.get("persona") or self.persona
        if pid is None:
            raise _Refused("describe a persona first (step 2): each map belongs to a persona")
        if not isinstance(pid, str) or pid not in {p.id for p in self.form.ws.data.personas}:
            raise _Refused(f"no persona {pid!r} in this workspace")
        return pid

    def _icp_of(self, msg: Mapping[str, Any], pid: str, *, started: bool = True) -> str | None:
        """The ICP of the map an edit goes to (None: the general map); see the module doc.

        ``started``: the persona must have a map for that ICP already.
        """
        shown = self.icp if pid == self.persona else None
        icp = (msg["icp"] or None) if "icp" in msg else shown
        if icp is None:
            return None
        data = self.form.ws.data
        if not isinstance(icp, str) or icp not in {i.id for i in data.icps}:
            known = ", ".join(i.id for i in data.icps) or "none yet (describe them in step 1)"
            raise _Refused(f"no ICP {icp!r} in this workspace (ICPs: {known})")
        if started and data.journey(pid, icp) is None:
            name = _short_name(data.persona(pid).name)
            raise _Refused(
                f"{name} has no map for ICP {icp!r} yet: start it from the general map first "
                "(Start ICP map)"
            )
        return icp

    def _cell(self, msg: Mapping[str, Any]) -> Any:
        from workbook.forms._binding import resolve

        stage = msg.get("stage")
        data = self.form.ws.data
        if not isinstance(stage, str) or stage not in {s.id for s in data.stages}:
            raise _Refused(f"no stage {stage!r} in this workspace")
        pid = self._persona_of(msg)
        icp = self._icp_of(msg, pid)
        if icp is None:
            return resolve(data, ensure_cell(data, pid, stage))
        journey = data.journey(pid, icp)
        assert journey is not None  # _icp_of: the map is started
        if stage not in journey.stages:
            journey.stages[stage] = MapCell.model_validate({})
        return journey.stages[stage]

    def _journey(self, msg: Mapping[str, Any]) -> Any:
        data = self.form.ws.data
        pid = self._persona_of(msg)
        icp = self._icp_of(msg, pid)
        if icp is None and data.stages:
            ensure_cell(data, pid, data.stages[0].id)
        return data.journey(pid, icp)

    def _map_start(self, msg: Mapping[str, Any]) -> Callable[[], None]:
        data = self.form.ws.data
        pid = self._persona_of(msg)
        if not msg.get("icp"):
            raise _Refused("pick the ICP the new map is for")
        icp = self._icp_of(msg, pid, started=False)
        if data.journey(pid, icp) is not None:
            raise _Refused(f"{_short_name(data.persona(pid).name)} has a map for this ICP already")
        general = data.journey(pid)
        copied = (
            general.model_copy(deep=True, update={"icp": icp, "recommendations": [], "to_be": None})
            if general is not None
            else Journey(persona=pid, icp=icp)
        )
        # A copy of a map built by hand: validated as a whole, as the file will be.
        journey = Journey.model_validate(copied.model_dump())
        for cell in journey.stages.values():
            cell.recommendations = []
        old = list(data.journeys)
        data.journeys = [*old, journey]
        return lambda: setattr(data, "journeys", old)

    def _set(self, owner: Any, attr: str, value: Any) -> Callable[[], None]:
        old = getattr(owner, attr)
        setattr(owner, attr, value)  # pydantic validates the assignment
        return lambda: setattr(owner, attr, old)

    def _edit_text(self, msg: Mapping[str, Any]) -> Callable[[], None]:
        lane = msg.get("lane")
        if lane not in TEXT_LANES:
            raise _Refused(f"the {lane!r} lane is not typed in (lanes: {', '.join(TEXT_LANES)})")
        text = msg.get("text")
        if not isinstance(text, str):
            raise _Refused("no text was sent")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return self._set(self._cell(msg), str(lane), lines)

    def _edit_emotion(self, msg: Mapping[str, Any]) -> Callable[[], None]:
        score = msg.get("score")
        if score is not None:
            if isinstance(score, bool) or not isinstance(score, int | float):
                raise _Refused("the emotion is a number from -2 (worst) to +2 (best)")
            score = snap_emotion(float(score))
        return self._set(self._cell(msg), "emotion", score)

    def _touchpoint_id(self, msg: Mapping[str, Any]) -> str:
        tid = msg.get("touchpoint")
        if not isinstance(tid, str) or not tid:
            raise _Refused("pick a touchpoint from the list first")
        return tid

    def _shown_touchpoints(self, msg: Mapping[str, Any]) -> tuple[Any, list[str]]:
        """The cell and the touchpoints it shows (its own, else those of the stage)."""
        cell = self._cell(msg)
        stage = msg["stage"]
        ids = list(cell.touchpoints) or [
            t.id for t in self.form.ws.data.touchpoints if stage in t.stages
        ]
        return cell, ids

    def _tp_add(self, msg: Mapping[str, Any]) -> Callable[[], None]:
        tid = self._touchpoint_id(msg)
        cell, ids = self._shown_touchpoints(msg)
        if tid in ids:
            raise _Refused("this touchpoint is already in the cell")
        return self._set(cell, "touchpoints", [*ids, tid])

    def _tp_remove(self, msg: Mapping[str, Any]) -> Callable[[], None]:
        tid = self._touchpoint_id(msg)
        cell, ids = self._shown_touchpoints(msg)
        if tid not in ids:
            raise _Refused("this touchpoint is not in the cell")
        rest = [i for i in ids if i != tid]
        if not rest:
            raise _Refused(
                "a cell with no touchpoint of its own shows all the stage's touchpoints: "
                "add the one that replaces it first, or change the touchpoint's stages in step 3"
            )
        return self._set(cell, "touchpoints", rest)

    def _tp_move(self, msg: Mapping[str, Any]) -> Callable[[], None]:
        tid = self._touchpoint_id(msg)
        cell, ids = self._shown_touchpoints(msg)
        if tid not in ids:
            raise _Refused("this touchpoint is not in the cell")
        by = msg.get("by")
        if by not in (-1, 1):
            raise _Refused("a touchpoint moves one place up (-1) or down (+1)")
        i = ids.index(tid)
        j = i + int(by)
        if not 0 <= j < len(ids):
            raise _Refused("this touchpoint is already " + ("first" if j < 0 else "last"))
        ids[i], ids[j] = ids[j], ids[i]
        return self._set(cell, "touchpoints", ids)

    def _mark(self, msg: Mapping[str, Any]) -> Callable[[], None]:
        kind = msg.get("kind")
        if kind not in _KINDS:
            raise _Refused("mark the best moment or the worst struggle")
        self._cell(msg)  # the stage exists
        journey = self._journey(msg)
        tid = msg.get("touchpoint") or None
        # A note says why this place is the best (worst): it does not follow a moved mark.
        mark = Annotation(
            kind=kind, stage=msg["stage"], touchpoint=tid, note=str(msg.get("note") or "")
        )
        kept = [a for a in journey.annotations if a.kind != kind]
        return self._set(journey, "annotations", [*kept, mark])

    def _unmark(self, msg: Mapping[str, Any]) -> Callable[[], None]:
        kind = msg.get("kind")
        journey = self._journey(msg)
        kept = [a for a in journey.annotations if a.kind != kind]
        if len(kept) == len(journey.annotations):
            raise _Refused("nothing is marked there")
        return self._set(journey, "annotations", kept)

    def _rec_add(self, msg: Mapping[str, Any]) -> Callable[[], None]:
        self._cell(msg)
        journey = self._journey(msg)
        data = self.form.ws.data
        text = str(msg.get("text") or "").strip()
        if not text:
            raise _Refused("type what to do first (the recommendation's text)")
        priority = msg.get("priority") or "medium"
        if priority not in _PRIORITIES:
            raise _Refused("the priority is high, medium or low")
        taken = {r.id for j in data.journeys for r in j.recommendations}
        words = " ".join(text.split()[:5])
        base = slugify(f"{_short_name(data.persona(journey.persona).name)} {words}", fallback="rec")
        rid, n = base, 2
        while rid in taken:
            rid, n = f"{base}-{n}", n + 1
        rec = Recommendation(
            id=rid,
            text=text,
            stage=msg["stage"],
            touchpoint=msg.get("touchpoint") or None,
            priority=priority,
            owner=str(msg.get("owner") or ""),
        )
        return self._set(journey, "recommendations", [*journey.recommendations, rec])

    def _rec_remove(self, msg: Mapping[str, Any]) -> Callable[[], None]:
        journey = self._journey(msg)
        kept = [r for r in journey.recommendations if r.id != msg.get("id")]
        if len(kept) == len(journey.recommendations):
            raise _Refused("this recommendation is not on the map any more")
        return self._set(journey, "recommendations", kept)


_HANDLERS: dict[str, Callable[[MapCanvas, Mapping[str, Any]], Callable[[], None]]] = {
    "text": MapCanvas._edit_text,
    "emotion": MapCanvas._edit_emotion,
    "tp-add": MapCanvas._tp_add,
    "tp-remove": MapCanvas._tp_remove,
    "tp-move": MapCanvas._tp_move,
    "mark": MapCanvas._mark,
    "unmark": MapCanvas._unmark,
    "rec-add": MapCanvas._rec_add,
    "rec-remove": MapCanvas._rec_remove,
    "map-start": MapCanvas._map_start,
}
#: Edits of plain values (no reference to check): the map is sent before the save.
_EARLY = frozenset({"emotion", "text"})
#: Where a refused edit's reason is shown, when the message names no lane.
_LANE_OF = {
    "emotion": "emotion",
    "tp-add": "touchpoints",
    "tp-remove": "touchpoints",
    "tp-move": "touchpoints",
    "mark": "touchpoints",
    "unmark": "touchpoints",
    "rec-add": "touchpoints",
    "rec-remove": "touchpoints",
}


# ------------------------------------------------------------------------------ the CSS

#: The map's own unit: one pixel of the report's map, scaled. The canvas sets it (mapcanvas.css:
#: the app's type over 15 px; presentation mode: the size that fits the screen); where no
#: canvas sets it, it is 1px, the report's own sizes.
MAP_UNIT = "var(--wb-mc-u, 1px)"
_PX = re.compile(r"(?<![\w.#-])(\d*\.?\d+)px\b")
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")


def _fixed(prop: str) -> bool:
    """Hairlines keep their pixels at any size: border widths, shadows, outlines."""
    prop = prop.strip().lower()
    return prop.startswith(("box-shadow", "outline")) or (
        prop.startswith("border") and not prop.endswith("radius")
    )


def map_css() -> str:
    """The report map's stylesheet (``map.css``) for the canvas: its lengths in the map's own
    unit, its rules scoped to the canvas.

    Every ``Npx`` length is rewritten ``calc(N * var(--wb-mc-u, 1px))``: type, padding,
    margins, gaps, the lane column, the curve band, the points and their marks, all in one
    proportion, so the map keeps the report's geometry (the same wrapping at the same relative
    width, points on the curve) at any size. Border widths, shadows and outlines stay hairlines.
    Each selector is prefixed with ``.wb-mc``: the canvas's rules win over a static map's
    copy of ``map.css`` on the same page (notebook 06 shows both), which they do not touch.
    """

    def rule(match: re.Match[str]) -> str:
        selectors = ", ".join(f".wb-mc {sel.strip()}" for sel in match.group(1).split(","))
        out = []
        for decl in match.group(2).split(";"):
            prop, colon, value = decl.partition(":")
            if colon and not _fixed(prop):
                value = _PX.sub(lambda m: f"calc({m.group(1)} * {MAP_UNIT})", value)
            out.append(prop + colon + value)
        return f"\n{selectors} {{" + ";".join(out) + "}"

    css = re.sub(r"/\*.*?\*/", "", _css(), flags=re.S)
    return _RULE.sub(rule, css)


# ------------------------------------------------------------------------------ the JSON


def _plain(value: Any) -> Any:
    """Dataclasses, tuples and properties the JavaScript needs, as JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for prop in ("label", "priority_label", "empty"):
            if hasattr(type(value), prop):
                out[prop] = getattr(value, prop)
        out.pop("problems", None)
        return out
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _layout_json(
    ws: OpenWorkspace,
    persona: str | None,
    *,
    ack: int = 0,
    theme: Theme | None = None,
    icp: str | None = None,
) -> dict[str, Any]:
    """The map of ``persona`` (for ``icp``; None: the general map) as the JavaScript draws
    it: the layout, curve, theme and scale.

    ``scale`` holds, for each of the nine scores a drag can give, the point's height (percent
    from the top of the band), colour, text colour and label: the same values the report's
    map uses, so a point being dragged looks as it will once saved.
    """
    from workbook.journeymap import build_layout
    from workbook.model import CHANNELS

    data = ws.data
    theme = theme or Theme.from_workspace(ws)
    if persona is None:
        layout: MapLayout = build_layout(ws, None)
    else:
        layout = build_layout(ws, persona, icp=icp)
    out: dict[str, Any] = _plain(layout)
    out["ack"] = ack
    out["short_name"] = _short_name(layout.persona_name)
    out["has_emotions"] = layout.has_emotions
    out["curve"] = _plain(_curve(layout, theme)) if layout.stages else {}
    for point in out["curve"].get("points", []):
        point["marks"] = [
            {"kind": a["kind"], "label": a["label"], "side": side} for a, side in point["marks"]
        ]
    out["scale"] = [
        {
            "score": s,
            "top": round(_emotion_y(s), 1),
            "fill": theme.emotion_colour(s),
            "ink": readable_on(theme.emotion_colour(s)),
            "text": _score_text(s),
        }
        for s in (x / 2 for x in range(-4, 5))
    ]
    journey = data.journey(layout.persona_id, layout.icp) if layout.persona_id else None
    own = {sid: list(c.touchpoints) for sid, c in (journey.stages.items() if journey else [])}
    out["own_touchpoints"] = own
    out["inventory"] = [
        {
            "id": t.id,
            "name": t.name,
            "channel_label": CHANNELS.get(t.channel, t.channel.replace("-", " ").capitalize()),
            "stages": list(t.stages),
        }
        for t in data.touchpoints
    ]
    return out


# ------------------------------------------------------------------------------ the form


def form(ws: OpenWorkspace, persona: str | None = None) -> Form:
    """The journey map form of step 6 as the map itself: a :class:`MapCanvas` in a Form.

    The canvas is ``form.parts["map"]``. Its toolbar has the one Undo and Redo and the form's
    status line (what was saved, or why not): the form's own Save, Undo and Redo row under
    the map is hidden (every edit on the map saves itself), its conflict choices and error
    line are not.
    """
    from workbook.forms._header import keep_header_current

    f = Form(ws, title="Step 6 - Journey map", css="wb-form-mapcanvas")
    f.add(map=MapCanvas(f, persona))
    for row in f.children:
        if isinstance(row, widgets.HBox) and f.save_button in row.children:
            row.layout.display = "none"
            row.add_class("wb-form-buttons")
    return keep_header_current(f)
