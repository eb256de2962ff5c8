"""Searches: paste or upload company-search URLs, see each verdict, keep a library of searches."""

import streamlit as st

from navmetrics import store
from navmetrics.ui import context
from navmetrics.ui.intake import import_box

st.title("Searches")
settings = context.settings()
db = context.database(settings)

import_box(db)

show_archived = st.toggle("Show archived searches")
library = store.searches_frame(db, include_archived=show_archived)
st.subheader(f"Library ({len(library)})")
if library.empty:
    st.info("No saved searches yet: paste a few URLs above.")
    st.stop()

library["archived"] = library["archived"].astype(bool)
edited = st.data_editor(
    library,
    hide_index=True,
    key="library",
    disabled=["id", "url", "created_at", "origin"],
    column_config={
        "url": st.column_config.LinkColumn("Open in Sales Navigator", display_text="open"),
        "label": st.column_config.TextColumn("Label", required=True),
        "archived": st.column_config.CheckboxColumn("Archived"),
    },
)
changes = st.session_state["library"].get("edited_rows", {})
if changes and st.button("Save changes to the library", type="primary"):
    by_id = {int(library.iloc[row]["id"]): fields for row, fields in changes.items()}
    st.success(f"Saved changes to {store.update_searches(db, by_id)} search(es).")
    st.rerun()

with st.expander("Bulk: tag or archive several searches"):
    choices = dict(
        zip(library["label"] + "  ·  #" + library["id"].astype(str), library["id"], strict=True)
    )
    picked = [int(choices[p]) for p in st.multiselect("Searches", list(choices))]
    tag = st.text_input("Tag to add")
    left, right = st.columns(2)
    if left.button("Add tag", disabled=not (picked and tag.strip())):
        store.tag_searches(db, picked, tag.strip())
        st.rerun()
    if right.button("Archive", disabled=not picked):
        store.update_searches(db, {i: {"archived": True} for i in picked})
        st.rerun()
