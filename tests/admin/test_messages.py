"""Words on screen: money as money, honest bulk reports, refusals without a misleading
"Please correct the error below", live line totals, one spelling and readable names
(docs/architecture.md, "Words on screen")."""

import re
import sqlite3
from decimal import Decimal, localcontext

import pytest
from django.contrib import messages
from django.contrib.admin import site
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.template import Context, Template
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from core import refcache
from core.actors import Actor
from core.admin import admin_change_url
from core.money import format_money, to_cents
from customers.models import Address, PaymentTerms
from fulfillment import changes
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine
from fulfillment.routing import route_order
from inventory import services as inventory_services
from inventory.models import StockMovement
from orders.admin.tables import cancellation_message
from orders.models import HoldKind, Order, OrderEvent, OrderHold, OrderLine, OrderStatus
from orders.placement import LineRequest, OrderRequest, place_order
from orders.sql import sqlite_exposure_sql
from tests.admin.factories import OrderFactory
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)

SYSTEM = Actor.system("messages test")
US_MONEY = re.compile(r"^-?\$\d{1,3}(,\d{3})*\.\d{2}$")
# A decimal with more than two places, as a float summed in SQLite leaves behind.
FLOAT_DIGITS = re.compile(r"\d\.\d{3,}")
ADDRESS = {
    "name": "Pat Buyer",
    "line1": "2 Elm St",
    "city": "Reno",
    "region": "NV",
    "postal_code": "89502",
    "country": "US",
}


def _messages(response) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in get_messages(response.wsgi_request)]


def _place(customer, product, quantity: int, **kwargs) -> Order:
    refcache.clear()
    return place_order(
        request=OrderRequest(
            customer=customer,
            channel="web",
            shipping_method_code=ShippingMethodFactory().code,
            shipping_address=ADDRESS,
            lines=[LineRequest(sku=product.sku, quantity=quantity)],
            **kwargs,
        ),
        actor=SYSTEM,
    ).order


@pytest.fixture
def stocked(db):
    """A $1,234.56 product with 500 units at one warehouse."""
    product = ProductFactory(sku="DESK-OAK", list_price=Decimal("1234.56"))
    inventory_services.receive_stock(
        location=LocationFactory(code="RNO1"), product=product, quantity=500, actor=SYSTEM
    )
    return product


# --- the money helper -------------------------------------------------------------------


def _cents(value: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 100
        return to_cents(value)


@given(
    st.decimals(
        min_value=Decimal("-1e30"), max_value=Decimal("1e30"), allow_nan=False, allow_infinity=False
    )
)
def test_format_money_reads_every_decimal_as_dollars_and_cents(amount):
    text = format_money(amount, "USD")

    assert US_MONEY.match(text), text
    assert Decimal(text.replace("$", "").replace(",", "")) == _cents(amount)


@given(
    st.decimals(
        min_value=Decimal("-1e30"), max_value=Decimal("1e30"), allow_nan=False, allow_infinity=False
    )
)
def test_format_money_writes_other_currencies_with_their_code(amount):
    text = format_money(amount, "eur")

    number, code = text.split(" ")
    assert code == "EUR"
    assert re.match(r"^-?\d{1,3}(,\d{3})*\.\d{2}$", number), text
    assert Decimal(number.replace(",", "")) == _cents(amount)


def test_format_money_examples_and_refusals():
    assert format_money(Decimal("188621.1399999999999636")) == "$188,621.14"
    assert format_money(Decimal("1234.5"), "EUR") == "1,234.50 EUR"
    assert format_money(Decimal("-5")) == "-$5.00"
    assert format_money(Decimal("-0.004")) == "$0.00"
    assert format_money(None) == "-"
    with pytest.raises(TypeError):
        format_money(188621.14)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        format_money(Decimal("NaN"))


def test_templates_format_money_with_the_same_helper():
    rendered = Template('{% load oms_format %}{{ total|money:"USD" }} / {{ total|money:"EUR" }}')

    text = rendered.render(Context({"total": Decimal("1234567.891")}))

    assert text == "$1,234,567.89 / 1,234,567.89 EUR"


# --- hold reasons -------------------------------------------------------------------------


def test_credit_hold_reason_reads_as_money(stocked, admin_client):
    company = CompanyFactory(payment_terms=PaymentTerms.NET_30, credit_limit=Decimal("40000"))
    buyer = CustomerFactory(company=company, company_role="buyer")

    order = _place(buyer, stocked, 40)  # 40 × $1,234.56 and $5.00 shipping

    reason = OrderHold.objects.get(order=order, kind=HoldKind.CREDIT_LIMIT).reason
    assert reason == (
        "Open orders and unpaid invoices would total $49,387.40, "
        "over the credit limit of $40,000.00."
    )
    assert not FLOAT_DIGITS.search(reason)
    page = admin_client.get(admin_change_url(order)).content.decode()
    assert reason in page


def test_approval_and_fraud_reasons_read_as_money(stocked):
    company = CompanyFactory(payment_terms=PaymentTerms.PREPAID, approval_threshold=Decimal("2500"))
    _place(CustomerFactory(company=company, company_role="buyer"), stocked, 3)
    _place(CustomerFactory(), stocked, 2)

    reasons = dict(OrderHold.objects.values_list("kind", "reason"))

    assert reasons[HoldKind.B2B_APPROVAL].startswith("Total $3,")
    assert reasons[HoldKind.B2B_APPROVAL].endswith("above the approval threshold of $2,500.00.")
    assert reasons[HoldKind.FRAUD_REVIEW].startswith("First order of a new customer over $1,500.00")
    assert not any(FLOAT_DIGITS.search(reason) for reason in reasons.values())


def test_demo_exposure_sum_on_sqlite_is_exact():
    """SQLite stores decimals as floating point; the exposure it sums must still be
    exact cents, or the credit hold would read 188621.1399999999999636."""
    totals = [Decimal("0.10"), Decimal("0.20"), Decimal("188620.84")] + [Decimal("0.10")] * 7
    database = sqlite3.connect(":memory:")
    database.execute(
        'CREATE TABLE "orders_order" (id integer, company_id integer, status text, '
        "grand_total decimal, invoiced_on_terms decimal DEFAULT 0)"
    )
    database.executemany(
        'INSERT INTO "orders_order" VALUES (?, 7, ?, ?, 0)',
        [(i, "placed", float(total)) for i, total in enumerate(totals, start=1)],
    )
    float_sum = database.execute('SELECT SUM(grand_total) FROM "orders_order"').fetchone()[0]

    (cents,) = database.execute(sqlite_exposure_sql().replace("%s", "?"), [7, 0]).fetchone()

    assert Decimal(float_sum) != sum(totals)  # the float noise the old sum carried
    assert Decimal(int(cents)).scaleb(-2) == sum(totals) == Decimal("188621.84")


# --- bulk actions report honestly ---------------------------------------------------------


def test_bulk_cancel_with_only_refusals_shows_no_green_cancelled_0(stocked, admin_client):
    order = _place(CustomerFactory(), stocked, 1)
    changes.cancel_order(order_id=order.pk, reason="Duplicate", actor=SYSTEM)
    changelist = reverse("admin:orders_order_changelist")

    response = admin_client.post(
        changelist,
        {
            "action": "cancel_orders",
            ACTION_CHECKBOX_NAME: [order.pk],
            "apply": "yes",
            "reason": "Recall",
        },
    )

    assert response.status_code == 302
    assert _messages(response) == [(messages.ERROR, f"Order {order.number} is cancelled.")]


def test_bulk_cancel_reports_successes_and_names_each_refused_order(stocked, admin_client):
    done, refused = _place(CustomerFactory(), stocked, 1), _place(CustomerFactory(), stocked, 1)
    changes.cancel_order(order_id=refused.pk, reason="Duplicate", actor=SYSTEM)

    response = admin_client.post(
        reverse("admin:orders_order_changelist"),
        {
            "action": "cancel_orders",
            ACTION_CHECKBOX_NAME: [done.pk, refused.pk],
            "apply": "yes",
            "reason": "Recall",
        },
    )

    assert _messages(response) == [
        (messages.SUCCESS, "Cancelled 1 order."),
        (messages.ERROR, f"Order {refused.number} is cancelled."),
    ]


def test_bulk_hold_release_with_nothing_to_release_warns_instead_of_green_0(admin_client):
    order = OrderFactory()

    response = admin_client.post(
        reverse("admin:orders_order_changelist"),
        {
            "action": "release_holds_of_orders",
            ACTION_CHECKBOX_NAME: [order.pk],
            "apply": "yes",
            "kind": "",
            "reason": "Checked",
        },
    )

    assert [level for level, _ in _messages(response)] == [messages.WARNING]
    assert not any("Released 0" in text for _, text in _messages(response))


def test_cancelling_everything_after_a_shipment_says_which_units(stocked, admin_client):
    order = _place(CustomerFactory(), stocked, 1)
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED
    line = order.lines.get()
    cancelled_before = {line.line_number: 0}

    changes.cancel_order(order_id=order.pk, reason="Asked", actor=SYSTEM, lines={1: 1})
    order.refresh_from_db()

    assert cancellation_message(order, cancelled_before) == f"{order.number}: cancelled."
    partial = _place(CustomerFactory(), stocked, 3)
    changes.cancel_order(order_id=partial.pk, reason="Asked", actor=SYSTEM, lines={1: 2})
    partial.refresh_from_db()
    message = cancellation_message(partial, {1: 0})
    assert message == (
        f"{partial.number}: cancelled line 1 (DESK-OAK) × 2; new total "
        f"{format_money(partial.grand_total)}."
    )
    assert "units cancelled: ." not in cancellation_message(partial, {1: 2})
    assert cancellation_message(partial, {1: 2}).endswith(
        f"nothing was left to cancel; new total {format_money(partial.grand_total)}."
    )


# --- refusals are not field errors --------------------------------------------------------


def test_a_business_refusal_on_a_form_has_no_please_correct_header(stocked, admin_client):
    order = _place(CustomerFactory(), stocked, 1)
    changes.cancel_order(order_id=order.pk, reason="Duplicate", actor=SYSTEM)
    url = reverse("admin:orders_order_place_hold", args=[order.pk])

    response = admin_client.post(url, {"kind": "manual", "reason": "Check"})

    page = response.content.decode()
    refusal = f"Order {order.number} is cancelled; it cannot be held."
    assert response.status_code == 200
    assert _messages(response) == [(messages.ERROR, refusal)]
    assert not response.context["form"].errors
    assert "Please correct the error" not in page
    assert page.count(refusal) == 1
    assert response.context["form"]["reason"].value() == "Check"
    assert not OrderHold.objects.filter(order=order).exists()


def test_a_field_error_keeps_its_header(stocked, admin_client):
    order = _place(CustomerFactory(), stocked, 1)
    url = reverse("admin:orders_order_place_hold", args=[order.pk])

    response = admin_client.post(url, {"kind": "manual", "reason": ""})

    assert "Please correct the error below." in response.content.decode()


def test_a_change_form_refused_as_a_whole_shows_the_refusal_alone(admin_client):
    customer = CustomerFactory()
    company = CompanyFactory()
    data = {
        "customer": customer.pk,
        "company": company.pk,
        "kind": "shipping",
        "line1": "2 Elm St",
        "city": "Reno",
        "region": "NV",
        "postal_code": "89502",
        "country": "US",
    }

    response = admin_client.post(reverse("admin:customers_address_add"), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Please correct the error" not in page
    assert _messages(response) == [
        (messages.ERROR, "An address belongs to exactly one customer or one company.")
    ]
    assert not Address.objects.exists()


# --- the order page -----------------------------------------------------------------------


def test_the_line_total_shown_leaves_out_cancelled_units(stocked, admin_client):
    order = _place(CustomerFactory(), stocked, 3)
    changes.cancel_order(order_id=order.pk, reason="Two broke", actor=SYSTEM, lines={1: 2})

    response = admin_client.get(admin_change_url(order))

    page = response.content.decode()
    line = OrderLine.objects.get(order=order)
    assert (line.quantity_ordered, line.quantity_cancelled) == (3, 2)
    # The lines table's last column is the line's total.
    assert re.search(r"\$1,234\.56</td>\s*</tr>", page)
    assert "$3,703.68" not in page  # three units: the line as ordered


def test_order_and_fulfillment_pages_say_fulfillment_and_name_things_plainly(stocked, admin_client):
    order = _place(CustomerFactory(), stocked, 1)  # under the fraud rule's $1,500: routed
    route_order(order_id=order.pk)
    fo = FulfillmentOrder.objects.get(order=order)

    pages = [
        admin_client.get(url).content.decode()
        for url in (
            admin_change_url(order),
            admin_change_url(fo),
            reverse("admin:orders_order_changelist"),
            reverse("admin:fulfillment_fulfillmentorder_changelist"),
            reverse("admin:index"),
        )
    ]

    for page in pages:
        assert "fulfilment" not in page.lower()
    order_page, fo_page = pages[0], pages[1]
    for internal in ("Placed by label", "Ship name", "Quantity ordered", "Line number"):
        assert internal not in order_page
    assert "$1,234.56" in order_page  # the subtotal as money
    assert "DESK-OAK × 1" in fo_page
    assert not re.search(rf"\b{fo.pk}: \d+ × 1\b", fo_page)


# --- readable names ------------------------------------------------------------------------

# What a __str__ must not look like: "61: 5566 × 1", "23#1 …", "product 5", snake_case codes.
INTERNAL = re.compile(r"^\d+[:#/]|\bproduct \d+\b|\b[a-z]+_[a-z_]+\b")


def test_every_model_in_the_console_has_a_readable_str(world):
    models = set(site._registry)
    for model_admin in site._registry.values():
        models.update(inline.model for inline in model_admin.inlines)
    models.add(OrderLine)  # the order page's lines table, not an inline
    shown = []
    for model in sorted(models, key=lambda m: m._meta.label):
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            continue
        text = str(obj)
        shown.append(model._meta.label)
        assert text.strip(), model
        assert not INTERNAL.search(text), (model._meta.label, text)
    assert {"orders.OrderLine", "fulfillment.FulfillmentOrderLine", "orders.OrderEvent"} <= set(
        shown
    )


def test_readable_str_examples(world):
    line = OrderLine.objects.filter(order=world["order"]).order_by("line_number").first()
    fo_line = FulfillmentOrderLine.objects.select_related("order_line").first()
    event = OrderEvent.objects.filter(order=world["order"], type="hold_placed").get()
    movement = StockMovement.objects.filter(reason="receipt").order_by("pk").first()

    assert str(line) == f"Line 1: {line.sku} × {line.quantity_ordered}"
    assert str(fo_line) == f"{fo_line.order_line.sku} × {fo_line.quantity}"
    assert str(world["hold"]) == f"Fraud review hold on {world['order'].number}"
    assert str(event) == f"{world['order'].number} · Hold placed"
    assert str(movement) == f"On hand +{movement.delta} (Receipt)"


def test_address_forms_caption_their_fields_in_words(admin_client, world):
    pages = [
        admin_client.get(admin_change_url(world["customer"])).content.decode(),
        admin_client.get(admin_change_url(world["level"].location)).content.decode(),
    ]

    for page in pages:
        assert "Address line 1" in page
        assert "Line1" not in page
