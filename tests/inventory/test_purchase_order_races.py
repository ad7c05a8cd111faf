"""Two deliveries counted in at once for the last open units of a purchase order, on
real PostgreSQL transactions: exactly one is recorded, the other is refused."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.actors import Actor
from inventory.models import PurchaseOrderReceipt, StockLevel
from inventory.purchase_orders import (
    OverReceipt,
    create_purchase_order,
    receive_purchase_order,
)
from tests.factories import LocationFactory, ProductFactory
from tests.inventory.ledger import assert_stock_consistent
from tests.inventory.test_concurrency import run_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

SYSTEM = Actor.system("race")


def test_two_receipts_for_the_last_open_units_receive_them_once():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    dc = LocationFactory(code="DC1")
    kettle = ProductFactory(sku="KETTLE")
    ProductFactory(sku="MUG")  # a second line keeps the order open after the race
    po = create_purchase_order(
        location=dc,
        supplier="Acme",
        lines={"KETTLE": 10, "MUG": 5},
        expected_date=timezone.localdate() + timedelta(days=3),
        actor=SYSTEM,
    ).purchase_order
    receive_purchase_order(purchase_order=po, lines={"KETTLE": 4}, actor=SYSTEM)

    def deliver(note: str):
        return lambda: receive_purchase_order(
            purchase_order=po, lines={"KETTLE": 6}, reference=note, actor=SYSTEM
        )

    outcomes = run_together([deliver("DN-A"), deliver("DN-B")])

    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["error", "ok"], outcomes
    error = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(error, OverReceipt)
    level = StockLevel.objects.get(location=dc, product=kettle)
    assert (level.on_hand, level.incoming) == (10, 0)
    assert PurchaseOrderReceipt.objects.filter(purchase_order=po).count() == 2
    assert_stock_consistent()
