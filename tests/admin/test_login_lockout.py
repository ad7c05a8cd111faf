"""Guessing admin passwords is stopped: after repeated failures a username is locked
out from the address they came from, and an address trying many usernames is locked
out altogether, until the cool-off passes or someone unlocks them."""

from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

PASSWORD = "the-right-password-1"
HOME = "198.51.100.7"
ELSEWHERE = "203.0.113.9"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("limits"),
]


@pytest.fixture
def limits():
    with override_settings(
        AXES_FAILURE_LIMIT=5,
        OMS_LOGIN_IP_FAILURE_LIMIT=20,
        AXES_COOLOFF_TIME=timedelta(minutes=15),
    ):
        yield


@pytest.fixture
def agent(db) -> User:
    user = UserFactory(username="agent-lockout")
    user.set_password(PASSWORD)
    user.save()
    return user


def log_in(username: str, password: str, address: str = HOME) -> tuple[Client, object]:
    client = Client(REMOTE_ADDR=address)
    response = client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
    )
    return client, response


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(username: str, times: int, address: str = HOME) -> list[int]:
    return [log_in(username, f"wrong-{n}", address)[1].status_code for n in range(times)]


def test_twenty_wrong_passwords_then_the_right_one_is_refused(agent):
    # Given twenty wrong passwords in a few seconds
    statuses = fail(agent.username, 20)

    # When the right one comes
    client, response = log_in(agent.username, PASSWORD)

    # Then it is refused, with a page that says why and what to do
    assert statuses[:4] == [200] * 4  # the log-in form again, with its error
    assert statuses[4:] == [429] * 16  # locked from the fifth failure on
    assert response.status_code == 429
    assert not logged_in(client)
    page = response.content.decode()
    assert "Log-in locked" in page
    assert "15 minutes" in page
    assert "ask an administrator to unlock" in page
    assert response["Retry-After"] == "900"


def test_the_lockout_is_per_username_and_address(agent):
    fail(agent.username, 5)
    colleague = UserFactory(username="colleague")
    colleague.set_password(PASSWORD)
    colleague.save()

    # The same person elsewhere, and a colleague at the same address, still log in.
    assert logged_in(log_in(agent.username, PASSWORD, ELSEWHERE)[0])
    assert logged_in(log_in("colleague", PASSWORD, HOME)[0])
    assert not logged_in(log_in(agent.username, PASSWORD, HOME)[0])


def test_an_address_trying_many_usernames_is_locked_out(agent):
    # Four failures each for five usernames: no username reaches its own limit...
    for n in range(5):
        fail(f"guess-{n}", 4)

    # ...but the address has failed twenty times: even a right password is refused.
    client, response = log_in(agent.username, PASSWORD)

    assert response.status_code == 429
    assert not logged_in(client)
    assert logged_in(log_in(agent.username, PASSWORD, ELSEWHERE)[0])


def test_logging_in_clears_only_ones_own_failures(agent):
    fail("someone-else", 3)
    fail(agent.username, 4)

    assert logged_in(log_in(agent.username, PASSWORD)[0])

    assert not AccessAttempt.objects.filter(username=agent.username).exists()
    assert AccessAttempt.objects.get(username="someone-else").failures_since_start == 3
    fail(agent.username, 4)
    assert logged_in(log_in(agent.username, PASSWORD)[0])


def test_the_lockout_ends_after_the_cool_off(agent):
    fail(agent.username, 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert logged_in(log_in(agent.username, PASSWORD)[0])


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("axes_reset_username", ["agent-lockout"]),
        ("axes_reset_ip", [HOME]),
        ("axes_reset_ip_username", [HOME, "agent-lockout"]),
        ("axes_reset", []),
    ],
)
def test_a_management_command_unlocks(agent, command, args):
    fail(agent.username, 5)
    assert not logged_in(log_in(agent.username, PASSWORD)[0])

    call_command(command, *args, stdout=StringIO())

    assert logged_in(log_in(agent.username, PASSWORD)[0])


def test_an_administrator_unlocks_from_the_list_of_attempts(agent, admin_client):
    fail(agent.username, 6)
    fail("bystander", 2, ELSEWHERE)
    locked = AccessAttempt.objects.filter(username=agent.username)
    selected = [str(pk) for pk in locked.values_list("pk", flat=True)]
    changelist = reverse("admin:axes_accessattempt_changelist")

    listing = admin_client.get(changelist)
    response = admin_client.post(
        changelist,
        {"action": "unlock", "_selected_action": selected},
        follow=True,
    )

    assert listing.status_code == 200
    assert "Unlock" in listing.content.decode()
    assert f"Unlocked: agent-lockout from {HOME}." in response.content.decode()
    assert not locked.exists()
    assert AccessAttempt.objects.filter(username="bystander").count() == 1
    assert logged_in(log_in(agent.username, PASSWORD)[0])


def test_staff_without_the_delete_permission_cannot_unlock(agent, client_for):
    fail(agent.username, 5)
    client = client_for("agent")

    response = client.get(reverse("admin:axes_accessattempt_changelist"))

    assert response.status_code == 403
    assert AccessAttempt.objects.filter(username=agent.username).exists()
