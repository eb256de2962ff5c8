"""Searches: paste or upload company-search URLs, see each verdict, keep a library of searches."""

import streamlit as st

from navmetrics.ui import context
from navmetrics.ui.intake import import_box
from navmetrics.ui.library import library_editor

st.title("Searches")
settings = context.settings()
db = context.database(settings)

import_box(db)
library_editor(db)
