"""`navmetrics …` as a user runs it: a real process, real files."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from navmetrics import store
from tests.conftest import SOFTWARE_MEXICO, wait_for

ROOT = Path(__file__).resolve().parents[1]


def navmetrics(*args: str, env: dict[str, str] | None = None, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "navmetrics.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
        cwd=ROOT,
    )


def test_help_lists_every_subcommand():
    out = navmetrics("--help").stdout
    for command in ("simulator", "receiver", "validate", "submit", "sync", "export"):
        assert command in out
        assert navmetrics(command, "--help").returncode == 0


def test_validate_json_gives_one_object_per_line(tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        f"{SOFTWARE_MEXICO}\nnot a url\nhttps://www.linkedin.com/sales/search/people?x=1\n"
    )
    result = navmetrics("validate", str(listing), "--json")
    assert result.returncode == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["status"] for line in lines] == ["ok", "invalid", "invalid"]
    assert set(lines[0]) == {"line", "input", "status", "url", "message", "label", "filters"}
    assert lines[0]["label"] == "Software Development · 51-200 · Mexico"
    assert lines[1]["url"] is None and "people search" in lines[2]["message"]


def test_validate_an_unreadable_file_exits_2(tmp_path):
    result = navmetrics("validate", str(tmp_path / "missing.txt"))
    assert result.returncode == 2 and "Cannot read" in result.stderr
    assert "Traceback" not in result.stderr


def test_submit_then_export_through_the_simulator(make_stack, tmp_path):
    import os

    stack = make_stack()
    env = os.environ | stack.env
    listing = tmp_path / "urls.txt"
    listing.write_text(SOFTWARE_MEXICO + "\n" + SOFTWARE_MEXICO.replace("103323778", "102713980"))
    result = navmetrics("submit", str(listing), "--name", "cli", env=env)
    assert result.returncode == 0, result.stderr
    run_uid = result.stdout.strip()
    assert len(run_uid) == 36
    db = store.open_db(stack.db_path)
    wait_for(lambda: len(store.observations_frame(db)) == 2, message="2 observations")
    exported = navmetrics("export", "--format", "csv", env=env)
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert {
        "search_url",
        "label",
        "total_results",
        "observed_at",
        "run_uid",
        "callback_ref_uid",
    } <= set(rows[0])
    assert {r["run_uid"] for r in rows} == {run_uid}
    as_json = json.loads(navmetrics("export", "--format", "json", env=env).stdout)
    assert len(as_json) == 2


def test_export_neutralises_formulas_in_csv(db_path, tmp_path):
    import os

    db = store.open_db(db_path)
    sid = store.save_searches(db, [SOFTWARE_MEXICO]).ids[0]
    db.execute("UPDATE searches SET label = '=cmd|calc' WHERE id = ?", [sid])
    db.execute(
        "INSERT INTO observations (search_id, run_uid, total_results, observed_at, source) "
        "VALUES (?, 'r', 5, '2026-01-01T00:00:00Z', 'test')",
        [sid],
    )
    db.conn.commit()
    out = tmp_path / "out.csv"
    result = navmetrics("export", "--db", str(db_path), "--output", str(out), env=os.environ.copy())
    assert result.returncode == 0
    row = next(csv.DictReader(out.open()))
    assert row["label"] == "'=cmd|calc"
