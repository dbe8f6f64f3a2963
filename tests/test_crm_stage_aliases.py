"""Each CRM's standard stage names import into every preset and the demo with no map file.

A workspace's stages say which CRM stage names they take (``aliases``); the importer maps a
name through, in this order, the --stage-map file, the workspace's aliases and ignored names,
then the stage ids and names themselves. The tests write down, by hand, where each standard
name should land in each workspace (from the stages' descriptions), and count the expected
contacts per stage straight from the file with pandas.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from workbook import model
from workbook.crm import schema
from workbook.crm.demo import demo_without_data
from workbook.crm.generate import generate, write_export
from workbook.crm.importer import import_file
from workbook.exceptions import CrmImportError, WorkspaceValidationError
from workbook.store import new_workspace, open_workspace

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
WORKSPACES = ["demo", "b2b-saas", "d2c-retail", "professional-services"]
CRMS = ["hubspot", "salesforce", "pipedrive"]

# ------------------------------------------------------------- where each name should land

HUBSPOT = [
    "Subscriber",
    "Lead",
    "Marketing Qualified Lead",
    "Sales Qualified Lead",
    "Opportunity",
    "Customer",
    "Evangelist",
]
SALESFORCE = [
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
]
PIPEDRIVE = [
    "Qualified",
    "Lead In",
    "Contact Made",
    "Demo Scheduled",
    "Needs Defined",
    "Proposal Made",
    "Negotiations Started",
]
STANDARD = {"hubspot": HUBSPOT, "salesforce": SALESFORCE, "pipedrive": PIPEDRIVE}


def _spread(*groups: tuple[str, list[str]]) -> dict[str, str]:
    return {name: stage for stage, names in groups for name in names}


#: Standard name -> stage id, by workspace; worked out from each preset's stage descriptions.
EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    "demo": {
        "hubspot": _spread(
            ("awareness", ["Subscriber", "Lead"]),
            ("consideration", ["Marketing Qualified Lead", "Sales Qualified Lead"]),
            ("purchase", ["Opportunity"]),
            ("retention", ["Customer"]),
            ("advocacy", ["Evangelist"]),
        ),
        "salesforce": _spread(
            ("awareness", ["Prospecting"]),
            ("consideration", SALESFORCE[1:6]),
            ("purchase", ["Proposal/Price Quote", "Negotiation/Review"]),
        ),
        "pipedrive": _spread(
            ("awareness", ["Qualified", "Lead In"]),
            ("consideration", ["Contact Made", "Demo Scheduled", "Needs Defined"]),
            ("purchase", ["Proposal Made", "Negotiations Started"]),
        ),
    },
    "b2b-saas": {
        "hubspot": _spread(
            ("awareness", ["Subscriber", "Lead"]),
            ("evaluation", ["Marketing Qualified Lead", "Sales Qualified Lead"]),
            ("purchase", ["Opportunity"]),
            ("onboarding", ["Customer"]),
            ("advocacy", ["Evangelist"]),
        ),
        "salesforce": _spread(
            ("awareness", ["Prospecting"]),
            ("evaluation", SALESFORCE[1:7]),
            ("purchase", ["Negotiation/Review"]),
        ),
        "pipedrive": _spread(
            ("awareness", ["Qualified", "Lead In", "Contact Made"]),
            ("evaluation", ["Demo Scheduled", "Needs Defined", "Proposal Made"]),
            ("purchase", ["Negotiations Started"]),
        ),
    },
    "d2c-retail": {
        "hubspot": _spread(
            ("consider", HUBSPOT[:5]),
            ("buy", ["Customer"]),
            ("advocate", ["Evangelist"]),
        ),
        "salesforce": _spread(("discover", ["Prospecting"]), ("consider", SALESFORCE[1:])),
        "pipedrive": _spread(("discover", ["Qualified", "Lead In"]), ("consider", PIPEDRIVE[2:])),
    },
    "professional-services": {
        "hubspot": _spread(
            ("inquiry", ["Subscriber", "Lead", "Marketing Qualified Lead"]),
            ("comparison", ["Sales Qualified Lead"]),
            ("proposal", ["Opportunity"]),
            ("engagement", ["Customer"]),
            ("referral", ["Evangelist"]),
        ),
        "salesforce": _spread(
            ("inquiry", ["Prospecting", "Qualification"]),
            ("comparison", SALESFORCE[2:6]),
            ("proposal", ["Proposal/Price Quote", "Negotiation/Review"]),
        ),
        "pipedrive": _spread(
            ("inquiry", ["Qualified", "Lead In", "Contact Made"]),
            ("comparison", ["Demo Scheduled", "Needs Defined"]),
            ("proposal", ["Proposal Made", "Negotiations Started"]),
        ),
    },
}


def _key(name: str) -> str:
    return "".join(c for c in name if c not in " _-").casefold()


def _workspace(which: str, folder: Path) -> Path:
    if which == "demo":
        dest = folder / "demo"
        demo_without_data(dest, DEMO)
        return dest
    return Path(new_workspace("Client", preset=which, directory=folder).path)


def _entries(ws: Path) -> dict[str, int]:
    table = pq.read_table(schema.derived_path(ws, "stage_entries")).to_pandas()
    return {str(k): int(v) for k, v in table.groupby("stage").contact_id.nunique().items()}


def _expected_reach(frame: pd.DataFrame, crm: str, mapping: dict[str, str]) -> dict[str, int]:
    """Contacts per stage straight from the file: a contact reaches a stage when one of its
    rows (HubSpot: one of its "Became a ... Date" cells) names a CRM stage mapped there."""
    keyed = {_key(k): v for k, v in mapping.items()}
    reached: dict[str, set[str]] = {}
    if crm == "hubspot":
        for col in frame.columns:
            if col.startswith("Became a") and col.endswith(" Date"):
                name = col.split(" ", 2)[2].removesuffix(" Date")
                stage = keyed.get(_key(name))
                if stage:
                    who = frame.loc[frame[col].notna(), "Record ID"]
                    reached.setdefault(stage, set()).update(who)
    else:
        stage_col, who_col = (
            ("StageName", "OpportunityId")
            if crm == "salesforce"
            else ("Deal - Stage", "Person - ID")
        )
        for name, who in zip(frame[stage_col], frame[who_col], strict=True):
            stage = keyed.get(_key(name))
            if stage:
                reached.setdefault(stage, set()).add(who)
    return {s: len(w) for s, w in reached.items() if w}


# ------------------------------------------------------------------ the model and schema


def test_aliases_are_part_of_a_stage_and_of_the_schema() -> None:
    stage = model.Stage(id="buy", name="Buy", aliases=[" Customer ", "Closed Won"])
    assert stage.aliases == ["Customer", "Closed Won"]
    schema_json = model.Workspace.model_json_schema()
    assert "aliases" in schema_json["$defs"]["Stage"]["properties"]
    assert "ignored_stage_names" in schema_json["properties"]


def _stages(*aliases: list[str]) -> list[dict[str, Any]]:
    ids = ["first", "second", "third"]
    return [{"id": i, "name": i.title(), "aliases": a} for i, a in zip(ids, aliases, strict=False)]


@pytest.mark.parametrize(
    ("stages", "ignored", "field", "words"),
    [
        # one name claimed by two stages, spelled differently (case and spaces ignored)
        (
            _stages(["Sales Qualified Lead"], ["salesqualified lead"]),
            [],
            "stages[1].aliases[0]",
            ["'salesqualified lead'", "'first'"],
        ),
        # twice in one stage
        (_stages(["Lead", "LEAD "]), [], "stages[0].aliases[1]", ["twice"]),
        # the name of another stage
        (_stages(["Second"], []), [], "stages[0].aliases[0]", ["'second'"]),
        # both an alias and ignored
        (_stages(["Other"]), [{"name": "other"}], "ignored_stage_names[0].name", ["'first'"]),
        # ignoring a stage's own name
        (_stages([]), [{"name": "FIRST"}], "ignored_stage_names[0].name", ["'first'"]),
    ],
)
def test_a_stage_name_belongs_to_one_place(
    stages: list[dict[str, Any]], ignored: list[dict[str, str]], field: str, words: list[str]
) -> None:
    data = {"client": {"name": "A", "slug": "a"}, "stages": stages, "ignored_stage_names": ignored}
    with pytest.raises(WorkspaceValidationError) as info:
        model.validate_workspace(data, file="w.yaml")
    (problem,) = info.value.problems
    assert problem.field == field and problem.file == "w.yaml"
    assert all(w in problem.message for w in words), problem.message
    assert problem.hint


def test_an_alias_needs_a_letter_or_digit() -> None:
    with pytest.raises(WorkspaceValidationError) as info:
        model.validate_workspace(
            {"client": {"name": "A", "slug": "a"}, "stages": _stages(["--"])}, file="w.yaml"
        )
    assert [p.field for p in info.value.problems] == ["stages[0].aliases[0]"]


@pytest.mark.parametrize("which", WORKSPACES)
def test_every_standard_name_has_its_place(which: str, tmp_path: Path) -> None:
    """The aliases of the preset (or demo) say exactly what the table above says."""
    ws = open_workspace(_workspace(which, tmp_path)).data
    claimed = {_key(a): s.id for s in ws.stages for a in s.aliases}
    for crm in CRMS:
        for name in STANDARD[crm]:
            assert claimed.get(_key(name)) == EXPECTED[which][crm][name], (crm, name)
    # the closes of Salesforce are outcomes, not stages: no workspace claims them
    assert not {_key("Closed Won"), _key("Closed Lost")} & set(claimed)


# ---------------------------------------------------------- (a) the generator's exports


def _names_in(path: Path, crm: str) -> set[str]:
    frame = pd.read_csv(path, dtype=str)
    if crm == "hubspot":
        return {
            c.split(" ", 2)[2].removesuffix(" Date")
            for c in frame.columns
            if c.startswith("Became")
        }
    col = "StageName" if crm == "salesforce" else "Deal - Stage"
    return set(frame[col].dropna())


@pytest.mark.parametrize("crm", CRMS)
@pytest.mark.parametrize("which", WORKSPACES)
def test_generated_standard_export_imports_without_a_map(
    which: str, crm: str, tmp_path: Path
) -> None:
    ws = _workspace(which, tmp_path)
    data = open_workspace(ws).data
    sample = generate(data, contacts=400, seed=7)
    path = write_export(sample, crm, tmp_path / "exports")
    names = _names_in(path, crm)
    mapping = EXPECTED[which][crm]
    # the file speaks the CRM's language: a stage with a standard name is written under it,
    # only stages the CRM has no name for keep the workspace's own name (as custom stages:
    # d2c-retail's deals sit in Buy and Use, which no Pipedrive pipeline stage maps to)
    standard_stages = set(mapping.values())
    own = {s.name: s.id for s in data.stages if s.id not in standard_stages}
    outcomes = {"Closed Won", "Closed Lost"} if crm == "salesforce" else set()
    assert names <= set(mapping) | set(own) | outcomes, names - set(mapping)
    assert names & set(mapping) or (which, crm) == ("d2c-retail", "pipedrive")

    result = import_file(ws, path)
    assert result.rows_rejected == 0
    assert not [w for w in result.warnings if "stage" in w.message]
    frame = pd.read_csv(path, dtype=str)
    expected = _expected_reach(frame, crm, mapping | own)
    assert expected and _entries(ws) == expected


# ---------------------------------------------------- (b) small files written by hand

T = "2025-01-{:02d} 09:{:02d}"


def _hubspot_file() -> str:
    """A contacts export as HubSpot writes it: labels in the columns, lifecycle stage values
    as labels or as internal names, an "Other" contact."""
    cols = [
        "Record ID",
        "First Name",
        "Last Name",
        "Email",
        "Lifecycle Stage",
        "Create Date",
        "Original Source",
        "Became a Subscriber Date",
        "Became a Lead Date",
        "Became a Marketing Qualified Lead Date",
        "Became a Sales Qualified Lead Date",
        "Became an Opportunity Date",
        "Became a Customer Date",
        "Became an Evangelist Date",
        "Became an Other Lifecycle Date",
    ]
    people = [
        # id, lifecycle value, how far along (stage dates filled from the first)
        ("101", "subscriber", 1, False),
        ("102", "Marketing Qualified Lead", 3, False),
        ("103", "salesqualifiedlead", 4, False),
        ("104", "opportunity", 5, False),
        ("105", "Customer", 6, False),
        ("106", "Evangelist", 7, False),
        ("107", "Other", 2, True),
    ]
    out = io.StringIO()
    out.write(",".join(cols) + "\n")
    for n, (rid, life, far, other) in enumerate(people):
        dates = [T.format(2 + i, n) if i < far else "" for i in range(7)]
        row = [rid, f"Ann{n}", "Lee", f"ann{n}@example.org", life, T.format(1, n), "Paid Search"]
        row += dates + [T.format(20, n) if other else ""]
        out.write(",".join(row) + "\n")
    return out.getvalue()


def _salesforce_file() -> str:
    """OpportunityHistory as Data Loader exports it (its standard fields)."""
    cols = "Id,OpportunityId,CreatedById,CreatedDate,StageName,Amount,ExpectedRevenue,CloseDate,"
    cols += "Probability,ForecastCategory,IsDeleted,SystemModstamp\n"
    opps = {
        "0061": [
            "Prospecting",
            "Qualification",
            "Needs Analysis",
            "Value Proposition",
            "Closed Lost",
        ],
        "0062": [
            "Prospecting",
            "Qualification",
            "Id. Decision Makers",
            "Perception Analysis",
            "Proposal/Price Quote",
            "Negotiation/Review",
            "Closed Won",
        ],
        "0063": ["Qualification", "Proposal/Price Quote"],
        "0064": ["Prospecting"],
    }
    rows = []
    for o, stages in opps.items():
        for i, st in enumerate(stages):
            ts = f"2025-02-{1 + i:02d}T10:{int(o[-1]):02d}:00.000Z"
            prob = {"Closed Won": 100, "Closed Lost": 0}.get(st, 10 * (i + 1))
            rows.append(
                f"00H{len(rows):012d},{o},005A,{ts},{st},1000.00,{prob * 10},2025-03-31,"
                f"{prob},{'Closed' if st == 'Closed Won' else 'Pipeline'},false,{ts}"
            )
    return cols + "\n".join(rows) + "\n"


def _pipedrive_file() -> str:
    """A deals export as Pipedrive writes it, one deal (and one person) per stage."""
    cols = (
        "Deal - ID,Deal - Title,Deal - Value,Deal - Currency,Deal - Pipeline,Deal - Stage,"
        "Deal - Status,Deal - Deal created,Deal - Won time,Deal - Lost time,Deal - Lost reason,"
        "Deal - Contact person,Person - ID,Deal - Organization,Organization - ID\n"
    )
    deals = [
        ("Qualified", "open"),
        ("Lead In", "open"),
        ("Contact Made", "lost"),
        ("Demo Scheduled", "open"),
        ("Needs Defined", "lost"),
        ("Proposal Made", "won"),
        ("Negotiations Started", "won"),
        ("Negotiations Started", "open"),
    ]
    rows = []
    for i, (stage, status) in enumerate(deals, 1):
        won = "2025-03-10 12:00:00" if status == "won" else ""
        lost = "2025-03-11 12:00:00" if status == "lost" else ""
        reason = "Price" if status == "lost" else ""
        rows.append(
            f"{i},Deal {i},{100 * i},EUR,Pipeline,{stage},{status},2025-03-0{i % 9 + 1} 09:00:00,"
            f"{won},{lost},{reason},Person {i},{500 + i},Org {i},{900 + i}"
        )
    return cols + "\n".join(rows) + "\n"


HAND = {
    "hubspot": ("hubspot-contacts.csv", _hubspot_file),
    "salesforce": ("OpportunityHistory.csv", _salesforce_file),
    "pipedrive": ("pipedrive-deals.csv", _pipedrive_file),
}


@pytest.mark.parametrize("crm", CRMS)
@pytest.mark.parametrize("which", WORKSPACES)
def test_hand_written_standard_export_imports_without_a_map(
    which: str, crm: str, tmp_path: Path
) -> None:
    ws = _workspace(which, tmp_path)
    name, text = HAND[crm]
    path = tmp_path / name
    path.write_text(text(), encoding="utf-8")
    result = import_file(ws, path)
    assert result.system == crm and result.rows_rejected == 0
    frame = pd.read_csv(path, dtype=str)
    expected = _expected_reach(frame, crm, EXPECTED[which][crm])
    assert expected and _entries(ws) == expected


def test_hand_worked_counts_for_one_preset(tmp_path: Path) -> None:
    """The same files, counted by hand for professional services (not through the table)."""
    for crm, reach in [
        # 101..107 all start as subscribers (inquiry); 103..106 reach SQL, 104..106 an
        # opportunity, 105 and 106 are customers, 106 an evangelist; 107's "Other" is skipped
        ("hubspot", {"inquiry": 7, "comparison": 4, "proposal": 3, "engagement": 2, "referral": 1}),
        # 0061 0062 0064 prospect and 0063 qualifies; 0061 and 0062 analyse needs or decision
        # makers; 0062 and 0063 get a quote; the closes are outcomes
        ("salesforce", {"inquiry": 4, "comparison": 2, "proposal": 2}),
        # deals 1-3 before the discovery call, 4-5 needs defined, 6-8 proposal or negotiation
        ("pipedrive", {"inquiry": 3, "comparison": 2, "proposal": 3}),
    ]:
        ws = _workspace("professional-services", tmp_path / crm)
        name, text = HAND[crm]
        (tmp_path / name).write_text(text(), encoding="utf-8")
        import_file(ws, tmp_path / name)
        assert _entries(ws) == reach, crm


def test_a_blank_workspace_keeps_the_standard_names(tmp_path: Path) -> None:
    """A workspace made without a preset has the method's five stages, with their aliases."""
    ws = Path(new_workspace("Blank", directory=tmp_path).path)
    for crm in CRMS:
        name, text = HAND[crm]
        (tmp_path / name).write_text(text(), encoding="utf-8")
        import_file(ws, tmp_path / name)
    stages = open_workspace(ws).data.stages
    assert all(s.aliases for s in stages)


# ------------------------------------------------------------------- order of the maps


def _tiny(tmp_path: Path) -> Path:
    path = tmp_path / "hub.csv"
    path.write_text(
        "Record ID,Lifecycle Stage,Became a Lead Date,Became a Trialist Date,"
        "Became a Purchase Date\n"
        "1,Purchase,2025-01-01,2025-01-02,2025-01-03\n",
        encoding="utf-8",
    )
    return path


def _stage_events(ws: Path, source_id: str) -> list[str]:
    events = pq.read_table(schema.source_dir(ws, source_id) / "events.parquet").to_pandas()
    return sorted(events.loc[events.kind == "stage", "stage"])


def test_map_file_then_aliases_then_names(tmp_path: Path) -> None:
    ws = _workspace("demo", tmp_path)
    path = _tiny(tmp_path)
    # "Trialist" is nobody's: listed, nothing imported
    with pytest.raises(CrmImportError) as info:
        import_file(ws, path)
    assert [p.column for p in info.value.errors] == ["Became a Trialist Date"]
    assert not (ws / "data" / "manifest.json").exists()

    # an alias takes it; "Lead" goes where the demo's aliases say, "Purchase" by its name
    open_ws = open_workspace(ws)
    open_ws.data.stage("consideration").aliases.append("trialist")
    open_ws.save()
    result = import_file(ws, path)
    assert _stage_events(ws, result.source_id) == ["awareness", "consideration", "purchase"]

    # a map file beats the aliases: the same file again, under another source id
    stage_map = tmp_path / "stages.yaml"
    stage_map.write_text("Trialist: retention\nLead: null\n", encoding="utf-8")
    other = tmp_path / "second" / path.name
    other.parent.mkdir()
    other.write_text(path.read_text(encoding="utf-8") + "2,,,,2025-01-04\n", encoding="utf-8")
    result = import_file(ws, other, stage_map=stage_map, source_id="again")
    assert _stage_events(ws, "again") == ["purchase", "purchase", "retention"]


def test_ignored_names_are_skipped(tmp_path: Path) -> None:
    ws = _workspace("b2b-saas", tmp_path)
    path = _tiny(tmp_path)
    open_ws = open_workspace(ws)
    open_ws.data.ignored_stage_names.append(
        model.IgnoredStageName(name="TRIALIST", reason="a marketing list, not a stage")
    )
    open_ws.save()
    result = import_file(ws, path)
    assert _stage_events(ws, result.source_id) == ["awareness", "purchase"]
