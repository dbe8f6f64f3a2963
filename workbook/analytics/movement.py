"""Movement between stages ("pool to pool"), backward moves included."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbook.analytics._common import group_cols, group_expr, ordered, rollup
from workbook.analytics.engine import Engine, EngineLike, memo

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TRANSITION_COLUMNS", "transition_matrix", "transitions"]

TRANSITION_COLUMNS = [
    "from_stage",
    "from_stage_name",
    "from_index",
    "to_stage",
    "to_stage_name",
    "to_index",
    "moves",
    "contacts",
    "share",
    "direction",
]


@memo
def transitions(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Every observed move from one stage to another, counted from the stage spells.

    A move is the end of one stay in a stage and the start of the next (``stage_spells``:
    ``stage`` -> ``next_stage``). Moves back to an earlier stage are kept and marked.

    Parameters
    ----------
    ws
        A workspace folder, an ``OpenWorkspace`` or an :class:`Engine`.
    by
        ``None``, ``"persona"``, ``"segment"`` or ``"icp"``.

    Returns
    -------
    DataFrame
        One row per (``[by,]`` from, to) pair that happened, ordered by from_index, to_index.
        Columns: ``[by,] from_stage, from_stage_name, from_index, to_stage, to_stage_name,
        to_index, moves`` (int: number of moves), ``contacts`` (int: distinct contacts who
        made it), ``share`` (moves / all moves out of ``from_stage`` in the group),
        ``direction`` (``"forward"``, ``"backward"`` or ``"same"``). Stages that are not in
        the workspace's stage list are left out.
    """
    import numpy as np

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    gsel = f"{group_expr(by, 'sp')} AS {by}, " if by else ""
    # From the stage_moves rollup: every contact is in one group, so its distinct contacts
    # add up across the groups of a coarser split.
    out = eng.query(
        f"""
        SELECT {gsel}
               a.stage AS from_stage, a.stage_name AS from_stage_name, a.stage_index AS from_index,
               b.stage AS to_stage, b.stage_name AS to_stage_name, b.stage_index AS to_index,
               sum(sp.moves)::BIGINT AS moves, sum(sp.contacts)::BIGINT AS contacts
        FROM {rollup(eng, "stage_moves")} sp
        JOIN stages a ON a.stage = sp.stage
        JOIN stages b ON b.stage = sp.next_stage
        GROUP BY ALL
        """
    )
    gcols = group_cols(by)
    for col in ("from_index", "to_index", "moves", "contacts"):
        out[col] = out[col].astype("int64")
    total = out.groupby([*gcols, "from_stage"])["moves"].transform("sum")
    out["share"] = (out["moves"] / total).astype("float64")
    out["direction"] = np.select(
        [out["to_index"] > out["from_index"], out["to_index"] < out["from_index"]],
        ["forward", "backward"],
        "same",
    ).astype(object)
    out = out.sort_values([*gcols, "from_index", "to_index"], kind="stable")
    return ordered(out, [*gcols, *TRANSITION_COLUMNS])


def transition_matrix(ws: EngineLike, *, share: bool = False) -> pd.DataFrame:
    """The whole population's moves as a square matrix, stages in workspace order.

    Parameters
    ----------
    share
        ``False`` for counts of moves; ``True`` for the share of each row (each row sums to 1,
        or is all zero for a stage nobody left).

    Returns
    -------
    DataFrame
        Index ``from_stage``, columns ``to_stage``: every workspace stage on both axes.
    """
    eng = Engine.for_workspace(ws)
    long = transitions(eng)
    ids = eng.stage_ids()
    matrix = (
        long.pivot_table(index="from_stage", columns="to_stage", values="moves", aggfunc="sum")
        .reindex(index=ids, columns=ids)
        .fillna(0)
        .astype("int64")
    )
    matrix.index.name, matrix.columns.name = "from_stage", "to_stage"
    if share:
        totals = matrix.sum(axis=1)
        return matrix.div(totals.where(totals > 0), axis=0).fillna(0.0)
    return matrix
