"""Settings: platform folders, env overrides, broken files left alone, the key file's mode."""

from __future__ import annotations

import json
import os
import stat

import pytest

from core.errors import ConfigError
from core.settings import (
    Settings,
    clear_api_key,
    config_dir,
    data_dir,
    load_settings,
    read_api_key,
    save_settings,
    set_api_key,
)

FAKE_KEY = "sk-test-SETTINGS-0123456789abcdef"


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    cfg, data = tmp_path / "cfg", tmp_path / "data"
    monkeypatch.setenv("GPT_IMAGE_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("GPT_IMAGE_DATA_DIR", str(data))
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)
    return cfg, data


@pytest.mark.parametrize(
    ("platform", "env", "config", "data"),
    [
        ("linux", {"HOME": "/h"}, "/h/.config/gpt-image", "/h/.local/share/gpt-image"),
        (
            "linux",
            {"HOME": "/h", "XDG_CONFIG_HOME": "/x/c", "XDG_DATA_HOME": "/x/d"},
            "/x/c/gpt-image",
            "/x/d/gpt-image",
        ),
        (
            "darwin",
            {"HOME": "/Users/a"},
            "/Users/a/Library/Application Support/gpt-image",
            "/Users/a/Library/Application Support/gpt-image",
        ),
        ("win32", {"APPDATA": "/w/Roaming"}, "/w/Roaming/gpt-image", "/w/Roaming/gpt-image"),
        (
            "linux",
            {"HOME": "/h", "GPT_IMAGE_CONFIG_DIR": "/t/c", "GPT_IMAGE_DATA_DIR": "/t/d"},
            "/t/c",
            "/t/d",
        ),
    ],
)
def test_platform_folders(platform, env, config, data):
    assert config_dir(env, platform).as_posix() == config
    assert data_dir(env, platform).as_posix() == data


def test_defaults_when_no_file_and_nothing_written(dirs):
    cfg, _ = dirs
    settings = load_settings()
    assert settings.model == "gpt-image-2"
    assert settings.timeout_s == 300
    assert settings.max_retries == 2
    assert settings.api_key is None
    assert not cfg.exists(), "loading must never create or write files"


def test_save_and_load_round_trip(dirs):
    settings = Settings(quality="high", n=3, custom_models={"my-model": "fixed"})
    path = save_settings(settings)
    again = load_settings()
    assert again.quality == "high" and again.n == 3
    assert again.custom_models == {"my-model": "fixed"}
    assert json.loads(path.read_text())["n"] == 3
    assert not list(path.parent.glob(".*.tmp")), "no temp files left behind"


def test_unknown_fields_are_kept_through_a_save(dirs):
    cfg, _ = dirs
    cfg.mkdir()
    (cfg / "settings.json").write_text('{"n": 2, "from_a_newer_version": {"a": 1}}')
    settings = load_settings()
    save_settings(settings)
    data = json.loads((cfg / "settings.json").read_text())
    assert data["from_a_newer_version"] == {"a": 1} and data["n"] == 2


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('{"n": 50}', ["'n'", "settings.json"]),
        ('{"quality": "ultra"}', ["'quality'"]),
        ('{"timeout_s": "soon"}', ["'timeout_s'"]),
        ('{"custom_models": {"x": "stretchy"}}', ["'custom_models.x'"]),
        ('{"resolution": "8K"}', ["'resolution'"]),
        ('{"n": 2,,}', ["not valid JSON", "line 1"]),
        ("[1, 2]", ["JSON object"]),
        ('{"api_key": "sk-in-the-wrong-place-123456"}', ["'api_key'"]),
    ],
)
def test_broken_file_names_the_field_and_is_left_untouched(dirs, text, names):
    cfg, _ = dirs
    cfg.mkdir()
    path = cfg / "settings.json"
    path.write_text(text)
    before = path.stat().st_mtime_ns
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    for name in names:
        assert name in message
    assert "sk-in-the-wrong-place" not in message
    assert path.read_text() == text and path.stat().st_mtime_ns == before
    assert info.value.exit_code == 2


def test_saving_over_a_broken_file_keeps_it_aside(dirs):
    cfg, _ = dirs
    cfg.mkdir()
    path = cfg / "settings.json"
    path.write_text('{"n": "many"')
    save_settings(Settings(n=4))
    backups = list(cfg.glob("settings.json.bad-*"))
    assert len(backups) == 1 and backups[0].read_text() == '{"n": "many"'
    assert load_settings().n == 4


def test_env_overrides_win_and_are_not_saved(dirs, monkeypatch):
    cfg, _ = dirs
    save_settings(Settings(base_url="http://file.example/v1", organization="org-file"))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env.example/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_env")
    settings = load_settings()
    assert settings.base_url == "http://env.example/v1"
    assert settings.organization == "org-env" and settings.project == "proj_env"
    assert set(settings.env_overrides) == {"base_url", "organization", "project"}
    settings.n = 5
    save_settings(settings)
    data = json.loads((cfg / "settings.json").read_text())
    assert data["base_url"] == "http://file.example/v1"
    assert data["organization"] == "org-file"
    assert data.get("project") is None
    assert data["n"] == 5


def test_key_file_is_owner_only_whatever_the_umask(dirs):
    cfg, _ = dirs
    old = os.umask(0)
    try:
        path = set_api_key(FAKE_KEY)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path == cfg / "api_key"
    settings = load_settings()
    assert settings.api_key.get_secret_value() == FAKE_KEY
    assert settings.key_source == "file"
    assert FAKE_KEY not in repr(settings) and FAKE_KEY not in str(settings)
    assert FAKE_KEY not in json.dumps(settings.public_dict())
    save_settings(settings)
    assert FAKE_KEY not in (cfg / "settings.json").read_text()


def test_key_file_readable_by_others_is_tightened(dirs):
    path = set_api_key(FAKE_KEY)
    os.chmod(path, 0o644)
    assert read_api_key().get_secret_value() == FAKE_KEY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_env_key_wins_over_file(dirs, monkeypatch):
    set_api_key(FAKE_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-0000000000")
    settings = load_settings()
    assert settings.api_key.get_secret_value() == "sk-from-env-0000000000"
    assert settings.key_source == "env"


def test_clear_and_reject_bad_keys(dirs):
    set_api_key(FAKE_KEY)
    assert clear_api_key() is True
    assert clear_api_key() is False
    assert load_settings().api_key is None
    with pytest.raises(ConfigError):
        set_api_key("two words")


def test_missing_key_is_a_config_error_for_openai_but_not_compatible(dirs):
    with pytest.raises(ConfigError) as info:
        Settings().connection()
    assert "OPENAI_API_KEY" in str(info.value)
    conn = Settings(provider="compatible", base_url="http://127.0.0.1:9/v1").connection()
    assert conn.base_url == "http://127.0.0.1:9/v1"


def test_connection_carries_timeouts_and_endpoint(dirs, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    conn = load_settings().connection()
    assert conn.base_url == "http://127.0.0.1:1/v1"
    assert conn.timeout_s == 300 and conn.max_retries == 2
    assert FAKE_KEY not in repr(load_settings())


def test_blend_options_from_settings():
    blend = Settings(padding_px=10, grow_px=2, feather_px=3).blend()
    assert (blend.padding_px, blend.grow_px, blend.feather_px) == (10, 2, 3)


def test_every_field_has_a_label_and_help():
    for name, info in Settings.model_fields.items():
        if name == "api_key":
            continue
        assert info.title and info.description, name
