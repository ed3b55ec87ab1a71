"""The ``%%gemini`` / ``%gemini`` magics: the options and the dispatch (``cell/`` plans, runs and keeps)."""

from __future__ import annotations

import contextlib
import re
import weakref
from collections.abc import Iterator
from typing import Any, Optional

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments

from . import command
from .cell.plan import CellRequest, request_for
from .cell.running import Running
from .errors import GeminiMagicError
from .settings import FORMATS, Settings

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


@contextlib.contextmanager
def one_line() -> Iterator[None]:
    """The one boundary to the user: any gemini_magic failure becomes IPython's one-line
    UsageError (no traceback); the cell fails, so "Run all" stops there."""
    try:
        yield
    except GeminiMagicError as error:
        raise UsageError(str(error)) from None


@magics_class
class GeminiMagics(Magics, Settings):
    """Gemini in the notebook. Set defaults with ``%config GeminiMagics.<name> = value``
    (every setting is listed by ``%config GeminiMagics``)."""

    @magic_arguments()
    @argument("-m", "--model", help="Model name, e.g. gemini-2.5-pro. Default: %%config GeminiMagics.model.")
    @argument("-t", "--temperature", type=float, help="Sampling temperature, 0 to 2.")
    @argument("--max-tokens", type=int, metavar="N", help="Cap on the answer's length in tokens.")
    @argument(
        "-s", "--system", metavar="TEXT_OR_VAR", help='System instruction: text ("Be terse.") or a variable name.'
    )
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
        "--file",
        metavar="PATH_OR_NAME",
        action="append",
        help="Send a file first: PDF, text, image, audio or video (a path, a variable, or a YouTube URL). Repeatable.",
    )
    @argument("--count", action="store_true", help="Count the prompt's tokens by kind of part; send nothing to answer.")
    @argument(
        "-f",
        "--format",
        type=str.lower,
        choices=FORMATS,
        help="markdown (default); text (shown as written); code (first code block into a new cell); json.",
    )
    @argument(
        "--schema", metavar="NAME", help="JSON shaped by NAME: a pydantic model, list[Model] or JSON-schema dict."
    )
    @argument("--chat", action="store_true", help="Send the earlier turns too; running a cell again replaces its turn.")
    @argument("--no-chat", action="store_true", help="Send this prompt alone, even with GeminiMagics.chat = True.")
    @argument(
        "--reset", action="store_true", help="Start the conversation over (alone on the line, or before a prompt)."
    )
    @argument("--thinking-budget", type=int, metavar="N", help="Thinking tokens: 0 off, -1 automatic.")
    @argument(
        "--show-thoughts", action="store_true", help="Show thought summaries folded above the answer (.thoughts)."
    )
    @argument("--search", action="store_true", help="Ground with Google Search; the sources are listed (.citations).")
    @argument(
        "--code-execution",
        action="store_true",
        help="Let Gemini run Python code; the code and its output are shown (.executed).",
    )
    @argument(
        "--url",
        metavar="URL",
        action="append",
        help="A page for Gemini to read (URL-context tool; up to 20); those read are listed (.url_context).",
    )
    @argument(
        "--each",
        metavar="NAME",
        help="Run the cell once per item of list/Series/DataFrame NAME ({item}, {index}, columns).",
    )
    @argument("--concurrency", type=int, metavar="N", help="--each: requests in flight at once (default 16).")
    @argument("--rpm", type=int, metavar="N", help="--each: at most N requests a minute.")
    @argument("--tpm", type=int, metavar="N", help="--each: at most about N tokens a minute.")
    @argument(
        "--batch",
        action="store_true",
        help="--each through the Gemini Batch API: cheaper, runs at Google, may take hours.",
    )
    @argument("--batch-job", metavar="JOB", help="Collect the answers of batch job JOB (batches/...) into --out.")
    @argument(
        "--replay", action="store_true", help="Replay this cell's recorded answer, or record it (GeminiMagics.replay)."
    )
    @argument(
        "--no-replay", action="store_true", help="Ask Gemini and record nothing, whatever GeminiMagics.replay says."
    )
    @argument("--refresh", action="store_true", help="Ask Gemini again and replace the recorded answer.")
    @argument(
        "--dry-run", action="store_true", help="Send nothing: show the request, its tokens and its estimated cost."
    )
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

        --file sends a PDF, text, image, audio or video file (or a YouTube URL)
        before the prompt; {path} does too when path is a pathlib.Path. Files
        past Gemini's 20 MB inline limit are uploaded through the Files API and
        reused by later cells. --count shows the prompt's tokens by kind of part.

            %%gemini --file paper.pdf --file talk.mp3
            Where does the talk disagree with the paper?

        The conversation (every answered cell, one turn each) is `_gemini_chat`;
        %gemini --reset starts it over.

        --each NAME runs the cell once per item of a list, Series or DataFrame,
        16 at a time, with {item}, {index} and the columns filled in; the answers
        come back aligned (a list, or a Series with the input's index). Running
        it again with the same --out sends only what is missing or failed.

            %%gemini --each reviews --out summaries --rpm 300
            Summarise this {stars}-star review in one line: {text}

        With %config GeminiMagics.replay = "auto" every complete answer is
        recorded beside the notebook (<notebook>.gemini.sqlite) and replayed when
        the same request comes again, sending nothing; "only" never calls Gemini
        (the classroom: no key needed). --refresh asks again; --dry-run shows the
        request, its tokens and its estimated cost and sends nothing.

        --code-execution lets Gemini run Python; the code and its output show in
        the answer (.executed). --url URL (repeatable) has Gemini read pages; the
        pages read are listed (.url_context). An image model's pictures appear
        where they come, as image outputs (.images).

            %%gemini --code-execution --url https://example.com/data.html
            Average the table on this page.

        Needs GEMINI_API_KEY (or GOOGLE_API_KEY, or Vertex AI settings) in the
        environment, or --offline for the local demo server.
        """
        with one_line():
            return self._run(line, cell)

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.running = Running()  # the answers under way: %unload_ext cancels them
        # ...and so does this object's collection or the interpreter's exit (the finalizer
        # holds the registry, not this object, so it does not keep it alive).
        weakref.finalize(self, self.running.cancel_all)

    @property
    def ipython(self) -> InteractiveShell:
        """The shell this magic is registered in (IPython sets it before any cell runs)."""
        assert self.shell is not None
        return self.shell

    def _run(self, line: str, cell: Optional[str]) -> Any:
        from .cell import modes

        cmd = command.parse(self.gemini, line, cell)
        modes.check(cmd.options)
        if cmd.options.each is not None or cmd.options.batch or cmd.options.batch_job is not None:
            from .many import run_magic  # many prompts at once: a progress bar, not a stream

            return run_magic(self, cmd, self.request_for)
        if cmd.options.reset and modes.reset(self.ipython, cmd):
            return
        ready = self.request_for(cmd)
        if cmd.options.count:
            return modes.count(ready)
        replay = self._replay(cmd, ready.settings)
        if cmd.options.dry_run:
            return modes.dry_run(self.ipython, ready, replay)
        self._answer(ready, replay, stream=not cmd.options.no_stream)

    def _answer(self, ready: CellRequest, replay, *, stream: bool) -> None:
        """Plan, run, keep: stream the planned request into its view, keep the answer, report."""
        from .cell import keep
        from .cell.run import Run
        from .interrupts import guarded

        run = Run.for_cell(self.ipython, ready, replay, stream=stream)
        names = keep.names(ready.out)
        in_kernel = getattr(self.ipython, "kernel", None) is not None
        with guarded(until_reply=in_kernel) as gate:  # from here on only the stream itself can be interrupted
            with self.running.register(run):
                response = run.answer(gate=gate)
            if run.replayed is None:
                keep.record(replay, ready.request, response)
            problem = keep.keep(self.ipython, response, ready.request, names, ready.plan)
        keep.report(response, names, problem)

    def _replay(self, cmd, settings: Settings):
        """This cell's record file and mode (None: replay is off for it)."""
        from .cell.plan import replay_for

        return replay_for(self.ipython, cmd, settings)

    def settings_for(self, options) -> Settings:
        """This cell's settings: its options over %config."""
        return self.derive(
            model=options.model,
            temperature=options.temperature,
            max_tokens=options.max_tokens,
            thinking_budget=options.thinking_budget,
            show_thoughts=options.show_thoughts or None,
            search=options.search or None,
            code_execution=options.code_execution or None,
            offline=options.offline or None,
            concurrency=options.concurrency,
            rpm=options.rpm,
            tpm=options.tpm,
        )

    def request_for(self, cmd) -> CellRequest:
        """This cell's settings, Request, --out and plan (see ``cell.plan``); any mistake raises."""
        return request_for(self, cmd)

    def close(self):
        """Cancel the running answers; release cached clients and the background loop (called by %unload_ext)."""
        import sys

        self.running.cancel_all()

        client = sys.modules.get("gemini_magic.client")
        if client is not None:
            client.forget_clients()
        replay = sys.modules.get("gemini_magic.replay")
        if replay is not None:
            replay.close_stores()
        many = sys.modules.get("gemini_magic.many")
        if many is not None:
            many.shutdown()
