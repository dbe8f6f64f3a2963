"""Importing each CRM export format, and every kind of bad input, all-or-nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from workbook.crm import schema
from workbook.crm.demo import demo_without_data
from workbook.crm.generate import SampleCrm, generate, write_export
from workbook.crm.importer import import_file, read_manifest, source_id_for
from workbook.exceptions import CrmImportError
from workbook.store import open_workspace

ROOT = Path(__file__).resolve().parent.parent
DEMO_YAML = ROOT / "data" / "demo" / "workspace.yaml"
ODD = "Événement Café €"  # survives only if the encoding was read right

FILES = {
    "hubspot": "hubspot-contacts.csv",
    "salesforce": "OpportunityHistory.csv",
    "pipedrive": "pipedrive-deals.csv",
    "generic": "events.csv",
}


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` with a hash of its bytes."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A fresh workspace with the demo client's stages, touchpoints and personas, no data."""
    dest = tmp_path / "client"
    dest.mkdir()
    demo_without_data(dest, DEMO_YAML.parent)
    return dest


@pytest.fixture(scope="module")
def sample() -> SampleCrm:
    model = open_workspace(DEMO_YAML.parent).data
    s = generate(model, contacts=400, seed=11, currency="GBP")
    # put characters outside ASCII in a field every source carries (the lead source of a
    # contact with a deal), so a wrong encoding shows
    with_deal = s.deals["contact_id"][0].as_py()
    src = pc.if_else(pc.equal(s.contacts["contact_id"], with_deal), ODD, s.contacts["lead_source"])
    contacts = s.contacts.set_column(
        s.contacts.schema.get_field_index("lead_source"), "lead_source", src
    )
    return SampleCrm(
        contacts, s.events, s.deals, s.people, s.stage_names, s.touchpoint_names, s.persona_names
    )


def _export(sample: SampleCrm, fmt: str, folder: Path, **kw: Any) -> Path:
    return write_export(sample, fmt, folder, **kw)


VARIANTS = {
    "utf8-comma-lf": {"encoding": "utf-8", "delimiter": ",", "newline": "\n"},
    "bom-semicolon-crlf": {"encoding": "utf-8-sig", "delimiter": ";", "newline": "\r\n"},
    "cp1252-tab-crlf": {"encoding": "cp1252", "delimiter": "\t", "newline": "\r\n"},
    "cp1252-semicolon-lf": {"encoding": "cp1252", "delimiter": ";", "newline": "\n"},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("fmt", list(FILES))
def test_each_format_imports_in_every_encoding(
    ws: Path, sample: SampleCrm, tmp_path: Path, fmt: str, variant: str
) -> None:
    path = _export(sample, fmt, tmp_path / "in", **VARIANTS[variant])
    result = import_file(ws, path)  # the source is detected from the header
    assert result.system == fmt
    assert result.rows_rejected == 0
    src = schema.source_dir(ws, result.source_id)
    for table in ("contacts", "events", "deals"):
        t = pq.read_table(src / f"{table}.parquet")
        assert t.schema.equals(schema.TABLES[table]), table
    events = pq.read_table(src / "events.parquet").to_pandas()
    assert len(events) == result.tables["events"] > 0
    assert set(events.kind) <= set(schema.EVENT_KINDS)
    assert set(events.stage.dropna()) <= set(sample.stage_names)
    # sorted by contact and time
    assert events.contact_id.is_monotonic_increasing
    assert events.groupby("contact_id").ts.apply(lambda s: s.is_monotonic_increasing).all()
    contacts = pq.read_table(src / "contacts.parquet").to_pandas()
    if fmt != "salesforce":  # OpportunityHistory carries no lead source
        assert ODD in set(contacts.lead_source.dropna())
    manifest = read_manifest(ws)["sources"][result.source_id]
    assert manifest["file"] == path.name and manifest["system"] == fmt
    assert manifest["rows_read"] == result.rows_read
    data_sources = open_workspace(ws).data.data_sources
    assert [d.id for d in data_sources] == [result.source_id]
    assert data_sources[0].sha256 == manifest["sha256"]


def test_expected_numbers_per_format(ws: Path, sample: SampleCrm, tmp_path: Path) -> None:
    n_deals = sample.deals.num_rows
    hub = import_file(ws, _export(sample, "hubspot", tmp_path))
    assert hub.tables["contacts"] == sample.contacts.num_rows
    pipe = import_file(ws, _export(sample, "pipedrive", tmp_path))
    assert pipe.tables["deals"] == n_deals
    gen = import_file(ws, _export(sample, "generic", tmp_path))
    assert gen.tables["events"] == sample.events.num_rows
    assert gen.tables["deals"] == n_deals
    deals = pq.read_table(schema.source_dir(ws, gen.source_id) / "deals.parquet").to_pandas()
    expected = sample.deals.to_pandas().outcome.value_counts().sort_index()
    assert deals.outcome.value_counts().sort_index().to_dict() == expected.to_dict()
    sf = import_file(ws, _export(sample, "salesforce", tmp_path))
    sf_deals = pq.read_table(schema.source_dir(ws, sf.source_id) / "deals.parquet").to_pandas()
    assert sf_deals.outcome.value_counts().to_dict() == expected.to_dict()
    assert set(sf_deals.currency) == {"GBP"}
    assert len(open_workspace(ws).data.data_sources) == 4


def test_salesforce_keeps_moves_back(ws: Path, sample: SampleCrm, tmp_path: Path) -> None:
    result = import_file(ws, _export(sample, "salesforce", tmp_path))
    spells = pq.read_table(schema.derived_path(ws, "stage_spells")).to_pandas()
    assert result.tables["events"] > 0
    assert (spells.next_stage_index < spells.stage_index).any(), "no move back survived the import"


def test_same_file_again_is_a_no_op(ws: Path, sample: SampleCrm, tmp_path: Path) -> None:
    path = _export(sample, "hubspot", tmp_path)
    import_file(ws, path)
    before = snapshot(ws)
    again = import_file(ws, path)
    assert again.unchanged
    assert snapshot(ws) == before


def test_running_out_of_memory_is_a_clear_error_and_changes_nothing(
    ws: Path, sample: SampleCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    import workbook.crm.storage

    import_file(ws, _export(sample, "hubspot", tmp_path))
    before = snapshot(ws)

    def short_of_memory(*args: Any, **kwargs: Any) -> dict[str, int]:
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")

    monkeypatch.setattr(workbook.crm.storage, "build_derived", short_of_memory)
    with pytest.raises(CrmImportError) as info:
        import_file(ws, _export(sample, "generic", tmp_path))
    assert "ran out of memory" in str(info.value) and "nothing was changed" in str(info.value)
    assert "more memory" in (info.value.hint or "")
    assert snapshot(ws) == before


def test_derived_tables_short_of_memory_are_built_again_with_more(
    ws: Path, sample: SampleCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    import workbook.crm.storage

    real = workbook.crm.storage.build_derived
    calls: list[str] = []

    def once_short(*args: Any, **kwargs: Any) -> dict[str, int]:
        con = kwargs["con"]
        calls.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
        if len(calls) == 1:
            raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")
        return real(*args, **kwargs)

    monkeypatch.setattr(workbook.crm.storage, "build_derived", once_short)
    result = import_file(ws, _export(sample, "generic", tmp_path))
    assert result.tables["events"] == sample.events.num_rows
    assert len(calls) == 2 and calls[0] != calls[1]  # the second time with more memory
    for table in ("contact_paths", "stage_entries", "journey_touchpoints"):
        assert schema.derived_path(ws, table).exists()


def test_newer_export_replaces_the_older_one(ws: Path, sample: SampleCrm, tmp_path: Path) -> None:
    first = import_file(
        ws,
        _export(sample, "pipedrive", tmp_path / "may", filename="pipedrive-deals-2025-05-01.csv"),
    )
    model = open_workspace(ws).data
    newer = generate(model, contacts=150, seed=99)
    second = import_file(
        ws,
        write_export(
            newer, "pipedrive", tmp_path / "june", filename="pipedrive-deals-2025-06-01.csv"
        ),
    )
    assert first.source_id == second.source_id == "pipedrive-deals"
    assert second.replaced
    assert [p.name for p in (ws / "data" / "sources").iterdir()] == ["pipedrive-deals"]
    deals = pq.read_table(schema.source_dir(ws, "pipedrive-deals") / "deals.parquet")
    assert deals.num_rows == newer.deals.num_rows
    assert len(open_workspace(ws).data.data_sources) == 1


def test_source_id_drops_dates_and_copies() -> None:
    assert source_id_for("hubspot", "hubspot-crm-exports-all-contacts-2024-05-01 (1).csv") == (
        "hubspot-crm-exports-all-contacts"
    )
    assert source_id_for("generic", "Email opens Q3.xlsx") == "generic-email-opens-q3"


def test_excel_workbook_imports(ws: Path, sample: SampleCrm, tmp_path: Path) -> None:
    csv = _export(sample, "hubspot", tmp_path)
    xlsx = tmp_path / "hubspot-contacts.xlsx"
    pd.read_csv(csv, dtype=str).to_excel(xlsx, index=False)
    result = import_file(ws, xlsx)
    assert result.system == "hubspot" and result.tables["contacts"] == sample.contacts.num_rows


def test_generic_with_column_map(ws: Path, tmp_path: Path) -> None:
    src = tmp_path / "mailer-export.csv"
    src.write_text(
        "Recipient;Sent at;Event;Campaign;Score\r\n"
        "ann@example.org;05/03/2025 10:00;sent;Nurture Email Series;\r\n"
        "ann@example.org;05/03/2025 11:30;open;Nurture Email Series;\r\n"
        "bob@example.org;06/03/2025 09:00;sent;Nurture Email Series;\r\n"
        "bob@example.org;07/03/2025 09:00;survey;;9\r\n",
        encoding="utf-8",
    )
    cmap = tmp_path / "columns.yaml"
    cmap.write_text(
        "columns:\n  contact_id: Recipient\n  ts: Sent at\n  action: Event\n"
        "  touchpoint: Campaign\n"
        "  value: Score\nvalues:\n  channel: email\ndate_format: '%d/%m/%Y %H:%M'\n",
        encoding="utf-8",
    )
    result = import_file(ws, src, source="generic", column_map=cmap)
    events = pq.read_table(schema.source_dir(ws, result.source_id) / "events.parquet").to_pandas()
    assert len(events) == 4
    touches = events[events.kind == "touch"]
    assert set(touches.touchpoint) == {"nurture-email"}  # matched by the touchpoint's name
    assert set(touches.channel) == {"email"}
    rating = events[events.kind == "rating"]
    assert list(rating.value) == [9.0]
    assert str(events.ts.min()) == "2025-03-05 10:00:00+00:00"


def test_stage_map_and_default_lifecycle_names(ws: Path, tmp_path: Path) -> None:
    src = tmp_path / "hubspot.csv"
    src.write_text(
        "Record ID,Email,Lifecycle Stage,Became a LEAD Date,Became a Marketing Qualified Lead Date,"
        "Became a Customer Date,Became a Trialist Date,Original Source\n"
        "1,a@example.org,customer,2025-01-01,2025-01-05,2025-02-01,2025-01-20,Paid Search\n"
        "2,b@example.org,Marketing qualified lead,2025-01-02,2025-01-04,,,Organic Search\n",
        encoding="utf-8",
    )
    with pytest.raises(CrmImportError) as info:
        import_file(ws, src)
    (problem,) = info.value.errors
    assert "Trialist" in problem.message and problem.column == "Became a Trialist Date"
    stage_map = tmp_path / "stages.yaml"
    stage_map.write_text("Trialist: purchase\n", encoding="utf-8")
    result = import_file(ws, src, stage_map=stage_map)
    entries = pq.read_table(schema.derived_path(ws, "stage_entries")).to_pandas()
    assert entries.stage.value_counts().to_dict() == {
        "awareness": 2,
        "consideration": 2,
        "purchase": 1,
        "retention": 1,
    }
    assert result.tables["events"] == 6


def test_stage_map_naming_a_missing_stage_is_refused(ws: Path, tmp_path: Path) -> None:
    src = tmp_path / "x.csv"
    src.write_text("Record ID,Became a Lead Date\n1,2025-01-01\n", encoding="utf-8")
    with pytest.raises(CrmImportError) as info:
        import_file(ws, src, stage_map={"Lead": "delight"})
    assert "delight" in str(info.value) and "awareness" in str(info.value)


# --------------------------------------------------------------------------- bad input


def _hub(tmp_path: Path, body: str, name: str = "hubspot.csv") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8", newline="")
    return path


HEADER = "Record ID,First Name,Became a Lead Date,Became a Customer Date,Original Source\n"


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    """name -> (file, what the first error must say and where)."""
    big = "x" * (3 << 20)
    xlsx = tmp_path / "book.xlsx"
    pd.DataFrame({"a": [1]}).to_excel(xlsx, index=False)
    renamed = tmp_path / "renamed.csv"
    renamed.write_bytes(xlsx.read_bytes())
    binary = tmp_path / "blob.csv"
    binary.write_bytes(bytes(range(256)) * 40)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    return {
        "missing column": (
            _hub(tmp_path, "Email,Became a Lead Date\nx@example.org,2025-01-01\n", "m.csv"),
            {"text": "Record ID", "row": 0},
        ),
        "unparseable date": (
            _hub(tmp_path, HEADER + "1,Ann,2025-01-01,,Web\n2,Bob,next tuesday,,Web\n", "d.csv"),
            {"text": "cannot read the date", "row": 2, "column": "Became a Lead Date"},
        ),
        "future date": (
            _hub(tmp_path, HEADER + "1,Ann,2025-01-01,2199-01-01,Web\n", "f.csv"),
            {"text": "future", "row": 1, "column": "Became a Customer Date"},
        ),
        "negative amount": (
            _pd(tmp_path, "-250"),
            {"text": "negative", "row": 1, "column": "Deal - Value"},
        ),
        "non-numeric amount": (
            _pd(tmp_path, "250 EUR"),
            {"text": "not a number", "row": 1, "column": "Deal - Value"},
        ),
        "duplicate id": (
            _hub(tmp_path, HEADER + "1,Ann,2025-01-01,,Web\n1,Bob,2025-01-02,,Web\n", "u.csv"),
            {"text": "duplicate", "row": 2, "column": "Record ID"},
        ),
        "unknown stage": (
            _sf(tmp_path, "Wibbling"),
            {"text": "unknown stage 'Wibbling'", "row": 2, "column": "STAGENAME"},
        ),
        "ragged row": (
            _hub(tmp_path, HEADER + "1,Ann,2025-01-01,,Web\n2,Bob,2025-01-02\n", "r.csv"),
            {"text": "number of columns", "row": 2},
        ),
        "empty file": (empty, {"text": "empty"}),
        "header only": (_hub(tmp_path, HEADER, "h.csv"), {"text": "no data rows", "row": 0}),
        "binary": (binary, {"text": "not a text file"}),
        "renamed spreadsheet": (renamed, {"text": "Excel workbook"}),
        "megabyte field": (
            _hub(tmp_path, HEADER + f"1,{big},2025-01-01,,Web\n", "big.csv"),
            {"text": "longer than 64 KB", "row": 1, "column": "First Name"},
        ),
        "not a csv at all": (_hub(tmp_path, "%PDF-1.7\nstuff\n", "doc.csv"), {"text": "pdf"}),
    }


def _pd(tmp_path: Path, value: str) -> Path:
    path = tmp_path / f"pipedrive-{abs(hash(value))}.csv"
    path.write_text(
        "Deal - ID,Deal - Stage,Deal - Status,Deal - Deal created,Deal - Value,Person - ID,"
        "Person - Email\n"
        f"7,Consideration,open,2025-01-01 10:00:00,{value},31,x@example.org\n",
        encoding="utf-8",
    )
    return path


def _sf(tmp_path: Path, stage: str) -> Path:
    path = tmp_path / "OpportunityHistory.csv"
    path.write_text(
        "ID,OPPORTUNITYID,CREATEDDATE,STAGENAME,AMOUNT\n"
        "0081,0061,2025-01-01T10:00:00.000Z,Consideration,100\n"
        f"0082,0061,2025-01-03T10:00:00.000Z,{stage},100\n",
        encoding="utf-8",
    )
    return path


BAD = [
    "missing column",
    "unparseable date",
    "future date",
    "negative amount",
    "non-numeric amount",
    "duplicate id",
    "unknown stage",
    "ragged row",
    "empty file",
    "header only",
    "binary",
    "renamed spreadsheet",
    "megabyte field",
    "not a csv at all",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_refused_and_changes_nothing(
    ws: Path, sample: SampleCrm, tmp_path: Path, case: str
) -> None:
    import_file(ws, _export(sample, "hubspot", tmp_path / "good"))  # a workspace with data already
    path, expect = _bad_files(tmp_path)[case]
    before = snapshot(ws)
    with pytest.raises(CrmImportError) as info:
        import_file(ws, path, source=None)
    err = info.value
    problem = err.errors[0]
    assert expect["text"].lower() in str(err).lower()
    assert problem.file == path.name
    if "row" in expect:
        assert problem.row == expect["row"]
    if "column" in expect:
        assert problem.column == expect["column"]
    assert problem.hint, "every problem says what to do"
    assert snapshot(ws) == before, "a refused import changed the workspace"
    assert all(len(line) < 400 for line in err.lines())


def test_set_aside_bad_rows_writes_rejects(ws: Path, tmp_path: Path) -> None:
    path = _hub(
        tmp_path,
        HEADER + "1,Ann,2025-01-01,,Web\n2,Bob,soon,,Web\n3,Cy,2025-01-03,2199-01-01,\n"
        "4,Di,2025-01-04\n5,Ed,2025-01-05,2025-02-01,Web\n",
    )
    before = snapshot(ws)
    with pytest.raises(CrmImportError) as info:
        import_file(ws, path)
    assert "--set-aside-bad-rows" in str(info.value)
    assert snapshot(ws) == before
    result = import_file(ws, path, set_aside_bad_rows=True)
    assert result.rows_read == 5 and result.rows_rejected == 3
    assert result.tables["contacts"] == 2
    rejects = pd.read_csv(ws / "data" / "rejects" / f"{result.source_id}.csv")
    assert sorted(rejects.row) == [2, 3, 4]
    assert rejects.set_index("row").problem[2] == "cannot read the date"
    assert {"row", "column", "problem", "what_to_do"} == set(rejects.columns)
    assert "Bob" not in (ws / "data" / "rejects" / f"{result.source_id}.csv").read_text()
    # contact 3 also had no source: a warning, reported but not a reason to stop
    assert read_manifest(ws)["sources"][result.source_id]["rows_rejected"] == 3


def test_warnings_do_not_stop_an_import(ws: Path, tmp_path: Path) -> None:
    path = _hub(
        tmp_path,
        HEADER
        + "1,Ann,2025-01-01,,\n2,Bob,2025-01-02,,\n3,Cy,2025-01-03,,\n4,Di,2025-01-04,,Web\n",
    )
    result = import_file(ws, path)
    (warning,) = result.warnings
    assert warning.severity == "warning" and "3 rows" in warning.message
    assert result.tables["contacts"] == 4


def test_a_commit_cut_short_at_the_yaml_is_finished_by_the_next_open(
    ws: Path, sample: SampleCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the commit point the import happens: a failed workspace.yaml write is redone."""
    from workbook.crm.storage import JOURNAL, data_problems, recover
    from workbook.exceptions import ConflictError
    from workbook.store import OpenWorkspace, read_workspace

    def refuse(self: Any) -> bool:
        raise ConflictError("the disk said no")

    with monkeypatch.context() as m:
        m.setattr(OpenWorkspace, "save", refuse)
        with pytest.raises(ConflictError):
            import_file(ws, _export(sample, "generic", tmp_path))
    assert (ws / "data" / JOURNAL).exists()
    assert read_workspace(ws).data_sources == []  # the YAML is behind the manifest
    assert data_problems(ws, read_workspace(ws).data_sources)  # and validate would say so
    sid = recover(ws)
    assert sid and not (ws / "data" / JOURNAL).exists()
    listed = read_workspace(ws).data_sources
    assert [d.id for d in listed] == [sid] == list(read_manifest(ws)["sources"])
    assert data_problems(ws, listed) == []
    assert not list(ws.glob(".import-*"))


#: What a value may carry around it, pasted from a spreadsheet or the web: spaces, no-break
#: spaces, an em space, an ideographic space (all of them trimmed, as Unicode space separators).
PADS = ("", " ", "\u00a0", "  \u3000", "\u2003 ")


@pytest.mark.parametrize("fmt", ["generic", "pipedrive", "salesforce", "hubspot"])
def test_padded_values_import_as_their_text(
    ws: Path, sample: SampleCrm, tmp_path: Path, fmt: str
) -> None:
    """Every value padded with spaces of several kinds imports exactly as the plain file."""
    import csv
    import shutil

    plain = _export(sample, fmt, tmp_path / "plain")
    first = import_file(ws, plain)
    padded_ws = tmp_path / "padded-client"
    shutil.copytree(ws, padded_ws)  # the same secret salt, so the same pseudonyms
    with plain.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    padded = tmp_path / "padded" / plain.name
    padded.parent.mkdir()
    with padded.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(rows[0])
        for i, row in enumerate(rows[1:]):
            w.writerow(
                [
                    v and PADS[(i + j) % len(PADS)] + v + PADS[(i + 2 * j) % len(PADS)]
                    for j, v in enumerate(row)
                ]
            )
    second = import_file(padded_ws, padded)
    assert second.source_id == first.source_id and second.replaced
    for table in ("contacts", "events", "deals"):
        want = pq.read_table(schema.source_dir(ws, first.source_id) / f"{table}.parquet")
        got = pq.read_table(schema.source_dir(padded_ws, first.source_id) / f"{table}.parquet")
        assert got.equals(want), table


@pytest.mark.parametrize("listed", ["every value", "one value missing"])
def test_events_sorted_as_enums_are_the_text_sort(
    ws: Path, sample: SampleCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listed: str
) -> None:
    """The generic import sorts the events with kind, stage, touchpoint, channel... as ENUM
    types: the file is the one sorting their text writes, types and values alike. Should a
    source's list of values miss one, the import sorts the text instead."""
    import shutil

    import workbook.crm.importer as importer

    export = _export(sample, "generic", tmp_path)
    text_ws = tmp_path / "text-client"
    shutil.copytree(ws, text_ws)
    for w in (ws, text_ws):  # one salt, so one set of pseudonyms
        (schema.data_dir(w) / ".salt").parent.mkdir(parents=True, exist_ok=True)
        (schema.data_dir(w) / ".salt").write_bytes(b"0123456789abcdef" * 2)
    made: list[dict[str, str]] = []
    real = importer._enum_types

    def enum_types(con: Any, categories: dict[str, str]) -> dict[str, str]:
        if listed == "one value missing":
            categories = {**categories, "channel": "SELECT 'carrier pigeon'"}
        made.append(real(con, categories))
        return made[-1]

    monkeypatch.setattr(importer, "_enum_types", enum_types)
    as_enums = import_file(ws, export)
    assert {"kind", "stage", "touchpoint", "channel", "action", "experiment"} <= set(made[0])
    monkeypatch.setattr(importer, "_enum_types", lambda con, cats: {})
    as_text = import_file(text_ws, export)
    for table in ("events", "contacts", "deals"):
        want = pq.read_table(schema.source_dir(text_ws, as_text.source_id) / f"{table}.parquet")
        got = pq.read_table(schema.source_dir(ws, as_enums.source_id) / f"{table}.parquet")
        assert got.schema.equals(schema.TABLES[table]) and got.equals(want), table


def test_arrow_tables_are_strings_only_where_text(
    ws: Path, sample: SampleCrm, tmp_path: Path
) -> None:
    result = import_file(ws, _export(sample, "generic", tmp_path))
    t = pq.read_table(schema.source_dir(ws, result.source_id) / "events.parquet")
    assert t.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert t.schema.field("value").type == pa.float64()


@pytest.mark.parametrize("source", ["generic", "salesforce"])
def test_parallel_reader_names_the_right_rows(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """A file of several MB goes through DuckDB's parallel reader, in many chunks; the rows it
    names are still the rows of the file (data rows, 1-based), also past a filtered row."""
    import workbook.crm.importer as importer

    def careful(*_a: Any) -> Any:
        raise AssertionError("the careful reader should not be needed for this file")

    monkeypatch.setattr(importer, "_read_raw", careful)
    n = 60_000
    bad = {7: "date", 31_337: "date", 45_000: "value", 59_999: "date"}
    lines = []
    if source == "generic":
        lines.append("email,timestamp,kind,touchpoint,channel,action,value,comment")
        for i in range(1, n + 1):
            ts = "not a date" if bad.get(i) == "date" else f"2024-05-{1 + i % 28:02d}T10:00:00Z"
            value = "lots" if bad.get(i) == "value" else str(i % 10)
            lines.append(
                f"p{i % 977}@example.org,{ts},touch,Pricing page,web,visit,{value},"
                f'"padding so the file spans many of the reader\'s chunks {i:08d}"'
            )
    else:
        lines.append("Id,OpportunityId,StageName,Amount,CreatedDate,IsDeleted")
        for i in range(1, n + 1):
            ts = "not a date" if bad.get(i) == "date" else f"2024-05-{1 + i % 28:02d}T10:00:00Z"
            amount = "lots" if bad.get(i) == "value" else str(100 + i % 50)
            # a deleted row is left out, but the rows after it keep their numbers
            deleted = "true" if i == 3 else "false"
            lines.append(f"h{i:08d},o{i % 4001},Prospecting,{amount},{ts},{deleted}")
    path = tmp_path / ("events.csv" if source == "generic" else "OpportunityHistory.csv")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 3 << 20

    before = snapshot(ws)
    with pytest.raises(CrmImportError) as info:
        import_file(ws, path, source=source)
    assert snapshot(ws) == before
    rows = {p.row for p in info.value.problems if p.severity == "error"}
    assert rows == {7, 45_000}  # each problem names its first row
    text = str(info.value)
    assert "rows 7, 31337, 59999" in text

    result = import_file(ws, path, source=source, set_aside_bad_rows=True)
    rejects = pd.read_csv(ws / "data" / "rejects" / f"{result.source_id}.csv")
    assert sorted(rejects.row) == sorted(bad)
    assert rejects.set_index("row").problem[45_000] in (
        "the value is not a number",
        "the amount is not a number",
    )
