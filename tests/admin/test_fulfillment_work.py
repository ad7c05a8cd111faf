"""The warehouse and store side of fulfilment in the console: each button calls one
operation under its own permission; a refused one shows why and changes nothing."""

from decimal import Decimal
from html import escape

import pytest
from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core import refcache
from core.actors import Actor
from fulfillment import operations
from fulfillment.models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentStatus,
    RequestStatus,
    Shipment,
    ShipmentStatus,
)
from fulfillment.routing import route_order
from inventory import services as inventory_services
from inventory.models import NetworkStock, StockLevel, StockMovement
from orders.models import FulfillmentStatus as OrderFulfillment
from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from orders.placement import LineRequest, OrderRequest, place_order
from tests.factories import (
    CarrierFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("fulfilment admin test")
ADDRESS = {
    "name": "Pat Buyer",
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "region": "NY",
    "postal_code": "10001",
    "country": "US",
}


# --- building routed orders through the services ----------------------------------------


@pytest.fixture(autouse=True)
def _fresh_refcache():
    # Shipping methods are cached per process; each test creates its own.
    refcache.clear()
    yield
    refcache.clear()


def receive(location, product, quantity: int) -> None:
    inventory_services.receive_stock(
        location=location, product=product, quantity=quantity, actor=SYSTEM, reference="PO-1"
    )


def place(lines, **kwargs) -> Order:
    """Place an order through ``place_order`` (``lines``: (product, quantity[, custom]))."""
    return place_order(
        request=OrderRequest(
            customer=kwargs.pop("customer", None) or CustomerFactory(),
            channel="web",
            shipping_method_code=kwargs.pop("shipping_method_code", "STANDARD"),
            shipping_address=kwargs.pop("shipping_address", ADDRESS),
            lines=[
                LineRequest(sku=spec[0].sku, quantity=spec[1], customization=dict(spec[2:3]))
                if len(spec) > 2
                else LineRequest(sku=spec[0].sku, quantity=spec[1])
                for spec in lines
            ],
            **kwargs,
        ),
        actor=SYSTEM,
    ).order


def place_and_route(lines, **kwargs) -> tuple[Order, FulfillmentOrder]:
    order = place(lines, **kwargs)
    route_order(order_id=order.pk)  # tests run with OMS_AUTO_ROUTE=False
    return order, FulfillmentOrder.objects.get(order=order)


@pytest.fixture
def sim(db):
    return CarrierFactory(code="SIM", name="Simulated Carrier")


@pytest.fixture
def method(sim):
    return ShippingMethodFactory()


@pytest.fixture
def warehouse(db):
    return LocationFactory(code="NWK1", name="Newark DC")


@pytest.fixture
def mugs(warehouse):
    red = ProductFactory(sku="MUG-RED", name="Red mug", list_price=Decimal("10"))
    blue = ProductFactory(sku="MUG-BLUE", name="Blue mug", list_price=Decimal("12"))
    receive(warehouse, red, 10)
    receive(warehouse, blue, 10)
    return red, blue


@pytest.fixture
def routed(method, mugs):
    """3 red mugs and 2 blue ones, allocated at NWK1."""
    red, blue = mugs
    return place_and_route([(red, 3), (blue, 2)])


# --- helpers ------------------------------------------------------------------------------


def url(fo: FulfillmentOrder, slug: str) -> str:
    return reverse(f"admin:fulfillment_fulfillmentorder_{slug.replace('-', '_')}", args=[fo.pk])


def change_url(fo: FulfillmentOrder) -> str:
    return reverse("admin:fulfillment_fulfillmentorder_change", args=[fo.pk])


def line_of(fo: FulfillmentOrder, product) -> FulfillmentOrderLine:
    return fo.lines.get(order_line__product=product)


def field(line: FulfillmentOrderLine) -> str:
    return f"line_{line.pk}"


def form_errors(response) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


def messages_of(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in get_messages(response.wsgi_request)]


def assert_refused_with(response, message: str) -> None:
    """A refusal by the service is an error message over the form as it was typed: not a
    form error under a "Please correct the error below" banner."""
    assert response.status_code == 200
    assert messages_of(response) == [(messages.ERROR, message)]
    assert form_errors(response) == {}
    page = response.content.decode()
    assert f'<li class="error">{escape(message)}</li>' in page
    assert "Please correct the error" not in page


def state() -> tuple:
    """Everything an operation could change: stock, ledger, lines, statuses, shipments."""
    return (
        tuple(
            StockLevel.objects.order_by("pk").values_list(
                "on_hand", "allocated", "reserved", "unsellable"
            )
        ),
        tuple(NetworkStock.objects.order_by("pk").values_list("available", "committed")),
        StockMovement.objects.count(),
        tuple(
            FulfillmentOrderLine.objects.order_by("pk").values_list(
                "quantity_shipped", "quantity_rejected", "quantity_cancelled"
            )
        ),
        tuple(
            OrderLine.objects.order_by("pk").values_list(
                "quantity_allocated", "quantity_shipped", "quantity_delivered"
            )
        ),
        tuple(
            FulfillmentOrder.objects.order_by("pk").values_list(
                "status", "request_status", "ready_for_pickup_at"
            )
        ),
        tuple(Order.objects.order_by("pk").values_list("status", "fulfillment_status")),
        Shipment.objects.count(),
        OrderEvent.objects.count(),
    )


def stock(location, product) -> tuple[int, int, int]:
    level = StockLevel.objects.get(location=location, product=product)
    return level.on_hand, level.allocated, level.unsellable


# --- ship ---------------------------------------------------------------------------------


def test_ship_form_defaults_to_the_orders_carrier_and_every_open_unit(client_for, routed, mugs):
    _, fo = routed
    red, blue = mugs

    response = client_for("warehouse").get(url(fo, "ship"))

    assert response.status_code == 200
    form = response.context["form"]
    assert form["carrier"].value() == "SIM"
    assert form["service_level"].value() == "standard"
    assert form[field(line_of(fo, red))].value() == 3
    assert form[field(line_of(fo, blue))].value() == 2
    content = response.content.decode()
    assert "MUG-RED · Red mug" in content
    assert "Ship to" in content
    assert "350 Fifth Avenue" in content


def test_warehouse_ships_partially_then_fully(client_for, routed, mugs, warehouse):
    order, fo = routed
    red, blue = mugs
    client = client_for("warehouse")
    red_line, blue_line = line_of(fo, red), line_of(fo, blue)
    shipment_form = {"carrier": "SIM", "service_level": "standard", "tracking_number": ""}

    first = client.post(
        url(fo, "ship"), {**shipment_form, field(red_line): "2", field(blue_line): "0"}
    )

    assert first.status_code == 302
    assert first.url == change_url(fo)
    shipment = Shipment.objects.get()
    assert shipment.tracking_number.startswith("SIM")
    assert [(li.fulfillment_line_id, li.quantity) for li in shipment.lines.all()] == [
        (red_line.pk, 2)
    ]
    assert stock(warehouse, red) == (8, 1, 0)
    assert stock(warehouse, blue) == (10, 2, 0)
    red_line.refresh_from_db()
    assert (red_line.quantity_shipped, red_line.quantity_open) == (2, 1)
    fo.refresh_from_db()
    order.refresh_from_db()
    assert fo.status == FulfillmentStatus.IN_PROGRESS
    assert order.status == OrderStatus.PROCESSING
    assert order.fulfillment_status == OrderFulfillment.PARTIALLY_SHIPPED
    order_line = order.lines.get(product=red)
    assert (order_line.quantity_shipped, order_line.quantity_allocated) == (2, 1)
    page = client.get(first.url).content.decode()
    assert f"{fo.number}: shipped MUG-RED×2 via SIM {shipment.tracking_number}." in page
    entry = LogEntry.objects.get(object_id=str(fo.pk))
    assert entry.user.username == "warehouse-user"

    # The second visit offers what is left: 1 red and 2 blue.
    form = client.get(url(fo, "ship")).context["form"]
    assert (form[field(red_line)].value(), form[field(blue_line)].value()) == (1, 2)
    second = client.post(
        url(fo, "ship"),
        {**shipment_form, "tracking_number": "SIM-2", field(red_line): "1", field(blue_line): "2"},
    )

    assert second.status_code == 302
    assert Shipment.objects.count() == 2
    assert Shipment.objects.latest("id").tracking_number == "SIM-2"
    assert stock(warehouse, red) == (7, 0, 0)
    assert stock(warehouse, blue) == (8, 0, 0)
    fo.refresh_from_db()
    order.refresh_from_db()
    assert fo.status == FulfillmentStatus.CLOSED
    assert order.status == OrderStatus.COMPLETED
    assert order.fulfillment_status == OrderFulfillment.SHIPPED
    assert NetworkStock.objects.get(product=red).available == 7
    movement = StockMovement.objects.latest("id")
    assert movement.actor_user.username == "warehouse-user"
    assert movement.reference == fo.number
    # Nothing is open any more: the Ship button is gone and its URL says why.
    assert "Ship" not in [
        t["title"] for t in client.get(change_url(fo)).context["fulfillment_tools"]
    ]
    closed = client.get(url(fo, "ship"), follow=True)
    assert f"{fo.number} is closed; nothing can ship." in closed.content.decode()


@pytest.mark.parametrize(
    ("red_quantity", "errors"),
    [
        ("4", {"line": ["Only 3 units of MUG-RED are open."]}),
        ("-1", {"line": ["Quantities cannot be negative."]}),
        ("two", {"line": ["Enter a whole number."]}),
        ("0", {"__all__": ["Enter a quantity for at least one line."]}),
    ],
)
def test_a_bad_quantity_shows_an_error_and_ships_nothing(
    client_for, routed, mugs, red_quantity, errors
):
    _, fo = routed
    red, blue = mugs
    red_line = line_of(fo, red)
    before = state()

    response = client_for("warehouse").post(
        url(fo, "ship"),
        {
            "carrier": "SIM",
            "service_level": "standard",
            field(red_line): red_quantity,
            field(line_of(fo, blue)): "0",
        },
    )

    assert response.status_code == 200
    expected = {field(red_line) if key == "line" else key: value for key, value in errors.items()}
    assert form_errors(response) == expected
    assert state() == before


def test_a_refusal_by_the_service_is_shown_and_changes_nothing(client_for, routed, mugs):
    _, fo = routed
    red, blue = mugs
    client = client_for("warehouse")
    data = {
        "carrier": "SIM",
        "service_level": "standard",
        "tracking_number": "1Z-TAKEN",
        field(line_of(fo, red)): "1",
        field(line_of(fo, blue)): "0",
    }
    assert client.post(url(fo, "ship"), data, follow=True).status_code == 200
    before = state()

    response = client.post(url(fo, "ship"), data)

    assert_refused_with(response, "Tracking number 1Z-TAKEN is already used.")
    assert response.context["form"]["tracking_number"].value() == "1Z-TAKEN"  # kept as typed
    assert state() == before


def test_a_manual_carrier_needs_the_tracking_number_from_its_label(client_for, routed, mugs):
    _, fo = routed
    CarrierFactory(code="UPS", name="UPS")
    before = state()

    response = client_for("warehouse").post(
        url(fo, "ship"),
        {"carrier": "UPS", "service_level": "express", field(line_of(fo, mugs[0])): "3"},
    )

    assert_refused_with(response, "Type the tracking number from the carrier's label.")
    assert state() == before

    shipped = client_for("manager").post(
        url(fo, "ship"),
        {
            "carrier": "UPS",
            "service_level": "express",
            "tracking_number": "1Z999AA10123456784",
            field(line_of(fo, mugs[0])): "3",
        },
    )

    assert shipped.status_code == 302
    shipment = Shipment.objects.get()
    assert (shipment.carrier.code, shipment.service_level) == ("UPS", "express")
    assert shipment.tracking_number == "1Z999AA10123456784"


# --- reject -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "red_stock"),
    [
        ("out_of_stock", (7, 0, 0)),  # written off on hand
        ("damaged", (7, 0, 3)),  # moved to unsellable
        ("cannot_fulfil", (10, 0, 0)),  # the shelf keeps them
    ],
)
def test_rejecting_lines_recommits_the_units_and_adjusts_stock_per_reason(
    client_for, routed, mugs, warehouse, reason, red_stock
):
    order, fo = routed
    red, blue = mugs
    assert NetworkStock.objects.get(product=red).committed == 0  # allocated at NWK1
    client = client_for("warehouse")

    response = client.post(
        url(fo, "reject"),
        {
            "reason": reason,
            "note": "Shelf B4",
            field(line_of(fo, red)): "3",
            field(line_of(fo, blue)): "0",
        },
    )

    assert response.status_code == 302
    assert stock(warehouse, red) == red_stock
    assert stock(warehouse, blue) == (10, 2, 0)
    assert NetworkStock.objects.get(product=red).committed == 3
    assert NetworkStock.objects.get(product=blue).committed == 0
    assert line_of(fo, red).quantity_rejected == 3
    order_line = order.lines.get(product=red)
    assert (order_line.quantity_allocated, order_line.quantity_backordered) == (0, 0)
    fo.refresh_from_db()
    assert fo.status == FulfillmentStatus.OPEN  # the blue mugs are still to ship
    assert OrderEvent.objects.filter(order=order, message__contains="rejected MUG-RED×3").exists()
    assert "Shelf B4" in StockMovement.objects.filter(reference=fo.number).latest("id").note


def test_rejecting_needs_a_quantity_and_a_known_reason(client_for, routed, mugs):
    _, fo = routed
    red, blue = mugs
    client = client_for("warehouse")
    before = state()

    page = client.get(url(fo, "reject"))
    nothing = client.post(url(fo, "reject"), {"reason": "damaged", field(line_of(fo, red)): "0"})
    unknown = client.post(url(fo, "reject"), {"reason": "bored", field(line_of(fo, red)): "1"})

    form = page.context["form"]
    assert (form[field(line_of(fo, red))].value(), form[field(line_of(fo, blue))].value()) == (
        0,
        0,
    )  # nothing is preset for a rejection
    assert form_errors(nothing) == {"__all__": ["Enter a quantity for at least one line."]}
    assert list(form_errors(unknown)) == ["reason"]
    assert state() == before


def test_rejecting_every_line_cancels_the_fulfilment_order(client_for, routed, mugs):
    _, fo = routed
    red, blue = mugs

    client_for("warehouse").post(
        url(fo, "reject"),
        {"reason": "cannot_fulfil", field(line_of(fo, red)): "3", field(line_of(fo, blue)): "2"},
    )

    fo.refresh_from_db()
    assert fo.status == FulfillmentStatus.CANCELLED
    assert client_for("manager").get(url(fo, "reject"), follow=True).redirect_chain[-1][
        0
    ] == change_url(fo)


# --- partner requests ---------------------------------------------------------------------


@pytest.fixture
def third_party(method, mugs):
    tpl = LocationFactory(code="3PL1", kind="3pl", contact_email="ops@3pl.example")
    gift = ProductFactory(sku="GIFT-BOX")
    receive(tpl, gift, 5)
    return place_and_route([(gift, 1)])


def test_a_3pl_accepts_the_request_then_it_can_ship(client_for, third_party):
    order, fo = third_party
    assert fo.request_status == RequestStatus.SUBMITTED
    client = client_for("warehouse")
    tools = [t["title"] for t in client.get(change_url(fo)).context["fulfillment_tools"]]
    assert tools == ["Accept request", "Reject lines", "Packing slip (PDF)"]
    before = state()

    confirmation = client.get(url(fo, "accept"))
    assert confirmation.status_code == 200
    assert state() == before  # showing the page changes nothing
    response = client.post(url(fo, "accept"))

    assert response.status_code == 302
    fo.refresh_from_db()
    assert fo.request_status == RequestStatus.ACCEPTED
    assert OrderEvent.objects.filter(order=order, message=f"3PL1 accepted {fo.number}").exists()
    tools = [t["title"] for t in client.get(change_url(fo)).context["fulfillment_tools"]]
    assert tools == ["Ship", "Reject lines", "Packing slip (PDF)"]
    again = client.post(url(fo, "accept"), follow=True)
    assert "has no request waiting (Accepted)" in again.content.decode()


def test_a_partner_rejection_marks_the_request_rejected(client_for, third_party):
    _, fo = third_party

    client_for("warehouse").post(
        url(fo, "reject"),
        {"reason": "partner_rejected", field(fo.lines.get()): "1"},
    )

    fo.refresh_from_db()
    assert (fo.request_status, fo.status) == (RequestStatus.REJECTED, FulfillmentStatus.CANCELLED)


# --- pickups ------------------------------------------------------------------------------


@pytest.fixture
def pickup(method, mugs):
    ShippingMethodFactory(
        code="PICKUP",
        name="Store pickup",
        service_level="pickup",
        carrier=None,
        transit_days_min=0,
        transit_days_max=0,
        price=Decimal("0"),
    )
    store = LocationFactory(code="ST-1", name="Fifth Ave store", kind="store", pickup=True)
    receive(store, mugs[0], 2)
    order, fo = place_and_route(
        [(mugs[0], 2)], shipping_method_code="PICKUP", pickup_location_code="ST-1"
    )
    assert fo.is_pickup
    return order, fo, store


def test_pickup_ready_then_handed_over_with_the_right_code_only(client_for, pickup, mugs):
    order, fo, store = pickup
    client = client_for("warehouse")
    tools = [t["title"] for t in client.get(change_url(fo)).context["fulfillment_tools"]]
    assert tools == ["Ready for pickup", "Reject lines", "Packing slip (PDF)"]
    early = client.post(url(fo, "hand-over"), {"code": fo.pickup_code}, follow=True)
    assert f"{fo.number} is not ready for pickup yet." in early.content.decode()
    assert Shipment.objects.count() == 0

    ready = client.post(url(fo, "ready-for-pickup"))

    assert ready.status_code == 302
    fo.refresh_from_db()
    assert fo.ready_for_pickup_at is not None
    assert fo.status == FulfillmentStatus.IN_PROGRESS
    tools = [t["title"] for t in client.get(change_url(fo)).context["fulfillment_tools"]]
    assert tools == ["Hand over", "Reject lines", "Packing slip (PDF)"]
    before = state()

    wrong = client.post(url(fo, "hand-over"), {"code": "not-it"})

    assert wrong.status_code == 200
    # A refusal about one field stays on that field, not in a message as well.
    assert form_errors(wrong) == {"code": ["The pickup code does not match."]}
    assert messages_of(wrong) == []
    assert state() == before

    right = client.post(url(fo, "hand-over"), {"code": f" {fo.pickup_code} "})

    assert right.status_code == 302
    order.refresh_from_db()
    fo.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert order.fulfillment_status == OrderFulfillment.DELIVERED
    assert fo.status == FulfillmentStatus.CLOSED
    assert stock(store, mugs[0]) == (0, 0, 0)
    shipment = Shipment.objects.get()
    assert (shipment.status, shipment.carrier) == (ShipmentStatus.PICKED_UP, None)


def test_the_pickup_code_is_not_shown_to_staff(client_for, pickup):
    _, fo, _ = pickup

    for page in (change_url(fo), url(fo, "ready-for-pickup")):
        content = client_for("manager").get(page).content.decode()
        assert fo.pickup_code not in content


def test_a_pickup_order_is_not_shipped(client_for, pickup):
    _, fo, _ = pickup

    response = client_for("warehouse").get(url(fo, "ship"), follow=True)

    assert response.redirect_chain == [(change_url(fo), 302)]
    assert "is a pickup order: it is handed over, not shipped." in response.content.decode()


# --- documents ----------------------------------------------------------------------------


def test_packing_slip_is_a_pdf(client_for, routed):
    _, fo = routed

    response = client_for("warehouse").get(url(fo, "packing-slip"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="packing-slip-{fo.number}.pdf"' in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")


def test_pick_list_of_a_location_is_a_pdf(client_for, routed, warehouse):
    client = client_for("warehouse")
    pick_list = reverse("admin:fulfillment_fulfillmentorder_pick_list")

    chooser = client.get(pick_list)
    chosen = client.post(pick_list, {"location": warehouse.pk})
    response = client.get(pick_list, {"location": warehouse.pk})

    assert chooser.status_code == 200
    assert chosen.status_code == 302
    assert chosen.url == f"{pick_list}?location={warehouse.pk}"
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_pick_list_link_follows_the_location_filter(client_for, routed, warehouse):
    changelist = reverse("admin:fulfillment_fulfillmentorder_changelist")

    filtered = client_for("warehouse").get(changelist, {"location__id__exact": warehouse.pk})
    agent_view = client_for("agent").get(changelist)

    tools = {t["title"]: t["url"] for t in filtered.context["fulfillment_tools"]}
    assert tools["Pick list (PDF)"].endswith(f"/pick-list/?location={warehouse.pk}")
    assert tools["Exceptions queue"].endswith("?at_risk=yes")
    assert [t["title"] for t in agent_view.context["fulfillment_tools"]] == ["Exceptions queue"]


# --- permissions --------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["ship", "reject", "accept", "packing-slip"])
def test_an_agent_gets_403_on_every_operation(client_for, routed, mugs, slug):
    _, fo = routed
    client = client_for("agent")
    before = state()

    assert client.get(url(fo, slug)).status_code == 403
    posted = client.post(
        url(fo, slug),
        {"carrier": "SIM", "service_level": "standard", "reason": "damaged"}
        | {field(line): "1" for line in fo.lines.all()},
    )

    assert posted.status_code == 403
    assert state() == before
    assert client.get(reverse("admin:fulfillment_fulfillmentorder_pick_list")).status_code == 403


def test_an_agent_sees_the_fulfilment_order_without_buttons(client_for, routed):
    _, fo = routed

    response = client_for("agent").get(change_url(fo))

    assert response.status_code == 200
    assert response.context["fulfillment_tools"] == []
    assert response.context["has_change_permission"] is False


def test_reject_needs_its_own_permission(client_for, routed, mugs, django_user_model):
    _, fo = routed
    packer = django_user_model.objects.create(username="packer", is_staff=True)
    packer.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="fulfillment",
            codename__in=["view_fulfillmentorder", "work_fulfillment"],
        )
    )
    client = Client()
    client.force_login(packer)
    before = state()

    assert client.get(url(fo, "ship")).status_code == 200
    assert client.get(url(fo, "reject")).status_code == 403
    assert (
        client.post(
            url(fo, "reject"), {"reason": "damaged", field(line_of(fo, mugs[0])): "1"}
        ).status_code
        == 403
    )
    assert state() == before


def test_finance_cannot_open_the_work_queue(client_for, routed):
    _, fo = routed
    client = client_for("finance")

    assert client.get(reverse("admin:fulfillment_fulfillmentorder_changelist")).status_code == 403
    assert client.get(url(fo, "ship")).status_code == 403


def test_an_unknown_fulfilment_order_is_404(client_for, routed):
    response = client_for("warehouse").get(
        reverse("admin:fulfillment_fulfillmentorder_ship", args=[999_999])
    )

    assert response.status_code == 404


# --- the fulfilment order page ------------------------------------------------------------


def test_fulfilment_order_page_shows_lines_shipments_and_tracking(client_for, method, warehouse):
    warehouse.customization = True
    warehouse.save(update_fields=["customization"])
    pen = ProductFactory(sku="PEN-GOLD", is_customizable=True, customization_fields=["engraving"])
    receive(warehouse, pen, 5)
    order, fo = place_and_route([(pen, 2, ("engraving", "For Sam"))])
    shipment = operations.ship_fulfillment_order(fo_id=fo.pk, actor=SYSTEM)
    operations.record_tracking_event(
        shipment_id=shipment.pk,
        status="in_transit",
        occurred_at=timezone.now(),
        external_id="scan-1",
        description="Departed Newark hub",
        location="Newark, NJ",
    )

    response = client_for("warehouse").get(change_url(fo))

    assert response.status_code == 200
    content = response.content.decode()
    assert "PEN-GOLD" in content
    assert "engraving: For Sam" in content
    assert shipment.tracking_number in content
    assert "Departed Newark hub" in content
    assert reverse("admin:orders_order_change", args=[order.pk]) in content
    assert "350 Fifth Avenue" in content
