"""SQLite through sqlite-utils: the schema, its migrations, and every read and write.

One database file holds the library of saved searches, the runs sent to Edges, every callback as it
arrived (raw body kept), and the observations drawn from them. Observations are keyed by run and
saved search, so a result delivered twice, or both by callback and by pulling `/outputs`, counts once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlite_utils

from navmetrics import urls
from navmetrics.bulk import gc_paused
from navmetrics.intake import Row

FINAL_STATUSES = frozenset({"SUCCEEDED", "PARTIAL_SUCCEEDED", "FAILED", "STOPPED", "INVALID"})

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE searches (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0,
        origin TEXT NOT NULL DEFAULT 'import'
    );
    CREATE TABLE runs (
        run_uid TEXT PRIMARY KEY,
        name TEXT,
        status TEXT NOT NULL,
        callback_on TEXT,
        inputs_count INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_callback_at TEXT,
        scheduled_run_uid TEXT,
        origin TEXT NOT NULL DEFAULT 'submitted'
    );
    CREATE TABLE run_inputs (
        run_uid TEXT NOT NULL,
        search_id INTEGER NOT NULL REFERENCES searches(id),
        PRIMARY KEY (run_uid, search_id)
    );
    CREATE TABLE callbacks (
        callback_ref_uid TEXT PRIMARY KEY,
        run_uid TEXT,
        body TEXT NOT NULL,
        delivery_ids TEXT NOT NULL,
        first_received_at TEXT NOT NULL,
        last_received_at TEXT NOT NULL,
        attempts INTEGER NOT NULL
    );
    CREATE TABLE observations (
        id INTEGER PRIMARY KEY,
        search_id INTEGER NOT NULL REFERENCES searches(id),
        run_uid TEXT NOT NULL,
        total_results INTEGER NOT NULL,
        observed_at TEXT NOT NULL,
        callback_ref_uid TEXT,
        source TEXT NOT NULL,
        UNIQUE (run_uid, search_id)
    );
    CREATE INDEX observations_by_search ON observations (search_id, observed_at);
    CREATE TABLE input_errors (
        id INTEGER PRIMARY KEY,
        search_id INTEGER REFERENCES searches(id),
        run_uid TEXT NOT NULL,
        label TEXT,
        message TEXT,
        scope TEXT,
        observed_at TEXT NOT NULL,
        callback_ref_uid TEXT,
        source TEXT NOT NULL,
        UNIQUE (run_uid, search_id)
    );
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        received_at TEXT NOT NULL,
        reason TEXT NOT NULL,
        content_type TEXT,
        body BLOB
    );
    """,
    # 2: recurring measurements sent to /run/schedule
    """
    CREATE TABLE schedules (
        schedule_uid TEXT PRIMARY KEY,
        name TEXT,
        cron TEXT,
        timezone TEXT NOT NULL,
        search_ids TEXT NOT NULL,
        status TEXT NOT NULL,
        next_execution_at TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX runs_by_schedule ON runs (scheduled_run_uid);
    """,
    # 3: facts about the database itself (e.g. whether the demo history was filled or removed)
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 4: market maps: a base search broken down into cells, each cell a saved search
    """
    CREATE TABLE breakdowns (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        base_search_id INTEGER NOT NULL REFERENCES searches(id),
        dimensions TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE breakdown_cells (
        breakdown_id INTEGER NOT NULL REFERENCES breakdowns(id),
        search_id INTEGER NOT NULL REFERENCES searches(id),
        first_label TEXT NOT NULL,
        second_label TEXT,
        position INTEGER NOT NULL,
        PRIMARY KEY (breakdown_id, search_id)
    );
    """,
    # 5: a search's identity, a digest of its URL without the values' labels: copies that differ
    # only in label text (another interface language, a renamed industry) are one search
    """
    ALTER TABLE searches ADD COLUMN identity TEXT NOT NULL DEFAULT '';
    UPDATE searches SET identity = navmetrics_identity(url);
    CREATE INDEX searches_by_identity ON searches (identity);
    """,
]


class StoreError(Exception):
    """The database cannot be used; the message says what to do."""


def now_utc() -> str:
    return utc_stamp(datetime.now(UTC))


def utc_stamp(when: datetime) -> str:
    """How times are written here (and by Edges): '2026-12-03T09:00:00.000Z'."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def open_db(path: Path | str, *, durable: bool = True) -> sqlite_utils.Database:
    """Open (creating and migrating) the database; WAL so readers never block the receiver."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"Cannot open the database {path}: {exc}. Check NAVMETRICS_DB.") from exc
    db = sqlite_utils.Database(conn)
    try:
        db.conn.execute("PRAGMA journal_mode=WAL")
        db.conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        db.conn.execute("PRAGMA foreign_keys=ON")
        migrate(db)
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path} is not a NavMetrics database ({exc}). Point NAVMETRICS_DB elsewhere."
        ) from exc
    return db


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the schema to the newest version; returns that version."""
    db.conn.create_function("navmetrics_identity", 1, identity_key, deterministic=True)
    version = db.conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"The database is from a newer NavMetrics (schema {version}); upgrade NavMetrics."
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.conn:
            db.conn.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")
    return len(MIGRATIONS)


# ---------------------------------------------------------------- saved searches


@dataclass
class ImportReport:
    new: int = 0
    already_saved: int = 0
    duplicates_in_input: int = 0
    invalid: int = 0
    ids: list[int] = field(default_factory=list)
    invalid_lines: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.new:,} new, {self.already_saved:,} already saved, "
            f"{self.duplicates_in_input:,} duplicates in this input, {self.invalid:,} invalid"
        )


def save_searches(
    db: sqlite_utils.Database,
    lines: Iterable[str | Any],
    *,
    tags: str = "",
    origin: str = "import",
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Validate lines (text, or intake rows with label/tags/notes) and keep each search once.

    Reports what happened to each line; `on_progress(done, total)` is called as lines are checked.
    """
    with gc_paused():  # 100,000 rows build as many tuples, and none of them a cycle
        return _save_searches(db, list(lines), tags, origin, on_progress)


def _save_searches(
    db: sqlite_utils.Database,
    items: list[str | Any],
    tags: str,
    origin: str,
    on_progress: Callable[[int, int], None] | None,
) -> ImportReport:
    report = ImportReport()
    seen: set[str] = set()
    created = now_utc()
    fresh: list[tuple[str, str, str, str, str]] = []  # identity, url, label, tags, notes
    ordered: list[str] = []
    texts = [item if isinstance(item, str) else item.text for item in items]
    verdicts = urls.validate_many(texts)
    for index, (item, text, verdict) in enumerate(zip(items, texts, verdicts, strict=True), 1):
        number = index if isinstance(item, str) else item.line
        if on_progress and index % 1000 == 0:
            on_progress(index, len(items))
        if not text.strip():
            if not isinstance(item, str) and item.other.strip():
                report.invalid += 1
                report.invalid_lines.append(
                    {"line": number, "input": item.other, "message": "This row has no URL."}
                )
            continue
        if verdict.url is None:
            report.invalid += 1
            report.invalid_lines.append({"line": number, "input": text, "message": verdict.message})
            continue
        key = identity_key(verdict.url)
        if key in seen:
            report.duplicates_in_input += 1
            continue
        seen.add(key)
        ordered.append(key)
        label = "" if isinstance(item, str) else item.label
        row_tags = _merge_tags(tags, "" if isinstance(item, str) else item.tags)
        notes = "" if isinstance(item, str) else item.notes
        fresh.append((key, verdict.url, label or verdict.label or verdict.url, row_tags, notes))
    if on_progress:
        on_progress(len(items), len(items))
    with _roomy_cache(db, len(ordered)):
        ids = _ids_by_identity(db, ordered)
        report.already_saved = len(ids)
        new = [(u, label, t, n, created, origin, k) for k, u, label, t, n in fresh if k not in ids]
        ids.update(_insert_searches(db, new))
    report.new = len(new)
    report.ids = [ids[k] for k in ordered]
    return report


def _insert_searches(db: sqlite_utils.Database, rows: Sequence[tuple[str, ...]]) -> dict[str, int]:
    """Insert new searches (url, label, tags, notes, created_at, origin, identity); their ids by
    identity.

    Under the write lock, SQLite numbers the rows on from the largest id, so the ids are known
    without looking 100,000 long URLs up again; should the numbers not add up, they are looked up.
    """
    if not rows:
        return {}
    with db.conn:
        if not db.conn.in_transaction:  # take the write lock before reading the largest id
            db.conn.execute("BEGIN IMMEDIATE")
        (last,) = db.conn.execute("SELECT coalesce(max(id), 0) FROM searches").fetchone()
        db.conn.executemany(
            "INSERT INTO searches (url, label, tags, notes, created_at, origin, identity) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        (count, first, final) = db.conn.execute(
            "SELECT count(*), min(id), max(id) FROM searches WHERE id > ?", [last]
        ).fetchone()
    if (count, first, final) == (len(rows), last + 1, last + len(rows)):
        return {row[6]: last + 1 + n for n, row in enumerate(rows)}
    return _ids_by_identity(db, [row[6] for row in rows])


@contextlib.contextmanager
def _roomy_cache(db: sqlite_utils.Database, rows: int) -> Iterator[None]:
    """A 64 MB page cache while a long list goes in, and the default after.

    The unique index on long URLs is written in no useful order; with SQLite's default 2 MB cache
    the pages spill while 100,000 rows go in, and the insert takes twice as long.
    """
    if rows < 10_000:
        yield
        return
    (before,) = db.conn.execute("PRAGMA cache_size").fetchone()
    db.conn.execute("PRAGMA cache_size=-65536")
    try:
        yield
    finally:
        db.conn.execute(f"PRAGMA cache_size={int(before)}")


def split_tags(text: str | None) -> list[str]:
    """The tags of a search, as kept in its `tags` text ("latam, saas"; ';' accepted too)."""
    return [t.strip() for t in (text or "").replace(";", ",").split(",") if t.strip()]


def all_tags(texts: Iterable[str | None]) -> list[str]:
    return sorted({tag for text in texts for tag in split_tags(text)})


@functools.lru_cache(maxsize=1024)  # an import repeats a handful of tag sets on every row
def _merge_tags(*groups: str) -> str:
    return ", ".join(dict.fromkeys(tag for group in groups for tag in split_tags(group)))


def _rows_in(
    db: sqlite_utils.Database, sql: str, values: Sequence[Any], *before: Any
) -> list[tuple[Any, ...]]:
    """Run `sql` (whose `{marks}` stands for an IN list) over `values`, 5,000 at a time (SQLite
    takes up to 32,766 parameters)."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(values), 5000):
        chunk = list(values[start : start + 5000])
        marks = ",".join("?" * len(chunk))
        rows.extend(db.conn.execute(sql.format(marks=marks), [*before, *chunk]).fetchall())
    return rows


def identity_key(url: str) -> str:
    """What the `identity` column holds: a 128-bit digest of `urls.identity(url)`. Indexing the
    digest instead of a 500-character text halves what a 100,000-row import writes."""
    return hashlib.blake2b(urls.identity(url).encode(), digest_size=16).hexdigest()


def ids_by_url(db: sqlite_utils.Database, wanted: Sequence[str]) -> dict[str, int]:
    """The saved search of each of these URLs (normalised), by URL: the one of the same identity
    (labels aside), the first saved where older copies made two."""
    keys = {url: identity_key(url) for url in wanted}
    found = _ids_by_identity(db, list(dict.fromkeys(keys.values())))
    return {url: found[key] for url, key in keys.items() if key in found}


def _ids_by_identity(db: sqlite_utils.Database, wanted: Sequence[str]) -> dict[str, int]:
    """Search ids by identity. A list about as long as the library is matched by reading the
    library once: looking 100,000 long URLs up in the index costs several times more."""
    (largest,) = db.conn.execute("SELECT coalesce(max(id), 0) FROM searches").fetchone()
    if len(wanted) > 1000 and largest < 4 * len(wanted):
        want = set(wanted)
        rows = db.conn.execute("SELECT id, identity FROM searches ORDER BY id DESC").fetchall()
        return {key: int(sid) for sid, key in rows if key in want}  # the lowest id written last
    sql = "SELECT min(id), identity FROM searches WHERE identity IN ({marks}) GROUP BY identity"
    return {key: int(sid) for sid, key in _rows_in(db, sql, wanted)}


def update_searches(db: sqlite_utils.Database, changes: dict[int, dict[str, Any]]) -> int:
    """Apply edits from the library (label, tags, notes, archived); returns rows changed."""
    allowed = {"label", "tags", "notes", "archived"}
    changed = 0
    with db.conn:
        for sid, fields in changes.items():
            fields = {k: v for k, v in fields.items() if k in allowed}
            if "archived" in fields:
                fields["archived"] = int(bool(fields["archived"]))
            if "label" in fields and not str(fields["label"] or "").strip():
                fields.pop("label")  # a search always keeps a name
            if not fields:
                continue
            sets = ", ".join(f"{k} = ?" for k in fields)
            changed += db.conn.execute(
                f"UPDATE searches SET {sets} WHERE id = ?", [*fields.values(), sid]
            ).rowcount
    return changed


def tag_searches(db: sqlite_utils.Database, ids: Sequence[int], tag: str) -> None:
    """Add one tag to many saved searches at once."""
    current = _rows_in(db, "SELECT id, tags FROM searches WHERE id IN ({marks})", list(ids))
    with db.conn:
        db.conn.executemany(
            "UPDATE searches SET tags = ? WHERE id = ?",
            [(_merge_tags(tags, tag), sid) for sid, tags in current],
        )


def find_search_id(db: sqlite_utils.Database, url: str) -> int | None:
    """The saved search of a URL: the very URL, else one of the same identity (labels aside)."""
    row = db.conn.execute("SELECT id FROM searches WHERE url = ?", [url]).fetchone()
    if row is None:
        row = db.conn.execute(
            "SELECT min(id) FROM searches WHERE identity = ?", [identity_key(url)]
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def searches_frame(db: sqlite_utils.Database, *, include_archived: bool = False) -> pd.DataFrame:
    where = "" if include_archived else "WHERE archived = 0"
    return pd.read_sql_query(
        f"SELECT id, label, url, tags, notes, created_at, archived, origin FROM searches {where} "
        "ORDER BY id",
        db.conn,
    )


def _found_where(find: str, include_archived: bool) -> tuple[str, list[Any]]:
    """The WHERE of a library search: every word in the label, tags or notes (case aside)."""
    clauses = [] if include_archived else ["archived = 0"]
    params: list[Any] = []
    for word in find.split():
        clauses.append("(label || ' ' || tags || ' ' || notes) LIKE ? ESCAPE '\\'")
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.append(f"%{escaped}%")
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def count_found(
    db: sqlite_utils.Database, *, find: str = "", include_archived: bool = False
) -> int:
    """How many saved searches a library search finds."""
    where, params = _found_where(find, include_archived)
    return int(db.conn.execute(f"SELECT COUNT(*) FROM searches {where}", params).fetchone()[0])


def library_page(
    db: sqlite_utils.Database,
    *,
    find: str = "",
    include_archived: bool = False,
    offset: int = 0,
    limit: int = 500,
) -> pd.DataFrame:
    """One page of what a library search finds, as the Searches page shows it.

    100,000 saved searches are 50 MB of URLs: a page is what a browser can take on each rerun.
    """
    where, params = _found_where(find, include_archived)
    return pd.read_sql_query(
        f"SELECT id, label, url, tags, notes, created_at, archived, origin FROM searches {where} "
        "ORDER BY id LIMIT ? OFFSET ?",
        db.conn,
        params=[*params, limit, offset],
    )


def ids_found(
    db: sqlite_utils.Database, *, find: str = "", include_archived: bool = False
) -> list[int]:
    """Every search a library search finds (for bulk tagging or archiving all of them)."""
    where, params = _found_where(find, include_archived)
    return [
        int(r[0]) for r in db.conn.execute(f"SELECT id FROM searches {where} ORDER BY id", params)
    ]


def filters_described(db: sqlite_utils.Database, ids: Sequence[int]) -> dict[int, str]:
    """Each search's decoded filters in one line, for tooltips."""
    return {
        int(row["id"]): " · ".join(f.describe() for f in urls.validate(row["url"]).filters)
        for row in searches_by_ids(db, [int(i) for i in ids])
    }


def searches_by_ids(db: sqlite_utils.Database, ids: Sequence[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    marks = ",".join("?" for _ in ids)
    return list(db.query(f"SELECT * FROM searches WHERE id IN ({marks}) ORDER BY id", list(ids)))


# ---------------------------------------------------------------- runs


def record_run(
    db: sqlite_utils.Database,
    run_uid: str,
    *,
    name: str | None,
    search_ids: Sequence[int],
    callback_on: str | None,
    status: str = "QUEUED",
    created_at: str | None = None,
    origin: str = "submitted",
    scheduled_run_uid: str | None = None,
) -> None:
    """Remember a run we submitted (or a schedule of ours started) and which searches it measures."""
    stamp = created_at or now_utc()
    with db.conn:
        db.conn.execute(
            "INSERT INTO runs (run_uid, name, status, callback_on, inputs_count, created_at, "
            "updated_at, origin, scheduled_run_uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(run_uid) DO UPDATE SET name=excluded.name, "
            "inputs_count=excluded.inputs_count, callback_on=excluded.callback_on, "
            "origin=excluded.origin, "
            "scheduled_run_uid=coalesce(excluded.scheduled_run_uid, runs.scheduled_run_uid)",
            [
                run_uid,
                name,
                status,
                callback_on,
                len(search_ids),
                stamp,
                stamp,
                origin,
                scheduled_run_uid,
            ],
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO run_inputs (run_uid, search_id) VALUES (?, ?)",
            [(run_uid, sid) for sid in search_ids],
        )


def adopt_run(db: sqlite_utils.Database, placeholder: str, run_uid: str, status: str) -> None:
    """A run found at Edges takes the place of the placeholder recorded when its submission's
    answer was lost: its searches, name and count; a row its callbacks made already is kept."""
    with db.conn:
        exists = db.conn.execute("SELECT 1 FROM runs WHERE run_uid = ?", [run_uid]).fetchone()
        if exists:
            db.conn.execute(
                "UPDATE runs SET (name, callback_on, inputs_count, origin) = (SELECT name, "
                "callback_on, inputs_count, origin FROM runs WHERE run_uid = ?) WHERE run_uid = ?",
                [placeholder, run_uid],
            )
            db.conn.execute("DELETE FROM runs WHERE run_uid = ?", [placeholder])
        else:
            db.conn.execute(
                "UPDATE runs SET run_uid = ?, status = ? WHERE run_uid = ?",
                [run_uid, status if status != "UNKNOWN" else "QUEUED", placeholder],
            )
        db.conn.execute(
            "UPDATE OR IGNORE run_inputs SET run_uid = ? WHERE run_uid = ?", [run_uid, placeholder]
        )
        db.conn.execute("DELETE FROM run_inputs WHERE run_uid = ?", [placeholder])


def runs_frame(db: sqlite_utils.Database) -> pd.DataFrame:
    """Runs with how many results and errors have come home, newest first."""
    return pd.read_sql_query(
        """
        SELECT r.run_uid, r.name, r.status, r.inputs_count,
               (SELECT COUNT(*) FROM observations o WHERE o.run_uid = r.run_uid) AS results,
               (SELECT COUNT(*) FROM input_errors e WHERE e.run_uid = r.run_uid) AS errors,
               r.created_at, r.last_callback_at, r.callback_on
        FROM runs r ORDER BY r.created_at DESC
        """,
        db.conn,
    )


def set_run_status(db: sqlite_utils.Database, run_uid: str, status: str) -> None:
    with db.conn:
        db.conn.execute(
            "UPDATE runs SET status = ?, updated_at = ? WHERE run_uid = ?",
            [status, now_utc(), run_uid],
        )


def run_detail(db: sqlite_utils.Database, run_uid: str) -> pd.DataFrame:
    """Each input of a run with its result or its error (or neither yet)."""
    return pd.read_sql_query(
        """
        SELECT s.id AS search_id, s.label, o.total_results, e.label AS error,
               e.message AS error_message, COALESCE(o.observed_at, e.observed_at) AS received_at,
               COALESCE(o.source, e.source) AS came_by
        FROM run_inputs i JOIN searches s ON s.id = i.search_id
        LEFT JOIN observations o ON o.run_uid = i.run_uid AND o.search_id = i.search_id
        LEFT JOIN input_errors e ON e.run_uid = i.run_uid AND e.search_id = i.search_id
        WHERE i.run_uid = ? ORDER BY s.label
        """,
        db.conn,
        params=[run_uid],
    )


def record_schedule(
    db: sqlite_utils.Database, answer: dict[str, Any], *, name: str, search_ids: Sequence[int]
) -> None:
    with db.conn:
        db.conn.execute(
            "INSERT OR REPLACE INTO schedules (schedule_uid, name, cron, timezone, search_ids, "
            "status, next_execution_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                answer["schedule_uid"],
                name,
                answer.get("cron"),
                answer.get("timezone") or "UTC",
                json.dumps(list(search_ids)),
                answer.get("status") or "ACTIVE",
                answer.get("next_execution_at"),
                answer.get("created_at") or now_utc(),
            ],
        )


def schedules_frame(db: sqlite_utils.Database) -> pd.DataFrame:
    """Schedules made here, with how many runs each has produced so far."""
    return pd.read_sql_query(
        """
        SELECT sc.schedule_uid, sc.name, sc.cron, sc.timezone, sc.status, sc.next_execution_at,
               json_array_length(sc.search_ids) AS searches,
               (SELECT COUNT(*) FROM runs r WHERE r.scheduled_run_uid = sc.schedule_uid) AS runs,
               sc.created_at
        FROM schedules sc ORDER BY sc.created_at DESC
        """,
        db.conn,
    )


# ---------------------------------------------------------------- callbacks and results


@dataclass(frozen=True)
class CallbackOutcome:
    duplicate: bool
    run_uid: str
    attempts: int


class CallbackRejected(ValueError):
    """An authenticated body that cannot be understood; it goes to the dead-letter table."""


@functools.lru_cache(maxsize=65536)
def _canonical(raw_url: str) -> tuple[str, str]:
    """The normalised URL and label of a URL as it came in a callback (cached: searches recur)."""
    verdict = urls.validate(raw_url)
    return verdict.url or raw_url.strip(), verdict.label or raw_url.strip()


def _resolve_search(
    db: sqlite_utils.Database, input_obj: Any, custom_data: Any, received_at: str
) -> int | None:
    """Find the saved search a result belongs to; create one from the URL if this DB lacks it.

    The URL decides: a standalone receiver may serve runs sent from another database, where the
    `search_id` in custom_data means something else. Runs sent from here carry the canonical URL,
    so the first lookup usually hits without decoding anything.
    """
    raw = (
        input_obj.get("sales_navigator_company_search_url") if isinstance(input_obj, dict) else None
    )
    if isinstance(raw, str) and raw.strip():
        found = find_search_id(db, raw)
        if found is not None:
            return found
        url, label = _canonical(raw)
        found = find_search_id(db, url)
        if found is not None:
            return found
        cursor = db.conn.execute(
            "INSERT INTO searches (url, label, created_at, origin, identity) "
            "VALUES (?, ?, ?, 'callback', ?)",
            [url, label, received_at, identity_key(url)],
        )
        return int(cursor.lastrowid or 0)
    if isinstance(custom_data, dict):
        sid = custom_data.get("search_id")
        if (
            isinstance(sid, int)
            and db.conn.execute("SELECT 1 FROM searches WHERE id = ?", [sid]).fetchone()
        ):
            return sid
    return None


FINAL_STATUSES_SQL = ",".join(f"'{s}'" for s in sorted(FINAL_STATUSES))


def touch_run(db: sqlite_utils.Database, run: dict[str, Any], received_at: str) -> None:
    """Create the run if unknown; move its status forward (a final status never goes back)."""
    status = str(run.get("status") or "RUNNING").upper()
    if status not in FINAL_STATUSES:
        status = "RUNNING"
    db.conn.execute(
        "INSERT INTO runs (run_uid, status, created_at, updated_at, last_callback_at, origin, "
        "scheduled_run_uid) VALUES (?, ?, ?, ?, ?, 'callback', ?) "
        "ON CONFLICT(run_uid) DO UPDATE SET "
        f"status = CASE WHEN excluded.status IN ({FINAL_STATUSES_SQL}) THEN excluded.status "
        f"WHEN runs.status IN ({FINAL_STATUSES_SQL}) THEN runs.status ELSE 'RUNNING' END, "
        "updated_at = excluded.updated_at, last_callback_at = excluded.last_callback_at",
        [
            run["run_uid"],
            status,
            received_at,
            received_at,
            received_at,
            _text(run.get("scheduled_run_uid")),
        ],
    )


def total_of(results: Any) -> int | None:
    """The `total_results` of a callback's or an output's results, or None when there is none."""
    if isinstance(results, list) and results and isinstance(results[0], dict):
        value = results[0].get("total_results")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise CallbackRejected(f"total_results is {type(value).__name__}, not an integer")
        if not -(2**63) <= value < 2**63:
            raise CallbackRejected("total_results does not fit a 64-bit integer")
        return value
    return None


def record_result(
    db: sqlite_utils.Database,
    *,
    run_uid: str,
    input_obj: Any,
    custom_data: Any,
    total: int | None,
    error: Any,
    observed_at: str,
    callback_ref_uid: str | None,
    source: str,
) -> bool:
    """Write one input's outcome: an observation, or an error (never a zero for an error).

    Returns whether anything new was written.
    """
    search_id = _resolve_search(db, input_obj, custom_data, observed_at)
    if search_id is None:
        return False
    db.conn.execute(
        "INSERT OR IGNORE INTO run_inputs (run_uid, search_id) VALUES (?, ?)", [run_uid, search_id]
    )
    if total is not None:
        cursor = db.conn.execute(
            "INSERT OR IGNORE INTO observations (search_id, run_uid, total_results, observed_at, "
            "callback_ref_uid, source) VALUES (?, ?, ?, ?, ?, ?)",
            [search_id, run_uid, total, observed_at, callback_ref_uid, source],
        )
        if cursor.rowcount:
            db.conn.execute(
                "DELETE FROM input_errors WHERE run_uid = ? AND search_id = ?", [run_uid, search_id]
            )
        return bool(cursor.rowcount)
    if isinstance(error, dict):
        if db.conn.execute(
            "SELECT 1 FROM observations WHERE run_uid = ? AND search_id = ?", [run_uid, search_id]
        ).fetchone():
            return False
        cursor = db.conn.execute(
            "INSERT INTO input_errors (search_id, run_uid, label, message, scope, observed_at, "
            "callback_ref_uid, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(run_uid, search_id) DO NOTHING",
            [
                search_id,
                run_uid,
                _text(error.get("error_label")),
                _text(error.get("message")),
                _text(error.get("error_scope")),
                observed_at,
                callback_ref_uid,
                source,
            ],
        )
        return bool(cursor.rowcount)
    return False


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def parse_callback(raw: bytes) -> dict[str, Any]:
    """Decode and check everything the store relies on, before anything is written."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CallbackRejected(f"invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise CallbackRejected("the body is not a JSON object")
    ref = body.get("callback_ref_uid")
    if not isinstance(ref, str) or not ref.strip():
        raise CallbackRejected("callback_ref_uid is missing or not a string")
    run = body.get("run")
    if not isinstance(run, dict) or not isinstance(run.get("run_uid"), str):
        raise CallbackRejected("run.run_uid is missing or not a string")
    for key in ("input", "error"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise CallbackRejected(f"{key} is not an object")
    if body.get("results") is not None and not isinstance(body["results"], list):
        raise CallbackRejected("results is not a list")
    body["_total"] = total_of(body.get("results"))
    return body


def apply_callback(
    db: sqlite_utils.Database,
    body: dict[str, Any],
    raw: bytes,
    *,
    delivery_id: str | None,
    received_at: str,
    update_run: bool = True,
) -> CallbackOutcome:
    """Store one parsed callback inside the caller's transaction; a repeat only bumps its count.

    A caller writing many callbacks at once may pass `update_run=False` and call `touch_run` once
    per run instead.
    """
    ref = body["callback_ref_uid"]
    run_uid = body["run"]["run_uid"]
    attempts = db.conn.execute(
        "INSERT INTO callbacks (callback_ref_uid, run_uid, body, delivery_ids, first_received_at, "
        "last_received_at, attempts) VALUES (?, ?, ?, "
        "CASE WHEN ? IS NULL THEN '[]' ELSE json_array(?) END, ?, ?, 1) "
        "ON CONFLICT(callback_ref_uid) DO UPDATE SET attempts = attempts + 1, "
        "last_received_at = excluded.last_received_at, delivery_ids = CASE "
        "WHEN ? IS NULL OR EXISTS (SELECT 1 FROM json_each(callbacks.delivery_ids) "
        "WHERE value = ?) THEN callbacks.delivery_ids "
        "ELSE json_insert(callbacks.delivery_ids, '$[#]', ?) END "
        "RETURNING attempts",
        [
            ref,
            run_uid,
            raw.decode("utf-8"),
            delivery_id,
            delivery_id,
            received_at,
            received_at,
            delivery_id,
            delivery_id,
            delivery_id,
        ],
    ).fetchone()[0]
    if attempts > 1:
        return CallbackOutcome(duplicate=True, run_uid=run_uid, attempts=attempts)
    if update_run:
        touch_run(db, body["run"], received_at)
    input_obj = body.get("input")
    total = body["_total"] if "_total" in body else total_of(body.get("results"))
    if input_obj is not None or total is not None or body.get("error"):
        custom = body.get("custom_data")
        if custom is None and isinstance(input_obj, dict):
            custom = input_obj.get("custom_data")
        record_result(
            db,
            run_uid=run_uid,
            input_obj=input_obj,
            custom_data=custom,
            total=total,
            error=body.get("error"),
            observed_at=received_at,
            callback_ref_uid=ref,
            source="callback",
        )
    return CallbackOutcome(duplicate=False, run_uid=run_uid, attempts=1)


def dead_letter(
    db: sqlite_utils.Database, raw: bytes, reason: str, content_type: str | None, received_at: str
) -> None:
    db.conn.execute(
        "INSERT INTO dead_letters (received_at, reason, content_type, body) VALUES (?, ?, ?, ?)",
        [received_at, reason, content_type, raw],
    )


# ---------------------------------------------------------------- reading for charts and exports


def observations_frame(
    db: sqlite_utils.Database, search_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Every observation with its search's label and URL; observed_at as UTC timestamps."""
    where, params = "", []
    if search_ids:
        where = f"WHERE o.search_id IN ({','.join('?' for _ in search_ids)})"
        params = list(search_ids)
    frame = pd.read_sql_query(
        f"""
        SELECT o.search_id, s.label, s.url AS search_url, o.total_results, o.observed_at,
               o.run_uid, o.callback_ref_uid, o.source
        FROM observations o JOIN searches s ON s.id = o.search_id
        {where} ORDER BY o.observed_at, o.search_id
        """,
        db.conn,
        params=params,
    )
    frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True, format="ISO8601")
    return frame


# SQLite parses the stored ISO 8601 times itself (in C): milliseconds since the epoch.
_EPOCH_MS = "(julianday(observed_at) - 2440587.5) * 86400000.0"


def measurements_frame(
    db: sqlite_utils.Database, search_ids: Sequence[int] | None = None, *, light: bool = False
) -> pd.DataFrame:
    """Observations and failed measurements together: a failure is a row without a number.

    Charts draw a failure as a gap in the line, never as a zero. Labels and tags are joined from
    the (small) searches table in pandas rather than repeated by SQLite for every row. `light`
    leaves out run and error, for ranking many searches before drawing a few.
    """
    extra = "" if light else ", run_uid, NULL AS error"
    extra_errors = "" if light else ", run_uid, COALESCE(label, message)"
    where, params = "", []
    if search_ids:
        where = f"WHERE search_id IN ({','.join('?' for _ in search_ids)})"
        params = list(search_ids) * 2
    frame = pd.read_sql_query(
        f"""
        SELECT search_id, total_results, {_EPOCH_MS} AS observed_at{extra}
        FROM observations {where}
        UNION ALL
        SELECT search_id, NULL, {_EPOCH_MS}{extra_errors}
        FROM input_errors {
            where.replace("WHERE", "WHERE search_id IS NOT NULL AND")
            or "WHERE search_id IS NOT NULL"
        }
        """,
        db.conn,
        params=params,
    )
    names = pd.read_sql_query("SELECT id, label, tags FROM searches", db.conn).set_index("id")
    frame.insert(1, "label", frame["search_id"].map(names["label"]))
    frame.insert(2, "tags", frame["search_id"].map(names["tags"]))
    frame["observed_at"] = pd.to_datetime(frame["observed_at"].round(), unit="ms", utc=True)
    frame["total_results"] = frame["total_results"].astype("Float64")
    return frame


def save_breakdown(
    db: sqlite_utils.Database,
    *,
    name: str,
    base_search_id: int,
    dimensions: list[str],
    cells: Sequence[Any],
) -> tuple[int, list[int]]:
    """Keep a market map: its cells become saved searches tagged with the map's name."""
    rows = [
        Row(line=n, text=c.url, label=c.label, tags=f"map: {name}")
        for n, c in enumerate(cells, start=1)
    ]
    report = save_searches(db, rows, origin="breakdown")
    with db.conn:
        cursor = db.conn.execute(
            "INSERT INTO breakdowns (name, base_search_id, dimensions, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET base_search_id = "
            "excluded.base_search_id, dimensions = excluded.dimensions RETURNING id",
            [name, base_search_id, json.dumps(dimensions), now_utc()],
        )
        breakdown_id = int(cursor.fetchone()[0])
        db.conn.execute("DELETE FROM breakdown_cells WHERE breakdown_id = ?", [breakdown_id])
        db.conn.executemany(
            "INSERT INTO breakdown_cells (breakdown_id, search_id, first_label, second_label, "
            "position) VALUES (?, ?, ?, ?, ?)",
            [
                (breakdown_id, sid, c.first.label, c.second.label if c.second else None, n)
                for n, (sid, c) in enumerate(zip(report.ids, cells, strict=True))
            ],
        )
    return breakdown_id, report.ids


def breakdowns_frame(db: sqlite_utils.Database) -> pd.DataFrame:
    return pd.read_sql_query(
        "SELECT b.id, b.name, b.base_search_id, s.label AS base, b.dimensions, b.created_at, "
        "(SELECT COUNT(*) FROM breakdown_cells c WHERE c.breakdown_id = b.id) AS cells "
        "FROM breakdowns b JOIN searches s ON s.id = b.base_search_id ORDER BY b.created_at DESC",
        db.conn,
    )


def recently_measured(db: sqlite_utils.Database, search_ids: Sequence[int], days: int) -> set[int]:
    """Which of these searches have a measurement in the last `days` days (reuse, don't pay)."""
    if not search_ids:
        return set()
    since = (datetime.now(UTC) - timedelta(days=days)).isoformat().replace("+00:00", "Z")
    sql = "SELECT DISTINCT search_id FROM observations WHERE observed_at >= ? AND search_id IN ({marks})"
    return {int(r[0]) for r in _rows_in(db, sql, search_ids, since)}


def map_frame(db: sqlite_utils.Database, breakdown_id: int) -> pd.DataFrame:
    """Each cell of a map with all its measurements (for the latest value and the change)."""
    cells = pd.read_sql_query(
        "SELECT c.search_id, c.first_label, c.second_label, c.position, s.label, s.url "
        "FROM breakdown_cells c JOIN searches s ON s.id = c.search_id "
        "WHERE c.breakdown_id = ? ORDER BY c.position",
        db.conn,
        params=[breakdown_id],
    )
    measurements = measurements_frame(db, [int(i) for i in cells["search_id"]] or [-1])
    return cells.merge(
        measurements[["search_id", "total_results", "observed_at"]], on="search_id", how="left"
    )


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    with db.conn:
        db.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, value])


def restamp_run(db: sqlite_utils.Database, run_uid: str, when: str) -> None:
    """Date a run's measurements by when the run ran (the demo history's simulated dates)."""
    with db.conn:
        for table in ("observations", "input_errors"):
            db.conn.execute(
                f"UPDATE {table} SET observed_at = ? WHERE run_uid = ?", [when, run_uid]
            )
        db.conn.execute("UPDATE runs SET created_at = ? WHERE run_uid = ?", [when, run_uid])


def remove_demo(db: sqlite_utils.Database) -> int:
    """Delete the demo history: its searches, runs and everything measured by them."""
    with db.conn:
        ids = [r[0] for r in db.conn.execute("SELECT id FROM searches WHERE origin = 'demo'")]
        runs = [r[0] for r in db.conn.execute("SELECT run_uid FROM runs WHERE origin = 'demo'")]
        for run_uid in runs:
            for table in ("observations", "input_errors", "run_inputs", "callbacks"):
                db.conn.execute(f"DELETE FROM {table} WHERE run_uid = ?", [run_uid])
            db.conn.execute("DELETE FROM runs WHERE run_uid = ?", [run_uid])
        for sid in ids:
            for table in ("observations", "input_errors", "run_inputs"):
                db.conn.execute(f"DELETE FROM {table} WHERE search_id = ?", [sid])
            db.conn.execute("DELETE FROM searches WHERE id = ?", [sid])
    return len(ids)


def counts(db: sqlite_utils.Database) -> dict[str, Any]:
    """The figures the Overview page shows."""

    def one(sql: str) -> Any:
        return db.conn.execute(sql).fetchone()[0]

    return {
        "searches": one("SELECT COUNT(*) FROM searches WHERE archived = 0"),
        "observations": one("SELECT COUNT(*) FROM observations"),
        "runs_active": one(f"SELECT COUNT(*) FROM runs WHERE status NOT IN ({FINAL_STATUSES_SQL})"),
        "last_callback": one("SELECT MAX(last_received_at) FROM callbacks"),
        "dead_letters": one("SELECT COUNT(*) FROM dead_letters"),
    }
