"""What a prompt is made of: text (``str``) and :class:`Image` parts, and the error for one that cannot be built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from ..errors import PromptError

__all__ = ["Image", "Part", "PromptError"]


@dataclass(frozen=True)
class Image:
    """An image to send inline with the prompt."""

    mime_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"Image({self.mime_type!r}, {len(self.data):,} bytes)"


Part = Union[str, Image]
