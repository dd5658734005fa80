"""The "Parcel edits & history" page and the sign-in panel under AppTest, on a private store copy."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from app_pages.safe import plain
from geo import auth, display, i18n
from geo.auth import User
from geo.errors import ParkAtlasError
from geo.store import open_store
from tests.conftest import ROOT

TIMEOUT = 120
XSS = "<img src=x onerror=alert(1)>"
PLANNER = User("li", "planner")
SSO_SECRETS = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-only",
               "client_id": "parkatlas", "client_secret": "test-only",
               "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


@pytest.fixture()
def store(store_path, monkeypatch):
    monkeypatch.setenv("PARKATLAS_STORE", str(store_path))
    monkeypatch.setenv("PARKATLAS_USERS", str(store_path.with_name("users.json")))
    return open_store(str(store_path))


@pytest.fixture()
def parcel(store):
    """An occupied parcel with an enterprise (id, park id)."""
    frame = store.read_parcels()
    row = frame[(frame.status == "occupied") & frame.enterprise.notna()].sort_values("parcel_id").iloc[0]
    return row.parcel_id, row.park_id


def open_page(parcel_id: str, user: User | None = None, secrets: dict | None = None, sso_user: dict | None = None):
    """The app on the parcel page opened with ``?parcel=``, as ``user``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if secrets:
        at.secrets["auth"] = secrets
    if sso_user is not None:
        at.user = sso_user
    if user is not None:
        at.session_state["user"] = user
    at.query_params["parcel"] = parcel_id
    at.switch_page("app_pages/parcel.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun(at) -> AppTest:
    """Run the app (``at`` is the app or a widget just set) and check it raised nothing."""
    at = at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def field_key(at: AppTest, parcel_id: str, field: str) -> str:
    keys = [w.key for w in (*at.text_input, *at.number_input, *at.selectbox) if w.key]
    return next(k for k in keys if k.startswith(f"pe.{parcel_id}.") and k.endswith(f".{field}"))


def submit_form(at: AppTest) -> AppTest:
    return rerun(next(b for b in at.button if b.label == i18n.t("parcel.save", "zh")).click())


def history_table(at: AppTest):
    return next(d.value for d in at.dataframe if i18n.t("history.old", "zh") in d.value.columns)


def markup(at: AppTest) -> str:
    return "\n".join(e.value for e in (*at.markdown, *at.caption, *at.title, *at.subheader))


def test_planner_edits_an_attribute_and_history_shows_old_to_new(store, parcel):
    pid, _ = parcel
    before = store.read_parcels().set_index("parcel_id").loc[pid]
    at = open_page(pid, PLANNER)
    at.text_input(key=field_key(at, pid, "enterprise")).input(XSS)
    at.number_input(key=field_key(at, pid, "employees")).set_value(int(before.employees or 0) + 7)
    submit_form(at)

    after = store.read_parcels().set_index("parcel_id").loc[pid]
    assert after.enterprise == XSS and after.employees == int(before.employees or 0) + 7
    assert after.version == before.version + 1
    edits = store.history(parcel_id=pid)
    edits = edits[edits.action == "edit"]
    assert set(edits.field) == {"enterprise", "employees", "data_as_of"} and set(edits.user) == {"li"}
    table = history_table(at)
    row = table[table[i18n.t("history.field", "zh")] == i18n.label_field("enterprise", "zh")].iloc[0]
    assert (row[i18n.t("history.old", "zh")], row[i18n.t("history.new", "zh")]) == (before.enterprise, XSS)
    assert any(i18n.t("parcel.saved", "zh", n=2, version=int(after.version)) == s.value for s in at.success)
    assert XSS not in markup(at)  # shown only in table cells, never as markup


def test_stale_version_is_a_conflict_and_writes_nothing(store, parcel):
    pid, _ = parcel
    at = open_page(pid, PLANNER)
    store.update_attributes(pid, {"enterprise": "Someone else Ltd"}, user=User("wang", "planner"))
    revision = store.revision()
    at.text_input(key=field_key(at, pid, "enterprise")).input("Mine Ltd")
    submit_form(at)

    assert [e.value for e in at.error] == [i18n.t("parcel.conflict", "zh")]
    assert store.revision() == revision
    assert store.read_parcels().set_index("parcel_id").at[pid, "enterprise"] == "Someone else Ltd"
    # Reloading shows the newer parcel, and an edit from there is written.
    rerun(at.button(key="parcel_reload").click())
    assert at.text_input(key=field_key(at, pid, "enterprise")).value == "Someone else Ltd"
    at.text_input(key=field_key(at, pid, "enterprise")).input("Mine Ltd")
    submit_form(at)
    assert store.read_parcels().set_index("parcel_id").at[pid, "enterprise"] == "Mine Ltd"


def test_refused_edits_are_said_in_chinese_and_write_nothing(store, store_path, parcel, monkeypatch):
    """The store's refusals (English for the CLI) reach the Chinese page as their catalogue lines: a date
    written another way, a delay cause or land-use code outside its list (the page offers them by name; the
    store refuses whatever else arrives), a store the database cannot write (the driver's words quoted for
    the administrator)."""
    import sqlite3

    from geo.store.gpkg import GpkgStore

    pid, park = parcel
    ids = store.read_parcels(park).sort_values("parcel_id").parcel_id.tolist()
    revision = store.revision()
    at = open_page(pid, PLANNER)
    land_use = at.selectbox(key=field_key(at, pid, "land_use_code"))  # chosen by name, not typed
    assert "100101 一类工业用地" in land_use.options and land_use.value == store.read_parcels(park).set_index(
        "parcel_id").at[pid, "land_use_code"]
    at.text_input(key=field_key(at, pid, "contract_date")).input("2024/1/1")
    submit_form(at)
    # The page escapes the values it puts into the catalogue's line (Markdown), not the line itself.
    assert [e.value for e in at.error] == [f"合同签订日期“{plain('2024/1/1')}”不是日期：请按 年-月-日 填写（如 2026-03-01）。"]
    edit_table(at, park, {"0": {"delay_cause": "台风"}, "1": {"land_use_code": "M9"}})
    assert [e.value for e in at.error] == [
        plain(f"{ids[0]}: 延迟原因类别“台风”不是可选项，可选：政府或政府有关部门的行为、不可抗力。"),
        plain(f"{ids[1]}: 用地类型代码“M9”不在用地分类表中：请填写分类表中的代码，如 100101（一类工业用地）。")]
    assert store.revision() == revision

    def disk_fails(self, con):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(GpkgStore, "_begin", disk_fails)
    at = open_page(pid, PLANNER)
    at.text_input(key=field_key(at, pid, "enterprise")).input("新企业")
    submit_form(at)
    assert [e.value for e in at.error] == [f"无法写入数据库 {plain(str(store_path))}，未作任何更改：请把数据库的报错"
                                           f"“{plain('disk I/O error')}”告知系统管理员。"]
    monkeypatch.undo()
    assert store.revision() == revision


@pytest.mark.parametrize("user", [None, User("guest", "viewer")], ids=["anonymous", "viewer"])
def test_viewer_sees_no_edit_controls_and_cannot_write(store, parcel, user):
    pid, park = parcel
    revision, audit_rows = store.revision(), len(store.history())
    at = open_page(pid, user)
    assert i18n.t("parcel.read_only", "zh") in [e.value for e in at.info]
    keys = [w.key or "" for w in (*at.text_input, *at.number_input, *at.selectbox, *at.button)]
    assert not [k for k in keys if k.startswith(("pe.", "parcel_status", "parcel_set_status", "parcel_table"))]
    assert not at.data_editor
    assert not [b for b in at.button if b.label == i18n.t("parcel.save", "zh")]
    # Forged widget state of the edit form, the status control and a pending base: still nothing.
    for key, value in {f"pe.{pid}.1.enterprise": "forged", f"parcel_status.{pid}": "idle",
                       f"parcel_base.{pid}": {"version": 1, "values": {"enterprise": "x"}}}.items():
        at.session_state[key] = value
    rerun(at)
    assert store.revision() == revision and len(store.history()) == audit_rows


def test_planner_changes_status(store, parcel):
    pid, _ = parcel
    at = open_page(pid, PLANNER)
    rerun(at.selectbox(key=f"parcel_status.{pid}").set_value("idle"))
    at.text_input(key=f"parcel_note.{pid}").input("no production since June")
    rerun(at.button(key=f"parcel_set_status.{pid}").click())

    assert store.read_parcels().set_index("parcel_id").at[pid, "status"] == "idle"
    changes = store.history(parcel_id=pid)
    changes = changes[changes.action == "status"]
    assert list(zip(changes.old, changes.new, changes.user)) == [("occupied", "idle", "li")]
    table = history_table(at)
    assert display.format_value("idle", "status", "zh") in set(table[i18n.t("history.new", "zh")])
    assert not table.apply(lambda col: col.str.contains(r"\+00:00|T\d\d:|^idle$|True|None")).any().any()


def edit_table(at: AppTest, park_id: str, edited_rows: dict) -> AppTest:
    """Edit cells of the park's data editor and press save in one run (AppTest cannot type into it)."""
    editor = at.data_editor[0]
    states = at._tree.get_widget_states()
    states.widgets.append(WidgetState(id=editor.proto.id, string_value=json.dumps(
        {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []})))
    save = at.button(key=f"parcel_table_save.{park_id}")
    states.widgets.append(WidgetState(id=save.id, trigger_value=True))
    at._run(states)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_table_edit_writes_only_changed_rows(store, parcel):
    pid, park = parcel
    before = store.read_parcels(park).sort_values("parcel_id").reset_index(drop=True)
    at = open_page(pid, PLANNER)
    shown = at.data_editor[0].value
    assert list(shown.parcel_id) == list(before.parcel_id)
    assert before.chain.isna().any() and at.data_editor[0].proto.placeholder == ""  # an empty cell, not "None"
    blank = before.index[before.chain.isna()][0]  # a cell typed into and emptied again is no change
    edit_table(at, park, {"1": {"enterprise": "Table Ltd"}, "3": {"tax_wan": 123.5, "land_ready": False},
                          str(blank): {"chain": " "}})

    after = store.read_parcels(park).sort_values("parcel_id").reset_index(drop=True)
    moved = after.parcel_id[after.version != before.version].tolist()
    assert moved == [before.parcel_id[1], before.parcel_id[3]]
    assert after.enterprise[1] == "Table Ltd" and after.tax_wan[3] == 123.5 and not after.land_ready[3]
    edits = store.history(park_id=park)
    edits = edits[edits.action == "edit"]
    assert set(edits.parcel_id) == set(moved)
    assert set(edits.field) == {"enterprise", "tax_wan", "land_ready", "data_as_of"}
    assert any(s.value == i18n.t("parcel.table_saved", "zh", n=2) for s in at.success)


def test_table_edit_conflict_is_reported_per_row(store, parcel):
    pid, park = parcel
    ids = store.read_parcels(park).sort_values("parcel_id").parcel_id.tolist()
    at = open_page(pid, PLANNER)
    store.update_attributes(ids[2], {"enterprise": "Meanwhile Ltd"}, user=User("wang", "planner"))
    edit_table(at, park, {"0": {"enterprise": "A Ltd"}, "2": {"enterprise": "B Ltd"}})

    # Shown through plain(): the parcel id is data, so its Markdown characters are escaped.
    assert [e.value for e in at.error] == [plain(i18n.t("parcel.table_conflict", "zh", parcel=ids[2]))]
    current = store.read_parcels(park).set_index("parcel_id").enterprise
    assert (current[ids[0]], current[ids[2]]) == ("A Ltd", "Meanwhile Ltd")


def test_as_of_view_reproduces_the_earlier_status(store, parcel):
    pid, park = parcel
    store.set_status([pid], "idle", user=PLANNER)
    at = open_page(pid, PLANNER)

    def status_shown() -> str:
        table = next(d.value for d in at.dataframe
                     if list(d.value.columns)[:2] == [i18n.t("col.parcel_id", "zh"), i18n.t("col.status", "zh")])
        return table.set_index(i18n.t("col.parcel_id", "zh")).at[pid, i18n.t("col.status", "zh")]

    assert status_shown() == i18n.label_status("idle", "zh")
    rerun(at.date_input(key="parcel_as_of").set_value(date.today() - timedelta(days=1)))
    assert status_shown() == i18n.label_status("occupied", "zh")
    assert store.read_parcels().set_index("parcel_id").at[pid, "status"] == "idle"


def test_park_page_parcel_details_link_to_the_parcel_page(store, parcel):
    pid, park = parcel
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["park"] = park
    at.switch_page("app_pages/park.py")
    rerun(at)
    at.toggle(key="park_pick_open").set_value(True)
    rerun(at)
    at.selectbox(key=f"park_pick_{park}").set_value(pid)
    rerun(at)
    links = [e for e in at.get("page_link")]
    assert any(pid in str(link.proto) and "parcel" in str(link.proto) for link in links)


# --- sign-in ----------------------------------------------------------------------------------
def sso_button(at: AppTest):
    return [b for b in at.sidebar.button if b.label == i18n.t("sidebar.sso", "zh")]


def test_without_auth_secrets_there_is_no_sso_button(store, parcel):
    at = open_page(parcel[0])
    assert not sso_button(at)


def test_with_auth_secrets_the_sso_button_appears(store, store_path, parcel):
    auth.add_user("local", "s3cret-pass", "planner", path=store_path.with_name("users.json"))
    assert open_page(parcel[0]).sidebar.get("form")  # the local sign-in form, without [auth]
    at = open_page(parcel[0], PLANNER, secrets=SSO_SECRETS, sso_user={"is_logged_in": False})
    assert "user" not in at.session_state  # with SSO only the provider signs people in
    assert len(sso_button(at)) == 1
    assert not [f for f in at.sidebar.get("form")]  # no local password form next to SSO
    rerun(sso_button(at)[0].click())  # starts the provider's flow (or says in one line why not)
    assert "user" not in at.session_state


def test_sso_identity_gets_its_role_from_the_users_file(store, store_path, parcel):
    path = store_path.with_name("users.json")
    auth.add_user("local", "s3cret-pass", "admin", path=path)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "identities": {"Planner@Example.cn": "planner"}}))

    at = open_page(parcel[0], secrets=SSO_SECRETS,
                   sso_user={"is_logged_in": True, "email": "planner@example.cn"})
    assert at.session_state["user"] == User("planner@example.cn", "planner")
    assert not sso_button(at)
    assert [w.key for w in at.text_input if (w.key or "").startswith("pe.")]

    stranger = open_page(parcel[0], secrets=SSO_SECRETS, sso_user={"is_logged_in": True, "email": "x@y.cn"})
    assert stranger.session_state["user"] == User("x@y.cn", "viewer")
    assert not stranger.data_editor


def test_role_for_identity(tmp_path):
    path = tmp_path / "users.json"
    assert auth.role_for_identity("a@b.cn", path) == "viewer"  # no users file
    auth.add_user("ops", "s3cret-pass", "admin", path=path)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "identities": {"Chen@Park.cn": "admin", "wu@park.cn": "planner"}}))
    assert auth.role_for_identity("chen@park.cn", path) == "admin"
    assert auth.role_for_identity(" WU@park.cn ", path) == "planner"
    assert auth.role_for_identity("nobody@park.cn", path) == "viewer"
    assert auth.role_for_identity("", path) == "viewer"
    # Managing local accounts keeps the identities.
    auth.add_user("li", "s3cret-pass", "planner", path=path)
    assert auth.role_for_identity("chen@park.cn", path) == "admin"
    assert [u.name for u in auth.list_users(path)] == ["li", "ops"]
    path.write_text(json.dumps({"users": {}, "identities": {"x@y.cn": "owner"}}))
    with pytest.raises(ParkAtlasError, match="unknown role 'owner'"):
        auth.role_for_identity("x@y.cn", path)


def test_page_in_english(store, parcel):
    at = open_page(parcel[0], PLANNER)
    rerun(at.radio(key="lang").set_value("en"))
    assert at.title[0].value == "Parcel edits & history"
    assert [t.label for t in at.tabs] == ["Parcel", "History", "Table editing", "As of date"]
    assert at.selectbox(key="parcel_pick").value == parcel[0]


def test_planner_sets_the_article_8_delay_cause_and_the_details_show_its_label(store, parcel):
    pid, _ = parcel
    at = open_page(pid, PLANNER)
    cause = at.selectbox(key=field_key(at, pid, "delay_cause"))
    assert cause.options[1:] == [i18n.t("delay_cause.government", "zh"), i18n.t("delay_cause.force_majeure", "zh")]
    cause.set_value("force_majeure")
    at.text_input(key=field_key(at, pid, "delay_reason")).input("台风停工")
    submit_form(at)
    after = store.read_parcels().set_index("parcel_id").loc[pid]
    assert (after.delay_cause, after.delay_reason) == ("force_majeure", "台风停工")
    details = next(d.value for d in at.dataframe if i18n.t("col.field", "zh") in d.value.columns)
    shown = dict(zip(details[i18n.t("col.field", "zh")], details[i18n.t("col.value", "zh")]))
    assert shown[i18n.label_field("delay_cause", "zh")] == i18n.t("delay_cause.force_majeure", "zh")


def test_industry_and_chain_are_picked_by_name_in_the_form_and_the_table(store, parcel):
    """Industry (GB/T 4754-2017) and chain codes are offered by their names, never as bare codes to
    type; the store keeps the code."""
    pid, park = parcel
    at = open_page(pid, PLANNER)
    industry = at.selectbox(key=field_key(at, pid, "industry_code"))
    assert "38 电气机械和器材制造业" in industry.options
    chain = at.selectbox(key=field_key(at, pid, "chain"))
    assert "新能源汽车及零部件" in chain.options and "nev" not in chain.options
    industry.set_value("38")
    chain.set_value("nev")
    submit_form(at)
    after = store.read_parcels().set_index("parcel_id").loc[pid]
    assert (after.industry_code, after.chain) == ("38", "nev")
    columns = json.loads(at.data_editor[0].proto.columns)
    assert {"value": "38", "label": "38 电气机械和器材制造业"} in columns["industry_code"]["type_config"]["options"]
    assert {"value": "nev", "label": "新能源汽车及零部件"} in columns["chain"]["type_config"]["options"]


def test_a_broken_users_file_is_said_in_chinese_on_sign_in(store, store_path, parcel):
    """A users file the deployment cannot use is named to whoever signs in, in the page's language —
    not taken for a wrong password; with single sign-on, the identity is a viewer meanwhile."""
    users = store_path.with_name("users.json")
    auth.add_user("li", "s3cret-pass", "planner", path=users)
    users.write_text("[1, 2]")
    at = open_page(parcel[0])
    at.sidebar.text_input[0].input("li")
    at.sidebar.text_input[1].input("s3cret-pass")
    rerun(at.sidebar.button[0].click())
    assert [e.value for e in at.error] == [i18n.t("auth.users_file.malformed", "zh", path=plain(str(users)))]
    assert "user" not in at.session_state

    users.write_text(json.dumps({"users": {}, "identities": {"x@y.cn": "owner"}}))
    sso = open_page(parcel[0], secrets=SSO_SECRETS, sso_user={"is_logged_in": True, "email": "x@y.cn"})
    assert [e.value for e in sso.error] == [i18n.t("auth.users_file.identity_role", "zh", path=plain(str(users)),
                                                   email=plain("x@y.cn"), role="owner",
                                                   roles=plain(", ".join(auth.ROLES)))]
    assert sso.session_state["user"] == User("x@y.cn", "viewer")
