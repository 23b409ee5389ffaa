"""The interactive Variants… window: thumbnails of the active result layer's variants.

A click on a thumbnail shows that variant on the layer (in place, one undo step); "Keep this
one" and "Keep all as layers" end the comparison; "Refine" edits the shown variant with the
follow-up typed beside it (its images join as a new round and the thumbnails grow). Main thread.
"""

from __future__ import annotations

from typing import Any

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
gi.require_version("GdkPixbuf", "2.0")
from gi.repository import GdkPixbuf, Gimp, GimpUi, GLib, Gtk  # noqa: E402

from core.errors import GptImageError  # noqa: E402
from core.history import History  # noqa: E402
from core.variants import ResultStack  # noqa: E402

from . import logs, variants  # noqa: E402

log = logs.get("variants")
THUMB_PX = 96
THUMBS_PER_LINE = 5
#: The thumbnails' area grows up to this height, then scrolls (4 lines of thumbnails).
THUMBS_MAX_PX = 540
RESPONSE_KEEP_ONE, RESPONSE_KEEP_ALL = 1, 2


class VariantsWindow:
    """``window`` is a ``GimpUi.Dialog``; ``layer``/``stack`` follow every action."""

    def __init__(self, image: Gimp.Image, layer: Gimp.Layer, stack: ResultStack, settings: Any):
        self.image, self.layer, self.stack, self.settings = image, layer, stack, settings
        self.result_layer = layer
        self.window = GimpUi.Dialog(title="GPT Image: Variants", role="gpt-image-variants")
        self.window.add_button("Keep _this one", RESPONSE_KEEP_ONE)
        self.window.add_button("Keep _all as layers", RESPONSE_KEEP_ALL)
        self.window.add_button("_Close", Gtk.ResponseType.CLOSE)
        box = self.window.get_content_area()
        self.title = Gtk.Label(xalign=0.0, wrap=True)
        self.title.set_max_width_chars(80)
        self.grid = Gtk.FlowBox(
            max_children_per_line=THUMBS_PER_LINE, selection_mode=Gtk.SelectionMode.NONE
        )
        self.grid.set_valign(Gtk.Align.START)
        # The thumbnails scroll: 30 variants (3 rounds of 10) asked for 1183 px of height, and
        # refining adds rounds without end. The window grows with them up to THUMBS_MAX_PX.
        self.thumbs = Gtk.ScrolledWindow(hscrollbar_policy=Gtk.PolicyType.NEVER)
        self.thumbs.set_name("gptImageVariantsScroll")
        self.thumbs.set_propagate_natural_width(True)
        self.thumbs.set_propagate_natural_height(True)
        self.thumbs.set_max_content_height(THUMBS_MAX_PX)
        self.thumbs.add(self.grid)
        row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=6)
        self.follow_up = Gtk.Entry(placeholder_text="Follow-up, e.g. “make the hat red”")
        self.follow_up.set_hexpand(True)
        self.refine_button = Gtk.Button(label="_Refine this result", use_underline=True)
        self.refine_button.connect("clicked", lambda *_: self.refine())
        row.pack_start(self.follow_up, True, True, 0)
        row.pack_start(self.refine_button, False, False, 0)
        self.status = Gtk.Label(xalign=0.0, wrap=True)  # an error's reason can be long
        self.status.set_max_width_chars(80)
        for widget in (self.title, self.thumbs, row, self.status):
            widget.set_margin_start(12)
            widget.set_margin_end(12)
            widget.set_margin_top(6)
            box.pack_start(widget, widget is self.thumbs, True, 0)
        self.buttons: list[Gtk.Button] = []
        self.texts: list[Gtk.Label] = []
        self._keys: list[tuple[str, int]] | None = None
        self.fill()

    # --- building ---

    def fill(self) -> None:
        """The thumbnails of the stack's variants, the shown one marked. A flip only moves the
        mark (the thumbnails, their decoding and the scroll position stay); new variants (a
        refine) rebuild the grid and scroll to the one shown."""
        items = list(self.stack.variants())
        keys = [(item.history_id, item.index) for item in items]
        rebuilt = keys != self._keys
        if rebuilt:
            self._build(items)
            self._keys = keys
        current = self.stack.position
        for flat, (text, item) in enumerate(zip(self.texts, items, strict=True)):
            text.set_text(("▶ " if flat == current else "") + item.label())
        self.title.set_text(
            f"{self.layer.get_name()}: {self.stack.count} variant(s) in "
            f"{len(self.stack.rounds)} round(s). Click one to show it (Ctrl+Z goes back)."
        )
        self.window.show_all()
        if rebuilt and 0 <= current < len(self.buttons):
            GLib.idle_add(self._scroll_to, self.buttons[current])

    def _build(self, items: list) -> None:
        for child in self.grid.get_children():
            self.grid.remove(child)
        self.buttons, self.texts = [], []
        history = History.from_settings(self.settings)
        for flat, item in enumerate(items):
            button = Gtk.Button()
            inner = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=2)
            picture = self._thumbnail(history, item.history_id, item.index)
            if picture is not None:
                inner.pack_start(picture, False, False, 0)
            text = Gtk.Label(label=item.label())
            text.set_line_wrap(True)
            text.set_max_width_chars(18)
            inner.pack_start(text, False, False, 0)
            button.add(inner)
            button.set_tooltip_text(item.info.prompt)
            button.connect("clicked", lambda _b, f=flat: self.show(f))
            self.grid.add(button)
            self.buttons.append(button)
            self.texts.append(text)

    def _scroll_to(self, button: Gtk.Button) -> bool:
        """Bring ``button`` into the thumbnails' view (once laid out; an idle callback)."""
        point = button.translate_coordinates(self.grid, 0, 0)
        if point is not None:
            adjustment = self.thumbs.get_vadjustment()
            top, height = point[1], button.get_allocated_height()
            page = adjustment.get_page_size()
            if top < adjustment.get_value() or top + height > adjustment.get_value() + page:
                adjustment.set_value(max(0, top + height - page))
        return False

    @staticmethod
    def _thumbnail(history: History, history_id: str, index: int) -> Gtk.Image | None:
        try:
            path = history.get(history_id).images[index]
            pixbuf = GdkPixbuf.Pixbuf.new_from_file_at_scale(str(path), THUMB_PX, THUMB_PX, True)
            return Gtk.Image.new_from_pixbuf(pixbuf)
        except Exception:  # a deleted entry: the label still says what it was
            return None

    # --- actions ---

    def show(self, flat: int) -> None:
        try:
            self.stack = variants.flip(
                self.image, self.layer, self.stack.show_at(flat), self.settings
            )
        except GptImageError as error:
            self.status.set_text(error.for_people())
            return
        self.status.set_text(f"Showing {self.stack.current.label()}")
        self.fill()

    def refine(self) -> None:
        from .job import image_label
        from .session import _progress

        text = self.follow_up.get_text().strip()
        if not text:
            self.status.set_text("Type the follow-up first: what to change in the shown variant.")
            return
        from core.pricing import cost_line

        from .progress_window import ProgressWindow

        self.status.set_text("Refining…")
        self.refine_button.set_sensitive(False)
        progress = ProgressWindow(text, "GPT Image: Refine")  # its Cancel cancels cleanly
        try:
            self.layer, self.stack, result = variants.refine(
                self.image,
                [self.layer],
                text,
                self.settings,
                _progress(progress),
                image_label(self.image),
            )
            self.status.set_text(
                f"Round {len(self.stack.rounds)} added — "
                f"{cost_line(result.cost_usd, result.estimate_usd)}."
            )
        except GptImageError as error:
            log.info("refine: %s", error.to_dict())
            self.status.set_text(error.for_people())
        finally:
            progress.close()
            self.refine_button.set_sensitive(True)
        self.fill()

    def run(self) -> Gimp.Layer:
        """Until Close (or a keep); returns the result layer (a group after keep-all)."""
        while True:
            response = self.window.run()
            if response == RESPONSE_KEEP_ONE:
                self.stack = variants.run_action(
                    self.image, [self.layer], "keep-one", 0, self.settings
                )[1]
            elif response == RESPONSE_KEEP_ALL:
                self.result_layer, _ = variants.run_action(
                    self.image, [self.layer], "keep-all", 0, self.settings
                )
            break
        self.window.destroy()
        return self.result_layer


def run_window(image: Gimp.Image, drawables: Any, settings: Any) -> tuple[Gimp.Layer, ResultStack]:
    GimpUi.init("gpt-image")
    layer, stack = variants.result_layer(drawables)
    window = VariantsWindow(image, layer, stack, settings)
    result = window.run()
    return result, window.stack
