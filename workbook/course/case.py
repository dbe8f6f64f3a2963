"""The course case: a practice client for a trainee, made fresh for each one.

:func:`start_case` makes a trainee's copy in a folder: the client's brief (``BRIEF.md``), a
workspace holding only what the brief gives (the client, its brand and its stages), the
client's CRM export (``crm-exports/``, generated for this trainee: the seed comes from the
trainee's name, so two trainees' numbers differ and answers cannot be copied) and
``course.json``, which says whose copy it is and keeps the answers the exercises record.

The case is Fernhill Garden Studios (package data in ``workbook/course/fernhill/``: the brief,
the starting workspace and the trainer's solutions). :func:`solve_case` applies the solutions
(and imports the export and answers the conversion-rate exercise), so a trainer can see one
finished copy and tests can check that every exercise can be done.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbook.exceptions import WorkbookError
from workbook.files import fsync_dir, write_atomic

if TYPE_CHECKING:
    from workbook.course.checks import Feedback
    from workbook.crm.generate import SampleCrm
    from workbook.model import Workspace
    from workbook.store import OpenWorkspace

__all__ = [
    "CASE",
    "COURSE_FILE",
    "EXPORTS",
    "CaseInfo",
    "case_seed",
    "conversion_exercise",
    "read_case",
    "record_answer",
    "solutions",
    "solve_case",
    "start_case",
]

#: The case's name, as course.json records it.
CASE = "fernhill"
#: The file that marks a folder as a trainee's copy.
COURSE_FILE = "course.json"
#: The folder of the client's raw CRM exports (never handed in).
EXPORTS = "crm-exports"
_EXPORT_FILE = "fernhill-crm-events.csv"
_CONTACTS = 2000
#: The CRM export is taken at this moment, the same for every trainee.
_END = dt.datetime(2026, 9, 30, 18, 0, tzinfo=dt.UTC)
#: The name each stage has in Fernhill's CRM (the first of the stage's aliases).
_DEFAULT_NAME = "trainee"


@dataclass(frozen=True)
class CaseInfo:
    """What ``course.json`` says about a trainee's copy."""

    case: str
    trainee: str
    seed: int
    started: str
    export: str
    answers: dict[str, Any]


def _resource(name: str) -> str:
    return resources.files("workbook.course").joinpath(CASE, name).read_text(encoding="utf-8")


def _yaml(name: str) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(_resource(name))
    assert isinstance(data, dict)
    return data


def case_seed(trainee: str) -> int:
    """The seed of a trainee's CRM history: from the name (case and spaces ignored)."""
    key = " ".join(trainee.lower().split())
    return int.from_bytes(hashlib.sha256(f"{CASE}:{key}".encode()).digest()[:4], "big")


def _base() -> Workspace:
    from workbook.model import Workspace

    return Workspace.model_validate(_yaml("workspace.yaml"))


def solutions() -> dict[str, Any]:
    """The trainer's answers, as workspace parts (``solutions.yaml``)."""
    return _yaml("solutions.yaml")


def _solved(ws: Workspace) -> Workspace:
    """The workspace with the solutions in place of the trainee's parts (data kept)."""
    from workbook.model import Workspace

    data = ws.model_dump(mode="json", exclude_none=True)
    data.update(solutions())
    return Workspace.model_validate(data)


def _as_fernhill_exports(sample: SampleCrm, base: Workspace) -> SampleCrm:
    """The history as Fernhill's CRM exports it: each stage under its CRM name (the stage's
    first alias), and no persona column (the CRM has none; the personas are the trainee's
    to find)."""
    import dataclasses

    import pyarrow as pa

    crm = {s.id: (s.aliases[0] if s.aliases else s.name) for s in base.stages}
    ev = sample.events
    i = ev.schema.get_field_index("stage")
    ev = ev.set_column(
        i, "stage", pa.array([crm.get(v, v) if v else v for v in ev["stage"].to_pylist()])
    )
    contacts = sample.contacts
    j = contacts.schema.get_field_index("persona")
    contacts = contacts.set_column(
        j, "persona", pa.nulls(contacts.num_rows, contacts.schema.field(j).type)
    )
    return dataclasses.replace(sample, events=ev, contacts=contacts)


def start_case(
    folder: str | os.PathLike[str], trainee: str = _DEFAULT_NAME, *, seed: int | None = None
) -> Path:
    """Make a trainee's copy of the course case in ``folder`` (new, or an empty folder).

    Parameters
    ----------
    folder
        Where the copy goes; it becomes the workspace the notebooks open.
    trainee
        The trainee's name; it seeds the CRM history unless ``seed`` is given.
    seed
        Use this seed instead (a trainer re-making a copy).

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    WorkbookError
        When the folder exists and is not empty.
    """
    from workbook.crm.generate import generate, write_export
    from workbook.store import GITIGNORE, dumps

    trainee = " ".join(str(trainee).split()) or _DEFAULT_NAME
    target = Path(folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise WorkbookError(
            f"{target} already exists and is not empty",
            hint="choose a new folder for the trainee's copy",
        )
    seed = case_seed(trainee) if seed is None else int(seed)
    base = _base()
    # The history follows the case as the brief tells it: the solution's personas and
    # touchpoints, the stages under their CRM names.
    world = _solved(base)
    sample = generate(world, contacts=_CONTACTS, seed=seed, end=_END, currency="GBP")
    sample = _as_fernhill_exports(sample, base)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
    tmp.mkdir()
    try:
        for sub in ("data", "history", "reports", EXPORTS):
            (tmp / sub).mkdir()
        (tmp / ".gitignore").write_text(GITIGNORE + f"{EXPORTS}/\n", encoding="utf-8")
        write_atomic(tmp / "workspace.yaml", dumps(base))
        export = write_export(sample, "generic", tmp / EXPORTS, filename=_EXPORT_FILE)
        rel = f"{EXPORTS}/{export.name}"
        brief = string.Template(_resource("brief.md")).safe_substitute(
            trainee=trainee,
            export=rel,
            export_path=str(target / rel),
            workspace=str(target),
            contacts=f"{_CONTACTS:,}",
        )
        write_atomic(tmp / "BRIEF.md", brief)
        info = {
            "case": CASE,
            "trainee": trainee,
            "seed": seed,
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "export": rel,
            "answers": {},
        }
        write_atomic(tmp / COURSE_FILE, json.dumps(info, indent=2) + "\n")
        if target.exists():
            target.rmdir()
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(target.parent)
    return target


def read_case(folder: str | os.PathLike[str]) -> CaseInfo | None:
    """What ``course.json`` in the folder says; None when the folder is no course case."""
    file = Path(folder) / COURSE_FILE
    if not file.is_file():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        return CaseInfo(
            case=str(data["case"]),
            trainee=str(data["trainee"]),
            seed=int(data["seed"]),
            started=str(data.get("started", "")),
            export=str(data.get("export", "")),
            answers=dict(data.get("answers") or {}),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise WorkbookError(
            f"{file}: not a course file ({exc})",
            hint="make a new copy with workbook course start",
        ) from None


def record_answer(
    folder: str | os.PathLike[str], from_stage: str, to_stage: str, answer: float, fb: Feedback
) -> None:
    """Keep the trainee's last conversion-rate answer and its feedback (course cases only).

    Raises
    ------
    WorkbookError
        When ``course.json`` cannot be read or written; the check turns it into a hint.
    """
    file = Path(folder) / COURSE_FILE
    if not file.is_file():
        return
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        data.setdefault("answers", {})["conversion-rate"] = {
            "from": from_stage,
            "to": to_stage,
            "answer": float(answer),
            "feedback": fb.to_dict(),
        }
        write_atomic(file, json.dumps(data, indent=2) + "\n")
    except (OSError, ValueError, AttributeError) as exc:
        raise WorkbookError(
            f"{file}: your answer could not be kept for the trainer ({exc})",
            hint="ask your trainer; the check itself is not affected",
        ) from None


def conversion_exercise(ws: Any) -> Feedback | None:
    """The conversion-rate exercise of a course case, its last answer checked again on
    today's data; None when the workspace is no course case."""
    from workbook.course.checks import Feedback, _conversion_rate

    info = read_case(ws.path)
    if info is None:
        return None
    last = info.answers.get("conversion-rate")
    if not last:
        return Feedback(
            False,
            "Not answered yet.",
            ["Work out a conversion rate in step 5 and run its check."],
        )
    return _conversion_rate(ws, str(last["from"]), str(last["to"]), float(last["answer"]))


def solve_case(folder: str | os.PathLike[str]) -> OpenWorkspace:
    """Do every exercise of a trainee's copy with the trainer's solutions: the workspace
    parts, the import of the export, a snapshot and a right conversion-rate answer."""
    from workbook.analytics.funnel import funnel
    from workbook.course.checks import check_conversion_rate
    from workbook.crm.importer import import_file
    from workbook.store import open_workspace

    info = read_case(folder)
    if info is None:
        raise WorkbookError(
            f"{folder}: not a course case (no {COURSE_FILE})",
            hint="make one with workbook course start",
        )
    ws = open_workspace(folder)
    ws.data = _solved(ws.data)
    ws.save()
    if not ws.data.data_sources:
        import_file(Path(folder), Path(folder) / info.export)
        ws = open_workspace(folder)
    if not ws.snapshots():
        ws.snapshot("solutions applied")
    table = funnel(ws).set_index("stage")
    a, b = ws.data.stage_ids()[1:3]
    rate = int(table.loc[a, "reached_next"]) / int(table.loc[a, "contacts"])
    check_conversion_rate(ws, a, b, rate)
    return ws
