"""The sections of a client report: a registry of functions ``(ws, ctx) -> HTML``.

The report notebook (``notebooks/report.ipynb``) has one cell per section and each cell calls
:func:`render_section` with the section's id; nothing else happens in the notebook. A section
is a plain function that reads the workspace (and, through the context, the analytics) and
returns an HTML string built with Jinja **autoescape**, so every text a person typed into a
workspace reaches the page as text, never as markup.

A section whose data is missing (no CRM import yet, no experiments, a module of the package
that is not installed) returns a short, polite note instead of failing: a report with a
gap is still a report. Anything else that goes wrong is a bug and stops the report with the
section's name, so it is never hidden.

Charts are Vega-Lite specifications turned into static SVG by vl-convert and embedded as
``data:`` images: small, deterministic, printable, no script, no network. We build the specs
as plain dicts rather than through altair because importing altair costs about two seconds
in every report kernel (jsonschema's IRI checker), a third of a report's time.

This module holds the registry, the context and the core sections (cover to appendix).
Sections of a further topic live in a module of their own in this package
(``workbook.sections.<topic>``), imported at the end of this module so that they register.
"""

from __future__ import annotations

import datetime as dt
import html
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbook.exceptions import ReportError, WorkbookError

__all__ = [
    "REPORT_ORDER",
    "DATA_SUFFIX",
    "ReportContext",
    "Section",
    "SectionHTML",
    "get",
    "names",
    "register",
    "render_section",
    "report_context",
]

SectionFunc = Callable[[Any, "ReportContext"], str]


@dataclass(frozen=True)
class Section:
    """One registered section: its id, its title in the table of contents, its renderer."""

    id: str
    title: str
    render: SectionFunc
    in_toc: bool = True


_REGISTRY: dict[str, Section] = {}


def register(
    section_id: str, title: str, *, in_toc: bool = True
) -> Callable[[SectionFunc], SectionFunc]:
    """Register a section renderer under ``section_id`` (a decorator)."""

    def deco(func: SectionFunc) -> SectionFunc:
        _REGISTRY[section_id] = Section(section_id, title, func, in_toc)
        return func

    return deco


def get(section_id: str) -> Section:
    """The section registered as ``section_id``; the error lists the known ids."""
    try:
        return _REGISTRY[section_id]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise KeyError(f"no report section {section_id!r} (known: {known})") from None


#: The order sections appear in a report; sections registered by others come after these.
REPORT_ORDER: tuple[str, ...] = (
    "cover",
    "contents",
    "summary",
    "objectives",
    "okrs",
    "segments",
    "value",
    "personas",
    "journeys",
    "funnel",
    "timing",
    "touchpoints",
    "channels",
    "attribution",
    "wins",
    "scoring",
    "experiments",
    "processes",
    "gaps",
    "to-be",
    "chain",
    "campaign",
    "launch",
    "moved",
    "cycle",
    "appendix",
)


def names() -> list[str]:
    """Every section id, in report order."""
    ordered = [s for s in REPORT_ORDER if s in _REGISTRY]
    return ordered + [s for s in _REGISTRY if s not in REPORT_ORDER]


class SectionHTML(str):
    """A rendered section: a string that notebooks display as HTML."""

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:  # the text/plain fallback in the notebook: short, no content
        return "<report section>"


# ---------------------------------------------------------------------------------- context


class _Missing(Exception):
    """Raised inside a section when the data it needs is not there (becomes a polite note)."""


@dataclass
class ReportContext:
    """What every section shares: the workspace, the report's parameters, caches.

    Build it with :func:`report_context`.
    """

    ws: Any  # an OpenWorkspace (store) or a bare Workspace model
    sections: list[str]
    report_date: dt.date
    locale: str
    theme: Any
    cache: dict[str, Any] = field(default_factory=dict)
    #: The numbers behind each chart and table, as the sections drew them: ``(name, frame)``
    #: in report order (see :meth:`table`); the appendix offers them as a spreadsheet.
    tables: list[tuple[str, Any]] = field(default_factory=list)

    def table(self, name: str, frame: Any) -> None:
        """Keep the numbers behind a chart or table: ``frame`` (a DataFrame whose headers
        carry their units) under ``name``, the heading it has in the report. A name given
        again replaces the earlier table (a section rendered twice)."""
        self.tables = [(n, f) for n, f in self.tables if n != name]
        self.tables.append((name, frame))

    @property
    def data(self) -> Any:
        """The :class:`~workbook.model.Workspace` model."""
        return getattr(self.ws, "data", self.ws)

    @property
    def path(self) -> Path | None:
        p = getattr(self.ws, "path", None)
        return Path(p) if p is not None else None

    # -- formatting in the report's locale (Babel)

    def date(self, value: dt.date | dt.datetime | None, fmt: str = "long") -> str:
        if value is None:
            return "n/a"
        from babel.dates import format_date

        if isinstance(value, dt.datetime):
            value = value.date()
        return str(format_date(value, format=fmt, locale=self.locale))

    def number(self, value: float | None, digits: int = 0) -> str:
        if value is None:
            return "n/a"
        from babel.numbers import format_decimal

        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return str(format_decimal(value, format=pattern, locale=self.locale))

    def percent(self, value: float | None, digits: int = 1) -> str:
        """``0.253`` -> ``25.3%`` (in the locale's own way of writing it)."""
        if value is None:
            return "n/a"
        from babel.numbers import format_percent

        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return str(format_percent(value, format=pattern, locale=self.locale))

    # -- shared, cached lookups

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def has_crm_data(self) -> bool:
        p = self.path
        return p is not None and (p / "data" / "manifest.json").is_file()

    def engine(self) -> Any:
        """One analytics engine for every section (the data is opened once)."""
        if not self.has_crm_data():
            raise _Missing("No CRM data has been imported for this client yet.")

        def make() -> Any:
            from workbook.analytics import Engine

            try:
                return Engine.for_workspace(self.ws)
            except WorkbookError as exc:
                raise _Missing(f"The CRM data could not be read: {exc.message}") from None

        return self.cached("engine", make)

    def analytics(self, name: str, *args: Any, needs_data: bool = True, **kwargs: Any) -> Any:
        """``workbook.analytics.<name>(engine, ...)``, cached; missing data -> a polite note."""
        key = f"analytics:{name}:{args!r}:{sorted(kwargs.items())!r}"
        if key in self.cache:
            return self.cache[key]
        import workbook.analytics as analytics

        func = getattr(analytics, name)
        target = self.engine() if needs_data or self.has_crm_data() else self.ws
        try:
            result = func(target, *args, **kwargs)
        except WorkbookError as exc:
            raise _Missing(f"This analysis could not be run on the data: {exc.message}") from None
        self.cache[key] = result
        return result


def report_context(
    workspace: Any,
    sections: Sequence[str] | None = None,
    report_date: str | dt.date | None = None,
    locale: str = "en_GB",
) -> ReportContext:
    """Open the workspace and gather what the sections share.

    Parameters
    ----------
    workspace
        A workspace folder (path) or an already open workspace / model.
    sections
        The section ids to render, in any order (the report keeps its own order); ``None``
        for all. Cover and contents are always rendered.
    report_date
        The date on the cover, ``YYYY-MM-DD``; today when not given.
    locale
        A locale such as ``en_GB``, ``de_DE`` or ``fr_FR`` for dates and numbers.
    """
    from babel import Locale, UnknownLocaleError

    from workbook.theme import Theme

    if isinstance(workspace, (str, Path)):
        ws: Any = open_for_report(workspace)
    else:
        ws = workspace
    if sections is None:
        chosen = workspace_sections(getattr(ws, "data", ws))
    else:
        unknown = [s for s in sections if s not in _REGISTRY]
        if unknown:
            raise ReportError(
                f"unknown report section(s): {', '.join(unknown)}",
                hint=f"choose from: {', '.join(names())}",
            )
        chosen = [s for s in names() if s in set(sections) | {"cover", "contents"}]
    if report_date is None:
        date = dt.date.today()
    elif isinstance(report_date, dt.date):
        date = report_date
    else:
        try:
            date = dt.date.fromisoformat(str(report_date))
        except ValueError:
            raise ReportError(
                f"report date {report_date!r} is not a date", hint="write it as YYYY-MM-DD"
            ) from None
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        raise ReportError(
            f"unknown locale {locale!r}", hint="use a code such as en_GB, de_DE, fr_FR"
        ) from None
    return ReportContext(
        ws=ws, sections=chosen, report_date=date, locale=locale, theme=Theme.from_workspace(ws)
    )


def section_choice_problems(data: Any, *, file: str | None = None) -> list[Any]:
    """Every id in the workspace's ``report.sections`` and ``report.exclude`` that is no
    report section, as :class:`~workbook.exceptions.Problem` objects naming the field and
    listing the known ids (``workbook validate`` reports them with the schema's)."""
    from workbook.exceptions import Problem

    settings = getattr(data, "report", None)
    problems = []
    for key in ("sections", "exclude"):
        for i, sid in enumerate(getattr(settings, key, None) or []):
            if sid not in _REGISTRY:
                problems.append(
                    Problem(
                        f"{sid!r} is no report section",
                        file=file,
                        field=f"report.{key}[{i}]",
                        hint=f"choose from: {', '.join(names())}",
                    )
                )
    return problems


def workspace_sections(data: Any) -> list[str]:
    """The sections this client's report shows when no ``sections`` parameter is given: the
    workspace's ``report.sections`` (all when not set) less ``report.exclude``, in report
    order, cover and contents always.

    Raises
    ------
    ReportError
        An id in ``report.sections`` or ``report.exclude`` is no section; the error names
        the field and lists the known ids.
    """
    problems = section_choice_problems(data)
    if problems:
        first = problems[0]
        raise ReportError(
            f"workspace.yaml, {first.field}: {first.message}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            hint=first.hint,
        )
    settings = getattr(data, "report", None)
    wanted = list(getattr(settings, "sections", None) or [])
    exclude = list(getattr(settings, "exclude", None) or [])
    keep = set(wanted) if wanted else set(_REGISTRY)
    return [s for s in names() if s in {"cover", "contents"} or (s in keep and s not in exclude)]


def open_for_report(path: str | Path) -> Any:
    """Open a workspace folder through the store (the report only reads it)."""
    try:
        from workbook.store import open_workspace
    except ModuleNotFoundError as exc:  # the store lands in parallel; read the file directly
        if exc.name != "workbook.store":
            raise
        return _read_workspace(Path(path))
    return open_workspace(str(path))


@dataclass
class _ReadOnlyWorkspace:
    path: Path
    data: Any


def _read_workspace(path: Path) -> _ReadOnlyWorkspace:
    import yaml

    from workbook.exceptions import WorkspaceNotFoundError
    from workbook.model import validate_workspace

    file = path / "workspace.yaml"
    if not file.is_file():
        raise WorkspaceNotFoundError.from_path(str(path))
    raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    return _ReadOnlyWorkspace(path, validate_workspace(raw, file=str(file)))


def render_section(section_id: str, ctx: ReportContext) -> SectionHTML | None:
    """Render one section for the notebook; ``None`` (nothing shown) when it was not chosen.

    Warnings raised while rendering are kept out of the output (a client-ready report shows
    none); they are still in the executed notebook's log for the consultant.
    """
    section = get(section_id)
    if section_id not in ctx.sections:
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            body = section.render(ctx.ws, ctx)
        except _Missing as missing:
            body = _frame(section, ctx, note(str(missing)))
        except WorkbookError as exc:
            body = _frame(section, ctx, note(f"This part could not be prepared: {exc.message}"))
        except Exception as exc:
            raise ReportError(
                f"report section {section_id!r} failed: {type(exc).__name__}: {exc}",
                hint="this is a bug in the workbook; the executed notebook beside the report "
                "shows where",
            ) from exc
    ctx.cache.setdefault("_warnings", []).extend(f"{section_id}: {w.message}" for w in caught)
    return SectionHTML(body)


# ------------------------------------------------------------------------------ rendering

_ENV: Any = None


def _env() -> Any:
    global _ENV
    if _ENV is None:
        import jinja2

        _ENV = jinja2.Environment(
            loader=jinja2.PackageLoader("workbook", "templates/sections"),
            autoescape=True,  # user text is data, never markup
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    return _ENV


def html_from(template: str, **values: Any) -> str:
    """Render ``workbook/templates/sections/<template>`` with autoescape on."""
    return str(_env().get_template(template).render(**values))


def note(text: str) -> str:
    """The polite note a section shows when its data is missing."""
    return f'<p class="wb-note">{html.escape(text)}</p>'


def _frame(section: Section, ctx: ReportContext, body: str) -> str:
    from markupsafe import Markup

    toc = [s for s in ctx.sections if get(s).in_toc]
    num = toc.index(section.id) + 1 if section.id in toc else ""
    return html_from("frame.html.j2", s=section, num=num, body=Markup(body))


def _section(
    section_id: str, title: str, *, in_toc: bool = True
) -> Callable[[Callable[..., str]], SectionFunc]:
    """Register a section whose function returns its body; the frame (heading) is added."""

    def deco(func: Callable[[Any, ReportContext], str]) -> SectionFunc:
        def render(ws: Any, ctx: ReportContext) -> str:
            return _frame(get(section_id), ctx, func(ws, ctx))

        render.__doc__ = func.__doc__
        register(section_id, title, in_toc=in_toc)(render)
        return render

    return deco


def svg_chart(spec: dict[str, Any], ctx: ReportContext, *, alt: str) -> str:
    """A Vega-Lite spec as an embedded static SVG image, in the client's theme."""
    import base64

    import vl_convert as vlc

    from workbook.theme import svg_font

    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", **spec}
    config = ctx.theme.vega_config()
    font = svg_font(ctx.theme.font)  # an image sees only the machine's fonts
    for part in [config, *config.values()]:  # top level, title, axis, legend, text marks...
        for key in ("font", "labelFont", "titleFont"):
            if isinstance(part, dict) and key in part:
                part[key] = font
    spec.setdefault("config", config)
    svg = vlc.vegalite_to_svg(spec)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<figure class="wb-chart"><img alt="{html.escape(alt)}" '
        f'src="data:image/svg+xml;base64,{data}"/></figure>'
    )


def _items(values: Iterable[Any]) -> list[Any]:
    return [v for v in values if v]


# =============================================================================== the sections
# Registered in report order. Each returns its body; the frame adds the numbered heading.

_PRIORITY = {"high": 0, "medium": 1, "low": 2}


def open_recommendations(data: Any) -> list[tuple[Any, Any]]:
    """(journey, recommendation) pairs still open, high priority first, in map order."""
    pairs = [
        (j, r)
        for j in data.journeys
        for r in j.recommendations
        if r.status not in ("done", "dropped")
    ]
    return sorted(pairs, key=lambda p: _PRIORITY.get(p[1].priority, 9))


def name_of(items: Iterable[Any], item_id: str | None) -> str:
    for item in items:
        if item.id == item_id:
            return str(item.name)
    return item_id or ""


@register("cover", "Cover", in_toc=False)
def cover(ws: Any, ctx: ReportContext) -> str:
    """Client name, logo, date, engagement, and the dates the CRM data covers."""
    from workbook.model import PHASES

    data = ctx.data
    firsts = [s.first_event for s in data.data_sources if s.first_event]
    lasts = [s.last_event for s in data.data_sources if s.last_event]
    covers = (
        f"{ctx.date(min(firsts), 'medium')} to {ctx.date(max(lasts), 'medium')}"
        if firsts and lasts
        else ""
    )
    return html_from(
        "cover.html.j2",
        client=data.client,
        logo=ctx.theme.logo,
        date=ctx.date(ctx.report_date),
        phase=PHASES.get(data.cycle.phase, data.cycle.phase),
        iteration=data.cycle.iteration,
        covers=covers,
    )


@register("contents", "Contents", in_toc=False)
def contents(ws: Any, ctx: ReportContext) -> str:
    """The table of contents: the chosen sections, numbered, linked."""
    items = [get(s) for s in ctx.sections if get(s).in_toc]
    return html_from("contents.html.j2", items=items)


def _moments(ctx: ReportContext, kind: str) -> list[str]:
    data = ctx.data
    out = []
    for j in data.journeys:
        persona = name_of(data.personas, j.persona)
        for a in j.annotations:
            if a.kind != kind:
                continue
            where = name_of(data.stages, a.stage)
            if a.touchpoint:
                where += ", " + name_of(data.touchpoints, a.touchpoint)
            out.append(f"{persona} at {where}" + (f": {a.note}" if a.note else ""))
    if not out:  # fall back to the emotion curve: the highest / lowest scored stage per map
        for j in data.journeys:
            scored = [(c.emotion, st) for st, c in j.stages.items() if c.emotion is not None]
            if scored:
                score, st = (max if kind == "best-moment" else min)(scored)
                if (kind == "best-moment" and score > 0) or (
                    kind == "worst-struggle" and score < 0
                ):
                    out.append(
                        f"{name_of(data.personas, j.persona)} at {name_of(data.stages, st)} "
                        f"(emotion {score:+.0f} on a scale of -2 to +2)"
                    )
    return out


def _summary_numbers(ctx: ReportContext) -> dict[str, Any]:
    try:
        result = ctx.analytics("summary")
    except _Missing:
        return {}
    return dict(result) if isinstance(result, dict) else {}


@_section("summary", "Executive summary")
def summary(ws: Any, ctx: ReportContext) -> str:
    """Bottleneck, best and worst moments, top three recommendations with owners."""
    data = ctx.data
    nums = _summary_numbers(ctx)
    figures: list[tuple[str, str]] = []
    numbers: list[dict[str, Any]] = []  # the same figures for the spreadsheet
    sentences: list[str] = []
    if nums:
        if nums.get("contacts"):
            figures.append(("contacts analysed", ctx.number(nums["contacts"])))
            numbers.append({"figure": "Contacts analysed", "value": nums["contacts"]})
        conv = nums.get("conversions") or {}
        if conv.get("win_rate") is not None:
            # won deals / (won + lost deals); the contacts' view is not a win rate
            figures.append(("win rate on decided deals", ctx.percent(conv["win_rate"])))
            numbers.append(
                {"figure": "Win rate on decided deals (%)", "value": 100 * conv["win_rate"]}
            )
        ttc = nums.get("time_to_close") or {}
        if ttc.get("median_days_from_first_contact") is not None:
            figures.append(
                (
                    "median days, first contact to win",
                    ctx.number(ttc["median_days_from_first_contact"]),
                )
            )
            numbers.append(
                {
                    "figure": "Median days, first contact to win",
                    "value": ttc["median_days_from_first_contact"],
                }
            )
    if numbers:
        ctx.table(
            _sheet("summary"),
            data_frame(numbers, [_Col("figure", "Figure"), _Col("value", "Value", "float")]),
        )
        b = nums.get("bottleneck")
        if isinstance(b, dict) and b.get("stage"):
            nxt = b.get("next_stage_name")
            sentences.append(
                f"The biggest drop-off is after {b.get('stage_name') or b['stage']}: "
                f"{ctx.number(b.get('drop_off'))} contacts stop there; "
                f"{ctx.percent(b.get('conversion_to_next'))} go on"
                + (f" to {nxt}." if nxt else ".")
            )
            w = nums.get("weakest_step")
            if isinstance(w, dict) and w.get("stage") and w["stage"] != b["stage"]:
                sentences.append(
                    f"The weakest step is after {w.get('stage_name') or w['stage']}, where "
                    f"{ctx.percent(w.get('conversion_to_next'))} go on "
                    f"({ctx.number(w.get('drop_off'))} contacts stop)."
                )
        elif nums.get("stage_history") is False:
            sentences.append(
                "The imported data holds each deal's current stage only, no stage history, "
                "so it shows where deals stand, not where contacts drop out."
            )
        leader = (nums.get("attribution_leader") or {}).get("markov")
        if isinstance(leader, dict) and leader.get("touchpoint_name"):
            name = str(leader["touchpoint_name"])
            sentences.append(
                f"{name[:1].upper() + name[1:]} contributes most to won deals "
                f"({ctx.percent(leader.get('share'))} of them under the Markov model)."
            )
    else:
        sentences.append(
            "This summary draws on the workshop material; figures from CRM data will appear "
            "once an export has been imported."
        )
    recs = [
        {
            "text": r.text,
            "priority": r.priority,
            "owner": r.owner,
            "where": name_of(data.personas, j.persona) + ", " + name_of(data.stages, r.stage),
        }
        for j, r in open_recommendations(data)[:3]
    ]
    return html_from(
        "summary.html.j2",
        headline=" ".join(sentences),
        figures=figures,
        best=_moments(ctx, "best-moment")[:3],
        worst=_moments(ctx, "worst-struggle")[:3],
        recs=recs,
    )


def _value(ctx: ReportContext, value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit.strip() == "%":
        # Objectives store percentages either as 0.25 or as 25; show both as 25%.
        return ctx.percent(value if abs(value) <= 1 else value / 100)
    digits = 0 if float(value).is_integer() else 1
    return ctx.number(value, digits) + (f" {unit}" if unit else "")


def _measured(ctx: ReportContext) -> dict[tuple[str, str], dict[str, Any]]:
    """Current values of objectives and KPIs by (kind, id), from the analytics."""
    try:
        recs = _records(ctx.analytics("kpis"))
    except _Missing:
        return {}
    return {(str(r["kind"]), str(r["id"])): r for r in recs}


def _status(row: dict[str, Any] | None) -> tuple[str, str]:
    if not row or row.get("current") is None or row.get("current") != row.get("current"):
        return "not measured", "none"
    status = str(row.get("status") or "")
    return status, ("ok" if "met" in status or "on track" in status else "warn")


@_section("objectives", "Objectives and KPIs")
def objectives(ws: Any, ctx: ReportContext) -> str:
    """Each objective and KPI against its target, with the value measured in the CRM data."""
    data = ctx.data
    if not data.objectives and not data.measurement.kpis:
        raise _Missing("No objectives have been set for this engagement yet.")
    measured = _measured(ctx)
    rows = []
    for o in data.objectives:
        m = measured.get(("objective", o.id))
        status, cls = _status(m)
        rows.append(
            {
                "title": o.title,
                "kpi": o.kpi,
                "baseline": _value(ctx, o.baseline, o.unit),
                "target": _value(ctx, o.target, o.unit),
                "current": _value(ctx, _num(m, "current"), o.unit),
                "status": status,
                "status_class": cls,
                "owner": o.owner,
            }
        )
    kpis = []
    for k in data.measurement.kpis:
        m = measured.get(("kpi", k.id))
        status, cls = _status(m)
        kpis.append(
            {
                "name": k.name,
                "stage": name_of(data.stages, k.stage) if k.stage else "",
                "baseline": _value(ctx, k.baseline, k.unit),
                "target": _value(ctx, k.target, k.unit),
                "current": _value(ctx, _num(m, "current"), k.unit),
                "status": status,
                "status_class": cls,
                "fix": k.fix,
            }
        )
    _objective_numbers(ctx, measured)
    return html_from("objectives.html.j2", rows=rows, kpis=kpis)


def _objective_numbers(ctx: ReportContext, measured: dict[tuple[str, str], dict[str, Any]]) -> None:
    """The objectives and KPIs for the spreadsheet: numbers as numbers, the unit beside."""
    data = ctx.data
    cols = [
        _Col("name", "Name"),
        _Col("stage", "Stage"),
        _Col("unit", "Unit"),
        _Col("baseline", "Baseline", "float", "in the unit"),
        _Col("target", "Target", "float", "in the unit"),
        _Col("current", "Measured now", "float", "in the unit"),
        _Col("status", "Status"),
        _Col("owner", "Owner"),
    ]
    rows = []
    for kind, items in (("objective", data.objectives), ("kpi", data.measurement.kpis)):
        for item in items:
            m = measured.get((kind, item.id))
            rows.append(
                {
                    "name": getattr(item, "title", None) or getattr(item, "name", ""),
                    "stage": name_of(data.stages, item.stage)
                    if getattr(item, "stage", None)
                    else "",
                    "unit": item.unit,
                    "baseline": item.baseline,
                    "target": item.target,
                    "current": _num(m, "current"),
                    "status": _status(m)[0],
                    "owner": getattr(item, "owner", "") or "",
                }
            )
    ctx.table(_sheet("objectives"), data_frame(rows, cols))


def _num(row: dict[str, Any] | None, key: str) -> float | None:
    value = (row or {}).get(key)
    if value is None or value != value:  # None or NaN
        return None
    return float(value)


@_section("personas", "Personas")
def personas(ws: Any, ctx: ReportContext) -> str:
    """One card per persona: goals, pains, gains, objections, channels."""
    from workbook.model import CHANNELS

    data = ctx.data
    if not data.personas:
        raise _Missing("No personas have been described yet.")
    cards = []
    for p in data.personas:
        demo = p.demographics
        role = ", ".join(_items([demo.role, demo.age_range, demo.location]))
        cards.append(
            {
                "name": p.name,
                "role": role,
                "summary": p.summary,
                "quote": p.quote,
                "lists": [
                    ("Goals", p.goals),
                    ("Jobs to be done", p.jobs),
                    ("Pains", p.pains),
                    ("Gains", p.gains),
                    ("Objections", p.objections),
                ],
                "channels": ", ".join(CHANNELS.get(c, c) for c in p.preferred_channels),
            }
        )
    return html_from("personas.html.j2", personas=cards)


def _journey_html(ctx: ReportContext, journey: Any) -> str:
    """The map of one persona, drawn by :mod:`workbook.journeymap` with the measured KPIs of
    that persona's contacts, if any."""
    from workbook.journeymap import render_map_html

    try:
        # the persona's own contacts: the map draws the rows of journey.persona
        kpis = ctx.analytics("funnel", by="persona")
        history = _records(ctx.analytics("stage_history"))
        if history and not any(h["has_stage_history"] for h in history):
            # each deal's current stage only: counts, but no rate and no bottleneck
            kpis = kpis[["persona", "stage", "has_data", "contacts"]]
    except _Missing:
        kpis = None
    return str(
        render_map_html(ctx.ws, journey.persona, icp=journey.icp, kpis=kpis, theme=ctx.theme)
    )


@_section("journeys", "Journey maps")
def journeys(ws: Any, ctx: ReportContext) -> str:
    """The journey map of each persona, with its recommendations."""
    from markupsafe import Markup

    data = ctx.data
    if not data.journeys:
        raise _Missing("No journey has been mapped yet.")
    maps = []
    for j in data.journeys:
        title = name_of(data.personas, j.persona)
        if j.icp:
            title += " (" + name_of(data.icps, j.icp) + ")"
        recs = [
            {
                "stage": name_of(data.stages, r.stage),
                "touchpoint": name_of(data.touchpoints, r.touchpoint) if r.touchpoint else "",
                "text": r.text,
                "priority": r.priority,
                "owner": r.owner,
            }
            for r in j.recommendations
            if r.status != "dropped"
        ]
        maps.append({"title": title, "html": Markup(_journey_html(ctx, j)), "recs": recs})
    _journey_numbers(ctx)
    return html_from("journeys.html.j2", maps=maps)


def _journey_numbers(ctx: ReportContext) -> None:
    """The measured row of the maps for the spreadsheet: each mapped persona's own funnel."""
    data = ctx.data
    try:
        kpis = _clean(_records(ctx.analytics("funnel", by="persona")))
        history = _records(ctx.analytics("stage_history"))
    except _Missing:
        return
    # each deal's current stage only: the maps show counts, no rate (see _journey_html)
    snapshot = bool(history) and not any(h["has_stage_history"] for h in history)
    mapped = [j.persona for j in data.journeys]
    rows = [
        {
            **r,
            "persona_name": name_of(data.personas, str(r["persona"])),
            "stage_name": r.get("stage_name") or r["stage"],
        }
        for p in dict.fromkeys(mapped)
        for r in kpis
        if r.get("persona") == p and r.get("has_data")
    ]
    if rows:
        ctx.table(
            _sheet("journeys"),
            data_frame(
                rows,
                [
                    _Col("persona_name", "Persona"),
                    _Col("stage_name", "Stage"),
                    _Col("contacts", "Reached the stage", "int", "contacts"),
                ]
                + (
                    []
                    if snapshot
                    else [
                        _Col("share_of_first", "Of first stage", "pct"),
                        _Col("conversion_to_next", "Go on to the next stage", "pct"),
                        _Col("drop_off", "Stop here", "int", "contacts"),
                    ]
                ),
            ),
        )


@dataclass(frozen=True)
class _Col:
    key: str
    label: str
    kind: str = "text"  # text, int, float, pct, pts, p, days
    unit: str = ""  # the unit in the spreadsheet's header ("contacts"); pct, pts and days have one

    @property
    def num(self) -> bool:
        return self.kind != "text"

    @property
    def header(self) -> str:
        """The column's name in the spreadsheet: its label with its unit."""
        unit = self.unit or {"pct": "%", "pts": "percentage points", "days": "days"}.get(
            self.kind, ""
        )
        return (
            f"{self.label} ({unit})"
            if unit and unit.lower() not in self.label.lower()
            else (self.label)
        )

    def value(self, value: Any) -> Any:
        """A cell's value in the spreadsheet: a number as a number (rates in per cent),
        nothing where the report says "n/a" or "no data"."""
        if value is None or (isinstance(value, float) and value != value):
            return None
        if type(value).__name__ in ("NAType", "NaTType"):
            return None
        if not self.num:
            return value if isinstance(value, (str, int, float)) else str(value)
        if isinstance(value, str):
            return None
        number = float(value)
        if self.kind in ("pct", "pts"):
            return round(number * 100, 6)
        return int(number) if self.kind == "int" and number.is_integer() else number


def data_frame(records: Sequence[dict[str, Any]], columns: Sequence[_Col]) -> Any:
    """The numbers of a table as a DataFrame: headers with units, rates in per cent."""
    import pandas as pd

    return pd.DataFrame(
        [[c.value(r.get(c.key)) for c in columns] for r in records],
        columns=[c.header for c in columns],
    )


def table(
    ctx: ReportContext,
    records: Sequence[dict[str, Any]],
    columns: Sequence[_Col],
    *,
    name: str | None = None,
) -> str:
    """An escaped HTML table of records, numbers formatted in the report's locale.

    With ``name``, its numbers are also kept for the spreadsheet (:meth:`ReportContext.table`).
    """
    if name is not None:
        ctx.table(name, data_frame(records, columns))

    def fmt(value: Any, col: _Col) -> str:
        if value is None or (isinstance(value, float) and value != value):  # None or NaN
            return "n/a"
        if isinstance(value, str) and col.num:  # a word in place of a number ("no data")
            return value
        if col.kind == "int":
            return ctx.number(float(value))
        if col.kind == "float":
            return ctx.number(float(value), _digits(float(value)))
        if col.kind == "days":
            return ctx.number(float(value), 1)
        if col.kind == "pct":
            return ctx.percent(float(value))
        if col.kind == "pts":  # a difference of two rates, in percentage points
            return f"{float(value) * 100:+.1f} pts"
        if col.kind == "p":
            return "< 0.001" if float(value) < 0.001 else f"{float(value):.3f}"
        return str(value)

    rows = [[(fmt(r.get(c.key), c), c) for c in columns] for r in records]
    return html_from("table.html.j2", columns=columns, rows=rows)


def _digits(value: float) -> int:
    """Decimals to show a table's number with: one, or as many as its first significant
    digit needs when one would show a value that is not zero as 0.0 (a lead score faded
    to 0.0003 reads "0.0003", not "0.0"), at most six."""
    import math

    if value == 0 or abs(value) > 0.05 or abs(value) < 5e-7:  # below that: 0.0
        return 1
    return min(6, max(1, -math.floor(math.log10(abs(value)))))


def _sheet(section_id: str, part: str = "") -> str:
    """A table's name in the spreadsheet: its section's heading, and which table if several."""
    title = get(section_id).title
    return f"{title} ({part})" if part else title


def _records(result: Any) -> list[dict[str, Any]]:
    """Records from a pandas DataFrame or a list of dicts."""
    if hasattr(result, "to_dict"):
        return list(result.to_dict(orient="records"))
    return [dict(r) for r in result]


@_section("cycle", "DDMADV status and next steps")
def cycle(ws: Any, ctx: ReportContext) -> str:
    """Where the engagement is in the cycle, what each phase produced, what comes next."""
    from workbook.model import PHASES

    data = ctx.data
    current = data.cycle.phase
    phases = [{"id": k, "name": v, "current": k == current} for k, v in PHASES.items()]
    log = [
        {"date": ctx.date(e.date, "medium"), "phase": PHASES.get(e.phase, e.phase), "note": e.note}
        for e in sorted(data.cycle.log, key=lambda e: e.date, reverse=True)[:8]
    ]
    steps = [
        {
            "text": r.text,
            "owner": r.owner or "to be agreed",
            "status": r.status.replace("-", " "),
            "where": name_of(data.stages, r.stage),
        }
        for _, r in open_recommendations(data)
    ]
    todos = [
        {"text": t.text, "owner": t.owner or "to be agreed", "kr": kr.text}
        for okr in data.measurement.okrs
        for kr in okr.key_results
        for t in kr.todos
        if not t.done
    ]
    return html_from(
        "cycle.html.j2",
        phases=phases,
        iteration=data.cycle.iteration,
        log=log,
        steps=steps,
        todos=todos,
    )


@_section("appendix", "Appendix: the data")
def appendix(ws: Any, ctx: ReportContext) -> str:
    """Sources, rows, rejects, date range."""
    data = ctx.data
    if not data.data_sources:
        # the polite note, and still the numbers of the workshop's tables (objectives)
        link = _data_link(ctx)
        return note(
            "No CRM export has been imported for this client, so the report draws on the "
            "workshop material only."
        ) + (html_from("appendix.html.j2", data_link=link, only_link=True) if link else "")
    srcs = data.data_sources
    try:  # how many people each source reports, and how many another source reports too
        per_source = {r["source_id"]: r for r in _records(ctx.analytics("people_by_source"))}
        seen = _records(ctx.analytics("people_by_sources"))
    except _Missing:
        per_source, seen = {}, []
    firsts = [s.first_event for s in srcs if s.first_event]
    lasts = [s.last_event for s in srcs if s.last_event]
    sources = [
        {
            "system": s.system,
            "file": Path(s.file).name,
            "rows": ctx.number(s.rows),
            "rejected": ctx.number(s.rejected),
            "first": ctx.date(s.first_event, "medium"),
            "last": ctx.date(s.last_event, "medium"),
            "imported": ctx.date(s.imported_at, "medium"),
            "people": ctx.number(per_source[s.id]["people"]) if s.id in per_source else "",
            "shared": ctx.number(per_source[s.id]["also_elsewhere"]) if s.id in per_source else "",
        }
        for s in srcs
    ]
    people = sum(int(r["people"]) for r in seen)
    spread = [
        f"{ctx.number(r['people'])} in "
        + ("one source" if r["sources"] == 1 else f"{r['sources']} sources")
        for r in seen
    ]
    try:
        history = _records(ctx.analytics("stage_history"))
    except _Missing:
        history = []
    without = [str(h.get("file") or h["source_id"]) for h in history if not h["has_stage_history"]]
    ctx.table(
        _sheet("appendix"),
        data_frame(
            [
                {
                    "system": s.system,
                    "file": Path(s.file).name,
                    "rows": s.rows,
                    "rejected": s.rejected,
                    "people": per_source[s.id]["people"] if s.id in per_source else None,
                    "shared": per_source[s.id]["also_elsewhere"] if s.id in per_source else None,
                    "first": s.first_event.isoformat() if s.first_event else None,
                    "last": s.last_event.isoformat() if s.last_event else None,
                    "imported": s.imported_at.isoformat() if s.imported_at else None,
                }
                for s in srcs
            ],
            [
                _Col("system", "Source"),
                _Col("file", "File"),
                _Col("rows", "Rows", "int"),
                _Col("rejected", "Set aside", "int", "rows"),
                _Col("people", "People", "int"),
                _Col("shared", "Also in another source", "int", "people"),
                _Col("first", "First event"),
                _Col("last", "Last event"),
                _Col("imported", "Imported"),
            ],
        ),
    )
    return html_from(
        "appendix.html.j2",
        data_link=_data_link(ctx),
        only_link=False,
        without=", ".join(without),
        several=len(without) > 1,
        snapshot_only=bool(history) and len(without) == len(history),
        sources=sources,
        total_rows=ctx.number(sum(s.rows for s in srcs)),
        total_rejected=ctx.number(sum(s.rejected for s in srcs)),
        first=ctx.date(min(firsts)) if firsts else "",
        last=ctx.date(max(lasts)) if lasts else "",
        people=ctx.number(people) if people else "",
        spread=", ".join(spread),
        linked=len(srcs) > 1 and any(r["sources"] > 1 for r in seen),
    )


#: The spreadsheet's file name in the appendix link, after the client's slug.
DATA_SUFFIX = "-report-data.xlsx"


def _data_link(ctx: ReportContext) -> dict[str, str] | None:
    """The appendix's download link: the numbers of every table so far, as an XLSX ``data:``
    URI, so the one HTML file carries them. None when no section kept a table."""
    import base64

    from workbook.exports import XLSX_TYPE, xlsx_bytes

    if not ctx.tables:
        return None
    data = base64.b64encode(xlsx_bytes(ctx.tables)).decode("ascii")
    return {
        "file": f"{ctx.data.client.slug}{DATA_SUFFIX}",
        "href": f"data:{XLSX_TYPE};base64,{data}",
        "sheets": str(len(ctx.tables)),
    }


def _missing(value: Any) -> bool:
    """None, NaN or pandas' NA (a nullable column's gap)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA refuses to be a bool
        return True


@_section("experiments", "Experiments and decisions")
def experiments(ws: Any, ctx: ReportContext) -> str:
    """Each A/B test: rates per variant, significance, the sample still needed, the decision."""
    from markupsafe import Markup

    exps = ctx.data.measurement.experiments
    if not exps:
        raise _Missing("No experiment has been planned or run yet.")
    variants = _records(ctx.analytics("experiment_variants", needs_data=False))
    decisions = {
        r["experiment"]: r
        for r in _records(ctx.analytics("experiment_decisions", needs_data=False))
    }
    items = []
    numbers: list[dict[str, Any]] = []
    for e in exps:
        rows = [r for r in variants if r.get("experiment") == e.id]
        numbers += [{**r, "experiment_name": e.name} for r in rows]
        d = decisions.get(e.id) or {}
        # "Stop. After 433 contacts...": the decision, then its reason as a sentence.
        verdict = ". ".join(
            t[:1].upper() + t[1:]
            for t in (str(d.get("decision") or ""), str(d.get("reason") or ""))
            if t
        )
        status_class = {"completed": "ok", "running": "info", "stopped": "warn"}.get(
            e.status, "none"
        )
        # The event log's and the typed counts side by side (each where it has any), then
        # the lift and p-value of the counts the verdict uses.
        rows = [{k: (None if _missing(v) else v) for k, v in r.items()} for r in rows]
        cols = [_Col("variant_name", "Variant")]
        for prefix, label in (("log", "Event log"), ("typed", "Typed")):
            if any(r.get(f"{prefix}_exposed") is not None for r in rows):
                # one cell per source, "18.3% (271 of 1,484)", so the table fits the page
                for r in rows:
                    n, k = r.get(f"{prefix}_exposed"), r.get(f"{prefix}_converted")
                    r[f"{prefix}_counts"] = (
                        None
                        if n is None or k is None
                        else f"{ctx.percent(r.get(f'{prefix}_rate'))} "
                        f"({ctx.number(k)} of {ctx.number(n)})"
                    )
                cols.append(_Col(f"{prefix}_counts", f"{label}: converted of leads"))
        cols += [_Col("lift", "Lift on control", "pts"), _Col("p_value", "p-value", "p")]
        tbl = table(ctx, rows, cols) if rows else note("No results yet for this test.")
        items.append(
            {
                "name": e.name,
                "status": e.status,
                "status_class": status_class,
                "hypothesis": e.hypothesis,
                "table": Markup(tbl),
                "source": str(d.get("source_reason") or ""),
                "warning": str(d.get("warning") or ""),
                "verdict": verdict,
                "decision": e.decision,
            }
        )
    ctx.table(
        _sheet("experiments"),
        data_frame(
            [{k: (None if _missing(v) else v) for k, v in r.items()} for r in numbers],
            [
                _Col("experiment_name", "Experiment"),
                _Col("variant_name", "Variant"),
                _Col("log_exposed", "Event log: leads", "int", "contacts"),
                _Col("log_converted", "Event log: converted", "int", "contacts"),
                _Col("log_rate", "Event log: conversion", "pct"),
                _Col("typed_exposed", "Typed: leads", "int", "contacts"),
                _Col("typed_converted", "Typed: converted", "int", "contacts"),
                _Col("typed_rate", "Typed: conversion", "pct"),
                _Col("lift", "Lift on control", "pts"),
                _Col("p_value", "p-value", "p"),
            ],
        ),
    )
    return html_from("experiments.html.j2", items=items)


def _bar_spec(
    values: list[dict[str, Any]],
    x: str,
    y: str,
    *,
    x_title: str,
    fmt: str = ",.0f",
    highlight: str | None = None,
    colours: tuple[str, str] = ("#1F4E79", "#B35806"),
    width: int = 560,
) -> dict[str, Any]:
    """A horizontal bar chart keeping the data's order (stages must not be sorted).

    ``highlight`` names a boolean field; its bars take the second of ``colours``.
    """
    colour: dict[str, Any] = {}
    if highlight:
        colour = {
            "color": {
                "condition": {"test": f"datum['{highlight}']", "value": colours[1]},
                "value": colours[0],
            }
        }
    return {
        "data": {"values": values},
        "width": width,
        "height": max(100, 28 * len(values)),
        "encoding": {
            "y": {
                "field": y,
                "type": "nominal",
                "sort": None,
                "title": None,
                "axis": {"labelLimit": 260},
            },
            "x": {"field": x, "type": "quantitative", "title": x_title},
        },
        "layer": [
            {"mark": {"type": "bar", "cornerRadiusEnd": 2}, "encoding": colour},
            {
                "mark": {"type": "text", "align": "left", "dx": 4},
                "encoding": {"text": {"field": x, "type": "quantitative", "format": fmt}},
            },
        ],
    }


def _clean(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records safe for a JSON chart spec: NaN and pandas' NA become None."""
    return [
        {
            k: (None if (isinstance(v, float) and v != v) or type(v).__name__ == "NAType" else v)
            for k, v in r.items()
        }
        for r in recs
    ]


@_section("funnel", "Funnel and flow")
def funnel(ws: Any, ctx: ReportContext) -> str:
    """Contacts reaching each stage (ever, and in order), conversion to the next, the
    bottleneck (where most contacts are lost), moves back."""
    recs = _clean(_records(ctx.analytics("funnel")))
    if not recs or not any(r.get("contacts") for r in recs):
        raise _Missing("The imported data has no stage changes to count.")
    history = _records(ctx.analytics("stage_history"))
    without = [str(h.get("file") or h["source_id"]) for h in history if not h["has_stage_history"]]
    if history and len(without) == len(history):
        # each deal's current stage only: counts of where deals stand, not a funnel
        for r in recs:
            r["count"] = ctx.number(r["contacts"]) if r.get("has_data") else "no data"
        ctx.table(
            _sheet("funnel"),
            data_frame(
                [{**r, "contacts": r["contacts"] if r.get("has_data") else None} for r in recs],
                [
                    _Col("stage_name", "Stage"),
                    _Col("contacts", "Contacts whose deal is there now", "int"),
                ],
            ),
        )
        return html_from("funnel_snapshot.html.j2", files=", ".join(without)) + table(
            ctx,
            recs,
            [_Col("stage_name", "Stage"), _Col("count", "Contacts whose deal is there now")],
        )
    in_order = {r["stage"]: r for r in _clean(_records(ctx.analytics("funnel", ordered=True)))}
    chart = svg_chart(
        _bar_spec(
            [r for r in recs if r.get("has_data")],
            "contacts",
            "stage_name",
            x_title="Contacts who ever reached the stage",
            highlight="is_bottleneck",
            colours=(ctx.theme.primary_mark, ctx.theme.diverging[0]),
        ),
        ctx,
        alt="Contacts who ever reached each stage; the bottleneck is highlighted",
    )
    for r in recs:
        o = in_order.get(r["stage"], {})
        flag = (
            "bottleneck"
            if r.get("is_bottleneck")
            else ("weakest step" if r.get("is_weakest_step") else "")
        )
        r["stage_label"] = f"{r.get('stage_name') or r['stage']}" + (f" ({flag})" if flag else "")
        r["in_order"] = o.get("contacts")
        r["in_order_rate"] = o.get("conversion_to_next")
    for i, r in enumerate(recs):
        # a stage no source reaches says so; so do the rates into it
        if not r.get("has_data"):
            for key in ("contacts", "share_of_first", "in_order"):
                r[key] = "no data"
        if i + 1 < len(recs) and not (r.get("has_data") and recs[i + 1].get("has_data")):
            for key in ("conversion_to_next", "drop_off", "in_order_rate"):
                r[key] = "no data"
    intro = html_from(
        "funnel_intro.html.j2",
        unfed=[r["stage_name"] for r in recs if not r.get("has_data")],
        without=", ".join(without),
    )
    tbl = table(
        ctx,
        recs,
        [
            _Col("stage_label", "Stage"),
            _Col("contacts", "Ever reached", "int", "contacts"),
            _Col("share_of_first", "Of first stage", "pct"),
            _Col("conversion_to_next", "Go on to the next stage", "pct"),
            _Col("drop_off", "Stop here", "int", "contacts"),
            _Col("in_order", "Reached in order", "int", "contacts"),
            _Col("in_order_rate", "Go on, in order", "pct"),
        ],
        name=_sheet("funnel"),
    )
    flow = ""
    try:
        moves = _records(ctx.analytics("transitions"))
    except _Missing:
        moves = []
    if moves:
        fwd = sum(int(m["moves"]) for m in moves if m.get("direction") == "forward")
        back = sum(
            int(m["moves"])
            for m in moves
            if m.get("direction") == "back" or m.get("direction") == "backward"
        )
        skipped = sum(
            int(m["moves"])
            for m in moves
            if m.get("direction") == "forward"
            and int(m.get("to_index", 0)) - int(m.get("from_index", 0)) > 1
        )
        # stays a deal's close ended: their "to" is Won or Lost (workbook.analytics.movement)
        won = sum(int(m["moves"]) for m in moves if m.get("to_stage") == "(won)")
        lost = sum(int(m["moves"]) for m in moves if m.get("to_stage") == "(lost)")
        flow = html_from(
            "flow.html.j2",
            forward=ctx.number(fwd),
            back=ctx.number(back),
            skipped=ctx.number(skipped) if skipped else "",
            won=ctx.number(won) if won else "",
            lost=ctx.number(lost) if lost else "",
        )
        move_cols = [
            _Col("from_stage_name", "From"),
            _Col("to_stage_name", "To"),
            _Col("moves", "Moves", "int"),
            _Col("direction", "Direction"),
        ]
        ranked = sorted(moves, key=lambda m: -int(m["moves"]))
        flow += table(ctx, ranked[:10], move_cols)
        # the report shows the ten most common moves; the spreadsheet has them all
        ctx.table(_sheet("funnel", "moves"), data_frame(ranked, move_cols))
    return intro + chart + tbl + flow


@_section("timing", "Time in stage")
def timing(ws: Any, ctx: ReportContext) -> str:
    """Median and 90th-percentile days spent in each stage, and the time to close."""
    recs = _clean(_records(ctx.analytics("time_in_stage")))
    timed = [r for r in recs if r.get("median_days") is not None]
    if not timed:
        raise _Missing("The imported data has no completed stay in a stage to time yet.")
    chart = svg_chart(
        _bar_spec(
            timed, "median_days", "stage_name", x_title="Median days in the stage", fmt=",.1f"
        ),
        ctx,
        alt="Median days spent in each stage",
    )
    body = chart + table(
        ctx,
        recs,
        [
            _Col("stage_name", "Stage"),
            _Col("spells", "Completed stays", "int"),
            _Col("closed_spells", "Of which a deal's close ended", "int", "stays"),
            _Col("open_spells", "Still there", "int", "stays"),
            _Col("median_days", "Median days", "days"),
            _Col("p90_days", "90% within, days", "days"),
        ],
        name=_sheet("timing"),
    )
    ttc = (_summary_numbers(ctx).get("time_to_close") or {}) if ctx.has_crm_data() else {}
    if ttc.get("median_days") is not None:
        body += (
            "<p>"
            + html.escape(
                f"A won deal takes a median of {ctx.number(ttc['median_days'], 1)} days from its "
                f"creation to closing (90% within {ctx.number(ttc.get('p90_days'), 1)} days)"
                + (
                    f", and {ctx.number(ttc['median_days_from_first_contact'], 1)} days from the "
                    "contact's first interaction."
                    if ttc.get("median_days_from_first_contact") is not None
                    else "."
                )
            )
            + "</p>"
        )
    if ctx.has_crm_data():
        try:
            untimed = int(ctx.analytics("time_to_close").iloc[0]["untimed_deals"])
        except (_Missing, IndexError, KeyError):
            untimed = 0
        if untimed:
            body += (
                "<p>"
                + html.escape(
                    (
                        "1 won deal has no record before its close, so its time to close is "
                        "unknown and left out of these days."
                    )
                    if untimed == 1
                    else f"{ctx.number(untimed)} won deals have no record before their close, "
                    "so their time to close is unknown and left out of these days."
                )
                + "</p>"
            )
    return body


@_section("touchpoints", "Touchpoint performance")
def touchpoints(ws: Any, ctx: ReportContext) -> str:
    """How often each touchpoint is used, and how much its users move on more than others."""
    from markupsafe import Markup

    usage = _records(ctx.analytics("touchpoint_usage"))
    if not usage:
        raise _Missing("The imported data has no touchpoint interactions.")
    totals: dict[str, float] = {}
    for r in usage:
        name = str(r.get("touchpoint_name") or r.get("touchpoint"))
        totals[name] = totals.get(name, 0) + float(r.get("contacts") or 0)
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    top = ranked[:12]
    # the chart shows the twelve most used; the spreadsheet has every touchpoint
    ctx.table(
        _sheet("touchpoints", "use"),
        data_frame(
            [{"name": k, "contacts": v} for k, v in ranked],
            [_Col("name", "Touchpoint"), _Col("contacts", "Contacts, summed over stages", "int")],
        ),
    )
    chart = svg_chart(
        _bar_spec(
            [{"name": k, "contacts": v} for k, v in top],
            "contacts",
            "name",
            x_title="Contacts (summed over stages)",
        ),
        ctx,
        alt="Touchpoints by contacts who used them",
    )
    lift = _clean(_records(ctx.analytics("touchpoint_lift")))
    rows: list[dict[str, Any]] = []
    for stage in ctx.data.stage_ids():
        at = [
            r
            for r in lift
            if r.get("stage") == stage and (r.get("users") or 0) >= 30 and r.get("lift") is not None
        ]
        rows += sorted(at, key=lambda r: -float(r["lift"]))[:3]
    lift_html = (
        table(
            ctx,
            rows,
            [
                _Col("stage_name", "Stage"),
                _Col("touchpoint_name", "Touchpoint"),
                _Col("users", "Users", "int", "contacts"),
                _Col("users_rate", "Users going on", "pct"),
                _Col("non_users_rate", "Others going on", "pct"),
                _Col("lift", "Lift", "pts"),
            ],
            name=_sheet("touchpoints", "lift"),
        )
        if rows
        else note("Too few contacts used each touchpoint (fewer than 30) to compare them fairly.")
    )
    return html_from("touchpoints.html.j2", chart=Markup(chart), lift=Markup(lift_html))


_MODELS = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "position_based": "Position based",
    "markov": "Markov",
}


@_section("attribution", "Attribution of won deals")
def attribution(ws: Any, ctx: ReportContext) -> str:
    """Share of won deals credited to each touchpoint under each model."""
    recs = _records(ctx.analytics("attribution"))
    if not recs:
        raise _Missing(
            "No won deal is linked to touchpoints yet, so there is nothing to attribute."
        )
    by_tp: dict[str, dict[str, Any]] = {}
    models = [m for m in _MODELS if any(r.get("model") == m for r in recs)]
    for r in recs:
        row = by_tp.setdefault(
            str(r["touchpoint"]), {"name": r.get("touchpoint_name") or r["touchpoint"]}
        )
        row[str(r["model"])] = r.get("share")
    key = "markov" if "markov" in models else models[0]
    ranked = sorted(by_tp.values(), key=lambda r: -float(r.get(key) or 0))
    rows = ranked[:12]
    # the report shows the twelve with most credit; the spreadsheet has every touchpoint
    ctx.table(
        _sheet("attribution"),
        data_frame(
            ranked,
            [_Col("name", "Touchpoint")]
            + [_Col(m, f"{_MODELS[m]}: share of won deals", "pct") for m in models],
        ),
    )
    intro = (
        "<p>The first four models share the credit for each won deal between the touchpoints "
        "that contact used: all to the first or the last, equally (linear), or mostly to the "
        "first and last (position based). The Markov model looks at every journey, won or "
        "not, and shares all won deals by how many of them would be lost without the "
        "touchpoint (its removal effect), so a touchpoint that leads people on can earn credit "
        "even where it was not on a winner's own journey. Where the models agree, the "
        "evidence is strong.</p>"
    )
    return intro + table(
        ctx, rows, [_Col("name", "Touchpoint")] + [_Col(m, _MODELS[m], "pct") for m in models]
    )


from workbook.sections import analysis as _analysis  # noqa: E402,F401
from workbook.sections import campaign as _campaign  # noqa: E402,F401
from workbook.sections import design as _design  # noqa: E402,F401
from workbook.sections import engagement as _engagement  # noqa: E402,F401
from workbook.sections import validate as _validate  # noqa: E402,F401
