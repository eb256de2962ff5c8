"""The callback receiver: POST /callbacks and GET /healthz, and nothing else.

Its promise: a callback answered 2xx is committed to SQLite; a retried or replayed one (same
`callback_ref_uid`) changes nothing but its attempt count; only the bearer of the shared token is
heard. Writes go through one writer thread that groups concurrent callbacks into one transaction
(group commit): one fsync for many callbacks, and each request still waits for its own commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from navmetrics import store

log = logging.getLogger("navmetrics.receiver")

MAX_BODY = 1024 * 1024
MAX_BATCH = 512


@dataclass
class _Job:
    raw: bytes
    delivery_id: str | None
    content_type: str | None
    received_at: str
    future: Future[tuple[int, dict[str, Any]]]


class GroupWriter:
    """One thread owns the write connection; callers hand it bodies and wait for the commit."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="navmetrics-writer", daemon=True)
        self._db: sqlite_utils.Database | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.batches = 0

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._startup_error:
            raise self._startup_error

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def submit(self, job: _Job) -> None:
        self._queue.put(job)

    def _loop(self) -> None:
        try:
            self._db = store.open_db(self.db_path, durable=True)
        except BaseException as exc:  # reported to start()
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        while True:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._write(batch)
            if stop:
                break
        self._db.conn.close()

    def _write(self, batch: list[_Job]) -> None:
        assert self._db is not None
        db = self._db
        answers: list[tuple[_Job, tuple[int, dict[str, Any]]]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for index, job in enumerate(batch):
                savepoint = f"cb{index}"
                db.execute(f"SAVEPOINT {savepoint}")
                try:
                    answers.append((job, self._apply(db, job)))
                    db.execute(f"RELEASE {savepoint}")
                except store.CallbackRejected as exc:
                    db.execute(f"ROLLBACK TO {savepoint}")
                    db.execute(f"RELEASE {savepoint}")
                    store.dead_letter(db, job.raw, str(exc), job.content_type, job.received_at)
                    answers.append((job, (400, {"error": str(exc), "kept": "dead_letters"})))
            db.conn.commit()
            self.batches += 1
        except Exception as exc:  # the disk or the database failed: nobody gets a 2xx
            log.exception("could not commit %d callbacks", len(batch))
            with contextlib.suppress(Exception):
                db.conn.rollback()
            for job in batch:
                if not job.future.done():
                    job.future.set_result((503, {"error": f"storage failed: {exc}; retry later"}))
            return
        for job, answer in answers:
            job.future.set_result(answer)

    @staticmethod
    def _apply(db: sqlite_utils.Database, job: _Job) -> tuple[int, dict[str, Any]]:
        body = store.parse_callback(job.raw)
        outcome = store.apply_callback(
            db, body, job.raw, delivery_id=job.delivery_id, received_at=job.received_at
        )
        return 200, {
            "ok": True,
            "duplicate": outcome.duplicate,
            "attempts": outcome.attempts,
        }


def _bearer_ok(header: str | None, token: str) -> bool:
    scheme, _, presented = (header or "").partition(" ")
    return hmac.compare_digest(
        (presented.strip() if scheme.lower() == "bearer" else "").encode(), token.encode()
    )


async def _read_limited(request: Request) -> bytes | None:
    """The body, or None once it passes MAX_BODY (stop reading there)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_receiver_app(
    db_path: Path, token: str, *, on_event: Callable[[str], None] | None = None
) -> Starlette:
    """The receiver as an ordinary Starlette app; the writer thread lives with its lifespan."""
    if not token:
        raise ValueError("the receiver needs a callback token")
    writer = GroupWriter(db_path)

    async def callbacks(request: Request) -> JSONResponse:
        if not _bearer_ok(request.headers.get("authorization"), token):
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            return JSONResponse({"error": "send the callback as application/json"}, status_code=415)
        raw = await _read_limited(request)
        if raw is None:
            return JSONResponse({"error": f"body larger than {MAX_BODY} bytes"}, status_code=413)
        loop = asyncio.get_running_loop()
        future: Future[tuple[int, dict[str, Any]]] = Future()
        writer.submit(
            _Job(
                raw=raw,
                delivery_id=request.headers.get("x-run-callback"),
                content_type=content_type,
                received_at=store.now_utc(),
                future=future,
            )
        )
        status, payload = await asyncio.wrap_future(future, loop=loop)
        if on_event and status == 200:
            on_event("callback")
        return JSONResponse(payload, status_code=status)

    async def healthz(request: Request) -> JSONResponse:
        alive = writer._thread.is_alive()
        return JSONResponse(
            {"status": "ok" if alive else "writer stopped", "batches": writer.batches},
            status_code=200 if alive else 503,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(writer.start)
        try:
            yield
        finally:
            await asyncio.to_thread(writer.stop)

    app = Starlette(
        routes=[
            Route("/callbacks", callbacks, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.writer = writer
    return app
