"""Score deciles and the AUC from counts per score, on both engines (issue 20).

``score_deciles`` and ``score_separation`` no longer bring every contact's score to
Python: they count contacts per score in the engine and take a running count in order of
score (``Engine.running_totals``; on Spark by a range-partitioned sort, never a window
over the whole table). Checked here against a small set of scores with ties worked out by
hand and against SciPy's Mann-Whitney U, on DuckDB and on Spark, and on the demo client's
data against what the per-contact ``lead_scores`` gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu

from workbook.analytics import Engine, lead_scores, score_deciles, score_separation
from workbook.analytics import scoring as S

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"

#: (contact, persona, score, outcome): twelve contacts, scores tied at 0, 1.5, 3 and 5.
HAND = [
    ("A", "a", 0.0, "lost"),
    ("B", "a", 0.0, "lost"),
    ("C", "a", 0.0, "won"),
    ("D", "a", 1.5, "lost"),
    ("E", "a", 1.5, "won"),
    ("F", "a", 1.5, "won"),
    ("G", "b", 3.0, "lost"),
    ("H", "b", 3.0, "won"),
    ("I", "b", 4.0, "open"),
    ("J", "b", 5.0, "won"),
    ("K", "b", 5.0, "none"),
    ("L", "b", 2.0, "lost"),
]

# Twelve contacts: q, r = 1, 2, so buckets of 2, 2, then 1 each; the first places of
# buckets 2-10 (0-based, lowest score first) are 2, 4, 5, 6, 7, 8, 9, 10, 11. A score's
# decile is the bucket of the place after the contacts scoring lower: 0 -> none lower,
# decile 1; 1.5 -> 3 lower, decile 2; 2 -> 6, decile 5; 3 -> 7, decile 6; 4 -> 9,
# decile 8; 5 -> 10, decile 9.
DECILE_OF = {0.0: 1, 1.5: 2, 2.0: 5, 3.0: 6, 4.0: 8, 5.0: 9}
HAND_DECILES = pd.DataFrame(
    [
        (1, 3, 0.0, 0.0, 1, 2, 1 / 3, 1 / 3),
        (2, 3, 1.5, 1.5, 2, 1, 2 / 3, 2 / 3),
        (5, 1, 2.0, 2.0, 0, 1, 0.0, 0.0),
        (6, 2, 3.0, 3.0, 1, 1, 0.5, 0.5),
        (8, 1, 4.0, 4.0, 0, 0, 0.0, np.nan),
        (9, 2, 5.0, 5.0, 1, 0, 0.5, 1.0),
    ],
    columns=S.DECILE_COLUMNS,
)
# Won 0, 1.5, 1.5, 3, 5 against lost 0, 0, 1.5, 2, 3: each won contact beats the lost
# ones below it and half those tied: 1 + 2.5 + 2.5 + 4.5 + 5 = 15.5 of 25 pairs.
HAND_AUC = 15.5 / 25


def _frame(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "contact_id": [r[0] for r in rows],
            "persona": [r[1] for r in rows],
            "segment": "unassigned",
            "icp": "unassigned",
            "score": [r[2] for r in rows],
            "matched_events": 1,
            "outcome": [r[3] for r in rows],
            "n": range(len(rows)),
        }
    )


def _scored(eng: Any, rows: list[tuple[str, str, float, str]], monkeypatch: Any) -> Any:
    """``eng`` whose scores table is ``rows``: the questions then read these scores."""
    eng.register("_hand_scores", _frame(rows))
    monkeypatch.setattr(S, "_scores_table", lambda *_args: "_hand_scores")
    return eng


def _scipy(won: list[float], lost: list[float]) -> tuple[float, float]:
    res = mannwhitneyu(won, lost, alternative="two-sided")
    return float(res.statistic) / (len(won) * len(lost)), float(res.pvalue)


def _grouped(scores: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The deciles' figures from one row per contact (with its ``decile``), in pandas."""
    return (
        scores.assign(won=scores["outcome"].eq("won"), lost=scores["outcome"].eq("lost"))
        .groupby(keys)
        .agg(
            contacts=("score", "size"),
            min_score=("score", "min"),
            max_score=("score", "max"),
            won=("won", "sum"),
            lost=("lost", "sum"),
        )
        .reset_index()
    )


def _check_hand(eng: Any) -> None:
    got = score_deciles(eng)
    pd.testing.assert_frame_equal(got, HAND_DECILES, check_dtype=False, atol=1e-12)
    assert got["decile"].dtype == "int64" and got["contacts"].dtype == "int64"

    by = score_deciles(eng, by="persona")
    frame = _frame(HAND).assign(decile=lambda f: f["score"].map(DECILE_OF))
    want = _grouped(frame, ["persona", "decile"])
    pd.testing.assert_frame_equal(
        by[["persona", "decile", "contacts", "min_score", "max_score", "won", "lost"]],
        want,
        check_dtype=False,
    )

    sep = score_separation(eng).iloc[0]
    assert (sep["won"], sep["lost"]) == (5, 5)
    assert sep["auc"] == pytest.approx(HAND_AUC, abs=1e-12)
    auc, p = _scipy([0, 1.5, 1.5, 3, 5], [0, 0, 1.5, 2, 3])
    assert sep["auc"] == pytest.approx(auc, abs=1e-12)
    # ties, so the normal approximation: z = (15.5 - 12.5 - 0.5) / sqrt(25/12 * (11 - 54/90))
    assert sep["p_value"] == pytest.approx(p, rel=1e-12) and p == pytest.approx(0.5912, abs=1e-4)
    assert (sep["mean_score_won"], sep["mean_score_lost"]) == pytest.approx((2.2, 1.3))
    assert sep["note"] == ""

    per = score_separation(eng, by="persona").set_index("persona")
    for persona, won, lost in (("a", [0, 1.5, 1.5], [0, 0, 1.5]), ("b", [3, 5], [3, 2])):
        auc, p = _scipy(won, lost)
        assert per.loc[persona, "auc"] == pytest.approx(auc, abs=1e-12), persona
        assert per.loc[persona, "p_value"] == pytest.approx(p, rel=1e-12), persona


#: No tie and fewer than nine on a side: SciPy's exact distribution. Won 3, 5, 7 against
#: lost 1, 4 (and an open contact): U = 1 + 2 + 2 = 5 of 6 pairs.
EXACT = [
    ("a", "a", 3.0, "won"),
    ("b", "a", 5.0, "won"),
    ("c", "a", 7.0, "won"),
    ("d", "a", 1.0, "lost"),
    ("e", "a", 4.0, "lost"),
    ("f", "a", 4.0, "open"),
    ("g", "b", 9.0, "won"),
]


def _check_exact(eng: Any) -> None:
    sep = score_separation(eng).iloc[0]
    auc, p = _scipy([3, 5, 7, 9], [1, 4])
    assert sep["auc"] == pytest.approx(7 / 8) == auc
    assert sep["p_value"] == pytest.approx(p, rel=1e-12)
    b = score_separation(eng, by="persona").set_index("persona").loc["b"]
    assert (b["won"], b["lost"], b["note"]) == (1, 0, "needs both won and lost contacts")
    assert np.isnan(b["auc"]) and np.isnan(b["mean_score_lost"])


def test_duckdb_deciles_and_auc_of_scores_worked_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    _check_hand(_scored(Engine(None), HAND, monkeypatch))
    _check_exact(_scored(Engine(None), EXACT, monkeypatch))


@pytest.mark.parametrize("n", [0, 1, 7, 10, 23, 1000])
def test_the_decile_sql_is_lead_scores_deciles(n: int) -> None:
    """Every rank of ``n`` contacts gets the decile :func:`_deciles` gives (ties included:
    a run of equal scores takes the decile of its lowest place)."""
    import duckdb

    rng = np.random.default_rng(n)
    score = np.sort(rng.integers(0, max(n // 3, 1), n).astype(float))[::-1]  # with ties
    want = S._deciles(score)
    lower = np.array([(score < s).sum() for s in score], dtype="int64")
    con = duckdb.connect()
    got = [
        con.execute(f"SELECT {S._decile_sql(str(int(k)), n)}").fetchone()[0]  # type: ignore[index]
        for k in lower
    ]
    assert got == want.tolist()
    if n == 1000:  # no tie: ntile(10) exactly
        plain = np.arange(n, dtype=float)[::-1]
        assert S._deciles(plain).tolist() == [10 - i // 100 for i in range(n)]


def test_demo_deciles_and_auc_match_the_per_contact_scores() -> None:
    """On the demo client's data: the deciles grouped from ``lead_scores`` (one row per
    contact) and SciPy on its won and lost scores."""
    with Engine.for_workspace(DEMO) as eng:
        scores = lead_scores(eng)
        for by in (None, "persona"):
            keys = [by, "decile"] if by else ["decile"]
            want = _grouped(scores, keys)
            got = score_deciles(eng, by=by)
            assert len(got) >= 7 and got["won"].sum() > 100
            pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)
        won = scores.loc[scores["outcome"] == "won", "score"].to_numpy()
        lost = scores.loc[scores["outcome"] == "lost", "score"].to_numpy()
        auc, p = _scipy(list(won), list(lost))
        sep = score_separation(eng).iloc[0]
        assert sep["auc"] == pytest.approx(auc, rel=1e-12)
        assert sep["p_value"] == pytest.approx(p, rel=1e-9)
        assert sep["mean_score_won"] == pytest.approx(won.mean(), rel=1e-12)


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_deciles_and_auc_of_scores_worked_by_hand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workbook.analytics.spark_engine import SparkEngine
    from workbook.crm.spark.session import spark_session

    spark = spark_session("local[2]")
    _check_hand(_scored(SparkEngine(None, spark=spark), HAND, monkeypatch))
    _check_exact(_scored(SparkEngine(None, spark=spark), EXACT, monkeypatch))


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_spark_running_totals_span_partitions() -> None:
    """Counts per (group, value) spread over several range partitions: each row's running
    total is the sum over its group's lower values, as a plain cumulative sum gives."""
    from workbook.analytics.spark_engine import SparkEngine
    from workbook.crm.spark.session import spark_session

    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {"g": rng.choice(["x", "y", "z"], 3000), "v": rng.integers(0, 900, 3000).astype(float)}
    ).drop_duplicates(["g", "v"])
    frame["c"] = rng.integers(1, 5, len(frame))
    eng = SparkEngine(None, spark=spark_session("local[2]"))
    eng.register("_counts", frame)
    for keys in (["g"], []):
        source = (
            "SELECT g, v, c FROM _counts"
            if keys
            else ("SELECT v, sum(c)::BIGINT AS c FROM _counts GROUP BY v")
        )
        name = eng.running_totals(f"_run_{len(keys)}", source, keys, "v", ["c"])
        parts = eng.spark.table(name).rdd.getNumPartitions()
        got = eng.query(f"SELECT * FROM {name}").sort_values([*keys, "v"]).reset_index(drop=True)
        want = eng.query(source).sort_values([*keys, "v"]).reset_index(drop=True)
        cum = want.groupby(keys)["c"].cumsum() if keys else want["c"].cumsum()
        want["c_before"] = cum - want["c"]
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
        assert parts > 1
    eng.close()
