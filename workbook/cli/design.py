"""``workbook campaign``: the campaign control sheet as a spreadsheet a marketing team opens
(XLSX, one sheet per part) or as CSV files in a folder."""

from __future__ import annotations

from pathlib import Path

import click

from workbook.cli import main

__all__ = ["campaign"]


@main.command()
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    type=click.Path(),
    help="FILE.xlsx, or a folder for the CSV files. Default: the workspace's "
    "reports/campaign.xlsx (reports/campaign/ for CSV).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xlsx", "csv"]),
    help="xlsx (one sheet per part) or csv (one file per part in a folder). Default: from "
    "the name given to -o, else xlsx.",
)
def campaign(workspace: str, output: str | None, fmt: str | None) -> None:
    """Export the campaign control sheet of WORKSPACE: SEO targets, planned content, social
    calendar and channel mix per persona.

    Every text cell is plain text: a cell starting with =, +, - or @ gets a leading
    apostrophe and is never run as a formula.
    """
    from workbook.cli._paths import output_file, output_folder
    from workbook.exports import campaign_tables, write_csv, xlsx_bytes
    from workbook.files import atomic_path
    from workbook.store import open_workspace

    ws = open_workspace(workspace)
    out = Path(output) if output else None
    if fmt is None:
        fmt = "xlsx" if out is None or out.suffix.lower() == ".xlsx" else "csv"
    if out is None:
        reports = Path(workspace) / "reports"
        reports.mkdir(exist_ok=True)
        out = reports / ("campaign.xlsx" if fmt == "xlsx" else "campaign")
    data = xlsx_bytes(campaign_tables(ws.data))
    if fmt == "xlsx":
        output_file(out)
        with atomic_path(out) as tmp:
            tmp.write_bytes(data)
        written = [out]
    else:
        written = write_csv(data, output_folder(out))
    sheet = ws.data.campaign
    click.echo(
        f"campaign control sheet: {len(sheet.seo)} SEO targets, {len(ws.data.content)} pieces "
        f"of content, {len(sheet.social)} social posts, {len(sheet.channel_mix)} channel "
        "choices"
    )
    for path in written:
        click.echo(f"wrote {path}")
