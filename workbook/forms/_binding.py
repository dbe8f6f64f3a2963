"""The one binding every workshop form uses: a widget bound to a field of the workspace.

A :class:`Form` owns one open workspace and shows three things besides its fields: a status
line (last save), a conflict banner with a *Reload* button (someone else saved first), and an
error line for anything a callback did not expect. Nothing a callback raises reaches the
Jupyter log, where nobody would see it (ipywidgets' default): :meth:`Form.guard` catches it and
shows it in the form, and tests assert :attr:`Form.callback_errors` stays empty.

A :class:`BoundField` ties one widget to one attribute of an item of ``ws.data``, found by a
*path* such as ``("personas", by_id("priya"), "demographics")`` + attribute ``"role"``. Items
are found by id, never by position, so a path stays right when the list is reordered. When the
widget's value changes (text fields fire on Enter or when focus leaves, not on every key), the
value is converted, assigned (pydantic validates the assignment), and the workspace is saved
at once. An invalid value is shown under the field and is neither kept nor saved.

A :class:`ListEditor` edits a list of items with ids (objectives, personas, stages...): a picker,
*Add* and *Remove*, and one bound field per :class:`FieldSpec` for the picked item.

Every widget carries a stable CSS class (``wb-<noun>-<field>``, buttons ``wb-add``, ``wb-save``,
``wb-reload``...) so that a browser test can find it, and :meth:`Form.find` finds the same
widgets in Python.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import traitlets
from pydantic import BaseModel, ValidationError

from workbook.exceptions import ConflictError, WorkbookError, WorkspaceValidationError

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = [
    "BoundField",
    "FieldSpec",
    "Form",
    "ListEditor",
    "by_id",
    "path_text",
    "resolve",
]

#: One step of a path into the workspace: an attribute name, a list position, a dict key, or
#: a selector matching a list item by its fields (``{"id": "priya"}``).
PathPart = str | int | Mapping[str, Any]
Path = tuple[PathPart, ...]
Options = Sequence[tuple[str, Any]] | Callable[[Any], Sequence[tuple[str, Any]]]


def by_id(item_id: str) -> dict[str, str]:
    """A path selector for the list item whose ``id`` is ``item_id``."""
    return {"id": item_id}


def resolve(root: Any, path: Path) -> Any:
    """Follow ``path`` from ``root`` (a model) and return what it points at.

    Raises
    ------
    KeyError
        When a step of the path does not exist (an item was removed meanwhile).
    """
    node = root
    for part in path:
        if isinstance(part, Mapping):
            for item in node:
                if all(getattr(item, k, None) == v for k, v in part.items()):
                    node = item
                    break
            else:
                raise KeyError(f"{path_text(path)}: no item with {dict(part)}")
        elif isinstance(part, int) or isinstance(node, dict):
            node = node[part]
        else:
            node = getattr(node, part)
    return node


def path_text(path: Path, attr: str | None = None) -> str:
    """``("personas", {"id": "priya"}, "name")`` -> ``"personas[priya].name"``."""
    out = ""
    for part in (*path, attr) if attr else path:
        if isinstance(part, Mapping):
            out += "[" + ",".join(str(v) for v in part.values()) + "]"
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _validation_message(exc: ValidationError) -> str:
    """The first problem of a pydantic error, in the workbook's plain words."""
    err = exc.errors(include_url=False)[0]
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in ("greater_than_equal", "less_than_equal"):
        return (
            f"must be at least {ctx['ge']:g}" if "ge" in ctx else f"must be at most {ctx['le']:g}"
        )
    if kind == "string_pattern_mismatch":
        return "must be an id: lower-case letters, digits and single hyphens"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    msg = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:]


# ------------------------------------------------------------------------- converters


def _lines_to_list(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _list_to_lines(value: Sequence[str] | None) -> str:
    return "\n".join(value or [])


def _text_to_number(value: str) -> float | None:
    text = value.strip().replace(",", ".") if value else ""
    if not text:
        return None
    try:
        return float(text.rstrip("%"))
    except ValueError:
        raise ValueError("must be a number, like 12 or 3.5 (leave empty if unknown)") from None


def _number_to_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _text_to_date(value: str) -> dt.date | None:
    text = value.strip() if value else ""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("must be a date like 2026-03-31 (year-month-day)") from None


def _date_to_text(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


# ----------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class FieldSpec:
    """How one attribute of an item is edited.

    Parameters
    ----------
    attr
        The attribute of the item (``"name"``); ``"demographics.role"`` reaches into a
        nested model.
    label
        What the person sees next to the field.
    kind
        ``text``, ``textarea``, ``lines`` (one list entry per line), ``number`` (empty means
        unknown), ``date``, ``choice`` (a dropdown; ``None`` allowed when an option says so),
        ``multi`` (several choices), ``slider`` (an emotion from -2 to 2), ``bool``.
    options
        For ``choice`` and ``multi``: ``(label, value)`` pairs, or a function of the
        workspace returning them (stages, touchpoints...).
    placeholder
        Grey example text in an empty text field: show what good looks like.
    """

    attr: str
    label: str
    kind: str = "text"
    options: Options | None = None
    placeholder: str = ""

    def css(self, noun: str) -> str:
        return f"wb-{noun}-{self.attr.replace('.', '-').replace('_', '-')}"


_STYLE = {"description_width": "170px"}
_WIDE = widgets.Layout(width="98%")


def _options(spec: FieldSpec, data: Any, current: Any) -> list[tuple[str, Any]]:
    opts = spec.options(data) if callable(spec.options) else list(spec.options or [])
    opts = list(opts)
    known = {v for _, v in opts}
    # Keep values the workspace already holds even when they are not among the offered
    # options (a client's own channel, say): dropping them would change data by viewing it.
    extra = current if isinstance(current, list | tuple) else [current]
    for value in extra:
        if value is not None and value not in known:
            opts.append((str(value), value))
    return opts


def _make_widget(
    spec: FieldSpec, data: Any, current: Any
) -> tuple[widgets.ValueWidget, Callable[[Any], Any], Callable[[Any], Any]]:
    """The widget for a spec, plus (widget value -> model value, model value -> widget value)."""
    common: dict[str, Any] = {"description": spec.label, "style": _STYLE, "layout": _WIDE}
    same: Callable[[Any], Any] = lambda v: v  # noqa: E731
    if spec.kind == "text":
        w = widgets.Text(placeholder=spec.placeholder, continuous_update=False, **common)
        return w, same, lambda v: v or ""
    if spec.kind == "textarea":
        w = widgets.Textarea(
            placeholder=spec.placeholder, continuous_update=False, rows=3, **common
        )
        return w, same, lambda v: v or ""
    if spec.kind == "lines":
        w = widgets.Textarea(
            placeholder=spec.placeholder or "one per line",
            continuous_update=False,
            rows=3,
            **common,
        )
        return w, _lines_to_list, _list_to_lines
    if spec.kind == "number":
        w = widgets.Text(placeholder=spec.placeholder, continuous_update=False, **common)
        return w, _text_to_number, _number_to_text
    if spec.kind == "date":
        w = widgets.Text(
            placeholder=spec.placeholder or "2026-03-31", continuous_update=False, **common
        )
        return w, _text_to_date, _date_to_text
    if spec.kind == "choice":
        w = widgets.Dropdown(options=_options(spec, data, current), **common)
        return w, same, same
    if spec.kind == "multi":
        opts = _options(spec, data, current)
        w = widgets.SelectMultiple(options=opts, rows=min(8, max(3, len(opts))), **common)
        return w, list, lambda v: tuple(v or ())
    if spec.kind == "slider":
        w = widgets.FloatSlider(min=-2, max=2, step=0.5, continuous_update=False, **common)
        return w, same, lambda v: 0.0 if v is None else float(v)
    if spec.kind == "bool":
        w = widgets.Checkbox(indent=False, **{**common, "layout": widgets.Layout()})
        return w, bool, bool
    raise ValueError(f"unknown field kind {spec.kind!r}")


class BoundField(widgets.VBox):  # type: ignore[misc]
    """One widget bound to ``resolve(ws.data, path).<attr>``, with its error line under it.

    Parameters
    ----------
    form
        The form that saves and shows conflicts.
    widget
        Any value widget.
    path
        Where the item is in the workspace.
    attr
        The attribute edited (may be dotted: ``demographics.role``).
    to_model, from_model
        Convert a widget value to a model value and back. ``to_model`` raises ``ValueError``
        with a readable message for input it cannot take.
    """

    error_text = traitlets.Unicode("", help="The message under the field; empty when valid.")

    def __init__(
        self,
        form: Form,
        widget: widgets.ValueWidget,
        path: Path,
        attr: str,
        *,
        to_model: Callable[[Any], Any] = lambda v: v,
        from_model: Callable[[Any], Any] = lambda v: v,
    ) -> None:
        self.form = form
        self.widget = widget
        self.path = tuple(path)
        *head, self.attr = attr.split(".")
        self.owner_path: Path = (*self.path, *head)
        self.to_model = to_model
        self.from_model = from_model
        self.error_label = widgets.HTML()
        self.error_label.add_class("wb-field-error")
        self._updating = False
        #: The spec it was built from, when built by :meth:`Form.bind`.
        self.spec: FieldSpec | None = None
        super().__init__([widget, self.error_label])
        self.add_class("wb-field")
        self.refresh()
        widget.observe(form.guard(self._on_change), "value")

    def refresh_options(self) -> None:
        """Recompute the choices of a dropdown whose options come from the workspace.

        A stage or an ICP added elsewhere in the form appears without rebuilding the editor.
        """
        spec = self.spec
        if spec is None or not callable(spec.options):
            return
        current = getattr(resolve(self.form.ws.data, self.owner_path), self.attr)
        self._updating = True
        try:
            self.widget.options = _options(spec, self.form.ws.data, current)
            self.widget.value = self.from_model(current)
        finally:
            self._updating = False

    @property
    def field_path(self) -> str:
        return path_text(self.owner_path, self.attr)

    def show_error(self, message: str) -> None:
        self.error_text = message
        self.error_label.value = (
            f'<span style="color:#B00020">{html.escape(message)}</span>' if message else ""
        )

    def refresh(self) -> None:
        """Show the model's current value (after a reload), without saving anything."""
        value = self.from_model(getattr(resolve(self.form.ws.data, self.owner_path), self.attr))
        self._updating = True
        try:
            self.widget.value = value
        finally:
            self._updating = False
        self.show_error("")

    def _on_change(self, change: Mapping[str, Any]) -> None:
        if self._updating:
            return
        owner = resolve(self.form.ws.data, self.owner_path)
        old = getattr(owner, self.attr)
        try:
            new = self.to_model(change["new"])
        except ValueError as exc:
            self.show_error(str(exc))
            return
        if new == old:
            self.show_error("")
            return
        try:
            setattr(owner, self.attr, new)
        except ValidationError as exc:
            self.show_error(_validation_message(exc))
            return
        try:
            self.form.save()
        except WorkspaceValidationError as exc:
            # The value is valid alone but breaks the workspace (a reference to nothing):
            # put the old value back so the document in memory stays savable.
            setattr(owner, self.attr, old)
            self.show_error("; ".join(p.message for p in exc.errors) or exc.message)
            return
        self.show_error("")


# ------------------------------------------------------------------------------ form


class Form(widgets.VBox):  # type: ignore[misc]
    """A step's form: one open workspace, autosave, errors shown in the form.

    Parameters
    ----------
    ws
        The open workspace (:func:`workbook.store.open_workspace`).
    title
        A heading shown above the fields.
    css
        A class for the whole form (``wb-form-personas``).
    """

    revision = traitlets.Int(0, help="The workspace revision after the last save or reload.")
    status = traitlets.Unicode("", help="What the last save did, in words.")
    conflict = traitlets.Unicode("", help="The conflict message while a reload is needed.")

    def __init__(self, ws: OpenWorkspace, *, title: str, css: str) -> None:
        self.ws = ws
        self.callback_errors: list[str] = []
        self._parts: list[Any] = []
        #: The named parts of the form (list editors, field groups), for code and tests.
        self.parts: dict[str, Any] = {}
        self.heading = widgets.HTML(f"<h3>{html.escape(title)}</h3>")
        self.status_label = widgets.HTML()
        self.status_label.add_class("wb-status")
        self.error_label = widgets.HTML()
        self.error_label.add_class("wb-callback-error")
        self.reload_button = widgets.Button(
            description="Reload", icon="refresh", button_style="warning"
        )
        self.reload_button.add_class("wb-reload")
        self.reload_button.on_click(self.guard(lambda _b: self.reload()))
        self.conflict_label = widgets.HTML()
        self.conflict_box = widgets.HBox(
            [self.conflict_label, self.reload_button], layout=widgets.Layout(display="none")
        )
        self.conflict_box.add_class("wb-conflict")
        self.body = widgets.VBox()
        # Fields save by themselves when they lose focus; the button is for people who want
        # to be sure (clicking it also takes the focus, so the field being typed in saves).
        self.save_button = widgets.Button(description="Save", icon="save")
        self.save_button.add_class("wb-save")
        self.save_button.on_click(self.guard(lambda _b: self._save_clicked()))
        super().__init__(
            [
                self.heading,
                self.conflict_box,
                self.body,
                widgets.HBox([self.save_button, self.status_label]),
                self.error_label,
            ]
        )
        self.add_class("wb-form")
        self.add_class(css)
        self.revision = ws.data.revision

    # -- building

    def add(self, *parts: widgets.Widget, **named: widgets.Widget) -> None:
        """Append parts to the body; parts with a ``refresh()`` are refreshed on reload.

        Named parts are also kept in :attr:`parts` (``form.parts["personas"]``).
        """
        self.parts.update(named)
        new = [*parts, *named.values()]
        self._parts.extend(new)
        self.body.children = (*self.body.children, *new)

    def bind(
        self,
        spec: FieldSpec,
        path: Path,
        *,
        noun: str,
    ) -> BoundField:
        """A bound field for ``spec`` on the item at ``path``, classed ``wb-<noun>-<attr>``."""
        *head, attr = spec.attr.split(".")
        current = getattr(resolve(self.ws.data, (*path, *head)), attr)
        widget, to_model, from_model = _make_widget(spec, self.ws.data, current)
        widget.add_class(spec.css(noun))
        field = BoundField(self, widget, path, spec.attr, to_model=to_model, from_model=from_model)
        field.spec = spec
        return field

    def button(
        self, description: str, *css: str, icon: str = "", on_click: Callable[[], Any]
    ) -> widgets.Button:
        """A button whose click handler runs guarded (errors shown in the form)."""
        b = widgets.Button(description=description, icon=icon)
        for c in css:
            b.add_class(c)
        b.on_click(self.guard(lambda _b: on_click()))
        return b

    # -- saving and errors

    def guard(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """Wrap a callback: whatever it raises is shown in the form, never only logged."""

        def run(*args: Any) -> None:
            try:
                fn(*args)
            except ConflictError as exc:
                self.show_conflict(exc)
            except WorkbookError as exc:
                self.show_error("\n".join(exc.lines()))
            except Exception as exc:
                # Not a user's mistake: a bug. Keep it visible in the form and in the list the
                # tests check, with its type so it can be reported.
                message = f"Unexpected error ({type(exc).__name__}): {exc}"
                self.callback_errors.append(message)
                self.show_error(
                    message + " - please report this; your last change may not be saved."
                )

        return run

    def show_error(self, message: str) -> None:
        self.error_label.value = (
            f'<pre style="color:#B00020;white-space:pre-wrap">{html.escape(message)}</pre>'
            if message
            else ""
        )

    def show_conflict(self, exc: ConflictError) -> None:
        self.conflict = exc.message
        self.conflict_label.value = (
            f'<span style="color:#8A4B00">{html.escape(exc.message)}. '
            "Reload to see the latest version, then redo your change.</span>"
        )
        self.conflict_box.layout.display = "flex"

    def save(self) -> bool:
        """Save the workspace now; a conflict is shown with a Reload button.

        Returns
        -------
        bool
            True when something was written.

        Raises
        ------
        WorkspaceValidationError
            When the workspace is invalid; the caller puts the old value back.
        """
        try:
            changed = self.ws.save()
        except ConflictError as exc:
            self.show_conflict(exc)
            return False
        self.revision = self.ws.data.revision
        self.status = f"Saved (revision {self.revision})" if changed else "No change to save"
        self.status_label.value = f'<span style="color:#2E7D32">{html.escape(self.status)}</span>'
        return bool(changed)

    def _save_clicked(self) -> None:
        from workbook.exceptions import WorkspaceValidationError

        try:
            self.save()
        except WorkspaceValidationError as exc:
            self.show_error("\n".join(exc.lines()))
            return
        self.show_error("")

    def reload(self) -> None:
        """Read the workspace from disk again and show it; unsaved edits are dropped."""
        self.ws.reload()
        self.conflict = ""
        self.conflict_box.layout.display = "none"
        self.conflict_label.value = ""
        self.revision = self.ws.data.revision
        for part in self._parts:
            if hasattr(part, "refresh"):
                part.refresh()
        self.status = f"Reloaded (revision {self.revision})"
        self.status_label.value = html.escape(self.status)

    # -- finding widgets (tests, and people reading the code)

    def walk(self) -> Iterator[widgets.Widget]:
        """Every widget in the form, depth first."""
        stack: list[widgets.Widget] = [self]
        while stack:
            w = stack.pop(0)
            yield w
            stack[0:0] = list(getattr(w, "children", ()))

    def find(self, css: str) -> list[widgets.Widget]:
        """The widgets carrying the CSS class ``css`` (the same selector a browser test uses)."""
        return [w for w in self.walk() if css in getattr(w, "_dom_classes", ())]

    def one(self, css: str) -> Any:
        """The single widget with class ``css``; raises ``LookupError`` if none or several."""
        found = self.find(css)
        if len(found) != 1:
            raise LookupError(f"{len(found)} widgets with class {css!r}")
        return found[0]


# ------------------------------------------------------------------------ list editor


class ListEditor(widgets.VBox):  # type: ignore[misc]
    """Edit a list of items with ids: pick one, add, remove, and edit its fields.

    Parameters
    ----------
    form
        The form it lives in.
    path
        Where the list is (``("personas",)``).
    noun
        What one item is called (``"persona"``); also the CSS prefix (``wb-persona-...``).
    fields
        The fields of the editor.
    new_item
        Make an item from ``(id, name typed)``.
    label
        The picker's text for an item.
    """

    selected = traitlets.Unicode(None, allow_none=True, help="Id of the item being edited.")

    def __init__(
        self,
        form: Form,
        *,
        path: Path,
        noun: str,
        fields: Sequence[FieldSpec],
        new_item: Callable[[str, str], BaseModel],
        label: Callable[[Any], str] = lambda item: str(item.name),
        extra: Callable[[ListEditor, str], Sequence[widgets.Widget]] | None = None,
    ) -> None:
        self.form = form
        self.path = tuple(path)
        self.noun = noun
        self.css = f"wb-{noun.replace(' ', '-')}"
        self.fields = list(fields)
        self.new_item = new_item
        self.label = label
        self.extra = extra
        self.bound: list[BoundField] = []
        self.picker = widgets.Dropdown(
            description=noun.capitalize(), style=_STYLE, layout=widgets.Layout(width="60%")
        )
        self.picker.add_class(f"{self.css}-select")
        self.new_name = widgets.Text(placeholder=f"name of a new {noun}", continuous_update=True)
        self.new_name.add_class(f"{self.css}-new")
        self.add_button = form.button(
            "Add", "wb-add", f"{self.css}-add", icon="plus", on_click=self.add_item
        )
        self.remove_button = form.button(
            "Remove", "wb-remove", f"{self.css}-remove", icon="trash", on_click=self.remove_selected
        )
        self.message = widgets.HTML()
        self.message.add_class(f"{self.css}-message")
        self.editor = widgets.VBox()
        self.editor.add_class(f"{self.css}-editor")
        super().__init__(
            [
                widgets.HBox([self.picker, self.remove_button]),
                widgets.HBox([self.new_name, self.add_button]),
                self.message,
                self.editor,
            ]
        )
        self._quiet = False
        self.picker.observe(form.guard(self._picked), "value")
        self._on_save = form.guard(lambda _c: self._refresh_options())
        form.observe(self._on_save, "revision")
        self.refresh()

    def detach(self) -> None:
        """Stop following the form's saves (the editor is being replaced)."""
        self.form.unobserve(self._on_save, "revision")
        for b in self.bound:
            b.widget.close()
        self.bound = []

    def _refresh_options(self) -> None:
        for field in self.bound:
            field.refresh_options()
        # Names shown in the picker may have changed with the save.
        items = self.items()
        if self.selected in {i.id for i in items}:
            self._set_picker(items, self.selected)

    def _set_picker(self, items: Sequence[Any], value: str | None) -> None:
        """Set the picker's options and value without rebuilding the editor."""
        labels = [(self.label(i), i.id) for i in items]
        self._quiet = True
        try:
            if list(self.picker.options) != labels:
                self.picker.options = labels
            self.picker.value = value
        finally:
            self._quiet = False

    def items(self) -> list[Any]:
        return list(resolve(self.form.ws.data, self.path))

    def refresh(self) -> None:
        """Rebuild the picker and the editor from the workspace."""
        items = self.items()
        keep = self.selected if any(i.id == self.selected for i in items) else None
        target = keep or (items[0].id if items else None)
        self._set_picker(items, target)
        self._show(target)

    def _picked(self, change: Any) -> None:
        if not self._quiet and change["new"] != self.selected:
            self._show(change["new"])

    def select(self, item_id: str) -> None:
        self.picker.value = item_id

    def _say(self, message: str, *, ok: bool = False) -> None:
        colour = "#2E7D32" if ok else "#B00020"
        self.message.value = (
            f'<span style="color:{colour}">{html.escape(message)}</span>' if message else ""
        )

    def _show(self, item_id: str | None) -> None:
        for b in self.bound:
            b.widget.close()
        self.bound = []
        self.selected = item_id
        if item_id is None:
            self.editor.children = [
                widgets.HTML(f"<i>No {html.escape(self.noun)} yet: type a name and press Add.</i>")
            ]
            return
        item_path = (*self.path, by_id(item_id))
        self.bound = [
            self.form.bind(spec, item_path, noun=self.noun.replace(" ", "-"))
            for spec in self.fields
        ]
        extra = list(self.extra(self, item_id)) if self.extra else []
        self.editor.children = [*self.bound, *extra]

    def add_item(self) -> None:
        """Add an item named by the text box, save, and select it."""
        from workbook.model import slugify

        name = self.new_name.value.strip()
        if not name:
            self._say(f"Type a name for the new {self.noun} first.")
            return
        items = resolve(self.form.ws.data, self.path)
        taken = {i.id for i in items}
        base = slugify(name, fallback=self.noun.replace(" ", "-"))
        item_id, n = base, 2
        while item_id in taken:
            item_id, n = f"{base}-{n}", n + 1
        try:
            item = self.new_item(item_id, name)
        except ValidationError as exc:
            self._say(f"Not added: the name {_validation_message(exc)}.")
            return
        items.append(item)
        try:
            saved = self.form.save()
        except WorkspaceValidationError as exc:
            items.remove(item)
            self._say("Not added: " + "; ".join(p.message for p in exc.errors))
            return
        if not saved and self.form.conflict:
            items.remove(item)
            return
        self.new_name.value = ""
        self._say(f"Added {self.noun} {name!r}.", ok=True)
        self._set_picker(items, item_id)
        self._show(item_id)

    def remove_selected(self) -> None:
        """Remove the picked item and save; refused while something still refers to it."""
        item_id = self.selected
        if item_id is None:
            return
        items = resolve(self.form.ws.data, self.path)
        index = next(i for i, it in enumerate(items) if it.id == item_id)
        item = items.pop(index)
        try:
            saved = self.form.save()
        except WorkspaceValidationError as exc:
            items.insert(index, item)
            where = sorted({p.field or "" for p in exc.errors})
            self._say(
                f"Not removed: {item_id!r} is still used ({', '.join(where)}). "
                "Change those first, then remove it."
            )
            return
        if not saved and self.form.conflict:
            items.insert(index, item)
            return
        self._say(f"Removed {self.noun} {item_id!r}.", ok=True)
        self.selected = None
        self.refresh()
