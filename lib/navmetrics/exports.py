"""Numbers out: observations as tables for CSV, JSON and spreadsheets, safe to open in Excel."""

from __future__ import annotations

import pandas as pd
import sqlite_utils

from navmetrics import store

EXPORT_COLUMNS = [
    "search_url",
    "label",
    "total_results",
    "observed_at",
    "run_uid",
    "callback_ref_uid",
    "source",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def observations_for_export(db: sqlite_utils.Database) -> pd.DataFrame:
    frame = store.observations_frame(db)
    frame["observed_at"] = frame["observed_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return frame[EXPORT_COLUMNS]


def neutralise(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_for_spreadsheets(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return safe_for_spreadsheets(frame).to_csv(index=False).encode("utf-8")


def to_xlsx_bytes(frame: pd.DataFrame, sheet: str = "NavMetrics") -> bytes:
    """An XLSX workbook; text cells that look like formulas are written as text."""
    import io

    out = safe_for_spreadsheets(frame)
    for column in out.columns:  # Excel keeps no time zones
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None)
        elif out[column].map(lambda v: isinstance(v, list)).any():
            out[column] = out[column].map(
                lambda v: ", ".join(map(str, v)) if isinstance(v, list) else v
            )
    buffer = io.BytesIO()
    out.to_excel(buffer, index=False, sheet_name=sheet, engine="openpyxl")
    return buffer.getvalue()
