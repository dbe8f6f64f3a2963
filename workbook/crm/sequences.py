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
#: A row's close, as a number: 1 a deal won, 2 a deal lost (a ``deal`` event with that
#: action), 0 anything else (a stage entry).
CLOSE = (
    "(CASE WHEN kind = 'deal' AND action = 'won' THEN 1 "
    "WHEN kind = 'deal' AND action = 'lost' THEN 2 ELSE 0 END)::TINYINT"
)
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
    and seq) and ``computed`` (name: SQL expression over the event's columns, a number),
    ordered by contact, ts, seq, source_id, then ``columns`` and ``computed``.

    ``files`` are the events files of every source; ``events`` names a DuckDB relation over
    all of them, sorted when the file order will not do. ``columns`` are dictionary-encoded:
    they hold a few dozen distinct values each, and the copies made from them then cost 4
    bytes a row, not the text (10M events: some 300 MB less at the peak).
    """
    extra = dict(computed or {})
    select = ", ".join(
        ["contact_id", "ts", "seq", *columns, *(f"{e} AS {c}" for c, e in extra.items())]
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
        order = ", ".join(["contact_id", "ts", "seq", "source_id", *columns, *extra])
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
    close = entries.column("close").combine_chunks().to_numpy(zero_copy_only=False)
    names, code, _ = _codes(entries.column("stage").combine_chunks())
    starts, _, run = _runs(contact)

    # The timeline: every stage entry, and each close that counts: at a moment (a contact's
    # rows at one timestamp, adjacent as the rows are in order) without a stage entry, one per
    # moment, a win over a loss.
    closing = np.flatnonzero(close)
    if len(closing):
        micros = ts.cast(pa.int64()).to_numpy(zero_copy_only=False)
        new_moment = np.empty(rows, bool)
        np.not_equal(micros[1:], micros[:-1], out=new_moment[1:])
        new_moment[starts] = True
        moment = np.cumsum(new_moment, dtype=np.int32 if rows < 2**31 else np.int64)
        del new_moment, micros
        at_close = moment[closing]
        at_entry = moment[close == 0]  # non-decreasing
        del moment
        pos = np.minimum(np.searchsorted(at_entry, at_close), max(len(at_entry) - 1, 0))
        alone = (at_entry[pos] != at_close) if len(at_entry) else np.ones(len(closing), bool)
        closing, at_close = closing[alone], at_close[alone]
        head = np.ones(len(closing), bool)
        head[1:] = at_close[1:] != at_close[:-1]
        heads = np.flatnonzero(head)
        won = np.logical_or.reduceat(close[closing] == 1, heads) if len(heads) else heads
        counted = closing[heads]
        chosen = close == 0
        chosen[counted] = True
        line = np.flatnonzero(chosen)
        kind = np.zeros(len(line), np.int8)  # 0 entry, 1 won, 2 lost
        kind[np.searchsorted(line, counted)] = np.where(won, 1, 2)
        del chosen, closing, at_close, at_entry, pos, alone, head, heads, won, counted
    else:
        line = np.arange(rows)
        kind = np.zeros(rows, np.int8)
    n = len(line)
    run_l, code_l = run[line], code[line]
    is_entry = kind == 0
    # a stay starts at an entry unless the row before is an entry into the same stage; a close
    # ends the stay when the row before is an entry (after a close, there is no stay to end)
    after_entry = np.zeros(n, bool)  # the row before is the same contact's stage entry
    after_entry[1:] = (run_l[1:] == run_l[:-1]) & is_entry[:-1]
    repeat = np.zeros(n, bool)
    repeat[1:] = code_l[1:] == code_l[:-1]
    starts_stay = is_entry & ~(after_entry & repeat)
    ends_stay = ~is_entry & after_entry
    del after_entry, repeat, is_entry, code_l

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
    at = line[marks[spell]]  # the stays' rows in entries, and the rows that end them
    end_at = line[marks[nxt_s]]
    ended = np.where(moved, 0, np.where(closed, kind[marks[nxt_s]], 3)).astype(np.int8)
    del starts_stay, ends_stay, marks, start_m, run_m, has_next, nxt, nxt_s, line, run_l, kind

    # seq: 0, 1, 2... per contact
    run_s = run[at]
    first = np.ones(len(at), bool)
    first[1:] = run_s[1:] != run_s[:-1]
    seq = np.arange(len(at)) - np.maximum.accumulate(np.where(first, np.arange(len(at)), 0))
    names = names.cast(pa.string())
    index_of = pc.index_in(names, value_set=pa.array(list(stages), pa.string())).cast(pa.int16())
    here = pa.array(code[at])
    there = pa.array(code[end_at], mask=~moved)
    return pa.table(
        {
            "contact_id": contact.take(pa.array(at)),
            "seq": pa.array(seq.astype(np.int32)),
            "stage": names.take(here),
            "stage_index": index_of.take(here),
            "entered_at": ts.take(pa.array(at)),
            "exited_at": ts.take(pa.array(end_at, mask=~(moved | closed))),
            "next_stage": names.take(there),
            "next_stage_index": index_of.take(there),
            "ended_by": pa.array(list(schema.SPELL_ENDS), pa.string()).take(pa.array(ended)),
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
