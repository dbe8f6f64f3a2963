"""Step 5 form: import a CRM export into the workspace and see what is already there."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbook.exceptions import CrmImportError
from workbook.forms._binding import Form

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["ImportPanel", "form", "reach_html", "sources_html"]


def sources_html(data: Any) -> str:
    """The imported sources as a small table (file names and counts only: no CRM content)."""
    if not data.data_sources:
        return "<i>No CRM export imported yet.</i>"
    titles = ("Source", "System", "File", "Rows", "Set aside", "Events from", "to")
    head = "<tr>" + "".join(f"<th>{t}</th>" for t in titles) + "</tr>"
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
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
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
        f"<tr><td>{html.escape(str(r.stage_name))}</td><td>{int(r.contacts):,}</td></tr>"
        for r in table.itertuples()
    )
    return (
        '<b>Contacts who reached each stage</b><table class="wb-data-reach">'
        f"<tr><th>Stage</th><th>Contacts</th></tr>{rows}</table>"
    )


def _import(ws: OpenWorkspace, file: Path, system: str | None, set_aside: bool) -> list[str]:
    """Run the CRM importer on ``file``; return its summary lines."""
    from workbook.crm.importer import import_file

    result = import_file(ws.path, file, source=system, set_aside_bad_rows=set_aside)
    return result.lines()


class ImportPanel(widgets.VBox):  # type: ignore[misc]
    """A file path, a source system, an Import button, and the sources imported so far."""

    def __init__(self, form: Form) -> None:
        self.form = form
        self.file = widgets.Text(
            description="CRM export",
            placeholder="path of a CSV or Excel export, relative to this notebook",
        )
        self.file.add_class("wb-data-file")
        self.system = widgets.Dropdown(
            description="System",
            options=[
                ("Detect", None),
                ("HubSpot", "hubspot"),
                ("Salesforce", "salesforce"),
                ("Pipedrive", "pipedrive"),
                ("Generic CSV", "generic"),
            ],
        )
        self.system.add_class("wb-data-system")
        self.set_aside = widgets.Checkbox(
            description="Set bad rows aside and import the rest", indent=False
        )
        self.set_aside.add_class("wb-data-set-aside")
        self.run = form.button("Import", "wb-import", icon="upload", on_click=self.import_file)
        self.result = widgets.HTML()
        self.result.add_class("wb-data-result")
        self.sources = widgets.HTML()
        self.sources.add_class("wb-data-sources")
        self.reach = widgets.HTML()
        self.reach.add_class("wb-data-reach")
        super().__init__(
            [
                widgets.HBox([self.file, self.system]),
                widgets.HBox([self.set_aside, self.run]),
                self.result,
                self.sources,
                self.reach,
            ]
        )
        form.observe(form.guard(lambda _c: self.refresh()), "revision")
        self.refresh()

    def refresh(self) -> None:
        self.sources.value = sources_html(self.form.ws.data)
        self.reach.value = reach_html(self.form.ws)

    def import_file(self) -> None:
        """Import the file named in the text box; problems are listed under the button."""
        name = self.file.value.strip()
        if not name:
            self.result.value = "<i>Type the path of the export first.</i>"
            return
        path = Path(name).expanduser()
        if not path.is_file():
            self.result.value = (
                f'<span style="color:#B00020">No file at {html.escape(name)}.</span>'
            )
            return
        self.result.value = "<i>Importing...</i>"
        # Whatever the form holds is saved already (autosave); the importer opens the file
        # itself and records the source, so reload afterwards to show it.
        try:
            lines = _import(self.form.ws, path, self.system.value, self.set_aside.value)
        except CrmImportError as exc:
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
        self.form.reload()
        self.result.value = f'<pre style="color:#2E7D32">{html.escape(chr(10).join(lines))}</pre>'


def form(ws: OpenWorkspace) -> Form:
    """The data form: import a CRM export; list what has been imported."""
    f = Form(ws, title="Step 5 - Gather data", css="wb-form-data")
    f.add(imports=ImportPanel(f))
    return f
