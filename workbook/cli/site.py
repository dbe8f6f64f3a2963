"""``workbook course site``: the course as a read-only website, run on the demo, offline."""

from __future__ import annotations

from pathlib import Path

import click

from workbook.cli.course import course


@course.command("site")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/course-site"),
    show_default=True,
    help="Folder to write the site into (index.html and one page per notebook).",
)
@click.option(
    "-w",
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    help="Workspace to run the notebooks on (default: the demo client); it is copied, never "
    "changed.",
)
@click.option(
    "--notebooks",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the course notebooks (default: the repository's notebooks/).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Notebooks run at once, each in its own process.",
)
def course_site(output: Path, workspace: Path | None, notebooks: Path | None, jobs: int) -> None:
    """Run every course notebook on the demo and write them as a website that opens offline."""
    import logging

    from workbook.course_site import build_site

    logging.getLogger("papermill").addHandler(logging.NullHandler())
    site = build_site(output, workspace=workspace, notebooks=notebooks, jobs=jobs)
    click.echo(f"{len(site.pages)} pages in {site.seconds:.0f} s")
    click.echo(str(site.index))
