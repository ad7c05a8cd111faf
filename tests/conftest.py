import pytest

from oms.core.actors import Actor
from tests.factories import UserFactory


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("test")


@pytest.fixture
def staff_user(db):
    return UserFactory(username="operator", is_superuser=True)


@pytest.fixture
def staff_actor(staff_user) -> Actor:
    return Actor.for_user(staff_user)
