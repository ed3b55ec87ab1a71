"""Output formats (``-f``): what is asked of Gemini, how the answer is shown, what is kept.

- ``markdown`` (default): rendered Markdown.
- ``text``: shown as written, nothing rendered (a monospace block).
- ``code``: shown as Markdown; the first code block goes into a new cell below
  (``set_next_input``: JupyterLab, Notebook, terminal IPython) and is always kept
  on ``.code``, with a note saying where it went.
- ``json``: JSON mode (``responseMimeType: application/json``), optionally with a
  schema (``--schema NAME``: a pydantic model, ``list[Model]`` or a JSON-schema
  dict); shown as a JSON block; ``.parsed`` holds the parsed value, which
  ``--out NAME`` receives.

No SDK import here; pydantic (a dependency of google-genai) only when a schema is used.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from .errors import SchemaError

__all__ = ["FORMATS", "Format", "prepare", "parse_json", "SchemaError"]

FORMATS = ("markdown", "text", "code", "json")


@dataclass(frozen=True)
class Format:
    """How one answer is asked for, shown and kept."""

    name: str = "markdown"
    schema_name: Optional[str] = None
    json_schema: Optional[dict] = None
    parse: Optional[Callable[[str], Any]] = None  # text -> value (json format)

    @property
    def mime_type(self) -> Optional[str]:
        return "application/json" if self.name == "json" else None


def prepare(name: str, schema_name: Optional[str], namespace) -> Format:
    """The format for ``-f name`` and ``--schema schema_name``; raises SchemaError."""
    if schema_name is None:
        return Format(name, parse=parse_json if name == "json" else None)
    if schema_name not in namespace:
        raise SchemaError(f"--schema {schema_name}: no variable named {schema_name!r}")
    source = namespace[schema_name]
    schema, parse = _schema(source, schema_name)
    return Format("json", schema_name, schema, parse)


def _schema(source: Any, name: str):
    if isinstance(source, dict):
        return source, parse_json
    if isinstance(source, type) and hasattr(source, "model_json_schema") and hasattr(source, "model_validate_json"):
        return source.model_json_schema(), lambda text: source.model_validate_json(_unfenced(text))
    origin, args = typing.get_origin(source), typing.get_args(source)
    if origin is list and len(args) == 1 and hasattr(args[0], "model_json_schema"):
        from pydantic import TypeAdapter

        adapter = TypeAdapter(source)
        return adapter.json_schema(), lambda text: adapter.validate_json(_unfenced(text))
    raise SchemaError(
        f"--schema {name}: a {type(source).__name__} is not a pydantic model, a list[Model] or a JSON schema (dict)"
    )


def parse_json(text: str) -> Any:
    return json.loads(_unfenced(text))


_FENCED_JSON = re.compile(r"^\s*```[a-zA-Z]*\s*\n(?P<body>.*)\n\s*```\s*$", re.DOTALL)


def _unfenced(text: str) -> str:
    """JSON mode answers are bare JSON; accept one wrapped in a ```json fence too."""
    match = _FENCED_JSON.match(text)
    return match.group("body") if match else text


def parse_failure(response, format: Format) -> Optional[str]:
    """Parse a complete JSON answer into ``response.parsed``; the error, or None."""
    if format.parse is None or not response.complete:
        return None
    try:
        response.parsed = format.parse(response.text)
    except Exception as error:  # json.JSONDecodeError, pydantic.ValidationError
        what = f"valid JSON for {format.schema_name}" if format.schema_name else "valid JSON"
        detail = " ".join(str(error).split())
        if len(detail) > 160:
            detail = detail[:157] + "..."
        return f"The answer is not {what} ({type(error).__name__}: {detail})"
    return None


def code_note(code: Optional[str], in_kernel: bool, names: list) -> str:
    """The line shown under a ``-f code`` answer, saying where the code went."""
    kept = " and ".join(f"{name}.code" for name in names)
    if code is None:
        return f"↳ -f code: the answer has no fenced code block, so no cell was added (the answer is in {names[0]})."
    where = "in a new cell below (JupyterLab, Notebook)" if in_kernel else "at the next prompt"
    return f"↳ -f code: the code block is {where}, and kept in {kept}."
