"""Pick saved searches by name, from a library of ten or of a hundred thousand.

Past 1,000 searches a find box comes first and the list offers the first 1,000 it finds (a
browser cannot scroll a list of 100,000 names, nor should every rerun send one); what is picked
stays picked while the words change.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

MAX_OPTIONS = 1000


def _names(library: pd.DataFrame) -> dict[str, int]:
    """'Label  ·  #id' for each search: labels repeat, ids do not."""
    return dict(
        zip(library["label"] + "  ·  #" + library["id"].astype(str), library["id"], strict=True)
    )


def _narrowed(library: pd.DataFrame, key: str) -> pd.DataFrame:
    if len(library) <= MAX_OPTIONS:
        return library
    find = st.text_input(
        f"Find among {len(library):,} searches",
        placeholder="words of a label or a tag",
        key=f"{key}-find",
    )
    found = library
    haystack = (library["label"] + " " + library["tags"]).str.lower()
    for word in find.lower().split():
        found = found[haystack.loc[found.index].str.contains(word, regex=False)]
    if len(found) > MAX_OPTIONS:
        st.caption(
            f"{len(found):,} searches match; the first {MAX_OPTIONS:,} are offered. "
            "Add words to narrow them."
        )
    return found.head(MAX_OPTIONS)


def pick_searches(library: pd.DataFrame, label: str, key: str) -> list[int]:
    """Several saved searches; their ids in the order picked."""
    names = _names(library)
    shown = _names(_narrowed(library, key))
    picked = [name for name in st.session_state.get(key, []) if name in names]
    options = list(dict.fromkeys([*picked, *shown]))
    return [int(names[name]) for name in st.multiselect(label, options, key=key)]


def pick_one_search(library: pd.DataFrame, label: str, key: str) -> int | None:
    """One saved search; None when the find box finds nothing."""
    names = _names(library)
    shown = _names(_narrowed(library, key))
    current = st.session_state.get(key)
    options = list(dict.fromkeys([*([current] if current in names else []), *shown]))
    if not options:
        st.info("No saved search matches these words.")
        return None
    return int(names[st.selectbox(label, options, key=key)])
