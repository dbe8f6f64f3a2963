"""Each contact's events in time order, computed over the sorted event log without a sort.

Several derived tables need every contact's events in order: ``stage_spells`` (the stays in
each stage, one after the other), ``contact_paths`` (the stage path; the list of touchpoints,
the first and the last touch) and the journeys behind the attribution and Markov rollups
(each touch's position, the count and the touch before it). In SQL these are windows and
ordered aggregates, one sort of the events per contact each: on 10M events, several seconds
apiece. Here the events are read once in the order the import already sorted them in (a
source's ``events.parquet`` is sorted by contact, time and seq), and positions, lists and
neighbours follow from where each contact's run of rows starts.

Only when the order is not already there (several sources, or a file whose rows tie on
contact, time and seq) does DuckDB sort the events. Either way the order is contact, ``ts``,
``seq``, ``source_id``, then the event's own values: the same as the SQL the analytics engine
runs on a workspace imported before these tables existed
(:data:`~workbook.crm.derive.JOURNEY_SQL`), and a test checks the two give the same rollups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CLOSE",
    "SPELL_EVENTS",
    "STAGE",
    "TOUCH",
    "arrow_table",
    "in_order",
    "sequences",
    "sorted_touches",
    "stage_entries",
    "stage_paths",
    "stage_spells",
]

#: The touches that count towards a journey: a touch with a touchpoint, and not a message
#: ``sent`` (not yet something the contact did).
TOUCH = "kind = 'touch' AND touchpoint IS NOT NULL AND coalesce(action, '') <> 'sent'"
#: The stage entries that make stage spells.
STAGE = "kind = 'stage' AND stage IS NOT NULL AND contact_id IS NOT NULL"
#: A deal's close: ``won`` or ``lost`` on a close event (kind ``deal``), else null.
CLOSE = "CASE WHEN kind = 'deal' AND action IN ('won', 'lost') THEN action END"
#: What :func:`stage_spells` reads: the stage entries and the deals' closes, which end stays.
SPELL_EVENTS = (
    "contact_id IS NOT NULL AND ((kind = 'stage' AND stage IS NOT NULL) "
    "OR (kind = 'deal' AND action IN ('won', 'lost')))"
)


def in_order(
    con: Any,
    files: Sequence[str],
    events: str,
    where: str,
    columns: Sequence[str],
    computed: Mapping[str, str] | None = None,
) -> Any:
    """The events matching ``where`` as an Arrow table of ``columns`` (after contact_id, ts
    and seq) and ``computed`` (name: SQL expression over the event's columns), ordered by
    contact, ts, seq, source_id, then ``columns`` and ``computed``.

    ``files`` are the events files of every source; ``events`` names a DuckDB relation over
    all of them, sorted when the file order will not do. ``columns`` and ``computed`` are
    dictionary-encoded: they hold a few dozen distinct values each, and the copies made from
    them then cost 4 bytes a row, not the text (10M events: some 300 MB less at the peak).
    """
    extra = dict(computed or {})
    columns = [*columns, *extra]
    select = ", ".join(
        ["contact_id", "ts", "seq", *(f"{extra[c]} AS {c}" if c in extra else c for c in columns)]
    )
    table = None
    if len(files) == 1:
        path = "'" + str(files[0]).replace("'", "''") + "'"
        con.execute("SET preserve_insertion_order=true")
        try:
            table = arrow_table(
                con.sql(f"SELECT {select} FROM read_parquet({path}) WHERE {where}").arrow()
            )
        finally:
            con.execute("SET preserve_insertion_order=false")
        if not _strictly_sorted(table):
            table = None
    if table is None:
        order = ", ".join(["contact_id", "ts", "seq", "source_id", *columns])
        table = arrow_table(
            con.sql(f"SELECT {select} FROM {events} WHERE {where} ORDER BY {order}").arrow()
        )
    for name in columns:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(name).dictionary_encode())
    return table.combine_chunks()


def sorted_touches(con: Any, files: Sequence[str], events: str) -> Any:
    """The touches (:data:`TOUCH`) in journey order."""
    return in_order(con, files, events, TOUCH, ("touchpoint", "channel", "action", "stage"))


def arrow_table(table: Any) -> Any:
    """One Arrow table in one chunk per column, from a DuckDB result."""
    if hasattr(table, "read_all"):  # a RecordBatchReader in some DuckDB versions
        table = table.read_all()
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


def _runs(contact: Any) -> tuple[Any, Any, Any]:
    """Where each contact's run of rows starts, how long it is, and each row's run number."""
    import numpy as np
    import pyarrow.compute as pc

    rows = len(contact)
    if rows == 0:
        starts = np.zeros(0, np.int64)
    else:
        change = pc.not_equal(contact.slice(1), contact.slice(0, rows - 1))
        starts = np.flatnonzero(np.concatenate(([True], change.to_numpy(zero_copy_only=False))))
    sizes = np.diff(np.append(starts, rows))
    return starts, sizes, np.repeat(np.arange(len(starts)), sizes)


def stage_spells(entries: Any, stages: Sequence[str]) -> Any:
    """The ``stage_spells`` table from stage entries and closes in order (:func:`in_order` of
    :data:`SPELL_EVENTS` with the column ``stage`` and ``close`` computed as :data:`CLOSE`).

    A stay starts when a contact enters a stage; consecutive entries into the same stage are
    one stay, and a move back to an earlier stage starts a new one. A stay ends with the first
    of these (``ended_by``, :data:`workbook.crm.schema.SPELL_ENDS`):

    - ``stage``: the contact enters another stage (``next_stage``); ``exited_at`` is then;
    - ``won`` / ``lost``: a deal of the contact closes (a close event: kind ``deal``, action
      won or lost); ``exited_at`` is the close's time. With several deals, the first close
      after the stay's start ends it, whichever deal it is;
    - ``open``: neither has happened yet (``exited_at`` null).

    A close at the very moment the contact enters a stage (the same timestamp) ends nothing:
    it is part of that move, as when a CRM records a deal won as the contact enters its won
    stage; the stay before ends with the move and the new one goes on. Two closes at one
    moment count as one, a win over a loss. A close while the contact is in no stay (before
    its first stage entry, or after another close) ends nothing. A stage entry after a close
    starts a new stay, in the same stage too.

    ``stages`` are the workspace's stage ids in order (``stage_index``); a stage not among
    them keeps a null index. The rows come per contact in time order, as the entries did.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from workbook.crm import schema

    rows = entries.num_rows
    if rows == 0:
        return schema.STAGE_SPELLS.empty_table()
    contact = entries.column("contact_id").combine_chunks()
    ts = entries.column("ts").combine_chunks()
    # each row's close: 0 none (a stage entry), 1 won, 2 lost
    names, code, _ = _codes(entries.column("close").combine_chunks())
    outcome = np.array([{"won": 1, "lost": 2}.get(v, 0) for v in names.to_pylist()] + [0])
    outcome = outcome.astype(np.int8)[code]
    entry = outcome == 0
    _, _, run = _runs(contact)
    micros = ts.cast(pa.int64()).to_numpy(zero_copy_only=False)

    # Moments: a contact's rows at one timestamp (adjacent, the rows being in order). A close
    # counts only at a moment without a stage entry, once per moment, a win over a loss.
    new_moment = np.ones(rows, bool)
    new_moment[1:] = (run[1:] != run[:-1]) | (micros[1:] != micros[:-1])
    first_rows = np.flatnonzero(new_moment)
    del new_moment, micros
    has_won = np.logical_or.reduceat(outcome == 1, first_rows)
    closes = ~np.logical_or.reduceat(entry, first_rows) & (
        has_won | np.logical_or.reduceat(outcome == 2, first_rows)
    )
    close_rows = first_rows[closes]  # a close moment's first row is a close
    close_kind = np.zeros(rows, np.int8)
    close_kind[close_rows] = np.where(has_won[closes], 1, 2)
    del outcome, has_won, closes, first_rows

    # The timeline: every stage entry and each counted close, in order.
    chosen = entry.copy()
    chosen[close_rows] = True
    line = np.flatnonzero(chosen)
    del chosen, close_rows
    n = len(line)
    run_l, kind_l = run[line], close_kind[line]
    is_entry = kind_l == 0
    stage = entries.column("stage").combine_chunks().take(pa.array(line)).cast(pa.string())
    after_same = np.zeros(n, bool)  # the row before is of the same contact
    after_same[1:] = run_l[1:] == run_l[:-1]
    if n > 1:
        same = pc.equal(stage.slice(1), stage.slice(0, n - 1))
        same_stage = np.concatenate(
            ([False], pc.fill_null(same, False).to_numpy(zero_copy_only=False))
        )
    else:
        same_stage = np.zeros(n, bool)
    prev_entry = np.zeros(n, bool)
    prev_entry[1:] = is_entry[:-1]
    # a stay starts at an entry unless the row before is an entry into the same stage; a close
    # ends the stay when the row before is an entry (after a close, there is no stay to end)
    starts_stay = is_entry & ~(after_same & prev_entry & same_stage)
    ends_stay = ~is_entry & after_same & prev_entry
    del same_stage, prev_entry, is_entry

    # Each stay's end is the next of these rows: a stay's start (a move) or a close.
    marks = np.flatnonzero(starts_stay | ends_stay)
    k = len(marks)
    start_m, run_m = starts_stay[marks], run_l[marks]
    has_next = np.zeros(k, bool)
    has_next[:-1] = run_m[1:] == run_m[:-1]
    nxt = np.minimum(np.arange(k) + 1, max(k - 1, 0))
    spell = np.flatnonzero(start_m)
    nxt_s = nxt[spell]
    moved = (has_next & start_m[nxt])[spell]
    closed = (has_next & ~start_m[nxt])[spell]
    at = pa.array(line[marks[spell]])  # the stays' rows in entries, and their ends'
    end_at = pa.array(line[marks[nxt_s]])
    here, there = pa.array(marks[spell]), pa.array(marks[nxt_s])  # the same, in the timeline
    ended = np.where(moved, 0, np.where(closed, kind_l[marks[nxt_s]], 3))
    del starts_stay, ends_stay, marks, start_m, run_m, has_next, nxt, line, run_l, kind_l

    contact = contact.take(at)
    starts, _, group = _runs(contact)
    seq = np.arange(len(contact)) - starts[group]
    known = pa.array(list(stages), pa.string())
    stay_stage = stage.take(here)
    index = pc.index_in(stay_stage, value_set=known).cast(pa.int16())
    next_stage = pc.if_else(pa.array(moved), stage.take(there), pa.scalar(None, pa.string()))
    exited = pc.if_else(pa.array(moved | closed), ts.take(end_at), pa.scalar(None, ts.type))
    return pa.table(
        {
            "contact_id": contact,
            "seq": pa.array(seq.astype(np.int32)),
            "stage": stay_stage,
            "stage_index": index,
            "entered_at": ts.take(at),
            "exited_at": exited,
            "next_stage": next_stage,
            "next_stage_index": pc.index_in(next_stage, value_set=known).cast(pa.int16()),
            "ended_by": pa.array(list(schema.SPELL_ENDS), pa.string()).take(
                pa.array(ended.astype(np.int8))
            ),
        },
        schema=schema.STAGE_SPELLS,
    )


def stage_entries(spells: Any) -> Any:
    """The ``stage_entries`` table from :func:`stage_spells`: each contact's first spell in
    each stage, ordered by contact, time and stage (the stage breaks a tie in time)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from workbook.crm import schema

    contact = spells.column("contact_id").combine_chunks()
    names, code, width = _codes(spells.column("stage").combine_chunks())
    _, _, run = _runs(contact)
    # a contact's spells are in time order, so its first in a stage is its earliest there
    first = np.flatnonzero(_first_of_each(run.astype(np.int64) * width + code))
    rank = np.empty(width - 1, np.int64)  # each stage's place in name order
    rank[pc.sort_indices(names).to_numpy()] = np.arange(width - 1)
    entered = spells.column("entered_at").combine_chunks().cast(pa.int64()).to_numpy()
    order = pa.array(first[np.lexsort((rank[code[first]], entered[first], run[first]))])
    return pa.table(
        {
            "contact_id": contact.take(order),
            "stage": spells.column("stage").take(order),
            "stage_index": spells.column("stage_index").take(order),
            "first_entered_at": spells.column("entered_at").take(order),
        },
        schema=schema.STAGE_ENTRIES,
    )


def stage_paths(spells: Any, stages: Sequence[str]) -> Any:
    """Per contact: ``stage_path`` (the stages of its spells in order), ``furthest_stage`` and
    ``furthest_stage_index`` (the latest of the workspace's stages it reached)."""
    import numpy as np
    import pyarrow as pa

    contact = spells.column("contact_id").combine_chunks()
    starts, _, _ = _runs(contact)
    rows = len(contact)
    index = spells.column("stage_index").combine_chunks()
    filled = index.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    # the furthest of the workspace's stages; -1 when none of its stages is
    best = np.maximum.reduceat(filled, starts) if rows else np.zeros(0, np.int32)
    known = pa.array(list(stages), pa.string())
    return pa.table(
        {
            "contact_id": contact.take(pa.array(starts)),
            "stage_path": pa.ListArray.from_arrays(
                pa.array(np.append(starts, rows).astype(np.int32)),
                spells.column("stage").combine_chunks(),
            ),
            "furthest_stage": known.take(pa.array(np.maximum(best, 0), mask=best < 0)),
            "furthest_stage_index": pa.array(best.astype(np.int16), mask=best < 0),
        }
    )


def sequences(touches: Any, won: Any) -> tuple[Any, Any, Any]:
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
    (per_contact, journey, after_win)
        ``per_contact``: ``contact_id``, ``touchpoints`` (every touch, in order),
        ``first_touch``, ``last_touch`` (the last before the win, or the last of all),
        ``n_touches``. ``journey``: the touches up to the win, each naming its contact by
        ``contact_run`` (its row in ``per_contact``: 4 bytes, not the id), with ``pos`` (1-based),
        ``n`` (the journey's length), ``prev`` (the touchpoint before, within the journey),
        ``first`` (the contact's first touch of this touchpoint), ``first_content`` (its
        first touch of this touchpoint with a content action), ``stage`` and ``first_stage``
        (its first touch of this touchpoint in this stage). ``after_win``: the touches after
        the win (``contact_run``, ``touchpoint``, ``channel``, ``stage``, ``first``,
        ``first_stage``). With the flags, the touchpoint rollups count contacts without
        grouping the touches per contact.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from workbook.crm.actions import CONTENT_ACTIONS

    rows = touches.num_rows
    contact = touches.column("contact_id").combine_chunks()
    point = touches.column("touchpoint").combine_chunks()
    starts, sizes, group = _runs(contact)

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
    # the first touch of each (contact, touchpoint), and the first with a content action;
    # a journey is a prefix of the touches, so a first touch within it is a first overall
    _, code, width = _codes(point)
    key = group.astype(np.int64 if len(starts) * width >= 2**31 else np.int32) * width + code
    content = pc.is_in(
        touches.column("action").combine_chunks().cast(pa.string()),
        value_set=pa.array(CONTENT_ACTIONS, pa.string()),
    )
    content_rows = np.flatnonzero(pc.fill_null(content, False).to_numpy(zero_copy_only=False))
    first = _first_of_each(key)
    first_content = np.zeros(rows, bool)
    first_content[content_rows[_first_of_each(key[content_rows])]] = True
    del content_rows
    # and the first of each (contact, stage, touchpoint); touches without a stage share one
    stage = touches.column("stage").combine_chunks()
    _, stage_code, stage_width = _codes(stage)
    first_stage = _first_of_each(key.astype(np.int64) * stage_width + stage_code)
    del key, stage_code

    chosen = pa.array(np.flatnonzero(keep_np))
    after = pa.array(np.flatnonzero(~keep_np))
    run = pa.array(group.astype(np.int32))
    after_win = pa.table(
        {
            "contact_run": run.take(after),
            "touchpoint": point.take(after),
            "channel": touches.column("channel").take(after),
            "stage": stage.take(after),
            "first": pa.array(first[~keep_np]),
            "first_stage": pa.array(first_stage[~keep_np]),
        }
    )
    journey = pa.table(
        {
            "contact_run": run.take(chosen),
            "touchpoint": point.take(chosen),
            "channel": touches.column("channel").take(chosen),
            "pos": pa.array(pos[keep_np].astype(np.int32)),
            "n": pa.array(kept[group][keep_np].astype(np.int32)),
            "prev": prev.take(chosen),
            "first": pa.array(first[keep_np]),
            "first_content": pa.array(first_content[keep_np]),
            "stage": stage.take(chosen),
            "first_stage": pa.array(first_stage[keep_np]),
        }
    )
    return per_contact, journey, after_win


def _codes(values: Any) -> tuple[Any, Any, int]:
    """A text column as numbers: (distinct values, each row's index among them with a null as
    one more index, how many indices there are)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    coded = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
    width = len(coded.dictionary) + 1
    code = pc.fill_null(coded.indices, width - 1).to_numpy(zero_copy_only=False)
    return coded.dictionary, code, width


def _first_of_each(key: Any) -> Any:
    """Whether each value of ``key`` is its first occurrence (a stable sort: ``key`` runs by
    contact already, so it is nearly in order and sorts fast, in less memory than a hash)."""
    import numpy as np

    order = np.argsort(key, kind="stable")
    ordered = key[order]
    new = np.ones(len(key), bool)
    new[1:] = ordered[1:] != ordered[:-1]
    first = np.zeros(len(key), bool)
    first[order[new]] = True
    return first
