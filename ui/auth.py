"""The sign-in gate and the open case: ``gate()`` runs first on every page (streamlit_app.py calls it).

- Accounts exist: nothing but the sign-in form is shown until a user signs in; the sidebar then shows the user,
  sign-out and the case picker, and a page shows nothing of a case until one is open.
- No enabled account and the server bound to localhost (``bash scripts/run.sh``): single-user mode, said on every
  page; the user is ``local`` (an admin) and the last case (or a new one) is opened by itself.
- No enabled account and any other address (including Streamlit's default, every interface): the dashboard refuses
  to serve anything.

The current evidence is kept in the open case (evidence store + database) as soon as it is chosen, and reopening a
case (after a reload or a restart) makes its last evidence current again. ``keep`` stores the work a page made.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from forensics.cases import accounts, cases
from forensics.cases.roots import confine
from forensics.cases.workbench import Workbench
from forensics.errors import ForensicsError
from ui import state
from ui.common import plain, show_error

USER_KEY = "auth_user"
CASE_KEY = "auth_case_id"
SESSION_KEY = "auth_session"
LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")
SINGLE_USER = (
    "Single-user mode: no accounts are configured and the dashboard only listens on this machine. Anyone "
    "who can use this machine sees every case. Add accounts with `python -m forensics users add` to share "
    "it with a lab."
)


@dataclass(frozen=True)
class Session:
    user: accounts.User
    case: cases.Case | None
    single_user: bool


@st.cache_resource(show_spinner=False)
def _workbench(url: str | None, store: str | None, audit_db: str | None) -> Workbench:
    return Workbench(url, store=store, audit_db=audit_db)


def workbench() -> Workbench:
    """The process's Workbench (one engine per database URL), from the environment."""
    env = os.environ.get
    return _workbench(env("FORENSICS_DB_URL"), env("FORENSICS_EVIDENCE_STORE"), env("FORENSICS_CASE_DB"))


def bound_locally() -> bool:
    """Whether the server listens on the loopback only (an unset address means every interface)."""
    return (st.get_option("server.address") or "") in LOCAL_ADDRESSES


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except ForensicsError as exc:
        show_error(exc)
        st.stop()


def gate() -> Session:
    """Who is signed in and which case is open, or stop the page (sign-in form, refusal, case to choose)."""
    wb = _call(workbench)
    if not _call(accounts.has_accounts, wb):
        if not bound_locally():
            _only(
                lambda: st.error(
                    "This dashboard is reachable from other machines and has no accounts, so it serves nothing. Add an "
                    "account (`python -m forensics users add NAME --role admin`) or start it on localhost "
                    "(`bash scripts/run.sh`).",
                    icon=":material/lock:",
                )
            )
        st.session_state[USER_KEY] = accounts.LOCAL_USER
        st.info(SINGLE_USER, icon=":material/person:")
        single = True
    else:
        user = st.session_state.get(USER_KEY)
        if user is not None and user != accounts.LOCAL_USER:
            fresh = _call(accounts.get_user, wb, user.username)  # disabled or changed since signing in
            if fresh is None or fresh.disabled:
                sign_out(wb)
                user = None
            else:
                st.session_state[USER_KEY] = fresh
        if user is None or user == accounts.LOCAL_USER:
            _only(lambda: _sign_in_form(wb))
        single = False
    user = st.session_state[USER_KEY]
    st.session_state.pop(SESSION_KEY, None)
    case = _case_sidebar(wb, user, single)
    _sync_evidence(wb, user, case)
    st.session_state[SESSION_KEY] = Session(user, case, single)
    return st.session_state[SESSION_KEY]


def _only(render: Callable[[], None]) -> None:
    """Show ``render`` as the app's only page and stop. The app's pages are never registered on such a run, so no
    navigation entry, URL or pages/ folder fallback can reach them."""
    st.navigation([st.Page(render, title="Face forensics workbench", url_path="welcome")], position="hidden").run()
    st.stop()


def _sign_in_form(wb: Workbench) -> None:
    st.title("Sign in")
    st.caption("Face forensics workbench: cases are kept apart per analyst; every sign-in is logged.")
    failed = st.session_state.pop("_sign_in_failed", None)
    if failed is not None:
        show_error(failed)
    with st.form("sign_in", clear_on_submit=True):  # the password does not stay in the session's widget state
        st.text_input("User name", key="sign_in_user")
        st.text_input("Password", type="password", key="sign_in_password")
        st.form_submit_button("Sign in", type="primary", on_click=_submit, args=(wb,))


def _submit(wb: Workbench) -> None:
    """The sign-in form's callback (runs before the next run, which then starts signed in)."""
    password = st.session_state.pop("sign_in_password", "")
    try:
        user = accounts.sign_in(wb, st.session_state.get("sign_in_user", "").strip(), password)
    except ForensicsError as exc:
        st.session_state["_sign_in_failed"] = exc
        return
    st.session_state[USER_KEY] = user
    st.session_state.pop(CASE_KEY, None)


def sign_out(wb: Workbench) -> None:
    user = st.session_state.get(USER_KEY)
    if user is not None:
        accounts.sign_out(wb, user)
    for k in (USER_KEY, CASE_KEY, SESSION_KEY, "_auth_restored", "_auth_kept"):
        st.session_state.pop(k, None)
    state.clear()


def _open(wb: Workbench, user: accounts.User, case_id: int | None) -> None:
    """Make ``case_id`` the open case (if the user may see it; else no case and why)."""
    if case_id is not None:
        try:
            cases.open_case(wb, user, case_id)
        except ForensicsError as exc:
            show_error(exc)
            case_id = None
    if st.session_state.get(CASE_KEY) != case_id:
        state.clear()  # the evidence of another case must not be analysed (or stored) in this one
    st.session_state[CASE_KEY] = case_id


def _picked(wb: Workbench, user: accounts.User) -> None:
    _open(wb, user, st.session_state.get("case_pick"))


def _create(wb: Workbench, user: accounts.User) -> None:
    title = st.session_state.get("new_case_title", "")
    if title.strip():
        try:
            _open(wb, user, cases.create_case(wb, user, title).id)
        except ForensicsError as exc:
            show_error(exc)


def _case_sidebar(wb: Workbench, user: accounts.User, single: bool) -> cases.Case:
    """Open the case chosen in the sidebar (callbacks run before the page, so the page sees the choice)."""
    if CASE_KEY not in st.session_state:  # a new session: the user's last case, in single-user mode one at least
        wanted = cases.last_case(wb, user)
        if wanted is None and single:
            visible = _call(cases.list_cases, wb, user)
            wanted = visible[0].id if visible else cases.create_case(wb, user, "First case").id
        _open(wb, user, wanted)
    by_id = {c.id: c for c in _call(cases.list_cases, wb, user)}
    if st.session_state.get(CASE_KEY) not in by_id:  # a stale or forged choice opens nothing
        st.session_state[CASE_KEY] = None
    st.session_state["case_pick"] = st.session_state[CASE_KEY]
    with st.sidebar:
        if not single:
            c1, c2 = st.columns([3, 2])
            c1.caption(f"Signed in as **{plain(user.username)}** ({user.role})")
            c2.button("Sign out", key="sign_out", on_click=sign_out, args=(wb,))
        st.selectbox(
            "Case",
            list(by_id),
            format_func=lambda i: f"#{i} {by_id[i].title} ({by_id[i].status})",
            placeholder="choose a case",
            key="case_pick",
            on_change=_picked,
            args=(wb, user),
        )
        if user.role != "reviewer":
            with st.popover("New case", width="stretch"), st.form("new_case", clear_on_submit=True, border=False):
                st.text_input("Title", key="new_case_title")
                st.form_submit_button("Create", on_click=_create, args=(wb, user))
    case = by_id.get(st.session_state[CASE_KEY])
    if case is None:
        _only(
            lambda: st.info(
                "Open a case in the sidebar (or create one) to begin: evidence and work are kept in a case.",
                icon=":material/folder_open:",
            )
        )
    return case


def _sync_evidence(wb: Workbench, user: accounts.User, case: cases.Case) -> None:
    """Store the current evidence in the case; on a fresh session make the case's last evidence current."""
    restored = st.session_state.setdefault("_auth_restored", set())
    up = state.current()
    if up is None and case.id not in restored:
        restored.add(case.id)
        items = _call(cases.list_items, wb, user, case.id)
        if items:
            last = items[-1]
            try:
                state.set_current(last.name, cases.item_bytes(wb, user, case.id, last.sha256), "case")
            except ForensicsError as exc:  # the case still opens; the analyst sees why its evidence did not
                show_error(exc)
        return
    restored.add(case.id)
    _store_evidence(wb, user, case, up)


def _store_evidence(wb: Workbench, user: accounts.User, case: cases.Case, up: state.Upload | None) -> None:
    """Keep ``up`` in the case (once per session; not for reviewers, closed cases or evidence read from the case)."""
    kept = st.session_state.setdefault("_auth_kept", set())
    if up is None or up.origin == "case" or (case.id, up.sha256) in kept:
        return
    if case.status == "open" and user.role != "reviewer":
        _call(cases.add_item, wb, user, case.id, up.name, up.data)
        kept.add((case.id, up.sha256))


def current() -> Session | None:
    """The session ``gate`` established on this run (for pages that keep their work)."""
    return st.session_state.get(SESSION_KEY)


def keep(kind: str, key: Any, payload: Callable[[], dict[str, Any]], *, blob: bytes | None = None) -> None:
    """Keep a page's work (analysis, explanation, check, report) in the open case once per session and ``key``;
    a failure is shown as a warning (the work itself is still on screen)."""
    s = current()
    if s is None or s.case is None or s.user.role == "reviewer":
        return
    done = st.session_state.setdefault("_auth_kept", set())
    up = state.current()
    k = (s.case.id, kind, up.sha256 if up else None, key)
    if k in done:
        return
    _store_evidence(workbench(), s.user, s.case, up)  # the work names its evidence: keep that first
    try:
        cases.add_record(
            workbench(), s.user, s.case.id, kind, payload(), item_sha256=up.sha256 if up else None, blob=blob
        )
    except ForensicsError as exc:
        st.warning(f"This {kind} could not be kept in the case: {plain(exc)}", icon=":material/warning:")
        return
    done.add(k)


def case_scan_stores(stores: list[Path]) -> list[Path]:
    """The results stores among ``stores`` that were scanned in the open case (other cases' scans are not listed)."""
    s = current()
    if s is None or s.case is None:
        return []
    mine = {r.payload.get("store") for r in _call(cases.list_records, workbench(), s.user, s.case.id, "scan")}
    return [p for p in stores if str(p) in mine]


def local_path(path: str, *, folder: bool = False) -> Path | None:
    """``path`` resolved inside the evidence roots, or None after showing why it is refused."""
    try:
        return confine(path, folder=folder)
    except ForensicsError as exc:
        show_error(exc)
        return None


def log_once(kind: str, key: str, payload: Callable[[], dict[str, Any]]) -> None:
    """Append one entry to the case log (``FORENSICS_CASE_DB``, the log the CLI writes) the first time this session
    sees ``key``; a log that cannot be written is shown as a warning, never hidden."""
    from forensics.cases.audit import record

    done = st.session_state.setdefault("_audit_logged", set())
    if key in done:
        return
    s = st.session_state.get("auth_session")  # the signed-in user and open case: every entry names them
    who = {"user": s.user.username, "case_id": s.case.id} if s is not None and s.case is not None else {}
    try:
        record(kind, {**payload(), "source": "dashboard", **who})
    except ForensicsError as exc:
        st.warning(f"This {kind} could not be written to the case log: {plain(exc)}", icon=":material/warning:")
        return
    done.add(key)
    keep(kind, key, payload)  # analyses and explanations are kept in the open case too
