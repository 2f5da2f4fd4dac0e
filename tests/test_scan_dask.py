"""Scans on a real Dask LocalCluster (2 one-thread worker processes): same rows as a plain scan, nothing lost when a
worker is killed mid-run."""

from __future__ import annotations

import functools
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics.scan import ScanOptions, scan_folder
from forensics.scan.dask_cluster import DaskSetup, local_cluster
from forensics.scan.store import ScanStore

distributed = pytest.importorskip("distributed")

OPTS = ScanOptions(detectors=("simplenet",), face_method="whole", allow_untrained=True)


def _make_folder(tmp: Path, n: int) -> Path:
    rng = np.random.default_rng(1)
    root = tmp / "data"
    for i in range(n):
        d = root / ("real/camA" if i % 2 else "fake/gan/genX")
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (48, 40 + i, 3), dtype=np.uint8)).save(d / f"im{i}.png")
    (root / "real" / "camA" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "real" / "camA" / "copy.png").write_bytes((root / "real" / "camA" / "im1.png").read_bytes())
    return root


def _rows(store_path: Path) -> dict[str, list]:
    with ScanStore(store_path) as st:
        return {
            "images": st.rows(
                "SELECT sha256, path, label, kind, source, status, error, n_faces, face_method "
                "FROM images ORDER BY sha256"
            ),
            "faces": st.rows("SELECT sha256, face_index, box, confidence, thumb FROM faces ORDER BY sha256"),
            "scores": st.rows("SELECT sha256, face_index, detector, p_fake, verdict FROM scores ORDER BY sha256"),
            "duplicates": st.rows("SELECT path, sha256 FROM duplicates ORDER BY path"),
            "embeddings": [(s, i, v.round(5).tolist()) for s, i, v in sorted(st.embeddings("simplenet"))],
        }


def _assert_same_rows(a: dict[str, list], b: dict[str, list]) -> None:
    assert a["images"] == b["images"]
    assert a["faces"] == b["faces"]
    assert a["duplicates"] == b["duplicates"]
    keys = [[(r["sha256"], r["face_index"]) for r in x["scores"]] for x in (a, b)]
    assert keys[0] == keys[1]
    np.testing.assert_allclose([r["p_fake"] for r in a["scores"]], [r["p_fake"] for r in b["scores"]], atol=1e-6)
    assert len(a["embeddings"]) == len(b["embeddings"])
    for (s1, i1, v1), (s2, i2, v2) in zip(a["embeddings"], b["embeddings"], strict=True):
        assert (s1, i1) == (s2, i2)
        np.testing.assert_allclose(v1, v2, atol=1e-4)


def test_dask_local_cluster_scan_equals_plain_scan(tmp_path):
    root = _make_folder(tmp_path, 9)
    plain = scan_folder(root, tmp_path / "plain.sqlite", options=OPTS, batch_size=3)
    seen = []
    s = scan_folder(
        root,
        tmp_path / "dask.sqlite",
        options=OPTS,
        batch_size=3,
        dask=DaskSetup(local_workers=2),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (
        (s.total, s.done, s.errors, s.duplicates, s.faces)
        == (plain.total, plain.done, plain.errors, plain.duplicates, plain.faces)
        == (11, 9, 1, 1, 9)
    )
    assert seen[0] == (0, 11) and seen[-1] == (11, 11)  # progress from the start to the end, batch by batch
    assert len(seen) == 1 + 4
    _assert_same_rows(_rows(tmp_path / "plain.sqlite"), _rows(tmp_path / "dask.sqlite"))
    again = scan_folder(root, tmp_path / "dask.sqlite", options=OPTS, dask=DaskSetup(local_workers=2))
    assert (again.skipped_already_done, again.done) == (11, 0)  # the same resumable store: nothing to redo


def test_killed_dask_worker_loses_nothing(tmp_path):
    root = _make_folder(tmp_path, 19)
    scan_folder(root, tmp_path / "plain.sqlite", options=OPTS, batch_size=2)
    store_path = tmp_path / "dask.sqlite"
    with (
        local_cluster(2) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(2, timeout=120)
        victim = next(iter(client.run(os.getpid).values()))
        killed_at: list[int] = []
        scan_over = threading.Event()

        def kill_when_started() -> None:
            while not scan_over.is_set():
                try:
                    with sqlite3.connect(store_path) as c:
                        n = c.execute("SELECT COUNT(*) FROM images").fetchone()[0]
                except sqlite3.OperationalError:
                    n = 0
                if n >= 2:
                    os.kill(victim, signal.SIGKILL)
                    killed_at.append(n)
                    return
                scan_over.wait(0.05)

        killer = threading.Thread(target=kill_when_started)
        killer.start()
        try:
            s = scan_folder(
                root,
                store_path,
                options=OPTS,
                batch_size=2,
                dask=DaskSetup(address=cluster.scheduler_address),
                after_batch=functools.partial(time.sleep, 0.5),  # on the workers: batches take a while
            )
        finally:
            scan_over.set()
            killer.join()
    assert killed_at and killed_at[0] < 21, "the worker was not killed while the scan ran"
    assert s.done + s.errors + s.duplicates == 21
    _assert_same_rows(_rows(tmp_path / "plain.sqlite"), _rows(store_path))


_MALLOC_PROBE = """
import ctypes
from forensics.scan.dask_cluster import tune_worker_malloc

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                                               "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def mmapped_after_malloc(size):
    before = libc.mallinfo2().hblks
    p = libc.malloc(size)
    n = libc.mallinfo2().hblks - before
    libc.free(p)
    return n

print(mmapped_after_malloc(1 << 20), tune_worker_malloc(), mmapped_after_malloc(1 << 20))
"""


def test_worker_malloc_tuning_keeps_buffers_on_the_heap():
    """Dask's MALLOC_TRIM_THRESHOLD_ makes glibc mmap every 1 MB buffer (2.3x the CPU per face, measured);
    tune_worker_malloc puts such buffers back on the heap."""
    import platform
    import subprocess
    import sys

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt tuning applies to glibc only")
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    out = subprocess.run(
        [sys.executable, "-c", _MALLOC_PROBE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout.split()
    assert out == ["1", "True", "0"]  # mmap'ed before, heap after


def test_workers_do_not_rerun_a_script_main(tmp_path, monkeypatch):
    """Under Streamlit (and after AppTest) ``__main__`` is the dashboard script; spawned workers must not run it."""
    import sys
    import types

    marker = tmp_path / "ran"
    script = tmp_path / "app_script.py"
    script.write_text(f"open({str(marker)!r}, 'a').write('x')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    with local_cluster(1) as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(1, timeout=120)
        assert client.submit(os.getpid).result(timeout=120) != os.getpid()
    assert sys.modules["__main__"] is fake_main  # given back once the cluster is closed
    assert not marker.exists()
