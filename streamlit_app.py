"""NavMetrics' entry: `streamlit run streamlit_app.py` (what `make run` does).

Imported by uvicorn, this module is the `st.App`, whose lifespan starts the callback receiver (and,
in demo mode, the Edges simulator) once per process, each on its own port. Run by Streamlit as the
main script, it draws the page navigation.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import streamlit as st

log = logging.getLogger("navmetrics")


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
    from navmetrics.services import start_services

    services = await start_services()
    try:
        yield {"services": services}
    finally:
        await services.stop()


if __name__ == "__main__":
    st.set_page_config(page_title="NavMetrics", page_icon="📈", layout="wide")
    navigation = st.navigation(
        [
            st.Page(
                "app_pages/overview.py", title="Overview", icon=":material/home:", default=True
            ),
            st.Page("app_pages/searches.py", title="Searches", icon=":material/search:"),
            st.Page("app_pages/runs.py", title="Runs", icon=":material/rocket_launch:"),
            st.Page("app_pages/trends.py", title="Trends", icon=":material/monitoring:"),
            st.Page("app_pages/market_map.py", title="Market map", icon=":material/grid_view:"),
            st.Page("app_pages/settings.py", title="Settings", icon=":material/settings:"),
        ]
    )
    navigation.run()
else:
    app = st.App("streamlit_app.py", lifespan=lifespan)
