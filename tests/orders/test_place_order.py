import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from core.actors import Actor
from core.models import OutboxEvent
from customers.models import PriceList, PriceListEntry
from inventory import services as stock
from inventory.errors import InsufficientStock, UnknownSku
from inventory.models import NetworkStock, StockLevel
from orders.errors import InvalidOrder, PoNumberRequired, UnknownShippingMethod
from orders.models import HoldKind, Notification, Order, OrderEvent, OrderLine, OrderStatus
from orders.placement import LineRequest, OrderRequest, place_order
from orders.services import HistoricalLine, import_historical_order
from tests.factories import LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db(transaction=False)

ACTOR = Actor.api_client("test-client")


def request_for(customer, products, address, quantities=(1,), **kwargs):
    return OrderRequest(
        customer=customer,
        channel=kwargs.pop("channel", "web"),
        shipping_method_code=kwargs.pop("shipping_method_code", "STANDARD"),
        shipping_address=address,
        lines=[
            LineRequest(sku=p.sku, quantity=q) for p, q in zip(products, quantities, strict=False)
        ],
        **kwargs,
    )


def snapshot():
    return (
        Order.objects.count(),
        OrderLine.objects.count(),
        OrderEvent.objects.count(),
        OutboxEvent.objects.count(),
        list(NetworkStock.objects.order_by("pk").values_list("available", "committed")),
    )


def test_places_order_commits_network_demand_and_prices_with_tax(
    customer, stocked, address, standard, tax, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        placed = place_order(
            request=request_for(customer, stocked[:2], address, (2, 3)), actor=ACTOR
        )

    order = Order.objects.get(pk=placed.order.pk)
    assert order.status == OrderStatus.PLACED
    assert order.subtotal == Decimal("50.00")
    assert order.shipping_total == Decimal("5.00")
    assert order.tax_total == Decimal("4.44")  # 2 × 10 × 8.875 % + 3 × 10 × 8.875 %, per line
    assert order.grand_total == Decimal("59.44")
    assert [
        n.committed for n in NetworkStock.objects.filter(product__in=stocked[:2]).order_by("pk")
    ] == [2, 3]
    assert order.ship_latitude is not None
    assert OrderEvent.objects.filter(order=order, type="placed").count() == 1
    assert OutboxEvent.objects.get().published_at is not None
    assert len(mail.outbox) == 1
    assert order.number in mail.outbox[0].subject
    assert Notification.objects.get().status == "sent"


def test_refuses_whole_order_when_one_line_is_short_and_writes_nothing(
    customer, stocked, address, standard
):
    before = snapshot()

    with pytest.raises(InsufficientStock) as info:
        place_order(request=request_for(customer, stocked[:2], address, (5, 101)), actor=ACTOR)

    assert info.value.details["lines"] == [
        {"line": 2, "sku": stocked[1].sku, "requested": 101, "available": 100}
    ]
    assert snapshot() == before


def test_backorderable_sku_records_shortfall(customer, stocked, address, standard):
    product = stocked[0]
    product.allow_backorder = True
    product.save()

    placed = place_order(request=request_for(customer, [product], address, (130,)), actor=ACTOR)

    line = placed.lines[0]
    assert line.quantity_backordered == 30
    assert NetworkStock.objects.get(product=product).committed == 100


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"shipping_method_code": "NOPE"}, UnknownShippingMethod),
        ({"quantities": (0,)}, InvalidOrder),
        ({"quantities": (-2,)}, InvalidOrder),
        ({"quantities": (10**9,)}, InvalidOrder),
    ],
)
def test_bad_input_writes_nothing(customer, stocked, address, standard, change, error):
    before = snapshot()
    quantities = change.pop("quantities", (1,))

    with pytest.raises(error):
        place_order(
            request=request_for(customer, stocked[:1], address, quantities, **change), actor=ACTOR
        )

    assert snapshot() == before


def test_unknown_sku_refused(customer, address, standard):
    with pytest.raises(UnknownSku):
        place_order(
            request=OrderRequest(
                customer=customer,
                channel="web",
                shipping_method_code="STANDARD",
                shipping_address=address,
                lines=[LineRequest(sku="NOPE-1", quantity=1)],
            ),
            actor=ACTOR,
        )
    assert Order.objects.count() == 0


def test_po_required_and_contract_price_and_exemption(
    buyer, company, stocked, address, standard, tax
):
    company.po_required = True
    company.tax_exempt = True
    company.tax_exemption_number = "EX-1"
    company.price_list = PriceList.objects.create(code="C1", name="Contract")
    company.save()
    PriceListEntry.objects.create(
        price_list=company.price_list,
        product=stocked[0],
        min_quantity=1,
        unit_price=Decimal("9.00"),
    )
    PriceListEntry.objects.create(
        price_list=company.price_list,
        product=stocked[0],
        min_quantity=10,
        unit_price=Decimal("8.00"),
    )

    with pytest.raises(PoNumberRequired):
        place_order(
            request=request_for(buyer, stocked[:1], address, (10,), channel="b2b_api"), actor=ACTOR
        )

    placed = place_order(
        request=request_for(
            buyer, stocked[:1], address, (10,), channel="b2b_api", po_number="PO-9"
        ),
        actor=ACTOR,
    )
    assert placed.lines[0].unit_price == Decimal("8.00")
    assert placed.order.tax_total == Decimal("0")


def test_holds_for_credit_limit_and_approval(buyer, company, stocked, address, standard):
    company.credit_limit = Decimal("20")
    company.approval_threshold = Decimal("15")
    company.save()

    placed = place_order(
        request=request_for(buyer, stocked[:1], address, (3,), channel="b2b_api"), actor=ACTOR
    )

    assert {h.kind for h in placed.holds} == {HoldKind.CREDIT_LIMIT, HoldKind.B2B_APPROVAL}
    assert OrderEvent.objects.filter(order=placed.order, type="hold_placed").count() == 2


def test_pickup_order_allocates_at_its_store(customer, address, pickup_method, system_actor):
    store = LocationFactory(code="ST-NYC", kind="store", pickup=True, postal_code="10001")
    product = ProductFactory()
    stock.receive_stock(location=store, product=product, quantity=4, actor=system_actor)

    placed = place_order(
        request=OrderRequest(
            customer=customer,
            channel="web",
            shipping_method_code="PICKUP",
            pickup_location_code="ST-NYC",
            lines=[LineRequest(sku=product.sku, quantity=3)],
        ),
        actor=ACTOR,
    )

    level = StockLevel.objects.get(location=store, product=product)
    assert level.allocated == 3
    assert placed.lines[0].quantity_allocated == 3
    assert NetworkStock.objects.get(product=product).available == 1


def test_imported_history_does_not_count_as_recent_velocity(customer, stocked, address, standard):
    for _ in range(6):  # imported now, placed months ago
        import_historical_order(
            customer=customer,
            channel="web",
            shipping_method=standard,
            address=address,
            lines=[HistoricalLine(product=stocked[0], quantity=1, unit_price=Decimal("10.00"))],
            placed_at=timezone.now() - dt.timedelta(days=90),
            outcome="completed",
            actor=ACTOR,
        )

    placed = place_order(request=request_for(customer, stocked[:1], address), actor=ACTOR)

    assert placed.holds == []


def test_prepaid_company_is_not_held_for_credit(buyer, company, stocked, address, standard):
    company.payment_terms = "prepaid"
    company.credit_limit = Decimal("0")
    company.save()

    placed = place_order(
        request=request_for(buyer, stocked[:1], address, channel="b2b_api"), actor=ACTOR
    )

    assert HoldKind.CREDIT_LIMIT not in {h.kind for h in placed.holds}


def test_pickup_cannot_take_units_promised_to_other_orders(
    customer, address, pickup_method, standard, system_actor
):
    store = LocationFactory(code="ST-NYC", kind="store", pickup=True, postal_code="10001")
    product = ProductFactory()
    stock.receive_stock(location=store, product=product, quantity=3, actor=system_actor)
    place_order(request=request_for(customer, [product], address, (3,)), actor=ACTOR)  # unrouted
    before = snapshot()

    with pytest.raises(InsufficientStock):
        place_order(
            request=OrderRequest(
                customer=customer,
                channel="web",
                shipping_method_code="PICKUP",
                pickup_location_code="ST-NYC",
                lines=[LineRequest(sku=product.sku, quantity=1)],
            ),
            actor=ACTOR,
        )

    assert snapshot() == before


def _committed(product):
    return NetworkStock.objects.get(product=product).committed


def test_before_commit_runs_before_the_sku_rows_are_locked(customer, stocked, address, standard):
    """Nothing can be backordered: the caller's work runs while the network rows are
    still untouched, and its failure still leaves nothing written."""
    seen = []
    place_order(
        request=request_for(customer, stocked[:1], address, (2,)),
        actor=ACTOR,
        before_commit=lambda placed: seen.append(_committed(stocked[0])),
    )
    assert seen == [0]
    assert _committed(stocked[0]) == 2

    before = snapshot()

    def refuse(placed):
        raise InvalidOrder("refused by the caller")

    with pytest.raises(InvalidOrder):
        place_order(
            request=request_for(customer, stocked[:1], address, (2,)),
            actor=ACTOR,
            before_commit=refuse,
        )
    assert snapshot() == before


def test_before_commit_runs_before_the_locks_and_again_once_units_are_backordered(
    customer, stocked, address, standard
):
    """The caller's idempotency record is written before any SKU row is locked on every
    path (the lock order); when units then turn out backordered, it runs once more
    with the final lines, so the response it keeps shows them."""
    product = stocked[0]
    product.allow_backorder = True
    product.save()
    seen = []

    place_order(
        request=request_for(customer, [product], address, (105,)),
        actor=ACTOR,
        before_commit=lambda placed: seen.append(
            (_committed(product), placed.lines[0].quantity_backordered)
        ),
    )

    assert seen == [(0, 0), (100, 5)]
