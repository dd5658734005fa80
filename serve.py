"""ParkAtlas's server: ``app.py`` plus the sign-in routes and the upload guard (``scripts/run-app.sh``).

``streamlit run serve.py`` serves the same pages as ``streamlit run app.py`` and adds what a
script cannot: the route that sets the HttpOnly session cookie of a local sign-in and the one
that deletes it, and a middleware refusing file uploads from browsers that are not signed in
(``app_pages/sessions.py``), and reaps the sessions of browsers that left so memory returns
to idle (``app_pages/memory.py``). Without them the app still works, read-only for local
accounts after a reload.
"""
import streamlit as st
from starlette.middleware import Middleware

from app_pages.memory import SessionReaper
from app_pages.sessions import middleware, routes
from app_pages.shell import PageShell

app = st.App("app.py", routes=routes(), middleware=[*middleware(), Middleware(SessionReaper), Middleware(PageShell)])
