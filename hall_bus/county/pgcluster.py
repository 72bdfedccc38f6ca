"""A PostgreSQL cluster of our own in a directory: made, started, found again and stopped.

Why our own cluster and not the machine's: the tests and `make demo` need a server they may wreck and throw
away, and a county technician trying the hub needs one without editing pg_hba.conf. A site with its own server
gives its DSN instead and never comes here.

The directory (`root`) holds:

    pgdata/              the data directory (initdb's)
    cluster.json         port, superuser, password file, socket directory: how `hallctl hub db` finds it again
    superuser.password   the superuser's generated password, mode 0600
    server.log           the server's log (pg_ctl -l)
    sock/                the server's Unix socket (or a short directory in /tmp when this path is too long)

The server only listens on 127.0.0.1 and asks for a password (scram-sha-256) even there. PostgreSQL refuses to
run as root; when we are root its programs run as the unprivileged `postgres` user, who then owns the directory.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from hall_bus.errors import UserError

SUPERUSER = "county_admin"
SERVER_USER = "postgres"  # who runs the server when we are root (Debian's package makes this user)
DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")  # /usr/lib/postgresql/<version>/bin, off PATH
PSYCOPG_REQUIREMENT = "psycopg[binary]>=3.1,<4"

PGDATA, INFO, PASSWORD, LOG, SOCKET = "pgdata", "cluster.json", "superuser.password", "server.log", "sock"
CONF = "hall_bus.conf"  # our settings, rewritten at every start and included from postgresql.conf
OURS = frozenset({PGDATA, INFO, PASSWORD, LOG, SOCKET})

SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with its NUL; the socket is <dir>/.s.PGSQL.<port>
START_TIMEOUT_S = 60
CONNECT_TIMEOUT_S = 5
LOG_LINES_IN_ERROR = 3


class PostgresMissing(UserError):
    """PostgreSQL's server programs or its Python driver are not installed; the message says what to install."""


class ClusterError(UserError):
    """Our cluster cannot be made, started, reached or stopped; the message says why, in one line."""


@dataclass(frozen=True)
class Cluster:
    """A running cluster as a client sees it: where it listens and who may log in as its superuser."""

    root: Path
    port: int
    superuser: str
    password: str
    host: str = "127.0.0.1"

    def dsn(self, dbname: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        """A libpq key=value DSN. The superuser's password goes with the superuser only: another role's DSN
        carries the password given for it, or none (libpq then looks in ~/.pgpass)."""
        if password is None and user is None:
            password = self.password
        fields: dict[str, Any] = {"host": self.host, "port": self.port, "user": user or self.superuser,
                                  "password": password, "dbname": dbname, "connect_timeout": CONNECT_TIMEOUT_S}
        return " ".join(f"{key}={_quote_conninfo(str(value))}" for key, value in fields.items() if value is not None)


# --- what is installed --------------------------------------------------------------------------------------------

def find_bindir() -> Path:
    """The directory of initdb and pg_ctl. Debian keeps them off PATH, in /usr/lib/postgresql/<version>/bin;
    pg_config names it when postgresql's own pg_config is installed (libpq-dev's names /usr/bin, without them)."""
    for candidate in _bindir_candidates():
        if all(os.access(candidate / program, os.X_OK) for program in ("initdb", "pg_ctl")):
            return candidate
    sudo = "" if os.geteuid() == 0 else "sudo "
    raise PostgresMissing("PostgreSQL's server (Debian package postgresql) is not installed: "
                          f"{sudo}apt-get install postgresql postgresql-client")


def _bindir_candidates() -> Iterator[Path]:
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            yield Path(out.stdout.strip())
    yield from sorted((d for d in DEBIAN_PG_ROOT.glob("*/bin") if _version(d) is not None),
                      key=lambda d: _version(d) or (), reverse=True)


def _version(bindir: Path) -> tuple[int, ...] | None:
    """Version "15" is (15,) and "9.6" is (9, 6), so 15 sorts above 9.6 as a string sort would not."""
    name = bindir.parent.name
    return tuple(int(part) for part in name.split(".")) if re.fullmatch(r"\d+(\.\d+)*", name) else None


def _psycopg() -> ModuleType:
    """The driver, imported only when a cluster is used: `hallctl --help` works without it."""
    try:
        import psycopg as module
    except ImportError:
        raise PostgresMissing("psycopg (PostgreSQL's driver for Python) is not installed: "
                              f"pip install '{PSYCOPG_REQUIREMENT}'") from None
    return module


# --- starting and stopping ----------------------------------------------------------------------------------------

def start_cluster(root: Path, *, port: int | None = None, durable: bool = True) -> Cluster:
    """Start the cluster in `root`, making it first if the directory is new or empty, and return it once it
    accepts connections. A cluster already running there is reused as it is, on its own port.

    `port`: the port to listen on; by default the one it had last time, or a free one if that is taken.
    `durable=False` turns fsync off: a crash of the machine may lose the data, which only a throwaway test
    cluster can accept (it starts faster and runs the tests faster)."""
    bindir = find_bindir()
    _psycopg()
    root = Path(os.path.abspath(root))
    user = _server_user()
    running = _running_port(root)
    if running is not None:
        return _wait_accepting(_cluster(root, running))
    if port is not None:
        _check_port_free(port)
    _prepare_root(root, user)
    if not _has_cluster(root):
        _init_cluster(root, bindir, user, durable=durable)
    info = _read_info(root)
    explicit = port is not None
    port = port if port is not None else _reusable_port(info.get("port"))
    for _attempt in range(3):
        try:
            return _wait_accepting(_start(root, bindir, user, info, port, durable=durable))
        except _PortTaken:
            if explicit:
                raise ClusterError(_port_in_use(port)) from None
            port = _free_port()  # someone took the free port between our look and the server's bind
    raise ClusterError(f"{_port_in_use(port)} (the third free port tried: others keep taking them)")


def stop_cluster(root: Path) -> bool:
    """Stop the cluster in `root` (fast shutdown: clients are disconnected, nothing committed is lost).
    Returns False when it was not running."""
    root = Path(os.path.abspath(root))
    if not _has_cluster(root):
        raise ClusterError(f"{root} holds no cluster made by hallctl (no {INFO} there)")
    if _running_port(root) is None:
        return False
    user = _server_user()
    res = _run(user, [str(find_bindir() / "pg_ctl"), "-D", str(root / PGDATA), "-m", "fast", "-w",
                      "-t", str(START_TIMEOUT_S), "stop"], cwd=root, timeout=START_TIMEOUT_S + 30)
    if res.returncode != 0:
        raise ClusterError(f"PostgreSQL in {root} did not stop: {_last_lines(res.stdout + res.stderr)}")
    socket_dir = root / _read_info(root).get("socket_dir", SOCKET)  # relative to root, or a /tmp one
    if not socket_dir.is_relative_to(root):
        with contextlib.suppress(OSError):
            socket_dir.rmdir()
    return True


def running_cluster(root: Path) -> Cluster | None:
    """The cluster in `root` if it is running, else None; what `hallctl hub db status` shows."""
    root = Path(os.path.abspath(root))
    if not _has_cluster(root):
        raise ClusterError(f"{root} holds no cluster made by hallctl (no {INFO} there)")
    port = _running_port(root)
    return None if port is None else _cluster(root, port)


def create_database(cluster: Cluster, name: str, *, exist_ok: bool = False) -> bool:
    """Create database `name`; False when it existed already and `exist_ok` said that is fine."""
    pg = _psycopg()
    with _connect(cluster) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            if exist_ok:
                return False
            raise ClusterError(f"database {name!r} already exists in the cluster on 127.0.0.1:{cluster.port}")
        conn.execute(pg.sql.SQL("CREATE DATABASE {}").format(pg.sql.Identifier(name)))
    return True


def drop_database(cluster: Cluster, name: str) -> None:
    """Drop database `name` if it exists, disconnecting its clients first (a test's leftover connection must
    not keep its database alive)."""
    pg = _psycopg()
    with _connect(cluster) as conn:
        conn.execute(pg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pg.sql.Identifier(name)))


# --- who runs the server ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _User:
    """Who runs initdb, pg_ctl and so the server: ourselves, or `postgres` when we are root."""

    uid: int
    gid: int
    name: str
    home: str

    @property
    def is_us(self) -> bool:
        return self.uid == os.geteuid()

    def groups(self) -> list[int]:
        return os.getgrouplist(self.name, self.gid)


def _server_user() -> _User:
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
    else:
        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise ClusterError(f"PostgreSQL will not run as root and there is no {SERVER_USER!r} user to run it "
                               "(Debian's postgresql package makes one); run hallctl as an ordinary user") from None
    return _User(entry.pw_uid, entry.pw_gid, entry.pw_name, entry.pw_dir)


def _run(user: _User, argv: Sequence[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run one of PostgreSQL's programs as `user`. Its own session, so a Ctrl-C at our terminal does not reach
    the server pg_ctl leaves running."""
    env = {**os.environ, "LC_MESSAGES": "C", "HOME": user.home, "USER": user.name, "LOGNAME": user.name}
    switch: dict[str, Any] = {} if user.is_us else {"user": user.uid, "group": user.gid,
                                                      "extra_groups": user.groups()}
    try:
        return subprocess.run(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout, start_new_session=True, **switch)
    except subprocess.TimeoutExpired:
        raise ClusterError(f"{Path(argv[0]).name} did not finish within {timeout:.0f} s in {cwd}") from None


def _give(user: _User, path: Path) -> None:
    """Make `path` the server user's (only needed when that is not us, i.e. we are root)."""
    if not user.is_us:
        os.chown(path, user.uid, user.gid)


# --- the directory ------------------------------------------------------------------------------------------------

def _has_cluster(root: Path) -> bool:
    return (root / INFO).is_file() and (root / PGDATA / "PG_VERSION").is_file()


def _prepare_root(root: Path, user: _User) -> None:
    """Make sure the server user can work in `root`: it exists, we and it may write there, and (when that user
    is not us) every directory above it lets that user through. A directory made here for nothing is removed."""
    existed = root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ClusterError(f"cannot make the cluster directory {root}: {exc.strerror}") from None
    try:
        _check_usable(root, user)
    except ClusterError:
        if not existed:
            root.rmdir()
        raise


def _check_usable(root: Path, user: _User) -> None:
    if not root.is_dir():
        raise ClusterError(f"cannot use {root} for the cluster: it is not a directory")
    if not os.access(root, os.W_OK | os.X_OK):
        raise ClusterError(f"cannot use {root} for the cluster: not writable by {pwd.getpwuid(os.geteuid()).pw_name}")
    if not user.is_us:
        _check_reachable(root, user)


def _check_reachable(root: Path, user: _User) -> None:
    groups = set(user.groups())
    for parent in reversed(root.parents):
        st = parent.stat()
        if st.st_uid == user.uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            raise ClusterError(f"the {user.name} user, who runs PostgreSQL for root, cannot reach {root}: "
                               f"{parent} is closed to it (mode {stat.S_IMODE(st.st_mode):04o}); "
                               "choose a directory outside it")


def _check_empty_for_new_cluster(root: Path) -> None:
    """A new cluster only goes in a new or empty directory: we are about to hand it to the server user."""
    if (root / PGDATA / "PG_VERSION").is_file():
        raise ClusterError(f"{root / PGDATA} holds a PostgreSQL data directory hallctl did not make (no {INFO}); "
                           "give an empty directory")
    others = sorted(p.name for p in root.iterdir() if p.name not in OURS)
    if others:
        shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
        raise ClusterError(f"{root} is not empty ({shown}) and holds no cluster; "
                           "give a new or empty directory")


def _init_cluster(root: Path, bindir: Path, user: _User, *, durable: bool) -> None:
    """initdb with a generated superuser password. If it fails, what it left is removed, so the directory
    is as it was and a second try starts clean."""
    _check_empty_for_new_cluster(root)
    _give(user, root)
    root.chmod(0o700)
    password_file = root / PASSWORD
    _write_private(password_file, secrets.token_urlsafe(24) + "\n", user)
    try:
        _initdb(root, bindir, user, password_file, durable=durable)
        with (root / PGDATA / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(f"\n# hallctl's settings (port, listen address, socket, fsync), rewritten at every start\n"
                       f"include_if_exists = '{CONF}'\n")
        _write_info(root, {"superuser": SUPERUSER, "password_file": PASSWORD, "port": None}, user)
    except BaseException:
        shutil.rmtree(root / PGDATA, ignore_errors=True)
        password_file.unlink(missing_ok=True)
        raise


def _initdb(root: Path, bindir: Path, user: _User, password_file: Path, *, durable: bool) -> None:
    """C.UTF-8 sorts by code point, the same on every machine; a system without that locale gets plain C."""
    output = ""
    for locale in ("C.UTF-8", "C"):
        argv = [str(bindir / "initdb"), "-D", str(root / PGDATA), "-U", SUPERUSER, f"--pwfile={password_file}",
                "--auth=scram-sha-256", "--encoding=UTF8", f"--locale={locale}"]
        res = _run(user, [*argv, *([] if durable else ["--no-sync"])], cwd=root, timeout=120)
        if res.returncode == 0:
            return
        output = res.stdout + res.stderr
        if "locale" not in output.lower():
            break
    raise ClusterError(f"initdb failed in {root}: {_last_lines(output)}")


def _write_private(path: Path, text: str, user: _User) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    _give(user, path)


def _read_info(root: Path) -> dict[str, Any]:
    try:
        info = json.loads((root / INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClusterError(f"cannot read {root / INFO}: {exc}") from None
    if not isinstance(info, dict) or not isinstance(info.get("superuser"), str):
        raise ClusterError(f"{root / INFO} is not a cluster description written by hallctl")
    return info


def _write_info(root: Path, info: dict[str, Any], user: _User) -> None:
    """Written whole to a temporary file and renamed: a reader never sees half of it."""
    tmp = root / f".{INFO}.tmp"
    tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    _give(user, tmp)
    tmp.replace(root / INFO)


def _cluster(root: Path, port: int) -> Cluster:
    info = _read_info(root)
    password_file = root / info.get("password_file", PASSWORD)
    try:
        password = password_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ClusterError(f"cannot read the superuser's password from {password_file}: {exc.strerror}") from None
    return Cluster(root=root, port=port, superuser=info["superuser"], password=password)


def _socket_dir(root: Path, user: _User, port: int) -> Path:
    """Inside the directory when the socket's path fits in sun_path; otherwise a fresh short directory in /tmp
    (removed again at stop)."""
    inside = root / SOCKET
    if len(os.fsencode(inside / f".s.PGSQL.{port}")) <= SOCKET_PATH_MAX:
        inside.mkdir(mode=0o700, exist_ok=True)
        _give(user, inside)
        return inside
    short = Path(tempfile.mkdtemp(prefix="hallpg-", dir="/tmp"))
    _give(user, short)
    return short


# --- ports --------------------------------------------------------------------------------------------------------

class _PortTaken(Exception):
    """The server could not bind its port; an automatically chosen one is retried, an explicit one is an error."""


def _port_in_use(port: int) -> str:
    return f"port {port} on 127.0.0.1 is already in use"


def _check_port_free(port: int) -> None:
    if not 1 <= port <= 65535:
        raise ClusterError(f"port {port} is not a TCP port (1 to 65535)")
    if not _port_free(port):
        raise ClusterError(_port_in_use(port))


def _port_free(port: int) -> bool:
    """Bound as the server binds it (SO_REUSEADDR), so a connection in TIME_WAIT does not count as in use."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise ClusterError(f"cannot listen on 127.0.0.1 port {port}: {exc.strerror}") from None
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _reusable_port(previous: object) -> int:
    """The port of the last run, so DSNs handed out before a restart still work; a free one if it is taken."""
    if isinstance(previous, int) and _port_free(previous):
        return previous
    return _free_port()


# --- the server process -------------------------------------------------------------------------------------------

def _running_port(root: Path) -> int | None:
    """The port of the server running on `root`'s data directory, from its postmaster.pid (pid, data dir, start
    time, port, ...), if that process is alive. A stale file after a crash means not running; the server itself
    removes it at its next start."""
    try:
        lines = (root / PGDATA / "postmaster.pid").read_text(encoding="utf-8").splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, and someone else's: still the server of this directory
    return port


def _write_conf(root: Path, user: _User, port: int, socket_dir: Path, *, durable: bool) -> None:
    switch = "on" if durable else "off"
    settings = {"listen_addresses": "'127.0.0.1'", "port": str(port),
                "unix_socket_directories": _quote_conf(str(socket_dir)), "max_connections": "200",
                "fsync": switch, "synchronous_commit": switch, "full_page_writes": switch}
    text = "# Written by hall_bus.county.pgcluster at every start; edits here are lost.\n" + "".join(
        f"{key} = {value}\n" for key, value in settings.items())
    path = root / PGDATA / CONF
    path.write_text(text, encoding="utf-8")
    _give(user, path)


def _start(root: Path, bindir: Path, user: _User, info: dict[str, Any], port: int, *, durable: bool) -> Cluster:
    socket_dir = _socket_dir(root, user, port)
    _write_conf(root, user, port, socket_dir, durable=durable)
    log = root / LOG
    log_start = log.stat().st_size if log.exists() else 0
    res = _run(user, [str(bindir / "pg_ctl"), "-D", str(root / PGDATA), "-l", str(log), "-w",
                      "-t", str(START_TIMEOUT_S), "start"], cwd=root, timeout=START_TIMEOUT_S + 30)
    if res.returncode != 0:
        if not socket_dir.is_relative_to(root):
            shutil.rmtree(socket_dir, ignore_errors=True)
        new_log = _read_from(log, log_start)
        if "could not bind" in new_log or "Address already in use" in new_log:
            raise _PortTaken
        raise ClusterError(f"PostgreSQL in {root} did not start: {_last_lines(new_log or res.stdout + res.stderr)} "
                           f"(log: {log})")
    _write_info(root, {**info, "port": port, "socket_dir": os.path.relpath(socket_dir, root)
                       if socket_dir.is_relative_to(root) else str(socket_dir)}, user)
    return _cluster(root, port)


def _wait_accepting(cluster: Cluster, timeout_s: float = 30.0) -> Cluster:
    """pg_ctl -w returns when the server says it is ready; we also wait until a client really gets in, so the
    caller's first connection never races the server's start (or a reused server still starting)."""
    pg = _psycopg()
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            pg.connect(cluster.dsn(), autocommit=True).close()
            return cluster
        except pg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise ClusterError(f"PostgreSQL in {cluster.root} does not accept connections on "
                                   f"127.0.0.1:{cluster.port}: {_first_line(exc)}") from None
        time.sleep(0.05)


@contextlib.contextmanager
def _connect(cluster: Cluster, dbname: str = "postgres") -> Iterator[Any]:
    pg = _psycopg()
    try:
        conn = pg.connect(cluster.dsn(dbname), autocommit=True)
    except pg.OperationalError as exc:
        raise ClusterError(f"cannot connect to PostgreSQL on 127.0.0.1:{cluster.port}: {_first_line(exc)}") from None
    with conn:
        yield conn


# --- text ---------------------------------------------------------------------------------------------------------

def _quote_conninfo(value: str) -> str:
    """libpq's key=value quoting: bare when safe, else in single quotes with \\ and ' escaped."""
    if value and re.fullmatch(r"[A-Za-z0-9._:/@+-]+", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quote_conf(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _last_lines(text: str, count: int = LOG_LINES_IN_ERROR) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "(no output)"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
