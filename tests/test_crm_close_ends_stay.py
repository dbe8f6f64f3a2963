"""A deal's close ends the contact's stay in its stage (issue 13, item 4).

Closed Won and Closed Lost are not stages, so before this rule the stay in which a deal closed
never ended: it counted as open and had no duration. Here every number is worked out by hand
from small exports in each CRM's layout, and a row-by-row reference (plain Python over the
event log) checks the stays of a generated history.

The rule (``workbook.crm.sequences.stage_spells``): a close (a deal event won or lost) ends
the stay the contact is in at that moment; with several deals, the first close after the
stay's start ends it. A close at the very moment the contact enters a stage ends nothing:
the stay before ends with that move. A stage entry after a close starts a new stay, in the
same stage too. Two closes at one moment: a win counts over a loss.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from workbook import analytics as A
from workbook import charts
from workbook.analytics import Engine
from workbook.analytics.movement import LOST, WON
from workbook.crm import schema
from workbook.crm.importer import import_file
from workbook.store import new_workspace

STAGES = ["awareness", "consideration", "purchase", "retention", "advocacy"]
T0 = pd.Timestamp("2025-03-01", tz="UTC")


def day(n: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=n)


def iso(n: float) -> str:
    return day(n).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _workspace(tmp_path: Path) -> Path:
    ws = new_workspace("Closes", directory=tmp_path)  # the method's five stages
    return ws.path


# --------------------------------------------------------------------- Salesforce, all closed

#: OpportunityHistory as Data Loader writes it (every opportunity closed). Days after T0:
#:   O1 (C1): Prospecting 0, Qualification 2, Proposal 5, Closed Won 9
#:   O2 (C2): Prospecting 0, Qualification 1, Proposal 4, Closed Lost 10
#:   O3 (C3): Prospecting 0, Qualification 3, Closed Lost 7
#:   O4 (C4): Prospecting 1, Qualification 2, Proposal 3, Qualification 5 (back), Proposal 8,
#:            Closed Won 12
#:   O5 (C5): one row, Closed Won 4 (created closed: no earlier record of the deal)
SF_ROWS = [
    ("O1", "C1", "Prospecting", 0, 1000),
    ("O1", "C1", "Qualification", 2, 1000),
    ("O1", "C1", "Proposal/Price Quote", 5, 1000),
    ("O1", "C1", "Closed Won", 9, 1000),
    ("O2", "C2", "Prospecting", 0, 500),
    ("O2", "C2", "Qualification", 1, 500),
    ("O2", "C2", "Proposal/Price Quote", 4, 500),
    ("O2", "C2", "Closed Lost", 10, 500),
    ("O3", "C3", "Prospecting", 0, 300),
    ("O3", "C3", "Qualification", 3, 300),
    ("O3", "C3", "Closed Lost", 7, 300),
    ("O4", "C4", "Prospecting", 1, 2000),
    ("O4", "C4", "Qualification", 2, 2000),
    ("O4", "C4", "Proposal/Price Quote", 3, 2000),
    ("O4", "C4", "Qualification", 5, 2000),
    ("O4", "C4", "Proposal/Price Quote", 8, 2000),
    ("O4", "C4", "Closed Won", 12, 2000),
    ("O5", "C5", "Closed Won", 4, 700),
]
SF_MAP = {
    "Prospecting": "awareness",
    "Qualification": "consideration",
    "Proposal/Price Quote": "purchase",
}


@pytest.fixture(scope="module")
def salesforce(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("sf")
    ws = _workspace(tmp)
    lines = ["Id,OpportunityId,StageName,Amount,CreatedDate,ContactId,IsDeleted"]
    for i, (opp, contact, stage, d, amount) in enumerate(SF_ROWS):
        lines.append(f"H{i:03d},{opp},{stage},{amount},{iso(d)},{contact},false")
    path = tmp / "OpportunityHistory.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_file(ws, path, stage_map=SF_MAP)
    assert result.system == "salesforce"
    return ws


def test_salesforce_all_closed_leaves_no_open_stay(salesforce: Path) -> None:
    t = A.time_in_stage(salesforce).set_index("stage")
    # every opportunity closed: no stay is still open, in any stage
    assert t["open_spells"].tolist() == [0, 0, 0, 0, 0]
    # purchase stays: C1 5->9 (won), C2 4->10 (lost), C4 3->5 (back to qualification),
    # C4 8->12 (won): 4, 6, 2, 4 days
    assert t.loc["purchase", "spells"] == 4
    assert t.loc["purchase", "median_days"] == pytest.approx(4.0)
    assert t.loc["purchase", "p90_days"] == pytest.approx(4 + 0.7 * (6 - 4))
    assert t.loc["purchase", "mean_days"] == pytest.approx(16 / 4)
    assert t.loc["purchase", "closed_spells"] == 3
    # consideration: C1 3, C2 3, C3 4 (lost), C4 1, C4 3
    assert t.loc["consideration", "spells"] == 5
    assert t.loc["consideration", "median_days"] == pytest.approx(3.0)
    assert t.loc["consideration", "closed_spells"] == 1
    # awareness: C1 2, C2 1, C3 3, C4 1
    assert t.loc["awareness", "median_days"] == pytest.approx(1.5)
    assert t.loc["awareness", "closed_spells"] == 0


def test_salesforce_spells_say_how_each_stay_ended(salesforce: Path) -> None:
    sp = pq.read_table(schema.derived_path(salesforce, "stage_spells")).to_pandas()
    assert sp["exited_at"].notna().all()
    ends = sp.groupby(["stage", "ended_by"]).size().to_dict()
    assert ends == {
        ("awareness", "stage"): 4,
        ("consideration", "stage"): 4,
        ("consideration", "lost"): 1,
        ("purchase", "stage"): 1,
        ("purchase", "won"): 2,
        ("purchase", "lost"): 1,
    }
    closed = sp[sp["ended_by"].isin(["won", "lost"])]
    assert closed["next_stage"].isna().all() and closed["next_stage_index"].isna().all()
    moved = sp[sp["ended_by"] == "stage"]
    assert moved["next_stage"].notna().all()


def test_salesforce_movement_matrix_has_won_and_lost(salesforce: Path) -> None:
    m = A.transition_matrix(salesforce)
    assert list(m.index) == STAGES
    assert list(m.columns) == [*STAGES, WON, LOST]
    expected = pd.DataFrame(0, index=STAGES, columns=[*STAGES, WON, LOST])
    expected.loc["awareness", "consideration"] = 4
    expected.loc["consideration", "purchase"] = 4  # C1, C2, C4 twice
    expected.loc["consideration", LOST] = 1  # C3
    expected.loc["purchase", "consideration"] = 1  # C4 back
    expected.loc["purchase", WON] = 2  # C1, C4
    expected.loc["purchase", LOST] = 1  # C2
    assert (m.to_numpy() == expected.to_numpy()).all(), m
    shares = A.transition_matrix(salesforce, share=True)
    assert shares.loc["purchase", WON] == pytest.approx(2 / 4)
    assert shares.loc["consideration"].sum() == pytest.approx(1.0)
    t = A.transitions(salesforce).set_index(["from_stage", "to_stage"])
    won = t.loc[("purchase", WON)]
    assert won["moves"] == 2 and won["contacts"] == 2 and won["direction"] == "closed"
    assert won["to_stage_name"] == "Won"
    assert t.loc[("consideration", LOST), "to_stage_name"] == "Lost"


def test_salesforce_time_to_close_leaves_out_a_deal_created_closed(salesforce: Path) -> None:
    t = A.time_to_close(salesforce).iloc[0]
    # won: O1 0->9 (9 days), O4 1->12 (11 days), O5 a single Closed Won row: unknown
    assert t["won_deals"] == 3
    assert t["untimed_deals"] == 1
    assert t["median_days"] == pytest.approx(10.0)
    assert t["mean_days"] == pytest.approx(10.0)
    assert t["total_amount"] == pytest.approx(1000 + 2000 + 700)
    # nor is C5's time from first contact to the win 0 days: nothing came before it
    paths = pq.read_table(schema.derived_path(salesforce, "contact_paths")).to_pandas()
    assert paths["days_to_close"].notna().sum() == 2
    assert sorted(paths["days_to_close"].dropna()) == pytest.approx([9.0, 11.0])


# ------------------------------------------------------------ generic, a move back after a close

#: A generic event file (days after T0):
#:   A: awareness 0, consideration 1, deal D1 created 2, D1 lost 6, awareness 9 (back, after the
#:      close), consideration 11, deal D2 created 12, D2 won 15
#:   B: awareness 0, consideration 3, deal D3 created 3, purchase 5 and D3 won 5 (the same
#:      moment: the move counts, the close ends nothing), retention 20
#:   C: awareness 0, consideration 2, deal D4 lost 4 (its only row), consideration 6 (a new
#:      stay after the close), deal D5 won 8 (its only row: time to close unknown)
GENERIC_ROWS = [
    ("A", 0, "awareness", None, None, None),
    ("A", 1, "consideration", None, None, None),
    ("A", 2, None, "D1", "created", 100),
    ("A", 6, None, "D1", "lost", 100),
    ("A", 9, "awareness", None, None, None),
    ("A", 11, "consideration", None, None, None),
    ("A", 12, None, "D2", "created", 200),
    ("A", 15, None, "D2", "won", 200),
    ("B", 0, "awareness", None, None, None),
    ("B", 3, "consideration", None, None, None),
    ("B", 3, None, "D3", "created", 300),
    ("B", 5, "purchase", None, None, None),
    ("B", 5, None, "D3", "won", 300),
    ("B", 20, "retention", None, None, None),
    ("C", 0, "awareness", None, None, None),
    ("C", 2, "consideration", None, None, None),
    ("C", 4, None, "D4", "lost", 50),
    ("C", 6, "consideration", None, None, None),
    ("C", 8, None, "D5", "won", 80),
]


@pytest.fixture(scope="module")
def generic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("gen")
    ws = _workspace(tmp)
    lines = ["contact_id,timestamp,stage,deal_id,action,amount"]
    for contact, d, stage, deal, action, amount in GENERIC_ROWS:
        cells = [contact, iso(d), stage or "", deal or "", action or "", amount or ""]
        lines.append(",".join(str(c) for c in cells))
    path = tmp / "events.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert import_file(ws, path).system == "generic"
    return ws


def test_generic_stays_around_a_close(generic: Path) -> None:
    sp = pq.read_table(schema.derived_path(generic, "stage_spells")).to_pandas()
    got = sorted(
        (
            (sp.entered_at - T0).dt.days.tolist()[i],
            sp.stage.tolist()[i],
            None if pd.isna(sp.exited_at.iloc[i]) else (sp.exited_at.iloc[i] - T0).days,
            sp.ended_by.tolist()[i],
            None if pd.isna(sp.next_stage.iloc[i]) else sp.next_stage.iloc[i],
        )
        for i in range(len(sp))
    )
    assert got == sorted(
        [
            # A
            (0, "awareness", 1, "stage", "consideration"),
            (1, "consideration", 6, "lost", None),
            (9, "awareness", 11, "stage", "consideration"),
            (11, "consideration", 15, "won", None),
            # B
            (0, "awareness", 3, "stage", "consideration"),
            (3, "consideration", 5, "stage", "purchase"),
            (5, "purchase", 20, "stage", "retention"),
            (20, "retention", None, "open", None),
            # C
            (0, "awareness", 2, "stage", "consideration"),
            (2, "consideration", 4, "lost", None),
            (6, "consideration", 8, "won", None),
        ],
        key=lambda r: (r[0], r[1], r[2] if r[2] is not None else -1, r[3]),
    )
    # seq numbers each contact's stays 0, 1, 2... in time order
    assert sp.groupby(sp.contact_id.rank(method="dense"))["seq"].apply(list).tolist() in (
        [[0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2]],
        [[0, 1, 2, 3], [0, 1, 2], [0, 1, 2, 3]],
        [[0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3]],
    )


def test_generic_movement_after_a_close(generic: Path) -> None:
    t = A.transitions(generic)
    got = {(r.from_stage, r.to_stage): (r.moves, r.contacts, r.direction) for r in t.itertuples()}
    assert got == {
        ("awareness", "consideration"): (4, 3, "forward"),
        ("consideration", "purchase"): (1, 1, "forward"),
        ("purchase", "retention"): (1, 1, "forward"),
        # A's return to awareness came after D1 was lost: a new stay, not a move back
        ("consideration", WON): (2, 2, "closed"),
        ("consideration", LOST): (2, 2, "closed"),
    }
    share = t.set_index(["from_stage", "to_stage"])["share"]
    assert share[("consideration", WON)] == pytest.approx(2 / 5)
    ts = A.time_in_stage(generic).set_index("stage")
    # consideration: A 5 (lost) and 4 (won), B 2, C 2 (lost) and 2 (won)
    assert ts.loc["consideration", "spells"] == 5
    assert ts.loc["consideration", "median_days"] == pytest.approx(2.0)
    assert ts.loc["consideration", "closed_spells"] == 4
    assert ts.loc["retention", "open_spells"] == 1 and ts.loc["retention", "spells"] == 0
    assert ts["open_spells"].sum() == 1


def test_generic_deal_with_only_a_close_has_no_time_to_close(generic: Path) -> None:
    t = A.time_to_close(generic).iloc[0]
    # won: D2 12->15 (3 days), D3 3->5 (2 days), D5 only its won row: unknown, not 0
    assert t["won_deals"] == 3 and t["untimed_deals"] == 1
    assert t["median_days"] == pytest.approx(2.5)
    assert t["p90_days"] == pytest.approx(2 + 0.9 * 1)
    by = A.time_to_close(generic, by="persona")
    assert by["won_deals"].sum() == 3 and by["untimed_deals"].sum() == 1
    # the headline numbers and `workbook analyse` say so too
    headline = A.summary(generic)["time_to_close"]
    assert headline["untimed_deals"] == 1 and headline["median_days"] == pytest.approx(2.5)
    from workbook.cli.analyse import format_summary

    text = "\n".join(format_summary(A.summary(generic)))
    assert "1 won deal(s) with no record before the close left out" in text


def test_flow_charts_draw_won_and_lost_as_ends(generic: Path) -> None:
    moves = A.transitions(generic)
    heat = charts.get("transition_heatmap")(moves).to_dict()
    rect = heat["layer"][0]
    assert rect["encoding"]["x"]["sort"][-2:] == ["Won", "Lost"]
    assert "Won" not in rect["encoding"]["y"]["sort"]
    flow = charts.get("flow_diagram")(moves).to_dict()
    rows = [r for d in flow["datasets"].values() for r in d]
    arcs = {r["move"]: r for r in rows if "arc" in r and r["k"] == 1}
    assert arcs["Consideration → Won"]["direction"] == "Won"
    assert arcs["Consideration → Lost"]["direction"] == "Lost"
    nodes = {r["stage"] for r in rows if "stage" in r}
    assert {"Won", "Lost"} <= nodes


# --------------------------------------------------- a generated history against a reference


def reference_spells(events: pd.DataFrame) -> pd.DataFrame:
    """Stays by the rule, one contact and one event at a time (no vector tricks).

    ``events``: contact_id, ts, seq, kind, stage, action of the whole event log.
    """
    rows = []
    events = events.sort_values(["contact_id", "ts", "seq"], kind="stable")
    for contact, ev in events.groupby("contact_id", sort=True):
        entries = ev[(ev.kind == "stage") & ev.stage.notna()]
        entry_times = set(entries.ts)
        closes: dict[pd.Timestamp, str] = {}
        for r in ev[(ev.kind == "deal") & ev.action.isin(["won", "lost"])].itertuples():
            if r.ts in entry_times:
                continue  # at the moment of a stage entry: part of that move
            if closes.get(r.ts) != "won":
                closes[r.ts] = r.action
        timeline = sorted(
            [(r.ts, 0, r.seq, "entry", r.stage) for r in entries.itertuples()]
            + [(ts, 1, 0, "close", outcome) for ts, outcome in closes.items()]
        )
        stays: list[dict[str, object]] = []
        current: dict[str, object] | None = None
        for ts, _, _, what, value in timeline:
            if what == "close":
                if current is not None:
                    current.update(exited_at=ts, ended_by=value, next_stage=None)
                    current = None
                continue
            if current is not None and current["stage"] == value:
                continue  # the same stage again: the same stay
            if current is not None:
                current.update(exited_at=ts, ended_by="stage", next_stage=value)
            current = {
                "contact_id": contact,
                "stage": value,
                "entered_at": ts,
                "exited_at": None,
                "ended_by": "open",
                "next_stage": None,
            }
            stays.append(current)
        rows += stays
    return pd.DataFrame(rows)


@pytest.mark.parametrize("fmt", ["generic", "salesforce", "pipedrive", "generic+pipedrive"])
def test_generated_exports_match_the_reference(tmp_path: Path, fmt: str) -> None:
    from workbook.crm.demo import demo_without_data
    from workbook.crm.generate import generate, write_export
    from workbook.store import open_workspace

    demo = Path(__file__).resolve().parent.parent / "data" / "demo"
    ws = tmp_path / "client"
    ws.mkdir()
    demo_without_data(ws, demo)
    sample = generate(open_workspace(ws).data, contacts=600, seed=5)
    parts = []
    for one in fmt.split("+"):  # several sources: their events are put in order together
        result = import_file(ws, write_export(sample, one, tmp_path / one))
        parts.append(
            pq.read_table(
                schema.source_dir(ws, result.source_id) / "events.parquet",
                columns=["contact_id", "ts", "seq", "kind", "stage", "action"],
            ).to_pandas()
        )
    events = pd.concat(parts, ignore_index=True)
    ref = reference_spells(events)
    got = pq.read_table(schema.derived_path(ws, "stage_spells")).to_pandas()
    assert got["ended_by"].isin(["won", "lost"]).any()
    key = ["contact_id", "entered_at", "stage"]
    cols = [*key, "exited_at", "ended_by", "next_stage"]
    left = got[cols].sort_values(key).reset_index(drop=True)
    right = ref[cols].sort_values(key).reset_index(drop=True)
    right["exited_at"] = pd.to_datetime(right["exited_at"], utc=True)
    for frame in (left, right):
        frame["next_stage"] = frame["next_stage"].astype(object).where(frame["next_stage"].notna())
    pd.testing.assert_frame_equal(left, right, check_dtype=False)
    # time in stage from the reference: finished stays' days, open stays counted apart
    ref["days"] = (
        pd.to_datetime(ref["exited_at"], utc=True) - ref["entered_at"]
    ).dt.total_seconds() / 86400
    t = A.time_in_stage(Engine.for_workspace(ws)).set_index("stage")
    for stage, part in ref.groupby("stage"):
        finished = part["days"].dropna()
        assert t.loc[stage, "spells"] == len(finished)
        assert t.loc[stage, "open_spells"] == part["days"].isna().sum()
        if len(finished):
            assert t.loc[stage, "median_days"] == pytest.approx(finished.median())
            assert t.loc[stage, "p90_days"] == pytest.approx(finished.quantile(0.9))
    assert not math.isnan(float(t["median_days"].dropna().iloc[0]))


def test_report_says_how_stays_ended_and_which_deals_have_no_time(generic: Path) -> None:
    from workbook import sections

    ctx = sections.report_context(str(generic), ["funnel", "timing"], report_date="2025-06-01")
    flow = str(sections.render_section("funnel", ctx))
    assert "2 stays ended when a deal was won and 2 when one was lost" in flow
    timing = str(sections.render_section("timing", ctx))
    assert "close ended" in timing  # the column of stays a close ended
    assert "1 won deal has no record before its close" in timing


def test_edge_cases_of_the_rule(tmp_path: Path) -> None:
    """Closes before any stay, two closes at one moment, a close after a close, a close at the
    moment of an entry (into another stage, or the same one again)."""
    from workbook.crm.storage import write_canonical

    ws = _workspace(tmp_path)
    rows = [
        # X: lost 1 (no stay yet: nothing), awareness 2, won and lost at 4 (a win), lost 5
        #    (no stay: nothing), awareness 6 (a new stay), awareness 7 (the same stay),
        #    consideration 9 with a win at 9 (the move counts, the win ends nothing)
        ("X", 1, 0, "deal", None, "lost"),
        ("X", 2, 1, "stage", "awareness", None),
        ("X", 4, 2, "deal", None, "lost"),
        ("X", 4, 3, "deal", None, "won"),
        ("X", 5, 4, "deal", None, "lost"),
        ("X", 6, 5, "stage", "awareness", None),
        ("X", 7, 6, "stage", "awareness", None),
        ("X", 9, 7, "deal", "consideration", "won"),
        ("X", 9, 8, "stage", "consideration", None),
        # Y: consideration 0, again at 3 with a loss at 3 (at an entry: nothing), lost 8
        ("Y", 0, 0, "stage", "consideration", None),
        ("Y", 3, 1, "deal", None, "lost"),
        ("Y", 3, 2, "stage", "consideration", None),
        ("Y", 8, 3, "deal", None, "lost"),
    ]
    events = pd.DataFrame(
        [(c, day(d), q, k, s, a) for c, d, q, k, s, a in rows],
        columns=["contact_id", "ts", "seq", "kind", "stage", "action"],
    )
    write_canonical(ws, "hand", events=events)
    sp = pq.read_table(schema.derived_path(ws, "stage_spells")).to_pandas()
    got = [
        (
            r.contact_id,
            r.seq,
            r.stage,
            (r.entered_at - T0).days,
            None if pd.isna(r.exited_at) else (r.exited_at - T0).days,
            r.ended_by,
        )
        for r in sp.itertuples()
    ]
    assert got == [
        ("X", 0, "awareness", 2, 4, "won"),
        ("X", 1, "awareness", 6, 9, "stage"),
        ("X", 2, "consideration", 9, None, "open"),
        ("Y", 0, "consideration", 0, 8, "lost"),
    ]
    ref = reference_spells(events)
    assert ref["ended_by"].tolist() == sp["ended_by"].tolist()


def test_tables_written_before_ended_by_still_answer(generic: Path, tmp_path: Path) -> None:
    """A workspace imported before stays ended at a close reads ``ended_by`` as null: its
    stays are moves or open, as they were, until the next import rebuilds them."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(generic, old)
    for table in ("stage_spells", "stage_moves"):
        path = schema.derived_path(old, table)
        pq.write_table(pq.read_table(path).drop_columns(["ended_by"]), path)
    eng = Engine.for_workspace(old)
    assert eng.query("SELECT count(ended_by) AS n FROM stage_spells")["n"].tolist() == [0]
    moves = A.transitions(eng)
    assert set(moves["direction"]) <= {"forward", "backward", "same"}
    assert A.time_in_stage(eng)["closed_spells"].sum() == 0
