"""The three-way merge, worked by hand on small documents shaped like workspace dumps."""

from __future__ import annotations

import copy
from typing import Any

from workbook.merge import MISSING, Change, apply, choose, diff, get, invert, merge


def _base() -> dict[str, Any]:
    return {
        "revision": 4,
        "client": {"name": "Acme", "industry": ""},
        "personas": [
            {"id": "priya", "name": "Priya", "goals": ["Close fast"]},
            {"id": "olu", "name": "Olu", "goals": []},
        ],
        "stages": [{"id": "aware", "name": "Aware"}, {"id": "buy", "name": "Buy"}],
        "journeys": [
            {"persona": "priya", "icp": None, "stages": {"aware": {"emotion": None}}},
        ],
    }


def test_disjoint_edits_are_both_kept() -> None:
    base = _base()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    ours["personas"][0]["name"] = "Priya P."
    theirs["client"]["industry"] = "Retail"
    theirs["revision"] = 5
    result = merge(base, ours, theirs)
    assert result.conflicts == []
    assert result.doc["personas"][0]["name"] == "Priya P."
    assert result.doc["client"]["industry"] == "Retail"
    assert result.doc["revision"] == 5  # the revision is never a change
    assert theirs["personas"][0]["name"] == "Priya"  # inputs are not changed


def test_same_field_to_different_values_is_a_conflict_keeping_theirs() -> None:
    base = _base()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    ours["journeys"][0]["stages"]["aware"]["emotion"] = 1.5
    theirs["journeys"][0]["stages"]["aware"]["emotion"] = -1.0
    result = merge(base, ours, theirs)
    path = ("journeys", {"persona": "priya", "icp": None}, "stages", "aware", "emotion")
    assert [(c.path, c.base, c.theirs, c.ours) for c in result.conflicts] == [
        (path, None, -1.0, 1.5)
    ]
    assert get(result.doc, path) == -1.0
    choose(result.doc, result.conflicts[0], result.conflicts[0].ours)
    assert get(result.doc, path) == 1.5


def test_same_field_to_the_same_value_is_no_conflict() -> None:
    base = _base()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    ours["personas"][1]["goals"] = ["Hire"]
    theirs["personas"][1]["goals"] = ["Hire"]
    result = merge(base, ours, theirs)
    assert result.conflicts == [] and result.doc["personas"][1]["goals"] == ["Hire"]


def test_a_list_of_lines_is_one_field() -> None:
    base = _base()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    ours["personas"][0]["goals"] = ["Close fast", "Hire"]
    theirs["personas"][0]["goals"] = ["Close fast", "Save"]
    result = merge(base, ours, theirs)
    assert [c.path for c in result.conflicts] == [("personas", {"id": "priya"}, "goals")]


def test_item_added_on_one_side_and_another_edited_on_the_other() -> None:
    base = _base()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    ours["personas"].insert(1, {"id": "sofia", "name": "Sofia", "goals": []})
    theirs["personas"][0]["name"] = "Priya the planner"
    theirs["personas"].append({"id": "graham", "name": "Graham", "goals": []})
    result = merge(base, ours, theirs)
    assert result.conflicts == []
    # Sofia goes after the item she followed on our side; Graham stays where they put him.
    assert [p["id"] for p in result.doc["personas"]] == ["priya", "sofia", "olu", "graham"]
    assert result.doc["personas"][0]["name"] == "Priya the planner"


def test_item_added_on_one_side_then_edited_there_is_kept_whole() -> None:
    base = _base()
    ours = copy.deepcopy(base)
    ours["stages"].append({"id": "stay", "name": "Stay"})
    theirs = copy.deepcopy(base)
    theirs["stages"][0]["name"] = "Awareness"
    result = merge(base, ours, theirs)
    assert [s["name"] for s in result.doc["stages"]] == ["Awareness", "Buy", "Stay"]


def test_item_removed_on_one_side_unchanged_on_the_other_is_removed() -> None:
    base = _base()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    del ours["personas"][1]
    theirs["personas"][0]["name"] = "P"
    result = merge(base, ours, theirs)
    assert result.conflicts == []
    assert [p["id"] for p in result.doc["personas"]] == ["priya"]


def test_item_removed_there_and_edited_here_asks_offering_the_edited_item() -> None:
    base = _base()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    ours["personas"][1]["name"] = "Olu the owner"
    ours["personas"][1]["goals"] = ["Grow"]
    del theirs["personas"][1]
    result = merge(base, ours, theirs)
    # One question for the item (not one per field), offering the whole edited item.
    assert len(result.conflicts) == 1
    conflict = result.conflicts[0]
    assert conflict.path == ("personas", {"id": "olu"})
    assert conflict.theirs is MISSING
    assert conflict.ours == {"id": "olu", "name": "Olu the owner", "goals": ["Grow"]}
    assert [p["id"] for p in result.doc["personas"]] == ["priya"]  # removal kept meanwhile
    choose(result.doc, conflict, conflict.ours)
    assert result.doc["personas"][1]["name"] == "Olu the owner"


def test_item_removed_here_and_edited_there_asks_too() -> None:
    base = _base()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    del ours["personas"][1]
    theirs["personas"][1]["name"] = "Olu the owner"
    result = merge(base, ours, theirs)
    assert [(c.path, c.ours) for c in result.conflicts] == [(("personas", {"id": "olu"}), MISSING)]
    assert result.doc["personas"][1]["name"] == "Olu the owner"  # theirs kept until chosen
    choose(result.doc, result.conflicts[0], MISSING)
    assert [p["id"] for p in result.doc["personas"]] == ["priya"]


def test_removed_on_both_sides_is_removed() -> None:
    base = _base()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    del ours["personas"][0]
    del theirs["personas"][0]
    result = merge(base, ours, theirs)
    assert result.conflicts == [] and [p["id"] for p in result.doc["personas"]] == ["olu"]


def test_edit_in_a_map_cell_removed_there_offers_the_cell() -> None:
    base = _base()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    ours["journeys"][0]["stages"]["aware"]["emotion"] = 2.0
    del theirs["journeys"][0]["stages"]["aware"]
    result = merge(base, ours, theirs)
    cell = ("journeys", {"persona": "priya", "icp": None}, "stages", "aware")
    assert [(c.path, c.ours) for c in result.conflicts] == [(cell, {"emotion": 2.0})]


def test_same_id_added_on_both_sides_differently_is_a_conflict() -> None:
    base = _base()
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    ours["personas"].append({"id": "sam", "name": "Sam A", "goals": []})
    theirs["personas"].append({"id": "sam", "name": "Sam B", "goals": []})
    result = merge(base, ours, theirs)
    assert [c.path for c in result.conflicts] == [("personas", {"id": "sam"})]
    assert result.doc["personas"][-1]["name"] == "Sam B"


def test_order_changed_on_one_side_is_kept_and_on_both_differently_asks() -> None:
    base = _base()
    base["stages"].append({"id": "stay", "name": "Stay"})
    ours, theirs = copy.deepcopy(base), copy.deepcopy(base)
    ours["stages"] = [ours["stages"][i] for i in (1, 0, 2)]
    theirs["stages"][2]["name"] = "Retain"
    result = merge(base, ours, theirs)
    assert [s["id"] for s in result.doc["stages"]] == ["buy", "aware", "stay"]
    assert result.doc["stages"][2]["name"] == "Retain"
    theirs["stages"] = [theirs["stages"][i] for i in (0, 2, 1)]
    result = merge(base, ours, theirs)
    assert [c.order for c in result.conflicts] == [True]
    assert [s["id"] for s in result.doc["stages"]] == ["aware", "stay", "buy"]


def test_undo_is_the_inverse_replayed_over_later_changes() -> None:
    base = _base()
    after = copy.deepcopy(base)
    after["personas"][0]["name"] = "Priya P."
    after["personas"].append({"id": "sam", "name": "Sam", "goals": []})
    changes = diff(base, after)
    assert [c.path for c in changes] == [
        ("personas", {"id": "priya"}, "name"),
        ("personas", {"id": "sam"}),
    ]
    later = copy.deepcopy(after)
    later["client"]["industry"] = "Retail"  # someone else, afterwards
    undone = apply(later, invert(changes))
    assert undone.conflicts == []
    assert undone.doc["personas"] == base["personas"]
    assert undone.doc["client"]["industry"] == "Retail"
    redone = apply(undone.doc, changes)
    assert redone.doc["personas"] == after["personas"]


def test_undo_of_a_field_someone_changed_since_is_a_conflict() -> None:
    base = _base()
    after = copy.deepcopy(base)
    after["client"]["name"] = "Acme Ltd"
    later = copy.deepcopy(after)
    later["client"]["name"] = "Acme Group"
    undone = apply(later, invert(diff(base, after)))
    assert [(c.theirs, c.ours) for c in undone.conflicts] == [("Acme Group", "Acme")]


def test_undo_of_an_edit_to_an_item_removed_since_is_skipped() -> None:
    base = _base()
    after = copy.deepcopy(base)
    after["personas"][1]["name"] = "Olu O."
    later = copy.deepcopy(after)
    del later["personas"][1]
    undone = apply(later, invert(diff(base, after)))
    assert undone.conflicts == [] and len(undone.skipped) == 1
    assert [p["id"] for p in undone.doc["personas"]] == ["priya"]


def test_lists_without_ids_are_one_field() -> None:
    changes = diff({"log": [{"note": "a"}]}, {"log": [{"note": "a"}, {"note": "b"}]})
    assert changes == [Change(("log",), [{"note": "a"}], [{"note": "a"}, {"note": "b"}])]
