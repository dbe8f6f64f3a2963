"""The funnel's headline rules, on hand-worked workspaces (issue 13, items 1b, 5, 6 and 10).

- The headline win rate is decided deals: won deals / (won + lost deals); the per-contact
  view is labelled "contacts won".
- The bottleneck is the stage where most contacts are lost (absolute drop-off), among stages
  with data on both sides; the weakest rate is a second line. A stage no source can reach
  reads "no data", never 0%.
- The ordered funnel counts a contact at step k only when it entered steps 1..k in order.
- An export with each deal's current stage only (no stage history) is said to be one.

Every expected number below is worked out by hand in the comments, or by a plain pandas
implementation written here.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_analytics_hand import COLUMNS, build, day

from workbook import analytics as A
from workbook.analytics import Engine
from workbook.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
STAGES = ["awareness", "consideration", "purchase", "retention", "advocacy"]


def _stage_events(rows: list[tuple[str, float, str]]) -> pd.DataFrame:
    """Stage events (contact, day, stage) with seq in the order given per contact."""
    seq: dict[str, int] = {}
    out = []
    for cid, d, stage in rows:
        seq[cid] = seq.get(cid, -1) + 1
        out.append((cid, day(d), seq[cid], "stage", stage, None, None, None))
    return pd.DataFrame(out, columns=COLUMNS)


def _contacts(ids: list[str], persona: dict[str, str] | None = None) -> pd.DataFrame:
    persona = persona or {}
    return pd.DataFrame({"contact_id": ids, "persona": [persona.get(c, "p1") for c in ids]})


NO_DEALS = pd.DataFrame({"deal_id": pd.Series([], dtype=object)})


def _analyse(path: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["analyse", str(path), *args])
    assert result.exit_code == 0, result.output
    return result.output


# ------------------------------------------------------------------ 1b: win rate on deals


@pytest.fixture(scope="module")
def many_deals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Contact a: 1 won + 3 lost deals; b: 1 lost; c: 1 open; e: 1 won; f: no deal.

    Deals: 2 won, 4 lost, 1 open -> win rate 2 / 6 = 33.3%.
    Contacts by best outcome: a won, e won, b lost, c open -> contacts won 2 of 3 decided.
    Personas: a, b -> p1 (deals 1 won, 4 lost: 20%); c, e, f -> p2 (1 won, 0 lost: 100%).
    """
    ids = ["a", "b", "c", "e", "f"]
    events = _stage_events([(c, 0, "awareness") for c in ids])
    deals = pd.DataFrame(
        {
            "deal_id": ["a1", "a2", "a3", "a4", "b1", "c1", "e1"],
            "contact_id": ["a", "a", "a", "a", "b", "c", "e"],
            "amount": [10.0] * 7,
            "created_at": [day(1)] * 7,
            "closed_at": [day(3), day(4), day(5), day(6), day(4), None, day(2)],
            "outcome": ["won", "lost", "lost", "lost", "lost", "open", "won"],
        }
    )
    persona = {"a": "p1", "b": "p1", "c": "p2", "e": "p2", "f": "p2"}
    return build(
        tmp_path_factory.mktemp("deals"),
        events=events,
        contacts=_contacts(ids, persona),
        deals=deals,
    )


def test_headline_win_rate_counts_decided_deals(many_deals: Path) -> None:
    s = A.summary(many_deals, by="persona")
    c = s["conversions"]
    assert c["win_rate"] == pytest.approx(2 / 6)
    assert (c["won_deals"], c["lost_deals"], c["open_deals"]) == (2, 4, 1)
    # the per-contact view stays, under its own name
    assert (c["won_contacts"], c["lost_contacts"], c["open_contacts"]) == (2, 1, 1)
    assert c["contacts_won_rate"] == pytest.approx(2 / 3)
    assert s["groups"]["p1"]["win_rate"] == pytest.approx(1 / 5)
    assert s["groups"]["p2"]["win_rate"] == pytest.approx(1.0)
    assert s["groups"]["p1"]["won_contacts"] == 1


def test_analyse_prints_the_deal_win_rate_and_labels_the_contacts(many_deals: Path) -> None:
    out = _analyse(many_deals, "--by", "persona")
    assert "2 won, 4 lost, 1 open; win rate 33.3%" in out
    assert "Contacts won: 2 (66.7% of the 3 contacts with a decided deal)" in out
    assert "p1: 2 contacts, 1 contacts won, win rate on deals 20.0%" in out


def test_executive_summary_shows_the_deal_win_rate(many_deals: Path) -> None:
    from workbook import sections

    ctx = sections.report_context(str(many_deals), ["summary"], report_date="2026-03-01")
    html = str(sections.render_section("summary", ctx))
    assert "33.3%" in html and "win rate on decided deals" in html
    assert "66.7%" not in html or "contacts won" in html


# ------------------------------------------------------------------ 5: the bottleneck


@pytest.fixture(scope="module")
def drops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 contacts: all at awareness; 20 go on to consideration; 18 of those to purchase;
    1 of those to retention, and on to advocacy.

    awareness -> consideration: 20 / 200 = 10%, 180 stop  (the most contacts lost)
    consideration -> purchase:  18 / 20  = 90%, 2 stop
    purchase -> retention:       1 / 18  = 5.6%, 17 stop  (the weakest rate)
    retention -> advocacy:       1 / 1   = 100%, 0 stop
    """
    rows: list[tuple[str, float, str]] = []
    for i in range(200):
        cid = f"k{i:03d}"
        rows.append((cid, 0, "awareness"))
        for d, (stage, n) in enumerate(
            [("consideration", 20), ("purchase", 18), ("retention", 1), ("advocacy", 1)], 1
        ):
            if i < n:
                rows.append((cid, d, stage))
    ids = [f"k{i:03d}" for i in range(200)]
    return build(
        tmp_path_factory.mktemp("drops"),
        events=_stage_events(rows),
        contacts=_contacts(ids),
        deals=NO_DEALS,
    )


def test_bottleneck_is_where_most_contacts_are_lost(drops: Path) -> None:
    f = A.funnel(drops)
    assert f["contacts"].tolist() == [200, 20, 18, 1, 1]
    assert f["drop_off"].tolist()[:4] == [180, 2, 17, 0]
    assert f.loc[f["is_bottleneck"], "stage"].tolist() == ["awareness"]
    assert f.loc[f["is_weakest_step"], "stage"].tolist() == ["purchase"]
    s = A.summary(drops)
    assert s["bottleneck"]["stage"] == "awareness"
    assert s["bottleneck"]["drop_off"] == 180
    assert s["bottleneck"]["conversion_to_next"] == pytest.approx(0.1)
    assert s["weakest_step"]["stage"] == "purchase"
    assert s["weakest_step"]["conversion_to_next"] == pytest.approx(1 / 18)


def test_analyse_names_the_biggest_drop_off_and_the_weakest_step(drops: Path) -> None:
    out = _analyse(drops)
    assert "Bottleneck: Awareness, 180 contacts stop there (10.0% go on to Consideration)" in out
    assert "Weakest step: Purchase, 5.6% go on to Retention (17 contacts stop there)" in out


def test_the_demo_loses_most_contacts_at_consideration() -> None:
    """The demo's bottleneck and weakest step, against sets of contacts counted by hand.

    From the derived stage entries alone: a stage's contacts who never entered the next
    stage "stop there"; the bottleneck is the stage where most stop, the weakest step the
    lowest share going on.
    """
    import pyarrow.parquet as pq

    from workbook.crm import schema
    from workbook.store import open_workspace

    entries = pq.read_table(schema.derived_path(DEMO, "stage_entries")).to_pandas()
    names = {s.id: s.name for s in open_workspace(DEMO).data.stages}
    order = list(names)
    reached = {s: set(entries.contact_id[entries.stage == s]) for s in order}
    steps = [
        (a, b, len(reached[a] - reached[b]), len(reached[a] & reached[b]) / len(reached[a]))
        for a, b in zip(order, order[1:], strict=False)
    ]
    worst = max(steps, key=lambda x: x[2])
    weakest = min(steps, key=lambda x: x[3])
    assert worst[0] == "consideration"  # what the demo's story says

    out = _analyse(DEMO)
    line = next(x for x in out.splitlines() if x.startswith("Bottleneck:"))
    assert line == (
        f"Bottleneck: {names[worst[0]]}, {worst[2]:,} contacts stop there "
        f"({worst[3]:.1%} go on to {names[worst[1]]})"
    )
    assert f"Weakest step: {names[weakest[0]]}, {weakest[3]:.1%} go on" in out


@pytest.fixture(scope="module")
def unfed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No source feeds retention or advocacy (no event maps to them).

    u1, u2, u3 (p1): awareness -> consideration -> purchase
    u4 (p2):         awareness -> consideration
    u5, u6 (p2):     awareness

    awareness 6 -> consideration 4 (67%, 2 stop); consideration 4 -> purchase 3 (75%, 1
    stop); purchase -> retention: no data (it is not 0%), so purchase is never the
    bottleneck. Bottleneck: awareness. For p1 nobody is lost where both sides have data:
    no bottleneck. For p2 purchase has data (p1 reached it), so 0 of 1 going on is a real 0%.
    """
    rows = []
    for c in ("u1", "u2", "u3"):
        rows += [(c, 0, "awareness"), (c, 1, "consideration"), (c, 2, "purchase")]
    rows += [("u4", 0, "awareness"), ("u4", 1, "consideration")]
    rows += [("u5", 0, "awareness"), ("u6", 0, "awareness")]
    ids = [f"u{i}" for i in range(1, 7)]
    persona = {c: ("p1" if c in ("u1", "u2", "u3") else "p2") for c in ids}
    return build(
        tmp_path_factory.mktemp("unfed"),
        events=_stage_events(rows),
        contacts=_contacts(ids, persona),
        deals=NO_DEALS,
    )


def test_a_stage_no_source_reaches_has_no_data_and_is_never_the_bottleneck(unfed: Path) -> None:
    f = A.funnel(unfed).set_index("stage")
    assert f["has_data"].tolist() == [True, True, True, False, False]
    assert f.loc["awareness", "conversion_to_next"] == pytest.approx(4 / 6)
    assert f.loc["consideration", "conversion_to_next"] == pytest.approx(3 / 4)
    for stage in ("purchase", "retention", "advocacy"):
        assert math.isnan(f.loc[stage, "conversion_to_next"]), stage
    assert f.index[f["is_bottleneck"]].tolist() == ["awareness"]
    assert f.index[f["is_weakest_step"]].tolist() == ["awareness"]

    g = A.funnel(unfed, by="persona")
    p1 = g[g["persona"] == "p1"].set_index("stage")
    assert not p1["is_bottleneck"].any()  # nobody lost where both sides have data
    p2 = g[g["persona"] == "p2"].set_index("stage")
    assert bool(p2.loc["purchase", "has_data"]) and p2.loc["purchase", "contacts"] == 0
    assert p2.loc["consideration", "conversion_to_next"] == 0.0  # a real 0%: p1 reached it
    assert p2.index[p2["is_bottleneck"]].tolist() == ["awareness"]  # 3 -> 1: 2 lost

    s = A.summary(unfed)
    rows = {r["stage"]: r for r in s["funnel"]}
    assert rows["retention"]["contacts"] is None and rows["retention"]["has_data"] is False
    assert rows["purchase"]["conversion_to_next"] is None
    assert s["bottleneck"]["stage"] == "awareness"
    json.dumps(s)

    out = _analyse(unfed)
    assert "0.0%" not in out
    retention = next(x for x in out.splitlines() if x.strip().startswith("Retention"))
    assert "no data" in retention
    purchase = next(x for x in out.splitlines() if x.strip().startswith("Purchase"))
    assert "no data" in purchase  # its next stage has none


def test_the_hand_workspace_no_longer_blames_purchase(tmp_path: Path) -> None:
    """test_analytics_hand's three contacts: nothing maps to retention, so purchase's "0.0%
    go on" was a stage with no data; consideration (3 -> 2, 1 lost) is the bottleneck."""
    f = A.funnel(build(tmp_path))
    assert f.loc[f["is_bottleneck"], "stage"].tolist() == ["consideration"]
    assert math.isnan(f.loc[f["stage"] == "purchase", "conversion_to_next"].iloc[0])


# ------------------------------------------------------------------ 6: the ordered funnel

#: (contact, day, stage) in the order of the log; A C P R V are the five stages.
ORDER_CASES = [
    # o1: in order                               -> A C P
    ("o1", 0, "awareness"), ("o1", 1, "consideration"), ("o1", 2, "purchase"),
    # o2: skips consideration                    -> A
    ("o2", 0, "awareness"), ("o2", 1, "purchase"),
    # o3: consideration before awareness, never again -> A
    ("o3", 0, "consideration"), ("o3", 1, "awareness"), ("o3", 2, "purchase"),
    # o4: purchase first, re-entered after consideration -> A C P
    ("o4", 0, "purchase"), ("o4", 1, "awareness"), ("o4", 2, "consideration"),
    ("o4", 3, "purchase"),
    # o5: three entries at the same time (a tie counts as in order) -> A C P
    ("o5", 0, "awareness"), ("o5", 0, "consideration"), ("o5", 0, "purchase"),
    # o6: consideration, awareness, consideration again -> A C
    ("o6", 0, "consideration"), ("o6", 3, "awareness"), ("o6", 5, "consideration"),
    # o7: consideration logged before awareness at the same second -> A C P
    ("o7", 2, "consideration"), ("o7", 2, "awareness"), ("o7", 3, "purchase"),
    # o8: the whole way                         -> A C P R V
    ("o8", 0, "awareness"), ("o8", 1, "consideration"), ("o8", 2, "purchase"),
    ("o8", 3, "retention"), ("o8", 4, "advocacy"),
    # o9: advocacy only                          -> nothing
    ("o9", 0, "advocacy"),
    # o10: purchase before consideration          -> A C
    ("o10", 0, "awareness"), ("o10", 0.5, "purchase"), ("o10", 1, "consideration"),
    # o11: the first awareness counts, not the last -> A C
    ("o11", 0, "awareness"), ("o11", 1, "consideration"), ("o11", 2, "awareness"),
]  # fmt: skip
ORDER_PERSONA = {f"o{i}": ("p1" if i <= 6 else "p2") for i in range(1, 12)}


@pytest.fixture(scope="module")
def order_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ids = [f"o{i}" for i in range(1, 12)]
    return build(
        tmp_path_factory.mktemp("order"),
        events=_stage_events(ORDER_CASES),
        contacts=_contacts(ids, ORDER_PERSONA),
        deals=NO_DEALS,
    )


def test_ordered_funnel_by_hand(order_ws: Path) -> None:
    ever = A.funnel(order_ws)
    # ever reached: A o1-o8,o10,o11; C all but o2,o9; P o1-o5,o7,o8,o10; R o8; V o8,o9
    assert ever["contacts"].tolist() == [10, 9, 8, 1, 2]
    f = A.funnel(order_ws, ordered=True)
    assert f["stage"].tolist() == STAGES
    # in order: A 10; C o1,o4,o5,o6,o7,o8,o10,o11; P o1,o4,o5,o7,o8; R o8; V o8
    assert f["contacts"].tolist() == [10, 8, 5, 1, 1]
    assert f["reached_next"].tolist() == [8, 5, 1, 1, 0]
    assert f["drop_off"].tolist() == [2, 3, 4, 0, 0]
    conv = f["conversion_to_next"].tolist()
    assert conv[:4] == pytest.approx([0.8, 5 / 8, 0.2, 1.0])
    assert math.isnan(conv[4])
    assert f.loc[f["is_bottleneck"], "stage"].tolist() == ["purchase"]  # 4 lost
    assert f.loc[f["is_weakest_step"], "stage"].tolist() == ["purchase"]  # 20%


def test_ordered_funnel_by_persona_by_hand(order_ws: Path) -> None:
    f = A.funnel(order_ws, by="persona", ordered=True)
    p1 = f[f["persona"] == "p1"]
    p2 = f[f["persona"] == "p2"]
    # p1 = o1..o6: A 6; C o1,o4,o5,o6; P o1,o4,o5
    assert p1["contacts"].tolist() == [6, 4, 3, 0, 0]
    # p2 = o7..o11: A o7,o8,o10,o11; C the same four; P o7,o8; R o8; V o8
    assert p2["contacts"].tolist() == [4, 4, 2, 1, 1]


def test_analyse_ordered_labels_the_funnel(order_ws: Path) -> None:
    out = _analyse(order_ws, "--ordered")
    assert "Funnel (in order" in out
    lines = [x for x in out.splitlines() if x.strip().startswith("Consideration")]
    assert "8" in lines[0].split()
    plain = _analyse(order_ws)
    assert "Funnel (ever reached" in plain
    data = json.loads(_analyse(order_ws, "--ordered", "--json"))
    assert data["funnel_kind"] == "in order"
    assert [r["contacts"] for r in data["funnel"]] == [10, 8, 5, 1, 1]


def test_ordered_funnel_chart_is_labelled(order_ws: Path) -> None:
    from workbook import charts

    spec = charts.get("funnel")(A.funnel(order_ws, ordered=True)).to_dict()
    assert "in order" in spec["title"]["text"]
    spec = charts.get("funnel")(A.funnel(order_ws)).to_dict()
    assert "ever reached" in spec["title"]["text"]


def _ordered_reference(
    events: pd.DataFrame, stages: list[str], groups: pd.Series | None
) -> dict[Any, list[int]]:
    """A plain pandas / Python ordered funnel over the raw stage events.

    Entries: a contact's stage events in time order (ts, then seq), each one that changes
    the stage (a repeat of the stage it is in is no new entry). Steps: the stages somebody
    entered, in the workspace's order. A contact counts at step k when there are entries
    t1 <= t2 <= ... <= tk into steps 1..k; the earliest such chain is found greedily.
    """
    ev = events[(events["kind"] == "stage") & events["stage"].notna()]
    ev = ev[ev["contact_id"].notna()].sort_values(["contact_id", "ts", "seq"], kind="stable")
    prev = ev.groupby("contact_id")["stage"].shift()
    entries = ev[prev.isna() | (prev != ev["stage"])]
    steps = [s for s in stages if s in set(entries["stage"])]
    out: dict[Any, list[int]] = {}
    for cid, part in entries.groupby("contact_id", sort=False):
        times: dict[str, list[pd.Timestamp]] = {}
        for s, t in zip(part["stage"], part["ts"], strict=True):
            times.setdefault(s, []).append(t)
        key = groups.get(cid, "unassigned") if groups is not None else None
        counts = out.setdefault(key, [0] * len(stages))
        t_prev = None
        for s in steps:
            later = [t for t in times.get(s, []) if t_prev is None or t >= t_prev]
            if not later:
                break
            t_prev = min(later)
            counts[stages.index(s)] += 1
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, pd.DataFrame, Path]:
    from workbook.crm.generate import generate
    from workbook.crm.storage import write_canonical
    from workbook.store import open_workspace

    folder = tmp_path_factory.mktemp("gen") / "ws"
    folder.mkdir()
    shutil.copy(DEMO / "workspace.yaml", folder / "workspace.yaml")
    ws = open_workspace(folder)
    sample = generate(ws.data, contacts=1500, seed=5)
    events = _disorder(sample.events.to_pandas())
    write_canonical(folder, "gen", sample.contacts, events, sample.deals)
    return ws.data, events, sample.contacts.to_pandas(), folder


def _disorder(events: pd.DataFrame) -> pd.DataFrame:
    """The generator's stages come in order; make some contacts skip a stage (a stage event
    dropped), enter one early (moved before the first event) and re-enter one (a copy a week
    later), so the ordered funnel has something to leave out."""
    rng = np.random.default_rng(13)
    ev = events.reset_index(drop=True)
    stage_rows = ev.index[(ev["kind"] == "stage") & ev["stage"].notna()].to_numpy()
    picked = rng.choice(stage_rows, size=len(stage_rows) // 4, replace=False)
    drop, early, again = np.array_split(picked, 3)
    first = ev.groupby("contact_id")["ts"].transform("min")
    ev.loc[early, "ts"] = first[early] - pd.Timedelta(hours=1)
    copies = ev.loc[again].copy()
    copies["ts"] = copies["ts"] + pd.Timedelta(days=7)
    copies["seq"] = copies["seq"] + 100_000
    out = pd.concat([ev.drop(index=drop), copies], ignore_index=True)
    return out.sort_values(["contact_id", "ts", "seq"], kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("by", [None, "persona"])
def test_ordered_funnel_matches_pandas(generated: tuple[Any, ...], by: str | None) -> None:
    data, events, contacts, folder = generated
    stages = [s.id for s in data.stages]
    groups = None
    if by:
        groups = contacts.groupby("contact_id")[by].min().fillna("unassigned")
    ref = _ordered_reference(events, stages, groups)
    got = A.funnel(Engine.for_workspace(folder), by=by, ordered=True)
    ever = A.funnel(Engine.for_workspace(folder), by=by)
    assert (got["contacts"].to_numpy() <= ever["contacts"].to_numpy()).all()
    for key, counts in ref.items():
        rows = got[got[by] == key] if by else got
        assert rows["contacts"].tolist() == counts, key
        nxt = counts[1:] + [0]
        assert rows["reached_next"].tolist() == nxt, key
        for i in range(len(stages) - 1):
            if counts[i]:
                assert rows["conversion_to_next"].iloc[i] == pytest.approx(nxt[i] / counts[i])
    # the ordered funnel really differs from the ever-reached one on this history
    assert sum(sum(v) for v in ref.values()) < int(ever["contacts"].sum())


def test_generated_bottleneck_matches_pandas(generated: tuple[Any, ...]) -> None:
    data, events, _, folder = generated
    stages = [s.id for s in data.stages]
    ev = events[(events["kind"] == "stage") & events["stage"].notna()]
    sets = {s: set(ev.loc[ev["stage"] == s, "contact_id"]) for s in stages}
    lost = [
        len(sets[s] - sets[stages[i + 1]]) if sets[s] and sets[stages[i + 1]] else -1
        for i, s in enumerate(stages[:-1])
    ]
    got = A.funnel(Engine.for_workspace(folder))
    assert got["drop_off"].tolist()[:-1] == [max(x, 0) for x in lost]
    assert got.loc[got["is_bottleneck"], "stage"].tolist() == [stages[int(np.argmax(lost))]]


# ------------------------------------------------------------------ 10: deals-only exports


@pytest.fixture(scope="module")
def pipedrive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A fresh demo workspace with a generated Pipedrive deals export imported."""
    from workbook.crm.demo import demo_without_data
    from workbook.crm.generate import generate, write_export
    from workbook.crm.importer import import_file
    from workbook.store import open_workspace

    root = tmp_path_factory.mktemp("pipedrive")
    sample = generate(open_workspace(DEMO).data, contacts=600, seed=8)
    export = write_export(sample, "pipedrive", root / "exports")
    ws = demo_without_data(root / "client", DEMO)
    import_file(ws, export)
    generic = write_export(sample, "generic", root / "exports")
    return ws, generic


def test_a_deals_only_export_is_not_read_as_a_funnel(pipedrive: tuple[Path, Path]) -> None:
    ws, _ = pipedrive
    hist = A.stage_history(ws)
    assert hist["has_stage_history"].tolist() == [False]
    assert hist["system"].tolist() == ["pipedrive"]
    s = A.summary(ws)
    assert s["stage_history"] is False
    assert s["bottleneck"] is None and s["weakest_step"] is None
    assert any("no stage history" in n for n in s["notes"])
    assert all(r["conversion_to_next"] is None for r in s["funnel"])
    out = _analyse(ws)
    assert "no stage history" in out
    assert "go on" not in out and "Bottleneck:" not in out


def test_the_report_and_the_form_say_the_export_has_no_stage_history(
    pipedrive: tuple[Path, Path],
) -> None:
    from workbook import sections
    from workbook.forms import data as data_form
    from workbook.store import open_workspace

    ws, _ = pipedrive
    ctx = sections.report_context(
        str(ws), ["appendix", "funnel", "summary"], report_date="2026-03-01"
    )
    appendix = str(sections.render_section("appendix", ctx))
    assert "no stage history" in appendix and "pipedrive-deals.csv" in appendix
    funnel = str(sections.render_section("funnel", ctx))
    assert "no stage history" in funnel and "Go on to the next stage" not in funnel
    summary = str(sections.render_section("summary", ctx))
    assert "biggest drop-off" not in summary

    assert "no stage history" in data_form.history_html(open_workspace(ws))


def test_the_form_says_so_right_after_the_import(tmp_path: Path) -> None:
    from workbook.crm.demo import demo_without_data
    from workbook.crm.generate import generate, write_export
    from workbook.forms import data as data_form
    from workbook.store import open_workspace

    sample = generate(open_workspace(DEMO).data, contacts=80, seed=2)
    export = write_export(sample, "pipedrive", tmp_path / "exports")
    ws = open_workspace(demo_without_data(tmp_path / "client", DEMO))
    form = data_form.form(ws)
    form.one("wb-data-file").value = str(export)
    form.one("wb-import").click()
    assert form.callback_errors == []
    assert "imported as" in form.one("wb-data-result").value
    assert "no stage history" in form.one("wb-data-result").value


def test_a_history_beside_a_deals_only_export_names_only_that_export(
    pipedrive: tuple[Path, Path], tmp_path: Path
) -> None:
    from workbook.crm.importer import import_file

    ws, generic = pipedrive
    both = tmp_path / "both"
    shutil.copytree(ws, both)
    import_file(both, generic)
    hist = A.stage_history(both).set_index("system")
    assert bool(hist.loc["generic", "has_stage_history"])
    assert not bool(hist.loc["pipedrive", "has_stage_history"])
    s = A.summary(both)
    assert s["stage_history"] is True and s["bottleneck"] is not None
    note = next(n for n in s["notes"] if "no stage history" in n)
    assert "pipedrive-deals.csv" in note and "events.csv" not in note


def test_a_stage_history_gives_no_such_note(drops: Path) -> None:
    s = A.summary(drops)
    assert s["stage_history"] is True
    assert not any("stage history" in n for n in s["notes"])


def test_stage_history_reads_a_source_whole_when_its_sample_proves_nothing(
    pipedrive: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a sample of one event no source shows two stages at once, so every source is
    read whole: the answer must not change."""
    import importlib

    from workbook.crm.importer import import_file

    F = importlib.import_module("workbook.analytics.funnel")  # the module, not the function

    ws, generic = pipedrive
    both = tmp_path / "both"
    shutil.copytree(ws, both)
    import_file(both, generic)
    want = A.stage_history(Engine.for_workspace(both))
    monkeypatch.setattr(F, "_HISTORY_SAMPLE", 1)
    got = A.stage_history(Engine.for_workspace(both))
    pd.testing.assert_frame_equal(got, want)
    assert got["has_stage_history"].tolist() == [False, True]


def test_the_data_form_shows_no_data_for_a_stage_no_source_reaches(
    pipedrive: tuple[Path, Path],
) -> None:
    from workbook.forms import data as data_form
    from workbook.store import open_workspace

    ws, _ = pipedrive
    f = A.funnel(ws)
    unfed = f.loc[~f["has_data"], "stage_name"].tolist()
    assert unfed, "a deals export reaches no stage after the sale"
    text = data_form.reach_html(open_workspace(ws))
    number = f'<td style="{data_form._NUMBER}">'  # counts right-aligned
    name_cell = f'<td style="{data_form._TEXT}">'
    for name in unfed:
        assert f"{name_cell}{name}</td>{number}no data</td>" in text
    fed = f[f["has_data"]].iloc[0]
    assert f"{name_cell}{fed['stage_name']}</td>{number}{int(fed['contacts']):,}</td>" in text


def test_ordered_funnel_keeps_a_group_that_never_entered_the_first_step(tmp_path: Path) -> None:
    """q1 (p1) goes awareness -> consideration; q2 (p2) enters consideration only. In order,
    p2 counts nobody, but still has its rows, as in the ever-reached funnel."""
    events = _stage_events(
        [("q1", 0, "awareness"), ("q1", 1, "consideration"), ("q2", 0, "consideration")]
    )
    path = build(
        tmp_path,
        events=events,
        contacts=_contacts(["q1", "q2"], {"q1": "p1", "q2": "p2"}),
        deals=NO_DEALS,
    )
    ever = A.funnel(path, by="persona")
    got = A.funnel(path, by="persona", ordered=True)
    assert got["persona"].tolist() == ever["persona"].tolist()
    assert got.loc[got["persona"] == "p2", "contacts"].tolist() == [0, 0, 0, 0, 0]
    assert got.loc[got["persona"] == "p1", "contacts"].tolist() == [1, 1, 0, 0, 0]
