"""The same inputs give the same request from the CLI, Krita and GIMP (issue #10).

For each case of ``request_paths.CASES`` the request is built and sent to the stand-in three
times: by ``python -m core`` (in process), by Krita's form path (form values → settings → spec →
``read_job`` → ``run_job``, as the docker's Generate does, without the widgets) and by GIMP's
procedure path (argument values → ``options_from_values`` → ``job_spec`` → core's mode choice →
``prepare_job`` → ``run_job``, without libgimp). What the stand-in received — every form field
or JSON key, each file's name, type, size and pixel digest, the mask's — must be identical. The
real-host suites send cases of the same table from real Krita and GIMP.
"""

from __future__ import annotations

import json

import pytest

from core.cli import main
from tests import request_paths
from tests.request_paths import CASES, Case, compared
from tests.standin.helpers import KEY


@pytest.fixture
def env(tmp_path, monkeypatch, standin):
    monkeypatch.setenv("GPT_IMAGE_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("GPT_IMAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", standin.base_url)
    for var in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def _last_request(standin, before: int) -> dict:
    sent = standin.image_requests()[before:]
    assert len(sent) == 1, [r.get("outcome") for r in sent]
    assert sent[0]["outcome"] == "ok", sent[0]
    return compared(sent[0])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_krita_and_gimp_send_the_same_request(case: Case, env, standin, capsys):
    (env / "cfg").mkdir()
    (env / "cfg" / "settings.json").write_text(json.dumps(request_paths.settings_json(case)))
    image = env / "canvas.png"
    request_paths.picture(case.canvas).save(image)
    refs = request_paths.reference_files(env, case.references)

    before = len(standin.image_requests())
    code = main(request_paths.cli_argv(case, image, refs, env / "out.png"))
    assert code == 0, capsys.readouterr().err
    cli = _last_request(standin, before)

    before = len(standin.image_requests())
    request_paths.krita_request(case, env / "krita-package", refs)
    krita = _last_request(standin, before)

    before = len(standin.image_requests())
    request_paths.gimp_request(case, refs)
    gimp = _last_request(standin, before)

    assert krita == cli
    assert gimp == cli
    # the table means something: the fields of the case reached the API
    params = cli["params"]
    assert params["model"] == case.model and params["quality"] == case.quality
    assert int(params["n"]) == case.n
    assert len(cli["images"]) == (0 if case.mode == "generate" else 1 + case.references)
    assert (cli["mask"] is not None) == (case.mode == "edit" and case.rect is not None)
