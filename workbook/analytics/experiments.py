"""A/B tests: rate per variant, confidence interval, significance, sample size, decision.

The statistics come from statsmodels: Wilson intervals (``proportion_confint``), a
two-sided two-proportion z-test (``proportions_ztest``) and the sample size per variant
from Cohen's h (``proportion_effectsize``) with ``NormalIndPower``.

Counts come from the ``exposed`` and ``converted`` numbers typed into the workspace when
every variant has them (the testing tool's numbers); otherwise from the event log's events
tagged with the experiment (a contact is *exposed* to a variant by any tagged event, and
*converts* with a tagged event whose action is not an exposure such as ``sent``, ``view``
or ``visit``). The first variant is the control.

The decision, in plain words:

- **keep testing** while the smaller group is below the planned sample (the experiment's
  ``sample_size`` split evenly or, without a plan, the sample needed to see the minimum
  effect at 80 % power and 5 % significance) and the difference is not yet significant;
- **roll out** the best variant when it beats the control significantly (p < 0.05);
- **stop** when the control is significantly better, or when the test has its full sample
  and no variant differs significantly: keep the control and test a bolder idea;
- **not started** while the workspace marks the test as planned, whatever the log holds.
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


@memo
def experiment_variants(ws: EngineLike, *, alpha: float = ALPHA) -> pd.DataFrame:
    """Rate per variant of every experiment, with its interval and test against the control.

    Returns
    -------
    DataFrame
        One row per variant with counts, in the workspace's order. Columns: ``experiment,
        experiment_name, variant, variant_name, is_control`` (bool), ``exposed,
        converted`` (int), ``rate`` (float), ``ci_low, ci_high`` (Wilson interval at
        ``1 - alpha``), ``lift`` (rate - control rate; 0 for the control), ``p_value``
        (two-proportion z-test against the control; NaN for the control or when it cannot
        be computed), ``source`` (``"events"`` or ``"workspace"``).
    """
    import numpy as np
    import pandas as pd
    from statsmodels.stats.proportion import proportion_confint, proportions_ztest

    eng = Engine.for_workspace(ws)
    measured = _counts(eng)
    rows: list[dict[str, Any]] = []
    for exp in eng.workspace.measurement.experiments:
        from_events = measured[measured["experiment"] == exp.id]
        # Counts the consultant typed (from the testing tool) win: the CRM may hold only
        # part of the exposures. Without them, the event log's counts.
        typed = bool(exp.variants) and all(
            v.exposed is not None and v.converted is not None for v in exp.variants
        )
        variants = []
        for v in exp.variants:
            hit = from_events[from_events["variant"] == v.id]
            if typed:
                n, k, source = int(v.exposed or 0), int(v.converted or 0), "workspace"
            elif len(from_events):
                n = int(hit["exposed"].sum())
                k = int(hit["converted"].sum())
                source = "events"
            else:
                continue
            variants.append((v, n, min(k, n), source))
        if not variants:
            continue
        control_n, control_k = variants[0][1], variants[0][2]
        for i, (v, n, k, source) in enumerate(variants):
            rate = k / n if n else np.nan
            lo, hi = (
                proportion_confint(k, n, alpha=alpha, method="wilson") if n else (np.nan, np.nan)
            )
            p_value = np.nan
            if i and n and control_n:
                pooled = (k + control_k) / (n + control_n)
                if 0 < pooled < 1:
                    _, p_value = proportions_ztest([k, control_k], [n, control_n])
            rows.append(
                {
                    "experiment": exp.id,
                    "experiment_name": exp.name,
                    "variant": v.id,
                    "variant_name": v.name,
                    "is_control": i == 0,
                    "exposed": n,
                    "converted": k,
                    "rate": rate,
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                    "lift": (rate - control_k / control_n) if n and control_n else np.nan,
                    "p_value": float(p_value),
                    "source": source,
                }
            )
    if not rows:
        return empty(
            VARIANT_COLUMNS,
            {
                "is_control": "bool",
                "exposed": "int64",
                "converted": "int64",
                **{c: "float64" for c in ("rate", "ci_low", "ci_high", "lift", "p_value")},
            },
        )
    out = pd.DataFrame(rows)
    return ordered(out, VARIANT_COLUMNS)


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
        control), ``min_effect`` (the experiment's, else :data:`DEFAULT_MIN_EFFECT`),
        ``required_per_variant`` (int: what the power calculation asks; 0 when it cannot
        be computed), ``planned_per_variant`` (int: the experiment's planned sample split
        evenly, 0 without a plan; when set it decides when the test is done), ``smallest_group``
        (int), ``decision`` (``"roll out"``, ``"keep testing"``, ``"stop"`` or
        ``"not started"``),
        ``reason`` (one sentence).
    """
    import numpy as np
    import pandas as pd

    eng = Engine.for_workspace(ws)
    # The same call as a caller without options makes, so the per-engine answer is reused.
    variants = experiment_variants(eng) if alpha == ALPHA else experiment_variants(eng, alpha=alpha)
    rows = []
    for exp in eng.workspace.measurement.experiments:
        part = variants[variants["experiment"] == exp.id]
        if part.empty:
            continue
        control = part.iloc[0]
        others = part.iloc[1:]
        min_effect = exp.min_effect or DEFAULT_MIN_EFFECT
        required = required_sample_size(
            float(control["rate"]), min_effect, alpha=alpha, power=power
        )
        # The sample the consultant planned (split evenly) decides when the test has
        # answered; without a plan, the power calculation does.
        planned = int(math.ceil(exp.sample_size / len(part))) if exp.sample_size else 0
        target = planned or required
        smallest = int(part["exposed"].min())
        if others.empty:
            best = control
        else:
            best = others.sort_values(["rate", "variant"], ascending=[False, True]).iloc[0]
        p = float(best["p_value"]) if len(others) else np.nan
        lift = float(best["rate"] - control["rate"]) if len(others) else np.nan
        enough = target is not None and smallest >= target
        if exp.status == "planned":
            # No verdict on a test the workspace says has not started, whatever the log holds.
            decision = "not started"
            reason = "planned, so no decision yet" + (
                f" (it plans {exp.sample_size:,} leads)" if exp.sample_size else ""
            )
            if smallest > 0:
                reason += "; the CRM already records leads in every variant: mark it as running"
        elif others.empty:
            decision, reason = "keep testing", "only one variant has data: add a second to compare"
        elif p < alpha and lift > 0:
            decision = "roll out"
            reason = (
                f"{best['variant_name']} converts {best['rate']:.1%} against {control['rate']:.1%} "
                f"(p = {p:.3f}): roll it out"
            )
        elif p < alpha and lift < 0:
            decision = "stop"
            reason = (
                f"the control does better ({control['rate']:.1%} against "
                f"{best['rate']:.1%}, p = {p:.3f}): keep it"
            )
        elif enough:
            decision = "stop"
            reason = (
                f"after {smallest} contacts per variant no difference stands out (p = {p:.2f}): "
                "keep the control and test a bolder change"
            )
        else:
            decision = "keep testing"
            need = f"{target}" if target else "more"
            reason = (
                f"{smallest} of the {need} contacts per variant needed "
                f"to see a {min_effect:.0%} lift"
            )
        rows.append(
            {
                "experiment": exp.id,
                "experiment_name": exp.name,
                "status": exp.status,
                "control": control["variant"],
                "best_variant": best["variant"],
                "control_rate": float(control["rate"]),
                "best_rate": float(best["rate"]),
                "lift": lift,
                "p_value": p,
                "min_effect": float(min_effect),
                "required_per_variant": int(required or 0),
                "planned_per_variant": planned,
                "smallest_group": smallest,
                "decision": decision,
                "reason": reason,
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
