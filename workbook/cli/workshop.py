"""``workbook workshop``: the code-free workshop app in the browser (served by Voilà)."""

from __future__ import annotations

import sys

import click

from workbook.cli import main


@main.command()
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    metavar="N",
    help="Listen on this port of 127.0.0.1 (default: a free one).",
)
@click.option("--no-browser", is_flag=True, help="Print the address, do not open a browser.")
def workshop(workspace: str, port: int | None, no_browser: bool) -> None:
    """Run the workshop app on WORKSPACE: the seven steps, their forms and the journey map,
    with no code, on 127.0.0.1 with a token. Ctrl+C stops it; every edit is already saved."""
    from workbook.workshop import serve

    status = serve(workspace, port, open_browser=not no_browser, echo=click.echo)
    sys.exit(status)
