"""Data: what the store holds, how current each park is, and the import of planners' files (admins)."""
import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import common
from app_pages.safe import plain, plain_table
from geo import display, i18n
from geo.errors import KeyedError, ParkAtlasError
from geo.metrics import data_as_of_by_park
from geo.sample import SAMPLE_GENERATOR
from layers import webmap

lang = common.lang()
tr = common.tr
st.title(tr("data.heading"))

st.subheader(tr("data.summary"))
info = common.dataset_info()
catalogue = i18n.catalogue(lang)


def info_value(key: str, value) -> str:
    """The dataset's facts in the planner's words: 是/否, grouped counts, text as stored."""
    text = str(value)
    if key == "note" and info.get("generator") == SAMPLE_GENERATOR:  # the generator's note, in the page's language
        return tr("dataset.sample_note")
    if text.lower() in ("true", "false"):
        return display.format_value(text.lower() == "true", "bool", lang)
    if key.startswith("n_") and text.isdigit():
        return display.format_value(int(text), "integer", lang)
    return text


st.table(plain_table(pd.DataFrame({tr("col.field"): [catalogue.get(f"dataset.{k}", k) for k in info],
                                   tr("col.value"): [info_value(k, v) for k, v in info.items()]})),
         hide_index=True)

st.subheader(tr("data.as_of"))
parks = common.parks()
as_of = data_as_of_by_park(common.parcels(), parks)
st.dataframe(pd.DataFrame({
    tr("col.park"): as_of.name_zh if lang == "zh" else as_of.name_en,
    tr("col.parcels"): as_of.parcel_count.map(lambda n: display.format_value(n, "integer", lang)),
    tr("col.data_as_of"): as_of.data_as_of,
    tr("col.oldest"): as_of.oldest,
    tr("col.newest"): as_of.newest,
}), hide_index=True, width="stretch")

st.subheader(tr("data.import"))
if not common.user().can("admin"):
    st.info(tr("data.import_admin_only"))
    st.stop()
with st.expander(tr("data.basemap_settings")):
    from geo.basemap import BasemapError, check_basemap, save_basemap

    current = common.intranet_basemap()
    st.caption(tr("data.basemap_help"))
    with st.form("basemap_settings"):
        url = st.text_input(tr("data.basemap_url"), value=current.url if current else "",
                            placeholder="http://10.0.0.1/tiles/{z}/{x}/{y}.png")
        crs_choices = ["EPSG:3857", "EPSG:4490", "GCJ-02", "BD-09"]
        tile_crs = st.selectbox(tr("data.basemap_crs"), crs_choices,
                                format_func=lambda c: i18n.t(f"data.basemap_crs.{c}", lang))
        name = st.text_input(tr("data.basemap_name"), value=current.name if current else "")
        attribution = st.text_input(tr("data.basemap_attribution"), value=current.attribution if current else "")
        save, remove = st.columns(2)
        if save.form_submit_button(tr("data.basemap_save")):
            try:
                service = check_basemap(url, tile_crs, name, attribution)
            except BasemapError as exc:
                st.error(tr("data.basemap_refused", error=tr(f"data.basemap_error.{exc.key}")))
            else:
                save_basemap(service)
                st.success(tr("data.basemap_saved", name=plain(service.name)))
        if remove.form_submit_button(tr("data.basemap_remove"), disabled=current is None):
            save_basemap(None)
            st.success(tr("data.basemap_removed"))


def save_city_table(label: str, save, table, counted: str) -> None:
    """A save button for an edited city table: how many rows were saved, or the refusal in one line."""
    if st.button(tr(label)):
        try:
            counts = save(common.store(), table, user=common.user())[counted]
            st.success(tr("data.city_saved", n=counts["inserted"] + counts["replaced"], deleted=counts["deleted"]))
        except ParkAtlasError as exc:
            common.show_error(exc)


with st.expander(tr("data.city_settings")):
    from geo.city import THRESHOLD_KEYS, chains_table, groups_table, read_chain_thresholds, set_city_chains, \
        set_park_groups
    from geo.standards import load_standards

    st.caption(tr("data.city_help"))
    revision = common.revision()  # in the editors' keys: after a save (or a CLI edit) they start from the store
    text = st.column_config.TextColumn
    names = {"name_zh": text(tr("col.name_zh")), "name_en": text(tr("col.name_en")),
             "order": st.column_config.NumberColumn(tr("col.order"), min_value=0, step=1, format="%d")}
    groups = common.table_editor(groups_table(common.city()), num_rows="dynamic", hide_index=True,
                                 key=f"city_groups_table.{revision}",
                                 column_config={"group_id": text(tr("col.group_id"), required=True), **names})
    save_city_table("data.city_save_groups", set_park_groups, groups, "park_groups")
    thresholds = {key: st.column_config.NumberColumn(tr(f"import.target.{key}") + tr("unit.wan_per_mu_suffix"),
                                                     min_value=0.0) for key in THRESHOLD_KEYS}
    chains = common.table_editor(
        chains_table(common.city(), read_chain_thresholds(common.store())), num_rows="dynamic", hide_index=True,
        key=f"city_chains_table.{revision}",
        column_config={"chain": st.column_config.SelectboxColumn(
                           tr("col.chain_tag"), required=True, options=sorted(load_standards().chains.chain),
                           format_func=lambda tag: tr("data.chain_option", name=display.label(tag, "chain", lang), tag=tag)),
                       "tier": text(tr("col.tier")), **names, **thresholds})
    save_city_table("data.city_save_chains", set_city_chains, chains, "city_chains")

try:
    from geo.io import commit_import, read_upload
except ImportError:
    st.info(tr("data.import_unavailable"))
    st.stop()
from geo.io.attributes import mapping_targets  # noqa: E402  (after the availability check above)
from geo.io.crs_guess import OutsideRegion  # noqa: E402
from geo.io.encoding import ENCODING_CHOICES  # noqa: E402
from geo.io.mappings import mapping_of, recall_mapping, target_label  # noqa: E402
from geo.io.report import committed_text, planner_report  # noqa: E402
from geo.store.base import settable_statuses  # noqa: E402

layer = st.radio(tr("data.layer"), ["parcels", "parks"], horizontal=True, key=common.lang_key("import_layer"),
                 format_func=lambda name: i18n.t(f"layer.{name}", lang))
upload = st.file_uploader(tr("data.upload"), key="import_file", help=tr("data.upload_help"))
if upload is None:
    for name in ("import_result", "import_token", "import_mapping", "import_file_key"):
        st.session_state.pop(name, None)
    st.stop()

st.markdown(f"**{tr('data.options')}**")
parcels_layer = layer == "parcels"
row = st.columns(3)
default_status = row[0].selectbox(
    tr("data.default_status"), [None, *settable_statuses()], key=common.lang_key("import_default_status"),
    format_func=lambda s: i18n.t("data.default_status_none", lang) if s is None else i18n.label_status(s, lang),
    disabled=not parcels_layer, help=tr("data.default_status_help"))
park_names = dict(zip(parks.park_id, parks.name_zh if lang == "zh" else parks.name_en))
target_park = row[1].selectbox(
    tr("data.target_park"), [None, *park_names], key=common.lang_key("import_park"),
    format_func=lambda p: i18n.t("data.target_park_auto", lang) if p is None else park_names.get(p, p),
    disabled=not parcels_layer, help=tr("data.target_park_help"))
text_encoding = row[2].selectbox(
    tr("data.encoding"), [None, *ENCODING_CHOICES], key=common.lang_key("import_encoding"),
    format_func=lambda e: i18n.t("data.encoding_auto", lang) if e is None else e.upper(),
    help=tr("data.encoding_help"))
row = st.columns(3)
declared_crs = row[0].text_input(tr("data.crs"), key="import_crs", placeholder="EPSG:4547",
                                 help=tr("data.crs_help")).strip() or None
datum = row[1].selectbox(tr("data.datum"), [None, "gcj02", "bd09"], key=common.lang_key("import_datum"),
                         format_func=lambda d: i18n.t(f"data.datum_{d or 'none'}", lang), help=tr("data.datum_help"))
allow_outside = row[2].checkbox(tr("data.allow_outside"), key="import_outside", help=tr("data.allow_outside_help"))

# A new file (or layer) starts from the mapping remembered for its source, else the automatic one.
file_key = (upload.file_id, layer)
if st.session_state.get("import_file_key") != file_key:
    st.session_state["import_file_key"] = file_key
    for name in ("import_result", "import_token", "import_mapping"):
        st.session_state.pop(name, None)
options = dict(layer=layer, crs=declared_crs, source_datum=datum, encoding=text_encoding,
               allow_outside_region=allow_outside, parks=parks, city=common.city(),
               park_id=target_park if parcels_layer else None,
               default_status=default_status if parcels_layer else None,
               existing=common.parcels() if parcels_layer else None)


def read(mapping):
    return read_upload(upload.getvalue(), upload.name, mapping=mapping, **options)


def token_of(mapping):
    return (file_key, declared_crs, datum, text_encoding, allow_outside, default_status, target_park,
            tuple(sorted((mapping or {}).items())))


# The parsed upload belongs to this session only (never to a shared cache).
mapping = st.session_state.get("import_mapping")
if st.session_state.get("import_token") != token_of(mapping):
    st.session_state.pop("import_result", None)
    try:
        with st.spinner(tr("data.checking")):
            result = read(mapping)
            if mapping is None:
                columns = result.report["source"]["columns"]
                remembered = recall_mapping(common.store(), columns, layer)
                if remembered and set(remembered) == set(columns):
                    result = read(remembered)
                    st.session_state["import_recalled"] = True
                else:
                    st.session_state.pop("import_recalled", None)
                mapping = mapping_of(result.report)
                st.session_state["import_mapping"] = mapping
    except OutsideRegion as exc:
        st.session_state["import_token"] = token_of(mapping)
        st.error(tr("data.outside_region", outside=i18n.format_number(exc.outside, lang, 0),
                    total=i18n.format_number(exc.total, lang, 0), lon=i18n.format_number(exc.lon, lang, 3),
                    lat=i18n.format_number(exc.lat, lang, 3)))
        st.stop()
    except KeyedError as exc:  # the reason in the planner's words, pointing at the option to change
        st.session_state["import_token"] = token_of(mapping)
        common.show_error(exc)
        st.stop()
    except ParkAtlasError as exc:
        st.session_state["import_token"] = token_of(mapping)
        st.error(tr("data.rejected", error=plain(exc)))
        st.stop()
    st.session_state["import_token"] = token_of(mapping)
    st.session_state["import_result"] = result
result = st.session_state.get("import_result")
if result is None:
    st.stop()

st.markdown(f"**{tr('data.preview')}**")
st.caption(tr("data.preview_help"))
st.table(plain_table(result.preview), hide_index=True)  # the file's own names and values

st.markdown(f"**{tr('data.mapping')}**")
st.caption(tr("data.mapping_recalled") if st.session_state.get("import_recalled") else tr("data.mapping_help"))
targets = ["ignore", *mapping_targets(layer)]


def set_target(header: str, key: str) -> None:
    st.session_state["import_mapping"] = {**st.session_state.get("import_mapping", {}),
                                          header: st.session_state[key]}


signature = result.report["source"]["signature"]
mapping_columns = st.columns(4)
for number, header in enumerate(result.report["source"]["columns"]):
    key = f"import_map.{signature}.{number}.{lang}"
    chosen = mapping.get(header, "ignore")
    mapping_columns[number % 4].selectbox(
        plain(header), targets, index=targets.index(chosen) if chosen in targets else 0, key=key,
        format_func=lambda target: target_label(target, lang), on_change=set_target, args=(header, key))

view = planner_report(result, lang, parks=parks)
st.markdown(f"**{tr('data.report')}**")
(st.success if result.accepted else st.warning)(view.verdict)
for sentence in view.blocking:
    st.error(plain(sentence))  # quotes ids from the file
report = result.report
counts = st.columns(4)
counts[0].metric(tr("data.read"), i18n.format_number(report.get("features_read"), lang, 0))
counts[1].metric(tr("data.accepted"), i18n.format_number(report.get("features_accepted"), lang, 0))
counts[2].metric(tr("data.rejected_count"), i18n.format_number(report.get("features_rejected"), lang, 0))
counts[3].metric(tr("data.problem_count"), i18n.format_number(len(result.problems), lang, 0))
st.table(plain_table(view.facts), hide_index=True)

problems = result.problems
st.markdown(f"**{tr('data.problems')}**")
if problems is None or len(problems) == 0:
    st.success(tr("data.no_problems"))
else:
    st.table(plain_table(view.counts), hide_index=True)
    st.dataframe(view.problems, hide_index=True, width="stretch")
    located = problems.loc[problems.geometry.notna() & ~problems.geometry.is_empty].reset_index(drop=True)
    if len(located):
        ids = located["parcel_id"].astype(str).fillna("")
        labels = pd.Series([i18n.t(f"import.kind.{kind}", lang) for kind in located["kind"]], index=located.index)
        parts = webmap.MapParts(webmap.base_map(webmap.lonlat_bounds(located), **common.map_options()),
                                folium.FeatureGroup(name="problems"))
        webmap.FeatureLayer(webmap.features_json(located, ids, ids + " · " + labels), palette=["#e15759"],
                            role="problems").add_to(parts.overlay)
        st_folium(parts.base, key="import_problems_map", feature_group_to_add=parts.overlay, height=420,
                  use_container_width=True, returned_objects=[])

if st.button(tr("data.commit"), type="primary", key="import_commit", disabled=not result.accepted):
    try:
        written = commit_import(common.store(), result, common.user())
    except ParkAtlasError as exc:
        common.show_error(exc)
    else:
        st.session_state.pop("import_result", None)
        st.session_state.pop("import_token", None)
        st.success(committed_text(written or {}, lang))
