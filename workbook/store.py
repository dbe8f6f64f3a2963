"""A client workspace on disk: load, validate, save, snapshot and compare.

A workspace is a folder::

    acme-fitness/
        workspace.yaml      the document (human-readable, stable key order, safe to hand-edit)
        data/               imported CRM data (see :mod:`workbook.crm.schema`)
        history/            snapshots: NNNN-<note>.yaml copies plus index.yaml
        reports/            rendered output
        .gitignore          keeps the salt, lock and temporary files and reports out of git

Saving is safe against the two things that go wrong in a workshop:

* a process killed mid-save: the new text goes to a temporary file in the same folder, which is
  flushed, fsynced and renamed over ``workspace.yaml`` (then the folder is fsynced), so the file
  on disk is always the old version or the new one, never a mix;
* two writers (two kernels, a kernel and the CLI): every save holds a file lock and checks that
  the file on disk is still the one this copy was loaded from (same revision, same bytes). A save
  from a stale copy raises :class:`~workbook.exceptions.ConflictError` instead of overwriting
  someone else's change.

Loading reports every problem at once, each with its field path and its line in the YAML.
Whatever a file holds, reading it is bounded: at most :data:`MAX_FILE_BYTES` (4 MB), no
YAML anchors or aliases, nesting at most :data:`MAX_DEPTH` deep, at most :data:`MAX_VALUES`
values; the largest valid file validates in about a second and a half.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import json
import os
import re
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from workbook import model
from workbook.exceptions import (
    RERUN_HINT,
    ConflictError,
    Problem,
    SchemaVersionError,
    WorkbookError,
    WorkspaceExistsError,
    WorkspaceNotFoundError,
    WorkspaceValidationError,
)
from workbook.files import fsync_dir, write_atomic

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FILENAME",
    "HEADER",
    "MIGRATIONS",
    "Change",
    "Diff",
    "EmotionMove",
    "OpenWorkspace",
    "Snapshot",
    "diff_workspaces",
    "dumps",
    "leading_comments",
    "loads",
    "new_workspace",
    "open_workspace",
    "preset_dirs",
    "presets",
    "read_workspace",
    "register_migration",
]

FILENAME = "workspace.yaml"
LOCKNAME = ".workspace.yaml.lock"
HISTORY_INDEX = "index.yaml"
LOCK_TIMEOUT = 10.0
HEADER = (
    "# Journey Workbook workspace \u2014 safe to edit by hand; "
    'run "workbook validate <folder>" after editing.\n'
)
GITIGNORE = (
    "# Written by Journey Workbook.\ndata/.salt\n*.lock\n*.tmp\nreports/\n"
    # an import's working folders (a killed one's are removed by the next run)
    ".import-*/\n"
)

# Keys written even when empty: a reader must always find them.
_ALWAYS_KEEP = frozenset({"schema_version", "revision", "client"})

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# ------------------------------------------------------------------------------------ YAML


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    """Safe dumper that writes multi-line text as ``|`` blocks, so hand edits stay readable.

    The pure-Python dumper, not libyaml's: libyaml escapes characters outside the basic
    plane (emoji become ``\\U0001F3CB``), which a person editing the file cannot read. It is
    slow (a character at a time), so :func:`dumps` uses it through :func:`_fast_body`, which
    writes the structure itself and asks this dumper only for text it has not written before.
    """

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        # Indent list items under their key (``objectives:\n  - id: ...``), the way people
        # write YAML by hand, rather than PyYAML's flush-left default.
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        # Never an anchor: one date object used twice would otherwise be written as
        # ``&id001 2027-03-31`` and ``*id001``, which the loader refuses.
        return True


# Line breaks other than \n: YAML folds them in plain and block text, so they would come back
# as spaces or \n. Double quotes write them as escapes and keep them exact.
_ODD_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


def _represent_str(dumper: Any, value: str) -> Any:
    if any(b in value for b in _ODD_BREAKS):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def _prune(value: Any, *, top: bool = False) -> Any:
    """Drop None, empty strings, empty lists and empty dicts (a shorter file to read)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = _prune(item)
            if top and key in _ALWAYS_KEEP:
                out[key] = item
            elif item is None or item == "" or item == [] or item == {}:
                continue
            else:
                out[key] = item
        return out
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


_DUMP_OPTIONS: dict[str, Any] = {
    "sort_keys": False,
    "allow_unicode": True,
    "default_flow_style": False,
    "width": 100,
    "indent": 2,
}


def _pyyaml_body(data: dict[str, Any]) -> str:
    """The document written by PyYAML's emitter alone (the reference :func:`_fast_body`
    matches byte for byte), with a blank line before each section."""
    body = str(yaml.dump(data, Dumper=_Dumper, **_DUMP_OPTIONS))
    # A blank line before each top-level section, so the file reads as chapters. Only
    # top-level keys start in column 0 (block text is always indented), so this is safe.
    lines = body.splitlines(keepends=True)
    return "".join(
        ("\n" + line) if i and line.rstrip().endswith(":") and not line[0].isspace() else line
        for i, line in enumerate(lines)
    )


class _Fallback(Exception):
    """A value the fast writer does not handle: the whole document goes to PyYAML."""


class _Sink:
    """A stream that collects what the emitter writes."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, data: str) -> None:
        self.parts.append(data)


_SCALAR_TYPES = (str, int, float, bool, dt.date, dt.datetime)
#: Scalars written so far, by value and the writer's state before it (see _scalar): each is
#: written the same way for the same state, and most of a document is the same at every save.
_SCALARS: dict[tuple[Any, ...], tuple[str, int, bool, bool, bool]] = {}
_SCALARS_MAX = 200_000
#: One dumper per thread whose emitter writes single scalars (it keeps state while writing).
_scalar_dumpers = threading.local()


def _scalar(
    value: Any, indent: int, column: int, whitespace: bool, indention: bool, key: bool
) -> tuple[str, int, bool, bool, bool]:
    """One scalar as PyYAML's emitter writes it from the given state, and the state after it.

    Returns ``(text, column, whitespace, indention, open_ended)``. ``indent`` is the indent
    of the mapping or list the scalar is in; ``key`` is a mapping key (never folded, and it
    must fit on one line, as PyYAML's simple keys do). Cached: the emitter's output for a
    scalar depends on nothing but the value and this state.
    """
    kind = type(value)
    # -0.0 and 0.0 are equal (and True == 1): the cache tells them apart by type and repr
    cache_key = (
        kind,
        repr(value) if kind is float else value,
        indent,
        column,
        whitespace,
        indention,
        key,
    )
    found = _SCALARS.get(cache_key)
    if found is not None:
        return found
    d: Any = getattr(_scalar_dumpers, "dumper", None)
    if d is None:
        d = _scalar_dumpers.dumper = _Dumper(_Sink(), **_DUMP_OPTIONS)
        d.tag_prefixes = dict(d.DEFAULT_TAG_PREFIXES)
    sink = _Sink()
    d.stream = sink
    # What the representer and the serializer make of it (tag, implicit, style)...
    node = d.represent_data(value)
    d.represented_objects = {}
    d.object_keeper = []
    detected = d.resolve(yaml.ScalarNode, node.value, (True, False))
    default = d.resolve(yaml.ScalarNode, node.value, (False, True))
    implicit = (node.tag == detected, node.tag == default)
    # ...then the emitter's own steps for a scalar node, from the given state.
    d.event = yaml.ScalarEvent(None, node.tag, implicit, node.value, style=node.style)
    d.events = []
    d.indent, d.column, d.whitespace, d.indention = indent, column, whitespace, indention
    d.flow_level = 0
    d.open_ended = False
    d.analysis = d.style = d.prepared_tag = d.prepared_anchor = None
    if key and not d.check_simple_key():
        raise _Fallback(value)
    d.root_context, d.simple_key_context = False, key
    d.process_anchor("&")
    d.process_tag()
    d.indent = indent + d.best_indent  # expect_scalar's increase_indent(flow=True)
    d.process_scalar()
    result = ("".join(sink.parts), d.column, d.whitespace, d.indention, d.open_ended)
    if len(_SCALARS) >= _SCALARS_MAX:
        _SCALARS.clear()
    _SCALARS[cache_key] = result
    return result


class _Writer:
    """PyYAML's block emitter for plain mappings and lists, with its state (indent, column,
    whitespace, indention) kept the same way, so the text is the same to the byte."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.indent: int | None = None
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.open_ended = False

    def indicator(
        self, text: str, need_whitespace: bool, whitespace: bool = False, indention: bool = False
    ) -> None:
        if not self.whitespace and need_whitespace:
            text = " " + text
        self.whitespace = whitespace
        self.indention = self.indention and indention
        self.column += len(text)
        self.open_ended = False
        self.parts.append(text)

    def write_indent(self) -> None:
        indent = self.indent or 0
        if (
            not self.indention
            or self.column > indent
            or (self.column == indent and not self.whitespace)
        ):
            self.parts.append("\n")
            self.whitespace = self.indention = True
            self.column = 0
        if self.column < indent:
            self.whitespace = True
            self.parts.append(" " * (indent - self.column))
            self.column = indent

    def scalar(self, value: Any, key: bool = False) -> None:
        if type(value) not in _SCALAR_TYPES:
            raise _Fallback(value)
        text, self.column, self.whitespace, self.indention, self.open_ended = _scalar(
            value, self.indent or 0, self.column, self.whitespace, self.indention, key
        )
        self.parts.append(text)

    def node(self, value: Any, top: bool = False) -> None:
        kind = type(value)
        if kind is dict:
            if not value:
                self.indicator("{", True, whitespace=True)
                self.indicator("}", False)
                return
            outer = self.indent
            self.indent = 0 if outer is None else outer + 2
            for i, (key, item) in enumerate(value.items()):
                self.write_indent()
                if top and i and item and type(item) in (dict, list):
                    self.parts.append("\n")  # a blank line before each section (see dumps)
                self.scalar(key, key=True)
                self.indicator(":", False)
                self.node(item)
            self.indent = outer
        elif kind is list:
            if not value:
                self.indicator("[", True, whitespace=True)
                self.indicator("]", False)
                return
            outer = self.indent
            self.indent = 0 if outer is None else outer + 2
            for item in value:
                self.write_indent()
                self.indicator("-", True, indention=True)
                self.node(item)
            self.indent = outer
        else:
            self.scalar(value)

    def document(self, data: dict[str, Any]) -> str:
        self.node(data, top=True)
        self.indent = None
        self.write_indent()  # the document's end
        if self.open_ended:  # after a block that keeps its trailing line breaks (|+)
            self.indicator("...", True)
            self.write_indent()
        return "".join(self.parts)


def _fast_body(data: dict[str, Any]) -> str:
    """The document as :func:`_pyyaml_body` writes it, in a fraction of the time.

    The block structure (keys, ``-`` items, indentation) is written here; each scalar is
    written by PyYAML's own emitter code from the same state and cached, so a save after a
    one-field edit writes only that field's text the slow way. Anything but plain mappings,
    lists and scalars goes to PyYAML whole.
    """
    if not data:
        return _pyyaml_body(data)
    try:
        return _Writer().document(data)
    except _Fallback:
        return _pyyaml_body(data)


def dumps(ws: model.Workspace, *, header: str | None = None, pyyaml: bool = False) -> str:
    """The YAML text of a workspace, exactly as the store writes it.

    Keys follow the model's field order; empty values are left out; multi-line text is written
    as ``|`` blocks. ``dumps(loads(text)) == text`` for any text this function produced.

    Parameters
    ----------
    header
        Comment lines to put on top (each starting with ``#``); default :data:`HEADER`. The
        store keeps the comment block a file starts with, so a hand-written note survives saves.
    pyyaml
        Write it with PyYAML's own emitter, the slow way of earlier versions (the same text;
        kept for the benchmark and the tests that prove it is the same).
    """
    # Python mode keeps dates as dates, so they are written unquoted (due: 2027-03-31).
    data = _prune(ws.model_dump(mode="python"), top=True)
    return (header if header else HEADER) + (_pyyaml_body(data) if pyyaml else _fast_body(data))


def leading_comments(text: str) -> str:
    """The comment lines a YAML text starts with (kept across saves), or ``""``."""
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line if line.endswith("\n") else line + "\n")
    return "".join(lines)


#: The largest ``workspace.yaml`` read or written, in bytes: 85 times the demo client (47 KB).
#: Validating a file of this size takes 1.4 s and 124 MB (0.3 s for 1 MB), a snapshot 25 ms,
#: a save about 1 s the first time after opening and 0.3 s after that (each text is emitted
#: once, then reused); ``benchmarks/store.py``, ``benchmarks/forms.py``.
MAX_FILE_BYTES = 4_000_000
#: How deep lists and mappings may nest. The schema needs 8 levels (``measurement.okrs[].
#: key_results[].todos[]``); a deeper file is a mistake or an attack on the parser's stack.
MAX_DEPTH = 32
#: How many values (texts, numbers, lists, mappings) a file may hold: a bound on the work
#: done for a file, whatever its shape. A 4 MB workspace of the demo's kind holds 158,000
#: (25 bytes a value); this allows 10 bytes a value at the largest size.
MAX_VALUES = 400_000
#: How many problems are listed at most; the rest are counted.
MAX_PROBLEMS = 100

_SIZE_HINT = "move long texts out of the workspace, or split the engagement into several"


class _BadValue(Exception):
    """A YAML value that cannot be built (an impossible date, a number too long)."""

    def __init__(self, message: str, hint: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.line = int(mark.line) + 1 if mark is not None else None


def _short_value(value: Any, limit: int = 40) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "\u2026")


class _Loader(_BaseLoader):  # type: ignore[misc]
    """libyaml's parser with PyYAML's safe constructor, where a value that cannot be built
    (``2027-02-31``, a 5,000-digit number, ``!!bool maybe``) is a problem at its line."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, _BadValue):
            raise
        except (ValueError, TypeError, KeyError, OverflowError, AttributeError) as exc:
            raise _bad_value(node, exc) from None


def _bad_value(node: Any, exc: Exception) -> _BadValue:
    tag = str(getattr(node, "tag", ""))
    value = node.value if isinstance(node, yaml.ScalarNode) else ""
    if tag.endswith(":timestamp"):
        return _BadValue(
            f"{_short_value(value)} is not a real date or time ({exc})",
            "write a date that exists, as YYYY-MM-DD",
            node.start_mark,
        )
    if tag.endswith(":int") and len(str(value)) > 1000:
        return _BadValue(
            f"a number {len(str(value)):,} characters long cannot be read",
            "write an ordinary number here",
            node.start_mark,
        )
    kind = tag.rsplit(":", 1)[-1] or "value"
    return _BadValue(
        f"{_short_value(value)} cannot be read as {kind}",
        "write the value as plain text or an ordinary number, without a YAML tag (!!...)",
        node.start_mark,
    )


def _too_big(size: int, file: str, *, at_least: bool = False) -> WorkspaceValidationError:
    return WorkspaceValidationError.from_problems(
        file,
        [
            Problem(
                f"the file is {'at least ' if at_least else ''}{size:,} bytes; the largest "
                f"workspace file supported is {MAX_FILE_BYTES:,} bytes",
                file=file,
                hint=_SIZE_HINT,
            )
        ],
    )


def _check_size(text: str, file: str) -> None:
    # A character is at least one byte: only a text near the limit needs encoding to count.
    if len(text) > MAX_FILE_BYTES:
        raise _too_big(len(text), file, at_least=True)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise _too_big(size, file)


_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_DEPTH_HINT = "a workspace needs at most 8 levels: check the brackets and the indentation here"
_NO_REUSE = "write the value out in full: a workspace file uses no YAML anchors (&) or aliases (*)"


def _scan(text: str, file: str) -> None:
    """Walk the parser's events once, before anything is built: refuse anchors and aliases
    (a few lines of them expand to billions of values), nesting deeper than
    :data:`MAX_DEPTH` and more than :data:`MAX_VALUES` values. Nothing is expanded here, so
    this takes a moment whatever the file holds."""

    def refuse(message: str, event: Any, hint: str) -> WorkspaceValidationError:
        line = int(event.start_mark.line) + 1
        return WorkspaceValidationError.from_problems(
            file, [Problem(message, file=file, line=line, hint=hint)]
        )

    depth = 0
    values = 0
    for event in yaml.parse(text, Loader=_Loader):
        kind = type(event)
        if kind is yaml.ScalarEvent or kind in _COLLECTION_START:
            values += 1
            if event.anchor is not None:
                raise refuse(
                    f"an anchor (&{event.anchor}) marks this value for reuse", event, _NO_REUSE
                )
            if kind is not yaml.ScalarEvent:
                depth += 1
                if depth > MAX_DEPTH:
                    raise refuse(
                        f"values nested more than {MAX_DEPTH} levels deep",
                        event,
                        _DEPTH_HINT,
                    )
            if values > MAX_VALUES:
                raise refuse(
                    f"more than {MAX_VALUES:,} values (texts, numbers, lists and mappings)",
                    event,
                    "a workspace this dense is not one the workbook writes: remove repeated "
                    f"entries, or {_SIZE_HINT}",
                )
        elif kind in _COLLECTION_END:
            depth -= 1
        elif kind is yaml.AliasEvent:
            raise refuse(f"an alias (*{event.anchor}) repeats another value", event, _NO_REUSE)


def _yaml_problem(exc: yaml.YAMLError, text: str, file: str) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if "maximum nesting depth" in str(exc.problem):  # libyaml's own bound, in brackets
            return Problem(
                f"values nested more than {MAX_DEPTH} levels deep",
                file=file,
                line=mark.line + 1 if mark is not None else None,
                hint=_DEPTH_HINT,
            )
        return Problem(
            f"YAML syntax error: {exc.problem or 'not valid YAML'}",
            file=file,
            line=mark.line + 1 if mark is not None else None,
            hint="check indentation, colons and quotes near this line",
        )
    if isinstance(exc, yaml.reader.ReaderError):
        # A character YAML does not allow in a file (a control character, say).
        position = int(exc.position)
        what = exc.character
        name = f"U+{what:04X}" if isinstance(what, int) else repr(what)
        return Problem(
            f"the character {name} is not allowed in a YAML file ({exc.reason})",
            file=file,
            line=text.count("\n", 0, position) + 1,
            hint="remove it, or write it as an escape inside double quotes",
        )
    return Problem(f"YAML syntax error: {exc}", file=file)


def _parse_tree(text: str, file: str) -> tuple[Any, yaml.Node | None]:
    """The document built from ``text`` and its node tree (for lines), within the bounds.

    Raises
    ------
    WorkspaceValidationError
        For a file too large, too deep or too dense, anchors and aliases, YAML syntax errors
        and values that cannot be built, each with its line.
    """
    try:
        _check_size(text, file)
        _scan(text, file)
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except _BadValue as exc:
        raise WorkspaceValidationError.from_problems(
            file, [Problem(exc.message, file=file, line=exc.line, hint=exc.hint)]
        ) from None
    except yaml.YAMLError as exc:
        raise WorkspaceValidationError.from_problems(
            file, [_yaml_problem(exc, text, file)]
        ) from None
    return data, root


def _parse(text: str, file: str) -> Any:
    """The document built from ``text``, within the bounds (see :func:`_parse_tree`)."""
    return _parse_tree(text, file)[0]


_PATH_TOKEN = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


def _path_tokens(path: str) -> list[str | int]:
    tokens: list[str | int] = []
    for m in _PATH_TOKEN.finditer(path):
        tokens.append(int(m.group(1)) if m.group(1) is not None else m.group(2))
    return tokens


class _Lines:
    """Finds the line of a field path in a node tree; each mapping's keys are indexed once,
    so many problems in one large mapping cost no more than one walk of it."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root
        self._keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def _index(self, node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        index = self._keys.get(id(node))
        if index is None:
            index = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    index.setdefault(str(key.value), (key, value))
            self._keys[id(node)] = index
        return index

    def line_of(self, path: str | None) -> int | None:
        """The 1-based line of the node ``path`` points at (or of its nearest parent)."""
        root = self.root
        if root is None:
            return None
        node: yaml.Node = root
        line = int(root.start_mark.line) + 1
        if not path or path == "(top level)":
            return line
        for token in _path_tokens(path):
            if isinstance(node, yaml.MappingNode):
                found = self._index(node).get(str(token))
                if found is None:
                    return line
                line = int(found[0].start_mark.line) + 1
                node = found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(token, int):
                if token >= len(node.value):
                    return line
                node = node.value[token]
                line = int(node.start_mark.line) + 1
            else:
                return line
        return line


def _line_of(root: yaml.Node | None, path: str | None) -> int | None:
    """The 1-based line of the YAML node a field path points at (or its nearest parent)."""
    return _Lines(root).line_of(path)


def _duplicate_keys(root: yaml.Node | None, file: str) -> Iterator[Problem]:
    """YAML silently keeps the last of two equal keys; a hand edit deserves to hear about it.

    Walks the tree with a stack, in file order; a path is built only for lists and mappings.
    """
    stack: list[tuple[yaml.Node, str]] = [(root, "")] if root is not None else []
    while stack:
        node, path = stack.pop()
        children: list[tuple[yaml.Node, str]] = []
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(key.value)
                if name in seen:
                    yield Problem(
                        f"the key {name!r} appears twice",
                        file=file,
                        line=key.start_mark.line + 1,
                        field=f"{path}.{name}" if path else name,
                        hint="keep one of them; the last one would win silently",
                    )
                seen.add(name)
                if not isinstance(value, yaml.ScalarNode):
                    children.append((value, f"{path}.{name}" if path else name))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                if not isinstance(item, yaml.ScalarNode):
                    children.append((item, f"{path}[{i}]"))
        stack.extend(reversed(children))


def _with_lines(
    problems: list[Problem], root: yaml.Node | None, file: str, total: int | None = None
) -> tuple[list[Problem], int]:
    """The problems to list, with their lines and in file order, and how many there are.

    ``total`` counts ``problems`` and those not made into one. At most :data:`MAX_PROBLEMS`
    are listed (a file can hold a million mistakes; nobody reads past the first screen):
    the first ones found, then sorted by line. Duplicate keys are added here.
    """
    duplicates = _duplicate_keys(root, file)
    listed_duplicates = list(itertools.islice(duplicates, MAX_PROBLEMS))
    total = (len(problems) if total is None else total) + len(listed_duplicates)
    total += sum(1 for _ in duplicates)
    lines = _Lines(root)
    out = [
        Problem(
            p.message,
            file=file,
            line=p.line or lines.line_of(p.field),
            row=p.row,
            column=p.column,
            field=p.field,
            hint=p.hint,
            severity=p.severity,
        )
        for p in problems[:MAX_PROBLEMS]
    ]
    # In file order, as an editor would walk them (schema problems first on the same line).
    listed = sorted([*listed_duplicates, *out], key=lambda p: p.line or 0)[:MAX_PROBLEMS]
    return listed, total


def _validation_error(file: str, listed: list[Problem], total: int) -> WorkspaceValidationError:
    """The error for ``listed`` problems out of ``total``; the ones left out are counted."""
    if total > len(listed):
        listed = [
            *listed,
            Problem(
                f"{total - len(listed):,} more problems are not listed",
                file=file,
                hint="fix the ones above, then run `workbook validate` again",
            ),
        ]
    err = WorkspaceValidationError.from_problems(file, listed)
    err.total = total  # type: ignore[attr-defined]  # all the problems, listed or not
    return err


# ------------------------------------------------------------------------------ migrations

#: Upgrades of the raw document: ``MIGRATIONS[n]`` turns a version-n dict into version n+1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def register_migration(
    from_version: int,
) -> Callable[
    [Callable[[dict[str, Any]], dict[str, Any]]], Callable[[dict[str, Any]], dict[str, Any]]
]:
    """Register the function that upgrades a document from ``from_version`` to the next.

    The function receives the raw dict read from YAML and returns the upgraded dict (it must
    set nothing else on disk: the upgraded document is written at the next save).
    """

    def decorate(
        fn: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        MIGRATIONS[from_version] = fn
        return fn

    return decorate


def _migrate(data: dict[str, Any], file: str) -> tuple[dict[str, Any], bool]:
    """Bring a raw document up to :data:`model.SCHEMA_VERSION`; return it and whether it moved."""
    version = data.get("schema_version", model.SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        return data, False  # the schema check reports it with its line
    if version > model.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{file}: written by a newer Journey Workbook (schema version {version}; "
            f"this one reads up to {model.SCHEMA_VERSION})",
            hint="upgrade journey-workbook (pip install -U journey-workbook) to open it",
        )
    moved = False
    while version < model.SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise SchemaVersionError(
                f"{file}: schema version {version} cannot be upgraded by this Journey Workbook",
                hint="open it with the version that wrote it, or ask for a migration",
            )
        data = step(copy.deepcopy(data))
        version += 1
        data["schema_version"] = version
        moved = True
    return data, moved


class _Missing:
    """A field the raw document does not have: empty, falsy, never equal to an id."""

    def __bool__(self) -> bool:
        return False

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def items(self) -> list[tuple[str, Any]]:
        return []

    def __getattr__(self, name: str) -> Any:  # a missing section has missing fields
        return _Missing()


class _Raw:
    """Attribute access over a raw YAML mapping, so the model's reference check can read it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        if name not in self._data:
            return _Missing()
        return _wrap(self._data[name])

    def items(self) -> list[tuple[Any, Any]]:
        return [(k, _wrap(v)) for k, v in self._data.items()]


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return _Raw(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _raw_reference_problems(data: dict[str, Any], found: list[Problem], file: str) -> list[Problem]:
    """Broken references in a document that failed the schema, so all problems come in one go.

    Walks the raw mapping with the model's own list of references (missing fields read as
    empty) and reports ids that do not exist, with the model's wording. A reference on or under
    a field that already has a schema problem is left out: that field is reported once.
    """
    raw = dict(data)
    if "stages" not in raw:  # the model's default stages apply
        raw["stages"] = [{"id": i} for i, _n, _a in model.DEFAULT_STAGES]
    doc: Any = _Raw(raw)
    try:
        refs = list(model._iter_refs(doc))
        collections = model._collections(doc)
    except (AttributeError, TypeError):  # a shape too broken to walk: the schema said it all
        return []
    # A collection that is not a list (``segments: 42``) has a schema problem of its own;
    # references to it are not checked (each would be reported as missing).
    ids = {
        what: {i.id for i in items if isinstance(i, _Raw) and isinstance(i.id, str)}
        for what, (_path, items) in collections.items()
        if isinstance(items, list)
    }
    # Every broken path and each of its parents: a reference overlaps a broken field when
    # one is the other or lies under it (looked up per reference, not compared pairwise).
    broken: set[str] = set()
    above_broken: set[str] = set()
    for p in found:
        if p.field:
            broken.add(p.field)
            above_broken.update(_parents(p.field))

    def overlaps(path: str) -> bool:
        return path in broken or path in above_broken or any(a in broken for a in _parents(path))

    return [
        Problem(
            model._missing_message(path, what, ref),
            file=file,
            field=path,
            hint=f"use one of: {model.id_listing(ids[what])}",
        )
        for path, what, ref in refs
        if isinstance(ref, str) and what in ids and ref not in ids[what] and not overlaps(path)
    ]


def _parents(path: str) -> list[str]:
    """``"a.b[2].c"`` -> ``["a", "a.b", "a.b[2]"]``: every field above a path."""
    return [path[:i] for i, ch in enumerate(path) if ch in ".[" and i]


def loads(text: str, *, file: str = FILENAME) -> model.Workspace:
    """Parse and validate workspace YAML; every problem comes at once, with its line.

    Raises
    ------
    WorkspaceValidationError
        For YAML syntax errors and for every schema or reference problem.
    SchemaVersionError
        When the file comes from a newer version of the workbook.
    """
    return _loads(text, file)[0]


def _loads(text: str, file: str) -> tuple[model.Workspace, bool]:
    data, root = _parse_tree(text, file)
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise WorkspaceValidationError.from_problems(
            file,
            [
                Problem(
                    f"must be a mapping of fields (client:, personas:, ...), found {got}",
                    file=file,
                    line=1,
                    hint="start from `workbook new NAME` or a preset",
                )
            ],
        )
    data, migrated = _migrate(data, file)
    ws, problems, total = model._schema_check(data, file=file, limit=MAX_PROBLEMS)
    if ws is not None:
        problems = model.reference_problems(ws, file=file)
        total = len(problems)
    elif total <= MAX_PROBLEMS:
        problems += _raw_reference_problems(data, problems, file)
        total = len(problems)
    # else more schema problems than are listed: references wait until those are fixed
    listed, total = _with_lines(problems, root, file, total)
    if listed:
        raise _validation_error(file, listed, total)
    assert ws is not None
    return ws, migrated


def _read_text(file: Path) -> str:
    """A YAML file's text; a file saved in another encoding is a problem with its line.

    A file larger than :data:`MAX_FILE_BYTES` is refused before it is read.
    """
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _too_big(size, str(file))
        raw = file.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as exc:  # a folder by that name, no permission to read...
        raise WorkspaceValidationError.from_problems(
            str(file),
            [
                Problem(
                    f"cannot be read: {exc.strerror or exc}",
                    file=str(file),
                    hint="check that it is a file you may read",
                )
            ],
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise WorkspaceValidationError.from_problems(
            str(file),
            [
                Problem(
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                    file=str(file),
                    line=line,
                    hint="save the file as UTF-8 in your editor",
                )
            ],
        ) from None


def _ws_file(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(folder, workspace.yaml) for a folder or for the file itself."""
    p = Path(path)
    if p.name.endswith((".yaml", ".yml")) and not p.is_dir():
        return p.parent, p
    return p, p / FILENAME


def read_workspace(path: str | os.PathLike[str]) -> model.Workspace:
    """Read and validate a workspace (folder or YAML file) without keeping it open."""
    folder, file = _ws_file(path)
    try:
        text = _read_text(file)
    except (FileNotFoundError, NotADirectoryError):
        raise WorkspaceNotFoundError.from_path(str(path)) from None
    return loads(text, file=str(file))


# --------------------------------------------------------------------------- atomic writes


def _remove_stale_temps(folder: Path, pattern: str = f".{FILENAME}.*.tmp") -> None:
    # A process killed between creating and renaming its temporary file leaves it behind.
    # Only the lock holder writes, so any temp file seen under the lock is an orphan.
    for tmp in folder.glob(pattern):
        tmp.unlink(missing_ok=True)


def _remove_stale_history_temps(history: Path) -> None:
    # Only snapshots write in history/, always under the lock, always with write_atomic:
    # every ``.<name>.*.tmp`` there is a killed snapshot's.
    if history.is_dir():
        _remove_stale_temps(history, ".*.tmp")


_REVISION_LINE = re.compile(r"^revision: -?\d+$", re.MULTILINE)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _revision_on_disk(text: str) -> int | None:
    found = _REVISION_LINE.search(text)
    if found:  # the store's own layout: no need to parse a large file just for this
        return int(found.group(0).split(":")[1])
    try:
        data = _parse(text, FILENAME)
    except WorkbookError:
        return None
    if not isinstance(data, dict):
        return None
    rev = data.get("revision", 0)  # a hand-written file may leave it out: the model's default
    return rev if isinstance(rev, int) else None


# -------------------------------------------------------------------------------- snapshots


@dataclass(frozen=True)
class Snapshot:
    """One saved copy of the workspace in ``history/``.

    Attributes
    ----------
    id
        Four digits, ``"0001"``, in the order snapshots were taken.
    note
        What the consultant wrote (``"after workshop 1"``).
    created
        When it was taken (UTC).
    revision
        The workspace revision it copies.
    file
        File name inside ``history/`` (``0001-after-workshop-1.yaml``).
    """

    id: str
    note: str
    created: dt.datetime
    revision: int
    file: str

    @property
    def name(self) -> str:
        return self.file.removesuffix(".yaml")

    def __str__(self) -> str:
        when = self.created.strftime("%Y-%m-%d %H:%M UTC")
        return f"{self.id}  {when}  revision {self.revision}  {self.note}"


# ------------------------------------------------------------------------------------- diff


@dataclass(frozen=True)
class Change:
    """One difference: ``kind`` is ``added``, ``removed`` or ``changed``.

    ``path`` names items in id-keyed lists by their id (``personas[priya].name``), so a
    reordered list is not reported as a change of every item.
    """

    kind: Literal["added", "removed", "changed"]
    path: str
    before: Any = None
    after: Any = None

    def __str__(self) -> str:
        if self.kind == "added":
            return f"+ {self.path}: {_short(self.after)}"
        if self.kind == "removed":
            return f"- {self.path}: {_short(self.before)}"
        return f"~ {self.path}: {_short(self.before)} -> {_short(self.after)}"


@dataclass(frozen=True)
class EmotionMove:
    """A persona's emotion at one stage moved between two versions of the map.

    ``before`` or ``after`` is None when the stage had no score on that side.
    """

    persona: str
    stage: str
    before: float | None
    after: float | None
    icp: str | None = None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    def __str__(self) -> str:
        who = self.persona + (f" ({self.icp})" if self.icp else "")

        def fmt(v: float | None) -> str:
            return "none" if v is None else f"{v:+g}"

        return f"  emotion {who} @ {self.stage}: {fmt(self.before)} -> {fmt(self.after)}"


@dataclass
class Diff:
    """What changed between two versions of a workspace.

    Attributes
    ----------
    a, b
        Labels of the two sides (a snapshot name, or ``"saved"`` for the file now).
    changes
        Every added, removed or changed item or field.
    emotion_moves
        Every emotion score that moved, per persona and stage, in stage order: what the refine
        step and the before/after emotion chart use.
    """

    a: str
    b: str
    changes: list[Change] = field(default_factory=list)
    emotion_moves: list[EmotionMove] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def __str__(self) -> str:
        if not self.changes:
            return f"no changes between {self.a} and {self.b}"
        n = len(self.changes)
        lines = [f"{self.a} -> {self.b}: {n} change{'s' if n != 1 else ''}"]
        lines += [str(c) for c in self.changes]
        if self.emotion_moves:
            lines.append("emotion moves:")
            lines += [str(m) for m in self.emotion_moves]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The changes as a table: kind, path, before, after."""
        import pandas as pd

        rows = [
            {"kind": c.kind, "path": c.path, "before": c.before, "after": c.after}
            for c in self.changes
        ]
        return pd.DataFrame(rows, columns=["kind", "path", "before", "after"])

    def emotion_frame(self) -> pd.DataFrame:
        """The emotion moves as a table: persona, icp, stage, before, after, delta."""
        import pandas as pd

        rows = [
            {
                "persona": m.persona,
                "icp": m.icp,
                "stage": m.stage,
                "before": m.before,
                "after": m.after,
                "delta": m.delta,
            }
            for m in self.emotion_moves
        ]
        return pd.DataFrame(rows, columns=["persona", "icp", "stage", "before", "after", "delta"])


def _short(value: Any, limit: int = 80) -> str:
    if isinstance(value, dict):
        label = (
            value.get("name")
            or value.get("title")
            or value.get("text")
            or value.get("id")
            or value.get("persona")
        )
        text = str(label) if label else json.dumps(value, ensure_ascii=False)
    elif isinstance(value, str):
        text = value.replace("\n", " ")
    else:
        text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _item_key(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    if "id" in item:
        return str(item["id"])
    if "persona" in item:  # journeys: one map per persona (and ICP)
        return str(item["persona"]) + (f"@{item['icp']}" if item.get("icp") else "")
    return None


def _diff_values(before: Any, after: Any, path: str, out: list[Change]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in list(before) + [k for k in after if k not in before]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in after:
                out.append(Change("removed", sub, before=_prune(before[key])))
            elif key not in before:
                out.append(Change("added", sub, after=_prune(after[key])))
            else:
                _diff_values(before[key], after[key], sub, out)
        return
    if isinstance(before, list) and isinstance(after, list):
        keys_b = [_item_key(x) for x in before]
        keys_a = [_item_key(x) for x in after]
        by_id = all(k is not None for k in keys_b + keys_a) and len(set(keys_b)) == len(keys_b)
        if by_id and len(set(keys_a)) == len(keys_a):
            old = dict(zip(keys_b, before, strict=True))
            new = dict(zip(keys_a, after, strict=True))
            for key, item in old.items():
                if key not in new:
                    out.append(Change("removed", f"{path}[{key}]", before=_prune(item)))
                else:
                    _diff_values(item, new[key], f"{path}[{key}]", out)
            for key, item in new.items():
                if key not in old:
                    out.append(Change("added", f"{path}[{key}]", after=_prune(item)))
            return
        scalars = all(not isinstance(x, (dict, list)) for x in before + after)
        if scalars:
            removed = [x for x in before if x not in after]
            added = [x for x in after if x not in before]
            for x in removed:
                out.append(Change("removed", path, before=x))
            for x in added:
                out.append(Change("added", path, after=x))
            if not removed and not added:  # same items, new order (or repeats)
                out.append(Change("changed", path, before=before, after=after))
            return
        for i in range(max(len(before), len(after))):
            sub = f"{path}[{i}]"
            if i >= len(after):
                out.append(Change("removed", sub, before=_prune(before[i])))
            elif i >= len(before):
                out.append(Change("added", sub, after=_prune(after[i])))
            else:
                _diff_values(before[i], after[i], sub, out)
        return
    # A field filled in (or emptied) reads better as added (removed) than as "None -> x".
    if _empty(before):
        out.append(Change("added", path, after=_prune(after)))
    elif _empty(after):
        out.append(Change("removed", path, before=_prune(before)))
    else:
        out.append(Change("changed", path, before=before, after=after))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _emotions(ws: model.Workspace) -> dict[tuple[str, str | None, str], float | None]:
    return {
        (j.persona, j.icp, stage): cell.emotion
        for j in ws.journeys
        for stage, cell in j.stages.items()
    }


def diff_workspaces(
    before: model.Workspace, after: model.Workspace, *, a: str = "a", b: str = "b"
) -> Diff:
    """Compare two workspaces: every change, and every emotion score that moved.

    The revision number is ignored (it changes at every save by design).
    """
    # Unpruned dumps: both sides then have every field, so a first persona shows as one added
    # item, not as a whole new "personas" list. Added and removed values are pruned for reading.
    left = before.model_dump(mode="json")
    right = after.model_dump(mode="json")
    left.pop("revision", None)
    right.pop("revision", None)
    changes: list[Change] = []
    _diff_values(left, right, "", changes)
    e_before, e_after = _emotions(before), _emotions(after)
    order = {s: i for i, s in enumerate(after.stage_ids() + before.stage_ids())}
    moves = [
        EmotionMove(
            persona=p,
            stage=s,
            before=e_before.get((p, icp, s)),
            after=e_after.get((p, icp, s)),
            icp=icp,
        )
        for (p, icp, s) in list(e_before) + [k for k in e_after if k not in e_before]
        if e_before.get((p, icp, s)) != e_after.get((p, icp, s))
    ]
    moves.sort(key=lambda m: (m.persona, m.icp or "", order.get(m.stage, len(order))))
    return Diff(a=a, b=b, changes=changes, emotion_moves=moves)


# --------------------------------------------------------------------------- open workspace


class OpenWorkspace:
    """A workspace folder opened for reading and saving.

    Use :func:`open_workspace` or :func:`new_workspace` to get one.

    Attributes
    ----------
    path
        The workspace folder.
    data
        The document (:class:`workbook.model.Workspace`); change it, then :meth:`save`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path / FILENAME
        self.data: model.Workspace
        self._revision = 0  # the revision this copy was loaded at (or last saved)
        self._digest = ""  # sha256 of the bytes on disk we loaded (or last wrote)
        # What "nothing changed" means: the data as loaded or last saved, as JSON (quick to
        # make and compare; "" after a migration, which must be written), and its dumps()
        # text, made only when a save needs it (dumping a large workspace takes seconds).
        self._clean_json = ""
        self._clean: str | None = ""
        self._header = ""  # the comment block the file starts with, kept across saves
        self._lock: Any = None  # filelock.FileLock, made on first use (re-entrant)
        # Write with PyYAML's emitter alone, the previous way (benchmarks/forms.py compares).
        self._pyyaml = False
        self.reload()

    # -- folders

    @property
    def data_dir(self) -> Path:
        return self.path / "data"

    @property
    def reports_dir(self) -> Path:
        return self.path / "reports"

    @property
    def history_dir(self) -> Path:
        return self.path / "history"

    @property
    def revision(self) -> int:
        """The revision of the file this copy was loaded from or last saved to."""
        return self._revision

    @property
    def dirty(self) -> bool:
        """True when :attr:`data` has changes that are not saved yet."""
        if self._json(self._revision) == self._clean_json:
            return False
        return self._dump(self._revision) != self._clean_text()

    def __repr__(self) -> str:
        return f"OpenWorkspace({str(self.path)!r}, revision={self._revision})"

    # -- load and save

    def reload(self) -> None:
        """Read the file again; unsaved changes in :attr:`data` are dropped."""
        try:
            text = _read_text(self.file)
        except (FileNotFoundError, NotADirectoryError):
            raise WorkspaceNotFoundError.from_path(str(self.path)) from None
        ws, migrated = _loads(text, str(self.file))
        self.data = ws
        self._revision = ws.revision
        self._digest = _digest(text)
        self._header = leading_comments(text)
        # After a migration the file on disk is older than the model: the next save writes it.
        self._clean_json = "" if migrated else self._json(ws.revision)
        self._clean = "" if migrated else None

    def _dump(self, revision: int) -> str:
        data = self.data.model_copy(update={"revision": revision})
        return dumps(data, header=self._header, pyyaml=self._pyyaml)

    def _json(self, revision: int) -> str:
        return self.data.model_copy(update={"revision": revision}).model_dump_json()

    def _clean_text(self) -> str:
        """The dumps() text of the data as loaded or last saved."""
        if self._clean is None:
            clean = model.Workspace.model_validate_json(self._clean_json)
            self._clean = dumps(clean, header=self._header, pyyaml=self._pyyaml)
        return self._clean

    @contextmanager
    def locked(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """Hold the workspace lock (the one every save takes) for the block.

        Re-entrant for this copy: a :meth:`save` inside the block does not wait for itself.
        The import holds it for its whole commit, so the data and ``workspace.yaml`` change
        together as far as any other writer can see.
        """
        from filelock import FileLock, Timeout

        if self._lock is None:
            self._lock = FileLock(str(self.path / LOCKNAME))
        lock = self._lock
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise ConflictError(
                f"{self.file}: busy, another process has been saving it for {timeout:g} s",
                hint="wait for the other kernel or command to finish, then save again",
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _check_unchanged_on_disk(self) -> str:
        """The file's text, when it is still the one this copy loaded or last saved.

        Raises
        ------
        ConflictError
            When it changed (another revision, or other bytes under the same revision).
        """
        try:
            with self.file.open("rb") as fh:
                raw = fh.read(MAX_FILE_BYTES + 1)  # more than that was never loaded here
        except FileNotFoundError:
            raise WorkspaceNotFoundError.from_path(str(self.path)) from None
        if hashlib.sha256(raw).hexdigest() == self._digest:
            return raw.decode("utf-8")
        text = raw.decode("utf-8", errors="replace")
        on_disk = _revision_on_disk(text)
        if on_disk != self._revision:
            raise ConflictError.from_revisions(
                str(self.file), self._revision, on_disk if on_disk is not None else -1
            )
        raise ConflictError(
            f"{self.file}: not saved, the file was edited since you loaded it "
            f"(same revision {self._revision}, different content)",
            hint="reload it (`ws.reload()` or re-run the form cell), redo your change, save again",
            command_hint=RERUN_HINT,
        )

    def validate(self) -> model.Workspace:
        """Check the data as it is now (schema and references); return the validated copy.

        Raises
        ------
        WorkspaceValidationError
            With every problem and its field path.
        """
        raw = self.data.model_dump(mode="json")
        return model.validate_workspace(raw, file=str(self.file))

    def save(self) -> bool:
        """Validate, then write the workspace atomically under the lock, revision + 1.

        Returns
        -------
        bool
            False when nothing changed since the last load or save (nothing is written).

        Raises
        ------
        WorkspaceValidationError
            When the data breaks the schema or a reference (nothing is written).
        ConflictError
            When the file changed on disk since this copy was loaded, or the lock is held too long.
        """
        # The same data as loaded or last saved (then valid): nothing to check or write. This
        # keeps a snapshot of a large workspace as cheap as a copy of its file.
        if self._json(self._revision) == self._clean_json:
            return False
        # Re-validate from a plain dump: in-place edits of nested lists bypass
        # validate_assignment, and references are only checked here.
        checked = self.validate()
        new_revision = self._revision + 1
        saved = checked.model_copy(update={"revision": new_revision})
        text = dumps(saved, header=self._header, pyyaml=self._pyyaml)
        # Compare with the revision put back rather than dumping twice (dumping is the slow
        # part of a save). Only the top-level key starts a line with "revision:".
        if _REVISION_LINE.sub(f"revision: {self._revision}", text, count=1) == self._clean_text():
            return False
        size = len(text.encode("utf-8"))
        if size > MAX_FILE_BYTES:
            raise WorkspaceValidationError.from_problems(
                str(self.file),
                [
                    Problem(
                        f"not saved: the file would be {size:,} bytes; the largest workspace "
                        f"file supported is {MAX_FILE_BYTES:,} bytes",
                        file=str(self.file),
                        hint=_SIZE_HINT,
                    )
                ],
            )
        with self.locked():
            self._check_unchanged_on_disk()
            _remove_stale_temps(self.path)
            _remove_stale_history_temps(self.history_dir)
            write_atomic(self.file, text)
        self.data.revision = new_revision
        self._revision = new_revision
        self._digest = _digest(text)
        self._clean = text
        self._clean_json = saved.model_dump_json()
        return True

    def update(self, change: Callable[[model.Workspace], None], *, retries: int = 5) -> bool:
        """Reload, apply ``change`` to the data, save; on a conflict start again.

        For scripts and background jobs that must not lose someone else's edit: the change is
        re-applied to the latest version instead of overwriting it.
        """
        for attempt in range(retries + 1):
            self.reload()
            change(self.data)
            try:
                return self.save()
            except ConflictError:
                if attempt == retries:
                    raise
        raise AssertionError("unreachable")

    # -- snapshots

    def snapshots(self) -> list[Snapshot]:
        """Every snapshot, oldest first."""
        index = self.history_dir / HISTORY_INDEX
        try:
            raw = _parse(_read_text(index), str(index)) or []
        except FileNotFoundError:
            return []
        out = []
        for i, entry in enumerate(raw if isinstance(raw, list) else [raw]):
            try:
                created = entry["created"]
                if isinstance(created, str):
                    created = dt.datetime.fromisoformat(created)
                out.append(
                    Snapshot(
                        id=str(entry["id"]).zfill(4),
                        note=str(entry.get("note", "")),
                        created=created,
                        revision=int(entry["revision"]),
                        file=str(entry["file"]),
                    )
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                raise WorkspaceValidationError.from_problems(
                    str(index),
                    [
                        Problem(
                            "a snapshot entry needs id, note, created, revision and file",
                            file=str(index),
                            field=f"[{i}]",
                            hint="put back the entry as the workbook wrote it, or remove it",
                        )
                    ],
                ) from None
            name = out[-1].file
            # a file name in history/, nothing else: the index is hand-editable, and a path
            # like ../../secret.yaml would have diff read a file outside the workspace
            if Path(name).name != name or name.startswith(".") or not name.endswith(".yaml"):
                raise WorkspaceValidationError.from_problems(
                    str(index),
                    [
                        Problem(
                            f"a snapshot's file must be a .yaml file name in history/, "
                            f"not {name!r}",
                            file=str(index),
                            field=f"[{i}].file",
                            hint="put back the name the workbook wrote (NNNN-note.yaml)",
                        )
                    ],
                )
        return out

    def snapshot(self, note: str) -> Snapshot:
        """Save pending changes, then keep a copy of the saved file in ``history/``.

        Parameters
        ----------
        note
            What this version is (``"after workshop 1"``); it also names the file.
        """
        note = " ".join(str(note).split())
        try:
            model.check_line(note)
        except ValueError as exc:
            raise WorkspaceValidationError.from_problems(
                "snapshot", [Problem(str(exc), field="note", hint='like -m "after workshop 1"')]
            ) from None
        if not note:
            raise WorkspaceValidationError.from_problems(
                "snapshot",
                [
                    Problem(
                        "a snapshot needs a note", field="note", hint='like -m "after workshop 1"'
                    )
                ],
            )
        self.save()
        self.history_dir.mkdir(exist_ok=True)
        with self.locked():
            text = self._check_unchanged_on_disk()
            _remove_stale_history_temps(self.history_dir)
            existing = self.snapshots()
            number = max((int(s.id) for s in existing), default=0) + 1
            sid = f"{number:04d}"
            slug = model.slugify(note, fallback="snapshot")[:48].rstrip("-")
            snap = Snapshot(
                id=sid,
                note=note,
                created=dt.datetime.now(dt.UTC).replace(microsecond=0),
                revision=self._revision,
                file=f"{sid}-{slug}.yaml",
            )
            write_atomic(self.history_dir / snap.file, text)
            entries = [
                {
                    "id": s.id,
                    "note": s.note,
                    "created": s.created.isoformat(),
                    "revision": s.revision,
                    "file": s.file,
                }
                for s in [*existing, snap]
            ]
            index_text = (
                "# Snapshots of this workspace (written by Journey Workbook).\n"
                + yaml.dump(
                    entries,
                    Dumper=_Dumper,
                    sort_keys=False,
                    allow_unicode=True,
                    default_flow_style=False,
                )
            )
            write_atomic(self.history_dir / HISTORY_INDEX, index_text)
        return snap

    def find_snapshot(self, ref: str | int) -> Snapshot:
        """A snapshot by number (``1``, ``"0001"``) or full name (``"0001-after-workshop-1"``)."""
        snaps = self.snapshots()
        text = str(ref).strip().removesuffix(".yaml")
        for s in snaps:
            if text in (s.id, s.name, s.file) or (text.isdigit() and int(text) == int(s.id)):
                return s
        known = ", ".join(s.name for s in snaps) or "none yet (take one with `workbook snapshot`)"
        raise WorkbookError(f"{self.path}: no snapshot {ref!r}", hint=f"known snapshots: {known}")

    def load_snapshot(self, ref: str | int) -> model.Workspace:
        """The workspace as it was in a snapshot."""
        snap = self.find_snapshot(ref)
        file = self.history_dir / snap.file
        if file.resolve().parent != self.history_dir.resolve():  # a link to elsewhere
            raise WorkspaceValidationError.from_problems(
                str(file),
                [
                    Problem(
                        "the snapshot is a link to a file outside history/",
                        file=str(file),
                        hint="put the snapshot's file back in history/",
                    )
                ],
            )
        return loads(_read_text(file), file=str(file))

    def diff(self, a: str | int | None = None, b: str | int | None = None) -> Diff:
        """Compare two versions: snapshots by id or name; ``None`` is the saved file now.

        With no arguments, compares the latest snapshot with the saved file (what changed
        since the last snapshot).
        """
        if a is None and b is None:
            snaps = self.snapshots()
            if not snaps:
                raise WorkbookError(
                    f"{self.path}: no snapshot to compare with",
                    hint='take one first: workbook snapshot PATH -m "before workshop"',
                )
            a = snaps[-1].id

        def side(ref: str | int | None) -> tuple[model.Workspace, str]:
            if ref is None:
                return read_workspace(self.file), "saved"
            return self.load_snapshot(ref), self.find_snapshot(ref).name

        before, la = side(a)
        after, lb = side(b)
        return diff_workspaces(before, after, a=la, b=lb)


def open_workspace(path: str | os.PathLike[str]) -> OpenWorkspace:
    """Open a workspace folder (or its ``workspace.yaml``).

    Raises
    ------
    WorkspaceNotFoundError
        When there is no ``workspace.yaml`` there.
    WorkspaceValidationError
        With every problem in the file, each with its field path and line.
    SchemaVersionError
        When the file was written by a newer version of the workbook.
    """
    folder, file = _ws_file(path)
    if not file.is_file():
        raise WorkspaceNotFoundError.from_path(str(path))
    return OpenWorkspace(folder)


# ------------------------------------------------------------------------------ new, presets


def preset_dirs() -> list[Path]:
    """Where presets are looked for: the repository checkout, then a wheel install."""
    import workbook

    return [
        Path(workbook.__file__).resolve().parents[1] / "templates" / "workspaces",
        Path(sys.prefix) / "share" / "journey-workbook" / "workspaces",
    ]


def presets() -> dict[str, Path]:
    """Known presets by id (``b2b-saas``, ...) and their files; the first folder wins."""
    found: dict[str, Path] = {}
    for folder in preset_dirs():
        if folder.is_dir():
            for file in sorted(folder.glob("*.yaml")):
                found.setdefault(file.stem, file)
    return found


def new_workspace(
    name: str, preset: str | None = None, directory: str | os.PathLike[str] = "."
) -> OpenWorkspace:
    """Create a workspace folder for a client and open it.

    Parameters
    ----------
    name
        The client's name as people write it; any text (quotes, slashes, emoji). The folder is
        named by its slug, always inside ``directory``.
    preset
        A starting point (``b2b-saas``, ``d2c-retail``, ``professional-services``); without one
        the workspace has the five default stages and nothing else.
    directory
        The folder to create the workspace in.

    Raises
    ------
    WorkspaceExistsError
        When the folder already exists and is not empty.
    WorkspaceValidationError
        For an empty or too long name, or an unknown or broken preset.
    """
    name = " ".join(str(name).split())
    slug = model.slugify(name, fallback="workspace")
    base = Path(directory)
    target = base / slug
    # The slug has no separators or dots, but check anyway: the folder must stay inside.
    if target.resolve().parent != base.resolve():
        raise WorkspaceValidationError.from_problems(
            "new workspace",
            [Problem("the name would create a folder outside the directory", field="name")],
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise WorkspaceExistsError(
            f"{target} already exists and is not empty",
            hint="choose another name or --dir, or open the existing workspace",
        )

    if not name:
        raise WorkspaceValidationError.from_problems(
            "new workspace",
            [
                Problem(
                    "the client name is empty", field="client.name", hint="give the client's name"
                )
            ],
        )
    ws = _from_preset(preset, name, slug)

    base.mkdir(parents=True, exist_ok=True)
    # Build the folder under a temporary name and rename it into place: a failure half-way
    # never leaves a half-made workspace under the client's name.
    tmp = base / f".{slug}.{secrets.token_hex(4)}.tmp"
    tmp.mkdir()
    try:
        for sub in ("data", "history", "reports"):
            (tmp / sub).mkdir()
        (tmp / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        write_atomic(tmp / FILENAME, dumps(ws))
        try:
            if target.exists():
                target.rmdir()  # empty (checked above)
            os.rename(tmp, target)
        except OSError:
            if not target.exists():
                raise
            # Someone created it in the meantime (another `workbook new` with the same name).
            raise WorkspaceExistsError(
                f"{target} already exists and is not empty",
                hint="choose another name or --dir, or open the existing workspace",
            ) from None
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(base)
    return OpenWorkspace(target)


def _from_preset(preset: str | None, name: str, slug: str) -> model.Workspace:
    source = "new workspace"
    data: Any = {}
    if preset is not None:
        known = presets()
        file = known.get(preset)
        if file is None:
            listed = ", ".join(sorted(known)) or "none installed"
            raise WorkspaceValidationError.from_problems(
                source,
                [
                    Problem(
                        f"unknown preset {preset!r}",
                        field="preset",
                        hint=f"known presets: {listed}",
                    )
                ],
            )
        source = str(file)
        data = _parse(_read_text(file), source)
        if not isinstance(data, dict):
            raise WorkspaceValidationError.from_problems(
                source, [Problem("a preset must be a mapping of fields", file=source, line=1)]
            )
        data, _ = _migrate(data, source)
    client = dict(data.get("client") or {})
    client.update(name=name, slug=slug)
    data["client"] = client
    data["revision"] = 0
    data.pop("data_sources", None)  # a new client has imported nothing yet
    ws, problems = model.schema_problems(data, file=source)
    if ws is not None:
        problems = model.reference_problems(ws, file=source)
    if problems:
        raise WorkspaceValidationError.from_problems(source, problems)
    assert ws is not None
    return ws
