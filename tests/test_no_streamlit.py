"""The library must be usable without Streamlit: importing any forensics module never imports streamlit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_PROBE = r"""
import importlib, json, pkgutil, sys
import forensics
failed = {}
names = ["forensics"]
for info in pkgutil.walk_packages(forensics.__path__, "forensics."):
    if not info.name.endswith("__main__"):  # running the CLI is not importing
        names.append(info.name)
for name in names:
    try:
        importlib.import_module(name)
    except ImportError as exc:  # an optional dependency missing here: reported, the rest still checked
        failed[name] = repr(exc)
print(json.dumps({"modules": names, "failed": failed, "streamlit": sorted(m for m in sys.modules
                                                                           if m.split(".")[0] == "streamlit")}))
"""


@pytest.mark.slow
def test_importing_every_forensics_module_never_imports_streamlit():
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "OMP_NUM_THREADS": "1",
            "FORENSICS_THREADS": "1",
            "HOME": str(Path.home()),
        },
    )
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(res["modules"]) > 10  # the walk found the package's modules
    assert res["streamlit"] == [], f"streamlit imported by the library: {res['streamlit']}"
    imported = set(res["modules"]) - set(res["failed"])
    assert {"forensics.pipeline", "forensics.evidence"} <= imported, res["failed"]


def test_no_library_source_mentions_streamlit_imports():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "forensics").rglob("*.py")
        if "import streamlit" in p.read_text(encoding="utf-8") or "from streamlit" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_ui_is_the_only_streamlit_glue_and_pages_stay_thin():
    """Pages render; they do no torch and no numpy maths (that belongs in forensics/ or ui/)."""
    for page in sorted((ROOT / "pages").glob("*.py")):
        src = page.read_text(encoding="utf-8")
        assert "import torch" not in src and "import numpy" not in src, page.name
        assert "st.cache_data" not in src and "st.cache_resource" not in src, f"{page.name}: caching lives in ui/"
