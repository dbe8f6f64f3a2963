"""Lead scores from the workspace's scoring rules, and how well they separate won from lost.

A rule gives ``points`` for every event that matches it. A rule naming a touchpoint, a
channel or an action matches touch events with those values (and, when it also names a
stage, only touches made in that stage); a rule naming only a stage matches each entry into
that stage. A rule naming nothing matches nothing. With ``decay_days`` the points of an
event halve for every ``decay_days`` of its age: ``points * 0.5 ** (age_days /
decay_days)``, the age counted to a reference date: the last event in the data, so the same
data always gives the same scores. Scores are rounded to six decimals: a parallel sum adds
in no fixed order, and rounding keeps equal scores equal (ties, deciles and the AUC stay the
same from run to run).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from workbook.analytics._common import (
    OUTCOME_SQL,
    days_between,
    empty,
    group_cols,
    numbered_contacts,
    ordered,
    rollup,
)
from workbook.analytics.engine import Engine, EngineLike, memo

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from workbook.model import ScoringRule

__all__ = [
    "DECILE_COLUMNS",
    "SCORE_COLUMNS",
    "SEPARATION_COLUMNS",
    "lead_scores",
    "score_deciles",
    "score_separation",
]

SCORE_COLUMNS = [
    "contact_id",
    "persona",
    "segment",
    "icp",
    "score",
    "matched_events",
    "outcome",
    "decile",
]
SEPARATION_COLUMNS = ["won", "lost", "auc", "p_value", "mean_score_won", "mean_score_lost", "note"]
DECILE_COLUMNS = [
    "decile",
    "contacts",
    "min_score",
    "max_score",
    "won",
    "lost",
    "conversion",
    "win_rate",
]


def _rule_condition(rule: ScoringRule, params: dict[str, Any]) -> str | None:
    """SQL condition for one rule; its values go into ``params`` as named parameters."""

    def bind(value: Any) -> str:
        name = f"p{len(params)}"
        params[name] = value
        return f"${name}"

    conds: list[str] = []
    for col in ("touchpoint", "channel", "action"):
        value = getattr(rule, col)
        if value:
            conds.append(f"e.{col} = {bind(value)}")
    if conds:
        conds.insert(0, "e.kind = 'touch'")
        if rule.stage:
            conds.append(f"e.stage = {bind(rule.stage)}")
    elif rule.stage:
        conds = ["e.kind = 'stage'", f"e.stage = {bind(rule.stage)}"]
    else:
        return None
    return "(" + " AND ".join(conds) + ")"


@memo
def lead_scores(
    ws: EngineLike, *, as_of: dt.datetime | None = None, rules: list[ScoringRule] | None = None
) -> pd.DataFrame:
    """Score every contact with the workspace's scoring rules.

    Parameters
    ----------
    as_of
        Reference date for decay (timezone-aware); default: the last event in the data.
        Events after it still count, at full points.
    rules
        Rules to use instead of ``measurement.scoring_rules`` (to try a change out).

    Returns
    -------
    DataFrame
        One row per contact (contacts table and event log), highest score first, then
        contact id. Columns: ``contact_id, persona, segment, icp`` (``unassigned`` when
        unknown), ``score`` (float, 0 without a matching event), ``matched_events`` (int),
        ``outcome`` (``won``, ``open``, ``lost`` or ``none``), ``decile`` (int 1-10 by score,
        10 the highest; contacts with equal scores share a decile, see :func:`_deciles`;
        fewer than ten contacts give fewer deciles).
    """
    import numpy as np

    eng = Engine.for_workspace(ws)
    table = _scores_table(eng, as_of, rules)
    # Sorted here, not in SQL: a sort of (score, n) numbers is several times faster than
    # DuckDB's sort on the contact id string with every column as payload (``n`` orders
    # contacts as their ids do, see _scores_table), and it is the same order.
    data = eng.arrow(f"SELECT * FROM {table}")
    order = np.lexsort((data["n"].to_numpy(), -data["score"].to_numpy()))
    out = data.drop_columns(["n"]).take(order).to_pandas()
    out["score"] = out["score"].astype("float64")
    out["matched_events"] = out["matched_events"].astype("int64")
    out["decile"] = _deciles(np.asarray(out["score"].to_numpy()))
    return ordered(out, SCORE_COLUMNS)


def _scores_table(eng: Engine, as_of: dt.datetime | None, rules: list[ScoringRule] | None) -> str:
    """Score every contact in the engine (once per set of rules) and return the table name."""
    import hashlib
    import json

    rules = list(eng.workspace.measurement.scoring_rules if rules is None else rules)
    combos = rollup(eng, "score_combos")
    params: dict[str, Any] = {}
    # The rules are matched against the few distinct combinations of kind, touchpoint,
    # channel, action and stage (score_combos), not against every event: one row per
    # (combination, rule it matches) with the rule's points and half-life.
    matches: list[str] = []
    for rule in rules:
        cond = _rule_condition(rule, params)
        if cond is None:
            continue
        n = len(params)
        params[f"p{n}"] = float(rule.points)
        half_life = "NULL::DOUBLE"
        if rule.decay_days:
            params[f"p{n + 1}"] = float(rule.decay_days)
            half_life = f"CAST($p{n + 1} AS DOUBLE)"
        matches.append(
            f"SELECT e.combo, CAST($p{n} AS DOUBLE) AS points, {half_life} AS half_life "
            f"FROM {combos} e WHERE {cond}"
        )
    if as_of is not None:
        params["as_of"] = as_of
        ref = "CAST($as_of AS TIMESTAMPTZ)"
    else:
        ref = f"(SELECT max(last_ts) FROM {combos})"  # the last event of the data
    if matches:
        # Each event matched by a rule, as (contact number, time, combination): the join
        # gives one row per (event, rule it matches), as many as the rules that match it.
        # Events after the reference date count at full points: age is floored at 0.
        age = days_between("e.ts", "r.ref")
        scored = f"""
            WITH m AS ({" UNION ALL ".join(matches)})
            SELECT e.n,
                   round(sum(CASE WHEN m.half_life IS NULL THEN m.points
                                  ELSE m.points * pow(0.5, greatest({age}, 0) / m.half_life)
                             END), 6) AS score,
                   count(*) AS matched_events
            FROM {rollup(eng, "score_events")} e JOIN m ON m.combo = e.combo,
                 (SELECT {ref} AS ref) r
            GROUP BY e.n
        """
    else:
        scored = "SELECT NULL::BIGINT AS n, 0.0 AS score, 0 AS matched_events WHERE FALSE"
        params = {}
    # contact_paths already lists every contact of events, contacts and deals, with its
    # attributes and best outcome: one read of it, no aggregation of the deals. Without it,
    # the people view, the event log's contacts and the deals' outcomes. ``n`` numbers the
    # contacts in the order of their ids, as score_events does (see numbered_contacts).
    if eng.has("numbered_contact_paths"):
        people = "SELECT contact_id, persona, segment, icp, outcome, n FROM numbered_contact_paths"
    elif eng.has("contact_paths"):
        people = f"""
            SELECT p.contact_id, p.persona, p.segment, p.icp, p.outcome, k.n
            FROM contact_paths p JOIN {numbered_contacts(eng)} k USING (contact_id)
        """
    else:
        people = f"""
            SELECT ids.contact_id, p.persona, p.segment, p.icp, o.outcome, k.n
            FROM (SELECT contact_id FROM people
                  UNION SELECT contact_id FROM events WHERE contact_id IS NOT NULL) ids
            JOIN {numbered_contacts(eng)} k ON k.contact_id = ids.contact_id
            LEFT JOIN people p ON p.contact_id = ids.contact_id
            LEFT JOIN ({OUTCOME_SQL}) o ON o.contact_id = ids.contact_id
        """
    # One table per distinct (rules, as_of), so a what-if on other rules is cached apart.
    # No decile here: a window over every contact is one slow sort; lead_scores numbers the
    # rows of the sort it makes anyway (see _deciles).
    key = json.dumps([[r.model_dump(mode="json") for r in rules], str(as_of)], sort_keys=True)
    name = "_scores_" + hashlib.sha1(key.encode()).hexdigest()[:12]
    return eng.cached(
        name,
        f"""
        WITH s AS ({scored})
        SELECT p.contact_id,
               coalesce(p.persona, 'unassigned') AS persona,
               coalesce(p.segment, 'unassigned') AS segment,
               coalesce(p.icp, 'unassigned') AS icp,
               coalesce(s.score, 0.0) AS score,
               -- BIGINT, not the HUGEINT of a sum: that one reaches pandas as Python ints.
               coalesce(s.matched_events, 0)::BIGINT AS matched_events,
               coalesce(p.outcome, 'none') AS outcome,
               p.n::BIGINT AS n
        FROM ({people}) p
        LEFT JOIN s ON s.n = p.n
        WHERE p.contact_id IS NOT NULL
        """,
        params,
    )


def _deciles(score: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Deciles (1-10, 10 the highest) of scores sorted highest first; equal scores share one.

    Ten buckets of the contacts ranked by score, as SQL's ``ntile(10) OVER (ORDER BY
    score)`` makes them (sizes differ by at most one, the larger buckets first), except that
    every contact of a run of equal scores gets the bucket of the run's lowest place: its
    decile is that of the ``k + 1``-th contact, ``k`` the number scoring strictly lower.
    A score decides a contact's decile, never its id (a pseudonym, different in every
    workspace) nor the file's order. Without ties this is ``ntile`` exactly; with them some
    deciles hold more contacts and some none (ten contacts scoring 0, 0, 0, 10, 10, 10, 20,
    20, 30, 30 fall in deciles 1, 1, 1, 4, 4, 4, 7, 7, 9, 9). The lowest place of the run
    ``[start, end)`` of rows sorted highest first is ``n - end``.
    """
    import numpy as np

    n = len(score)
    if n == 0:
        return np.zeros(0, dtype="int64")
    i = np.arange(n)
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = score[1:] != score[:-1]
    last = np.empty(n, dtype=bool)
    last[-1] = True
    last[:-1] = new[1:]
    end = np.minimum.accumulate(np.where(last, i + 1, n)[::-1])[::-1]
    rank = n - end
    q, r = divmod(n, 10)
    big = r * (q + 1)  # the first r buckets hold q + 1 rows
    if q == 0:
        return (rank + 1).astype("int64")
    return np.where(rank < big, rank // (q + 1), r + (rank - big) // q).astype("int64") + 1


def _score_counts(eng: Engine, table: str, by: str | None, closed: bool) -> str:
    """SQL of the contacts per (group, score) of ``table``: ``g`` (``'all'`` without
    ``by``), ``score``, ``contacts``, ``won``, ``lost``; only won and lost contacts when
    ``closed``."""
    g = by if by else "'all'"
    where = "WHERE outcome IN ('won', 'lost')" if closed else ""
    return (
        f"SELECT {g} AS g, score, count(*) AS contacts, "
        "count(*) FILTER (WHERE outcome = 'won') AS won, "
        "count(*) FILTER (WHERE outcome = 'lost') AS lost "
        f"FROM {table} {where} GROUP BY ALL"
    )


def _mwu_p(u1: float, n1: int, n2: int, tie_term: float, ties: bool) -> float:
    """The two-sided p-value ``scipy.stats.mannwhitneyu(won, lost)`` gives for a U statistic
    ``u1`` (of the won side), ``n1`` won and ``n2`` lost, the ties' ``sum(t**3 - t)`` and
    whether any two scores are equal, as its ``method="auto"`` chooses: the normal
    approximation with tie and continuity corrections when both sides exceed 8 or any score
    is tied, else the exact distribution, taken from SciPy on two samples without ties that
    have the same U (the exact distribution depends on n1, n2 and U only)."""
    import numpy as np
    from scipy import special
    from scipy.stats import mannwhitneyu

    if (n1 > 8 and n2 > 8) or ties:
        u = max(u1, n1 * n2 - u1)
        n = n1 + n2
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
            z = (u - n1 * n2 / 2 - 0.5) / s
        return float(np.clip(2 * special.ndtr(-z), 0.0, 1.0))
    # Lost scores 1..n2; won score i just above k_i of them (sum of k_i = U), all distinct.
    lost = np.arange(1, n2 + 1, dtype=float)
    left, ks = round(u1), []
    for _ in range(n1):
        ks.append(min(n2, left))
        left -= ks[-1]
    won = np.array([k + 0.5 + i / (4 * n1) for i, k in enumerate(ks)])
    return float(mannwhitneyu(won, lost, alternative="two-sided", method="exact").pvalue)


@memo
def score_separation(ws: EngineLike, by: str | None = None, **kwargs: Any) -> pd.DataFrame:
    """How well the lead score separates won from lost contacts: the AUC.

    The AUC is the chance that a randomly chosen won contact scores higher than a randomly
    chosen lost one (ties count half): 0.5 is no better than a coin, 1 is perfect. It is
    the Mann-Whitney U statistic of the won scores over ``won x lost``, with U counted from
    the contacts per score: for every score, its won contacts times (the lost contacts
    scoring lower + half those scoring the same). Its two-sided p-value, which says whether
    the separation could be chance, is that of ``scipy.stats.mannwhitneyu`` (see
    :func:`_mwu_p`). Scores use every event, including those after the deal closed, as a
    CRM's live score does. Only a few numbers per group leave the engine: no contact's
    score is brought to Python (on Spark, none reaches the driver).

    Returns
    -------
    DataFrame
        One row (per group with ``by``). Columns: ``[by,] won, lost`` (int: contacts),
        ``auc, p_value, mean_score_won, mean_score_lost`` (float; NaN when either side has
        no contact), ``note`` (why the AUC is missing, else empty).
    """
    import numpy as np
    import pandas as pd

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    table = _scores_table(eng, kwargs.get("as_of"), kwargs.get("rules"))
    gcols = group_cols(by)
    g = by if by else "'all'"
    counts = eng.running_totals(
        f"{table}_closed_{by or 'all'}",
        _score_counts(eng, table, by, closed=True),
        ["g"],
        "score",
        ["lost"],
    )
    sums = eng.query(
        f"""
        SELECT g, sum(won)::BIGINT AS won, sum(lost)::BIGINT AS lost,
               sum(won * (lost_before + 0.5 * lost)) AS u,
               sum(pow(CAST(won + lost AS DOUBLE), 3) - (won + lost)) AS tie_term,
               max(won + lost) AS most_tied,
               sum(won * score) AS won_total, sum(lost * score) AS lost_total
        FROM {counts} GROUP BY g
        """
    )
    found = {row["g"]: row for row in sums.to_dict("records")}
    groups = sorted(eng.query(f"SELECT DISTINCT {g} AS g FROM {table}")["g"].tolist())
    rows = []
    for key in groups:
        got = found.get(key, {})
        n1, n2 = int(got.get("won", 0)), int(got.get("lost", 0))
        row: dict[str, Any] = {by: key} if by else {}
        row.update(won=n1, lost=n2, auc=np.nan, p_value=np.nan, note="")
        row["mean_score_won"] = float(got["won_total"]) / n1 if n1 else np.nan
        row["mean_score_lost"] = float(got["lost_total"]) / n2 if n2 else np.nan
        if n1 and n2:
            row["auc"] = float(got["u"]) / (n1 * n2)
            row["p_value"] = _mwu_p(
                float(got["u"]), n1, n2, float(got["tie_term"]), int(got["most_tied"]) > 1
            )
        else:
            row["note"] = "needs both won and lost contacts"
        rows.append(row)
    if not rows:
        rows.append(
            {
                "won": 0,
                "lost": 0,
                "auc": np.nan,
                "p_value": np.nan,
                "mean_score_won": np.nan,
                "mean_score_lost": np.nan,
                "note": "no contacts",
            }
        )
        if by:
            return empty([by, *SEPARATION_COLUMNS], {c: "float64" for c in SEPARATION_COLUMNS[2:6]})
    out = pd.DataFrame(rows)
    out[["won", "lost"]] = out[["won", "lost"]].astype("int64")
    return ordered(out, [*gcols, *SEPARATION_COLUMNS])


def _decile_sql(rank: str, n: int) -> str:
    """SQL of the decile (1-10) of the contacts scoring as one with ``rank`` contacts
    scoring lower, among ``n``: :func:`_deciles`' buckets, ``1 +`` the number of buckets
    2-10 whose first place (0-based, in order of score) is at or below ``rank`` (with
    fewer than ten contacts, one place a bucket: buckets past the last place start at
    ``n``, which no rank reaches)."""
    q, r = divmod(n, 10)
    starts = [j * (q + 1) if j < r else r * (q + 1) + (j - r) * q for j in range(1, 10)]
    return "1 + " + " + ".join(f"CASE WHEN {rank} >= {s} THEN 1 ELSE 0 END" for s in starts)


@memo
def score_deciles(ws: EngineLike, by: str | None = None, **kwargs: Any) -> pd.DataFrame:
    """Conversion by score decile (deciles of the whole population, 10 the highest).

    A contact's decile is that of :func:`lead_scores` (see :func:`_deciles`): it depends
    on the number of contacts scoring lower only, so the deciles are computed from the
    contacts per score and their running count in order of score
    (:meth:`Engine.running_totals`), and only the rows below leave the engine: no
    contact's score is brought to Python (on Spark, none reaches the driver).

    Returns
    -------
    DataFrame
        One row per (``[by,]`` decile) with contacts, lowest decile first. Columns: ``[by,]
        decile, contacts`` (int), ``min_score, max_score`` (float), ``won, lost`` (int),
        ``conversion`` (won / contacts), ``win_rate`` (won / (won + lost); NaN without a
        closed deal).
    """
    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    gcols = group_cols(by)
    table = _scores_table(eng, kwargs.get("as_of"), kwargs.get("rules"))
    n = int(eng.scalar(f"SELECT count(*) FROM {table}") or 0)
    ranks = eng.running_totals(
        f"{table}_ranks",
        f"SELECT score, count(*) AS contacts FROM {table} GROUP BY score",
        [],
        "score",
        ["contacts"],
    )
    gsel = f"s.g AS {by}, " if by else ""
    out = eng.query(
        f"""
        SELECT {gsel}{_decile_sql("k.contacts_before", n)} AS decile,
               sum(s.contacts)::BIGINT AS contacts, min(s.score) AS min_score,
               max(s.score) AS max_score, sum(s.won)::BIGINT AS won,
               sum(s.lost)::BIGINT AS lost
        FROM ({_score_counts(eng, table, by, closed=False)}) s
        JOIN {ranks} k ON k.score = s.score
        GROUP BY ALL
        """
    )
    keys = [*gcols, "decile"]
    out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    for col in ("decile", "contacts", "won", "lost"):
        out[col] = out[col].astype("int64")
    out["min_score"] = out["min_score"].astype("float64")
    out["max_score"] = out["max_score"].astype("float64")
    out["conversion"] = (out["won"] / out["contacts"]).astype("float64")
    closed = out["won"] + out["lost"]
    out["win_rate"] = (out["won"] / closed.where(closed > 0)).astype("float64")
    return ordered(out, [*gcols, *DECILE_COLUMNS])
