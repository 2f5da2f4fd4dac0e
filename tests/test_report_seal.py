"""Signed, sealed reports: Ed25519 keys, the bundle embedded in the PDF, and what verify-report says when an
examiner, a PDF or a signature was changed (attacks 2 and 3 of issue 19). Reports are written by the CLI with an
untrained SimpleNet on the whole image (no explanations, no checks), so no weights or shared data are needed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import QUICK_REPORT_OPTIONS

from forensics.cli import main
from forensics.report import bundle_hash, load_bundle
from forensics.report.seal import attach_bundle, extract_bundle


@pytest.fixture(scope="module")
def evidence(tmp_path_factory):
    from PIL import Image

    rng = np.random.default_rng(3)
    path = tmp_path_factory.mktemp("ev") / "photo.jpg"
    Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(path, quality=90)
    return path


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """A key store with the examiner's key and a forger's key; the examiner's public key exported for verifiers."""
    d = tmp_path_factory.mktemp("keys")
    store = d / "store"
    assert main(["keys", "create", "--name", "Dr. Ada Example", "--keys-dir", str(store)]) == 0
    assert main(["keys", "create", "--name", "Mallory", "--keys-dir", str(store)]) == 0
    from forensics.report.keys import list_keys

    ks = {k.name: k.key_id for k, private in list_keys(store) if private}
    trusted = d / "trusted"
    trusted.mkdir()
    assert (
        main(
            ["keys", "export", ks["Dr. Ada Example"], "--keys-dir", str(store), "--out", str(trusted / "ada.pub.json")]
        )
        == 0
    )
    return store, ks, trusted


def _report(evidence, out, *extra):
    rc = main(
        [
            "report",
            str(evidence),
            "--out",
            str(out),
            "--examiner",
            "Dr. Ada Example",
            "--case",
            "K-1",
            *QUICK_REPORT_OPTIONS,
            "--case-db",
            str(out / "cases.sqlite"),
            *extra,
        ]
    )
    assert rc == 0
    return sorted(out.glob("*.json"))[-1], sorted(out.glob("*.pdf"))[-1]


@pytest.fixture(scope="module")
def signed(evidence, keys, tmp_path_factory):
    store, ks, _ = keys
    return _report(
        evidence, tmp_path_factory.mktemp("signed"), "--sign", ks["Dr. Ada Example"], "--keys-dir", str(store)
    )


def _verify(capsys, *args):
    capsys.readouterr()
    rc = main(["verify-report", *map(str, args), "--no-log"])
    return rc, capsys.readouterr().out


def test_keys_list_and_export(keys, capsys):
    store, ks, trusted = keys
    capsys.readouterr()
    assert main(["keys", "list", "--keys-dir", str(store)]) == 0
    out = capsys.readouterr().out
    assert ks["Dr. Ada Example"] in out and "Mallory" in out and "private+public" in out
    pub = json.loads((trusted / "ada.pub.json").read_text())
    assert pub["name"] == "Dr. Ada Example" and pub["algorithm"] == "Ed25519" and "private" not in json.dumps(pub)
    assert (store / f"{ks['Mallory']}.key.pem").stat().st_mode & 0o077 == 0


def test_signed_report_verifies_from_json_and_from_the_pdf_alone(signed, evidence, keys, capsys):
    js, pdf = signed
    _, ks, trusted = keys
    rc, out = _verify(capsys, js, evidence, "--trusted-keys", trusted, "--pdf", pdf)
    assert rc == 0, out
    assert f"signed by Dr. Ada Example (Ed25519 key {ks['Dr. Ada Example']}, trusted)" in out
    rc, out = _verify(capsys, pdf, evidence, "--public-key", trusted / "ada.pub.json")
    assert rc == 0, out
    assert "signed by Dr. Ada Example" in out
    # the PDF embeds exactly the JSON file, and the drawn PDF is a byte-exact prefix
    data = pdf.read_bytes()
    assert extract_bundle(data) == js.read_bytes()
    seal = load_bundle(js)["seal"]
    assert attach_bundle(data[: seal["pdf_size"]], js.read_bytes()) == data


def test_changed_examiner_fails_and_says_what_differs(signed, evidence, keys, tmp_path, capsys):
    js, pdf = signed
    _, _, trusted = keys
    forged = load_bundle(js)
    forged["case"]["examiner"] = "Someone Else"
    forged["bundle_sha256"] = bundle_hash(forged)
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged), encoding="utf-8")
    rc, out = _verify(capsys, path, evidence, "--trusted-keys", trusted, "--pdf", pdf)
    assert rc == 1
    assert "MISMATCH seal/bundle_sha256" in out
    assert "pdf vs json: case/examiner: PDF's 'Dr. Ada Example', JSON's 'Someone Else'" in out
    # without a trusted key the broken seal still fails
    assert _verify(capsys, path, evidence)[0] == 1


def test_flipped_pdf_byte_and_re_rendered_pdf_fail(signed, evidence, keys, tmp_path, capsys):
    js, pdf = signed
    _, _, trusted = keys
    data = bytearray(pdf.read_bytes())
    seal = load_bundle(js)["seal"]
    data[seal["pdf_size"] // 2] ^= 0x01  # a byte of the drawn pages
    flipped = tmp_path / "flipped.pdf"
    flipped.write_bytes(bytes(data))
    rc, out = _verify(capsys, flipped, evidence, "--trusted-keys", trusted)
    assert rc == 1 and "the PDF was changed or re-rendered" in out
    # a PDF drawn from a forged bundle, carrying the genuine signed bundle
    from forensics.report.pdf import render_pdf

    forged = load_bundle(js)
    forged["case"]["examiner"] = "Someone Else"
    forged["figures"] = []  # the forger redraws without the figure images (render_pdf checks each against its hash)
    forged.pop("seal")
    forged["bundle_sha256"] = bundle_hash(forged)
    redrawn = tmp_path / "redrawn.pdf"
    redrawn.write_bytes(attach_bundle(render_pdf(forged), js.read_bytes()))
    rc, out = _verify(capsys, redrawn, evidence, "--trusted-keys", trusted)
    assert rc == 1 and "the PDF was changed or re-rendered" in out


def test_appended_update_after_the_seal_fails(signed, evidence, keys, tmp_path, capsys):
    _, pdf = signed
    _, _, trusted = keys
    data = pdf.read_bytes()
    extra = tmp_path / "appended.pdf"
    extra.write_bytes(data + b"4 0 obj\n<< /Length 0 >>\nstream\n\nendstream\nendobj\n")
    rc, out = _verify(capsys, extra, evidence, "--trusted-keys", trusted)
    assert rc == 1 and "bytes were added after the sealed PDF" in out


def test_untrusted_or_stripped_signature_fails(evidence, keys, signed, tmp_path, capsys):
    store, ks, trusted = keys
    js_m, pdf_m = _report(evidence, tmp_path / "m", "--sign", ks["Mallory"], "--keys-dir", str(store))
    rc, out = _verify(capsys, pdf_m, evidence, "--trusted-keys", trusted)
    assert rc == 1 and "is not among the trusted keys" in out
    stripped = load_bundle(signed[0])
    stripped["seal"]["signature"] = None
    path = tmp_path / "stripped.json"
    path.write_text(json.dumps(stripped), encoding="utf-8")
    rc, out = _verify(capsys, path, evidence)
    assert rc == 1 and "the signature was removed" in out


def test_unsigned_report_verifies_as_unsigned_unless_a_key_is_required(evidence, keys, tmp_path, capsys):
    _, _, trusted = keys
    js, pdf = _report(evidence, tmp_path / "u")
    rc, out = _verify(capsys, pdf, evidence)
    assert rc == 0 and "signature: unsigned" in out
    rc, out = _verify(capsys, js, evidence, "--trusted-keys", trusted)
    assert rc == 1 and "a signature by a trusted key was required" in out


def test_the_log_export_entry_is_consulted(signed, evidence, tmp_path, capsys):
    js, pdf = signed
    capsys.readouterr()
    assert main(["verify-report", str(pdf), str(evidence), "--case-db", str(js.parent / "cases.sqlite")]) == 0
    other = tmp_path / "other.sqlite"
    from forensics.cases.audit import CaseLog

    with CaseLog(other) as cl:
        cl.append("analysis", {"x": 1})
    assert main(["verify-report", str(js), str(evidence), "--case-db", str(other)]) == 1
    assert "no export entry for bundle" in capsys.readouterr().out


def test_a_second_report_never_overwrites_the_first(evidence, tmp_path):
    """Attack 6: the same case into the same folder twice keeps both reports, each logged."""
    out = tmp_path / "twice"
    first_json, first_pdf = _report(evidence, out)
    first = (first_json.read_bytes(), first_pdf.read_bytes())
    _report(evidence, out)
    jsons, pdfs = sorted(out.glob("*.json")), sorted(out.glob("*.pdf"))
    assert len(jsons) == len(pdfs) == 2
    assert (first_json.read_bytes(), first_pdf.read_bytes()) == first
    assert not list(out.glob(".report-*"))  # no temporary file left behind
    from forensics.cases.audit import CaseLog

    with CaseLog(out / "cases.sqlite") as log:
        exported = {e.payload["bundle"] for e in log.entries() if e.kind == "export"}
    assert exported == {p.name for p in jsons}


def test_an_unusable_case_log_leaves_no_report_file(evidence, tmp_path, capsys):
    """Attack 6: with a case database that cannot be used, nothing is written (before: PDF and JSON, then exit 4)."""
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not SQLite " * 100)
    out = tmp_path / "rep"
    rc = main(
        [
            "report",
            str(evidence),
            "--out",
            str(out),
            *QUICK_REPORT_OPTIONS,
            "--case-db",
            str(bad),
        ]
    )
    assert rc == 4
    assert not list(out.glob("*")) if out.exists() else True
    assert bad.read_bytes() == b"this is not SQLite " * 100
