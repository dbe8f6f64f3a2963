"""The journey map of one persona: stages across, lanes down, the emotion curve, and the notes.

One function, :func:`build_layout`, turns a workspace into a neutral :class:`MapLayout`
(ordered stages, lanes of cells, touchpoints with their channel and the recommendations that
fix them, emotion points, the best moment and the worst struggle, optional KPI values). The
renderers only draw that structure:

* :func:`render_map_html` - an HTML fragment (notebooks, reports) or a standalone page; CSS
  grid, text wraps, print-friendly, no script and no external URL (the logo is a data URI);
* :func:`render_map_svg` - a hand-built SVG with the same content (slides, email);
* :func:`export_map` - writes ``.html``, ``.svg`` or ``.png`` (the SVG rasterised by
  vl-convert, no browser needed), atomically.

The emotion curve is drawn over the same stage columns as the grid: each point sits over the
centre of its stage's column. Every piece of user text goes through Jinja autoescaping (HTML)
or XML escaping (SVG): it is data, never markup.
"""

from __future__ import annotations

import dataclasses
import functools
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape as _xml_escape

from workbook.exceptions import Problem, WorkbookError
from workbook.files import write_atomic
from workbook.model import CHANNELS, DEFAULT_LANES, LANES, Journey, MapCell, Workspace
from workbook.theme import Theme

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MapAnnotation",
    "MapCellView",
    "MapLane",
    "MapLayout",
    "MapRecommendation",
    "MapStage",
    "MapTouchpoint",
    "MapChange",
    "MapComparison",
    "VERSIONS",
    "build_layout",
    "compare_journeys",
    "emotion_gap_svg",
    "render_compare_html",
    "stage_kpis",
    "export_map",
    "map_filename",
    "map_table",
    "render_map_html",
    "render_map_svg",
]

FORMATS = ("html", "svg", "png", "xlsx", "csv")
#: The versions of a map: the journey today, and the desired journey (Design and build).
VERSIONS = ("as-is", "to-be")

_PLACEHOLDERS: dict[str, str] = {
    "actions": "No customer actions yet: note what the persona does at each stage.",
    "touchpoints": "No touchpoints yet: list them in step 3 and link them to stages.",
    "thoughts": "No thoughts or feelings yet: add quotes from interviews and an emotion score.",
    "pain_points": "No pain points yet: note where the persona struggles.",
    "opportunities": "No opportunities yet: note what would fix each pain point.",
    "owners": "No owners yet: name who runs each touchpoint and the service level agreed.",
    "kpis": "No measured KPIs yet: import CRM data and run the analysis (step 5).",
}

_ANNOTATION_LABELS = {"best-moment": "Best moment", "worst-struggle": "Worst struggle"}
_PRIORITY_LABELS = {"high": "High priority", "medium": "Medium priority", "low": "Low priority"}


# ------------------------------------------------------------------------------ the layout


@dataclass(frozen=True)
class MapStage:
    id: str
    name: str
    selling_action: str = ""


@dataclass(frozen=True)
class MapRecommendation:
    id: str
    text: str
    stage: str
    touchpoint: str | None = None
    priority: str = "medium"
    owner: str = ""
    status: str = "proposed"

    @property
    def priority_label(self) -> str:
        return _PRIORITY_LABELS.get(self.priority, self.priority)


@dataclass(frozen=True)
class MapAnnotation:
    kind: str  # best-moment | worst-struggle
    stage: str
    touchpoint: str | None = None
    note: str = ""
    derived: bool = False  # True when read off the emotion scores, not written by a person

    @property
    def label(self) -> str:
        return _ANNOTATION_LABELS[self.kind]


@dataclass(frozen=True)
class MapTouchpoint:
    id: str
    name: str
    channel: str
    channel_label: str
    kind: str = "digital"
    recommendations: tuple[MapRecommendation, ...] = ()
    annotations: tuple[MapAnnotation, ...] = ()


@dataclass(frozen=True)
class MapCellView:
    """What one lane shows at one stage."""

    stage: str
    texts: tuple[str, ...] = ()
    touchpoints: tuple[MapTouchpoint, ...] = ()
    recommendations: tuple[MapRecommendation, ...] = ()  # for the stage, no touchpoint
    values: tuple[tuple[str, str], ...] = ()  # (label, formatted value), for the KPI lane
    emotion: float | None = None
    annotations: tuple[MapAnnotation, ...] = ()

    @property
    def empty(self) -> bool:
        # The emotion score is drawn on the curve, not in the cell: it does not fill it.
        return not (
            self.texts
            or self.touchpoints
            or self.recommendations
            or self.values
            or self.annotations
        )


@dataclass(frozen=True)
class MapLane:
    id: str
    title: str
    cells: tuple[MapCellView, ...]
    placeholder: str = ""

    @property
    def empty(self) -> bool:
        return all(c.empty for c in self.cells)


@dataclass(frozen=True)
class MapLayout:
    """Everything a renderer needs, in display order; no model objects, no formatting left."""

    title: str
    client: str = ""
    persona_id: str | None = None
    persona_name: str = ""
    persona_summary: str = ""
    icp: str | None = None
    stages: tuple[MapStage, ...] = ()
    lanes: tuple[MapLane, ...] = ()
    emotions: tuple[float | None, ...] = ()
    annotations: tuple[MapAnnotation, ...] = ()
    placeholder: str | None = None  # set when there is no map to draw at all
    problems: tuple[Problem, ...] = field(default=(), compare=False)
    version: str = "as-is"  # or "to-be": the desired journey (Design and build)

    @property
    def has_emotions(self) -> bool:
        return any(e is not None for e in self.emotions)

    def lane(self, lane_id: str) -> MapLane:
        for lane in self.lanes:
            if lane.id == lane_id:
                return lane
        raise KeyError(
            f"no lane {lane_id!r} in this map (lanes: {', '.join(x.id for x in self.lanes)})"
        )

    def annotation(self, kind: str) -> MapAnnotation | None:
        return next((a for a in self.annotations if a.kind == kind), None)


# ------------------------------------------------------------------------------ building


def _model(ws: Any) -> Workspace:
    data = getattr(ws, "data", ws)
    if not isinstance(data, Workspace):
        raise TypeError(f"expected a Workspace or an OpenWorkspace, got {type(ws).__name__}")
    return data


def _kpi_values(
    kpis: Any, stage_ids: Sequence[str], persona_id: str | None = None
) -> dict[str, list[tuple[str, str]]]:
    """Per stage, the KPI values to show, formatted.

    ``kpis`` is a mapping ``{stage_id: {"reach": 120, "conversion": 0.42, ...}}`` (see
    :func:`stage_kpis`) or a DataFrame with a ``stage`` column: the funnel or time-in-stage
    output of :mod:`workbook.analytics`, whole or split ``by="persona"`` (then only this
    persona's rows are used). Only the measures the map knows are shown (reach, conversion
    to the next stage, median and p90 days, the bottleneck flag); other columns are ignored.
    """
    if kpis is None:
        return {}
    rows: dict[str, dict[str, Any]] = {}
    if hasattr(kpis, "to_dict") and hasattr(kpis, "columns"):
        if "stage" not in kpis.columns:
            raise WorkbookError(
                "the KPI table for the map has no 'stage' column",
                hint="pass the funnel table of workbook.analytics, or a dict by stage id",
            )
        if "persona" in kpis.columns and persona_id is not None:
            kpis = kpis[kpis["persona"] == persona_id]
        for rec in kpis.to_dict(orient="records"):
            if rec.get("has_data") is False:  # no source reaches the stage: nothing measured
                rec = {"stage": rec["stage"]}
            rows.setdefault(str(rec.pop("stage")), {}).update(rec)
    elif isinstance(kpis, Mapping):
        rows = {str(k): dict(v) for k, v in kpis.items()}
    else:
        raise TypeError("kpis must be a DataFrame with a 'stage' column or a dict by stage id")
    out: dict[str, list[tuple[str, str]]] = {}
    for stage in stage_ids:
        values: dict[str, str] = {}  # by label: two names of one measure show once
        for key, value in rows.get(stage, {}).items():
            text = _format_kpi(key, value)
            if text is not None:
                values.setdefault(*text)
        out[stage] = list(values.items())
    return out


_KPI_FORMATS: dict[str, tuple[str, str]] = {
    # column -> (label, kind); the order of the map's KPI cell follows the table's columns
    "reach": ("Reached", "count"),
    "contacts": ("Reached", "count"),
    "entered": ("Reached", "count"),
    "conversion": ("Converted to next", "rate"),
    "conversion_to_next": ("Converted to next", "rate"),
    "median_days": ("Median days in stage", "days"),
    "p90_days": ("90% leave within", "days"),
    "is_bottleneck": ("Bottleneck", "flag"),
    "bottleneck": ("Bottleneck", "flag"),
}


def _format_kpi(key: str, value: Any) -> tuple[str, str] | None:
    if key not in _KPI_FORMATS or value is None:
        return None
    label, kind = _KPI_FORMATS[key]
    if kind == "flag":
        return (label, "biggest drop-off") if value is True or value == 1 else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None  # NaN: nothing measured (the last stage has no conversion)
    if kind == "count":
        return label, f"{int(value):,}"
    if kind == "rate":
        return label, f"{float(value):.0%}"
    return label, f"{float(value):.1f} d"


def _derived_annotations(
    journey: Journey, stage_ids: Sequence[str], emotions: Sequence[float | None]
) -> list[MapAnnotation]:
    """The annotations written by the consultant, completed from the emotion scores.

    When no best moment (or worst struggle) is written, the stage with the highest (lowest)
    score is marked, flagged ``derived`` so the map says where the mark came from.
    """
    written = [
        MapAnnotation(a.kind, a.stage, a.touchpoint, a.note)
        for a in journey.annotations
        if a.stage in stage_ids
    ]
    scored = [(e, i) for i, e in enumerate(emotions) if e is not None]
    kinds = {a.kind for a in written}
    if len(scored) >= 2 and min(scored)[0] != max(scored)[0]:
        if "best-moment" not in kinds:
            # Ties go to the earliest stage: max() over (score, -index).
            best = max(scored, key=lambda t: (t[0], -t[1]))[1]
            written.append(
                MapAnnotation(
                    "best-moment", stage_ids[best], note="Highest emotion score", derived=True
                )
            )
        if "worst-struggle" not in kinds:
            worst = min(scored, key=lambda t: (t[0], t[1]))[1]
            written.append(
                MapAnnotation(
                    "worst-struggle", stage_ids[worst], note="Lowest emotion score", derived=True
                )
            )
    return written


def build_layout(
    ws: Any,
    persona_id: str | None = None,
    *,
    icp: str | None = None,
    lanes: Sequence[str] | None = None,
    kpis: Any = None,
    version: str = "as-is",
) -> MapLayout:
    """The map of one persona as a neutral structure the renderers draw.

    Parameters
    ----------
    ws
        An :class:`~workbook.store.OpenWorkspace` or a :class:`~workbook.model.Workspace`.
    persona_id
        The persona; ``None`` takes the first persona (or gives the empty-workspace
        placeholder when there is none).
    icp
        The ICP of a persona x ICP map; ``None`` is the persona's general map.
    lanes
        Lane ids to show, in order; default: the journey's own choice.
    kpis
        Measured values per stage (the analytics' funnel DataFrame, or a dict by stage id);
        when given, a "Measured KPIs" lane is added if the journey does not list it.
    version
        ``"as-is"`` (the journey today) or ``"to-be"`` (the desired journey: its cells, and
        at each stage the recommendations linked to make the change happen; the best and
        worst moments are read off its emotion scores).

    Raises
    ------
    WorkbookError
        The persona, the ICP, a lane id or the version does not exist (the message lists the
        known ones).
    """
    if version not in VERSIONS:
        raise WorkbookError(
            f"no map version {version!r}", hint="use one of: " + ", ".join(VERSIONS)
        )
    model = _model(ws)
    client = model.client.name
    if not model.personas:
        return MapLayout(
            title="Journey map",
            client=client,
            placeholder="No personas yet. Describe at least one persona (step 2), then fill in "
            "its journey map (step 6).",
        )
    if persona_id is None:
        persona_id = model.personas[0].id
    try:
        persona = model.persona(persona_id)
    except KeyError:
        known = ", ".join(p.id for p in model.personas)
        raise WorkbookError(
            f"no persona {persona_id!r} in this workspace",
            [
                Problem(
                    f"unknown persona {persona_id!r}", field="personas", hint=f"use one of: {known}"
                )
            ],
        ) from None
    if icp is not None and icp not in {i.id for i in model.icps}:
        known = ", ".join(i.id for i in model.icps) or "none yet (describe them in step 1)"
        raise WorkbookError(
            f"no ICP {icp!r} in this workspace",
            [Problem(f"unknown ICP {icp!r}", field="icps", hint=f"use one of: {known}")],
        )
    journey = model.journey(persona.id, icp) or Journey(persona=persona.id, icp=icp)
    title = f"{'Desired journey' if version == 'to-be' else 'Journey map'}: {persona.name}"
    if version == "to-be" and journey.to_be is None:
        return MapLayout(
            title=title,
            client=client,
            persona_id=persona.id,
            persona_name=persona.name,
            version=version,
            placeholder="No desired journey yet. Draft it from the as-is map (step 6), then "
            "change what the recommendations will change.",
        )
    if not model.stages:
        return MapLayout(
            title=title,
            client=client,
            persona_id=persona.id,
            persona_name=persona.name,
            placeholder="No stages yet. List the stages of the journey (step 4) to draw the map.",
        )

    lane_ids = list(lanes) if lanes is not None else list(journey.lanes or DEFAULT_LANES)
    unknown = [lane for lane in lane_ids if lane not in LANES]
    if unknown:
        raise WorkbookError(
            f"unknown map lane {unknown[0]!r}",
            [
                Problem(
                    f"unknown lane {u!r}",
                    field="journeys.lanes",
                    hint=f"use one of: {', '.join(LANES)}",
                )
                for u in unknown
            ],
        )
    if kpis is not None and "kpis" not in lane_ids:
        lane_ids.append("kpis")

    stages = tuple(MapStage(s.id, s.name, s.selling_action) for s in model.stages)
    stage_ids = [s.id for s in stages]
    source = journey.to_be if version == "to-be" and journey.to_be is not None else journey.stages
    cells: dict[str, MapCell] = {
        sid: source.get(sid) or MapCell.model_validate({}) for sid in stage_ids
    }
    emotions = tuple(cells[sid].emotion for sid in stage_ids)
    annotations = _derived_annotations(
        journey if version == "as-is" else Journey(persona=journey.persona), stage_ids, emotions
    )
    kpi_values = _kpi_values(kpis, stage_ids, persona.id)
    tps = {t.id: t for t in model.touchpoints}
    recs = [
        MapRecommendation(r.id, r.text, r.stage, r.touchpoint, r.priority, r.owner, r.status)
        for r in journey.recommendations
        if r.stage in cells and r.status != "dropped"
    ]
    if version == "to-be":
        # The desired journey shows, at each stage, the recommendations linked there.
        by_id = {r.id: r for r in recs}
        recs = [
            dataclasses.replace(by_id[rid], stage=sid, touchpoint=None)
            for sid in stage_ids
            for rid in dict.fromkeys(cells[sid].recommendations)
            if rid in by_id
        ]

    def touchpoints_at(sid: str) -> tuple[MapTouchpoint, ...]:
        ids = list(cells[sid].touchpoints) or [t.id for t in model.touchpoints if sid in t.stages]
        # A recommendation names the touchpoint it fixes: show that touchpoint even when
        # the cell did not list it, so the recommendation has something to sit next to.
        ids += [
            r.touchpoint
            for r in recs
            if r.stage == sid and r.touchpoint and r.touchpoint not in ids
        ]
        out = []
        for tid in ids:
            if tid not in tps:
                continue
            t = tps[tid]
            out.append(
                MapTouchpoint(
                    t.id,
                    t.name,
                    t.channel,
                    CHANNELS.get(t.channel, t.channel.replace("-", " ").capitalize()),
                    t.kind,
                    tuple(r for r in recs if r.stage == sid and r.touchpoint == t.id),
                    tuple(a for a in annotations if a.stage == sid and a.touchpoint == t.id),
                )
            )
        return tuple(out)

    def owners_at(sid: str) -> tuple[str, ...]:
        texts = []
        for t in touchpoints_at(sid):
            src = tps[t.id]
            if src.owner or src.service_level:
                texts.append(
                    f"{t.name}: " + " · ".join(x for x in (src.owner, src.service_level) if x)
                )
        for p in model.processes:
            if any(sid in tps[tid].stages for tid in p.touchpoints if tid in tps) and (
                p.owner or p.service_level
            ):
                texts.append(f"{p.name}: " + " · ".join(x for x in (p.owner, p.service_level) if x))
        return tuple(dict.fromkeys(texts))

    stage_recs = {
        sid: tuple(r for r in recs if r.stage == sid and not r.touchpoint) for sid in stage_ids
    }
    # Stage-wide recommendations go to the opportunities lane; without one, to the last lane.
    rec_lane = (
        "opportunities" if "opportunities" in lane_ids else (lane_ids[-1] if lane_ids else "")
    )

    built = []
    for lane_id in lane_ids:
        lane_cells = []
        for sid in stage_ids:
            cell = cells[sid]
            kw: dict[str, Any] = {}
            if lane_id == "touchpoints":
                kw["touchpoints"] = touchpoints_at(sid)
            elif lane_id == "owners":
                kw["texts"] = owners_at(sid)
            elif lane_id == "kpis":
                kw["values"] = tuple(kpi_values.get(sid, ()))
            elif lane_id == "thoughts":
                kw["texts"] = tuple(cell.thoughts)
                kw["emotion"] = cell.emotion
                kw["annotations"] = tuple(
                    a for a in annotations if a.stage == sid and not a.touchpoint
                )
            else:
                kw["texts"] = tuple(getattr(cell, lane_id))
            if lane_id == rec_lane:
                kw["recommendations"] = stage_recs[sid]
            lane_cells.append(MapCellView(stage=sid, **kw))
        built.append(MapLane(lane_id, LANES[lane_id], tuple(lane_cells), _PLACEHOLDERS[lane_id]))

    icp_name = ""
    if icp:
        icp_name = next((i.name for i in model.icps if i.id == icp), icp)
        title += f" ({icp_name})"
    return MapLayout(
        title=title,
        client=client,
        persona_id=persona.id,
        persona_name=persona.name,
        persona_summary=persona.summary,
        icp=icp,
        stages=stages,
        lanes=tuple(built),
        emotions=emotions,
        annotations=tuple(annotations),
        version=version,
    )


def stage_kpis(ws: Any, persona_id: str | None = None) -> dict[str, dict[str, float]]:
    """Measured KPIs per stage from the workspace's CRM data, for the map's KPI lane.

    Reach (contacts who entered the stage), conversion to the next stage, median days in
    stage and the bottleneck flag (the stage after which most contacts are lost), from
    :mod:`workbook.analytics`; for one persona's contacts when ``persona_id`` is given.
    Stages nobody reached are left out (their cells say nothing was measured). When no
    imported source holds a stage history (each deal's current stage only), only reach is
    given: rates between such counts are not conversions.

    Raises
    ------
    WorkbookError
        From the analytics, when the workspace's data cannot answer (no import yet...).
    """
    from workbook.analytics.funnel import funnel, stage_history
    from workbook.analytics.timing import time_in_stage

    by = "persona" if persona_id else None
    f = funnel(ws, by=by)
    t = time_in_stage(ws, by=by)
    hist = stage_history(ws)
    history = not len(hist) or bool(hist["has_stage_history"].any())
    if persona_id:
        f = f[f["persona"] == persona_id]
        t = t[t["persona"] == persona_id]
    median = dict(zip(t["stage"], t["median_days"], strict=True))
    out: dict[str, dict[str, float]] = {}
    for row in f.itertuples(index=False):
        if not row.contacts or not row.has_data:
            continue
        values = {"reach": float(row.contacts)}
        if not history:
            out[str(row.stage)] = values
            continue
        values["conversion"] = float(row.conversion_to_next)
        if median.get(row.stage) == median.get(row.stage):  # not NaN
            values["median_days"] = float(median[row.stage])
        if row.is_bottleneck:
            values["bottleneck"] = 1.0
        out[str(row.stage)] = values
    return out


# ------------------------------------------------------------------- as-is against to-be

#: The parts of a cell a to-be map can change, in the map's lane order, and their names.
_CHANGE_LANES: dict[str, str] = {
    "actions": LANES["actions"],
    "touchpoints": LANES["touchpoints"],
    "thoughts": LANES["thoughts"],
    "emotion": "Emotion",
    "pain_points": LANES["pain_points"],
    "opportunities": LANES["opportunities"],
}


@dataclass(frozen=True)
class MapChange:
    """One difference between the as-is and the to-be map at one stage."""

    stage: str
    stage_name: str
    lane: str  # a lane id of :data:`_CHANGE_LANES`, or "emotion"
    lane_title: str
    kind: str  # "added", "removed" or "emotion"
    text: str  # the item added or removed; for the emotion, "-1.5 -> +1"
    before: float | None = None
    after: float | None = None


@dataclass(frozen=True)
class MapComparison:
    """The as-is and the to-be journey of one persona, stage by stage.

    ``gaps`` is the to-be emotion minus the as-is one at each stage (``None`` where either
    is not scored): positive where the desired journey feels better.
    """

    title: str
    client: str = ""
    persona_id: str | None = None
    persona_name: str = ""
    stages: tuple[MapStage, ...] = ()
    as_is: tuple[float | None, ...] = ()
    to_be: tuple[float | None, ...] = ()
    changes: tuple[MapChange, ...] = ()
    #: per stage id, the recommendations linked there in the to-be map
    recommendations: Mapping[str, tuple[MapRecommendation, ...]] = field(default_factory=dict)
    placeholder: str | None = None

    @property
    def gaps(self) -> tuple[float | None, ...]:
        return tuple(
            None if a is None or b is None else b - a
            for a, b in zip(self.as_is, self.to_be, strict=True)
        )

    def changes_at(self, stage_id: str) -> tuple[MapChange, ...]:
        return tuple(c for c in self.changes if c.stage == stage_id)

    def changes_by_lane(self, stage_id: str) -> list[tuple[str, list[MapChange]]]:
        """The changes at a stage but the emotion's, grouped by lane in map order."""
        groups: dict[str, list[MapChange]] = {}
        for c in self.changes_at(stage_id):
            if c.kind != "emotion":
                groups.setdefault(c.lane_title, []).append(c)
        return list(groups.items())


def _cell_items(cell: MapCell, lane: str, names: Mapping[str, str]) -> list[str]:
    items = list(getattr(cell, lane))
    return [names.get(i, i) for i in items] if lane == "touchpoints" else items


def compare_journeys(
    ws: Any, persona_id: str | None = None, *, icp: str | None = None
) -> MapComparison:
    """The as-is and the to-be map of one persona side by side: both emotion curves and every
    difference, stage by stage and lane by lane (items added and removed, the emotion moved),
    with the recommendations the to-be map links at each stage.

    Raises
    ------
    WorkbookError
        The persona or the ICP does not exist.
    """
    as_is = build_layout(ws, persona_id, icp=icp)
    title = "As-is and desired journey" + (f": {as_is.persona_name}" if as_is.persona_name else "")
    if as_is.placeholder:
        return MapComparison(title=title, client=as_is.client, placeholder=as_is.placeholder)
    to_be = build_layout(ws, as_is.persona_id, icp=icp, version="to-be")
    base = MapComparison(
        title=title,
        client=as_is.client,
        persona_id=as_is.persona_id,
        persona_name=as_is.persona_name,
        stages=as_is.stages,
        as_is=as_is.emotions,
    )
    if to_be.placeholder:
        return dataclasses.replace(base, placeholder=to_be.placeholder)
    model = _model(ws)
    journey = model.journey(str(as_is.persona_id), icp)
    assert journey is not None and journey.to_be is not None  # to_be.placeholder said so
    names = {t.id: t.name for t in model.touchpoints}
    empty = MapCell.model_validate({})
    changes: list[MapChange] = []
    for stage in as_is.stages:
        before = journey.stages.get(stage.id) or empty
        after = journey.to_be.get(stage.id) or empty
        for lane, title_ in _CHANGE_LANES.items():
            if lane == "emotion":
                if before.emotion != after.emotion:
                    text = " -> ".join(
                        "not scored" if e is None else _score_text(e).replace("\u2212", "-")
                        for e in (before.emotion, after.emotion)
                    )
                    changes.append(
                        MapChange(
                            stage.id,
                            stage.name,
                            lane,
                            title_,
                            "emotion",
                            text,
                            before.emotion,
                            after.emotion,
                        )
                    )
                continue
            old = _cell_items(before, lane, names)
            new = _cell_items(after, lane, names)
            changes += [
                MapChange(stage.id, stage.name, lane, title_, "removed", t)
                for t in old
                if t not in new
            ]
            changes += [
                MapChange(stage.id, stage.name, lane, title_, "added", t)
                for t in new
                if t not in old
            ]
    rec_lane = next(
        (lane for lane in to_be.lanes if any(c.recommendations for c in lane.cells)), None
    )
    recs: dict[str, tuple[MapRecommendation, ...]] = {s.id: () for s in as_is.stages}
    if rec_lane is not None:
        recs.update({c.stage: c.recommendations for c in rec_lane.cells})
    return dataclasses.replace(
        base, to_be=to_be.emotions, changes=tuple(changes), recommendations=recs
    )


def emotion_gap_svg(
    stage_names: Sequence[str],
    as_is: Sequence[float | None],
    to_be: Sequence[float | None],
    theme: Theme,
    *,
    width: float = 960,
    height: float = 220,
) -> str:
    """Both emotion curves over the stages, the gap between them shaded (an inline SVG).

    Where both maps score two neighbouring stages, the band between the curves is filled:
    green-tinted where the desired journey is better, red-tinted where it is worse.
    """
    left, right, top, bottom = 120.0, 16.0, 16.0, 44.0
    n = max(len(stage_names), 1)
    col = (width - left - right) / n

    def x(i: int) -> float:
        return left + (i + 0.5) * col

    def y(score: float) -> float:
        return top + (2 - score) / 4 * (height - top - bottom)

    svg = _Svg()
    for score in (-2, -1, 0, 1, 2):
        svg.line(
            left,
            y(score),
            width - right,
            y(score),
            "#D0D7DE" if score else "#8C959F",
            stroke_dasharray="" if score else "4 4",
        )
        svg.text(
            left - 8, y(score) + 4, _score_text(score), size=11, fill=theme.muted, anchor="end"
        )
    svg.text(8, top + 10, "Emotion", size=11, fill=theme.muted, weight=700)
    better, worse = theme.diverging[4], theme.diverging[0]
    for i in range(n - 1):
        a0, a1 = as_is[i], as_is[i + 1]
        b0, b1 = to_be[i], to_be[i + 1]
        if None in (a0, a1, b0, b1):
            continue
        assert a0 is not None and a1 is not None and b0 is not None and b1 is not None
        up = (b0 - a0) + (b1 - a1) >= 0
        pts = [(x(i), y(a0)), (x(i + 1), y(a1)), (x(i + 1), y(b1)), (x(i), y(b0))]
        svg.raw(
            '<polygon points="'
            + " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
            + f'" fill="{better if up else worse}" fill-opacity="0.22" stroke="none"/>'
        )
    for values, colour, dash in ((as_is, "#8C959F", "6 4"), (to_be, theme.primary_mark, "")):
        for i in range(n - 1):
            v0, v1 = values[i], values[i + 1]
            if v0 is not None and v1 is not None:
                svg.line(
                    x(i),
                    y(v0),
                    x(i + 1),
                    y(v1),
                    colour,
                    stroke_width=3,
                    stroke_linecap="round",
                    stroke_dasharray=dash,
                )
        for i, v in enumerate(values):
            if v is not None:
                svg.raw(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="5" fill="{colour}" '
                    'stroke="#FFFFFF" stroke-width="1.5"/>'
                )
    for i, name in enumerate(stage_names):
        for k, line in enumerate(_wrap(name, col - 8, 11.5)[:2]):
            svg.text(
                x(i),
                height - bottom + 18 + 14 * k,
                line,
                size=11.5,
                fill=theme.ink,
                anchor="middle",
            )
    font = _xml_escape(_svg_font(theme.font), {'"': "&quot;"})

    def swatch(at: float, colour: str) -> str:
        return (
            f'<rect x="{at:.0f}" y="0" width="14" height="12" fill="{colour}" fill-opacity="0.35"/>'
        )

    legend = (
        f'<g font-size="11"><line x1="{left:.0f}" y1="6" x2="{left + 24:.0f}" y2="6" '
        f'stroke="#8C959F" stroke-width="3" stroke-dasharray="6 4"/>'
        f'<text x="{left + 30:.0f}" y="10" fill="{theme.muted}">As-is</text>'
        f'<line x1="{left + 90:.0f}" y1="6" x2="{left + 114:.0f}" y2="6" '
        f'stroke="{theme.primary_mark}" stroke-width="3"/>'
        f'<text x="{left + 120:.0f}" y="10" fill="{theme.muted}">To-be</text>'
        + swatch(left + 180, better)
        + f'<text x="{left + 200:.0f}" y="10" fill="{theme.muted}">Gap: better in the to-be</text>'
        + swatch(left + 360, worse)
        + f'<text x="{left + 380:.0f}" y="10" fill="{theme.muted}">worse</text></g>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 -6 {width:.0f} {height + 6:.0f}" font-family="{font}" role="img" '
        'aria-label="Emotion by stage, as-is and to-be">' + legend + "".join(svg.parts) + "</svg>"
    )


def render_compare_html(
    ws: Any,
    persona_id: str | None = None,
    *,
    icp: str | None = None,
    standalone: bool = False,
    theme: Theme | None = None,
    comparison: MapComparison | None = None,
) -> str:
    """The as-is and the to-be map overlaid: both emotion curves with the gap shaded, then
    what changes at each stage and the recommendations that make it happen. No script, no
    external URL; every text the consultant typed is escaped."""
    from markupsafe import Markup

    theme = theme or Theme.from_workspace(ws)
    comp = comparison or compare_journeys(ws, persona_id, icp=icp)
    chart = ""
    if not comp.placeholder or comp.stages:
        chart = emotion_gap_svg(
            [s.name for s in comp.stages],
            comp.as_is,
            comp.to_be or (None,) * len(comp.stages),
            theme,
        )
    env = _jinja()
    body: str = env.get_template("compare.html.j2").render(
        comp=comp,
        chart=Markup(chart),
        css=Markup(_scoped_css(theme)),
        theme=theme,
        score=lambda v: "?" if v is None else _score_text(v),
    )
    if not standalone:
        return body
    page: str = env.get_template("page.html.j2").render(
        title=comp.title + (f" - {comp.client}" if comp.client else ""),
        page_css=Markup(""),
        body=Markup(body),
    )
    return page


# ------------------------------------------------------------------------------ HTML


# The map's HTML template and CSS are data, in the package (so a wheel ships them).
_TEMPLATES = "templates/map"


@functools.lru_cache(maxsize=1)
def _jinja() -> Any:
    import jinja2

    # autoescape=True always (not only for .html names): every value is user text.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("workbook", _TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


@functools.lru_cache(maxsize=1)
def _css() -> str:
    from importlib.resources import files

    return (files("workbook") / _TEMPLATES / "map.css").read_text(encoding="utf-8")


def _score_text(score: float) -> str:
    return "0" if score == 0 else f"{score:+g}".replace("-", "\u2212")


def _mark_side(annotation: MapAnnotation, score: float | None) -> str:
    """Best moment above its point, worst struggle below, unless that leaves the band."""
    if score is None:
        return "above" if annotation.kind == "best-moment" else "below"
    if annotation.kind == "best-moment":
        return "above" if score < 1.25 else "below"
    return "below" if score > -1.25 else "above"


def _emotion_y(score: float) -> float:
    """Score -2..+2 -> percent from the top of the curve band (room left for the marks)."""
    return 50.0 - score * 17.5


def _curve(layout: MapLayout, theme: Theme) -> dict[str, Any]:
    n = len(layout.stages)
    width = n * 100
    paths: list[str] = []
    current: list[str] = []
    for i, score in enumerate(layout.emotions):
        if score is None:
            if len(current) > 1:
                paths.append(" ".join(current))
            current = []
            continue
        x, y = i * 100 + 50, _emotion_y(score)
        current.append(("M" if not current else "L") + f"{x:.1f},{y:.1f}")
    if len(current) > 1:
        paths.append(" ".join(current))
    points: list[dict[str, Any]] = []
    described = []
    for i, (stage, score) in enumerate(zip(layout.stages, layout.emotions, strict=True)):
        marks = [a for a in layout.annotations if a.stage == stage.id]
        if score is None:
            points.append(
                {
                    "stage": stage.id,
                    "score": None,
                    "left": f"{(i + 0.5) / n * 100:.3f}",
                    "top": "50",
                    "text": "?",
                    "title": f"{stage.name}: no score yet",
                    "fill": "",
                    "ink": "",
                    "marks": [(a, _mark_side(a, score)) for a in marks],
                }
            )
            described.append(f"{stage.name} not scored")
            continue
        fill = theme.emotion_colour(score)
        from workbook.theme import readable_on

        points.append(
            {
                "stage": stage.id,
                "score": score,
                "left": f"{(i + 0.5) / n * 100:.3f}",
                "top": f"{_emotion_y(score):.1f}",
                "text": _score_text(score),
                "title": f"{stage.name}: {score:+g}",
                "fill": fill,
                "ink": readable_on(fill),
                "marks": [(a, _mark_side(a, score)) for a in marks],
            }
        )
        described.append(f"{stage.name} {score:+g}")
    return {"width": width, "paths": paths, "points": points, "description": ", ".join(described)}


def _scoped_css(theme: Theme) -> str:
    return theme.css_variables(".wb-map") + _css()


def render_map_html(
    ws: Any,
    persona_id: str | None = None,
    *,
    icp: str | None = None,
    kpis: Any = None,
    lanes: Sequence[str] | None = None,
    standalone: bool = False,
    theme: Theme | None = None,
    layout: MapLayout | None = None,
) -> str:
    """The map as HTML: a fragment for a notebook or report, or a standalone page.

    The HTML has no script and no external URL (the logo is inlined as a data URI), so it
    reads the same offline, in an email attachment, and printed (A3 landscape).
    """
    theme = theme or Theme.from_workspace(ws)
    layout = layout or build_layout(ws, persona_id, icp=icp, lanes=lanes, kpis=kpis)
    env = _jinja()
    curve = _curve(layout, theme) if layout.stages else {}
    # The CSS is ours, not user text; Markup keeps Jinja from escaping its quotes.
    from markupsafe import Markup

    body: str = env.get_template("map.html.j2").render(
        layout=layout, theme=theme, curve=curve, css=Markup(_scoped_css(theme))
    )
    if not standalone:
        return body
    page: str = env.get_template("page.html.j2").render(
        title=layout.title + (f" - {layout.client}" if layout.client else ""),
        page_css=Markup(""),
        body=Markup(body),
    )
    return page


# ------------------------------------------------------------------------------ SVG


def _wrap(text: str, width_px: float, size: float) -> list[str]:
    """Wrap text to a pixel width, estimating an average glyph at 0.5 em (sans-serif)."""
    chars = max(6, int(width_px / (size * 0.5)))
    return textwrap.wrap(text, chars, break_long_words=True, break_on_hyphens=True) or [""]


class _Svg:
    """A tiny SVG writer: every text goes through XML escaping."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def rect(self, x: float, y: float, w: float, h: float, fill: str, **attrs: Any) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{_xml_escape(str(v))}"' for k, v in attrs.items())
        self.parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"{extra}/>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str, **attrs: Any) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{_xml_escape(str(v))}"' for k, v in attrs.items())
        self.parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{stroke}"{extra}/>'
        )

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 12,
        fill: str = "#1F2328",
        weight: int | str = 400,
        anchor: str = "start",
        italic: bool = False,
    ) -> None:
        style = ' font-style="italic"' if italic else ""
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" '
            f'font-weight="{weight}" '
            f'text-anchor="{anchor}"{style}>{_xml_escape(text)}</text>'
        )

    def raw(self, markup: str) -> None:
        self.parts.append(markup)


def _cell_blocks(cell: MapCellView, width: float) -> list[tuple[str, Any]]:
    """The cell as a list of drawable blocks: ("text"|"tp"|"rec"|"kpi"|"mark", payload)."""
    blocks: list[tuple[str, Any]] = []
    for a in cell.annotations:
        blocks.append(("mark", a))
        if a.note:
            blocks.append(("note", _wrap(a.note, width, 11)))
    for t in cell.texts:
        blocks.append(("text", _wrap(t, width - 12, 12)))
    for tp in cell.touchpoints:
        blocks.append(("tp", (tp, _wrap(tp.name, width, 12))))
        for a in tp.annotations:
            blocks.append(("mark", a))
            if a.note:
                blocks.append(("note", _wrap(a.note, width, 11)))
        for r in tp.recommendations:
            blocks.append(("rec", (r, _wrap(r.text, width - 14, 11.5))))
    for label, value in cell.values:
        blocks.append(("kpi", (label, value)))
    for r in cell.recommendations:
        blocks.append(("rec", (r, _wrap(r.text, width - 14, 11.5))))
    return blocks


def _block_height(kind: str, payload: Any) -> float:
    if kind == "mark":
        return 20
    if kind == "note":
        return len(payload) * 14 + 2
    if kind == "text":
        return len(payload) * 16 + 4
    if kind == "tp":
        return len(payload[1]) * 16 + 20
    if kind == "rec":
        return len(payload[1]) * 15 + 22
    if kind == "kpi":
        return 18
    return 0


def render_map_svg(
    ws: Any,
    persona_id: str | None = None,
    *,
    icp: str | None = None,
    kpis: Any = None,
    lanes: Sequence[str] | None = None,
    theme: Theme | None = None,
    layout: MapLayout | None = None,
) -> str:
    """The map as a standalone SVG document (same content as the HTML, fixed layout)."""
    theme = theme or Theme.from_workspace(ws)
    layout = layout or build_layout(ws, persona_id, icp=icp, lanes=lanes, kpis=kpis)
    n = len(layout.stages)
    lane_w = 160.0
    col_w = max(170.0, min(260.0, 1240.0 / max(n, 1)))
    width = lane_w + col_w * max(n, 1) + 2
    pad = 10.0
    svg = _Svg()
    y = 0.0
    # Title band.
    head_h = 64.0
    x0 = 0.0
    if theme.logo:
        svg.raw(
            '<image x="0" y="8" width="120" height="40" preserveAspectRatio="xMinYMid meet" '
            f'href="{_xml_escape(theme.logo)}"/>'
        )
        x0 = 136.0
    svg.text(x0, 30, layout.title, size=22, fill=theme.primary_text, weight=700)
    if layout.persona_summary:
        summary = _wrap(layout.persona_summary, width - x0 - 260, 12)[0]
        more = "…" if len(_wrap(layout.persona_summary, width - x0 - 260, 12)) > 1 else ""
        svg.text(x0, 50, summary + more, size=12, fill=theme.muted)
    if layout.client:
        svg.text(width - 2, 30, layout.client, size=12, fill=theme.muted, anchor="end")
    svg.rect(0, head_h - 3, width, 3, theme.primary)
    y = head_h + 12
    if layout.placeholder:
        svg.rect(0.5, y, width - 1, 80, "#FAFBFC", stroke="#8C959F", stroke_dasharray="4 4")
        for i, line in enumerate(_wrap(layout.placeholder, width - 40, 14)):
            svg.text(20, y + 32 + i * 18, line, size=14, fill=theme.muted)
        return _svg_doc(svg, width, y + 90, layout, theme)

    grid_top = y
    # Stage header: long stage names wrap (at most three lines), the band grows to fit.
    names = [_wrap(s.name, col_w - 2 * pad, 14)[:3] for s in layout.stages]
    name_lines = max((len(x) for x in names), default=1)
    head = 34.0 + 18 * name_lines
    svg.rect(0, y, width, head, theme.primary)
    svg.text(pad, y + 24, "Stage", size=12, fill=theme.on_primary)
    for i, s in enumerate(layout.stages):
        x = lane_w + i * col_w
        for k, line in enumerate(names[i]):
            svg.text(x + pad, y + 24 + 18 * k, line, size=14, fill=theme.on_primary, weight=700)
        if s.selling_action:
            svg.text(
                x + pad,
                y + 24 + 18 * name_lines,
                s.selling_action.upper(),
                size=10.5,
                fill=theme.on_primary,
            )
    y += head
    inner = col_w - 2 * pad
    for lane in layout.lanes:
        show_placeholder = lane.empty and not (lane.id == "thoughts" and layout.has_emotions)
        if show_placeholder:
            lines = _wrap(lane.placeholder, col_w * n - 2 * pad, 12)
            h = max(44.0, len(lines) * 16 + 20, _lane_header_height(lane.title, lane_w))
            _lane_header(svg, lane.title, y, lane_w, h, theme)
            svg.rect(lane_w, y, col_w * n, h, "#FAFBFC")
            for i, line in enumerate(lines):
                svg.text(
                    lane_w + pad, y + 24 + i * 16, line, size=12, fill=theme.muted, italic=True
                )
            svg.line(0, y, width, y, "#D0D7DE")
        else:
            blocks = [_cell_blocks(c, inner) for c in lane.cells]
            h = max(
                48.0,
                max(sum(_block_height(k, p) for k, p in b) for b in blocks) + 2 * pad,
                _lane_header_height(lane.title, lane_w),
            )
            _lane_header(svg, lane.title, y, lane_w, h, theme)
            svg.line(0, y, width, y, "#D0D7DE")
            for i, cell_blocks in enumerate(blocks):
                x = lane_w + i * col_w
                svg.line(x, y, x, y + h, "#E5E7EB")
                _draw_blocks(svg, cell_blocks, x + pad, y + pad, inner, theme)
                if not cell_blocks:
                    svg.text(x + pad, y + pad + 14, "–", size=12, fill=theme.muted)
        y += h
        if lane.id == "thoughts":
            h = 150.0
            _lane_header(svg, "Emotion", y, lane_w, h, theme, sub="+2 delighted to −2 frustrated")
            svg.line(lane_w, y, width, y, "#D0D7DE", stroke_dasharray="3 3")
            _draw_curve(svg, layout, lane_w, y, col_w, h, theme)
            y += h
    svg.rect(0.5, grid_top + 0.5, width - 1, y - grid_top, "none", stroke="#D0D7DE", rx=6)
    y += 22
    lx = 0.0
    for label, colour in (
        ("★ Best moment", theme.diverging[4]),
        ("▼ Worst struggle", theme.diverging[0]),
    ):
        svg.rect(lx, y - 13, 112, 18, colour, rx=3)
        svg.text(lx + 6, y, label, size=11, fill="#FFFFFF", weight=700)
        lx += 126
    svg.rect(lx, y - 13, 4, 18, theme.accent_mark)
    svg.text(
        lx + 10, y, "Recommendation, next to the touchpoint it fixes", size=11, fill=theme.muted
    )
    svg.text(lx + 330, y, "Circles: emotion score per stage, −2 to +2", size=11, fill=theme.muted)
    return _svg_doc(svg, width, y + 12, layout, theme)


def _lane_header_height(title: str, w: float) -> float:
    return len(_wrap(title, w - 20, 12.5)) * 16 + 22.0


def _lane_header(
    svg: _Svg, title: str, y: float, w: float, h: float, theme: Theme, sub: str = ""
) -> None:
    svg.rect(0, y, w, h, theme.primary_tint)
    for i, line in enumerate(_wrap(title, w - 20, 12.5)):
        svg.text(10, y + 22 + i * 16, line, size=12.5, fill=theme.primary_text, weight=700)
    if sub:
        for i, line in enumerate(_wrap(sub, w - 20, 10.5)):
            svg.text(10, y + 42 + i * 14, line, size=10.5, fill=theme.muted)


def _draw_blocks(
    svg: _Svg, blocks: list[tuple[str, Any]], x: float, y: float, w: float, theme: Theme
) -> None:
    for kind, payload in blocks:
        h = _block_height(kind, payload)
        if kind == "mark":
            colour = theme.diverging[4] if payload.kind == "best-moment" else theme.diverging[0]
            label = ("★ " if payload.kind == "best-moment" else "▼ ") + payload.label
            svg.rect(x, y + 2, len(label) * 6.4 + 10, 16, colour, rx=3)
            svg.text(x + 5, y + 14, label, size=11, fill="#FFFFFF", weight=700)
        elif kind == "note":
            for i, line in enumerate(payload):
                svg.text(x, y + 11 + i * 14, line, size=11, fill=theme.muted)
        elif kind == "text":
            svg.raw(f'<circle cx="{x + 3:.1f}" cy="{y + 8:.1f}" r="2" fill="{theme.ink}"/>')
            for i, line in enumerate(payload):
                svg.text(x + 12, y + 12 + i * 16, line, size=12, fill=theme.ink)
        elif kind == "tp":
            tp, lines = payload
            for i, line in enumerate(lines):
                svg.text(x, y + 12 + i * 16, line, size=12, fill=theme.ink, weight=700)
            cy = y + len(lines) * 16 + 2
            label = tp.channel_label.upper()
            svg.rect(x, cy, len(label) * 6.6 + 12, 14, "#FFFFFF", stroke="#D0D7DE", rx=7)
            svg.text(x + 6, cy + 10.5, label, size=9.5, fill=theme.muted)
        elif kind == "rec":
            rec, lines = payload
            svg.rect(x, y + 2, w, h - 6, "#FFF8F0")
            svg.rect(x, y + 2, 5 if rec.priority == "high" else 3, h - 6, theme.accent_mark)
            for i, line in enumerate(lines):
                svg.text(x + 10, y + 15 + i * 15, line, size=11.5, fill=theme.ink)
            meta = rec.priority_label + (f" · {rec.owner}" if rec.owner else "")
            svg.text(x + 10, y + 15 + len(lines) * 15, meta, size=10.5, fill=theme.muted)
        elif kind == "kpi":
            label, value = payload
            svg.text(x, y + 13, label, size=11.5, fill=theme.ink)
            svg.text(x + w, y + 13, value, size=11.5, fill=theme.ink, weight=700, anchor="end")
        y += h


def _draw_curve(
    svg: _Svg, layout: MapLayout, x0: float, y0: float, col_w: float, h: float, theme: Theme
) -> None:
    from workbook.theme import readable_on

    def py(score: float) -> float:
        return y0 + h * _emotion_y(score) / 100

    svg.line(
        x0,
        y0 + h / 2,
        x0 + col_w * len(layout.stages),
        y0 + h / 2,
        "#8C959F",
        stroke_dasharray="4 4",
    )
    pts = [(x0 + (i + 0.5) * col_w, e) for i, e in enumerate(layout.emotions)]
    for (xa, ea), (xb, eb) in zip(pts, pts[1:], strict=False):
        if ea is not None and eb is not None:
            svg.line(
                xa, py(ea), xb, py(eb), theme.primary_mark, stroke_width=3, stroke_linecap="round"
            )
    for (x, e), stage in zip(pts, layout.stages, strict=True):
        marks = [a for a in layout.annotations if a.stage == stage.id]
        if e is None:
            svg.raw(
                f'<circle cx="{x:.1f}" cy="{y0 + h / 2:.1f}" r="14" '
                'fill="#FFFFFF" stroke="#8C959F"/>'
            )
            svg.text(x, y0 + h / 2 + 4, "?", size=11, fill=theme.muted, anchor="middle")
            continue
        fill = theme.emotion_colour(e)
        cy = py(e)
        svg.raw(
            f'<circle cx="{x:.1f}" cy="{cy:.1f}" r="15" fill="{fill}" '
            'stroke="#FFFFFF" stroke-width="2"/>'
        )
        svg.raw(
            f'<circle cx="{x:.1f}" cy="{cy:.1f}" r="16" fill="none" '
            'stroke="#57606A" stroke-width="1"/>'
        )
        svg.text(
            x, cy + 4, _score_text(e), size=11, fill=readable_on(fill), weight=700, anchor="middle"
        )
        for a in marks:
            colour = theme.diverging[4] if a.kind == "best-moment" else theme.diverging[0]
            label = ("★ " if a.kind == "best-moment" else "▼ ") + a.label
            wlab = len(label) * 6.4 + 10
            my = cy - 40 if _mark_side(a, e) == "above" else cy + 22
            svg.rect(x - wlab / 2, my, wlab, 17, colour, rx=3)
            svg.text(x, my + 12.5, label, size=11, fill="#FFFFFF", weight=700, anchor="middle")


def _svg_doc(svg: _Svg, width: float, height: float, layout: MapLayout, theme: Theme) -> str:
    font = _xml_escape(_svg_font(theme.font), {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="-16 -16 {width + 32:.0f} {height + 32:.0f}" '
        f'font-family="{font}" role="img" aria-labelledby="wb-map-title">'
        f'<title id="wb-map-title">{_xml_escape(layout.title)}</title>'
        f'<rect x="-16" y="-16" width="{width + 32:.0f}" height="{height + 32:.0f}" '
        f'fill="{theme.background}"/>' + "".join(svg.parts) + "</svg>\n"
    )


def _svg_font(font: str) -> str:
    from workbook.theme import svg_font

    # single quotes: the list goes into a double-quoted SVG attribute
    return svg_font(font).replace('"', "'")


# ------------------------------------------------------------------------------ export


def map_filename(
    persona_id: str, fmt: str = "html", icp: str | None = None, version: str = "as-is"
) -> str:
    """``journey-map-<persona>[-<icp>][-to-be|-compare].<fmt>``, a plain file name.

    Ids are slugs (the model checks the workspace's, :func:`build_layout` that a persona or
    ICP asked for exists); anything else is refused here, so the name can never lead into
    another folder.

    Raises
    ------
    WorkbookError
        A persona or ICP id that is not a slug, or an unknown format.
    """
    from workbook.model import is_slug

    for what, value in (("persona", persona_id), ("ICP", icp)):
        if value is not None and not is_slug(value):
            raise WorkbookError(
                f"cannot name a map file after the {what} id {value!r}",
                hint="ids are lower-case words joined by hyphens, like studio-owner",
            )
    if fmt not in FORMATS:
        raise WorkbookError(
            f"cannot export a map as {fmt!r}", hint="use one of: " + ", ".join(FORMATS)
        )
    if version not in (*VERSIONS, "compare"):
        raise WorkbookError(f"no map version {version!r}", hint="use one of: as-is, to-be, compare")
    tail = "" if version == "as-is" or fmt in ("xlsx", "csv") else f"-{version}"
    return f"journey-map-{persona_id}{'-' + icp if icp else ''}{tail}.{fmt}"


def export_map(
    ws: Any,
    persona_id: str | None,
    path: str | Path,
    fmt: str | None = None,
    *,
    icp: str | None = None,
    kpis: Any = None,
    lanes: Sequence[str] | None = None,
    scale: float = 2.0,
    version: str = "as-is",
) -> Path:
    """Write the map of one persona to ``path`` as HTML (standalone page), SVG, PNG, or as a
    grid for a spreadsheet (XLSX or CSV: :func:`map_table`, with the to-be rows when the
    journey has a to-be map).

    ``version`` ``"to-be"`` draws the desired journey; ``"compare"`` the as-is and the to-be
    overlaid (:func:`render_compare_html`; HTML only).

    ``fmt`` defaults to the file's suffix. PNG is the SVG rasterised by vl-convert at
    ``scale`` (2 = sharp on slides), with no browser. The file appears whole or not at all.

    Raises
    ------
    WorkbookError
        Unknown format, or unknown persona.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise WorkbookError(
            f"cannot export a map as {fmt or 'a file with no extension'!r}",
            [
                Problem(
                    "unknown format",
                    file=str(path),
                    hint="end the file name in .html, .svg, .png, .xlsx or .csv",
                )
            ],
        )
    theme = Theme.from_workspace(ws)
    if version == "compare":
        if fmt != "html":
            raise WorkbookError(
                f"the as-is and to-be comparison cannot be written as {fmt!r}",
                [Problem("unknown format", file=str(path), hint="end the file name in .html")],
            )
        html = render_compare_html(ws, persona_id, icp=icp, standalone=True, theme=theme)
        write_atomic(path, html.encode("utf-8"))
        return path
    if fmt in ("xlsx", "csv"):
        layout = build_layout(ws, persona_id, icp=icp, lanes=lanes, kpis=kpis)
        to_be = build_layout(ws, layout.persona_id, icp=icp, lanes=lanes, version="to-be")
        _write_grid(layout, path, fmt, None if layout.placeholder else to_be)
        return path
    # the measured KPIs are the journey's today: the desired journey has none yet
    layout = build_layout(
        ws,
        persona_id,
        icp=icp,
        lanes=lanes,
        kpis=kpis if version == "as-is" else None,
        version=version,
    )
    if fmt == "html":
        data = render_map_html(ws, standalone=True, theme=theme, layout=layout).encode("utf-8")
    else:
        svg = render_map_svg(ws, theme=theme, layout=layout)
        if fmt == "svg":
            data = svg.encode("utf-8")
        else:
            import vl_convert

            data = vl_convert.svg_to_png(svg, scale=scale)
    write_atomic(path, data)
    return path


# ------------------------------------------------------------------------- as a spreadsheet


def map_table(layout: MapLayout, to_be: MapLayout | None = None) -> pd.DataFrame:
    """The map as a grid: a row per lane (and one for the emotion), a column per stage.

    With ``to_be`` (the desired journey's layout, see :func:`build_layout`), its rows follow
    the as-is ones, each lane's title prefixed with "To-be: ", then the emotion gap (to-be
    minus as-is, where both are scored).

    Each cell holds what the drawn map shows there, one item a line: the lane's notes, the
    touchpoints (with their channel), the recommendations (priority and owner), the KPI
    values, the best moment and the worst struggle. Text is as the consultant typed it; a
    cell a spreadsheet would run as a formula is made plain text when written
    (:func:`workbook.files.plain_frame`).
    """
    import pandas as pd

    def cell_text(cell: MapCellView) -> str:
        lines = list(cell.texts)
        for tp in cell.touchpoints:
            lines.append(f"{tp.name} ({tp.channel_label})")
            lines += [
                f"  -> {r.text} ({r.priority_label}, {r.owner})"
                if r.owner
                else f"  -> {r.text} ({r.priority_label})"
                for r in tp.recommendations
            ]
        lines += [
            f"-> {r.text} ({r.priority_label}{', ' + r.owner if r.owner else ''})"
            for r in cell.recommendations
        ]
        lines += [f"{label}: {value}" for label, value in cell.values]
        lines += [a.label + (f": {a.note}" if a.note else "") for a in cell.annotations]
        return "\n".join(lines)

    columns = [s.name for s in layout.stages]
    rows: dict[str, list[str | float | None]] = {
        lane.title: [cell_text(c) for c in lane.cells] for lane in layout.lanes
    }
    if layout.has_emotions:
        # numbers, for the spreadsheet to chart; a stage not scored stays empty
        rows["Emotion (-2 to +2)"] = [None if e is None else float(e) for e in layout.emotions]
    if to_be is not None and not to_be.placeholder:
        for lane in to_be.lanes:
            rows[f"To-be: {lane.title}"] = [cell_text(c) for c in lane.cells]
        rows["To-be: Emotion (-2 to +2)"] = [
            None if e is None else float(e) for e in to_be.emotions
        ]
        rows["Emotion gap (to-be minus as-is)"] = [
            None if a is None or b is None else float(b - a)
            for a, b in zip(layout.emotions, to_be.emotions, strict=True)
        ]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame.index.name = "Lane"
    return frame


def _write_grid(layout: MapLayout, path: Path, fmt: str, to_be: MapLayout | None = None) -> None:
    from workbook.files import atomic_path, plain_frame

    grid = plain_frame(map_table(layout, to_be).reset_index())
    if fmt == "csv":
        with atomic_path(path) as tmp:
            grid.to_csv(tmp, index=False, encoding="utf-8")
        return
    import pandas as pd
    from openpyxl.styles import Alignment, Font

    with (
        atomic_path(path, keep_suffix=True) as tmp,
        pd.ExcelWriter(tmp, engine="openpyxl") as writer,
    ):
        sheet_name = "As-is and to-be map" if to_be and not to_be.placeholder else "As-is map"
        grid.to_excel(writer, sheet_name=sheet_name, index=False, startrow=2)
        sheet = writer.sheets[sheet_name]
        sheet["A1"] = plain_cell_text(layout.title)
        sheet["A1"].font = Font(bold=True, size=14)
        for row in sheet.iter_rows(min_row=4):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, never a formula
            row[0].font = Font(bold=True)
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 22
        for col in sheet.iter_cols(min_col=2, max_col=sheet.max_column):
            sheet.column_dimensions[col[0].column_letter].width = 34
        sheet.freeze_panes = "B4"


def plain_cell_text(text: str) -> str:
    """``text`` as a spreadsheet must show it: never run as a formula."""
    from workbook.files import plain_cell

    return str(plain_cell(text))
