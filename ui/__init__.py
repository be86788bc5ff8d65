"""The Streamlit front end: one module per page, plus shared widgets and services."""
