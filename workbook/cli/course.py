"""``workbook course``: the practice client for trainees and the trainer's view.

``start`` makes a trainee's copy of the course case, ``solve`` fills one with the trainer's
solutions, ``progress`` shows where each trainee stands (a table, and an HTML page with
``--html``), ``hand-in`` packs a copy into one file the trainer's view reads too.
"""

from __future__ import annotations

from pathlib import Path

import click

from workbook.cli import main

#: Column headings narrow enough for an 80-column terminal.
_SHORT = {
    "objectives": "Obj",
    "personas": "Pers",
    "icp": "ICP",
    "touchpoints": "Tch",
    "stages": "Stg",
    "data": "Data",
    "conversion-rate": "Rate",
    "visualise": "Map",
    "refine": "Ref",
}


_CAPTION = (
    "Obj objectives, Pers personas, ICP ideal customer profile, Tch touchpoints, Stg stages, "
    "Data import, Rate conversion rate, Map journey map, Ref refine"
)


@main.group("course")
def course() -> None:
    """The course: a practice client per trainee, and the trainer's view of a cohort."""


@course.command("start")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--name", "-n", default="trainee", help="The trainee's name (seeds the CRM data).")
@click.option("--seed", type=int, help="Seed the CRM data with this number instead.")
def start(folder: Path, name: str, seed: int | None) -> None:
    """Make a trainee's copy of the course case in FOLDER (new or empty)."""
    from workbook.course.case import read_case, start_case

    made = start_case(folder, name, seed=seed)
    info = read_case(made)
    assert info is not None
    click.echo(f"created {made} for {info.trainee}")
    click.echo(f"read {made / 'BRIEF.md'} first; its CRM export is {made / info.export}")
    click.echo(f'then open the notebooks with workspace = "{made}" and mode = "course"')


@course.command("solve")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def solve(folder: Path) -> None:
    """Do every exercise of the copy in FOLDER with the trainer's solutions."""
    from workbook.course.case import solve_case
    from workbook.course.checks import progress

    ws = solve_case(folder)
    click.echo(str(progress(ws)))


@course.command("progress")
@click.argument("copies", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the cohort as one HTML page.",
)
def progress_(copies: tuple[Path, ...], html_file: Path | None) -> None:
    """Show each trainee's progress per exercise; COPIES are folders or hand-in files.

    Exits 1 when a copy could not be read (the others are still shown)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from workbook.cli._paths import output_file
    from workbook.course.trainer import EXERCISES, cohort, progress_html
    from workbook.files import write_atomic

    if html_file is not None:
        output_file(html_file, "--html")
    trainees = cohort(copies)
    table = Table(title="Course progress", caption=_CAPTION)
    table.add_column("Trainee", style="bold", max_width=22)
    for ex in EXERCISES:
        table.add_column(_SHORT[ex], justify="center", no_wrap=True)
    table.add_column("Done", justify="right")
    for t in trainees:
        if t.error:
            table.add_row(escape(t.trainee), *["?"] * len(EXERCISES), "-")
            continue
        marks = [
            ("[green]✓[/]" if t.results[ex].ok else "[yellow]○[/]") if ex in t.results else "-"
            for ex in EXERCISES
        ]
        table.add_row(escape(t.trainee), *marks, f"{t.done}/{t.total}")
    console = Console(highlight=False)
    console.print(table)
    for t in trainees:
        if t.error:
            console.print(f"[bold]{escape(t.source)}[/]: could not be read:", soft_wrap=True)
            console.print(f"  {t.error}", markup=False, soft_wrap=True)
            continue
        todo = [(ex, fb) for ex, fb in t.results.items() if not fb.ok]
        if not todo:
            console.print(f"[bold]{escape(t.trainee)}[/]: every exercise done", soft_wrap=True)
            continue
        console.print(f"[bold]{escape(t.trainee)}[/] ({escape(t.source)}):", soft_wrap=True)
        for ex, fb in todo:
            hint = f" - {fb.hints[0]}" if fb.hints else ""
            console.print(f"  {EXERCISES[ex]}: {fb.message}{hint}", markup=False, soft_wrap=True)
    if html_file is not None:
        write_atomic(html_file, progress_html(trainees))
        click.echo(f"wrote {html_file}")
    if any(t.error for t in trainees):
        raise SystemExit(1)


@course.command("hand-in")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (default: FOLDER-hand-in.zip beside the folder).",
)
def hand_in_(folder: Path, output: Path | None) -> None:
    """Pack the trainee's copy in FOLDER into one file for the trainer."""
    from workbook.cli._paths import output_file
    from workbook.course.trainer import hand_in

    if output is not None:
        output_file(output, "-o")
    out = hand_in(folder, output)
    click.echo(f"wrote {out}; send this one file to your trainer")
