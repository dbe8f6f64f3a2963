"""Opportunity -> solution -> owner -> metric: each recommendation and how far its KPI moved.

A recommendation (:class:`workbook.model.Recommendation`) answers an opportunity, is a
solution with an owner, and names the KPI it should move (a measurement KPI by id or,
failing that, an objective) with the expected effect in the KPI's own unit (``+4`` points,
``-7`` days). When it is agreed, the KPI's value that day is kept (``agreed_value``); the
current value comes from :func:`workbook.analytics.kpis.kpis`, the same numbers the
report's objectives table shows (shares in per cent when the KPI's unit is ``%``).

Numbers, for each recommendation:

* ``moved`` = current - value when agreed (in the KPI's unit, signed);
* ``expected_value`` = value when agreed + expected effect;
* ``share_achieved`` = moved / expected effect: 0 when nothing moved, 1 when the expected
  effect is reached, negative when the KPI moved the other way; missing (NaN) when a value,
  the effect, or a non-zero effect is missing.

A recommendation has **no data since agreed** when the last event of every imported source
(``data_sources[].last_event``, its date in UTC) falls on or before the day it was agreed
(``agreed_on``, a date without a time): data that ends on the very day of the agreement is
the data the agreed value was read from, so the KPI cannot have moved since.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from workbook.analytics._common import empty, ordered
from workbook.analytics.engine import Engine, EngineLike
from workbook.exceptions import WorkbookError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CHAIN_COLUMNS", "kpi_now", "recommendation_chain"]

CHAIN_COLUMNS = [
    "persona",
    "icp",
    "recommendation",
    "stage",
    "touchpoint",
    "opportunity",
    "solution",
    "owner",
    "priority",
    "status",
    "kpi",
    "kpi_kind",
    "kpi_name",
    "unit",
    "agreed_on",
    "agreed_value",
    "current",
    "moved",
    "expected_effect",
    "expected_value",
    "share_achieved",
    "verdict",
    "note",
]

_FLOATS = (
    "agreed_value",
    "current",
    "moved",
    "expected_effect",
    "expected_value",
    "share_achieved",
)


def _measured(eng: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    """Current values of objectives and KPIs by (kind, id); none when the data cannot say."""
    from workbook.analytics.kpis import kpis

    try:
        frame = kpis(eng)
    except WorkbookError:
        return {}
    return {(str(r["kind"]), str(r["id"])): r for r in frame.to_dict(orient="records")}


def _resolve(data: Any, kpi_id: str | None) -> tuple[str, str, str]:
    """(kind, name, unit) of what a recommendation's ``kpi`` names: a KPI first, else an
    objective; ``("", "", "")`` when it names nothing."""
    if not kpi_id:
        return "", "", ""
    for k in data.measurement.kpis:
        if k.id == kpi_id:
            return "kpi", k.name, k.unit
    for o in data.objectives:
        if o.id == kpi_id:
            return "objective", o.title, o.unit
    return "", "", ""


def kpi_now(ws: EngineLike, kpi_id: str) -> tuple[float | None, str]:
    """The current value of a KPI (or objective) by id, in its unit, and a note.

    What the refine form records as the value when a recommendation is agreed.
    """
    eng = Engine.for_workspace(ws)
    kind, _name, _unit = _resolve(eng.workspace, kpi_id)
    if not kind:
        return None, f"no KPI or objective {kpi_id!r}"
    row = _measured(eng).get((kind, kpi_id)) or {}
    value = row.get("current")
    if value is None or value != value:
        return None, str(row.get("note") or "no value from the data")
    return float(value), str(row.get("note") or "")


def _last_event(data: Any) -> dt.date | None:
    lasts = [s.last_event for s in data.data_sources if s.last_event]
    return max(lasts).date() if lasts else None


def recommendation_chain(ws: EngineLike) -> pd.DataFrame:
    """Every recommendation with its chain and how far its KPI moved since it was agreed.

    ``ws`` is anything the analytics take, or a bare :class:`~workbook.model.Workspace`
    (then nothing is measured: ``current`` is NaN).

    Returns
    -------
    DataFrame
        One row per recommendation (dropped ones left out), in map order. Columns:
        ``persona, icp, recommendation, stage, touchpoint`` (ids), ``opportunity``,
        ``solution`` (the recommendation's text), ``owner, priority, status``, ``kpi`` (id),
        ``kpi_kind`` (``"kpi"``, ``"objective"`` or empty), ``kpi_name, unit``,
        ``agreed_on`` (date or None), ``agreed_value, current, moved, expected_effect,
        expected_value, share_achieved`` (floats, NaN when unknown; see the module's
        definitions), ``verdict`` (one of ``"not agreed yet"``, ``"no KPI named"``,
        ``"no value when agreed"``, ``"not measured"``, ``"no data since agreed"``,
        ``"no expected effect"``, ``"expected effect reached"``, ``"moving the right way"``,
        ``"not moved"``, ``"moved the wrong way"``) and ``note`` (where the current value
        comes from).
    """
    import pandas as pd

    from workbook.model import Workspace

    if isinstance(ws, Workspace):  # a bare model: no data to measure the KPIs from
        data, measured = ws, {}
    else:
        eng = Engine.for_workspace(ws)
        data, measured = eng.workspace, _measured(eng)
    last = _last_event(data)
    rows = []
    for j in data.journeys:
        for r in j.recommendations:
            if r.status == "dropped":
                continue
            kind, name, unit = _resolve(data, r.kpi)
            row = measured.get((kind, r.kpi or "")) if kind else None
            current = math.nan
            note = ""
            if row is not None:
                value = row.get("current")
                current = math.nan if value is None or value != value else float(value)
                note = str(row.get("note") or "")
            agreed = math.nan if r.agreed_value is None else float(r.agreed_value)
            effect = math.nan if r.expected_effect is None else float(r.expected_effect)
            moved = current - agreed
            share = moved / effect if effect == effect and effect != 0 else math.nan
            if r.status == "proposed":
                verdict = "not agreed yet"
            elif not kind:
                verdict = "no KPI named"
            elif agreed != agreed:
                verdict = "no value when agreed"
            elif current != current:
                verdict = "not measured"
            elif r.agreed_on is not None and last is not None and last <= r.agreed_on:
                verdict = "no data since agreed"
            elif share != share:
                verdict = "no expected effect"
            elif share >= 1:
                verdict = "expected effect reached"
            elif share > 0:
                verdict = "moving the right way"
            elif share == 0:
                verdict = "not moved"
            else:
                verdict = "moved the wrong way"
            rows.append(
                {
                    "persona": j.persona,
                    "icp": j.icp or "",
                    "recommendation": r.id,
                    "stage": r.stage,
                    "touchpoint": r.touchpoint or "",
                    "opportunity": r.opportunity,
                    "solution": r.text,
                    "owner": r.owner,
                    "priority": r.priority,
                    "status": r.status,
                    "kpi": r.kpi or "",
                    "kpi_kind": kind,
                    "kpi_name": name,
                    "unit": unit,
                    "agreed_on": r.agreed_on,
                    "agreed_value": agreed,
                    "current": current,
                    "moved": moved,
                    "expected_effect": effect,
                    "expected_value": agreed + effect,
                    "share_achieved": share,
                    "verdict": verdict,
                    "note": note,
                }
            )
    if not rows:
        return empty(CHAIN_COLUMNS, dict.fromkeys(_FLOATS, "float64"))
    return ordered(pd.DataFrame(rows), CHAIN_COLUMNS)
