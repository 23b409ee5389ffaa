"""ImageRequest → the exact SDK call: which endpoint, which parameters, streaming or not.

Only what the model accepts is sent (capabilities from ``core.models``); invalid local input is
an ``InputError`` before anything goes over the network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InputError
from .models import ALL_QUALITIES, ModelCaps, capabilities
from .options import check_transparency_format, option

MAX_PROMPT_CHARS = 32000
MAX_N = option("n").maximum
FORMATS = option("output_format").choices
BACKGROUNDS = option("background").choices
MODERATIONS = option("moderation").choices
FIDELITIES = ("high", "low")
ACCEPTED_MIMES = ("image/png", "image/jpeg", "image/webp")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SIZE = re.compile(r"^[1-9][0-9]*x[1-9][0-9]*$")


@dataclass(frozen=True)
class InputImage:
    """An encoded image file to upload (PNG, JPEG or WebP bytes)."""

    name: str
    data: bytes = field(repr=False)
    mime: str

    def as_file(self) -> tuple[str, bytes, str]:
        """The SDK's file tuple: bare bytes would go out as octet-stream, which the API rejects."""
        return (self.name, self.data, self.mime)


@dataclass(frozen=True)
class ImageRequest:
    """One image job. ``image`` is the picture being edited; ``references`` guide it."""

    prompt: str
    model: str
    size: str = "auto"
    quality: str = "auto"
    n: int = 1
    output_format: str = "png"
    output_compression: int | None = None
    background: str | None = None
    moderation: str | None = None
    partial_images: int = 0
    user: str | None = None
    image: InputImage | None = None
    mask: bytes | None = field(default=None, repr=False)
    references: tuple[InputImage, ...] = ()
    input_fidelity: str | None = None

    @property
    def is_edit(self) -> bool:
        return self.image is not None or bool(self.references)

    @property
    def input_images(self) -> list[InputImage]:
        """What goes up as ``image``: the edited image first, then the references."""
        return ([self.image] if self.image is not None else []) + list(self.references)


@dataclass(frozen=True)
class Call:
    """One SDK call: ``images.generate`` or ``images.edit`` with these keyword arguments."""

    endpoint: str  # "generations" | "edits"
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def stream(self) -> bool:
        return bool(self.kwargs.get("stream"))


#: What the client assumes of a model the table does not know: anything goes (the API decides).
_TOLERANT = ModelCaps("unknown", "flexible", qualities=ALL_QUALITIES, transparent=True)


def lookup_caps(model: str, custom: Mapping[str, str] | None = None) -> ModelCaps:
    """Capabilities from ``core.models``; an unknown name gets tolerant ones.

    The client stays tolerant: refusing unknown models is the job layer's call, and a model the
    table doesn't know yet should still be reachable (the API will say no if not).
    """
    try:
        return capabilities(model, custom)
    except InputError:
        return replace(_TOLERANT, name=model)


def build_call(request: ImageRequest, caps: ModelCaps) -> Call:
    """Validate ``request`` and turn it into the SDK call; ``InputError`` names what is wrong."""
    validate(request, caps)
    kwargs: dict[str, Any] = {
        "model": request.model,
        "prompt": request.prompt,
        "n": request.n,
        "size": request.size,
        "quality": request.quality,
        "output_format": request.output_format,
    }
    if request.output_compression is not None and request.output_format in ("jpeg", "webp"):
        kwargs["output_compression"] = request.output_compression
    if request.user:
        kwargs["user"] = request.user
    # Streaming attributes partials to one image; with n > 1 the events can't be told apart.
    if request.partial_images > 0 and request.n == 1:
        kwargs["stream"] = True
        kwargs["partial_images"] = request.partial_images
    if not request.is_edit:
        if request.background:
            kwargs["background"] = request.background
        if request.moderation:
            kwargs["moderation"] = request.moderation
        return Call("generations", kwargs)
    files = [img.as_file() for img in request.input_images]
    kwargs["image"] = files[0] if len(files) == 1 else files
    if request.mask is not None:
        kwargs["mask"] = ("mask.png", request.mask, "image/png")
    # Under "auto", edits have come back partly transparent: ask for opaque unless told otherwise.
    kwargs["background"] = "transparent" if request.background == "transparent" else "opaque"
    if request.input_fidelity and caps.input_fidelity:
        kwargs["input_fidelity"] = request.input_fidelity
    if request.moderation and caps.moderation_on_edits:
        kwargs["extra_body"] = {"moderation": request.moderation}
    return Call("edits", kwargs)


def validate(request: ImageRequest, caps: ModelCaps) -> None:
    prompt = request.prompt or ""
    if not prompt.strip():
        raise InputError("The prompt is empty.", hint="Describe what you want to see.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(
            f"The prompt has {len(prompt)} characters; the API accepts at most {MAX_PROMPT_CHARS}.",
            hint="Shorten the prompt.",
        )
    if not request.model:
        raise InputError("No model given.", hint="Choose a model in settings, e.g. gpt-image-2.")
    if isinstance(request.n, bool) or not isinstance(request.n, int) or not 1 <= request.n <= MAX_N:
        raise InputError(
            f"Number of images must be 1–{MAX_N}, not {request.n!r}.",
            hint="Pick 1 to 10 variations.",
        )
    option("quality").check(request.quality, caps)
    _choice("output format", request.output_format, FORMATS)
    if request.background is not None:
        _choice("background", request.background, BACKGROUNDS)
    if request.moderation is not None:
        _choice("moderation", request.moderation, MODERATIONS)
    if request.input_fidelity is not None:
        _choice("input fidelity", request.input_fidelity, FIDELITIES)
    if request.size != "auto" and not _SIZE.match(str(request.size)):
        raise InputError(
            f"Size {request.size!r} is not 'auto' or WIDTHxHEIGHT.",
            hint="Use e.g. 1024x1024 or auto.",
        )
    compression = request.output_compression
    if compression is not None and (
        isinstance(compression, bool)
        or not isinstance(compression, int)
        or not 0 <= compression <= 100
    ):
        raise InputError(f"Output compression must be 0–100, not {compression!r}.")
    if not 0 <= request.partial_images <= caps.max_partials:
        raise InputError(
            f"Partial images must be 0–{caps.max_partials}, not {request.partial_images}.",
            hint="Use 0 to turn previews off.",
        )
    if request.background == "transparent":
        if not caps.transparent:
            raise InputError(
                f"{request.model} can't make transparent backgrounds.",
                hint="Choose opaque or auto, or a model that supports transparency.",
            )
        check_transparency_format(request.background, request.output_format)
    _validate_images(request, caps)


def _validate_images(request: ImageRequest, caps: ModelCaps) -> None:
    images = request.input_images
    if len(images) > caps.max_input_images:
        raise InputError(
            f"{len(images)} input images; the API accepts at most {caps.max_input_images} "
            f"(the image being edited plus {caps.max_input_images - 1} references).",
            hint="Remove some references.",
        )
    for image in images:
        _check_image(image)
    if request.mask is not None:
        if request.image is None:
            raise InputError(
                "A mask needs an image to edit.", hint="Send the canvas crop as the image."
            )
        if not bytes(request.mask[:8]) == PNG_SIGNATURE:
            raise InputError(
                "The mask must be a PNG file (with an alpha channel).",
                hint="Encode the mask as RGBA PNG; alpha 0 marks the area to edit.",
            )


def _check_image(image: InputImage) -> None:
    if image.mime not in ACCEPTED_MIMES:
        raise InputError(
            f"Image {image.name!r} has type {image.mime!r}; the API accepts PNG, JPEG or WebP.",
            hint="Convert the image to PNG.",
        )
    if not image.data:
        raise InputError(f"Image {image.name!r} is empty.")


def _choice(label: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(f"Invalid {label} {value!r}.", hint=f"Use one of: {', '.join(allowed)}.")
