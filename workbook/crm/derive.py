"""The derived tables analytics read most: computed once at import, over every source.

From the canonical Parquet files under ``data/sources/*/`` this builds:

- ``stage_spells``: one row per stay of a contact in a stage (consecutive entries into the
  same stage are one stay; a move back to an earlier stage starts a new one), ended by the
  next stage entered or by a deal's close, whichever comes first (``ended_by``; the rule is
  :func:`workbook.crm.sequences.stage_spells`'s);
- ``stage_entries``: the first entry of each contact into each stage;
- ``contact_paths``: one row per contact with its stage path, touchpoints in order, first and
  last touch, best deal outcome and time to close;
- the rollups (:data:`workbook.crm.schema.ROLLUPS`): small counts per group of contacts
  (persona, segment, ICP) that answer the analytics questions without rescanning the event
  log: contacts by outcome and stages reached, stage moves, touches by stage, journeys with
  their attribution credit and Markov transitions, channel reach, experiment counts. On 10M
  events they hold a few thousand rows, so a question reads them in milliseconds. For lead
  scoring (whose rules change without a re-import, and whose decay weighs each event by
  its age), the event log's distinct kind/touchpoint/channel/action/stage combinations,
  numbered, and every touch and stage event as (contact number, time, combination).

Everything is ordered explicitly (contact, ts, seq, source, stage), never by input row order,
so shuffled input and tied timestamps give the same tables. ``touchpoints`` and the touch
counts leave out ``sent`` actions: a message sent is not yet something the contact did.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from workbook.crm import schema
from workbook.crm.actions import CONTENT_ACTIONS, EXPOSURE_ACTIONS
from workbook.crm.sequences import (
    CLOSE,
    SPELL_EVENTS,
    arrow_table,
    in_order,
    sequences,
    sorted_touches,
    stage_entries,
    stage_paths,
    stage_spells,
)

__all__ = [
    "DERIVED",
    "JOURNEY_SQL",
    "PATHS_SQL",
    "REACHED_SQL",
    "ROLLUP_SQL",
    "TOUCHES_SQL",
    "build_derived",
    "connect",
    "copy_parquet",
    "duck_type",
    "rebuild_workspace",
    "workspace_stages",
]

DERIVED = ("stage_spells", "stage_entries", "contact_paths", *schema.ROLLUPS)


# The SQL below is written over named relations, so the analytics engine can run the very
# same text over its views when a workspace was imported before a rollup existed:
# {events} the event log, {spells} stage_spells, {paths} one row per contact (contact_id,
# persona, segment, icp, lead_source, outcome, won_at), {reached}, {journey} and {touches}
# below, {numbered} each contact_id with n, its row in contact_paths (0-based, sorted by id),
# and {combos} the score_combos rollup.

#: {paths} for a workspace without contact_paths: contact attributes and best deal outcome.
PATHS_SQL = """
WITH c AS (
    SELECT contact_id, min(persona) AS persona, min(segment) AS segment, min(icp) AS icp,
           min(lead_source) AS lead_source
    FROM {contacts} GROUP BY contact_id
), d AS (
    SELECT contact_id,
           CASE WHEN bool_or(outcome = 'won') THEN 'won'
                WHEN bool_or(outcome = 'open') THEN 'open'
                WHEN bool_or(outcome = 'lost') THEN 'lost' END AS outcome,
           min(closed_at) FILTER (WHERE outcome = 'won') AS won_at
    FROM {deals} GROUP BY contact_id
), ids AS (
    SELECT contact_id FROM {contacts} UNION SELECT contact_id FROM {events}
    UNION SELECT contact_id FROM {deals}
)
SELECT ids.contact_id, c.persona, c.segment, c.icp, c.lead_source,
       coalesce(d.outcome, 'none') AS outcome, d.won_at
FROM ids LEFT JOIN c USING (contact_id) LEFT JOIN d USING (contact_id)
WHERE ids.contact_id IS NOT NULL
"""

#: Per contact, the stages it ever entered, as a sorted list of ids.
REACHED_SQL = """
SELECT contact_id, list_sort(list_distinct(list(stage))) AS reached
FROM {spells} WHERE contact_id IS NOT NULL GROUP BY contact_id
"""

#: Touches that count towards a contact's journey: every touch with a touchpoint except a
#: message ``sent`` (not yet something the contact did), and for a contact who won, only
#: those up to the close of the first won deal (what came after the win did not win it).
#: ``pos`` is 1-based in time order; ties on ``ts`` are broken by ``seq``, then touchpoint
#: and action, so the order never depends on the file's rows.
JOURNEY_SQL = """
SELECT t.contact_id, p.persona, p.segment, p.icp, t.touchpoint, t.channel, t.action,
       row_number() OVER w AS pos,
       count(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n,
       lag(t.touchpoint) OVER w AS prev,
       coalesce(p.outcome, 'none') AS outcome
FROM {events} t
LEFT JOIN {paths} p ON p.contact_id = t.contact_id
WHERE t.kind = 'touch' AND t.touchpoint IS NOT NULL AND coalesce(t.action, '') <> 'sent'
  AND (p.won_at IS NULL OR p.outcome <> 'won' OR t.ts <= p.won_at)
-- One window for all three columns: one sort instead of two. (The import computes the same
-- rows without a sort: workbook.crm.sequences.)
WINDOW w AS (PARTITION BY t.contact_id ORDER BY t.ts, t.seq, t.source_id, t.touchpoint, t.action)
"""

_GROUP_COLS = "p.persona, p.segment, p.icp"
_TOUCH = "kind = 'touch' AND touchpoint IS NOT NULL AND coalesce(action, '') <> 'sent'"
_POSITION = (
    "CASE WHEN n = 1 THEN 1.0 WHEN n = 2 THEN 0.5 WHEN pos = 1 OR pos = n THEN 0.4 "
    "ELSE 0.2 / (n - 2) END"
)

#: The outer SELECT of journey_touchpoints: the rows to add up come per contact and
#: touchpoint (ROLLUP_SQL) or per group of touches (the import's, below).
_JOURNEY_TOUCHPOINT_SUMS = """SELECT persona, segment, icp, outcome, touchpoint,
               min(channel) AS channel, sum(contacts) AS contacts,
               sum(content_contacts) AS content_contacts, sum(touches) AS touches,
               sum(first_touch) AS first_touch, sum(last_touch) AS last_touch,
               sum(linear) AS linear, sum(position_based) AS position_based,
               sum(all_contacts) AS all_contacts, sum(all_touches) AS all_touches"""

#: Per contact, stage and touchpoint: the touches (as counted in journeys) and a channel.
#: Two rollups add these up (touches by stage, and every touch of a journey's touchpoints),
#: so the event log is grouped once for both.
TOUCHES_SQL = f"""
SELECT contact_id, stage, touchpoint, count(*) AS touches, min(channel) AS channel
FROM {{events}} WHERE {_TOUCH}
GROUP BY contact_id, stage, touchpoint
"""

#: The SQL of each rollup (see schema.ROLLUPS for what the columns mean).
ROLLUP_SQL: dict[str, str] = {
    "contact_groups": f"""
        SELECT {_GROUP_COLS}, p.lead_source, coalesce(p.outcome, 'none') AS outcome,
               coalesce(r.reached, []::VARCHAR[]) AS reached, count(*) AS contacts
        FROM {{paths}} p LEFT JOIN {{reached}} r ON r.contact_id = p.contact_id
        WHERE p.contact_id IS NOT NULL
        GROUP BY ALL
    """,
    # a stay's end: a move to next_stage, or a close (spells written before ended_by existed
    # have it null: their ends are all moves)
    "stage_moves": f"""
        SELECT {_GROUP_COLS}, sp.stage, sp.next_stage,
               CASE WHEN sp.next_stage IS NOT NULL THEN 'stage' ELSE sp.ended_by END AS ended_by,
               count(*) AS moves, count(DISTINCT sp.contact_id) AS contacts
        FROM {{spells}} sp LEFT JOIN {{paths}} p ON p.contact_id = sp.contact_id
        WHERE sp.next_stage IS NOT NULL OR sp.ended_by IN ('won', 'lost')
        GROUP BY ALL
    """,
    "stage_touchpoints": f"""
        WITH per AS (
            SELECT * FROM {{touches}} WHERE stage IS NOT NULL
        )
        SELECT {_GROUP_COLS}, per.stage, coalesce(r.reached, []::VARCHAR[]) AS reached,
               per.touchpoint, min(per.channel) AS channel, sum(per.touches) AS touches,
               count(*) AS contacts
        FROM per
        LEFT JOIN {{paths}} p ON p.contact_id = per.contact_id
        LEFT JOIN {{reached}} r ON r.contact_id = per.contact_id
        GROUP BY ALL
    """,
    "journey_touchpoints": f"""
        WITH per AS (
            SELECT contact_id, persona, segment, icp, outcome, touchpoint,
                   min(channel) AS channel, count(*) AS touches,
                   bool_or(action IN ({", ".join(f"'{a}'" for a in CONTENT_ACTIONS)})) AS content,
                   count(*) FILTER (pos = 1) AS first_touch,
                   count(*) FILTER (pos = n) AS last_touch,
                   sum(1.0 / n) AS linear,
                   sum({_POSITION}) AS position_based
            FROM {{journey}}
            GROUP BY contact_id, persona, segment, icp, outcome, touchpoint
        ), everything AS (
            SELECT contact_id, touchpoint, sum(touches) AS touches
            FROM {{touches}}
            GROUP BY contact_id, touchpoint
        )
        {_JOURNEY_TOUCHPOINT_SUMS}
        FROM (
            SELECT persona, segment, icp, outcome, touchpoint, channel, 1 AS contacts,
                   CASE WHEN content THEN 1 ELSE 0 END AS content_contacts, touches,
                   first_touch, last_touch, linear, position_based,
                   0 AS all_contacts, 0 AS all_touches
            FROM per
            UNION ALL BY NAME
            SELECT {_GROUP_COLS}, coalesce(p.outcome, 'none') AS outcome, e.touchpoint,
                   CASE WHEN e.contact_id IS NULL THEN 0 ELSE 1 END AS all_contacts,
                   e.touches AS all_touches
            FROM everything e LEFT JOIN {{paths}} p ON p.contact_id = e.contact_id
        )
        GROUP BY ALL
    """,
    "journey_transitions": """
        SELECT persona, segment, icp,
               CASE WHEN pos = 1 THEN '(start)' ELSE prev END AS from_state,
               touchpoint AS to_state, count(*) AS n
        FROM {journey}
        GROUP BY ALL
        UNION ALL
        SELECT persona, segment, icp, touchpoint AS from_state,
               CASE WHEN outcome = 'won' THEN '(conversion)' ELSE '(null)' END AS to_state,
               count(*) AS n
        FROM {journey}
        WHERE pos = n
        GROUP BY ALL
    """,
    "channel_groups": f"""
        WITH c AS (
            SELECT contact_id, channel,
                   count(*) FILTER (action = 'sent') AS n_sent,
                   bool_or(action IN ('open', 'click', 'reply')) AS opened,
                   bool_or(action = 'click') AS clicked,
                   bool_or(action = 'reply') AS replied
            FROM {{events}}
            WHERE kind = 'touch' AND channel IS NOT NULL
              AND action IN ('sent', 'open', 'click', 'reply')
            GROUP BY contact_id, channel
        )
        SELECT {_GROUP_COLS}, c.channel,
               sum(n_sent) AS messages_sent,
               count(*) FILTER (n_sent > 0) AS contacts_sent,
               count(*) FILTER (n_sent > 0 AND opened) AS contacts_opened,
               count(*) FILTER (n_sent > 0 AND clicked) AS contacts_clicked,
               count(*) FILTER (n_sent > 0 AND replied) AS contacts_replied
        FROM c LEFT JOIN {{paths}} p ON p.contact_id = c.contact_id
        GROUP BY ALL
    """,
    "experiment_counts": f"""
        SELECT experiment, variant,
               count(DISTINCT contact_id) AS exposed,
               count(DISTINCT contact_id) FILTER (
                   coalesce(action, '') NOT IN ({", ".join(f"'{a}'" for a in EXPOSURE_ACTIONS)})
               ) AS converted
        FROM {{events}}
        WHERE experiment IS NOT NULL AND variant IS NOT NULL
        GROUP BY experiment, variant
    """,
    # Numbered in the order of their values, so the same data always numbers them alike.
    "score_combos": """
        SELECT (row_number() OVER (ORDER BY kind, touchpoint, channel, action, stage) - 1)::INTEGER
                   AS combo, *
        FROM (
            SELECT kind, touchpoint, channel, action, stage, count(*) AS events,
                   max(ts) AS last_ts
            FROM {events} GROUP BY ALL
        )
    """,
    # Only touches and stage entries: the only events a scoring rule can match.
    "score_events": """
        SELECT c.n, e.ts, k.combo
        FROM {events} e
        JOIN {numbered} c ON c.contact_id = e.contact_id
        JOIN {combos} k ON k.kind = e.kind
             AND k.touchpoint IS NOT DISTINCT FROM e.touchpoint
             AND k.channel IS NOT DISTINCT FROM e.channel
             AND k.action IS NOT DISTINCT FROM e.action
             AND k.stage IS NOT DISTINCT FROM e.stage
        WHERE e.kind IN ('touch', 'stage')
    """,
}


#: journey_touchpoints as the import computes it: the same sums as ROLLUP_SQL's, with the
#: contacts counted from the journey's first-touch flags (workbook.crm.sequences) instead of
#: grouping 4M touches per contact and touchpoint. {after_win}: the touches after a win,
#: which count only in ``all_contacts`` and ``all_touches``.
_FLAGGED_JOURNEY_TOUCHPOINTS = f"""
    {_JOURNEY_TOUCHPOINT_SUMS}
    FROM (
        SELECT persona, segment, icp, outcome, touchpoint, min(channel) AS channel,
               count(*) FILTER (first) AS contacts,
               count(*) FILTER (first_content) AS content_contacts,
               count(*) AS touches,
               count(*) FILTER (pos = 1) AS first_touch,
               count(*) FILTER (pos = n) AS last_touch,
               sum(1.0 / n) AS linear,
               sum({_POSITION}) AS position_based,
               count(*) FILTER (first) AS all_contacts,
               count(*) AS all_touches
        FROM {{journey}}
        GROUP BY persona, segment, icp, outcome, touchpoint
        UNION ALL BY NAME
        SELECT persona, segment, icp, outcome, touchpoint,
               count(*) FILTER (first) AS all_contacts, count(*) AS all_touches
        FROM {{after_win}}
        GROUP BY persona, segment, icp, outcome, touchpoint
    )
    GROUP BY ALL
"""


#: stage_touchpoints as the import computes it: ROLLUP_SQL's counts, with the contacts counted
#: from the first-touch-in-stage flags and the stages reached grouped by their number. The
#: journey's touches and those after the win are every touch.
_FLAGGED_STAGE_TOUCHPOINTS = """
    WITH t AS (
        SELECT persona, segment, icp, stage, reached_id, touchpoint, channel, first_stage
        FROM {journey} WHERE stage IS NOT NULL
        UNION ALL
        SELECT persona, segment, icp, stage, reached_id, touchpoint, channel, first_stage
        FROM {after_win} WHERE stage IS NOT NULL
    ), g AS (
        SELECT persona, segment, icp, stage, reached_id, touchpoint, min(channel) AS channel,
               count(*) AS touches, count(*) FILTER (first_stage) AS contacts
        FROM t
        GROUP BY persona, segment, icp, stage, reached_id, touchpoint
    )
    SELECT g.persona, g.segment, g.icp, g.stage, coalesce(r.reached, []::VARCHAR[]) AS reached,
           g.touchpoint, g.channel, g.touches, g.contacts
    FROM g LEFT JOIN (SELECT DISTINCT reached_id, reached FROM {paths}) r USING (reached_id)
"""


def connect(
    threads: int | None = None, memory_limit: str | None = None, spill_dir: Path | None = None
) -> Any:
    """A DuckDB connection set to UTC (timestamps are compared and truncated in UTC).

    With ``memory_limit`` DuckDB spills large sorts and joins to ``spill_dir`` (default: a
    private temporary folder, removed when the process ends) instead of growing past the limit.
    """
    import atexit
    import shutil
    import tempfile

    import duckdb

    con = _session(duckdb.connect())
    if threads:
        con.execute(f"SET threads={int(threads)}")
    if memory_limit:
        if spill_dir is None:
            spill = tempfile.mkdtemp(prefix="workbook-duckdb-")
            atexit.register(shutil.rmtree, spill, True)
        else:
            spill = str(spill_dir)
        con.execute(f"SET memory_limit='{memory_limit}'")
        con.execute(f"SET temp_directory='{_q(spill)}'")
    return con


def _session(con: Any) -> Any:
    """Set a connection's own settings (a cursor of it starts without them)."""
    con.execute("SET TimeZone='UTC'")
    con.execute("SET preserve_insertion_order=false")  # we always ORDER BY what matters
    # DuckDB's own bar would draw over the CLI's progress bar and into notebook outputs.
    con.execute("SET enable_progress_bar=false")
    # DuckDB's allocator keeps what a worker thread freed until that thread allocates again;
    # its background threads hand it back to the system within a second instead. At 10M
    # events, with the release of Arrow's memory before the touches, the import's peak fell
    # from 1,871-1,976 MB to 1,818-1,849 MB, at the same speed.
    con.execute("SET allocator_background_threads=true")
    return con


def _files(source_dirs: Sequence[Path], table: str) -> list[str]:
    """One entry per source that has the table: its file, or the glob of the part files of a
    table the Spark import wrote as a folder."""
    found = [d / f"{table}.parquet" for d in source_dirs if (d / f"{table}.parquet").exists()]
    return [str(f / "*.parquet") if f.is_dir() else str(f) for f in found]


def _view(con: Any, name: str, files: list[str], table: str) -> None:
    if files:
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        body = f"SELECT * FROM read_parquet([{listing}], union_by_name=true)"
        if len(files) > 1:  # what two sources report about one person counts once
            body = schema.merged_sql(table, f"({body})")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {body}")
    else:
        con.register(f"_{name}_empty", schema.TABLES[table].empty_table())
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM _{name}_empty")


#: contact_paths without the lists, which come from workbook.crm.sequences (already per
#: contact, in contact order) and are attached in Arrow: DuckDB would join and sort 1M rows
#: of lists for nothing. It reads _deals_by_contact, which build_derived makes first.
_CONTACT_SCALARS_SQL = """
WITH c AS (
    SELECT contact_id, min(persona) AS persona, min(segment) AS segment,
           min(icp) AS icp, min(lead_source) AS lead_source,
           min(created_at) AS created_at
    FROM co GROUP BY contact_id
), d AS (
    SELECT * FROM _deals_by_contact
), t AS (
    SELECT contact_id, min(ts) AS first_event FROM ev GROUP BY contact_id
), ids AS (
    SELECT contact_id FROM c UNION SELECT contact_id FROM t
    UNION SELECT contact_id FROM d
)
SELECT ids.contact_id, c.persona, c.segment, c.icp, c.lead_source,
       coalesce(d.outcome, 'none') AS outcome,
       d.deal_amount,
       least(c.created_at, t.first_event, d.first_deal) AS first_seen,
       d.won_at,
       -- unknown (not 0) when nothing of the contact was recorded before the win
       CASE WHEN least(c.created_at, t.first_event, d.first_deal) < d.won_at
            THEN date_diff('second', least(c.created_at, t.first_event, d.first_deal), d.won_at)
                 / 86400.0 END AS days_to_close
FROM ids
LEFT JOIN c USING (contact_id) LEFT JOIN d USING (contact_id)
LEFT JOIN t USING (contact_id)
WHERE ids.contact_id IS NOT NULL
ORDER BY ids.contact_id
"""


def _independent(con: Any, dirs: Sequence[Path], out: Path) -> tuple[Any, Any, dict[str, int]]:
    """What needs only the source tables, not the sequences: contact_paths without its
    lists, the score combos, and the rollups made from the event log alone (with the
    contacts' persona, segment and icp, and their numbers in contact_paths).

    Run on a second connection (``con``, closed here) on another thread while the first
    connection's thread puts the events in order in Arrow, mostly on one core: DuckDB uses
    the other (10M events: the derived tables in ~24 s instead of ~28 s).
    """
    import numpy as np
    import pyarrow as pa

    try:
        _session(con)
        for table, name in (("events", "ev"), ("contacts", "co"), ("deals", "de")):
            _view(con, name, _files(dirs, table), table)
        scalars = arrow_table(con.sql(_CONTACT_SCALARS_SQL).arrow())
        # sorted by contact id like contact_paths: a contact's row is its number there
        con.register(
            "_paths",
            scalars.append_column("n", pa.array(np.arange(scalars.num_rows, dtype=np.int64))),
        )
        combos = arrow_table(con.sql(ROLLUP_SQL["score_combos"].format(events="ev")).arrow())
        con.register("_scored_combos", combos)
        names = {
            "events": "ev",
            "paths": "_paths",
            "numbered": "_paths",
            "combos": "_scored_combos",
        }
        written = {}
        for table in _INDEPENDENT_ROLLUPS:
            sql = f"SELECT * FROM ({ROLLUP_SQL[table].format(**names)}) ORDER BY ALL"
            written[table] = _write_table(con, table, sql, out)
        return scalars, combos, written
    finally:
        con.close()


#: The rollups :func:`_independent` writes.
_INDEPENDENT_ROLLUPS = ("experiment_counts", "channel_groups")


def build_derived(
    source_dirs: Sequence[str | Path],
    stages: Sequence[str],
    out_dir: str | Path,
    *,
    con: Any = None,
) -> dict[str, int]:
    """Compute the derived tables and rollups from canonical source folders and write them.

    Parameters
    ----------
    source_dirs
        Folders each holding ``contacts.parquet``, ``events.parquet``, ``deals.parquet``
        (any may be missing).
    stages
        The workspace's stage ids in order; they give ``stage_index``. Stages not in the list
        keep a null index.
    out_dir
        Where ``<table>.parquet`` files are written (each written to a temporary name first,
        then moved into place).

    Returns
    -------
    dict
        Rows written per derived table.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    dirs = [Path(d) for d in source_dirs]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    con = con or connect()
    for table, name in (("events", "ev"), ("contacts", "co"), ("deals", "de")):
        _view(con, name, _files(dirs, table), table)
    events = _files(dirs, "events")
    # not a temporary table: the second connection reads it too
    con.execute(
        """
        CREATE OR REPLACE TABLE _deals_by_contact AS
        SELECT contact_id,
               CASE WHEN bool_or(outcome = 'won') THEN 'won'
                    WHEN bool_or(outcome = 'open') THEN 'open'
                    WHEN bool_or(outcome = 'lost') THEN 'lost' END AS outcome,
               sum(amount) FILTER (WHERE outcome = 'won') AS deal_amount,
               min(closed_at) FILTER (WHERE outcome = 'won') AS won_at,
               min(created_at) AS first_deal
        FROM de GROUP BY contact_id
        """
    )
    pool = ThreadPoolExecutor(1, thread_name_prefix="workbook-derived")
    try:
        # each contact's stage entries and touches in order, once (workbook.crm.sequences)
        # Arrow tables live outside DuckDB's memory limit: each is written or handed to
        # DuckDB and dropped as soon as it can be, so that 10M events stay under 2 GB in all.
        entries = in_order(con, events, "ev", SPELL_EVENTS, ("stage",), {"close": CLOSE})
        early = pool.submit(_independent, con.cursor(), dirs, out)
        spells = stage_spells(entries, stages)
        del entries
        pa.default_memory_pool().release_unused()  # while the second connection works
        # already in order (contact, seq): written as it is, no sort
        counts: dict[str, int] = {"stage_spells": _write_arrow("stage_spells", spells, out)}
        counts["stage_entries"] = _write_arrow("stage_entries", stage_entries(spells), out)
        paths_by_stage = stage_paths(spells, stages)
        del spells
        written = "'" + (out / "stage_spells.parquet").as_posix().replace("'", "''") + "'"
        con.execute(f"CREATE OR REPLACE TEMP VIEW _spells AS SELECT * FROM read_parquet({written})")
        won = arrow_table(
            con.sql(
                "SELECT contact_id, won_at FROM _deals_by_contact WHERE won_at IS NOT NULL"
            ).arrow()
        )
        scalars, combos, done = early.result()
        # the Arrow memory freed since (the stage entries: ~300 MB at 10M events) goes back
        # before the touches come in
        pa.default_memory_pool().release_unused()
        per_contact, journey, after_win = sequences(sorted_touches(con, events, "ev"), won)
        # Arrow's allocator keeps freed memory for reuse (some 500 MB of the touches at 10M
        # events); DuckDB needs it next, to take the journeys and to group the contacts
        pa.default_memory_pool().release_unused()
        _to_duckdb(con, "_journey_rows", journey)
        _to_duckdb(con, "_after_win_rows", after_win)
        del journey, after_win
        pa.default_memory_pool().release_unused()
        _to_duckdb(con, "_combos", combos)
        # each contact's number in _cp (its row in contact_paths), by its row in per_contact
        numbers = pc.index_in(
            per_contact.column("contact_id"), value_set=scalars.column("contact_id")
        )
        _to_duckdb(
            con,
            "_run_numbers",
            pa.table(
                {"contact_run": pa.array(np.arange(len(numbers), dtype=np.int32)), "n": numbers}
            ),
        )
        paths = _with_lists(scalars, paths_by_stage, per_contact)
        del scalars, paths_by_stage, per_contact
        counts["contact_paths"] = _write_arrow("contact_paths", paths, out)
        del paths, numbers, won
        pa.default_memory_pool().release_unused()  # DuckDB's, for the rollups
        counts.update(_write_rollups(con, out / "contact_paths.parquet", out, done))
    finally:
        pool.shutdown(wait=True)  # the second connection is done (and closed) before the drops
        con.execute("DROP VIEW IF EXISTS _spells")
        for table in ("_journey_rows", "_after_win_rows", "_run_numbers", "_deals_by_contact"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return counts


#: What stands for a contact's list of stages reached while the rollups group by it: its
#: hash, unless two lists share one (then they are numbered in order, which takes a sort).
_REACHED_ID = "hash(reached)"


def _write_rollups(
    con: Any, contact_paths: Path, out: Path, done: Mapping[str, int]
) -> dict[str, int]:
    """Compute and write every rollup from the views and the tables just written, but those
    in ``done`` (already written: their row counts). ``_combos`` holds score_combos' rows.

    The per-contact table and each contact's journey are built once here and shared by all
    rollups: the one sort of the touch events by contact and time happens at import, not
    at every question.
    """
    path = "'" + contact_paths.as_posix().replace("'", "''") + "'"
    # n: the contact's row in contact_paths, which names it in the journey rows
    # reached: REACHED_SQL's lists, from the stage paths; reached_id stands for the list, so
    # the touches by stage group on a number rather than on a list
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _cp AS
        SELECT *, CASE WHEN reached IS NOT NULL THEN {_REACHED_ID} END AS reached_id
        FROM (
            SELECT file_row_number::INTEGER AS n, contact_id, persona, segment, icp,
                   lead_source, outcome, won_at,
                   list_sort(list_distinct(stage_path)) AS reached
            FROM read_parquet({path}, file_row_number = true)
        )
        """
    )
    collisions = con.execute(
        "SELECT count(*) FROM (SELECT DISTINCT reached_id, reached FROM _cp) "
        "GROUP BY reached_id HAVING count(*) > 1"
    ).fetchall()
    if collisions:  # two lists with one hash: number them exactly instead (a sort)
        con.execute(
            "UPDATE _cp SET reached_id = r.id FROM (SELECT n, CASE WHEN reached IS NOT NULL "
            "THEN dense_rank() OVER (ORDER BY reached) END AS id FROM _cp) r WHERE _cp.n = r.n"
        )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW _reached AS "
        "SELECT contact_id, reached FROM _cp WHERE reached IS NOT NULL"
    )
    # JOURNEY_SQL's rows, from the touches put in order once (workbook.crm.sequences); the
    # rollups only group by contact_id, so the contact's number stands in for its id
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _journey AS
        SELECT r.n AS contact_id, p.persona, p.segment, p.icp, j.touchpoint,
               j.channel, j.pos, j.n, j.prev, coalesce(p.outcome, 'none') AS outcome,
               j.first, j.first_content, j.stage, j.first_stage, p.reached_id
        FROM _journey_rows j JOIN _run_numbers r USING (contact_run)
        LEFT JOIN _cp p ON p.n = r.n
        """
    )
    con.execute("DROP TABLE _journey_rows")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _after_win AS
        SELECT p.persona, p.segment, p.icp, coalesce(p.outcome, 'none') AS outcome,
               a.touchpoint, a.first, a.channel, a.stage, a.first_stage, p.reached_id
        FROM _after_win_rows a JOIN _run_numbers r USING (contact_run)
        LEFT JOIN _cp p ON p.n = r.n
        """
    )
    con.execute("DROP TABLE _after_win_rows")
    names = {
        "events": "ev",
        "spells": "_spells",
        "paths": "_cp",
        "reached": "_reached",
        "journey": "_journey",
        "combos": "_combos",
        "after_win": "_after_win",
        # n: the rows of the file just written, which is sorted by contact id
        "numbered": "_cp",
    }
    counts: dict[str, int] = {}
    try:
        for table, sql in ROLLUP_SQL.items():
            if table in done:
                counts[table] = done[table]
                continue
            if table == "score_combos":
                sql = "SELECT * FROM _combos"  # from _independent, for score_events
            elif table == "journey_touchpoints":
                sql = _FLAGGED_JOURNEY_TOUCHPOINTS
            elif table == "stage_touchpoints":
                sql = _FLAGGED_STAGE_TOUCHPOINTS
            # Sorted on every column, so the same data always writes the same file.
            sql = f"SELECT * FROM ({sql.format(**names)}) ORDER BY ALL"
            counts[table] = _write_table(con, table, sql, out)
    finally:
        con.execute("DROP VIEW IF EXISTS _reached")
        for tmp in ("_cp", "_journey", "_after_win", "_combos"):
            con.execute(f"DROP TABLE IF EXISTS {tmp}")
    return counts


def _to_duckdb(con: Any, name: str, rows: Any) -> None:
    """Copy an Arrow table into the DuckDB temporary table ``name``."""
    con.register("_arrow_rows", rows)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _arrow_rows")
    finally:
        con.unregister("_arrow_rows")


def _with_lists(scalars: Any, stage_paths: Any, touches: Any) -> Any:
    """contact_paths: the per-contact values from SQL (sorted by contact) with the stage
    path and the touch lists attached by contact id."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = scalars.column("contact_id")
    columns = {name: scalars.column(name) for name in scalars.column_names}
    for part, names in (
        (stage_paths, ("stage_path", "furthest_stage", "furthest_stage_index")),
        (touches, ("touchpoints", "first_touch", "last_touch", "n_touches")),
    ):
        where = pc.index_in(ids, value_set=part.column("contact_id").combine_chunks())
        for name in names:
            columns[name] = part.column(name).take(where)
    columns["n_touches"] = pc.fill_null(columns["n_touches"], 0)
    target = schema.CONTACT_PATHS
    return pa.table([columns[f.name].cast(f.type) for f in target], schema=target)


@contextlib.contextmanager
def _replacing(final: Path) -> Iterator[Path]:
    """A new file beside ``final``, moved onto it when the block succeeds, removed if not.

    Not :func:`workbook.files.atomic_path`: its fsync of each file cost ~5 s on the derived
    tables of 10M events, and an import already gets all-or-nothing from its staging folder.
    """
    tmp = final.parent / f".{final.stem}-{uuid.uuid4().hex}.parquet.tmp"
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _write_arrow(table: str, data: Any, out: Path) -> int:
    """Write an Arrow table already in the canonical schema and order to ``out`` atomically."""
    import pyarrow.parquet as pq

    with _replacing(out / f"{table}.parquet") as tmp:
        pq.write_table(
            data.cast(schema.TABLES[table]),
            tmp,
            compression="zstd",
            row_group_size=1 << 17,
            **_write_options(table),
        )
    return int(data.num_rows)


def _write_table(con: Any, table: str, sql: str, out: Path) -> int:
    """Write one derived table, cast to its canonical schema, to ``out`` atomically."""
    target = schema.TABLES[table]
    cols = ", ".join(f'CAST("{f.name}" AS {duck_type(f.type)}) AS "{f.name}"' for f in target)
    with _replacing(out / f"{table}.parquet") as tmp:
        return copy_parquet(con, f"SELECT {cols} FROM ({sql})", table, tmp)


#: Columns whose values are nearly all distinct: a dictionary is tried on them and dropped.
_MANY_DISTINCT = frozenset({"contact_id", "deal_id"})

#: Parquet options per table, over :func:`_write_options`'s. score_events is every touch and
#: stage event as sorted numbers: delta encoding stores the contact number and the time as
#: small differences (10M events: 65 MB instead of 103 MB with dictionary and plain encoding).
_WRITE_OPTIONS: dict[str, dict[str, Any]] = {
    # The event log: statistics only on the sort keys, the one place a reader can skip row
    # groups by them (10M events: a quarter less time to write).
    "events": {"write_statistics": ["contact_id", "ts", "seq"]},
    "score_events": {
        "use_dictionary": ["combo"],
        "column_encoding": {"n": "DELTA_BINARY_PACKED", "ts": "DELTA_BINARY_PACKED"},
    },
}


def _write_options(table: str) -> dict[str, Any]:
    """How to write ``table``: a dictionary only for text with few distinct values (stages,
    touchpoints, personas, lists of them). On times, numbers and ids one is tried, found too
    big and dropped, at a cost: 10M events write in 3.2 s instead of 4.5 s, and 20% smaller.
    """
    import pyarrow as pa

    def text(t: Any) -> bool:
        return bool(pa.types.is_string(t) or (pa.types.is_list(t) and text(t.value_type)))

    options: dict[str, Any] = {
        "use_dictionary": [
            f.name for f in schema.TABLES[table] if text(f.type) and f.name not in _MANY_DISTINCT
        ]
    }
    return options | _WRITE_OPTIONS.get(table, {})


def copy_parquet(
    con: Any,
    sql: str,
    table: str,
    path: Path,
    *,
    restore: Callable[[Any], Any] | None = None,
    stream: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> int:
    """Stream a query's rows into a Parquet file with exactly the canonical schema of ``table``.

    Written through Arrow rather than DuckDB's COPY so the file's schema never depends on the
    data (DuckDB marks a column without nulls as required). ``stream``, if given, takes the
    query's batches and gives the batches to write (it may hold rows back from one batch to
    the next); ``restore`` then turns each into the table's columns. Returns the number of
    rows.
    """
    import pyarrow.parquet as pq

    target = schema.TABLES[table]
    rows = 0
    reader: Iterable[Any] = con.sql(sql).to_arrow_reader(1 << 17)
    if stream is not None:
        reader = stream(reader)
    options = _write_options(table)
    with pq.ParquetWriter(path, target, compression="zstd", **options) as writer:
        for batch in reader:
            writer.write_batch((restore(batch) if restore else batch).cast(target))
            rows += batch.num_rows
    return rows


def _q(path: str) -> str:
    return path.replace("'", "''")


def duck_type(t: Any) -> str:
    import pyarrow as pa

    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    if pa.types.is_list(t):
        return duck_type(t.value_type) + "[]"
    mapping = {
        pa.string(): "VARCHAR",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.float64(): "DOUBLE",
    }
    return mapping[t]


def rebuild_workspace(
    workspace_path: str | Path, stages: Sequence[str] | None = None
) -> dict[str, int]:
    """Rebuild ``data/derived/`` of a workspace from all its ``data/sources/*/``."""
    ws = Path(workspace_path)
    stage_ids = list(stages) if stages is not None else workspace_stages(ws)
    src_root = schema.data_dir(ws) / "sources"
    dirs = sorted(p for p in src_root.iterdir() if p.is_dir()) if src_root.exists() else []
    return build_derived(dirs, stage_ids, schema.data_dir(ws) / "derived")


def workspace_stages(workspace_path: str | Path) -> list[str]:
    """The stage ids of the workspace on disk (the method's defaults if it names none)."""
    import yaml

    from workbook.model import DEFAULT_STAGES

    path = Path(workspace_path) / "workspace.yaml"
    if path.exists():
        doc: Mapping[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        stages = doc.get("stages")
        if stages:
            return [s["id"] for s in stages]
    return [s[0] for s in DEFAULT_STAGES]
