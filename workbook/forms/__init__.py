"""Workshop forms: one ipywidgets form per mapping step, saving to the workspace as you type.

Each step has its own module with a ``form(ws)`` function::

    import workbook.forms.personas
    form = workbook.forms.personas.form(ws)
    form

The modules are ``objectives`` (step 1, with the client and branding), ``personas`` (step 2,
with the ICP checklist), ``touchpoints`` (3), ``stages`` (4), ``data`` (5), ``journeymap`` (6)
and ``refine`` (7). They share one binding (:mod:`workbook.forms._binding`): every field
saves on change, shows its own validation message, and a stale copy shows a Reload button.

Each step notebook starts with :func:`open_step`, which opens the workspace and shows where
the step sits in the seven steps and the DDMADV cycle.
"""

from __future__ import annotations

from workbook.forms._binding import (
    BoundField,
    FieldSpec,
    Form,
    ListEditor,
    by_id,
    path_text,
    resolve,
)
from workbook.forms._header import open_step, step_header, workspaces_html

__all__ = [
    "BoundField",
    "FieldSpec",
    "Form",
    "ListEditor",
    "by_id",
    "open_step",
    "path_text",
    "resolve",
    "step_header",
    "workspaces_html",
]
