"""Deep into a channel rate (issue 17): an email open rate split by send weekday, hour,
frequency per contact and subject line, on a history worked out by hand.

Persona X, five contacts sent email (2025-03-03 is a Monday, 2025-03-05 a Wednesday):

- c0: sent Mon 07:00, opened Mon 07:30, clicked Mon 07:40; shown subject A Mon 06:00.
- c1: sent Mon 07:00, never opened; shown subject A Mon 06:00.
- c2: sent Mon 07:00 and Wed 19:00, opened Wed 20:00 (tied to the Wednesday send).
- c3: sent Wed 19:00, opened Thu 09:00 (tied to the Wednesday send); shown B Wed 18:00.
- c4: sent Wed 19:00, never opened; shown B Wed 18:00 and did B's conversion Wed 21:00.

Persona Y: c9 sent Mon 07:00 and opened (left out when drilling into X).

By hand, for open:email:X: 3 of 5 contacts opened, benchmark 0.6.

- Monday: c0, c1, c2 sent; only c0's open is tied to a Monday send: 1/3, missed 3 x (0.6 -
  1/3) = 0.8. Wednesday: c2, c3, c4 sent, c2 and c3 opened after it: 2/3, missed 0.
- 06:00-08:59 UTC as Monday; 18:00-20:59 UTC as Wednesday.
- 1 message: c0, c1, c3, c4, opened c0 and c3: 1/2, missed 4 x 0.1 = 0.4; 2 messages: c2, 1/1.
- subject A: c0 (opened after) and c1 (not): 1/2, missed 2 x 0.1 = 0.2; B: c3 opened after,
  c4 converted: 2/2.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from workbook.analytics.gaps import drill
from workbook.crm.demo import demo_without_data
from workbook.crm.storage import write_canonical

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
X, Y = "amara-time-poor-londoner", "graham-returning-athlete"
MON, WED, THU = 3, 5, 6


def _t(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=dt.UTC)


def _mail(cid: str, ts: dt.datetime, action: str, **extra: str) -> dict[str, object]:
    return {
        "contact_id": cid,
        "ts": ts,
        "kind": "touch",
        "touchpoint": "nurture-email",
        "channel": "email",
        "action": action,
        **extra,
    }


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("drill") / "client"
    folder.mkdir()
    demo_without_data(folder, DEMO)
    a = {"experiment": "nurture-subject-line", "variant": "a"}
    b = {"experiment": "nurture-subject-line", "variant": "b"}
    events = [
        _mail("c0", _t(MON, 6), "exposed", **a),
        _mail("c0", _t(MON, 7), "sent"),
        _mail("c0", _t(MON, 7, 30), "open"),
        _mail("c0", _t(MON, 7, 40), "click"),
        _mail("c1", _t(MON, 6), "exposed", **a),
        _mail("c1", _t(MON, 7), "sent"),
        _mail("c2", _t(MON, 7), "sent"),
        _mail("c2", _t(WED, 19), "sent"),
        _mail("c2", _t(WED, 20), "open"),
        _mail("c3", _t(WED, 18), "exposed", **b),
        _mail("c3", _t(WED, 19), "sent"),
        _mail("c3", _t(THU, 9), "open"),
        _mail("c4", _t(WED, 18), "exposed", **b),
        _mail("c4", _t(WED, 19), "sent"),
        _mail("c4", _t(WED, 21), "convert", **b),
        _mail("c9", _t(MON, 7), "sent"),
        _mail("c9", _t(MON, 8), "open"),
    ]
    contacts = [
        {"contact_id": c, "persona": X if c != "c9" else Y, "created_at": _t(1, 0)}
        for c in ("c0", "c1", "c2", "c3", "c4", "c9")
    ]
    write_canonical(folder, "hand", pd.DataFrame(contacts), pd.DataFrame(events), None)
    return folder


def _parts(frame: pd.DataFrame) -> dict[tuple[str, str], tuple[int, float, float]]:
    return {
        (r.dimension, r.part): (
            int(r.contacts),
            round(float(r.value), 6),
            round(float(r.missed), 6),
        )
        for r in frame.itertuples()
    }


def test_an_open_rate_split_by_weekday_hour_frequency_and_subject(ws: Path) -> None:
    d = drill(ws, f"open:email:{X}")
    assert list(d["benchmark"]) == pytest.approx([0.6] * len(d))
    got = _parts(d)
    third = round(1 / 3, 6)
    assert got == {
        ("weekday", "Monday"): (3, third, round(3 * (0.6 - 1 / 3), 6)),
        ("weekday", "Wednesday"): (3, round(2 / 3, 6), 0.0),
        ("hour", "06:00-08:59 UTC"): (3, third, round(3 * (0.6 - 1 / 3), 6)),
        ("hour", "18:00-20:59 UTC"): (3, round(2 / 3, 6), 0.0),
        ("frequency", "1 message"): (4, 0.5, 0.4),
        ("frequency", "2 messages"): (1, 1.0, 0.0),
        ("subject", "nurture-subject-line:a"): (2, 0.5, 0.2),
        ("subject", "nurture-subject-line:b"): (2, 1.0, 0.0),
    }
    # most contacts missed first
    assert list(d["missed"]) == sorted(d["missed"], reverse=True)


def test_the_whole_population_and_clicks(ws: Path) -> None:
    d = drill(ws, "open:email")  # no group: c9 counts too, 4 of 6 opened
    assert list(d["benchmark"]) == pytest.approx([4 / 6] * len(d))
    assert _parts(d)[("weekday", "Monday")][:2] == (4, 0.5)  # c0 and c9 of c0, c1, c2, c9
    clicks = drill(ws, f"click:email:{X}")
    assert list(clicks["benchmark"]) == pytest.approx([0.2] * len(clicks))  # c0 alone clicked
    # subject A: c0 clicked after its exposure; B: c4's conversion counts
    got = _parts(clicks)
    assert got[("subject", "nurture-subject-line:a")][:2] == (2, 0.5)
    assert got[("subject", "nurture-subject-line:b")][:2] == (2, 0.5)
