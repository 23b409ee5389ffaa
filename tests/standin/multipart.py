"""multipart/form-data parsing with the stdlib ``email`` package (``cgi`` is gone in 3.13)."""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP

from .api_errors import ApiError


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str | None  # None when the part carried no Content-Type header
    data: bytes

    @property
    def is_file(self) -> bool:
        return self.filename is not None

    def text(self) -> str:
        return self.data.decode("utf-8")


def parse_multipart(content_type: str, body: bytes) -> list[Part]:
    """Split a form body into parts, keeping repeated names (``image[]``) in order."""
    if "boundary=" not in content_type:
        raise ApiError(400, "Invalid multipart body: missing boundary.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ApiError(400, "Invalid multipart body.")
    parts: list[Part] = []
    for sub in message.iter_parts():
        name = sub.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = sub.get_payload(decode=True) or b""
        raw_type = sub.get("Content-Type")
        parts.append(
            Part(
                name=str(name),
                filename=sub.get_filename(),
                content_type=sub.get_content_type() if raw_type else None,
                data=payload,
            )
        )
    return parts
