"""The background services of the dashboard process: the receiver and, in demo mode, the simulator.

Started once per process by the `st.App` lifespan. A service that cannot start (port taken) is
reported clearly and the dashboard runs on without it; the Overview page shows its health.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from navmetrics.config import ConfigError, ensure_callback_token, load_settings
from navmetrics.receiver import create_receiver_app
from navmetrics.servers import PortTaken, Running, start_embedded
from navmetrics.simulator import SimulatorConfig, create_simulator_app


@dataclass
class Services:
    running: list[Running] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def stop(self) -> None:
        for service in reversed(self.running):
            await service.stop()


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
            lambda: create_receiver_app(settings.db_path, settings.callback_token or ""),
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
        print(f"NavMetrics: {name} listening on {running.url}", flush=True)
    return services
