"""What one call sends, and its google-genai form: config, contents, parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .connection import Connection


@dataclass(frozen=True)
class Request:
    """Everything one call sends to Gemini."""

    prompt: str
    model: str
    connection: Connection = field(default_factory=Connection)
    system: Optional[str] = None
    temperature: Optional[float] = None
    max_tokens: Optional[int] = None
    # The user turn as parts (str, prompt.Blob, LocalFile, FileData); empty: the prompt text alone.
    # A LocalFile is uploaded (client.files.prepare) before the request is sent.
    parts: tuple = ()
    # Earlier turns, oldest first: (role, parts) with role "user" or "model".
    history: tuple = ()
    response_mime_type: Optional[str] = None  # "application/json" for JSON mode
    response_schema: Optional[dict] = None  # a JSON schema, sent as responseJsonSchema
    thinking_budget: Optional[int] = None  # tokens; 0 off, -1 automatic
    include_thoughts: bool = False  # ask for thought summaries
    search: bool = False  # ground the answer with Google Search
    code_execution: bool = False  # let Gemini run Python code and show it
    urls: tuple = ()  # pages for the URL-context tool, listed after the prompt


def generation_config(request: Request):
    from google.genai import types

    thinking = None
    if request.thinking_budget is not None or request.include_thoughts:
        thinking = types.ThinkingConfig(
            thinking_budget=request.thinking_budget, include_thoughts=request.include_thoughts or None
        )
    fields: dict[str, Any] = dict(
        system_instruction=request.system,
        temperature=request.temperature,
        max_output_tokens=request.max_tokens,
        response_mime_type=request.response_mime_type,
        response_json_schema=request.response_schema,
        thinking_config=thinking,
        tools=tools(request),
    )
    if all(value is None for value in fields.values()):
        return None  # the same request, and the SDK then does less for every chunk
    return types.GenerateContentConfig(**fields)


def tools(request: Request) -> Optional[list]:
    """The tools a request turns on (Google Search, code execution, URL context), or None."""
    from google.genai import types

    chosen = []
    if request.search:
        chosen.append(types.Tool(google_search=types.GoogleSearch()))
    if request.code_execution:
        chosen.append(types.Tool(code_execution=types.ToolCodeExecution()))
    if request.urls:
        chosen.append(types.Tool(url_context=types.UrlContext()))
    return chosen or None


def user_parts(request: Request) -> tuple:
    """This prompt's parts as sent: the parts (or the prompt text), then the ``--url`` pages."""
    parts = request.parts or (request.prompt,)
    if request.urls:
        parts = (*parts, "Pages:\n" + "\n".join(request.urls))
    return parts


def sdk_contents(request: Request):
    """The conversation to send: earlier turns, then this prompt (text and images)."""
    from google.genai import types

    def content(role, parts):
        return types.Content(role=role, parts=[sdk_part(part) for part in parts])

    turns = [content(role, parts) for role, parts in request.history]
    turns.append(content("user", user_parts(request)))
    return turns


def sdk_part(part):
    from google.genai import types

    if isinstance(part, str):
        return types.Part(text=part)
    uri = getattr(part, "uri", None)
    if uri is not None:  # a prompt.FileData
        return types.Part(file_data=types.FileData(file_uri=uri, mime_type=part.mime_type))
    return types.Part.from_bytes(data=inline_bytes(part), mime_type=part.mime_type)  # a prompt.Blob


def inline_bytes(part) -> bytes:
    data = getattr(part, "data", None)
    if data is None:  # a prompt.LocalFile: client.files.prepare uploads it first
        raise ValueError(f"{part!r} must be uploaded before it is sent")
    return data


_last_config: Optional[tuple] = None


def shared_config(request: Request):
    """:func:`generation_config`, reused while only the prompt changes (making one costs ~0.2 ms)."""
    global _last_config
    import dataclasses

    key = dataclasses.replace(request, prompt="", parts=(), history=())
    last = _last_config
    if last is not None and last[0] == key:
        return last[1]
    config = generation_config(request)  # None when there is nothing to say
    _last_config = (key, config)
    return config


def plain_contents(request: Request) -> list:
    """:func:`sdk_contents` as plain dicts: the SDK validates those about 20% faster per request."""

    turns = [{"role": role, "parts": [plain_part(p) for p in parts]} for role, parts in request.history]
    turns.append({"role": "user", "parts": [plain_part(p) for p in user_parts(request)]})
    return turns


def plain_part(value) -> dict:
    """One prompt part as the SDK's plain dict."""
    if isinstance(value, str):
        return {"text": value}
    uri = getattr(value, "uri", None)
    if uri is not None:  # a prompt.FileData
        file_data: dict = {"file_uri": uri}
        if value.mime_type:
            file_data["mime_type"] = value.mime_type
        return {"file_data": file_data}
    return {"inline_data": {"mime_type": value.mime_type, "data": inline_bytes(value)}}  # a prompt.Blob
