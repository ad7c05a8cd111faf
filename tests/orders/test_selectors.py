"""The order console's reads, called directly: live availability of a draft's lines
(with placement's own backorder rule), the preview of an order about to be placed, a
saved draft's stock and reservation, open holds and notifications."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import refcache
from core.actors import Actor
from core.errors import DomainError
from inventory import services as inventory_services
from inventory.models import NetworkReservation, StockLevel, StockMovement
from orders import drafts, selectors, services
from orders.models import HoldKind, Notification, Order, OrderLine
from orders.placement import LineRequest, OrderRequest
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("selectors test")
ADDRESS = {
    "name": "Pat Buyer",
    "line1": "2 Elm St",
    "city": "Reno",
    "region": "NV",
    "postal_code": "89502",
    "country": "US",
}


@pytest.fixture(autouse=True)
def _fresh_reference_cache():
    refcache.clear()
    yield
    refcache.clear()


@pytest.fixture
def warehouse(db):
    return LocationFactory(code="RNO1")


@pytest.fixture
def store(db):
    return LocationFactory(code="NYC1", kind="store", pickup=True, postal_code="10001")


@pytest.fixture
def standard(db):
    return ShippingMethodFactory()


@pytest.fixture
def mug(warehouse, store):
    product = ProductFactory(sku="MUG-RED", list_price=Decimal("12.00"))
    inventory_services.receive_stock(location=warehouse, product=product, quantity=4, actor=SYSTEM)
    inventory_services.receive_stock(location=store, product=product, quantity=1, actor=SYSTEM)
    return product


def request_for(customer, *lines, pickup=""):
    return OrderRequest(
        customer=customer,
        channel="agent",
        shipping_method_code="STANDARD",
        lines=[LineRequest(sku=sku, quantity=qty) for sku, qty in lines],
        shipping_address=None if pickup else ADDRESS,
        pickup_location_code=pickup,
    )


# --- line_availability -----------------------------------------------------------------


def test_a_line_is_in_stock_across_the_network(mug):
    # when
    found = selectors.line_availability({"MUG-RED": 5}, backorderable=set())

    # then
    assert found["MUG-RED"] == selectors.LineAvailability(
        available=5, source="network", locations="NYC1: 1, RNO1: 4", status="In stock"
    )


def test_a_short_line_says_by_how_much_and_whether_it_is_backordered(mug):
    # when
    refused = selectors.line_availability({"MUG-RED": 8}, backorderable=set())
    backordered = selectors.line_availability({"MUG-RED": 8}, backorderable={"MUG-RED"})

    # then
    assert refused["MUG-RED"].status == "Short by 3"
    assert backordered["MUG-RED"].status == "Short by 3: backordered"


def test_a_pickup_line_counts_the_store_only_and_is_never_backordered(mug):
    # when
    found = selectors.line_availability(
        {"MUG-RED": 2}, backorderable={"MUG-RED"}, pickup_code="NYC1"
    )

    # then
    assert (found["MUG-RED"].available, found["MUG-RED"].source) == (1, "NYC1")
    assert found["MUG-RED"].status == "Short by 1"


def test_units_already_held_for_the_order_count_as_available(mug):
    # when
    found = selectors.line_availability({"MUG-RED": 7}, backorderable=set(), extra={"MUG-RED": 2})

    # then
    assert (found["MUG-RED"].available, found["MUG-RED"].status) == (7, "In stock")


def test_an_unknown_sku_has_no_stock_recorded(db):
    # when
    found = selectors.line_availability({"NOPE": 1}, backorderable=set())

    # then
    assert found["NOPE"] == selectors.LineAvailability(
        available=0, source="network", locations="no stock recorded", status="Short by 1"
    )


def test_availability_takes_two_queries_whatever_the_number_of_skus(mug):
    ProductFactory(sku="CUP-BLUE")
    ProductFactory(sku="PLATE")

    with CaptureQueriesContext(connection) as one:
        selectors.line_availability({"MUG-RED": 1}, backorderable=set())
    with CaptureQueriesContext(connection) as three:
        selectors.line_availability({"MUG-RED": 1, "CUP-BLUE": 1, "PLATE": 1}, backorderable=set())

    assert len(one) == len(three) == 2


# --- get_draft_preview ----------------------------------------------------------------


def test_the_preview_prices_promises_and_checks_stock_without_writing(mug, standard):
    # given
    customer = CustomerFactory()
    counts = (Order.objects.count(), OrderLine.objects.count(), StockMovement.objects.count())

    # when
    preview = selectors.get_draft_preview(request_for(customer, ("MUG-RED", 2)))

    # then
    assert preview.order.pk is None
    assert [(line.sku, line.quantity_ordered) for line in preview.lines] == [("MUG-RED", 2)]
    assert preview.order.grand_total == preview.order.subtotal + preview.order.shipping_total + (
        preview.order.tax_total
    )
    assert preview.delivery_date > preview.ship_by_date >= timezone.localdate() - dt.timedelta(1)
    assert preview.transit_days >= 5
    assert preview.availability["MUG-RED"].status == "In stock"
    assert counts == (
        Order.objects.count(),
        OrderLine.objects.count(),
        StockMovement.objects.count(),
    )


def test_the_preview_backorders_by_placements_rule(mug, standard):
    # given: a company that takes backorders (the product itself does not)
    company = CompanyFactory(allow_backorders=True)
    buyer = CustomerFactory(company=company, company_role="buyer")
    shopper = CustomerFactory()

    # when
    for_company = selectors.get_draft_preview(request_for(buyer, ("MUG-RED", 9)))
    for_shopper = selectors.get_draft_preview(request_for(shopper, ("MUG-RED", 9)))

    # then
    assert for_company.availability["MUG-RED"].status == "Short by 4: backordered"
    assert for_shopper.availability["MUG-RED"].status == "Short by 4"


def test_a_product_that_allows_backorders_is_backordered_for_anyone(mug, standard):
    # given
    mug.allow_backorder = True
    mug.save(update_fields=["allow_backorder"])

    # when
    preview = selectors.get_draft_preview(request_for(CustomerFactory(), ("MUG-RED", 9)))

    # then
    assert preview.availability["MUG-RED"].status == "Short by 4: backordered"


def test_the_preview_refuses_what_placement_refuses(mug, standard):
    with pytest.raises(DomainError):
        selectors.get_draft_preview(request_for(CustomerFactory(), ("NOPE", 1)))


# --- get_draft_stock ------------------------------------------------------------------


@pytest.fixture
def draft(mug, standard):
    return drafts.create_draft_order(
        request=request_for(CustomerFactory(), ("MUG-RED", 3)), actor=SYSTEM
    )


def test_a_draft_without_reservation_shows_its_lines_and_the_network(draft):
    # when
    stock = selectors.get_draft_stock(draft)

    # then
    assert [line.sku for line in stock.lines] == ["MUG-RED"]
    assert (stock.reserved, stock.reserved_until) == ({}, None)
    assert stock.availability["MUG-RED"].available == 5


def test_a_drafts_own_reservation_counts_for_it(draft):
    # given
    until = drafts.reserve_draft_stock(order_id=draft.pk, actor=SYSTEM)

    # when
    stock = selectors.get_draft_stock(draft)

    # then: the network has 2 left for others, plus the 3 held for this draft
    assert stock.reserved == {"MUG-RED": 3}
    assert stock.reserved_until == until
    assert stock.availability["MUG-RED"].available == 5
    assert NetworkReservation.objects.filter(reference=draft.number).count() == 1


def test_a_drafts_stock_takes_four_queries(draft):
    drafts.reserve_draft_stock(order_id=draft.pk, actor=SYSTEM)
    draft = Order.objects.select_related("company", "pickup_location").get(pk=draft.pk)

    with CaptureQueriesContext(connection) as queries:
        selectors.get_draft_stock(draft)

    assert len(queries) == 4


# --- holds and notifications ----------------------------------------------------------


def test_open_holds_are_the_unreleased_ones_oldest_first():
    # given
    order = OrderFactory()
    fraud = services.place_hold(order=order, kind=HoldKind.FRAUD_REVIEW, reason="a", actor=SYSTEM)
    manual = services.place_hold(order=order, kind=HoldKind.MANUAL, reason="b", actor=SYSTEM)
    payment = services.place_hold(order=order, kind=HoldKind.PAYMENT, reason="c", actor=SYSTEM)
    services.release_hold(hold_id=manual.pk, reason="done", actor=SYSTEM)

    # when
    holds = list(selectors.list_open_holds(order))

    # then
    assert holds == [fraud, payment]


def test_notifications_are_the_orders_newest_first_up_to_the_limit():
    # given
    order, other = OrderFactory(), OrderFactory()
    sent = [
        Notification.objects.create(
            order=o,
            event="shipped",
            channel="email",
            recipient="pat@example.com",
            dedupe_key=k,
            status="sent",
        )
        for o, k in ((order, "a"), (order, "b"), (order, "c"), (other, "d"))
    ]

    # when
    found = list(selectors.list_order_notifications(order, limit=2))

    # then
    assert found == [sent[2], sent[1]]


def test_a_stores_pickup_draft_reads_the_store(mug, standard, store):
    # given
    ShippingMethodFactory(
        code="PICKUP",
        name="Store pickup",
        service_level="pickup",
        carrier=None,
        transit_days_min=0,
        transit_days_max=0,
        price=Decimal("0"),
    )

    # when
    preview = selectors.get_draft_preview(
        OrderRequest(
            customer=CustomerFactory(),
            channel="agent",
            shipping_method_code="PICKUP",
            lines=[LineRequest(sku="MUG-RED", quantity=1)],
            pickup_location_code="NYC1",
        )
    )

    # then
    assert preview.availability["MUG-RED"].source == "NYC1"
    assert StockLevel.objects.get(location=store, product=mug).allocated == 0


# --- recent orders of a customer or company (the customer and company pages) ---------------


def test_recent_orders_of_a_customer_are_theirs_newest_first_and_bounded():
    # given
    customer = CustomerFactory()
    _oldest, middle, newest = (OrderFactory(customer=customer) for _ in range(3))
    OrderFactory()  # someone else's

    # when
    with CaptureQueriesContext(connection) as queries:
        recent = list(selectors.list_recent_orders(customer=customer, limit=2))
        shown = [(order.number, order.get_status_display(), order.currency) for order in recent]

    # then
    assert [order.pk for order in recent] == [newest.pk, middle.pk]
    assert len(shown) == 2
    assert len(queries) == 1


def test_recent_orders_of_a_company_are_its_buyers_orders():
    # given
    company = CompanyFactory()
    buyer = CustomerFactory(company=company, company_role="buyer")
    first = OrderFactory(customer=buyer, company=company)
    second = OrderFactory(customer=buyer, company=company)
    OrderFactory(customer=buyer)  # the same person buying for themselves

    # when
    recent = list(selectors.list_recent_orders(company=company, limit=20))

    # then
    assert [order.pk for order in recent] == [second.pk, first.pk]


@pytest.mark.parametrize("scope", ["neither", "both"])
def test_recent_orders_need_exactly_one_owner(scope):
    # given
    kwargs = {"customer": CustomerFactory(), "company": CompanyFactory()} if scope == "both" else {}

    # when / then
    with pytest.raises(ValueError, match="exactly one"):
        selectors.list_recent_orders(limit=5, **kwargs)
