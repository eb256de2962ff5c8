"""A local stand-in for the Edges API action `salesnavigator-search-company-metrics`.

It answers under `/v1` as Edges does (see shared/edges/), runs inputs in the background, and
delivers callbacks with retries, so the dashboard can be tried offline and the receiver drilled
against a sender that misbehaves on purpose.

Choices the public documentation leaves open, and what this simulator does:
- Run status (`GET /runs/{uid}`): CREATED -> RUNNING -> SUCCEEDED (no input failed),
  PARTIAL_SUCCEEDED (some failed), FAILED (all failed); STOPPED after a cancel. The submission
  answer uses the lower-case vocabulary of the schema (`pending`).
- Callback retries: a failed delivery (non-2xx, timeout, refused) is tried again after each delay of
  `retry_delays` (default 0.2, 0.5, 1, 2, 4 s); after the last it is FAILED and can be replayed
  (at most 3 replays of an original callback).
- `/outputs` items: `{"uid", "input": {url, custom_data}, "custom_data", "total_results",
  "created_at"}`; failed inputs have no output item (their error is on `/inputs`).
- `total_results`: a deterministic function of the search's filters and the simulated date.
  Broader searches are larger; headcount bands partition the market, so the bands of a search sum
  to the search itself (up to rounding); each search drifts by its own trend plus weekly noise.
- Schedules: `GET /schedules`, `GET /schedules/{uid}`, `POST /schedules/{uid}/cancel`.
- A control API under `/_control` (clock, faults, state) exists only when `control=True`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from croniter import croniter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from navmetrics import contract, urls

log = logging.getLogger("navmetrics.simulator")

ACTION = "salesnavigator-search-company-metrics"
FINAL = {"SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "STOPPED"}
MAX_REPLAYS = 3


@dataclass
class Faults:
    """Misbehaviour on purpose; all off by default (the well-behaved sender)."""

    fail_share: float = 0.0  # share of inputs that end in an error
    fail_first_deliveries: int = 0  # deliveries of each callback treated as failed before success
    duplicate_share: float = 0.0  # share of callbacks delivered twice
    shuffle: bool = False  # finish inputs in random order
    delivery_delay: float = 0.0  # seconds before each delivery
    lose_share: float = 0.0  # share of callbacks not sent until replayed
    slow_answers: float = 0.0  # seconds added to every API answer
    rate_limit_submissions: int = 0  # this many submissions get 429 with Retry-After
    error_after_create: int = 0  # this many submissions create the run, then answer 500


@dataclass
class SimulatorConfig:
    seed: int = 0
    pace: float = 0.02  # seconds per input
    retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 4.0)
    delivery_timeout: float = 10.0
    max_parallel_deliveries: int = 16
    control: bool = False
    faults: Faults = field(default_factory=Faults)


class SimClock:
    """Real time plus an offset that tests (and the demo history) move instead of waiting."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def set(self, when: datetime) -> None:
        self.offset = when - datetime.now(UTC)


def iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- the market model

HEADCOUNT_SHARE = {
    "B": 0.52,
    "C": 0.24,
    "D": 0.12,
    "E": 0.05,
    "F": 0.03,
    "G": 0.025,
    "H": 0.007,
    "I": 0.008,
}
REGION_SHARE = {
    "103644278": 0.28,  # United States
    "101165590": 0.06,  # United Kingdom
    "102299470": 0.05,  # England
    "102713980": 0.07,  # India
    "103323778": 0.015,  # Mexico
}
WORLD_COMPANIES = 60_000_000


def _unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) from its parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _share(ftype: str, value_id: str) -> float:
    if ftype == "COMPANY_HEADCOUNT":
        return HEADCOUNT_SHARE.get(value_id, 0.01)
    if ftype == "REGION":
        return REGION_SHARE.get(value_id, 0.002 + 0.03 * _unit("region", value_id))
    if ftype == "INDUSTRY":
        return 0.003 + 0.05 * _unit("industry", value_id)
    return 0.05 + 0.5 * _unit(ftype, value_id)


def _filter_factor(f: urls.Filter) -> float:
    if f.raw is not None:
        return 0.2 + 0.5 * _unit("raw", f.raw)
    if f.values:
        included = sum(_share(f.type, v.id) for v in f.values if v.selection != "EXCLUDED")
        excluded = sum(_share(f.type, v.id) for v in f.values if v.selection == "EXCLUDED")
        factor = included if included else 1.0
        return max(factor * max(1.0 - excluded, 0.01), 1e-6)
    width = 0.1 + 0.6 * _unit("range", f.type, f.range_min, f.range_max, f.sub_filter)
    return width


def market_size(url: str, when: datetime) -> int:
    """What a search 'matches' on a date: broad searches big, trends smooth, weeks a little noisy."""
    verdict = urls.validate(url)
    key = verdict.url or url
    base = float(WORLD_COMPANIES)
    for f in verdict.filters:
        base *= _filter_factor(f)
    if verdict.keywords:
        base *= 0.01 + 0.1 * _unit("kw", verdict.keywords)
    if verdict.saved_search_id:
        base *= 0.0005 + 0.01 * _unit("saved", verdict.saved_search_id)
    # Trend is a property of the segment (its filters minus headcount) so cells move together.
    trend_key = sorted(f.describe() for f in verdict.filters if f.type != "COMPANY_HEADCOUNT")
    monthly = -0.01 + 0.035 * _unit("trend", trend_key)
    epoch = datetime(2025, 1, 1, tzinfo=UTC)
    months = (when - epoch).total_seconds() / (30.44 * 86400)
    week = int((when - epoch).total_seconds() // (7 * 86400))
    noise = 1 + 0.012 * (_unit("noise", key, week) - 0.5)
    return max(0, int(round(base * (1 + monthly) ** months * noise)))


# ---------------------------------------------------------------- state


@dataclass
class SimInput:
    uid: str
    data: dict[str, Any]
    status: str = "PENDING"
    total_results: int | None = None
    error: dict[str, Any] | None = None
    finished_at: datetime | None = None


@dataclass
class SimRun:
    id: int
    uid: str
    name: str | None
    inputs: list[SimInput]
    callback: dict[str, Any] | None
    created_at: datetime
    mode: str = "async"
    status: str = "CREATED"
    scheduled_run_uid: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None = None
    postponed_until: datetime | None = None
    last_error: dict[str, Any] | None = None
    cancelled: bool = False
    callbacks_made: int = 0
    batch_uid: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def output_count(self) -> int:
        return sum(1 for i in self.inputs if i.total_results is not None)


@dataclass
class SimCallback:
    uid: str
    ref: str
    run_uid: str
    body: dict[str, Any]
    url: str
    headers: dict[str, str]
    status: str = "PENDING"
    attempts: int = 0
    replays: int = 0
    lost: bool = False
    duplicate: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class SimSchedule:
    uid: str
    body: dict[str, Any]
    cron: str
    timezone: str
    next_execution_at: datetime | None
    created_at: datetime
    status: str = "ACTIVE"
    run_uids: list[str] = field(default_factory=list)


def api_error(
    status: int,
    message: str,
    label: str,
    scope: str | None = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {
            "error_label": label,
            "error_scope": scope,
            "error_ref": f"ERR-{random.randint(10000, 99999)}",
            "message": message,
            "status_code": status,
            "params": params or {},
            "data": None,
        },
        status_code=status,
        headers=headers,
    )


def _field_of(error: Any) -> str:
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        extras = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        path = path + extras[:1]
    elif error.validator == "required":
        missing = [r for r in error.validator_value if r not in (error.instance or {})]
        path = path + missing[:1]
    return ".".join(str(p) for p in path) or "body"


class Simulator:
    """The state and behaviour behind the Starlette app (tests may reach in through `app.state`)."""

    def __init__(self, config: SimulatorConfig | None = None, api_key: str | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.api_key = api_key
        self.clock = SimClock()
        self.rng = random.Random(self.config.seed)
        self.runs: dict[str, SimRun] = {}
        self.callbacks: dict[str, SimCallback] = {}
        self.schedules: dict[str, SimSchedule] = {}
        self.delivery_log: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._client: httpx.AsyncClient | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self.submissions = 0

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.config.delivery_timeout)
        self._semaphore = asyncio.Semaphore(self.config.max_parallel_deliveries)
        self._spawn(self._schedule_loop())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._client:
            await self._client.aclose()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------ runs

    def create_run(
        self, body: dict[str, Any], mode: str, scheduled_run_uid: str | None = None
    ) -> SimRun:
        run = SimRun(
            id=next(self._ids),
            uid=str(uuid.uuid4()),
            name=body.get("name"),
            inputs=[SimInput(uid=str(uuid.uuid4()), data=dict(i)) for i in body["inputs"]],
            callback=body.get("callback"),
            created_at=self.clock.now(),
            mode=mode,
            scheduled_run_uid=scheduled_run_uid,
        )
        run.updated_at = run.created_at
        self.runs[run.uid] = run
        self._spawn(self._execute(run))
        return run

    async def _execute(self, run: SimRun) -> None:
        await asyncio.sleep(0)
        run.status = "RUNNING"
        run.started_at = self.clock.now()
        order = list(run.inputs)
        if self.config.faults.shuffle:
            self.rng.shuffle(order)
        fault_rng = random.Random(f"{self.config.seed}:{run.uid}")
        for item in order:
            if run.cancelled:
                break
            if self.config.pace:
                await asyncio.sleep(self.config.pace)
            else:
                await asyncio.sleep(0)
            self._finish_input(run, item, fault_rng)
            if run.callback and run.callback.get("on", "all") == "all" and run.callback.get("url"):
                self._queue_callback(run, item)
        if run.cancelled:
            run.status = "STOPPED"
        else:
            failed = sum(1 for i in run.inputs if i.error)
            run.status = (
                "SUCCEEDED"
                if failed == 0
                else "FAILED"
                if failed == len(run.inputs)
                else "PARTIAL_SUCCEEDED"
            )
            if failed:
                first = next(i.error for i in run.inputs if i.error)
                run.last_error = {
                    "label": first["error_label"],
                    "message": first["message"],
                    "params": first["params"],
                }
        run.finished_at = run.updated_at = self.clock.now()
        if run.callback and run.callback.get("url") and not run.cancelled:
            self._queue_callback(run, None)

    def _finish_input(self, run: SimRun, item: SimInput, rng: random.Random) -> None:
        when = self.clock.now()
        item.finished_at = when
        if rng.random() < self.config.faults.fail_share:
            kind = rng.choice(["LK_ERROR", "NO_RESULT", "LIMIT_REACHED"])
            item.status = "FAILED"
            item.error = _input_error(kind, when)
            if kind == "LIMIT_REACHED":
                run.postponed_until = when + timedelta(hours=24)
        else:
            item.status = "SUCCEEDED"
            item.total_results = market_size(item.data["sales_navigator_company_search_url"], when)
        run.updated_at = when

    def _queue_callback(self, run: SimRun, item: SimInput | None) -> None:
        callback = run.callback or {}
        body: dict[str, Any] = {
            "callback_ref_uid": str(uuid.uuid4()),
            "run": {
                "run_uid": run.uid,
                "batch_uid": run.batch_uid,
                "status": "RUNNING" if item is not None else run.status,
            },
        }
        if run.scheduled_run_uid:
            body["run"]["scheduled_run_uid"] = run.scheduled_run_uid
        if item is not None:
            body["input"] = item.data
            if "custom_data" in item.data:
                body["custom_data"] = item.data["custom_data"]
            if item.error:
                body["error"] = item.error
                body["results_count"] = 0
                body["results"] = []
            else:
                body["results_count"] = 1
                body["results"] = [{"total_results": item.total_results}]
        cb = SimCallback(
            uid=str(uuid.uuid4()),
            ref=body["callback_ref_uid"],
            run_uid=run.uid,
            body=body,
            url=str(callback["url"]),
            headers=dict(callback.get("headers") or {}),
        )
        # Fault draws depend only on the seed, the run's number and the callback's place in it,
        # so a drill with a given seed misbehaves the same way every time.
        run.callbacks_made += 1
        draw = (self.config.seed, run.id, run.callbacks_made)
        cb.lost = _unit("lose", *draw) < self.config.faults.lose_share
        cb.duplicate = _unit("duplicate", *draw) < self.config.faults.duplicate_share
        self.callbacks[cb.uid] = cb
        if cb.lost:
            cb.status = "FAILED"
            return
        self._spawn(self._deliver(cb))

    async def _deliver(self, cb: SimCallback, *, replay: bool = False) -> None:
        assert self._client is not None and self._semaphore is not None
        faults = self.config.faults
        delays = list(self.config.retry_delays)
        forced_failures = 0 if replay else faults.fail_first_deliveries
        attempt = 0
        cb.status = "RUNNING"
        while True:
            if faults.delivery_delay:
                await asyncio.sleep(faults.delivery_delay)
            ok = await self._post(cb)
            attempt += 1
            if ok and attempt > forced_failures:
                break
            if not delays:
                cb.status = "FAILED"
                return
            await asyncio.sleep(delays.pop(0))
        cb.status = "SUCCESS"
        if not replay and cb.duplicate:
            await self._post(cb)

    async def _post(self, cb: SimCallback) -> bool:
        assert self._client is not None and self._semaphore is not None
        delivery = str(uuid.uuid4())
        cb.attempts += 1
        headers = {
            **cb.headers,
            "Content-Type": "application/json",
            "X-Callback-Ref": cb.ref,
            "X-Run-Callback": delivery,
        }
        status: int | str
        async with self._semaphore:
            try:
                response = await self._client.post(
                    cb.url, content=json.dumps(cb.body).encode(), headers=headers
                )
                status = response.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
        self.delivery_log.append({"ref": cb.ref, "delivery": delivery, "status": status})
        return isinstance(status, int) and 200 <= status < 300

    # ------------------------------------------------------------ schedules

    async def _schedule_loop(self) -> None:
        while True:
            self.fire_due_schedules()
            await asyncio.sleep(0.1)

    def fire_due_schedules(self) -> list[str]:
        """Start a run for every schedule whose next execution has come (by the simulated clock)."""
        started = []
        now = self.clock.now()
        for schedule in self.schedules.values():
            while (
                schedule.status == "ACTIVE"
                and schedule.next_execution_at is not None
                and schedule.next_execution_at <= now
            ):
                body = {
                    k: v for k, v in schedule.body.items() if k in ("name", "inputs", "callback")
                }
                run = self.create_run(body, "schedule", scheduled_run_uid=schedule.uid)
                run.created_at = schedule.next_execution_at
                schedule.run_uids.append(run.uid)
                started.append(run.uid)
                schedule.next_execution_at = _next_fire(
                    schedule.cron, schedule.timezone, schedule.next_execution_at
                )
        return started


def _next_fire(cron: str, tz: str, after: datetime) -> datetime:
    local = after.astimezone(ZoneInfo(tz))
    nxt = croniter(cron, local).get_next(datetime)
    return nxt.astimezone(UTC)


def _input_error(kind: str, when: datetime) -> dict[str, Any]:
    if kind == "LK_ERROR":
        return {
            "error_label": "LK_ERROR",
            "error_scope": "integ",
            "error_ref": f"ERR-{random.randint(10000, 99999)}",
            "message": "LinkedIn returned an error for this search; try again later.",
            "status_code": 424,
            "params": {},
            "data": None,
        }
    if kind == "NO_RESULT":
        return {
            "error_label": "NO_RESULT",
            "error_scope": "input",
            "error_ref": f"ERR-{random.randint(10000, 99999)}",
            "message": "The search returned no result page.",
            "status_code": 404,
            "params": {},
            "data": None,
        }
    return {
        "error_label": "LIMIT_REACHED",
        "error_scope": "integ",
        "error_ref": f"ERR-{random.randint(10000, 99999)}",
        "message": "The identity reached its LinkedIn limit for this action.",
        "status_code": 429,
        "params": {"postponed_until": iso(when + timedelta(hours=24))},
        "data": None,
    }


# ---------------------------------------------------------------- HTTP


def run_object(run: SimRun) -> dict[str, Any]:
    return {
        "uid": run.uid,
        "action_name": ACTION,
        "name": run.name,
        "status": run.status,
        "execution_mode": run.mode,
        "last_error": run.last_error,
        "output_count": run.output_count,
        "input_count": len(run.inputs),
        "scheduled_run_uid": run.scheduled_run_uid,
        "postponed_until": iso(run.postponed_until),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
    }


def _submission_answer(run: SimRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "run_uid": run.uid,
        "workspace_uid": "00000000-0000-4000-8000-000000000001",
        "user_uid": "00000000-0000-4000-8000-000000000002",
        "action_name": ACTION,
        "status": "pending",
        "postponed_until": None,
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "name": run.name,
    }


def create_simulator_app(
    config: SimulatorConfig | None = None, *, api_key: str | None = None
) -> Starlette:
    """The simulator as a Starlette app; `api_key=None` accepts any non-empty key."""
    sim = Simulator(config, api_key)

    def authorised(request: Request) -> bool:
        key = request.headers.get("x-api-key")
        return bool(key) and (sim.api_key is None or key == sim.api_key)

    async def guard(request: Request, *, slow: bool = True) -> JSONResponse | None:
        if slow and sim.config.faults.slow_answers:
            await asyncio.sleep(sim.config.faults.slow_answers)
        if not authorised(request):
            return api_error(
                401, "Missing or invalid API key (X-API-Key header).", "UNAUTHORIZED", "config"
            )
        return None

    async def read_body(request: Request) -> tuple[Any, JSONResponse | None]:
        try:
            return json.loads(await request.body()), None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return None, api_error(
                400, f"body is not valid JSON: {exc}", "BAD_REQUEST", "param", {"field": "body"}
            )

    def check(schema: dict[str, Any], body: Any) -> JSONResponse | None:
        problems = contract.errors(schema, body)
        if problems:
            first = problems[0]
            where = _field_of(first)
            return api_error(
                400,
                f"body/{where.replace('.', '/')} {first.message}",
                "BAD_REQUEST",
                "param",
                {"field": where, "reason": first.validator},
            )
        if (
            isinstance(body, dict)
            and (body.get("identity_mode") or "direct") == "direct"
            and not (body.get("identity_ids"))
        ):
            return api_error(
                400,
                "body/identity_ids is required when identity_mode is direct",
                "BAD_REQUEST",
                "param",
                {"field": "identity_ids", "reason": "required"},
            )
        return None

    def faulty_submission() -> JSONResponse | None:
        sim.submissions += 1
        faults = sim.config.faults
        if sim.submissions <= faults.rate_limit_submissions:
            return api_error(
                429,
                "Too many requests; retry after the delay.",
                "LIMIT_REACHED",
                "config",
                headers={"Retry-After": "1"},
            )
        return None

    async def run_async(request: Request) -> JSONResponse:
        return await _submit(request, contract.async_body_schema(), "async")

    async def _submit(request: Request, schema: dict[str, Any], mode: str) -> JSONResponse:
        # A slow submission is slow after the run exists: the "did it go through?" case.
        if (denied := await guard(request, slow=False)) is not None:
            return denied
        body, bad = await read_body(request)
        if bad is not None:
            return bad
        if (refused := check(schema, body)) is not None:
            return refused
        if (limited := faulty_submission()) is not None:
            return limited
        run = sim.create_run(body, mode)
        if sim.config.faults.slow_answers:
            await asyncio.sleep(sim.config.faults.slow_answers)
        if sim.submissions <= (
            sim.config.faults.rate_limit_submissions + sim.config.faults.error_after_create
        ):
            return api_error(500, "Internal server error.", "INTERNAL_ERROR")
        return JSONResponse(_submission_answer(run))

    async def run_live(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        body, bad = await read_body(request)
        if bad is not None:
            return bad
        if (refused := check(contract.live_body_schema(), body)) is not None:
            return refused
        url = body["input"]["sales_navigator_company_search_url"]
        return JSONResponse({"total_results": market_size(url, sim.clock.now())})

    async def run_schedule(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        body, bad = await read_body(request)
        if bad is not None:
            return bad
        if (refused := check(contract.schedule_body_schema(), body)) is not None:
            return refused
        cron = body.get("cron")
        tz = body.get("timezone") or "UTC"
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            return api_error(
                400,
                f"body/timezone {tz!r} is not an IANA time zone",
                "BAD_REQUEST",
                "param",
                {"field": "timezone"},
            )
        if cron is not None and (len(cron.split()) != 5 or not croniter.is_valid(cron)):
            return api_error(
                400,
                "body/cron must be a 5-field cron expression",
                "BAD_REQUEST",
                "param",
                {"field": "cron"},
            )
        first: datetime | None
        if body.get("schedule_at"):
            try:
                first = datetime.fromisoformat(body["schedule_at"].replace("Z", "+00:00"))
            except ValueError:
                return api_error(
                    400,
                    "body/schedule_at must be a date-time",
                    "BAD_REQUEST",
                    "param",
                    {"field": "schedule_at"},
                )
            if first.tzinfo is None:
                first = first.replace(tzinfo=UTC)
        elif cron:
            first = _next_fire(cron, tz, sim.clock.now())
        else:
            return api_error(
                400,
                "body must have cron or schedule_at",
                "BAD_REQUEST",
                "param",
                {"field": "cron"},
            )
        schedule = SimSchedule(
            uid=str(uuid.uuid4()),
            body=body,
            cron=cron or "",
            timezone=tz,
            next_execution_at=first,
            created_at=sim.clock.now(),
        )
        if not cron:
            schedule.cron = ""
        sim.schedules[schedule.uid] = schedule
        return JSONResponse(_schedule_object(schedule))

    def find_run(request: Request) -> SimRun | JSONResponse:
        run = sim.runs.get(request.path_params["uid"])
        if run is None:
            return api_error(404, "Run not found.", "NOT_FOUND", "param", {"field": "run_uid"})
        return run

    async def list_runs(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        q = request.query_params
        runs = sorted(sim.runs.values(), key=lambda r: r.created_at, reverse=True)
        if q.get("status"):
            runs = [r for r in runs if r.status == q["status"].upper()]
        if q.get("uid"):
            runs = [r for r in runs if r.uid == q["uid"]]
        if q.get("execution_mode"):
            runs = [r for r in runs if r.mode == q["execution_mode"]]
        if q.get("sort") == "created_at":
            runs.reverse()
        limit = min(int(q.get("limit", 50)), 100)
        offset = int(q.get("offset", 0))
        return JSONResponse([run_object(r) for r in runs[offset : offset + limit]])

    async def get_run(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        run = find_run(request)
        return run if isinstance(run, JSONResponse) else JSONResponse(run_object(run))

    async def get_status(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        run = find_run(request)
        if isinstance(run, JSONResponse):
            return run
        return JSONResponse(
            {"uid": run.uid, "status": run.status, "output_count": run.output_count}
        )

    def page(request: Request, items: list[dict[str, Any]]) -> JSONResponse:
        q = request.query_params
        try:
            limit = int(q.get("limit", 100))
            start = int(q.get("cursor", 0))
        except ValueError:
            return api_error(400, "limit and cursor must be integers", "BAD_REQUEST", "param")
        if not 1 <= limit <= 500:
            return api_error(
                400, "querystring/limit must be <= 500", "BAD_REQUEST", "param", {"field": "limit"}
            )
        chunk = items[start : start + limit]
        headers = {}
        if start + limit < len(items):
            nxt = request.url.include_query_params(cursor=start + limit, limit=limit)
            headers["X-Pagination-Next"] = str(nxt)
        return JSONResponse(chunk, headers=headers)

    async def get_outputs(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        run = find_run(request)
        if isinstance(run, JSONResponse):
            return run
        items = [
            {
                "uid": i.uid,
                "input": i.data,
                "custom_data": i.data.get("custom_data"),
                "total_results": i.total_results,
                "created_at": iso(i.finished_at),
            }
            for i in run.inputs
            if i.total_results is not None
        ]
        return page(request, items)

    async def get_inputs(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        run = find_run(request)
        if isinstance(run, JSONResponse):
            return run
        items = [
            {
                "uid": i.uid,
                "status": i.status,
                "input_data": {k: v for k, v in i.data.items() if k != "custom_data"},
                "custom_data": i.data.get("custom_data"),
                "output_count": 1 if i.total_results is not None else 0,
                "last_error": None
                if not i.error
                else {
                    "message": i.error["message"],
                    "label": i.error["error_label"],
                    "error_ref": i.error["error_ref"],
                    "params": i.error["params"],
                    "validation_errors": None,
                },
            }
            for i in run.inputs
        ]
        return page(request, items)

    async def cancel_run(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        run = find_run(request)
        if isinstance(run, JSONResponse):
            return run
        if run.status in FINAL:
            return api_error(
                400, f"Run is already {run.status}.", "BAD_REQUEST", "param", {"field": "run_uid"}
            )
        run.cancelled = True
        return JSONResponse(run_object(run))

    def callback_object(cb: SimCallback) -> dict[str, Any]:
        return {
            "uid": cb.uid,
            "callback_ref_uid": cb.ref,
            "run_uid": cb.run_uid,
            "status": cb.status,
            "attempts": cb.attempts,
            "replays": cb.replays,
            "created_at": iso(cb.created_at),
        }

    async def list_callbacks(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        runs = request.query_params.getlist("run_uid[]") or request.query_params.getlist("run_uid")
        statuses = request.query_params.getlist("status[]") or request.query_params.getlist(
            "status"
        )
        found = [
            callback_object(c)
            for c in sim.callbacks.values()
            if (not runs or c.run_uid in runs) and (not statuses or c.status in statuses)
        ]
        return JSONResponse(found)

    async def get_callback(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        cb = sim.callbacks.get(request.path_params["uid"])
        if cb is None:
            return api_error(404, "Callback not found.", "NOT_FOUND", "param")
        return JSONResponse(callback_object(cb) | {"body": cb.body})

    async def replay_callback(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        cb = sim.callbacks.get(request.path_params["uid"])
        if cb is None:
            return api_error(404, "Callback not found.", "NOT_FOUND", "param")
        if cb.replays >= MAX_REPLAYS:
            return api_error(
                400,
                f"This callback was already replayed {MAX_REPLAYS} times.",
                "BAD_REQUEST",
                "param",
                {"field": "callback_uid"},
            )
        cb.replays += 1
        cb.lost = False
        sim._spawn(sim._deliver(cb, replay=True))
        return JSONResponse(callback_object(cb))

    async def list_schedules(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        return JSONResponse([_schedule_object(s) for s in sim.schedules.values()])

    async def get_schedule(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        schedule = sim.schedules.get(request.path_params["uid"])
        if schedule is None:
            return api_error(404, "Schedule not found.", "NOT_FOUND", "param")
        return JSONResponse(_schedule_object(schedule))

    async def cancel_schedule(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        schedule = sim.schedules.get(request.path_params["uid"])
        if schedule is None:
            return api_error(404, "Schedule not found.", "NOT_FOUND", "param")
        schedule.status = "CANCELLED"
        return JSONResponse(_schedule_object(schedule))

    # ------------------------------------------------------------ control (tests only)

    async def control_clock(request: Request) -> JSONResponse:
        body = json.loads(await request.body() or b"{}")
        if "set" in body:
            sim.clock.set(datetime.fromisoformat(body["set"].replace("Z", "+00:00")))
        if "advance_days" in body:
            sim.clock.offset += timedelta(days=float(body["advance_days"]))
        started = sim.fire_due_schedules()
        return JSONResponse({"now": iso(sim.clock.now()), "started_runs": started})

    async def control_faults(request: Request) -> JSONResponse:
        body = json.loads(await request.body() or b"{}")
        known = {f.name for f in fields(Faults)}
        unknown = sorted(set(body) - known)
        if unknown:
            return JSONResponse({"error": f"unknown faults: {unknown}"}, status_code=400)
        sim.config.faults = replace(sim.config.faults, **body)
        return JSONResponse({f.name: getattr(sim.config.faults, f.name) for f in fields(Faults)})

    async def control_state(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "runs": len(sim.runs),
                "callbacks": len(sim.callbacks),
                "deliveries": len(sim.delivery_log),
                "now": iso(sim.clock.now()),
            }
        )

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "simulator": True})

    base = f"/v1/actions/{ACTION}/run"
    routes = [
        Route(f"{base}/live", run_live, methods=["POST"]),
        Route(f"{base}/async", run_async, methods=["POST"]),
        Route(f"{base}/schedule", run_schedule, methods=["POST"]),
        Route("/v1/runs", list_runs, methods=["GET"]),
        Route("/v1/runs/callbacks", list_callbacks, methods=["GET"]),
        Route("/v1/runs/callbacks/{uid}", get_callback, methods=["GET"]),
        Route("/v1/runs/callbacks/{uid}/replay", replay_callback, methods=["POST"]),
        Route("/v1/runs/{uid}", get_run, methods=["GET"]),
        Route("/v1/runs/{uid}/status", get_status, methods=["GET"]),
        Route("/v1/runs/{uid}/outputs", get_outputs, methods=["GET"]),
        Route("/v1/runs/{uid}/inputs", get_inputs, methods=["GET"]),
        Route("/v1/runs/{uid}/cancel", cancel_run, methods=["POST"]),
        Route("/v1/schedules", list_schedules, methods=["GET"]),
        Route("/v1/schedules/{uid}", get_schedule, methods=["GET"]),
        Route("/v1/schedules/{uid}/cancel", cancel_schedule, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    if sim.config.control:
        routes += [
            Route("/_control/clock", control_clock, methods=["POST"]),
            Route("/_control/faults", control_faults, methods=["POST"]),
            Route("/_control/state", control_state, methods=["GET"]),
        ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await sim.start()
        try:
            yield
        finally:
            await sim.stop()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sim = sim
    return app


def _schedule_object(s: SimSchedule) -> dict[str, Any]:
    return {
        "schedule_uid": s.uid,
        "status": s.status,
        "cron": s.cron or None,
        "timezone": s.timezone,
        "next_execution_at": iso(s.next_execution_at),
        "created_at": iso(s.created_at),
        "run_uids": list(s.run_uids),
    }
