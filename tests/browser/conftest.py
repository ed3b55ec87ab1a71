"""JupyterLab in headless Chromium, driven by Playwright.

One JupyterLab server per test module (temporary root, runtime, settings and
workspaces directories; a random token; a free port), one Chromium per module,
and a fresh notebook in a fresh browser context per test. The server's log and
the page's console are printed when a test fails.

Chromium is Debian's (``/usr/bin/chromium``, ``make browser-deps``); Playwright's
own browser download is never used. See /work/shared/recipes/browser-e2e.md.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .lab import Notebook

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "browser"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _chromium() -> str | None:
    return (
        os.environ.get("CHROMIUM")
        or shutil.which("chromium")
        or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    )


def _missing(reason: str):
    """Skip on a developer machine without the browser; fail in CI, where it must run."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _failed(request) -> bool:
    return any(getattr(getattr(request.node, f"report_{when}", None), "failed", False) for when in ("setup", "call"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """A JupyterLab server in its own temporary world (or, with ``app="notebook"``,
    Notebook 7: the same front-end components and widget extensions, another shell)."""

    def __init__(self, root: Path, app: str = "lab", server_python: str | None = None):
        self.app = app
        # The server's interpreter; another venv's for the separate-env setup (conda / JupyterHub):
        # the kernel is still this venv's, registered into the server's prefix.
        self.server_python = server_python or sys.executable
        self.root = root
        self.notebooks = root / "notebooks"
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "jupyterlab.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> JupyterLab:
        for sub in (
            "notebooks",
            "runtime",
            "workspaces",
            "settings/@jupyterlab/apputils-extension",
            "settings/@jupyter-widgets/jupyterlab-manager",
        ):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # Save widget state with the notebook: the demanding case (every live model is serialized).
        (self.root / "settings/@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings").write_text(
            json.dumps({"saveState": True})
        )
        # No "get Jupyter news?" toast over the page.
        (self.root / "settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GEMINI", "GOOGLE_", "JUPYTER"))}
        env.update(
            # The kernelspec runs "python": make it this interpreter (the venv's).
            PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
            JUPYTER_RUNTIME_DIR=str(self.root / "runtime"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.root / "workspaces"),
            JUPYTERLAB_SETTINGS_DIR=str(self.root / "settings"),
            JUPYTER_CONFIG_DIR=str(self.root / "config"),
            IPYTHONDIR=str(self.root / "ipython"),
            PYTHONUNBUFFERED="1",
        )
        if self.server_python != sys.executable:
            prefix = subprocess.run(
                [self.server_python, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True, check=True
            ).stdout.strip()
            subprocess.run(
                [sys.executable, "-m", "ipykernel", "install", "--prefix", prefix, "--name", "python3"],
                check=True,
                capture_output=True,
            )
        command = [
            self.server_python, "-m", "jupyterlab" if self.app == "lab" else "notebook", "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={self.port}", "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.notebooks}",
        ]  # fmt: skip
        if self.app == "lab":
            command.append("--LabApp.news_url=")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop(), with the server
        self.process = subprocess.Popen(
            command, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"JupyterLab did not answer on {self.base} within {timeout} s:\n{self.log_tail()}")

    def api(self, method: str, path: str, body=None, timeout: float = 30):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            raw = answer.read()
        return json.loads(raw) if raw else None

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def shutdown_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions") or []:
            try:
                self.api("DELETE", f"/api/sessions/{session['id']}")
            except urllib.error.HTTPError:
                pass

    def log_tail(self, lines: int = 80) -> str:
        try:
            self._log.flush()
        except (AttributeError, ValueError):
            pass
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                self.shutdown_kernels()
            except Exception:
                pass
            self.process.terminate()  # our own child, by its id
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
        self._log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One JupyterLab server for the module."""
    if importlib.util.find_spec("jupyterlab") is None:
        _missing("jupyterlab is not installed (pip install -e '.[test]')")
    server = JupyterLab(tmp_path_factory.mktemp("jupyterlab"))
    try:
        yield server.start()
    finally:
        server.stop()


SERVER_VENVS = Path(__file__).resolve().parents[2] / ".venv-server"


def server_venv(packages: tuple[str, ...]) -> str:
    """A venv with only ``packages`` (a Jupyter server without gemini_magic or anywidget), made
    once and kept under .venv-server/ by a hash of what it holds; returns its python."""
    key = hashlib.sha256(repr((packages, sys.version_info[:2])).encode()).hexdigest()[:12]
    venv = SERVER_VENVS / key
    python = venv / "bin" / "python"
    if not (venv / ".ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True)
        (venv / ".ready").write_text(" ".join(packages))
    return str(python)


@pytest.fixture(
    scope="module",
    params=[("jupyterlab>=4.2,<5",), ("jupyterlab>=4.2,<5", "jupyterlab_widgets")],
    ids=["server-env-without-widgets", "server-env-with-jupyterlab_widgets"],
)
def separate_lab(request, tmp_path_factory):
    """JupyterLab from another venv, the kernel from this one."""
    server = JupyterLab(tmp_path_factory.mktemp("separate-lab"), server_python=server_venv(request.param))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright, one per module."""
    if importlib.util.find_spec("playwright") is None:
        _missing("playwright is not installed (pip install -e '.[test]')")
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    if executable is None:
        _missing("Debian's chromium is not installed (make browser-deps)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def notebook(request, lab, browser, artifacts):
    """A fresh notebook (its own file, kernel and browser context), open and idle.

    ``notebook.dialogs`` lists every JavaScript dialog the page tried to open.
    """
    name = request.node.name.replace("[", "_").replace("]", "")[:60]
    (artifacts / f"FAILED-{name}.png").unlink(missing_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    context.set_default_timeout(60_000)
    page = context.new_page()
    nb = Notebook(lab, page, f"{name}.ipynb", artifacts)
    try:
        nb.open(cells=getattr(request, "param", 4))
        yield nb
    finally:
        if _failed(request):
            try:
                page.screenshot(path=str(artifacts / f"FAILED-{name}.png"), full_page=True)
            except Exception as error:
                print(f"(no failure screenshot: {error})")
            print(f"\n===== page console ({name}) =====")
            print("\n".join(nb.console[-80:]))
            print(f"\n===== JupyterLab log (tail) =====\n{lab.log_tail()}")
        context.close()
        try:
            lab.shutdown_kernels()  # keep a 2-core machine free for the next test
        except Exception as error:
            print(f"(could not shut kernels down: {error})")
