"""End to end in a real headless Chromium: start the server, open the landing page, upload a photo on Detect, wait
for the per-face result; every request the page makes goes to the server's own host.

Prints the cold start to first result and a warm page switch (bench figures; never asserted). Uses Debian's
chromium through Playwright (no browser download); skipped with the reason when chromium is absent.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_dashboard", ROOT / "bench" / "bench_dashboard.py")
bd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bd)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = bd.chromium_path()
    if not path:
        pytest.skip("Debian's chromium is not installed (bash scripts/setup.sh --with-browser installs it)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    return path


def test_upload_on_detect_shows_result_and_pages_switch(chromium, tmp_path):
    import hashlib
    from urllib.parse import urlsplit

    t0 = time.perf_counter()
    with bd.server(threads="1") as url, bd.browser_page() as page:
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(url)
        page.get_by_text("One examination, in this order").wait_for(state="visible", timeout=120_000)
        bd.goto_page(page, "Detect")
        page.locator("input[type=file]").first.wait_for(state="attached", timeout=120_000)
        bd.upload_example(page)
        result = bd.wait_result(page)
        cold = time.perf_counter() - t0
        bd.wait_idle(page)
        main = page.locator("[data-testid='stMain']")
        # the evidence hash and the face are on the page, no exception box
        sha = hashlib.sha256(bd.EXAMPLE.read_bytes()).hexdigest()
        assert main.get_by_text(sha).count() >= 1
        assert main.get_by_role("heading", name="Face 1").count() == 1
        assert page.locator("[data-testid='stException']").count() == 0
        assert any(t in result for t in bd.RESULT_TEXTS)
        # a click on the face's number in the overview selects that face
        overview = main.locator("[data-testid='stPlotlyChart']").first
        overview.locator("g.scatterlayer path.point").first.click(force=True)
        main.get_by_text("Showing Face 1 only").wait_for(state="visible", timeout=120_000)
        bd.wait_idle(page)
        shot = tmp_path / "detect.png"
        size = bd.save_small_png(page.screenshot(), shot)
        assert shot.is_file() and size <= 120 * 1024
        t1 = time.perf_counter()
        bd.goto_page(page, "Models")
        main.get_by_text("Default detectors here", exact=False).first.wait_for(state="visible", timeout=120_000)
        bd.goto_page(page, "Detect")
        bd.wait_result(page)
        warm = (time.perf_counter() - t1) / 2
        assert page.locator("[data-testid='stException']").count() == 0
    # nothing leaves the machine: no favicon, font or telemetry request to any other host (an air-gapped lab)
    own = urlsplit(url).netloc
    outside = [
        u for u in requested if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).netloc != own
    ]
    assert requested and not outside, outside
    print(f"\nbrowser: cold start to first result {cold:.2f} s; warm page switch {warm:.2f} s (1 torch thread)")
