"""The background services of the dashboard process: the receiver and, in demo mode, the simulator.

Started once per process by the `st.App` lifespan. A service that cannot start (port taken) is
reported clearly and the dashboard runs on without it; the Overview page shows its health.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass, field
from typing import Any

import httpx

from navmetrics import demo, store, sync
from navmetrics.config import (
    ConfigError,
    Settings,
    TokenSource,
    ensure_callback_token,
    load_settings,
)
from navmetrics.edges import EdgesClient
from navmetrics.receiver import create_receiver_app
from navmetrics.servers import PortTaken, Running, start_embedded
from navmetrics.simulator import SimulatorConfig, create_simulator_app

POLL_SECONDS = 15.0


@dataclass
class Services:
    running: list[Running] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    poller: asyncio.Task[None] | None = None
    demo: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        for task in (self.poller, self.demo):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for service in reversed(self.running):
            await service.stop()


def sync_once() -> str:
    """One reconciliation pass with the settings in force now (they may have changed).

    In poll mode, everything; with callbacks, only the search for submissions whose answer was
    lost (their callbacks say nothing of the name they were sent with).
    """
    settings = load_settings()
    db = store.open_db(settings.db_path, durable=False)
    try:
        polling = settings.mode == "poll"
        if not (
            sync.lost_submissions(db)
            or polling
            and (sync.runs_needing_sync(db) or sync.active_schedules(db))
        ):
            return "nothing to sync"
        with EdgesClient(settings.effective_base_url, settings.effective_api_key) as client:
            if polling:
                report = sync.sync(db, client)
            else:
                report = sync.SyncReport()
                sync.find_lost_submissions(db, client, report)
        return "nothing to sync" if report.empty else report.summary()
    finally:
        db.conn.close()


async def poll_forever(every: float = POLL_SECONDS) -> None:
    """Poll mode: with no public URL, results come home only by pulling them. In every mode, a
    submission whose answer was lost is looked for until Edges lists it."""
    while True:
        await asyncio.sleep(every)
        try:
            summary = await asyncio.to_thread(sync_once)
        except Exception as exc:  # a network fault must not stop polling
            summary = f"sync failed: {exc}"
        if summary != "nothing to sync":
            mode = load_settings().mode
            print(f"NavMetrics: {mode} mode: {summary}", file=sys.stderr, flush=True)


async def start_services() -> Services:
    services = Services()
    try:
        settings = ensure_callback_token(load_settings())
    except ConfigError as exc:
        services.problems.append(str(exc))
        print(f"NavMetrics: {exc}", file=sys.stderr, flush=True)
        return services
    assert settings.callback_token
    wanted = [
        (
            "callback receiver",
            lambda: create_receiver_app(
                settings.db_path, TokenSource(settings.db_path, load_settings().callback_token)
            ),
            settings.receiver_host,
            settings.receiver_port,
            "NAVMETRICS_RECEIVER_PORT",
        )
    ]
    if settings.demo:
        wanted.append(
            (
                "Edges simulator (demo mode)",
                lambda: create_simulator_app(SimulatorConfig()),
                settings.simulator_host,
                settings.simulator_port,
                "NAVMETRICS_SIMULATOR_PORT",
            )
        )
    for name, make, host, port, env_var in wanted:
        try:
            running = await start_embedded(make(), host, port, name, env_var)
        except (PortTaken, RuntimeError) as exc:
            services.problems.append(str(exc))
            print(f"NavMetrics: {exc}", file=sys.stderr, flush=True)
            continue
        services.running.append(running)
        print(f"NavMetrics: {name} listening on {running.url}", file=sys.stderr, flush=True)
    services.poller = asyncio.create_task(poll_forever())
    simulator = next((r for r in services.running if r.name.startswith("Edges simulator")), None)
    receiver_up = any(r.name == "callback receiver" for r in services.running)
    if settings.demo and settings.demo_history and simulator is not None and receiver_up:
        services.demo = asyncio.create_task(asyncio.to_thread(fill_demo, settings, simulator.app))
    return services


def fill_demo(settings: Settings, app: Any) -> None:
    """First start in demo mode: make the demo history (in a thread; the simulator is in the loop)."""
    db = store.open_db(settings.db_path, durable=False)
    try:
        if demo.state(db) is None and store.searches_frame(db).empty:
            made = demo.fill(db, settings, app.state.sim)
            print(
                f"NavMetrics: demo history made ({made} weekly runs)", file=sys.stderr, flush=True
            )
    except Exception as exc:  # the demo is a convenience: report, never stop the dashboard
        print(f"NavMetrics: the demo history could not be made: {exc}", file=sys.stderr, flush=True)
    finally:
        db.conn.close()


def receiver_health(url: str) -> bool:
    """Whether a receiver answers its /healthz at `url`."""
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
