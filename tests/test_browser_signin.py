"""End to end in a real headless Chromium with accounts: sign in, open a new case, the gate on every page, sign out.

Uses bench/bench_dashboard.py's server and browser helpers (Debian's chromium through Playwright); skipped with the
reason when chromium is absent.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_dashboard", ROOT / "bench" / "bench_dashboard.py")
bd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bd)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "correct horse battery"


def test_sign_in_case_pages_and_sign_out(tmp_path, monkeypatch):
    if not bd.chromium_path():
        pytest.skip("Debian's chromium is not installed (bash scripts/setup.sh --with-browser installs it)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    from forensics.cases import accounts
    from forensics.cases.audit import CaseLog
    from forensics.cases.workbench import Workbench

    monkeypatch.setenv("FORENSICS_DB_URL", f"sqlite:///{tmp_path / 'wb.sqlite'}")
    monkeypatch.setenv("FORENSICS_EVIDENCE_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("FORENSICS_CASE_DB", str(tmp_path / "audit.sqlite"))
    wb = Workbench()
    accounts.add_user(wb, "ann", PASSWORD, "analyst")
    with bd.server(threads="1") as url, bd.browser_page() as page:
        page.goto(url)
        main = page.locator("[data-testid='stMain']")
        main.get_by_label("User name").fill("ann")
        main.get_by_label("Password", exact=True).fill(PASSWORD)
        main.get_by_role("button", name="Sign in").click()
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text("Signed in as").wait_for(state="visible", timeout=120_000)
        main.get_by_text("Open a case in the sidebar").wait_for(state="visible", timeout=120_000)
        sidebar.get_by_text("New case").click()
        page.get_by_label("Title").fill("Browser case")
        page.get_by_role("button", name="Create").click()
        # the app's default page once a case is open: the landing page
        page.locator("h1").filter(has_text="Face forensics workbench").first.wait_for(state="visible", timeout=240_000)
        bd.wait_idle(page)
        bd.goto_page(page, "Cases")
        main.get_by_text("Browser case").first.wait_for(state="visible", timeout=120_000)
        assert sidebar.get_by_text("Signed in as").count() == 1  # the gate ran on this page too
        assert page.locator("[data-testid='stException']").count() == 0
        sidebar.get_by_role("button", name="Sign out").click()
        page.locator("h1").filter(has_text="Sign in").wait_for(state="visible", timeout=120_000)
        bd.wait_idle(page)  # the run that signed out has finished: the signed-in sidebar is gone, not just stale
        assert sidebar.get_by_text("Signed in as").count() == 0
    with CaseLog(tmp_path / "audit.sqlite") as log:
        kinds = [(e.kind, e.payload.get("user")) for e in log.entries()]
    assert ("sign-in", "ann") in kinds and ("case-create", "ann") in kinds and kinds[-1] == ("sign-out", "ann")
    wb.close()
