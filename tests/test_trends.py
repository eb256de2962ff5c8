"""Trends as a notebook would use them, the demo history, and the exports."""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import load_workbook

from navmetrics import charts, demo, exports, store, trends
from navmetrics.config import load_settings
from tests.conftest import SOFTWARE_MEXICO
from tests.test_pages import OTHER, measured, page


def test_changes_skip_failed_measurements(db):
    ids = store.save_searches(db, [SOFTWARE_MEXICO, OTHER]).ids
    measured(db, ids, failed={(0, 1)})
    frame = trends.with_changes(store.measurements_frame(db))
    mexico = frame[frame["search_id"] == ids[0]]
    assert list(
        mexico["total_results"].astype(object).where(mexico["total_results"].notna(), None)
    ) == [1000, None, 1020, 1030]
    assert list(mexico["change"].dropna()) == [20, 10]


def test_top_n_by_size_and_by_growth(db):
    ids = store.save_searches(db, [SOFTWARE_MEXICO, OTHER]).ids
    measured(db, ids)
    frame = store.measurements_frame(db)
    assert set(trends.pick(frame, top=1, by="size")["search_id"]) == {ids[1]}
    db.execute(
        "UPDATE observations SET total_results = 5000 WHERE search_id = ? AND run_uid = 'r3'",
        [ids[0]],
    )
    db.conn.commit()
    frame = store.measurements_frame(db)
    assert set(trends.pick(frame, top=1, by="growth")["search_id"]) == {ids[0]}


def test_xlsx_and_csv_exports_are_formula_safe(db):
    ids = store.save_searches(db, [SOFTWARE_MEXICO]).ids
    db.execute("UPDATE searches SET label = '=HYPERLINK(\"http://evil\")' WHERE id = ?", [ids[0]])
    measured(db, ids, weeks=1)
    frame = store.measurements_frame(db)
    book = load_workbook(io.BytesIO(exports.to_xlsx_bytes(frame)))
    cells = [c.value for c in book.active["B"]]
    assert cells[1].startswith("'=") and book.active["B2"].data_type == "s"
    assert b"'=HYPERLINK" in exports.to_csv_bytes(frame)


def test_the_chart_exports_as_png_and_svg(db):
    ids = store.save_searches(db, [SOFTWARE_MEXICO]).ids
    measured(db, ids, weeks=2)
    chart = charts.trend_chart(store.measurements_frame(db))
    assert charts.to_image(chart, "png").startswith(b"\x89PNG")
    assert b"<svg" in charts.to_image(chart, "svg")[:200]


def test_demo_history_goes_through_the_real_path_and_is_removed_in_one_click(make_stack):
    stack = make_stack()
    db = store.open_db(stack.db_path)
    made = demo.fill(db, load_settings(), stack.sim, weeks=3)
    assert made == 4 and demo.state(db) == "filled"
    frame = store.measurements_frame(db)
    assert frame["search_id"].nunique() == 20
    days = sorted(frame["observed_at"].dt.date.unique())
    assert len(days) == 4 and (days[-1] - days[0]).days == 21
    sources = {r[0] for r in db.execute("SELECT DISTINCT source FROM observations")}
    assert sources == {"callback"}
    assert demo.fill(db, load_settings(), stack.sim) == 0, "made once only"
    at = page("overview").run()
    assert not at.exception
    assert not at.dataframe[0].value.empty, "the largest moves"
    next(b for b in at.button if b.label == "Remove the demo history").click().run()
    assert not at.exception
    assert store.searches_frame(db, include_archived=True).empty
    assert store.measurements_frame(db).empty and demo.state(db) == "removed"
    assert pd.read_sql_query("SELECT COUNT(*) AS n FROM runs", db.conn)["n"][0] == 0
