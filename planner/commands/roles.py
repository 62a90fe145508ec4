"""`roles list | set EMAIL ROLE [--rep REP] | remove EMAIL`: who may sign in to the dashboard, and as what.

Roles: admin (imports, commits scenarios, manages roles), leader (sees everything, makes scenarios),
rep (sees only their own territory). Active reps whose CRM email matches sign in as that rep without
a roles entry. Whoever can run this command can write the store file, so it acts as an admin.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from planner import roles, store
from planner.scope import ROLES, Scope
from planner.text import one_line


def cli_scope() -> Scope:
    """The CLI's caller: an admin, named after the OS user for the audit log."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Scope(role="admin", user=f"cli:{who}")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("roles", help="list, set or remove dashboard roles", description=__doc__)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    ls = actions.add_parser("list", help="everyone who can sign in, with role and source")
    ls.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    st = actions.add_parser("set", help="give an email a role")
    st.add_argument("email", help="the sign-in email (as the identity provider reports it)")
    st.add_argument("role", type=str.lower, choices=(*ROLES, roles.NO_ACCESS),
                    help="admin, leader or rep (any case); none: no access, not even by a rep's CRM email")  # fmt: skip
    st.add_argument(
        "--rep", metavar="REP", help="for the rep role: the rep whose territory they see (id, email or name)"
    )
    rm = actions.add_parser("remove", help="delete an email's role")
    rm.add_argument("email")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    scope = cli_scope()
    if args.action == "list":
        with store.read(args.db_path) as con:
            df = roles.list_roles(con, scope=scope)
        if args.json:
            for row in df.to_dict("records"):
                print(json.dumps({k: (None if v != v else v) for k, v in row.items()}))
        elif len(df) == 0:
            print("nobody yet: add someone with `python -m planner roles set EMAIL ROLE`", file=sys.stderr)
        else:
            shown = df.fillna("").astype(str).map(lambda v: one_line(v, None))  # a name across lines: one row
            widths = {c: max(len(c), int(shown[c].str.len().max())) for c in shown.columns}
            print("  ".join(c.ljust(widths[c]) for c in shown.columns).rstrip())
            for row in shown.itertuples(index=False):
                print("  ".join(str(v).ljust(widths[c]) for c, v in zip(shown.columns, row, strict=True)).rstrip())
        return 0
    if args.action == "set":
        result = roles.set_role(args.db_path, args.email, args.role, args.rep, scope=scope)
        if result is None:
            print(
                f"{roles.normalize_email(args.email)} has no access now (not even by a rep's CRM email)",
                file=sys.stderr,
            )
            return 0
        suffix = f" (territory {result.rep_id})" if result.rep_id else ""
        print(f"{result.user} is now {result.role}{suffix}", file=sys.stderr)
        return 0
    roles.remove_role(args.db_path, args.email, scope=scope)
    print(f"removed the role of {roles.normalize_email(args.email)}", file=sys.stderr)
    return 0
