"""The Spark import imports every source the DuckDB import does (issue 20).

One history of 1,500 contacts is exported as HubSpot contacts (saved as an Excel workbook),
a Salesforce opportunity history, Salesforce contact roles and Pipedrive deals, and the same
four files are imported in the same order into two copies of the demo workspace, one per
engine. The contact roles merge people the opportunity history knew under their
opportunity: both engines then rewrite that source (the relink). The Pipedrive file has
ragged rows and bad values planted in it: it is refused with the same problems, then
imported with the bad rows set aside into the same rejects file. Every table of every
source, every derived table, every import's summary and manifest entry, and a few analytics
questions must then be the same.

Spark's fixed cost per import (some 20-40 s here on ``local[2]``) sets the time: the one
sequence serves every test. It reuses ``tests/test_spark.py``'s session, workspace copies
and comparisons.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_spark import _demo_copy, _frame, _same, _tables, spark  # noqa: F401

from workbook import analytics as A
from workbook.analytics import Engine
from workbook.exceptions import CrmImportError

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

#: The exports, in the order both engines import them: the contact roles come after the
#: opportunity history whose people they merge.
ORDER = ("hubspot", "salesforce", "salesforce-roles", "pipedrive")
RAGGED = "the row has a different number of columns than the header"
#: The problem planted at each data row of the Pipedrive file (1-based, as a person counts
#: the rows), as the rejects file words it.
PLANTED = {
    5: RAGGED,  # a field too many
    10: RAGGED,  # cut off after five fields
    15: "the amount is negative",
    20: "the amount is not a number",
    25: "cannot read the date",
    30: "a stage name the workspace does not know (the import's summary names it)",
    35: "duplicate Deal - ID",
}


def _plant(path: Path) -> None:
    """Write :data:`PLANTED`'s problems into a Pipedrive export, in place."""
    with path.open(encoding="utf-8", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    col = header.index
    # a line break inside a quoted value is no ragged row: the rows keep their numbers
    rows[1][col("Deal - Title")] = rows[1][col("Deal - Title")].replace(" ", "\n", 1)
    rows[4] = [*rows[4], "extra"]
    rows[9] = rows[9][:5]
    rows[14][col("Deal - Value")] = "-12"
    rows[19][col("Deal - Value")] = "lots"
    rows[24][col("Deal - Deal created")] = "31/31/2026"
    rows[29][col("Deal - Stage")] = "Nirvana"
    rows[34][col("Deal - ID")] = rows[33][col("Deal - ID")]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(text.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from workbook.crm.demo import DEMO_END
    from workbook.crm.generate import generate, write_exports
    from workbook.store import read_workspace

    folder = tmp_path_factory.mktemp("exports")
    sample = generate(
        read_workspace(DEMO), contacts=1500, seed=2020, currency="GBP", end=DEMO_END, plant=True
    )
    paths = write_exports([sample], ORDER, folder)
    # the contacts as a client saves them from Excel: every cell text, as in the CSV file
    contacts = pd.read_csv(paths["hubspot"], dtype=str, keep_default_na=False)
    xlsx = folder / "hubspot-contacts.xlsx"
    contacts.to_excel(xlsx, index=False)
    paths["hubspot"] = xlsx
    _plant(paths["pipedrive"])
    return paths


@pytest.fixture(scope="module")
def imported(
    spark: Any,  # noqa: F811
    exports: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """The four exports imported in order by each engine, the Pipedrive file first refused
    and then imported setting its bad rows aside."""
    from workbook.crm.importer import import_file
    from workbook.crm.spark.importer import import_events

    base = tmp_path_factory.mktemp("engines")
    duck, spk = _demo_copy(base / "duckdb"), _demo_copy(base / "spark")
    a, b = [], []
    out: dict[str, Any] = {"duck": duck, "spark": spk, "a": a, "b": b}
    for fmt in ORDER:
        if fmt == "pipedrive":
            with pytest.raises(CrmImportError) as want:
                import_file(duck, exports[fmt], currency="GBP")
            with pytest.raises(CrmImportError) as got:
                import_events(spk, str(exports[fmt]), spark=spark, currency="GBP")
            out |= {"want": want.value, "got": got.value, "sources": _manifest(spk)}
        aside = fmt == "pipedrive"
        a.append(import_file(duck, exports[fmt], currency="GBP", set_aside_bad_rows=aside))
        b.append(
            import_events(
                spk, str(exports[fmt]), spark=spark, currency="GBP", set_aside_bad_rows=aside
            )
        )
    return out


def _manifest(ws: Path) -> dict[str, Any]:
    from workbook.crm.storage import read_manifest

    return read_manifest(ws)


def test_every_import_says_the_same(imported: dict[str, Any]) -> None:
    a, b = imported["a"], imported["b"]
    assert [r.system for r in a] == ["hubspot", "salesforce", "salesforce-roles", "pipedrive"]
    for x, y in zip(a, b, strict=True):
        assert y.lines() == x.lines()
        assert (y.rows_read, y.rows_rejected, y.tables, y.derived) == (
            x.rows_read,
            x.rows_rejected,
            x.tables,
            x.derived,
        )
        assert y.people is not None and x.people is not None
        assert y.people.as_dict() == x.people.as_dict()
    # the Excel workbook: every contact read
    assert a[0].file.endswith(".xlsx") and a[0].rows_read == a[0].tables["contacts"] == 1500
    # the contact roles merged the opportunity history's people into those of HubSpot
    assert a[2].people.relinked == a[1].tables["contacts"] > 0


def test_every_manifest_entry_is_the_same(imported: dict[str, Any]) -> None:
    want, got = _manifest(imported["duck"]), _manifest(imported["spark"])
    assert sorted(got["sources"]) == sorted(want["sources"])
    assert sorted(want["sources"]) == sorted(r.source_id for r in imported["a"])
    for sid, entry in want["sources"].items():
        other = dict(got["sources"][sid])
        assert other.pop("engine") == "spark"
        assert "engine" not in entry
        other.pop("imported_at")
        assert other == {k: v for k, v in entry.items() if k != "imported_at"}, sid
    assert got["derived_from"] == want["derived_from"]


def test_every_table_holds_the_same_rows(imported: dict[str, Any]) -> None:
    duck, spk, a = imported["duck"], imported["spark"], imported["a"]
    rels = sorted({rel for r in a for rel in _tables(r.source_id)})
    compared = 0
    for rel in rels:
        if not (duck / "data" / rel).exists():  # contact roles: no events, no deals
            assert not (spk / "data" / rel).exists(), rel
            continue
        left, right = _frame(duck / "data" / rel), _frame(spk / "data" / rel)
        assert list(left.columns) == list(right.columns), rel
        assert len(left) == len(right), rel
        pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=1e-9, atol=1e-9, obj=rel)
        compared += 1
    assert compared >= 4 * 2 + 4
    # the relinked opportunity history: its contacts are now people HubSpot knows
    people = {
        r.system: set(_frame(spk / "data" / f"sources/{r.source_id}/contacts.parquet").contact_id)
        for r in a
    }
    assert people["salesforce"] <= people["hubspot"]


@pytest.mark.parametrize(
    ("question", "kwargs"),
    [
        ("funnel", {}),
        ("time_to_close", {}),
        ("lead_sources", {}),
        ("lead_scores", {}),
        ("people_by_sources", {}),
    ],
    ids=lambda v: str(v or ""),
)
def test_the_questions_have_the_same_answers(
    imported: dict[str, Any],
    spark: Any,  # noqa: F811
    question: str,
    kwargs: dict[str, Any],
) -> None:
    from workbook.analytics.spark_engine import SparkEngine
    from workbook.store import read_workspace

    duck, spk = imported["duck"], imported["spark"]
    want = getattr(A, question)(Engine(duck, read_workspace(duck)), **kwargs)
    got = getattr(A, question)(SparkEngine(spk, read_workspace(spk), spark=spark), **kwargs)
    assert len(want) > 0
    assert _same(want, got, question) == []


def test_ragged_and_bad_rows_are_refused_in_the_same_words(imported: dict[str, Any]) -> None:
    want, got = imported["want"], imported["got"]
    assert got.message == want.message
    assert [str(p) for p in got.problems] == [str(p) for p in want.problems]
    # each planted problem at its row; the two ragged rows are one problem of two rows
    said = {(p.row, p.message) for p in want.problems}
    for row, message in (
        (5, f"{RAGGED} (2 rows, first at rows 5, 10)"),
        (15, "the amount is negative"),
        (20, "the amount is not a number"),
        (25, "cannot read the date"),
        (30, "unknown stage 'Nirvana'"),
        (35, "duplicate Deal - ID"),
    ):
        assert (row, message) in said
    # nothing was changed by the refusal
    assert "pipedrive-deals" not in imported["sources"]["sources"]


def test_bad_rows_are_set_aside_alike(imported: dict[str, Any]) -> None:
    duck, spk = imported["duck"], imported["spark"]
    a, b = imported["a"][-1], imported["b"][-1]
    assert a.rows_rejected == b.rows_rejected == len(PLANTED)
    rejects = f"data/rejects/{a.source_id}.csv"
    text = (duck / rejects).read_text()
    assert (spk / rejects).read_text() == text
    listed = {int(r["row"]): r["problem"] for r in csv.DictReader(io.StringIO(text))}
    assert listed == PLANTED


def test_a_csv_file_is_read_whole_unless_a_long_event_file_of_many_splits(
    spark: Any,  # noqa: F811
    exports: dict[str, Path],
    tmp_path: Path,
) -> None:
    """A file of one split, or a CRM's contacts or deals, is read in one task, which reads
    line breaks inside quoted values; a long event file larger than a split in parallel."""
    from workbook.crm.sniff import sniff
    from workbook.crm.spark.importer import _whole

    split = 4 << 20  # a file under Spark's cost of opening one is never cut (openCostInBytes)
    events = tmp_path / "events.csv"
    events.write_text("contact_id,timestamp,kind,stage\nc1,2026-01-05 10:00:00,stage,awareness\n")
    deals, events_ = sniff(exports["pipedrive"]), sniff(events)
    assert _whole(spark, deals, 1000, None) and _whole(spark, events_, split, None)
    assert _whole(spark, deals, split + 1, None)
    assert not _whole(spark, events_, split + 1, None)
    assert not _whole(spark, events_, split + 1, "generic")
    assert _whole(spark, events_, split + 1, "pipedrive")  # as the user names it
    assert not _whole(spark, sniff(exports["hubspot"]), 1000, None)  # Excel: not CSV
