"""Trends: total_results of every saved search over time."""

import streamlit as st

from navmetrics import charts, store
from navmetrics.ui import context

st.title("Trends")
settings = context.settings()
db = context.database(settings)
observations = store.observations_frame(db)

if observations.empty:
    st.info("No measurements yet: save searches, then submit them from the Runs page.")
else:
    labels = sorted(observations["label"].unique())
    shown = st.multiselect("Searches", labels, default=labels[:10])
    log_scale = st.toggle("Log scale")
    chosen = observations[observations["label"].isin(shown)]
    st.altair_chart(charts.trend_chart(chosen, log_scale=log_scale), width="stretch")
    st.caption(f"{len(chosen)} measurements of {chosen['label'].nunique()} searches.")
