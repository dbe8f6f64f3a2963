"""Files written whole or not at all: the one way the workbook puts a file on disk.

Every file a user may open while it is being written (``workspace.yaml``, a report, an
exported map or chart, the JSON Schema) is first written to a temporary file beside its final
name, flushed to disk, and then renamed over it. A reader, or a process killed half way, sees
the old file or the new one, never a torn one; on failure the temporary file is removed.

The temporary name starts with a dot and ends in ``.tmp`` (optionally followed by the final
suffix, for writers that look at the extension), so a leftover never looks like a result and
``.<name>.*.tmp`` finds the orphans of a killed process (``<name>`` cut to its first 200
characters, so a long final name still leaves room for the temporary one).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "fsync_dir", "write_atomic"]


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
