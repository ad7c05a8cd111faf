import pytest
from django.conf import settings as django_settings

from core import refcache
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


@pytest.fixture(autouse=True)
def _settings_left_as_found():
    """Fail the test that leaves the process's settings changed for the tests after it
    (an override undone out of order): the next tests would, for instance, publish
    their outbox events to a broker instead of running them inline after commit."""
    watched = ("CELERY_TASK_ALWAYS_EAGER", "OMS_OUTBOX_RELAY")
    before = {name: getattr(django_settings, name) for name in watched}
    yield
    after = {name: getattr(django_settings, name) for name in watched}
    if after != before:
        for name, value in before.items():
            setattr(django_settings, name, value)
        pytest.fail(f"the test left settings changed: {after} (were {before})")


@pytest.fixture(autouse=True)
def _fresh_reference_cache():
    """Reference rows (shipping methods, tax rates) cached by an earlier test belong to
    a database state that test rolled back or flushed: every test starts with none."""
    refcache.clear()
    yield
    refcache.clear()
