"""Reading the magic line: options split like a shell, the rest is the prompt."""

from __future__ import annotations

import builtins
import functools
import keyword
import re
from dataclasses import dataclass
from typing import Any, Optional

from IPython.core.magic_arguments import argument

from .errors import CommandError


@dataclass
class Command:
    """The parsed options (argparse namespace) and the prompt text."""

    options: Any  # argparse's namespace
    prompt: str


MAX_OPTION_WORDS = 200  # far more than any real line; keeps argparse's work bounded


def split_options(magic_func, line: str) -> tuple[list[str], str]:
    """Split leading ``-x value`` options off ``line`` the way a shell would.

    Quotes are honoured (``-s "Be terse."`` gives ``Be terse.``), unlike IPython's
    default splitter, which keeps them. Everything after the options is returned
    untouched as the prompt, so apostrophes in ``%gemini what's a p-value`` are fine.
    One pass over the line, whatever its length.
    """
    options = value_options(magic_func)
    argv: list[str] = []
    position = 0
    expecting_value = False
    while True:
        position = _SPACE.match(line, position).end()  # type: ignore[union-attr]  # \s* always matches
        if position == len(line):
            return argv, ""
        if not expecting_value and line[position] != "-":
            return argv, line[position:].strip()  # the prompt: taken as written
        if len(argv) >= MAX_OPTION_WORDS:
            raise CommandError(f"more than {MAX_OPTION_WORDS} option words on the line: {_shown(line)}")
        token, position = _shell_word(line, position)
        if token == "--" and not expecting_value:
            return argv, line[position:].strip()
        argv.append(token)
        expecting_value = not expecting_value and _takes_value(options, token)


_SPACE = re.compile(r"\s*")
_PLAIN = re.compile(r"[^\s'\"\\]+")


def _shell_word(line: str, position: int) -> tuple[str, int]:
    """One POSIX shell word starting at ``position`` (quotes and backslashes as sh reads
    them), and where it ends. Exactly one word is read, so quotes later in the prompt
    are never parsed."""
    pieces: list[str] = []
    n = len(line)
    while position < n and not line[position].isspace():
        plain = _PLAIN.match(line, position)
        if plain is not None:
            pieces.append(plain.group())
            position = plain.end()
            continue
        c = line[position]
        if c == "\\":
            pieces.append(line[position + 1 : position + 2])
            position += 2
        elif c == "'":
            end = line.find("'", position + 1)
            if end < 0:
                raise CommandError(f"no closing quotation in: {_shown(line)}")
            pieces.append(line[position + 1 : end])
            position = end + 1
        else:  # a double quote: backslash escapes only \\ and " (as shlex reads it)
            position += 1
            while True:
                stop = _DOUBLE_QUOTED_END.search(line, position)
                if stop is None:
                    raise CommandError(f"no closing quotation in: {_shown(line)}")
                pieces.append(line[position : stop.start()])
                position = stop.end()
                if stop.group() == '"':
                    break
                escaped = stop.group()[1]
                pieces.append(escaped if escaped in '"\\' else stop.group())
    return "".join(pieces), position


_DOUBLE_QUOTED_END = re.compile(r'"|\\[\s\S]')


def _shown(line: str, limit: int = 120) -> str:
    flat = " ".join(line.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@functools.cache
def value_options(magic_func) -> frozenset:
    """The options that take a value (``-m NAME``, not ``--chat``), read from the
    magic's own ``@argument`` declarations (IPython keeps them on ``.decorators``)."""
    names: set = set()
    for declared in getattr(magic_func, "decorators", ()):
        if isinstance(declared, argument) and declared.kwds.get("action") not in _FLAG_ACTIONS:
            names.update(name for name in declared.args if name.startswith("-"))
    return frozenset(names)


_FLAG_ACTIONS = ("store_true", "store_false", "store_const", "count", "help", "version")


def _takes_value(options: frozenset, token: str) -> bool:
    if "=" in token or (token.startswith("-") and not token.startswith("--") and len(token) > 2):
        return False  # --opt=value or -t0.2: the value is in the token
    return token in options


def parse(magic_func, line: str, cell: Optional[str]) -> Command:
    """Parse the magic line (and cell); raise CommandError (or argparse's UsageError) on any mistake."""
    argv, rest = split_options(magic_func, line)
    options = magic_func.parser.parse_args(argv)
    if cell is None:
        prompt = rest
    else:
        if rest:
            raise CommandError(
                f"unexpected text on the %%gemini line: {rest!r} (put the prompt in the cell below, options on the line)"
            )
        prompt = cell
    return Command(options, prompt.strip("\n"))


def check_identifier(name: Optional[str], option: str) -> Optional[str]:
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        raise CommandError(f"{option} {name!r}: not a valid Python variable name")
    return name


# Names the session itself needs: overwriting one breaks every later cell.
_RESERVED = frozenset(dir(builtins)) | {
    "get_ipython",
    "In",
    "Out",
    "exit",
    "quit",
    "_ih",
    "_oh",
    "_dh",
    "_ii",
    "_iii",
    "_i",
    "_",
    "__",
    "___",
    "_gemini_chat",
}
_SESSION_NAME = re.compile(r"_i{1,3}\d*|_\d+|__\w*__")


def check_output_name(name: Optional[str], *, each: Optional[str] = None) -> Optional[str]:
    """``--out NAME``: a variable name the answer may take without breaking the session
    (not a builtin, not IPython's own ``In``/``Out``/``_ih``/``_1``/``get_ipython``, not
    ``--each``'s input)."""
    name = check_identifier(name, "-o/--out")
    if name is None:
        return None
    if name in _RESERVED or _SESSION_NAME.fullmatch(name):
        raise CommandError(
            f"-o/--out {name}: that name belongs to Python or IPython; choose another, e.g. --out answer"
        )
    if each is not None and name == each:
        raise CommandError(
            f"-o/--out {name}: that is --each's input; the answers would replace it. Choose another name"
        )
    return name


_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff\u00ad\u034f\u180e]+")


def visible(text: str) -> bool:
    """Whether ``text`` has anything a reader would see (zero-width and format characters are not)."""
    return bool(text) and bool(_INVISIBLE.sub("", text))


def resolve_text_or_variable(value: Optional[str], namespace: dict, option: str) -> Optional[str]:
    """``-s "Be terse."`` is text; ``-s style`` names a variable holding the text."""
    if value is None or not value.isidentifier():
        return value
    if value not in namespace:
        raise CommandError(
            f"{option} {value}: no variable named {value!r} (give a variable name, or text with a space, "
            f'e.g. {option} "Be terse.")'
        )
    text = namespace[value]
    if not isinstance(text, str):
        raise CommandError(f"{option} {value}: the variable holds a {type(text).__name__}, not text")
    return text


MAX_URLS = 20  # the URL-context tool reads at most 20 pages a request


def check_urls(urls) -> tuple:
    """``--url``: whole http(s) addresses, at most :data:`MAX_URLS`, each once."""
    from urllib.parse import urlsplit

    urls = tuple(dict.fromkeys(urls or ()))
    if len(urls) > MAX_URLS:
        raise CommandError(f"--url: {len(urls)} pages; Gemini reads at most {MAX_URLS} a request")
    for url in urls:
        try:
            parts = urlsplit(url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in url)
        except ValueError:
            ok = False
        if not ok:
            raise CommandError(f"--url {_shown(url, 80)!r}: not a web address (give one starting https://)")
    return urls
