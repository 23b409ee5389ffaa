"""core.jobs end to end through the real client and the stand-in: history first, then layers."""

from __future__ import annotations

import contextlib
import json

import pytest
from PIL import Image

from core.client import CancelToken
from core.errors import (
    ApiRefused,
    ApiUnavailable,
    AuthRefused,
    Cancelled,
    InputError,
    ModerationBlocked,
    QuotaExceeded,
)
from core.geometry import Bounds, Extent
from core.history import History
from core.jobs import (
    JobEvent,
    JobSpec,
    patches_from_history,
    prepare_job,
    prepared_from_history,
    reference_from_bytes,
    run_job,
)
from core.pipeline import Mode
from core.pricing import actual_cost
from core.selection import SelectionMask
from core.settings import Settings
from tests.standin.helpers import KEY, make_client, png

CANVAS = Extent(1200, 900)


@pytest.fixture
def history(tmp_path):
    return History(tmp_path / "history", max_bytes=None)


@pytest.fixture
def settings():
    return Settings(quality="low", partial_images=0)


def canvas_image():
    image = Image.new("RGBA", CANVAS, (30, 120, 200, 255))
    image.paste((250, 250, 20, 255), (500, 400, 700, 550))
    return image


def prepared_edit(settings, prompt="a yellow boat", **overrides):
    image = canvas_image()
    selection = SelectionMask.from_rect(Bounds(480, 380, 260, 200))
    spec = JobSpec.from_settings(settings, Mode.EDIT_SELECTION, prompt, **overrides)
    reads = []

    def read_crop(bounds):
        reads.append(bounds)
        return image.crop(bounds.box)

    prepared = prepare_job(spec, CANVAS, selection, read_crop, settings)
    return prepared, reads


def prepared_generate(settings, prompt="a harbour at dusk", **overrides):
    spec = JobSpec.from_settings(settings, Mode.GENERATE, prompt, **overrides)
    return prepare_job(spec, None, None, None, settings)


def job_json(history, job_id):
    return json.loads((history.root / job_id / "job.json").read_text())


def test_generate_writes_history_before_the_host_sees_the_image(standin, settings, history):
    prepared = prepared_generate(settings, aspect="16:9")
    seen = []

    def on_event(event: JobEvent):
        if event.kind == "image":
            # the paid image is on disk before the host gets it
            (job,) = history.list()
            assert [p.name for p in job.images] == ["result-1.png"]
            seen.append(event.image.size)

    result = run_job(
        prepared, settings, on_event=on_event, history=history, client=make_client(standin)
    )
    (record,) = standin.image_requests()
    assert record["endpoint"] == "generations"
    assert record["params"]["size"] == str(prepared.plan.api_size)
    assert seen == [tuple(prepared.plan.api_size)]
    data = job_json(history, result.history_id)
    assert data["status"] == "done" and data["request_id"] == record["id"] == result.request_id
    assert data["usage"] == result.usage and data["cost_usd"] == result.cost_usd
    assert result.cost_usd == actual_cost(result.usage, "gpt-image-2") > 0
    assert data["estimate_usd"] == prepared.estimate_usd > 0
    assert data["api_size"] == str(prepared.plan.api_size) and data["mode"] == "generate"
    assert data["settings"]["quality"] == "low" and data["settings"]["aspect"] == "16:9"
    assert data["timings"]["elapsed_s"] >= data["timings"]["first_image_s"] > 0
    assert result.paths[0].read_bytes() == result.encoded[0]
    assert len(result.patches) == 1 and result.patches[0].bounds == prepared.plan.crop
    assert standin.stats()["generated"] == 1


def test_edit_sends_crop_and_mask_and_keeps_the_inputs(standin, settings, history):
    prepared, reads = prepared_edit(settings, partial_images=2)
    assert reads == [prepared.plan.source_bounds]  # only the crop was read
    events = []
    result = run_job(
        prepared,
        settings,
        on_event=lambda e: events.append(e.kind),
        history=history,
        client=make_client(standin),
    )
    (record,) = standin.image_requests()
    assert record["endpoint"] == "edits"
    assert record["params"]["background"] == "opaque"  # edits never go out as "auto"
    assert record["mask"] is not None
    assert record["images"][0]["size"] == list(prepared.plan.api_size)
    assert events.count("partial") == 2 and events.count("image") == 1
    assert events.index("image") > events.index("partial")
    assert events.count("sent") == 1 and events.index("sent") < events.index("partial")
    job = history.get(result.history_id)
    assert set(job.inputs) == {"image", "mask", "selection"}
    assert job.inputs["image"].read_bytes() == prepared.upload.image_png
    assert job.inputs["mask"].read_bytes() == prepared.upload.mask_png
    (patch,) = result.patches
    assert patch.bounds == prepared.plan.source_bounds
    assert patch.image.size == patch.mask.size == tuple(patch.bounds.extent)
    assert job.data["crop"] == list(prepared.plan.crop)


def test_references_go_to_the_edits_endpoint_and_into_history(standin, settings, history):
    refs = (reference_from_bytes("style.png", png((300, 200), (9, 9, 9))),)
    prepared = prepared_generate(settings, references=refs)
    result = run_job(prepared, settings, history=history, client=make_client(standin))
    (record,) = standin.image_requests()
    assert record["endpoint"] == "edits" and len(record["images"]) == 1
    assert record["mask"] is None
    job = history.get(result.history_id)
    assert job.inputs["references"][0].read_bytes() == refs[0].data
    assert job.data["inputs"]["reference_names"] == ["style.png"]
    assert prepared.estimate.breakdown["input_images"] == 1


def test_n_images_each_stored(standin, settings, history):
    prepared = prepared_generate(settings, n=3)
    result = run_job(prepared, settings, history=history, client=make_client(standin))
    job = history.get(result.history_id)
    assert [p.name for p in job.images] == ["result-1.png", "result-2.png", "result-3.png"]
    assert len(result.images) == len(result.patches) == 3
    assert standin.stats()["generated"] == 1


@pytest.mark.parametrize(
    ("fault", "error_type", "code"),
    [
        ({"kind": "moderation"}, ModerationBlocked, "moderation_blocked"),
        ({"kind": "insufficient_quota"}, QuotaExceeded, "insufficient_quota"),
        ({"kind": "auth"}, AuthRefused, "invalid_api_key"),
        ({"kind": "malformed"}, ApiUnavailable, None),
    ],
)
def test_failures_are_recorded_and_raised(standin, settings, history, fault, error_type, code):
    standin.queue_faults([fault] * 3)
    prepared = prepared_generate(settings)
    with pytest.raises(error_type) as info:
        run_job(prepared, settings, history=history, client=make_client(standin))
    (job,) = history.list()
    assert job.status == "failed"
    assert job.data["error"]["type"] == error_type.__name__
    assert job.data["error"]["message"] == info.value.message
    if code:
        assert job.data["error"]["code"] == code
    assert standin.stats()["image_requests"] == 1  # never retried


def run_cancelled_on(kind, prepared, settings, history, standin):
    """Run a job that the person cancels at its first event of ``kind``; it must raise."""
    cancel = CancelToken()

    def on_event(event):
        if event.kind == kind:
            cancel.cancel()

    with pytest.raises(Cancelled):
        run_job(
            prepared,
            settings,
            on_event=on_event,
            cancel=cancel,
            history=history,
            client=make_client(standin),
        )


def test_images_received_before_a_cancel_stay_in_history(standin, settings, history):
    # The person cancels right after the first image arrived.
    run_cancelled_on("image", prepared_generate(settings, n=3), settings, history, standin)
    (job,) = history.list()
    assert job.status == "cancelled"
    assert [p.name for p in job.images] == ["result-1.png"]  # paid for, so kept
    assert job.data["images"] == ["result-1.png"]
    assert standin.stats()["generated"] == 1


def test_transient_errors_are_retried_without_double_charge(standin, settings, history):
    standin.queue_faults([{"kind": "server_error", "status": 503}])
    prepared = prepared_generate(settings)
    result = run_job(prepared, settings, history=history, client=make_client(standin))
    assert history.get(result.history_id).status == "done"
    stats = standin.stats()
    assert stats["image_requests"] == 2 and stats["generated"] == 1


def test_cut_stream_is_not_retried_and_nothing_is_charged_twice(standin, settings, history):
    standin.queue_faults([{"kind": "stream_cut", "after": 1}])
    prepared = prepared_generate(settings, partial_images=1)
    with pytest.raises(ApiUnavailable):
        run_job(prepared, settings, history=history, client=make_client(standin))
    assert standin.stats()["generated"] == 1 and standin.stats()["image_requests"] == 1
    assert history.list()[0].status == "failed"


def test_cancel_records_cancelled_and_keeps_nothing_half_written(standin, settings, history):
    standin.event_delay = 1.0
    prepared = prepared_generate(settings, partial_images=3)
    run_cancelled_on("partial", prepared, settings, history, standin)
    (job,) = history.list()
    assert job.status == "cancelled" and job.data["error"]["type"] == "Cancelled"
    assert job.images == []
    assert not [p for p in job.path.iterdir() if p.name.startswith(".")]


def test_a_failing_event_handler_never_loses_the_image(standin, settings, history):
    def on_event(event):
        raise RuntimeError("host bug")

    prepared = prepared_generate(settings)
    result = run_job(
        prepared, settings, on_event=on_event, history=history, client=make_client(standin)
    )
    assert history.get(result.history_id).status == "done" and result.paths[0].exists()


def test_history_never_holds_the_key(standin, settings, history):
    standin.queue_faults([{"kind": "moderation"}])
    for prepared in (prepared_generate(settings), prepared_edit(settings)[0]):
        with contextlib.suppress(ApiRefused):
            run_job(prepared, settings, history=history, client=make_client(standin))
    files = [p for p in history.root.rglob("*") if p.is_file()]
    assert len(files) > 4
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"n": 11}, "Variants must be 1 to 10"),
        ({"partial_images": 4}, "Partial previews must be 0 to 3"),
        ({"quality": "ultra"}, "Quality 'ultra' is not available for gpt-image-2"),
        ({"quality": "xhigh"}, "it takes low, medium, high, auto"),
        ({"output_format": "gif"}, "Output format"),
        ({"model": "dall-e-3"}, "Unknown model"),
        ({"resolution": "999x999"}, "not valid"),
    ],
)
def test_prepare_rejects_bad_specs(settings, overrides, words):
    with pytest.raises(InputError) as info:
        prepared_generate(settings, **overrides)
    assert words in str(info.value)


def test_prepare_rejects_empty_prompts_and_too_many_references(settings):
    with pytest.raises(InputError):
        prepared_generate(settings, prompt="   ")
    ref = reference_from_bytes("r.png", png((64, 64)))
    with pytest.raises(InputError) as info:
        prepared_edit(settings, references=(ref,) * 16)
    assert "at most 15" in str(info.value)
    with pytest.raises(InputError):
        reference_from_bytes("notes.txt", b"hello")


def test_references_in_other_formats_are_sent_as_png() -> None:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(buffer, "TIFF")
    ref = reference_from_bytes("scan.tif", buffer.getvalue())
    assert ref.mime == "image/png" and ref.name == "scan.tif"
    with Image.open(io.BytesIO(ref.data)) as image:
        assert image.format == "PNG" and image.getpixel((0, 0))[:3] == (1, 2, 3)
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, "JPEG")
    assert reference_from_bytes("a.jpg", jpeg.getvalue()).data == jpeg.getvalue()


def test_custom_models_from_settings(standin, history):
    settings = Settings(quality="low", custom_models={"gpt-image-9": "flexible"})
    prepared = prepared_generate(settings, model="gpt-image-9", resolution="1024x640")
    assert prepared.plan.model == "gpt-image-9" and str(prepared.plan.api_size) == "1024x640"
    assert "priced as gpt-image-2" in prepared.estimate.breakdown["notes"][0]


def test_key_from_settings_builds_the_client(standin, history, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    settings = Settings(quality="low", base_url=standin.base_url, api_key=KEY)
    result = run_job(prepared_generate(settings), settings, history=history)
    assert history.get(result.history_id).status == "done"


def test_a_history_entry_runs_again_with_the_same_upload(standin, settings, history):
    ref = reference_from_bytes("style.png", png((300, 200), (9, 9, 9)))
    first_prepared, _ = prepared_edit(settings, references=(ref,), n=2)
    first = run_job(first_prepared, settings, history=history, client=make_client(standin))
    again = prepared_from_history(history.get(first.history_id), settings)
    assert again.upload == first_prepared.upload
    assert again.plan.crop == first_prepared.plan.crop
    assert again.plan.api_size == first_prepared.plan.api_size
    assert again.plan.selection.origin == first_prepared.plan.selection.origin
    assert (
        again.plan.selection.coverage.tobytes() == first_prepared.plan.selection.coverage.tobytes()
    )
    assert again.spec.references[0].data == ref.data and again.spec.n == 2
    assert again.estimate_usd == first_prepared.estimate_usd
    second = run_job(again, settings, history=history, client=make_client(standin))
    one, two = standin.image_requests()
    assert one["params"] == two["params"] and one["images"] == two["images"]
    assert one["mask"] == two["mask"]
    assert [p.bounds for p in second.patches] == [p.bounds for p in first.patches]
    assert history.get(second.history_id).data["rerun_of"] == first.history_id


def test_history_results_insert_again_exactly_as_they_first_did(standin, settings, history):
    prepared, _ = prepared_edit(settings, n=2)
    first = run_job(prepared, settings, history=history, client=make_client(standin))
    again = patches_from_history(history.get(first.history_id))
    assert len(again) == 2
    for old, new in zip(first.patches, again, strict=True):
        assert new.bounds == old.bounds
        assert new.mask.tobytes() == old.mask.tobytes()
        assert new.image.tobytes() == old.image.tobytes()


def test_rerun_of_a_generation(standin, settings, history):
    first = run_job(
        prepared_generate(settings, aspect="3:2"),
        settings,
        history=history,
        client=make_client(standin),
    )
    again = prepared_from_history(history.get(first.history_id), settings)
    assert again.plan.mode is Mode.GENERATE and again.upload.image_png is None
    run_job(again, settings, history=history, client=make_client(standin))
    one, two = standin.image_requests()
    assert one["params"] == two["params"] and two["endpoint"] == "generations"


def test_rerun_of_a_broken_entry_is_an_input_error(settings, history):
    job = history.create(prompt="x", mode="edit_selection", model="gpt-image-2")
    with pytest.raises(InputError) as info:
        prepared_from_history(history.get(job.id), settings)
    assert "lacks what it needs" in str(info.value)
