"""``python -m forensics users add|disable|enable|list``: the dashboard's local accounts (forensics.cases.accounts)."""

from __future__ import annotations

NAME = "users"
HELP = "add, disable, enable and list the dashboard's accounts (roles: analyst, reviewer, admin)"


def add_arguments(p) -> None:
    p.add_argument("action", choices=["add", "disable", "enable", "list"])
    p.add_argument("username", nargs="?", default=None, help="add/disable/enable: the account's name")
    p.add_argument("--role", default="analyst", choices=["analyst", "reviewer", "admin"], help="add: the role")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="add: read the password from the first line of standard input (else it is prompted for)",
    )
    p.add_argument("--db", default=None, help="database URL (default: FORENSICS_DB_URL or SQLite in the cache)")


def run(args) -> int:
    import getpass
    import sys

    from forensics.cases import accounts
    from forensics.cases.workbench import Workbench
    from forensics.cli import EXIT_USAGE

    wb = Workbench(args.db)
    try:
        if args.action == "list":
            users = accounts.list_users(wb)
            if not users:
                print(
                    "no accounts: the dashboard runs in single-user mode on localhost only "
                    "(add one with `users add NAME --role admin`)"
                )
            for u in users:
                print(f"{u.username}\t{u.role}\t{'disabled' if u.disabled else 'enabled'}\tcreated {u.created_at}")
            return 0
        if not args.username:
            print(f"error: users {args.action} needs a user name", file=sys.stderr)
            return EXIT_USAGE
        if args.action == "add":
            if args.password_stdin:
                password = sys.stdin.readline().rstrip("\r\n")
            else:
                password = getpass.getpass(f"password for {args.username}: ")
                if getpass.getpass("again: ") != password:
                    print("error: the two passwords differ", file=sys.stderr)
                    return EXIT_USAGE
            u = accounts.add_user(wb, args.username, password, args.role)
            print(f"added {u.username} ({u.role})")
        else:
            accounts.set_disabled(wb, args.username, args.action == "disable")
            print(f"{args.action}d {args.username}")
        return 0
    finally:
        wb.close()
