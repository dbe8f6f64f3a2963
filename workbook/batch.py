"""Render many clients' reports at once: a process pool, failures isolated, unchanged skipped.

Each client is rendered by :func:`workbook.report.render_report` in a worker *process*
(papermill in threads fights over ZMQ ports; each worker also keeps nbconvert imported
between its clients). A client that fails is recorded with its error and the others go on:
one past its time limit (``timeout``) fails naming the cell it was running, one whose kernel
died says so. The summary ends with one line per failed client and the run's exit status
says whether any failed. Before rendering, the client's input fingerprint
(:func:`workbook.report.inputs_fingerprint`, over every file the render reads and every
option that changes what it writes) is compared with the one stored beside its last report;
equal, with every file of that report still there, means nothing changed and the client is
skipped, cheaply: the check imports neither papermill nor nbconvert.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbook.exceptions import Problem, ReportError, WorkbookError
from workbook.report import DEFAULT_TIMEOUT

__all__ = ["BatchResult", "ClientResult", "load_manifest", "print_summary", "run_batch"]


@dataclass
class ClientResult:
    """The outcome for one client: ``rendered``, ``skipped`` or ``failed``."""

    workspace: str
    status: str
    html: str | None = None
    seconds: float = 0.0
    error: str | None = None


@dataclass
class BatchResult:
    clients: list[ClientResult] = field(default_factory=list)
    seconds: float = 0.0

    def _with(self, status: str) -> list[ClientResult]:
        return [c for c in self.clients if c.status == status]

    @property
    def rendered(self) -> list[ClientResult]:
        return self._with("rendered")

    @property
    def skipped(self) -> list[ClientResult]:
        return self._with("skipped")

    @property
    def failed(self) -> list[ClientResult]:
        return self._with("failed")


def load_manifest(path: str | Path) -> list[Path]:
    """The workspace folders a ``clients.yaml`` lists, relative to the manifest's folder.

    The file is either a list of folders or ``{clients: [...]}``, where an entry is a folder
    or ``{path: folder}``.
    """
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ReportError(
            f"{path}: not valid YAML",
            [
                Problem(
                    str(getattr(exc, "problem", exc)),
                    file=str(path),
                    line=mark.line + 1 if mark else None,
                )
            ],
        ) from None
    entries = raw.get("clients") if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise ReportError(
            f"{path}: expected a list of workspace folders",
            hint="write one '- path/to/workspace' per line, or a 'clients:' list",
        )
    out: list[Path] = []
    problems = []
    for i, entry in enumerate(entries):
        folder = entry.get("path") if isinstance(entry, dict) else entry
        if not isinstance(folder, str) or not folder.strip():
            problems.append(
                Problem("must be a workspace folder", file=str(path), field=f"clients[{i}]")
            )
            continue
        out.append(path.parent / folder)
    if problems:
        raise ReportError(f"{path}: {len(problems)} entries are not folders", problems)
    return out


def _slug(workspace: Path) -> str | None:
    """The client's slug, read from workspace.yaml without validating the whole document."""
    import yaml

    try:
        # The C loader when libyaml is there: the pure-Python one takes ~90 ms on a full
        # workspace, most of the time of checking an unchanged client.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = yaml.load((workspace / "workspace.yaml").read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
        slug = raw["client"]["slug"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    return slug if isinstance(slug, str) else None


def _output_for(workspace: Path, output: Path | None, slug: str) -> Path | None:
    # With one output folder for everyone, each client gets a folder named by its slug, so
    # the executed notebook and the fingerprint stay beside their report.
    return None if output is None else output / slug


def _check(
    workspace: Path,
    output: Path | None,
    slug: str,
    options: dict[str, Any],
    notebook: str | Path | None,
    pdf: bool,
    deck: bool = False,
    data: bool = False,
) -> tuple[str, str | None]:
    """The inputs' fingerprint, and the report's path when it is current (else None).

    Current means: the fingerprint stored beside the report is this one (same inputs, same
    options), and every file the run would write is there (the PDF, the deck, the numbers'
    workbook and folder when asked for). The
    temporaries a killed run left beside a current report are removed.
    """
    from workbook.report import (
        clean_leftovers,
        inputs_fingerprint,
        read_fingerprint,
        report_outputs,
    )

    outputs = report_outputs(workspace, slug, _output_for(workspace, output, slug))
    current = inputs_fingerprint(workspace, options, notebook=notebook)
    fresh = read_fingerprint(outputs) == current
    if pdf and not outputs.pdf.is_file():
        fresh = False
    if deck and not deck_path(outputs.html).is_file():
        fresh = False
    if data and not (outputs.data.is_file() and outputs.data_folder.is_dir()):
        fresh = False
    if fresh:
        # A run killed before it replaced anything left its temporaries beside a report that
        # is still current: they go now, since no render will come to remove them.
        clean_leftovers(outputs)
    return current, (str(outputs.html) if fresh else None)


def deck_path(html: Path) -> Path:
    """Where a batch writes a client's deck: beside its report, ``<slug>-deck.pptx``."""
    stem = html.name.removesuffix(".html").removesuffix("-report")
    return html.with_name(f"{stem}-deck.pptx")


def _one_line(text: str) -> str:
    """An error on one line of the summary, however many lines it had."""
    return " ".join(text.split())


def _render_one(
    workspace: str, output: str | None, fingerprint: str | None, options: dict[str, Any]
) -> ClientResult:
    """Worker: render one client, turning every failure into a result (never raise)."""
    start = time.perf_counter()
    # nbclient logs a timeout or a dead kernel to stderr as it happens; the summary says it
    # once, with the cell, so the worker keeps that noise off the terminal.
    quiet = logging.getLogger("papermill")
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    try:
        from workbook.report import render_report

        options = dict(options)
        deck = options.pop("deck", False)
        result = render_report(workspace, output, fingerprint=fingerprint, **options)
        if deck:
            from workbook.deck import write_deck

            write_deck(workspace, deck_path(Path(result.html)))
        return ClientResult(workspace, "rendered", str(result.html), time.perf_counter() - start)
    except WorkbookError as exc:
        return ClientResult(
            workspace, "failed", None, time.perf_counter() - start, _one_line(" ".join(exc.lines()))
        )
    except Exception as exc:  # a bug must not take the other clients down with it
        return ClientResult(
            workspace,
            "failed",
            None,
            time.perf_counter() - start,
            _one_line(f"unexpected {type(exc).__name__}: {exc}"),
        )


def run_batch(
    workspaces: Sequence[str | Path],
    *,
    output: str | Path | None = None,
    jobs: int | None = None,
    force: bool = False,
    pdf: bool = False,
    deck: bool = False,
    data: bool = False,
    locale: str = "en_GB",
    timeout: float | None = DEFAULT_TIMEOUT,
    notebook: str | Path | None = None,
    progress: bool = False,
) -> BatchResult:
    """Render every client's report, ``jobs`` at a time.

    Parameters
    ----------
    workspaces
        Workspace folders.
    output
        One folder for all reports (each client in ``<output>/<slug>/``); default: each
        workspace's own ``reports/``.
    jobs
        Worker processes; default the number of CPUs (at most the number of clients).
    force
        Render clients whose inputs have not changed since their last report.
    pdf
        Also print each report to PDF.
    deck
        Also write each client's slide deck beside its report (:mod:`workbook.deck`).
    data
        Also write the numbers behind each report's charts and tables beside it (an XLSX
        workbook and a folder of CSV files, see :func:`workbook.report.render_report`).
    locale
        Locale for dates and numbers.
    timeout
        Seconds each client's report may take (see :func:`workbook.report.render_report`);
        a client past it fails, naming the cell it was running, and the others go on.
    notebook
        A notebook to run instead of the built-in report notebook.
    progress
        Show a progress bar (rich) on the terminal.

    Returns
    -------
    BatchResult
        One :class:`ClientResult` per workspace, in the order given.
    """
    from workbook.report import report_options

    start = time.perf_counter()
    out_dir = Path(output) if output is not None else None
    results: dict[int, ClientResult] = {}
    todo: list[tuple[int, str, str | None, str | None]] = []
    seen_slugs: dict[str, str] = {}
    options = report_options(locale=locale, notebook=notebook)
    render_options: dict[str, Any] = {
        "locale": locale,
        "pdf": pdf,
        "deck": deck,
        "data": data,
        "timeout": timeout,
        "notebook": None if notebook is None else str(notebook),
    }
    for i, ws in enumerate(workspaces):
        path = Path(ws)
        slug = _slug(path)
        if slug is None:
            # Let the renderer produce the precise error (not found, invalid YAML...).
            todo.append((i, str(path), None, None))
            continue
        if out_dir is not None:
            if slug in seen_slugs:
                results[i] = ClientResult(
                    str(path),
                    "failed",
                    error=f"same client slug {slug!r} as {seen_slugs[slug]}; "
                    "give each workspace its own client.slug or render it without -o",
                )
                continue
            seen_slugs[slug] = str(path)
        fingerprint, html = _check(path, out_dir, slug, options, notebook, pdf, deck, data)
        if html is not None and not force:
            results[i] = ClientResult(str(path), "skipped", html)
            continue
        target = _output_for(path, out_dir, slug)
        todo.append((i, str(path), str(target) if target is not None else None, fingerprint))

    if todo:
        workers = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
        _run_pool(todo, workers, results, render_options, progress=progress)
    ordered = [results[i] for i in range(len(workspaces))]
    return BatchResult(ordered, time.perf_counter() - start)


def _run_pool(
    todo: list[tuple[int, str, str | None, str | None]],
    workers: int,
    results: dict[int, ClientResult],
    options: dict[str, Any],
    *,
    progress: bool,
) -> None:
    import multiprocessing

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # "spawn": a fresh interpreter per worker, no inherited threads or sockets from this one.
    ctx = multiprocessing.get_context("spawn")
    columns = (
        TextColumn("[bold]reports"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("", total=len(todo))
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures: dict[Future[ClientResult], tuple[int, str]] = {
                pool.submit(_render_one, ws, out, fp, options): (i, ws) for i, ws, out, fp in todo
            }
            for fut in as_completed(futures):
                i, ws = futures[fut]
                try:
                    res = fut.result()
                except Exception as exc:  # the worker process itself died (killed, out of memory)
                    res = ClientResult(
                        ws,
                        "failed",
                        error=_one_line(
                            f"the worker process rendering it stopped ({type(exc).__name__}: "
                            f"{exc}); out of memory? run again with fewer --jobs"
                        ),
                    )
                results[i] = res
                bar.update(task, advance=1, description=f"{Path(ws).name}: {res.status}")


def print_summary(result: BatchResult, console: Any = None) -> None:
    """A table of every client (status, time, report), then one line per failed client.

    Each failure is printed whole on one line, ``failed: <workspace>: <why>``, never wrapped,
    so it can be read, grepped or mailed as it is.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    table = Table(title="Reports", show_lines=False)
    table.add_column("client")
    table.add_column("status")
    table.add_column("seconds", justify="right")
    table.add_column("report", overflow="fold")
    colour = {"rendered": "green", "skipped": "cyan", "failed": "red"}
    for c in result.clients:
        # Text(), not markup: paths and error messages may contain brackets.
        table.add_row(
            Text(c.workspace),
            Text(c.status, style=colour[c.status]),
            f"{c.seconds:.1f}" if c.status != "skipped" else "",
            Text(c.html or "" if c.status != "failed" else "(why: below)"),
        )
    console.print(table)
    console.print(
        f"{len(result.rendered)} rendered, {len(result.skipped)} unchanged (skipped), "
        f"{len(result.failed)} failed in {result.seconds:.1f} s"
    )
    for c in result.failed:
        line = Text("failed: ", style="red")
        line.append(f"{c.workspace}: {_one_line(c.error or 'no reason given')}", style="default")
        console.print(line, soft_wrap=True)
