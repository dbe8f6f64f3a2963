"""Validate form: the launch checklist (every process and channel tested before launch: who,
when, the result and the evidence) and the threshold past which a KPI counts as moved
(``workbook monitor`` and the report's "what moved" section read it)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbook.forms._binding import FieldSpec, Form
from workbook.forms._header import keep_header_current
from workbook.forms._parts import SafeListEditor, heading
from workbook.model import LaunchCheck

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["CHECK_FIELDS", "form", "untested_html"]

_RESULTS = [("Not run", "not-run"), ("Pass", "pass"), ("Fail", "fail")]


def _process_options(data: Any) -> list[tuple[str, Any]]:
    return [("(none)", None)] + [(p.name, p.id) for p in data.processes]


def _touchpoint_options(data: Any) -> list[tuple[str, Any]]:
    return [("(none)", None)] + [(t.name, t.id) for t in data.touchpoints]


CHECK_FIELDS = [
    FieldSpec("item", "Test", placeholder="WhatsApp question at 10 pm gets an answer"),
    FieldSpec("process", "Process", "choice", options=_process_options),
    FieldSpec("touchpoint", "Touchpoint", "choice", options=_touchpoint_options),
    FieldSpec("who", "Who tests it", placeholder="Customer Sales Lead"),
    FieldSpec("when", "When", "date"),
    FieldSpec("result", "Result", "choice", options=_RESULTS),
    FieldSpec("evidence", "Evidence", "textarea", placeholder="Screenshot of the reply, 4 min"),
]
THRESHOLD = FieldSpec(
    "threshold", "KPI moved when it changes by", "number", placeholder="0.10 (a tenth of it)"
)


def untested_html(data: Any) -> str:
    """What no launch check covers yet (key processes, channels), or that all are covered."""
    from workbook.monitor import untested

    processes, channels = untested(data)
    if not processes and not channels:
        return "<i>Every key process and channel has a test.</i>"
    parts = []
    if processes:
        noun = "key process" if len(processes) == 1 else "key processes"
        parts.append(f"{noun}: " + ", ".join(html.escape(p) for p in processes))
    if channels:
        noun = "channel" if len(channels) == 1 else "channels"
        parts.append(f"{noun}: " + ", ".join(html.escape(c) for c in channels))
    return "<b>Not tested yet</b>: " + "; ".join(parts)


def form(ws: OpenWorkspace) -> Form:
    """The Validate form: the launch checklist and the monitoring threshold."""
    f = Form(ws, title="Validate: test before launch, then watch", css="wb-form-launch")
    checks = SafeListEditor(
        f,
        path=("validation", "launch"),
        noun="launch check",
        fields=CHECK_FIELDS,
        new_item=lambda item_id, name: LaunchCheck(id=item_id, item=name),
        label=lambda c: f"{c.item} ({c.result.replace('-', ' ')})",
    )
    checks.new_name.placeholder = "a process or channel to test, in a few words"
    missing = widgets.HTML(untested_html(ws.data))
    missing.add_class("wb-launch-untested")

    def follow(_change: Any) -> None:
        missing.value = untested_html(f.ws.data)

    f.observe(f.guard(follow), "revision")
    threshold = f.bind(THRESHOLD, ("validation",), noun="validation")
    f.add(heading("Launch checklist"), checks=checks)
    f.add(missing)
    f.add(heading("Monitoring"), threshold)
    f.parts["untested"] = missing
    f.parts["threshold"] = threshold
    return keep_header_current(f)
