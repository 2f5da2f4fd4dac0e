"""Cases and sign-in (forensics.cases): the same tests on SQLite and on PostgreSQL (FORENSICS_TEST_PG_URL)."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from forensics.cases import accounts, cases, db
from forensics.cases.audit import CaseLog
from forensics.cases.roots import confine
from forensics.cases.store import EvidenceStore
from forensics.cases.workbench import Workbench
from forensics.errors import AccessDeniedError, ForensicsError, PathNotAllowedError, SignInError

PG_URL = os.environ.get("FORENSICS_TEST_PG_URL")
SKIP_NO_PG = (
    "FORENSICS_TEST_PG_URL is not set: no PostgreSQL server to test against (.ci/run starts one with "
    'scripts/postgres.sh; locally: eval "$(bash scripts/postgres.sh start)")'
)
PASSWORD = "correct horse battery"


def _empty(url: str) -> None:
    """Drop every table of the PostgreSQL test database (each test starts from an empty database)."""
    engine = db.make_engine(url)
    with engine.begin() as conn:
        db.metadata.drop_all(conn)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wb.sqlite'}"
    if not PG_URL:
        pytest.skip(SKIP_NO_PG)
    _empty(PG_URL)
    return PG_URL


@pytest.fixture()
def wb(db_url, tmp_path):
    w = Workbench(db_url, store=tmp_path / "store", audit_db=tmp_path / "audit.sqlite")
    yield w
    w.close()


def _log(wb: Workbench) -> list[dict]:
    with CaseLog(wb.audit_db) as log:
        assert log.verify().ok
        return [{"kind": e.kind, **e.payload} for e in log.entries()]


# ------------------------------------------------------------------------------------------------ migrations
def test_upgrade_from_empty_reaches_the_latest_version_with_every_table(db_url):
    engine = db.make_engine(db_url)
    assert db.migrate(engine) == db.LATEST
    with engine.connect() as conn:
        assert db.current_version(conn) == db.LATEST
        assert set(db.metadata.tables) <= set(sa.inspect(conn).get_table_names())
    assert db.migrate(engine) == db.LATEST  # a second run applies nothing and fails on nothing
    engine.dispose()


def test_upgrade_from_the_previous_version_keeps_its_data(db_url, tmp_path):
    engine = db.make_engine(db_url)
    assert db.migrate(engine, target=db.LATEST - 1) == db.LATEST - 1
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("cases")
    engine.dispose()
    # an account made by the older schema survives the upgrade and can sign in afterwards
    old = Workbench.__new__(Workbench)
    old.engine, old.store, old.audit_db = db.make_engine(db_url), EvidenceStore(tmp_path / "s"), tmp_path / "a.sqlite"
    accounts.add_user(old, "ann", PASSWORD, "analyst")
    old.close()
    wb = Workbench(db_url, store=tmp_path / "s", audit_db=tmp_path / "a.sqlite")
    assert accounts.sign_in(wb, "ann", PASSWORD).role == "analyst"
    assert cases.create_case(wb, accounts.get_user(wb, "ann"), "after upgrade").members == ("ann",)
    wb.close()


def test_a_step_another_process_applied_meanwhile_is_not_run_twice(db_url, monkeypatch):
    """Two servers starting on one empty database both read version 0; the one that loses the race must find the
    other's tables, not fail on them (seen as "table users already exists" with two dashboard sessions)."""
    engine = db.make_engine(db_url)
    assert db.migrate(engine) == db.LATEST  # the other process, done first
    stale = [0]  # our read of the version came before its commit
    real = db.current_version
    monkeypatch.setattr(db, "current_version", lambda conn: stale.pop() if stale else real(conn))
    assert db.migrate(engine) == db.LATEST
    with engine.connect() as conn:
        assert real(conn) == db.LATEST
        assert conn.execute(sa.select(sa.func.count()).select_from(db.schema_version)).scalar() == 1
    engine.dispose()


def test_a_database_newer_than_the_code_is_refused(db_url):
    engine = db.make_engine(db_url)
    db.migrate(engine)
    with engine.begin() as conn:
        conn.execute(db.schema_version.update().values(version=db.LATEST + 1))
    with pytest.raises(ForensicsError, match="update the workbench"):
        db.migrate(engine)
    engine.dispose()


# ------------------------------------------------------------------------------------------------ accounts
def test_accounts_sign_in_and_failures_go_to_the_audit_log(wb):
    accounts.add_user(wb, "ann", PASSWORD, "analyst")
    assert accounts.has_accounts(wb)
    stored = wb.engine.connect().execute(sa.select(db.users.c.password_hash)).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.sign_in(wb, "ann", PASSWORD) == accounts.User(
        "ann", "analyst", False, accounts.get_user(wb, "ann").created_at
    )
    with pytest.raises(SignInError) as wrong:
        accounts.sign_in(wb, "ann", "not the password")
    with pytest.raises(SignInError) as unknown:
        accounts.sign_in(wb, "nobody", PASSWORD)
    assert str(wrong.value) == str(unknown.value)  # the message does not tell which names exist
    accounts.sign_out(wb, accounts.get_user(wb, "ann"))
    kinds = [(e["kind"], e["user"]) for e in _log(wb)]
    assert kinds == [
        ("user-add", "cli"),
        ("sign-in", "ann"),
        ("sign-in-failed", "ann"),
        ("sign-in-failed", "nobody"),
        ("sign-out", "ann"),
    ]


def test_disabled_accounts_cannot_sign_in_and_do_not_count(wb):
    accounts.add_user(wb, "ann", PASSWORD, "admin")
    accounts.set_disabled(wb, "ann")
    assert not accounts.has_accounts(wb)
    with pytest.raises(SignInError, match="disabled"):
        accounts.sign_in(wb, "ann", PASSWORD)
    accounts.set_disabled(wb, "ann", False)
    assert accounts.sign_in(wb, "ann", PASSWORD).is_admin


@pytest.mark.parametrize(
    "name,password,role",
    [
        ("Ann", PASSWORD, "analyst"),
        ("ann", "short", "analyst"),
        ("ann", PASSWORD, "boss"),
        ("local", PASSWORD, "admin"),
    ],
)
def test_bad_accounts_are_refused(wb, name, password, role):
    with pytest.raises(ForensicsError):
        accounts.add_user(wb, name, password, role)
    assert accounts.list_users(wb) == []


def test_failed_sign_ins_are_rate_limited_per_name(wb):
    accounts.add_user(wb, "ann", PASSWORD, "analyst")
    accounts.add_user(wb, "bob", PASSWORD, "analyst")
    t0 = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    for i in range(accounts.MAX_FAILURES):
        with pytest.raises(SignInError, match="wrong"):
            accounts.sign_in(wb, "ann", "guess", now=t0 + dt.timedelta(minutes=i))
    with pytest.raises(SignInError, match="too many"):  # even the right password, while limited
        accounts.sign_in(wb, "ann", PASSWORD, now=t0 + dt.timedelta(minutes=5))
    assert accounts.sign_in(wb, "bob", PASSWORD, now=t0 + dt.timedelta(minutes=5)).username == "bob"
    # once the first failure is older than the window, one more attempt is allowed
    assert accounts.sign_in(wb, "ann", PASSWORD, now=t0 + accounts.WINDOW + dt.timedelta(seconds=1)).username == "ann"
    assert [e["reason"] for e in _log(wb) if e["kind"] == "sign-in-refused"] == ["rate-limited"]


# ------------------------------------------------------------------------------------------------ cases
def _users(wb):
    for name, role in (("ann", "analyst"), ("bob", "analyst"), ("rita", "reviewer"), ("root1", "admin")):
        accounts.add_user(wb, name, PASSWORD, role)
    return {n: accounts.get_user(wb, n) for n in ("ann", "bob", "rita", "root1")}


def test_only_members_and_admins_see_a_case(wb):
    u = _users(wb)
    c = cases.create_case(wb, u["ann"], "Harbour CCTV stills")
    assert (c.title, c.status, c.members) == ("Harbour CCTV stills", "open", ("ann",))
    assert [x.id for x in cases.list_cases(wb, u["bob"])] == []
    assert [x.id for x in cases.list_cases(wb, u["root1"])] == [c.id]
    with pytest.raises(AccessDeniedError, match="not yours"):
        cases.open_case(wb, u["bob"], c.id)
    with pytest.raises(AccessDeniedError):
        cases.item_bytes(wb, u["bob"], c.id, "0" * 64)
    cases.add_member(wb, u["ann"], c.id, "bob")
    assert cases.open_case(wb, u["bob"], c.id).members == ("ann", "bob")
    log = _log(wb)
    refused = [e for e in log if e["kind"] == "case-open-refused"]
    assert refused and refused[0]["user"] == "bob" and refused[0]["case_id"] == c.id
    assert {"case-create", "case-member-add", "case-open"} <= {e["kind"] for e in log if e["case_id"] == c.id}


def test_evidence_is_stored_once_read_only_and_checked(wb):
    u = _users(wb)
    a = cases.create_case(wb, u["ann"], "A")
    b = cases.create_case(wb, u["bob"], "B")
    data = b"\xff\xd8 not really a jpeg but bytes are bytes"
    i1 = cases.add_item(wb, u["ann"], a.id, "photo.jpg", data)
    i2 = cases.add_item(wb, u["bob"], b.id, "same.jpg", data)
    assert i1.sha256 == i2.sha256 and cases.add_item(wb, u["ann"], a.id, "again.jpg", data) == i1
    files = [p for p in wb.store.root.rglob("*") if p.is_file()]
    assert len(files) == 1 and not files[0].stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert cases.item_bytes(wb, u["ann"], a.id, i1.sha256) == data
    files[0].chmod(0o644)
    files[0].write_bytes(b"swapped")
    with pytest.raises(ForensicsError, match="altered"):
        cases.item_bytes(wb, u["ann"], a.id, i1.sha256)


def test_work_survives_a_restart_with_who_and_when(wb, db_url, tmp_path):
    u = _users(wb)
    c = cases.create_case(wb, u["ann"], "Restart")
    item = cases.add_item(wb, u["ann"], c.id, "p.png", b"png bytes")
    cases.add_record(wb, u["ann"], c.id, "analysis", {"faces": [{"p_fake": 0.25}]}, item_sha256=item.sha256)
    cases.add_record(
        wb, u["ann"], c.id, "report", {"bundle_sha256": "ab" * 32}, item_sha256=item.sha256, blob=b"%PDF-1.7 fake"
    )
    cases.add_member(wb, u["ann"], c.id, "rita")
    cases.add_record(wb, u["rita"], c.id, "note", {"text": "checked the EXIF"})
    with pytest.raises(AccessDeniedError, match="notes only"):
        cases.add_record(wb, u["rita"], c.id, "analysis", {})
    cases.open_case(wb, u["ann"], c.id)
    wb.close()
    again = Workbench(db_url, store=tmp_path / "store", audit_db=tmp_path / "audit.sqlite")
    ann = accounts.get_user(again, "ann")
    assert cases.last_case(again, ann) == c.id
    recs = cases.list_records(again, ann, c.id)
    assert [(r.kind, r.created_by) for r in recs] == [("analysis", "ann"), ("report", "ann"), ("note", "rita")]
    assert recs[0].payload == {"faces": [{"p_fake": 0.25}]} and recs[0].created_at.endswith("Z")
    assert cases.record_blob(again, ann, c.id, recs[1].id) == b"%PDF-1.7 fake"
    assert [i.name for i in cases.list_items(again, ann, c.id)] == ["p.png"]
    listed = cases.list_cases(again, ann)[0]
    assert (listed.items, listed.records, listed.members) == (1, 3, ("ann", "rita"))
    cases.set_status(again, ann, c.id, "closed")
    assert cases.get_case(again, ann, c.id).status == "closed"
    with pytest.raises(AccessDeniedError, match="closed"):
        cases.add_item(again, ann, c.id, "late.png", b"late")
    again.close()


# ------------------------------------------------------------------------------------------------ roots
def test_paths_are_confined_to_the_evidence_roots(tmp_path):
    root = tmp_path / "evidence"
    (root / "case1").mkdir(parents=True)
    inside = root / "case1" / "a.jpg"
    inside.write_bytes(b"x")
    secret = tmp_path / "secret.txt"
    secret.write_text("no")
    (root / "case1" / "link_out").symlink_to(secret)
    (root / "case1" / "link_dir_out").symlink_to(tmp_path)
    (root / "case1" / "link_in").symlink_to(inside)
    roots = [root]
    assert confine(inside, roots) == inside.resolve()
    assert confine(root / "case1" / "link_in", roots) == inside.resolve()
    assert confine(root / "case1", roots, folder=True) == (root / "case1").resolve()
    for bad in (
        root / ".." / "secret.txt",
        f"{root}/case1/../../secret.txt",
        root / "case1" / "link_out",
        root / "case1" / "link_dir_out" / "secret.txt",
        "/etc/passwd",
    ):
        with pytest.raises(PathNotAllowedError, match="outside the evidence roots"):
            confine(bad, roots)
    with pytest.raises(PathNotAllowedError, match="outside"):
        confine(root / "case1" / "link_dir_out", roots, folder=True)
    with pytest.raises(PathNotAllowedError, match="no evidence roots"):
        confine(inside, [])
    with pytest.raises(PathNotAllowedError, match="not a readable file"):
        confine(root / "case1" / "missing.jpg", roots)


# ------------------------------------------------------------------------------------------------ command
def test_users_command_adds_disables_and_lists(tmp_path):
    env = {
        **os.environ,
        "FORENSICS_DB_URL": f"sqlite:///{tmp_path / 'wb.sqlite'}",
        "FORENSICS_CASE_DB": str(tmp_path / "audit.sqlite"),
    }

    def users(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "forensics", "users", *args],
            input=stdin,
            env=env,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )

    assert "single-user mode" in users("list").stdout
    assert users("add", "ann", "--role", "reviewer", "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    short = users("add", "bob", "--password-stdin", stdin="short\n")
    assert short.returncode == 4 and "too short" in short.stderr
    assert users("disable", "ann").returncode == 0
    assert users("list").stdout.split("\t")[:3] == ["ann", "reviewer", "disabled"]
    assert users("disable", "nobody").returncode == 4
