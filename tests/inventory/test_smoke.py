from decimal import Decimal

import pytest

from inventory import services
from inventory.models import NetworkStock, StockMovement
from tests.factories import LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_receipt_updates_level_ledger_and_network(system_actor):
    location, product = LocationFactory(), ProductFactory(list_price=Decimal("3.00"))

    level = services.receive_stock(
        location=location, product=product, quantity=7, actor=system_actor, reference="PO-1"
    )

    assert level.on_hand == 7
    assert StockMovement.objects.get().delta == 7
    assert NetworkStock.objects.get(product=product).available == 7
