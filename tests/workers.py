"""Real Celery worker processes for the integration and fault tests: one command line,
one way to reach the test database and the test Redis."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


def worker_database_url() -> str:
    """The URL of the database this test process uses, for a worker to join it."""
    db = settings.DATABASES["default"]
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def worker_command(queue: str) -> list[str]:
    """``celery worker`` on ``queue``: one process, no gossip, mingle or heartbeat, so it
    starts fast and talks to nothing but its queue."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "oms",
        "worker",
        "--pool=solo",
        "--queues",
        queue,
        "--loglevel=WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


@contextmanager
def celery_worker(
    queue: str, log_path: Path, *, settings_module: str, **env: str
) -> Iterator[subprocess.Popen]:
    """A real worker process on ``queue`` against the test database and the test Redis,
    logging to ``log_path``; stopped (terminated, then killed) on exit."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            worker_command(queue),
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": settings_module,
                "DATABASE_URL": worker_database_url(),
                "CELERY_BROKER_URL": REDIS_URL,
                "CELERY_TASK_ALWAYS_EAGER": "false",
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
