"""Attribution of won deals to touchpoints: four rules and a Markov-chain model.

The unit is a *won contact*: a contact with at least one won deal counts as one conversion,
whatever the number of its won deals. Its journey is its touches in time order (ties broken
by ``seq``, then touchpoint id) up to the close of its first won deal; messages ``sent`` are
not touches (the contact did nothing yet). Contacts without any touch cannot be attributed
and are left out of every model.

The Markov model is the standard first-order removal-effect model (Anderl, Becker,
von Wangenheim & Schumann 2016; what ChannelAttribution's ``markov_model`` computes with
``order=1``): every journey, won or not, is a path ``(start) > touchpoints > (conversion)``
or ``> (null)``; the counted transitions make an absorbing Markov chain. A touchpoint's
removal effect is ``1 - P(conversion without it) / P(conversion)``, where removing it sends
every transition into it to ``(null)``; all conversions are shared in proportion to the
removal effects. The chain is solved exactly by linear algebra (ChannelAttribution
estimates the same numbers by simulation). Two touches of one touchpoint in a row are a
self-loop, kept as ChannelAttribution's ``transition_matrix`` keeps them by default; a
self-loop only delays leaving a state, so dropping them would give the same credit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbook.analytics._common import empty, group_cols, group_expr, ordered, rollup
from workbook.analytics.engine import Engine, EngineLike, memo

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "ATTRIBUTION_COLUMNS",
    "MODELS",
    "REMOVAL_COLUMNS",
    "attribution",
    "markov_credit",
    "markov_removal_effects",
    "removal_effects",
]

#: Attribution models, in the order they are reported.
MODELS = ("first_touch", "last_touch", "linear", "position_based", "markov")

ATTRIBUTION_COLUMNS = ["touchpoint", "touchpoint_name", "model", "conversions", "share"]
REMOVAL_COLUMNS = [
    "touchpoint",
    "touchpoint_name",
    "removal_effect",
    "conversion_without",
    "conversion_base",
]

_START, _CONV, _NULL = "(start)", "(conversion)", "(null)"


@memo
def attribution(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Credit for won contacts, per touchpoint, under five models.

    - ``first_touch``: all credit to the first touch of the journey.
    - ``last_touch``: all credit to the last touch before the win.
    - ``linear``: equal credit to every touch (a touchpoint used twice gets two shares).
    - ``position_based``: 40 % to the first touch, 40 % to the last, 20 % shared by the
      touches in between; a one-touch journey gives it all to that touch, a two-touch
      journey half to each.
    - ``markov``: first-order Markov removal effect (see the module docstring): the won
      contacts of the group are shared among all touchpoints in proportion to their removal
      effects, ``conversions * RE_i / sum(RE)`` (:func:`removal_effects` gives the effects).
      A touchpoint used only by contacts who did not win can get credit when it leads into
      paths that convert; each model's credits add up to the number of won contacts.

    Returns
    -------
    DataFrame
        One row per (``[by,]`` touchpoint, model) for every touchpoint on a winner's journey
        or with Markov credit, 0 credit where a model gives none. Columns: ``[by,]
        touchpoint, touchpoint_name, model`` (one of :data:`MODELS`), ``conversions``
        (float: credited won contacts), ``share`` (conversions / won contacts of the
        group). Empty without won contacts.
    """
    import pandas as pd

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    j = rollup(eng, "journey_touchpoints")
    g = group_expr(by, "j")
    # The journey_touchpoints rollup holds each rule's credit summed per group, outcome and
    # touchpoint (computed at import from every journey): add up the groups asked for.
    rules = eng.query(
        f"""
        SELECT {g} AS _g, j.touchpoint,
               sum(j.first_touch) AS first_touch, sum(j.last_touch) AS last_touch,
               sum(j.linear) AS linear, sum(j.position_based) AS position_based
        FROM {j} j
        WHERE j.outcome = 'won' AND j.contacts > 0
        GROUP BY ALL
        """
    )
    cols = [*group_cols(by), *ATTRIBUTION_COLUMNS]
    if rules.empty:
        return empty(cols, {"conversions": "float64", "share": "float64"})
    long = rules.melt(id_vars=["_g", "touchpoint"], var_name="model", value_name="conversions")
    markov = _markov_credit(eng, by)
    out = pd.concat([long, markov], ignore_index=True)
    # Every journey has one first touch: the first-touch credits count the won journeys.
    won = eng.query(
        f"""
        SELECT {g} AS _g, CAST(round(sum(j.first_touch)) AS BIGINT) AS won
        FROM {j} j
        WHERE j.outcome = 'won' AND j.contacts > 0 GROUP BY ALL
        """
    )
    # Every touchpoint of the group under every model, zero where a model gives none.
    grid = (
        out[["_g", "touchpoint"]]
        .drop_duplicates()
        .merge(pd.DataFrame({"model": list(MODELS)}), how="cross")
    )
    out = grid.merge(out, on=["_g", "touchpoint", "model"], how="left").merge(won, on="_g")
    out["conversions"] = out["conversions"].fillna(0.0).astype("float64")
    out["share"] = (out["conversions"] / out["won"]).astype("float64")
    out = _names(eng, out)
    out["_m"] = out["model"].map({m: i for i, m in enumerate(MODELS)})
    out = out.sort_values(
        ["_g", "_m", "conversions", "touchpoint"], ascending=[True, True, False, True]
    )
    if by:
        out = out.rename(columns={"_g": by})
    return ordered(out, cols)


def _names(eng: Engine, frame: pd.DataFrame) -> pd.DataFrame:
    names = eng.query("SELECT touchpoint, touchpoint_name FROM touchpoints")
    out = frame.merge(names, on="touchpoint", how="left")
    out["touchpoint_name"] = out["touchpoint_name"].fillna(out["touchpoint"])
    return out


def _transition_counts(eng: Engine, by: str | None) -> pd.DataFrame:
    """Counted transitions (start -> first touch -> ... -> conversion or null) per group."""
    t = rollup(eng, "journey_transitions")
    return eng.query(
        f"""
        SELECT {group_expr(by, "t")} AS _g, t.from_state, t.to_state, sum(t.n)::BIGINT AS n
        FROM {t} t
        GROUP BY ALL
        """
    )


def markov_removal_effects(
    counts: pd.DataFrame,
) -> tuple[float, dict[str, float], dict[str, float]]:
    """Removal effects of an absorbing Markov chain given counted transitions.

    Parameters
    ----------
    counts
        Columns ``from_state, to_state, n``; states ``"(start)"``, ``"(conversion)"``,
        ``"(null)"`` and touchpoint ids.

    Returns
    -------
    tuple
        ``(p_base, effects, p_without)``: the probability of reaching conversion from start;
        per touchpoint, ``1 - p_without / p_base`` (0 when ``p_base`` is 0); and the
        probability of conversion when the touchpoint is removed (every transition into it
        goes to null instead).
    """
    import numpy as np

    touch = sorted((set(counts["from_state"]) | set(counts["to_state"])) - {_START, _CONV, _NULL})
    transient = [_START, *touch]
    index = {s: i for i, s in enumerate(transient)}
    m = len(transient)
    q = np.zeros((m, m))
    r = np.zeros((m, 2))
    for f, t, n in counts[["from_state", "to_state", "n"]].itertuples(index=False):
        if t == _CONV:
            r[index[f], 0] += n
        elif t == _NULL:
            r[index[f], 1] += n
        else:
            q[index[f], index[t]] += n
    totals = q.sum(axis=1) + r.sum(axis=1)
    # A state never left (cannot happen with whole journeys) is treated as going to null.
    r[totals == 0, 1] = 1.0
    totals[totals == 0] = 1.0
    q /= totals[:, None]
    r /= totals[:, None]

    def p_conv(qq: np.ndarray[Any, Any], rr: np.ndarray[Any, Any]) -> float:
        b = np.linalg.solve(np.eye(m) - qq, rr[:, 0])
        return float(b[0])

    base = p_conv(q, r)
    effects: dict[str, float] = {}
    without: dict[str, float] = {}
    for tp in touch:
        k = index[tp]
        qk, rk = q.copy(), r.copy()
        qk[k, :] = 0.0
        rk[k, :] = (0.0, 1.0)
        pk = p_conv(qk, rk)
        without[tp] = pk
        effects[tp] = 0.0 if base <= 0 else max(0.0, 1.0 - pk / base)
    return base, effects, without


@memo
def removal_effects(ws: EngineLike, by: str | None = None) -> pd.DataFrame:
    """Markov removal effect of every touchpoint on any journey (won or not).

    Returns
    -------
    DataFrame
        One row per (``[by,]`` touchpoint), largest effect first. Columns: ``[by,]
        touchpoint, touchpoint_name, removal_effect`` (share of conversions lost without
        it, 0-1), ``conversion_without`` (probability of converting without it),
        ``conversion_base`` (probability of converting with every touchpoint).
    """
    import pandas as pd

    eng = Engine.for_workspace(ws)
    by = eng.check_by(by)
    counts = _transition_counts(eng, by)
    cols = [*group_cols(by), *REMOVAL_COLUMNS]
    rows = []
    for gval, part in counts.groupby("_g", sort=True):
        base, effects, without = markov_removal_effects(part)
        for tp, eff in effects.items():
            rows.append((gval, tp, eff, without[tp], base))
    if not rows:
        return empty(cols, {c: "float64" for c in REMOVAL_COLUMNS[2:]})
    out = pd.DataFrame(rows, columns=["_g", "touchpoint", *REMOVAL_COLUMNS[2:]])
    out = _names(eng, out).sort_values(
        ["_g", "removal_effect", "touchpoint"], ascending=[True, False, True]
    )
    if by:
        out = out.rename(columns={"_g": by})
    return ordered(out, cols)


def markov_credit(counts: pd.DataFrame) -> dict[str, float]:
    """All conversions of one chain shared in proportion to the removal effects.

    ``credit_i = conversions * RE_i / sum_j RE_j``, where ``conversions`` are the counted
    transitions into ``(conversion)`` (:func:`markov_removal_effects` for ``counts``). The
    sum runs over the touchpoints in sorted order with :func:`math.fsum` (exactly rounded),
    so the credit is the same to the last digit whatever order the counts come in.
    Touchpoints with no effect are left out; empty when nothing converts.
    """
    import math

    conv = counts.loc[counts["to_state"] == _CONV, "n"]
    conversions = int(conv.sum()) if len(conv) else 0
    if conversions == 0:
        return {}
    _, effects, _ = markov_removal_effects(counts)
    touch = sorted(effects)
    total = math.fsum(effects[t] for t in touch)
    if total <= 0:
        return {}
    return {t: conversions * effects[t] / total for t in touch if effects[t] > 0}


def _markov_credit(eng: Engine, by: str | None) -> pd.DataFrame:
    """Markov credit per group: columns _g, touchpoint, model, conversions."""
    import pandas as pd

    counts = _transition_counts(eng, by)
    rows: list[tuple[Any, str, str, float]] = []
    for gval, part in counts.groupby("_g", sort=True):
        rows.extend((gval, tp, "markov", c) for tp, c in markov_credit(part).items())
    return pd.DataFrame(rows, columns=["_g", "touchpoint", "model", "conversions"]).astype(
        {"_g": object, "touchpoint": object, "model": object, "conversions": "float64"}
    )
