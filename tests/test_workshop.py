"""The workshop app: its command refuses what it cannot serve, and the app builds every step.

The server itself (Voilà in a browser: no code, no request off the machine, edits saved,
the token, Ctrl+C) is tested in ``test_browser_workshop.py``.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import nbformat
import pytest
from click.testing import CliRunner

import workbook.workshop as server
from workbook import method
from workbook.cli import main
from workbook.forms import workshop
from workbook.store import open_workspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


# ------------------------------------------------------------------------------ the command


def test_missing_workspace_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["workshop", str(tmp_path / "nowhere"), "--no-browser"])
    assert result.exit_code == 1
    assert "no workspace at" in result.output
    assert "nowhere" in result.output
    assert "Traceback" not in result.output
    assert "http://" not in result.output  # nothing was started


def test_invalid_workspace_is_refused_with_its_problems(runner: CliRunner, demo_copy: Path) -> None:
    file = demo_copy / "workspace.yaml"
    text = file.read_text(encoding="utf-8")
    # a map cell scored out of range (-2 to +2)
    assert "emotion: -1.5\n" in text
    text = text.replace("emotion: -1.5\n", "emotion: 7\n", 1)
    file.write_text(text, encoding="utf-8")
    result = runner.invoke(main, ["workshop", str(demo_copy), "--no-browser"])
    assert result.exit_code == 1, result.output
    assert "problem" in result.output
    assert "emotion" in result.output  # the field path of the problem
    assert "http://" not in result.output


def test_port_in_use_is_refused(runner: CliRunner, demo_copy: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(
            main, ["workshop", str(demo_copy), "--no-browser", "--port", str(port)]
        )
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.output
    assert "--port" in result.output  # says what to do
    assert "http://" not in result.output


@pytest.mark.parametrize("port", ["0", "70000", "eighty"])
def test_port_outside_the_range_is_a_usage_error(
    runner: CliRunner, demo_copy: Path, port: str
) -> None:
    result = runner.invoke(main, ["workshop", str(demo_copy), "--port", port])
    assert result.exit_code == 2
    assert "--port" in result.output


def test_server_listens_on_localhost_only_with_a_token_and_our_template() -> None:
    cmd = server.voila_command(8123, "secret-token")
    assert "--Voila.ip=127.0.0.1" in cmd
    assert "--port=8123" in cmd
    assert "--Voila.port_retries=0" in cmd  # never silently another port
    assert "--token=secret-token" in cmd
    assert "--no-browser" in cmd
    assert f"--template={server.TEMPLATE_NAME}" in cmd
    assert "--preheat_kernel=True" in cmd  # the app is built before the page asks
    assert cmd[cmd.index("voila") + 1] == str(server.NOTEBOOK)


def test_workspace_reaches_the_kernel_by_environment(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(demo_copy.parent)
    env = server._environment(demo_copy.resolve())
    assert env[workshop.ENV_VAR] == str(demo_copy.resolve())
    assert env[workshop.CWD_VAR] == str(demo_copy.parent)  # where the command was started
    assert env["JUPYTER_PATH"].split(":")[0] == str(server.TEMPLATE_ROOT)


def test_template_loads_nothing_from_the_network() -> None:
    folder = server.TEMPLATE_ROOT / "voila" / "templates" / server.TEMPLATE_NAME
    assert json.loads((folder / "conf.json").read_text()) == {"base_template": "lab"}
    for name in ("index.html.j2", "page.html"):
        text = (folder / name).read_text(encoding="utf-8")
        assert "jsdelivr" not in text and "cdnjs" not in text, name
        assert not re.search(r"""(href|src)\s*=\s*["']?(https?:)?//""", text), name


def test_the_notebook_in_notebooks_is_the_one_served() -> None:
    assert (ROOT / "notebooks" / "workshop.ipynb").read_bytes() == server.NOTEBOOK.read_bytes()
    nb = nbformat.read(server.NOTEBOOK, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 2
    assert "WORKBOOK_WORKSPACE" in code[0]
    assert code[1].strip().endswith("workbook.forms.workshop.app(workspace)")


# ------------------------------------------------------------------------------ the app


def test_app_builds_each_step_when_opened(demo_copy: Path) -> None:
    app = workshop.app(demo_copy)
    assert isinstance(app, workshop.Workshop)
    try:
        # only the first step is built at the start
        assert list(app.forms) == ["objectives"]
        assert [b.description for b in app.nav_buttons.values()] == [
            "1. Objectives",
            "2. Personas",
            "3. Touchpoints",
            "4. Stages",
            "5. Data",
            "6. Visualise",
            "7. Refine",
        ]
        for s in method.STEPS:
            app.nav_buttons[s.id].click()
            assert app.current == s.id
            assert "wb-nav-active" in app.nav_buttons[s.id]._dom_classes
            page = app.main.children[0]
            header = page.children[0].value
            assert f"Step {s.number} of 7" in header
            forms = app.forms[s.id]
            assert forms and all("wb-form" in f._dom_classes for f in forms)
            assert page.children[1:] == tuple(forms)
        # the refine step shows its five forms, as its notebook does
        refine = [
            c for f in app.forms["refine"] for c in f._dom_classes if c.startswith("wb-form-")
        ]
        assert refine == [
            "wb-form-refine",
            "wb-form-experiments",
            "wb-form-processes",
            "wb-form-content",
            "wb-form-cycle",
        ]
        assert set(app.build_seconds) == {s.id for s in method.STEPS}
        # a step opened again is not built again
        first = app.forms["personas"][0]
        app.show("personas")
        assert app.forms["personas"][0] is first
        assert app.callback_errors == []
    finally:
        app.close()


def test_after_the_first_pick_the_other_steps_build_in_the_background(demo_copy: Path) -> None:
    import asyncio

    async def run() -> workshop.Workshop:
        app = workshop.app(demo_copy)
        assert isinstance(app, workshop.Workshop)
        await asyncio.sleep(0.5)
        assert list(app.forms) == ["objectives"]  # nothing more before a person picks a step
        app.nav_buttons["stages"].click()
        deadline = asyncio.get_running_loop().time() + 60
        while len(app.forms) < len(method.STEPS):
            assert asyncio.get_running_loop().time() < deadline, list(app.forms)
            await asyncio.sleep(0.05)
        return app

    app = asyncio.run(run())
    try:
        assert list(app.forms) == [
            "objectives",
            "stages",
            "personas",
            "touchpoints",
            "data",
            "visualise",
            "refine",
        ]
        # built in the background, not shown: the step picked stays on screen
        assert app.current == "stages"
        assert app.main.children == (app._pages["stages"],)
        assert app.callback_errors == []
    finally:
        app.close()


def test_navigation_shows_each_steps_phases(demo_copy: Path) -> None:
    app = workshop.app(demo_copy)
    try:
        phases = {sid: html.value.split("<br>")[0] for sid, html in app._nav_phases.items()}
        # worked out from the method (METHOD.md): steps 1-4 Discover, 5 Measure and Analyse ...
        assert phases == {
            "objectives": "Discover and define \u00b7 Measure",
            "personas": "Discover and define",
            "touchpoints": "Discover and define",
            "stages": "Discover and define",
            "data": "Measure \u00b7 Analyse",
            "visualise": "Analyse \u00b7 Design and build",
            "refine": "Design and build \u00b7 Validate",
        }
    finally:
        app.close()


def test_an_edit_in_a_step_updates_the_navigation_and_the_bar(demo_copy: Path) -> None:
    app = workshop.app(demo_copy, step="stages")
    try:
        assert "\u2713 done" in app._nav_phases["stages"].value
        assert "Still to do" not in app.main.children[0].children[0].value
        before = open_workspace(demo_copy).revision
        assert f"(revision {before})" in app.bar.value
        form = app.forms["stages"][0]
        stage = open_workspace(demo_copy).data.stages[0]
        field = form.one("wb-stage-exit-criteria")
        field.value = ""  # the first stage loses its exit criteria
        assert form.callback_errors == []
        on_disk = open_workspace(demo_copy).data
        assert on_disk.revision == before + 1
        assert not on_disk.stages[0].exit_criteria
        assert stage.id == on_disk.stages[0].id
        assert "1 to do" in app._nav_phases["stages"].value
        assert f"(revision {before + 1})" in app.bar.value
        header = app.main.children[0].children[0].value  # the step header
        missing = [str(m) for m in method.completeness(on_disk)[3].missing]
        assert len(missing) == 1  # the exit criteria just emptied
        assert "Still to do in this step" in header and escape(missing[0]) in header
        assert app.callback_errors == []
    finally:
        app.close()


def test_step_header_leaves_out_what_the_bar_and_navigation_show(demo_copy: Path) -> None:
    ws = open_workspace(demo_copy)
    ws.data.stages[1].entry_criteria = ""  # one thing left to do in step 4
    ws.save()
    app = workshop.app(demo_copy, step="stages")
    try:
        header = app.main.children[0].children[0].value
        # the step and its place in the cycle ...
        assert "Step 4 of 7: Identify stages" in header
        assert "wb-phase-discover" in header
        # ... and what this step misses, once
        missing = [str(m) for m in method.completeness(open_workspace(demo_copy).data)[3].missing]
        assert missing and all(escape(m) in header for m in missing)
        assert header.count("Still to do in this step") == 1
        # not the client and revision (the bar), nor every step's progress (the navigation)
        assert "Tideway" not in header and "revision" not in header
        assert "wb-progress-step" not in header
        assert "saved to the workspace at once" not in header
        # a form's own heading no longer repeats the step ("Step 4 - Stages" -> "Stages")
        assert app.forms["stages"][0].heading.value == "<h3>Stages</h3>"
    finally:
        app.close()


def test_the_app_imports_what_the_data_step_needs_while_waiting(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a kernel (an event loop runs) the app imports pandas, Arrow and DuckDB after it is
    drawn, so Voila's preheated kernel has them when the data step is first opened."""
    import asyncio
    import importlib

    imported: list[str] = []
    real = importlib.import_module

    def spy(name: str, package: str | None = None) -> Any:
        if name in workshop.WARM_MODULES:
            imported.append(name)
        return real(name, package)

    async def run() -> None:
        app = workshop.app(demo_copy)
        try:
            assert imported == []  # not while the app is being drawn
            deadline = asyncio.get_running_loop().time() + 30
            while len(imported) < len(workshop.WARM_MODULES):
                assert asyncio.get_running_loop().time() < deadline, imported
                await asyncio.sleep(0.05)
            assert list(app.forms) == ["objectives"]  # imports only: no step built
        finally:
            app.close()

    monkeypatch.setattr(workshop.importlib, "import_module", spy)
    asyncio.run(run())
    assert imported == ["pandas", "pyarrow", "duckdb"]


def test_the_browser_tab_is_titled_with_the_client() -> None:
    from voila.configuration import VoilaConfiguration

    name = 'Chlo\u00e9\'s "Rowing" <b>Co</b> & Sons'
    title = server.page_title(name)
    assert title == 'Chlo\u00e9\'s "Rowing" <b>Co</b> & Sons \u00b7 Journey workshop'
    assert server.page_title("  ") == "Journey workshop"
    cmd = server.voila_command(8123, "t", title=title)
    arg = next(a for a in cmd if a.startswith("--VoilaConfiguration.resources="))
    # Voila reads the option back to exactly the title, whatever the name holds
    value = arg.split("=", 1)[1]
    with pytest.warns(DeprecationWarning):
        assert VoilaConfiguration.resources.from_string(value) == {"workbook_title": title}
    assert not any("resources" in a for a in server.voila_command(8123, "t"))
    template = (
        server.TEMPLATE_ROOT / "voila" / "templates" / server.TEMPLATE_NAME / "index.html.j2"
    ).read_text(encoding="utf-8")
    assert "resources.workbook_title" in template


def test_a_relative_path_typed_in_the_app_starts_where_the_command_started(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Voila runs the kernel in the package's folder; the app moves it to the folder the
    consultant started ``workbook workshop`` in, so ``exports/nov.csv`` is found there."""
    started = tmp_path / "engagement"
    (started / "exports").mkdir(parents=True)
    monkeypatch.chdir(server.NOTEBOOK.parent)  # as Voila starts the kernel
    monkeypatch.setenv(workshop.CWD_VAR, str(started))
    app = workshop.app(demo_copy, step="data")
    try:
        assert Path.cwd() == started
        importer = app.forms["data"][0].parts["imports"]
        importer.file.value = "exports/nov.csv"
        importer.import_file()
        said = app.forms["data"][0].one("wb-data-result").value
        # not there: the message names the file and where it was looked for
        assert "No file at exports/nov.csv" in said
        assert escape(str(started / "exports" / "nov.csv")) in said
    finally:
        app.close()


def test_app_on_a_missing_workspace_says_so(tmp_path: Path) -> None:
    shown = workshop.app(tmp_path / "nowhere")
    assert not isinstance(shown, workshop.Workshop)
    assert "cannot open this workspace" in shown.value
    assert "workspace.yaml not found" in shown.value


def test_user_text_is_escaped_in_the_bar(demo_copy: Path) -> None:
    ws = open_workspace(demo_copy)
    ws.data.client.name = "<script>alert(1)</script> & Co"
    ws.save()
    app = workshop.app(demo_copy)
    try:
        assert "<script>" not in app.bar.value
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in app.bar.value
    finally:
        app.close()


# ------------------------------------------------------------------------------ the server


@pytest.mark.slow
@pytest.mark.kernel
def test_server_listens_on_localhost_only_and_sigterm_stops_it(
    tmp_path: Path, demo_copy: Path
) -> None:
    import signal

    import psutil
    from conftest import free_port, workshop_app

    port = free_port()
    with workshop_app(tmp_path, demo_copy, port) as (url, proc):
        assert url.startswith(f"http://127.0.0.1:{port}/?token=")
        assert len(url.split("token=")[1]) >= 32  # a random token, hard to guess
        voila = psutil.Process(proc.pid).children()[0]
        listening = [c for c in voila.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
        assert listening and {c.laddr.ip for c in listening} == {"127.0.0.1"}
        assert {c.laddr.port for c in listening} == {port}
        processes = [voila, *voila.children(recursive=True)]  # Voilà and its kernels
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, proc.lines  # type: ignore[attr-defined]
        assert [p.pid for p in processes if _running(p)] == []
    output = "\n".join(proc.lines)  # type: ignore[attr-defined]
    assert "Workshop stopped. Nothing is lost" in output


def _running(p: Any) -> bool:
    import psutil

    try:
        return bool(p.is_running() and p.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def test_the_wheel_ships_the_notebook_and_the_template(tmp_path: Path) -> None:
    import zipfile

    from hatchling.builders.wheel import WheelBuilder

    (wheel,) = list(WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))
    names = set(zipfile.ZipFile(wheel).namelist())
    inside = "workbook/templates/"
    assert f"{inside}workshop/workshop.ipynb" in names
    for name in ("conf.json", "index.html.j2", "page.html"):
        assert f"{inside}jupyter/voila/templates/workbook-workshop/{name}" in names


def test_without_voila_the_command_says_what_to_install(
    runner: CliRunner, demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "voila" else real(name, *a)
    )
    result = runner.invoke(main, ["workshop", str(demo_copy), "--no-browser"])
    assert result.exit_code == 1
    assert "needs Voilà, which is not installed" in result.output
    assert "pip install" in result.output


def test_the_address_is_printed_and_opened_and_ctrl_c_ends_it(
    runner: CliRunner, demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command's own part, with Voilà stood in for by a process that waits to be ended."""
    import os
    import signal
    import subprocess
    import sys
    import threading

    opened: list[str] = []
    started: list[subprocess.Popen[bytes]] = []
    url = "http://127.0.0.1:8123/?token=abc"

    def fake_start(workspace: str, port: int | None = None) -> server.Server:
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        started.append(proc)
        # Ctrl+C half a second after the server is up
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        return server.Server(proc, url, Path(workspace).resolve(), tmp_path / "log", "Tideway")

    monkeypatch.setattr(server, "start", fake_start)
    monkeypatch.setattr(server.webbrowser, "open", opened.append)
    result = runner.invoke(main, ["workshop", str(demo_copy), "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert opened == [url]
    lines = result.output.splitlines()
    assert lines[1].strip() == url
    assert "Workshop stopped. Nothing is lost" in result.output
    assert started[0].poll() is not None  # the server was stopped
    # --no-browser: printed, not opened
    opened.clear()
    result = runner.invoke(main, ["workshop", str(demo_copy), "--no-browser"])
    assert result.exit_code == 0, result.output
    assert opened == []
    assert url in result.output


def _dropdowns(widget: Any) -> Iterator[Any]:
    import ipywidgets as widgets

    if isinstance(widget, widgets.Dropdown):
        yield widget
    for child in getattr(widget, "children", ()):
        yield from _dropdowns(child)


def test_no_dropdown_of_the_app_offers_none_as_a_value(demo_copy: Path) -> None:
    """ipywidgets takes a None value for "nothing selected": a "(none)" or "Detect" option
    with the value None showed blank on some runs (it depends on the hash seed). Every
    dropdown of every step offers a string instead and shows an option."""
    app = workshop.app(demo_copy)
    assert isinstance(app, workshop.Workshop)
    try:
        seen = []
        for s in method.STEPS:
            app.show(s.id)
            for dropdown in _dropdowns(app.main):
                values = [v for _, v in dropdown.options]
                assert None not in values, (s.id, dropdown.description)
                if values and dropdown.description != "Before":  # no snapshot yet: empty
                    assert dropdown.index is not None, (s.id, dropdown.description)
                seen.append((s.id, dropdown.description, dropdown.label))
        assert ("data", "System", "Detect") in seen
        assert ("refine", "Touchpoint", "(none)") in seen
        assert ("refine", "After", "now (saved workspace)") in seen
    finally:
        app.close()


def test_a_choice_set_back_to_none_shows_its_none_option(demo_copy: Path) -> None:
    """A recommendation's touchpoint picked, then set back to (none): the model holds None
    and the dropdown still shows "(none)", also when the change comes from another view."""
    from workbook.forms._binding import NO_CHOICE, BoundField

    app = workshop.app(demo_copy, step="refine")
    assert isinstance(app, workshop.Workshop)
    try:
        fields = [
            f
            for form in app.forms["refine"]
            for f in getattr(form, "_fields", [])
            if isinstance(f, BoundField) and f.attr == "touchpoint"
        ]
        assert fields
        field = fields[0]
        owner_path = field.owner_path
        tp = app.ws.data.touchpoints[0]
        field.widget.value = tp.id
        journey = app.ws.data.journeys[0]
        rec = journey.recommendations[0]
        assert field.widget.label == tp.name
        field.widget.value = NO_CHOICE
        assert open_workspace(demo_copy).data.journeys[0].recommendations[0].touchpoint is None
        assert field.widget.label == "(none)" and field.widget.index == 0
        # another view sets it, then clears it: this view follows and shows (none)
        rec.touchpoint = tp.id
        field.refresh()
        assert field.widget.label == tp.name
        rec.touchpoint = None
        field.refresh()
        assert field.widget.label == "(none)" and field.widget.index == 0
        assert owner_path == field.owner_path
        assert app.callback_errors == []
    finally:
        app.close()
