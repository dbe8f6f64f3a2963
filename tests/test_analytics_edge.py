"""Workspaces with little or no data: empty or explained answers, never an exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_analytics_hand import COLUMNS, EVENTS, build, contacts_frame

import workbook.analytics as A
from workbook.analytics import Engine
from workbook.exceptions import AnalyticsError, WorkspaceNotFoundError


class C:
    """The documented column lists, from the modules that define them."""

    from workbook.analytics.attribution import ATTRIBUTION_COLUMNS, REMOVAL_COLUMNS
    from workbook.analytics.channels import CHANNEL_COLUMNS
    from workbook.analytics.experiments import DECISION_COLUMNS, VARIANT_COLUMNS
    from workbook.analytics.funnel import FUNNEL_COLUMNS
    from workbook.analytics.kpis import KPI_COLUMNS
    from workbook.analytics.movement import TRANSITION_COLUMNS
    from workbook.analytics.scoring import DECILE_COLUMNS, SCORE_COLUMNS, SEPARATION_COLUMNS
    from workbook.analytics.timing import TIME_IN_STAGE_COLUMNS, TIME_TO_CLOSE_COLUMNS
    from workbook.analytics.touchpoints import LIFT_COLUMNS, USAGE_COLUMNS
    from workbook.analytics.wins import (
        INTERACTION_COLUMNS,
        LEAD_SOURCE_COLUMNS,
        LOST_REASON_COLUMNS,
    )


#: Every question and the columns it promises (the charts and the report rely on them).
QUESTIONS: dict[str, list[str]] = {
    "funnel": C.FUNNEL_COLUMNS,
    "transitions": C.TRANSITION_COLUMNS,
    "time_in_stage": C.TIME_IN_STAGE_COLUMNS,
    "time_to_close": C.TIME_TO_CLOSE_COLUMNS,
    "touchpoint_usage": C.USAGE_COLUMNS,
    "touchpoint_lift": C.LIFT_COLUMNS,
    "attribution": C.ATTRIBUTION_COLUMNS,
    "removal_effects": C.REMOVAL_COLUMNS,
    "channels": C.CHANNEL_COLUMNS,
    "won_interactions": C.INTERACTION_COLUMNS,
    "won_content": C.INTERACTION_COLUMNS,
    "lead_sources": C.LEAD_SOURCE_COLUMNS,
    "lost_reasons": C.LOST_REASON_COLUMNS,
    "score_separation": C.SEPARATION_COLUMNS,
    "score_deciles": C.DECILE_COLUMNS,
}
NO_BY: dict[str, list[str]] = {
    "lead_scores": C.SCORE_COLUMNS,
    "experiment_variants": C.VARIANT_COLUMNS,
    "experiment_decisions": C.DECISION_COLUMNS,
    "kpis": C.KPI_COLUMNS,
}


def ask_everything(eng: Engine) -> dict[str, pd.DataFrame]:
    out = {}
    for name, cols in QUESTIONS.items():
        for by in (None, "persona", "segment", "icp"):
            frame = getattr(A, name)(eng, by=by)
            assert list(frame.columns) == ([by] if by else []) + cols, (name, by)
            out[f"{name}:{by}"] = frame
    for name, cols in NO_BY.items():
        frame = getattr(A, name)(eng)
        assert list(frame.columns) == cols, name
        out[name] = frame
    ws_by = A.won_summary(eng, by="icp")
    assert list(ws_by.columns)[0] == "icp"
    out["won_summary"] = ws_by
    return out


def with_decisions(path: Path) -> None:
    from workbook.model import KPI, Experiment, Variant
    from workbook.store import open_workspace

    ws = open_workspace(path)
    ws.data.measurement.kpis = [KPI(id="k", name="Conv", metric="conversion:awareness:purchase")]
    ws.data.measurement.experiments = [
        Experiment(
            id="e",
            name="Subject",
            status="completed",
            variants=[
                Variant(id="a", name="A", exposed=100, converted=10),
                Variant(id="b", name="B", exposed=100, converted=30),
            ],
        )
    ]
    ws.save()


def test_an_empty_workspace_answers_everything(tmp_path: Path) -> None:
    from workbook.store import new_workspace

    ws = new_workspace("Nothing yet", directory=tmp_path)
    eng = Engine.for_workspace(ws)
    assert not any(eng.has(t) for t in ("events", "contacts", "deals", "stage_spells"))
    out = ask_everything(eng)
    assert out["funnel:None"]["contacts"].tolist() == [0] * 5
    assert not out["funnel:None"]["is_bottleneck"].any()
    assert out["transitions:None"].empty and out["attribution:None"].empty
    assert out["time_to_close:None"]["won_deals"].tolist() == [0]
    assert out["score_separation:None"]["note"].tolist() == ["no contacts"]
    s = A.summary(eng, by="persona")
    json.dumps(s)
    assert s["contacts"] == 0 and s["bottleneck"] is None and s["groups"] == {}
    assert any("import" in n for n in s["notes"])


def test_a_workspace_without_deals(tmp_path: Path) -> None:
    path = build(tmp_path, deals=pd.DataFrame({"deal_id": pd.Series([], dtype=object)}))
    with_decisions(path)
    eng = Engine.for_workspace(path)
    out = ask_everything(eng)
    assert out["funnel:None"]["contacts"].tolist()[:3] == [3, 3, 2]
    assert out["attribution:None"].empty and out["won_interactions:None"].empty
    assert out["lost_reasons:None"].empty
    assert out["score_separation:None"]["note"].tolist() == ["needs both won and lost contacts"]
    assert out["lead_sources:None"]["no_deal"].sum() == 3
    s = A.summary(eng)
    assert s["conversions"]["win_rate"] is None
    assert any("No deals" in n for n in s["notes"])
    assert s["experiments"][0]["decision"] == "roll out"  # typed counts need no deals


def test_a_single_contact(tmp_path: Path) -> None:
    events = pd.DataFrame([e for e in EVENTS if e[0] == "c1"], columns=COLUMNS)
    deals = pd.DataFrame(
        {
            "deal_id": ["d1"],
            "contact_id": ["c1"],
            "outcome": ["won"],
            "created_at": [events["ts"].min()],
            "closed_at": [events["ts"].max()],
        }
    )
    eng = Engine.for_workspace(
        build(tmp_path, events=events, contacts=contacts_frame()[:1], deals=deals)
    )
    out = ask_everything(eng)
    assert out["funnel:None"]["contacts"].tolist() == [1, 1, 1, 0, 0]
    r = A.removal_effects(eng).set_index("touchpoint")["removal_effect"]
    assert r.tolist() == [1.0, 1.0]  # both touches sit on the only winning path
    assert out["attribution:None"].groupby("model")["conversions"].sum().tolist() == [1.0] * 5
    assert out["score_deciles:None"]["contacts"].tolist() == [1]
    s = A.summary(eng)
    assert s["contacts"] == 1 and any("one contact" in n for n in s["notes"])


def test_a_workspace_that_is_only_a_document() -> None:
    from workbook.model import Workspace

    ws = Workspace.model_validate({"client": {"name": "Doc", "slug": "doc"}})
    eng = Engine(None, ws)
    assert A.funnel(eng)["stage"].tolist() == ws.stage_ids()
    # no source reaches the first stage: no data, not 0 (issue 13, item 5)
    assert A.summary(eng)["reach"] is None


def test_unknown_split_is_a_readable_error(tmp_path: Path) -> None:
    eng = Engine(None)
    with pytest.raises(AnalyticsError) as info:
        A.funnel(eng, by="colour")
    assert info.value.problems[0].field == "by"
    assert "persona" in str(info.value)


def test_engine_accepts_path_open_workspace_and_engine(tmp_path: Path) -> None:
    from workbook.store import open_workspace

    path = build(tmp_path)
    by_path = A.funnel(str(path))
    by_ws = A.funnel(open_workspace(path))
    eng = Engine.for_workspace(path)
    assert Engine.for_workspace(eng) is eng
    pd.testing.assert_frame_equal(by_path, by_ws)
    pd.testing.assert_frame_equal(by_path, A.funnel(eng))
    with pytest.raises(WorkspaceNotFoundError):
        Engine.for_workspace(tmp_path / "missing")
    with pytest.raises(AnalyticsError):
        Engine.for_workspace(42)


def test_answers_are_copies(tmp_path: Path) -> None:
    eng = Engine.for_workspace(build(tmp_path))
    first = A.funnel(eng)
    first.loc[0, "contacts"] = -1
    assert A.funnel(eng).loc[0, "contacts"] == 3


def test_contacts_missing_from_the_contacts_table_are_unassigned(tmp_path: Path) -> None:
    eng = Engine.for_workspace(build(tmp_path, contacts=contacts_frame()[:1]))
    f = A.funnel(eng, by="persona")
    assert set(f["persona"]) == {"p1", "unassigned"}
    assert f[f["stage"] == "awareness"].set_index("persona")["contacts"].to_dict() == {
        "p1": 1,
        "unassigned": 2,
    }


def test_public_names() -> None:
    expected = {
        "Engine",
        "attribution",
        "channels",
        "experiment_decisions",
        "drill",
        "gap_objective",
        "experiment_variants",
        "funnel",
        "gaps",
        "kpis",
        "lead_scores",
        "lead_sources",
        "lost_reasons",
        "metric_value",
        "people_by_source",
        "people_by_sources",
        "removal_effects",
        "required_sample_size",
        "score_deciles",
        "score_separation",
        "stage_history",
        "summary",
        "time_in_stage",
        "time_to_close",
        "touchpoint_lift",
        "touchpoint_usage",
        "transition_matrix",
        "transitions",
        "won_content",
        "won_interactions",
        "won_summary",
    }
    assert set(A.__all__) == expected
    for name in A.__all__:
        assert callable(getattr(A, name)), name
        assert getattr(A, name).__doc__, name


def test_importing_analytics_stays_light() -> None:
    import subprocess
    import sys

    heavy = "('pandas', 'duckdb', 'pyarrow', 'scipy', 'statsmodels')"
    code = f"import sys, workbook.analytics; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_contact_id_in_the_summary(tmp_path: Path) -> None:
    eng = Engine.for_workspace(build(tmp_path))
    text = json.dumps(A.summary(eng, by="segment"))
    for cid in ("c1", "c2", "c3"):
        assert f'"{cid}"' not in text


def _summary_keys() -> set[str]:
    return {
        "workspace",
        "as_of",
        "contacts",
        "events",
        "deals",
        "reach",
        "funnel",
        "conversions",
        "bottleneck",
        "weakest_step",
        "funnel_kind",
        "stage_history",
        "time_to_close",
        "top_touchpoints",
        "attribution_leader",
        "experiments",
        "people_by_sources",
        "notes",
    }


def test_summary_shape(tmp_path: Path) -> None:
    eng = Engine.for_workspace(build(tmp_path))
    s: dict[str, Any] = A.summary(eng)
    assert set(s) == _summary_keys()
    # nothing maps to retention, so purchase's step has no data; consideration loses 1
    assert s["bottleneck"]["stage"] == "consideration"
    assert s["attribution_leader"]["markov"]["touchpoint"] == "web"
    assert s["time_to_close"]["median_days"] == pytest.approx(5.5)
    assert s["top_touchpoints"][0]["touchpoint"] == "ads"
    grouped = A.summary(eng, by="persona")
    assert set(grouped) == _summary_keys() | {"by", "groups"}
    assert grouped["groups"]["p2"]["bottleneck"] == "consideration"


def test_memory_limit_is_applied_and_checked() -> None:
    eng = Engine(None, memory_limit="512MB")
    assert "MiB" in str(eng.scalar("SELECT current_setting('memory_limit')"))
    with pytest.raises(AnalyticsError):
        Engine(None, memory_limit="1GB'; DROP TABLE x; --")
