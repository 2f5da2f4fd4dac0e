"""``python -m forensics merge-scans OUT SHARD...``: combine per-shard scan stores into one."""

from __future__ import annotations

NAME = "merge-scans"
HELP = "combine the result stores of a sharded (distributed) scan into one store"


def add_arguments(p) -> None:
    p.add_argument("out", help="combined store (created if missing)")
    p.add_argument("shards", nargs="+", help="stores written by `scan --shard K/N`")


def run(args) -> int:
    from forensics.scan.store import ScanStore

    with ScanStore(args.out) as store:
        for shard in args.shards:
            print(f"{shard}: {store.merge_from(shard)} images added")
        print(f"{args.out}: {store.counts()}")
    return 0
