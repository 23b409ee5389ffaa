"""Settings (key, provider, base URL, connection test) and the structured prompt brief.

The key goes through ``core.settings.set_api_key`` (a 0600 file in the plug-in's config dir),
never into kritarc, logs or messages. Both dialogs are modeless so Krita stays usable.
"""

from __future__ import annotations

from typing import Any

from .core.errors import GptImageError
from .core.prompting import PromptBrief, compose_prompt
from .core.settings import load_settings, save_settings, set_api_key
from .qt import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    pyqtSignal,
)
from .worker import CallWorker

PROVIDERS = ("openai", "compatible", "azure")


class SettingsDialog(QDialog):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("gptImageSettingsDialog")
        self.setWindowTitle("GPT Image settings")
        self._checker: CallWorker | None = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.key = QLineEdit()
        self.key.setObjectName("gptImageApiKey")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.provider = QComboBox()
        self.provider.setObjectName("gptImageProvider")
        self.provider.addItems(PROVIDERS)
        self.base_url = QLineEdit()
        self.base_url.setObjectName("gptImageBaseUrl")
        self.base_url.setPlaceholderText("default (api.openai.com)")
        form.addRow("API key", self.key)
        form.addRow("Provider", self.provider)
        form.addRow("Base URL", self.base_url)
        layout.addLayout(form)
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("gptImageTestConnection")
        self.result = QLabel("")
        self.result.setObjectName("gptImageConnectionResult")
        self.result.setWordWrap(True)
        layout.addWidget(self.test_button)
        layout.addWidget(self.result)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        buttons.setObjectName("gptImageSettingsButtons")
        layout.addWidget(buttons)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("gptImageSettingsSave")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.close)
        self.test_button.clicked.connect(self.test_connection)

    def load(self) -> None:
        try:
            settings = load_settings()
        except GptImageError as error:
            self.result.setText(str(error))
            return
        self.key.clear()
        source = settings.key_source
        self.key.setPlaceholderText(
            {"env": "from OPENAI_API_KEY", "file": "saved (type to replace)"}.get(
                source or "", "paste your API key"
            )
        )
        self.provider.setCurrentText(settings.provider)
        self.base_url.setText(settings.base_url or "")

    def _apply(self) -> Any:
        settings = load_settings()
        update = {
            "provider": self.provider.currentText(),
            "base_url": self.base_url.text().strip() or None,
        }
        return settings.model_copy(update=update)

    def save(self) -> bool:
        try:
            key = self.key.text().strip()
            if key:
                set_api_key(key)
                self.key.clear()
            save_settings(self._apply())
        except (GptImageError, OSError) as error:
            self.result.setText(f"Not saved: {error}")
            return False
        self.result.setText("Saved.")
        self.load()
        return True

    def test_connection(self) -> bool:
        """Save, then list models with the key in a worker thread; the result shows below."""
        if self._checker is not None or not self.save():
            return False
        self.result.setText("Testing…")
        self.test_button.setEnabled(False)

        def work(cancel: Any, emit: Any) -> dict:
            from .core.client import ImageClient

            return ImageClient(load_settings().connection()).check()

        checker = CallWorker(-1, work)
        checker.done.connect(self._on_checked)
        checker.failed.connect(self._on_check_failed)
        self._checker = checker
        checker.start()
        return True

    def _on_checked(self, _serial: int, info: dict) -> None:
        self._done_checking()
        models = ", ".join(info.get("image_models") or []) or "none listed"
        self.result.setText(f"Connected to {info.get('base_url')}. Image models: {models}.")

    def _on_check_failed(self, _serial: int, error: Any) -> None:
        self._done_checking()
        self.result.setText(f"Connection failed: {error}")

    def _done_checking(self) -> None:
        if self._checker is not None:
            self._checker.wait(1000)
        self._checker = None
        self.test_button.setEnabled(True)


BRIEF_FIELDS = (
    ("subject", "Subject"),
    ("change", "Change (edits)"),
    ("keep", "Keep unchanged"),
    ("scene", "Scene"),
    ("style", "Style"),
    ("lighting", "Lighting"),
    ("composition", "Composition"),
    ("output_type", "Kind of image"),
    ("text", "Text to render"),
    ("notes", "Notes"),
)


class BriefDialog(QDialog):
    """The core's structured brief → one prompt, written into the prompt box."""

    composed = pyqtSignal(str)

    def __init__(self, parent: Any, mode: str) -> None:
        super().__init__(parent)
        self.setObjectName("gptImageBriefDialog")
        self.setWindowTitle("Prompt brief")
        self.mode = mode
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.fields: dict[str, QLineEdit] = {}
        for name, label in BRIEF_FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"gptImageBrief_{name}")
            form.addRow(label, edit)
            self.fields[name] = edit
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.compose)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)

    def compose(self) -> str | None:
        values = {name: edit.text().strip() for name, edit in self.fields.items()}
        text = values.pop("text")
        try:
            prompt = compose_prompt(PromptBrief(text=(text,) if text else (), **values), self.mode)
        except GptImageError as error:
            self.error.setText(str(error))
            return None
        self.composed.emit(prompt)
        self.close()
        return prompt
