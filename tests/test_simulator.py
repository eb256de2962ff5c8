"""The simulator against the vendor's own schema (the oracle) and its fault knobs."""

from __future__ import annotations

import copy
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from navmetrics import contract
from navmetrics.simulator import Faults, SimulatorConfig, create_simulator_app, market_size
from tests.conftest import SHARED, SOFTWARE_MEXICO, ServerThread, wait_for

VENDOR = SHARED / "edges" / "openapi-async.yaml"
ASYNC = "/v1/actions/salesnavigator-search-company-metrics/run/async"
KEY = {"X-API-Key": "k"}


def vendor_schema(kind: str) -> dict[str, Any]:
    """Schemas read from the vendor file itself, translated for jsonschema."""
    spec = yaml.safe_load(VENDOR.read_text())
    post = spec["paths"]["/actions/salesnavigator-search-company-metrics/run/async"]["post"]
    if kind == "request":
        raw = post["requestBody"]["content"]["application/json"]["schema"]
    else:
        (expr,) = post["callbacks"]["onSave"].values()
        raw = expr["post"]["requestBody"]["content"]["application/json"]["schema"]
    return contract._translate(raw, spec)


def vendor_errors(kind: str, body: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(
        vendor_schema(kind), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return [e.message for e in validator.iter_errors(body)]


class Recorder:
    """A callback endpoint that records every delivery and can refuse the first ones."""

    def __init__(self, refuse_first: int = 0) -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.refuse_first = refuse_first

    def app(self) -> Starlette:
        async def receive(request: Request) -> JSONResponse:
            body = await request.json()
            self.deliveries.append({"headers": dict(request.headers), "body": body})
            if len(self.deliveries) <= self.refuse_first:
                return JSONResponse({}, status_code=503)
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/callbacks", receive, methods=["POST"])])


def valid_body(url: str, n: int = 3, callback: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "test",
        "identity_mode": "auto",
        "inputs": [
            {
                "sales_navigator_company_search_url": url.replace("103323778", str(103323778 + i)),
                "custom_data": {"search_id": i},
            }
            for i in range(n)
        ],
    }
    if callback:
        body["callback"] = {"url": callback, "headers": {"Authorization": "Bearer t"}, "on": "all"}
    body.update(extra)
    return body


@pytest.fixture
def recorder_factory():
    servers = []

    def make(refuse_first: int = 0) -> tuple[Recorder, str]:
        rec = Recorder(refuse_first)
        server = ServerThread(rec.app()).__enter__()
        servers.append(server)
        return rec, f"{server.url}/callbacks"

    yield make
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def sim_factory():
    servers = []

    def make(**faults: Any) -> tuple[Any, str]:
        config = SimulatorConfig(
            pace=0.001, retry_delays=(0.05, 0.05, 0.05, 0.05), control=True, faults=Faults(**faults)
        )
        app = create_simulator_app(config)
        server = ServerThread(app).__enter__()
        servers.append(server)
        return app.state.sim, server.url

    yield make
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def shared_base():
    """One well-behaved simulator for the tests that only submit bodies."""
    app = create_simulator_app(SimulatorConfig(pace=0.001, retry_delays=()))
    with ServerThread(app) as server:
        yield server.url


def test_the_package_copy_of_the_schema_is_the_vendors_file():
    assert contract.SCHEMA_FILE.read_bytes() == VENDOR.read_bytes()


def test_the_schemas_own_examples_are_accepted(sim_factory):
    _, base = sim_factory()
    body = {
        "identity_ids": ["44444444-4444-4444-4444-444444444444"],
        "inputs": [{"sales_navigator_company_search_url": SOFTWARE_MEXICO}],
        "callback": {"url": "https://example.com/callback"},
    }
    assert vendor_errors("request", body) == []
    answer = httpx.post(base + ASYNC, json=body, headers=KEY)
    assert answer.status_code == 200
    assert answer.json()["status"] == "pending"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.one_of(st.none(), st.text(max_size=255)),
    mode=st.sampled_from(["auto", "managed", "direct", None]),
    n=st.integers(min_value=1, max_value=5),
    on=st.sampled_from(["all", "final"]),
    host=st.sampled_from(["www.", "fr.", ""]),
    custom=st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=3),
)
def test_generated_valid_bodies_are_accepted(shared_base, name, mode, n, on, host, custom):
    base = shared_base
    url = SOFTWARE_MEXICO.replace("https://www.", f"https://{host}")
    body: dict[str, Any] = {
        "name": name,
        "identity_mode": mode,
        "inputs": [{"sales_navigator_company_search_url": url, "custom_data": custom}] * n,
        "callback": {"url": "http://127.0.0.1:9/callbacks", "on": on},
    }
    if mode in ("direct", None):  # direct is the default, and it needs identities
        body["identity_ids"] = [str(uuid.uuid4())]
    assert vendor_errors("request", body) == []
    assert httpx.post(base + ASYNC, json=body, headers=KEY).status_code == 200


def _break(mutate: Any) -> dict[str, Any]:
    body = valid_body(SOFTWARE_MEXICO, callback="https://example.com/cb")
    mutate(body)
    return body


INVALID = {
    "extra-top-level-key": (lambda b: b.update(color="red"), "color"),
    "no-inputs": (lambda b: b.pop("inputs"), "inputs"),
    "empty-inputs": (lambda b: b.update(inputs=[]), "inputs"),
    "inputs-not-list": (lambda b: b.update(inputs="x"), "inputs"),
    "input-extra-key": (lambda b: b["inputs"][0].update(url="x"), "inputs.0.url"),
    "input-without-url": (
        lambda b: b["inputs"][0].pop("sales_navigator_company_search_url"),
        "inputs.0.sales_navigator_company_search_url",
    ),
    "people-search-url": (
        lambda b: b["inputs"][1].update(
            sales_navigator_company_search_url="https://www.linkedin.com/sales/search/people?q=1"
        ),
        "inputs.1.sales_navigator_company_search_url",
    ),
    "http-url": (
        lambda b: b["inputs"][0].update(
            sales_navigator_company_search_url=SOFTWARE_MEXICO.replace("https", "http")
        ),
        "inputs.0.sales_navigator_company_search_url",
    ),
    "bare-company-path": (
        lambda b: b["inputs"][0].update(
            sales_navigator_company_search_url="https://www.linkedin.com/sales/search/company"
        ),
        "inputs.0.sales_navigator_company_search_url",
    ),
    "custom-data-not-object": (
        lambda b: b["inputs"][0].update(custom_data=[1]),
        "inputs.0.custom_data",
    ),
    "bad-identity-mode": (lambda b: b.update(identity_mode="robot"), "identity_mode"),
    "identity-id-not-uuid": (lambda b: b.update(identity_ids=["nope"]), "identity_ids.0"),
    "direct-without-identities": (lambda b: b.update(identity_mode="direct"), "identity_ids"),
    "name-too-long": (lambda b: b.update(name="x" * 256), "name"),
    "name-not-string": (lambda b: b.update(name=5), "name"),
    "callback-without-url": (lambda b: b["callback"].pop("url"), "callback.url"),
    "callback-url-pattern": (lambda b: b["callback"].update(url="ftp://x"), "callback.url"),
    "callback-on-enum": (lambda b: b["callback"].update(on="some"), "callback.on"),
    "callback-header-not-string": (
        lambda b: b["callback"].update(headers={"A": 1}),
        "callback.headers.A",
    ),
    "too-many-inputs": (
        lambda b: b.update(inputs=[b["inputs"][0]] * 100_001),
        "inputs",
    ),
}


@pytest.mark.parametrize("kind", sorted(INVALID))
def test_each_kind_of_invalid_body_is_refused_with_a_400_naming_the_field(shared_base, kind):
    base = shared_base
    mutate, field = INVALID[kind]
    body = _break(mutate)
    if kind != "direct-without-identities":  # a rule of the vendor's docs, not of its schema
        assert vendor_errors("request", body), "the oracle must refuse it too"
    answer = httpx.post(base + ASYNC, json=body, headers=KEY)
    assert answer.status_code == 400
    error = answer.json()
    assert error["params"]["field"] == field
    assert field.split(".")[-1] in error["message"]
    assert set(error) == {
        "error_label",
        "error_scope",
        "error_ref",
        "message",
        "status_code",
        "params",
        "data",
    }


def test_no_api_key_is_401_with_an_api_error(sim_factory):
    _, base = sim_factory()
    answer = httpx.post(base + ASYNC, json=valid_body(SOFTWARE_MEXICO))
    assert answer.status_code == 401
    assert answer.json()["status_code"] == 401


def run_to_end(base: str, body: dict[str, Any]) -> dict[str, Any]:
    uid = httpx.post(base + ASYNC, json=body, headers=KEY).json()["run_uid"]
    wait_for(
        lambda: (
            httpx.get(f"{base}/v1/runs/{uid}", headers=KEY).json()["status"]
            in ("SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED")
        ),
        message="run end",
    )
    return httpx.get(f"{base}/v1/runs/{uid}", headers=KEY).json()


def test_callback_bodies_validate_against_the_vendors_onsave_schema(sim_factory, recorder_factory):
    _, base = sim_factory(fail_share=0.5)
    rec, url = recorder_factory()
    run = run_to_end(base, valid_body(SOFTWARE_MEXICO, n=8, callback=url))
    wait_for(lambda: len(rec.deliveries) == 9, message="9 callbacks")
    for delivery in rec.deliveries:
        assert vendor_errors("callback", delivery["body"]) == []
        assert delivery["headers"]["authorization"] == "Bearer t"
        uuid.UUID(delivery["headers"]["x-callback-ref"])
        uuid.UUID(delivery["headers"]["x-run-callback"])
    per_input = [d["body"] for d in rec.deliveries if "input" in d["body"]]
    assert all(b["custom_data"] == b["input"]["custom_data"] for b in per_input)
    assert rec.deliveries[-1]["body"]["run"]["status"] == run["status"]
    errors = [b for b in per_input if "error" in b]
    assert errors and all(b["results"] == [] for b in errors)
    assert {b["error"]["error_label"] for b in errors} <= {"LK_ERROR", "NO_RESULT", "LIMIT_REACHED"}


def test_on_final_sends_one_callback_and_outputs_are_paginated(sim_factory, recorder_factory):
    _, base = sim_factory()
    rec, url = recorder_factory()
    body = valid_body(SOFTWARE_MEXICO, n=7, callback=url)
    body["callback"]["on"] = "final"
    run = run_to_end(base, body)
    wait_for(lambda: len(rec.deliveries) == 1, message="final callback")
    time.sleep(0.2)
    assert len(rec.deliveries) == 1
    items, next_url = [], f"{base}/v1/runs/{run['uid']}/outputs?limit=3"
    pages = 0
    while next_url:
        page = httpx.get(next_url, headers=KEY)
        items += page.json()
        next_url = page.headers.get("x-pagination-next")
        pages += 1
    assert pages == 3 and len(items) == 7 == run["output_count"]
    assert (
        httpx.get(f"{base}/v1/runs/{run['uid']}/outputs?limit=501", headers=KEY).status_code == 400
    )


def test_fail_first_n_deliveries_retries_with_the_same_ref_and_new_delivery_ids(
    sim_factory, recorder_factory
):
    _, base = sim_factory(fail_first_deliveries=2)
    rec, url = recorder_factory()
    body = valid_body(SOFTWARE_MEXICO, n=1, callback=url)
    body["callback"]["on"] = "final"
    run_to_end(base, body)
    wait_for(lambda: len(rec.deliveries) == 3, message="3 attempts")
    refs = {d["headers"]["x-callback-ref"] for d in rec.deliveries}
    deliveries = {d["headers"]["x-run-callback"] for d in rec.deliveries}
    assert len(refs) == 1 and len(deliveries) == 3


def test_a_refusing_receiver_gets_retries_until_it_accepts(sim_factory, recorder_factory):
    _, base = sim_factory()
    rec, url = recorder_factory(refuse_first=2)
    body = valid_body(SOFTWARE_MEXICO, n=1, callback=url)
    body["callback"]["on"] = "final"
    run_to_end(base, body)
    wait_for(lambda: len(rec.deliveries) == 3, message="retries")


def test_duplicate_share_delivers_callbacks_twice(sim_factory, recorder_factory):
    _, base = sim_factory(duplicate_share=1.0)
    rec, url = recorder_factory()
    run_to_end(base, valid_body(SOFTWARE_MEXICO, n=3, callback=url))
    wait_for(lambda: len(rec.deliveries) == 8, message="8 deliveries")
    refs = [d["body"]["callback_ref_uid"] for d in rec.deliveries]
    assert len(set(refs)) == 4


def test_shuffle_finishes_inputs_out_of_order(sim_factory, recorder_factory):
    _, base = sim_factory(shuffle=True)
    rec, url = recorder_factory()
    run_to_end(base, valid_body(SOFTWARE_MEXICO, n=20, callback=url))
    wait_for(lambda: len(rec.deliveries) == 21, message="21 callbacks")
    order = [d["body"]["custom_data"]["search_id"] for d in rec.deliveries if "input" in d["body"]]
    assert sorted(order) == list(range(20)) and order != list(range(20))


def test_a_lost_callback_arrives_only_when_replayed_and_at_most_three_times(
    sim_factory, recorder_factory
):
    sim, base = sim_factory(lose_share=1.0)
    rec, url = recorder_factory()
    run = run_to_end(base, valid_body(SOFTWARE_MEXICO, n=2, callback=url))
    time.sleep(0.3)
    assert rec.deliveries == []
    failed = httpx.get(
        f"{base}/v1/runs/callbacks",
        params={"run_uid[]": run["uid"], "status[]": "FAILED"},
        headers=KEY,
    ).json()
    assert len(failed) == 3
    target = failed[0]["uid"]
    for _ in range(3):
        assert (
            httpx.post(
                f"{base}/v1/runs/callbacks/{target}/replay", json={}, headers=KEY
            ).status_code
            == 200
        )
    assert (
        httpx.post(f"{base}/v1/runs/callbacks/{target}/replay", json={}, headers=KEY).status_code
        == 400
    )
    wait_for(lambda: len(rec.deliveries) == 3, message="replays delivered")
    assert {d["body"]["callback_ref_uid"] for d in rec.deliveries} == {
        failed[0]["callback_ref_uid"]
    }


def test_delivery_delay_holds_each_callback(sim_factory, recorder_factory):
    _, base = sim_factory(delivery_delay=1.5)
    rec, url = recorder_factory()
    body = valid_body(SOFTWARE_MEXICO, n=1, callback=url)
    body["callback"]["on"] = "final"
    run_to_end(base, body)
    assert rec.deliveries == []
    wait_for(lambda: len(rec.deliveries) == 1, message="delayed delivery")


def test_slow_answers_slow_every_answer(sim_factory):
    _, base = sim_factory(slow_answers=0.3)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{base}/v1/runs", headers=KEY, timeout=0.1)


def test_rate_limited_submission_is_429_with_retry_after_and_creates_nothing(sim_factory):
    sim, base = sim_factory(rate_limit_submissions=1)
    first = httpx.post(base + ASYNC, json=valid_body(SOFTWARE_MEXICO), headers=KEY)
    assert first.status_code == 429 and first.headers["retry-after"] == "1"
    assert sim.runs == {}
    assert (
        httpx.post(base + ASYNC, json=valid_body(SOFTWARE_MEXICO), headers=KEY).status_code == 200
    )


def test_error_after_create_answers_500_but_the_run_exists(sim_factory):
    sim, base = sim_factory(error_after_create=1)
    answer = httpx.post(
        base + ASYNC, json=valid_body(SOFTWARE_MEXICO, name="lost answer"), headers=KEY
    )
    assert answer.status_code == 500
    listed = httpx.get(f"{base}/v1/runs", headers=KEY).json()
    assert [r["name"] for r in listed] == ["lost answer"]


def test_cancel_stops_a_run_and_its_callbacks(sim_factory, recorder_factory):
    sim, base = sim_factory()
    sim.config.pace = 0.05
    rec, url = recorder_factory()
    uid = httpx.post(
        base + ASYNC, json=valid_body(SOFTWARE_MEXICO, n=50, callback=url), headers=KEY
    ).json()["run_uid"]
    time.sleep(0.2)
    assert httpx.post(f"{base}/v1/runs/{uid}/cancel", headers=KEY).status_code == 200
    wait_for(lambda: httpx.get(f"{base}/v1/runs/{uid}", headers=KEY).json()["status"] == "STOPPED")
    assert httpx.get(f"{base}/v1/runs/{uid}", headers=KEY).json()["output_count"] < 50


def test_schedules_fire_on_the_simulated_clock(sim_factory, recorder_factory):
    sim, base = sim_factory()
    rec, url = recorder_factory()
    body = valid_body(SOFTWARE_MEXICO, n=2, callback=url)
    body.update(cron="0 9 * * 1", timezone="Europe/Paris")
    schedule = httpx.post(base + ASYNC.replace("async", "schedule"), json=body, headers=KEY).json()
    assert schedule["status"] == "ACTIVE"
    fired = httpx.post(f"{base}/_control/clock", json={"advance_days": 14}).json()["started_runs"]
    assert len(fired) == 2
    for uid in fired:
        wait_for(
            lambda uid=uid: (
                httpx.get(f"{base}/v1/runs/{uid}", headers=KEY).json()["status"] == "SUCCEEDED"
            )
        )
        assert (
            httpx.get(f"{base}/v1/runs/{uid}", headers=KEY).json()["scheduled_run_uid"]
            == schedule["schedule_uid"]
        )
    wait_for(lambda: len(rec.deliveries) == 6, message="callbacks of both executions")
    assert all(
        d["body"]["run"].get("scheduled_run_uid") == schedule["schedule_uid"]
        for d in rec.deliveries
    )


def test_market_size_is_deterministic_broader_is_bigger_and_drifts_plausibly():
    from datetime import UTC, datetime, timedelta

    day = datetime(2026, 6, 1, tzinfo=UTC)
    narrow = market_size(SOFTWARE_MEXICO, day)
    broad = market_size(
        SOFTWARE_MEXICO.replace(
            "%2C(type%3ACOMPANY_HEADCOUNT%2Cvalues%3AList((id%3AD%2Ctext%3A51-200%2CselectionType%3AINCLUDED)))",
            "",
        ),
        day,
    )
    assert narrow == market_size(SOFTWARE_MEXICO, day)
    assert broad > narrow > 0
    weeks = [market_size(SOFTWARE_MEXICO, day + timedelta(weeks=w)) for w in range(12)]
    changes = [abs(b - a) / a for a, b in zip(weeks, weeks[1:], strict=False)]
    assert max(changes) < 0.05 and len(set(weeks)) > 1


def test_vendor_schema_copy_helpers_match_generated_bodies():
    body = valid_body(SOFTWARE_MEXICO, callback="https://example.com/x")
    assert contract.errors(contract.async_body_schema(), copy.deepcopy(body)) == []
    assert Path(contract.SCHEMA_FILE).exists()


def test_with_no_flags_the_simulator_is_the_well_behaved_sender(recorder_factory):
    app = create_simulator_app()  # defaults, as `navmetrics simulator` starts it
    rec, url = recorder_factory()
    with ServerThread(app) as server:
        run = run_to_end(server.url, valid_body(SOFTWARE_MEXICO, n=100, callback=url))
        wait_for(lambda: len(rec.deliveries) == 101, message="101 callbacks")
        time.sleep(0.3)
    assert run["status"] == "SUCCEEDED" and run["output_count"] == 100
    refs = [d["body"]["callback_ref_uid"] for d in rec.deliveries]
    assert len(refs) == len(set(refs)) == 101
