"""The receiver over real loopback HTTP, writing to a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from navmetrics.receiver import create_receiver_app
from tests.conftest import SOFTWARE_MEXICO, TOKEN, ServerThread

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def callback_body(url: str, total: int | None = 42, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "callback_ref_uid": str(uuid.uuid4()),
        "run": {"run_uid": str(uuid.uuid4()), "batch_uid": str(uuid.uuid4()), "status": "RUNNING"},
        "input": {"sales_navigator_company_search_url": url, "custom_data": {"search_id": 999}},
    }
    if total is not None:
        body["results_count"] = 1
        body["results"] = [{"total_results": total}]
    body.update(extra)
    return body


def rows(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def receiver(db_path: Path):
    with ServerThread(create_receiver_app(db_path, TOKEN)) as server:
        yield server


def url_for(i: int) -> str:
    return SOFTWARE_MEXICO.replace("103323778", str(100000000 + i))


def test_a_callback_becomes_one_observation_of_a_search_created_from_its_url(receiver, db_path):
    body = callback_body(SOFTWARE_MEXICO, 1234)
    answer = httpx.post(f"{receiver.url}/callbacks", json=body, headers=AUTH)
    assert answer.status_code == 200
    assert rows(db_path, "SELECT label, origin FROM searches") == [
        ("Software Development · 51-200 · Mexico", "callback")
    ]
    assert rows(db_path, "SELECT total_results, run_uid FROM observations") == [
        (1234, body["run"]["run_uid"])
    ]


def test_healthz_answers(receiver):
    assert httpx.get(f"{receiver.url}/healthz").json()["status"] == "ok"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
)
def test_wrong_or_missing_token_is_401_and_nothing_is_stored(receiver, db_path, headers):
    answer = httpx.post(
        f"{receiver.url}/callbacks", json=callback_body(SOFTWARE_MEXICO), headers=headers
    )
    assert answer.status_code == 401
    for table in ("callbacks", "observations", "dead_letters", "searches"):
        assert rows(db_path, f"SELECT COUNT(*) FROM {table}") == [(0,)]


def test_a_replayed_callback_changes_nothing_but_its_attempt_count(receiver, db_path):
    body = callback_body(SOFTWARE_MEXICO, 7)
    for attempt in range(3):
        headers = AUTH | {"X-Run-Callback": f"delivery-{attempt}"}
        assert (
            httpx.post(f"{receiver.url}/callbacks", json=body, headers=headers).status_code == 200
        )
    assert rows(db_path, "SELECT COUNT(*) FROM observations") == [(1,)]
    attempts, deliveries = rows(db_path, "SELECT attempts, delivery_ids FROM callbacks")[0]
    assert attempts == 3
    assert json.loads(deliveries) == ["delivery-0", "delivery-1", "delivery-2"]


def test_an_error_callback_is_an_error_never_a_zero(receiver, db_path):
    error = {"error_label": "LK_ERROR", "error_scope": "integ", "message": "LinkedIn failed"}
    body = callback_body(SOFTWARE_MEXICO, None, error=error, results=[], results_count=0)
    assert httpx.post(f"{receiver.url}/callbacks", json=body, headers=AUTH).status_code == 200
    assert rows(db_path, "SELECT COUNT(*) FROM observations") == [(0,)]
    assert rows(db_path, "SELECT label, message FROM input_errors") == [
        ("LK_ERROR", "LinkedIn failed")
    ]


def test_final_callback_sets_the_run_status(receiver, db_path):
    body = callback_body(SOFTWARE_MEXICO, 5)
    httpx.post(f"{receiver.url}/callbacks", json=body, headers=AUTH)
    final = {
        "callback_ref_uid": str(uuid.uuid4()),
        "run": body["run"] | {"status": "SUCCEEDED"},
    }
    httpx.post(f"{receiver.url}/callbacks", json=final, headers=AUTH)
    late = callback_body(url_for(1), 6)
    late["run"] = body["run"]
    httpx.post(f"{receiver.url}/callbacks", json=late, headers=AUTH)
    assert rows(db_path, "SELECT status FROM runs") == [("SUCCEEDED",)]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "dead"),
    [
        (b"{not json", "application/json", 400, True),
        (b"", "application/json", 400, True),
        (b"[1, 2]", "application/json", 400, True),
        (json.dumps({"run": {"run_uid": "x"}}).encode(), "application/json", 400, True),
        (json.dumps({"callback_ref_uid": "x"}).encode(), "application/json", 400, True),
        (
            json.dumps(
                callback_body(SOFTWARE_MEXICO, None, results=[{"total_results": "12"}])
            ).encode(),
            "application/json",
            400,
            True,
        ),
        (
            json.dumps(
                callback_body(SOFTWARE_MEXICO, None, results=[{"total_results": 10**30}])
            ).encode(),
            "application/json",
            400,
            True,
        ),
        (b"total_results=3", "application/x-www-form-urlencoded", 415, False),
        (b"x" * (5 * 1024 * 1024), "application/json", 413, False),
    ],
    ids=[
        "invalid-json",
        "empty",
        "not-object",
        "no-ref",
        "no-run",
        "string-total",
        "huge-number",
        "form",
        "5MiB",
    ],
)
def test_bad_bodies_get_the_documented_answer_and_the_server_keeps_serving(
    receiver, db_path, content, content_type, status, dead
):
    answer = httpx.post(
        f"{receiver.url}/callbacks", content=content, headers=AUTH | {"Content-Type": content_type}
    )
    assert answer.status_code == status
    assert rows(db_path, "SELECT COUNT(*) FROM dead_letters") == [(1 if dead else 0,)]
    assert rows(db_path, "SELECT COUNT(*) FROM observations") == [(0,)]
    good = callback_body(SOFTWARE_MEXICO, 1)
    assert httpx.post(f"{receiver.url}/callbacks", json=good, headers=AUTH).status_code == 200


def test_unicode_labels_are_kept(receiver, db_path):
    url = SOFTWARE_MEXICO.replace("Mexico", "T%25C3%25BCrkiye%2520%25E6%259D%25B1%25E4%25BA%25AC")
    assert (
        httpx.post(
            f"{receiver.url}/callbacks", json=callback_body(url, 3), headers=AUTH
        ).status_code
        == 200
    )
    assert rows(db_path, "SELECT label FROM searches") == [
        ("Software Development · 51-200 · Türkiye 東京",)
    ]


def test_a_thousand_callbacks_delivered_one_to_three_times_concurrently_count_once(
    receiver, db_path
):
    rng = random.Random(7)
    bodies = [callback_body(url_for(i), i) for i in range(1000)]
    deliveries = [(b, n) for b in bodies for n in range(rng.randint(1, 3))]
    rng.shuffle(deliveries)
    expected = {b["callback_ref_uid"]: 0 for b in bodies}
    for body, _ in deliveries:
        expected[body["callback_ref_uid"]] += 1

    async def send_all() -> list[int]:
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            gate = asyncio.Semaphore(32)

            async def send(body: dict[str, Any]) -> int:
                async with gate:
                    r = await client.post(f"{receiver.url}/callbacks", json=body, headers=AUTH)
                    return r.status_code

            return await asyncio.gather(*(send(b) for b, _ in deliveries))

    statuses = asyncio.run(send_all())
    assert set(statuses) == {200}
    assert rows(db_path, "SELECT COUNT(*) FROM observations") == [(1000,)]
    got = dict(rows(db_path, "SELECT callback_ref_uid, attempts FROM callbacks"))
    assert got == expected


def test_a_sender_that_hangs_up_mid_commit_does_not_stop_the_writer(db_path):
    """A request cancelled while its batch commits leaves a cancelled future behind."""
    from navmetrics import store
    from navmetrics.receiver import GroupWriter, _Job

    def job(body: dict[str, Any]) -> _Job:
        raw = json.dumps(body).encode()
        return _Job(
            raw,
            store.parse_callback(raw),
            None,
            None,
            "application/json",
            store.now_utc(),
            asyncio.get_running_loop().create_future(),
        )

    async def scenario() -> tuple[int, bool]:
        writer = GroupWriter(db_path)
        writer.start()
        gone, later = job(callback_body(url_for(1), 1)), job(callback_body(url_for(2), 2))
        writer.submit(gone)
        gone.future.cancel()  # the sender hung up
        await asyncio.sleep(0.2)
        writer.submit(later)
        status, _ = await asyncio.wait_for(later.future, timeout=5)
        alive = writer.alive
        await writer.stop()
        return status, alive

    assert asyncio.run(scenario()) == (200, True)
    assert rows(db_path, "SELECT COUNT(*) FROM observations") == [(2,)]
