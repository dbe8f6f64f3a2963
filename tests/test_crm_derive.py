"""Derived tables: spells, first entries and contact paths, independent of row order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from workbook.crm import schema
from workbook.crm.importer import read_manifest, write_canonical

STAGES = ["awareness", "consideration", "purchase", "retention", "advocacy"]
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _t(days: float) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


def _events() -> pd.DataFrame:
    rows = [
        # c1: awareness -> consideration -> awareness (back) -> consideration -> purchase
        ("c1", _t(0), 0, "stage", "awareness", None, None),
        ("c1", _t(1), 1, "touch", None, "webinar", "attend"),
        ("c1", _t(2), 2, "stage", "consideration", None, None),
        ("c1", _t(2), 3, "stage", "consideration", None, None),  # repeated entry: same stay
        ("c1", _t(3), 4, "stage", "awareness", None, None),
        ("c1", _t(4), 5, "touch", None, "pricing-page", "visit"),
        ("c1", _t(5), 6, "stage", "consideration", None, None),
        ("c1", _t(6), 7, "touch", None, "demo-call", "call"),
        ("c1", _t(7), 8, "stage", "purchase", None, None),
        ("c1", _t(9), 9, "touch", None, "newsletter", "open"),
        # c2: tied timestamps resolved by seq
        ("c2", _t(0), 0, "stage", "awareness", None, None),
        ("c2", _t(0), 1, "stage", "consideration", None, None),
        ("c2", _t(1), 2, "touch", None, "newsletter", "sent"),
    ]
    return pd.DataFrame(
        rows, columns=["contact_id", "ts", "seq", "kind", "stage", "touchpoint", "action"]
    )


def _deals() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("d1", "c1", 1200.0, "EUR", _t(5), _t(8), "won"),
            ("d2", "c2", 300.0, "EUR", _t(0), None, "open"),
        ],
        columns=[
            "deal_id",
            "contact_id",
            "amount",
            "currency",
            "created_at",
            "closed_at",
            "outcome",
        ],
    )


def _contacts() -> pd.DataFrame:
    return pd.DataFrame({"contact_id": ["c1", "c2", "c3"], "persona": ["pia", "otto", None]})


def _write(ws: Path, events: pd.DataFrame) -> None:
    ws.mkdir(exist_ok=True)
    write_canonical(ws, "fixture", _contacts(), events, _deals(), stages=STAGES)


def _read(ws: Path, table: str) -> pd.DataFrame:
    return pq.read_table(schema.derived_path(ws, table)).to_pandas()


def test_spells_collapse_repeats_and_keep_moves_back(tmp_path: Path) -> None:
    _write(tmp_path / "ws", _events())
    spells = _read(tmp_path / "ws", "stage_spells")
    c1 = spells[spells.contact_id == "c1"]
    assert list(c1.stage) == [
        "awareness",
        "consideration",
        "awareness",
        "consideration",
        "purchase",
    ]
    assert list(c1.seq) == [0, 1, 2, 3, 4]
    assert list(c1.next_stage_index.fillna(-1)) == [1, 0, 1, 2, -1]
    assert c1.exited_at.iloc[-1] is pd.NaT
    c2 = spells[spells.contact_id == "c2"]
    assert list(c2.stage) == ["awareness", "consideration"]


def test_entries_and_paths(tmp_path: Path) -> None:
    _write(tmp_path / "ws", _events())
    entries = _read(tmp_path / "ws", "stage_entries")
    first = entries.set_index(["contact_id", "stage"]).first_entered_at
    assert first[("c1", "consideration")] == pd.Timestamp(_t(2))
    assert len(entries) == 3 + 2
    paths = _read(tmp_path / "ws", "contact_paths").set_index("contact_id")
    assert sorted(paths.index) == ["c1", "c2", "c3"]
    c1 = paths.loc["c1"]
    assert list(c1.touchpoints) == ["webinar", "pricing-page", "demo-call", "newsletter"]
    assert c1.first_touch == "webinar"
    assert c1.last_touch == "demo-call"  # the last touch before the won deal closed
    assert c1.outcome == "won" and c1.deal_amount == 1200.0
    assert c1.furthest_stage == "purchase" and c1.furthest_stage_index == 2
    assert c1.days_to_close == pytest.approx(8.0)
    assert (
        paths.loc["c2"].outcome == "open" and paths.loc["c2"].n_touches == 0
    )  # "sent" is no touch
    assert paths.loc["c3"].outcome == "none" and pd.isna(paths.loc["c3"].persona)


def test_first_entries_are_those_sql_finds_in_the_spells(tmp_path: Path) -> None:
    """stage_entries is built from the spells in Arrow: each contact's earliest spell in each
    stage, in the order SQL gives (contact, time, then stage name where times tie)."""
    import duckdb

    from workbook.crm.sequences import arrow_table

    ws = _generated(tmp_path, "one")
    spells = schema.derived_path(ws, "stage_spells")
    want = duckdb.sql(
        f"""SELECT contact_id, stage, min(stage_index)::SMALLINT AS stage_index,
                   min(entered_at) AS first_entered_at
            FROM read_parquet('{spells}') GROUP BY contact_id, stage
            ORDER BY contact_id, first_entered_at, stage"""
    )
    want = arrow_table(want.arrow()).to_pandas()
    got = _read(ws, "stage_entries")
    assert len(got) > 500 and (got.groupby("contact_id").size() > 1).any()
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    # two stages entered at the same moment: the stage name decides, not the file order
    events = _events()
    c2 = (events.contact_id == "c2") & (events.kind == "stage")
    events.loc[c2, "stage"] = ["consideration", "awareness"]  # same time, seq 0 and 1
    _write(tmp_path / "tie", events)
    tied = _read(tmp_path / "tie", "stage_entries").query("contact_id == 'c2'")
    assert list(tied.stage) == ["awareness", "consideration"]


def test_derived_tables_do_not_depend_on_row_order(tmp_path: Path) -> None:
    events = _events()
    _write(tmp_path / "a", events)
    _write(tmp_path / "b", events.sample(frac=1.0, random_state=7).reset_index(drop=True))
    for table in ("stage_spells", "stage_entries", "contact_paths"):
        a, b = _read(tmp_path / "a", table), _read(tmp_path / "b", table)
        pd.testing.assert_frame_equal(a, b)


def test_manifest_and_source_tables(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    _write(ws, _events().sample(frac=1.0, random_state=3))
    events = pq.read_table(schema.source_dir(ws, "fixture") / "events.parquet")
    assert events.schema.equals(schema.EVENTS)
    df = events.to_pandas()
    assert list(df.contact_id) == sorted(df.contact_id)
    assert (df.groupby("contact_id").ts.apply(lambda s: s.is_monotonic_increasing)).all()
    entry = read_manifest(ws)["sources"]["fixture"]
    assert entry["tables"] == {"contacts": 3, "events": 13, "deals": 2}
    assert not list(ws.glob(".import-*")), "staging folder left behind"


def test_duckdb_draws_no_progress_bar_of_its_own() -> None:
    # A long import or query must not print DuckDB's bar over the CLI's or into a notebook.
    from workbook.analytics import Engine
    from workbook.crm.derive import connect
    from workbook.model import Workspace

    setting = "SELECT current_setting('enable_progress_bar')"
    assert connect().execute(setting).fetchall() == [(False,)]
    ws = Workspace.model_validate({"client": {"name": "Lab", "slug": "lab"}})
    assert Engine(None, ws).con.execute(setting).fetchall() == [(False,)]


def _generated(tmp_path: Path, layout: str) -> Path:
    """The same generated CRM history as one source, or with its events in two sources."""
    import shutil

    from workbook.crm.generate import generate
    from workbook.store import open_workspace

    root = Path(__file__).resolve().parent.parent
    ws = tmp_path / layout
    ws.mkdir()
    shutil.copy(root / "data" / "demo" / "workspace.yaml", ws / "workspace.yaml")
    s = generate(open_workspace(ws).data, contacts=300, seed=5)
    events = s.events.to_pandas()
    if layout == "one":
        write_canonical(ws, "all", s.contacts, events, s.deals)
    else:
        # every other event in a second source: each contact's touches must be merged
        write_canonical(ws, "a", s.contacts, events.iloc[::2], s.deals)
        write_canonical(ws, "b", None, events.iloc[1::2], None)
    return ws


def test_touch_order_is_the_same_from_one_source_or_several(tmp_path: Path) -> None:
    """One sorted source is read in file order; several are sorted by DuckDB. The touch lists
    and every journey rollup come out the same."""
    one, two = _generated(tmp_path, "one"), _generated(tmp_path, "two")
    for table in (
        "stage_spells",
        "stage_entries",
        "contact_paths",
        "stage_moves",
        "journey_touchpoints",
        "journey_transitions",
    ):
        a, b = _read(one, table), _read(two, table)
        a = a.drop(columns=[c for c in a if c == "source_id"])
        b = b.drop(columns=[c for c in b if c == "source_id"])
        pd.testing.assert_frame_equal(a, b, check_exact=False, obj=table)
    paths = _read(one, "contact_paths")
    assert paths.n_touches.sum() > 1000  # enough touches for the comparison to mean something
    # and the single source really is read in file order, without a sort
    import duckdb

    from workbook.crm.sequences import TOUCH, _strictly_sorted, arrow_table

    events = schema.source_dir(one, "all") / "events.parquet"
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order=true")
    cols = "contact_id, ts, seq, touchpoint, channel, action"
    table = con.sql(f"SELECT {cols} FROM read_parquet('{events}') WHERE {TOUCH}").arrow()
    assert _strictly_sorted(arrow_table(table))


def test_tied_events_fall_back_to_a_full_order(tmp_path: Path) -> None:
    """Rows tying on contact, time and seq are not in a known order in the file: the touches
    are then sorted on touchpoint and action too, so the result never depends on the file."""
    import duckdb

    from workbook.crm.sequences import sequences, sorted_touches

    ev = tmp_path / "events.parquet"
    tied = pd.DataFrame(
        {
            "contact_id": ["c1", "c1", "c1", "c2"],
            "ts": [_t(1), _t(1), _t(2), _t(1)],
            "seq": [0, 0, 1, 0],
            "kind": ["touch"] * 4,
            "touchpoint": ["webinar", "blog", "demo-call", "blog"],
            "channel": ["web"] * 4,
            "action": ["attend", "visit", "call", "visit"],
            "stage": ["consideration", None, None, None],
            "source_id": ["s"] * 4,
        }
    )
    tied.to_parquet(ev)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW ev AS SELECT * FROM read_parquet('{ev}')")
    touches = sorted_touches(con, [str(ev)], "ev")
    assert touches.column("touchpoint").to_pylist() == ["blog", "webinar", "demo-call", "blog"]
    won = pd.DataFrame({"contact_id": ["c1"], "won_at": [pd.Timestamp(_t(1.5))]})
    import pyarrow as pa

    per_contact, journey, _ = sequences(touches, pa.Table.from_pandas(won, preserve_index=False))
    ids = per_contact.column("contact_id").to_pylist()
    rows = [
        (r["touchpoint"], r["pos"], r["n"], r["prev"])
        for r in journey.to_pylist()
        if ids[r["contact_run"]] == "c1"
    ]
    # c1 won at day 1.5: its journey is the two touches before, the demo call came after
    assert rows == [("blog", 1, 2, None), ("webinar", 2, 2, "blog")]
    pc = per_contact.to_pandas().set_index("contact_id")
    assert list(pc.loc["c1"].touchpoints) == ["blog", "webinar", "demo-call"]
    assert pc.loc["c1"].last_touch == "webinar" and pc.loc["c2"].last_touch == "blog"


def test_stages_reached_numbered_exactly_when_hashes_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The touches by stage group on a hash of each contact's stages reached; should two lists
    share a hash, the import numbers them exactly and the rollups come out the same."""
    from workbook.crm import derive

    ws = _generated(tmp_path, "one")
    want = {t: _read(ws, t) for t in ("stage_touchpoints", "contact_groups")}
    assert want["stage_touchpoints"].reached.map(len).nunique() > 2
    monkeypatch.setattr(derive, "_REACHED_ID", "42::UBIGINT")  # every list collides
    derive.rebuild_workspace(ws)
    for table, frame in want.items():
        pd.testing.assert_frame_equal(_read(ws, table), frame, obj=table)
