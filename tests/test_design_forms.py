"""The Design and build forms, driven headless (set .value, click()): the to-be editor of
step 6 and the recommendation chain fields of step 7. Every effect is checked on disk."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from test_analytics_hand import build

from workbook.forms import Form, design, refine
from workbook.model import KPI, Journey, MapCell, Persona, Recommendation
from workbook.store import OpenWorkspace, new_workspace, open_workspace


def reopened(ws: OpenWorkspace) -> Any:
    return open_workspace(ws.path).data


def assert_clean(form: Form) -> None:
    assert form.callback_errors == []
    assert form.error_label.value == ""


@pytest.fixture
def ws(tmp_path: Path) -> OpenWorkspace:
    ws = new_workspace("Acme", directory=tmp_path / "w")
    ws.data.personas = [Persona(id="pat", name="Pat")]
    ws.data.journeys = [
        Journey(
            persona="pat",
            stages={"awareness": MapCell(actions=["Reads a review"], emotion=-1)},
            recommendations=[
                Recommendation(id="faster", text="Show the <price>", stage="awareness")
            ],
        )
    ]
    ws.save()
    return ws


def test_the_to_be_editor_drafts_from_the_as_is_map_and_edits_only_the_to_be(
    ws: OpenWorkspace,
) -> None:
    form = design.form(ws)
    assert "No desired journey yet" in form.one("wb-tobe-cell").children[0].value
    form.one("wb-tobe-draft").click()
    saved = reopened(ws).journey("pat")
    assert saved.to_be is not None
    assert saved.to_be["awareness"].actions == ["Reads a review"]
    assert saved.to_be["awareness"].emotion == -1

    form.one("wb-tobe-actions").value = "Reads a review\nSees the price in the ad"
    form.one("wb-map-emotion").value = "+1"
    form.one("wb-tobe-recommendations").value = ("faster",)
    saved = reopened(ws).journey("pat")
    assert saved.to_be["awareness"].actions == ["Reads a review", "Sees the price in the ad"]
    assert saved.to_be["awareness"].emotion == 1
    assert saved.to_be["awareness"].recommendations == ["faster"]
    assert saved.stages["awareness"].actions == ["Reads a review"]  # the as-is is untouched
    assert saved.stages["awareness"].emotion == -1
    preview = form.one("wb-tobe-preview").value
    assert "gap +2" in preview and "Show the &lt;price&gt;" in preview

    # drafting again keeps every edit of the to-be map
    form.one("wb-tobe-draft").click()
    assert reopened(ws).journey("pat").to_be["awareness"].emotion == 1
    assert_clean(form)


def test_a_stage_the_as_is_map_lacks_is_edited_in_the_to_be_only(ws: OpenWorkspace) -> None:
    form = design.form(ws, preview=False)
    form.one("wb-tobe-draft").click()
    form.one("wb-tobe-stage").value = "purchase"
    form.one("wb-tobe-pain-points").value = "Waits for a call-back"
    saved = reopened(ws).journey("pat")
    assert saved.to_be["purchase"].pain_points == ["Waits for a call-back"]
    assert "purchase" not in saved.stages
    assert_clean(form)


@pytest.fixture
def measured(tmp_path: Path) -> OpenWorkspace:
    """The hand-worked log of test_analytics_hand (consideration -> purchase: 2 of 3)."""
    ws = open_workspace(build(tmp_path / "hand"))
    ws.data.personas = [Persona(id="pat", name="Pat")]
    ws.data.measurement.kpis = [
        KPI(id="c2p", name="C to P", metric="conversion:consideration:purchase", unit="%")
    ]
    ws.data.journeys = [
        Journey(
            persona="pat",
            recommendations=[
                Recommendation(
                    id="call", text="Call back within the hour", stage="consideration", kpi="c2p"
                )
            ],
        )
    ]
    ws.save()
    return ws


def test_agreeing_records_the_day_and_the_kpi_value_from_the_analytics(
    measured: OpenWorkspace,
) -> None:
    form = refine.form(measured)
    form.one("wb-recommendation-opportunity").value = "Call-backs take two days"
    form.one("wb-recommendation-expected-effect").value = "+5"
    form.one("wb-recommendation-status").value = "agreed"
    rec = reopened(measured).journey("pat").recommendations[0]
    assert rec.opportunity == "Call-backs take two days" and rec.kpi == "c2p"
    assert rec.expected_effect == 5
    assert rec.agreed_on == dt.date.today()
    assert rec.agreed_value == pytest.approx(200 / 3)  # 2 of the 3 who reached consideration
    shown = form.one("wb-recommendation-agreed-value").value
    assert float(shown) == pytest.approx(200 / 3, abs=0.01)
    assert form.one("wb-recommendation-agreed-on").value == dt.date.today().isoformat()
    html = design.chain_html(measured)
    assert "Call-backs take two days &rarr; Call back within the hour" in html
    assert "not moved" in html  # agreed today at the value measured now
    assert_clean(form)


def test_a_typed_value_when_agreed_is_kept(measured: OpenWorkspace) -> None:
    form = refine.form(measured)
    form.one("wb-recommendation-agreed-value").value = "60"
    form.one("wb-recommendation-agreed-on").value = "2026-01-02"
    form.one("wb-recommendation-status").value = "agreed"
    rec = reopened(measured).journey("pat").recommendations[0]
    assert (rec.agreed_value, rec.agreed_on) == (60, dt.date(2026, 1, 2))
    assert_clean(form)


def test_the_chain_table_escapes_what_was_typed(ws: OpenWorkspace) -> None:
    rec = ws.data.journeys[0].recommendations[0]
    rec.opportunity = "<script>x</script>"
    ws.save()
    html = design.chain_html(ws)
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "Show the &lt;price&gt;" in html
