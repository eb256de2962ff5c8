"""The demo history: months of weekly measurements of about twenty sample searches.

Made, on a first start in demo mode, by running the simulator at past simulated dates through the
real path (submit -> simulator -> callback -> receiver -> SQLite). Everything it makes is labelled
`demo` and can be removed in one click.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from navmetrics import runs, store, urls
from navmetrics.config import Settings
from navmetrics.edges import EdgesClient

WEEKS = 26
INDUSTRIES = {
    "4": "Software Development",
    "27": "Retail",
    "25": "Manufacturing",
    "43": "Financial Services",
    "116": "Transportation, Logistics, Supply Chain and Storage",
}
REGIONS = {
    "103644278": "United States",
    "101165590": "United Kingdom",
    "103323778": "Mexico",
    "102713980": "India",
}
BANDS = ["C", "D", "E"]


def sample_urls() -> list[str]:
    """Twenty segments an analyst might track: industry × region, some narrowed by headcount."""
    found = []
    for i, (industry, industry_label) in enumerate(INDUSTRIES.items()):
        for j, (region, region_label) in enumerate(REGIONS.items()):
            filters = [
                urls.Filter("INDUSTRY", (urls.FilterValue(industry, industry_label),)),
                urls.Filter("REGION", (urls.FilterValue(region, region_label),)),
            ]
            if (i + j) % 2:
                band = BANDS[(i + j) % len(BANDS)]
                filters.append(
                    urls.Filter(
                        "COMPANY_HEADCOUNT", (urls.FilterValue(band, urls.HEADCOUNT[band]),)
                    )
                )
            found.append(urls.build_url(filters))
    return found


def state(db: sqlite_utils.Database) -> str | None:
    return store.get_meta(db, "demo_history")


def fill(
    db: sqlite_utils.Database,
    settings: Settings,
    sim: Any,
    *,
    weeks: int = WEEKS,
    timeout: float = 60,
) -> int:
    """Measure the samples once a week for `weeks` weeks back to today; returns runs made.

    `sim` is the in-process simulator, whose clock is moved to each past date in turn.
    """
    if state(db) is not None:
        return 0
    store.set_meta(db, "demo_history", "filling")
    report = store.save_searches(db, sample_urls(), tags="demo", origin="demo")
    pace, share = sim.config.pace, sim.config.faults.fail_share
    sim.config.pace, sim.config.faults.fail_share = 0.001, 0.03  # a few failures: gaps to see
    made = 0
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    try:
        with EdgesClient(settings.effective_base_url, settings.effective_api_key) as client:
            for week in range(weeks, -1, -1):
                when = today - timedelta(weeks=week)
                sim.clock.set(when)
                plan = runs.plan_for(settings, report.ids, name=f"Demo history {when:%Y-%m-%d}")
                (run_uid,) = runs.submit(db, client, plan, origin="demo").run_uids
                _wait_for_run(db, run_uid, len(report.ids), timeout)
                store.restamp_run(db, run_uid, when.isoformat().replace("+00:00", "Z"))
                made += 1
    finally:
        sim.clock.set(datetime.now(UTC))
        sim.clock.offset = timedelta()
        sim.config.pace, sim.config.faults.fail_share = pace, share
    store.set_meta(db, "demo_history", "filled")
    return made


def _wait_for_run(db: sqlite_utils.Database, run_uid: str, inputs: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = db.conn.execute(
            "SELECT (SELECT COUNT(*) FROM observations WHERE run_uid = ?) + "
            "(SELECT COUNT(*) FROM input_errors WHERE run_uid = ?)",
            [run_uid, run_uid],
        ).fetchone()
        if row[0] >= inputs:
            return
        time.sleep(0.05)
    raise TimeoutError(f"demo run {run_uid} did not come home in {timeout:.0f} s")


def remove(db: sqlite_utils.Database) -> int:
    """Remove every demo search, run and measurement; the demo is not filled again."""
    removed = store.remove_demo(db)
    store.set_meta(db, "demo_history", "removed")
    return removed
