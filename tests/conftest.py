"""Shared fixtures: the package's own offline Gemini server, a clean environment,
and an IPython shell with the extension loaded.

Tests talk to the real google-genai SDK over real HTTP on loopback; nothing in
the SDK is patched. Only environment variables are set, as a user would.
"""

import pytest

from tests.support import TEST_KEY

GEMINI_VARIABLES = (
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_GENAI_API_VERSION",
    "GEMINI_MAGIC_MODEL",
    "GEMINI_MAGIC_OFFLINE",
)


@pytest.fixture(autouse=True)
def clean_gemini_environment(monkeypatch):
    """No test sees the developer's real key or settings."""
    for name in GEMINI_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def gemini_server():
    """One offline Gemini server for the whole run, answering without pacing."""
    from gemini_magic.offline import OfflineGemini

    server = OfflineGemini(delay=0).start()
    yield server
    server.stop()


@pytest.fixture
def server(gemini_server):
    """The shared server with its request log emptied."""
    gemini_server.clear()
    return gemini_server


@pytest.fixture
def quick_batches(server):
    """The shared server with Batch API jobs that finish in well under a second."""
    before = server.batch_seconds
    server.batch_seconds = 0.4
    yield server
    server.batch_seconds = before


@pytest.fixture
def gemini_env(server, monkeypatch):
    """The environment a user would set: a key and (here) a base URL for the SDK."""
    monkeypatch.setenv("GEMINI_API_KEY", TEST_KEY)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
    return server


@pytest.fixture(scope="session")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


@pytest.fixture
def bare_ip(shell, server):
    """A shell with gemini_magic loaded and no key set; unloaded and cleaned after."""
    shell.run_line_magic("load_ext", "gemini_magic")
    yield shell
    shell.run_line_magic("unload_ext", "gemini_magic")
    shell.config.pop("GeminiMagics", None)  # %config lines persist in the shell's config
    for name in ("_gemini", "_gemini_chat", "summary", "answer", "style"):
        shell.user_ns.pop(name, None)


@pytest.fixture
def ip(bare_ip, gemini_env):
    """A shell with gemini_magic loaded, pointed at the offline server by environment."""
    return bare_ip
