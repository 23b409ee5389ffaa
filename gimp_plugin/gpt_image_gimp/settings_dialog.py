"""The Settings… window: API key (masked), provider / base URL / Azure, default model and
quality, partial previews, request timeout. Main thread only.

The same files as Krita and the CLI (``core.settings``): the key goes to the owner-only key file
through ``set_api_key``, the rest to settings.json through ``save_settings`` — and only on Save.
Test connection tries what the window shows (typed key included) without writing anything.
Every label, range, choice and tooltip comes from the Settings model and ``core.options``.
"""

from __future__ import annotations

import threading
import typing
from typing import Any

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
from gi.repository import GimpUi, GLib, Gtk  # noqa: E402
from pydantic import SecretStr, ValidationError  # noqa: E402

from core import settings as core_settings  # noqa: E402
from core.errors import GptImageError  # noqa: E402
from core.models import KNOWN_MODELS  # noqa: E402
from core.options import option  # noqa: E402

from . import logs  # noqa: E402

log = logs.get("settings")
TITLE = "GPT Image: Settings"
FIELDS = core_settings.Settings.model_fields
PROVIDERS: tuple[str, ...] = typing.get_args(FIELDS["provider"].annotation)
TEXT_FIELDS = ("base_url", "azure_endpoint", "azure_deployment", "api_version")
AZURE_FIELDS = ("azure_endpoint", "azure_deployment", "api_version")
#: Env variables that override a field (core.settings.ENV_FIELDS: variable → field).
ENV_FOR = {field: var for var, field in core_settings.ENV_FIELDS.items()}


def _name(field: str) -> str:
    return "gptImage" + "".join(part.capitalize() for part in field.split("_"))


class SettingsWindow:
    """``window`` is a ``GimpUi.Dialog``; ``entries``/``key``/… are its widgets (named
    ``gptImage<Field>`` for scripts and tests)."""

    def __init__(self) -> None:
        self.saved = False
        self._checking: threading.Thread | None = None
        self.window = GimpUi.Dialog(title=TITLE, role="gpt-image-settings")
        self.window.set_name("gptImageSettings")
        self.window.add_button("_Cancel", Gtk.ResponseType.CANCEL)
        self.save_button = self.window.add_button("_Save", Gtk.ResponseType.OK)
        self.window.set_default_response(Gtk.ResponseType.OK)
        grid = Gtk.Grid(row_spacing=6, column_spacing=12, border_width=12)
        self._row = 0
        self.grid = grid

        self.key = Gtk.Entry(visibility=False, input_purpose=Gtk.InputPurpose.PASSWORD)
        self.key.set_name("gptImageApiKey")
        self.key.set_width_chars(44)
        self._add("API key", self.key, f"Saved to {core_settings.key_path()} (owner-only)")
        self.provider = Gtk.ComboBoxText()
        self.provider.set_name("gptImageProvider")
        for name in PROVIDERS:
            self.provider.append(name, name)
        self.provider.connect("changed", lambda *_: self._azure_sensitivity())
        self._add(FIELDS["provider"].title, self.provider, FIELDS["provider"].description)
        self.entries: dict[str, Gtk.Entry] = {}
        for field in TEXT_FIELDS:
            entry = Gtk.Entry()
            entry.set_name(_name(field))
            self.entries[field] = entry
            self._add(FIELDS[field].title, entry, FIELDS[field].description)
        self.entries["base_url"].set_placeholder_text("default (api.openai.com)")

        self.model = Gtk.ComboBoxText.new_with_entry()
        self.model.set_name("gptImageModel")
        self._add(option("model").label, self.model, option("model").describe())
        self.quality = Gtk.ComboBoxText()
        self.quality.set_name("gptImageQuality")
        for name in option("quality").choices:
            self.quality.append(name, name)
        self._add(option("quality").label, self.quality, option("quality").describe())
        partials = option("partial_images")
        self.partials = Gtk.SpinButton.new_with_range(partials.minimum, partials.maximum, 1)
        self.partials.set_name("gptImagePartials")
        self._add(partials.label, self.partials, partials.describe())
        low, high, _exclusive = core_settings.setting_range("timeout_s")
        self.timeout = Gtk.SpinButton.new_with_range(low or 1, high or 3600, 10)
        self.timeout.set_name("gptImageTimeout")
        self._add(FIELDS["timeout_s"].title + " (s)", self.timeout, FIELDS["timeout_s"].description)

        self.test_button = Gtk.Button(label="_Test connection", use_underline=True)
        self.test_button.set_name("gptImageTestConnection")
        self.test_button.set_tooltip_text(
            "Lists the provider's models with this key; saves nothing"
        )
        self.test_button.connect("clicked", lambda *_: self.test_connection())
        self.result = Gtk.Label(xalign=0.0, wrap=True, selectable=True)
        self.result.set_name("gptImageConnectionResult")
        self.result.set_max_width_chars(70)
        grid.attach(self.test_button, 1, self._row, 1, 1)
        grid.attach(self.result, 0, self._row + 1, 2, 1)
        self.window.get_content_area().pack_start(grid, True, True, 0)
        self.load()
        self.window.show_all()

    def _add(self, label: str, widget: Gtk.Widget, tooltip: str) -> None:
        text = Gtk.Label(label=label, xalign=1.0)
        widget.set_tooltip_text(tooltip)
        widget.set_hexpand(True)
        self.grid.attach(text, 0, self._row, 1, 1)
        self.grid.attach(widget, 1, self._row, 1, 1)
        self._row += 1

    # --- values ---

    def load(self) -> None:
        """The window from the saved settings (and the environment, which wins)."""
        try:
            settings = core_settings.load_settings()
        except GptImageError as error:
            self.result.set_text(f"{error.for_people()} Saving replaces the broken file.")
            settings = core_settings.Settings()
        self.key.set_text("")
        self.key.set_placeholder_text(
            {"env": "from OPENAI_API_KEY (wins over a saved key)", "file": "saved — type to replace"}
            .get(settings.key_source or "", "paste your API key (sk-…)")
        )  # fmt: skip
        self.provider.set_active_id(settings.provider)
        for field, entry in self.entries.items():
            entry.set_text(getattr(settings, field) or "")
            if field in settings.env_overrides:
                entry.set_tooltip_text(f"From {ENV_FOR[field]} (wins over the saved value)")
        models = list(KNOWN_MODELS) + [m for m in settings.custom_models if m not in KNOWN_MODELS]
        self.model.remove_all()
        for name in models:
            self.model.append(name, name)
        self.model.get_child().set_text(settings.model)
        self.quality.set_active_id(settings.quality)
        self.partials.set_value(settings.partial_images)
        self.timeout.set_value(settings.timeout_s)
        self._azure_sensitivity()

    def _azure_sensitivity(self) -> None:
        azure = self.provider.get_active_id() == "azure"
        for field in AZURE_FIELDS:
            self.entries[field].set_sensitive(azure)

    def candidate(self) -> core_settings.Settings:
        """The saved settings with the window's values (checked field by field by the model);
        ``ConfigError`` naming the field. Nothing is written."""
        settings = core_settings.load_settings()
        values: dict[str, Any] = {
            "provider": self.provider.get_active_id() or settings.provider,
            "model": self.model.get_child().get_text().strip(),
            "quality": self.quality.get_active_id() or settings.quality,
            "partial_images": int(self.partials.get_value()),
            "timeout_s": float(self.timeout.get_value()),
        }
        for field, entry in self.entries.items():
            values[field] = entry.get_text().strip() or None
        for field, value in values.items():
            try:
                setattr(settings, field, value)
            except ValidationError as error:
                problem = error.errors()[0].get("msg", "not valid")
                raise core_settings.ConfigError(
                    f"{FIELDS[field].title}: {problem}.", code="invalid_setting"
                ) from None
        typed = self.key.get_text()
        if typed.strip():
            key = core_settings.normalise_api_key(typed, "the API key box")
            settings.api_key = SecretStr(key)
        return settings

    # --- actions ---

    def save(self) -> bool:
        """Write the key (when one was typed) and the settings; False (nothing written) when
        a value is refused."""
        try:
            settings = self.candidate()
            typed = self.key.get_text().strip()
            if typed:
                core_settings.set_api_key(typed)
            path = core_settings.save_settings(settings)
        except GptImageError as error:
            self.result.set_text(f"Not saved: {error.for_people()}")
            return False
        except OSError as error:
            self.result.set_text(f"Not saved: {error.strerror or error}")
            return False
        log.info("settings saved to %s", path)
        self.saved = True
        self.result.set_text(f"Saved to {path}.")
        return True

    def test_connection(self) -> bool:
        """List the provider's models with the window's values on a worker thread; the answer
        shows below the button. Saves nothing."""
        if self._checking is not None:
            return False
        try:
            connection = self.candidate().connection()
        except GptImageError as error:
            self.result.set_text(f"Can't test: {error.for_people()}")
            return False
        outcome: dict[str, Any] = {}

        def work() -> None:
            from core.client import ImageClient

            try:
                outcome["info"] = ImageClient(connection).check()
            except GptImageError as error:
                outcome["error"] = error
            except Exception as error:  # shown as a failure, details in the log
                log.exception("connection test failed")
                outcome["error"] = error

        self._checking = threading.Thread(target=work, name="gpt-image-check", daemon=True)
        self.test_button.set_sensitive(False)
        self.result.set_text("Testing…")
        self._checking.start()
        GLib.timeout_add(100, self._poll, outcome)
        return True

    def _poll(self, outcome: dict) -> bool:
        if self._checking is not None and self._checking.is_alive():
            return True
        self._checking = None
        self.test_button.set_sensitive(True)
        error = outcome.get("error")
        if isinstance(error, GptImageError):
            log.warning("connection test: %s", error.to_dict())
            self.result.set_text(f"Connection failed: {error.for_people()}")
        elif error is not None:
            self.result.set_text("Connection failed: an unexpected problem (details in the log).")
        else:
            info = outcome.get("info") or {}
            models = ", ".join(info.get("image_models") or []) or "none listed"
            self.result.set_text(f"Connected to {info.get('base_url')}. Image models: {models}.")
        return False

    def run(self) -> bool:
        """Until Save succeeds or Cancel; True when saved."""
        while True:
            response = self.window.run()
            if response != Gtk.ResponseType.OK or self.save():
                break
        self.window.destroy()
        return self.saved


def run_window() -> bool:
    GimpUi.init("gpt-image")
    return SettingsWindow().run()
