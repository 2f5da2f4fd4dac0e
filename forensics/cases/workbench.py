"""One handle on the cases database, the evidence store and the audit log, shared by accounts and cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from forensics.cases import db
from forensics.cases.store import EvidenceStore


class Workbench:
    """``url``: the cases database (default ``FORENSICS_DB_URL`` / SQLite in the cache). ``store``: the evidence
    store's folder. ``audit_db``: the hash-chained audit log (default ``FORENSICS_CASE_DB``), where every sign-in and
    every action on a case is written with its user and case."""

    def __init__(
        self, url: str | None = None, *, store: str | Path | None = None, audit_db: str | Path | None = None
    ) -> None:
        self.engine: sa.Engine = db.connect(url)
        self.store = EvidenceStore(store)
        self.audit_db = audit_db

    def audit(self, kind: str, user: str | None, case_id: int | None = None, **payload: Any) -> None:
        """Append ``kind`` with its user and case to the audit log (its failure is an error, never ignored)."""
        from forensics.cases.audit import record

        record(kind, {"user": user, "case_id": case_id, **payload}, db=self.audit_db)

    def close(self) -> None:
        self.engine.dispose()
