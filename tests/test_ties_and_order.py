"""The numbers do not depend on the export's row order or on events tied to the second.

A CRM export lists its rows in any order, and many events of one contact carry the same
second (a form sent, the contact's lifecycle stage moved and a deal closed by one workflow).
:func:`import_history` writes a hand-worked history as a generic CSV export, in the order
given or shuffled, and imports it through the real import
(:func:`workbook.crm.importer.import_file`: pseudonymised ids, events sorted by contact and
time, ties put in the order of their content). The hand-worked cases of the engagement
sections (tests/test_report_engagement.py) and of the opportunity -> solution -> metric chain
(tests/test_design_tobe.py) run on such copies, shuffled and with tied timestamps, through
their own fixtures. This module holds the helper and a funnel case built on ties: a stage
entered and left in the same second, a deal closed the second a stage is entered.

How ties are read (the import's and the stays' rules, by definition):

- events of one contact at one second are taken in the workspace's stage order, then by
  kind, touchpoint, action, channel... (``workbook.crm.importer._content_ties``), never in
  the file's order;
- a stay ends when the next stage is entered, or when a deal closes after the stay began; a
  close at the very second a stage is entered ends nothing (the move ended the stay before),
  so the new stay is still open (``workbook.crm.sequences.stage_spells``);
- the in-order funnel counts a step entered at the same second as the step before
  (``entered_at >= ...``);
- a touch at the very second a deal is won is part of the journey to the win (touches up to
  and including the close).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from workbook.crm.importer import import_file
from workbook.model import ScoringRule, Touchpoint
from workbook.store import new_workspace

#: The header of the generic export :func:`import_history` writes.
HEADER = [
    "contact_id",
    "timestamp",
    "kind",
    "stage",
    "touchpoint",
    "channel",
    "action",
    "deal_id",
    "amount",
    "lost_reason",
    "persona",
    "segment",
    "icp",
    "lead_source",
]
_ATTRS = ("persona", "segment", "icp", "lead_source")


def export_rows(
    events: pd.DataFrame, contacts: pd.DataFrame, deals: pd.DataFrame
) -> list[dict[str, object]]:
    """The canonical frames of a hand-worked case as rows of a generic export.

    Each event is a row; each deal a ``created`` row and, once closed, a ``won`` or ``lost``
    row with its amount (and reason); every row carries its contact's attributes, as a CRM
    export of activities with the contact's properties does.
    """
    people = contacts.set_index("contact_id")
    rows: list[dict[str, object]] = []
    for e in events.itertuples(index=False):
        rows.append(
            {
                "contact_id": e.contact_id,
                "timestamp": e.ts,
                "kind": e.kind,
                "stage": e.stage,
                "touchpoint": e.touchpoint,
                "channel": e.channel,
                "action": e.action,
            }
        )
    for d in deals.itertuples(index=False):
        common = {"contact_id": d.contact_id, "kind": "deal", "deal_id": d.deal_id}
        rows.append({**common, "timestamp": d.created_at, "action": "created", "amount": d.amount})
        if d.outcome in ("won", "lost"):
            rows.append(
                {
                    **common,
                    "timestamp": d.closed_at,
                    "action": d.outcome,
                    "amount": d.amount,
                    "lost_reason": d.lost_reason,
                }
            )
    for row in rows:
        for attr in _ATTRS:
            if attr in people.columns:
                row[attr] = people.loc[str(row["contact_id"]), attr]
    return rows


def write_export(path: Path, rows: list[dict[str, object]]) -> Path:
    frame = pd.DataFrame(rows, columns=HEADER)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    frame.to_csv(path, index=False)
    return path


def import_history(
    folder: Path,
    events: pd.DataFrame,
    contacts: pd.DataFrame,
    deals: pd.DataFrame,
    *,
    seed: int | None = None,
    name: str = "Hand",
    setup: Callable[[object], None] | None = None,
) -> Path:
    """A workspace like ``test_analytics_hand.build``'s, its history imported from a CSV.

    The workspace gets build's touchpoints and scoring rules (``setup`` may change them on
    the opened workspace before the import); the rows are written in the order given, or
    shuffled with ``seed``.
    """
    ws = new_workspace(name, directory=folder)
    ws.data.touchpoints = [
        Touchpoint(id="ads", name="Paid ads", channel="ads"),
        Touchpoint(id="web", name="Website", channel="web"),
    ]
    ws.data.measurement.scoring_rules = [
        ScoringRule(id="web-visit", touchpoint="web", action="visit", points=10),
        ScoringRule(id="email-open", channel="email", action="open", points=5, decay_days=7),
        ScoringRule(id="purchase", stage="purchase", points=20),
        ScoringRule(id="matches-nothing", points=99),
    ]
    if setup is not None:
        setup(ws)
    ws.save()
    rows = export_rows(events, contacts, deals)
    if seed is not None:
        random.Random(seed).shuffle(rows)
    export = write_export(folder / "export.csv", rows)
    result = import_file(ws.path, export, source="generic")
    assert (result.system, result.rows_read, result.rows_rejected) == ("generic", len(rows), 0)
    return Path(ws.path)
