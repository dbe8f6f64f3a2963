"""KPIs and OKRs: the current value of each, from the data where it can be derived.

A metric can be derived when it follows the grammar of :class:`workbook.model.Objective`:

==================================  =================================================
``conversion:<from>:<to>``          of the contacts who reached ``from``, the share who
                                    also reached ``to``
``reach:<stage>``                   contacts who reached the stage
``win-rate``                        won / (won + lost) contacts
``time-to-close-days``              median days from a won contact's first record to
                                    its first won deal
``median-days:<stage>``             median days of a finished stay in the stage
``channel-rate:<channel>:<action>`` share of contacts sent a message on the channel who
                                    did ``open``, ``click`` or ``reply``
==================================  =================================================

Shares are fractions (0-1) unless the item's unit is ``%``, then percentages, so they
compare with the baseline and target as the consultant typed them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from workbook.analytics._common import empty, ordered, rollup
from workbook.analytics.engine import Engine, EngineLike, memo

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KPI_COLUMNS", "kpis", "metric_value"]

KPI_COLUMNS = [
    "kind",
    "id",
    "parent",
    "name",
    "metric",
    "unit",
    "baseline",
    "target",
    "current",
    "source",
    "progress",
    "status",
    "note",
]

_SHARES = ("conversion", "win-rate", "channel-rate")


def metric_value(ws: EngineLike, metric: str | None) -> tuple[float | None, str]:
    """The value of a metric from the data, and a note.

    Returns
    -------
    tuple
        ``(value, note)``; ``value`` is ``None`` when the metric is not in the grammar or
        the data cannot give it, and the note says why. Shares are fractions (0-1).
    """
    eng = Engine.for_workspace(ws)
    if not metric:
        return None, "no metric given"
    parts = [p.strip() for p in metric.strip().split(":")]
    head, args = parts[0], parts[1:]
    stages = set(eng.stage_ids())

    def unknown_stage(stage: str) -> tuple[None, str]:
        return None, f"stage {stage!r} is not in the workspace"

    if head == "conversion" and len(args) == 2:
        a, b = args
        for s in (a, b):
            if s not in stages:
                return unknown_stage(s)
        # The contact_groups rollup lists the stages each group of contacts entered.
        row = eng.query(
            f"""
            SELECT coalesce(sum(contacts), 0)::BIGINT AS n,
                   coalesce(sum(contacts) FILTER (list_contains(reached, $b)), 0)::BIGINT AS k
            FROM {rollup(eng, "contact_groups")}
            WHERE list_contains(reached, $a)
            """,
            {"a": a, "b": b},
        ).iloc[0]
        if row["n"] == 0:
            return None, f"no contact reached {a} yet"
        return float(row["k"]) / float(row["n"]), f"{int(row['k'])} of {int(row['n'])} contacts"
    if head == "reach" and len(args) == 1:
        if args[0] not in stages:
            return unknown_stage(args[0])
        n = eng.scalar(
            f"SELECT sum(contacts)::BIGINT FROM {rollup(eng, 'contact_groups')} "
            "WHERE list_contains(reached, $s)",
            {"s": args[0]},
        )
        return float(n or 0), "contacts"
    if head == "win-rate" and not args:
        row = eng.query(
            "SELECT coalesce(sum(contacts) FILTER (outcome = 'won'), 0)::BIGINT AS w, "
            "coalesce(sum(contacts) FILTER (outcome = 'lost'), 0)::BIGINT AS l "
            f"FROM {rollup(eng, 'contact_groups')}"
        ).iloc[0]
        closed = int(row["w"]) + int(row["l"])
        if closed == 0:
            return None, "no closed deal yet"
        return int(row["w"]) / closed, f"{int(row['w'])} won of {closed} closed"
    if head == "time-to-close-days" and not args:
        row = eng.query(
            "SELECT count(days_to_close) AS n, median(days_to_close) AS d FROM contact_paths "
            "WHERE outcome = 'won'"
        ).iloc[0]
        if row["n"] == 0:
            return None, "no won deal yet"
        return float(row["d"]), f"median of {int(row['n'])} won contacts"
    if head == "median-days" and len(args) == 1:
        from workbook.analytics.timing import time_in_stage

        if args[0] not in stages:
            return unknown_stage(args[0])
        t = time_in_stage(eng)
        row = t[t["stage"] == args[0]].iloc[0]
        if row["spells"] == 0:
            return None, f"nobody has left {args[0]} yet"
        return float(row["median_days"]), f"median of {int(row['spells'])} stays"
    if head == "channel-rate" and len(args) == 2:
        from workbook.analytics.channels import channels

        channel, action = args
        if action not in ("open", "click", "reply"):
            return None, f"action {action!r}: use open, click or reply"
        c = channels(eng)
        row = c[c["channel"] == channel]
        if row.empty:
            return None, f"no message sent on {channel}"
        return float(
            row.iloc[0][f"{action}_rate"]
        ), f"{int(row.iloc[0]['contacts_sent'])} contacts sent"
    return None, "not derivable from CRM data (not in the metric grammar)"


@memo
def kpis(ws: EngineLike) -> pd.DataFrame:
    """Every objective, KPI and key result with its baseline, target and current value.

    The current value comes from the data when the metric is derivable (``source`` is
    ``"data"``), else from the key result's typed ``current`` (``"workspace"``), else it is
    missing (``""``).

    Returns
    -------
    DataFrame
        One row per objective, KPI and key result, in workspace order. Columns: ``kind``
        (``"objective"``, ``"kpi"`` or ``"key_result"``), ``id``, ``parent`` (the KPI's
        objective or the key result's OKR id; empty for objectives), ``name, metric,
        unit``, ``baseline, target, current`` (float or NaN), ``source``, ``progress``
        ((current - baseline) / (target - baseline): 0 at baseline, 1 at target; NaN when
        it cannot be computed), ``status`` (``"target met"``, ``"better than baseline"``,
        ``"not better than baseline"`` or ``"no current value"``), ``note``.
    """
    import pandas as pd

    eng = Engine.for_workspace(ws)
    m = eng.workspace.measurement
    items: list[tuple[str, str, str, str, str | None, str, Any, Any, Any]] = []
    for o in eng.workspace.objectives:
        items.append(("objective", o.id, "", o.title, o.metric, o.unit, o.baseline, o.target, None))
    for k in m.kpis:
        items.append(
            ("kpi", k.id, k.objective or "", k.name, k.metric, k.unit, k.baseline, k.target, None)
        )
    for okr in m.okrs:
        for kr in okr.key_results:
            items.append(
                (
                    "key_result",
                    kr.id,
                    okr.id,
                    kr.text,
                    kr.metric,
                    "",
                    kr.baseline,
                    kr.target,
                    kr.current,
                )
            )
    rows = []
    cache: dict[str, tuple[float | None, str]] = {}
    for kind, iid, parent, name, metric, unit, baseline, target, typed in items:
        if metric not in cache:
            cache[metric or ""] = metric_value(eng, metric)
        value, note = cache[metric or ""]
        source = ""
        if value is not None:
            head = (metric or "").split(":")[0]
            # Key results carry no unit: a share is shown like its baseline (12.0 -> percent).
            percent = unit == "%" or (
                kind == "key_result" and baseline is not None and abs(baseline) > 1
            )
            if head in _SHARES and percent:
                value *= 100.0
            if kind == "key_result" and not unit:  # say the unit the value is now in
                unit = "%" if head in _SHARES and percent else ("days" if "days" in head else "")
            source = "data"
        elif typed is not None:
            value, source, note = float(typed), "workspace", "typed in the workspace"
        progress = math.nan
        if value is not None and baseline is not None and target is not None and target != baseline:
            progress = (value - baseline) / (target - baseline)
        if value is None:
            status = "no current value"
        elif not math.isnan(progress) and progress >= 1:
            status = "target met"
        elif not math.isnan(progress) and progress > 0:
            status = "better than baseline"
        elif math.isnan(progress):
            status = "no baseline or target"
        else:
            status = "not better than baseline"
        rows.append(
            {
                "kind": kind,
                "id": iid,
                "parent": parent,
                "name": name,
                "metric": metric or "",
                "unit": unit,
                "baseline": math.nan if baseline is None else float(baseline),
                "target": math.nan if target is None else float(target),
                "current": math.nan if value is None else float(value),
                "source": source,
                "progress": progress,
                "status": status,
                "note": note,
            }
        )
    if not rows:
        return empty(
            KPI_COLUMNS, {c: "float64" for c in ("baseline", "target", "current", "progress")}
        )
    return ordered(pd.DataFrame(rows), KPI_COLUMNS)
