"""The payment status on the order page and in the order list's filter: read-only,
set by billing through ``orders.services.record_payment_status``."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from orders.models import OrderEvent, PaymentStatus
from orders.services import record_payment_status
from tests.billing.conftest import make_products, place_routed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_order_list_filters_on_the_payment_status_and_the_page_shows_it(shop):
    a, b = make_products(shop, [Decimal("30.00"), Decimal("5.00")])
    failed, _ = place_routed([(a, 1)])
    pending, _ = place_routed([(b, 1)])
    assert record_payment_status(failed.pk, PaymentStatus.FAILED)
    assert not record_payment_status(failed.pk, PaymentStatus.FAILED)  # no change, no event
    assert OrderEvent.objects.filter(order=failed, payload__payment_status="failed").count() == 1
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    listed = client.get(reverse("admin:orders_order_changelist"), {"payment_status": "failed"})
    page = client.get(reverse("admin:orders_order_change", args=[failed.pk]))

    assert listed.status_code == 200
    assert failed.number in listed.content.decode()
    assert pending.number not in listed.content.decode()
    assert page.status_code == 200
    assert "Failed" in page.content.decode()
    assert 'name="payment_status"' not in page.content.decode()  # read-only
