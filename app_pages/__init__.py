"""The app's pages (Streamlit), thin over ``geo/`` and ``layers/``."""
