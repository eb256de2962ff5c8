"""Overview: what is saved, what is running, whether callbacks can come home, what moved."""

import streamlit as st

from navmetrics import demo, store, trends
from navmetrics.services import receiver_health
from navmetrics.ui import context

st.title("NavMetrics")
st.caption("Size markets with Sales Navigator company searches, measured through Edges.")
settings = context.settings()
db = context.database(settings)
figures = store.counts(db)

left, middle, right = st.columns(3)
left.metric("Saved searches", f"{figures['searches']:,}")
middle.metric("Runs active", f"{figures['runs_active']:,}")
right.metric("Measurements", f"{figures['observations']:,}")
st.write(f"**Mode:** {settings.mode}")
st.write(f"**Last callback received:** {figures['last_callback'] or 'none yet'}")

receiver_url = f"http://{settings.receiver_host}:{settings.receiver_port}"
if receiver_health(receiver_url):
    st.success(f"Receiver healthy at {receiver_url}/callbacks")
else:
    st.error(
        f"The callback receiver at {receiver_url} does not answer. Start the dashboard with "
        "`make run`, or run `navmetrics receiver`."
    )

st.subheader("Largest moves over 30 days")
moves = trends.growth_table(store.measurements_frame(db), days=30)
if moves.empty:
    st.caption("Nothing measured twice yet.")
else:
    moves = moves.reindex(moves["change_pct"].abs().sort_values(ascending=False).index).head(5)
    st.dataframe(moves[["label", "latest", "change", "change_pct"]], hide_index=True)

if demo.state(db) in ("filling", "filled"):
    st.info("The sample searches tagged **demo** are demo history made by the simulator.")
    if st.button("Remove the demo history"):
        st.success(f"Removed {demo.remove(db)} demo searches and their measurements.")
        st.rerun()
