"""Each contact's touches in time order, computed over the sorted event log without a sort.

Two derived structures need every contact's touches in order: ``contact_paths`` (the list of
touchpoints, the first and the last touch) and the journeys behind the attribution and
Markov rollups (each touch's position, the count and the touch before it). In SQL these are
ordered aggregates and windows, one sort of the events per contact each: on 10M events,
several seconds apiece. Here the touches are read once in the order the import already
sorted them in (a source's ``events.parquet`` is sorted by contact, time and seq), and the
positions, lists and counts follow from where each contact's run of rows starts.

Only when the order is not already there (several sources, or a file whose rows tie on
contact, time and seq) does DuckDB sort the touches. Either way the order is contact, ``ts``,
``seq``, ``source_id``, ``touchpoint``, ``action``: the same as :data:`~workbook.crm.derive.
JOURNEY_SQL`, which the analytics engine runs on a workspace imported before these tables
existed, and a test checks the two give the same rollups.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["TOUCH", "arrow_table", "sequences", "sorted_touches"]

#: The touches that count towards a journey: a touch with a touchpoint, and not a message
#: ``sent`` (not yet something the contact did).
TOUCH = "kind = 'touch' AND touchpoint IS NOT NULL AND coalesce(action, '') <> 'sent'"

_COLUMNS = "contact_id, ts, seq, touchpoint, channel, action"
_ORDER = "contact_id, ts, seq, source_id, touchpoint, action"


def sorted_touches(con: Any, files: Sequence[str], events: str) -> Any:
    """The touches (:data:`TOUCH`) as an Arrow table, in journey order.

    ``files`` are the events files of every source; ``events`` names a DuckDB relation over
    all of them, sorted when the file order will not do.
    """
    if len(files) == 1:
        path = "'" + str(files[0]).replace("'", "''") + "'"
        con.execute("SET preserve_insertion_order=true")
        try:
            table = arrow_table(
                con.sql(f"SELECT {_COLUMNS} FROM read_parquet({path}) WHERE {TOUCH}").arrow()
            )
        finally:
            con.execute("SET preserve_insertion_order=false")
        if _strictly_sorted(table):
            return _compact(table)
        del table
    return _compact(
        arrow_table(
            con.sql(f"SELECT {_COLUMNS} FROM {events} WHERE {TOUCH} ORDER BY {_ORDER}").arrow()
        )
    )


def arrow_table(table: Any) -> Any:
    """One Arrow table in one chunk per column, from a DuckDB result."""
    if hasattr(table, "read_all"):  # a RecordBatchReader in some DuckDB versions
        table = table.read_all()
    return table.combine_chunks()


def _compact(table: Any) -> Any:
    """The touches with touchpoint, channel and action dictionary-encoded.

    A few dozen distinct values each: as dictionaries the copies made below cost 4 bytes a
    row, not the text (10M events: some 300 MB less at the peak).
    """
    for name in ("touchpoint", "channel", "action"):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(name).dictionary_encode())
    return table.combine_chunks()


def _strictly_sorted(table: Any) -> bool:
    """Whether every row comes strictly after the one before on (contact, ts, seq)."""
    import pyarrow.compute as pc

    if table.num_rows < 2:
        return True
    head, tail = table.slice(0, table.num_rows - 1), table.slice(1)
    after = None
    # from the last key to the first: later keys only decide where earlier ones tie
    for col in ("seq", "ts", "contact_id"):
        a, b = head.column(col), tail.column(col)
        step = pc.less(a, b)
        after = step if after is None else pc.or_(step, pc.and_(pc.equal(a, b), after))
    return bool(pc.all(pc.fill_null(after, False)).as_py())


def sequences(touches: Any, won: Any) -> tuple[Any, Any]:
    """Per-contact touch lists and journey rows from touches in journey order.

    Parameters
    ----------
    touches
        From :func:`sorted_touches`.
    won
        ``contact_id``, ``won_at``: when each contact's first won deal closed (contacts who
        never won are left out). A won contact's journey ends there: what came after the win
        did not win it.

    Returns
    -------
    (per_contact, journey)
        ``per_contact``: ``contact_id``, ``touchpoints`` (every touch, in order),
        ``first_touch``, ``last_touch`` (the last before the win, or the last of all),
        ``n_touches``. ``journey``: the touches up to the win, with ``pos`` (1-based),
        ``n`` (the journey's length) and ``prev`` (the touchpoint before, within the journey).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = touches.num_rows
    contact = touches.column("contact_id").combine_chunks()
    point = touches.column("touchpoint").combine_chunks()
    if rows == 0:
        starts = np.zeros(0, np.int64)
    else:
        change = pc.not_equal(contact.slice(1), contact.slice(0, rows - 1))
        starts = np.flatnonzero(np.concatenate(([True], change.to_numpy(zero_copy_only=False))))
    sizes = np.diff(np.append(starts, rows))
    group = np.repeat(np.arange(len(starts)), sizes)

    # A journey is a prefix of the contact's touches: those up to the close of the first won
    # deal (all of them when the contact never won).
    where = pc.index_in(contact, value_set=won.column("contact_id").combine_chunks())
    won_at = won.column("won_at").combine_chunks().take(where)
    keep = pc.fill_null(
        pc.or_(pc.is_null(won_at), pc.less_equal(touches.column("ts"), won_at)), True
    )
    keep_np = keep.to_numpy(zero_copy_only=False).astype(bool)
    kept = np.bincount(group, weights=keep_np, minlength=len(starts)).astype(np.int64)

    last = np.where(kept > 0, starts + kept - 1, starts + sizes - 1)
    per_contact = pa.table(
        {
            "contact_id": contact.take(pa.array(starts)),
            "touchpoints": pa.ListArray.from_arrays(
                pa.array(np.append(starts, rows).astype(np.int32)), point
            ),
            "first_touch": point.take(pa.array(starts)),
            "last_touch": point.take(pa.array(last)),
            "n_touches": pa.array(sizes.astype(np.int32)),
        }
    )

    index = np.arange(rows)
    pos = index - starts[group] + 1
    prev = point.take(pa.array(np.maximum(index - 1, 0)))
    prev = pc.if_else(pa.array(pos > 1), prev, pa.scalar(None, pa.string()))
    chosen = pa.array(np.flatnonzero(keep_np))
    journey = pa.table(
        {
            "contact_id": contact.take(chosen),
            "touchpoint": point.take(chosen),
            "channel": touches.column("channel").take(chosen),
            "action": touches.column("action").take(chosen),
            "pos": pa.array(pos[keep_np].astype(np.int64)),
            "n": pa.array(kept[group][keep_np]),
            "prev": prev.take(chosen),
        }
    )
    return per_contact, journey
