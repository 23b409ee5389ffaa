"""The docker's form: prompt, mode, source, references, model options, advanced blending.

Only widgets and their values live here (no Krita, no jobs), so the docker reads one
``FormValues`` and history can write one back. Every widget that tests or scripts use has a
stable ``objectName`` (listed in README.md).
"""

from __future__ import annotations

from typing import Any

from .core.options import option
from .form_values import (  # noqa: F401 (the form's values, re-exported for the docker)
    MAX_REFERENCES,
    MODELS,
    MODES,
    REFERENCES_FULL,
    RESOLUTIONS,
    SOURCES,
    FormValues,
    Reference,
    form_from_record,
    form_from_settings,
    qualities_for,
)
from .qt import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    Qt,
    QVBoxLayout,
    QWidget,
    pyqtSignal,
)


class PromptEdit(QPlainTextEdit):
    """Multi-line prompt; Ctrl+Enter submits."""

    submitted = pyqtSignal()

    def keyPressEvent(self, event: Any) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


def _combo(name: str, items: Any, editable: bool = False) -> QComboBox:
    box = QComboBox()
    box.setObjectName(name)
    for item in items:
        value, label = item if isinstance(item, tuple) else (item, item)
        box.addItem(label, value)
    box.setEditable(editable)
    return box


def _spin(name: str, option_name: str) -> QSpinBox:
    """A spin box for the job option ``option_name``: range, default, unit and tooltip from
    ``core.options``."""
    opt = option(option_name)
    spin = QSpinBox()
    spin.setObjectName(name)
    spin.setRange(opt.minimum or 0, opt.maximum or 0)
    spin.setValue(opt.default)
    if opt.unit == "px":
        spin.setSuffix(" px")
    spin.setToolTip(opt.describe())
    return spin


def _set_combo(box: QComboBox, value: str) -> None:
    index = box.findData(value)
    if index < 0:
        index = box.findText(value)
    if index >= 0:
        box.setCurrentIndex(index)
    elif box.isEditable():
        box.setEditText(value)


def _combo_value(box: QComboBox) -> str:
    if box.isEditable():
        text = box.currentText().strip()
        index = box.findText(text)
        return str(box.itemData(index)) if index >= 0 else text
    return str(box.currentData())


class Form(QWidget):
    """The input half of the docker. ``changed`` fires on any edit (for the live estimate)."""

    changed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.references: list[Reference] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        self.prompt = PromptEdit()
        self.prompt.setObjectName("gptImagePrompt")
        self.prompt.setPlaceholderText("Describe the change or the picture… (Ctrl+Enter generates)")
        self.prompt.setMinimumHeight(60)
        layout.addWidget(self.prompt)
        helpers = QHBoxLayout()
        self.brief_button = QPushButton("Brief…")
        self.brief_button.setObjectName("gptImageBrief")
        self.brief_button.setToolTip("Write the prompt from a structured brief")
        self.improve_button = QPushButton("Improve prompt")
        self.improve_button.setObjectName("gptImageImprove")
        self.improve_button.setToolTip("Let a text model rewrite the prompt (you can undo it)")
        helpers.addWidget(self.brief_button)
        helpers.addWidget(self.improve_button)
        layout.addLayout(helpers)

        grid = QFormLayout()
        self.mode = _combo("gptImageMode", MODES)
        self.source = _combo("gptImageSource", SOURCES)
        grid.addRow("Mode", self.mode)
        grid.addRow("Source", self.source)
        self.model = _combo("gptImageModel", MODELS, editable=True)
        self.model.setToolTip(option("model").help)
        self.quality = _combo("gptImageQuality", qualities_for(option("model").default))
        self.quality.setToolTip(option("quality").help)
        _set_combo(self.quality, option("quality").default)
        self.resolution = _combo("gptImageResolution", RESOLUTIONS, editable=True)
        self.resolution.setToolTip(option("resolution").help)
        self.variants = _spin("gptImageVariants", "n")
        grid.addRow("Model", self.model)
        grid.addRow("Quality", self.quality)
        grid.addRow("Resolution", self.resolution)
        grid.addRow("Variants", self.variants)
        layout.addLayout(grid)

        refs = QGroupBox("References")
        refs_layout = QVBoxLayout(refs)
        self.reference_list = QListWidget()
        self.reference_list.setObjectName("gptImageReferences")
        self.reference_list.setMaximumHeight(70)
        self.reference_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        refs_layout.addWidget(self.reference_list)
        row = QHBoxLayout()
        self.add_layer_ref = QPushButton("+ Layer")
        self.add_layer_ref.setObjectName("gptImageAddLayerReference")
        self.add_layer_ref.setToolTip("Add the active layer as a reference")
        self.add_file_ref = QPushButton("+ File…")
        self.add_file_ref.setObjectName("gptImageAddFileReference")
        self.remove_ref = QPushButton("Remove")
        self.remove_ref.setObjectName("gptImageRemoveReference")
        for button in (self.add_layer_ref, self.add_file_ref, self.remove_ref):
            row.addWidget(button)
        refs_layout.addLayout(row)
        layout.addWidget(refs)

        self.advanced_toggle = QCheckBox("Advanced")
        self.advanced_toggle.setObjectName("gptImageAdvancedToggle")
        layout.addWidget(self.advanced_toggle)
        self.advanced = QWidget()
        self.advanced.setObjectName("gptImageAdvanced")
        adv = QFormLayout(self.advanced)
        adv.setContentsMargins(0, 0, 0, 0)
        self.padding = _spin("gptImagePadding", "padding_px")
        self.grow = _spin("gptImageGrow", "grow_px")
        self.feather = _spin("gptImageFeather", "feather_px")
        self.partials = _spin("gptImagePartials", "partial_images")
        for label, widget in (
            ("padding_px", self.padding),
            ("grow_px", self.grow),
            ("feather_px", self.feather),
            ("partial_images", self.partials),
        ):
            adv.addRow(option(label).label, widget)
        self.advanced.setVisible(False)
        self.advanced_toggle.toggled.connect(self.advanced.setVisible)
        layout.addWidget(self.advanced)

        self.remove_ref.clicked.connect(self._remove_selected_references)
        self.model.currentTextChanged.connect(lambda *_: self._sync_qualities())
        for signal in (
            self.prompt.textChanged,
            self.mode.currentIndexChanged,
            self.source.currentIndexChanged,
            self.model.currentTextChanged,
            self.quality.currentIndexChanged,
            self.resolution.currentTextChanged,
            self.variants.valueChanged,
            self.padding.valueChanged,
            self.grow.valueChanged,
            self.feather.valueChanged,
            self.partials.valueChanged,
        ):
            signal.connect(lambda *_: self.changed.emit())

    def _sync_qualities(self) -> None:
        """Offer the qualities the chosen model takes (core's table), keeping the choice when
        the new model takes it too."""
        wanted = qualities_for(_combo_value(self.model))
        current = [self.quality.itemData(i) for i in range(self.quality.count())]
        if list(wanted) == current:
            return
        chosen = _combo_value(self.quality)
        self.quality.blockSignals(True)
        self.quality.clear()
        for name in wanted:
            self.quality.addItem(name, name)
        _set_combo(self.quality, chosen if chosen in wanted else option("quality").default)
        self.quality.blockSignals(False)
        self.changed.emit()

    # --- references ---

    def add_reference(self, reference: Reference) -> bool:
        """Add one reference (no duplicates, at most ``MAX_REFERENCES``); returns whether it was
        added."""
        if len(self.references) >= MAX_REFERENCES:
            return False
        if any(r.kind == reference.kind and r.key == reference.key for r in self.references):
            return False
        self.references.append(reference)
        item = QListWidgetItem(("🖼 " if reference.kind == "file" else "▤ ") + reference.label)
        item.setToolTip(str(reference.key))
        self.reference_list.addItem(item)
        self.changed.emit()
        return True

    def clear_references(self) -> None:
        self.references.clear()
        self.reference_list.clear()
        self.changed.emit()

    def _remove_selected_references(self) -> None:
        rows = sorted(
            (self.reference_list.row(i) for i in self.reference_list.selectedItems()), reverse=True
        )
        for row in rows:
            self.reference_list.takeItem(row)
            del self.references[row]
        self.changed.emit()

    # --- values ---

    def values(self) -> FormValues:
        return FormValues(
            prompt=self.prompt.toPlainText().strip(),
            mode=_combo_value(self.mode),
            source=_combo_value(self.source),
            model=_combo_value(self.model),
            quality=_combo_value(self.quality),
            resolution=_combo_value(self.resolution) or option("resolution").default,
            n=self.variants.value(),
            padding_px=self.padding.value(),
            grow_px=self.grow.value(),
            feather_px=self.feather.value(),
            partial_images=self.partials.value(),
            references=list(self.references),
        )

    def set_values(self, values: FormValues, *, prompt: bool = True) -> None:
        """Fill the form (from settings or from a history entry); references are kept."""
        if prompt:
            self.prompt.setPlainText(values.prompt)
        _set_combo(self.mode, values.mode)
        _set_combo(self.source, values.source)
        _set_combo(self.model, values.model)
        self._sync_qualities()
        _set_combo(self.quality, values.quality)
        _set_combo(self.resolution, values.resolution)
        self.variants.setValue(values.n)
        self.padding.setValue(values.padding_px)
        self.grow.setValue(values.grow_px)
        self.feather.setValue(values.feather_px)
        self.partials.setValue(values.partial_images)


def status_label(name: str) -> QLabel:
    label = QLabel("")
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
