"""Hash-chained case log: every edit, removal or reordering of an entry is found, with the first bad seq."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from forensics.cases.audit import GENESIS_HASH, CaseLog, entry_hash
from forensics.cli import main
from forensics.errors import ForensicsError
from forensics.jsonio import canonical_json
from forensics.jsonio import plain as json_safe


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cases.sqlite"
    with CaseLog(path) as log:
        for i in range(6):
            log.append("analysis" if i % 2 == 0 else "export", {"i": i, "p_fake": 0.25 + i / 10, "name": f"é{i}"})
    return path


def _raw(path, sql, params=()):
    con = sqlite3.connect(path)
    try:
        con.execute(sql, params)
        con.commit()
    finally:
        con.close()


def test_chain_is_the_documented_hash(db):
    with CaseLog(db) as log:
        entries = log.entries()
        assert log.verify().ok
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == GENESIS_HASH
    for prev, e in zip([None, *entries], entries, strict=False):
        if prev is not None:
            assert e.prev_hash == prev.entry_hash
        body = json.dumps(
            {"seq": e.seq, "timestamp": e.timestamp, "kind": e.kind, "payload": e.payload, "prev_hash": e.prev_hash},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        assert e.entry_hash == hashlib.sha256(body.encode("utf-8")).hexdigest()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_one_changed_byte_is_found(db):
    con = sqlite3.connect(db)
    payload = con.execute("SELECT payload FROM entries WHERE seq = 4").fetchone()[0]
    con.close()
    edited = payload.replace('"i":3', '"i":8')
    assert edited != payload and len(edited) == len(payload)
    _raw(db, "UPDATE entries SET payload = ? WHERE seq = 4", (edited,))
    with CaseLog(db) as log:
        v = log.verify()
    assert not v.ok and v.first_bad_seq == 4 and "edited" in v.problem


def test_changed_timestamp_or_kind_is_found(db):
    _raw(db, "UPDATE entries SET kind = 'exporT' WHERE seq = 2")
    with CaseLog(db) as log:
        v = log.verify()
    assert (v.ok, v.first_bad_seq) == (False, 2)


@pytest.mark.parametrize("seq", [1, 3, 6])
def test_a_removed_entry_is_found(db, seq):
    _raw(db, "DELETE FROM entries WHERE seq = ?", (seq,))
    with CaseLog(db) as log:
        v = log.verify()
    assert not v.ok and v.first_bad_seq == seq


def test_removing_the_newest_and_rewriting_the_head_is_caught_by_an_anchor(db, tmp_path, capsys):
    """Attack 5: delete the newest rows and update the head (or delete every row): the file alone cannot tell,
    an anchor kept elsewhere (or a report carrying the head) can."""
    anchor = tmp_path / "anchor.json"
    assert main(["log-anchor", str(db), "--out", str(anchor)]) == 0
    with CaseLog(db) as log:
        entries = log.entries()
    _raw(db, "DELETE FROM entries WHERE seq >= 5")
    with CaseLog(db) as log:
        assert log.verify().first_bad_seq == 5  # a stale head alone is found
    _raw(db, "UPDATE head SET count = 4, head_hash = ?", (entries[3].entry_hash,))
    capsys.readouterr()
    assert main(["verify-log", str(db)]) == 0  # the limit of an in-file chain, stated in the output
    assert "cannot be told from a shorter one" in capsys.readouterr().out
    assert main(["verify-log", str(db), "--against", str(anchor)]) == 1
    assert "the log was shortened (entries 5..6 are gone)" in capsys.readouterr().out
    _raw(db, "DELETE FROM entries")
    _raw(db, "DELETE FROM head")
    assert main(["verify-log", str(db), "--against", str(anchor)]) == 1
    assert "the log holds 0" in capsys.readouterr().out


def test_a_rewritten_log_fails_against_its_anchor(db, tmp_path, capsys):
    anchor = tmp_path / "anchor.json"
    assert main(["log-anchor", str(db), "--out", str(anchor)]) == 0
    assert main(["log-anchor", str(db), "--out", str(anchor)]) == 2  # never overwritten
    rebuilt = tmp_path / "rebuilt.sqlite"
    with CaseLog(rebuilt) as log:
        for i in range(6):
            log.append("analysis", {"i": i, "forged": True})
    capsys.readouterr()
    assert main(["verify-log", str(rebuilt)]) == 0
    assert main(["verify-log", str(rebuilt), "--against", str(anchor)]) == 1
    assert "the log was rewritten" in capsys.readouterr().out


def test_decreasing_timestamps_are_refused(tmp_path):
    path = tmp_path / "c.sqlite"
    with CaseLog(path) as log:
        log.append("analysis", {"i": 0}, timestamp="2026-12-03T10:00:00.000000Z")
        log.append("analysis", {"i": 1}, timestamp="2026-12-03T09:00:00.000000Z")  # chain hashes are consistent
        v = log.verify()
    assert not v.ok and v.first_bad_seq == 2 and "earlier than the previous" in v.problem
    with CaseLog(tmp_path / "d.sqlite") as log:  # a clock that goes back does not break the log written now
        log.append("analysis", {"i": 0}, timestamp="2999-01-01T00:00:00.000000Z")
        e = log.append("analysis", {"i": 1})
        assert e.timestamp == "2999-01-01T00:00:00.000000Z" and log.verify().ok


def test_verify_log_opens_read_only_and_refuses_other_files(db, tmp_path, capsys):
    before = db.read_bytes()
    assert main(["verify-log", str(db)]) == 0
    assert db.read_bytes() == before
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE people (name TEXT)")
    con.execute("INSERT INTO people VALUES ('x')")
    con.commit()
    con.close()
    original = other.read_bytes()
    capsys.readouterr()
    for argv in (["verify-log", str(other)], ["log-anchor", str(other)]):
        assert main(argv) == 4
        assert "not a forensics case log" in capsys.readouterr().err
    with pytest.raises(ForensicsError, match="not a forensics case log"):
        CaseLog(other)  # nor does an append add its tables to it
    assert other.read_bytes() == original
    con = sqlite3.connect(other)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["people"]
    con.close()
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all " * 50)
    assert main(["verify-log", str(text)]) == 4


def test_two_swapped_entries_are_found(db):
    con = sqlite3.connect(db)
    rows = {r[0]: r for r in con.execute("SELECT seq, timestamp, kind, payload, prev_hash, entry_hash FROM entries")}
    for a, b in ((2, 5), (5, 2)):
        con.execute(
            "UPDATE entries SET timestamp=?, kind=?, payload=?, prev_hash=?, entry_hash=? WHERE seq=?",
            (*rows[b][1:], a),
        )
    con.commit()
    con.close()
    with CaseLog(db) as log:
        v = log.verify()
    assert not v.ok and v.first_bad_seq == 2


def test_verify_log_cli_exit_codes(db, tmp_path, capsys, monkeypatch):
    assert main(["verify-log", str(db)]) == 0
    assert "OK: 6 entries" in capsys.readouterr().out
    monkeypatch.setenv("FORENSICS_CASE_DB", str(db))
    assert main(["verify-log"]) == 0
    _raw(db, "DELETE FROM entries WHERE seq = 3")
    capsys.readouterr()
    assert main(["verify-log"]) == 1
    assert "first bad entry seq 3" in capsys.readouterr().out
    assert main(["verify-log", str(tmp_path / "missing.sqlite")]) == 4
    assert not (tmp_path / "missing.sqlite").exists()


def test_appends_continue_the_chain_across_connections(tmp_path):
    path = tmp_path / "c.sqlite"
    with CaseLog(path) as a, CaseLog(path) as b:
        e1 = a.append("analysis", {"x": 1})
        e2 = b.append("export", {"x": 2})
        e3 = a.append("analysis", {"x": 3})
        assert (e2.prev_hash, e3.prev_hash) == (e1.entry_hash, e2.entry_hash)
        assert b.verify().ok and b.verify().entries == 3


def test_json_rules():
    import numpy as np

    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == '{"a":[1.5,"é"],"b":1}'.encode()
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    assert json_safe({"x": float("nan"), "y": np.float32(0.5), "z": (1, 2), "w": np.arange(2)}) == {
        "x": None,
        "y": 0.5,
        "z": [1, 2],
        "w": [0, 1],
    }
    assert entry_hash(1, "t", "k", {}, GENESIS_HASH) != entry_hash(2, "t", "k", {}, GENESIS_HASH)


def test_log_analysis_records_hashes_and_scores(tmp_path):
    from forensics.cases.audit import log_analysis

    analysis = {
        "evidence": {"name": "a.jpg", "size": 3, "sha256": "ab" * 32, "md5": "cd" * 16},
        "options": {"detectors": ["d"]},
        "library_version": "0.1.0",
        "models": {"d": {"weights_sha256": "ef" * 32, "ready": True}},
        "faces": [{"index": 0, "scores": {"d": {"p_fake": 0.75, "assessment": {"verdict": "inconclusive"}}}}],
    }
    e = log_analysis(analysis, db=tmp_path / "c.sqlite", case_id="K-1")
    assert e.payload["evidence"]["sha256"] == "ab" * 32 and e.payload["case_id"] == "K-1"
    assert e.payload["models"]["d"]["weights_sha256"] == "ef" * 32
    assert e.payload["faces"][0]["scores"]["d"] == {"p_fake": 0.75, "verdict": "inconclusive"}
    with CaseLog(tmp_path / "c.sqlite") as log:
        assert log.verify().ok and log.entries()[0].entry_hash == e.entry_hash
