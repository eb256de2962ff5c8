"""The standalone receiver as a real process: its token, and what a kill -9 cannot take away."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from navmetrics.config import token_file
from navmetrics.servers import PortTaken, bind
from tests.conftest import SOFTWARE_MEXICO, free_port
from tests.test_receiver import callback_body, url_for


def receiver_command(db_path: Path, port: int) -> list[str]:
    """`navmetrics receiver` as a user types it."""
    return [
        sys.executable,
        "-m",
        "navmetrics.cli",
        "receiver",
        "--port",
        str(port),
        "--db",
        str(db_path),
    ]


def start_receiver(db_path: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        receiver_command(db_path, port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(proc.stderr.read().decode() if proc.stderr else "receiver did not start")


def test_a_generated_token_is_kept_owner_only_survives_a_restart_and_is_never_logged(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NAVMETRICS_CALLBACK_TOKEN"}
    db_path, port = tmp_path / "r.db", free_port()
    proc = start_receiver(db_path, port, env)
    try:
        path = token_file(db_path)
        token = path.read_text().strip()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(token) >= 32
        good = {"Authorization": f"Bearer {token}"}
        body = callback_body(SOFTWARE_MEXICO)
        answer = httpx.post(f"http://127.0.0.1:{port}/callbacks", json=body, headers=good)
        assert answer.status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert token not in err.decode()
    with sqlite3.connect(db_path) as conn:
        dump = "\n".join(conn.iterdump())
    assert token not in dump
    proc = start_receiver(db_path, port, env)
    try:
        assert token_file(db_path).read_text().strip() == token
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_kill_9_in_the_middle_of_a_load_loses_no_acknowledged_callback(tmp_path):
    env = dict(os.environ) | {"NAVMETRICS_CALLBACK_TOKEN": "kill-test-token"}
    headers = {"Authorization": "Bearer kill-test-token"}
    db_path, port = tmp_path / "k.db", free_port()
    proc = start_receiver(db_path, port, env)
    acknowledged: list[str] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(timeout=5) as client:
            n = 0
            while not stop.is_set():
                body = callback_body(url_for(worker * 100_000 + n), n)
                n += 1
                try:
                    r = client.post(
                        f"http://127.0.0.1:{port}/callbacks", json=body, headers=headers
                    )
                except httpx.HTTPError:
                    continue
                if r.status_code == 200:
                    acknowledged.append(body["callback_ref_uid"])

    workers = [threading.Thread(target=load, args=(w,)) for w in range(16)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    stop.set()
    for w in workers:
        w.join(timeout=10)
    assert len(acknowledged) >= 300
    proc = start_receiver(db_path, port, env)
    try:
        with sqlite3.connect(db_path) as conn:
            stored = {r[0] for r in conn.execute("SELECT callback_ref_uid FROM callbacks")}
            observed = conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
        assert set(acknowledged) <= stored
        assert observed == len(stored)
        retry = callback_body(SOFTWARE_MEXICO, 1) | {"callback_ref_uid": acknowledged[0]}
        answer = httpx.post(f"http://127.0.0.1:{port}/callbacks", json=retry, headers=headers)
        assert answer.json()["duplicate"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_a_taken_port_gets_a_message_that_says_what_to_do():
    port = free_port()
    holder = bind("127.0.0.1", port, "first", "X")
    try:
        with pytest.raises(PortTaken, match=f"port {port}.*NAVMETRICS_RECEIVER_PORT"):
            bind("127.0.0.1", port, "callback receiver", "NAVMETRICS_RECEIVER_PORT")
    finally:
        holder.close()


def test_the_cli_receiver_on_a_taken_port_exits_with_the_message_not_a_traceback(tmp_path):
    port = free_port()
    holder = bind("127.0.0.1", port, "first", "X")
    try:
        result = subprocess.run(
            receiver_command(tmp_path / "x.db", port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.close()
    assert result.returncode == 1
    assert "already in use" in result.stderr and "Traceback" not in result.stderr
