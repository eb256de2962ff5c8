"""The store's schema and migrations, on real SQLite files."""

from __future__ import annotations

import sqlite3

import pytest

from navmetrics import store
from tests.conftest import SOFTWARE_MEXICO


def test_a_new_database_is_migrated_to_the_newest_schema_in_wal_mode(db_path):
    db = store.open_db(db_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(store.MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {
        "searches",
        "runs",
        "run_inputs",
        "callbacks",
        "observations",
        "input_errors",
        "dead_letters",
    } <= set(db.table_names())


def test_opening_again_keeps_the_data(db_path):
    store.save_searches(store.open_db(db_path), [SOFTWARE_MEXICO])
    again = store.open_db(db_path)
    assert len(store.searches_frame(again)) == 1


def test_a_database_from_a_newer_navmetrics_is_refused_with_a_message(db_path):
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(store.StoreError, match="newer NavMetrics"):
        store.open_db(db_path)


def test_a_file_that_is_not_a_database_is_refused_with_a_message(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database" * 100)
    with pytest.raises(store.StoreError, match="not a NavMetrics database"):
        store.open_db(path)


def test_saving_reports_new_already_saved_duplicates_and_invalid(db):
    first = store.save_searches(db, [SOFTWARE_MEXICO, "nonsense"])
    second = store.save_searches(db, [SOFTWARE_MEXICO, SOFTWARE_MEXICO + "&page=2"])
    assert (first.new, first.invalid) == (1, 1)
    assert (second.new, second.already_saved, second.duplicates_in_input) == (0, 1, 1)
    assert first.invalid_lines[0]["line"] == 2


def segment(region: int) -> str:
    from navmetrics import urls

    return urls.build_url(
        [
            urls.Filter("INDUSTRY", (urls.FilterValue("4"),)),
            urls.Filter("REGION", (urls.FilterValue(str(100_000_000 + region), f"R{region}"),)),
        ]
    )


def saved_urls_by_id(db) -> dict[int, str]:
    return {int(i): u for i, u in db.execute("SELECT id, url FROM searches")}


def test_a_long_import_and_its_repeat_give_each_line_its_own_search(db):
    """1,500 lines: long enough to look the library up by reading it once."""
    lines = [segment(n) for n in range(1500)]
    first = store.save_searches(db, lines[:700])
    report = store.save_searches(db, lines)
    assert (report.new, report.already_saved) == (800, 700)
    by_id = saved_urls_by_id(db)
    assert [by_id[i] for i in report.ids] == [store.urls.normalise(line) for line in lines]
    assert report.ids[:700] == first.ids


def test_new_ids_are_looked_up_when_sqlite_numbers_rows_its_own_way(db):
    """Past the largest id SQLite picks ids at random; the import still knows which is which."""
    db.execute(
        "INSERT INTO searches (id, url, label, created_at) VALUES (?, 'x', 'x', 'now')",
        [2**63 - 1],
    )
    db.conn.commit()
    lines = [segment(n) for n in range(20)]
    report = store.save_searches(db, lines)
    by_id = saved_urls_by_id(db)
    assert [by_id[i] for i in report.ids] == [store.urls.normalise(line) for line in lines]


def test_copies_differing_only_in_label_text_are_one_search(db):
    """URLS.md: `text` "is only the label the URL was made with" (a UI language, a renamed label)."""
    spanish = SOFTWARE_MEXICO.replace("Software%2520Development", "Desarrollo%2520de%2520software")
    spanish = spanish.replace("text%3AMexico", "text%3AM%25C3%25A9xico")
    bare = SOFTWARE_MEXICO.replace("%2Ctext%3AMexico", "")
    first = store.save_searches(db, [SOFTWARE_MEXICO, spanish])
    assert (first.new, first.duplicates_in_input) == (1, 1)
    again = store.save_searches(db, [bare])
    assert (again.new, again.already_saved) == (0, 1) and again.ids == first.ids[:1]
    (label,) = store.searches_frame(db)["label"]
    assert label == "Software Development · 51-200 · Mexico"  # the first copy's label stays


def test_a_database_from_before_identities_gets_them_and_still_dedupes(db_path):
    with sqlite3.connect(db_path) as conn:
        for script in store.MIGRATIONS[:4]:
            conn.executescript(script)
        conn.execute("PRAGMA user_version = 4")
        conn.execute(
            "INSERT INTO searches (url, label, created_at) VALUES (?, 'old', '2026-01-01')",
            [store.urls.normalise(SOFTWARE_MEXICO)],
        )
    db = store.open_db(db_path)
    relabelled = SOFTWARE_MEXICO.replace("text%3AMexico", "text%3AMEXICO")
    report = store.save_searches(db, [relabelled])
    assert (report.new, report.already_saved) == (0, 1)
    assert store.find_search_id(db, store.urls.normalise(relabelled) or "") == report.ids[0]
