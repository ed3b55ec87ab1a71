"""What tokens cost: the price table shipped with the package (``prices.json``, with its date and source)
and ``%config GeminiMagics.prices`` over it.

    %config GeminiMagics.prices = {"gemini-2.5-flash": {"input": 0.30, "output": 2.50}}

Prices are US dollars per million tokens; thinking tokens are billed as output;
the Batch API costs half. A model is found by its name or the longest name in
the table it starts with (``gemini-2.5-flash-preview-09-2025`` is priced as
``gemini-2.5-flash``); a model that is not there has no price (None), never a guess.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources


@functools.lru_cache(maxsize=1)
def shipped() -> dict:
    """The table in the package, as read from ``prices.json``."""
    return json.loads(resources.files(__package__).joinpath("prices.json").read_text("utf-8"))


def table() -> dict:
    """Model name -> prices: the shipped table with ``GeminiMagics.prices`` over it."""
    from ..settings import current

    overrides = current().prices
    models = shipped()["models"]
    return {**models, **overrides} if overrides else models


def price_of(model: str) -> dict | None:
    """The prices for ``model`` (or the longest table name it starts with), else None."""
    name = (model or "").removeprefix("models/")
    models = table()
    if name in models:
        return models[name]
    matches = [known for known in models if name.startswith(known + "-")]
    return models[max(matches, key=len)] if matches else None


@dataclass(frozen=True)
class Estimate:
    """A cost in dollars, standard and through the Batch API; None where the model has no price."""

    standard: float | None
    batch: float | None


def cost(model: str, prompt_tokens: int, output_tokens: int, *, batch: bool = False) -> float | None:
    """Dollars for ``prompt_tokens`` in and ``output_tokens`` out (thinking included); None: no price."""
    prices = price_of(model)
    if prices is None:
        return None
    long = prices.get("long_above") is not None and prompt_tokens > prices["long_above"]
    rate_in = prices.get("input_long" if long else "input", prices.get("input", 0.0))
    rate_out = prices.get("output_long" if long else "output", prices.get("output", 0.0))
    dollars = (prompt_tokens * rate_in + output_tokens * rate_out) / 1_000_000
    return dollars * shipped().get("batch_discount", 0.5) if batch else dollars


def usage_cost(model: str, usage, *, batch: bool = False) -> float | None:
    """The cost of one answer's reported :class:`~gemini_magic.response.Usage`."""
    return cost(model, usage.prompt_tokens, usage.response_tokens + usage.thinking_tokens, batch=batch)


def dollars(value: float | None) -> str:
    """``$0.0012``: enough digits to see a small cost; "no price" for None."""
    if value is None:
        return "no price"
    if value == 0:
        return "$0"
    if value >= 1:
        return f"${value:,.2f}"
    if value < 0.0001:
        return "$" + f"{value:.8f}".rstrip("0")[:10]
    return f"${value:.4f}"


def source_line() -> str:
    info = shipped()
    return f"prices as of {info['as_of']} from {info['source']}"
