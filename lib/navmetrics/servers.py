"""Run the receiver and the simulator as uvicorn servers on their own ports.

The dashboard embeds them in its own event loop (one server per port, so a tunnel to the
receiver's port reaches `/callbacks` and `/healthz` and never the dashboard); the CLI runs each
alone. Ports are bound here first so a taken port gets a clear message instead of a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from dataclasses import dataclass
from typing import Any

import uvicorn

log = logging.getLogger("navmetrics.servers")


class PortTaken(OSError):
    """The port is used by another program; the message says how to choose another."""


def bind(host: str, port: int, what: str, env_var: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it every answer waits ~40 ms on Nagle and delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortTaken(
                f"The {what} cannot start: port {port} on {host} is already in use (another "
                f"NavMetrics, or another program). Stop it, or choose another port with "
                f"{env_var}=<port>."
            ) from None
        raise PortTaken(f"The {what} cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to whoever owns the process."""

    async def run_embedded(self, sock: socket.socket) -> None:
        try:
            await self._serve([sock])
        except SystemExit:
            log.error("%s stopped: its startup failed", self.config.app)


@dataclass
class Running:
    name: str
    url: str
    server: _QuietServer
    task: asyncio.Task[None]
    app: Any = None

    async def stop(self) -> None:
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(self.task, timeout=10)


async def start_embedded(app: Any, host: str, port: int, name: str, env_var: str) -> Running:
    """Start `app` on host:port inside the running event loop; wait until it accepts requests."""
    sock = bind(host, port, name, env_var)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = _QuietServer(config)
    task = asyncio.create_task(server.run_embedded(sock))
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        raise RuntimeError(f"The {name} did not start on {host}:{port}; see the log above.")
    return Running(name, f"http://{host}:{port}", server, task, app)


def serve_forever(app: Any, host: str, port: int, name: str, env_var: str) -> None:
    """Run one app in the foreground (the CLI); Ctrl-C stops it cleanly."""
    sock = bind(host, port, name, env_var)
    config = uvicorn.Config(app, log_level="info", lifespan="on", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
