"""The funnel: contacts reaching each stage, conversion to the next, and the bottleneck."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbook.analytics._common import group_cols, ordered, stage_masks
from workbook.analytics.engine import Engine, EngineLike, memo

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FUNNEL_COLUMNS", "funnel"]

FUNNEL_COLUMNS = [
    "stage",
    "stage_name",
    "stage_index",
    "contacts",
    "share_of_first",
    "reached_next",
    "conversion_to_next",
    "drop_off",
    "drop_off_rate",
    "is_bottleneck",
]


@memo
def funnel(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Contacts reaching each stage of the workspace, and how many go on to the next.

    A contact *reaches* a stage when it ever entered it (``stage_entries``). *Reached next*
    counts the contacts of a stage that also entered the stage right after it in the
    workspace's order; a contact who skipped that stage counts as not converted there.

    Parameters
    ----------
    ws
        A workspace folder, an ``OpenWorkspace`` or an :class:`Engine`.
    by
        ``None`` for the whole population, or ``"persona"``, ``"segment"``, ``"icp"``.

    Returns
    -------
    DataFrame
        One row per stage (per group when ``by``), every workspace stage in order, even those
        nobody reached. Columns: ``[by,] stage, stage_name, stage_index`` (0-based),
        ``contacts`` (int), ``share_of_first`` (contacts / contacts of the first stage),
        ``reached_next`` (int, 0 on the last stage), ``conversion_to_next`` (float, NaN on the
        last stage or when nobody reached the stage), ``drop_off`` (contacts - reached_next,
        0 on the last stage), ``drop_off_rate`` (1 - conversion_to_next), ``is_bottleneck``
        (bool: the stage with the lowest conversion to the next, earliest on a tie; at most
        one per group).
    """
    import numpy as np
    import pandas as pd

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
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
    counts = pd.DataFrame(rows, columns=[*group_cols(by), "stage", "contacts", "reached_next"])
    stages = eng.query("SELECT stage, stage_name, stage_index FROM stages ORDER BY stage_index")
    gcols = group_cols(by)
    if by:
        groups = sorted(counts[by].dropna().unique().tolist())
        grid = pd.MultiIndex.from_product([groups, stages["stage"]], names=[by, "stage"]).to_frame(
            index=False
        )
        grid = grid.merge(stages, on="stage")
    else:
        grid = stages.copy()
    out = grid.merge(counts, on=[*gcols, "stage"], how="left")
    out["contacts"] = out["contacts"].fillna(0).astype("int64")
    out["reached_next"] = out["reached_next"].fillna(0).astype("int64")
    out["stage_index"] = out["stage_index"].astype("int64")
    out = out.sort_values([*gcols, "stage_index"], kind="stable").reset_index(drop=True)
    last = out["stage_index"] == len(stages) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = np.where(
            last | (out["contacts"] == 0),
            np.nan,
            out["reached_next"] / out["contacts"].clip(lower=1),
        )
    out["conversion_to_next"] = conv.astype("float64")
    out["drop_off"] = np.where(last, 0, out["contacts"] - out["reached_next"]).astype("int64")
    out["drop_off_rate"] = 1.0 - out["conversion_to_next"]
    if gcols:
        first = out.groupby(gcols, sort=False)["contacts"].transform("first")
    else:
        first = pd.Series(out["contacts"].iloc[0] if len(out) else 0, index=out.index)
    out["share_of_first"] = (out["contacts"] / first.where(first > 0)).astype("float64")
    out["is_bottleneck"] = False
    keys = out.groupby(gcols[0], sort=False).groups.values() if gcols else [out.index]
    for idx in keys:
        part = out.loc[idx, "conversion_to_next"].dropna()
        if len(part):
            # idxmin returns the first minimum: the earliest stage wins a tie.
            out.loc[part.idxmin(), "is_bottleneck"] = True
    return ordered(out, [*gcols, *FUNNEL_COLUMNS])
