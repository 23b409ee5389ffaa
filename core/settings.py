"""Settings shared by both plug-ins and the CLI: one pydantic model, one JSON file, one key file.

Where things live (folder name ``gpt-image``):

- config: ``GPT_IMAGE_CONFIG_DIR``, else ``$XDG_CONFIG_HOME`` (``~/.config``) on Linux,
  ``~/Library/Application Support`` on macOS, ``%APPDATA%`` on Windows.
- data (history, logs): ``GPT_IMAGE_DATA_DIR``, else ``$XDG_DATA_HOME`` (``~/.local/share``) on
  Linux; on macOS and Windows the same folder as the config.

``settings.json`` never holds the API key. The key lives in ``<config>/api_key``, created with mode
0600 whatever the umask, and is held as a ``SecretStr`` in memory. ``OPENAI_API_KEY``,
``OPENAI_BASE_URL``, ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID`` win over the files and are never
written back.

Loading never writes: a broken or hand-edited file raises ``ConfigError`` naming the file and the
field, and stays exactly as it was. Saving is atomic; a file that no longer loads is first kept
aside as ``settings.json.bad-<time>`` so nothing a person typed is lost.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import stat
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError

from .errors import ConfigError, InputError
from .jsonfile import JsonFileError, load_json
from .models import ALL_QUALITIES
from .options import RESOLUTION_PATTERN, option

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .client import Connection
    from .pipeline import BlendOptions

log = logging.getLogger(__name__)

APP_DIR_NAME = "gpt-image"
SETTINGS_FILE = "settings.json"
KEY_FILE = "api_key"

ENV_CONFIG_DIR = "GPT_IMAGE_CONFIG_DIR"
ENV_DATA_DIR = "GPT_IMAGE_DATA_DIR"
ENV_API_KEY = "OPENAI_API_KEY"
#: Environment variables that override a settings field (and are never saved).
ENV_FIELDS = {
    "OPENAI_BASE_URL": "base_url",
    "OPENAI_ORG_ID": "organization",
    "OPENAI_PROJECT_ID": "project",
}

Provider = Literal["openai", "compatible", "azure"]
Quality = Literal[ALL_QUALITIES]  # type: ignore[valid-type]  # which model takes which: core.models
OutputFormat = Literal[option("output_format").choices]  # type: ignore[valid-type]
Moderation = Literal[option("moderation").choices]  # type: ignore[valid-type]
SizeKind = Literal["flexible", "fixed"]


# --- folders -----------------------------------------------------------------------------------


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("HOME") or Path.home())


def config_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The folder holding ``settings.json`` and ``api_key`` (not created here)."""
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if env.get(ENV_CONFIG_DIR):
        return Path(env[ENV_CONFIG_DIR])
    if plat.startswith("win"):
        base = env.get("APPDATA") or str(_home(env) / "AppData" / "Roaming")
        return Path(base) / APP_DIR_NAME
    if plat == "darwin":
        return _home(env) / "Library" / "Application Support" / APP_DIR_NAME
    return Path(env.get("XDG_CONFIG_HOME") or _home(env) / ".config") / APP_DIR_NAME


def data_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The folder holding history and logs (not created here)."""
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if env.get(ENV_DATA_DIR):
        return Path(env[ENV_DATA_DIR])
    if plat.startswith("win") or plat == "darwin":
        return config_dir(env, plat)
    return Path(env.get("XDG_DATA_HOME") or _home(env) / ".local" / "share") / APP_DIR_NAME


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def key_path() -> Path:
    return config_dir() / KEY_FILE


# --- atomic files ------------------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX only; Windows has no directory handles to sync)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    path: Path,
    data: bytes | Callable[[BinaryIO], object],
    *,
    mode: int = 0o644,
    durable: bool = True,
) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the new one, never half of one.

    ``data`` may be a function that writes into the open file (an image encoder streaming a
    large file, which then never has to sit in memory whole). The temporary file sits in the
    same folder (``os.replace`` is only atomic within one file system), is created with ``mode``
    regardless of the umask, and is fsynced before the rename (and the folder after it) unless
    ``durable`` is False: still atomic, but a power cut may lose it (two disk flushes saved, for
    files that can be lost without losing anything paid for).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, mode)
    try:
        with contextlib.suppress(AttributeError, NotImplementedError, OSError):
            os.fchmod(fd, mode)  # the umask may have removed bits we asked for (or added none)
        with os.fdopen(fd, "wb") as handle:
            if callable(data):
                data(handle)
            else:
                handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        _replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_dir(path.parent)


def _replace(source: Path, target: Path) -> None:
    """``os.replace``, retried briefly on Windows, where a reader holding ``target`` open
    (a host showing a thumbnail, a virus scanner) makes the rename fail for a moment."""
    for attempt in range(10):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if os.name != "nt" or attempt == 9:
                raise
            time.sleep(0.05 * (attempt + 1))


def ensure_private_dir(folder: Path) -> Path:
    """Create ``folder`` (0700 when new) and return it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


#: The range of each blend option (canvas px), as ``core.options`` defines it. Beyond them a job would only allocate huge masks for no visible gain.
BLEND_RANGES = {
    name: (option(name).minimum, option(name).maximum)
    for name in ("padding_px", "grow_px", "feather_px")
}


#: An hour: beyond it a request is not slow but stuck (and socket timeouts overflow far beyond).
MAX_TIMEOUT_S = 3600.0


# --- the model ---------------------------------------------------------------------------------


def _field(default: Any, title: str, description: str, **kwargs: Any) -> Any:
    return Field(default, title=title, description=description, **kwargs)


def _job_field(name: str, **kwargs: Any) -> Any:
    """A Settings field for the job option ``name``: default, label, help and range from
    ``core.options`` (the one definition)."""
    opt = option(name)
    if opt.minimum is not None:
        kwargs.setdefault("ge", opt.minimum)
    if opt.maximum is not None:
        kwargs.setdefault("le", opt.maximum)
    return Field(opt.default, title=opt.label, description=opt.describe(), **kwargs)


class Settings(BaseModel):
    """Every user-facing option, declared once with its label, default and help text.

    ``api_key`` is filled by ``load_settings`` from ``OPENAI_API_KEY`` or the key file and is
    never serialised.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    provider: Provider = _field(
        "openai",
        "Provider",
        "openai: api.openai.com; compatible: any server speaking the same API at base_url; "
        "azure: Azure OpenAI (azure_endpoint, azure_deployment, api_version).",
    )
    base_url: str | None = _field(
        None, "Base URL", "API base URL, e.g. http://localhost:8000/v1. Env OPENAI_BASE_URL wins."
    )
    organization: str | None = _field(
        None, "Organization", "OpenAI organization id (org-...). Env OPENAI_ORG_ID wins."
    )
    project: str | None = _field(
        None, "Project", "OpenAI project id (proj_...). Env OPENAI_PROJECT_ID wins."
    )
    azure_endpoint: str | None = _field(
        None, "Azure endpoint", "https://<resource>.openai.azure.com (provider azure only)."
    )
    azure_deployment: str | None = _field(
        None, "Azure deployment", "Deployment name of the image model (provider azure only)."
    )
    api_version: str | None = _field(
        None, "Azure API version", "Azure OpenAI api-version, e.g. 2025-04-01-preview."
    )
    model: str = _job_field("model", min_length=1)
    quality: Quality = _job_field("quality")
    resolution: str = _job_field("resolution", pattern=RESOLUTION_PATTERN)
    n: int = _job_field("n")
    partial_images: int = _job_field("partial_images")
    output_format: OutputFormat = _job_field("output_format")
    output_compression: int | None = _job_field("output_compression")
    moderation: Moderation = _job_field("moderation")
    user: str | None = _job_field("user")
    padding_px: int = _job_field("padding_px")
    grow_px: int = _job_field("grow_px")
    feather_px: int = _job_field("feather_px")
    match_colour: bool = _job_field("match_colour")
    timeout_s: float = _field(
        300.0,
        "Timeout",
        "Seconds to wait for one request (high quality can take 200 s).",
        ge=1.0,
        le=MAX_TIMEOUT_S,
    )
    max_retries: int = _field(
        2,
        "Retries",
        "Retries on network errors, 429 and 5xx (a retried slow request may be billed twice).",
        ge=0,
        le=10,
    )
    history_max_mb: int = _field(
        2048,
        "History size cap",
        "Megabytes of results kept; the oldest finished jobs are pruned beyond it (0 = no cap).",
        ge=0,
    )
    improve_prompt_model: str = _field(
        "gpt-5-mini",
        "Prompt helper model",
        "Text model used by 'improve my prompt' (Responses API).",
        min_length=1,
    )
    custom_models: dict[str, SizeKind] = _field(
        {},
        "Custom models",
        "Model names not known to this version, with their size rule: flexible or fixed.",
    )

    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)

    _env_fields: dict[str, tuple[Any, str]] = PrivateAttr(default_factory=dict)
    _key_source: str | None = PrivateAttr(default=None)

    # -- derived views --

    @property
    def key_source(self) -> str | None:
        """Where the key came from: "env", "file", "set" (assigned in code) or None."""
        if self.api_key is None:
            return None
        return self._key_source or "set"

    @property
    def env_overrides(self) -> tuple[str, ...]:
        """Fields whose value comes from the environment (not saved)."""
        return tuple(self._env_fields)

    def blend(self) -> BlendOptions:
        """The pipeline's blend options from padding/grow/feather."""
        from .pipeline import BlendOptions

        return BlendOptions(
            padding_px=self.padding_px,
            grow_px=self.grow_px,
            feather_px=self.feather_px,
            match_colour=self.match_colour,
        )

    def history_max_bytes(self) -> int | None:
        return self.history_max_mb * 1024 * 1024 if self.history_max_mb else None

    def connection(self) -> Connection:
        """The client's connection; ``ConfigError`` when the key is missing.

        Imported lazily so that reading settings never imports ``openai``.
        """
        from .client import Connection

        key = self.api_key.get_secret_value() if self.api_key else None
        if not key:
            if self.provider != "compatible":
                raise ConfigError(
                    "No API key.",
                    hint=f"Set {ENV_API_KEY} or save a key (it goes to {key_path()}).",
                    code="missing_api_key",
                )
            key = "not-needed"  # many compatible servers ignore the key, the SDK insists on one
        return Connection(
            api_key=key,
            base_url=self.base_url.strip() if self.base_url else None,
            organization=self.organization.strip() if self.organization else None,
            project=self.project.strip() if self.project else None,
            provider=self.provider,
            azure_endpoint=self.azure_endpoint,
            azure_deployment=self.azure_deployment,
            api_version=self.api_version,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
        )

    def public_dict(self) -> dict[str, Any]:
        """What is safe to show, log or store in history (never the key)."""
        return self.model_dump(mode="json", exclude={"api_key"})

    def redact(self, text: str) -> str:
        """``text`` with this settings' key replaced; for anything that might echo it."""
        return redact(text, self.api_key)


def setting_range(name: str) -> tuple[float | None, float | None, bool]:
    """(low, high, low_exclusive) of a numeric setting, read from its field definition, so the
    CLI's flags and the hosts' widgets check exactly what the settings file does."""
    low = high = None
    exclusive = False
    for rule in Settings.model_fields[name].metadata:
        if getattr(rule, "ge", None) is not None:
            low = rule.ge
        if getattr(rule, "gt", None) is not None:
            low, exclusive = rule.gt, True
        if getattr(rule, "le", None) is not None:
            high = rule.le
    return low, high, exclusive


def check_setting(name: str, value: float, label: str) -> None:
    """``InputError`` unless ``value`` lies in setting ``name``'s range."""
    import math

    low, high, exclusive = setting_range(name)
    bad = isinstance(value, float) and not math.isfinite(value)
    if low is not None and (value <= low if exclusive else value < low):
        bad = True
    if high is not None and value > high:
        bad = True
    if bad:
        lower = f"more than {low:g}" if exclusive else f"at least {low:g}"
        upper = "" if high is None else f" and at most {high:g}"
        raise InputError(f"{label} must be {lower}{upper}, not {value:g}.")


def redact(text: str, key: SecretStr | str | None) -> str:
    secret = key.get_secret_value() if isinstance(key, SecretStr) else key
    if secret and len(secret) >= 8 and secret in text:
        return text.replace(secret, "[REDACTED]")
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that blanks a secret wherever a record would print it."""

    def __init__(self, secret: SecretStr | str | None) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self._secret)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# --- load / save -------------------------------------------------------------------------------


def _describe_validation(error: ValidationError, path: Path) -> ConfigError:
    problems = []
    fields = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(file)"
        fields.append(field)
        value = item.get("input")
        shown = "" if isinstance(value, dict) else f" (got {json.dumps(value, default=str)[:60]})"
        problems.append(f"field '{field}': {item['msg']}{shown}")
    return ConfigError(
        f"Settings file {path} is invalid: " + "; ".join(problems),
        hint="Fix or delete the file; it was left untouched.",
        code="invalid_settings",
        details={"path": str(path), "fields": fields},
    )


def read_settings_file(path: Path) -> dict[str, Any]:
    """The raw JSON object in ``path`` ({} when missing); ``ConfigError`` when unreadable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(
            f"Cannot read settings file {path}: {exc.strerror}", code="unreadable_settings"
        ) from None
    try:
        data = load_json(raw)
    except JsonFileError as exc:
        where = {} if exc.line is None else {"line": exc.line, "column": exc.column}
        raise ConfigError(
            f"Settings file {path} is {exc}"
            if exc.reason.startswith("not ")
            else f"Settings file {path} is unusable: {exc}",
            hint="Fix or delete the file; it was left untouched.",
            code="invalid_settings",
            details={"path": str(path), **where},
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"Settings file {path} must hold a JSON object, not {type(data).__name__}.",
            code="invalid_settings",
            details={"path": str(path)},
        )
    if "api_key" in data:
        raise ConfigError(
            f"Settings file {path}: field 'api_key' is not allowed there.",
            hint=f"Remove it; keep the key in {ENV_API_KEY} or in the file {KEY_FILE} beside it.",
            code="invalid_settings",
            details={"path": str(path), "fields": ["api_key"]},
        )
    return data


def settings_from_dict(data: Mapping[str, Any], path: Path) -> Settings:
    try:
        return Settings.model_validate(dict(data))
    except ValidationError as exc:
        raise _describe_validation(exc, path) from None


def load_settings(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from the file (defaults when it is missing), then the environment on top.

    Never writes anything. ``ConfigError`` names the file and the field when the file is broken.
    """
    env = os.environ if environ is None else environ
    path = Path(path) if path is not None else config_dir(env) / SETTINGS_FILE
    data = read_settings_file(path)
    settings = settings_from_dict(data, path)
    if settings.model_extra:
        log.warning(
            "Settings file %s: unknown fields kept as they are: %s",
            path,
            ", ".join(sorted(settings.model_extra)),
        )
    for var, field in ENV_FIELDS.items():
        value = env.get(var)
        if value:
            setattr(settings, field, value)
            # remember what the file says, so saving does not persist the environment
            settings._env_fields[field] = (data.get(field), value)
    env_key = env.get(ENV_API_KEY)
    if env_key:
        settings.api_key = SecretStr(normalise_api_key(env_key, ENV_API_KEY))
        settings._key_source = "env"
    else:
        stored = read_api_key(path.parent / KEY_FILE)
        if stored is not None:
            settings.api_key = stored
            settings._key_source = "file"
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write ``settings`` atomically (without the key and without env overrides).

    A file that does not load any more is renamed to ``settings.json.bad-<time>`` first.
    """
    path = Path(path) if path is not None else settings_path()
    ensure_private_dir(path.parent)
    data = settings.public_dict()
    for field, (file_value, env_value) in settings._env_fields.items():
        if getattr(settings, field) == env_value:
            # unchanged since it came from the environment: keep what the file had
            if file_value is None:
                data.pop(field, None)
            else:
                data[field] = file_value
    _keep_broken_file(path)
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    atomic_write(path, text.encode("utf-8"), mode=0o600)
    return path


def _keep_broken_file(path: Path) -> Path | None:
    if not path.exists():
        return None
    try:
        settings_from_dict(read_settings_file(path), path)
        return None
    except ConfigError:
        backup = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, backup)
        log.warning("Settings file %s did not load; kept it as %s", path, backup)
        return backup


# --- the key file ------------------------------------------------------------------------------


def read_api_key(path: Path | None = None) -> SecretStr | None:
    """The stored key, or None. A key file readable by others is tightened to 0600."""
    path = Path(path) if path is not None else key_path()
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):  # a folder or device: never chmod or read it
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise ConfigError(
            f"The API key file {path} is {kind}.",
            hint="Remove it and save the key again in the settings.",
            code="unreadable_key",
        )
    if os.name == "posix" and stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o600)
        log.warning("API key file %s was readable by others; set its mode to 0600", path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"The API key file {path} is not UTF-8 text.",
            hint="Save the key again in the settings, or fix the file.",
            code="invalid_api_key",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the API key file {path}: {exc.strerror or type(exc).__name__}.",
            code="unreadable_key",
        ) from None
    if not text.strip().strip(_KEY_PADDING).strip():
        return None
    return SecretStr(normalise_api_key(text, f"the key file {path}"))


#: Stripped from both ends of a key as typed or pasted: whitespace, a BOM, zero-width spaces.
_KEY_PADDING = "\ufeff\u200b\u200c\u200d\u2060"


def normalise_api_key(raw: str, source: str) -> str:
    """The key as sent: surrounding whitespace stripped, anything else that can't be in an HTTP
    header refused. ``ConfigError`` names ``source`` and the position, never a key character.

    One function for every way in (env var, key file, settings dialogs), so a pasted newline or
    zero-width space never reaches the HTTP layer (which would echo the key in its error).
    """
    text = raw.strip().strip(_KEY_PADDING).strip()
    if not text:
        raise ConfigError(f"The API key from {source} is empty.", code="invalid_api_key")
    for position, char in enumerate(text, start=1):
        if char.isspace():
            problem = "a space or line break"
        elif not char.isascii():
            problem = "a non-ASCII character"
        elif not char.isprintable():
            problem = "a control character"
        else:
            continue
        raise ConfigError(
            f"The API key from {source} contains {problem} (character {position} of "
            f"{len(text)}); a key is one word of plain letters, digits, '-' and '_'.",
            hint="Copy the key again from the provider's dashboard.",
            code="invalid_api_key",
        )
    pasted = _pasted_around(text)
    if pasted:
        raise ConfigError(
            f"The API key from {source} {pasted}; give the key alone.",
            hint="Copy the key again from the provider's dashboard.",
            code="invalid_api_key",
        )
    return text


#: ``NAME=value``: a whole line of a .env file or a shell export (base64 padding ``==`` is not).
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=[^=]")


def _pasted_around(text: str) -> str | None:
    """What was pasted with the key (quotes, ``NAME=``), said without a character of it."""
    quote = next((i for i, char in enumerate(text, 1) if char in "\"'`"), None)
    if quote is not None:
        return f"contains a quote (character {quote} of {len(text)})"
    if _ASSIGNMENT.match(text):
        return "starts with a variable name and '=' (a whole line of a .env file?)"
    return None


def set_api_key(key: str | SecretStr, path: Path | None = None) -> Path:
    """Store ``key`` in its own file, mode 0600 (owner only) whatever the umask."""
    secret = key.get_secret_value() if isinstance(key, SecretStr) else key
    secret = normalise_api_key(secret, "the settings")
    path = Path(path) if path is not None else key_path()
    ensure_private_dir(path.parent)
    atomic_write(path, (secret + "\n").encode("utf-8"), mode=0o600)
    return path


def clear_api_key(path: Path | None = None) -> bool:
    """Remove the stored key; True when there was one."""
    path = Path(path) if path is not None else key_path()
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
