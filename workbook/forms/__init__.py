"""Workshop forms: one ipywidgets form per mapping step, saving to the workspace as you type.

Each step has its own module with a ``form(ws)`` function::

    import workbook.forms.personas
    form = workbook.forms.personas.form(ws)
    form

The modules are ``objectives`` (step 1, with the client and branding, the KPIs and the OKRs),
``personas`` (step 2, with the value proposition, the segments and the ICP checklist),
``touchpoints`` (3), ``stages`` (4), ``data`` (5, with the stage map and the lead-scoring
rules; its notebook also shows ``analysis``, go wide and go deep), ``journeymap`` (6; its
notebook shows ``mapcanvas``, the same map edited where it is drawn) and ``refine`` (7);
step 6's notebook also shows ``design`` (the desired journey, drafted from the as-is map),
step 7's ``experiments``, ``processes`` (key processes), ``content``,
``campaign`` (the campaign control sheet), ``launch`` (the launch checklist and the
monitoring threshold), ``cycle`` (the DDMADV cycle log) and the recommendations' chain
(``design.chain_html``). They share one binding (:mod:`workbook.forms._binding`): every
field saves on change and shows its own validation message; nested lists and lists without
ids are built from :mod:`workbook.forms._parts`.

Each step notebook starts with :func:`open_step`, which opens the workspace and shows where
the step sits in the seven steps and the DDMADV cycle; the step forms redraw that header
after each save, so its to-do list follows the workspace.
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
