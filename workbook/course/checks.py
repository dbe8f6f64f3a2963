"""Exercise checks for trainees: each looks at a workspace and says what is good or missing.

A check never raises at a trainee. It returns a :class:`Feedback` (``ok``, a one-line
``message``, and ``hints`` naming what to fix); if the check itself cannot run (a file it needs
is missing, say), the feedback says so instead of showing a traceback. Notebooks display the
feedback as a small panel; scripts and tests read its fields.

Every check takes an open workspace (:func:`workbook.store.open_workspace`) or a bare
:class:`workbook.model.Workspace`.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CHECKS",
    "Feedback",
    "Progress",
    "check",
    "check_conversion_rate",
    "check_data",
    "check_icp",
    "check_journey",
    "check_objectives",
    "check_personas",
    "check_refine",
    "check_stages",
    "check_touchpoints",
    "progress",
]

#: Words that name the seller's pipeline rather than what the customer is doing. Stages named
#: with them read like a sales report, not a journey.
_SELLER_WORDS = re.compile(
    r"\b(lead|leads|mql|sql|prospect|prospects|pipeline|opportunity|qualified|qualification|"
    r"closed[- ]won|closed[- ]lost|funnel|upsell|churn)\b",
    re.IGNORECASE,
)


@dataclass
class Feedback:
    """What a check found.

    Parameters
    ----------
    ok
        True when the exercise is done well enough to move on.
    message
        One sentence: the verdict.
    hints
        What to improve, most important first. May be non-empty when ``ok`` (suggestions).
    """

    ok: bool
    message: str
    hints: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = ("Done: " if self.ok else "Not yet: ") + self.message
        return "\n".join([head, *(f"  - {h}" for h in self.hints)])

    def _repr_html_(self) -> str:
        colour, mark, state = (
            ("#2E7D32", "&#10003;", "ok") if self.ok else ("#B26A00", "&#9998;", "todo")
        )
        hints = "".join(f"<li>{html.escape(h)}</li>" for h in self.hints)
        return (
            f'<div class="wb-feedback wb-feedback-{state}" '
            f'style="border-left:4px solid {colour};padding:4px 10px;margin:6px 0">'
            f'<b style="color:{colour}">{mark} {html.escape(self.message)}</b>'
            + (f"<ul>{hints}</ul>" if hints else "")
            + "</div>"
        )


def _data(ws: Any) -> Any:
    """The model, from an open workspace or the model itself."""
    return getattr(ws, "data", ws)


def _safe(fn: Callable[..., Feedback]) -> Callable[..., Feedback]:
    """Turn anything a check raises into feedback: trainees see advice, never a traceback."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Feedback:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # a check must never stop a trainee's notebook
            from workbook.exceptions import WorkbookError

            detail = (
                "; ".join(exc.lines())
                if isinstance(exc, WorkbookError)
                else f"{type(exc).__name__}: {exc}"
            )
            return Feedback(
                False,
                "This check could not run on your workspace.",
                [detail, "Re-run the cells above from the top; if it persists, ask your trainer."],
            )

    return run


def _verdict(ok: bool, done: str, todo: str, hints: list[str]) -> Feedback:
    return Feedback(ok, done if ok else todo, hints)


# ------------------------------------------------------------------------------ step 1


@_safe
def check_objectives(ws: Any) -> Feedback:
    """Each objective has a measurable KPI and a numeric target (and ideally a baseline)."""
    data = _data(ws)
    if not data.objectives:
        return Feedback(
            False,
            "No objective yet.",
            ["Add one objective: why is this client mapping the journey?"],
        )
    hints: list[str] = []
    missing = False
    for o in data.objectives:
        if not o.kpi.strip():
            missing = True
            hints.append(
                f"'{o.title}': name the KPI that shows progress (for example a conversion rate)."
            )
        if o.target is None:
            missing = True
            hints.append(f"'{o.title}': give a numeric target, so you can tell when it is reached.")
        elif o.baseline is None:
            hints.append(f"'{o.title}': add today's value as the baseline, to measure the change.")
        if not o.owner.strip():
            hints.append(f"'{o.title}': say who owns it.")
    return _verdict(
        not missing,
        f"All {len(data.objectives)} objectives are measurable.",
        "Some objectives cannot be measured yet.",
        hints,
    )


# ------------------------------------------------------------------------------ step 2


@_safe
def check_personas(ws: Any) -> Feedback:
    """Each persona has goals, pains and preferred channels; two to five personas in all."""
    data = _data(ws)
    if not data.personas:
        return Feedback(
            False, "No persona yet.", ["Add a persona for the buyer you meet most often."]
        )
    hints: list[str] = []
    missing = False
    for p in data.personas:
        lacking = [
            what
            for what, value in (
                ("goals", p.goals),
                ("pains", p.pains),
                ("preferred channels", p.preferred_channels),
            )
            if not value
        ]
        if lacking:
            missing = True
            hints.append(f"'{p.name}' has no {', no '.join(lacking)}.")
        if not p.objections:
            hints.append(f"'{p.name}': which objections does this buyer raise before buying?")
    n = len(data.personas)
    if n == 1:
        hints.append("One persona rarely covers a client's buyers: most maps use two to four.")
    elif n > 5:
        hints.append(f"{n} personas is a lot to map; merge the ones whose journeys look the same.")
    return _verdict(
        not missing,
        f"All {n} personas have goals, pains and channels.",
        "Some personas are not complete.",
        hints,
    )


@_safe
def check_icp(ws: Any) -> Feedback:
    """Every ICP answers the eight questions of the checklist."""
    from workbook.model import ICP_QUESTIONS

    data = _data(ws)
    if not data.icps:
        return Feedback(
            False, "No ideal customer profile yet.", ["Add one and answer its eight questions."]
        )
    hints = []
    for icp in data.icps:
        open_questions = [q for key, q in ICP_QUESTIONS.items() if not getattr(icp, key).strip()]
        hints += [f"'{icp.name}': {q}" for q in open_questions]
    return _verdict(
        not hints,
        "Every ICP answers all eight questions.",
        f"{len(hints)} ICP question(s) still open.",
        hints,
    )


# ------------------------------------------------------------------------------ step 3


@_safe
def check_touchpoints(ws: Any) -> Feedback:
    """Each touchpoint serves a stage; every stage has a touchpoint; owners are named."""
    data = _data(ws)
    if not data.touchpoints:
        return Feedback(
            False, "No touchpoint yet.", ["List every place the customer meets the client."]
        )
    hints: list[str] = []
    missing = False
    for t in data.touchpoints:
        if not t.stages:
            missing = True
            hints.append(f"'{t.name}': which stage does it serve?")
        if not t.owner.strip():
            hints.append(f"'{t.name}': who owns it?")
    served = {s for t in data.touchpoints for s in t.stages}
    for stage in data.stages:
        if stage.id not in served:
            missing = True
            hints.append(
                f"Stage '{stage.name}' has no touchpoint: "
                "how does the customer meet the client there?"
            )
    kinds = {t.kind for t in data.touchpoints}
    if len(kinds) == 1:
        other = (
            "physical (store, event, phone)"
            if "digital" in kinds
            else "digital (site, email, social)"
        )
        hints.append(f"All touchpoints are {next(iter(kinds))}: are there no {other} ones?")
    return _verdict(
        not missing,
        f"{len(data.touchpoints)} touchpoints cover every stage.",
        "The inventory has gaps.",
        hints,
    )


# ------------------------------------------------------------------------------ step 4


@_safe
def check_stages(ws: Any) -> Feedback:
    """Stages are named in the customer's terms and each has entry and exit criteria."""
    data = _data(ws)
    if len(data.stages) < 3:
        return Feedback(
            False,
            "A journey needs at least three stages.",
            ["Start from awareness, consideration, purchase, retention and advocacy."],
        )
    hints: list[str] = []
    missing = False
    for s in data.stages:
        word = _SELLER_WORDS.search(f"{s.name} {s.description}")
        if word:
            missing = True
            hints.append(
                f"'{s.name}' uses the seller's word '{word.group(0)}': "
                "say what the customer does instead."
            )
        if not s.entry_criteria.strip() or not s.exit_criteria.strip():
            missing = True
            hints.append(
                f"'{s.name}': say what makes a customer enter it and what makes them leave."
            )
    return _verdict(
        not missing,
        f"All {len(data.stages)} stages read from the customer's side, "
        "with entry and exit criteria.",
        "Some stages need work.",
        hints,
    )


# ------------------------------------------------------------------------------ step 5


@_safe
def check_data(ws: Any) -> Feedback:
    """At least one CRM export is imported, with few rows rejected."""
    data = _data(ws)
    if not data.data_sources:
        return Feedback(
            False,
            "No CRM data imported yet.",
            ["Import an export of contacts and their lifecycle stages with the form above."],
        )
    hints = []
    for src in data.data_sources:
        total = src.rows + src.rejected
        if total and src.rejected / total > 0.05:
            hints.append(
                f"{src.file}: {src.rejected} of {total} rows were set aside; "
                "look at why before trusting the numbers."
            )
    hints.append("Add anecdotal data too: interviews, reviews, 1-10 ratings.")
    rows = sum(s.rows for s in data.data_sources)
    return Feedback(True, f"{len(data.data_sources)} source(s) imported, {rows:,} rows.", hints)


@_safe
def check_conversion_rate(
    ws: Any, from_stage: str, to_stage: str, answer: float | None
) -> Feedback:
    """Compare a trainee's conversion rate from one stage to the next with the data.

    The rate is the funnel's (:func:`workbook.analytics.funnel.funnel`): of the contacts who
    reached ``from_stage``, the share who also entered ``to_stage``, the stage right after it.
    ``answer`` may be a fraction (0.23) or a percentage (23); within half a percentage point
    counts as right.
    """
    if getattr(ws, "path", None) is None:
        return Feedback(
            False, "This check needs an open workspace with data.", ["Pass `ws`, not `ws.data`."]
        )
    ids = _data(ws).stage_ids()
    for stage in (from_stage, to_stage):
        if stage not in ids:
            return Feedback(
                False,
                f"There is no stage '{stage}' in this workspace.",
                [f"Stages: {', '.join(ids)}."],
            )
    if ids.index(to_stage) != ids.index(from_stage) + 1:
        return Feedback(
            False,
            f"'{to_stage}' is not the stage right after '{from_stage}'.",
            [f"Pick two neighbouring stages, like {ids[0]} -> {ids[1]}."],
        )
    if answer is None:
        return Feedback(
            False,
            "Type your answer first.",
            [f"Work out the {from_stage} -> {to_stage} rate, then run this again."],
        )
    from workbook.analytics.funnel import funnel

    table = funnel(ws).set_index("stage")
    reached = int(table.loc[from_stage, "contacts"])
    if reached == 0:
        return Feedback(
            False, f"No contact reached '{from_stage}' in this data.", ["Import CRM data first."]
        )
    moved = int(table.loc[from_stage, "reached_next"])
    truth = moved / reached
    given = answer / 100 if answer > 1 else answer
    if abs(given - truth) <= 0.005:
        return Feedback(
            True, f"Right: {truth:.1%} of contacts who reached {from_stage} went on to {to_stage}."
        )
    hints = [f"Start from the contacts who reached '{from_stage}': they are the denominator."]
    first = int(table["contacts"].iloc[0])
    if first and abs(given - moved / first) <= 0.005:
        hints.insert(
            0,
            "You divided by the contacts of the first stage; "
            "divide by those who reached the earlier stage.",
        )
    if answer > 100:
        hints.insert(0, "A rate is at most 100%.")
    return Feedback(False, f"Not quite: {given:.1%} is not what the data says.", hints)


# ------------------------------------------------------------------------------ step 6


@_safe
def check_journey(ws: Any) -> Feedback:
    """Every persona has a map with a cell per stage, an emotion score and a pain point."""
    data = _data(ws)
    if not data.personas:
        return Feedback(False, "Map needs personas first.", ["Complete step 2."])
    hints: list[str] = []
    for p in data.personas:
        journey = data.journey(p.id)
        if journey is None:
            hints.append(f"'{p.name}' has no map yet.")
            continue
        unscored = [
            s.name
            for s in data.stages
            if (c := journey.stages.get(s.id)) is None or c.emotion is None
        ]
        if unscored:
            hints.append(f"'{p.name}': score the emotion at {', '.join(unscored)}.")
        if not any(c.pain_points for c in journey.stages.values()):
            hints.append(
                f"'{p.name}': where does this buyer struggle? Add at least one pain point."
            )
        if len(journey.lanes) < 3:
            hints.append(f"'{p.name}': show three to five lanes.")
    return _verdict(
        not hints,
        "Every persona has a complete map with an emotion curve.",
        "Some maps are not complete.",
        hints,
    )


# ------------------------------------------------------------------------------ step 7


@_safe
def check_refine(ws: Any) -> Feedback:
    """Best and worst moments marked, recommendations tied to touchpoints, key processes owned."""
    data = _data(ws)
    hints: list[str] = []
    missing = False
    for j in data.journeys:
        kinds = {a.kind for a in j.annotations}
        name = next((p.name for p in data.personas if p.id == j.persona), j.persona)
        for kind, words in (
            ("best-moment", "most positive moment"),
            ("worst-struggle", "worst struggle"),
        ):
            if kind not in kinds:
                missing = True
                hints.append(f"'{name}': mark the {words}.")
        if not j.recommendations:
            missing = True
            hints.append(f"'{name}': write at least one recommendation.")
        for r in j.recommendations:
            if r.touchpoint is None:
                hints.append(f"Recommendation '{r.id}': place it next to the touchpoint it fixes.")
    if not data.journeys:
        missing = True
        hints.append("Build a journey map first (step 6).")
    key = [p for p in data.processes if p.key]
    if not key:
        hints.append("Mark the handful of customer-facing processes that matter most as key.")
    for p in key:
        for what, value in (
            ("an owner", p.owner),
            ("a CRM goal", p.crm_goal),
            ("a service level", p.service_level),
        ):
            if not value:
                hints.append(f"Key process '{p.name}' needs {what}.")
    snapshots = getattr(ws, "snapshots", None)
    if callable(snapshots) and not snapshots():
        hints.append(
            "Take a snapshot before changing the map, so you can compare before and after."
        )
    return _verdict(
        not missing,
        "The map is annotated and has recommendations.",
        "The refine step is not finished.",
        hints,
    )


#: The check for each step id (the ids of :data:`workbook.method.STEPS`, plus ``icp``).
CHECKS: dict[str, Callable[[Any], Feedback]] = {
    "objectives": check_objectives,
    "personas": check_personas,
    "icp": check_icp,
    "touchpoints": check_touchpoints,
    "stages": check_stages,
    "data": check_data,
    "visualise": check_journey,
    "refine": check_refine,
}


def check(step: str, ws: Any) -> Feedback:
    """Run the check of a step by its id (``"personas"``); an unknown id is feedback too."""
    fn = CHECKS.get(step)
    if fn is None:
        return Feedback(
            False, f"There is no check called {step!r}.", [f"Known: {', '.join(CHECKS)}."]
        )
    return fn(ws)


@dataclass
class Progress:
    """Every step's check at once: where a trainee (or an engagement) stands."""

    results: dict[str, Feedback]

    @property
    def done(self) -> int:
        return sum(f.ok for f in self.results.values())

    def __str__(self) -> str:
        lines = [f"{self.done} of {len(self.results)} checks done"]
        lines += [
            f"  [{'x' if f.ok else ' '}] {step}: {f.message}" for step, f in self.results.items()
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{'&#10003;' if f.ok else '&#9675;'}</td><td>{html.escape(step)}</td>"
            f"<td>{html.escape(f.message)}</td></tr>"
            for step, f in self.results.items()
        )
        return (
            f'<div class="wb-progress"><b>{self.done} of {len(self.results)} checks done</b>'
            f"<table>{rows}</table></div>"
        )


def progress(ws: Any) -> Progress:
    """Run every step's check on the workspace."""
    return Progress({step: fn(ws) for step, fn in CHECKS.items()})
