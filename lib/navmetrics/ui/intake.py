"""The import box of the Searches page: paste or upload, then a report of what became of each line."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlite_utils
import streamlit as st

from navmetrics import intake, store


def import_box(db: sqlite_utils.Database) -> None:
    with st.form("import", clear_on_submit=False):
        pasted = st.text_area(
            "Paste Sales Navigator company-search URLs, one a line",
            height=140,
            placeholder="https://www.linkedin.com/sales/search/company?query=(filters%3AList(…))",
        )
        upload = st.file_uploader(
            "…or upload a list (CSV, TSV, TXT or XLSX; the URL column is found by its header or "
            "its content; label, tags and notes columns are kept)",
            type=["csv", "tsv", "txt", "xlsx"],
        )
        tags = st.text_input("Tags for these searches (optional)", placeholder="mexico, q4")
        saved = st.form_submit_button("Save searches", type="primary")
    if not saved:
        return
    sources: list[intake.Intake] = []
    try:
        if pasted.strip():
            sources.append(intake.read_text(pasted))
        if upload is not None:
            sources.append(intake.read_bytes(upload.getvalue(), upload.name))
    except intake.IntakeError as exc:
        st.error(str(exc))
    if not sources:
        if not pasted.strip() and upload is None:
            st.warning("Paste at least one URL or choose a file first.")
        return
    for source in sources:
        for warning in source.warnings:
            st.warning(warning)
        bar = st.progress(0.0, text=f"Checking {len(source.rows):,} lines of the {source.source}…")
        name = source.source

        def progress(done: int, total: int, bar: Any = bar, name: str = name) -> None:
            bar.progress(
                done / max(total, 1), text=f"Checked {done:,} of {total:,} lines of {name}"
            )

        report = store.save_searches(db, source.rows, tags=tags.strip(), on_progress=progress)
        bar.empty()
        (st.success if report.new else st.info)(f"From {source.source}: {report.summary()}.")
        if report.invalid_lines:
            invalid = pd.DataFrame(report.invalid_lines)
            st.warning(f"{len(invalid)} line(s) not saved, each with its reason:")
            st.dataframe(invalid, hide_index=True)
            st.download_button(
                "Download the invalid lines with their reasons (CSV)",
                invalid.to_csv(index=False).encode("utf-8"),
                file_name="navmetrics-invalid-lines.csv",
                mime="text/csv",
            )
