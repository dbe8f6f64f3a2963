"""The ``workbook`` command: thin, parses, calls one package function, prints.

Each group of commands lives in its own module here and registers itself on :data:`main`.
A :class:`~workbook.exceptions.WorkbookError` becomes one line per problem on stderr and
exit status 1 (2 for usage errors, as click does); no traceback for a user's mistake. So does
an error of the file system about a path the user gave (a name too long, a folder without
permission or on a read-only disk, a file where a folder should be, a full disk).
"""

from __future__ import annotations

import errno
import sys
from typing import Any

import click

from workbook import __version__
from workbook.exceptions import ConflictError, WorkbookError

__all__ = ["main"]


#: What to do about a file-system error, by its errno. Others are not the user's to fix.
_OS_HINTS = {
    errno.ENAMETOOLONG: "the path or one of its names is too long; choose a shorter one",
    errno.EACCES: "you have no permission there; choose another place or change its permissions",
    errno.EPERM: "the system does not allow this there; choose another place",
    errno.EROFS: "that disk is read-only; choose a place on a writable disk",
    errno.ENOSPC: "the disk is full; free some space and run the command again",
    errno.EDQUOT: "your disk quota is used up; free some space and run the command again",
    errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    errno.EISDIR: "that is a folder; give a file name",
    errno.ENOENT: "check the path",
    errno.EEXIST: "something is already there; choose another name",
    errno.ELOOP: "the path loops through links; check the path",
}


def os_error_line(exc: OSError) -> WorkbookError | None:
    """A file-system error about a named path as a one-line WorkbookError; ``None`` for any
    other (a bug, which should keep its traceback)."""
    hint = _OS_HINTS.get(exc.errno or 0)
    if hint is None or exc.filename is None:
        return None
    name = exc.filename
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    name = str(name)
    if len(name) > 120:  # a too-long path would fill the terminal
        name = name[:60] + "..." + name[-40:]
    return WorkbookError(f"{name}: {exc.strerror or exc}", hint=hint)


class _Group(click.Group):
    """A click group that turns WorkbookError (and a file-system error about a path the user
    gave) into readable lines and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WorkbookError as exc:
            self._report(ctx, exc)
        except OSError as exc:
            line = os_error_line(exc)
            if line is None:
                raise
            self._report(ctx, line)

    @staticmethod
    def _report(ctx: click.Context, exc: WorkbookError) -> None:
        if isinstance(exc, ConflictError) and exc.command_hint:
            exc.hint = exc.command_hint  # no copy to reload here: say what to run
        for i, line in enumerate(exc.lines()):
            click.secho(
                ("error: " if i == 0 else "") + line, err=True, fg="red" if i == 0 else None
            )
        ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="workbook")
def main() -> None:
    """Journey Workbook: customer-journey mapping workspaces, data, maps and reports."""


def _register() -> None:
    # Each module adds its commands to `main`; the imports are cheap (heavy ones are inside
    # the commands), so `workbook --help` stays fast.
    for name in (
        "workspace",
        "data",
        "analyse",
        "maps",
        "reports",
        "design",
        "workshop",
        "course",
        "site",
    ):
        try:
            __import__(f"workbook.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"workbook.cli.{name}":
                raise


_register()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
