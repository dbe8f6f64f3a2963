"""Markov attribution: the standard first-order removal-effect model, checked independently.

The model (Anderl, Becker, von Wangenheim & Schumann 2016; ChannelAttribution's
``markov_model`` with ``order=1``): every journey, converting or not, is a path
``(start) > touchpoints > (conversion) | (null)``; the counted transitions make an absorbing
Markov chain. A touchpoint's removal effect is ``1 - P(conversion without it) / P(conversion)``,
where removing it sends every transition into it to ``(null)``. All conversions are then
shared in proportion: ``credit_i = conversions * RE_i / sum_j RE_j``.

The reference below builds the chain from the paths in plain Python and solves it with the
fundamental matrix ``N = (I - Q)^-1`` and ``B = N R`` (absorption probabilities), not with
the package's code. The paths go into a workspace as events and deals and come back out
through the import's rollups and the Engine, as a client's data would.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbook import analytics as A
from workbook.analytics import Engine

T0 = pd.Timestamp("2026-01-01", tz="UTC")

Paths = list[tuple[list[str], bool]]


# ------------------------------------------------------------------ independent reference


def chain_credit(paths: Paths) -> tuple[float, dict[str, float], dict[str, float]]:
    """(P(conversion), removal effect per touchpoint, credit per touchpoint) by linear algebra."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path, converted in paths:
        states = ["(start)", *path, "(conversion)" if converted else "(null)"]
        for a, b in zip(states, states[1:], strict=False):
            counts[a][b] += 1
    touch = sorted({t for path, _ in paths for t in path})
    transient = ["(start)", *touch]
    idx = {s: i for i, s in enumerate(transient)}
    m = len(transient)
    q = np.zeros((m, m))
    r = np.zeros((m, 2))  # columns: conversion, null
    for a, nxt in counts.items():
        total = sum(nxt.values())
        for b, n in nxt.items():
            if b == "(conversion)":
                r[idx[a], 0] = n / total
            elif b == "(null)":
                r[idx[a], 1] = n / total
            else:
                q[idx[a], idx[b]] = n / total

    def p_conv(removed: str | None) -> float:
        qq, rr = q.copy(), r.copy()
        if removed is not None:
            k = idx[removed]
            qq[:, k] = 0.0  # nothing reaches it any more ...
            rr[:, 1] += q[:, k]  # ... what went into it goes to null instead
        fundamental = np.linalg.inv(np.eye(m) - qq)
        absorbed = fundamental @ rr
        return float(absorbed[idx["(start)"], 0])

    base = p_conv(None)
    effects = {t: 1.0 - p_conv(t) / base for t in touch}
    conversions = sum(1 for _, c in paths if c)
    total_effect = sum(effects.values())
    credit = {t: conversions * e / total_effect for t, e in effects.items()}
    return base, effects, credit


# -------------------------------------------------------------- paths into a workspace


def workspace_of(folder: Path, paths: Paths, *, shuffle: int | None = None) -> Path:
    """A workspace whose contacts walk ``paths``: one touch a day, then a won deal for a
    converting path, a lost deal or no deal at all (alternately) for the others."""
    from workbook.crm.storage import write_canonical
    from workbook.model import Touchpoint
    from workbook.store import new_workspace

    ws = new_workspace("Markov", directory=folder)
    names = sorted({t for path, _ in paths for t in path})
    ws.data.touchpoints = [Touchpoint(id=t, name=t.upper(), channel="web") for t in names]
    ws.save()
    events, deals = [], []
    for i, (path, converted) in enumerate(paths):
        cid = f"c{i:05d}"
        for j, tp in enumerate(path):
            ts = T0 + pd.Timedelta(days=j)
            events.append((cid, ts, j, "touch", "awareness", tp, "web", "click"))
        close = T0 + pd.Timedelta(days=len(path))
        if converted:
            deals.append((f"d{i}", cid, "won", T0, close))
        elif i % 2:
            deals.append((f"d{i}", cid, "lost", T0, close))
    ev = pd.DataFrame(
        events,
        columns=["contact_id", "ts", "seq", "kind", "stage", "touchpoint", "channel", "action"],
    )
    dl = pd.DataFrame(
        deals, columns=["deal_id", "contact_id", "outcome", "created_at", "closed_at"]
    )
    contacts = pd.DataFrame({"contact_id": [f"c{i:05d}" for i in range(len(paths))]})
    if shuffle is not None:
        ev = ev.sample(frac=1.0, random_state=shuffle).reset_index(drop=True)
        dl = dl.sample(frac=1.0, random_state=shuffle).reset_index(drop=True)
        contacts = contacts.sample(frac=1.0, random_state=shuffle).reset_index(drop=True)
    write_canonical(ws.path, "paths", contacts, ev, dl)
    return ws.path


def markov_of(path: Path) -> dict[str, float]:
    a = A.attribution(Engine.for_workspace(path))
    m = a[a["model"] == "markov"]
    return dict(zip(m["touchpoint"], m["conversions"], strict=True))


def effects_of(path: Path) -> dict[str, float]:
    r = A.removal_effects(Engine.for_workspace(path))
    return dict(zip(r["touchpoint"], r["removal_effect"], strict=True))


# ----------------------------------------------------------------------- hand-worked cases


def test_two_converters_and_a_null_by_hand(tmp_path: Path) -> None:
    # Paths: a>b conv, a conv, b null.
    # Transitions: start>a 2, start>b 1; a>b 1, a>conv 1; b>conv 1, b>null 1.
    # P(b) = 1/2; P(a) = 1/2 + 1/2 * P(b) = 3/4; P(start) = 2/3 * 3/4 + 1/3 * 1/2 = 2/3.
    # Without a (start>a goes to null): 1/3 * 1/2 = 1/6, so RE(a) = 1 - (1/6)/(2/3) = 3/4.
    # Without b (a>b and start>b go to null): 2/3 * 1/2 = 1/3, so RE(b) = 1 - 1/2 = 1/2.
    # Two conversions shared 3/4 : 1/2: a gets 2 * 3/5 = 1.2, b gets 2 * 2/5 = 0.8.
    # (Splitting each won journey by the effects instead would give a 1.6 and b 0.4.)
    paths: Paths = [(["a", "b"], True), (["a"], True), (["b"], False)]
    base, effects, credit = chain_credit(paths)
    assert base == pytest.approx(2 / 3)
    assert effects == pytest.approx({"a": 3 / 4, "b": 1 / 2})
    assert credit == pytest.approx({"a": 1.2, "b": 0.8})
    ws = workspace_of(tmp_path, paths)
    assert markov_of(ws) == pytest.approx({"a": 1.2, "b": 0.8}, abs=1e-12)
    r = A.removal_effects(ws).set_index("touchpoint")
    assert r.loc["a", "conversion_without"] == pytest.approx(1 / 6)
    assert r.loc["b", "conversion_without"] == pytest.approx(1 / 3)
    assert r["conversion_base"].tolist() == pytest.approx([2 / 3, 2 / 3])
    share = A.attribution(ws).set_index(["model", "touchpoint"])["share"]
    assert share[("markov", "a")] == pytest.approx(0.6) and share[("markov", "b")] == 0.4


def test_a_touchpoint_only_non_converters_used_still_gets_credit(tmp_path: Path) -> None:
    # Paths: a>b conv, c>b null. start>a 1/2, start>c 1/2; a>b, c>b; b>conv 1/2, b>null 1/2.
    # P(conv) = 1/2. Without a: 1/2 * 1/2 = 1/4, RE 1/2; without c: the same, RE 1/2;
    # without b: 0, RE 1. Sum 2, one conversion: a 1/4, c 1/4, b 1/2. In the first-order
    # chain c leads to b as often as a does, so c earns credit although no winner used it.
    paths: Paths = [(["a", "b"], True), (["c", "b"], False)]
    assert chain_credit(paths)[2] == pytest.approx({"a": 0.25, "b": 0.5, "c": 0.25})
    ws = workspace_of(tmp_path, paths)
    assert markov_of(ws) == pytest.approx({"a": 0.25, "b": 0.5, "c": 0.25}, abs=1e-12)
    a = A.attribution(ws).set_index(["model", "touchpoint"])["conversions"]
    assert a[("first_touch", "c")] == 0 and a[("linear", "c")] == 0  # the rules give c none
    assert a["markov"].sum() == pytest.approx(1.0)


def test_repeated_touches_are_self_loops_that_change_nothing(tmp_path: Path) -> None:
    # a>a>b conv, b null: the repeat is a self-loop a>a (kept, as ChannelAttribution's
    # transition_matrix keeps it by default). start>a 1/2, start>b 1/2; a>a 1/2, a>b 1/2;
    # b>conv 1/2, b>null 1/2. P(a) = 1/2 P(a) + 1/2 P(b), so P(a) = P(b) = 1/2: a loop only
    # delays leaving a state, it does not change where the chain ends. P(conv) = 1/2;
    # without a: 1/4, RE 1/2; without b: 0, RE 1. One conversion: a 1/3, b 2/3, exactly what
    # a>b conv, b null gives.
    looped: Paths = [(["a", "a", "b"], True), (["b"], False)]
    plain: Paths = [(["a", "b"], True), (["b"], False)]
    assert chain_credit(looped)[2] == pytest.approx({"a": 1 / 3, "b": 2 / 3})
    assert chain_credit(plain)[2] == pytest.approx({"a": 1 / 3, "b": 2 / 3})
    got = markov_of(workspace_of(tmp_path / "looped", looped))
    assert got == pytest.approx({"a": 1 / 3, "b": 2 / 3}, abs=1e-12)
    assert got == pytest.approx(markov_of(workspace_of(tmp_path / "plain", plain)), abs=1e-12)


def test_non_converting_paths_count(tmp_path: Path) -> None:
    # A journey that ends without a win is a path to (null), and it counts:
    # a>b conv, a null: start>a 1; a>b 1/2, a>null 1/2; b>conv 1. P = 1/2;
    # without a: 0, RE 1; without b: 0, RE 1 -> the one conversion is split 1/2 : 1/2.
    # Add b null: start>a 2/3, start>b 1/3; b>conv 1/2, b>null 1/2.
    # P = 2/3 * 1/2 * 1/2 + 1/3 * 1/2 = 1/3; without a: 1/3 * 1/2 = 1/6, RE 1/2;
    # without b: 0, RE 1 -> a 1/3, b 2/3.
    mixed: Paths = [(["a", "b"], True), (["a"], False)]
    more: Paths = [*mixed, (["b"], False)]
    assert chain_credit(mixed)[2] == pytest.approx({"a": 0.5, "b": 0.5})
    assert chain_credit(more)[2] == pytest.approx({"a": 1 / 3, "b": 2 / 3})
    assert markov_of(workspace_of(tmp_path / "mixed", mixed)) == pytest.approx(
        {"a": 0.5, "b": 0.5}, abs=1e-12
    )
    assert markov_of(workspace_of(tmp_path / "more", more)) == pytest.approx(
        {"a": 1 / 3, "b": 2 / 3}, abs=1e-12
    )


# --------------------------------------------------------------------- a larger path set


def generated_paths(n: int, seed: int) -> Paths:
    """Journeys of 1-7 touches over six touchpoints, repeats included; some touchpoints
    make a conversion likelier than others."""
    rnd = random.Random(seed)
    tps = ["ads", "blog", "demo", "email", "pricing", "webinar"]
    weight = {"ads": 0.0, "blog": 0.02, "demo": 0.25, "email": 0.05, "pricing": 0.15}
    paths: Paths = []
    for _ in range(n):
        path = [rnd.choice(tps) for _ in range(rnd.randint(1, 7))]
        if rnd.random() < 0.3:  # a run of the same touchpoint
            path.insert(rnd.randrange(len(path)), path[-1])
        p = 0.05 + sum(weight.get(t, 0.08) for t in set(path))
        paths.append((path, rnd.random() < min(p, 0.9)))
    return paths


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Paths, Path, Path]:
    paths = generated_paths(3000, seed=13)
    folder = tmp_path_factory.mktemp("markov")
    return (
        paths,
        workspace_of(folder / "ordered", paths),
        workspace_of(folder / "shuffled", paths, shuffle=5),
    )


def test_generated_paths_match_the_linear_algebra(generated: tuple[Paths, Path, Path]) -> None:
    paths, ws, _ = generated
    base, effects, credit = chain_credit(paths)
    got = markov_of(ws)
    assert set(got) == set(credit)
    for tp, value in credit.items():
        assert got[tp] == pytest.approx(value, rel=1e-9, abs=1e-9), tp
    assert sum(got.values()) == pytest.approx(sum(c for _, c in paths), rel=1e-12)
    for tp, value in effects_of(ws).items():
        assert value == pytest.approx(effects[tp], rel=1e-9, abs=1e-12), tp
    r = A.removal_effects(ws)
    assert r["conversion_base"].iloc[0] == pytest.approx(base, rel=1e-12)


def test_shares_are_identical_run_to_run_and_for_shuffled_rows(
    generated: tuple[Paths, Path, Path],
) -> None:
    _, ws, shuffled = generated

    def shares(path: Path) -> list[tuple[str, float, float]]:
        a = A.attribution(Engine.for_workspace(path))
        m = a[a["model"] == "markov"].sort_values("touchpoint")
        return list(zip(m["touchpoint"], m["conversions"], m["share"], strict=True))

    first = shares(ws)
    for _ in range(3):
        assert shares(ws) == first  # exact, not approximately
    assert shares(shuffled) == first


def test_the_report_and_the_chart_show_the_standard_credit(tmp_path: Path) -> None:
    import re

    from workbook import charts, sections

    # The first hand-worked case: a 1.2 and b 0.8 of two won contacts, 60% and 40%.
    ws = workspace_of(tmp_path, [(["a", "b"], True), (["a"], True), (["b"], False)])
    ctx = sections.report_context(str(ws), report_date="2026-03-01")
    html = str(sections.render_section("attribution", ctx))
    header = re.findall(r"<th[^>]*>([^<]*)</th>", html)
    rows = {
        cells[0]: dict(zip(header, cells, strict=True))
        for cells in (
            re.findall(r"<td[^>]*>([^<]*)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", html)
        )
        if cells
    }
    assert rows["A"]["Markov"] == "60.0%" and rows["B"]["Markov"] == "40.0%"
    spec = charts.get("attribution")(A.attribution(ws)).to_dict()
    datasets = spec.get("datasets", {})
    values = next(iter(datasets.values())) if datasets else spec["data"]["values"]
    got = {v["touchpoint"]: v["credit"] for v in values if v["model"].startswith("Markov")}
    assert got == pytest.approx({"A": 0.6, "B": 0.4})
