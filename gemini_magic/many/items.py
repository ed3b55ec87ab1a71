"""Many prompts at once, the data: what a template runs over and how one item becomes a request.

``Items`` wraps a list, tuple, 1-d array, pandas Series or DataFrame and offers
each item's names to the template; ``Template`` fills the template for one item
and checks it before anything is sent; ``fingerprint`` hashes what a request
asks, so a later run can tell which prompts changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import ChainMap
from collections.abc import Mapping
from typing import Any, Optional

from ..client import Request
from ..errors import ManyError
from ..prompt import pandas_kind
from ..response import GeminiResponse


class Items:
    """The data a template runs over, and what each item offers the template."""

    def __init__(self, data: Any, name: str = "data"):
        self.name = name
        self.index = None  # the pandas index, for pandas input
        self.columns: list = []
        kind = pandas_kind(data)
        if kind == "DataFrame":
            self.kind, self.index = "frame", data.index
            self.columns = list(data.columns)
            self._values = [column.tolist() for _, column in data.items()]
            self.n = len(data)
        elif kind == "Series":
            self.kind, self.index = "series", data.index
            self._values = data.tolist()
            self.n = len(self._values)
        elif isinstance(data, (list, tuple, range)) or _is_1d_array(data):
            self.kind = "list"
            self._values = data.tolist() if _is_1d_array(data) else data
            self.n = len(self._values)
        else:
            what = type(data).__name__
            hint = " (make it a list first: list(...))" if hasattr(data, "__iter__") else ""
            raise ManyError(f"{name} is a {what}: give a list, tuple, pandas Series or DataFrame{hint}")
        if self.n == 0:
            raise ManyError(f"{name} is empty: nothing to ask")

    def item(self, i: int) -> Any:
        if self.kind == "frame":
            return {column: values[i] for column, values in zip(self.columns, self._values)}
        return self._values[i]

    def label(self, i: int) -> Any:
        return self.index[i] if self.index is not None else i

    def namespace(self, i: int) -> dict:
        item = self.item(i)
        namespace = {"item": item}
        if isinstance(item, Mapping):
            namespace.update((k, v) for k, v in item.items() if isinstance(k, str))
        namespace["index"] = self.label(i)
        return namespace

    def names(self, limit: int = 12) -> str:
        """The per-item names a template can use, for messages."""
        names = ["item", "index"] + [str(c) for c in self.columns if isinstance(c, str)]
        if self.kind != "frame" and isinstance(self.item(0), Mapping):
            names += [k for k in self.item(0) if isinstance(k, str)]
        shown = ", ".join(names[:limit]) + (", …" if len(names) > limit else "")
        return shown

    def aligned(self, results: list, name: Optional[str] = None):
        """``results`` shaped like the input: a Series for pandas input, else a list."""
        if self.index is None:
            return list(results)
        import pandas

        return pandas.Series(results, index=self.index, name=name, dtype=object)


def _is_1d_array(data: Any) -> bool:
    return type(data).__module__ == "numpy" and type(data).__name__ == "ndarray" and data.ndim == 1


class _Recording(Mapping):
    """A per-item namespace that remembers which of its names were looked up."""

    def __init__(self, names: dict):
        self.names = names
        self.used: set = set()

    def __getitem__(self, key):
        value = self.names[key]
        self.used.add(key)
        return value

    def __contains__(self, key):
        return key in self.names

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return len(self.names)


@dataclasses.dataclass
class Template:
    """The cell (or ``map``'s template) and everything else a request carries."""

    text: str
    base: Request  # model, system, generation options, connection
    fallback: Any = dataclasses.field(default_factory=dict)  # e.g. the notebook's variables
    limits: Mapping = dataclasses.field(default_factory=dict)  # build_parts' max_chars, max_rows
    prefix: tuple = ()  # parts sent before every prompt (--image)
    format: Any = None  # a formats.Format: -f json / --schema answers are parsed into .parsed
    replay: Any = None  # a replay.Replay: recorded items are played back, complete answers recorded

    def finish(self, response: GeminiResponse) -> GeminiResponse:
        """Parse a JSON answer into ``.parsed``; one that does not parse is a failed item."""
        if self.format is not None and self.format.parse is not None:
            from ..formats import parse_failure

            problem = parse_failure(response, self.format)
            if problem:
                response.error = problem
        return response

    def request(self, items: Items, i: int) -> Request:
        from ..prompt import build_parts

        parts = build_parts(self.text, ChainMap(items.namespace(i), self.fallback), **self.limits)
        prompt = "".join(part for part in parts if isinstance(part, str))
        return dataclasses.replace(self.base, prompt=prompt, parts=self.prefix + tuple(parts))

    def check(self, items: Items) -> None:
        """Build the first prompt now: a mistake is a ManyError before anything is sent."""
        from ..prompt import PromptError, build_parts

        recording: Any = _Recording(items.namespace(0))
        try:
            build_parts(self.text, ChainMap(recording, self.fallback), **self.limits)
        except PromptError as error:
            missing = re.search(r"no variable named '([^']+)'", str(error))
            if missing:
                raise ManyError(
                    f"the template uses {{{missing.group(1)}}}: not a column or key of {items.name}, nor a "
                    f"variable (each item offers: {items.names()})"
                ) from None
            raise ManyError(f"the template: {error}") from None
        if not recording.used:
            raise ManyError(
                f"the template never uses the item: every request would be the same. Refer to {{item}}, "
                f"{{index}} or a column/key (each item offers: {items.names()})"
            )


def fingerprint(request: Request) -> str:
    """A short hash of everything a request asks (not where it goes)."""
    digest = hashlib.blake2b(digest_size=12)

    def feed(value):
        if isinstance(value, (tuple, list)):
            digest.update(b"(")
            for element in value:
                feed(element)
            digest.update(b")")
        elif hasattr(value, "mime_type") and isinstance(getattr(value, "data", None), bytes):
            digest.update(value.mime_type.encode() + b"\0" + value.data)
        else:
            digest.update(repr(value).encode("utf-8", "surrogatepass") + b"\0")

    for spec in dataclasses.fields(request):
        if spec.name not in ("connection", "prompt"):
            digest.update(spec.name.encode())
            feed(getattr(request, spec.name))
    return digest.hexdigest()
