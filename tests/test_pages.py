"""Each page under Streamlit's AppTest, with a real SQLite file and, where it sends, the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from navmetrics import store
from tests.conftest import SOFTWARE_MEXICO, wait_for

ROOT = Path(__file__).resolve().parents[1]
OTHER = SOFTWARE_MEXICO.replace("103323778", "101165590").replace("Mexico", "United%2520Kingdom")


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "app_pages" / f"{name}.py"), default_timeout=30)


@pytest.fixture
def env(db_path, monkeypatch):
    monkeypatch.setenv("NAVMETRICS_DB", str(db_path))
    monkeypatch.setenv("NAVMETRICS_CALLBACK_TOKEN", "t" * 20)
    monkeypatch.setenv("NAVMETRICS_SECRETS_FILE", str(db_path.parent / "secrets.toml"))
    monkeypatch.delenv("EDGES_API_KEY", raising=False)
    return db_path


def test_entry_script_draws_the_navigation_and_the_overview(env):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "NavMetrics"


def test_searches_page_saves_pasted_urls_and_reports_the_bad_ones(env):
    at = page("searches").run()
    assert not at.exception
    at.text_area[0].input(
        f"{SOFTWARE_MEXICO}\n{OTHER}\nhttps://www.linkedin.com/sales/search/people?x=1\n{SOFTWARE_MEXICO}&page=2"
    )
    at.button[0].click().run()
    assert not at.exception
    assert "2 new, 0 already saved, 1 duplicates in this input, 1 invalid" in at.success[0].value
    assert "people search" in at.dataframe[0].value["message"].iloc[0]
    labels = list(at.dataframe[1].value["label"])
    assert labels == [
        "Software Development · 51-200 · Mexico",
        "Software Development · 51-200 · United Kingdom",
    ]


def test_searches_page_takes_urls_out_of_a_pasted_chat_message(env):
    at = page("searches").run()
    at.text_area[0].input(f"Mexico SaaS for Q4: {SOFTWARE_MEXICO}\nand the UK one -> {OTHER}")
    at.button[0].click().run()
    assert not at.exception
    assert "2 line(s) held a LinkedIn URL among other text" in at.warning[0].value
    assert "2 new, 0 already saved, 0 duplicates in this input, 0 invalid" in at.success[0].value
    assert sorted(at.dataframe[0].value["label"]) == ["Mexico SaaS for Q4", "and the UK one"]


def test_runs_page_submits_to_the_simulator_and_shows_progress(make_stack):
    stack = make_stack()
    db = store.open_db(stack.db_path)
    store.save_searches(db, [SOFTWARE_MEXICO, OTHER])
    at = page("runs").run()
    assert not at.exception
    at.radio[0].set_value("all searches").run()
    assert "**Preview:** 2 searches in 1 run(s)" in at.info[0].value
    assert len(stack.sim.runs) == 0, "a preview sends nothing"
    next(b for b in at.button if b.label == "Send").click().run()
    assert not at.exception
    assert at.success and "submitted" in at.success[0].value
    wait_for(lambda: store.runs_frame(db)["results"].sum() == 2, message="2 results")
    at.run()
    bar = at.get("progress")[0]
    assert bar.value == 100 and "2 results, 0 errors of 2" in bar.proto.text


def test_runs_page_says_what_to_do_when_edges_cannot_be_reached(env, monkeypatch):
    monkeypatch.setenv("NAVMETRICS_SIMULATOR_PORT", "9")
    store.save_searches(store.open_db(env), [SOFTWARE_MEXICO])
    at = page("runs").run()
    at.radio[0].set_value("all searches").run()
    next(b for b in at.button if b.label == "Send").click().run()
    assert not at.exception
    assert "Cannot reach Edges" in at.error[0].value


def measured(db, ids, weeks=4, failed=()):
    """Weekly measurements of each search; (search index, week) pairs in `failed` are errors."""
    for week in range(weeks):
        day = f"2026-11-{1 + 7 * week:02d}T09:00:00Z"
        for n, sid in enumerate(ids):
            if (n, week) in failed:
                db.execute(
                    "INSERT INTO input_errors (search_id, run_uid, label, message, observed_at, source)"
                    " VALUES (?, ?, 'LK_ERROR', 'LinkedIn failed', ?, 'test')",
                    [sid, f"r{week}", day],
                )
            else:
                db.execute(
                    "INSERT INTO observations (search_id, run_uid, total_results, observed_at, source)"
                    " VALUES (?, ?, ?, ?, 'test')",
                    [sid, f"r{week}", (n + 1) * 1000 + week * 10 * (n + 1), day],
                )
    db.conn.commit()


def chart_rows(at, index=0):
    import json

    proto = at.get("vega_lite_chart")[index].proto
    spec = json.loads(proto.spec)
    return spec, [row for dataset in proto.datasets for row in _arrow_rows(dataset)]


def _arrow_rows(dataset):
    import pyarrow as pa

    table = pa.ipc.open_stream(dataset.data.data).read_all()
    return table.to_pylist()


def test_trends_page_draws_lines_with_gaps_for_failed_measurements(env):
    db = store.open_db(env)
    ids = store.save_searches(db, [SOFTWARE_MEXICO, OTHER]).ids
    measured(db, ids, failed={(1, 2)})
    at = page("trends").run()
    assert not at.exception
    assert (
        at.caption[0].value
        == "7 measurements of 2 searches; 1 failed measurement(s) shown as gaps."
    )
    spec, rows = chart_rows(at)
    uk = [r for r in rows if r["label"].endswith("United Kingdom")]
    assert [r["total_results"] for r in uk] == [2000.0, 2020.0, None, 2060.0]
    assert spec["mark"]["invalid"] == "break-paths-show-domains"
    assert "change" in {t["field"] for t in spec["encoding"]["tooltip"]}
    _, bars = chart_rows(at, index=1)  # side by side: the decoded filters on hover
    hover = {r["label"]: r["filters"] for r in bars}
    assert "Headquarters location: Mexico" in hover["Software Development · 51-200 · Mexico"]


def test_trends_growth_table_and_selection(env):
    db = store.open_db(env)
    ids = store.save_searches(db, [SOFTWARE_MEXICO, OTHER]).ids
    measured(db, ids)
    at = page("trends").run()
    growth = at.dataframe[0].value.set_index("label")
    mexico = growth.loc["Software Development · 51-200 · Mexico"]
    assert (mexico["latest"], mexico["previous"], mexico["change"]) == (1030, 1000, 30)
    assert mexico["change_pct"] == 3.0 and mexico["move"] == ""
    uk = growth.loc["Software Development · 51-200 · United Kingdom"]
    assert list(uk["trend"]) == [2000.0, 2020.0, 2040.0, 2060.0]
    at.number_input[1].set_value(2.0).run()
    assert set(at.dataframe[0].value["move"]) == {"▲ beyond threshold"}
    at.radio[0].set_value("searches I pick").run()
    at.multiselect[0].set_value(["Software Development · 51-200 · Mexico"]).run()
    assert not at.exception
    assert at.caption[0].value.startswith("4 measurements of 1 searches")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["CSV", "XLSX"]


def test_trends_page_without_data_says_what_to_do(env):
    at = page("trends").run()
    assert not at.exception
    assert "No measurements yet" in at.info[0].value


def test_overview_page_reports_a_missing_receiver(env, monkeypatch):
    monkeypatch.setenv("NAVMETRICS_RECEIVER_PORT", "9")
    at = page("overview").run()
    assert not at.exception
    assert "does not answer" in at.error[0].value
    assert at.metric[0].value == "0"


def test_settings_page_masks_the_secrets(env, monkeypatch):
    monkeypatch.setenv("EDGES_API_KEY", "sk-live-abcdefghijklmnop")
    at = page("settings").run()
    assert not at.exception
    shown = at.table[0].value.to_csv()
    assert "sk-live-abcdefghijklmnop" not in shown and "t" * 20 not in shown
    assert "sk-l…op" in shown and "live, with callbacks" not in shown


def test_settings_page_keeps_a_typed_key_owner_only_and_shows_it_masked(env, tmp_path, monkeypatch):
    import stat

    monkeypatch.delenv("NAVMETRICS_CALLBACK_TOKEN")  # generated and kept in a file: rotatable
    at = page("settings").run()
    at.text_input[0].input("sk-typed-1234567890")
    at.text_input[2].input("https://tunnel.example.com/")
    at.button[0].click().run()
    assert not at.exception
    assert "API key sk-t…90 saved" in at.success[0].value
    secrets = tmp_path / "secrets.toml"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    at.run()
    shown = at.table[0].value.to_csv()
    assert "sk-typed-1234567890" not in shown and "sk-t…90" in shown
    assert "https://tunnel.example.com" in shown
    assert "live, with callbacks" in at.markdown[0].value
    before = (env.parent / ".callback_token").read_text()
    next(b for b in at.button if b.label == "Rotate the token").click().run()
    assert not at.exception
    assert (env.parent / ".callback_token").read_text() != before


def test_searches_page_offers_the_invalid_lines_for_download(env):
    at = page("searches").run()
    at.text_area[0].input(f"{SOFTWARE_MEXICO}\nnot a url")
    at.button[0].click().run()
    assert not at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download the invalid lines with their reasons (CSV)"]


def widget(elements, label):
    return next(e for e in elements if e.label == label)


def test_searches_page_bulk_tags_and_archives(env):
    db = store.open_db(env)
    ids = store.save_searches(db, [SOFTWARE_MEXICO, OTHER]).ids
    at = page("searches").run()
    assert not at.exception
    picker = widget(at.multiselect, "Searches")
    picker.select(picker.options[0]).run()
    widget(at.text_input, "Tag to add").input("latam").run()
    widget(at.button, "Add tag").click().run()
    assert not at.exception
    assert store.searches_frame(db).set_index("id").loc[ids[0], "tags"] == "latam"
    picker = widget(at.multiselect, "Searches")
    picker.select(picker.options[1]).run()
    widget(at.button, "Archive").click().run()
    assert not at.exception
    assert len(store.searches_frame(db)) == 0
    assert len(store.searches_frame(db, include_archived=True)) == 2


def test_a_large_library_is_found_and_paged_not_sent_whole(env):
    from navmetrics import urls

    def segment(n: int) -> str:
        region = urls.FilterValue(str(100_000_000 + n), f"Region {n}")
        return urls.build_url([urls.Filter("REGION", (region,))])

    db = store.open_db(env)
    store.save_searches(db, [segment(n) for n in range(1200)])
    at = page("searches").run()
    assert not at.exception
    assert at.subheader[0].value == "Library (1,200)"
    assert len(at.dataframe[0].value) == 500
    assert "Showing 1–500 of 1,200" in at.caption[0].value
    widget(at.number_input, "Page").set_value(3).run()
    assert list(at.dataframe[0].value["label"])[:2] == ["Region 1000", "Region 1001"]
    widget(at.text_input, "Find in the library").input("region 11").run()
    # every word: 11, 110-119, 211 ... 911, 1011, 1100-1199
    assert at.subheader[0].value == "Library (120)"
    widget(at.checkbox, "All 120 searches found").check().run()
    widget(at.text_input, "Tag to add").input("eleven").run()
    widget(at.button, "Add tag").click().run()
    assert not at.exception
    tagged = store.searches_frame(db).query("tags == 'eleven'")
    assert len(tagged) == 120 and all("11" in label for label in tagged["label"])


def test_runs_page_picks_among_many_searches_by_finding_them_first(env):
    from navmetrics import urls

    db = store.open_db(env)
    regions = [urls.FilterValue(str(100_000_000 + n), f"Region {n}") for n in range(1200)]
    store.save_searches(db, [urls.build_url([urls.Filter("REGION", (r,))]) for r in regions])
    at = page("runs").run()
    assert not at.exception
    picker = widget(at.multiselect, "Saved searches")
    assert len(picker.options) == 1000
    assert any("1,200 searches match" in c.value for c in at.caption)
    widget(at.text_input, "Find among 1,200 searches").input("region 42").run()
    picker = widget(at.multiselect, "Saved searches")
    assert "Region 42  ·  #43" in picker.options and all("42" in o for o in picker.options)
    picker.select("Region 42  ·  #43").run()
    widget(at.text_input, "Find among 1,200 searches").input("region 1199").run()
    picker = widget(at.multiselect, "Saved searches")
    picker.select("Region 1199  ·  #1200").run()
    assert widget(at.multiselect, "Saved searches").value == [
        "Region 42  ·  #43",
        "Region 1199  ·  #1200",
    ]
    assert "**Preview:** 2 searches in 1 run(s)" in at.info[0].value


def test_searches_page_without_input_says_what_to_do(env):
    at = page("searches").run()
    at.button[0].click().run()
    assert "Paste at least one URL" in at.warning[0].value


def test_runs_page_shows_one_run_and_cancels_it(make_stack):
    from navmetrics.simulator import SimulatorConfig

    stack = make_stack(SimulatorConfig(pace=0.2, control=True))
    db = store.open_db(stack.db_path)
    store.save_searches(db, [SOFTWARE_MEXICO.replace("103323778", str(100 + i)) for i in range(30)])
    at = page("runs").run()
    at.radio[0].set_value("all searches").run()
    next(b for b in at.button if b.label == "Send").click().run()
    assert not at.exception
    at.run()
    detail = at.dataframe[1].value
    assert len(detail) == 30
    next(b for b in at.button if b.label == "Cancel this run").click().run()
    assert not at.exception
    assert "Cancelled" in at.success[-1].value
    (run,) = stack.sim.runs.values()
    wait_for(lambda: run.status == "STOPPED", message="stopped")
    assert store.runs_frame(db)["status"].iloc[0] == "STOPPED"


def test_runs_page_schedules_a_recurring_measurement(make_stack):
    stack = make_stack()
    db = store.open_db(stack.db_path)
    store.save_searches(db, [SOFTWARE_MEXICO, OTHER])
    at = page("runs").run()
    at.radio[0].set_value("all searches").run()
    at.toggle[0].set_value(True).run()
    next(s for s in at.selectbox if s.label == "Every").set_value("weekly (Monday 09:00)").run()
    assert "Repeats on cron '0 9 * * 1' (UTC)" in at.info[0].value
    next(b for b in at.button if b.label == "Send").click().run()
    assert not at.exception
    assert "Schedule" in at.success[0].value
    (schedule,) = stack.sim.schedules.values()
    assert schedule.cron == "0 9 * * 1"
    at.run()
    assert list(at.dataframe[-1].value["cron"]) == ["0 9 * * 1"]


def test_trends_growth_over_a_chosen_range_and_tags_side_by_side(env):
    from datetime import date

    db = store.open_db(env)
    ids = store.save_searches(db, [SOFTWARE_MEXICO, OTHER], tags="latam").ids
    store.tag_searches(db, [ids[1]], "europe")
    measured(db, ids)
    at = page("trends").run()
    next(s for s in at.selectbox if s.label == "Change over").set_value("a range I choose").run()
    at.date_input[0].set_value((date(2026, 11, 8), date(2026, 11, 15))).run()
    assert not at.exception
    growth = at.dataframe[0].value.set_index("label")
    assert growth.loc["Software Development · 51-200 · Mexico", "previous"] == 1010
    assert growth.loc["Software Development · 51-200 · Mexico", "latest"] == 1020
    next(r for r in at.radio if r.label == "Compare").set_value("tags").run()
    assert not at.exception
    _, rows = chart_rows(at, index=1)
    assert {r["label"]: r["total_results"] for r in rows} == {"latam": 1030 + 2060, "europe": 2060}
