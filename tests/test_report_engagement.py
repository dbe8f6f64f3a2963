"""The engagement sections of the report (segments, value, channels, scoring, wins, OKRs,
processes) against numbers worked out by hand, and the per-client choice of sections.

The hand-worked history (days after 1 January 2026; ten contacts, two personas)::

    contact persona icp source  web visits        deal
    c01     p1      i1  A       d1, d2, d3        won   created d1, closed d11
    c02     p1      i1  B       d1, d2            won   created d2, closed d6
    c03     p1      i1  A       d1, d2            lost  "price"
    c04     p1      i1  A       d1 (+ guide view) won   created d3, closed d9
    c05     p1      i1  B       -                 lost  "price"
    c06     p2      i2  A       d1                lost  "timing"
    c07     p2      i2  B       -                 lost  "price"
    c08     p2      i2  A       d1, d2, d3        lost  "timing"
    c09     p2      i2  B       -                 (no deal)
    c10     p2      i2  A       d1                open

One rule: 10 points per web visit, no decay. Scores: won {30, 20, 10}, lost {20, 0, 10,
0, 30}. Email is sent to c01-c08: c01 opens and clicks, c02 replies (2 of 8 see it: 25%
open, so three in four never did); SMS to c06-c10, opened by c06, c07, c08 (60%).

The history reaches the sections three ways (the ``hand`` fixture's parameters): written
straight to the workspace's tables; imported from a generic CSV export through the real
import (ids pseudonymised); and imported from a copy whose rows are shuffled and whose
events are tied to the second (:func:`_tied_events`). Every hand-worked number holds for
all three, and the three give the same tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_analytics_hand import COLUMNS, build, day

from workbook import sections
from workbook.exceptions import ReportError
from workbook.model import (
    ICP,
    OKR,
    Client,
    KeyResult,
    Measurement,
    Persona,
    Process,
    ScoringRule,
    Segment,
    Todo,
    Touchpoint,
    ValueProposition,
    Workspace,
)
from workbook.sections.engagement import auc_rating, key_result_progress, share_in_words

EVIL = '<script>window.__xss = 1</script><img src=x onerror="alert(1)">'
NEW = ("segments", "value", "channels", "scoring", "wins", "okrs", "processes")

VISITS = {
    "c01": [1, 2, 3],
    "c02": [1, 2],
    "c03": [1, 2],
    "c04": [1],
    "c06": [1],
    "c08": [1, 2, 3],
    "c10": [1],
}
IDS = [f"c{i:02d}" for i in range(1, 11)]


def _events() -> pd.DataFrame:
    rows: list[tuple[Any, ...]] = []
    for c in IDS:
        rows.append((c, day(0), 0, "stage", "awareness", None, None, None))
        for k, d in enumerate(VISITS.get(c, [])):
            rows.append((c, day(d), 1 + k, "touch", "awareness", "web", "web", "visit"))
    rows.append(("c04", day(2), 9, "touch", "awareness", "guide", "web", "view"))
    for c in IDS[:8]:
        rows.append((c, day(1), 20, "touch", None, None, "email", "sent"))
    rows += [
        ("c01", day(2), 21, "touch", None, None, "email", "open"),
        ("c01", day(2), 22, "touch", None, None, "email", "click"),
        ("c02", day(2), 21, "touch", None, None, "email", "reply"),
    ]
    for c in IDS[5:]:
        rows.append((c, day(1), 30, "touch", None, None, "sms", "sent"))
    for c in ("c06", "c07", "c08"):
        rows.append((c, day(1), 31, "touch", None, None, "sms", "open"))
    return pd.DataFrame(rows, columns=COLUMNS)


def _contacts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "contact_id": IDS,
            "persona": ["p1"] * 5 + ["p2"] * 5,
            "segment": ["s1"] * 5 + ["s2"] * 5,
            "icp": ["i1"] * 5 + ["i2"] * 5,
            "lead_source": ["A", "B", "A", "A", "B", "A", "B", "A", "B", "A"],
        }
    )


def _deals() -> pd.DataFrame:
    deals = [
        ("d01", "c01", day(1), day(11), "won", None),
        ("d02", "c02", day(2), day(6), "won", None),
        ("d03", "c03", day(2), day(8), "lost", "price"),
        ("d04", "c04", day(3), day(9), "won", None),
        ("d05", "c05", day(2), day(8), "lost", "price"),
        ("d06", "c06", day(2), day(8), "lost", "timing"),
        ("d07", "c07", day(2), day(8), "lost", "price"),
        ("d08", "c08", day(2), day(8), "lost", "timing"),
        ("d10", "c10", day(2), None, "open", None),
    ]
    return pd.DataFrame(
        {
            "deal_id": [d[0] for d in deals],
            "contact_id": [d[1] for d in deals],
            "amount": [100.0] * len(deals),
            "created_at": [d[2] for d in deals],
            "closed_at": pd.Series([d[3] for d in deals], dtype="datetime64[us, UTC]"),
            "outcome": [d[4] for d in deals],
            "lost_reason": [d[5] for d in deals],
        }
    )


def _tied_events() -> pd.DataFrame:
    """The history with events tied to the second, none of its hand-worked numbers changed.

    - the web visit of day 1 moves to day 0, the very second the contact enters awareness:
      a stage change and a touch at one instant (c01, c02, c03, c04, c06, c08, c10);
    - every open, click and reply moves to day 1, the second the message was sent: c01's
      email is sent, opened and clicked at one instant (the sent counts do not move);
    - c04's view of the buying guide moves to day 9, the very second its won deal closes:
      a touch at the moment of the win is part of the journey to it (touches up to and
      including the close), so the guide is still content 1 of the 3 won contacts used.

    Scores have no decay, so they do not move either; c02 and c03 (20 points), and the
    others in pairs and threes, tie on their scores as before.
    """
    ev = _events()
    web_day1 = (ev["touchpoint"] == "web") & (ev["ts"] == day(1))
    ev.loc[web_day1, "ts"] = day(0)
    ev.loc[ev["touchpoint"] == "guide", "ts"] = day(9)
    answers = ev["channel"].isin(["email", "sms"]) & (ev["action"] != "sent")
    ev.loc[answers, "ts"] = day(1)
    assert web_day1.sum() == 7 and answers.sum() == 6
    return ev


def _setup(ws: Any) -> None:
    ws.data.touchpoints = [
        Touchpoint(id="web", name="Website", channel="web"),
        Touchpoint(id="guide", name="Buying guide", channel="web"),
    ]
    ws.data.segments = [
        Segment(id="s1", name="City flats", kind="geographic"),
        Segment(id="s2", name="Studios", kind="behavioural"),
    ]
    ws.data.icps = [ICP(id="i1", name="Households"), ICP(id="i2", name="Studio owners")]
    ws.data.personas = [
        Persona(id="p1", name="Pat", segments=["s1"], icp="i1", preferred_channels=["whatsapp"]),
        Persona(id="p2", name="Sam", segments=["s2"], icp="i2"),
    ]
    ws.data.measurement.scoring_rules = [
        ScoringRule(id="web-visit", description="Website visit", touchpoint="web", points=10)
    ]


_HOW = ("written", "imported", "imported, shuffled and tied")


def _context(how: str, folder: Path) -> sections.ReportContext:
    from test_ties_and_order import import_history

    from workbook.store import open_workspace

    if how == "written":
        path = build(folder, events=_events(), contacts=_contacts(), deals=_deals())
        ws = open_workspace(path)
        _setup(ws)
        ws.save()
    else:
        tied = how != "imported"
        events = _tied_events() if tied else _events()
        seed = 20260101 if tied else None
        path = import_history(
            folder, events, _contacts(), _deals(), seed=seed, name="Engagement", setup=_setup
        )
    ctx = sections.report_context(open_workspace(path), report_date="2026-03-01")
    for sid in NEW:
        sections.render_section(sid, ctx)
    return ctx


@pytest.fixture(scope="module")
def contexts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, sections.ReportContext]:
    return {how: _context(how, tmp_path_factory.mktemp("engagement")) for how in _HOW}


@pytest.fixture(scope="module", params=_HOW)
def hand(
    request: pytest.FixtureRequest, contexts: dict[str, sections.ReportContext]
) -> sections.ReportContext:
    return contexts[request.param]


def _sheet(ctx: sections.ReportContext, name: str) -> pd.DataFrame:
    return dict(ctx.tables)[name]


# ------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("share", "words"),
    [
        (0.75, "three in four"),
        (0.74, "three in four"),
        (0.66, "two in three"),
        (0.6, "three in five"),
        (0.5, "one in two"),
        (0.9, "nine in ten"),
        (0.8, "four in five"),
        (0.875, "nine in ten"),  # no eighths: people count in tenths
        (0.62, "three in five"),
        (0.57, "three in five"),  # within three points
        (0.56, "about six in ten"),  # no simple fraction within three points
        (0.17, "one in six"),
        (0.02, "fewer than one in ten"),
        (0.96, "more than nine in ten"),
        (0.1, "one in ten"),
        (1.0, "all"),
        (0.0, "none"),
    ],
)
def test_share_in_words(share: float, words: str) -> None:
    assert share_in_words(share) == words


def test_share_in_words_refuses_what_is_no_share() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        share_in_words(1.2)


def test_key_result_progress_either_direction() -> None:
    assert key_result_progress(8, 12, 10) == pytest.approx(0.5)
    # a target below the baseline: 94 minutes down to 15, now 38 -> 56 of 79 minutes gone
    assert key_result_progress(94, 15, 38) == pytest.approx(56 / 79)
    assert key_result_progress(8, 12, 6) == pytest.approx(-0.5)  # moved away
    assert key_result_progress(8, 8, 9) is None and key_result_progress(None, 1, 1) is None


def test_auc_rating_follows_hosmer_lemeshow() -> None:
    assert [auc_rating(a) for a in (0.5, 0.65, 0.7, 0.85, 0.95)] == [
        "no better than chance",
        "poor",
        "acceptable",
        "excellent",
        "outstanding",
    ]


# ------------------------------------------------------------------ hand-worked history


def test_written_imported_shuffled_and_tied_give_the_same_tables(
    contexts: dict[str, sections.ReportContext],
) -> None:
    """Every table of the engagement sections, not only the numbers asserted below."""
    written = dict(contexts["written"].tables)
    assert {"Lead scoring (deciles)", "Won deals by ICP", "Channels and reach"} <= set(written)
    for how in _HOW[1:]:
        got = dict(contexts[how].tables)
        assert list(got) == list(written), how
        for name, frame in written.items():
            pd.testing.assert_frame_equal(got[name], frame, obj=f"{how}: {name}")


def test_channels_by_hand(hand: sections.ReportContext) -> None:
    overall = _sheet(hand, "Channels and reach").set_index("Channel")
    assert overall.loc["Email", "Contacts sent"] == 8
    assert overall.loc["Email", "Opened (%)"] == pytest.approx(25.0)  # c01, c02 (a reply)
    assert overall.loc["Email", "Clicked (%)"] == pytest.approx(12.5)
    assert overall.loc["Email", "Replied (%)"] == pytest.approx(12.5)
    assert overall.loc["Email", "Never opened (%)"] == pytest.approx(75.0)
    assert overall.loc["Text message", "Opened (%)"] == pytest.approx(60.0)
    per = _sheet(hand, "Channels and reach (personas)")
    pat = per[(per["Persona"] == "Pat") & (per["Channel"] == "Email")].iloc[0]
    assert (pat["Contacts sent"], pat["Opened (%)"]) == (5, pytest.approx(40.0))
    html = str(sections.render_section("channels", hand))
    # 6 of 8 never opened: three in four; the channel to add is the one that reaches
    assert "of the 8 contacts sent email, three in four (75%) never opened one" in html
    assert "Add text message, which 60% of the contacts it was sent to opened." in html
    # Pat (3 of 5 unseen) has no other channel in the data: the channel she prefers
    assert "Pat: of the 5 contacts sent email, three in five (60%)" in html
    assert "Add WhatsApp, the channel they prefer." in html
    # Sam: none of 3 opened an email; SMS reached 3 of Sam's 5
    assert "Sam: of the 3 contacts sent email, none opened one" in html


def test_channels_that_reach_as_many_are_both_suggested(tmp_path: Path) -> None:
    """WhatsApp is sent to c06-c10 too and opened by c08, c09, c10: 3 of 5, 60%, as text
    messages. Email (25%) then gets both as the channel to add, not the first by name."""
    from workbook.store import open_workspace

    ev = _events()
    more = [(c, day(1), 40, "touch", None, None, "whatsapp", "sent") for c in IDS[5:]]
    more += [(c, day(1), 41, "touch", None, None, "whatsapp", "open") for c in IDS[7:]]
    ev = pd.concat([ev, pd.DataFrame(more, columns=COLUMNS)], ignore_index=True)
    path = build(tmp_path, events=ev, contacts=_contacts(), deals=_deals())
    ws = open_workspace(path)
    _setup(ws)
    ws.save()
    ctx = sections.report_context(open_workspace(path), report_date="2026-03-01")
    html = str(sections.render_section("channels", ctx))
    overall = _sheet(ctx, "Channels and reach").set_index("Channel")
    assert overall.loc["WhatsApp", "Opened (%)"] == pytest.approx(60.0)
    assert overall.loc["Text message", "Opened (%)"] == pytest.approx(60.0)
    assert (
        "Add text message or WhatsApp: each was opened by 60% of the contacts it was sent to."
        in html
    )
    assert "Add text message, which" not in html


def _auc_by_hand() -> float:
    won, lost = [30, 20, 10], [20, 0, 10, 0, 30]
    pairs = [(w, v) for w in won for v in lost]
    return sum(1.0 if w > v else 0.5 if w == v else 0.0 for w, v in pairs) / len(pairs)


def test_scoring_by_hand(hand: sections.ReportContext) -> None:
    sep = _sheet(hand, "Lead scoring (separation)").iloc[0]
    assert (sep["Won (contacts)"], sep["Lost (contacts)"]) == (3, 5)
    assert _auc_by_hand() == pytest.approx(10.5 / 15)
    assert sep["ROC AUC (0.5 chance, 1 perfect)"] == pytest.approx(_auc_by_hand())
    assert sep["Mean score, won (points)"] == pytest.approx(20.0)
    assert sep["Mean score, lost (points)"] == pytest.approx(12.0)
    # ten contacts ranked by score, places 1-10 one per decile; equal scores share the decile
    # of the first place they take (never split by contact id, a pseudonym after an import):
    #   0: c05 c07 c09 -> decile 1 | 10: c04 c06 c10 -> 4 | 20: c02 c03 -> 7 | 30: c01 c08 -> 9
    # win rates, won / (won + lost): c05 c07 lost, c09 no deal -> 0 / 2; c04 won, c06 lost,
    # c10 open -> 1 / 2; c02 won, c03 lost -> 1 / 2; c01 won, c08 lost -> 1 / 2
    dec = _sheet(hand, "Lead scoring (deciles)")
    assert dec["Decile"].tolist() == [1, 4, 7, 9]
    assert dec["Contacts"].tolist() == [3, 3, 2, 2]
    assert dec["Highest score (points)"].tolist() == [0, 10, 20, 30]
    assert dec["Win rate (%)"].tolist() == pytest.approx([0.0, 50.0, 50.0, 50.0])
    html = str(sections.render_section("scoring", hand))
    assert "so 6 deciles (2, 3, 5, 6, 8 and 10) hold no contact" in html
    assert "ROC AUC 0.70" in html and "acceptable" in html
    rules = _sheet(hand, "Lead scoring (rules)")
    assert rules.iloc[0].tolist()[:3] == ["Website visit", "Website", 10.0]
    # the website: used by c01 c02 c04 (all 3 won) and c03 c06 c08 (3 of 5 lost)
    assert rules.iloc[0]["Won contacts who used the touchpoint (%)"] == pytest.approx(100.0)
    assert rules.iloc[0]["Lost contacts who used it (%)"] == pytest.approx(60.0)
    assert rules.iloc[0]["Difference (percentage points)"] == pytest.approx(40.0)
    # the buying guide: c04 (1 of 3 won), no lost contact, and no rule scores it
    assert "earn no points: Buying guide (33% of won, 0% of lost contacts)" in html
    assert "as often as won ones" not in html


def test_wins_by_hand(hand: sections.ReportContext) -> None:
    s = _sheet(hand, "Won deals by ICP").set_index("Ideal customer profile")
    assert s.loc["Households", "Won (contacts)"] == 3
    assert s.loc["Households", "Win rate (%)"] == pytest.approx(60.0)  # 3 / (3 + 2)
    assert s.loc["Households", "Median days to close"] == pytest.approx(6.0)  # 10, 4, 6
    assert s.loc["Studio owners", "Win rate (%)"] == pytest.approx(0.0)  # 0 / (0 + 3)
    inter = _sheet(hand, "Won deals by ICP (touchpoints)")
    web = inter[
        (inter["Ideal customer profile"] == "Households") & (inter["Touchpoint"] == "Website")
    ]
    assert web.iloc[0]["Of won contacts (%)"] == pytest.approx(100.0)  # c01, c02, c04
    assert web.iloc[0]["Of lost contacts (%)"] == pytest.approx(50.0)  # c03 of c03, c05
    content = _sheet(hand, "Won deals by ICP (content)")
    guide = content[content["Content"] == "Buying guide"].iloc[0]
    assert guide["Of won contacts (%)"] == pytest.approx(100 / 3)  # c04 of three
    src = _sheet(hand, "Won deals by ICP (lead sources)")
    a = src[(src["Ideal customer profile"] == "Households") & (src["Lead source"] == "A")]
    assert a.iloc[0]["Share of won (%)"] == pytest.approx(200 / 3)  # c01, c04 of three
    lost = _sheet(hand, "Won deals by ICP (lost reasons)")
    studio = lost[lost["Ideal customer profile"] == "Studio owners"].set_index("Reason")
    assert studio.loc["timing", "Share of lost deals (%)"] == pytest.approx(200 / 3)
    html = str(sections.render_section("wins", hand))
    assert "Households wins most often: 60.0%" in html
    assert "a won deal closed in a median of 6 days" in html


def test_segments_by_hand(hand: sections.ReportContext) -> None:
    seg = _sheet(hand, "Segments and ICPs (segments)").set_index("Segment")
    assert seg.loc["City flats", "Contacts"] == 5
    assert seg.loc["City flats", "Win rate (%)"] == pytest.approx(60.0)
    assert seg.loc["Studios", "Personas"] == "Sam"
    answers = _sheet(hand, "Segments and ICPs (ICP answers)")
    assert len(answers) == 16  # eight questions, two profiles
    html = str(sections.render_section("segments", hand))
    assert "16 of the 16 ideal-customer answers are still open" in html
    assert html.count("Not answered yet") == 16


def test_segments_through_personas_by_hand(tmp_path: Path) -> None:
    """Contacts with a persona but no segment: a segment counts its personas' contacts."""
    from workbook.store import open_workspace

    contacts = _contacts().assign(segment=None)
    path = build(tmp_path, events=_events(), contacts=contacts, deals=_deals())
    ws = open_workspace(path)
    ws.data.segments = [
        Segment(id="s1", name="City flats", kind="geographic"),
        Segment(id="s2", name="Studios", kind="behavioural"),
    ]
    ws.data.personas = [
        Persona(id="p1", name="Pat", segments=["s1"]),
        Persona(id="p2", name="Sam", segments=["s1", "s2"]),
    ]
    ws.save()
    ctx = sections.report_context(open_workspace(path), report_date="2026-03-01")
    html = str(sections.render_section("segments", ctx))
    seg = _sheet(ctx, "Segments and ICPs (segments)").set_index("Segment")
    # City flats: Pat's c01-c05 and Sam's c06-c10; won c01 c02 c04, lost c03 c05 c06 c07 c08
    assert seg.loc["City flats", "Contacts (through their persona)"] == 10
    assert seg.loc["City flats", "Win rate (%)"] == pytest.approx(100 * 3 / 8)
    assert seg.loc["Studios", "Win rate (%)"] == pytest.approx(0.0)  # 0 of Sam's 3 decided
    assert "counts the contacts of the personas that stand for it" in html
    assert "City flats wins most often (37.5% of decided deals), Studios least (0.0%)" in html


def test_wins_per_icp_through_personas_by_hand(tmp_path: Path) -> None:
    """Contacts with a persona but no ICP: won deals per persona, added up per ICP."""
    from workbook.store import open_workspace

    contacts = _contacts().assign(icp=None)
    path = build(tmp_path, events=_events(), contacts=contacts, deals=_deals())
    ws = open_workspace(path)
    ws.data.icps = [ICP(id="i1", name="Households")]
    ws.data.personas = [
        Persona(id="p1", name="Pat", icp="i1"),
        Persona(id="p2", name="Sam", icp="i1"),
    ]
    ws.save()
    ctx = sections.report_context(open_workspace(path), report_date="2026-03-01")
    html = str(sections.render_section("wins", ctx))
    assert "shown per persona, each with the profile it belongs to" in html
    per = _sheet(ctx, "Won deals by ICP").set_index("Persona")
    assert per.loc["Pat (Households)", "Win rate (%)"] == pytest.approx(60.0)
    icp = _sheet(ctx, "Won deals by ICP (profiles)").iloc[0]
    # Pat's 3 won, 2 lost and Sam's 0 won, 3 lost: 3 of 8 decided
    assert (icp["Won (contacts)"], icp["Lost (contacts)"]) == (3, 5)
    assert icp["Win rate (%)"] == pytest.approx(37.5)
    assert icp["Contacts"] == 10


def _tied_outcomes() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The history with outcomes that tie: both profiles win 3 of 5 decided deals.

    contact  icp  source  deal                     contact  icp  source  deal
    c01      i1   A       won                      c06      i2   A       won
    c02      i1   B       won                      c07      i2   B       won
    c03      i1   A       lost "price"             c08      i2   A       won
    c04      i1   C       won                      c09      i2   B       lost "timing" (new)
    c05      i1   B       lost "timing"            c10      i2   A       lost "price"

    Households: 3 won, 2 lost (60%); its wins came from A, B and C, one each (33% each);
    lost once for "price", once for "timing". Studio owners: 3 won, 2 lost (60%); A brought
    2 of its 3 wins (67%), B one; lost once for each reason.
    """
    contacts = _contacts()
    contacts.loc[contacts["contact_id"] == "c04", "lead_source"] = "C"
    deals = _deals()
    deals.loc[deals["deal_id"].isin(["d06", "d07", "d08"]), "outcome"] = "won"
    deals.loc[deals["deal_id"].isin(["d06", "d07", "d08"]), "lost_reason"] = None
    deals.loc[deals["deal_id"] == "d05", "lost_reason"] = "timing"
    ten = deals["deal_id"] == "d10"
    deals.loc[ten, ["outcome", "lost_reason"]] = ["lost", "price"]
    deals.loc[ten, "closed_at"] = day(8)
    nine = pd.DataFrame(
        {
            "deal_id": ["d09"],
            "contact_id": ["c09"],
            "amount": [100.0],
            "created_at": [day(2)],
            "closed_at": pd.Series([day(8)], dtype="datetime64[us, UTC]"),
            "outcome": ["lost"],
            "lost_reason": ["timing"],
        }
    )
    return contacts, pd.concat([deals, nine], ignore_index=True)


def test_ties_in_the_wins_name_every_tied_group_source_and_reason(tmp_path: Path) -> None:
    """No tie is settled by the order of the rows: every group, source or reason that ties
    on the most (or the least) is named."""
    from workbook.store import open_workspace

    contacts, deals = _tied_outcomes()
    path = build(tmp_path / "icp", events=_events(), contacts=contacts, deals=deals)
    ws = open_workspace(path)
    _setup(ws)
    ws.save()
    ctx = sections.report_context(open_workspace(path), report_date="2026-03-01")
    wins = str(sections.render_section("wins", ctx))
    rates = _sheet(ctx, "Won deals by ICP")["Win rate (%)"].tolist()
    assert rates == pytest.approx([60.0, 60.0])
    # was: "Households wins most often: 60.0% of decided deals, against 60.0% for Households."
    assert "Both ideal customer profiles win 60.0% of decided deals." in wins
    assert "most often:" not in wins
    # was: "A brought the most wins (33%)" and "... most often lost for “price”" (the first
    # in the table's order)
    assert "A, B and C brought the most wins (33% each)" in wins
    assert "A brought the most wins (67%)" in wins  # Studio owners: no tie
    assert (
        wins.count("deals were most often lost for \u201cprice\u201d and \u201ctiming\u201d") == 2
    )
    segs = str(sections.render_section("segments", ctx))
    assert "Both segments win 60.0% of decided deals." in segs
    # the profiles added up from their personas (no ICP in the data) tie too
    path = build(
        tmp_path / "persona", events=_events(), contacts=contacts.assign(icp=None), deals=deals
    )
    ws = open_workspace(path)
    _setup(ws)
    ws.save()
    ctx = sections.report_context(open_workspace(path), report_date="2026-03-01")
    wins = str(sections.render_section("wins", ctx))
    assert "Both personas win 60.0% of decided deals." in wins
    assert "Both ideal customer profiles win 60.0% of decided deals." in wins
    assert "Per ideal customer profile" not in wins


def test_text_from_the_data_and_the_workspace_is_escaped(tmp_path: Path) -> None:
    """Lost reasons and lead sources come from a CRM export; names from the workspace."""
    from workbook.store import open_workspace

    deals = _deals()
    deals.loc[deals["outcome"] == "lost", "lost_reason"] = EVIL
    contacts = _contacts().assign(lead_source=EVIL)
    path = build(tmp_path, events=_events(), contacts=contacts, deals=deals)
    ws = open_workspace(path)
    ws.data.touchpoints = [
        Touchpoint(id="web", name=EVIL, channel="web"),
        Touchpoint(id="guide", name="Guide", channel="web"),
    ]
    ws.data.icps = [ICP(id="i1", name=EVIL), ICP(id="i2", name="Studios")]
    ws.data.personas = [Persona(id="p1", name=EVIL, icp="i1", preferred_channels=["sms"])]
    ws.data.measurement.scoring_rules = [
        ScoringRule(id="web-visit", description=EVIL, touchpoint="web", points=10)
    ]
    ws.save()
    ctx = sections.report_context(open_workspace(path), report_date="2026-03-01")
    for sid in ("channels", "wins", "scoring", "segments"):
        html = str(sections.render_section(sid, ctx))
        assert "<script>" not in html and "<img src=x" not in html, sid
        assert "&lt;script&gt;" in html, sid


# ---------------------------------------------------------------- workspace-only sections


def _workshop() -> Workspace:
    return Workspace(
        client=Client(name="Northwind", slug="northwind"),
        value_proposition=ValueProposition(
            jobs=["Plan the week"], pains=["Manual reports"], gains=[EVIL]
        ),
        icps=[
            ICP(
                id="smb",
                name="Small firms",
                industry="Accounting",
                specialisation="Payroll",
                firmographics="10-50 staff",
                poor_fit="Enterprises",
                job_titles="Office manager",
                decision_makers="Owner",
                stakeholders="Accountant",
                end_users=EVIL,
            )
        ],
        personas=[Persona(id="priya", name="Priya", icp="smb", pains=["Late invoices"])],
        measurement=Measurement(
            okrs=[
                OKR(
                    id="faster",
                    objective="Answer faster",
                    key_results=[
                        KeyResult(
                            id="reply",
                            text="Median reply under 15 minutes",
                            baseline=94,
                            target=15,
                            current=38,
                            todos=[
                                Todo(text="Evening shift", owner="Sales lead", done=True),
                                Todo(text=EVIL, owner="Content lead"),
                            ],
                        ),
                        KeyResult(id="nps", text="NPS 50", baseline=30, target=50, current=25),
                    ],
                )
            ]
        ),
        processes=[
            Process(
                id="lead",
                name="Lead response",
                crm_goal="acquisition",
                owner="Sales lead",
                service_level="30 min",
                key=True,
            ),
            Process(id="repair", name=EVIL, crm_goal="satisfaction", key=True),
            Process(id="lease", name="Leasing", crm_goal="profitability"),
        ],
    )


def test_okrs_progress_and_todos() -> None:
    ctx = sections.report_context(_workshop(), report_date="2026-03-01")
    html = str(sections.render_section("okrs", ctx))
    krs = _sheet(ctx, "OKRs and to-dos")
    assert krs["Progress from baseline to target (%)"].tolist() == [
        pytest.approx(100 * 56 / 79),
        pytest.approx(100 * (25 - 30) / (50 - 30)),
    ]
    assert krs["Current value from"].tolist() == ["typed in the workspace"] * 2
    todos = _sheet(ctx, "OKRs and to-dos (to-dos)")
    assert todos["Done"].tolist() == ["yes", "no"]
    assert "1 of the 2 measured are at least halfway" in html
    assert "1 of 2 to-dos are done" in html and "NPS 50" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_processes_goals_owners() -> None:
    ctx = sections.report_context(_workshop(), report_date="2026-03-01")
    html = str(sections.render_section("processes", ctx))
    rows = _sheet(ctx, "Key processes")
    assert rows["Process"].tolist()[:2] == ["Lead response", EVIL]  # key ones first
    assert "2 processes matter most to customers" in html
    assert "Still without an owner: &lt;script&gt;" in html
    # leasing is not key: profitability, cross-sell and retention have no key process
    assert "No key process serves profitability, cross-sell and retention" in html
    assert "<script>" not in html


def test_value_and_icp_answers_escape_user_text() -> None:
    ctx = sections.report_context(_workshop(), report_date="2026-03-01")
    for sid in ("value", "segments"):
        html = str(sections.render_section(sid, ctx))
        assert "<script>" not in html and "&lt;script&gt;" in html, sid
    answers = _sheet(ctx, "Segments and ICPs (ICP answers)")
    assert answers["Answer"].tolist()[-1] == EVIL  # the spreadsheet neutralises on writing
    assert "All eight questions are answered" in str(sections.render_section("segments", ctx))


def test_empty_workspace_and_no_import_get_polite_notes() -> None:
    empty = Workspace(client=Client(name="Empty", slug="empty"))
    ctx = sections.report_context(empty, report_date="2026-03-01")
    for sid in NEW:
        html = str(sections.render_section(sid, ctx))
        assert f'id="{sid}"' in html and 'class="wb-note"' in html, sid
    # workshop material, no CRM import: the data sections say so, scoring keeps its rules
    ws = _workshop()
    ws.measurement.scoring_rules = [ScoringRule(id="visit", touchpoint=None, points=5)]
    ctx = sections.report_context(ws, report_date="2026-03-01")
    for sid in ("channels", "wins"):
        assert "No CRM data has been imported" in str(sections.render_section(sid, ctx)), sid
    html = str(sections.render_section("scoring", ctx))
    assert "Once CRM data is imported" in html and "wb-table" in html


# --------------------------------------------------------------- sections chosen per client


def test_workspace_chooses_its_sections() -> None:
    ws = _workshop()
    ws.report.sections = ["okrs", "processes", "summary"]
    ws.report.exclude = ["summary"]
    ctx = sections.report_context(ws, report_date="2026-03-01")
    assert ctx.sections == ["cover", "contents", "okrs", "processes"]
    # a parameter wins over the workspace's choice
    ctx = sections.report_context(ws, sections=["value"], report_date="2026-03-01")
    assert ctx.sections == ["cover", "contents", "value"]
    ws.report.sections = None
    ws.report.exclude = ["experiments"]
    ctx = sections.report_context(ws, report_date="2026-03-01")
    assert "experiments" not in ctx.sections and "channels" in ctx.sections


def test_unknown_section_in_the_workspace_names_field_and_known_ids() -> None:
    ws = _workshop()
    ws.report.exclude = ["funel"]
    with pytest.raises(ReportError) as err:
        sections.report_context(ws, report_date="2026-03-01")
    text = str(err.value)
    assert "report.exclude[0]" in text and "funel" in text
    assert "choose from: cover, contents, summary" in text and "processes" in text


def test_render_report_refuses_a_bad_choice_before_any_kernel(demo_copy: Path) -> None:
    from workbook.report import render_report
    from workbook.store import open_workspace

    ws = open_workspace(demo_copy)
    ws.data.report.sections = ["summary", "nope"]
    ws.save()
    with pytest.raises(ReportError, match=r"report.sections\[1\]: .nope. is no report section"):
        render_report(demo_copy, timeout=5)
    assert not list(demo_copy.glob("reports/*.html"))  # nothing written


def test_validate_lists_unknown_report_sections(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from workbook.cli import main
    from workbook.store import new_workspace

    ws = new_workspace("Acme", directory=tmp_path)
    ws.data.report.sections = ["summary", "wins", "funnnel"]
    ws.data.report.exclude = ["okr"]
    ws.save()
    res = CliRunner().invoke(main, ["validate", str(ws.path)])
    assert res.exit_code == 1
    assert "2 problems" in res.output
    assert "report.sections[2]: 'funnnel' is no report section" in res.output
    assert "report.exclude[0]: 'okr' is no report section" in res.output
    assert "choose from: cover, contents, summary" in res.output
    ws.data.report.sections = ["summary", "wins"]
    ws.data.report.exclude = []
    ws.save()
    assert CliRunner().invoke(main, ["validate", str(ws.path)]).exit_code == 0


def test_report_notebook_renders_every_section_once_in_report_order() -> None:
    """A registered section without its cell in notebooks/report.ipynb never reaches a report."""
    import json
    import re

    nb = json.loads((Path(__file__).parent.parent / "notebooks" / "report.ipynb").read_text())
    called = [
        m.group(1)
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for m in [re.fullmatch(r'render_section\("([a-z-]+)", ctx\)', "".join(c["source"]).strip())]
        if m
    ]
    assert called == sections.names()
