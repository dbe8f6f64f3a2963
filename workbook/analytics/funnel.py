"""The funnel: contacts reaching each stage, conversion to the next, and the bottleneck.

Two funnels:

- **ever reached** (the default): a contact counts at a stage when it ever entered it, in
  whatever order, as a lifecycle report counts;
- **in order** (``ordered=True``): a contact counts at step k only when it entered steps 1..k
  one after the other, as product-analytics funnels (Mixpanel, Amplitude) count.

The **bottleneck** is the stage after which most contacts are lost (the largest absolute
drop-off), not the lowest rate: a low rate on a handful of people loses fewer customers than
a middling rate on thousands. The lowest rate is reported as the **weakest step**. A stage
that no imported source can reach (no contact in any source ever entered it) has **no data**:
its counts mean nothing, the rates on either side of it are NaN, never 0%, and it is never
the bottleneck.

:func:`stage_history` says which sources carry a stage history at all. An export holding
only each deal's current stage (a Pipedrive deals export) counts where deals stand now; its
"funnel" can rise from stage to stage and its rates are not conversions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbook.analytics._common import group_cols, group_expr, rollup, stage_masks
from workbook.analytics._common import ordered as keep_columns
from workbook.analytics.engine import Engine, EngineLike, memo, people_join

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FUNNEL_COLUMNS",
    "STAGE_HISTORY_COLUMNS",
    "funnel",
    "funnel_kind",
    "stage_history",
    "stages_with_data",
]

FUNNEL_COLUMNS = [
    "stage",
    "stage_name",
    "stage_index",
    "has_data",
    "contacts",
    "share_of_first",
    "reached_next",
    "conversion_to_next",
    "drop_off",
    "drop_off_rate",
    "is_bottleneck",
    "is_weakest_step",
]

STAGE_HISTORY_COLUMNS = ["source_id", "system", "file", "has_stage_history"]

#: How each funnel is labelled in charts, the CLI and the report.
EVER_REACHED = "ever reached"
IN_ORDER = "in order"


def funnel_kind(ordered: bool) -> str:
    """The funnel's label: ``"in order"`` or ``"ever reached"``."""
    return IN_ORDER if ordered else EVER_REACHED


@memo
def stages_with_data(ws: EngineLike) -> list[str]:
    """The workspace's stages that some imported source can reach, in the workspace's order.

    A stage has data when at least one contact, in any source and any group, ever entered it
    (a stage event mapped to it): the union of every contact's stages entered, from the
    ``contact_groups`` rollup over the whole population, never one group's count.
    """
    eng = Engine.for_workspace(ws)
    rows = eng.query(
        f"SELECT DISTINCT u.stage FROM {rollup(eng, 'contact_groups')} r, "
        "unnest(r.reached) AS u(stage)"
    )
    found = set(rows["stage"].astype(str)) if len(rows) else set()
    return [s for s in eng.stage_ids() if s in found]


@memo
def funnel(ws: EngineLike, by: str | None = None, *, ordered: bool = False) -> pd.DataFrame:
    """Contacts reaching each stage of the workspace, how many go on, and the bottleneck.

    **Ever reached** (``ordered=False``): a contact *reaches* a stage when it ever entered it
    (``stage_entries``). *Reached next* counts the contacts of a stage that also entered the
    stage right after it in the workspace's order, at any time; a contact who skipped that
    stage counts as not going on.

    **In order** (``ordered=True``), the sequential funnel of product analytics: the steps are
    the workspace's stages that have data, in order. A contact counts at step 1 when it
    entered it; at step k when it also entered step k at or after the time used for step
    k-1. Entries are the starts of its stays (``stage_spells``), re-entries included: the
    time used for step k is the earliest entry into step k at or after the time used for
    step k-1 (standard sequential matching; taking the earliest keeps every later step
    possible). A tie (two entries at the same timestamp) counts as in order, whichever row
    came first. There is no conversion window. A contact who entered step k before step k-1
    and never again counts only up to step k-1. *Reached next* is the count at the next
    step, so *drop_off* is the count at a step minus the count at the next.

    In both, a stage **no source can reach** (:func:`stages_with_data`) has ``has_data``
    False: its ``contacts`` are 0 for want of data, and ``conversion_to_next``,
    ``drop_off_rate`` and ``drop_off`` are NaN / NA on it and on the stage before it. The
    ordered funnel leaves such a stage out of the steps.

    The **bottleneck** of a group is the stage with the largest ``drop_off`` (the contacts
    of the stage who do not go on to the next, which for the ordered funnel is contacts at k
    minus contacts at k+1) among stages with data on both sides; the earliest stage wins a
    tie, and a group that loses nobody has none. The **weakest step** is the stage with the
    lowest ``conversion_to_next`` among the same stages (earliest on a tie).

    Parameters
    ----------
    ws
        A workspace folder, an ``OpenWorkspace`` or an :class:`Engine`.
    by
        ``None`` for the whole population, or ``"persona"``, ``"segment"``, ``"icp"``.
    ordered
        ``True`` for the in-order funnel, ``False`` (default) for ever reached.

    Returns
    -------
    DataFrame
        One row per stage (per group when ``by``), every workspace stage in order, even those
        nobody reached. Columns: ``[by,] stage, stage_name, stage_index`` (0-based),
        ``has_data`` (bool: some source reaches the stage), ``contacts`` (int),
        ``share_of_first`` (contacts / contacts of the first stage with data),
        ``reached_next`` (int, 0 on the last stage), ``conversion_to_next`` (float: reached
        next / contacts; NaN on the last stage, when nobody reached the stage, or without
        data on either side), ``drop_off`` (nullable int: contacts - reached_next; 0 on the
        last stage, NA without data on either side), ``drop_off_rate`` (1 -
        conversion_to_next), ``is_bottleneck`` and ``is_weakest_step`` (bool, at most one
        each per group). ``frame.attrs["funnel"]`` is ``"ever reached"`` or ``"in order"``.
    """
    import numpy as np
    import pandas as pd

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    ids = eng.stage_ids()
    with_data = set(stages_with_data(eng))
    counts = _ordered_counts(eng, by, with_data) if ordered else _ever_counts(eng, by)
    stages = eng.query("SELECT stage, stage_name, stage_index FROM stages ORDER BY stage_index")
    gcols = group_cols(by)
    if by:
        # every group with a contact at any stage, as in the ever-reached funnel, so a
        # group nobody in which entered the first step still has its rows of zeros
        seen = _ever_counts(eng, by) if ordered else counts
        groups = sorted(seen[by].dropna().unique().tolist())
        grid = pd.MultiIndex.from_product([groups, stages["stage"]], names=[by, "stage"]).to_frame(
            index=False
        )
        grid = grid.merge(stages, on="stage")
    else:
        grid = stages.copy()
    out = grid.merge(counts, on=[*gcols, "stage"], how="left")
    out["contacts"] = out["contacts"].fillna(0).astype("int64")
    out["stage_index"] = out["stage_index"].astype("int64")
    out = out.sort_values([*gcols, "stage_index"], kind="stable").reset_index(drop=True)
    if ordered:
        # in order, the contacts who went on are those counted at the next step
        following = (
            out.groupby(gcols, sort=False)["contacts"].shift(-1)
            if gcols
            else out["contacts"].shift(-1)
        )
        out["reached_next"] = following.where(out["stage"].isin(with_data), 0)
    out["reached_next"] = out["reached_next"].fillna(0).astype("int64")
    has = out["stage"].isin(with_data).to_numpy()
    nxt_has = np.array(
        [i + 1 < len(ids) and ids[i + 1] in with_data for i in out["stage_index"]], dtype=bool
    )
    last = (out["stage_index"] == len(stages) - 1).to_numpy()
    known = has & (nxt_has | last)  # the step to the next stage can be measured
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = np.where(
            last | ~known | (out["contacts"] == 0),
            np.nan,
            out["reached_next"] / out["contacts"].clip(lower=1),
        )
    out["has_data"] = has
    out["conversion_to_next"] = conv.astype("float64")
    drop = pd.array(np.where(last, 0, out["contacts"] - out["reached_next"]), dtype="Int64")
    drop[~known] = pd.NA
    out["drop_off"] = drop
    out["drop_off_rate"] = 1.0 - out["conversion_to_next"]
    firsts = out["contacts"].where(has)
    if gcols:
        first = firsts.groupby([out[c] for c in gcols], sort=False).transform("first")
    else:
        valid = firsts.dropna()
        first = pd.Series(valid.iloc[0] if len(valid) else np.nan, index=out.index)
    out["share_of_first"] = (out["contacts"] / first.where(first > 0)).where(has).astype("float64")
    out["is_bottleneck"] = False
    out["is_weakest_step"] = False
    candidates = has & nxt_has & ~last
    keys = out.groupby(gcols[0], sort=False).groups.values() if gcols else [out.index]
    for idx in keys:
        part = out.loc[idx]
        part = part[candidates[part.index] & (part["contacts"] > 0)]
        if not len(part):
            continue
        lost = part["drop_off"].astype("int64")
        if lost.max() > 0:
            # idxmax / idxmin return the first extreme: the earliest stage wins a tie.
            out.loc[lost.idxmax(), "is_bottleneck"] = True
        out.loc[part["conversion_to_next"].idxmin(), "is_weakest_step"] = True
    out = keep_columns(out, [*gcols, *FUNNEL_COLUMNS])
    out.attrs["funnel"] = funnel_kind(ordered)
    return out


def _ever_counts(eng: Engine, by: str | None) -> pd.DataFrame:
    """Ever-reached counts per (group, stage): contacts, and those who also reached the next."""
    import numpy as np
    import pandas as pd

    # One bit per stage a contact reached; the few distinct masks (from the contact_groups
    # rollup) carry the whole funnel, so no join of the entries with themselves is needed.
    masks = stage_masks(eng, by)
    k = len(eng.stage_ids())
    rows = []
    keys = masks.groupby("_g", sort=True) if by else [(None, masks)]
    for key, part in keys:
        mask = part["mask"].to_numpy(dtype="int64")
        n = part["contacts"].to_numpy(dtype="int64")
        for i, stage in enumerate(eng.stage_ids()):
            here = (mask >> i) & 1 == 1
            nxt = here & ((mask >> (i + 1)) & 1 == 1) if i + 1 < k else np.zeros_like(here)
            row = {
                "stage": stage,
                "contacts": int(n[here].sum()),
                "reached_next": int(n[nxt].sum()),
            }
            if by:
                row[by] = key
            rows.append(row)
    return pd.DataFrame(rows, columns=[*group_cols(by), "stage", "contacts", "reached_next"])


def _ordered_counts(eng: Engine, by: str | None, with_data: set[str]) -> pd.DataFrame:
    """In-order counts per (group, stage), by sequential matching over ``stage_spells``.

    One CTE per step: the earliest entry into step k at or after the contact's time for step
    k-1. Each step joins the stays of one stage with the contacts still in the funnel, so the
    work grows with the stays, not with their square.
    """
    import pandas as pd

    steps = [s for s in eng.stage_ids() if s in with_data]
    gcols = group_cols(by)
    if not steps:
        return pd.DataFrame(columns=[*gcols, "stage", "contacts"])
    params = {f"s{i}": s for i, s in enumerate(steps)}
    ctes = [
        "sp AS (SELECT contact_id, stage, entered_at FROM stage_spells "
        "WHERE contact_id IS NOT NULL AND entered_at IS NOT NULL)",
        "t0 AS (SELECT contact_id, min(entered_at) AS t FROM sp WHERE stage = $s0 "
        "GROUP BY contact_id)",
    ]
    for i in range(1, len(steps)):
        ctes.append(
            f"t{i} AS (SELECT sp.contact_id, min(sp.entered_at) AS t FROM sp "
            f"JOIN t{i - 1} p ON p.contact_id = sp.contact_id "
            f"WHERE sp.stage = $s{i} AND sp.entered_at >= p.t GROUP BY sp.contact_id)"
        )
    union = " UNION ALL ".join(
        f"SELECT {i} AS step, contact_id FROM t{i}" for i in range(len(steps))
    )
    gsel = f"{group_expr(by, 'p')} AS {by}, " if by else ""
    rows = eng.query(
        f"""
        WITH {", ".join(ctes)}, reached AS ({union})
        SELECT {gsel} r.step, count(*)::BIGINT AS contacts
        FROM reached r {people_join(by, "r")}
        GROUP BY ALL
        """,
        params,
    )
    if by:
        rows[by] = rows[by].astype(object)
    rows["stage"] = [steps[int(i)] for i in rows["step"]]
    return rows[[*gcols, "stage", "contacts"]]


#: Stage events read first from each source when looking for a stage history: enough to
#: find one in any real history at once; only a source without one is read whole.
_HISTORY_SAMPLE = 20_000


@memo
def stage_history(ws: EngineLike) -> pd.DataFrame:
    """Which imported sources carry a stage history, and which only each deal's current stage.

    A source **has a stage history** when some deal, or some contact's stage events outside
    any deal, entered two or more different stages in it (its events of kind ``stage`` or
    ``deal`` with a stage). An export of each deal's current stage (Pipedrive's deals
    export) gives every deal one stage: its counts say where deals stand now, not how
    contacts moved, and the ever-reached funnel built from them can rise from stage to
    stage. A source with no stage event at all is not listed.

    Each source is first checked on a sample of its stage events (any deal or contact seen
    in two stages proves a history); a source whose sample shows none is read whole, so a
    "no stage history" answer is always exact and a large history costs one small read.

    Returns
    -------
    DataFrame
        One row per source with stage events, in the order of the workspace's
        ``data_sources`` (then by id). Columns: ``source_id``, ``system`` and ``file`` (from
        the workspace's record of the import; empty when unknown), ``has_stage_history``
        (bool).
    """
    import pandas as pd

    eng = Engine.for_workspace(ws)
    # each source judged on its own rows (the events view merges what two sources report)
    ids = eng.query("SELECT DISTINCT source_id FROM source_events WHERE source_id IS NOT NULL")
    check = """
        SELECT coalesce(sum(n), 0)::BIGINT AS n, coalesce(bool_or(moved), false) AS moved
        FROM (
            SELECT count(*) AS n, min(stage) <> max(stage) AS moved
            FROM (
                SELECT deal_id, contact_id, stage FROM source_events
                WHERE source_id = $source AND kind IN ('stage', 'deal') AND stage IS NOT NULL
                {limit}
            )
            GROUP BY coalesce('d:' || deal_id, 'c:' || contact_id)
        )
    """
    found: dict[str, bool] = {}
    for sid in sorted(str(x) for x in ids["source_id"]):
        sample = eng.query(check.format(limit=f"LIMIT {_HISTORY_SAMPLE}"), {"source": sid}).iloc[0]
        n, moved = int(sample["n"]), bool(sample["moved"])
        if not moved and n >= _HISTORY_SAMPLE:  # no proof in the sample: read it whole
            moved = bool(eng.query(check.format(limit=""), {"source": sid}).iloc[0]["moved"])
        if n:
            found[sid] = moved
    known = {s.id: (s.system, s.file) for s in eng.workspace.data_sources}
    order = {sid: i for i, sid in enumerate(known)}
    rows = sorted(found, key=lambda sid: (order.get(sid, len(order)), sid))
    return pd.DataFrame(
        {
            "source_id": pd.Series(rows, dtype=object),
            "system": pd.Series([known.get(r, ("", ""))[0] for r in rows], dtype=object),
            "file": pd.Series([known.get(r, ("", ""))[1] for r in rows], dtype=object),
            "has_stage_history": pd.Series([found[r] for r in rows], dtype=bool),
        },
        columns=STAGE_HISTORY_COLUMNS,
    )
