"""Text messages: our provider interface, its console and file backends, the Twilio
adapter over the official SDK with its HTTP layer replaced by a fake answering Twilio's
documented JSON, and phone numbers validated to E.164 wherever a customer's phone
enters."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from twilio.http import HttpClient
from twilio.http.response import Response

from core import sms
from core.actors import Actor
from core.errors import InvalidInput
from core.outbox import RetryLater
from core.phones import InvalidPhone, normalise_phone
from core.sms.backends import ConsoleBackend, FileBackend
from core.sms.twilio import TwilioBackend
from customers.api_keys import create_storefront_api_key
from customers.models import Address, Customer
from customers.services import add_address, create_customer
from orders.imports import import_orders, read_dataset
from orders.models import Notification, NotificationStatus, Order, OrderEvent, OrderEventType
from orders.notifications import OrderMessage, Recipient, deliver_order_message
from tests.factories import CustomerFactory, ShippingMethodFactory, UserFactory
from tests.orders.factories import OrderLineFactory

pytestmark = pytest.mark.django_db

ACCOUNT = "AC" + "0" * 32
TOKEN = "twilio-test-token"
SERVICE = "MG" + "1" * 32


class FakeTwilioHttp(HttpClient):
    """Twilio's REST API at the HTTP boundary: records each request and answers with the
    documented JSON of the Messages resource (or of an error)."""

    def __init__(self, *, status: int = 201, error: dict[str, Any] | None = None) -> None:
        super().__init__(logger=None, is_async=False)  # type: ignore[arg-type]
        self.status = status
        self.error = error
        self.requests: list[dict[str, Any]] = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **kwargs):
        self.requests.append(
            {"method": method, "uri": uri, "data": data, "headers": headers, "auth": auth}
        )
        if self.error is not None:
            return Response(self.status, json.dumps(self.error))
        message = {
            "account_sid": ACCOUNT,
            "api_version": "2010-04-01",
            "body": data["Body"],
            "date_created": "Sat, 05 Dec 2026 12:00:00 +0000",
            "date_sent": None,
            "date_updated": "Sat, 05 Dec 2026 12:00:00 +0000",
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": None,
            "messaging_service_sid": data.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": "SM" + "a" * 32,
            "status": "accepted",
            "subresource_uris": {},
            "to": data["To"],
            "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/SM{'a' * 32}.json",
        }
        return Response(self.status, json.dumps(message))


@pytest.fixture
def twilio_settings(settings):
    settings.OMS_TWILIO_ACCOUNT_SID = ACCOUNT
    settings.OMS_TWILIO_AUTH_TOKEN = TOKEN
    settings.OMS_TWILIO_API_KEY_SID = ""
    settings.OMS_TWILIO_MESSAGING_SERVICE_SID = SERVICE
    settings.OMS_TWILIO_FROM_NUMBER = ""
    return settings


def test_twilio_sends_through_the_messages_api_with_the_account_credentials(twilio_settings):
    fake = FakeTwilioHttp()

    sid = TwilioBackend(http_client=fake).send(
        to="+14155550123", body="Order SO-1 has shipped", idempotency_key="order:1:shipped"
    )

    assert sid == "SM" + "a" * 32
    [call] = fake.requests
    assert call["method"] == "POST"
    assert call["uri"] == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert call["auth"] == (ACCOUNT, TOKEN)
    assert call["data"] == {
        "To": "+14155550123",
        "Body": "Order SO-1 has shipped",
        "MessagingServiceSid": SERVICE,
    }


def test_twilio_sends_from_a_number_without_a_messaging_service(twilio_settings):
    twilio_settings.OMS_TWILIO_MESSAGING_SERVICE_SID = ""
    twilio_settings.OMS_TWILIO_FROM_NUMBER = "+15005550006"
    fake = FakeTwilioHttp()

    TwilioBackend(http_client=fake).send(to="+14155550123", body="Hi", idempotency_key="k")

    assert fake.requests[0]["data"]["From"] == "+15005550006"
    assert "MessagingServiceSid" not in fake.requests[0]["data"]


def test_twilio_with_an_api_key_authenticates_with_the_key(twilio_settings):
    twilio_settings.OMS_TWILIO_API_KEY_SID = "SK" + "2" * 32
    twilio_settings.OMS_TWILIO_API_KEY_SECRET = "key-secret"
    fake = FakeTwilioHttp()

    TwilioBackend(http_client=fake).send(to="+14155550123", body="Hi", idempotency_key="k")

    assert fake.requests[0]["auth"] == ("SK" + "2" * 32, "key-secret")
    assert f"/Accounts/{ACCOUNT}/Messages.json" in fake.requests[0]["uri"]


def test_twilio_refusing_the_number_is_an_invalid_number(twilio_settings):
    fake = FakeTwilioHttp(
        status=400,
        error={
            "code": 21211,
            "message": "The 'To' number +15551234567 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
    )

    with pytest.raises(sms.InvalidPhoneNumber, match="21211"):
        TwilioBackend(http_client=fake).send(to="+15551234567", body="Hi", idempotency_key="k")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_twilio_failing_on_its_side_is_retried_later(twilio_settings, status):
    fake = FakeTwilioHttp(
        status=status,
        error={
            "code": 20429 if status == 429 else 20500,
            "message": "Too Many Requests" if status == 429 else "Internal Server Error",
            "more_info": "https://www.twilio.com/docs/errors/20500",
            "status": status,
        },
    )

    with pytest.raises(sms.ProviderUnavailable) as unavailable:
        TwilioBackend(http_client=fake).send(to="+14155550123", body="Hi", idempotency_key="k")
    # a transient error: the outbox consumer retries it
    assert isinstance(unavailable.value, RetryLater)


def test_twilio_unreachable_is_retried_later(twilio_settings):
    class Unreachable(FakeTwilioHttp):
        def request(self, *args, **kwargs):
            raise ConnectionError("connection refused")

    with pytest.raises(sms.ProviderUnavailable):
        TwilioBackend(http_client=Unreachable()).send(
            to="+14155550123", body="Hi", idempotency_key="k"
        )


def test_the_console_backend_prints_the_message(capsys):
    message_id = ConsoleBackend().send(to="+14155550123", body="Hello there", idempotency_key="k1")

    out = capsys.readouterr().out
    assert "To: +14155550123" in out
    assert "Hello there" in out
    assert message_id == ConsoleBackend().send(to="+14155550123", body="x", idempotency_key="k1")


def test_the_file_backend_writes_one_file_per_message(settings, tmp_path):
    settings.OMS_SMS_FILE_PATH = str(tmp_path / "sms")

    FileBackend().send(to="+14155550123", body="First", idempotency_key="a")
    FileBackend().send(to="+14155550123", body="Second", idempotency_key="b")
    FileBackend().send(to="+14155550123", body="Second", idempotency_key="b")  # the same

    files = sorted((tmp_path / "sms").iterdir())
    assert len(files) == 2
    assert any("First" in f.read_text() for f in files)


def test_send_sms_refuses_a_number_not_in_e164():
    with pytest.raises(sms.InvalidPhoneNumber):
        sms.send_sms(to="415 555 0123", body="Hi", idempotency_key="k")
    assert sms.outbox == []


# --- through the notification log -------------------------------------------------------


def _message(order) -> OrderMessage:
    return OrderMessage(
        kind="shipped",
        event="shipped",
        subject=f"Your order {order.number} has shipped",
        template="emails/delayed",
        context={"order": order, "lines": [], "shipment": None},
        params={"builder": "order", "event": "delayed"},
    )


def test_an_order_text_goes_through_twilio(settings, twilio_settings):
    fake = FakeTwilioHttp()
    settings.OMS_SMS_BACKEND = f"{__name__}.FakeTwilioBackend"
    FakeTwilioBackend.http = fake
    order = OrderLineFactory().order

    [sent] = deliver_order_message(
        order=order,
        dedupe_key=f"test:{order.pk}",
        message=_message(order),
        recipients=[Recipient("sms", "+14155550123", customer_id=order.customer_id)],
    )

    assert sent.provider_id == "SM" + "a" * 32
    assert sent.status == NotificationStatus.SENT
    [call] = fake.requests
    assert order.number in call["data"]["Body"]
    assert "https://" in call["data"]["Body"]  # the status link
    event = OrderEvent.objects.get(order=order, type=OrderEventType.NOTIFICATION_SENT)
    assert event.payload["channel"] == "sms"
    assert event.payload["recipient"] == "+14155550123"


def test_a_number_twilio_refuses_is_marked_failed_on_the_timeline_and_not_retried(
    settings, twilio_settings
):
    settings.OMS_SMS_BACKEND = f"{__name__}.FakeTwilioBackend"
    FakeTwilioBackend.http = FakeTwilioHttp(
        status=400, error={"code": 21614, "message": "not a mobile number", "status": 400}
    )
    order = OrderLineFactory().order

    sent = deliver_order_message(
        order=order,
        dedupe_key=f"test:{order.pk}",
        message=_message(order),
        recipients=[Recipient("sms", "+14155550123", customer_id=order.customer_id)],
    )

    assert sent == []
    row = Notification.objects.get(order=order)
    assert row.status == NotificationStatus.FAILED
    assert "21614" in row.error
    failed = OrderEvent.objects.get(order=order, type=OrderEventType.NOTIFICATION_FAILED)
    assert "+14155550123" in failed.message


class FakeTwilioBackend(TwilioBackend):
    """The Twilio backend as settings name it, on the fake HTTP layer."""

    http: FakeTwilioHttp

    def __init__(self) -> None:
        super().__init__(http_client=self.http)


# --- phone numbers, wherever they enter ----------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("(415) 555-0123", "+14155550123"),
        ("+1 415 555 0123", "+14155550123"),
        ("0044 20 7946 0958", "+442079460958"),
        ("", ""),
    ],
)
def test_phones_are_normalised_to_e164(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize("typed", ["12", "not a phone", "+1 555 010 0000"])
def test_bad_phones_are_refused(typed):
    with pytest.raises(InvalidPhone):
        normalise_phone(typed)


def test_a_customer_with_a_bad_phone_is_refused_and_nothing_is_written():
    with pytest.raises(InvalidInput) as refused:
        create_customer(email="pat@example.com", first_name="Pat", last_name="Lee", phone="12")

    assert refused.value.details["fields"] == {"phone": "invalid"}
    assert not Customer.objects.exists()


def test_an_address_phone_is_read_in_its_country():
    customer = CustomerFactory()

    saved = add_address(
        kind="shipping",
        data={
            "name": "Pat",
            "line1": "10 Downing St",
            "city": "London",
            "postal_code": "SW1A 2AA",
            "country": "GB",
            "phone": "020 7946 0958",
        },
        customer=customer,
        company=None,
        make_default=True,
    )

    assert saved.phone == "+442079460958"


def test_an_address_with_a_bad_phone_is_refused():
    with pytest.raises(InvalidInput) as refused:
        add_address(
            kind="shipping",
            data={
                "line1": "350 Fifth Avenue",
                "city": "New York",
                "region": "NY",
                "postal_code": "10118",
                "country": "US",
                "phone": "555",
            },
            customer=CustomerFactory(),
            company=None,
            make_default=True,
        )

    assert "phone" in refused.value.details["fields"]
    assert not Address.objects.exists()


def test_the_admin_refuses_a_bad_phone_with_a_message(client):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    customer = CustomerFactory(phone="+14155550123")
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    page = client.get(url)
    data = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if value is not None
    }
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name, field in management.fields.items():
            data[f"{management.prefix}-{name}"] = management.initial.get(name, field.initial)
    data.update({"phone": "12", "company": "", "company_role": ""})

    response = client.post(url, data)

    assert response.status_code == 200
    assert "is not a valid phone number" in response.content.decode()
    customer.refresh_from_db()
    assert customer.phone == "+14155550123"


@pytest.fixture
def storefront(db):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_storefront_api_key(name='shop').raw_key}"
    )
    return client


@pytest.mark.parametrize("where", ["customer", "shipping_address"])
def test_the_api_refuses_a_bad_phone_and_writes_nothing(storefront, stocked, address, where):
    ShippingMethodFactory()
    body = {
        "customer": {"email": "new@example.com", "first_name": "Sam", "last_name": "Shopper"},
        "shipping_address": address,
        "shipping_method": "STANDARD",
        "lines": [{"sku": stocked[0].sku, "quantity": 1}],
    }
    body[where] = {**body[where], "phone": "12"}

    response = storefront.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert "phone" in response.content.decode()
    assert not Customer.objects.exists()
    assert not Order.objects.exists()


def test_an_import_row_with_a_bad_phone_is_refused_with_its_reason(stocked, standard):
    customer = CustomerFactory()
    content = (
        "order_ref,customer_email,sku,quantity,shipping_method,ship_name,ship_line1,ship_city,"
        "ship_region,ship_postal_code,ship_country,ship_phone\n"
        f"P-1,{customer.email},{stocked[0].sku},1,STANDARD,Pat,1 Main St,New York,NY,10001,US,"
        "(212) 555-0147\n"
        f"P-2,{customer.email},{stocked[0].sku},1,STANDARD,Pat,1 Main St,New York,NY,10001,US,"
        "555\n"
    ).encode()

    report = import_orders(
        read_dataset(content, "orders.csv"),
        channel="marketplace",
        actor=Actor.system("test"),
        dry_run=False,
    )

    outcome = {r.reference: r for r in report.orders}
    assert outcome["P-1"].ok
    assert not outcome["P-2"].ok
    assert "phone" in " ".join(outcome["P-2"].errors)
    assert Order.objects.get().ship_phone == "+12125550147"
