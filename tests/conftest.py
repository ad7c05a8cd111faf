import pytest

from core.actors import Actor
from tests.factories import UserFactory

# Fixtures shared by name: the order-capture suites' (tests/orders, tests/api) and the
# in-memory Celery broker of the outbox suites (tests/core, tests/oms), and the real places
# and warehouse network of the routing and promise suites.
pytest_plugins = ["tests.ordering", "tests.broker", "tests.places"]


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("test")


@pytest.fixture
def staff_user(db):
    return UserFactory(username="operator", is_superuser=True)


@pytest.fixture
def staff_actor(staff_user) -> Actor:
    return Actor.for_user(staff_user)
