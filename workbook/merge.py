"""Three-way merge of workspace documents, field by field, and the changes undo replays.

Everything here works on plain dumps (``Workspace.model_dump(mode="json")``): dicts, lists and
scalars, never models, so it is pure and quick to test by hand.

A *path* has the shape the forms use: attribute names and dict keys (``"name"``,
``"awareness"``), list positions, and *selectors* that find an item of a list by its key
(``{"id": "priya"}``, or ``{"persona": "amara", "icp": None}`` for a journey map). Lists whose
items all carry a key are merged item by item; any other value (text, a number, a list of
lines or of ids) is one field.

:func:`diff` lists what changed between two documents as :class:`Change` objects;
:func:`apply` replays changes onto a third document; :func:`merge` is the two together:
``merge(base, ours, theirs)`` replays what *ours* changed since *base* onto *theirs*.

The rules, decided once:

- a field changed on one side only takes that side's value; changed to the same value on both,
  that value;
- the same field changed to different values on both sides is a :class:`Conflict`: the merged
  document keeps *theirs* (what is on disk) and the conflict carries both values, so the person
  can choose and nothing typed is lost;
- an item added on one side is added (after the item it followed, else at the end);
- an item removed on one side and left alone on the other is removed;
- an item removed on one side and edited on the other is a conflict on the whole item (one
  side says "removed", the other holds the edited item): neither the edit nor the removal is
  dropped without asking;
- the order of an id-keyed list (stages moved up or down) is one field: reordered on one side
  takes that order; reordered differently on both is a conflict;
- the same id added on both sides with different content is a conflict on the item.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "MISSING",
    "Change",
    "Conflict",
    "Merged",
    "apply",
    "choose",
    "diff",
    "get",
    "invert",
    "item_key",
    "merge",
    "put",
    "reorder",
    "same",
]

PathPart = str | int | Mapping[str, Any]
Path = tuple[PathPart, ...]


class _Missing:
    """The value of something that is not there (a removed item, an absent key)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __deepcopy__(self, memo: Any) -> _Missing:
        return self


#: Stands for "not there": the old value of an added item, the new value of a removed one.
MISSING: Final = _Missing()


@dataclass(frozen=True)
class Change:
    """One difference between two documents.

    ``old`` and ``new`` are the values at ``path`` before and after (:data:`MISSING` for an
    item added or removed). ``after`` is, for an added item, the selector of the item it
    followed (``None``: it came first). For ``order`` changes ``path`` is the list and ``old``
    and ``new`` are its selectors in their two orders.
    """

    path: Path
    old: Any
    new: Any
    after: Mapping[str, Any] | None = None
    order: bool = False


@dataclass(frozen=True)
class Conflict:
    """The same thing changed to different values on both sides.

    ``theirs`` is what the other side holds (and what the merged document keeps), ``ours``
    what this side wanted; either may be :data:`MISSING` (the item was removed there).
    """

    path: Path
    base: Any
    theirs: Any
    ours: Any
    after: Mapping[str, Any] | None = None
    order: bool = False


@dataclass
class Merged:
    """A merged document, the conflicts left for a person, and changes that could not apply."""

    doc: Any
    conflicts: list[Conflict] = field(default_factory=list)
    #: Changes whose place no longer exists and that carry no whole item to restore (undo of
    #: an edit to an item removed since): nothing to ask, nothing applied.
    skipped: list[Change] = field(default_factory=list)


def item_key(item: Any) -> dict[str, Any] | None:
    """The selector of a list item: its ``id``, or a journey map's persona and ICP."""
    if not isinstance(item, dict):
        return None
    if "id" in item and isinstance(item["id"], str):
        return {"id": item["id"]}
    if "persona" in item and isinstance(item["persona"], str):
        return {"persona": item["persona"], "icp": item.get("icp")}
    return None


def _hashable(key: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(key.items()))


def _matches(item: Any, key: Mapping[str, Any]) -> bool:
    return isinstance(item, dict) and all(item.get(k) == v for k, v in key.items())


def _keys(items: Sequence[Any]) -> list[dict[str, Any]] | None:
    """The selectors of a list's items, or None when the list is not keyed by unique ids."""
    keys = [item_key(i) for i in items]
    if any(k is None for k in keys):
        return None
    found = [k for k in keys if k is not None]
    if len({_hashable(k) for k in found}) != len(found):
        return None
    return found


# ------------------------------------------------------------------------------ reading


def get(doc: Any, path: Iterable[PathPart]) -> Any:
    """The value at ``path``, or :data:`MISSING` when any step of it is not there."""
    node = doc
    for part in path:
        if isinstance(part, Mapping):
            if not isinstance(node, list):
                return MISSING
            node = next((i for i in node if _matches(i, part)), MISSING)
        elif isinstance(node, dict) and isinstance(part, str):
            node = node.get(part, MISSING)
        elif isinstance(node, list) and isinstance(part, int):
            node = node[part] if -len(node) <= part < len(node) else MISSING
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


def put(doc: Any, path: Path, value: Any, *, after: Mapping[str, Any] | None = None) -> None:
    """Set the value at ``path`` in place (:data:`MISSING` removes it).

    A new list item goes after the item selected by ``after`` when that item is there, else
    at the end.

    Raises
    ------
    KeyError
        When the place that would hold the value does not exist.
    """
    if not path:
        raise KeyError("cannot replace the whole document")
    parent = get(doc, path[:-1])
    last = path[-1]
    if parent is MISSING:
        raise KeyError(f"no place for {path!r}")
    if isinstance(last, Mapping):
        if not isinstance(parent, list):
            raise KeyError(f"{path!r}: not a list")
        index = next((n for n, i in enumerate(parent) if _matches(i, last)), None)
        if value is MISSING:
            if index is not None:
                del parent[index]
        elif index is not None:
            parent[index] = value
        else:
            parent.insert(_insert_at(parent, after), value)
    elif isinstance(parent, dict) and isinstance(last, str):
        if value is MISSING:
            parent.pop(last, None)
        else:
            parent[last] = value
    elif isinstance(parent, list) and isinstance(last, int):
        if value is MISSING:
            del parent[last]
        else:
            parent[last] = value
    else:
        raise KeyError(f"{path!r}: no such place")


def _insert_at(items: list[Any], after: Mapping[str, Any] | None) -> int:
    if after is None:
        return len(items)
    for n, item in enumerate(items):
        if _matches(item, after):
            return n + 1
    return len(items)


# ------------------------------------------------------------------------------- diffing


def diff(old: Any, new: Any, path: Path = ()) -> list[Change]:
    """What changed from ``old`` to ``new``, as the smallest fields and items that differ.

    The top-level ``revision`` is not a change (every save raises it).
    """
    out: list[Change] = []
    _diff(old, new, path, out)
    if not path:
        out = [c for c in out if c.path != ("revision",)]
    return out


def _diff(old: Any, new: Any, path: Path, out: list[Change]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            _diff(old.get(key, MISSING), new.get(key, MISSING), (*path, key), out)
        return
    if isinstance(old, list) and isinstance(new, list):
        keys_old, keys_new = _keys(old), _keys(new)
        if keys_old is not None and keys_new is not None and (old or new):
            _diff_keyed(old, new, keys_old, keys_new, path, out)
            return
    out.append(Change(path, old, new))


def _diff_keyed(
    old: list[Any],
    new: list[Any],
    keys_old: list[dict[str, Any]],
    keys_new: list[dict[str, Any]],
    path: Path,
    out: list[Change],
) -> None:
    by_old = {_hashable(k): (k, i) for k, i in zip(keys_old, old, strict=True)}
    by_new = {_hashable(k): (k, i) for k, i in zip(keys_new, new, strict=True)}
    for h, (key, item) in by_old.items():
        if h not in by_new:
            out.append(Change((*path, key), item, MISSING))
        else:
            _diff(item, by_new[h][1], (*path, key), out)
    previous: dict[str, Any] | None = None
    for h, (key, item) in by_new.items():
        if h not in by_old:
            out.append(Change((*path, key), MISSING, item, after=previous))
        previous = key
    common_old = tuple(k for k in keys_old if _hashable(k) in by_new)
    common_new = tuple(k for k in keys_new if _hashable(k) in by_old)
    if common_old != common_new:
        out.append(Change(path, common_old, common_new, order=True))


def invert(changes: Sequence[Change]) -> list[Change]:
    """The changes that undo ``changes`` (applied in reverse order)."""
    out: list[Change] = []
    for c in reversed(changes):
        if c.order:
            out.append(Change(c.path, c.new, c.old, order=True))
        else:
            out.append(Change(c.path, c.new, c.old, after=c.after))
    return out


# ------------------------------------------------------------------------------ applying


def apply(
    doc: Any, changes: Sequence[Change], *, source: Any = MISSING, copy: bool = True
) -> Merged:
    """Replay ``changes`` onto ``doc``; where ``doc`` moved on differently, record a conflict.

    Parameters
    ----------
    doc
        The document to change (theirs). Copied first unless ``copy`` is False.
    changes
        What to replay (from :func:`diff`).
    source
        The whole document the changes came from (ours). When an edit lands in an item that
        ``doc`` no longer has, the conflict offers that item from ``source``; without it the
        change is skipped.
    """
    target = json.loads(json.dumps(doc)) if copy else doc
    result = Merged(target)
    escalated: set[str] = set()
    for change in changes:
        if change.order:
            _apply_order(target, change, result)
            continue
        current = get(target, change.path)
        if same(current, change.new):
            continue
        if same(current, change.old):
            try:
                put(target, change.path, change.new, after=change.after)
                continue
            except KeyError:
                pass  # the item holding it was removed there: handled below
        missing = _missing_ancestor(target, change.path)
        if missing is not None and missing != change.path:
            ours = get(source, missing)
            tag = repr(missing)
            if ours is MISSING:
                result.skipped.append(change)
            elif tag not in escalated:
                escalated.add(tag)
                result.conflicts.append(Conflict(missing, MISSING, MISSING, ours))
            continue
        result.conflicts.append(
            Conflict(change.path, change.old, current, change.new, after=change.after)
        )
    return result


def same(a: Any, b: Any) -> bool:
    """Equal values; :data:`MISSING` equals only itself (never ``None`` or empty)."""
    if a is MISSING or b is MISSING:
        return a is b
    return bool(a == b)


def _missing_ancestor(doc: Any, path: Path) -> Path | None:
    """The shortest prefix of ``path`` that is not in ``doc`` (None when all of it is)."""
    for n in range(1, len(path) + 1):
        if get(doc, path[:n]) is MISSING:
            return path[:n]
    return None


def _apply_order(target: Any, change: Change, result: Merged) -> None:
    items = get(target, change.path)
    if not isinstance(items, list):
        return
    present = {_hashable(k) for k in (item_key(i) for i in items) if k is not None}
    wanted = {_hashable(k) for k in change.new}
    current = tuple(
        k for k in (item_key(i) for i in items) if k is not None and _hashable(k) in wanted
    )
    new = tuple(k for k in change.new if _hashable(k) in present)
    old = tuple(k for k in change.old if _hashable(k) in present)
    if current == new:
        return
    if current != old:
        result.conflicts.append(Conflict(change.path, change.old, current, new, order=True))
        return
    reorder(items, new)


def reorder(items: list[Any], order: Sequence[Mapping[str, Any]]) -> None:
    """Put the items named by ``order`` in that order, in the places they hold; others stay."""
    wanted = [_hashable(k) for k in order]
    slots = [n for n, i in enumerate(items) if (k := item_key(i)) and _hashable(k) in wanted]
    by_key = {_hashable(item_key(items[n]) or {}): items[n] for n in slots}
    sequence = [by_key[h] for h in wanted if h in by_key]
    for n, item in zip(slots, sequence, strict=True):
        items[n] = item


def merge(base: Any, ours: Any, theirs: Any) -> Merged:
    """Replay onto ``theirs`` what ``ours`` changed since ``base`` (see the module's rules)."""
    return apply(theirs, diff(base, ours), source=ours)


def choose(doc: Any, conflict: Conflict, value: Any) -> None:
    """Settle ``conflict`` in ``doc`` (in place) with ``value`` (its ``ours`` or ``theirs``)."""
    if conflict.order:
        items = get(doc, conflict.path)
        if isinstance(items, list):
            reorder(items, value)
        return
    put(doc, conflict.path, value, after=conflict.after)
