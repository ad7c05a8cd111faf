"""The order representation is written by hand for speed; it must say exactly what
the declared serializer fields say, so the schema and the responses never drift."""

from decimal import Decimal

import pytest
from rest_framework import serializers

from fulfillment.api.serializers import OrderOutput
from inventory import services as stock
from orders.api.serializers import HoldOutput, LineOutput, hold_representation, line_representation
from orders.models import Order
from tests.factories import ProductFactory

from .support import order_body, post_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def held_customised_order(api, company, stocked, warehouse, standard, tax, address, system_actor):
    """An order with a customised line, tax, a backordered line and an approval hold."""
    engraved = ProductFactory(
        list_price=Decimal("19.99"), is_customizable=True, customization_fields=["engraving"]
    )
    stock.receive_stock(location=warehouse, product=engraved, quantity=5, actor=system_actor)
    scarce = ProductFactory(list_price=Decimal("3.33"), allow_backorder=True)
    company.approval_threshold = Decimal("10.00")
    company.save()
    body = order_body([(stocked[0].sku, 2), (scarce.sku, 4)], address)
    body["lines"].append({"sku": engraved.sku, "quantity": 1, "customization": {"engraving": "A"}})
    response = post_order(api, body, "repr-1")
    assert response.status_code == 201, response.content
    return response, Order.objects.get(number=response.json()["number"])


def test_order_output_matches_its_declared_fields(held_customised_order):
    response, order = held_customised_order
    output = OrderOutput(order)
    declared = serializers.Serializer.to_representation(output, order)

    assert output.data == declared
    assert response.json() == declared
    assert list(output.data) == list(OrderOutput().fields)


def test_lines_and_holds_match_their_model_serializers(held_customised_order):
    _, order = held_customised_order
    lines = list(order.lines.order_by("line_number"))
    holds = list(order.holds.all())

    assert [line_representation(li) for li in lines] == LineOutput(lines, many=True).data
    assert [hold_representation(h) for h in holds] == HoldOutput(holds, many=True).data
    assert any(li.quantity_backordered for li in lines)
    assert any(li.customization for li in lines)
    assert holds, "the approval threshold puts the order on hold"
