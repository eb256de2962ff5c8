"""The Runs page's panels: send (with a preview first), follow, look into one run, schedules."""

from __future__ import annotations

import sqlite_utils
import streamlit as st

from navmetrics import runs, store, sync
from navmetrics.config import Settings
from navmetrics.ui import context
from navmetrics.ui.errors import error_box
from navmetrics.ui.search_picker import pick_searches


def submit_panel(db: sqlite_utils.Database, settings: Settings) -> None:
    library = store.searches_frame(db)
    if library.empty:
        st.info("No saved searches yet: add some on the Searches page.")
        return
    by = st.radio(
        "Measure", ["searches I pick", "every search with a tag", "all searches"], horizontal=True
    )
    if by == "searches I pick":
        ids = pick_searches(library, "Saved searches", key="run-picked")
    elif by == "every search with a tag":
        tag = st.selectbox("Tag", store.all_tags(library["tags"]) or ["(no tags yet)"])
        ids = [
            int(i)
            for i, t in zip(library["id"], library["tags"], strict=True)
            if tag in store.split_tags(t)
        ]
    else:
        ids = [int(i) for i in library["id"]]
    left, right = st.columns(2)
    name = left.text_input("Run name", value="NavMetrics run")
    mode = right.selectbox(
        "Identity mode",
        ["auto", "managed", "direct"],
        help="auto: any identity of your workspace · managed: Edges' pool, 1.5× credits · "
        "direct: the identities you name",
    )
    identity_ids = []
    if mode == "direct":
        raw = st.text_input("Identity ids (comma separated)")
        identity_ids = [i.strip() for i in raw.split(",") if i.strip()]
    on = left.selectbox("Callbacks", ["all", "final"], help="all: one per input as it finishes")
    recurring = right.toggle("Recurring measurement (schedule)")
    cron = timezone = ""
    if recurring:
        preset = left.selectbox("Every", [*runs.CRON_PRESETS, "custom cron"])
        cron = (
            right.text_input("Cron (5 fields)", value="0 9 * * 1")
            if preset == "custom cron"
            else runs.CRON_PRESETS[preset]
        )
        timezone = left.text_input("Time zone (IANA)", value="UTC")
    if not ids:
        st.caption("Pick at least one saved search.")
        return
    try:
        plan = runs.plan_for(
            settings, ids, name=name, identity_mode=mode, identity_ids=identity_ids, callback_on=on
        )
    except ValueError as exc:
        st.warning(str(exc))
        return
    st.info(
        f"**Preview:** {plan.describe()}"
        + (f" Repeats on cron '{cron}' ({timezone})." if recurring else "")
    )
    if not st.button("Send", type="primary"):
        return
    try:
        with context.client(settings) as client:
            if recurring:
                uid = runs.schedule(db, client, plan, cron=cron, timezone=timezone)
                st.success(f"Schedule {uid} created.")
                return
            result = runs.submit(db, client, plan)
        for uid in result.run_uids:
            st.success(f"Run {uid} submitted.")
        for lost in result.unknown:
            st.warning(
                f"'{lost}': the answer was lost and Edges does not list the run (yet). NavMetrics "
                "looks for it again in the background; if it is still marked UNKNOWN in an hour, "
                "send it again."
            )
    except Exception as exc:  # every failure is shown with what to do, never as a traceback
        error_box(exc)


def progress_panel(db: sqlite_utils.Database) -> None:
    table = store.runs_frame(db)
    active = bool((~table["status"].isin(store.FINAL_STATUSES)).any()) if not table.empty else False

    @st.fragment(run_every=2 if active else None)
    def draw() -> None:
        table = store.runs_frame(db)
        if table.empty:
            st.info("No runs yet.")
            return
        for run in table.head(5).to_dict("records"):
            done, inputs = int(run["results"]) + int(run["errors"]), int(run["inputs_count"])
            st.progress(
                min(done / max(inputs, 1), 1.0),
                text=f"{run['name']}: {int(run['results']):,} results, "
                f"{int(run['errors']):,} errors of {inputs:,} · {run['status']}",
            )
        st.dataframe(table, hide_index=True)

    draw()


def run_panel(db: sqlite_utils.Database, settings: Settings) -> None:
    table = store.runs_frame(db)
    if table.empty:
        return
    labels = dict(
        zip(
            table["name"].fillna("(from a callback)") + " · " + table["run_uid"],
            table["run_uid"],
            strict=True,
        )
    )
    run_uid = labels[st.selectbox("Run", list(labels))]
    status = table.set_index("run_uid").loc[run_uid, "status"]
    st.dataframe(store.run_detail(db, run_uid), hide_index=True)
    left, right = st.columns(2)
    try:
        if left.button("Sync this run with Edges"):
            with context.client(settings) as client:
                st.info(sync.sync(db, client, [run_uid]).summary())
        if status not in store.FINAL_STATUSES and right.button("Cancel this run"):
            with context.client(settings) as client:
                runs.cancel(db, client, run_uid)
            st.success("Cancelled: Edges sends no further callbacks for it.")
    except Exception as exc:  # shown with what to do
        error_box(exc)


def schedules_panel(db: sqlite_utils.Database) -> None:
    schedules = store.schedules_frame(db)
    if schedules.empty:
        st.caption("No schedules yet: turn on 'Recurring measurement' above.")
    else:
        st.dataframe(schedules, hide_index=True)
