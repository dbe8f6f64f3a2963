"""``workbook import`` and ``workbook demo-data``: CRM data in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from workbook.cli import main
from workbook.cli._engine import engine_options, use_engine

if TYPE_CHECKING:
    from workbook.crm.generate import SampleCrm

_SOURCES = ("hubspot", "salesforce", "salesforce-roles", "pipedrive", "generic")
_STEPS = (
    "checking the file",
    "reading",
    "checking rows",
    "pseudonymising",
    "writing tables",
    "building derived tables",
    "saving",
)


@main.command("import")
@click.argument("workspace", type=click.Path(file_okay=False, path_type=Path))
# text, not a Path: with --engine spark it may be a URI (hdfs://, s3a://...)
@click.argument("files", metavar="FILE...", nargs=-1, required=True)
@click.option(
    "--source",
    type=click.Choice(_SOURCES),
    help="Which CRM wrote the file (detected when left out).",
)
@click.option(
    "--map",
    "column_map",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Column map (YAML) for a generic event file.",
)
@click.option(
    "--stage-map",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Stage map (YAML): client stage name -> workspace stage id. Comes before the "
    "stages' aliases in workspace.yaml.",
)
@click.option(
    "--set-aside-bad-rows",
    is_flag=True,
    help="Import the good rows; list the bad ones in data/rejects/.",
)
@click.option(
    "--date-format",
    help="strptime format of the dates when they are not ISO, e.g. '%d/%m/%Y %H:%M'.",
)
@click.option("--currency", help="Currency code for amounts when the file has none, e.g. GBP.")
@click.option(
    "--as", "source_id", help="Name of this source in the workspace (default: from the file name)."
)
@click.option(
    "--match",
    type=click.Choice(["auto", "email", "id", "none"]),
    help="How its people are matched with those already in the workspace: by e-mail, else by "
    "id (auto, the default), by e-mail only, by id only, or not at all (none).",
)
@engine_options
def import_command(
    workspace: Path,
    files: tuple[str, ...],
    source: str | None,
    column_map: Path | None,
    stage_map: Path | None,
    set_aside_bad_rows: bool,
    date_format: str | None,
    currency: str | None,
    source_id: str | None,
    match: str | None,
    engine: str | None,
    master: str | None,
) -> None:
    """Import CRM exports into WORKSPACE, one FILE after the other, each all or nothing.

    Several files are imported in the order given (contacts before the contact roles that
    link deals to them); a file that cannot be imported stops the run, with the files
    before it imported and the ones after it not tried, as the error says.

    A person already in the workspace from another export stays one contact: people are
    matched on their e-mail address, else on a shared id (see --match). A newer export of the
    same source (same source id: by default the system and the file name without dates)
    replaces the older one's rows.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from workbook.crm.importer import import_file
    from workbook.crm.spark.session import engine_choice
    from workbook.exceptions import CrmImportError
    from workbook.store import read_workspace

    if source_id and len(files) > 1:
        raise click.UsageError("--as names one source: give it with one FILE at a time")
    use_engine(engine, master)
    run: Any = import_file
    if engine_choice(read_workspace(workspace).settings.engine) == "spark":
        from workbook.crm.spark.importer import import_events

        run = import_events
    console = Console(stderr=True)
    done: list[str] = []
    for n, file in enumerate(files):
        with Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("starting", total=len(_STEPS))

            def step(name: str) -> None:
                at = _STEPS.index(name) if name in _STEPS else 0
                bar.update(task, description=name, completed=at)  # noqa: B023 - used at once

            try:
                result = run(
                    workspace,
                    file,
                    source=source,
                    column_map=column_map,
                    stage_map=stage_map,
                    set_aside_bad_rows=set_aside_bad_rows,
                    date_format=date_format,
                    currency=currency,
                    source_id=source_id,
                    match=match,
                    progress=step,
                )
            except CrmImportError as exc:
                if len(files) > 1:
                    rest = [Path(f).name for f in files[n + 1 :]]
                    exc.hint = "; ".join(
                        [*([exc.hint] if exc.hint else [])]
                        + [f"imported before it: {', '.join(done) or 'none'}"]
                        + ([f"not tried: {', '.join(rest)}"] if rest else [])
                    )
                raise
        for line in result.lines():
            click.echo(line)
        done.append(Path(file).name)


@main.command("demo-data")
@click.option(
    "--contacts",
    default=3000,
    show_default=True,
    type=click.IntRange(1, None),
    help="How many contacts (some 6 to 8 events each).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="The same seed gives the same data."
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(_SOURCES),
    help="Export format; repeat for several (default: all five: salesforce-roles links "
    "the opportunities of the salesforce export to people).",
)
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    help="Workspace whose stages, touchpoints and personas drive the data "
    "(default: the demo client).",
)
@click.option("--currency", default="GBP", show_default=True)
@click.option(
    "--end",
    "end_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day the export is taken: nothing happens after its evening "
    "(default: 2026-10-31, the demo client's export).",
)
@click.option(
    "--days",
    default=426,
    show_default=True,
    type=click.IntRange(1, None),
    help="Contacts are created over this many days before --end (426: fourteen months).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the exports into.",
)
def demo_data(
    contacts: int,
    seed: int,
    formats: tuple[str, ...],
    workspace: Path | None,
    currency: str,
    end_date: dt.datetime | None,
    days: int,
    output: Path,
) -> None:
    """Generate a realistic, seeded CRM history as the CRMs export it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from workbook.cli._paths import output_folder
    from workbook.crm.demo import DEMO_END
    from workbook.crm.generate import PART, generate_parts, write_exports
    from workbook.model import Workspace
    from workbook.store import open_workspace

    output_folder(output)  # before any work: a mistyped or unwritable folder fails at once
    if workspace is None and (Path("data/demo") / "workspace.yaml").exists():
        workspace = Path("data/demo")
    ws = (
        open_workspace(workspace).data
        if workspace
        else Workspace.model_validate({"client": {"name": "Demo", "slug": "demo"}})
    )
    events = deals = 0

    def counted(parts: Iterator[SampleCrm]) -> Iterator[SampleCrm]:
        nonlocal events, deals
        for part in parts:
            events += part.events.num_rows
            deals += part.deals.num_rows
            yield part
            bar.advance(task, part.contacts.num_rows)

    # generated and written a part at a time: any number of contacts fits in memory
    with Progress(
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=contacts <= PART,
    ) as bar:
        task = bar.add_task("contacts", total=contacts)
        paths = write_exports(
            counted(
                generate_parts(
                    ws,
                    contacts=contacts,
                    seed=seed,
                    currency=currency,
                    end=DEMO_END
                    if end_date is None
                    else end_date.replace(hour=DEMO_END.hour, tzinfo=dt.UTC),
                    span_days=days,
                )
            ),
            formats or _SOURCES,
            output,
        )
    for fmt, path in paths.items():
        click.echo(f"{fmt:<11} {path}")
    click.echo(f"{contacts:,} contacts, {events:,} events, {deals:,} deals")
