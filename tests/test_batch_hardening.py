"""Batch and report hardening: nothing skipped that would change, hung and dead kernels named,
and the report files of one run always together, whatever moment a run is killed at.

The kernel tests run a tiny notebook of their own (``notebook=``): a kernel starts in about a
second, so a client that sleeps past a 4 s limit, one whose kernel dies and one that renders
cost a few seconds together.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from click.testing import CliRunner
from conftest import require_chromium

from workbook import batch, report
from workbook.cli import main


def _client(demo: Path, dest: Path, slug: str) -> Path:
    shutil.copytree(demo, dest)
    data = yaml.safe_load((dest / "workspace.yaml").read_text(encoding="utf-8"))
    data["client"]["slug"] = slug
    (dest / "workspace.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return dest


def _notebook(path: Path, *cells: str) -> Path:
    """A report notebook with the real one's parameters, then ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    params = nbformat.v4.new_code_cell(
        'workspace = ""\nsections = None\nreport_date = None\nlocale = "en_GB"'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def fixed_code(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fingerprint covers the package source; in a shared checkout others edit it while a
    # test runs, so here it covers the notebook and template only.
    code = [report.NOTEBOOK, *sorted(p for p in report.TEMPLATE_DIR.rglob("*") if p.is_file())]
    monkeypatch.setattr(report, "_code_files", lambda: code)


# ------------------------------------------------------------------- 7: what is fingerprinted


def test_fingerprint_covers_every_file_the_render_reads(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = demo_copy
    options = report.report_options()

    def fp() -> str:
        return report.inputs_fingerprint(ws, options)

    # A logo kept outside assets/: changing it changes the report.
    (ws / "brand").mkdir()
    shutil.copy(ws / "assets" / "logo.svg", ws / "brand" / "logo.svg")
    text = (ws / "workspace.yaml").read_text(encoding="utf-8")
    assert "logo: assets/logo.svg" in text
    (ws / "workspace.yaml").write_text(
        text.replace("logo: assets/logo.svg", "logo: brand/logo.svg"), encoding="utf-8"
    )
    before = fp()
    logo = ws / "brand" / "logo.svg"
    logo.write_text(logo.read_text(encoding="utf-8").replace("</svg>", "<!-- v2 --></svg>"))
    assert fp() != before, "a changed logo outside assets/ must render again"

    # A logo that is a link to a file elsewhere: a change of that file counts too.
    elsewhere = tmp_path / "shared-logo.svg"
    shutil.copy(logo, elsewhere)
    logo.unlink()
    logo.symlink_to(elsewhere)
    before = fp()
    elsewhere.write_text(elsewhere.read_text(encoding="utf-8").replace("v2", "v3"))
    assert fp() != before

    # A derived table rewritten while the manifest stays the same.
    table = ws / "data" / "derived" / "stage_entries.parquet"
    before = fp()
    data = table.read_bytes()
    table.write_bytes(data + b"\0")
    assert fp() != before, "a rewritten Parquet table must render again"

    # A new version of the package, and another report notebook.
    before = fp()
    monkeypatch.setattr("workbook.__version__", "99.0.0")
    assert fp() != before
    nb_a = _notebook(tmp_path / "a.ipynb", "print(1)")
    with_nb = report.inputs_fingerprint(ws, options, notebook=nb_a)
    _notebook(nb_a, "print(2)")
    assert report.inputs_fingerprint(ws, options, notebook=nb_a) != with_nb

    # Every option that changes an output.
    base = report.inputs_fingerprint(ws, report.report_options())
    for changed in (
        {"sections": ["summary"]},
        {"locale": "de_DE"},
        {"report_date": "2026-03-01"},
        {"kernel_name": "other"},
    ):
        assert report.inputs_fingerprint(ws, report.report_options(**changed)) != base, changed
    # ...and a temporary file or a lock beside the data does not.
    (ws / "data" / ".manifest.json.x1.tmp").write_bytes(b"")
    (ws / "data" / "import.lock").write_bytes(b"")
    assert report.inputs_fingerprint(ws, report.report_options()) == base


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.browser
def test_pdf_on_a_rerun_renders_the_pdf(demo_copy: Path, tmp_path: Path, fixed_code: None) -> None:
    require_chromium()
    nb = _notebook(tmp_path / "tiny.ipynb", "from IPython.display import HTML\nHTML('<p>hi</p>')")
    # `workbook report` first, in this process: the batch sees the same fingerprint.
    report.render_report(demo_copy, notebook=nb)
    pdf = demo_copy / "reports" / "tideway-rowing-report.pdf"
    assert not pdf.exists()
    again = batch.run_batch([demo_copy], jobs=1, notebook=nb)
    assert [c.status for c in again.clients] == ["skipped"]

    with_pdf = batch.run_batch([demo_copy], jobs=1, notebook=nb, pdf=True)
    assert [c.status for c in with_pdf.clients] == ["rendered"], with_pdf.clients
    assert pdf.read_bytes().startswith(b"%PDF")
    assert [c.status for c in batch.run_batch([demo_copy], notebook=nb, pdf=True).clients] == [
        "skipped"
    ]
    # Without --pdf the report is current too (the PDF is the same report), and stays.
    assert [c.status for c in batch.run_batch([demo_copy], notebook=nb).clients] == ["skipped"]
    assert pdf.is_file()
    # A deleted PDF is not taken as current by a run that asks for one.
    pdf.unlink()
    options = report.report_options(notebook=nb)
    assert batch._check(demo_copy, None, "tideway-rowing", options, nb, True)[1] is None
    assert batch._check(demo_copy, None, "tideway-rowing", options, nb, False)[1] is not None


# ------------------------------------------------------- 7: hung and dead kernels, the summary


@pytest.mark.kernel
@pytest.mark.slow
def test_batch_names_the_hung_cell_and_the_dead_kernel(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixed_code: None
) -> None:
    sleeps = _client(demo_copy, tmp_path / "client-sleeps", "client-sleeps")
    crashes = _client(demo_copy, tmp_path / "client-crashes", "client-crashes")
    fine = _client(demo_copy, tmp_path / "client-fine", "client-fine")
    nb = _notebook(
        tmp_path / "report.ipynb",
        "import os\nimport time",
        'time.sleep(60 if workspace.endswith("sleeps") else 0)',
        'os._exit(1) if workspace.endswith("crashes") else None',
        "from IPython.display import HTML\nHTML('<p>done</p>')",
    )
    # The command as a user runs it, with this notebook in place of the report's.
    monkeypatch.setattr(batch, "run_batch", functools.partial(batch.run_batch, notebook=nb))
    start = time.perf_counter()
    res = CliRunner().invoke(
        main, ["batch", str(sleeps), str(crashes), str(fine), "--timeout", "4", "-j", "3"]
    )
    took = time.perf_counter() - start
    assert res.exit_code == 1, res.output
    assert took < 30, f"the batch waited {took:.0f} s for a client with a 4 s limit"
    assert "1 rendered, 0 unchanged (skipped), 2 failed" in res.output
    failed = [ln for ln in res.output.splitlines() if ln.startswith("failed: ")]
    assert len(failed) == 2, res.output  # one line each, never wrapped
    hung = next(ln for ln in failed if str(sleeps) in ln)
    dead = next(ln for ln in failed if str(crashes) in ln)
    # Cell 1 is the parameters, 2 papermill's injected ones, then the notebook's own.
    assert (
        "ran past its time limit of 4 s in cell 4 "
        '(time.sleep(60 if workspace.endswith("sleeps") else 0))' in hung
    )
    assert "--timeout" in hung and "CellTimeoutError" not in hung
    assert "kernel died in cell 5 (os._exit(1)" in dead and "out of memory?" in dead
    assert "--jobs" in dead

    # The notebook as far as it ran is kept, the stop marked on the cell it happened in.
    kept = sleeps / "reports" / "client-sleeps-report.failed.ipynb"
    assert kept.name in hung
    cells = nbformat.read(kept, as_version=4).cells
    assert cells[3].outputs[-1].get("ename") == "TimeLimit"  # after the interrupt's own
    assert cells[4].get("execution_count") is None  # never reached
    died = nbformat.read(crashes / "reports" / "client-crashes-report.failed.ipynb", as_version=4)
    assert died.cells[4].outputs[-1].get("ename") == "DeadKernel"
    assert not (sleeps / "reports" / "client-sleeps-report.html").exists()
    assert (fine / "reports" / "client-fine-report.html").is_file()


@pytest.mark.kernel
@pytest.mark.slow
def test_report_command_stops_at_its_time_limit(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = _notebook(tmp_path / "report.ipynb", "x = 1", "import time\ntime.sleep(60)")
    monkeypatch.setattr(report, "NOTEBOOK", nb)  # `workbook report` renders in this process
    start = time.perf_counter()
    res = CliRunner().invoke(main, ["report", str(demo_copy), "--timeout", "3"])
    assert time.perf_counter() - start < 20
    assert res.exit_code == 1
    # one line, the cell named, no log noise from nbclient and no traceback
    assert res.output.splitlines() == [
        "error: the report ran past its time limit of 3 s in cell 4 (import time) "
        "(the notebook as far as it ran is kept at "
        f"{demo_copy / 'reports' / 'tideway-rowing-report.failed.ipynb'}; allow more time "
        "with --timeout SECONDS if the client is only large, else see what that cell waits for)"
    ]


def test_summary_prints_one_line_per_failure(tmp_path: Path) -> None:
    from io import StringIO

    from rich.console import Console

    long = "the report kernel died in cell 5 (section 'journeys') (out of memory?) " * 3
    result = batch.BatchResult(
        [
            batch.ClientResult("clients/acme", "rendered", "clients/acme/r.html", 5.0),
            batch.ClientResult("clients/bad", "failed", None, 2.0, long + "\n  detail"),
        ],
        7.0,
    )
    out = StringIO()
    batch.print_summary(result, Console(file=out, width=60))
    lines = out.getvalue().splitlines()
    assert lines[-1] == f"failed: clients/bad: {' '.join((long + ' detail').split())}"
    assert "1 rendered, 0 unchanged (skipped), 1 failed" in lines[-2]


# ------------------------------------------------------------ 9: kills and what they leave

_MARK = re.compile(r"run-\d+")
KILLED = 86


def _fake_kernel(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Replace the kernel and Chromium: a run writes notebook, HTML and PDF naming its run."""
    current = {"run": "run-0"}

    def execute(params: dict[str, Any], out_nb: Path, **_: Any) -> Any:
        nb = nbformat.v4.new_notebook()
        html = f'<p class="marker">{current["run"]}</p>'
        cell = nbformat.v4.new_code_cell(
            "show()",
            outputs=[nbformat.v4.new_output("display_data", data={"text/html": html})],
        )
        nb.cells = [cell]
        nbformat.write(nb, out_nb)
        return nb

    def pdf(html_path: Path, pdf_path: Path) -> Path:
        found = _MARK.search(Path(html_path).read_text(encoding="utf-8"))
        Path(pdf_path).write_text(f"%PDF {found.group(0) if found else '?'}", encoding="utf-8")
        return Path(pdf_path)

    monkeypatch.setattr(report, "_execute", execute)
    monkeypatch.setattr(report, "_print_pdf", pdf, raising=False)
    monkeypatch.setattr(report, "print_pdf", pdf)
    return current


def _runs(out: Path) -> dict[str, str | None]:
    """The run each report file comes from, None when it is not there."""
    found: dict[str, str | None] = {}
    for kind, name in (
        ("html", "tideway-rowing-report.html"),
        ("notebook", "tideway-rowing-report.ipynb"),
        ("pdf", "tideway-rowing-report.pdf"),
        ("fingerprint", "tideway-rowing-report.fingerprint.json"),
    ):
        path = out / name
        mark = _MARK.search(path.read_text(encoding="utf-8")) if path.is_file() else None
        found[kind] = mark.group(0) if mark else None
    return found


def _render(ws: Path, out: Path, run: str, current: dict[str, str]) -> None:
    current["run"] = run
    report.render_report(ws, out, report_date="2026-03-01", pdf=True, fingerprint=f"fp-{run}")


def _killed_render(ws: Path, out: Path, run: str, current: dict[str, str], after: int) -> bool:
    """Render in a forked child that dies (os._exit) after ``after`` file renames and deletions.

    True when the child was killed, False when the render ended before that many steps.
    """
    with warnings.catch_warnings():  # Python 3.12+ warns about forking a threaded process
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: count the steps, die at the chosen one
        code = 3
        try:
            steps = 0

            def step(real: Any) -> Any:
                def wrapped(*args: Any, **kwargs: Any) -> Any:
                    nonlocal steps
                    if steps == after:
                        os._exit(KILLED)
                    steps += 1
                    return real(*args, **kwargs)

                return wrapped

            os.replace = step(os.replace)  # type: ignore[assignment]
            os.unlink = step(os.unlink)  # type: ignore[assignment]
            _render(ws, out, run, current)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    assert code in (0, KILLED), f"the child render failed (exit {code})"
    return code == KILLED


@pytest.mark.skipif(not hasattr(os, "fork"), reason="kills a forked render")
def test_a_render_killed_at_any_step_never_mixes_two_runs(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = _fake_kernel(monkeypatch)
    out = tmp_path / "out"
    _render(demo_copy, out, "run-0", current)
    assert set(_runs(out).values()) == {"run-0"}
    killed_at = []
    for after in range(60):
        run = f"run-{after + 1}"
        if not _killed_render(demo_copy, out, run, current, after):
            break
        killed_at.append(after)
        files = _runs(out)
        # A report is always there to read, and every file beside it is from its run.
        assert files["html"] is not None, (after, files)
        for kind in ("notebook", "pdf"):
            assert files[kind] in (None, files["html"]), (after, files)
        # A fingerprint only beside the whole report it describes (else the batch renders).
        if files["fingerprint"] is not None:
            assert files["fingerprint"] == files["html"] == files["notebook"] == files["pdf"]
        # The next run cleans up what the killed one left, and writes a whole report.
        fix = f"run-{100 + after}"
        _render(demo_copy, out, fix, current)
        assert set(_runs(out).values()) == {fix}, (after, _runs(out))
        assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [
            ".tideway-rowing-report.html.lock"
        ]
    else:
        pytest.fail("the render never ended")
    assert len(killed_at) >= 8  # every removal and move of the commit was a kill point

    # A render without a PDF removes the last run's: it is another run's report.
    current["run"] = "run-999"
    report.render_report(demo_copy, out, report_date="2026-03-01", fingerprint="fp-run-999")
    assert _runs(out) == {
        "html": "run-999",
        "notebook": "run-999",
        "pdf": None,
        "fingerprint": "run-999",
    }


def test_a_dead_runs_temporaries_go_on_the_next_run(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch, fixed_code: None
) -> None:
    from filelock import FileLock

    from workbook.exceptions import ReportError

    _fake_kernel(monkeypatch)
    report.render_report(demo_copy, pdf=False)
    reports = demo_copy / "reports"
    outputs = report.report_outputs(demo_copy, "tideway-rowing")
    # What a run killed while its kernel ran leaves: empty temporaries of each file.
    litter = [
        reports / ".tideway-rowing-report.ipynb.k2j4x9.tmp.ipynb",
        reports / ".tideway-rowing-report.html.a81xq0.tmp.html",
        reports / ".tideway-rowing-report.fingerprint.json.zz01.tmp",
        reports / ".tideway-rowing-report.failed.ipynb.0p9q.tmp.ipynb",
    ]
    for path in litter:
        path.write_bytes(b"")
    other = reports / ".client-notes.md.q1w2.tmp"  # not ours: left alone
    other.write_bytes(b"")

    # While another run writes this report, its temporaries are live: nothing is removed,
    # and a second run of the same report is refused.
    with FileLock(str(outputs.lock)):
        assert report.clean_leftovers(outputs) == []
        assert [c.status for c in batch.run_batch([demo_copy]).clients] == ["skipped"]
        assert all(p.exists() for p in litter)
        with pytest.raises(ReportError, match="being rendered by another run"):
            report.render_report(demo_copy)

    # The batch skips the unchanged client and still sweeps the dead run's files...
    assert [c.status for c in batch.run_batch([demo_copy]).clients] == ["skipped"]
    assert not any(p.exists() for p in litter) and other.exists()
    # ...and so does a render.
    for path in litter:
        path.write_bytes(b"")
    report.render_report(demo_copy)
    assert not any(p.exists() for p in litter) and other.exists()


def test_the_time_limit_covers_the_whole_run_not_each_cell() -> None:
    # nbclient asks before every cell how long it may take: what is left of the client's
    # time, so quick cells after the limit do not each get a fresh allowance.
    run = report._Run(time.monotonic() + 30, 30)
    assert 29 < (run.time_left() or 0) <= 30
    late = report._Run(time.monotonic() - 5, 30)
    assert 0 < (late.time_left() or 0) <= 0.01  # never 0, which nbclient reads as no limit
    assert report._Run(None, None).time_left() is None


def test_a_logo_pointing_at_a_device_is_never_read_by_the_fingerprint(tmp_path: Path) -> None:
    """A logo linked to /dev/zero must not hang the batch's check (it would read forever)."""
    import threading

    from workbook.report import inputs_fingerprint

    ws = tmp_path / "client"
    shutil.copytree(
        Path(__file__).resolve().parent.parent / "data" / "demo",
        ws,
        ignore=shutil.ignore_patterns("reports", "data"),
    )
    (ws / "zero.svg").symlink_to("/dev/zero")
    text = (ws / "workspace.yaml").read_text(encoding="utf-8")
    (ws / "workspace.yaml").write_text(
        text.replace("logo: assets/logo.svg", "logo: zero.svg"), encoding="utf-8"
    )
    found: list[str] = []
    t = threading.Thread(target=lambda: found.append(inputs_fingerprint(ws)), daemon=True)
    t.start()
    t.join(10)
    assert found and len(found[0]) == 64  # returned at once, having read nothing
