"""The demo client ships its CRM history, imported and consistent."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from workbook.crm import schema
from workbook.crm.demo import DEMO_CONTACTS, build_demo_data
from workbook.crm.derive import DERIVED, rebuild_workspace
from workbook.crm.importer import read_manifest
from workbook.store import open_workspace

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"


def test_demo_data_is_shipped_and_recorded() -> None:
    manifest = read_manifest(DEMO)
    ws = open_workspace(DEMO).data
    assert {d.id: d.sha256 for d in ws.data_sources} == {
        k: v["sha256"] for k, v in manifest["sources"].items()
    }
    for table in DERIVED:
        assert schema.derived_path(DEMO, table).exists()
    paths = pq.read_table(schema.derived_path(DEMO, "contact_paths")).to_pandas()
    assert len(paths) == DEMO_CONTACTS
    assert paths.contact_id.map(lambda c: bool(re.fullmatch(r"c[0-9a-f]{16}", c))).all()
    assert set(paths.outcome) == {"won", "lost", "open", "none"}
    size = sum(p.stat().st_size for p in (DEMO / "data").rglob("*") if p.is_file())
    assert size < 3 << 20


def test_shipped_derived_tables_match_the_shipped_sources(demo_copy: Path) -> None:
    rebuild_workspace(demo_copy)
    for table in DERIVED:
        shipped = pq.read_table(schema.derived_path(DEMO, table)).to_pandas()
        rebuilt = pq.read_table(schema.derived_path(demo_copy, table)).to_pandas()
        pd.testing.assert_frame_equal(shipped, rebuilt)


def test_demo_history_can_be_rebuilt(tmp_path: Path) -> None:
    ws = tmp_path / "demo"
    ws.mkdir()
    (ws / "workspace.yaml").write_text(
        re.sub(r"(?ms)^data_sources:.*", "", (DEMO / "workspace.yaml").read_text(encoding="utf-8")),
        encoding="utf-8",
    )
    result = build_demo_data(ws, contacts=300)
    assert result.tables["contacts"] == 300 and result.rows_rejected == 0
