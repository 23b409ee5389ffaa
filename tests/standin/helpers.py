"""Helpers for tests that drive core.client against the stand-in (images, masks, clients)."""

from __future__ import annotations

import io

from PIL import Image

from core.client import Connection, ImageClient, InputImage
from core.retry import RetryPolicy

KEY = "sk-test-Zq7WcYv3Lr9pKx2M"  # distinctive, so a leak is easy to find
FAST_RETRIES = RetryPolicy(max_retries=2, base_delay_s=0.05, max_delay_s=0.2)


def png(size: tuple[int, int], color: tuple[int, ...] = (200, 40, 40), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def mask_png(size: tuple[int, int], box: tuple[int, int, int, int]) -> bytes:
    """Opaque everywhere except ``box`` (alpha 0 = the area to edit)."""
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), box)
    return encoded(mask)


def input_image(
    size: tuple[int, int], color: tuple[int, int, int] = (200, 40, 40), name: str = "canvas.png"
) -> InputImage:
    return InputImage(name, png(size, color), "image/png")


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def make_client(
    standin,
    *,
    key: str = KEY,
    timeout_s: float = 10.0,
    policy: RetryPolicy | None = FAST_RETRIES,
    **conn,
) -> ImageClient:
    connection = Connection(api_key=key, base_url=standin.base_url, timeout_s=timeout_s, **conn)
    return ImageClient(connection, retry_policy=policy)
