"""The Edges client's errors: typed, carrying what happened and what to do."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from navmetrics import runs, store
from navmetrics.config import load_settings
from navmetrics.edges import EdgesClient, EdgesError, EdgesNetworkError, SubmissionUnknown
from navmetrics.simulator import Faults, SimulatorConfig, create_simulator_app
from tests.conftest import SOFTWARE_MEXICO, ServerThread, free_port

BODY = {
    "identity_mode": "auto",
    "inputs": [{"sales_navigator_company_search_url": SOFTWARE_MEXICO}],
}


@pytest.fixture
def simulator():
    servers = []

    def make(**faults):
        app = create_simulator_app(
            SimulatorConfig(pace=0.001, faults=Faults(**faults)), api_key="right"
        )
        server = ServerThread(app).__enter__()
        servers.append(server)
        return app.state.sim, f"{server.url}/v1"

    yield make
    for server in servers:
        server.__exit__(None, None, None)


def test_a_wrong_key_is_a_401_that_says_where_the_key_comes_from(simulator):
    _, base = simulator()
    with EdgesClient(base, "wrong", retries=0) as client, pytest.raises(EdgesError) as caught:
        client.run_async(BODY)
    assert caught.value.status_code == 401
    assert "EDGES_API_KEY" in caught.value.hint


def test_a_refused_body_names_the_field_to_fix(simulator):
    _, base = simulator()
    with EdgesClient(base, "right", retries=0) as client, pytest.raises(EdgesError) as caught:
        client.run_async(BODY | {"identity_mode": "robot"})
    assert caught.value.status_code == 400 and "identity_mode" in str(caught.value)


def test_a_429_is_retried_after_the_delay_it_names(simulator):
    sim, base = simulator(rate_limit_submissions=1)
    with EdgesClient(base, "right", retries=2, backoff=0.01) as client:
        answer = client.run_async(BODY)
    assert answer["run_uid"] in sim.runs and sim.submissions == 2


def test_a_429_that_persists_says_when_to_retry(simulator):
    _, base = simulator(rate_limit_submissions=5)
    with (
        EdgesClient(base, "right", retries=1, backoff=0.01) as client,
        pytest.raises(EdgesError) as caught,
    ):
        client.run_async(BODY)
    assert caught.value.status_code == 429 and "retry in 1 s" in caught.value.hint


def test_hints_for_access_and_dependency_errors():
    assert "subscription" in EdgesError(402, "NO_ACCESS").hint
    assert "identity" in EdgesError(424, "LinkedIn failed").hint


def test_an_unreachable_edges_is_a_network_error_and_nothing_was_submitted():
    client = EdgesClient(f"http://127.0.0.1:{free_port()}/v1", "k", retries=1, backoff=0.01)
    with client, pytest.raises(EdgesNetworkError, match="Nothing was submitted"):
        client.run_async(BODY)


def test_a_submission_whose_answer_times_out_is_looked_up_not_resent(simulator, db):
    sim, base = simulator(slow_answers=0.5)
    ids = store.save_searches(db, [SOFTWARE_MEXICO]).ids
    plan = runs.plan_for(load_settings(), ids, name="slow answer")
    with (
        EdgesClient(base, "right", timeout=0.25, retries=0) as client,
        pytest.raises(SubmissionUnknown),
    ):
        client.run_async(runs.bodies(plan, store.searches_by_ids(db, ids), "nm-x")[0])
    sim.config.faults.slow_answers = 0.0
    deadline = time.monotonic() + 5  # the server finishes what it was answering slowly
    while not sim.runs and time.monotonic() < deadline:
        time.sleep(0.02)
    with EdgesClient(base, "right", timeout=5) as client:
        assert runs.find_run_by_name(client, "slow answer · nm-x") is not None
    assert len(sim.runs) == 1


def test_outputs_follow_every_page(simulator):
    sim, base = simulator()
    body = BODY | {"inputs": [{"sales_navigator_company_search_url": SOFTWARE_MEXICO}] * 7}
    with EdgesClient(base, "right") as client:
        uid = client.run_async(body)["run_uid"]
        deadline = time.monotonic() + 10
        while client.get_run(uid)["status"] != "SUCCEEDED" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(list(client.outputs(uid, limit=2))) == 7


def test_cli_submit_with_a_schedule_prints_the_schedule_uid(make_stack, tmp_path):
    stack = make_stack()
    listing = tmp_path / "urls.txt"
    listing.write_text(SOFTWARE_MEXICO)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "navmetrics.cli",
            "submit",
            str(listing),
            "--schedule",
            "0 9 * * 1",
            "--timezone",
            "Europe/Paris",
        ],
        capture_output=True,
        text=True,
        env=os.environ | stack.env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (schedule,) = stack.sim.schedules.values()
    assert result.stdout.strip() == schedule.uid and schedule.timezone == "Europe/Paris"
    assert (
        httpx.get(f"{stack.simulator_url}/schedules", headers={"X-API-Key": "k"}).json()[0]["cron"]
        == "0 9 * * 1"
    )
