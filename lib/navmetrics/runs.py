"""From saved searches to runs: preview, body, submission, and recovery when an answer is lost.

Each input carries `custom_data = {"search_id", "submission"}` so a result finds its saved search,
and each run's name ends with its submission key so a submission whose answer was lost can be found
with `GET /runs` instead of being sent twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from navmetrics import store
from navmetrics.config import Settings
from navmetrics.edges import MAX_INPUTS_PER_RUN, EdgesClient, SubmissionUnknown

IDENTITY_COST = {"direct": 1.0, "auto": 1.0, "managed": 1.5}


@dataclass
class Plan:
    """What will be sent, said before anything is."""

    search_ids: list[int]
    name: str
    identity_mode: str = "auto"
    identity_ids: list[str] = field(default_factory=list)
    callback_on: str = "all"
    callback_url: str | None = None
    callback_token: str | None = None

    @property
    def run_count(self) -> int:
        return max(1, -(-len(self.search_ids) // MAX_INPUTS_PER_RUN))

    @property
    def cost_factor(self) -> float:
        return IDENTITY_COST.get(self.identity_mode, 1.0)

    def describe(self) -> str:
        delivery = (
            f"results by callback to {self.callback_url} (on: {self.callback_on})"
            if self.callback_url
            else "no callback (poll mode): results are pulled with sync"
        )
        cost = " Managed identities cost 1.5× credits." if self.identity_mode == "managed" else ""
        return (
            f"{len(self.search_ids)} searches in {self.run_count} run(s) named '{self.name}', "
            f"identity mode {self.identity_mode}; {delivery}.{cost}"
        )


def plan_for(
    settings: Settings,
    search_ids: list[int],
    *,
    name: str,
    identity_mode: str = "auto",
    identity_ids: list[str] | None = None,
    callback_on: str = "all",
) -> Plan:
    if identity_mode == "direct" and not identity_ids:
        raise ValueError("Identity mode 'direct' needs at least one identity id.")
    if not search_ids:
        raise ValueError("Pick at least one saved search to measure.")
    public = settings.effective_public_url
    return Plan(
        search_ids=list(dict.fromkeys(search_ids)),
        name=name.strip() or "NavMetrics run",
        identity_mode=identity_mode,
        identity_ids=list(identity_ids or []),
        callback_on=callback_on,
        callback_url=f"{public}/callbacks" if public else None,
        callback_token=settings.callback_token,
    )


def bodies(plan: Plan, searches: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """The request bodies, exactly as the vendor's schema wants them, 100,000 inputs at most each."""
    out = []
    chunks = [
        searches[i : i + MAX_INPUTS_PER_RUN] for i in range(0, len(searches), MAX_INPUTS_PER_RUN)
    ]
    for index, chunk in enumerate(chunks, start=1):
        suffix = f" ({index}/{len(chunks)})" if len(chunks) > 1 else ""
        body: dict[str, Any] = {
            "name": f"{plan.name}{suffix} · {key}"[-255:],
            "identity_mode": plan.identity_mode,
            "inputs": [
                {
                    "sales_navigator_company_search_url": s["url"],
                    "custom_data": {"search_id": s["id"], "submission": key},
                }
                for s in chunk
            ],
        }
        if plan.identity_ids:
            body["identity_ids"] = plan.identity_ids
        if plan.callback_url:
            body["callback"] = {
                "url": plan.callback_url,
                "headers": {"Authorization": f"Bearer {plan.callback_token}"},
                "on": plan.callback_on,
            }
        out.append(body)
    return out


@dataclass
class SubmitResult:
    run_uids: list[str]
    unknown: list[str]


def submit(
    db: sqlite_utils.Database, client: EdgesClient, plan: Plan, *, origin: str = "submitted"
) -> SubmitResult:
    """Send the plan; record each run. A lost answer is looked up before anything is resent."""
    searches = store.searches_by_ids(db, plan.search_ids)
    key = "nm-" + secrets.token_hex(4)
    result = SubmitResult([], [])
    for body in bodies(plan, searches, key):
        ids = [i["custom_data"]["search_id"] for i in body["inputs"]]
        try:
            answer = client.run_async(body)
        except SubmissionUnknown:
            found = find_run_by_name(client, body["name"])
            if found is None:
                result.unknown.append(body["name"])
                store.record_run(
                    db,
                    f"unknown:{body['name']}",
                    name=body["name"],
                    search_ids=ids,
                    callback_on=plan.callback_on if plan.callback_url else None,
                    status="UNKNOWN",
                )
                continue
            answer = {"run_uid": found["uid"], "created_at": found.get("created_at")}
        store.record_run(
            db,
            answer["run_uid"],
            name=body["name"],
            search_ids=ids,
            callback_on=plan.callback_on if plan.callback_url else None,
            origin=origin,
        )
        result.run_uids.append(answer["run_uid"])
    return result


def find_run_by_name(client: EdgesClient, name: str) -> dict[str, Any] | None:
    for run in client.list_runs():
        if run.get("name") == name:
            return run
    return None


CRON_PRESETS = {
    "daily (09:00)": "0 9 * * *",
    "weekly (Monday 09:00)": "0 9 * * 1",
    "monthly (1st, 09:00)": "0 9 1 * *",
}


def schedule(
    db: sqlite_utils.Database, client: EdgesClient, plan: Plan, *, cron: str, timezone: str
) -> str:
    """Send the plan to /run/schedule for recurring measurement; returns the schedule uid."""
    if len(cron.split()) != 5:
        raise ValueError(f"'{cron}' is not a 5-field cron expression (e.g. '0 9 * * 1').")
    searches = store.searches_by_ids(db, plan.search_ids)
    if len(searches) > MAX_INPUTS_PER_RUN:
        raise ValueError(f"A schedule holds at most {MAX_INPUTS_PER_RUN:,} searches.")
    body = bodies(plan, searches, "nm-" + secrets.token_hex(4))[0]
    body.update(cron=cron, timezone=timezone)
    answer = client.run_schedule(body)
    store.record_schedule(db, answer, name=body["name"], search_ids=plan.search_ids)
    return str(answer["schedule_uid"])


def cancel(db: sqlite_utils.Database, client: EdgesClient, run_uid: str) -> None:
    """Cancel a run at Edges; no further callbacks come after it."""
    answer = client.cancel_run(run_uid)
    status = str(answer.get("status") or "").upper()
    store.set_run_status(db, run_uid, status if status in store.FINAL_STATUSES else "STOPPED")
