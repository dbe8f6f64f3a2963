"""No name, email or phone number from an export survives the import anywhere."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from workbook.cli import main
from workbook.crm.demo import demo_without_data
from workbook.crm.derive import DERIVED
from workbook.crm.generate import generate, write_export
from workbook.crm.importer import import_file
from workbook.crm.privacy import pseudonym_table, pseudonymise
from workbook.store import open_workspace

ROOT = Path(__file__).resolve().parent.parent
DEMO_YAML = ROOT / "data" / "demo" / "workspace.yaml"


def _strings(table: pa.Table) -> set[str]:
    """Every string value in a table, list columns included."""
    out: set[str] = set()
    for col in table.columns:
        t = col.type
        if pa.types.is_list(t):
            col = pa.chunked_array([c.flatten() for c in col.chunks], t.value_type)
            t = t.value_type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            out.update(v for v in col.to_pylist() if v is not None)
    return out


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[str]]:
    tmp = tmp_path_factory.mktemp("privacy")
    ws = tmp / "client"
    ws.mkdir()
    demo_without_data(ws, DEMO_YAML.parent)
    sample = generate(open_workspace(ws).data, contacts=600, seed=5)
    outputs = []
    runner = CliRunner()
    for fmt in ("hubspot", "salesforce", "pipedrive", "generic"):
        path = write_export(sample, fmt, tmp / "exports", encoding="utf-8-sig", delimiter=";")
        res = runner.invoke(main, ["import", str(ws), str(path)])
        assert res.exit_code == 0, res.output
        outputs.append(res.output)
        exported = path.read_text(encoding="utf-8-sig")
        assert "@mail.example.org" in exported or fmt == "salesforce"
    people = sample.people.to_pydict()
    secrets = (
        [f"{f} {ln}" for f, ln in zip(people["first_name"], people["last_name"], strict=True)]
        + people["last_name"]
        + people["email"]
        + people["phone"]
        + [e.split("@")[0] for e in people["email"]]
    )
    # the Salesforce export also names sales reps
    secrets += ["Ottoline Fairweather", "Caspian Threlkeld", "Marguerite Oakenshaw"]
    export_text = "\n".join(p.read_text(encoding="utf-8-sig") for p in (tmp / "exports").iterdir())
    assert sum(s in export_text for s in secrets) > 1000, (
        "the exports must carry personal data to test"
    )
    return ws, sorted(set(secrets)), outputs


def test_no_personal_data_in_any_parquet_column(
    imported: tuple[Path, list[str], list[str]],
) -> None:
    ws, secrets, _ = imported
    files = sorted((ws / "data").rglob("*.parquet"))
    # three canonical tables and the hashed keys per source, every derived table and rollup:
    # all are checked
    assert len(files) == 4 * 4 + len(DERIVED)
    values: set[str] = set()
    for f in files:
        values |= _strings(pq.read_table(f))
    blob = "\n".join(values)
    leaked = [s for s in secrets if s in blob]
    assert leaked == []
    digits = re.compile(r"7700 ?9\d{5}")
    assert not digits.search(blob), "a phone number survived"
    assert "@" not in blob


def test_no_personal_data_in_any_file_or_output(
    imported: tuple[Path, list[str], list[str]],
) -> None:
    ws, secrets, outputs = imported
    texts = [
        p.read_bytes().decode("utf-8", errors="replace")
        for p in ws.rglob("*")
        if p.is_file() and p.suffix != ".parquet"
    ]
    texts += outputs
    blob = "\n".join(texts)
    assert [s for s in secrets if s in blob] == []


def test_contact_ids_are_keyed_pseudonyms(imported: tuple[Path, list[str], list[str]]) -> None:
    ws, _, _ = imported
    ids = _strings(
        pq.read_table(ws / "data" / "derived" / "contact_paths.parquet", columns=["contact_id"])
    )
    assert ids and all(re.fullmatch(r"c[0-9a-f]{16}", i) for i in ids)
    salt = ws / "data" / ".salt"
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600
    assert len(salt.read_bytes()) == 32


def test_pseudonyms_depend_on_the_salt_and_not_on_case() -> None:
    a = pseudonymise(["Ann@Example.org", "ann@example.org ", "42"], b"1" * 32)
    b = pseudonymise(["ann@example.org"], b"2" * 32)
    assert a[0] == a[1] != a[2]
    assert a[0] != b[0]


@pytest.mark.parametrize("salt_bytes", [16, 32, 100])
def test_pseudonyms_from_sql_are_those_from_python(salt_bytes: int) -> None:
    """The import hashes ids in DuckDB; a workspace's older imports were hashed in Python."""
    import duckdb

    ids = [
        "Ann@Example.org",
        " ann@example.org\t",
        "42",
        "MiXeD-Case-Id",
        "a@B",
        "\x1f x \x0b",
        "Straße@Example.de",
        "İstanbul@example.tr",
        "\xa0bob@example.org\u2003",
        "ÄÖÜ",
        "x" * 300,
    ]
    salt = bytes(range(salt_bytes))
    con = duckdb.connect()
    con.register("src", pa.table({"id": ids + [None, ""]}))
    pseudonym_table(con, "SELECT id AS ext FROM src", salt, "_ids")
    got = dict(con.execute("SELECT ext, cid FROM _ids").fetchall())
    assert got == dict(zip(ids, pseudonymise(ids, salt), strict=True))


def test_same_salt_across_imports_of_one_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "w"
    ws.mkdir()
    demo_without_data(ws, DEMO_YAML.parent)
    one = tmp_path / "one.csv"
    one.write_text("Record ID,Became a Lead Date\n17,2025-01-01\n", encoding="utf-8")
    two = tmp_path / "two.csv"
    two.write_text("Record ID,Became a Customer Date\n17,2025-02-01\n", encoding="utf-8")
    import_file(ws, one)
    import_file(ws, two)
    paths = pq.read_table(ws / "data" / "derived" / "contact_paths.parquet").to_pandas()
    assert len(paths) == 1, "the same CRM id must map to the same pseudonym"
    assert list(paths.stage_path[0]) == ["awareness", "retention"]
