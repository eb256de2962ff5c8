"""The Edges API client (httpx): submit runs and schedules, read runs, outputs and callbacks.

Errors are typed: `EdgesError` carries the APIError fields and a hint that says what to do.
Reads are retried with backoff on network faults, 429 and 5xx. Submissions are never retried
blindly: when an answer is lost (timeout, 5xx after sending), `SubmissionUnknown` is raised and the
caller must look the run up before sending again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

ACTION = "salesnavigator-search-company-metrics"
MAX_INPUTS_PER_RUN = 100_000

HINTS = {
    400: "The request was refused as written; fix the field named in the message.",
    401: "The API key is missing or wrong: check EDGES_API_KEY or the Settings page.",
    402: "Your Edges plan has no access to this action (NO_ACCESS): check your subscription.",
    404: "Edges does not know this run or callback.",
    424: "LinkedIn or the identity failed: check the identity's LinkedIn session, or try "
    "identity mode 'auto' or 'managed'.",
    429: "Rate limit reached: wait and retry.",
    500: "Edges had an internal error: retry later.",
}


@dataclass
class EdgesError(Exception):
    """An answer from Edges that is not a success, with what it said and what to do."""

    status_code: int
    message: str
    label: str | None = None
    scope: str | None = None
    ref: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    retry_after: float | None = None

    def __str__(self) -> str:
        label = f"{self.label}: " if self.label else ""
        return f"{self.status_code} {label}{self.message} {self.hint}"

    @property
    def hint(self) -> str:
        if self.status_code == 429 and self.retry_after is not None:
            return f"Rate limit reached: retry in {self.retry_after:g} s."
        if self.status_code == 400 and self.params.get("field"):
            return f"Fix the field '{self.params['field']}'."
        return HINTS.get(self.status_code, HINTS[500] if self.status_code >= 500 else "")


class EdgesNetworkError(Exception):
    """Edges could not be reached; nothing is known to have happened."""


class SubmissionUnknown(Exception):
    """A submission was sent but its answer was lost: the run may exist. Look it up first."""

    def __init__(self, name: str | None, cause: str) -> None:
        super().__init__(
            f"The submission '{name}' was sent but its answer was lost ({cause}). It may have "
            "created a run: NavMetrics looks it up before anything is sent again."
        )
        self.name = name
        self.cause = cause


def _error_from(response: httpx.Response) -> EdgesError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    retry = response.headers.get("retry-after")
    try:
        retry_after = float(retry) if retry else None
    except ValueError:
        retry_after = None
    params = body.get("params") if isinstance(body.get("params"), dict) else {}
    return EdgesError(
        status_code=response.status_code,
        message=str(body.get("message") or response.reason_phrase or "error"),
        label=body.get("error_label"),
        scope=body.get("error_scope"),
        ref=body.get("error_ref"),
        params=params or {},
        retry_after=retry_after,
    )


class EdgesClient:
    """A small explicit surface over the Edges API; one instance per base URL and key."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"X-API-Key": api_key, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EdgesClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    def _read(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A request that is safe to repeat: retried on network faults, 429 and 5xx."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.HTTPError as exc:
                if last:
                    raise EdgesNetworkError(
                        f"Cannot reach Edges at {self.base_url} ({type(exc).__name__}); "
                        "check the network and EDGES_BASE_URL."
                    ) from exc
                time.sleep(delay)
                delay *= 2
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if last:
                    raise _error_from(response)
                wait = _error_from(response).retry_after or delay
                time.sleep(min(wait, 30))
                delay *= 2
                continue
            if response.status_code >= 400:
                raise _error_from(response)
            return response
        raise AssertionError("unreachable")

    def _submit(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST once. A lost answer raises SubmissionUnknown; a 429 before creation is safe to retry."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                response = self._http.post(path, json=body)
            except httpx.ConnectError as exc:  # nothing was sent
                if attempt == self.retries:
                    raise EdgesNetworkError(
                        f"Cannot reach Edges at {self.base_url}: {exc}. Nothing was submitted."
                    ) from exc
                time.sleep(delay)
                delay *= 2
                continue
            except httpx.HTTPError as exc:
                raise SubmissionUnknown(body.get("name"), type(exc).__name__) from exc
            if response.status_code == 429:
                error = _error_from(response)
                if attempt == self.retries:
                    raise error
                time.sleep(min(error.retry_after or delay, 30))
                delay *= 2
                continue
            if response.status_code >= 500:
                raise SubmissionUnknown(body.get("name"), f"HTTP {response.status_code}")
            if response.status_code >= 400:
                raise _error_from(response)
            return dict(response.json())
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ the action

    def run_async(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._submit(f"/actions/{ACTION}/run/async", body)

    def run_schedule(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._submit(f"/actions/{ACTION}/run/schedule", body)

    def run_live(self, url: str, **identity: Any) -> int:
        body = {"input": {"sales_navigator_company_search_url": url}, **identity}
        return int(
            self._read("POST", f"/actions/{ACTION}/run/live", json=body).json()["total_results"]
        )

    # ------------------------------------------------------------ runs

    def get_run(self, run_uid: str) -> dict[str, Any]:
        return dict(self._read("GET", f"/runs/{run_uid}").json())

    def list_runs(self, **filters: Any) -> list[dict[str, Any]]:
        params = {"action_name": ACTION, "sort": "-created_at", "limit": 100, **filters}
        return list(self._read("GET", "/runs", params=params).json())

    def cancel_run(self, run_uid: str) -> dict[str, Any]:
        return dict(self._read("POST", f"/runs/{run_uid}/cancel").json())

    def _pages(self, path: str, limit: int) -> Iterator[dict[str, Any]]:
        url: str | None = path
        params: dict[str, Any] | None = {"limit": limit}
        while url:
            response = self._read("GET", url, params=params)
            yield from response.json()
            url = response.headers.get("x-pagination-next")
            params = None

    def outputs(self, run_uid: str, *, limit: int = 500) -> Iterator[dict[str, Any]]:
        """Every output item of a run, following `X-Pagination-Next` to the last page."""
        return self._pages(f"/runs/{run_uid}/outputs", limit)

    def inputs(self, run_uid: str, *, limit: int = 500) -> Iterator[dict[str, Any]]:
        return self._pages(f"/runs/{run_uid}/inputs", limit)

    # ------------------------------------------------------------ callbacks

    def list_callbacks(self, run_uid: str, status: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"run_uid[]": run_uid}
        if status:
            params["status[]"] = status
        return list(self._read("GET", "/runs/callbacks", params=params).json())

    def replay_callback(self, callback_uid: str) -> dict[str, Any]:
        return dict(self._read("POST", f"/runs/callbacks/{callback_uid}/replay", json={}).json())
