"""Every analytics question against an independent plain-pandas computation.

The data is the CRM generator's history for the demo client's workspace (personas, stages,
touchpoints, scoring rules, experiments). The references below read only the canonical
tables the generator returns (not the derived tables, not DuckDB) and rebuild everything
with pandas and plain Python, so a mistake in the SQL cannot hide in both.
"""

from __future__ import annotations

import math
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from workbook import analytics as A
from workbook.analytics import Engine
from workbook.analytics._common import rollup

ROOT = Path(__file__).resolve().parent.parent
DEMO_YAML = ROOT / "data" / "demo" / "workspace.yaml"


class Data:
    """The generated canonical tables as pandas frames, plus the workspace document."""

    def __init__(self, ws: Any, contacts: pd.DataFrame, events: pd.DataFrame, deals: pd.DataFrame):
        self.ws = ws
        self.contacts = contacts
        self.events = events
        self.deals = deals
        self.stages = [s.id for s in ws.stages]
        self.index = {s: i for i, s in enumerate(self.stages)}


@pytest.fixture(scope="module")
def data_and_engine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Data, Engine]:
    from workbook.crm.generate import generate
    from workbook.crm.storage import write_canonical
    from workbook.store import open_workspace

    folder = tmp_path_factory.mktemp("gen") / "ws"
    folder.mkdir()
    shutil.copy(DEMO_YAML, folder / "workspace.yaml")
    ws = open_workspace(folder)
    sample = generate(ws.data, contacts=1500, seed=11)
    write_canonical(folder, "gen", sample.contacts, sample.events, sample.deals)
    events = sample.events.to_pandas()
    events["source_id"] = "gen"
    data = Data(ws.data, sample.contacts.to_pandas(), events, sample.deals.to_pandas())
    return data, Engine.for_workspace(ws)


@pytest.fixture
def d(data_and_engine: tuple[Data, Engine]) -> Data:
    return data_and_engine[0]


@pytest.fixture
def eng(data_and_engine: tuple[Data, Engine]) -> Engine:
    return data_and_engine[1]


# ------------------------------------------------------------------------ pandas references


def ref_spells(d: Data) -> pd.DataFrame:
    """Stays: consecutive entries into one stage are one stay; a stay ends at the next stage
    entered or at a deal's close (won or lost), whichever comes first. A close at the moment
    of a stage entry ends nothing (it belongs to that move); after a close, the next entry
    starts a new stay. ``next_stage`` only for stays ended by a move; ``ended_by`` the
    close's outcome (a win over a loss at one moment) for those a close ended."""
    e = d.events
    st = e[(e["kind"] == "stage") & e["stage"].notna()]
    st = st.sort_values(["contact_id", "ts", "seq", "source_id", "stage"])
    closes = e[(e["kind"] == "deal") & e["action"].isin(["won", "lost"])]
    entry_moments = set(zip(st["contact_id"], st["ts"], strict=True))
    close_at: dict[str, dict[pd.Timestamp, str]] = defaultdict(dict)
    for cid, ts, action in zip(closes["contact_id"], closes["ts"], closes["action"], strict=True):
        if (cid, ts) not in entry_moments and close_at[cid].get(ts) != "won":
            close_at[cid][ts] = action
    rows = []
    for cid, part in st.groupby("contact_id", sort=False):
        times = sorted(close_at.get(cid, {}).items())
        stay: dict[str, Any] | None = None
        for r in part.itertuples():
            if stay is not None:
                ended = [c for c in times if stay["entered_at"] < c[0] <= r.ts]
                if ended:
                    stay.update(exited_at=ended[0][0], ended_by=ended[0][1])
                    stay = None
                elif stay["stage"] == r.stage:
                    continue
                else:
                    stay.update(exited_at=r.ts, next_stage=r.stage, ended_by="stage")
            stay = {"contact_id": cid, "stage": r.stage, "entered_at": r.ts}
            rows.append(stay)
        if stay is not None:
            later = [c for c in times if c[0] > stay["entered_at"]]
            if later:
                stay.update(exited_at=later[0][0], ended_by=later[0][1])
    columns = ["contact_id", "stage", "entered_at", "exited_at", "next_stage", "ended_by"]
    out = pd.DataFrame(rows, columns=columns)
    out["exited_at"] = pd.to_datetime(out["exited_at"], utc=True)
    return out


def ref_entries(d: Data) -> pd.DataFrame:
    return ref_spells(d)[["contact_id", "stage"]].drop_duplicates()


def ref_outcomes(d: Data) -> pd.DataFrame:
    rank = {"won": 3, "open": 2, "lost": 1}
    deals = d.deals.assign(r=d.deals["outcome"].map(rank))
    best = deals.groupby("contact_id")["r"].max().map({v: k for k, v in rank.items()})
    won_at = deals[deals["outcome"] == "won"].groupby("contact_id")["closed_at"].min()
    return pd.DataFrame({"outcome": best, "won_at": won_at})


def ref_journeys(d: Data) -> dict[str, tuple[list[str], str]]:
    """contact -> (touchpoints in order, outcome) for every contact with a touch."""
    e = d.events
    t = e[(e["kind"] == "touch") & e["touchpoint"].notna() & (e["action"].fillna("") != "sent")]
    t = t.join(ref_outcomes(d), on="contact_id")
    t["outcome"] = t["outcome"].fillna("none")
    keep = (t["outcome"] != "won") | t["won_at"].isna() | (t["ts"] <= t["won_at"])
    t = t[keep].sort_values(["contact_id", "ts", "seq", "touchpoint", "action"])
    out: dict[str, tuple[list[str], str]] = {}
    for cid, part in t.groupby("contact_id", sort=False):
        out[str(cid)] = (part["touchpoint"].tolist(), str(part["outcome"].iloc[0]))
    return out


def persona_of(d: Data) -> pd.Series:
    return d.contacts.set_index("contact_id")["persona"].fillna("unassigned")


# ------------------------------------------------------------------------------- the tests


def test_generated_data_is_big_enough_to_mean_something(d: Data) -> None:
    assert len(d.events) > 5000
    assert (d.deals["outcome"] == "won").sum() > 50 and (d.deals["outcome"] == "lost").sum() > 50
    assert (ref_spells(d)["next_stage"].map(d.index) < ref_spells(d)["stage"].map(d.index)).any()


@pytest.mark.parametrize("by", [None, "persona"])
def test_funnel_matches_pandas(d: Data, eng: Engine, by: str | None) -> None:
    entries = ref_entries(d)
    if by:
        entries = entries.join(persona_of(d).rename("persona"), on="contact_id")
        entries["persona"] = entries["persona"].fillna("unassigned")
    groups = sorted(entries[by].unique()) if by else [None]
    got = A.funnel(eng, by=by)
    for g in groups:
        part = entries[entries[by] == g] if by else entries
        sets = {s: set(part.loc[part["stage"] == s, "contact_id"]) for s in d.stages}
        rows = got[got[by] == g] if by else got
        assert rows["contacts"].tolist() == [len(sets[s]) for s in d.stages]
        for i, s in enumerate(d.stages[:-1]):
            nxt = len(sets[s] & sets[d.stages[i + 1]])
            assert rows.iloc[i]["reached_next"] == nxt
            if sets[s]:
                assert rows.iloc[i]["conversion_to_next"] == pytest.approx(nxt / len(sets[s]))
        conv = [
            len(sets[s] & sets[d.stages[i + 1]]) / len(sets[s]) if sets[s] else math.inf
            for i, s in enumerate(d.stages[:-1])
        ]
        # the bottleneck: most contacts lost (issue 13; it was the lowest rate before)
        lost = [len(sets[s] - sets[d.stages[i + 1]]) for i, s in enumerate(d.stages[:-1])]
        if max(lost) > 0:
            assert rows.loc[rows["is_bottleneck"], "stage"].tolist() == [
                d.stages[int(np.argmax(lost))]
            ]
        if min(conv) < math.inf:
            assert rows.loc[rows["is_weakest_step"], "stage"].tolist() == [
                d.stages[int(np.argmin(conv))]
            ]


@pytest.mark.parametrize("by", [None, "persona"])
def test_transitions_match_pandas(d: Data, eng: Engine, by: str | None) -> None:
    from workbook.analytics.movement import LOST, WON

    sp = ref_spells(d)
    # a stay ends in a move to the next stage, or in a deal's close (won or lost)
    sp["next_stage"] = sp["next_stage"].where(
        sp["ended_by"] == "stage", sp["ended_by"].map({"won": WON, "lost": LOST})
    )
    sp = sp[sp["next_stage"].notna()]
    assert LOST in set(sp["next_stage"])  # the generator's wins come with the purchase entry
    keys = ["from_stage", "to_stage"]
    sp = sp.rename(columns={"stage": "from_stage", "next_stage": "to_stage"})
    if by:
        sp = sp.join(persona_of(d).rename(by), on="contact_id")
        sp[by] = sp[by].fillna("unassigned")
        keys = [by, *keys]
    ref = sp.groupby(keys).agg(moves=("contact_id", "size"), contacts=("contact_id", "nunique"))
    got = A.transitions(eng, by=by).set_index(keys)[["moves", "contacts"]]
    pd.testing.assert_frame_equal(got.sort_index(), ref.sort_index(), check_dtype=False)


@pytest.mark.parametrize("by", [None, "persona"])
def test_time_in_stage_matches_pandas(d: Data, eng: Engine, by: str | None) -> None:
    sp = ref_spells(d)
    sp["days"] = (sp["exited_at"] - sp["entered_at"]).dt.total_seconds() / 86400
    keys = ["stage"]
    if by:
        sp = sp.join(persona_of(d).rename(by), on="contact_id")
        sp[by] = sp[by].fillna("unassigned")
        keys = [by, "stage"]
    done = sp[sp["days"].notna()].groupby(keys)["days"]
    ref = pd.DataFrame(
        {"median_days": done.median(), "p90_days": done.quantile(0.9), "spells": done.size()}
    )
    got = A.time_in_stage(eng, by=by).set_index(keys)
    got = got[got["spells"] > 0][["median_days", "p90_days", "spells"]]
    pd.testing.assert_frame_equal(got.sort_index(), ref.sort_index(), check_dtype=False)


def test_time_to_close_matches_pandas(d: Data, eng: Engine) -> None:
    won = d.deals[d.deals["outcome"] == "won"]
    # a deal with no record before its close has no time to close (unknown, not 0 days)
    timed = won[won["created_at"] < won["closed_at"]]
    days = (timed["closed_at"] - timed["created_at"]).dt.total_seconds() / 86400
    got = A.time_to_close(eng).iloc[0]
    assert got["won_deals"] == len(won)
    assert got["untimed_deals"] == len(won) - len(timed)
    assert got["median_days"] == pytest.approx(days.median())
    assert got["p90_days"] == pytest.approx(days.quantile(0.9))


def test_touchpoint_usage_matches_pandas(d: Data, eng: Engine) -> None:
    e = d.events
    t = e[
        (e["kind"] == "touch")
        & e["touchpoint"].notna()
        & (e["action"].fillna("") != "sent")
        & e["stage"].isin(d.stages)
    ]
    ref = t.groupby(["stage", "touchpoint"]).agg(
        touches=("contact_id", "size"), contacts=("contact_id", "nunique")
    )
    got = A.touchpoint_usage(eng).set_index(["stage", "touchpoint"])[["touches", "contacts"]]
    pd.testing.assert_frame_equal(got.sort_index(), ref.sort_index(), check_dtype=False)


def test_touchpoint_lift_matches_pandas(d: Data, eng: Engine) -> None:
    entries = ref_entries(d)
    reached = {s: set(entries.loc[entries["stage"] == s, "contact_id"]) for s in d.stages}
    e = d.events
    used = e[
        (e["kind"] == "touch")
        & e["touchpoint"].notna()
        & e["stage"].notna()
        & (e["action"].fillna("") != "sent")
    ][["contact_id", "stage", "touchpoint"]].drop_duplicates()
    got = A.touchpoint_lift(eng).set_index(["stage", "touchpoint"])
    checked = 0
    for (stage, tp), part in used.groupby(["stage", "touchpoint"]):
        if stage not in d.index or d.index[stage] == len(d.stages) - 1:
            continue
        pop = reached[stage]
        nxt = reached[d.stages[d.index[stage] + 1]]
        users = set(part["contact_id"]) & pop
        if not users:
            continue
        non = pop - users
        row = got.loc[(stage, tp)]
        assert row["users"] == len(users) and row["non_users"] == len(non)
        assert row["users_rate"] == pytest.approx(len(users & nxt) / len(users))
        if non:
            assert row["lift"] == pytest.approx(
                len(users & nxt) / len(users) - len(non & nxt) / len(non)
            )
        checked += 1
    assert checked == len(got) and checked > 5


def _rules_credit(journeys: dict[str, tuple[list[str], str]]) -> dict[str, dict[str, float]]:
    credit: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for path, outcome in journeys.values():
        if outcome != "won":
            continue
        n = len(path)
        credit["first_touch"][path[0]] += 1
        credit["last_touch"][path[-1]] += 1
        for i, tp in enumerate(path):
            credit["linear"][tp] += 1 / n
            if n == 1:
                w = 1.0
            elif n == 2:
                w = 0.5
            else:
                w = 0.4 if i in (0, n - 1) else 0.2 / (n - 2)
            credit["position_based"][tp] += w
    return credit


def _markov_by_iteration(
    journeys: dict[str, tuple[list[str], str]],
) -> tuple[float, dict[str, float]]:
    """Conversion probability by value iteration (not a linear solve), and removal effects."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path, outcome in journeys.values():
        states = ["(start)", *path, "(conversion)" if outcome == "won" else "(null)"]
        for a, b in zip(states, states[1:], strict=False):
            counts[a][b] += 1

    def p_conv(removed: str | None) -> float:
        value = defaultdict(float, {"(conversion)": 1.0})
        for _ in range(3000):
            new = defaultdict(float, {"(conversion)": 1.0})
            for s, nxt in counts.items():
                if s == removed:
                    continue
                total = sum(nxt.values())
                new[s] = sum(
                    n / total * (0.0 if t == removed else value[t]) for t, n in nxt.items()
                )
            value = new
        return value["(start)"]

    base = p_conv(None)
    touchpoints = {tp for path, _ in journeys.values() for tp in path}
    return base, {tp: 1 - p_conv(tp) / base for tp in touchpoints}


def test_attribution_matches_pandas(d: Data, eng: Engine) -> None:
    journeys = ref_journeys(d)
    ref = _rules_credit(journeys)
    got = A.attribution(eng).set_index(["model", "touchpoint"])["conversions"]
    won = sum(1 for _, o in journeys.values() if o == "won")
    for model, credits in ref.items():
        for tp, value in credits.items():
            assert got[(model, tp)] == pytest.approx(value), (model, tp)
        assert got[model].sum() == pytest.approx(won)
    base, effects = _markov_by_iteration(journeys)
    r = A.removal_effects(eng).set_index("touchpoint")
    assert r["conversion_base"].iloc[0] == pytest.approx(base, rel=1e-6)
    for tp, eff in effects.items():
        assert r.loc[tp, "removal_effect"] == pytest.approx(eff, rel=1e-5, abs=1e-9)
    # Markov: all won contacts shared in proportion to the removal effects.
    total = sum(effects.values())
    markov = {tp: won * eff / total for tp, eff in effects.items() if eff > 0}
    for tp, value in markov.items():
        assert got[("markov", tp)] == pytest.approx(value, rel=1e-5)
    assert got["markov"].sum() == pytest.approx(won)


def test_channels_match_pandas(d: Data, eng: Engine) -> None:
    e = d.events
    m = e[
        (e["kind"] == "touch")
        & e["channel"].notna()
        & e["action"].isin(["sent", "open", "click", "reply"])
    ]
    got = A.channels(eng).set_index("channel")
    for ch, part in m.groupby("channel"):
        sent = set(part.loc[part["action"] == "sent", "contact_id"])
        if not sent:
            assert ch not in got.index
            continue
        opened = set(part.loc[part["action"].isin(["open", "click", "reply"]), "contact_id"]) & sent
        clicked = set(part.loc[part["action"] == "click", "contact_id"]) & sent
        assert got.loc[ch, "contacts_sent"] == len(sent)
        assert got.loc[ch, "messages_sent"] == (part["action"] == "sent").sum()
        assert got.loc[ch, "open_rate"] == pytest.approx(len(opened) / len(sent))
        assert got.loc[ch, "click_rate"] == pytest.approx(len(clicked) / len(sent))
        assert bool(got.loc[ch, "flagged"]) == (len(opened) / len(sent) < 0.5)


def ref_scores(d: Data) -> pd.Series:
    e = d.events
    ref_date = e["ts"].max()
    age = (ref_date - e["ts"]).dt.total_seconds() / 86400
    score = pd.Series(0.0, index=e.index)
    for r in d.ws.measurement.scoring_rules:
        touch_fields = [
            (c, getattr(r, c)) for c in ("touchpoint", "channel", "action") if getattr(r, c)
        ]
        if touch_fields:
            match = e["kind"] == "touch"
            for col, value in touch_fields:
                match &= e[col] == value
            if r.stage:
                match &= e["stage"] == r.stage
        elif r.stage:
            match = (e["kind"] == "stage") & (e["stage"] == r.stage)
        else:
            continue
        pts = r.points * (0.5 ** (age.clip(lower=0) / r.decay_days) if r.decay_days else 1.0)
        score += np.where(match, pts, 0.0)
    ids = sorted(set(d.contacts["contact_id"]) | set(e["contact_id"]))
    return score.groupby(e["contact_id"]).sum().round(6).reindex(ids, fill_value=0.0)


def test_lead_scores_and_separation_match_pandas(d: Data, eng: Engine) -> None:
    ref = ref_scores(d)
    got = A.lead_scores(eng).set_index("contact_id")
    assert len(got) == len(ref)
    np.testing.assert_allclose(got.loc[ref.index, "score"], ref.to_numpy(), rtol=0, atol=1.01e-6)
    outcome = ref_outcomes(d)["outcome"].reindex(ref.index).fillna("none")
    assert (got.loc[ref.index, "outcome"] == outcome).all()
    # AUC by counting every (won, lost) pair, on the scores just checked (exact ties).
    scores = got.loc[ref.index, "score"]
    won, lost = scores[outcome == "won"].to_numpy(), scores[outcome == "lost"].to_numpy()
    diff = won[:, None] - lost[None, :]
    auc = ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size
    sep = A.score_separation(eng).iloc[0]
    assert (sep["won"], sep["lost"]) == (len(won), len(lost))
    assert sep["auc"] == pytest.approx(auc, abs=1e-9)
    # Deciles: ten near-equal buckets of the places 0..n-1 by score; a contact takes the
    # bucket of place k, k the number of contacts scoring strictly lower (ties share one).
    buckets = np.concatenate(
        [np.full(len(c), i + 1) for i, c in enumerate(np.array_split(np.arange(len(scores)), 10))]
    )
    lower = (scores.rank(method="min") - 1).astype(int).to_numpy()
    assert len(np.unique(scores)) < len(scores)  # the data has ties: the rule is exercised
    assert (got.loc[ref.index, "decile"].to_numpy() == buckets[lower]).all()
    dec = A.score_deciles(eng)
    counts = pd.Series(buckets[lower]).value_counts().sort_index()
    assert dec["decile"].tolist() == counts.index.tolist()
    assert dec["contacts"].tolist() == counts.tolist()


def test_won_interactions_and_sources_match_pandas(d: Data, eng: Engine) -> None:
    journeys = ref_journeys(d)
    outcomes = ref_outcomes(d)["outcome"]
    n_won, n_lost = (outcomes == "won").sum(), (outcomes == "lost").sum()
    won_users: dict[str, int] = defaultdict(int)
    lost_users: dict[str, int] = defaultdict(int)
    for path, outcome in journeys.values():
        for tp in set(path):
            if outcome == "won":
                won_users[tp] += 1
            elif outcome == "lost":
                lost_users[tp] += 1
    got = A.won_interactions(eng).set_index("touchpoint")
    assert set(got.index) == set(won_users)
    for tp, n in won_users.items():
        assert got.loc[tp, "won_contacts"] == n
        assert got.loc[tp, "won_share"] == pytest.approx(n / n_won)
        assert got.loc[tp, "lost_share"] == pytest.approx(lost_users[tp] / n_lost)
    c = d.contacts.set_index("contact_id")
    src = c["lead_source"].fillna("unassigned")
    oc = outcomes.reindex(c.index)
    ls = A.lead_sources(eng).set_index("lead_source")
    for source in src.unique():
        mine = oc[src == source]
        assert ls.loc[source, "contacts"] == len(mine)
        assert ls.loc[source, "won"] == (mine == "won").sum()
        assert ls.loc[source, "no_deal"] == mine.isna().sum()
    lost = d.deals[d.deals["outcome"] == "lost"]["lost_reason"].fillna("not given").value_counts()
    lr = A.lost_reasons(eng).set_index("lost_reason")["lost_deals"]
    assert lr.sort_index().to_dict() == lost.sort_index().to_dict()


def test_experiments_match_hand_formulas(d: Data, eng: Engine) -> None:
    from scipy.stats import norm

    e = d.events[d.events["experiment"].notna()]
    # Where both are there, the verdict uses the source with more leads (the log on a tie);
    # clear the typed counts to read the event log's everywhere.
    doc = d.ws.model_copy(deep=True)
    for x in doc.measurement.experiments:
        for v in x.variants:
            v.exposed = v.converted = None
    typed = {
        x.id: sum(v.exposed or 0 for v in x.variants)
        for x in d.ws.measurement.experiments
        if all(v.exposed is not None for v in x.variants)
    }
    logged = e.drop_duplicates(["experiment", "variant", "contact_id"])
    logged_n = logged.groupby("experiment")["contact_id"].count()
    sources = A.experiment_variants(eng).groupby("experiment")["source"].first()
    assert typed
    for x, n_typed in typed.items():
        n_log = int(logged_n.get(x, 0))
        assert sources[x] == ("events" if n_log and n_log >= n_typed else "workspace"), x
    got = A.experiment_variants(Engine(eng.path, doc)).set_index(["experiment", "variant"])
    assert len(got) > 0 and set(got["source"]) == {"events"}
    for exp in d.ws.measurement.experiments:
        part = e[e["experiment"] == exp.id]
        if part.empty:
            continue
        counts = {}
        for v in exp.variants:
            pv = part[part["variant"] == v.id]
            n = pv["contact_id"].nunique()
            k = pv.loc[
                ~pv["action"].isin(
                    ["sent", "delivered", "exposed", "exposure", "view", "visit", "impression"]
                ),
                "contact_id",
            ].nunique()
            counts[v.id] = (n, k)
            row = got.loc[(exp.id, v.id)]
            assert (row["exposed"], row["converted"]) == (n, k)
            z = norm.ppf(0.975)
            p = k / n
            centre = (p + z * z / (2 * n)) / (1 + z * z / n)
            half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
            assert row["ci_low"] == pytest.approx(centre - half) and row[
                "ci_high"
            ] == pytest.approx(centre + half)
        (n0, k0), (n1, k1) = counts[exp.variants[0].id], counts[exp.variants[1].id]
        pooled = (k0 + k1) / (n0 + n1)
        zstat = (k1 / n1 - k0 / n0) / math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
        assert got.loc[(exp.id, exp.variants[1].id), "p_value"] == pytest.approx(
            2 * norm.sf(abs(zstat))
        )


def test_kpi_conversion_matches_pandas(d: Data, eng: Engine) -> None:
    entries = ref_entries(d)
    cons = set(entries.loc[entries["stage"] == "consideration", "contact_id"])
    purch = set(entries.loc[entries["stage"] == "purchase", "contact_id"])
    k = A.kpis(eng).set_index("id")
    assert k.loc["consideration-to-purchase", "current"] == pytest.approx(
        100 * len(cons & purch) / len(cons)
    )
    assert k.loc["consideration-to-purchase", "source"] == "data"


def test_without_rollups_the_engine_computes_them_alike(
    d: Data, eng: Engine, tmp_path: Path
) -> None:
    """A workspace imported before the rollups existed: the engine runs the import's SQL
    over the raw views and answers exactly as with the rollup files."""
    from workbook.crm import schema

    assert eng.path is not None
    old = tmp_path / "old"
    shutil.copytree(eng.path, old)
    for table in schema.ROLLUPS:
        schema.derived_path(old, table).unlink()
    bare = Engine(old, d.ws)
    assert not any(bare.has(t) for t in schema.ROLLUPS)
    for name in (
        "funnel",
        "transitions",
        "touchpoint_usage",
        "touchpoint_lift",
        "attribution",
        "removal_effects",
        "channels",
        "won_interactions",
        "won_content",
        "lead_sources",
        "won_summary",
        "experiment_variants",
        "kpis",
    ):
        for by in (None, "persona") if name not in ("experiment_variants", "kpis") else (None,):
            args = {"by": by} if by else {}
            got = getattr(A, name)(bare, **args)
            want = getattr(A, name)(eng, **args)
            pd.testing.assert_frame_equal(got, want, check_exact=False, obj=f"{name} by {by}")
    _assert_close(A.summary(bare, by="icp"), A.summary(eng, by="icp"))
    # Every rollup file, row for row, as the SQL over the views computes it: the import
    # builds some of them another way (workbook.crm.sequences), so this is what holds it to
    # the SQL. Lead scores read score_combos and score_events exactly.
    from workbook.crm.derive import duck_type

    for table in schema.ROLLUPS:
        typed = ", ".join(f"CAST({f.name} AS {duck_type(f.type)})" for f in schema.TABLES[table])
        got = bare.query(f"SELECT {typed} FROM {rollup(bare, table)} ORDER BY ALL")
        want = eng.query(f"SELECT {typed} FROM {table} ORDER BY ALL")
        assert len(want) > 0, table
        pd.testing.assert_frame_equal(got, want, check_exact=table.startswith("score_"), obj=table)
    as_of = pd.Timestamp("2025-06-01", tz="UTC").to_pydatetime()
    for name, args in (
        ("lead_scores", {}),
        ("lead_scores", {"as_of": as_of}),
        ("score_deciles", {"by": "segment"}),
        ("score_separation", {"by": "persona"}),
    ):
        got = getattr(A, name)(bare, **args)
        want = getattr(A, name)(eng, **args)
        pd.testing.assert_frame_equal(got, want, check_exact=False, obj=f"{name} {args}")


def _assert_close(got: Any, want: Any) -> None:
    """Nested dicts and lists equal, floats to 1e-9 (sums may add in another order)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want)
        for key in want:
            _assert_close(got[key], want[key])
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _assert_close(g, w)
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9, nan_ok=True)
    else:
        assert got == want
