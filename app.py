"""ParkAtlas — the planners' map (``streamlit run app.py``; README command 1).

Thin on purpose: the sidebar (language, sign-in, basemap) and the page list. Pages read
widgets, call ``geo/`` and draw ``layers/``.
"""
import streamlit as st

from app_pages import common, guard
from app_pages.safe import plain
from geo.errors import KeyedError, ParkAtlasError

st.set_page_config(page_title="ParkAtlas", page_icon="🗺️", layout="wide")
guard.redact_session_ids()
common.sidebar()
try:
    common.revision()
    kind = common.city().kind  # names the whole area's page: 全市地块 / 全区地块 / 全县地块
except KeyedError as exc:  # the database failed: a line in the page's language naming the store
    common.show_error(exc)
    st.stop()
except ParkAtlasError as exc:
    st.error(common.tr("error.store", error=plain(exc)))
    st.stop()

PAGES = [
    ("app_pages/overview.py", "page.overview", "overview", True),
    ("app_pages/park.py", "page.park", "park", False),
    ("app_pages/parcel.py", "page.parcel", "parcel", False),
    ("app_pages/city.py", f"page.city.{kind}", "city", False),
    ("app_pages/available.py", "page.available", "available", False),
    ("app_pages/enterprises.py", "page.enterprises", "enterprises", False),
    ("app_pages/inefficient.py", "page.inefficient", "inefficient", False),
    ("app_pages/chains.py", "page.chains", "chains", False),
    ("app_pages/match.py", "page.match", "match", False),
    ("app_pages/teams.py", "page.teams", "teams", False),
    ("app_pages/projects.py", "page.projects", "projects", False),
    ("app_pages/export.py", "page.export", "export", False),
    ("app_pages/data.py", "page.data", "data", False),
    ("app_pages/guide.py", "page.guide", "guide", False),
]
# Every page listed (expanded): past ten pages Streamlit hid the rest behind "View more".
navigation = st.navigation([
    st.Page(path, title=common.tr(key), url_path=url, default=default)
    for path, key, url, default in PAGES
], expanded=True)
try:
    navigation.run()
except ParkAtlasError as exc:  # a refusal a page did not catch (e.g. the database failing mid-session)
    common.show_error(exc)
except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback on a page
    guard.unexpected_error(exc)
