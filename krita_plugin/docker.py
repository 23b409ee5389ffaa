"""The GPT Image docker: form, live estimate, Generate/Cancel, progress, previews, history.

Job flow (docs/architecture.md "host flow"): on the main thread read the selection and the crop
(``jobs.read_job``, nothing else); the job's one worker thread (``core.job_handle``, pumped
from a Qt timer by ``CallWorker``) builds the upload (``jobs.finish_prepare``), runs
``jobs.run_job`` and turns the results into Krita's bytes; back on the main thread insert
them in one step into the document the job was made for (captured at submit time), or, when
that document was closed meanwhile, say that the results are in history.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from krita import DockWidget, Krita

from . import document, expand_flow, layers
from .core import jobs
from .core.errors import ConfigError, GptImageError, InputError
from .core.job_handle import Done, cancelled_after
from .core.pipeline import Mode
from .core.pricing import cost_line, estimate_line, money
from .core.settings import Settings, load_settings, save_settings
from .expand_panel import ExpandPanel
from .extension import DOCKER_ID
from .form import (
    REFERENCES_FULL,
    Form,
    FormValues,
    Reference,
    form_from_record,
    form_from_settings,
)
from .form_job import reference_sizes, settings_for, spec_for
from .history_panel import HistoryPanel, HistoryView, load_view
from .job_panel import JobPanel
from .narrow import let_rows_narrow
from .qt import (
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTimer,
    QVBoxLayout,
    QWidget,
)
from .result_actions import ResultActions
from .results_strip import ResultsStrip, result_thumbnails
from .sections import Section
from .worker import CallWorker

log = logging.getLogger(__name__)
DOCKER_TITLE = "GPT Image"
#: Dockers alive, one per main window (the extension's actions pick the active window's).
INSTANCES: list[GptImageDocker] = []
#: Around the docker's content: Qt's default (~10 px a side) costs the narrow dock its width.
ROOT_MARGINS_PX = (2, 2, 2, 2)
#: Between the pinned rows (Qt's default, ~6 px, costs the short dock a row of options).
PINNED_SPACING_PX = 3
#: The prompt's height in lines: it shrinks to the first when the dock is short, grows to the
#: second when there is room (it scrolls its own text beyond).
PROMPT_LINES = (2, 5)
#: The options keep at least this many lines of height beside the pinned part.
SCROLL_MIN_LINES = 2
#: Job pumps whose job has not reported its end yet (kept alive until it has).
_LIVE_WORKERS: set[CallWorker] = set()
#: What every cancel tells after core's account of what was sent (the document is never touched).
CANCEL_HINT = "Nothing was added to the document."


@dataclass
class JobContext:
    """Where a job's results go, captured at submit time (the user may switch or close docs)."""

    serial: int
    doc: Any
    doc_label: str
    active_id: Any
    color: document.ColorInfo
    prepared: jobs.ReadJob | jobs.PreparedJob  # a ReadJob: the worker builds the upload
    values: FormValues
    started: float
    cancelled: bool = False
    #: A refine adds its images to this result layer (uuid) as a new round instead of a layer.
    target_key: str | None = None
    host: list[layers.HostPatch] | None = None  # the results in Krita's bytes (from the worker)
    history: HistoryView | None = None  # the history list with this job, read by the worker
    thumbnails: dict[str, Any] | None = None  # the strip's of this job's results (the worker's)
    warmed: bool = False  # Krita 5.1's mask template was looked after for this job


def _size_prompt(prompt: QPlainTextEdit) -> None:
    """``PROMPT_LINES`` of text high (frame and document margins included)."""
    lines = prompt.fontMetrics().lineSpacing()
    extra = 2 * (prompt.frameWidth() + int(prompt.document().documentMargin()))
    low, high = PROMPT_LINES
    prompt.setMinimumHeight(low * lines + extra)
    prompt.setMaximumHeight(high * lines + extra)


def _take_what_is_left(scroll: QScrollArea) -> None:
    """The options get the height the pinned part leaves, at least ``SCROLL_MIN_LINES``.

    With its own size hint (its content's, ~1000 px) the scroll area would share a short dock
    with the pinned part, and Qt shrinks both alike; with the hint ignored it is the pinned
    part that keeps its height, down to the prompt's minimum."""
    policy = scroll.sizePolicy()
    policy.setVerticalPolicy(QSizePolicy.Policy.Ignored)
    scroll.setSizePolicy(policy)
    scroll.setMinimumHeight(SCROLL_MIN_LINES * scroll.fontMetrics().lineSpacing() + 8)


#: Qt's QScrollArea asks for its content's height up to this many lines (qscrollarea.cpp).
SCROLL_HINT_LINES = 24


class _Body(QWidget):
    """The docker's content: the pinned part above the options' scroll area.

    The options' size hint is ignored inside (they take what the pinned part leaves), but the
    dock area reads this widget's hint to share the column with Krita's own dockers: it asks
    for what the docker asked when all of it scrolled (the content's height, at most
    ``SCROLL_HINT_LINES`` lines), so Krita's default layout gives the docker the room it gave
    it before, not only its minimum."""

    def __init__(self, frame: QWidget, options: QWidget) -> None:
        super().__init__()
        self._parts = (frame, options)

    def sizeHint(self) -> Any:
        hint = super().sizeHint()
        frame, options = self._parts
        wanted = frame.sizeHint().height() + options.sizeHint().height()
        wanted = min(wanted, SCROLL_HINT_LINES * self.fontMetrics().height())
        margins = self.contentsMargins()  # the layout's margins (ROOT_MARGINS_PX) are its own
        layout = self.layout()
        if layout is not None:
            m = layout.contentsMargins()
            wanted += m.top() + m.bottom() + layout.spacing()
        wanted += margins.top() + margins.bottom()
        hint.setHeight(max(hint.height(), wanted))
        return hint


class GptImageDocker(DockWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(DOCKER_TITLE)
        self.setObjectName(DOCKER_ID)
        self._serial = 0
        self._job: JobContext | None = None
        self._worker: CallWorker | None = None
        self._helper: CallWorker | None = None
        self._last_values: FormValues | None = None
        self.last_result: jobs.JobResult | None = None
        self.last_inserted: Any = None
        self.settings_dialog: Any = None

        # Pinned in sight (gptImageDockerFrame): the prompt, Generate / Cancel, the estimate and
        # the status box. Below it the options scroll (gptImageScroll, its content
        # gptImageDockerRoot), so at the ~196-270 px Krita's default layout gives the docker on
        # a 1080 px screen, what a job needs never scrolls out of sight.
        self.form = Form()
        self.panel = JobPanel()
        frame = QWidget()
        frame.setObjectName("gptImageDockerFrame")
        pinned = QVBoxLayout(frame)
        pinned.setContentsMargins(0, 0, 0, 0)
        pinned.setSpacing(PINNED_SPACING_PX)
        self.form.layout().removeWidget(self.form.prompt)  # the form keeps it as its own
        pinned.addWidget(self.form.prompt)
        pinned.addWidget(self.panel)
        _size_prompt(self.form.prompt)

        root = QWidget()
        root.setObjectName("gptImageDockerRoot")
        layout = QVBoxLayout(root)
        layout.setContentsMargins(0, 0, 0, 0)
        # the streamed previews first, nearest the pinned part (up to 240 px: they scroll)
        layout.addWidget(self.panel.preview)
        layout.addWidget(self.form)
        self.expand_panel = ExpandPanel()  # shown in the Expand canvas mode only
        layout.addWidget(self.expand_panel)

        # the panel's widgets, under the names scripts and tests know
        self.generate_button = self.panel.generate_button
        self.cancel_button = self.panel.cancel_button
        self.estimate_label = self.panel.estimate_label
        self.elapsed_label = self.panel.elapsed_label
        self.cost_label = self.panel.cost_label
        self.progress = self.panel.progress
        self.preview = self.panel.preview
        self.status = self.panel.status

        self.results = ResultsStrip()
        self.results_section = Section("Results", self.results, "gptImageResultsSection")
        layout.addWidget(self.results_section)
        from .compare_panel import ComparePanel

        self.compare = ComparePanel(self)
        self.compare_section = Section(
            "Compare models", self.compare, "gptImageCompareSection", open_=False
        )
        layout.addWidget(self.compare_section)
        self.history = HistoryPanel(self)
        self.history_section = Section("History", self.history, "gptImageHistorySection")
        layout.addWidget(self.history_section)
        settings_row = QHBoxLayout()
        self.settings_button = QPushButton("Settings…")
        self.settings_button.setObjectName("gptImageSettings")
        settings_row.addStretch(1)
        settings_row.addWidget(self.settings_button)
        layout.addLayout(settings_row)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("gptImageScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(root)
        _take_what_is_left(scroll)

        body = _Body(frame, root)
        body.setObjectName("gptImageDockerBody")
        outer = QVBoxLayout(body)
        outer.setContentsMargins(*ROOT_MARGINS_PX)  # the dock's own frame is margin enough
        outer.setSpacing(PINNED_SPACING_PX)
        outer.addWidget(frame)
        outer.addWidget(scroll, 1)
        let_rows_narrow(body)
        self.setWidget(body)
        self.result_actions = ResultActions(self)

        self._estimate_timer = QTimer(self)
        self._estimate_timer.setSingleShot(True)
        self._estimate_timer.setInterval(250)
        self._estimate_timer.timeout.connect(self.update_estimate)
        # Krita has no "selection changed" signal for Python: re-estimate now and then (cheap:
        # only the selection's bounding box is read).
        self._estimate_poll = QTimer(self)
        self._estimate_poll.setInterval(2000)
        self._estimate_poll.timeout.connect(self._poll_estimate)
        self._estimate_poll.start()

        self.generate_button.clicked.connect(self.generate)
        self.cancel_button.clicked.connect(self.cancel)
        self.form.prompt.submitted.connect(self.generate)
        self.form.changed.connect(self._estimate_timer.start)
        self.expand_panel.changed.connect(self._estimate_timer.start)
        self.form.mode.currentIndexChanged.connect(self._show_mode_options)
        self.form.add_layer_ref.clicked.connect(self.add_active_layer_reference)
        self.form.add_file_ref.clicked.connect(self._pick_reference_files)
        self.form.improve_button.clicked.connect(self.improve_prompt)
        self.form.brief_button.clicked.connect(self.open_brief)
        self.settings_button.clicked.connect(self.open_settings)
        self.history.insert_requested.connect(self.insert_from_history)
        self.history.reuse_requested.connect(self.reuse_from_history)

        try:
            self.form.set_values(form_from_settings(load_settings()), prompt=False)
        except GptImageError as error:
            self.show_message(str(error), error=True)
        self._show_mode_options()
        INSTANCES.append(self)
        QTimer.singleShot(0, self.history.refresh)

    # --- Krita hooks ---

    def canvasChanged(self, canvas: Any) -> None:
        self._estimate_timer.start()

    # --- small helpers ---

    @property
    def busy(self) -> bool:
        return self._job is not None

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.panel.show_message(text, error=error)

    def _show_mode_options(self, *_args: Any) -> None:
        self.expand_panel.setVisible(self.form.values().mode == Mode.EXPAND.value)

    def _expand_spec(self, spec: jobs.JobSpec, doc: Any) -> jobs.JobSpec:
        """``spec`` with the expand panel's borders when the mode is Expand canvas."""
        if Mode(spec.mode) is not Mode.EXPAND:
            return spec
        return expand_flow.with_borders(spec, self.expand_panel, document.canvas_extent(doc))

    # --- estimate ---

    def _poll_estimate(self) -> None:
        if self.isVisible() and not self.busy:
            self.update_estimate()

    def update_estimate(self) -> None:
        """The live estimate next to Generate (no pixels read, selection box only)."""
        if self.busy:
            return
        doc = Krita.instance().activeDocument()
        values = self.form.values()
        if doc is None:
            self.panel.set_estimate("", "")
            return
        try:
            settings = settings_for(values)
            spec = jobs.JobSpec.from_settings(settings, values.mode, values.prompt or "x")
            spec = self._expand_spec(spec, doc)
            plan, est = jobs.estimate_job(
                spec,
                document.canvas_extent(doc),
                document.selection_box(doc),
                settings,
                reference_sizes=reference_sizes(values.references, doc),
            )
        except (GptImageError, ValueError) as error:
            self.panel.set_estimate("—", str(error))
            return
        self.panel.set_estimate(
            estimate_line(est), f"Estimated cost at {plan.api_size} ({values.quality})"
        )

    # --- generate ---

    def generate(self) -> bool:
        """Start a job from the form; returns whether one started (else the status says why)."""
        return self._submit(self.form.values())

    def repeat_last(self) -> bool:
        """Run the last submitted form again on the current document and selection."""
        if self._last_values is None:
            self.show_message("Nothing to repeat yet.")
            return False
        return self._submit(self._last_values)

    def _submit(self, values: FormValues) -> bool:
        if self.busy:
            self.show_message("A job is already running; cancel it first.")
            return False
        app = Krita.instance()
        doc = app.activeDocument()
        try:
            if doc is None:
                raise InputError("Open or create a document first.")
            settings = settings_for(values)
            settings.connection()  # no key: explain instead of failing later
            color = document.color_info(doc)
            active = doc.activeNode()
            source = document.source_node(doc, active)
            expanding = values.mode == Mode.EXPAND.value
            selection = document.selection_mask(doc)  # core decides whether the mode uses it
            spec = self._expand_spec(spec_for(values, settings, doc, color), doc)
            # an expand continues what is seen: it reads the visible composite
            how = document.SOURCE_COMPOSITE if expanding else values.source
            reader = document.crop_reader(doc, source, how, color)
            # only Krita's pixels are read here: the upload is built on the worker
            prepared = jobs.read_job(spec, document.canvas_extent(doc), selection, reader, settings)
        except ConfigError as error:
            self._explain_config(error)
            return False
        except GptImageError as error:
            self.show_message(str(error), error=True)
            return False
        self._remember(values, settings)
        return self.start_job(doc, active, color, prepared, values, settings)

    def start_job(
        self,
        doc: Any,
        active: Any,
        color: document.ColorInfo,
        prepared: jobs.ReadJob | jobs.PreparedJob,
        values: FormValues,
        settings: Settings,
        target_key: str | None = None,
        work: Any = None,
    ) -> bool:
        """Send a prepared job on a worker; its results come back to ``_on_done``."""
        self._serial += 1
        self._job = JobContext(
            serial=self._serial,
            doc=doc,
            doc_label=document.describe_document(doc),
            active_id=active.uniqueId() if active is not None else None,
            color=color,
            prepared=prepared,
            values=values,
            started=time.monotonic(),
            target_key=target_key,
        )
        if work is None:  # one job; a model comparison brings its own (compare_panel.py)
            work = self._job_work(self._job, settings)
        worker = CallWorker(self._serial, work)
        worker.progressed.connect(self._on_event)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(lambda w=worker: _LIVE_WORKERS.discard(w))
        _LIVE_WORKERS.add(worker)
        self._worker = worker
        self.panel.set_running(self._job.started)
        self.show_message(f"Sending to {prepared.plan.model} ({prepared.plan.api_size})…")
        self.cost_label.setText(f"estimate {money(prepared.estimate_usd)}")
        worker.start()
        return True

    def _job_work(self, job: JobContext, settings: Settings) -> Any:
        """What the worker thread does: save the form's options, build the upload, run the job,
        and turn the results into Krita's bytes, so the main thread only reads and inserts."""
        known = self.history.known

        def work(cancel: Any, emit: Any) -> jobs.JobResult:
            try:
                save_settings(settings)  # the form's options are remembered (never the key)
            except (OSError, GptImageError) as error:
                log.warning("Could not save settings: %s", error)
            prepared = job.prepared  # a refine hands over a finished PreparedJob
            if isinstance(prepared, jobs.ReadJob):
                prepared = jobs.finish_prepare(prepared)
            result = jobs.run_job(prepared, settings, on_event=emit, cancel=cancel)
            job.host = [layers.host_patch(patch, job.color) for patch in result.patches]
            job.history = load_view(known)
            job.thumbnails = result_thumbnails(result.history_id, result.images)
            return result

        return work

    def _remember(self, values: FormValues, settings: Settings) -> None:
        self._last_values = values

    def _explain_config(self, error: ConfigError) -> None:
        if error.code == "missing_api_key":
            self.show_message(
                "No API key yet. Open Settings… below, paste your OpenAI API key "
                "(it is stored in the plug-in's own key file, not in kritarc) and press "
                "Test connection; or set OPENAI_API_KEY before starting Krita.",
                error=True,
            )
            self.open_settings()
        else:
            self.show_message(str(error), error=True)

    def cancel(self) -> None:
        """Stop at once: the UI is free immediately and the document stays untouched."""
        job = self._job
        if job is None:
            return
        job.cancelled = True
        worker = self._worker
        if worker is not None:
            worker.cancel()
        self._finish_ui()
        self.cost_label.setText("")
        self.elapsed_label.setText("")
        self.update_estimate()
        if worker is None:
            self.show_message(f"Cancelled. {CANCEL_HINT}")
            return
        shown = self._tell_cancelled(worker)
        if worker.handle.worker_outcome is None:  # core cannot tell yet: again once it ends
            worker.finished.connect(lambda: self._settle_cancel(worker, shown))

    def _tell_cancelled(self, worker: CallWorker) -> str:
        """Say what the cancel left behind, as core tells it from how the worker ended
        (``cancelled_after``: nothing billed, may still be billed, billed and kept, not known);
        returns the text shown."""
        told = cancelled_after(worker.handle, "Cancelled.", hint=CANCEL_HINT).for_people()
        self.show_message(told)
        return told

    def _settle_cancel(self, worker: CallWorker, shown: str) -> None:
        """The cancelled job's worker has ended: replace the "not known" it left, unless the
        status has said something else since (a new job, another message)."""
        if self.status.text() != shown:
            return
        self._tell_cancelled(worker)
        if isinstance(worker.handle.worker_outcome, Done):  # the answer came: kept in History
            self.history.refresh()

    def _finish_ui(self) -> None:
        self._job = None
        self._worker = None
        self.panel.set_running(None)

    def _current(self, serial: int) -> JobContext | None:
        job = self._job
        return job if job is not None and job.serial == serial and not job.cancelled else None

    def _on_event(self, serial: int, event: Any) -> None:
        job = self._current(serial)
        if job is None:
            return
        if event.kind == "partial" and event.image is not None:
            self.panel.show_preview(event.image)
            self.show_message(f"Preview {event.index + 1} of image…")
        elif event.kind == "image":
            n = job.prepared.spec.n
            self.panel.show_received(event.index + 1, n)
            if event.image is not None:
                self.panel.show_preview(event.image)
            self.show_message(f"Image {event.index + 1} of {n} received")
        elif event.kind == "progress" and event.message:
            self.show_message(event.message)
        elif event.kind == "sent":
            self._warm_mask(job)

    def _warm_mask(self, job: JobContext) -> None:
        """Krita 5.1 loads its mask template (~170 ms on this thread, once per session) when the
        request is out: while the API works, neither in the Generate click nor when the result
        is applied. Once per job, whatever the attempts or a comparison's several requests."""
        if job.prepared.plan.masked and not job.warmed:
            job.warmed = True
            layers.warm_mask_template(job.doc)

    def _on_failed(self, serial: int, error: Any) -> None:
        if self._current(serial) is None:
            return
        self._finish_ui()
        self.show_message(f"Failed: {error}", error=True)
        self.history.refresh()

    def _on_done(self, serial: int, result: jobs.JobResult) -> None:
        job = self._current(serial)
        if job is None:
            return
        self._finish_ui()
        self.last_result = result
        cost = cost_line(result.cost_usd, result.estimate_usd)
        self.cost_label.setText(cost)
        if job.history is not None:
            self.history.show_view(job.history)
        else:
            self.history.refresh()
        if job.thumbnails:
            self.results.list.take(job.thumbnails)
        app = Krita.instance()
        if not document.is_open(app, job.doc):
            self.show_message(
                f"“{job.doc_label}” was closed while the job ran; its {len(result.images)} "
                f"result(s) are kept {result.where_kept()}: open a document and press Insert.",
                error=True,
            )
            return
        try:
            if job.prepared.plan.mode is Mode.EXPAND:
                self.last_inserted = expand_flow.insert(
                    job.doc,
                    job.prepared,
                    lambda: self.result_actions.place(expand_flow.placed_on_top(job), result),
                )
            else:
                self.last_inserted = self.result_actions.place(job, result)
        except GptImageError as error:
            self.show_message(f"{error}", error=True)
            return
        except Exception as error:  # Krita refused: keep the results reachable
            log.exception("inserting results failed")
            self.show_message(
                f"Could not add the result layer: {error}. It is kept {result.where_kept()}.",
                error=True,
            )
            return
        extra = f" {expand_flow.note(job.prepared)}" if job.prepared.plan.expansion else ""
        where = "" if app.activeDocument() == job.doc else f" in “{job.doc_label}”"
        self.show_message(
            f"Done in {result.elapsed_s:.1f} s: {self.result_actions.note}{where}; {cost}.{extra}"
        )

    # --- references ---

    def add_active_layer_reference(self) -> bool:
        doc = Krita.instance().activeDocument()
        node = document.source_node(doc, doc.activeNode()) if doc is not None else None
        if node is None:
            self.show_message("Select a layer to use as a reference.", error=True)
            return False
        return self.add_layer_reference(node)

    def add_layer_reference(self, node: Any) -> bool:
        added = self.form.add_reference(Reference("layer", node.name(), node.uniqueId()))
        if not added:
            self.show_message(REFERENCES_FULL, error=True)
        return added

    def add_file_reference(self, path: str) -> bool:
        added = self.form.add_reference(Reference("file", Path(path).name, str(path)))
        if not added:
            self.show_message(REFERENCES_FULL, error=True)
        return added

    def _pick_reference_files(self) -> None:
        from .qt import QFileDialog

        paths, _ = QFileDialog.getOpenFileNames(
            self, "Reference images", "", "Images (*.png *.jpg *.jpeg *.webp)"
        )
        for path in paths:
            self.add_file_reference(path)

    # --- prompt helpers ---

    def open_brief(self) -> None:
        from .settings_dialog import BriefDialog

        dialog = BriefDialog(self, self.form.values().mode)
        dialog.composed.connect(self.form.prompt.setPlainText)
        dialog.show()

    def improve_prompt(self) -> bool:
        values = self.form.values()
        if self._helper is not None:
            return False
        try:
            settings = settings_for(values)
            settings.connection()
        except ConfigError as error:
            self._explain_config(error)
            return False
        self.form.improve_button.setEnabled(False)
        self.show_message("Improving the prompt…")
        mode = values.mode
        helper = CallWorker(
            -1, lambda cancel, emit: jobs.improve(values.prompt, settings, mode=mode)
        )
        helper.done.connect(self._on_improved)
        helper.failed.connect(self._on_improve_failed)
        helper.finished.connect(lambda w=helper: _LIVE_WORKERS.discard(w))
        _LIVE_WORKERS.add(helper)
        self._helper = helper
        helper.start()
        return True

    def _on_improved(self, _serial: int, text: str) -> None:
        self._helper = None
        self.form.improve_button.setEnabled(True)
        cursor = self.form.prompt.textCursor()  # an undoable edit: Ctrl+Z brings the old one back
        cursor.select(cursor.SelectionType.Document)
        cursor.insertText(text)
        self.show_message("Prompt improved (Ctrl+Z in the prompt box restores yours).")

    def _on_improve_failed(self, _serial: int, error: Any) -> None:
        self._helper = None
        self.form.improve_button.setEnabled(True)
        self.show_message(f"Prompt help failed: {error}", error=True)

    # --- settings and history ---

    def open_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(self)
        self.settings_dialog.load()
        self.settings_dialog.show()
        self.settings_dialog.raise_()

    def insert_from_history(self, record: Any) -> None:
        doc = Krita.instance().activeDocument()
        if doc is None:
            self.show_message("Open a document to insert the result into.", error=True)
            return
        try:
            if record.data.get("mode") == Mode.EXPAND.value:
                self.last_inserted = expand_flow.insert_from_history(doc, record)
            else:
                self.last_inserted = self.result_actions.insert_record(doc, record)
        except GptImageError as error:
            self.show_message(str(error), error=True)
            return
        self.show_message(
            f"Inserted a result layer keeping {len(record.images)} variant(s) from history."
        )

    # --- result layers (see result_actions.py) ---

    def next_variant(self) -> bool:
        return self.result_actions.next_variant()

    def previous_variant(self) -> bool:
        return self.result_actions.previous_variant()

    def refine(self) -> bool:
        return self.result_actions.refine()

    def reuse_from_history(self, record: Any) -> None:
        values = form_from_record(dict(record.data))
        self.form.set_values(replace(values, source=self.form.values().source))
        self.show_message("Prompt and settings copied from history.")
