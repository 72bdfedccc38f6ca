"""Our own PostgreSQL cluster (hall_bus.county.pgcluster) against the real server: it runs as a non-root user,
listens on 127.0.0.1 only, asks for a password, is found again when running, keeps its data over a restart,
and says in one line what is wrong when it cannot start."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from hall_bus.cli.hallctl import main as hallctl_main
from hall_bus.county import pgcluster
from hall_bus.county.pgcluster import (
    Cluster,
    ClusterError,
    PostgresMissing,
    find_bindir,
    running_cluster,
    start_cluster,
    stop_cluster,
)

from .test_cli import hallctl

pytestmark = pytest.mark.pg

INSTALL = "apt-get install postgresql postgresql-client"


def postmaster_pid(root: Path) -> int:
    return int((root / "pgdata" / "postmaster.pid").read_text(encoding="utf-8").split()[0])


def dsn_of(stdout: str) -> str:
    return next(line.removeprefix("DSN: ") for line in stdout.splitlines() if line.startswith("DSN: "))


def reachable(root: Path) -> Path:
    """Let the server user (postgres, when we are root) through a test directory to a cluster below it."""
    root.chmod(0o755)
    return root


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port on 127.0.0.1 someone else is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_cluster_runs_as_non_root_on_localhost_with_a_password(pg_cluster: Cluster) -> None:
    with psycopg.connect(pg_cluster.dsn()) as conn:  # the backend is looked at while it serves us (it exits after)
        backend, address, port, listen = conn.execute(
            "SELECT pg_backend_pid(), host(inet_server_addr()), inet_server_port(), "
            "current_setting('listen_addresses')").fetchone()
        assert (address, port, listen) == ("127.0.0.1", pg_cluster.port, "127.0.0.1")
        for pid in (backend, postmaster_pid(pg_cluster.root)):
            owner = psutil.Process(pid)
            assert owner.uids().effective != 0
            if os.geteuid() == 0:
                assert owner.username() == "postgres"
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(pg_cluster.dsn(user=pg_cluster.superuser, password="wrong"))


def test_each_test_gets_a_fresh_database(pg_cluster: Cluster, pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        name, tables = conn.execute("SELECT current_database(), (SELECT count(*) FROM pg_tables "
                                    "WHERE schemaname = 'public')").fetchone()
        conn.execute("CREATE TABLE visit (ticket text)")
    assert name.startswith("test_") and tables == 0
    assert pg_cluster.dsn(name) == pg_dsn


def test_second_start_reuses_the_running_server(pg_dir: Path) -> None:
    first = start_cluster(pg_dir, durable=False)
    pid = postmaster_pid(pg_dir)
    again = start_cluster(pg_dir, port=first.port + 1)  # a running server keeps its port
    assert again == first and postmaster_pid(pg_dir) == pid
    assert running_cluster(pg_dir) == first


def test_stop_then_start_keeps_the_data_and_the_port(pg_dir: Path) -> None:
    cluster = start_cluster(pg_dir, durable=False)
    with psycopg.connect(cluster.dsn()) as conn:
        conn.execute("CREATE TABLE visit (ticket text)")
        conn.execute("INSERT INTO visit VALUES ('A023')")
    assert stop_cluster(pg_dir) is True
    assert running_cluster(pg_dir) is None and stop_cluster(pg_dir) is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.dsn())

    again = start_cluster(pg_dir, durable=False)
    assert again == cluster  # same port and password: a DSN handed out before the restart still works
    with psycopg.connect(again.dsn()) as conn:
        assert conn.execute("SELECT ticket FROM visit").fetchall() == [("A023",)]
    stop_cluster(pg_dir)

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:  # its old port taken meanwhile
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the stopped server's TIME_WAITs
        squatter.bind(("127.0.0.1", cluster.port))
        squatter.listen()
        moved = start_cluster(pg_dir, durable=False)
    assert moved.port != cluster.port
    with psycopg.connect(moved.dsn()) as conn:
        assert conn.execute("SELECT ticket FROM visit").fetchall() == [("A023",)]


def test_explicit_port_in_use_is_one_line(pg_dir: Path, held_port: int) -> None:
    with pytest.raises(ClusterError) as err:
        start_cluster(pg_dir, port=held_port)
    assert str(err.value) == f"port {held_port} on 127.0.0.1 is already in use"


def test_long_directory_puts_the_socket_in_a_short_one(pg_dir: Path) -> None:
    """A Unix socket's path has at most 107 bytes; a deep cluster directory would not start with its socket
    inside it."""
    root = reachable(pg_dir) / ("d" * 60) / ("e" * 60)
    cluster = start_cluster(root, durable=False)
    with psycopg.connect(cluster.dsn()) as conn:
        socket_dir = Path(conn.execute("SHOW unix_socket_directories").fetchone()[0])
    assert len(str(socket_dir)) < 40 and (socket_dir / f".s.PGSQL.{cluster.port}").is_socket()
    stop_cluster(root)
    assert not socket_dir.exists()


def test_no_postgresql_installed_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(pgcluster, "DEBIAN_PG_ROOT", tmp_path / "no-postgresql")
    with pytest.raises(PostgresMissing) as err:
        find_bindir()
    assert "\n" not in str(err.value) and INSTALL in str(err.value)
    assert str(err.value).startswith("PostgreSQL's server (Debian package postgresql) is not installed")

    assert hallctl_main(["hub", "db", "start", "--dir", str(tmp_path / "cluster")]) == 2
    out, errors = capsys.readouterr()
    assert out == "" and errors.count("\n") == 1 and INSTALL in errors
    assert not (tmp_path / "cluster").exists()


def test_find_bindir_prefers_a_complete_newest_debian_version(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    """libpq-dev's pg_config names /usr/bin, which has no initdb: the Debian directory is used then, the
    newest version by number (15 above 9.6)."""
    fake_path = tmp_path / "bin"
    fake_path.mkdir()
    pg_config = fake_path / "pg_config"
    pg_config.write_text(f"#!/bin/sh\necho {fake_path}\n", encoding="utf-8")
    pg_config.chmod(0o755)
    for version in ("9.6", "15", "16"):
        bindir = tmp_path / "lib" / version / "bin"
        bindir.mkdir(parents=True)
        for program in ("initdb", "pg_ctl") if version != "16" else ("pg_ctl",):  # 16: client half only
            (bindir / program).write_text("#!/bin/sh\n", encoding="utf-8")
            (bindir / program).chmod(0o755)
    monkeypatch.setenv("PATH", str(fake_path))
    monkeypatch.setattr(pgcluster, "DEBIAN_PG_ROOT", tmp_path / "lib")
    assert find_bindir() == tmp_path / "lib" / "15" / "bin"


def test_no_psycopg_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    with pytest.raises(PostgresMissing) as err:
        start_cluster(tmp_path / "cluster")
    assert "\n" not in str(err.value) and "pip install 'psycopg[binary]" in str(err.value)


def test_initdb_failure_says_its_last_lines_and_leaves_the_directory_clean(monkeypatch: pytest.MonkeyPatch,
                                                                          pg_dir: Path) -> None:
    bindir = reachable(pg_dir) / "bin"
    bindir.mkdir()
    for program, script in (("initdb", "echo 'creating directory ... ok'\necho 'initdb: error: disk is full' >&2\n"
                                       "exit 1\n"), ("pg_ctl", "exit 1\n")):
        (bindir / program).write_text(f"#!/bin/sh\n{script}", encoding="utf-8")
        (bindir / program).chmod(0o755)
    monkeypatch.setattr(pgcluster, "find_bindir", lambda: bindir)
    root = pg_dir / "cluster"
    with pytest.raises(ClusterError) as err:
        start_cluster(root)
    assert str(err.value) == f"initdb failed in {root}: creating directory ... ok | initdb: error: disk is full"
    assert list(root.iterdir()) == []


def test_a_directory_the_server_user_cannot_use_is_one_line(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # pytest's own /tmp/pytest-of-root is 0700: the postgres user cannot pass it
        with pytest.raises(ClusterError, match=r"the postgres user, who runs PostgreSQL for root, cannot reach"):
            start_cluster(tmp_path / "cluster")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ClusterError, match="not writable"):
            start_cluster(locked)
    assert not (tmp_path / "cluster").exists()


def test_a_directory_with_other_files_is_refused(pg_dir: Path) -> None:
    (pg_dir / "notes.txt").write_text("the hall's own notes\n", encoding="utf-8")
    with pytest.raises(ClusterError, match=r"is not empty \(notes.txt\) and holds no cluster"):
        start_cluster(pg_dir)


def test_hallctl_hub_db_start_status_stop(pg_dir: Path) -> None:
    started = hallctl("hub", "db", "start", "--dir", str(pg_dir))
    assert started.returncode == 0, started.stderr
    dsn = dsn_of(started.stdout)
    assert f"hallctl hub db stop --dir {pg_dir}" in started.stdout
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("county",)
        conn.execute("CREATE TABLE site (name text)")

    again = hallctl("hub", "db", "start", "--dir", str(pg_dir))  # running: reused, county database kept
    assert again.returncode == 0 and "already running" in again.stdout and dsn_of(again.stdout) == dsn
    status = hallctl("hub", "db", "status", "--dir", str(pg_dir))
    assert status.returncode == 0 and status.stdout.startswith("running on 127.0.0.1:")
    assert dsn_of(status.stdout) == dsn

    stopped = hallctl("hub", "db", "stop", "--dir", str(pg_dir))
    assert stopped.returncode == 0 and stopped.stdout.startswith("stopped PostgreSQL")
    status = hallctl("hub", "db", "status", "--dir", str(pg_dir))
    assert status.returncode == 3 and status.stdout.startswith("stopped")
    assert hallctl("hub", "db", "stop", "--dir", str(pg_dir)).stdout.endswith("was not running\n")


def test_hallctl_hub_db_errors_are_one_line(pg_dir: Path, held_port: int) -> None:
    taken = hallctl("hub", "db", "start", "--dir", str(pg_dir), "--port", str(held_port))
    assert taken.returncode == 2 and taken.stdout == ""
    assert taken.stderr == f"port {held_port} on 127.0.0.1 is already in use\n"
    nothing = hallctl("hub", "db", "status", "--dir", str(pg_dir / "nothing"))
    assert nothing.returncode == 2 and nothing.stderr.count("\n") == 1 and "holds no cluster" in nothing.stderr
    assert "Traceback" not in taken.stderr + nothing.stderr
