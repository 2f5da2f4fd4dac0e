"""``python -m forensics <command> ...``: one sub-command per module in ``forensics/commands/``.

Each command module defines ``NAME``, ``HELP`` (plain string literals: the parser reads them from the source, so that
only the command that runs is imported), ``add_arguments(parser)`` and ``run(args) -> int``.
Exit codes: 0 ok, 2 usage error, 3 unreadable input, 4 other ForensicsError (missing weights, not applicable...),
1 a verification that ran and failed.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import pkgutil
import sys
from pathlib import Path

from forensics.errors import BadImageError, ForensicsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BAD_INPUT, EXIT_ERROR = 0, 1, 2, 3, 4
COMMANDS_DIR = Path(__file__).with_name("commands")


@functools.lru_cache(maxsize=1)
def command_index() -> dict[str, tuple[str, str]]:
    """NAME -> (module, HELP) of every command, read from the sources without importing them."""
    out: dict[str, tuple[str, str]] = {}
    for info in sorted(pkgutil.iter_modules([str(COMMANDS_DIR)]), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        tree = ast.parse((COMMANDS_DIR / f"{info.name}.py").read_text(encoding="utf-8"))
        found = {
            t.id: ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name) and t.id in ("NAME", "HELP")
        }
        out[str(found["NAME"])] = (info.name, str(found["HELP"]))
    return out


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (its options and ``run``), the others are named with their
    help."""
    parser = argparse.ArgumentParser(prog="python -m forensics", description="Face-forensics workbench")
    parser.add_argument("--threads", type=int, default=None, help="cap torch threads (default: FORENSICS_THREADS)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in command_index().items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            mod = importlib.import_module(f"forensics.commands.{module}")
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
    return parser


def _command_of(argv: list[str] | None) -> str | None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads")
    pre.add_argument("command", nargs="?")
    known, _ = pre.parse_known_args(sys.argv[1:] if argv is None else argv)
    return known.command


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(_command_of(argv))
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
