"""The ``workbook`` command: thin, parses, calls one package function, prints.

Each group of commands lives in its own module here and registers itself on :data:`main`.
A :class:`~workbook.exceptions.WorkbookError` becomes one line per problem on stderr and
exit status 1 (2 for usage errors, as click does); no traceback for a user's mistake.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from workbook import __version__
from workbook.exceptions import WorkbookError

__all__ = ["main"]


class _Group(click.Group):
    """A click group that turns WorkbookError into readable lines and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WorkbookError as exc:
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
    for name in ("workspace", "data", "analyse", "maps", "reports"):
        try:
            __import__(f"workbook.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"workbook.cli.{name}":
                raise


_register()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
