"""Compare models in the docker: the same job on several models or qualities with one click.

``gptImageCompare`` takes entries like ``MODEL:QUALITY, MODEL`` (comma or space separated;
the placeholder shows an example from core's model table); ``gptImageCompareEstimate`` shows the summed estimate before anything is
sent; ``gptImageCompareRun`` sends one request per entry at once (``core.compare``). The runs
arrive as rounds of ONE result layer, each labelled with model, quality, seconds and cost in
the result strip. Widgets here; the docker's job flow runs it.
"""

from __future__ import annotations

import re
from typing import Any

from krita import Krita

from . import document
from .core import compare
from .core.errors import ConfigError, GptImageError, InputError
from .core.pipeline import Mode
from .core.pricing import runs_estimate
from .form_job import settings_for, spec_for
from .qt import QHBoxLayout, QLabel, QLineEdit, QPushButton, QTimer, QVBoxLayout, QWidget

SPLIT = re.compile(r"[\s,;]+")


def entries_of(text: str) -> list[str]:
    return [part for part in SPLIT.split(text.strip()) if part]


class ComparePanel(QWidget):
    def __init__(self, docker: Any) -> None:
        super().__init__()
        self.docker = docker
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.entries = QLineEdit()
        self.entries.setObjectName("gptImageCompare")
        self.entries.setPlaceholderText(compare.example_entries())
        self.entries.setToolTip(
            "Models to compare, each MODEL or MODEL:QUALITY; the prompt, selection and "
            "options above are the same for all"
        )
        layout.addWidget(self.entries)
        row = QHBoxLayout()
        self.run_button = QPushButton("Compare models")
        self.run_button.setObjectName("gptImageCompareRun")
        self.estimate = QLabel("")
        self.estimate.setObjectName("gptImageCompareEstimate")
        row.addWidget(self.run_button)
        row.addWidget(self.estimate, 1)
        layout.addLayout(row)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.update_estimate)
        self.entries.textChanged.connect(self._timer.start)
        docker.form.changed.connect(self._timer.start)
        self.run_button.clicked.connect(self.run)

    def _inputs(self) -> tuple[Any, Any, list[compare.CompareEntry]]:
        """(document, form values, entries); ``InputError`` when one is missing."""
        doc = Krita.instance().activeDocument()
        if doc is None:
            raise InputError("Open or create a document first.")
        texts = entries_of(self.entries.text())
        if not texts:
            raise InputError(f"Type the models to compare, e.g. {compare.example_entries()}.")
        values = self.docker.form.values()
        return doc, values, compare.parse_entries(texts, settings_for(values))

    def update_estimate(self) -> None:
        """The summed estimate of every run (selection box only, no pixels read)."""
        from .core import jobs

        if not entries_of(self.entries.text()):
            self.estimate.setText("")
            return
        try:
            doc, values, entries = self._inputs()
            settings = settings_for(values)
            spec = jobs.JobSpec.from_settings(settings, values.mode, values.prompt or "x")
            total = 0.0
            for entry in entries:
                one = jobs.check_spec(compare.spec_for_entry(spec, entry), settings)
                plan = jobs.plan_for(
                    one, document.canvas_extent(doc), document.selection_box(doc), settings
                )
                total += jobs.estimate_for(one, plan).usd
        except (GptImageError, ValueError) as error:
            self.estimate.setText("—")
            self.estimate.setToolTip(str(error))
            return
        self.estimate.setText(f"≈ {runs_estimate(total, len(entries))}")
        self.estimate.setToolTip("The summed estimate of every run, before anything is sent")

    def _prepare(self) -> tuple[Any, ...]:
        """Everything read and checked on the main thread, as the docker does for one job."""
        doc, values, entries = self._inputs()
        settings = settings_for(values)
        settings.connection()
        color = document.color_info(doc)
        active = doc.activeNode()
        selection = None
        if values.mode != Mode.EDIT_IMAGE.value:
            selection = document.selection_mask(doc)
        spec = spec_for(values, settings, doc, color)
        reader = document.crop_reader(doc, document.source_node(doc, active), values.source, color)
        prepared = compare.prepare_compare(
            spec, entries, document.canvas_extent(doc), selection, reader, settings
        )
        return doc, active, color, values, settings, entries, prepared

    def run(self) -> bool:
        docker = self.docker
        if docker.busy:
            docker.show_message("A job is already running; cancel it first.")
            return False
        try:
            doc, active, color, values, settings, entries, prepared = self._prepare()
        except ConfigError as error:
            docker._explain_config(error)
            return False
        except GptImageError as error:
            docker.show_message(str(error), error=True)
            return False
        from .core.client import ImageClient

        def work(cancel: Any, emit: Any) -> compare.CompareOutcome:
            runs = compare.run_compare(
                prepared,
                entries,
                settings,
                client_factory=lambda: ImageClient(
                    settings.connection(), custom_models=settings.custom_models
                ),
                on_event=lambda _position, event: emit(event),
                cancel=cancel,
            )
            outcome = compare.CompareOutcome(tuple(runs))
            if not outcome.results and outcome.failure is not None:
                raise outcome.failure  # nothing came: the reason (a billed one first)
            return outcome

        total = compare.total_estimate(prepared)
        started = docker.start_job(doc, active, color, prepared[0], values, settings, work=work)
        if started:
            docker.cost_label.setText(runs_estimate(total, len(prepared)))
            docker.show_message(
                "Comparing " + ", ".join(e.label() for e in entries) + " (one request each)…"
            )
        return started
