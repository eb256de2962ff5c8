"""A 10,000-input run through the simulator, every callback delivered to a local receiver.

Side by side with the baseline: the same number of callback bodies POSTed straight to a fresh
receiver by a plain client with the simulator's concurrency (the cost of delivery alone). Prints
both times and the ratio (goal: the run well under a minute).

    python benchmarks/simulator.py [--inputs 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from _common import free_port, start, stop

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"
BASE = (
    "https://www.linkedin.com/sales/search/company?query=(filters%3AList((type%3AINDUSTRY%2Cvalues"
    "%3AList((id%3A4%2Ctext%3ASoftware%2520Development%2CselectionType%3AINCLUDED)))%2C(type%3A"
    "REGION%2Cvalues%3AList((id%3A{}%2CselectionType%3AINCLUDED)))))"
)


def count(db_path: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db_path) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def wait_for_observations(db_path: Path, expected: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while count(db_path, "SELECT COUNT(*) FROM observations") < expected:
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.05)


def simulator_run(n: int, tmp: Path) -> float:
    db_path = tmp / "sim.db"
    rport, sport = free_port(), free_port()
    receiver = start(
        ["-m", "navmetrics.cli", "receiver", "--port", str(rport), "--db", str(db_path)],
        rport,
        {"NAVMETRICS_CALLBACK_TOKEN": TOKEN},
    )
    simulator = start(
        ["-m", "navmetrics.cli", "simulator", "--port", str(sport), "--pace", "0"], sport
    )
    try:
        body = {
            "name": "benchmark",
            "identity_mode": "auto",
            "inputs": [
                {
                    "sales_navigator_company_search_url": BASE.format(100_000_000 + i),
                    "custom_data": {"i": i},
                }
                for i in range(n)
            ],
            "callback": {
                "url": f"http://127.0.0.1:{rport}/callbacks",
                "headers": {"Authorization": f"Bearer {TOKEN}"},
                "on": "all",
            },
        }
        started = time.monotonic()
        answer = httpx.post(
            f"http://127.0.0.1:{sport}/v1/actions/salesnavigator-search-company-metrics/run/async",
            json=body,
            headers={"X-API-Key": "bench"},
            timeout=300,
        )
        answer.raise_for_status()
        wait_for_observations(db_path, n)
        elapsed = time.monotonic() - started
        status = count(db_path, "SELECT status = 'SUCCEEDED' FROM runs")
        deadline = time.monotonic() + 30
        while not status and time.monotonic() < deadline:
            time.sleep(0.05)
            status = count(db_path, "SELECT status = 'SUCCEEDED' FROM runs")
        print(f"  run status SUCCEEDED in the receiver's database: {bool(status)}")
        return elapsed
    finally:
        stop(simulator)
        stop(receiver)


def direct_posts(n: int, tmp: Path) -> float:
    db_path = tmp / "direct.db"
    rport = free_port()
    receiver = start(
        ["-m", "navmetrics.cli", "receiver", "--port", str(rport), "--db", str(db_path)],
        rport,
        {"NAVMETRICS_CALLBACK_TOKEN": TOKEN},
    )
    run = {"run_uid": str(uuid.uuid4()), "batch_uid": str(uuid.uuid4()), "status": "RUNNING"}
    bodies = [
        json.dumps(
            {
                "callback_ref_uid": str(uuid.uuid4()),
                "run": run,
                "input": {"sales_navigator_company_search_url": BASE.format(100_000_000 + i)},
                "results_count": 1,
                "results": [{"total_results": i}],
            }
        ).encode()
        for i in range(n)
    ]

    async def send_all() -> None:
        gate = asyncio.Semaphore(16)  # the simulator's default delivery concurrency
        async with httpx.AsyncClient(timeout=60) as client:

            async def send(raw: bytes) -> None:
                async with gate:
                    await client.post(
                        f"http://127.0.0.1:{rport}/callbacks",
                        content=raw,
                        headers={
                            "Authorization": f"Bearer {TOKEN}",
                            "Content-Type": "application/json",
                        },
                    )

            await asyncio.gather(*(send(b) for b in bodies))

    try:
        started = time.monotonic()
        asyncio.run(send_all())
        wait_for_observations(db_path, n)
        return time.monotonic() - started
    finally:
        stop(receiver)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inputs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{args.inputs} inputs, callback on: all, delivered to a local receiver")
        sim = simulator_run(args.inputs, Path(tmp))
        base = direct_posts(args.inputs, Path(tmp))
    print(f"simulator run, submit to last observation  {sim:7.1f} s   (goal: well under 60 s)")
    print(f"baseline, same callbacks POSTed directly   {base:7.1f} s")
    print(f"ratio                                      {sim / base:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
