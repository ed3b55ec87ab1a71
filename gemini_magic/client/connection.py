"""Where requests go, and the google-genai client for it: made on first use, reused."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Optional

from ..errors import ConfigError, MissingKeyError
from ..secrets import KEY_VARIABLES

VERTEX_VARIABLE = "GOOGLE_GENAI_USE_VERTEXAI"


@dataclass(frozen=True)
class Connection:
    """Where requests go: the SDK's own environment, or the offline demo server."""

    offline_url: Optional[str] = None
    timeout: Optional[float] = None  # seconds to wait for each response byte
    retries: int = 0  # extra attempts for failures that happen before any text
    retry_delay: float = 1.0  # first backoff in seconds, doubled each time
    max_answer_chars: int = 10_000_000  # an answer (and a response body) is cut off beyond this

    def check(self) -> None:
        """Fail early, with what to set, when no credentials are configured."""
        if self.offline_url or any(os.environ.get(name) for name in KEY_VARIABLES):
            return
        if os.environ.get(VERTEX_VARIABLE, "").lower() in ("1", "true"):
            return
        raise MissingKeyError(
            "No Gemini API key: set GEMINI_API_KEY (or GOOGLE_API_KEY) before starting Jupyter, "
            "or for Vertex AI set GOOGLE_GENAI_USE_VERTEXAI=true with GOOGLE_CLOUD_PROJECT and "
            "GOOGLE_CLOUD_LOCATION; to try it without a key use %%gemini --offline "
            "(or %config GeminiMagics.offline = True)."
        )


_clients: dict = {}
_clients_lock = threading.Lock()


def environment_fingerprint() -> tuple:
    # The SDK reads these itself; a new client is made when any of them changes.
    names = KEY_VARIABLES + (
        VERTEX_VARIABLE,
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
        "GOOGLE_GEMINI_BASE_URL",
        "GOOGLE_VERTEX_BASE_URL",
        "GOOGLE_GENAI_API_VERSION",
    )
    return tuple(os.environ.get(name) for name in names)


def get_client(connection: Connection):
    """The google-genai client for this connection, made on first use and reused."""
    key = (connection.offline_url, connection.timeout, environment_fingerprint())
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = make_client(connection)
        return client


def forget_clients() -> None:
    """Close and drop every cached client (after an interrupt, or on unload)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        try:
            client.close()
        except Exception:  # closing is best effort: the sockets go either way
            pass


def make_client(connection: Connection):
    from google import genai
    from google.genai import types

    from .transport import client_args, quiet_enum_warnings

    quiet_enum_warnings()

    sync_args, async_args = client_args(connection.max_answer_chars, connection.timeout)
    options: dict = {"client_args": sync_args, "async_client_args": async_args}
    if connection.timeout:
        options["timeout"] = int(connection.timeout * 1000)  # the SDK counts milliseconds
    if connection.offline_url:
        # The user asked for the demo server: the only case where we set the base URL.
        options["base_url"] = connection.offline_url
        return genai.Client(api_key="offline-demo", http_options=types.HttpOptions(**options))
    try:
        return genai.Client(http_options=types.HttpOptions(**options))
    except Exception as error:  # e.g. Vertex chosen but no project: say which setting
        raise ConfigError(f"Could not create the Gemini client: {error}") from None
