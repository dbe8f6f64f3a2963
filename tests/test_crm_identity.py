"""One person, one contact, whichever system exported them (issue 21).

The expected people in each test are worked out by hand from the files written here (who
shares an address or an id with whom), never from the importer's own output.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbook.analytics import Engine, funnel, people_by_source, people_by_sources
from workbook.crm.demo import demo_without_data
from workbook.crm.generate import FORMATS, generate, write_exports
from workbook.crm.importer import import_file, read_manifest
from workbook.store import open_workspace

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"

HUBSPOT = ["Record ID", "Email", "Lifecycle Stage", "Became a Lead Date", "Create Date"]
PIPEDRIVE = [
    "Deal - ID",
    "Deal - Stage",
    "Deal - Status",
    "Deal - Deal created",
    "Deal - Won time",
    "Deal - Value",
    "Deal - Currency",
    "Person - ID",
    "Person - Email",
]


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    dest = tmp_path / "client"
    dest.mkdir()
    demo_without_data(dest, DEMO)
    return dest


def _hubspot(folder: Path, emails: dict[str, str]) -> Path:
    """A HubSpot contacts export: Record ID -> e-mail (empty for none)."""
    rows = [
        [rid, mail, "Lead", f"2025-03-{i + 1:02d} 09:00", f"2025-03-{i + 1:02d} 09:00"]
        for i, (rid, mail) in enumerate(emails.items())
    ]
    return _csv(folder / "hubspot-contacts.csv", HUBSPOT, rows)


WHEN, WON = "2025-04-01 10:00", "2025-04-20 10:00"


def _pipedrive(folder: Path, deals: list[tuple[str, str, str]]) -> Path:
    """A Pipedrive deals export: (deal id, person id, person e-mail)."""
    rows = [
        [d, "Negotiations Started", "won", WHEN, WON, "100", "GBP", pid, mail]
        for d, pid, mail in deals
    ]
    return _csv(folder / "pipedrive-deals.csv", PIPEDRIVE, rows)


def _people(ws: Path) -> set[str]:
    eng = Engine.for_workspace(ws)
    return set(eng.query("SELECT DISTINCT contact_id FROM contacts").contact_id)


def test_a_hubspot_and_a_pipedrive_export_overlapping_on_email(ws: Path, tmp_path: Path) -> None:
    # HubSpot knows Ann, Bo, Cy and Di (Di without an address). Pipedrive's persons: Ann (same
    # address, other case and spaces), Bo (another address: not the same person by e-mail,
    # but the same person id as in HubSpot, as a synced pair would have), Ed (new), and a
    # person with no address whose id is Di's.
    hub = _hubspot(
        tmp_path / "h",
        {"101": "ann@example.org", "102": "bo@example.org", "103": "cy@example.org", "104": ""},
    )
    pipe = _pipedrive(
        tmp_path / "p",
        [
            ("1", "501", "  ANN@Example.org "),
            ("2", "102", "bo.work@example.org"),
            ("3", "503", "ed@example.org"),
            ("4", "104", ""),
        ],
    )
    first = import_file(ws, hub)
    assert first.people is not None and first.people.contacts == 4 and first.people.new == 4
    second = import_file(ws, pipe)
    p = second.people
    assert p is not None
    # Ann on e-mail; Bo on e-mail? no: his Pipedrive address is new, so on his id; Di on id
    assert (p.contacts, p.on_email, p.on_id, p.new) == (4, 1, 2, 1)
    assert "1 on e-mail" in p.line() and "2 on id" in p.line() and "1 new" in p.line()
    assert not second.warnings  # linked: nothing to warn about
    assert len(_people(ws)) == 5  # Ann, Bo, Cy, Di, Ed
    by_source = people_by_source(ws).set_index("source_id")
    assert by_source.loc["pipedrive-deals"].tolist() == [4, 3, 1]
    assert by_source.loc["hubspot-contacts"].tolist() == [4, 3, 1]
    assert people_by_sources(ws).values.tolist() == [[1, 2], [2, 3]]
    # the manifest keeps the counts; the keys files only hashes
    assert read_manifest(ws)["sources"]["pipedrive-deals"]["people"]["on_id"] == 2
    for f in (ws / "data" / "sources").glob("*/keys.parquet"):
        keys = pq.read_table(f).to_pylist()
        assert keys and all("@" not in r["key"] and r["key"].startswith("c") for r in keys)


def test_match_none_and_email_keep_people_apart_and_say_so(ws: Path, tmp_path: Path) -> None:
    hub = _hubspot(tmp_path / "h", {"101": "ann@example.org", "102": "bo@example.org"})
    pipe = _pipedrive(tmp_path / "p", [("1", "101", "ann@example.org"), ("2", "102", "")])
    import_file(ws, hub)
    apart = import_file(ws, pipe, match="none")
    assert apart.people is not None and apart.people.matched == 0
    assert "kept apart" in apart.people.line()
    assert len(_people(ws)) == 4
    # by e-mail only: Ann links, Bo (no address in Pipedrive) stays apart though his id matches
    only_mail = import_file(ws, pipe, match="email", source_id="pipedrive-again")
    assert only_mail.people is not None
    assert (only_mail.people.on_email, only_mail.people.on_id) == (1, 0)


def test_a_source_with_no_shared_key_is_imported_apart_with_a_warning(
    ws: Path, tmp_path: Path
) -> None:
    hub = _hubspot(tmp_path / "h", {"101": "ann@example.org"})
    import_file(ws, hub)
    other = _csv(
        tmp_path / "g" / "visits.csv",
        ["visitor_id", "timestamp", "stage"],
        [["v-1", "2025-05-01T10:00:00Z", "awareness"]],
    )
    result = import_file(ws, other)
    (warning,) = [w for w in result.warnings if "matched anyone" in w.message]
    assert "no e-mail address" in warning.message and warning.hint
    assert len(_people(ws)) == 2


def test_the_same_stage_entry_from_two_sources_counts_once(ws: Path, tmp_path: Path) -> None:
    # the same person enters consideration on the same day in both exports (other hours), and
    # purchase only in the second; an entry on another day is another entry
    a = _csv(
        tmp_path / "a" / "marketing.csv",
        ["email", "timestamp", "stage"],
        [
            ["ann@example.org", "2025-05-01T08:00:00Z", "consideration"],
            ["ann@example.org", "2025-05-03T08:00:00Z", "awareness"],
        ],
    )
    b = _csv(
        tmp_path / "b" / "sales.csv",
        ["email", "timestamp", "stage"],
        [
            ["Ann@Example.org", "2025-05-01T17:00:00Z", "consideration"],
            ["ann@example.org", "2025-05-02T09:00:00Z", "purchase"],
        ],
    )
    import_file(ws, a)
    import_file(ws, b)
    eng = Engine.for_workspace(ws)
    stages = eng.query(
        "SELECT stage, source_id, ts FROM events WHERE kind = 'stage' ORDER BY ts"
    ).values.tolist()
    assert [(s, src) for s, src, _ in stages] == [
        ("consideration", "generic-marketing"),  # the earlier report of the two
        ("purchase", "generic-sales"),
        ("awareness", "generic-marketing"),
    ]
    spells = pq.read_table(ws / "data" / "derived" / "stage_spells.parquet").to_pylist()
    assert [s["stage"] for s in spells] == ["consideration", "purchase", "awareness"]
    assert funnel(ws).set_index("stage").contacts["purchase"] == 1


def _sample_folder(tmp_path: Path, contacts: int) -> tuple[Path, dict[str, Path]]:
    model = open_workspace(DEMO).data
    sample = generate(model, contacts=contacts, seed=21, currency="GBP")
    paths = write_exports([sample], FORMATS, tmp_path / "exports")
    return tmp_path / "exports", paths


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _sample_folder(tmp_path_factory.mktemp("exports"), 5000)[1]


@pytest.fixture(scope="module")
def events_alone(
    exports: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, list[int]]:
    ws = tmp_path_factory.mktemp("alone") / "client"
    ws.mkdir()
    demo_without_data(ws, DEMO)
    import_file(ws, exports["generic"])
    f = funnel(ws)
    return len(_people(ws)), f.contacts.tolist()


@pytest.mark.parametrize(
    "order",
    [
        ["hubspot", "pipedrive", "generic", "salesforce", "salesforce-roles"],
        ["salesforce", "generic", "salesforce-roles", "pipedrive", "hubspot"],
        ["salesforce-roles", "salesforce", "pipedrive", "hubspot", "generic"],
    ],
)
def test_every_export_of_one_history_imports_as_its_people(
    exports: dict[str, Path], events_alone: tuple[int, list[int]], tmp_path: Path, order: list[str]
) -> None:
    ws = tmp_path / "client"
    ws.mkdir()
    demo_without_data(ws, DEMO)
    for fmt in order:
        import_file(ws, exports[fmt], currency="GBP")
    people, stages = events_alone
    assert people == 5000
    assert len(_people(ws)) == 5000
    assert funnel(ws).contacts.tolist() == stages
    # each deal once, though three exports carry it
    eng = Engine.for_workspace(ws)
    with exports["pipedrive"].open(encoding="utf-8") as fh:
        alone = sum(1 for _ in csv.DictReader(fh))
    assert eng.query("SELECT count(*) AS n FROM deals").n[0] == alone
    assert people_by_sources(ws).people.sum() == 5000


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    data=st.data(),
)
def test_row_order_case_and_spaces_of_addresses_change_no_match(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    people = [f"p{i}@example.org" for i in range(6)]
    # the HubSpot side knows four of them; Pipedrive writes five, any case, any padding, in
    # any order; who is matched must be the same every time: p1, p2, p3 (ids differ)
    hub_ids = {f"{100 + i}": people[i] for i in range(4)}
    pads = st.sampled_from(["", " ", "  ", "\t", "\u00a0"])
    cases = st.sampled_from([str.lower, str.upper, str.title, lambda s: s])
    deals = []
    for i in range(1, 6):
        mail = data.draw(pads) + data.draw(cases)(people[i]) + data.draw(pads)
        deals.append((str(i), f"{900 + i}", mail))
    deals = data.draw(st.permutations(deals))
    tmp = tmp_path_factory.mktemp("prop")
    ws = tmp / "client"
    ws.mkdir()
    demo_without_data(ws, DEMO)
    hub_rows = list(hub_ids.items())
    hub_rows = data.draw(st.permutations(hub_rows))
    import_file(ws, _hubspot(tmp / "h", dict(hub_rows)))
    result = import_file(ws, _pipedrive(tmp / "p", deals))
    assert result.people is not None
    assert (result.people.on_email, result.people.new) == (3, 2)
    assert len(_people(ws)) == 6


def test_a_newer_export_of_a_source_replaces_its_rows(ws: Path, tmp_path: Path) -> None:
    """A source is the same source when its id is: by default the system and the file name
    without dates or copy markers (hubspot-contacts-2025-05-01.csv is hubspot-contacts)."""
    old = _hubspot(tmp_path / "old", {"101": "ann@example.org", "102": "bo@example.org"})
    new_dir = tmp_path / "new"
    newer = _hubspot(new_dir, {"101": "ann@example.org", "103": "cy@example.org"})
    newer = newer.rename(new_dir / "hubspot-contacts-2025-06-01.csv")
    a = import_file(ws, old)
    b = import_file(ws, newer)
    assert a.source_id == b.source_id and b.replaced
    assert len(_people(ws)) == 2  # Ann and Cy; Bo left with the older export


def test_identity_keys_are_independent_of_import_order_for_any_pair(
    exports: dict[str, Path], tmp_path: Path
) -> None:
    """Every pair of exports, in both orders, gives the same people (the same salt, so the
    same pseudonyms)."""
    seen = {}
    for a, b in itertools.permutations(["hubspot", "pipedrive", "generic"], 2):
        ws = tmp_path / f"{a}-{b}"
        ws.mkdir()
        demo_without_data(ws, DEMO)
        (ws / "data").mkdir(exist_ok=True)
        (ws / "data" / ".salt").write_bytes(b"one salt for every workspace here")
        import_file(ws, exports[a])
        import_file(ws, exports[b])
        seen[(a, b)] = _people(ws)
    for a, b in seen:
        assert seen[(a, b)] == seen[(b, a)]


def test_a_generic_column_map_names_the_email_column_and_the_match(
    ws: Path, tmp_path: Path
) -> None:
    import_file(ws, _hubspot(tmp_path / "h", {"101": "ann@example.org", "102": "bo@example.org"}))
    visits = _csv(
        tmp_path / "g" / "app-events.csv",
        ["user_id", "Work Email", "when", "stage"],
        [
            ["u-1", "Ann@Example.org", "2025-05-01T10:00:00Z", "awareness"],
            ["u-2", "", "2025-05-01T11:00:00Z", "awareness"],
        ],
    )
    cmap = {"columns": {"contact_id": "user_id", "email": "Work Email", "ts": "when"}}
    linked = import_file(ws, visits, column_map=cmap, source="generic")
    assert linked.people is not None
    assert (linked.people.on_email, linked.people.new) == (1, 1)
    assert len(_people(ws)) == 3  # Ann, Bo, and u-2
    apart = import_file(
        ws, visits, column_map={**cmap, "match": "none"}, source_id="apart", source="generic"
    )
    assert apart.people is not None and apart.people.matched == 0
    with pytest.raises(Exception, match="not a way to match people"):
        import_file(
            ws, visits, column_map={**cmap, "match": "fuzzy"}, source_id="bad", source="generic"
        )


def test_an_export_with_both_keys_joins_people_an_email_and_an_id_export_kept_apart(
    ws: Path, tmp_path: Path
) -> None:
    # marketing knows Ann by address only; sales knows her by id only; HubSpot, last, has
    # both: it shows they are one person, so the two are merged
    marketing = _csv(
        tmp_path / "m" / "newsletter.csv",
        ["email", "timestamp", "stage"],
        [["ann@example.org", "2025-05-01T08:00:00Z", "awareness"]],
    )
    sales = _pipedrive(tmp_path / "p", [("1", "101", "")])
    import_file(ws, marketing)
    import_file(ws, sales)
    assert len(_people(ws)) == 2  # nothing yet says they are one
    hub = import_file(ws, _hubspot(tmp_path / "h", {"101": "ann@example.org"}))
    assert hub.people is not None and hub.people.conflicts == 1 and hub.people.relinked == 1
    assert len(_people(ws)) == 1
    assert people_by_sources(ws).values.tolist() == [[3, 1]]
    # and the same export imported again with another match mode is imported, not skipped
    again = import_file(ws, _hubspot(tmp_path / "h", {"101": "ann@example.org"}), match="email")
    assert not again.unchanged


def test_two_sources_reporting_a_stage_entry_at_the_same_moment_count_it_once(
    ws: Path, tmp_path: Path
) -> None:
    """A tie on the timestamp: the entry is kept once, from the first source by id."""
    row = ["ann@example.org", "2025-05-01T08:00:00Z", "consideration"]
    other = ["bo@example.org", "2025-05-02T08:00:00Z", "awareness"]  # files must differ
    a = _csv(tmp_path / "a" / "zeta.csv", ["email", "timestamp", "stage"], [row])
    b = _csv(tmp_path / "b" / "alpha.csv", ["email", "timestamp", "stage"], [row, other])
    import_file(ws, a)
    import_file(ws, b)
    eng = Engine.for_workspace(ws)
    kept = eng.query(
        "SELECT source_id FROM events WHERE kind = 'stage' AND stage = 'consideration'"
    ).source_id.tolist()
    assert kept == ["generic-alpha"]
    entries = pq.read_table(ws / "data" / "derived" / "stage_entries.parquet").to_pylist()
    assert sorted(e["stage"] for e in entries) == ["awareness", "consideration"]
