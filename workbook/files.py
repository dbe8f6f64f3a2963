"""Files written whole or not at all: the one way the workbook puts a file on disk.

Every file a user may open while it is being written (``workspace.yaml``, a report, an
exported map or chart, the JSON Schema) is first written to a temporary file beside its final
name, flushed to disk, and then renamed over it. A reader, or a process killed half way, sees
the old file or the new one, never a torn one; on failure the temporary file is removed.

The temporary name starts with a dot and ends in ``.tmp`` (optionally followed by the final
suffix, for writers that look at the extension), so a leftover never looks like a result and
``.<name>.*.tmp`` finds the orphans of a killed process (``<name>`` cut to its first 200
characters, so a long final name still leaves room for the temporary one).

A table written for people to open in a spreadsheet (CSV, XLSX) first goes through
:func:`plain_frame` or :func:`plain_table`: a text cell a spreadsheet would run as a formula
is made plain text (OWASP's advice against CSV injection).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "FORMULA_START",
    "atomic_path",
    "fsync_dir",
    "plain_cell",
    "plain_frame",
    "plain_table",
    "write_atomic",
]

#: A text cell starting with one of these is run as a formula by Excel, LibreOffice or
#: Google Sheets (a tab or carriage return first can hide one that follows).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: The same as a regular expression (RE2 and Python), for SQL and Arrow.
FORMULA_START_RE = r"^[=+\-@\t\r]"
#: A number written as text ("-12.5", "+3", "1e-3"): a spreadsheet reads it as that number,
#: never as a formula, so it is left alone.
NUMBER_RE = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"
_NUMBER = re.compile(NUMBER_RE[1:-1])  # used with fullmatch: "$" would allow a final "\n"

T = TypeVar("T")


def fsync_dir(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (POSIX; Windows renames are durable enough)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(final: Path, *, keep_suffix: bool = False) -> Iterator[Path]:
    """A temporary path beside ``final``, moved onto it only when the block succeeds.

    The block writes the file by its path (any writer: papermill, Chromium, pyarrow...).
    Afterwards it is fsynced, renamed over ``final`` and the rename made durable. With
    ``keep_suffix`` the temporary name ends in ``.tmp<suffix>`` (papermill warns about an
    output that does not end in ``.ipynb``); otherwise in ``.tmp``.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".tmp" + (final.suffix if keep_suffix else "")
    # A name near the file system's limit (255 bytes) must not fail only because the
    # temporary name is longer: keep at most 200 characters of it in the temporary name.
    fd, name = tempfile.mkstemp(prefix=f".{final.name[:200]}.", suffix=suffix, dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    # mkstemp makes the file private (0600); a workspace, report or map is an ordinary file
    # that the umask governs, as any file the user writes.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(final.parent)


def write_atomic(final: Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``final`` whole or not at all; return ``final``."""
    final = Path(final)
    with atomic_path(final) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return final


# ------------------------------------------------------------------------ spreadsheet cells


def plain_cell(value: T) -> T | str:
    """``value``, made plain text when a spreadsheet would read it as a formula.

    A text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading ``'``, which every spreadsheet takes as "this is text" (OWASP: CSV injection). A
    number, or a text that is only a number (``"-12.5"``), is left as it is: it is data, not
    a formula. Anything that is not text is returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are safe for a spreadsheet.

    Use it on every frame written with ``to_csv`` or ``to_excel``; numeric columns are not
    touched, so a negative number stays a number.
    """
    import pandas as pd

    out = frame.rename(columns=plain_cell)
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        kind = col.dtype
        if (
            pd.api.types.is_object_dtype(kind)
            or pd.api.types.is_string_dtype(kind)
            or isinstance(kind, pd.CategoricalDtype)
        ):
            out.isetitem(i, col.map(plain_cell, na_action="ignore"))
    return out


def plain_table(table: pa.Table) -> pa.Table:
    """``table`` with its text cells and column names safe for a spreadsheet (see
    :func:`plain_cell`); vectorised, so it costs little on millions of rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns: list[Any] = []
    for col in table.columns:
        kind = col.type
        if pa.types.is_dictionary(kind):
            col = col.cast(kind.value_type)
            kind = kind.value_type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            risky = pc.and_(
                pc.match_substring_regex(col, FORMULA_START_RE),
                pc.invert(pc.match_substring_regex(col, NUMBER_RE)),
            )
            if pc.any(risky).as_py():
                quoted = pc.binary_join_element_wise(pa.scalar("'", kind), col, pa.scalar("", kind))
                col = pc.if_else(risky, quoted, col)
        columns.append(col)
    names = [str(plain_cell(name)) for name in table.column_names]
    return pa.Table.from_arrays(columns, names=names)
