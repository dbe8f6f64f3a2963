"""The workshop app: the seven steps as navigation, each step's forms, one workspace.

``workbook workshop WORKSPACE`` serves ``notebooks/workshop.ipynb`` with Voilà as an app with
no code; the same notebook opens in JupyterLab. Both call :func:`app`::

    import workbook.forms.workshop
    workbook.forms.workshop.app(workspace)

The app shows the client's name and logo in its colours (:class:`workbook.theme.Theme`), a
left navigation with the seven steps of :data:`workbook.method.STEPS`, each with its DDMADV
phases and how much of it is still to do, and, for the step picked, the step's header (where
it sits in the DDMADV cycle, the to-do list) and its forms. Step 6 is the journey map you edit
where it is drawn (:class:`workbook.forms.mapcanvas.MapCanvas`, as in notebook 06; ``P``
presents it full screen).

A step's forms are built the first time the step is opened, not up front: the first paint
then costs one step's forms, not seven (:attr:`Workshop.build_seconds` keeps how long each
step took). Once a person picks a step (the page is there and answering), the steps not
opened yet are built in the background, one per turn of the kernel's event loop, so they
open at once later (not before: Voilà's preheated kernel does not show widgets made after
its notebook ran and before a page connected).

All forms share one open workspace, so an edit in one step shows in the others and in the
navigation's to-do counts at once; every form saves each edit as it is made
(:mod:`workbook.forms._binding`), so closing the app loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import importlib
import os
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbook import method
from workbook.exceptions import WorkbookError
from workbook.forms._header import step_header
from workbook.model import PHASES

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["CWD_VAR", "ENV_VAR", "STEP_FORMS", "WARM_MODULES", "Workshop", "app", "step_forms"]

#: The environment variable through which ``workbook workshop`` names the workspace to the
#: app's kernel (never the page's address, which the browser may keep in its history).
ENV_VAR = "WORKBOOK_WORKSPACE"

#: The folder ``workbook workshop`` was started in, named to the app's kernel (which Voila
#: runs in the notebook's own folder, inside the package): a relative path typed in the app
#: (a CRM export in step 5) is read from there, as at the command line.
CWD_VAR = "WORKBOOK_WORKSHOP_CWD"

#: The forms of each step, as modules of :mod:`workbook.forms` with a ``form(ws)``, in the
#: order shown (the same as the step notebooks).
STEP_FORMS: dict[str, tuple[str, ...]] = {
    "objectives": ("objectives",),
    "personas": ("personas",),
    "touchpoints": ("touchpoints",),
    "stages": ("stages",),
    "data": ("data",),
    "visualise": ("mapcanvas",),
    "refine": ("refine", "experiments", "processes", "content", "cycle"),
}

#: What the data step's first opening imports (pandas, Arrow and DuckDB: about a second).
#: The app imports them in the background once it is drawn, so that in Voila they are already
#: in the preheated kernel and a first click on *Data* opens in a fraction of a second.
WARM_MODULES = ("pandas", "pyarrow", "duckdb")

#: A form's own heading starts with its step ("Step 1 - Objectives"); the app's step header
#: already says the step, so the form keeps only its name.
_STEP_PREFIX = re.compile(r"^<h3>Step \d+ - ")

#: Short names for the navigation (the step titles are in :data:`workbook.method.STEPS`).
_NAV_NAMES = {
    "objectives": "Objectives",
    "personas": "Personas",
    "touchpoints": "Touchpoints",
    "stages": "Stages",
    "data": "Data",
    "visualise": "Visualise",
    "refine": "Refine",
}


def step_forms(step_id: str) -> list[Callable[[OpenWorkspace], widgets.Widget]]:
    """The ``form(ws)`` functions of a step, imported when asked for."""
    if step_id not in STEP_FORMS:
        known = ", ".join(STEP_FORMS)
        raise ValueError(f"no step {step_id!r}; the steps are {known}")
    return [importlib.import_module(f"workbook.forms.{name}").form for name in STEP_FORMS[step_id]]


def _phase_names(step: method.Step) -> str:
    return " \u00b7 ".join(PHASES[p] for p in step.phases)


_CSS = """
.wb-workshop { font-family: var(--wb-font); color: var(--wb-ink); width: 100%;
  --wb-app-font: 15px; }
.wb-workshop-bar { background: var(--wb-primary); color: var(--wb-on-primary);
  padding: 10px 18px; display: flex; align-items: center; gap: 16px; }
.wb-workshop-bar img { max-height: 40px; max-width: 160px; background: #fff;
  padding: 3px; border-radius: 3px; }
.wb-workshop-bar .wb-workshop-client { font-size: calc(var(--wb-app-font) * 22 / 15);
  font-weight: 600; }
.wb-workshop-bar .wb-workshop-sub { font-size: calc(var(--wb-app-font) * 13 / 15); opacity: .9; }
/* as wide as 14 letters' height: 210px in 15px type */
.wb-workshop-nav { min-width: calc(var(--wb-app-font) * 14);
  max-width: calc(var(--wb-app-font) * 14); padding: 10px 8px;
  background: var(--wb-primary-tint); align-self: stretch; box-sizing: border-box; }
/* As an app (Voila), the bar and the steps stay in view; the step scrolls on its own. */
body[data-voila] .wb-workshop { height: 100vh; overflow: hidden;
  /* larger type for the room and its projector, growing with the window: 15px on a
     1366-wide screen, 19px on a 1920-wide projector, never more than 20px */
  --wb-app-font: clamp(15px, calc(5.1px + 0.72vw), 20px);
  --jp-widgets-font-size: var(--wb-app-font);
  --jp-widgets-inline-height: calc(var(--wb-app-font) * 32 / 15); font-size: var(--wb-app-font);
  /* a text box or a check box as wide as its type: 300px in 15px type */
  --jp-widgets-inline-width: calc(var(--wb-app-font) * 20); }
body[data-voila] .wb-workshop-row { flex: 1 1 auto; min-height: 0; }
body[data-voila] .wb-workshop-main, body[data-voila] .wb-workshop-nav { overflow-y: auto; }
.wb-workshop-main > .widget-box, .wb-workshop-nav > * { flex-shrink: 0; }
.wb-workshop-nav .widget-button.wb-nav-step, .wb-workshop-nav button.wb-nav-step {
  width: 100%; height: auto; text-align: left; font-size: var(--wb-app-font); font-weight: 600;
  padding: 8px 10px 2px 10px; background: transparent; color: var(--wb-primary-text);
  box-shadow: none; border-radius: 4px 4px 0 0; margin: 6px 0 0 0; }
.wb-workshop-nav button.wb-nav-step.wb-nav-active { background: var(--wb-primary);
  color: var(--wb-on-primary); }
.wb-workshop-nav .wb-nav-phase { margin: 0 0 2px 0; padding: 0 10px 6px 10px; width: 100%;
  border-radius: 0 0 4px 4px; }
.wb-workshop-nav .wb-nav-phase.wb-nav-active { background: var(--wb-primary); }
.wb-workshop-nav .wb-nav-phase .widget-html-content {
  font-size: calc(var(--wb-app-font) * 13 / 15); line-height: 1.35; color: var(--wb-muted); }
.wb-workshop-nav .wb-nav-phase.wb-nav-active .widget-html-content { color: var(--wb-on-primary); }
.wb-workshop-main { padding: 6px 20px 30px 20px; flex: 1 1 auto; min-width: 0; }
.wb-workshop-main .wb-step-header b { font-size: calc(var(--wb-app-font) * 22 / 15);
  color: var(--wb-primary-text); }
.wb-workshop-main .wb-step-header small { font-size: calc(var(--wb-app-font) * 13 / 15); }
.wb-workshop-main .wb-step-header ul { margin: 4px 0 0 0; }
/* the editable map's toolbar and help in the app's larger type */
body[data-voila] .wb-workshop .wb-mc__toolbar, body[data-voila] .wb-workshop .wb-mc__toolbar select,
body[data-voila] .wb-workshop .wb-mc__toolbar button { font-size: var(--wb-app-font); }
body[data-voila] .wb-workshop .wb-mc__status { font-size: calc(var(--wb-app-font) * 14 / 15); }
body[data-voila] .wb-workshop .wb-mc__help { font-size: calc(var(--wb-app-font) * 0.9); }
/* typed text in the app's own type, not the code font ipywidgets gives a text area */
.wb-workshop .widget-textarea textarea { font-family: var(--wb-font); }
/* a long label (an ICP question) wraps onto a second line instead of being cut */
.wb-workshop .widget-inline-hbox:not(.widget-html) > .widget-label { white-space: normal;
  text-overflow: clip; height: auto; min-height: var(--jp-widgets-inline-height);
  line-height: 1.25; display: flex; align-items: center; justify-content: flex-end; }
.wb-workshop .widget-inline-hbox:not(.widget-html):has(> .widget-label) { height: auto;
  min-height: var(--jp-widgets-inline-height); }
.wb-workshop .widget-textarea > .widget-label { align-items: flex-start; padding-top: 6px; }
.wb-workshop .widget-dropdown > select { height: var(--jp-widgets-inline-height); }
/* the top bar reaches the window's edges */
.wb-workshop > .wb-workshop-bar-holder { margin: 0; }
.wb-workshop-loading { color: var(--wb-muted); font-style: italic; padding: 20px 0; }
"""


class Workshop(widgets.VBox):  # type: ignore[misc]
    """The workshop app on one open workspace: navigation, the picked step's header and forms.

    Parameters
    ----------
    ws
        The open workspace (:func:`workbook.store.open_workspace`).
    step
        The step shown first (a step id of :data:`workbook.method.STEPS`).

    Attributes
    ----------
    forms
        The forms built so far, by step id.
    build_seconds
        How long building each opened step's forms took, by step id (wall-clock seconds).
    errors
        What went wrong while building a step (shown in the app too); empty when all is well.
    """

    def __init__(self, ws: OpenWorkspace, step: str = "objectives") -> None:
        from workbook.theme import Theme

        self.ws = ws
        self.forms: dict[str, list[widgets.Widget]] = {}
        self.build_seconds: dict[str, float] = {}
        self.errors: list[str] = []
        self.current = ""
        self._pages: dict[str, widgets.VBox] = {}
        self._headers: dict[str, widgets.HTML] = {}
        self._shown_revision = -1
        self._closed = False
        self._prebuilding = False

        theme = Theme.from_workspace(ws)
        style = widgets.HTML(
            "<style>" + theme.css_variables(".wb-workshop") + _CSS + "</style>",
            layout=widgets.Layout(height="0px", overflow="hidden", margin="0"),
        )
        self.bar = widgets.HTML()
        self.bar.add_class("wb-workshop-bar-holder")
        self._logo = theme.logo
        self.nav_buttons: dict[str, widgets.Button] = {}
        self._nav_phases: dict[str, widgets.HTML] = {}
        nav_items: list[widgets.Widget] = []
        for s in method.STEPS:
            button = widgets.Button(
                description=f"{s.number}. {_NAV_NAMES.get(s.id, s.title)}",
                tooltip=f"Step {s.number}: {s.title} ({_phase_names(s)})",
                layout=widgets.Layout(width="100%", height="auto"),
            )
            button.add_class("wb-nav-step")
            button.add_class(f"wb-nav-{s.id}")
            button.on_click(lambda _b, step_id=s.id: self._clicked(step_id))
            phase = widgets.HTML()
            phase.add_class("wb-nav-phase")
            self.nav_buttons[s.id] = button
            self._nav_phases[s.id] = phase
            nav_items += [button, phase]
        self.nav = widgets.VBox(nav_items)
        self.nav.add_class("wb-workshop-nav")
        self.main = widgets.VBox()
        self.main.add_class("wb-workshop-main")
        row = widgets.HBox([self.nav, self.main], layout={"width": "100%"})
        row.add_class("wb-workshop-row")
        super().__init__([style, self.bar, row])
        self.add_class("wb-workshop")
        self._refresh_status()
        self.show(step)
        self._warm_imports()

    # -- what the person sees

    def show(self, step_id: str) -> None:
        """Show a step: its header and its forms, built the first time it is shown."""
        info = method.step(step_id)  # an unknown step raises, naming the known ones
        self.current = info.id
        for sid, button in self.nav_buttons.items():
            for w in (button, self._nav_phases[sid]):
                if sid == info.id:
                    w.add_class("wb-nav-active")
                else:
                    w.remove_class("wb-nav-active")
        page = self._pages.get(info.id)
        if page is None:
            page = self._page(info, shown=True)
        else:
            self._headers[info.id].value = step_header(self.ws, info.id, compact=True)
            self.main.children = (page,)

    def _clicked(self, step_id: str) -> None:
        """A step picked in the navigation: show it; the first pick (the page is there and
        answering) starts building the other steps in the background."""
        self.show(step_id)
        if not self._prebuilding:
            self._prebuilding = True
            self.prebuild()

    def _page(self, info: method.Step, *, shown: bool) -> widgets.VBox:
        """Build a step's page; when ``shown``, its header shows while its forms are built."""
        header = widgets.HTML(step_header(self.ws, info.id, compact=True))
        self._headers[info.id] = header
        loading = widgets.HTML(
            f'<div class="wb-workshop-loading">Opening step {info.number}, '
            f"{html.escape(info.title)}\u2026</div>"
        )
        page = widgets.VBox([header, loading])
        page.add_class(f"wb-workshop-step-{info.id}")
        self._pages[info.id] = page
        if shown:
            self.main.children = (page,)
        page.children = (header, *self._build(info.id))
        return page

    def prebuild(self, delay: float = 0.2) -> None:
        """Build the steps not opened yet in the background, one per turn of the kernel's
        event loop (between two, the kernel answers the page), so each opens at once later.

        Does nothing outside a running event loop (plain Python: steps build when opened).
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return

        def build_next() -> None:
            if self._closed:
                return
            todo = [s for s in method.STEPS if s.id not in self._pages]
            if not todo:
                return
            try:
                self._page(todo[0], shown=False)
            except Exception as exc:  # never into the Jupyter log, where nobody sees it
                self.errors.append(f"Unexpected error ({type(exc).__name__}): {exc}")
                return
            loop.call_later(delay, build_next)

        loop.call_later(delay, build_next)

    def _warm_imports(self, delay: float = 0.3) -> None:
        """Import :data:`WARM_MODULES` on the kernel's event loop once the app is drawn, one
        per turn (between two, the kernel answers the page). Nothing outside a running loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        todo = list(WARM_MODULES)

        def import_next() -> None:
            if self._closed or not todo:
                return
            with contextlib.suppress(ImportError):  # the step needing it says so
                importlib.import_module(todo.pop(0))
            loop.call_later(0.05, import_next)

        loop.call_later(delay, import_next)

    def _build(self, step_id: str) -> list[widgets.Widget]:
        start = time.perf_counter()
        built: list[widgets.Widget] = []
        try:
            for make in step_forms(step_id):
                form = make(self.ws)
                if hasattr(form, "revision"):
                    form.observe(self._revision_changed, "revision")
                heading = getattr(form, "heading", None)
                if isinstance(heading, widgets.HTML):
                    heading.value = _STEP_PREFIX.sub("<h3>", heading.value)
                built.append(form)
        except WorkbookError as exc:
            built.append(_error_html("\n".join(exc.lines())))
        except Exception as exc:  # a bug: show it, keep the other steps usable
            message = f"Unexpected error ({type(exc).__name__}): {exc}"
            self.errors.append(message)
            built.append(_error_html(message + " - please report this."))
        self.forms[step_id] = built
        self.build_seconds[step_id] = time.perf_counter() - start
        return built

    def _revision_changed(self, _change: Any) -> None:
        try:
            if self.ws.revision != self._shown_revision:
                self._refresh_status()
                header = self._headers.get(self.current)
                if header is not None:
                    header.value = step_header(self.ws, self.current, compact=True)
        except Exception as exc:  # never into the Jupyter log, where nobody sees it
            self.errors.append(f"Unexpected error ({type(exc).__name__}): {exc}")

    def _refresh_status(self) -> None:
        """The top bar and every step's phases and to-do count, from the workspace."""
        data = self.ws.data
        self._shown_revision = self.ws.revision
        logo = f'<img src="{html.escape(self._logo)}" alt="logo">' if self._logo else ""
        self.bar.value = (
            f'<div class="wb-workshop-bar">{logo}<div>'
            f'<div class="wb-workshop-client">{html.escape(data.client.name)}</div>'
            '<div class="wb-workshop-sub">Customer journey workshop \u00b7 every change is '
            f"saved as you make it (revision {data.revision})</div></div></div>"
        )
        for status in method.completeness(data):
            left = len(status.missing)
            todo = "\u2713 done" if status.complete else f"{left} to do"
            self._nav_phases[
                status.step.id
            ].value = f"{html.escape(_phase_names(status.step))}<br>{todo}"

    @property
    def callback_errors(self) -> list[str]:
        """Unexpected errors of the app and of every form built so far (empty when all is
        well; the tests check it)."""
        found = list(self.errors)
        for built in self.forms.values():
            for form in built:
                found += getattr(form, "callback_errors", [])
        return found

    def close(self) -> None:
        """Close every form (they stop following the file), then the app."""
        self._closed = True
        for built in self.forms.values():
            for form in built:
                form.close()
        super().close()


def _error_html(text: str) -> widgets.HTML:
    box = widgets.HTML(f'<pre style="color:#B00020;white-space:pre-wrap">{html.escape(text)}</pre>')
    box.add_class("wb-workshop-error")
    return box


def app(workspace: str | os.PathLike[str], step: str = "objectives") -> widgets.Widget:
    """The workshop app on the workspace folder ``workspace``.

    A workspace that cannot be opened gives a widget that says why and what to do (the app
    is shown to a client: no traceback), not an exception. In a kernel, the other steps are
    then built in the background once the person opens a second one
    (:meth:`Workshop.prebuild`).

    Served by ``workbook workshop``, the kernel moves to the folder the command was started
    in (:data:`CWD_VAR`), so relative paths typed in the app start from there.
    """
    from workbook.store import open_workspace

    start = os.environ.get(CWD_VAR)
    if start and os.path.isdir(start):
        os.chdir(start)
    try:
        ws = open_workspace(workspace)
    except WorkbookError as exc:
        return _error_html("The workshop cannot open this workspace:\n" + "\n".join(exc.lines()))
    return Workshop(ws, step)
