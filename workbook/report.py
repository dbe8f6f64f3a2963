"""Render a client's report: papermill runs the report notebook, nbconvert exports it.

Both run in this process through their Python APIs (the command-line tools cost a new
interpreter and their imports each time). The pipeline:

1. open the workspace here first, so a broken ``workspace.yaml`` is reported with its field
   paths before any kernel starts;
2. start the ``python3`` kernel and, while it boots and imports the section code, import
   nbconvert in a thread (the kernel is another process: on two cores the work overlaps);
3. execute ``notebooks/report.ipynb`` with papermill, parameters injected;
4. export with :class:`nbconvert.HTMLExporter` and our ``workbook-report`` template, with
   inputs, prompts, parameter cells and stderr left out;
5. write the executed notebook (kept for audit), the HTML, optionally a PDF (headless
   Chromium through Playwright), and last a fingerprint of the inputs. Every file is written
   whole to a temporary name first; then the last run's files go and the new ones are moved
   into place in an order that never leaves a notebook or PDF beside an HTML of another run,
   whatever moment the run is killed at (:func:`_render_files`). One run at a time writes a
   report (a lock beside it), and each run first removes what a killed one left there.

A time limit covers the notebook's whole run: past it, or when the kernel dies, the report is
abandoned with the cell it was running named, and the notebook as far as it ran is kept as
``<name>.failed.ipynb``.

The fingerprint (:func:`inputs_fingerprint`) covers every file a render reads (the workspace
document, the data, the logo wherever it is, the notebook, the template, the package) and
every option that changes what it writes (:func:`report_options`); :mod:`workbook.batch`
skips a client whose fingerprint has not changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import glob
import hashlib
import json
import os
import re
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from workbook.exceptions import ReportError
from workbook.files import atomic_path, fsync_dir, write_atomic

__all__ = [
    "DEFAULT_TIMEOUT",
    "NOTEBOOK",
    "TEMPLATE_DIR",
    "TEMPLATE_NAME",
    "ReportOutputs",
    "ReportResult",
    "export_html",
    "inputs_fingerprint",
    "print_pdf",
    "clean_leftovers",
    "embedded_data",
    "read_fingerprint",
    "render_report",
    "report_options",
    "report_outputs",
]

_PACKAGE = Path(__file__).resolve().parent
_ROOT = _PACKAGE.parent
#: The report notebook (thin: parameters, then one cell per section).
NOTEBOOK = _ROOT / "notebooks" / "report.ipynb"
#: The name the template is installed under (``jupyter nbconvert --template workbook-report``).
TEMPLATE_NAME = "workbook-report"
#: The template in a source checkout; used before the installed copy, which may be older.
TEMPLATE_DIR = _ROOT / "templates" / "report"

#: Cells never shown in a report: papermill's injected parameters, the defaults, notes.
_REMOVE_TAGS = ("injected-parameters", "parameters", "remove")
_FINGERPRINT_VERSION = 2
#: Seconds one client's report may take by default (the demo client takes about 6).
DEFAULT_TIMEOUT = 300.0


# ------------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class ReportOutputs:
    """Where one client's report files go: all beside each other."""

    html: Path

    @property
    def notebook(self) -> Path:
        """The executed notebook, kept for audit."""
        return self.html.with_suffix(".ipynb")

    @property
    def failed_notebook(self) -> Path:
        """The notebook of a run that failed, as far as it ran."""
        return self.html.with_suffix(".failed.ipynb")

    @property
    def pdf(self) -> Path:
        return self.html.with_suffix(".pdf")

    @property
    def fingerprint(self) -> Path:
        return self.html.with_suffix(".fingerprint.json")

    @property
    def data(self) -> Path:
        """The numbers behind every chart and table: ``<name>-data.xlsx``."""
        return self.html.with_name(f"{self.html.stem}-data.xlsx")

    @property
    def data_folder(self) -> Path:
        """The same numbers as CSV files, one per sheet: the folder ``<name>-data/``."""
        return self.html.with_name(f"{self.html.stem}-data")

    @property
    def lock(self) -> Path:
        """Held by the run writing this report (a hidden file; ``*.lock`` is ignored by git)."""
        return self.html.with_name(f".{self.html.name}.lock")

    def leftovers(self) -> list[Path]:
        """Temporary files a killed run left beside the report (see :func:`atomic_path`)."""
        folder = self.html.parent
        found: list[Path] = []
        for final in (
            self.html,
            self.notebook,
            self.pdf,
            self.fingerprint,
            self.failed_notebook,
            self.data,
        ):
            pattern = f".{glob.escape(final.name[:200])}.*.tmp*"
            found += [p for p in folder.glob(pattern) if p.is_file()]
        if self.data_folder.is_dir():  # the CSV files' temporaries
            found += [p for p in self.data_folder.glob(".*.csv.*.tmp") if p.is_file()]
        return sorted(found)


@dataclass
class ReportResult:
    """What :func:`render_report` wrote."""

    html: Path
    notebook: Path
    pdf: Path | None
    fingerprint: str
    seconds: float
    skipped: bool = False
    warnings: list[str] = field(default_factory=list)
    #: The spreadsheet and the CSV files written with ``data=True``, the spreadsheet first.
    data: list[Path] = field(default_factory=list)


def report_outputs(
    workspace_path: str | Path, slug: str, output: str | Path | None = None
) -> ReportOutputs:
    """The report's paths: ``OUT.html`` as given, a folder ``OUT/``, or the workspace's reports/.

    Parameters
    ----------
    workspace_path
        The workspace folder.
    slug
        The client's slug, which names the file (``<slug>-report.html``).
    output
        ``None`` for ``<workspace>/reports/``; a path ending in ``.html`` for that file;
        anything else is a folder.
    """
    name = f"{slug}-report.html"
    if output is None:
        return ReportOutputs(Path(workspace_path) / "reports" / name)
    out = Path(output)
    if out.suffix.lower() in (".html", ".htm"):
        return ReportOutputs(out)
    return ReportOutputs(out / name)


# --------------------------------------------------------------------------- fingerprint


#: What in the package can change a report: its code and its own templates (map, sections).
_CODE_SUFFIXES = frozenset({".py", ".j2", ".css", ".json"})


def _code_files() -> list[Path]:
    files = sorted(
        p
        for p in _PACKAGE.rglob("*")
        if p.suffix in _CODE_SUFFIXES and "__pycache__" not in p.parts
    )
    files.append(NOTEBOOK)
    files += sorted(p for p in _template_dir().rglob("*") if p.is_file())
    return files


def _template_dir() -> Path:
    if (TEMPLATE_DIR / "conf.json").is_file():
        return TEMPLATE_DIR
    import sys

    return Path(sys.prefix) / "share" / "jupyter" / "nbconvert" / "templates" / TEMPLATE_NAME


_DIGESTS: dict[Path, tuple[int, int, bytes]] = {}


def _file_digest(path: Path) -> bytes | None:
    """sha256 of a file, remembered while its size and modification time stay the same.

    A batch checks the same package source for every client; this reads it once.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    known = _DIGESTS.get(path)
    if known is not None and known[:2] == (st.st_mtime_ns, st.st_size):
        return known[2]
    digest = hashlib.sha256(path.read_bytes()).digest()
    _DIGESTS[path] = (st.st_mtime_ns, st.st_size, digest)
    return digest


def report_options(
    *,
    sections: Sequence[str] | None = None,
    report_date: str | dt.date | None = None,
    locale: str = "en_GB",
    kernel_name: str = "python3",
    notebook: str | Path | None = None,
) -> dict[str, Any]:
    """The options of a render that change what it writes, as its fingerprint records them.

    :func:`render_report` and :mod:`workbook.batch` both build them here, so a report
    rendered by one is recognised by the other. The date is recorded only when given: a
    re-run on another day with today's date on the cover is still the same report. The time
    limit is left out: it decides whether a report is written, not what it says. So is the
    PDF: it is the same report printed, so whether a report is current for a run that asks
    for a PDF is whether its PDF is there (a render without one removes the last run's PDF,
    so a PDF beside a report is always that report's).
    """
    options: dict[str, Any] = {
        "sections": list(sections) if sections is not None else None,
        "locale": locale,
        "kernel": kernel_name,
        "notebook": None if notebook is None else Path(notebook).name,
    }
    if report_date is not None:
        options["report_date"] = str(report_date)
    return options


def _logo_file(workspace: Path, document: bytes) -> Path | None:
    """Where ``client.branding.logo`` points, read from the raw document (no validation).

    The logo may live anywhere in the workspace (or be a link to elsewhere), not only in
    ``assets/``; whatever the theme would read is what the fingerprint hashes.
    """
    import yaml

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = yaml.load(document, Loader=loader)  # noqa: S506 (a safe loader)
        logo = raw["client"]["branding"]["logo"]
    except (yaml.YAMLError, KeyError, TypeError):
        return None
    return workspace / logo if isinstance(logo, str) and logo.strip() else None


def _data_files(folder: Path) -> list[Path]:
    """Every file under the workspace's ``data/``, leaving out temporaries and locks."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            Path(root) / f for f in files if not f.startswith(".") and not f.endswith(".lock")
        ]
    return sorted(found)


def inputs_fingerprint(
    workspace_path: str | Path,
    params: dict[str, Any] | None = None,
    *,
    notebook: str | Path | None = None,
) -> str:
    """A hash of everything a report depends on; equal hashes mean the same report.

    It covers every file a render reads and every option that changes what it writes:

    - ``workspace.yaml``, byte for byte;
    - the CRM data: each manifest byte for byte, and every other file under ``data/`` (the
      Parquet tables) by path, size and modification time, which is cheap however large the
      tables are, and changes whenever one is rewritten;
    - the logo wherever ``client.branding.logo`` points (links followed), and ``assets/``;
    - the options (``params``, see :func:`report_options`: sections, locale, date...);
    - the report notebook (``notebook``, default :data:`NOTEBOOK`), the template, the package
      source and version, and the versions of the libraries that draw the report.

    Checking a client costs milliseconds and imports nothing heavy.
    """
    from workbook import __version__

    ws = Path(workspace_path)
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    def add_file(label: str, path: Path) -> None:
        from workbook.theme import LOGO_MAX_BYTES

        try:
            st = path.stat()  # links followed
            # a device, a pipe or a huge file (a logo pointing at /dev/zero) is never read:
            # the render refuses it anyway
            if not stat.S_ISREG(st.st_mode) or st.st_size > max(LOGO_MAX_BYTES, 64 << 20):
                add(label, f"<not a file: {st.st_mode}:{st.st_size}>".encode())
                return
            add(label, path.read_bytes())
        except OSError:  # missing, a folder, unreadable: the render will say so
            add(label, b"<missing>")

    add("fingerprint-version", str(_FINGERPRINT_VERSION).encode())
    add("params", json.dumps(params or {}, sort_keys=True, default=str).encode())
    try:
        document = (ws / "workspace.yaml").read_bytes()
    except OSError:
        document = b"<missing>"
    add("workspace.yaml", document)
    logo = _logo_file(ws, document)
    if logo is not None:
        add_file("logo", logo)
    for p in _data_files(ws / "data"):
        rel = p.relative_to(ws).as_posix()
        if p.name == "manifest.json":
            add_file(rel, p)
        else:
            try:
                st = p.stat()
            except OSError:
                continue
            add(rel, f"{st.st_size}:{st.st_mtime_ns}".encode())
    for p in sorted((ws / "assets").rglob("*")) if (ws / "assets").is_dir() else []:
        if p.is_file():
            add_file("asset:" + p.relative_to(ws).as_posix(), p)
    if notebook is not None:
        add_file("notebook", Path(notebook))
    for p in _code_files():
        digest = _file_digest(p)
        if digest is not None:
            h.update(("code:" + p.name).encode() + b"\0" + digest)
    add("version", __version__.encode())
    add("dists", _dist_versions().encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def _dist_versions() -> str:
    """Versions of the libraries that draw a report (looked up once: each lookup scans
    site-packages, which adds up over a batch of clients)."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("nbconvert", "papermill", "vl-convert-python", "jinja2", "babel"):
        try:
            out.append(f"{dist}={version(dist)}")
        except PackageNotFoundError:
            out.append(f"{dist}=<missing>")
    return ";".join(out)


def read_fingerprint(outputs: ReportOutputs) -> str | None:
    """The fingerprint stored beside a report, or None when there is none.

    None too when the HTML or the executed notebook is missing: the report is then not
    complete and must be rendered again.
    """
    try:
        data = json.loads(outputs.fingerprint.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (outputs.html.is_file() and outputs.notebook.is_file()):
        return None
    value = data.get("fingerprint") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


# ------------------------------------------------------------------------------- export

_EXPORTER_LOCK = threading.RLock()
_EXPORTER: Any = None


def _exporter() -> Any:
    """One configured HTMLExporter per process (its import and set-up cost seconds)."""
    global _EXPORTER
    with _EXPORTER_LOCK:
        if _EXPORTER is None:
            from nbconvert import HTMLExporter
            from nbconvert.preprocessors import Preprocessor
            from traitlets.config import Config

            class _DropStderr(Preprocessor):
                """Leave stderr (warnings, logs) out of the report; the notebook keeps it."""

                def preprocess_cell(self, cell: Any, resources: Any, index: int) -> Any:
                    if cell.get("cell_type") == "code":
                        cell.outputs = [
                            o
                            for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                        ]
                    return cell, resources

            tdir = _template_dir()
            c = Config()
            c.TagRemovePreprocessor.enabled = True
            c.TagRemovePreprocessor.remove_cell_tags = set(_REMOVE_TAGS)
            c.TemplateExporter.exclude_input = True
            c.TemplateExporter.exclude_input_prompt = True
            c.TemplateExporter.exclude_output_prompt = True
            c.TemplateExporter.exclude_markdown = True
            c.TemplateExporter.exclude_raw = True
            c.HTMLExporter.template_name = tdir.name
            c.HTMLExporter.extra_template_basedirs = [str(tdir.parent)]
            exporter = HTMLExporter(config=c)  # type: ignore[no-untyped-call]
            exporter.register_preprocessor(_DropStderr(), enabled=True)  # type: ignore[no-untyped-call]
            _EXPORTER = exporter
        return _EXPORTER


def _preload_exporter() -> threading.Thread:
    t = threading.Thread(target=_exporter, name="workbook-nbconvert-import", daemon=True)
    t.start()
    return t


def export_html(nb: Any, *, theme_css: str = "", footer: str = "") -> str:
    """The client-ready HTML of an executed report notebook (no code, prompts or stderr)."""
    from workbook import __version__

    if (
        "</" in theme_css
    ):  # generated from validated branding; refuse anything that could close <style>
        raise ReportError(
            "the theme produced unsafe CSS", hint="check the branding font and colours"
        )
    resources = {"workbook": {"theme_css": theme_css, "footer": footer, "version": __version__}}
    with _EXPORTER_LOCK:
        body, _ = _exporter().from_notebook_node(nb, resources=resources)
    return str(body)


# ---------------------------------------------------------------------------------- PDF


def print_pdf(html_path: str | Path, pdf_path: str | Path) -> Path:
    """Print a report to A4 PDF with headless Chromium (Debian's ``chromium``), offline.

    Every request that is not a local file or inline data is refused, so printing can never
    fetch anything. The PDF is written whole or not at all.
    """
    with atomic_path(Path(pdf_path), keep_suffix=True) as tmp:
        _print_pdf(html_path, tmp)
    return Path(pdf_path)


def _print_pdf(html_path: str | Path, pdf_path: str | Path) -> Path:
    """:func:`print_pdf` straight to ``pdf_path`` (the caller writes it to a temporary)."""
    import shutil

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise ReportError(
            "cannot print a PDF: Chromium is not installed",
            hint="install it (apt-get install chromium) or leave out --pdf",
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ReportError(
            "cannot print a PDF: Playwright is not installed",
            hint="pip install 'journey-workbook[test]'",
        ) from None

    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ]

    def _route(route: Any) -> None:
        if route.request.url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=flags)
        try:
            page = browser.new_page()
            page.route("**/*", _route)
            page.goto(html_path.as_uri(), wait_until="load")
            page.emulate_media(media="print")
            page.pdf(
                path=str(pdf_path), format="A4", print_background=True, prefer_css_page_size=True
            )
        finally:
            browser.close()
    return pdf_path


# ------------------------------------------------------------------------------ pipeline


def _open(path: str | Path) -> Any:
    from workbook.sections import open_for_report

    return open_for_report(path)


def _kernel_cwd_param(path: Path) -> str:
    """The workspace as the kernel will see it: relative to the working folder when inside it.

    The executed notebook is kept for audit; a relative path keeps machine paths out of it.
    """
    try:
        return Path(os.path.relpath(path.resolve(), Path.cwd())).as_posix()
    except ValueError:  # another drive on Windows
        return str(path.resolve())


def _skip_iri_checker() -> None:
    """Keep jsonschema from importing its IRI format checker in this process (1.5 s).

    jsonschema imports ``rfc3987_syntax`` when it is installed, only to check the ``iri``
    formats, which no notebook schema uses; importing it is a fifth of a report's time
    (FIELD-NOTES). Done only before jsonschema is first imported, so a validator already in
    use is never changed; the kernel is another process and is not affected.
    """
    import sys

    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


class _Run:
    """What the kernel is doing: the notebook, the cell running and the time left.

    nbclient calls :meth:`notebook_start` and :meth:`cell_execute` (its hooks) and asks
    :meth:`time_left` before every cell, so the time limit covers the whole notebook rather
    than each cell, and a failure can name the cell it happened in.
    """

    def __init__(self, deadline: float | None, limit: float | None) -> None:
        self.deadline = deadline
        self.limit = limit
        self.nb: Any = None
        self.cell: Any = None
        self.index: int | None = None

    def notebook_start(self, notebook: Any = None, **_: Any) -> None:
        self.nb = notebook

    def cell_execute(self, cell: Any = None, cell_index: int | None = None, **_: Any) -> None:
        self.cell, self.index = cell, cell_index

    def time_left(self, cell: Any = None) -> float | None:
        if self.deadline is None:
            return None
        # Never 0 or less, which nbclient reads as "no limit": a cell that starts after the
        # deadline gets a hundredth of a second, so it stops there.
        return max(0.01, self.deadline - time.monotonic())

    def where(self) -> str:
        """The running cell, for a person: its number and section, or its first line."""
        if self.cell is None or self.index is None:
            return "before the first cell"
        return f"cell {self.index + 1} ({_describe(str(self.cell.get('source', '')))})"

    def keep(self, out_nb: Path, ename: str, evalue: str) -> None:
        """Write the notebook as far as it ran, the stop marked on its cell, to ``out_nb``."""
        if self.nb is None:
            return
        import nbformat

        if self.cell is not None:
            error = nbformat.v4.new_output(  # type: ignore[no-untyped-call]
                "error", ename=ename, evalue=evalue, traceback=[evalue]
            )
            self.cell.setdefault("outputs", []).append(error)
        nbformat.write(self.nb, str(out_nb))  # type: ignore[no-untyped-call]


_SECTION_CALL = re.compile(r"render_section\(\s*[\"']([^\"']+)[\"']")


def _describe(source: str) -> str:
    """A cell in a few words: the report section it draws, else its first line."""
    section = _SECTION_CALL.search(source)
    if section:
        return f"section {section.group(1)!r}"
    first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    return first if len(first) <= 60 else first[:57] + "..."


#: How often a report's kernel is started when it dies before its first answer.
_KERNEL_STARTS = 3
#: jupyter_client's words for a kernel that died before it answered (a port taken, say).
_KERNEL_DIED_AT_START = "Kernel died before replying to kernel_info"


def _execute(
    params: dict[str, Any],
    out_nb: Path,
    *,
    notebook: Path,
    kernel_name: str,
    run: _Run,
    kept: Path,
) -> Any:
    """Run the report notebook with papermill; return the executed notebook node.

    On any failure the notebook as far as it ran is in ``out_nb`` (the caller keeps it as
    ``kept``) and a :class:`ReportError` says what happened, in which cell.
    """
    _skip_iri_checker()
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    left = run.time_left()
    exporter_ready = _preload_exporter()

    def execute() -> Any:
        return pm.execute_notebook(
            str(notebook),
            str(out_nb),
            # ipykernel warns on stderr at every start that local TCP is unencrypted; the
            # kernel never leaves this machine, so keep its console quiet (its own shutdown noise
            # included).
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            parameters=params,
            kernel_name=kernel_name,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            start_timeout=60 if left is None else max(1, min(60, int(left))),
            cwd=str(Path.cwd()),
            # nbclient's own options: the time limit and where it stands
            timeout_func=run.time_left,
            on_notebook_start=run.notebook_start,
            on_cell_execute=run.cell_execute,
        )

    try:
        for attempt in range(1, _KERNEL_STARTS + 1):
            try:
                nb = execute()
                break
            except RuntimeError as exc:
                # jupyter_client picks a kernel's ports in this process and the kernel binds
                # them a moment later: with several reports starting at once (batch --jobs),
                # two kernels can pick the same port, and the second dies before it answers.
                # No cell ran; start it again.
                if str(exc) != _KERNEL_DIED_AT_START or attempt == _KERNEL_STARTS:
                    raise
    except PapermillExecutionError as exc:
        raise ReportError(
            f"the report notebook failed in {_describe(str(exc.source))}: "
            f"{exc.ename}: {exc.evalue}",
            hint=f"open {kept} to see the failing cell",
        ) from None
    except CellTimeoutError:
        where = run.where()
        message = f"ran past its time limit of {run.limit:g} s in {where}"
        run.keep(out_nb, "TimeLimit", f"stopped here: the report {message}")
        raise ReportError(
            f"the report {message}",
            hint=f"the notebook as far as it ran is kept at {kept}; allow more time with "
            "--timeout SECONDS if the client is only large, else see what that cell waits for",
        ) from None
    except DeadKernelError:
        where = run.where()
        run.keep(out_nb, "DeadKernel", "the kernel died while running this cell")
        raise ReportError(
            f"the report kernel died in {where} (out of memory?)",
            hint=f"the notebook as far as it ran is kept at {kept}; free some memory or "
            "render fewer clients at once (--jobs 1), then run again",
        ) from None
    except RuntimeError as exc:
        if not str(exc).startswith("Kernel"):  # jupyter_client: the kernel did not start
            raise
        raise ReportError(
            f"the report kernel did not start: {exc}",
            hint=f"check that the {kernel_name!r} kernel works (`jupyter kernelspec list`)",
        ) from None
    finally:
        exporter_ready.join()
    return nb


@contextlib.contextmanager
def _holding(outputs: ReportOutputs) -> Iterator[None]:
    """Hold the report's lock while writing it: one run at a time writes one report.

    Two runs of the same report would otherwise interleave their files, and the cleanup of
    one would delete the other's temporaries. The lock is the operating system's (flock),
    so a killed run never leaves it held.
    """
    from filelock import FileLock, Timeout

    lock = FileLock(str(outputs.lock), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ReportError(
            f"{outputs.html} is being rendered by another run right now",
            hint="wait for that run to finish (or stop it), then run again",
        ) from None
    try:
        yield
    finally:
        lock.release()


def _remove(paths: Sequence[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def clean_leftovers(outputs: ReportOutputs) -> list[Path]:
    """Remove the temporary files a killed run left beside a report; return them.

    Nothing is removed while another run is writing that report (its temporaries are live).
    :func:`render_report` does this itself; :mod:`workbook.batch` calls it for a client it
    skips, so a dead run's files go even when nothing needs rendering.
    """
    found = outputs.leftovers()  # looked at first: an unchanged client makes no lock file
    if not found:
        return []
    try:
        with _holding(outputs):
            found = outputs.leftovers()
            _remove(found)
    except (ReportError, OSError):  # being written, or a folder we may not write to
        return []
    return found


def _render_files(
    ws: Any,
    outputs: ReportOutputs,
    params: dict[str, Any],
    *,
    pdf: bool,
    notebook: str | Path | None,
    kernel_name: str,
    run: _Run,
) -> tuple[Any, Path | None]:
    """Run the notebook, export it, and put the notebook, HTML and PDF in place together.

    Every file is first written whole to a temporary name beside its final one. Then the
    files of the last run that this run replaces go first (its fingerprint, its notebook,
    its PDF), and the new files are moved into place: the HTML, then the PDF, then the
    notebook; :func:`render_report` writes the fingerprint last. A run killed at any moment
    therefore leaves the old report, or the new HTML alone, or the new HTML and PDF, or the
    whole new report: never a notebook or a PDF beside an HTML of another run, and never a
    fingerprint beside files it does not describe (so the batch renders such a report again).
    """
    from workbook.theme import Theme

    data = ws.data
    failed_nb = outputs.failed_notebook
    with contextlib.ExitStack() as moves:
        # Moved into place when the block ends, the last entered first.
        tmp_nb = moves.enter_context(atomic_path(outputs.notebook, keep_suffix=True))
        try:
            nb = _execute(
                params,
                tmp_nb,
                notebook=Path(notebook) if notebook is not None else NOTEBOOK,
                kernel_name=kernel_name,
                run=run,
                kept=failed_nb,
            )
        except ReportError:
            if tmp_nb.is_file() and tmp_nb.stat().st_size:
                os.replace(tmp_nb, failed_nb)
            raise
        theme = Theme.from_workspace(ws)
        nb.metadata["title"] = f"{data.client.name}: customer journey report"
        footer = f"{data.client.name} · customer journey report · {params['report_date']}"
        html_text = export_html(nb, theme_css=theme.css_variables(), footer=footer)
        tmp_pdf = moves.enter_context(atomic_path(outputs.pdf, keep_suffix=True)) if pdf else None
        # Chromium takes a file's type from its name: the temporary HTML ends in .html.
        tmp_html = moves.enter_context(atomic_path(outputs.html, keep_suffix=True))
        tmp_html.write_text(html_text, encoding="utf-8")
        if tmp_pdf is not None:
            _print_pdf(tmp_html, tmp_pdf)
        _remove([outputs.fingerprint, outputs.notebook, outputs.pdf, failed_nb])
        fsync_dir(outputs.html.parent)
    return theme, (outputs.pdf if pdf else None)


class _DataLink(HTMLParser):
    """Finds the appendix's download link (``<a id="wb-report-data" href="data:...">``)."""

    def __init__(self) -> None:
        super().__init__()
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("id") == "wb-report-data":
            self.href = found.get("href")


def embedded_data(html_text: str) -> bytes | None:
    """The XLSX workbook the report's appendix carries as a ``data:`` link, or None."""
    import base64
    import binascii

    parser = _DataLink()
    parser.feed(html_text)
    href = parser.href
    if not href or not href.startswith("data:") or ";base64," not in href:
        return None
    try:
        return base64.b64decode(href.split(";base64,", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        return None


def _data_bytes(outputs: ReportOutputs, params: dict[str, Any]) -> bytes:
    """The spreadsheet of the report just written: the one its appendix carries, or, when
    the appendix was left out, the sections' tables collected here without the kernel."""
    data = embedded_data(outputs.html.read_text(encoding="utf-8"))
    if data is not None:
        return data
    from workbook.exports import xlsx_bytes
    from workbook.sections import render_section, report_context

    ctx = report_context(
        params["workspace"],
        sections=params["sections"],
        report_date=params["report_date"],
        locale=params["locale"],
    )
    for section in ctx.sections:
        render_section(section, ctx)
    return xlsx_bytes(ctx.tables)


def _remove_data(outputs: ReportOutputs) -> None:
    """Remove the last run's spreadsheet and CSV files (the folder too, when left empty)."""
    _remove([outputs.data])
    folder = outputs.data_folder
    if folder.is_dir():
        _remove(sorted(folder.glob("*.csv")))
        with contextlib.suppress(OSError):
            folder.rmdir()


def render_report(
    workspace: str | Path,
    output: str | Path | None = None,
    *,
    sections: Sequence[str] | None = None,
    report_date: str | dt.date | None = None,
    locale: str = "en_GB",
    pdf: bool = False,
    kernel_name: str = "python3",
    timeout: float | None = DEFAULT_TIMEOUT,
    fingerprint: str | None = None,
    notebook: str | Path | None = None,
    data: bool = False,
) -> ReportResult:
    """Render one client's report.

    Parameters
    ----------
    workspace
        The client's workspace folder.
    output
        A ``.html`` file or a folder; default ``<workspace>/reports/``.
    sections
        Section ids to include (see :func:`workbook.sections.names`); all when ``None``.
    report_date
        The date on the cover (``YYYY-MM-DD``); today when not given.
    locale
        Locale for dates and numbers (``en_GB``, ``de_DE``...).
    pdf
        Also print an A4 PDF beside the HTML (needs Chromium).
    kernel_name
        The Jupyter kernel; ``python3`` is this environment's own Python.
    timeout
        Seconds the client's report may take, from opening the workspace to the last cell
        of the notebook; past it the report is abandoned, the notebook as far as it ran kept
        and the running cell named. ``None`` for no limit.
    fingerprint
        The inputs' fingerprint to store, when the caller computed it before deciding to
        render (:mod:`workbook.batch`): if the code changes while the report renders, the
        next run sees a difference and renders again.
    notebook
        The notebook to run instead of :data:`NOTEBOOK` (it takes the same parameters).
    data
        Also write the numbers behind every chart and table beside the report: an XLSX
        workbook (:attr:`ReportOutputs.data`, the one the appendix links to) and its sheets
        as CSV files (:attr:`ReportOutputs.data_folder`). Without it, the last run's are
        removed, so numbers beside a report are always that report's.

    Returns
    -------
    ReportResult
        The paths written, the fingerprint and the time taken.

    Raises
    ------
    WorkspaceNotFoundError, WorkspaceValidationError
        The workspace cannot be opened; nothing is written.
    ReportError
        The notebook failed or a file could not be written; no report is left under the
        final name (a failed run keeps ``<name>.failed.ipynb`` for diagnosis).
    """
    start = time.perf_counter()
    run = _Run(None if timeout is None else time.monotonic() + timeout, timeout)
    ws = _open(workspace)
    if sections is None:  # the workspace's own choice: refused here, before any kernel starts
        from workbook.sections import workspace_sections

        workspace_sections(ws.data)
    ws_path = Path(ws.path)
    outputs = report_outputs(ws_path, ws.data.client.slug, output)
    params: dict[str, Any] = {
        "workspace": _kernel_cwd_param(ws_path),
        "sections": list(sections) if sections is not None else None,
        "report_date": str(report_date) if report_date is not None else dt.date.today().isoformat(),
        "locale": locale,
    }
    options = report_options(
        sections=sections,
        report_date=report_date,
        locale=locale,
        kernel_name=kernel_name,
        notebook=notebook,
    )
    fingerprint = fingerprint or inputs_fingerprint(ws_path, options, notebook=notebook)

    try:
        outputs.html.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(
            f"cannot create the report folder {outputs.html.parent}: {exc.strerror}",
            hint="choose another place with -o",
        ) from None
    with _holding(outputs):
        _remove(outputs.leftovers())
        theme, pdf_path = _render_files(
            ws, outputs, params, pdf=pdf, notebook=notebook, kernel_name=kernel_name, run=run
        )
        written: list[Path] = []
        if data:
            from workbook.exports import write_data

            try:
                written = write_data(
                    _data_bytes(outputs, params), outputs.data, outputs.data_folder
                )
            except OSError as exc:
                raise ReportError(
                    f"cannot write the report's numbers to {outputs.data}: {exc.strerror}",
                    hint="check that the folder can be written to, or choose another with -o",
                ) from None
        else:
            _remove_data(outputs)
        write_atomic(
            outputs.fingerprint,
            json.dumps(
                {
                    "fingerprint": fingerprint,
                    "report": outputs.html.name,
                    "rendered_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                },
                indent=2,
            ),
        )
    warns = [str(p) for p in theme.problems]
    return ReportResult(
        html=outputs.html,
        notebook=outputs.notebook,
        pdf=pdf_path,
        fingerprint=fingerprint,
        seconds=time.perf_counter() - start,
        warnings=warns,
        data=written,
    )
