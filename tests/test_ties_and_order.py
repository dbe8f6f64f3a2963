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
import pyarrow.parquet as pq
import pytest

from workbook import analytics as A
from workbook.crm import schema
from workbook.crm.importer import import_file
from workbook.crm.privacy import SALT_FILE
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
    salt: bytes | None = None,
) -> Path:
    """A workspace like ``test_analytics_hand.build``'s, its history imported from a CSV.

    The workspace gets build's touchpoints and scoring rules (``setup`` may change them on
    the opened workspace before the import); the rows are written in the order given, or
    shuffled with ``seed``. With ``salt``, the workspace pseudonymises with it, so two
    workspaces given the same salt give each person the same pseudonym.
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
    if salt is not None:
        folder_ = schema.data_dir(ws.path)
        folder_.mkdir(parents=True, exist_ok=True)
        (folder_ / SALT_FILE).write_bytes(salt)
    rows = export_rows(events, contacts, deals)
    if seed is not None:
        random.Random(seed).shuffle(rows)
    export = write_export(folder / "export.csv", rows)
    result = import_file(ws.path, export, source="generic")
    assert (result.system, result.rows_read, result.rows_rejected) == ("generic", len(rows), 0)
    return Path(ws.path)


# ------------------------------------------------------------------ the funnel on tied seconds
#
# Four contacts (days after 1 January 2026), deals created before the ties:
#
#   A  d0 awareness | d2 consideration and purchase, the same second | deal D1 won d4
#   B  d0 awareness | d3 consideration, and deal D2 lost the same second
#   C  d0 awareness | d1 consideration | d4 awareness and consideration, the same second
#   D  d0 awareness | d5 purchase, and deal D3 won the same second | d9 retention
#
# By the rules in the module docstring: A's stay in consideration starts and ends at d2 (0
# days); B's lost close ends nothing, so B is still in consideration (an open stay); C's
# two entries at d4 are taken in stage order, awareness then consideration: a move back
# (consideration -> awareness, ending a 3-day stay) and forward again (a 0-day stay in
# awareness), C ending in consideration whichever row the file lists first; D's win at the
# second it enters purchase ends nothing, its purchase stay ends with retention at d9.

_FUNNEL_LOG = [
    ("A", 0, "awareness"),
    ("A", 2, "consideration"),
    ("A", 2, "purchase"),
    ("B", 0, "awareness"),
    ("B", 3, "consideration"),
    ("C", 0, "awareness"),
    ("C", 1, "consideration"),
    ("C", 4, "awareness"),
    ("C", 4, "consideration"),
    ("D", 0, "awareness"),
    ("D", 5, "purchase"),
    ("D", 9, "retention"),
]
_T0 = pd.Timestamp("2026-01-01", tz="UTC")
_SALT = b"ties-and-order-salt-32-bytes-...."
_ORDERS = {"as listed": None, "reversed": -1, "shuffled": 5, "shuffled again": 17}


def _funnel_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    def at(n: float) -> pd.Timestamp:
        return _T0 + pd.Timedelta(days=n)

    events = pd.DataFrame(
        [(c, at(d), 0, "stage", s, None, None, None) for c, d, s in _FUNNEL_LOG],
        columns=["contact_id", "ts", "seq", "kind", "stage", "touchpoint", "channel", "action"],
    )
    contacts = pd.DataFrame({"contact_id": list("ABCD"), "persona": ["p1"] * 4})
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3"],
            "contact_id": ["A", "B", "D"],
            "amount": [10.0, 20.0, 30.0],
            "created_at": [at(1), at(1), at(0)],
            "closed_at": [at(4), at(3), at(5)],
            "outcome": ["won", "lost", "won"],
            "lost_reason": [None, "price", None],
        }
    )
    return events, contacts, deals


@pytest.fixture(scope="module")
def funnel_case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    events, contacts, deals = _funnel_frames()
    out = {}
    for how, order in _ORDERS.items():
        folder = tmp_path_factory.mktemp("ties")
        ev = events.iloc[::-1] if order == -1 else events
        seed = order if order not in (None, -1) else None
        out[how] = import_history(folder, ev, contacts, deals, seed=seed, salt=_SALT)
    return out


def _answers(path: Path) -> dict[str, pd.DataFrame]:
    got = {
        "funnel": A.funnel(path),
        "funnel in order": A.funnel(path, ordered=True),
        "transitions": A.transitions(path),
        "time in stage": A.time_in_stage(path),
        "time to close": A.time_to_close(path),
    }
    for table in ("stage_spells", "stage_entries", "contact_paths"):
        got[table] = pq.read_table(schema.derived_path(path, table)).to_pandas()
    return got


def test_the_file_order_changes_no_answer_and_no_derived_table(
    funnel_case: dict[str, Path],
) -> None:
    want = _answers(funnel_case["as listed"])
    assert len(want["stage_spells"]) == 12
    for how in list(_ORDERS)[1:]:
        got = _answers(funnel_case[how])
        for name, frame in want.items():
            pd.testing.assert_frame_equal(got[name], frame, obj=f"{how}: {name}")


@pytest.mark.parametrize("how", list(_ORDERS))
def test_the_funnel_on_tied_seconds_by_hand(funnel_case: dict[str, Path], how: str) -> None:
    path = funnel_case[how]
    f = A.funnel(path).set_index("stage")
    # ever reached: awareness A B C D; consideration A B C; purchase A D; retention D
    assert f["contacts"].tolist() == [4, 3, 2, 1, 0]
    # and the next: A B C went on to consideration, A to purchase, D to retention
    assert f["reached_next"].tolist()[:4] == [3, 1, 1, 0]
    assert f.loc["consideration", "conversion_to_next"] == pytest.approx(1 / 3)
    assert bool(f.loc["consideration", "is_bottleneck"])  # two of three lost there
    # in order: A's purchase, entered the second it entered consideration, counts at step 3;
    # D skipped consideration, so neither its purchase nor its retention count
    o = A.funnel(path, ordered=True).set_index("stage")
    assert o["contacts"].tolist() == [4, 3, 1, 0, 0]
    assert o.loc["purchase", "conversion_to_next"] == pytest.approx(0.0)


@pytest.mark.parametrize("how", list(_ORDERS))
def test_stays_and_moves_on_tied_seconds_by_hand(funnel_case: dict[str, Path], how: str) -> None:
    path = funnel_case[how]
    moves = {
        (r.from_stage, r.to_stage): (r.moves, r.contacts, r.direction)
        for r in A.transitions(path).itertuples()
    }
    assert moves == {
        ("awareness", "consideration"): (4, 3, "forward"),  # A, B, C twice
        ("awareness", "purchase"): (1, 1, "forward"),  # D
        ("consideration", "awareness"): (1, 1, "backward"),  # C at d4
        ("consideration", "purchase"): (1, 1, "forward"),  # A at d2, a 0-day stay
        ("purchase", "retention"): (1, 1, "forward"),  # D
        ("purchase", "(won)"): (1, 1, "closed"),  # A at d4 (D's win ended nothing)
    }
    t = A.time_in_stage(path).set_index("stage")
    # awareness: A 2, B 3, C 1 and 0 (d4 to d4), D 5 days -> 0 1 2 3 5
    assert t.loc["awareness", ["spells", "open_spells"]].tolist() == [5, 0]
    assert t.loc["awareness", "median_days"] == pytest.approx(2.0)
    assert t.loc["awareness", "mean_days"] == pytest.approx(11 / 5)
    assert t.loc["awareness", "p90_days"] == pytest.approx(3 + 0.6 * (5 - 3))
    # consideration: A 0 days, C 3 days (d1 to d4); open: B (its close ended nothing), C
    assert t.loc["consideration", ["spells", "open_spells"]].tolist() == [2, 2]
    assert t.loc["consideration", "median_days"] == pytest.approx(1.5)
    # purchase: A 2 days ended by its win, D 4 days ended by retention
    assert t.loc["purchase", ["spells", "closed_spells", "open_spells"]].tolist() == [2, 1, 0]
    assert t.loc["purchase", "median_days"] == pytest.approx(3.0)
    assert t.loc["retention", "open_spells"] == 1
    close = A.time_to_close(path).iloc[0]
    # A: created d1, won d4 -> 3 days; D: created d0, won d5 -> 5 days
    assert (close["won_deals"], close["median_days"]) == (2, pytest.approx(4.0))


# --------------------------------------------------------- random histories crowded with ties
#
# The hand-worked cases pin the numbers; this checks every other answer the same way: small
# histories whose events fall on four seconds only (so most of a contact's events tie), with
# stage entries, touches with and without a stage, and deals created and closed on those
# seconds, imported as listed and shuffled with one salt, and shuffled again with another
# salt (other pseudonyms, so nothing may be settled by a contact's id).

_STAGES = ["awareness", "consideration", "purchase", "retention", "advocacy"]


def _crowded(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = random.Random(seed)

    def at(n: int) -> pd.Timestamp:
        return _T0 + pd.Timedelta(days=n)

    events, deals = [], []
    for c in range(10):
        cid = f"k{c}"
        for _ in range(rng.randint(2, 7)):
            when = at(rng.choice([0, 1, 1, 2, 3]))
            if rng.random() < 0.5:
                events.append((cid, when, 0, "stage", rng.choice(_STAGES), None, None, None))
            else:
                tp = rng.choice(["web", "ads"])
                stage = rng.choice([*_STAGES, None])
                action = rng.choice(["visit", "click"])
                events.append((cid, when, 0, "touch", stage, tp, tp, action))
        for k in range(rng.randint(0, 2)):
            created = rng.choice([0, 1, 2])
            outcome = rng.choice(["won", "lost", "open"])
            closed = at(created + rng.choice([0, 1, 2])) if outcome != "open" else None
            reason = "price" if outcome == "lost" else None
            deals.append((f"D{c}{k}", cid, 10.0 * (k + 1), at(created), closed, outcome, reason))
    frame = pd.DataFrame(
        events,
        columns=["contact_id", "ts", "seq", "kind", "stage", "touchpoint", "channel", "action"],
    )
    contacts = pd.DataFrame(
        {"contact_id": [f"k{c}" for c in range(10)], "persona": ["p1", "p2"] * 5}
    )
    deal_frame = pd.DataFrame(
        deals,
        columns=[
            "deal_id",
            "contact_id",
            "amount",
            "created_at",
            "closed_at",
            "outcome",
            "lost_reason",
        ],
    )
    deal_frame["closed_at"] = pd.to_datetime(deal_frame["closed_at"], utc=True)
    return frame, contacts, deal_frame


def _id_free_answers(path: Path) -> dict[str, pd.DataFrame]:
    scores = A.lead_scores(path).drop(columns=["contact_id"])
    return {
        "funnel": A.funnel(path),
        "funnel in order": A.funnel(path, ordered=True),
        "funnel by persona": A.funnel(path, by="persona"),
        "transitions": A.transitions(path),
        "time in stage": A.time_in_stage(path),
        "time to close": A.time_to_close(path),
        "touchpoint usage": A.touchpoint_usage(path),
        "won interactions": A.won_interactions(path),
        "attribution": A.attribution(path),
        "removal effects": A.removal_effects(path),
        # the scores listed by contact id: compared as a set of rows, without the id
        "lead scores": scores.sort_values(list(scores.columns)).reset_index(drop=True),
        "score deciles": A.score_deciles(path),
        "score separation": A.score_separation(path),
    }


@pytest.mark.parametrize("seed", [3, 8, 21])
def test_no_answer_depends_on_row_order_ties_or_pseudonyms(tmp_path: Path, seed: int) -> None:
    events, contacts, deals = _crowded(seed)
    assert events.duplicated(["contact_id", "ts"]).sum() >= 10  # crowded with ties indeed
    listed = import_history(tmp_path / "a", events, contacts, deals, salt=_SALT)
    shuffled = import_history(tmp_path / "b", events, contacts, deals, seed=seed, salt=_SALT)
    other = import_history(tmp_path / "c", events, contacts, deals, seed=seed + 1)
    assert (schema.data_dir(other) / SALT_FILE).read_bytes() != _SALT
    want = _id_free_answers(listed)
    assert want["lead scores"]["score"].duplicated().any()  # deciles on tied scores
    for how, path in (("shuffled", shuffled), ("shuffled, another salt", other)):
        got = _id_free_answers(path)
        for name, frame in want.items():
            pd.testing.assert_frame_equal(got[name], frame, obj=f"{how}: {name}")
    for table in ("stage_spells", "stage_entries", "contact_paths"):
        a, b = (
            pq.read_table(schema.derived_path(p, table)).to_pandas() for p in (listed, shuffled)
        )
        pd.testing.assert_frame_equal(b, a, obj=table)
