"""The export buttons several pages share: a table as CSV and XLSX, both spreadsheet-safe."""

from __future__ import annotations

import pandas as pd
from streamlit.delta_generator import DeltaGenerator

from navmetrics import exports

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_buttons(
    frame: pd.DataFrame, name: str, places: tuple[DeltaGenerator, DeltaGenerator], prefix: str = ""
) -> None:
    """Two download buttons; times written as ISO 8601 UTC text."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    csv_place, xlsx_place = places
    csv_place.download_button(f"{prefix}CSV", exports.to_csv_bytes(out), f"{name}.csv", "text/csv")
    xlsx_place.download_button(f"{prefix}XLSX", exports.to_xlsx_bytes(out), f"{name}.xlsx", XLSX)
