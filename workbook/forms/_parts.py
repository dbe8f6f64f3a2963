"""Building blocks the step forms share: list editors inside list editors, and lists of rows.

The binding's :class:`~workbook.forms._binding.ListEditor` edits a list of items with ids. A
method part often holds a list inside each item (an OKR's key results, an experiment's
variants), and some lists have no ids at all (a key result's to-dos, the cycle log). This
module covers both:

- :class:`SafeListEditor`, a list editor that stays quiet when the item it edits, or the item
  holding its list, was just removed (it simply stops following the form).
- :func:`sub_list`, the ``extra`` of a list editor that shows a nested editor for the picked
  item, replacing the previous one.
- :class:`RowList`, one row of bound fields per entry of a list without ids, with *Add* and
  *Remove* per row.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
from pydantic import BaseModel, ValidationError

from workbook.exceptions import WorkspaceValidationError
from workbook.forms._binding import (
    BoundField,
    FieldSpec,
    Form,
    ListEditor,
    by_id,
    resolve,
    spoken,
)

__all__ = ["RowList", "SafeListEditor", "heading", "sub_list"]


def heading(text: str) -> widgets.HTML:
    """A small section heading inside a form."""
    return widgets.HTML(f"<h4>{html.escape(text)}</h4>")


class SafeListEditor(ListEditor):
    """A :class:`ListEditor` that ignores saves made after its item or its list went away.

    After *Remove*, the form's save notifies every editor before the removing editor has
    rebuilt itself; the plain editor then looks up the removed item and fails. This one checks
    first and leaves the rebuilding to the editor that removed it.
    """

    _detached = False

    def detach(self) -> None:
        """Stop following the form's saves; calling it again does nothing."""
        if not self._detached:
            self._detached = True
            super().detach()

    def _refresh_options(self) -> None:
        try:
            items = self.items()
        except KeyError:
            # The item holding this list was removed: this editor is no longer shown.
            self.detach()
            return
        if self.selected is not None and self.selected not in {i.id for i in items}:
            return
        super()._refresh_options()


def sub_list(
    form: Form,
    *,
    attr: str,
    noun: str,
    fields: Sequence[FieldSpec],
    new_item: Callable[[str, str], BaseModel],
    title: str,
    label: Callable[[Any], str] = lambda item: str(item.name),
    placeholder: str = "",
    extra: Callable[[ListEditor, str], Sequence[widgets.Widget]] | None = None,
) -> Callable[[ListEditor, str], list[widgets.Widget]]:
    """An ``extra`` for a list editor: a nested editor of the picked item's list ``attr``.

    Picking another item replaces the nested editor (the old one stops following the form).
    The nested editor is kept in ``form.parts[noun]`` so code and tests can reach it.
    """
    shown: list[ListEditor] = []

    def build(parent: ListEditor, item_id: str) -> list[widgets.Widget]:
        for old in shown:
            old.detach()
        shown.clear()
        editor = SafeListEditor(
            form,
            path=(*parent.path, by_id(item_id), attr),
            noun=noun,
            fields=fields,
            new_item=new_item,
            label=label,
            extra=extra,
        )
        if placeholder:
            editor.new_name.placeholder = placeholder
        shown.append(editor)
        form.parts[noun] = editor
        return [_Nested(title, editor)]

    return build


class _Nested(widgets.VBox):  # type: ignore[misc]
    """A nested editor under its title, indented; refreshed with the item holding it."""

    def __init__(self, title: str, editor: ListEditor) -> None:
        self.editor = editor
        super().__init__([widgets.HTML(f"<b>{html.escape(title)}</b>"), editor])
        self.layout.margin = "4px 0 8px 24px"

    def refresh(self) -> None:
        self.editor.refresh()


class RowList(widgets.VBox):  # type: ignore[misc]
    """Edit a list whose entries have no id (to-dos, cycle log entries): one row each.

    Parameters
    ----------
    form
        The form that saves.
    path
        Where the list is.
    noun
        What one entry is called; also the CSS prefix (``wb-todo-text``, ``wb-todo-add``).
    fields
        The fields of each row.
    new_row
        Make an entry from the text typed in the *new* box; raises ``ValidationError`` for
        text it cannot take.
    placeholder
        Grey text in the *new* box.
    said
        What one entry is called on screen when the noun is not it ("to-do" for "todo");
        by default the noun with its abbreviations in capitals.
    """

    def __init__(
        self,
        form: Form,
        *,
        path: Sequence[Any],
        noun: str,
        fields: Sequence[FieldSpec],
        new_row: Callable[[str], BaseModel],
        placeholder: str = "",
        said: str | None = None,
    ) -> None:
        self.form = form
        self.path = tuple(path)
        # what a row is called on screen ("to-do", "KPI"); the noun stays the CSS name
        self.noun = said or spoken(noun)
        self.css = f"wb-{noun.replace(' ', '-')}"
        self.fields = list(fields)
        self.new_row = new_row
        self.bound: list[BoundField] = []
        self.rows = widgets.VBox()
        self.rows.add_class(f"{self.css}-rows")
        self.new_text = widgets.Text(placeholder=placeholder or f"a new {self.noun}")
        self.new_text.add_class(f"{self.css}-new")
        self.add_button = form.button(
            "Add", "wb-add", f"{self.css}-add", icon="plus", on_click=self.add_row
        )
        self.message = widgets.HTML()
        self.message.add_class(f"{self.css}-message")
        super().__init__([self.rows, widgets.HBox([self.new_text, self.add_button]), self.message])
        self.refresh()

    def follow_saves(self) -> None:
        """Show what other parts of the form save into this list (rows added elsewhere)."""
        self.form.observe(self.form.guard(lambda _change: self.refresh()), "revision")

    def refresh(self) -> None:
        """Show the saved entries: values in place, the rows rebuilt only when entries were
        added or removed (so a row being typed in keeps its focus)."""
        try:
            count = len(self.entries())
        except KeyError:
            return  # the item holding this list is gone; its editor rebuilds itself
        if count * len(self.fields) != len(self.bound) or not self.bound:
            self.rebuild()
            return
        for field in self.bound:
            field.refresh()

    def entries(self) -> list[Any]:
        return list(resolve(self.form.ws.data, self.path))

    def rebuild(self) -> None:
        """Rebuild one row per entry from the workspace."""
        for b in self.bound:
            b.widget.close()
        self.bound = []
        rows = []
        for index in range(len(self.entries())):
            fields = [
                self.form.bind(spec, (*self.path, index), noun=self.css.removeprefix("wb-"))
                for spec in self.fields
            ]
            self.bound.extend(fields)
            remove = self.form.button(
                "Remove",
                "wb-remove",
                f"{self.css}-remove",
                icon="trash",
                on_click=functools.partial(self.remove_row, index),
            )
            row = widgets.VBox([*fields, remove])
            row.layout.border_bottom = "1px solid #E0E0E0"
            rows.append(row)
        self.rows.children = rows or [widgets.HTML(f"<i>No {html.escape(self.noun)} yet.</i>")]

    def _say(self, message: str, *, ok: bool = False) -> None:
        colour = "#2E7D32" if ok else "#B00020"
        self.message.value = (
            f'<span style="color:{colour}">{html.escape(message)}</span>' if message else ""
        )

    def add_row(self) -> None:
        """Add an entry made from the text typed, and save."""
        text = self.new_text.value.strip()
        if not text:
            self._say(f"Type the new {self.noun} first.")
            return
        try:
            entry = self.new_row(text)
        except ValidationError as exc:
            msg = str(exc.errors(include_url=False)[0].get("msg", "is not valid"))
            self._say(f"Not added: {msg.removeprefix('Value error, ')}.")
            return
        entries = resolve(self.form.ws.data, self.path)
        entries.append(entry)
        if not self._save(lambda: entries.remove(entry)):
            return
        self.new_text.value = ""
        self._say(f"Added {self.noun}.", ok=True)
        self.rebuild()

    def remove_row(self, index: int) -> None:
        """Remove the entry at ``index`` and save."""
        entries = resolve(self.form.ws.data, self.path)
        if not 0 <= index < len(entries):
            return
        entry = entries.pop(index)
        if not self._save(lambda: entries.insert(index, entry)):
            return
        self._say(f"Removed {self.noun}.", ok=True)
        self.rebuild()

    def _save(self, undo: Callable[[], None]) -> bool:
        try:
            saved = self.form.save()
        except WorkspaceValidationError as exc:
            undo()
            self._say("Not saved: " + "; ".join(p.message for p in exc.errors))
            return False
        if not saved and self.form.conflict:
            undo()
            return False
        return True
