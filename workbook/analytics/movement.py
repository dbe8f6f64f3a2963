"""Movement between stages ("pool to pool"), backward moves included, and where stays end
in a deal's close (won or lost)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbook.analytics._common import group_cols, group_expr, ordered, rollup
from workbook.analytics.engine import Engine, EngineLike, memo

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LOST", "TRANSITION_COLUMNS", "WON", "transition_matrix", "transitions"]

#: The end states a stay can close into (``to_stage`` of :func:`transitions`, columns of
#: :func:`transition_matrix`): a deal of the contact won or lost. In brackets, so no stage
#: id (a slug) can be the same.
WON = "(won)"
LOST = "(lost)"
_ENDS = {"won": (WON, "Won"), "lost": (LOST, "Lost")}

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
    """Every observed end of a stay: a move from one stage to another, or a deal's close.

    A move is the end of one stay in a stage and the start of the next (``stage_spells``:
    ``stage`` -> ``next_stage``). Moves back to an earlier stage are kept and marked. A stay
    a deal's close ended (``ended_by`` won or lost: the first close after the stay's start,
    unless the contact entered another stage first) goes to the end state :data:`WON` or
    :data:`LOST` instead. Open stays are not counted.

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
        to_index, moves`` (int: number of moves, or of stays closed), ``contacts`` (int:
        distinct contacts who made it), ``share`` (moves / all ends of stays in
        ``from_stage`` in the group), ``direction`` (``"forward"``, ``"backward"``,
        ``"same"``, or ``"closed"`` for a close). A close's ``to_stage`` is :data:`WON` or
        :data:`LOST`, its ``to_stage_name`` ``"Won"`` or ``"Lost"`` and its ``to_index``
        the number of stages (won) or one more (lost): after every stage. Stages that are not
        in the workspace's stage list are left out.
    """
    import numpy as np

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    gsel = f"{group_expr(by, 'sp')} AS {by}, " if by else ""
    n = len(eng.stage_ids())
    # From the stage_moves rollup: every contact is in one group, so its distinct contacts
    # add up across the groups of a coarser split. (A rollup written before closes ended
    # stays has no ended_by: all its rows are moves.)
    out = eng.query(
        f"""
        SELECT {gsel}
               a.stage AS from_stage, a.stage_name AS from_stage_name, a.stage_index AS from_index,
               CASE sp.ended_by WHEN 'won' THEN '{WON}' WHEN 'lost' THEN '{LOST}'
                    ELSE b.stage END AS to_stage,
               CASE sp.ended_by WHEN 'won' THEN 'Won' WHEN 'lost' THEN 'Lost'
                    ELSE b.stage_name END AS to_stage_name,
               CASE sp.ended_by WHEN 'won' THEN {n} WHEN 'lost' THEN {n + 1}
                    ELSE b.stage_index END AS to_index,
               sum(sp.moves)::BIGINT AS moves, sum(sp.contacts)::BIGINT AS contacts
        FROM {rollup(eng, "stage_moves")} sp
        JOIN stages a ON a.stage = sp.stage
        LEFT JOIN stages b ON b.stage = sp.next_stage
        WHERE b.stage IS NOT NULL OR sp.ended_by IN ('won', 'lost')
        GROUP BY ALL
        """
    )
    gcols = group_cols(by)
    for col in ("from_index", "to_index", "moves", "contacts"):
        out[col] = out[col].astype("int64")
    total = out.groupby([*gcols, "from_stage"])["moves"].transform("sum")
    out["share"] = (out["moves"] / total).astype("float64")
    closed = out["to_stage"].isin([WON, LOST])
    out["direction"] = np.select(
        [
            closed,
            out["to_index"] > out["from_index"],
            out["to_index"] < out["from_index"],
        ],
        ["closed", "forward", "backward"],
        "same",
    ).astype(object)
    out = out.sort_values([*gcols, "from_index", "to_index"], kind="stable")
    return ordered(out, [*gcols, *TRANSITION_COLUMNS])


def transition_matrix(ws: EngineLike, *, share: bool = False) -> pd.DataFrame:
    """The whole population's moves as a matrix, stages in workspace order, then the ends.

    Parameters
    ----------
    share
        ``False`` for counts; ``True`` for the share of each row (each row sums to 1, or is
        all zero for a stage no stay has ended in).

    Returns
    -------
    DataFrame
        Index ``from_stage``: every workspace stage. Columns ``to_stage``: every workspace
        stage, then :data:`WON` and :data:`LOST` (stays a deal's close ended), so each row
        counts every finished stay in its stage.
    """
    eng = Engine.for_workspace(ws)
    long = transitions(eng)
    ids = eng.stage_ids()
    matrix = (
        long.pivot_table(index="from_stage", columns="to_stage", values="moves", aggfunc="sum")
        .reindex(index=ids, columns=[*ids, WON, LOST])
        .fillna(0)
        .astype("int64")
    )
    matrix.index.name, matrix.columns.name = "from_stage", "to_stage"
    if share:
        totals = matrix.sum(axis=1)
        return matrix.div(totals.where(totals > 0), axis=0).fillna(0.0)
    return matrix
