"""``workbook map``: export journey maps for slides and email (HTML, SVG or PNG), or as a grid
for a spreadsheet (XLSX or CSV)."""

from __future__ import annotations

from pathlib import Path

import click

from workbook.cli import main


@main.command("map")
@click.argument("workspace", type=click.Path(file_okay=False))
@click.option(
    "--persona", "-p", metavar="ID", help="Only this persona's map (default: one file per persona)."
)
@click.option(
    "--icp", metavar="ID", help="The persona x ICP map instead of the persona's general one."
)
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    type=click.Path(),
    help="FILE.html, FILE.svg, FILE.png, FILE.xlsx or FILE.csv. Without --persona, each "
    "persona's id is added to the "
    "name; a folder takes the default names. Default: the workspace's reports/maps/ as HTML.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "svg", "png", "xlsx", "csv"]),
    help="Format when -o has no suffix.",
)
@click.option("--kpis", is_flag=True, help="Add the measured KPI lane (needs imported CRM data).")
@click.option(
    "--to-be",
    "version",
    flag_value="to-be",
    help="The desired journey (the to-be map) instead of the journey today.",
)
@click.option(
    "--compare",
    "version",
    flag_value="compare",
    help="The as-is and the to-be overlaid: both emotion curves, the gap shaded, each change "
    "and the recommendation behind it (HTML).",
)
def map_(
    workspace: str,
    persona: str | None,
    icp: str | None,
    output: str | None,
    fmt: str | None,
    kpis: bool,
    version: str | None,
) -> None:
    """Export the journey map of each persona (or of one) in WORKSPACE.

    A spreadsheet (xlsx, csv) holds the as-is rows and, when the persona has a desired
    journey, the to-be rows under them."""
    version = version or "as-is"
    from workbook.cli._paths import output_file, output_folder
    from workbook.exceptions import Problem, WorkbookError
    from workbook.journeymap import build_layout, export_map, map_filename, stage_kpis
    from workbook.store import open_workspace

    ws = open_workspace(workspace)
    personas = [persona] if persona else [p.id for p in ws.data.personas]
    if persona or icp:
        # an unknown persona or ICP fails here, before any file
        build_layout(ws, persona or (personas[0] if personas else None), icp=icp)
    if not personas:
        click.echo("no personas in this workspace yet: nothing to export (add one in step 2)")
        return
    out = Path(output) if output else None
    # an existing folder takes the default names even when its name has a dot in it
    into_folder = out is not None and (out.is_dir() or not out.suffix)
    if out is not None and not into_folder:
        fmt = fmt or out.suffix.lstrip(".").lower()
    fmt = fmt or "html"
    if version == "compare" and fmt != "html":
        raise WorkbookError(
            f"--compare writes HTML, not {fmt!r}",
            [Problem("unknown format", file=output, hint="end the file name in .html")],
        )
    if fmt not in ("html", "svg", "png", "xlsx", "csv"):
        raise WorkbookError(
            f"cannot export a map as {fmt!r}",
            [
                Problem(
                    "unknown format",
                    file=output,
                    hint="end the file name in .html, .svg, .png, .xlsx or .csv",
                )
            ],
        )
    # the place to write is checked before the first map is drawn
    if out is not None:
        if into_folder:
            output_folder(out)
        else:
            output_file(out)
    for pid in personas:
        if out is None:
            path = ws.reports_dir / "maps" / map_filename(pid, fmt, icp, version)
        elif into_folder:
            path = out / map_filename(pid, fmt, icp, version)
        elif persona:
            path = out
        else:
            # a persona id of the workspace is a slug (the model checks it): no separator
            path = out.with_name(f"{out.stem}-{pid}{out.suffix}")
        values = stage_kpis(ws, pid) if kpis else None
        export_map(ws, pid, path, fmt, icp=icp, kpis=values, version=version)
        click.echo(f"wrote {path}")
