"""The ``%%gemini`` / ``%gemini`` magics: parse, run, store. Nothing else lives here."""

from __future__ import annotations

import math
import os
import re

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Float, Int, Unicode, default

from . import command

# An alias Google keeps pointing at its newest Flash model.
DEFAULT_MODEL = "gemini-flash-latest"

_LINE_PROMPT_WITH_QUESTION = re.compile(r"^(\s*)%gemini\s+(\S.*\?)\s*$")


def keep_question_marks(lines: list[str]) -> list[str]:
    """Let ``%gemini What is a z-score?`` ask Gemini instead of IPython's help.

    IPython reads a trailing ``?`` as a help request; a question to Gemini often
    ends with one. Such a line is handed to the magic as written (``%gemini?``
    alone still shows the help).
    """
    if not lines or lines[0].lstrip().startswith("%%"):
        return lines
    out = []
    for line in lines:
        match = _LINE_PROMPT_WITH_QUESTION.match(line)
        if match:
            indent, rest = match.groups()
            line = f"{indent}get_ipython().run_line_magic('gemini', {rest!r})\n"
        out.append(line)
    return out


@magics_class
class GeminiMagics(Magics):
    """Gemini in the notebook. Set defaults with ``%config GeminiMagics.<name> = value``."""

    model = Unicode(help="Default model; GEMINI_MAGIC_MODEL overrides the built-in default.").tag(config=True)
    temperature = Float(None, allow_none=True, help="Default sampling temperature (0-2); None: the model's.").tag(
        config=True
    )
    max_tokens = Int(None, allow_none=True, help="Default cap on answer tokens; None: the model's.").tag(config=True)
    system = Unicode(None, allow_none=True, help="Default system instruction.").tag(config=True)
    offline = Bool(help="Answer from the local offline demo server (no key needed). GEMINI_MAGIC_OFFLINE=1 sets it.").tag(
        config=True
    )
    stream = Bool(True, help="Stream the answer as it is generated (False: wait for the whole answer).").tag(config=True)
    timeout = Float(120.0, help="Seconds to wait for Gemini to send the next bytes before giving up.").tag(config=True)
    retries = Int(3, help="Extra attempts on 429/5xx and dropped connections before any text arrived.").tag(config=True)
    retry_delay = Float(1.0, help="Seconds before the first retry (doubled each time; Retry-After wins).").tag(config=True)
    allow_images = Bool(False, help="Load remote images in answers (off: they are shown as links).").tag(config=True)

    @default("model")
    def _default_model(self):
        return os.environ.get("GEMINI_MAGIC_MODEL") or DEFAULT_MODEL

    @default("offline")
    def _default_offline(self):
        return os.environ.get("GEMINI_MAGIC_OFFLINE", "").lower() in ("1", "true", "yes")

    @magic_arguments()
    @argument("-m", "--model", help="Model name, e.g. gemini-2.5-pro. Default: %%config GeminiMagics.model.")
    @argument("-t", "--temperature", type=float, help="Sampling temperature, 0 to 2.")
    @argument("--max-tokens", type=int, metavar="N", help="Cap on the answer's length in tokens.")
    @argument("-s", "--system", metavar="TEXT_OR_VAR", help='System instruction: text ("Be terse.") or a variable name.')
    @argument("-o", "--out", metavar="NAME", help="Also store the answer in variable NAME (_gemini always has it).")
    @argument("--no-stream", action="store_true", help="Wait for the whole answer instead of streaming it.")
    @argument("--offline", action="store_true", help="Use the local offline demo server (no API key needed).")
    @line_cell_magic
    def gemini(self, line, cell=None):
        """Ask Gemini; the answer streams in as Markdown and is kept in a variable.

        Cell magic: the cell is the prompt. Line magic: the rest of the line is.

            %%gemini -m gemini-2.5-flash -t 0.2 --out summary
            Explain what a p-value is, for a first-year student.

            %gemini -s "Answer in one sentence." What is a z-score?

        The answer is a GeminiResponse: a str equal to the text, with .model,
        .usage (tokens), .finish_reason, .elapsed, .interrupted and .error.
        `_gemini` always holds the latest answer. Interrupt (Ctrl-C / the stop
        button) keeps the partial answer.

        Needs GEMINI_API_KEY (or GOOGLE_API_KEY, or Vertex AI settings) in the
        environment, or --offline for the local demo server.
        """
        cmd = command.parse(self.gemini.parser, line, cell)
        request, out = self._request(cmd)
        from .client import GeminiError

        try:
            request.connection.check()  # no key: say what to set, before showing anything
        except GeminiError as error:
            raise UsageError(str(error)) from None

        from .session import incomplete_message, run
        from .view import choose_view

        view = choose_view(self.shell, allow_images=self.allow_images)
        stream = self.stream and not cmd.options.no_stream
        response = run(request, view, stream=stream)

        names = ["_gemini"] + ([out] if out else [])
        for name in names:
            self.shell.user_ns[name] = response
        problem = incomplete_message(response, names)
        if problem:
            if response.interrupted:
                from .client import forget_clients

                forget_clients()  # its connection was cut mid-read: start clean
            # One line, no traceback (IPython prints a plain UsageError so); the
            # cell fails, so "Run all" stops here, but the answer is already kept.
            raise UsageError(problem)

    def _request(self, cmd):
        """Build the Request from options, config and the user's namespace."""
        from .client import Connection, Request  # light: client imports the SDK only when used

        options = cmd.options
        if not cmd.prompt.strip():
            raise UsageError("empty prompt: write the question in the cell under %%gemini, or after %gemini")
        temperature = options.temperature if options.temperature is not None else self.temperature
        if temperature is not None and not (0 <= temperature <= 2 and math.isfinite(temperature)):
            raise UsageError(f"-t/--temperature {temperature:g}: must be between 0 and 2")
        max_tokens = options.max_tokens if options.max_tokens is not None else self.max_tokens
        if max_tokens is not None and max_tokens < 1:
            raise UsageError(f"--max-tokens {max_tokens}: must be a positive whole number")
        model = (options.model or self.model).strip()
        if not model or any(ch.isspace() for ch in model):
            raise UsageError(f"-m/--model {model!r}: not a model name")
        out = command.check_identifier(options.out, "-o/--out")
        system = command.resolve_text_or_variable(options.system, self.shell.user_ns, "-s/--system")
        if system is None:
            system = self.system
        if self.timeout is not None and self.timeout <= 0:
            raise UsageError("GeminiMagics.timeout must be a positive number of seconds")

        offline_url = None
        if options.offline or self.offline:
            from .offline import shared_server

            offline_url = shared_server().url
        connection = Connection(
            offline_url=offline_url, timeout=self.timeout, retries=max(0, self.retries), retry_delay=self.retry_delay
        )
        request = Request(
            prompt=cmd.prompt,
            model=model,
            connection=connection,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
        )
        return request, out

    def close(self):
        """Release cached clients (called by %unload_ext)."""
        import sys

        client = sys.modules.get("gemini_magic.client")
        if client is not None:
            client.forget_clients()
