"""Append-only case log with a hash chain: every analysis and export leaves a tamper-evident entry.

Each entry holds ``seq`` (1, 2, 3, ...), a UTC ``timestamp``, a ``kind`` ("analysis", "export", ...), a JSON
``payload`` and ``prev_hash`` (the previous entry's hash; 64 zeros for the first). Its hash is::

    entry_hash = sha256(canonical_json({"seq", "timestamp", "kind", "payload", "prev_hash"}))

where ``canonical_json`` sorts keys, uses no whitespace (``","`` and ``":"`` separators), keeps non-ASCII as UTF-8
and refuses NaN/Infinity. A ``head`` row records the count and the last hash, so removing the newest entry is
detected too, and timestamps must not decrease. The chain shows edits, removals and reorderings made with ordinary
tools; it cannot stop someone who rewrites the whole file, or deletes its newest entries and the head with them, and
recomputes every hash. That is what anchors outside the file are for: every report carries the head at its export
(``log_head`` in the bundle, printed in the PDF), and ``log-anchor`` writes it to a file to keep elsewhere;
``verify-log --against`` checks that the log still holds that entry with that hash.

The database is SQLite (WAL journal; every append is one ``BEGIN IMMEDIATE`` transaction). Its path is the argument,
else ``FORENSICS_CASE_DB``, else ``cache/cases.sqlite``.

Example:
    >>> log = CaseLog(":memory:")
    >>> e = log.append("analysis", {"sha256": "ab" * 32})
    >>> (e.seq, log.verify().ok)
    (1, True)
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from forensics.errors import ForensicsError
from forensics.jsonio import canonical_json, plain

GENESIS_HASH = "0" * 64
SCHEMA = "forensics.caselog/1"
ANCHOR_SCHEMA = "forensics.caselog-anchor/1"
_COLUMNS = {
    "entries": ["seq", "timestamp", "kind", "payload", "prev_hash", "entry_hash"],
    "head": ["id", "schema", "count", "head_hash"],
}


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data`` (the one bytes-hash helper of the audit log and the report bundle)."""
    return hashlib.sha256(data).hexdigest()


def entry_hash(seq: int, timestamp: str, kind: str, payload: Any, prev_hash: str) -> str:
    """SHA-256 (hex) of the canonical JSON of the entry's fields."""
    return sha256_hex(
        canonical_json({"seq": seq, "timestamp": timestamp, "kind": kind, "payload": payload, "prev_hash": prev_hash})
    )


def default_db_path() -> Path:
    """``FORENSICS_CASE_DB`` or ``cache/cases.sqlite``."""
    from forensics.paths import CACHE_DIR

    env = os.environ.get("FORENSICS_CASE_DB")
    return Path(env) if env else CACHE_DIR / "cases.sqlite"


@dataclass(frozen=True)
class LogEntry:
    seq: int
    timestamp: str
    kind: str
    payload: Any
    prev_hash: str
    entry_hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "timestamp": self.timestamp,
            "kind": self.kind,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "entry_hash": self.entry_hash,
        }


@dataclass(frozen=True)
class LogVerification:
    """Outcome of ``CaseLog.verify``: ``first_bad_seq`` is the first entry (by position) that fails, or None."""

    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


_DDL = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    timestamp TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema TEXT NOT NULL,
    count INTEGER NOT NULL,
    head_hash TEXT NOT NULL
);
"""


class CaseLog:
    """The hash-chained case database. Safe to share between processes (SQLite locking, WAL)."""

    def __init__(self, path: str | Path | None = None, *, create: bool = True, readonly: bool = False) -> None:
        """``create=False``: the file must exist. ``readonly``: opened with SQLite's ``mode=ro`` (nothing is written
        to the file, no table is created, the journal mode is left alone; for verification). A file that is not a
        case log (other tables, another schema) is refused either way, never altered."""
        self.path = default_db_path() if path is None else path
        memory = str(self.path) == ":memory:"
        if not memory:
            p = Path(self.path)
            if not p.exists() and (not create or readonly):
                raise ForensicsError(f"case database {p} does not exist: pass the right path or set FORENSICS_CASE_DB")
            if not readonly:
                p.parent.mkdir(parents=True, exist_ok=True)
        try:
            if readonly and not memory:
                uri = f"file:{quote(str(Path(self.path).resolve()))}?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
            else:
                self._conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            _check_is_log(self._conn, self.path)
            if not readonly:
                if not memory:
                    self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=FULL")
                self._conn.executescript(_DDL)
        except sqlite3.DatabaseError as exc:
            raise ForensicsError(f"{self.path} is not a usable SQLite case database ({exc}): check the path") from exc

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> CaseLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, kind: str, payload: Any, *, timestamp: str | None = None) -> LogEntry:
        """Add one entry at the end of the chain (one IMMEDIATE transaction) and return it."""
        if not kind:
            raise ValueError("kind must be a non-empty string such as 'analysis' or 'export'")
        payload = _strict(payload)
        ts = timestamp or _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            row = cur.execute("SELECT seq, entry_hash, timestamp FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS_HASH)
            if timestamp is None and row and _ts(ts) < _ts(row[2]):
                ts = row[2]  # the clock went back: keep the log ordered (verify refuses decreasing timestamps)
            h = entry_hash(seq, ts, kind, payload, prev)
            cur.execute(
                "INSERT INTO entries (seq, timestamp, kind, payload, prev_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?)",
                (seq, ts, kind, canonical_json(payload).decode("utf-8"), prev, h),
            )
            cur.execute(
                "INSERT INTO head (id, schema, count, head_hash) VALUES (1, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET count = excluded.count, head_hash = excluded.head_hash",
                (SCHEMA, seq, h),
            )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return LogEntry(seq, ts, kind, payload, prev, h)

    def _rows(self) -> Iterator[tuple]:
        # rowid order = physical insertion order in practice; ORDER BY seq makes swaps of seq values visible too
        yield from self._conn.execute(
            "SELECT seq, timestamp, kind, payload, prev_hash, entry_hash FROM entries ORDER BY seq"
        )

    def entries(self) -> list[LogEntry]:
        """Every entry in seq order (payloads parsed)."""
        return [LogEntry(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in self._rows()]

    def verify(self) -> LogVerification:
        """Walk the chain; report the first entry that was edited, removed, inserted or moved."""
        prev = GENESIS_HASH
        prev_ts = None
        n = 0
        for expected_seq, row in enumerate(self._rows(), start=1):
            n += 1
            problem = _check_row(row, expected_seq, prev)
            if problem is None and prev_ts is not None and _ts(row[1]) < prev_ts:
                problem = f"timestamp {row[1]} is earlier than the previous entry's: entries were back-dated or moved"
            if problem is None:
                prev_ts = _ts(row[1])
            if problem is not None:
                at = expected_seq if row[0] != expected_seq else row[0]
                return LogVerification(False, n, prev, first_bad_seq=at, problem=problem)
            prev = row[5]
        head = self._conn.execute("SELECT count, head_hash FROM head WHERE id = 1").fetchone()
        if head is None:
            if n:
                return LogVerification(False, n, prev, first_bad_seq=1, problem="head record is missing")
            return LogVerification(True, 0, GENESIS_HASH)
        if head[0] != n or head[1] != prev:
            first = min(n, head[0]) + 1 if head[0] != n else n
            return LogVerification(
                False,
                n,
                prev,
                first_bad_seq=first,
                problem=f"head records {head[0]} entries ending in {head[1][:16]}..., the table "
                f"holds {n} ending in {prev[:16]}...: the newest entries were removed or "
                "the head was edited",
            )
        return LogVerification(True, n, prev)

    def head(self) -> tuple[int, str]:
        """(number of entries, hash of the newest one) as the entries table holds them."""
        row = self._conn.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_HASH)

    def anchor(self) -> dict[str, Any]:
        """The log's head as a small record to keep outside the log (``forensics log-anchor``)."""
        count, h = self.head()
        last = self._conn.execute("SELECT timestamp FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        return {
            "schema": ANCHOR_SCHEMA,
            "log": Path(str(self.path)).name,
            "count": count,
            "head_hash": h,
            "last_timestamp": last[0] if last else None,
            "anchored_utc": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        }

    def check_anchor(self, count: int, head_hash: str) -> str | None:
        """Why the log does not hold entry ``count`` with hash ``head_hash`` (shortened or rewritten), or None."""
        if count == 0:
            return None
        n = self.head()[0]
        if n < count:
            return (
                f"the anchor records {count} entries, the log holds {n}: the log was shortened (entries "
                f"{n + 1}..{count} are gone)"
            )
        row = self._conn.execute("SELECT entry_hash FROM entries WHERE seq = ?", (count,)).fetchone()
        if row is None or row[0] != head_hash:
            return (
                f"entry {count} hashes to {row[0] if row else 'nothing'}, the anchor records {head_hash}: the "
                "log was rewritten up to that entry"
            )
        return None


def _ts(text: str) -> _dt.datetime:
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _dt.datetime.min.replace(tzinfo=_dt.UTC)


def _check_is_log(conn: sqlite3.Connection, path: Any) -> None:
    """Refuse a SQLite file that holds anything but a case log (its tables are never added to another file)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return  # a new, empty file
    for name, cols in _COLUMNS.items():
        got = [r[1] for r in conn.execute(f"PRAGMA table_info({name})")] if name in tables else []
        if got != cols:
            raise ForensicsError(
                f"{path} is not a forensics case log (tables {sorted(tables)}): refusing to use "
                "it; pass the case database (FORENSICS_CASE_DB)"
            )
    extra = tables - set(_COLUMNS)
    head = conn.execute("SELECT schema FROM head WHERE id = 1").fetchone()
    if extra or (head is not None and head[0] != SCHEMA):
        raise ForensicsError(
            f"{path} is not a {SCHEMA} case log (tables {sorted(tables)}, schema "
            f"{head[0] if head else None}): refusing to use it"
        )


def _check_row(row: tuple, expected_seq: int, prev: str) -> str | None:
    """Why one stored row breaks the chain, or None."""
    seq, ts, kind, payload_text, prev_hash, stored_hash = row
    if seq != expected_seq:
        return f"entry {expected_seq} is missing (next entry found has seq {seq}): an entry was removed"
    try:
        payload = json.loads(payload_text)
    except ValueError:
        return "payload is not valid JSON: the entry was edited"
    if canonical_json(payload).decode("utf-8") != payload_text:
        return "payload is not in canonical form: the entry was edited"
    if prev_hash != prev:
        return "prev_hash does not match the previous entry's hash: an entry before it was removed, inserted or moved"
    if entry_hash(seq, ts, kind, payload, prev_hash) != stored_hash:
        return "content does not match its hash: the entry was edited (or moved)"
    return None


def record(kind: str, payload: Any, *, db: str | Path | None = None) -> LogEntry:
    """Append one entry to the case database (``db`` or the default) and close it."""
    with CaseLog(db) as log:
        return log.append(kind, payload)


def analysis_payload(analysis: dict[str, Any]) -> dict[str, Any]:
    """What the log keeps about an analysis: evidence hashes, options, model hashes and per-face scores."""
    ev = analysis.get("evidence", {})
    return _strict(
        {
            "evidence": {k: ev.get(k) for k in ("name", "size", "sha256", "md5")},
            "options": analysis.get("options"),
            "models": {
                n: {
                    "weights_sha256": m.get("weights_sha256"),
                    "state_sha256": m.get("state_sha256"),
                    "ready": m.get("ready"),
                }
                for n, m in (analysis.get("models") or {}).items()
            },
            "faces": [
                {
                    "index": f.get("index"),
                    "scores": {
                        d: {"p_fake": s.get("p_fake"), "verdict": (s.get("assessment") or {}).get("verdict")}
                        for d, s in (f.get("scores") or {}).items()
                    },
                }
                for f in analysis.get("faces", [])
            ],
            "library_version": analysis.get("library_version"),
        }
    )


def log_analysis(analysis: Any, *, db: str | Path | None = None, **context: Any) -> LogEntry:
    """Append an "analysis" entry for an Analysis (or its ``to_dict()``); ``context`` adds e.g. case_id, user."""
    a = analysis if isinstance(analysis, dict) else analysis.to_dict()
    return record("analysis", {**analysis_payload(a), **_strict(context)}, db=db)


def _strict(obj: Any) -> Any:
    """``plain`` that refuses what it cannot store (the log holds exactly what was asked)."""
    return plain(obj, strict=True)
