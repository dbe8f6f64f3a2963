"""The top of every step notebook: open the workspace, say which step and which DDMADV phase.

One call per notebook (``ws = workbook.forms.open_step(workspace, "personas", mode)``) so the
notebooks share no copied cells. The header shows the step, the phase of the DDMADV cycle it
belongs to (the whole cycle drawn as a strip), and how complete the workspace is, step by
step (:func:`workbook.method.completeness`).

The header is drawn again whenever the workspace changes under a step form (a save, a
reload, an import, another view's save): :func:`keep_header_current` ties a form to the
headers shown for its workspace, so the to-do list and the counts follow what is on disk.
"""

from __future__ import annotations

import html
import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbook.model import PHASES

if TYPE_CHECKING:
    from workbook.forms._binding import Form
    from workbook.store import OpenWorkspace

__all__ = [
    "MODES",
    "keep_header_current",
    "mode_of",
    "open_step",
    "refresh_headers",
    "shown_headers",
    "step_header",
    "workspaces_html",
]

MODES = ("workshop", "course")


def _cycle_strip(phases: tuple[str, ...]) -> str:
    """The five DDMADV phases in a row, the step's own phases highlighted."""
    cells = []
    for key, name in PHASES.items():
        if key == phases[0]:
            style = "background:#1F4E79;color:#fff;font-weight:bold"
        elif key in phases:
            style = "background:#D6E4F0;color:#1F4E79;font-weight:bold"
        else:
            style = "background:#F2F2F2;color:#666"
        cells.append(
            f'<span class="wb-phase wb-phase-{key}" style="{style};padding:2px 8px">{name}</span>'
        )
    return " &rarr; ".join(cells) + " &#8635;"


def _completeness_html(ws: OpenWorkspace, step_id: str, *, every_step: bool = True) -> str:
    """Every step as done / to do (unless not ``every_step``), and what this step still
    misses (from workbook.method)."""
    from workbook import method

    statuses = method.completeness(ws.data)
    badges = []
    for st in statuses if every_step else ():
        mark = "&#10003;" if st.complete else f"{len(st.missing)} to do"
        weight = "font-weight:bold;text-decoration:underline" if st.step.id == step_id else ""
        badges.append(
            f'<span class="wb-progress-step" style="{weight};margin-right:10px">'
            f"{st.step.number}. {html.escape(st.step.title)}: {mark}</span>"
        )
    own = next(st for st in statuses if st.step.id == step_id)
    todo = "".join(f"<li>{html.escape(str(f))}</li>" for f in own.missing[:8])
    more = f"<li>... and {len(own.missing) - 8} more</li>" if len(own.missing) > 8 else ""
    progress = f"<small>{''.join(badges)}</small>" if badges else ""
    still = f"<small>Still to do in this step:</small><ul>{todo}{more}</ul>" if todo else ""
    return (
        f'<div class="wb-completeness">{progress}'
        + ("<br>" if progress and still else "")
        + f"{still}</div>"
    )


def _course_html(ws: OpenWorkspace, step_id: str) -> str:
    """What the course counts for this step: its exercise checks (:mod:`workbook.course`), the
    verdict and what is still missing, in place of the engagement's checklist (which asks for
    more than an exercise does, so the two would disagree)."""
    from workbook import course

    results = course.lesson_checks(step_id, ws)
    note = (
        "For the course, the exercise check at the bottom of this notebook is what counts; "
        "its verdict is shown here. The engagement checklist (workshop mode) asks for more."
    )
    items = []
    for name, fb in results.items():
        state = "done" if fb.ok else "todo"
        hints = "".join(f"<li>{html.escape(h)}</li>" for h in fb.hints[:5])
        more = f"<li>... and {len(fb.hints) - 5} more</li>" if len(fb.hints) > 5 else ""
        items.append(
            f'<li class="wb-exercise wb-exercise-{state}" data-check="{html.escape(name)}">'
            f"<b>{'&#10003; Done' if fb.ok else 'Not yet'}</b>: {html.escape(fb.message)}"
            + (f"<ul>{hints}{more}</ul>" if hints else "")
            + "</li>"
        )
    checks = f"<ul>{''.join(items)}</ul>" if items else "<br><small>No exercise here.</small>"
    return (
        f'<div class="wb-completeness wb-course-status"><small><i>{html.escape(note)}</i>'
        f"</small>{checks}</div>"
    )


def step_header(
    ws: OpenWorkspace, step: str, mode: str = "workshop", *, compact: bool = False
) -> str:
    """The HTML header of a step notebook.

    ``compact`` leaves out what the workshop app already shows around the step (the client
    and revision in its top bar, how saving works, every step's progress in its navigation):
    the step, where it sits in the DDMADV cycle, and what this step still misses.
    In ``"course"`` mode the header shows the step's exercise check instead of the
    engagement's checklist: that check is what counts for the course.
    """
    from workbook import method

    info = method.step(step)
    if compact:
        return (
            f'<div class="wb-step-header wb-step-{step}">'
            f"<b>Step {info.number} of {len(method.STEPS)}: {html.escape(info.title)}</b><br>"
            f"<small>Where this sits in the DDMADV cycle:</small><br>{_cycle_strip(info.phases)}"
            f"{_completeness_html(ws, step, every_step=False)}</div>"
        )
    client = html.escape(ws.data.client.name)
    how = (
        "Course: read each part, fill the form, then run the exercise check at the bottom."
        if mode == "course"
        else "Workshop: everything typed in the form is saved to the workspace at once."
    )
    return (
        f'<div class="wb-step-header wb-step-{step}">'
        f"<b>Step {info.number} of {len(method.STEPS)}: {html.escape(info.title)}</b>"
        f" &middot; {client} "
        f"(revision {ws.data.revision})<br>"
        f"<small>Where this sits in the DDMADV cycle:</small><br>{_cycle_strip(info.phases)}"
        f"<p><i>{html.escape(how)}</i></p>"
        f"{_course_html(ws, step) if mode == 'course' else _completeness_html(ws, step)}</div>"
    )


@dataclass
class _Shown:
    """A header on screen: which step, the HTML last drawn, and the handle to redraw it
    (``None`` outside a notebook, where nothing can be redrawn)."""

    step: str
    mode: str
    html: str
    handle: Any


#: The headers shown for each open workspace; forgotten with the workspace.
_SHOWN: weakref.WeakKeyDictionary[OpenWorkspace, list[_Shown]] = weakref.WeakKeyDictionary()


_FOLLOWED: weakref.WeakSet[Form] = weakref.WeakSet()


def shown_headers(ws: OpenWorkspace) -> list[str]:
    """The HTML of every header shown for ``ws``, as last drawn."""
    return [s.html for s in _SHOWN.get(ws, [])]


def refresh_headers(ws: OpenWorkspace) -> list[str]:
    """Draw again every header shown for ``ws`` (its revision, counts and to-do list).

    Returns
    -------
    list of str
        The HTML of each header, as now drawn.
    """
    from IPython.display import HTML

    for shown in _SHOWN.get(ws, []):
        text = step_header(ws, shown.step, shown.mode)
        if text != shown.html:
            shown.html = text
            if shown.handle is not None:
                shown.handle.update(HTML(text))  # type: ignore[no-untyped-call]
    return shown_headers(ws)


def mode_of(ws: OpenWorkspace) -> str:
    """The mode the step header of ``ws`` was opened in (:func:`open_step`): ``"course"`` when
    a trainee's notebook opened it so, else ``"workshop"``."""
    return "course" if any(s.mode == "course" for s in _SHOWN.get(ws, [])) else "workshop"


def keep_header_current(form: Form) -> Form:
    """Redraw the headers of the form's workspace after each of its saves and reloads."""
    if form not in _FOLLOWED:
        _FOLLOWED.add(form)
        form.observe(form.guard(lambda _change: refresh_headers(form.ws)), "revision")
    return form


def open_step(
    workspace: str | os.PathLike[str], step: str, mode: str = "workshop"
) -> OpenWorkspace:
    """Open the workspace for a step notebook and show the step's header.

    Parameters
    ----------
    workspace
        The workspace folder (the notebook's ``workspace`` parameter).
    step
        A step id of :data:`workbook.method.STEPS` (``objectives`` ... ``refine``).
    mode
        ``"workshop"`` (a consultant with a client) or ``"course"`` (a trainee).

    Raises
    ------
    WorkspaceNotFoundError, WorkspaceValidationError
        When the folder is not a valid workspace; the message says what to fix.
    """
    from IPython.display import HTML, display

    from workbook.store import open_workspace

    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    ws = open_workspace(workspace)
    text = step_header(ws, step, mode)
    handle = display(HTML(text), display_id=True)  # type: ignore[no-untyped-call]
    _SHOWN.setdefault(ws, []).append(_Shown(step, mode, text, handle))
    return ws


def workspaces_html(directory: str | os.PathLike[str] = ".") -> Any:
    """The workspaces found in ``directory`` (each sub-folder with a ``workspace.yaml``).

    Returns an ``IPython.display.HTML`` table: folder, client, revision, and the path to put
    in a notebook's ``workspace`` parameter.
    """
    from IPython.display import HTML

    from workbook.exceptions import WorkbookError
    from workbook.store import open_workspace

    root = Path(directory)
    rows = []
    for file in sorted(root.glob("*/workspace.yaml")):
        folder = file.parent
        try:
            data = open_workspace(folder).data
            client, revision = data.client.name, str(data.revision)
        except WorkbookError as exc:
            client, revision = f"cannot be opened: {exc.message}", ""
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(c)}</td>"
                for c in (folder.name, client, revision, folder.as_posix())
            )
            + "</tr>"
        )
    if not rows:
        return HTML(  # type: ignore[no-untyped-call]
            f"<i>No workspace in {html.escape(root.as_posix())}. "
            "Create one with <code>workbook new NAME</code>.</i>"
        )
    head = "<tr><th>Folder</th><th>Client</th><th>Revision</th><th>workspace =</th></tr>"
    return HTML(  # type: ignore[no-untyped-call]
        f'<table class="wb-workspaces">{head}{"".join(rows)}</table>'
    )
