"""The method as data: the seven mapping steps, the five DDMADV phases, and how far a
workspace has got through them.

:data:`STEPS` and :data:`PHASES` describe the method once, so the notebooks, the forms, the
course and the report all say the same thing about it. :func:`completeness` looks at a
:class:`~workbook.model.Workspace` and says, step by step, what is done and what is still
missing, in words a consultant can act on ("stage 'retention' has no exit criteria").
:func:`best_practice_checks` is the audit of the refine step (key processes, CRM goals,
owners, service levels, measuring per segment, recommendations with owners).

Everything here is a pure function of the workspace: no file access, no network, no import
of anything heavy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from workbook import model

__all__ = [
    "PHASES",
    "STEPS",
    "Finding",
    "Phase",
    "Step",
    "StepStatus",
    "best_practice_checks",
    "completeness",
    "metric_problem",
    "next_step",
    "phase",
    "step",
]


# ------------------------------------------------------------------------------ the method


@dataclass(frozen=True)
class Phase:
    """One phase of the DDMADV data cycle.

    Attributes
    ----------
    id
        The phase id used in :class:`~workbook.model.Cycle` (``discover`` ... ``validate``).
    title
        The display title, from :data:`workbook.model.PHASES`.
    purpose
        One paragraph: what the phase is for.
    activities
        What the consultant does in it.
    """

    id: str
    title: str
    purpose: str
    activities: tuple[str, ...]

    @property
    def steps(self) -> tuple[Step, ...]:
        """The mapping steps that sit (at least partly) in this phase."""
        return tuple(s for s in STEPS if self.id in s.phases)


@dataclass(frozen=True)
class Step:
    """One of the seven mapping steps.

    Attributes
    ----------
    number
        1 to 7, the order of the method.
    id
        A stable slug (``objectives``, ``personas`` ...).
    title
        The display title.
    purpose
        One paragraph: why the step exists.
    captures
        What the consultant captures with the client.
    fields
        The workspace fields the step fills, as field paths (``measurement.kpis``).
    phases
        The DDMADV phase ids the step sits in.
    notebook
        The notebook that covers the step, relative to the repository root.
    """

    number: int
    id: str
    title: str
    purpose: str
    captures: tuple[str, ...]
    fields: tuple[str, ...]
    phases: tuple[str, ...]
    notebook: str


PHASES: tuple[Phase, ...] = (
    Phase(
        id="discover",
        title=model.PHASES["discover"],
        purpose=(
            "Agree what the client offers and to whom. The value proposition is written as the "
            "jobs customers want done, the pains in the way and the gains they hope for; the "
            "market is cut into segments; personas get a storyline; and each buying stage is "
            "paired with the selling action that answers it."
        ),
        activities=(
            "value proposition as jobs, pains and gains",
            "segments: geographic, demographic, psychographic, behavioural",
            "ICPs and personas with a storyline",
            "stages, each with its selling action (attract, convert, reassure, retain, delight)",
        ),
    ),
    Phase(
        id="measure",
        title=model.PHASES["measure"],
        purpose=(
            "Decide how progress will be counted before anything changes. Lead-scoring rules "
            "weight what a contact does by the intent it shows; every objective gets a KPI "
            "with a baseline and a target; OKRs break each goal into key results and the "
            "to-dos that move them."
        ),
        activities=(
            "lead-scoring rules: high-intent actions score high, passive ones low",
            "KPIs: objective, metric, fix, evaluation",
            "OKRs: one objective, several key results, to-dos under each",
            "import the CRM exports",
        ),
    ),
    Phase(
        id="analyse",
        title=model.PHASES["analyse"],
        purpose=(
            "Find where the journey leaks and why. Gap analysis goes wide first, listing every "
            "component of a weak number, then deep into the weakest one, until the cause is "
            "specific enough to fix."
        ),
        activities=(
            "funnel, stage-to-stage movement and time in stage",
            "touchpoint use and attribution of won deals",
            "gap analysis: go wide, then go deep",
        ),
    ),
    Phase(
        id="design",
        title=model.PHASES["design"],
        purpose=(
            "Turn the findings into the journey the client wants. That means the desired map "
            "per persona, content for each stage, a channel mix per persona, a campaign "
            "control sheet, and a clear list of what to automate."
        ),
        activities=(
            "desired journey per persona",
            "content mapped to each stage",
            "channel mix and automation",
            "campaign control sheet: SEO targets, planned content, social calendar",
        ),
    ),
    Phase(
        id="validate",
        title=model.PHASES["validate"],
        purpose=(
            "Prove each change works before it reaches every customer: test processes and "
            "channels before launch, run split tests, then watch the numbers in a dashboard "
            "and start the cycle again when one moves."
        ),
        activities=(
            "test every process and channel before launch",
            "A/B experiments with a roll-out decision",
            "monitor in a dashboard; go round again when a number moves",
        ),
    ),
)

STEPS: tuple[Step, ...] = (
    Step(
        number=1,
        id="objectives",
        title="Define objectives",
        purpose=(
            "Say why the map is being drawn. An objective might be a better experience, fewer "
            "pain points or a higher conversion rate; each one needs a KPI that can be "
            "measured, a starting value, a target, a date and a person who owns it, or the "
            "map has nothing to be judged against."
        ),
        captures=(
            "objective and its kind",
            "KPI and how to compute it",
            "baseline, target and due date",
            "owner",
            "CRM goal",
            "KPIs: objective, metric, fix, evaluation",
            "OKRs: key results and the to-dos under each",
        ),
        fields=("objectives", "measurement.kpis", "measurement.okrs"),
        phases=("discover", "measure"),
        notebook="notebooks/01-objectives.ipynb",
    ),
    Step(
        number=2,
        id="personas",
        title="Create buyer personas",
        purpose=(
            "Describe who the journey is for. The ideal customer profile answers eight "
            "questions about the firms or households worth selling to; around three personas "
            "then give those buyers a face, with their segments, goals, jobs, pains, gains, "
            "favourite channels and the objections they raise."
        ),
        captures=(
            "value proposition",
            "segments of four kinds",
            "ICP: the eight questions",
            "personas: goals, jobs, pains, gains, channels, objections, quote, storyline",
        ),
        fields=("value_proposition", "segments", "icps", "personas"),
        phases=("discover",),
        notebook="notebooks/02-personas.ipynb",
    ),
    Step(
        number=3,
        id="touchpoints",
        title="List touchpoints",
        purpose=(
            "Record every place a customer meets the business, online and in person, who is "
            "responsible for it and at which stage it matters. Gaps in this list become "
            "blind spots on the map and in the data."
        ),
        captures=(
            "every digital and physical touchpoint",
            "its channel",
            "the stages it serves",
            "owner and service level",
        ),
        fields=("touchpoints",),
        phases=("discover",),
        notebook="notebooks/03-touchpoints.ipynb",
    ),
    Step(
        number=4,
        id="stages",
        title="Identify stages",
        purpose=(
            "Fix the spine of the map from the customer's side: the stages they pass through, "
            "with what marks the start and the end of each, so that the CRM data can place "
            "every contact in one of them."
        ),
        captures=("stages in order", "description", "entry and exit criteria", "selling action"),
        fields=("stages",),
        phases=("discover",),
        notebook="notebooks/04-stages.ipynb",
    ),
    Step(
        number=5,
        id="data",
        title="Gather data",
        purpose=(
            "Bring in the evidence. CRM exports and web analytics show what customers did; "
            "interviews, reviews and ratings show how they felt. Lead-scoring rules decide "
            "how much each thing a contact does counts, and the stage map says which of the "
            "client's CRM stage names belongs to which stage."
        ),
        captures=(
            "CRM exports",
            "stage map: the CRM's stage names for each stage",
            "anecdotal data: interviews, reviews, ratings",
            "lead-scoring rules",
        ),
        fields=(
            "data_sources",
            "stages.aliases",
            "ignored_stage_names",
            "measurement.scoring_rules",
        ),
        phases=("measure", "analyse"),
        notebook="notebooks/05-data.ipynb",
    ),
    Step(
        number=6,
        id="visualise",
        title="Visualise the journey",
        purpose=(
            "Draw one map per persona: stages across, lanes down for what the customer does, "
            "the touchpoints used, what they think and feel, where it hurts and what could be "
            "better. The emotion curve shows at a glance where the journey dips."
        ),
        captures=(
            "a map per persona",
            "actions, touchpoints, thoughts, pain points, opportunities",
            "an emotion score per stage",
        ),
        fields=("journeys",),
        phases=("analyse", "design"),
        notebook="notebooks/06-journey-map.ipynb",
    ),
    Step(
        number=7,
        id="refine",
        title="Iterate and refine",
        purpose=(
            "Mark the best and worst moments, write recommendations beside the touchpoints "
            "they fix, test changes and record each round. The map is revisited after every "
            "change, and the customer-facing processes behind it are audited."
        ),
        captures=(
            "best and worst moments",
            "recommendations with owners",
            "experiments",
            "key processes with CRM goal, owner and service level",
            "content per stage",
            "the cycle log",
        ),
        fields=(
            "journeys.annotations",
            "journeys.recommendations",
            "measurement.experiments",
            "processes",
            "content",
            "cycle",
        ),
        phases=("design", "validate"),
        notebook="notebooks/07-refine.ipynb",
    ),
)


def step(step_id: str) -> Step:
    """The step with this id (``"personas"``) or number as text (``"2"``).

    Raises
    ------
    KeyError
        Naming the known step ids.
    """
    for s in STEPS:
        if step_id in (s.id, str(s.number)):
            return s
    raise KeyError(f"no step {step_id!r} (known: {', '.join(s.id for s in STEPS)})")


def phase(phase_id: str) -> Phase:
    """The DDMADV phase with this id (``"measure"``).

    Raises
    ------
    KeyError
        Naming the known phase ids.
    """
    for p in PHASES:
        if p.id == phase_id:
            return p
    raise KeyError(f"no phase {phase_id!r} (known: {', '.join(p.id for p in PHASES)})")


# ------------------------------------------------------------------------------ findings


@dataclass(frozen=True)
class Finding:
    """One thing missing or short of best practice.

    Attributes
    ----------
    check
        A stable id of the check that failed (``"process-owner"``), for filtering and tests.
    message
        What is missing, naming the item (``"process 'repairs' has no owner"``).
    field
        The workspace field path to fix, when there is one (``"processes[4].owner"``).
    hint
        What to do about it, when the message alone does not say.
    """

    check: str
    message: str
    field: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


@dataclass(frozen=True)
class StepStatus:
    """How far a workspace has got with one step.

    Attributes
    ----------
    step
        The step.
    done
        What is in place, one short line each.
    missing
        What is still missing, as findings; empty when the step is complete.
    """

    step: Step
    done: tuple[str, ...] = ()
    missing: tuple[Finding, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def progress(self) -> float:
        """Share of this step's checks that pass, from 0.0 to 1.0."""
        total = len(self.done) + len(self.missing)
        return len(self.done) / total if total else 0.0

    def __str__(self) -> str:
        state = "complete" if self.complete else f"{len(self.missing)} to do"
        return f"{self.step.number}. {self.step.title}: {state}"


@dataclass
class _Checklist:
    """Collects passed checks and findings while a step is examined."""

    done: list[str] = field(default_factory=list)
    missing: list[Finding] = field(default_factory=list)

    def ok(self, text: str) -> None:
        self.done.append(text)

    def gap(
        self, check: str, message: str, field: str | None = None, hint: str | None = None
    ) -> None:
        self.missing.append(Finding(check, message, field, hint))

    def expect(
        self,
        condition: bool,
        ok: str,
        check: str,
        message: str,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        if condition:
            self.ok(ok)
        else:
            self.gap(check, message, field, hint)

    def each(
        self,
        check: str,
        noun: str,
        items: Sequence[tuple[str, str]],
        lacking: Iterable[str],
        what: str,
        hint: str | None = None,
    ) -> None:
        """One line for a property every item should have.

        ``items`` are (id, field path) pairs; ``lacking`` the ids that do not have it. One
        lacking item is named with its field path; several are counted and listed, so a form
        can show "2 of 3 personas have no preferred channels (amara, graham)".
        """
        bad = set(lacking)
        bad_items = [(i, path) for i, path in items if i in bad]
        if not items:
            return
        if not bad_items:
            self.ok(f"every {noun} has {what}" if len(items) > 1 else f"the {noun} has {what}")
            return
        if len(bad_items) == 1:
            item_id, path = bad_items[0]
            self.gap(check, f"{noun} {item_id!r} has no {what}", path, hint)
            return
        plural = _plural(noun)
        names = ", ".join(i for i, _ in bad_items)
        self.gap(
            check,
            f"{len(bad_items)} of {len(items)} {plural} have no {what} ({names})",
            bad_items[0][1].rsplit(".", 1)[0].rsplit("[", 1)[0],
            hint,
        )

    def status(self, step_id: str) -> StepStatus:
        return StepStatus(step(step_id), tuple(self.done), tuple(self.missing))


def _plural(noun: str) -> str:
    if noun.endswith("y") and not noun.endswith("ey"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


# ------------------------------------------------------------------------------ metrics

_METRIC_FORMS = (
    "conversion:<from-stage>:<to-stage>",
    "reach:<stage>",
    "win-rate",
    "time-to-close-days",
    "median-days:<stage>",
    "channel-rate:<channel>:<open|click|reply>",
)
#: What a channel rate counts: the actions a CRM records on a message.
_CHANNEL_ACTIONS = ("open", "click", "reply")


def metric_problem(metric: str, stage_ids: Iterable[str]) -> str | None:
    """Why a KPI metric cannot be computed from CRM data, or None when it can.

    The one rule for a metric, used by :func:`completeness` and by the course's checks
    (:func:`workbook.course.metric_problem`). The forms are those documented on
    :attr:`workbook.model.Objective.metric` (what :func:`workbook.analytics.kpis.metric_value`
    computes): stages must be stage ids of the workspace, a conversion goes from an earlier
    stage to a later one, and a channel rate names a channel by its id
    (:data:`workbook.model.CHANNELS`: ``email``, not the name ``Email`` the forms show) and an
    action the CRM records (open, click or reply).
    """
    stages = list(stage_ids)
    head, *args = (p.strip() for p in metric.strip().split(":"))
    expected = {
        "conversion": 2,
        "reach": 1,
        "median-days": 1,
        "channel-rate": 2,
        "win-rate": 0,
        "time-to-close-days": 0,
    }
    if head not in expected:
        return (
            f"'{metric}' is not a metric the workbook computes "
            f"(use one of: {', '.join(_METRIC_FORMS)})"
        )
    if len(args) != expected[head]:
        form = next(f for f in _METRIC_FORMS if f.split(":")[0] == head)
        return f"'{metric}' needs {expected[head]} part(s) after '{head}': write it as '{form}'"
    if head in ("conversion", "reach", "median-days"):
        unknown = [a for a in args if a not in stages]
        if unknown:
            return (
                f"'{unknown[0]}' in '{metric}' is not a stage id of this workspace "
                f"(its stages: {', '.join(stages)})"
            )
        if head == "conversion" and stages.index(args[0]) >= stages.index(args[1]):
            return f"'{metric}' must go from an earlier stage to a later one"
    if head == "channel-rate":
        if args[0] not in model.CHANNELS:
            return (
                f"'{args[0]}' in '{metric}' is not a channel id (the forms show the names; "
                f"the ids are {', '.join(model.CHANNELS)})"
            )
        if args[1] not in _CHANNEL_ACTIONS:
            return f"the action in '{metric}' must be open, click or reply"
    return None


# --------------------------------------------------------------------------- completeness


def completeness(ws: model.Workspace) -> list[StepStatus]:
    """What is done and what is missing, for each of the seven steps, in order.

    The refine step also counts every finding of :func:`best_practice_checks`.

    Parameters
    ----------
    ws
        The workspace to examine; it is not changed.

    Returns
    -------
    list of StepStatus
        One per step, in the order of :data:`STEPS`.
    """
    return [
        _objectives(ws),
        _personas(ws),
        _touchpoints(ws),
        _stages(ws),
        _data(ws),
        _visualise(ws),
        _refine(ws),
    ]


def next_step(ws: model.Workspace) -> Step | None:
    """The first step that is not complete yet, or None when all seven are."""
    for status in completeness(ws):
        if not status.complete:
            return status.step
    return None


def _measures(c: _Checklist, ws: model.Workspace) -> None:
    """The KPIs and OKRs of step 1: asked for once there is an objective to measure."""
    m = ws.measurement
    c.expect(bool(m.kpis), f"{len(m.kpis)} KPIs", "kpis", "no KPIs yet", "measurement.kpis")
    items = [(k.id, f"measurement.kpis[{i}]") for i, k in enumerate(m.kpis)]
    c.each(
        "kpi-target",
        "KPI",
        [(i, f"{p}.target") for i, p in items],
        [k.id for k in m.kpis if k.target is None],
        "target",
    )
    stage_ids = ws.stage_ids()
    for i, k in enumerate(m.kpis):
        if k.metric:
            problem = metric_problem(k.metric, stage_ids)
            if problem:
                c.gap("kpi-metric", f"KPI {k.id!r}: {problem}", f"measurement.kpis[{i}].metric")
    c.expect(bool(m.okrs), f"{len(m.okrs)} OKRs", "okrs", "no OKRs yet", "measurement.okrs")
    for i, okr in enumerate(m.okrs):
        if not okr.key_results:
            c.gap(
                "okr-key-results",
                f"OKR {okr.id!r} has no key results",
                f"measurement.okrs[{i}].key_results",
            )
            continue
        c.ok(f"OKR {okr.id!r} has {len(okr.key_results)} key results")
        c.each(
            "key-result-todos",
            "key result",
            [
                (kr.id, f"measurement.okrs[{i}].key_results[{j}].todos")
                for j, kr in enumerate(okr.key_results)
            ],
            [kr.id for kr in okr.key_results if not kr.todos],
            "to-dos",
        )


def _objectives(ws: model.Workspace) -> StepStatus:
    c = _Checklist()
    objs = ws.objectives
    c.expect(
        bool(objs),
        f"{len(objs)} objectives",
        "objectives",
        "no objectives yet",
        "objectives",
        "add at least one objective with a measurable KPI",
    )
    items = [(o.id, f"objectives[{i}]") for i, o in enumerate(objs)]

    def lacking(attr: str) -> list[str]:
        return [o.id for o in objs if getattr(o, attr) in (None, "")]

    for attr, what in (
        ("kpi", "KPI"),
        ("baseline", "baseline"),
        ("target", "target"),
        ("owner", "owner"),
        ("due", "due date"),
    ):
        c.each(
            f"objective-{attr}",
            "objective",
            [(i, f"{p}.{attr}") for i, p in items],
            lacking(attr),
            what,
        )
    stage_ids = ws.stage_ids()
    for i, o in enumerate(objs):
        if o.metric:
            problem = metric_problem(o.metric, stage_ids)
            if problem:
                c.gap(
                    "objective-metric", f"objective {o.id!r}: {problem}", f"objectives[{i}].metric"
                )
    c.each(
        "objective-crm-goal",
        "objective",
        [(i, f"{p}.crm_goal") for i, p in items],
        [o.id for o in objs if o.crm_goal is None],
        "CRM goal",
        "one of: " + ", ".join(model.CRM_GOALS),
    )
    if objs:
        _measures(c, ws)
    return c.status("objectives")


def _personas(ws: model.Workspace) -> StepStatus:
    c = _Checklist()
    vp = ws.value_proposition
    for attr in ("jobs", "pains", "gains"):
        c.expect(
            bool(getattr(vp, attr)),
            f"value proposition lists {attr}",
            "value-proposition",
            f"the value proposition lists no {attr}",
            f"value_proposition.{attr}",
        )
    kinds = {s.kind for s in ws.segments}
    for kind in ("geographic", "demographic", "psychographic", "behavioural"):
        c.expect(
            kind in kinds, f"a {kind} segment", "segment-kind", f"no {kind} segment yet", "segments"
        )

    c.expect(
        bool(ws.icps),
        f"{len(ws.icps)} ideal customer profiles",
        "icp",
        "no ideal customer profile yet",
        "icps",
        "answer the eight ICP questions for the best-fit customer",
    )
    for i, icp in enumerate(ws.icps):
        open_q = [key for key, answer in icp.answers().items() if not answer.strip()]
        if open_q:
            first = model.ICP_QUESTIONS[open_q[0]]
            c.gap(
                "icp-questions",
                f"ICP {icp.id!r} leaves {len(open_q)} of {len(model.ICP_QUESTIONS)} "
                f"questions open, starting with: {first}",
                f"icps[{i}].{open_q[0]}",
            )
        else:
            c.ok(f"ICP {icp.id!r} answers all eight questions")

    ps = ws.personas
    if not ps:
        c.gap("personas", "no personas yet", "personas", "the method suggests about three")
    elif len(ps) < 3:
        c.gap(
            "personas",
            f"only {len(ps)} persona{'s' if len(ps) > 1 else ''}; the method suggests about three",
            "personas",
        )
    else:
        c.ok(f"{len(ps)} personas")
    items = [(p.id, f"personas[{i}]") for i, p in enumerate(ps)]
    for attr, what in (
        ("segments", "segments"),
        ("goals", "goals"),
        ("jobs", "jobs to be done"),
        ("pains", "pains"),
        ("gains", "gains"),
        ("preferred_channels", "preferred channels"),
        ("objections", "objections"),
        ("storyline", "storyline"),
    ):
        c.each(
            f"persona-{attr.replace('_', '-')}",
            "persona",
            [(i, f"{p}.{attr}") for i, p in items],
            [p.id for p in ps if not getattr(p, attr)],
            what,
        )
    c.each(
        "persona-demographics",
        "persona",
        [(i, f"{p}.demographics") for i, p in items],
        [p.id for p in ps if not (p.demographics.age_range and p.demographics.location)],
        "age range and location",
    )
    if ws.icps:
        c.each(
            "persona-icp",
            "persona",
            [(i, f"{p}.icp") for i, p in items],
            [p.id for p in ps if not p.icp],
            "ICP",
        )
    return c.status("personas")


def _touchpoints(ws: model.Workspace) -> StepStatus:
    c = _Checklist()
    tps = ws.touchpoints
    c.expect(
        bool(tps),
        f"{len(tps)} touchpoints",
        "touchpoints",
        "no touchpoints yet",
        "touchpoints",
        "list every place customers meet the business, online and in person",
    )
    if tps:
        kinds = {t.kind for t in tps}
        for kind, examples in (
            ("digital", "site, email, social, app, chat"),
            ("physical", "shop, event, face to face, phone"),
        ):
            c.expect(
                kind in kinds,
                f"{kind} touchpoints listed",
                "touchpoint-kind",
                f"no {kind} touchpoints listed",
                "touchpoints",
                f"for example: {examples}",
            )
    # With no touchpoints at all, one line says it; a line per stage would only repeat it.
    for stage in ws.stages if tps else ():
        c.expect(
            any(stage.id in t.stages for t in tps),
            f"touchpoints for stage {stage.id!r}",
            "stage-touchpoint",
            f"no touchpoint for stage {stage.id!r}",
            "touchpoints",
        )
    items = [(t.id, f"touchpoints[{i}]") for i, t in enumerate(tps)]
    c.each(
        "touchpoint-stages",
        "touchpoint",
        [(i, f"{p}.stages") for i, p in items],
        [t.id for t in tps if not t.stages],
        "stage",
    )
    c.each(
        "touchpoint-owner",
        "touchpoint",
        [(i, f"{p}.owner") for i, p in items],
        [t.id for t in tps if not t.owner],
        "owner",
    )
    c.each(
        "touchpoint-service-level",
        "touchpoint",
        [(i, f"{p}.service_level") for i, p in items],
        [t.id for t in tps if not t.service_level],
        "service level",
    )
    return c.status("touchpoints")


def _stages(ws: model.Workspace) -> StepStatus:
    c = _Checklist()
    c.expect(
        len(ws.stages) >= 2,
        f"{len(ws.stages)} stages",
        "stages",
        "the map needs at least two stages",
        "stages",
    )
    for i, s in enumerate(ws.stages):
        for attr, what in (
            ("description", "description"),
            ("entry_criteria", "entry criteria"),
            ("exit_criteria", "exit criteria"),
            ("selling_action", "selling action"),
        ):
            c.expect(
                bool(getattr(s, attr)),
                f"stage {s.id!r} has {what}",
                f"stage-{attr.replace('_', '-')}",
                f"stage {s.id!r} has no {what}",
                f"stages[{i}].{attr}",
            )
    return c.status("stages")


def _data(ws: model.Workspace) -> StepStatus:
    c = _Checklist()
    c.expect(
        bool(ws.data_sources),
        f"{len(ws.data_sources)} CRM exports imported",
        "data-sources",
        "no CRM data imported yet",
        "data_sources",
        "import an export in the form below, or with `workbook import`",
    )
    m = ws.measurement
    rules = m.scoring_rules
    c.expect(
        bool(rules),
        f"{len(rules)} lead-scoring rules",
        "scoring-rules",
        "no lead-scoring rules yet",
        "measurement.scoring_rules",
        "score high-intent actions such as a pricing-page visit high, passive ones low",
    )
    return c.status("data")


#: Map lanes that are filled in the map cells (owners and KPIs come from elsewhere).
_CELL_LANES: dict[str, str] = {
    "actions": "actions",
    "touchpoints": "touchpoints",
    "thoughts": "thoughts",
    "pain_points": "pain points",
    "opportunities": "opportunities",
}


def _visualise(ws: model.Workspace) -> StepStatus:
    c = _Checklist()
    c.expect(
        bool(ws.journeys), f"{len(ws.journeys)} maps", "journeys", "no journey map yet", "journeys"
    )
    mapped = {j.persona for j in ws.journeys}
    for i, p in enumerate(ws.personas):
        c.expect(
            p.id in mapped,
            f"persona {p.id!r} has a map",
            "persona-map",
            f"persona {p.id!r} has no map",
            f"personas[{i}]",
        )
    stages_with_tps = {st for t in ws.touchpoints for st in t.stages}
    for i, j in enumerate(ws.journeys):
        base = f"journeys[{i}]"
        name = j.persona + (f" / {j.icp}" if j.icp else "")
        gaps_before = len(c.missing)
        absent = [s.id for s in ws.stages if s.id not in j.stages]
        if absent:
            c.gap(
                "map-stage",
                f"map of {name!r} has no column for stage{'s' if len(absent) > 1 else ''} "
                + ", ".join(repr(s) for s in absent),
                f"{base}.stages",
            )
        for lane in j.lanes:
            if lane not in _CELL_LANES:
                continue
            empty = []
            for s in ws.stages:
                cell = j.stages.get(s.id)
                if cell is None:
                    continue
                value = getattr(cell, lane)
                # An empty touchpoints lane falls back to the stage's touchpoints, so it is
                # only a gap when the stage has none either.
                if not value and not (lane == "touchpoints" and s.id in stages_with_tps):
                    empty.append(s.id)
            if empty:
                c.gap(
                    "map-lane",
                    f"map of {name!r}: {_CELL_LANES[lane]} empty at "
                    + ", ".join(repr(s) for s in empty),
                    f"{base}.stages.{empty[0]}.{lane}",
                )
        if "thoughts" in j.lanes:
            unscored = [
                s.id for s in ws.stages if s.id in j.stages and j.stages[s.id].emotion is None
            ]
            if unscored:
                c.gap(
                    "map-emotion",
                    f"map of {name!r}: no emotion score at " + ", ".join(repr(s) for s in unscored),
                    f"{base}.stages.{unscored[0]}.emotion",
                    "score each stage from -2 (worst) to +2 (best)",
                )
        if len(c.missing) == gaps_before:
            c.ok(f"map of {name!r} is filled in at every stage")
    return c.status("visualise")


#: Best-practice checks whose fields are edited in an earlier step, and asked for there.
_ASKED_ELSEWHERE = frozenset({"segments", "persona-segment", "objective-crm-goal"})


def _refine(ws: model.Workspace) -> StepStatus:
    c = _Checklist()
    for i, j in enumerate(ws.journeys):
        kinds = {a.kind for a in j.annotations}
        for kind, what in (("best-moment", "best moment"), ("worst-struggle", "worst struggle")):
            c.expect(
                kind in kinds,
                f"map of {j.persona!r} marks its {what}",
                "annotation",
                f"map of {j.persona!r} does not mark its {what}",
                f"journeys[{i}].annotations",
            )
        c.expect(
            bool(j.recommendations),
            f"map of {j.persona!r} has {len(j.recommendations)} recommendations",
            "recommendations",
            f"map of {j.persona!r} has no recommendations",
            f"journeys[{i}].recommendations",
            "write them next to the touchpoint they fix",
        )
    ex = ws.measurement.experiments
    c.expect(
        bool(ex),
        f"{len(ex)} experiments",
        "experiments",
        "no experiment planned yet",
        "measurement.experiments",
        "plan an A/B test of the change you expect most from",
    )
    if not ws.content:
        c.gap(
            "stage-content",
            "no content mapped to any stage yet",
            "content",
            "plan at least one piece of content for each stage",
        )
    for s in ws.stages if ws.content else ():
        c.expect(
            any(item.stage == s.id for item in ws.content),
            f"content for stage {s.id!r}",
            "stage-content",
            f"no content mapped to stage {s.id!r}",
            "content",
        )
    c.expect(
        bool(ws.cycle.log),
        f"{len(ws.cycle.log)} entries in the cycle log",
        "cycle-log",
        "the cycle log is empty",
        "cycle.log",
        "note what each phase produced and when",
    )
    # The audit's findings about segments and objectives are asked for by the steps whose
    # forms edit them (2 and 1); the refine step lists the rest.
    practice = [f for f in best_practice_checks(ws) if f.check not in _ASKED_ELSEWHERE]
    c.missing.extend(practice)
    if not practice:
        c.ok("customer-facing processes meet the best practices")
    return c.status("refine")


# --------------------------------------------------------------------------- best practice

#: More key processes than this is no longer "the handful that matter most".
_MAX_KEY_PROCESSES = 7


def best_practice_checks(ws: model.Workspace) -> list[Finding]:
    """Audit the workspace against the best practices of the refine step.

    Checks that customer-facing processes are listed; that a handful are marked key; that
    every process is tied to a CRM goal, has an owner, a service level and the touchpoints it
    runs through; that results can be measured per segment (segments defined, every persona in
    one); that every objective names its CRM goal; and that every recommendation has an owner
    and sits next to a touchpoint.

    Returns
    -------
    list of Finding
        Empty when every practice is in place.
    """
    out: list[Finding] = []
    procs = ws.processes
    if not procs:
        out.append(
            Finding(
                "processes",
                "no customer-facing processes listed",
                "processes",
                "audit the processes customers meet, from enquiry to repair",
            )
        )
    else:
        key = [p for p in procs if p.key]
        if not key:
            out.append(
                Finding(
                    "key-processes",
                    "no process is marked as key",
                    "processes",
                    "mark the handful that matter most to customers",
                )
            )
        elif len(key) > _MAX_KEY_PROCESSES:
            out.append(
                Finding(
                    "key-processes",
                    f"{len(key)} of {len(procs)} processes are marked as key",
                    "processes",
                    f"keep it to the {_MAX_KEY_PROCESSES} or fewer that matter most",
                )
            )
    for i, p in enumerate(procs):
        base = f"processes[{i}]"
        if p.crm_goal is None:
            out.append(
                Finding(
                    "process-crm-goal",
                    f"process {p.id!r} is not tied to a CRM goal",
                    f"{base}.crm_goal",
                    "one of: " + ", ".join(model.CRM_GOALS),
                )
            )
        if not p.owner:
            out.append(
                Finding(
                    "process-owner",
                    f"process {p.id!r} has no owner",
                    f"{base}.owner",
                    "name the person or role responsible",
                )
            )
        if not p.service_level:
            out.append(
                Finding(
                    "process-service-level",
                    f"process {p.id!r} has no agreed service level",
                    f"{base}.service_level",
                    "agree one with the client, like 'reply in <30 min'",
                )
            )
        if not p.touchpoints:
            out.append(
                Finding(
                    "process-touchpoints",
                    f"process {p.id!r} is linked to no touchpoint",
                    f"{base}.touchpoints",
                    "link it so it shows on the map",
                )
            )
    if not ws.segments:
        out.append(
            Finding(
                "segments",
                "no segments defined, so results cannot be measured per segment",
                "segments",
            )
        )
    for i, persona in enumerate(ws.personas):
        if not persona.segments:
            out.append(
                Finding(
                    "persona-segment",
                    f"persona {persona.id!r} is in no segment, "
                    "so it cannot be measured per segment",
                    f"personas[{i}].segments",
                )
            )
    for i, o in enumerate(ws.objectives):
        if o.crm_goal is None:
            out.append(
                Finding(
                    "objective-crm-goal",
                    f"objective {o.id!r} is not tied to a CRM goal",
                    f"objectives[{i}].crm_goal",
                    "one of: " + ", ".join(model.CRM_GOALS),
                )
            )
    for i, j in enumerate(ws.journeys):
        for k, r in enumerate(j.recommendations):
            path = f"journeys[{i}].recommendations[{k}]"
            if not r.owner:
                out.append(
                    Finding(
                        "recommendation-owner",
                        f"recommendation {r.id!r} on the map of {j.persona!r} has no owner",
                        f"{path}.owner",
                    )
                )
            if not r.touchpoint:
                out.append(
                    Finding(
                        "recommendation-touchpoint",
                        f"recommendation {r.id!r} on the map of {j.persona!r} names no touchpoint",
                        f"{path}.touchpoint",
                        "place it next to the touchpoint it fixes",
                    )
                )
    return out
