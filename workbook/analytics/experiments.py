"""A/B tests: rate per variant, confidence interval, significance, sample size, decision.

The statistics come from statsmodels: Wilson intervals (``proportion_confint``), a
two-sided two-proportion z-test (``proportions_ztest``) and the sample size per variant
from Cohen's h (``proportion_effectsize``) with ``NormalIndPower``.

Counts come from two places: the ``exposed`` and ``converted`` numbers typed into the
workspace (the testing tool's numbers, used when every variant has both), and the event
log's events tagged with the experiment (a contact is *exposed* to a variant by any tagged
event, and *converts* with a tagged event whose action is not an exposure such as ``sent``,
``view`` or ``visit``). Both are shown side by side. The verdict uses the fuller record: the
source with more leads in all its variants (the event log on a tie), or the only one there
is. The other source's verdict is worked out too, and a warning says when the two disagree:
another verdict, or a variant whose rate in one lies outside the other's confidence
interval. The first variant is the control.

The decision, in plain words (lifts are differences of rates, in percentage points):

- **keep testing** while the smaller group is below the sample the test needs (per variant,
  to see the experiment's minimum lift over the control's rate at the given significance
  and power, :func:`required_sample_size`; the planned ``sample_size`` is shown, not used)
  and the difference is not yet significant;
- **roll out** the best variant when it beats the control significantly (p < alpha);
- **stop** when the control is significantly better, or when the test has the sample it
  needs and no variant differs significantly: keep the control and test a bolder idea;
- **not started** while the workspace marks the test as planned, whatever the log holds.

p-values below 0.001 are written "p < 0.001".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from workbook.analytics._common import empty, ordered, rollup
from workbook.analytics.engine import Engine, EngineLike, memo
from workbook.crm import actions

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ALPHA",
    "DECISION_COLUMNS",
    "DEFAULT_MIN_EFFECT",
    "POWER",
    "VARIANT_COLUMNS",
    "experiment_decisions",
    "experiment_variants",
    "required_sample_size",
]

ALPHA = 0.05
POWER = 0.8
#: Minimum absolute lift a test should detect when the experiment does not say.
DEFAULT_MIN_EFFECT = 0.05
#: Actions that show a variant without being the conversion being tested (defined with the
#: canonical tables, as the import rolls experiment counts up with them).
EXPOSURE_ACTIONS = actions.EXPOSURE_ACTIONS

VARIANT_COLUMNS = [
    "experiment",
    "experiment_name",
    "variant",
    "variant_name",
    "is_control",
    "exposed",
    "converted",
    "rate",
    "ci_low",
    "ci_high",
    "lift",
    "p_value",
    "source",
    "log_exposed",
    "log_converted",
    "log_rate",
    "typed_exposed",
    "typed_converted",
    "typed_rate",
]
DECISION_COLUMNS = [
    "experiment",
    "experiment_name",
    "status",
    "control",
    "best_variant",
    "control_rate",
    "best_rate",
    "lift",
    "p_value",
    "min_effect",
    "required_per_variant",
    "planned_per_variant",
    "smallest_group",
    "decision",
    "reason",
    "source",
    "source_reason",
    "other_decision",
    "warning",
]


def required_sample_size(
    base_rate: float, min_effect: float, *, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Contacts needed in each variant to detect ``base_rate`` -> ``base_rate + min_effect``.

    Two-sided test at ``alpha`` with ``power``, equal groups. ``None`` when the target rate
    would leave 0-1 or the effect is zero.
    """
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    target = base_rate + min_effect
    if min_effect <= 0 or not 0 <= base_rate <= 1 or not 0 < target < 1:
        return None
    h = abs(float(proportion_effectsize(target, base_rate)))
    if h == 0:
        return None
    n = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=1.0)
    return int(math.ceil(float(n)))


def _counts(eng: Engine) -> pd.DataFrame:
    # Counted at import (the experiment_counts rollup): no scan of the event log here.
    return eng.query(
        f"SELECT experiment, variant, exposed, converted FROM {rollup(eng, 'experiment_counts')}"
    )


#: How each source of counts is named in sentences.
_SOURCE_NAMES = {"events": "the event log", "workspace": "the typed counts"}

Counts = list[tuple[Any, int, int]]


def _variant_stats(counts: Counts, alpha: float) -> list[dict[str, float]]:
    """Rate, Wilson interval, lift and z-test p-value against the first variant, per variant."""
    import numpy as np
    from statsmodels.stats.proportion import proportion_confint, proportions_ztest

    control_n, control_k = counts[0][1], counts[0][2]
    out = []
    for i, (_, n, k) in enumerate(counts):
        rate = k / n if n else np.nan
        lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson") if n else (np.nan, np.nan)
        p_value = np.nan
        if i and n and control_n:
            pooled = (k + control_k) / (n + control_n)
            if 0 < pooled < 1:
                _, p_value = proportions_ztest([k, control_k], [n, control_n])
        out.append(
            {
                "rate": float(rate),
                "ci_low": float(lo),
                "ci_high": float(hi),
                "lift": (rate - control_k / control_n) if n and control_n else np.nan,
                "p_value": float(p_value),
            }
        )
    return out


def _p_text(p: float) -> str:
    """A p-value as people read it: "p < 0.001", "p = 0.043"; empty when there is none."""
    if p != p:  # NaN
        return ""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _points(value: float) -> str:
    """A difference of two rates in percentage points: 0.045 -> "4.5 points"."""
    return f"{abs(value) * 100:.1f} points"


def _effect(min_effect: float) -> str:
    """The lift a test should detect, as a compound adjective: 0.04 -> "4-point"."""
    text = f"{min_effect * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}-point"


def _decide(
    exp: Any, counts: Counts, stats: list[dict[str, float]], alpha: float, power: float
) -> dict[str, Any]:
    """The verdict on one set of counts (see the module docstring for the rules)."""
    import numpy as np

    control = stats[0]
    names = [v.name for v, _, _ in counts]
    ids = [v.id for v, _, _ in counts]
    min_effect = exp.min_effect or DEFAULT_MIN_EFFECT
    control_rate = control["rate"]
    required = (
        required_sample_size(control_rate, min_effect, alpha=alpha, power=power)
        if control_rate == control_rate
        else None
    )
    planned = int(math.ceil(exp.sample_size / len(counts))) if exp.sample_size else 0
    smallest = min(n for _, n, _ in counts)
    best_i = 0
    if len(counts) > 1:
        # The best rate among the variants (ties: the first id), NaN rates last.
        order = sorted(
            range(1, len(counts)),
            key=lambda i: (stats[i]["rate"] != stats[i]["rate"], -stats[i]["rate"], ids[i]),
        )
        best_i = order[0]
    best = stats[best_i]
    p = best["p_value"] if best_i else np.nan
    lift = best["rate"] - control_rate if best_i else np.nan
    effect = _effect(min_effect)
    p_text = _p_text(p)
    if exp.status == "planned":
        # No verdict on a test the workspace says has not started, whatever the log holds.
        decision = "not started"
        reason = "planned, so no decision yet" + (
            f" (it plans {exp.sample_size:,} leads)" if exp.sample_size else ""
        )
        if smallest > 0:
            reason += "; the CRM already records leads in every variant: mark it as running"
    elif len(counts) == 1:
        decision, reason = "keep testing", "only one variant has data: add a second to compare"
    elif p < alpha and lift > 0:
        decision = "roll out"
        reason = (
            f"{names[best_i]} converts {best['rate']:.1%} against {control_rate:.1%}, "
            f"{_points(lift)} more ({p_text}): roll it out"
        )
    elif p < alpha and lift < 0:
        decision = "stop"
        reason = (
            f"the control does better ({control_rate:.1%} against {best['rate']:.1%}, "
            f"{_points(lift)} ahead, {p_text}): keep it"
        )
    elif required is not None and smallest >= required:
        decision = "stop"
        reason = (
            f"after {smallest:,} contacts per variant (the {required:,} needed to see a "
            f"{effect} lift) no difference stands out"
            + (f" ({p_text})" if p_text else "")
            + ": keep the control and test a bolder change"
        )
    else:
        decision = "keep testing"
        if required is None:
            reason = (
                f"{smallest:,} contacts per variant so far; the sample needed to see a "
                f"{effect} lift cannot be worked out from a {control_rate:.1%} control rate"
            )
        else:
            reason = (
                f"{smallest:,} of the {required:,} contacts per variant needed to see a "
                f"{effect} lift"
            )
            if planned and planned < required:
                reason += f"; the planned {planned:,} per variant would be too few"
    return {
        "control": ids[0],
        "best_variant": ids[best_i],
        "control_rate": float(control_rate),
        "best_rate": float(best["rate"]),
        "lift": float(lift),
        "p_value": float(p),
        "min_effect": float(min_effect),
        "required_per_variant": int(required or 0),
        "planned_per_variant": planned,
        "smallest_group": smallest,
        "decision": decision,
        "reason": reason,
    }


def _sources(exp: Any, measured: pd.DataFrame) -> tuple[Counts | None, Counts | None]:
    """(counts from the event log, counts typed in the workspace) of one experiment, each
    ``None`` when that source has nothing for it."""
    from_events = measured[measured["experiment"] == exp.id]
    log: Counts | None = None
    if len(from_events):
        log = []
        for v in exp.variants:
            hit = from_events[from_events["variant"] == v.id]
            n, k = int(hit["exposed"].sum()), int(hit["converted"].sum())
            log.append((v, n, min(k, n)))
    typed: Counts | None = None
    if exp.variants and all(
        v.exposed is not None and v.converted is not None for v in exp.variants
    ):
        typed = [(v, int(v.exposed), min(int(v.converted), int(v.exposed))) for v in exp.variants]
    return log, typed


def _choose(log: Counts | None, typed: Counts | None) -> tuple[str, str]:
    """Which counts the verdict uses, and the sentence that says why: the fuller record."""
    if log is not None and typed is not None:
        n_log, n_typed = sum(n for _, n, _ in log), sum(n for _, n, _ in typed)
        if n_log >= n_typed:
            return "events", (
                f"The verdict uses the event log: it records {n_log:,} leads against "
                f"{n_typed:,} typed, so it is the fuller record."
            )
        return "workspace", (
            f"The verdict uses the typed counts: they hold {n_typed:,} leads against "
            f"{n_log:,} in the event log, so they are the fuller record."
        )
    if log is not None:
        return "events", "The verdict uses the event log; no counts are typed for this test."
    return "workspace", (
        "The verdict uses the typed counts; the event log holds nothing for this test."
    )


@memo
def experiment_variants(ws: EngineLike, *, alpha: float = ALPHA) -> pd.DataFrame:
    """Rate per variant of every experiment, with its interval and test against the control.

    Returns
    -------
    DataFrame
        One row per variant with counts, in the workspace's order. Columns: ``experiment,
        experiment_name, variant, variant_name, is_control`` (bool), ``exposed,
        converted`` (int: the counts the verdict uses, see ``source``), ``rate`` (float),
        ``ci_low, ci_high`` (Wilson interval at ``1 - alpha``), ``lift`` (rate - control
        rate, a difference in rate points; 0 for the control), ``p_value`` (two-sided
        two-proportion z-test against the control; NaN for the control or when it cannot be
        computed), ``source`` (``"events"``: the event log, or ``"workspace"``: the typed
        counts), then both sources side by side: ``log_exposed, log_converted, log_rate``
        and ``typed_exposed, typed_converted, typed_rate`` (nullable ints and floats, missing
        where that source has nothing).
    """
    import numpy as np
    import pandas as pd

    eng = Engine.for_workspace(ws)
    measured = _counts(eng)
    rows: list[dict[str, Any]] = []
    for exp in eng.workspace.measurement.experiments:
        log, typed = _sources(exp, measured)
        if log is None and typed is None:
            continue
        source, _ = _choose(log, typed)
        used = log if source == "events" else typed
        assert used is not None
        stats = _variant_stats(used, alpha)
        for i, ((v, n, k), st) in enumerate(zip(used, stats, strict=True)):
            side: dict[str, Any] = {}
            for prefix, counts in (("log", log), ("typed", typed)):
                if counts is None:
                    side.update({f"{prefix}_exposed": pd.NA, f"{prefix}_converted": pd.NA})
                    side[f"{prefix}_rate"] = np.nan
                else:
                    _, cn, ck = counts[i]
                    side.update({f"{prefix}_exposed": cn, f"{prefix}_converted": ck})
                    side[f"{prefix}_rate"] = ck / cn if cn else np.nan
            rows.append(
                {
                    "experiment": exp.id,
                    "experiment_name": exp.name,
                    "variant": v.id,
                    "variant_name": v.name,
                    "is_control": i == 0,
                    "exposed": n,
                    "converted": k,
                    **st,
                    "source": source,
                    **side,
                }
            )
    dtypes = {
        "is_control": "bool",
        "exposed": "int64",
        "converted": "int64",
        **{c: "float64" for c in ("rate", "ci_low", "ci_high", "lift", "p_value")},
        **{f"{p}_{c}": "Int64" for p in ("log", "typed") for c in ("exposed", "converted")},
        "log_rate": "float64",
        "typed_rate": "float64",
    }
    if not rows:
        return empty(VARIANT_COLUMNS, dtypes)
    return ordered(pd.DataFrame(rows).astype(dtypes), VARIANT_COLUMNS)


def _disagreement(
    source: str,
    other: str,
    decision: str,
    other_decision: str,
    part: pd.DataFrame,
    alpha: float,
) -> str:
    """A warning when the two sources give another verdict or rates beyond the interval."""
    prefix = "typed" if other == "workspace" else "log"
    plural = other == "workspace"
    problems = []
    if other_decision != decision:
        problems.append(f"{'they say' if plural else 'it says'} {other_decision}")
    used_name = _SOURCE_NAMES[source]
    for r in part.itertuples():
        rate = getattr(r, f"{prefix}_rate")
        if rate != rate or r.ci_low != r.ci_low:
            continue
        if not r.ci_low <= rate <= r.ci_high:
            problems.append(
                f"{r.variant_name} converts {rate:.1%} there, outside {used_name}'s "
                f"{1 - alpha:.0%} interval ({r.ci_low:.1%} to {r.ci_high:.1%})"
            )
    if not problems:
        return ""
    other_name = _SOURCE_NAMES[other]
    verb = "disagree with" if plural else "disagrees with"
    return (
        f"{other_name[:1].upper()}{other_name[1:]} {verb} {used_name}: "
        + "; ".join(problems)
        + ". Check that both count the same leads and the same conversion."
    )


@memo
def experiment_decisions(
    ws: EngineLike, *, alpha: float = ALPHA, power: float = POWER
) -> pd.DataFrame:
    """One decision per experiment: roll out, keep testing, or stop, and why.

    Returns
    -------
    DataFrame
        One row per experiment with counts. Columns: ``experiment, experiment_name,
        status`` (as typed in the workspace), ``control, best_variant`` (ids),
        ``control_rate, best_rate, lift, p_value`` (float; the best variant against the
        control; ``lift`` in rate points), ``min_effect`` (the experiment's, else
        :data:`DEFAULT_MIN_EFFECT`), ``required_per_variant`` (int: the sample each variant
        needs to see ``min_effect`` over the control's rate at ``alpha`` and ``power``,
        :func:`required_sample_size`; it decides when the test has answered; 0 when it
        cannot be computed), ``planned_per_variant`` (int: the experiment's planned sample
        split evenly, for information; 0 without a plan), ``smallest_group`` (int),
        ``decision`` (``"roll out"``, ``"keep testing"``, ``"stop"`` or ``"not started"``),
        ``reason`` (one sentence), ``source`` (the counts the verdict uses: ``"events"`` or
        ``"workspace"``), ``source_reason`` (one sentence: which and why),
        ``other_decision`` (the verdict the other source's counts give; empty when there
        are none) and ``warning`` (one sentence when the sources give different verdicts or
        a rate of one lies outside the other's interval; empty otherwise).
    """
    import pandas as pd

    eng = Engine.for_workspace(ws)
    # The same call as a caller without options makes, so the per-engine answer is reused.
    variants = experiment_variants(eng) if alpha == ALPHA else experiment_variants(eng, alpha=alpha)
    measured = _counts(eng)
    rows = []
    for exp in eng.workspace.measurement.experiments:
        part = variants[variants["experiment"] == exp.id]
        if part.empty:
            continue
        log, typed = _sources(exp, measured)
        source, source_reason = _choose(log, typed)
        used, other_counts = (log, typed) if source == "events" else (typed, log)
        assert used is not None
        verdict = _decide(exp, used, _variant_stats(used, alpha), alpha, power)
        other_decision, warning = "", ""
        if other_counts is not None:
            other = "workspace" if source == "events" else "events"
            other_verdict = _decide(
                exp, other_counts, _variant_stats(other_counts, alpha), alpha, power
            )
            other_decision = str(other_verdict["decision"])
            warning = _disagreement(
                source, other, str(verdict["decision"]), other_decision, part, alpha
            )
        rows.append(
            {
                "experiment": exp.id,
                "experiment_name": exp.name,
                "status": exp.status,
                **verdict,
                "source": source,
                "source_reason": source_reason,
                "other_decision": other_decision,
                "warning": warning,
            }
        )
    if not rows:
        return empty(
            DECISION_COLUMNS,
            {
                **{
                    c: "float64"
                    for c in ("control_rate", "best_rate", "lift", "p_value", "min_effect")
                },
                "required_per_variant": "int64",
                "planned_per_variant": "int64",
                "smallest_group": "int64",
            },
        )
    return ordered(pd.DataFrame(rows), DECISION_COLUMNS)
