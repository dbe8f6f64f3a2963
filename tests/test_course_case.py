"""The course case, as a trainee and a trainer meet it.

A fresh copy starts with every exercise undone; the whole course is done through the forms
the notebooks show (widgets driven headless: ``.value`` and ``Button.click()``) and the data
form's import, wrong answers first (the feedback is asserted), then right ones, until every
exercise is done. The trainer's solutions pass every check; the trainer's view reads folders
and hand-ins, and a hand-in that tries to write outside its folder is refused.
"""

from __future__ import annotations

import csv
import json
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from workbook import course
from workbook.cli import main
from workbook.course.case import case_seed, read_case, solve_case, start_case
from workbook.course.trainer import cohort, hand_in, open_hand_in, progress_html
from workbook.exceptions import WorkbookError
from workbook.forms import Form
from workbook.forms import data as data_form
from workbook.model import Objective
from workbook.store import open_workspace

ALL = [*course.CHECKS, "conversion-rate"]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One untouched copy for the read-only tests (made once: it takes a few seconds)."""
    return start_case(tmp_path_factory.mktemp("case") / "ann", "Ann Trainee")


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def assert_clean(form: Form) -> None:
    assert form.callback_errors == []
    assert form.error_label.value == ""


def add(form: Form, noun: str, name: str) -> None:
    form.one(f"wb-{noun}-new").value = name
    form.one(f"wb-{noun}-add").click()


def fill(form: Form, values: dict[str, Any]) -> None:
    for css, value in values.items():
        form.one(css).value = value


def hints(fb: course.Feedback) -> str:
    return "\n".join(fb.hints)


def export_rate(export: Path, from_names: set[str], to_names: set[str]) -> float:
    """Of the contacts with a stage row named in ``from_names``, the share who also have one
    in ``to_names`` (the funnel's "ever reached"), counted from the raw export by hand."""
    reached: dict[str, set[str]] = {}
    with export.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["kind"] == "stage":
                reached.setdefault(row["email"], set()).add(row["stage"])
    first = [e for e, s in reached.items() if s & from_names]
    moved = [e for e in first if reached[e] & to_names]
    return len(moved) / len(first)


# ------------------------------------------------------------------------------ a new copy


def test_a_new_copy_has_the_brief_the_export_and_nothing_done(fresh: Path) -> None:
    info = read_case(fresh)
    assert info is not None and info.trainee == "Ann Trainee" and info.case == "fernhill"
    assert info.seed == case_seed("  ann   TRAINEE ")  # the name, case and spaces ignored
    brief = (fresh / "BRIEF.md").read_text(encoding="utf-8")
    assert "Fernhill Garden Studios" in brief and "Tideway" in brief  # the demo: worked example
    assert str(fresh / info.export) in brief and "$" not in brief.replace("$ ", "")
    ws = open_workspace(fresh)
    d = ws.data
    assert d.client.name == "Fernhill Garden Studios"
    assert d.client.branding.primary_color == "#2F5D50"
    assert [s.id for s in d.stages] == [
        "awareness",
        "consideration",
        "purchase",
        "retention",
        "advocacy",
    ]
    assert not (d.objectives or d.personas or d.touchpoints or d.journeys or d.icps)
    assert all(not s.entry_criteria and not s.exit_criteria for s in d.stages)
    prog = course.progress(ws)
    assert list(prog.results) == ALL
    assert prog.done == 0, str(prog)
    # The raw export is the CRM's: its stage names, names and addresses, no persona column.
    with (fresh / info.export).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["stage"] for r in rows if r["kind"] == "stage"} == {
        "Newsletter signup",
        "Enquiry",
        "Deposit paid",
        "Handed over",
        "Ambassador",
    }
    assert all(r["persona"] == "" for r in rows)
    assert len({r["email"] for r in rows}) == 2000


def test_each_trainee_gets_other_numbers_and_the_same_name_the_same_ones(tmp_path: Path) -> None:
    a = start_case(tmp_path / "a", "Ann Trainee")
    b = start_case(tmp_path / "b", "Ben Trainee")
    a2 = start_case(tmp_path / "a2", "ann trainee")
    export = "crm-exports/fernhill-crm-events.csv"
    assert (a / export).read_bytes() == (a2 / export).read_bytes()
    assert (a / export).read_bytes() != (b / export).read_bytes()
    rates = [export_rate(p / export, {"Enquiry"}, {"Deposit paid"}) for p in (a, b)]
    assert abs(rates[0] - rates[1]) > 0.005  # one trainee's answer fails the other's check
    with pytest.raises(WorkbookError, match="not empty"):
        start_case(a, "Ann Trainee")


def test_the_solutions_pass_every_check(fresh: Path, tmp_path: Path) -> None:
    ws = solve_case(_copy(fresh, tmp_path / "solved"))
    prog = course.progress(ws)
    assert list(prog.results) == ALL
    assert prog.done == len(ALL), str(prog)


def test_the_demo_passes_every_check(demo_copy: Path) -> None:
    """The demo is the worked example shown beside each exercise: every check passes on it."""
    prog = course.progress(open_workspace(demo_copy))
    assert prog.done == len(course.CHECKS), str(prog)


# ------------------------------------------------------------------- the whole course


def test_the_whole_course_through_the_forms(fresh: Path, tmp_path: Path) -> None:  # noqa: PLR0915
    from workbook.forms import mapcanvas, objectives, personas, processes, refine, stages
    from workbook.forms import touchpoints as touchpoints_form

    ws = open_workspace(_copy(fresh, tmp_path / "ann"))
    forms: list[Form] = []

    # -- step 1: a title alone, any KPI text, a target of 12: none of it passes
    f = objectives.form(ws)
    forms.append(f)
    add(f, "objective", "Turn more design visits into builds")
    fb = course.check_objectives(ws)
    assert not fb.ok and fb.message == "Some objectives cannot be measured yet."
    assert "the KPI cannot be computed yet" in hints(fb)
    assert "give a baseline" in hints(fb) and "give a target" in hints(fb)
    fill(f, {"wb-objective-kpi": "More sales", "wb-objective-target": "12"})
    fb = course.check_objectives(ws)
    assert not fb.ok and "there is no metric to compute it from" in hints(fb)
    fill(f, {"wb-objective-metric": "win-rate:purchase"})
    assert "'win-rate:purchase' needs 0 part(s) after 'win-rate'" in hints(
        course.check_objectives(ws)
    )
    fill(
        f,
        {"wb-objective-metric": "conversion:consideration:purchase", "wb-objective-baseline": "20"},
    )
    fb = course.check_objectives(ws)
    assert "the baseline 20 is no share" in hints(fb) and "the target 12 is no share" in hints(fb)
    assert any("can be computed from the data" in r for r in fb.right)
    fill(f, {"wb-objective-unit": "%"})
    fb = course.check_objectives(ws)
    assert "the target is not an improvement on the baseline" in hints(fb)
    assert "a higher value is better" in hints(fb)
    fill(f, {"wb-objective-target": "28"})
    fb = course.check_objectives(ws)
    assert not fb.ok and "say who owns it" in hints(fb)
    fill(f, {"wb-objective-owner": "Sales Director"})
    # a time metric: fewer days is better
    add(f, "objective", "Shorten the road to a deposit")
    fill(
        f,
        {
            "wb-objective-kpi": "Median days from first contact to a won build",
            "wb-objective-metric": "time-to-close-days",
            "wb-objective-unit": "days",
            "wb-objective-baseline": "75",
            "wb-objective-target": "90",
            "wb-objective-owner": "Head of Customer Experience",
        },
    )
    fb = course.check_objectives(ws)
    assert not fb.ok and "fewer days is better" in hints(fb)
    fill(f, {"wb-objective-target": "55"})
    fb = course.check_objectives(ws)
    assert fb.ok, str(fb)
    # the KPI a recommendation will name later
    add(f, "kpi", "Design visit to deposit")
    fill(
        f,
        {
            "wb-kpi-metric": "conversion:consideration:purchase",
            "wb-kpi-unit": "%",
            "wb-kpi-baseline": "20",
            "wb-kpi-target": "28",
        },
    )

    # -- step 2: a persona as labels, before any touchpoint; an ICP with one pasted answer
    f = personas.form(ws)
    forms.append(f)
    add(f, "persona", "Hannah the home worker")
    fill(
        f,
        {
            "wb-persona-goals": "Office",
            "wb-persona-pains": "Price",
            "wb-persona-preferred-channels": ("web", "email", "store"),
        },
    )
    fb = course.check_personas(ws)
    assert not fb.ok
    assert "the goal 'Office' is a label" in hints(fb) and "the pain 'Price' is a label" in hints(
        fb
    )
    assert "once step 3 lists them" in hints(fb)
    fill(
        f,
        {
            "wb-persona-goals": "A quiet place for video calls by spring",
            "wb-persona-pains": "Quotes that arrive two weeks after the visit",
            "wb-persona-objections": "Will it be warm enough in January",
        },
    )
    fb = course.check_personas(ws)
    assert not fb.ok and any("goals and pains in the buyer's words" in r for r in fb.right)
    add(f, "icp", "Home-working household")
    for key in ("industry", "specialisation", "firmographics", "poor-fit", "job-titles"):
        f.one(f"wb-icp-{key}").value = "answered"
    for key in ("decision-makers", "stakeholders", "end-users"):
        f.one(f"wb-icp-{key}").value = "answered"
    fb = course.check_icp(ws)
    assert not fb.ok and "8 questions have the same answer" in hints(fb)
    answers = {
        "industry": "Households who work from home",
        "specialisation": "Insulated garden offices of 8 to 20 square metres",
        "firmographics": "Detached houses with a garden over 80 square metres",
        "poor-fit": "Renters, and buyers of cheap summerhouses",
        "job-titles": "Consultants, designers, therapists",
        "decision-makers": "The one who will work in the room, with a partner",
        "stakeholders": "Neighbours and the planning office",
        "end-users": "The home worker and the family",
    }
    fill(f, {f"wb-icp-{k}": v for k, v in answers.items()})
    assert course.check_icp(ws).ok

    # -- step 3: a touchpoint with no owner leaves gaps; then the inventory
    f = touchpoints_form.form(ws)
    forms.append(f)
    add(f, "touchpoint", "Website")
    fill(f, {"wb-touchpoint-channel": "web", "wb-touchpoint-stages": ("awareness",)})
    fb = course.check_touchpoints(ws)
    assert not fb.ok and "'Website': who owns it at the client? (Owner)" in fb.hints
    assert "Stage 'Compares designs' has no touchpoint" in hints(fb)
    fb = course.check_personas(ws)
    assert "'Hannah the home worker' prefers Email, Store, but no touchpoint" in hints(fb)
    fill(f, {"wb-touchpoint-owner": "Marketing Lead"})
    inventory = [
        ("Brochure emails", "email", "digital", ("consideration", "retention")),
        ("Display centre", "store", "physical", ("consideration",)),
        ("Design visit", "face-to-face", "physical", ("consideration", "purchase")),
        ("Build and handover", "face-to-face", "physical", ("purchase", "retention")),
        ("Referral scheme", "referral", "digital", ("advocacy",)),
    ]
    for name, channel, kind, served in inventory:
        add(f, "touchpoint", name)
        fill(
            f,
            {
                "wb-touchpoint-channel": channel,
                "wb-touchpoint-kind": kind,
                "wb-touchpoint-stages": served,
                "wb-touchpoint-owner": "Sales Director",
            },
        )
    assert course.check_touchpoints(ws).ok
    fb = course.check_personas(ws)
    assert fb.ok, str(fb)
    assert "'Hannah the home worker': every preferred channel has a touchpoint." in fb.right

    # -- step 4: criteria nobody can see, then observable ones
    f = stages.form(ws)
    forms.append(f)
    for stage in ws.data.stage_ids():
        f.parts["stages"].select(stage)
        fill(f, {"wb-stage-entry-criteria": "enters", "wb-stage-exit-criteria": "is interested"})
    fb = course.check_stages(ws)
    assert not fb.ok
    assert "'Compares designs': the entry criterion 'enters' cannot be seen in any system" in hints(
        fb
    )
    criteria = {
        "awareness": ("Signs up for the newsletter", "Sends an enquiry"),
        "consideration": ("Enquiry received", "Pays the deposit"),
        "purchase": ("Deposit paid", "Signs the handover form"),
        "retention": ("Moves to Handed over in the CRM", "Refers a friend or writes a review"),
        "advocacy": ("A referral or a review", "No referral for 12 months"),
    }
    for stage, (entry, leave) in criteria.items():
        f.parts["stages"].select(stage)
        fill(f, {"wb-stage-entry-criteria": entry, "wb-stage-exit-criteria": leave})
    fb = course.check_stages(ws)
    assert fb.ok, str(fb)

    # -- step 5: the data step's form imports the export; the conversion rate
    f = data_form.form(ws)
    forms.append(f)
    assert not course.check_data(ws).ok
    info = read_case(ws.path)
    assert info is not None
    f.one("wb-data-file").value = str(ws.path / info.export)
    f.one("wb-import").click()
    assert course.check_data(ws).ok, f.one("wb-data-result").value
    export = ws.path / info.export
    truth = export_rate(export, {"Enquiry", "Design visit"}, {"Deposit paid"})
    with export.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] == "stage"]
    everyone = {r["email"] for r in rows}
    considered = {r["email"] for r in rows if r["stage"] in ("Enquiry", "Design visit")}
    deposit = {r["email"] for r in rows if r["stage"] == "Deposit paid"}
    wrong = len(considered & deposit) / len(everyone)  # divided by the first stage's contacts
    fb = course.check_conversion_rate(ws, "consideration", "purchase", wrong)
    assert not fb.ok
    assert fb.hints[0].startswith("You divided by the contacts of the first stage")
    assert f"{truth:.1%}" not in str(fb)  # the feedback never gives the answer
    fb = course.check_conversion_rate(ws, "consideration", "purchase", round(truth * 100, 1))
    assert fb.ok and fb.message.startswith(f"Right: {truth:.1%}")

    # -- step 6: a map with gaps, then complete for both personas
    f = personas.form(ws)
    forms.append(f)
    add(f, "persona", "Rob and Priya")
    fill(
        f,
        {
            "wb-persona-goals": "Free the spare room before the baby arrives",
            "wb-persona-pains": "Finance forms that take an evening",
            "wb-persona-preferred-channels": ("face-to-face", "phone"),
        },
    )
    fb = course.check_personas(ws)
    assert "'Rob and Priya' prefers Phone, but no touchpoint works on that channel" in hints(fb)
    f = touchpoints_form.form(ws)
    forms.append(f)
    add(f, "touchpoint", "Quote follow-up call")
    fill(
        f,
        {
            "wb-touchpoint-channel": "phone",
            "wb-touchpoint-kind": "physical",
            "wb-touchpoint-stages": ("purchase",),
            "wb-touchpoint-owner": "Sales Director",
        },
    )
    assert course.check_personas(ws).ok
    # notebook 06 edits the map where it is drawn: the canvas gets the messages its page sends
    f = mapcanvas.form(ws)
    forms.append(f)
    canvas = f.parts["map"]
    people = [p.id for p in ws.data.personas]

    def draw(message: dict[str, Any]) -> None:
        assert canvas.handle(message), canvas.error
        assert canvas.error == {}

    canvas.persona = people[0]
    draw({"op": "text", "stage": "awareness", "lane": "actions", "text": "Reads the guide"})
    draw({"op": "emotion", "stage": "awareness", "score": 1})
    fb = course.check_journey(ws)
    assert not fb.ok and "score the emotion at Compares designs" in hints(fb)
    assert "Add at least one pain point" in hints(fb)
    assert (
        "'Rob and Priya' has no map yet: pick this persona above the map, then score a stage "
        "or type in a cell."
    ) in fb.hints
    for person in people:
        canvas.persona = person
        for score, stage in zip((1, 0, -1, 2, 1), ws.data.stage_ids(), strict=True):
            pain = "Waits two weeks for the quote"
            draw({"op": "text", "stage": stage, "lane": "pain_points", "text": pain})
            draw({"op": "emotion", "stage": stage, "score": score})
    assert course.check_journey(ws).ok

    # -- step 7: a recommendation with no owner, touchpoint or KPI; then a full one
    f = refine.form(ws)
    forms.append(f)
    call = next(t.id for t in ws.data.touchpoints if t.channel == "phone")
    kpi = ws.data.measurement.kpis[0].id
    for person in people:
        f.one("wb-refine-persona").value = person
        for kind, stage in (("best-moment", "retention"), ("worst-struggle", "purchase")):
            fill(f, {"wb-annotation-kind": kind, "wb-annotation-stage": stage})
            f.one("wb-annotation-note").value = "heard in the interviews"
            f.one("wb-annotation-add").click()
        f.one("wb-recommendation-new-stage").value = "purchase"  # where it struggles
        add(f, "recommendation", "Send the quote within 48 hours of the design visit")
        fb = course.check_refine(ws)
        assert not fb.ok
        assert (
            "Recommendation 'Send the quote within 48 hours of the design...': place it next "
            "to the touchpoint it fixes ('Next to touchpoint'); give it an owner who will make "
            "it happen ('Owner'); pick in 'KPI it should move' the KPI"
        ) in hints(fb)
        fill(
            f,
            {
                "wb-recommendation-touchpoint": call,
                "wb-recommendation-owner": "Sales Director",
                "wb-recommendation-kpi": kpi,
            },
        )
    fill(f, {"wb-snapshot-note": "before the new quote process"})
    f.one("wb-snapshot").click()
    f = processes.form(ws)
    forms.append(f)
    add(f, "process", "From design visit to quote")
    fill(
        f,
        {
            "wb-process-key": True,
            "wb-process-crm-goal": "acquisition",
            "wb-process-owner": "Sales Director",
            "wb-process-service-level": "Quote within 48 hours",
        },
    )
    fb = course.check_refine(ws)
    assert fb.ok, str(fb)
    assert fb.hints == []

    for form in forms:
        assert_clean(form)
    prog = course.progress(open_workspace(ws.path))
    assert prog.done == len(ALL), str(prog)


# ------------------------------------------------------------------- the trainer's view


def test_the_trainers_view_of_two_trainees_and_a_hand_in(fresh: Path, tmp_path: Path) -> None:
    ann = _copy(fresh, tmp_path / "ann")
    ben = start_case(tmp_path / "ben", "Ben <script>alert(1)</script>")
    solve_case(ben)
    ws = open_workspace(ann)
    ws.data.objectives.append(Objective(id="grow", title="Grow"))
    ws.save()
    runner = CliRunner()
    result = runner.invoke(main, ["course", "hand-in", str(ben), "-o", str(tmp_path / "ben.zip")])
    assert result.exit_code == 0, result.output
    html_file = tmp_path / "cohort.html"
    result = runner.invoke(
        main, ["course", "progress", str(ann), str(tmp_path / "ben.zip"), "--html", str(html_file)]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Ann Trainee" in out and "0/9" in out and "9/9" in out
    assert "Obj" in out and "Rate" in out
    # the last feedback of each exercise not done, with its first hint
    assert "Objectives: Some objectives cannot be measured yet. - 'Grow': name its KPI" in out
    page = html_file.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "Ben &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count('class="ok"') == 9 and page.count('class="todo"') == 9
    assert "handed in" in page


def test_a_hand_in_holds_the_work_and_not_the_raw_export(fresh: Path, tmp_path: Path) -> None:
    copy = solve_case(_copy(fresh, tmp_path / "ann")).path
    (copy / "data" / "rejects").mkdir(exist_ok=True)
    (copy / "data" / "rejects" / "bad.csv").write_text("email\nann@example.org\n")
    out = hand_in(copy)
    assert out == tmp_path / "ann-hand-in.zip"
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert {"manifest.json", "workspace.yaml", "course.json", "history/index.yaml"} <= names
    assert any(n.startswith("data/derived/") for n in names)
    assert not any(
        n.startswith(("crm-exports/", "data/sources/", "data/rejects/", "reports/"))
        or n.endswith(".salt")
        or n == "BRIEF.md"
        for n in names
    ), names
    assert manifest["trainee"] == "Ann Trainee" and set(manifest["files"]) == names - {
        "manifest.json"
    }
    assert all(v["ok"] for v in manifest["progress"].values())
    (t,) = cohort([out])
    assert t.trainee == "Ann Trainee" and t.done == t.total == len(ALL)
    assert "Ann Trainee" in progress_html([t])


def _zip(path: Path, members: dict[str, bytes], *, manifest: dict[str, Any] | None = None) -> Path:
    import hashlib

    files = {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}
    if manifest is None:
        manifest = {"format": "workbook-course-hand-in", "version": 1, "files": files}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../escape.yaml", "points outside the copy"),
        ("/etc/evil.yaml", "points outside the copy"),
        ("history/../../x.yaml", "points outside the copy"),
        ("C:/x.yaml", "points outside the copy"),
        ("data\\x.yaml", "points outside the copy"),
    ],
)
def test_a_hand_in_that_points_outside_is_refused(tmp_path: Path, name: str, why: str) -> None:
    bad = _zip(tmp_path / "bad.zip", {"workspace.yaml": b"client: {}\n", name: b"x"})
    with pytest.raises(WorkbookError, match=why), open_hand_in(bad):
        pass
    assert not (tmp_path / "escape.yaml").exists() and not (tmp_path.parent / "x.yaml").exists()


def test_a_hand_in_with_a_link_or_a_changed_file_is_refused(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as zf:
        files = {"workspace.yaml": hashlib.sha256(b"w").hexdigest()}
        zf.writestr(
            "manifest.json", json.dumps({"format": "workbook-course-hand-in", "files": files})
        )
        zf.writestr("workspace.yaml", b"w")
        link = zipfile.ZipInfo("history/index.yaml")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(WorkbookError, match="is a link"), open_hand_in(path):
        pass
    changed = _zip(
        tmp_path / "changed.zip",
        {"workspace.yaml": b"w"},
        manifest={
            "format": "workbook-course-hand-in",
            "files": {"workspace.yaml": hashlib.sha256(b"other").hexdigest()},
        },
    )
    with pytest.raises(WorkbookError, match="changed after the hand-in"), open_hand_in(changed):
        pass
    unlisted = _zip(tmp_path / "unlisted.zip", {"workspace.yaml": b"w"})
    with zipfile.ZipFile(unlisted, "a") as zf:
        zf.writestr("extra.yaml", b"x")
    with (
        pytest.raises(WorkbookError, match="extra.yaml is not in the manifest"),
        open_hand_in(unlisted),
    ):
        pass


def test_a_broken_hand_in_does_not_hide_the_cohort(fresh: Path, tmp_path: Path) -> None:
    (tmp_path / "plain.zip").write_bytes(b"not a zip")
    html_file = tmp_path / "cohort.html"
    result = CliRunner().invoke(
        main,
        ["course", "progress", str(tmp_path / "plain.zip"), str(fresh), "--html", str(html_file)],
    )
    assert result.exit_code == 1
    assert "plain.zip: could not be read" in result.output
    assert "not a hand-in the trainer's view can read: not a ZIP file" in result.output
    assert "Ann Trainee" in result.output and "0/9" in result.output  # the others still shown
    assert "Traceback" not in result.output
    page = html_file.read_text(encoding="utf-8")
    assert "Could not be read" in page and "Ann Trainee: 0 of 9 done" in page


def test_a_copy_holding_a_link_is_not_handed_in(fresh: Path, tmp_path: Path) -> None:
    copy = _copy(fresh, tmp_path / "ann")
    (copy / "history" / "secret.yaml").symlink_to("/etc/hostname")
    result = CliRunner().invoke(main, ["course", "hand-in", str(copy)])
    assert result.exit_code == 1 and "a link; a hand-in takes only real files" in result.output
    assert not (tmp_path / "ann-hand-in.zip").exists()


def test_start_on_a_used_folder_is_one_line(fresh: Path) -> None:
    result = CliRunner().invoke(main, ["course", "start", str(fresh), "--name", "Ann"])
    assert result.exit_code == 1 and "already exists and is not empty" in result.output
    result = CliRunner().invoke(main, ["course", "hand-in", str(fresh.parent)])
    assert result.exit_code == 1 and "not a course case" in result.output


def test_start_and_solve_from_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["course", "start", str(tmp_path / "c"), "-n", "Cy", "--seed", "7"]
    )
    assert result.exit_code == 0, result.output
    assert "BRIEF.md" in result.output
    info = read_case(tmp_path / "c")
    assert info is not None and info.seed == 7 and info.trainee == "Cy"
    result = runner.invoke(main, ["course", "solve", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert f"{len(ALL)} of {len(ALL)} checks done" in result.output


def test_the_notebooks_call_checks_that_exist() -> None:
    import re

    from conftest import ROOT

    called: set[str] = set()
    for nb in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            called |= set(re.findall(r"workbook\.course\.(\w+)\(", "".join(cell["source"])))
    assert {"check_objectives", "check_conversion_rate", "check_refine", "progress"} <= called
    assert all(callable(getattr(course, name, None)) for name in called), called


def test_a_broken_course_file_does_not_hide_the_verdict(fresh: Path, tmp_path: Path) -> None:
    ws = solve_case(_copy(fresh, tmp_path / "ann"))
    (ws.path / "course.json").write_text("{not json", encoding="utf-8")
    fb = course.check_conversion_rate(ws, "consideration", "purchase", 0.01)
    assert not fb.ok and fb.message == "Not quite: 1.0% is not what the data says."
    assert "course.json: your answer could not be kept for the trainer" in fb.hints[-1]
    rate = course.progress(ws).results["conversion-rate"]
    assert not rate.ok and rate.message == "This check could not run on your workspace."
    assert "course.json: not a course file" in rate.hints[0]
