"""The store's fast writer: the same text as PyYAML's emitter, to the byte, in a fraction of
the time (``benchmarks/forms.py`` measures it)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workbook import model, store

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [
    ROOT / "data" / "demo" / "workspace.yaml",
    *sorted((ROOT / "templates" / "workspaces").glob("*.yaml")),
]

# Texts YAML reads as something else, or must quote, fold or escape.
TRICKY = [
    "",
    " ",
    "yes",
    "No",
    "on",
    "~",
    "null",
    "true",
    "1e3",
    "0x1F",
    "0o17",
    "1_000",
    ".5",
    "-",
    "- dash",
    "? q",
    ": colon",
    "a: b",
    "a:b",
    "trail:",
    "#hash",
    "a #not",
    "'single'",
    '"double"',
    "@at",
    "`tick",
    "%pct",
    "!tag",
    "&anchor",
    "*alias",
    "|pipe",
    ">fold",
    "[x]",
    "{x}",
    "a, b",
    "2027-03-31",
    "2027-03-31 12:30:00",
    "12:30",
    " lead",
    "trail ",
    "a\nb",
    "a\n\nb\n",
    "a\r\nb",
    "x\u2028y",
    "x\x85y",
    "tab\there",
    "\ttab",
    "emoji 🏋️ here",
    "caf\u00e9",
    "\ufeffbom",
    "\x07bell",
    "...",
    "---",
    "a  b",
    "line\n  indented\n",
]


def _sentences(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Long texts of short words: PyYAML folds them at a space past column 100."""
    return st.lists(
        st.one_of(
            st.sampled_from(["a", "word", "longer-word", "x" * 30, "", "#", ":", "-", "é"]),
            st.text(alphabet=alphabet, max_size=8),
        ),
        min_size=10,
        max_size=60,
    ).map(" ".join)


_printable = st.characters(blacklist_categories=("Cs", "Cc"))
_words = _sentences(st.characters(blacklist_categories=("Cs",)))
_texts = st.one_of(
    st.sampled_from(TRICKY),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    _words,
    st.lists(st.sampled_from(TRICKY), max_size=4).map("\n".join),
)
_scalars = st.one_of(
    _texts,
    st.integers(),
    st.floats(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.UTC)),
)
_keys = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True),
    st.sampled_from(["yes", "null", "1", "a: b", "", "x" * 130, "a\nb"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=25,
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=st.dictionaries(_keys, _values, max_size=6))
@example(doc={"a": 1, "b": {"c": "x\n\ny\n\n"}})  # a block that keeps its line breaks (|+)
@example(doc={"a": [], "b": {}, "c": [{}, []], "d": {"e": []}})
def test_fast_writer_writes_what_pyyaml_writes(doc: dict[str, Any]) -> None:
    assert store._fast_body(doc) == store._pyyaml_body(doc)


@pytest.mark.parametrize("file", SHIPPED, ids=lambda p: p.parent.name + "/" + p.name)
def test_shipped_workspaces_are_written_the_same_both_ways(file: Path) -> None:
    text = file.read_text(encoding="utf-8")
    ws = store.loads(text)
    header = store.leading_comments(text)
    assert store.dumps(ws, header=header) == store.dumps(ws, header=header, pyyaml=True)


_line = st.one_of(
    st.sampled_from([t for t in TRICKY if t.strip() and not model._CONTROL_IN_LINE.search(t)]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60),
    _sentences(_printable),
).filter(lambda s: s.strip())
_long = st.one_of(
    st.sampled_from([t for t in TRICKY if not model._CONTROL_IN_TEXT.search(t)]),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\t\n\r"),
        max_size=80,
    ),
    _sentences(_printable),
)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    name=_line,
    summary=_long,
    goals=st.lists(_long, max_size=4),
    touchpoint=_line,
    target=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    due=st.one_of(st.none(), st.dates()),
    emotion=st.one_of(st.none(), st.sampled_from([-2.0, -1.5, 0.0, -0.0, 0.5, 2.0])),
)
def test_demo_with_any_edit_is_written_the_same_both_ways(
    name: str,
    summary: str,
    goals: list[str],
    touchpoint: str,
    target: float | None,
    due: dt.date | None,
    emotion: float | None,
) -> None:
    ws = store.loads(SHIPPED[0].read_text(encoding="utf-8"))
    persona = ws.personas[1]
    persona.name = name
    persona.summary = summary
    persona.goals = goals
    ws.touchpoints[3].name = touchpoint
    ws.objectives[0].target = target
    ws.objectives[2].due = due
    next(iter(ws.journeys[0].stages.values())).emotion = emotion
    fast = store.dumps(ws)
    assert fast == store.dumps(ws, pyyaml=True)
    assert store.loads(fast) == ws


def test_one_date_used_twice_is_written_out_twice_not_as_an_alias() -> None:
    due = dt.date(2027, 3, 31)
    ws = model.Workspace(
        client=model.Client(name="A", slug="a"),
        objectives=[
            model.Objective(id="one", title="One", due=due),
            model.Objective(id="two", title="Two", due=due),
        ],
    )
    for pyyaml in (False, True):
        text = store.dumps(ws, pyyaml=pyyaml)
        assert text.count("due: 2027-03-31\n") == 2
        assert "&" not in text and "*" not in text
        assert store.loads(text) == ws  # the loader refuses anchors: this would fail


def test_a_one_field_edit_is_written_without_emitting_the_rest_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "_SCALARS", {})  # as in a fresh kernel
    shutil.copytree(ROOT / "data" / "demo", tmp_path / "demo")
    ws = store.open_workspace(tmp_path / "demo")
    ws.data.personas[0].summary = "First edit."
    assert ws.save()
    emitted: list[str] = []
    original = yaml.emitter.Emitter.process_scalar

    def counting(self: Any) -> None:
        emitted.append(self.event.value)
        original(self)

    monkeypatch.setattr(yaml.emitter.Emitter, "process_scalar", counting)
    ws.data.personas[0].summary = "Second edit, the only text written again"
    assert ws.save()
    # the new revision number and the new text: everything else was written before
    assert emitted == [str(ws.revision), "Second edit, the only text written again"]
    text = ws.file.read_text(encoding="utf-8")
    assert "summary: Second edit, the only text written again\n" in text
    assert store.open_workspace(tmp_path / "demo").data == ws.data


def test_threads_writing_at_once_each_get_their_own_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(store, "_SCALARS", {})  # nothing written yet: every scalar is emitted
    base = store.loads(SHIPPED[0].read_text(encoding="utf-8"))
    copies = []
    for i in range(6):
        ws = base.model_copy(deep=True)
        for persona in ws.personas:
            persona.summary = f"Thread {i}: " + " ".join(f"word{i}{k}" for k in range(60))
        copies.append(ws)
    expected = [store.dumps(ws, pyyaml=True) for ws in copies]
    monkeypatch.setattr(store, "_SCALARS", {})
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(store.dumps, copies))
    assert got == expected
