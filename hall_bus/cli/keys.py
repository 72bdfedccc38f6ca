"""`hallctl keys init|add|revoke|list`: CURVE keys and node enrolment."""

from __future__ import annotations

import argparse

from hall_bus.cli.common import node_role
from hall_bus.config import load_config
from hall_bus.errors import UserError
from hall_bus.wire.keys import ROLES, KeyStore


def _keys(args: argparse.Namespace) -> int:
    store = KeyStore(args.keys)
    if args.keys_command == "init":
        path = store.init()
        print(f"server key pair made in {store.dir}; give {path} to every node")
    elif args.keys_command == "add":
        if args.config:
            role, _ = node_role(load_config(args.config), args.node)
            if role != args.role:
                raise UserError(f"node {args.node} is a {role} in the hall configuration, not a {args.role}")
        secret = store.add(args.node, args.role)
        print(f"enrolled {args.node} as {args.role}; copy {secret} and {store.server_public_path()} to that node")
    elif args.keys_command == "revoke":
        store.revoke(args.node)
        print(f"revoked {args.node}; the server refuses it within a second, no restart needed")
    else:
        for node, role, state in store.listing():
            print(f"{node:<16}{role:<10}{state}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = sub.add_parser("keys", help="CURVE keys: server pair, node enrolment and revocation")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    for name, text in (("init", "make the server key pair"), ("add", "make and enrol a node's key pair"),
                       ("revoke", "revoke a node (takes effect without restart)"), ("list", "list enrolled nodes")):
        kp = keys_sub.add_parser(name, help=text)
        kp.add_argument("--keys", default="data/keys", help="key directory (default data/keys)")
        if name in ("add", "revoke"):
            kp.add_argument("node")
        if name == "add":
            kp.add_argument("--role", required=True, choices=ROLES)
            kp.add_argument("--config", help="check the node's role against this hall configuration")
        kp.set_defaults(handler=_keys)
