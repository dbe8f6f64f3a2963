"""Serve the workshop app: Voilà runs the workshop notebook as an app with no code.

``workbook workshop WORKSPACE`` calls :func:`serve`. It checks the workspace (a missing or
invalid one is refused with its problems before anything starts) and the port, then starts
Voilà in a process of its own:

* on 127.0.0.1 only, with a random token in the address (a wrong or missing token is
  refused by the server);
* on the notebook shipped in the package (:data:`NOTEBOOK`, the same as
  ``notebooks/workshop.ipynb``, which opens in JupyterLab too), which calls
  :func:`workbook.forms.workshop.app`;
* with the workspace named to the kernel by the environment variable
  :data:`workbook.forms.workshop.ENV_VAR`, not in the address, and the folder the command
  was started in by :data:`workbook.forms.workshop.CWD_VAR` (relative paths typed in the
  app start from there, not from the package's folder where Voilà runs the kernel);
* with our Voilà template ``workbook-workshop`` (:data:`TEMPLATE_ROOT`, found through
  ``JUPYTER_PATH``): Voilà's ``lab`` template without the Font Awesome stylesheets it loads
  from a CDN, so no request leaves the machine, and with the browser tab titled with the
  client's name (:func:`page_title`, passed to the template in Voilà's ``resources``).

Ctrl+C (SIGINT) or SIGTERM stop the server: Voilà shuts its kernels down, and since every
form saves each edit as it is made, nothing is lost.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from workbook.exceptions import WorkbookError

__all__ = [
    "NOTEBOOK",
    "TEMPLATE_NAME",
    "TEMPLATE_ROOT",
    "Server",
    "check_port",
    "page_title",
    "serve",
    "start",
    "voila_command",
]

_HERE = Path(__file__).resolve().parent

#: The workshop notebook the server runs (``notebooks/workshop.ipynb`` is a copy of it).
NOTEBOOK = _HERE / "templates" / "workshop" / "workshop.ipynb"

#: A Jupyter data folder holding ``voila/templates/workbook-workshop``; put on ``JUPYTER_PATH``.
TEMPLATE_ROOT = _HERE / "templates" / "jupyter"

#: The name Voilà knows our template by (``--template``).
TEMPLATE_NAME = "workbook-workshop"

#: The only address the server listens on.
HOST = "127.0.0.1"

#: Seconds to wait for Voilà to listen, and to stop (it shuts its kernels down first).
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


@dataclass
class Server:
    """A running workshop server.

    Attributes
    ----------
    process
        The Voilà process (its own session, so a terminal's Ctrl+C reaches only us).
    url
        The address to open, with its token (``http://127.0.0.1:PORT/?token=...``).
    workspace
        The workspace folder, absolute.
    log
        Voilà's own log file (removed when the server stops cleanly).
    client
        The client's name, for messages.
    """

    process: subprocess.Popen[bytes]
    url: str
    workspace: Path
    log: Path
    client: str

    def stop(self, timeout: float = STOP_TIMEOUT) -> tuple[int, int]:
        """Stop Voilà (SIGTERM: it shuts its kernels down), then any kernel it left.

        Voilà is killed if it has not ended after ``timeout`` seconds. A kernel still
        starting when Voilà stops is not shut down by it (Voilà 0.5 fails on it and exits
        with 1); such a kernel is ended here, by its process id, like any other left.

        Returns
        -------
        tuple of int
            Voilà's exit status, and how many of its processes had to be ended here.
        """
        import psutil

        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _gone, alive = psutil.wait_procs(children, timeout=5)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.terminate()
        _gone, still = psutil.wait_procs(alive, timeout=5)
        for p in still:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        return int(self.process.returncode), len(alive)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def check_port(port: int) -> None:
    """Refuse a port another program listens on (or that cannot be used) on 127.0.0.1.

    Raises
    ------
    WorkbookError
        Naming the port and what to do.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError as exc:
            in_use = exc.errno == errno.EADDRINUSE
            why = "is in use" if in_use else f"cannot be used ({exc.strerror})"
            raise WorkbookError(
                f"port {port} on {HOST} {why}",
                hint="choose another with --port, or leave --port out to take a free one",
            ) from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def page_title(client: str) -> str:
    """The browser tab's title for a client's workshop (the template escapes it)."""
    return f"{client} \u00b7 Journey workshop" if client.strip() else "Journey workshop"


def voila_command(
    port: int, token: str, notebook: Path = NOTEBOOK, title: str | None = None
) -> list[str]:
    """The command line that serves ``notebook`` with our template, on 127.0.0.1 only.

    ``title`` becomes the browser tab's title (``resources.workbook_title`` in the template;
    JSON is a literal traitlets reads back exactly, whatever the name holds).
    """
    extra = [f"--VoilaConfiguration.resources={json.dumps({'workbook_title': title})}"]
    return [
        sys.executable, "-m", "voila", str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.port_retries=0",  # the port asked for, or fail: never another one
        f"--Voila.ip={HOST}",
        f"--token={token}",
        f"--template={TEMPLATE_NAME}",
        "--theme=light",
        "--show_tracebacks=False",
        # one kernel runs the notebook before anyone asks, so the app shows at once; each
        # page takes it and a new one warms up for the next page
        "--preheat_kernel=True",
        "--pool_size=1",
        *(extra if title is not None else []),
    ]  # fmt: skip


def _environment(workspace: Path) -> dict[str, str]:
    from workbook.forms.workshop import CWD_VAR, ENV_VAR

    env = dict(os.environ)
    env[CWD_VAR] = os.getcwd()  # where relative paths typed in the app start from
    paths = [str(TEMPLATE_ROOT)] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    env["JUPYTER_PATH"] = os.pathsep.join(paths)
    env[ENV_VAR] = str(workspace)
    return env


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def start(workspace: str | os.PathLike[str], port: int | None = None) -> Server:
    """Check the workspace and the port, start Voilà, and wait until it listens.

    Raises
    ------
    WorkspaceNotFoundError, WorkspaceValidationError, SchemaVersionError
        The workspace cannot be opened (every problem listed).
    WorkbookError
        The port is taken, or Voilà did not start (with the end of its log).
    """
    from workbook.store import open_workspace

    ws = open_workspace(workspace)  # refuses a missing or invalid workspace, with its problems
    if importlib.util.find_spec("voila") is None:
        raise WorkbookError(
            "the workshop app needs Voilà, which is not installed",
            hint="pip install 'voila>=0.5' (make install does it)",
        )
    folder = Path(ws.path).resolve()
    if port is None:
        port = _free_port()
    else:
        check_port(port)
    token = secrets.token_urlsafe(24)
    logdir = Path(tempfile.mkdtemp(prefix="workbook-workshop-"))
    log = logdir / "voila.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            voila_command(port, token, title=page_title(ws.data.client.name)),
            env=_environment(folder),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=NOTEBOOK.parent,
            start_new_session=True,  # a terminal's Ctrl+C comes to us; we stop Voilà in order
        )
    server = Server(
        process, f"http://{HOST}:{port}/?token={token}", folder, log, ws.data.client.name
    )
    deadline = time.monotonic() + START_TIMEOUT
    while not _listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise WorkbookError(
                f"the workshop server did not start on port {port}",
                hint=f"Voilà said:\n{server.log_tail()}",
            )
        time.sleep(0.2)
    return server


def serve(
    workspace: str | os.PathLike[str],
    port: int | None = None,
    *,
    open_browser: bool = True,
    echo: Callable[[str], None] = print,
) -> int:
    """Run the workshop app until Ctrl+C or SIGTERM; returns Voilà's exit status.

    Prints the address (with its token) as soon as the server listens, and opens it in the
    browser unless ``open_browser`` is false.
    """
    stopping = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server = start(workspace, port)
        try:
            echo(f"Workshop for {server.client} ({server.workspace}):")
            echo(f"    {server.url}")
            echo("Everything typed is saved to the workspace at once. Press Ctrl+C to stop.")
            if open_browser:
                webbrowser.open(server.url)
            while not stopping.wait(0.5):
                if server.process.poll() is not None:
                    raise WorkbookError(
                        f"the workshop server stopped by itself (exit status "
                        f"{server.process.returncode})",
                        hint=f"Voilà said:\n{server.log_tail()}",
                    )
        finally:
            status, _left = server.stop()
        echo(
            f"Workshop stopped. Nothing is lost: every edit was saved to "
            f"{server.workspace / 'workspace.yaml'} as it was made."
        )
        # Voilà ends with 0 once its kernels are shut down (-15 if stopped before it set its
        # handler). Stopped while a kernel was still starting, it exits with 1 and leaves
        # that kernel, which stop() ended: the server and every kernel are gone all the same.
        if status in (0, -signal.SIGTERM) or (status == 1 and stopping.is_set()):
            shutil.rmtree(server.log.parent, ignore_errors=True)
            return 0
        echo(f"Voilà ended with status {status}; its log is {server.log}")
        return status
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
