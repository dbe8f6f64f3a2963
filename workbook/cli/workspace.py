"""Workspace commands: ``new``, ``validate``, ``snapshot``, ``snapshots``, ``diff``, ``schema``.

Each command parses its arguments, calls one function of :mod:`workbook.store`, and prints.
Errors are :class:`~workbook.exceptions.WorkbookError`; the root group prints them.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from workbook.cli import main
from workbook.exceptions import WorkspaceValidationError


def _problem_lines(exc: WorkspaceValidationError) -> list[str]:
    """One line per problem, ``file:line: field: message (hint)``, as editors and CI read them."""
    lines = []
    for p in exc.problems:
        where = (p.file or "") + (f":{p.line}" if p.line else "")
        text = ": ".join(part for part in (where, p.field, p.message) if part)
        if p.hint:
            text += f" ({p.hint})"
        lines.append(text)
    return lines


@main.command()
@click.argument("name")
@click.option(
    "--preset", "-p", metavar="PRESET", help="Start from a preset (b2b-saas, d2c-retail, ...)."
)
@click.option(
    "--dir",
    "-d",
    "directory",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to create the workspace in.",
)
def new(name: str, preset: str | None, directory: str) -> None:
    """Create a workspace for client NAME (the folder is named after it)."""
    from workbook.store import new_workspace

    ws = new_workspace(name, preset=preset, directory=directory)
    click.echo(f"created {ws.path}" + (f" from preset {preset}" if preset else ""))
    click.echo(f'next: edit {ws.file} or open the notebooks, then "workbook validate {ws.path}"')


@main.command()
@click.argument("path", type=click.Path())
def validate(path: str) -> None:
    """Check a workspace (folder or YAML file) and list every problem in it."""
    from workbook.store import read_workspace

    try:
        ws = read_workspace(path)
        folder = Path(path) if Path(path).is_dir() else Path(path).parent
        if (folder / "data").is_dir():
            # only now: the data checks import Arrow, which a YAML-only check need not wait for
            from workbook.crm.storage import data_problems, recover

            # an import cut short in its commit is finished, then YAML, manifest and files
            # must agree
            finished = recover(folder)
            if finished:
                click.echo(f"finished the import of {finished!r}, cut short in its commit")
                ws = read_workspace(path)
            problems = data_problems(folder, ws.data_sources)
            if problems:
                raise WorkspaceValidationError.from_problems(str(folder / "data"), problems)
        from workbook.sections import section_choice_problems

        problems = section_choice_problems(ws, file=str(_yaml_file(path)))
        if problems:  # report sections are registered above the model: checked here
            raise WorkspaceValidationError.from_problems(str(_yaml_file(path)), problems)
    except WorkspaceValidationError as exc:
        # every problem found, also those counted but not listed
        n = getattr(exc, "total", None) or len(exc.problems)
        click.secho(f"{n:,} problem{'s' if n != 1 else ''} in {path}:", err=True, fg="red")
        for line in _problem_lines(exc):
            click.echo(line, err=True)
        raise SystemExit(1) from None
    click.echo(
        f"ok: {path} ({len(ws.personas)} personas, {len(ws.stages)} stages, "
        f"{len(ws.touchpoints)} touchpoints)"
    )


def _yaml_file(path: str) -> Path:
    return Path(path) / "workspace.yaml" if Path(path).is_dir() else Path(path)


@main.command()
@click.argument("path", type=click.Path(file_okay=False))
@click.option(
    "--message", "-m", "note", required=True, help='What this version is: "after workshop 1".'
)
def snapshot(path: str, note: str) -> None:
    """Keep a copy of the saved workspace in its history folder."""
    from workbook.store import open_workspace

    snap = open_workspace(path).snapshot(note)
    click.echo(f"snapshot {snap.name} (revision {snap.revision})")


@main.command()
@click.argument("path", type=click.Path(file_okay=False))
def snapshots(path: str) -> None:
    """List the snapshots of a workspace, oldest first."""
    from workbook.store import open_workspace

    snaps = open_workspace(path).snapshots()
    if not snaps:
        click.echo(f'no snapshots yet; take one with: workbook snapshot {path} -m "NOTE"')
        return
    for snap in snaps:
        click.echo(str(snap))


@main.command()
@click.argument("path", type=click.Path(file_okay=False))
@click.argument("a", required=False)
@click.argument("b", required=False)
def diff(path: str, a: str | None, b: str | None) -> None:
    """Show what changed between snapshots A and B.

    A and B are snapshot numbers or names (see `workbook snapshots`). Without B, compares with
    the saved workspace; without either, compares the latest snapshot with the saved workspace.
    """
    from workbook.store import open_workspace

    click.echo(str(open_workspace(path).diff(a, b)))


@main.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file instead of standard output.",
)
def schema(output: str | None) -> None:
    """Print the JSON Schema of workspace.yaml (for editors and validators)."""
    from workbook.model import Workspace

    text = json.dumps(Workspace.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    from workbook.cli._paths import output_file
    from workbook.files import write_atomic

    write_atomic(output_file(Path(output)), text)
    click.echo(f"wrote {output}", err=True)
