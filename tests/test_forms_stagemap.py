"""The data step's stage-map editor: the client's stage names no stage takes yet, a stage or
"ignore" for each, saved into the workspace at once, then the import goes through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from workbook.crm import schema
from workbook.forms import Form
from workbook.forms import data as data_form
from workbook.store import OpenWorkspace, new_workspace, open_workspace

EXPORT = (
    "Record ID,First Name,Lifecycle Stage,Became a Lead Date,Became a Trialist Date,"
    "Became a Customer Date,Became a Partner Date\n"
    "1,Ann,Customer,2025-01-01 10:00,2025-01-05 10:00,2025-02-01 10:00,\n"
    "2,Bob,trialist,2025-01-02 10:00,2025-01-06 10:00,,\n"
    "3,Cy,Partner,2025-01-03 10:00,,,2025-01-10 10:00\n"
)


@pytest.fixture
def ws(tmp_path: Path) -> OpenWorkspace:
    return new_workspace("Client", preset="b2b-saas", directory=tmp_path / "ws")


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "hubspot-contacts.csv"
    path.write_text(EXPORT, encoding="utf-8")
    return path


def reopened(ws: OpenWorkspace) -> Any:
    return open_workspace(ws.path).data


def assert_clean(form: Form) -> None:
    assert form.callback_errors == []
    assert form.error_label.value == ""
    assert form.conflict == ""


def choices(form: Form) -> dict[str, Any]:
    return {w.description: w for w in form.find("wb-stagemap-choice")}


def test_unmapped_names_are_listed_picked_saved_and_imported(
    ws: OpenWorkspace, export: Path
) -> None:
    form = data_form.form(ws)
    assert choices(form) == {}  # nothing to map before a file is tried
    form.one("wb-data-file").value = str(export)
    form.one("wb-import").click()
    assert "Not imported" in form.one("wb-data-result").value
    assert not reopened(ws).data_sources
    picks = choices(form)
    assert sorted(picks) == ["Partner", "Trialist"]
    assert "2 stage names" in form.one("wb-stagemap").children[0].value
    options = [label for label, _ in picks["Trialist"].options]
    assert options[1:7] == [s.name for s in ws.data.stages] and "ignore" in options[-1]

    # each pick is saved at once, as the other forms save
    revision = reopened(ws).revision
    picks["Trialist"].value = "evaluation"
    saved = reopened(ws)
    assert saved.revision == revision + 1
    assert saved.stage("evaluation").aliases[-1] == "Trialist"
    picks["Partner"].value = "advocacy"
    assert reopened(ws).stage("advocacy").aliases[-1] == "Partner"
    # changing one's mind moves the name: from the stage to the ignored names
    picks["Partner"].value = data_form.IGNORE_CHOICE
    saved = reopened(ws)
    assert "Partner" not in saved.stage("advocacy").aliases
    assert [i.name for i in saved.ignored_stage_names] == ["Partner"]
    assert saved.ignored_stage_names[0].reason
    assert form.revision == saved.revision
    assert_clean(form)

    form.one("wb-import").click()
    assert "imported as" in form.one("wb-data-result").value
    assert choices(form) == {}  # all mapped: the editor is empty again
    entries = pq.read_table(schema.derived_path(ws.path, "stage_entries")).to_pandas()
    # by hand: all three were leads, Ann and Bob trialists (evaluation), Ann a customer
    # (onboarding in this preset); Cy's Partner date is skipped
    assert entries.groupby("stage").contact_id.nunique().to_dict() == {
        "awareness": 3,
        "evaluation": 2,
        "onboarding": 1,
    }
    assert [s.file for s in reopened(ws).data_sources] == [export.name]
    assert_clean(form)


def test_leaving_a_name_unpicked_keeps_it_listed(ws: OpenWorkspace, export: Path) -> None:
    form = data_form.form(ws)
    form.one("wb-data-file").value = str(export)
    form.one("wb-import").click()
    choices(form)["Trialist"].value = "evaluation"
    form.one("wb-import").click()
    assert "Not imported" in form.one("wb-data-result").value
    assert sorted(choices(form)) == ["Partner"]
    assert not reopened(ws).data_sources
    # back to "choose a stage": the alias goes again
    picks = choices(form)
    picks["Partner"].value = "advocacy"
    picks["Partner"].value = picks["Partner"].options[0][1]
    assert "Partner" not in reopened(ws).stage("advocacy").aliases
    assert_clean(form)
