"""Hand-worked cases: a three-contact log whose every number is worked out below by hand.

The log (days after 1 January 2026, stages are the method's five defaults)::

    c1  d0 awareness | d1 ads click | d2 consideration | d3 web visit | d5 purchase
        deal won, created d3, closed d5, 100
    c2  d0 awareness | d1 ads click | d4 consideration | d6 awareness (back)
        deal lost, created d4, closed d7, "price"
    c3  d0 awareness | d1 web visit (seq 1) | d1 consideration (seq 2, same time) | d11 purchase
        deal won, created d2, closed d11, 200

Plus messages with a channel but no touchpoint (they feed the channel rates only): email
sent to all three (twice to c1), c1 opens and clicks, c3 replies; sms sent to all three,
only c2 opens.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from workbook import analytics as A
from workbook.analytics import Engine

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def day(n: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=n)


EVENTS = [
    # contact, ts, seq, kind, stage, touchpoint, channel, action
    ("c1", day(0), 0, "stage", "awareness", None, None, None),
    ("c1", day(1), 1, "touch", "awareness", "ads", "ads", "click"),
    ("c1", day(2), 2, "stage", "consideration", None, None, None),
    ("c1", day(3), 3, "touch", "consideration", "web", "web", "visit"),
    ("c1", day(5), 4, "stage", "purchase", None, None, None),
    ("c2", day(0), 0, "stage", "awareness", None, None, None),
    ("c2", day(1), 1, "touch", "awareness", "ads", "ads", "click"),
    ("c2", day(4), 2, "stage", "consideration", None, None, None),
    ("c2", day(6), 3, "stage", "awareness", None, None, None),
    ("c3", day(0), 0, "stage", "awareness", None, None, None),
    ("c3", day(1), 1, "touch", "awareness", "web", "web", "visit"),
    ("c3", day(1), 2, "stage", "consideration", None, None, None),
    ("c3", day(11), 3, "stage", "purchase", None, None, None),
    # channel-only messages
    ("c1", day(1), 10, "touch", None, None, "email", "sent"),
    ("c1", day(2), 11, "touch", None, None, "email", "sent"),
    ("c1", day(2), 12, "touch", None, None, "email", "open"),
    ("c1", day(2), 13, "touch", None, None, "email", "click"),
    ("c2", day(1), 10, "touch", None, None, "email", "sent"),
    ("c3", day(1), 10, "touch", None, None, "email", "sent"),
    ("c3", day(2), 11, "touch", None, None, "email", "reply"),
    ("c1", day(1), 20, "touch", None, None, "sms", "sent"),
    ("c2", day(1), 20, "touch", None, None, "sms", "sent"),
    ("c2", day(1), 21, "touch", None, None, "sms", "open"),
    ("c3", day(1), 20, "touch", None, None, "sms", "sent"),
]
COLUMNS = ["contact_id", "ts", "seq", "kind", "stage", "touchpoint", "channel", "action"]


def contacts_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "contact_id": ["c1", "c2", "c3"],
            "persona": ["p1", "p2", "p1"],
            "segment": ["s1", "s1", None],
            "lead_source": ["Organic", "Paid", "Organic"],
        }
    )


def deals_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3"],
            "contact_id": ["c1", "c2", "c3"],
            "amount": [100.0, 50.0, 200.0],
            "created_at": [day(3), day(4), day(2)],
            "closed_at": [day(5), day(7), day(11)],
            "outcome": ["won", "lost", "won"],
            "lost_reason": [None, "price", None],
        }
    )


def build(
    folder: Path,
    events: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    deals: pd.DataFrame | None = None,
    name: str = "Hand",
) -> Path:
    """A workspace with the hand-worked log (or the frames given), written as an import would."""
    from workbook.crm.storage import write_canonical
    from workbook.model import ScoringRule, Touchpoint
    from workbook.store import new_workspace

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
    ws.save()
    write_canonical(
        ws.path,
        "hand",
        contacts_frame() if contacts is None else contacts,
        pd.DataFrame(EVENTS, columns=COLUMNS) if events is None else events,
        deals_frame() if deals is None else deals,
    )
    return ws.path


@pytest.fixture(scope="module")
def eng(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine.for_workspace(build(tmp_path_factory.mktemp("hand")))


def test_funnel_by_hand(eng: Engine) -> None:
    f = A.funnel(eng)
    assert f["stage"].tolist() == [
        "awareness",
        "consideration",
        "purchase",
        "retention",
        "advocacy",
    ]
    assert f["contacts"].tolist() == [3, 3, 2, 0, 0]
    assert f["reached_next"].tolist() == [3, 2, 0, 0, 0]
    # no event maps to retention or advocacy: no data there, and none on purchase's step
    assert f["has_data"].tolist() == [True, True, True, False, False]
    assert f["drop_off"].tolist()[:2] == [0, 1] and f["drop_off"].iloc[2:].isna().all()
    conv = f["conversion_to_next"].tolist()
    assert conv[:2] == pytest.approx([1.0, 2 / 3])
    assert all(math.isnan(c) for c in conv[2:])
    # the bottleneck is the most contacts lost among measurable steps (was: lowest rate)
    assert f.loc[f["is_bottleneck"], "stage"].tolist() == ["consideration"]
    assert f["share_of_first"].tolist()[:3] == pytest.approx([1.0, 1.0, 2 / 3])


def test_funnel_by_persona_by_hand(eng: Engine) -> None:
    f = A.funnel(eng, by="persona")
    p2 = f[f["persona"] == "p2"].set_index("stage")
    assert p2.loc["consideration", "contacts"] == 1
    assert p2.loc["consideration", "conversion_to_next"] == 0.0
    assert bool(p2.loc["consideration", "is_bottleneck"])
    p1 = f[f["persona"] == "p1"].set_index("stage")
    assert p1["contacts"].tolist() == [2, 2, 2, 0, 0]
    # p1 (c1, c3) loses nobody where both sides have data: no bottleneck
    assert f.groupby("persona")["is_bottleneck"].sum().tolist() == [0, 1]


def test_transitions_by_hand(eng: Engine) -> None:
    t = A.transitions(eng)
    got = {(r.from_stage, r.to_stage): (r.moves, r.direction) for r in t.itertuples()}
    assert got == {
        ("awareness", "consideration"): (3, "forward"),
        ("consideration", "awareness"): (1, "backward"),
        ("consideration", "purchase"): (2, "forward"),
    }
    share = t.set_index(["from_stage", "to_stage"])["share"]
    assert share[("consideration", "purchase")] == pytest.approx(2 / 3)
    m = A.transition_matrix(eng)
    assert m.loc["consideration", "awareness"] == 1
    assert m.to_numpy().sum() == 6
    assert A.transition_matrix(eng, share=True).loc["consideration"].sum() == pytest.approx(1.0)


def test_time_in_stage_by_hand(eng: Engine) -> None:
    t = A.time_in_stage(eng).set_index("stage")
    # awareness stays: c1 2 d, c2 4 d, c3 1 d (c2's second stay is still open)
    assert t.loc["awareness", "spells"] == 3 and t.loc["awareness", "open_spells"] == 1
    assert t.loc["awareness", "median_days"] == pytest.approx(2.0)
    assert t.loc["awareness", "p90_days"] == pytest.approx(2 + 0.8 * (4 - 2))
    # consideration stays: c1 3 d, c2 2 d, c3 10 d
    assert t.loc["consideration", "median_days"] == pytest.approx(3.0)
    assert t.loc["consideration", "p90_days"] == pytest.approx(3 + 0.8 * (10 - 3))
    assert t.loc["purchase", "spells"] == 0 and t.loc["purchase", "open_spells"] == 2
    assert math.isnan(t.loc["purchase", "median_days"])


def test_time_to_close_by_hand(eng: Engine) -> None:
    t = A.time_to_close(eng).iloc[0]
    assert t["won_deals"] == 2  # d1: 2 days, d3: 9 days
    assert t["median_days"] == pytest.approx(5.5)
    assert t["p90_days"] == pytest.approx(2 + 0.9 * 7)
    assert t["total_amount"] == 300.0


def test_markov_removal_effects_by_hand(eng: Engine) -> None:
    # Journeys: c1 start>ads>web>conv, c2 start>ads>null, c3 start>web>conv.
    # P(start>ads)=2/3, P(start>web)=1/3, P(ads>web)=1/2, P(ads>null)=1/2, P(web>conv)=1.
    # P(conv) = 2/3*1/2 + 1/3 = 2/3. Without ads: 1/3 -> effect 1/2. Without web: 0 -> 1.
    r = A.removal_effects(eng).set_index("touchpoint")
    assert r.loc["ads", "removal_effect"] == pytest.approx(0.5)
    assert r.loc["web", "removal_effect"] == pytest.approx(1.0)
    assert r.loc["ads", "conversion_without"] == pytest.approx(1 / 3)
    assert r["conversion_base"].tolist() == pytest.approx([2 / 3, 2 / 3])


def test_attribution_by_hand(eng: Engine) -> None:
    a = A.attribution(eng).set_index(["model", "touchpoint"])["conversions"]
    assert a[("first_touch", "ads")] == 1 and a[("first_touch", "web")] == 1
    assert a[("last_touch", "ads")] == 0 and a[("last_touch", "web")] == 2
    assert a[("linear", "ads")] == pytest.approx(0.5) and a[("linear", "web")] == pytest.approx(1.5)
    assert a[("position_based", "ads")] == pytest.approx(0.5)
    # Markov: the two won contacts shared by removal effect, ads 1/2 : web 1 (see above):
    # ads 2 * 1/3 = 2/3, web 2 * 2/3 = 4/3.
    assert a[("markov", "ads")] == pytest.approx(2 / 3)
    assert a[("markov", "web")] == pytest.approx(4 / 3)
    for model in A.attribution(eng)["model"].unique():
        assert a[model].sum() == pytest.approx(2.0)


def test_touchpoint_usage_and_lift_by_hand(eng: Engine) -> None:
    u = A.touchpoint_usage(eng)
    got = {(r.stage, r.touchpoint): (r.touches, r.contacts) for r in u.itertuples()}
    assert got == {
        ("awareness", "ads"): (2, 2),
        ("awareness", "web"): (1, 1),
        ("consideration", "web"): (1, 1),
    }
    assert set(u["touchpoint_name"]) == {"Paid ads", "Website"}
    lift = A.touchpoint_lift(eng).set_index(["stage", "touchpoint"])
    web = lift.loc[("consideration", "web")]
    # c1 used it and bought; c2 (no) and c3 (yes) did not use it: 1/2.
    assert (web["users"], web["users_converted"], web["non_users"], web["non_users_converted"]) == (
        1,
        1,
        2,
        1,
    )
    assert web["lift"] == pytest.approx(0.5)
    ads = lift.loc[("awareness", "ads")]
    assert (ads["users"], ads["non_users"], ads["lift"]) == (2, 1, 0.0)


def test_channels_by_hand(eng: Engine) -> None:
    c = A.channels(eng).set_index("channel")
    assert c.loc["email", "messages_sent"] == 4 and c.loc["email", "contacts_sent"] == 3
    assert c.loc["email", "open_rate"] == pytest.approx(2 / 3)  # c1 opened, c3 replied
    assert c.loc["email", "click_rate"] == pytest.approx(1 / 3)
    assert c.loc["email", "reply_rate"] == pytest.approx(1 / 3)
    assert c.loc["sms", "open_rate"] == pytest.approx(1 / 3)
    assert bool(c.loc["sms", "flagged"]) and not bool(c.loc["email", "flagged"])
    assert "email" in c.loc["sms", "suggestion"] and "67%" in c.loc["sms", "suggestion"]
    assert A.channels(eng).iloc[0]["channel"] == "sms"  # lowest reach first


def test_lead_scores_by_hand(eng: Engine) -> None:
    s = A.lead_scores(eng).set_index("contact_id")
    # Reference date: the last event, day 11. c1: web visit 10 + purchase 20 + an email open
    # on day 2, nine days old with a 7-day half-life. c3: web visit 10 + purchase 20.
    assert s.loc["c1", "score"] == pytest.approx(30 + 5 * 0.5 ** (9 / 7))
    assert s.loc["c3", "score"] == pytest.approx(30.0)
    assert s.loc["c2", "score"] == 0.0
    assert s.loc["c1", "matched_events"] == 3
    assert A.lead_scores(eng)["contact_id"].tolist() == ["c1", "c3", "c2"]
    assert s["decile"].to_dict() == {"c1": 3, "c3": 2, "c2": 1}
    sep = A.score_separation(eng).iloc[0]
    assert (sep["won"], sep["lost"], sep["auc"]) == (2, 1, 1.0)
    as_of = A.lead_scores(eng, as_of=day(2).to_pydatetime()).set_index("contact_id")
    assert as_of.loc["c1", "score"] == pytest.approx(35.0)  # the open is fresh on day 2


def test_score_deciles_by_hand(eng: Engine) -> None:
    d = A.score_deciles(eng)
    assert d["decile"].tolist() == [1, 2, 3]
    assert d["won"].tolist() == [0, 1, 1] and d["lost"].tolist() == [1, 0, 0]
    assert d["conversion"].tolist() == [0.0, 1.0, 1.0]


def test_wins_by_hand(eng: Engine) -> None:
    wi = A.won_interactions(eng).set_index("touchpoint")
    assert wi.loc["web", "won_contacts"] == 2 and wi.loc["web", "won_share"] == 1.0
    assert wi.loc["ads", "won_contacts"] == 1 and wi.loc["ads", "lost_share"] == 1.0
    ls = A.lead_sources(eng).set_index("lead_source")
    assert ls.loc["Organic", ["contacts", "won", "lost"]].tolist() == [2, 2, 0]
    assert ls.loc["Paid", "win_rate"] == 0.0
    assert ls.loc["Organic", "share_of_won"] == 1.0
    lr = A.lost_reasons(eng)
    assert lr.to_dict("records") == [{"lost_reason": "price", "lost_deals": 1, "share": 1.0}]
    ws = A.won_summary(eng, by="persona").set_index("persona")
    assert ws.loc["p1", "won_contacts"] == 2 and ws.loc["p1", "top_interaction"] == "web"
    assert ws.loc["p2", "top_lost_reason"] == "price"
    assert ws.loc["p1", "median_days_to_close"] == pytest.approx(5.5)


def test_kpis_by_hand(tmp_path: Path) -> None:
    from workbook.model import KPI, OKR, KeyResult, Objective
    from workbook.store import open_workspace

    path = build(tmp_path)
    ws = open_workspace(path)
    ws.data.objectives = [
        Objective(
            id="o1",
            title="Buy",
            metric="conversion:awareness:purchase",
            unit="%",
            baseline=50,
            target=60,
        ),
        Objective(id="o2", title="Win", metric="win-rate", baseline=0.5, target=0.9),
        Objective(id="o3", title="Vague", metric="happier customers"),
    ]
    ws.data.measurement.kpis = [
        KPI(id="k1", name="Dwell", metric="median-days:awareness", baseline=5, target=1),
        KPI(id="k2", name="Open", metric="channel-rate:email:open"),
        KPI(id="k3", name="Close", metric="time-to-close-days"),
        KPI(id="k4", name="Reach", metric="reach:purchase"),
    ]
    ws.data.measurement.okrs = [
        OKR(
            id="okr",
            objective="Sell more",
            key_results=[
                KeyResult(
                    id="kr1",
                    text="Buy",
                    metric="conversion:awareness:purchase",
                    baseline=50,
                    target=70,
                ),  # fmt: skip
                KeyResult(id="kr2", text="Close", metric="time-to-close-days", baseline=9),
            ],
        )
    ]
    ws.save()
    k = A.kpis(ws).set_index("id")
    assert k.loc["o1", "current"] == pytest.approx(200 / 3)  # 2 of 3, in percent
    assert k.loc["o1", "status"] == "target met"
    assert k.loc["o2", "current"] == pytest.approx(2 / 3)
    assert k.loc["o2", "progress"] == pytest.approx((2 / 3 - 0.5) / 0.4)
    assert k.loc["o3", "source"] == "" and k.loc["o3", "status"] == "no current value"
    assert (
        k.loc["k1", "current"] == pytest.approx(2.0)
        and k.loc["k1", "status"] == "better than baseline"
    )
    assert k.loc["k2", "current"] == pytest.approx(2 / 3)
    assert k.loc["k3", "current"] == pytest.approx(8.0)  # c1 5 days, c3 11 days from first event
    assert k.loc["k4", "current"] == 2
    # a key result has no unit field: it says the unit its value is in (2 of 3 in percent)
    assert (k.loc["kr1", "current"], k.loc["kr1", "unit"]) == (pytest.approx(200 / 3), "%")
    assert (k.loc["kr2", "current"], k.loc["kr2", "unit"]) == (pytest.approx(8.0), "days")


def test_shuffled_rows_give_the_same_answers(eng: Engine, tmp_path: Path) -> None:
    events = pd.DataFrame(EVENTS, columns=COLUMNS).sample(frac=1.0, random_state=7)
    shuffled = Engine.for_workspace(
        build(
            tmp_path,
            events=events,
            contacts=contacts_frame().iloc[::-1],
            deals=deals_frame().sample(frac=1.0, random_state=3),
        )
    )
    for name in (
        "funnel",
        "transitions",
        "time_in_stage",
        "touchpoint_usage",
        "touchpoint_lift",
        "attribution",
        "removal_effects",
        "channels",
        "won_interactions",
        "lead_scores",
        "score_deciles",
        "lead_sources",
    ):
        pd.testing.assert_frame_equal(getattr(A, name)(eng), getattr(A, name)(shuffled), obj=name)


def test_ties_on_time_and_seq_are_broken_by_touchpoint_id(tmp_path: Path) -> None:
    # c9 has two touches at the same instant with the same seq: the journey orders them by
    # touchpoint id, so "ads" is first and "web" last whatever the file order.
    rows = [
        ("c9", day(0), 0, "stage", "awareness", None, None, None),
        ("c9", day(1), 1, "touch", "awareness", "web", "web", "visit"),
        ("c9", day(1), 1, "touch", "awareness", "ads", "ads", "click"),
    ]
    deals = pd.DataFrame(
        {
            "deal_id": ["d9"],
            "contact_id": ["c9"],
            "created_at": [day(1)],
            "closed_at": [day(2)],
            "outcome": ["won"],
        }
    )
    for order, name in ((rows, "a"), (rows[::-1], "b")):
        e = Engine.for_workspace(
            build(
                tmp_path / name,
                events=pd.DataFrame(order, columns=COLUMNS),
                contacts=contacts_frame()[:0],
                deals=deals,
            )
        )
        a = A.attribution(e).set_index(["model", "touchpoint"])["conversions"]
        assert a[("first_touch", "ads")] == 1 and a[("last_touch", "web")] == 1


def test_touches_after_the_win_do_not_count(tmp_path: Path) -> None:
    events = pd.DataFrame(EVENTS, columns=COLUMNS)
    late = pd.DataFrame(
        [("c3", day(20), 9, "touch", "purchase", "ads", "ads", "click")], columns=COLUMNS
    )
    e = Engine.for_workspace(build(tmp_path, events=pd.concat([events, late])))
    a = A.attribution(e).set_index(["model", "touchpoint"])["conversions"]
    assert a[("last_touch", "web")] == 2 and a[("last_touch", "ads")] == 0
