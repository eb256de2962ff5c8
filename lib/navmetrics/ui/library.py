"""The library of saved searches: find, page through, edit in place, tag or archive in bulk.

A library of 100,000 searches holds 50 MB of URLs; the page shows what a search finds, 500 rows
at a time, so each rerun sends the browser a page and not the library.
"""

from __future__ import annotations

import pandas as pd
import sqlite_utils
import streamlit as st

from navmetrics import store
from navmetrics.ui.search_picker import pick_searches

PAGE_ROWS = 500


def library_editor(db: sqlite_utils.Database) -> None:
    left, right = st.columns([3, 1])
    find = left.text_input(
        "Find in the library", placeholder="words of a label, a tag or a note", key="find"
    )
    show_archived = right.toggle("Show archived searches")
    total = store.count_found(db, find=find, include_archived=show_archived)
    pages = max(1, -(-total // PAGE_ROWS))
    page = 1
    if pages > 1:
        page = int(right.number_input("Page", min_value=1, max_value=pages, value=1, step=1))
    frame = store.library_page(
        db,
        find=find,
        include_archived=show_archived,
        offset=(page - 1) * PAGE_ROWS,
        limit=PAGE_ROWS,
    )
    st.subheader(f"Library ({total:,})")
    if frame.empty:
        st.info(
            "Nothing in the library matches these words."
            if find.strip()
            else "No saved searches yet: paste a few URLs above."
        )
        return
    if pages > 1:
        first = (page - 1) * PAGE_ROWS + 1
        st.caption(f"Showing {first:,}–{first + len(frame) - 1:,} of {total:,}; find narrows it.")
    frame["archived"] = frame["archived"].astype(bool)
    editor = f"library-{page}-{find}-{show_archived}"  # edits belong to the rows they were made on
    st.data_editor(
        frame,
        hide_index=True,
        key=editor,
        disabled=["id", "url", "created_at", "origin"],
        column_config={
            "url": st.column_config.LinkColumn("Open in Sales Navigator", display_text="open"),
            "label": st.column_config.TextColumn("Label", required=True),
            "archived": st.column_config.CheckboxColumn("Archived"),
        },
    )
    changes = st.session_state[editor].get("edited_rows", {})
    if changes and st.button("Save changes to the library", type="primary"):
        by_id = {int(frame.iloc[row]["id"]): fields for row, fields in changes.items()}
        st.success(f"Saved changes to {store.update_searches(db, by_id)} search(es).")
        st.rerun()
    bulk(db, frame, find, show_archived, total)


def bulk(
    db: sqlite_utils.Database, frame: pd.DataFrame, find: str, show_archived: bool, total: int
) -> None:
    with st.expander("Bulk: tag or archive several searches"):
        every = st.checkbox(
            f"All {total:,} searches {'found' if find.strip() else 'in the library'}"
            + (" (archived ones included)" if show_archived else "")
        )
        picked = [] if every else pick_searches(frame, "Searches", key="bulk-picked")
        chosen = total > 0 if every else bool(picked)
        tag = st.text_input("Tag to add")
        left, right = st.columns(2)
        add = left.button("Add tag", disabled=not (chosen and tag.strip()))
        archive = right.button("Archive", disabled=not chosen)
        if add or archive:
            # "All found" is read only when a button asks for it, not on every rerun
            ids = (
                store.ids_found(db, find=find, include_archived=show_archived) if every else picked
            )
            if add:
                store.tag_searches(db, ids, tag.strip())
            else:
                store.update_searches(db, {i: {"archived": True} for i in ids})
            st.rerun()
