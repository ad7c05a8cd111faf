"""A database that cannot be reached answers 503 problem+json with Retry-After, not
500, and readiness says "not ready"; the next request after it is back is served.
(``test_postgres_restart`` does the same with a real server stopped under load.)"""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from rest_framework.test import APIClient

from orders.models import Order
from tests.api.support import assert_problem, order_body, post_order

from .processes import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def database_unreachable() -> Iterator[None]:
    """This process's connection points at a port where nothing listens: every query
    fails to connect (OperationalError), as while the server restarts."""
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved


def test_an_order_sent_while_the_database_is_down_gets_503_then_is_placed(
    api, stocked, address, standard
):
    body = order_body([(stocked[0].sku, 1)], address)

    # Given the database cannot be reached, when an order is sent
    with database_unreachable():
        refused = post_order(api, body, "db-down-1")

    # then the answer is a 503 problem to retry after five seconds, and nothing was written;
    problem = assert_problem(refused, 503, "service_unavailable")
    assert refused["Retry-After"] == "5"
    assert "Idempotency-Key" in problem["detail"]
    assert not Order.objects.exists()
    # sent again once the database is back, it is placed.
    placed = post_order(api, body, "db-down-1")
    assert placed.status_code == 201, placed.content
    assert Order.objects.count() == 1


def test_readiness_says_not_ready_while_the_database_is_down():
    client = APIClient()
    with database_unreachable():
        down = client.get("/readyz")
        alive = client.get("/healthz")

    assert down.status_code == 503
    assert down["Retry-After"] == "5"
    assert down.json()["status"] == "unavailable"
    assert down.json()["checks"]["database"] == "error: OperationalError"
    assert alive.status_code == 200
    assert client.get("/readyz").status_code == 200


def test_readiness_stays_ready_while_only_the_broker_is_down(settings):
    # Orders are still accepted without a broker: their effects wait in the outbox.
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    response = APIClient().get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["broker"] == "error: ConnectionError"
