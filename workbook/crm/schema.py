"""The canonical tables every CRM source is read into, and where they live in a workspace.

This module is the contract between the importers (:mod:`workbook.crm`) and the analytics
(:mod:`workbook.analytics`): importers write exactly these columns, analytics read nothing
else. All timestamps are UTC (``timestamp[us, tz=UTC]``). ``contact_id`` is always a
pseudonym (``c`` + 16 hex digits, a keyed hash of the source's id with the workspace's
secret salt): no name, email or phone number is ever stored.

Layout inside a workspace folder::

    data/
      manifest.json                  one entry per imported source file (see importer)
      sources/<source-id>/contacts.parquet
      sources/<source-id>/events.parquet     sorted by contact_id, ts, seq
      sources/<source-id>/deals.parquet
      derived/stage_spells.parquet   one row per stay of a contact in a stage, and how it ended
      derived/stage_entries.parquet  first entry of each contact into each stage
      derived/contact_paths.parquet  one row per contact: path, touches, outcome
      derived/<rollup>.parquet       small counts per group of contacts (see ROLLUPS)
      rejects/<source-id>.csv        rows set aside, with the reason (opt-in)

Derived tables are rebuilt from ``sources/`` after every import, over all sources, so they
can always be regenerated and never disagree with the raw tables.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

__all__ = [
    "CONTACTS",
    "CONTACT_PATHS",
    "DEALS",
    "EVENTS",
    "EVENT_KINDS",
    "OUTCOMES",
    "SPELL_ENDS",
    "STAGE_ENTRIES",
    "STAGE_SPELLS",
    "ROLLUPS",
    "TABLES",
    "data_dir",
    "derived_path",
    "merged_sql",
    "source_dir",
]

_TS = pa.timestamp("us", tz="UTC")

#: What an event row records.
#: ``stage``: the contact entered ``stage``. ``touch``: the contact interacted with
#: ``touchpoint`` / ``channel`` (``action`` says how: sent, open, click, reply, visit, call,
#: attend, view, submit, chat, purchase...). ``deal``: a deal changed (``deal_id``, ``stage``).
#: ``rating``: anecdotal data, a survey or interview score in ``value`` (1-10).
EVENT_KINDS = ("stage", "touch", "deal", "rating")

#: Deal outcomes; ``none`` in contact_paths means the contact never had a deal.
OUTCOMES = ("won", "lost", "open", "none")

CONTACTS = pa.schema(
    [
        ("contact_id", pa.string()),  # pseudonym
        ("persona", pa.string()),  # persona id of the workspace, when known
        ("segment", pa.string()),  # segment id, when known
        ("icp", pa.string()),  # ICP id, when known
        ("lead_source", pa.string()),  # as the CRM names it (Organic Search, Paid Social...)
        ("industry", pa.string()),  # firmographics for ICP analysis, when known
        ("company_size", pa.string()),
        ("country", pa.string()),
        ("created_at", _TS),
        ("source_id", pa.string()),  # which import it came from
    ]
)

EVENTS = pa.schema(
    [
        ("contact_id", pa.string()),
        ("ts", _TS),
        # 0, 1, 2... over a contact's events at one ts, in order of content (see importer)
        ("seq", pa.int32()),
        ("kind", pa.string()),  # one of EVENT_KINDS
        (
            "stage",
            pa.string(),
        ),  # workspace stage id (kind stage/deal; for touch: stage at the time)
        ("touchpoint", pa.string()),  # workspace touchpoint id, when mapped
        ("channel", pa.string()),  # channel slug (email, web, whatsapp...)
        ("action", pa.string()),  # see EVENT_KINDS
        ("deal_id", pa.string()),
        ("experiment", pa.string()),  # experiment id, for A/B exposures and conversions
        ("variant", pa.string()),  # variant id
        ("value", pa.float64()),  # rating score, or amount for deal events
        ("source_id", pa.string()),
    ]
)

DEALS = pa.schema(
    [
        ("deal_id", pa.string()),
        ("contact_id", pa.string()),
        ("amount", pa.float64()),
        ("currency", pa.string()),
        ("created_at", _TS),
        ("closed_at", _TS),
        ("outcome", pa.string()),  # won, lost, open
        ("lost_reason", pa.string()),
        ("stage", pa.string()),  # the deal's last stage, as a workspace stage id
        ("source_id", pa.string()),
    ]
)

#: How a stay in a stage ended (``stage_spells.ended_by``): ``stage``, the contact entered
#: ``next_stage``; ``won`` or ``lost``, a deal of the contact closed (a ``deal`` event with that
#: action; the stay ends at the close, ``next_stage`` stays null); ``open``, the contact is
#: still in the stage. See :func:`workbook.crm.sequences.stage_spells` for the rule.
SPELL_ENDS = ("stage", "won", "lost", "open")

STAGE_SPELLS = pa.schema(
    [
        ("contact_id", pa.string()),
        ("seq", pa.int32()),  # 0, 1, 2... in time order per contact
        ("stage", pa.string()),
        ("stage_index", pa.int16()),  # position of the stage in the workspace's stage list
        ("entered_at", _TS),
        ("exited_at", _TS),  # the next stage's entry or the close; null while still there
        ("next_stage", pa.string()),  # null unless the stay ended with a move (ended_by stage)
        ("next_stage_index", pa.int16()),
        ("ended_by", pa.string()),  # one of SPELL_ENDS
    ]
)

STAGE_ENTRIES = pa.schema(
    [
        ("contact_id", pa.string()),
        ("stage", pa.string()),
        ("stage_index", pa.int16()),
        ("first_entered_at", _TS),
    ]
)

CONTACT_PATHS = pa.schema(
    [
        ("contact_id", pa.string()),
        ("persona", pa.string()),
        ("segment", pa.string()),
        ("icp", pa.string()),
        ("lead_source", pa.string()),
        ("stage_path", pa.list_(pa.string())),  # stages in order of entry, repeats kept
        ("furthest_stage", pa.string()),
        ("furthest_stage_index", pa.int16()),
        ("touchpoints", pa.list_(pa.string())),  # touchpoint ids in time order
        ("first_touch", pa.string()),
        ("last_touch", pa.string()),  # last touch before the first won deal closed, else last
        ("n_touches", pa.int32()),
        ("outcome", pa.string()),  # one of OUTCOMES (best deal: won > open > lost > none)
        ("deal_amount", pa.float64()),  # sum of won amounts
        ("first_seen", _TS),
        ("won_at", _TS),
        # first_seen -> first won deal closed; null when nothing of the contact came before
        ("days_to_close", pa.float64()),
    ]
)

#: The groups of contacts every rollup is split by: a contact's persona, segment and ICP (as
#: in ``contact_paths``, null when unknown). Every contact is in exactly one group, so
#: counts of contacts add up across groups: a question for one attribute, or for everyone,
#: sums the rollup's rows instead of rescanning the contacts.
_GROUP = [("persona", pa.string()), ("segment", pa.string()), ("icp", pa.string())]

#: Contacts per group, lead source, best outcome and set of stages entered (``reached``:
#: stage ids, sorted; order-free, so the workspace may reorder its stages after import).
CONTACT_GROUPS = pa.schema(
    [
        *_GROUP,
        ("lead_source", pa.string()),
        ("outcome", pa.string()),
        ("reached", pa.list_(pa.string())),
        ("contacts", pa.int64()),
    ]
)

#: Ends of stays per group (``stage_spells``): a move stage -> next_stage (``ended_by``
#: ``stage``), or a close in the stage (``won`` / ``lost``, ``next_stage`` null). Open stays
#: are left out.
STAGE_MOVES = pa.schema(
    [
        *_GROUP,
        ("stage", pa.string()),
        ("next_stage", pa.string()),
        ("ended_by", pa.string()),  # stage, won or lost (SPELL_ENDS)
        ("moves", pa.int64()),
        ("contacts", pa.int64()),  # distinct contacts who made the move
    ]
)

#: Touches (not ``sent``) by the stage the contact was in, per group and set of stages the
#: contact entered: usage and lift read it.
STAGE_TOUCHPOINTS = pa.schema(
    [
        *_GROUP,
        ("stage", pa.string()),
        ("reached", pa.list_(pa.string())),
        ("touchpoint", pa.string()),
        ("channel", pa.string()),  # lowest channel of the touches
        ("touches", pa.int64()),
        ("contacts", pa.int64()),
    ]
)

#: Journeys (touches up to the first win, not ``sent``; see derive.JOURNEY_SQL) per group,
#: outcome and touchpoint, with each rule-based attribution model's credit, and all touches
#: (after a win too) for the headline usage.
JOURNEY_TOUCHPOINTS = pa.schema(
    [
        *_GROUP,
        ("outcome", pa.string()),
        ("touchpoint", pa.string()),
        ("channel", pa.string()),  # lowest channel of the journey touches
        ("contacts", pa.int64()),  # contacts with the touchpoint on their journey
        ("content_contacts", pa.int64()),  # ... with a content action (actions.CONTENT_ACTIONS)
        ("touches", pa.int64()),
        ("first_touch", pa.float64()),
        ("last_touch", pa.float64()),
        ("linear", pa.float64()),
        ("position_based", pa.float64()),
        ("all_contacts", pa.int64()),  # contacts with any touch of it, whole history
        ("all_touches", pa.int64()),
    ]
)

#: Transitions of the journey Markov chain: ``(start)`` -> touchpoints -> ``(conversion)``
#: or ``(null)``, counted per group.
JOURNEY_TRANSITIONS = pa.schema(
    [*_GROUP, ("from_state", pa.string()), ("to_state", pa.string()), ("n", pa.int64())]
)

#: Per group and channel, messages sent and contacts sent, opening, clicking and replying.
CHANNEL_GROUPS = pa.schema(
    [
        *_GROUP,
        ("channel", pa.string()),
        ("messages_sent", pa.int64()),
        ("contacts_sent", pa.int64()),
        ("contacts_opened", pa.int64()),
        ("contacts_clicked", pa.int64()),
        ("contacts_replied", pa.int64()),
    ]
)

#: Contacts exposed to and converted by each experiment variant in the event log.
EXPERIMENT_COUNTS = pa.schema(
    [
        ("experiment", pa.string()),
        ("variant", pa.string()),
        ("exposed", pa.int64()),
        ("converted", pa.int64()),
    ]
)

#: Every distinct (kind, touchpoint, channel, action, stage) of the event log, numbered:
#: lead scoring matches its rules against these few rows instead of every event. ``last_ts``
#: is the latest event of the combination (the latest of all is the scores' reference date).
SCORE_COMBOS = pa.schema(
    [
        ("combo", pa.int32()),
        ("kind", pa.string()),
        ("touchpoint", pa.string()),
        ("channel", pa.string()),
        ("action", pa.string()),
        ("stage", pa.string()),
        ("events", pa.int64()),
        ("last_ts", _TS),
    ]
)

#: Each touch and stage event of a known contact as three numbers: ``n``, the contact's row
#: in contact_paths (sorted by contact id), its time and its ``combo`` (SCORE_COMBOS). Not
#: a count: decay weighs every event by its own age, so scores need every timestamp; but
#: reading these instead of the strings of the event log makes scoring several times faster.
SCORE_EVENTS = pa.schema([("n", pa.int64()), ("ts", _TS), ("combo", pa.int32())])

#: The rollups: small tables derived at import so analytics never rescan the event log.
ROLLUPS: dict[str, pa.Schema] = {
    "contact_groups": CONTACT_GROUPS,
    "stage_moves": STAGE_MOVES,
    "stage_touchpoints": STAGE_TOUCHPOINTS,
    "journey_touchpoints": JOURNEY_TOUCHPOINTS,
    "journey_transitions": JOURNEY_TRANSITIONS,
    "channel_groups": CHANNEL_GROUPS,
    "experiment_counts": EXPERIMENT_COUNTS,
    "score_combos": SCORE_COMBOS,
    "score_events": SCORE_EVENTS,
}

TABLES: dict[str, pa.Schema] = {
    "contacts": CONTACTS,
    "events": EVENTS,
    "deals": DEALS,
    "stage_spells": STAGE_SPELLS,
    "stage_entries": STAGE_ENTRIES,
    "contact_paths": CONTACT_PATHS,
    **ROLLUPS,
}


def data_dir(workspace_path: str | Path) -> Path:
    return Path(workspace_path) / "data"


def source_dir(workspace_path: str | Path, source_id: str) -> Path:
    return data_dir(workspace_path) / "sources" / source_id


def derived_path(workspace_path: str | Path, table: str) -> Path:
    if table not in ("stage_spells", "stage_entries", "contact_paths", *ROLLUPS):
        raise KeyError(f"no derived table {table!r}")
    return data_dir(workspace_path) / "derived" / f"{table}.parquet"


def merged_sql(table: str, relation: str) -> str:
    """SQL over ``relation``, the rows of ``table`` from several sources, that counts once
    what two sources both report about one person.

    ``events``: a stage entry two sources report on the same day (UTC) is one entry, the
    earliest report's; every source's entries of that stage and day but the first source's
    are left out. ``deals``: a deal another source reports too (the same person and amount,
    created within a day of it, by a source whose report is earlier) is that deal. Each row
    keeps its source; other tables are returned as they are.
    """
    if table == "events":
        return f"""
            SELECT * FROM {relation} WHERE kind IS DISTINCT FROM 'stage'
            UNION ALL BY NAME
            SELECT * EXCLUDE (_first) FROM (
                SELECT *, first_value(source_id) OVER (
                    PARTITION BY contact_id, stage, CAST(ts AS DATE) ORDER BY ts, source_id
                ) AS _first
                FROM {relation} WHERE kind = 'stage'
            ) WHERE source_id = _first
        """
    if table == "deals":
        return f"""
            SELECT d.* FROM {relation} d
            WHERE NOT EXISTS (
                SELECT 1 FROM {relation} e
                WHERE e.contact_id = d.contact_id AND e.source_id <> d.source_id
                  AND e.amount IS NOT DISTINCT FROM d.amount
                  AND abs(epoch(e.created_at) - epoch(d.created_at)) <= 86400
                  AND (e.created_at < d.created_at
                       OR (e.created_at = d.created_at AND e.source_id < d.source_id))
            )
        """
    return f"SELECT * FROM {relation}"
