"""Runs: send saved searches to Edges (preview first), follow them home, schedule them."""

import streamlit as st

from navmetrics.ui import context
from navmetrics.ui.runs import progress_panel, run_panel, schedules_panel, submit_panel

st.title("Runs")
settings = context.settings()
db = context.database(settings)
st.caption(f"Mode: **{settings.mode}**")

with st.container(border=True):
    st.subheader("Send")
    submit_panel(db, settings)

st.subheader("Progress")
progress_panel(db)

st.subheader("One run")
run_panel(db, settings)

st.subheader("Schedules")
schedules_panel(db)
