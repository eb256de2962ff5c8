"""Shared fixtures: real servers on loopback, real SQLite files, settings pointed at them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from navmetrics import store
from navmetrics.receiver import create_receiver_app
from navmetrics.simulator import Simulator, SimulatorConfig, create_simulator_app

SHARED = Path(__file__).resolve().parents[2] / "shared"
TOKEN = "test-token-0123456789abcdef"

SOFTWARE_MEXICO = (
    "https://www.linkedin.com/sales/search/company?query=(filters%3AList((type%3AINDUSTRY%2Cvalues"
    "%3AList((id%3A4%2Ctext%3ASoftware%2520Development%2CselectionType%3AINCLUDED)))%2C(type%3A"
    "COMPANY_HEADCOUNT%2Cvalues%3AList((id%3AD%2Ctext%3A51-200%2CselectionType%3AINCLUDED)))%2C"
    "(type%3AREGION%2Cvalues%3AList((id%3A103323778%2Ctext%3AMexico%2CselectionType%3AINCLUDED)))))"
    "&sessionId=roVugHZHSh6dS4Q6okecug%3D%3D&viewAllFilters=true"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """A uvicorn server in a thread: the app is reached over real loopback HTTP."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads a developer's real settings: the real Edges API is never called."""
    for name in ("EDGES_API_KEY", "EDGES_BASE_URL", "NAVMETRICS_PUBLIC_URL", "NAVMETRICS_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NAVMETRICS_SECRETS_FILE", str(tmp_path / "secrets.toml"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "navmetrics.db"


@pytest.fixture
def db(db_path: Path) -> Any:
    return store.open_db(db_path)


@dataclass
class Stack:
    """A simulator and a receiver on loopback, and the environment that points NavMetrics at them."""

    sim: Simulator
    simulator_url: str
    receiver_url: str
    db_path: Path
    env: dict[str, str]


@pytest.fixture
def make_stack(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    started: list[ServerThread] = []

    def make(config: SimulatorConfig | None = None, *, receiver: bool = True) -> Stack:
        sim_app = create_simulator_app(config or SimulatorConfig(pace=0.001, control=True))
        sim_server = ServerThread(sim_app).__enter__()
        started.append(sim_server)
        receiver_port = free_port()
        if receiver:
            rec = ServerThread(create_receiver_app(db_path, TOKEN), port=receiver_port).__enter__()
            started.append(rec)
        env = {
            "NAVMETRICS_DB": str(db_path),
            "NAVMETRICS_SIMULATOR_PORT": str(sim_server.port),
            "NAVMETRICS_RECEIVER_PORT": str(receiver_port),
            "NAVMETRICS_CALLBACK_TOKEN": TOKEN,
        }
        monkeypatch.delenv("EDGES_API_KEY", raising=False)
        monkeypatch.delenv("NAVMETRICS_PUBLIC_URL", raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return Stack(
            sim=sim_app.state.sim,
            simulator_url=f"{sim_server.url}/v1",
            receiver_url=f"http://127.0.0.1:{receiver_port}",
            db_path=db_path,
            env=env,
        )

    yield make
    for server in reversed(started):
        server.__exit__(None, None, None)


def wait_for(predicate: Any, timeout: float = 20.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Let fixtures see whether the test failed (the browser test saves a screenshot then)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
