"""Shared fixtures: the demo workspace, temporary copies, and a headless browser.

Browser tests use Debian's Chromium through Playwright (no browser download). Without
Chromium they skip on a developer's machine and fail in CI (CI=true), so CI never goes green
by skipping them. Every page is opened with the network blocked: any request that is not
``file:``, ``data:``, ``blob:`` or ``about:`` is aborted and recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
ARTIFACTS = ROOT / "tests" / "_artifacts"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """The Chromium executable, or skip (developer machine) / fail (CI) without it."""
    exe = chromium_path()
    if exe is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + ": browser tests must run in CI")
        pytest.skip(message + "; browser tests run in CI")
    return exe


@pytest.fixture
def artifacts() -> Path:
    """A folder for screenshots and PDFs a person can look at after the run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """A private copy of the demo workspace that a test may change."""
    dest = tmp_path / "demo"
    shutil.copytree(DEMO, dest, ignore=shutil.ignore_patterns("reports", "*.lock"))
    return dest


@dataclass
class PageLog:
    """What a page did while a test looked at it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.blocked_requests == [], f"requests left the machine: {self.blocked_requests}"
        assert self.page_errors == [], f"script errors: {self.page_errors}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.dialogs == [], f"dialogs opened (a script ran?): {self.dialogs}"


def block_network(context: Any, log: PageLog, allowed: tuple[str, ...]) -> None:
    """Abort every request of ``context`` whose URL does not start with ``allowed``; log it."""

    def _route(route: Any) -> None:
        url = route.request.url
        if url.startswith(allowed):
            route.continue_()
        else:
            log.blocked_requests.append(url)
            route.abort()

    context.route("**/*", _route)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    exe = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def offline_page(browser: Any) -> Iterator[tuple[Any, PageLog]]:
    """A fresh page with the network blocked and a log of errors and blocked requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    log = PageLog()
    block_network(context, log, ("file:", "data:", "blob:", "about:"))
    page = context.new_page()
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))

    def _dialog(d: Any) -> None:
        log.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", _dialog)
    try:
        yield page, log
    finally:
        context.close()


# ------------------------------------------------------------------------------ JupyterLab


@contextlib.contextmanager
def jupyter_lab(tmp_path: Path, root: Path) -> Iterator[tuple[str, str]]:
    """A real ``jupyter lab`` serving ``root`` on a free localhost port; yields (base, token).

    Random token; temporary config, runtime and IPython folders, so nothing lands in the home
    folder; the news pop-up (which asks the internet for news) is turned off.
    """
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    labconfig = tmp_path / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    token = secrets.token_hex(16)
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ip", "127.0.0.1", f"--port={port}", f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
            "--ServerApp.port_retries=0",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                output = (tmp_path / "lab.log").read_text()[-3000:]
                pytest.fail("jupyter lab did not start:\n" + output)
            time.sleep(0.3)
        yield base, token
    finally:
        proc.terminate()  # by PID; SIGTERM also shuts its kernels down
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


KERNEL_IDLE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle';
}"""


def kernel_ready(page: Any, timeout: float = 90, poll: float = 0.3) -> None:
    """Wait for the notebook's kernel to be idle, accepting Lab's kernel-choice dialog."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        accept = page.locator(".jp-Dialog .jp-mod-accept")
        if accept.count() and accept.first.is_visible():
            accept.first.click()
        if page.evaluate(KERNEL_IDLE):
            return
        time.sleep(poll)
    pytest.fail("the notebook's kernel never became idle")


# ------------------------------------------------------------------------------ workshop app


def free_port() -> int:
    """A port nobody listens on at 127.0.0.1 (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def workbook_command() -> list[str]:
    """How to run the ``workbook`` command of this environment."""
    script = Path(sys.executable).parent / "workbook"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from workbook.cli import main; main()"]


def jupyter_env(tmp_path: Path) -> dict[str, str]:
    """The environment with Jupyter's and IPython's folders in ``tmp_path``."""
    return {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }


@contextlib.contextmanager
def workshop_app(
    tmp_path: Path, workspace: Path, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``workbook workshop WORKSPACE --no-browser --port P`` as a subprocess; yields the address
    it printed (with its token) and the process.

    The process is stopped with SIGINT at the end (as Ctrl+C would) if the test has not
    stopped it; its output so far is in ``process.lines`` (a list of str).
    """
    import signal
    import threading

    port = port or free_port()
    proc = subprocess.Popen(
        [*workbook_command(), "workshop", str(workspace), "--no-browser", "--port", str(port)],
        env=jupyter_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, bufsize=1, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    lines: list[str] = []
    proc.lines = lines  # type: ignore[attr-defined]

    def _read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=_read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        url = None
        while url is None:
            url = next((ln.strip() for ln in lines if ln.strip().startswith("http://")), None)
            if url is None and (proc.poll() is not None or time.monotonic() > deadline):
                pytest.fail("workbook workshop did not start:\n" + "\n".join(lines[-30:]))
            time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
