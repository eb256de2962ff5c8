"""Sustained durable ingest: the receiver against a bare endpoint, side by side, with wrk.

Both servers run the same way (one uvicorn process); wrk sends 32 concurrent connections of distinct
callbacks for the same duration to each. Prints requests/s of both, the ratio (goal >= 0.5) and the
loss: callbacks answered 2xx but not in the database (goal 0).

    python benchmarks/receiver.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import free_port, start, stop

URL_PREFIX = (
    "https://www.linkedin.com/sales/search/company?query=(filters%3AList((type%3AINDUSTRY%2Cvalues"
    "%3AList((id%3A4%2Ctext%3ASoftware%2520Development%2CselectionType%3AINCLUDED)))%2C(type%3A"
    "REGION%2Cvalues%3AList((id%3A"
)
URL_SUFFIX = "%2CselectionType%3AINCLUDED)))))"
LUA = r"""
local counter = 0
sent_ok = 0
local threads = {}
local next_id = 0
function init(args)
  round = tonumber(args[1]) or 0
end
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
request = function()
  counter = counter + 1
  local ref = string.format("%08x-%04x-4000-8000-%012x", tid, round, counter)
  local url = URL_PREFIX .. tostring(100000000 + (counter % 2000)) .. URL_SUFFIX
  local body = '{"callback_ref_uid":"' .. ref .. '","run":{"run_uid":"bench-' .. round .. '-' .. tid .. '-'
    .. math.floor(counter / 2000) .. '","batch_uid":"b","status":"RUNNING"},"input":'
    .. '{"sales_navigator_company_search_url":"' .. url .. '","custom_data":{"search_id":1}},'
    .. '"results_count":1,"results":[{"total_results":' .. counter .. '}]}'
  return wrk.format("POST", "/callbacks", {["Content-Type"]="application/json", ["Authorization"]="Bearer bench-token"}, body)
end
response = function(status, headers, body)
  if status >= 200 and status < 300 then sent_ok = sent_ok + 1 end
end
done = function(summary, latency, requests)
  local ok = 0
  for _, thread in ipairs(threads) do ok = ok + thread:get("sent_ok") end
  io.write(string.format("ACKNOWLEDGED %d\n", ok))
end
"""


def run_wrk(port: int, seconds: int, script: Path, round_: int) -> tuple[float, int, str]:
    url = f"http://127.0.0.1:{port}/callbacks"
    command = ["wrk", "-t2", "-c32", f"-d{seconds}s", "-s", str(script), url, "--", str(round_)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    acknowledged = int(re.search(r"ACKNOWLEDGED (\d+)", out).group(1))  # type: ignore[union-attr]
    return rate, acknowledged, out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=6, help="length of each round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each server")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("benchmarks/receiver.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    base_rates: list[float] = []
    rates: list[float] = []
    acknowledged = stored = observations = 0
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "callbacks.lua"
        script.write_text(f'URL_PREFIX = "{URL_PREFIX}"\nURL_SUFFIX = "{URL_SUFFIX}"\n' + LUA)
        db_path = Path(tmp) / "bench.db"
        bare_port, port = free_port(), free_port()
        bare = start(["benchmarks/bare_endpoint.py", str(bare_port)], bare_port)
        receiver = start(
            ["-m", "navmetrics.cli", "receiver", "--port", str(port), "--db", str(db_path)],
            port,
            {"NAVMETRICS_CALLBACK_TOKEN": "bench-token"},
        )
        try:
            for round_ in range(args.rounds):  # alternate: both see the same noisy machine
                base_rates.append(run_wrk(bare_port, args.seconds, script, round_)[0])
                rate, acked, _ = run_wrk(port, args.seconds, script, round_)
                rates.append(rate)
                acknowledged += acked
        finally:
            stop(bare)
            stop(receiver)
        with sqlite3.connect(db_path) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM callbacks").fetchone()[0]
            observations = conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    loss = max(acknowledged - stored, 0)
    base, ours = statistics.median(base_rates), statistics.median(rates)
    print(f"bare endpoint       {base:8.0f} requests/s  (median of {args.rounds}: {base_rates})")
    print(f"navmetrics receiver {ours:8.0f} requests/s  (durable: synchronous=FULL, group commit)")
    print(f"ratio               {ours / base:8.2f}  (goal >= 0.5)")
    print(f"acknowledged {acknowledged}, stored {stored}, observations {observations}, loss {loss}")
    return 0 if loss == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
