"""Reconciliation: compare each run with what Edges says it produced, and fill the gaps.

Used in poll mode (no public URL: results come only this way) and after callback trouble. Outputs
pulled here go through the same keyed writes as callbacks, so a result that comes both ways counts
once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from navmetrics import store
from navmetrics.edges import EdgesClient, EdgesError

# How far before the last pass's newest run the next pass looks again: a run Edges lists late
# (created just before, listed just after a pass) is still found.
DISCOVERY_OVERLAP = timedelta(hours=1)
SEEN_UNTIL = "schedule_runs_seen_until"


@dataclass
class SyncReport:
    runs_checked: int = 0
    results_pulled: int = 0
    errors_pulled: int = 0
    callbacks_replayed: int = 0
    runs_found: int = 0
    submissions_found: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing found, checked or wrong: a pass not worth a line in the log."""
        return not (self.runs_found or self.submissions_found or self.runs_checked or self.problems)

    def summary(self) -> str:
        found = f"{self.runs_found} scheduled run(s) found, " if self.runs_found else ""
        if self.submissions_found:
            found += f"{self.submissions_found} lost submission(s) found, "
        text = found + (
            f"{self.runs_checked} run(s) checked, {self.results_pulled} result(s) and "
            f"{self.errors_pulled} error(s) pulled, {self.callbacks_replayed} callback(s) replayed"
        )
        return text + (f"; problems: {'; '.join(self.problems)}" if self.problems else "")


def runs_needing_sync(db: sqlite_utils.Database) -> list[str]:
    """Runs not finished, or finished with fewer results and errors than inputs.

    A stopped (cancelled) or invalid run never completes its inputs: once final, it is done.
    """
    rows = db.execute(
        f"""
        SELECT r.run_uid FROM runs r
        WHERE r.run_uid NOT LIKE 'unknown:%' AND (
            r.status NOT IN ({store.FINAL_STATUSES_SQL})
            OR r.status NOT IN ('STOPPED', 'INVALID')
            AND r.inputs_count > (SELECT COUNT(*) FROM observations o WHERE o.run_uid = r.run_uid)
                              + (SELECT COUNT(*) FROM input_errors e WHERE e.run_uid = r.run_uid))
        ORDER BY r.created_at
        """
    ).fetchall()
    return [r[0] for r in rows]


def active_schedules(db: sqlite_utils.Database) -> dict[str, tuple[str, list[int], str]]:
    """Schedules made here that may still start runs: name, search ids, created_at by uid."""
    rows = db.execute(
        "SELECT schedule_uid, name, search_ids, created_at FROM schedules "
        "WHERE status IN ('ACTIVE', 'PAUSED')"
    ).fetchall()
    return {uid: (name, json.loads(ids), created) for uid, name, ids, created in rows}


def find_schedule_runs(db: sqlite_utils.Database, client: EdgesClient, report: SyncReport) -> None:
    """Record the runs that schedules made here started at Edges and nobody told us of.

    With callbacks, the first one announces such a run; in poll mode nothing does. Edges lists runs
    newest first (there is no filter by schedule), so the list is read down to a little before the
    newest run the last pass saw; the runs found are recorded only once the whole list is read, so
    a pass cut short by a network fault is simply done again.
    """
    schedules = active_schedules(db)
    if not schedules:
        return
    seen_until = store.get_meta(db, SEEN_UNTIL) or min(c for _, _, c in schedules.values())
    newest = _when(seen_until) or datetime.now(UTC)
    floor = newest - DISCOVERY_OVERLAP
    found: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = client.list_runs(limit=100, offset=offset)
        for run in page:
            uid = str(run.get("uid") or run.get("run_uid") or "")
            if run.get("scheduled_run_uid") in schedules and uid and not _known(db, uid):
                found.append(run)
        dated = [w for w in (_when(run.get("created_at")) for run in page) if w is not None]
        newest = max([newest, *dated])
        if len(page) < 100 or (dated and min(dated) < floor):
            break
        offset += 100
    for run in reversed(found):
        name, search_ids, _ = schedules[str(run["scheduled_run_uid"])]
        store.record_run(
            db,
            str(run.get("uid") or run.get("run_uid")),
            name=name,
            search_ids=search_ids,
            callback_on=None,
            status=str(run.get("status") or "QUEUED").upper(),
            created_at=str(run.get("created_at") or store.now_utc()),
            origin="schedule",
            scheduled_run_uid=str(run["scheduled_run_uid"]),
        )
    store.set_meta(db, SEEN_UNTIL, store.utc_stamp(newest))
    report.runs_found += len(found)


def lost_submissions(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """Submissions whose answer was lost and whose run Edges did not list then: placeholder, name."""
    rows = db.execute(
        "SELECT run_uid, name FROM runs WHERE run_uid LIKE 'unknown:%' ORDER BY created_at"
    ).fetchall()
    return [(str(uid), str(name)) for uid, name in rows]


def find_lost_submissions(
    db: sqlite_utils.Database, client: EdgesClient, report: SyncReport
) -> None:
    """Look again, by the name each run was sent with (unique: it holds the submission key), for
    runs Edges listed late; a run found takes the place of its placeholder."""
    lost = lost_submissions(db)
    if not lost:
        return
    listed = {str(run.get("name")): run for run in client.list_runs()}
    for placeholder, name in lost:
        run = listed.get(name) or {}
        uid = str(run.get("uid") or run.get("run_uid") or "")
        if uid:
            store.adopt_run(db, placeholder, uid, str(run.get("status") or "QUEUED").upper())
            report.submissions_found += 1


def _when(stamp: Any) -> datetime | None:
    """An Edges timestamp ('2026-12-03T09:00:00.000Z'), or None when there is none to read."""
    try:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _known(db: sqlite_utils.Database, run_uid: str) -> bool:
    return db.execute("SELECT 1 FROM runs WHERE run_uid = ?", [run_uid]).fetchone() is not None


def sync_run(
    db: sqlite_utils.Database, client: EdgesClient, run_uid: str, report: SyncReport
) -> None:
    remote = client.get_run(run_uid)
    report.runs_checked += 1
    now = store.now_utc()
    status = str(remote.get("status") or "RUNNING").upper()
    have = db.execute("SELECT COUNT(*) FROM observations WHERE run_uid = ?", [run_uid]).fetchone()[
        0
    ]
    with db.conn:
        db.execute(
            "UPDATE runs SET status = ?, updated_at = ? WHERE run_uid = ?", [status, now, run_uid]
        )
        if int(remote.get("output_count") or 0) > have:
            for item in client.outputs(run_uid):
                try:
                    total = store.total_of([item])
                except store.CallbackRejected as exc:
                    report.problems.append(f"{run_uid}: an output was not understood ({exc})")
                    continue
                report.results_pulled += store.record_result(
                    db,
                    run_uid=run_uid,
                    input_obj=item.get("input"),
                    custom_data=item.get("custom_data"),
                    total=total,
                    error=None,
                    observed_at=item.get("created_at") or now,
                    callback_ref_uid=None,
                    source="outputs",
                )
    if status in store.FINAL_STATUSES:
        with db.conn:
            for item in client.inputs(run_uid):
                error = item.get("last_error")
                if not error or item.get("output_count"):
                    continue
                data = dict(item.get("input_data") or {})
                report.errors_pulled += store.record_result(
                    db,
                    run_uid=run_uid,
                    input_obj=data,
                    custom_data=item.get("custom_data"),
                    total=None,
                    error={
                        "error_label": error.get("label"),
                        "message": error.get("message"),
                        "error_scope": "input",
                    },
                    observed_at=now,
                    callback_ref_uid=None,
                    source="inputs",
                )
        for callback in client.list_callbacks(run_uid, status="FAILED"):
            try:
                client.replay_callback(callback["uid"])
                report.callbacks_replayed += 1
            except EdgesError as exc:
                report.problems.append(f"replay {callback['uid']}: {exc.message}")


def sync(
    db: sqlite_utils.Database, client: EdgesClient, run_uids: list[str] | None = None
) -> SyncReport:
    report = SyncReport()
    if run_uids is None:
        for look, what in (
            (find_lost_submissions, "lost submissions"),
            (find_schedule_runs, "scheduled runs"),
        ):
            try:
                look(db, client, report)
            except EdgesError as exc:
                report.problems.append(f"looking for {what}: {exc}")
    for run_uid in run_uids or runs_needing_sync(db):
        try:
            sync_run(db, client, run_uid, report)
        except EdgesError as exc:
            report.problems.append(f"{run_uid}: {exc}")
    return report
