"""The one binding every workshop form uses: a widget bound to a field of the workspace.

A :class:`Form` owns one open workspace and shows, besides its fields: *Save*, *Undo* and
*Redo* with a status line that says whether the last change is on disk, a banner that asks
when the same field was changed here and in another view (both values, a button for each),
and an error line for anything a callback did not expect. Nothing a callback raises reaches
the Jupyter log, where nobody would see it (ipywidgets' default): :meth:`Form.guard` catches
it and shows it in the form, and tests assert :attr:`Form.callback_errors` stays empty.

One workspace, however many views: every form watches its workspace file (a light poll of
its modification time, a quarter of a second apart, from one background thread; the update
itself runs on the kernel's event loop). A change saved by another view, in this kernel or
another, is read and shown within a second, without a click. A save from a view that loaded
an older revision is merged with what is on disk, field by field, against the revision the
view loaded (:mod:`workbook.merge`); only a field changed on both sides asks. Each save of a
view can be undone and redone (the last 50), and each undo or redo is itself a save merged
the same way, so it takes back this view's change and nobody else's.

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

import asyncio
import datetime as dt
import functools
import html
import json
import os
import re
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import traitlets
from pydantic import BaseModel, ValidationError

from workbook import merge as _merge
from workbook.exceptions import ConflictError, WorkbookError, WorkspaceValidationError
from workbook.model import validate_workspace

if TYPE_CHECKING:
    from workbook.store import OpenWorkspace

__all__ = [
    "NO_CHOICE",
    "BoundField",
    "FieldSpec",
    "Form",
    "ListEditor",
    "by_id",
    "choice_options",
    "chosen",
    "path_text",
    "problems_text",
    "resolve",
    "sentence_case",
    "spoken",
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


#: What one item of each list is called, as the consultant says it.
_NOUNS = {
    "objectives": "objective",
    "segments": "segment",
    "icps": "ICP",
    "personas": "persona",
    "stages": "stage",
    "ignored_stage_names": "ignored stage name",
    "touchpoints": "touchpoint",
    "journeys": "map",
    "annotations": "note",
    "recommendations": "recommendation",
    "kpis": "KPI",
    "okrs": "OKR",
    "key_results": "key result",
    "todos": "to-do",
    "scoring_rules": "scoring rule",
    "experiments": "experiment",
    "variants": "variant",
    "processes": "process",
    "content": "content item",
    "log": "cycle log entry",
    "data_sources": "data source",
}
#: Field names said differently from their spelling; None: a container nobody names.
_WORDS: dict[str, str | None] = {
    "measurement": None,
    "demographics": None,
    "icp": "ICP",
    "kpi": "KPI",
    "crm_goal": "CRM goal",
    "primary_color": "primary colour",
    "accent_color": "accent colour",
    "value_proposition": "value proposition",
}
_TOKEN = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")

#: Abbreviations said letter by letter, written in capitals wherever a label is made from a
#: name in code ("kpi" -> "KPI", "utm_source" -> "UTM source").
ACRONYMS = frozenset(
    {"api", "cac", "crm", "csv", "cta", "icp", "kpi", "nps", "okr", "roi", "seo", "sms", "url"}
    | {"utm", "ux", "faq", "b2b", "b2c", "ltv", "clv", "mql", "sql", "id"}
)
_WORD = re.compile(r"[A-Za-z0-9]+")


def spoken(text: str) -> str:
    """``text`` (a noun or a field name from code) as a label says it: underscores as spaces,
    abbreviations in capitals (``"kpi"`` -> ``"KPI"``, ``"okr"`` -> ``"OKR"``,
    ``"crm_goal"`` -> ``"CRM goal"``); every other word is left as it is."""
    return _WORD.sub(
        lambda m: m.group(0).upper() if m.group(0).lower() in ACRONYMS else m.group(0),
        text.replace("_", " "),
    )


def sentence_case(text: str) -> str:
    """``text`` with its first letter in capitals and its abbreviations too ("kpi" -> "KPI",
    "okr list" -> "OKR list", "segment" -> "Segment")."""
    said = spoken(text)
    return said[:1].upper() + said[1:]


def _parse_path(text: str) -> Path:
    """``journeys[0].stages.awareness`` or ``personas[priya].name`` as a path."""
    parts: list[PathPart] = []
    for name, inside in _TOKEN.findall(text):
        if name:
            parts.append(name)
        elif inside.lstrip("-").isdigit():
            parts.append(int(inside))
        elif parts and parts[-1] == "journeys":
            persona, _, icp = inside.partition("@")
            parts.append({"persona": persona, "icp": icp or None})
        else:
            parts.append({"id": inside})
    return tuple(parts)


def _get(node: Any, part: PathPart) -> Any:
    """One step down from ``node`` (a model, list or dict), or None when it is not there."""
    if node is None:
        return None
    try:
        if isinstance(part, Mapping):
            return next((i for i in node if all(_attr(i, k) == v for k, v in part.items())), None)
        if isinstance(part, int):
            return node[part] if -len(node) <= part < len(node) else None
        if isinstance(node, dict):
            return node.get(part)
        return getattr(node, part, None)
    except TypeError:
        return None


def _attr(item: Any, name: str) -> Any:
    if isinstance(item, dict):
        return item.get(name)
    return getattr(item, name, None) if isinstance(item, BaseModel) else None


def _short_name(text: str) -> str:
    """A persona's name up to its first comma: "Amara, the time-poor Londoner" -> "Amara"."""
    return text.split(",")[0].strip() or text


def _item_words(noun: str, item: Any, part: PathPart, data: Any) -> str:
    if noun == "map":
        pid = _attr(item, "persona") if item is not None else None
        if pid is None and isinstance(part, Mapping):
            pid = part.get("persona")
        person = _get(_get(data, "personas"), {"id": pid}) if pid else None
        who = _short_name(str(_attr(person, "name"))) if person is not None else str(pid or "?")
        icp = _attr(item, "icp") if item is not None else None
        if icp is None and isinstance(part, Mapping):
            icp = part.get("icp")
        return f"{who}'s map" + (f" for ICP {icp}" if icp else "")
    if item is None:
        name = next(iter(part.values()), "?") if isinstance(part, Mapping) else f"#{part}"
    else:
        name = next(
            (
                str(v)
                for v in (_attr(item, k) for k in ("name", "title", "text", "note", "id"))
                if v
            ),
            "?",
        )
    if noun == "persona":
        name = _short_name(name)
    if len(name) > 40:
        name = name[:39] + "\u2026"
    return f"{name} stage" if noun == "stage" else f"{noun} {name}"


def path_text(
    path: Path | str, attr: str | None = None, *, data: Any = None, label: str | None = None
) -> str:
    """Where a field is, in the consultant's words, never as an internal path.

    ``("journeys", {"persona": "amara"}, "stages", "awareness", "touchpoints")`` with the
    workspace as ``data`` reads "Amara's map, Awareness stage, touchpoints". Without ``data``
    items are named by their ids ("persona priya, name"). ``path`` may also be a dotted path
    as validation problems and the store's diff write them (``journeys[0].stages.awareness``);
    ``label`` replaces the last field's name (the label shown next to it in the form).
    """
    parts: list[PathPart] = list(_parse_path(path) if isinstance(path, str) else path)
    if attr:
        parts.extend(attr.split("."))
    words: list[str] = []
    node = data
    noun: str | None = None
    in_cells = False
    last = len(parts) - 1
    for n, part in enumerate(parts):
        if isinstance(part, Mapping | int) and not isinstance(part, bool):
            item = _get(node, part)
            if isinstance(part, int) and noun is None:
                node = item
                continue  # a position in a list of values (a stage id of a touchpoint)
            words.append(_item_words(noun or "item", item, part, data))
            node, noun = item, None
            continue
        key = str(part)
        if in_cells:  # a journey's cells are keyed by stage id
            stage = _get(_get(data, "stages"), {"id": key})
            words.append(f"{_attr(stage, 'name') if stage is not None else key} stage")
            node, in_cells = _get(node, key), False
            continue
        follows = parts[n + 1] if n < last else None
        child = _get(node, key)
        holds_items = isinstance(follows, Mapping) or (
            isinstance(follows, int)
            and (child is None or any(isinstance(i, dict | BaseModel) for i in child))
        )
        if holds_items and key in _NOUNS:
            noun = _NOUNS[key]
        elif key == "stages" and noun is None and _attr(node, "persona") is not None:
            in_cells = True
        elif n == last and label:
            words.append(label)
        elif (word := _WORDS.get(key, spoken(key))) is not None:
            words.append(word)
        node = child
    return ", ".join(words) if words else "the workspace"


def problems_text(exc: WorkbookError, data: Any = None) -> str:
    """A validation error's problems, each named in words ("Amara's map, persona: ...")."""
    lines = []
    for p in exc.errors or exc.problems:
        where = path_text(p.field, data=data) if p.field else ""
        lines.append(f"{where}: {p.message}" if where else p.message)
    return "; ".join(lines) or exc.message


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


#: The value a dropdown's empty option ("(none)", "Detect", "(any stage)") carries in the
#: widget. ipywidgets takes a ``None`` value for "nothing selected": a ``None`` option is shown
#: blank once the value is set to ``None`` (and, depending on the order ipywidgets sets its
#: traits, which follows Python's hash seed, even when the dropdown is made), so the forms
#: offer this string instead and read it back as ``None`` (:func:`chosen`).
NO_CHOICE = "__none__"


def choice_options(options: Any) -> list[tuple[str, Any]]:
    """Dropdown options with each ``None`` value replaced by :data:`NO_CHOICE`."""
    return [(label, NO_CHOICE if value is None else value) for label, value in options]


def chosen(value: Any) -> Any:
    """A dropdown's value as the model takes it: :data:`NO_CHOICE` is ``None``."""
    return None if value == NO_CHOICE else value


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
    return choice_options(opts)


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

        def to_widget(v: Any) -> Any:
            offered = any(o == NO_CHOICE for _, o in w.options)
            return NO_CHOICE if v is None and offered else v

        return w, chosen, to_widget
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
        self.closed = False
        #: The spec it was built from, when built by :meth:`Form.bind`.
        self.spec: FieldSpec | None = None
        super().__init__([widget, self.error_label])
        self.add_class("wb-field")
        form._fields.append(self)
        self.refresh()
        widget.observe(form.guard(self._on_change), "value")

    def refresh_options(self) -> None:
        """Recompute the choices of a dropdown whose options come from the workspace.

        A stage or an ICP added elsewhere in the form appears without rebuilding the editor.
        """
        spec = self.spec
        if spec is None or not callable(spec.options):
            return
        try:
            current = getattr(resolve(self.form.ws.data, self.owner_path), self.attr)
        except KeyError:
            return
        self._updating = True
        try:
            options = _options(spec, self.form.ws.data, current)
            if list(self.widget.options) != options:
                self.widget.options = options
            self.widget.value = self.from_model(current)
        finally:
            self._updating = False

    @property
    def field_path(self) -> str:
        """Where the field is, in words ("persona Priya, Name")."""
        return path_text(
            self.owner_path,
            self.attr,
            data=self.form.ws.data,
            label=self.spec.label if self.spec else None,
        )

    def show_error(self, message: str) -> None:
        self.error_text = message
        self.error_label.value = (
            f'<span style="color:#B00020">{html.escape(message)}</span>' if message else ""
        )
        self.form._compose_status()

    def refresh(self) -> None:
        """Show the model's current value (after a reload or another view's save).

        Nothing is saved. While the form follows another view's save, a field showing a
        refused value keeps it (and its message): what the person typed is not thrown away.
        """
        if self.closed or (self.form._following and self.error_text):
            return
        try:
            owner = resolve(self.form.ws.data, self.owner_path)
        except KeyError:
            # Not a refused value (nothing waits to be saved): a note, not an error.
            self.widget.disabled = True
            self.error_label.value = (
                f'<span style="color:{_ORANGE}">This item was removed in another view.</span>'
            )
            return
        self.widget.disabled = False
        value = self.from_model(getattr(owner, self.attr))
        self._updating = True
        try:
            if self.spec is not None and callable(self.spec.options):
                options = _options(self.spec, self.form.ws.data, getattr(owner, self.attr))
                if list(self.widget.options) != options:
                    self.widget.options = options
            if self.widget.value != value:
                self.widget.value = value
        finally:
            self._updating = False
        if self.error_text:
            self.show_error("")
        elif self.error_label.value:
            self.error_label.value = ""

    def close(self) -> None:
        self.closed = True
        self.error_text = ""
        self.widget.close()
        super().close()

    def _show_typed(self, value: Any) -> None:
        """Put back what the person typed (a refresh during a refused save replaced it)."""
        if self.widget.value == value:
            return
        self._updating = True
        try:
            self.widget.value = value
        except traitlets.TraitError:
            pass  # not among the choices any more: the field shows the saved value
        finally:
            self._updating = False

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
            self._show_typed(change["new"])
            self.form._problem = ""  # the message under the field says it; no stale copy
            self.show_error("; ".join(p.message for p in exc.errors) or exc.message)
            return
        self.show_error("")


# --------------------------------------------------------------------------- watching


def _stat(file: os.PathLike[str] | str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(file)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


_REVISION_LINE = re.compile(rb"^revision:[ \t]*(\d+)[ \t]*\r?$", re.MULTILINE)


def _revision_on_disk(file: os.PathLike[str] | str) -> int | None:
    """The top-level ``revision:`` of the file (None when unreadable or absent)."""
    try:
        with open(file, "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    found = _REVISION_LINE.search(raw)
    return int(found.group(1)) if found else None


class _Watcher:
    """One background thread that polls the files of every open form.

    It only looks at each file's modification time, size and inode (a few microseconds); when
    they change it hands the form's :meth:`Form.follow` to the event loop the form was made
    on (the kernel's), or calls it under the form's lock when there is none (plain Python,
    tests). The thread ends by itself when no form is left to watch.
    """

    def __init__(self) -> None:
        self._interval = 0.25
        self._wake = threading.Event()
        self._forms: weakref.WeakSet[Form] = weakref.WeakSet()
        self._seen: weakref.WeakKeyDictionary[Form, tuple[int, int, int] | None] = (
            weakref.WeakKeyDictionary()
        )
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def interval(self) -> float:
        """Seconds between two looks at the files."""
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        self._interval = seconds
        self._wake.set()  # a long wait already begun ends now

    def add(self, form: Form) -> None:
        with self._guard:
            self._forms.add(form)
            self._seen[form] = _stat(form.ws.file)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="workbook-form-watcher", daemon=True
                )
                self._thread.start()

    def remove(self, form: Form) -> None:
        with self._guard:
            self._forms.discard(form)

    def watching(self, form: Form) -> bool:
        return form in self._forms

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            with self._guard:
                forms = list(self._forms)
                if not forms:
                    self._thread = None
                    return
            for form in forms:
                now = _stat(form.ws.file)
                if now is None and not os.path.isdir(form.ws.path):
                    self.remove(form)  # the workspace is gone (a deleted temporary folder)
                    continue
                if now != self._seen.get(form):
                    self._seen[form] = now
                    try:
                        form._changed_on_disk()
                    except Exception:  # its kernel's loop is gone: stop watching for it
                        self.remove(form)
            del forms


_WATCHER = _Watcher()


@dataclass
class _Loaded:
    revision: int
    doc: Any


#: The data each open workspace was loaded with or last saved as (the base of a merge), kept
#: beside the workspace object so that several forms on one workspace share it.
_LOADED: weakref.WeakKeyDictionary[Any, _Loaded] = weakref.WeakKeyDictionary()


def _dump(data: Any) -> Any:
    return data.model_dump(mode="json")


def _remember(ws: OpenWorkspace, doc: Any) -> None:
    _LOADED[ws] = _Loaded(ws.revision, doc)


def _loaded(ws: OpenWorkspace) -> Any:
    """The data ``ws`` was loaded with or last saved as."""
    known = _LOADED.get(ws)
    if known is not None and known.revision == ws.revision:
        return known.doc
    # Loaded or saved outside a form: the store's own record of it, else the data as it is.
    clean = getattr(ws, "_clean_json", "")
    doc = json.loads(clean) if isinstance(clean, str) and clean else _dump(ws.data)
    _remember(ws, doc)
    return doc


#: Fields that hold ids of other things (by the collection the ids come from).
_REFERENCES = {
    "stage": "stages",
    "stages": "stages",
    "touchpoint": "touchpoints",
    "touchpoints": "touchpoints",
    "persona": "personas",
    "personas": "personas",
    "segments": "segments",
    "icp": "icps",
    "objective": "objectives",
}


def _names_of(data: Any, collection: str) -> dict[str, str]:
    items = getattr(data, collection, None) or []
    return {i.id: str(getattr(i, "name", None) or getattr(i, "title", None) or i.id) for i in items}


def _value_text(value: Any, data: Any, conflict: _merge.Conflict) -> str:
    """A value as the person reads it in a conflict: names, not ids or JSON."""
    if value is _merge.MISSING:
        return "(removed)"
    if conflict.order:
        names = _names_of(data, str(conflict.path[-1])) if conflict.path else {}
        return " \u2192 ".join(
            names.get(str(k.get("id")), str(k.get("id") or k.get("persona"))) for k in value
        )
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, dict):
        for key in ("name", "title", "text", "note"):
            if value.get(key):
                return f"{value[key]} (with its fields)"
        return "the whole item"
    field = conflict.path[-1] if conflict.path else None
    names = (
        _names_of(data, _REFERENCES[field])
        if isinstance(field, str) and field in _REFERENCES
        else {}
    )
    if isinstance(value, list):
        return ", ".join(names.get(str(v), str(v)) for v in value)
    if isinstance(value, str) and value in names:
        return names[value]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ------------------------------------------------------------------------------ form


_GREEN, _ORANGE, _RED = "#2E7D32", "#8A4B00", "#B00020"


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class Form(widgets.VBox):  # type: ignore[misc]
    """A step's form: one open workspace, autosave, merge, undo, errors shown in the form.

    Parameters
    ----------
    ws
        The open workspace (:func:`workbook.store.open_workspace`).
    title
        A heading shown above the fields.
    css
        A class for the whole form (``wb-form-personas``).
    watch
        Follow saves made by other views of the same workspace (default). Stops when the
        form is closed.
    """

    revision = traitlets.Int(0, help="The workspace revision the form shows.")
    status = traitlets.Unicode("", help="Whether the last change is on disk, in words.")
    conflict = traitlets.Unicode("", help="What waits for a choice (empty when nothing).")

    #: How many saves of this view can be undone.
    undo_depth = 50

    def __init__(self, ws: OpenWorkspace, *, title: str, css: str, watch: bool = True) -> None:
        self.ws = ws
        self.callback_errors: list[str] = []
        self._parts: list[Any] = []
        self._fields: list[BoundField] = []
        self._lock = threading.RLock()
        self._following = False
        self._closed = False
        self._ok = ""  # the last thing that went right, for the status line
        self._problem = ""  # why the last change is not on disk ("" when it is)
        self._undo: deque[list[_merge.Change]] = deque(maxlen=self.undo_depth)
        self._redo: deque[list[_merge.Change]] = deque(maxlen=self.undo_depth)
        #: Fields changed here and in another view, waiting for the person's choice.
        self.conflicts: list[_merge.Conflict] = []
        self._names: dict[str, str] = {}  # where each conflict is, in words
        self._unreadable = False  # the file on disk could not be read when last followed
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
        self.conflict_rows = widgets.VBox()
        self.conflict_box = widgets.VBox(
            [self.conflict_label, self.conflict_rows, self.reload_button],
            layout=widgets.Layout(display="none"),
        )
        self.conflict_box.add_class("wb-conflict")
        self.body = widgets.VBox()
        # Fields save by themselves when they lose focus; the button is for people who want
        # to be sure (clicking it also takes the focus, so the field being typed in saves).
        self.save_button = widgets.Button(description="Save", icon="save")
        self.save_button.add_class("wb-save")
        self.save_button.on_click(self.guard(lambda _b: self._save_clicked()))
        self.undo_button = widgets.Button(description="Undo", icon="undo", disabled=True)
        self.undo_button.add_class("wb-undo")
        self.undo_button.on_click(self.guard(lambda _b: self.undo()))
        self.redo_button = widgets.Button(description="Redo", icon="repeat", disabled=True)
        self.redo_button.add_class("wb-redo")
        self.redo_button.on_click(self.guard(lambda _b: self.redo()))
        super().__init__(
            [
                self.heading,
                self.conflict_box,
                self.body,
                widgets.HBox(
                    [self.save_button, self.undo_button, self.redo_button, self.status_label]
                ),
                self.error_label,
            ]
        )
        self.add_class("wb-form")
        self.add_class(css)
        self.revision = ws.revision
        _loaded(ws)
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        if watch:
            _WATCHER.add(self)

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

    # -- errors and the status line

    def guard(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """Wrap a callback: whatever it raises is shown in the form, never only logged.

        Callbacks of one form run one at a time (the watcher thread may call in).
        """

        def run(*args: Any) -> None:
            with self._lock:
                try:
                    fn(*args)
                except ConflictError as exc:
                    self.show_conflict(exc)
                except WorkbookError as exc:
                    self._problem = problems_text(exc, self.ws.data)
                    self.show_error("\n".join(exc.lines()))
                except Exception as exc:
                    # Not a user's mistake: a bug. Keep it visible in the form and in the list
                    # the tests check, with its type so it can be reported.
                    message = f"Unexpected error ({type(exc).__name__}): {exc}"
                    self.callback_errors.append(message)
                    self._problem = "an unexpected error (see below)"
                    self.show_error(
                        message + " - please report this; your last change may not be saved."
                    )

        return run

    def show_error(self, message: str) -> None:
        self.error_label.value = (
            f'<pre style="color:{_RED};white-space:pre-wrap">{html.escape(message)}</pre>'
            if message
            else ""
        )
        self._compose_status()

    def show_conflict(self, exc: ConflictError) -> None:
        """A save that could not be made (another process held the file too long)."""
        self._problem = exc.message
        self.conflict_label.value = (
            f'<span style="color:{_ORANGE}">Not saved: {html.escape(exc.message)}. '
            f"{html.escape(exc.hint or 'Save again in a moment.')}</span>"
        )
        self.conflict_box.layout.display = "flex"
        self._draw_conflicts()

    def _fields_with_errors(self) -> list[BoundField]:
        self._fields = [f for f in self._fields if not f.closed]
        return [f for f in self._fields if f.error_text]

    def _compose_status(self) -> None:
        """Say whether the last change is on disk: never "Saved" while it is not."""
        if not hasattr(self, "status_label"):
            return
        n = len(self.conflicts)
        refused = self._fields_with_errors()
        if n:
            text = (
                f"Not saved yet: {n} change{'s' if n > 1 else ''} made here and in another "
                "view - choose at the top of the form which to keep"
            )
            colour = _ORANGE
        elif refused:
            names = "; ".join(f.field_path for f in refused[:3])
            text = f"Not saved: {names} (see the message under it)"
            colour = _RED
        elif self._problem:
            text, colour = f"Not saved: {self._problem}", _RED
        else:
            text, colour = self._ok, _GREEN
        self.status = text
        self.status_label.value = (
            f'<span style="color:{colour}">{html.escape(text)}</span>' if text else ""
        )

    def _said(self, text: str) -> None:
        """The last change is on disk: say so, and forget errors it resolved."""
        self._ok = text
        self._problem = ""
        if self.error_label.value:
            self.error_label.value = ""
        if not self.conflicts:
            self.conflict_box.layout.display = "none"
            self.conflict_label.value = ""
        self._compose_status()
        self.undo_button.disabled = not self._undo
        self.redo_button.disabled = not self._redo

    # -- saving and merging

    def save(self, *, record: bool = True) -> bool:
        """Save the workspace now; if another view saved first, merge with it.

        The changes made here since the workspace was loaded (or last saved) are replayed
        onto what is on disk (:func:`workbook.merge.merge`); a field that both changed waits
        in :attr:`conflicts` with both values, and the rest is saved.

        Returns
        -------
        bool
            True when something was written.

        Raises
        ------
        WorkspaceValidationError
            When the workspace is invalid; the caller puts the old value back.
        """
        with self._lock:
            before = _loaded(self.ws)
            ours = _dump(self.ws.data)
            changes = _merge.diff(before, ours)
            merged = False
            try:
                try:
                    written = self.ws.save()
                except ConflictError:
                    written, merged = self._save_merged(before, ours), True
            except WorkspaceValidationError as exc:
                self._problem = problems_text(exc, self.ws.data)
                self._compose_status()
                raise
            except ConflictError as exc:
                self.show_conflict(exc)
                return False
            _remember(self.ws, _dump(self.ws.data) if merged else ours)
            if record and changes:
                self._undo.append(changes)
                self._redo.clear()
            self.revision = self.ws.revision
            if merged:
                text = f"Saved with the changes of another view (revision {self.revision})"
            elif written:
                text = f"Saved (revision {self.revision})"
            else:
                text = "No change to save"
            self._said(text)
            return bool(written)

    def _save_merged(self, before: Any, ours: Any) -> bool:
        """Merge this view's changes into the file's latest revision and save, under the lock."""
        with self.ws.locked():
            self.ws.reload()
            theirs = _dump(self.ws.data)
            result = _merge.merge(before, ours, theirs)
            try:
                data = validate_workspace(result.doc, file=str(self.ws.file))
            except WorkspaceValidationError:
                _remember(self.ws, theirs)
                self._refresh_parts()
                raise
            self.ws.data = data
            written = self.ws.save()
        self._add_conflicts(result.conflicts, named_in=before)
        self._refresh_parts()
        return bool(written)

    def _save_clicked(self) -> None:
        try:
            self.save()
        except WorkspaceValidationError as exc:
            self.show_error(problems_text(exc, self.ws.data))

    def reload(self) -> None:
        """Read the workspace from disk again and show it; unsaved edits are dropped."""
        with self._lock:
            self.ws.reload()
            _remember(self.ws, _dump(self.ws.data))
            self.conflicts = []
            self._draw_conflicts()
            self.revision = self.ws.revision
            self._refresh_parts()
            self._said(f"Reloaded (revision {self.revision})")

    def _refresh_parts(self) -> None:
        for part in self._parts:
            if hasattr(part, "refresh"):
                part.refresh()

    # -- following other views

    @property
    def watching(self) -> bool:
        """True while the form follows saves made elsewhere."""
        return _WATCHER.watching(self)

    def close(self) -> None:
        """Stop following the file, then close the widgets."""
        self._closed = True
        _WATCHER.remove(self)
        super().close()

    def _changed_on_disk(self) -> None:
        """Called by the watcher's thread: follow the file on the form's own event loop."""
        loop = self._loop
        if loop is not None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self.guard(self.follow))
        else:
            self.guard(self.follow)()

    def follow(self) -> bool:
        """Show what another view saved; returns True when the form changed.

        Nothing is lost: if this copy holds changes not yet saved, it waits (the next save
        merges them). Values refused under a field stay as typed.
        """
        with self._lock:
            if self._closed:
                return False
            on_disk = _revision_on_disk(self.ws.file)
            if on_disk is not None and on_disk != self.ws.revision:
                if self.ws.dirty:
                    # Changes made in this copy outside the form: the next save merges them.
                    self._problem = (
                        f"this view holds changes not saved yet, and another view saved "
                        f"revision {on_disk}; press Save to merge them"
                    )
                    self._compose_status()
                    return False
                try:
                    self.ws.reload()
                except WorkbookError as exc:
                    # Someone saved a file that does not read (a hand edit): say so, keep
                    # showing the last good version, and look again at the next change.
                    self._unreadable = True
                    self._problem = "the file on disk cannot be read: " + problems_text(
                        exc, self.ws.data
                    )
                    self.show_error("\n".join(exc.lines()))
                    return False
                _remember(self.ws, _dump(self.ws.data))
            if self._unreadable:
                self._unreadable = False
                self._problem = ""
                self.error_label.value = ""
            if self.ws.revision == self.revision:
                return False
            self._following = True
            try:
                self._refresh_parts()
            finally:
                self._following = False
            self.revision = self.ws.revision
            self._recheck_conflicts()
            self._ok = f"Up to date with another view's save (revision {self.revision})"
            self._compose_status()
            return True

    # -- conflicts

    def _add_conflicts(self, found: Sequence[_merge.Conflict], *, named_in: Any = None) -> None:
        """Add conflicts to settle; each named as the view showed it (``named_in``), so a
        name changed in both views is called by the name the person saw before typing."""
        for c in found:
            self.conflicts = [o for o in self.conflicts if o.path != c.path] + [c]
            if named_in is not None:
                self._names[repr(c.path)] = path_text(c.path, data=named_in)
        self._draw_conflicts()

    def _recheck_conflicts(self) -> None:
        """After another save: drop what now holds our value, show their latest value."""
        doc = _loaded(self.ws)
        kept = []
        for c in self.conflicts:
            now = _merge.get(doc, c.path)
            if c.order or not _merge.same(now, c.ours):
                kept.append(c if c.order else replace(c, theirs=now))
        self.conflicts = kept
        self._draw_conflicts()

    def _draw_conflicts(self) -> None:
        rows = []
        data = self.ws.data
        for c in self.conflicts:
            where = self._where(c)
            theirs = _value_text(c.theirs, data, c)
            ours = _value_text(c.ours, data, c)
            text = widgets.HTML(
                f'<span style="color:{_ORANGE}"><b>{html.escape(where)}</b> was changed in '
                f"another view to <b class='wb-theirs'>{html.escape(theirs)}</b>; here it "
                f"was changed to <b class='wb-ours'>{html.escape(ours)}</b>.</span>"
            )
            keep = self.button(
                _shorten(f"Keep {theirs}"),
                "wb-keep-theirs",
                on_click=functools.partial(self.keep_theirs, c),
            )
            mine = self.button(
                _shorten(f"Use {ours}"),
                "wb-use-mine",
                on_click=functools.partial(self.use_mine, c),
            )
            keep.tooltip = f"Keep {theirs}"
            mine.tooltip = f"Use {ours}"
            keep.layout = widgets.Layout(width="auto", max_width="48%")
            mine.layout = widgets.Layout(width="auto", max_width="48%")
            row = widgets.VBox([text, widgets.HBox([keep, mine])])
            row.add_class("wb-conflict-choice")
            rows.append(row)
        self.conflict_rows.children = rows
        self.conflict = "; ".join(
            f"{self._where(c)}: {_value_text(c.theirs, data, c)} or {_value_text(c.ours, data, c)}"
            for c in self.conflicts
        )
        # Reload drops what this view holds: offered only when a save failed outright (the
        # file busy), never next to a choice it would throw away.
        self.reload_button.layout.display = "none" if rows else ""
        if rows:
            self.conflict_box.layout.display = "flex"
        elif not self._problem:
            self.conflict_box.layout.display = "none"
            self.conflict_label.value = ""
        self._compose_status()

    def _where(self, conflict: _merge.Conflict) -> str:
        """Where a conflict is, in words; an item removed here is named from our copy."""
        if repr(conflict.path) in self._names:
            return self._names[repr(conflict.path)]
        if conflict.theirs is _merge.MISSING and isinstance(conflict.ours, dict):
            doc = _dump(self.ws.data)
            try:
                _merge.put(doc, conflict.path, conflict.ours)
            except KeyError:
                return path_text(conflict.path, data=self.ws.data)
            return path_text(conflict.path, data=doc)
        return path_text(conflict.path, data=self.ws.data)

    def keep_theirs(self, conflict: _merge.Conflict) -> None:
        """Settle a conflict with the other view's value (already on disk)."""
        self.conflicts = [c for c in self.conflicts if c is not conflict]
        self._draw_conflicts()
        self._said(self._ok or f"Saved (revision {self.revision})")

    def use_mine(self, conflict: _merge.Conflict) -> None:
        """Settle a conflict with this view's value, and save it."""
        doc = _dump(self.ws.data)
        _merge.choose(doc, conflict, conflict.ours)
        self.ws.data = validate_workspace(doc, file=str(self.ws.file))
        self.conflicts = [c for c in self.conflicts if c is not conflict]
        self._draw_conflicts()
        self._refresh_parts()
        self.save()

    # -- undo and redo

    def undo(self) -> None:
        """Take back this view's last save (a new save; later changes of others are kept)."""
        with self._lock:
            if self._undo:
                changes = self._undo.pop()
                if self._replay(_merge.invert(changes), "Undone"):
                    self._redo.append(changes)
                else:
                    self._undo.append(changes)
                self._after_replay()

    def redo(self) -> None:
        """Make again the last change undone here (a new save)."""
        with self._lock:
            if self._redo:
                changes = self._redo.pop()
                if self._replay(changes, "Redone"):
                    self._undo.append(changes)
                else:
                    self._redo.append(changes)
                self._after_replay()

    def _after_replay(self) -> None:
        if self._problem:
            self._compose_status()
        else:
            self._said(self._ok)

    def _replay(self, changes: Sequence[_merge.Change], verb: str) -> bool:
        result = _merge.apply(_dump(self.ws.data), changes, copy=False)
        what = path_text(changes[0].path, data=result.doc) if changes else "nothing"
        try:
            data = validate_workspace(result.doc, file=str(self.ws.file))
        except WorkspaceValidationError as exc:
            self._problem = f"cannot {verb[:-1].lower()} {what}: {problems_text(exc, self.ws.data)}"
            return False
        previous = self.ws.data
        self.ws.data = data
        try:
            self.save(record=False)
        except WorkspaceValidationError as exc:
            self.ws.data = previous
            self._problem = f"cannot {verb[:-1].lower()} {what}: {problems_text(exc, previous)}"
            return False
        self._add_conflicts(result.conflicts)
        self._refresh_parts()
        self._ok = f"{verb}: {what} (revision {self.revision})"
        return True

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
        Make an item from ``(id, name typed)``; it may refuse with a ``ValueError`` whose
        message says what to do first (shown as "Not added: ...").
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
        self.noun = spoken(noun)  # "kpi" is said "KPI", and stays classed wb-kpi
        self.css = f"wb-{noun.lower().replace(' ', '-')}"
        self.fields = list(fields)
        self.new_item = new_item
        self.label = label
        self.extra = extra
        self.bound: list[BoundField] = []
        self.picker = widgets.Dropdown(
            description=sentence_case(noun),
            style=_STYLE,
            layout=widgets.Layout(width="60%"),
        )
        self.picker.add_class(f"{self.css}-select")
        self.new_name = widgets.Text(
            placeholder=f"name of a new {self.noun}", continuous_update=True
        )
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
            b.close()
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
        """Show the workspace's items again, keeping the picked one when it is still there.

        The fields of the picked item are updated in place, not rebuilt, so a field being
        typed in another part of the page keeps its focus and its text.
        """
        items = self.items()
        keep = self.selected if any(i.id == self.selected for i in items) else None
        target = keep or (items[0].id if items else None)
        self._set_picker(items, target)
        if target is not None and target == self.selected and self.bound:
            for b in self.bound:
                b.refresh()
            for part in self.editor.children:
                if part not in self.bound and hasattr(part, "refresh"):
                    part.refresh()
            return
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
            b.close()
        self.bound = []
        self.selected = item_id
        if item_id is None:
            self.editor.children = [
                widgets.HTML(f"<i>No {html.escape(self.noun)} yet: type a name and press Add.</i>")
            ]
            return
        item_path = (*self.path, by_id(item_id))
        self.bound = [
            self.form.bind(spec, item_path, noun=self.noun.lower().replace(" ", "-"))
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
        base = slugify(name, fallback=self.noun.lower().replace(" ", "-"))
        item_id, n = base, 2
        while item_id in taken:
            item_id, n = f"{base}-{n}", n + 1
        try:
            item = self.new_item(item_id, name)
        except ValidationError as exc:
            self._say(f"Not added: the name {_validation_message(exc)}.")
            return
        except ValueError as exc:  # new_item refuses: its message says what to do first
            self._say(f"Not added: {exc}.")
            return
        items.append(item)
        try:
            saved = self.form.save()
        except WorkspaceValidationError as exc:
            items.remove(item)
            self._say("Not added: " + "; ".join(p.message for p in exc.errors))
            return
        if not saved and self.form._problem:
            items.remove(item)
            return
        self.new_name.value = ""
        self._say(f"Added {self.noun} {name!r}.", ok=True)
        self._set_picker(self.items(), item_id)
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
            data = self.form.ws.data
            where = sorted({path_text(p.field, data=data) for p in exc.errors if p.field})
            self._say(
                f"Not removed: {self.noun} {self.label(item)} is still used by "
                f"{'; '.join(where) or 'another part of the workspace'}. "
                "Change those first, then remove it."
            )
            return
        if not saved and self.form._problem:
            items.insert(index, item)
            return
        self._say(f"Removed {self.noun} {self.label(item)}.", ok=True)
        self.selected = None
        self.refresh()
