"""Settings in one place: environment, `.streamlit/secrets.toml`, then defaults.

Every other module takes a `Settings` instead of reading the environment itself, so tests and the
CLI can hand in exactly what they mean.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_BASE_URL = "https://api.edges.run/v1"
DEFAULT_DB = "data/navmetrics.db"
RECEIVER_PORT = 8765
SIMULATOR_PORT = 8790
SECRETS_FILE = Path(".streamlit/secrets.toml")


def secrets_path() -> Path:
    """The secrets file: `.streamlit/secrets.toml`, or NAVMETRICS_SECRETS_FILE (tests, several setups)."""
    return Path(os.environ.get("NAVMETRICS_SECRETS_FILE") or SECRETS_FILE)


DEMO_API_KEY = "demo-key"


class ConfigError(Exception):
    """A setting is present but unusable; the message says which and what to do."""


def mask(secret: str | None) -> str:
    """Show enough of a secret to recognise it, never enough to use it."""
    if not secret:
        return "(not set)"
    if len(secret) <= 8:
        return "•" * len(secret)
    return f"{secret[:4]}…{secret[-2:]}"


@dataclass(frozen=True)
class Settings:
    api_key: str | None = None
    base_url: str = DEFAULT_BASE_URL
    db_path: Path = Path(DEFAULT_DB)
    public_url: str | None = None
    callback_token: str | None = None
    receiver_host: str = "127.0.0.1"
    receiver_port: int = RECEIVER_PORT
    simulator_host: str = "127.0.0.1"
    simulator_port: int = SIMULATOR_PORT
    demo_history: bool = True

    @property
    def demo(self) -> bool:
        """No API key: every call goes to the local simulator instead of Edges."""
        return not self.api_key

    @property
    def effective_base_url(self) -> str:
        if self.demo:
            return f"http://{self.simulator_host}:{self.simulator_port}/v1"
        return self.base_url.rstrip("/")

    @property
    def effective_api_key(self) -> str:
        return self.api_key or DEMO_API_KEY

    @property
    def effective_public_url(self) -> str | None:
        """Where Edges (or the simulator) should send callbacks; None means poll mode.

        In demo mode the simulator runs on this machine, so the receiver's loopback address works.
        """
        if self.public_url:
            return self.public_url.rstrip("/")
        if self.demo:
            return f"http://{self.receiver_host}:{self.receiver_port}"
        return None

    @property
    def mode(self) -> str:
        if self.demo:
            return "demo"
        return "live, with callbacks" if self.public_url else "poll"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def _read_secrets(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or delete it.") from exc
    return {k: str(v) for k, v in data.items() if isinstance(v, str | int | float)}


def _port(name: str, raw: str | None, default: int) -> int:
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a port number; use e.g. {default}.") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{name}={port} is outside 1-65535; use e.g. {default}.")
    return port


def load_settings(env: dict[str, str] | None = None, secrets_file: Path | None = None) -> Settings:
    """Read the settings; the environment wins over the secrets file, which wins over defaults."""
    env = dict(os.environ if env is None else env)
    stored = _read_secrets(secrets_file or secrets_path())

    def get(name: str) -> str | None:
        value = env.get(name) or stored.get(name)
        return value.strip() if value else None

    return Settings(
        api_key=get("EDGES_API_KEY"),
        base_url=get("EDGES_BASE_URL") or DEFAULT_BASE_URL,
        db_path=Path(get("NAVMETRICS_DB") or DEFAULT_DB),
        public_url=get("NAVMETRICS_PUBLIC_URL"),
        callback_token=get("NAVMETRICS_CALLBACK_TOKEN"),
        receiver_host=get("NAVMETRICS_RECEIVER_HOST") or "127.0.0.1",
        receiver_port=_port(
            "NAVMETRICS_RECEIVER_PORT", get("NAVMETRICS_RECEIVER_PORT"), RECEIVER_PORT
        ),
        simulator_host="127.0.0.1",
        demo_history=(get("NAVMETRICS_DEMO_HISTORY") or "1").lower() not in ("0", "false", "no"),
        simulator_port=_port(
            "NAVMETRICS_SIMULATOR_PORT", get("NAVMETRICS_SIMULATOR_PORT"), SIMULATOR_PORT
        ),
    )


def save_secret(name: str, value: str, path: Path | None = None) -> None:
    """Write one setting into the secrets file (owner-only), keeping the others."""
    if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
        raise ConfigError(f"{name!r} is not a setting name.")
    path = path or secrets_path()
    stored = _read_secrets(path)
    if value:
        stored[name] = value
    else:
        stored.pop(name, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{key} = {json.dumps(val)}\n" for key, val in sorted(stored.items()))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def environment() -> dict[str, str]:
    return dict(os.environ)


def origin(name: str, env: dict[str, str], path: Path | None = None) -> str:
    """Where a setting comes from, so the Settings page can say why a value is what it is."""
    if env.get(name):
        return "environment"
    path = path or secrets_path()
    if name in _read_secrets(path):
        return str(path)
    if name == "NAVMETRICS_CALLBACK_TOKEN":
        return "generated, kept beside the database"
    return "default"


def save_settings(
    *, api_key: str, base_url: str, public_url: str, env: dict[str, str], path: Path | None = None
) -> str:
    """Keep what was typed on the Settings page in the secrets file; say what took effect."""
    path = path or secrets_path()
    said = []
    for name, value, check in (
        ("EDGES_BASE_URL", base_url.strip(), True),
        ("NAVMETRICS_PUBLIC_URL", public_url.strip().rstrip("/"), True),
    ):
        if check and value and not re.match(r"^https?://[^\s/]+", value):
            raise ConfigError(f"{name} must be an http(s) URL, like https://example.com.")
        if name == "EDGES_BASE_URL" and value == DEFAULT_BASE_URL:
            value = ""
        save_secret(name, value, path)
    if api_key.strip():
        save_secret("EDGES_API_KEY", api_key.strip(), path)
        said.append(f"API key {mask(api_key.strip())} saved (owner-only file {path})")
    shadowed = [
        n for n in ("EDGES_API_KEY", "EDGES_BASE_URL", "NAVMETRICS_PUBLIC_URL") if env.get(n)
    ]
    said.append("settings saved")
    if shadowed:
        said.append(f"the environment still overrides {', '.join(shadowed)}")
    text = "; ".join(said)
    return text[:1].upper() + text[1:] + "."


def token_file(db_path: Path) -> Path:
    """The generated callback token lives beside the database it protects."""
    return db_path.parent / ".callback_token"


def ensure_callback_token(settings: Settings) -> Settings:
    """Return settings with a callback token: the configured one, or one kept from a first start.

    A generated token is written to a file readable by its owner only, so a restart keeps
    accepting callbacks of runs submitted before it.
    """
    if settings.callback_token:
        return settings
    path = token_file(settings.db_path)
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return replace(settings, callback_token=token)
    return replace(settings, callback_token=rotate_callback_token(settings.db_path))


def rotate_callback_token(db_path: Path) -> str:
    """Write a fresh token (owner-only permissions) and return it."""
    path = token_file(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    os.chmod(path, 0o600)
    return token


class TokenSource:
    """The callback token as it is now: the environment's, else the kept file's (re-read when it
    changes), so a token rotated on the Settings page takes effect without a restart."""

    def __init__(self, db_path: Path, fixed: str | None = None) -> None:
        self.path = token_file(db_path)
        self.fixed = fixed
        self._seen: tuple[float, str] | None = None

    def __call__(self) -> str:
        if self.fixed:
            return self.fixed
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            return self._seen[1] if self._seen else ""
        if self._seen is None or self._seen[0] != mtime:
            self._seen = (mtime, self.path.read_text(encoding="utf-8").strip())
        return self._seen[1]
