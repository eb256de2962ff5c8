"""Submitting runs and reconciling them, against the simulator over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx

from navmetrics import runs, store, sync
from navmetrics.config import load_settings
from navmetrics.edges import EdgesClient
from navmetrics.simulator import Faults, SimulatorConfig
from tests.conftest import SOFTWARE_MEXICO, TOKEN, wait_for
from tests.test_simulator import vendor_errors

URLS = [SOFTWARE_MEXICO.replace("103323778", str(103323778 + i)) for i in range(12)]


def spy_client(base: str, seen: list[dict[str, Any]]) -> EdgesClient:
    """A client whose requests are recorded on their way to the real simulator."""

    def record(request: httpx.Request) -> None:
        if request.method == "POST" and request.content:
            seen.append({"headers": dict(request.headers), "body": json.loads(request.content)})

    client = EdgesClient(base, "demo-key", retries=2, backoff=0.05)
    client._http.event_hooks["request"] = [record]
    return client


def observations_and_errors(db: Any) -> tuple[int, int]:
    obs = db.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    errs = db.execute("SELECT COUNT(*) FROM input_errors").fetchone()[0]
    return obs, errs


def submit_with_a_lost_answer(make_stack, name: str, *, listed_late: bool, receiver: bool = True):
    """Two searches sent to a simulator that answers 500 after creating the run; with
    `listed_late`, Edges does not list the run yet when the client looks it up."""
    stack = make_stack(
        SimulatorConfig(pace=0.001, faults=Faults(error_after_create=1)), receiver=receiver
    )
    db = store.open_db(stack.db_path)
    plan = runs.plan_for(load_settings(), store.save_searches(db, URLS[:2]).ids, name=name)
    with EdgesClient(stack.simulator_url, "k", retries=2, backoff=0.05) as client:
        if listed_late:
            client.list_runs = lambda **_: []  # type: ignore[method-assign]
        result = runs.submit(db, client, plan)
    return stack, db, result


def test_every_body_sent_validates_against_the_vendor_schema(make_stack):
    stack = make_stack()
    db = store.open_db(stack.db_path)
    ids = store.save_searches(db, URLS[:3]).ids
    seen: list[dict[str, Any]] = []
    plan = runs.plan_for(load_settings(), ids, name="schema check", identity_mode="managed")
    with spy_client(stack.simulator_url, seen) as client:
        result = runs.submit(db, client, plan)
    assert len(result.run_uids) == 1 and len(seen) == 1
    sent = seen[0]
    assert vendor_errors("request", sent["body"]) == []
    assert sent["headers"]["x-api-key"] == "demo-key"
    assert sent["body"]["callback"]["url"] == f"{stack.receiver_url}/callbacks"
    assert sent["body"]["callback"]["headers"] == {"Authorization": f"Bearer {TOKEN}"}
    assert [i["custom_data"]["search_id"] for i in sent["body"]["inputs"]] == ids
    wait_for(lambda: observations_and_errors(db) == (3, 0), message="3 results")


def test_a_500_after_the_run_was_created_does_not_make_a_second_run(make_stack):
    stack, db, result = submit_with_a_lost_answer(make_stack, "lost answer", listed_late=False)
    assert len(stack.sim.runs) == 1
    assert result.run_uids == list(stack.sim.runs)
    wait_for(lambda: observations_and_errors(db) == (2, 0), message="2 results")


def test_fault_drill_every_input_ends_with_exactly_one_result_or_error(make_stack):
    faults = Faults(
        fail_share=0.2, duplicate_share=0.5, fail_first_deliveries=2, shuffle=True, lose_share=0.1
    )
    stack = make_stack(
        SimulatorConfig(pace=0.001, retry_delays=(0.05, 0.05, 0.05), seed=3, faults=faults)
    )
    db = store.open_db(stack.db_path)
    ids = store.save_searches(db, URLS).ids
    plan = runs.plan_for(load_settings(), ids, name="drill")
    with EdgesClient(stack.simulator_url, "k", retries=2, backoff=0.05) as client:
        (run_uid,) = runs.submit(db, client, plan).run_uids
        wait_for(
            lambda: stack.sim.runs[run_uid].status in ("SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED")
        )
        wait_for(
            lambda: all(c.status in ("SUCCESS", "FAILED") for c in stack.sim.callbacks.values())
        )
        assert any(c.lost for c in stack.sim.callbacks.values()), "the drill must lose one"
        report = sync.sync(db, client)
        assert report.callbacks_replayed >= 1
    wait_for(lambda: sum(observations_and_errors(db)) == len(URLS), message="every input home")
    per_input = db.execute(
        "SELECT search_id, COUNT(*) FROM (SELECT search_id FROM observations UNION ALL "
        "SELECT search_id FROM input_errors) GROUP BY search_id"
    ).fetchall()
    assert sorted(per_input) == [(i, 1) for i in ids]
    expected_failures = sum(1 for i in stack.sim.runs[run_uid].inputs if i.error)
    assert observations_and_errors(db) == (len(URLS) - expected_failures, expected_failures)


def test_poll_mode_every_result_arrives_through_sync(make_stack, monkeypatch):
    stack = make_stack(receiver=False)
    db = store.open_db(stack.db_path)
    ids = store.save_searches(db, URLS[:5]).ids
    monkeypatch.setenv("EDGES_API_KEY", "live-key")  # live mode, no public URL: poll mode
    monkeypatch.setenv("EDGES_BASE_URL", stack.simulator_url)
    settings = load_settings()
    assert settings.mode == "poll"
    plan = runs.plan_for(settings, ids, name="poll")
    assert plan.callback_url is None and "poll mode" in plan.describe()
    with EdgesClient(stack.simulator_url, "k", retries=2, backoff=0.05) as client:
        (run_uid,) = runs.submit(db, client, plan).run_uids
        assert stack.sim.runs[run_uid].callback is None
        wait_for(lambda: stack.sim.runs[run_uid].status == "SUCCEEDED")
        first = sync.sync(db, client)
        again = sync.sync(db, client)
    assert first.results_pulled == 5 and again.runs_checked == 0
    assert observations_and_errors(db) == (5, 0)
    sources = {r[0] for r in db.execute("SELECT source FROM observations").fetchall()}
    assert sources == {"outputs"}


def test_a_result_that_comes_both_ways_counts_once(make_stack):
    stack = make_stack()
    db = store.open_db(stack.db_path)
    ids = store.save_searches(db, URLS[:4]).ids
    plan = runs.plan_for(load_settings(), ids, name="both ways")
    with EdgesClient(stack.simulator_url, "k", retries=2, backoff=0.05) as client:
        (run_uid,) = runs.submit(db, client, plan).run_uids
        wait_for(lambda: observations_and_errors(db) == (4, 0))
        db.execute("UPDATE runs SET status = 'RUNNING' WHERE run_uid = ?", [run_uid])
        db.conn.commit()
        report = sync.sync(db, client, [run_uid])
    assert report.results_pulled == 0
    assert observations_and_errors(db) == (4, 0)


def test_more_than_the_per_run_limit_becomes_several_runs(db, monkeypatch):
    monkeypatch.setattr(runs, "MAX_INPUTS_PER_RUN", 2)
    ids = store.save_searches(db, URLS[:5]).ids
    plan = runs.plan_for(load_settings(), ids, name="big")
    made = runs.bodies(plan, store.searches_by_ids(db, ids), "nm-k")
    assert [len(b["inputs"]) for b in made] == [2, 2, 1]
    assert [b["name"] for b in made] == ["big (1/3) · nm-k", "big (2/3) · nm-k", "big (3/3) · nm-k"]
    assert plan.run_count == 3
    assert all(vendor_errors("request", b) == [] for b in made)


def test_poll_mode_pulls_in_the_background_of_the_dashboard(make_stack, monkeypatch):
    from navmetrics import services

    stack = make_stack(receiver=False)
    monkeypatch.setenv("EDGES_API_KEY", "live-key")
    monkeypatch.setenv("EDGES_BASE_URL", stack.simulator_url)
    db = store.open_db(stack.db_path)
    ids = store.save_searches(db, URLS[:3]).ids
    with EdgesClient(stack.simulator_url, "k") as client:
        (run_uid,) = runs.submit(db, client, runs.plan_for(load_settings(), ids, name="p")).run_uids
    wait_for(lambda: stack.sim.runs[run_uid].status == "SUCCEEDED")
    assert "3 result(s)" in services.sync_once()
    assert services.sync_once() == "nothing to sync"
    assert observations_and_errors(db) == (3, 0)


def test_a_cancelled_run_is_not_pulled_again_and_again(make_stack):
    stack = make_stack(SimulatorConfig(pace=0.05, control=True))
    db = store.open_db(stack.db_path)
    ids = store.save_searches(db, URLS).ids
    with EdgesClient(stack.simulator_url, "k") as client:
        (run_uid,) = runs.submit(db, client, runs.plan_for(load_settings(), ids, name="c")).run_uids
        runs.cancel(db, client, run_uid)
        wait_for(lambda: stack.sim.runs[run_uid].status == "STOPPED")
        sync.sync(db, client)
    assert sum(observations_and_errors(db)) < len(URLS)
    assert sync.runs_needing_sync(db) == []


def test_poll_mode_finds_and_pulls_the_runs_a_schedule_starts(make_stack, monkeypatch):
    """No callback announces a scheduled run in poll mode: sync has to find it at Edges."""
    from datetime import timedelta

    from navmetrics import services

    stack = make_stack(receiver=False)
    monkeypatch.setenv("EDGES_API_KEY", "live-key")
    monkeypatch.setenv("EDGES_BASE_URL", stack.simulator_url)
    settings = load_settings()
    assert settings.mode == "poll"
    db = store.open_db(stack.db_path)
    ids = store.save_searches(db, URLS[:3]).ids
    with EdgesClient(stack.simulator_url, "k") as client:
        plan = runs.plan_for(settings, ids, name="weekly")
        schedule_uid = runs.schedule(db, client, plan, cron="0 9 * * 1", timezone="UTC")
        stack.sim.clock.offset += timedelta(days=15)
        wait_for(lambda: len(stack.sim.schedules[schedule_uid].run_uids) >= 2)
        fired = list(stack.sim.schedules[schedule_uid].run_uids)
        # A run of our own, newer than the scheduled ones, heads the list Edges gives back.
        (own,) = runs.submit(db, client, runs.plan_for(settings, ids[:1], name="own")).run_uids
        wait_for(lambda: all(stack.sim.runs[u].status == "SUCCEEDED" for u in [*fired, own]))
    summary = services.sync_once()
    assert "2 scheduled run(s) found" in summary and "7 result(s)" in summary
    found = db.execute(
        "SELECT run_uid FROM runs WHERE scheduled_run_uid = ? ORDER BY created_at", [schedule_uid]
    ).fetchall()
    assert [r[0] for r in found] == fired
    per_run = dict(
        db.execute("SELECT run_uid, COUNT(*) FROM observations GROUP BY run_uid").fetchall()
    )
    assert per_run == {**dict.fromkeys(fired, 3), own: 1}
    assert services.sync_once() == "nothing to sync"


def test_a_search_for_scheduled_runs_cut_short_is_done_again_next_time(make_stack):
    from datetime import timedelta

    from navmetrics.edges import EdgesError

    stack = make_stack(receiver=False)
    db = store.open_db(stack.db_path)
    ids = store.save_searches(db, URLS[:2]).ids
    with EdgesClient(stack.simulator_url, "k") as client:
        plan = runs.plan_for(load_settings(), ids, name="weekly")
        schedule_uid = runs.schedule(db, client, plan, cron="0 9 * * 1", timezone="UTC")
        stack.sim.clock.offset += timedelta(days=8)
        wait_for(lambda: len(stack.sim.schedules[schedule_uid].run_uids) >= 1)
        listing = client.list_runs

        def unreachable(**_: object) -> list[dict[str, object]]:
            raise EdgesError(503, "Service unavailable.")

        client.list_runs = unreachable  # type: ignore[method-assign]
        cut_short = sync.sync(db, client)
        assert store.get_meta(db, sync.SEEN_UNTIL) is None, "nothing counted as seen"
        client.list_runs = listing  # type: ignore[method-assign]
        again = sync.sync(db, client)
    assert "looking for scheduled runs: 503" in cut_short.summary()
    assert cut_short.runs_found == 0
    assert again.runs_found == len(stack.sim.schedules[schedule_uid].run_uids)


def test_a_lost_submission_edges_lists_late_is_found_at_the_next_sync(make_stack):
    """The answer to a submission was lost and Edges did not list the run yet: a later pass finds
    it, so the run is followed and its results counted, and nobody is told to send it again."""
    stack, db, result = submit_with_a_lost_answer(
        make_stack, "late listing", listed_late=True, receiver=False
    )
    assert result.run_uids == [] and len(result.unknown) == 1
    (real,) = stack.sim.runs
    wait_for(lambda: stack.sim.runs[real].status == "SUCCEEDED")
    with EdgesClient(stack.simulator_url, "k", retries=2, backoff=0.05) as client:
        report = sync.sync(db, client)
    assert "1 lost submission(s) found" in report.summary()
    assert [r[0] for r in db.execute("SELECT run_uid FROM runs").fetchall()] == [real]
    assert observations_and_errors(db) == (2, 0)
    inputs = db.execute("SELECT run_uid, COUNT(*) FROM run_inputs GROUP BY run_uid").fetchall()
    assert inputs == [(real, 2)]


def test_a_lost_submission_whose_callbacks_came_first_becomes_one_run(make_stack):
    from navmetrics import services

    stack, db, _ = submit_with_a_lost_answer(make_stack, "late listing", listed_late=True)
    (real,) = stack.sim.runs
    wait_for(lambda: observations_and_errors(db) == (2, 0), message="2 results by callback")
    # With callbacks, the dashboard's background pass looks only for lost submissions.
    assert services.sync_once().startswith("1 lost submission(s) found, 0 run(s) checked")
    assert services.sync_once() == "nothing to sync"
    table = store.runs_frame(db)
    assert list(table["run_uid"]) == [real]
    assert table["name"].iloc[0].startswith("late listing") and table["inputs_count"].iloc[0] == 2
