"""Dashboard timings in a real headless Chromium: cold start to first verdict, warm page switch; page screenshots.

Starts ``streamlit run streamlit_app.py`` on a free localhost port, drives Debian's chromium with Playwright
(no browser download), uploads an example photo on Detect and waits for the per-face result.

    FORENSICS_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \
        .venv/bin/python bench/bench_dashboard.py [--runs 3] [--screenshots docs/]

Torch threads in the server: FORENSICS_THREADS (default here 1). Figures are medians over ``--runs`` cold starts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "ui" / "examples" / "astronaut.jpg"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Any of these on the Detect page means the per-face result is rendered (a verdict, or the reason there is none).
RESULT_TEXTS = ("Verdict: ", "gives no verdict", "so no verdict", "No face analysed")
PAGES = {
    "detect": "Detect",
    "explain": "Explain",
    "segment": "Segment + LRP",
    "ela": "ELA & checks",
    "report": "Report",
    "dataset": "Dataset stats",
    "models": "Models",
}


# page -> (text shown when the page has finished, text to scroll to before the screenshot)
SHOT_MARKERS = {
    "explain": ("insertion AUC", "Explain class"),
    "segment": ("Region table", "Bar value"),
    "ela": ("Other checks", "All findings"),
    "models": ("Model card", "A detector is"),
}


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(port: int | None = None, *, threads: str = "1", timeout: float = 120.0) -> Iterator[str]:
    """A dashboard server on 127.0.0.1 (stopped on exit); yields its URL once /_stcore/health answers."""
    port = port or free_port()
    env = dict(os.environ, FORENSICS_THREADS=threads, OMP_NUM_THREADS=threads, OMP_WAIT_POLICY="PASSIVE")
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "streamlit_app.py"),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    log_path = ROOT / "cache" / f"dashboard-{port}.log"  # kept only when something failed
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    ok = False
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode} before answering")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.2)
        yield url
        ok = True
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if ok:
            log_path.unlink(missing_ok=True)


@contextlib.contextmanager
def browser_page(width: int = 1100, height: int = 800):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        br = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = br.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            br.close()


def wait_result(page, timeout_ms: float = 240_000) -> str:
    """Wait until the Detect page shows a per-face result; return which text appeared."""
    import re

    pattern = re.compile("|".join(re.escape(t) for t in RESULT_TEXTS))
    loc = page.locator("[data-testid='stMain']").get_by_text(pattern).first
    loc.wait_for(state="visible", timeout=timeout_ms)
    return loc.inner_text()


def upload_example(page, path: Path = EXAMPLE) -> None:
    page.locator("input[type=file]").first.set_input_files(str(path))


def goto_page(page, title: str, timeout_ms: float = 120_000) -> None:
    page.locator("[data-testid='stSidebarNav']").get_by_text(title, exact=True).click()
    page.locator("h1").filter(has_text=title.split(" ")[0]).first.wait_for(state="visible", timeout=timeout_ms)


def wait_idle(page, timeout_ms: float = 240_000) -> None:
    """Wait until Streamlit has finished running the script (no 'Running...' status widget)."""
    page.wait_for_timeout(800)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=timeout_ms)
    page.locator("[data-testid='stSpinner']").first.wait_for(state="hidden", timeout=timeout_ms)


def save_small_png(png: bytes, out: Path, max_kb: int = 120) -> int:
    """Shrink and quantise a screenshot with Pillow until it is under ``max_kb``; returns the byte size."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    for scale, colours in ((1.0, 128), (0.9, 96), (0.8, 64), (0.7, 48), (0.6, 32)):
        im = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS) if scale < 1 else img
        buf = io.BytesIO()
        im.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            buf, format="PNG", optimize=True
        )
        if buf.tell() <= max_kb * 1024:
            break
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buf.getvalue())
    return buf.tell()


def dataset_shot(folder: Path, out: Path, *, threads: str = "1", limit: int = 0) -> float:
    """Scan ``folder`` on the Dataset stats page and save a screenshot of the metrics; returns the scan seconds."""
    with server(threads=threads) as url, browser_page() as page:
        page.goto(url)
        goto_page(page, PAGES["dataset"])
        main = page.locator("[data-testid='stMain']")
        box = main.get_by_label("Folder on this machine")
        page.wait_for_timeout(1000)
        if not box.is_visible():  # a store exists already: the scan form is folded away
            main.get_by_text("Scan a folder").first.click()
        box.fill(str(folder))
        box.press("Enter")
        wait_idle(page)
        lim = main.get_by_label("At most this many images (0 = all)")
        lim.fill(str(limit))
        lim.press("Enter")
        wait_idle(page)
        t0 = time.perf_counter()
        page.get_by_role("button", name="Scan", exact=True).click()
        main.get_by_text("image(s) scanned").first.wait_for(state="visible", timeout=3_600_000)
        seconds = time.perf_counter() - t0
        main.get_by_text("Detection metrics").first.wait_for(state="visible", timeout=600_000)
        wait_idle(page)
        main.get_by_text("Detection metrics").first.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=120_000)  # ROC drawn
        page.wait_for_timeout(3000)
        save_small_png(page.screenshot(full_page=False), out)
    return seconds


def measure(threads: str = "1", screenshots: Path | None = None) -> dict[str, float]:
    """One cold start: server start -> page -> upload -> first result; then warm page switches."""
    t0 = time.perf_counter()
    with server(threads=threads) as url, browser_page() as page:
        t_server = time.perf_counter() - t0
        page.goto(url)
        page.get_by_text("One examination, in this order").wait_for(state="visible", timeout=120_000)
        if screenshots:
            save_small_png(page.screenshot(full_page=False), screenshots / "dashboard_start.png")
        goto_page(page, PAGES["detect"])  # the landing page is the default
        page.locator("input[type=file]").first.wait_for(state="attached", timeout=120_000)
        upload_example(page)
        text = wait_result(page)
        t_first = time.perf_counter() - t0
        wait_idle(page)
        if screenshots:
            save_small_png(page.screenshot(full_page=False), screenshots / "dashboard_detect.png")
        switches = []
        for _ in range(3):
            t1 = time.perf_counter()
            goto_page(page, "Models")
            wait_idle(page)
            goto_page(page, "Detect")
            wait_result(page)
            switches.append((time.perf_counter() - t1) / 2)
        page_s = {}
        if screenshots:
            for key, (done, scroll_to) in SHOT_MARKERS.items():
                t1 = time.perf_counter()
                goto_page(page, PAGES[key])
                main = page.locator("[data-testid='stMain']")
                main.get_by_text(done).first.wait_for(state="visible", timeout=300_000)
                wait_idle(page)
                page_s[key] = time.perf_counter() - t1  # first visit: computes (and caches) the page's results
                main.get_by_text(scroll_to).first.evaluate("e => e.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(700)
                save_small_png(page.screenshot(full_page=False), screenshots / f"dashboard_{key}.png")
            goto_page(page, PAGES["report"])
            t1 = time.perf_counter()
            page.get_by_role("button", name="Build report").click()
            main = page.locator("[data-testid='stMain']")
            main.get_by_text("Report built").first.wait_for(state="visible", timeout=600_000)
            wait_idle(page)
            page_s["report"] = time.perf_counter() - t1
            main.get_by_text("Preview", exact=True).first.evaluate("e => e.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(700)
            save_small_png(page.screenshot(full_page=False), screenshots / "dashboard_report.png")
    return {
        "server_ready_s": t_server,
        "cold_to_first_result_s": t_first,
        "warm_switch_s": statistics.median(switches),
        "result": text,
        "page_s": page_s,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--threads", default=os.environ.get("FORENSICS_THREADS", "1"))
    ap.add_argument("--screenshots", type=Path, default=None, help="folder for the page screenshots (docs/)")
    ap.add_argument(
        "--dataset",
        type=Path,
        default=None,
        help="also scan this labelled folder on Dataset stats (screenshot into --screenshots)",
    )
    args = ap.parse_args(argv)
    if not chromium_path():
        print("chromium not found: apt-get install -y chromium", file=sys.stderr)
        return 2
    if args.dataset:
        secs = dataset_shot(
            args.dataset, (args.screenshots or ROOT / "docs") / "dashboard_dataset.png", threads=args.threads
        )
        print(f"dataset scan of {args.dataset} through the dashboard: {secs:.1f} s")
        return 0
    runs = [measure(args.threads, args.screenshots if i == 0 else None) for i in range(args.runs)]
    for k in ("server_ready_s", "cold_to_first_result_s", "warm_switch_s"):
        vals = [r[k] for r in runs]
        print(f"{k:26s} median {statistics.median(vals):7.2f} s  (runs: {', '.join(f'{v:.2f}' for v in vals)})")
    print(f"torch threads in the server: {args.threads}; result shown: {runs[0]['result']!r}")
    for key, secs in runs[0]["page_s"].items():  # with --screenshots: first visit of each page, to its last element
        print(f"page {PAGES[key]:14s} first visit {secs:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
