"""Who a contact is, and that nothing depends on the order of a file's rows.

- Pipedrive deals are a person's (``Person - ID``), or an organisation's when no person is
  linked; never a display name, which two people can share and one person can spell twice.
- A HubSpot export with no date at all (no stage date, no create date) is refused.
- Shuffling an export's rows, ties on the same second included, changes no table and no
  number: every reader breaks a tie by the events' content, never by their row.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbook import analytics
from workbook.crm import schema
from workbook.crm.demo import demo_without_data
from workbook.crm.generate import generate, write_export
from workbook.crm.importer import import_file
from workbook.exceptions import CrmImportError
from workbook.store import open_workspace

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
SALT = b"0123456789abcdef" * 2
#: Columns that hold a row's number in the file, not its content (none in the tables today;
#: the rejects file has them, and is not compared).
ROW_COLUMNS = ("__row", "row")


def _workspace(folder: Path) -> Path:
    """A fresh workspace with the demo client's stages and touchpoints, and a fixed salt (so
    two workspaces give the same pseudonyms)."""
    folder.mkdir(parents=True)
    demo_without_data(folder, DEMO)
    (schema.data_dir(folder)).mkdir(parents=True, exist_ok=True)
    (schema.data_dir(folder) / ".salt").write_bytes(SALT)
    return folder


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _snapshot(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


# -- Pipedrive: contacts are people -------------------------------------------------------

PD_HEADER = [
    "Deal - ID",
    "Deal - Title",
    "Deal - Value",
    "Deal - Currency",
    "Deal - Stage",
    "Deal - Status",
    "Deal - Deal created",
    "Deal - Won time",
    "Deal - Lost time",
    "Deal - Contact person",
    "Deal - Organization",
    "Person - ID",
    "Organization - ID",
]
#: Where Pipedrive puts the ids: the person's and organisation's own fields added to the
#: export ("Person - ID"), or the deal's link fields with their ids ("Deal - Contact person ID").
ID_COLUMNS = {
    "person-fields": ("Person - ID", "Organization - ID"),
    "deal-link-ids": ("Deal - Contact person ID", "Deal - Organization ID"),
}


def _pd_file(path: Path, rows: list[list[str]], layout: str = "person-fields") -> Path:
    header = PD_HEADER[:-2] + list(ID_COLUMNS[layout])
    return _write(path, header, rows)


def _pd_row(
    deal: int, stage: str, status: str, name: str, person: str, org: str = "", org_id: str = ""
) -> list[str]:
    created = f"2025-02-{deal:02d} 09:00:00"
    won = f"2025-03-{deal:02d} 09:00:00" if status == "won" else ""
    lost = f"2025-03-{deal:02d} 09:00:00" if status == "lost" else ""
    title = f"{org or name} deal"
    return [str(deal), title, "1000", "EUR", stage, status, created, won, lost, name, org] + [
        person,
        org_id,
    ]


@pytest.mark.parametrize("layout", list(ID_COLUMNS))
def test_pipedrive_contacts_are_person_ids_not_names(tmp_path: Path, layout: str) -> None:
    """Three people called Sam Lee are three contacts; Joanna Park, written once as 'Jo
    Park', is one: five people, five contacts. Keyed on the name they would be four (one Sam
    Lee, Joanna Park, Jo Park, Ravi Shah)."""
    person_col = ID_COLUMNS[layout][0]
    rows = [
        _pd_row(1, "Lead In", "won", "Sam Lee", "101", "Acme", "9"),
        _pd_row(2, "Contact Made", "lost", "Sam Lee", "101", "Acme", "9"),
        _pd_row(3, "Lead In", "open", "Sam Lee", "102", "Birch Ltd", "10"),
        _pd_row(4, "Proposal Made", "won", "Joanna Park", "103", "Cedar", "11"),
        _pd_row(5, "Lead In", "lost", "Jo Park", "103", "Cedar", "11"),
        _pd_row(6, "Contact Made", "open", "Ravi Shah", "104", "", ""),
        _pd_row(7, "Lead In", "open", "Sam Lee", "105", "", ""),
    ]
    path = _pd_file(tmp_path / "pipedrive-deals.csv", rows, layout)
    ws = _workspace(tmp_path / "client")
    result = import_file(ws, path)

    frame = pd.read_csv(path, dtype=str)
    people = frame[person_col].nunique()
    assert people == 5
    contacts = pq.read_table(schema.source_dir(ws, result.source_id) / "contacts.parquet")
    assert contacts.num_rows == people
    deals = pq.read_table(schema.source_dir(ws, result.source_id) / "deals.parquet").to_pandas()
    deals["person"] = deals["deal_id"].map(frame.set_index("Deal - ID")[person_col])
    # the deals of one person share one contact; each person has a contact of their own
    per_person = deals.groupby("person")["contact_id"].nunique()
    assert (per_person == 1).all()
    assert deals.groupby("contact_id")["person"].nunique().max() == 1
    assert deals["contact_id"].nunique() == people


def test_pipedrive_deal_without_a_person_is_its_organisations(tmp_path: Path) -> None:
    """A deal linked to an organisation only belongs to the organisation: all its
    person-less deals are one contact, apart from every person."""
    rows = [
        _pd_row(1, "Lead In", "won", "Sam Lee", "101", "Acme", "9"),
        _pd_row(2, "Lead In", "open", "", "", "Acme", "9"),
        _pd_row(3, "Contact Made", "lost", "", "", "Acme", "9"),
        _pd_row(4, "Lead In", "open", "", "", "Birch Ltd", "10"),
    ]
    path = _write(tmp_path / "pipedrive-deals.csv", PD_HEADER, rows)
    ws = _workspace(tmp_path / "client")
    result = import_file(ws, path)
    frame = pd.read_csv(path, dtype=str)
    expected = frame["Person - ID"].dropna().nunique() + (
        frame.loc[frame["Person - ID"].isna(), "Organization - ID"].nunique()
    )
    assert expected == 3
    contacts = pq.read_table(schema.source_dir(ws, result.source_id) / "contacts.parquet")
    assert contacts.num_rows == expected
    deals = pq.read_table(schema.source_dir(ws, result.source_id) / "deals.parquet").to_pandas()
    by_deal = deals.set_index("deal_id")["contact_id"]
    assert by_deal["2"] == by_deal["3"]  # Acme's two deals without a person
    assert len({by_deal["1"], by_deal["2"], by_deal["4"]}) == 3


def test_pipedrive_without_id_columns_is_refused(tmp_path: Path) -> None:
    """Names alone cannot tell people apart: the file is refused, and the error says which
    columns it looked for and what to do; the workspace is untouched."""
    header = [h for h in PD_HEADER if h not in ("Person - ID", "Organization - ID")]
    rows = [r[:-2] for r in (_pd_row(1, "Lead In", "won", "Sam Lee", "101"),)]
    path = _write(tmp_path / "pipedrive-deals.csv", header, rows)
    ws = _workspace(tmp_path / "client")
    before = _snapshot(ws)
    with pytest.raises(CrmImportError) as info:
        import_file(ws, path)
    text = str(info.value)
    assert "pipedrive-deals.csv" in text
    assert "Person - ID" in text and "Organization - ID" in text
    problem = info.value.errors[0]
    assert problem.file == "pipedrive-deals.csv" and problem.hint
    assert "export" in problem.hint.lower()
    assert _snapshot(ws) == before


def test_pipedrive_row_with_neither_person_nor_organisation(tmp_path: Path) -> None:
    rows = [
        _pd_row(1, "Lead In", "won", "Sam Lee", "101", "Acme", "9"),
        _pd_row(2, "Lead In", "open", "Kim Wu", "", "", ""),
    ]
    path = _write(tmp_path / "pipedrive-deals.csv", PD_HEADER, rows)
    ws = _workspace(tmp_path / "client")
    with pytest.raises(CrmImportError) as info:
        import_file(ws, path)
    problem = info.value.errors[0]
    assert problem.row == 2 and problem.column == "Person - ID"
    assert "person" in str(problem).lower() and "organization" in str(problem).lower()
    result = import_file(ws, path, set_aside_bad_rows=True)
    assert result.rows_rejected == 1 and result.tables["contacts"] == 1


def test_generated_pipedrive_export_has_one_contact_per_person(tmp_path: Path) -> None:
    model = open_workspace(DEMO).data
    sample = generate(model, contacts=300, seed=5)
    path = write_export(sample, "pipedrive", tmp_path / "export")
    frame = pd.read_csv(path, dtype=str)
    assert "Person - ID" in frame.columns
    ws = _workspace(tmp_path / "client")
    result = import_file(ws, path)
    assert result.tables["contacts"] == frame["Person - ID"].nunique()
    deals = pq.read_table(schema.source_dir(ws, result.source_id) / "deals.parquet").to_pandas()
    person = deals["deal_id"].map(frame.set_index("Deal - ID")["Person - ID"])
    assert deals.assign(person=person).groupby("person")["contact_id"].nunique().max() == 1


# -- HubSpot: no date at all ---------------------------------------------------------------


@pytest.mark.parametrize(
    "header, rows",
    [
        (
            ["Record ID", "First Name", "Lifecycle Stage", "Became a Lead Date"],
            [["1", "Ann", "Lead", ""], ["2", "Bob", "Lead", ""]],
        ),
        (
            ["Record ID", "Lifecycle Stage", "Became a Lead Date", "Became a Customer Date"],
            [["1", "Lead", "", ""], ["2", "Customer", "", ""]],
        ),
        (
            ["Record ID", "Lifecycle Stage", "Became a Lead Date", "Create Date"],
            [["1", "Lead", "", ""], ["2", "Lead", "", ""]],
        ),
    ],
    ids=["lead-date-empty", "stage-dates-empty", "create-date-empty"],
)
def test_hubspot_without_any_date_is_refused(
    tmp_path: Path, header: list[str], rows: list[list[str]]
) -> None:
    path = _write(tmp_path / "hubspot-contacts.csv", header, rows)
    ws = _workspace(tmp_path / "client")
    yaml_before = (ws / "workspace.yaml").read_bytes()
    before = _snapshot(ws)
    with pytest.raises(CrmImportError) as info:
        import_file(ws, path)
    text = str(info.value)
    assert "hubspot-contacts.csv" in text
    # it names the date columns it looked for, and what to do
    for col in [h for h in header if h.startswith("Became")] + ["Create Date"]:
        assert col in text
    problem = info.value.errors[0]
    assert problem.file == "hubspot-contacts.csv" and problem.hint
    assert _snapshot(ws) == before
    assert (ws / "workspace.yaml").read_bytes() == yaml_before


def test_hubspot_with_only_a_create_date_imports(tmp_path: Path) -> None:
    """The create date alone is a date: such a file is not refused."""
    path = _write(
        tmp_path / "hubspot-contacts.csv",
        ["Record ID", "Lifecycle Stage", "Became a Lead Date", "Create Date"],
        [["1", "Lead", "", "2025-01-02"], ["2", "Lead", "2025-01-03", ""]],
    )
    result = import_file(_workspace(tmp_path / "client"), path)
    assert result.tables["contacts"] == 2


# -- results do not depend on the order of the rows ----------------------------------------

T1, T2, T3 = "2025-01-06 09:00:00", "2025-01-08 14:30:00", "2025-01-20 08:15:00"

GENERIC_HEADER = [
    "email",
    "timestamp",
    "kind",
    "stage",
    "touchpoint",
    "channel",
    "action",
    "deal_id",
    "amount_or_score",
    "currency",
    "lost_reason",
    "experiment",
    "variant",
    "persona",
    "lead_source",
]


def _g(
    who: str, ts: str, kind: str, stage: str = "", tp: str = "", channel: str = "", **kw: str
) -> list[str]:
    row = dict.fromkeys(GENERIC_HEADER, "")
    row.update(email=who, timestamp=ts, kind=kind, stage=stage, touchpoint=tp, channel=channel)
    row.update(kw)
    return [row[h] for h in GENERIC_HEADER]


def _generic_rows() -> list[list[str]]:
    a, b, c = "ann@example.org", "bob@example.org", "cat@example.org"
    return [
        # ann: two stages, three touches in the same second; back and forth on T2
        _g(a, T1, "stage", "awareness", persona="amara-time-poor-londoner"),
        _g(a, T1, "stage", "consideration"),
        _g(a, T1, "touch", "awareness", "website-home", "web", action="visit"),
        _g(a, T1, "touch", "awareness", "pricing-page", "web", action="view"),
        _g(a, T1, "touch", "awareness", "website-home", "web", action="click"),
        _g(a, T1, "touch", "awareness", "nurture-email", "email", action="open"),
        _g(a, T1, "touch", "awareness", "nurture-email", "email", action="sent"),
        _g(a, T2, "stage", "purchase"),
        _g(a, T2, "stage", "consideration"),
        _g(a, T2, "deal", "purchase", deal_id="D1", action="created", amount_or_score="900"),
        _g(a, T2, "deal", "purchase", deal_id="D1", action="won", amount_or_score="950"),
        _g(a, T2, "rating", amount_or_score="8"),
        _g(a, T2, "rating", amount_or_score="9"),
        _g(a, T3, "stage", "retention"),
        _g(a, T3, "stage", "advocacy"),
        # the same person in other case: one contact, whichever row comes first
        _g(
            "Ann@Example.org",
            T1,
            "touch",
            "",
            "instagram",
            "social",
            action="view",
            lead_source="Paid Social",
        ),
        # bob: a stage entry and a move back at once, a deal lost and won at the same second
        _g(b, T1, "stage", "purchase", lead_source="Referral"),
        _g(b, T1, "stage", "awareness"),
        _g(b, T1, "touch", "awareness", "search-ads", "paid", action="click"),
        _g(b, T1, "touch", "awareness", "search-ads", "paid", action="click"),  # twice, identical
        _g(
            b,
            T2,
            "deal",
            "consideration",
            deal_id="D2",
            action="created",
            amount_or_score="300",
            currency="EUR",
        ),
        _g(
            b,
            T2,
            "deal",
            "consideration",
            deal_id="D2",
            action="lost",
            lost_reason="Price",
            currency="EUR",
        ),
        _g(
            b,
            T2,
            "deal",
            "consideration",
            deal_id="D2",
            action="won",
            amount_or_score="310",
            currency="GBP",
        ),
        _g(b, T2, "stage", "consideration"),
        _g(
            b,
            T2,
            "touch",
            "consideration",
            "showroom-visit",
            "store",
            action="attend",
            experiment="hero-test",
            variant="a",
        ),
        _g(
            b,
            T2,
            "touch",
            "consideration",
            "showroom-visit",
            "store",
            action="attend",
            experiment="hero-test",
            variant="b",
        ),
        _g(b, T3, "stage", "retention"),
        # cat: every event in one second
        _g(c, T1, "stage", "awareness", lead_source="Organic Search"),
        _g(c, T1, "stage", "consideration"),
        _g(c, T1, "stage", "awareness"),
        _g(c, T1, "stage", "consideration"),
        _g(c, T1, "touch", "consideration", "comparison-guide", "web", action="download"),
        _g(c, T1, "touch", "awareness", "comparison-guide", "web", action="download"),
        _g(c, T1, "touch", "consideration", "sales-phone", "phone", action="call"),
        _g(c, T1, "stage", "purchase"),
    ]


SF_HEADER = ["Id", "OpportunityId", "CreatedDate", "StageName", "Amount", "ContactId", "IsDeleted"]


def _salesforce_rows() -> list[list[str]]:
    t1, t2, t3 = "2025-01-06T09:00:00.000Z", "2025-01-08T14:30:00.000Z", "2025-01-20T08:15:00.000Z"
    rows = [
        # 0061: two stages in one second, then a proposal and the win in one second
        ("0061", t1, "Prospecting", "100", "003A"),
        ("0061", t1, "Qualification", "120", "003A"),
        ("0061", t2, "Proposal/Price Quote", "150", "003A"),
        ("0061", t2, "Closed Won", "160", "003A"),
        # 0062, the same contact: lost in the second it was opened
        ("0062", t1, "Prospecting", "40", "003A"),
        ("0062", t1, "Closed Lost", "40", "003A"),
        # 0063: a move back within a second, closed lost and won at the same time
        ("0063", t1, "Qualification", "500", "003B"),
        ("0063", t1, "Prospecting", "500", "003B"),
        ("0063", t3, "Negotiation/Review", "550", "003B"),
        ("0063", t3, "Closed Lost", "550", "003B"),
        ("0063", t3, "Closed Won", "600", "003B"),
        # 0064: the same stage twice in one second, amounts differing
        ("0064", t2, "Qualification", "70", "003C"),
        ("0064", t2, "Qualification", "75", "003C"),
        ("0064", t2, "Prospecting", "75", "003C"),
    ]
    return [[f"00H{i:03d}", o, t, s, a, c, "false"] for i, (o, t, s, a, c) in enumerate(rows)]


def _hubspot_rows() -> tuple[list[str], list[list[str]]]:
    header = [
        "Record ID",
        "Lifecycle Stage",
        "Original Source",
        "Create Date",
        "Became a Lead Date",
        "Became a Marketing Qualified Lead Date",
        "Became a Sales Qualified Lead Date",
        "Became a Opportunity Date",
        "Became a Customer Date",
    ]
    rows = [
        ["1", "Customer", "Organic Search", T1, T1, T1, T2, T2, T2],
        ["2", "Opportunity", "Paid Social", T1, T1, T1, T1, T1, ""],
        ["3", "Lead", "", "", T2, "", "", "", ""],
        ["4", "Customer", "Referral", T1, T1, T3, T2, T3, T3],
    ]
    return header, rows


def _pipedrive_rows() -> tuple[list[str], list[list[str]]]:
    header = [
        "Deal - ID",
        "Deal - Value",
        "Deal - Stage",
        "Deal - Status",
        "Deal - Deal created",
        "Deal - Won time",
        "Deal - Lost time",
        "Deal - Source channel",
        "Person - ID",
        "Organization - ID",
    ]
    rows = [
        ["1", "100", "Lead In", "won", T1, T2, "", "Web", "101", "9"],
        ["2", "200", "Contact Made", "lost", T1, "", T2, "Referral", "101", "9"],
        ["3", "300", "Proposal Made", "open", T1, "", "", "Events", "101", "9"],
        ["4", "400", "Lead In", "won", T2, T3, "", "Web", "102", ""],
        ["5", "50", "Contact Made", "open", T2, "", "", "Cold call", "102", ""],
        ["6", "60", "Lead In", "open", T1, "", "", "Web", "", "9"],
        ["7", "70", "Proposal Made", "lost", T1, "", T1, "Ads", "", "9"],
    ]
    return header, rows


EXPORTS: dict[str, Callable[[], tuple[str, list[str], list[list[str]]]]] = {
    "generic": lambda: ("events.csv", GENERIC_HEADER, _generic_rows()),
    "salesforce": lambda: ("OpportunityHistory.csv", SF_HEADER, _salesforce_rows()),
    "hubspot": lambda: ("hubspot-contacts.csv", *_hubspot_rows()),
    "pipedrive": lambda: ("pipedrive-deals.csv", *_pipedrive_rows()),
}


def _tables(ws: Path) -> dict[str, tuple[Any, str | None]]:
    """Every Parquet table under data/sources and data/derived, without row-number columns,
    and the hash of its file's bytes (when it has no such column to drop)."""
    out = {}
    data = schema.data_dir(ws)
    for sub in ("sources", "derived"):
        for p in sorted((data / sub).rglob("*.parquet")):
            table = pq.read_table(p)
            drop = [c for c in ROW_COLUMNS if c in table.column_names]
            digest = None if drop else hashlib.sha256(p.read_bytes()).hexdigest()
            out[str(p.relative_to(data))] = (table.drop_columns(drop), digest)
    return out


def _numbers(ws: Path) -> dict[str, pd.DataFrame]:
    return {
        "funnel": analytics.funnel(ws),
        "transitions": analytics.transitions(ws),
        "transition_matrix": analytics.transition_matrix(ws),
        "time_in_stage": analytics.time_in_stage(ws),
    }


def _import(rows: list[list[str]], fmt: str) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    name, header, _ = EXPORTS[fmt]()
    folder = Path(tempfile.mkdtemp(prefix=f"order-{fmt}-"))
    try:
        ws = _workspace(folder / "client")
        import_file(ws, _write(folder / "export" / name, header, rows))
        return _tables(ws), _numbers(ws)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_BASELINE: dict[str, tuple[dict[str, Any], dict[str, pd.DataFrame]]] = {}


def _baseline(fmt: str) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    if fmt not in _BASELINE:
        _BASELINE[fmt] = _import(EXPORTS[fmt]()[2], fmt)
    return _BASELINE[fmt]


def _same_after_shuffle(fmt: str, data: st.DataObject) -> None:
    rows = EXPORTS[fmt]()[2]
    shuffled = data.draw(st.permutations(rows), label="rows")
    want_tables, want_numbers = _baseline(fmt)
    got_tables, got_numbers = _import(shuffled, fmt)
    assert list(got_tables) == list(want_tables)
    for name, (table, digest) in want_tables.items():
        assert got_tables[name][0].equals(table), name
        assert got_tables[name][1] == digest, f"{name}: same rows, other bytes"
    for name, frame in want_numbers.items():
        pd.testing.assert_frame_equal(got_numbers[name], frame, check_exact=True, obj=name)


@pytest.mark.parametrize("fmt", ["generic", "salesforce"])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_shuffled_rows_give_the_same_tables_and_numbers(fmt: str, data: st.DataObject) -> None:
    """Tied timestamps are put in order by the events' content (stage order, kind,
    touchpoint, action, then the rest), so the file's row order changes no byte of any
    table and no number."""
    _same_after_shuffle(fmt, data)


@pytest.mark.parametrize("fmt", ["hubspot", "pipedrive"])
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_shuffled_rows_of_one_row_per_record_exports(fmt: str, data: st.DataObject) -> None:
    """The same for the exports of one row per contact (HubSpot) or per deal (Pipedrive):
    a contact's stage dates, or its deals, tie within the second."""
    _same_after_shuffle(fmt, data)


def test_generic_ties_follow_the_stage_order_then_the_content(tmp_path: Path) -> None:
    """Hand-worked: cat's events all share one second. Stages come in the workspace's order
    (awareness, consideration, purchase), each at most once in a row, so cat's stays are
    awareness -> consideration -> purchase, whatever the file's order."""
    rows = [r for r in _generic_rows() if r[0] == "cat@example.org"]
    ws = _workspace(tmp_path / "client")
    import_file(ws, _write(tmp_path / "events.csv", GENERIC_HEADER, list(reversed(rows))))
    spells = pq.read_table(schema.derived_path(ws, "stage_spells")).to_pandas()
    assert list(spells["stage"]) == ["awareness", "consideration", "purchase"]
    events = pq.read_table(next((schema.data_dir(ws) / "sources").rglob("events.parquet")))
    ev = events.to_pandas()
    assert list(ev["seq"]) == list(range(len(ev)))  # one second: 0, 1, 2... by content
    touches = ev[ev["kind"] == "touch"][["stage", "touchpoint", "action"]].values.tolist()
    assert touches == [
        ["awareness", "comparison-guide", "download"],
        ["consideration", "comparison-guide", "download"],
        ["consideration", "sales-phone", "call"],
    ]


def test_seq_runs_on_across_batches() -> None:
    """``seq`` counts a contact's events at one moment, 0, 1, 2..., also when the run of
    rows goes on from one batch of the sorted events to the next (checked against pandas'
    cumcount on the whole table)."""
    import numpy as np
    import pyarrow as pa

    from workbook.crm.importer import _restore_contacts

    rng = np.random.default_rng(3)
    n = 400
    contact = np.sort(rng.integers(0, 12, n)).astype(np.int32)
    ts = np.zeros(n, np.int64)
    for c in np.unique(contact):  # few moments per contact, so runs are long
        rows = contact == c
        ts[rows] = np.sort(rng.integers(0, 3, rows.sum())) * 1_000_000
    table = pa.table(
        {
            f.name: (
                pa.array(contact)
                if f.name == "contact_id"
                else pa.array(ts).cast(f.type)
                if f.name == "ts"
                else pa.nulls(n, f.type)
            )
            for f in schema.EVENTS
            if f.name != "source_id"
        }
    )
    restore = _restore_contacts(pa.array([f"c{i:016x}" for i in range(12)]), "src")
    cuts = [0, 1, 37, 38, 150, 151, 152, 300, n]
    batches = [
        restore(table.slice(a, b - a).to_batches()[0]) for a, b in zip(cuts, cuts[1:], strict=False)
    ]
    got = pa.Table.from_batches(batches).column("seq").to_numpy()
    want = pd.DataFrame({"c": contact, "t": ts}).groupby(["c", "t"]).cumcount().to_numpy()
    assert (got == want).all()
    assert got.max() > 10  # long runs, cut by the batches


def test_ties_are_put_in_content_order_across_batches() -> None:
    """Events sorted by contact and time only, their ties in any order and cut into batches
    anywhere, come out of ``_content_ties`` exactly as a pandas sort by contact, time, the
    workspace's stage order (other stages by text, none last), then every other column."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from workbook.crm.importer import _content_ties

    stages = ["lead", "demo", "closing"]  # not in the order of their text
    rng = np.random.default_rng(11)
    n = 600
    frame = pd.DataFrame(
        {
            "contact_id": np.sort(rng.integers(0, 15, n)).astype(np.int32),
            "ts": pd.to_datetime(rng.integers(0, 3, n), unit="s", utc=True),
            "kind": rng.choice(["stage", "touch", "deal"], n),
            "stage": rng.choice(["closing", "lead", "aaa-other", "demo", None], n),
            "touchpoint": rng.choice(["web", "email", None], n),
            "action": rng.choice(["open", "click"], n),
            "channel": rng.choice(["email", "web"], n),
            "experiment": None,
            "variant": None,
            "deal_id": rng.choice(["d1", "d2", None], n),
            "value": rng.choice([1.0, 2.0, np.nan], n),
        }
    )
    frame = frame.sort_values(["contact_id", "ts"], kind="stable").reset_index(drop=True)
    rank = {s: i for i, s in enumerate(stages)}
    expected = (
        frame.assign(_rank=frame["stage"].map(rank))
        .sort_values(
            [
                "contact_id",
                "ts",
                "_rank",
                "stage",
                "kind",
                "touchpoint",
                "action",
                "channel",
                "deal_id",
                "value",
            ],
            na_position="last",
            kind="stable",
        )
        .drop(columns="_rank")
        .reset_index(drop=True)
    )
    table = pa.Table.from_pandas(
        frame.sample(frac=1, random_state=5).sort_values(["contact_id", "ts"], kind="stable"),
        preserve_index=False,
    )
    # the stage as DuckDB hands over an ENUM: dictionary-encoded
    table = table.set_column(
        table.schema.get_field_index("stage"), "stage", table.column("stage").dictionary_encode()
    )
    for size in (1, 7, 64, 1000):
        out = pa.Table.from_batches(list(_content_ties(stages)(table.to_batches(size))))
        got = out.to_pandas()
        got["stage"] = got["stage"].astype(object)
        assert len(got) == n
        pd.testing.assert_frame_equal(
            got.reset_index(drop=True), expected, check_dtype=False, check_categorical=False
        )
