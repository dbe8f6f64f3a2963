"""The three canonical tables as one value, and conforming any table to their schemas.

Importers and the generator hand back a :class:`CanonicalTables`; the importer writes it.
:func:`conform` turns a pandas frame or Arrow table with the right column names (extra
columns dropped, missing ones filled with nulls) into exactly the schema of
:mod:`workbook.crm.schema`, so a test fixture can be a small ``DataFrame``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from workbook.crm import schema

__all__ = ["CanonicalTables", "conform", "empty"]


def empty(table: str) -> pa.Table:
    """An empty table with the schema of ``table`` (``"contacts"``, ``"events"``, ...)."""
    return schema.TABLES[table].empty_table()


def conform(data: Any, table: str) -> pa.Table:
    """Cast ``data`` (Arrow table, pandas frame, or ``None``) to the schema of ``table``.

    Timestamps without a time zone are taken as UTC. Columns not in the schema are dropped.
    """
    target = schema.TABLES[table]
    if data is None:
        return target.empty_table()
    if not isinstance(data, pa.Table):
        data = pa.Table.from_pandas(data, preserve_index=False)
    n = data.num_rows
    arrays = []
    for fld in target:
        if fld.name in data.column_names:
            col = data.column(fld.name)
            if (
                pa.types.is_timestamp(fld.type)
                and pa.types.is_timestamp(col.type)
                and col.type.tz is None
            ):
                col = col.cast(pa.timestamp("us")).cast(fld.type)  # naive means UTC here
            arrays.append(col.cast(fld.type))
        else:
            arrays.append(pa.nulls(n, fld.type))
    return pa.Table.from_arrays(arrays, schema=target)


@dataclass
class CanonicalTables:
    """Contacts, events and deals of one source, in the canonical schemas."""

    contacts: pa.Table
    events: pa.Table
    deals: pa.Table

    @classmethod
    def of(cls, contacts: Any = None, events: Any = None, deals: Any = None) -> CanonicalTables:
        """Build from frames or tables, conforming each to its schema."""
        return cls(
            conform(contacts, "contacts"), conform(events, "events"), conform(deals, "deals")
        )

    def items(self) -> list[tuple[str, pa.Table]]:
        return [("contacts", self.contacts), ("events", self.events), ("deals", self.deals)]
