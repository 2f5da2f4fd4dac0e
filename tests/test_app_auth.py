"""Sign-in, cases and single-user mode in the dashboard (AppTest): sign-in/out, another analyst's case refused,
persistence across sessions (and a server restart: caches cleared), refusal without accounts off localhost."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from forensics.cases import accounts, cases  # noqa: E402
from forensics.cases.audit import CaseLog  # noqa: E402
from forensics.cases.workbench import Workbench  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")
EXAMPLE = ROOT / "ui" / "examples" / "astronaut.jpg"
PASSWORD = "correct horse battery"
TIMEOUT = 300


@pytest.fixture()
def lab(tmp_path, monkeypatch):
    """A database, store and audit log of this test only (the dashboard reads them from the environment)."""
    monkeypatch.setenv("FORENSICS_DB_URL", f"sqlite:///{tmp_path / 'wb.sqlite'}")
    monkeypatch.setenv("FORENSICS_EVIDENCE_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("FORENSICS_CASE_DB", str(tmp_path / "audit.sqlite"))
    st.cache_data.clear()
    st.cache_resource.clear()
    wb = Workbench()
    yield wb
    wb.close()
    st.cache_resource.clear()


def _restart() -> None:
    """What a server restart loses: every cache and resource (the database engine too)."""
    st.cache_data.clear()
    st.cache_resource.clear()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _sign_in(at: AppTest, user: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="sign_in_user").input(user)
    at.text_input(key="sign_in_password").input(password)
    _button(at, "Sign in").click().run()
    _ok(at)
    return at


def _case_box(at: AppTest):
    return next(s for s in at.selectbox if s.label == "Case")


def _audit(wb: Workbench) -> list[tuple[str, str | None, int | None]]:
    with CaseLog(wb.audit_db) as log:
        return [(e.kind, e.payload.get("user"), e.payload.get("case_id")) for e in log.entries()]


def test_sign_in_and_sign_out(lab):
    accounts.add_user(lab, "ann", PASSWORD, "analyst")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _ok(at)
    assert [t.value for t in at.title] == ["Sign in"] and not at.selectbox  # nothing else until signed in
    _sign_in(at, "ann", "wrong password!")
    assert at.error and "wrong user name or password" in at.error[0].value
    assert "auth_user" not in at.session_state
    _sign_in(at, "ann")
    assert "Sign in" not in [t.value for t in at.title]
    assert "sign_in_password" not in at.session_state or at.session_state["sign_in_password"] != PASSWORD
    assert any("Signed in as" in c.value and "ann" in c.value for c in at.caption)
    assert not any("Single-user" in i.value for i in at.info)
    _button(at, "Sign out").click().run()
    _ok(at)
    assert [t.value for t in at.title] == ["Sign in"]
    # an account disabled while its user is signed in is signed out at the next run
    _sign_in(at, "ann")
    accounts.set_disabled(lab, "ann")
    accounts.add_user(lab, "other", PASSWORD, "admin")  # (so the dashboard still has an account)
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT)
    fresh.session_state["auth_user"] = accounts.User("ann", "analyst")
    fresh.run()
    _ok(fresh)
    assert [t.value for t in fresh.title] == ["Sign in"]
    kinds = [(k, u) for k, u, _ in _audit(lab)]
    assert ("sign-in-failed", "ann") in kinds and ("sign-in", "ann") in kinds and ("sign-out", "ann") in kinds
    assert kinds[-2:] == [("user-add", "cli"), ("sign-out", "ann")]


def test_another_analysts_case_is_refused(lab):
    for name in ("ann", "bob"):
        accounts.add_user(lab, name, PASSWORD, "analyst")
    theirs = cases.create_case(lab, accounts.get_user(lab, "ann"), "Ann's case")
    at = _sign_in(AppTest.from_file(APP, default_timeout=TIMEOUT).run(), "bob")
    assert _case_box(at).options == []  # her case is not offered
    assert any("Open a case" in i.value for i in at.info)
    # a session that names the case anyway (a stale or forged choice) still gets nothing of it
    at.session_state["auth_case_id"] = theirs.id
    at.run()
    _ok(at)
    assert _case_box(at).value is None and "forensics_evidence" not in at.session_state
    # with a case of his own open, the case list shows his and not hers
    mine = cases.create_case(lab, accounts.get_user(lab, "bob"), "Bob's case")
    at.session_state["auth_case_id"] = None
    at.run()
    assert _case_box(at).options == [f"#{mine.id} Bob's case (open)"]
    _case_box(at).select(mine.id).run()
    at.switch_page("pages/cases.py").run()
    _ok(at)
    assert list(at.dataframe[0].value["title"]) == ["Bob's case"]


def test_evidence_and_work_survive_a_new_session_and_a_restart(lab):
    accounts.add_user(lab, "ann", PASSWORD, "analyst")
    at = _sign_in(AppTest.from_file(APP, default_timeout=TIMEOUT).run(), "ann")
    at.text_input(key="new_case_title").input("Harbour stills")
    _button(at, "Create").click().run()
    _ok(at)
    case_id = at.session_state["auth_case_id"]
    assert _case_box(at).value == case_id
    at.session_state["sidebar_detectors"] = ["simplenet"]
    at.session_state["sidebar_face_method"] = "whole"
    at.switch_page("pages/detect.py").run()  # the default page is the landing page
    at.file_uploader(key="detect_upload").upload(EXAMPLE.name, EXAMPLE.read_bytes(), "image/jpeg").run()
    at.run()
    _ok(at)
    sha = at.session_state["forensics_evidence"].sha256
    ann = accounts.get_user(lab, "ann")
    assert [i.sha256 for i in cases.list_items(lab, ann, case_id)] == [sha]
    assert [r.kind for r in cases.list_records(lab, ann, case_id)] == ["analysis"]
    _restart()
    again = _sign_in(AppTest.from_file(APP, default_timeout=TIMEOUT).run(), "ann")
    _ok(again)
    assert again.session_state["auth_case_id"] == case_id  # the last case reopens by itself
    assert again.session_state["forensics_evidence"].sha256 == sha  # with its evidence, read back from the store
    again.switch_page("pages/ela.py").run()  # a classic check on the reopened evidence is kept too
    _ok(again)
    assert {r.kind for r in cases.list_records(lab, ann, case_id)} >= {"analysis", "check"}
    again.switch_page("pages/cases.py").run()
    _ok(again)
    texts = "\n".join(t.value for t in again.text)
    assert EXAMPLE.name in texts and sha in texts
    assert any(e.label.startswith("analysis #") and "ann" in e.label for e in again.expander)
    kinds = {(k, u, c) for k, u, c in _audit(lab)}
    assert {("evidence-add", "ann", case_id), ("case-analysis", "ann", case_id)} <= kinds


def test_single_user_mode_on_localhost_and_refusal_elsewhere(lab):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _ok(at)
    assert any("Single-user mode" in i.value for i in at.info)
    assert _case_box(at).value is not None  # a case is open without signing in
    # (AppTest runs streamlit_app.py, hence the gate and its banner, on the first run only; the real-browser test
    # sees the gate on every page)
    # a note survives a new session
    at.switch_page("pages/cases.py").run()
    at.text_area(key="case_note_text").input("first look: EXIF stripped")
    _button(at, "Add note").click().run()
    _ok(at)
    _restart()
    again = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    again.switch_page("pages/cases.py").run()
    assert any(e.label.startswith("note #") and "local" in e.label for e in again.expander)
    assert "first look: EXIF stripped" in [t.value for t in again.text]
    old = st.get_option("server.address")
    try:
        st.config.set_option("server.address", "0.0.0.0")
        off = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        _ok(off)
        assert off.error and "serves nothing" in off.error[0].value
        assert not off.title and not off.selectbox
        accounts.add_user(lab, "ann", PASSWORD, "admin")  # with an account it serves, behind the sign-in
        assert [t.value for t in AppTest.from_file(APP, default_timeout=TIMEOUT).run().title] == ["Sign in"]
    finally:
        st.config.set_option("server.address", old)


def test_dataset_stats_lists_only_the_open_cases_scans(lab, tmp_path, monkeypatch):
    import forensics.paths
    from forensics.scan.store import ScanStore

    monkeypatch.setattr(forensics.paths, "CACHE_DIR", tmp_path / "cache")
    ScanStore(tmp_path / "cache" / "scans" / "someone-elses.sqlite").close()  # a scan no case of this user made
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    monkeypatch.setenv("FORENSICS_EVIDENCE_ROOTS", str(tmp_path / "evidence"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.session_state["sidebar_detectors"] = ["simplenet"]
    at.switch_page("pages/dataset_stats.py").run()
    _ok(at)
    assert any("No scan yet" in i.value for i in at.info) and not at.dataframe
    at.text_input(key="scan_folder").set_value(str(tmp_path / "evidence" / ".." / outside.name)).run()
    at.button(key="scan_go").click().run()
    _ok(at)
    assert at.error and "outside the evidence roots" in at.error[0].value and not at.success
