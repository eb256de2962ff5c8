"""Small Streamlit widgets the pages share; the only place in the library that imports streamlit."""
