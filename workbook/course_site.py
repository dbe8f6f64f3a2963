"""The course as a read-only website: every course notebook run on the demo, rendered offline.

:func:`build_site` copies the course notebooks and a workspace (the demo by default) into a
temporary folder laid out as the repository is (``notebooks/`` beside ``data/<name>/``), so
every path the notebooks print is the relative one a trainee types (``../data/demo``), never a
path of the machine that built the site. It runs each notebook with papermill, one kernel in
its own process per notebook (papermill's kernels clash when run from threads), in course mode.
Then nbconvert renders each with the ``workbook-course`` template (``templates/course``): code
and outputs, no parameters cell, previous / contents / next links from
:mod:`workbook.syllabus`, forms shown as a note (a widget has no state once its kernel is gone),
and nothing loaded from a CDN. ``index.html`` lists the lessons in order with their objectives,
times and DDMADV phases.

The site is a folder of plain HTML files; it opens from disk with no server and no network.
"""

from __future__ import annotations

import concurrent.futures
import html
import multiprocessing
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbook import method, syllabus
from workbook.exceptions import ReportError, WorkspaceNotFoundError
from workbook.files import write_atomic

__all__ = ["NOTEBOOKS", "SITE_TITLE", "TEMPLATE_DIR", "TEMPLATE_NAME", "Site", "build_site"]

_ROOT = Path(__file__).resolve().parent.parent
#: The course notebooks (a source checkout's ``notebooks/``).
NOTEBOOKS = _ROOT / "notebooks"
#: The demo workspace the site is run on by default.
_DEMO = _ROOT / "data" / "demo"
#: The name the template is installed under (``jupyter nbconvert --template workbook-course``).
TEMPLATE_NAME = "workbook-course"
#: The template in a source checkout; used before the installed copy, which may be older.
TEMPLATE_DIR = _ROOT / "templates" / "course"
SITE_TITLE = "Journey Workbook course"
_REMOVE_TAGS = ("injected-parameters", "parameters", "remove")


@dataclass(frozen=True)
class Site:
    """A built course site.

    Attributes
    ----------
    folder
        Where it was written.
    pages
        Every page, contents first, then the lessons in order.
    seconds
        Wall-clock time of the build (execution and rendering).
    """

    folder: Path
    pages: tuple[Path, ...]
    seconds: float

    @property
    def index(self) -> Path:
        """The contents page."""
        return self.folder / "index.html"


def _template_dir() -> Path:
    if (TEMPLATE_DIR / "conf.json").is_file():
        return TEMPLATE_DIR
    import sys

    return Path(sys.prefix) / "share" / "jupyter" / "nbconvert" / "templates" / TEMPLATE_NAME


def _execute(source: str, target: str, workspace: str, cwd: str, timeout: int) -> str | None:
    """Run one notebook with papermill (in a worker process); the error as text, or ``None``."""
    import os

    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    # The kernel, a child of this worker, logs start-up notes (its TCP transport) to stderr;
    # the build reports a failure itself, naming the notebook and cell.
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 2)
    os.close(quiet)
    try:
        pm.execute_notebook(
            source,
            target,
            parameters={"workspace": workspace, "mode": "course"},
            cwd=cwd,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout,
        )
    except PapermillExecutionError as exc:
        return f"{_failed_cell(target)}: {exc.ename}: {exc.evalue}"
    return None


def _failed_cell(executed: str) -> str:
    """The failed cell of an executed notebook, by its first line (numbers shift once
    papermill adds its own cells)."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)  # type: ignore[no-untyped-call]
    for cell in nb.cells:
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            first = (cell.source.strip().splitlines() or [""])[0]
            return f"the cell starting {first[:60]!r}"
    return "a cell"


def _run_all(
    sources: Sequence[Path], folder: Path, workspace: str, jobs: int, timeout: int
) -> None:
    """Execute every notebook, ``jobs`` at a time, each in a fresh process."""
    ctx = multiprocessing.get_context("spawn")
    failures = []
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = {
            pool.submit(
                _execute, str(src), str(folder / src.name), workspace, str(folder), timeout
            ): src
            for src in sources
        }
        for future in concurrent.futures.as_completed(futures):
            error = future.result()
            if error is not None:
                failures.append(f"{futures[future].name}: {error}")
    if failures:
        raise ReportError(
            "a course notebook failed on the workspace: " + "; ".join(sorted(failures)),
            hint="run that notebook in JupyterLab on the same workspace to see the traceback",
        )


_LINK = re.compile(r'href="((?:\./)?(\d\d-[a-z0-9-]+))\.ipynb(#[^"]*)?"')


def _site_links(text: str) -> str:
    """``href="02-personas.ipynb"`` to ``href="02-personas.html"`` for the course's notebooks
    (a link to anything else is left alone)."""
    known = {x.id for x in syllabus.LESSONS}

    def swap(m: re.Match[str]) -> str:
        if m.group(2) not in known:
            return m.group(0)
        return f'href="{m.group(1)}.html{m.group(3) or ""}"'

    return _LINK.sub(swap, text)


_WIDGET = "application/vnd.jupyter.widget-view+json"


def _form_note(notebook: str) -> str:
    """What the site shows where the notebook shows a form."""
    return (
        '<div class="wb-form-note"><b>A form.</b> Below, it is shown as it stood on the '
        "demo, read-only. To fill it in, open <code>"
        f"{html.escape(notebook)}</code> in JupyterLab: a form needs a running notebook.</div>"
    )


# ------------------------------------------------------------------------------ forms

#: Widgets a static page can show as they stood: their model name without "Model".
_BOXES = {"VBox": "column", "Box": "column", "GridBox": "column", "HBox": "row"}
_TEXTS = {
    "Text",
    "IntText",
    "FloatText",
    "BoundedIntText",
    "BoundedFloatText",
    "Combobox",
    "IntSlider",
    "FloatSlider",
}
_CHOICES = {"Dropdown", "Select", "RadioButtons", "ToggleButtons"}
#: Past this many widgets a form is summarised by its note alone (a page stays readable).
_MAX_WIDGETS = 1500


class _Static:
    """One form drawn read-only from the widget state nbclient saved: boxes as boxes, fields
    as disabled fields with their values, HTML parts as they were. A widget it cannot draw
    (a custom anywidget, say) becomes a short note saying it works in JupyterLab only."""

    def __init__(self, state: dict[str, Any], note: str) -> None:
        self.state = state
        self.note = note
        self.drawn = 0
        self.unknown = 0

    def _model(self, ref: Any) -> dict[str, Any] | None:
        key = str(ref).removeprefix("IPY_MODEL_")
        model = self.state.get(key)
        return model if isinstance(model, dict) else None

    def _hidden(self, st: dict[str, Any]) -> bool:
        layout = self._model(st.get("layout", ""))
        lst = (layout or {}).get("state", {})
        return bool(lst.get("display") == "none" or lst.get("visibility") == "hidden")

    def draw(self, ref: Any) -> str:
        model = self._model(ref)
        if model is None:
            return ""
        st = model.get("state", {})
        if self._hidden(st):
            return ""
        self.drawn += 1
        if self.drawn > _MAX_WIDGETS:
            return ""
        kind = str(model.get("model_name", "")).removesuffix("Model")
        e = html.escape
        desc = str(st.get("description") or "")
        label = f'<span class="wb-static-label">{e(desc)}</span>' if desc else ""
        if kind in _BOXES:
            inner = "".join(self.draw(c) for c in st.get("children", []))
            return (
                f'<div class="wb-static-box wb-static-{_BOXES[kind]}">{inner}</div>'
                if inner
                else ""
            )
        if kind in ("Tab", "Accordion", "Stack"):
            titles = st.get("titles") or st.get("_titles") or []
            parts = []
            for i, child in enumerate(st.get("children", [])):
                title = titles[i] if isinstance(titles, list) and i < len(titles) else ""
                head = f'<div class="wb-static-title">{e(str(title))}</div>' if title else ""
                parts.append(head + self.draw(child))
            return f'<div class="wb-static-box wb-static-column">{"".join(parts)}</div>'
        if kind in ("HTML", "HTMLMath"):
            value = str(st.get("value") or "")
            return f'<div class="wb-static-html">{label}{value}</div>' if value or label else ""
        if kind == "Label":
            return f'<div class="wb-static-html">{e(str(st.get("value") or ""))}</div>'
        if kind in _TEXTS:
            value = "" if st.get("value") is None else str(st.get("value"))
            return (
                f'<label class="wb-static-field">{label}<input type="text" disabled '
                f'value="{e(value)}" placeholder="{e(str(st.get("placeholder") or ""))}"></label>'
            )
        if kind == "Textarea":
            value = str(st.get("value") or "")
            return (
                f'<label class="wb-static-field">{label}<textarea disabled rows="'
                f'{int(st.get("rows") or 2)}">{e(value)}</textarea></label>'
            )
        if kind in _CHOICES or kind == "SelectMultiple":
            labels = st.get("_options_labels") or []
            index = st.get("index")
            picked = index if isinstance(index, list) else [] if index is None else [index]
            chosen = ", ".join(str(labels[i]) for i in picked if 0 <= int(i) < len(labels))
            return (
                f'<label class="wb-static-field">{label}<span class="wb-static-value">'
                f"{e(chosen) or '&ndash;'}</span></label>"
            )
        if kind in ("Checkbox", "ToggleButton", "Valid"):
            mark = "&#9745;" if st.get("value") else "&#9744;"
            return f'<span class="wb-static-check">{mark} {e(desc)}</span>'
        if kind == "Button":
            return f'<button class="wb-static-button" disabled>{e(desc)}</button>' if desc else ""
        if kind == "DatePicker":
            day = st.get("value") or {}
            text = (
                f"{day['year']:04d}-{day['month'] + 1:02d}-{day['date']:02d}"
                if isinstance(day, dict) and {"year", "month", "date"} <= set(day)
                else ""
            )
            return (
                f'<label class="wb-static-field">{label}<input type="text" disabled '
                f'value="{e(text)}"></label>'
            )
        if kind == "Output":
            parts = []
            for out in st.get("outputs", []):
                data = out.get("data", {}) if isinstance(out, dict) else {}
                if "text/html" in data:
                    parts.append(str(data["text/html"]))
                elif "text/plain" in data or (isinstance(out, dict) and "text" in out):
                    plain = data.get("text/plain", out.get("text", ""))
                    parts.append(f"<pre>{e(str(plain))}</pre>")
            return f'<div class="wb-static-html">{"".join(parts)}</div>' if parts else ""
        if kind.endswith("Style") or kind == "Layout":
            return ""
        self.unknown += 1
        return _PART_NOTE


#: Where a form has a part the static page cannot draw (a custom widget).
_PART_NOTE = (
    '<div class="wb-form-part-note">(An interactive part of the form: it works only in '
    "JupyterLab.)</div>"
)


def _static_form(model_id: str, state: dict[str, Any], note: str) -> str:
    """The form ``model_id`` as it stood when the notebook ran, read-only, under its note."""
    drawer = _Static(state, note)
    body = drawer.draw(model_id)
    if not body or body == _PART_NOTE or drawer.drawn > _MAX_WIDGETS:
        return note
    return f'{note}<div class="wb-static-form" aria-disabled="true">{body}</div>'


def _exporter() -> Any:
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import Preprocessor
    from traitlets.config import Config

    class _CoursePage(Preprocessor):
        """Point links between course notebooks at the site's pages (in markdown and in HTML
        outputs), so the notebook's own "next" link works on the site too; show each form
        (a widget, whose state is gone with its kernel) as a note saying where to use it."""

        def preprocess(self, nb: Any, resources: Any) -> Any:
            # nbclient keeps the widgets' state in the metadata; the page draws each form
            # from it as static HTML, and leaves the JSON (for a widget manager loaded from a
            # CDN) out of the page.
            saved = nb.metadata.pop("widgets", None) or {}
            self.widget_state = saved.get("application/vnd.jupyter.widget-state+json", {})
            return super().preprocess(nb, resources)  # type: ignore[no-untyped-call]

        def preprocess_cell(self, cell: Any, resources: Any, index: int) -> Any:
            note = _form_note(resources.get("course", {}).get("notebook", "the notebook"))
            state = getattr(self, "widget_state", {}).get("state", {})
            if cell.get("cell_type") == "markdown":
                cell.source = _site_links(cell.source)
                cell.source = re.sub(
                    r"\]\(((?:\./)?\d\d-[a-z0-9-]+)\.ipynb\)",
                    lambda m: (
                        f"]({m.group(1)}.html)"
                        if Path(m.group(1)).name in {x.id for x in syllabus.LESSONS}
                        else m.group(0)
                    ),
                    cell.source,
                )
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if _WIDGET in data:
                    model_id = str(data[_WIDGET].get("model_id", ""))
                    out["data"] = {"text/html": _site_links(_static_form(model_id, state, note))}
                elif "text/html" in data:
                    data["text/html"] = _site_links(data["text/html"])
            return cell, resources

    tdir = _template_dir()
    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = set(_REMOVE_TAGS)
    c.HTMLExporter.template_name = tdir.name
    c.HTMLExporter.extra_template_basedirs = [str(tdir.parent)]
    exporter = HTMLExporter(config=c)  # type: ignore[no-untyped-call]
    exporter.register_preprocessor(_CoursePage(), enabled=True)  # type: ignore[no-untyped-call]
    return exporter


def _nav(item: syllabus.Lesson | None) -> dict[str, str] | None:
    return None if item is None else {"href": f"{item.id}.html", "title": item.title}


def _footer(client: str) -> str:
    from workbook import __version__

    return (
        f"Journey Workbook {__version__}: the course notebooks, run on the workspace of "
        f"{client} (read-only). Open the notebooks in JupyterLab to do the exercises."
    )


def _contents_page(client: str, footer: str) -> str:
    import jinja2

    from workbook import __version__

    tdir = _template_dir()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(tdir)), autoescape=True, keep_trailing_newline=True
    )
    total = syllabus.total_minutes()
    lessons = [
        {
            "href": f"{item.id}.html",
            "title": item.title,
            "minutes": item.minutes,
            "phases": ", ".join(method.phase(p).title for p in item.phases),
            "objectives": item.objectives,
        }
        for item in syllabus.LESSONS
    ]
    phases = [
        {"title": method.phase(key).title, "sentence": sentence}
        for key, sentence in syllabus.PHASE_SENTENCES.items()
    ]
    return env.get_template("contents.html.j2").render(
        site_title=SITE_TITLE,
        version=__version__,
        css=(tdir / "static" / "course.css").read_text(encoding="utf-8"),
        total=f"{total // 60} h {total % 60:02d} min",
        client=client,
        lessons=lessons,
        phases=phases,
        footer=footer,
    )


def build_site(
    output: str | Path,
    *,
    workspace: str | Path | None = None,
    notebooks: str | Path | None = None,
    jobs: int = 2,
    timeout: int = 300,
) -> Site:
    """Run the course notebooks on a copy of ``workspace`` and write the course site.

    Parameters
    ----------
    output
        The folder to write into (created; pages already there are replaced).
    workspace
        The workspace to run the notebooks on; the demo by default. It is copied, never
        changed.
    notebooks
        The folder holding the course notebooks (``00-start-here.ipynb`` ...); the
        repository's ``notebooks/`` by default.
    jobs
        How many notebooks run at once, each in its own process with its own kernel.
    timeout
        Seconds one cell may take before the build gives up.

    Raises
    ------
    WorkspaceNotFoundError
        When the workspace or a course notebook is missing.
    ReportError
        When a notebook fails on the workspace (naming the notebook and the cell).
    """
    from workbook.store import open_workspace

    started = time.perf_counter()
    source_ws = Path(workspace) if workspace is not None else _DEMO
    client = open_workspace(source_ws).data.client.name  # a clear error for a bad folder
    folder = Path(notebooks) if notebooks is not None else NOTEBOOKS
    sources = [folder / item.notebook for item in syllabus.LESSONS]
    missing = [p.name for p in sources if not p.is_file()]
    if missing:
        raise WorkspaceNotFoundError(
            f"{folder}: no course notebook {', '.join(missing)}",
            hint="point --notebooks at the repository's notebooks/ folder",
        )
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    footer = _footer(client)

    with tempfile.TemporaryDirectory(prefix="workbook-course-") as tmp:
        book = Path(tmp) / "notebooks"
        book.mkdir()
        for src in sources:
            shutil.copy2(src, book / src.name)
        name = source_ws.resolve().name
        shutil.copytree(
            source_ws,
            Path(tmp) / "data" / name,
            ignore=shutil.ignore_patterns("reports", "*.lock"),
        )
        copies = [book / src.name for src in sources]
        _run_all(copies, book, f"../data/{name}", max(1, jobs), timeout)

        import nbformat

        exporter = _exporter()
        pages = [out / "index.html"]
        for i, item in enumerate(syllabus.LESSONS):
            nb = nbformat.read(book / item.notebook, as_version=4)  # type: ignore[no-untyped-call]
            for key in ("papermill",):
                nb.metadata.pop(key, None)  # the executed notebook's machine paths stay out
            resources = {
                "metadata": {"name": item.title},
                "course": {
                    "site_title": SITE_TITLE,
                    "notebook": f"notebooks/{item.notebook}",
                    "position": "Start" if i == 0 else f"Step {i} of {len(syllabus.LESSONS) - 1}",
                    "minutes": str(item.minutes),
                    "previous": _nav(syllabus.previous_lesson(item.id)),
                    "next": _nav(syllabus.next_lesson(item.id)),
                    "footer": footer,
                },
            }
            body, _ = exporter.from_notebook_node(nb, resources=resources)
            page = out / f"{item.id}.html"
            write_atomic(page, str(body))
            pages.append(page)
    write_atomic(out / "index.html", _contents_page(client, footer))
    return Site(out, tuple(pages), time.perf_counter() - started)
