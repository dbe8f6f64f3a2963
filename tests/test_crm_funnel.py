"""Funnel numbers from the derived tables equal a direct count on the source file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from workbook.crm import schema
from workbook.crm.demo import demo_without_data
from workbook.crm.generate import SampleCrm, generate, write_export
from workbook.crm.importer import import_file
from workbook.store import open_workspace

ROOT = Path(__file__).resolve().parent.parent
DEMO_YAML = ROOT / "data" / "demo" / "workspace.yaml"


@pytest.fixture(scope="module")
def sample() -> SampleCrm:
    return generate(open_workspace(DEMO_YAML.parent).data, contacts=1500, seed=21)


def _ws(tmp_path: Path) -> Path:
    ws = tmp_path / "client"
    ws.mkdir(parents=True)
    demo_without_data(ws, DEMO_YAML.parent)
    return ws


def _derived(ws: Path, table: str) -> pd.DataFrame:
    return pq.read_table(schema.derived_path(ws, table)).to_pandas()


def test_hubspot_stage_reach_matches_the_file(sample: SampleCrm, tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    path = write_export(
        sample, "hubspot", tmp_path, encoding="cp1252", delimiter=";", newline="\r\n"
    )
    import_file(ws, path)
    raw = pd.read_csv(path, sep=";", encoding="cp1252", dtype=str)
    entries = _derived(ws, "stage_entries").stage.value_counts()
    for stage_id, name in sample.names_for("hubspot").items():
        article = "an" if name[0].lower() in "aeiou" else "a"
        direct = raw[f"Became {article} {name} Date"].notna().sum()
        assert entries.get(stage_id, 0) == direct, stage_id
    assert len(_derived(ws, "contact_paths")) == len(raw)


def test_generic_funnel_and_outcomes_match_the_file(sample: SampleCrm, tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    path = write_export(sample, "generic", tmp_path)
    import_file(ws, path)
    raw = pd.read_csv(path, dtype=str)
    stage_rows = raw[raw.kind == "stage"]
    direct = stage_rows.groupby("stage").email.nunique()
    entries = _derived(ws, "stage_entries").stage.value_counts()
    assert entries.sort_index().to_dict() == direct.sort_index().to_dict()
    paths = _derived(ws, "contact_paths")
    won = raw[raw.action == "won"].email.nunique()
    assert (paths.outcome == "won").sum() == won > 0
    # stage-to-stage moves: every contact's path has one entry per stay in a stage
    spells = _derived(ws, "stage_spells")
    assert len(spells) == paths.stage_path.map(len).sum()
    # touches per touchpoint (sends are not touches)
    touches = raw[(raw.kind == "touch") & (raw.action != "sent") & raw.touchpoint.notna()]
    assert paths.n_touches.sum() == len(touches)


def test_deal_outcomes_match_salesforce_and_pipedrive(sample: SampleCrm, tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    sf = write_export(sample, "salesforce", tmp_path)
    import_file(ws, sf)
    raw = pd.read_csv(sf, dtype=str)
    last = (
        raw.sort_values(["OpportunityId", "CreatedDate", "Id"])
        .groupby("OpportunityId")
        .StageName.last()
    )
    deals = pq.read_table(
        schema.source_dir(ws, "salesforce-opportunityhistory") / "deals.parquet"
    ).to_pandas()
    assert (deals.outcome == "won").sum() == (last == "Closed Won").sum()
    assert (deals.outcome == "lost").sum() == (last == "Closed Lost").sum()

    ws2 = _ws(tmp_path / "second")
    pdv = write_export(sample, "pipedrive", tmp_path)
    import_file(ws2, pdv)
    raw = pd.read_csv(pdv, dtype=str)
    outcomes = _derived(ws2, "contact_paths").outcome.value_counts()
    assert outcomes.to_dict() == raw["Deal - Status"].value_counts().to_dict()
