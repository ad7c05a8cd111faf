"""Real processes for the fault tests: a PostgreSQL server and a Redis server of their
own (on free ports, in temporary directories, killed and restarted at will: the
shared ones that other tests use are never touched), the API under gunicorn, the
outbox relay and ``check_integrity``. Every wait is bounded; a missing server binary
skips the test that needs it, saying why.

The Celery worker comes from ``tests.oms.test_notification_worker_killed``.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.conf import settings

START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(
    condition: Callable[[], bool], what: str, *, seconds: float, log: Path | None = None
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    pytest.fail(f"{what} did not happen within {seconds} s.\n{tail}")


def stop_process(process: subprocess.Popen, *, seconds: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``seconds``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def database_url(name: str | None = None) -> str:
    """The URL of the test database (or of ``name`` on the same server)."""
    db = settings.DATABASES["default"]
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{name or db['NAME']}"
    )


# --- PostgreSQL -------------------------------------------------------------------


def _postgres_bindir() -> Path:
    found = os.environ.get("PG_BINDIR")
    if not found and shutil.which("pg_config"):
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False, timeout=10
        ).stdout.strip()
    if not found or not (Path(found) / "initdb").exists() or not (Path(found) / "pg_ctl").exists():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BINDIR")
    return Path(found)


class ThrowawayPostgres:
    """A PostgreSQL server of the test's own, trusting local connections.

    The server refuses to run as root, so it runs as the ``postgres`` OS user when
    the tests run as root.
    """

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.data, self.log = root / "data", root / "server.log"
        self.bindir = _postgres_bindir()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no postgres user to run the server")
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(root, "postgres", "postgres")

    def url(self, name: str = "oms") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str, seconds: float = START_SECONDS) -> None:
        subprocess.run(
            [*self.as_user, *args], check=True, capture_output=True, timeout=seconds, cwd=self.root
        )

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "--no-instructions",
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "-t",
            str(START_SECONDS),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-m",
            mode,
            "-w",
            "-t",
            str(START_SECONDS),
            "stop",
        )

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    root = Path(tempfile.mkdtemp(prefix="oms-fault-pg-"))
    server = ThrowawayPostgres(root, free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        try:
            if server.running():
                server.stop("immediate")
        finally:
            shutil.rmtree(root, ignore_errors=True)


def copy_test_database(server: ThrowawayPostgres, name: str = "oms") -> str:
    """Create ``name`` on ``server`` as a copy of the test database (schema, triggers
    and the rows written so far); returns its URL."""
    subprocess.run(
        ["psql", "-q", server.url("postgres"), "-c", f"CREATE DATABASE {name}"],
        check=True,
        capture_output=True,
        timeout=START_SECONDS,
    )
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", database_url()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", server.url(name)],
        input=dump.stdout,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return server.url(name)


# --- Redis ------------------------------------------------------------------------


class ThrowawayRedis:
    """A Redis server of the test's own, killed (SIGKILL) and restarted on the same
    port and directory. It keeps an append-only file written on every command
    (``appendfsync always``), as a broker must: messages queued when it dies are there
    again when it comes back."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.log = root / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def alive(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.root),
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.alive, "Redis to start", seconds=START_SECONDS, log=self.log)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, seconds=10)
            self.process = None


@contextmanager
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not found")
    root = Path(tempfile.mkdtemp(prefix="oms-fault-redis-"))
    server = ThrowawayRedis(root, free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def queue_drained(client: redis.Redis, queue: str) -> bool:
    """Whether ``queue`` holds no message and no worker holds one of it unacknowledged
    (kombu keeps those in the ``unacked`` hash, for every queue of the database)."""
    if client.llen(queue):
        return False
    for raw in client.hvals("unacked"):
        try:
            _message, _exchange, routing_key = json.loads(raw)
        except ValueError:
            continue
        if routing_key == queue:
            return False
    return True


# --- our own processes ------------------------------------------------------------


def _spawn(args: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            args,
            cwd=settings.BASE_DIR,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def relay_process(log_path: Path, **env: str) -> Iterator[subprocess.Popen]:
    """``manage.py relay_outbox`` (the production relay), publishing the outbox of the
    database and to the broker that ``env`` names."""
    process = _spawn(
        [sys.executable, "manage.py", "relay_outbox", "--poll", "0.1"],
        log_path,
        {"DJANGO_SETTINGS_MODULE": "oms.settings.test", "OMS_OUTBOX_RELAY": "process", **env},
    )
    try:
        yield process
    finally:
        stop_process(process)


def production_env(database: str, **env: str) -> dict[str, str]:
    """The environment of a production process (``oms.settings.base``) on loopback."""
    return {
        "DJANGO_SETTINGS_MODULE": "oms.settings.base",
        "SECRET_KEY": secrets.token_hex(32),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
        **env,
    }


@contextmanager
def api_server(log_path: Path, env: dict[str, str]) -> Iterator[str]:
    """The WSGI app under gunicorn on a free loopback port (one worker, four threads,
    as ``gunicorn.conf.py`` configures it); yields its base URL once it answers."""
    port = free_port()
    process = _spawn(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "oms.wsgi",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--timeout",
            "30",
        ],
        log_path,
        env,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited: {log_path.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    try:
        wait_until(answers, "gunicorn to listen", seconds=START_SECONDS, log=log_path)
        yield base
    finally:
        stop_process(process)


def run_check_integrity(
    database: str, *, settings_module: str = "oms.settings.test"
) -> tuple[int, str]:
    """``manage.py check_integrity`` against ``database``: its exit status and output."""
    done = subprocess.run(
        [sys.executable, "manage.py", "check_integrity"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "DATABASE_URL": database},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr
