"""Database connections from a pool (``DATABASE_POOL_MAX``): each process holds at most
that many, lends one per request, and a request that finds none free waits, then
fails as a database that cannot be reached (503 with Retry-After), never hangs."""

import os
import runpy
import threading
from pathlib import Path

import pytest
from django.db import OperationalError, connections
from rest_framework import status

from core.api.errors import handle_exception
from oms.settings.base import database_config, database_pool

REPO = Path(__file__).resolve().parents[2]
POSTGRES_URL = "postgres://oms:secret@db.internal:5432/oms"


def test_without_database_pool_max_each_thread_keeps_its_own_connection():
    config = database_config(POSTGRES_URL, conn_max_age=60)

    database_pool(config, {})

    assert "pool" not in config["OPTIONS"]
    assert config["CONN_MAX_AGE"] == 60


def test_database_pool_max_turns_the_pool_on():
    config = database_config(POSTGRES_URL, conn_max_age=60)

    database_pool(
        config,
        {"DATABASE_POOL_MAX": "8", "DATABASE_POOL_MIN": "2", "DATABASE_POOL_TIMEOUT": "3"},
    )

    assert config["OPTIONS"]["pool"] == {
        "min_size": 2,
        "max_size": 8,
        "timeout": 3.0,
        "reconnect_timeout": 2.0,
        "name": "oms",
    }
    # Django refuses persistent connections with a pool: the pool keeps them.
    assert config["CONN_MAX_AGE"] == 0
    # Statements are still prepared once per connection, which the pool keeps open.
    assert config["OPTIONS"]["prepare_threshold"] == 2


def test_the_pool_is_never_smaller_than_its_minimum_and_zero_means_off():
    config = database_config(POSTGRES_URL)
    database_pool(config, {"DATABASE_POOL_MAX": "2", "DATABASE_POOL_MIN": "5"})
    assert config["OPTIONS"]["pool"]["min_size"] == 2

    config = database_config(POSTGRES_URL)
    database_pool(config, {"DATABASE_POOL_MAX": "0"})
    assert "pool" not in config["OPTIONS"]


def test_sqlite_has_no_pool():
    config = database_config("sqlite:///demo.sqlite3")

    database_pool(config, {"DATABASE_POOL_MAX": "8"})

    assert "pool" not in config.get("OPTIONS", {})


def test_the_production_server_settings_pool_one_connection_per_thread(monkeypatch):
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "DATABASE_POOL"))
    }
    monkeypatch.setattr(os, "environ", environ)

    conf = runpy.run_path(str(REPO / "gunicorn.conf.py"))

    assert conf["threads"] == 4
    assert environ["DATABASE_POOL_MAX"] == "4"

    environ.update(GUNICORN_THREADS="8", DATABASE_POOL_MAX="3")
    conf = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    assert conf["threads"] == 8
    assert environ["DATABASE_POOL_MAX"] == "3"  # set explicitly: kept


def _pooled(alias: str, *, size: int, timeout: float):
    """A PostgreSQL connection handler for the test database whose connections come
    from a pool of ``size``; each thread makes its own, all share the alias's pool."""
    settings = dict(connections["default"].settings_dict)
    settings["OPTIONS"] = {
        **settings["OPTIONS"],
        "pool": {"min_size": 0, "max_size": size, "timeout": timeout},
    }
    settings["CONN_MAX_AGE"] = 0
    wrapper_class = type(connections["default"])

    def make():
        return wrapper_class(settings, alias=alias)

    return make


@pytest.mark.django_db
def test_more_threads_than_connections_share_the_pool():
    make = _pooled("pool_share", size=2, timeout=30)
    pids: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work():
        try:
            for _ in range(3):  # a request: borrow, query, give back
                db = make()
                with db.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.02)")
                    pid = cursor.fetchone()[0]
                db.close()
                with lock:
                    pids.append(pid)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    make().close_pool()

    assert errors == []
    assert len(pids) == 24
    assert 1 <= len(set(pids)) <= 2  # 8 threads, 24 requests, at most 2 connections


@pytest.mark.django_db
def test_a_request_finding_no_free_connection_waits_then_answers_503():
    make = _pooled("pool_timeout", size=1, timeout=0.3)
    holder = make()
    holder.ensure_connection()
    waiting = make()
    try:
        with pytest.raises(OperationalError) as raised:
            waiting.ensure_connection()
    finally:
        holder.close()
        holder.close_pool()

    response = handle_exception(raised.value, {})
    assert response is not None
    assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert response.data["code"] == "service_unavailable"
    assert response["Retry-After"]
