"""People across sources: how many the workspace holds, and in how many sources each was seen.

A person is one contact id whatever source reported it (the import links sources on the
e-mail address or a shared id: :mod:`workbook.crm.identity`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbook.analytics.engine import Engine, EngineLike, memo

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PEOPLE_COLUMNS", "people_by_sources", "people_by_source"]

PEOPLE_COLUMNS = ["sources", "people"]
BY_SOURCE_COLUMNS = ["source_id", "people", "also_elsewhere", "only_here"]


@memo
def people_by_sources(ws: EngineLike) -> pd.DataFrame:
    """How many people were seen in one source, in two, and so on.

    A person counts in a source when the source lists them among its contacts (every person
    of an event or a deal is). The ``people`` column sums to the workspace's people.

    Returns
    -------
    DataFrame
        ``sources`` (1, 2, ...), ``people``; one row per number of sources that occurs,
        ascending; no rows without data.
    """
    eng = Engine.for_workspace(ws)
    return eng.query(
        """
        SELECT n::INTEGER AS sources, count(*)::BIGINT AS people FROM (
            SELECT contact_id, count(DISTINCT source_id) AS n FROM contacts
            WHERE contact_id IS NOT NULL GROUP BY contact_id
        ) GROUP BY n ORDER BY n
        """
    )[PEOPLE_COLUMNS]


@memo
def people_by_source(ws: EngineLike) -> pd.DataFrame:
    """Each source's people: how many, how many of them another source reports too, and how
    many only it does.

    Returns
    -------
    DataFrame
        ``source_id``, ``people``, ``also_elsewhere``, ``only_here``; one row per source,
        by source id.
    """
    eng = Engine.for_workspace(ws)
    return eng.query(
        """
        WITH seen AS (
            SELECT DISTINCT contact_id, source_id FROM contacts WHERE contact_id IS NOT NULL
        ), n AS (
            SELECT contact_id, count(*) AS n FROM seen GROUP BY contact_id
        )
        SELECT s.source_id, count(*)::BIGINT AS people,
               count(*) FILTER (WHERE n.n > 1)::BIGINT AS also_elsewhere,
               count(*) FILTER (WHERE n.n = 1)::BIGINT AS only_here
        FROM seen s JOIN n USING (contact_id) GROUP BY s.source_id ORDER BY s.source_id
        """
    )[BY_SOURCE_COLUMNS]
