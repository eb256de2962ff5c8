"""Altair chart builders over DataFrames; the pages and a notebook draw the same charts."""

from __future__ import annotations

import altair as alt
import pandas as pd

from navmetrics import trends


def trend_chart(measurements: pd.DataFrame, *, log_scale: bool = False) -> alt.Chart:
    """`total_results` over time, a line per saved search, a point per measurement.

    A failed measurement has no number: the line breaks there (never drops to zero).
    """
    data = trends.with_changes(measurements)
    data = data.assign(
        total_results=data["total_results"].astype(float),
        change=data["change"].astype(float),
    )
    y = alt.Y(
        "total_results:Q",
        title="Companies matched",
        scale=alt.Scale(type="log") if log_scale else alt.Undefined,
    )
    return (
        alt.Chart(data)
        .mark_line(point=True, invalid="break-paths-show-domains")
        .encode(
            x=alt.X("observed_at:T", title="Measured"),
            y=y,
            color=alt.Color(
                "label:N",
                title="Saved search",
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=0),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Search"),
                alt.Tooltip("observed_at:T", title="Measured", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("total_results:Q", title="Companies", format=","),
                alt.Tooltip("change:Q", title="Change since previous", format="+,"),
                alt.Tooltip("change_pct:Q", title="Change %", format="+.2f"),
            ],
        )
        .properties(height=420)
    )


def comparison_chart(latest: pd.DataFrame, filters: dict[int, str] | None = None) -> alt.Chart:
    """Latest size of each search side by side; the decoded filters on hover."""
    data = latest.assign(total_results=latest["total_results"].astype(float))
    if "filters" not in data or filters:
        data["filters"] = data["search_id"].map(filters or {}).fillna("")
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("total_results:Q", title="Companies matched (latest)"),
            y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=400)),
            tooltip=[
                alt.Tooltip("label:N", title="Search"),
                alt.Tooltip("total_results:Q", title="Companies", format=","),
                alt.Tooltip("observed_at:T", title="Measured", format="%Y-%m-%d"),
                alt.Tooltip("filters:N", title="Filters"),
            ],
        )
        .properties(height=max(120, 28 * len(data)))
    )


def to_image(chart: alt.Chart, fmt: str) -> bytes:
    """The chart as PNG or SVG bytes (through vl-convert, no browser needed)."""
    import vl_convert as vlc

    spec = chart.to_json()
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec).encode("utf-8")
    return bytes(vlc.vegalite_to_png(spec, scale=2))


def map_chart(
    table: pd.DataFrame, *, value: str = "total_results", title: str = "Companies"
) -> alt.Chart:
    """A heatmap of the cells for two dimensions, bars for one."""
    data = table.assign(**{value: table[value].astype(float)})
    tooltip = [
        alt.Tooltip("label:N", title="Cell"),
        alt.Tooltip("total_results:Q", title="Companies", format=","),
        alt.Tooltip("change:Q", title="Change", format="+,"),
        alt.Tooltip("change_pct:Q", title="Change %", format="+.2f"),
    ]
    data = data.assign(
        total_results=data["total_results"].astype(float),
        change=data["change"].astype(float),
        change_pct=data["change_pct"].astype(float),
    )
    order = list(dict.fromkeys(table["first_label"]))
    if table["second_label"].notna().any():
        columns = list(dict.fromkeys(table["second_label"]))
        scale = (
            alt.Scale(scheme="redblue", domainMid=0)
            if value != "total_results"
            else alt.Scale(scheme="blues")
        )
        base = alt.Chart(data).encode(
            x=alt.X("second_label:N", sort=columns, title=None),
            y=alt.Y("first_label:N", sort=order, title=None),
        )
        heat = base.mark_rect().encode(
            color=alt.Color(f"{value}:Q", title=title, scale=scale), tooltip=tooltip
        )
        text = base.mark_text(fontSize=11).encode(text=alt.Text(f"{value}:Q", format=","))
        return (heat + text).properties(height=max(160, 36 * len(order)))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("first_label:N", sort=order, title=None),
            x=alt.X(f"{value}:Q", title=title),
            tooltip=tooltip,
        )
        .properties(height=max(160, 30 * len(order)))
    )
