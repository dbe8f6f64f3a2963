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
   to a temporary name and moved into place with :func:`os.replace`, so a failed run never
   leaves a half-written report under the final name.

The fingerprint (:func:`inputs_fingerprint`) covers the workspace document, the data
manifest, the logo, the notebook, the template and the package source; :mod:`workbook.batch`
skips a client whose fingerprint has not changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbook.exceptions import ReportError
from workbook.files import atomic_path, write_atomic

__all__ = [
    "NOTEBOOK",
    "TEMPLATE_DIR",
    "TEMPLATE_NAME",
    "ReportOutputs",
    "ReportResult",
    "export_html",
    "inputs_fingerprint",
    "print_pdf",
    "render_report",
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
_FINGERPRINT_VERSION = 1


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
    def pdf(self) -> Path:
        return self.html.with_suffix(".pdf")

    @property
    def fingerprint(self) -> Path:
        return self.html.with_suffix(".fingerprint.json")


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


def inputs_fingerprint(workspace_path: str | Path, params: dict[str, Any] | None = None) -> str:
    """A hash of everything a report depends on; equal hashes mean the same report.

    It covers ``workspace.yaml``, the CRM data manifest (rewritten by every import), the logo,
    the report parameters, the notebook, the template, the package source and the versions
    of the libraries that draw the report. Reading these is cheap (a few hundred small
    files), so checking a client costs milliseconds and imports nothing heavy.
    """
    ws = Path(workspace_path)
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    add("fingerprint-version", str(_FINGERPRINT_VERSION).encode())
    add("params", json.dumps(params or {}, sort_keys=True, default=str).encode())
    for rel in ("workspace.yaml", "data/manifest.json"):
        p = ws / rel
        add(rel, p.read_bytes() if p.is_file() else b"<missing>")
    for p in sorted((ws / "assets").rglob("*")) if (ws / "assets").is_dir() else []:
        if p.is_file():
            add("asset:" + p.relative_to(ws).as_posix(), p.read_bytes())
    for p in _code_files():
        digest = _file_digest(p)
        if digest is not None:
            h.update(("code:" + p.name).encode() + b"\0" + digest)
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
    """The fingerprint stored beside a report, or None when there is none (or no report)."""
    try:
        data = json.loads(outputs.fingerprint.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not outputs.html.is_file():
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
    fetch anything.
    """
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
            with atomic_path(pdf_path, keep_suffix=True) as tmp:
                page.pdf(
                    path=str(tmp), format="A4", print_background=True, prefer_css_page_size=True
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


def _execute(params: dict[str, Any], out_nb: Path, *, kernel_name: str, timeout: int | None) -> Any:
    """Run the report notebook with papermill; return the executed notebook node."""
    _skip_iri_checker()
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    exporter_ready = _preload_exporter()
    try:
        nb = pm.execute_notebook(
            str(NOTEBOOK),
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
            execution_timeout=timeout,
            cwd=str(Path.cwd()),
        )
    except PapermillExecutionError as exc:
        raise ReportError(
            f"the report notebook failed: {exc.ename}: {exc.evalue}",
            hint="the executed notebook beside the report shows the failing cell",
        ) from None
    finally:
        exporter_ready.join()
    return nb


def render_report(
    workspace: str | Path,
    output: str | Path | None = None,
    *,
    sections: Sequence[str] | None = None,
    report_date: str | dt.date | None = None,
    locale: str = "en_GB",
    pdf: bool = False,
    kernel_name: str = "python3",
    timeout: int | None = 600,
    fingerprint: str | None = None,
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
        Seconds any one cell may run before the report is abandoned.
    fingerprint
        The inputs' fingerprint to store, when the caller computed it before deciding to
        render (:mod:`workbook.batch`): if the code changes while the report renders, the
        next run sees a difference and renders again.

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
    ws = _open(workspace)
    ws_path = Path(ws.path)
    data = ws.data
    outputs = report_outputs(ws_path, data.client.slug, output)
    params: dict[str, Any] = {
        "workspace": _kernel_cwd_param(ws_path),
        "sections": list(sections) if sections is not None else None,
        "report_date": str(report_date) if report_date is not None else dt.date.today().isoformat(),
        "locale": locale,
    }
    fp_params = {k: v for k, v in params.items() if k != "workspace"}
    if report_date is None:
        fp_params.pop("report_date")  # a re-run on another day is still the same report
    fingerprint = fingerprint or inputs_fingerprint(ws_path, fp_params)

    try:
        outputs.html.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(
            f"cannot create the report folder {outputs.html.parent}: {exc.strerror}",
            hint="choose another place with -o",
        ) from None
    failed_nb = outputs.html.with_suffix(".failed.ipynb")
    with atomic_path(outputs.notebook, keep_suffix=True) as tmp_nb:
        try:
            nb = _execute(params, tmp_nb, kernel_name=kernel_name, timeout=timeout)
        except ReportError:
            if tmp_nb.is_file() and tmp_nb.stat().st_size:
                os.replace(tmp_nb, failed_nb)
            raise
    with contextlib.suppress(FileNotFoundError):
        failed_nb.unlink()

    from workbook.theme import Theme

    theme = Theme.from_workspace(ws)
    nb.metadata["title"] = f"{data.client.name}: customer journey report"
    footer = f"{data.client.name} · customer journey report · {params['report_date']}"
    html_text = export_html(nb, theme_css=theme.css_variables(), footer=footer)
    write_atomic(outputs.html, html_text)
    pdf_path = print_pdf(outputs.html, outputs.pdf) if pdf else None
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
    )
