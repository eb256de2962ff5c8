"""What every page needs first: the settings and an open database, or a clear error."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils
import streamlit as st

from navmetrics import store
from navmetrics.config import ConfigError, Settings, ensure_callback_token, load_settings
from navmetrics.edges import EdgesClient


@st.cache_resource(show_spinner=False)
def _database(path: str) -> sqlite_utils.Database:
    return store.open_db(Path(path), durable=False)


def settings() -> Settings:
    try:
        return ensure_callback_token(load_settings())
    except ConfigError as exc:
        st.error(f"**Settings problem.** {exc}")
        st.stop()
        raise


def database(current: Settings) -> sqlite_utils.Database:
    try:
        return _database(str(current.db_path.resolve()))
    except store.StoreError as exc:
        st.error(f"**Database problem.** {exc}")
        st.stop()
        raise


def client(current: Settings) -> EdgesClient:
    """A client of Edges (or, in demo mode, of the local simulator); reads retried briefly."""
    return EdgesClient(
        current.effective_base_url, current.effective_api_key, timeout=15, retries=2, backoff=0.3
    )
