"""``python -m forensics keys create|list|export``: Ed25519 keys that sign reports (forensics.report.keys)."""

from __future__ import annotations

NAME = "keys"
HELP = "create, list and export the Ed25519 keys that sign reports (examiner or lab keys)"


def add_arguments(p) -> None:
    p.add_argument("action", choices=["create", "list", "export"])
    p.add_argument("key_id", nargs="?", default=None, help="export: the key id (or a unique prefix)")
    p.add_argument("--name", default=None, help="create: the key holder's name (examiner or lab), printed on reports")
    p.add_argument(
        "--keys-dir", default=None, help="key store (default: FORENSICS_KEYS_DIR or ~/.config/forensics/keys)"
    )
    p.add_argument("--out", default=None, help="export: write the public key to this file (default: print it)")


def run(args) -> int:
    import json
    from pathlib import Path

    from forensics.cli import EXIT_USAGE
    from forensics.report.keys import PASSPHRASE_ENV, create_key, export_public, keys_dir, list_keys

    if args.action == "create":
        if not args.name:
            print("error: keys create needs --name 'holder of the key'")
            return EXIT_USAGE
        pub = create_key(args.name, directory=args.keys_dir)
        print(
            f"created key {pub.key_id} for {pub.name} in {keys_dir(args.keys_dir)}"
            f" (private key {'encrypted with ' + PASSPHRASE_ENV if _env(PASSPHRASE_ENV) else 'not encrypted'})"
        )
        print(f"sign reports with: python -m forensics report ... --sign {pub.key_id}")
        print(f"give verifiers:    python -m forensics keys export {pub.key_id} --out {pub.key_id}.pub.json")
        return 0
    if args.action == "list":
        keys = list_keys(args.keys_dir)
        if not keys:
            print(f"no keys in {keys_dir(args.keys_dir)}: create one with `keys create --name NAME`")
        for k, private in keys:
            print(f"{k.key_id}  {k.name}  created {k.created_utc}  {'private+public' if private else 'public only'}")
        return 0
    if not args.key_id:
        print("error: keys export needs the key id (see `keys list`)")
        return EXIT_USAGE
    text = json.dumps(export_public(args.key_id, directory=args.keys_dir).to_dict(), indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def _env(name: str) -> bool:
    import os

    return bool(os.environ.get(name))
