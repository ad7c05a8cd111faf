"""The payment providers (docs/billing.md, "Payment providers"): the interface's amounts,
the test provider's tokens, limits and idempotency, and the Stripe adapter against a fake
of Stripe's API under the official SDK. No database, no network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured

from billing.providers import (
    AuthorisationExpired,
    InvalidPaymentRequest,
    PaymentDeclined,
    PaymentError,
    PaymentStatus,
    ProviderUnavailable,
    get_provider,
)
from billing.providers.amounts import from_minor_units, to_minor_units
from billing.providers.stripe import STRIPE_API_VERSION, StripePaymentProvider
from billing.providers.test import CardToken, TestPaymentProvider, TestPaymentStore
from tests.billing.stripe_fake import AUTHORISATION_SECONDS, CREATED, FakeStripe, error_body

# Amounts between the interface and the providers


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.50", "USD", 1250),
        ("12.5", "usd", 1250),
        ("0.01", "EUR", 1),
        ("1500", "JPY", 1500),
        ("1500.00", "JPY", 1500),
        ("1.25", "KWD", 1250),
        ("1.250", "KWD", 1250),
        ("500", "ISK", 50000),
    ],
)
def test_amounts_convert_to_the_providers_minor_units(amount, currency, minor):
    assert to_minor_units(Decimal(amount), currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("12.505", "USD"),  # finer than a cent
        ("1500.5", "JPY"),  # the yen has no minor unit
        ("1.255", "KWD"),  # three-decimal amounts must end in 0
        ("10.5", "ISK"),  # whole krónur only
        ("0", "USD"),
        ("-5.00", "USD"),
        ("NaN", "USD"),
    ],
)
def test_amounts_the_currency_cannot_carry_are_refused_not_rounded(amount, currency):
    with pytest.raises(InvalidPaymentRequest) as caught:
        to_minor_units(Decimal(amount), currency)
    assert caught.value.code == "invalid_amount"


def test_a_float_or_a_bad_currency_is_refused():
    with pytest.raises(InvalidPaymentRequest):
        to_minor_units(12.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(InvalidPaymentRequest) as caught:
        to_minor_units(Decimal("1"), "US")
    assert caught.value.code == "invalid_currency"


def test_minor_units_read_back_with_the_currencys_decimals():
    assert from_minor_units(1250, "USD") == Decimal("12.50")
    assert str(from_minor_units(1250, "USD")) == "12.50"
    assert str(from_minor_units(1500, "JPY")) == "1500"
    assert str(from_minor_units(1250, "KWD")) == "1.250"


# The test provider


@pytest.fixture
def store():
    return TestPaymentStore()


@pytest.fixture
def provider(store):
    return TestPaymentProvider(store=store)


def authorise(provider, token=CardToken.APPROVE, amount="100.00", key="auth-1", currency="USD"):
    return provider.authorise(
        amount=Decimal(amount),
        currency=currency,
        token=token,
        idempotency_key=key,
        reference="ORD-000042",
    )


def test_approve_authorises_the_amount(provider):
    before = datetime.now(UTC)

    authorisation = authorise(provider, amount="125.50")

    assert authorisation.status == PaymentStatus.AUTHORISED
    assert authorisation.amount == Decimal("125.50")
    assert authorisation.currency == "USD"
    assert authorisation.reference.startswith("testauth_ok_USD_12550_")
    assert authorisation.expires_at is not None
    assert authorisation.expires_at >= before + timedelta(days=7)
    assert authorisation.raw["amount"] == 12550
    assert authorisation.raw["order_reference"] == "ORD-000042"


def test_the_same_key_returns_the_same_authorisation_and_holds_once(provider, store):
    first = authorise(provider, key="auth-1")
    again = authorise(provider, key="auth-1")

    assert again is first
    assert list(store.authorisations) == [first.reference]


def test_references_come_from_the_key_so_another_process_answers_the_same(provider):
    other_process = TestPaymentProvider(store=TestPaymentStore())

    assert authorise(provider).reference == authorise(other_process).reference
    assert authorise(provider, key="auth-2").reference != authorise(provider).reference


def test_a_key_reused_with_other_arguments_is_refused(provider, store):
    authorise(provider, key="auth-1", amount="100.00")

    with pytest.raises(InvalidPaymentRequest) as caught:
        authorise(provider, key="auth-1", amount="90.00")

    assert caught.value.code == "idempotency_key_reused"
    assert len(store.authorisations) == 1


@pytest.mark.parametrize(
    ("token", "decline_code"),
    [(CardToken.DECLINE, "generic_decline"), (CardToken.INSUFFICIENT_FUNDS, "insufficient_funds")],
)
def test_declining_tokens_decline_and_the_decline_is_replayed(provider, store, token, decline_code):
    with pytest.raises(PaymentDeclined) as caught:
        authorise(provider, token=token)
    with pytest.raises(PaymentDeclined) as replayed:
        authorise(provider, token=token)

    assert caught.value.decline_code == decline_code
    assert caught.value.code == "payment_declined"
    assert not caught.value.retryable
    assert replayed.value is caught.value
    assert store.authorisations == {}


def test_timeout_token_is_unavailable_every_time_and_records_nothing(provider, store):
    for _ in range(2):
        with pytest.raises(ProviderUnavailable) as caught:
            authorise(provider, token=CardToken.TIMEOUT)
        assert caught.value.retryable

    assert store.outcomes == {}
    assert store.authorisations == {}


def test_an_unknown_token_is_refused(provider, store):
    with pytest.raises(InvalidPaymentRequest) as caught:
        authorise(provider, token="tok_visa")

    assert caught.value.code == "invalid_token"
    assert store.outcomes == {}


def test_expiring_token_authorises_but_capture_and_void_find_it_expired(provider, store):
    authorisation = authorise(provider, token=CardToken.EXPIRES)
    assert authorisation.status == PaymentStatus.AUTHORISED

    with pytest.raises(AuthorisationExpired):
        provider.capture(
            authorisation_id=authorisation.reference,
            amount=Decimal("10.00"),
            currency="USD",
            idempotency_key="cap-1",
        )
    with pytest.raises(AuthorisationExpired):
        provider.void(authorisation_id=authorisation.reference, idempotency_key="void-1")

    assert store.authorisations[authorisation.reference].captured == 0
    assert store.captures == {}


def capture(provider, authorisation, amount, key, *, final=False, currency="USD"):
    return provider.capture(
        authorisation_id=authorisation.reference,
        amount=Decimal(amount),
        currency=currency,
        idempotency_key=key,
        final=final,
    )


def test_partial_captures_never_exceed_the_authorisation(provider, store):
    authorisation = authorise(provider, amount="100.00")

    first = capture(provider, authorisation, "30.00", "cap-1")
    second = capture(provider, authorisation, "50.00", "cap-2")
    with pytest.raises(InvalidPaymentRequest) as too_much:
        capture(provider, authorisation, "20.01", "cap-3")
    last = capture(provider, authorisation, "20.00", "cap-4")

    assert (first.amount, first.amount_capturable) == (Decimal("30.00"), Decimal("70.00"))
    assert (second.amount, second.amount_capturable) == (Decimal("50.00"), Decimal("20.00"))
    assert too_much.value.code == "amount_too_large"
    assert (last.amount, last.amount_capturable) == (Decimal("20.00"), Decimal("0.00"))
    assert first.status == PaymentStatus.CAPTURED
    assert first.authorisation_id == authorisation.reference
    assert len({first.reference, second.reference, last.reference}) == 3
    assert store.authorisations[authorisation.reference].captured == 10000
    with pytest.raises(InvalidPaymentRequest) as closed:
        capture(provider, authorisation, "0.01", "cap-5")
    assert closed.value.code == "authorisation_closed"


def test_a_retried_capture_returns_the_first_and_never_captures_twice(provider, store):
    authorisation = authorise(provider, amount="100.00")

    first = capture(provider, authorisation, "60.00", "cap-1")
    again = capture(provider, authorisation, "60.00", "cap-1")
    other_process = capture(
        TestPaymentProvider(store=TestPaymentStore()), authorisation, "60.00", "cap-1"
    )

    assert again is first
    assert other_process.reference == first.reference
    assert store.authorisations[authorisation.reference].captured == 6000


def test_a_final_capture_releases_the_rest(provider):
    authorisation = authorise(provider, amount="100.00")

    captured = capture(provider, authorisation, "40.00", "cap-1", final=True)

    assert captured.amount_capturable == Decimal("0.00")
    with pytest.raises(InvalidPaymentRequest) as caught:
        provider.void(authorisation_id=authorisation.reference, idempotency_key="void-1")
    assert caught.value.code == "authorisation_closed"


def test_a_capture_in_another_currency_is_refused(provider, store):
    authorisation = authorise(provider, amount="100.00")

    with pytest.raises(InvalidPaymentRequest) as caught:
        capture(provider, authorisation, "100", "cap-1", currency="JPY")

    assert caught.value.code == "currency_mismatch"
    assert store.authorisations[authorisation.reference].captured == 0


def test_void_releases_what_remains_and_closes_the_authorisation(provider):
    authorisation = authorise(provider, amount="100.00")
    capture(provider, authorisation, "30.00", "cap-1")

    void = provider.void(authorisation_id=authorisation.reference, idempotency_key="void-1")
    again = provider.void(authorisation_id=authorisation.reference, idempotency_key="void-1")

    assert void.status == PaymentStatus.VOIDED
    assert void.amount == Decimal("70.00")
    assert void.reference == authorisation.reference
    assert again is void
    with pytest.raises(InvalidPaymentRequest) as caught:
        capture(provider, authorisation, "10.00", "cap-2")
    assert caught.value.code == "authorisation_voided"


def refund(provider, reference, amount, key, reason="damaged_in_transit"):
    return provider.refund(
        payment_reference=reference,
        amount=Decimal(amount),
        currency="USD",
        idempotency_key=key,
        reason=reason,
    )


def test_refunds_never_exceed_what_was_captured(provider):
    authorisation = authorise(provider, amount="100.00")
    first = capture(provider, authorisation, "60.00", "cap-1")
    capture(provider, authorisation, "40.00", "cap-2")

    refunded = refund(provider, first.reference, "50.00", "ref-1")
    with pytest.raises(InvalidPaymentRequest) as beyond_capture:
        refund(provider, first.reference, "10.01", "ref-2")
    of_payment = refund(provider, authorisation.reference, "50.00", "ref-3")
    with pytest.raises(InvalidPaymentRequest) as beyond_payment:
        refund(provider, authorisation.reference, "0.01", "ref-4")

    assert refunded.status == PaymentStatus.REFUNDED
    assert refunded.amount == Decimal("50.00")
    assert refunded.payment_reference == first.reference
    assert refunded.raw["reason"] == "damaged_in_transit"
    assert beyond_capture.value.code == "amount_too_large"
    assert of_payment.amount == Decimal("50.00")
    assert beyond_payment.value.code == "amount_too_large"


def test_nothing_is_refundable_before_a_capture(provider):
    authorisation = authorise(provider, amount="100.00")

    with pytest.raises(InvalidPaymentRequest) as caught:
        refund(provider, authorisation.reference, "1.00", "ref-1")

    assert caught.value.code == "amount_too_large"


def test_a_retried_refund_pays_back_once(provider, store):
    authorisation = authorise(provider, amount="100.00")
    captured = capture(provider, authorisation, "100.00", "cap-1")

    first = refund(provider, captured.reference, "30.00", "ref-1")
    again = refund(provider, captured.reference, "30.00", "ref-1")

    assert again is first
    assert store.captures[captured.reference].refunded == 3000
    assert store.authorisations[authorisation.reference].refunded == 3000


def test_another_process_captures_and_refunds_within_the_amounts_the_references_carry(provider):
    authorisation = authorise(provider, amount="100.00")
    other = TestPaymentProvider(store=TestPaymentStore())

    with pytest.raises(InvalidPaymentRequest):
        capture(other, authorisation, "100.01", "cap-1")
    captured = capture(other, authorisation, "80.00", "cap-2")
    third = TestPaymentProvider(store=TestPaymentStore())
    with pytest.raises(InvalidPaymentRequest):
        refund(third, captured.reference, "80.01", "ref-1")
    refunded = refund(third, captured.reference, "80.00", "ref-2")

    assert captured.amount_capturable == Decimal("20.00")
    assert refunded.amount == Decimal("80.00")


def test_unknown_references_are_refused(provider):
    with pytest.raises(InvalidPaymentRequest) as caught:
        provider.void(authorisation_id="pi_123", idempotency_key="void-1")
    assert caught.value.code == "unknown_authorisation"


def test_zero_decimal_currencies_are_carried_whole(provider):
    authorisation = authorise(provider, amount="1500", currency="JPY")

    captured = capture(provider, authorisation, "500", "cap-1", currency="JPY")

    assert authorisation.raw["amount"] == 1500
    assert authorisation.reference.startswith("testauth_ok_JPY_1500_")
    assert captured.amount_capturable == Decimal(1000)
    with pytest.raises(InvalidPaymentRequest):
        authorise(provider, amount="1500.5", currency="JPY", key="auth-2")


# The registry


def test_get_provider_defaults_to_the_test_provider(settings):
    del settings.OMS_PAYMENT_PROVIDER  # unset: the documented default applies
    assert isinstance(get_provider(), TestPaymentProvider)


def test_get_provider_follows_the_setting(settings):
    settings.OMS_PAYMENT_PROVIDER = "stripe"
    settings.OMS_STRIPE_API_KEY = "sk_test_123"

    provider = get_provider()

    assert isinstance(provider, StripePaymentProvider)
    assert isinstance(get_provider("test"), TestPaymentProvider)


def test_the_test_providers_share_one_store_per_process():
    first, second = get_provider("test"), get_provider("test")
    assert isinstance(first, TestPaymentProvider)
    assert isinstance(second, TestPaymentProvider)
    assert first.store is second.store


def test_an_unknown_provider_or_a_stripe_provider_without_key_is_a_configuration_error(settings):
    settings.OMS_STRIPE_API_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        get_provider("paypal")
    with pytest.raises(ImproperlyConfigured):
        get_provider("stripe")


# The Stripe adapter, over the SDK, over a fake of Stripe's API


@pytest.fixture
def fake():
    return FakeStripe()


def stripe_provider(fake, retries=0):
    return StripePaymentProvider(
        api_key="sk_test_fake",
        http_client=fake.http_client(timeout=(2.0, 10.0)),
        max_network_retries=retries,
    )


@pytest.fixture
def gateway(fake):
    return stripe_provider(fake)


def stripe_authorise(
    gateway, payment_method="pm_card_visa", amount="125.50", key="auth-1", currency="USD"
):
    return gateway.authorise(
        amount=Decimal(amount),
        currency=currency,
        token=payment_method,
        idempotency_key=key,
        reference="ORD-000042",
    )


def test_stripe_authorises_with_a_manual_capture_intent(fake, gateway):
    authorisation = stripe_authorise(gateway)

    (request,) = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/payment_intents")
    assert request.form == {
        "amount": "12550",
        "currency": "usd",
        "payment_method": "pm_card_visa",
        "allowed_payment_method_types[0]": "card",
        "confirm": "true",
        "capture_method": "manual",
        "payment_method_options[card][request_multicapture]": "if_available",
        "metadata[order_reference]": "ORD-000042",
        "expand[0]": "latest_charge",
    }
    assert request.headers["Idempotency-Key"] == "auth-1"
    assert request.headers["Stripe-Version"] == STRIPE_API_VERSION
    assert request.headers["Authorization"] == "Bearer sk_test_fake"
    assert request.timeout == (2.0, 10.0)
    assert authorisation.status == PaymentStatus.AUTHORISED
    assert authorisation.reference in fake.intents
    assert authorisation.amount == Decimal("125.50")
    assert authorisation.currency == "USD"
    assert authorisation.expires_at == datetime.fromtimestamp(
        CREATED + AUTHORISATION_SECONDS, tz=UTC
    )
    assert authorisation.raw["object"] == "payment_intent"
    assert authorisation.raw["status"] == "requires_capture"
    assert authorisation.raw["latest_charge"]["object"] == "charge"


def test_stripe_amounts_are_minor_units_of_the_currency(fake, gateway):
    stripe_authorise(gateway, amount="1500", currency="JPY", key="auth-jpy")
    stripe_authorise(gateway, amount="1.25", currency="KWD", key="auth-kwd")

    assert [(r.form["amount"], r.form["currency"]) for r in fake.requests] == [
        ("1500", "jpy"),
        ("1250", "kwd"),
    ]


def test_stripe_replays_an_authorisation_by_its_key(fake, gateway):
    first = stripe_authorise(gateway)
    again = stripe_authorise(gateway)

    assert again.reference == first.reference
    assert len(fake.intents) == 1


@pytest.mark.parametrize(
    ("token", "decline_code"),
    [
        ("pm_card_visa_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclined", "generic_decline"),
    ],
)
def test_stripe_card_errors_are_declines_with_their_code(gateway, token, decline_code):
    with pytest.raises(PaymentDeclined) as caught:
        stripe_authorise(gateway, payment_method=token)

    assert caught.value.decline_code == decline_code
    assert caught.value.raw["error"]["type"] == "card_error"
    assert caught.value.raw["error"]["payment_intent"]["status"] == "requires_payment_method"


def test_stripe_asking_for_authentication_is_a_decline(gateway):
    with pytest.raises(PaymentDeclined) as caught:
        stripe_authorise(gateway, payment_method="pm_card_authenticationRequired")

    assert caught.value.decline_code == "authentication_required"
    assert caught.value.raw["status"] == "requires_action"


@pytest.mark.parametrize(
    "failure",
    [
        {"exception": requests.exceptions.ReadTimeout("read timed out")},
        {"exception": requests.exceptions.ConnectionError("connection refused")},
        {"status": 500, "body": error_body("api_error", "Something went wrong on Stripe's end.")},
        {"status": 503, "body": error_body("api_error", "Service unavailable.")},
        {
            "status": 429,
            "body": error_body("invalid_request_error", "Too many requests.", code="rate_limit"),
        },
        {
            "status": 409,
            "body": error_body(
                "invalid_request_error",
                "There is currently another in-progress request using this Idempotent Key.",
                code="lock_timeout",
            ),
        },
    ],
    ids=["timeout", "connection", "500", "503", "rate-limit", "conflict"],
)
def test_stripe_transient_failures_are_unavailable_and_retryable(fake, gateway, failure):
    fake.fail_next(**failure)

    with pytest.raises(ProviderUnavailable) as caught:
        stripe_authorise(gateway)

    assert caught.value.retryable
    assert fake.intents == {}


def test_stripe_retries_a_5xx_with_the_same_idempotency_key(fake):
    gateway = stripe_provider(fake, retries=1)
    fake.fail_next(status=503, body=error_body("api_error", "Service unavailable."))

    authorisation = stripe_authorise(gateway, key="auth-retried")

    assert [r.headers["Idempotency-Key"] for r in fake.requests] == ["auth-retried"] * 2
    assert list(fake.intents) == [authorisation.reference]


def test_stripe_refusing_our_key_is_a_configuration_error_not_retried(fake, gateway):
    fake.fail_next(
        status=401, body=error_body("invalid_request_error", "Invalid API Key provided.")
    )

    with pytest.raises(PaymentError) as caught:
        stripe_authorise(gateway)

    assert caught.value.code == "provider_configuration"
    assert not caught.value.retryable


def test_stripe_partial_capture_keeps_the_rest_held_where_multicapture_is_available(fake, gateway):
    authorisation = stripe_authorise(gateway, amount="100.00")

    captured = gateway.capture(
        authorisation_id=authorisation.reference,
        amount=Decimal("30.00"),
        currency="USD",
        idempotency_key="cap-1",
    )

    read, post = fake.requests[1:]
    assert (read.method, read.path) == ("GET", f"/v1/payment_intents/{authorisation.reference}")
    assert read.query == {"expand[0]": "latest_charge"}
    assert (post.method, post.path) == (
        "POST",
        f"/v1/payment_intents/{authorisation.reference}/capture",
    )
    assert post.form == {"amount_to_capture": "3000", "final_capture": "false"}
    assert post.headers["Idempotency-Key"] == "cap-1"
    assert captured.status == PaymentStatus.CAPTURED
    assert captured.amount == Decimal("30.00")
    assert captured.amount_capturable == Decimal("70.00")
    assert captured.reference == authorisation.reference
    assert fake.intents[authorisation.reference]["amount_received"] == 3000


def test_stripe_several_captures_then_a_final_one(fake, gateway):
    authorisation = stripe_authorise(gateway, amount="100.00")

    gateway.capture(
        authorisation_id=authorisation.reference,
        amount=Decimal("30.00"),
        currency="USD",
        idempotency_key="cap-1",
    )
    last = gateway.capture(
        authorisation_id=authorisation.reference,
        amount=Decimal("50.00"),
        currency="USD",
        idempotency_key="cap-2",
        final=True,
    )

    assert fake.posts("/v1/payment_intents/")[-1].form == {"amount_to_capture": "5000"}
    assert last.amount_capturable == Decimal("0.00")
    assert fake.intents[authorisation.reference]["amount_received"] == 8000
    assert fake.intents[authorisation.reference]["status"] == "succeeded"


def test_stripe_without_multicapture_one_capture_releases_the_rest():
    fake = FakeStripe(multicapture=False)
    gateway = stripe_provider(fake)
    authorisation = stripe_authorise(gateway, amount="100.00")

    captured = gateway.capture(
        authorisation_id=authorisation.reference,
        amount=Decimal("30.00"),
        currency="USD",
        idempotency_key="cap-1",
    )

    assert fake.posts("/v1/payment_intents/")[-1].form == {"amount_to_capture": "3000"}
    assert captured.amount_capturable == Decimal("0.00")
    with pytest.raises(InvalidPaymentRequest) as caught:
        gateway.capture(
            authorisation_id=authorisation.reference,
            amount=Decimal("10.00"),
            currency="USD",
            idempotency_key="cap-2",
        )
    assert caught.value.code == "authorisation_closed"


def test_stripe_a_retried_capture_is_replayed_not_captured_twice(fake, gateway):
    authorisation = stripe_authorise(gateway, amount="100.00")

    for _ in range(2):
        captured = gateway.capture(
            authorisation_id=authorisation.reference,
            amount=Decimal("60.00"),
            currency="USD",
            idempotency_key="cap-1",
        )

    assert captured.amount_capturable == Decimal("40.00")
    assert fake.intents[authorisation.reference]["amount_received"] == 6000
    assert len(fake.posts("/v1/payment_intents/")) == 2


def test_stripe_a_capture_beyond_the_authorisation_is_refused(fake, gateway):
    authorisation = stripe_authorise(gateway, amount="100.00")

    with pytest.raises(InvalidPaymentRequest) as caught:
        gateway.capture(
            authorisation_id=authorisation.reference,
            amount=Decimal("100.01"),
            currency="USD",
            idempotency_key="cap-1",
        )

    assert caught.value.code == "amount_too_large"
    assert fake.intents[authorisation.reference]["amount_received"] == 0


def test_stripe_a_capture_in_another_currency_is_refused_before_any_money_moves(fake, gateway):
    authorisation = stripe_authorise(gateway, amount="100.00")

    with pytest.raises(InvalidPaymentRequest) as caught:
        gateway.capture(
            authorisation_id=authorisation.reference,
            amount=Decimal("100"),
            currency="JPY",
            idempotency_key="cap-1",
            final=True,
        )

    assert caught.value.code == "currency_mismatch"
    assert fake.posts("/v1/payment_intents/") == []


def test_stripe_a_lapsed_authorisation_is_expired(fake, gateway):
    authorisation = stripe_authorise(gateway, amount="100.00")
    fake.expire(authorisation.reference)

    with pytest.raises(AuthorisationExpired) as caught:
        gateway.capture(
            authorisation_id=authorisation.reference,
            amount=Decimal("10.00"),
            currency="USD",
            idempotency_key="cap-1",
        )

    assert caught.value.raw["error"]["code"] == "payment_intent_unexpected_state"


def test_stripe_charge_expired_for_capture_is_expired(fake, gateway):
    authorisation = stripe_authorise(gateway, amount="100.00")
    fake.requests.clear()
    # The read before the capture answers normally; the capture is refused.
    fake.fail_next(status=200, body=fake.intents[authorisation.reference])
    fake.fail_next(
        status=400,
        body=error_body(
            "invalid_request_error",
            "The charge cannot be captured as the authorization has expired.",
            code="charge_expired_for_capture",
        ),
    )

    with pytest.raises(AuthorisationExpired):
        gateway.capture(
            authorisation_id=authorisation.reference,
            amount=Decimal("10.00"),
            currency="USD",
            idempotency_key="cap-1",
        )


def test_stripe_void_cancels_the_intent(fake, gateway):
    authorisation = stripe_authorise(gateway, amount="100.00")
    gateway.capture(
        authorisation_id=authorisation.reference,
        amount=Decimal("30.00"),
        currency="USD",
        idempotency_key="cap-1",
    )

    void = gateway.void(authorisation_id=authorisation.reference, idempotency_key="void-1")

    request = fake.requests[-1]
    assert (request.method, request.path) == (
        "POST",
        f"/v1/payment_intents/{authorisation.reference}/cancel",
    )
    assert request.headers["Idempotency-Key"] == "void-1"
    assert void.status == PaymentStatus.VOIDED
    assert void.amount == Decimal("70.00")
    assert fake.intents[authorisation.reference]["status"] == "canceled"
    with pytest.raises(InvalidPaymentRequest) as caught:
        gateway.capture(
            authorisation_id=authorisation.reference,
            amount=Decimal("10.00"),
            currency="USD",
            idempotency_key="cap-2",
        )
    assert caught.value.code == "authorisation_voided"


def captured_intent(gateway, amount="100.00"):
    authorisation = stripe_authorise(gateway, amount=amount)
    return gateway.capture(
        authorisation_id=authorisation.reference,
        amount=Decimal(amount),
        currency="USD",
        idempotency_key="cap-1",
        final=True,
    )


def test_stripe_refunds_the_payment_intent(fake, gateway):
    captured = captured_intent(gateway)

    refunded = gateway.refund(
        payment_reference=captured.reference,
        amount=Decimal("12.34"),
        currency="USD",
        idempotency_key="ref-1",
        reason="requested_by_customer",
    )

    request = fake.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/refunds")
    assert request.form == {
        "amount": "1234",
        "metadata[reason]": "requested_by_customer",
        "payment_intent": captured.reference,
        "reason": "requested_by_customer",
    }
    assert request.headers["Idempotency-Key"] == "ref-1"
    assert refunded.status == PaymentStatus.REFUNDED
    assert refunded.amount == Decimal("12.34")
    assert refunded.reference in fake.refunds
    assert refunded.payment_reference == captured.reference
    assert refunded.raw["object"] == "refund"


def test_stripe_refund_reasons_of_ours_travel_as_metadata(fake, gateway):
    captured = captured_intent(gateway)

    gateway.refund(
        payment_reference=captured.reference,
        amount=Decimal("5.00"),
        currency="USD",
        idempotency_key="ref-1",
        reason="damaged_in_transit",
    )

    form = fake.requests[-1].form
    assert form["metadata[reason]"] == "damaged_in_transit"
    assert "reason" not in form


def test_stripe_refunds_a_charge_and_reports_a_pending_refund():
    fake = FakeStripe(refund_status="pending")
    gateway = stripe_provider(fake)
    captured = captured_intent(gateway)
    charge_id = fake.intents[captured.reference]["latest_charge"]

    refunded = gateway.refund(
        payment_reference=charge_id,
        amount=Decimal("5.00"),
        currency="USD",
        idempotency_key="ref-1",
        reason="duplicate",
    )

    assert fake.requests[-2].path == f"/v1/charges/{charge_id}"
    assert fake.requests[-1].form["charge"] == charge_id
    assert refunded.status == PaymentStatus.PENDING


def test_stripe_a_refund_beyond_the_capture_is_refused_and_a_retry_pays_once(fake, gateway):
    captured = captured_intent(gateway)

    with pytest.raises(InvalidPaymentRequest) as caught:
        gateway.refund(
            payment_reference=captured.reference,
            amount=Decimal("100.01"),
            currency="USD",
            idempotency_key="ref-1",
            reason="duplicate",
        )
    for _ in range(2):
        gateway.refund(
            payment_reference=captured.reference,
            amount=Decimal("40.00"),
            currency="USD",
            idempotency_key="ref-2",
            reason="duplicate",
        )

    assert caught.value.code == "amount_too_large"
    assert len(fake.refunds) == 1
    charge = fake.charges[fake.intents[captured.reference]["latest_charge"]]
    assert charge["amount_refunded"] == 4000


def test_stripe_a_key_reused_with_other_arguments_is_refused(fake, gateway):
    captured = captured_intent(gateway)
    gateway.refund(
        payment_reference=captured.reference,
        amount=Decimal("10.00"),
        currency="USD",
        idempotency_key="ref-1",
        reason="duplicate",
    )

    with pytest.raises(InvalidPaymentRequest) as caught:
        gateway.refund(
            payment_reference=captured.reference,
            amount=Decimal("20.00"),
            currency="USD",
            idempotency_key="ref-1",
            reason="duplicate",
        )

    assert caught.value.code == "idempotency_key_reused"
    assert len(fake.refunds) == 1
