"""Measurements as series: change since the previous measurement, growth over a window, top N.

Everything here takes and returns DataFrames, so a notebook gets what the Trends page shows.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from navmetrics.store import split_tags


def with_changes(measurements: pd.DataFrame) -> pd.DataFrame:
    """Add `change` and `change_pct` since each search's previous successful measurement."""
    frame = measurements.sort_values(["search_id", "observed_at"]).copy()
    ok = frame["total_results"].notna()
    previous = frame[ok].groupby("search_id")["total_results"].shift()
    frame["change"] = (frame.loc[ok, "total_results"] - previous).reindex(frame.index)
    frame["change_pct"] = (frame["change"] / previous.reindex(frame.index) * 100).round(2)
    return frame


def growth_table(
    measurements: pd.DataFrame, *, days: int = 30, until: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Per search: latest value, the value `days` before it, absolute and % change, and a
    sparkline of the window's values (failed measurements left out)."""
    columns = [
        "search_id",
        "label",
        "latest",
        "previous",
        "change",
        "change_pct",
        "measured",
        "trend",
    ]
    ok = measurements[measurements["total_results"].notna()]
    if ok.empty:
        return pd.DataFrame(columns=columns)
    end = until if until is not None else ok["observed_at"].max()
    window = ok[(ok["observed_at"] >= end - timedelta(days=days)) & (ok["observed_at"] <= end)]
    window = window.sort_values("observed_at", kind="stable")
    values = window["total_results"].astype(float)
    grouped = values.groupby(window["search_id"], sort=False)
    table = pd.DataFrame(
        {
            "latest": grouped.last(),
            "previous": grouped.first(),
            "measured": window.groupby("search_id", sort=False)["observed_at"].last(),
            "trend": grouped.agg(list),
        }
    )
    table["change"] = table["latest"] - table["previous"]
    table["change_pct"] = (
        table["change"] / table["previous"].where(table["previous"] != 0) * 100
    ).round(2)
    for column in ("latest", "previous", "change"):
        table[column] = table[column].astype("int64")
    labels = window.drop_duplicates("search_id").set_index("search_id")["label"]
    table["label"] = labels.reindex(table.index)
    return table.rename_axis("search_id").reset_index()[columns]


def pick(
    measurements: pd.DataFrame,
    *,
    search_ids: list[int] | None = None,
    tag: str | None = None,
    top: int | None = None,
    by: str = "size",
    days: int = 30,
) -> pd.DataFrame:
    """The measurements of the searches chosen by id, by tag, or the top N by size or growth."""
    frame = measurements
    if search_ids:
        frame = frame[frame["search_id"].isin(search_ids)]
    if tag:
        has_tag = frame["tags"].map(lambda text: tag in split_tags(text))
        frame = frame[has_tag]
    if top:
        growth = growth_table(frame, days=days)
        key = "latest" if by == "size" else "change_pct"
        chosen = growth.sort_values(key, ascending=False, na_position="last").head(top)
        frame = frame[frame["search_id"].isin(chosen["search_id"])]
    return frame


def latest_by_search(measurements: pd.DataFrame) -> pd.DataFrame:
    """Each search's most recent successful measurement."""
    ok = measurements[measurements["total_results"].notna()]
    return ok.sort_values("observed_at").groupby("search_id").tail(1)
