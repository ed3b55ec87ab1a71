"""Every setting, in one place: its default, its help and its check.

``GeminiMagics`` *is* these settings (``%config GeminiMagics.model = "..."``); the
magic, ``--each`` and ``gemini_magic.map`` all read them from here, and a cell's
options go through the same checks (:meth:`Settings.derive`). A value out of
range is refused when it is set, with one line naming the setting.
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Optional

from traitlets import Bool, CaselessStrEnum, Dict, Float, Int, TraitError, Unicode, default, validate
from traitlets.config import Configurable

from .errors import SettingError
from .formats import FORMATS

# An alias Google keeps pointing at its newest Flash model.
DEFAULT_MODEL = "gemini-flash-latest"
MAX_CONCURRENCY = 100  # google-genai's HTTP pool holds 100 connections

# Gemini's model names (also "models/NAME" and tuned models); nothing that could
# change the request's path ("/", "#", "?", ":", spaces).
MODEL_NAME = re.compile(r"(?:models/|tunedModels/)?[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

# How each setting is written as a cell option, for messages.
OPTION_NAMES = {
    "model": "-m/--model",
    "temperature": "-t/--temperature",
    "max_tokens": "--max-tokens",
    "system": "-s/--system",
    "thinking_budget": "--thinking-budget",
    "concurrency": "--concurrency",
    "rpm": "--rpm",
    "tpm": "--tpm",
    "format": "-f/--format",
}


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


class Settings(Configurable):
    """gemini_magic's settings. In a notebook: ``%config GeminiMagics.<name> = value``."""

    model = Unicode(help="Default model; GEMINI_MAGIC_MODEL overrides the built-in default.").tag(config=True)
    temperature = Float(None, allow_none=True, help="Default sampling temperature (0-2); None: the model's.").tag(
        config=True
    )
    max_tokens = Int(None, allow_none=True, help="Default cap on answer tokens; None: the model's.").tag(config=True)
    system = Unicode(None, allow_none=True, help="Default system instruction.").tag(config=True)
    offline = Bool(
        help="Answer from the local offline demo server (no key needed). GEMINI_MAGIC_OFFLINE=1 sets it."
    ).tag(config=True)
    stream = Bool(True, help="Stream the answer as it is generated (False: wait for the whole answer).").tag(
        config=True
    )
    timeout = Float(
        120.0,
        help="Seconds Gemini may take to send the next line of its answer, whether it sends nothing or trickles bytes.",
    ).tag(config=True)
    retries = Int(3, help="Extra attempts on 429/5xx and dropped connections before any text arrived.").tag(config=True)
    retry_delay = Float(1.0, help="Seconds before the first retry (doubled each time; Retry-After wins).").tag(
        config=True
    )
    max_answer_chars = Int(
        10_000_000,
        help="Longest answer kept, in characters; a server sending more is cut off (the text so far is kept).",
    ).tag(config=True)
    allow_images = Bool(False, help="Load remote images in answers (off: they are shown as links).").tag(config=True)
    chat = Bool(False, help="Send the notebook's earlier turns with every prompt, as --chat does.").tag(config=True)
    format = CaselessStrEnum(
        FORMATS, default_value="markdown", help="Answer format: markdown, text, code or json."
    ).tag(config=True)
    variables = Bool(True, help="Fill {name} references in prompts from the namespace (False: as --no-vars).").tag(
        config=True
    )
    max_rows = Int(20, help="Rows of a DataFrame or Series that {name} puts in a prompt.").tag(config=True)
    max_chars = Int(20000, help="Characters of one {name} value put in a prompt (the rest is cut, with a note).").tag(
        config=True
    )
    max_file_bytes = Int(
        20_000_000,
        help="Largest file --image, --file or {path} reads into memory, in bytes; a larger --file or {path} "
        "is uploaded through the Files API (up to 2 GB).",
    ).tag(config=True)
    thinking_budget = Int(None, allow_none=True, help="Thinking tokens: 0 off, -1 automatic; None: the model's.").tag(
        config=True
    )
    show_thoughts = Bool(False, help="Ask for thought summaries and show them folded above the answer.").tag(
        config=True
    )
    search = Bool(False, help="Ground answers with Google Search and list the cited sources.").tag(config=True)
    code_execution = Bool(
        False, help="Let Gemini run Python code; the code and its output are shown in the answer (.executed)."
    ).tag(config=True)
    concurrency = Int(16, help="--each: requests in flight at once (1-100).").tag(config=True)
    rpm = Int(None, allow_none=True, help="--each: at most this many requests a minute; None: no limit.").tag(
        config=True
    )
    tpm = Int(None, allow_none=True, help="--each: at most about this many tokens a minute; None: no limit.").tag(
        config=True
    )
    batch_poll = Float(30.0, help="--batch: longest wait in seconds between two looks at the job's state.").tag(
        config=True
    )
    replay = CaselessStrEnum(
        ("off", "auto", "only"),
        default_value="off",
        help="auto: record complete answers and replay recorded ones; only: never call Gemini (no key needed).",
    ).tag(config=True)
    replay_file = Unicode("", help="The record file; empty: <notebook>.gemini.sqlite beside the notebook.").tag(
        config=True
    )
    replay_pace = Float(0.0, help="Characters a second a replayed answer streams at; 0: shown at once.").tag(
        config=True
    )
    prices = Dict(help='Prices over the shipped table: {"model": {"input": $, "output": $}} per million tokens.').tag(
        config=True
    )
    dry_run_answer_tokens = Int(
        None, allow_none=True, help="--dry-run: answer tokens to assume; None: --max-tokens if set, else 1,000."
    ).tag(config=True)

    @default("model")
    def _default_model(self):
        return os.environ.get("GEMINI_MAGIC_MODEL", "").strip() or DEFAULT_MODEL

    @default("offline")
    def _default_offline(self):
        return _env_flag("GEMINI_MAGIC_OFFLINE")

    # -- checks, run whenever a value is set ------------------------------------

    @validate("model")
    def _check_model(self, proposal):
        value = proposal["value"].strip()
        if not MODEL_NAME.fullmatch(value):
            raise _Refused(proposal, "not a Gemini model name (letters, digits, '.', '-' and '_')")
        return value

    @validate("temperature")
    def _check_temperature(self, proposal):
        return _in_range(proposal, 0, 2, "must be between 0 and 2")

    @validate("max_tokens", "max_rows", "max_chars", "max_answer_chars", "max_file_bytes", "rpm", "tpm")
    def _check_positive(self, proposal):
        return _in_range(proposal, 1, None, "must be a positive whole number")

    @validate("timeout", "batch_poll")
    def _check_seconds(self, proposal):
        value = proposal["value"]
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise _Refused(proposal, "must be a positive number of seconds")
        return value

    @validate("replay_pace")
    def _check_pace(self, proposal):
        return _in_range(proposal, 0, None, "must be 0 (at once) or characters a second")

    @validate("dry_run_answer_tokens")
    def _check_answer_tokens(self, proposal):
        return _in_range(proposal, 1, None, "must be a positive whole number")

    @validate("prices")
    def _check_prices(self, proposal):
        for model, prices in proposal["value"].items():
            if not isinstance(prices, dict) or not all(
                isinstance(prices.get(k), (int, float)) and prices[k] >= 0 for k in ("input", "output")
            ):
                raise _Refused(proposal, f'{model!r}: give {{"input": dollars, "output": dollars}} per million tokens')
        return proposal["value"]

    @validate("retries")
    def _check_retries(self, proposal):
        return _in_range(proposal, 0, 20, "must be between 0 and 20")

    @validate("retry_delay")
    def _check_retry_delay(self, proposal):
        return _in_range(proposal, 0, 600, "must be between 0 and 600 seconds")

    @validate("thinking_budget")
    def _check_budget(self, proposal):
        return _in_range(proposal, -1, None, "must be 0 (off), a number of tokens, or -1 (automatic)")

    @validate("concurrency")
    def _check_concurrency(self, proposal):
        return _in_range(proposal, 1, MAX_CONCURRENCY, f"must be between 1 and {MAX_CONCURRENCY}")

    # -- reading them -------------------------------------------------------------

    def values(self) -> dict:
        """Every setting's current value, by name."""
        return {name: getattr(self, name) for name in Settings.class_trait_names(config=True)}

    def derive(self, options: Optional[dict] = None, **overrides: Any) -> Settings:
        """A copy with a cell's options (or ``map``'s arguments) applied, checked like
        the settings themselves; None means "not given". A value out of range raises
        :class:`SettingError` naming the option as the user wrote it."""
        values = self.values()
        given = {k: v for k, v in {**(options or {}), **overrides}.items() if v is not None}
        derived = Settings()
        derived._trait_values.update(values)  # checked when they were set: only what is given is checked again
        for name, value in given.items():
            try:
                setattr(derived, name, value)
            except TraitError as error:
                shown = OPTION_NAMES.get(name, name) if name in given else f"GeminiMagics.{name}"
                raise SettingError(f"{shown} {value!r}: {_reason(error)}") from None
        if derived.show_thoughts and derived.thinking_budget == 0:
            raise SettingError(
                "--show-thoughts with --thinking-budget 0: thinking is off, so there are no thoughts to show"
            )
        return derived

    def request(
        self,
        *,
        prompt: str,
        parts: tuple = (),
        system: Optional[str] = None,
        history: tuple = (),
        answer_format=None,
        urls: tuple = (),
    ):
        """The Request these settings make for one prompt (``system`` None: the default one)."""
        from .client import Request

        return Request(
            prompt=prompt,
            model=self.model,
            connection=self.connection(),
            system=system if system is not None else self.system,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            parts=parts,
            history=history,
            response_mime_type=answer_format.mime_type if answer_format is not None else None,
            response_schema=answer_format.json_schema if answer_format is not None else None,
            thinking_budget=self.thinking_budget,
            include_thoughts=self.show_thoughts,
            search=self.search,
            code_execution=self.code_execution,
            urls=urls,
        )

    def connection(self):
        """Where requests go, and how patiently: the offline server or the SDK's environment."""
        from .client import Connection

        offline_url = None
        if self.offline:
            from .offline import shared_server

            offline_url = shared_server().url
        return Connection(
            offline_url=offline_url,
            timeout=self.timeout,
            retries=self.retries,
            retry_delay=self.retry_delay,
            max_answer_chars=self.max_answer_chars,
        )


class _Refused(TraitError):
    """A value a check refused; the message names the setting, ``reason`` says why."""

    def __init__(self, proposal, reason: str):
        super().__init__(f"GeminiMagics.{proposal['trait'].name} = {proposal['value']!r}: {reason}")
        self.reason = reason


def _in_range(proposal, low, high, reason: str):
    value = proposal["value"]
    if value is None:
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused(proposal, reason)
    if value < low or (high is not None and value > high):
        raise _Refused(proposal, reason)
    return value


def _reason(error: TraitError) -> str:
    if isinstance(error, _Refused):
        return error.reason
    return "not a value of the right type"  # traitlets' own type errors are long


_fallback: Optional[Settings] = None


def current() -> Settings:
    """The settings in force: the loaded magic's (``%config GeminiMagics``), else the defaults."""
    global _fallback
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython is a dependency
        shell = None
    magics = shell.magics_manager.registry.get("GeminiMagics") if shell is not None else None
    if isinstance(magics, Settings):
        return magics
    if _fallback is None:
        _fallback = Settings()
    return _fallback
