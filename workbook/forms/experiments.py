"""Step 7 form: A/B experiments, each with its variants, sample size, status and decision.

The numbers typed per variant (leads who saw it, how many converted) are what
:mod:`workbook.analytics` tests for significance and turns into a roll-out recommendation;
*What does the test say?* shows that verdict for the experiment picked (it reads the CRM
data too, so it runs when asked, not after every change).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbook.forms._binding import FieldSpec, Form, ListEditor
from workbook.forms._header import keep_header_current
from workbook.forms._parts import SafeListEditor, heading, sub_list
from workbook.model import Experiment, Variant

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = ["EXPERIMENT_FIELDS", "VARIANT_FIELDS", "add_experiments", "form", "verdict_html"]


def _touchpoint_options(data: Any) -> list[tuple[str, Any]]:
    return [("(none)", None)] + [(t.name, t.id) for t in data.touchpoints]


_EXPERIMENT_KINDS = [
    ("Subject line", "subject-line"),
    ("Landing page", "landing-page"),
    ("Call to action", "cta"),
    ("Ad", "ad"),
    ("Offer", "offer"),
    ("Text message", "text-message"),
    ("Other", "other"),
]

EXPERIMENT_FIELDS = [
    FieldSpec("name", "Experiment", placeholder="Nurture email subject line"),
    FieldSpec("kind", "What is tested", "choice", options=_EXPERIMENT_KINDS),
    FieldSpec("hypothesis", "Hypothesis", "textarea", placeholder="A question opens more"),
    FieldSpec("metric", "Metric", placeholder="open rate"),
    FieldSpec("touchpoint", "Touchpoint", "choice", options=_touchpoint_options),
    FieldSpec("sample_size", "Sample size (leads)", "number", placeholder="300"),
    FieldSpec("min_effect", "Smallest lift worth finding", "number", placeholder="0.05"),
    FieldSpec(
        "status",
        "Status",
        "choice",
        options=[(s.capitalize(), s) for s in ("planned", "running", "completed", "stopped")],
    ),
    FieldSpec("decision", "Decision", "textarea", placeholder="Roll out variant B to every send"),
]

VARIANT_FIELDS = [
    FieldSpec("name", "Variant", placeholder="B: question"),
    FieldSpec("description", "Description", "textarea"),
    FieldSpec("exposed", "Leads who saw it", "number"),
    FieldSpec("converted", "Of those, converted", "number"),
]


def verdict_html(ws: OpenWorkspace, experiment_id: str) -> str:
    """The analysis' verdict on one experiment (roll out, keep testing, stop), as HTML."""
    from workbook.analytics import experiment_decisions
    from workbook.exceptions import WorkbookError

    try:
        table = experiment_decisions(ws)
    except WorkbookError as exc:
        return f"<i>No verdict: {html.escape(exc.message)}</i>"
    rows = table[table["experiment"] == experiment_id]
    if rows.empty:
        return "<i>No verdict yet: add the variants and how many leads saw each.</i>"
    row = rows.iloc[0]
    warning = str(row.get("warning") or "")
    needed = int(row.get("required_per_variant") or 0)
    sample = (
        f"<br><small>Each variant needs about {needed:,} leads to show a lift of "
        f"{float(row['min_effect']) * 100:g} points over the control's rate.</small>"
        if needed
        else ""
    )
    return (
        f"<b>{html.escape(str(row['decision']).capitalize())}</b>: "
        f"{html.escape(str(row['reason']))}{sample}"
        + (f'<br><span style="color:#8A4B00">{html.escape(warning)}</span>' if warning else "")
    )


def _with_verdict(
    f: Form, variants: Callable[[ListEditor, str], Sequence[widgets.Widget]]
) -> Callable[[ListEditor, str], list[widgets.Widget]]:
    def build(editor: ListEditor, experiment_id: str) -> list[widgets.Widget]:
        verdict = widgets.HTML()
        verdict.add_class("wb-experiment-verdict")

        def check() -> None:
            verdict.value = verdict_html(f.ws, experiment_id)

        button = f.button(
            "What does the test say?", "wb-experiment-check", icon="balance-scale", on_click=check
        )
        button.layout.width = "auto"
        return [*variants(editor, experiment_id), button, verdict]

    return build


def add_experiments(f: Form, *, title: str | None = "Experiments") -> SafeListEditor:
    """Add the A/B experiments to a form, each with its variants and their results (under a
    heading ``title``, none when None)."""
    variants = sub_list(
        f,
        attr="variants",
        noun="variant",
        fields=VARIANT_FIELDS,
        new_item=lambda item_id, name: Variant(id=item_id, name=name),
        title="Variants",
        placeholder="name of a variant, like 'A: today's subject line'",
    )
    editor = SafeListEditor(
        f,
        path=("measurement", "experiments"),
        noun="experiment",
        fields=EXPERIMENT_FIELDS,
        new_item=lambda item_id, name: Experiment(id=item_id, name=name),
        extra=_with_verdict(f, variants),
    )
    f.add(*([heading(title)] if title else []), experiments=editor)
    return editor


def form(ws: OpenWorkspace) -> Form:
    """The experiments form: A/B tests with variants, sample size, status and decision."""
    f = Form(
        ws, title="Experiments: test a change before it reaches everyone", css="wb-form-experiments"
    )
    add_experiments(f, title=None)
    return keep_header_current(f)
