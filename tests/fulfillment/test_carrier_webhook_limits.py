"""The carrier webhook refuses any token it does not know with 401, whatever its
characters, and slows guessing down: past OMS_CARRIER_AUTH_FAILURE_RATE failures for a
carrier from one address, that address gets 429 until the rate allows again."""

import pytest
from django.core.cache import caches
from django.test import override_settings
from rest_framework.test import APIClient

from core.api import throttling
from fulfillment.models import TrackingEvent
from tests.factories import CarrierFactory

URL = "/api/carriers/PEX/events/"
EVENT = {
    "tracking_number": "NOT-SHIPPED",  # a known carrier and the right token get a 404
    "status": "delivered",
    "occurred_at": "2026-11-24T10:00:00Z",
    "event_id": "evt-1",
}


@pytest.fixture(autouse=True)
def _fresh_counters():
    caches["throttle"].clear()
    throttling.reset_fallback()
    yield
    caches["throttle"].clear()


@pytest.fixture
def carrier(db):
    return CarrierFactory(code="PEX", name="ParcelExpress", webhook_secret="s3cret")


def post(token: str, address: str = "198.51.100.7", code: str = "PEX"):
    return APIClient().post(
        f"/api/carriers/{code}/events/",
        EVENT,
        format="json",
        HTTP_X_CARRIER_TOKEN=token,
        REMOTE_ADDR=address,
    )


def assert_problem(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code


@pytest.mark.parametrize("token", ["sécret", "s3cret€", "\u00ff" * 40, "", "s3cre"])
def test_a_wrong_token_of_any_characters_is_401(carrier, token):
    response = post(token)

    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"]
    assert TrackingEvent.objects.count() == 0


def test_the_right_token_passes(carrier):
    assert_problem(post("s3cret"), 404, "not_found")


@override_settings(OMS_CARRIER_AUTH_FAILURE_RATE="10/min")
def test_guessing_is_refused_after_ten_failures_even_the_right_token(carrier):
    # Given ten wrong guesses from one address
    failures = [post(f"guess-{n}").status_code for n in range(10)]

    # When it sends another guess, and then the right token
    guess = post("guess-10")
    right = post("s3cret")

    # Then both are refused with 429 and a Retry-After
    assert failures == [401] * 10
    assert_problem(guess, 429, "throttled")
    assert_problem(right, 429, "throttled")
    # The count slides over two one-minute windows: when the failures straddle a window's
    # end, the wait is the rest of this window plus the time the last one's share needs
    # to fade (at most a tenth of a minute for 10/min).
    assert 1 <= int(right["Retry-After"]) <= 66
    # while the carrier itself, posting from its own address, still gets through
    assert_problem(post("s3cret", address="203.0.113.9"), 404, "not_found")
    # and the same address may still post for another carrier
    CarrierFactory(code="UPX", name="UPX", webhook_secret="other")
    assert_problem(post("other", code="UPX"), 404, "not_found")


@override_settings(OMS_CARRIER_AUTH_FAILURE_RATE="3/min")
def test_successful_posts_are_not_counted(carrier):
    assert [post("s3cret").status_code for _ in range(6)] == [404] * 6
    assert [post("wrong").status_code for _ in range(4)] == [401, 401, 401, 429]


@override_settings(OMS_CARRIER_AUTH_FAILURE_RATE="3/min", OMS_TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_the_forwarded_address_counts(carrier):
    def via_proxy(token: str, client: str):
        return APIClient().post(
            URL,
            EVENT,
            format="json",
            HTTP_X_CARRIER_TOKEN=token,
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, {client}",
        )

    assert [via_proxy("wrong", "198.51.100.7").status_code for _ in range(4)] == [401] * 3 + [429]
    assert via_proxy("s3cret", "203.0.113.9").status_code == 404
