"""The seal of a report: the PDF's hash and an optional Ed25519 signature, and the bundle embedded in the PDF.

Order of writing (``forensics.report.build.write_report``):

1. the bundle is hashed (``bundle_sha256`` covers everything in it: case, examiner, notes, evidence, results, the
   case log's head and the signer's key id), and the PDF is drawn from it (bytes ``P``);
2. the seal records ``bundle_sha256``, ``sha256(P)`` and ``len(P)`` and, with a key, signs exactly those fields
   (``signed_fields``, canonical JSON) with Ed25519;
3. the JSON file is the bundle plus the seal; the PDF file is ``P`` followed by one PDF *incremental update* that
   adds that JSON as the attachment ``report-bundle.json`` (an EmbeddedFile in the catalog's EmbeddedFiles name tree).

The incremental update only appends bytes, so ``P`` stays a byte-exact prefix of the final PDF and its hash, which
the signature covers, can be checked from the PDF alone: take the first ``pdf_size`` bytes. The appended part is
rebuilt from that prefix and the attachment and must equal the file's tail byte for byte, so nothing else (no
second update that changes what a viewer shows) can be appended unnoticed.

Example:
    >>> seal = make_seal(bundle, pdf_bytes, signing=load_signing_key("3f9c"))   # doctest: +SKIP
    >>> final_pdf = attach_bundle(pdf_bytes, dumps_bundle({**bundle, "seal": seal}))  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from forensics.cases.audit import sha256_hex
from forensics.errors import ForensicsError
from forensics.jsonio import canonical_json
from forensics.report.keys import ALGORITHM, PublicKey, key_id_of
from forensics.report.rules import HASH_KEY, SEAL_KEY

SEAL_SCHEMA = "forensics.report-seal/1"
ATTACHMENT_NAME = "report-bundle.json"
SIGNED_FIELDS = ("schema", "bundle_sha256", "pdf_sha256", "pdf_size", "sealed_utc", "key_id", "signer")


def signed_message(seal: Mapping[str, Any]) -> bytes:
    """The bytes the signature covers: canonical JSON of the signed fields (signature fields included)."""
    sig = seal.get("signature") or {}
    body = {k: seal.get(k) for k in SIGNED_FIELDS[:5]}
    body.update(key_id=sig.get("key_id"), signer=sig.get("signer"))
    return canonical_json(body)


def make_seal(
    bundle: Mapping[str, Any],
    pdf: bytes,
    *,
    signing: tuple[Any, PublicKey] | None = None,
    sealed_utc: str | None = None,
) -> dict[str, Any]:
    """The seal of a bundle and its drawn PDF; ``signing``: (private key, public key) from ``load_signing_key``."""
    from forensics.report.bundle import utc_now

    seal: dict[str, Any] = {
        "schema": SEAL_SCHEMA,
        "bundle_sha256": bundle[HASH_KEY],
        "pdf_sha256": sha256_hex(pdf),
        "pdf_size": len(pdf),
        "sealed_utc": sealed_utc or utc_now(),
        "signature": None,
    }
    if signing is not None:
        priv, pub = signing
        seal["signature"] = {
            "algorithm": ALGORITHM,
            "key_id": pub.key_id,
            "signer": pub.name,
            "public_key": base64.b64encode(pub.raw).decode("ascii"),
        }
        seal["signature"]["value"] = base64.b64encode(priv.sign(signed_message(seal))).decode("ascii")
    return seal


# --------------------------------------------------------------------------------------------- PDF attachment
def attach_bundle(pdf: bytes, payload: bytes) -> bytes:
    """``pdf`` plus an incremental update adding ``payload`` as the attachment ``report-bundle.json``.

    Deterministic: the same inputs give the same bytes (verification rebuilds the update and compares).
    Works on the classic cross-reference table fpdf2 writes.
    """
    trailer = _last_trailer(pdf)
    size = int(_field(trailer, rb"/Size\s+(\d+)"))
    root = int(_field(trailer, rb"/Root\s+(\d+)\s+0\s+R"))
    prev = int(_field(pdf[pdf.rfind(b"startxref") :], rb"startxref\s+(\d+)"))
    catalog = _catalog_dict(pdf, root)
    if b"/EmbeddedFiles" in catalog or b"/AF" in catalog:
        raise ForensicsError("the PDF already carries attachments: attach the bundle to the PDF as drawn")
    name = ATTACHMENT_NAME.encode()
    ef, spec, tree = size, size + 1, size + 2
    objects = {
        ef: b"<< /Type /EmbeddedFile /Subtype /application#2Fjson /Length %d /Params << /Size %d >> >>\nstream\n"
        % (len(payload), len(payload))
        + payload
        + b"\nendstream",
        spec: b"<< /Type /Filespec /F (%s) /UF (%s) /EF << /F %d 0 R >> /AFRelationship /Data "
        b"/Desc (report bundle with its seal: forensics verify-report) >>" % (name, name, ef),
        tree: b"<< /Names [(%s) %d 0 R] >>" % (name, spec),
        root: catalog[:-2].rstrip() + b"\n/Names << /EmbeddedFiles %d 0 R >>\n/AF [%d 0 R]\n>>" % (tree, spec),
    }
    out = bytearray(pdf if pdf.endswith(b"\n") else pdf + b"\n")
    offsets = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n%d 1\n%010d 00000 n \n%d 3\n" % (root, offsets[root], ef)
    for num in (ef, spec, tree):
        out += b"%010d 00000 n \n" % offsets[num]
    extra = b""
    for pat in (rb"/Info\s+\d+\s+0\s+R", rb"/ID\s*\[[^\]]*\]"):
        m = re.search(pat, trailer)
        if m:
            extra += b"\n" + m.group(0)
    out += b"trailer\n<<\n/Size %d\n/Root %d 0 R%s\n/Prev %d\n>>\nstartxref\n%d\n%%%%EOF\n" % (
        size + 3,
        root,
        extra,
        prev,
        xref,
    )
    return bytes(out)


def _last_trailer(pdf: bytes) -> bytes:
    i = pdf.rfind(b"trailer")
    j = pdf.find(b"startxref", i)
    if i < 0 or j < 0:
        raise ForensicsError(
            "not a PDF with a classic cross-reference table: attach the bundle to the PDF that forensics drew"
        )
    return pdf[i:j]


def _field(text: bytes, pattern: bytes) -> bytes:
    m = re.search(pattern, text)
    if not m:
        raise ForensicsError(f"PDF trailer has no {pattern.decode()!r}: the file is damaged or not from forensics")
    return m.group(1)


def _catalog_dict(pdf: bytes, num: int) -> bytes:
    found = list(re.finditer(rb"(?:^|\n)%d 0 obj\s*" % num, pdf))
    if not found:
        raise ForensicsError(f"PDF catalog object {num} not found")
    m = found[-1]  # the newest definition of the object wins
    end = pdf.find(b"endobj", m.end())
    body = pdf[m.end() : end].strip()
    if not (body.startswith(b"<<") and body.endswith(b">>")):
        raise ForensicsError("PDF catalog is not a plain dictionary")
    return body


def extract_bundle(pdf: bytes) -> bytes | None:
    """The ``report-bundle.json`` attachment of a PDF (read with pypdf, an independent parser), or None."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        files = PdfReader(io.BytesIO(pdf)).attachments
        data = files.get(ATTACHMENT_NAME)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ForensicsError(f"cannot read the PDF ({exc}): pass the PDF written by `report`") from exc
    return bytes(data[0]) if data else None


# --------------------------------------------------------------------------------------------- checking
@dataclass
class SealCheck:
    """``status``: "signed" (by a trusted key), "signed (untrusted key)", "unsigned" or "no seal"; ``signer``: the
    holder named by the trusted key file. ``problems`` make verification fail; ``notes`` do not."""

    status: str
    signer: str | None = None
    key_id: str | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_seal(doc: Mapping[str, Any], *, trusted: Mapping[str, PublicKey] | None = None) -> SealCheck:
    """Check a bundle file's seal: it seals this bundle's content, the signature verifies, the key is trusted.

    ``trusted``: key id -> PublicKey (``keys.trusted_keys``); None = no trust anchor given (a signature is then
    checked with the key it carries and reported as not verified against a trusted key; an unsigned report passes).
    With trusted keys, an unsigned report fails.
    """
    from forensics.report.bundle import bundle_hash

    seal = doc.get(SEAL_KEY)
    claimed = doc.get("signer")
    content = bundle_hash(doc)
    if not isinstance(seal, Mapping):
        res = SealCheck("no seal")
        res.notes.append("the bundle has no seal: no PDF hash or signature is recorded")
        if claimed:
            res.problems.append(
                f"signer: the bundle names key {claimed.get('key_id')} ({claimed.get('name')}) but "
                "carries no seal: the signature was removed"
            )
        if trusted is not None:
            res.problems.append("signature: the report is unsigned, but a signature by a trusted key was required")
        return res
    sig = seal.get("signature")
    res = SealCheck("unsigned" if not sig else "signed")
    if seal.get("schema") != SEAL_SCHEMA:
        res.problems.append(f"seal: unknown schema {seal.get('schema')!r}")
    if seal.get(HASH_KEY) != content:
        res.problems.append(
            f"seal/bundle_sha256: sealed {seal.get(HASH_KEY)}, the bundle's content hashes to "
            f"{content} (the bundle was changed after it was sealed" + (" and signed)" if sig else ")")
        )
    if not sig:
        if claimed:
            res.problems.append(
                f"signer: the bundle names key {claimed.get('key_id')} ({claimed.get('name')}) but "
                "the seal carries no signature: the signature was removed"
            )
        if trusted is not None:
            res.problems.append("signature: the report is unsigned, but a signature by a trusted key was required")
        return res
    _check_signature(res, seal, sig, claimed, trusted)
    return res


def _check_signature(
    res: SealCheck,
    seal: Mapping[str, Any],
    sig: Mapping[str, Any],
    claimed: Mapping[str, Any] | None,
    trusted: Mapping[str, PublicKey] | None,
) -> None:
    """Add to ``res`` what is wrong with the seal's signature ``sig``: malformed, wrong algorithm or key id, another
    signer than the bundle names, an untrusted key, or a signature that does not verify."""
    try:
        raw = base64.b64decode(sig["public_key"], validate=True)
        value = base64.b64decode(sig["value"], validate=True)
        key_id = str(sig["key_id"])
    except (KeyError, TypeError, ValueError) as exc:
        res.problems.append(f"signature: malformed ({exc})")
        return
    res.key_id = key_id
    if sig.get("algorithm") != ALGORITHM:
        res.problems.append(f"signature: algorithm {sig.get('algorithm')!r}, expected {ALGORITHM}")
    if key_id_of(raw) != key_id:
        res.problems.append(f"signature: key id {key_id} does not match the public key it carries")
    if not claimed or claimed.get("key_id") != key_id:
        res.problems.append(
            f"signer: the bundle names key {(claimed or {}).get('key_id')}, the signature is by {key_id}"
        )
    if trusted is None:
        key = PublicKey(key_id, str(sig.get("signer")), "", raw)
        res.notes.append(
            f"signature checked with the key the report carries ({key_id}, claims {sig.get('signer')!r});"
            " not checked against a trusted key: pass --public-key or --trusted-keys"
        )
    else:
        trusted_key = trusted.get(key_id)
        if trusted_key is None or trusted_key.raw != raw:
            res.status = "signed (untrusted key)"
            res.problems.append(f"signature: key {key_id} (claims {sig.get('signer')!r}) is not among the trusted keys")
            return
        key = trusted_key
        res.signer = key.name
        if sig.get("signer") != key.name:
            res.problems.append(f"signature: claims signer {sig.get('signer')!r}, the trusted key names {key.name!r}")
    if not key.verify(value, signed_message(seal)):
        res.problems.append("signature: does not verify (the seal's hashes or signer were changed after signing)")


def check_pdf(pdf: bytes, doc: Mapping[str, Any] | None = None) -> tuple[dict[str, Any] | None, list[str]]:
    """(the bundle file embedded in ``pdf``, problems). With ``doc`` (a bundle file given separately), the PDF must
    embed that same bundle and seal; differences are listed field by field."""
    problems: list[str] = []
    payload = extract_bundle(pdf)
    if payload is None:
        problems.append(
            f"pdf: carries no {ATTACHMENT_NAME} attachment: not a PDF written by `report` (or it was "
            "re-rendered or re-saved)"
        )
        if (
            doc is not None
            and isinstance(doc.get(SEAL_KEY), Mapping)
            and sha256_hex(pdf) != doc[SEAL_KEY].get("pdf_sha256")
        ):
            problems.append(f"pdf: sha256 {sha256_hex(pdf)} differs from the sealed {doc[SEAL_KEY].get('pdf_sha256')}")
        return None, problems
    try:
        embedded = json.loads(payload.decode("utf-8"))
    except ValueError as exc:
        return None, [f"pdf: the embedded bundle is not JSON ({exc})"]
    seal = embedded.get(SEAL_KEY) if isinstance(embedded, dict) else None
    if not isinstance(seal, Mapping) or not isinstance(seal.get("pdf_size"), int):
        return embedded, ["pdf: the embedded bundle has no seal with the PDF's size and hash"]
    n = seal["pdf_size"]
    drawn = pdf[:n]
    if sha256_hex(drawn) != seal.get("pdf_sha256"):
        problems.append(
            f"pdf: the drawn pages (first {n} bytes) hash to {sha256_hex(drawn)}, the seal says "
            f"{seal.get('pdf_sha256')}: the PDF was changed or re-rendered"
        )
    elif attach_bundle(drawn, payload) != pdf:
        problems.append(
            "pdf: bytes were added after the sealed PDF besides the bundle attachment (e.g. an "
            "incremental update that changes what a viewer shows)"
        )
    if doc is not None:
        from forensics.report.compare import diff_exact

        problems += [f"pdf vs json: {d}" for d in diff_exact(embedded, doc, names=("PDF's", "JSON's"))]
    return embedded, problems
