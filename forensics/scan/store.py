"""The resumable results store of a folder scan: SQLite in WAL mode, evidence hash as key.

One transaction per image holds all of that image's rows (faces, scores, regions, heatmap, embedding), so a kill or
Ctrl-C loses at most the images in flight; a re-run skips every image whose row says ``done`` or ``error``, unless
the file changed since: ``files`` keeps each path's size, mtime and SHA-256, ``changed_paths`` finds the paths whose
size or mtime differ (or, for paths scanned before ``files`` existed, whose bytes hash differently), and writing the
new result moves the earlier one into ``history`` (path, old hash, status, per-face verdicts, when it was replaced).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_VERSION = 1

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, label TEXT, kind TEXT, source TEXT,
    status TEXT NOT NULL, error TEXT, width INTEGER, height INTEGER, n_faces INTEGER, no_face_reason TEXT,
    face_method TEXT, elapsed_ms REAL, finished_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE TABLE IF NOT EXISTS faces (
    sha256 TEXT NOT NULL, face_index INTEGER NOT NULL, box TEXT, confidence REAL, thumb BLOB,
    PRIMARY KEY (sha256, face_index));
CREATE TABLE IF NOT EXISTS scores (
    sha256 TEXT NOT NULL, face_index INTEGER NOT NULL, detector TEXT NOT NULL, p_fake REAL NOT NULL,
    probabilities TEXT, verdict TEXT, inconclusive INTEGER, log10_lr REAL,
    PRIMARY KEY (sha256, face_index, detector));
CREATE TABLE IF NOT EXISTS regions (
    sha256 TEXT NOT NULL, face_index INTEGER NOT NULL, detector TEXT NOT NULL, explainer TEXT NOT NULL,
    region TEXT NOT NULL, share REAL, pixel_share REAL, area_share REAL, density REAL, approximate INTEGER,
    absent INTEGER, PRIMARY KEY (sha256, face_index, detector, explainer, region));
CREATE TABLE IF NOT EXISTS heatmaps (
    sha256 TEXT NOT NULL, face_index INTEGER NOT NULL, detector TEXT NOT NULL, explainer TEXT NOT NULL,
    side INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (sha256, face_index, detector, explainer));
CREATE TABLE IF NOT EXISTS duplicates (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER, mtime_ns INTEGER);
CREATE TABLE IF NOT EXISTS history (
    path TEXT NOT NULL, sha256 TEXT NOT NULL, status TEXT, error TEXT, n_faces INTEGER, verdicts TEXT,
    finished_at TEXT, replaced_by TEXT, replaced_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE TABLE IF NOT EXISTS embeddings (
    sha256 TEXT NOT NULL, face_index INTEGER NOT NULL, detector TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (sha256, face_index, detector));
"""


@dataclass(frozen=True)
class ImageRecord:
    """Everything the scan learned about one image, written in one transaction."""

    sha256: str
    path: str
    label: str | None
    kind: str | None
    source: str | None
    status: str  # "done" | "error"
    error: str | None = None
    width: int | None = None
    height: int | None = None
    face_method: str | None = None
    no_face_reason: str | None = None
    elapsed_ms: float | None = None
    faces: tuple[dict[str, Any], ...] = ()  # {"index","box","confidence","thumb": png bytes|None}
    scores: tuple[dict[str, Any], ...] = ()  # {"face_index","detector","p_fake","probabilities","verdict",...}
    regions: tuple[dict[str, Any], ...] = ()  # {"face_index","detector","explainer","region","share",...}
    heatmaps: tuple[tuple[int, str, str, np.ndarray], ...] = ()  # (face_index, detector, explainer, HxW float)
    embeddings: tuple[tuple[int, str, np.ndarray], ...] = ()  # (face_index, detector, D float)
    size: int | None = None  # the file's size and mtime when it was read (change detection on re-scans)
    mtime_ns: int | None = None


class ScanStore:
    """SQLite results store. Safe to use from one writer thread; readers may open their own store."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_DDL)
        if self.get_meta("schema_version") is None:
            self.set_meta("schema_version", SCHEMA_VERSION)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ScanStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # --- meta -------------------------------------------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        with self._transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))

    def get_meta(self, key: str) -> Any:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    # --- images -----------------------------------------------------------------------------------------------------
    def finished(self) -> set[str]:
        """Hashes of images already done or recorded as errors: a resumed scan skips them."""
        return {r[0] for r in self._conn.execute("SELECT sha256 FROM images")}

    def finished_paths(self) -> set[str]:
        """Paths already handled, including files whose bytes duplicate an image scanned under another path."""
        return {r[0] for r in self._conn.execute("SELECT path FROM images UNION SELECT path FROM duplicates")}

    def note_duplicate(self, path: str, sha256: str, size: int | None = None, mtime_ns: int | None = None) -> None:
        """``path`` holds the same bytes as an image already scanned (possibly itself, re-read after a touch)."""
        with self._transaction() as c:
            self._supersede(c, path, sha256)
            same = c.execute("SELECT 1 FROM images WHERE path=? AND sha256=?", (path, sha256)).fetchone()
            if not same:
                c.execute("INSERT OR REPLACE INTO duplicates VALUES (?, ?)", (path, sha256))
            self._note_file(c, path, sha256, size, mtime_ns)

    def changed_paths(self, paths: list[Path]) -> set[str]:
        """Paths already handled whose file changed since: other size or mtime than recorded, or (for rows from
        before sizes were recorded) other bytes. Missing files are not "changed": they are left as they were."""
        import hashlib

        recorded = {r[0]: r[1:] for r in self._conn.execute("SELECT path, sha256, size, mtime_ns FROM files")}
        old = {
            r[0]: r[1]
            for r in self._conn.execute("SELECT path, sha256 FROM images UNION ALL SELECT path, sha256 FROM duplicates")
        }
        out = set()
        for p in paths:
            key = str(p)
            try:
                st = p.stat()
            except OSError:
                continue
            if key in recorded:
                if (st.st_size, st.st_mtime_ns) != tuple(recorded[key][1:]):
                    out.add(key)
            elif key in old:
                try:
                    digest = hashlib.sha256(p.read_bytes()).hexdigest()
                except OSError:
                    continue
                if digest != old[key] and not old[key].startswith("path:"):
                    out.add(key)
        return out

    def _note_file(self, c: sqlite3.Connection, path: str, sha256: str, size: int | None, mtime_ns: int | None) -> None:
        if size is not None:
            c.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", (path, sha256, size, mtime_ns))

    def _supersede(self, c: sqlite3.Connection, path: str, new_sha256: str) -> None:
        """Move the earlier result of ``path`` (other bytes than ``new_sha256``) into ``history``."""
        for table in ("images", "duplicates"):
            row = c.execute(f"SELECT sha256 FROM {table} WHERE path=?", (path,)).fetchone()
            if row is None or row[0] == new_sha256:
                continue
            old = row[0]
            img = c.execute("SELECT status, error, n_faces, finished_at FROM images WHERE sha256=?", (old,)).fetchone()
            verdicts = [
                {"face": f, "detector": d, "p_fake": p, "verdict": v}
                for f, d, p, v in c.execute(
                    "SELECT face_index, detector, p_fake, verdict FROM scores WHERE sha256=? ORDER BY face_index, "
                    "detector",
                    (old,),
                )
            ]
            c.execute(
                "INSERT INTO history (path, sha256, status, error, n_faces, verdicts, finished_at, replaced_by) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (
                    path,
                    old,
                    *(img or (None, None, None, None))[:3],
                    json.dumps(verdicts),
                    (img or (None,) * 4)[3],
                    new_sha256,
                ),
            )
            if table == "duplicates":
                c.execute("DELETE FROM duplicates WHERE path=?", (path,))
                continue
            heir = c.execute("SELECT path FROM duplicates WHERE sha256=? ORDER BY path LIMIT 1", (old,)).fetchone()
            if heir:  # another path still holds the old bytes: it keeps the old result
                c.execute("UPDATE images SET path=? WHERE sha256=?", (heir[0], old))
                c.execute("DELETE FROM duplicates WHERE path=?", (heir[0],))
            else:
                for t in ("images", "faces", "scores", "regions", "heatmaps", "embeddings"):
                    c.execute(f"DELETE FROM {t} WHERE sha256=?", (old,))

    def write(self, rec: ImageRecord) -> None:
        """Write all rows of one image atomically (replacing any earlier partial rows of that image)."""
        with self._transaction() as c:
            self._supersede(c, rec.path, rec.sha256)
            self._note_file(c, rec.path, rec.sha256, rec.size, rec.mtime_ns)
            for table in ("faces", "scores", "regions", "heatmaps", "embeddings"):
                c.execute(f"DELETE FROM {table} WHERE sha256=?", (rec.sha256,))
            c.execute(
                "INSERT OR REPLACE INTO images (sha256, path, label, kind, source, status, error, width, height, "
                "n_faces, no_face_reason, face_method, elapsed_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    rec.sha256,
                    rec.path,
                    rec.label,
                    rec.kind,
                    rec.source,
                    rec.status,
                    rec.error,
                    rec.width,
                    rec.height,
                    len(rec.faces),
                    rec.no_face_reason,
                    rec.face_method,
                    rec.elapsed_ms,
                ),
            )
            c.executemany(
                "INSERT INTO faces VALUES (?,?,?,?,?)",
                [(rec.sha256, f["index"], json.dumps(f["box"]), f["confidence"], f.get("thumb")) for f in rec.faces],
            )
            c.executemany(
                "INSERT INTO scores VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        rec.sha256,
                        s["face_index"],
                        s["detector"],
                        s["p_fake"],
                        json.dumps(s.get("probabilities")),
                        s.get("verdict"),
                        None if s.get("inconclusive") is None else int(s["inconclusive"]),
                        s.get("log10_lr"),
                    )
                    for s in rec.scores
                ],
            )
            c.executemany(
                "INSERT INTO regions VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        rec.sha256,
                        r["face_index"],
                        r["detector"],
                        r["explainer"],
                        r["region"],
                        r.get("share"),
                        r.get("pixel_share"),
                        r.get("area_share"),
                        r.get("density"),
                        int(bool(r.get("approximate"))),
                        int(bool(r.get("absent"))),
                    )
                    for r in rec.regions
                ],
            )
            c.executemany(
                "INSERT INTO heatmaps VALUES (?,?,?,?,?,?)",
                [
                    (rec.sha256, fi, det, ex, int(h.shape[0]), np.asarray(h, dtype=np.float16).tobytes())
                    for fi, det, ex, h in rec.heatmaps
                ],
            )
            c.executemany(
                "INSERT INTO embeddings VALUES (?,?,?,?)",
                [(rec.sha256, fi, det, np.asarray(v, dtype=np.float32).tobytes()) for fi, det, v in rec.embeddings],
            )

    def merge_from(self, other: str | Path) -> int:
        """Copy every image (and its rows) of another store that this one lacks; returns images added.

        Used to combine the per-shard stores of a distributed scan. Both stores must come from the same options.
        """
        with ScanStore(other) as o:
            theirs, ours = o.get_meta("options"), self.get_meta("options")
        if ours is not None and theirs is not None and theirs != ours:
            raise ValueError(f"{other} was scanned with other options ({theirs} vs {ours})")
        before = self._conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        with self._lock:
            self._conn.execute("ATTACH DATABASE ? AS other", (str(other),))
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                new = "sha256 NOT IN (SELECT sha256 FROM main.images)"
                for table in ("faces", "scores", "regions", "heatmaps", "embeddings"):
                    self._conn.execute(f"INSERT OR IGNORE INTO main.{table} SELECT * FROM other.{table} WHERE {new}")
                self._conn.execute(f"INSERT OR IGNORE INTO main.images SELECT * FROM other.images WHERE {new}")
                self._conn.execute("INSERT OR IGNORE INTO main.duplicates SELECT * FROM other.duplicates")
                self._conn.execute("INSERT OR IGNORE INTO main.meta SELECT * FROM other.meta")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._conn.execute("DETACH DATABASE other")
        return self._conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] - before

    # --- reading ----------------------------------------------------------------------------------------------------
    def rows(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        cur = self._conn.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def counts(self) -> dict[str, int]:
        out = {r["status"]: r["n"] for r in self.rows("SELECT status, COUNT(*) AS n FROM images GROUP BY status")}
        out["faces"] = self._conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
        return out

    def heatmaps(self, detector: str, explainer: str) -> list[tuple[str, int, np.ndarray]]:
        out = []
        for sha, fi, side, blob in self._conn.execute(
            "SELECT sha256, face_index, side, data FROM heatmaps WHERE detector=? AND explainer=?",
            (detector, explainer),
        ):
            out.append((sha, fi, np.frombuffer(blob, dtype=np.float16).reshape(side, side).astype(np.float32)))
        return out

    def embeddings(self, detector: str) -> list[tuple[str, int, np.ndarray]]:
        return [
            (sha, fi, np.frombuffer(blob, dtype=np.float32))
            for sha, fi, blob in self._conn.execute(
                "SELECT sha256, face_index, data FROM embeddings WHERE detector=?", (detector,)
            )
        ]
