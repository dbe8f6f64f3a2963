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
    # 10% control, 5-point lift: 681 per variant needed; 800 each is enough.
    eng = engine_with(exp((800, 80), (800, 82), sample_size=1600))
    d = A.experiment_decisions(eng).iloc[0]
    assert d["planned_per_variant"] == 800 and d["required_per_variant"] == 681
    assert d["decision"] == "stop" and "keep the control" in d["reason"]
    # The plan's 400 per variant is not the sample the test needs: it keeps testing.
    short = A.experiment_decisions(engine_with(exp((400, 40), (400, 42), sample_size=800)))
    assert short.iloc[0]["decision"] == "keep testing"
    assert "the planned 400 per variant would be too few" in short.iloc[0]["reason"]


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


# ------------------------------------------------- typed counts against the event log


def _z_test(n0: int, k0: int, n1: int, k1: int) -> float:
    """Two-sided pooled two-proportion z-test, by hand."""
    pooled = (k0 + k1) / (n0 + n1)
    z = (k1 / n1 - k0 / n0) / math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    return float(2 * norm.sf(abs(z)))


def _textbook_n(p1: float, effect: float) -> int:
    h = 2 * math.asin(math.sqrt(p1 + effect)) - 2 * math.asin(math.sqrt(p1))
    return math.ceil(2 * ((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2)


def logged(folder: object, experiment: Experiment, log: dict[str, tuple[int, int]]) -> Engine:
    """A workspace whose event log shows each variant to ``n`` contacts, ``k`` of whom
    convert (a ``view`` then a ``submit`` tagged with the experiment and variant)."""
    from pathlib import Path

    import pandas as pd

    from workbook.crm.storage import write_canonical
    from workbook.store import new_workspace

    ws = new_workspace("Lab", directory=Path(str(folder)))
    ws.data.measurement.experiments = [experiment]
    ws.save()
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    rows = []
    for variant, (n, k) in log.items():
        for i in range(n):
            cid = f"c{variant}{i:05d}"
            rows.append((cid, t0, 0, "touch", "view", experiment.id, variant))
            if i < k:
                rows.append(
                    (cid, t0 + pd.Timedelta(hours=1), 1, "touch", "submit", experiment.id, variant)
                )
    events = pd.DataFrame(
        rows, columns=["contact_id", "ts", "seq", "kind", "action", "experiment", "variant"]
    )
    write_canonical(ws.path, "log", None, events, None)
    return Engine.for_workspace(ws.path)


PRICING_LOG = {"control": (1545, 214), "new": (1473, 271)}


def test_both_counts_side_by_side_and_the_fuller_record_decides(tmp_path: object) -> None:
    # The demo's pricing test: typed 5 of 64 against 7 of 58, the log 214 of 1,545 against
    # 271 of 1,473. The log holds 3,018 leads, the typed counts 122: the log decides.
    eng = logged(tmp_path, exp((64, 5), (58, 7), min_effect=0.04, sample_size=600), PRICING_LOG)
    v = A.experiment_variants(eng).set_index("variant")
    assert v["log_exposed"].tolist() == [1545, 1473]
    assert v["log_converted"].tolist() == [214, 271]
    assert v["typed_exposed"].tolist() == [64, 58]
    assert v["typed_converted"].tolist() == [5, 7]
    assert v["log_rate"].tolist() == pytest.approx([214 / 1545, 271 / 1473])
    assert v["typed_rate"].tolist() == pytest.approx([5 / 64, 7 / 58])
    assert v["exposed"].tolist() == [1545, 1473] and set(v["source"]) == {"events"}
    p = _z_test(1545, 214, 1473, 271)
    assert 0.0005 < p < 0.001  # "p ~ 0.0007"
    assert v.loc["new", "p_value"] == pytest.approx(p, rel=1e-9)
    d = A.experiment_decisions(eng).iloc[0]
    assert d["source"] == "events"
    assert "event log" in d["source_reason"] and "3,018" in d["source_reason"]
    assert "122" in d["source_reason"]
    assert d["decision"] == "roll out" and "p < 0.001" in d["reason"]
    assert "p = 0.000" not in d["reason"]
    # 18.4% against 13.9%: 4.5 points, said in points, not per cent
    assert "4.5 points" in d["reason"]
    # the typed counts alone would say keep testing: the verdicts differ, so a warning
    assert d["other_decision"] == "keep testing"
    assert "keep testing" in d["warning"] and "typed" in d["warning"]


def test_typed_counts_decide_when_they_are_the_fuller_record(tmp_path: object) -> None:
    eng = logged(tmp_path, exp((1000, 100), (1000, 150)), {"control": (40, 4), "new": (40, 6)})
    v = A.experiment_variants(eng)
    assert set(v["source"]) == {"workspace"} and v["exposed"].tolist() == [1000, 1000]
    assert v["log_exposed"].tolist() == [40, 40]
    d = A.experiment_decisions(eng).iloc[0]
    assert d["source"] == "workspace" and "typed" in d["source_reason"]
    assert "2,000" in d["source_reason"] and "80" in d["source_reason"]
    assert d["decision"] == "roll out" and d["other_decision"] == "keep testing"
    assert d["warning"]


def test_sources_that_agree_give_no_warning(tmp_path: object) -> None:
    # Same verdict (roll out) and every typed rate inside the log's 95% interval.
    eng = logged(
        tmp_path, exp((990, 98), (1010, 151)), {"control": (1000, 100), "new": (1000, 150)}
    )
    d = A.experiment_decisions(eng).iloc[0]
    assert d["source"] == "events"
    assert d["decision"] == d["other_decision"] == "roll out"
    assert d["warning"] == ""


def test_rates_beyond_the_interval_warn_even_with_the_same_verdict(tmp_path: object) -> None:
    # Both say roll out, but the typed control converts 22.2% where the log's 95% interval
    # for it runs from about 8.3% to 12.0%: they cannot be counting the same thing.
    eng = logged(
        tmp_path, exp((900, 200), (900, 270)), {"control": (1000, 100), "new": (1000, 150)}
    )
    d = A.experiment_decisions(eng).iloc[0]
    assert d["decision"] == d["other_decision"] == "roll out"
    assert "22.2%" in d["warning"] and "interval" in d["warning"]


def test_only_typed_counts_need_no_log_and_say_so() -> None:
    d = A.experiment_decisions(engine_with(exp((1000, 100), (1000, 150)))).iloc[0]
    assert d["source"] == "workspace" and "typed" in d["source_reason"]
    assert d["other_decision"] == "" and d["warning"] == ""
    v = A.experiment_variants(engine_with(exp((1000, 100), (1000, 150))))
    assert v["log_exposed"].isna().all() and v["typed_exposed"].tolist() == [1000, 1000]


def test_the_needed_sample_comes_from_the_power_calculation_not_the_plan() -> None:
    # 10% control, a 5-point lift to detect, 5% two-sided, 80% power: the textbook n.
    need = _textbook_n(0.10, 0.05)
    small = A.experiment_decisions(
        engine_with(exp((60, 6), (60, 8), sample_size=200, min_effect=0.05))
    ).iloc[0]
    assert small["required_per_variant"] == need and small["planned_per_variant"] == 100
    assert small["decision"] == "keep testing"
    assert f"60 of the {need:,} contacts per variant needed" in small["reason"]
    assert "5-point lift" in small["reason"] and "5%" not in small["reason"]
    # A plan of 2,000 per variant does not keep a test running that has the sample it needs.
    done = A.experiment_decisions(
        engine_with(exp((700, 70), (700, 72), sample_size=4000, min_effect=0.05))
    ).iloc[0]
    assert done["planned_per_variant"] == 2000 and 700 >= done["required_per_variant"] == need
    assert done["decision"] == "stop"
    p = _z_test(700, 70, 700, 72)
    assert f"p = {p:.2f}" in done["reason"] or f"p = {p:.3f}" in done["reason"]


def test_p_values_are_written_for_people() -> None:
    tiny = A.experiment_decisions(engine_with(exp((1480, 355), (1495, 492)))).iloc[0]
    assert "p < 0.001" in tiny["reason"] and "p = 0.000" not in tiny["reason"]
    assert "8.9 points" in tiny["reason"]
    p = _z_test(500, 50, 500, 75)
    assert 0.001 < p < 0.05
    some = A.experiment_decisions(engine_with(exp((500, 50), (500, 75)))).iloc[0]
    assert f"p = {p:.3f}" in some["reason"] and "5.0 points" in some["reason"]
    worse = A.experiment_decisions(engine_with(exp((1000, 150), (1000, 90)))).iloc[0]
    assert "p < 0.001" in worse["reason"] and "6.0 points" in worse["reason"]


def test_the_report_shows_both_counts_the_choice_and_the_warning(tmp_path: object) -> None:
    import re

    from workbook import sections
    from workbook.model import Variant

    pricing = exp((64, 5), (58, 7), min_effect=0.04, sample_size=600)
    pricing.variants[1] = Variant(id="new", name="<b>Monthly</b> first", exposed=58, converted=7)
    eng = logged(tmp_path, pricing, PRICING_LOG)
    ctx = sections.report_context(str(eng.path), report_date="2026-03-01")
    html = str(sections.render_section("experiments", ctx))
    header = re.findall(r"<th[^>]*>([^<]*)</th>", html)
    assert header == [
        "Variant",
        "Event log: converted of leads",
        "Typed: converted of leads",
        "Lift on control",
        "p-value",
    ]
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", html)]
    cells = [c for c in cells if c]
    assert cells[0][1:3] == ["13.9% (214 of 1,545)", "7.8% (5 of 64)"]
    assert cells[1][1:3] == ["18.4% (271 of 1,473)", "12.1% (7 of 58)"]
    assert cells[1][-1] == "&lt; 0.001"
    assert "The verdict uses the event log: it records 3,018 leads against 122 typed" in html
    assert "Check the counts:" in html and "they say keep testing" in html
    assert "p &lt; 0.001" in html and "4.5 points more" in html
    assert "<b>Monthly</b>" not in html and "&lt;b&gt;Monthly&lt;/b&gt; first" in html


def test_analyse_prints_the_counts_used_and_the_warning(tmp_path: object) -> None:
    import json

    from click.testing import CliRunner

    from workbook.cli import main

    pricing = exp((64, 5), (58, 7), min_effect=0.04, sample_size=600)
    eng = logged(tmp_path, pricing, PRICING_LOG)
    out = CliRunner().invoke(main, ["analyse", str(eng.path)])
    assert out.exit_code == 0, out.output
    text = out.output[out.output.index("Experiments:") :]
    assert "Test: roll out - New converts 18.4% against 13.9%, 4.5 points more (p < 0.001)" in text
    assert "The verdict uses the event log: it records 3,018 leads against 122 typed" in text
    assert "warning: The typed counts disagree with the event log: they say keep testing" in text
    data = json.loads(CliRunner().invoke(main, ["analyse", str(eng.path), "--json"]).output)
    (e,) = data["experiments"]
    assert e["source"] == "events" and e["other_decision"] == "keep testing"
    assert e["warning"].startswith("The typed counts disagree")
