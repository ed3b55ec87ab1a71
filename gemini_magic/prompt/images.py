"""Images to send: PIL images, matplotlib figures, PNG/JPEG/WebP bytes and image files."""

from __future__ import annotations

from typing import Any, Mapping

from .parts import Image, PromptError

IMAGE_SUFFIXES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
}


_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def _sniff(data: bytes):
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def to_image(value: Any, *, strict: bool = True):
    """``value`` as an :class:`Image`, or None when it is not an image.

    With ``strict`` a value that is no image raises :class:`PromptError`;
    a ``str`` is then read as a path. Bytes that are not PNG, JPEG or WebP
    always raise: they cannot be sent as text either.
    """
    if isinstance(value, Image):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        mime = _sniff(data)
        if mime is None:
            raise PromptError(f"{len(data):,} bytes that are not a PNG, JPEG or WebP image")
        return Image(mime, data)
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
            return Image("image/png", buffer.getvalue())
    if module.startswith("IPython.") and cls.__name__ == "Image" and isinstance(getattr(value, "data", None), bytes):
        return to_image(value.data)
    if hasattr(value, "__fspath__") or (strict and isinstance(value, str)):
        return _image_file(value, strict)
    if strict:
        raise PromptError(
            f"a {cls.__name__} is not an image (give a PIL image, a matplotlib Figure, "
            "PNG/JPEG bytes or the path of an image file)"
        )
    return None


def load_image(name: str, namespace: Mapping[str, Any]) -> Image:
    """The image for ``--image NAME``: a variable holding an image (or a path), else a file."""
    import os

    try:
        if name in namespace:
            return to_image(namespace[name])
        if os.path.isfile(name):
            return to_image(name)
    except PromptError as error:
        raise PromptError(f"--image {name}: {error}") from None
    raise PromptError(f"--image {name}: no variable named {name!r} and no image file by that name")


def _pil_image(image) -> Image:
    import io

    buffer = io.BytesIO()
    if image.format == "JPEG":
        image.save(buffer, format="JPEG")
        return Image("image/jpeg", buffer.getvalue())
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I", "I;16"):
        image = image.convert("RGBA")
    image.save(buffer, format="PNG")
    return Image("image/png", buffer.getvalue())


def _image_file(path, strict: bool):
    import os

    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    mime = IMAGE_SUFFIXES.get(suffix)
    if mime is None:
        if strict:
            raise PromptError(f"{path!r}: not an image file (expected {', '.join(IMAGE_SUFFIXES)})")
        return None
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise PromptError(f"{path!r}: cannot read the image ({error.strerror or error})") from None
    return Image(_sniff(data) or mime, data)
