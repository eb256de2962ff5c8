"""The Trends page over 1,000 saved searches x 365 daily measurements, against a bare read.

The baseline reads the same rows into a DataFrame with pandas (one query, the join with the
searches' labels, nothing else). The page is run as AppTest runs it. Goal: page <= 2x baseline.

    python benchmarks/trends.py [--searches 1000] [--days 365]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from navmetrics import store, urls

ROOT = Path(__file__).resolve().parents[1]


def build(db_path: Path, searches: int, days: int) -> None:
    db = store.open_db(db_path, durable=False)
    made = [
        urls.build_url(
            [
                urls.Filter("INDUSTRY", (urls.FilterValue(str(1 + i % 300)),)),
                urls.Filter("REGION", (urls.FilterValue(str(100_000_000 + i)),)),
            ]
        )
        for i in range(searches)
    ]
    ids = store.save_searches(db, made).ids
    start = datetime(2025, 12, 1, 9, tzinfo=UTC)
    rows = []
    for day in range(days):
        stamp = (start + timedelta(days=day)).isoformat().replace("+00:00", "Z")
        for n, sid in enumerate(ids):
            rows.append((sid, f"run-{day}", 1000 + n * 10 + day * (n % 7), stamp, "bench"))
    with db.conn:
        db.conn.executemany(
            "INSERT INTO observations (search_id, run_uid, total_results, observed_at, source) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
    db.conn.close()


def bare_read(db_path: Path) -> float:
    db = store.open_db(db_path, durable=False)
    started = time.perf_counter()
    frame = pd.read_sql_query(
        "SELECT o.search_id, s.label, o.total_results, o.observed_at "
        "FROM observations o JOIN searches s ON s.id = o.search_id",
        db.conn,
    )
    elapsed = time.perf_counter() - started
    assert len(frame)
    db.conn.close()
    return elapsed


def page_run(db_path: Path) -> float:
    from streamlit.testing.v1 import AppTest

    os.environ["NAVMETRICS_DB"] = str(db_path)
    at = AppTest.from_file(str(ROOT / "app_pages" / "trends.py"), default_timeout=120)
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise SystemExit(f"the page failed: {at.exception[0].message}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("NAVMETRICS_CALLBACK_TOKEN", "bench")
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "trends.db"
        build(db_path, args.searches, args.days)
        bare = [bare_read(db_path) for _ in range(args.repeat)]
        page = [page_run(db_path) for _ in range(args.repeat)]
    b, p = statistics.median(bare), statistics.median(page)
    print(
        f"{args.searches:,} searches x {args.days} days = {args.searches * args.days:,} measurements"
    )
    print(f"bare read into a DataFrame   {b:6.2f} s (median of {args.repeat})")
    print(f"Trends page (AppTest run)    {p:6.2f} s (median of {args.repeat})")
    print(f"ratio                        {p / b:6.2f}  (goal <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
