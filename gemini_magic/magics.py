"""The ``%%gemini`` / ``%gemini`` magics: parse, run, store. Nothing else lives here."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, CaselessStrEnum, Float, Int, Unicode, default

from . import chat, command, formats
from .formats import FORMATS

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


@dataclass
class _Plan:
    """What a run adds to the plain request: its format and its turn in the conversation."""

    format: formats.Format
    conversation: chat.Conversation
    turn: Optional[str]  # this call's key in the conversation (None: always a new turn)
    chat: bool  # send the earlier turns


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
    chat = Bool(False, help="Send the notebook's earlier turns with every prompt, as --chat does.").tag(config=True)
    format = CaselessStrEnum(FORMATS, default_value="markdown", help="Answer format: markdown, text, code or json.").tag(
        config=True
    )
    variables = Bool(True, help="Fill {name} references in prompts from the namespace (False: as --no-vars).").tag(
        config=True
    )
    max_rows = Int(20, help="Rows of a DataFrame or Series that {name} puts in a prompt.").tag(config=True)
    max_chars = Int(20000, help="Characters of one {name} value put in a prompt (the rest is cut, with a note).").tag(
        config=True
    )
    thinking_budget = Int(None, allow_none=True, help="Thinking tokens: 0 off, -1 automatic; None: the model's.").tag(
        config=True
    )
    show_thoughts = Bool(False, help="Ask for thought summaries and show them folded above the answer.").tag(config=True)
    search = Bool(False, help="Ground answers with Google Search and list the cited sources.").tag(config=True)
    concurrency = Int(16, help="--each: requests in flight at once (1-100).").tag(config=True)
    rpm = Int(None, allow_none=True, help="--each: at most this many requests a minute; None: no limit.").tag(config=True)
    tpm = Int(None, allow_none=True, help="--each: at most about this many tokens a minute; None: no limit.").tag(config=True)
    batch_poll = Float(30.0, help="--batch: longest wait in seconds between two looks at the job's state.").tag(config=True)

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
    @argument("--no-vars", action="store_true", help="Send {braces} as written: no {name} filled from the namespace.")
    @argument(
        "--image",
        metavar="NAME",
        action="append",
        help="Send an image first: a variable (PIL image, matplotlib Figure, PNG/JPEG bytes, path) or a file. Repeatable.",
    )
    @argument(
        "-f",
        "--format",
        type=str.lower,
        choices=FORMATS,
        help="markdown (default); text (shown as written); code (first code block into a new cell); json.",
    )
    @argument("--schema", metavar="NAME", help="JSON shaped by NAME: a pydantic model, list[Model] or JSON-schema dict.")
    @argument("--chat", action="store_true", help="Send the earlier turns too; running a cell again replaces its turn.")
    @argument("--no-chat", action="store_true", help="Send this prompt alone, even with GeminiMagics.chat = True.")
    @argument("--reset", action="store_true", help="Start the conversation over (alone on the line, or before a prompt).")
    @argument("--thinking-budget", type=int, metavar="N", help="Thinking tokens: 0 off, -1 automatic.")
    @argument("--show-thoughts", action="store_true", help="Show thought summaries folded above the answer (.thoughts).")
    @argument("--search", action="store_true", help="Ground with Google Search; the sources are listed (.citations).")
    @argument("--each", metavar="NAME", help="Run the cell once per item of list/Series/DataFrame NAME ({item}, {index}, columns).")
    @argument("--concurrency", type=int, metavar="N", help="--each: requests in flight at once (default 16).")
    @argument("--rpm", type=int, metavar="N", help="--each: at most N requests a minute.")
    @argument("--tpm", type=int, metavar="N", help="--each: at most about N tokens a minute.")
    @argument("--batch", action="store_true", help="--each through the Gemini Batch API: cheaper, runs at Google, may take hours.")
    @argument("--batch-job", metavar="JOB", help="Collect the answers of batch job JOB (batches/...) into --out.")
    @no_var_expand  # {name} is filled by gemini_magic.prompt, the same way in a line and in a cell
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

        {name}, {name.attr} and {name[key]} in the prompt are filled from your
        variables: a DataFrame becomes a Markdown table, a matplotlib Figure or
        PIL image an inline image. Other braces (code, JSON, LaTeX) stay as
        written; {{ writes {.

            %%gemini --chat -f json --schema Row --out rows
            Extract the rows of {df} where price > 10.

        The conversation (every answered cell, one turn each) is `_gemini_chat`;
        %gemini --reset starts it over.

        --each NAME runs the cell once per item of a list, Series or DataFrame,
        16 at a time, with {item}, {index} and the columns filled in; the answers
        come back aligned (a list, or a Series with the input's index). Running
        it again with the same --out sends only what is missing or failed.

            %%gemini --each reviews --out summaries --rpm 300
            Summarise this {stars}-star review in one line: {text}

        Needs GEMINI_API_KEY (or GOOGLE_API_KEY, or Vertex AI settings) in the
        environment, or --offline for the local demo server.
        """
        cmd = command.parse(self.gemini.parser, line, cell)
        if cmd.options.each is not None or cmd.options.batch or cmd.options.batch_job is not None:
            from .many import (
                run_magic,  # many prompts at once: a progress bar, not a stream
            )

            return run_magic(self, cmd, self._request)
        if cmd.options.reset:
            forgotten = chat.current(self.shell.user_ns).reset()
            if not cmd.prompt.strip() and not cmd.options.image:
                print(f"Conversation reset: {forgotten} turn{'s' if forgotten != 1 else ''} forgotten.")
                return
        plan = self._plan(cmd)
        request, out = self._request(cmd, plan)
        from .errors import GeminiError

        try:
            request.connection.check()  # no key: say what to set, before showing anything
        except GeminiError as error:
            raise UsageError(str(error)) from None

        from .session import incomplete_message, run
        from .views import choose_view

        view = choose_view(self.shell, allow_images=self.allow_images)
        if plan.format.name in ("text", "json") and getattr(self.shell, "kernel", None) is not None:
            from .output.fenced import FencedView

            view = FencedView(view, plan.format.name)
        stream = self.stream and not cmd.options.no_stream
        response = run(request, view, stream=stream)

        names = ["_gemini"] + ([out] if out else [])
        problem = self._keep(response, request, names, plan)
        problem = incomplete_message(response, names) or problem
        if problem:
            if response.interrupted:
                from .client import forget_clients

                forget_clients()  # its connection was cut mid-read: start clean
            # One line, no traceback (IPython prints a plain UsageError so); the
            # cell fails, so "Run all" stops here, but the answer is already kept.
            raise UsageError(problem)

    def _plan(self, cmd) -> "_Plan":
        """The output format and this cell's place in the conversation."""
        options = cmd.options
        if options.chat and options.no_chat:
            raise UsageError("--chat and --no-chat: choose one")
        if options.schema and options.format not in (None, "json"):
            raise UsageError(f"--schema {options.schema}: only with -f json (or no -f)")
        try:
            answer_format = formats.prepare(options.format or self.format, options.schema, self.shell.user_ns)
        except formats.SchemaError as error:
            raise UsageError(str(error)) from None
        conversation = chat.current(self.shell.user_ns)
        turn = conversation.key(chat.cell_id(getattr(self.shell, "parent_header", None)), self.shell.execution_count)
        return _Plan(answer_format, conversation, turn, (options.chat or self.chat) and not options.no_chat)

    def _parts(self, cmd) -> list:
        """The user turn: --image images first, then the prompt with {name} filled in."""
        from .prompt import PromptError, build_parts, load_image

        namespace = self.shell.user_ns
        try:
            images = [load_image(name, namespace) for name in cmd.options.image or ()]
            expand = self.variables and not cmd.options.no_vars
            return images + build_parts(
                cmd.prompt, namespace, expand=expand, max_chars=self.max_chars, max_rows=self.max_rows
            )
        except PromptError as error:
            raise UsageError(str(error)) from None

    def _keep(self, response, request, names, plan) -> Optional[str]:
        """Store the answer, record the turn, hand over code; a problem to report, or None."""
        from .chat import Turn

        problem = formats.parse_failure(response, plan.format)
        parsed = plan.format.parse is not None and response.complete and problem is None
        self.shell.user_ns["_gemini"] = response
        for name in names[1:]:
            self.shell.user_ns[name] = response.parsed if parsed else response
        if response.text:
            plan.conversation.record(Turn(list(request.parts), response.text, plan.turn, response.model))
        if plan.format.name == "code":
            code = response.code
            if code is not None:
                self.shell.set_next_input(code, replace=False)
            print(formats.code_note(code, getattr(self.shell, "kernel", None) is not None, names))
        if problem:
            return f"{problem}; the answer is kept in {' and '.join(names)}."
        return None

    def _request(self, cmd, plan: Optional["_Plan"] = None):
        """Build the Request from options, config and the user's namespace."""
        from .client import (  # light: client imports the SDK only when used
            Connection,
            Request,
        )

        options = cmd.options
        plan = plan or self._plan(cmd)
        if not cmd.prompt.strip() and not options.image:
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
        if plan.chat and system is None:
            system = plan.conversation.system  # a conversation keeps its system instruction
        if system is None:
            system = self.system
        budget = options.thinking_budget if options.thinking_budget is not None else self.thinking_budget
        if budget is not None and budget < -1:
            raise UsageError(f"--thinking-budget {budget}: must be 0 (off), a number of tokens, or -1 (automatic)")
        show_thoughts = options.show_thoughts or self.show_thoughts
        if show_thoughts and budget == 0:
            raise UsageError("--show-thoughts with --thinking-budget 0: thinking is off, so there are no thoughts to show")
        parts = self._parts(cmd)
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
            parts=tuple(parts),
            history=chat.Conversation.history(plan.conversation.before(plan.turn)) if plan.chat else (),
            response_mime_type=plan.format.mime_type,
            response_schema=plan.format.json_schema,
            thinking_budget=budget,
            include_thoughts=show_thoughts,
            search=options.search or self.search,
        )
        if plan.chat and options.system is not None:
            plan.conversation.system = system  # -s in a chat cell applies to the whole conversation
        return request, out

    def close(self):
        """Release cached clients (called by %unload_ext)."""
        import sys

        client = sys.modules.get("gemini_magic.client")
        if client is not None:
            client.forget_clients()
        many = sys.modules.get("gemini_magic.many")
        if many is not None:
            many.shutdown()
