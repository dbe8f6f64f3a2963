"""The trainer's view of a cohort: where each trainee stands, and hand-ins.

:func:`cohort` runs every exercise's check on each trainee's copy, given as a folder (a copy
made by :func:`workbook.course.case.start_case`, or any workspace) or as a hand-in file;
:func:`progress_html` writes the result as one self-contained HTML page (no script, no CDN;
every text a trainee typed is escaped by Jinja's autoescape).

:func:`hand_in` packs a trainee's copy into one ZIP file: ``manifest.json`` (whose copy, when,
the SHA-256 of every file, the progress when handed in), ``course.json``, ``workspace.yaml``,
the snapshots in ``history/`` and the derived tables of the imported data
(``data/derived/``, pseudonymous). The raw CRM exports (names, e-mail addresses), the
imported event tables, the pseudonymisation key (``data/.salt``), rows set aside by an
import and reports stay behind. :func:`open_hand_in` reads one back, refusing
links, absolute paths, ``..`` and files the manifest does not list or whose digest differs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import stat
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from workbook.course.case import COURSE_FILE, read_case
from workbook.course.checks import Feedback, progress
from workbook.exceptions import WorkbookError
from workbook.files import atomic_path

__all__ = [
    "EXERCISES",
    "HAND_IN_FORMAT",
    "TraineeProgress",
    "cohort",
    "hand_in",
    "open_hand_in",
    "progress_html",
    "trainee_progress",
]

#: The exercises in course order, with the name the trainer's view gives each.
EXERCISES: dict[str, str] = {
    "objectives": "1 Objectives",
    "personas": "2 Personas",
    "icp": "2 ICP",
    "touchpoints": "3 Touchpoints",
    "stages": "4 Stages",
    "data": "5 Data",
    "conversion-rate": "5 Conversion rate",
    "visualise": "6 Journey map",
    "refine": "7 Refine",
}
HAND_IN_FORMAT = "workbook-course-hand-in"
_MANIFEST = "manifest.json"
#: What a hand-in may hold, at most: a copy is small; anything bigger is not a hand-in.
_MAX_FILES = 2_000
_MAX_BYTES = 512 * 1024 * 1024
#: Besides workspace.yaml, course.json and data/manifest.json, a hand-in takes these
#: folders: the snapshots and the derived tables the checks read (counts per contact path,
#: pseudonymous ids). Not the raw exports, not the imported events, not the key.
_TAKEN_DIRS = ("history/", "data/derived/")


@dataclass
class TraineeProgress:
    """One trainee's copy, checked.

    Attributes
    ----------
    source
        The folder or hand-in file, as given.
    trainee
        The trainee's name (``course.json``), or the client's for a plain workspace.
    case
        The course case, or ``""`` for a plain workspace.
    results
        The feedback of each exercise, by id (:data:`EXERCISES`).
    handed_in
        When the hand-in was made (ISO time), ``""`` for a folder.
    """

    source: str
    trainee: str
    case: str
    results: dict[str, Feedback]
    handed_in: str = ""
    #: Why the copy could not be read (then ``results`` is empty), else ``""``.
    error: str = ""

    @property
    def done(self) -> int:
        return sum(f.ok for f in self.results.values())

    @property
    def total(self) -> int:
        return len(self.results)


def _check_folder(folder: Path, source: str, handed_in: str = "") -> TraineeProgress:
    from workbook.store import open_workspace

    ws = open_workspace(folder)
    info = read_case(folder)
    found = progress(ws).results
    results = {ex: found[ex] for ex in EXERCISES if ex in found}
    return TraineeProgress(
        source=source,
        trainee=info.trainee if info else ws.data.client.name,
        case=info.case if info else "",
        results=results,
        handed_in=handed_in,
    )


def trainee_progress(path: str | os.PathLike[str]) -> TraineeProgress:
    """Check one trainee's copy: a folder, or a hand-in file (``.zip``)."""
    p = Path(path)
    if p.is_file():
        with open_hand_in(p) as (folder, manifest):
            return _check_folder(folder, str(path), str(manifest.get("handed_in", "")))
    return _check_folder(p, str(path))


def cohort(paths: Iterable[str | os.PathLike[str]]) -> list[TraineeProgress]:
    """Check every trainee's copy, in the order given. A copy that cannot be read (a broken
    hand-in, a folder that is no workspace) is listed with its error, so one bad file does not
    hide the rest of the cohort."""
    out = []
    for p in paths:
        try:
            out.append(trainee_progress(p))
        except WorkbookError as exc:
            out.append(
                TraineeProgress(
                    source=str(p), trainee=Path(p).name, case="", results={}, error=str(exc)
                )
            )
    return out


# ------------------------------------------------------------------------------ HTML


def progress_html(trainees: Sequence[TraineeProgress], *, title: str = "Course progress") -> str:
    """The cohort as one HTML page: a table of ticks, then each trainee's feedback."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("workbook.course", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("progress.html.j2").render(
        title=title,
        exercises=EXERCISES,
        trainees=trainees,
        made=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


# ------------------------------------------------------------------------------ hand-in


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _taken(rel: str) -> bool:
    """Whether a hand-in takes the file at ``rel`` (a POSIX path inside the copy)."""
    if rel in ("workspace.yaml", COURSE_FILE, "data/manifest.json"):
        return True
    name = rel.rsplit("/", 1)[-1]
    if name.startswith(".") or name.endswith((".tmp", ".lock")):
        return False
    return rel.startswith(_TAKEN_DIRS)


def _members(folder: Path) -> Iterator[tuple[str, Path]]:
    """The files a hand-in takes from the copy, as (name in the ZIP, path); a link fails."""
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs) + sorted(files):
            path = Path(root) / name
            if path.is_symlink():
                raise WorkbookError(
                    f"{path}: a link; a hand-in takes only real files and folders",
                    hint="replace the link with what it points to, then hand in again",
                )
        dirs.sort()
        for name in sorted(files):
            rel = (Path(root) / name).relative_to(folder).as_posix()
            if _taken(rel):
                yield rel, Path(root) / name


def hand_in(folder: str | os.PathLike[str], output: str | os.PathLike[str] | None = None) -> Path:
    """Pack a trainee's copy into one ZIP file and return its path.

    Parameters
    ----------
    folder
        The trainee's copy (made by ``workbook course start``).
    output
        The file to write; default ``<folder>-hand-in.zip`` beside the folder.

    Raises
    ------
    WorkbookError
        When the folder is no course case, or holds a link.
    """
    from workbook import __version__
    from workbook.store import open_workspace

    src = Path(folder)
    info = read_case(src)
    if info is None:
        raise WorkbookError(
            f"{src}: not a course case (no {COURSE_FILE})",
            hint="hand in the folder that workbook course start made",
        )
    ws = open_workspace(src)
    members = list(_members(src))
    blobs = {name: path.read_bytes() for name, path in members}
    manifest = {
        "format": HAND_IN_FORMAT,
        "version": 1,
        "case": info.case,
        "trainee": info.trainee,
        "seed": info.seed,
        "handed_in": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "workbook": __version__,
        "files": {name: _sha256(data) for name, data in blobs.items()},
        "progress": {ex: fb.to_dict() for ex, fb in progress(ws).results.items()},
    }
    out = Path(output) if output else src.parent / f"{src.name}-hand-in.zip"
    with (
        atomic_path(out, keep_suffix=True) as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf,
    ):
        zf.writestr(_MANIFEST, json.dumps(manifest, indent=2) + "\n")
        for name, data in blobs.items():
            zf.writestr(name, data)
    return out


def _bad(file: Path, what: str) -> WorkbookError:
    return WorkbookError(
        f"{file}: not a hand-in the trainer's view can read: {what}",
        hint="ask the trainee to hand in again with workbook course hand-in",
    )


def _safe_name(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    parts = PurePosixPath(name).parts
    return not any(p in ("..", ".", "") for p in parts) and ":" not in parts[0]


@contextlib.contextmanager
def open_hand_in(file: str | os.PathLike[str]) -> Iterator[tuple[Path, dict[str, object]]]:
    """Unpack a hand-in into a temporary folder (removed afterwards).

    Yields
    ------
    tuple
        ``(folder, manifest)``: the trainee's copy and what ``manifest.json`` says.

    Raises
    ------
    WorkbookError
        For a file that is no ZIP or no hand-in, or that holds a link, an absolute name, a
        name with ``..``, a file the manifest does not list or whose digest differs, or more
        than a hand-in ever holds.
    """
    path = Path(file)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _bad(path, f"not a ZIP file ({exc})") from None
    with zf, tempfile.TemporaryDirectory(prefix="hand-in-") as tmp:
        infos = zf.infolist()
        if len(infos) > _MAX_FILES or sum(i.file_size for i in infos) > _MAX_BYTES:
            raise _bad(path, "more files or bytes than a hand-in ever holds")
        for info in infos:
            if not _safe_name(info.filename):
                raise _bad(path, f"the name {info.filename!r} points outside the copy")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise _bad(path, f"{info.filename} is a link")
        try:
            manifest = json.loads(zf.read(_MANIFEST))
        except KeyError:
            raise _bad(path, f"no {_MANIFEST}") from None
        except ValueError as exc:
            raise _bad(path, f"{_MANIFEST} is not JSON ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != HAND_IN_FORMAT:
            raise _bad(path, f"{_MANIFEST} is not a hand-in manifest")
        listed = manifest.get("files")
        if not isinstance(listed, dict) or "workspace.yaml" not in listed:
            raise _bad(path, "the manifest lists no workspace.yaml")
        root = Path(tmp) / "copy"
        root.mkdir()
        for info in infos:
            if info.filename == _MANIFEST or info.is_dir():
                continue
            if info.filename not in listed:
                raise _bad(path, f"{info.filename} is not in the manifest")
            data = zf.read(info)
            if _sha256(data) != listed[info.filename]:
                raise _bad(path, f"{info.filename} was changed after the hand-in")
            target = root / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        missing = [n for n in listed if not (root / n).is_file()]
        if missing:
            raise _bad(path, f"{missing[0]} is listed but missing")
        yield root, manifest
