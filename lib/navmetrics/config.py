"""Settings in one place: environment, `.streamlit/secrets.toml`, then defaults.

Every other module takes a `Settings` instead of reading the environment itself, so tests and the
CLI can hand in exactly what they mean.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_BASE_URL = "https://api.edges.run/v1"
DEFAULT_DB = "data/navmetrics.db"
RECEIVER_PORT = 8765
SIMULATOR_PORT = 8790
SECRETS_FILE = Path(".streamlit/secrets.toml")
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
    extras: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

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


def load_settings(env: dict[str, str] | None = None, secrets_file: Path = SECRETS_FILE) -> Settings:
    """Read the settings; the environment wins over the secrets file, which wins over defaults."""
    env = dict(os.environ if env is None else env)
    stored = _read_secrets(secrets_file)

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
        simulator_port=_port(
            "NAVMETRICS_SIMULATOR_PORT", get("NAVMETRICS_SIMULATOR_PORT"), SIMULATOR_PORT
        ),
    )


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
