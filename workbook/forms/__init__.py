"""Workshop forms: one ipywidgets form per mapping step, saving to the workspace as you type.

Each step has its own module with a ``form(ws)`` function::

    import workbook.forms.personas
    form = workbook.forms.personas.form(ws)
    form

The modules are ``objectives`` (step 1, with the client and branding), ``personas`` (step 2,
with the ICP checklist), ``touchpoints`` (3), ``stages`` (4), ``data`` (5), ``journeymap`` (6)
and ``refine`` (7). They share one binding (:mod:`workbook.forms._binding`): every field
saves on change, shows its own validation message, and a stale copy shows a Reload button.
"""

from __future__ import annotations

from workbook.forms._binding import BoundField, FieldSpec, Form, ListEditor, by_id, path_text, resolve

__all__ = ["BoundField", "FieldSpec", "Form", "ListEditor", "by_id", "path_text", "resolve"]
