"""core.client against the stand-in over loopback: what goes on the wire, what comes back."""

from __future__ import annotations

import pytest

from core.client import Connection, ImageClient, ImageRequest, InputImage, PartialImage
from core.errors import ApiRefused, ConfigError, InputError
from tests.standin.helpers import KEY, decode, input_image, make_client, mask_png, png
from tests.standin.imaging import edited_pixel, generation_colors

SMALL = "1024x640"  # the smallest gpt-image-2 size (655,360 px)


def close(a, b, tol=6):
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=False))


# generations -------------------------------------------------------------------------------
def test_generate_sends_json_and_returns_the_image(standin):
    result = make_client(standin).run(ImageRequest("a red fox", "gpt-image-2", size=SMALL))

    (record,) = standin.requests
    assert record["endpoint"] == "generations"
    assert record["content_type"].startswith("application/json")
    assert record["params"] == {
        "model": "gpt-image-2",
        "prompt": "a red fox",
        "n": 1,
        "size": SMALL,
        "quality": "auto",
        "output_format": "png",
    }
    assert result.request_id == record["id"]
    assert result.size == SMALL and result.output_format == "png"
    image = decode(result.images[0])
    back, block = generation_colors("a red fox", 0)
    assert image.size == (1024, 640)
    assert image.getpixel((2, 2)) == back and image.getpixel((512, 320)) == block
    assert result.usage["output_tokens"] > 0
    assert set(result.usage["input_tokens_details"]) == {"text_tokens", "image_tokens"}
    assert result.elapsed_s > 0


def test_generate_options_go_where_the_api_takes_them(standin):
    request = ImageRequest(
        "a lighthouse",
        "gpt-image-2",
        size=SMALL,
        quality="low",
        output_format="webp",
        output_compression=60,
        background="transparent",
        moderation="low",
        user="user-42",
    )
    result = make_client(standin).run(request)

    params = standin.requests[0]["params"]
    assert params["output_compression"] == 60
    assert params["background"] == "transparent"
    assert params["moderation"] == "low"
    assert params["user"] == "user-42"
    assert params["quality"] == "low"
    for never in ("response_format", "style", "input_fidelity", "stream"):
        assert never not in params
    assert decode(result.images[0]).format == "WEBP"


def test_png_never_sends_output_compression(standin):
    make_client(standin).run(ImageRequest("x", "gpt-image-2", size=SMALL, output_compression=50))
    assert "output_compression" not in standin.requests[0]["params"]


def test_n_variations_arrive_in_order_each_as_soon_as_decoded(standin):
    seen: list[int] = []
    result = make_client(standin).run(
        ImageRequest("three moons", "gpt-image-2", size=SMALL, n=3),
        on_image=lambda index, data: seen.append(index),
    )
    assert seen == [0, 1, 2]
    colours = [decode(img).getpixel((1, 1)) for img in result.images]
    assert colours == [generation_colors("three moons", i)[0] for i in range(3)]


def test_n_with_partials_does_not_stream(standin):
    """Partials can't be attributed to one of n images, so n > 1 goes without streaming."""
    partials: list[PartialImage] = []
    result = make_client(standin).run(
        ImageRequest("pair", "gpt-image-2", size=SMALL, n=2, partial_images=2),
        on_partial=partials.append,
    )
    params = standin.requests[0]["params"]
    assert "stream" not in params and "partial_images" not in params
    assert len(result.images) == 2 and partials == []


# streaming ---------------------------------------------------------------------------------
def test_streaming_delivers_partials_in_order_then_the_final(standin):
    order: list[tuple[str, int]] = []
    result = make_client(standin).run(
        ImageRequest("a comet", "gpt-image-2", size=SMALL, partial_images=3),
        on_partial=lambda p: order.append(("partial", p.index)),
        on_image=lambda i, data: order.append(("image", i)),
    )
    assert order == [("partial", 0), ("partial", 1), ("partial", 2), ("image", 0)]
    params = standin.requests[0]["params"]
    assert params["stream"] is True and params["partial_images"] == 3
    assert result.usage["output_tokens"] > 300  # includes +100 per partial
    assert result.request_id == standin.requests[0]["id"]


def test_streaming_edit_uses_edit_events(standin):
    partials: list[PartialImage] = []
    result = make_client(standin).run(
        ImageRequest("paint it", "gpt-image-2", image=input_image((64, 48)), partial_images=1),
        on_partial=partials.append,
    )
    assert [p.index for p in partials] == [0]
    assert decode(partials[0].data).size == (64, 48)
    assert decode(result.images[0]).size == (64, 48)
    assert standin.requests[0]["params"]["stream"] == "true"


# edits -------------------------------------------------------------------------------------
def test_masked_edit_sends_multipart_and_changes_only_the_mask(standin):
    canvas = input_image((64, 48), (200, 40, 40))
    request = ImageRequest(
        "a blue door",
        "gpt-image-2",
        image=canvas,
        mask=mask_png((64, 48), (16, 16, 48, 40)),
        moderation="low",
        input_fidelity="high",
    )
    result = make_client(standin).run(request)

    (record,) = standin.requests
    assert record["endpoint"] == "edits"
    assert record["content_type"].startswith("multipart/form-data")
    assert [(i["field"], i["content_type"], i["size"]) for i in record["images"]] == [
        ("image", "image/png", [64, 48])
    ]
    assert record["mask"]["size"] == [64, 48] and record["mask"]["mode"] == "RGBA"
    assert record["mask"]["filename"] == "mask.png"
    params = record["params"]
    assert params["background"] == "opaque"  # never "auto" on edits
    assert params["moderation"] == "low"  # through extra_body
    assert "input_fidelity" not in params  # gpt-image-2 always uses high fidelity
    image = decode(result.images[0]).convert("RGB")
    assert image.getpixel((2, 2)) == (200, 40, 40)  # outside the mask: kept
    assert close(image.getpixel((30, 30)), edited_pixel((200, 40, 40), "a blue door", 0))


def test_input_fidelity_only_for_models_that_take_it(standin):
    client = make_client(standin)
    for model, expected in (("gpt-image-1.5", "high"), ("gpt-image-1-mini", None)):
        standin.reset()
        client.run(ImageRequest("x", model, image=input_image((32, 32)), input_fidelity="high"))
        assert standin.requests[0]["params"].get("input_fidelity") == expected


def test_transparent_edit_is_passed_through(standin):
    make_client(standin).run(
        ImageRequest(
            "cut out", "gpt-image-2", image=input_image((32, 32)), background="transparent"
        )
    )
    assert standin.requests[0]["params"]["background"] == "transparent"


def test_sixteen_images_canvas_first_then_references_in_order(standin):
    canvas = input_image((64, 48), name="canvas.png")
    references = tuple(InputImage(f"ref{i}.png", png((16 + i, 16)), "image/png") for i in range(15))
    make_client(standin).run(
        ImageRequest("combine", "gpt-image-2", image=canvas, references=references)
    )
    images = standin.requests[0]["images"]
    assert len(images) == 16
    assert {i["field"] for i in images} == {"image[]"}
    assert [i["filename"] for i in images] == ["canvas.png"] + [f"ref{i}.png" for i in range(15)]
    assert [i["size"][0] for i in images[1:]] == [16 + i for i in range(15)]


def test_generation_with_references_only_uses_the_edits_endpoint(standin):
    references = (input_image((40, 40), name="a.png"), input_image((50, 50), name="b.png"))
    result = make_client(standin).run(
        ImageRequest("in this style", "gpt-image-2", size=SMALL, references=references)
    )
    record = standin.requests[0]
    assert record["endpoint"] == "edits"
    assert [i["filename"] for i in record["images"]] == ["a.png", "b.png"]
    assert record["mask"] is None
    assert decode(result.images[0]).size == (1024, 640)


def test_jpeg_references_keep_their_type(standin):
    from PIL import Image

    from tests.standin.helpers import encoded

    jpeg = InputImage(
        "photo.jpg", encoded(Image.new("RGB", (30, 20), (1, 2, 3)), "JPEG"), "image/jpeg"
    )
    make_client(standin).run(
        ImageRequest("x", "gpt-image-2", image=input_image((30, 20)), references=(jpeg,))
    )
    assert [i["content_type"] for i in standin.requests[0]["images"]] == ["image/png", "image/jpeg"]
    assert standin.requests[0]["images"][1]["format"] == "JPEG"


# local validation: InputError before any request -------------------------------------------
@pytest.mark.parametrize(
    "changes",
    [
        {"n": 0},
        {"n": 11},
        {"quality": "hd"},
        {"partial_images": 4},
        {"prompt": "   "},
        {"prompt": "x" * 32001},
        {"background": "transparent", "output_format": "jpeg"},
        {"mask": mask_png((8, 8), (0, 0, 4, 4))},
        {"image": InputImage("raw.bin", b"\x89PNG", "application/octet-stream")},
        {"size": "big"},
        {"output_compression": 101},
        {"output_format": "gif"},
        {"references": tuple(input_image((8, 8)) for _ in range(17))},
    ],
    ids=lambda c: next(iter(c)),
)
def test_invalid_requests_fail_locally(standin, changes):
    fields = {"prompt": "ok", "model": "gpt-image-2", **changes}
    with pytest.raises(InputError) as info:
        make_client(standin).run(ImageRequest(**fields))
    assert info.value.exit_code == 2
    assert str(info.value)
    assert standin.requests == []


def test_connection_settings_are_checked():
    with pytest.raises(ConfigError):
        ImageClient(Connection(api_key="", base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(ConfigError):
        ImageClient(Connection(api_key="k", provider="compatible"))
    with pytest.raises(ConfigError):
        ImageClient(Connection(api_key="k", provider="azure", azure_endpoint="https://x"))
    with pytest.raises(ConfigError):
        ImageClient(Connection(api_key="k", provider="nope"))


# check and improve_prompt ------------------------------------------------------------------
def test_check_lists_models(standin):
    info = make_client(standin).check()
    assert info["ok"] is True
    assert info["base_url"].startswith(standin.base_url)
    assert "gpt-image-2" in info["image_models"] and "gpt-image-2" in info["models"]
    assert standin.requests[0]["endpoint"] == "models"


def test_check_with_a_bad_key_is_refused(standin):
    with pytest.raises(ApiRefused) as info:
        make_client(standin, key="sk-invalid").check()
    assert info.value.status == 401 and info.value.code == "invalid_api_key"
    assert "API key" in info.value.hint


def test_improve_prompt_uses_the_responses_api(standin):
    text = make_client(standin).improve_prompt("cat on a mat, cosy", "gpt-5-mini")
    assert "cat on a mat, cosy" in text and "Composition:" in text
    record = standin.requests[0]
    assert record["endpoint"] == "responses"
    assert record["params"]["model"] == "gpt-5-mini"
    assert "brief" in record["params"]["instructions"]


def test_improve_prompt_refuses_an_empty_prompt(standin):
    with pytest.raises(InputError):
        make_client(standin).improve_prompt("  ", "gpt-5-mini")
    assert standin.requests == []


# providers and environment -----------------------------------------------------------------
def test_azure_routes_through_the_deployment_with_api_version(standin):
    connection = Connection(
        api_key=KEY,
        provider="azure",
        azure_endpoint=standin.root_url,
        azure_deployment="img-prod",
        api_version="2025-04-01-preview",
        timeout_s=10,
    )
    client = ImageClient(connection)
    client.run(ImageRequest("x", "gpt-image-2", size=SMALL))
    client.run(ImageRequest("x", "gpt-image-2", image=input_image((32, 32))))
    generate, edit = standin.requests
    assert generate["path"] == "/openai/deployments/img-prod/images/generations"
    assert edit["path"] == "/openai/deployments/img-prod/images/edits"
    for record in (generate, edit):
        assert record["query"]["api-version"] == "2025-04-01-preview"
        assert record["azure_deployment"] == "img-prod"
        assert "api-key" in record["header_names"] and "authorization" not in record["header_names"]


def test_compatible_provider_uses_its_base_url(standin):
    client = make_client(standin, provider="compatible")
    client.run(ImageRequest("x", "gpt-image-2", size=SMALL))
    assert standin.requests[0]["path"] == "/v1/images/generations"


def test_environment_does_not_override_the_connection(standin, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-should-not-be-used")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-env")
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", "X-From-Env: 1")
    make_client(standin).run(ImageRequest("x", "gpt-image-2", size=SMALL))
    headers = standin.requests[0]["header_names"]
    for name in ("openai-organization", "openai-project", "x-from-env"):
        assert name not in headers


def test_organization_and_project_are_sent_when_set(standin):
    make_client(standin, organization="org-1", project="proj-1").run(
        ImageRequest("x", "gpt-image-2", size=SMALL)
    )
    headers = standin.requests[0]["header_names"]
    assert "openai-organization" in headers and "openai-project" in headers


def test_reprs_do_not_show_the_key_or_image_bytes():
    connection = Connection(api_key=KEY)
    assert KEY not in repr(connection)
    request = ImageRequest(
        "x", "gpt-image-2", image=InputImage("a.png", b"\x89PNG" * 1000, "image/png")
    )
    assert "PNG" not in repr(request).replace("a.png", "").replace("image/png", "")


@pytest.mark.parametrize("provider", ["openai", "azure"])
def test_credential_headers_from_the_environment_never_replace_the_key(
    standin, monkeypatch, provider
):
    monkeypatch.setenv(
        "OPENAI_CUSTOM_HEADERS", "Authorization: Bearer sk-env-other\napi-key: sk-env-other"
    )
    if provider == "azure":
        settings = {
            "provider": "azure",
            "azure_endpoint": standin.root_url,
            "api_version": "2025-04-01-preview",
        }
    else:
        settings = {"base_url": standin.base_url}
    with pytest.raises(ApiRefused):  # an invalid key stays invalid: the env key is not used
        ImageClient(Connection(api_key="sk-invalid", timeout_s=10, **settings)).check()
    assert ImageClient(Connection(api_key=KEY, timeout_s=10, **settings)).check()["ok"]
    headers = standin.requests[-1]["header_names"]
    assert headers.count("authorization") + headers.count("api-key") == 1


def test_azure_check_and_improve_prompt(standin):
    connection = Connection(
        api_key=KEY,
        provider="azure",
        azure_endpoint=standin.root_url,
        azure_deployment="img-prod",
        api_version="2025-04-01-preview",
    )
    client = ImageClient(connection)
    assert "gpt-image-2" in client.check()["models"]
    assert client.improve_prompt("a cat", "gpt-5-mini").startswith("Subject: a cat")
    models, responses = standin.requests
    assert models["path"] == "/openai/models" and responses["path"] == "/openai/responses"
    assert {models["query"]["api-version"], responses["query"]["api-version"]} == {
        "2025-04-01-preview"
    }


def test_every_sdk_client_shares_one_verifying_tls_context():
    """The CA bundle is loaded once per process (``tls_context``), and TLS stays verified."""
    import ssl

    from core.client_transport import tls_context

    context = tls_context()
    assert context is tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
