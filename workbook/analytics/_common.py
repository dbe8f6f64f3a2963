"""SQL fragments and frame helpers shared by the analytics questions (private)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from workbook.analytics.engine import Engine

#: Per contact, its best deal outcome: won > open > lost (contacts without deals are absent).
OUTCOME_SQL = """
SELECT contact_id,
       CASE WHEN bool_or(outcome = 'won') THEN 'won'
            WHEN bool_or(outcome = 'open') THEN 'open'
            WHEN bool_or(outcome = 'lost') THEN 'lost' END AS outcome,
       min(closed_at) FILTER (outcome = 'won') AS won_at
FROM deals
WHERE contact_id IS NOT NULL
GROUP BY contact_id
"""

#: Per contact, one bit per workspace stage it ever entered (bit i = stage index i).
STAGE_MASKS_SQL = """
SELECT se.contact_id, bit_or(CAST(1 AS BIGINT) << s.stage_index) AS mask
FROM stage_entries se JOIN stages s ON s.stage = se.stage
WHERE se.contact_id IS NOT NULL
GROUP BY se.contact_id
"""

#: Touches that count towards a contact's journey: every touch with a touchpoint except a
#: message ``sent`` (not yet something the contact did, as in ``contact_paths``), and for
#: a contact who won, only those up to the close of the first won deal (what came after
#: the win did not win it). ``pos`` is 1-based in time order; ties on ``ts`` are broken
#: by ``seq`` and then the touchpoint id, so the order never depends on the file's rows.
JOURNEY_SQL = f"""
SELECT t.contact_id, t.touchpoint, t.channel, t.action,
       row_number() OVER w AS pos,
       count(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n,
       lag(t.touchpoint) OVER w AS prev,
       coalesce(o.outcome, 'none') AS outcome
FROM events t
LEFT JOIN ({OUTCOME_SQL}) o ON o.contact_id = t.contact_id
WHERE t.kind = 'touch' AND t.touchpoint IS NOT NULL AND coalesce(t.action, '') <> 'sent'
  AND (o.won_at IS NULL OR o.outcome <> 'won' OR t.ts <= o.won_at)
-- One window for all three columns: one sort instead of two.
WINDOW w AS (PARTITION BY t.contact_id ORDER BY t.ts, t.seq, t.touchpoint, t.action)
"""

#: Age of an event in days; DuckDB's epoch_us works on TIMESTAMPTZ without time zone maths.
DAYS = "((epoch_us({b}) - epoch_us({a})) / 86400000000.0)"


def journeys(eng: Engine) -> str:
    """Name of the per-engine table of journey touches (see :data:`JOURNEY_SQL`)."""
    return eng.cached("_journeys", JOURNEY_SQL)


def stage_masks(eng: Engine) -> str:
    """Name of the per-engine table of stage masks (see :data:`STAGE_MASKS_SQL`)."""
    return eng.cached("_stage_masks", STAGE_MASKS_SQL)


def days_between(a: str, b: str) -> str:
    """SQL for the days (fractional) from timestamp expression ``a`` to ``b``."""
    return DAYS.format(a=a, b=b)


def empty(columns: Sequence[str], dtypes: dict[str, str] | None = None) -> pd.DataFrame:
    """An empty frame with these columns (object unless a dtype is given)."""
    import pandas as pd

    dtypes = dtypes or {}
    return pd.DataFrame({c: pd.Series([], dtype=dtypes.get(c, "object")) for c in columns})


def ordered(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Keep exactly ``columns`` in this order, with a fresh 0..n-1 index."""
    return frame.loc[:, list(columns)].reset_index(drop=True)


def group_cols(by: str | None) -> list[str]:
    return [by] if by else []
