"""`hallctl keys init|add|revoke|list`: CURVE keys and node enrolment.

A key says who a node is; the hall configuration says what it may do. So `add` takes the node's role and window
from `--config` and refuses a node the configuration does not know: a key for it would be useless, and a typo
would otherwise go unnoticed until the node is refused on the hall floor.
"""

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
        role, counter = node_role(load_config(args.config), args.node)
        if args.role is not None and role != args.role:
            raise UserError(f"node {args.node} is a {role} in the hall configuration, not a {args.role} "
                            "(the role comes from the configuration; --role only checks it)")
        secret = store.add(args.node, replace=args.replace)
        what = role if counter is None else f"{role} of window {counter}"
        verb = "issued a new key for" if args.replace else "enrolled"
        print(f"{verb} {args.node} ({what}, from {args.config}); copy {secret} and {store.server_public_path()} "
              "to that node")
    elif args.keys_command == "revoke":
        store.revoke(args.node)
        print(f"revoked {args.node}; the server cuts it off within a heartbeat, no restart needed")
    else:
        roles = {}
        if args.config:
            roles = {n.id: n.role for n in load_config(args.config).nodes}
        for node, fingerprint, state in store.listing():
            role = roles.get(node, "NOT IN CONFIG" if args.config else "")
            print(f"{node:<16}{fingerprint:<10}{role:<14}{state}".rstrip())
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
            kp.add_argument("--config", required=True,
                            help="hall configuration: the node must be one of its [[nodes]]; role and window "
                                 "come from there")
            kp.add_argument("--role", choices=ROLES, help="check that the configuration gives the node this role")
            kp.add_argument("--replace", action="store_true",
                            help="issue a new key for an enrolled node; its old key stops working")
        if name == "list":
            kp.add_argument("--config", help="also show each node's role from this hall configuration")
        kp.set_defaults(handler=_keys)
