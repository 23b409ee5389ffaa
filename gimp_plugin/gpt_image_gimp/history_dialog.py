"""The History… window: past results with thumbnail, prompt, model, cost and date; a search
box; Insert, Reuse prompt and Delete. Main thread only.

Insert keeps the window open (the layer appears at once); Reuse prompt closes it and opens the
Edit…/Generate…/Expand… dialog filled with the entry's prompt and options; Delete asks first
(the images were paid for) and removes the entry from the history Krita and the CLI share.
"""

from __future__ import annotations

from typing import Any

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
from gi.repository import Gimp, GimpUi, Gtk, Pango  # noqa: E402

from core.errors import GptImageError  # noqa: E402
from core.history import JobRecord  # noqa: E402

from . import history, logs  # noqa: E402
from .gtk_images import thumbnail  # noqa: E402

log = logs.get("history")
THUMB_PX = 64
RESPONSE_INSERT, RESPONSE_REUSE, RESPONSE_DELETE = 1, 2, 3
TITLE = "GPT Image: History"


class HistoryWindow:
    """``window`` is a ``GimpUi.Dialog``; ``records`` are the rows shown, in order."""

    def __init__(self, image: Gimp.Image | None, drawables: Any, settings: Any) -> None:
        self.image, self.drawables, self.settings = image, list(drawables or []), settings
        self.records: list[JobRecord] = []
        self.inserted: Gimp.Layer | None = None
        self.reuse: JobRecord | None = None
        self.window = GimpUi.Dialog(title=TITLE, role="gpt-image-history")
        self.window.set_name("gptImageHistory")
        self.window.set_default_size(620, 560)
        self.insert_button = self.window.add_button("_Insert", RESPONSE_INSERT)
        self.reuse_button = self.window.add_button("Reuse _prompt", RESPONSE_REUSE)
        self.delete_button = self.window.add_button("_Delete", RESPONSE_DELETE)
        self.window.add_button("_Close", Gtk.ResponseType.CLOSE)
        self.insert_button.set_tooltip_text(
            "The result again as a layer, through the selection it was made for"
        )
        self.reuse_button.set_tooltip_text("Open the dialog with this prompt and its options")
        box = self.window.get_content_area()
        self.search = Gtk.SearchEntry(placeholder_text="Search prompts")
        self.search.set_name("gptImageHistorySearch")
        self.search.connect("search-changed", lambda *_: self.fill())
        self.list = Gtk.ListBox(selection_mode=Gtk.SelectionMode.SINGLE)
        self.list.set_name("gptImageHistoryList")
        self.list.connect("row-selected", lambda *_: self._sensitivity())
        self.list.connect("row-activated", lambda *_: self.window.response(RESPONSE_INSERT))
        scroller = Gtk.ScrolledWindow(hscrollbar_policy=Gtk.PolicyType.NEVER)
        scroller.set_vexpand(True)
        scroller.add(self.list)
        self.count = Gtk.Label(xalign=0.0)
        self.status = Gtk.Label(xalign=0.0, wrap=True)
        self.status.set_name("gptImageHistoryStatus")
        for widget in (self.search, scroller, self.count, self.status):
            widget.set_margin_start(12)
            widget.set_margin_end(12)
            widget.set_margin_top(6)
            box.pack_start(widget, widget is scroller, True, 0)
        self.fill()
        self.window.show_all()

    # --- the list ---

    def fill(self) -> None:
        for row in self.list.get_children():
            self.list.remove(row)
        try:
            self.records, total = history.entries(self.settings, self.search.get_text())
        except GptImageError as error:
            self.records, total = [], 0
            self.status.set_text(str(error))
        for record in self.records:
            self.list.add(self._row(record))
        text = self.search.get_text().strip()
        if not total:
            self.count.set_text(f"No entries match “{text}”." if text else "No history yet.")
        elif total > len(self.records):
            self.count.set_text(f"The newest {len(self.records)} of {total}; search to narrow.")
        else:
            self.count.set_text(f"{total} entr{'y' if total == 1 else 'ies'}.")
        self.list.show_all()
        if self.records:
            self.list.select_row(self.list.get_row_at_index(0))
        self._sensitivity()

    def _row(self, record: JobRecord) -> Gtk.ListBoxRow:
        row = Gtk.ListBoxRow()
        line = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=8)
        picture = Gtk.Image()
        picture.set_size_request(THUMB_PX, THUMB_PX)
        pixbuf = thumbnail(record.images[0], THUMB_PX) if record.images else None
        if pixbuf is not None:
            picture.set_from_pixbuf(pixbuf)
        else:
            picture.set_from_icon_name("image-missing", Gtk.IconSize.DIALOG)
        texts = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=2)
        title = Gtk.Label(label=history.title_of(record), xalign=0.0)
        title.set_ellipsize(Pango.EllipsizeMode.END)
        title.set_max_width_chars(60)
        details = Gtk.Label(label=history.details_of(record), xalign=0.0)
        details.get_style_context().add_class("dim-label")
        texts.pack_start(title, False, False, 0)
        texts.pack_start(details, False, False, 0)
        line.pack_start(picture, False, False, 0)
        line.pack_start(texts, True, True, 0)
        line.set_border_width(4)
        row.add(line)
        row.set_tooltip_text(f"{record.prompt}\n\n{record.id}")
        return row

    def selected(self) -> JobRecord | None:
        row = self.list.get_selected_row()
        if row is None or not 0 <= row.get_index() < len(self.records):
            return None
        return self.records[row.get_index()]

    def select(self, index: int) -> None:
        self.list.select_row(self.list.get_row_at_index(index))

    def _sensitivity(self) -> None:
        record = self.selected()
        has_image = self.image is not None and self.image.is_valid()
        self.insert_button.set_sensitive(bool(record and record.images and has_image))
        self.reuse_button.set_sensitive(bool(record and record.readable and has_image))
        self.delete_button.set_sensitive(record is not None)

    # --- actions ---

    def insert(self) -> None:
        record = self.selected()
        if record is None or self.image is None:
            return
        try:
            self.inserted = history.insert_record(self.image, self.drawables, record)
        except GptImageError as error:
            self.status.set_text(str(error))
            return
        self.drawables = [self.inserted]
        self.status.set_text(
            f"Inserted “{self.inserted.get_name()}” keeping {len(record.images)} variant(s); "
            "Filters → GPT Image → Variants… flips them."
        )

    def delete(self) -> None:
        record = self.selected()
        if record is None or not self._confirm_delete(record):
            return
        try:
            history.delete_record(self.settings, record.id)
        except GptImageError as error:
            self.status.set_text(str(error))
            return
        self.status.set_text(f"Deleted {record.id} from history.")
        self.fill()

    def _confirm_delete(self, record: JobRecord) -> bool:
        ask = Gtk.MessageDialog(
            transient_for=self.window,
            modal=True,
            message_type=Gtk.MessageType.QUESTION,
            buttons=Gtk.ButtonsType.NONE,
            text="Delete this history entry?",
        )
        ask.format_secondary_text(
            f"“{history.title_of(record)[:80]}”\n\nIts {len(record.images)} image(s) are removed "
            "from disk, for GIMP, Krita and the command line alike. Layers already in images "
            "keep their pixels."
        )
        ask.add_button("_Cancel", Gtk.ResponseType.CANCEL)
        ask.add_button("_Delete", Gtk.ResponseType.OK)
        ask.set_default_response(Gtk.ResponseType.CANCEL)
        try:
            return ask.run() == Gtk.ResponseType.OK
        finally:
            ask.destroy()

    def run(self) -> None:
        """Until Close, or Reuse prompt (``self.reuse`` is then the entry to reuse)."""
        while True:
            response = self.window.run()
            if response == RESPONSE_INSERT:
                self.insert()
            elif response == RESPONSE_DELETE:
                self.delete()
            elif response == RESPONSE_REUSE:
                self.reuse = self.selected()
                if self.reuse is not None:
                    break
            else:
                break
        self.window.destroy()


def run_window(image: Gimp.Image | None, drawables: Any, settings: Any) -> HistoryWindow:
    GimpUi.init("gpt-image")
    window = HistoryWindow(image, drawables, settings)
    window.run()
    return window
