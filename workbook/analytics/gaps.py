"""Go wide, go deep: every component that could explain a gap, ranked; then the weakest, split.

The Analyse phase of the method asks, for a KPI that misses its target, what could explain
it. :func:`gaps` goes **wide**: for every group of contacts (persona, segment or ICP) it
lists each measurable component of the journey, with its number, the benchmark it is
compared with, and how far it falls short:

``conversion``
    the share of a stage's contacts who go on to the next stage (the ever-reached funnel);
``time``
    the median days a finished stay in a stage lasted;
``open``, ``click``, ``reply``
    the share of contacts sent a message on a channel who opened (clicked, replied to) one
    (:func:`~workbook.analytics.channels.channels`);
``source``
    the win rate of contacts from a lead source (won / decided).

A group's benchmark is **the same component among the workspace's other groups** (pooled:
their contacts together), or for a lead source the other sources together; a target the
consultant types replaces it (``targets``). Components are ranked by the **contacts the
shortfall costs** (``missed``): for a rate, the group's contacts times the rate points it
falls short (the contacts who would have gone on at the benchmark's rate); for a time, the
contacts whose stay was longer than the benchmark's median beyond the half expected there
(``contacts x (share above the benchmark median - 0.5)``). Components at or above their
benchmark miss no one and come last.

:func:`drill` goes **deep** into one component: a stage's conversion or time split by what the
data can split it by (persona, segment, lead source, and whether the contact met each
touchpoint while in the stage), a channel's open, click or reply rate by send weekday and
hour, messages sent per contact and the subject line (the variants of an A/B test on the
channel), each part with its rate, the component's own rate as its benchmark, and the
contacts it misses. :func:`gap_objective` names the objective a gap analysis explains.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from workbook.analytics.engine import Engine, EngineLike, memo

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DRILL_COLUMNS", "GAP_COLUMNS", "drill", "gap_objective", "gaps"]

GAP_COLUMNS = [
    "component",
    "kind",
    "stage",
    "item",
    "group",
    "value",
    "benchmark",
    "benchmark_from",
    "shortfall",
    "contacts",
    "missed",
    "rank",
]
DRILL_COLUMNS = ["dimension", "part", "contacts", "value", "benchmark", "shortfall", "missed"]

_RATES = {"open": "contacts_opened", "click": "contacts_clicked", "reply": "contacts_replied"}


def _row(
    kind: str,
    stage: str | None,
    item: str | None,
    group: str,
    value: float,
    benchmark: float,
    contacts: int,
    missed: float,
    source: str,
) -> dict[str, Any]:
    # time: longer is worse, so the shortfall is value - benchmark; rates the other way
    shortfall = value - benchmark if kind == "time" else benchmark - value
    return {
        "component": ":".join(p for p in (kind, stage or item or "", group) if p and p != "all"),
        "kind": kind,
        "stage": stage,
        "item": item,
        "group": group,
        "value": value,
        "benchmark": benchmark,
        "benchmark_from": source,
        "shortfall": shortfall,
        "contacts": contacts,
        "missed": max(missed, 0.0),
    }


@memo
def gaps(
    ws: EngineLike,
    by: str = "persona",
    *,
    stage: str | None = None,
    targets: Mapping[str, float] | None = None,
    min_contacts: int = 10,
) -> pd.DataFrame:
    """Every component of the journey per group, with its benchmark and shortfall, ranked.

    Parameters
    ----------
    by
        The groups: ``"persona"`` (default), ``"segment"`` or ``"icp"``.
    stage
        Only the components of this stage (its conversion to the next stage and its time),
        with the stage-less ones (channels, lead sources): what an objective on this stage
        (``conversion:<stage>:<next>``, ``median-days:<stage>``) could be missing for.
    targets
        Benchmarks the consultant sets, by component id (``"conversion:consideration:amara"``,
        ``"open:email:amara"``, ``"source:Paid Search"``); they replace the other groups'.
    min_contacts
        Components with fewer contacts (sent, decided, reached or finished) are left out: a
        rate of three people explains nothing.

    Returns
    -------
    DataFrame
        One row per component, most contacts missed first (``rank`` 1, 2, ...). Columns:
        ``component`` (id), ``kind``, ``stage`` (or None), ``item`` (channel or lead source,
        or None), ``group`` (the persona, segment or ICP; ``all`` for lead sources),
        ``value``, ``benchmark`` (rates 0-1, times in days), ``benchmark_from`` (``"other
        groups"``, ``"other sources"`` or ``"target"``), ``shortfall`` (rate points or days,
        positive when worse than the benchmark), ``contacts``, ``missed`` (float, see the
        module), ``rank``.
    """
    import pandas as pd

    from workbook.analytics.channels import channels
    from workbook.analytics.funnel import funnel

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by) or "persona"
    chosen = dict(targets or {})
    rows: list[dict[str, Any]] = []

    def add(row: dict[str, Any]) -> None:
        if row["component"] in chosen:
            target = float(chosen[row["component"]])
            row = _row(
                row["kind"],
                row["stage"],
                row["item"],
                row["group"],
                row["value"],
                target,
                row["contacts"],
                0.0,
                "target",
            )
            row["missed"] = max(row["shortfall"], 0.0) * row["contacts"]
        rows.append(row)

    # conversion to the next stage, per group against the other groups pooled
    f = funnel(eng, by=by)
    f = f[f["has_data"] & f["conversion_to_next"].notna()]
    for st, part in f.groupby("stage", sort=False):
        if stage is not None and st != stage:
            continue
        total_n, total_next = int(part["contacts"].sum()), int(part["reached_next"].sum())
        for r in part.itertuples():
            n, nxt = int(r.contacts), int(r.reached_next)
            rest_n, rest_next = total_n - n, total_next - nxt
            if n < min_contacts or rest_n < min_contacts:
                continue
            value, bench = nxt / n, rest_next / rest_n
            add(
                _row(
                    "conversion",
                    str(st),
                    None,
                    str(getattr(r, by)),
                    value,
                    bench,
                    n,
                    n * (bench - value),
                    "other groups",
                )
            )

    # time in stage: each group's median against the other groups' stays
    for r in _time_rows(eng, by, stage, min_contacts):
        add(r)

    # channels: open, click and reply rates per group against the other groups pooled
    # channels carry no stage: they serve every stage
    ch = channels(eng, by=by)
    for channel, part in ch.groupby("channel", sort=False):
        for kind, col in _RATES.items():
            total_sent = int(part["contacts_sent"].sum())
            total_hit = int(part[col].sum())
            for r in part.itertuples():
                n, hit = int(r.contacts_sent), int(getattr(r, col))
                rest_n, rest_hit = total_sent - n, total_hit - hit
                if n < min_contacts or rest_n < min_contacts or total_hit == 0:
                    continue
                value, bench = hit / n, rest_hit / rest_n
                add(
                    _row(
                        kind,
                        None,
                        str(channel),
                        str(getattr(r, by)),
                        value,
                        bench,
                        n,
                        n * (bench - value),
                        "other groups",
                    )
                )

    # lead sources: win rate of each source against the other sources pooled
    for r in _source_rows(eng, min_contacts):
        add(r)

    if not rows:
        return pd.DataFrame(columns=GAP_COLUMNS)
    out = pd.DataFrame(rows)
    out = out.sort_values(["missed", "shortfall"], ascending=[False, False], kind="stable")
    out["rank"] = range(1, len(out) + 1)
    return out.reset_index(drop=True)[GAP_COLUMNS]


def _time_rows(eng: Engine, by: str, stage: str | None, min_contacts: int) -> list[dict[str, Any]]:
    """Median days in each stage per group, against the other groups' stays (pooled)."""
    if not eng.has("stage_spells"):
        return []
    where = "AND s.stage = $stage" if stage is not None else ""
    stays = eng.query(
        f"""
        SELECT s.stage, coalesce(p.{by}, 'unassigned') AS grp,
               date_diff('second', s.entered_at, s.exited_at) / 86400.0 AS days
        FROM stage_spells s LEFT JOIN people p USING (contact_id)
        WHERE s.exited_at IS NOT NULL {where}
        """,
        {"stage": stage} if stage is not None else None,
    )
    out = []
    for st, part in stays.groupby("stage", sort=False):
        for grp, mine in part.groupby("grp", sort=True):
            rest = part[part["grp"] != grp]["days"]
            n = len(mine)
            if n < min_contacts or len(rest) < min_contacts:
                continue
            value, bench = float(mine["days"].median()), float(rest.median())
            above = float((mine["days"] > bench).mean())
            out.append(
                _row(
                    "time",
                    str(st),
                    None,
                    str(grp),
                    value,
                    bench,
                    n,
                    n * (above - 0.5),
                    "other groups",
                )
            )
    return out


def _source_rows(eng: Engine, min_contacts: int) -> list[dict[str, Any]]:
    from workbook.analytics.wins import lead_sources

    src = lead_sources(eng)
    if src.empty:
        return []
    decided = src["won"] + src["lost"]
    total_won, total_decided = int(src["won"].sum()), int(decided.sum())
    out = []
    for r, n in zip(src.itertuples(), decided, strict=True):
        n = int(n)
        rest_n, rest_won = total_decided - n, total_won - int(r.won)
        if n < min_contacts or rest_n < min_contacts:
            continue
        value, bench = int(r.won) / n, rest_won / rest_n
        out.append(
            _row(
                "source",
                None,
                str(r.lead_source),
                "all",
                value,
                bench,
                n,
                n * (bench - value),
                "other sources",
            )
        )
    return out


def drill(ws: EngineLike, component: str, by: str = "persona") -> pd.DataFrame:
    """Split one stage component of :func:`gaps` by what the data can split it by.

    Parameters
    ----------
    component
        A ``conversion:<stage>:<group>``, ``time:<stage>:<group>`` or
        ``open|click|reply:<channel>:<group>`` id from :func:`gaps` (the group may be left
        out: the whole population). A channel's rate is split as :func:`_drill_channel` says.
    by
        What the group in the id is (as given to :func:`gaps`).

    Returns
    -------
    DataFrame
        One row per (dimension, part), most contacts missed first. ``dimension`` is
        ``segment`` or ``persona`` (whichever is not ``by``), ``lead_source``, or
        ``touchpoint`` (the contacts who met the touchpoint while in the stage, and those who
        did not: ``part`` is ``"<touchpoint>"`` or ``"not <touchpoint>"``). ``value`` is the
        part's conversion to the next stage (or median days), ``benchmark`` the component's
        own value over all its contacts, ``shortfall`` and ``missed`` as in :func:`gaps`.
    """
    import pandas as pd

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by) or "persona"
    kind, _, rest = component.partition(":")
    stage, _, group = rest.partition(":")
    if kind in _RATES and stage:
        return _drill_channel(eng, kind, stage, group, by)
    if kind not in ("conversion", "time") or stage not in eng.stage_ids():
        from workbook.exceptions import AnalyticsError

        raise AnalyticsError(
            f"cannot drill into {component!r}",
            hint="give a conversion:<stage>:<group>, time:<stage>:<group> or "
            "open|click|reply:<channel>:<group> component from gaps(); lead sources have no "
            "finer split in the data",
        )
    ids = eng.stage_ids()
    nxt = ids[ids.index(stage) + 1] if ids.index(stage) + 1 < len(ids) else None
    who = f"AND coalesce(p.{by}, 'unassigned') = $group" if group else ""
    params: dict[str, Any] = {"stage": stage, "next": nxt}
    if group:
        params["group"] = group
    # one row per contact of the component: whether it went on (or its first finished stay's
    # days), its attributes, and the touchpoints it met while in the stage
    base = eng.query(
        f"""
        WITH mine AS (
            SELECT e.contact_id,
                   EXISTS (SELECT 1 FROM stage_entries n
                           WHERE n.contact_id = e.contact_id AND n.stage = $next) AS went_on
            FROM stage_entries e LEFT JOIN people p USING (contact_id)
            WHERE e.stage = $stage {who}
        ), stay AS (
            SELECT contact_id,
                   arg_min(date_diff('second', entered_at, exited_at) / 86400.0, seq) AS days
            FROM stage_spells WHERE stage = $stage AND exited_at IS NOT NULL GROUP BY contact_id
        )
        SELECT m.contact_id, m.went_on, s.days,
               coalesce(p.persona, 'unassigned') AS persona,
               coalesce(p.segment, 'unassigned') AS segment,
               coalesce(p.lead_source, 'unassigned') AS lead_source
        FROM mine m LEFT JOIN stay s USING (contact_id) LEFT JOIN people p USING (contact_id)
        """,
        params,
    )
    met = eng.query(
        """
        SELECT DISTINCT t.contact_id, t.touchpoint
        FROM events t
        WHERE t.kind = 'touch' AND t.stage = $stage AND t.touchpoint IS NOT NULL
        """,
        {"stage": stage},
    )
    if base.empty:
        return pd.DataFrame(columns=DRILL_COLUMNS)

    def measure(frame: pd.DataFrame) -> tuple[float, int]:
        if kind == "conversion":
            return float(frame["went_on"].mean()), len(frame)
        days = frame["days"].dropna()
        return (float(days.median()) if len(days) else float("nan")), len(days)

    bench, _n = measure(base)
    rows = []
    dims = [d for d in ("persona", "segment") if d != by] + ["lead_source"]
    parts: list[tuple[str, str, pd.DataFrame]] = [
        (dim, str(value), frame) for dim in dims for value, frame in base.groupby(dim, sort=True)
    ]
    for tp, contacts in met.groupby("touchpoint", sort=True):
        touched = base["contact_id"].isin(set(contacts["contact_id"]))
        parts.append(("touchpoint", str(tp), base[touched]))
        parts.append(("touchpoint", f"not {tp}", base[~touched]))
    for dim, part, frame in parts:
        value, n = measure(frame)
        if n == 0 or value != value:
            continue
        if kind == "conversion":
            shortfall, missed = bench - value, n * (bench - value)
        else:
            above = float((frame["days"].dropna() > bench).mean())
            shortfall, missed = value - bench, n * (above - 0.5)
        rows.append(
            {
                "dimension": dim,
                "part": part,
                "contacts": n,
                "value": value,
                "benchmark": bench,
                "shortfall": shortfall,
                "missed": max(missed, 0.0),
            }
        )
    out = pd.DataFrame(rows, columns=DRILL_COLUMNS)
    return out.sort_values(["missed", "shortfall"], ascending=False, kind="stable").reset_index(
        drop=True
    )


#: The statuses of an objective that misses its target (see :func:`workbook.analytics.kpis`).
_MISSES = ("better than baseline", "not better than baseline")


def gap_objective(ws: EngineLike, objective: str | None = None) -> dict[str, Any] | None:
    """The objective a gap analysis explains, and the stage its components are taken from.

    ``objective`` (an id, the consultant's choice) when given and known; else the first
    objective, in workspace order, whose measured value misses its target (its status in
    :func:`workbook.analytics.kpis` is "better than baseline" or "not better than
    baseline": measured, with a baseline and a target, and the target not met).

    Returns
    -------
    dict or None
        ``id``, ``title``, ``metric``, ``unit``, ``target``, ``current`` (float or None) and
        ``stage``: the first stage the metric names for a conversion or a time in stage
        (``conversion:<stage>:<next>``, ``median-days:<stage>``), else None (every stage).
        None when no objective is chosen and none misses its target.
    """
    from workbook.analytics.kpis import kpis
    from workbook.model import metric_stages

    eng = Engine.for_workspace(ws)
    frame = kpis(eng)
    rows = {str(r["id"]): r for r in frame[frame["kind"] == "objective"].to_dict("records")}
    chosen = None
    for o in eng.workspace.objectives:
        row = rows.get(o.id, {})
        if objective is not None:
            if o.id == objective:
                chosen = o
                break
        elif row.get("status") in _MISSES:
            chosen = o
            break
    if chosen is None:
        return None
    row = rows.get(chosen.id, {})
    current = row.get("current")
    metric = chosen.metric or ""
    stages = metric_stages(metric) if not metric.startswith("reach") else []
    return {
        "id": chosen.id,
        "title": chosen.title,
        "metric": metric,
        "unit": chosen.unit,
        "target": chosen.target,
        "current": None if current is None or current != current else float(current),
        "stage": stages[0] if stages else None,
    }


#: The actions that count for each channel rate (as :func:`workbook.analytics.channels`).
_HITS = {"open": ("open", "click", "reply"), "click": ("click",), "reply": ("reply",)}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _frequency(n: int) -> str:
    return (
        "1 message"
        if n == 1
        else ("2 messages" if n == 2 else "3-4 messages" if n <= 4 else "5 or more messages")
    )


def _drill_channel(eng: Engine, kind: str, channel: str, group: str, by: str) -> pd.DataFrame:
    """Split a channel's open (click, reply) rate of a group by what the events can split it by.

    The component's contacts are the group's contacts sent at least one message on the
    channel (a ``sent`` touch); its rate is the share of them with an open (a click or a
    reply counts as an open; for clicks only clicks, for replies only replies) on the channel,
    as :func:`workbook.analytics.channels` counts it. That rate is each part's ``benchmark``.

    - ``weekday`` and ``hour`` (UTC, in three-hour bands): the contacts sent a message on
      that day (in that band); a contact counts as opened when an open is attributed to one
      of those messages. Events carry no message id, so an open is attributed to the latest
      message sent to the contact on the channel at or before it.
    - ``frequency``: the contacts by how many messages they were sent on the channel (1, 2,
      3-4, 5 or more); opened as for the whole component.
    - ``subject``: for each variant of an A/B test run on the channel (exposures with an
      ``experiment`` and ``variant`` on the channel), the group's contacts shown it; a
      contact counts when it opened on the channel at or after its first exposure, or did
      the test's conversion (a non-exposure action of that variant). ``part`` is
      ``<experiment>:<variant>``.

    ``value`` is each part's rate, ``shortfall`` benchmark - value, ``missed`` the part's
    contacts x shortfall (never below 0).
    """
    import pandas as pd

    from workbook.crm.actions import EXPOSURE_ACTIONS

    hits = _HITS[kind]
    who = f"AND coalesce(p.{by}, 'unassigned') = $group" if group else ""
    params: dict[str, Any] = {"channel": channel}
    if group:
        params["group"] = group
    hit_list = ", ".join(f"'{a}'" for a in hits)
    # every send and every hit of the group's contacts on the channel, each hit tied to the
    # latest send at or before it (the send's own time; none when no send came before)
    events = eng.query(
        f"""
        WITH ev AS (
            SELECT e.contact_id, e.ts, e.seq, e.action
            FROM events e LEFT JOIN people p USING (contact_id)
            WHERE e.kind = 'touch' AND e.channel = $channel
              AND e.action IN ('sent', {hit_list}) {who}
        ), tied AS (
            SELECT contact_id, action, ts,
                   max(CASE WHEN action = 'sent' THEN ts END) OVER (
                       PARTITION BY contact_id ORDER BY ts, seq, action <> 'sent'
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS sent_at
            FROM ev
        )
        SELECT contact_id, action, ts, sent_at FROM tied
        """,
        params,
    )
    sends = events[events["action"] == "sent"]
    if sends.empty:
        return pd.DataFrame(columns=DRILL_COLUMNS)
    contacts = set(sends["contact_id"])
    hit_rows = events[(events["action"] != "sent") & events["contact_id"].isin(contacts)]
    opened = set(hit_rows["contact_id"])
    bench = len(opened) / len(contacts)
    parts: list[tuple[str, str, int, int]] = []  # dimension, part, contacts, hit
    sent_ts = pd.to_datetime(sends["ts"], utc=True)
    tied = hit_rows.dropna(subset=["sent_at"])
    tied_ts = pd.to_datetime(tied["sent_at"], utc=True)
    for dim, sent_key, tied_key in (
        ("weekday", sent_ts.dt.day_of_week, tied_ts.dt.day_of_week),
        ("hour", sent_ts.dt.hour // 3, tied_ts.dt.hour // 3),
    ):
        for key in sorted(set(sent_key)):
            n = sends.loc[sent_key == key, "contact_id"].nunique()
            hit = tied.loc[tied_key == key, "contact_id"].nunique()
            label = (
                _WEEKDAYS[int(key)]
                if dim == "weekday"
                else f"{int(key) * 3:02d}:00-{int(key) * 3 + 2:02d}:59 UTC"
            )
            parts.append((dim, label, n, hit))
    per_contact = sends.groupby("contact_id").size()
    freq = per_contact.map(_frequency)
    for label in ("1 message", "2 messages", "3-4 messages", "5 or more messages"):
        members = set(freq[freq == label].index)
        if members:
            parts.append(("frequency", label, len(members), len(members & opened)))
    parts += _subject_parts(eng, channel, hits, who, params, EXPOSURE_ACTIONS)
    rows = []
    for dim, part, n, hit in parts:
        if n == 0:
            continue
        value = hit / n
        rows.append(
            {
                "dimension": dim,
                "part": part,
                "contacts": n,
                "value": value,
                "benchmark": bench,
                "shortfall": bench - value,
                "missed": max(n * (bench - value), 0.0),
            }
        )
    out = pd.DataFrame(rows, columns=DRILL_COLUMNS)
    return out.sort_values(["missed", "shortfall"], ascending=False, kind="stable").reset_index(
        drop=True
    )


def _subject_parts(
    eng: Engine,
    channel: str,
    hits: tuple[str, ...],
    who: str,
    params: dict[str, Any],
    exposures: tuple[str, ...],
) -> list[tuple[str, str, int, int]]:
    """(``subject``, ``<experiment>:<variant>``, contacts shown it, contacts who opened or
    converted after) for each variant of an A/B test on the channel."""
    shown = ", ".join(f"'{a}'" for a in exposures)
    hit_list = ", ".join(f"'{a}'" for a in hits)
    frame = eng.query(
        f"""
        WITH seen AS (
            SELECT e.contact_id, e.experiment, e.variant, min(e.ts) AS first_seen
            FROM events e LEFT JOIN people p USING (contact_id)
            WHERE e.channel = $channel AND e.experiment IS NOT NULL AND e.variant IS NOT NULL
              AND coalesce(e.action, '') IN ({shown}) {who}
            GROUP BY ALL
        )
        SELECT s.experiment, s.variant, count(*) AS n,
               count(*) FILTER (
                   EXISTS (SELECT 1 FROM events h
                           WHERE h.contact_id = s.contact_id AND h.channel = $channel
                             AND h.kind = 'touch' AND h.action IN ({hit_list})
                             AND h.ts >= s.first_seen)
                   OR EXISTS (SELECT 1 FROM events c
                              WHERE c.contact_id = s.contact_id
                                AND c.experiment = s.experiment AND c.variant = s.variant
                                AND coalesce(c.action, '') NOT IN ({shown}))
               ) AS hit
        FROM seen s
        GROUP BY ALL
        ORDER BY s.experiment, s.variant
        """,
        params,
    )
    return [
        ("subject", f"{r.experiment}:{r.variant}", int(r.n), int(r.hit)) for r in frame.itertuples()
    ]
