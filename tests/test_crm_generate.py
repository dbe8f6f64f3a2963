"""The sample-data generator: seeded, realistic, driven by the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from workbook.crm import schema
from workbook.crm.demo import demo_without_data
from workbook.crm.generate import (
    DEFAULT_END,
    FORMATS,
    generate,
    generate_parts,
    write_export,
    write_exports,
)
from workbook.crm.importer import import_file
from workbook.model import Client, Workspace
from workbook.store import open_workspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model() -> Workspace:
    return open_workspace(ROOT / "data" / "demo").data


@pytest.fixture(scope="module")
def frames(model: Workspace) -> dict[str, pd.DataFrame]:
    s = generate(model, contacts=4000, seed=3)
    return {
        "events": s.events.to_pandas(),
        "contacts": s.contacts.to_pandas(),
        "deals": s.deals.to_pandas(),
    }


def test_same_seed_same_data(model: Workspace) -> None:
    a, b, c = (generate(model, contacts=300, seed=s) for s in (1, 1, 2))
    assert a.events.equals(b.events) and a.people.equals(b.people) and a.deals.equals(b.deals)
    assert not a.events.equals(c.events)


def test_tables_follow_the_canonical_schemas(model: Workspace) -> None:
    s = generate(model, contacts=200, seed=4)
    for name, table in s.items():
        assert table.schema.equals(schema.TABLES[name]), name


def test_uses_the_workspace_vocabulary(model: Workspace, frames: dict[str, pd.DataFrame]) -> None:
    ev = frames["events"]
    assert set(ev.stage.dropna()) == set(model.stage_ids())
    assert set(ev.touchpoint.dropna()) <= {t.id for t in model.touchpoints}
    assert set(frames["contacts"].persona) == {p.id for p in model.personas}
    exp = ev[ev.experiment.notna()]
    for e in model.measurement.experiments:
        assert set(exp[exp.experiment == e.id].variant) == {v.id for v in e.variants}


def test_realistic_shape(frames: dict[str, pd.DataFrame]) -> None:
    ev, deals = frames["events"], frames["deals"]
    stages = ev[ev.kind == "stage"]
    reach = stages.groupby("stage").contact_id.nunique()
    assert reach["awareness"] > reach["consideration"] > reach["purchase"] > reach["advocacy"] > 0
    # moves back to an earlier stage happen
    order = {"awareness": 0, "consideration": 1, "purchase": 2, "retention": 3, "advocacy": 4}
    idx = stages.stage.map(order)
    back = (idx.groupby(stages.contact_id).diff() < 0).sum()
    assert back > 0
    # email funnel: opens below sends... per touchpoint with sends
    mail = ev[ev.channel == "email"]
    counts = mail.action.value_counts()
    assert counts["sent"] > counts["open"] > counts["click"] > counts.get("reply", 0)
    assert set(deals.outcome) == {"won", "lost", "open"}
    assert deals[deals.outcome == "lost"].lost_reason.notna().all()
    assert deals[deals.outcome == "won"].lost_reason.isna().all()
    assert (deals.amount > 0).all()
    assert ev.ts.max() <= pd.Timestamp(DEFAULT_END)
    ratings = ev[ev.kind == "rating"].value
    assert ratings.between(1, 10).all() and len(ratings) > 0


def test_won_and_lost_contacts_touch_differently(frames: dict[str, pd.DataFrame]) -> None:
    ev, deals = frames["events"], frames["deals"]
    touches = ev[(ev.kind == "touch") & ev.touchpoint.notna() & ev.experiment.isna()]
    outcome = deals.set_index("contact_id").outcome
    t = touches.assign(outcome=touches.contact_id.map(outcome)).dropna(subset=["outcome"])
    share = pd.crosstab(t.touchpoint, t.outcome, normalize="columns")
    assert (share["won"] - share["lost"]).abs().max() > 0.02
    per_contact = t.groupby(["outcome", "contact_id"]).size().groupby("outcome").mean()
    assert per_contact["won"] > per_contact["lost"]


def test_works_without_personas_or_touchpoints() -> None:
    bare = Workspace(client=Client(name="Bare", slug="bare"))
    s = generate(bare, contacts=100, seed=0)
    assert s.contacts.num_rows == 100
    assert s.events.column("touchpoint").null_count < s.events.num_rows


@pytest.mark.parametrize("fmt", FORMATS)
def test_writers_write_real_looking_exports(model: Workspace, tmp_path: Path, fmt: str) -> None:
    s = generate(model, contacts=150, seed=8)
    path = write_export(s, fmt, tmp_path, encoding="utf-8-sig", delimiter=";", newline="\r\n")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    frame = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str)
    assert len(frame) > 0
    header = {
        "hubspot": "Record ID",
        "salesforce": "OpportunityId",
        "salesforce-roles": "ContactId",
        "pipedrive": "Deal - ID",
        "generic": "email",
    }
    assert header[fmt] in frame.columns


def test_a_large_history_is_quick(model: Workspace) -> None:
    s = generate(model, contacts=50_000, seed=1)
    assert s.contacts.num_rows == 50_000
    assert 6 * 50_000 < s.events.num_rows < 15 * 50_000
    assert isinstance(s.events, pa.Table)


def test_parts_continue_each_other(model: Workspace) -> None:
    parts = list(generate_parts(model, contacts=250, seed=6, part=100))
    assert [p.contacts.num_rows for p in parts] == [100, 100, 50]
    whole = {
        name: pa.concat_tables([getattr(p, name) for p in parts]).to_pandas()
        for name in ("contacts", "events", "deals", "people")
    }
    # ids, external ids and e-mail addresses run on across parts: none repeats
    assert whole["contacts"].contact_id.is_unique
    assert whole["people"].ext_id.is_unique and whole["people"].email.is_unique
    assert whole["deals"].deal_id.is_unique
    # every event belongs to a contact of its own part
    for p in parts:
        assert set(p.events["contact_id"].to_pylist()) <= set(p.contacts["contact_id"].to_pylist())
    # the same parts again: the same history
    again = list(generate_parts(model, contacts=250, seed=6, part=100))
    assert all(a.events.equals(b.events) for a, b in zip(parts, again, strict=True))


def test_exports_written_in_parts_import_whole(model: Workspace, tmp_path: Path) -> None:
    """Files written a part at a time: one header, one byte order mark, numbers that run on
    (a Salesforce opportunity or a Pipedrive deal id repeated across parts would merge two
    deals or be refused), and every row imported."""
    parts = list(generate_parts(model, contacts=300, seed=12, part=120))
    paths = write_exports(
        iter(parts), FORMATS, tmp_path / "out", encoding="utf-8-sig", delimiter=";", newline="\r\n"
    )
    assert not list((tmp_path / "out").glob("*.part"))
    deals = sum(p.deals.num_rows for p in parts)
    events = sum(p.events.num_rows for p in parts)
    ws = demo_without_data(tmp_path / "ws", ROOT / "data" / "demo")
    for fmt, path in paths.items():
        raw = path.read_bytes()
        assert raw.count(b"\xef\xbb\xbf") == 1 and raw.startswith(b"\xef\xbb\xbf"), fmt
        first_line = raw[3 : raw.index(b"\r\n")]
        assert raw.count(first_line + b"\r\n") == 1, f"{fmt}: the header is repeated"
        result = import_file(ws, path, currency="GBP")
        if fmt == "hubspot":
            assert result.tables["contacts"] == 300
        elif fmt == "generic":
            assert result.tables["events"] == events and result.tables["deals"] == deals
        elif fmt == "salesforce-roles":  # each opportunity's person
            buyers = {c for p in parts for c in p.deals["contact_id"].to_pylist()}
            assert result.tables["contacts"] == len(buyers)
        else:
            assert result.tables["deals"] == deals, fmt
    # the exports of one history share their people's keys: one workspace, its 300 people
    from workbook.analytics.engine import Engine

    eng = Engine.for_workspace(ws)
    assert eng.query("SELECT count(DISTINCT contact_id) AS n FROM contacts").n[0] == 300
    assert eng.query("SELECT count(*) AS n FROM deals").n[0] == deals


def test_write_exports_writes_each_format_once(model: Workspace, tmp_path: Path) -> None:
    parts = generate_parts(model, contacts=50, seed=2, part=20)
    paths = write_exports(parts, ["generic", "generic"], tmp_path)
    frame = pd.read_csv(paths["generic"], dtype=str)
    events = sum(p.events.num_rows for p in generate_parts(model, contacts=50, seed=2, part=20))
    assert len(frame) == events  # not twice as many


def test_nothing_happens_after_the_end(model: Workspace) -> None:
    # every contact created in the last month: some e-mails are sent just before the end,
    # and their opens, clicks and replies would come after it
    s = generate(model, contacts=20_000, seed=9, span_days=30)
    assert s.events.num_rows > 20_000
    assert s.events.to_pandas().ts.max() <= pd.Timestamp(DEFAULT_END)


def _reach(s: Any, stage: str) -> int:
    ev = s.events.to_pandas()
    return int(ev[(ev.kind == "stage") & (ev.stage == stage)].contact_id.nunique())


@pytest.mark.parametrize("baseline", [8.0, 40.0])
def test_a_conversion_baseline_of_the_workspace_sets_the_step(
    model: Workspace, baseline: float
) -> None:
    ws = model.model_copy(deep=True)
    (objective,) = [o for o in ws.objectives if o.metric == "conversion:consideration:purchase"]
    objective.baseline = baseline
    s = generate(ws, contacts=20_000, seed=4)
    rate = _reach(s, "purchase") / _reach(s, "consideration")
    # each persona's lift moves it by up to a quarter either way
    assert baseline / 100 * 0.7 < rate < baseline / 100 * 1.3
