"""Cancelling and editing placed orders in the console.

Cancel (``orders.cancel_order``) always takes a reason, for the whole order or some
units of some lines, from the order page or as a bulk action. Edits
(``orders.edit_placed_order``) change a quantity, add a line, or change the shipping
address or method, each leaving an EDITED event with its before and after. Every
refusal shows why and changes nothing."""

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse

from core import refcache
from core.models import OutboxEvent
from core.money import format_money
from inventory import services as inventory_services
from inventory.models import NetworkStock, StockMovement
from orders.models import Order, OrderEvent, OrderEventType, OrderLine, OrderStatus
from orders.placement import LineRequest, OrderRequest, place_order
from tests.factories import CustomerFactory, LocationFactory, ProductFactory, ShippingMethodFactory

pytestmark = pytest.mark.django_db

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
def catalogue(operator):
    """Two SKUs with 10 units each at one warehouse, and two shipping methods."""
    ShippingMethodFactory()
    ShippingMethodFactory(
        code="EXPRESS", name="Express", service_level="express", price=Decimal("15.00")
    )
    warehouse = LocationFactory(code="RNO1")
    products = {}
    for sku in ("MUG-RED", "CUP-BLUE", "PLATE-1"):
        products[sku] = ProductFactory(sku=sku, list_price=Decimal("10.00"))
        inventory_services.receive_stock(
            location=warehouse, product=products[sku], quantity=10, actor=operator
        )
    return products


def _place(operator, **quantities) -> Order:
    return place_order(
        request=OrderRequest(
            customer=CustomerFactory(),
            channel="web",
            shipping_method_code="STANDARD",
            shipping_address=ADDRESS,
            lines=[LineRequest(sku=sku, quantity=q) for sku, q in quantities.items()],
        ),
        actor=operator,
    ).order


@pytest.fixture
def order(catalogue, operator) -> Order:
    """Placed: 3 MUG-RED (line 1) and 2 CUP-BLUE (line 2), committed."""
    return _place(operator, **{"MUG-RED": 3, "CUP-BLUE": 2})


def _state(order: Order) -> tuple:
    """Everything a refused action must leave alone."""
    order.refresh_from_db()
    return (
        order.status,
        order.grand_total,
        order.shipping_method_id,
        order.ship_to_one_line,
        tuple(
            OrderLine.objects.filter(order=order)
            .order_by("line_number")
            .values_list("sku", "quantity_ordered", "quantity_cancelled")
        ),
        OrderEvent.objects.count(),
        OutboxEvent.objects.count(),
        StockMovement.objects.count(),
        tuple(NetworkStock.objects.order_by("pk").values_list("committed", flat=True)),
    )


def _committed(catalogue, sku: str) -> int:
    return NetworkStock.objects.get(product=catalogue[sku]).committed


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _url(name: str, order: Order) -> str:
    return reverse(f"admin:orders_order_{name}", args=[order.pk])


def _cancel_data(reason: str, quantities: dict[int, str] | None = None, lines: int = 2) -> dict:
    data = {
        "reason": reason,
        "cancel-TOTAL_FORMS": str(lines),
        "cancel-INITIAL_FORMS": str(lines),
        "cancel-MIN_NUM_FORMS": "0",
        "cancel-MAX_NUM_FORMS": "1000",
    }
    for index in range(lines):
        data[f"cancel-{index}-line_number"] = str(index + 1)
        data[f"cancel-{index}-quantity"] = (quantities or {}).get(index + 1, "")
    return data


def _latest_event(order: Order) -> OrderEvent:
    return OrderEvent.objects.filter(order=order).latest("id")


# --- cancel ----------------------------------------------------------------------------


def test_cancel_page_lists_lines_with_what_can_be_cancelled(client_for, order):
    client = client_for("agent")

    page = client.get(_url("change", order))
    response = client.get(_url("cancel", order))

    assert _url("cancel", order) in page.content.decode()
    assert response.status_code == 200
    forms = response.context["formset"].forms
    assert [(f.line.sku, f.cancellable) for f in forms] == [("MUG-RED", 3), ("CUP-BLUE", 2)]


def test_agent_cancels_the_whole_order_with_a_reason(client_for, order, catalogue):
    response = client_for("agent").post(
        _url("cancel", order), _cancel_data("Customer changed mind")
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert _committed(catalogue, "MUG-RED") == _committed(catalogue, "CUP-BLUE") == 0
    event = _latest_event(order)
    assert event.type == OrderEventType.CANCELLED
    assert event.message == "Order cancelled: Customer changed mind"
    assert event.actor_label == "agent-user"
    assert _messages(response) == [f"{order.number}: cancelled."]


def test_agent_cancels_some_units_of_a_line(client_for, order, catalogue):
    response = client_for("agent").post(
        _url("cancel", order), _cancel_data("One mug broke", {1: "2"})
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED
    mug = order.lines.get(line_number=1)
    assert (mug.quantity_ordered, mug.quantity_cancelled) == (3, 2)
    assert _committed(catalogue, "MUG-RED") == 1
    assert _committed(catalogue, "CUP-BLUE") == 2
    event = _latest_event(order)
    assert event.type == OrderEventType.LINES_CANCELLED
    assert event.payload["lines"] == {"MUG-RED#1": 2}
    total = format_money(order.grand_total, order.currency)
    assert _messages(response) == [
        f"{order.number}: cancelled line 1 (MUG-RED) × 2; new total {total}."
    ]
    page = client_for("agent").get(_url("change", order))
    assert "Cancelled line 1 (MUG-RED) × 2" in page.content.decode()


def test_cancel_without_a_reason_is_refused(admin_client, order):
    before = _state(order)

    response = admin_client.post(_url("cancel", order), _cancel_data("  ", {1: "1"}))

    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert _state(order) == before


def test_cancelling_more_than_is_left_is_refused(admin_client, order):
    before = _state(order)

    response = admin_client.post(_url("cancel", order), _cancel_data("Too many", {1: "4"}))

    assert response.context["formset"].forms[0].errors == {
        "quantity": ["Ensure this value is less than or equal to 3."]
    }
    assert _state(order) == before


def test_cancel_without_the_permission_is_refused(client_for, order):
    client = client_for("sales_rep")  # may view orders, may not cancel them
    before = _state(order)

    page = client.get(_url("change", order))
    responses = [
        client.get(_url("cancel", order)),
        client.post(_url("cancel", order), _cancel_data("No")),
    ]

    assert _url("cancel", order) not in page.content.decode()
    assert [r.status_code for r in responses] == [403, 403]
    assert _state(order) == before


def test_a_cancelled_order_cannot_be_cancelled_again(admin_client, order):
    admin_client.post(_url("cancel", order), _cancel_data("First"))
    before = _state(order)

    page = admin_client.get(_url("cancel", order))
    stale = admin_client.post(_url("cancel", order), _cancel_data("Again"))

    assert page.status_code == stale.status_code == 302
    assert _messages(page)[-1] == f"{order.number} is cancelled; it cannot be cancelled."
    assert _messages(stale)[-1] == f"{order.number} is cancelled; it cannot be cancelled."
    assert _state(order) == before


def test_bulk_cancel_asks_for_a_reason_then_cancels_each_order(
    admin_client, order, catalogue, operator
):
    other = _place(operator, **{"PLATE-1": 4})
    changelist = reverse("admin:orders_order_changelist")
    selection = {"action": "cancel_orders", ACTION_CHECKBOX_NAME: [order.pk, other.pk]}
    admin_client.post(_url("cancel", order), _cancel_data("Earlier"))
    before = _state(other)

    confirmation = admin_client.post(changelist, selection)
    missing_reason = admin_client.post(changelist, {**selection, "apply": "yes"})
    assert confirmation.status_code == missing_reason.status_code == 200
    assert confirmation.templates[0].name == "admin/oms/form_page.html"
    assert missing_reason.context["form"].errors == {"reason": ["This field is required."]}
    assert _state(other) == before

    response = admin_client.post(changelist, {**selection, "apply": "yes", "reason": "Recall"})

    assert response.status_code == 302
    other.refresh_from_db()
    assert other.status == OrderStatus.CANCELLED
    assert _committed(catalogue, "PLATE-1") == 0
    assert _messages(response) == [
        "Cancelled 1 order.",
        f"Order {order.number} is cancelled.",
    ]


def test_bulk_cancel_is_not_offered_without_the_permission(client_for, order):
    client = client_for("sales_rep")
    changelist = reverse("admin:orders_order_changelist")
    before = _state(order)

    page = client.get(changelist)
    response = client.post(
        changelist,
        {
            "action": "cancel_orders",
            ACTION_CHECKBOX_NAME: [order.pk],
            "apply": "yes",
            "reason": "x",
        },
    )

    assert "cancel_orders" not in page.content.decode()
    assert response.status_code == 200  # the plain list again: no such action for this user
    assert _state(order) == before


# --- edits -------------------------------------------------------------------------------


def test_change_quantity_commits_more_and_shows_before_and_after(client_for, order, catalogue):
    client = client_for("agent")
    form_page = client.get(_url("change_quantity", order), {"line": 1})
    assert form_page.context["form"]["line"].value() == "1"

    response = client.post(_url("change_quantity", order), {"line": "1", "quantity": "5"})

    assert response.status_code == 302
    assert order.lines.get(line_number=1).quantity_ordered == 5
    assert _committed(catalogue, "MUG-RED") == 5
    event = _latest_event(order)
    assert event.type == OrderEventType.EDITED
    assert event.payload["before"]["quantity"] == 3
    assert event.payload["after"]["quantity"] == 5
    page = client.get(_url("change", order))
    assert "Line 1 quantity 3 → 5" in page.content.decode()
    assert "Quantity: 3 → 5" in page.content.decode()


def test_add_line_commits_the_new_sku(client_for, order, catalogue):
    response = client_for("agent").post(
        _url("add_line", order), {"sku": "plate-1", "quantity": "2", "customization": ""}
    )

    assert response.status_code == 302
    added = order.lines.get(line_number=3)
    assert (added.sku, added.quantity_ordered) == ("PLATE-1", 2)
    assert _committed(catalogue, "PLATE-1") == 2
    assert _latest_event(order).message == "Added line 3: 2 × PLATE-1"


def test_add_line_with_an_unknown_sku_is_refused(admin_client, order):
    before = _state(order)

    response = admin_client.post(_url("add_line", order), {"sku": "NOPE", "quantity": "1"})

    # The refusal is a message above the form as typed, not a "Please correct" banner.
    assert response.status_code == 200
    assert _messages(response) == ["Unknown SKU 'NOPE'."]
    assert not response.context["form"].non_field_errors()
    assert response.context["form"]["sku"].value() == "NOPE"
    assert "Please correct" not in response.content.decode()
    assert _state(order) == before


def test_change_shipping_address(client_for, order):
    client = client_for("agent")
    form_page = client.get(_url("change_address", order))
    assert form_page.context["form"]["ship_line1"].value() == "2 Elm St"
    data = {f"ship_{k}": v for k, v in ADDRESS.items()} | {
        "ship_line1": "9 Pine St",
        "ship_line2": "",
        "ship_phone": "",
    }

    response = client.post(_url("change_address", order), data)

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.ship_line1 == "9 Pine St"
    event = _latest_event(order)
    assert event.type == OrderEventType.EDITED
    assert event.payload["before"]["address"].startswith("2 Elm St")
    assert event.payload["after"]["address"].startswith("9 Pine St")


def test_an_invalid_address_is_shown_on_its_fields(admin_client, order):
    before = _state(order)
    data = {f"ship_{k}": v for k, v in ADDRESS.items()} | {"ship_postal_code": "00000"}

    response = admin_client.post(_url("change_address", order), data)

    form = response.context["form"]
    assert _messages(response) == ["The address is not valid."]
    assert not form.non_field_errors()
    assert form.errors["ship_postal_code"] == ["Not a known US ZIP code."]
    assert _state(order) == before


def test_change_shipping_method(client_for, order):
    response = client_for("agent").post(
        _url("change_shipping_method", order), {"shipping_method": "EXPRESS"}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.shipping_method.code == "EXPRESS"
    assert order.shipping_total == Decimal("15.00")
    assert _latest_event(order).payload["after"]["shipping_method"] == "EXPRESS"


EDITS = [
    ("change_quantity", {"line": "1", "quantity": "5"}),
    ("add_line", {"sku": "PLATE-1", "quantity": "1"}),
    ("change_address", {f"ship_{k}": v for k, v in ADDRESS.items()}),
    ("change_shipping_method", {"shipping_method": "EXPRESS"}),
]


@pytest.mark.parametrize(("name", "data"), EDITS, ids=[name for name, _ in EDITS])
def test_edits_of_a_cancelled_order_are_refused(admin_client, order, name, data):
    admin_client.post(_url("cancel", order), _cancel_data("Gone"))
    before = _state(order)

    page = admin_client.get(_url("change", order))
    stale_get = admin_client.get(_url(name, order))
    stale_post = admin_client.post(_url(name, order), data)

    assert _url(name, order) not in page.content.decode()
    assert stale_get.status_code == stale_post.status_code == 302
    assert _messages(stale_post)[-1] == f"{order.number} is cancelled; it cannot be edited."
    assert _state(order) == before


@pytest.mark.parametrize(("name", "data"), EDITS, ids=[name for name, _ in EDITS])
def test_edits_need_the_edit_permission(client_for, order, name, data):
    client = client_for("sales_rep")
    before = _state(order)

    assert client.get(_url(name, order)).status_code == 403
    assert client.post(_url(name, order), data).status_code == 403
    assert _state(order) == before


def test_customising_a_plain_product_is_refused_on_the_field(admin_client, order):
    before = _state(order)

    response = admin_client.post(
        _url("add_line", order),
        {"sku": "PLATE-1", "quantity": "1", "customization": '{"engraving": "Pat"}'},
    )

    form = response.context["form"]
    assert _messages(response) == ["PLATE-1 cannot be customized."]
    assert not form.non_field_errors()
    assert form.errors["customization"] == ["Not customizable."]
    assert _state(order) == before
