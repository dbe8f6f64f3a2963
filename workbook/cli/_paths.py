"""Checks on the places a user asks a command to write to (``-o``), before any work is done.

An output file or folder is the user's own choice: it may be anywhere, inside the workspace
or not. What it may not be is a place we cannot write to. These checks turn the usual
mistakes (a folder that does not exist, a folder where a file is wanted or the other way
round, a name too long, no permission, a read-only disk) into one line naming the path and
saying what to do, instead of a traceback half way through the work.
"""

from __future__ import annotations

import os
from pathlib import Path

from workbook.exceptions import WorkbookError

__all__ = ["output_file", "output_folder"]


def _stat(path: Path, option: str) -> os.stat_result | None:
    """``path``'s stat, ``None`` when nothing is there; any other failure as a WorkbookError."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        from workbook.cli import os_error_line

        line = os_error_line(exc)
        if line is None:
            raise
        raise WorkbookError(f"{option} {path}: {exc.strerror}", hint=line.hint) from None


def _writable_folder(folder: Path, option: str, what: Path) -> None:
    st = _stat(folder, option)
    if st is None:
        raise WorkbookError(
            f"{option} {what}: the folder {folder} does not exist",
            hint="create it first, or choose another place",
        )
    if not folder.is_dir():
        raise WorkbookError(
            f"{option} {what}: {folder} is a file, not a folder", hint="check the path"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WorkbookError(
            f"{option} {what}: cannot write in {folder}",
            hint="choose a folder you may write to (a read-only disk or missing permission)",
        )


def output_file(path: Path, option: str = "-o") -> Path:
    """Check that ``path`` can be written as a file: not a folder, in a writable folder.

    The folder holding it must exist already: a mistyped folder name is an error, not a new
    folder tree.
    """
    path = Path(path)
    st = _stat(path, option)
    if st is not None and path.is_dir():
        raise WorkbookError(
            f"{option} {path}: is a folder", hint="give the name of a file to write, not a folder"
        )
    _writable_folder(path.parent, option, path)
    return path


def output_folder(path: Path, option: str = "-o") -> Path:
    """Check that ``path`` is a folder to write into, or can be made one, and make it.

    Only the last folder is created: the one it goes in must exist already.
    """
    path = Path(path)
    st = _stat(path, option)
    if st is None:
        _writable_folder(path.parent, option, path)
        path.mkdir()
        return path
    if not path.is_dir():
        raise WorkbookError(
            f"{option} {path}: is a file, not a folder", hint="give a folder to write into"
        )
    _writable_folder(path, option, path)
    return path
