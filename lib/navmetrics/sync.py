"""Reconciliation: compare each run with what Edges says it produced, and fill the gaps.

Used in poll mode (no public URL: results come only this way) and after callback trouble. Outputs
pulled here go through the same keyed writes as callbacks, so a result that comes both ways counts
once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlite_utils

from navmetrics import store
from navmetrics.edges import EdgesClient, EdgesError


@dataclass
class SyncReport:
    runs_checked: int = 0
    results_pulled: int = 0
    errors_pulled: int = 0
    callbacks_replayed: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
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
    for run_uid in run_uids or runs_needing_sync(db):
        try:
            sync_run(db, client, run_uid, report)
        except EdgesError as exc:
            report.problems.append(f"{run_uid}: {exc}")
    return report
