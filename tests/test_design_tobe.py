"""The desired journey (issue 17, Design and build): the to-be map, its links to the
recommendations that make each change happen, and the opportunity -> solution -> owner ->
metric chain with how far each metric moved since its recommendation was agreed."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest
from test_analytics_hand import build

from workbook.analytics.chain import kpi_now, recommendation_chain
from workbook.exceptions import WorkspaceValidationError
from workbook.model import (
    KPI,
    Journey,
    MapCell,
    Objective,
    Persona,
    Recommendation,
    validate_workspace,
)
from workbook.store import new_workspace, open_workspace


def _workspace_dict(**journey: Any) -> dict[str, Any]:
    return {
        "client": {"name": "Acme", "slug": "acme"},
        "personas": [{"id": "pat", "name": "Pat"}],
        "objectives": [{"id": "convert", "title": "Convert more", "unit": "%"}],
        "measurement": {"kpis": [{"id": "c2p", "name": "Consideration to purchase"}]},
        "journeys": [
            {
                "persona": "pat",
                "stages": {"awareness": {"actions": ["Reads a review"], "emotion": -1}},
                "recommendations": [{"id": "faster", "text": "Answer faster", "stage": "purchase"}],
                **journey,
            }
        ],
    }


# --------------------------------------------------------------------------------- the model


def test_draft_copies_the_as_is_cells_deeply_with_no_links() -> None:
    j = Journey(
        persona="pat",
        stages={"awareness": MapCell(actions=["Reads a review"], emotion=-1, touchpoints=["web"])},
    )
    draft = j.draft_to_be()
    assert draft["awareness"] == j.stages["awareness"]
    draft["awareness"].actions.append("Watches the demo video")
    assert j.stages["awareness"].actions == ["Reads a review"]  # a copy, not the same list


def test_a_to_be_link_to_an_unknown_recommendation_is_refused_by_name() -> None:
    data = _workspace_dict(to_be={"awareness": {"emotion": 1, "recommendations": ["fastr"]}})
    with pytest.raises(WorkspaceValidationError) as err:
        validate_workspace(data)
    text = str(err.value)
    assert "journeys[0].to_be.awareness.recommendations[0]" in text
    assert "'fastr'" in text and "faster" in text  # what is wrong, and what to use


def test_the_as_is_map_links_to_no_recommendation() -> None:
    data = _workspace_dict()
    data["journeys"][0]["stages"]["awareness"]["recommendations"] = ["faster"]
    with pytest.raises(WorkspaceValidationError, match="link recommendations in the to-be"):
        validate_workspace(data)


def test_a_to_be_stage_and_touchpoint_must_exist() -> None:
    data = _workspace_dict(to_be={"checkout": {"touchpoints": ["web"]}})
    with pytest.raises(WorkspaceValidationError) as err:
        validate_workspace(data)
    assert "journeys[0].to_be.checkout" in str(err.value)
    assert "touchpoint 'web'" in str(err.value)


def test_a_recommendation_names_a_kpi_or_an_objective() -> None:
    ok = _workspace_dict(to_be={"awareness": {"emotion": 1, "recommendations": ["faster"]}})
    for kpi in ("c2p", "convert"):
        ok["journeys"][0]["recommendations"][0]["kpi"] = kpi
        ws = validate_workspace(ok)
        assert ws.journeys[0].to_be is not None
    ok["journeys"][0]["recommendations"][0]["kpi"] = "open-rate"
    with pytest.raises(WorkspaceValidationError) as err:
        validate_workspace(ok)
    assert "journeys[0].recommendations[0].kpi" in str(err.value)
    assert "c2p, convert" in str(err.value)


# ------------------------------------------------------------------ the chain, worked by hand
#
# The hand-worked log of test_analytics_hand: c1, c2 and c3 all reach consideration, c1 and
# c3 reach purchase, so consideration -> purchase is 2 of 3 = 66.667%. The won contacts
# close 5 (c1: d0 -> d5) and 11 (c3: d0 -> d11) days after their first record: median 8.
#
# rec   KPI (unit)                  agreed  expected   now      moved     share
# a     c2p (%)                     60.0    +10        66.667   +6.667    0.6667
# b     objective close (days)      10.0    -4         8.0      -2.0      0.5
# c     c2p (%)                     70.0    +5         66.667   -3.333    -0.6667
# d     objective close (days)      12.0    -4         8.0      -4.0      1.0
# e     proposed, no values                                     n/a


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build(tmp_path_factory.mktemp("chain"))
    ws = open_workspace(path)
    ws.data.personas = [Persona(id="pat", name="Pat")]
    ws.data.objectives = [Objective(id="close", title="Close faster", metric="time-to-close-days")]
    ws.data.objectives[0].unit = "days"
    ws.data.measurement.kpis = [
        KPI(id="c2p", name="C to P", metric="conversion:consideration:purchase", unit="%")
    ]

    def rec(rid: str, kpi: str | None, agreed: float | None, effect: float | None) -> Any:
        return Recommendation(
            id=rid,
            text=f"Do {rid}",
            stage="consideration",
            owner="Sam",
            status="agreed" if agreed is not None else "proposed",
            opportunity=f"Gap {rid}",
            kpi=kpi,
            agreed_value=agreed,
            expected_effect=effect,
            agreed_on=dt.date(2025, 12, 1) if agreed is not None else None,
        )

    ws.data.journeys = [
        Journey(
            persona="pat",
            recommendations=[
                rec("a", "c2p", 60.0, 10.0),
                rec("b", "close", 10.0, -4.0),
                rec("c", "c2p", 70.0, 5.0),
                rec("d", "close", 12.0, -4.0),
                rec("e", None, None, None),
            ],
        )
    ]
    ws.save()
    return path


def test_the_chain_moves_worked_by_hand(hand: Path) -> None:
    chain = recommendation_chain(hand).set_index("recommendation")
    assert list(chain.index) == ["a", "b", "c", "d", "e"]
    assert chain.loc["a", "current"] == pytest.approx(200 / 3)
    assert chain.loc["a", "moved"] == pytest.approx(200 / 3 - 60)
    assert chain.loc["a", "share_achieved"] == pytest.approx((200 / 3 - 60) / 10)
    assert chain.loc["a", "expected_value"] == pytest.approx(70.0)
    assert chain.loc["a", "verdict"] == "moving the right way"
    assert chain.loc["b", "current"] == pytest.approx(8.0)
    assert chain.loc["b", "moved"] == pytest.approx(-2.0)
    assert chain.loc["b", "share_achieved"] == pytest.approx(0.5)
    assert chain.loc["b", "kpi_kind"] == "objective" and chain.loc["b", "unit"] == "days"
    assert chain.loc["c", "share_achieved"] == pytest.approx(-10 / 3 / 5)
    assert chain.loc["c", "verdict"] == "moved the wrong way"
    assert chain.loc["d", "share_achieved"] == pytest.approx(1.0)
    assert chain.loc["d", "verdict"] == "expected effect reached"
    assert math.isnan(chain.loc["e", "moved"]) and chain.loc["e", "verdict"] == "not agreed yet"
    a = chain.loc["a"]
    assert (a["opportunity"], a["solution"], a["owner"], a["kpi_name"]) == (
        "Gap a",
        "Do a",
        "Sam",
        "C to P",
    )


def test_the_value_recorded_at_agreement_is_the_reports_number(hand: Path) -> None:
    assert kpi_now(hand, "c2p")[0] == pytest.approx(200 / 3)
    assert kpi_now(hand, "close")[0] == pytest.approx(8.0)
    assert kpi_now(hand, "nope")[0] is None


def test_no_data_after_the_agreement_says_so(hand: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "later"
    shutil.copytree(hand, copy)
    ws = open_workspace(copy)
    for r in ws.data.journeys[0].recommendations:
        if r.agreed_on:
            r.agreed_on = dt.date(2026, 6, 1)  # after the log's last event (11 January 2026)
    from workbook.model import DataSource

    ws.data.data_sources = [
        DataSource(
            id="hand",
            system="generic",
            file="hand.csv",
            sha256="0" * 64,
            imported_at=dt.datetime(2026, 1, 12, tzinfo=dt.UTC),
            rows=24,
            last_event=dt.datetime(2026, 1, 12, tzinfo=dt.UTC),
        )
    ]
    ws.save()
    verdicts = recommendation_chain(copy)["verdict"].tolist()
    assert verdicts[:4] == ["no data since agreed"] * 4


def test_a_workspace_without_recommendations_gives_an_empty_chain(tmp_path: Path) -> None:
    ws = new_workspace("Empty", directory=tmp_path / "e")
    chain = recommendation_chain(ws)
    assert chain.empty and "share_achieved" in chain.columns
