"""What every page shares: language, the signed-in user, and cached reads of the store.

Caches are shared by every session, so they hold only store data keyed by the store location
and its revision (a write changes the revision, so readers see it at once) — never a user,
an upload or a reservation in progress. Cached values are returned as copies by
``st.cache_data`` and are not mutated; the city's parcels (:func:`parcels`) and the city map
are ``st.cache_resource`` objects shared without copying, read-only by convention.
"""
from __future__ import annotations

import ctypes
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st

from app_pages.safe import plain
from geo import display, i18n
from geo.auth import ANONYMOUS, PERSONAL_FIELDS, WITHHELD, User
from geo.errors import KeyedError, ParkAtlasError
from geo.evaluation import parcels_with_metrics
from geo.metrics import city_kpis, group_kpis, park_kpis
from geo.store import POSTGRES_SCHEMES, open_store, redact_location, resolve_store_location
from layers import webmap
from layers.style import theme_colors

PARK_PAGE = "app_pages/park.py"


def lang() -> str:
    """The interface language chosen in the sidebar (Chinese by default)."""
    # The sidebar's radio is a kept widget: its value also outlives a page switch (st.switch_page
    # from a map click dropped the radio's state, and the Park page opened in Chinese).
    value = st.session_state.get("lang", st.session_state.get(KEPT_PREFIX + "lang", i18n.DEFAULT_LANG))
    return value if value in i18n.LANGS else i18n.DEFAULT_LANG


KEPT_PREFIX = "kept."


def kept_key(name: str, default=None, *, per_language: bool = False) -> str:
    """The widget key for ``name`` whose value survives navigation and language switches (per session).

    The one rule for state on pages: every choice a planner makes (filters, themes, the Match form)
    is a widget created with ``key=common.kept_key(name, default)`` and *no* ``value``/``index``/
    ``default`` argument. Streamlit drops a widget's state when a page without it runs; the value is
    also kept under ``kept.<name>`` (not a widget key, so it stays) and put back when the widget
    returns. ``per_language``: a fresh key per language, for widgets whose option labels are
    translated (a keyed widget keeps showing the old language's labels otherwise); the value carries
    over. ``default`` is the value of a widget never set in this session.
    """
    key = f"{name}.{lang()}" if per_language else name
    kept = KEPT_PREFIX + name
    # The freshest value: this widget's; else the other language's widget (set in the previous run,
    # possibly by the page itself); else the kept copy; else the default.
    others = [f"{name}.{other}" for other in i18n.LANGS if per_language and other != lang()]
    source = next((k for k in [key, *others, kept] if k in st.session_state), None)
    if source is None:
        if default is not None:
            st.session_state[key] = default
        return key
    if source != key:
        st.session_state[key] = st.session_state[source]
    st.session_state[kept] = st.session_state[key]
    return key


def lang_key(name: str, default=None) -> str:
    """:func:`kept_key` with a key per language (for widgets whose option labels are translated)."""
    return kept_key(name, default, per_language=True)


def kept(name: str, default=None):
    """The last value of the kept widget ``name`` (see :func:`kept_key`), even on another page."""
    for key in (f"{name}.{lang()}", name, KEPT_PREFIX + name):
        if key in st.session_state:
            return st.session_state[key]
    return default


def tr(key: str, **values) -> str:
    """Translate ``key`` into the current language."""
    return i18n.t(key, lang(), **values)


def page_labels(prefix: str):
    """``say(key, **values)``: the label ``<prefix>.<key>`` in this run's language.

    Bound to the language of this run rather than read from the session on each call:
    widgets keep their ``format_func`` and may call it after the run.
    """
    language = lang()
    return lambda key, **values: i18n.t(f"{prefix}.{key}", language, **values)


def registered_stores():
    """The city stores registered in this deployment (``python cli.py city register``); may be none."""
    from geo.city import read_registry

    return read_registry()


def chosen_store():
    """The registered store picked in the sidebar; ``None``: the deployment's own store
    (``PARKATLAS_STORE`` or the default GeoPackage), which is the first choice."""
    name = st.session_state.get("city_store")
    if not name:
        return None
    return next((s for s in registered_stores() if s.name == name), None)


def users_path() -> str | None:
    """The users file of the chosen store (each registered store has its own users and roles);
    ``None``: the deployment's (``PARKATLAS_USERS`` or ``var/users.json``)."""
    chosen = chosen_store()
    return chosen.users if chosen is not None else None


def user() -> User:
    """The signed-in user acting in this run; anonymous sessions are read-only viewers.

    Checked on every call against the browser's session cookie (``app_pages.sessions``), so
    a client that attached to a signed-in session by its id alone acts as anonymous.
    """
    from app_pages import sessions

    return sessions.current_user(users_path())


def location() -> str:
    """The store location: the registered store picked in the sidebar, else ``PARKATLAS_STORE`` or
    the default GeoPackage."""
    chosen = chosen_store()
    return chosen.location if chosen is not None else resolve_store_location(None)


def location_label() -> str:
    """The store as shown on a page: a GeoPackage's file name, a database URL without credentials."""
    loc = location()
    return redact_location(loc) if loc.startswith(POSTGRES_SCHEMES) else os.path.basename(loc)


@st.cache_resource(show_spinner=False)
def _store(loc: str):
    return open_store(loc)


def store():
    """The (shared) store object for :func:`location`."""
    return _store(location())


#: Attribute of the run's ScriptRunContext holding ``(run marker, location, commits, revision)``.
_RUN_REVISION = "parkatlas_revision"


def revision() -> str:
    """The store's revision token, asked of the store once per script run.

    Every cached read of a page is keyed by it, and a page calls this ten times and more:
    asking the store each time cost a connection and three queries per call. The answer is
    kept on the run's context for the rest of that run (a fresh ``cursors`` dict marks each run
    and fragment run), unless this process writes to the store meanwhile (``commits``), so a
    reservation shows in the very run that made it. Outside a Streamlit run it always asks.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    loc = location()
    shared = _store(loc)
    key = (loc, getattr(shared, "commits", 0))
    memo = getattr(ctx, _RUN_REVISION, None)
    # The marker object itself is kept (not its id), so a later run's dict cannot pass for it.
    if memo is not None and memo[0] is ctx.cursors and memo[1] == key:
        return memo[2]
    value = _store_revision(loc)
    if ctx is not None:
        setattr(ctx, _RUN_REVISION, (ctx.cursors, key, value))
    return value


def _store_revision(loc: str) -> str:
    """The store's revision token; for a GeoPackage without one, its files' size and mtime."""
    try:
        return str(_store(loc).revision())
    except NotImplementedError:
        path = Path(loc)
        parts = [path, path.with_name(path.name + "-wal")]
        return ";".join(f"{p.stat().st_mtime_ns}:{p.stat().st_size}" for p in parts if p.exists())


@st.cache_resource(show_spinner=False, max_entries=2)
def _parcels(loc: str, rev: str) -> gpd.GeoDataFrame:
    # One frame shared by every session and every derived cache, not a cache_data copy per call:
    # at 100k parcels each unpickled copy is ~100 MB, and a room of sessions made many at once.
    frame = parcels_with_metrics(_store(loc)).reset_index(drop=True)
    release_free_memory()
    return frame


def release_free_memory() -> None:
    """Give the heap pages freed after a large read back to the system (glibc ``malloc_trim``).

    Reading and deriving the city's parcels frees more than it keeps; without this the server's
    resident memory stays at the read's peak.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


@st.cache_data(show_spinner=False, max_entries=4)
def _parks(loc: str, rev: str) -> gpd.GeoDataFrame:
    return _store(loc).read_parks().reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=4)
def _districts(loc: str, rev: str) -> gpd.GeoDataFrame:
    return _store(loc).read_districts()


@st.cache_resource(show_spinner=False, max_entries=4)  # a str: shared, no copy per call
def _district_features(loc: str, rev: str) -> str:
    return webmap.context_features(_districts(loc, rev))


@st.cache_resource(show_spinner=False, max_entries=4)  # strs: shared, no copy per call
def _district_carrier(loc: str, rev: str) -> tuple[str, str]:
    return webmap.features_carrier(_district_features(loc, rev))


@st.cache_data(show_spinner=False, max_entries=4)
def _info(loc: str, rev: str) -> dict[str, str]:
    return _store(loc).dataset_info()


@st.cache_data(show_spinner=False, max_entries=4)
def _city(loc: str, rev: str):
    return _store(loc).read_city()


@st.cache_data(show_spinner=False, max_entries=4)
def _kpis(loc: str, rev: str) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    parcels, parks = _parcels(loc, rev), _parks(loc, rev)
    return city_kpis(parcels, parks), group_kpis(parcels, parks), park_kpis(parcels, parks)


@st.cache_resource(show_spinner=False, max_entries=64)  # shared like _parcels (read-only)
def _park_parcels(loc: str, rev: str, park_id: str) -> gpd.GeoDataFrame:
    parcels = _parcels(loc, rev)
    return parcels.loc[parcels.park_id == park_id].reset_index(drop=True)


@st.cache_resource(show_spinner=False, max_entries=64)  # a str: shared, no copy per call
def _park_features(loc: str, rev: str, park_id: str, language: str) -> str:
    parcels = _park_parcels(loc, rev, park_id)
    return webmap.features_json(parcels, parcels.parcel_id, webmap.parcel_labels(parcels, language))


@st.cache_resource(show_spinner=False, max_entries=64)  # strs: shared, no copy per call
def _park_features_carrier(loc: str, rev: str, park_id: str, language: str) -> tuple[str, str]:
    return webmap.features_carrier(_park_features(loc, rev, park_id, language))


@st.cache_data(show_spinner=False, max_entries=256)
def _classified(loc: str, rev: str, park_id: str, theme: str, language: str, scheme: str, k: int):
    frame = _park_parcels(loc, rev, park_id)
    if theme == "project_warnings":  # the register's warnings today, worst level per parcel
        from datetime import date

        from geo.project_review import parcel_warning_levels

        levels = parcel_warning_levels(_project_warnings(loc, rev, date.today()))
        frame = frame.assign(project_warning=frame.parcel_id.map(levels))
    return theme_colors(frame, theme, lang=language, scheme=scheme, k=k)


def parcels() -> gpd.GeoDataFrame:
    """Every parcel with metrics and 亩均 grade (graded city-wide); shared by all sessions: never mutate it."""
    return _parcels(location(), revision())


def parks() -> gpd.GeoDataFrame:
    return _parks(location(), revision())


def districts() -> gpd.GeoDataFrame:
    return _districts(location(), revision())


def district_features() -> str:
    """District outlines for map context (cached)."""
    return _district_features(location(), revision())


@st.cache_resource(show_spinner=False, max_entries=8)  # a list of tuples: shared, never mutated
def _district_labels(loc: str, rev: str, language: str) -> list[tuple[float, float, str]]:
    return webmap.name_labels(_districts(loc, rev), language)


def district_labels() -> list[tuple[float, float, str]]:
    """District names to write on a map, in the current language (cached per store revision)."""
    return _district_labels(location(), revision(), lang())


def dataset_info() -> dict[str, str]:
    return _info(location(), revision())


def city():
    """The store's city (:class:`geo.city.City`): names, park groups, chains, extent, zones."""
    return _city(location(), revision())


def kpis() -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """City, group and park KPIs (cached per store revision)."""
    return _kpis(location(), revision())


def park_parcels(park_id: str) -> gpd.GeoDataFrame:
    """The parcels of one park (rows of :func:`parcels`); shared by all sessions: never mutate it."""
    return _park_parcels(location(), revision(), park_id)


def park_features_carrier(park_id: str) -> tuple[str, str, webmap.CarrierRef]:
    """``(key, html, districts)``: :func:`park_features` and :func:`district_features` in hidden
    elements (``layers.webmap.features_carrier``).

    Put ``html`` on the page with ``st.html`` before the map, pass ``key`` as the map's
    ``features_ref`` and ``districts`` as its context: a rerun that only changes the theme then
    sends Streamlit's reference to the unchanged element instead of the features again (see the
    README, deployment).
    """
    loc, rev = location(), revision()
    key, carrier = _park_features_carrier(loc, rev, park_id, lang())
    district_key, district_carrier = _district_carrier(loc, rev)
    return key, webmap.PageHtml(carrier + district_carrier), webmap.CarrierRef(district_key)


def classified(park_id: str, theme: str, scheme: str, k: int):
    return _classified(location(), revision(), park_id, theme, lang(), scheme, k)


def park_names() -> dict[str, str]:
    """Park id → park name in the current language (option labels, table columns)."""
    frame = parks()
    return dict(zip(frame.park_id, frame.name_zh if lang() == "zh" else frame.name_en))


def intranet_basemap():
    """The intranet tile service of the settings (``geo.basemap``), or None (a bad entry is shown once)."""
    from geo.basemap import load_basemap

    try:
        return load_basemap()
    except ParkAtlasError as exc:
        st.sidebar.warning(tr("basemap.intranet_bad", error=plain(exc)))
        return None


def map_options() -> dict:
    """Basemap settings chosen in the sidebar (per session)."""
    basemap = st.session_state.get(f"basemap.{lang()}") or "none"
    if basemap == "intranet" and intranet_basemap() is None:  # the setting was removed meanwhile
        basemap = "none"
    return {"basemap": basemap,
            "tianditu_key": st.session_state.get("tianditu_key") or None,
            "asset_url": asset_url()}


def asset_url() -> str:
    """Where the component iframe finds the vendored Leaflet (honours server.baseUrlPath)."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/app/static" if base else "/app/static"


def requested_park_id() -> str | None:
    """A park asked for by another page (:func:`open_park`) or, on arrival, by the URL (``?park=``)."""
    value = st.session_state.pop("park_request", None)
    if value is None and not any(f"park_select.{code}" in st.session_state for code in i18n.LANGS):
        value = st.query_params.get("park")
    return value if value in set(parks().park_id) else None


def open_park(park_id: str) -> None:
    """Go to the Park page showing ``park_id``."""
    st.session_state["park_request"] = park_id
    st.switch_page(PARK_PAGE, query_params={"park": park_id})


def parcel_details(row: pd.Series, per_row: int = 4) -> None:
    """Status, area, grade and data-as-of as metrics (``per_row`` to a row: 2 in a narrow column),
    then every attribute and metric of the parcel.

    Values go into dataframe cells, which render text: nothing from the data becomes markup.
    """
    language = lang()
    head = st.columns(per_row) * (4 // per_row)
    head[0].metric(tr("col.status"), display.format_value(row.status, "status", language))
    head[1].metric(tr("col.area_mu"), display.format_value(row.area_mu, "area_mu", language, unit=False))
    head[2].metric(tr("col.grade"), "–" if pd.isna(row.grade) else plain(row.grade))
    head[3].metric(tr("col.data_as_of"), plain(display.format_value(row.data_as_of, "date", language)))
    fields = [c for c in row.index if c != "geometry"]
    anonymous = user() == ANONYMOUS

    def text(column):
        if anonymous and column in PERSONAL_FIELDS and not pd.isna(row[column]):  # names are for signed-in users
            return WITHHELD
        return display.format_field_value(column, row[column], language)

    st.dataframe(pd.DataFrame({tr("col.field"): [i18n.label_field(c, language) for c in fields],
                               tr("col.value"): [text(c) for c in fields]}),
                 hide_index=True, width="stretch", height=420)
    st.page_link("app_pages/parcel.py", label=tr("parcel.open"), query_params={"parcel": str(row.parcel_id)})


def _translatable(exc: ParkAtlasError) -> bool:
    return isinstance(exc, KeyedError) and exc.key in i18n.catalogue(lang())


def error_text(exc: ParkAtlasError) -> str:
    """A user error's line as plain text (to be shown through ``plain``), in the page's language
    when it carries a catalogue key (its codes, numbers and dates through the formatter)."""
    return tr(exc.key, **display.format_message_values(exc.values, lang())) if _translatable(exc) else str(exc)


def table_editor(data, **options):
    """``st.data_editor`` with a missing value shown as an empty cell (Streamlit writes "None")."""
    return st.data_editor(data, placeholder="", **options)


def show_error(exc: ParkAtlasError) -> None:
    """A user error as one line, no traceback; in the page's language when it carries a catalogue key."""
    if _translatable(exc):
        values = display.format_message_values(exc.values, lang())
        st.error(tr(exc.key, **{k: plain(v) for k, v in values.items()}))
    else:
        st.error(plain(exc))


def _store_switched() -> None:
    from app_pages import sessions

    if st.session_state.get("user") is not None:
        sessions.signed_out()


def sidebar() -> None:
    """Language switch, sign-in panel and basemap choice."""
    with st.sidebar:
        st.radio(i18n.t("sidebar.language", lang()), i18n.LANGS, key=kept_key("lang"), horizontal=True,
                 format_func=lambda code: {"zh": "中文", "en": "English"}[code])
        from app_pages.ui_strings import translate_streamlit_words

        translate_streamlit_words(lang())
        stores = registered_stores()
        if stores:
            # The deployment's own store first (""), then the registered ones; each has its own
            # users, so a switch signs the session out.
            own = os.path.basename(redact_location(resolve_store_location(None)))
            st.selectbox(tr("sidebar.city_store"), ["", *(s.name for s in stores)], key="city_store",
                         format_func=lambda name, own=own: name or own, on_change=_store_switched)
        st.caption(f"{tr('sidebar.store')}: {plain(location_label())}")
        from app_pages import auth_panel  # imports this module

        auth_panel.panel()
        if user().can("admin"):
            from app_pages import city_admin

            city_admin.register_panel()
        intranet = intranet_basemap()
        choices = [b for b in webmap.BASEMAPS if b != "intranet" or intranet is not None]
        st.selectbox(tr("sidebar.basemap"), choices, key=lang_key("basemap"),
                     format_func=lambda b, language=lang(): i18n.t(
                         f"basemap.{b}", language, **({"name": intranet.name} if b == "intranet" else {})))
        if st.session_state.get(f"basemap.{lang()}") == "tianditu":
            st.text_input(tr("sidebar.tianditu_key"), key="tianditu_key", type="password")
        st.caption(tr("basemap.gcj_warning"))


@st.cache_resource(show_spinner=False, max_entries=32)  # shared like _parcels (read-only)
def _scope_parcels(loc: str, rev: str, park_ids: tuple[str, ...]) -> gpd.GeoDataFrame:
    frame = _parcels(loc, rev)
    return frame.loc[frame.park_id.isin(park_ids)].reset_index(drop=True)


@st.cache_resource(show_spinner=False, max_entries=32)  # a str: shared, no copy per call
def _scope_features(loc: str, rev: str, park_ids: tuple[str, ...], language: str) -> str:
    frame = _scope_parcels(loc, rev, park_ids)
    return webmap.features_json(frame, frame.parcel_id, webmap.parcel_labels(frame, language))


@st.cache_data(show_spinner=False, max_entries=32)
def _scope_classified(loc: str, rev: str, park_ids: tuple[str, ...], language: str):
    return theme_colors(_scope_parcels(loc, rev, park_ids), "status", lang=language)


def scope_features(park_ids: tuple[str, ...]) -> str:
    """Script-safe GeoJSON of the parcels of several parks (row order of ``parcels()`` filtered)."""
    return _scope_features(location(), revision(), tuple(park_ids), lang())


def scope_classified(park_ids: tuple[str, ...]):
    """Status classes of the parcels of several parks."""
    return _scope_classified(location(), revision(), tuple(park_ids), lang())


def scope_parcels(park_ids) -> gpd.GeoDataFrame:
    """The parcels of several parks in the row order of :func:`scope_map` (shared: never mutate)."""
    return _scope_parcels(location(), revision(), tuple(park_ids))


def scope_map(park_ids, highlight_ids, bounds=None, selected_ids=None) -> tuple[gpd.GeoDataFrame, webmap.MapParts]:
    """The parcels of several parks and their status map with ``highlight_ids`` outlined (view: ``bounds``)
    and ``selected_ids`` (a clicked parcel) outlined as the current choice, district names on it.

    Returns ``(parcels, parts)``: the parcels in map order (to resolve a click; shared by all
    sessions, never mutate them) and the map to pass to ``st_folium``; parcels, features and
    classes come from the per-revision caches.
    """
    park_ids = tuple(park_ids)
    in_scope = _scope_parcels(location(), revision(), park_ids)
    parts = webmap.park_map_parts(in_scope, theme="status", lang=lang(), highlight_ids=highlight_ids,
                                  features=scope_features(park_ids), classified=scope_classified(park_ids),
                                  context=district_features(), bounds=bounds, selected_ids=selected_ids,
                                  labels={"district": district_labels()}, **map_options())
    return in_scope, parts


@st.cache_data(show_spinner=False, max_entries=64)
def _blocks(loc: str, rev: str, parcel_ids: tuple[str, ...], gap_m: float):
    from geo.blocks import contiguous_blocks

    frame = _parcels(loc, rev)
    return contiguous_blocks(frame.loc[frame.parcel_id.isin(parcel_ids)], gap_m=gap_m)


def blocks(parcel_ids, gap_m: float):
    """Contiguous blocks of the given parcels, as a table without geometries (cached per store
    revision, parcel set and gap; ``geo.blocks.block_geometries`` draws any of them)."""
    return _blocks(location(), revision(), tuple(sorted(parcel_ids)), float(gap_m))


@st.cache_resource(show_spinner=False, max_entries=2)
def _prepared(loc: str, rev: str, frame_id: int, _frame):
    # What every match of a revision shares (codes, bounds, enterprise totals, projected candidates), kept
    # beside that revision's cached parcels and shared by every session like them. Keyed by the frame's id
    # too: a frame read again after eviction gets its own (a prepared object serves only its own frame,
    # and holds it, so the id of a frame it serves is never reused while it is kept).
    from geo.matching import PreparedParcels

    return PreparedParcels(_frame)


def _parcels_prepared(loc: str, rev: str):
    frame = _parcels(loc, rev)
    return frame, _prepared(loc, rev, id(frame), frame)


def prepared_parcels():
    """:func:`parcels` and their ``geo.matching.PreparedParcels`` (one per revision, shared by every
    session and match: never mutate either)."""
    return _parcels_prepared(location(), revision())


@st.cache_data(show_spinner=False, max_entries=32)
def _match(loc: str, rev: str, request: dict):
    from geo.city import read_chain_thresholds
    from geo.matching import match

    frame, prepared = _parcels_prepared(loc, rev)
    return match(frame, _parks(loc, rev), request["project"], top=request["top"],
                 park_id=request["park_id"], weights=request["weights"], with_blocks=request["with_blocks"],
                 include_disposal=request["include_disposal"], edition=request.get("edition"),
                 chain_thresholds=read_chain_thresholds(_store(loc)), prepared=prepared)


def match_result():
    """The session's project (set by the Match page) matched on the current store revision.

    ``None`` without a project; ``ParkAtlasError`` for a project the core rejects. Cached per
    revision and request, so a rerun that changes neither (a comparison, a download) does not
    match again, and a reservation shows at once.
    """
    request = st.session_state.get("match_request")
    return None if request is None else _match(location(), revision(), request)


@st.cache_resource(show_spinner=False, max_entries=4)
def _city_view(loc: str, rev: str, language: str, basemap: str, assets: str):
    from layers.tiles import city_parcels_map

    frame = _parcels(loc, rev)
    m = city_parcels_map(frame, theme="status", lang=language, basemap=basemap, asset_url=assets,
                         districts=_districts(loc, rev))
    m.render()  # once per revision, language and basemap: st_folium(render=False) reuses it
    return m, _city_locator(loc, rev), len(frame)


@st.cache_resource(show_spinner=False, max_entries=2)
def _city_locator(loc: str, rev: str):
    from layers.tiles import ParcelLocator

    return ParcelLocator(_parcels(loc, rev))  # one per revision: it holds lon/lat copies of every parcel


def city_view(basemap: str = "none"):
    """Every parcel of the store on one canvas layer (``layers.tiles``), status colours and legend.

    Returns ``(map, locator, n_parcels)``: the map is already rendered — pass it to ``st_folium``
    with ``render=False`` — and ``locator`` turns a clicked point into a parcel id. Built once per
    store revision, language and basemap, and shared by every session (never mutated).
    """
    return _city_view(location(), revision(), lang(), basemap, asset_url())


@st.cache_resource(show_spinner=False, max_entries=2)
def _project_register(loc: str, rev: str):
    from geo.project_review import read_register

    return read_register(_store(loc))


def project_register():
    """The project register's tables (:class:`geo.project_review.Register`), read once per store revision
    and shared by every session without copying: never modify them."""
    return _project_register(location(), revision())


@st.cache_data(show_spinner=False, max_entries=8)
def _project_warnings(loc: str, rev: str, as_of) -> pd.DataFrame:
    from geo.project_review import project_warnings as warnings_of

    return warnings_of(_project_register(loc, rev), as_of)


def project_warnings(as_of=None) -> pd.DataFrame:
    """The project register's warnings at ``as_of`` (default today), cached per store revision."""
    from datetime import date

    return _project_warnings(location(), revision(), as_of or date.today())
