"""Searches: paste company-search URLs, see each verdict, keep them as saved searches."""

import streamlit as st

from navmetrics import store
from navmetrics.ui import context

st.title("Searches")
settings = context.settings()
db = context.database(settings)

with st.form("paste"):
    pasted = st.text_area(
        "Paste Sales Navigator company-search URLs, one a line",
        height=160,
        placeholder="https://www.linkedin.com/sales/search/company?query=(filters%3AList(…))",
    )
    tags = st.text_input("Tags for these searches (optional)", placeholder="mexico, q4")
    saved = st.form_submit_button("Save searches", type="primary")

if saved:
    report = store.save_searches(db, pasted.splitlines(), tags=tags.strip())
    (st.success if report.new else st.info)(f"Saved: {report.summary()}.")
    if report.invalid_lines:
        st.warning("Lines not saved, and why:")
        st.dataframe(report.invalid_lines, hide_index=True)

library = store.searches_frame(db)
st.subheader(f"Library ({len(library)})")
if library.empty:
    st.info("No saved searches yet: paste a few URLs above.")
else:
    st.dataframe(
        library,
        hide_index=True,
        column_config={"url": st.column_config.LinkColumn("URL", display_text="open")},
    )
