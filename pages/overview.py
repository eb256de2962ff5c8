"""Overview: what is saved, what is running, and whether callbacks can come home."""

import httpx
import streamlit as st

from navmetrics import store
from navmetrics.ui import context

st.title("NavMetrics")
st.caption("Size markets with Sales Navigator company searches, measured through Edges.")
settings = context.settings()
db = context.database(settings)
figures = store.counts(db)

receiver_url = f"http://{settings.receiver_host}:{settings.receiver_port}"
try:
    healthy = httpx.get(f"{receiver_url}/healthz", timeout=2).status_code == 200
except httpx.HTTPError:
    healthy = False

left, middle, right = st.columns(3)
left.metric("Saved searches", figures["searches"])
middle.metric("Runs active", figures["runs_active"])
right.metric("Measurements", figures["observations"])
st.write(f"**Mode:** {settings.mode}")
st.write(f"**Last callback received:** {figures['last_callback'] or 'none yet'}")
if healthy:
    st.success(f"Receiver healthy at {receiver_url}/callbacks")
else:
    st.error(
        f"The callback receiver at {receiver_url} does not answer. Start the dashboard with "
        "`make run`, or run `navmetrics receiver`."
    )
