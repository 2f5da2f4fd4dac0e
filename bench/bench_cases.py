"""Page load with 1,000 cases in the store: the case list query and the dashboard's first run (sign-in gate, case
picker of 1,000 entries, Detect page) and the Cases page (a table of 1,000 rows), through Streamlit's AppTest.

    FORENSICS_THREADS=1 OMP_WAIT_POLICY=PASSIVE nice -n 15 .venv/bin/python bench/bench_cases.py [--cases 1000]
        [--db-url URL]   (default: a new SQLite file in a temporary folder; a PostgreSQL URL is emptied first)

The cases are written in one transaction (3 evidence items and 5 records each, an analyst member of every case),
then each figure is the median (and minimum) of ``--repeats`` timings after one warm-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def fill(url: str, n: int, store: Path) -> None:
    import sqlalchemy as sa

    from forensics.cases import db
    from forensics.cases.store import EvidenceStore

    shas = {(i, k): EvidenceStore(store).put(f"evidence {i}.{k}".encode()) for i in range(1, n + 1) for k in range(3)}

    engine = db.make_engine(url)
    with engine.begin() as conn:
        db.metadata.drop_all(conn)
    db.migrate(engine)
    t = db.now()
    with engine.begin() as conn:
        conn.execute(
            db.users.insert().values(username="ann", password_hash="x", role="analyst", disabled=False, created_at=t)
        )
        conn.execute(
            db.cases.insert(),
            [
                {
                    "id": i,
                    "title": f"Case {i}",
                    "status": "open" if i % 3 else "closed",
                    "created_by": "ann",
                    "created_at": t,
                    "updated_at": t,
                }
                for i in range(1, n + 1)
            ],
        )
        conn.execute(
            db.members.insert(),
            [{"case_id": i, "username": "ann", "added_by": "ann", "added_at": t} for i in range(1, n + 1)],
        )
        conn.execute(
            db.items.insert(),
            [
                {
                    "case_id": i,
                    "sha256": shas[i, k],
                    "name": f"p{k}.jpg",
                    "size": 1000,
                    "added_by": "ann",
                    "added_at": t,
                }
                for i in range(1, n + 1)
                for k in range(3)
            ],
        )
        conn.execute(
            db.records.insert(),
            [
                {"case_id": i, "kind": "note", "payload": "{}", "created_by": "ann", "created_at": t}
                for i in range(1, n + 1)
                for _ in range(5)
            ],
        )
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequence past them
            conn.execute(sa.text("SELECT setval('cases_id_seq', :n)"), {"n": n})
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--db-url", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cases-"))
    url = args.db_url or f"sqlite:///{tmp / 'wb.sqlite'}"
    os.environ.update(
        FORENSICS_DB_URL=url,
        FORENSICS_EVIDENCE_STORE=str(tmp / "store"),
        FORENSICS_CASE_DB=str(tmp / "audit.sqlite"),
        STREAMLIT_SERVER_ADDRESS="localhost",
    )
    t0 = time.perf_counter()
    fill(url, args.cases, tmp / "store")
    print(f"filled {args.cases} cases in {time.perf_counter() - t0:.1f} s ({url.split(':')[0]})")

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from bench._timing import median_min_ms
    from forensics.cases import accounts, cases
    from forensics.cases.workbench import Workbench

    wb = Workbench()
    ann = accounts.get_user(wb, "ann")
    med, lo = median_min_ms(lambda: cases.list_cases(wb, ann), args.repeats)
    print(f"list_cases ({args.cases} cases, members and counts): median {med:.1f} ms, min {lo:.1f} ms")
    app = str(ROOT / "streamlit_app.py")

    def signed_in() -> AppTest:
        at = AppTest.from_file(app, default_timeout=300)
        at.session_state["auth_user"] = ann
        at.session_state["auth_case_id"] = args.cases  # a case is open, as after the user picked it
        return at

    def first_run() -> None:
        at = signed_in().run()
        assert not at.exception and len(next(s for s in at.selectbox if s.label == "Case").options) == args.cases

    def cases_page() -> None:
        at = signed_in().run()
        at.switch_page("pages/cases.py").run()
        assert not at.exception, [e.value for e in at.exception]
        assert len(at.dataframe[0].value) == args.cases, len(at.dataframe[0].value)

    med, lo = median_min_ms(first_run, args.repeats)
    print(
        f"dashboard first run (gate + case picker + Detect page), {args.cases} cases: median {med:.0f} ms, "
        f"min {lo:.0f} ms"
    )
    t_base = median_min_ms(lambda: signed_in().run(), 1, warmup=0)[0]
    med2, lo2 = median_min_ms(cases_page, args.repeats)
    print(
        f"Cases page (first run + switch to the page, a table of {args.cases} rows): median {med2:.0f} ms, "
        f"min {lo2:.0f} ms (of which about {t_base:.0f} ms the first run)"
    )
    st.cache_resource.clear()
    wb.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
