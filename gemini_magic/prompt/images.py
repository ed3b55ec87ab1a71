"""Images to send: PIL images, matplotlib figures, PNG/JPEG/WebP bytes and image files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .parts import Blob, PromptError

MAX_FILE_BYTES = 20_000_000  # Gemini's inline limit for a whole request

IMAGE_SUFFIXES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
}


def _sniff(data: bytes):
    from .files import sniff

    mime = sniff(data[:64])
    return mime if mime is not None and mime.startswith("image/") else None


def to_image(value: Any, *, strict: bool = True, max_bytes: int = MAX_FILE_BYTES):
    """``value`` as an :class:`Blob`, or None when it is not an image.

    With ``strict`` a value that is no image raises :class:`PromptError`;
    a ``str`` is then read as a path. Bytes that are not PNG, JPEG or WebP
    always raise: they cannot be sent as text either.
    """
    if isinstance(value, Blob) and value.is_image:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        mime = _sniff(data)
        if mime is None:
            raise PromptError(f"{len(data):,} bytes that are not a PNG, JPEG or WebP image")
        return Blob(mime, data)
    cls = type(value)
    module = cls.__module__ or ""
    if module.startswith("PIL.") and hasattr(value, "save") and hasattr(value, "mode"):
        return _pil_image(value)
    if module.startswith("matplotlib."):
        figure = value if hasattr(value, "savefig") else getattr(value, "figure", None)
        if figure is not None and hasattr(figure, "savefig"):
            import io

            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", bbox_inches="tight")
            return Blob("image/png", buffer.getvalue())
    if module.startswith("IPython.") and cls.__name__ == "Image" and isinstance(getattr(value, "data", None), bytes):
        return to_image(value.data)
    if hasattr(value, "__fspath__") or (strict and isinstance(value, str)):
        return _image_file(value, strict, max_bytes)
    if strict:
        raise PromptError(
            f"a {cls.__name__} is not an image (give a PIL image, a matplotlib Figure, "
            "PNG/JPEG bytes or the path of an image file)"
        )
    return None


def load_image(name: str, namespace: Mapping[str, Any], *, max_bytes: int = MAX_FILE_BYTES) -> Blob:
    """The image for ``--image NAME``: a variable holding an image (or a path), else a file."""
    import os

    try:
        if name in namespace:
            return to_image(namespace[name], max_bytes=max_bytes)
        if os.path.lexists(name):
            return to_image(name, max_bytes=max_bytes)
    except PromptError as error:
        raise PromptError(f"--image {name}: {error}") from None
    raise PromptError(f"--image {name}: no variable named {name!r} and no image file by that name")


def _pil_image(image) -> Blob:
    import io

    buffer = io.BytesIO()
    if image.format == "JPEG":
        image.save(buffer, format="JPEG")
        return Blob("image/jpeg", buffer.getvalue())
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I", "I;16"):
        image = image.convert("RGBA")
    image.save(buffer, format="PNG")
    return Blob("image/png", buffer.getvalue())


def _image_file(path, strict: bool, max_bytes: int):
    import os
    import stat

    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    mime = IMAGE_SUFFIXES.get(suffix)
    if mime is None:
        if strict:
            raise PromptError(f"{path!r}: not an image file (expected {', '.join(IMAGE_SUFFIXES)})")
        return None
    # Look before reading: a device (/dev/zero), a FIFO or a huge file must not hang or fill the kernel.
    try:
        info = os.stat(path)
    except OSError as error:
        raise PromptError(f"{path!r}: cannot read the image ({error.strerror or error})") from None
    if not stat.S_ISREG(info.st_mode):
        raise PromptError(f"{path!r}: not a regular file (a directory, device or pipe), so it is not read")
    if info.st_size == 0:
        raise PromptError(f"{path!r}: the file is empty")
    if info.st_size > max_bytes:
        raise PromptError(
            f"{path!r}: {info.st_size:,} bytes, more than the {max_bytes:,} an image may have here "
            "(GeminiMagics.max_file_bytes)"
        )
    try:
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as error:
        raise PromptError(f"{path!r}: cannot read the image ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise PromptError(f"{path!r}: grew past {max_bytes:,} bytes while being read")
    sniffed = _sniff(data)
    if sniffed is None:
        raise PromptError(f"{path!r}: its bytes are not a PNG, JPEG, WebP or HEIC image, whatever its name says")
    return Blob(sniffed, data)
