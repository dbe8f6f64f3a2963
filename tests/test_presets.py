"""The starter presets and the demo client: valid, complete, and as the issue describes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from workbook import method, model
from workbook.store import new_workspace, open_workspace, presets

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ROOT / "templates" / "workspaces"
DEMO = ROOT / "data" / "demo"
PRESET_IDS = ("b2b-saas", "d2c-retail", "professional-services")

# The CRM demo-data generator and other tests use these ids: changing one breaks them.
DEMO_PERSONAS = {"amara-time-poor-londoner", "graham-returning-athlete", "sofia-studio-owner"}
DEMO_TOUCHPOINTS = {
    "paid-social-ads", "search-ads", "instagram", "video-reviews", "website-home",
    "pricing-page", "comparison-guide", "nurture-email", "newsletter", "whatsapp-concierge",
    "sales-phone", "showroom-visit", "studio-taster-class", "home-trial", "checkout",
    "finance-application", "delivery-install", "onboarding-call", "app-classes",
    "app-notifications", "support-phone", "service-visit", "studio-account-meeting",
    "referral-programme", "review-request", "community-row-meet",
}  # fmt: skip


def _load(path: Path) -> model.Workspace:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return model.validate_workspace(data, file=str(path.relative_to(ROOT)))


@pytest.fixture(scope="module")
def demo() -> model.Workspace:
    return _load(DEMO / "workspace.yaml")


# ------------------------------------------------------------------------------ presets


@pytest.mark.parametrize("preset_id", PRESET_IDS)
def test_preset_is_a_valid_skeleton(preset_id: str) -> None:
    ws = _load(PRESETS / f"{preset_id}.yaml")
    assert (ws.client.name, ws.client.slug) == ("New client", "new-client")
    assert ws.personas == [] and ws.journeys == []  # the workshop creates them
    assert 5 <= len(ws.stages) <= 7
    assert 10 <= len(ws.touchpoints) <= 15
    assert 6 <= len(ws.measurement.scoring_rules) <= 10
    assert 2 <= len(ws.objectives) <= 3
    assert {s.kind for s in ws.segments} == {
        "geographic",
        "demographic",
        "psychographic",
        "behavioural",
    }


@pytest.mark.parametrize("preset_id", PRESET_IDS)
def test_preset_steps_that_need_no_workshop_are_complete(preset_id: str) -> None:
    ws = _load(PRESETS / f"{preset_id}.yaml")
    status = {s.step.id: s for s in method.completeness(ws)}
    assert status["stages"].complete, status["stages"].missing
    # Touchpoint owners and service levels are the client's; everything else is in place.
    checks = {f.check for f in status["touchpoints"].missing}
    assert checks <= {"touchpoint-owner", "touchpoint-service-level"}
    assert status["personas"].complete is False
    for objective in ws.objectives:
        assert objective.metric, objective.id
        assert method.metric_problem(objective.metric, ws.stage_ids()) is None


def test_presets_have_their_own_stages() -> None:
    spines = {p: tuple(_load(PRESETS / f"{p}.yaml").stage_ids()) for p in PRESET_IDS}
    assert len(set(spines.values())) == len(PRESET_IDS)
    assert "onboarding" in spines["b2b-saas"]
    assert "proposal" in spines["professional-services"]


def test_presets_are_found_by_the_store(tmp_path: Path) -> None:
    assert set(PRESET_IDS) <= set(presets())
    for preset_id in PRESET_IDS:
        ws = new_workspace(f"Client <{preset_id}> & Co", preset=preset_id, directory=tmp_path)
        assert ws.data.client.name == f"Client <{preset_id}> & Co"
        assert ws.data.stage_ids() == _load(PRESETS / f"{preset_id}.yaml").stage_ids()


# --------------------------------------------------------------------------------- demo


def test_demo_opens_through_the_store() -> None:
    ws = open_workspace(DEMO)
    assert ws.data.client.slug == "tideway-rowing"


def test_demo_ids_are_stable(demo: model.Workspace) -> None:
    assert {p.id for p in demo.personas} == DEMO_PERSONAS
    assert {t.id for t in demo.touchpoints} == DEMO_TOUCHPOINTS


def test_demo_has_three_personas_including_the_london_whatsapp_one(
    demo: model.Workspace,
) -> None:
    assert len(demo.personas) == 3
    londoners = [
        p
        for p in demo.personas
        if "London" in p.demographics.location and p.preferred_channels[0] == "whatsapp"
    ]
    assert len(londoners) == 1
    low, high = (int(x) for x in londoners[0].demographics.age_range.split("-"))
    assert low >= 30 and high <= 40
    for p in demo.personas:
        assert p.segments and p.icp and p.goals and p.jobs and p.pains and p.gains
        assert p.preferred_channels and p.objections and p.quote and p.storyline


def test_demo_stages_and_touchpoints(demo: model.Workspace) -> None:
    assert demo.stage_ids() == [s[0] for s in model.DEFAULT_STAGES]
    for s in demo.stages:
        assert s.description and s.entry_criteria and s.exit_criteria and s.selling_action
    assert 20 <= len(demo.touchpoints) <= 26
    assert {t.kind for t in demo.touchpoints} == {"digital", "physical"}
    for t in demo.touchpoints:
        assert t.stages and t.owner and t.service_level, t.id


def test_demo_maps_fill_every_lane_at_every_stage(demo: model.Workspace) -> None:
    assert {j.persona for j in demo.journeys} == DEMO_PERSONAS
    for j in demo.journeys:
        assert set(j.stages) == set(demo.stage_ids())
        for stage_id, cell in j.stages.items():
            for lane in ("actions", "touchpoints", "thoughts", "pain_points", "opportunities"):
                assert getattr(cell, lane), (j.persona, stage_id, lane)
            assert cell.emotion is not None
        curve = [j.stages[s].emotion for s in demo.stage_ids()]
        assert min(c for c in curve if c is not None) < 0 < max(c for c in curve if c is not None)
        assert sorted(a.kind for a in j.annotations) == ["best-moment", "worst-struggle"]
        assert 3 <= len(j.recommendations) <= 5
        for r in j.recommendations:
            assert r.touchpoint and r.owner and r.priority


def test_demo_objectives_and_measurement(demo: model.Workspace) -> None:
    assert 3 <= len(demo.objectives) <= 4
    for o in demo.objectives:
        assert o.kpi and o.unit and o.owner and o.due and o.crm_goal
        assert o.baseline is not None and o.target is not None and o.baseline != o.target
        assert o.metric and method.metric_problem(o.metric, demo.stage_ids()) is None
    m = demo.measurement
    assert len(m.okrs) == 2
    assert all(kr.todos for okr in m.okrs for kr in okr.key_results)
    assert 8 <= len(m.scoring_rules) <= 12
    rules = {r.id: r for r in m.scoring_rules}
    assert rules["pricing-page-visit"].points >= 5 * rules["email-open"].points
    assert sum(r.decay_days is not None for r in m.scoring_rules) >= 3


def test_demo_experiments_one_decided_one_running_one_planned(demo: model.Workspace) -> None:
    from scipy.stats import chi2_contingency

    by_status = {e.status: e for e in demo.measurement.experiments}
    assert sorted(by_status) == ["completed", "planned", "running"]

    done = by_status["completed"]
    table = [[v.converted, v.exposed - v.converted] for v in done.variants]  # type: ignore[operator]
    assert chi2_contingency(table).pvalue < 0.001  # a clear winner
    assert done.decision

    running = by_status["running"]
    exposed = sum(v.exposed or 0 for v in running.variants)
    assert running.sample_size and exposed < running.sample_size / 2

    planned = by_status["planned"]
    assert all(v.exposed is None for v in planned.variants) and planned.sample_size


def test_demo_processes_content_and_cycle(demo: model.Workspace) -> None:
    assert 5 <= len(demo.processes) <= 6
    assert any(p.key for p in demo.processes) and not all(p.key for p in demo.processes)
    assert {c.stage for c in demo.content} == set(demo.stage_ids())
    # the story runs once round the cycle, to the launch tests of the first change
    assert demo.cycle.phase == "validate" and demo.cycle.iteration == 1
    assert {e.phase for e in demo.cycle.log} == set(model.PHASES)


def test_demo_text_needs_html_escaping(demo: model.Workspace) -> None:
    # The report must escape user text; the demo makes sure there is some to escape.
    text = demo.model_dump_json()
    assert "R&D" in text and "<30 min" in text


def test_demo_holds_no_contact_details() -> None:
    text = (DEMO / "workspace.yaml").read_text(encoding="utf-8")
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), "an email address"
    assert not re.search(r"(?:\+44|\b0)\s?\d{3,4}\s?\d{3}\s?\d{3,4}\b", text), "a phone number"


def test_demo_branding_logo_and_contrast(demo: model.Workspace) -> None:
    branding = demo.client.branding
    assert branding.logo == "assets/logo.svg"
    svg = (DEMO / branding.logo).read_text(encoding="utf-8")
    ET.fromstring(svg)  # well-formed
    assert "href" not in svg and "url(" not in svg and "<image" not in svg  # nothing external

    def luminance(colour: str) -> float:
        rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    for colour in (branding.primary_color, branding.accent_color):
        assert 1.05 / (luminance(colour) + 0.05) >= 4.5, colour  # WCAG AA on white
