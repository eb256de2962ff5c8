"""The walking skeleton in a real Chromium: paste three searches, submit, see three lines.

The app is started as `make run` starts it (demo mode: the simulator stands in for Edges). Any
exception shown in a page fails the test; a failure leaves a screenshot in tests/artifacts/.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import free_port
from tests.test_pages import OTHER, SOFTWARE_MEXICO

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("NAVMETRICS_CHROMIUM", "/usr/bin/chromium")
THIRD = SOFTWARE_MEXICO.replace("103323778", "102713980").replace("Mexico", "India")

pytestmark = pytest.mark.browser


class App:
    def __init__(self, tmp: Path, demo_history: bool = False) -> None:
        self.port, self.receiver_port, self.sim_port = free_port(), free_port(), free_port()
        self.url = f"http://localhost:{self.port}"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k
            not in (
                "EDGES_API_KEY",
                "EDGES_BASE_URL",
                "NAVMETRICS_PUBLIC_URL",
                "NAVMETRICS_CALLBACK_TOKEN",
            )
        } | {
            "NAVMETRICS_DB": str(tmp / "browser.db"),
            "NAVMETRICS_RECEIVER_PORT": str(self.receiver_port),
            "NAVMETRICS_SIMULATOR_PORT": str(self.sim_port),
            "NAVMETRICS_SECRETS_FILE": str(tmp / "secrets.toml"),
            "NAVMETRICS_DEMO_HISTORY": "1" if demo_history else "0",
        }
        self.log = open(tmp / "app.log", "w+")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={self.port}"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                break
            try:
                page = httpx.get(self.url, timeout=1)
                health = httpx.get(f"http://127.0.0.1:{self.receiver_port}/healthz", timeout=1)
                if page.status_code == 200 and health.status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.log.seek(0)
        raise AssertionError(f"the app did not start:\n{self.log.read()}")

    def stop(self) -> None:
        with_group = os.getpgid(self.proc.pid)
        os.killpg(with_group, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(with_group, signal.SIGKILL)
        self.log.close()


@pytest.fixture
def app(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[App]:
    running = App(tmp_path, demo_history=getattr(request, "param", False))
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, accept_downloads=True
        )
        pg = context.new_page()
        yield pg
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        browser.close()


def no_exception_shown(page: Page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


def open_page(page: Page, url: str, title: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=30_000)
    no_exception_shown(page)
    menu = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Trends" in menu and "streamlit app" not in menu, f"not the app's own menu: {menu}"


def test_skeleton_paste_submit_callback_chart(app: App, page: Page) -> None:
    open_page(page, app.url, "NavMetrics")
    expect(page.get_by_text("Receiver healthy")).to_be_visible()

    open_page(page, f"{app.url}/searches", "Searches")
    page.get_by_label("Paste Sales Navigator company-search URLs, one a line").fill(
        "\n".join([SOFTWARE_MEXICO, OTHER, THIRD])
    )
    page.get_by_role("button", name="Save searches").click()
    expect(page.get_by_text(re.compile(r"3 new, 0 already saved"))).to_be_visible(timeout=30_000)
    no_exception_shown(page)

    for _ in range(2):  # two runs: two measurements, so each search draws a line
        open_page(page, f"{app.url}/runs", "Runs")
        page.get_by_text("all searches").click()
        expect(page.get_by_text(re.compile("Preview: 3 searches in 1 run"))).to_be_visible()
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text(re.compile(r"Run [0-9a-f-]{36} submitted"))).to_be_visible(
            timeout=30_000
        )
        no_exception_shown(page)
        expect(
            page.get_by_text(re.compile("3 results, 0 errors of 3 · SUCCEEDED")).first
        ).to_be_visible(timeout=30_000)

    open_page(page, f"{app.url}/trends", "Trends")
    chart = page.locator('[data-testid="stVegaLiteChart"]')
    for _ in range(20):  # the callbacks arrive within a second or two
        if chart.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(chart.first).to_be_visible(timeout=30_000)
    for _ in range(20):
        if page.get_by_text("6 measurements of 3 searches").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.get_by_text("6 measurements of 3 searches")).to_be_visible(timeout=30_000)
    drawn = chart.first.text_content() or ""  # the SVG's text: axes and the legend
    for label in ("Mexico", "United Kingdom", "India"):
        assert f"Software Development · 51-200 · {label}" in drawn
    no_exception_shown(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "skeleton-trends.png"), full_page=True)  # for the record


def demo_state(app: App) -> str | None:
    try:
        with sqlite3.connect(app.env["NAVMETRICS_DB"]) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'demo_history'").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


@pytest.mark.parametrize("app", [True], indirect=True, ids=["demo-history"])
def test_trends_in_demo_mode_draw_change_selection_and_download(
    app: App, page: Page, tmp_path: Path
) -> None:
    open_page(page, f"{app.url}/trends", "Trends")
    started = time.monotonic()
    while (
        demo_state(app) != "filled" and time.monotonic() - started < 120
    ):  # made in the background
        time.sleep(0.5)
    assert demo_state(app) == "filled"
    page.reload()
    expect(page.get_by_text(re.compile(r"^2\d\d measurements of 8 searches"))).to_be_visible(
        timeout=30_000
    )  # 27 weekly runs of the 8 largest searches, a few failed
    expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible(timeout=30_000)
    no_exception_shown(page)
    page.get_by_text("searches I pick").click()
    expect(page.get_by_text(re.compile(r"^\d+ measurements of 5 searches"))).to_be_visible(
        timeout=30_000
    )
    no_exception_shown(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="CSV", exact=True).click()
    saved = tmp_path / "trends.csv"
    download_info.value.save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("search_id,label,total_results,observed_at")
    assert len({line.split(",")[0] for line in lines[1:]}) == 5
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-trends.png"), full_page=True)


def test_market_map_pick_dimensions_preview_submit_heatmap(app: App, page: Page) -> None:
    open_page(page, f"{app.url}/searches", "Searches")
    page.get_by_label("Paste Sales Navigator company-search URLs, one a line").fill(SOFTWARE_MEXICO)
    page.get_by_role("button", name="Save searches").click()
    expect(page.get_by_text(re.compile(r"1 new"))).to_be_visible(timeout=30_000)

    open_page(page, f"{app.url}/market_map", "Market map")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="First dimension").click()
    page.get_by_role("option", name="Annual revenue bands (USD)").click()
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Second dimension").click()
    page.get_by_role("option", name="Headquarters region").click()
    ids = page.get_by_label(re.compile("Headquarters region: LinkedIn ids"))
    ids.fill("103644278, 101165590, 102713980")
    ids.press("Enter")
    preview = page.get_by_text(
        re.compile(r"21 cells; 0 measured in the last 7 days are reused; 22 searches")
    )
    expect(preview).to_be_visible(timeout=30_000)
    no_exception_shown(page)
    page.get_by_role("button", name="Save the map and measure it").click()
    expect(page.get_by_text(re.compile(r"measures 22 searches"))).to_be_visible(timeout=30_000)
    reconciled = page.get_by_text(re.compile(r"Sum of cells: [\d,]+"))
    for _ in range(30):  # the results come home by callback within a few seconds
        page.reload()
        if reconciled.count() and "not measured yet" not in reconciled.first.inner_text():
            break
        page.wait_for_timeout(1000)
    expect(reconciled.first).not_to_contain_text("not measured yet")
    heatmap = page.locator('[data-testid="stVegaLiteChart"]').first
    expect(heatmap).to_be_visible()
    drawn = heatmap.text_content() or ""
    assert "United States" in drawn and "$1000M+" in drawn
    no_exception_shown(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "market-map.png"), full_page=True)
