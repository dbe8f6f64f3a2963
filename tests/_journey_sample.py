"""A small client workspace built in code, shared by the map, chart and browser tests.

The demo workspace (``data/demo``) is used too when present; this one keeps the tests
independent of its content and carries the edge cases (markup in user text, a long text,
a stage with no score, a recommendation on a touchpoint the cell did not list).
"""

from __future__ import annotations

from workbook.model import (
    Annotation,
    Branding,
    Client,
    Journey,
    MapCell,
    Persona,
    Process,
    Recommendation,
    Touchpoint,
    Workspace,
)

EVIL = '<script>alert("x")</script> & <b>bold</b>'


def sample_workspace() -> Workspace:
    return Workspace(
        client=Client(
            name="Northwind Advisory",
            slug="northwind",
            branding=Branding(primary_color="#1F4E79", accent_color="#E07A1F"),
        ),
        personas=[
            Persona(
                id="priya-planner",
                name="Priya the Planner",
                summary="Operations lead who compares carefully.",
            ),
            Persona(id="sam-switcher", name="Sam the Switcher"),
        ],
        touchpoints=[
            Touchpoint(id="search-ads", name="Search ads", channel="ads", stages=["awareness"]),
            Touchpoint(
                id="webinar",
                name="Product webinar",
                channel="event",
                stages=["consideration"],
                owner="Marketing",
                service_level="Recording sent within 24 h",
            ),
            Touchpoint(
                id="pricing-page", name="Pricing page", channel="web", stages=["consideration"]
            ),
            Touchpoint(
                id="sales-call",
                name="Discovery call",
                channel="phone",
                stages=["purchase"],
                owner="Sales",
                service_level="Call back within 1 working day",
            ),
            Touchpoint(
                id="onboarding-email",
                name="Onboarding emails",
                channel="email",
                stages=["retention"],
            ),
            Touchpoint(
                id="support-chat", name="Support chat", channel="chat", stages=["retention"]
            ),
        ],
        processes=[
            Process(
                id="lead-follow-up",
                name="Lead follow-up",
                owner="Sales ops",
                service_level="Same day",
                touchpoints=["sales-call"],
                key=True,
            ),
        ],
        journeys=[
            Journey(
                persona="priya-planner",
                stages={
                    "awareness": MapCell(
                        actions=["Searches for ways to cut reporting time"],
                        thoughts=["Is this another tool we will not use?"],
                        emotion=0,
                        pain_points=[EVIL],
                    ),
                    "consideration": MapCell(
                        actions=["Joins a webinar", "Compares three vendors on price"],
                        thoughts=["The demo finally shows my use case"],
                        emotion=1.5,
                        opportunities=["Send the recording with a tailored case study " * 6],
                    ),
                    "purchase": MapCell(
                        actions=["Waits for a quote"],
                        thoughts=["Why does a quote take a week?"],
                        emotion=-1.5,
                        pain_points=["Quote takes five working days"],
                        opportunities=["Self-serve quote for standard plans"],
                    ),
                    "retention": MapCell(
                        actions=["Sets up the first dashboard"],
                        touchpoints=["onboarding-email"],
                        emotion=0.5,
                    ),
                },
                annotations=[
                    Annotation(
                        kind="worst-struggle", stage="purchase", note="Waiting a week for a quote"
                    ),
                ],
                recommendations=[
                    Recommendation(
                        id="faster-quote",
                        text="Quote within 24 hours for standard plans",
                        stage="purchase",
                        touchpoint="sales-call",
                        priority="high",
                        owner="Sales",
                    ),
                    Recommendation(
                        id="chat-in-app",
                        text="Offer chat inside the product during setup",
                        stage="retention",
                        touchpoint="support-chat",
                    ),
                    Recommendation(
                        id="referral-ask",
                        text="Ask happy customers for a referral",
                        stage="advocacy",
                        priority="low",
                    ),
                ],
            )
        ],
    )


def sample_frames() -> dict[str, object]:
    """One small table per chart, with the columns the analytics document."""
    import pandas as pd

    stages = ["awareness", "consideration", "purchase", "retention", "advocacy"]
    return {
        "funnel": pd.DataFrame({"stage": stages, "reach": [1200, 640, 150, 120, 40]}),
        "transition_heatmap": pd.DataFrame(
            {
                "from_stage": [
                    "awareness",
                    "consideration",
                    "consideration",
                    "purchase",
                    "purchase",
                    "retention",
                ],
                "to_stage": [
                    "consideration",
                    "purchase",
                    "awareness",
                    "retention",
                    "consideration",
                    "advocacy",
                ],
                "count": [640, 150, 80, 120, 25, 40],
            }
        ),
        "time_in_stage": pd.DataFrame(
            {
                "stage": stages[:4],
                "median_days": [3.0, 12.5, 6.0, 90.0],
                "p90_days": [9.0, 30.0, 21.0, 200.0],
            }
        ),
        "touchpoint_heatmap": pd.DataFrame(
            {
                "touchpoint": ["Search ads", "Webinar", "Pricing page", "Discovery call", EVIL],
                "stage": ["awareness", "consideration", "consideration", "purchase", "retention"],
                "uses": [900, 300, 520, 140, 60],
                "lift": [1.1, 1.8, 0.7, 2.4, 1.0],
            }
        ),
        "attribution": pd.DataFrame(
            {
                "touchpoint": ["Search ads", "Webinar", "Discovery call"],
                "first_touch": [0.6, 0.3, 0.1],
                "last_touch": [0.05, 0.25, 0.7],
                "linear": [0.3, 0.35, 0.35],
                "markov": [0.2, 0.45, 0.35],
            }
        ),
        "channel_reach": pd.DataFrame(
            {"channel": ["email", "whatsapp", "sms"], "rate": [0.22, 0.71, 0.45]}
        ),
        "score_deciles": pd.DataFrame(
            {
                "decile": list(range(1, 11)),
                "win_rate": [0.01, 0.02, 0.02, 0.04, 0.05, 0.07, 0.1, 0.14, 0.2, 0.31],
            }
        ),
        "ab_test": pd.DataFrame(
            {
                "variant": ["Subject A", "Subject B"],
                "rate": [0.18, 0.24],
                "ci_low": [0.14, 0.195],
                "ci_high": [0.22, 0.285],
                "winner": [False, True],
                "decision": ["Roll out subject B", "Roll out subject B"],
            }
        ),
        "kpi_progress": pd.DataFrame(
            {
                "name": ["Quote turnaround (days)", "Webinar to demo rate", "NPS"],
                "baseline": [5.0, 0.10, 20.0],
                "current": [2.0, 0.14, 35.0],
                "target": [1.0, 0.20, 30.0],
                "unit": [" d", "", ""],
            }
        ),
        "before_after": pd.DataFrame(
            {
                "persona": ["priya-planner", "priya-planner", "sam-switcher"],
                "stage": ["purchase", "retention", "awareness"],
                "before": [-1.5, 0.5, 1.0],
                "after": [0.5, 1.0, 0.0],
            }
        ),
        "gap_t": pd.DataFrame(
            {
                "component": ["conversion:consideration:priya-planner", "open:email:sam-switcher"],
                "kind": ["conversion", "open"],
                "stage": ["consideration", None],
                "item": [None, "email"],
                "group": ["priya-planner", "sam-switcher"],
                "missed": [42.0, 7.5],
            }
        ),
    }


def demo_with_crm(dest: object, contacts: int = 1500) -> object:
    """A copy of the demo workspace at ``dest`` with a generated CRM history imported."""
    import shutil
    from pathlib import Path

    from workbook.crm.generate import generate
    from workbook.crm.storage import write_canonical
    from workbook.store import open_workspace

    root = Path(__file__).resolve().parent.parent / "data" / "demo"
    dest = Path(str(dest))
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns("reports", "*.lock", "data"))
    ws = open_workspace(dest)
    sample = generate(ws.data, contacts, seed=7)
    write_canonical(ws.path, "demo-crm", sample.contacts, sample.events, sample.deals)
    return open_workspace(dest)


def demo_charts(ws: object) -> list[object]:
    """Every chart: from the analytics on ``ws`` where they exist, from sample tables otherwise."""
    from workbook import charts
    from workbook.analytics.attribution import attribution
    from workbook.analytics.funnel import funnel
    from workbook.analytics.movement import transitions
    from workbook.analytics.timing import time_in_stage
    from workbook.analytics.touchpoints import touchpoint_lift, touchpoint_usage

    frames = sample_frames()
    moves = transitions(ws)
    return [
        charts.get("funnel")(funnel(ws)),
        charts.get("transition_heatmap")(moves),
        charts.get("flow_diagram")(moves),
        charts.get("time_in_stage")(time_in_stage(ws)),
        charts.get("touchpoint_heatmap")(touchpoint_usage(ws)),
        charts.get("touchpoint_heatmap")(touchpoint_lift(ws), value="lift"),
        charts.get("attribution")(attribution(ws)),
        charts.get("channel_reach")(frames["channel_reach"]),
        charts.get("score_deciles")(frames["score_deciles"]),
        charts.get("ab_test")(frames["ab_test"]),
        charts.get("kpi_progress")(frames["kpi_progress"]),
        charts.get("before_after")(frames["before_after"]),
    ]
