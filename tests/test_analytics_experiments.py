"""A/B tests: sample size, intervals, the z-test and the plain-language decision."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

import workbook.analytics as A
from workbook.analytics import Engine
from workbook.model import Experiment, Variant, Workspace


def engine_with(*experiments: Experiment) -> Engine:
    ws = Workspace.model_validate({"client": {"name": "Lab", "slug": "lab"}})
    ws.measurement.experiments = list(experiments)
    return Engine(None, ws)


def exp(a: tuple[int, int], b: tuple[int, int], **kw: object) -> Experiment:
    return Experiment(
        id=str(kw.pop("id", "e")),
        name="Test",
        status=kw.pop("status", "running"),
        variants=[
            Variant(id="control", name="Control", exposed=a[0], converted=a[1]),
            Variant(id="new", name="New", exposed=b[0], converted=b[1]),
        ],
        **kw,  # type: ignore[arg-type]
    )


def test_required_sample_size_matches_the_textbook_formula() -> None:
    # Per group n = 2 ((z_{1-a/2} + z_{power}) / h)^2 with Cohen's h = 2 asin(sqrt p2) -
    # 2 asin(sqrt p1): each arcsine-transformed rate has variance 1/n, their difference 2/n.
    h = 2 * math.asin(math.sqrt(0.15)) - 2 * math.asin(math.sqrt(0.10))
    n = 2 * ((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2
    assert A.required_sample_size(0.10, 0.05) == math.ceil(n)
    # Cohen's table: h = 0.2 needs 392 per group.
    p2 = math.sin(math.asin(math.sqrt(0.5)) + 0.1) ** 2
    assert A.required_sample_size(0.5, p2 - 0.5) == 393  # 392.4, rounded up
    assert A.required_sample_size(0.10, 0.10) < A.required_sample_size(0.10, 0.05)
    assert A.required_sample_size(0.98, 0.05) is None  # target above 100%
    assert A.required_sample_size(0.5, 0.0) is None


def test_a_clear_winner_is_rolled_out() -> None:
    eng = engine_with(exp((1000, 100), (1000, 150), min_effect=0.03))
    v = A.experiment_variants(eng).set_index("variant")
    assert v.loc["new", "rate"] == 0.15 and v.loc["new", "lift"] == pytest.approx(0.05)
    assert v.loc["control", "source"] == "workspace" and bool(v.loc["control", "is_control"])
    pooled = 250 / 2000
    z = 0.05 / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert v.loc["new", "p_value"] == pytest.approx(2 * norm.sf(z))
    assert v.loc["control", "ci_low"] < 0.1 < v.loc["control", "ci_high"]
    d = A.experiment_decisions(eng).iloc[0]
    assert d["decision"] == "roll out" and d["best_variant"] == "new"
    assert "15.0%" in d["reason"] and "10.0%" in d["reason"]


def test_a_small_undecided_test_keeps_testing() -> None:
    eng = engine_with(exp((60, 6), (60, 8)))
    d = A.experiment_decisions(eng).iloc[0]
    assert d["decision"] == "keep testing"
    assert d["smallest_group"] == 60 and d["required_per_variant"] > 60
    assert f"of the {d['required_per_variant']} contacts" in d["reason"]


def test_a_full_test_without_a_difference_stops() -> None:
    eng = engine_with(exp((400, 40), (400, 42), sample_size=800))
    d = A.experiment_decisions(eng).iloc[0]
    assert d["planned_per_variant"] == 400
    assert d["decision"] == "stop" and "keep the control" in d["reason"]


def test_a_worse_variant_stops() -> None:
    eng = engine_with(exp((1000, 150), (1000, 90)))
    d = A.experiment_decisions(eng).iloc[0]
    assert d["decision"] == "stop" and "control does better" in d["reason"]


def test_a_planned_test_gets_no_verdict_even_with_data() -> None:
    # The workspace says the test has not started: no roll-out or stop on its numbers, and a
    # nudge to update the status when the log already holds leads in its variants.
    eng = engine_with(exp((1000, 100), (1000, 150), status="planned", sample_size=400))
    d = A.experiment_decisions(eng).iloc[0]
    assert d["decision"] == "not started" and d["status"] == "planned"
    assert "plans 400 leads" in d["reason"] and "mark it as running" in d["reason"]
    assert A.experiment_variants(eng)["rate"].tolist() == [0.10, 0.15]  # the numbers stay


def test_experiments_without_counts_are_left_out() -> None:
    blank = Experiment(
        id="blank", name="Planned", variants=[Variant(id="a", name="A"), Variant(id="b", name="B")]
    )
    eng = engine_with(blank, exp((100, 10), (100, 20), id="real"))
    assert A.experiment_decisions(eng)["experiment"].tolist() == ["real"]
    assert A.experiment_variants(engine_with(blank)).empty


def test_zero_conversions_do_not_break_the_test() -> None:
    eng = engine_with(exp((50, 0), (50, 0)))
    v = A.experiment_variants(eng)
    assert v["rate"].tolist() == [0.0, 0.0]
    assert math.isnan(v["p_value"].iloc[1])
    assert A.experiment_decisions(eng).iloc[0]["decision"] == "keep testing"
