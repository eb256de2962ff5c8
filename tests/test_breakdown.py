"""Market maps: cells that round-trip exactly, a map measured through the simulator, the page."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from navmetrics import breakdown, runs, store, urls
from navmetrics.config import load_settings
from navmetrics.edges import EdgesClient
from tests.conftest import SOFTWARE_MEXICO, wait_for
from tests.test_pages import page
from tests.test_urls import MANY_VALUES, NEARLY_EVERY_FILTER

SOFTWARE_BASE = "https://www.linkedin.com/sales/search/company?query=(filters%3AList((type%3AINDUSTRY%2Cvalues%3AList((id%3A4%2Ctext%3ASoftware%2520Development%2CselectionType%3AINCLUDED)))))"
BASES = [
    SOFTWARE_MEXICO,
    NEARLY_EVERY_FILTER,
    MANY_VALUES,
    "https://www.linkedin.com/sales/search/company?query=(filters%3AList((type%3AINDUSTRY%2Cvalues%3AList((id%3A116%2Ctext%3ATransportation%252C%2520Logistics%252C%2520Supply%2520Chain%2520and%2520Storage%2CselectionType%3AINCLUDED)))))",
    "https://www.linkedin.com/sales/search/company?query=(filters%3AList((type%3AREGION%2Cvalues%3AList((id%3A102299470%2Ctext%3AEngland%252C%2520United%2520Kingdom%2CselectionType%3AINCLUDED)))))&sessionId=x",
    "https://www.linkedin.com/sales/search/company?query=(filters%3AList((type%3AINDUSTRY%2Cvalues%3AList((id%3A4%2CselectionType%3AINCLUDED))))%2Ckeywords%3Afintech%2520OR%2520%2522open%2520banking%2522)",
]
SPECS = [
    ["headcount"],
    ["followers"],
    ["revenue"],
    ["region=103644278,101165590,102299470"],
    ["industry=4,27,116"],
    ["headcount", "region=103644278,101165590,102713980,103323778"],
    ["revenue", "industry=4,133"],
    ["followers", "region"],
]


@pytest.mark.parametrize("spec", SPECS, ids=["+".join(s) for s in SPECS])
@pytest.mark.parametrize("base", BASES, ids=range(len(BASES)))
def test_every_cell_validates_and_decodes_to_the_base_with_exactly_its_value(base, spec):
    dimensions = [breakdown.parse_spec(s) for s in spec]
    cells = breakdown.breakdown(base, *dimensions)
    types = {d[0].filter.type for d in dimensions}
    before = urls.validate(base)
    kept = [f for f in before.filters if f.type not in types]
    assert len({c.url for c in cells}) == len(cells), "no two cells are the same search"
    for cell in cells:
        verdict = urls.validate(cell.url)
        assert verdict.status == "ok", verdict.message
        assert verdict.url == cell.url and urls.EDGES_PATTERN.match(cell.url)
        assert verdict.keywords == before.keywords
        chosen = [cell.first.filter, *([cell.second.filter] if cell.second else [])]
        expected = sorted(
            (urls._canonical_filter(f) for f in [*kept, *chosen]), key=lambda f: f.type
        )
        assert verdict.filters == expected


def test_cells_are_encoded_as_sales_navigator_writes_them():
    (cell, *_) = breakdown.breakdown(SOFTWARE_MEXICO, breakdown.parse_spec("headcount=I"))
    assert "text%3A10%252C001%252B" in cell.url and "(type%3A" in cell.url


def test_a_breakdown_above_the_cap_says_so():
    big = breakdown.cells_of("region", [str(100_000_000 + i) for i in range(60)])
    with pytest.raises(breakdown.BreakdownError, match="480 cells; the most is 400"):
        breakdown.breakdown(SOFTWARE_MEXICO, breakdown.cells_of("headcount"), big)


def test_cli_breakdown_writes_cells_ready_for_submit(tmp_path):
    out = tmp_path / "cells.csv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "navmetrics.cli",
            "breakdown",
            SOFTWARE_MEXICO,
            "--by",
            "headcount",
            "--by",
            "region=103644278,101165590",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 16 and rows[0]["label"] == "Software Development · 1-10 · United States"
    check = subprocess.run(
        [sys.executable, "-m", "navmetrics.cli", "validate", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.stdout.count('"status": "ok"') == 16


def measure(db, stack, ids, when):
    stack.sim.clock.set(when)
    with EdgesClient(stack.simulator_url, "k") as client:
        (run_uid,) = runs.submit(
            db, client, runs.plan_for(load_settings(), ids, name="map")
        ).run_uids
    wait_for(
        lambda: (
            db.execute("SELECT COUNT(*) FROM observations WHERE run_uid = ?", [run_uid]).fetchone()[
                0
            ]
            == len(ids)
        ),
        message="the map's results",
    )
    store.restamp_run(db, run_uid, when.isoformat().replace("+00:00", "Z"))


def test_an_8_by_4_map_from_base_search_to_heatmap_and_a_week_later_the_change_map(make_stack):
    stack = make_stack()
    db = store.open_db(stack.db_path)
    base = SOFTWARE_BASE
    (base_id,) = store.save_searches(db, [base]).ids
    regions = "region=103644278,101165590,102713980,103323778"
    cells = breakdown.breakdown(
        base, breakdown.cells_of("headcount"), breakdown.parse_spec(regions)
    )
    map_id, ids = store.save_breakdown(
        db, name="software", base_search_id=base_id, dimensions=["headcount", "region"], cells=cells
    )
    assert len(ids) == 32
    week_ago = datetime.now(UTC) - timedelta(days=7)
    measure(db, stack, [*ids, base_id], week_ago)
    table = breakdown.map_table(store.map_frame(db, map_id))
    assert table["total_results"].notna().sum() == 32
    assert table["change"].isna().all()
    measure(db, stack, [*ids, base_id], datetime.now(UTC))
    table = breakdown.map_table(store.map_frame(db, map_id), change_days=7)
    assert table["change"].notna().sum() == 32 and (table["change"] != 0).any()
    per_region = table.groupby("second_label")["total_results"].sum()
    assert set(per_region.index) == {"United States", "United Kingdom", "India", "Mexico"}
    plan = breakdown.plan_measurement(
        ids, base_id, store.recently_measured(db, [*ids, base_id], 7), 1.5
    )
    assert (plan.reused, plan.to_send) == (32, 0)


def test_the_market_map_page_previews_measures_and_draws_the_heatmap(make_stack):
    stack = make_stack()
    db = store.open_db(stack.db_path)
    store.save_searches(db, [SOFTWARE_BASE])
    at = page("market_map").run()
    assert not at.exception
    next(s for s in at.selectbox if s.label == "Second dimension").set_value("region").run()
    at.text_input[0].input("103644278, 101165590").run()
    assert (
        "16 cells; 0 measured in the last 7 days are reused; 17 searches to send"
        in at.info[0].value
    )
    next(s for s in at.selectbox if s.label == "Identity mode").set_value("managed").run()
    assert "25.5 input credits (managed identities: ×1.5)" in at.info[0].value
    next(b for b in at.button if b.label == "Save the map and measure it").click().run()
    assert not at.exception
    assert "measures 17 searches" in at.success[0].value
    wait_for(lambda: len(store.observations_frame(db)) == 17, message="17 results")
    at.run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1  # the heatmap; the change map waits for a second measurement
    assert any("Sum of cells" in m.value for m in at.markdown)
    assert [b.proto.label for b in at.get("download_button")] == ["Map as CSV", "Map as XLSX"]
