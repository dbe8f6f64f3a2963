"""The vocabulary of the method: one client engagement as a validated document.

A :class:`Workspace` holds everything a consultant captures across the seven mapping steps
and the DDMADV cycle (see ``shared/METHOD.md``): the client and its branding, objectives,
value proposition, segments, ICPs, personas, stages, touchpoints, the journey map per
persona, measurement (KPIs, OKRs, lead scoring, experiments), key processes, the cycle log
and the CRM data sources.

Every item that can be referred to has an ``id``: a stable slug (``priya-the-planner``).
References use ids, never display names, so renaming a persona keeps every map and
recommendation pointing at it. :func:`reference_problems` lists every reference to an id
that does not exist; :func:`validate_workspace` runs the schema and the reference checks
and reports every problem at once.

The models are pure data: no file access here (that is :mod:`workbook.store`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from workbook.exceptions import Problem, WorkspaceValidationError

_T = TypeVar("_T")

__all__ = [
    "CHANNELS",
    "CRM_GOALS",
    "DEFAULT_LANES",
    "DEFAULT_STAGES",
    "DEFAULT_STAGE_ALIASES",
    "ICP_QUESTIONS",
    "LANES",
    "PHASES",
    "SCHEMA_VERSION",
    "Analysis",
    "Annotation",
    "Branding",
    "Campaign",
    "ChannelMix",
    "Client",
    "ContentItem",
    "Cycle",
    "CycleEntry",
    "DataSource",
    "Demographics",
    "Experiment",
    "GapFinding",
    "ICP",
    "IgnoredStageName",
    "Journey",
    "KPI",
    "KeyResult",
    "LaunchCheck",
    "MapCell",
    "Measurement",
    "OKR",
    "Objective",
    "Persona",
    "Process",
    "Recommendation",
    "ReportSettings",
    "ScoringRule",
    "Segment",
    "SeoTarget",
    "Settings",
    "SocialPost",
    "Stage",
    "Todo",
    "Touchpoint",
    "Validation",
    "ValueProposition",
    "Variant",
    "Workspace",
    "check_line",
    "default_stages",
    "id_listing",
    "metric_stages",
    "name_problems",
    "reference_problems",
    "is_slug",
    "slugify",
    "stage_name_key",
    "stage_name_problems",
    "validate_workspace",
]

SCHEMA_VERSION = 1

_SLUG_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_SLUG_MAX = 64


def is_slug(text: str) -> bool:
    """Whether ``text`` is a valid id (:data:`Slug`): lower-case letters and digits in words
    joined by single hyphens, at most 64 characters. Safe to use as a file or folder name."""
    return len(text) <= _SLUG_MAX and re.fullmatch(_SLUG_RE, text) is not None


Slug = Annotated[
    str,
    StringConstraints(pattern=_SLUG_RE, max_length=_SLUG_MAX),
    Field(description="A stable identifier: lower-case letters, digits and single hyphens."),
]
# Control characters crash the report's kernel and break the SVG and PNG maps, and no person
# types them: refused everywhere (C0, DEL and C1; pydantic already refuses lone surrogates).
# Long text keeps tab and line ends (LF, and the CR of a Windows line end); a one-line field
# (a name, an owner, a metric, a path) takes no tab or line end either.
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _refuse_control(value: str, pattern: re.Pattern[str], allowed: str) -> str:
    found = pattern.search(value)
    if found is None:
        return value
    raise ValueError(
        f"contains U+{ord(found.group()):04X} (a control character) at character "
        f"{found.start() + 1}: remove it ({allowed})"
    )


def check_line(value: str) -> str:
    """``value`` when it is fit for a one-line field; ValueError naming a control character."""
    return _refuse_control(value, _CONTROL_IN_LINE, "a one-line field takes no tabs or line breaks")


def _check_text(value: str) -> str:
    return _refuse_control(value, _CONTROL_IN_TEXT, "long text takes tabs and line breaks only")


Text = Annotated[str, StringConstraints(max_length=20_000), AfterValidator(_check_text)]
ShortText = Annotated[str, StringConstraints(max_length=500), AfterValidator(check_line)]
TextList = Annotated[list[Text], Field(default_factory=list)]


def _check_colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError("must be a colour like #1F4E79 (a # and six hex digits)")
    return value.upper()


Colour = Annotated[str, AfterValidator(_check_colour)]
Score = Annotated[float, Field(ge=-2, le=2, description="Emotion from -2 (worst) to +2 (best).")]


def slugify(text: str, *, fallback: str = "item") -> str:
    """Turn a display name into an id: ``"Priya (the Planner)"`` -> ``"priya-the-planner"``.

    Accents are transliterated; anything else that is not a letter or digit becomes a single
    hyphen. A name with no letters or digits at all (only emoji, say) gets ``fallback`` plus a
    short stable hash of the name, so two such names do not collide.
    """
    import hashlib

    from slugify import slugify as _slugify

    slug = _slugify(text, max_length=64, word_boundary=True, save_order=True)
    if not slug:
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
        slug = f"{fallback}-{digest}"
    return slug


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        str_strip_whitespace=True,
        populate_by_name=True,
        # An infinite or undefined number (.inf, .nan in YAML) is no baseline, target or score.
        allow_inf_nan=False,
    )


# --------------------------------------------------------------------------------- constants

#: The five default stages of the method, with the selling action that matches each.
DEFAULT_STAGES: tuple[tuple[str, str, str], ...] = (
    ("awareness", "Awareness", "attract"),
    ("consideration", "Consideration", "convert"),
    ("purchase", "Purchase", "reassure"),
    ("retention", "Retention", "retain"),
    ("advocacy", "Advocacy", "delight"),
)

#: The lanes a journey map can show, in display order.
LANES: dict[str, str] = {
    "actions": "Customer actions",
    "touchpoints": "Touchpoints and channels",
    "thoughts": "Thoughts and feelings",
    "pain_points": "Pain points",
    "opportunities": "Opportunities and solutions",
    "owners": "Owners and service levels",
    "kpis": "Measured KPIs",
}
DEFAULT_LANES: tuple[str, ...] = (
    "actions",
    "touchpoints",
    "thoughts",
    "pain_points",
    "opportunities",
)

#: The eight ICP questions of step 2, by key.
ICP_QUESTIONS: dict[str, str] = {
    "industry": "Which single industry would we sell to?",
    "specialisation": "What is our specialisation within that industry?",
    "firmographics": "What are the firm's demographics (revenue, staff, business line)?",
    "poor_fit": "Which past clients were a poor fit, and why?",
    "job_titles": "Which job titles do we deal with?",
    "decision_makers": "Who decides the purchase?",
    "stakeholders": "Who else has a say: stakeholders and gatekeepers?",
    "end_users": "Who are the end users?",
}

#: Channels a touchpoint or a persona preference can name. Others are allowed (any slug).
CHANNELS: dict[str, str] = {
    "ads": "Advertising",
    "web": "Website",
    "email": "Email",
    "social": "Social media",
    "app": "Mobile app",
    "chat": "Live chat",
    "whatsapp": "WhatsApp",
    "sms": "Text message",
    "phone": "Phone",
    "store": "Store",
    "event": "Event",
    "face-to-face": "Face to face",
    "post": "Post",
    "referral": "Referral",
    "search": "Search",
    "review-site": "Review site",
    "video": "Video call",
}

#: The CRM goals a key process ties to (refine step best practices).
CRM_GOALS = ("acquisition", "satisfaction", "profitability", "cross-sell", "retention")

#: The DDMADV phases, in cycle order.
PHASES: dict[str, str] = {
    "discover": "Discover and define",
    "measure": "Measure",
    "analyse": "Analyse",
    "design": "Design and build",
    "validate": "Validate",
}

SegmentKind = Literal["geographic", "demographic", "psychographic", "behavioural"]
Phase = Literal["discover", "measure", "analyse", "design", "validate"]
Priority = Literal["high", "medium", "low"]
ContentStatus = Literal["idea", "planned", "in-progress", "ready", "published", "dropped"]
LaneId = Literal[
    "actions", "touchpoints", "thoughts", "pain_points", "opportunities", "owners", "kpis"
]


# ------------------------------------------------------------------------------ the client


class Branding(_Model):
    """How reports, maps and charts look for this client."""

    logo: ShortText | None = Field(
        None, description="Path of a PNG, JPEG or SVG logo, relative to the workspace folder."
    )
    primary_color: Colour = "#1F4E79"
    accent_color: Colour = "#E07A1F"
    font: ShortText = "Source Sans 3, Helvetica, Arial, sans-serif"

    @field_validator("logo")
    @classmethod
    def _logo_inside(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value.startswith(("/", "\\")) or ".." in re.split(r"[\\/]", value) or ":" in value:
            raise ValueError("must be a path inside the workspace folder, like assets/logo.png")
        return value


class Client(_Model):
    name: ShortText = Field(min_length=1)
    slug: Slug
    industry: ShortText = ""
    engagement: ShortText = Field("", description="What this engagement is called on the cover.")
    consultant: ShortText = ""
    branding: Branding = Field(default_factory=Branding)


# ----------------------------------------------------------------------- step 1: objectives


class Objective(_Model):
    """Why map at all, with a measurable KPI and a target (step 1)."""

    id: Slug
    title: ShortText = Field(min_length=1)
    kind: Literal["experience", "pain-points", "conversion", "retention", "other"] = "other"
    kpi: ShortText = ""
    metric: ShortText | None = Field(
        None,
        description=(
            "How to compute the KPI from CRM data, when it can be: "
            "'conversion:<from-stage>:<to-stage>', 'reach:<stage>', 'win-rate', "
            "'time-to-close-days', 'median-days:<stage>', 'channel-rate:<channel>:<action>'."
        ),
    )
    unit: ShortText = ""
    baseline: float | None = None
    target: float | None = None
    owner: ShortText = ""
    due: dt.date | None = None
    crm_goal: (
        Literal["acquisition", "satisfaction", "profitability", "cross-sell", "retention"] | None
    ) = None


# ---------------------------------------------------------------- step 2: personas and ICP


class ValueProposition(_Model):
    jobs: TextList
    pains: TextList
    gains: TextList


class Segment(_Model):
    id: Slug
    name: ShortText = Field(min_length=1)
    kind: SegmentKind
    description: Text = ""


class ICP(_Model):
    """An ideal customer profile: the eight questions of step 2 and their answers."""

    id: Slug
    name: ShortText = Field(min_length=1)
    industry: Text = ""
    specialisation: Text = ""
    firmographics: Text = ""
    poor_fit: Text = ""
    job_titles: Text = ""
    decision_makers: Text = ""
    stakeholders: Text = ""
    end_users: Text = ""

    def answers(self) -> dict[str, str]:
        """The eight answers by question key, in the checklist's order."""
        return {key: getattr(self, key) for key in ICP_QUESTIONS}


class Demographics(_Model):
    age_range: ShortText = Field("", description="Like 30-40.")
    location: ShortText = ""
    role: ShortText = ""


class Persona(_Model):
    id: Slug
    name: ShortText = Field(min_length=1)
    summary: Text = ""
    segments: list[Slug] = Field(default_factory=list, description="Ids of segments.")
    icp: Slug | None = Field(None, description="Id of the ICP this persona belongs to.")
    demographics: Demographics = Field(default_factory=Demographics)
    goals: TextList
    jobs: TextList
    pains: TextList
    gains: TextList
    preferred_channels: list[Slug] = Field(default_factory=list)
    objections: TextList
    quote: Text = ""
    storyline: Text = ""
    image: ShortText | None = None


# -------------------------------------------------------------- steps 3 and 4: touchpoints


_STAGE_KEY_RE = re.compile(r"[\s_\-]+")


def stage_name_key(name: str) -> str:
    """How stage names compare: ``"Marketing Qualified-Lead "`` -> ``"marketingqualifiedlead"``.

    Case, spaces, hyphens and underscores are ignored, so a CRM's label and its internal name
    (HubSpot's ``Sales Qualified Lead`` and ``salesqualifiedlead``) are the same name.
    """
    return _STAGE_KEY_RE.sub("", name).casefold()


def _check_stage_name(value: str) -> str:
    if not stage_name_key(value):
        raise ValueError(f"{value!r} has no letters or digits")
    return value


StageName = Annotated[ShortText, AfterValidator(_check_stage_name)]


class Stage(_Model):
    id: Slug
    name: ShortText = Field(min_length=1)
    description: Text = ""
    entry_criteria: Text = ""
    exit_criteria: Text = ""
    selling_action: ShortText = Field("", description="attract, convert, reassure, retain, delight")
    aliases: list[StageName] = Field(
        default_factory=list,
        description="The CRM stage names this stage takes at import (HubSpot lifecycle stages, "
        "Salesforce opportunity stages, Pipedrive pipeline stages, the client's own). Case, "
        "spaces, hyphens and underscores are ignored; a name belongs to one stage only.",
    )


class IgnoredStageName(_Model):
    """A CRM stage name that is no stage of this journey: the importer skips it."""

    name: StageName
    reason: ShortText = Field("", description="Why it is not a stage, in a few words.")


#: The CRM stage names each of the method's five stages takes by default: HubSpot's lifecycle
#: stages, Salesforce's opportunity stages and Pipedrive's default pipeline.
DEFAULT_STAGE_ALIASES: dict[str, tuple[str, ...]] = {
    "awareness": ("Subscriber", "Lead", "Prospecting", "Qualified", "Lead In"),
    "consideration": (
        "Marketing Qualified Lead",
        "Sales Qualified Lead",
        "Qualification",
        "Needs Analysis",
        "Value Proposition",
        "Id. Decision Makers",
        "Perception Analysis",
        "Contact Made",
        "Demo Scheduled",
        "Needs Defined",
    ),
    "purchase": (
        "Opportunity",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Proposal Made",
        "Negotiations Started",
    ),
    "retention": ("Customer",),
    "advocacy": ("Evangelist",),
}


def default_stages() -> list[Stage]:
    """The method's five stages, awareness to advocacy, with the CRM names each takes."""
    return [
        Stage(id=i, name=n, selling_action=a, aliases=list(DEFAULT_STAGE_ALIASES.get(i, ())))
        for i, n, a in DEFAULT_STAGES
    ]


class Touchpoint(_Model):
    id: Slug
    name: ShortText = Field(min_length=1)
    channel: Slug
    kind: Literal["digital", "physical"] = "digital"
    stages: list[Slug] = Field(default_factory=list, description="Ids of the stages it serves.")
    owner: ShortText = ""
    service_level: ShortText = ""
    description: Text = ""


# ---------------------------------------------------------------- step 6: the journey map


class MapCell(_Model):
    """One persona at one stage: the lanes of the map."""

    actions: TextList
    touchpoints: list[Slug] = Field(
        default_factory=list,
        description="Touchpoints this persona uses at this stage (default: those of the stage).",
    )
    thoughts: TextList
    emotion: Score | None = None
    pain_points: TextList
    opportunities: TextList
    recommendations: list[Slug] = Field(
        default_factory=list,
        description=(
            "To-be map only: ids of the journey's recommendations that make this stage's "
            "changes happen."
        ),
    )


class Annotation(_Model):
    kind: Literal["best-moment", "worst-struggle"]
    stage: Slug
    touchpoint: Slug | None = None
    note: Text = ""


class Recommendation(_Model):
    id: Slug
    text: Text = Field(min_length=1)
    stage: Slug
    touchpoint: Slug | None = None
    priority: Priority = "medium"
    owner: ShortText = ""
    status: Literal["proposed", "agreed", "in-progress", "done", "dropped"] = "proposed"
    # Opportunity -> solution (text) -> owner -> metric: the chain the refine step follows.
    opportunity: Text = Field("", description="The pain point or opportunity it answers.")
    kpi: Slug | None = Field(
        None, description="The measurement KPI (by id) or, failing that, the objective it moves."
    )
    expected_effect: float | None = Field(
        None,
        description="Expected change of the KPI in its unit, signed: +4 (points up), -7 (days).",
    )
    agreed_on: dt.date | None = Field(None, description="When the client agreed to it.")
    agreed_value: float | None = Field(
        None, description="The KPI's value, in its unit, on the day it was agreed."
    )


class Journey(_Model):
    """The map of one persona (optionally narrowed to one ICP)."""

    persona: Slug
    icp: Slug | None = None
    lanes: list[LaneId] = Field(default_factory=lambda: cast("list[LaneId]", list(DEFAULT_LANES)))
    stages: dict[Slug, MapCell] = Field(default_factory=dict, description="Cells by stage id.")
    annotations: list[Annotation] = Field(default_factory=list)
    recommendations: list[Recommendation] = Field(default_factory=list)
    to_be: dict[Slug, MapCell] | None = Field(
        None,
        description="The desired journey (Design and build): cells by stage id, same lanes.",
    )

    def draft_to_be(self) -> dict[str, MapCell]:
        """A to-be map drafted from the as-is one: a deep copy of every cell, no links yet."""
        return {
            sid: cell.model_copy(deep=True, update={"recommendations": []})
            for sid, cell in self.stages.items()
        }


# -------------------------------------------------------------------------- measurement


class KPI(_Model):
    """Objective -> metric -> fix -> evaluate."""

    id: Slug
    name: ShortText = Field(min_length=1)
    objective: Slug | None = None
    metric: ShortText | None = None
    unit: ShortText = ""
    baseline: float | None = None
    target: float | None = None
    fix: Text = ""
    evaluation: Text = ""
    stage: Slug | None = None


class Todo(_Model):
    text: Text = Field(min_length=1)
    owner: ShortText = ""
    done: bool = False


class KeyResult(_Model):
    id: Slug
    text: Text = Field(min_length=1)
    metric: ShortText | None = None
    baseline: float | None = None
    target: float | None = None
    current: float | None = None
    todos: list[Todo] = Field(default_factory=list)


class OKR(_Model):
    id: Slug
    objective: Text = Field(min_length=1)
    key_results: list[KeyResult] = Field(default_factory=list)


class ScoringRule(_Model):
    """Points for a behaviour: a touchpoint used, an event action, a stage reached."""

    id: Slug
    description: ShortText = ""
    touchpoint: Slug | None = None
    channel: Slug | None = None
    action: ShortText | None = Field(
        None, description="Event action, like open, click, visit, reply."
    )
    stage: Slug | None = None
    points: float
    decay_days: float | None = Field(
        None, gt=0, description="Half-life in days: points halve for every this many days of age."
    )


class Variant(_Model):
    id: Slug
    name: ShortText = Field(min_length=1)
    description: Text = ""
    exposed: int | None = Field(None, ge=0, description="Leads who saw this variant.")
    converted: int | None = Field(None, ge=0, description="Of those, how many did the metric.")


class Experiment(_Model):
    id: Slug
    name: ShortText = Field(min_length=1)
    kind: Literal["subject-line", "landing-page", "cta", "ad", "offer", "text-message", "other"] = (
        "other"
    )
    hypothesis: Text = ""
    metric: ShortText = ""
    touchpoint: Slug | None = None
    variants: list[Variant] = Field(default_factory=list)
    sample_size: int | None = Field(None, gt=0, description="Leads planned for the test.")
    min_effect: float | None = Field(
        None, gt=0, description="Smallest absolute lift worth detecting."
    )
    status: Literal["planned", "running", "completed", "stopped"] = "planned"
    decision: Text = ""


class Measurement(_Model):
    kpis: list[KPI] = Field(default_factory=list)
    okrs: list[OKR] = Field(default_factory=list)
    scoring_rules: list[ScoringRule] = Field(default_factory=list)
    experiments: list[Experiment] = Field(default_factory=list)


# ------------------------------------------------------------------- design and refine


class Process(_Model):
    """A customer-facing process the refine step audits."""

    id: Slug
    name: ShortText = Field(min_length=1)
    crm_goal: (
        Literal["acquisition", "satisfaction", "profitability", "cross-sell", "retention"] | None
    ) = None
    owner: ShortText = ""
    service_level: ShortText = ""
    touchpoints: list[Slug] = Field(default_factory=list)
    key: bool = Field(False, description="One of the handful that matter most to customers.")


class ContentItem(_Model):
    """A piece of content mapped to a stage (design and build): the campaign control sheet's
    planned content, with its date, owner and status."""

    id: Slug
    title: ShortText = Field(min_length=1)
    stage: Slug
    personas: list[Slug] = Field(default_factory=list)
    channel: Slug | None = None
    automated: bool = False
    date: dt.date | None = Field(None, description="When it is due to go out.")
    owner: ShortText = ""
    status: ContentStatus = "planned"


# ------------------------------------------------------------ analyse: go wide, go deep


class GapFinding(_Model):
    """A component of a gap the CRM data cannot see: an interview or workshop finding."""

    id: Slug
    name: ShortText = Field(min_length=1)
    stage: Slug | None = None
    persona: Slug | None = None
    note: Text = ""
    contacts: int | None = Field(
        None,
        ge=0,
        description="The consultant's estimate of the contacts it affects: those who would "
        "have gone on without it (the unit the gap analysis ranks the data's components by).",
    )


class Analysis(_Model):
    """The Analyse phase: the objective whose gap is explained, the components the data
    cannot see, and the one component the consultant will act on."""

    objective: Slug | None = Field(None, description="Id of the objective analysed.")
    findings: list[GapFinding] = Field(default_factory=list)
    targets: dict[ShortText, float] = Field(
        default_factory=dict,
        description="Benchmarks typed by the consultant, by gap component id "
        "('open:email:amara'); they replace the other groups' rate.",
    )
    chosen: ShortText | None = Field(
        None,
        description="The component to act on: a gap component id from the data "
        "('conversion:consideration:amara') or 'finding:<id>' for a finding.",
    )
    why: Text = Field("", description="Why this one: what the consultant will do about it.")


# ------------------------------------------------------- design and build: the campaign


class SeoTarget(_Model):
    id: Slug
    keyword: ShortText = Field(min_length=1)
    page: ShortText = Field("", description="The page that should rank, like /rower/noise.")
    stage: Slug | None = None
    persona: Slug | None = None


class SocialPost(_Model):
    id: Slug
    post: ShortText = Field(min_length=1)
    date: dt.date | None = None
    channel: Slug | None = None
    persona: Slug | None = None
    owner: ShortText = ""
    status: ContentStatus = "planned"


class ChannelMix(_Model):
    """How much of the effort one channel gets for one persona."""

    id: Slug
    persona: Slug
    channel: Slug
    share: float | None = Field(None, ge=0, le=1, description="Share of the effort, 0 to 1.")
    priority: Priority | None = None
    note: ShortText = ""


class Campaign(_Model):
    """The campaign control sheet besides the planned content (``Workspace.content``)."""

    seo: list[SeoTarget] = Field(default_factory=list)
    social: list[SocialPost] = Field(default_factory=list)
    channel_mix: list[ChannelMix] = Field(default_factory=list)


# ---------------------------------------------------------------------------- validate


class LaunchCheck(_Model):
    """One process or channel tested before launch."""

    id: Slug
    item: ShortText = Field(min_length=1)
    process: Slug | None = None
    touchpoint: Slug | None = None
    who: ShortText = ""
    when: dt.date | None = None
    result: Literal["pass", "fail", "not-run"] = "not-run"
    evidence: Text = ""


class Validation(_Model):
    """The Validate phase: the launch checklist and how far a KPI may move unflagged."""

    launch: list[LaunchCheck] = Field(default_factory=list)
    threshold: float | None = Field(
        None,
        gt=0,
        le=10,
        description="A KPI moved when it changed by this share of its value before "
        "(0.1 = a tenth); workbook monitor's default when empty.",
    )


class CycleEntry(_Model):
    date: dt.date
    phase: Phase
    iteration: int = Field(1, ge=1)
    note: Text = Field(min_length=1)


class Cycle(_Model):
    """Where the engagement is in the DDMADV cycle, and what each phase produced."""

    phase: Phase = "discover"
    iteration: int = Field(1, ge=1)
    log: list[CycleEntry] = Field(default_factory=list)


class DataSource(_Model):
    """A CRM export imported into the workspace (filled by the importer)."""

    id: Slug
    system: ShortText
    file: ShortText
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    imported_at: dt.datetime
    rows: int = Field(ge=0)
    rejected: int = Field(0, ge=0)
    first_event: dt.datetime | None = None
    last_event: dt.datetime | None = None


class ReportSettings(_Model):
    """Which sections this client's report shows, when no ``sections`` parameter is given.

    Ids are those of :func:`workbook.sections.names` (checked when a report is made, since
    the sections are registered above this layer). ``sections`` lists the sections to show
    (``None`` or empty: all); ``exclude`` drops sections from that choice. Cover and
    contents are always shown.
    """

    sections: list[Slug] | None = Field(
        None, description="Section ids to show, like [summary, funnel]; all when not given."
    )
    exclude: list[Slug] = Field(
        default_factory=list, description="Section ids to leave out, like [experiments]."
    )


class Settings(_Model):
    """How the workspace's numbers are computed. Never credentials: a cluster's address and
    keys are Spark's own configuration (spark-defaults.conf, SPARK_CONF_DIR)."""

    engine: Literal["duckdb", "spark"] | None = Field(
        None,
        description="Engine for import and analytics: duckdb (the default, on this computer) "
        "or spark (a cluster, for histories too large for one machine).",
    )


# ---------------------------------------------------------------------------- workspace


class Workspace(_Model):
    """One client engagement."""

    # Both are counters the store writes: a whole number, never 1.0 or "1" (a lax 0.0 would
    # pass as version 0, which then could not be read back).
    schema_version: int = Field(SCHEMA_VERSION, strict=True)
    revision: int = Field(0, ge=0, strict=True, description="Raised by one at every save.")
    client: Client
    objectives: list[Objective] = Field(default_factory=list)
    value_proposition: ValueProposition = Field(
        default_factory=lambda: ValueProposition.model_validate({})
    )
    segments: list[Segment] = Field(default_factory=list)
    icps: list[ICP] = Field(default_factory=list)
    personas: list[Persona] = Field(default_factory=list)
    stages: list[Stage] = Field(default_factory=default_stages)
    ignored_stage_names: list[IgnoredStageName] = Field(
        default_factory=list,
        description="CRM stage names that are no stage of this journey; the importer skips them.",
    )
    touchpoints: list[Touchpoint] = Field(default_factory=list)
    journeys: list[Journey] = Field(default_factory=list)
    measurement: Measurement = Field(default_factory=Measurement)
    processes: list[Process] = Field(default_factory=list)
    content: list[ContentItem] = Field(default_factory=list)
    analysis: Analysis = Field(default_factory=Analysis)
    campaign: Campaign = Field(default_factory=Campaign)
    validation: Validation = Field(default_factory=Validation)
    cycle: Cycle = Field(default_factory=Cycle)
    data_sources: list[DataSource] = Field(default_factory=list)
    report: ReportSettings = Field(default_factory=ReportSettings)
    settings: Settings = Field(default_factory=Settings)

    # -- lookups used everywhere; cheap, no caching (the document is small)

    def stage_ids(self) -> list[str]:
        return [s.id for s in self.stages]

    def persona(self, persona_id: str) -> Persona:
        return _by_id(self.personas, persona_id, "persona")

    def stage(self, stage_id: str) -> Stage:
        return _by_id(self.stages, stage_id, "stage")

    def touchpoint(self, touchpoint_id: str) -> Touchpoint:
        return _by_id(self.touchpoints, touchpoint_id, "touchpoint")

    def journey(self, persona_id: str, icp: str | None = None) -> Journey | None:
        for j in self.journeys:
            if j.persona == persona_id and j.icp == icp:
                return j
        return None


def _by_id(items: Iterable[_T], item_id: str, what: str) -> _T:
    items = list(items)
    for item in items:
        if getattr(item, "id", None) == item_id:
            return item
    known = ", ".join(str(getattr(i, "id", "?")) for i in items) or "none yet"
    raise KeyError(f"no {what} with id {item_id!r} (known: {known})")


# --------------------------------------------------------------------------- validation


def loc_to_path(loc: Iterable[str | int]) -> str:
    """``("personas", 2, "name")`` -> ``"personas[2].name"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _friendly(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "is not a known field (check the spelling; `workbook schema` lists the fields)"
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch":
        return "must be an id: lower-case letters, digits and single hyphens (like 'priya-planner')"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    msg = str(err.get("msg", "is invalid"))
    msg = msg.removeprefix("Value error, ")
    return msg[0].lower() + msg[1:] if msg else msg


def _score_range_message(err: Mapping[str, Any], path: str) -> str | None:
    if path.endswith(".emotion") and err.get("type") in ("greater_than_equal", "less_than_equal"):
        return "must be between -2 and 2"
    return None


def schema_problems(
    data: Any, *, file: str | None = None
) -> tuple[Workspace | None, list[Problem]]:
    """Validate raw data against the schema; return the model (or None) and every problem."""
    ws, problems, _total = _schema_check(data, file=file)
    return ws, problems


def _schema_check(
    data: Any, *, file: str | None = None, limit: int | None = None
) -> tuple[Workspace | None, list[Problem], int]:
    """:func:`schema_problems`, with at most ``limit`` problems made and how many there are.

    A hand-made file can hold a million mistakes: only the ones a person will read are
    turned into problems.
    """
    try:
        return Workspace.model_validate(data), [], 0
    except ValidationError as exc:
        problems = []
        for err in itertools.islice(exc.errors(include_url=False), limit):
            path = loc_to_path(err["loc"])
            message = _score_range_message(err, path) or _friendly(err)
            hint = _TYPE_HINTS.get(str(err.get("type", "")))
            problems.append(Problem(message, file=file, field=path or "(top level)", hint=hint))
        return None, problems, exc.error_count()


_FIELDS_HINT = "write its fields indented under it, one 'name: value' per line"
_DATE_HINT = "write a date as YYYY-MM-DD"
_DATETIME_HINT = "write a date and time as YYYY-MM-DD HH:MM:SS"
#: What to write instead, for a value of the wrong kind (by pydantic's error type).
_TYPE_HINTS = {
    "list_type": "write a list: one item per line, each starting with '- '",
    "dict_type": _FIELDS_HINT,
    "model_type": _FIELDS_HINT,
    "model_attributes_type": _FIELDS_HINT,
    "string_type": "write text; put it in quotes if it looks like a number or a date",
    "int_type": "write a whole number",
    "int_parsing": "write a whole number",
    "int_parsing_size": "write an ordinary whole number",
    "int_from_float": "write a whole number",
    "float_type": "write a number",
    "float_parsing": "write a number",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "date_type": _DATE_HINT,
    "date_parsing": _DATE_HINT,
    "date_from_datetime_parsing": _DATE_HINT,
    "date_from_datetime_inexact": _DATE_HINT,
    "datetime_type": _DATETIME_HINT,
    "datetime_parsing": _DATETIME_HINT,
    "datetime_from_date_parsing": _DATETIME_HINT,
}


def metric_stages(metric: object) -> list[str]:
    """The stage ids a KPI formula names: ``"conversion:consideration:purchase"`` ->
    ``["consideration", "purchase"]``; ``reach:<stage>`` and ``median-days:<stage>`` name
    one. Anything else (free text like "open rate", or no formula) names none.

    The grammar is the one :func:`workbook.analytics.kpis.metric_value` computes.
    """
    if not isinstance(metric, str):
        return []
    head, *args = (part.strip() for part in metric.strip().split(":"))
    if head == "conversion" and len(args) == 2:
        return args
    if head in ("reach", "median-days") and len(args) == 1:
        return args
    return []


def _iter_refs(ws: Workspace) -> Iterator[tuple[str, str, str]]:
    """Yield (field path, kind of thing referred to, id) for every cross-reference.

    A KPI formula's stages count (``objectives[0].metric`` for ``conversion:a:b``).
    """
    for i, o in enumerate(ws.objectives):
        for st in metric_stages(o.metric):
            yield f"objectives[{i}].metric", "stage", st
    for i, p in enumerate(ws.personas):
        for j, seg in enumerate(p.segments):
            yield f"personas[{i}].segments[{j}]", "segment", seg
        if p.icp:
            yield f"personas[{i}].icp", "icp", p.icp
    for i, t in enumerate(ws.touchpoints):
        for j, st in enumerate(t.stages):
            yield f"touchpoints[{i}].stages[{j}]", "stage", st
    for i, jn in enumerate(ws.journeys):
        base = f"journeys[{i}]"
        yield f"{base}.persona", "persona", jn.persona
        if jn.icp:
            yield f"{base}.icp", "icp", jn.icp
        for st, cell in jn.stages.items():
            yield f"{base}.stages.{st}", "stage", st
            for k, tp in enumerate(cell.touchpoints):
                yield f"{base}.stages.{st}.touchpoints[{k}]", "touchpoint", tp
        for st, cell in (jn.to_be or {}).items():
            yield f"{base}.to_be.{st}", "stage", st
            for k, tp in enumerate(cell.touchpoints):
                yield f"{base}.to_be.{st}.touchpoints[{k}]", "touchpoint", tp
        for k, a in enumerate(jn.annotations):
            yield f"{base}.annotations[{k}].stage", "stage", a.stage
            if a.touchpoint:
                yield f"{base}.annotations[{k}].touchpoint", "touchpoint", a.touchpoint
        for k, r in enumerate(jn.recommendations):
            yield f"{base}.recommendations[{k}].stage", "stage", r.stage
            if r.touchpoint:
                yield f"{base}.recommendations[{k}].touchpoint", "touchpoint", r.touchpoint
    m = ws.measurement
    for i, kpi in enumerate(m.kpis):
        if kpi.objective:
            yield f"measurement.kpis[{i}].objective", "objective", kpi.objective
        if kpi.stage:
            yield f"measurement.kpis[{i}].stage", "stage", kpi.stage
        for st in metric_stages(kpi.metric):
            yield f"measurement.kpis[{i}].metric", "stage", st
    for i, okr in enumerate(m.okrs):
        for j, kr in enumerate(okr.key_results):
            for st in metric_stages(kr.metric):
                yield f"measurement.okrs[{i}].key_results[{j}].metric", "stage", st
    for i, rule in enumerate(m.scoring_rules):
        if rule.touchpoint:
            yield f"measurement.scoring_rules[{i}].touchpoint", "touchpoint", rule.touchpoint
        if rule.stage:
            yield f"measurement.scoring_rules[{i}].stage", "stage", rule.stage
    for i, e in enumerate(m.experiments):
        if e.touchpoint:
            yield f"measurement.experiments[{i}].touchpoint", "touchpoint", e.touchpoint
    for i, pr in enumerate(ws.processes):
        for j, tp in enumerate(pr.touchpoints):
            yield f"processes[{i}].touchpoints[{j}]", "touchpoint", tp
    for i, c in enumerate(ws.content):
        yield f"content[{i}].stage", "stage", c.stage
        for j, pid in enumerate(c.personas):
            yield f"content[{i}].personas[{j}]", "persona", pid
    analysis = ws.analysis
    if analysis.objective:
        yield "analysis.objective", "objective", analysis.objective
    for i, fd in enumerate(analysis.findings):
        if fd.stage:
            yield f"analysis.findings[{i}].stage", "stage", fd.stage
        if fd.persona:
            yield f"analysis.findings[{i}].persona", "persona", fd.persona
    if analysis.chosen and analysis.chosen.startswith("finding:"):
        yield "analysis.chosen", "finding", analysis.chosen.removeprefix("finding:")
    for i, seo in enumerate(ws.campaign.seo):
        if seo.stage:
            yield f"campaign.seo[{i}].stage", "stage", seo.stage
        if seo.persona:
            yield f"campaign.seo[{i}].persona", "persona", seo.persona
    for i, post in enumerate(ws.campaign.social):
        if post.persona:
            yield f"campaign.social[{i}].persona", "persona", post.persona
    for i, mix in enumerate(ws.campaign.channel_mix):
        yield f"campaign.channel_mix[{i}].persona", "persona", mix.persona
    for i, check in enumerate(ws.validation.launch):
        if check.process:
            yield f"validation.launch[{i}].process", "process", check.process
        if check.touchpoint:
            yield f"validation.launch[{i}].touchpoint", "touchpoint", check.touchpoint


def _collections(ws: Workspace) -> dict[str, tuple[str, list[Any]]]:
    m = ws.measurement
    return {
        "objective": ("objectives", ws.objectives),
        "segment": ("segments", ws.segments),
        "icp": ("icps", ws.icps),
        "persona": ("personas", ws.personas),
        "stage": ("stages", ws.stages),
        "touchpoint": ("touchpoints", ws.touchpoints),
        "kpi": ("measurement.kpis", m.kpis),
        "okr": ("measurement.okrs", m.okrs),
        "scoring rule": ("measurement.scoring_rules", m.scoring_rules),
        "experiment": ("measurement.experiments", m.experiments),
        "process": ("processes", ws.processes),
        "content item": ("content", ws.content),
        "finding": ("analysis.findings", ws.analysis.findings),
        "SEO target": ("campaign.seo", ws.campaign.seo),
        "social post": ("campaign.social", ws.campaign.social),
        "channel mix entry": ("campaign.channel_mix", ws.campaign.channel_mix),
        "launch check": ("validation.launch", ws.validation.launch),
        "data source": ("data_sources", ws.data_sources),
    }


def stage_name_problems(ws: Workspace, *, file: str | None = None) -> list[Problem]:
    """Every CRM stage name claimed twice: by two stages' aliases, by an alias and another
    stage's id or name, or by an alias and the ignored names (compared by
    :func:`stage_name_key`, as the importer matches them)."""
    problems: list[Problem] = []
    own: dict[str, str] = {}  # key -> stage id whose id or name it is
    for s in ws.stages:
        own.setdefault(stage_name_key(s.id), s.id)
        own.setdefault(stage_name_key(s.name), s.id)
    claimed: dict[str, tuple[str, str]] = {}  # key -> (stage id, where)
    for i, s in enumerate(ws.stages):
        for j, alias in enumerate(s.aliases):
            key, where = stage_name_key(alias), f"stages[{i}].aliases[{j}]"
            message = hint = ""
            if key in claimed and claimed[key][0] == s.id:
                message = f"{alias!r} is listed twice"
                hint = "remove one of them"
            elif key in claimed:
                message = f"{alias!r} is already an alias of stage {claimed[key][0]!r}"
                hint = "a CRM stage name goes to one stage only: remove it from one of them"
            elif own.get(key, s.id) != s.id:
                message = f"{alias!r} is the id or name of stage {own[key]!r}"
                hint = "remove the alias: that name already goes to its own stage"
            if message:
                problems.append(Problem(message, file=file, field=where, hint=hint))
            claimed.setdefault(key, (s.id, where))
    ignored: set[str] = set()
    for i, item in enumerate(ws.ignored_stage_names):
        key, where = stage_name_key(item.name), f"ignored_stage_names[{i}].name"
        message = hint = ""
        if key in ignored:
            message, hint = f"{item.name!r} is listed twice", "remove one of them"
        elif key in claimed:
            message = f"{item.name!r} is also an alias of stage {claimed[key][0]!r}"
            hint = "either the stage takes it or it is ignored: remove one"
        elif key in own:
            message = f"{item.name!r} is the id or name of stage {own[key]!r}"
            hint = "a stage's own name cannot be ignored: remove it from this list"
        if message:
            problems.append(Problem(message, file=file, field=where, hint=hint))
        ignored.add(key)
    return problems


def id_listing(ids: Iterable[str], limit: int = 20) -> str:
    """Known ids for a hint, sorted: ``"a, b, c"``, the first ``limit`` and how many more."""
    known = sorted(ids)
    if not known:
        return "none defined yet"
    text = ", ".join(known[:limit])
    return text + (f" and {len(known) - limit:,} more" if len(known) > limit else "")


def _name_key(name: str) -> str:
    """How two display names compare: case and spaces ignored (``"Priya  planner"`` and
    ``"priya Planner"`` are one name)."""
    return "".join(name.split()).casefold()


def name_problems(ws: Workspace, *, file: str | None = None) -> list[Problem]:
    """Every persona, touchpoint, stage or objective named like an earlier one of its kind.

    Names compare without case and spaces (stages as the importer matches them, see
    :func:`stage_name_key`): two personas called "Priya" and "priya " are one name twice,
    which no picker, map or report can tell apart.
    """
    problems: list[Problem] = []
    named: list[tuple[str, str, list[Any], str]] = [
        ("objective", "objectives", ws.objectives, "title"),
        ("persona", "personas", ws.personas, "name"),
        ("stage", "stages", ws.stages, "name"),
        ("touchpoint", "touchpoints", ws.touchpoints, "name"),
    ]
    for what, path, items, attr in named:
        seen: dict[str, Any] = {}
        for i, item in enumerate(items):
            name = getattr(item, attr)
            key = stage_name_key(name) if what == "stage" else _name_key(name)
            first = seen.setdefault(key, item) if key else item
            if first is item:
                continue
            problems.append(
                Problem(
                    f"{what} {name!r} ({item.id}) has the same name as {what} "
                    f"{getattr(first, attr)!r} ({first.id})",
                    file=file,
                    field=f"{path}[{i}].{attr}",
                    hint=f"give each {what} its own name (case and spaces do not count)",
                )
            )
    return problems


def reference_problems(ws: Workspace, *, file: str | None = None) -> list[Problem]:
    """Every duplicate id or name (:func:`name_problems`), every reference to an id that does
    not exist (a stage named in a KPI formula too), and every CRM stage name claimed twice
    (:func:`stage_name_problems`)."""
    problems: list[Problem] = stage_name_problems(ws, file=file)
    problems += name_problems(ws, file=file)
    cols = _collections(ws)
    ids: dict[str, set[str]] = {}
    for what, (path, items) in cols.items():
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id in seen:
                problems.append(
                    Problem(
                        f"duplicate id {item.id!r}",
                        file=file,
                        field=f"{path}[{i}].id",
                        hint=f"every {what} needs its own id",
                    )
                )
            seen.add(item.id)
        ids[what] = seen
    seen_maps: set[tuple[str, str | None]] = set()
    for i, jn in enumerate(ws.journeys):
        key = (jn.persona, jn.icp)
        if key in seen_maps:
            problems.append(
                Problem(
                    f"a second map for persona {jn.persona!r}"
                    + (f" and ICP {jn.icp!r}" if jn.icp else ""),
                    file=file,
                    field=f"journeys[{i}].persona",
                    hint="merge the two maps into one",
                )
            )
        seen_maps.add(key)
    for path, what, ref in _iter_refs(ws):
        if ref not in ids[what]:
            known = id_listing(ids[what])
            problems.append(
                Problem(
                    _missing_message(path, what, ref),
                    file=file,
                    field=path,
                    hint=f"use one of: {known}",
                )
            )
    problems += _design_problems(ws, ids, file=file)
    return problems


def _design_problems(
    ws: Workspace, ids: Mapping[str, set[str]], *, file: str | None = None
) -> list[Problem]:
    """The to-be map's links and the recommendations' KPIs: a to-be cell links only to
    recommendations of its own journey (the as-is map links to none), and a recommendation's
    KPI is a measurement KPI or an objective of the workspace."""
    problems: list[Problem] = []
    metrics = ids["kpi"] | ids["objective"]
    for i, jn in enumerate(ws.journeys):
        base = f"journeys[{i}]"
        own = {r.id for r in jn.recommendations}
        for st, cell in jn.stages.items():
            if cell.recommendations:
                problems.append(
                    Problem(
                        "the as-is map links to recommendations",
                        file=file,
                        field=f"{base}.stages.{st}.recommendations",
                        hint="link recommendations in the to-be map (to_be), where the change is",
                    )
                )
        for st, cell in (jn.to_be or {}).items():
            for k, rid in enumerate(cell.recommendations):
                if rid not in own:
                    problems.append(
                        Problem(
                            f"refers to recommendation {rid!r}, which this map does not have",
                            file=file,
                            field=f"{base}.to_be.{st}.recommendations[{k}]",
                            hint=f"use one of this persona's: {id_listing(own)}",
                        )
                    )
        for k, r in enumerate(jn.recommendations):
            if r.kpi and r.kpi not in metrics:
                problems.append(
                    Problem(
                        f"refers to KPI {r.kpi!r}, which is neither a KPI nor an objective",
                        file=file,
                        field=f"{base}.recommendations[{k}].kpi",
                        hint=f"use one of: {id_listing(metrics)}",
                    )
                )
    return problems


def _missing_message(path: str, what: str, ref: str) -> str:
    """What to say about a reference to an id that does not exist."""
    if path.endswith(".metric"):
        return f"the formula names {what} {ref!r}, which the workspace does not have"
    return f"refers to {what} {ref!r}, which does not exist"


def validate_workspace(data: Any, *, file: str | None = None) -> Workspace:
    """Validate raw data (a dict from YAML) and every cross-reference in it.

    Raises
    ------
    WorkspaceValidationError
        With every problem found, each with its field path.
    """
    ws, problems = schema_problems(data, file=file)
    if ws is not None:
        problems = reference_problems(ws, file=file)
    if problems:
        raise WorkspaceValidationError.from_problems(file or "workspace", problems)
    assert ws is not None
    return ws
