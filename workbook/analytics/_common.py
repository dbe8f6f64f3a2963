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

#: Per contact, one bit per workspace stage it ever entered (bit i = stage index i): the
#: few distinct masks of ``contact_groups`` (stage ids reached, so the workspace may have
#: reordered its stages since the import), with their contacts. ``{g}`` is the group.
MASKS_SQL = """
WITH r AS (
    SELECT {g} AS _g, reached, sum(contacts)::BIGINT AS contacts
    FROM {table} GROUP BY ALL
), k AS (SELECT row_number() OVER () AS k, * FROM r)
SELECT any_value(k._g) AS _g, bit_or(CAST(1 AS BIGINT) << s.stage_index) AS mask,
       any_value(k.contacts) AS contacts
FROM k, unnest(k.reached) AS u(stage) JOIN stages s ON s.stage = u.stage
GROUP BY k.k
"""

#: Age of an event in days; DuckDB's epoch_us works on TIMESTAMPTZ without time zone maths.
DAYS = "((epoch_us({b}) - epoch_us({a})) / 86400000000.0)"


def rollup(eng: Engine, name: str) -> str:
    """Name to query a rollup by (``workbook.crm.schema.ROLLUPS``): its view when the import
    wrote it, else the same SQL run once per engine over the raw views (a workspace imported
    before the rollup existed still gets right answers, only slower)."""
    from workbook.crm.derive import JOURNEY_SQL, PATHS_SQL, REACHED_SQL, ROLLUP_SQL, TOUCHES_SQL

    if eng.has(name):
        return name
    sql = ROLLUP_SQL[name]
    if eng.has("contact_paths"):
        paths = eng.cached(
            "_paths",
            "SELECT contact_id, persona, segment, icp, lead_source, outcome, won_at "
            "FROM contact_paths",
        )
    else:
        paths = eng.cached(
            "_paths", PATHS_SQL.format(contacts="contacts", events="events", deals="deals")
        )
    names = {
        "events": "events",
        "spells": "stage_spells",
        "paths": paths,
        "reached": eng.cached("_reached", REACHED_SQL.format(spells="stage_spells")),
    }
    if "{journey}" in sql:
        names["journey"] = eng.cached("_journeys", JOURNEY_SQL.format(events="events", paths=paths))
    if "{touches}" in sql:
        names["touches"] = eng.cached("_touch_counts", TOUCHES_SQL.format(events="events"))
    if "{combos}" in sql:
        names["combos"] = rollup(eng, "score_combos")
    if "{numbered}" in sql:
        names["numbered"] = numbered_contacts(eng)
    return eng.cached(f"_{name}", sql.format(**names))


def numbered_contacts(eng: Engine) -> str:
    """SQL of every contact id with ``n``: its row in contact_paths (0-based), which is
    sorted by contact id; without contact_paths, the same numbers from a sort here."""
    if eng.has("numbered_contact_paths"):
        return "(SELECT contact_id, n FROM numbered_contact_paths)"
    ids = "SELECT contact_id FROM contact_paths" if eng.has("contact_paths") else PATHS_IDS_SQL
    return eng.cached(
        "_numbered",
        "SELECT contact_id, row_number() OVER (ORDER BY contact_id) - 1 AS n "
        f"FROM ({ids}) WHERE contact_id IS NOT NULL",
    )


#: Every contact id of contacts, events and deals, as contact_paths lists them.
PATHS_IDS_SQL = (
    "SELECT contact_id FROM contacts UNION SELECT contact_id FROM events "
    "UNION SELECT contact_id FROM deals"
)


def group_expr(by: str | None, alias: str = "") -> str:
    """SQL for a row's group in a rollup: its ``by`` attribute (``unassigned`` when unknown),
    or ``'all'`` for the whole population."""
    from workbook.analytics.engine import UNASSIGNED

    prefix = f"{alias}." if alias else ""
    return f"coalesce({prefix}{by}, '{UNASSIGNED}')" if by else "'all'"


def stage_masks(eng: Engine, by: str | None) -> pd.DataFrame:
    """Distinct stage masks per group with their contacts: columns ``_g, mask, contacts``.

    Contacts who entered no workspace stage are left out (they reach no stage)."""
    return eng.query(MASKS_SQL.format(g=group_expr(by), table=rollup(eng, "contact_groups")))


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
