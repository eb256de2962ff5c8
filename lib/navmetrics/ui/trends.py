"""Widgets of the Trends page: what to show, the growth table, and the export buttons."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from navmetrics import charts, store, trends
from navmetrics.ui.downloads import table_buttons


def selection(measurements: pd.DataFrame) -> pd.DataFrame:
    """Choose searches by name, by tag, or the top N by size or growth."""
    how = st.radio("Show", ["top searches", "searches I pick", "a tag"], horizontal=True)
    if how == "searches I pick":
        labels = measurements.drop_duplicates("search_id").set_index("label")["search_id"]
        picked = st.multiselect("Searches", sorted(labels.index), default=sorted(labels.index)[:5])
        return trends.pick(measurements, search_ids=[int(labels[p]) for p in picked] or [-1])
    if how == "a tag":
        tags = store.all_tags(measurements["tags"].dropna().unique())
        if not tags:
            st.info("No tags yet: tag searches on the Searches page.")
            return measurements.iloc[0:0]
        return trends.pick(measurements, tag=st.selectbox("Tag", tags))
    left, right = st.columns(2)
    top = left.number_input("How many", min_value=1, max_value=50, value=8)
    by = right.selectbox("Ranked by", ["size", "growth over 30 days"])
    return trends.pick(measurements, top=int(top), by="size" if by == "size" else "growth")


def growth(measurements: pd.DataFrame) -> None:
    left, right = st.columns(2)
    windows = {"7 days": 7, "30 days": 30, "90 days": 90, "365 days": 365, "a range I choose": 0}
    window = left.selectbox("Change over", list(windows), index=1)
    threshold = right.number_input("Highlight moves beyond (%)", min_value=0.0, value=5.0, step=0.5)
    days, until = windows[window], None
    if not days:
        ok = measurements[measurements["total_results"].notna()]["observed_at"]
        first, last = ok.min().date(), ok.max().date()
        chosen = st.date_input("From – to", value=(first, last), min_value=first, max_value=last)
        if not isinstance(chosen, tuple) or len(chosen) != 2:
            st.caption("Pick the range's first and last day.")
            return
        start, end = chosen
        until = pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
        days = (end - start).days + 1
    table = trends.growth_table(measurements, days=int(days), until=until)
    if table.empty:
        st.caption("No successful measurement in this window.")
        return
    table["move"] = table["change_pct"].map(
        lambda p: (
            "▲ beyond threshold"
            if pd.notna(p) and p > threshold
            else "▼ beyond threshold"
            if pd.notna(p) and p < -threshold
            else ""
        )
    )
    st.dataframe(
        table.drop(columns=["search_id"]).sort_values("change_pct", ascending=False),
        hide_index=True,
        column_config={
            "latest": st.column_config.NumberColumn("Latest", format="localized"),
            "previous": st.column_config.NumberColumn("At the window's start", format="localized"),
            "change": st.column_config.NumberColumn("Change", format="localized"),
            "change_pct": st.column_config.NumberColumn("Change %", format="%.2f%%"),
            "measured": st.column_config.DatetimeColumn("Last measured", format="YYYY-MM-DD"),
            "trend": st.column_config.LineChartColumn("Trend"),
            "move": "Move",
        },
    )


def comparison(latest: pd.DataFrame, filters: dict[int, str]) -> None:
    """Latest sizes side by side, per search or per tag (a tag's searches added up)."""
    by = st.radio("Compare", ["searches", "tags"], horizontal=True)
    if by == "searches":
        st.altair_chart(charts.comparison_chart(latest, filters), width="stretch")
        return
    per_tag = (
        latest.assign(tag=latest["tags"].map(store.split_tags))
        .explode("tag")
        .dropna(subset=["tag"])
    )
    if per_tag.empty:
        st.caption("None of these searches has a tag.")
        return
    totals = per_tag.groupby("tag", as_index=False).agg(
        total_results=("total_results", "sum"),
        observed_at=("observed_at", "max"),
        searches=("search_id", "nunique"),
    )
    totals = totals.assign(
        search_id=-1, label=totals["tag"], filters=totals["searches"].astype(str) + " searches"
    )
    st.altair_chart(charts.comparison_chart(totals), width="stretch")
    st.caption("A tag's bar adds up its searches' latest sizes; overlapping searches count twice.")


def export_buttons(shown: pd.DataFrame, chart: alt.Chart, name: str = "navmetrics-trends") -> None:
    """What is shown, out: the numbers as CSV or XLSX, the chart as PNG or SVG."""
    a, b, c, d = st.columns(4)
    table_buttons(shown.drop(columns=["tags"], errors="ignore"), name, (a, b))
    if c.toggle("Chart as image", help="Renders the chart as PNG and SVG for download"):
        c.download_button("PNG", charts.to_image(chart, "png"), f"{name}.png", "image/png")
        d.download_button("SVG", charts.to_image(chart, "svg"), f"{name}.svg", "image/svg+xml")
