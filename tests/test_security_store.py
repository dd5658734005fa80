"""Issue 21: store locations, credentials, file modes and backups (items 3, 4 and the Low store items)."""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess

import psycopg
import pytest

from geo import auth
from geo.auth import User
from geo.errors import ParkAtlasError
from geo.store import open_store, redact_location
from geo.store import postgis as postgis_module
from tests.cli_runner import run_cli
from tests.conftest import ROOT

ADMIN = User("root", "admin")
SECRET = "Tops3cret-pw"


def _cli(store: str, *argv, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PARKATLAS_USERS": str(tmp_path / "none.json"), "HOME": str(tmp_path)}
    return run_cli("--store", store, *argv, cwd=ROOT, env=env)


@pytest.mark.parametrize("location, shown", [
    ("postgresql://u@db.example/x?password=" + SECRET + "&sslmode=require",
     "postgresql://u@db.example/x?password=***&sslmode=require"),
    ("postgresql://u:" + SECRET + "@db.example:5432/x", "postgresql://u:***@db.example:5432/x"),
    ("postgresql://u@db.example/x?sslpassword=" + SECRET, "postgresql://u@db.example/x?sslpassword=***"),
    ("host=db.example password='" + SECRET + " x' dbname=x", "host=db.example password=*** dbname=x"),
    ("/srv/parkatlas/store.gpkg", "/srv/parkatlas/store.gpkg"),
])
def test_every_credential_form_is_masked(location, shown):
    assert redact_location(location) == shown


def test_password_in_the_url_query_is_not_printed_by_check(postgis_url, tmp_path):
    # The test server trusts loopback, so the password is accepted and ignored: the command succeeds.
    done = _cli(f"{postgis_url}?password={SECRET}", "check", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    assert SECRET not in done.stdout + done.stderr
    assert "password=***" in json.loads(done.stdout)["store"]


def test_sidebar_does_not_show_the_password(postgis_url, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PARKATLAS_STORE", f"{postgis_url}?password={SECRET}")
    monkeypatch.setenv("PARKATLAS_USERS", str(tmp_path / "users.json"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    captions = [c.value.replace("\\", "") for c in at.sidebar.caption]  # Markdown escapes removed
    assert any("password=***" in c for c in captions), captions
    assert not any(SECRET in c for c in captions)


def test_pg_dump_and_restore_get_the_password_through_the_environment(postgis_url, tmp_path, monkeypatch):
    real_run = subprocess.run
    calls = []

    def recording_run(argv, **kwargs):
        calls.append((list(argv), kwargs.get("env") or {}))
        return real_run(argv, **kwargs)

    monkeypatch.setattr(postgis_module.subprocess, "run", recording_run)
    store = open_store(f"{postgis_url}?password={SECRET}")
    store.backup(tmp_path / "copy.dump")
    store.restore(tmp_path / "copy.dump", user=ADMIN)
    assert {argv[0].rsplit("/", 1)[1] for argv, _ in calls} == {"pg_dump", "pg_restore"}
    for argv, env in calls:
        assert not any(SECRET in arg for arg in argv), argv
        assert env.get("PGPASSWORD") == SECRET


@pytest.mark.parametrize("location", ["/vsicurl?url=store.gpkg", "/vsimem/x.gpkg", "vsizip//tmp/a.zip/s.gpkg",
                                      "https://example.org/s.gpkg", "store.gpkg?mode=ro"])
def test_only_plain_paths_and_postgresql_urls_are_stores(location, tmp_path):
    done = run_cli("--store", location, "info", cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert done.returncode == 2 and done.stderr.startswith("error: unsupported store"), done.stderr
    assert list(tmp_path.rglob("*.gpkg")) == [] and not (tmp_path / "vsicurl?url=store.gpkg").exists()


def test_a_users_file_others_may_write_is_refused(tmp_path):
    path = tmp_path / "users.json"
    auth.add_user("li", "s3cret-pass", "planner", path=path)
    assert auth.authenticate("li", "s3cret-pass", path=path).role == "planner"
    os.chmod(path, 0o666)
    with pytest.raises(ParkAtlasError, match="writable by other users.*chmod 600"):
        auth.authenticate("li", "s3cret-pass", path=path)


def test_new_gpkg_store_and_backups_are_owner_only(tmp_path):
    store = open_store(tmp_path / "var" / "new.gpkg")
    assert stat.S_IMODE((tmp_path / "var" / "new.gpkg").stat().st_mode) == 0o600
    store.backup(tmp_path / "copy.gpkg")
    assert stat.S_IMODE((tmp_path / "copy.gpkg").stat().st_mode) == 0o600


def test_postgis_backups_are_owner_only(postgis_url, tmp_path):
    open_store(postgis_url).backup(tmp_path / "copy.dump")
    assert stat.S_IMODE((tmp_path / "copy.dump").stat().st_mode) == 0o600


def test_gpkg_restore_refuses_a_backup_without_audit_protection(store_path, tmp_path):
    store = open_store(store_path)
    store.backup(tmp_path / "copy.gpkg")
    with sqlite3.connect(tmp_path / "copy.gpkg") as con:
        con.execute("DROP TRIGGER audit_log_no_delete")
    with pytest.raises(ParkAtlasError, match="audit_log is not protected.*nothing restored"):
        store.restore(tmp_path / "copy.gpkg", user=ADMIN)
    assert store.integrity_check() == []


def test_postgis_restore_refuses_a_backup_without_audit_protection(postgis_url, tmp_path):
    store = open_store(postgis_url)
    with psycopg.connect(postgis_url, autocommit=True) as con:
        con.execute("ALTER TABLE parkatlas.audit_log DISABLE TRIGGER audit_log_append_only")
        store.backup(tmp_path / "copy.dump")
        con.execute("ALTER TABLE parkatlas.audit_log ENABLE TRIGGER audit_log_append_only")
    with pytest.raises(ParkAtlasError, match="audit_log is not protected.*nothing restored"):
        store.restore(tmp_path / "copy.dump", user=ADMIN)
    assert store.integrity_check() == []


def test_postgis_backup_check_cleans_up_its_scratch_database_on_failure(postgis_url, tmp_path, monkeypatch):
    store = open_store(postgis_url)
    store.backup(tmp_path / "copy.dump")

    def no_restore(*args, **kwargs):
        raise psycopg.errors.InsufficientPrivilege("permission denied to create extension \"postgis\"")

    monkeypatch.setattr(postgis_module, "_run_pg", no_restore)
    with pytest.raises(ParkAtlasError, match="scratch database.*CREATE EXTENSION"):
        store.restore(tmp_path / "copy.dump", user=ADMIN)
    with psycopg.connect(postgis_url) as con:
        left = con.execute("SELECT datname FROM pg_database WHERE datname LIKE '%\\_check\\_%'").fetchall()
    assert left == []


@pytest.fixture()
def owner_url(postgis_server_url):
    """A database owned by a role that is neither superuser nor allowed to create databases, with
    PostGIS created in it by the administrator (docs/store.md: the administrator's one-time step)."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    server_url, _ = postgis_server_url
    role, name = f"owner_{uuid.uuid4().hex[:8]}", f"parkatlas_owned_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as con:
        con.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD \'owner-pw\'')
        con.execute(f'CREATE DATABASE "{name}" OWNER "{role}"')
    admin_in_db = server_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin_in_db, autocommit=True) as con:
        con.execute("CREATE EXTENSION postgis")
    parts = urlsplit(admin_in_db)
    yield urlunsplit(parts._replace(netloc=f"{role}:owner-pw@{parts.hostname}:{parts.port}"))
    with psycopg.connect(server_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_postgis_restore_as_the_owner_of_the_database(owner_url, tmp_path, monkeypatch):
    in_place = []
    checked_in_place = postgis_module.PostgisStore._replace_checked_in_place
    monkeypatch.setattr(postgis_module.PostgisStore, "_replace_checked_in_place",
                        lambda self, src: in_place.append(src.name) or checked_in_place(self, src))
    with psycopg.connect(owner_url) as con:
        assert con.execute("SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)
    store = open_store(owner_url)  # the owner sets the store up in the database PostGIS was created in
    assert store.integrity_check() == []
    parcel = store.read_parcels().query("status == 'available'").parcel_id.iloc[0]
    store.backup(tmp_path / "good.dump")
    # A backup whose audit log lost its protection is refused: the store keeps its content.
    with psycopg.connect(owner_url, autocommit=True) as con:
        con.execute("ALTER TABLE parkatlas.audit_log DISABLE TRIGGER audit_log_append_only")
        store.backup(tmp_path / "bad.dump")
        con.execute("ALTER TABLE parkatlas.audit_log ENABLE TRIGGER audit_log_append_only")
    store.set_status([parcel], "idle", user=ADMIN, note="after the backups")
    with pytest.raises(ParkAtlasError, match="audit_log is not protected.*nothing restored"):
        store.restore(tmp_path / "bad.dump", user=ADMIN)
    assert store.integrity_check() == []
    assert store.read_parcels().set_index("parcel_id").status[parcel] == "idle"
    # The good backup is restored by the owner: the change after it is gone, the restore is audited.
    store.restore(tmp_path / "good.dump", user=ADMIN)
    assert store.read_parcels().set_index("parcel_id").status[parcel] == "available"
    assert store.integrity_check() == []
    assert store.history().iloc[-1].action == "restore"
    assert in_place == ["bad.dump", "good.dump"]  # no scratch database for this role: checked in place
