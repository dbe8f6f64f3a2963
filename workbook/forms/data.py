"""Step 5 form: import a CRM export, map the CRM's stage names, and score leads.

When an import stops at stage names that no stage takes, the stage-map editor lists them: a
stage or "ignore" for each, saved into the workspace at once (as the stage's alias, or in its
ignored stage names), so this import and every later one maps them. Then import again.

The whole stage map is also editable before any import (:class:`StageNames`): each stage with
the CRM names it takes, one per line, and the names that are no stage at all. Below it, the
lead-scoring rules (:func:`workbook.forms.measurement.add_scoring_rules`).

After an import, and whenever *Refresh* is clicked (after an import at the command line or
in another notebook), the form reads the workspace again and redraws the source list, the
stage counts and the step header.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbook.exceptions import CrmImportError, WorkspaceValidationError
from workbook.forms._binding import FieldSpec, Form, by_id, choice_options, chosen
from workbook.forms._header import keep_header_current, refresh_headers
from workbook.forms._parts import RowList, heading
from workbook.forms.measurement import add_scoring_rules

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = [
    "IGNORE_CHOICE",
    "ImportPanel",
    "StageMapEditor",
    "StageNames",
    "form",
    "history_html",
    "reach_html",
    "sources_html",
]

#: The stage-map editor's choice for a name that is no stage of the journey.
IGNORE_CHOICE = "(ignore)"
_NO_CHOICE = ""
_IGNORE_REASON = "not a stage of this journey (chosen in the data step)"


#: Numbers are read down a column by their digits: right-aligned, every digit the same width.
#: Words are read from the left; every column keeps a gap to the next one.
_NUMBER = "text-align:right;font-variant-numeric:tabular-nums;padding:2px 14px 2px 0"
_TEXT = "text-align:left;padding:2px 14px 2px 0"


def _cell(tag: str, text: str, numeric: bool = False) -> str:
    """One escaped table cell; a numeric column's cells (and its heading) right-aligned, the
    others (and theirs) left-aligned."""
    return f'<{tag} style="{_NUMBER if numeric else _TEXT}">{html.escape(text)}</{tag}>'


def sources_html(data: Any) -> str:
    """The imported sources as a small table (file names and counts only: no CRM content)."""
    if not data.data_sources:
        return "<i>No CRM export imported yet.</i>"
    titles = ("Source", "System", "File", "Rows", "Set aside", "Events from", "to")
    numeric = (False, False, False, True, True, False, False)
    head = "<tr>" + "".join(_cell("th", t, n) for t, n in zip(titles, numeric, strict=True))
    head += "</tr>"
    rows = []
    for s in data.data_sources:
        cells = [
            s.id,
            s.system,
            s.file,
            f"{s.rows:,}",
            f"{s.rejected:,}",
            f"{s.first_event:%Y-%m-%d}" if s.first_event else "",
            f"{s.last_event:%Y-%m-%d}" if s.last_event else "",
        ]
        rows.append(
            "<tr>"
            + "".join(_cell("td", c, n) for c, n in zip(cells, numeric, strict=True))
            + "</tr>"
        )
    return f'<table class="wb-data-sources-table">{head}{"".join(rows)}</table>'


def reach_html(ws: OpenWorkspace) -> str:
    """How many contacts reached each stage (the funnel's counts), or why there are none.

    Only counts: rates are left for the trainee to work out in the exercise.
    """
    if not ws.data.data_sources:
        return ""
    from workbook.analytics.funnel import funnel
    from workbook.exceptions import WorkbookError

    try:
        table = funnel(ws)
    except WorkbookError as exc:
        return f"<i>No stage counts: {html.escape(exc.message)}</i>"
    rows = "".join(
        f"<tr>{_cell('td', str(r.stage_name))}"
        f"{_cell('td', f'{int(r.contacts):,}' if r.has_data else 'no data', numeric=True)}</tr>"
        for r in table.itertuples()
    )
    return (
        '<b>Contacts who reached each stage</b><table class="wb-data-reach">'
        f"<tr>{_cell('th', 'Stage')}{_cell('th', 'Contacts', numeric=True)}</tr>{rows}</table>"
    )


def history_html(ws: OpenWorkspace) -> str:
    """A short warning naming the imported files that hold each deal's current stage only
    (no stage history, :func:`workbook.analytics.funnel.stage_history`); empty otherwise."""
    if not ws.data.data_sources:
        return ""
    from workbook.analytics.funnel import stage_history
    from workbook.exceptions import WorkbookError

    try:
        table = stage_history(ws)
    except WorkbookError:
        return ""
    without = [str(r.file or r.source_id) for r in table.itertuples() if not r.has_stage_history]
    if not without:
        return ""
    return (
        '<p class="wb-data-history" style="color:#8A4B00">'
        f"{html.escape(', '.join(without))}: each deal's current stage only, no stage "
        "history. Its stage counts say where deals stand now, not how contacts moved, so "
        "read them as a snapshot, not as a funnel. An export with stage dates gives the "
        "funnel.</p>"
    )


def _import(ws: OpenWorkspace, file: Path, system: str | None, set_aside: bool) -> list[str]:
    """Run the CRM importer on ``file``; return its summary lines."""
    from workbook.crm.importer import import_file

    result = import_file(ws.path, file, source=system, set_aside_bad_rows=set_aside)
    return result.lines()


def _one_per_name(names: set[str]) -> list[str]:
    """One spelling of each name as the importer compares them (``Trialist``, ``trialist``:
    one), the capitalised one first; in alphabetical order."""
    from workbook.model import stage_name_key

    first: dict[str, str] = {}
    for name in sorted(names):  # capitals sort first
        first.setdefault(stage_name_key(name), name)
    return sorted(first.values(), key=str.casefold)


class StageMapEditor(widgets.VBox):  # type: ignore[misc]
    """The client's stage names that no stage takes yet, with a stage or "ignore" for each.

    Each pick is saved at once through the form (autosave, conflict banner): the name becomes
    an alias of the stage picked, or goes to the workspace's ignored stage names; picking
    again moves it, and "choose a stage" takes it back out.
    """

    def __init__(self, form: Form) -> None:
        self.form = form
        self.heading = widgets.HTML()
        #: client name -> its dropdown (``wb-stagemap-choice``)
        self.choices: dict[str, widgets.Dropdown] = {}
        super().__init__([self.heading])
        self.add_class("wb-stagemap")

    def options(self) -> list[tuple[str, str]]:
        stages = [(s.name, s.id) for s in self.form.ws.data.stages]
        return [("choose a stage", _NO_CHOICE), *stages, ("ignore: not a stage", IGNORE_CHOICE)]

    def show(self, names: list[str]) -> None:
        """List ``names`` (none: the editor is empty and says nothing)."""
        self.choices = {}
        for name in names:
            choice = widgets.Dropdown(
                description=name,  # shown as text, never as HTML
                options=self.options(),
                value=_NO_CHOICE,
                style={"description_width": "initial"},
            )
            choice.add_class("wb-stagemap-choice")
            choice.observe(
                self.form.guard(lambda change, n=name: self.pick(n, change["new"])), "value"
            )
            self.choices[name] = choice
        n = len(names)
        self.heading.value = (
            f"<b>{n} stage name{'s' if n != 1 else ''} in this file {'have' if n != 1 else 'has'}"
            " no stage yet.</b> Pick the stage each belongs to, or ignore it (each choice is "
            "saved at once), then import again."
            if names
            else ""
        )
        self.children = (self.heading, *self.choices.values())

    def pick(self, name: str, target: str | None) -> None:
        """Give ``name`` to stage ``target`` (or :data:`IGNORE_CHOICE`, or none) and save."""
        from pydantic import ValidationError

        from workbook.model import IgnoredStageName, stage_name_key

        data = self.form.ws.data
        key = stage_name_key(name)
        before = ({s.id: list(s.aliases) for s in data.stages}, list(data.ignored_stage_names))
        try:
            for stage in data.stages:
                kept = [a for a in stage.aliases if stage_name_key(a) != key]
                if stage.id == target:
                    kept.append(name)
                if kept != stage.aliases:
                    stage.aliases = kept
            ignored = [i for i in data.ignored_stage_names if stage_name_key(i.name) != key]
            if target == IGNORE_CHOICE:
                ignored.append(IgnoredStageName(name=name, reason=_IGNORE_REASON))
            if ignored != data.ignored_stage_names:
                data.ignored_stage_names = ignored
            self.form.save()
        except (ValidationError, WorkspaceValidationError) as exc:
            for stage in data.stages:
                stage.aliases = before[0][stage.id]
            data.ignored_stage_names = before[1]
            message = (
                "\n".join(exc.lines())
                if isinstance(exc, WorkspaceValidationError)
                else str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
            )
            self.form.show_error(f"{name}: not saved, {message}")
            return
        self.form.show_error("")


_IGNORED_FIELDS = [
    FieldSpec("name", "CRM stage name", placeholder="Other"),
    FieldSpec("reason", "Why it is no stage", placeholder="a CRM housekeeping stage"),
]


class StageNames(widgets.VBox):  # type: ignore[misc]
    """The stage map: each stage with the CRM stage names it takes, and the names ignored.

    Each stage's names are one per line (``wb-stagemap-aliases``, in the order of the stages);
    a name claimed twice is refused under the field. Names picked after a failed import
    appear here at once.
    """

    def __init__(self, form: Form) -> None:
        self.form = form
        self.bound: list[Any] = []
        self.stages = widgets.VBox()
        self.ignored = RowList(
            form,
            path=("ignored_stage_names",),
            noun="ignored name",
            fields=_IGNORED_FIELDS,
            new_row=self._new_ignored,
            placeholder="a CRM stage name that is no stage of this journey",
        )
        self.ignored.follow_saves()
        super().__init__(
            [
                heading("Stage map: the CRM's stage names for each stage"),
                widgets.HTML(
                    "<small>One name per line, as the CRM writes it (case, spaces and hyphens "
                    "do not matter). A name goes to one stage only.</small>"
                ),
                self.stages,
                widgets.HTML("<b>Names that are no stage of this journey</b>"),
                self.ignored,
            ]
        )
        self.add_class("wb-stagenames")
        form.observe(form.guard(lambda _c: self.refresh()), "revision")
        self.rebuild()

    @staticmethod
    def _new_ignored(name: str) -> Any:
        from workbook.model import IgnoredStageName

        return IgnoredStageName(name=name)

    def refresh(self) -> None:
        """Show the saved stage map: values in place while the stages are the same."""
        ids = [b.path[-1]["id"] for b in self.bound]
        if self.bound and ids == self.form.ws.data.stage_ids():
            for b in self.bound:
                b.refresh()
            self.ignored.refresh()
            return
        self.rebuild()

    def rebuild(self) -> None:
        """Rebuild one field per stage from the workspace."""
        for b in self.bound:
            b.widget.close()
        self.bound = [
            self.form.bind(
                FieldSpec("aliases", s.name, "lines", placeholder="Sales Qualified Lead\n..."),
                ("stages", by_id(s.id)),
                noun="stagemap",
            )
            for s in self.form.ws.data.stages
        ]
        self.stages.children = self.bound
        self.ignored.refresh()


class ImportPanel(widgets.VBox):  # type: ignore[misc]
    """A file path, a source system, an Import button, and the sources imported so far."""

    def __init__(self, form: Form) -> None:
        self.form = form
        self.file = widgets.Text(
            description="CRM export",
            placeholder="path of a CSV or Excel export",
            style={"description_width": "initial"},  # on one line, in the app's larger type
        )
        self.file.add_class("wb-data-file")
        self.system = widgets.Dropdown(
            description="System",
            options=choice_options(
                [
                    ("Detect", None),
                    ("HubSpot", "hubspot"),
                    ("Salesforce", "salesforce"),
                    ("Pipedrive", "pipedrive"),
                    ("Generic CSV", "generic"),
                ]
            ),
        )
        self.system.add_class("wb-data-system")
        self.set_aside = widgets.Checkbox(
            description="Set bad rows aside and import the rest", indent=False
        )
        self.set_aside.add_class("wb-data-set-aside")
        self.run = form.button("Import", "wb-import", icon="upload", on_click=self.import_file)
        self.refresh_button = form.button(
            "Refresh", "wb-data-refresh", icon="refresh", on_click=self.reread
        )
        self.result = widgets.HTML()
        self.result.add_class("wb-data-result")
        self.sources = widgets.HTML()
        self.sources.add_class("wb-data-sources")
        self.reach = widgets.HTML()
        self.reach.add_class("wb-data-reach")
        self.stage_map = StageMapEditor(form)
        super().__init__(
            [
                widgets.HBox([self.file, self.system]),
                widgets.HBox([self.set_aside, self.run, self.refresh_button]),
                self.result,
                self.stage_map,
                self.sources,
                self.reach,
            ]
        )
        form.observe(form.guard(lambda _c: self.refresh()), "revision")
        self.refresh()

    def refresh(self) -> None:
        self.sources.value = sources_html(self.form.ws.data)
        self.reach.value = reach_html(self.form.ws)

    def reread(self) -> None:
        """Read the workspace again (an import made elsewhere) and redraw the sources, the
        counts and the step header."""
        self.form.reload()
        self.refresh()
        refresh_headers(self.form.ws)

    def import_file(self) -> None:
        """Import the file named in the text box; problems are listed under the button."""
        name = self.file.value.strip()
        if not name:
            self.result.value = "<i>Type the path of the export first.</i>"
            return
        path = Path(name).expanduser()
        if not path.is_file():
            # a relative path is read from the kernel's folder: say which one was looked in
            where = "" if path.is_absolute() else f" (looked for {path.resolve()})"
            self.result.value = (
                f'<span style="color:#B00020">No file at {html.escape(name)}'
                f"{html.escape(where)}.</span>"
            )
            return
        self.result.value = "<i>Importing...</i>"
        # Whatever the form holds is saved already (autosave); the importer opens the file
        # itself and records the source, so reload afterwards to show it.
        from workbook.crm.stagemap import unknown_names

        try:
            with unknown_names() as unknown:
                lines = _import(self.form.ws, path, chosen(self.system.value), self.set_aside.value)
        except CrmImportError as exc:
            self.stage_map.show(_one_per_name(unknown))
            items = "".join(f"<li>{html.escape(str(p))}</li>" for p in exc.problems[:20])
            more = (
                f"<li>... and {len(exc.problems) - 20} more</li>" if len(exc.problems) > 20 else ""
            )
            hint = f"<br>{html.escape(exc.hint)}" if exc.hint else ""
            self.result.value = (
                f'<span style="color:#B00020">Not imported: {html.escape(exc.message)}{hint}</span>'
                f"<ul>{items}{more}</ul>"
            )
            return
        self.stage_map.show([])
        self.reread()
        self.result.value = (
            f'<pre style="color:#2E7D32">{html.escape(chr(10).join(lines))}</pre>'
            + history_html(self.form.ws)
        )


def form(ws: OpenWorkspace) -> Form:
    """The data form: import a CRM export and list what has been imported; the stage map;
    the lead-scoring rules."""
    f = Form(ws, title="Step 5 - Gather data", css="wb-form-data")
    f.add(imports=ImportPanel(f), stage_names=StageNames(f))
    add_scoring_rules(f)
    return keep_header_current(f)
