"""CURVE keys for the hall bus: the server's pair, one pair per node, and the list of enrolled nodes with roles.

Layout of a key directory (default `data/keys`):

    server.key, server.key_secret     the server's certificate pair (zmq.auth format)
    nodes/<node>.key[_secret]         each node's pair; copy the node's files and server.key to that machine
    enrolled.json                     node -> role and public key; revoked nodes

The server re-reads `enrolled.json` when it changes, so `hallctl keys revoke` takes effect without a restart.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import zmq.auth

from hall_bus.errors import UserError

ROLES = ("kiosk", "greeter", "counter", "board", "display", "admin")
NODE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
REGISTRY = "enrolled.json"


class KeyFileError(UserError):
    """A key directory or key file problem the operator can fix."""


@dataclass(frozen=True, slots=True)
class Enrolled:
    node: str
    role: str
    public_key: bytes  # z85


class KeyStore:
    def __init__(self, directory: Path | str) -> None:
        self.dir = Path(directory)
        self._stamp: tuple[int, int] | None = None
        self._by_key: dict[bytes, Enrolled] = {}
        self._by_node: dict[str, Enrolled] = {}

    # ------------------------------------------------------------------ files

    @property
    def registry_path(self) -> Path:
        return self.dir / REGISTRY

    def server_public_path(self) -> Path:
        return self.dir / "server.key"

    def node_secret_path(self, node: str) -> Path:
        return self.dir / "nodes" / f"{node}.key_secret"

    def _read_registry(self) -> dict[str, Any]:
        try:
            data = json.loads(self.registry_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"nodes": {}, "revoked": {}}
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"{self.registry_path}: unreadable ({exc}); restore it from a backup") from None
        data.setdefault("nodes", {})
        data.setdefault("revoked", {})
        return data

    def _write_registry(self, data: dict[str, Any]) -> None:
        tmp = self.registry_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.registry_path)  # atomic: the server never reads half a file

    # ------------------------------------------------------------------ operator actions

    def init(self) -> Path:
        if (self.dir / "server.key_secret").exists():
            raise KeyFileError(f"{self.dir}: the server key pair already exists; remove it first to make a new one "
                            "(every node would need the new server.key)")
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        zmq.auth.create_certificates(self.dir, "server")
        if not self.registry_path.exists():
            self._write_registry({"nodes": {}, "revoked": {}})
        return self.dir / "server.key"

    def add(self, node: str, role: str) -> Path:
        if not NODE_ID.match(node):
            raise KeyFileError(f"node id {node!r}: use lower-case letters, digits, '-' and '_' (e.g. counter-5)")
        if role not in ROLES:
            raise KeyFileError(f"role {role!r}: must be one of {', '.join(ROLES)}")
        if not (self.dir / "server.key_secret").exists():
            raise KeyFileError(f"{self.dir}: no server key yet; run 'hallctl keys init' first")
        nodes_dir = self.dir / "nodes"
        nodes_dir.mkdir(exist_ok=True)
        public_file, _ = zmq.auth.create_certificates(nodes_dir, node)
        public, _ = zmq.auth.load_certificate(public_file)
        data = self._read_registry()
        data["nodes"][node] = {"role": role, "public_key": public.decode(),
                               "added": datetime.now(UTC).isoformat(timespec="seconds")}
        data["revoked"].pop(node, None)
        self._write_registry(data)
        return self.node_secret_path(node)

    def revoke(self, node: str) -> None:
        data = self._read_registry()
        if node not in data["nodes"]:
            raise KeyFileError(f"node {node!r} is not enrolled")
        del data["nodes"][node]
        data["revoked"][node] = datetime.now(UTC).isoformat(timespec="seconds")
        self._write_registry(data)

    def listing(self) -> list[tuple[str, str, str]]:
        data = self._read_registry()
        rows = [(n, v["role"], "enrolled") for n, v in sorted(data["nodes"].items())]
        rows += [(n, "-", f"revoked {when}") for n, when in sorted(data["revoked"].items())]
        return rows

    # ------------------------------------------------------------------ server side

    def refresh(self) -> bool:
        """Reload the registry if the file changed; True when it did. Cheap enough to call every second."""
        try:
            st = self.registry_path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = (0, 0)
        if stamp == self._stamp:
            return False
        data = self._read_registry()
        by_key, by_node = {}, {}
        for node, v in data["nodes"].items():
            e = Enrolled(node, v["role"], v["public_key"].encode())
            by_key[e.public_key] = e
            by_node[node] = e
        self._by_key, self._by_node, self._stamp = by_key, by_node, stamp
        return True

    def by_public_key(self, key_z85: bytes) -> Enrolled | None:
        return self._by_key.get(key_z85)

    def node(self, node: str) -> Enrolled | None:
        return self._by_node.get(node)

    def server_secret(self) -> tuple[bytes, bytes]:
        path = self.dir / "server.key_secret"
        if not path.exists():
            raise KeyFileError(f"{path}: missing; run 'hallctl keys init --keys {self.dir}' first "
                            "(or set curve = false in [bus] for a bench test)")
        public, secret = zmq.auth.load_certificate(path)
        assert secret is not None
        return public, secret

    # ------------------------------------------------------------------ node side

    def node_credentials(self, node: str) -> tuple[bytes, bytes, bytes]:
        """(node public, node secret, server public) for a node's sockets."""
        secret_path = self.node_secret_path(node)
        if not secret_path.exists():
            raise KeyFileError(f"{secret_path}: no key for node {node!r}; run 'hallctl keys add {node} --role ROLE'")
        if not self.server_public_path().exists():
            raise KeyFileError(f"{self.server_public_path()}: missing; copy server.key from the hall server")
        public, secret = zmq.auth.load_certificate(secret_path)
        server_public, _ = zmq.auth.load_certificate(self.server_public_path())
        assert secret is not None
        return public, secret, server_public
