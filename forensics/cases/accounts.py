"""Local accounts: roles, argon2id password hashes (argon2-cffi), rate-limited sign-in written to the audit log.

Roles: ``analyst`` (opens cases, adds evidence and work), ``reviewer`` (reads the cases they are a member of, adds
notes), ``admin`` (everything, every case, manages accounts). An unknown user and a wrong password give the same
message, and the unknown user still costs one hash verification, so neither the message nor the time says which
names exist. After ``MAX_FAILURES`` failed attempts on a name within ``WINDOW``, that name is refused without checking
the password until the oldest of them leaves the window.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from forensics.cases import db
from forensics.cases.workbench import Workbench
from forensics.errors import ForensicsError, SignInError

ROLES = ("analyst", "reviewer", "admin")
MAX_FAILURES = 5
WINDOW = _dt.timedelta(minutes=15)
MIN_PASSWORD = 10
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_HASHER = PasswordHasher()  # argon2id with the library's defaults (RFC 9106 low-memory profile: 64 MiB, t=3)
_DUMMY = _HASHER.hash("not a password of anyone")


@dataclass(frozen=True)
class User:
    username: str
    role: str
    disabled: bool = False
    created_at: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


# Who acts in single-user mode (localhost, no accounts): the only user, so an admin of everything.
LOCAL_USER = User("local", "admin")


def _user(row) -> User:
    return User(row.username, row.role, bool(row.disabled), row.created_at)


def add_user(wb: Workbench, username: str, password: str, role: str, *, by: str = "cli") -> User:
    if not _NAME.fullmatch(username) or username == LOCAL_USER.username:
        raise ForensicsError(
            f"user name {username!r} is not allowed: 2-64 of a-z 0-9 . _ -, starting with a letter "
            f"or digit, and not {LOCAL_USER.username!r}"
        )
    if role not in ROLES:
        raise ForensicsError(f"role {role!r} is unknown: choose one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ForensicsError(f"the password is too short: at least {MIN_PASSWORD} characters")
    with wb.engine.begin() as conn:
        if conn.execute(sa.select(db.users.c.username).where(db.users.c.username == username)).first():
            raise ForensicsError(f"user {username!r} already exists")
        conn.execute(
            db.users.insert().values(
                username=username, password_hash=_HASHER.hash(password), role=role, disabled=False, created_at=db.now()
            )
        )
    wb.audit("user-add", by, username=username, role=role)
    return User(username, role)


def set_disabled(wb: Workbench, username: str, disabled: bool = True, *, by: str = "cli") -> None:
    with wb.engine.begin() as conn:
        n = conn.execute(db.users.update().where(db.users.c.username == username).values(disabled=disabled)).rowcount
    if n == 0:
        raise ForensicsError(f"there is no user {username!r} (see `python -m forensics users list`)")
    wb.audit("user-disable" if disabled else "user-enable", by, username=username)


def list_users(wb: Workbench) -> list[User]:
    with wb.engine.connect() as conn:
        return [_user(r) for r in conn.execute(sa.select(db.users).order_by(db.users.c.username))]


def get_user(wb: Workbench, username: str) -> User | None:
    with wb.engine.connect() as conn:
        row = conn.execute(sa.select(db.users).where(db.users.c.username == username)).first()
    return _user(row) if row else None


def has_accounts(wb: Workbench) -> bool:
    """Whether any account is enabled (otherwise only single-user mode on localhost can serve)."""
    with wb.engine.connect() as conn:
        return (
            conn.execute(sa.select(db.users.c.username).where(db.users.c.disabled.is_(False)).limit(1)).first()
            is not None
        )


def _stamp(t: _dt.datetime) -> str:
    return t.isoformat(timespec="microseconds").replace("+00:00", "Z")


def sign_in(wb: Workbench, username: str, password: str, *, now: _dt.datetime | None = None) -> User:
    """The user, if the password matches an enabled account and the name is not rate-limited; else SignInError.
    Success and every failure are written to the audit log."""
    t = now or _dt.datetime.now(_dt.UTC)
    since = _stamp(t - WINDOW)
    with wb.engine.begin() as conn:
        recent = [
            r.at
            for r in conn.execute(
                sa.select(db.login_failures.c.at)
                .where(db.login_failures.c.username == username, db.login_failures.c.at > since)
                .order_by(db.login_failures.c.at)
            )
        ]
        if len(recent) >= MAX_FAILURES:
            free_at = _dt.datetime.fromisoformat(recent[-MAX_FAILURES].replace("Z", "+00:00")) + WINDOW
            wait = max(1, int((free_at - t).total_seconds() // 60) + 1)
            wb.audit("sign-in-refused", username, reason="rate-limited", failures=len(recent))
            raise SignInError(f"too many failed sign-ins for this name: try again in {wait} minute(s)")
        row = conn.execute(sa.select(db.users).where(db.users.c.username == username)).first()
        ok = False
        try:
            ok = _HASHER.verify(row.password_hash if row else _DUMMY, password) and row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and row is not None and row.disabled:
            wb.audit("sign-in-refused", username, reason="disabled")
            raise SignInError("this account is disabled: ask an admin")
        if not ok:
            conn.execute(db.login_failures.insert().values(username=username, at=_stamp(t)))
    if not ok:
        wb.audit("sign-in-failed", username, failures=len(recent) + 1)
        raise SignInError("wrong user name or password")
    assert row is not None  # verification succeeded, so the name exists
    with wb.engine.begin() as conn:
        conn.execute(db.login_failures.delete().where(db.login_failures.c.username == username))
        if _HASHER.check_needs_rehash(row.password_hash):
            conn.execute(
                db.users.update().where(db.users.c.username == username).values(password_hash=_HASHER.hash(password))
            )
    wb.audit("sign-in", username, role=row.role)
    return _user(row)


def sign_out(wb: Workbench, user: User) -> None:
    wb.audit("sign-out", user.username)
