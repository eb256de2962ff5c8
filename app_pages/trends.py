"""Trends: every saved search over time, segments side by side, numbers out."""

import streamlit as st

from navmetrics import charts, store, trends
from navmetrics.ui import context
from navmetrics.ui import trends as widgets

st.title("Trends")
settings = context.settings()
db = context.database(settings)
overview = store.measurements_frame(db, light=True)  # every search, to rank and pick from

if overview["total_results"].notna().sum() == 0:
    st.info("No measurements yet: save searches, then submit them from the Runs page.")
    st.stop()

chosen = widgets.selection(overview)["search_id"].unique().tolist()
shown = store.measurements_frame(db, chosen) if chosen else overview.iloc[0:0]
log_scale = st.toggle("Log scale")
chart = charts.trend_chart(shown, log_scale=log_scale)
st.altair_chart(chart, width="stretch")
failed = int(shown["total_results"].isna().sum())
st.caption(
    f"{int(shown['total_results'].notna().sum())} measurements of {shown['search_id'].nunique()} "
    f"searches" + (f"; {failed} failed measurement(s) shown as gaps." if failed else ".")
)
widgets.export_buttons(shown, chart)

st.subheader("Growth")
widgets.growth(shown)

st.subheader("Side by side (latest)")
latest = trends.latest_by_search(shown)
widgets.comparison(latest, store.filters_described(db, latest["search_id"].tolist()))
