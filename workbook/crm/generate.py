"""A seeded, realistic CRM history for a workspace, and writers for each export format.

:func:`generate` draws contacts for the workspace's personas and walks them through its
stages: per-persona drop-off at every step, some moves back to an earlier stage, dwell times
per stage, touches on the touchpoints that serve each stage (won contacts lean on different
touchpoints than the rest), email sends with opens, clicks and replies, deals with amounts,
currency and lost reasons, A/B exposures and conversions for the workspace's experiments,
and 1-10 ratings. Everything is vectorised with numpy, so a million contacts take seconds.

:func:`write_export` writes it the way a CRM would hand it over (HubSpot contacts, Salesforce
OpportunityHistory, Pipedrive deals, or a generic long event file), names, emails and phone
numbers included as real exports have them, so the privacy tests have something to find.
A text cell a spreadsheet would run as a formula (a phone number like ``+44 ...``, a name
starting with ``=``, ``-`` or ``@``) is written with a leading ``'``, as plain text.
The HubSpot, Salesforce and Pipedrive files call each stage by that CRM's standard name when
the stage takes one (its ``aliases``); a stage no standard name maps to keeps its own name, as
a custom stage would.

The same seed gives the same data, byte for byte.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbook.crm.canonical import CanonicalTables
from workbook.crm.stagemap import STANDARD_STAGES, export_names
from workbook.files import plain_table

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from workbook.model import Workspace

__all__ = [
    "FORMATS",
    "PART",
    "SampleCrm",
    "generate",
    "generate_parts",
    "write_export",
    "write_exports",
]

FORMATS = ("hubspot", "salesforce", "salesforce-roles", "pipedrive", "generic")

#: The generator's clock stops here, so no generated date lies in the future.
DEFAULT_END = dt.datetime(2025, 12, 31, 18, 0, tzinfo=dt.UTC)

_FIRST = [
    "Quillon",
    "Marisol",
    "Tevita",
    "Ysolde",
    "Bramwell",
    "Odalys",
    "Kasimir",
    "Lunetta",
    "Fenwick",
    "Zephyrine",
    "Oswin",
    "Ravenna",
    "Thaddeus",
    "Perpetua",
    "Ignatius",
    "Seraphine",
    "Lysander",
    "Henrietta",
    "Cosmo",
    "Wilhelmina",
    "Barnaby",
    "Clementine",
    "Evander",
    "Philippa",
]
_LAST = [
    "Ashdown-Vale",
    "Brackenbury",
    "Cholmondeley",
    "Dunsford",
    "Everleigh",
    "Fotheringham",
    "Grimsditch",
    "Hawksworth",
    "Inglethorpe",
    "Jessamine",
    "Kettleburgh",
    "Loxley-Finch",
    "Marchbanks",
    "Netherwood",
    "Ottershaw",
    "Pemberton-Quayle",
    "Quarrendon",
    "Rattenbury",
    "Scrivelsby",
    "Thistlewood",
    "Umberleigh",
    "Varnham",
    "Wetherall",
    "Yarborough",
]
_LEAD_SOURCES = [
    "Organic Search",
    "Paid Search",
    "Paid Social",
    "Email Marketing",
    "Referrals",
    "Direct Traffic",
    "Offline Sources",
    "Social Media",
]
_INDUSTRIES = [
    "Consumer",
    "Fitness studios",
    "Hospitality",
    "Healthcare",
    "Education",
    "Technology",
]
_SIZES = ["1", "2-10", "11-50", "51-200", "201-1000"]
_COUNTRIES = ["United Kingdom", "Ireland", "Netherlands", "Germany", "France"]
_LOST_REASONS = [
    "Price too high",
    "Chose a competitor",
    "No decision",
    "Timing not right",
    "Finance declined",
    "No space at home",
]
_ACTIONS = {
    "ads": "click",
    "web": "visit",
    "email": "sent",
    "social": "view",
    "app": "use",
    "chat": "chat",
    "whatsapp": "chat",
    "sms": "sent",
    "phone": "call",
    "store": "visit",
    "event": "attend",
    "face-to-face": "meeting",
    "post": "sent",
    "referral": "referral",
    "search": "click",
    "review-site": "review",
    "video": "call",
}
_FALLBACK_TOUCHPOINTS = [
    ("website", "web"),
    ("newsletter", "email"),
    ("paid-search", "search"),
    ("sales-call", "phone"),
    ("webinar", "event"),
    ("live-chat", "chat"),
]


@dataclass
class SampleCrm(CanonicalTables):
    """Generated canonical tables plus what real exports also carry.

    ``contact_id`` here is a stable pseudonym-shaped id; ``people`` maps it to the external
    CRM id and the personal data an export would contain (``ext_id``, ``first_name``,
    ``last_name``, ``email``, ``phone``, ``company``).
    """

    people: pa.Table
    stage_names: dict[str, str]
    touchpoint_names: dict[str, str]
    persona_names: dict[str, str]
    #: per export format, stage id -> the name that CRM uses (its standard names, by the
    #: stages' aliases: see :func:`workbook.crm.stagemap.export_names`)
    export_stage_names: dict[str, dict[str, str]] = field(default_factory=dict)

    def names_for(self, fmt: str) -> dict[str, str]:
        """Stage id -> the stage's name in a ``fmt`` export (the workspace's name if none)."""
        return self.export_stage_names.get(fmt) or self.stage_names


def _ws_parts(
    ws: Workspace,
) -> tuple[list[str], list[str], list[tuple[str, str, str, list[str]]], list[Any]]:
    stages = [s.id for s in ws.stages] or ["awareness", "consideration", "purchase"]
    names = [s.name for s in ws.stages] or [s.title() for s in stages]
    if ws.touchpoints:
        tps = [(t.id, t.name, t.channel, list(t.stages)) for t in ws.touchpoints]
    else:
        tps = [(i, i.replace("-", " ").title(), c, []) for i, c in _FALLBACK_TOUCHPOINTS]
    return stages, names, tps, list(ws.personas)


#: Contacts generated at a time: the history of any number of contacts is drawn in parts of
#: this many, so memory stays bounded whatever the size (`workbook demo-data`: about 1 GB).
PART = 100_000


def generate(
    ws: Workspace,
    contacts: int = 1000,
    seed: int = 0,
    *,
    end: dt.datetime = DEFAULT_END,
    span_days: int = 540,
    currency: str = "EUR",
    plant: bool = False,
) -> SampleCrm:
    """Generate a CRM history for the workspace's stages, touchpoints and personas.

    Parameters
    ----------
    ws
        The workspace whose stage, touchpoint, persona and experiment ids are used.
    contacts
        How many contacts (any size; some 6 to 8 events per contact).
    seed
        The same seed gives the same history.
    end
        No date after this one; contacts created near it are still in progress.
    span_days
        Contacts are created over this many days before ``end``.
    currency
        ISO code of deal amounts.
    plant
        Hide one weak component for the gap analysis to find: the first persona moves on
        from the first stage of the workspace's first conversion objective
        (``conversion:<stage>:<next>``) at 40% of its usual rate (:func:`planted`).

    The history is the parts of :func:`generate_parts` put together; for a large number of
    contacts, write the parts one by one instead (:func:`write_exports`).
    """
    import pyarrow as pa

    parts = list(
        generate_parts(
            ws, contacts, seed, end=end, span_days=span_days, currency=currency, plant=plant
        )
    )
    if len(parts) == 1:
        return parts[0]

    def joined(name: str) -> pa.Table:
        return pa.concat_tables([getattr(p, name) for p in parts]).combine_chunks()

    return SampleCrm(
        joined("contacts"),
        joined("events"),
        joined("deals"),
        people=joined("people"),
        stage_names=parts[0].stage_names,
        touchpoint_names=parts[0].touchpoint_names,
        persona_names=parts[0].persona_names,
        export_stage_names=parts[0].export_stage_names,
    )


def generate_parts(
    ws: Workspace,
    contacts: int = 1000,
    seed: int = 0,
    *,
    end: dt.datetime = DEFAULT_END,
    span_days: int = 540,
    currency: str = "EUR",
    part: int = PART,
    plant: bool = False,
) -> Iterator[SampleCrm]:
    """The history :func:`generate` returns, in parts of up to ``part`` contacts each
    (the same ``part`` gives the same history).

    The client's world (each step's conversion and each persona's lift on it, deal size,
    open rate and lead sources; which touchpoints each stage uses and which ones won contacts
    favour) is drawn once; each part draws its own contacts from ``seed`` and its number.
    Ids, e-mails and phone numbers run on across parts, so they never repeat.
    """
    world = _World.draw(ws, seed, plant=plant)
    # (no contacts: one empty part)
    for index, offset in enumerate(range(0, max(int(contacts), 1), part)):
        yield _generate_part(
            ws,
            world,
            min(part, int(contacts) - offset),
            seed,
            offset,
            index,
            end=end,
            span_days=span_days,
            currency=currency,
        )


@dataclass
class _World:
    """What every part of one generated history shares (see :func:`generate_parts`)."""

    step_rates: np.ndarray  # per stage but the last: the chance of moving on (_step_rates)
    lift: np.ndarray  # per persona: how much better than the base rate it converts
    amount_scale: np.ndarray  # per persona: the typical deal amount
    open_rate: np.ndarray  # per persona: how often an e-mail is opened
    lead_sources: np.ndarray  # per persona: the chances of each lead source
    favoured: np.ndarray  # per touchpoint: whether won contacts lean on it
    stage_weights: list[np.ndarray]  # per stage: the chances of each of its touchpoints
    weak: np.ndarray | None = None  # per persona and step: a factor on the chance (plant)

    @classmethod
    def draw(cls, ws: Workspace, seed: int, *, plant: bool = False) -> _World:
        import numpy as np

        rng = np.random.default_rng(seed)
        stages, _, tps, personas = _ws_parts(ws)
        n_p, n_tp = max(len(personas), 1), len(tps)
        return cls(
            step_rates=_step_rates(ws, stages),
            lift=0.75 + 0.5 * rng.random(n_p),
            amount_scale=800 + 1600 * rng.random(n_p),
            open_rate=0.22 + 0.2 * rng.random(n_p),
            lead_sources=rng.dirichlet(np.ones(len(_LEAD_SOURCES)) * 2, size=n_p),
            favoured=rng.random(n_tp) < 0.35,
            stage_weights=[
                rng.dirichlet(np.ones(len(_stage_touchpoints(stage, tps)))) for stage in stages
            ],
            weak=_weak(ws, stages, n_p) if plant else None,
        )


#: How much of its usual chance of moving on the planted weak component keeps.
PLANTED_FACTOR = 0.4


def planted(ws: Workspace) -> tuple[str, str] | None:
    """The component :func:`generate` hides with ``plant=True``: (persona id, stage id).

    The first persona, at the first stage of the workspace's first objective (or KPI) whose
    metric is ``conversion:<stage>:<the next stage>``; None when there is no such metric.
    """
    stages, _, _, personas = _ws_parts(ws)
    if not personas:
        return None
    metrics = [o.metric for o in ws.objectives] + [k.metric for k in ws.measurement.kpis]
    for metric in metrics:
        parts = (metric or "").split(":")
        if len(parts) == 3 and parts[0] == "conversion" and parts[1] in stages:
            i = stages.index(parts[1])
            if i + 1 < len(stages) and stages[i + 1] == parts[2]:
                return str(personas[0].id), parts[1]
    return None


def _weak(ws: Workspace, stages: list[str], n_p: int) -> np.ndarray:
    import numpy as np

    weak = np.ones((n_p, max(len(stages) - 1, 0)))
    found = planted(ws)
    if found is not None:
        weak[0, stages.index(found[1])] = PLANTED_FACTOR
    return weak


def _step_rates(ws: Workspace, stages: list[str]) -> np.ndarray:
    """The chance of moving on from each stage to the next, before each persona's lift.

    Where one of the workspace's objectives gives the baseline of a step's conversion (a
    metric ``conversion:<stage>:<next stage>`` in %), the history starts from it, so the
    client's numbers in the data look like the ones the client gave; otherwise each step
    keeps a little fewer than the one before.
    """
    import numpy as np

    rates: np.ndarray = np.clip(0.62 - 0.06 * np.arange(max(len(stages) - 1, 1)), 0.2, 0.9)
    for objective in ws.objectives:
        kind, *pair = (objective.metric or "").split(":")
        if kind != "conversion" or len(pair) != 2 or objective.baseline is None:
            continue
        if objective.unit.strip() != "%" or not all(p in stages for p in pair):
            continue
        step = stages.index(pair[0])
        if stages.index(pair[1]) == step + 1:
            rates[step] = min(max(objective.baseline / 100, 0.01), 0.95)
    return rates


def _stage_touchpoints(stage: str, tps: list[tuple[str, str, str, list[str]]]) -> list[int]:
    """The touchpoints (their places in ``tps``) that serve ``stage``; all of them if none."""
    return [i for i, t in enumerate(tps) if stage in t[3]] or list(range(len(tps)))


def _generate_part(
    ws: Workspace,
    world: _World,
    contacts: int,
    seed: int,
    offset: int,
    index: int,
    *,
    end: dt.datetime,
    span_days: int,
    currency: str,
) -> SampleCrm:
    """Part ``index`` of the history: ``contacts`` contacts, the first numbered ``offset``."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng([seed, 1 + index])
    n = int(contacts)
    stages, stage_names, tps, personas = _ws_parts(ws)
    k = len(stages)
    n_p = max(len(personas), 1)
    end_us = int(end.timestamp() * 1e6)
    day = 86_400 * 1_000_000

    # -- contacts
    p_weights = np.array([0.45, 0.35, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1][:n_p] + [0.1] * max(0, n_p - 8))
    persona_idx = rng.choice(n_p, size=n, p=p_weights / p_weights.sum())
    created = end_us - (rng.random(n) * span_days * day).astype(np.int64)

    # -- stage walk: drop-off per step differs by persona
    lifted = world.step_rates[None, :] * world.lift[:, None]
    if world.weak is not None:
        lifted = lifted * world.weak
    conv = np.clip(lifted, 0.01, 0.95)
    steps = rng.random((n, max(k - 1, 1))) < conv[persona_idx]
    furthest = np.cumprod(steps, axis=1).sum(axis=1) if k > 1 else np.zeros(n, dtype=np.int64)
    back = (furthest >= 2) & (rng.random(n) < 0.1)
    b = np.where(back, rng.integers(1, np.maximum(furthest, 2)), 0)
    n_spells = furthest + 1 + 2 * back
    cidx = np.repeat(np.arange(n), n_spells)
    start = np.cumsum(n_spells) - n_spells
    j = np.arange(cidx.size) - start[cidx]
    bb = b[cidx]
    stage_of = np.where(back[cidx], np.where(j <= bb, j, np.where(j == bb + 1, bb - 1, j - 2)), j)
    median_days = np.array(
        [5, 14, 10, 150, 240, 200, 200, 200, 200, 200][:k] + [60] * max(0, k - 10), float
    )
    dwell = (rng.lognormal(0.0, 0.8, cidx.size) * median_days[stage_of] * day).astype(np.int64)
    dwell = np.maximum(dwell, 3_600_000_000)
    csum = np.cumsum(dwell)
    prev = csum - dwell
    entered = created[cidx] + (prev - prev[start[cidx]])
    keep = entered <= end_us
    cidx, stage_of, entered, dwell = cidx[keep], stage_of[keep], entered[keep], dwell[keep]

    # -- deals: created on entering the stage before "purchase", won on reaching it
    ds = next((i for i, s in enumerate(stages) if "purchase" in s), max(k // 2, 1))
    ds = min(max(ds, 1), k - 1) if k > 1 else 0
    inf = np.iinfo(np.int64).max
    first_pre = np.full(n, inf)
    first_ds = np.full(n, inf)
    m = stage_of == ds - 1
    np.minimum.at(first_pre, cidx[m], entered[m])
    m = stage_of == ds
    np.minimum.at(first_ds, cidx[m], entered[m])
    exit_pre = np.full(n, inf)
    m = stage_of == ds - 1
    np.minimum.at(exit_pre, cidx[m], entered[m] + dwell[m])
    has_deal = (first_pre < inf) & (rng.random(n) < 0.85)
    won = has_deal & (first_ds < inf)
    lost = has_deal & ~won & (exit_pre <= end_us)
    deal_open = has_deal & ~won & ~lost
    deal_created = np.where(has_deal, first_pre + (rng.random(n) * day).astype(np.int64), 0)
    deal_created = np.minimum(deal_created, end_us)
    closed = np.where(
        won,
        np.maximum(first_ds, deal_created),
        np.where(lost, np.maximum(exit_pre, deal_created), 0),
    )
    deal_created, closed = deal_created - deal_created % 1_000_000, closed - closed % 1_000_000
    amount_scale = world.amount_scale
    amount = np.round(rng.lognormal(0, 0.35, n) * amount_scale[persona_idx], 2)

    # -- touches per spell; won contacts lean on a different set of touchpoints
    tp_channel = [t[2] for t in tps]
    lam = np.where(won[cidx], 2.2, 1.4)
    n_touch = rng.poisson(lam)
    t_spell = np.repeat(np.arange(cidx.size), n_touch)
    t_c = cidx[t_spell]
    t_stage = stage_of[t_spell]
    t_ts = entered[t_spell] + (
        rng.random(t_spell.size) * np.minimum(dwell[t_spell], 20 * day)
    ).astype(np.int64)
    t_tp = np.zeros(t_spell.size, dtype=np.int64)
    favoured = world.favoured
    for s in range(k):
        cand = _stage_touchpoints(stages[s], tps)
        cand_arr = np.array(cand)
        w = world.stage_weights[s]
        w_won = w * np.where(favoured[cand_arr], 3.0, 1.0)
        for is_won, weights in ((False, w), (True, w_won)):
            sel = (t_stage == s) & (won[t_c] == is_won)
            t_tp[sel] = cand_arr[
                rng.choice(len(cand), size=int(sel.sum()), p=weights / weights.sum())
            ]
    keep = t_ts <= end_us
    t_c, t_stage, t_ts, t_tp = t_c[keep], t_stage[keep], t_ts[keep], t_tp[keep]
    t_action = np.array([_ACTIONS.get(c, "interaction") for c in tp_channel], dtype=object)[t_tp]

    # -- email: opens, clicks and replies after each send
    is_mail = t_action == "sent"
    open_rate = world.open_rate
    opened = is_mail & (rng.random(t_c.size) < open_rate[persona_idx[t_c]])
    clicked = opened & (rng.random(t_c.size) < 0.3)
    replied = opened & (rng.random(t_c.size) < 0.06)
    extra = []
    for mask, action, hours in ((opened, "open", 6), (clicked, "click", 8), (replied, "reply", 30)):
        idx = np.flatnonzero(mask)
        ts = (
            t_ts[idx]
            + (rng.exponential(hours, idx.size) * 3_600_000_000).astype(np.int64)
            + 60_000_000
        )
        ok = ts <= end_us  # the clock stops at ``end``: what would come later has not happened
        idx, ts = idx[ok], ts[ok]
        extra.append(
            (t_c[idx], t_stage[idx], ts, t_tp[idx], np.full(idx.size, action, dtype=object))
        )

    # -- experiments: exposures and conversions per variant
    exp_rows = []
    experiments = [e for e in ws.measurement.experiments if len(e.variants) >= 2]
    tp_index = {t[0]: i for i, t in enumerate(tps)}
    for e in experiments:
        exposed = np.flatnonzero(rng.random(n) < 0.3)
        variant = rng.integers(0, len(e.variants), exposed.size)
        ts = created[exposed] + (rng.random(exposed.size) * 3 * day).astype(np.int64)
        rate = 0.15 + 0.04 * variant
        conv_mask = rng.random(exposed.size) < rate
        tp = tp_index.get(e.touchpoint or "", -1)
        vids = np.array([v.id for v in e.variants], dtype=object)
        for sel, action, delay in (
            (np.ones(exposed.size, bool), "exposed", 0),
            (conv_mask, "convert", day),
        ):
            tsx = ts[sel] + delay
            ok = tsx <= end_us
            exp_rows.append((exposed[sel][ok], tsx[ok], tp, e.id, vids[variant[sel][ok]], action))

    # -- ratings (anecdotal data): won contacts rate higher
    rated = np.flatnonzero((furthest >= 1) & (rng.random(n) < 0.15))
    r_val = np.clip(np.round(rng.normal(np.where(won[rated], 8.2, 5.6), 1.4)), 1, 10)
    r_ts = np.minimum(created[rated] + (rng.random(rated.size) * 60 * day).astype(np.int64), end_us)
    r_action = np.where(rng.random(rated.size) < 0.2, "interview", "survey").astype(object)

    # -- assemble events
    stage_arr = np.array(stages, dtype=object)
    tp_ids = np.array([t[0] for t in tps] + [None], dtype=object)
    tp_ch = np.array(tp_channel + [None], dtype=object)
    parts: list[dict[str, Any]] = []
    parts.append({"c": cidx, "ts": entered, "kind": "stage", "stage": stage_arr[stage_of]})
    parts.append(
        {
            "c": t_c,
            "ts": t_ts,
            "kind": "touch",
            "stage": stage_arr[t_stage],
            "tp": t_tp,
            "action": t_action,
        }
    )
    for c, st, ts, tp_arr, acts in extra:
        parts.append(
            {
                "c": c,
                "ts": ts,
                "kind": "touch",
                "stage": stage_arr[st],
                "tp": tp_arr,
                "action": acts,
            }
        )
    for c, ts, tp_id, eid, var, action in exp_rows:
        parts.append(
            {
                "c": c,
                "ts": ts,
                "kind": "touch",
                "tp": np.full(c.size, tp_id),
                "action": action,
                "experiment": eid,
                "variant": var,
            }
        )
    d_idx = np.flatnonzero(has_deal)
    deal_ids = (
        np.array([f"D{seed % 1000:03d}{i:08d}" for i in range(offset, offset + n)], dtype=object)
        if d_idx.size
        else None
    )
    parts.append(
        {
            "c": d_idx,
            "ts": deal_created[d_idx],
            "kind": "deal",
            "stage": stage_arr[max(ds - 1, 0)],
            "action": "created",
            "deal": d_idx,
            "value": amount[d_idx],
        }
    )
    for mask, action, st in ((won, "won", ds), (lost, "lost", max(ds - 1, 0))):
        idx = np.flatnonzero(mask)
        parts.append(
            {
                "c": idx,
                "ts": closed[idx],
                "kind": "deal",
                "stage": stage_arr[st],
                "action": action,
                "deal": idx,
                "value": amount[idx],
            }
        )
    parts.append({"c": rated, "ts": r_ts, "kind": "rating", "action": r_action, "value": r_val})

    def col(key: str, default: Any, dtype: Any = object) -> np.ndarray:
        out = []
        for p in parts:
            size = p["c"].size
            v = p.get(key, default)
            out.append(
                np.asarray(v, dtype=dtype)
                if isinstance(v, np.ndarray)
                else np.full(size, v, dtype=dtype)
            )
        return np.concatenate(out)

    ec = col("c", 0, np.int64)
    ets = col("ts", 0, np.int64)
    order = np.lexsort((ets, ec))
    ec, ets = ec[order], ets[order]
    ets = ets - ets % 1_000_000  # exports carry whole seconds
    tp_col = col("tp", -1, np.int64)[order]
    deal_col = col("deal", -1, np.int64)[order]
    contact_ids = np.array(
        [
            f"c{(i * 0x9E3779B97F4A7C15 + seed * 0x632BE59BD9B4E019) % (1 << 64):016x}"
            for i in range(offset, offset + n)
        ],
        dtype=object,
    )
    seq = np.arange(ec.size) - np.repeat(
        np.cumsum(np.bincount(ec, minlength=n)) - np.bincount(ec, minlength=n),
        np.bincount(ec, minlength=n),
    )
    ts_type = pa.timestamp("us", tz="UTC")
    events = pa.table(
        {
            "contact_id": pa.array(contact_ids[ec], pa.string()),
            "ts": pa.array(ets, pa.int64()).cast(ts_type),
            "seq": pa.array(seq.astype(np.int32)),
            "kind": pa.array(col("kind", None)[order], pa.string()),
            "stage": pa.array(col("stage", None)[order], pa.string()),
            "touchpoint": pa.array(tp_ids[tp_col], pa.string()),
            "channel": pa.array(tp_ch[tp_col], pa.string()),
            "action": pa.array(col("action", None)[order], pa.string()),
            "deal_id": pa.array(
                np.where(deal_col >= 0, deal_ids[deal_col] if deal_ids is not None else None, None),
                pa.string(),
            ),
            "experiment": pa.array(col("experiment", None)[order], pa.string()),
            "variant": pa.array(col("variant", None)[order], pa.string()),
            "value": pa.array(col("value", np.nan, float)[order], pa.float64(), from_pandas=True),
        }
    )

    # -- contacts and people
    pers = personas or [None]
    persona_ids = np.array([p.id if p else None for p in pers], dtype=object)
    icps = np.array([p.icp if p else None for p in pers], dtype=object)
    segs = np.array(
        [(p.segments[0] if p.segments else None) if p else None for p in pers], dtype=object
    )
    src_p = world.lead_sources
    u = rng.random(n)
    lead = (u[:, None] > np.cumsum(src_p[persona_idx], axis=1)).sum(axis=1)
    lead = np.minimum(lead, len(_LEAD_SOURCES) - 1)
    lead_source = np.array(_LEAD_SOURCES, dtype=object)[lead]
    lead_source[rng.random(n) < 0.005] = None
    contacts_tbl = pa.table(
        {
            "contact_id": pa.array(contact_ids, pa.string()),
            "persona": pa.array(persona_ids[persona_idx], pa.string()),
            "segment": pa.array(segs[persona_idx], pa.string()),
            "icp": pa.array(icps[persona_idx], pa.string()),
            "lead_source": pa.array(lead_source, pa.string()),
            "industry": pa.array(
                np.array(_INDUSTRIES, dtype=object)[rng.integers(0, len(_INDUSTRIES), n)],
                pa.string(),
            ),
            "company_size": pa.array(
                np.array(_SIZES, dtype=object)[rng.integers(0, len(_SIZES), n)], pa.string()
            ),
            "country": pa.array(
                np.array(_COUNTRIES, dtype=object)[
                    rng.choice(len(_COUNTRIES), n, p=[0.8, 0.06, 0.05, 0.05, 0.04])
                ],
                pa.string(),
            ),
            "created_at": pa.array(created - created % 1_000_000, pa.int64()).cast(ts_type),
        }
    )
    first = np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
    last = np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), n)]
    people = pa.table(
        {
            "contact_id": pa.array(contact_ids, pa.string()),
            "ext_id": pa.array(
                [str(5_000_000 + i) for i in range(offset, offset + n)], pa.string()
            ),
            "first_name": pa.array(first, pa.string()),
            "last_name": pa.array(last, pa.string()),
            "email": pa.array(
                [
                    f"{f.lower()}.{ln.lower()}.{i}@mail.example.org"
                    for i, (f, ln) in enumerate(zip(first, last, strict=True), start=offset)
                ],
                pa.string(),
            ),
            "phone": pa.array(
                [
                    f"+44 7700 {900000 + i % 100000:06d}"
                    if i % 7
                    else f"07700 {900000 + i % 100000:06d}"
                    for i in range(offset, offset + n)
                ],
                pa.string(),
            ),
            "company": pa.array([f"{ln} Holdings" for ln in last], pa.string()),
        }
    )
    reasons = np.array(_LOST_REASONS, dtype=object)[rng.integers(0, len(_LOST_REASONS), n)]
    deals = pa.table(
        {
            "deal_id": pa.array(deal_ids[d_idx] if deal_ids is not None else [], pa.string()),
            "contact_id": pa.array(contact_ids[d_idx], pa.string()),
            "amount": pa.array(amount[d_idx]),
            "currency": pa.array([currency] * d_idx.size, pa.string()),
            "created_at": pa.array(deal_created[d_idx], pa.int64()).cast(ts_type),
            "closed_at": pa.array(closed[d_idx], pa.int64(), mask=deal_open[d_idx]).cast(ts_type),
            "outcome": pa.array(
                np.where(won[d_idx], "won", np.where(lost[d_idx], "lost", "open")), pa.string()
            ),
            "lost_reason": pa.array(reasons[d_idx], pa.string(), mask=~lost[d_idx]),
            "stage": pa.array(stage_arr[np.where(won[d_idx], ds, max(ds - 1, 0))], pa.string()),
        }
    )
    base_tables = CanonicalTables.of(contacts_tbl, events, deals)
    return SampleCrm(
        base_tables.contacts,
        base_tables.events,
        base_tables.deals,
        people=people,
        stage_names=dict(zip(stages, stage_names, strict=True)),
        touchpoint_names={t[0]: t[1] for t in tps},
        persona_names={p.id: p.name for p in personas},
        export_stage_names={f: export_names(ws, f) for f in STANDARD_STAGES},
    )


# ---------------------------------------------------------------------------- writers


def _fmt(col: pa.ChunkedArray | pa.Array, fmt: str) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    # whole seconds: pyarrow prints fractions for microsecond timestamps
    return pc.strftime(col.cast(pa.timestamp("s", tz="UTC"), safe=False), format=fmt, locale="C")


def write_export(
    sample: SampleCrm,
    fmt: str,
    out_dir: str | Path,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    newline: str = "\n",
    filename: str | None = None,
) -> Path:
    """Write the sample as one CRM export file and return its path.

    Parameters
    ----------
    sample
        From :func:`generate`.
    fmt
        ``hubspot``, ``salesforce``, ``pipedrive`` or ``generic``.
    out_dir
        Folder to write into (created if needed).
    encoding, delimiter, newline
        How the file is encoded: ``utf-8``, ``utf-8-sig`` (with BOM) or ``cp1252``; ``,``,
        ``;`` or tab; ``\\n`` or ``\\r\\n``.
    filename
        Defaults to a name like the CRM's own (``hubspot-contacts.csv``).
    """
    paths = write_exports(
        [sample],
        [fmt],
        out_dir,
        encoding=encoding,
        delimiter=delimiter,
        newline=newline,
        filenames={fmt: filename} if filename else None,
    )
    return paths[fmt]


def write_exports(
    parts: Iterable[SampleCrm],
    formats: Sequence[str],
    out_dir: str | Path,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    newline: str = "\n",
    filenames: Mapping[str, str] | None = None,
) -> dict[str, Path]:
    """Write a history given in parts (:func:`generate_parts`) as one export file per format.

    Each part is written as it comes and then dropped, so a history of any size takes the
    memory of one part. Each file is written under a temporary name and renamed when whole.
    Returns the path of each format's file. Options as for :func:`write_export`.
    """
    writers = {
        "hubspot": _hubspot,
        "salesforce": _salesforce,
        "salesforce-roles": _salesforce_roles,
        "pipedrive": _pipedrive,
        "generic": _generic,
    }
    formats = list(dict.fromkeys(formats))  # each file once
    for fmt in formats:
        if fmt not in writers:
            raise ValueError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    # running numbers across parts: each file's rows, and the deals (which Salesforce and
    # Pipedrive number in the file)
    rows = dict.fromkeys(formats, 0)
    deals = 0
    try:
        for sample in parts:
            for fmt in formats:
                table, default_name = writers[fmt](sample, _Numbering(rows[fmt], deals))
                if fmt not in paths:
                    paths[fmt] = out / ((filenames or {}).get(fmt) or default_name)
                _write_csv(
                    table,
                    _partial(paths[fmt]),
                    encoding=encoding,
                    delimiter=delimiter,
                    newline=newline,
                    append=rows[fmt] > 0,
                )
                rows[fmt] += table.num_rows
            deals += sample.deals.num_rows
        for path in paths.values():
            _partial(path).replace(path)
    finally:
        for path in paths.values():
            _partial(path).unlink(missing_ok=True)
    return paths


@dataclass(frozen=True)
class _Numbering:
    """Where a part's numbers start in its file: its first row, and its first deal."""

    row: int = 0
    deal: int = 0


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _write_csv(
    table: pa.Table, path: Path, *, encoding: str, delimiter: str, newline: str, append: bool
) -> None:
    """Write ``table`` to ``path``, or add its rows (without the header) when ``append``.

    A text cell (or header) a spreadsheet would run as a formula is written as plain text
    (:func:`workbook.files.plain_table`): these files are made to be opened and looked at.
    """
    import pyarrow.csv as pcsv

    table = plain_table(table)
    if encoding == "utf-8" and newline == "\n":
        with path.open("ab" if append else "wb") as fh:
            pcsv.write_csv(
                table,
                fh,
                write_options=pcsv.WriteOptions(
                    delimiter=delimiter, quoting_style="needed", include_header=not append
                ),
            )
    else:
        frame = table.to_pandas()
        frame.to_csv(
            path,
            index=False,
            sep=delimiter,
            # the byte order mark opens the file, once
            encoding="utf-8" if append and encoding == "utf-8-sig" else encoding,
            lineterminator=newline,
            mode="a" if append else "w",
            header=not append,
        )


def _by_contact(sample: SampleCrm) -> pa.Table:
    return sample.contacts.join(sample.people, "contact_id")


def _hubspot(sample: SampleCrm, at: _Numbering) -> tuple[pa.Table, str]:
    """One row per contact; a "Became a ... Date" column per stage (custom lifecycle stages)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    people = _by_contact(sample).sort_by("ext_id")
    ev = sample.events.filter(pc.equal(sample.events["kind"], "stage"))
    firsts = ev.group_by(["contact_id", "stage"]).aggregate([("ts", "min")])
    last_stage = ev.group_by("contact_id", use_threads=False).aggregate([("stage", "last")])
    cols: dict[str, Any] = {
        "Record ID": people["ext_id"],
        "First Name": people["first_name"],
        "Last Name": people["last_name"],
        "Email": people["email"],
        "Phone Number": people["phone"],
        "Company Name": people["company"],
    }
    ls = people.select(["contact_id"]).join(last_stage, "contact_id", join_type="left outer")
    ls = (
        people.select(["contact_id"])
        .append_column("_o", pa.array(range(people.num_rows)))
        .join(ls, "contact_id")
        .sort_by("_o")
    )
    names = sample.names_for("hubspot")
    cols["Lifecycle Stage"] = pc.fill_null(_map(ls["stage_last"], names), "")
    for stage_id, name in names.items():
        f = firsts.filter(pc.equal(firsts["stage"], stage_id)).select(["contact_id", "ts_min"])
        joined = (
            people.select(["contact_id"])
            .append_column("_o", pa.array(range(people.num_rows)))
            .join(f, "contact_id", join_type="left outer")
            .sort_by("_o")
        )
        article = "an" if name[:1].lower() in "aeiou" else "a"
        cols[f"Became {article} {name} Date"] = pc.fill_null(
            _fmt(joined["ts_min"], "%Y-%m-%d %H:%M"), ""
        )
    cols["Original Source"] = pc.fill_null(_map(people["lead_source"], _HUBSPOT_SOURCES), "")
    cols["Persona"] = pc.fill_null(_map(people["persona"], sample.persona_names), "")
    cols["Industry"] = people["industry"]
    cols["Number of Employees"] = people["company_size"]
    cols["Country/Region"] = people["country"]
    cols["Create Date"] = _fmt(people["created_at"], "%Y-%m-%d %H:%M")
    return pa.table(cols), "hubspot-contacts.csv"


_HUBSPOT_SOURCES = {
    "Organic Search": "Organic Search",
    "Paid Search": "Paid Search",
    "Paid Social": "Paid Social",
    "Email Marketing": "Email Marketing",
    "Referrals": "Referrals",
    "Direct Traffic": "Direct Traffic",
    "Offline Sources": "Offline Sources",
    "Social Media": "Organic Social",
}


def _map(arr: Any, mapping: dict[str, str]) -> pa.Array:
    import pyarrow as pa

    values = arr.to_pylist() if hasattr(arr, "to_pylist") else list(arr)
    return pa.array([mapping.get(v, v) if v is not None else None for v in values], pa.string())


def _salesforce(sample: SampleCrm, at: _Numbering) -> tuple[pa.Table, str]:
    """OpportunityHistory as Data Loader writes it: one row per stage change of a deal.

    The history of an opportunity starts when it is created; moves back to an earlier stage
    appear as they happened; a closed deal ends with a "Closed Won" or "Closed Lost" row.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    deals = sample.deals.join(
        sample.people.select(["contact_id", "first_name", "last_name", "company"]), "contact_id"
    )
    deals = deals.sort_by("deal_id")
    deal_of = {c: i for i, c in enumerate(deals["contact_id"].to_pylist())}
    ev = sample.events.filter(pc.equal(sample.events["kind"], "stage"))
    didx = np.array([deal_of.get(c, -1) for c in ev["contact_id"].to_pylist()], dtype=np.int64)
    ts = _us(ev["ts"])
    created = _us(deals["created_at"])
    closed_us = _us(deals["closed_at"])
    ok = didx >= 0
    ok[ok] = ts[ok] >= created[didx[ok]] - 86_400_000_000
    # an opportunity's history ends when it closes
    ok[ok] &= (closed_us[didx[ok]] == 0) | (ts[ok] < closed_us[didx[ok]])
    stage_rows = _map(ev.filter(pa.array(ok))["stage"], sample.names_for("salesforce")).to_numpy(
        zero_copy_only=False
    )
    outcome = deals["outcome"].to_numpy(zero_copy_only=False)
    closed_idx = np.flatnonzero(outcome != "open")
    d = np.concatenate([didx[ok], closed_idx])
    t = np.concatenate([ts[ok], _us(deals["closed_at"])[closed_idx]])
    st = np.concatenate(
        [
            stage_rows,
            np.where(outcome[closed_idx] == "won", "Closed Won", "Closed Lost").astype(object),
        ]
    )
    order = np.lexsort((t, d))
    d, t, st = d[order], t[order], st[order]
    tsv = pa.array(t, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    names = np.array(
        [
            f"{c} - {f} {ln}"
            for f, ln, c in zip(
                deals["first_name"].to_pylist(),
                deals["last_name"].to_pylist(),
                deals["company"].to_pylist(),
                strict=True,
            )
        ],
        dtype=object,
    )
    reps = np.array(
        ["Ottoline Fairweather", "Caspian Threlkeld", "Marguerite Oakenshaw"], dtype=object
    )
    prob = np.where(st == "Closed Won", 100, np.where(st == "Closed Lost", 0, 50))
    table = pa.table(
        {
            "Id": pa.array([f"008{at.row + i:015d}" for i in range(d.size)], pa.string()),
            "OpportunityId": pa.array([f"006{at.deal + i:015d}" for i in d], pa.string()),
            "Opportunity.Name": pa.array(names[d], pa.string()),
            "CreatedBy.Name": pa.array(reps[d % 3], pa.string()),
            "CreatedDate": _fmt(tsv, "%Y-%m-%dT%H:%M:%S.000Z"),
            "StageName": pa.array(st, pa.string()),
            "Amount": pa.array(np.round(deals["amount"].to_numpy()[d], 2)),
            "CurrencyIsoCode": pa.array(
                deals["currency"].to_numpy(zero_copy_only=False)[d], pa.string()
            ),
            "Probability": pa.array(prob),
            "CloseDate": _fmt(tsv, "%Y-%m-%d"),
            "IsDeleted": pa.array(["false"] * d.size, pa.string()),
        }
    )
    return table, "OpportunityHistory.csv"


def _us(col: Any) -> np.ndarray:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    return np.asarray(pc.fill_null(col.cast(pa.int64()), 0).to_numpy())


def _salesforce_roles(sample: SampleCrm, at: _Numbering) -> tuple[pa.Table, str]:
    """OpportunityContactRole as Data Loader writes it (with ``Contact.Email`` from the
    relationship query): one row per opportunity, its person as the primary contact.

    ``OpportunityId`` numbers the opportunities as the OpportunityHistory export does, and
    ``ContactId`` is the person's Salesforce id, so the two exports link each opportunity to
    its person, and the e-mail links the person with the other exports.
    """
    import pyarrow as pa

    deals = sample.deals.join(sample.people.select(["contact_id", "ext_id", "email"]), "contact_id")
    deals = deals.sort_by("deal_id")
    n = deals.num_rows
    return (
        pa.table(
            {
                "Id": pa.array([f"00K{at.deal + i:015d}" for i in range(n)], pa.string()),
                "OpportunityId": pa.array(
                    [f"006{at.deal + i:015d}" for i in range(n)], pa.string()
                ),
                "ContactId": pa.array(
                    [f"003{int(x):015d}" for x in deals["ext_id"].to_pylist()], pa.string()
                ),
                "Contact.Email": deals["email"],
                "Role": pa.array(["Decision Maker"] * n, pa.string()),
                "IsPrimary": pa.array(["true"] * n, pa.string()),
                "CreatedDate": _fmt(deals["created_at"], "%Y-%m-%dT%H:%M:%S.000Z"),
                "IsDeleted": pa.array(["false"] * n, pa.string()),
            }
        ),
        "OpportunityContactRole.csv",
    )


def _pipedrive(sample: SampleCrm, at: _Numbering) -> tuple[pa.Table, str]:
    """Pipedrive's deals export: one row per deal, "Deal - ..." and "Person - ..." columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    deals = sample.deals.join(sample.people, "contact_id").join(
        sample.contacts.select(["contact_id", "lead_source"]), "contact_id"
    )
    deals = deals.sort_by("deal_id")
    status = deals["outcome"]
    fmt = "%Y-%m-%d %H:%M:%S"
    won_t = pc.if_else(pc.equal(status, "won"), _fmt(deals["closed_at"], fmt), "")
    lost_t = pc.if_else(pc.equal(status, "lost"), _fmt(deals["closed_at"], fmt), "")
    names = pc.binary_join_element_wise(deals["first_name"], deals["last_name"], " ")
    table = pa.table(
        {
            "Deal - ID": pa.array(range(at.deal + 1, at.deal + deals.num_rows + 1)).cast(
                pa.string()
            ),
            "Deal - Title": pc.binary_join_element_wise(deals["company"], "deal", " "),
            "Deal - Value": deals["amount"],
            "Deal - Currency": deals["currency"],
            "Deal - Pipeline": pa.array(["Sales pipeline"] * deals.num_rows),
            "Deal - Stage": _map(deals["stage"], sample.names_for("pipedrive")),
            "Deal - Status": deals["outcome"],
            "Deal - Deal created": _fmt(deals["created_at"], fmt),
            "Deal - Won time": pc.fill_null(won_t, ""),
            "Deal - Lost time": pc.fill_null(lost_t, ""),
            "Deal - Lost reason": pc.fill_null(deals["lost_reason"], ""),
            "Deal - Source channel": pc.fill_null(deals["lead_source"], ""),
            "Deal - Contact person": names,
            "Deal - Organization": deals["company"],
            "Person - ID": deals["ext_id"],
            "Person - Email": deals["email"],
            "Person - Phone": deals["phone"],
        }
    )
    return table, "pipedrive-deals.csv"


def _generic(sample: SampleCrm, at: _Numbering) -> tuple[pa.Table, str]:
    """A long event file as web-analytics and email tools export: one row per event."""
    import pyarrow as pa
    import pyarrow.compute as pc

    people = sample.people.join(
        sample.contacts.select(["contact_id", "persona", "lead_source"]), "contact_id"
    )
    ev = sample.events.append_column("_o", pa.array(range(sample.events.num_rows)))
    ev = (
        ev.join(people, "contact_id")
        .join(
            sample.deals.select(["deal_id", "currency", "lost_reason"]),
            "deal_id",
            join_type="left outer",
        )
        .sort_by("_o")
    )
    lost = pc.equal(pc.fill_null(ev["action"], ""), "lost")
    return pa.table(
        {
            "email": ev["email"],
            "timestamp": _fmt(ev["ts"], "%Y-%m-%dT%H:%M:%SZ"),
            "kind": ev["kind"],
            "stage": ev["stage"],
            "touchpoint": _map(ev["touchpoint"], sample.touchpoint_names),
            "channel": ev["channel"],
            "action": ev["action"],
            "deal_id": ev["deal_id"],
            "amount_or_score": ev["value"],
            "currency": pc.if_else(pc.is_null(ev["deal_id"]), None, ev["currency"]),
            "lost_reason": pc.if_else(lost, ev["lost_reason"], None),
            "experiment": ev["experiment"],
            "variant": ev["variant"],
            "persona": ev["persona"],
            "lead_source": ev["lead_source"],
            "first_name": ev["first_name"],
            "last_name": ev["last_name"],
            "phone": ev["phone"],
        }
    ), "events.csv"
