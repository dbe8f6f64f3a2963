"""The course as data: the notebooks in order, what each teaches, how long it takes.

:data:`LESSONS` is the one place that says, for every notebook of the course, its title, its
learning objectives, the minutes it takes, where it sits in the DDMADV cycle, what the trainee
did by its end and which notebook comes next. The notebooks (:func:`intro`, :func:`outro`),
the start page (:func:`contents`, :func:`cycle`) and the rendered course site
(:mod:`workbook.course_site`) all read it, so they cannot disagree.

The minutes are an estimate of what a first-time trainee needs to read the notebook, fill its
forms for the practice client and pass its check: worked out from the prose to read, the fields
each form asks for and the exercise, at about a minute per field, rounded up to five minutes.
They have not been timed with trainees yet; correct them here when a cohort has been.

Pure data and small HTML builders: no file access, nothing heavy imported. Every text here is
ours; nothing a user typed reaches these builders, and each is escaped all the same.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from workbook import method

__all__ = [
    "AFTER_COURSE",
    "LESSONS",
    "PHASE_SENTENCES",
    "Lesson",
    "LessonBox",
    "contents",
    "cycle",
    "intro",
    "lesson",
    "next_lesson",
    "outro",
    "previous_lesson",
    "total_minutes",
]


@dataclass(frozen=True)
class Lesson:
    """One notebook of the course.

    Attributes
    ----------
    id
        The notebook's file stem (``01-objectives``); the file is ``notebooks/<id>.ipynb``.
    title
        The title shown in the contents and in the site's navigation.
    step
        The id of the mapping step the notebook covers (:data:`workbook.method.STEPS`), or
        ``None`` for the start page.
    minutes
        How long a first-time trainee needs for it (see the module docstring).
    objectives
        What the trainee can do afterwards, each finishing "By the end you can ...".
    did
        What the trainee did in it, in the past tense, for the closing summary.
    """

    id: str
    title: str
    step: str | None
    minutes: int
    objectives: tuple[str, ...]
    did: tuple[str, ...]

    @property
    def notebook(self) -> str:
        """The notebook's file name (``01-objectives.ipynb``), relative to ``notebooks/``."""
        return f"{self.id}.ipynb"

    @property
    def phases(self) -> tuple[str, ...]:
        """The DDMADV phase ids the notebook sits in (from its step; none for the start)."""
        return method.step(self.step).phases if self.step else ()

    @property
    def number(self) -> int:
        """The position in the course: 0 for the start page, then the step number."""
        return LESSONS.index(self)


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        id="00-start-here",
        title="Start here",
        step=None,
        minutes=10,
        objectives=(
            "say what the seven mapping steps and the five DDMADV phases are for",
            "set up a practice client of your own and point the notebooks at it",
            "see at any time which exercises you have done",
        ),
        did=(
            "read what the course covers and how long each part takes",
            "created (or picked) the workspace you will practise on",
            "looked at your progress, which this page keeps up to date",
        ),
    ),
    Lesson(
        id="01-objectives",
        title="Step 1: Define objectives",
        step="objectives",
        minutes=25,
        objectives=(
            "turn a vague wish of the client into an objective that can be measured",
            "give each objective a KPI the workspace can compute, a baseline and a target",
            "break a goal into an OKR: key results and the to-dos that move them",
        ),
        did=(
            "wrote the reasons for mapping as objectives with owners",
            "tied each objective to a KPI with today's value and the value to reach",
            "let the check tell you which objectives could not yet be measured",
        ),
    ),
    Lesson(
        id="02-personas",
        title="Step 2: Create buyer personas",
        step="personas",
        minutes=40,
        objectives=(
            "write a value proposition as the customer's jobs, pains and gains",
            "answer the eight questions of the ideal customer profile",
            "describe personas by their goals, pains and the channels they prefer",
        ),
        did=(
            "described what the client offers from the customer's side",
            "cut the market into segments and answered the ICP checklist",
            "gave the buyers faces: personas with goals, pains and channels",
        ),
    ),
    Lesson(
        id="03-touchpoints",
        title="Step 3: List touchpoints",
        step="touchpoints",
        minutes=25,
        objectives=(
            "list every place the customer meets the client, online and in person",
            "give each touchpoint a channel, the stages it serves and an owner",
            "spot a stage that no touchpoint serves",
        ),
        did=(
            "walked the journey as a customer and listed what they meet on the way",
            "gave each touchpoint its stages, its owner and any promised service level",
            "checked that every stage and every persona's channels are served",
        ),
    ),
    Lesson(
        id="04-stages",
        title="Step 4: Identify stages",
        step="stages",
        minutes=20,
        objectives=(
            "name the stages of the journey as the customer lives them",
            "write entry and exit criteria someone could observe in the data",
            "pair each stage with the client's selling action",
        ),
        did=(
            "put the stages in order and named them from the customer's side",
            "wrote what puts a contact into each stage and what moves them on",
            "removed the seller's jargon the check pointed out",
        ),
    ),
    Lesson(
        id="05-data",
        title="Step 5: Gather data",
        step="data",
        minutes=45,
        objectives=(
            "import a CRM export and fix what the importer reports",
            "map the CRM's own stage names onto the journey's stages",
            "go wide over the causes of a weak number, then deep into the weakest",
            "work out a stage-to-stage conversion rate from the counts yourself",
        ),
        did=(
            "brought the client's CRM history into the workspace, pseudonymised",
            "wrote lead-scoring rules that weigh what contacts do by their intent",
            "ranked what could explain a missed target and picked one to act on",
            "computed a conversion rate by hand and had it checked against the data",
        ),
    ),
    Lesson(
        id="06-journey-map",
        title="Step 6: Visualise the journey",
        step="visualise",
        minutes=50,
        objectives=(
            "fill a journey map for a persona: actions, touchpoints, thoughts, pains",
            "score the emotion at each stage and read the curve it draws",
            "ground each score in something heard or measured",
            "draft the desired journey beside the map as it is today",
        ),
        did=(
            "drew a map per persona, stage by stage",
            "scored how each stage feels, which drew the emotion curve",
            "named the pain points the curve's low points come from",
            "sketched the journey the client wants, starting from today's",
        ),
    ),
    Lesson(
        id="07-refine",
        title="Step 7: Iterate and refine",
        step="refine",
        minutes=60,
        objectives=(
            "mark the best moment and the worst struggle on a map",
            "write recommendations with an owner and a KPI beside the touchpoint they fix",
            "plan an experiment, key processes, content and the campaign control sheet",
            "check a change before launch, and log where the cycle stands",
        ),
        did=(
            "annotated the map with what to protect and what to fix first",
            "wrote recommendations that someone owns and a number will judge",
            "set up the tests, processes and content that take the client into the next round",
        ),
    ),
)

#: The DDMADV phases in one sentence each, for the start page and the site.
PHASE_SENTENCES: dict[str, str] = {
    "discover": "Learn what the client offers and to whom: value proposition, segments, "
    "personas and the stages of their journey.",
    "measure": "Decide how progress will be counted: KPIs with baselines and targets, OKRs, "
    "lead scores and the CRM data to count with.",
    "analyse": "Find where the journey loses people and why, going wide over every cause "
    "before going deep into the weakest.",
    "design": "Shape the journey the client wants: the map to aim for, content per stage, "
    "channels and what to automate.",
    "validate": "Test each change before it reaches everyone, watch the numbers, and start "
    "the cycle again when one moves.",
}

#: What comes after the course, for the last notebook and the site's last page.
AFTER_COURSE: tuple[str, ...] = (
    "Hand your work in: check in `00-start-here` that every exercise is ticked, then "
    "`workbook course hand-in WORKSPACE` packs your copy into one file to send your trainer.",
    "Render the client report: `workbook report WORKSPACE` writes one HTML page (and a PDF) "
    "with every map, chart and recommendation you captured.",
    "Run the workshop: `workbook workshop WORKSPACE` opens the seven steps as one app with no "
    "code, for the client in the room (or use these notebooks in workshop mode); "
    "`workbook deck WORKSPACE` gives the slides to open and close it with.",
    "Go round the DDMADV cycle again: once the client has changed something, "
    "`workbook monitor WORKSPACE` says which KPI moved, and you return to Analyse with a "
    "snapshot to compare against.",
)


#: Every notebook opens on the demo; a trainee going on to the next one carries the
#: parameters over (said under each "Next" link; the course site, which has no parameters to
#: set, hides it by its class ``wb-carry-over``).
_CARRY_OVER = (
    "It opens on the demo: before you run it, set `workspace` and `mode` in its first code "
    "cell as you set them in this one."
)


def lesson(lesson_id: str) -> Lesson:
    """The lesson with this id (``"02-personas"``), step id (``"personas"``) or number.

    Raises
    ------
    KeyError
        Naming the known lesson ids.
    """
    for i, item in enumerate(LESSONS):
        if lesson_id in (item.id, item.step, str(i), f"{i:02d}"):
            return item
    raise KeyError(f"no lesson {lesson_id!r} (known: {', '.join(x.id for x in LESSONS)})")


def next_lesson(lesson_id: str) -> Lesson | None:
    """The lesson after this one; ``None`` after the last."""
    i = LESSONS.index(lesson(lesson_id))
    return LESSONS[i + 1] if i + 1 < len(LESSONS) else None


def previous_lesson(lesson_id: str) -> Lesson | None:
    """The lesson before this one; ``None`` before the first."""
    i = LESSONS.index(lesson(lesson_id))
    return LESSONS[i - 1] if i > 0 else None


def total_minutes() -> int:
    """The whole course, in minutes."""
    return sum(item.minutes for item in LESSONS)


# ------------------------------------------------------------------------------ HTML


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _code(text: str) -> str:
    """Escape ``text`` and show its `backticked` parts as code."""
    parts = _e(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _phase_names(phases: tuple[str, ...]) -> str:
    return ", ".join(method.phase(p).title for p in phases)


def _link(item: Lesson, suffix: str) -> str:
    return f'<a class="wb-lesson-link" href="{_e(item.id + suffix)}">{_e(item.title)}</a>'


@dataclass(frozen=True)
class LessonBox:
    """A piece of course copy to display: HTML in a notebook, plain text elsewhere."""

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.text


_BOX = "border:1px solid #D6E4F0;border-left:4px solid #1F4E79;padding:6px 12px;margin:6px 0"


def intro(lesson_id: str) -> LessonBox:
    """The opening of a notebook: its learning objectives, the time it takes, its phase."""
    item = lesson(lesson_id)
    where = f" &middot; DDMADV: {_e(_phase_names(item.phases))}" if item.phases else ""
    items = "".join(f"<li>{_e(o)}</li>" for o in item.objectives)
    body = (
        f'<div class="wb-lesson-intro" style="{_BOX}">'
        f"<b>In this notebook</b> <small>(about {item.minutes} minutes{where})</small>"
        f"<br>By the end you can:<ul>{items}</ul></div>"
    )
    text = "\n".join(
        [f"In this notebook (about {item.minutes} minutes). By the end you can:"]
        + [f"  - {o}" for o in item.objectives]
    )
    return LessonBox(body, text)


def outro(lesson_id: str, *, suffix: str = ".ipynb") -> LessonBox:
    """The close of a notebook: what the trainee did, and the next notebook (or what comes
    after the course, on the last one). ``suffix`` is the links' file ending (``.html`` on
    the rendered site)."""
    item = lesson(lesson_id)
    after = next_lesson(item.id)
    did = "".join(f"<li>{_e(d)}</li>" for d in item.did)
    lines = ["What you did:", *(f"  - {d}" for d in item.did)]
    if after is not None:
        nxt = (
            f"<p>Next: {_link(after, suffix)} (about {after.minutes} minutes). "
            f'<span class="wb-carry-over">{_code(_CARRY_OVER)}</span></p>'
        )
        lines += [f"Next: {after.title} ({after.notebook})", _CARRY_OVER.replace("`", "")]
    else:
        steps = "".join(f"<li>{_code(a)}</li>" for a in AFTER_COURSE)
        nxt = f"<p><b>After the course</b></p><ol>{steps}</ol>"
        lines += ["After the course:", *(f"  {i}. {a}" for i, a in enumerate(AFTER_COURSE, 1))]
    body = (
        f'<div class="wb-lesson-outro" style="{_BOX}"><b>What you did</b><ul>{did}</ul>{nxt}</div>'
    )
    return LessonBox(body, "\n".join(lines))


#: Table cells read top-left (JupyterLab right-aligns table cells by default).
_TD = ' style="text-align:left;vertical-align:top"'


def contents(*, suffix: str = ".ipynb") -> LessonBox:
    """The course in a table: each notebook, its minutes, its phase and its objectives."""
    rows = []
    lines = []
    for item in LESSONS:
        goals = "".join(f"<li>{_e(o)}</li>" for o in item.objectives)
        rows.append(
            f"<tr><td{_TD}>{_link(item, suffix)}</td><td{_TD}>{item.minutes}&nbsp;min</td>"
            f"<td{_TD}>{_e(_phase_names(item.phases)) or '&ndash;'}</td>"
            f'<td{_TD}><ul style="margin:0;padding-left:1.2em">{goals}</ul></td></tr>'
        )
        lines.append(f"{item.id:<15} {item.minutes:>3} min  {item.title}")
    total = total_minutes()
    hours = f"{total // 60} h {total % 60:02d} min"
    head = "".join(
        f"<th{_TD}>{h}</th>" for h in ("Notebook", "Time", "DDMADV phase", "By the end you can")
    )
    body = (
        f'<table class="wb-contents"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<p>The whole course takes about <b>{hours}</b>; take it over two or three sittings.</p>"
    )
    return LessonBox(body, "\n".join([*lines, f"Total: about {hours}"]))


def cycle() -> LessonBox:
    """The five DDMADV phases, a sentence each, in order."""
    items = "".join(
        f"<li><b>{_e(method.phase(key).title)}</b>: {_e(sentence)}</li>"
        for key, sentence in PHASE_SENTENCES.items()
    )
    body = f'<ol class="wb-cycle">{items}</ol><p>&hellip; and round again.</p>'
    text = "\n".join(
        f"{i}. {method.phase(k).title}: {s}" for i, (k, s) in enumerate(PHASE_SENTENCES.items(), 1)
    )
    return LessonBox(body, text)
