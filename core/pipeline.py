"""From "this canvas, this selection, this model" to upload files, and from a result back to a layer.

Coordinate spaces, each named where it is used:

- **canvas**: document pixels, origin top-left. ``Plan.crop``, ``LayerPatch.bounds`` and the
  selection's ``origin`` live here.
- **crop**: the box sent to the API, grown around the selection (plus padding) to the API
  size's aspect. It lies inside the canvas unless the canvas itself is too elongated for the
  API's 3:1 limit; then ``Plan.source_bounds`` (crop ∩ canvas) is what hosts read and write.
- **api**: ``Plan.api_size`` pixels. crop → api is one uniform resize (none at native scale) and
  api → crop is its exact inverse, whatever size the API actually sent back.

No step needs the whole canvas in memory: planning needs sizes, uploading needs the crop.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat

from . import png_bands, png_rows, resample
from .errors import InputError
from .geometry import Bounds, Extent
from .lazynp import np
from .models import DEFAULT_MODEL, capabilities
from .options import default, option
from .pixels import is_opaque
from .selection import SelectionMask
from .sizing import size_crop, snap_size

RESAMPLE = Image.Resampling.LANCZOS
#: API masks above this are refused; ours are nearly constant and compress far below it.
MAX_MASK_BYTES = 4 * 1024 * 1024
#: Extra grow (canvas px) of the API edit area beyond the blend area, so resampling the mask to
#: the API size never leaves blended pixels where the model was told to keep the original.
MASK_SAFETY_PX = 2


class Mode(str, Enum):
    EDIT_SELECTION = "edit_selection"
    EDIT_IMAGE = "edit_image"
    GENERATE = "generate"
    EXPAND = "expand"  # a masked edit of a grown canvas: core/expand.py plans it


@dataclass(frozen=True)
class BlendOptions:
    """How much context is sent around a selection and how the result is blended back."""

    padding_px: int = default("padding_px")
    grow_px: int = default("grow_px")
    feather_px: int = default("feather_px")
    #: Correct the result's overall colour drift, measured where the model was told to keep the
    #: picture, so the blended edge shows no seam.
    match_colour: bool = default("match_colour")

    def __post_init__(self) -> None:
        for name in ("padding_px", "grow_px", "feather_px"):
            option(name).check(getattr(self, name))

    @property
    def reach_px(self) -> int:
        """How far past the selection the blended area can extend."""
        return self.grow_px + 2 * self.feather_px


@dataclass(frozen=True)
class Plan:
    """Everything decided before any pixel is read: where, at what size, for which model."""

    mode: Mode
    model: str
    canvas: Extent
    crop: Bounds
    api_size: Extent
    selection: SelectionMask | None = field(default=None, repr=False)
    blend: BlendOptions = BlendOptions()
    #: For ``Mode.EXPAND``: the original inside the new canvas (``core.expand.Expansion``).
    expansion: Any = field(default=None, repr=False)

    @property
    def scale(self) -> float:
        """API pixels per canvas pixel (uniform: both axes agree within one source pixel)."""
        return self.api_size.width / self.crop.width

    @property
    def source_bounds(self) -> Bounds:
        """The part of the crop that lies on the canvas: what hosts read and results cover."""
        return self.crop.intersect(Bounds.of_extent(self.canvas))

    @property
    def masked(self) -> bool:
        return self.selection is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode.value,
            "model": self.model,
            "canvas": list(self.canvas),
            "crop": list(self.crop),
            "api_size": str(self.api_size),
            "scale": round(self.scale, 6),
            "masked": self.masked,
            "blend": {
                "padding_px": self.blend.padding_px,
                "grow_px": self.blend.grow_px,
                "feather_px": self.blend.feather_px,
                "match_colour": self.blend.match_colour,
            },
            **({"expansion": self.expansion.to_dict()} if self.expansion is not None else {}),
        }


@dataclass(frozen=True)
class Upload:
    """The exact files the API receives (PNG bytes); ``None`` when a mode sends none.

    A freshly built upload also keeps, in memory only, what applying a result needs again:
    ``sent`` (the uploaded picture, API size, RGBA), ``keep`` (API size, ``L``, 255 where the
    model was told to keep the picture) and ``blend`` (the blend mask over ``plan.crop``), so
    nothing is decoded or computed twice. Uploads read back from history have none of them.
    """

    image_png: bytes | None
    mask_png: bytes | None
    sent: Image.Image | None = field(default=None, repr=False, compare=False)
    keep: Image.Image | None = field(default=None, repr=False, compare=False)
    blend: Image.Image | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class LayerPatch:
    """A result placed on the canvas: unmasked pixels plus the mask that blends them in."""

    bounds: Bounds
    image: Image.Image
    mask: Image.Image

    def masked(self) -> Image.Image:
        """The layer with the mask folded into its alpha, for hosts and files without masks."""
        out = self.image.copy()
        out.putalpha(ImageChops.multiply(self.image.getchannel("A"), self.mask))
        return out


def plan_job(
    mode: Mode | str,
    canvas: Extent,
    selection: SelectionMask | None,
    *,
    model: str = DEFAULT_MODEL,
    resolution: str | Extent = "auto",
    blend: BlendOptions | None = None,
    custom_models: Mapping[str, str] | None = None,
) -> Plan:
    """Decide crop, API size and mask for a job; raises InputError with a reason if it can't."""
    mode = Mode(mode)
    blend = blend or BlendOptions()
    caps = capabilities(model, custom_models)
    if canvas.width <= 0 or canvas.height <= 0:
        raise InputError(f"The canvas is empty ({canvas}).")
    whole = Bounds.of_extent(canvas)
    content = _selected_area(selection, whole)

    if mode is Mode.GENERATE:
        target = content or whole
        api_size = snap_size(target.extent, caps, resolution, room=target.extent)
        return Plan(
            mode, caps.name, canvas, target, api_size, selection if content else None, blend
        )

    if mode is Mode.EDIT_SELECTION:
        if selection is None:
            raise InputError(
                "Edit selection needs a selection.",
                hint="Select the area to change, or use Edit image for the whole picture.",
            )
        if content is None:
            raise InputError(
                "The selection is empty.",
                hint="Select the area to change, or use Edit image for the whole picture.",
            )
        if selection.covers(canvas):
            mode, selection = Mode.EDIT_IMAGE, None
    if mode is Mode.EDIT_IMAGE:
        selection, want = None, whole
    else:
        assert content is not None
        want = content.pad(blend.padding_px + blend.reach_px).intersect(whole)

    sized = size_crop(want.extent, caps, resolution, room=canvas)
    crop = _place(want, sized.crop, canvas)
    return Plan(mode, caps.name, canvas, crop, sized.api_size, selection, blend)


def build_upload(plan: Plan, source_pixels: Image.Image | None) -> Upload:
    """The image (and mask) files for the API from the pixels of ``plan.source_bounds``."""
    if plan.mode is Mode.GENERATE:
        return Upload(None, None)
    if source_pixels is None:
        raise InputError("An edit needs the pixels of the area to edit.")
    if source_pixels.size != plan.source_bounds.extent:
        raise InputError(
            f"Got {source_pixels.size[0]}x{source_pixels.size[1]} pixels for a "
            f"{plan.source_bounds.width}x{plan.source_bounds.height} area."
        )
    if source_pixels.mode == "RGB":  # opaque as it is: no alpha to add, carry or resize
        source, opaque = source_pixels, True
    else:
        source = source_pixels if source_pixels.mode == "RGBA" else source_pixels.convert("RGBA")
        opaque = is_opaque(source)
        if opaque and source.size != plan.api_size:  # RGB resizes without premultiplied copies
            source = _rgb_resized(plan, source) or source.convert("RGB")
    crop = _to_crop(plan, source)
    image = crop if crop.size == plan.api_size else resample.resize(crop, plan.api_size, RESAMPLE)
    if opaque and image.mode != "RGB":
        image = image.convert("RGB")  # opaque pixels go up opaque: no alpha for the model to read
    # The picture's encode releases the GIL: it runs beside the masks on a second core.
    with ThreadPoolExecutor(1, thread_name_prefix="gpt-image-encode") as pool:
        image_png = pool.submit(_encode_png, image)
        if not plan.masked:
            return Upload(image_png.result(), None, sent=image)
        blend = blend_mask(plan, plan.crop)
        mask = api_mask(plan, blend)
        mask_png = _encode_mask(mask)
        return Upload(
            image_png.result(), mask_png, sent=image, keep=mask.getchannel("A"), blend=blend
        )


#: Rows of an opaque RGBA crop made RGB at a time, while ``_rgb_resized``'s resize works on the
#: rows before them.
RGB_STEP_ROWS = 128


def _rgb_resized(plan: Plan, source: Image.Image) -> Image.Image | None:
    """An opaque RGBA crop (``source``) resized to the API size as the RGB picture it is: a
    band of rows at a time is made RGB, and the resize's horizontal pass starts on each band at
    once (``resample.Resizing``, on the other cores), instead of all of it being converted first
    on one core. ``None`` (nothing left running) when the crop needs padding first or the
    resize is not done in bands: the caller converts it whole. Same bytes as converting first:
    an opaque RGBA pixel pasted into RGB is what converting it gives."""
    if plan.source_bounds != plan.crop:
        return None
    width, height = source.size
    rgb = Image.new("RGB", source.size, None)  # every row is pasted over before it is read
    resizing = resample.Resizing(rgb, plan.api_size, RESAMPLE)
    if not resizing.takes_rows:
        resizing.close()
        return None
    try:
        for top in range(0, height, RGB_STEP_ROWS):
            bottom = min(height, top + RGB_STEP_ROWS)
            rgb.paste(source.crop((0, top, width, bottom)), (0, top))  # RGB ← RGBA: the colours
            resizing.ready(bottom)
        return resizing.result()
    except BaseException:
        resizing.close()
        raise


def api_mask(plan: Plan, blend: Image.Image | None = None) -> Image.Image:
    """RGBA at the API size: alpha 0 where the model may paint, 255 where it must keep.

    ``blend`` is ``blend_mask(plan, plan.crop)`` when the caller has it already.
    """
    blend = blend if blend is not None else blend_mask(plan, plan.crop)
    edit = grow(blend.point(lambda v: 255 if v else 0), MASK_SAFETY_PX)
    if edit.size != plan.api_size:
        # Any coverage after bilinear resampling counts as "edit": never shrink the edit area.
        edit = edit.resize(plan.api_size, Image.Resampling.BILINEAR).point(
            lambda v: 255 if v else 0
        )
    mask = Image.new("RGBA", plan.api_size, (0, 0, 0, 255))
    mask.putalpha(ImageOps.invert(edit))
    return mask


def blend_mask(plan: Plan, area: Bounds) -> Image.Image:
    """The selection grown and feathered over ``area`` (canvas px): 255 = use the result."""
    if plan.selection is None:
        return Image.new("L", area.extent, 255)
    margin = plan.blend.reach_px + 1
    padded = area.pad(margin)
    # Only near the selection's own box can the mask be above zero: grow and blur just that
    # (a margin of zeros around it keeps the blur's edge handling exactly as over all of area).
    work = padded.intersect(plan.selection.bounds.pad(margin))
    out = Image.new("L", area.extent, 0)
    if work.is_empty:
        return out
    coverage = grown_and_feathered(
        plan.selection.region(work), plan.blend.grow_px, plan.blend.feather_px / 2
    )
    out.paste(coverage, work.relative_to(area.offset).offset)
    return out


#: Tiles (px) in which ``grown_and_feathered`` works: only those near an edge are computed.
FEATHER_TILE = 96
#: Box-blur passes Pillow's ``GaussianBlur`` makes (its ``ImagingGaussianBlur``).
_BLUR_PASSES = 3


def _blur_reach(sigma: float) -> int:
    """How far (px, per axis) an input pixel can reach through Pillow's ``GaussianBlur(sigma)``:
    three box blurs, each of radius ``l + a`` (0 ≤ a < 1) as Pillow derives it from sigma."""
    if sigma <= 0:
        return 0
    variance = sigma * sigma / _BLUR_PASSES
    box = int((math.sqrt(12 * variance + 1) - 1) / 2)
    return _BLUR_PASSES * (box + 1) + 1


def grown_and_feathered(coverage: Image.Image, grow_px: int, sigma: float) -> Image.Image:
    """``grow(coverage, grow_px)`` blurred by ``GaussianBlur(sigma)``, value for value, but only
    computed in the tiles near an edge: where everything within reach is 0 (or 255), the result
    is that value (a grow or a blur of a constant is the constant). A selection's inside and
    outside are most of the area; its edge is a thin line."""
    reach = grow_px + _blur_reach(sigma)

    def computed(part: Image.Image) -> Image.Image:
        part = grow(part, grow_px)
        return part.filter(ImageFilter.GaussianBlur(sigma)) if sigma > 0 else part

    width, height = coverage.size
    rectangle = _hard_rectangle(coverage) if sigma > 0 else None
    if rectangle is not None:
        return _feathered_rectangle(coverage, rectangle, grow_px, sigma, reach)
    if width * height <= (4 * FEATHER_TILE) ** 2:
        return computed(coverage)
    out = coverage.copy()
    for top in range(0, height, FEATHER_TILE):
        bottom = min(top + FEATHER_TILE, height)
        rows = (max(0, top - reach), min(height, bottom + reach))
        edges = [
            left
            for left in range(0, width, FEATHER_TILE)
            if coverage.crop(
                (max(0, left - reach), rows[0], min(width, left + FEATHER_TILE + reach), rows[1])
            ).getextrema()
            not in ((0, 0), (255, 255))
        ]  # elsewhere ``out`` holds the constant already
        for first, last in _runs(edges, FEATHER_TILE):
            right = min(last + FEATHER_TILE, width)
            around = (max(0, first - reach), rows[0], min(width, right + reach), rows[1])
            inner = (first - around[0], top - rows[0], right - around[0], bottom - rows[0])
            out.paste(computed(coverage.crop(around)).crop(inner), (first, top))
    return out


def _hard_rectangle(coverage: Image.Image) -> tuple[int, int, int, int] | None:
    """The box of ``coverage`` when it is a filled rectangle (255) on zeros, else None."""
    box = coverage.getbbox()  # zeros outside it
    if box is None:
        return None
    corners = (
        (box[0], box[1]),
        (box[2] - 1, box[1]),
        (box[0], box[3] - 1),
        (box[2] - 1, box[3] - 1),
    )
    if any(coverage.getpixel(xy) != 255 for xy in corners):  # an ellipse's, a lasso's: at once
        return None
    return box if coverage.crop(box).getextrema() == (255, 255) else None


def _feathered_rectangle(
    coverage: Image.Image, box: tuple[int, int, int, int], grow_px: int, sigma: float, reach: int
) -> Image.Image:
    """``grown_and_feathered`` of a filled rectangle, value for value, from a small one.

    Grown, the rectangle is a larger one; each pass of the blur is local (nothing moves further
    than ``reach``, image edges included), so an output pixel depends only on the input within
    ``reach`` of it. Across a rectangle's middle that input is the same for every column (and
    every row): the middle is cut out down to ``reach`` + 1 pixels inside each edge, the small
    picture is blurred, and its innermost column and row are repeated back to full size."""
    width, height = coverage.size
    left, top = max(0, box[0] - grow_px), max(0, box[1] - grow_px)
    right, bottom = min(width, box[2] + grow_px), min(height, box[3] + grow_px)
    inner = reach - grow_px + 1  # kept inside each edge of the grown rectangle, past the reach
    keep_x = (left + inner, right - inner) if right - left > 2 * inner + 1 else None
    keep_y = (top + inner, bottom - inner) if bottom - top > 2 * inner + 1 else None
    small_w = width - (keep_x[1] - keep_x[0] if keep_x else 0)
    small_h = height - (keep_y[1] - keep_y[0] if keep_y else 0)
    small = Image.new("L", (small_w, small_h), 0)
    small.paste(255, (left, top, right - (width - small_w), bottom - (height - small_h)))
    small = small.filter(ImageFilter.GaussianBlur(sigma))
    small = _repeat_middle(small, keep_x, width, horizontal=True)
    return _repeat_middle(small, keep_y, height, horizontal=False)


def _repeat_middle(
    image: Image.Image, cut: tuple[int, int] | None, length: int, *, horizontal: bool
) -> Image.Image:
    """``image`` with the line before ``cut[0]`` repeated to fill ``cut`` (the full ``length``)."""
    if cut is None:
        return image
    start, end = cut
    width, height = image.size
    if horizontal:
        out = Image.new("L", (length, height))
        out.paste(image.crop((0, 0, start, height)), (0, 0))
        line = image.crop((start - 1, 0, start, height))
        out.paste(line.resize((end - start, height), Image.Resampling.NEAREST), (start, 0))
        out.paste(image.crop((start, 0, width, height)), (end, 0))
    else:
        out = Image.new("L", (width, length))
        out.paste(image.crop((0, 0, width, start)), (0, 0))
        line = image.crop((0, start - 1, width, start))
        out.paste(line.resize((width, end - start), Image.Resampling.NEAREST), (0, start))
        out.paste(image.crop((0, start, width, height)), (0, end))
    return out


def _runs(starts: list[int], step: int) -> list[tuple[int, int]]:
    """Consecutive tile starts as (first, last) runs: each run is computed in one go."""
    runs: list[tuple[int, int]] = []
    for start in starts:
        if runs and runs[-1][1] + step == start:
            runs[-1] = (runs[-1][0], start)
        else:
            runs.append((start, start))
    return runs


def grow(mask: Image.Image, pixels: int) -> Image.Image:
    """Dilate an L mask by ``pixels`` (square window), keeping its soft edge profile.

    Grey-level dilation is a running maximum; done per axis with doubling windows it costs
    about 2·log2(2r+1) ``lighter`` passes instead of r rank filters (~20× faster), over the
    box of what is set (plus ``pixels``) only; a filled hard-edged rectangle (a rectangular
    selection, the edit area of one) is grown without any pass.
    """
    if pixels <= 0:
        return mask
    box = mask.getbbox()  # only near what is set can the result be above zero
    out = Image.new("L", mask.size, 0)
    if box is None:
        return out
    width, height = mask.size
    grown = (
        max(0, box[0] - pixels),
        max(0, box[1] - pixels),
        min(width, box[2] + pixels),
        min(height, box[3] + pixels),
    )
    if mask.crop(box).getextrema() == (255, 255):  # a hard rectangle grows into a larger one
        out.paste(255, grown)
        return out
    part = mask.crop(grown)  # zeros outside ``box``, as the frame around it
    part = _running_max(_running_max(part, pixels, horizontal=True), pixels, horizontal=False)
    out.paste(part, grown[:2])
    return out


def _running_max(image: Image.Image, radius: int, *, horizontal: bool) -> Image.Image:
    width, height = image.size
    # Work on a copy padded by ``radius`` zeros before the start, so windows can look back.
    padded = Image.new("L", (width + radius, height) if horizontal else (width, height + radius))
    padded.paste(image, (radius, 0) if horizontal else (0, radius))

    def shifted(img: Image.Image, by: int) -> Image.Image:
        # img(x + by) over the padded frame; crop past the edge reads zeros, never a maximum.
        w, h = img.size
        return img.crop((by, 0, by + w, h) if horizontal else (0, by, w, by + h))

    span = 2 * radius + 1
    window, covered = padded, 1  # window(x) = max(padded[x : x + covered])
    while covered * 2 <= span:
        window = ImageChops.lighter(window, shifted(window, covered))
        covered *= 2
    # out(x) = max(image[x - r : x + r + 1]) = max(padded[x : x + span]): two windows cover it.
    tail = span - covered
    first = window.crop((0, 0, width, height))
    second = window.crop(
        (tail, 0, tail + width, height) if horizontal else (0, tail, width, tail + height)
    )
    return ImageChops.lighter(first, second)


def build_layer(
    plan: Plan,
    result: Image.Image,
    sent: Image.Image | None = None,
    *,
    upload: Upload | None = None,
) -> LayerPatch:
    """Map one API result back onto the canvas as a layer plus its blend mask.

    ``sent`` is the image that was uploaded; with it, a masked edit's colour drift is corrected
    (``BlendOptions.match_colour``) before blending. ``upload``, the job's freshly built
    ``Upload``, supplies ``sent`` and the masks already computed for it.
    """
    if upload is not None and sent is None:
        sent = upload.sent
    # An opaque (RGB) result stays RGB until it has its final size: resizing RGBA costs a
    # premultiplied copy of the picture each way, for an alpha that is 255 everywhere.
    given = result
    result = result if result.mode in ("RGB", "RGBA") else result.convert("RGBA")
    blend = upload.blend if upload is not None else None
    if plan.masked and plan.blend.match_colour and sent is not None:
        keep = upload.keep if upload is not None else None
        if keep is None:
            keep = api_mask(plan, blend).getchannel("A")
        result = match_colour(result, sent, keep)
    if plan.mode is Mode.GENERATE:
        image = _rgba(ImageOps.fit(result, plan.crop.extent, RESAMPLE), owned=False)
        return LayerPatch(plan.crop, image, blend_mask(plan, plan.crop))
    back = result
    if result.size != plan.crop.extent:  # RGBA band by band: the layer is never copied for it
        back = resample.resize(result, plan.crop.extent, RESAMPLE, result_mode="RGBA")
    return _placed(plan, back, given, blend)


def _placed(
    plan: Plan, back: Image.Image, given: Image.Image, blend: Image.Image | None
) -> LayerPatch:
    """The result at crop size (``back``; ``given`` is the API's picture) as the layer over
    ``plan.source_bounds``; ``blend`` is the blend mask over the crop when the caller has it."""
    bounds = plan.source_bounds
    if bounds != plan.crop:
        back = back.crop(bounds.relative_to(plan.crop.offset).box)
        blend = None  # computed over the crop; the layer covers less (blurs differ at edges)
    if plan.mode is Mode.EXPAND:  # the new area has nothing under it: never leave holes there
        back = back.copy() if back is given else back  # ``result`` stays as the API sent it
        back.putalpha(255)
    else:
        back = _rgba(back, owned=back is not given)
    return LayerPatch(bounds, back, blend if blend is not None else blend_mask(plan, bounds))


class PendingLayer:
    """One result on its way to its layer: decoded already (``image``, what the API sent),
    mapped back by ``patch()``; ``close()`` drops what is still in flight (a job that ends
    without this layer). Made by ``start_layer``."""

    def __init__(
        self,
        plan: Plan,
        image: Image.Image,
        sent: Image.Image | None,
        upload: Upload | None,
        resizing: resample.Resizing | None = None,
    ) -> None:
        self.plan, self.image, self._sent, self._upload = plan, image, sent, upload
        self._resizing = resizing

    def patch(self) -> LayerPatch:
        """The layer (waits for the resize begun while decoding, if one was)."""
        if self._resizing is None:
            return build_layer(self.plan, self.image, self._sent, upload=self._upload)
        back = self._resizing.result()
        blend = self._upload.blend if self._upload is not None else None
        return _placed(self.plan, back, self.image, blend)

    def close(self) -> None:
        if self._resizing is not None:
            self._resizing.close()


def start_layer(
    plan: Plan,
    data: bytes,
    sent: Image.Image | None = None,
    *,
    upload: Upload | None = None,
    ahead: bool = True,
) -> PendingLayer:
    """Decode the API's file ``data`` for ``build_layer`` (same arguments, same layer).

    When the layer is the result resized to the crop and nothing needs the whole result first
    (a colour match measures all of it), the file is decoded by rows and the resize starts on
    each band of rows as soon as it is decoded: the decode (one core) and the resize's first
    pass (all cores) overlap, and that pass goes on until ``patch()``. ``ahead=False`` waits
    for ``patch()`` instead (a job's further results: one first pass in flight at a time, so
    no more memory than one resize). ``OSError`` (or Pillow's own error) for a file that does
    not decode, with nothing left running.
    """
    if upload is not None and sent is None:
        sent = upload.sent
    matching = plan.masked and plan.blend.match_colour and sent is not None
    streams = ahead and not matching and plan.mode is not Mode.GENERATE
    rows = png_rows.open_rows(data) if streams else None
    resizing = (
        None
        if rows is None
        else resample.Resizing(rows.image, plan.crop.extent, RESAMPLE, result_mode="RGBA")
    )
    if rows is None or resizing is None or not resizing.takes_rows:  # same size, small, RGBA
        return PendingLayer(plan, decode(data), sent, upload)
    try:
        for done in rows.rows():
            resizing.ready(done)
    except BaseException:
        resizing.close()
        raise
    return PendingLayer(plan, rows.image, sent, upload, resizing)


def decode(data: bytes) -> Image.Image:
    """An encoded picture (the API's PNG, JPEG or WebP file) decoded whole."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _rgba(image: Image.Image, owned: bool) -> Image.Image:
    """``image`` as RGBA; an RGB image this code made itself (``owned``) gains its alpha in
    place (Pillow stores RGB with a spare byte a pixel), so a large one is not copied."""
    if image.mode == "RGBA":
        return image
    if owned and image.mode == "RGB":
        image.putalpha(255)
        return image
    return image.convert("RGBA")


#: Largest correction match_colour applies: a drift, not an intended change of look.
MAX_GAIN, MAX_OFFSET = 1.25, 32.0
#: Fewer kept pixels than this give no reliable statistics.
MIN_KEPT_PIXELS = 1024


def match_colour(result: Image.Image, sent: Image.Image, keep: Image.Image) -> Image.Image:
    """Shift and scale each colour channel of ``result`` so that, where ``keep`` is 255 (pixels
    the model was asked to leave alone), its mean and spread match ``sent``.

    Image models repaint the whole frame and often drift in brightness or white balance; blended
    through a feathered mask, that drift shows as a halo. The correction is global and bounded, so
    an intended change inside the selection survives.
    """
    size = result.size
    sent = sent if sent.mode in ("RGB", "RGBA") else sent.convert("RGBA")
    sent = sent if sent.size == size else resample.resize(sent, size, RESAMPLE)
    keep = keep if keep.size == size else keep.resize(size, Image.Resampling.NEAREST)
    keep = keep.point(lambda v: 255 if v == 255 else 0)
    if sent.mode == "RGBA":  # an opaque upload went up as RGB: nothing to leave out
        keep = ImageChops.multiply(keep, sent.getchannel("A"))
    kept = ImageStat.Stat(keep).mean[0] / 255 * size[0] * size[1]
    if kept < MIN_KEPT_PIXELS:
        return result
    want = ImageStat.Stat(sent, keep)  # bands R, G, B (and A, unused): no RGB copies
    have = ImageStat.Stat(result, keep)
    tables: list[int] = []
    for channel in range(3):
        spread = have.stddev[channel]
        gain = want.stddev[channel] / spread if spread > 1.0 else 1.0
        gain = min(max(gain, 1 / MAX_GAIN), MAX_GAIN)
        offset = want.mean[channel] - gain * have.mean[channel]
        offset = min(max(offset, -MAX_OFFSET), MAX_OFFSET)
        tables += [min(255, max(0, round(v * gain + offset))) for v in range(256)]
    return result.point([*tables, *range(256)] if result.mode == "RGBA" else tables)


def composite(canvas_pixels: Image.Image, patch: LayerPatch) -> Image.Image:
    """The flattened file output: the canvas with the patch blended in through its mask."""
    out = canvas_pixels.convert("RGBA")  # a copy, whatever the mode
    composite_into(out, patch)
    return out


def composite_into(
    canvas: Image.Image, patch: LayerPatch, under: Image.Image | None = None
) -> None:
    """Blend ``patch`` into ``canvas`` (RGBA, or RGB for a file without alpha) in place.

    ``under`` is what ``canvas`` held in ``patch.bounds`` before any result went in (needed
    when several variants are blended into the same canvas one after the other); by default
    the canvas's current pixels there. Only the patch's box is touched or copied.
    """
    if patch.mask.getextrema() == (255, 255):  # the result covers its whole box
        canvas.paste(patch.image, patch.bounds.offset)  # RGB ← RGBA pastes without a copy
        return
    if under is not None:  # a variant after the first: back to the original pixels first
        canvas.paste(under, patch.bounds.offset)
    # a masked paste is what Image.composite does (on a copy): in place, nothing is copied
    canvas.paste(patch.image, patch.bounds.offset, patch.mask)


# ---------------------------------------------------------------------------------- internals


def _selected_area(selection: SelectionMask | None, whole: Bounds) -> Bounds | None:
    if selection is None:
        return None
    content = selection.content_bounds()
    if content is None:
        return None
    content = content.intersect(whole)
    return None if content.is_empty else content


def _place(want: Bounds, extent: Extent, canvas: Extent) -> Bounds:
    """A box of ``extent`` centred on ``want``, slid inside the canvas where it fits."""

    def axis(start: int, length: int, wanted: int, total: int) -> int:
        if length > total:  # only when the canvas is beyond the API's aspect limit
            return -((length - total) // 2)
        return min(max(start - (length - wanted) // 2, 0), total - length)

    return Bounds(
        axis(want.x, extent.width, want.width, canvas.width),
        axis(want.y, extent.height, want.height, canvas.height),
        extent.width,
        extent.height,
    )


def _to_crop(plan: Plan, source: Image.Image) -> Image.Image:
    """Pad the on-canvas pixels to the full crop by repeating the edge pixels.

    Only a crop wider than the canvas (an exact API aspect on a whole-canvas edit, or a canvas
    beyond the 3:1 limit) needs it. Transparent padding would show the model holes at the edge;
    repeated edge pixels read as more of the same picture, and the padding is cut off again when
    the result is mapped back.
    """
    if plan.source_bounds == plan.crop:
        return source
    inside = plan.source_bounds.relative_to(plan.crop.offset)
    before = (inside.y, inside.x)
    after = (plan.crop.height - inside.y - inside.height, plan.crop.width - inside.x - inside.width)
    pixels = np.asarray(source)
    padded = np.pad(pixels, ((before[0], after[0]), (before[1], after[1]), (0, 0)), mode="edge")
    return Image.fromarray(padded, source.mode)


def _encode_png(
    image: Image.Image, level: int = 1, strategy: int = zlib.Z_DEFAULT_STRATEGY
) -> bytes:
    """Level 1: several times faster than the default for a few % more bytes on upload. RGB
    and RGBA go through ``core.png_bands`` (in bands, on all cores), anything else Pillow."""
    if png_bands.supports(image):
        return png_bands.encode(image, level, strategy)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=level, compress_type=strategy)
    return buffer.getvalue()


def _encode_mask(mask: Image.Image) -> bytes:
    """The mask PNG under the API's 4 MB limit; run-length coding suits its long flat runs."""
    data = _encode_png(mask, strategy=zlib.Z_RLE)
    if len(data) > MAX_MASK_BYTES:  # a very busy selection: spend time on compression
        data = _encode_png(mask, level=6)
    if len(data) > MAX_MASK_BYTES:
        raise InputError(
            "The selection is too intricate: its mask exceeds the API's 4 MB limit.",
            hint="Simplify the selection or use a lower resolution.",
        )
    return data
