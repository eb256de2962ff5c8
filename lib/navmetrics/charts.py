"""Altair chart builders over DataFrames; the pages and a notebook draw the same charts."""

from __future__ import annotations

import altair as alt
import pandas as pd


def trend_chart(observations: pd.DataFrame, *, log_scale: bool = False) -> alt.Chart:
    """`total_results` over time, one line per saved search, a point per measurement."""
    y = alt.Y(
        "total_results:Q",
        title="Companies matched",
        scale=alt.Scale(type="log") if log_scale else alt.Undefined,
    )
    return (
        alt.Chart(observations)
        .mark_line(point=True)
        .encode(
            x=alt.X("observed_at:T", title="Measured", axis=alt.Axis(format="%Y-%m-%d %H:%M")),
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
            ],
        )
        .properties(height=420)
    )
