"""Market map: one saved search split along one or two dimensions, every cell measured."""

import streamlit as st

from navmetrics.ui import context
from navmetrics.ui.market_map import new_map, show_map

st.title("Market map")
settings = context.settings()
db = context.database(settings)

with st.container(border=True):
    st.subheader("New map")
    new_map(db, settings)

st.subheader("Maps")
show_map(db)
