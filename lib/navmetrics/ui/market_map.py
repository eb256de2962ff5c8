"""Widgets of the Market map page: choosing dimensions, the cost preview, and the maps."""

from __future__ import annotations

import json

import sqlite_utils
import streamlit as st

from navmetrics import breakdown, charts, runs, store
from navmetrics.config import Settings
from navmetrics.ui import context
from navmetrics.ui.downloads import table_buttons
from navmetrics.ui.errors import error_box
from navmetrics.ui.search_picker import pick_one_search

DIMENSION_NAMES = {
    "headcount": "Company headcount (8 bands)",
    "region": "Headquarters region",
    "industry": "Industry",
    "revenue": "Annual revenue bands (USD)",
    "followers": "Number of followers",
}


def dimension(
    key: str, exclude: str | None = None, optional: bool = False
) -> list[breakdown.Cell] | None:
    options = [d for d in DIMENSION_NAMES if d != exclude]
    if optional:
        options = ["none", *options]
    name = st.selectbox(
        "Second dimension" if optional else "First dimension",
        options,
        key=f"{key}-dim",
        format_func=lambda d: "none (one dimension)" if d == "none" else DIMENSION_NAMES[d],
    )
    if name == "none":
        return None
    values: list[str] | None = None
    if name in ("region", "industry"):
        preset = "the largest European countries" if name == "region" else ""
        raw = st.text_input(
            f"{DIMENSION_NAMES[name]}: LinkedIn ids, comma separated"
            + (f" (empty: {preset})" if preset else ""),
            key=f"{key}-values",
            placeholder="103644278, 101165590" if name == "region" else "4, 27, 133",
        )
        values = [v.strip() for v in raw.split(",") if v.strip()] or None
    try:
        return breakdown.cells_of(name, values)
    except breakdown.BreakdownError as exc:
        st.warning(str(exc))
        return []


def new_map(db: sqlite_utils.Database, settings: Settings) -> None:
    library = store.searches_frame(db)
    library = library[library["origin"] != "breakdown"]
    if library.empty:
        st.info("Save a search first (Searches page): a map breaks a saved search down.")
        return
    base_id = pick_one_search(library, "Base search", key="map-base")
    if base_id is None:
        return
    base_url = str(library.set_index("id").loc[base_id, "url"])
    left, right = st.columns(2)
    with left:
        first = dimension("first")
    with right:
        second = dimension("second", exclude=None, optional=True)
    if not first:
        return
    try:
        cells = breakdown.breakdown(base_url, first, *([second] if second else []))
    except breakdown.BreakdownError as exc:
        st.warning(str(exc))
        return
    dims = [first[0].dimension, *([second[0].dimension] if second else [])]
    left, right = st.columns(2)
    base_label = str(library.set_index("id").loc[base_id, "label"])
    name = left.text_input("Map name", value=f"{base_label} by {' × '.join(dims)}")
    mode = right.selectbox("Identity mode", ["auto", "managed", "direct"], key="map-mode")
    saved = store.ids_by_url(db, [c.url for c in cells])
    cell_ids = [saved.get(c.url) for c in cells]
    recent = store.recently_measured(db, [i for i in [*cell_ids, base_id] if i is not None], days=7)
    plan = breakdown.plan_measurement(cell_ids, base_id, recent, runs.IDENTITY_COST.get(mode, 1.0))
    st.info(f"**Before anything is sent:** {plan.describe()}")
    if not st.button("Save the map and measure it", type="primary"):
        return
    try:
        _, saved_ids = store.save_breakdown(
            db, name=name, base_search_id=base_id, dimensions=dims, cells=cells
        )
        send = [i for i in [*saved_ids, base_id] if i not in recent]
        if not send:
            st.success("Every cell was measured in the last 7 days: nothing to send.")
            return
        with context.client(settings) as client:
            result = runs.submit(
                db, client, runs.plan_for(settings, send, name=f"Map: {name}", identity_mode=mode)
            )
        st.success(
            f"Map '{name}' saved; run {', '.join(result.run_uids)} measures {len(send)} searches."
        )
    except Exception as exc:  # shown with what to do
        error_box(exc)


def show_map(db: sqlite_utils.Database) -> None:
    maps = store.breakdowns_frame(db)
    if maps.empty:
        st.caption("No map yet.")
        return
    chosen = st.selectbox("Map", list(maps["name"]))
    row = maps.set_index("name").loc[chosen]
    dims = list(json.loads(row["dimensions"]))
    days = st.selectbox("Change over", [7, 30, 90], format_func=lambda d: f"{d} days")
    table = breakdown.map_table(store.map_frame(db, int(row["id"])), change_days=int(days))
    base = store.measurements_frame(db, [int(row["base_search_id"])])
    base_ok = base[base["total_results"].notna()]
    base_total = int(base_ok["total_results"].iloc[-1]) if not base_ok.empty else None
    st.write(breakdown.reconcile(table, base_total, dims))
    st.altair_chart(charts.map_chart(table), width="stretch")
    if table["change"].notna().any():
        st.caption(f"Change over {days} days, per cell")
        st.altair_chart(charts.map_chart(table, value="change", title="Change"), width="stretch")
    else:
        st.caption("Measure the map again later to see how each cell moves.")
    st.dataframe(
        table[["first_label", "second_label", "total_results", "change", "change_pct", "url"]],
        hide_index=True,
        column_config={
            "first_label": dims[0],
            "second_label": dims[1] if len(dims) > 1 else None,
            "total_results": st.column_config.NumberColumn("Companies", format="localized"),
            "change": st.column_config.NumberColumn(f"Change ({days} d)", format="localized"),
            "change_pct": st.column_config.NumberColumn("Change %", format="%.2f%%"),
            "url": st.column_config.LinkColumn("Sales Navigator", display_text="open"),
        },
    )
    left, right = st.columns(2)
    table_buttons(table.drop(columns=["position", "search_id"]), chosen, (left, right), "Map as ")
