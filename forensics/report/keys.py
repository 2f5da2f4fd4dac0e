"""Examiner and lab signing keys (Ed25519, through the ``cryptography`` package).

A key store is a folder (``--keys-dir``, else ``FORENSICS_KEYS_DIR``, else ``~/.config/forensics/keys``) holding,
per key, ``<key_id>.key.pem`` (the private key, PKCS#8 PEM, file mode 0600; encrypted with the passphrase in
``FORENSICS_KEY_PASSPHRASE`` when that is set at creation) and ``<key_id>.pub.json`` (the public key, the name of
its holder and its creation time). ``key_id`` is the first 16 hex digits of the SHA-256 of the raw 32-byte public
key. A folder of trusted keys is any folder of ``.pub.json`` files: the name a verifier prints is the one in the
trusted file, never the one a report claims.

Example:
    >>> pub = create_key("A. Analyst", directory="keys")                     # doctest: +SKIP
    >>> export_public(pub.key_id, directory="keys").name                      # doctest: +SKIP
    'A. Analyst'
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forensics.errors import ForensicsError

KEY_SCHEMA = "forensics.public-key/1"
ALGORITHM = "Ed25519"
PASSPHRASE_ENV = "FORENSICS_KEY_PASSPHRASE"


def keys_dir(directory: str | Path | None = None) -> Path:
    """The key store: ``directory``, else ``FORENSICS_KEYS_DIR``, else ``~/.config/forensics/keys``."""
    if directory is not None:
        return Path(directory)
    env = os.environ.get("FORENSICS_KEYS_DIR")
    return Path(env) if env else Path.home() / ".config" / "forensics" / "keys"


def key_id_of(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key and the name of its holder."""

    key_id: str
    name: str
    created_utc: str
    raw: bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": KEY_SCHEMA,
            "algorithm": ALGORITHM,
            "key_id": self.key_id,
            "name": self.name,
            "created_utc": self.created_utc,
            "public_key": base64.b64encode(self.raw).decode("ascii"),
        }

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is this key's Ed25519 signature of ``message``."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def public_key_from_dict(d: dict[str, Any], *, source: str = "public key") -> PublicKey:
    try:
        if d.get("schema") != KEY_SCHEMA or d.get("algorithm") != ALGORITHM:
            raise ValueError(f"not a {KEY_SCHEMA} {ALGORITHM} key")
        raw = base64.b64decode(d["public_key"], validate=True)
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key has 32 bytes")
        pk = PublicKey(key_id=str(d["key_id"]), name=str(d["name"]), created_utc=str(d.get("created_utc", "")), raw=raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise ForensicsError(
            f"{source} is not a usable public key ({exc}): export one with `python -m forensics keys export KEY_ID`"
        ) from exc
    if key_id_of(raw) != pk.key_id:
        raise ForensicsError(f"{source}: key_id {pk.key_id} does not match its public key ({key_id_of(raw)})")
    return pk


def load_public(path: str | Path) -> PublicKey:
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ForensicsError(f"cannot read public key {path}: {exc}") from exc
    return public_key_from_dict(d, source=str(path))


def trusted_keys(paths: list[str | Path]) -> dict[str, PublicKey]:
    """Public keys by key id from files and folders (every ``*.pub.json`` in a folder)."""
    out: dict[str, PublicKey] = {}
    for p in map(Path, paths):
        files = sorted(p.glob("*.pub.json")) if p.is_dir() else [p]
        if p.is_dir() and not files:
            raise ForensicsError(f"{p} holds no *.pub.json public key: export keys with `forensics keys export`")
        for f in files:
            k = load_public(f)
            out[k.key_id] = k
    return out


def create_key(name: str, *, directory: str | Path | None = None) -> PublicKey:
    """A new Ed25519 key pair in the key store; returns its public half."""
    import datetime as _dt

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not name.strip():
        raise ForensicsError("a key needs the name of its holder (examiner or lab): pass --name")
    d = keys_dir(directory)
    d.mkdir(parents=True, exist_ok=True)
    priv = Ed25519PrivateKey.generate()
    raw = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pub = PublicKey(
        key_id_of(raw),
        name.strip(),
        _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        raw,
    )
    passphrase = os.environ.get(PASSPHRASE_ENV)
    enc = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    pem = priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    fd = os.open(d / f"{pub.key_id}.key.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    (d / f"{pub.key_id}.pub.json").write_text(json.dumps(pub.to_dict(), indent=2) + "\n", encoding="utf-8")
    return pub


def list_keys(directory: str | Path | None = None) -> list[tuple[PublicKey, bool]]:
    """Every public key of the store and whether its private key is there too."""
    d = keys_dir(directory)
    if not d.is_dir():
        return []
    return [(k, (d / f"{k.key_id}.key.pem").is_file()) for k in (load_public(f) for f in sorted(d.glob("*.pub.json")))]


def export_public(key_id: str, *, directory: str | Path | None = None) -> PublicKey:
    d = keys_dir(directory)
    matches = sorted(d.glob(f"{key_id}*.pub.json")) if key_id else []
    if len(matches) != 1:
        raise ForensicsError(
            f"{'no' if not matches else 'more than one'} key {key_id!r} in {d}: "
            "`python -m forensics keys list` shows the key ids"
        )
    return load_public(matches[0])


def load_signing_key(key: str, *, directory: str | Path | None = None) -> tuple[Any, PublicKey]:
    """(Ed25519PrivateKey, PublicKey) of a key id (or unique prefix) in the key store."""
    from cryptography.hazmat.primitives import serialization

    pub = export_public(key, directory=directory)
    path = keys_dir(directory) / f"{pub.key_id}.key.pem"
    if not path.is_file():
        raise ForensicsError(
            f"the private key of {pub.key_id} ({pub.name}) is not in {path.parent}: only its holder can sign with it"
        )
    passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        priv = serialization.load_pem_private_key(path.read_bytes(), passphrase.encode() if passphrase else None)
    except (TypeError, ValueError) as exc:
        raise ForensicsError(f"cannot open private key {path} ({exc}): set {PASSPHRASE_ENV} to its passphrase") from exc
    raw = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if key_id_of(raw) != pub.key_id:
        raise ForensicsError(f"{path} does not belong to the public key {pub.key_id}: the key store is damaged")
    return priv, pub
