"""CURVE keys for the hall bus: the server's pair, one pair per node, and which key is each node's current one.

Layout of a key directory (default `data/keys`):

    server.key, server.key_secret     the server's certificate pair (ZeroMQ certificate format, see below)
    nodes/<node>.key[_secret]         each node's pair; copy the node's files and server.key to that machine
    enrolled.json                     node -> current public key; revoked nodes

The key store says only *who* a key belongs to. What a node may do (its role, its window) comes from the hall
configuration's `[[nodes]]`, so a key cannot make a node more than the configuration says it is.

The server re-reads `enrolled.json` when it changes, so `hallctl keys revoke` and `keys add --replace` take
effect without a restart. Every change is a read-modify-write under an exclusive lock (`enrolled.lock`), written
to a temporary file, fsynced and renamed into place: two operators (or scripts) changing keys at once never lose
each other's change, and a reader never sees half a file. A registry the server finds unreadable anyway (a hand
edit, a copy in progress) does not stop the hall: the server keeps the last good copy and says so in
`hallctl status` until the file reads again. Secret files are written 0600 from the first byte (never
world-readable, not even for a moment); a secret file found readable by others is tightened to 0600 when loaded,
with a warning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import zmq
import zmq.auth

from hall_bus.config import Role
from hall_bus.errors import UserError

log = logging.getLogger("hall.keys")
ROLES: tuple[str, ...] = get_args(Role)  # every role a hall configuration may give; kept here for callers
NODE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
REGISTRY = "enrolled.json"
REGISTRY_LOCK = "enrolled.lock"
SECRET_MODE = 0o600

_BANNER = """#   ****  Generated on {now} by hallctl  ****
#   ZeroMQ CURVE {kind} Certificate
#   {advice}

"""


class KeyFileError(UserError):
    """A key directory or key file problem the operator can fix."""


@dataclass(frozen=True, slots=True)
class Enrolled:
    node: str
    public_key: bytes  # z85, 40 characters

    @property
    def fingerprint(self) -> str:
        return self.public_key[:8].decode()


def write_certificate(path: Path, public: bytes, secret: bytes | None = None) -> None:
    """Write a ZeroMQ certificate (the zmq.auth / czmq text format) atomically; a secret one is 0600 from creation.

    pyzmq's own writer creates the file with the umask's mode and would leave a secret key readable by
    everyone on the machine; this one opens the temporary file 0600 before a byte of the key is written.
    """
    now = dt.datetime.now().isoformat(timespec="seconds")
    if secret is None:
        text = _BANNER.format(now=now, kind="Public", advice="Give this file to whoever must trust this key.")
    else:
        text = _BANNER.format(now=now, kind="**Secret**",
                              advice="DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.")
    text += f'metadata\ncurve\n    public-key = "{public.decode()}"\n'
    if secret is not None:
        text += f'    secret-key = "{secret.decode()}"\n'
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE if secret is not None else 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_secret(path: Path) -> tuple[bytes, bytes]:
    """A secret certificate's (public, secret) pair, after making sure nobody else can read the file."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        raise KeyFileError(f"{path}: missing") from None
    if mode & 0o077:
        try:
            os.chmod(path, SECRET_MODE)
            log.warning("%s was readable by others (mode %o); tightened to 0600", path, mode)
        except OSError as exc:
            log.warning("%s is readable by others (mode %o) and cannot be tightened (%s); chmod 600 it", path,
                        mode, exc)
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path}: not a key file ({exc})") from None
    if secret is None:
        raise KeyFileError(f"{path}: holds no secret key")
    return public, secret


class KeyStore:
    def __init__(self, directory: Path | str) -> None:
        self.dir = Path(directory)
        self._stamp: tuple[int, int, int] | None = None
        self._by_key: dict[bytes, Enrolled] = {}
        self._by_node: dict[str, Enrolled] = {}
        self.generation = 0  # bumped on every reload, whoever triggered it (a reader's refresh() may not see it)
        self.fault: tuple[str, float] | None = None  # (what is wrong, since) while the last good copy is in use
        self._bad_stamp: tuple[int, int, int] | None = None

    # ------------------------------------------------------------------ files

    @property
    def registry_path(self) -> Path:
        return self.dir / REGISTRY

    def server_public_path(self) -> Path:
        return self.dir / "server.key"

    def server_secret_path(self) -> Path:
        return self.dir / "server.key_secret"

    def node_secret_path(self, node: str) -> Path:
        return self.dir / "nodes" / f"{node}.key_secret"

    def _read_registry(self) -> dict[str, Any]:
        try:
            data = json.loads(self.registry_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"nodes": {}, "revoked": {}}
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"{self.registry_path}: unreadable ({exc}); restore it from a backup") from None
        if not isinstance(data, dict):
            raise KeyFileError(f"{self.registry_path}: not a key registry (no JSON object); restore it from a backup")
        data.setdefault("nodes", {})
        data.setdefault("revoked", {})
        nodes = data["nodes"]
        if not isinstance(nodes, dict) or not isinstance(data["revoked"], dict) or not all(
                isinstance(v, dict) and isinstance(v.get("public_key"), str) and len(v["public_key"]) == 40
                for v in nodes.values()):
            raise KeyFileError(f"{self.registry_path}: not a key registry (nodes without a 40-character "
                               "public_key); restore it from a backup")
        return data

    def _write_registry(self, data: dict[str, Any]) -> None:
        """Atomic and durable: a temporary file (unique, so no two writers share one), fsynced, renamed over the
        registry, and the directory fsynced so the rename survives a power cut. A reader sees the old file or
        the new one, never half of one."""
        text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
        tmp = self.registry_path.with_name(f".{REGISTRY}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.registry_path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, Any]]:
        """The registry to change, under an exclusive lock held until it is written back: a concurrent `keys add
        --replace` and `keys revoke` each read what the other wrote, so neither change is lost."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / REGISTRY_LOCK).open("a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # waits for the other writer; released when the file closes
            data = self._read_registry()
            yield data
            self._write_registry(data)

    def _make_pair(self, directory: Path, name: str) -> tuple[bytes, Path]:
        public, secret = zmq.curve_keypair()
        write_certificate(directory / f"{name}.key_secret", public, secret)
        write_certificate(directory / f"{name}.key", public)
        return public, directory / f"{name}.key_secret"

    # ------------------------------------------------------------------ operator actions

    def init(self) -> Path:
        if self.server_secret_path().exists():
            raise KeyFileError(f"{self.dir}: the server key pair already exists; remove it first to make a new one "
                               "(every node would need the new server.key)")
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        self._make_pair(self.dir, "server")
        with self._changing():  # an empty registry, or the one already there, written back unchanged
            pass
        return self.server_public_path()

    def add(self, node: str, *, replace: bool = False) -> Path:
        """Make and enrol a key pair for a node; with `replace`, the node's previous key stops working."""
        if not NODE_ID.match(node):
            raise KeyFileError(f"node id {node!r}: use lower-case letters, digits, '-' and '_' (e.g. counter-5)")
        if not self.server_secret_path().exists():
            raise KeyFileError(f"{self.dir}: no server key yet; run 'hallctl keys init' first")
        with self._changing() as data:
            if node in data["nodes"] and not replace:
                raise KeyFileError(f"node {node!r} already has a key; add --replace to issue a new one (the old "
                                   "key stops working within a heartbeat)")
            nodes_dir = self.dir / "nodes"
            nodes_dir.mkdir(exist_ok=True)
            os.chmod(nodes_dir, 0o700)
            public, secret_path = self._make_pair(nodes_dir, node)  # under the lock: one pair per node at a time
            data["nodes"][node] = {"public_key": public.decode(),
                                   "added": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
            data["revoked"].pop(node, None)
        return secret_path

    def revoke(self, node: str) -> None:
        with self._changing() as data:
            if node not in data["nodes"]:
                raise KeyFileError(f"node {node!r} is not enrolled")
            del data["nodes"][node]
            data["revoked"][node] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

    def listing(self) -> list[tuple[str, str, str]]:
        """(node, key fingerprint, state) rows for `hallctl keys list`."""
        data = self._read_registry()
        rows = [(n, v["public_key"][:8], f"enrolled {v.get('added', '')}".strip())
                for n, v in sorted(data["nodes"].items())]
        rows += [(n, "-", f"revoked {when}") for n, when in sorted(data["revoked"].items())]
        return rows

    # ------------------------------------------------------------------ server side

    def refresh(self) -> bool:
        """Reload the registry if the file changed; True when it did. Cheap (one stat) so it runs per batch.

        Once a good copy is loaded, a registry that cannot be read (gone, half-written by hand, unreadable)
        leaves the last good copy in force and is tried again when it changes: refusing every new connection
        until a restart would stop the hall over a file that is usually fine a moment later. The first load
        has no good copy to fall back on, so there it is an error.
        """
        try:
            st = self.registry_path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = (0, 0, 0)
        except OSError:
            stamp = (-1, -1, -1)
        if stamp == self._stamp or (stamp == self._bad_stamp and self.fault is not None):
            return False
        try:
            if stamp == (0, 0, 0) and self._stamp is not None:
                raise KeyFileError(f"{self.registry_path}: missing")
            data = self._read_registry()
        except KeyFileError as exc:
            if self._stamp is None:
                raise
            if self.fault is None:
                log.error("%s; keeping the last good copy of the key registry until it reads again", exc)
                self.fault = (f"{self.registry_path} cannot be read; restore it from a backup or fix it",
                              time.time())
            self._bad_stamp = stamp
            return False
        if self.fault is not None:
            log.warning("%s reads again; the last good copy is no longer needed", self.registry_path)
            self.fault, self._bad_stamp = None, None
        by_key, by_node = {}, {}
        for node, v in data["nodes"].items():
            e = Enrolled(node, v["public_key"].encode())
            by_key[e.public_key] = e
            by_node[node] = e
        self._by_key, self._by_node, self._stamp = by_key, by_node, stamp
        self.generation += 1
        return True

    def by_public_key(self, key_z85: bytes) -> Enrolled | None:
        return self._by_key.get(key_z85)

    def node(self, node: str) -> Enrolled | None:
        return self._by_node.get(node)

    def current_keys(self) -> dict[str, bytes]:
        """node -> its current public key, as last refreshed."""
        return {n: e.public_key for n, e in self._by_node.items()}

    def server_secret(self) -> tuple[bytes, bytes]:
        path = self.server_secret_path()
        if not path.exists():
            raise KeyFileError(f"{path}: missing; run 'hallctl keys init --keys {self.dir}' first "
                               "(or set curve = false in [bus] for a bench test)")
        return load_secret(path)

    # ------------------------------------------------------------------ node side

    def node_credentials(self, node: str) -> tuple[bytes, bytes, bytes]:
        """(node public, node secret, server public) for a node's sockets."""
        secret_path = self.node_secret_path(node)
        if not secret_path.exists():
            raise KeyFileError(f"{secret_path}: no key for node {node!r}; run 'hallctl keys add {node} "
                               "--config HALL.toml' on the server and copy the files here")
        if not self.server_public_path().exists():
            raise KeyFileError(f"{self.server_public_path()}: missing; copy server.key from the hall server")
        public, secret = load_secret(secret_path)
        try:
            server_public, _ = zmq.auth.load_certificate(self.server_public_path())
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"{self.server_public_path()}: not a key file ({exc})") from None
        return public, secret, server_public
