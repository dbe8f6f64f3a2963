"""Render many clients' reports at once: a process pool, failures isolated, unchanged skipped.

Each client is rendered by :func:`workbook.report.render_report` in a worker *process*
(papermill in threads fights over ZMQ ports; each worker also keeps nbconvert imported
between its clients). A client that fails is recorded with its error and the others go on;
the run's exit status says whether any failed. Before rendering, the client's input
fingerprint (:func:`workbook.report.inputs_fingerprint`) is compared with the one stored
beside its last report; equal means nothing changed and the client is skipped, cheaply:
the check imports neither papermill nor nbconvert.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbook.exceptions import Problem, ReportError, WorkbookError

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
    workspace: Path, output: Path | None, slug: str, params: dict[str, Any]
) -> tuple[str, str | None]:
    """The inputs' fingerprint, and the report's path when it is current (else None)."""
    from workbook.report import inputs_fingerprint, read_fingerprint, report_outputs

    outputs = report_outputs(workspace, slug, _output_for(workspace, output, slug))
    current = inputs_fingerprint(workspace, params)
    return current, (str(outputs.html) if read_fingerprint(outputs) == current else None)


def _render_one(
    workspace: str, output: str | None, pdf: bool, locale: str, fingerprint: str | None
) -> ClientResult:
    """Worker: render one client, turning every failure into a result (never raise)."""
    start = time.perf_counter()
    try:
        from workbook.report import render_report

        result = render_report(workspace, output, locale=locale, pdf=pdf, fingerprint=fingerprint)
        return ClientResult(workspace, "rendered", str(result.html), time.perf_counter() - start)
    except WorkbookError as exc:
        return ClientResult(
            workspace, "failed", None, time.perf_counter() - start, " ".join(exc.lines())
        )
    except Exception as exc:  # a bug must not take the other clients down with it
        return ClientResult(
            workspace,
            "failed",
            None,
            time.perf_counter() - start,
            f"unexpected {type(exc).__name__}: {exc}",
        )


def run_batch(
    workspaces: Sequence[str | Path],
    *,
    output: str | Path | None = None,
    jobs: int | None = None,
    force: bool = False,
    pdf: bool = False,
    locale: str = "en_GB",
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
    locale
        Locale for dates and numbers.
    progress
        Show a progress bar (rich) on the terminal.

    Returns
    -------
    BatchResult
        One :class:`ClientResult` per workspace, in the order given.
    """
    start = time.perf_counter()
    out_dir = Path(output) if output is not None else None
    results: dict[int, ClientResult] = {}
    todo: list[tuple[int, str, str | None, str | None]] = []
    seen_slugs: dict[str, str] = {}
    params = {"sections": None, "locale": locale}
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
        fingerprint, html = _check(path, out_dir, slug, params)
        if html is not None and not force:
            results[i] = ClientResult(str(path), "skipped", html)
            continue
        target = _output_for(path, out_dir, slug)
        todo.append((i, str(path), str(target) if target is not None else None, fingerprint))

    if todo:
        workers = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
        _run_pool(todo, workers, results, pdf=pdf, locale=locale, progress=progress)
    ordered = [results[i] for i in range(len(workspaces))]
    return BatchResult(ordered, time.perf_counter() - start)


def _run_pool(
    todo: list[tuple[int, str, str | None, str | None]],
    workers: int,
    results: dict[int, ClientResult],
    *,
    pdf: bool,
    locale: str,
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
                pool.submit(_render_one, ws, out, pdf, locale, fp): (i, ws)
                for i, ws, out, fp in todo
            }
            for fut in as_completed(futures):
                i, ws = futures[fut]
                try:
                    res = fut.result()
                except Exception as exc:  # the worker process itself died (killed, out of memory)
                    res = ClientResult(
                        ws, "failed", error=f"worker stopped: {type(exc).__name__}: {exc}"
                    )
                results[i] = res
                bar.update(task, advance=1, description=f"{Path(ws).name}: {res.status}")


def print_summary(result: BatchResult, console: Any = None) -> None:
    """A table of every client: status, time, report path or error."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    table = Table(title="Reports", show_lines=False)
    table.add_column("client")
    table.add_column("status")
    table.add_column("seconds", justify="right")
    table.add_column("report or error", overflow="fold")
    colour = {"rendered": "green", "skipped": "cyan", "failed": "red"}
    for c in result.clients:
        # Text(), not markup: paths and error messages may contain brackets.
        table.add_row(
            Text(c.workspace),
            Text(c.status, style=colour[c.status]),
            f"{c.seconds:.1f}" if c.status != "skipped" else "",
            Text(c.html or "" if c.status != "failed" else (c.error or "")),
        )
    console.print(table)
    console.print(
        f"{len(result.rendered)} rendered, {len(result.skipped)} unchanged (skipped), "
        f"{len(result.failed)} failed in {result.seconds:.1f} s"
    )
