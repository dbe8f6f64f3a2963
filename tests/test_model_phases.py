"""The Analyse, Design & build and Validate parts of the workspace: findings and the chosen
component, the campaign control sheet, the launch checklist and the monitoring threshold."""

from __future__ import annotations

from typing import Any

import pytest

from workbook.exceptions import WorkspaceValidationError
from workbook.model import validate_workspace


def _ws(**extra: Any) -> dict[str, Any]:
    return {
        "client": {"name": "Acme", "slug": "acme"},
        "personas": [{"id": "amara", "name": "Amara"}],
        "processes": [{"id": "lead-response", "name": "Lead response"}],
        "touchpoints": [{"id": "nurture", "name": "Nurture", "channel": "email"}],
        "objectives": [{"id": "convert", "title": "Convert"}],
        **extra,
    }


def test_the_three_phases_hold_their_parts() -> None:
    ws = validate_workspace(
        _ws(
            analysis={
                "objective": "convert",
                "findings": [
                    {
                        "id": "late-replies",
                        "name": "Late replies",
                        "stage": "consideration",
                        "persona": "amara",
                        "contacts": 120,
                    }
                ],
                "targets": {"open:email:amara": 0.3},
                "chosen": "finding:late-replies",
            },
            content=[
                {
                    "id": "video",
                    "title": "Noise test",
                    "stage": "consideration",
                    "date": "2026-12-01",
                    "owner": "Content Lead",
                    "status": "ready",
                }
            ],
            campaign={
                "seo": [
                    {
                        "id": "quiet-rower",
                        "keyword": "quiet rowing machine",
                        "page": "/rower/noise",
                        "stage": "awareness",
                        "persona": "amara",
                    }
                ],
                "social": [
                    {
                        "id": "p1",
                        "post": "Noise test reel",
                        "date": "2026-12-02",
                        "channel": "social",
                        "persona": "amara",
                    }
                ],
                "channel_mix": [
                    {
                        "id": "amara-whatsapp",
                        "persona": "amara",
                        "channel": "whatsapp",
                        "share": 0.4,
                        "priority": "high",
                    }
                ],
            },
            validation={
                "threshold": 0.05,
                "launch": [
                    {
                        "id": "wa",
                        "item": "WhatsApp after 9 pm",
                        "process": "lead-response",
                        "touchpoint": "nurture",
                        "who": "Sales Lead",
                        "when": "2026-12-01",
                        "result": "pass",
                        "evidence": "reply in 4 min",
                    }
                ],
            },
        )
    )
    assert ws.analysis.chosen == "finding:late-replies"
    assert ws.analysis.findings[0].contacts == 120
    assert ws.content[0].status == "ready" and str(ws.content[0].date) == "2026-12-01"
    assert ws.campaign.channel_mix[0].share == 0.4
    assert ws.validation.launch[0].result == "pass" and ws.validation.threshold == 0.05


def test_a_new_content_item_is_planned() -> None:
    ws = validate_workspace(_ws(content=[{"id": "v", "title": "V", "stage": "awareness"}]))
    assert ws.content[0].status == "planned" and ws.content[0].date is None


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        (
            {"analysis": {"findings": [{"id": "f", "name": "F", "stage": "nowhere"}]}},
            "analysis.findings[0].stage",
            "stage 'nowhere'",
        ),
        (
            {"analysis": {"findings": [{"id": "f", "name": "F", "persona": "bob"}]}},
            "analysis.findings[0].persona",
            "persona 'bob'",
        ),
        ({"analysis": {"chosen": "finding:gone"}}, "analysis.chosen", "finding 'gone'"),
        ({"analysis": {"objective": "grow"}}, "analysis.objective", "objective 'grow'"),
        (
            {"campaign": {"seo": [{"id": "k", "keyword": "k", "stage": "x"}]}},
            "campaign.seo[0].stage",
            "stage 'x'",
        ),
        (
            {"campaign": {"channel_mix": [{"id": "m", "persona": "bob", "channel": "email"}]}},
            "campaign.channel_mix[0].persona",
            "persona 'bob'",
        ),
        (
            {"campaign": {"social": [{"id": "s", "post": "s", "persona": "bob"}]}},
            "campaign.social[0].persona",
            "persona 'bob'",
        ),
        (
            {"validation": {"launch": [{"id": "l", "item": "l", "process": "nope"}]}},
            "validation.launch[0].process",
            "process 'nope'",
        ),
        (
            {"validation": {"launch": [{"id": "l", "item": "l", "touchpoint": "nope"}]}},
            "validation.launch[0].touchpoint",
            "touchpoint 'nope'",
        ),
        (
            {"validation": {"launch": [{"id": "l", "item": "l"}, {"id": "l", "item": "m"}]}},
            "validation.launch[1].id",
            "duplicate id",
        ),
    ],
)
def test_references_are_checked(extra: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(WorkspaceValidationError) as err:
        validate_workspace(_ws(**extra))
    found = {p.field: p.message for p in err.value.errors}
    assert field in found and words in found[field]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"validation": {"threshold": 0}}, "validation.threshold"),
        (
            {"validation": {"launch": [{"id": "l", "item": "l", "result": "ok"}]}},
            "validation.launch[0].result",
        ),
        (
            {
                "campaign": {
                    "channel_mix": [
                        {"id": "m", "persona": "amara", "channel": "email", "share": 1.5}
                    ]
                }
            },
            "campaign.channel_mix[0].share",
        ),
        (
            {"analysis": {"findings": [{"id": "f", "name": "F", "contacts": -3}]}},
            "analysis.findings[0].contacts",
        ),
    ],
)
def test_bad_values_name_their_field(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(WorkspaceValidationError) as err:
        validate_workspace(_ws(**extra))
    assert field in {p.field for p in err.value.errors}
