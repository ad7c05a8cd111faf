import pytest

from core.actors import Actor
from tests.factories import UserFactory

# Fixtures of the order-capture suites (tests/capture, tests/api), shared by name.
pytest_plugins = ["tests.ordering"]


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("test")


@pytest.fixture
def staff_user(db):
    return UserFactory(username="operator", is_superuser=True)


@pytest.fixture
def staff_actor(staff_user) -> Actor:
    return Actor.for_user(staff_user)
