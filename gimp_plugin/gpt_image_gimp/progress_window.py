"""The window a job shows while the API works: the latest preview, a progress bar, the elapsed
time and Cancel. Main thread only; UI runs only (scripts get no window).

It stands in for GIMP's own status-bar progress on purpose: GIMP's status-bar Cancel kills the
plug-in process outright (``gimp_plug_in_close(plug_in, TRUE)``), mid-request, so the request
could still be billed and history would say "interrupted". While a request is in flight the
plug-in therefore never starts GIMP's progress; this window's Cancel (or closing it) cancels
through the client's cancel token, and the run ends with a true message.
"""

from __future__ import annotations

import time
from typing import Any

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GimpUi, Gtk  # noqa: E402

from core.naming import elapsed_text  # noqa: E402

from . import logs  # noqa: E402
from .gtk_images import pixbuf_from_pil  # noqa: E402

log = logs.get("progress")
PREVIEW_PX = 320


class ProgressWindow:
    """``cancelled`` turns True on Cancel or when the window is closed."""

    def __init__(self, prompt: str, title: str = "GPT Image") -> None:
        self.cancelled = False
        self.opened = time.monotonic()  # the person waits from here (reading, sending, previews)
        self.window = Gtk.Window(title=title)
        self.window.set_name("gptImageProgress")
        self.window.set_type_hint(Gdk.WindowTypeHint.DIALOG)
        self.window.set_position(Gtk.WindowPosition.CENTER)
        self.window.set_keep_above(True)
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
        box.set_border_width(12)
        self.picture = Gtk.Image()
        self.picture.set_size_request(PREVIEW_PX, PREVIEW_PX)
        self.label = Gtk.Label(label=prompt[:80], xalign=0.0)
        self.bar = Gtk.ProgressBar(show_text=True)
        self.bar.set_name("gptImageProgressBar")
        self.bar.set_pulse_step(0.04)
        self.bar.set_text("Starting…")
        self.status = Gtk.Label(label="Starting…", xalign=0.0)
        button = self.cancel_button = Gtk.Button(label="_Cancel", use_underline=True)
        button.set_name("gptImageProgressCancel")
        button.connect("clicked", self._cancel)
        self.window.connect("delete-event", lambda *_: self._cancel() or True)
        for widget in (self.picture, self.label, self.bar, self.status, button):
            box.pack_start(widget, False, False, 0)
        self.window.add(box)
        self.window.realize()
        try:  # over the image window the run was started from (its display's window)
            GimpUi.window_set_transient(self.window)
        except Exception:  # no display (a script under gimp-console): centred on the screen
            log.debug("no window to be transient for", exc_info=True)
        self.window.show_all()
        self.pump()

    def _cancel(self, *_args: Any) -> None:
        self.cancelled = True
        self.status.set_text("Cancelling…")
        self.bar.set_text("Cancelling…")
        self.cancel_button.set_sensitive(False)

    def pump(self) -> None:
        while Gtk.events_pending():
            Gtk.main_iteration_do(False)

    def tick(self, elapsed: float, status: str) -> None:
        """``elapsed``: seconds since the request started; the window shows the longer of that
        and its own time open (the wait includes reading the image)."""
        if not self.cancelled:
            waited = max(elapsed, time.monotonic() - self.opened)
            self.status.set_text(f"{status}… {elapsed_text(waited)}")
            self.bar.set_text(status)
            self.bar.pulse()
        self.pump()

    def show_image(self, image: Any) -> None:
        try:
            self.picture.set_from_pixbuf(pixbuf_from_pil(image, PREVIEW_PX))
        except Exception:  # a preview is a nicety; never fail the job for it
            log.exception("preview failed")
        self.pump()

    def close(self) -> None:
        self.window.destroy()
        self.pump()
