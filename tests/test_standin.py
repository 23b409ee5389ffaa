"""The stand-in itself: it rejects what the real API rejects and speaks its wire format."""

from __future__ import annotations

import http.client as httplib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import openai
import pytest
from PIL import Image

from tests.standin.helpers import KEY, decode, encoded, png

ROOT = Path(__file__).resolve().parent.parent


# raw HTTP, independent of the SDK ----------------------------------------------------------
def call(standin_or_url, method, path, body=None, headers=None):
    url = standin_or_url if isinstance(standin_or_url, str) else standin_or_url.root_url
    parts = urlsplit(url)
    conn = httplib.HTTPConnection(parts.hostname, parts.port, timeout=10)
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    conn.request(method, path, body=data, headers=all_headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, payload


def auth(key=KEY):
    return {"Authorization": f"Bearer {key}"}


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, filename, data, ctype in files:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        if ctype:
            head += f"Content-Type: {ctype}\r\n"
        chunks.append(head.encode() + b"\r\n" + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def sdk(standin, key=KEY):
    return openai.OpenAI(api_key=key, base_url=standin.base_url, max_retries=0, timeout=10)


def generate_error(standin, **params):
    body = {"model": "gpt-image-2", "prompt": "p", **params}
    status, _, payload = call(standin, "POST", "/v1/images/generations", body, auth())
    return status, json.loads(payload)["error"]


# auth and the error body -------------------------------------------------------------------
def test_missing_key_is_401_with_the_real_error_shape(standin):
    status, headers, payload = call(
        standin, "POST", "/v1/images/generations", {"model": "gpt-image-2"}
    )
    assert status == 401
    error = json.loads(payload)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "didn't provide an API key" in error["message"]
    assert headers["x-request-id"].startswith("req_")


def test_the_invalid_key_is_rejected_through_the_sdk(standin):
    with pytest.raises(openai.AuthenticationError) as info:
        sdk(standin, key="sk-invalid").images.generate(model="gpt-image-2", prompt="p")
    assert info.value.code == "invalid_api_key"
    assert info.value.request_id.startswith("req_")


def test_every_answer_has_a_request_id(standin):
    for method, path in (
        ("GET", "/v1/models"),
        ("GET", "/v1/nope"),
        ("DELETE", "/v1/models/x"),
        ("GET", "/_standin/stats"),
    ):
        _, headers, _ = call(standin, method, path, headers=auth())
        assert headers["x-request-id"].startswith("req_")


def test_unknown_route_is_404(standin):
    status, _, payload = call(standin, "POST", "/v1/images/variations2", {}, auth())
    assert status == 404 and "Invalid URL" in json.loads(payload)["error"]["message"]


# parameter validation ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        ({"model": None}, "missing_required_parameter", "'model'"),
        ({"model": "dall-e-3"}, "invalid_value", "dall-e-3"),
        ({"prompt": ""}, "missing_required_parameter", "'prompt'"),
        ({"prompt": "x" * 32001}, "string_above_max_length", "32000"),
        ({"n": 0}, "integer_below_min_value", "'n'"),
        ({"n": 11}, "integer_above_max_value", "<= 10"),
        ({"quality": "hd"}, "invalid_value", "'hd'"),
        ({"quality": "standard"}, "invalid_value", "'standard'"),
        ({"response_format": "b64_json"}, "unknown_parameter", "response_format"),
        ({"style": "vivid"}, "unknown_parameter", "style"),
        ({"input_fidelity": "high"}, "unknown_parameter", "input_fidelity"),  # edits only
        ({"background": "transparent", "output_format": "jpeg"}, "invalid_value", "jpeg"),
        ({"output_format": "gif"}, "invalid_value", "'gif'"),
        ({"output_compression": 50}, "invalid_value", "PNG"),
        ({"output_compression": 101, "output_format": "jpeg"}, "integer_above_max_value", "100"),
        ({"partial_images": 4, "stream": True}, "integer_above_max_value", "partial_images"),
        ({"moderation": "high"}, "invalid_value", "'high'"),
    ],
)
def test_generation_parameters_are_validated(standin, params, code, fragment):
    if params.get("model", "") is None:
        params = {k: v for k, v in params.items() if k != "model"}
        body = {"prompt": "p", **params}
        status, _, payload = call(standin, "POST", "/v1/images/generations", body, auth())
        error = json.loads(payload)["error"]
    else:
        status, error = generate_error(standin, **params)
    assert status == 400
    assert error["code"] == code
    assert fragment in error["message"]
    assert standin.stats()["generated"] == 0


@pytest.mark.parametrize(
    ("size", "fragment"),
    [
        ("1920x1080", "divisible by 16"),
        ("1792x936", "divisible by 16"),
        ("800x800", "below the current minimum pixel budget"),
        ("768x768", "below the current minimum pixel budget"),
        ("1024x576", "below the current minimum pixel budget"),
        ("2896x2896", "maximum pixel budget"),
        ("3856x1616", "longest edge"),
        ("1536x496", "aspect ratio"),
        ("big", "WIDTHxHEIGHT"),
    ],
)
def test_gpt_image_2_size_rules(standin, size, fragment):
    status, error = generate_error(standin, size=size)
    assert status == 400
    assert (error["type"], error["param"], error["code"]) == (
        "image_generation_user_error",
        "size",
        "invalid_value",
    )
    assert fragment in error["message"]


@pytest.mark.parametrize("size", ["1024x640", "816x816", "1536x512", "1920x1088"])
def test_gpt_image_2_valid_sizes_come_back_at_that_size(standin, size):
    result = sdk(standin).images.generate(model="gpt-image-2", prompt="p", size=size, quality="low")
    w, h = (int(v) for v in size.split("x"))
    assert decode(openai_b64(result)).size == (w, h)
    assert result.size == size


@pytest.mark.parametrize(
    ("model", "size", "ok"),
    [
        ("gpt-image-1.5", "1024x1024", True),
        ("gpt-image-1.5", "1536x1024", True),
        ("gpt-image-1-mini", "auto", True),
        ("gpt-image-1.5", "1024x640", False),
        ("gpt-image-1-mini", "2048x2048", False),
    ],
)
def test_fixed_size_models(standin, model, size, ok):
    status, _, payload = call(
        standin,
        "POST",
        "/v1/images/generations",
        {"model": model, "prompt": "p", "size": size, "quality": "low"},
        auth(),
    )
    assert (status == 200) is ok
    if not ok:
        assert (
            "Supported values are: '1024x1024', '1536x1024', '1024x1536', and 'auto'"
            in (json.loads(payload)["error"]["message"])
        )


# edits: images and masks -------------------------------------------------------------------
def edit(standin, files, **fields):
    body, headers = multipart({"model": "gpt-image-2", "prompt": "p", **fields}, files)
    status, _, payload = call(standin, "POST", "/v1/images/edits", body, {**auth(), **headers})
    return status, json.loads(payload)


def canvas(size=(64, 48)):
    return ("image", "c.png", png(size), "image/png")


def test_mask_must_match_the_first_image(standin):
    mask = encoded(Image.new("RGBA", (32, 32)))
    status, body = edit(standin, [canvas(), ("mask", "m.png", mask, "image/png")])
    assert status == 400
    assert (
        body["error"]["message"]
        == "Invalid mask image format - mask size does not match image size"
    )


def test_mask_needs_an_alpha_channel(standin):
    mask = png((64, 48), (0, 0, 0))
    status, body = edit(standin, [canvas(), ("mask", "m.png", mask, "image/png")])
    assert status == 400
    assert (
        body["error"]["message"] == "Invalid mask image format - mask image missing alpha channel"
    )


def test_mask_must_be_png(standin):
    mask = encoded(Image.new("RGB", (64, 48)), "JPEG")
    status, body = edit(standin, [canvas(), ("mask", "m.jpg", mask, "image/jpeg")])
    assert status == 400 and "must be a PNG" in body["error"]["message"]


def test_mask_must_be_under_4_mb(standin):
    noise = Image.frombytes("RGBA", (1100, 1000), os.urandom(1100 * 1000 * 4))
    mask = encoded(noise)
    assert len(mask) > 4 * 1024 * 1024
    status, body = edit(standin, [canvas(), ("mask", "m.png", mask, "image/png")])
    assert status == 400 and "4 MB" in body["error"]["message"]


def test_octet_stream_images_are_rejected(standin):
    status, body = edit(standin, [("image", "c", png((8, 8)), "application/octet-stream")])
    assert (
        status == 400
        and "unsupported mimetype ('application/octet-stream')" in body["error"]["message"]
    )


def test_bare_bytes_from_the_sdk_are_rejected(standin):
    """What the docs warn about: bytes without a (name, data, mime) tuple."""
    with pytest.raises(openai.BadRequestError) as info:
        sdk(standin).images.edit(model="gpt-image-2", prompt="p", image=png((8, 8)))
    assert info.value.code == "unsupported_file_mimetype"


def test_not_an_image_is_rejected(standin):
    status, body = edit(standin, [("image", "c.png", b"not a png", "image/png")])
    assert status == 400 and body["error"]["code"] == "invalid_image"


def test_at_most_16_images(standin):
    files = [("image[]", f"{i}.png", png((8, 8)), "image/png") for i in range(17)]
    status, body = edit(standin, files)
    assert status == 400 and "maximum length 16" in body["error"]["message"]
    status, _ = edit(standin, files[:16])
    assert status == 200


def test_image_is_required_for_edits(standin):
    status, body = edit(standin, [])
    assert status == 400 and body["error"]["param"] == "image"


def test_input_fidelity_per_model(standin):
    status, body = edit(standin, [canvas()], input_fidelity="high")
    assert status == 400 and body["error"]["code"] == "invalid_input_fidelity_model"
    status, _ = edit(standin, [canvas()], input_fidelity="high", model="gpt-image-1.5")
    assert status == 200


def test_edit_without_mask_changes_everything_and_keeps_size(standin):
    status, body = edit(standin, [canvas((40, 30))])
    image = decode(openai_b64(body)).convert("RGB")
    assert status == 200 and image.size == (40, 30)
    assert image.getpixel((0, 0)) != (200, 40, 40)


def test_edit_to_a_requested_size_resizes_the_input(standin):
    status, body = edit(standin, [canvas((64, 40))], size="1024x640")
    assert status == 200 and decode(openai_b64(body)).size == (1024, 640)


# outputs -----------------------------------------------------------------------------------
def test_outputs_are_deterministic_and_differ_per_prompt(standin):
    client = sdk(standin)
    a1 = client.images.generate(model="gpt-image-2", prompt="a", size="1024x640")
    a2 = client.images.generate(model="gpt-image-2", prompt="a", size="1024x640")
    b = client.images.generate(model="gpt-image-2", prompt="b", size="1024x640")
    assert a1.data[0].b64_json == a2.data[0].b64_json != b.data[0].b64_json


@pytest.mark.parametrize(("fmt", "pil"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
def test_output_format_is_honoured(standin, fmt, pil):
    result = sdk(standin).images.generate(
        model="gpt-image-2", prompt="p", size="1024x640", output_format=fmt
    )
    assert decode(openai_b64(result)).format == pil and result.output_format == fmt


def test_usage_grows_with_quality_and_size(standin):
    client = sdk(standin)
    low = client.images.generate(
        model="gpt-image-2", prompt="p", size="1024x640", quality="low"
    ).usage
    high = client.images.generate(
        model="gpt-image-2", prompt="p", size="1024x640", quality="high"
    ).usage
    big = client.images.generate(
        model="gpt-image-2", prompt="p", size="1536x1024", quality="high"
    ).usage
    assert low.output_tokens < high.output_tokens < big.output_tokens
    assert high.total_tokens == high.input_tokens + high.output_tokens
    assert high.input_tokens_details.text_tokens >= 1


def test_sse_wire_format(standin):
    body = {
        "model": "gpt-image-2",
        "prompt": "p",
        "size": "1024x640",
        "stream": True,
        "partial_images": 2,
    }
    status, headers, payload = call(standin, "POST", "/v1/images/generations", body, auth())
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in payload.decode().split("\n\n") if b.strip()]
    events = []
    for block in blocks:
        event_line, data_line = block.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        data = json.loads(data_line[6:])
        assert data["type"] == event_line[7:]
        events.append(data)
    assert [e["type"] for e in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    assert [e.get("partial_image_index") for e in events] == [0, 1, None]
    for event in events:
        assert {"b64_json", "created_at", "size", "quality", "background", "output_format"} <= set(
            event
        )
    assert "usage" in events[-1] and "usage" not in events[0]


def test_sdk_reads_the_edit_stream(standin):
    stream = sdk(standin).images.edit(
        model="gpt-image-2",
        prompt="p",
        image=("c.png", png((32, 32)), "image/png"),
        stream=True,
        partial_images=1,
    )
    types = [event.type for event in stream]
    assert types == ["image_edit.partial_image", "image_edit.completed"]


# recording and control ---------------------------------------------------------------------
def test_records_never_hold_the_authorization_value(standin):
    sdk(standin).images.generate(model="gpt-image-2", prompt="p", size="1024x640")
    status, _, payload = call(standin, "GET", "/_standin/requests")
    records = json.loads(payload)
    assert status == 200 and len(records) == 1
    assert "authorization" in records[0]["header_names"]
    assert KEY not in payload.decode()


def test_control_endpoints_over_http(standin):
    status, _, payload = call(
        standin,
        "POST",
        "/_standin/faults",
        [{"kind": "server_error", "status": 503}, {"kind": "rate_limit"}],
    )
    assert status == 200 and json.loads(payload)["queued"] == 2
    _, _, payload = call(standin, "GET", "/_standin/faults")
    assert [f["kind"] for f in json.loads(payload)] == ["server_error", "rate_limit"]
    assert generate_error(standin, size="1024x640")[0] == 503
    status, headers, _ = call(
        standin, "POST", "/v1/images/generations", {"model": "gpt-image-2", "prompt": "p"}, auth()
    )
    assert status == 429 and headers["retry-after"] == "1"
    _, _, payload = call(standin, "GET", "/_standin/stats")
    assert json.loads(payload)["image_requests"] == 2
    assert call(standin, "POST", "/_standin/reset")[0] == 200
    assert standin.requests == [] and standin.stats()["image_requests"] == 0
    status, _, _ = call(standin, "POST", "/_standin/faults", [{"kind": "no-such-fault"}])
    assert status == 400


def test_models_and_responses(standin):
    models = [m.id for m in sdk(standin).models.list().data]
    assert "gpt-image-2" in models
    response = sdk(standin).responses.create(model="gpt-5-mini", input="a cat")
    assert response.output_text.startswith("Subject: a cat")
    with pytest.raises(openai.BadRequestError):
        sdk(standin).responses.create(model="gpt-image-2", input="a cat")


def test_azure_paths_need_an_api_version(standin):
    path = "/openai/deployments/d1/images/generations"
    body = {"model": "gpt-image-2", "prompt": "p", "size": "1024x640"}
    assert call(standin, "POST", path, body, {"api-key": KEY})[0] == 404
    status, _, _ = call(
        standin, "POST", path + "?api-version=2025-04-01-preview", body, {"api-key": KEY}
    )
    assert status == 200
    assert standin.requests[-1]["azure_deployment"] == "d1"


def test_prompt_delay_token_slows_the_stream(standin):
    body = {
        "model": "gpt-image-2",
        "prompt": "[[delay:0.3]] p",
        "size": "1024x640",
        "stream": True,
        "partial_images": 2,
    }
    started = time.monotonic()
    status, _, _ = call(standin, "POST", "/v1/images/generations", body, auth())
    assert status == 200 and time.monotonic() - started >= 0.6


def test_runs_as_a_process_and_writes_the_ready_file(tmp_path):
    ready = tmp_path / "standin.url"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.standin", "--port", "0", "--ready-file", str(ready)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        base_url = ready.read_text().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        client = openai.OpenAI(api_key=KEY, base_url=base_url, max_retries=0, timeout=10)
        assert "gpt-image-2" in [m.id for m in client.models.list().data]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def openai_b64(result):
    import base64

    data = result["data"] if isinstance(result, dict) else result.data
    first = data[0]
    return base64.b64decode(first["b64_json"] if isinstance(first, dict) else first.b64_json)
