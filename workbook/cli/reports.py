"""``workbook report`` (one client), ``workbook batch`` (many clients) and ``workbook deck``."""

from __future__ import annotations

from pathlib import Path

import click

from workbook.cli import main
from workbook.cli._engine import engine_options, use_engine
from workbook.report import DEFAULT_TIMEOUT  # a light import: the stdlib and our files module

_TIMEOUT = click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Time a client's report may take; past it the report is abandoned, the notebook as "
    "far as it ran kept, and the cell it was running named.",
)


@main.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="An .html file or a folder (default: PATH/reports/).",
)
@click.option("--pdf", is_flag=True, help="Also print an A4 PDF beside the HTML (needs Chromium).")
@click.option(
    "--data",
    is_flag=True,
    help="Also write the numbers behind every chart and table: an XLSX workbook (one sheet "
    "per chart or table) and the same sheets as CSV files in a folder, beside the HTML.",
)
@click.option(
    "--section", "sections", multiple=True, help="Only this section (repeatable); default: all."
)
@click.option("--date", "report_date", help="Date on the cover, YYYY-MM-DD (default: today).")
@click.option("--locale", default="en_GB", show_default=True, help="Locale for dates and numbers.")
@_TIMEOUT
@engine_options
def report(
    path: Path,
    output: Path | None,
    pdf: bool,
    data: bool,
    sections: tuple[str, ...],
    report_date: str | None,
    locale: str,
    timeout: float,
    engine: str | None,
    master: str | None,
) -> None:
    """Render the client report of the workspace at PATH and print its path."""
    use_engine(engine, master)
    import logging

    from workbook.report import render_report

    # nbclient logs a timeout or a dead kernel as it happens; the error below says it once,
    # with the cell.
    logging.getLogger("papermill").addHandler(logging.NullHandler())

    result = render_report(
        path,
        output,
        sections=list(sections) or None,
        report_date=report_date,
        locale=locale,
        pdf=pdf,
        timeout=timeout,
        data=data,
    )
    for warning in result.warnings:
        click.secho(f"warning: {warning}", err=True, fg="yellow")
    click.echo(str(result.html))
    if result.pdf is not None:
        click.echo(str(result.pdf))
    if result.data:
        click.echo(str(result.data[0]))
        click.echo(str(result.data[0].with_suffix("")) + "/")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A YAML list of workspace folders (clients.yaml).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="One folder for every report (default: each workspace's reports/).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Reports rendered at once (default: number of CPUs).",
)
@click.option(
    "--force", is_flag=True, help="Render even the clients whose inputs have not changed."
)
@click.option("--pdf", is_flag=True, help="Also print each report to PDF.")
@click.option(
    "--deck", is_flag=True, help="Also write each client's slide deck (PPTX) beside its report."
)
@click.option(
    "--data",
    is_flag=True,
    help="Also write the numbers behind each report's charts and tables beside it (XLSX and "
    "a folder of CSV files).",
)
@click.option("--locale", default="en_GB", show_default=True, help="Locale for dates and numbers.")
@_TIMEOUT
@engine_options
def batch(
    paths: tuple[Path, ...],
    manifest: Path | None,
    output: Path | None,
    jobs: int | None,
    force: bool,
    pdf: bool,
    deck: bool,
    data: bool,
    locale: str,
    timeout: float,
    engine: str | None,
    master: str | None,
) -> None:
    """Render the reports of many clients in parallel; a failed client does not stop the rest.

    Clients whose workspace, data, logo, options, template and code have not changed since
    their last report are skipped (use --force to render them anyway). Each client has
    --timeout seconds; one that runs past it, or whose kernel dies, fails with the cell it
    was running. The summary ends with one line per failed client saying why, and the
    command exits with status 1 when any client failed.
    """
    use_engine(engine, master)
    from workbook.batch import load_manifest, print_summary, run_batch

    targets = list(paths)
    if manifest is not None:
        targets += load_manifest(manifest)
    if not targets:
        raise click.UsageError("give workspace folders, or --manifest clients.yaml")
    result = run_batch(
        targets,
        output=output,
        jobs=jobs,
        force=force,
        pdf=pdf,
        deck=deck,
        data=data,
        locale=locale,
        timeout=timeout,
        progress=True,
    )
    print_summary(result)
    if result.failed:
        raise SystemExit(1)


@main.command()
@click.argument("workspace", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .pptx file to write (default: the workspace's reports/<client>-deck.pptx).",
)
@click.option("--date", "report_date", help="The date on the cover (YYYY-MM-DD; default today).")
def deck(workspace: Path, output: Path | None, report_date: str | None) -> None:
    """Write a branded slide deck of WORKSPACE (PowerPoint, editable) to present the findings."""
    import datetime as dt

    from workbook.cli._paths import output_file
    from workbook.deck import write_deck
    from workbook.store import open_workspace

    ws = open_workspace(workspace)
    path = output or ws.reports_dir / f"{ws.data.client.slug}-deck.pptx"
    if output is not None:
        output_file(output)
    else:
        path.parent.mkdir(exist_ok=True)
    when = None
    if report_date:
        try:
            when = dt.date.fromisoformat(report_date)
        except ValueError:
            raise click.BadParameter(f"{report_date!r} is not a date like 2026-12-06") from None
    click.echo(str(write_deck(ws, path, today=when)))
