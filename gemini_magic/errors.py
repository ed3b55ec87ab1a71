"""The one exception hierarchy: every failure a user is told about, in one short sentence.

Everything raised here reaches the user through one boundary (``magics.one_line``),
which turns it into IPython's one-line ``UsageError``: no traceback, no SDK frames.
Behaviour is decided by type, never by message:

- :class:`Mistake`: something in the cell or a setting is wrong; nothing was sent.
- :class:`GeminiError`: Gemini, or the way to it, failed. ``fatal`` ones
  (key, model, configuration) would fail every other request the same way, so a
  many-prompt run stops at the first.
- :class:`AnswerIncomplete`: the answer ended early (interrupted, failed, cut);
  what arrived is kept, and the message says where.

Every message is redacted once, here, before anyone can truncate or show it.
"""

from __future__ import annotations

from typing import Optional

from .secrets import redact


class GeminiMagicError(Exception):
    """A failure told in one short sentence: what happened and what to do."""

    fatal = False  # every other request of a run would fail the same way

    def __init__(self, message: str, *, code: Optional[int] = None):
        super().__init__(redact(str(message)))
        self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


# -- mistakes: found before anything is sent ----------------------------------


class Mistake(GeminiMagicError, ValueError):
    """A mistake in the cell, an option or a setting; nothing was sent."""


class CommandError(Mistake):
    """The magic line cannot be read (quotes, options, a variable name)."""


class SettingError(Mistake):
    """An option or ``%config`` value out of range."""


class PromptError(Mistake):
    """A prompt that cannot be built; the message names the culprit."""


class SchemaError(Mistake):
    """A ``--schema`` that cannot be used."""


class ManyError(Mistake):
    """A mistake in a many-prompt run (``--each``, ``--batch``, ``map``)."""


# -- Gemini failed --------------------------------------------------------------


class GeminiError(GeminiMagicError):
    """Gemini, or the way to it, failed."""


class MissingKeyError(GeminiError):
    """No credentials are configured."""

    fatal = True


class ConfigError(GeminiError):
    """The SDK could not be set up from the environment (e.g. Vertex AI without a project)."""

    fatal = True


class KeyRejectedError(GeminiError):
    """Gemini rejected the API key (400 "API key not valid", 401, 403)."""

    fatal = True


class ModelNotFoundError(GeminiError):
    """The model does not exist (404)."""

    fatal = True


class QuotaError(GeminiError):
    """Quota or rate limit reached (429), after the retries."""


class ServerError(GeminiError):
    """A 5xx from Gemini, after the retries."""


class RequestRejectedError(GeminiError):
    """Gemini rejected the request as malformed (400, or another 4xx)."""


class TransportError(GeminiError):
    """The connection failed, or a redirect was refused."""


class TimeoutError_(TransportError):
    """Gemini sent nothing for longer than the timeout, or too little for too long."""


class ProtocolError(GeminiError):
    """Gemini (or whatever answered) sent data that could not be read, or too much of it."""


class BatchJobError(GeminiError):
    """A Batch API job cannot be found or did not finish."""


# -- the answer ended early -----------------------------------------------------


class AnswerIncomplete(GeminiMagicError):
    """The answer did not complete; the message says what was kept, and where."""


class RecordFileError(Mistake):
    """The record file (``GeminiMagics.replay_file``) cannot be read or written."""


class NotRecorded(Mistake):
    """``replay = "only"``: the request is not in the record file, and nothing may be sent."""
