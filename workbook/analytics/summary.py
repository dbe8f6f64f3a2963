"""The headline numbers: what the CLI prints, the report's executive summary, the notebooks."""

from __future__ import annotations

from typing import Any

from workbook.analytics.engine import Engine, EngineLike

__all__ = ["summary"]


def _num(value: Any) -> Any:
    """A JSON-friendly number: NaN, NA and None become None, numpy scalars plain Python."""
    import pandas as pd

    if value is None or (not isinstance(value, str | bytes) and bool(pd.isna(value))):
        return None
    if hasattr(value, "item"):
        value = value.item()
    return value


def _date(us: int) -> str:
    import datetime as dt

    return (
        (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)).date().isoformat()
    )


def summary(
    ws: EngineLike, by: str | None = None, *, top: int = 3, ordered: bool = False
) -> dict[str, Any]:
    """The headline numbers of a workspace, as plain data (JSON-serialisable).

    Parameters
    ----------
    ws
        A workspace folder, an ``OpenWorkspace`` or an :class:`Engine`.
    by
        Also give the main numbers per ``"persona"``, ``"segment"`` or ``"icp"``.
    top
        How many touchpoints to list.
    ordered
        Give the in-order funnel (:func:`~workbook.analytics.funnel.funnel` with
        ``ordered=True``) instead of the ever-reached one; the bottleneck follows it.

    Returns
    -------
    dict
        Keys: ``workspace`` (client slug), ``as_of`` (ISO date of the last event or None),
        ``contacts, events, deals`` (int), ``funnel_kind`` (``"ever reached"`` or ``"in
        order"``), ``funnel`` (list of {stage, stage_name, has_data, contacts,
        conversion_to_next}; ``contacts`` None on a stage no source reaches,
        ``conversion_to_next`` None where it cannot be measured or without a stage
        history), ``reach`` (contacts at the first stage, None without data there),
        ``conversions`` ({won_deals, lost_deals, open_deals, win_rate} where ``win_rate``
        is won deals / (won + lost deals), the decided deals; and the per-contact view,
        by each contact's best outcome: {won_contacts, lost_contacts, open_contacts,
        contacts_won_rate} with ``contacts_won_rate`` = won contacts / (won + lost
        contacts)), ``bottleneck`` (the stage after which most contacts are lost: {stage,
        stage_name, next_stage, next_stage_name, conversion_to_next, drop_off} or None),
        ``weakest_step`` (the lowest rate to the next stage, same keys, or None),
        ``stage_history`` (False when no source holds more than each deal's current stage,
        None without stage data), ``time_to_close`` ({won_deals, untimed_deals,
        median_days, p90_days} from deal creation; ``median_days_from_first_contact``),
        ``top_touchpoints`` (list of {touchpoint, touchpoint_name, contacts, touches}),
        ``attribution_leader`` ({model: {touchpoint, touchpoint_name, share}}),
        ``experiments`` (list of {experiment, experiment_name, decision, reason, source,
        source_reason, other_decision, warning}: see ``experiment_decisions``), ``by`` and
        ``groups`` (per group: contacts, won_contacts, won_deals, lost_deals, win_rate on
        decided deals, bottleneck, median_days_to_close) when ``by`` is given, and
        ``notes``: plain sentences explaining whatever is missing (no data, no deals, a
        single contact, an export without stage history); ``people_by_sources`` (list of
        {sources, people}: how many people were seen in one source, in two, ...).
    """
    from workbook.analytics._common import rollup
    from workbook.analytics.attribution import attribution
    from workbook.analytics.experiments import experiment_decisions
    from workbook.analytics.funnel import funnel, funnel_kind, stage_history
    from workbook.analytics.people import people_by_sources
    from workbook.analytics.timing import time_to_close

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    notes: list[str] = []
    # contact_paths (behind `people`) lists every contact; without it, union the event log's.
    everyone = (
        "SELECT contact_id FROM people"
        if eng.has("contact_paths")
        else "SELECT contact_id FROM people UNION SELECT contact_id FROM events "
        "WHERE contact_id IS NOT NULL"
    )
    counts = eng.query(
        f"""
        SELECT (SELECT count(*) FROM ({everyone})) AS contacts,
               (SELECT count(*) FROM events) AS events,
               (SELECT count(*) FROM deals) AS deals,
               (SELECT epoch_us(max(ts)) FROM events) AS last_event_us
        """
    ).iloc[0]
    n_contacts, n_events, n_deals = (
        int(counts["contacts"]),
        int(counts["events"]),
        int(counts["deals"]),
    )
    # Microseconds, not a timestamp: DuckDB's pandas conversion of a NULL TIMESTAMPTZ warns.
    last_us = _num(counts["last_event_us"])
    if n_events == 0:
        notes.append("No CRM data imported yet: import an export with `workbook import` first.")
    elif n_contacts == 1:
        notes.append("Only one contact in the data: rates and medians describe a single person.")
    if n_events and n_deals == 0:
        notes.append("No deals in the data: conversions, time to close and attribution need deals.")

    history = stage_history(eng)
    no_history = history[~history["has_stage_history"]]
    has_history: bool | None = bool(history["has_stage_history"].any()) if len(history) else None
    if len(no_history):
        files = ", ".join(_source_name(r) for r in no_history.itertuples())
        if has_history:
            notes.append(
                f"{files}: each deal's current stage only, no stage history. Its contacts "
                "count at the stage their deal is in now, which makes the funnel's rates "
                "read higher or lower than the moves the contacts made."
            )
        else:
            notes.append(
                f"{files}: each deal's current stage only, no stage history. The counts "
                "per stage say where deals stand now; they are not a funnel, so no rate to "
                "the next stage and no bottleneck is given. Import an export with stage "
                "dates (a stage history) for those."
            )

    f = funnel(eng, ordered=ordered)
    funnel_rows = [
        {
            "stage": r.stage,
            "stage_name": r.stage_name,
            "has_data": bool(r.has_data),
            "contacts": int(r.contacts) if r.has_data else None,
            "conversion_to_next": _num(r.conversion_to_next) if has_history else None,
        }
        for r in f.itertuples()
    ]
    bottleneck = _step(f, "is_bottleneck") if has_history else None
    weakest = _step(f, "is_weakest_step") if has_history else None

    outcomes = eng.query(
        f"""
        SELECT coalesce(sum(contacts) FILTER (outcome = 'won'), 0)::BIGINT AS won,
               coalesce(sum(contacts) FILTER (outcome = 'lost'), 0)::BIGINT AS lost,
               coalesce(sum(contacts) FILTER (outcome = 'open'), 0)::BIGINT AS open
        FROM {rollup(eng, "contact_groups")}
        """
    ).iloc[0]
    won, lost = int(outcomes["won"]), int(outcomes["lost"])
    deals = eng.query(
        """
        SELECT count(*) FILTER (outcome = 'won')::BIGINT AS won,
               count(*) FILTER (outcome = 'lost')::BIGINT AS lost,
               count(*) FILTER (outcome = 'open')::BIGINT AS open
        FROM deals
        """
    ).iloc[0]
    won_deals, lost_deals = int(deals["won"]), int(deals["lost"])
    ttc = time_to_close(eng).iloc[0]
    first_contact = eng.scalar(
        "SELECT median(days_to_close) FROM contact_paths WHERE outcome = 'won'"
    )

    # Every touch but messages sent, after a win too: the all_* counts of the rollup.
    usage = eng.query(
        f"""
        SELECT e.touchpoint,
               coalesce(any_value(t.touchpoint_name), e.touchpoint) AS touchpoint_name,
               sum(e.all_contacts)::BIGINT AS contacts, sum(e.all_touches)::BIGINT AS touches
        FROM {rollup(eng, "journey_touchpoints")} e
        LEFT JOIN touchpoints t ON t.touchpoint = e.touchpoint
        WHERE e.all_touches > 0
        GROUP BY e.touchpoint
        ORDER BY contacts DESC, touches DESC, e.touchpoint
        LIMIT $top
        """,
        {"top": int(top)},
    )
    attr = attribution(eng)
    leaders: dict[str, Any] = {}
    for model, part in attr.groupby("model", sort=False):
        lead = part.sort_values(["conversions", "touchpoint"], ascending=[False, True]).iloc[0]
        leaders[str(model)] = {
            "touchpoint": lead["touchpoint"],
            "touchpoint_name": lead["touchpoint_name"],
            "share": _num(lead["share"]),
        }
    if n_deals and won_deals == 0:
        notes.append("No won deal yet: attribution and time to close are empty.")

    decisions = experiment_decisions(eng)
    result: dict[str, Any] = {
        "workspace": eng.workspace.client.slug,
        "as_of": None if last_us is None else _date(int(last_us)),
        "contacts": n_contacts,
        "events": n_events,
        "deals": n_deals,
        "reach": funnel_rows[0]["contacts"] if funnel_rows else 0,
        "funnel_kind": funnel_kind(ordered),
        "funnel": funnel_rows,
        "conversions": {
            "won_deals": won_deals,
            "lost_deals": lost_deals,
            "open_deals": int(deals["open"]),
            "win_rate": won_deals / (won_deals + lost_deals) if won_deals + lost_deals else None,
            "won_contacts": won,
            "lost_contacts": lost,
            "open_contacts": int(outcomes["open"]),
            "contacts_won_rate": won / (won + lost) if won + lost else None,
        },
        "bottleneck": bottleneck,
        "weakest_step": weakest,
        "stage_history": has_history,
        "time_to_close": {
            "won_deals": int(ttc["won_deals"]),
            "untimed_deals": int(ttc["untimed_deals"]),
            "median_days": _num(ttc["median_days"]),
            "p90_days": _num(ttc["p90_days"]),
            "median_days_from_first_contact": _num(first_contact),
        },
        "top_touchpoints": [
            {
                "touchpoint": r.touchpoint,
                "touchpoint_name": r.touchpoint_name,
                "contacts": int(r.contacts),
                "touches": int(r.touches),
            }
            for r in usage.itertuples()
        ],
        "attribution_leader": leaders,
        "experiments": [
            {
                "experiment": r.experiment,
                "experiment_name": r.experiment_name,
                "decision": r.decision,
                "reason": r.reason,
                "source": r.source,
                "source_reason": r.source_reason,
                "other_decision": r.other_decision,
                "warning": r.warning,
            }
            for r in decisions.itertuples()
        ],
        "people_by_sources": [
            {"sources": int(r.sources), "people": int(r.people)}
            for r in people_by_sources(eng).itertuples()
        ],
        "notes": notes,
    }
    if by:
        result["by"] = by
        result["groups"] = _groups(eng, by, ordered=ordered, history=has_history)
    return result


def _source_name(row: Any) -> str:
    """An imported source as the user knows it: its file, else its id."""
    return str(row.file or row.source_id)


def _step(f: Any, flag: str) -> dict[str, Any] | None:
    """The funnel row flagged ``flag`` (bottleneck or weakest step) with its next stage."""
    rows = f[f[flag]]
    if not len(rows):
        return None
    b = rows.iloc[0]
    pos = int(b["stage_index"])
    nxt = f[f["stage_index"] == pos + 1]
    return {
        "stage": b["stage"],
        "stage_name": b["stage_name"],
        "next_stage": nxt["stage"].iloc[0] if len(nxt) else None,
        "next_stage_name": nxt["stage_name"].iloc[0] if len(nxt) else None,
        "conversion_to_next": _num(b["conversion_to_next"]),
        "drop_off": int(b["drop_off"]),
    }


def _groups(eng: Engine, by: str, *, ordered: bool, history: bool | None) -> dict[str, Any]:
    from workbook.analytics._common import group_expr
    from workbook.analytics.funnel import funnel
    from workbook.analytics.wins import won_summary

    f = funnel(eng, by, ordered=ordered)
    w = won_summary(eng, by)
    deals = eng.query(
        f"""
        SELECT {group_expr(by, "p")} AS g,
               count(*) FILTER (d.outcome = 'won')::BIGINT AS won,
               count(*) FILTER (d.outcome = 'lost')::BIGINT AS lost
        FROM deals d LEFT JOIN people p ON p.contact_id = d.contact_id
        GROUP BY ALL
        """
    )
    decided = {str(r.g): (int(r.won), int(r.lost)) for r in deals.itertuples()}
    groups: dict[str, Any] = {}
    for r in w.itertuples():
        g = getattr(r, by)
        part = f[(f[by] == g) & f["is_bottleneck"]]
        won, lost = decided.get(str(g), (0, 0))
        groups[g] = {
            "contacts": int(r.contacts),
            "won_contacts": int(r.won_contacts),
            "won_deals": won,
            "lost_deals": lost,
            "win_rate": won / (won + lost) if won + lost else None,
            "median_days_to_close": _num(r.median_days_to_close),
            "bottleneck": None if part.empty or not history else part.iloc[0]["stage"],
        }
    return groups
