"""Runs: send saved searches to Edges, and follow each run until its results are home."""

import streamlit as st

from navmetrics import runs, store
from navmetrics.ui import context
from navmetrics.ui.errors import error_box

st.title("Runs")
settings = context.settings()
db = context.database(settings)
library = store.searches_frame(db)

with st.form("submit"):
    st.caption(f"Mode: **{settings.mode}**")
    choices = dict(
        zip(library["label"] + "  ·  #" + library["id"].astype(str), library["id"], strict=True)
    )
    picked = st.multiselect("Saved searches to measure (none picked: all)", list(choices))
    name = st.text_input("Run name", value="NavMetrics run")
    mode = st.selectbox(
        "Identity mode", ["auto", "managed", "direct"], help="managed costs 1.5× credits"
    )
    send = st.form_submit_button("Submit", type="primary", disabled=library.empty)

if send:
    ids = [int(choices[p]) for p in picked] or [int(i) for i in library["id"]]
    try:
        plan = runs.plan_for(settings, ids, name=name, identity_mode=mode)
        st.info(plan.describe())
        with context.client(settings) as client:
            result = runs.submit(db, client, plan)
        for uid in result.run_uids:
            st.success(f"Run {uid} submitted.")
        for name_ in result.unknown:
            st.warning(f"'{name_}': the answer was lost and no such run was found; resend it.")
    except Exception as exc:  # every failure is shown, never a traceback
        error_box(exc)


@st.fragment(run_every=2)
def progress() -> None:
    table = store.runs_frame(db)
    if table.empty:
        st.info("No runs yet.")
        return
    for run in table.head(5).itertuples():
        done = run.results + run.errors
        st.progress(
            min(done / max(run.inputs_count, 1), 1.0),
            text=f"{run.name}: {run.results} results, {run.errors} errors of "
            f"{run.inputs_count} · {run.status}",
        )
    st.dataframe(table, hide_index=True)


st.subheader("Runs")
progress()
