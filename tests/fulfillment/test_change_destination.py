"""Changing where a placed order goes: the address or the method moves its fulfillment
orders (cancelled, stock given back, routed again), re-taxes and re-promises it, in one
transaction with one timeline event, until a location or partner has started on it."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core import refcache
from core.actors import Actor
from core.errors import InvalidInput
from core.geo import coordinates_for_postal_code
from core.models import OutboxEvent
from customers.api_keys import create_api_key
from fulfillment import holds as hold_workflows
from fulfillment import operations as ops
from fulfillment import rerouting
from fulfillment.models import FulfillmentOrder, FulfillmentStatus, RequestStatus, RoutingDecision
from fulfillment.routing import route_order
from inventory import services as stock
from inventory.models import LocationKind, MovementReason, NetworkStock, StockLevel, StockMovement
from orders.models import HoldKind, Order, OrderEvent, OrderEventType, TaxRate
from orders.placement import LineRequest, OrderRequest, place_order
from shipping.models import ServiceLevel
from tests.api.support import (
    assert_commitments_match_orders,
    assert_ledger_reconciles,
    assert_problem,
    assert_totals_add_up,
    written,
)
from tests.factories import (
    CarrierFactory,
    CompanyFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

AGENT = Actor.system("agent")
UTC = dt.UTC
# Monday 7 December 2026, 09:00 in Denver: the order is placed.
PLACED_AT = dt.datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
# Tuesday 8 December, 15:30 in Denver (past the 14:00 cut-off there): the buyer calls.
CALLED_AT = dt.datetime(2026, 12, 8, 22, 30, tzinfo=UTC)

NEW_YORK = {
    "name": "Pat Buyer",
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
    "phone": "+1 212 555 0100",
}
DENVER = {
    "name": "Pat Buyer",
    "line1": "1701 Wynkoop St",
    "city": "Denver",
    "region": "CO",
    "postal_code": "80202",
    "country": "US",
    "phone": "+1 212 555 0100",
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    refcache.clear()
    yield
    refcache.clear()


@pytest.fixture
def clock(monkeypatch):
    """The wall clock (Django's ``timezone.now``), set by the test."""

    class Clock:
        now = PLACED_AT

    monkeypatch.setattr(timezone, "now", lambda: Clock.now)
    return Clock


def make_location(code, name, postal_code, city, region, time_zone, **kwargs):
    lat, lng = coordinates_for_postal_code("US", postal_code)
    return LocationFactory(
        code=code,
        name=name,
        line1="1 Dock Rd",
        city=city,
        region=region,
        postal_code=postal_code,
        latitude=lat,
        longitude=lng,
        time_zone=time_zone,
        **kwargs,
    )


@pytest.fixture
def network(db):
    """A warehouse in Newark (near New York) and one in Denver."""
    return {
        "NWK": make_location(
            "NWK",
            "Newark warehouse",
            "07102",
            "Newark",
            "NJ",
            "America/New_York",
            phone="+1 973 555 0110",
        ),
        "DEN": make_location(
            "DEN-1",
            "Denver warehouse",
            "80216",
            "Denver",
            "CO",
            "America/Denver",
            phone="+1 303 555 0199",
        ),
    }


@pytest.fixture
def products(network):
    """Two SKUs at 10.00, 20 units of each in both warehouses."""
    made = [ProductFactory(list_price=Decimal("10.00")) for _ in range(2)]
    for product in made:
        for location in network.values():
            stock.receive_stock(location=location, product=product, quantity=20, actor=AGENT)
    return made


@pytest.fixture
def methods(db):
    carrier = CarrierFactory()
    return {
        "STANDARD": ShippingMethodFactory(
            carrier=carrier, transit_days_min=3, transit_days_max=5, price=Decimal("5.00")
        ),
        "EXPRESS": ShippingMethodFactory(
            code="EXPRESS",
            name="Express",
            service_level=ServiceLevel.EXPRESS,
            carrier=carrier,
            transit_days_min=1,
            transit_days_max=2,
            price=Decimal("15.00"),
        ),
    }


@pytest.fixture
def tax(db):
    return {
        "NY": TaxRate.objects.create(country="US", region="NY", rate=Decimal("0.08875")),
        "CO": TaxRate.objects.create(country="US", region="CO", rate=Decimal("0.02900")),
    }


def place(products, *, customer=None, method="STANDARD"):
    a, b = products
    return place_order(
        request=OrderRequest(
            customer=customer or CustomerFactory(),
            channel="web",
            shipping_method_code=method,
            shipping_address=NEW_YORK,
            lines=[LineRequest(a.sku, 2), LineRequest(b.sku, 1)],
        ),
        actor=AGENT,
    ).order


@pytest.fixture
def routed(clock, network, products, methods, tax):
    """Placed Monday 09:00 Denver time to New York and routed to Newark; Tuesday
    afternoon the buyer calls."""
    order = place(products)
    route_order(order_id=order.pk)
    clock.now = CALLED_AT
    return Order.objects.get(pk=order.pk)


def only_fo(order, **filters):
    [fo] = FulfillmentOrder.objects.filter(order=order, **filters)
    return fo


def allocated(location, product):
    return StockLevel.objects.get(location=location, product=product).allocated


def edited_events(order):
    return list(OrderEvent.objects.filter(order=order, type=OrderEventType.EDITED))


def snapshot():
    """Everything a change of destination writes, to compare around a refusal."""
    return (
        written(),
        tuple(
            FulfillmentOrder.objects.order_by("pk").values_list(
                "pk", "status", "location_id", "hold_reason"
            )
        ),
        RoutingDecision.objects.count(),
    )


# --- a routed order changes its address -----------------------------------------------


def test_a_new_address_moves_the_order_to_the_nearer_location(routed, network, products):
    order = routed
    old = only_fo(order)
    assert old.location == network["NWK"]
    assert order.promised_delivery_date == dt.date(2026, 12, 10)  # Monday + 3 working days
    assert (order.tax_total, order.grand_total) == (Decimal("2.67"), Decimal("37.67"))

    changed = rerouting.change_shipping_address(order_id=order.pk, address=DENVER, actor=AGENT)

    # The Newark fulfillment order is cancelled and its stock given back, through the ledger.
    old.refresh_from_db()
    assert old.status == FulfillmentStatus.CANCELLED
    assert [li.quantity_cancelled for li in old.lines.order_by("id")] == [2, 1]
    a, b = products
    assert (allocated(network["NWK"], a), allocated(network["NWK"], b)) == (0, 0)
    given_back = StockMovement.objects.filter(
        stock_level__location=network["NWK"],
        reason=MovementReason.DEALLOCATION,
        reference=order.number,
    )
    assert sorted(m.delta for m in given_back) == [-2, -1]
    # Denver is nearer the new address: a new fulfillment order there holds the units.
    new = only_fo(order, status=FulfillmentStatus.OPEN)
    assert new.location == network["DEN"]
    assert (allocated(network["DEN"], a), allocated(network["DEN"], b)) == (2, 1)
    # 15:30 in Denver is past its 14:00 cut-off: it leaves Wednesday, arrives 3 days on.
    assert new.ship_by_date == dt.date(2026, 12, 9)
    assert changed.promised_delivery_date == dt.date(2026, 12, 14)
    # Taxed at the new destination: 20 × 2.9 % = 0.58 and 10 × 2.9 % = 0.29.
    assert (changed.ship_region, changed.tax_rate) == ("CO", Decimal("0.02900"))
    assert (changed.tax_total, changed.grand_total) == (Decimal("0.87"), Decimal("35.87"))
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.promised_delivery_date, fresh.grand_total) == (
        dt.date(2026, 12, 14),
        Decimal("35.87"),
    )
    assert_totals_add_up(fresh)
    assert_ledger_reconciles()
    assert_commitments_match_orders()
    assert NetworkStock.objects.get(product=a).committed == 0


def test_the_change_is_one_event_showing_before_and_after(routed):
    order = routed

    rerouting.change_shipping_address(order_id=order.pk, address=DENVER, actor=AGENT)

    [event] = edited_events(order)
    before, after = event.payload["before"], event.payload["after"]
    assert before["address"].startswith("350 Fifth Avenue")
    assert after["address"].startswith("1701 Wynkoop St")
    assert before["fulfillment_orders"] == [f"{order.number}-F1 at NWK"]
    assert after["fulfillment_orders"] == [f"{order.number}-F2 at DEN-1"]
    assert (before["promised_delivery_date"], after["promised_delivery_date"]) == (
        "2026-12-10",
        "2026-12-14",
    )
    assert (before["tax_total"], after["tax_total"]) == ("2.67", "0.87")
    assert (before["grand_total"], after["grand_total"]) == ("37.67", "35.87")
    assert before["shipping_method"] == after["shipping_method"] == "STANDARD"
    assert event.message.startswith("Shipping address changed to 1701 Wynkoop St")
    topics = list(OutboxEvent.objects.order_by("id").values_list("topic", flat=True))
    assert topics[-3:] == ["fulfillment.created", "order.edited", "order.address_changed"]


def test_a_new_method_replaces_the_fulfillment_order_and_moves_the_promise(
    routed, network, products
):
    order = routed
    old = only_fo(order)

    changed = rerouting.change_shipping_method(order_id=order.pk, code="EXPRESS", actor=AGENT)

    old.refresh_from_db()
    assert old.status == FulfillmentStatus.CANCELLED
    new = only_fo(order, status=FulfillmentStatus.OPEN)
    assert new.location == network["NWK"]  # still the nearest to New York
    # 17:30 in Newark, past the cut-off: leaves Wednesday, express takes one day.
    assert new.ship_by_date == dt.date(2026, 12, 9)
    assert changed.promised_delivery_date == dt.date(2026, 12, 10)
    assert changed.shipping_total == Decimal("15.00")
    assert_totals_add_up(Order.objects.get(pk=order.pk))
    [event] = edited_events(order)
    assert event.message == "Shipping method STANDARD → EXPRESS"
    before, after = event.payload["before"], event.payload["after"]
    assert (before["shipping_total"], after["shipping_total"]) == ("5.00", "15.00")
    assert_ledger_reconciles()
    assert_commitments_match_orders()


def test_an_unrouted_order_is_routed_for_its_new_address(clock, network, products, methods, tax):
    order = place(products)  # routing has not run yet
    clock.now = CALLED_AT

    changed = rerouting.change_shipping_address(order_id=order.pk, address=DENVER, actor=AGENT)

    assert only_fo(order).location == network["DEN"]
    assert changed.promised_delivery_date == dt.date(2026, 12, 14)
    assert len(edited_events(order)) == 1
    assert_commitments_match_orders()


def test_units_the_network_cannot_cover_again_are_backordered(clock, network, methods, tax):
    """Newark closed after routing: its units leave the network, so the moved order
    waits for stock instead of taking someone else's."""
    last_two = ProductFactory(list_price=Decimal("10.00"))
    stock.receive_stock(location=network["NWK"], product=last_two, quantity=2, actor=AGENT)
    order = place_order(
        request=OrderRequest(
            customer=CustomerFactory(),
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address=NEW_YORK,
            lines=[LineRequest(last_two.sku, 2)],
        ),
        actor=AGENT,
    ).order
    route_order(order_id=order.pk)
    stock.set_location_active(location=network["NWK"], active=False, actor=AGENT)
    clock.now = CALLED_AT

    rerouting.change_shipping_address(order_id=order.pk, address=DENVER, actor=AGENT)

    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered) == (0, 2)
    assert not FulfillmentOrder.objects.filter(order=order, status=FulfillmentStatus.OPEN)
    assert allocated(network["NWK"], last_two) == 0
    assert_ledger_reconciles()
    assert_commitments_match_orders()
    assert len(edited_events(order)) == 1


# --- saving what the order already has ------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda order: rerouting.change_shipping_address(
                order_id=order.pk,
                address={**NEW_YORK, "region": "ny", "line2": " "},
                actor=AGENT,
            ),
            id="address",
        ),
        pytest.param(
            lambda order: rerouting.change_shipping_method(
                order_id=order.pk, code="STANDARD", actor=AGENT
            ),
            id="method",
        ),
    ],
)
def test_saving_the_same_destination_records_nothing(routed, change):
    before = snapshot()
    updated_at = routed.updated_at

    change(routed)

    assert snapshot() == before
    assert Order.objects.get(pk=routed.pk).updated_at == updated_at


# --- too late: a location or partner has started ---------------------------------------


def assert_refused(order, change, *, names):
    before = snapshot()

    with pytest.raises(rerouting.FulfillmentStarted) as refused:
        change()

    assert refused.value.code == "fulfillment_started"
    assert refused.value.status == 409
    assert names in refused.value.message
    assert snapshot() == before
    return refused.value


def test_picking_started_refuses_and_says_whom_to_call(routed, network):
    fo = only_fo(routed)
    # A picker scanned the first item: the fulfillment order is in progress.
    FulfillmentOrder.objects.filter(pk=fo.pk).update(status=FulfillmentStatus.IN_PROGRESS)

    refused = assert_refused(
        routed,
        lambda: rerouting.change_shipping_address(order_id=routed.pk, address=DENVER, actor=AGENT),
        names=f"{fo.number} at NWK is being picked; call Newark warehouse (+1 973 555 0110)",
    )

    assert refused.details == {"fulfillment_order": fo.number, "location": "NWK"}


def test_a_shipped_unit_refuses_the_change(routed):
    fo = only_fo(routed)
    first = fo.lines.order_by("id").first()
    ops.ship_fulfillment_order(fo_id=fo.pk, actor=AGENT, quantities={first.pk: 1})

    assert_refused(
        routed,
        lambda: rerouting.change_shipping_method(order_id=routed.pk, code="EXPRESS", actor=AGENT),
        names=f"{fo.number} at NWK has already shipped units",
    )


def test_a_partner_that_accepted_refuses_the_change(clock, products, methods, tax):
    # Nearer the buyer in New York than the Newark warehouse.
    partner = make_location(
        "3PL-NYC",
        "Hudson Logistics",
        "10001",
        "New York",
        "NY",
        "America/New_York",
        kind=LocationKind.THIRD_PARTY,
        contact_email="ops@hudson.example.com",
    )
    for product in products:
        stock.receive_stock(location=partner, product=product, quantity=20, actor=AGENT)
    order = place(products)
    route_order(order_id=order.pk)
    fo = only_fo(order)
    assert fo.request_status == RequestStatus.SUBMITTED
    ops.accept_fulfillment_request(fo_id=fo.pk, actor=AGENT)

    assert_refused(
        order,
        lambda: rerouting.change_shipping_address(order_id=order.pk, address=DENVER, actor=AGENT),
        names=f"{fo.number} at 3PL-NYC was accepted by the partner; "
        "call Hudson Logistics (ops@hudson.example.com)",
    )


# --- addresses that do not add up ------------------------------------------------------


def test_a_zip_code_of_another_state_is_refused(routed):
    before = snapshot()

    with pytest.raises(InvalidInput) as refused:
        rerouting.change_shipping_address(
            order_id=routed.pk, address={**DENVER, "region": "NY"}, actor=AGENT
        )

    assert refused.value.details["fields"]["postal_code"] == (
        "ZIP code 80202 is in CO, not NY; check the ZIP code and the state."
    )
    assert snapshot() == before


def test_placement_refuses_a_zip_code_of_another_state_too(network, products, methods, tax):
    with pytest.raises(InvalidInput) as refused:
        place_order(
            request=OrderRequest(
                customer=CustomerFactory(),
                channel="web",
                shipping_method_code="STANDARD",
                shipping_address={**NEW_YORK, "region": "NJ"},
                lines=[LineRequest(products[0].sku, 1)],
            ),
            actor=AGENT,
        )

    assert "postal_code" in refused.value.details["fields"]
    assert not Order.objects.exists()


# --- held orders ------------------------------------------------------------------------


def test_a_held_fulfillment_order_is_replaced_by_a_held_one(routed, network):
    hold_workflows.place_order_hold(
        order=routed, kind=HoldKind.MANUAL, reason="customer asked to wait", actor=AGENT
    )
    old = only_fo(routed)
    assert old.status == FulfillmentStatus.ON_HOLD

    rerouting.change_shipping_address(order_id=routed.pk, address=DENVER, actor=AGENT)

    old.refresh_from_db()
    assert (old.status, old.hold_reason, old.status_before_hold) == (
        FulfillmentStatus.CANCELLED,
        "",
        "",
    )
    new = only_fo(routed, status=FulfillmentStatus.ON_HOLD)
    assert new.location == network["DEN"]
    assert new.status_before_hold == FulfillmentStatus.OPEN
    assert "manual" in new.hold_reason
    assert_ledger_reconciles()
    assert_commitments_match_orders()


def test_a_held_order_being_packed_keeps_its_destination(routed):
    fo = only_fo(routed)
    first = fo.lines.order_by("id").first()
    ops.ship_fulfillment_order(fo_id=fo.pk, actor=AGENT, quantities={first.pk: 1})
    hold_workflows.place_order_hold(order=routed, kind=HoldKind.MANUAL, reason="check", actor=AGENT)

    assert_refused(
        routed,
        lambda: rerouting.change_shipping_address(order_id=routed.pk, address=DENVER, actor=AGENT),
        names=f"{fo.number} at NWK has already shipped units",
    )


# --- entry points: the API and the admin ---------------------------------------------------


@pytest.fixture
def b2b(clock, network, products, methods, tax):
    """A company's routed order and the company's API client."""
    company = CompanyFactory(credit_limit=Decimal("1000000"))
    buyer = CustomerFactory(company=company, company_role="buyer")
    order = place(products, customer=buyer)
    route_order(order_id=order.pk)
    clock.now = CALLED_AT
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_api_key(company=company, name='erp').raw_key}"
    )
    return Order.objects.get(pk=order.pk), client


def api_url(order, verb):
    return f"/api/v1/orders/{order.number}/{verb}/"


def test_the_api_changes_the_address_of_a_routed_order(b2b, network):
    order, client = b2b

    response = client.post(
        api_url(order, "change-address"), {"shipping_address": DENVER}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["shipping_address"]["region"] == "CO"
    assert body["promised_delivery_date"] == "2026-12-14"
    assert body["totals"]["grand_total"] == "35.87"
    assert only_fo(order, status=FulfillmentStatus.OPEN).location == network["DEN"]


def test_the_api_changes_the_method(b2b):
    order, client = b2b

    response = client.post(
        api_url(order, "change-shipping-method"), {"shipping_method": "EXPRESS"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["shipping_method"] == "EXPRESS"
    assert len(edited_events(order)) == 1


def test_the_api_refusal_names_the_fulfillment_order(b2b):
    order, client = b2b
    fo = only_fo(order)
    FulfillmentOrder.objects.filter(pk=fo.pk).update(status=FulfillmentStatus.IN_PROGRESS)
    before = snapshot()

    response = client.post(
        api_url(order, "change-address"), {"shipping_address": DENVER}, format="json"
    )

    body = assert_problem(response, 409, "fulfillment_started")
    assert f"{fo.number} at NWK is being picked" in body["detail"]
    assert snapshot() == before


def test_the_api_refuses_a_zip_code_of_another_state(b2b):
    order, client = b2b
    before = snapshot()

    response = client.post(
        api_url(order, "change-address"),
        {"shipping_address": {**DENVER, "region": "NY"}},
        format="json",
    )

    assert_problem(response, 400, "invalid_input")
    assert snapshot() == before


def test_the_api_hides_other_companies_orders(b2b):
    order, _ = b2b
    stranger = CompanyFactory()
    CustomerFactory(company=stranger, company_role="buyer")
    other = APIClient()
    other.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_api_key(company=stranger, name='x').raw_key}"
    )
    before = snapshot()

    response = other.post(
        api_url(order, "change-address"), {"shipping_address": DENVER}, format="json"
    )

    assert response.status_code == 404
    assert snapshot() == before


@pytest.fixture
def agent_client(db):
    user = UserFactory(username="agent-user")
    user.groups.add(Group.objects.get(name="agent"))
    client = Client()
    client.force_login(user)
    return client


def admin_url(order, name):
    return reverse(f"admin:orders_order_{name}", args=[order.pk])


def address_form(address):
    return {f"ship_{key}": value for key, value in address.items()} | {"ship_line2": ""}


def test_an_agent_changes_the_address_in_the_admin(routed, network, agent_client):
    response = agent_client.post(admin_url(routed, "change_address"), address_form(DENVER))

    assert response.status_code == 302
    assert only_fo(routed, status=FulfillmentStatus.OPEN).location == network["DEN"]
    page = agent_client.get(response["Location"])
    messages = [str(m) for m in page.context["messages"]]
    assert any("delivery promised by 2026-12-14" in m for m in messages), messages


def test_the_admin_shows_whom_to_call(routed, agent_client):
    fo = only_fo(routed)
    FulfillmentOrder.objects.filter(pk=fo.pk).update(status=FulfillmentStatus.IN_PROGRESS)
    before = snapshot()

    response = agent_client.post(admin_url(routed, "change_address"), address_form(DENVER))

    assert response.status_code == 200
    assert not response.context["form"].errors
    [error] = [str(m) for m in response.context["messages"]]
    assert f"{fo.number} at NWK is being picked; call Newark warehouse" in error
    assert snapshot() == before


def test_the_admin_shows_a_zip_code_of_another_state_on_its_field(routed, agent_client):
    before = snapshot()

    response = agent_client.post(
        admin_url(routed, "change_address"), address_form({**DENVER, "region": "NY"})
    )

    assert response.context["form"].errors["ship_postal_code"] == [
        "ZIP code 80202 is in CO, not NY; check the ZIP code and the state."
    ]
    assert snapshot() == before


def test_the_admin_says_when_nothing_changes(routed, agent_client):
    before = snapshot()

    response = agent_client.post(
        admin_url(routed, "change_shipping_method"), {"shipping_method": "STANDARD"}, follow=True
    )

    messages = [str(m) for m in response.context["messages"]]
    assert any("nothing to change" in m for m in messages), messages
    assert snapshot() == before
