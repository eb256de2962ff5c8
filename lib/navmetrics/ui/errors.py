"""One way to show what went wrong and what to do, without a traceback."""

from __future__ import annotations

import streamlit as st

from navmetrics.edges import EdgesError, EdgesNetworkError, SubmissionUnknown


def error_box(exc: Exception) -> None:
    if isinstance(exc, EdgesError):
        label = f" ({exc.label})" if exc.label else ""
        st.error(f"**Edges answered {exc.status_code}{label}:** {exc.message}\n\n{exc.hint}")
    elif isinstance(exc, SubmissionUnknown):
        st.warning(str(exc))
    elif isinstance(exc, EdgesNetworkError):
        st.error(str(exc))
    else:
        st.error(f"**{type(exc).__name__}:** {exc}")
