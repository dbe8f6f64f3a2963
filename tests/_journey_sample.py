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
            Persona(id="priya-planner", name="Priya the Planner", summary="Operations lead who compares carefully."),
            Persona(id="sam-switcher", name="Sam the Switcher"),
        ],
        touchpoints=[
            Touchpoint(id="search-ads", name="Search ads", channel="ads", stages=["awareness"]),
            Touchpoint(id="webinar", name="Product webinar", channel="event", stages=["consideration"],
                       owner="Marketing", service_level="Recording sent within 24 h"),
            Touchpoint(id="pricing-page", name="Pricing page", channel="web", stages=["consideration"]),
            Touchpoint(id="sales-call", name="Discovery call", channel="phone", stages=["purchase"],
                       owner="Sales", service_level="Call back within 1 working day"),
            Touchpoint(id="onboarding-email", name="Onboarding emails", channel="email", stages=["retention"]),
            Touchpoint(id="support-chat", name="Support chat", channel="chat", stages=["retention"]),
        ],
        processes=[
            Process(id="lead-follow-up", name="Lead follow-up", owner="Sales ops",
                    service_level="Same day", touchpoints=["sales-call"], key=True),
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
                    Annotation(kind="worst-struggle", stage="purchase", note="Waiting a week for a quote"),
                ],
                recommendations=[
                    Recommendation(id="faster-quote", text="Quote within 24 hours for standard plans",
                                   stage="purchase", touchpoint="sales-call", priority="high", owner="Sales"),
                    Recommendation(id="chat-in-app", text="Offer chat inside the product during setup",
                                   stage="retention", touchpoint="support-chat"),
                    Recommendation(id="referral-ask", text="Ask happy customers for a referral",
                                   stage="advocacy", priority="low"),
                ],
            )
        ],
    )
