"""Cases: members, evidence items (bytes in the evidence store) and records of the work done, each with who and when.

Only a case's members and admins see a case; analysts and admins add evidence and work, reviewers add notes. A closed
case takes no new evidence or work (notes still, so a review can be written after closing). Every call that reads or
changes a case is written to the audit log with its user and case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from forensics.cases import db
from forensics.cases.accounts import User, get_user
from forensics.cases.workbench import Workbench
from forensics.errors import AccessDeniedError, ForensicsError
from forensics.jsonio import canonical_json, plain

RECORD_KINDS = ("analysis", "explanation", "check", "report", "note", "scan")
STATUSES = ("open", "closed")


@dataclass(frozen=True)
class Case:
    id: int
    title: str
    status: str
    created_by: str
    created_at: str
    updated_at: str
    members: tuple[str, ...] = ()
    items: int = 0
    records: int = 0


@dataclass(frozen=True)
class Item:
    sha256: str
    name: str
    size: int
    added_by: str
    added_at: str


@dataclass(frozen=True)
class Record:
    id: int
    kind: str
    item_sha256: str | None
    payload: Any
    blob_sha256: str | None
    created_by: str
    created_at: str


def _counts():
    items = sa.select(sa.func.count()).where(db.items.c.case_id == db.cases.c.id).scalar_subquery()
    records = sa.select(sa.func.count()).where(db.records.c.case_id == db.cases.c.id).scalar_subquery()
    return items.label("n_items"), records.label("n_records")


def _cases(conn: sa.Connection, where) -> list[Case]:
    """Cases matching ``where`` with their members and counts, in three queries whatever their number."""
    n_items, n_records = _counts()
    rows = conn.execute(
        sa.select(db.cases, n_items, n_records)
        .where(where)
        .order_by(db.cases.c.updated_at.desc(), db.cases.c.id.desc())
    ).all()
    names: dict[int, list[str]] = {}
    ids = [r.id for r in rows]
    if ids:
        for m in conn.execute(
            sa.select(db.members.c.case_id, db.members.c.username)
            .where(db.members.c.case_id.in_(ids))
            .order_by(db.members.c.username)
        ):
            names.setdefault(m.case_id, []).append(m.username)
    return [
        Case(
            r.id,
            r.title,
            r.status,
            r.created_by,
            r.created_at,
            r.updated_at,
            tuple(names.get(r.id, ())),
            r.n_items,
            r.n_records,
        )
        for r in rows
    ]


def _visible(user: User):
    if user.is_admin:
        return sa.true()
    mine = sa.select(db.members.c.case_id).where(db.members.c.username == user.username)
    return db.cases.c.id.in_(mine)


def list_cases(wb: Workbench, user: User) -> list[Case]:
    """The cases ``user`` may see (all for an admin), most recently changed first."""
    with wb.engine.connect() as conn:
        return _cases(conn, _visible(user))


def _get(conn: sa.Connection, user: User, case_id: int) -> Case:
    found = _cases(conn, db.cases.c.id == case_id)
    if not found:
        raise AccessDeniedError(f"there is no case {case_id}")
    case = found[0]
    if not user.is_admin and user.username not in case.members:
        raise AccessDeniedError(
            f"case {case_id} is not yours: only its members and admins can open it (ask one of them to add you)"
        )
    return case


def get_case(wb: Workbench, user: User, case_id: int) -> Case:
    with wb.engine.connect() as conn:
        return _get(conn, user, case_id)


def _may_write(user: User, case: Case, kind: str) -> None:
    if user.role == "reviewer" and kind != "note":
        raise AccessDeniedError("reviewers add notes only; an analyst adds evidence and analyses")
    if case.status == "closed" and kind != "note":
        raise AccessDeniedError(f"case {case.id} is closed: reopen it to add evidence or work")


def create_case(wb: Workbench, user: User, title: str) -> Case:
    title = " ".join(title.split())
    if not title:
        raise ForensicsError("a case needs a title")
    if user.role == "reviewer":
        raise AccessDeniedError("reviewers cannot open cases: an analyst or admin opens one and adds you")
    t = db.now()
    with wb.engine.begin() as conn:
        case_id = conn.execute(
            db.cases.insert().values(
                title=title[:200], status="open", created_by=user.username, created_at=t, updated_at=t
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(
            db.members.insert().values(case_id=case_id, username=user.username, added_by=user.username, added_at=t)
        )
    wb.audit("case-create", user.username, case_id, title=title[:200])
    return get_case(wb, user, case_id)


def open_case(wb: Workbench, user: User, case_id: int) -> Case:
    """The case (if ``user`` may see it), remembered as the user's last case and logged."""
    try:
        with wb.engine.begin() as conn:
            case = _get(conn, user, case_id)
            updated = conn.execute(
                db.preferences.update().where(db.preferences.c.username == user.username).values(last_case_id=case_id)
            ).rowcount
            if not updated:
                conn.execute(db.preferences.insert().values(username=user.username, last_case_id=case_id))
    except AccessDeniedError as exc:
        wb.audit("case-open-refused", user.username, case_id, reason=str(exc))
        raise
    wb.audit("case-open", user.username, case_id)
    return case


def last_case(wb: Workbench, user: User) -> int | None:
    """The case the user had open last, if they may still see it."""
    with wb.engine.connect() as conn:
        cid = conn.execute(
            sa.select(db.preferences.c.last_case_id).where(db.preferences.c.username == user.username)
        ).scalar()
        if cid is None:
            return None
        try:
            _get(conn, user, cid)
        except AccessDeniedError:
            return None
    return cid


def _touch(conn: sa.Connection, case_id: int) -> str:
    t = db.now()
    conn.execute(db.cases.update().where(db.cases.c.id == case_id).values(updated_at=t))
    return t


def set_status(wb: Workbench, user: User, case_id: int, status: str) -> None:
    if status not in STATUSES:
        raise ForensicsError(f"status {status!r} is unknown: {', '.join(STATUSES)}")
    with wb.engine.begin() as conn:
        case = _get(conn, user, case_id)
        if user.role == "reviewer":
            raise AccessDeniedError("reviewers cannot close or reopen cases")
        _touch(conn, case.id)
        conn.execute(db.cases.update().where(db.cases.c.id == case_id).values(status=status))
    wb.audit("case-status", user.username, case_id, status=status)


def add_member(wb: Workbench, user: User, case_id: int, username: str) -> None:
    member = get_user(wb, username)
    if member is None or member.disabled:
        raise ForensicsError(f"there is no enabled account {username!r}")
    with wb.engine.begin() as conn:
        case = _get(conn, user, case_id)
        if user.role == "reviewer":
            raise AccessDeniedError("reviewers cannot add members")
        if username in case.members:
            return
        conn.execute(
            db.members.insert().values(
                case_id=case_id, username=username, added_by=user.username, added_at=_touch(conn, case_id)
            )
        )
    wb.audit("case-member-add", user.username, case_id, member=username)


def add_item(wb: Workbench, user: User, case_id: int, name: str, data: bytes) -> Item:
    """Put ``data`` in the evidence store and in the case (once: the same bytes again return the existing item)."""
    with wb.engine.begin() as conn:
        case = _get(conn, user, case_id)
        _may_write(user, case, "evidence")
        sha = wb.store.put(data)
        row = conn.execute(sa.select(db.items).where(db.items.c.case_id == case_id, db.items.c.sha256 == sha)).first()
        if row is not None:
            return Item(row.sha256, row.name, row.size, row.added_by, row.added_at)
        item = Item(sha, name[:255], len(data), user.username, _touch(conn, case_id))
        conn.execute(
            db.items.insert().values(
                case_id=case_id,
                sha256=sha,
                name=item.name,
                size=item.size,
                added_by=item.added_by,
                added_at=item.added_at,
            )
        )
    wb.audit("evidence-add", user.username, case_id, sha256=sha, name=item.name, size=item.size)
    return item


def list_items(wb: Workbench, user: User, case_id: int) -> list[Item]:
    with wb.engine.connect() as conn:
        _get(conn, user, case_id)
        return [
            Item(r.sha256, r.name, r.size, r.added_by, r.added_at)
            for r in conn.execute(
                sa.select(db.items).where(db.items.c.case_id == case_id).order_by(db.items.c.added_at)
            )
        ]


def item_bytes(wb: Workbench, user: User, case_id: int, sha256: str) -> bytes:
    """An item's bytes from the store (hash-checked); only for an item of a case the user may see."""
    with wb.engine.connect() as conn:
        _get(conn, user, case_id)
        if (
            conn.execute(
                sa.select(db.items.c.id).where(db.items.c.case_id == case_id, db.items.c.sha256 == sha256)
            ).first()
            is None
        ):
            raise AccessDeniedError(f"evidence {sha256[:12]}... is not an item of case {case_id}")
    wb.audit("evidence-read", user.username, case_id, sha256=sha256)
    return wb.store.get(sha256)


def add_record(
    wb: Workbench,
    user: User,
    case_id: int,
    kind: str,
    payload: Any,
    *,
    item_sha256: str | None = None,
    blob: bytes | None = None,
) -> Record:
    """Keep an analysis, explanation, check, report, note or folder scan (``payload``: JSON-ready; ``blob``: e.g. a
    report PDF, kept in the evidence store)."""
    if kind not in RECORD_KINDS:
        raise ForensicsError(f"record kind {kind!r} is unknown: {', '.join(RECORD_KINDS)}")
    text = canonical_json(plain(payload)).decode("utf-8")
    with wb.engine.begin() as conn:
        case = _get(conn, user, case_id)
        _may_write(user, case, kind)
        blob_sha = wb.store.put(blob) if blob is not None else None
        t = _touch(conn, case_id)
        rid = conn.execute(
            db.records.insert().values(
                case_id=case_id,
                kind=kind,
                item_sha256=item_sha256,
                payload=text,
                blob_sha256=blob_sha,
                created_by=user.username,
                created_at=t,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    wb.audit(f"case-{kind}", user.username, case_id, record=rid, item_sha256=item_sha256, blob_sha256=blob_sha)
    return Record(rid, kind, item_sha256, json.loads(text), blob_sha, user.username, t)


def list_records(wb: Workbench, user: User, case_id: int, kind: str | None = None) -> list[Record]:
    q = sa.select(db.records).where(db.records.c.case_id == case_id)
    if kind is not None:
        q = q.where(db.records.c.kind == kind)
    with wb.engine.connect() as conn:
        _get(conn, user, case_id)
        return [
            Record(r.id, r.kind, r.item_sha256, json.loads(r.payload), r.blob_sha256, r.created_by, r.created_at)
            for r in conn.execute(q.order_by(db.records.c.id))
        ]


def record_blob(wb: Workbench, user: User, case_id: int, record_id: int) -> bytes:
    """The file kept with a record (e.g. a report's PDF), only for a record of a case the user may see."""
    with wb.engine.connect() as conn:
        _get(conn, user, case_id)
        sha = conn.execute(
            sa.select(db.records.c.blob_sha256).where(db.records.c.id == record_id, db.records.c.case_id == case_id)
        ).scalar()
    if sha is None:
        raise ForensicsError(f"record {record_id} of case {case_id} has no file")
    return wb.store.get(sha)
