"""What the docker does with result layers: place a job's result (one layer keeping all its
variants, or a new round on the layer a refine came from), follow the active layer in the result
strip, flip variants, keep all or one, and start a refine of the shown variant."""

from __future__ import annotations

import logging
import time
from typing import Any

from krita import Krita

from . import document, variants
from .core.compare import CompareOutcome
from .core.errors import ConfigError, GptImageError, InputError
from .core.history import History
from .core.naming import job_layer_name
from .core.refine import prepare_refine
from .core.settings import load_settings
from .core.variants import ResultStack, round_from_record, stack_for_records, variant_patch
from .form_job import settings_for
from .qt import QTimer

log = logging.getLogger(__name__)
FOLLOW_MS = 300
#: How long a just-inserted layer is shown by the strip without being found in the layer tree
#: (Krita takes a new node in on its own threads; nothing here waits for that).
FRESH_S = 5.0


def _name(prepared: Any) -> str:
    """The result layer's name for a prepared job (core's rule for its mode and prompt)."""
    return job_layer_name(prepared.plan.mode, prepared.spec.prompt)


def _alive(doc: Any) -> bool:
    try:
        return doc.rootNode() is not None
    except RuntimeError:
        return False


class ResultActions:
    def __init__(self, docker: Any) -> None:
        self.docker = docker
        self.note = ""
        #: (document, a history id) of the newest result per document: the strip shows it while
        #: the active layer is no result layer, so a new job's variants are one click away
        self._recent: list[tuple[Any, str]] = []
        #: (document, layer, until, key of the layer it replaced or None) of the layer just
        #: inserted or put in place by a flip: the strip shows it at once
        self._fresh: tuple[Any, Any, float, str | None] | None = None
        strip = docker.results
        strip.show_requested.connect(self.show_at)
        strip.previous_button.clicked.connect(self.previous_variant)
        strip.next_button.clicked.connect(self.next_variant)
        strip.keep_one_button.clicked.connect(self.keep_one)
        strip.keep_all_button.clicked.connect(self.keep_all)
        strip.refine_button.clicked.connect(self.refine)
        # Krita tells Python nothing when the active layer changes: look a few times a second
        self._timer = QTimer(docker)
        self._timer.setInterval(FOLLOW_MS)
        self._timer.timeout.connect(self.follow_active)
        self._timer.start()

    # --- the active result layer ---

    def active(self) -> tuple[Any, Any, ResultStack | None]:
        doc = Krita.instance().activeDocument()
        if doc is None:
            return None, None, None
        node = self._flipped(doc, doc.activeNode())
        layer = variants.result_layer(doc, node)
        if layer is None:
            layer = self._newest(doc)
        stack = variants.stack_of(doc, layer) if layer is not None else None
        return doc, layer, stack

    def _newest(self, doc: Any) -> Any | None:
        for known, history_id in reversed(self._recent):
            if known == doc:
                found = self._layer_with(doc, history_id, prefer_active=False)
                return found if found is not None else self._just_inserted(doc)
        return None

    def _flipped(self, doc: Any, node: Any) -> Any:
        """``node``, or the layer a flip just put in its place while Krita still reports the
        replaced one as active (it applies activations later); not once an Undo brought the
        replaced one back."""
        fresh = self._fresh_in(doc)
        if fresh is None or node is None or variants.node_key(node) != fresh[3]:
            return node
        new_key = variants.node_key(fresh[1])
        gone = variants.find_result(doc, fresh[3]) is None
        if gone and variants.find_result(doc, new_key) is not None:
            return fresh[1]
        return node

    def _fresh_in(self, doc: Any) -> tuple[Any, Any, float, str | None] | None:
        fresh = self._fresh
        if fresh is None or time.monotonic() > fresh[2]:
            self._fresh = None
            return None
        return fresh if fresh[0] == doc else None

    def _just_inserted(self, doc: Any) -> Any | None:
        fresh = self._fresh_in(doc)
        return fresh[1] if fresh is not None else None

    def _show_new(
        self, doc: Any, node: Any, stack: ResultStack, replaced: str | None = None
    ) -> None:
        """The strip shows the layer just inserted (or put in place of ``replaced`` by a flip),
        without waiting for Krita to take it in or to make it the active layer."""
        self._fresh = (doc, node, time.monotonic() + FRESH_S, replaced)
        if Krita.instance().activeDocument() == doc:
            self.docker.results.set_stack(stack, variants.node_key(node), node.name())

    def _remember(self, doc: Any, history_id: str) -> None:
        self._recent = [(d, h) for d, h in self._recent if d != doc and _alive(d)][-20:]
        self._recent.append((doc, history_id))

    def follow_active(self) -> None:
        """The strip shows the active layer's variants (or explains itself)."""
        try:
            _doc, layer, stack = self.active()
        except RuntimeError:  # a document closing under us
            return
        key = variants.node_key(layer) if layer is not None else None
        self.docker.results.set_stack(stack, key, layer.name() if layer is not None else "")

    def _need(self) -> tuple[Any, Any, ResultStack] | None:
        doc, layer, stack = self.active()
        if stack is None:
            self.docker.show_message(
                "Select a GPT result layer (named “GPT: …”) in the Layers docker first.",
                error=True,
            )
            return None
        return doc, layer, stack

    # --- flipping ---

    def _show(self, change: Any) -> bool:
        found = self._need()
        if found is None:
            return False
        doc, layer, stack = found
        new_stack = change(stack)
        if new_stack.shown == stack.shown:
            return True
        try:
            node = variants.show_variant(doc, layer, new_stack, document.color_info(doc))
        except (GptImageError, RuntimeError) as error:
            self.docker.show_message(f"Could not show that variant: {error}", error=True)
            return False
        current = new_stack.current
        self.docker.show_message(
            f"Showing variant {current.round + 1}.{current.position + 1} of {new_stack.count} "
            f"({current.info.label()}). Ctrl+Z goes back."
        )
        self._show_new(doc, node, new_stack, replaced=variants.node_key(layer))
        return True

    def next_variant(self) -> bool:
        return self._show(lambda s: s.next())

    def previous_variant(self) -> bool:
        return self._show(lambda s: s.previous())

    def show_at(self, flat: int) -> bool:
        return self._show(lambda s: s.show_at(flat))

    def keep_one(self) -> bool:
        found = self._need()
        if found is None:
            return False
        doc, layer, stack = found
        variants.keep_one(doc, layer)
        dropped = stack.count - 1
        self.docker.show_message(
            f"Kept the shown variant; {dropped} other(s) dropped from the layer (still in History)."
        )
        self.follow_active()
        return True

    def keep_all(self) -> bool:
        found = self._need()
        if found is None:
            return False
        doc, layer, stack = found
        try:
            variants.keep_all(doc, layer, stack, document.color_info(doc))
        except (GptImageError, RuntimeError) as error:
            self.docker.show_message(f"Could not make the layers: {error}", error=True)
            return False
        self.docker.show_message(
            f"Made {stack.count} layers in a group, the shown variant visible. Ctrl+Z goes back."
        )
        self.follow_active()
        return True

    # --- refine ---

    def refine(self) -> bool:
        """Edit the shown variant again with the prompt box as the follow-up instruction."""
        docker = self.docker
        if docker.busy:
            docker.show_message("A job is already running; cancel it first.")
            return False
        found = self._need()
        if found is None:
            return False
        doc, layer, stack = found
        values = docker.form.values()
        try:
            if not values.prompt.strip():
                raise InputError(
                    "Type the follow-up in the prompt box (what to change in this result)."
                )
            settings = settings_for(values)
            settings.connection()
            record = History.from_settings(settings).get(stack.current.history_id)
            color = document.color_info(doc)
            # what the person sees now: the document's projection, the result as masked
            reader = document.crop_reader(doc, None, document.SOURCE_COMPOSITE, color)
            prepared = prepare_refine(
                record,
                reader,
                values.prompt,
                settings,
                variant=stack.current.index,
                n=values.n,
                quality=values.quality,
                partial_images=values.partial_images,
                source_document=document.describe_document(doc),
            )
        except ConfigError as error:
            docker._explain_config(error)
            return False
        except GptImageError as error:
            docker.show_message(str(error), error=True)
            return False
        return docker.start_job(doc, layer, color, prepared, values, settings, target_key=record.id)

    # --- placing results ---

    def place(self, job: Any, result: Any) -> Any:
        """Put a finished job's result into its document; ``note`` says what happened."""
        history = History.from_settings(load_settings())
        if isinstance(result, CompareOutcome):
            return self._place_compare(job, result, history)
        rnd = round_from_record(history.get(result.history_id))
        if job.target_key is not None:
            layer = self._layer_with(job.doc, job.target_key)
            if layer is not None:
                stack = variants.stack_of(job.doc, layer)
                assert stack is not None
                new_stack = stack.add_round(rnd)
                node = variants.show_variant(job.doc, layer, new_stack, job.color)
                self.note = (
                    f"round {len(new_stack.rounds)} with {len(rnd.images)} variant(s) added to "
                    f"“{layer.name()}”"
                )
                self.follow_active()
                return node
            log.info("The refined layer is gone: the refine becomes a new layer")
        stack = ResultStack((rnd,))
        self._remember(job.doc, rnd.history_id)
        shown = job.host[0] if job.host else result.patches[0]  # Krita's bytes, made on the worker
        node = variants.insert_result_layer(
            job.doc, stack, shown, _name(job.prepared), job.color, job.active_id
        )
        count = len(result.patches)
        self.note = f"1 result layer added, keeping {count} variant(s)"
        self._show_new(job.doc, node, stack)
        return node

    def _place_compare(self, job: Any, outcome: CompareOutcome, history: History) -> Any:
        """Every run that came back as a round of ONE new result layer (first run shown)."""
        rounds = tuple(
            round_from_record(history.get(r.history_id), kind="compare") for r in outcome.results
        )
        stack = ResultStack(rounds)
        self._remember(job.doc, rounds[0].history_id)
        first = outcome.results[0]
        node = variants.insert_result_layer(
            job.doc, stack, first.patches[0], _name(job.prepared), job.color, job.active_id
        )
        failed = "; ".join(f"{r.entry.label()} failed: {r.error}" for r in outcome.failed)
        self.note = (
            f"1 result layer comparing {len(rounds)} model run(s), {stack.count} variant(s)"
            + (f" ({failed})" if failed else "")
        )
        self._show_new(job.doc, node, stack)
        return node

    def insert_record(self, doc: Any, record: Any) -> Any:
        """A history entry as one result layer again (all its variants kept, the first shown)."""
        stack = stack_for_records([record])
        self._remember(doc, record.id)
        color = document.color_info(doc)
        active = doc.activeNode()
        node = variants.insert_result_layer(
            doc,
            stack,
            variant_patch(record, 0),
            job_layer_name(record.data.get("mode"), record.prompt),
            color,
            active.uniqueId() if active is not None else None,
        )
        self._show_new(doc, node, stack)
        return node

    @staticmethod
    def _layer_with(doc: Any, history_id: str, prefer_active: bool = True) -> Any | None:
        """The result layer whose stack holds ``history_id`` (the active one first)."""
        active = variants.result_layer(doc, doc.activeNode()) if prefer_active else None
        candidates = [active] if active is not None else []

        def walk(node: Any) -> None:
            for child in node.childNodes():
                candidates.append(child)
                walk(child)

        walk(doc.rootNode())
        for node in candidates:
            stack = variants.stack_of(doc, node)
            if stack is not None and stack.round_of(history_id) is not None:
                return node
        return None
