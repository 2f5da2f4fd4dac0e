"""Shared fixtures. Torch threads are capped for every test (set before torch is imported)."""

from __future__ import annotations

import os

os.environ.setdefault("FORENSICS_THREADS", "2")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", os.environ["FORENSICS_THREADS"])
# Analyses run by tests are logged to a throw-away audit log, never to the analyst's cache/cases.sqlite; reports the
# dashboard exports and the signing keys it lists are throw-away too.
if "FORENSICS_CASE_DB" not in os.environ:
    import tempfile
    from pathlib import Path

    _tmp = tempfile.mkdtemp(prefix="forensics-test-")
    os.environ["FORENSICS_CASE_DB"] = os.path.join(_tmp, "cases.sqlite")
    os.environ.setdefault("FORENSICS_REPORT_DIR", os.path.join(_tmp, "reports"))
    os.environ.setdefault("FORENSICS_KEYS_DIR", os.path.join(_tmp, "keys"))
    # local paths may come from the temporary folder (where tests write their files), the shared data and the shipped
    # examples (the cases database and evidence store are per test: _fresh_case_database)
    os.environ.setdefault(
        "FORENSICS_EVIDENCE_ROOTS",
        os.pathsep.join(
            [
                tempfile.gettempdir(),
                str(Path(__file__).resolve().parents[1] / "ui" / "examples"),
                os.environ.get("FORENSICS_SHARED_DIR", str(Path(__file__).resolve().parents[2] / "shared")) + "/data",
            ]
        ),
    )
# AppTest serves nobody, so it counts as bound to localhost (the dashboard's single-user mode when no account exists)
os.environ.setdefault("STREAMLIT_SERVER_ADDRESS", "localhost")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from forensics.paths import PEER_WEIGHTS_DIR, SHARED_DATA_DIR  # noqa: E402

SKIP_NO_DATA = "../shared/data is absent (face images live beside the project, never in it)"
SKIP_NO_PEERS = "../shared/peers/mesonet is absent (published Meso-4 weights are not committed)"


def pytest_configure(config):
    try:
        from forensics.device import configure_threads

        configure_threads()
    except ImportError:
        pass


@pytest.fixture(autouse=True)
def _fresh_case_database(tmp_path_factory, monkeypatch):
    """Every test starts with an empty cases database and evidence store (the dashboard's single-user mode would
    otherwise reopen the evidence an earlier test left in its case)."""
    d = tmp_path_factory.mktemp("cases")
    monkeypatch.setenv("FORENSICS_DB_URL", f"sqlite:///{d / 'workbench.sqlite'}")
    monkeypatch.setenv("FORENSICS_EVIDENCE_STORE", str(d / "evidence-store"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA_DIR / "index.csv").is_file():
        pytest.skip(SKIP_NO_DATA)
    return SHARED_DATA_DIR


@pytest.fixture(scope="session")
def peer_weights() -> Path:
    if not (PEER_WEIGHTS_DIR / "Meso4_DF.h5").is_file():
        pytest.skip(SKIP_NO_PEERS)
    return PEER_WEIGHTS_DIR


@pytest.fixture(scope="session")
def real_face_path(shared_data) -> Path:
    """A camera-original face photo from the shared data (LFW: 250 px, one centred face)."""
    candidates = sorted((shared_data / "val" / "real" / "lfw").glob("*.jpg"))
    if not candidates:
        pytest.skip("no LFW images under ../shared/data/val/real/lfw")
    return candidates[0]


@pytest.fixture(scope="session")
def large_face_path(shared_data) -> Path:
    """A larger face photo (ciplab, 600 px) for segmentation and landmark tests."""
    candidates = sorted((shared_data / "val" / "real" / "ciplab").glob("*.jpg"))
    if not candidates:
        pytest.skip("no ciplab images under ../shared/data/val/real/ciplab")
    return candidates[0]


@pytest.fixture()
def small_compressed_portrait(tmp_path) -> Path:
    """The shipped portrait mirrored (the default calls it a camera original), cut to the face and saved at
    180 px / JPEG 50: as small and as compressed as the harshest re-sampling the default's calibration measured."""
    from PIL import Image

    path = tmp_path / "mirror_small.jpg"
    with Image.open(Path(__file__).resolve().parents[1] / "ui" / "examples" / "astronaut.jpg") as im:
        mirrored = im.convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        mirrored.crop((160, 20, 420, 280)).resize((180, 180), Image.Resampling.BICUBIC).save(path, quality=50)
    return path


# the fastest `report` the CLI makes: the untrained tiny detector on the whole image, no explanations, no checks
QUICK_REPORT_OPTIONS = (
    "--detector",
    "simplenet",
    "--allow-untrained",
    "--face-method",
    "whole",
    "--no-explain",
    "--no-checks",
)
