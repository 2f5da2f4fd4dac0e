"""``python -m forensics <command> ...``: one sub-command per module in ``forensics/commands/``.

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Exit codes: 0 ok, 2 usage error, 3 unreadable input, 4 other ForensicsError (missing weights, not applicable...),
1 a verification that ran and failed.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from forensics.errors import BadImageError, ForensicsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BAD_INPUT, EXIT_ERROR = 0, 1, 2, 3, 4


def _command_modules():
    import forensics.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"forensics.commands.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m forensics", description="Face-forensics workbench")
    parser.add_argument("--threads", type=int, default=None, help="cap torch threads (default: FORENSICS_THREADS)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.threads is not None:
        from forensics.device import configure_threads

        configure_threads(args.threads)
    try:
        return int(args._run(args) or 0)
    except BadImageError as exc:
        print(f"error: unreadable input: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ForensicsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
