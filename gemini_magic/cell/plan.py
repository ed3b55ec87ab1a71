"""A cell's plan: the request it sends, its output format and its turn in the conversation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from .. import chat, command, formats
from ..errors import Mistake, SchemaError

if TYPE_CHECKING:
    from ..client import Request
    from ..magics import GeminiMagics
    from ..settings import Settings


@dataclass
class CellPlan:
    """What a run adds to the plain request: its format and its turn in the conversation."""

    format: formats.Format
    conversation: chat.Conversation
    turn: Optional[str]  # this call's key in the conversation (None: always a new turn)
    chat: bool  # send the earlier turns


@dataclass
class CellRequest:
    """One cell, ready to send: its settings (options over %config), Request, --out and plan."""

    settings: Settings
    request: Request
    out: Optional[str]
    plan: CellPlan


def plan(magics: GeminiMagics, cmd) -> CellPlan:
    """The output format and this cell's place in the conversation."""
    options = cmd.options
    shell = magics.ipython
    if options.chat and options.no_chat:
        raise Mistake("--chat and --no-chat: choose one")
    if options.schema and options.format not in (None, "json"):
        raise SchemaError(f"--schema {options.schema}: only with -f json (or no -f)")
    answer_format = formats.prepare(options.format or magics.format, options.schema, shell.user_ns)
    conversation = chat.current(shell.user_ns)
    turn = conversation.key(chat.cell_id(getattr(shell, "parent_header", None)), shell.execution_count)
    return CellPlan(answer_format, conversation, turn, (options.chat or magics.chat) and not options.no_chat)


def parts(cmd, settings: Settings, namespace: dict) -> list:
    """The user turn: --image images and --file files first, then the prompt with {name} filled in."""
    from ..prompt import build_parts, load_file, load_image

    limit = settings.max_file_bytes
    images = [load_image(name, namespace, max_bytes=limit) for name in cmd.options.image or ()]
    images += [load_file(spec, namespace, max_inline=limit) for spec in cmd.options.file or ()]
    expand = settings.variables and not cmd.options.no_vars
    return images + build_parts(
        cmd.prompt,
        namespace,
        expand=expand,
        max_chars=settings.max_chars,
        max_rows=settings.max_rows,
        max_file_bytes=limit,
    )


def request_for(magics: GeminiMagics, cmd) -> CellRequest:
    """This cell's settings (options over %config), its Request (from the options, the
    settings and the user's namespace), --out and plan; any mistake raises."""
    options = cmd.options
    namespace = magics.ipython.user_ns
    cell_plan = plan(magics, cmd)
    if not command.visible(cmd.prompt) and not options.image and not options.file:
        raise Mistake("empty prompt: write the question in the cell under %%gemini, or after %gemini")
    settings = magics.settings_for(options)
    out = command.check_output_name(options.out, each=options.each)
    system = command.resolve_text_or_variable(options.system, namespace, "-s/--system")
    if cell_plan.chat and system is None:
        system = cell_plan.conversation.system  # a conversation keeps its system instruction
    request = settings.request(
        prompt=cmd.prompt,
        parts=tuple(parts(cmd, settings, namespace)),
        system=system,
        history=chat.Conversation.history(cell_plan.conversation.before(cell_plan.turn)) if cell_plan.chat else (),
        answer_format=cell_plan.format,
        urls=command.check_urls(options.url),
    )
    if cell_plan.chat and options.system is not None:
        cell_plan.conversation.system = request.system  # -s in a chat cell applies to the whole conversation
    return CellRequest(settings, request, out, cell_plan)


def replay_for(shell, cmd, settings: Settings):
    """This cell's record file and mode (None: replay is off for it)."""
    options = cmd.options
    if options.replay and options.no_replay:
        raise Mistake("--replay and --no-replay: choose one")
    from ..replay import Replay, cell_mode

    mode = cell_mode(settings.replay, replay=options.replay, no_replay=options.no_replay, refresh=options.refresh)
    return Replay.for_settings(settings, mode, shell.user_ns)
