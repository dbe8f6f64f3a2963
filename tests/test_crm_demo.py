"""The demo client ships its CRM history, imported and consistent."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

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


def test_demo_history_ends_where_the_engagement_says_the_export_was_taken() -> None:
    # The cycle log says the export was imported on 3 November 2026; the report is dated
    # after it. A history ending a year earlier is the first thing a reader would notice.
    ws = open_workspace(DEMO).data
    (source,) = ws.data_sources
    assert source.last_event is not None and source.first_event is not None
    assert source.last_event.date() == dt.date(2026, 10, 31)
    months = (source.last_event - source.first_event).days / 30.44
    assert 13.5 < months < 14.5  # "the last 14 months", as the log says
    imported = next(e.date for e in ws.cycle.log if "imported" in e.note)
    assert source.last_event.date() < imported


def test_the_gap_analysis_finds_what_the_demo_history_hides() -> None:
    # The demo's history is drawn with one weak component planted: the first persona's
    # consideration-to-purchase step at 40% of its usual chance. For the objective on that
    # step, going wide across personas must rank it first, by hand-checkable numbers.
    from workbook.analytics import gaps
    from workbook.crm.generate import planted

    ws = open_workspace(DEMO)
    persona, stage = planted(ws.data)
    objective = next(o for o in ws.data.objectives if o.metric == f"conversion:{stage}:purchase")
    wide = gaps(ws, "persona", stage=objective.metric.split(":")[1])
    top = wide.iloc[0]
    assert (top.kind, top.stage, top.group) == ("conversion", stage, persona)
    # Its rate, worked out from the derived stage entries without the analytics: of the
    # persona's contacts who reached the stage, the share who reached the next one.
    entries = pq.read_table(schema.derived_path(DEMO, "stage_entries")).to_pandas()
    people = pq.read_table(schema.derived_path(DEMO, "contact_paths")).to_pandas()
    mine = set(people.contact_id[people.persona == persona])
    mine_entries = entries[entries.contact_id.isin(mine)]
    at_stage = set(mine_entries.contact_id[mine_entries.stage == stage])
    went_on = at_stage & set(mine_entries.contact_id[mine_entries.stage == "purchase"])
    assert top.value == pytest.approx(len(went_on) / len(at_stage))
    assert top.value < 0.6 * top.benchmark  # the plant keeps 40%: far below the others


def test_the_cover_says_which_dates_the_crm_data_covers(tmp_path: Path) -> None:
    from workbook.crm.demo import demo_without_data
    from workbook.sections import render_section, report_context

    cover = render_section("cover", report_context(DEMO, report_date="2026-12-04"))
    assert "<dt>CRM data</dt><dd>31 Aug 2025 to 31 Oct 2026</dd>" in str(cover)
    bare = demo_without_data(tmp_path / "bare", DEMO)
    cover = render_section("cover", report_context(bare, report_date="2026-12-04"))
    assert "CRM data" not in str(cover)  # no import yet: nothing to claim
