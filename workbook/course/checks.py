"""Exercise checks for trainees: each looks at a workspace and says what is right, what is
missing, and where to look next, without giving the answer away.

A check never raises at a trainee. It returns a :class:`Feedback` (``ok``, a one-line
``message``, ``hints`` naming what to fix and ``right`` naming what is already good); if the
check itself cannot run (a file it needs is missing, say), the feedback says so instead of
showing a traceback. Notebooks display the feedback as a small panel; scripts and tests read
its fields.

Every check takes an open workspace (:func:`workbook.store.open_workspace`) or a bare
:class:`workbook.model.Workspace`.

The rules of substance
----------------------
Objectives
    Each objective has a KPI named in words, a metric the workspace can compute (the grammar
    of :attr:`workbook.model.Objective.metric`, with stages the workspace has), a baseline and
    a target in the metric's range (a share is 0-1, or 0-100 with the unit ``%``; days are
    more than 0; a reach is a whole number), a target better than the baseline in the
    metric's direction (days: lower is better; everything else: higher), and an owner.
Personas
    Each persona has goals and pains written as phrases (two words or more, not a label such
    as "price") and preferred channels, and every preferred channel is the channel of at
    least one touchpoint, so the map can show where the persona is met.
ICP
    All eight questions answered, and not with one sentence pasted into several of them.
Touchpoints
    Each touchpoint serves a stage and has an owner; every stage has a touchpoint.
Stages
    At least three stages, named from the customer's side (no seller's words), each with an
    entry and an exit criterion that are observable and differ: a criterion is observable
    when the CRM or the client's systems could record it, which this check reads as naming
    a stage of the workspace (its name, id or a CRM name it takes), naming an action or an
    event from :data:`OBSERVABLE_WORDS` (orders, books, a visit, a reply...), or giving a
    number (a score of 50, within 30 days). "Is interested" or "feels ready" are not.
Data
    At least one CRM export imported, few rows set aside.
Conversion rate
    The trainee's rate equals the funnel's within half a percentage point.
Journey
    Every persona has a map with an emotion score at every stage, a pain point and three
    lanes or more.
Refine
    Each map marks its best moment and worst struggle and has a recommendation; every
    recommendation sits next to a touchpoint, has an owner and names the KPI (a KPI of the
    measurement list, or an objective) that will show whether it worked, and that KPI can
    be computed.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from workbook import method

_P = ParamSpec("_P")
_R = TypeVar("_R")

__all__ = [
    "CHECKS",
    "LOWER_IS_BETTER",
    "OBSERVABLE_WORDS",
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
    "lesson_checks",
    "metric_problem",
    "observable",
    "progress",
]

#: Words that name the seller's pipeline rather than what the customer is doing. Stages named
#: with them read like a sales report, not a journey.
_SELLER_WORDS = re.compile(
    r"\b(lead|leads|mql|sql|prospect|prospects|pipeline|opportunity|qualified|qualification|"
    r"closed[- ]won|closed[- ]lost|funnel|upsell|churn)\b",
    re.IGNORECASE,
)

#: Metric heads whose value is better when it is lower (they count days).
LOWER_IS_BETTER = frozenset({"time-to-close-days", "median-days"})
_SHARES = frozenset({"conversion", "win-rate", "channel-rate"})
_METRIC_FORMS = (
    "conversion:<from-stage>:<to-stage>, reach:<stage>, win-rate, time-to-close-days, "
    "median-days:<stage> or channel-rate:<channel>:<open|click|reply>"
)

#: Actions and events a CRM, a shop system or a calendar records; a criterion naming one is
#: observable. Verbs are listed by their stem; their usual forms (-s, -ed, -ing) count too.
_VERBS = (
    "accept answer apply ask attend book buy call cancel chat click comment complete confirm "
    "contact download email enquire fill finish follow install join log message open order "
    "pay place publish purchase rate receive refer register renew reply request return review "
    "score send share sign start submit subscribe survey tick upgrade use view visit watch "
    "write deliver redeem print collect measure quote"
)
_IRREGULAR = "bought paid sent wrote written signed-up met left gave given took taken"
_NOUNS = (
    "application booking call cancellation click complaint contract deposit delivery demo "
    "download email enquiry form installation invoice meeting order payment purchase quote "
    "rating referral registration renewal reply request review sign-up signup subscription "
    "survey trial visit voucher"
)


def _forms(stem: str) -> set[str]:
    forms = {stem, stem + "s", stem + "es", stem + "ed", stem + "ing", stem + "d"}
    if stem.endswith("e"):
        forms |= {stem[:-1] + "ing", stem + "d"}
    if stem.endswith("y") and stem[-2] not in "aeiou":
        forms |= {stem[:-1] + "ies", stem[:-1] + "ied"}
    if re.fullmatch(r".*[^aeiou][aeiou][bdgmnpt]", stem):  # shop -> shopped
        forms |= {stem + stem[-1] + "ed", stem + stem[-1] + "ing"}
    return forms


#: Every word form :func:`observable` accepts as an action or event.
OBSERVABLE_WORDS: frozenset[str] = frozenset(
    {f for v in _VERBS.split() for f in _forms(v)}
    | set(_IRREGULAR.split())
    | {f for n in _NOUNS.split() for f in (n, n + "s")}
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
    right
        What is already good, so the trainee knows what to keep.
    """

    ok: bool
    message: str
    hints: list[str] = field(default_factory=list)
    right: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = ("Done: " if self.ok else "Not yet: ") + self.message
        return "\n".join(
            [head, *(f"  + {r}" for r in self.right), *(f"  - {h}" for h in self.hints)]
        )

    def _repr_html_(self) -> str:
        colour, mark, state = (
            ("#2E7D32", "&#10003;", "ok") if self.ok else ("#B26A00", "&#9998;", "todo")
        )
        right = "".join(
            f"<li style=\"color:#2E7D32;list-style:'\\2713  '\">{html.escape(r)}</li>"
            for r in self.right
        )
        hints = "".join(f"<li>{html.escape(h)}</li>" for h in self.hints)
        return (
            f'<div class="wb-feedback wb-feedback-{state}" '
            f'style="border-left:4px solid {colour};padding:4px 10px;margin:6px 0">'
            f'<b style="color:{colour}">{mark} {html.escape(self.message)}</b>'
            + (f'<ul class="wb-feedback-right">{right}</ul>' if right else "")
            + (f'<ul class="wb-feedback-hints">{hints}</ul>' if hints else "")
            + "</div>"
        )

    def to_dict(self) -> dict[str, Any]:
        """The feedback as plain data (JSON), for hand-ins and the trainer's view."""
        return {"ok": self.ok, "message": self.message, "hints": self.hints, "right": self.right}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Feedback:
        return cls(
            bool(data.get("ok")),
            str(data.get("message", "")),
            [str(h) for h in data.get("hints", [])],
            [str(r) for r in data.get("right", [])],
        )


def _data(ws: Any) -> Any:
    """The model, from an open workspace or the model itself."""
    return getattr(ws, "data", ws)


def _safe(fn: Callable[_P, _R]) -> Callable[_P, _R | Feedback]:
    """Turn anything a check raises into feedback: trainees see advice, never a traceback."""

    @functools.wraps(fn)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R | Feedback:
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


def _verdict(ok: bool, done: str, todo: str, hints: list[str], right: list[str]) -> Feedback:
    return Feedback(ok, done if ok else todo, hints, right)


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'-]+", text.lower())


def _short(text: str, limit: int = 48) -> str:
    """The text cut at a word before ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "..."


def _phrases(items: Iterable[str]) -> list[str]:
    """The entries written as a phrase (two words or more), not a one-word label."""
    return [i for i in items if len(_words(i)) >= 2]


# ------------------------------------------------------------------------------ step 1


def metric_problem(data: Any, metric: str | None) -> str | None:
    """Why a metric cannot be computed in this workspace, or None when it can.

    The rule is the method's (:func:`workbook.method.metric_problem`: the grammar of
    :attr:`workbook.model.Objective.metric`, the workspace's stage ids, a conversion from an
    earlier stage to a later one, a channel rate on a channel id); the course adds only that an
    objective must have a metric at all.
    """
    if not metric or not metric.strip():
        return "there is no metric to compute it from"
    return method.metric_problem(metric, [s.id for s in data.stages])


def _is_percent(unit: str) -> bool:
    return unit.strip().lower() in ("%", "percent", "pct", "per cent")


def _range_problem(head: str, unit: str, value: float, what: str) -> str | None:
    if head in _SHARES:
        top = 100.0 if _is_percent(unit) else 1.0
        if not 0 <= value <= top:
            return (
                f"the {what} {value:g} is no share: a share runs from 0 to 1, "
                "or from 0 to 100 when the unit is %"
            )
    elif head in LOWER_IS_BETTER:
        if value <= 0:
            return f"the {what} {value:g} is not a number of days (more than 0)"
    elif head == "reach" and (value < 0 or value != int(value)):
        return f"the {what} {value:g} is not a number of contacts"
    return None


def _objective_problems(data: Any, o: Any) -> tuple[list[str], list[str]]:
    """(what is missing, what is right) for one objective."""
    missing: list[str] = []
    right: list[str] = []
    name = f"'{o.title}'"
    if not o.kpi.strip():
        missing.append(f"{name}: name its KPI in words, the way the client would say it.")
    problem = metric_problem(data, o.metric)
    if problem:
        missing.append(
            f"{name}: the KPI cannot be computed yet: {problem}"
            + (
                ""
                if "use one of" in problem
                else f". Write in 'Computed from data as' one of {_METRIC_FORMS}"
            )
            + (
                f", with this workspace's stage ids ({', '.join(data.stage_ids())})."
                if "stage id" not in problem and data.stages
                else "."
            )
        )
        head = ""
    else:
        head = (o.metric or "").split(":")[0].strip()
        right.append(f"{name}: the KPI can be computed from the data ({o.metric}).")
    for what, value in (("baseline", o.baseline), ("target", o.target)):
        if value is None:
            missing.append(
                f"{name}: give a {what}"
                + (" (today's value, to measure the change from)." if what == "baseline" else ".")
            )
        elif head and (bad := _range_problem(head, o.unit, value, what)):
            missing.append(f"{name}: {bad}.")
    if head and o.baseline is not None and o.target is not None and not missing:
        lower = head in LOWER_IS_BETTER
        better = o.target < o.baseline if lower else o.target > o.baseline
        if not better:
            missing.append(
                f"{name}: the target is not an improvement on the baseline: for this metric "
                + ("fewer days is better." if lower else "a higher value is better.")
            )
        else:
            right.append(f"{name}: the target improves on the baseline in the right direction.")
    if not o.owner.strip():
        missing.append(f"{name}: say who owns it (a role at the client).")
    return missing, right


@_safe
def check_objectives(ws: Any) -> Feedback:
    """Each objective has a computable KPI, a baseline and a better target, and an owner."""
    data = _data(ws)
    if not data.objectives:
        return Feedback(
            False,
            "No objective yet.",
            ["Add one objective: why is this client mapping the journey?"],
        )
    hints: list[str] = []
    right: list[str] = []
    for o in data.objectives:
        missing, good = _objective_problems(data, o)
        hints += missing
        right += good
    ok = not hints
    for o in data.objectives:
        if o.due is None:
            hints.append(f"'{o.title}': a due date tells the client when to look again.")
    return _verdict(
        ok,
        (
            "The objective is measurable, with a target that improves."
            if len(data.objectives) == 1
            else f"All {len(data.objectives)} objectives are measurable, "
            "with a target that improves."
        ),
        "Some objectives cannot be measured yet.",
        hints,
        right,
    )


# ------------------------------------------------------------------------------ step 2


@_safe
def check_personas(ws: Any) -> Feedback:
    """Each persona has goals and pains as phrases and channels its touchpoints serve."""
    data = _data(ws)
    if not data.personas:
        return Feedback(
            False, "No persona yet.", ["Add a persona for the buyer you meet most often."]
        )
    hints: list[str] = []
    right: list[str] = []
    served = {t.channel for t in data.touchpoints}
    for p in data.personas:
        name = f"'{p.name}'"
        before = len(hints)
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
            hints.append(f"{name} has no {', no '.join(lacking)}.")
        before = len(hints)  # goals and pains are judged apart from the channels
        for what, items in (("goal", p.goals), ("pain", p.pains)):
            labels = [i for i in items if i not in _phrases([i])]
            if items and labels:
                hints.append(
                    f"{name}: the {what} '{labels[0]}' is a label, not a {what}: "
                    f"say in a phrase what the buyer {'wants' if what == 'goal' else 'suffers'}."
                )
        if p.goals and p.pains and len(hints) == before:
            right.append(f"{name} has goals and pains in the buyer's words.")
        if p.preferred_channels:
            if not data.touchpoints:
                hints.append(
                    f"{name}: no touchpoint is listed yet; once step 3 lists them, each of "
                    "this buyer's channels must be served by one."
                )
            else:
                unserved = [c for c in p.preferred_channels if c not in served]
                if unserved:
                    from workbook.model import CHANNELS

                    # named as the forms list them (Website, not web)
                    shown = [CHANNELS.get(c, c) for c in unserved]
                    hints.append(
                        f"{name} prefers {', '.join(shown)}, but no touchpoint works on "
                        f"{'that channel' if len(unserved) == 1 else 'those channels'}: "
                        "add the touchpoint in step 3, or check the channel is right."
                    )
                else:
                    right.append(f"{name}: every preferred channel has a touchpoint.")
        if not p.objections:
            hints.append(f"{name}: which objections does this buyer raise before buying?")
    blocking = [h for h in hints if "objections" not in h]
    n = len(data.personas)
    if n == 1:
        hints.append("One persona rarely covers a client's buyers: most maps use two to four.")
    elif n > 5:
        hints.append(f"{n} personas is a lot to map; merge the ones whose journeys look the same.")
    return _verdict(
        not blocking,
        (
            "The persona has goals, pains and channels the touchpoints serve."
            if n == 1
            else f"All {n} personas have goals, pains and channels the touchpoints serve."
        ),
        "Some personas are not complete.",
        hints,
        right,
    )


@_safe
def check_icp(ws: Any) -> Feedback:
    """Every ICP answers the eight questions of the checklist, each in its own words."""
    from workbook.model import ICP_QUESTIONS

    data = _data(ws)
    if not data.icps:
        return Feedback(
            False, "No ideal customer profile yet.", ["Add one and answer its eight questions."]
        )
    hints: list[str] = []
    right: list[str] = []
    for icp in data.icps:
        answers = {key: getattr(icp, key).strip() for key in ICP_QUESTIONS}
        open_questions = [q for key, q in ICP_QUESTIONS.items() if not answers[key]]
        hints += [f"'{icp.name}': {q}" for q in open_questions]
        given = [a.lower() for a in answers.values() if a]
        repeated = {a for a in given if given.count(a) > 2}
        if repeated:
            hints.append(
                f"'{icp.name}': {sum(given.count(a) for a in repeated)} questions have the same "
                "answer; each asks something different."
            )
        elif not open_questions:
            right.append(f"'{icp.name}' answers all eight questions.")
    return _verdict(
        not hints,
        "Every ICP answers all eight questions.",
        "Some ICP questions are still open.",
        hints,
        right,
    )


# ------------------------------------------------------------------------------ step 3


@_safe
def check_touchpoints(ws: Any) -> Feedback:
    """Each touchpoint serves a stage and has an owner; every stage has a touchpoint."""
    data = _data(ws)
    if not data.touchpoints:
        return Feedback(
            False, "No touchpoint yet.", ["List every place the customer meets the client."]
        )
    hints: list[str] = []
    right: list[str] = []
    for t in data.touchpoints:
        if not t.stages:
            hints.append(f"'{t.name}': which stage does it serve? (Stages it serves)")
        if not t.owner.strip():
            hints.append(f"'{t.name}': who owns it at the client? (Owner)")
    served = {s for t in data.touchpoints for s in t.stages}
    covered = [s.name for s in data.stages if s.id in served]
    for stage in data.stages:
        if stage.id not in served:
            hints.append(
                f"Stage '{stage.name}' has no touchpoint: "
                "how does the customer meet the client there?"
            )
    if covered:
        right.append(f"Stages with a touchpoint: {', '.join(covered)}.")
    ok = not hints
    kinds = {t.kind for t in data.touchpoints}
    if len(kinds) == 1:
        other = (
            "physical (store, event, phone)"
            if "digital" in kinds
            else "digital (site, email, social)"
        )
        hints.append(f"All touchpoints are {next(iter(kinds))}: are there no {other} ones?")
    return _verdict(
        ok,
        f"{len(data.touchpoints)} touchpoints cover every stage, each with an owner.",
        "The inventory has gaps.",
        hints,
        right,
    )


# ------------------------------------------------------------------------------ step 4


def _stage_words(data: Any) -> list[str]:
    names = []
    for s in data.stages:
        names += [s.id, s.name, s.id.replace("-", " "), *s.aliases]
    return [n.lower() for n in names if n.strip()]


def observable(text: str, stage_names: Iterable[str] = ()) -> bool:
    """Whether a stage criterion names something a system could record.

    True when the text gives a number, names one of ``stage_names`` (whole words, any case)
    or contains a word of :data:`OBSERVABLE_WORDS`.
    """
    low = text.lower()
    if re.search(r"\d", low):
        return True
    if any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", low) for n in stage_names):
        return True
    return any(w in OBSERVABLE_WORDS for w in _words(low))


@_safe
def check_stages(ws: Any) -> Feedback:
    """Stages are named in the customer's terms; entry and exit criteria are observable."""
    data = _data(ws)
    if len(data.stages) < 3:
        return Feedback(
            False,
            "A journey needs at least three stages.",
            ["Start from awareness, consideration, purchase, retention and advocacy."],
        )
    hints: list[str] = []
    right: list[str] = []
    names = _stage_words(data)
    for s in data.stages:
        word = _SELLER_WORDS.search(f"{s.name} {s.description}")
        if word:
            hints.append(
                f"'{s.name}' uses the seller's word '{word.group(0)}': "
                "say what the customer does instead."
            )
        good = 0
        if not s.entry_criteria.strip() and not s.exit_criteria.strip():
            hints.append(
                f"'{s.name}': write its entry and exit criteria in 'Enters when' and 'Leaves "
                "when': what makes a customer enter it, and what moves them on to the next "
                "stage?"
            )
            continue
        for what, text in (("entry", s.entry_criteria), ("exit", s.exit_criteria)):
            label = "Enters when" if what == "entry" else "Leaves when"
            if not text.strip():
                hints.append(
                    f"'{s.name}': write its {what} criterion in '{label}': what makes a customer "
                    + ("enter it?" if what == "entry" else "leave it for the next stage?")
                )
            elif not observable(text, names):
                hints.append(
                    f"'{s.name}': the {what} criterion '{text}' cannot be seen in any system. "
                    f"Name in '{label}' something recorded: an action (orders, books, replies), "
                    "a stage change, or a number."
                )
            else:
                good += 1
        if s.entry_criteria.strip() and s.entry_criteria.strip() == s.exit_criteria.strip():
            hints.append(f"'{s.name}': entering and leaving cannot be the same event.")
        elif good == 2 and not word:
            right.append(f"'{s.name}' has observable entry and exit criteria.")
    return _verdict(
        not hints,
        f"All {len(data.stages)} stages read from the customer's side, "
        "with entry and exit criteria a system can record.",
        "Some stages need work.",
        hints,
        right,
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
    counts as right. In a course case (:mod:`workbook.course.case`) the answer and the
    feedback are kept, so the trainer's view shows them.
    """
    fb = _conversion_rate(ws, from_stage, to_stage, answer)
    if answer is not None and getattr(ws, "path", None) is not None:
        from workbook.course.case import record_answer
        from workbook.exceptions import WorkbookError

        try:
            record_answer(ws.path, from_stage, to_stage, answer, fb)
        except WorkbookError as exc:
            fb.hints.append(str(exc))
    return fb


def _conversion_rate(ws: Any, from_stage: str, to_stage: str, answer: float | None) -> Feedback:
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

    # The counts under the data form name the stages; the parameters use their ids.
    names = {s.id: f"'{s.name}' ({s.id})" for s in _data(ws).stages}
    a, b = names[from_stage], names[to_stage]
    table = funnel(ws).set_index("stage")
    reached = int(table.loc[from_stage, "contacts"])
    if reached == 0:
        return Feedback(False, f"No contact reached {a} in this data.", ["Import CRM data first."])
    moved = int(table.loc[from_stage, "reached_next"])
    truth = moved / reached
    given = answer / 100 if answer > 1 else answer
    if abs(given - truth) <= 0.005:
        return Feedback(True, f"Right: {truth:.1%} of contacts who reached {a} went on to {b}.")
    hints = [f"Start from the contacts who reached {a}: they are the denominator."]
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
    right: list[str] = []
    for p in data.personas:
        journey = data.journey(p.id)
        if journey is None:
            hints.append(
                f"'{p.name}' has no map yet: pick this persona above the map, then score a "
                "stage or type in a cell."
            )
            continue
        before = len(hints)
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
        if len(hints) == before:
            right.append(f"'{p.name}' has a complete map with an emotion curve.")
    return _verdict(
        not hints,
        "Every persona has a complete map with an emotion curve.",
        "Some maps are not complete.",
        hints,
        right,
    )


# ------------------------------------------------------------------------------ step 7


def _kpi_problem(data: Any, ref: str | None) -> str | None:
    """Why a recommendation's KPI reference does not measure anything, or None."""
    if not ref:
        return (
            "pick in 'KPI it should move' the KPI (or objective) that will show whether it worked"
        )
    kpi = next((k for k in data.measurement.kpis if k.id == ref), None)
    item = kpi or next((o for o in data.objectives if o.id == ref), None)
    if item is None:
        return f"its KPI '{ref}' is neither a KPI nor an objective of this workspace"
    problem = metric_problem(data, item.metric)
    if problem:
        return (
            f"its KPI cannot be computed: {problem} (fill its 'Computed from data as' in "
            "step 1's form)"
        )
    return None


@_safe
def check_refine(ws: Any) -> Feedback:
    """Best and worst moments marked; each recommendation next to a touchpoint, with an owner
    and a KPI that can be computed; key processes owned."""
    data = _data(ws)
    hints: list[str] = []
    right: list[str] = []
    missing = False
    for j in data.journeys:
        kinds = {a.kind for a in j.annotations}
        name = next((p.name for p in data.personas if p.id == j.persona), j.persona)
        for kind, words in (
            ("best-moment", "Best moment"),
            ("worst-struggle", "Worst struggle"),
        ):
            if kind not in kinds:
                missing = True
                hints.append(f"'{name}': mark its {words.lower()} (Mark: {words}).")
        if not j.recommendations:
            missing = True
            hints.append(f"'{name}': write at least one recommendation.")
        for r in j.recommendations:
            label = f"Recommendation '{_short(r.text)}'"
            gaps = []
            if r.touchpoint is None:
                gaps.append("place it next to the touchpoint it fixes ('Next to touchpoint')")
            if not r.owner.strip():
                gaps.append("give it an owner who will make it happen ('Owner')")
            problem = _kpi_problem(data, getattr(r, "kpi", None))
            if problem:
                gaps.append(problem)
            if gaps:
                missing = True
                hints.append(f"{label}: {'; '.join(gaps)}.")
            else:
                right.append(f"{label} has a touchpoint, an owner and a KPI.")
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
        "Every map is annotated and has recommendations, each owned and measured.",
        "The refine step is not finished.",
        hints,
        right,
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
    """Every exercise's check at once: where a trainee (or an engagement) stands."""

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
        from workbook import syllabus

        td = ' style="text-align:left;vertical-align:top"'
        rows = []
        for step, f in self.results.items():
            item = syllabus.lesson(_LESSON_OF.get(step, step))
            link = (
                f'<a class="wb-lesson-link" href="{html.escape(item.notebook)}">'
                f"{html.escape(item.title)}</a>"
            )
            rows.append(
                f"<tr><td{td}>{'&#10003;' if f.ok else '&#9675;'}</td>"
                f"<td{td}>{html.escape(step)}</td><td{td}>{link}</td>"
                f"<td{td}>{html.escape(f.message)}</td></tr>"
            )
        return (
            f'<div class="wb-progress"><b>{self.done} of {len(self.results)} checks done</b>'
            f"<table>{''.join(rows)}</table></div>"
        )


#: The lesson (step id) of each check that is not a step of its own.
_LESSON_OF = {"icp": "personas", "conversion-rate": "data"}


def lesson_checks(step: str, ws: Any) -> dict[str, Feedback]:
    """The exercise checks of one step's notebook (``"personas"``: the personas and the ICP),
    run on the workspace: what the course counts for that step, by check id."""
    return {name: fn(ws) for name, fn in CHECKS.items() if _LESSON_OF.get(name, name) == step}


def progress(ws: Any) -> Progress:
    """Run every step's check on the workspace; in a course case, with the conversion-rate
    exercise too (its last answer, checked again)."""
    results = {step: fn(ws) for step, fn in CHECKS.items()}
    path = getattr(ws, "path", None)
    if path is not None:
        from workbook.course.case import conversion_exercise

        fb = _safe(conversion_exercise)(ws)
        if fb is not None:
            results["conversion-rate"] = fb
    return Progress(results)
