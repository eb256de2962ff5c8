"""The callback receiver: POST /callbacks and GET /healthz, and nothing else.

Its promise: a callback answered 2xx is committed to SQLite; a retried or replayed one (same
`callback_ref_uid`) changes nothing but its attempt count; only the bearer of the shared token is
heard. Writes go through one writer that groups the callbacks waiting at a moment into one transaction
(group commit): one fsync for many callbacks, and each request still waits for its own commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable
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
    """One body to commit: a parsed callback, or (body None) a dead letter with its reason."""

    raw: bytes
    body: dict[str, Any] | None
    reason: str | None
    delivery_id: str | None
    content_type: str | None
    received_at: str
    future: asyncio.Future[tuple[int, dict[str, Any]]]


class GroupWriter:
    """Owns the write connection; gathers the callbacks waiting at a moment into one commit.

    It runs in the event loop's own thread: a writer thread would hand the GIL back and forth with
    the loop on every SQLite call, and that convoy costs more than the commits it overlaps.
    """

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._db: sqlite_utils.Database | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._db = store.open_db(self.db_path, durable=True)
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            while not self._queue.empty() and self.alive:
                await asyncio.sleep(0.01)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._db:
            self._db.conn.close()

    def submit(self, job: _Job) -> None:
        self._queue.put_nowait(job)

    async def _loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            await asyncio.sleep(0)  # let the requests already read join this commit
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write(batch)

    async def _write(self, batch: list[_Job]) -> None:
        """Commit a whole batch in one transaction, then answer each of its callers."""
        assert self._db is not None
        db = self._db
        answers: list[tuple[_Job, tuple[int, dict[str, Any]]]] = []
        runs: dict[str, tuple[dict[str, Any], str]] = {}
        try:
            db.execute("BEGIN IMMEDIATE")
            for job in batch:
                answers.append((job, self._apply(db, job, runs)))
            for run, received_at in runs.values():
                store.touch_run(db, run, received_at)
            # The commit waits on the disk (fsync) with the GIL released: off the loop, so the
            # next batch's requests are read meanwhile. Nothing else touches the connection.
            await asyncio.to_thread(db.conn.commit)
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
            if not job.future.done():  # its sender hung up: committed all the same, no one to tell
                job.future.set_result(answer)

    @staticmethod
    def _apply(
        db: sqlite_utils.Database, job: _Job, runs: dict[str, tuple[dict[str, Any], str]]
    ) -> tuple[int, dict[str, Any]]:
        if job.body is None:
            store.dead_letter(db, job.raw, job.reason or "", job.content_type, job.received_at)
            return 400, {"error": job.reason, "kept": "dead_letters"}
        outcome = store.apply_callback(
            db,
            job.body,
            job.raw,
            delivery_id=job.delivery_id,
            received_at=job.received_at,
            update_run=False,
        )
        if not outcome.duplicate:  # one run update per batch; a final status wins over RUNNING
            run = job.body["run"]
            seen = runs.get(outcome.run_uid)
            if seen is None or str(run.get("status", "")).upper() in store.FINAL_STATUSES:
                runs[outcome.run_uid] = (run, job.received_at)
        return 200, {"ok": True, "duplicate": outcome.duplicate, "attempts": outcome.attempts}


def _bearer_ok(header: str | None, token: str) -> bool:
    scheme, _, presented = (header or "").partition(" ")
    return hmac.compare_digest(
        (presented.strip() if scheme.lower() == "bearer" else "").encode(), token.encode()
    )


async def _read_limited(request: Request) -> bytes | None:
    """The body, or None once it passes MAX_BODY (stop reading there)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit():
        if int(declared) > MAX_BODY:
            return None
        return await request.body()  # the server stops at the declared length
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_receiver_app(
    db_path: Path,
    token: str | Callable[[], str],
) -> Starlette:
    """The receiver as an ordinary Starlette app; the writer lives with its lifespan.

    `token` may be a callable, read at each request, so a rotated token takes effect at once.
    """
    current_token = token if callable(token) else (lambda: token)
    if not current_token():
        raise ValueError("the receiver needs a callback token")
    writer = GroupWriter(db_path)

    async def callbacks(request: Request) -> JSONResponse:
        expected = current_token()
        if not expected or not _bearer_ok(request.headers.get("authorization"), expected):
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            return JSONResponse({"error": "send the callback as application/json"}, status_code=415)
        raw = await _read_limited(request)
        if raw is None:
            return JSONResponse({"error": f"body larger than {MAX_BODY} bytes"}, status_code=413)
        try:
            body, reason = store.parse_callback(raw), None
        except store.CallbackRejected as exc:
            body, reason = None, str(exc)
        future: asyncio.Future[tuple[int, dict[str, Any]]] = (
            asyncio.get_running_loop().create_future()
        )
        writer.submit(
            _Job(
                raw=raw,
                body=body,
                reason=reason,
                delivery_id=request.headers.get("x-run-callback"),
                content_type=content_type,
                received_at=store.now_utc(),
                future=future,
            )
        )
        status, payload = await future
        return JSONResponse(payload, status_code=status)

    async def healthz(request: Request) -> JSONResponse:
        alive = writer.alive
        return JSONResponse(
            {"status": "ok" if alive else "writer stopped", "batches": writer.batches},
            status_code=200 if alive else 503,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        writer.start()
        try:
            yield
        finally:
            await writer.stop()

    app = Starlette(
        routes=[
            Route("/callbacks", callbacks, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.writer = writer
    return app
