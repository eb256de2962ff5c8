"""Settings: where NavMetrics sends runs and receives results (secrets shown masked)."""

import streamlit as st

from navmetrics.config import mask
from navmetrics.ui import context

st.title("Settings")
settings = context.settings()
st.table(
    {
        "setting": [
            "Mode",
            "EDGES_API_KEY",
            "EDGES_BASE_URL",
            "NAVMETRICS_DB",
            "NAVMETRICS_PUBLIC_URL",
            "NAVMETRICS_CALLBACK_TOKEN",
        ],
        "value": [
            settings.mode,
            mask(settings.api_key),
            settings.effective_base_url,
            str(settings.db_path),
            settings.effective_public_url or "(none: poll mode)",
            mask(settings.callback_token),
        ],
    }
)
