"""Reading the magic line: options split like a shell, the rest is the prompt."""

from __future__ import annotations

import keyword
import shlex
from dataclasses import dataclass
from typing import Optional

from IPython.core.error import UsageError


@dataclass
class Command:
    """The parsed options (argparse namespace) and the prompt text."""

    options: object
    prompt: str


def split_options(parser, line: str) -> tuple[list[str], str]:
    """Split leading ``-x value`` options off ``line`` the way a shell would.

    Quotes are honoured (``-s "Be terse."`` gives ``Be terse.``), unlike IPython's
    default splitter, which keeps them. Everything after the options is returned
    untouched as the prompt, so apostrophes in ``%gemini what's a p-value`` are fine.
    """
    argv: list[str] = []
    position = 0
    expecting_value = False
    while True:
        position = len(line) - len(line[position:].lstrip())
        rest = line[position:]
        if not rest:
            return argv, ""
        if not expecting_value and not rest.startswith("-"):
            return argv, rest.strip()  # the prompt: taken as written
        # Read exactly one shell word, so quotes later in the prompt are never parsed.
        lexer = shlex.shlex(rest, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        try:
            token = lexer.get_token()
        except ValueError as error:  # e.g. "No closing quotation"
            raise UsageError(f"{error.args[0].lower()} in: {line.strip()}") from None
        position += lexer.instream.tell()
        if token == "--" and not expecting_value:
            return argv, line[position:].strip()
        argv.append(token)
        expecting_value = not expecting_value and _takes_value(parser, token)


def _takes_value(parser, token: str) -> bool:
    if "=" in token or (token.startswith("-") and not token.startswith("--") and len(token) > 2):
        return False  # --opt=value or -t0.2: the value is in the token
    action = parser._option_string_actions.get(token)
    return action is not None and action.nargs != 0


def parse(parser, line: str, cell: Optional[str]) -> Command:
    """Parse the magic line (and cell); raise UsageError on any mistake."""
    argv, rest = split_options(parser, line)
    options = parser.parse_args(argv)
    if cell is None:
        prompt = rest
    else:
        if rest:
            raise UsageError(
                f"unexpected text on the %%gemini line: {rest!r} (put the prompt in the cell below, options on the line)"
            )
        prompt = cell
    return Command(options, prompt.strip("\n"))


def check_identifier(name: Optional[str], option: str) -> Optional[str]:
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        raise UsageError(f"{option} {name!r}: not a valid Python variable name")
    return name


def resolve_text_or_variable(value: Optional[str], namespace: dict, option: str) -> Optional[str]:
    """``-s "Be terse."`` is text; ``-s style`` names a variable holding the text."""
    if value is None or not value.isidentifier():
        return value
    if value not in namespace:
        raise UsageError(
            f"{option} {value}: no variable named {value!r} (give a variable name, or text with a space, "
            f'e.g. {option} "Be terse.")'
        )
    text = namespace[value]
    if not isinstance(text, str):
        raise UsageError(f"{option} {value}: the variable holds a {type(text).__name__}, not text")
    return text
